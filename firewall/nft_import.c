/* firewall: importing a VM's nftables objects, and removing them, each in
 * one nf_tables batch planned against the destination's current ruleset.
 *
 * The batch deletes what the destination already holds of the VM (so that
 * importing twice replaces), then adds: tables, chains, sets with their
 * elements, rules appended in source order.  Anonymous sets are recreated
 * as "__set%d" with a batch-local id, as nft does, and the rules that use
 * them point at that id. */
#include "firewall/firewall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "util.h"

#include "firewall/firewall-private.h"

#define BATCH_ATTEMPTS 10

static const char *
tname(const struct fw_table *t)
{
    return nftnl_table_get_str(t->t, NFTNL_TABLE_NAME);
}

static uint32_t
tfamily(const struct fw_table *t)
{
    return nftnl_table_get_u32(t->t, NFTNL_TABLE_FAMILY);
}

/* ---- deleting what the destination holds of the VM ---- */

static void
del_table(struct fw_batch *b, const struct fw_table *t)
{
    struct nftnl_table *nt = nftnl_table_alloc();
    struct nlmsghdr *nlh;

    /* nft delete table inet vm1 */
    nftnl_table_set_str(nt, NFTNL_TABLE_NAME, tname(t));
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_DELTABLE,
                                tfamily(t), 0, fw_batch_seq(b));
    nftnl_table_nlmsg_build_payload(nlh, nt);
    nftnl_table_free(nt);
    fw_batch_commit(b, "delete table %s %s", fw_family_name(tfamily(t)),
                    tname(t));
}

static void
del_rule(struct fw_batch *b, const struct fw_table *t,
         const struct nftnl_rule *r)
{
    struct nftnl_rule *nr = nftnl_rule_alloc();
    const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
    uint64_t handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
    struct nlmsghdr *nlh;

    /* nft delete rule inet filter forward handle 7 */
    nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, tname(t));
    nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, chain);
    nftnl_rule_set_u64(nr, NFTNL_RULE_HANDLE, handle);
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_DELRULE,
                                tfamily(t), 0, fw_batch_seq(b));
    nftnl_rule_nlmsg_build_payload(nlh, nr);
    nftnl_rule_free(nr);
    fw_batch_commit(b, "delete rule %s %s %s handle %llu",
                    fw_family_name(tfamily(t)), tname(t), chain,
                    (unsigned long long) handle);
}

static void
del_chain(struct fw_batch *b, const struct fw_table *t, const char *name)
{
    struct nftnl_chain *nc = nftnl_chain_alloc();
    struct nlmsghdr *nlh;

    /* nft delete chain inet filter vm-vm1 (with its rules) */
    nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, tname(t));
    nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, name);
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_DELCHAIN,
                                tfamily(t), 0, fw_batch_seq(b));
    nftnl_chain_nlmsg_build_payload(nlh, nc);
    nftnl_chain_free(nc);
    fw_batch_commit(b, "delete chain %s %s %s", fw_family_name(tfamily(t)),
                    tname(t), name);
}

static void
del_set(struct fw_batch *b, const struct fw_table *t, const char *name)
{
    struct nftnl_set *ns = nftnl_set_alloc();
    struct nlmsghdr *nlh;

    /* nft delete set inet filter vm1-ports */
    nftnl_set_set_str(ns, NFTNL_SET_TABLE, tname(t));
    nftnl_set_set_str(ns, NFTNL_SET_NAME, name);
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_DELSET,
                                tfamily(t), 0, fw_batch_seq(b));
    nftnl_set_nlmsg_build_payload(nlh, ns);
    nftnl_set_free(ns);
    fw_batch_commit(b, "delete set %s %s %s", fw_family_name(tfamily(t)),
                    tname(t), name);
}

static void
flush_chain(struct fw_batch *b, const struct fw_table *t, const char *name)
{
    struct nftnl_rule *nr = nftnl_rule_alloc();
    struct nlmsghdr *nlh;

    /* nft flush chain inet filter vm-vm1 */
    nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, tname(t));
    nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, name);
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_DELRULE,
                                tfamily(t), 0, fw_batch_seq(b));
    nftnl_rule_nlmsg_build_payload(nlh, nr);
    nftnl_rule_free(nr);
    fw_batch_commit(b, "flush chain %s %s %s", fw_family_name(tfamily(t)),
                    tname(t), name);
}

