/* firewall: reading conntrack entries from ctnetlink: the dump that serves
 * one VM (ct_export()) or many (ct_export_many()), and the batch of GETs
 * that asks for a few entries by tuple (ct_events.c's delta).
 *
 * A host may hold a hundred thousand entries of which a VM owns a hundred:
 * each dumped message is first read for its addresses with
 * mnl_attr_parse*() and matched against the filters through a hash, and
 * only a match is parsed into an nf_conntrack (nfct_nlmsg_parse() of every
 * entry was most of the dump's time). */
#include "firewall/firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "hash.h"
#include "openvswitch/hmap.h"
#include "util.h"

#include "firewall/firewall-private.h"

#define DUMP_ATTEMPTS 5
#define GET_CHUNK (128 * 1024)      /* Bytes of GET requests per sendto(). */
#define GET_REQ_MAX 1024            /* Room for one request. */
#define RECV_BUF (64 * 1024)

struct nlmsghdr *
ct_put_header(char *buf, uint8_t type, uint16_t flags, uint8_t family,
              uint32_t seq)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct nfgenmsg *nfh;

    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    nfh = mnl_nlmsg_put_extra_header(nlh, sizeof *nfh);
    nfh->nfgen_family = family;
    nfh->version = NFNETLINK_V0;
    nfh->res_id = 0;
    return nlh;
}

/* ---- reading a message's addresses ---- */

struct peek_ctx {
    struct ct_peek *peek;
    int base;                   /* 0: original tuple, 2: reply tuple. */
};

static int
peek_ip_cb(const struct nlattr *attr, void *ctx_)
{
    struct peek_ctx *ctx = ctx_;
    int type = mnl_attr_get_type(attr);
    bool v4 = type == CTA_IP_V4_SRC || type == CTA_IP_V4_DST;
    bool v6 = type == CTA_IP_V6_SRC || type == CTA_IP_V6_DST;

    if ((v4 && !mnl_attr_validate(attr, MNL_TYPE_U32))
        || (v6 && !mnl_attr_validate2(attr, MNL_TYPE_BINARY, 16))) {
        bool dst = type == CTA_IP_V4_DST || type == CTA_IP_V6_DST;

        ctx->peek->addrs[ctx->base + dst] = mnl_attr_get_payload(attr);
    }
    return MNL_CB_OK;
}

static int
peek_tuple_cb(const struct nlattr *attr, void *ctx)
{
    if (mnl_attr_get_type(attr) == CTA_TUPLE_IP
        && !mnl_attr_validate(attr, MNL_TYPE_NESTED)) {
        return mnl_attr_parse_nested(attr, peek_ip_cb, ctx);
    }
    return MNL_CB_OK;
}

static int
peek_cb(const struct nlattr *attr, void *peek_)
{
    struct ct_peek *peek = peek_;
    int type = mnl_attr_get_type(attr);

    if ((type == CTA_TUPLE_ORIG || type == CTA_TUPLE_REPLY)
        && !mnl_attr_validate(attr, MNL_TYPE_NESTED)) {
        struct peek_ctx ctx = { peek, type == CTA_TUPLE_ORIG ? 0 : 2 };

        return mnl_attr_parse_nested(attr, peek_tuple_cb, &ctx);
    }
    if (type == CTA_ZONE && !mnl_attr_validate(attr, MNL_TYPE_U16)) {
        peek->zone = ntohs(mnl_attr_get_u16(attr));
    }
    return MNL_CB_OK;
}

int
ct_peek(const struct nlmsghdr *nlh, struct ct_peek *peek)
{
    const struct nfgenmsg *nfh;

    memset(peek, 0, sizeof *peek);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof *nfh) {
        return -EINVAL;
    }
    nfh = mnl_nlmsg_get_payload(nlh);
    peek->family = nfh->nfgen_family;
    if (mnl_attr_parse(nlh, sizeof *nfh, peek_cb, peek) < 0) {
        return -EINVAL;
    }
    return 0;
}

/* ---- filters by address ---- */

struct index_node {
    struct hmap_node node;      /* In ct_filter_index's 'by_addr'. */
    const struct fw_ct_addr *addr;
    const struct ct_filter *filter;
    size_t id;
};

struct ct_filter_index {
    struct hmap by_addr;
    struct index_node *zone_only;   /* Filters of a zone and no address. */
    size_t n_zone_only, allocated_zone_only;
};

static size_t
family_len(int family)
{
    return family == AF_INET ? 4 : 16;
}

static uint32_t
addr_hash(int family, const uint8_t *bytes)
{
    return hash_bytes(bytes, family_len(family), family);
}

