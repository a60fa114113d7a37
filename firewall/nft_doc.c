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
#include "util.h"

#include "firewall/firewall-private.h"

#define FW_FORMAT "netmove-firewall"
#define NAME_MAX_LEN 255        /* NFT_NAME_MAXLEN - 1 */
#define UDATA_MAX 255           /* NFT_USERDATA_MAXLEN */

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define HOST_BYTEORDER "little"
#else
#define HOST_BYTEORDER "big"
#endif

/* ---- encoding ---- */

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
        doc_put_int(obj, "hook", nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM));
        doc_put_int(obj, "prio", nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)) {
        doc_put_int(obj, "policy", nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY));
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
        doc_put_int(obj, "flags", nftnl_chain_get_u32(c, NFTNL_CHAIN_FLAGS));
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA)) {
        const void *ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
        doc_put_hex(obj, "userdata", ud, len);
    }
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
        doc_put_hex(obj, "userdata", ud, len);
    }
    if (nftnl_rule_is_set(fr->r, NFTNL_RULE_COMPAT_PROTO)) {
        doc_put_int(obj, "compat_proto",
                nftnl_rule_get_u32(fr->r, NFTNL_RULE_COMPAT_PROTO));
        doc_put_int(obj, "compat_flags",
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
        doc_put_int(obj, "flags", nftnl_table_get_u32(t->t, NFTNL_TABLE_FLAGS));
    }
    if (nftnl_table_is_set(t->t, NFTNL_TABLE_USERDATA)) {
        const void *ud = nftnl_table_get_data(t->t, NFTNL_TABLE_USERDATA,
                                              &len);
        doc_put_hex(obj, "userdata", ud, len);
    }
    LIST_FOR_EACH (c, node, &t->chains) {
        json_array_add(chains, chain_to_json(c));
    }
    LIST_FOR_EACH (s, node, &t->sets) {
        json_array_add(sets, fw_set_to_json(s->s));
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

/* Sets the devices of netdev chain 'c' from array 'devs'. */
static int
devices_from_json(const struct json *devs, const char *path, struct ctx *x,
                  struct nftnl_chain *c)
{
    const char **names = xcalloc(devs->array.n + 1, sizeof *names);

    for (size_t i = 0; i < devs->array.n; i++) {
        const struct json *d = devs->array.elems[i];

        if (d->type != JSON_STRING || !fw_ifname_valid(json_string(d))) {
            free(names);
            return doc_error(x->err, x->errlen, "%s.devices[%zu]: expected "
                             "an interface name", path, i);
        }
        names[i] = json_string(d);
    }
    nftnl_chain_set_array(c, NFTNL_CHAIN_DEVICES, names);
    free(names);
    return 0;
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
    if (devs && (error = devices_from_json(devs, path, x, c))) {
        goto out_free;
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

static void
add_rule_expr(void *r, struct nftnl_expr *e)
{
    nftnl_rule_add_expr(r, e);
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
    error = fw_exprs_from_json(exprs, path, add_rule_expr, r, x->err, x->errlen);
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
    struct fw_table *t = fw_ruleset_find_table(rs, x->family, x->table);
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
        if (fw_table_find_chain(t, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME))
            || fw_ruleset_add_chain(rs, c, whole)) {
            error = doc_error(x->err, x->errlen, "%s.name: chain \"%s\" "
                              "appears twice", p,
                              nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
            nftnl_chain_free(c);
            return error;
        }
    }
    for (size_t i = 0; i < sets->array.n; i++) {
        struct nftnl_set *s = NULL;

        doc_path(p, sizeof p, "%s.sets[%zu]", path, i);
        error = fw_set_from_json(sets->array.elems[i], p, x->family, x->table,
                                 &s, x->err, x->errlen);
        if (error) {
            return error;
        }
        if (fw_table_find_set(t, nftnl_set_get_str(s, NFTNL_SET_NAME))
            || fw_ruleset_add_set(rs, s)) {
            error = doc_error(x->err, x->errlen, "%s.name: set \"%s\" "
                              "appears twice", p,
                              nftnl_set_get_str(s, NFTNL_SET_NAME));
            nftnl_set_free(s);
            return error;
        }
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
