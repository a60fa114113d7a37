/* netmoved's peers: JSON-RPC over mutually authenticated TLS. */
#include "netmove/daemon/peer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"
#include "openvswitch/hmap.h"
#include "openvswitch/json.h"
#include "openvswitch/list.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "socket-util.h"
#include "stream-ssl.h"
#include "sset.h"
#include "stream.h"
#include "timeval.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/daemon/peer-private.h"
#include "netmove/daemon/proto.h"

VLOG_DEFINE_THIS_MODULE(peer);

struct nm_peer_req {
    struct ovs_list node;               /* In its conn's 'reqs'. */
    struct conn *c;                     /* NULL once the conn is gone. */
    unsigned int seqno;                 /* The session it came on. */
    struct json *id;
    char *method;
};

struct pending {
    struct hmap_node node;              /* In nm_peers's 'pending', by id. */
    struct ovs_list unsent_node;        /* In 'unsent' until sent. */
    struct json *id;
    char *peer;
    struct jsonrpc_msg *msg;            /* Until sent. */
    unsigned int seqno;                 /* Session seqno it was sent on. */
    long long int deadline;
    nm_peer_reply_cb *cb;
    void *aux;
    int fail;                           /* Failed before it was sent: */
    char *fail_msg;                     /* why. */
};

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);
static struct vlog_rate_limit busy_rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* The key, certificate and CA, (re)read by OpenSSL when a file changed:
 * called from every nm_peers_run(), as ovn-controller does, so that a
 * renewed certificate needs no restart. */
static void
tls_config(const struct nm_peers *peers)
{
    const struct nm_config *cfg = peers->cfg;

    if (cfg->tls_key) {
        stream_ssl_set_key_and_cert(cfg->tls_key, cfg->tls_cert);
        stream_ssl_set_ca_cert_file(cfg->tls_ca, false);
    }
}

static struct conn *
conn_create(struct nm_peers *peers)
{
    struct conn *c = xzalloc(sizeof *c);

    c->peers = peers;
    ovs_list_init(&c->reqs);
    sset_init(&c->caps);
    peer_budget_init(&c->budget);
    return c;
}

/* 'c''s session number: it changes whenever the connection does (an
 * outbound connection's session is replaced on each, outbound_run()). */
static unsigned int
conn_seqno(const struct conn *c)
{
    return c->gen * 4 + jsonrpc_session_get_seqno(c->session);
}

/* Probes and the send backlog's bound, for every session. */
static void
session_setup(struct jsonrpc_session *s)
{
    jsonrpc_session_set_probe_interval(s, 5000);
    jsonrpc_session_set_backlog_threshold(s, NM_PEER_BACKLOG_MSGS,
                                          NM_PEER_BACKLOG_BYTES);
}

/* Outbound 'c' starts connecting to its peer (again). */
static void
outbound_connect(struct conn *c)
{
    jsonrpc_session_close(c->session);
    c->session = jsonrpc_session_open(c->remote, true);
    /* Reconnect fast: a migration waits on this. */
    jsonrpc_session_set_max_backoff(c->session, 1000);
    session_setup(c->session);
    c->connecting = true;
    c->rpc = NULL;
    c->gen++;
}

int
nm_peers_create(const struct nm_config *cfg, struct nm_peers **peersp,
                char *err, size_t errlen)
{
    struct nm_peers *peers = xzalloc(sizeof *peers);
    int error;

    *peersp = NULL;
    peers->cfg = cfg;
    peers->min_version = NM_PROTO_MIN_VERSION;
    peers->max_version = NM_PROTO_VERSION;
    ovs_list_init(&peers->outbound);
    ovs_list_init(&peers->inbound);
    ovs_list_init(&peers->unsent);
    hmap_init(&peers->pending);
    shash_init(&peers->methods);

    tls_config(peers);
    if (cfg->listen) {
        error = jsonrpc_pstream_open(cfg->listen, &peers->listener,
                                     DSCP_DEFAULT);
        if (error) {
            snprintf(err, errlen, "listen: %s: %s", cfg->listen,
                     ovs_strerror(error));
            nm_peers_destroy(peers);
            return -error;
        }
    }
    for (size_t i = 0; i < cfg->n_peers; i++) {
        struct conn *c = conn_create(peers);
        c->peer = xstrdup(cfg->peers[i].name);
        c->remote = cfg->peers[i].remote;
        outbound_connect(c);
        ovs_list_push_back(&peers->outbound, &c->node);
    }
    *peersp = peers;
    return 0;
}

