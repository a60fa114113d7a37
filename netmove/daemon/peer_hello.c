/* netmoved's peers: the protocol version each connection agrees on, by
 * the hello (proto.h, docs/PROTOCOL.md). */
#include "netmove/daemon/peer-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"
#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/daemon/proto.h"

VLOG_DEFINE_THIS_MODULE(peer_hello);

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* A version-1 peer's capabilities: the methods version 1 serves. */
static void
add_v1_methods(struct sset *caps)
{
    static const char *v1[] = { NM_PROTO_V1_METHODS };

    for (size_t i = 0; i < ARRAY_SIZE(v1); i++) {
        sset_add(caps, v1[i]);
    }
}

/* The version in which to write to 'c''s peer: errors are strings to a
 * version-1 peer. */
int
peer_wire_version(const struct conn *c)
{
    return MAX(1, MIN(c->their_max, c->peers->max_version));
}

/* Forgets what the previous session of 'c' agreed. */
void
peer_proto_reset(struct conn *c)
{
    free(c->refusal);
    c->refusal = NULL;
    json_destroy(c->hello_id);
    c->hello_id = NULL;
    sset_clear(&c->caps);
    c->version = c->their_max = 0;
    if (c->peers->max_version < 2) {
        /* Version 1 sends no hello and takes every peer for version 1. */
        c->version = c->their_max = 1;
        add_v1_methods(&c->caps);
    }
}

/* 'c''s peer speaks 'their_min'..'their_max' and offers 'caps' (NULL for
 * version 1's methods): agrees on a version with it, or refuses it. */
void
peer_agree(struct conn *c, int their_min, int their_max,
           const struct sset *caps)
{
    const struct nm_peers *peers = c->peers;
    const char *remote = jsonrpc_session_get_name(c->session);

    peer_proto_reset(c);
    c->their_max = their_max;
    c->version = nm_proto_negotiate(peers->min_version, peers->max_version,
                                    their_min, their_max);
    if (c->version < 0) {
        c->refusal = nm_proto_refusal(c->name, their_min, their_max,
                                      peers->min_version, peers->max_version);
        VLOG_WARN("%s: refusing peer: %s", remote, c->refusal);
        return;
    }
    if (caps && their_max >= 2) {
        const char *cap;
        SSET_FOR_EACH (cap, caps) {
            sset_add(&c->caps, cap);
        }
    } else {
        add_v1_methods(&c->caps);
    }
    char *list = sset_join(&c->caps, ",", "");
    VLOG_INFO("%s: peer %s speaks netmove protocol %d (%s): %s", remote,
              c->name, c->version, c->inbound ? "inbound" : "outbound", list);
    free(list);
}

static void
conn_refuse(struct conn *c, char *why)
{
    VLOG_WARN("%s: refusing peer: %s", jsonrpc_session_get_name(c->session),
              why);
    free(c->refusal);
    c->refusal = why;
    c->version = -EPROTONOSUPPORT;
}

/* This host's hello. */
static struct json *
hello_create(const struct nm_peers *peers)
{
    struct sset caps = SSET_INITIALIZER(&caps);
    struct shash_node *node;

    SHASH_FOR_EACH (node, &peers->methods) {
        sset_add(&caps, node->name);
    }
    struct json *h = nm_proto_hello_to_json(peers->min_version,
                                            peers->max_version,
                                            peers->cfg->host, &caps);
    sset_destroy(&caps);
    return h;
}

/* On a session we opened: says hello first, once per session. */
void
peer_say_hello(struct nm_peers *peers, struct conn *c)
{
    if (c->inbound || c->version || c->hello_id) {
        return;
    }
    struct jsonrpc_msg *msg;
    msg = jsonrpc_create_request("hello",
                                 json_array_create_1(hello_create(peers)),
                                 &c->hello_id);
    jsonrpc_session_send(c->session, msg);
}

/* The answer to our hello on 'c'. */
void
peer_hello_answered(struct conn *c, const struct jsonrpc_msg *msg)
{
    json_destroy(c->hello_id);
    c->hello_id = NULL;

    if (msg->type == JSONRPC_REPLY && msg->result) {
        struct nm_proto_hello h;
        char err[NM_ERRLEN];
        if (nm_proto_hello_from_json(msg->result, &h, err, sizeof err)) {
            conn_refuse(c, xasprintf("peer %s: %s", c->name, err));
            c->their_max = 2;
        } else {
            peer_agree(c, h.min_version, h.version, &h.capabilities);
        }
        nm_proto_hello_destroy(&h);
    } else if (msg->error && msg->error->type == JSON_STRING) {
        /* Version 1: "unknown method 'hello'". */
        peer_agree(c, 1, 1, NULL);
    } else {
        char *why;
        nm_proto_error_from_json(msg->error, &why);
        conn_refuse(c, xasprintf("peer %s refused our hello: %s", c->name,
                                 why));
        c->their_max = 2;
        free(why);
    }
}

/* Serves a peer's hello on 'c', a session it opened: answers with ours,
 * also when refusing it (the peer then refuses us by the same rule and can
 * say why in both versions' terms). */
struct jsonrpc_msg *
peer_serve_hello(struct conn *c, const struct jsonrpc_msg *msg,
                 const struct json *params)
{
    struct nm_proto_hello h;
    char err[NM_ERRLEN];
    struct jsonrpc_msg *reply;

    if (nm_proto_hello_from_json(params, &h, err, sizeof err)) {
        conn_refuse(c, xasprintf("peer %s: %s", c->name, err));
        c->their_max = 2;
        reply = jsonrpc_create_error(
            nm_proto_error_to_json(2, -EINVAL, c->peers->cfg->host, err),
            msg->id);
    } else {
        if (strcmp(h.host, c->name)) {
            VLOG_WARN_RL(&rl, "%s: hello names host '%s'",
                         c->name, h.host);
        }
        peer_agree(c, h.min_version, h.version, &h.capabilities);
        reply = jsonrpc_create_reply(hello_create(c->peers), msg->id);
    }
    nm_proto_hello_destroy(&h);
    return reply;
}

