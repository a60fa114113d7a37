/* firewall: a VM's conntrack entries through ctnetlink (libmnl and
 * libnetfilter_conntrack's message builder and parser).
 *
 * Entries are injected as conntrack-tools' external_inject.c does: create,
 * and on EEXIST update; many requests share one sendmsg() (the kernel runs
 * each in turn and answers only the ones it refuses), which is what makes a
 * hundred thousand entries move in a fraction of a second. */
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

#include "util.h"

#include "firewall/firewall-private.h"

#define SEND_CHUNK (128 * 1024)     /* Bytes of requests per sendmsg(). */
#define REQ_MAX 1024                /* Room for one request. */

/* ---- tables ---- */

struct ct_table *
ct_table_create(void)
{
    return xzalloc(sizeof(struct ct_table));
}

void
ct_table_destroy(struct ct_table *tab)
{
    if (tab) {
        for (size_t i = 0; i < tab->n; i++) {
            nfct_destroy(tab->entries[i].ct);
        }
        free(tab->entries);
        free(tab);
    }
}

static void
table_push(struct ct_table *tab, struct nf_conntrack *ct, bool gone)
{
    if (tab->n >= tab->allocated) {
        tab->entries = x2nrealloc(tab->entries, &tab->allocated,
                                  sizeof *tab->entries);
    }
    tab->entries[tab->n++] = (struct ct_entry) { ct, gone };
    tab->n_gone += gone;
}

void
ct_table_add(struct ct_table *tab, struct nf_conntrack *ct)
{
    table_push(tab, ct, false);
}

void
ct_table_add_gone(struct ct_table *tab, struct nf_conntrack *ct)
{
    table_push(tab, ct, true);
}

size_t
ct_table_count(const struct ct_table *tab)
{
    return tab->n - tab->n_gone;
}

size_t
ct_table_gone_count(const struct ct_table *tab)
{
    return tab->n_gone;
}

/* ---- filters ---- */

int
fw_ct_addr_parse(const char *text, struct fw_ct_addr *addr)
{
    memset(addr, 0, sizeof *addr);
    if (inet_pton(AF_INET, text, addr->bytes) == 1) {
        addr->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr->bytes) == 1) {
        addr->family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

static bool
addr_in(const struct nf_conntrack *ct, const struct fw_ct_addr *a)
{
    static const int v4[] = { ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV4_DST,
                              ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV4_DST };
    static const int v6[] = { ATTR_ORIG_IPV6_SRC, ATTR_ORIG_IPV6_DST,
                              ATTR_REPL_IPV6_SRC, ATTR_REPL_IPV6_DST };
    const int *attrs = a->family == AF_INET ? v4 : v6;
    size_t len = a->family == AF_INET ? 4 : 16;

    if (nfct_get_attr_u8(ct, ATTR_L3PROTO) != a->family) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        const void *v = nfct_get_attr(ct, attrs[i]);

        if (v && !memcmp(v, a->bytes, len)) {
            return true;
        }
    }
    return false;
}

bool
ct_filter_match(const struct ct_filter *f, const struct nf_conntrack *ct)
{
    if (f->has_zone) {
        uint16_t zone = (nfct_attr_is_set(ct, ATTR_ZONE)
                         ? nfct_get_attr_u16(ct, ATTR_ZONE) : 0);
        if (zone != f->zone) {
            return false;
        }
    }
    if (!f->n_addrs) {
        return f->has_zone;
    }
    for (size_t i = 0; i < f->n_addrs; i++) {
        if (addr_in(ct, &f->addrs[i])) {
            return true;
        }
    }
    return false;
}

/* ---- requests in bulk ---- */

enum ct_op { CT_CREATE, CT_UPDATE, CT_DELETE };

struct bulk {
    struct mnl_socket *nl;
    char *buf;
    size_t used;
    uint32_t seq_first;     /* Sequence number of request 0. */
    size_t n_reqs;
    /* Per request, the entry it is for; results by entry. */
    size_t *entry_of;
    int *result;            /* Per entry: 0 or the kernel's -errno. */
    char first_reason[256];
    int first_error;
};

