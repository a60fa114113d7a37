/* ovs: an OpenFlow connection to a bridge's management socket (vconn), the
 * port number lookup and packet-out. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirs.h"
#include "flow.h"
#include "packets.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/ofp-switch.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vconn.h"
#include "openvswitch/vlog.h"
#include "openvswitch/ofp-print.h"
#include "socket-util.h"
#include "timeval.h"
#include "util.h"

#include "ovs/ofconn-private.h"

VLOG_DEFINE_THIS_MODULE(nmovs_ofconn);

/* vconn returns positive errno values or EOF; the module returns -errno. */
static int
neg_errno(int error)
{
    return error == EOF ? -ECONNRESET : -error;
}

int
nmovs_of_open(const char *rundir, const char *bridge, struct nmovs_of **ofp)
{
    struct vconn *vconn;
    char *name;
    int error;

    *ofp = NULL;
    if (!bridge || !bridge[0] || strchr(bridge, '/')) {
        return -EINVAL;
    }
    name = xasprintf("unix:%s/%s.mgmt", rundir ? rundir : ovs_rundir(),
                     bridge);
    error = vconn_open(name, OFPUTIL_DEFAULT_VERSIONS, DSCP_DEFAULT, &vconn);
    free(name);
    if (error) {
        return neg_errno(error);
    }
    /* Version negotiation happens while connecting. */
    error = vconn_connect_block(vconn, NMOVS_OF_TIMEOUT_MS);
    if (error) {
        vconn_close(vconn);
        return neg_errno(error);
    }

    struct nmovs_of *of = xzalloc(sizeof *of);
    of->vconn = vconn;
    of->version = vconn_get_version(vconn);
    of->protocol = ofputil_protocol_from_ofp_version(of->version);
    *ofp = of;
    return 0;
}

void
nmovs_of_close(struct nmovs_of *of)
{
    if (of) {
        vconn_close(of->vconn);
        free(of);
    }
}

/* Receives one message into '*msgp' before 'deadline' (time_msec()).
 * Returns 0, -ETIMEDOUT or another negative errno. */
