/* ovs: the drain's datapath.  One OpenFlow connection to a bridge, driven by
 * netmoved's poll loop (libopenvswitch's rconn), that catches the frames to
 * a MAC (dl_dst=M actions=controller), watches the frames from one
 * (dl_src=M actions=NORMAL,controller) and sends frames out of a port
 * (packet-out actions=output:P).  It remembers what it installed, so that a
 * new connection (ovs-vswitchd restarted) gets it again. */
#include "ovs/ovs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "dirs.h"
#include "flow.h"
#include "hash.h"
#include "jsonrpc.h"
#include "openflow/nicira-ext.h"
#include "openvswitch/hmap.h"
#include "openvswitch/json.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/rconn.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "socket-util.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"

#include "ovs/ofconn-private.h"
#include "ovs/relay-private.h"

VLOG_DEFINE_THIS_MODULE(nmovs_relay);

/* OpenFlow 1.3 and later: a packet-in names the flow's cookie, a flow_mod
 * deletes by cookie under a mask. */
#define RELAY_VERSIONS ((1u << OFP13_VERSION) | (1u << OFP14_VERSION) \
                        | (1u << OFP15_VERSION))

/* Messages read per nmovs_relay_run(): the loop never stalls on a flood. */
#define RELAY_MAX_RECV 256

/* Messages the connection may hold unsent before output says -EAGAIN. */
#define RELAY_BACKLOG 1024

/* ovs-appctl revalidator/wait rounds after a barrier's reply.  The barrier
 * says the flow table has the change; the datapath keeps forwarding by the
 * flows it cached until ofproto-dpif's revalidators have gone through them
 * (measured: about 4 ms of frames to a caught MAC still forwarded).  The
 * change starts a round; but if one was under way then, the first reply may
 * be that one's, which may have passed a flow before the change: the second
 * round, then right behind it, is awaited RELAY_REVAL_GRACE_MS at most (with
 * no round under way, the next comes only with max-revalidator, 500 ms). */
#define RELAY_REVAL_ROUNDS 2
#define RELAY_REVAL_GRACE_MS 20

/* The revalidation wait as a whole, from the barrier's reply.  The change
 * itself starts a round, which ends within milliseconds; a wait that asks
 * after that round ended is answered only by the next, which may be the
 * periodic one (max-revalidator, 500 ms) and says nothing more: so past
 * this bound the change is taken as being in the datapath.  (Measured: the
 * first `netmove paused` of a lab waited 530 ms for that reply.) */
#define RELAY_REVAL_MAX_MS 40

/* Cookie bits that name the key. */
#define RELAY_KEY_MASK 0xffffffffULL

enum relay_kind {
    RELAY_CATCH,
    RELAY_WATCH,
};

/* A catch or a watch in force. */
struct relay_flow {
    struct hmap_node node;      /* In 'flows', by hash of 'key'. */
    uint32_t key;
    enum relay_kind kind;
    struct eth_addr mac;
    uint32_t ofport;            /* A watch's own port; 0 for a catch. */
    long long int expires;      /* time_msec(); LLONG_MAX: never. */
};

struct nmovs_relay {
    struct rconn *rconn;
    nmovs_relay_cb *cb;
    void *aux;

    struct hmap flows;          /* struct relay_flow. */
    uint32_t *unreleased;       /* Keys released while not ready: deleted */
    size_t n_unreleased;        /* on the next connection. */

    struct rconn_packet_counter *backlog;
    unsigned int max_backlog;

    /* The connection's setup: rconn's connection seqno it was done for, the
     * GET_CONFIG request awaiting its reply (then, packet-in enabled and the
     * flows installed, 'ready'), the last barrier sent. */
    unsigned int seqno;
    ovs_be32 config_xid;
    bool ready;
    ovs_be32 barrier_xid;
    bool barrier_pending;

