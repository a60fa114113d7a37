/* firewall: a VM's ruleset as a versioned JSON document (see README.md).
 *
 *   {"format": "netmove-firewall", "version": 1, "vm": "vm1",
 *    "byteorder": "little",
 *    "tables": [{"family": "inet", "name": "filter", "whole": false, ...,
 *                "chains": [...], "sets": [...], "rules": [...]}]} */
#include "firewall/firewall.h"

#include <errno.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "firewall/internal.h"

#define FW_FORMAT "netmove-firewall"
#define NAME_MAX_LEN 255        /* NFT_NAME_MAXLEN - 1 */
#define UDATA_MAX 255           /* NFT_USERDATA_MAXLEN */
#define DATA_MAX 64             /* NFT_DATA_VALUE_MAXLEN */

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define HOST_BYTEORDER "little"
#else
#define HOST_BYTEORDER "big"
#endif

/* ---- encoding ---- */

static void
put_hex(struct json *obj, const char *name, const void *data, uint32_t len)
{
    if (data) {
        json_object_put(obj, name,
                        json_string_create_nocopy(fw_hex_encode(data, len)));
    }
}

static void
put_int(struct json *obj, const char *name, long long v)
{
    json_object_put(obj, name, json_integer_create(v));
}

static struct json *
chain_to_json(const struct fw_chain *fc)
{
    const struct nftnl_chain *c = fc->c;
    struct json *obj = json_object_create();
    uint32_t len;

    json_object_put_string(obj, "name",
                           nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
    json_object_put(obj, "whole", json_boolean_create(fc->whole));
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
        put_int(obj, "hook", nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM));
        put_int(obj, "prio", nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)) {
        put_int(obj, "policy", nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE)) {
        json_object_put_string(obj, "type",
                               nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEV)) {
        json_object_put_string(obj, "dev",
                               nftnl_chain_get_str(c, NFTNL_CHAIN_DEV));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES)) {
        const char *const *devs = nftnl_chain_get_array(c,
                                                        NFTNL_CHAIN_DEVICES);
        struct json *array = json_array_create_empty();

        for (size_t i = 0; devs && devs[i]; i++) {
            json_array_add(array, json_string_create(devs[i]));
        }
        json_object_put(obj, "devices", array);
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_FLAGS)) {
        put_int(obj, "flags", nftnl_chain_get_u32(c, NFTNL_CHAIN_FLAGS));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA)) {
        const void *ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
        put_hex(obj, "userdata", ud, len);
    }
    return obj;
}

