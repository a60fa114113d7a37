/* ovs: which local port a document's port becomes.  Tap names are per host
 * and collide, so a port is found by the VM's identity (Interface
 * external_ids iface-id, or attached-mac with vm-id/vm-uuid), never by its
 * name alone: the port the migrator made (libvirt makes its own when it
 * starts QEMU) is adopted, a port of the same name that is another VM's is
 * refused, and one VM never ends up with two ports. */
#include "ovs/port-match-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovsdb-idl.h"
#include "smap.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/ovs.h"
#include "ovs/port-doc-private.h"

const struct ovsrec_interface *
nmovs_find_iface(struct nmovs_db *db, const char *name)
{
    const struct ovsrec_interface *i;
    OVSREC_INTERFACE_FOR_EACH (i, db->idl) {
        if (!strcmp(i->name, name)) {
            return i;
        }
    }
    return NULL;
}

const struct ovsrec_port *
nmovs_find_port(struct nmovs_db *db, const char *name)
{
    const struct ovsrec_port *p;
    OVSREC_PORT_FOR_EACH (p, db->idl) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static const struct ovsrec_bridge *
find_bridge(struct nmovs_db *db, const char *name)
{
    const struct ovsrec_bridge *br;
    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        if (!strcmp(br->name, name)) {
            return br;
        }
    }
    return NULL;
}

static bool
is_staged(const struct ovsrec_port *port)
{
    return smap_get(&port->external_ids, NMOVS_STAGED_KEY) != NULL;
}

/* True if an interface of 'port' has the identity of one of 'p''s. */
static bool
port_has_identity(const struct ovsrec_port *port, const struct nmovs_port *p)
{
    for (size_t i = 0; i < p->n_ifaces; i++) {
        struct nmovs_identity id;

        nmovs_identity_get(&p->ifaces[i].external_ids, &id);
        for (size_t j = 0; j < port->n_interfaces; j++) {
            if (nmovs_identity_matches(&id,
                                       &port->interfaces[j]->external_ids)) {
                return true;
            }
        }
    }
    return false;
}

/* The VM 'port' names in its interfaces' external_ids (vm-id or vm-uuid)
 * when that is not 'vm': it is another VM's, whatever else of its identity
 * a document copies.  NULL if it names none, or names 'vm'. */
static const char *
names_other_vm(const struct ovsrec_port *port, const char *vm)
{
    const char *other = NULL;

    for (size_t j = 0; j < port->n_interfaces; j++) {
        const struct smap *ext = &port->interfaces[j]->external_ids;
        const char *vm_id = smap_get(ext, "vm-id");
        const char *vm_uuid = smap_get(ext, "vm-uuid");

        if ((vm_id && !strcmp(vm_id, vm))
            || (vm_uuid && !strcmp(vm_uuid, vm))) {
            return NULL;
        }
        other = other ? other : vm_id ? vm_id : vm_uuid;
    }
    return other;
}

/* The ports with 'p''s identity: netmove's (netmove-staged) into
 * '*staged', the others (the migrator's) into '*others'. */
static void
find_by_identity(struct nmovs_db *db, const struct nmovs_port *p,
                 struct nmovs_vm_port **staged, size_t *n_staged,
                 struct nmovs_vm_port **others, size_t *n_others)
{
    const struct ovsrec_bridge *br;

    *staged = *others = NULL;
    *n_staged = *n_others = 0;
    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *port = br->ports[i];
            if (port_has_identity(port, p)) {
                struct nmovs_vm_port **v = is_staged(port) ? staged : others;
                size_t *n = is_staged(port) ? n_staged : n_others;
                *v = xrealloc(*v, (*n + 1) * sizeof **v);
                (*v)[*n].br = br;
                (*v)[(*n)++].port = port;
            }
        }
    }
}

/* The interface of 'port' that document interface 'f' is: the one with its
 * identity, or, if 'f' has none, the one of its name. */
static const struct ovsrec_interface *
match_iface(const struct ovsrec_port *port, const struct nmovs_iface *f)
{
    struct nmovs_identity id;

    nmovs_identity_get(&f->external_ids, &id);
    for (size_t j = 0; j < port->n_interfaces; j++) {
        const struct ovsrec_interface *row = port->interfaces[j];
        if (nmovs_identity_is_set(&id)
            ? nmovs_identity_matches(&id, &row->external_ids)
            : !strcmp(row->name, f->name)) {
            return row;
        }
    }
    return NULL;
}

/* Refuses a name that exists: with no port found by the VM's identity,
 * whatever has the document's name is another VM's (or nobody's). */
static int
check_names_free(struct nmovs_db *db, const struct nmovs_port *p, char *err,
                 size_t errlen)
{
    const struct ovsrec_port *row = nmovs_find_port(db, p->name);
    char owner[256];

    if (row) {
        nmovs_port_owner(row, owner, sizeof owner);
        snprintf(err, errlen, "port %s: belongs to another VM (%s)",
                 p->name, owner);
        return -EEXIST;
    }
    for (size_t i = 0; i < p->n_ifaces; i++) {
        const struct ovsrec_interface *f
            = nmovs_find_iface(db, p->ifaces[i].name);
        const struct ovsrec_port *holder = NULL;
        const struct ovsrec_port *q;

        if (!f) {
            continue;
        }
        OVSREC_PORT_FOR_EACH (q, db->idl) {
            for (size_t j = 0; j < q->n_interfaces; j++) {
                if (q->interfaces[j] == f) {
                    holder = q;
                }
            }
        }
        if (holder) {
            nmovs_port_owner(holder, owner, sizeof owner);
        } else {
            snprintf(owner, sizeof owner, "in no port");
        }
        snprintf(err, errlen, "interface %s (port %s): belongs to another VM "
                 "(%s)", p->ifaces[i].name, holder ? holder->name : "none",
                 owner);
        return -EEXIST;
    }
    return 0;
}