    /* The datapath's revalidation after the last barrier: ovs-vswitchd's
     * unixctl connection, the request in flight, the rounds still to go,
     * and when it is given up. */
    char *rundir;
    struct jsonrpc *ctl;
    struct json *ctl_id;
    int reval_rounds;
    long long int reval_deadline;
};

static uint32_t
hash_key(uint32_t key)
{
    return hash_int(key, 0);
}

static enum ofputil_protocol
relay_protocol(const struct nmovs_relay *relay)
{
    return ofputil_protocol_from_ofp_version(
        rconn_get_version(relay->rconn));
}

/* Queues 'msg' (consumed); errors show as a disconnection in rconn_run(). */
static void
relay_send(struct nmovs_relay *relay, struct ofpbuf *msg)
{
    if (rconn_send(relay->rconn, msg, relay->backlog)) {
        /* Not connected: the setup of the next connection sends it all. */
    }
}

static void
send_barrier(struct nmovs_relay *relay)
{
    struct ofpbuf *b = ofputil_encode_barrier_request(
        rconn_get_version(relay->rconn));

    relay->barrier_xid = ((struct ofp_header *) b->data)->xid;
    relay->barrier_pending = true;
    relay_send(relay, b);
}

/* ovs-ofctl del-flows BR "cookie=COOKIE/MASK" */
static struct ofpbuf *
encode_delete(enum ofputil_protocol protocol, uint64_t cookie, uint64_t mask)
{
    struct ofputil_flow_mod fm;
    struct match match;

    memset(&fm, 0, sizeof fm);
    match_init_catchall(&match);
    minimatch_init(&fm.match, &match);
    fm.cookie = htonll(cookie);
    fm.cookie_mask = htonll(mask);
    fm.new_cookie = OVS_BE64_MAX;
    fm.table_id = OFPTT_ALL;
    fm.command = OFPFC_DELETE;
    fm.buffer_id = UINT32_MAX;
    fm.out_port = OFPP_ANY;
    fm.out_group = OFPG_ANY;
    struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, protocol);
    minimatch_destroy(&fm.match);
    return msg;
}

/* Every flow of 'key', catch or watch. */
static void
send_release(struct nmovs_relay *relay, uint32_t key)
{
    relay_send(relay, encode_delete(relay_protocol(relay),
                                    NMOVS_RELAY_COOKIE_BASE | key,
                                    NMOVS_RELAY_COOKIE_MASK | RELAY_KEY_MASK));
}

static void
send_add(struct nmovs_relay *relay, const struct match *match, int priority,
         uint64_t cookie, unsigned int hard_timeout,
         const struct ofpbuf *ofpacts)
{
    struct ofputil_flow_mod fm;

    memset(&fm, 0, sizeof fm);
    minimatch_init(&fm.match, match);
    fm.priority = priority;
    fm.new_cookie = htonll(cookie);
    fm.table_id = 0;
    fm.command = OFPFC_ADD;
    fm.hard_timeout = hard_timeout;
    fm.buffer_id = UINT32_MAX;
    fm.out_port = OFPP_ANY;
    fm.out_group = OFPG_ANY;
    fm.ofpacts = ofpacts->data;
    fm.ofpacts_len = ofpacts->size;
    relay_send(relay, ofputil_encode_flow_mod(&fm, relay_protocol(relay)));
    minimatch_destroy(&fm.match);
}

/* controller(id=NMOVS_RELAY_CONTROLLER_ID,max_len=65535,reason=action) */
static void
put_controller(struct ofpbuf *ofpacts)
{
    struct ofpact_controller *oc = ofpact_put_CONTROLLER(ofpacts);
    oc->max_len = UINT16_MAX;
    oc->controller_id = NMOVS_RELAY_CONTROLLER_ID;
    oc->reason = OFPR_ACTION;
    oc->meter_id = NX_CTLR_NO_METER;
    ofpact_finish_CONTROLLER(ofpacts, &oc);
}

