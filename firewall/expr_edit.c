/* firewall: copies of expressions and rules with some attributes changed.
 *
 * libnftnl 1.2.4's setters of an expression's string attributes (a lookup's
 * set name, for one) do not free the string they replace, so an attribute
 * is never set twice here: expressions are copied with the attribute left
 * out, then set once. */
#include "firewall/firewall-private.h"

#include <stdio.h>
#include <string.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

bool
fw_expr_attr_is_nested(const char *kind, uint16_t type)
{
    return (!strcmp(kind, "dynset")
            && (type == NFTNL_EXPR_DYNSET_EXPR
                || type == NFTNL_EXPR_DYNSET_EXPRESSIONS));
}

static int
copy_nested(struct nftnl_expr *sub, void *copy)
{
    nftnl_expr_add_expr(copy, NFTNL_EXPR_DYNSET_EXPRESSIONS,
                        fw_expr_copy(sub, 0));
    return 0;
}

struct nftnl_expr *
fw_expr_copy(const struct nftnl_expr *e, uint32_t skip)
{
    const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    struct nftnl_expr *copy = nftnl_expr_alloc(kind);

    for (uint16_t type = NFTNL_EXPR_BASE; type < 32; type++) {
        const void *data;
        uint32_t len = 0;

        if (skip & (1u << type) || !nftnl_expr_is_set(e, type)
            || fw_expr_attr_is_nested(kind, type)) {
            continue;
        }
        data = nftnl_expr_get(e, type, &len);
        if (data) {
            fw_expr_attr_set(copy, kind, type, data, len);
        }
    }
    if (!strcmp(kind, "dynset")) {
        nftnl_expr_expr_foreach(e, copy_nested, copy);
    }
    return copy;
}

struct nftnl_rule *
fw_rule_copy(const struct nftnl_rule *r,
             struct nftnl_expr *(*edit)(const struct nftnl_expr *, void *),
             void *aux)
{
    static const uint16_t attrs[] = {
        NFTNL_RULE_FAMILY, NFTNL_RULE_TABLE, NFTNL_RULE_CHAIN,
        NFTNL_RULE_HANDLE, NFTNL_RULE_USERDATA, NFTNL_RULE_COMPAT_PROTO,
        NFTNL_RULE_COMPAT_FLAGS,
    };
    struct nftnl_rule *copy = nftnl_rule_alloc();
    struct nftnl_expr_iter *it;
    struct nftnl_expr *e;

    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        uint32_t len = 0;
        const void *data = (nftnl_rule_is_set(r, attrs[i])
                            ? nftnl_rule_get_data(r, attrs[i], &len) : NULL);

        if (data) {
            nftnl_rule_set_data(copy, attrs[i], data, len);
        }
    }
    it = nftnl_expr_iter_create(r);
    while ((e = nftnl_expr_iter_next(it))) {
        struct nftnl_expr *new = edit ? edit(e, aux) : NULL;

        nftnl_rule_add_expr(copy, new ? new : fw_expr_copy(e, 0));
    }
    nftnl_expr_iter_destroy(it);
    return copy;
}
