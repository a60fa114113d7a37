/* ovs: remove ports in one OVSDB transaction: VMs' ports (a host evacuated
 * in one go), the ports one migration staged (its rollback), or ports by
 * exact name (a failed import).  Removing what is not there succeeds. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/poll-loop.h"
#include "ovsdb-idl.h"
#include "smap.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"
#include "ovs/op-private.h"

/* What a removal removes: 'select' stores the ports in a malloc'd array
 * and returns their number. */
struct removal {
    struct nmovs_db *db;
    size_t (*select)(struct removal *, struct nmovs_vm_port **);
    char **names;               /* VMs or port names, for 'select'. */
    size_t n_names;
    char *staged_by;            /* For select_staged(). */
    size_t n_removed;
    int64_t next_cfg;
};

static void
append_port(struct nmovs_vm_port **ports, size_t *n, size_t *allocated,
            const struct ovsrec_bridge *br, const struct ovsrec_port *port)
{
    if (*n >= *allocated) {
        *ports = x2nrealloc(*ports, allocated, sizeof **ports);
    }
    (*ports)[*n].br = br;
    (*ports)[(*n)++].port = port;
}

/* The ports of the VMs in 'names'. */
static size_t
select_vms(struct removal *r, struct nmovs_vm_port **portsp)
{
    struct nmovs_vm_port *all = NULL;
    size_t n_all = 0, allocated = 0;

    for (size_t v = 0; v < r->n_names; v++) {
        struct nmovs_vm_port *ports;
        size_t n = nmovs_find_vm_ports(r->db, r->names[v], &ports);

        for (size_t i = 0; i < n; i++) {
            append_port(&all, &n_all, &allocated, ports[i].br,
                        ports[i].port);
        }
        free(ports);
    }
    *portsp = all;
    return n_all;
}

/* The ports named in 'names'. */
static size_t
select_names(struct removal *r, struct nmovs_vm_port **portsp)
{
    const struct ovsrec_bridge *br;
    struct nmovs_vm_port *all = NULL;
    size_t n_all = 0, allocated = 0;

    OVSREC_BRIDGE_FOR_EACH (br, r->db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            for (size_t v = 0; v < r->n_names; v++) {
                if (!strcmp(br->ports[i]->name, r->names[v])) {
                    append_port(&all, &n_all, &allocated, br, br->ports[i]);
                    break;
                }
            }
        }
    }
    *portsp = all;
    return n_all;
}

/* The ports whose external_ids netmove-staged is 'staged_by'. */
static size_t
select_staged(struct removal *r, struct nmovs_vm_port **portsp)
{
    const struct ovsrec_bridge *br;
    struct nmovs_vm_port *all = NULL;
    size_t n_all = 0, allocated = 0;

    OVSREC_BRIDGE_FOR_EACH (br, r->db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const char *mark = smap_get(&br->ports[i]->external_ids,
                                        NMOVS_STAGED_KEY);
            if (mark && !strcmp(mark, r->staged_by)) {
                append_port(&all, &n_all, &allocated, br, br->ports[i]);
            }
        }
    }
    *portsp = all;
    return n_all;
}

void
nmovs_gc_qos(struct nmovs_db *db, const struct ovsrec_qos *qos,
             const struct ovsrec_port *except)
{
    const struct ovsrec_port *p;

    OVSREC_PORT_FOR_EACH (p, db->idl) {
        if (p != except && p->qos == qos) {
            return;
        }
    }
    for (size_t i = 0; i < qos->n_queues; i++) {
        const struct ovsrec_queue *q = qos->value_queues[i];
        const struct ovsrec_qos *other;
        bool used = false;

        OVSREC_QOS_FOR_EACH (other, db->idl) {
            for (size_t j = 0; other != qos && j < other->n_queues; j++) {
                used |= other->value_queues[j] == q;
            }
        }
        if (!used) {
            ovsrec_queue_delete(q);
        }
    }
    ovsrec_qos_delete(qos);
}

