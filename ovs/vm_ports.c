/* ovs: finding a VM's ports by the external_ids that libvirt and OpenStack
 * set (vm-id, vm-uuid, iface-id, attached-mac) or by name. */
#include "ovs/ovs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ovsdb-idl.h"
#include "smap.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-int.h"

static bool
iface_is_vms(const struct ovsrec_interface *iface, const char *vm)
{
    static const char *const keys[] = { "vm-id", "vm-uuid", "iface-id" };
    const char *mac = smap_get(&iface->external_ids, "attached-mac");

    if (!strcmp(iface->name, vm)) {
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const char *v = smap_get(&iface->external_ids, keys[i]);
        if (v && !strcmp(v, vm)) {
            return true;
        }
    }
    return mac && !strcasecmp(mac, vm);
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
            bool match = !strcmp(port->name, vm);

            for (size_t j = 0; !match && j < port->n_interfaces; j++) {
                match = iface_is_vms(port->interfaces[j], vm);
            }
            if (match) {
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