static int
bulk_flush(struct bulk *b)
{
    char *rbuf;
    int error = 0;

    if (!b->used) {
        return 0;
    }
    struct sockaddr_nl snl = { .nl_family = AF_NETLINK };

    /* (sendto() as mnl_socket_sendto() would, from our own code: the unit
     * test plays the kernel behind it.) */
    if (sendto(mnl_socket_get_fd(b->nl), b->buf, b->used, 0,
               (const struct sockaddr *) &snl, sizeof snl) < 0) {
        return -errno;
    }
    b->used = 0;
    /* ctnetlink has run every request inside sendmsg(): read the refusals
     * it queued. */
    rbuf = xmalloc(MNL_SOCKET_BUFFER_SIZE * 8);
    for (;;) {
        ssize_t n = recv(mnl_socket_get_fd(b->nl), rbuf,
                         MNL_SOCKET_BUFFER_SIZE * 8, MSG_DONTWAIT);
        const struct nlmsghdr *nlh;
        int len;

        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                error = -errno;
            }
            break;
        }
        len = n;
        for (nlh = (const struct nlmsghdr *) rbuf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            uint32_t i = nlh->nlmsg_seq - b->seq_first;
            char reason[256];
            int code;

            if (nlh->nlmsg_type != NLMSG_ERROR || i >= b->n_reqs) {
                continue;
            }
            code = nl_error_describe(nlh, reason, sizeof reason);
            b->result[b->entry_of[i]] = code;
            if (code && code != -EEXIST && code != -ENOENT
                && !b->first_error) {
                b->first_error = code;
                snprintf(b->first_reason, sizeof b->first_reason, "%s",
                         reason);
            }
        }
    }
    free(rbuf);
    return error;
}

static int
bulk_add(struct bulk *b, enum ct_op op, const struct nf_conntrack *ct,
         size_t entry)
{
    static const uint8_t types[] = {
        [CT_CREATE] = IPCTNL_MSG_CT_NEW,
        [CT_UPDATE] = IPCTNL_MSG_CT_NEW,
        [CT_DELETE] = IPCTNL_MSG_CT_DELETE,
    };
    static const uint16_t flags[] = {
        [CT_CREATE] = NLM_F_CREATE | NLM_F_EXCL,
        [CT_UPDATE] = 0,
        [CT_DELETE] = 0,
    };
    struct nlmsghdr *nlh;
    int error;

    if (b->used + REQ_MAX > SEND_CHUNK) {
        error = bulk_flush(b);
        if (error) {
            return error;
        }
    }
    nlh = ct_put_header(b->buf + b->used, types[op], flags[op],
                        nfct_get_attr_u8(ct, ATTR_L3PROTO),
                        b->seq_first + b->n_reqs);
    if (nfct_nlmsg_build(nlh, ct) < 0) {
        return -EINVAL;
    }
    b->used += NLMSG_ALIGN(nlh->nlmsg_len);
    b->entry_of[b->n_reqs++] = entry;
    return 0;
}

/* An update may not carry NAT (the kernel refuses to change it). */
static struct nf_conntrack *
update_of(const struct nf_conntrack *ct)
{
    struct nf_conntrack *u = nfct_clone(ct);

    nfct_attr_unset(u, ATTR_SNAT_IPV4);
    nfct_attr_unset(u, ATTR_DNAT_IPV4);
    nfct_attr_unset(u, ATTR_SNAT_IPV6);
    nfct_attr_unset(u, ATTR_DNAT_IPV6);
    nfct_attr_unset(u, ATTR_SNAT_PORT);
    nfct_attr_unset(u, ATTR_DNAT_PORT);
    nfct_attr_unset(u, ATTR_HELPER_NAME);
    return u;
}

static void
bulk_init(struct bulk *b, struct mnl_socket *nl, size_t n_entries)
{
    memset(b, 0, sizeof *b);
    b->nl = nl;
    b->buf = xmalloc(SEND_CHUNK);
    b->seq_first = time(NULL) & 0x7fffffff;
    /* Up to three requests per entry: create, update, create again. */
    b->entry_of = xmalloc((3 * n_entries + 1) * sizeof *b->entry_of);
    b->result = xcalloc(n_entries + 1, sizeof *b->result);
}

static void
bulk_destroy(struct bulk *b)
{
    free(b->buf);
    free(b->entry_of);
    free(b->result);
}

