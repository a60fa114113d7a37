/* firewall: nf_tables sets and maps, with their elements, as parts of the
 * firewall document (README.md "Documents"):
 *
 *   {"name": "vm1-ports", "key_type": 13, "key_len": 2, "userdata": "...",
 *    "elements": ["1389", {"key": "0016", "timeout": 60000}]}
 *
 * An element that is a key alone is written as its hex string. */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#define NAME_MAX_LEN 255        /* NFT_NAME_MAXLEN - 1 */
#define UDATA_MAX 255           /* NFT_USERDATA_MAXLEN */
#define DATA_MAX 64             /* NFT_DATA_VALUE_MAXLEN */

/* Where errors go. */
struct ctx {
    char *err;
    size_t errlen;
};

static int
elem_to_json(struct nftnl_set_elem *e, void *array_)
{
    struct json *obj = json_object_create();
    const void *data;
    uint32_t len = 0;

    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        doc_put_hex(obj, "key", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
        doc_put_hex(obj, "key_end", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
        doc_put_hex(obj, "data", data, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
        doc_put_int(obj, "verdict",
                (int32_t) nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) {
        json_object_put_string(obj, "chain",
                               nftnl_set_elem_get_str(e,
                                                      NFTNL_SET_ELEM_CHAIN));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)) {
        doc_put_int(obj, "flags", nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) {
        doc_put_int(obj, "timeout",
                nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)) {
        doc_put_int(obj, "expiration",
                nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
        data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
        doc_put_hex(obj, "userdata", data, len);
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

struct json *
fw_set_to_json(struct nftnl_set *s)
{
    struct json *obj = json_object_create();
    uint32_t len;

    json_object_put_string(obj, "name", nftnl_set_get_str(s, NFTNL_SET_NAME));
    for (size_t i = 0; i < ARRAY_SIZE(set_ints); i++) {
        if (nftnl_set_is_set(s, set_ints[i].attr)) {
            doc_put_int(obj, set_ints[i].name,
                    set_ints[i].u64 ? nftnl_set_get_u64(s, set_ints[i].attr)
                                    : nftnl_set_get_u32(s, set_ints[i].attr));
        }
    }
    if (nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT)) {
        const void *d = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &len);
        doc_put_hex(obj, "concat", d, len);
    }
    if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
        const void *ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
        doc_put_hex(obj, "userdata", ud, len);
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


/* Element attributes kept as bytes, and as unsigned integers. */
static const struct {
    uint16_t attr;
    const char *name;
    size_t max;
} elem_bytes[] = {
    { NFTNL_SET_ELEM_KEY, "key", DATA_MAX },
    { NFTNL_SET_ELEM_KEY_END, "key_end", DATA_MAX },
    { NFTNL_SET_ELEM_DATA, "data", DATA_MAX },
    { NFTNL_SET_ELEM_USERDATA, "userdata", UDATA_MAX },
};
static const struct {
    uint16_t attr;
    const char *name;
    bool u64;
} elem_uints[] = {
    { NFTNL_SET_ELEM_FLAGS, "flags", false },
    { NFTNL_SET_ELEM_TIMEOUT, "timeout", true },
    { NFTNL_SET_ELEM_EXPIRATION, "expiration", true },
};

/* libnftnl keeps an element's data, verdict and chain in the same memory
 * and frees the chain: an element maps to a value or to a verdict, with a
 * chain exactly when it jumps or goes to one. */
static int
elem_verdict_check(const struct json *obj, const char *chain,
                   int64_t verdict, const char *path, struct ctx *x)
{
    bool has_verdict = doc_member(obj, "verdict") != NULL;
    bool to_chain = has_verdict && (verdict == NFT_JUMP
                                    || verdict == NFT_GOTO);

    if (doc_member(obj, "data") && (has_verdict || chain)) {
        return doc_error(x->err, x->errlen, "%s: '%s' not allowed with "
                         "'data'", path, has_verdict ? "verdict" : "chain");
    }
    if (to_chain && !chain) {
        return doc_error(x->err, x->errlen, "%s: verdict %s needs 'chain'",
                         path, verdict == NFT_JUMP ? "jump" : "goto");
    }
    if (chain && !to_chain) {
        return doc_error(x->err, x->errlen, "%s: 'chain' allowed only with a "
                         "jump or goto verdict", path);
    }
    return 0;
}

/* Sets the attributes of element 'e' from object 'obj'. */
static int
elem_fields_from_json(const struct json *obj, const char *path,
                      struct ctx *x, struct nftnl_set_elem *e)
{
    const char *chain = NULL, *objref = NULL;
    const struct json *exprs;
    int64_t verdict;
    int error;

    for (size_t i = 0; i < ARRAY_SIZE(elem_bytes); i++) {
        uint8_t buf[UDATA_MAX];
        size_t len;

        error = doc_get_hex(obj, elem_bytes[i].name, false, buf,
                            elem_bytes[i].max, &len, path, x->err, x->errlen);
        if (error) {
            return error;
        }
        if (doc_member(obj, elem_bytes[i].name)) {
            nftnl_set_elem_set(e, elem_bytes[i].attr, buf, len);
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(elem_uints); i++) {
        uint64_t v;

        error = doc_get_uint(obj, elem_uints[i].name, false,
                             elem_uints[i].u64 ? UINT64_MAX : UINT32_MAX, &v,
                             path, x->err, x->errlen);
        if (error) {
            return error;
        }
        if (!doc_member(obj, elem_uints[i].name)) {
            continue;
        } else if (elem_uints[i].u64) {
            nftnl_set_elem_set_u64(e, elem_uints[i].attr, v);
        } else {
            nftnl_set_elem_set_u32(e, elem_uints[i].attr, v);
        }
    }
    if ((error = doc_get_int(obj, "verdict", false, INT32_MIN, INT32_MAX,
                             &verdict, path, x->err, x->errlen))
        || (error = doc_get_string(obj, "chain", false, NAME_MAX_LEN, &chain,
                                   path, x->err, x->errlen))
        || (error = doc_get_string(obj, "objref", false, NAME_MAX_LEN,
                                   &objref, path, x->err, x->errlen))
        || (error = doc_get_array(obj, "exprs", false, &exprs, path, x->err,
                                  x->errlen))) {
        return error;
    }
    error = elem_verdict_check(obj, chain, verdict, path, x);
    if (error) {
        return error;
    }
    if (doc_member(obj, "verdict")) {
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, verdict);
    }
    if (chain) {
        nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
    }
    if (objref) {
        nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_OBJREF, objref);
    }
    return fw_exprs_from_json(exprs, path, add_elem_expr, e, x->err,
                              x->errlen);
}

/* Adds to 's' the element in 'obj': a hex key, or an object. */
static int
elem_from_json(const struct json *obj, const char *path, struct ctx *x,
               struct nftnl_set *s)
{
    struct nftnl_set_elem *e = nftnl_set_elem_alloc();
    int error = 0;

    if (obj->type == JSON_STRING) {
        uint8_t key[DATA_MAX];
        size_t len;

        if (fw_hex_decode(json_string(obj), key, DATA_MAX, &len)) {
            error = doc_error(x->err, x->errlen, "%s: expected hex bytes (at "
                              "most %d)", path, DATA_MAX);
        } else {
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
        }
    } else if (obj->type == JSON_OBJECT) {
        error = elem_fields_from_json(obj, path, x, e);
    } else {
        error = doc_error(x->err, x->errlen, "%s: expected an object or a "
                          "hex key", path);
    }
    if (error) {
        nftnl_set_elem_free(e);
        return error;
    }
    nftnl_set_elem_add(s, e);
    return 0;
}

int
fw_set_from_json(const struct json *obj, const char *path, uint32_t family,
                 const char *table, struct nftnl_set **sp, char *err,
                 size_t errlen)
{
    struct ctx ctx = { err, errlen }, *x = &ctx;
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
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
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
    error = fw_exprs_from_json(exprs, path, add_set_expr, s, err, errlen);
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

