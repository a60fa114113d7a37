/* firewall: nf_tables expressions as documents.
 *
 * Every expression is kept generically, so that any kind libnftnl knows is
 * re-created byte for byte: its kind and, for every attribute libnftnl
 * holds, the attribute's number and value bytes (as libnftnl stores them,
 * host byte order for integers, hence the document's "byteorder").  dynset
 * nests expressions, written as "exprs".
 *
 *   {"kind": "meta", "attrs": {"1": "06000000", "2": "01000000"}} */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

/* libnftnl keeps set attributes as bits of a 32-bit word. */
#define EXPR_ATTR_MAX 31
/* Longest attribute value accepted from a document (strings: names,
 * prefixes; data: NFT_DATA_VALUE_MAXLEN). */
#define EXPR_VALUE_MAX 256

static int
add_nested_json(struct nftnl_expr *e, void *array_)
{
    json_array_add(array_, fw_expr_to_json(e));
    return 0;
}

/* Returns 'e' as {"kind": ..., "attrs": {...}[, "exprs": [...]]}. */
struct json *
fw_expr_to_json(const struct nftnl_expr *e)
{
    const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    struct json *attrs = json_object_create();
    struct json *obj = json_object_create();

    for (uint16_t type = NFTNL_EXPR_BASE; type <= EXPR_ATTR_MAX; type++) {
        const void *data;
        uint32_t len = 0;
        char name[8];

        if (!nftnl_expr_is_set(e, type)
            || fw_expr_attr_is_nested(kind, type)) {
            continue;
        }
        data = nftnl_expr_get(e, type, &len);
        if (!data) {
            continue;
        }
        snprintf(name, sizeof name, "%u", type);
        json_object_put(attrs, name,
                        json_string_create_nocopy(fw_hex_encode(data, len)));
    }
    json_object_put_string(obj, "kind", kind);
    json_object_put(obj, "attrs", attrs);
    if (!strcmp(kind, "dynset")) {
        struct json *nested = json_array_create_empty();

        nftnl_expr_expr_foreach(e, add_nested_json, nested);
        if (nested->array.n) {
            json_object_put(obj, "exprs", nested);
        } else {
            json_destroy(nested);
        }
    }
    return obj;
}

struct json *
fw_exprs_to_json_set(const struct nftnl_set *s)
{
    struct json *array = json_array_create_empty();

    nftnl_set_expr_foreach(s, add_nested_json, array);
    return array;
}

struct json *
fw_exprs_to_json_elem(struct nftnl_set_elem *el)
{
    struct json *array = json_array_create_empty();

    nftnl_set_elem_expr_foreach(el, add_nested_json, array);
    return array;
}

/* One attribute of a document's expression, decoded, before it is set. */
struct pending_attr {
    size_t len;
    /* Zero-padded, so that libnftnl's fixed-size copies and strdup() never
     * read past what the document gave. */
    uint8_t value[2 * EXPR_VALUE_MAX];
};

/* Decodes attribute 'name' (hex 'v') of expression 'kind' into
 * 'attrs'['type'] and checks it alone: a kind's own attribute, of its
 * class (fw_expr_attr_check()). */
static int
decode_attr(const char *kind, const char *name, const struct json *v,
            struct pending_attr *attrs, uint32_t *set, const char *path,
            char *err, size_t errlen)
{
    struct pending_attr *a;
    char *end;
    unsigned long type = strtoul(name, &end, 10);

    if (*end || end == name) {
        return doc_error(err, errlen, "%s.attrs.%s: attribute names are "
                         "numbers", path, name);
    }
    if (v->type != JSON_STRING) {
        return doc_error(err, errlen, "%s.attrs.%s: expected a hex string",
                         path, name);
    }
    if (type < NFTNL_EXPR_BASE || type > EXPR_ATTR_MAX
        || fw_expr_attr_is_nested(kind, type)) {
        return doc_error(err, errlen, "%s.attrs.%s: unknown attribute of "
                         "expression '%s'", path, name, kind);
    }
    a = &attrs[type];
    if (fw_hex_decode(json_string(v), a->value, EXPR_VALUE_MAX, &a->len)) {
        return doc_error(err, errlen, "%s.attrs.%lu: expected hex bytes (at "
                         "most %d)", path, type, EXPR_VALUE_MAX);
    }
    *set |= 1u << type;
    return fw_expr_attr_check(kind, type, a->value, a->len, path,
                              err, errlen);
}

/* Returns true if attribute 'type' of 'e' holds exactly 'a''s bytes. */
static bool
attr_holds(const struct nftnl_expr *e, uint16_t type,
           const struct pending_attr *a, uint32_t *got_lenp)
{
    const void *got = (nftnl_expr_is_set(e, type)
                       ? nftnl_expr_get(e, type, got_lenp) : NULL);

    return got && *got_lenp == a->len && !memcmp(got, a->value, a->len);
}

/* Sets the attributes of 'set' from 'attrs' in 'e', in ascending order,
 * and after each reads back every attribute set so far: an attribute that
 * does not fit, or that changed another, is refused. */