/* Deletes the objects of 'old' (selected from the destination with their
 * handles).  Tables moved whole go at once.  Elsewhere references go before
 * what they reference: the VM's rules in host chains (they may jump to its
 * chains), the rules of its chains (they use its sets and jump between its
 * chains), its named sets and maps (their elements may jump to its chains),
 * then its chains.  Returns the number of objects deleted. */
static size_t
plan_delete(struct fw_batch *b, const struct fw_ruleset *old)
{
    const struct fw_table *t;
    size_t n = 0;

    LIST_FOR_EACH (t, node, &old->tables) {
        const struct fw_chain *c;
        const struct fw_rule *r;
        const struct fw_set *s;

        if (t->whole) {
            del_table(b, t);
            n++;
            continue;
        }
        LIST_FOR_EACH (r, node, &t->rules) {
            c = fw_table_find_chain(t, nftnl_rule_get_str(r->r,
                                                          NFTNL_RULE_CHAIN));
            if (c && !c->whole) {
                del_rule(b, t, r->r);
                n++;
            }
        }
        LIST_FOR_EACH (c, node, &t->chains) {
            if (c->whole) {
                flush_chain(b, t, nftnl_chain_get_str(c->c,
                                                      NFTNL_CHAIN_NAME));
            }
        }
        LIST_FOR_EACH (s, node, &t->sets) {
            if (!fw_set_is_anonymous(s->s)) {
                del_set(b, t, nftnl_set_get_str(s->s, NFTNL_SET_NAME));
                n++;
            }
        }
        LIST_FOR_EACH (c, node, &t->chains) {
            if (c->whole) {
                del_chain(b, t, nftnl_chain_get_str(c->c, NFTNL_CHAIN_NAME));
                n++;
            }
        }
    }
    return n;
}

/* ---- adding ---- */

static void
add_table(struct fw_batch *b, const struct fw_table *t, bool excl)
{
    struct nlmsghdr *nlh;

    /* nft add table inet vm1 { comment "netmove:vm=vm1" } */
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_NEWTABLE,
                                tfamily(t),
                                NLM_F_CREATE | (excl ? NLM_F_EXCL : 0),
                                fw_batch_seq(b));
    nftnl_table_nlmsg_build_payload(nlh, t->t);
    fw_batch_commit(b, "add table %s %s", fw_family_name(tfamily(t)),
                    tname(t));
}

static void
add_chain(struct fw_batch *b, const struct fw_table *t,
          const struct fw_chain *c, bool excl)
{
    struct nlmsghdr *nlh;

    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_NEWCHAIN,
                                tfamily(t),
                                NLM_F_CREATE | (excl ? NLM_F_EXCL : 0),
                                fw_batch_seq(b));
    nftnl_chain_nlmsg_build_payload(nlh, c->c);
    fw_batch_commit(b, "add chain %s %s %s", fw_family_name(tfamily(t)),
                    tname(t), nftnl_chain_get_str(c->c, NFTNL_CHAIN_NAME));
}

/* Anonymous sets: source name -> batch id. */
struct anon_map {
    size_t n;
    struct anon {
        const struct fw_table *t;
        char *name;
        uint32_t id;
    } *v;
};

static uint32_t
anon_find(const struct anon_map *m, const struct fw_table *t,
          const char *name)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].t == t && !strcmp(m->v[i].name, name)) {
            return m->v[i].id;
        }
    }
    return 0;
}

/* nft add element ...: as many messages as the elements of 's' need. */
static void
add_elements(struct fw_batch *b, const struct fw_table *t,
             struct nftnl_set *s, const char *shown)
{
    struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
    /* An empty set needs no element message (the kernel wants a list). */
    bool more = nftnl_set_elems_iter_cur(it) != NULL;

    while (more) {
        struct nlmsghdr *nlh;

        nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_NEWSETELEM,
                                    tfamily(t), NLM_F_CREATE | NLM_F_EXCL,
                                    fw_batch_seq(b));
        /* > 0: the message is full and elements remain. */
        more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it) > 0;
        fw_batch_commit(b, "add elements to set %s %s %s",
                        fw_family_name(tfamily(t)), tname(t), shown);
    }
    nftnl_set_elems_iter_destroy(it);
}

