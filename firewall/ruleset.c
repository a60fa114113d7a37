/* firewall: the in-memory form of a VM's nftables objects. */
#include "firewall/firewall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall-private.h"

struct fw_ruleset *
fw_ruleset_create(const char *vm)
{
    struct fw_ruleset *rs = xzalloc(sizeof *rs);

    rs->vm = xstrdup(vm);
    ovs_list_init(&rs->tables);
    return rs;
}

void
fw_ruleset_destroy(struct fw_ruleset *rs)
{
    struct fw_table *t;

    if (!rs) {
        return;
    }
    LIST_FOR_EACH_POP (t, node, &rs->tables) {
        struct fw_chain *c;
        struct fw_set *s;
        struct fw_rule *r;

        LIST_FOR_EACH_POP (c, node, &t->chains) {
            nftnl_chain_free(c->c);
            free(c);
        }
        LIST_FOR_EACH_POP (s, node, &t->sets) {
            nftnl_set_free(s->s);
            free(s);
        }
        LIST_FOR_EACH_POP (r, node, &t->rules) {
            nftnl_rule_free(r->r);
            free(r);
        }
        nftnl_table_free(t->t);
        free(t);
    }
    free(rs->vm);
    free(rs);
}

const char *
fw_ruleset_vm(const struct fw_ruleset *rs)
{
    return rs->vm;
}

struct fw_table *
fw_ruleset_find_table(const struct fw_ruleset *rs, uint32_t family,
                      const char *name)
{
    struct fw_table *t;

    LIST_FOR_EACH (t, node, &rs->tables) {
        if (nftnl_table_get_u32(t->t, NFTNL_TABLE_FAMILY) == family
            && !strcmp(nftnl_table_get_str(t->t, NFTNL_TABLE_NAME), name)) {
            return t;
        }
    }
    return NULL;
}

struct fw_chain *
fw_table_find_chain(const struct fw_table *t, const char *name)
{
    struct fw_chain *c;

    LIST_FOR_EACH (c, node, &t->chains) {
        if (!strcmp(nftnl_chain_get_str(c->c, NFTNL_CHAIN_NAME), name)) {
            return c;
        }
    }
    return NULL;
}

struct fw_set *
fw_table_find_set(const struct fw_table *t, const char *name)
{
    struct fw_set *s;

    LIST_FOR_EACH (s, node, &t->sets) {
        if (!strcmp(nftnl_set_get_str(s->s, NFTNL_SET_NAME), name)) {
            return s;
        }
    }
    return NULL;
}

void
fw_ruleset_add_table(struct fw_ruleset *rs, struct nftnl_table *nt,
                     bool whole)
{
    struct fw_table *t = xzalloc(sizeof *t);

    t->t = nt;
    t->whole = whole;
    ovs_list_init(&t->chains);
    ovs_list_init(&t->sets);
    ovs_list_init(&t->rules);
    ovs_list_push_back(&rs->tables, &t->node);
}

static struct fw_table *
table_of(const struct fw_ruleset *rs, uint32_t family, const char *table)
{
    return table ? fw_ruleset_find_table(rs, family, table) : NULL;
}

int
fw_ruleset_add_chain(struct fw_ruleset *rs, struct nftnl_chain *nc,
                     bool whole)
{
    struct fw_table *t = table_of(rs,
                                  nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY),
                                  nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE));
    struct fw_chain *c;

    if (!t || !nftnl_chain_is_set(nc, NFTNL_CHAIN_NAME)) {
        return -ENOENT;
    }
    c = xzalloc(sizeof *c);
    c->c = nc;
    c->whole = whole;
    ovs_list_push_back(&t->chains, &c->node);
    return 0;
}

