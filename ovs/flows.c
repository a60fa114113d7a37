/* ovs: staged activation.  A blocked port is wired but silent: OpenFlow
 * flows (netmove's cookie, above NORMAL) drop everything from it and to the
 * VM's MACs, and the port's no_forward config keeps NORMAL's floods (which a
 * flow cannot stop per port) off it.  Unblocking deletes exactly those flows
 * by cookie and clears no_forward. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/ofpbuf.h"
#include "ovsdb-idl.h"
#include "packets.h"
#include "smap.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"
#include "ovs/ofconn-private.h"

uint64_t
nmovs_block_cookie(uint32_t ofport)
{
    return NMOVS_COOKIE_BASE | ofport;
}

struct ofpbuf *
nmovs_encode_add_flow(struct nmovs_of *of, const struct match *match,
                      int priority, uint32_t ofport,
                      const struct ofpact *ofpacts, size_t ofpacts_len)
{
    struct ofputil_flow_mod fm;

    memset(&fm, 0, sizeof fm);
    minimatch_init(&fm.match, match);
    fm.priority = priority;
    fm.new_cookie = htonll(nmovs_block_cookie(ofport));
    fm.table_id = 0;
    fm.command = OFPFC_ADD;
    fm.buffer_id = UINT32_MAX;
    fm.out_port = OFPP_ANY;
    fm.out_group = OFPG_ANY;
    fm.ofpacts = CONST_CAST(struct ofpact *, ofpacts);
    fm.ofpacts_len = ofpacts_len;
    struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, of->protocol);
    minimatch_destroy(&fm.match);
    return msg;
}

/* No actions: drop. */
static struct ofpbuf *
encode_drop(struct nmovs_of *of, const struct match *match, uint32_t ofport)
{
    return nmovs_encode_add_flow(of, match, NMOVS_BLOCK_PRIORITY, ofport,
                                 NULL, 0);
}

/* ovs-ofctl del-flows BR "cookie=C/-1" */
static struct ofpbuf *
encode_delete(struct nmovs_of *of, uint32_t ofport)
{
    struct ofputil_flow_mod fm;
    struct match match;

    memset(&fm, 0, sizeof fm);
    match_init_catchall(&match);
    minimatch_init(&fm.match, &match);
    fm.cookie = htonll(nmovs_block_cookie(ofport));
    fm.cookie_mask = OVS_BE64_MAX;
    fm.new_cookie = OVS_BE64_MAX;
    fm.table_id = OFPTT_ALL;
    fm.command = OFPFC_DELETE;
    fm.buffer_id = UINT32_MAX;
    fm.out_port = OFPP_ANY;
    fm.out_group = OFPG_ANY;
    struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, of->protocol);
    minimatch_destroy(&fm.match);
    return msg;
}

/* ovs-ofctl mod-port BR PORT no-forward|forward.  A port-mod names the
 * port's hardware address: 'hw' (OVSDB's Interface mac_in_use, which
 * ovs-vswitchd sets from the same device), else asked of the switch (a
 * description of every port of the bridge: a round trip, and hundreds of
 * ports, for each port). */
static int
encode_no_forward(struct nmovs_of *of, uint32_t ofport, bool on,
                  const char *hw, struct ofpbuf **msgp)
{
    struct ofputil_phy_port pp;
    struct ofputil_port_mod pm;
    struct eth_addr hw_addr;

    if (!hw || !eth_addr_from_string(hw, &hw_addr)) {
        int error = nmovs_of_find_port(of, NULL, ofport, &pp);
        if (error) {
            return error;
        }
        hw_addr = pp.hw_addr;
    }
    memset(&pm, 0, sizeof pm);
    pm.port_no = u16_to_ofp(ofport);
    pm.hw_addr = hw_addr;
    pm.config = on ? OFPUTIL_PC_NO_FWD : 0;
    pm.mask = OFPUTIL_PC_NO_FWD;
    *msgp = ofputil_encode_port_mod(&pm, of->protocol);
    return 0;
}

static int
of_block(struct nmovs_of *of, uint32_t ofport, const char *hw,
         const struct eth_addr *macs, size_t n_macs)
{
    struct ovs_list msgs;
    struct ofpbuf *pm;
    struct match match;

    if (!ofport || ofport > UINT16_MAX) {
        return -EINVAL;
    }
    int error = encode_no_forward(of, ofport, true, hw, &pm);
    if (error) {
        return error;
    }
    ovs_list_init(&msgs);

    /* Flows first, then no_forward, then the barrier: when this returns,
     * the port is silent both ways. */
    match_init_catchall(&match);
    match_set_in_port(&match, u16_to_ofp(ofport));
    ovs_list_push_back(&msgs, &encode_drop(of, &match, ofport)->list_node);
    for (size_t i = 0; i < n_macs; i++) {
        match_init_catchall(&match);
        match_set_dl_dst(&match, macs[i]);
        ovs_list_push_back(&msgs,
                           &encode_drop(of, &match, ofport)->list_node);
    }
    ovs_list_push_back(&msgs, &pm->list_node);
    return nmovs_of_send_batch(of, &msgs);
}

static int
of_unblock(struct nmovs_of *of, uint32_t ofport, const char *hw)
{
    struct ovs_list msgs;
    struct ofpbuf *pm;

    if (!ofport || ofport > UINT16_MAX) {
        return -EINVAL;
    }
    ovs_list_init(&msgs);
    ovs_list_push_back(&msgs, &encode_delete(of, ofport)->list_node);
    /* A port that is gone has nothing left to forward to. */
    int error = encode_no_forward(of, ofport, false, hw, &pm);
    if (!error) {
        ovs_list_push_back(&msgs, &pm->list_node);
    } else if (error != -ENOENT) {
        ofpbuf_list_delete(&msgs);
        return error;
    }
    return nmovs_of_send_batch(of, &msgs);
}