static int
recv_until(struct nmovs_of *of, long long int deadline, struct ofpbuf **msgp)
{
    for (;;) {
        vconn_run(of->vconn);
        int error = vconn_recv(of->vconn, msgp);
        if (error != EAGAIN) {
            return error ? neg_errno(error) : 0;
        }
        if (time_msec() >= deadline) {
            return -ETIMEDOUT;
        }
        vconn_run_wait(of->vconn);
        vconn_recv_wait(of->vconn);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

int
nmovs_of_send_batch(struct nmovs_of *of, struct ovs_list *requests)
{
    long long int deadline = time_msec() + NMOVS_OF_TIMEOUT_MS;
    ovs_be32 first_xid = 0, barrier_xid;
    bool rejected = false;
    struct ofpbuf *b;
    int error = 0;

    /* Queue everything: the frames or flow mods go out back to back. */
    LIST_FOR_EACH_POP (b, list_node, requests) {
        if (!error) {
            if (!first_xid) {
                first_xid = ((struct ofp_header *) b->data)->xid;
            }
            error = vconn_send_block(of->vconn, b);
            if (!error) {
                continue;
            }
        }
        ofpbuf_delete(b);
    }
    if (error) {
        return neg_errno(error);
    }

    b = ofputil_encode_barrier_request(of->version);
    barrier_xid = ((struct ofp_header *) b->data)->xid;
    error = vconn_send_block(of->vconn, b);
    if (error) {
        ofpbuf_delete(b);
        return neg_errno(error);
    }

    /* Replies come in order; an error for any of ours precedes the
     * barrier's reply. */
    for (;;) {
        struct ofpbuf *msg;
        enum ofptype type;

        error = recv_until(of, deadline, &msg);
        if (error) {
            return error;
        }
        const struct ofp_header *oh = msg->data;
        if (oh->xid == barrier_xid) {
            ofpbuf_delete(msg);
            break;
        }
        if (!ofptype_decode(&type, oh) && type == OFPTYPE_ERROR) {
            /* Said once, with what was refused: a library does not log
             * errors, but this one's reason is only in the message. */
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
            char *text = ofp_to_string(oh, ntohs(oh->length), NULL, NULL,
                                       1);
            VLOG_WARN_RL(&rl, "ovs-vswitchd refused a message: %s", text);
            free(text);
            rejected = true;
        }
        ofpbuf_delete(msg);
    }
    return rejected ? -EPROTO : 0;
}

/* Sends multipart 'request' (consumed) and collects its replies in
 * 'replies' (the caller frees them), each awaited until 'deadline': a
 * switch that never answers fails it (-ETIMEDOUT), as vconn's own
 * vconn_transact_multipart() would not.  0 or a negative errno. */
static int
transact_multipart(struct nmovs_of *of, struct ofpbuf *request,
                   long long int deadline, struct ovs_list *replies)
{
    ovs_be32 xid = ((struct ofp_header *) request->data)->xid;

    ovs_list_init(replies);
    int error = vconn_send_block(of->vconn, request);
    if (error) {
        ofpbuf_delete(request);
        return neg_errno(error);
    }
    for (;;) {
        struct ofpbuf *msg;

        error = recv_until(of, deadline, &msg);
        if (error) {
            ofpbuf_list_delete(replies);
            return error;
        }
        const struct ofp_header *oh = msg->data;
        if (oh->xid != xid) {
            ofpbuf_delete(msg);         /* Not ours (an echo, a late one). */
            continue;
        }
        ovs_list_push_back(replies, &msg->list_node);
        if (!ofpmsg_is_stat_reply(oh) || !ofpmp_more(oh)) {
            return 0;
        }
    }
}

int
nmovs_of_find_port(struct nmovs_of *of, const char *name, uint32_t ofport,
                   struct ofputil_phy_port *ppp)
{
    struct ovs_list replies;
    struct ofpbuf *reply;
    int result = -ENOENT;

    /* By number, OpenFlow 1.5 describes just that port (earlier versions
     * describe them all): a bridge may have thousands. */
    ofp_port_t which = name || ofport > UINT16_MAX ? OFPP_ANY
                       : u16_to_ofp(ofport);
    int error = transact_multipart(
        of, ofputil_encode_port_desc_stats_request(of->version, which),
        time_msec() + NMOVS_OF_TIMEOUT_MS, &replies);
    if (error) {
        return error;
    }

    LIST_FOR_EACH (reply, list_node, &replies) {
        struct ofputil_phy_port pp;
        enum ofptype type;

        if (ofptype_pull(&type, reply)
            || type != OFPTYPE_PORT_DESC_STATS_REPLY) {
            result = -EPROTO;
            break;
        }
        while (!ofputil_pull_phy_port(of->version, reply, &pp)) {
            if (name ? !strcmp(pp.name, name)
                : ofp_to_u16(pp.port_no) == ofport) {
                *ppp = pp;
                result = 0;
                goto out;
            }
        }
    }
out:
    ofpbuf_list_delete(&replies);
    return result;
}

int
nmovs_of_port_no(struct nmovs_of *of, const char *port, uint32_t *ofport)
{
    struct ofputil_phy_port pp;
    int error = nmovs_of_find_port(of, port, 0, &pp);

    if (!error) {
        *ofport = ofp_to_u16(pp.port_no);
    }
    return error;
}

int
nmovs_of_packet_out(struct nmovs_of *of, uint32_t in_port,
                    const struct iovec *frames, size_t n)
{
    struct ofputil_packet_out po;
    struct ovs_list requests;
    struct ofpbuf ofpacts;

    if (in_port > UINT16_MAX) {
        return -EINVAL;
    }
    ofpbuf_init(&ofpacts, 64);
    ofpact_put_OUTPUT(&ofpacts)->port = OFPP_NORMAL;

    memset(&po, 0, sizeof po);
    po.buffer_id = UINT32_MAX;
    match_init_catchall(&po.flow_metadata);
    match_set_in_port(&po.flow_metadata, u16_to_ofp(in_port));
    po.flow_metadata.flow.packet_type = htonl(PT_ETH);
    po.ofpacts = ofpacts.data;
    po.ofpacts_len = ofpacts.size;

    ovs_list_init(&requests);
    for (size_t i = 0; i < n; i++) {
        po.packet = frames[i].iov_base;
        po.packet_len = frames[i].iov_len;
        struct ofpbuf *msg = ofputil_encode_packet_out(&po, of->protocol);
        ovs_list_push_back(&requests, &msg->list_node);
    }
    ofpbuf_uninit(&ofpacts);
    return nmovs_of_send_batch(of, &requests);
}

int
nmovs_of_packet_out_many(struct nmovs_of *of,
                         const struct nmovs_pkt_out *pkts, size_t n)
{
    struct ovs_list requests;

    for (size_t i = 0; i < n; i++) {
        if (pkts[i].in_port > UINT16_MAX || pkts[i].out_port > UINT16_MAX) {
            return -EINVAL;
        }
    }
    ovs_list_init(&requests);
    for (size_t i = 0; i < n; i++) {
        struct ofputil_packet_out po;
        struct ofpbuf ofpacts;
        uint32_t out = pkts[i].out_port;

        ofpbuf_init(&ofpacts, 64);
        ofpact_put_OUTPUT(&ofpacts)->port = out ? u16_to_ofp(out)
                                                : OFPP_NORMAL;
        memset(&po, 0, sizeof po);
        po.buffer_id = UINT32_MAX;
        match_init_catchall(&po.flow_metadata);
        match_set_in_port(&po.flow_metadata, u16_to_ofp(pkts[i].in_port));
        po.flow_metadata.flow.packet_type = htonl(PT_ETH);
        po.ofpacts = ofpacts.data;
        po.ofpacts_len = ofpacts.size;
        po.packet = pkts[i].data;
        po.packet_len = pkts[i].len;
        struct ofpbuf *msg = ofputil_encode_packet_out(&po, of->protocol);
        ovs_list_push_back(&requests, &msg->list_node);
        ofpbuf_uninit(&ofpacts);
    }
    return nmovs_of_send_batch(of, &requests);
}

struct ofpbuf *
nmovs_of_encode_packet_in_config(const struct ofp_header *reply,
                                 enum ofp_version version)
{
    struct ofputil_switch_config config;
    enum ofptype type;

    if (ofptype_decode(&type, reply) || type != OFPTYPE_GET_CONFIG_REPLY) {
        return NULL;
    }
    ofputil_decode_get_config_reply(reply, &config);
    config.miss_send_len = UINT16_MAX;
    return ofputil_encode_set_config(&config, version);
}
