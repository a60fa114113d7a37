/* ovs: import port documents in ONE OVSDB transaction: create each port,
 * or update it in place to match (same records, only differing columns
 * written), then wait until ovs-vswitchd has applied it (next_cfg/cur_cfg,
 * then every interface has an ofport) or report Interface:error. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovsdb-idl.h"
#include "smap.h"
#include "sset.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-int.h"
#include "ovs/port-doc-int.h"

struct import {
    struct nmovs_db *db;
    struct nmovs_doc *const *docs;
    size_t n_docs;
    bool wrote;                 /* This build wrote something. */
    struct sset created;        /* Names of the ports this build creates. */
    int64_t next_cfg;           /* After commit, if 'wrote'. */
    bool device_later;          /* nmovs_import_opts.device_later. */
};

static const struct ovsrec_bridge *
find_bridge(struct ovsdb_idl *idl, const char *name)
{
    const struct ovsrec_bridge *br;
    OVSREC_BRIDGE_FOR_EACH (br, idl) {
        if (!strcmp(br->name, name)) {
            return br;
        }
    }
    return NULL;
}

static const struct ovsrec_port *
find_port(struct ovsdb_idl *idl, const char *name)
{
    const struct ovsrec_port *p;
    OVSREC_PORT_FOR_EACH (p, idl) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static const struct ovsrec_interface *
find_iface(struct ovsdb_idl *idl, const char *name)
{
    const struct ovsrec_interface *i;
    OVSREC_INTERFACE_FOR_EACH (i, idl) {
        if (!strcmp(i->name, name)) {
            return i;
        }
    }
    return NULL;
}

static bool
port_has_iface(const struct ovsrec_port *p, const struct ovsrec_interface *i)
{
    for (size_t j = 0; j < p->n_interfaces; j++) {
        if (p->interfaces[j] == i) {
            return true;
        }
    }
    return false;
}

/* An optional integer column: 'n' values (0 or 1) in 'v'. */
static bool
opt_equal(const int64_t *v, size_t n, int64_t want, int64_t unset)
{
    return n ? want != unset && v[0] == want : want == unset;
}

static bool
set_equal(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
    if (na != nb) {
        return false;
    }
    for (size_t i = 0; i < na; i++) {
        size_t j;
        for (j = 0; j < nb && a[i] != b[j]; j++) {
            continue;
        }
        if (j == nb) {
            return false;
        }
    }
    return true;
}

static bool
str_equal(const char *a, const char *b)
{
    return a && b ? !strcmp(a, b) : a == b;
}

/* Each SYNC verifies what it compares, then writes only a difference. */
#define SYNC_SMAP(IMP, TABLE, ROW, COL, WANT)                           \
    do {                                                                \
        ovsrec_##TABLE##_verify_##COL(ROW);                             \
        if (!smap_equal(&(ROW)->COL, WANT)) {                           \
            ovsrec_##TABLE##_set_##COL(ROW, WANT);                      \
            (IMP)->wrote = true;                                        \
        }                                                               \
    } while (0)

#define SYNC_OPT(IMP, TABLE, ROW, COL, WANT, UNSET)                     \
    do {                                                                \
        int64_t want_ = (WANT);                                         \
        ovsrec_##TABLE##_verify_##COL(ROW);                             \
        if (!opt_equal((ROW)->COL, (ROW)->n_##COL, want_, UNSET)) {     \
            ovsrec_##TABLE##_set_##COL(ROW, &want_, want_ != (UNSET));  \
            (IMP)->wrote = true;                                        \
        }                                                               \
    } while (0)

static void
sync_queue(struct import *imp, const struct ovsrec_queue *row,
           const struct nmovs_queue *u)
{
    SYNC_OPT(imp, queue, row, dscp, u->dscp, -1);
    SYNC_SMAP(imp, queue, row, other_config, &u->other_config);
    SYNC_SMAP(imp, queue, row, external_ids, &u->external_ids);
}

/* Queue and QoS are root tables: rows nobody references any more must be
 * deleted explicitly, or they stay forever. */
static bool
queue_is_used_elsewhere(struct import *imp, const struct ovsrec_queue *q,
                        const struct ovsrec_qos *except)
{
    const struct ovsrec_qos *qos;
    OVSREC_QOS_FOR_EACH (qos, imp->db->idl) {
        for (size_t i = 0; qos != except && i < qos->n_queues; i++) {
            if (qos->value_queues[i] == q) {
                return true;
            }
        }
    }
    return false;
}

static void
sync_queues(struct import *imp, struct ovsdb_idl_txn *txn,
            const struct ovsrec_qos *row, const struct nmovs_qos *q)
{
    int64_t *keys = xcalloc(q->n_queues + 1, sizeof *keys);
    struct ovsrec_queue **vals = xcalloc(q->n_queues + 1, sizeof *vals);
    bool same = row->n_queues == q->n_queues;

    ovsrec_qos_verify_queues(row);
    for (size_t i = 0; i < q->n_queues; i++) {
        const struct ovsrec_queue *qr = NULL;
        for (size_t j = 0; j < row->n_queues; j++) {
            if (row->key_queues[j] == q->queues[i].id) {
                qr = row->value_queues[j];
            }
        }
        if (!qr) {
            qr = ovsrec_queue_insert(txn);
            same = false;
        }
        sync_queue(imp, qr, &q->queues[i]);
        keys[i] = q->queues[i].id;
        vals[i] = CONST_CAST(struct ovsrec_queue *, qr);
    }
    if (!same) {
        for (size_t j = 0; j < row->n_queues; j++) {
            bool kept = false;
            for (size_t i = 0; i < q->n_queues; i++) {
                kept |= vals[i] == row->value_queues[j];
            }
            if (!kept && !queue_is_used_elsewhere(imp, row->value_queues[j],
                                                  row)) {
                ovsrec_queue_delete(row->value_queues[j]);
            }
        }
        ovsrec_qos_set_queues(row, keys, vals, q->n_queues);
        imp->wrote = true;
    }
    free(keys);
    free(vals);
}

static void
sync_qos(struct import *imp, struct ovsdb_idl_txn *txn,
         const struct ovsrec_port *port, const struct nmovs_qos *q)
{
    const struct ovsrec_qos *row = port->qos;

    ovsrec_port_verify_qos(port);
    if (!q) {
        if (row) {
            nmovs_gc_qos(imp->db, row, port);
            ovsrec_port_set_qos(port, NULL);
            imp->wrote = true;
        }
        return;
    }
    if (!row) {
        row = ovsrec_qos_insert(txn);
        ovsrec_port_set_qos(port, row);
        imp->wrote = true;
    }
    ovsrec_qos_verify_type(row);
    if (!str_equal(row->type, q->type)) {
        ovsrec_qos_set_type(row, q->type);
        imp->wrote = true;
    }
    SYNC_SMAP(imp, qos, row, other_config, &q->other_config);
    SYNC_SMAP(imp, qos, row, external_ids, &q->external_ids);
    sync_queues(imp, txn, row, q);
}

static void
sync_iface(struct import *imp, const struct ovsrec_interface *row,
           const struct nmovs_iface *f)
{
    ovsrec_interface_verify_type(row);
    if (!str_equal(row->type, f->type)) {
        ovsrec_interface_set_type(row, f->type);
        imp->wrote = true;
    }
    SYNC_SMAP(imp, interface, row, options, &f->options);
    SYNC_SMAP(imp, interface, row, external_ids, &f->external_ids);
    SYNC_SMAP(imp, interface, row, other_config, &f->other_config);
    SYNC_OPT(imp, interface, row, mtu_request, f->mtu_request, 0);
    SYNC_OPT(imp, interface, row, ofport_request, f->ofport_request, 0);
    ovsrec_interface_verify_ingress_policing_rate(row);
    if (row->ingress_policing_rate != f->ingress_policing_rate) {
        ovsrec_interface_set_ingress_policing_rate(row,
                                                   f->ingress_policing_rate);
        imp->wrote = true;
    }
    ovsrec_interface_verify_ingress_policing_burst(row);
    if (row->ingress_policing_burst != f->ingress_policing_burst) {
        ovsrec_interface_set_ingress_policing_burst(row,
                                                    f->ingress_policing_burst);
        imp->wrote = true;
    }
}

static void
sync_port_columns(struct import *imp, const struct ovsrec_port *row,
                  const struct nmovs_port *p)
{
    SYNC_OPT(imp, port, row, tag, p->tag, -1);
    ovsrec_port_verify_trunks(row);
    if (!set_equal(row->trunks, row->n_trunks, p->trunks, p->n_trunks)) {
        ovsrec_port_set_trunks(row, p->trunks, p->n_trunks);
        imp->wrote = true;
    }
    ovsrec_port_verify_vlan_mode(row);
    if (!str_equal(row->vlan_mode, p->vlan_mode)) {
        ovsrec_port_set_vlan_mode(row, p->vlan_mode);
        imp->wrote = true;
    }
    SYNC_SMAP(imp, port, row, external_ids, &p->external_ids);
    SYNC_SMAP(imp, port, row, other_config, &p->other_config);
}

/* Checks that 'p' may be created or updated on this host; stores its
 * bridge and existing row (or NULL). */
static int
check_port(struct import *imp, const struct nmovs_port *p,
           const struct ovsrec_bridge **brp, const struct ovsrec_port **rowp,
           char *err, size_t errlen)
{
    struct ovsdb_idl *idl = imp->db->idl;
    const struct ovsrec_bridge *br = find_bridge(idl, p->bridge);
    const struct ovsrec_port *row = find_port(idl, p->name);

    if (!br) {
        snprintf(err, errlen, "port %s: bridge '%s' does not exist",
                 p->name, p->bridge);
        return -ENOENT;
    }
    if (row && nmovs_port_bridge(imp->db, row) != br) {
        snprintf(err, errlen, "port %s already exists on another bridge "
                 "than %s", p->name, p->bridge);
        return -EEXIST;
    }
    for (size_t i = 0; i < p->n_ifaces; i++) {
        const struct ovsrec_interface *f = find_iface(idl, p->ifaces[i].name);
        if (f && (!row || !port_has_iface(row, f))) {
            snprintf(err, errlen, "interface %s already exists in another "
                     "port than %s", p->ifaces[i].name, p->name);
            return -EEXIST;
        }
    }
    *brp = br;
    *rowp = row;
    return 0;
}

static int
import_port(struct import *imp, struct ovsdb_idl_txn *txn,
            const struct nmovs_port *p, char *err, size_t errlen)
{
    const struct ovsrec_bridge *br;
    const struct ovsrec_port *row;

    int error = check_port(imp, p, &br, &row, err, errlen);
    if (error) {
        return error;
    }
    bool created = !row;
    if (created) {
        /* ovs-vsctl add-port BR NAME */
        row = ovsrec_port_insert(txn);
        ovsrec_port_set_name(row, p->name);
        ovsrec_bridge_verify_ports(br);
        ovsrec_bridge_update_ports_addvalue(br, row);
        imp->wrote = true;
        sset_add(&imp->created, p->name);
    }
    sync_port_columns(imp, row, p);

    struct ovsrec_interface **ifaces = xcalloc(p->n_ifaces, sizeof *ifaces);
    bool same = !created && row->n_interfaces == p->n_ifaces;
    ovsrec_port_verify_interfaces(row);
    for (size_t i = 0; i < p->n_ifaces; i++) {
        const struct ovsrec_interface *f = NULL;
        if (!created) {
            f = find_iface(imp->db->idl, p->ifaces[i].name);
        }
        if (!f) {
            f = ovsrec_interface_insert(txn);
            ovsrec_interface_set_name(f, p->ifaces[i].name);
            same = false;
        }
        sync_iface(imp, f, &p->ifaces[i]);
        ifaces[i] = CONST_CAST(struct ovsrec_interface *, f);
    }
    if (!same) {
        ovsrec_port_set_interfaces(row, ifaces, p->n_ifaces);
        imp->wrote = true;
    }
    free(ifaces);

    sync_qos(imp, txn, row, p->qos);
    return 0;
}

/* Two ports or interfaces of the same name in one import would make one
 * transaction fight itself. */
static int
check_unique(struct nmovs_doc *const *docs, size_t n, char *err,
             size_t errlen)
{
    struct sset names = SSET_INITIALIZER(&names);
    int error = 0;

    for (size_t d = 0; !error && d < n; d++) {
        for (size_t i = 0; !error && i < docs[d]->n_ports; i++) {
            const struct nmovs_port *p = &docs[d]->ports[i];
            const char *dup = sset_add(&names, p->name) ? NULL : p->name;
            for (size_t j = 0; !dup && j < p->n_ifaces; j++) {
                if (strcmp(p->ifaces[j].name, p->name)
                    && !sset_add(&names, p->ifaces[j].name)) {
                    dup = p->ifaces[j].name;
                }
            }
            if (dup) {
                snprintf(err, errlen, "document: VM %s: name '%s' appears "
                         "twice in the import", docs[d]->vm, dup);
                error = -EINVAL;
            }
        }
    }
    sset_destroy(&names);
    return error;
}

static int
import_build(struct ovsdb_idl_txn *txn, void *imp_, char *err, size_t errlen)
{
    struct import *imp = imp_;

    imp->wrote = false;
    sset_clear(&imp->created);
    for (size_t d = 0; d < imp->n_docs; d++) {
        const struct nmovs_doc *doc = imp->docs[d];
        for (size_t i = 0; i < doc->n_ports; i++) {
            int error = import_port(imp, txn, &doc->ports[i], err, errlen);
            if (error) {
                return error;
            }
        }
    }
    if (imp->wrote) {
        /* ovs-vsctl's wait: ovs-vswitchd copies next_cfg to cur_cfg once
         * it has applied this transaction. */
        const struct ovsrec_open_vswitch *ovs
            = ovsrec_open_vswitch_first(imp->db->idl);
        if (!ovs) {
            snprintf(err, errlen, "OVSDB has no Open_vSwitch record");
            return -ENOENT;
        }
        ovsdb_idl_txn_increment(txn, &ovs->header_,
                                &ovsrec_open_vswitch_col_next_cfg, false);
    }
    return 0;
}

static void
import_committed(struct ovsdb_idl_txn *txn, void *imp_)
{
    struct import *imp = imp_;

    if (imp->wrote) {
        imp->next_cfg = ovsdb_idl_txn_get_increment_new_value(txn);
    }
}

/* True if ovs-vswitchd could not add 'f' only because its device does not
 * exist yet. */
static bool
device_missing(const struct ovsrec_interface *f)
{
    return f && f->error && strstr(f->error, "No such device");
}

/* 0 once ovs-vswitchd has applied the transaction (cur_cfg, as ovs-vsctl
 * waits for) and every imported interface has an ofport (or, with
 * device_later, lacks only its device), -EAGAIN before, -ENODEV with
 * Interface:error in 'err' if one has none once applied. */

static int
check_applied(struct import *imp, char *err, size_t errlen)
{
    const struct ovsrec_open_vswitch *ovs
        = ovsrec_open_vswitch_first(imp->db->idl);
    bool applied = !imp->wrote || (ovs && ovs->cur_cfg >= imp->next_cfg);

    for (size_t d = 0; d < imp->n_docs; d++) {
        const struct nmovs_doc *doc = imp->docs[d];
        for (size_t i = 0; i < doc->n_ports; i++) {
            const struct nmovs_port *p = &doc->ports[i];
            for (size_t j = 0; j < p->n_ifaces; j++) {
                const struct ovsrec_interface *f
                    = find_iface(imp->db->idl, p->ifaces[j].name);
                if (f && f->n_ofport && f->ofport[0] > 0) {
                    if (!applied) {
                        return -EAGAIN;
                    }
                    continue;
                }
                if (!applied) {
                    return -EAGAIN;
                }
                if (imp->device_later && device_missing(f)) {
                    continue;
                }
                snprintf(err, errlen, "interface %s: %s", p->ifaces[j].name,
                         f && f->error ? f->error
                         : "ovs-vswitchd gave it no OpenFlow port");
                return -ENODEV;
            }
        }
    }
    return 0;
}

static bool
port_has_ofport(const struct import *imp, const struct nmovs_port *p)
{
    for (size_t j = 0; j < p->n_ifaces; j++) {
        const struct ovsrec_interface *f
            = find_iface(imp->db->idl, p->ifaces[j].name);
        if (!f || !f->n_ofport || f->ofport[0] <= 0) {
            return false;
        }
    }
    return true;
}

static int
block_imported(struct import *imp, char *err, size_t errlen)
{
    struct nmovs_vm_port *ports = NULL;
    size_t n = 0, allocated = 0;

    for (size_t d = 0; d < imp->n_docs; d++) {
        const struct nmovs_doc *doc = imp->docs[d];
        for (size_t i = 0; i < doc->n_ports; i++) {
            if (n >= allocated) {
                ports = x2nrealloc(ports, &allocated, sizeof *ports);
            }
            if (imp->device_later && !port_has_ofport(imp, &doc->ports[i])) {
                continue;       /* No device yet: nothing to block. */
            }
            ports[n].port = find_port(imp->db->idl, doc->ports[i].name);
            ports[n].br = find_bridge(imp->db->idl, doc->ports[i].bridge);
            if (!ports[n].port || !ports[n].br) {
                snprintf(err, errlen, "port %s vanished after import",
                         doc->ports[i].name);
                free(ports);
                return -ENOENT;
            }
            n++;
        }
    }
    int error = nmovs_set_ports_blocked(imp->db, ports, n, true, err, errlen);
    free(ports);
    return error;
}

/* A failed import takes back the ports it created (in one transaction);
 * ports it updated keep their new columns. */
static void
roll_back(struct import *imp, int timeout_ms)
{
    size_t n = sset_count(&imp->created), n_removed;
    const char **names = sset_array(&imp->created);
    char ignored[256];

    if (n) {
        nmovs_remove(imp->db, names, n, timeout_ms, &n_removed, ignored,
                     sizeof ignored);
    }
    free(names);
}

int
nmovs_import(struct nmovs_db *db, struct nmovs_doc *const *docs, size_t n,
             const struct nmovs_import_opts *opts, bool *changed,
             char *err, size_t errlen)
{
    static const struct nmovs_txn_ops ops = {
        .comment = "netmove: port import",
        .build = import_build,
        .committed = import_committed,
    };
    long long int deadline = time_msec() + opts->timeout_ms;
    struct import imp = { .db = db, .docs = docs, .n_docs = n,
                          .device_later = opts->device_later };

    int error = check_unique(docs, n, err, errlen);
    if (error) {
        return error;
    }
    sset_init(&imp.created);
    error = nmovs_db_transact(db, &ops, &imp, deadline, changed, err, errlen);
    if (error) {
        goto out;
    }
    while ((error = check_applied(&imp, err, errlen)) == -EAGAIN) {
        error = nmovs_db_wait(db, deadline);
        if (error) {
            snprintf(err, errlen, "ovs-vswitchd did not apply the import "
                     "within %d ms", opts->timeout_ms);
            break;
        }
    }
    if (!error && opts->blocked) {
        error = block_imported(&imp, err, errlen);
    }
    if (error) {
        roll_back(&imp, opts->timeout_ms);
    }
out:
    sset_destroy(&imp.created);
    return error;
}
