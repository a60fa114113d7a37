/* The CLI's side of the CLI <-> netmoved channel (libopenvswitch unixctl). */
#ifndef NETMOVE_CLIENT_H
#define NETMOVE_CLIENT_H 1

#include <stddef.h>

#include "openvswitch/compiler.h"

/* The control socket of the local netmoved: 'override' if nonnull, else
 * $NETMOVE_CTL, else nm_ctl_path() ("/run/netmove/netmoved.ctl", or
 * "$NETMOVE_RUNDIR/netmoved.ctl").  Returns a malloc'd path. */
char *nm_client_ctl_path(const char *override);

/* Runs unixctl command 'cmd' with the 'argc' strings of 'argv' on the
 * netmoved listening on 'ctl' and waits for its answer (if 'timeout_ms' > 0,
 * a process alarm ends the wait, as ovs-appctl --timeout does).
 * On success stores the daemon's reply in '*result' (malloc'd, may be empty)
 * and returns 0.  If the daemon answered with an error, stores its text in
 * '*error' (malloc'd) and returns -EREMOTEIO; if the daemon's error text
 * begins with "bad input:", returns -EINVAL instead, so that the CLI can exit
 * with 2.  Other negative errnos mean the daemon could not be reached. */
int nm_client_call(const char *ctl, const char *cmd, int argc, char *argv[],
                   int timeout_ms, char **result, char **error)
    OVS_WARN_UNUSED_RESULT;

#endif /* netmove/cli/client.h */
