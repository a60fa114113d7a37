/* The CLI's side of the CLI <-> netmoved channel. */
#include "netmove/cli/client.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"

#include "netmove/common/paths.h"

char *
nm_client_ctl_path(const char *override)
{
    const char *env = getenv("NETMOVE_CTL");

    if (override) {
        return xstrdup(override);
    } else if (env && env[0]) {
        return xstrdup(env);
    }
    return nm_ctl_path();
}

int
nm_client_call(const char *ctl, const char *cmd, int argc, char *argv[],
               int timeout_ms, char **result, char **error)
{
    struct jsonrpc *client;
    int error_;

    *result = NULL;
    *error = NULL;
    error_ = unixctl_client_create(ctl, &client);
    if (error_) {
        return -error_;
    }
    /* unixctl_client_transact() blocks; the daemon bounds every command it
     * answers, and an alarm bounds our wait on top of that, as ovs-appctl's
     * --timeout does. */
    if (timeout_ms > 0) {
        time_alarm((timeout_ms + 999) / 1000);
    }
    error_ = unixctl_client_transact(client, cmd, argc, argv, result, error);
    jsonrpc_close(client);
    if (timeout_ms > 0) {
        /* Not time_alarm(0): despite its comment, OVS 3.1 then sets the
         * deadline to now, and the next poll dies of SIGALRM. */
        time_alarm(UINT_MAX);
    }
    if (error_) {
        return -error_;
    }
    if (*error) {
        return !strncmp(*error, "bad input:", 10) ? -EINVAL : -EREMOTEIO;
    }
    return 0;
}