/* Installs 'flow' with what is left of its hard timeout.  A catch:
 *     priority=P,dl_dst=M actions=controller
 * a watch:
 *     priority=P+2,in_port=PORT,dl_src=M actions=NORMAL
 *     priority=P+1,dl_src=M actions=NORMAL,controller */
static void
send_flow(struct nmovs_relay *relay, const struct relay_flow *flow)
{
    uint64_t cookie = NMOVS_RELAY_COOKIE_BASE | flow->key;
    unsigned int timeout = 0;
    struct ofpbuf ofpacts;
    struct match match;

    if (flow->expires != LLONG_MAX) {
        long long int left = flow->expires - time_msec();
        timeout = left <= 1000 ? 1 : MIN((left + 999) / 1000, UINT16_MAX);
    }
    ofpbuf_init(&ofpacts, 64);
    match_init_catchall(&match);
    if (flow->kind == RELAY_CATCH) {
        match_set_dl_dst(&match, flow->mac);
        put_controller(&ofpacts);
        send_add(relay, &match, NMOVS_RELAY_PRIORITY, cookie, timeout,
                 &ofpacts);
    } else {
        cookie |= NMOVS_RELAY_COOKIE_WATCH;
        match_set_dl_src(&match, flow->mac);
        match_set_in_port(&match, u16_to_ofp(flow->ofport));
        ofpact_put_OUTPUT(&ofpacts)->port = OFPP_NORMAL;
        send_add(relay, &match, NMOVS_RELAY_PRIORITY + 2, cookie, timeout,
                 &ofpacts);

        match_init_catchall(&match);
        match_set_dl_src(&match, flow->mac);
        put_controller(&ofpacts);
        send_add(relay, &match, NMOVS_RELAY_PRIORITY + 1, cookie, timeout,
                 &ofpacts);
    }
    ofpbuf_uninit(&ofpacts);
}

int
nmovs_relay_open(const char *rundir, const char *bridge, nmovs_relay_cb *cb,
                 void *aux, struct nmovs_relay **relayp)
{
    *relayp = NULL;
    if (!bridge || !bridge[0] || strchr(bridge, '/') || !cb) {
        return -EINVAL;
    }

    struct nmovs_relay *relay = xzalloc(sizeof *relay);
    relay->cb = cb;
    relay->aux = aux;
    hmap_init(&relay->flows);
    relay->backlog = rconn_packet_counter_create();
    relay->max_backlog = RELAY_BACKLOG;
    relay->rundir = xstrdup(rundir ? rundir : ovs_rundir());

    /* Reconnects within a second: a drain lasts a few. */
    relay->rconn = rconn_create(5, 1, DSCP_DEFAULT, RELAY_VERSIONS);
    char *target = xasprintf("unix:%s/%s.mgmt", relay->rundir, bridge);
    rconn_connect(relay->rconn, target, target);
    free(target);
    *relayp = relay;
    return 0;
}

void
nmovs_relay_close(struct nmovs_relay *relay)
{
    if (relay) {
        struct relay_flow *flow;

        rconn_destroy(relay->rconn);
        rconn_packet_counter_destroy(relay->backlog);
        HMAP_FOR_EACH_POP (flow, node, &relay->flows) {
            free(flow);
        }
        hmap_destroy(&relay->flows);
        free(relay->unreleased);
        jsonrpc_close(relay->ctl);
        json_destroy(relay->ctl_id);
        free(relay->rundir);
        free(relay);
    }
}

static void
reval_stop(struct nmovs_relay *relay)
{
    jsonrpc_close(relay->ctl);
    relay->ctl = NULL;
    json_destroy(relay->ctl_id);
    relay->ctl_id = NULL;
    relay->reval_rounds = 0;
}

/* Gives up waiting for the revalidation: synced as far as the flow table
 * goes, which is all that can be known. */