/* Runs 'op' for every entry of 'tab' selected by 'want' (and 'gone'). */
static int
bulk_pass(struct bulk *b, const struct ct_table *tab, enum ct_op op,
          bool gone, int want)
{
    int error = 0;

    for (size_t i = 0; !error && i < tab->n; i++) {
        if (tab->entries[i].gone != gone || b->result[i] != want) {
            continue;
        }
        if (op == CT_UPDATE) {
            struct nf_conntrack *u = update_of(tab->entries[i].ct);
            error = bulk_add(b, op, u, i);
            nfct_destroy(u);
        } else {
            error = bulk_add(b, op, tab->entries[i].ct, i);
        }
        b->result[i] = 0;
    }
    if (!error) {
        error = bulk_flush(b);
    }
    return error;
}

int
ct_import(const struct ct_table *tab, size_t *createdp, size_t *updatedp,
          size_t *deletedp, char *err, size_t errlen)
{
    size_t created = 0, updated = 0, deleted = 0;
    struct mnl_socket *nl;
    struct bulk b;
    int *first;
    int error;

    error = nl_open(NETLINK_NETFILTER, &nl);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        return error;
    }
    nl_set_buffers(nl, 16 << 20);
    bulk_init(&b, nl, tab->n);
    first = xcalloc(tab->n + 1, sizeof *first);

    /* conntrack -D for what is gone, conntrack -I for the rest. */
    error = bulk_pass(&b, tab, CT_DELETE, true, 0);
    for (size_t i = 0; !error && i < tab->n; i++) {
        if (tab->entries[i].gone && b.result[i] != -ENOENT) {
            deleted += !b.result[i];
        }
    }
    if (!error) {
        error = bulk_pass(&b, tab, CT_CREATE, false, 0);
    }
    memcpy(first, b.result, tab->n * sizeof *first);
    if (!error) {
        error = bulk_pass(&b, tab, CT_UPDATE, false, -EEXIST);
    }
    /* Gone between the create and the update: create again. */
    if (!error) {
        error = bulk_pass(&b, tab, CT_CREATE, false, -ENOENT);
    }
    for (size_t i = 0; !error && i < tab->n; i++) {
        if (!tab->entries[i].gone && !b.result[i]) {
            if (first[i] == -EEXIST) {
                updated++;
            } else {
                created++;
            }
        }
    }
    if (error) {
        snprintf(err, errlen, "talking to ctnetlink: %s",
                 ovs_strerror(-error));
    } else if (b.first_error) {
        error = b.first_error == -EPERM || b.first_error == -ENOMEM
                ? b.first_error : -EINVAL;
        snprintf(err, errlen, "the kernel refused %zu of %zu entries: %s",
                 ct_table_count(tab) - created - updated,
                 ct_table_count(tab), b.first_reason);
    }
    free(first);
    bulk_destroy(&b);
    mnl_socket_close(nl);
    if (createdp) {
        *createdp = created;
    }
    if (updatedp) {
        *updatedp = updated;
    }
    if (deletedp) {
        *deletedp = deleted;
    }
    return error;
}

int
ct_remove(const struct ct_filter *filter, size_t *deletedp, char *err,
          size_t errlen)
{
    struct ct_table *tab = NULL;
    struct mnl_socket *nl;
    size_t deleted = 0;
    int error;

    error = nl_open(NETLINK_NETFILTER, &nl);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        return error;
    }
    nl_set_buffers(nl, 16 << 20);
    error = ct_dump_matching(nl, filter, &tab, err, errlen);
    if (!error) {
        struct bulk b;

        bulk_init(&b, nl, tab->n);
        /* conntrack -D: by original tuple, zone and id. */
        error = bulk_pass(&b, tab, CT_DELETE, false, 0);
        for (size_t i = 0; !error && i < tab->n; i++) {
            deleted += !b.result[i];
        }
        if (error) {
            snprintf(err, errlen, "talking to ctnetlink: %s",
                     ovs_strerror(-error));
        } else if (b.first_error) {
            error = b.first_error;
            snprintf(err, errlen, "deleting conntrack entries: %s",
                     b.first_reason);
        }
        bulk_destroy(&b);
    }
    ct_table_destroy(tab);
    mnl_socket_close(nl);
    if (deletedp) {
        *deletedp = deleted;
    }
    return error;
}