static int
elem_to_json(struct nftnl_set_elem *e, void *array_)
{
    struct json *obj = json_object_create();
    const void *data;
    uint32_t len = 0;

    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        put_hex(obj, "key", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
        put_hex(obj, "key_end", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
        put_hex(obj, "data", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
        put_int(obj, "verdict",
                (int32_t) nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) {
        json_object_put_string(obj, "chain",
                               nftnl_set_elem_get_str(e,
                                                      NFTNL_SET_ELEM_CHAIN));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)) {
        put_int(obj, "flags", nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) {
        put_int(obj, "timeout",
                nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)) {
        put_int(obj, "expiration",
                nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
        put_hex(obj, "userdata", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF)) {
        json_object_put_string(obj, "objref",
                               nftnl_set_elem_get_str(e,
                                                      NFTNL_SET_ELEM_OBJREF));
    }
    struct json *exprs = fw_exprs_to_json_elem(e);
    if (exprs->array.n) {
        json_object_put(obj, "exprs", exprs);
    } else {
        json_destroy(exprs);
    }
    /* The common element, a key alone, is written as its hex string: sets
     * of a hundred thousand addresses stay small and quick. */
    const struct json *key = doc_member(obj, "key");
    if (key && shash_count(json_object(obj)) == 1) {
        struct json *hex = json_clone(key);

        json_destroy(obj);
        obj = hex;
    }
    json_array_add(array_, obj);
    return 0;
}

static const struct {
    uint16_t attr;
    const char *name;
    bool u64;
} set_ints[] = {
    { NFTNL_SET_FLAGS, "flags", false },
    { NFTNL_SET_KEY_TYPE, "key_type", false },
    { NFTNL_SET_KEY_LEN, "key_len", false },
    { NFTNL_SET_DATA_TYPE, "data_type", false },
    { NFTNL_SET_DATA_LEN, "data_len", false },
    { NFTNL_SET_OBJ_TYPE, "obj_type", false },
    { NFTNL_SET_POLICY, "policy", false },
    { NFTNL_SET_DESC_SIZE, "size", false },
    { NFTNL_SET_TIMEOUT, "timeout", true },
    { NFTNL_SET_GC_INTERVAL, "gc_interval", false },
};

static struct json *
set_to_json(const struct fw_set *fs)
{
    struct nftnl_set *s = fs->s;
    struct json *obj = json_object_create();
    uint32_t len;

    json_object_put_string(obj, "name", nftnl_set_get_str(s, NFTNL_SET_NAME));
    for (size_t i = 0; i < ARRAY_SIZE(set_ints); i++) {
        if (nftnl_set_is_set(s, set_ints[i].attr)) {
            put_int(obj, set_ints[i].name,
                    set_ints[i].u64 ? nftnl_set_get_u64(s, set_ints[i].attr)
                                    : nftnl_set_get_u32(s, set_ints[i].attr));
        }
    }
    if (nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT)) {
        const void *d = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &len);
        put_hex(obj, "concat", d, len);
    }
    if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
        const void *ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
        put_hex(obj, "userdata", ud, len);
    }
    struct json *exprs = fw_exprs_to_json_set(s);
    if (exprs->array.n) {
        json_object_put(obj, "exprs", exprs);
    } else {
        json_destroy(exprs);
    }
    struct json *elems = json_array_create_empty();
    nftnl_set_elem_foreach(s, elem_to_json, elems);
    json_object_put(obj, "elements", elems);
    return obj;
}

static struct json *
rule_to_json(const struct fw_rule *fr)
{
    struct json *obj = json_object_create();
    struct json *exprs = json_array_create_empty();
    struct nftnl_expr_iter *it;
    struct nftnl_expr *e;
    uint32_t len;

    json_object_put_string(obj, "chain",
                           nftnl_rule_get_str(fr->r, NFTNL_RULE_CHAIN));
    if (nftnl_rule_is_set(fr->r, NFTNL_RULE_USERDATA)) {
        const void *ud = nftnl_rule_get_data(fr->r, NFTNL_RULE_USERDATA,
                                             &len);
        put_hex(obj, "userdata", ud, len);
    }
    if (nftnl_rule_is_set(fr->r, NFTNL_RULE_COMPAT_PROTO)) {
        put_int(obj, "compat_proto",
                nftnl_rule_get_u32(fr->r, NFTNL_RULE_COMPAT_PROTO));
        put_int(obj, "compat_flags",
                nftnl_rule_get_u32(fr->r, NFTNL_RULE_COMPAT_FLAGS));
    }
    it = nftnl_expr_iter_create(fr->r);
    while ((e = nftnl_expr_iter_next(it))) {
        json_array_add(exprs, fw_expr_to_json(e));
    }
    nftnl_expr_iter_destroy(it);
    json_object_put(obj, "exprs", exprs);
    return obj;
}

static struct json *
table_to_json(const struct fw_table *t)
{
    struct json *obj = json_object_create();
    struct json *chains = json_array_create_empty();
    struct json *sets = json_array_create_empty();
    struct json *rules = json_array_create_empty();
    const struct fw_chain *c;
    const struct fw_set *s;
    const struct fw_rule *r;
    uint32_t len;

    json_object_put_string(obj, "family",
                           fw_family_name(nftnl_table_get_u32(
                                              t->t, NFTNL_TABLE_FAMILY)));
    json_object_put_string(obj, "name",
                           nftnl_table_get_str(t->t, NFTNL_TABLE_NAME));
    json_object_put(obj, "whole", json_boolean_create(t->whole));
    if (nftnl_table_is_set(t->t, NFTNL_TABLE_FLAGS)) {
        put_int(obj, "flags", nftnl_table_get_u32(t->t, NFTNL_TABLE_FLAGS));
    }
    if (nftnl_table_is_set(t->t, NFTNL_TABLE_USERDATA)) {
        const void *ud = nftnl_table_get_data(t->t, NFTNL_TABLE_USERDATA,
                                              &len);
        put_hex(obj, "userdata", ud, len);
    }
    LIST_FOR_EACH (c, node, &t->chains) {
        json_array_add(chains, chain_to_json(c));
    }
    LIST_FOR_EACH (s, node, &t->sets) {
        json_array_add(sets, set_to_json(s));
    }
    LIST_FOR_EACH (r, node, &t->rules) {
        json_array_add(rules, rule_to_json(r));
    }
    json_object_put(obj, "chains", chains);
    json_object_put(obj, "sets", sets);
    json_object_put(obj, "rules", rules);
    return obj;
}

struct json *
fw_ruleset_to_json(const struct fw_ruleset *rs)
{
    struct json *doc = json_object_create();
    struct json *tables = json_array_create_empty();
    const struct fw_table *t;

    json_object_put_string(doc, "format", FW_FORMAT);
    json_object_put(doc, "version", json_integer_create(FW_DOC_VERSION));
    json_object_put_string(doc, "vm", rs->vm);
    json_object_put_string(doc, "byteorder", HOST_BYTEORDER);
    LIST_FOR_EACH (t, node, &rs->tables) {
        json_array_add(tables, table_to_json(t));
    }
    json_object_put(doc, "tables", tables);
    return doc;
}

/* ---- decoding ---- */

struct ctx {
    char *err;
    size_t errlen;
    uint32_t family;
    const char *table;
};

static int
get_udata(const struct json *obj, const char *path, struct ctx *x,
          uint8_t *buf, size_t *len, bool *present)
{
    *present = doc_member(obj, "userdata") != NULL;
    return doc_get_hex(obj, "userdata", false, buf, UDATA_MAX, len, path,
                       x->err, x->errlen);
}

static int
chain_from_json(const struct json *obj, const char *path, struct ctx *x,
                struct nftnl_chain **cp, bool *whole)
{
    struct nftnl_chain *c = nftnl_chain_alloc();
    const char *name, *type = NULL, *dev = NULL;
    uint64_t hook = 0, policy = 0, flags = 0;
    int64_t prio = 0;
    const struct json *devs;
    uint8_t ud[UDATA_MAX];
    size_t udlen;
    bool has_ud;
    int error;

    *whole = false;
    if (obj->type != JSON_OBJECT) {
        error = doc_error(x->err, x->errlen, "%s: expected an object", path);
        goto out_free;
    }
    if ((error = doc_get_string(obj, "name", true, NAME_MAX_LEN, &name, path,
                                x->err, x->errlen))
        || (error = doc_get_bool(obj, "whole", true, whole, path, x->err,
                                 x->errlen))
        || (error = doc_get_uint(obj, "hook", false, UINT32_MAX, &hook, path,
                                 x->err, x->errlen))
        || (error = doc_get_int(obj, "prio", false, INT32_MIN, INT32_MAX,
                                &prio, path, x->err, x->errlen))
        || (error = doc_get_uint(obj, "policy", false, UINT32_MAX, &policy,
                                 path, x->err, x->errlen))
        || (error = doc_get_string(obj, "type", false, 31, &type, path,
                                   x->err, x->errlen))
        || (error = doc_get_string(obj, "dev", false, 15, &dev, path,
                                   x->err, x->errlen))
        || (error = doc_get_array(obj, "devices", false, &devs, path,
                                  x->err, x->errlen))
        || (error = doc_get_uint(obj, "flags", false, UINT32_MAX, &flags,
                                 path, x->err, x->errlen))
        || (error = get_udata(obj, path, x, ud, &udlen, &has_ud))) {
        goto out_free;
    }
    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, x->family);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, x->table);
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    if (doc_member(obj, "hook")) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
    }
    if (doc_member(obj, "policy")) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
    }
    if (type) {
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
    }
    if (dev) {
        nftnl_chain_set_str(c, NFTNL_CHAIN_DEV, dev);
    }
    if (devs) {
        const char **names = xcalloc(devs->array.n + 1, sizeof *names);

        for (size_t i = 0; i < devs->array.n; i++) {
            const struct json *d = devs->array.elems[i];

            if (d->type != JSON_STRING || strlen(json_string(d)) > 15) {
                free(names);
                error = doc_error(x->err, x->errlen, "%s.devices[%zu]: "
                                  "expected an interface name", path, i);
                goto out_free;
            }
            names[i] = json_string(d);
        }
        nftnl_chain_set_array(c, NFTNL_CHAIN_DEVICES, names);
        free(names);
    }
    if (doc_member(obj, "flags")) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FLAGS, flags);
    }
    if (has_ud) {
        nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, ud, udlen);
    }
    *cp = c;
    return 0;