static void
conn_destroy(struct conn *c)
{
    struct nm_peer_req *req;

    LIST_FOR_EACH_POP (req, node, &c->reqs) {
        req->c = NULL;          /* Its method answers into the void. */
    }
    ovs_list_remove(&c->node);
    jsonrpc_session_close(c->session);
    free(c->addr);
    free(c->peer);
    free(c->name);
    free(c->refusal);
    json_destroy(c->hello_id);
    sset_destroy(&c->caps);
    free(c);
}

static void
pending_destroy(struct nm_peers *peers, struct pending *p)
{
    hmap_remove(&peers->pending, &p->node);
    if (p->msg) {
        ovs_list_remove(&p->unsent_node);
        jsonrpc_msg_destroy(p->msg);
    }
    json_destroy(p->id);
    free(p->peer);
    free(p->fail_msg);
    free(p);
}

void
nm_peers_destroy(struct nm_peers *peers)
{
    if (!peers) {
        return;
    }
    struct pending *p;
    HMAP_FOR_EACH_SAFE (p, node, &peers->pending) {
        pending_destroy(peers, p);
    }
    hmap_destroy(&peers->pending);
    struct conn *c;
    LIST_FOR_EACH_SAFE (c, node, &peers->outbound) {
        conn_destroy(c);
    }
    LIST_FOR_EACH_SAFE (c, node, &peers->inbound) {
        conn_destroy(c);
    }
    pstream_close(peers->listener);
    shash_destroy_free_data(&peers->methods);
    free(peers);
}

void
nm_peers_register(struct nm_peers *peers, const char *method,
                  nm_peer_method_fn *fn, void *aux)
{
    struct method *m = xmalloc(sizeof *m);

    *m = (struct method) { .fn = fn, .aux = aux };
    free(shash_replace(&peers->methods, method, m));
}

void
nm_peers_register_async(struct nm_peers *peers, const char *method,
                        nm_peer_async_fn *fn, void *aux)
{
    struct method *m = xmalloc(sizeof *m);

    *m = (struct method) { .async_fn = fn, .aux = aux };
    free(shash_replace(&peers->methods, method, m));
}

/* ---- answering a peer's requests ---- */

/* The error 'error' with 'msg' for 'c''s peer, in its version's terms. */
static struct jsonrpc_msg *
conn_error(const struct conn *c, const struct json *id, int error,
           const char *msg)
{
    return jsonrpc_create_error(
        nm_proto_error_to_json(peer_wire_version(c), error,
                               c->peers->cfg->host, msg), id);
}

static void
req_answer(struct nm_peer_req *req, struct json *result, int error,
           const char *msg)
{
    struct conn *c = req->c;

    if (c && c->session
        && conn_seqno(c) == req->seqno) {
        if (error) {
            VLOG_INFO_RL(&rl, "%s: %s: %s", c->name, req->method, msg);
        }
        jsonrpc_session_send(c->session, error
                             ? conn_error(c, req->id, error, msg)
                             : jsonrpc_create_reply(result, req->id));
        result = NULL;
    }
    if (c) {
        ovs_list_remove(&req->node);
        c->n_reqs--;
    }
    json_destroy(result);
    json_destroy(req->id);
    free(req->method);
    free(req);
}

void
nm_peers_reply(struct nm_peer_req *req, struct json *result)
{
    req_answer(req, result, 0, NULL);
}

void
nm_peers_reply_error(struct nm_peer_req *req, int error,
                     const char *format, ...)
{
    va_list args;

    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    req_answer(req, NULL, error ? error : -EIO, msg);
    free(msg);
}

static struct conn *
find_outbound(const struct nm_peers *peers, const char *peer)
{
    struct conn *c;

    LIST_FOR_EACH (c, node, &peers->outbound) {
        if (!strcmp(c->peer, peer)) {
            return c;
        }
    }
    return NULL;
}

/* One rate limit per reason a connection is closed for: a flood of one
 * kind does not hide the others from the log. */
