/* ovs: the OVSDB connection (OVS IDL): open, wait for the first contents,
 * one transaction with verify and retry. */
#include "ovs/ovs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirs.h"
#include "openvswitch/poll-loop.h"
#include "ovsdb-idl.h"
#include "hash.h"
#include "packets.h"
#include "smap.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"

/* Only the columns netmove reads or writes are replicated. */
static void
register_columns(struct ovsdb_idl *idl)
{
    static const struct ovsdb_idl_column *const columns[] = {
        &ovsrec_open_vswitch_col_next_cfg,
        &ovsrec_open_vswitch_col_cur_cfg,
        &ovsrec_bridge_col_name,
        &ovsrec_bridge_col_ports,
        &ovsrec_port_col_name,
        &ovsrec_port_col_interfaces,
        &ovsrec_port_col_tag,
        &ovsrec_port_col_trunks,
        &ovsrec_port_col_vlan_mode,
        &ovsrec_port_col_external_ids,
        &ovsrec_port_col_other_config,
        &ovsrec_port_col_qos,
        &ovsrec_interface_col_name,
        &ovsrec_interface_col_type,
        &ovsrec_interface_col_options,
        &ovsrec_interface_col_external_ids,
        &ovsrec_interface_col_other_config,
        &ovsrec_interface_col_mtu_request,
        &ovsrec_interface_col_ingress_policing_rate,
        &ovsrec_interface_col_ingress_policing_burst,
        &ovsrec_interface_col_ofport_request,
        &ovsrec_interface_col_ofport,
        &ovsrec_interface_col_mac_in_use,
        &ovsrec_interface_col_error,
        &ovsrec_qos_col_type,
        &ovsrec_qos_col_other_config,
        &ovsrec_qos_col_external_ids,
        &ovsrec_qos_col_queues,
        &ovsrec_queue_col_dscp,
        &ovsrec_queue_col_other_config,
        &ovsrec_queue_col_external_ids,
    };
    static const struct ovsdb_idl_table_class *const tables[] = {
        &ovsrec_table_open_vswitch, &ovsrec_table_bridge, &ovsrec_table_port,
        &ovsrec_table_interface, &ovsrec_table_qos, &ovsrec_table_queue,
    };

    for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
        ovsdb_idl_add_table(idl, tables[i]);
    }
    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
        ovsdb_idl_add_column(idl, columns[i]);
    }
}

/* 'retry' false: a CLI reports an unreachable database at once; true: a
 * daemon reconnects for ever. */
static struct nmovs_db *
db_create(const char *remote, const char *rundir, bool retry)
{
    struct nmovs_db *db = xzalloc(sizeof *db);

    db->rundir = xstrdup(rundir ? rundir : ovs_rundir());
    db->remote = remote ? xstrdup(remote)
                        : xasprintf("unix:%s/db.sock", db->rundir);
    db->idl = ovsdb_idl_create(db->remote, &ovsrec_idl_class, false, retry);
    register_columns(db->idl);
    return db;
}

/* Runs the IDL until it has its first contents and the server has acked
 * condition change 'cond_seqno'. */
static int
db_sync(struct nmovs_db *db, unsigned int cond_seqno, long long int deadline,
        char *err, size_t errlen)
{
    ovsdb_idl_run(db->idl);
    while (!ovsdb_idl_has_ever_connected(db->idl)
           || ovsdb_idl_get_condition_seqno(db->idl) != cond_seqno) {
        if (!ovsdb_idl_is_alive(db->idl) || time_msec() >= deadline) {
            int last = ovsdb_idl_get_last_error(db->idl);
            snprintf(err, errlen, "cannot connect to OVSDB at %s: %s",
                     db->remote, last ? ovs_retval_to_string(last)
                     : "timed out");
            return last ? -last : -ETIMEDOUT;
        }
        ovsdb_idl_wait(db->idl);
        poll_timer_wait_until(deadline);
        poll_block();
        ovsdb_idl_run(db->idl);
    }
    return 0;
}

int
nmovs_db_open(const char *remote, const char *rundir, int timeout_ms,
              struct nmovs_db **dbp, char *err, size_t errlen)
{
    struct nmovs_db *db = db_create(remote, rundir, false);

    *dbp = NULL;
    int error = db_sync(db, ovsdb_idl_get_condition_seqno(db->idl),
                        time_msec() + timeout_ms, err, errlen);
    if (error) {
        nmovs_db_close(db);
        return error;
    }
    *dbp = db;
    return 0;
}

