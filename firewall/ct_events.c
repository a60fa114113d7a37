/* firewall: a VM's conntrack delta from ctnetlink's events.
 *
 * As conntrackd follows a host's connections, a listener subscribes to the
 * groups NFNLGRP_CONNTRACK_NEW, _UPDATE and _DESTROY with a large receive
 * buffer, reads without blocking, and treats ENOBUFS (the kernel dropped
 * events: the buffer overran) as "resynchronize with a dump".  Events are
 * kept only for watched addresses (a hash lookup of each message's four
 * addresses, before any parse), coalesced per entry: the delta at a pause
 * then costs the VM's entries, never the host's.
 *
 * With net.netfilter.nf_conntrack_events = 2 (the default), only the
 * connections created while a listener exists carry the event extension:
 * older ones, and every timeout refresh, emit nothing.  So a delta also asks
 * the kernel, by tuple, for each entry of the base that no event touched. */
#include "firewall/firewall.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_compat.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "openvswitch/poll-loop.h"
#include "openvswitch/shash.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall-private.h"

#define RCVBUF_FIRST (16 << 20)     /* The listener's receive buffer... */
#define RCVBUF_MAX (128 << 20)      /* ...doubled on overrun up to this. */
#define RECV_SIZE (64 * 1024)
#define RECVS_PER_RUN 256           /* Bounds one ct_events_run(). */
#define DELTA_READ_MS 20            /* Bounds a delta's reading of the
                                     * backlog (then it dumps). */

/* An entry's buffered events, coalesced. */
struct pending {
    struct nf_conntrack *ct;
    bool gone;                  /* The last event destroyed it. */
    bool complete;              /* 'ct' is whole (a "new" event), not only
                                 * what updates carried. */
};

struct watch {
    char *key;
    size_t id;                  /* In ct_events's 'index' and 'by_id'. */
    struct ct_filter filter;    /* Own copy of the addresses. */
    struct shash pending;       /* Entry key -> struct pending. */
    bool overrun;               /* Events were lost: next delta dumps. */
};

struct ct_events {
    struct mnl_socket *listen;  /* Subscribed to the event groups. */
    struct mnl_socket *req;     /* GETs and dumps. */
    int rcvbuf;
    const struct ct_events_ops *ops;
    void *aux;
    struct shash watches;       /* Key -> struct watch. */
    struct ct_filter_index *index;
    struct watch **by_id;
    size_t n_ids, allocated_ids;
    size_t *ids;                /* Scratch, 'n_ids' long. */
    char *buf;
    struct ct_events_stats stats;
};

static int
sock_get(void *ev_, const struct nf_conntrack **cts, size_t n,
         struct nf_conntrack **found)
{
    struct ct_events *ev = ev_;

    return ct_get_many(ev->req, cts, n, found);
}

static int
sock_dump(void *ev_, const struct ct_filter *filter, struct ct_table **tabp,
          char *err, size_t errlen)
{
    struct ct_events *ev = ev_;

    return ct_dump_matching(ev->req, filter, tabp, err, errlen);
}

static const struct ct_events_ops sock_ops = { sock_get, sock_dump };

struct ct_events *
ct_events_create(const struct ct_events_ops *ops, void *aux)
{
    struct ct_events *ev = xzalloc(sizeof *ev);

    ev->ops = ops;
    ev->aux = aux;
    shash_init(&ev->watches);
    ev->index = ct_filter_index_create();
    return ev;
}

int
ct_events_open(struct ct_events **evp, char *err, size_t errlen)
{
    struct ct_events *ev = ct_events_create(&sock_ops, NULL);
    int error;

    *evp = NULL;
    ev->aux = ev;
    ev->listen = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK);
    if (!ev->listen) {
        error = -errno;
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        goto out_close;
    }
    /* conntrack -E */
    if (mnl_socket_bind(ev->listen, NF_NETLINK_CONNTRACK_NEW
                        | NF_NETLINK_CONNTRACK_UPDATE
                        | NF_NETLINK_CONNTRACK_DESTROY,
                        MNL_SOCKET_AUTOPID) < 0) {
        error = -errno;
        snprintf(err, errlen, "subscribing to conntrack events: %s",
                 ovs_strerror(-error));
        goto out_close;
    }
    ev->rcvbuf = RCVBUF_FIRST;
    nl_set_buffers(ev->listen, ev->rcvbuf);
    error = nl_open(NETLINK_NETFILTER, &ev->req);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        goto out_close;
    }
    nl_set_buffers(ev->req, 16 << 20);
    ev->buf = xmalloc(RECV_SIZE);
    *evp = ev;
    return 0;

