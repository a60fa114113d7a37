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
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"

#define TRANSACT_TIMEOUT_MS 2000

/* Sends 'request' (consumed) on 'rpc' and waits for its reply, at most
 * until 'deadline' (time_msec()): libopenvswitch's
 * unixctl_client_transact() waits for ever, and a hung ovs-vswitchd must
 * not hang its caller (netmoved's loop).  0 with '*replyp', or a positive
 * errno (ETIMEDOUT). */
static int
transact_bounded(struct jsonrpc *rpc, struct jsonrpc_msg *request,
                 long long int deadline, struct jsonrpc_msg **replyp)
{
    struct json *id = json_clone(request->id);
    int error = jsonrpc_send(rpc, request);

    *replyp = NULL;
    while (!error) {
        struct jsonrpc_msg *msg;

        jsonrpc_run(rpc);
        error = jsonrpc_recv(rpc, &msg);
        if (!error) {
            if ((msg->type == JSONRPC_REPLY || msg->type == JSONRPC_ERROR)
                && json_equal(msg->id, id)) {
                *replyp = msg;
                break;
            }
            jsonrpc_msg_destroy(msg);
            continue;
        } else if (error != EAGAIN) {
            break;
        } else if (time_msec() >= deadline) {
            error = ETIMEDOUT;
            break;
        }
        error = 0;
        jsonrpc_wait(rpc);
        jsonrpc_recv_wait(rpc);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    json_destroy(id);
    return error;
}

int
nmovs_vswitchd_transact(const char *rundir, const char *command, int argc,
                        char *argv[], char **resultp, char *err,
                        size_t errlen)
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
    struct json *params = json_array_create_empty();
    for (int i = 0; i < argc; i++) {
        json_array_add(params, json_string_create(argv[i]));
    }
    struct jsonrpc_msg *reply;
    char *result = NULL, *cmd_err = NULL;
    error = transact_bounded(client,
                             jsonrpc_create_request(command, params, NULL),
                             time_msec() + TRANSACT_TIMEOUT_MS, &reply);
    jsonrpc_close(client);
    if (!error) {
        if (reply->error) {
            cmd_err = reply->error->type == JSON_STRING
                      ? xstrdup(json_string(reply->error))
                      : json_to_string(reply->error, 0);
        } else if (reply->result && reply->result->type == JSON_STRING) {
            result = xstrdup(json_string(reply->result));
        }
        jsonrpc_msg_destroy(reply);
    }
    if (error) {
        snprintf(err, errlen, "%s: %s", path, ovs_strerror(error));
        error = -error;
    } else if (cmd_err) {
        /* "no such bridge" and the like, with a newline. */
        cmd_err[strcspn(cmd_err, "\n")] = '\0';
        snprintf(err, errlen, "ovs-vswitchd: %s: %s", command, cmd_err);
        error = -ENOENT;
    }
    if (resultp && !error) {
        *resultp = result;
        result = NULL;
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
    return nmovs_vswitchd_transact(rundir, "fdb/flush", 1, argv, NULL, err,
                                   errlen);
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