enum drop_reason {
    DROP_CAP,                           /* Over a cap on connections. */
    DROP_HANDSHAKE,                     /* Past the handshake deadline. */
    DROP_SIZE,                          /* A message too large. */
    DROP_FLOOD,                         /* Requests past the budget. */
    DROP_BACKLOG,                       /* The peer does not read. */
    N_DROP_REASONS
};

/* Closes 'c' for 'reason', logged with a message from 'format': an inbound
 * connection is freed by conn_run(), an outbound one reconnects. */
static void OVS_PRINTF_FORMAT(3, 4)
conn_drop(struct conn *c, enum drop_reason reason, const char *format, ...)
{
    static struct vlog_rate_limit drop_rl[N_DROP_REASONS] = {
        [0 ... N_DROP_REASONS - 1] = VLOG_RATE_LIMIT_INIT(5, 20),
    };
    va_list args;

    va_start(args, format);
    char *why = xvasprintf(format, args);
    va_end(args);
    if (!c->inbound) {
        VLOG_WARN_RL(&drop_rl[reason], "%s: reconnecting to peer %s: %s",
                     jsonrpc_session_get_name(c->session), c->peer, why);
        jsonrpc_session_force_reconnect(c->session);
        free(why);
        return;
    }
    VLOG_WARN_RL(&drop_rl[reason], "%s: closing connection%s%s: %s",
                 jsonrpc_session_get_name(c->session),
                 c->name ? " from peer " : "", c->name ? c->name : "", why);
    free(why);
    jsonrpc_session_close(c->session);
    c->session = NULL;
    c->rpc = NULL;
    poll_immediate_wake();      /* For conn_run() to free it. */
}

/* The inbound connections still open, as peer_admit() sees them, with
 * 'conns' parallel to the result; both malloc'd. */
static struct peer_slot *
inbound_slots(const struct nm_peers *peers, struct conn ***connsp,
              size_t *np)
{
    size_t n = ovs_list_size(&peers->inbound);
    struct peer_slot *slots = xmalloc((n + 1) * sizeof *slots);
    struct conn **conns = xmalloc((n + 1) * sizeof *conns);
    struct conn *c;

    n = 0;
    LIST_FOR_EACH (c, node, &peers->inbound) {
        if (c->session) {
            slots[n] = (struct peer_slot) { .addr = c->addr, .name = c->name,
                                            .since = c->since };
            conns[n++] = c;
        }
    }
    *connsp = conns;
    *np = n;
    return slots;
}

/* 'c' has just authenticated as a peer: the oldest of that peer's inbound
 * connections gives way if it has too many. */
static void
cap_per_peer(struct nm_peers *peers, const struct conn *c)
{
    struct conn **conns;
    size_t n, victim;
    struct peer_slot *slots = inbound_slots(peers, &conns, &n);

    if (peer_over_peer_cap(slots, n, c->name, &victim)) {
        conn_drop(conns[victim], DROP_CAP,
                  "more than %d connections from peer %s",
                  NM_PEER_MAX_PER_PEER, c->name);
    }
    free(slots);
    free(conns);
}

/* True if 'c' is connected to an authenticated peer.  Checks (once per
 * connection) that the certificate's CN names a configured peer and, for a
 * connection we opened, the one we meant; refuses the connection if not. */
static bool
conn_authenticated(struct nm_peers *peers, struct conn *c)
{
    if (!c->session || !jsonrpc_session_is_connected(c->session)) {
        return false;
    }

    unsigned int seqno = conn_seqno(c);
    if (c->name && c->seqno == seqno) {
        return true;
    }
    free(c->name);
    c->name = NULL;
    c->seqno = seqno;
    peer_proto_reset(c);

    const char *cn = jsonrpc_session_get_id(c->session);
    const char *remote = jsonrpc_session_get_name(c->session);
    if (!cn) {
        /* An accepted session counts as connected before its TLS handshake
         * ends; the name is known once it has (OpenSSL demands a verified
         * certificate), and nothing is read before then. */
        return false;
    }
    if (!nm_config_find_peer(peers->cfg, cn)
        || (!c->inbound && strcmp(cn, c->peer))) {
        VLOG_WARN_RL(&rl, "%s: refusing peer: certificate name '%s' is %s",
                     remote, cn, !nm_config_find_peer(peers->cfg, cn)
                     ? "not a configured peer" : "not the peer expected");
        if (c->inbound) {
            jsonrpc_session_close(c->session);
            c->session = NULL;
        } else {
            jsonrpc_session_force_reconnect(c->session);
        }
        return false;
    }
    c->name = xstrdup(cn);
    VLOG_INFO("%s: peer %s authenticated (%s)", remote, cn,
              c->inbound ? "inbound" : "outbound");
    if (c->inbound) {
        cap_per_peer(peers, c);     /* May close 'c' itself, the oldest. */
    }
    return c->session != NULL;
}

