/* ovs: import port documents in ONE OVSDB transaction: update in place the
 * port found by the VM's identity (port_match.c decides which), or create
 * one (same records, only differing columns written), then wait until
 * ovs-vswitchd has applied it (next_cfg/cur_cfg, then every interface has an
 * ofport) or report Interface:error.  Adopting creates nothing. */
#include "ovs/ovs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmapx.h"
#include "openvswitch/poll-loop.h"
#include "ovsdb-idl.h"
#include "smap.h"
#include "sset.h"
#include "timeval.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"
#include "ovs/op-private.h"
#include "ovs/port-doc-private.h"
#include "ovs/port-match-private.h"

/* Where a document port landed, by local names (the rows may change
 * between the transaction and the wait). */
struct landed {
    char *port;                 /* NULL: nothing yet (adopting). */
    char **ifaces;              /* Per document interface; NULL: missing. */
    size_t n_ifaces;
};

/* A deleted duplicate's OpenFlow port, whose blocking flows must go. */
struct dropped {
    char *bridge;
    uint32_t ofport;
};

struct import {
    struct nmovs_db *db;
    struct nmovs_doc *const *docs;
    size_t n_docs;
    bool wrote;                 /* This build wrote something. */
    struct sset created;        /* Names of the ports this build creates. */
    int64_t next_cfg;           /* After commit, if 'wrote'. */
    const struct nmovs_import_opts *opts;
    bool adopt_only;
    struct landed *landed;      /* One per document port, in order. */
    size_t n_landed;
    struct dropped *dropped;    /* Duplicates this build deletes. */
    size_t n_dropped;
    size_t n_missing;           /* Adopting: interfaces with no port yet. */
    size_t failed_doc;          /* The build's refused document, or
                                 * SIZE_MAX. */
};

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

/* True if a Port other than 'port' has QoS 'row': another VM's (or the
 * host's) shaping, which this VM's document must not rewrite. */