struct ct_filter_index *
ct_filter_index_create(void)
{
    struct ct_filter_index *idx = xzalloc(sizeof *idx);

    hmap_init(&idx->by_addr);
    return idx;
}

void
ct_filter_index_destroy(struct ct_filter_index *idx)
{
    if (idx) {
        struct index_node *n;

        HMAP_FOR_EACH_POP (n, node, &idx->by_addr) {
            free(n);
        }
        hmap_destroy(&idx->by_addr);
        free(idx->zone_only);
        free(idx);
    }
}

void
ct_filter_index_add(struct ct_filter_index *idx, const struct ct_filter *f,
                    size_t id)
{
    for (size_t i = 0; i < f->n_addrs; i++) {
        const struct fw_ct_addr *a = &f->addrs[i];
        struct index_node *n = xmalloc(sizeof *n);

        *n = (struct index_node) { .addr = a, .filter = f, .id = id };
        hmap_insert(&idx->by_addr, &n->node, addr_hash(a->family, a->bytes));
    }
    if (!f->n_addrs && f->has_zone) {
        if (idx->n_zone_only >= idx->allocated_zone_only) {
            idx->zone_only = x2nrealloc(idx->zone_only,
                                        &idx->allocated_zone_only,
                                        sizeof *idx->zone_only);
        }
        idx->zone_only[idx->n_zone_only++] = (struct index_node) {
            .filter = f, .id = id };
    }
}

void
ct_filter_index_remove(struct ct_filter_index *idx, size_t id)
{
    struct index_node *n;
    size_t k = 0;

    HMAP_FOR_EACH_SAFE (n, node, &idx->by_addr) {
        if (n->id == id) {
            hmap_remove(&idx->by_addr, &n->node);
            free(n);
        }
    }
    for (size_t i = 0; i < idx->n_zone_only; i++) {
        if (idx->zone_only[i].id != id) {
            idx->zone_only[k++] = idx->zone_only[i];
        }
    }
    idx->n_zone_only = k;
}

static size_t
add_id(size_t *ids, size_t n, size_t max, size_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id) {
            return n;
        }
    }
    if (n < max) {
        ids[n++] = id;
    }
    return n;
}

size_t
ct_filter_index_match(const struct ct_filter_index *idx,
                      const struct ct_peek *peek, size_t *ids, size_t max)
{
    size_t len = family_len(peek->family);
    size_t n = 0;

    if (peek->family != AF_INET && peek->family != AF_INET6) {
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        const uint8_t *a = peek->addrs[i];
        const struct index_node *node;

        if (!a) {
            continue;
        }
        HMAP_FOR_EACH_WITH_HASH (node, node, addr_hash(peek->family, a),
                                 &idx->by_addr) {
            const struct ct_filter *f = node->filter;

            if (node->addr->family == peek->family
                && !memcmp(node->addr->bytes, a, len)
                && (!f->has_zone || f->zone == peek->zone)) {
                n = add_id(ids, n, max, node->id);
            }
        }
    }
    for (size_t i = 0; i < idx->n_zone_only; i++) {
        if (idx->zone_only[i].filter->zone == peek->zone) {
            n = add_id(ids, n, max, idx->zone_only[i].id);
        }
    }
    return n;
}

/* ---- dumps ---- */

struct dump_ctx {
    const struct ct_filter_index *idx;
    struct ct_table **tabs;
    size_t *ids;                /* Room for 'n_tabs' ids. */
    size_t n_tabs;
};

static int
dump_cb(const struct nlmsghdr *nlh, void *ctx_)
{
    struct dump_ctx *ctx = ctx_;
    struct nf_conntrack *ct;
    struct ct_peek peek;
    size_t n;

    if (ct_peek(nlh, &peek)) {
        return MNL_CB_ERROR;
    }
    n = ct_filter_index_match(ctx->idx, &peek, ctx->ids, ctx->n_tabs);
    if (!n) {
        return MNL_CB_OK;
    }
    ct = nfct_new();
    if (!ct || nfct_nlmsg_parse(nlh, ct) < 0) {
        nfct_destroy(ct);
        return MNL_CB_ERROR;
    }
    for (size_t i = 1; i < n; i++) {
        ct_table_add(ctx->tabs[ctx->ids[i]], nfct_clone(ct));
    }
    ct_table_add(ctx->tabs[ctx->ids[0]], ct);
    return MNL_CB_OK;
}

/* Dumps on 'nl' into 'n' new tables, the entries of filter i into
 * 'tabs[i]'. */
static int
dump_many(struct mnl_socket *nl, const struct ct_filter *filters, size_t n,
          struct ct_table **tabs, char *err, size_t errlen)
{
    struct ct_filter_index *idx = ct_filter_index_create();
    struct dump_ctx ctx = { idx, tabs, xcalloc(n + 1, sizeof *ctx.ids), n };
    int error = 0;