int
nmovs_of_block(struct nmovs_of *of, uint32_t ofport,
               const struct eth_addr *macs, size_t n_macs)
{
    return of_block(of, ofport, NULL, macs, n_macs);
}

int
nmovs_of_unblock(struct nmovs_of *of, uint32_t ofport)
{
    return of_unblock(of, ofport, NULL);
}

/* The VM's MACs on 'iface': external_ids:attached-mac, if valid. */
static size_t
iface_macs(const struct ovsrec_interface *iface, struct eth_addr macs[1])
{
    const char *s = smap_get(&iface->external_ids, "attached-mac");

    if (s && eth_addr_from_string(s, &macs[0])) {
        return 1;
    }
    return 0;
}

/* Blocks or unblocks each interface of 'port' through 'of'. */
static int
set_port_blocked(struct nmovs_of *of, const struct ovsrec_port *port,
                 bool block, char *err, size_t errlen)
{
    for (size_t j = 0; j < port->n_interfaces; j++) {
        const struct ovsrec_interface *iface = port->interfaces[j];
        struct eth_addr macs[1];

        if (!iface->n_ofport || iface->ofport[0] <= 0) {
            if (!block) {
                continue;       /* No OpenFlow port: no flows either. */
            }
            snprintf(err, errlen, "interface %s has no OpenFlow port%s%s",
                     iface->name, iface->error ? ": " : "",
                     iface->error ? iface->error : "");
            return -ENODEV;
        }
        uint32_t ofport = iface->ofport[0];
        /* The hardware address from the replica: no description of
         * every port of the bridge asked for each port. */
        const char *hw = iface->mac_in_use;
        int error = block ? of_block(of, ofport, hw, macs,
                                     iface_macs(iface, macs))
                          : of_unblock(of, ofport, hw);
        if (error == -EPROTO && hw) {
            /* The switch refused the port-mod: the replica is behind it
             * (the port gone, or its device's address changed).  Asked of
             * the switch, as before: a port gone has nothing to forward
             * to.  Both are safe to repeat (flows added, deleted by
             * cookie). */
            error = block ? of_block(of, ofport, NULL, macs,
                                     iface_macs(iface, macs))
                          : of_unblock(of, ofport, NULL);
        }
        if (error) {
            snprintf(err, errlen, "interface %s: %s its flows failed: %s",
                     iface->name, block ? "installing" : "removing",
                     ovs_strerror(-error));
            return error;
        }
    }
    return 0;
}

int
nmovs_set_ports_blocked(struct nmovs_db *db, const struct nmovs_vm_port *ports,
                        size_t n, bool block, char *err, size_t errlen)
{
    /* One OpenFlow connection per bridge, however many ports. */
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++) {
            seen |= ports[k].br == ports[i].br;
        }
        if (seen) {
            continue;
        }

        struct nmovs_of *of;
        int error = nmovs_of_open(db->rundir, ports[i].br->name, &of);
        if (error) {
            snprintf(err, errlen, "bridge %s: OpenFlow connection to "
                     "%s/%s.mgmt failed: %s", ports[i].br->name, db->rundir,
                     ports[i].br->name, ovs_strerror(-error));
            return error;
        }
        for (size_t k = i; !error && k < n; k++) {
            if (ports[k].br == ports[i].br) {
                error = set_port_blocked(of, ports[k].port, block, err,
                                         errlen);
            }
        }
        nmovs_of_close(of);
        if (error) {
            return error;
        }
    }
    return 0;
}

static int
set_vm_blocked(struct nmovs_db *db, const char *vm, bool block, char *err,
               size_t errlen)
{
    struct nmovs_vm_port *ports;
    size_t n = nmovs_find_vm_ports(db, vm, &ports);

    if (!n) {
        free(ports);
        snprintf(err, errlen, "VM '%s': no port found", vm);
        return -ENOENT;
    }
    int error = nmovs_set_ports_blocked(db, ports, n, block, err, errlen);
    free(ports);
    return error;
}

int
nmovs_activate_many(struct nmovs_db *db, const char *const *vms, size_t n,
                    char *err, size_t errlen)
{
    struct nmovs_vm_port *all = NULL;
    size_t n_all = 0;

    for (size_t i = 0; i < n; i++) {
        struct nmovs_vm_port *ports;
        size_t n_ports = nmovs_find_vm_ports(db, vms[i], &ports);

        if (!n_ports) {
            free(ports);
            free(all);
            snprintf(err, errlen, "VM '%s': no port found", vms[i]);
            return -ENOENT;
        }
        all = xrealloc(all, (n_all + n_ports) * sizeof *all);
        memcpy(&all[n_all], ports, n_ports * sizeof *ports);
        n_all += n_ports;
        free(ports);
    }
    int error = nmovs_set_ports_blocked(db, all, n_all, false, err, errlen);
    free(all);
    return error;
}

int
nmovs_activate(struct nmovs_db *db, const char *vm, char *err, size_t errlen)
{
    return set_vm_blocked(db, vm, false, err, errlen);
}

int
nmovs_block(struct nmovs_db *db, const char *vm, char *err, size_t errlen)
{
    return set_vm_blocked(db, vm, true, err, errlen);
}