void
nmovs_delete_port(struct nmovs_db *db, const struct ovsrec_bridge *br,
                  const struct ovsrec_port *port)
{
    /* ovs-vsctl del-port BR PORT.  Port and Interface are not root tables:
     * once out of Bridge:ports, ovsdb-server deletes them.  Their QoS is a
     * root row, deleted in the same transaction, so the port must let go
     * of it first. */
    ovsrec_bridge_verify_ports(br);
    ovsrec_bridge_update_ports_delvalue(br, port);
    if (port->qos) {
        const struct ovsrec_qos *qos = port->qos;
        ovsrec_port_set_qos(port, NULL);
        nmovs_gc_qos(db, qos, port);
    }
}

static int
removal_build(struct ovsdb_idl_txn *txn, void *r_, char *err, size_t errlen)
{
    struct removal *r = r_;
    (void) err;
    (void) errlen;

    struct nmovs_vm_port *ports;
    size_t n = r->select(r, &ports);

    for (size_t i = 0; i < n; i++) {
        nmovs_delete_port(r->db, ports[i].br, ports[i].port);
    }
    free(ports);
    r->n_removed = n;
    if (r->n_removed) {
        const struct ovsrec_open_vswitch *ovs
            = ovsrec_open_vswitch_first(r->db->idl);
        if (ovs) {
            ovsdb_idl_txn_increment(txn, &ovs->header_,
                                    &ovsrec_open_vswitch_col_next_cfg, false);
        }
    }
    return 0;
}

static void
removal_committed(struct ovsdb_idl_txn *txn, void *r_)
{
    struct removal *r = r_;

    r->next_cfg = r->n_removed ? ovsdb_idl_txn_get_increment_new_value(txn)
                               : 0;
}

/* A blocked port's flows match its OpenFlow port number: remove them with
 * the port, or the next port to get that number would be born blocked. */
static int
unblock_all(struct removal *r, char *err, size_t errlen)
{
    struct nmovs_vm_port *all;
    size_t n_all = r->select(r, &all);
    int error = nmovs_set_ports_blocked(r->db, all, n_all, false, err,
                                        errlen);
    free(all);
    /* No ovs-vswitchd (no management socket): no flows either. */
    return error == -ENOENT ? 0 : error;
}

/* A removal as a step (op.c): the blocking flows, the transaction, then
 * ovs-vswitchd's taking the ports out of the datapath. */
struct removal_op {
    struct nmovs_op up;
    struct removal r;
    enum {
        REMOVAL_START,          /* Nothing done yet. */
        REMOVAL_TXN,            /* The transaction is in flight. */
        REMOVAL_APPLY,          /* Waiting for ovs-vswitchd. */
    } phase;
    struct nmovs_txn txn;
    int timeout_ms;
    long long int deadline;
};

static struct removal_op *
removal_op_cast(struct nmovs_op *op)
{
    return CONTAINER_OF(op, struct removal_op, up);
}

static int
removal_op_run(struct nmovs_op *op)
{
    static const struct nmovs_txn_ops ops = {
        .comment = "netmove: port remove",
        .build = removal_build,
        .committed = removal_committed,
    };
    struct removal_op *ro = removal_op_cast(op);
    struct removal *r = &ro->r;
    int error;

    switch (ro->phase) {
    case REMOVAL_START:
        error = unblock_all(r, op->err, sizeof op->err);
        if (error) {
            return error;
        }
        nmovs_txn_init(&ro->txn, r->db, &ops, r, ro->deadline);
        ro->phase = REMOVAL_TXN;
        /* Fall through. */
    case REMOVAL_TXN:
        error = nmovs_txn_run(&ro->txn, op->err, sizeof op->err);
        if (error) {
            return error;
        }
        op->changed = ro->txn.changed;
        op->count = r->n_removed;
        ro->phase = REMOVAL_APPLY;
        /* Fall through. */
    case REMOVAL_APPLY: {
        /* Until ovs-vswitchd has taken the ports out of the datapath. */
        const struct ovsrec_open_vswitch *ovs
            = ovsrec_open_vswitch_first(r->db->idl);
        if (!r->n_removed || !ovs || ovs->cur_cfg >= r->next_cfg) {
            return 0;
        }
        if (!ovsdb_idl_is_alive(r->db->idl) || time_msec() >= ro->deadline) {
            snprintf(op->err, sizeof op->err, "ovs-vswitchd did not apply "
                     "the removal within %d ms", ro->timeout_ms);
            return ovsdb_idl_is_alive(r->db->idl) ? -ETIMEDOUT
                                                  : -ECONNRESET;
        }
        return -EAGAIN;
    }
    }
    OVS_NOT_REACHED();
}

