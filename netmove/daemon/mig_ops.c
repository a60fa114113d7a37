/* The destination state machine's operations on the real world: netmoved's
 * peers, OVSDB and bridge, nftables and conntrack, and announcer. */
#include "netmove/daemon/mig_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "openvswitch/vlog.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/relay.h"
#include "netmove/daemon/service.h"
#include "ovs/ovs.h"

VLOG_DEFINE_THIS_MODULE(mig_ops);

static int
sys_request(struct netmoved *nm, const char *peer, const char *method,
            struct json *params, long long int timeout_ms,
            nm_peer_reply_cb *cb, void *aux)
{
    return nm_peers_request(nm->peers, peer, method, params, timeout_ms,
                            cb, aux);
}

static void
sys_cancel(struct netmoved *nm, void *aux)
{
    nm_peers_cancel(nm->peers, aux);
}

static struct nmovs_op *
sys_port_start(struct netmoved *nm, bool adopt, struct nmovs_doc *const *docs,
               size_t n, const struct nmovs_import_opts *opts)
{
    return adopt ? nmovs_adopt_start(nm->db, docs, n, opts)
                 : nmovs_import_start(nm->db, docs, n, opts);
}

static int
sys_port_step(struct nmovs_op *op, size_t *n_missing, bool *changed,
              char *err, size_t errlen)
{
    int error = nmovs_op_run(op);

    if (error != -EAGAIN) {
        *n_missing = nmovs_op_count(op);
        *changed = nmovs_op_changed(op);
        if (error) {
            snprintf(err, errlen, "%s", nmovs_op_error(op));
        }
    }
    return error;
}

static void
sys_port_wait(struct nmovs_op *op)
{
    nmovs_op_wait(op);
}

static size_t
sys_port_failed_doc(const struct nmovs_op *op)
{
    return nmovs_op_failed_doc(op);
}

static void
sys_port_end(struct nmovs_op *op, bool finish)
{
    if (finish) {
        /* Its outcome is the rollback's to undo, whatever it is. */
        int error = nmovs_op_finish(op, NULL, 0);
        (void) error;
    }
    nmovs_op_destroy(op);
}

static struct nmovs_op *
sys_port_remove_start(struct netmoved *nm, const char *staged_by)
{
    return nmovs_remove_staged_start(nm->db, staged_by);
}

static int
sys_port_activate(struct netmoved *nm, const char *vm, char *err,
                  size_t errlen)
{
    return nmovs_activate(nm->db, vm, err, errlen);
}

static int
sys_port_activate_many(struct netmoved *nm, const char *const *vms, size_t n,
                       char *err, size_t errlen)
{
    return nmovs_activate_many(nm->db, vms, n, err, errlen);
}

static unsigned int
sys_db_seqno(struct netmoved *nm)
{
    return nmovs_db_seqno(nm->db);
}

static uint32_t
sys_vm_ports_hash(struct netmoved *nm, const char *vm)
{
    return nmovs_vm_ports_hash(nm->db, vm);
}

static void
sys_drain_forward(struct netmoved *nm, uint32_t in_port, const void *frame,
                  size_t len)
{
    struct nmovs_relay *relay = nm_relay(nm, NULL);
    int error = relay ? nmovs_relay_forward(relay, in_port, frame, len)
                      : -ENOTCONN;
    if (error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);
        VLOG_WARN_RL(&rl, "relay: a frame not forwarded: %s",
                     ovs_strerror(-error));
    }
}

static int
sys_frame_vlan(struct netmoved *nm, uint32_t ofport, const void *frame,
               size_t len)
{
    return nmovs_frame_vlan(nm->db, nm->cfg->bridge, ofport, frame, len);
}

static int
sys_vm_iface_by_mac(struct netmoved *nm, const char *vm, struct eth_addr mac,
                    char **name, uint32_t *ofport)
{
    return nmovs_vm_iface_by_mac(nm->db, vm, mac, name, ofport);
}

static int
sys_fw_import(struct netmoved *nm OVS_UNUSED, const char *vm,
              struct fw_ruleset *rs, char *err, size_t errlen)
{
    return fw_import_scoped(rs, vm, err, errlen);
}

static int
sys_fw_import_many(struct netmoved *nm OVS_UNUSED,
                   struct fw_ruleset *const *rs, size_t n, char *err,
                   size_t errlen)
{
    return fw_import_scoped_many(rs, n, err, errlen);
}

static int
sys_fw_remove(struct netmoved *nm OVS_UNUSED, const char *vm,
              size_t *n_removed, char *err, size_t errlen)
{
    return fw_remove(vm, n_removed, err, errlen);
}

