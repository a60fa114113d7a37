/* ovs: remove VMs' ports in one OVSDB transaction (a host evacuated in one
 * go).  Removing what is not there succeeds. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovsdb-idl.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-int.h"

struct removal {
    struct nmovs_db *db;
    const char *const *vms;
    size_t n_vms;
    size_t n_removed;
    int64_t next_cfg;
};

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

static int
removal_build(struct ovsdb_idl_txn *txn, void *r_, char *err, size_t errlen)
{
    struct removal *r = r_;
    (void) err;
    (void) errlen;

    r->n_removed = 0;
    for (size_t v = 0; v < r->n_vms; v++) {
        struct nmovs_vm_port *ports;
        size_t n = nmovs_find_vm_ports(r->db, r->vms[v], &ports);

        for (size_t i = 0; i < n; i++) {
            const struct ovsrec_port *port = ports[i].port;
            /* ovs-vsctl del-port BR PORT.  Port and Interface are not root
             * tables: once out of Bridge:ports, ovsdb-server deletes them.
             * Their QoS is a root row, deleted in the same transaction, so
             * the port must let go of it first. */
            ovsrec_bridge_verify_ports(ports[i].br);
            ovsrec_bridge_update_ports_delvalue(ports[i].br, port);
            if (port->qos) {
                const struct ovsrec_qos *qos = port->qos;
                ovsrec_port_set_qos(port, NULL);
                nmovs_gc_qos(r->db, qos, port);
            }
            r->n_removed++;
        }
        free(ports);
    }
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
    struct nmovs_vm_port *all = NULL;
    size_t n_all = 0;

    for (size_t v = 0; v < r->n_vms; v++) {
        struct nmovs_vm_port *ports;
        size_t n = nmovs_find_vm_ports(r->db, r->vms[v], &ports);

        all = xrealloc(all, (n_all + n + 1) * sizeof *all);
        for (size_t i = 0; i < n; i++) {
            all[n_all++] = ports[i];
        }
        free(ports);
    }
    int error = nmovs_set_ports_blocked(r->db, all, n_all, false, err,
                                        errlen);
    free(all);
    /* No ovs-vswitchd (no management socket): no flows either. */
    return error == -ENOENT ? 0 : error;
}

int
nmovs_remove(struct nmovs_db *db, const char *const *vms, size_t n,
             int timeout_ms, size_t *n_removed, char *err, size_t errlen)
{
    static const struct nmovs_txn_ops ops = {
        .comment = "netmove: port remove",
        .build = removal_build,
        .committed = removal_committed,
    };
    long long int deadline = time_msec() + timeout_ms;
    struct removal r = { .db = db, .vms = vms, .n_vms = n };
    bool changed;

    *n_removed = 0;
    int error = unblock_all(&r, err, errlen);
    if (!error) {
        error = nmovs_db_transact(db, &ops, &r, deadline, &changed,
                                  err, errlen);
    }
    if (error) {
        return error;
    }
    *n_removed = r.n_removed;
    /* Wait until ovs-vswitchd has taken the ports out of the datapath. */
    while (r.n_removed) {
        const struct ovsrec_open_vswitch *ovs
            = ovsrec_open_vswitch_first(db->idl);
        if (!ovs || ovs->cur_cfg >= r.next_cfg) {
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