int
nm_peers_request(struct nm_peers *peers, const char *peer, const char *method,
                 struct json *params, long long int timeout_ms,
                 nm_peer_reply_cb *cb, void *aux)
{
    if (!find_outbound(peers, peer)) {
        json_destroy(params);
        return -ENOENT;
    }

    struct pending *p = xzalloc(sizeof *p);
    struct json *id;

    if (params->type != JSON_ARRAY) {
        /* JSON-RPC 1.0 params are an array: wrap an object. */
        params = json_array_create_1(params);
    }
    p->msg = jsonrpc_create_request(method, params, &id);
    p->id = id;
    p->peer = xstrdup(peer);
    p->deadline = time_msec() + timeout_ms;
    p->cb = cb;
    p->aux = aux;
    hmap_insert(&peers->pending, &p->node, json_hash(id, 0));
    ovs_list_push_back(&peers->unsent, &p->unsent_node);
    return 0;
}

void
nm_peers_cancel(struct nm_peers *peers, void *aux)
{
    struct pending *p;

    HMAP_FOR_EACH_SAFE (p, node, &peers->pending) {
        if (p->aux == aux) {
            pending_destroy(peers, p);
        }
    }
}

/* The outbound session to 'peer' if it is up and authenticated. */
static const struct conn *
find_current(const struct nm_peers *peers, const char *peer)
{
    const struct conn *c = find_outbound(peers, peer);

    return c && c->name && jsonrpc_session_is_connected(c->session)
           && c->seqno == conn_seqno(c) ? c : NULL;
}

bool
nm_peers_is_connected(const struct nm_peers *peers, const char *peer)
{
    const struct conn *c = find_current(peers, peer);

    return c && c->version > 0;
}

int
nm_peers_version(const struct nm_peers *peers, const char *peer)
{
    const struct conn *c = find_current(peers, peer);

    return c ? c->version : 0;
}

bool
nm_peers_has_capability(const struct nm_peers *peers, const char *peer,
                        const char *capability)
{
    const struct conn *c = find_current(peers, peer);

    return c && c->version > 0 && sset_contains(&c->caps, capability);
}

struct json *
nm_peers_protocol_json(const struct nm_peers *peers, const char *peer)
{
    const struct conn *c = find_current(peers, peer);
    struct json *j = json_object_create();

    if (c && c->version < 0) {
        json_object_put_string(j, "refused", c->refusal);
    } else if (c && c->version > 0) {
        struct json *caps = json_array_create_empty();
        const char **names = sset_sort(&c->caps);
        for (size_t i = 0; i < sset_count(&c->caps); i++) {
            json_array_add(caps, json_string_create(names[i]));
        }
        free(names);
        json_object_put(j, "version", json_integer_create(c->version));
        json_object_put(j, "capabilities", caps);
    }
    return j;
}

void
nm_peers_pin_version(struct nm_peers *peers, int version)
{
    peers->min_version = peers->max_version = version;
}

size_t
nm_peers_count(const struct nm_peers *peers)
{
    return peers->cfg->n_peers;
}

const char *
nm_peers_name(const struct nm_peers *peers, size_t i)
{
    return peers->cfg->peers[i].name;
}

/* Calls back and forgets 'p'. */
static void
pending_complete(struct nm_peers *peers, struct pending *p,
                 const struct json *result, const char *error, int errnum)
{
    nm_peer_reply_cb *cb = p->cb;
    void *aux = p->aux;
    char *msg = error ? xstrdup(error) : NULL;

    pending_destroy(peers, p);
    cb(aux, result, msg, msg ? (errnum ? errnum : -EIO) : 0);
    free(msg);
}