static void
reval_fail(struct nmovs_relay *relay, const char *what, int error)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
    VLOG_WARN_RL(&rl, "ovs-vswitchd revalidator/wait: %s%s%s", what,
                 error ? ": " : "", error ? ovs_strerror(error) : "");
    reval_stop(relay);
}

/* ovs-appctl revalidator/wait */
static void
reval_send(struct nmovs_relay *relay)
{
    if (!relay->ctl) {
        char *pidfile = xasprintf("%s/ovs-vswitchd.pid", relay->rundir);
        pid_t pid = read_pidfile(pidfile);
        free(pidfile);
        if (pid < 0) {
            reval_fail(relay, "no pidfile", -pid);
            return;
        }
        char *path = xasprintf("%s/ovs-vswitchd.%ld.ctl", relay->rundir,
                               (long) pid);
        int error = unixctl_client_create(path, &relay->ctl);
        free(path);
        if (error) {
            reval_fail(relay, "connect", error);
            return;
        }
    }
    struct jsonrpc_msg *rq = jsonrpc_create_request(
        "revalidator/wait", json_array_create_empty(), NULL);
    json_destroy(relay->ctl_id);
    relay->ctl_id = json_clone(rq->id);
    int error = jsonrpc_send(relay->ctl, rq);
    if (error) {
        reval_fail(relay, "send", error);
    }
}

/* The last barrier's reply came: (re)starts the rounds.  One in flight was
 * asked before the barrier's reply and does not count. */
static void
reval_start(struct nmovs_relay *relay)
{
    relay->reval_deadline = time_msec() + RELAY_REVAL_MAX_MS;
    if (relay->ctl_id) {
        relay->reval_rounds = RELAY_REVAL_ROUNDS + 1;
    } else {
        relay->reval_rounds = RELAY_REVAL_ROUNDS;
        reval_send(relay);
    }
}

static void
reval_run(struct nmovs_relay *relay)
{
    while (relay->ctl) {
        struct jsonrpc_msg *msg;

        jsonrpc_run(relay->ctl);
        int error = jsonrpc_recv(relay->ctl, &msg);
        if (error == EAGAIN) {
            if (time_msec() < relay->reval_deadline) {
                return;
            }
            /* Grace over, or a round that ended before we asked: done
             * (RELAY_REVAL_MAX_MS). */
            reval_stop(relay);
            return;
        } else if (error) {
            reval_fail(relay, "receive", error);
            return;
        }
        bool ours = ((msg->type == JSONRPC_REPLY || msg->type == JSONRPC_ERROR)
                     && relay->ctl_id && json_equal(msg->id, relay->ctl_id));
        if (ours && msg->error) {
            /* "can't wait on multiple udpifs": two datapath types. */
            char *text = json_to_string(msg->error, 0);
            reval_fail(relay, text, 0);
            free(text);
        } else if (ours) {
            json_destroy(relay->ctl_id);
            relay->ctl_id = NULL;
            if (--relay->reval_rounds > 0) {
                if (relay->reval_rounds == 1) {
                    relay->reval_deadline = time_msec()
                                            + RELAY_REVAL_GRACE_MS;
                }
                reval_send(relay);
            } else {
                reval_stop(relay);
            }
        }
        jsonrpc_msg_destroy(msg);
    }
}

/* A new connection: its own controller id, then GET_CONFIG, whose reply
 * finishes the setup (setup_flows()). */
static void
setup_connection(struct nmovs_relay *relay)
{
    enum ofp_version version = rconn_get_version(relay->rconn);

    relay->seqno = rconn_get_connection_seqno(relay->rconn);
    relay->ready = false;
    relay->barrier_pending = false;
    reval_stop(relay);

    /* ovs-ofctl's "set-controller-id": NXT_SET_CONTROLLER_ID. */
    struct ofpbuf *b = ofpraw_alloc(OFPRAW_NXT_SET_CONTROLLER_ID, version, 0);
    struct nx_controller_id *nci = ofpbuf_put_zeros(b, sizeof *nci);
    nci->controller_id = htons(NMOVS_RELAY_CONTROLLER_ID);
    relay_send(relay, b);

    b = ofpraw_alloc(OFPRAW_OFPT_GET_CONFIG_REQUEST, version, 0);
    relay->config_xid = ((struct ofp_header *) b->data)->xid;
    relay_send(relay, b);
}