out_free:
    nftnl_chain_free(c);
    return error;
}

static int
exprs_from_json(const struct json *exprs, const char *path, struct ctx *x,
                void (*add)(void *, struct nftnl_expr *), void *owner)
{
    for (size_t i = 0; exprs && i < exprs->array.n; i++) {
        struct nftnl_expr *e;
        char epath[256];
        int error;

        doc_path(epath, sizeof epath, "%s.exprs[%zu]", path, i);
        error = fw_expr_from_json(exprs->array.elems[i], &e, epath, x->err,
                                  x->errlen);
        if (error) {
            return error;
        }
        add(owner, e);
    }
    return 0;
}

static void
add_set_expr(void *s, struct nftnl_expr *e)
{
    nftnl_set_add_expr(s, e);
}

static void
add_elem_expr(void *el, struct nftnl_expr *e)
{
    nftnl_set_elem_add_expr(el, e);
}

static void
add_rule_expr(void *r, struct nftnl_expr *e)
{
    nftnl_rule_add_expr(r, e);
}

static int
elem_from_json(const struct json *obj, const char *path, struct ctx *x,
               struct nftnl_set *s)
{
    struct nftnl_set_elem *e = nftnl_set_elem_alloc();
    uint8_t key[DATA_MAX], key_end[DATA_MAX], data[DATA_MAX], ud[UDATA_MAX];
    size_t key_len, key_end_len, data_len, ud_len;
    uint64_t flags, timeout, expiration;
    const char *chain = NULL, *objref = NULL;
    const struct json *exprs;
    int64_t verdict;
    int error;

