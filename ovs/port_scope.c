/* ovs: what a port document from another host may make on this one
 * (docs/DESIGN.md "Trust model").  A peer is authenticated but trusted
 * with nothing beyond the VM it moves: its document must not put a port on
 * another bridge or VLAN, make a patch port or tunnel, or set what Open
 * vSwitch reads as the host's switching policy. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "packets.h"
#include "smap.h"
#include "util.h"

#include "ovs/port-doc-private.h"

/* Port other_config keys Open vSwitch reads (vswitch.xml, OVS 3.1): bonds,
 * LACP, STP and RSTP, multicast snooping, priority tags, 802.1ad.  Any
 * other key is a label OVS ignores (Neutron's net_uuid, segmentation_id,
 * ...).  An entry ending in '-' or '_' is a prefix. */
static const char *const port_keys[] = {
    "all-members-active", "bond-", "lacp-", "lb-output-action",
    "mcast-snooping-", "priority-tags", "qinq-ethtype", "rstp-", "stp-",
};

/* The same for Interface other_config: CFM, LACP, PMD affinity, EMC, TX
 * steering. */
static const char *const iface_keys[] = {
    "cfm_", "emc-enable", "lacp-", "pmd-rxq-affinity", "tx-steering",
};

/* QoS types, and the keys of QoS and Queue other_config. */
static const char *const qos_types[] = {
    "egress-policer", "linux-codel", "linux-fq_codel", "linux-hfsc",
    "linux-htb", "linux-netem", "linux-noop", "linux-sfq", "trtcm-policer",
};
static const char *const qos_keys[] = {
    "cbs", "cir", "ebs", "eir", "latency", "limit", "loss", "max-rate",
    "perturb", "quantum",
};
static const char *const queue_keys[] = {
    "burst", "max-rate", "min-rate", "priority",
};

static bool
key_matches(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(list[i]);
        char last = list[i][len - 1];
        if (last == '-' || last == '_' ? !strncmp(key, list[i], len)
                                       : !strcmp(key, list[i])) {
            return true;
        }
    }
    return false;
}

/* The first key of 'map' that is ('read' true) or is not ('read' false) in
 * 'list', or NULL. */
static const char *
find_key(const struct smap *map, const char *const *list, size_t n,
         bool read)
{
    struct smap_node *node;

    SMAP_FOR_EACH (node, map) {
        if (key_matches(node->key, list, n) == read) {
            return node->key;
        }
    }
    return NULL;
}

static int
check_qos(const struct nmovs_qos *q, size_t i, char *err, size_t errlen)
{
    const char *key;

    if (!key_matches(q->type, qos_types, ARRAY_SIZE(qos_types))
        || !q->type[0]) {
        snprintf(err, errlen, "ports[%zu].qos.type: '%s' is not a QoS type "
                 "for a VM's port", i, q->type);
        return -EINVAL;
    }
    if ((key = find_key(&q->other_config, qos_keys, ARRAY_SIZE(qos_keys),
                        false))) {
        snprintf(err, errlen, "ports[%zu].qos.other_config: '%s' is not a "
                 "QoS setting", i, key);
        return -EINVAL;
    }
    if (q->n_queues > NMOVS_SCOPE_QUEUES_MAX) {
        snprintf(err, errlen, "ports[%zu].qos.queues: %zu queues, more than "
                 "%d", i, q->n_queues, NMOVS_SCOPE_QUEUES_MAX);
        return -EINVAL;
    }
    for (size_t k = 0; k < q->n_queues; k++) {
        key = find_key(&q->queues[k].other_config, queue_keys,
                       ARRAY_SIZE(queue_keys), false);
        if (key) {
            snprintf(err, errlen, "ports[%zu].qos.queues.%"PRId64
                     ".other_config: '%s' is not a queue setting", i,
                     q->queues[k].id, key);
            return -EINVAL;
        }
    }
    return 0;
}

