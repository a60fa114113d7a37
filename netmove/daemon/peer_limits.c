/* netmoved's peers: what a peer may make this host spend (docs/PROTOCOL.md
 * "Limits"): which inbound connection gives way to a new one, and each
 * session's budget of requests.  Pure decisions; peer.c applies them. */
#include "netmove/daemon/peer-private.h"

#include <errno.h>
#include <string.h>

#include "openvswitch/token-bucket.h"
#include "util.h"

/* The oldest connection among 'slots[0..n)' that matches 'addr' (if
 * nonnull) and is not authenticated; 'n' if there is none. */
static size_t
oldest_unauthenticated(const struct peer_slot *slots, size_t n,
                       const char *addr)
{
    size_t oldest = n;

    for (size_t i = 0; i < n; i++) {
        if (!slots[i].name && (!addr || !strcmp(slots[i].addr, addr))
            && (oldest == n || slots[i].since < slots[oldest].since)) {
            oldest = i;
        }
    }
    return oldest;
}

int
peer_admit(const struct peer_slot *slots, size_t n, const char *addr,
           size_t *victim)
{
    size_t from_addr = 0;

    for (size_t i = 0; i < n; i++) {
        from_addr += !strcmp(slots[i].addr, addr);
    }
    /* Give way to the newcomer: a handshake that is still going on is the
     * oldest one's, and a real peer's completes in milliseconds, so only a
     * flood faster than handshakes keeps a real peer out; refusing
     * newcomers instead would let whoever fills the table first keep it. */
    if (from_addr >= NM_PEER_MAX_PER_ADDR) {
        *victim = oldest_unauthenticated(slots, n, addr);
    } else if (n >= NM_PEER_MAX_INBOUND) {
        *victim = oldest_unauthenticated(slots, n, NULL);
    } else {
        *victim = n;
        return 0;
    }
    return *victim < n ? 0 : -EBUSY;
}

bool
peer_over_peer_cap(const struct peer_slot *slots, size_t n, const char *name,
                   size_t *victim)
{
    size_t count = 0;

    *victim = n;
    for (size_t i = 0; i < n; i++) {
        if (slots[i].name && !strcmp(slots[i].name, name)) {
            count++;
            if (*victim == n || slots[i].since < slots[*victim].since) {
                *victim = i;
            }
        }
    }
    return count > NM_PEER_MAX_PER_PEER;
}

char *
peer_remote_addr(const char *name)
{
    const char *colon = strchr(name, ':');
    const char *port = strrchr(name, ':');

    /* "ssl:198.18.0.1:40000", "ssl:[2001:db8::1]:40000", "unix:..." */
    return colon && port > colon ? xmemdup0(colon + 1, port - colon - 1)
                                 : xstrdup(name);
}

void
peer_budget_init(struct peer_budget *b)
{
    /* OVS's buckets count tokens per millisecond: a request costs
     * 1000 / NM_PEER_REQ_RATE tokens of a bucket that gains one a ms (and
     * starts full). */
    unsigned int cost = 1000 / NM_PEER_REQ_RATE;

    token_bucket_init(&b->requests, 1, NM_PEER_REQ_BURST * cost);
    token_bucket_init(&b->refusals, 1, NM_PEER_REQ_BURST * cost);
}

enum peer_verdict
peer_budget_take(struct peer_budget *b, size_t n_open)
{
    unsigned int cost = 1000 / NM_PEER_REQ_RATE;

    if (n_open < NM_PEER_MAX_OPEN && token_bucket_withdraw(&b->requests,
                                                           cost)) {
        return PEER_SERVE;
    }
    /* Busy answers are cheap but not free: a peer that keeps sending at
     * twice the rate it is served at is flooding, and is cut off. */
    return token_bucket_withdraw(&b->refusals, cost) ? PEER_BUSY
                                                     : PEER_FLOOD;
}

bool
peer_budget_has_room(struct peer_budget *b)
{
    unsigned int cost = 1000 / NM_PEER_REQ_RATE;

    if (!token_bucket_withdraw(&b->requests, cost)) {
        return false;
    }
    b->requests.tokens += cost;         /* A look, not a withdrawal. */
    return true;
}

void
peer_budget_charge(struct peer_budget *b)
{
    token_bucket_withdraw(&b->requests, 1000 / NM_PEER_REQ_RATE);
}

bool
peer_method_unmetered(const char *method, size_t n_open)
{
    /* A 300 ms pause at line rate relays thousands of frames in batches of
     * 64: dozens of requests in a burst, which the rate would refuse while
     * the VM waits for them. */
    return method && !strcmp(method, "drain") && n_open < NM_PEER_MAX_OPEN;
}
