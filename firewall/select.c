/* firewall: picking a VM's objects out of a dump, by the convention of
 * README.md: tables tagged "netmove:vm=<vm>" whole; elsewhere tagged chains
 * (with all their rules), tagged sets and maps, tagged rules (with the
 * anonymous sets they use) and the host chains and tables that hold them. */
#include "firewall/firewall-private.h"

#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "util.h"

#include "firewall/firewall.h"

static bool
tagged(const void *ud, uint32_t len, uint8_t type, const char *tag)
{
    return fw_udata_has_comment(ud, len, type, tag);
}

static bool
table_tagged(const struct nftnl_table *t, const char *tag)
{
    uint32_t len = 0;
    const void *ud = (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)
                      ? nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len)
                      : NULL);
    return tagged(ud, len, NFTNL_UDATA_TABLE_COMMENT, tag);
}

static bool
chain_tagged(const struct nftnl_chain *c, const char *tag)
{
    uint32_t len = 0;
    const void *ud = (nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA)
                      ? nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len)
                      : NULL);
    return tagged(ud, len, NFTNL_UDATA_CHAIN_COMMENT, tag);
}

static bool
set_tagged(const struct nftnl_set *s, const char *tag)
{
    uint32_t len = 0;
    const void *ud = (nftnl_set_is_set(s, NFTNL_SET_USERDATA)
                      ? nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len)
                      : NULL);
    return tagged(ud, len, NFTNL_UDATA_SET_COMMENT, tag);
}

static bool
rule_tagged(const struct nftnl_rule *r, const char *tag)
{
    uint32_t len = 0;
    const void *ud = (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)
                      ? nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len)
                      : NULL);
    return tagged(ud, len, NFTNL_UDATA_RULE_COMMENT, tag);
}

static bool
in_table(uint32_t family, const char *table, uint32_t tfamily,
         const char *tname)
{
    return family == tfamily && table && !strcmp(table, tname);
}

void
fw_rule_for_each_set_ref(const struct nftnl_rule *r,
                         void (*cb)(const char *set, void *aux), void *aux)
{
    struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
    struct nftnl_expr *e;

    while ((e = nftnl_expr_iter_next(it))) {
        const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        uint16_t attr = (!strcmp(kind, "lookup") ? NFTNL_EXPR_LOOKUP_SET
                         : !strcmp(kind, "dynset") ? NFTNL_EXPR_DYNSET_SET_NAME
                         : !strcmp(kind, "objref") ? NFTNL_EXPR_OBJREF_SET_NAME
                         : 0);
        if (attr && nftnl_expr_is_set(e, attr)) {
            cb(nftnl_expr_get_str(e, attr), aux);
        }
    }
    nftnl_expr_iter_destroy(it);
}

struct pick {
    struct fw_dump *d;
    uint32_t family;
    const char *table;
    bool *set_picked;
};

static void
pick_anonymous(const char *name, void *p_)
{
    struct pick *p = p_;

    for (size_t i = 0; i < p->d->n_sets; i++) {
        struct nftnl_set *s = p->d->sets[i];

        if (s && in_table(nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
                          nftnl_set_get_str(s, NFTNL_SET_TABLE),
                          p->family, p->table)
            && fw_set_is_anonymous(s)
            && !strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), name)) {
            p->set_picked[i] = true;
        }
    }
}

static void
strip_table(struct nftnl_table *t, bool keep_handles)
{
    nftnl_table_unset(t, NFTNL_TABLE_USE);
    nftnl_table_unset(t, NFTNL_TABLE_OWNER);
    if (nftnl_table_is_set(t, NFTNL_TABLE_FLAGS)) {
        /* An owned table dies with its owner's socket: never recreate one
         * owned by netmove's short-lived socket. */
        nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS,
                            nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS)
                            & ~NFT_TABLE_F_OWNER);
    }
    if (!keep_handles) {
        nftnl_table_unset(t, NFTNL_TABLE_HANDLE);
    }
}

static void
strip_chain(struct nftnl_chain *c, bool keep_handles)
{
    nftnl_chain_unset(c, NFTNL_CHAIN_USE);
    nftnl_chain_unset(c, NFTNL_CHAIN_BYTES);
    nftnl_chain_unset(c, NFTNL_CHAIN_PACKETS);
    if (!keep_handles) {
        nftnl_chain_unset(c, NFTNL_CHAIN_HANDLE);
    }
}

static void
strip_set(struct nftnl_set *s, bool keep_handles)
{
    if (!keep_handles) {
        nftnl_set_unset(s, NFTNL_SET_HANDLE);
    }
}

static void
strip_rule(struct nftnl_rule *r, bool keep_handles)
{
    nftnl_rule_unset(r, NFTNL_RULE_POSITION);
    if (!keep_handles) {
        nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
    }
}

/* What of a dump belongs to the VM, one flag per dumped object. */
struct marks {
    bool *chain_whole, *chain_picked, *set_picked, *rule_picked;
};