/* True if the elements of 's' may wait until after the rules: a named set
 * that is not constant.  The kernel walks the whole transaction for every
 * anonymous set a rule binds, so a hundred thousand element transactions
 * ahead of the rules would cost it seconds. */
static bool
elements_may_wait(const struct nftnl_set *s)
{
    return (!fw_set_is_anonymous(s)
            && !(nftnl_set_is_set(s, NFTNL_SET_FLAGS)
                 && nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_CONSTANT));
}

/* nft add set ...; with its elements unless they may wait.  An anonymous
 * set is sent as "__set%d" (the kernel names it) with the batch's 'id',
 * then given back its source name (libnftnl frees a replaced set name). */
static void
add_set(struct fw_batch *b, const struct fw_table *t, struct nftnl_set *s,
        uint32_t id, struct anon_map *anon)
{
    char *name = xstrdup(nftnl_set_get_str(s, NFTNL_SET_NAME));
    struct nlmsghdr *nlh;

    nftnl_set_set_u32(s, NFTNL_SET_ID, id);
    if (fw_set_is_anonymous(s)) {
        anon->v = xrealloc(anon->v, (anon->n + 1) * sizeof *anon->v);
        anon->v[anon->n++] = (struct anon) { t, xstrdup(name), id };
        nftnl_set_set_str(s, NFTNL_SET_NAME, "__set%d");
    }
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_NEWSET,
                                tfamily(t), NLM_F_CREATE | NLM_F_EXCL,
                                fw_batch_seq(b));
    nftnl_set_nlmsg_build_payload(nlh, s);
    fw_batch_commit(b, "add set %s %s %s", fw_family_name(tfamily(t)),
                    tname(t), name);
    if (!elements_may_wait(s)) {
        add_elements(b, t, s, name);
    }
    nftnl_set_set_str(s, NFTNL_SET_NAME, name);
    free(name);
}

struct relink {
    const struct fw_table *t;
    const struct anon_map *anon;
};

/* fw_rule_copy() edit: a reference to an anonymous set points at the set
 * the batch creates, by id ("__set%d" stands for "whatever name the kernel
 * gives it"). */
static struct nftnl_expr *
relink_expr(const struct nftnl_expr *e, void *rl_)
{
    const struct relink *rl = rl_;
    const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    uint16_t name_attr, id_attr;
    struct nftnl_expr *copy;
    uint32_t id;

    if (!strcmp(kind, "lookup")) {
        name_attr = NFTNL_EXPR_LOOKUP_SET;
        id_attr = NFTNL_EXPR_LOOKUP_SET_ID;
    } else if (!strcmp(kind, "dynset")) {
        name_attr = NFTNL_EXPR_DYNSET_SET_NAME;
        id_attr = NFTNL_EXPR_DYNSET_SET_ID;
    } else if (!strcmp(kind, "objref")) {
        name_attr = NFTNL_EXPR_OBJREF_SET_NAME;
        id_attr = NFTNL_EXPR_OBJREF_SET_ID;
    } else {
        return NULL;
    }
    if (!nftnl_expr_is_set(e, name_attr)
        || !(id = anon_find(rl->anon, rl->t,
                            nftnl_expr_get_str(e, name_attr)))) {
        return NULL;
    }
    copy = fw_expr_copy(e, 1u << name_attr | 1u << id_attr);
    nftnl_expr_set_str(copy, name_attr, "__set%d");
    nftnl_expr_set_u32(copy, id_attr, id);
    return copy;
}

static void
add_rule(struct fw_batch *b, const struct fw_table *t,
         const struct nftnl_rule *r, const struct anon_map *anon)
{
    struct relink rl = { t, anon };
    struct nftnl_rule *copy = NULL;
    struct nftnl_expr_iter *it;
    struct nftnl_expr *e;
    struct nlmsghdr *nlh;

    /* Only a rule that uses an anonymous set needs relinking (a copy). */
    it = nftnl_expr_iter_create(r);
    while (!copy && (e = nftnl_expr_iter_next(it))) {
        struct nftnl_expr *probe = relink_expr(e, &rl);

        if (probe) {
            nftnl_expr_free(probe);
            copy = fw_rule_copy(r, relink_expr, &rl);
        }
    }
    nftnl_expr_iter_destroy(it);

    /* nft add rule ...: appended, in source order. */
    nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_NEWRULE,
                                tfamily(t), NLM_F_CREATE | NLM_F_APPEND,
                                fw_batch_seq(b));
    nftnl_rule_nlmsg_build_payload(nlh, copy ? copy : CONST_CAST(
                                       struct nftnl_rule *, r));
    if (copy) {
        nftnl_rule_free(copy);
    }
    fw_batch_commit(b, "add rule %s %s %s", fw_family_name(tfamily(t)),
                    tname(t), nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
}