static struct pending *
find_pending(const struct nm_peers *peers, const struct json *id)
{
    struct pending *p;

    HMAP_FOR_EACH_WITH_HASH (p, node, json_hash(id, 0), &peers->pending) {
        if (json_equal(p->id, id)) {
            return p;
        }
    }
    return NULL;
}

static void
handle_request(struct nm_peers *peers, struct conn *c,
               const struct jsonrpc_msg *msg)
{
    const struct method *m = shash_find_data(&peers->methods, msg->method);
    const struct json *params = msg->params;
    struct jsonrpc_msg *reply;

    /* Our requests carry one argument: an array of one object. */
    if (params && params->type == JSON_ARRAY && json_array(params)->n == 1) {
        params = json_array(params)->elems[0];
    }
    if (peers->max_version >= 2 && !strcmp(msg->method, "hello")) {
        if (msg->type == JSONRPC_REQUEST) {
            jsonrpc_session_send(c->session, peer_serve_hello(c, msg, params));
        }
        return;
    }
    if (!c->version && c->inbound) {
        /* A peer speaking version 2 or later says hello first on a session
         * it opens: this one speaks version 1. */
        peer_agree(c, 1, 1, NULL);
    }
    if (msg->type == JSONRPC_NOTIFY) {
        /* Peers send no notifications: nothing to answer. */
        return;
    }
    if (c->version < 0) {
        reply = conn_error(c, msg->id, -EPROTONOSUPPORT, c->refusal);
    } else if (m && m->async_fn) {
        struct nm_peer_req *req = xzalloc(sizeof *req);
        req->c = c;
        req->seqno = conn_seqno(c);
        req->id = json_clone(msg->id);
        req->method = xstrdup(msg->method);
        ovs_list_push_back(&c->reqs, &req->node);
        c->n_reqs++;
        m->async_fn(m->aux, c->name, params, req);
        return;
    } else if (!m || !m->fn) {
        char *error = xasprintf("unknown method '%s'", msg->method);
        VLOG_INFO_RL(&rl, "%s: %s", c->name, error);
        reply = conn_error(c, msg->id, -EOPNOTSUPP, error);
        free(error);
    } else {
        struct json *result = NULL;
        char *error = NULL;
        int err = m->fn(m->aux, c->name, params, &result, &error);
        if (err && peer_method_unmetered(msg->method, 0)) {
            peer_budget_charge(&c->budget);
        }
        if (err) {
            VLOG_INFO_RL(&rl, "%s: %s: %s", c->name, msg->method,
                         error ? error : ovs_strerror(-err));
            reply = conn_error(c, msg->id, err,
                               error ? error : ovs_strerror(-err));
            json_destroy(result);
        } else {
            reply = jsonrpc_create_reply(result, msg->id);
        }
        free(error);
    }
    jsonrpc_session_send(c->session, reply);
}

/* Charges request 'msg' to 'c''s budget; false if it is not to be served
 * (answered "busy" or, for a flood, the connection closed).  Replies are
 * not charged: a burst of answers to our own requests must pass, and one
 * that answers nothing pending costs a lookup. */
static bool
within_budget(struct conn *c, const struct jsonrpc_msg *msg)
{
    if (msg->type != JSONRPC_REQUEST && msg->type != JSONRPC_NOTIFY) {
        return true;
    }
    /* A drain this host takes is not charged; one it refuses is (below),
     * so that a flood of refused ones empties the budget and is then
     * answered "busy" like any request. */
    if (msg->type == JSONRPC_REQUEST
        && peer_method_unmetered(msg->method, c->n_reqs)
        && peer_budget_has_room(&c->budget)) {
        return true;
    }
    switch (peer_budget_take(&c->budget, c->n_reqs)) {
    case PEER_SERVE:
        return true;
    case PEER_BUSY:
        if (msg->type == JSONRPC_REQUEST) {

            char *why = xasprintf("busy: peer %s is over its limits (%d "
                                  "requests a second, bursts of %d, %d "
                                  "unanswered at a time); try again later",
                                  c->name, NM_PEER_REQ_RATE,
                                  NM_PEER_REQ_BURST, NM_PEER_MAX_OPEN);
            VLOG_WARN_RL(&busy_rl, "%s: %s",
                         jsonrpc_session_get_name(c->session), why);
            jsonrpc_session_send(c->session,
                                 conn_error(c, msg->id, -EBUSY, why));
            free(why);
        }
        return false;
    case PEER_FLOOD:
    default:
        conn_drop(c, DROP_FLOOD, "flood: requests go on at more than twice "
                  "the limit of %d a second", NM_PEER_REQ_RATE);
        return false;
    }
}