static bool
qos_is_shared(struct import *imp, const struct ovsrec_qos *row,
              const struct ovsrec_port *port)
{
    const struct ovsrec_port *p;

    OVSREC_PORT_FOR_EACH (p, imp->db->idl) {
        if (p != port && p->qos == row) {
            return true;
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
        if (qr && queue_is_used_elsewhere(imp, qr, row)) {
            /* Another QoS's queue too: this VM gets its own. */
            qr = NULL;
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
    if (row && qos_is_shared(imp, row, port)) {
        /* The port (one the migrator made, adopted) shares its QoS with
         * another: that one is left as it is, this port gets its own. */
        row = NULL;
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

/* Keys about the local interface itself, whose local value wins: who it
 * is (identity) and what its hypervisor says of it (iface-status). */
static bool
is_local_key(const char *key)
{
    return !strcmp(key, "iface-id") || !strcmp(key, "attached-mac")
           || !strcmp(key, "vm-id") || !strcmp(key, "vm-uuid")
           || !strcmp(key, "iface-status");
}

/* The document's external_ids 'doc' merged into a row's 'local' ones:
 * local keys the document lacks stay; for an interface ('iface') the local
 * identity and iface-status win.  The document's netmove-staged is
 * never taken (a peer must not mark a port for our rollback); the local one
 * stays, or 'mark' is set. */
static void
merge_external_ids(const struct smap *local, const struct smap *doc,
                   bool iface, const char *mark, struct smap *out)
{
    struct smap_node *node;

    smap_clone(out, local);
    SMAP_FOR_EACH (node, doc) {
        if (!strcmp(node->key, NMOVS_STAGED_KEY)
            || (iface && is_local_key(node->key)
                && smap_get(local, node->key))) {
            continue;
        }
        smap_replace(out, node->key, node->value);
    }
    if (mark) {
        smap_replace(out, NMOVS_STAGED_KEY, mark);
    }
}

/* Brings interface 'row' to 'f''s settings.  The migrator's interface
 * ('adopted') keeps its type, options and ofport_request: it made the
 * device. */
static void
sync_iface(struct import *imp, const struct ovsrec_interface *row,
           const struct nmovs_iface *f, bool adopted)
{
    struct smap ext;

    if (!adopted) {
        ovsrec_interface_verify_type(row);
        if (!str_equal(row->type, f->type)) {
            ovsrec_interface_set_type(row, f->type);
            imp->wrote = true;
        }
        SYNC_SMAP(imp, interface, row, options, &f->options);
        SYNC_OPT(imp, interface, row, ofport_request, f->ofport_request, 0);
    }
    merge_external_ids(&row->external_ids, &f->external_ids, true, NULL,
                       &ext);
    SYNC_SMAP(imp, interface, row, external_ids, &ext);
    smap_destroy(&ext);
    SYNC_SMAP(imp, interface, row, other_config, &f->other_config);
    SYNC_OPT(imp, interface, row, mtu_request, f->mtu_request, 0);
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
                  const struct nmovs_port *p, const char *mark)
{
    struct smap ext;

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
    merge_external_ids(&row->external_ids, &p->external_ids, false, mark,
                       &ext);
    SYNC_SMAP(imp, port, row, external_ids, &ext);
    smap_destroy(&ext);
    SYNC_SMAP(imp, port, row, other_config, &p->other_config);
}

/* Deletes the duplicates 'plan' names; their OpenFlow ports are unblocked
 * after the commit. */
static void
drop_duplicates(struct import *imp, const struct nmovs_port_plan *plan)
{
    for (size_t i = 0; i < plan->n_dups; i++) {
        const struct ovsrec_port *dup = plan->dups[i].port;
        for (size_t j = 0; j < dup->n_interfaces; j++) {
            const struct ovsrec_interface *f = dup->interfaces[j];
            if (f->n_ofport && f->ofport[0] > 0) {
                imp->dropped = xrealloc(imp->dropped, (imp->n_dropped + 1)
                                        * sizeof *imp->dropped);
                imp->dropped[imp->n_dropped].bridge
                    = xstrdup(plan->dups[i].br->name);
                imp->dropped[imp->n_dropped++].ofport = f->ofport[0];
            }
        }
        nmovs_delete_port(imp->db, plan->dups[i].br, dup);
        imp->wrote = true;
    }
}

/* Port 'p' per 'plan': the found port updated in place (its names kept),
 * or a new one under the document's names.  Records where it landed. */
static void
apply_plan(struct import *imp, struct ovsdb_idl_txn *txn,
           const struct nmovs_port *p, const struct nmovs_port_plan *plan,
           const char *staged_by, struct landed *landed)
{
    const struct ovsrec_port *row = plan->port;
    const char *mark = NULL;

    /* Whatever was found, a concurrent add-port must make us look again. */
    ovsrec_bridge_verify_ports(plan->br);
    drop_duplicates(imp, plan);
    landed->ifaces = xcalloc(p->n_ifaces + 1, sizeof *landed->ifaces);
    landed->n_ifaces = p->n_ifaces;
    if (!row && imp->adopt_only) {
        return;                 /* The migrator has not made it yet. */
    }
    if (!row) {
        /* ovs-vsctl add-port BR NAME */
        row = ovsrec_port_insert(txn);
        ovsrec_port_set_name(row, p->name);
        ovsrec_bridge_update_ports_addvalue(plan->br, row);
        imp->wrote = true;
        sset_add(&imp->created, p->name);
        mark = staged_by;
    }
    landed->port = xstrdup(row->name);
    sync_port_columns(imp, row, p, mark);

    /* The port keeps the interfaces it has; new ones are added. */
    size_t n = row->n_interfaces;
    struct ovsrec_interface **ifaces = xcalloc(n + p->n_ifaces + 1,
                                               sizeof *ifaces);
    if (n) {
        memcpy(ifaces, row->interfaces, n * sizeof *ifaces);
    }
    ovsrec_port_verify_interfaces(row);
    for (size_t i = 0; i < p->n_ifaces; i++) {
        const struct ovsrec_interface *f = plan->ifaces[i];
        if (!f && imp->adopt_only) {
            continue;
        }
        if (!f) {
            f = ovsrec_interface_insert(txn);
            ovsrec_interface_set_name(f, p->ifaces[i].name);
            ifaces[n++] = CONST_CAST(struct ovsrec_interface *, f);
        }
        sync_iface(imp, f, &p->ifaces[i], plan->port && plan->adopted);
        landed->ifaces[i] = xstrdup(f->name);
    }
    if (n != row->n_interfaces) {
        ovsrec_port_set_interfaces(row, ifaces, n);
        imp->wrote = true;
    }
    free(ifaces);

    sync_qos(imp, txn, row, p->qos);
}

static int
import_port(struct import *imp, struct ovsdb_idl_txn *txn, const char *vm,
            const char *staged_by, const struct nmovs_port *p,
            struct hmapx *targets, struct landed *landed,
            char *err, size_t errlen)
{
    struct nmovs_port_plan plan;

    int error = nmovs_port_plan(imp->db, p, vm, staged_by, imp->adopt_only,
                                &plan, err, errlen);
    if (error) {
        return error;
    }
    if (plan.port && !hmapx_add(targets, CONST_CAST(void *, plan.port))) {
        snprintf(err, errlen, "port %s: the import names port %s twice "
                 "(the same VM identity in two document ports)", p->name,
                 plan.port->name);
        nmovs_port_plan_clear(&plan);
        return -EINVAL;
    }
    imp->n_missing += plan.n_missing;
    apply_plan(imp, txn, p, &plan, staged_by, landed);
    nmovs_port_plan_clear(&plan);
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

static void
landed_clear(struct import *imp)
{
    for (size_t i = 0; i < imp->n_landed; i++) {
        struct landed *l = &imp->landed[i];
        for (size_t j = 0; j < l->n_ifaces; j++) {
            free(l->ifaces[j]);
        }
        free(l->ifaces);
        free(l->port);
    }
    free(imp->landed);
    imp->landed = NULL;
    imp->n_landed = 0;
    for (size_t i = 0; i < imp->n_dropped; i++) {
        free(imp->dropped[i].bridge);
    }
    free(imp->dropped);
    imp->dropped = NULL;
    imp->n_dropped = 0;
}

static int
import_build(struct ovsdb_idl_txn *txn, void *imp_, char *err, size_t errlen)
{
    struct import *imp = imp_;
    struct hmapx targets = HMAPX_INITIALIZER(&targets);
    size_t n_ports = 0;
    int error = 0;

    imp->wrote = false;
    imp->n_missing = 0;
    imp->failed_doc = SIZE_MAX;
    sset_clear(&imp->created);
    landed_clear(imp);
    for (size_t d = 0; d < imp->n_docs; d++) {
        n_ports += imp->docs[d]->n_ports;
    }
    imp->landed = xcalloc(n_ports + 1, sizeof *imp->landed);
    for (size_t d = 0; !error && d < imp->n_docs; d++) {
        const struct nmovs_doc *doc = imp->docs[d];
        const char *staged_by = imp->opts->doc_staged_by
                                ? imp->opts->doc_staged_by[d]
                                : imp->opts->staged_by;
        for (size_t i = 0; !error && i < doc->n_ports; i++) {
            error = import_port(imp, txn, doc->vm, staged_by, &doc->ports[i],
                                &targets, &imp->landed[imp->n_landed++],
                                err, errlen);
        }
        if (error) {
            imp->failed_doc = d;
        }
    }
    hmapx_destroy(&targets);
    if (!error && imp->wrote) {
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
    return error;
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

static bool
has_ofport(const struct ovsrec_interface *f)
{
    return f && f->n_ofport && f->ofport[0] > 0;
}

/* 0 once ovs-vswitchd has applied the transaction (cur_cfg, as ovs-vsctl
 * waits for) and every imported interface has an ofport (or, with
 * device_later, lacks only its device), -EAGAIN before (also while an
 * interface has neither ofport nor error), -ENODEV with Interface:error in
 * 'err' if one has none once applied. */
static int
check_applied(struct import *imp, char *err, size_t errlen)
{
    const struct ovsrec_open_vswitch *ovs
        = ovsrec_open_vswitch_first(imp->db->idl);
    bool applied = !imp->wrote || (ovs && ovs->cur_cfg >= imp->next_cfg);

    for (size_t i = 0; i < imp->n_landed; i++) {
        const struct landed *l = &imp->landed[i];
        for (size_t j = 0; j < l->n_ifaces; j++) {
            if (!l->ifaces[j]) {
                continue;       /* Adopting: no port yet. */
            }
            const struct ovsrec_interface *f
                = nmovs_find_iface(imp->db, l->ifaces[j]);
            if (!applied) {
                return -EAGAIN;
            }
            if (has_ofport(f)
                || (imp->opts->device_later && device_missing(f))) {
                continue;
            }
            if (f && !f->n_ofport && !f->error) {
                /* Not yet seen by ovs-vswitchd: a port the migrator has just
                 * added, with nothing of ours to wait for. */
                return -EAGAIN;
            }
            snprintf(err, errlen, "interface %s: %s", l->ifaces[j],
                     f && f->error ? f->error
                     : "ovs-vswitchd gave it no OpenFlow port");
            return -ENODEV;
        }
    }
    return 0;
}

static bool
landed_has_ofport(const struct import *imp, const struct landed *l)
{
    for (size_t j = 0; j < l->n_ifaces; j++) {
        if (!l->ifaces[j]
            || !has_ofport(nmovs_find_iface(imp->db, l->ifaces[j]))) {
            return false;
        }
    }
    return true;
}

/* Blocks every port that landed and has its OpenFlow ports (one without a
 * device yet, or not made yet, has nothing to block). */
static int
block_imported(struct import *imp, char *err, size_t errlen)
{
    struct nmovs_vm_port *ports = xcalloc(imp->n_landed + 1, sizeof *ports);
    size_t n = 0;

    for (size_t i = 0; i < imp->n_landed; i++) {
        const struct landed *l = &imp->landed[i];
        if (!l->port || !landed_has_ofport(imp, l)) {
            continue;
        }
        ports[n].port = nmovs_find_port(imp->db, l->port);
        ports[n].br = ports[n].port ? nmovs_port_bridge(imp->db,
                                                        ports[n].port)
                                    : NULL;
        if (!ports[n].port || !ports[n].br) {
            snprintf(err, errlen, "port %s vanished after import", l->port);
            free(ports);
            return -ENOENT;
        }
        n++;
    }
    int error = nmovs_set_ports_blocked(imp->db, ports, n, true, err, errlen);
    free(ports);
    return error;
}

/* The blocking flows of the duplicates the import deleted go too, or the
 * next port to get one of their numbers would be born blocked. */
static int
unblock_dropped(struct import *imp, char *err, size_t errlen)
{
    for (size_t i = 0; i < imp->n_dropped; i++) {
        struct nmovs_of *of;
        const struct dropped *d = &imp->dropped[i];

        int error = nmovs_of_open(imp->db->rundir, d->bridge, &of);
        if (error == -ENOENT) {
            continue;           /* No ovs-vswitchd: no flows either. */
        }
        if (!error) {
            error = nmovs_of_unblock(of, d->ofport);
            nmovs_of_close(of);
        }
        if (error) {
            snprintf(err, errlen, "bridge %s: removing the flows of deleted "
                     "OpenFlow port %"PRIu32" failed: %s", d->bridge,
                     d->ofport, ovs_strerror(-error));
            return error;
        }
    }
    return 0;
}

/* An import as a step (op.c): the transaction, then ovs-vswitchd's
 * applying it, then the blocking flows; a failure after the commit takes
 * back the ports it created (in one more transaction, by their exact
 * names); ports it updated keep their new columns. */
struct import_op {
    struct nmovs_op up;
    struct import imp;
    struct nmovs_import_opts opts;  /* 'staged_by' is ours. */
    enum {
        IMPORT_TXN,             /* The transaction is in flight. */
        IMPORT_APPLY,           /* Waiting for ovs-vswitchd. */
        IMPORT_ROLLBACK,        /* Failed: removing what it created. */
    } phase;
    struct nmovs_txn txn;
    long long int deadline;
    struct nmovs_op *rollback;
    int error;                  /* The failure being rolled back. */
};

static struct import_op *
import_op_cast(struct nmovs_op *op)
{
    return CONTAINER_OF(op, struct import_op, up);
}

/* 'error' (with its message in up.err) ends the import, after taking back
 * the ports it created. */
static int
import_fail(struct import_op *io, int error)
{
    size_t n = sset_count(&io->imp.created);

    if (!n) {
        return error;
    }
    const char **names = sset_array(&io->imp.created);
    io->rollback = nmovs_remove_port_names_start(io->imp.db, names, n,
                                                 io->opts.timeout_ms);
    free(names);
    io->error = error;
    io->phase = IMPORT_ROLLBACK;
    return -EAGAIN;
}

static int
import_op_run(struct nmovs_op *op)
{
    struct import_op *io = import_op_cast(op);
    struct import *imp = &io->imp;
    int error;

    switch (io->phase) {
    case IMPORT_TXN:
        error = nmovs_txn_run(&io->txn, op->err, sizeof op->err);
        if (error) {
            if (error != -EAGAIN) {
                op->failed_doc = imp->failed_doc;   /* The build's. */
            }
            return error;       /* -EAGAIN, or nothing was created. */
        }
        op->changed = io->txn.changed;
        op->count = imp->n_missing;
        error = unblock_dropped(imp, op->err, sizeof op->err);
        if (error) {
            return import_fail(io, error);
        }
        io->phase = IMPORT_APPLY;
        /* Fall through. */
    case IMPORT_APPLY:
        error = check_applied(imp, op->err, sizeof op->err);
        if (error == -EAGAIN) {
            if (!ovsdb_idl_is_alive(imp->db->idl)
                || time_msec() >= io->deadline) {
                snprintf(op->err, sizeof op->err, "ovs-vswitchd did not "
                         "apply the import within %d ms",
                         io->opts.timeout_ms);
                return import_fail(io, ovsdb_idl_is_alive(imp->db->idl)
                                       ? -ETIMEDOUT : -ECONNRESET);
            }
            return -EAGAIN;
        }
        if (!error && io->opts.blocked) {
            error = block_imported(imp, op->err, sizeof op->err);
        }
        return error ? import_fail(io, error) : 0;
    case IMPORT_ROLLBACK:
        error = nmovs_op_run(io->rollback);
        return error == -EAGAIN ? -EAGAIN : io->error;
    }
    OVS_NOT_REACHED();
}

static void
import_op_wait(struct nmovs_op *op)
{
    struct import_op *io = import_op_cast(op);

    switch (io->phase) {
    case IMPORT_TXN:
        nmovs_txn_wait(&io->txn);
        break;
    case IMPORT_APPLY:
        /* The replica's changes wake the loop through the IDL's wait. */
        poll_timer_wait_until(io->deadline);
        break;
    case IMPORT_ROLLBACK:
        nmovs_op_wait(io->rollback);
        break;
    }
}

static void
import_op_destroy(struct nmovs_op *op)
{
    struct import_op *io = import_op_cast(op);

    nmovs_txn_destroy(&io->txn);
    nmovs_op_destroy(io->rollback);
    landed_clear(&io->imp);
    sset_destroy(&io->imp.created);
    free(CONST_CAST(char *, io->opts.staged_by));
    if (io->opts.doc_staged_by) {
        for (size_t i = 0; i < io->imp.n_docs; i++) {
            free(CONST_CAST(char *, io->opts.doc_staged_by[i]));
        }
        free((void *) io->opts.doc_staged_by);
    }
    free(io);
}

static const struct nmovs_op_class import_op_class = {
    import_op_run, import_op_wait, import_op_destroy,
};

static struct nmovs_op *
import_start(struct nmovs_db *db, struct nmovs_doc *const *docs, size_t n,
             const struct nmovs_import_opts *opts, bool adopt_only)
{
    static const struct nmovs_txn_ops ops = {
        .comment = "netmove: port import",
        .build = import_build,
        .committed = import_committed,
    };
    struct import_op *io = xzalloc(sizeof *io);

    nmovs_op_init(&io->up, &import_op_class, db);
    io->opts = *opts;
    io->opts.staged_by = nullable_xstrdup(opts->staged_by);
    if (opts->doc_staged_by) {
        char **each = xcalloc(n + 1, sizeof *each);
        for (size_t i = 0; i < n; i++) {
            each[i] = nullable_xstrdup(opts->doc_staged_by[i]);
        }
        io->opts.doc_staged_by = (const char *const *) each;
    }
    io->deadline = time_msec() + opts->timeout_ms;
    io->imp = (struct import) { .db = db, .docs = docs, .n_docs = n,
                                .opts = &io->opts, .adopt_only = adopt_only };
    sset_init(&io->imp.created);
    nmovs_txn_init(&io->txn, db, &ops, &io->imp, io->deadline);
    io->up.result = check_unique(docs, n, io->up.err, sizeof io->up.err);
    if (!io->up.result) {
        io->up.result = -EAGAIN;
    }
    return &io->up;
}

struct nmovs_op *
nmovs_import_start(struct nmovs_db *db, struct nmovs_doc *const *docs,
                   size_t n, const struct nmovs_import_opts *opts)
{
    return import_start(db, docs, n, opts, opts->adopt_only);
}

struct nmovs_op *
nmovs_adopt_start(struct nmovs_db *db, struct nmovs_doc *const *docs,
                  size_t n, const struct nmovs_import_opts *opts)
{
    return import_start(db, docs, n, opts, true);
}

/* Runs 'op' to its end and frees it. */
static int
import_finish(struct nmovs_op *op, bool *changed, size_t *n_missing,
              char *err, size_t errlen)
{
    int error = nmovs_op_finish(op, err, errlen);

    *changed = op->changed;
    *n_missing = op->count;
    nmovs_op_destroy(op);
    return error;
}

int
nmovs_import(struct nmovs_db *db, struct nmovs_doc *const *docs, size_t n,
             const struct nmovs_import_opts *opts, bool *changed,
             char *err, size_t errlen)
{
    size_t n_missing;

    return import_finish(nmovs_import_start(db, docs, n, opts), changed,
                         &n_missing, err, errlen);
}

int
nmovs_adopt(struct nmovs_db *db, struct nmovs_doc *const *docs, size_t n,
            const struct nmovs_import_opts *opts, bool *changed,
            size_t *n_missing, char *err, size_t errlen)
{
    return import_finish(nmovs_adopt_start(db, docs, n, opts), changed,
                         n_missing, err, errlen);
}