    if (obj->type == JSON_STRING) {
        /* A key alone. */
        if (fw_hex_decode(json_string(obj), key, DATA_MAX, &key_len)) {
            error = doc_error(x->err, x->errlen, "%s: expected hex bytes (at "
                              "most %d)", path, DATA_MAX);
            goto out_free;
        }
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, key_len);
        nftnl_set_elem_add(s, e);
        return 0;
    }
    if (obj->type != JSON_OBJECT) {
        error = doc_error(x->err, x->errlen, "%s: expected an object or a "
                          "hex key", path);
        goto out_free;
    }
    if ((error = doc_get_hex(obj, "key", false, key, DATA_MAX, &key_len,
                             path, x->err, x->errlen))
        || (error = doc_get_hex(obj, "key_end", false, key_end, DATA_MAX,
                                &key_end_len, path, x->err, x->errlen))
        || (error = doc_get_hex(obj, "data", false, data, DATA_MAX,
                                &data_len, path, x->err, x->errlen))
        || (error = doc_get_int(obj, "verdict", false, INT32_MIN, INT32_MAX,
                                &verdict, path, x->err, x->errlen))
        || (error = doc_get_string(obj, "chain", false, NAME_MAX_LEN, &chain,
                                   path, x->err, x->errlen))
        || (error = doc_get_uint(obj, "flags", false, UINT32_MAX, &flags,
                                 path, x->err, x->errlen))
        || (error = doc_get_uint(obj, "timeout", false, UINT64_MAX, &timeout,
                                 path, x->err, x->errlen))
        || (error = doc_get_uint(obj, "expiration", false, UINT64_MAX,
                                 &expiration, path, x->err, x->errlen))
        || (error = doc_get_hex(obj, "userdata", false, ud, UDATA_MAX,
                                &ud_len, path, x->err, x->errlen))
        || (error = doc_get_string(obj, "objref", false, NAME_MAX_LEN,
                                   &objref, path, x->err, x->errlen))
        || (error = doc_get_array(obj, "exprs", false, &exprs, path, x->err,
                                  x->errlen))) {
        goto out_free;
    }
    if (doc_member(obj, "key")) {
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, key_len);
    }
    if (doc_member(obj, "key_end")) {
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, key_end, key_end_len);
    }
    if (doc_member(obj, "data")) {
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, data_len);
    }
    if (doc_member(obj, "verdict")) {
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, verdict);
    }
    if (chain) {
        nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
    }
    if (doc_member(obj, "flags")) {
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
    }
    if (doc_member(obj, "timeout")) {
        nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout);
    }
    if (doc_member(obj, "expiration")) {
        nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, expiration);
    }
    if (doc_member(obj, "userdata")) {
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, ud, ud_len);
    }
    if (objref) {
        nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_OBJREF, objref);
    }
    error = exprs_from_json(exprs, path, x, add_elem_expr, e);
    if (error) {
        goto out_free;
    }
    nftnl_set_elem_add(s, e);
    return 0;

