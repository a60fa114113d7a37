/* netmoved's peers, inside: what peer.c and peer_hello.c share. */
#ifndef NETMOVE_DAEMON_PEER_INT_H
#define NETMOVE_DAEMON_PEER_INT_H 1

#include "netmove/daemon/peer.h"

#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/shash.h"
#include "sset.h"

struct jsonrpc_msg;

/* One JSON-RPC session with a peer, either direction. */
struct conn {
    struct ovs_list node;               /* In nm_peers's 'outbound'/'inbound'. */
    struct nm_peers *peers;
    struct jsonrpc_session *session;
    char *peer;                         /* Outbound: whom we meant to reach. */
    char *name;                         /* Authenticated peer name, or NULL. */
    unsigned int seqno;                 /* Session seqno 'name' applies to. */
    bool inbound;
    struct ovs_list reqs;               /* Asynchronous requests it holds. */

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

#endif /* netmove/daemon/peer-private.h */
