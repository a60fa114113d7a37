/* ovs: remove ports in one OVSDB transaction: VMs' ports (a host evacuated
 * in one go), the ports one migration staged (its rollback), or ports by
 * exact name (a failed import).  Removing what is not there succeeds. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovsdb-idl.h"
#include "smap.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"

/* What a removal removes: 'select' stores the ports in a malloc'd array
 * and returns their number. */
struct removal {
    struct nmovs_db *db;
    size_t (*select)(struct removal *, struct nmovs_vm_port **);
    const char *const *names;   /* VMs or port names, for 'select'. */
    size_t n_names;
    const char *staged_by;      /* For select_staged(). */
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

static int
run_removal(struct removal *r, int timeout_ms, size_t *n_removed, char *err,
            size_t errlen)
{
    static const struct nmovs_txn_ops ops = {
        .comment = "netmove: port remove",
        .build = removal_build,
        .committed = removal_committed,
    };
    long long int deadline = time_msec() + timeout_ms;
    struct nmovs_db *db = r->db;
    bool changed;

    *n_removed = 0;
    int error = unblock_all(r, err, errlen);
    if (!error) {
        error = nmovs_db_transact(db, &ops, r, deadline, &changed,
                                  err, errlen);
    }
    if (error) {
        return error;
    }
    *n_removed = r->n_removed;
    /* Wait until ovs-vswitchd has taken the ports out of the datapath. */
    while (r->n_removed) {
        const struct ovsrec_open_vswitch *ovs
            = ovsrec_open_vswitch_first(db->idl);
        if (!ovs || ovs->cur_cfg >= r->next_cfg) {
            break;
        }
        error = nmovs_db_wait(db, deadline);
        if (error) {
            snprintf(err, errlen, "ovs-vswitchd did not apply the removal "
                     "within %d ms", timeout_ms);
            return error;
        }
    }
    return 0;
}

int
nmovs_remove(struct nmovs_db *db, const char *const *vms, size_t n,
             int timeout_ms, size_t *n_removed, char *err, size_t errlen)
{
    struct removal r = { .db = db, .select = select_vms, .names = vms,
                         .n_names = n };
    return run_removal(&r, timeout_ms, n_removed, err, errlen);
}

int
nmovs_remove_staged(struct nmovs_db *db, const char *staged_by,
                    size_t *n_removed, char *err, size_t errlen)
{
    struct removal r = { .db = db, .select = select_staged,
                         .staged_by = staged_by };

    if (!staged_by || !staged_by[0]) {
        *n_removed = 0;
        snprintf(err, errlen, "remove staged ports: no migration named");
        return -EINVAL;
    }
    return run_removal(&r, NMOVS_REMOVE_STAGED_TIMEOUT_MS, n_removed, err,
                       errlen);
}

int
nmovs_remove_port_names(struct nmovs_db *db, const char *const *names,
                        size_t n, int timeout_ms, size_t *n_removed,
                        char *err, size_t errlen)
{
    struct removal r = { .db = db, .select = select_names, .names = names,
                         .n_names = n };
    return run_removal(&r, timeout_ms, n_removed, err, errlen);
}