int
fw_ruleset_add_set(struct fw_ruleset *rs, struct nftnl_set *ns)
{
    struct fw_table *t = table_of(rs, nftnl_set_get_u32(ns, NFTNL_SET_FAMILY),
                                  nftnl_set_get_str(ns, NFTNL_SET_TABLE));
    struct fw_set *s;

    if (!t || !nftnl_set_is_set(ns, NFTNL_SET_NAME)) {
        return -ENOENT;
    }
    s = xzalloc(sizeof *s);
    s->s = ns;
    ovs_list_push_back(&t->sets, &s->node);
    return 0;
}

int
fw_ruleset_add_rule(struct fw_ruleset *rs, struct nftnl_rule *nr)
{
    struct fw_table *t = table_of(rs,
                                  nftnl_rule_get_u32(nr, NFTNL_RULE_FAMILY),
                                  nftnl_rule_get_str(nr, NFTNL_RULE_TABLE));
    const char *chain = nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN);
    struct fw_rule *r;

    if (!t || !chain || !fw_table_find_chain(t, chain)) {
        return -ENOENT;
    }
    r = xzalloc(sizeof *r);
    r->r = nr;
    ovs_list_push_back(&t->rules, &r->node);
    return 0;
}

static int
count_elem(struct nftnl_set_elem *e OVS_UNUSED, void *n_)
{
    size_t *n = n_;

    (*n)++;
    return 0;
}

void
fw_ruleset_counts(const struct fw_ruleset *rs, struct fw_counts *n)
{
    const struct fw_table *t;

    memset(n, 0, sizeof *n);
    LIST_FOR_EACH (t, node, &rs->tables) {
        const struct fw_chain *c;
        const struct fw_set *s;

        n->tables++;
        n->whole_tables += t->whole;
        LIST_FOR_EACH (c, node, &t->chains) {
            n->chains += c->whole;
        }
        LIST_FOR_EACH (s, node, &t->sets) {
            n->sets++;
            nftnl_set_elem_foreach(s->s, count_elem, &n->elements);
        }
        n->rules += ovs_list_size(&t->rules);
    }
}

/* ---- comparison through the netlink messages each object builds ---- */

#define MSG_MAX (256 * 1024)

struct msg_pair {
    char *a, *b;
};

/* Compares two built messages, then zeroes them: libmnl leaves attribute
 * padding as it finds it, so the buffers must start zeroed every time. */
static bool
same_msg(struct nlmsghdr *a, struct nlmsghdr *b)
{
    bool same = (a->nlmsg_len == b->nlmsg_len
                 && !memcmp(a, b, a->nlmsg_len));

    memset(a, 0, MIN(a->nlmsg_len, MSG_MAX));
    memset(b, 0, MIN(b->nlmsg_len, MSG_MAX));
    return same;
}

static struct nlmsghdr *
msg_start(char *buf)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

    nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
    return nlh;
}

struct elem_list {
    size_t n;
    struct nftnl_set_elem **e;
};

static int
collect_elem(struct nftnl_set_elem *e, void *list_)
{
    struct elem_list *list = list_;

    list->e = xrealloc(list->e, (list->n + 1) * sizeof *list->e);
    list->e[list->n++] = e;
    return 0;
}

/* The netlink message of every element of 's', sorted: the kernel dumps
 * the elements of a hash set in the order of its hash, which differs from
 * host to host. */
struct elem_msgs {
    size_t n;
    struct nlmsghdr **msgs;
};

static int
cmp_msgs(const void *a_, const void *b_)
{
    const struct nlmsghdr *a = *(const struct nlmsghdr *const *) a_;
    const struct nlmsghdr *b = *(const struct nlmsghdr *const *) b_;

    return (a->nlmsg_len != b->nlmsg_len
            ? (a->nlmsg_len < b->nlmsg_len ? -1 : 1)
            : memcmp(a, b, a->nlmsg_len));
}