/* The switch's configuration came back: packet-in on, then what was
 * released while disconnected goes, and what is in force comes back. */
static void
setup_flows(struct nmovs_relay *relay, const struct ofp_header *reply)
{
    struct ofpbuf *set = nmovs_of_encode_packet_in_config(
        reply, rconn_get_version(relay->rconn));
    if (!set) {
        /* Not a GET_CONFIG reply (an error): reconnect and try again. */
        rconn_reconnect(relay->rconn);
        return;
    }
    relay_send(relay, set);
    relay->config_xid = 0;
    relay->ready = true;

    for (size_t i = 0; i < relay->n_unreleased; i++) {
        send_release(relay, relay->unreleased[i]);
    }
    relay->n_unreleased = 0;

    long long int now = time_msec();
    struct relay_flow *flow;
    HMAP_FOR_EACH_SAFE (flow, node, &relay->flows) {
        if (flow->expires <= now) {
            /* The switch removed it already. */
            hmap_remove(&relay->flows, &flow->node);
            free(flow);
        } else {
            send_flow(relay, flow);
        }
    }
    send_barrier(relay);
}

static bool
mac_is_unicast(const struct eth_addr mac)
{
    return !eth_addr_is_multicast(mac) && !eth_addr_is_zero(mac);
}

/* A frame from one of our flows goes to the callback, also one of a key
 * released since (the datapath may send some until the release is synced:
 * the owner decides). */
static void
handle_packet_in(struct nmovs_relay *relay, const struct ofp_header *oh)
{
    struct ofputil_packet_in pin;
    size_t total_len;
    uint32_t buffer_id;

    if (ofputil_decode_packet_in(oh, true, NULL, NULL, &pin, &total_len,
                                 &buffer_id, NULL)) {
        return;
    }
    uint64_t cookie = ntohll(pin.cookie);
    uint32_t key = cookie & RELAY_KEY_MASK;
    if ((cookie & NMOVS_RELAY_COOKIE_MASK) != NMOVS_RELAY_COOKIE_BASE
        || !key || pin.packet_len != total_len) {
        return;
    }
    struct nmovs_relay_frame frame = {
        .key = key,
        .reason = (cookie & NMOVS_RELAY_COOKIE_WATCH
                   ? NMOVS_RELAY_WATCHED : NMOVS_RELAY_CAUGHT),
        .in_port = ofp_to_u16(pin.flow_metadata.flow.in_port.ofp_port),
        .data = pin.packet,
        .len = pin.packet_len,
    };
    relay->cb(relay->aux, &frame);
}

static void
handle_message(struct nmovs_relay *relay, const struct ofp_header *oh)
{
    enum ofptype type;

    if (ofptype_decode(&type, oh)) {
        return;
    }
    if (type == OFPTYPE_PACKET_IN) {
        handle_packet_in(relay, oh);
    } else if (type == OFPTYPE_ECHO_REQUEST) {
        relay_send(relay, ofputil_encode_echo_reply(oh));
    } else if (relay->config_xid && oh->xid == relay->config_xid) {
        setup_flows(relay, oh);
    } else if (type == OFPTYPE_BARRIER_REPLY
               && oh->xid == relay->barrier_xid) {
        relay->barrier_pending = false;
        reval_start(relay);
    } else if (type == OFPTYPE_ERROR) {
        /* Said rarely, with what was refused: its reason is only in the
         * message, and a refused flow shows only as frames not caught. */
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
        if (!VLOG_DROP_WARN(&rl)) {
            char *text = ofp_to_string(oh, ntohs(oh->length), NULL, NULL, 1);
            VLOG_WARN("ovs-vswitchd refused a relay message: %s", text);
            free(text);
        }
    }
}

