/* ovs: export a VM's ports (Port, Interface, QoS, Queue records) from the
 * IDL's replica into a port document. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovsdb-idl.h"
#include "smap.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"
#include "ovs/port-doc-private.h"

static struct nmovs_qos *
export_qos(const struct ovsrec_qos *row)
{
    struct nmovs_qos *q = xzalloc(sizeof *q);

    q->type = xstrdup(row->type);
    smap_clone(&q->other_config, &row->other_config);
    smap_clone(&q->external_ids, &row->external_ids);
    q->queues = xcalloc(row->n_queues + 1, sizeof *q->queues);
    for (size_t i = 0; i < row->n_queues; i++) {
        const struct ovsrec_queue *qr = row->value_queues[i];
        struct nmovs_queue *u = &q->queues[q->n_queues++];

        u->id = row->key_queues[i];
        u->dscp = qr->n_dscp ? qr->dscp[0] : -1;
        smap_clone(&u->other_config, &qr->other_config);
        smap_clone(&u->external_ids, &qr->external_ids);
    }
    return q;
}

static void
export_iface(const struct ovsrec_interface *row, struct nmovs_port *p)
{
    struct nmovs_iface *f = nmovs_port_add_iface(p, row->name);

    free(f->type);
    f->type = xstrdup(row->type);
    smap_destroy(&f->options);
    smap_clone(&f->options, &row->options);
    smap_destroy(&f->external_ids);
    smap_clone(&f->external_ids, &row->external_ids);
    smap_destroy(&f->other_config);
    smap_clone(&f->other_config, &row->other_config);
    f->mtu_request = row->n_mtu_request ? row->mtu_request[0] : 0;
    f->ingress_policing_rate = row->ingress_policing_rate;
    f->ingress_policing_burst = row->ingress_policing_burst;
    f->ofport_request = row->n_ofport_request ? row->ofport_request[0] : 0;
}

static int
compare_iface_names(const void *a_, const void *b_)
{
    const struct ovsrec_interface *const *a = a_, *const *b = b_;
    return strcmp((*a)->name, (*b)->name);
}

static void
export_port(const struct nmovs_vm_port *vp, struct nmovs_doc *doc)
{
    const struct ovsrec_port *row = vp->port;
    struct nmovs_port *p = nmovs_doc_add_port(doc, vp->br->name, row->name);

    p->tag = row->n_tag ? row->tag[0] : -1;
    p->trunks = xcalloc(row->n_trunks + 1, sizeof *p->trunks);
    for (size_t i = 0; i < row->n_trunks; i++) {
        p->trunks[p->n_trunks++] = row->trunks[i];
    }
    p->vlan_mode = nullable_xstrdup(row->vlan_mode);
    smap_destroy(&p->external_ids);
    smap_clone(&p->external_ids, &row->external_ids);
    smap_destroy(&p->other_config);
    smap_clone(&p->other_config, &row->other_config);
    if (row->qos) {
        p->qos = export_qos(row->qos);
    }

    /* Interfaces in name order, so that a document is stable. */
    struct ovsrec_interface **ifaces = xcalloc(row->n_interfaces + 1,
                                               sizeof *ifaces);
    for (size_t i = 0; i < row->n_interfaces; i++) {
        ifaces[i] = row->interfaces[i];
    }
    qsort(ifaces, row->n_interfaces, sizeof *ifaces, compare_iface_names);
    for (size_t i = 0; i < row->n_interfaces; i++) {
        export_iface(ifaces[i], p);
    }
    free(ifaces);
}

int
nmovs_export(struct nmovs_db *db, const char *vm, struct nmovs_doc **docp,
             char *err, size_t errlen)
{
    struct nmovs_vm_port *ports;
    size_t n = nmovs_find_vm_ports_indexed(db, vm, &ports);

    *docp = NULL;
    if (!n) {
        snprintf(err, errlen, "VM '%s': no port found (by external_ids "
                 "vm-id, vm-uuid, iface-id, or attached-mac)", vm);
        return -ENOENT;
    }
    struct nmovs_doc *doc = nmovs_doc_create(vm);
    for (size_t i = 0; i < n; i++) {
        export_port(&ports[i], doc);
    }
    free(ports);
    *docp = doc;
    return 0;
}
