/* What the destination's state machine (migration*.c) asks of the world:
 * its peers, this host's OVS, its firewall and conntrack, and the
 * announcer.  A table of function pointers hung off struct netmoved, as
 * garp's sender class is (garp/garp-private.h): mig_ops.c holds the real
 * one (peer.h, ovs/ovs.h, firewall/firewall.h, garp/garp.h); the unit
 * tests (tests/netmove/test_migration.c) drive migration.c against fakes.
 *
 * Only what the state machine calls, with the libraries' own conventions:
 * 0 or a negative errno, a reason in 'err' where one helps.  Pure builders
 * and parsers (nmovs_docs_from_json, fw_ruleset_from_json, ...) stay direct
 * calls: they do no I/O. */
#ifndef NETMOVE_MIG_OPS_H
#define NETMOVE_MIG_OPS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/types.h"

#include "openvswitch/compiler.h"

#include "netmove/daemon/peer.h"
#include "ovs/ovs.h"

struct ct_filter;
struct ct_scope;
struct ct_table;
struct fw_ruleset;
struct garp_uplink;
struct garp_vm;
struct netmoved;
struct nmovs_doc;
struct nmovs_import_opts;
struct nmovs_op;

struct mig_ops {
    /* Peers (peer.h).  'request' sends 'method' with 'params' (consumed) to
     * 'peer'; 'cb' is called once, later, unless cancelled.  -ENOENT if
     * 'peer' is not a configured peer ('cb' is never called then). */
    int (*request)(struct netmoved *, const char *peer, const char *method,
                   struct json *params, long long int timeout_ms,
                   nm_peer_reply_cb *cb, void *aux)
        OVS_WARN_UNUSED_RESULT;
    /* Forgets every pending request whose callback argument is 'aux'. */
    void (*cancel)(struct netmoved *, void *aux);