void
nmovs_relay_run(struct nmovs_relay *relay)
{
    reval_run(relay);
    rconn_run(relay->rconn);
    if (!rconn_is_connected(relay->rconn)) {
        relay->ready = false;
        relay->config_xid = 0;
        return;
    }
    if (relay->seqno != rconn_get_connection_seqno(relay->rconn)) {
        setup_connection(relay);
    }
    for (int i = 0; i < RELAY_MAX_RECV; i++) {
        struct ofpbuf *msg = rconn_recv(relay->rconn);
        if (!msg) {
            break;
        }
        handle_message(relay, msg->data);
        ofpbuf_delete(msg);
    }
    reval_run(relay);
}

void
nmovs_relay_wait(struct nmovs_relay *relay)
{
    rconn_run_wait(relay->rconn);
    rconn_recv_wait(relay->rconn);
    if (relay->ctl) {
        jsonrpc_wait(relay->ctl);
        jsonrpc_recv_wait(relay->ctl);
        poll_timer_wait_until(relay->reval_deadline);
    }
}

bool
nmovs_relay_connected(const struct nmovs_relay *relay)
{
    return relay->ready && rconn_is_connected(relay->rconn);
}

/* Records 'proto' (replacing the same catch or watch), and installs it now
 * if the connection is ready (else its setup will). */
static int
relay_add(struct nmovs_relay *relay, const struct relay_flow *proto,
          unsigned int hard_timeout_s)
{
    struct relay_flow *flow;

    if (!proto->key || hard_timeout_s > UINT16_MAX) {
        return -EINVAL;
    }
    uint32_t hash = hash_key(proto->key);
    HMAP_FOR_EACH_WITH_HASH (flow, node, hash, &relay->flows) {
        if (flow->key == proto->key && flow->kind == proto->kind
            && eth_addr_equals(flow->mac, proto->mac)
            && flow->ofport == proto->ofport) {
            goto found;
        }
    }
    flow = xmalloc(sizeof *flow);
    *flow = *proto;
    hmap_insert(&relay->flows, &flow->node, hash);
found:
    flow->expires = (hard_timeout_s
                     ? time_msec() + hard_timeout_s * 1000LL : LLONG_MAX);
    if (nmovs_relay_connected(relay)) {
        send_flow(relay, flow);
        send_barrier(relay);
    }
    return 0;
}

int
nmovs_relay_catch(struct nmovs_relay *relay, uint32_t key,
                  const struct eth_addr mac, unsigned int hard_timeout_s)
{
    struct relay_flow proto = { .key = key, .kind = RELAY_CATCH,
                                .mac = mac };

    if (!mac_is_unicast(mac)) {
        return -EINVAL;
    }
    return relay_add(relay, &proto, hard_timeout_s);
}

int
nmovs_relay_watch(struct nmovs_relay *relay, uint32_t key,
                  const struct eth_addr mac, uint32_t ofport,
                  unsigned int hard_timeout_s)
{
    struct relay_flow proto = { .key = key, .kind = RELAY_WATCH,
                                .mac = mac, .ofport = ofport };

    if (!ofport || ofport >= ofp_to_u16(OFPP_MAX)
        || !mac_is_unicast(mac)) {
        return -EINVAL;
    }
    return relay_add(relay, &proto, hard_timeout_s);
}

int
nmovs_relay_release(struct nmovs_relay *relay, uint32_t key)
{
    struct relay_flow *flow;

    if (!key) {
        return -EINVAL;
    }
    HMAP_FOR_EACH_SAFE (flow, node, &relay->flows) {
        if (flow->key == key) {
            hmap_remove(&relay->flows, &flow->node);
            free(flow);
        }
    }
    if (nmovs_relay_connected(relay)) {
        send_release(relay, key);
        send_barrier(relay);
    } else {
        /* The switch may still have them: the next connection deletes. */
        relay->unreleased = xrealloc(relay->unreleased,
                                     (relay->n_unreleased + 1)
                                     * sizeof *relay->unreleased);
        relay->unreleased[relay->n_unreleased++] = key;
    }
    return 0;
}