static void
handle_msg(struct nm_peers *peers, struct conn *c, struct jsonrpc_msg *msg)
{
    if (!within_budget(c, msg)) {
        /* Not served. */
    } else if (msg->type == JSONRPC_REQUEST
               || msg->type == JSONRPC_NOTIFY) {
        handle_request(peers, c, msg);
    } else if ((msg->type == JSONRPC_REPLY || msg->type == JSONRPC_ERROR)
               && c->hello_id && json_equal(msg->id, c->hello_id)) {
        peer_hello_answered(c, msg);
    } else if (msg->type == JSONRPC_REPLY || msg->type == JSONRPC_ERROR) {
        /* A reply counts only on the session its request went out on
         * (docs/DESIGN.md "Trust model"): ids are guessable. */
        struct pending *p = find_pending(peers, msg->id);
        if (p && !p->msg && !p->fail && !c->inbound
            && !strcmp(p->peer, c->peer) && p->seqno == c->seqno) {
            if (msg->type == JSONRPC_REPLY && !msg->error) {
                pending_complete(peers, p, msg->result, NULL, 0);
            } else {
                char *s;
                int error = nm_proto_error_from_json(msg->error, &s);
                pending_complete(peers, p, NULL, s, error);
                free(s);
            }
        }
    }
    jsonrpc_msg_destroy(msg);
}

/* After a jsonrpc_session_recv() on 'c' that returned a message if
 * 'got_msg': false if the message being received is over NM_PEER_MAX_MSG,
 * and then 'c' is closed.  OVS's jsonrpc buffers a value until it is
 * complete, without bound: what it received since it last returned a
 * message is the one under way (and what was left of the previous read,
 * at most one 4 kB buffer). */
static bool
conn_check_size(struct conn *c, bool got_msg)
{
    if (!c->rpc || !jsonrpc_session_is_connected(c->session)) {
        return true;
    }

    unsigned int rx = jsonrpc_get_received_bytes(c->rpc);
    if (got_msg) {
        c->rx_mark = rx;
    } else if (rx - c->rx_mark > NM_PEER_MAX_MSG) {
        conn_drop(c, DROP_SIZE, "message over %u bytes", NM_PEER_MAX_MSG);
        return false;
    }
    return true;
}

/* What this host buffers for 'c''s peer: a session that does not read is
 * closed before the backlog grows past NM_PEER_BACKLOG_BYTES (OVS's own
 * threshold counts bytes only from 50 queued messages on). */
static void
conn_check_backlog(struct conn *c)
{
    size_t backlog = jsonrpc_session_get_backlog(c->session);

    if (backlog > NM_PEER_BACKLOG_BYTES) {
        conn_drop(c, DROP_BACKLOG, "%"PRIuSIZE" bytes unread by the peer",
                  backlog);
    }
}

/* Runs outbound connection 'c'.  OVS's reconnecting session makes a new
 * jsonrpc for each connection and keeps it to itself, so, for
 * conn_check_size() to count what the peer sends, each connection, once
 * made, is taken out of it and run as a session of its own; when that one
 * ends, a new reconnecting session starts, at most one a second after the
 * connection was made. */
static void
outbound_run(struct conn *c)
{
    jsonrpc_session_run(c->session);
    if (c->connecting) {
        if (jsonrpc_session_is_connected(c->session)) {
            c->rpc = jsonrpc_session_steal(c->session);
            c->session = jsonrpc_session_open_unreliably(c->rpc,
                                                         DSCP_DEFAULT);
            session_setup(c->session);
            c->rx_mark = jsonrpc_get_received_bytes(c->rpc);
            c->since = time_msec();
            c->connecting = false;
            c->gen++;
        }
    } else if (!jsonrpc_session_is_connected(c->session)) {
        if (c->rpc) {
            VLOG_INFO_RL(&rl, "%s: connection to peer %s closed",
                         jsonrpc_session_get_name(c->session), c->peer);
            c->rpc = NULL;          /* Freed by the session. */
        }
        if (time_msec() >= c->since + NM_PEER_RETRY_MS) {
            outbound_connect(c);
        }
    }
}