out_close:
    ct_events_close(ev);
    return error;
}

static void
pending_clear(struct shash *pending)
{
    struct shash_node *node;

    SHASH_FOR_EACH (node, pending) {
        struct pending *p = node->data;

        nfct_destroy(p->ct);
        free(p);
    }
    shash_clear(pending);
}

static void
watch_destroy(struct ct_events *ev, struct watch *w)
{
    ct_filter_index_remove(ev->index, w->id);
    ev->by_id[w->id] = NULL;
    pending_clear(&w->pending);
    shash_destroy(&w->pending);
    free(w->filter.addrs);
    free(w->key);
    free(w);
}

void
ct_events_close(struct ct_events *ev)
{
    if (ev) {
        struct shash_node *node;

        SHASH_FOR_EACH (node, &ev->watches) {
            watch_destroy(ev, node->data);
        }
        shash_destroy(&ev->watches);
        ct_filter_index_destroy(ev->index);
        if (ev->listen) {
            mnl_socket_close(ev->listen);
        }
        if (ev->req) {
            mnl_socket_close(ev->req);
        }
        free(ev->by_id);
        free(ev->ids);
        free(ev->buf);
        free(ev);
    }
}

int
ct_events_fd(const struct ct_events *ev)
{
    return ev->listen ? mnl_socket_get_fd(ev->listen) : -1;
}

void
ct_events_wait(const struct ct_events *ev)
{
    if (ev->listen) {
        poll_fd_wait(mnl_socket_get_fd(ev->listen), POLLIN);
    }
}

void
ct_events_overrun(struct ct_events *ev)
{
    struct shash_node *node;

    ev->stats.overruns++;
    SHASH_FOR_EACH (node, &ev->watches) {
        struct watch *w = node->data;

        w->overrun = true;
        pending_clear(&w->pending);
    }
}

/* Reads what the kernel queued, at most 'max_recvs' datagrams.  Returns
 * true if it read all of it, false if it stopped at the bound. */
static bool
events_read(struct ct_events *ev, int max_recvs)
{
    for (int i = 0; i < max_recvs; i++) {
        ssize_t n = recv(mnl_socket_get_fd(ev->listen), ev->buf, RECV_SIZE,
                         MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true;    /* All read. */
            } else if (errno == ENOBUFS) {
                /* As conntrackd: a larger buffer from now on, and a dump
                 * for what was lost. */
                ct_events_overrun(ev);
                if (ev->rcvbuf < RCVBUF_MAX) {
                    ev->rcvbuf *= 2;
                    nl_set_buffers(ev->listen, ev->rcvbuf);
                }
                continue;
            }
            /* Anything else: what is queued cannot be trusted to be read
             * whole; as an overrun, the next deltas dump. */
            ct_events_overrun(ev);
            return true;
        }
        ct_events_feed(ev, ev->buf, n);
    }
    return false;
}

void
ct_events_run(struct ct_events *ev)
{
    if (ev->listen) {
        events_read(ev, RECVS_PER_RUN);
    }
}

/* Buffers event 'ct' (of message 'type', 'flags') for watch 'w' under entry
 * key 'key'. */
static void
buffer_event(struct watch *w, const char *key, const struct nf_conntrack *ct,
             uint8_t type, uint16_t flags)
{
    struct pending *p = shash_find_data(&w->pending, key);
    bool destroy = type == IPCTNL_MSG_CT_DELETE;
    bool new = !destroy && (flags & NLM_F_CREATE);

    if (!p) {
        p = xzalloc(sizeof *p);
        shash_add(&w->pending, key, p);
    } else if (!destroy && !new && !p->gone) {
        /* An update carries what changed: over what came before. */
        nfct_copy(p->ct, ct, NFCT_CP_ALL);
        return;
    } else {
        nfct_destroy(p->ct);
    }
    p->ct = nfct_clone(ct);
    p->gone = destroy;
    p->complete = destroy || new;
}