/* Packet-out of 'data': out of 'ofport' if 'in_port' is OFPP_CONTROLLER,
 * else forwarded by NORMAL as if it had just entered on 'in_port'. */
static int
packet_out(struct nmovs_relay *relay, ofp_port_t in_port, uint32_t ofport,
           const void *data, size_t len)
{
    struct ofputil_packet_out po;
    struct ofpbuf ofpacts;

    if (!rconn_is_connected(relay->rconn)) {
        return -ENOTCONN;
    }
    ofpbuf_init(&ofpacts, 64);
    if (in_port == OFPP_CONTROLLER) {
        ofpact_put_OUTPUT(&ofpacts)->port = u16_to_ofp(ofport);
    } else {
        ofpact_put_OUTPUT(&ofpacts)->port = OFPP_NORMAL;
    }

    memset(&po, 0, sizeof po);
    po.buffer_id = UINT32_MAX;
    match_init_catchall(&po.flow_metadata);
    match_set_in_port(&po.flow_metadata, in_port);
    po.flow_metadata.flow.packet_type = htonl(PT_ETH);
    po.packet = data;
    po.packet_len = len;
    po.ofpacts = ofpacts.data;
    po.ofpacts_len = ofpacts.size;
    struct ofpbuf *msg = ofputil_encode_packet_out(&po, relay_protocol(relay));
    ofpbuf_uninit(&ofpacts);

    return -rconn_send_with_limit(relay->rconn, msg, relay->backlog,
                                  relay->max_backlog);
}

int
nmovs_relay_output(struct nmovs_relay *relay, uint32_t ofport,
                   const void *data, size_t len)
{
    if (!ofport || ofport >= ofp_to_u16(OFPP_MAX)
        || len < ETH_HEADER_LEN || len > UINT16_MAX) {
        return -EINVAL;
    }
    return packet_out(relay, OFPP_CONTROLLER, ofport, data, len);
}

int
nmovs_relay_forward(struct nmovs_relay *relay, uint32_t in_port,
                    const void *data, size_t len)
{
    if (!in_port || (in_port >= ofp_to_u16(OFPP_MAX)
                     && in_port != ofp_to_u16(OFPP_LOCAL))
        || len < ETH_HEADER_LEN || len > UINT16_MAX) {
        return -EINVAL;
    }
    return packet_out(relay, u16_to_ofp(in_port), 0, data, len);
}

bool
nmovs_relay_synced(const struct nmovs_relay *relay)
{
    return (nmovs_relay_connected(relay) && !relay->barrier_pending
            && !relay->reval_rounds);
}

int
nmovs_relay_flush(const char *rundir, const char *bridge)
{
    struct ovs_list msgs;
    struct nmovs_of *of;

    int error = nmovs_of_open(rundir, bridge, &of);
    if (error) {
        return error;
    }
    ovs_list_init(&msgs);
    ovs_list_push_back(&msgs, &encode_delete(of->protocol,
                                             NMOVS_RELAY_COOKIE_BASE,
                                             NMOVS_RELAY_COOKIE_MASK)
                       ->list_node);
    error = nmovs_of_send_batch(of, &msgs);
    nmovs_of_close(of);
    return error;
}

void
nmovs_relay_set_backlog(struct nmovs_relay *relay, unsigned int max_msgs)
{
    relay->max_backlog = max_msgs;
}

unsigned int
nmovs_relay_backlog(const struct nmovs_relay *relay)
{
    return rconn_packet_counter_n_packets(relay->backlog);
}
