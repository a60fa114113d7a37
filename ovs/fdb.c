/* ovs: MAC learning.  After a move, the source bridge must stop sending a
 * VM's frames to its stale port.  OVS 3.1's unixctl offers fdb/flush
 * [BRIDGE] for learned entries; its fdb/del BRIDGE VLAN MAC removes only
 * static entries (ofproto-dpif.c), so per-MAC deletion of a learned entry
 * is not available: netmove flushes the bridge's table, as ovs-appctl
 * fdb/flush does, and every MAC is relearned from the next frame. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "jsonrpc.h"
#include "unixctl.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"

/* Runs ovs-vswitchd's unixctl 'command' with 'argc' 'argv' through
 * RUNDIR/ovs-vswitchd.PID.ctl, as ovs-appctl does. */
static int
vswitchd_transact(const char *rundir, const char *command, int argc,
                  char *argv[], char *err, size_t errlen)
{
    char *pidfile = xasprintf("%s/ovs-vswitchd.pid", rundir);
    pid_t pid = read_pidfile(pidfile);
    free(pidfile);
    if (pid < 0) {
        snprintf(err, errlen, "ovs-vswitchd pidfile in %s: %s", rundir,
                 ovs_strerror(-pid));
        return pid;
    }

    char *path = xasprintf("%s/ovs-vswitchd.%ld.ctl", rundir, (long) pid);
    struct jsonrpc *client;
    int error = unixctl_client_create(path, &client);
    if (error) {
        snprintf(err, errlen, "%s: %s", path, ovs_strerror(error));
        free(path);
        return -error;
    }
    char *result, *cmd_err;
    error = unixctl_client_transact(client, command, argc, argv, &result,
                                    &cmd_err);
    jsonrpc_close(client);
    if (error) {
        snprintf(err, errlen, "%s: %s", path, ovs_strerror(error));
        error = -error;
    } else if (cmd_err) {
        /* "no such bridge" and the like, with a newline. */
        cmd_err[strcspn(cmd_err, "\n")] = '\0';
        snprintf(err, errlen, "ovs-vswitchd: %s: %s", command, cmd_err);
        error = -ENOENT;
    }
    free(path);
    free(result);
    free(cmd_err);
    return error;
}

int
nmovs_fdb_flush(const char *rundir, const char *bridge, char *err,
                size_t errlen)
{
    /* ovs-appctl fdb/flush BRIDGE */
    char *argv[] = { CONST_CAST(char *, bridge) };
    return vswitchd_transact(rundir, "fdb/flush", 1, argv, err, errlen);
}

int
nmovs_forget(struct nmovs_db *db, const char *vm, const char *bridge,
             char *err, size_t errlen)
{
    struct nmovs_vm_port *ports;
    size_t n = nmovs_find_vm_ports(db, vm, &ports);
    int error = 0;

    if (bridge) {
        error = nmovs_fdb_flush(db->rundir, bridge, err, errlen);
    } else if (!n) {
        snprintf(err, errlen, "VM '%s': no port found to tell its bridge "
                 "(give --bridge)", vm);
        error = -ENOENT;
    }
    for (size_t i = 0; !bridge && !error && i < n; i++) {
        /* Each bridge once. */
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            seen |= ports[j].br == ports[i].br;
        }
        if (!seen) {
            error = nmovs_fdb_flush(db->rundir, ports[i].br->name,
                                    err, errlen);
        }
    }
    free(ports);
    return error;
}