void
ct_events_feed(struct ct_events *ev, const void *buf, size_t len)
{
    const struct nlmsghdr *nlh = buf;
    int left = len;

    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        uint8_t type = nlh->nlmsg_type & 0xff;
        struct nf_conntrack *ct;
        struct ct_peek peek;
        size_t n;
        char *key;

        if (nlh->nlmsg_type >> 8 != NFNL_SUBSYS_CTNETLINK
            || (type != IPCTNL_MSG_CT_NEW && type != IPCTNL_MSG_CT_DELETE)) {
            continue;
        }
        ev->stats.read++;
        if (!ev->n_ids || ct_peek(nlh, &peek)) {
            continue;
        }
        n = ct_filter_index_match(ev->index, &peek, ev->ids, ev->n_ids);
        if (!n) {
            continue;
        }
        ct = nfct_new();
        if (!ct || nfct_nlmsg_parse(nlh, ct) < 0) {
            nfct_destroy(ct);
            continue;
        }
        ev->stats.matched++;
        key = ct_entry_key(ct);
        for (size_t i = 0; i < n; i++) {
            buffer_event(ev->by_id[ev->ids[i]], key, ct, type,
                         nlh->nlmsg_flags);
        }
        free(key);
        nfct_destroy(ct);
    }
}

void
ct_events_watch(struct ct_events *ev, const char *key,
                const struct ct_filter *filter)
{
    struct watch *w = xzalloc(sizeof *w);
    size_t id;

    ct_events_unwatch(ev, key);
    for (id = 0; id < ev->n_ids && ev->by_id[id]; id++) {
        continue;
    }
    if (id == ev->n_ids) {
        if (ev->n_ids >= ev->allocated_ids) {
            ev->by_id = x2nrealloc(ev->by_id, &ev->allocated_ids,
                                   sizeof *ev->by_id);
        }
        ev->n_ids++;
        ev->ids = xrealloc(ev->ids, ev->n_ids * sizeof *ev->ids);
    }
    w->key = xstrdup(key);
    w->id = id;
    w->filter = *filter;
    w->filter.addrs = xcalloc(filter->n_addrs + 1, sizeof *filter->addrs);
    if (filter->n_addrs) {
        memcpy(w->filter.addrs, filter->addrs,
               filter->n_addrs * sizeof *filter->addrs);
    }
    shash_init(&w->pending);
    ev->by_id[id] = w;
    shash_add(&ev->watches, key, w);
    ct_filter_index_add(ev->index, &w->filter, id);
}

void
ct_events_unwatch(struct ct_events *ev, const char *key)
{
    struct watch *w = shash_find_and_delete(&ev->watches, key);

    if (w) {
        watch_destroy(ev, w);
    }
}

bool
ct_events_watching(const struct ct_events *ev, const char *key)
{
    return shash_find(&ev->watches, key) != NULL;
}

/* The delta after an overrun: a dump, compared. */
static int
delta_by_dump(struct ct_events *ev, struct watch *w,
              const struct ct_table *base, struct ct_table **deltap,
              char *err, size_t errlen)
{
    struct ct_table *cur;
    int error = ev->ops->dump(ev->aux, &w->filter, &cur, err, errlen);

    if (!error) {
        *deltap = ct_table_delta(base, cur);
        ct_table_destroy(cur);
        /* What was buffered until now is in the dump. */
        pending_clear(&w->pending);
        w->overrun = false;
        ev->stats.fallbacks++;
    }
    return error;
}

/* Adds to 'delta' what 'now' (NULL: the kernel has none) says of an entry
 * that was 'old' in the base (NULL: not there).  Takes 'now'. */
static void
delta_put(struct ct_table *delta, const struct nf_conntrack *old,
          struct nf_conntrack *now)
{
    if (!now) {
        if (old) {
            ct_table_add_gone(delta, nfct_clone(old));
        }
    } else if (!old || !ct_entry_equal(old, now, false, NULL, 0)) {
        ct_table_add(delta, now);
    } else {
        nfct_destroy(now);
    }
}

/* Adds to 'delta' what 'w''s buffered events say, against the base's
 * entries 'by_key' (those an event touched are set to NULL there); the
 * entries only updates were seen of, the base lacking them, go to 'ask'
 * ('*n_ask').  Returns the number of entries the events were for. */