    for (size_t i = 0; i < n; i++) {
        ct_filter_index_add(idx, &filters[i], i);
    }
    for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;

        for (size_t i = 0; i < n; i++) {
            tabs[i] = ct_table_create();
        }
        /* conntrack -L */
        nlh = ct_put_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC,
                            time(NULL));
        error = nl_dump(nl, nlh, dump_cb, &ctx);
        if (!error) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            ct_table_destroy(tabs[i]);
            tabs[i] = NULL;
        }
        if (error != -EINTR) {
            break;
        }
    }
    if (error) {
        snprintf(err, errlen, "dumping conntrack entries: %s",
                 ovs_strerror(-error));
    }
    free(ctx.ids);
    ct_filter_index_destroy(idx);
    return error;
}

int
ct_dump_matching(struct mnl_socket *nl, const struct ct_filter *filter,
                 struct ct_table **tabp, char *err, size_t errlen)
{
    return dump_many(nl, filter, 1, tabp, err, errlen);
}

int
ct_export_many(const struct ct_filter *filters, size_t n,
               struct ct_table **tabs, char *err, size_t errlen)
{
    struct mnl_socket *nl;
    int error;

    for (size_t i = 0; i < n; i++) {
        tabs[i] = NULL;
    }
    if (!n) {
        return 0;
    }
    error = nl_open(NETLINK_NETFILTER, &nl);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        return error;
    }
    nl_set_buffers(nl, 8 << 20);
    error = dump_many(nl, filters, n, tabs, err, errlen);
    mnl_socket_close(nl);
    return error;
}

int
ct_export(const struct ct_filter *filter, struct ct_table **tabp,
          char *err, size_t errlen)
{
    return ct_export_many(filter, 1, tabp, err, errlen);
}

/* ---- GET by tuple ---- */

struct get_ctx {
    uint32_t seq_first;
    size_t n;
    struct nf_conntrack **found;
    int error;                  /* First failure other than ENOENT. */
};

/* Reads the answers queued for the GETs sent so far. */
static int
get_read(struct mnl_socket *nl, struct get_ctx *ctx, char *buf)
{
    for (;;) {
        ssize_t n = recv(mnl_socket_get_fd(nl), buf, RECV_BUF, MSG_DONTWAIT);
        const struct nlmsghdr *nlh;
        int len;

        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        }
        len = n;
        for (nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            uint32_t i = nlh->nlmsg_seq - ctx->seq_first;

            if (i >= ctx->n) {
                continue;
            }
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                int code = nl_error_describe(nlh, NULL, 0);

                if (code && code != -ENOENT && !ctx->error) {
                    ctx->error = code;
                }
            } else if (!ctx->found[i]) {
                struct nf_conntrack *ct = nfct_new();

                if (ct && nfct_nlmsg_parse(nlh, ct) >= 0) {
                    ctx->found[i] = ct;
                } else {
                    nfct_destroy(ct);
                }
            }
        }
    }
}

int
ct_get_many(struct mnl_socket *nl, const struct nf_conntrack **cts, size_t n,
            struct nf_conntrack **found)
{
    struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
    struct get_ctx ctx = { time(NULL) & 0x7fffffff, n, found, 0 };
    char *req = xmalloc(GET_CHUNK);
    char *buf = xmalloc(RECV_BUF);
    size_t used = 0;
    int error = 0;

    for (size_t i = 0; i < n; i++) {
        found[i] = NULL;
    }
    for (size_t i = 0; !error && i <= n; i++) {
        if (used && (i == n || used + GET_REQ_MAX > GET_CHUNK)) {
            /* ctnetlink answers each GET inside sendmsg(). */
            if (sendto(mnl_socket_get_fd(nl), req, used, 0,
                       (const struct sockaddr *) &snl, sizeof snl) < 0) {
                error = -errno;
                break;
            }
            used = 0;
            error = get_read(nl, &ctx, buf);
        }
        if (i < n && !error) {
            /* conntrack -G: by original tuple and zone. */
            struct nlmsghdr *nlh;

            nlh = ct_put_header(req + used, IPCTNL_MSG_CT_GET, 0,
                                nfct_get_attr_u8(cts[i], ATTR_L3PROTO),
                                ctx.seq_first + i);
            if (nfct_nlmsg_build(nlh, cts[i]) < 0) {
                error = -EINVAL;
                break;
            }
            used += NLMSG_ALIGN(nlh->nlmsg_len);
        }
    }
    free(req);
    free(buf);
    return error ? error : ctx.error;
}
