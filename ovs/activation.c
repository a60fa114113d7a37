/* ovs: activation on announcement (OVN's activation-strategy=rarp, without
 * OVN).  On a blocked port, flows above the block send the VM's RARP, ARP
 * and IPv6 neighbour advertisements to netmove's OpenFlow connection; the
 * first one unblocks the port and is re-injected (in_port=PORT,
 * actions=NORMAL) so that the VM's own announcement still teaches the
 * network. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vconn.h"
#include "ovsdb-idl.h"
#include "packets.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"
#include "ovs/ofconn-private.h"

struct nmovs_activation {
    struct nmovs_of *of;
    uint32_t ofport;
    bool done;
};

/* Enables packet-in on the connection (nmovs_of_encode_packet_in_config()). */
static int
enable_packet_in(struct nmovs_of *of)
{
    struct ofpbuf *reply;

    struct ofpbuf *rq = ofpraw_alloc(OFPRAW_OFPT_GET_CONFIG_REQUEST,
                                     of->version, 0);
    int error = vconn_transact(of->vconn, rq, &reply);
    if (error) {
        return error == EOF ? -ECONNRESET : -error;
    }
    struct ofpbuf *set = nmovs_of_encode_packet_in_config(reply->data,
                                                          of->version);
    ofpbuf_delete(reply);
    if (!set) {
        return -EPROTO;
    }
    struct ovs_list msgs;
    ovs_list_init(&msgs);
    ovs_list_push_back(&msgs, &set->list_node);
    return nmovs_of_send_batch(of, &msgs);
}

/* in_port=PORT,<what> actions=controller, above the block. */
static void
add_trigger(struct nmovs_of *of, uint32_t ofport, struct match *match,
            const struct ofpbuf *ofpacts, struct ovs_list *msgs)
{
    match_set_in_port(match, u16_to_ofp(ofport));
    ovs_list_push_back(msgs, &nmovs_encode_add_flow(
                           of, match, NMOVS_BLOCK_PRIORITY + 1, ofport,
                           ofpacts->data, ofpacts->size)->list_node);
}

int
nmovs_activation_create(const char *rundir, const char *bridge,
                        uint32_t ofport, struct nmovs_activation **actp)
{
    struct nmovs_of *of;
    struct ofpbuf ofpacts;
    struct ovs_list msgs;
    struct match match;

    *actp = NULL;
    if (!ofport || ofport > UINT16_MAX) {
        return -EINVAL;
    }
    int error = nmovs_of_open(rundir, bridge, &of);
    if (error) {
        return error;
    }
    error = enable_packet_in(of);
    if (error) {
        nmovs_of_close(of);
        return error;
    }

    ofpbuf_init(&ofpacts, 64);
    struct ofpact_controller *oc = ofpact_put_CONTROLLER(&ofpacts);
    oc->max_len = UINT16_MAX;
    oc->reason = OFPR_ACTION;
    oc->meter_id = NX_CTLR_NO_METER;
    ofpact_finish_CONTROLLER(&ofpacts, &oc);

    ovs_list_init(&msgs);
    match_init_catchall(&match);
    match_set_dl_type(&match, htons(ETH_TYPE_RARP));
    add_trigger(of, ofport, &match, &ofpacts, &msgs);
    match_init_catchall(&match);
    match_set_dl_type(&match, htons(ETH_TYPE_ARP));
    add_trigger(of, ofport, &match, &ofpacts, &msgs);
    match_init_catchall(&match);
    match_set_dl_type(&match, htons(ETH_TYPE_IPV6));
    match_set_nw_proto(&match, IPPROTO_ICMPV6);
    match_set_icmp_type(&match, ND_NEIGHBOR_ADVERT);
    add_trigger(of, ofport, &match, &ofpacts, &msgs);
    ofpbuf_uninit(&ofpacts);

    error = nmovs_of_send_batch(of, &msgs);
    if (error) {
        nmovs_of_close(of);
        return error;
    }
    struct nmovs_activation *act = xzalloc(sizeof *act);
    act->of = of;
    act->ofport = ofport;
    *actp = act;
    return 0;
}

/* Unblocks and re-injects the announcement in packet-in 'oh' if it came
 * from our port through our flows.  Returns 1 if it did, 0 if the message
 * was not ours, or a negative errno. */