static size_t
delta_from_events(struct watch *w, struct shash *by_key,
                  struct ct_table *delta, const struct nf_conntrack **ask,
                  const struct nf_conntrack **ask_old, size_t *n_ask)
{
    struct shash_node *node;
    size_t n = 0;

    SHASH_FOR_EACH (node, &w->pending) {
        struct pending *p = node->data;
        struct shash_node *b = shash_find(by_key, node->name);
        const struct nf_conntrack *old = b ? b->data : NULL;

        if (b) {
            /* Touched: no need to ask for it. */
            b->data = NULL;
        }
        if (p->gone) {
            delta_put(delta, old, NULL);
        } else if (p->complete) {
            delta_put(delta, old, nfct_clone(p->ct));
        } else if (old) {
            struct nf_conntrack *merged = nfct_clone(old);

            nfct_copy(merged, p->ct, NFCT_CP_ALL);
            delta_put(delta, old, merged);
        } else {
            /* Only updates seen of an entry the base lacks: ask. */
            ask_old[*n_ask] = NULL;
            ask[(*n_ask)++] = p->ct;
        }
        n++;
    }
    return n;
}

int
ct_events_delta(struct ct_events *ev, const char *key,
                const struct ct_table *base, struct ct_table **deltap,
                struct ct_delta_info *info, char *err, size_t errlen)
{
    struct watch *w = shash_find_data(&ev->watches, key);
    struct ct_delta_info dummy;
    const struct nf_conntrack **ask, **ask_old;
    struct nf_conntrack **found;
    struct ct_table *delta;
    struct shash by_key;        /* Base entry key -> its nf_conntrack. */
    struct shash_node *node;
    size_t n_ask = 0;
    int error = 0;

    info = info ? info : &dummy;
    memset(info, 0, sizeof *info);
    *deltap = NULL;
    if (!w) {
        snprintf(err, errlen, "no watch of conntrack events for %s", key);
        return -ENOENT;
    }
    /* Everything the kernel has sent until now, not one loop turn's worth:
     * a backlog (a loop held by a batch's dumps) holds events of
     * connections made since the export, and a NEW left in it would be
     * missing from the delta.  Bounded: past DELTA_READ_MS the delta is a
     * dump, as after an overrun. */
    long long int deadline = time_msec() + DELTA_READ_MS;
    while (ev->listen && !w->overrun && !events_read(ev, RECVS_PER_RUN)) {
        if (time_msec() >= deadline) {
            w->overrun = true;
            break;
        }
    }
    ev->stats.deltas++;
    if (w->overrun) {
        info->fallback = true;
        return delta_by_dump(ev, w, base, deltap, err, errlen);
    }

    delta = ct_table_create();
    delta->delta = true;
    shash_init(&by_key);
    for (size_t i = 0; i < base->n; i++) {
        if (!base->entries[i].gone) {
            shash_replace_nocopy(&by_key, ct_entry_key(base->entries[i].ct),
                                 base->entries[i].ct);
        }
    }
    ask = xmalloc((base->n + shash_count(&w->pending) + 1) * sizeof *ask);
    ask_old = xmalloc((base->n + shash_count(&w->pending) + 1)
                      * sizeof *ask_old);

    info->events = delta_from_events(w, &by_key, delta, ask, ask_old,
                                     &n_ask);
    /* The base's entries no event touched: ask for each. */
    SHASH_FOR_EACH (node, &by_key) {
        if (node->data) {
            ask_old[n_ask] = node->data;
            ask[n_ask++] = node->data;
        }
    }
    found = xcalloc(n_ask + 1, sizeof *found);
    if (n_ask) {
        error = ev->ops->get(ev->aux, ask, n_ask, found);
    }
    if (error) {
        snprintf(err, errlen, "asking for %zu conntrack entries: %s", n_ask,
                 ovs_strerror(-error));
        for (size_t i = 0; i < n_ask; i++) {
            if (found[i]) {
                nfct_destroy(found[i]);
            }
        }
        ct_table_destroy(delta);
    } else {
        for (size_t i = 0; i < n_ask; i++) {
            delta_put(delta, ask_old[i], found[i]);
        }
        info->gets = n_ask;
        ev->stats.gets += n_ask;
        pending_clear(&w->pending);
        *deltap = delta;
    }
    free(found);
    free(ask);
    free(ask_old);
    shash_destroy(&by_key);
    return error;
}

void
ct_events_get_stats(const struct ct_events *ev,
                    struct ct_events_stats *stats)
{
    *stats = ev->stats;
    stats->watches = shash_count(&ev->watches);
}
