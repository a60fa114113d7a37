/* firewall: picking a VM's objects out of a dump, by the convention of
 * README.md: tables tagged "netmove:vm=<vm>" whole; elsewhere tagged chains
 * (with all their rules), tagged sets and maps, tagged rules (with the
 * anonymous sets they use) and the host chains and tables that hold them.
 *
 * A batch of VMs is picked out of one dump in one pass over its objects:
 * each object's comment is parsed once and its VM looked up by name in a
 * hash, so that the cost grows with the objects plus the VMs, not their
 * product. */
#include "firewall/firewall-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "hash.h"
#include "openvswitch/hmap.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "firewall/firewall.h"

/* The VMs of a batch are found by the comments of the dump's objects, each
 * parsed once: a tag "netmove:vm=<vm>" names the VM at the index its name
 * maps to in 'vms' (index + 1, as a pointer). */
#define TAG_PREFIX "netmove:vm="

struct owner_match {
    uint8_t type;               /* The comment's udata type. */
    const struct shash *vms;
    int owner;                  /* -1: none of the batch. */
};

static int
owner_cb(const struct nftnl_udata *attr, void *data)
{
    struct owner_match *m = data;
    const char *value = nftnl_udata_get(attr);
    size_t len = nftnl_udata_len(attr);
    size_t plen = strlen(TAG_PREFIX);

    if (nftnl_udata_type(attr) != m->type || m->owner >= 0) {
        return 0;
    }
    /* nft stores the comment NUL-terminated (nftnl_udata_put_strz). */
    if (len && value[len - 1] == '\0') {
        len--;
    }
    if (len > plen && !memcmp(value, TAG_PREFIX, plen)
        && !memchr(value + plen, '\0', len - plen)) {
        struct shash_node *node = shash_find_len(m->vms, value + plen,
                                                 len - plen);
        if (node) {
            m->owner = (int) ((uintptr_t) node->data - 1);
        }
    }
    return 0;
}

/* The index of the VM of 'vms' that userdata 'ud' ('len' bytes) tags with
 * a comment of 'type', or -1. */
static int
udata_owner(const void *ud, uint32_t len, uint8_t type,
            const struct shash *vms)
{
    struct owner_match m = { type, vms, -1 };

    /* A malformed TLV list is nobody's tag. */
    if (!ud || !len || nftnl_udata_parse(ud, len, owner_cb, &m) < 0) {
        return -1;
    }
    return m.owner;
}

static int
table_owner(const struct nftnl_table *t, const struct shash *vms)
{
    uint32_t len = 0;
    const void *ud = (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)
                      ? nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len)
                      : NULL);
    return udata_owner(ud, len, NFTNL_UDATA_TABLE_COMMENT, vms);
}

static int
chain_owner(const struct nftnl_chain *c, const struct shash *vms)
{
    uint32_t len = 0;
    const void *ud = (nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA)
                      ? nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len)
                      : NULL);
    return udata_owner(ud, len, NFTNL_UDATA_CHAIN_COMMENT, vms);
}

static int
set_owner(const struct nftnl_set *s, const struct shash *vms)
{
    uint32_t len = 0;
    const void *ud = (nftnl_set_is_set(s, NFTNL_SET_USERDATA)
                      ? nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len)
                      : NULL);
    return udata_owner(ud, len, NFTNL_UDATA_SET_COMMENT, vms);
}

static int
rule_owner(const struct nftnl_rule *r, const struct shash *vms)
{
    uint32_t len = 0;
    const void *ud = (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)
                      ? nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len)
                      : NULL);
    return udata_owner(ud, len, NFTNL_UDATA_RULE_COMMENT, vms);
}

/* Objects of a dump by (family, table, name): tables (name ""), chains,
 * anonymous sets. */
struct obj_node {
    struct hmap_node node;
    uint32_t family;
    const char *table, *name;
    size_t idx;
};

static uint32_t
obj_hash(uint32_t family, const char *table, const char *name)
{
    return hash_string(name, hash_string(table, family));
}

