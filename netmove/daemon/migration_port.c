/* The VM's port on the destination, while a migration stages it: its
 * documents for this host (this site's VLANs), the names and OpenFlow
 * ports of its interfaces here, and the port a migrator makes after
 * prepare (libvirt, when it starts QEMU), adopted (migration.c, "port"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "ovs/ovs.h"
#include "netmove/common/json.h"
#include "netmove/common/error.h"

VLOG_DEFINE_THIS_MODULE(migration_port);

#define PORT_RETRY_US (1000 * 1000)    /* After a failed adoption. */

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

    /* Within what a peer may make here: the tags it may carry are the
     * source site's VLANs of the configured networks that have a VLAN at
     * this site too (else the tag would be kept, and might be another
     * network's here). */
    int *vlans = xcalloc(cfg->n_networks + 1, sizeof *vlans);
    struct nmovs_scope scope = { .bridge = cfg->bridge, .vlans = vlans };
    for (size_t i = 0; i < cfg->n_networks; i++) {
        const struct nm_network *net = &cfg->networks[i];
        int from = -1, here = -1;
        for (size_t k = 0; k < net->n_vlans; k++) {
            if (!strcmp(net->vlans[k].site, json_string(site))) {
                from = net->vlans[k].vlan;
            }
            if (!strcmp(net->vlans[k].site, cfg->site)) {
                here = net->vlans[k].vlan;
            }
        }
        if (from > 0 && here > 0) {
            vlans[scope.n_vlans++] = from;
        }
    }
    for (size_t i = 0; i < n_docs && !error; i++) {
        char reason[NM_ERRLEN];
        if (strcmp(nmovs_doc_vm(docs[i]), m->vm)) {
            snprintf(err, errlen, "export: port: vm: '%s' is not %s",
                     nmovs_doc_vm(docs[i]), m->vm);
            error = -EINVAL;
        } else if (nmovs_doc_check_scope(docs[i], &scope, reason,
                                         sizeof reason)) {
            snprintf(err, errlen, "export: port: %s", reason);
            error = -EINVAL;
        }
    }
    free(vlans);
    if (error) {
        nmovs_docs_destroy(docs, n_docs);
        return error;
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

/* The network each interface of 'addrs' is on here: the one its port's
 * tag (already this site's) maps to at this site, NULL for an untagged
 * port (any configured network).  A malloc'd array. */
static const struct nm_network **
iface_networks(const struct migration *m, const struct nm_vm_addrs *addrs)
{
    const struct nm_network **nets = xcalloc(addrs->n_ifaces + 1,
                                             sizeof *nets);

    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        for (size_t d = 0; d < m->n_port_docs; d++) {
            int tag = nmovs_doc_iface_tag(m->port_docs[d],
                                          addrs->ifaces[i].port);
            if (tag > 0) {
                nets[i] = nm_config_find_network(m->nm->cfg, tag,
                                                 m->nm->cfg->site);
            }
        }
    }
    return nets;
}

int
migration_addrs(struct migration *m, const struct json *x,
                struct nm_vm_addrs *addrs, char *err, size_t errlen)
{
    const struct json *port = nm_json_member(x, "port");
    const struct json *learned = nm_json_member(x, "learned");
    char reason[NM_ERRLEN - 16];
    struct nm_vm_addrs before;
    int error;

