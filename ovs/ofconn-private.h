/* ovs: the OpenFlow connection shared by ofconn.c and flows.c (internal). */
#ifndef NETMOVE_OVS_OFCONN_PRIVATE_H
#define NETMOVE_OVS_OFCONN_PRIVATE_H 1

#include <stdint.h>

#include "openvswitch/list.h"
#include "openvswitch/ofp-protocol.h"

struct vconn;

/* How long any OpenFlow exchange may block, in ms. */
#define NMOVS_OF_TIMEOUT_MS 5000

struct nmovs_of {
    struct vconn *vconn;
    enum ofp_version version;         /* Negotiated. */
    enum ofputil_protocol protocol;   /* Matching flow protocol. */
};

/* Sends every ofpbuf on 'requests' (consumed), then one barrier, and waits
 * for the barrier's reply.  Returns 0, -EPROTO if the switch answered any of
 * them with an error, or another negative errno. */
int nmovs_of_send_batch(struct nmovs_of *, struct ovs_list *requests);

struct ofputil_phy_port;

/* Finds the port named 'name' or, if 'name' is NULL, numbered 'ofport', in
 * an OpenFlow port description request.  Returns 0, -ENOENT or another
 * negative errno. */
int nmovs_of_find_port(struct nmovs_of *, const char *name, uint32_t ofport,
                       struct ofputil_phy_port *);

struct match;
struct ofpact;
struct ofpbuf;
struct ofp_header;

/* A service connection (BRIDGE.mgmt) gets packet-ins only with a nonzero
 * miss_send_len, set by OFPT_SET_CONFIG; the fragment handling in the same
 * message is bridge-wide, so it is read first (OFPT_GET_CONFIG) and sent back
 * unchanged.  Returns the OFPT_SET_CONFIG, for 'version', that keeps what
 * GET_CONFIG reply 'reply' says and sets miss_send_len to UINT16_MAX, or NULL
 * if 'reply' is not a GET_CONFIG reply (activation.c, relay.c). */
struct ofpbuf *nmovs_of_encode_packet_in_config(const struct ofp_header *reply,
                                                enum ofp_version version);

/* An OFPFC_ADD flow_mod in table 0 with 'ofport''s netmove cookie
 * (flows.c). */
struct ofpbuf *nmovs_encode_add_flow(struct nmovs_of *, const struct match *,
                                     int priority, uint32_t ofport,
                                     const struct ofpact *ofpacts,
                                     size_t ofpacts_len);

#endif /* ovs/ofconn-private.h */