static int
sys_ct_import(struct netmoved *nm OVS_UNUSED, const struct ct_scope *scope,
              const struct ct_table *tab, size_t *created, size_t *updated,
              size_t *deleted, char *err, size_t errlen)
{
    return ct_import_scoped(tab, scope, created, updated, deleted,
                            err, errlen);
}

static int
sys_ct_remove(struct netmoved *nm OVS_UNUSED, const struct ct_filter *filter,
              size_t *n_removed, char *err, size_t errlen)
{
    return ct_remove(filter, n_removed, err, errlen);
}

static int
sys_announce_add(struct netmoved *nm, const struct garp_vm *vm,
                 uint64_t now_us, size_t *idx, char *err, size_t errlen)
{
    return garp_announcer_add(nm->announcer, vm, now_us, idx, err, errlen);
}

static int
sys_announce_run(struct netmoved *nm, uint64_t now_us)
{
    return garp_announcer_run(nm->announcer, now_us);
}

static int
sys_announce_first(struct netmoved *nm)
{
    return garp_announcer_first(nm->announcer);
}

static int
sys_announce_uplink(struct netmoved *nm, uint32_t ofport,
                    struct garp_uplink *up)
{
    int vid;

    if (!nm->cfg->uplink) {
        return -ENOENT;
    }
    vid = nmovs_uplink_vlan(nm->db, nm->cfg->bridge, ofport, nm->cfg->uplink,
                            &up->ofport);
    if (vid < 0) {
        return vid;
    }
    up->vlan = (struct garp_vlan) { .vid = vid };
    return 0;
}

static void
sys_announce_cancel(struct netmoved *nm, size_t idx)
{
    garp_announcer_cancel(nm->announcer, idx);
}

static int
sys_ofport(struct netmoved *nm, const char *port, uint32_t *ofport,
           char *err, size_t errlen)
{
    return garp_sender_port(nm->sender, port, ofport, err, errlen);
}

/* The drain's hold and outputs, on netmoved's relay connection
 * (daemon/relay.h), opened on first use. */
static uint32_t
sys_drain_key(struct netmoved *nm, nmovs_relay_cb *cb, void *aux)
{
    char *error = NULL;

    if (!nm_relay(nm, &error)) {
        VLOG_WARN("drain: relay connection: %s", error);
        free(error);
        return 0;
    }
    return nm_relay_key(nm, cb, aux);
}

/* Past this many seconds the switch removes the hold by itself, should
 * netmoved die before it does (a failsafe; netmoved releases it on its own
 * timers long before). */
#define DRAIN_HOLD_HARD_TIMEOUT_S 30

static int
sys_drain_hold(struct netmoved *nm, uint32_t key, struct eth_addr mac)
{
    struct nmovs_relay *r = nm_relay(nm, NULL);

    return r ? nmovs_relay_catch(r, key, mac, DRAIN_HOLD_HARD_TIMEOUT_S)
             : -ENOTCONN;
}

static void
sys_drain_release(struct netmoved *nm, uint32_t key)
{
    nm_relay_forget(nm, key);
}

static int
sys_drain_output(struct netmoved *nm, uint32_t ofport, const void *data,
                 size_t len)
{
    struct nmovs_relay *r = nm_relay(nm, NULL);

    return r ? nmovs_relay_output(r, ofport, data, len) : -ENOTCONN;
}

const struct mig_ops mig_ops_system = {
    .request = sys_request,
    .cancel = sys_cancel,
    .port_start = sys_port_start,
    .port_step = sys_port_step,
    .port_wait = sys_port_wait,
    .port_end = sys_port_end,
    .port_failed_doc = sys_port_failed_doc,
    .port_remove_start = sys_port_remove_start,
    .port_activate = sys_port_activate,
    .port_activate_many = sys_port_activate_many,
    .db_seqno = sys_db_seqno,
    .vm_ports_hash = sys_vm_ports_hash,
    .frame_vlan = sys_frame_vlan,
    .drain_forward = sys_drain_forward,
    .vm_iface_by_mac = sys_vm_iface_by_mac,
    .fw_import = sys_fw_import,
    .fw_import_many = sys_fw_import_many,
    .fw_remove = sys_fw_remove,
    .ct_import = sys_ct_import,
    .ct_remove = sys_ct_remove,
    .announce_add = sys_announce_add,
    .announce_run = sys_announce_run,
    .announce_first = sys_announce_first,
    .announce_uplink = sys_announce_uplink,
    .announce_cancel = sys_announce_cancel,
    .ofport = sys_ofport,
    .drain_key = sys_drain_key,
    .drain_hold = sys_drain_hold,
    .drain_release = sys_drain_release,
    .drain_output = sys_drain_output,
};