static void
removal_op_wait(struct nmovs_op *op)
{
    struct removal_op *ro = removal_op_cast(op);

    if (ro->phase == REMOVAL_START) {
        poll_immediate_wake();
    } else if (ro->phase == REMOVAL_TXN) {
        nmovs_txn_wait(&ro->txn);
    } else {
        /* The replica's changes wake the loop through the IDL's wait. */
        poll_timer_wait_until(ro->deadline);
    }
}

static void
removal_op_destroy(struct nmovs_op *op)
{
    struct removal_op *ro = removal_op_cast(op);

    nmovs_txn_destroy(&ro->txn);
    for (size_t i = 0; i < ro->r.n_names; i++) {
        free(ro->r.names[i]);
    }
    free(ro->r.names);
    free(ro->r.staged_by);
    free(ro);
}

static const struct nmovs_op_class removal_op_class = {
    removal_op_run, removal_op_wait, removal_op_destroy,
};

static struct removal_op *
removal_start(struct nmovs_db *db,
              size_t (*select)(struct removal *, struct nmovs_vm_port **),
              const char *const *names, size_t n, int timeout_ms)
{
    struct removal_op *ro = xzalloc(sizeof *ro);

    nmovs_op_init(&ro->up, &removal_op_class, db);
    ro->r.db = db;
    ro->r.select = select;
    ro->r.names = xcalloc(n + 1, sizeof *ro->r.names);
    for (size_t i = 0; i < n; i++) {
        ro->r.names[i] = xstrdup(names[i]);
    }
    ro->r.n_names = n;
    ro->timeout_ms = timeout_ms;
    ro->deadline = time_msec() + timeout_ms;
    return ro;
}

struct nmovs_op *
nmovs_remove_start(struct nmovs_db *db, const char *const *vms, size_t n,
                   int timeout_ms)
{
    return &removal_start(db, select_vms, vms, n, timeout_ms)->up;
}

struct nmovs_op *
nmovs_remove_staged_start(struct nmovs_db *db, const char *staged_by)
{
    struct removal_op *ro = removal_start(db, select_staged, NULL, 0,
                                          NMOVS_REMOVE_STAGED_TIMEOUT_MS);

    if (!staged_by || !staged_by[0]) {
        snprintf(ro->up.err, sizeof ro->up.err,
                 "remove staged ports: no migration named");
        ro->up.result = -EINVAL;
    } else {
        ro->r.staged_by = xstrdup(staged_by);
    }
    return &ro->up;
}

struct nmovs_op *
nmovs_remove_port_names_start(struct nmovs_db *db, const char *const *names,
                              size_t n, int timeout_ms)
{
    return &removal_start(db, select_names, names, n, timeout_ms)->up;
}

/* Runs 'op' to its end and frees it. */
static int
removal_finish(struct nmovs_op *op, size_t *n_removed, char *err,
               size_t errlen)
{
    int error = nmovs_op_finish(op, err, errlen);

    *n_removed = op->count;
    nmovs_op_destroy(op);
    return error;
}

int
nmovs_remove(struct nmovs_db *db, const char *const *vms, size_t n,
             int timeout_ms, size_t *n_removed, char *err, size_t errlen)
{
    return removal_finish(nmovs_remove_start(db, vms, n, timeout_ms),
                          n_removed, err, errlen);
}

int
nmovs_remove_staged(struct nmovs_db *db, const char *staged_by,
                    size_t *n_removed, char *err, size_t errlen)
{
    return removal_finish(nmovs_remove_staged_start(db, staged_by),
                          n_removed, err, errlen);
}