static int
handle_packet_in(struct nmovs_activation *act, const struct ofp_header *oh)
{
    struct ofputil_packet_in pin;
    size_t total_len;
    uint32_t buffer_id;

    if (ofputil_decode_packet_in(oh, true, NULL, NULL, &pin, &total_len,
                                 &buffer_id, NULL)) {
        return 0;
    }
    uint32_t in_port = ofp_to_u16(pin.flow_metadata.flow.in_port.ofp_port);
    int result = 0;
    if (pin.cookie == htonll(nmovs_block_cookie(act->ofport))
        && in_port == act->ofport && pin.packet_len == total_len) {
        struct iovec frame = { pin.packet, pin.packet_len };
        result = nmovs_of_unblock(act->of, act->ofport);
        if (!result) {
            result = nmovs_of_packet_out(act->of, act->ofport, &frame, 1);
        }
        if (!result) {
            act->done = true;
            result = 1;
        }
    }
    return result;
}

int
nmovs_activation_run(struct nmovs_activation *act)
{
    while (!act->done) {
        struct ofpbuf *msg;
        enum ofptype type;

        vconn_run(act->of->vconn);
        int error = vconn_recv(act->of->vconn, &msg);
        if (error == EAGAIN) {
            return 0;
        } else if (error) {
            return error == EOF ? -ECONNRESET : -error;
        }
        const struct ofp_header *oh = msg->data;
        int result = 0;
        if (ofptype_decode(&type, oh)) {
            /* Not ours to understand. */
        } else if (type == OFPTYPE_ECHO_REQUEST) {
            error = vconn_send(act->of->vconn, ofputil_encode_echo_reply(oh));
            result = error && error != EAGAIN ? -error : 0;
        } else if (type == OFPTYPE_PACKET_IN) {
            result = handle_packet_in(act, oh);
        }
        ofpbuf_delete(msg);
        if (result) {
            return result;
        }
    }
    return 1;
}

void
nmovs_activation_wait(struct nmovs_activation *act)
{
    vconn_run_wait(act->of->vconn);
    vconn_recv_wait(act->of->vconn);
}

void
nmovs_activation_destroy(struct nmovs_activation *act)
{
    if (act) {
        nmovs_of_close(act->of);
        free(act);
    }
}

int
nmovs_activate_on_announce(struct nmovs_db *db, const char *vm,
                           int timeout_ms, char *err, size_t errlen)
{
    long long int deadline = time_msec() + timeout_ms;
    struct nmovs_activation **acts = NULL;
    struct nmovs_vm_port *ports;
    size_t n_acts = 0, n_done = 0;
    int error = 0;

    size_t n = nmovs_find_vm_ports(db, vm, &ports);
    if (!n) {
        snprintf(err, errlen, "VM '%s': no port found", vm);
        error = -ENOENT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ovsrec_port *port = ports[i].port;
        acts = xrealloc(acts, (n_acts + port->n_interfaces) * sizeof *acts);
        for (size_t j = 0; j < port->n_interfaces; j++) {
            const struct ovsrec_interface *f = port->interfaces[j];
            error = f->n_ofport && f->ofport[0] > 0
                    ? nmovs_activation_create(db->rundir, ports[i].br->name,
                                              f->ofport[0], &acts[n_acts])
                    : -ENODEV;
            if (error) {
                snprintf(err, errlen, "interface %s: cannot watch for its "
                         "announcement: %s", f->name, ovs_strerror(-error));
                goto out;
            }
            n_acts++;
        }
    }
    for (;;) {
        n_done = 0;
        for (size_t i = 0; i < n_acts; i++) {
            error = nmovs_activation_run(acts[i]);
            if (error < 0) {
                snprintf(err, errlen, "OpenFlow: %s", ovs_strerror(-error));
                goto out;
            }
            n_done += error;
        }
        error = 0;
        if (n_done == n_acts) {
            break;
        }
        if (time_msec() >= deadline) {
            snprintf(err, errlen, "VM '%s' announced nothing within %d ms: "
                     "its ports stay blocked", vm, timeout_ms);
            error = -ETIMEDOUT;
            goto out;
        }
        for (size_t i = 0; i < n_acts; i++) {
            nmovs_activation_wait(acts[i]);
        }
        poll_timer_wait_until(deadline);
        poll_block();
    }
out:
    for (size_t i = 0; i < n_acts; i++) {
        nmovs_activation_destroy(acts[i]);
    }
    free(acts);
    free(ports);
    return error;
}