/* Interfaces that name 'vm' as the VM lookup does (vm_ports.c). */
static unsigned int
condition_vm_ifaces(struct ovsdb_idl *idl, const char *vm)
{
    static const char *const keys[] = {
        "vm-id", "vm-uuid", "iface-id", "attached-mac",
    };
    struct ovsdb_idl_condition cond;
    char *lower = xstrdup(vm);

    ovsdb_idl_condition_init(&cond);
    ovsrec_interface_add_clause_name(&cond, OVSDB_F_EQ, vm);
    for (char *c = lower; *c; c++) {
        *c = tolower((unsigned char) *c);
    }
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        struct smap kv = SMAP_INITIALIZER(&kv);
        smap_add(&kv, keys[i], i == 3 ? lower : vm);
        ovsrec_interface_add_clause_external_ids(&cond, OVSDB_F_INCLUDES,
                                                 &kv);
        smap_destroy(&kv);
    }
    unsigned int seqno = ovsrec_interface_set_condition(idl, &cond);
    ovsdb_idl_condition_destroy(&cond);
    free(lower);
    return seqno;
}

/* Ports named 'vm' or holding one of the replicated interfaces. */
static unsigned int
condition_vm_ports(struct ovsdb_idl *idl, const char *vm)
{
    const struct ovsrec_interface *iface;
    struct ovsdb_idl_condition cond;

    ovsdb_idl_condition_init(&cond);
    ovsrec_port_add_clause_name(&cond, OVSDB_F_EQ, vm);
    OVSREC_INTERFACE_FOR_EACH (iface, idl) {
        struct uuid *u = CONST_CAST(struct uuid *, &iface->header_.uuid);
        ovsrec_port_add_clause_interfaces(&cond, OVSDB_F_INCLUDES, &u, 1);
    }
    unsigned int seqno = ovsrec_port_set_condition(idl, &cond);
    ovsdb_idl_condition_destroy(&cond);
    return seqno;
}

/* True if every interface of every replicated port is replicated too. */
static bool
ports_complete(struct ovsdb_idl *idl)
{
    const struct ovsrec_port *port;

    OVSREC_PORT_FOR_EACH (port, idl) {
        const struct ovsdb_datum *d = ovsrec_port_get_interfaces(
            port, OVSDB_TYPE_UUID);
        if (d->n != port->n_interfaces) {
            return false;
        }
    }
    return true;
}

int
nmovs_db_open_vm(const char *remote, const char *rundir, int timeout_ms,
                 const char *vm, struct nmovs_db **dbp, char *err,
                 size_t errlen)
{
    long long int deadline = time_msec() + timeout_ms;
    struct nmovs_db *db = db_create(remote, rundir, false);
    struct ovsdb_idl_condition cond;

    *dbp = NULL;
    /* First the VM's interfaces (and a port named 'vm'), then the ports
     * that hold them.  Bridges, QoS and queues are few: all of them. */
    condition_vm_ifaces(db->idl, vm);
    ovsdb_idl_condition_init(&cond);
    ovsrec_port_add_clause_name(&cond, OVSDB_F_EQ, vm);
    ovsrec_port_set_condition(db->idl, &cond);
    ovsdb_idl_condition_destroy(&cond);
    /* Conditions set before the first connection go with the initial
     * monitor request and are acked without a sequence number change. */
    int error = db_sync(db, ovsdb_idl_get_condition_seqno(db->idl), deadline,
                        err, errlen);
    if (!error) {
        error = db_sync(db, condition_vm_ports(db->idl, vm), deadline,
                        err, errlen);
    }
    if (!error && !ports_complete(db->idl)) {
        /* A port found by name holds interfaces found by nothing: take
         * them all rather than miss one. */
        ovsdb_idl_condition_init(&cond);
        ovsdb_idl_condition_add_clause_true(&cond);
        unsigned int seqno = ovsrec_interface_set_condition(db->idl, &cond);
        ovsdb_idl_condition_destroy(&cond);
        error = db_sync(db, seqno, deadline, err, errlen);
    }
    if (error) {
        nmovs_db_close(db);
        return error;
    }
    *dbp = db;
    return 0;
}

struct nmovs_db *
nmovs_db_create(const char *remote, const char *rundir)
{
    struct nmovs_db *db = db_create(remote, rundir, true);

    /* A local socket: a dead server is seen at once; no probes needed. */
    ovsdb_idl_set_probe_interval(db->idl, 0);
    return db;
}

bool
nmovs_db_is_synced(const struct nmovs_db *db)
{
    return ovsdb_idl_is_connected(db->idl)
           && ovsdb_idl_has_ever_connected(db->idl);
}

/* Sends the barrier: flips the Open_vSwitch table's condition between
 * "true" and "cur_cfg != INT64_MIN", which select the same single row. */