static bool
chain_in(const struct nftnl_chain *c, uint32_t family, const char *table)
{
    return c && in_table(nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY),
                         nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE),
                         family, table);
}

/* Marks the VM's rules of table 'family' 'name' (whole: all of them), the
 * chains that hold them and the anonymous sets they use.  Returns true if
 * any was marked. */
static bool
mark_rules(struct fw_dump *d, uint32_t family, const char *name, bool whole,
           const char *tag, struct marks *m)
{
    struct pick pick = { d, family, name, m->set_picked };
    bool any = false;

    for (size_t i = 0; i < d->n_rules; i++) {
        struct nftnl_rule *r = d->rules[i];
        const char *chain;

        if (!r || !in_table(nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
                            nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
                            family, name)) {
            continue;
        }
        chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
        for (size_t j = 0; j < d->n_chains; j++) {
            if (!chain_in(d->chains[j], family, name)
                || strcmp(nftnl_chain_get_str(d->chains[j],
                                              NFTNL_CHAIN_NAME), chain)) {
                continue;
            }
            if (m->chain_whole[j] || rule_tagged(r, tag)) {
                m->rule_picked[i] = m->chain_picked[j] = any = true;
                if (!whole) {
                    /* A whole table has all its sets picked already. */
                    fw_rule_for_each_set_ref(r, pick_anonymous, &pick);
                }
            }
            break;
        }
    }
    return any;
}

/* Moves the table at 'ti' and the marked objects from 'd' to 'rs'. */
static void
move_marked(struct fw_dump *d, size_t ti, bool whole, const struct marks *m,
            bool keep, struct fw_ruleset *rs)
{
    int error;

    /* Cannot fail: the table goes in first, every object picked is of that
     * table and has a name, and mark_rules() picks a rule's chain with it. */
    strip_table(d->tables[ti], keep);
    fw_ruleset_add_table(rs, d->tables[ti], whole);
    d->tables[ti] = NULL;
    for (size_t i = 0; i < d->n_chains; i++) {
        if (m->chain_picked[i]) {
            strip_chain(d->chains[i], keep);
            error = fw_ruleset_add_chain(rs, d->chains[i],
                                         m->chain_whole[i]);
            ovs_assert(!error);
            d->chains[i] = NULL;
        }
    }
    for (size_t i = 0; i < d->n_sets; i++) {
        if (m->set_picked[i]) {
            strip_set(d->sets[i], keep);
            error = fw_ruleset_add_set(rs, d->sets[i]);
            ovs_assert(!error);
            d->sets[i] = NULL;
        }
    }
    for (size_t i = 0; i < d->n_rules; i++) {
        if (m->rule_picked[i]) {
            strip_rule(d->rules[i], keep);
            error = fw_ruleset_add_rule(rs, d->rules[i]);
            ovs_assert(!error);
            d->rules[i] = NULL;
        }
    }
}

/* Selects from table 'ti' of 'd' into 'rs'. */
static void
select_table(struct fw_dump *d, size_t ti, const char *tag, bool keep,
             struct fw_ruleset *rs)
{
    struct nftnl_table *t = d->tables[ti];
    uint32_t family = nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);
    const char *name = nftnl_table_get_str(t, NFTNL_TABLE_NAME);
    bool whole = table_tagged(t, tag);
    struct marks m = {
        xcalloc(d->n_chains + 1, sizeof *m.chain_whole),
        xcalloc(d->n_chains + 1, sizeof *m.chain_picked),
        xcalloc(d->n_sets + 1, sizeof *m.set_picked),
        xcalloc(d->n_rules + 1, sizeof *m.rule_picked),
    };
    bool any = whole;

    for (size_t i = 0; i < d->n_chains; i++) {
        if (chain_in(d->chains[i], family, name)
            && (whole || chain_tagged(d->chains[i], tag))) {
            m.chain_whole[i] = m.chain_picked[i] = any = true;
        }
    }
    for (size_t i = 0; i < d->n_sets; i++) {
        struct nftnl_set *s = d->sets[i];

        if (s && in_table(nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
                          nftnl_set_get_str(s, NFTNL_SET_TABLE), family, name)
            && (whole || set_tagged(s, tag))) {
            m.set_picked[i] = any = true;
        }
    }
    any |= mark_rules(d, family, name, whole, tag, &m);
    if (any) {
        move_marked(d, ti, whole, &m, keep, rs);
    }
    free(m.chain_whole);
    free(m.chain_picked);
    free(m.set_picked);
    free(m.rule_picked);
}

struct fw_ruleset *
fw_select(struct fw_dump *d, const char *vm, bool keep_handles)
{
    struct fw_ruleset *rs = fw_ruleset_create(vm);
    char *tag = fw_tag(vm);

    for (size_t i = 0; i < d->n_tables; i++) {
        if (d->tables[i]) {
            select_table(d, i, tag, keep_handles, rs);
        }
    }
    free(tag);
    return rs;
}