static void
sorted_elem_msgs(struct msg_pair *m, const struct elem_list *el,
                 struct elem_msgs *out)
{
    out->n = el->n;
    out->msgs = xmalloc(MAX(el->n, 1) * sizeof *out->msgs);
    for (size_t i = 0; i < el->n; i++) {
        struct nlmsghdr *nlh = msg_start(m->a);

        nftnl_set_elem_nlmsg_build_payload(nlh, el->e[i]);
        out->msgs[i] = xmemdup(nlh, nlh->nlmsg_len);
        memset(nlh, 0, nlh->nlmsg_len);
    }
    qsort(out->msgs, out->n, sizeof *out->msgs, cmp_msgs);
}

static void
free_elem_msgs(struct elem_msgs *em)
{
    for (size_t i = 0; i < em->n; i++) {
        free(em->msgs[i]);
    }
    free(em->msgs);
}

static bool
sets_equal(struct msg_pair *m, struct nftnl_set *a, struct nftnl_set *b,
           bool in_order)
{
    struct elem_list ea = { 0, NULL }, eb = { 0, NULL };
    struct nlmsghdr *na = msg_start(m->a), *nb = msg_start(m->b);
    bool same;

    nftnl_set_nlmsg_build_payload(na, a);
    nftnl_set_nlmsg_build_payload(nb, b);
    same = same_msg(na, nb);
    nftnl_set_elem_foreach(a, collect_elem, &ea);
    nftnl_set_elem_foreach(b, collect_elem, &eb);
    same = same && ea.n == eb.n;
    if (same && in_order) {
        for (size_t i = 0; same && i < ea.n; i++) {
            na = msg_start(m->a);
            nb = msg_start(m->b);
            nftnl_set_elem_nlmsg_build_payload(na, ea.e[i]);
            nftnl_set_elem_nlmsg_build_payload(nb, eb.e[i]);
            same = same_msg(na, nb);
        }
    } else if (same) {
        struct elem_msgs sa, sb;

        sorted_elem_msgs(m, &ea, &sa);
        sorted_elem_msgs(m, &eb, &sb);
        for (size_t i = 0; same && i < sa.n; i++) {
            same = !cmp_msgs(&sa.msgs[i], &sb.msgs[i]);
        }
        free_elem_msgs(&sa);
        free_elem_msgs(&sb);
    }
    free(ea.e);
    free(eb.e);
    return same;
}

static bool
rules_equal(struct msg_pair *m, struct nftnl_rule *a, struct nftnl_rule *b)
{
    struct nlmsghdr *na = msg_start(m->a), *nb = msg_start(m->b);

    nftnl_rule_nlmsg_build_payload(na, a);
    nftnl_rule_nlmsg_build_payload(nb, b);
    return same_msg(na, nb);
}

static bool
tables_equal(struct msg_pair *m, const struct fw_table *a,
             const struct fw_table *b, bool in_order, char *why,
             size_t whylen)
{
    const char *name = nftnl_table_get_str(a->t, NFTNL_TABLE_NAME);
    struct nlmsghdr *na = msg_start(m->a), *nb = msg_start(m->b);
    struct ovs_list *pa, *pb;

    nftnl_table_nlmsg_build_payload(na, a->t);
    nftnl_table_nlmsg_build_payload(nb, b->t);
    if (a->whole != b->whole || !same_msg(na, nb)) {
        return doc_error(why, whylen, "table %s differs", name), false;
    }
    if (ovs_list_size(&a->chains) != ovs_list_size(&b->chains)
        || ovs_list_size(&a->sets) != ovs_list_size(&b->sets)
        || ovs_list_size(&a->rules) != ovs_list_size(&b->rules)) {
        return doc_error(why, whylen, "table %s: numbers of chains, sets "
                         "or rules differ", name), false;
    }
    for (pa = a->chains.next, pb = b->chains.next; pa != &a->chains;
         pa = pa->next, pb = pb->next) {
        struct fw_chain *ca = CONTAINER_OF(pa, struct fw_chain, node);
        struct fw_chain *cb = CONTAINER_OF(pb, struct fw_chain, node);

        na = msg_start(m->a);
        nb = msg_start(m->b);
        nftnl_chain_nlmsg_build_payload(na, ca->c);
        nftnl_chain_nlmsg_build_payload(nb, cb->c);
        if (ca->whole != cb->whole || !same_msg(na, nb)) {
            return doc_error(why, whylen, "table %s: chain %s differs", name,
                             nftnl_chain_get_str(ca->c, NFTNL_CHAIN_NAME)),
                   false;
        }
    }
    for (pa = a->sets.next, pb = b->sets.next; pa != &a->sets;
         pa = pa->next, pb = pb->next) {
        struct fw_set *sa = CONTAINER_OF(pa, struct fw_set, node);
        struct fw_set *sb = CONTAINER_OF(pb, struct fw_set, node);

        if (!sets_equal(m, sa->s, sb->s, in_order)) {
            return doc_error(why, whylen, "table %s: set %s differs", name,
                             nftnl_set_get_str(sa->s, NFTNL_SET_NAME)), false;
        }
    }
    size_t i = 0;
    for (pa = a->rules.next, pb = b->rules.next; pa != &a->rules;
         pa = pa->next, pb = pb->next, i++) {
        struct fw_rule *ra = CONTAINER_OF(pa, struct fw_rule, node);
        struct fw_rule *rb = CONTAINER_OF(pb, struct fw_rule, node);

        if (!rules_equal(m, ra->r, rb->r)) {
            return doc_error(why, whylen, "table %s: rule %zu (chain %s) "
                             "differs", name, i,
                             nftnl_rule_get_str(ra->r, NFTNL_RULE_CHAIN)),
                   false;
        }
    }
    return true;
}

