/* The VM's port on the destination, while a migration stages it: its
 * documents for this host (this site's VLANs), the names and OpenFlow
 * ports of its interfaces here, and the port a migrator makes after
 * prepare (libvirt, when it starts QEMU), adopted (migration.c, "port"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-int.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "ovs/ovs.h"
#include "netmove/common/json.h"
#include "netmove/common/error.h"

VLOG_DEFINE_THIS_MODULE(migration_port);

int
migration_port_docs(struct migration *m, const struct json *x,
                    char *err, size_t errlen)
{
    const struct nm_config *cfg = m->nm->cfg;
    const struct json *port = nm_json_member(x, "port");
    const struct json *site = nm_json_member(x, "site");
    struct nmovs_doc **docs;
    size_t n_docs;

    if (!port || !site || site->type != JSON_STRING) {
        snprintf(err, errlen, "export: missing port or site");
        return -EINVAL;
    }
    int error = nmovs_docs_from_json(port, &docs, &n_docs, err, errlen);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < n_docs; i++) {
        if (strcmp(nmovs_doc_vm(docs[i]), m->vm)) {
            snprintf(err, errlen, "export: port: vm: '%s' is not %s",
                     nmovs_doc_vm(docs[i]), m->vm);
            nmovs_docs_destroy(docs, n_docs);
            return -EINVAL;
        }
    }
    struct nmovs_xlate *xl = nmovs_xlate_create();
    for (size_t i = 0; i < cfg->n_networks && !error; i++) {
        const struct nm_network *net = &cfg->networks[i];
        for (size_t k = 0; k < net->n_vlans && !error; k++) {
            if (strcmp(net->vlans[k].site, json_string(site))) {
                continue;
            }
            int to = nm_config_translate_vlan(cfg, net->vlans[k].vlan,
                                              json_string(site), cfg->site);
            char *spec = xasprintf("%d=%d", net->vlans[k].vlan, to);
            error = nmovs_xlate_add_vlan(xl, spec, err, errlen);
            free(spec);
        }
    }
    for (size_t i = 0; i < n_docs && !error; i++) {
        nmovs_xlate_apply(xl, docs[i]);
    }
    nmovs_xlate_destroy(xl);
    if (error) {
        nmovs_docs_destroy(docs, n_docs);
        return error;
    }
    nmovs_docs_destroy(m->port_docs, m->n_port_docs);
    m->port_docs = docs;
    m->n_port_docs = n_docs;
    return 0;
}

/* The names and OpenFlow ports of the VM's interfaces here, from the
 * replica (no round trip): this host names its taps as it likes, and a port
 * the migrator made is not named as the source's. */
void
migration_local_ifaces(struct migration *m)
{
    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        struct nm_iface_addrs *ia = &m->addrs.ifaces[i];
        uint32_t ofport;
        char *name;
        if (!nmovs_vm_iface_by_mac(m->nm->db, m->vm, ia->mac.ea, &name,
                                   &ofport)) {
            free(ia->port);
            ia->port = name;
            ia->ofport = ofport;
        }
    }
}

/* Follows the VM's port here while it is staged (and, if it is still
 * awaited, after resume): whenever OVSDB's set of the VM's ports changed, a
 * port the migrator made is adopted (the documents' settings, blocked until
 * resume) and netmove's own staged one, if any, goes. */
void
migration_follow_port(struct migration *m)
{
    struct nmovs_db *db = m->nm->db;

    if (m->port_op) {
        /* A step under way: see whether it ended (never waited for). */
        int error = nmovs_op_run(m->port_op);
        if (error == -EAGAIN) {
            return;
        } else if (m->staging) {
            migration_staged(m);
            return;
        }
        if (error) {
            migration_set_error(m, "adopting the VM's port: %s",
                                nmovs_op_error(m->port_op));
        } else if (!nmovs_op_count(m->port_op)) {
            if (m->adopt_pending || nmovs_op_changed(m->port_op)) {
                VLOG_INFO("%s: adopted the port the migrator made for %s",
                          m->id, m->vm);
            }
            m->adopt_pending = false;
            migration_local_ifaces(m);
        }
        if (m->state == MIG_RESUMING) {
            /* Resumed while adopting: the adoption blocked the port (as
             * prepared) after resume opened it; open it again. */
            m->activate_pending = true;
        }
        nmovs_op_destroy(m->port_op);
        m->port_op = NULL;
        m->db_seqno = nmovs_db_seqno(db);
        m->ports_hash = nmovs_vm_ports_hash(db, m->vm);
        return;
    }
    if (!m->n_port_docs
        || (m->state != MIG_PREPARED
            && !(m->state == MIG_RESUMING && m->adopt_pending))
        || nmovs_db_seqno(db) == m->db_seqno) {
        return;
    }
    m->db_seqno = nmovs_db_seqno(db);
    uint32_t hash = nmovs_vm_ports_hash(db, m->vm);
    if (hash == m->ports_hash) {
        return;
    }
    struct nmovs_import_opts opts = { .blocked = m->state == MIG_PREPARED,
                                      .timeout_ms = 5000,
                                      .device_later = true,
                                      .staged_by = m->id };
    m->port_op = nmovs_adopt_start(db, m->port_docs, m->n_port_docs, &opts);
}