out_free:
    nftnl_set_elem_free(e);
    return error;
}

static int
set_from_json(const struct json *obj, const char *path, struct ctx *x,
              struct nftnl_set **sp)
{
    struct nftnl_set *s = nftnl_set_alloc();
    const struct json *exprs, *elems;
    uint8_t ud[UDATA_MAX], concat[16];
    size_t ud_len, concat_len;
    const char *name;
    int error;

    if (obj->type != JSON_OBJECT) {
        error = doc_error(x->err, x->errlen, "%s: expected an object", path);
        goto out_free;
    }
    error = doc_get_string(obj, "name", true, NAME_MAX_LEN, &name, path,
                           x->err, x->errlen);
    if (error) {
        goto out_free;
    }
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, x->family);
    nftnl_set_set_str(s, NFTNL_SET_TABLE, x->table);
    nftnl_set_set_str(s, NFTNL_SET_NAME, name);
    for (size_t i = 0; i < ARRAY_SIZE(set_ints); i++) {
        uint64_t v;

        error = doc_get_uint(obj, set_ints[i].name, false,
                             set_ints[i].u64 ? UINT64_MAX : UINT32_MAX, &v,
                             path, x->err, x->errlen);
        if (error) {
            goto out_free;
        }
        if (doc_member(obj, set_ints[i].name)) {
            if (set_ints[i].u64) {
                nftnl_set_set_u64(s, set_ints[i].attr, v);
            } else {
                nftnl_set_set_u32(s, set_ints[i].attr, v);
            }
        }
    }
    if ((error = doc_get_hex(obj, "concat", false, concat, sizeof concat,
                             &concat_len, path, x->err, x->errlen))
        || (error = doc_get_hex(obj, "userdata", false, ud, UDATA_MAX,
                                &ud_len, path, x->err, x->errlen))
        || (error = doc_get_array(obj, "exprs", false, &exprs, path,
                                  x->err, x->errlen))
        || (error = doc_get_array(obj, "elements", true, &elems, path,
                                  x->err, x->errlen))) {
        goto out_free;
    }
    if (doc_member(obj, "concat")) {
        nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, concat, concat_len);
    }
    if (doc_member(obj, "userdata")) {
        nftnl_set_set_data(s, NFTNL_SET_USERDATA, ud, ud_len);
    }
    error = exprs_from_json(exprs, path, x, add_set_expr, s);
    for (size_t i = 0; !error && i < elems->array.n; i++) {
        char epath[256];

        doc_path(epath, sizeof epath, "%s.elements[%zu]", path, i);
        error = elem_from_json(elems->array.elems[i], epath, x, s);
    }
    if (error) {
        goto out_free;
    }
    *sp = s;
    return 0;