    /* The document's own, then the operator's --ip, then the learned
     * ones: each checked with the field it came from. */
    error = nm_vm_addrs_from_doc(port, NULL, 0, &before, reason,
                                 sizeof reason);
    if (error) {
        snprintf(err, errlen, "export: port: %s", reason);
        return error;
    }
    error = nm_vm_addrs_from_doc(port, m->extra_ips, m->n_extra_ips, addrs,
                                 err, errlen);
    if (error) {
        nm_vm_addrs_destroy(&before);
        return error;
    }
    const struct nm_network **nets = iface_networks(m, addrs);
    error = nm_vm_addrs_check(&before, NULL, m->nm->cfg, nets,
                              "export: port: ip-addresses", err, errlen);
    if (!error) {
        error = nm_vm_addrs_check(addrs, &before, m->nm->cfg, nets, "--ip",
                                  err, errlen);
    }
    nm_vm_addrs_destroy(&before);
    if (!error && learned) {
        /* What there was before the learned ones: the same parse again. */
        struct nm_vm_addrs known;
        error = nm_vm_addrs_from_doc(port, m->extra_ips, m->n_extra_ips,
                                     &known, err, errlen);
        if (!error
            && nm_vm_addrs_add_learned(addrs, learned, reason,
                                       sizeof reason)) {
            snprintf(err, errlen, "export: %s", reason);
            error = -EINVAL;
        }
        if (!error) {
            error = nm_vm_addrs_check(addrs, &known, m->nm->cfg, nets,
                                      "export: learned", err, errlen);
        }
        nm_vm_addrs_destroy(&known);
    }
    free(nets);
    if (error) {
        nm_vm_addrs_destroy(addrs);
    }
    return error;
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
        /* -ENOENT: not here yet (it comes with the VM); the source's
         * name and no OpenFlow port meanwhile. */
        if (!m->nm->ops->vm_iface_by_mac(m->nm, m->vm, ia->mac, &name,
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
bool
migration_port_step(struct migration *m)
{
    struct netmoved *nm = m->nm;
    const struct mig_ops *ops = nm->ops;
    char err[NM_ERRLEN] = "";
    size_t n_missing = 0;
    bool changed = false;

    if (!m->port_op) {
        return false;
    }
    int error = ops->port_step(m->port_op, &n_missing, &changed,
                               err, sizeof err);
    if (error == -EAGAIN) {
        return true;
    }
    ops->port_end(m->port_op, false);
    m->port_op = NULL;
    if (m->staging) {
        /* Prepare's own step: prepare goes on, or fails. */
        m->db_seqno = ops->db_seqno(nm);
        m->ports_hash = ops->vm_ports_hash(nm, m->vm);
        m->adopt_pending = !error && n_missing > 0;
        migration_staged(m, error, err);
        return false;
    }
    if (error) {
        /* Tried again in a while: 'ports_hash' stays what it was before
         * the step, so the next look sees the change again. */
        migration_set_error(m, "adopting the VM's port: %s", err);
        m->db_seqno = 0;
        m->port_retry_at_us = time_usec() + PORT_RETRY_US;
        return false;
    }
    m->db_seqno = ops->db_seqno(nm);
    m->ports_hash = ops->vm_ports_hash(nm, m->vm);
    if (!n_missing) {
        if (changed) {
            VLOG_INFO("%s: adopted the port the migrator made for %s",
                      m->id, m->vm);
        }
        m->adopt_pending = false;
        migration_local_ifaces(m);
    }
    if (m->t_resume_call) {
        /* Resumed while adopting (whatever the state now: the VM runs
         * here): the adoption blocked the port as prepared after resume
         * opened it; open it again. */
        m->activate_pending = true;
    }
    return false;
}

void
migration_follow_port(struct migration *m)
{
    struct netmoved *nm = m->nm;
    const struct mig_ops *ops = nm->ops;

    if (m->port_op) {
        /* A step under way: see whether it ended (never waited for). */
        migration_port_step(m);
        return;
    }
    if (m->port_retry_at_us) {
        if ((uint64_t) time_usec() < m->port_retry_at_us) {
            return;
        }
        m->port_retry_at_us = 0;
    }
    if (!m->n_port_docs
        || (m->state != MIG_PREPARED
            && !(m->state == MIG_RESUMING && m->adopt_pending))
        || ops->db_seqno(nm) == m->db_seqno) {
        return;
    }
    m->db_seqno = ops->db_seqno(nm);
    uint32_t hash = ops->vm_ports_hash(nm, m->vm);
    if (hash == m->ports_hash) {
        return;
    }
    struct nmovs_import_opts opts = { .blocked = m->state == MIG_PREPARED,
                                      .timeout_ms = 5000,
                                      .device_later = true,
                                      .staged_by = m->id };
    m->port_op = ops->port_start(nm, true, m->port_docs, m->n_port_docs,
                                 &opts);
    migration_port_step(m);     /* A step that ends at once goes on. */
}