static void
obj_add(struct hmap *map, struct obj_node *n, uint32_t family,
        const char *table, const char *name, size_t idx)
{
    n->family = family;
    n->table = table;
    n->name = name;
    n->idx = idx;
    hmap_insert(map, &n->node, obj_hash(family, table, name));
}

#define NO_OBJ SIZE_MAX

static size_t
obj_find(const struct hmap *map, uint32_t family, const char *table,
         const char *name)
{
    const struct obj_node *n;

    if (!table || !name) {
        return NO_OBJ;
    }
    HMAP_FOR_EACH_WITH_HASH (n, node, obj_hash(family, table, name), map) {
        if (n->family == family && !strcmp(n->table, table)
            && !strcmp(n->name, name)) {
            return n->idx;
        }
    }
    return NO_OBJ;
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


/* A copy of 't' (or 'c'), for a second VM whose objects a host table (or
 * chain) holds: the first VM took the dump's own.  Through the netlink
 * message that would create it, as libnftnl has no copy of its own. */
static struct nftnl_table *
table_copy(const struct nftnl_table *t)
{
    uint64_t buf[16384 / sizeof(uint64_t)];
    struct nlmsghdr *nlh;
    struct nftnl_table *copy = nftnl_table_alloc();

    nlh = nftnl_nlmsg_build_hdr((char *) buf, NFT_MSG_NEWTABLE,
                                nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY),
                                0, 0);
    nftnl_table_nlmsg_build_payload(nlh, t);
    ovs_assert(copy && !nftnl_table_nlmsg_parse(nlh, copy));
    return copy;
}

static struct nftnl_chain *
chain_copy(const struct nftnl_chain *c)
{
    uint64_t buf[16384 / sizeof(uint64_t)];
    struct nlmsghdr *nlh;
    struct nftnl_chain *copy = nftnl_chain_alloc();

    nlh = nftnl_nlmsg_build_hdr((char *) buf, NFT_MSG_NEWCHAIN,
                                nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY),
                                0, 0);
    nftnl_chain_nlmsg_build_payload(nlh, c);
    ovs_assert(copy && !nftnl_chain_nlmsg_parse(nlh, copy));
    return copy;
}

/* Who owns what in a dump, computed once for the whole batch: for each
 * object the index of its VM in the batch (-1: none), and where each rule
 * and chain lives. */
struct owners {
    struct fw_dump *d;
    size_t n_vms;
    int *table, *chain, *set, *rule;
    size_t *chain_table, *set_table, *rule_chain;
    struct hmap tables, chains, anon_sets;
    struct obj_node *nodes;             /* Of the three maps. */

    /* Per VM, what it owns in dump order ('first' indexes 'objs' by VM,
     * n_vms + 1 entries), by kind. */
    size_t *table_first, *table_objs;
    size_t *chain_first, *chain_objs;
    size_t *set_first, *set_objs;
    size_t *rule_first, *rule_objs;

    /* The dump's objects taken by a VM already (later ones copy them). */
    struct nftnl_table **table_taken;
    struct nftnl_chain **chain_taken;
    /* Which VM (index + 1) last picked the object: no VM picks twice. */
    size_t *table_stamp, *chain_stamp, *set_stamp;
};

/* Buckets the 'n' objects whose owners are 'owner' by VM, in dump order
 * (a counting sort): '*firstp' (n_vms + 1 offsets) and '*objsp'. */
static void
bucket(const int *owner, size_t n, size_t n_vms, size_t **firstp,
       size_t **objsp)
{
    size_t *first = xcalloc(n_vms + 2, sizeof *first);
    size_t *objs = xcalloc(n + 1, sizeof *objs);

    for (size_t i = 0; i < n; i++) {
        if (owner[i] >= 0) {
            first[owner[i] + 2]++;
        }
    }
    for (size_t v = 2; v < n_vms + 2; v++) {
        first[v] += first[v - 1];
    }
    for (size_t i = 0; i < n; i++) {
        if (owner[i] >= 0) {
            objs[first[owner[i] + 1]++] = i;
        }
    }
    *firstp = first;
    *objsp = objs;
}

