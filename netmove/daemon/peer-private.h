/* netmoved's peers, inside: what peer.c and peer_hello.c share. */
#ifndef NETMOVE_DAEMON_PEER_INT_H
#define NETMOVE_DAEMON_PEER_INT_H 1

#include "netmove/daemon/peer.h"

#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/shash.h"
#include "openvswitch/token-bucket.h"
#include "sset.h"

struct jsonrpc;
struct jsonrpc_msg;

/* What a peer may make this host spend (docs/PROTOCOL.md "Limits"). */

/* Inbound connections: at most NM_PEER_MAX_INBOUND in all and
 * NM_PEER_MAX_PER_ADDR from one remote address, counting those whose TLS
 * handshake has not ended; over a cap, the oldest such one gives way to
 * the newcomer.  At most NM_PEER_MAX_PER_PEER authenticated ones per peer
 * (the oldest gives way: a reconnected peer's old session).  An inbound
 * connection not authenticated within NM_PEER_HANDSHAKE_MS is closed. */
#define NM_PEER_MAX_INBOUND 64
#define NM_PEER_MAX_PER_ADDR 8
#define NM_PEER_MAX_PER_PEER 4
#define NM_PEER_HANDSHAKE_MS 2000

/* A connection to a peer is made at most once a second. */
#define NM_PEER_RETRY_MS 1000

/* A message larger than this closes the session: an export carries a whole
 * VM's ruleset and conntrack entries, a few MiB for a large one. */
#define NM_PEER_MAX_MSG (64u * 1024 * 1024)

/* Requests per session: NM_PEER_REQ_RATE a second, in bursts of up to
 * NM_PEER_REQ_BURST, and at most NM_PEER_MAX_OPEN unanswered (asynchronous
 * methods).  Over either, a request is answered "busy" (-32000); a peer
 * that goes on sending at more than twice the rate is disconnected. */
#define NM_PEER_REQ_RATE 50
#define NM_PEER_REQ_BURST 200
#define NM_PEER_MAX_OPEN 256

/* What this host buffers for a peer that does not read: more than
 * NM_PEER_BACKLOG_MSGS messages or NM_PEER_BACKLOG_BYTES bytes closes the
 * session. */
#define NM_PEER_BACKLOG_MSGS 1024
#define NM_PEER_BACKLOG_BYTES (4 * (size_t) NM_PEER_MAX_MSG)

/* A request budget (peer_limits.c). */
struct peer_budget {
    struct token_bucket requests;
    struct token_bucket refusals;       /* Busy answers before a cut. */
};

/* One JSON-RPC session with a peer, either direction. */
struct conn {
    struct ovs_list node;               /* In nm_peers's 'outbound'/'inbound'. */
    struct nm_peers *peers;
    struct jsonrpc_session *session;
    char *peer;                         /* Outbound: whom we meant to reach. */
    const char *remote;                 /* Outbound: its address. */
    bool connecting;                    /* Outbound: 'session' reconnects. */
    unsigned int gen;                   /* Sessions 'session' has been. */
    char *name;                         /* Authenticated peer name, or NULL. */
    unsigned int seqno;                 /* Session seqno 'name' applies to. */
    bool inbound;
    struct ovs_list reqs;               /* Asynchronous requests it holds. */
    size_t n_reqs;                      /* Their number. */

    /* Limits ('rpc' is the session's, while it is connected). */
    char *addr;                         /* Inbound: remote address. */
    long long int since;                /* Accepted or connected, msec. */
    struct jsonrpc *rpc;
    unsigned int rx_mark;               /* Bytes received at last message. */
    struct peer_budget budget;

    /* The protocol agreed on session 'seqno' (reset when it changes). */
    int version;                        /* > 0; 0 not yet known;
                                         * -EPROTONOSUPPORT: refused. */
    int their_max;                      /* The peer's highest, 0 unknown. */
    char *refusal;                      /* Why refused. */
    struct json *hello_id;              /* Outbound: our hello, unanswered. */
    struct sset caps;                   /* What the peer offers. */
};

struct method {
    nm_peer_method_fn *fn;
    nm_peer_async_fn *async_fn;
    void *aux;
};

struct nm_peers {
    const struct nm_config *cfg;
    int min_version, max_version;       /* The protocol versions spoken. */
    struct pstream *listener;
    struct ovs_list outbound;           /* One 'struct conn' per peer. */
    struct ovs_list inbound;
    struct hmap pending;
    struct ovs_list unsent;
    struct shash methods;
};

/* The protocol version of a connection (peer_hello.c). */

/* The version in which to write to 'c''s peer. */
int peer_wire_version(const struct conn *c);

/* Forgets what the previous session of 'c' agreed. */
void peer_proto_reset(struct conn *c);

/* 'c''s peer speaks 'their_min'..'their_max' and offers 'caps' (NULL for
 * version 1's methods): agrees on a version with it, or refuses it. */
void peer_agree(struct conn *c, int their_min, int their_max,
                const struct sset *caps);

/* On a session we opened: says hello first, once per session. */
void peer_say_hello(struct nm_peers *, struct conn *c);

/* 'msg' answers our hello on 'c'. */
void peer_hello_answered(struct conn *c, const struct jsonrpc_msg *msg);

/* Serves hello request 'msg' with 'params' on 'c'; returns the answer. */
struct jsonrpc_msg *peer_serve_hello(struct conn *c,
                                     const struct jsonrpc_msg *msg,
                                     const struct json *params);

/* Limits (peer_limits.c). */

/* An inbound connection, as peer_admit() sees it. */
struct peer_slot {
    const char *addr;                   /* Remote address. */
    const char *name;                   /* Authenticated peer, or NULL. */
    long long int since;
};

/* A new connection from 'addr' arrives while 'slots[0..n)' are open.
 * Returns 0 with '*victim' the index of the one to close first ('n' for
 * none), or -EBUSY if the newcomer must be refused (every one in the way
 * is authenticated). */
int peer_admit(const struct peer_slot *slots, size_t n, const char *addr,
               size_t *victim);

/* True if more than NM_PEER_MAX_PER_PEER of 'slots[0..n)' are 'name''s,
 * with '*victim' the oldest of them. */
bool peer_over_peer_cap(const struct peer_slot *slots, size_t n,
                        const char *name, size_t *victim);

/* The remote address in stream name 'name' ("ssl:198.18.0.1:40000" ->
 * "198.18.0.1"); malloc'd. */
char *peer_remote_addr(const char *name);

void peer_budget_init(struct peer_budget *);

enum peer_verdict {
    PEER_SERVE,                         /* Within the budget. */
    PEER_BUSY,                          /* Answer "busy". */
    PEER_FLOOD,                         /* Disconnect. */
};

/* Takes a request from 'b', whose session holds 'n_open' unanswered. */
enum peer_verdict peer_budget_take(struct peer_budget *b, size_t n_open);

/* Whether 'b' has room for a request, without taking it; and taking one
 * after the fact (an unmetered request that was refused). */
bool peer_budget_has_room(struct peer_budget *b);
void peer_budget_charge(struct peer_budget *b);

/* True if a request of 'method' is not charged to the rate (a session
 * holding 'n_open' unanswered still answers it "busy" at NM_PEER_MAX_OPEN):
 * "drain", the frames relayed during a VM's pause, bounded per migration by
 * the drain's own frame and byte bounds (docs/PROTOCOL.md "Limits"). */
bool peer_method_unmetered(const char *method, size_t n_open);

#endif /* netmove/daemon/peer-private.h */