static bool
rulesets_equal(const struct fw_ruleset *a, const struct fw_ruleset *b,
               bool in_order, char *why, size_t whylen)
{
    struct msg_pair m = { xzalloc(MSG_MAX), xzalloc(MSG_MAX) };
    const struct ovs_list *pa, *pb;
    bool same = true;

    if (strcmp(a->vm, b->vm)) {
        doc_error(why, whylen, "VMs differ: %s, %s", a->vm, b->vm);
        same = false;
    } else if (ovs_list_size(&a->tables) != ovs_list_size(&b->tables)) {
        doc_error(why, whylen, "numbers of tables differ");
        same = false;
    }
    for (pa = a->tables.next, pb = b->tables.next;
         same && pa != &a->tables; pa = pa->next, pb = pb->next) {
        same = tables_equal(&m, CONTAINER_OF(pa, struct fw_table, node),
                            CONTAINER_OF(pb, struct fw_table, node),
                            in_order, why, whylen);
    }
    free(m.a);
    free(m.b);
    return same;
}

bool
fw_ruleset_identical(const struct fw_ruleset *a, const struct fw_ruleset *b,
                     char *why, size_t whylen)
{
    return rulesets_equal(a, b, true, why, whylen);
}

/* ---- comparison of what a ruleset means ---- */

/* The source names of a table's anonymous sets, by position. */
struct anon_names {
    size_t n;
    char **names;
};

/* Returns the positional name of anonymous set 'name' (malloc'd), or NULL
 * if 'name' is no anonymous set of the table. */
static char *
anon_rename(const struct anon_names *an, const char *name)
{
    for (size_t i = 0; i < an->n; i++) {
        if (!strcmp(an->names[i], name)) {
            return xasprintf("__anon%zu", i);
        }
    }
    return NULL;
}

/* State that changes by itself: counters, consumed quota, last use. */
static int
forget_state(struct nftnl_expr *e, void *aux OVS_UNUSED)
{
    const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

    if (!strcmp(kind, "counter")) {
        nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
        nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
    } else if (!strcmp(kind, "quota")) {
        nftnl_expr_set_u64(e, NFTNL_EXPR_QUOTA_CONSUMED, 0);
    } else if (!strcmp(kind, "last")) {
        nftnl_expr_set_u64(e, NFTNL_EXPR_LAST_MSECS, 0);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LAST_SET, 0);
    } else if (!strcmp(kind, "dynset")) {
        nftnl_expr_expr_foreach(e, forget_state, NULL);
    }
    return 0;
}

