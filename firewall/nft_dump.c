/* firewall: dumping nf_tables objects from the kernel (libnftnl). */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "util.h"

void
fw_dump_init(struct fw_dump *d)
{
    memset(d, 0, sizeof *d);
}

void
fw_dump_free(struct fw_dump *d)
{
    for (size_t i = 0; i < d->n_tables; i++) {
        if (d->tables[i]) {
            nftnl_table_free(d->tables[i]);
        }
    }
    for (size_t i = 0; i < d->n_chains; i++) {
        if (d->chains[i]) {
            nftnl_chain_free(d->chains[i]);
        }
    }
    for (size_t i = 0; i < d->n_sets; i++) {
        if (d->sets[i]) {
            nftnl_set_free(d->sets[i]);
        }
    }
    for (size_t i = 0; i < d->n_rules; i++) {
        if (d->rules[i]) {
            nftnl_rule_free(d->rules[i]);
        }
    }
    free(d->tables);
    free(d->chains);
    free(d->sets);
    free(d->rules);
    fw_dump_init(d);
}

/* A growing array of object pointers, filled by a dump callback. */
struct collect {
    uint16_t type;          /* NFT_MSG_NEW* of the objects. */
    void ***items;
    size_t *n;
    size_t allocated;
    void *(*alloc)(void);
    int (*parse)(const struct nlmsghdr *, void *);
    void (*free)(void *);
};

static int
collect_cb(const struct nlmsghdr *nlh, void *c_)
{
    struct collect *c = c_;
    void *obj;

    /* libnftnl aborts the process on an attribute it cannot validate: give
     * it only the messages it is meant to parse. */
    if (nlh->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | c->type)) {
        return MNL_CB_OK;
    }
    obj = c->alloc();

    if (c->parse(nlh, obj) < 0) {
        c->free(obj);
        return MNL_CB_ERROR;
    }
    if (*c->n >= c->allocated) {
        *c->items = x2nrealloc(*c->items, &c->allocated, sizeof **c->items);
    }
    (*c->items)[(*c->n)++] = obj;
    return MNL_CB_OK;
}

/* Thin adapters from libnftnl's typed functions to the collector's. */
#define ADAPT(KIND)                                                         \
    static void *KIND##_alloc(void) { return nftnl_##KIND##_alloc(); }      \
    static int KIND##_parse(const struct nlmsghdr *nlh, void *o)            \
    { return nftnl_##KIND##_nlmsg_parse(nlh, o); }                          \
    static void KIND##_free(void *o) { nftnl_##KIND##_free(o); }
ADAPT(table)
ADAPT(chain)
ADAPT(set)
ADAPT(rule)

static int
dump_kind(struct mnl_socket *nl, uint16_t type, struct collect *c)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;

    nlh = nftnl_nlmsg_build_hdr(buf, type, AF_UNSPEC, NLM_F_DUMP,
                                time(NULL));
    return nl_dump(nl, nlh, collect_cb, c);
}

int
fw_dump_load(struct mnl_socket *nl, struct fw_dump *d, char *err,
             size_t errlen)
{
    struct collect cs[] = {
        { NFT_MSG_NEWTABLE, (void ***) &d->tables, &d->n_tables, 0, table_alloc, table_parse,
          table_free },
        { NFT_MSG_NEWCHAIN, (void ***) &d->chains, &d->n_chains, 0, chain_alloc, chain_parse,
          chain_free },
        { NFT_MSG_NEWSET, (void ***) &d->sets, &d->n_sets, 0, set_alloc, set_parse,
          set_free },
        { NFT_MSG_NEWRULE, (void ***) &d->rules, &d->n_rules, 0, rule_alloc, rule_parse,
          rule_free },
    };
    static const uint16_t types[] = {
        NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETSET, NFT_MSG_GETRULE,
    };
    static const char *const names[] = { "tables", "chains", "sets",
                                         "rules" };

    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        int error = dump_kind(nl, types[i], &cs[i]);

        if (error) {
            if (error != -EINTR) {
                snprintf(err, errlen, "dumping nf_tables %s: %s", names[i],
                         ovs_strerror(-error));
            }
            return error;
        }
    }
    return 0;
}

static int
elems_cb(const struct nlmsghdr *nlh, void *s)
{
    if (nlh->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM)) {
        return MNL_CB_OK;
    }
    return nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ? MNL_CB_ERROR
                                                  : MNL_CB_OK;
}

int
fw_dump_set_elements(struct mnl_socket *nl, struct nftnl_set *s)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;

    /* nft get element: the set's table and name select it. */
    nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
                                nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
                                NLM_F_DUMP, time(NULL));
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    return nl_dump(nl, nlh, elems_cb, s);
}