/* Runs 'c'; returns false if an inbound connection died and was freed. */
static bool
conn_run(struct nm_peers *peers, struct conn *c)
{
    if (!c->session) {
        conn_destroy(c);
        return false;
    }
    if (!c->inbound) {
        outbound_run(c);
    } else {
        jsonrpc_session_run(c->session);
    }
    if (c->inbound && !jsonrpc_session_is_alive(c->session)) {
        conn_destroy(c);
        return false;
    }
    /* conn_authenticated() may refuse and close an inbound session, and so
     * may the limits: then it is not called again. */
    if (conn_authenticated(peers, c)) {
        peer_say_hello(peers, c);
        for (int i = 0; i < 50 && conn_authenticated(peers, c); i++) {
            struct jsonrpc_msg *msg = jsonrpc_session_recv(c->session);
            if (!conn_check_size(c, msg != NULL) || !msg) {
                jsonrpc_msg_destroy(msg);
                break;
            }
            handle_msg(peers, c, msg);
        }
    } else if (c->session && c->inbound && !c->name
               && time_msec() >= c->since + NM_PEER_HANDSHAKE_MS) {
        conn_drop(c, DROP_HANDSHAKE, "no TLS handshake and authenticated "
                  "peer within %d ms", NM_PEER_HANDSHAKE_MS);
    }
    if (c->session) {
        conn_check_backlog(c);
    }
    if (!c->session) {          /* Refused or over a limit. */
        conn_destroy(c);
        return false;
    }
    return true;
}

/* Sends the requests whose peer is up and agreed on a version; fails those
 * whose peer is refused or does not offer their method. */
static void
send_ready(struct nm_peers *peers)
{
    struct pending *p;

    LIST_FOR_EACH_SAFE (p, unsent_node, &peers->unsent) {
        struct conn *c = find_outbound(peers, p->peer);
        if (!conn_authenticated(peers, c) || !c->version) {
            continue;
        }
        ovs_list_remove(&p->unsent_node);
        if (c->version < 0) {
            p->fail = -EPROTONOSUPPORT;
            p->fail_msg = xstrdup(c->refusal);
        } else if (!sset_contains(&c->caps, p->msg->method)) {
            p->fail = -EOPNOTSUPP;
            p->fail_msg = xasprintf("peer %s does not offer '%s' (netmove "
                                    "protocol %d)", c->name, p->msg->method,
                                    c->version);
        } else {
            jsonrpc_session_send(c->session, p->msg);
            p->seqno = c->seqno;
        }
        if (p->fail) {
            jsonrpc_msg_destroy(p->msg);
        }
        p->msg = NULL;
    }
}

/* A request that is over without an answer (failed, its connection lost,
 * or past its deadline), with why in '*errnum' and '*why'; or NULL. */
static struct pending *
next_unanswered(const struct nm_peers *peers, long long int now,
                int *errnum, const char **why)
{
    struct pending *p;

    HMAP_FOR_EACH (p, node, &peers->pending) {
        const struct conn *c = find_outbound(peers, p->peer);
        if (p->fail) {
            *errnum = p->fail;
            *why = p->fail_msg;
        } else if (!p->msg
                   && p->seqno != conn_seqno(c)) {
            *errnum = -ECONNRESET;
            *why = "connection to peer lost";
        } else if (now >= p->deadline) {
            *errnum = -ETIMEDOUT;
            *why = !p->msg ? "no answer from peer (timeout)"
                   : c->hello_id ? "no answer to hello from peer (timeout)"
                   : "peer not reachable (timeout)";
        } else {
            continue;
        }
        return p;
    }
    return NULL;
}

static void
send_and_expire(struct nm_peers *peers)
{
    long long int now = time_msec();
    struct pending *p;
    const char *why;
    int errnum;

    send_ready(peers);
    /* One at a time: a callback may make or cancel requests. */
    while ((p = next_unanswered(peers, now, &errnum, &why))) {
        pending_complete(peers, p, NULL, why, errnum);
    }
}