static int
forget_elem_state(struct nftnl_set_elem *e, void *aux OVS_UNUSED)
{
    nftnl_set_elem_unset(e, NFTNL_SET_ELEM_EXPIRATION);
    nftnl_set_elem_expr_foreach(e, forget_state, NULL);
    return 0;
}

static uint16_t
set_ref_attr(const char *kind)
{
    return (!strcmp(kind, "lookup") ? NFTNL_EXPR_LOOKUP_SET
            : !strcmp(kind, "dynset") ? NFTNL_EXPR_DYNSET_SET_NAME
            : !strcmp(kind, "objref") ? NFTNL_EXPR_OBJREF_SET_NAME
            : 0);
}

/* fw_rule_copy() edit: anonymous set references by position, state that
 * changes by itself zeroed. */
static struct nftnl_expr *
normalize_expr(const struct nftnl_expr *e, void *an_)
{
    const struct anon_names *an = an_;
    uint16_t attr = set_ref_attr(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
    char *name = (attr && nftnl_expr_is_set(e, attr)
                  ? anon_rename(an, nftnl_expr_get_str(e, attr)) : NULL);
    struct nftnl_expr *copy = fw_expr_copy(e, name ? 1u << attr : 0);

    if (name) {
        nftnl_expr_set_str(copy, attr, name);
        free(name);
    }
    forget_state(copy, NULL);
    return copy;
}

/* Rewrites 'rs' into what it means: anonymous sets named by position (the
 * kernel numbers them as it likes), state that changes by itself zeroed. */
static void
normalize(struct fw_ruleset *rs)
{
    struct fw_table *t;

    LIST_FOR_EACH (t, node, &rs->tables) {
        struct anon_names an = { 0, NULL };
        struct fw_set *s;
        struct fw_rule *r;

        LIST_FOR_EACH (s, node, &t->sets) {
            if (fw_set_is_anonymous(s->s)) {
                an.names = xrealloc(an.names, (an.n + 1) * sizeof *an.names);
                an.names[an.n] = xstrdup(nftnl_set_get_str(s->s,
                                                           NFTNL_SET_NAME));
                char *name = xasprintf("__anon%zu", an.n++);
                nftnl_set_set_str(s->s, NFTNL_SET_NAME, name);
                free(name);
            }
            nftnl_set_elem_foreach(s->s, forget_elem_state, NULL);
        }
        LIST_FOR_EACH (r, node, &t->rules) {
            struct nftnl_rule *copy = fw_rule_copy(r->r, normalize_expr, &an);

            nftnl_rule_free(r->r);
            r->r = copy;
        }
        for (size_t i = 0; i < an.n; i++) {
            free(an.names[i]);
        }
        free(an.names);
    }
}

/* A copy of 'rs' through its document (libnftnl has no deep copy of
 * rules), or NULL if its document does not decode. */
static struct fw_ruleset *
copy_of(const struct fw_ruleset *rs)
{
    struct json *doc = fw_ruleset_to_json(rs);
    struct fw_ruleset *copy;
    char err[128];

    if (fw_ruleset_from_json(doc, &copy, err, sizeof err)) {
        copy = NULL;            /* fw_ruleset_equal() falls back. */
    }
    json_destroy(doc);
    return copy;
}

bool
fw_ruleset_equal(const struct fw_ruleset *a, const struct fw_ruleset *b,
                 char *why, size_t whylen)
{
    struct fw_ruleset *ca = copy_of(a), *cb = copy_of(b);
    bool same;

    if (!ca || !cb) {
        /* Not documentable (cannot happen with what export makes): only
         * identical is equal. */
        same = fw_ruleset_identical(a, b, why, whylen);
    } else {
        normalize(ca);
        normalize(cb);
        same = rulesets_equal(ca, cb, false, why, whylen);
    }
    fw_ruleset_destroy(ca);
    fw_ruleset_destroy(cb);
    return same;
}
