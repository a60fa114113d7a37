/* netmoved: the per-host netmove service.
 *
 * One event loop (libopenvswitch's poll loop, as ovs-vswitchd and
 * ovn-controller): every part that waits has a *_run() and a *_wait();
 * main() calls all runs, all waits, then poll_block().  The local CLI talks
 * to it through unixctl. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command-line.h"
#include "daemon.h"
#include "dirs.h"
#include "fatal-signal.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "unixctl.h"
#include "util.h"

#include "netmove/version.h"

VLOG_DEFINE_THIS_MODULE(netmoved);

/* State of one netmoved; everything hangs off it. */
struct netmoved {
    struct unixctl_server *unixctl;
    bool exiting;
};

static void
usage(void)
{
    printf("usage: netmoved [OPTIONS]\n"
           "\n"
           "The netmove service of one hypervisor host.\n"
           "\n"
           "Options:\n"
           "  --unixctl=SOCKET   control socket (default: $OVS_RUNDIR/netmoved.ctl)\n"
           "  -h, --help         this help\n"
           "  -V, --version      print the version\n");
    daemon_usage();
    vlog_usage();
}

static void
unixctl_exit(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[] OVS_UNUSED, void *nm_)
{
    struct netmoved *nm = nm_;

    nm->exiting = true;
    unixctl_command_reply(conn, NULL);
}

static void
unixctl_version(struct unixctl_conn *conn, int argc OVS_UNUSED,
                const char *argv[] OVS_UNUSED, void *nm_ OVS_UNUSED)
{
    unixctl_command_reply(conn, "netmoved " NETMOVE_VERSION);
}

static char *
parse_options(int argc, char *argv[])
{
    enum {
        OPT_UNIXCTL = UCHAR_MAX + 1,
        VLOG_OPTION_ENUMS,
        DAEMON_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"unixctl", required_argument, NULL, OPT_UNIXCTL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        VLOG_LONG_OPTIONS,
        DAEMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);
    char *unixctl_path = NULL;

    for (;;) {
        int c = getopt_long(argc, argv, short_options, long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_UNIXCTL:
            free(unixctl_path);
            unixctl_path = xstrdup(optarg);
            break;
        case 'h':
            usage();
            exit(EXIT_SUCCESS);
        case 'V':
            printf("netmoved %s (libopenvswitch %s)\n", NETMOVE_VERSION, VERSION);
            exit(EXIT_SUCCESS);
        VLOG_OPTION_HANDLERS
        DAEMON_OPTION_HANDLERS
        case '?':
            exit(2);
        default:
            abort();
        }
    }
    free(short_options);
    if (optind != argc) {
        fprintf(stderr, "netmoved: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    return unixctl_path ? unixctl_path
                        : xasprintf("%s/netmoved.ctl", ovs_rundir());
}

int
main(int argc, char *argv[])
{
    struct netmoved nm = { .exiting = false };
    char *unixctl_path;
    int error;

    set_program_name(argv[0]);
    unixctl_path = parse_options(argc, argv);
    fatal_ignore_sigpipe();
    daemonize_start(false);

    error = unixctl_server_create(unixctl_path, &nm.unixctl);
    if (error) {
        ovs_fatal(error, "cannot listen on %s", unixctl_path);
    }
    unixctl_command_register("exit", "", 0, 0, unixctl_exit, &nm);
    unixctl_command_register("version", "", 0, 0, unixctl_version, &nm);
    daemonize_complete();
    VLOG_INFO("netmoved %s started, control socket %s", NETMOVE_VERSION,
              unixctl_path);

    while (!nm.exiting) {
        unixctl_server_run(nm.unixctl);
        unixctl_server_wait(nm.unixctl);
        poll_block();
    }

    VLOG_INFO("netmoved exiting");
    unixctl_server_destroy(nm.unixctl);
    free(unixctl_path);
    return 0;
}