/* A new inbound connection 'stream': admitted within the caps, the oldest
 * connection in its way closed, or refused. */
static void
accept_inbound(struct nm_peers *peers, struct stream *stream)
{
    char *addr = peer_remote_addr(stream_get_name(stream));
    struct conn **conns;
    size_t n, victim;
    struct peer_slot *slots = inbound_slots(peers, &conns, &n);
    int error = peer_admit(slots, n, addr, &victim);

    if (!error && victim < n) {
        conn_drop(conns[victim], DROP_CAP, "over %d inbound connections "
                  "(%d from %s): the oldest handshake gives way",
                  NM_PEER_MAX_INBOUND, NM_PEER_MAX_PER_ADDR, addr);
    }
    free(slots);
    free(conns);
    if (error) {
        VLOG_WARN_RL(&rl, "%s: refusing connection: over %d inbound "
                     "connections (%d from %s), all authenticated",
                     stream_get_name(stream), NM_PEER_MAX_INBOUND,
                     NM_PEER_MAX_PER_ADDR, addr);
        stream_close(stream);
        free(addr);
        return;
    }

    struct conn *c = conn_create(peers);
    c->inbound = true;
    c->addr = addr;
    c->since = time_msec();
    c->rpc = jsonrpc_open(stream);
    c->rx_mark = jsonrpc_get_received_bytes(c->rpc);
    c->session = jsonrpc_session_open_unreliably(c->rpc, DSCP_DEFAULT);
    session_setup(c->session);
    ovs_list_push_back(&peers->inbound, &c->node);
}

void
nm_peers_run(struct nm_peers *peers)
{
    struct conn *c;

    tls_config(peers);
    for (int i = 0; peers->listener && i < 16; i++) {
        struct stream *stream;
        int error = pstream_accept(peers->listener, &stream);
        if (!error) {
            accept_inbound(peers, stream);
        } else {
            if (error != EAGAIN) {
                VLOG_WARN_RL(&rl, "%s: accept failed: %s",
                             pstream_get_name(peers->listener),
                             ovs_strerror(error));
            }
            break;
        }
    }
    LIST_FOR_EACH_SAFE (c, node, &peers->outbound) {
        conn_run(peers, c);
    }
    LIST_FOR_EACH_SAFE (c, node, &peers->inbound) {
        conn_run(peers, c);
    }
    send_and_expire(peers);
}

void
nm_peers_wait(struct nm_peers *peers)
{
    struct conn *c;

    if (peers->listener) {
        pstream_wait(peers->listener);
    }
    LIST_FOR_EACH (c, node, &peers->outbound) {
        jsonrpc_session_wait(c->session);
        jsonrpc_session_recv_wait(c->session);
        if (!c->connecting && !jsonrpc_session_is_connected(c->session)) {
            poll_timer_wait_until(c->since + NM_PEER_RETRY_MS);
        }
    }
    LIST_FOR_EACH (c, node, &peers->inbound) {
        if (!c->session) {
            poll_immediate_wake();      /* To free it. */
        } else {
            jsonrpc_session_wait(c->session);
            jsonrpc_session_recv_wait(c->session);
            if (!c->name) {
                poll_timer_wait_until(c->since + NM_PEER_HANDSHAKE_MS);
            }
        }
    }
    struct pending *p;
    /* A request made after this pass's nm_peers_run() (by a module run
     * after it: a retry from the migrations' loop) to a peer that is ready
     * goes out on the next pass, at once: nothing else may wake us for
     * tens of ms. */
    LIST_FOR_EACH (p, unsent_node, &peers->unsent) {
        struct conn *c = find_outbound(peers, p->peer);
        if (conn_authenticated(peers, c) && c->version) {
            poll_immediate_wake();
            break;
        }
    }
    /* Other unsent requests go out when a session comes up or its hello is
     * answered, which jsonrpc_session_wait() and recv_wait() wake us for;
     * only deadlines remain.  Failed ones are called back at once. */
    HMAP_FOR_EACH (p, node, &peers->pending) {
        if (p->fail) {
            poll_immediate_wake();
        }
        poll_timer_wait_until(p->deadline);
    }
}