static void
sync_flip(struct nmovs_db *db)
{
    struct ovsdb_idl_condition cond;

    ovsdb_idl_condition_init(&cond);
    db->sync_flip = !db->sync_flip;
    if (db->sync_flip) {
        ovsrec_open_vswitch_add_clause_cur_cfg(&cond, OVSDB_F_NE,
                                               INT64_MIN);
    } else {
        ovsdb_idl_condition_add_clause_true(&cond);
    }
    db->sync_seqno = ovsrec_open_vswitch_set_condition(db->idl, &cond);
    ovsdb_idl_condition_destroy(&cond);
    db->sync_covers = db->sync_requested;
    db->sync_inflight = true;
    db->sync_lost = !ovsdb_idl_is_connected(db->idl);
    db->sync_sent_ms = time_msec();
}

/* A flip unanswered this long is sent again (flips are idempotent): a
 * reconnection can fold the one in flight into its monitor request, never
 * acknowledged, and it may happen inside a nested wait (an import's) where
 * nmovs_db_run() does not see the connection drop. */
#define SYNC_RESEND_MS 1000

void
nmovs_db_run(struct nmovs_db *db)
{
    ovsdb_idl_run(db->idl);
    if (!db->sync_inflight) {
        if (db->sync_requested > db->sync_done) {
            sync_flip(db);
        }
        return;
    }
    if (!ovsdb_idl_is_connected(db->idl)) {
        /* A flip in flight may be folded into the reconnection's monitor
         * request, never acknowledged: send another once connected. */
        db->sync_lost = true;
    } else if (db->sync_lost
               || time_msec() >= db->sync_sent_ms + SYNC_RESEND_MS) {
        sync_flip(db);
    } else if ((int) (ovsdb_idl_get_condition_seqno(db->idl)
                      - db->sync_seqno) >= 0) {
        db->sync_done = db->sync_covers;
        db->sync_inflight = false;
        if (db->sync_requested > db->sync_done) {
            sync_flip(db);
        }
    }
}

void
nmovs_db_poll_wait(struct nmovs_db *db)
{
    ovsdb_idl_wait(db->idl);
    if (db->sync_requested > db->sync_done && !db->sync_inflight) {
        poll_immediate_wake();
    } else if (db->sync_inflight) {
        poll_timer_wait_until(db->sync_sent_ms + SYNC_RESEND_MS);
    }
}

uint64_t
nmovs_db_sync_request(struct nmovs_db *db)
{
    return ++db->sync_requested;
}

bool
nmovs_db_sync_done(const struct nmovs_db *db, uint64_t ticket)
{
    return db->sync_done >= ticket;
}

unsigned int
nmovs_db_seqno(const struct nmovs_db *db)
{
    return ovsdb_idl_get_seqno(db->idl);
}

uint32_t
nmovs_vm_ports_hash(struct nmovs_db *db, const char *vm)
{
    struct nmovs_vm_port *ports;
    size_t n = nmovs_find_vm_ports(db, vm, &ports);
    uint32_t hash = 0;

    for (size_t i = 0; i < n; i++) {
        hash = hash_add(hash, uuid_hash(&ports[i].port->header_.uuid));
    }
    free(ports);
    return n ? hash_finish(hash, n) | 1 : 0;
}

int
nmovs_vm_iface_by_mac(struct nmovs_db *db, const char *vm,
                      struct eth_addr mac, char **namep, uint32_t *ofport)
{
    struct nmovs_vm_port *ports;
    size_t n = nmovs_find_vm_ports(db, vm, &ports);
    int error = -ENOENT;

    *namep = NULL;
    *ofport = 0;
    for (size_t i = 0; i < n && error; i++) {
        for (size_t k = 0; k < ports[i].port->n_interfaces; k++) {
            const struct ovsrec_interface *iface
                = ports[i].port->interfaces[k];
            const char *s = smap_get(&iface->external_ids, "attached-mac");
            struct eth_addr ea;
            if (s && eth_addr_from_string(s, &ea)
                && eth_addr_equals(ea, mac)) {
                *namep = xstrdup(iface->name);
                *ofport = nmovs_iface_ofport(iface);
                error = 0;
                break;
            }
        }
    }
    free(ports);
    return error;
}

size_t
nmovs_vm_ifaces(struct nmovs_db *db, struct nmovs_vm_iface **ifacesp)
{
    const struct ovsrec_port *port;
    struct nmovs_vm_iface *v = NULL;
    size_t n = 0, allocated = 0;

    OVSREC_PORT_FOR_EACH (port, db->idl) {
        for (size_t k = 0; k < port->n_interfaces; k++) {
            const struct ovsrec_interface *iface = port->interfaces[k];
            const struct smap *ids = &iface->external_ids;
            const char *s = smap_get(ids, "attached-mac");
            const char *vm = smap_get(ids, "vm-id");
            struct eth_addr ea;
            if (!s || !eth_addr_from_string(s, &ea)) {
                continue;
            }
            vm = vm ? vm : smap_get(ids, "vm-uuid");
            vm = vm ? vm : smap_get(ids, "iface-id");
            if (n == allocated) {
                v = x2nrealloc(v, &allocated, sizeof *v);
            }
            v[n].name = xstrdup(iface->name);
            v[n].mac = ea;
            v[n].vm = nullable_xstrdup(vm);
            v[n].tag = port->n_tag ? *port->tag : 0;
            n++;
        }
    }
    *ifacesp = v;
    return n;
}