out_free:
    nftnl_set_free(s);
    return error;
}

static int
rule_from_json(const struct json *obj, const char *path, struct ctx *x,
               struct nftnl_rule **rp)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    uint64_t compat_proto = 0, compat_flags = 0;
    const struct json *exprs;
    uint8_t ud[UDATA_MAX];
    const char *chain;
    size_t ud_len;
    int error;

    if (obj->type != JSON_OBJECT) {
        error = doc_error(x->err, x->errlen, "%s: expected an object", path);
        goto out_free;
    }
    if ((error = doc_get_string(obj, "chain", true, NAME_MAX_LEN, &chain,
                                path, x->err, x->errlen))
        || (error = doc_get_hex(obj, "userdata", false, ud, UDATA_MAX,
                                &ud_len, path, x->err, x->errlen))
        || (error = doc_get_uint(obj, "compat_proto", false, UINT32_MAX,
                                 &compat_proto, path, x->err, x->errlen))
        || (error = doc_get_uint(obj, "compat_flags", false, UINT32_MAX,
                                 &compat_flags, path, x->err, x->errlen))
        || (error = doc_get_array(obj, "exprs", true, &exprs, path,
                                  x->err, x->errlen))) {
        goto out_free;
    }
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, x->family);
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, x->table);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    if (doc_member(obj, "userdata")) {
        nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, ud, ud_len);
    }
    if (doc_member(obj, "compat_proto")) {
        nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, compat_proto);
        nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, compat_flags);
    }
    error = exprs_from_json(exprs, path, x, add_rule_expr, r);
    if (error) {
        goto out_free;
    }
    *rp = r;
    return 0;

out_free:
    nftnl_rule_free(r);
    return error;
}

/* Decodes the chains, sets and rules arrays of table 'obj' into 'rs'. */
static int
table_contents_from_json(const struct json *obj, const char *path,
                         struct ctx *x, struct fw_ruleset *rs)
{
    const struct json *chains, *sets, *rules;
    char p[256];
    int error;

    if ((error = doc_get_array(obj, "chains", true, &chains, path, x->err,
                               x->errlen))
        || (error = doc_get_array(obj, "sets", true, &sets, path, x->err,
                                  x->errlen))
        || (error = doc_get_array(obj, "rules", true, &rules, path, x->err,
                                  x->errlen))) {
        return error;
    }
    for (size_t i = 0; i < chains->array.n; i++) {
        struct nftnl_chain *c = NULL;
        bool whole;

        doc_path(p, sizeof p, "%s.chains[%zu]", path, i);
        error = chain_from_json(chains->array.elems[i], p, x, &c, &whole);
        if (error) {
            return error;
        }
        fw_ruleset_add_chain(rs, c, whole);
    }
    for (size_t i = 0; i < sets->array.n; i++) {
        struct nftnl_set *s = NULL;

        doc_path(p, sizeof p, "%s.sets[%zu]", path, i);
        error = set_from_json(sets->array.elems[i], p, x, &s);
        if (error) {
            return error;
        }
        fw_ruleset_add_set(rs, s);
    }
    for (size_t i = 0; i < rules->array.n; i++) {
        struct nftnl_rule *r = NULL;

        doc_path(p, sizeof p, "%s.rules[%zu]", path, i);
        error = rule_from_json(rules->array.elems[i], p, x, &r);
        if (error) {
            return error;
        }
        if (fw_ruleset_add_rule(rs, r)) {
            nftnl_rule_free(r);
            return doc_error(x->err, x->errlen, "%s.chain: no chain \"%s\" "
                             "in this table", p,
                             json_string(doc_member(rules->array.elems[i],
                                                    "chain")));
        }
    }
    return 0;
}

