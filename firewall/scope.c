/* firewall: what an import for one VM may touch (README.md "Scope").
 *
 * A document is another host's input.  Imported for VM 'vm', it may create
 * only what the convention makes the VM's: tables tagged "netmove:vm=<vm>"
 * (whole), and elsewhere tagged chains, tagged sets and maps, tagged rules
 * and the anonymous sets those rules use.  The host tables and host chains
 * that hold them must be this host's already: an import never creates one,
 * and in particular never a base chain on a hook. */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "util.h"

#include "firewall/firewall.h"

bool
fw_dest_has_table(const struct fw_dest *d, uint32_t family, const char *name,
                  bool *foreign)
{
    const struct fw_table *t = fw_ruleset_find_table(d->old, family, name);

    *foreign = false;
    if (t) {
        return !t->whole;
    }
    for (size_t i = 0; i < d->dump->n_tables; i++) {
        const struct nftnl_table *nt = d->dump->tables[i];

        if (nt && nftnl_table_get_u32(nt, NFTNL_TABLE_FAMILY) == family
            && !strcmp(nftnl_table_get_str(nt, NFTNL_TABLE_NAME), name)) {
            *foreign = true;
            return true;
        }
    }
    return false;
}

bool
fw_dest_has_chain(const struct fw_dest *d, uint32_t family, const char *table,
                  const char *name)
{
    const struct fw_table *t = fw_ruleset_find_table(d->old, family, table);
    const struct fw_chain *c = t ? fw_table_find_chain(t, name) : NULL;

    if (c) {
        return !c->whole && !t->whole;
    }
    for (size_t i = 0; i < d->dump->n_chains; i++) {
        const struct nftnl_chain *nc = d->dump->chains[i];

        if (nc && nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY) == family
            && !strcmp(nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE), table)
            && !strcmp(nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME), name)) {
            return true;
        }
    }
    return false;
}

static const void *
udata(bool is_set, const void *data, uint32_t *len)
{
    if (!is_set) {
        *len = 0;
        return NULL;
    }
    return data;
}

static bool
table_tagged(const struct nftnl_table *t, const char *tag)
{
    uint32_t len = 0;
    const void *ud = udata(nftnl_table_is_set(t, NFTNL_TABLE_USERDATA),
                           nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len),
                           &len);
    return fw_udata_has_comment(ud, len, NFTNL_UDATA_TABLE_COMMENT, tag);
}

static bool
chain_tagged(const struct nftnl_chain *c, const char *tag)
{
    uint32_t len = 0;
    const void *ud = udata(nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA),
                           nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len),
                           &len);
    return fw_udata_has_comment(ud, len, NFTNL_UDATA_CHAIN_COMMENT, tag);
}

static bool
set_tagged(const struct nftnl_set *s, const char *tag)
{
    uint32_t len = 0;
    const void *ud = udata(nftnl_set_is_set(s, NFTNL_SET_USERDATA),
                           nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len),
                           &len);
    return fw_udata_has_comment(ud, len, NFTNL_UDATA_SET_COMMENT, tag);
}

static bool
rule_tagged(const struct nftnl_rule *r, const char *tag)
{
    uint32_t len = 0;
    const void *ud = udata(nftnl_rule_is_set(r, NFTNL_RULE_USERDATA),
                           nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len),
                           &len);
    return fw_udata_has_comment(ud, len, NFTNL_UDATA_RULE_COMMENT, tag);
}

struct set_use {
    const char *name;
    bool used;
};

static void
note_use(const char *set, void *use_)
{
    struct set_use *use = use_;

    use->used |= !strcmp(set, use->name);
}

/* True if a rule of 't' uses set 'name'. */
static bool
set_used(const struct fw_table *t, const char *name)
{
    struct set_use use = { name, false };
    const struct fw_rule *r;

    LIST_FOR_EACH (r, node, &t->rules) {
        fw_rule_for_each_set_ref(r->r, note_use, &use);
        if (use.used) {
            return true;
        }
    }
    return false;
}

/* Checks the objects of host table 't' (not moved whole). */
static int
check_host_table(const struct fw_table *t, const char *tag,
                 const struct fw_dest *dest, char *err, size_t errlen)
{
    uint32_t family = nftnl_table_get_u32(t->t, NFTNL_TABLE_FAMILY);
    const char *fam = fw_family_name(family);
    const char *table = nftnl_table_get_str(t->t, NFTNL_TABLE_NAME);
    const struct fw_chain *c;
    const struct fw_rule *r;
    const struct fw_set *s;
    bool foreign;
    size_t i;

    if (!fw_dest_has_table(dest, family, table, &foreign)) {
        return doc_error(err, errlen, "table %s %s: not tagged %s and not "
                         "on this host (an import creates no host table)",
                         fam, table, tag);
    }
    LIST_FOR_EACH (c, node, &t->chains) {
        const char *chain = nftnl_chain_get_str(c->c, NFTNL_CHAIN_NAME);

        if (c->whole && !chain_tagged(c->c, tag)) {
            return doc_error(err, errlen, "chain %s %s %s: not tagged %s",
                             fam, table, chain, tag);
        }
        if (!c->whole && !fw_dest_has_chain(dest, family, table, chain)) {
            return doc_error(err, errlen, "chain %s %s %s: not tagged %s and "
                             "not on this host (an import creates no host "
                             "chain)", fam, table, chain, tag);
        }
    }
    LIST_FOR_EACH (s, node, &t->sets) {
        const char *name = nftnl_set_get_str(s->s, NFTNL_SET_NAME);

        if (fw_set_is_anonymous(s->s) ? !set_used(t, name)
                                      : !set_tagged(s->s, tag)) {
            return doc_error(err, errlen, "set %s %s %s: %s", fam, table,
                             name, (fw_set_is_anonymous(s->s)
                                    ? "anonymous, and no rule of the VM uses it"
                                    : "not tagged"));
        }
    }
    i = 0;
    LIST_FOR_EACH (r, node, &t->rules) {
        const char *chain = nftnl_rule_get_str(r->r, NFTNL_RULE_CHAIN);

        c = fw_table_find_chain(t, chain);
        if (!c->whole && !rule_tagged(r->r, tag)) {
            return doc_error(err, errlen, "rule %zu in chain %s %s %s: not "
                             "tagged %s", i, fam, table, chain, tag);
        }
        i++;
    }
    return 0;
}

int
fw_scope_check(const struct fw_ruleset *rs, const char *vm,
               const struct fw_dest *dest, char *err, size_t errlen)
{
    const struct fw_table *t;
    char *tag;
    int error = 0;

    if (strcmp(rs->vm, vm)) {
        return doc_error(err, errlen, "vm: \"%s\" is not the VM being moved "
                         "(%s)", rs->vm, vm);
    }
    tag = fw_tag(vm);
    LIST_FOR_EACH (t, node, &rs->tables) {
        if (t->whole) {
            /* The VM's own: everything in it moves with it. */
            if (!table_tagged(t->t, tag)) {
                error = doc_error(
                    err, errlen, "table %s %s: moved whole but not tagged %s",
                    fw_family_name(nftnl_table_get_u32(t->t,
                                                       NFTNL_TABLE_FAMILY)),
                    nftnl_table_get_str(t->t, NFTNL_TABLE_NAME), tag);
            }
        } else {
            error = check_host_table(t, tag, dest, err, errlen);
        }
        if (error) {
            break;
        }
    }
    free(tag);
    return error;
}
