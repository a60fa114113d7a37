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
#include "fatal-signal.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "unixctl.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/proto.h"
#include "netmove/daemon/service.h"
#include "netmove/common/version.h"
#include "netmove/common/error.h"
#include "netmove/common/paths.h"

VLOG_DEFINE_THIS_MODULE(netmoved);

static void
usage(void)
{
    char *ctl = nm_ctl_path();
    char *pidfile = nm_pidfile_path();

    printf("usage: netmoved [--config=FILE] [OPTIONS]\n"
           "\n"
           "The netmove service of one hypervisor host: the destination and\n"
           "source side of every VM migration, for the local CLI (unixctl) and\n"
           "for its peers (JSON-RPC over mutual TLS).  See netmoved(8) and\n"
           "netmoved.json(5).\n"
           "\n"
           "Options:\n"
           "  --config=FILE      configuration (JSON), default %s\n"
           "  --check-config     check the configuration and exit: 0 valid, 2\n"
           "                     not (the member named); nothing is opened\n"
           "  -h, --help         this help\n"
           "  -V, --version      print the version\n"
           "\n"
           "Files: control socket %s (unless the\n"
           "configuration's \"control\"), state in the configuration's\n"
           "\"state_dir\" (default " NM_STATE_DIR ").  $NETMOVE_RUNDIR moves the run\n"
           "directory (default " NM_RUNDIR "), $NETMOVE_CONFIG the configuration.\n",
           nm_config_path(), ctl);
    /* daemon_usage(), but with our pidfile's default. */
    printf("\nDaemon options:\n"
           "  --detach                run in background as daemon\n"
           "  --monitor               creates a process to monitor this daemon\n"
           "  --no-chdir              do not chdir to '/'\n"
           "  --pidfile[=FILE]        create pidfile (default: %s)\n"
           "  --overwrite-pidfile     with --pidfile, start even if already "
           "running\n", pidfile);
    vlog_usage();
    free(ctl);
    free(pidfile);
}

/* --protocol-version=N, a test knob left out of --help (docs/PROTOCOL.md
 * "Testing"): this host speaks only peer protocol version N.  1 makes it a
 * host of before the version exchange; a version this build does not know
 * is announced as is, for tests of the refusal. */
static int
parse_protocol_version(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < 1 || v > 65535) {
        fprintf(stderr, "netmoved: --protocol-version: '%s' is not 1..65535\n",
                s);
        exit(2);
    }
    return v;
}

static char *
parse_options(int argc, char *argv[], int *protocol_version,
              bool *check_config)
{
    enum {
        OPT_CONFIG = UCHAR_MAX + 1,
        OPT_CHECK_CONFIG,
        OPT_PROTOCOL_VERSION,
        OPT_NM_PIDFILE,
        VLOG_OPTION_ENUMS,
        DAEMON_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
        {"protocol-version", required_argument, NULL, OPT_PROTOCOL_VERSION},
        /* Before DAEMON_LONG_OPTIONS' "pidfile" (getopt_long takes the first
         * exact match): a bare --pidfile is in our run directory, not in
         * libopenvswitch's. */
        {"pidfile", optional_argument, NULL, OPT_NM_PIDFILE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        VLOG_LONG_OPTIONS,
        DAEMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);
    char *config = NULL;

    for (;;) {
        int c = getopt_long(argc, argv, short_options, long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_CONFIG:
            free(config);
            config = xstrdup(optarg);
            break;
        case OPT_CHECK_CONFIG:
            *check_config = true;
            break;
        case OPT_PROTOCOL_VERSION:
            *protocol_version = parse_protocol_version(optarg);
            break;
        case OPT_NM_PIDFILE: {
            char *pidfile = optarg ? xstrdup(optarg) : nm_pidfile_path();
            set_pidfile(pidfile);
            free(pidfile);
            break;
        }
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
    return config ? config : xstrdup(nm_config_path());
}

int
main(int argc, char *argv[])
{
    struct netmoved nm;
    struct nm_config *cfg;
    char err[NM_ERRLEN] = "";
    int protocol_version = 0;
    bool check_config = false;
    char *config;
    int error;

    set_program_name(argv[0]);
    config = parse_options(argc, argv, &protocol_version, &check_config);
    error = nm_config_load(config, &cfg, err, sizeof err);
    if (error) {
        /* The file's name once: an unreadable file's error has it. */
        bool named = !strncmp(err, config, strlen(config));
        fprintf(stderr, "netmoved: %s%s%s%s\n",
                check_config ? "--check-config: " : "",
                named ? "" : config, named ? "" : ": ", err);
        exit(error == -EINVAL ? 2 : 1);
    }
    if (check_config) {
        /* As OpenBSD daemons' -n: the file is read and judged, nothing
         * else (no socket, no OVSDB, no state directory). */
        printf("netmoved: %s: configuration OK\n", config);
        nm_config_destroy(cfg);
        free(config);
        exit(EXIT_SUCCESS);
    }
    if (cfg->ovs_rundir) {
        /* Before anything asks libopenvswitch for its run directory. */
        setenv("OVS_RUNDIR", cfg->ovs_rundir, 1);
    }
    fatal_ignore_sigpipe();
    daemonize_start(false);

    error = netmoved_init(&nm, cfg, err, sizeof err);
    if (error) {
        ovs_fatal(0, "%s", err);
    }
    if (protocol_version) {
        nm_peers_pin_version(nm.peers, protocol_version);
        VLOG_WARN("test knob: speaking peer protocol version %d only (this "
                  "build speaks %d-%d)", protocol_version,
                  NM_PROTO_MIN_VERSION, NM_PROTO_VERSION);
    }
    daemonize_complete();
    VLOG_INFO("netmoved %s started (%s)", NETMOVE_VERSION, config);
    if (!nm_config_bounds_addresses(cfg)) {
        VLOG_WARN("%s: configuration version %d names no network prefixes: "
                  "the IP addresses a peer's export gives for a VM are "
                  "announced unbounded (only MACs are checked); version 2 "
                  "bounds them (networks[].prefixes, never-announce)",
                  config, cfg->version);
    }

    while (!nm.exiting) {
        netmoved_run(&nm);
        netmoved_wait(&nm);
        poll_block();
    }
    VLOG_INFO("netmoved exiting");
    netmoved_destroy(&nm);
    free(config);
    return 0;
}
