/* Where netmove's files are by default: one place for every program.
 *
 *   configuration    $NETMOVE_CONFIG, else SYSCONFDIR/netmove/netmoved.json
 *   run directory    $NETMOVE_RUNDIR, else /run/netmove (the unit's
 *                    RuntimeDirectory=netmove)
 *   control socket   RUNDIR/netmoved.ctl (the configuration's "control" and
 *                    $NETMOVE_CTL, for the CLI, override it)
 *   pidfile          RUNDIR/netmoved.pid
 *   state            /var/lib/netmove (the configuration's "state_dir"; the
 *                    unit's StateDirectory=netmove)
 *
 * The environment variables are for hosts that run several netmoved, each
 * with its own files (the lab: netns-lab/lab sets them per host).
 * SYSCONFDIR is the Makefile's (default /etc), compiled in. */
#ifndef NETMOVE_PATHS_H
#define NETMOVE_PATHS_H 1

#ifndef NM_SYSCONFDIR
#define NM_SYSCONFDIR "/etc"
#endif
#ifndef NM_RUNDIR
#define NM_RUNDIR "/run/netmove"
#endif
#define NM_STATE_DIR "/var/lib/netmove"

/* The run directory: $NETMOVE_RUNDIR if set and not empty, else NM_RUNDIR. */
const char *nm_rundir(void);

/* The configuration file: $NETMOVE_CONFIG if set and not empty, else
 * NM_SYSCONFDIR "/netmove/netmoved.json". */
const char *nm_config_path(void);

/* netmoved's control socket and pidfile in nm_rundir().  Each returns a
 * malloc'd path. */
char *nm_ctl_path(void);
char *nm_pidfile_path(void);

#endif /* netmove/common/paths.h */