static void
owners_init(struct owners *o, struct fw_dump *d, const struct shash *vms,
            size_t n_vms)
{
    size_t n_nodes = d->n_tables + d->n_chains + d->n_sets, k = 0;

    memset(o, 0, sizeof *o);
    o->d = d;
    o->n_vms = n_vms;
    o->table = xcalloc(d->n_tables + 1, sizeof *o->table);
    o->chain = xcalloc(d->n_chains + 1, sizeof *o->chain);
    o->set = xcalloc(d->n_sets + 1, sizeof *o->set);
    o->rule = xcalloc(d->n_rules + 1, sizeof *o->rule);
    o->chain_table = xcalloc(d->n_chains + 1, sizeof *o->chain_table);
    o->set_table = xcalloc(d->n_sets + 1, sizeof *o->set_table);
    o->rule_chain = xcalloc(d->n_rules + 1, sizeof *o->rule_chain);
    o->nodes = xcalloc(n_nodes + 1, sizeof *o->nodes);
    hmap_init(&o->tables);
    hmap_init(&o->chains);
    hmap_init(&o->anon_sets);

    for (size_t i = 0; i < d->n_tables; i++) {
        struct nftnl_table *t = d->tables[i];

        o->table[i] = -1;
        if (t && nftnl_table_is_set(t, NFTNL_TABLE_NAME)) {
            o->table[i] = table_owner(t, vms);
            obj_add(&o->tables, &o->nodes[k++],
                    nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY),
                    nftnl_table_get_str(t, NFTNL_TABLE_NAME), "", i);
        }
    }
    /* A chain of a VM's table is the VM's whole, as a chain it tags. */
    for (size_t i = 0; i < d->n_chains; i++) {
        struct nftnl_chain *c = d->chains[i];
        uint32_t family = c ? nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) : 0;
        const char *table = c ? nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)
                              : NULL;
        const char *name = c ? nftnl_chain_get_str(c, NFTNL_CHAIN_NAME)
                             : NULL;
        size_t ti = obj_find(&o->tables, family, table, "");

        o->chain[i] = -1;
        o->chain_table[i] = ti;
        if (ti != NO_OBJ && name) {
            o->chain[i] = (o->table[ti] >= 0 ? o->table[ti]
                           : chain_owner(c, vms));
            obj_add(&o->chains, &o->nodes[k++], family, table, name, i);
        }
    }
    for (size_t i = 0; i < d->n_sets; i++) {
        struct nftnl_set *s = d->sets[i];
        uint32_t family = s ? nftnl_set_get_u32(s, NFTNL_SET_FAMILY) : 0;
        const char *table = s ? nftnl_set_get_str(s, NFTNL_SET_TABLE) : NULL;
        const char *name = s ? nftnl_set_get_str(s, NFTNL_SET_NAME) : NULL;
        size_t ti = obj_find(&o->tables, family, table, "");

        o->set[i] = -1;
        o->set_table[i] = ti;
        if (ti != NO_OBJ && name) {
            o->set[i] = (o->table[ti] >= 0 ? o->table[ti]
                         : set_owner(s, vms));
            if (fw_set_is_anonymous(s)) {
                obj_add(&o->anon_sets, &o->nodes[k++], family, table, name,
                        i);
            }
        }
    }
    /* A rule of a VM's chain (or table) is the VM's, as a rule it tags. */
    for (size_t i = 0; i < d->n_rules; i++) {
        struct nftnl_rule *r = d->rules[i];
        size_t ci = (r ? obj_find(&o->chains,
                                  nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
                                  nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
                                  nftnl_rule_get_str(r, NFTNL_RULE_CHAIN))
                       : NO_OBJ);

        o->rule[i] = -1;
        o->rule_chain[i] = ci;
        if (ci != NO_OBJ) {
            o->rule[i] = (o->chain[ci] >= 0 ? o->chain[ci]
                          : rule_owner(r, vms));
        }
    }

    bucket(o->table, d->n_tables, n_vms, &o->table_first, &o->table_objs);
    bucket(o->chain, d->n_chains, n_vms, &o->chain_first, &o->chain_objs);
    bucket(o->set, d->n_sets, n_vms, &o->set_first, &o->set_objs);
    bucket(o->rule, d->n_rules, n_vms, &o->rule_first, &o->rule_objs);
    o->table_taken = xcalloc(d->n_tables + 1, sizeof *o->table_taken);
    o->chain_taken = xcalloc(d->n_chains + 1, sizeof *o->chain_taken);
    o->table_stamp = xcalloc(d->n_tables + 1, sizeof *o->table_stamp);
    o->chain_stamp = xcalloc(d->n_chains + 1, sizeof *o->chain_stamp);
    o->set_stamp = xcalloc(d->n_sets + 1, sizeof *o->set_stamp);
}

