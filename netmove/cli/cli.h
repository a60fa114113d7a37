/* netmove CLI: the subcommand table and helpers shared by the cmd_* files. */
#ifndef NETMOVE_CLI_H
#define NETMOVE_CLI_H 1

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "netmove/common/error.h"
#include "netmove/common/paths.h"

/* One subcommand: 'name' as typed, 'fn' runs it with argv[0] = 'name' and
 * returns an exit code, 'summary' is one line for 'netmove help', 'usage'
 * the full text for 'netmove help NAME' and 'netmove NAME --help'. */
struct nm_cmd {
    const char *name;
    int (*fn)(int argc, char *argv[]);
    const char *summary;
    const char *usage;
};

/* Prints 'cmd''s usage to stdout. */
void nm_cmd_print_usage(const struct nm_cmd *cmd);

/* True if 'argv' holds "--help" or "-h" before any "--". */
bool nm_wants_help(int argc, char *argv[]);

/* Prints "netmove: <fmt>" to stderr and returns NM_EXIT_USAGE, for bad input. */
int nm_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "netmove: <fmt>" to stderr and returns NM_EXIT_FAIL. */
int nm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Takes option 'opt' (getopt_long()'s value) with value 'arg' (NULL for an
 * option without one) into 'aux'.  Returns 0, or an exit code after
 * printing the error, naming the option. */
typedef int nm_option_fn(void *aux, int opt, const char *arg);

/* How every verb reads its options: getopt_long() over 'argv' (argv[0] is
 * the verb) with 'options', each handed to 'take'.  An unknown option or
 * one missing its value is bad input, named in the message.  Leaves
 * 'optind' at the first operand (operands and options may mix).  Returns
 * 0 or an exit code. */
int nm_parse_options(const char *verb, int argc, char *argv[],
                     const struct option *options, nm_option_fn *take,
                     void *aux);

/* Writes 'text' to 'f', then closes 'f' if 'close' (else flushes it).
 * Returns 0, or -errno of the first failure: -EIO when the C library
 * failed without setting errno (a short write is never taken for
 * success). */
int nm_write_text(FILE *f, const char *text, bool close);

/* A group's sub-verb ("netmove fw export"): 'fn' runs it with argv[0] =
 * 'name'. */
struct nm_subcmd {
    const char *name;
    int (*fn)(int argc, char *argv[]);
};

/* Runs the sub-verb argv[1] of 'group' among the 'subs' (ending with a NULL
 * name); a missing or unknown one is bad input. */
int nm_run_subcmd(const struct nm_cmd *group, const struct nm_subcmd *subs,
                  int argc, char *argv[]);

/* Subcommands, one file per group (cli_<group>.c), each defining its
 * 'struct nm_cmd nm_cmd_<verb>'.  The table in netmove.c lists them in the
 * order 'netmove help' shows them. */
extern const struct nm_cmd nm_cmd_announce;    /* cli_announce.c */
extern const struct nm_cmd nm_cmd_capture;     /* cli_announce.c */
extern const struct nm_cmd nm_cmd_port;        /* cli_port.c */
extern const struct nm_cmd nm_cmd_fw;          /* cli_fw.c */
extern const struct nm_cmd nm_cmd_ct;          /* cli_ct.c */
extern const struct nm_cmd nm_cmd_prepare;     /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_resume;      /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_confirm;     /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_abort;       /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_left;        /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_paused;      /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_verify;      /* cli_verify.c */
extern const struct nm_cmd nm_cmd_watch_qmp;   /* watch_qmp.c */
/* watch_libvirt.c in netmove-libvirt; watch_libvirt_exec.c, which runs
 * netmove-libvirt, in netmove. */
extern const struct nm_cmd nm_cmd_watch_libvirt;
#define NM_WATCH_LIBVIRT_SUMMARY \
    "resume at libvirt's RESUMED MIGRATED event after an incoming migration"