/* 'set_id': the last set id the batch used (ids are batch-wide: a batch
 * of several VMs must not give two sets one id). */
static int
plan_add(struct fw_batch *b, struct fw_ruleset *rs, const struct fw_dest *d,
         uint32_t *set_id, char *err, size_t errlen)
{
    struct anon_map anon = { 0, NULL };
    struct fw_table *t;

    LIST_FOR_EACH (t, node, &rs->tables) {
        bool foreign;
        bool exists = fw_dest_has_table(d, tfamily(t), tname(t), &foreign);

        if (t->whole && exists) {
            return doc_error(err, errlen, "table %s %s: the destination "
                             "already has a table of that name that is not "
                             "%s's", fw_family_name(tfamily(t)), tname(t),
                             rs->vm);
        }
        if (!exists) {
            add_table(b, t, t->whole);
        }
    }
    LIST_FOR_EACH (t, node, &rs->tables) {
        struct fw_chain *c;

        LIST_FOR_EACH (c, node, &t->chains) {
            if (c->whole
                || !fw_dest_has_chain(d, tfamily(t), tname(t),
                                   nftnl_chain_get_str(c->c,
                                                       NFTNL_CHAIN_NAME))) {
                add_chain(b, t, c, c->whole);
            }
        }
    }
    LIST_FOR_EACH (t, node, &rs->tables) {
        struct fw_set *s;

        LIST_FOR_EACH (s, node, &t->sets) {
            add_set(b, t, s->s, ++*set_id, &anon);
        }
    }
    LIST_FOR_EACH (t, node, &rs->tables) {
        struct fw_rule *r;

        LIST_FOR_EACH (r, node, &t->rules) {
            add_rule(b, t, r->r, &anon);
        }
    }
    LIST_FOR_EACH (t, node, &rs->tables) {
        struct fw_set *s;

        LIST_FOR_EACH (s, node, &t->sets) {
            if (elements_may_wait(s->s)) {
                add_elements(b, t, s->s,
                             nftnl_set_get_str(s->s, NFTNL_SET_NAME));
            }
        }
    }
    for (size_t i = 0; i < anon.n; i++) {
        free(anon.v[i].name);
    }
    free(anon.v);
    return 0;
}

/* One attempt: reads the destination, plans and sends the batch. */
typedef int plan_fn(struct fw_batch *, const struct fw_ruleset *old,
                    const struct fw_dest *, void *aux, char *err, size_t errlen);

static int
run_batch(const char *vm, plan_fn *plan, void *aux, char *err, size_t errlen)
{
    struct mnl_socket *nl;
    int error;

    error = nl_open(NETLINK_NETFILTER, &nl);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        return error;
    }
    nl_set_buffers(nl, 4 << 20);
    for (int attempt = 0; attempt < BATCH_ATTEMPTS; attempt++) {
        struct fw_ruleset *old = NULL;
        struct fw_batch *b = NULL;
        struct fw_dump dump;
        uint32_t genid;

        fw_dump_init(&dump);
        error = nft_get_genid(nl, &genid);
        if (error) {
            snprintf(err, errlen, "reading the nf_tables generation: %s",
                     ovs_strerror(-error));
        } else {
            error = fw_dump_load(nl, &dump, err, errlen);
        }
        if (!error) {
            struct fw_dest d = { &dump, NULL };

            old = vm ? fw_select(&dump, vm, true) : NULL;
            d.old = old;
            b = fw_batch_create(genid);
            error = plan(b, old, &d, aux, err, errlen);
            if (!error) {
                error = fw_batch_send(b, nl, err, errlen);
            }
        }
        fw_batch_destroy(b);
        fw_ruleset_destroy(old);
        fw_dump_free(&dump);
        if (error != -ERESTART && error != -EINTR) {
            break;
        }
        snprintf(err, errlen, "the ruleset kept changing during %d attempts",
                 BATCH_ATTEMPTS);
    }
    mnl_socket_close(nl);
    return error;
}

