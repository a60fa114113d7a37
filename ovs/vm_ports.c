/* ovs: finding a VM's ports by the external_ids that libvirt and OpenStack
 * set (vm-id, vm-uuid, iface-id, attached-mac), never by name: tap names
 * are per host, and a VM id may be any port's name ("eth1", the uplink);
 * and an interface's identity, which import matches ports by. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "hash.h"
#include "openvswitch/hmap.h"
#include "ovsdb-idl.h"
#include "smap.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"

/* The external_ids that name the VM an interface belongs to. */
static const char *const owner_keys[] = { "vm-id", "vm-uuid", "iface-id" };

void
nmovs_identity_get(const struct smap *external_ids, struct nmovs_identity *id)
{
    id->iface_id = smap_get(external_ids, "iface-id");
    id->mac = smap_get(external_ids, "attached-mac");
    id->vm = smap_get(external_ids, "vm-id");
    if (!id->vm) {
        id->vm = smap_get(external_ids, "vm-uuid");
    }
}

bool
nmovs_identity_is_set(const struct nmovs_identity *id)
{
    return id->iface_id || (id->mac && id->vm);
}

bool
nmovs_identity_matches(const struct nmovs_identity *want,
                       const struct smap *external_ids)
{
    if (want->iface_id) {
        const char *v = smap_get(external_ids, "iface-id");
        return v && !strcmp(v, want->iface_id);
    }
    if (want->mac && want->vm) {
        const char *mac = smap_get(external_ids, "attached-mac");
        const char *vm_id = smap_get(external_ids, "vm-id");
        const char *vm_uuid = smap_get(external_ids, "vm-uuid");
        return mac && !strcasecmp(mac, want->mac)
               && ((vm_id && !strcmp(vm_id, want->vm))
                   || (vm_uuid && !strcmp(vm_uuid, want->vm)));
    }
    return false;
}

void
nmovs_port_owner(const struct ovsrec_port *port, char *buf, size_t size)
{
    static const char *const keys[] = {
        "iface-id", "vm-id", "vm-uuid", "attached-mac",
    };
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < port->n_interfaces; i++) {
        const struct smap *ext = &port->interfaces[i]->external_ids;
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            const char *v = smap_get(ext, keys[k]);
            if (v && len < size) {
                len += snprintf(buf + len, size - len, "%s%s %s",
                                len ? ", " : "", keys[k], v);
            }
        }
        if (len) {
            return;
        }
    }
    snprintf(buf, size, "no VM identity in its external_ids");
}

static bool
iface_is_vms(const struct ovsrec_interface *iface, const char *vm)
{
    const char *mac = smap_get(&iface->external_ids, "attached-mac");

    for (size_t i = 0; i < ARRAY_SIZE(owner_keys); i++) {
        const char *v = smap_get(&iface->external_ids, owner_keys[i]);
        if (v && !strcmp(v, vm)) {
            return true;
        }
    }
    return mac && !strcasecmp(mac, vm);
}

static bool
port_is_vms_by_id(const struct ovsrec_port *port, const char *vm)
{
    for (size_t j = 0; j < port->n_interfaces; j++) {
        if (iface_is_vms(port->interfaces[j], vm)) {
            return true;
        }
    }
    return false;
}

static int
compare_by_port_name(const void *a_, const void *b_)
{
    const struct nmovs_vm_port *a = a_, *b = b_;
    return strcmp(a->port->name, b->port->name);
}

size_t
nmovs_find_vm_ports(struct nmovs_db *db, const char *vm,
                    struct nmovs_vm_port **portsp)
{
    const struct ovsrec_bridge *br;
    struct nmovs_vm_port *ports = NULL;
    size_t n = 0, allocated = 0;

    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *port = br->ports[i];
            if (port_is_vms_by_id(port, vm)) {
                if (n >= allocated) {
                    ports = x2nrealloc(ports, &allocated, sizeof *ports);
                }
                ports[n].br = br;
                ports[n].port = port;
                n++;
            }
        }
    }
    if (n) {
        qsort(ports, n, sizeof *ports, compare_by_port_name);
    }
    *portsp = ports;
    return n;
}


/* ---- the index by identity ---- */

/* One identity and the ports whose interfaces carry it. */
struct vm_key {
    struct hmap_node node;
    char *key;
    struct nmovs_vm_port *ports;
    size_t n, allocated;
};

struct nmovs_vm_index {
    unsigned int seqno;         /* The replica's, when built. */
    struct hmap ids;            /* vm-id, vm-uuid, iface-id: exact. */
    struct hmap macs;           /* attached-mac, in lowercase. */
};

static struct vm_key *
vm_key_find(const struct hmap *map, const char *key)
{
    struct vm_key *k;

    HMAP_FOR_EACH_WITH_HASH (k, node, hash_string(key, 0), map) {
        if (!strcmp(k->key, key)) {
            return k;
        }
    }
    return NULL;
}