#define NM_WATCH_LIBVIRT_USAGE \
    "usage: netmove watch-libvirt DOMAIN [--uri URI] [--vm ID] [--from HOST]\n" \
    "                             [--exec CMD] [--timeout S]\n" \
    "                             [--call-timeout S] [--ctl PATH]\n" \
    "       netmove watch-libvirt DOMAIN --source [--to HOST] [OPTIONS]\n" \
    "\n" \
    "Connects to libvirtd (read-only), finds DOMAIN (a name or a UUID), the\n" \
    "destination of an incoming migration, and follows its lifecycle\n" \
    "events.  At RESUMED MIGRATED (the guest runs here after the incoming\n" \
    "migration; RESUMED POSTCOPY in post-copy) it calls resume at once,\n" \
    "once, and exits: through the local netmoved ('netmove resume ID\n" \
    "[--from HOST]'), or with --exec by running CMD with sh -c and the\n" \
    "environment NETMOVE_VM, NETMOVE_SRC_HOST (with --from),\n" \
    "NETMOVE_RESUMED_US (when the event arrived, microseconds since the\n" \
    "epoch: libvirt's events carry no timestamp).  A RESUMED of a domain\n" \
    "that did not come by an incoming migration (a plain 'virsh resume', a\n" \
    "source whose migration was cancelled) never triggers.  Started late,\n" \
    "on a domain that already runs after an incoming migration, it calls at\n" \
    "once.  It gives up if the domain stops (the migration failed), crashes\n" \
    "or is undefined, or is found gone or shut off (checked every 10 s, for\n" \
    "an end libvirt sends no event for), if the connection to libvirtd\n" \
    "closes, or at --timeout (none by default: a precopy may take hours).\n" \
    "Without --source a SUSPENDED MIGRATED (a source, paused for the\n" \
    "switch-over) is printed, nothing more.\n" \
    "\n" \
    "With --source, on the source of an outgoing migration: at SUSPENDED\n" \
    "MIGRATED (or POSTCOPY) it calls 'netmove paused ID [--to HOST]' at\n" \
    "once; at STOPPED MIGRATED 'netmove left ID [--to HOST]' and exits; at a\n" \
    "RESUMED after the pause (the migration failed, the guest runs here\n" \
    "again) 'netmove abort ID' and exits.  With --exec, CMD runs for each,\n" \
    "with NETMOVE_PHASE (paused, left, abort), NETMOVE_VM, NETMOVE_DST_HOST\n" \
    "(with --to), NETMOVE_PAUSED_US (when the SUSPENDED arrived).\n" \
    "\n" \
    "Never run it inside a libvirt hook: libvirtd\n" \
    "is busy in the hook; start it detached (netmove/hooks/libvirt-qemu\n" \
    "does).\n" \
    "\n" \
    "  --uri URI          libvirt's connection URI (qemu:///system)\n" \
    "  --vm ID            netmove's id of the VM (else the domain's UUID,\n" \
    "                     the external_ids:vm-id libvirt sets on its port)\n" \
    "  --from HOST        the source host (else netmoved finds it)\n" \
    "  --source           the domain is the source: follow its outgoing\n" \
    "                     migration\n" \
    "  --to HOST          with --source: the destination (libvirt's events\n" \
    "                     do not name it; else the host VM was exported to)\n" \
    "  --exec CMD         run CMD instead of calling netmoved\n" \
    "  --timeout S        how long to wait for the event (0: as long as the\n" \
    "                     domain lives, the default)\n" \
    "  --call-timeout S   how long the resume call may take (60)\n" \
    "  --ctl PATH         netmoved's control socket (else $NETMOVE_CTL, else\n" \
    "                     RUNDIR/netmoved.ctl; RUNDIR: $NETMOVE_RUNDIR, else\n" \
    "                     " NM_RUNDIR ")\n" \
    "\n" \
    "Exit: 0 resume called and succeeded, 1 it failed, or the domain never\n" \
    "ran here after an incoming migration, 2 bad input.  --source: 0 left or\n" \
    "abort called and succeeded (and paused, if called), 1 a call failed or\n" \
    "the domain ended otherwise.\n"

extern const struct nm_cmd nm_cmd_status;      /* cli_migrate.c */
extern const struct nm_cmd nm_cmd_timeline;    /* cli_timeline.c */

#endif /* netmove/cli/cli.h */
