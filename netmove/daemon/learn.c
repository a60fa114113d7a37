/* netmoved's side of address learning: the learner (addrlearn.h) told the
 * VM interfaces OVSDB has whenever they change, run in the loop, its table
 * kept in the state directory across restarts, and what it learned of a VM
 * added to that VM's addresses when the VM leaves this host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/addrlearn.h"
#include "netmove/common/config.h"
#include "netmove/daemon/learn.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/error.h"
#include "ovs/ovs.h"

VLOG_DEFINE_THIS_MODULE(learn);

/* Address learning's state in netmoved. */
struct nm_learn {
    struct nm_addrlearn *al;            /* NULL: learning off. */
    unsigned int db_seqno;              /* OVSDB as the learner knows it. */
    long long int saved_ms;             /* time_msec() of the last save. */
    uint64_t saved_n;                   /* Addresses learned by then. */
};

#define SAVE_INTERVAL_MS 5000

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);

static char *
table_path(const struct netmoved *nm)
{
    return xasprintf("%s/learned-addresses.json", nm->cfg->state_dir);
}

void
nm_learn_init(struct netmoved *nm)
{
    struct nm_addrlearn_params p = { .dev = NULL };
    char err[NM_ERRLEN];

    if (!nm->learn) {
        nm->learn = xzalloc(sizeof *nm->learn);
    }
    if (nm_addrlearn_create(&p, &nm->learn->al, err, sizeof err)) {
        VLOG_WARN("address learning off: %s (only declared addresses, "
                  "external_ids:ip-addresses, will be announced)", err);
        nm->learn->al = NULL;
        return;
    }
    char *path = table_path(nm);
    int error = nm_addrtab_load(nm_addrlearn_table(nm->learn->al), path,
                                time_wall_usec(), err, sizeof err);
    if (error && error != -ENOENT) {
        VLOG_WARN("%s: %s (starting with what the VMs say from now on)",
                  path, err);
    }
    free(path);
}

/* Saves the table now. */
static void
save(struct netmoved *nm)
{
    char *path = table_path(nm);
    char err[NM_ERRLEN];

    if (nm_addrtab_save(nm_addrlearn_table(nm->learn->al), path,
                        err, sizeof err)) {
        VLOG_WARN_RL(&rl, "%s", err);
    }
    free(path);
    nm->learn->saved_ms = time_msec();
    nm->learn->saved_n = nm_addrlearn_verdicts(nm->learn->al)[NM_ADDRTAB_LEARNED];
}

/* Tells the learner the VM interfaces OVSDB has now. */
static void
set_ports(struct netmoved *nm)
{
    struct nmovs_vm_iface *ifaces;
    size_t n = nmovs_vm_ifaces(nm->db, &ifaces);
    struct nm_addrtab_port *ports = xcalloc(n ? n : 1, sizeof *ports);
    char **networks = xcalloc(n ? n : 1, sizeof *networks);
    char err[NM_ERRLEN];

    for (size_t i = 0; i < n; i++) {
        networks[i] = xasprintf("vlan:%d", ifaces[i].tag);
        ports[i].iface = ifaces[i].name;
        ports[i].mac = ifaces[i].mac;
        ports[i].vm = ifaces[i].vm;
        ports[i].network = networks[i];
    }
    if (nm_addrtab_set_ports(nm_addrlearn_table(nm->learn->al), ports, n,
                             err, sizeof err)) {
        VLOG_WARN_RL(&rl, "address learning: %s", err);
    }
    for (size_t i = 0; i < n; i++) {
        free(networks[i]);
    }
    free(networks);
    free(ports);
    nmovs_vm_ifaces_free(ifaces, n);
}

void
nm_learn_run(struct netmoved *nm)
{
    if (!nm->learn->al) {
        return;
    }
    if (nmovs_db_is_synced(nm->db)
        && nmovs_db_seqno(nm->db) != nm->learn->db_seqno) {
        nm->learn->db_seqno = nmovs_db_seqno(nm->db);
        set_ports(nm);
    }
    uint64_t now = time_wall_usec();
    if (nm_addrlearn_run(nm->learn->al, now) == -EIO) {
        VLOG_WARN("address learning: the capture failed; reopening it");
        nm_learn_save_now(nm);
        nm_addrlearn_destroy(nm->learn->al);
        nm_learn_init(nm);
        nm->learn->db_seqno = 0;
        return;
    }
    if (nm_addrlearn_verdicts(nm->learn->al)[NM_ADDRTAB_LEARNED]
        != nm->learn->saved_n
        && time_msec() >= nm->learn->saved_ms + SAVE_INTERVAL_MS) {
        save(nm);
    }
}

void
nm_learn_wait(struct netmoved *nm)
{
    if (!nm->learn->al) {
        return;
    }
    nm_addrlearn_wait(nm->learn->al);
    if (nm_addrlearn_verdicts(nm->learn->al)[NM_ADDRTAB_LEARNED]
        != nm->learn->saved_n) {
        poll_timer_wait_until(nm->learn->saved_ms + SAVE_INTERVAL_MS);
    }
}

void
nm_learn_save_now(struct netmoved *nm)
{
    if (nm->learn->al) {
        save(nm);
    }
}

size_t
nm_learn_merge(struct netmoved *nm, struct nm_vm_addrs *addrs)
{
    size_t n = 0;

    if (nm->learn->al) {
        n = nm_addrtab_merge(nm_addrlearn_table(nm->learn->al), time_wall_usec(),
                             0, addrs);
        if (n) {
            /* On disk before the VM's addresses leave in an export. */
            nm_learn_save_now(nm);
        }
    }
    return n;
}

void
nm_learn_forget(struct netmoved *nm, const char *iface, const char *ip)
{
    char err[NM_ERRLEN];

    if (nm->learn->al && nm_addrtab_forget(nm_addrlearn_table(nm->learn->al), iface,
                                       ip, err, sizeof err) == -EINVAL) {
        VLOG_WARN_RL(&rl, "address learning: %s", err);
    }
}

void
nm_learn_destroy(struct netmoved *nm)
{
    if (nm->learn) {
        if (nm->learn->al) {
            save(nm);
            nm_addrlearn_destroy(nm->learn->al);
        }
        free(nm->learn);
        nm->learn = NULL;
    }
}