struct import {
    struct fw_ruleset *rs;
    const char *scope;          /* The VM an import is confined to, or NULL. */
};

static int
plan_import(struct fw_batch *b, const struct fw_ruleset *old,
            const struct fw_dest *d, void *imp_, char *err, size_t errlen)
{
    struct import *imp = imp_;
    uint32_t set_id = 0;

    /* Against this very dump, before the first message: a refusal sends
     * nothing. */
    if (imp->scope) {
        int error = fw_scope_check(imp->rs, imp->scope, d, err, errlen);
        if (error) {
            return error;
        }
    }
    plan_delete(b, old);
    return plan_add(b, imp->rs, d, &set_id, err, errlen);
}

struct import_many {
    struct fw_ruleset *const *rs;
    size_t n;
};

/* Each VM as plan_import() would, its objects selected from the one dump,
 * all in one batch. */
static int
plan_import_many(struct fw_batch *b, const struct fw_ruleset *none OVS_UNUSED,
                 const struct fw_dest *all, void *im_, char *err,
                 size_t errlen)
{
    struct import_many *im = im_;
    uint32_t set_id = 0;
    int error = 0;

    for (size_t i = 0; !error && i < im->n; i++) {
        struct fw_ruleset *rs = im->rs[i];
        /* run_batch()'s own dump, consumed as fw_select() does for one. */
        struct fw_ruleset *old = fw_select(CONST_CAST(struct fw_dump *,
                                                      all->dump),
                                           rs->vm, true);
        struct fw_dest d = { all->dump, old };
        char reason[256];

        error = fw_scope_check(rs, rs->vm, &d, reason, sizeof reason);
        if (!error) {
            plan_delete(b, old);
            error = plan_add(b, rs, &d, &set_id, reason, sizeof reason);
        }
        if (error) {
            snprintf(err, errlen, "VM %s: %s", rs->vm, reason);
        }
        fw_ruleset_destroy(old);
    }
    return error;
}

int
fw_import_scoped_many(struct fw_ruleset *const *rs, size_t n, char *err,
                      size_t errlen)
{
    struct import_many im = { rs, n };

    for (size_t i = 0; i < n; i++) {
        if (!fw_vm_name_valid(rs[i]->vm)) {
            return doc_error(err, errlen, "VM: invalid name \"%s\"",
                             rs[i]->vm);
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(rs[k]->vm, rs[i]->vm)) {
                return doc_error(err, errlen, "VM: \"%s\" twice in one "
                                 "import", rs[i]->vm);
            }
        }
    }
    return n ? run_batch(NULL, plan_import_many, &im, err, errlen) : 0;
}

int
fw_import(struct fw_ruleset *rs, char *err, size_t errlen)
{
    struct import imp = { rs, NULL };

    return run_batch(rs->vm, plan_import, &imp, err, errlen);
}

int
fw_import_scoped(struct fw_ruleset *rs, const char *vm, char *err,
                 size_t errlen)
{
    struct import imp = { rs, vm };

    if (!fw_vm_name_valid(vm)) {
        return doc_error(err, errlen, "VM: invalid name \"%s\"", vm);
    }
    if (strcmp(rs->vm, vm)) {
        return doc_error(err, errlen, "vm: \"%s\" is not the VM being "
                         "moved (%s)", rs->vm, vm);
    }
    return run_batch(vm, plan_import, &imp, err, errlen);
}

static int
plan_remove(struct fw_batch *b, const struct fw_ruleset *old,
            const struct fw_dest *d OVS_UNUSED, void *removed_,
            char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    size_t *removed = removed_;

    *removed = plan_delete(b, old);
    return 0;
}

int
fw_remove(const char *vm, size_t *removedp, char *err, size_t errlen)
{
    size_t removed = 0;
    int error;

    if (!fw_vm_name_valid(vm)) {
        return doc_error(err, errlen, "VM: invalid name \"%s\"", vm);
    }
    error = run_batch(vm, plan_remove, &removed, err, errlen);
    if (removedp) {
        *removedp = error ? 0 : removed;
    }
    return error;
}