static void
owners_destroy(struct owners *o)
{
    hmap_destroy(&o->tables);
    hmap_destroy(&o->chains);
    hmap_destroy(&o->anon_sets);
    free(o->nodes);
    free(o->table);
    free(o->chain);
    free(o->set);
    free(o->rule);
    free(o->chain_table);
    free(o->set_table);
    free(o->rule_chain);
    free(o->table_first);
    free(o->table_objs);
    free(o->chain_first);
    free(o->chain_objs);
    free(o->set_first);
    free(o->set_objs);
    free(o->rule_first);
    free(o->rule_objs);
    free(o->table_taken);
    free(o->chain_taken);
    free(o->table_stamp);
    free(o->chain_stamp);
    free(o->set_stamp);
}

/* A growing list of object indexes. */
struct idx_list {
    size_t *idx;
    size_t n, allocated;
};

static void
idx_push(struct idx_list *l, size_t idx)
{
    if (l->n >= l->allocated) {
        l->idx = x2nrealloc(l->idx, &l->allocated, sizeof *l->idx);
    }
    l->idx[l->n++] = idx;
}

static int
compare_idx(const void *a_, const void *b_)
{
    const size_t *a = a_, *b = b_;
    return *a < *b ? -1 : *a > *b;
}

/* Sorts 'l' into dump order. */
static void
idx_sort(struct idx_list *l)
{
    if (l->n) {
        qsort(l->idx, l->n, sizeof *l->idx, compare_idx);
    }
}

/* Picks 'ti' for VM 'v' (once). */
static void
pick_table(struct owners *o, size_t v, size_t ti, struct idx_list *l)
{
    if (ti != NO_OBJ && o->table_stamp[ti] != v + 1) {
        o->table_stamp[ti] = v + 1;
        idx_push(l, ti);
    }
}

static void
pick_chain(struct owners *o, size_t v, size_t ci, struct idx_list *chains,
           struct idx_list *tables)
{
    if (o->chain_stamp[ci] != v + 1) {
        o->chain_stamp[ci] = v + 1;
        idx_push(chains, ci);
        pick_table(o, v, o->chain_table[ci], tables);
    }
}

static void
pick_set(struct owners *o, size_t v, size_t si, struct idx_list *sets,
         struct idx_list *tables)
{
    if (o->set_stamp[si] != v + 1 && o->d->sets[si]) {
        o->set_stamp[si] = v + 1;
        idx_push(sets, si);
        pick_table(o, v, o->set_table[si], tables);
    }
}

struct anon_pick {
    struct owners *o;
    size_t v;
    uint32_t family;
    const char *table;
    struct idx_list *sets, *tables;
};

static void
pick_anonymous(const char *name, void *p_)
{
    struct anon_pick *p = p_;
    size_t si = obj_find(&p->o->anon_sets, p->family, p->table, name);

    if (si != NO_OBJ) {
        pick_set(p->o, p->v, si, p->sets, p->tables);
    }
}

/* Moves what VM 'v' owns, and the host tables and chains that hold it
 * (the dump's own for the first VM that needs them, a copy for the
 * others), from the dump to 'rs'. */