static int
table_from_json(const struct json *obj, const char *path, struct ctx *x,
                struct fw_ruleset *rs)
{
    const char *family, *name;
    uint8_t ud[UDATA_MAX];
    uint64_t flags;
    size_t ud_len;
    bool whole;
    int error;

    if (obj->type != JSON_OBJECT) {
        return doc_error(x->err, x->errlen, "%s: expected an object", path);
    }
    if ((error = doc_get_string(obj, "family", true, 16, &family, path,
                                x->err, x->errlen))
        || (error = doc_get_string(obj, "name", true, NAME_MAX_LEN, &name,
                                   path, x->err, x->errlen))
        || (error = doc_get_bool(obj, "whole", true, &whole, path, x->err,
                                 x->errlen))
        || (error = doc_get_uint(obj, "flags", false, UINT32_MAX, &flags,
                                 path, x->err, x->errlen))
        || (error = doc_get_hex(obj, "userdata", false, ud, UDATA_MAX,
                                &ud_len, path, x->err, x->errlen))) {
        return error;
    }
    if (fw_family_from_name(family, &x->family)) {
        return doc_error(x->err, x->errlen, "%s.family: unknown family "
                         "\"%s\"", path, family);
    }
    if (fw_ruleset_find_table(rs, x->family, name)) {
        return doc_error(x->err, x->errlen, "%s: table %s %s appears twice",
                         path, family, name);
    }
    struct nftnl_table *t = nftnl_table_alloc();
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, x->family);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
    if (doc_member(obj, "flags")) {
        nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
    }
    if (doc_member(obj, "userdata")) {
        nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, ud, ud_len);
    }
    fw_ruleset_add_table(rs, t, whole);
    x->table = nftnl_table_get_str(t, NFTNL_TABLE_NAME);
    return table_contents_from_json(obj, path, x, rs);
}

int
fw_ruleset_from_json(const struct json *doc, struct fw_ruleset **rsp,
                     char *err, size_t errlen)
{
    struct ctx x = { .err = err, .errlen = errlen };
    const struct json *tables;
    const char *vm, *byteorder;
    struct fw_ruleset *rs;
    int error;

    *rsp = NULL;
    error = doc_check_header(doc, FW_FORMAT, FW_DOC_VERSION, err, errlen);
    if (error) {
        return error;
    }
    if ((error = doc_get_string(doc, "vm", true, FW_VM_NAME_MAX, &vm,
                                "document", err, errlen))
        || (error = doc_get_string(doc, "byteorder", true, 8, &byteorder,
                                   "document", err, errlen))
        || (error = doc_get_array(doc, "tables", true, &tables, "document",
                                  err, errlen))) {
        return error;
    }
    if (!fw_vm_name_valid(vm)) {
        return doc_error(err, errlen, "document.vm: invalid VM name \"%s\"",
                         vm);
    }
    if (strcmp(byteorder, HOST_BYTEORDER)) {
        return doc_error(err, errlen, "document.byteorder: \"%s\" differs "
                         "from this host's (\"%s\")", byteorder,
                         HOST_BYTEORDER);
    }
    rs = fw_ruleset_create(vm);
    for (size_t i = 0; i < tables->array.n; i++) {
        char path[64];

        doc_path(path, sizeof path, "tables[%zu]", i);
        error = table_from_json(tables->array.elems[i], path, &x, rs);
        if (error) {
            fw_ruleset_destroy(rs);
            return error;
        }
    }
    *rsp = rs;
    return 0;
}
