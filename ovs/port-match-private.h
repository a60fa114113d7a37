/* ovs: which local port a document's port becomes (internal): found by the
 * VM's identity, the migrator's adopted, another VM's refused. */
#ifndef NETMOVE_OVS_PORT_MATCH_PRIVATE_H
#define NETMOVE_OVS_PORT_MATCH_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>

#include "ovs/db-private.h"

struct nmovs_port;
struct ovsrec_interface;

/* What an import does with one document port. */
struct nmovs_port_plan {
    const struct ovsrec_bridge *br;     /* The document's bridge. */
    const struct ovsrec_port *port;     /* Port to update in place, or NULL:
                                         * create it (or, adopting, none
                                         * yet). */
    bool adopted;               /* 'port' is not one netmove made: its
                                 * interfaces keep their type, options and
                                 * ofport_request. */
    const struct ovsrec_interface **ifaces; /* Per document interface: the
                                             * row to update, or NULL. */
    struct nmovs_vm_port *dups; /* Ports netmove made with the VM's
                                 * identity, superseded by 'port': to
                                 * delete. */
    size_t n_dups;
    size_t n_missing;           /* Adopting: document interfaces that have
                                 * no row yet. */
};

/* Decides, from the IDL's current contents, what importing port 'p' of the
 * document of VM 'vm' does (see nmovs_import() and nmovs_adopt() in
 * ovs/ovs.h): fills '*plan', which the caller clears with
 * nmovs_port_plan_clear().  Returns 0, -ENOENT (no such bridge), -EEXIST
 * (the names belong to another VM, a port with the document's identity
 * names another VM than 'vm' in its vm-id or vm-uuid, or two ports carry
 * the identity) or -EINVAL (adopting an interface without an identity),
 * with a message in 'err'. */
int nmovs_port_plan(struct nmovs_db *, const struct nmovs_port *p,
                    const char *vm, const char *staged_by, bool adopt_only,
                    struct nmovs_port_plan *plan, char *err, size_t errlen);

/* Frees what 'plan' holds (not 'plan'). */
void nmovs_port_plan_clear(struct nmovs_port_plan *plan);

/* The Interface named 'name', or NULL. */
const struct ovsrec_interface *nmovs_find_iface(struct nmovs_db *,
                                                const char *name);

/* The Port named 'name', or NULL. */
const struct ovsrec_port *nmovs_find_port(struct nmovs_db *,
                                          const char *name);

#endif /* ovs/port-match-private.h */