static int
set_attrs(struct nftnl_expr *e, const char *kind,
          const struct pending_attr *attrs, uint32_t set, const char *path,
          char *err, size_t errlen)
{
    for (uint16_t type = NFTNL_EXPR_BASE; type <= EXPR_ATTR_MAX; type++) {
        if (!(set & 1u << type)) {
            continue;
        }
        if (fw_expr_attr_set(e, kind, type, attrs[type].value,
                             attrs[type].len)) {
            return doc_error(err, errlen, "%s.attrs.%u: invalid value for "
                             "expression '%s'", path, type, kind);
        }
        for (uint16_t t = NFTNL_EXPR_BASE; t <= type; t++) {
            uint32_t got_len = 0;

            if (set & 1u << t && !attr_holds(e, t, &attrs[t], &got_len)) {
                return doc_error(err, errlen, "%s.attrs.%u: value of %zu "
                                 "bytes does not fit expression '%s' (it "
                                 "holds %u)", path, t, attrs[t].len, kind,
                                 got_len);
            }
        }
    }
    return 0;
}

static int fw_expr_from_json(const struct json *, struct nftnl_expr **,
                             const char *path, char *err, size_t errlen);

/* Decodes object 'attrs' of expression 'kind' and sets its attributes in
 * 'e': each checked alone, then together (fw_expr_attrs_check()), before
 * libnftnl sees any. */
static int
attrs_from_json(struct nftnl_expr *e, const char *kind,
                const struct json *attrs, const char *path,
                char *err, size_t errlen)
{
    struct pending_attr *pending = xzalloc((EXPR_ATTR_MAX + 1)
                                           * sizeof *pending);
    struct shash_node *node;
    uint32_t set = 0;
    int error = 0;

    SHASH_FOR_EACH (node, json_object(attrs)) {
        error = decode_attr(kind, node->name, node->data, pending, &set,
                            path, err, errlen);
        if (error) {
            goto out;
        }
    }
    error = fw_expr_attrs_check(kind, set,
                                (set & 1u << NFTNL_EXPR_IMM_VERDICT
                                 ? pending[NFTNL_EXPR_IMM_VERDICT].value
                                 : NULL), path, err, errlen);
    if (!error) {
        error = set_attrs(e, kind, pending, set, path, err, errlen);
    }
out:
    free(pending);
    return error;
}

static int
nested_from_json(struct nftnl_expr *e, const struct json *exprs,
                 const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < exprs->array.n; i++) {
        struct nftnl_expr *sub;
        char subpath[256];
        int error;

        doc_path(subpath, sizeof subpath, "%s.exprs[%zu]", path, i);
        error = fw_expr_from_json(exprs->array.elems[i], &sub, subpath,
                                  err, errlen);
        if (error) {
            return error;
        }
        nftnl_expr_add_expr(e, NFTNL_EXPR_DYNSET_EXPRESSIONS, sub);
    }
    return 0;
}

/* Decodes expression document 'doc' (at 'path', for messages) into a new
 * expression '*ep'.  Returns 0 or -EINVAL. */
static int
fw_expr_from_json(const struct json *doc, struct nftnl_expr **ep,
                  const char *path, char *err, size_t errlen)
{
    const struct json *attrs, *exprs;
    struct nftnl_expr *e;
    const char *kind;
    int error;

    *ep = NULL;
    if (doc->type != JSON_OBJECT) {
        return doc_error(err, errlen, "%s: expected an object", path);
    }
    error = doc_get_string(doc, "kind", true, 32, &kind, path, err, errlen);
    if (error) {
        return error;
    }
    e = fw_expr_kind_known(kind) ? nftnl_expr_alloc(kind) : NULL;
    if (!e) {
        return doc_error(err, errlen, "%s.kind: unknown expression type "
                         "'%s'", path, kind);
    }
    attrs = doc_member(doc, "attrs");
    if (!attrs || attrs->type != JSON_OBJECT) {
        error = doc_error(err, errlen, "%s.attrs: %s", path,
                          attrs ? "expected an object" : "missing");
        goto out_free;
    }
    error = attrs_from_json(e, kind, attrs, path, err, errlen);
    if (error) {
        goto out_free;
    }
    error = doc_get_array(doc, "exprs", false, &exprs, path, err, errlen);
    if (!error && exprs) {
        if (strcmp(kind, "dynset")) {
            error = doc_error(err, errlen, "%s.exprs: only dynset nests "
                              "expressions", path);
        } else {
            error = nested_from_json(e, exprs, path, err, errlen);
        }
    }
    if (error) {
        goto out_free;
    }
    *ep = e;
    return 0;

out_free:
    nftnl_expr_free(e);
    return error;
}

/* Decodes the expressions of array 'exprs' (NULL: none) of the object at
 * 'path', handing each to 'add'('owner', expr). */
int
fw_exprs_from_json(const struct json *exprs, const char *path,
                   void (*add)(void *owner, struct nftnl_expr *),
                   void *owner, char *err, size_t errlen)
{
    for (size_t i = 0; exprs && i < exprs->array.n; i++) {
        struct nftnl_expr *e;
        char epath[256];
        int error;

        doc_path(epath, sizeof epath, "%s.exprs[%zu]", path, i);
        error = fw_expr_from_json(exprs->array.elems[i], &e, epath, err,
                                  errlen);
        if (error) {
            return error;
        }
        add(owner, e);
    }
    return 0;
}