void
nmovs_vm_ifaces_free(struct nmovs_vm_iface *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].vm);
    }
    free(v);
}

void
nmovs_db_close(struct nmovs_db *db)
{
    if (db) {
        nmovs_vm_index_destroy(db->vm_index);
        ovsdb_idl_destroy(db->idl);
        free(db->remote);
        free(db->rundir);
        free(db);
    }
}

void
nmovs_txn_init(struct nmovs_txn *t, struct nmovs_db *db,
               const struct nmovs_txn_ops *ops, void *aux,
               long long int deadline)
{
    memset(t, 0, sizeof *t);
    t->db = db;
    t->ops = ops;
    t->aux = aux;
    t->deadline = deadline;
}

/* Builds the transaction from the replica as it is now and sends it. */
static int
txn_build(struct nmovs_txn *t, char *err, size_t errlen)
{
    /* The replica this one is built from: a retry waits for a newer one
     * (the change that made the server refuse it may already be here by
     * the time its TRY_AGAIN is, as ovs-vsctl counts). */
    t->retry_seqno = ovsdb_idl_get_seqno(t->db->idl);
    t->txn = ovsdb_idl_txn_create(t->db->idl);
    ovsdb_idl_txn_add_comment(t->txn, "%s", t->ops->comment);
    int error = t->ops->build(t->txn, t->aux, err, errlen);
    if (error) {
        ovsdb_idl_txn_destroy(t->txn);
        t->txn = NULL;
    }
    return error;
}

int
nmovs_txn_run(struct nmovs_txn *t, char *err, size_t errlen)
{
    for (;;) {
        if (!t->txn) {
            if (t->retrying) {
                /* What we verified changed: rebuild from the new contents,
                 * once they are here. */
                if (!ovsdb_idl_is_alive(t->db->idl)) {
                    snprintf(err, errlen, "OVSDB transaction: connection "
                             "lost");
                    return -ECONNRESET;
                }
                if (ovsdb_idl_get_seqno(t->db->idl) == t->retry_seqno) {
                    if (time_msec() >= t->deadline) {
                        snprintf(err, errlen, "OVSDB transaction: timed out "
                                 "retrying");
                        return -ETIMEDOUT;
                    }
                    return -EAGAIN;
                }
                t->retrying = false;
            }
            int error = txn_build(t, err, errlen);
            if (error) {
                return error;
            }
        }

        /* The first call sends it; later ones read its status. */
        enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit(t->txn);
        switch (status) {
        case TXN_INCOMPLETE:
            if (time_msec() >= t->deadline) {
                nmovs_txn_destroy(t);
                snprintf(err, errlen, "OVSDB transaction timed out");
                return -ETIMEDOUT;
            }
            return -EAGAIN;
        case TXN_SUCCESS:
        case TXN_UNCHANGED:
            t->changed = status == TXN_SUCCESS;
            if (t->ops->committed) {
                t->ops->committed(t->txn, t->aux);
            }
            nmovs_txn_destroy(t);
            return 0;
        case TXN_TRY_AGAIN:
            nmovs_txn_destroy(t);
            t->retrying = true;         /* Once past 't->retry_seqno'. */
            break;
        case TXN_UNCOMMITTED:
        case TXN_ABORTED:
        case TXN_NOT_LOCKED:
        case TXN_ERROR:
        default:
            snprintf(err, errlen, "OVSDB transaction failed: %s (%s)",
                     ovsdb_idl_txn_status_to_string(status),
                     ovsdb_idl_txn_get_error(t->txn));
            nmovs_txn_destroy(t);
            return -EIO;
        }
    }
}

void
nmovs_txn_wait(const struct nmovs_txn *t)
{
    if (t->txn) {
        ovsdb_idl_txn_wait(t->txn);
    }
    /* The replica's changes (a retry's wake-up) come with the IDL's own
     * wait, which the loop's owner of the database does. */
    poll_timer_wait_until(t->deadline);
}

void
nmovs_txn_destroy(struct nmovs_txn *t)
{
    if (t->txn) {
        /* One still in flight is forgotten: its reply is dropped. */
        ovsdb_idl_txn_destroy(t->txn);
        t->txn = NULL;
    }
}

const struct ovsrec_bridge *
nmovs_port_bridge(struct nmovs_db *db, const struct ovsrec_port *port)
{
    const struct ovsrec_bridge *br;

    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            if (br->ports[i] == port) {
                return br;
            }
        }
    }
    return NULL;
}