/* Chooses the port to update among those with the VM's identity. */
static int
choose_port(struct nmovs_db *db, const struct nmovs_port *p, const char *vm,
            const char *staged_by, bool adopt_only,
            struct nmovs_port_plan *plan, char *err, size_t errlen)
{
    struct nmovs_vm_port *staged, *others;
    size_t n_staged, n_others;
    const char *owner = NULL;
    int error = 0;

    find_by_identity(db, p, &staged, &n_staged, &others, &n_others);
    for (size_t i = 0; i < n_others && !owner; i++) {
        /* An iface-id or MAC the document shares with a port that names
         * another VM: that port is the other VM's, never adopted. */
        owner = names_other_vm(others[i].port, vm);
        if (owner) {
            snprintf(err, errlen, "port %s: port %s carries the document's "
                     "identity but belongs to another VM (vm %s, not %s)",
                     p->name, others[i].port->name, owner, vm);
            error = -EEXIST;
        }
    }
    if (error) {
        /* Refused above. */
    } else if (n_others > 1) {
        snprintf(err, errlen, "port %s: ports %s and %s both carry the VM's "
                 "identity and netmove made neither: which one is the VM's?",
                 p->name, others[0].port->name, others[1].port->name);
        error = -EEXIST;
    } else if (n_others == 1) {
        /* The migrator's port: adopt it, drop netmove's duplicates. */
        plan->port = others[0].port;
        plan->adopted = true;
        plan->dups = staged;
        plan->n_dups = n_staged;
        staged = NULL;
    } else if (adopt_only) {
        /* Nothing to adopt yet; netmove's own port is not the migrator's. */
    } else if (n_staged > 1) {
        snprintf(err, errlen, "port %s: netmove staged ports %s and %s for "
                 "the same VM", p->name, staged[0].port->name,
                 staged[1].port->name);
        error = -EEXIST;
    } else if (n_staged == 1) {
        plan->port = staged[0].port;
    } else {
        /* A port this same migration created under the document's name is
         * ours even if the document gives no identity. */
        const struct ovsrec_port *row = nmovs_find_port(db, p->name);
        const char *mark = row ? smap_get(&row->external_ids,
                                          NMOVS_STAGED_KEY) : NULL;
        if (staged_by && mark && !strcmp(mark, staged_by)) {
            plan->port = row;
        } else {
            error = check_names_free(db, p, err, errlen);
        }
    }
    free(staged);
    free(others);
    return error;
}

int
nmovs_port_plan(struct nmovs_db *db, const struct nmovs_port *p,
                const char *vm, const char *staged_by, bool adopt_only,
                struct nmovs_port_plan *plan, char *err, size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    plan->br = find_bridge(db, p->bridge);
    if (!plan->br) {
        snprintf(err, errlen, "port %s: bridge '%s' does not exist",
                 p->name, p->bridge);
        return -ENOENT;
    }
    for (size_t i = 0; adopt_only && i < p->n_ifaces; i++) {
        struct nmovs_identity id;

        nmovs_identity_get(&p->ifaces[i].external_ids, &id);
        if (!nmovs_identity_is_set(&id)) {
            snprintf(err, errlen, "interface %s: no identity to adopt a port "
                     "by (external_ids iface-id, or attached-mac with vm-id "
                     "or vm-uuid)", p->ifaces[i].name);
            return -EINVAL;
        }
    }
    int error = choose_port(db, p, vm, staged_by, adopt_only, plan, err,
                            errlen);
    if (error) {
        nmovs_port_plan_clear(plan);
        return error;
    }
    if (plan->port && nmovs_port_bridge(db, plan->port) != plan->br) {
        snprintf(err, errlen, "port %s: the VM's port %s is on another "
                 "bridge than %s", p->name, plan->port->name, p->bridge);
        nmovs_port_plan_clear(plan);
        return -EEXIST;
    }

    plan->ifaces = xcalloc(p->n_ifaces + 1, sizeof *plan->ifaces);
    for (size_t i = 0; i < p->n_ifaces; i++) {
        const struct ovsrec_interface *row
            = plan->port ? match_iface(plan->port, &p->ifaces[i]) : NULL;

        for (size_t k = 0; row && k < i; k++) {
            if (plan->ifaces[k] == row) {
                snprintf(err, errlen, "port %s: interfaces %s and %s of the "
                         "document are both interface %s here", p->name,
                         p->ifaces[k].name, p->ifaces[i].name, row->name);
                nmovs_port_plan_clear(plan);
                return -EEXIST;
            }
        }
        if (!row && adopt_only) {
            plan->n_missing++;
        } else if (!row && plan->port) {
            /* A new interface in an existing port: its name must be free. */
            const struct ovsrec_interface *f
                = nmovs_find_iface(db, p->ifaces[i].name);
            if (f) {
                snprintf(err, errlen, "interface %s already exists in "
                         "another port than %s", p->ifaces[i].name,
                         plan->port->name);
                nmovs_port_plan_clear(plan);
                return -EEXIST;
            }
        }
        plan->ifaces[i] = row;
    }
    return 0;
}

void
nmovs_port_plan_clear(struct nmovs_port_plan *plan)
{
    free(plan->ifaces);
    free(plan->dups);
    memset(plan, 0, sizeof *plan);
}