static void
select_vm(struct owners *o, size_t v, bool keep, struct fw_ruleset *rs)
{
    struct fw_dump *d = o->d;
    struct idx_list tables = { NULL, 0, 0 }, chains = { NULL, 0, 0 };
    struct idx_list sets = { NULL, 0, 0 };
    int error;

    /* A table tagged for the VM is its own even when empty. */
    for (size_t k = o->table_first[v]; k < o->table_first[v + 1]; k++) {
        pick_table(o, v, o->table_objs[k], &tables);
    }
    for (size_t k = o->chain_first[v]; k < o->chain_first[v + 1]; k++) {
        pick_chain(o, v, o->chain_objs[k], &chains, &tables);
    }
    for (size_t k = o->set_first[v]; k < o->set_first[v + 1]; k++) {
        pick_set(o, v, o->set_objs[k], &sets, &tables);
    }
    for (size_t k = o->rule_first[v]; k < o->rule_first[v + 1]; k++) {
        size_t ri = o->rule_objs[k], ci = o->rule_chain[ri];
        size_t ti = o->chain_table[ci];

        pick_chain(o, v, ci, &chains, &tables);
        if (o->table[ti] != (int) v) {
            /* A whole table has all its sets picked already. */
            struct anon_pick p = {
                o, v, nftnl_rule_get_u32(d->rules[ri], NFTNL_RULE_FAMILY),
                nftnl_rule_get_str(d->rules[ri], NFTNL_RULE_TABLE),
                &sets, &tables,
            };
            fw_rule_for_each_set_ref(d->rules[ri], pick_anonymous, &p);
        }
    }
    idx_sort(&tables);
    idx_sort(&chains);
    idx_sort(&sets);

    /* Cannot fail: each object's table goes in first, every object picked
     * has a name, and a rule's chain is picked with it. */
    for (size_t k = 0; k < tables.n; k++) {
        size_t ti = tables.idx[k];
        struct nftnl_table *t = d->tables[ti];

        if (t) {
            strip_table(t, keep);
            o->table_taken[ti] = t;
            d->tables[ti] = NULL;
        } else {
            t = table_copy(o->table_taken[ti]);
        }
        fw_ruleset_add_table(rs, t, o->table[ti] == (int) v);
    }
    for (size_t k = 0; k < chains.n; k++) {
        size_t ci = chains.idx[k];
        struct nftnl_chain *c = d->chains[ci];

        if (c) {
            strip_chain(c, keep);
            o->chain_taken[ci] = c;
            d->chains[ci] = NULL;
        } else {
            c = chain_copy(o->chain_taken[ci]);
        }
        error = fw_ruleset_add_chain(rs, c, o->chain[ci] == (int) v);
        ovs_assert(!error);
    }
    for (size_t k = 0; k < sets.n; k++) {
        size_t si = sets.idx[k];

        strip_set(d->sets[si], keep);
        error = fw_ruleset_add_set(rs, d->sets[si]);
        ovs_assert(!error);
        d->sets[si] = NULL;
    }
    for (size_t k = o->rule_first[v]; k < o->rule_first[v + 1]; k++) {
        size_t ri = o->rule_objs[k];

        strip_rule(d->rules[ri], keep);
        error = fw_ruleset_add_rule(rs, d->rules[ri]);
        ovs_assert(!error);
        d->rules[ri] = NULL;
    }
    free(tables.idx);
    free(chains.idx);
    free(sets.idx);
}

void
fw_select_many(struct fw_dump *d, const char *const *vms, size_t n,
               bool keep_handles, struct fw_ruleset **rss)
{
    struct shash by_name;
    struct owners o;

    shash_init(&by_name);
    for (size_t v = 0; v < n; v++) {
        /* A name given twice: the second is given nothing. */
        shash_add_once(&by_name, vms[v], (void *) (uintptr_t) (v + 1));
    }
    owners_init(&o, d, &by_name, n);
    for (size_t v = 0; v < n; v++) {
        rss[v] = fw_ruleset_create(vms[v]);
        select_vm(&o, v, keep_handles, rss[v]);
    }
    owners_destroy(&o);
    shash_destroy(&by_name);
}

struct fw_ruleset *
fw_select(struct fw_dump *d, const char *vm, bool keep_handles)
{
    struct fw_ruleset *rs;

    fw_select_many(d, &vm, 1, keep_handles, &rs);
    return rs;
}