static void
vm_key_add(struct hmap *map, const char *key,
           const struct ovsrec_bridge *br, const struct ovsrec_port *port)
{
    struct vm_key *k = vm_key_find(map, key);

    if (!k) {
        k = xzalloc(sizeof *k);
        k->key = xstrdup(key);
        hmap_insert(map, &k->node, hash_string(key, 0));
    }
    /* A port's interfaces are added together: a repeat is the last. */
    if (k->n && k->ports[k->n - 1].port == port) {
        return;
    }
    if (k->n >= k->allocated) {
        k->ports = x2nrealloc(k->ports, &k->allocated, sizeof *k->ports);
    }
    k->ports[k->n].br = br;
    k->ports[k->n].port = port;
    k->n++;
}

static char *
lowercase(const char *s)
{
    char *l = xstrdup(s);

    for (char *p = l; *p; p++) {
        *p = tolower((unsigned char) *p);
    }
    return l;
}

static void
vm_keys_clear(struct hmap *map)
{
    struct vm_key *k;

    HMAP_FOR_EACH_POP (k, node, map) {
        free(k->key);
        free(k->ports);
        free(k);
    }
}

void
nmovs_vm_index_destroy(struct nmovs_vm_index *x)
{
    if (x) {
        vm_keys_clear(&x->ids);
        vm_keys_clear(&x->macs);
        hmap_destroy(&x->ids);
        hmap_destroy(&x->macs);
        free(x);
    }
}

/* The index for the replica as it is: rebuilt (O(ports)) when it changed. */
static struct nmovs_vm_index *
vm_index(struct nmovs_db *db)
{
    unsigned int seqno = ovsdb_idl_get_seqno(db->idl);
    struct nmovs_vm_index *x = db->vm_index;
    const struct ovsrec_bridge *br;

    if (x && x->seqno == seqno) {
        return x;
    }
    if (!x) {
        x = db->vm_index = xzalloc(sizeof *x);
        hmap_init(&x->ids);
        hmap_init(&x->macs);
    }
    vm_keys_clear(&x->ids);
    vm_keys_clear(&x->macs);
    x->seqno = seqno;
    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *port = br->ports[i];

            for (size_t j = 0; j < port->n_interfaces; j++) {
                const struct smap *ext = &port->interfaces[j]->external_ids;
                const char *mac = smap_get(ext, "attached-mac");

                for (size_t k = 0; k < ARRAY_SIZE(owner_keys); k++) {
                    const char *v = smap_get(ext, owner_keys[k]);
                    if (v) {
                        vm_key_add(&x->ids, v, br, port);
                    }
                }
                if (mac) {
                    char *l = lowercase(mac);
                    vm_key_add(&x->macs, l, br, port);
                    free(l);
                }
            }
        }
    }
    return x;
}

static void
add_unique(struct nmovs_vm_port **ports, size_t *n, size_t *allocated,
           const struct vm_key *k)
{
    for (size_t i = 0; k && i < k->n; i++) {
        size_t j;

        for (j = 0; j < *n && (*ports)[j].port != k->ports[i].port; j++) {
            continue;
        }
        if (j == *n) {
            if (*n >= *allocated) {
                *ports = x2nrealloc(*ports, allocated, sizeof **ports);
            }
            (*ports)[(*n)++] = k->ports[i];
        }
    }
}

size_t
nmovs_find_vm_ports_indexed(struct nmovs_db *db, const char *vm,
                            struct nmovs_vm_port **portsp)
{
    struct nmovs_vm_index *x = vm_index(db);
    struct nmovs_vm_port *ports = NULL;
    size_t n = 0, allocated = 0;
    char *l = lowercase(vm);

    /* As port_is_vms_by_id(): an id equal to 'vm', or a MAC equal to it
     * but for case. */
    add_unique(&ports, &n, &allocated, vm_key_find(&x->ids, vm));
    add_unique(&ports, &n, &allocated, vm_key_find(&x->macs, l));
    free(l);
    if (n) {
        qsort(ports, n, sizeof *ports, compare_by_port_name);
    }
    *portsp = ports;
    return n;
}

int
nmovs_vm_iface_ofport(struct nmovs_db *db, const char *vm, const char *name,
                      uint32_t *ofport)
{
    struct nmovs_vm_port *ports;
    size_t n = nmovs_find_vm_ports(db, vm, &ports);
    int error = -ENOENT;

    *ofport = 0;
    for (size_t i = 0; i < n && error; i++) {
        for (size_t k = 0; k < ports[i].port->n_interfaces; k++) {
            const struct ovsrec_interface *iface
                = ports[i].port->interfaces[k];
            if (!strcmp(iface->name, name)) {
                *ofport = nmovs_iface_ofport(iface);
                error = 0;
                break;
            }
        }
    }
    free(ports);
    return error;
}

uint32_t
nmovs_iface_ofport(const struct ovsrec_interface *iface)
{
    return (iface->n_ofport && *iface->ofport > 0
            && *iface->ofport < UINT16_MAX ? *iface->ofport : 0);
}