    /* This host's OVS (ovs/ovs.h): the VM's port, staged blocked
     * ('adopt': the migrator's port, found by the VM's identity, given the
     * documents' settings), removed (only the one 'staged_by' made),
     * unblocked.  Staging is a step of the loop, never waited for:
     * 'port_start' returns at once; 'port_step' is -EAGAIN while it is
     * under way ('port_wait' wakes the loop when it may have moved), then
     * 0 ('*n_missing' of the ports not there yet, or removed, '*changed')
     * or -errno
     * with the reason in 'err'; 'port_end' frees it, first letting it end
     * (bounded by its deadline) if 'finish'. */
    struct nmovs_op *(*port_start)(struct netmoved *, bool adopt,
                                   struct nmovs_doc *const *docs, size_t n,
                                   const struct nmovs_import_opts *);
    int (*port_step)(struct nmovs_op *, size_t *n_missing, bool *changed,
                     char *err, size_t errlen);
    void (*port_wait)(struct nmovs_op *);
    void (*port_end)(struct nmovs_op *, bool finish);
    /* Once a step of several documents failed: the index of the one it
     * refused, or SIZE_MAX (nmovs_op_failed_doc()). */
    size_t (*port_failed_doc)(const struct nmovs_op *);
    struct nmovs_op *(*port_remove_start)(struct netmoved *,
                                          const char *staged_by);
    int (*port_activate)(struct netmoved *, const char *vm,
                         char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    int (*port_activate_many)(struct netmoved *, const char *const *vms,
                              size_t n, char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    /* OVSDB's replica: its change counter, a hash of the VM's ports, the
     * name and OpenFlow port of the VM's interface with MAC 'mac' (0 or
     * -ENOENT; '*name' malloc'd). */
    unsigned int (*db_seqno)(struct netmoved *);
    uint32_t (*vm_ports_hash)(struct netmoved *, const char *vm);
    /* The VLAN of 'frame' entering OpenFlow port 'ofport' of the
     * configured bridge (nmovs_frame_vlan(): -1 if not one OVS forwards). */
    int (*frame_vlan)(struct netmoved *, uint32_t ofport, const void *frame,
                      size_t len);
    /* Sends 'frame' on from 'in_port' as NORMAL would have (a frame a
     * hold caught that is not the VM's). */
    void (*drain_forward)(struct netmoved *, uint32_t in_port,
                          const void *frame, size_t len);
    int (*vm_iface_by_mac)(struct netmoved *, const char *vm,
                           struct eth_addr mac, char **name,
                           uint32_t *ofport)
        OVS_WARN_UNUSED_RESULT;

    /* The firewall and conntrack (firewall/firewall.h).  Imports are a
     * peer's documents, confined to the VM being moved: 'fw_import' to
     * 'vm' (fw_import_scoped()), 'ct_import' to 'scope'
     * (ct_import_scoped()); out of scope is -EINVAL, nothing applied. */
    int (*fw_import)(struct netmoved *, const char *vm, struct fw_ruleset *,
                     char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    /* 'fw_import' for several VMs in one transaction (each 'rs[i]'
     * confined to its own VM): all or nothing. */
    int (*fw_import_many)(struct netmoved *, struct fw_ruleset *const *rs,
                          size_t n, char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    int (*fw_remove)(struct netmoved *, const char *vm, size_t *n_removed,
                     char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    int (*ct_import)(struct netmoved *, const struct ct_scope *,
                     const struct ct_table *,
                     size_t *created, size_t *updated, size_t *deleted,
                     char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    int (*ct_remove)(struct netmoved *, const struct ct_filter *,
                     size_t *n_removed, char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;

    /* The announcer (garp/garp.h): adds 'vm' due at 'now_us' (its index in
     * '*idx'; -ENOENT: its port is not in ovs-vswitchd yet), sends what is
     * due (migration_frame_sent() hears of every frame), and the OpenFlow
     * port of 'port'. */
    int (*announce_add)(struct netmoved *, const struct garp_vm *,
                        uint64_t now_us, size_t *idx, char *err,
                        size_t errlen)
        OVS_WARN_UNUSED_RESULT;
    int (*announce_run)(struct netmoved *, uint64_t now_us)
        OVS_WARN_UNUSED_RESULT;
    /* garp_announcer_first(): the learn frames, then round 0 straight out
     * of the uplink, of every VM added with an uplink since the last
     * call. */
    int (*announce_first)(struct netmoved *)
        OVS_WARN_UNUSED_RESULT;
    /* The configured uplink (config "uplink", a port of the bridge) as a
     * VM on OpenFlow port 'ofport' reaches it by NORMAL: its OpenFlow port
     * and the VLAN tag the VM's frames carry there, from the replica.
     * -ENOENT if there is none (no uplink configured, not a port of the
     * bridge) or either port is unknown, another -errno if NORMAL would
     * not send the VM's frames there. */
    int (*announce_uplink)(struct netmoved *, uint32_t ofport,
                           struct garp_uplink *)
        OVS_WARN_UNUSED_RESULT;
    /* Sends nothing more of the announcer's entry 'idx'. */
    void (*announce_cancel)(struct netmoved *, size_t idx);
    int (*ofport)(struct netmoved *, const char *port, uint32_t *ofport,
                  char *err, size_t errlen)
        OVS_WARN_UNUSED_RESULT;

    /* The drain's hold (daemon/relay.h, ovs/ovs.h "Frames to and from
     * netmoved"): 'drain_key' takes a key of netmoved's relay connection
     * whose frames go to 'cb' with 'aux' (0: none to be had);
     * 'drain_hold' catches the unicast frames to 'mac' on this bridge
     * under 'key' (they reach 'cb' instead of the VM's port);
     * 'drain_release' removes the key's flows (after every output sent
     * before it on the same connection) and forgets the key; 'drain_output'
     * sends a frame out of OpenFlow port 'ofport' (-EAGAIN: not now, try
     * again on a later pass; the frame was not sent). */
    uint32_t (*drain_key)(struct netmoved *, nmovs_relay_cb *cb, void *aux);
    int (*drain_hold)(struct netmoved *, uint32_t key, struct eth_addr mac)
        OVS_WARN_UNUSED_RESULT;
    void (*drain_release)(struct netmoved *, uint32_t key);
    int (*drain_output)(struct netmoved *, uint32_t ofport,
                        const void *data, size_t len)
        OVS_WARN_UNUSED_RESULT;
};

/* The real operations, on netmoved's peers, OVSDB, bridge and announcer. */
extern const struct mig_ops mig_ops_system;

#endif /* netmove/daemon/mig_ops.h */