static int
check_iface(const struct nmovs_iface *f, const char *vm, size_t i, char *err,
            size_t errlen)
{
    const char *vm_id = smap_get(&f->external_ids, "vm-id");
    const char *vm_uuid = smap_get(&f->external_ids, "vm-uuid");
    const char *key;

    if ((vm_id || vm_uuid) && !(vm_id && !strcmp(vm_id, vm))
        && !(vm_uuid && !strcmp(vm_uuid, vm))) {
        /* The port's label names the VM it is: this document's. */
        snprintf(err, errlen, "ports[%zu].interfaces[0].external_ids.%s: "
                 "'%s' is not VM %s", i, vm_id ? "vm-id" : "vm-uuid",
                 vm_id ? vm_id : vm_uuid, vm);
        return -EINVAL;
    }

    if (f->type[0] && strcmp(f->type, "tap") && strcmp(f->type, "system")) {
        snprintf(err, errlen, "ports[%zu].interfaces[0].type: '%s' is not a "
                 "VM's interface type (\"\", system or tap)", i, f->type);
        return -EINVAL;
    }
    const char *mac_s = smap_get(&f->external_ids, "attached-mac");
    struct eth_addr mac;
    if (mac_s && (!eth_addr_from_string(mac_s, &mac) || eth_addr_is_zero(mac)
                  || eth_addr_is_multicast(mac))) {
        /* The VM's own MAC: announced, learned, blocked as its. */
        snprintf(err, errlen, "ports[%zu].interfaces[0].external_ids."
                 "attached-mac: '%s' is not a unicast MAC", i, mac_s);
        return -EINVAL;
    }
    if ((key = find_key(&f->options, NULL, 0, false))) {
        snprintf(err, errlen, "ports[%zu].interfaces[0].options: a VM's "
                 "interface has none ('%s')", i, key);
        return -EINVAL;
    }
    if ((key = find_key(&f->other_config, iface_keys, ARRAY_SIZE(iface_keys),
                        true))) {
        snprintf(err, errlen, "ports[%zu].interfaces[0].other_config: '%s' "
                 "is the host's switching policy, not a VM's", i, key);
        return -EINVAL;
    }
    return 0;
}

static int
check_vlan(const struct nmovs_port *p, const struct nmovs_scope *scope,
           size_t i, char *err, size_t errlen)
{
    if (p->n_trunks) {
        /* A trunk reaches every VLAN it lists: the VM's addresses could not
         * be scoped to one network. */
        snprintf(err, errlen, "ports[%zu].trunks: a migrating VM's port "
                 "carries one VLAN (tag), not trunks", i);
        return -EINVAL;
    }
    if (p->vlan_mode && strcmp(p->vlan_mode, "access")) {
        snprintf(err, errlen, "ports[%zu].vlan_mode: '%s' is not access",
                 i, p->vlan_mode);
        return -EINVAL;
    }
    if (p->tag < 0) {
        return 0;
    }
    for (size_t k = 0; k < scope->n_vlans; k++) {
        if (scope->vlans[k] == p->tag) {
            return 0;
        }
    }
    snprintf(err, errlen, "ports[%zu].tag: VLAN %"PRId64" is not one of "
             "the configuration's networks (at the source's site, with a "
             "VLAN here)", i, p->tag);
    return -EINVAL;
}

int
nmovs_doc_check_scope(const struct nmovs_doc *doc,
                      const struct nmovs_scope *scope,
                      char *err, size_t errlen)
{
    for (size_t i = 0; i < doc->n_ports; i++) {
        const struct nmovs_port *p = &doc->ports[i];
        const char *key;
        int error;

        if (strcmp(p->bridge, scope->bridge)) {
            snprintf(err, errlen, "ports[%zu].bridge: '%s' is not the "
                     "configured bridge %s", i, p->bridge, scope->bridge);
            return -EINVAL;
        }
        if (p->n_ifaces != 1) {
            /* More is a bond: the host's uplinks are, a VM's port is not. */
            snprintf(err, errlen, "ports[%zu].interfaces: %zu interfaces; a "
                     "VM's port has one", i, p->n_ifaces);
            return -EINVAL;
        }
        if ((error = check_vlan(p, scope, i, err, errlen))
            || (error = check_iface(&p->ifaces[0], doc->vm, i, err,
                                    errlen))) {
            return error;
        }
        if ((key = find_key(&p->other_config, port_keys,
                            ARRAY_SIZE(port_keys), true))) {
            snprintf(err, errlen, "ports[%zu].other_config: '%s' is the "
                     "host's switching policy, not a VM's", i, key);
            return -EINVAL;
        }
        if (p->qos && (error = check_qos(p->qos, i, err, errlen))) {
            return error;
        }
    }
    return 0;
}

int
nmovs_doc_iface_tag(const struct nmovs_doc *doc, const char *iface)
{
    for (size_t i = 0; i < doc->n_ports; i++) {
        const struct nmovs_port *p = &doc->ports[i];
        for (size_t k = 0; k < p->n_ifaces; k++) {
            if (!strcmp(p->ifaces[k].name, iface)) {
                return p->tag < 0 ? -1 : (int) p->tag;
            }
        }
    }
    return -ENOENT;
}
