/* netmove: the CLI and hook entry point.
 *
 * A table of subcommands, one cmd_<verb>() each, grouped one file per group
 * (cli_<group>.c).  Offline subcommands talk to the kernel and OVS directly;
 * service subcommands are thin clients of the local netmoved. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "netmove/common/version.h"

static int cmd_help(int argc, char *argv[]);
static int cmd_version(int argc, char *argv[]);

static const struct nm_cmd nm_cmd_help = {
    "help", cmd_help, "show help for netmove or one subcommand",
    "usage: netmove help [SUBCOMMAND]\n",
};
static const struct nm_cmd nm_cmd_version = {
    "version", cmd_version, "print the version",
    "usage: netmove version\n",
};

static const struct nm_cmd *const nm_cmds[] = {
    /* Address announcement (garp/). */
    &nm_cmd_announce, &nm_cmd_capture,
    /* Open vSwitch port (ovs/). */
    &nm_cmd_port,
    /* Firewall and conntrack (firewall/). */
    &nm_cmd_fw, &nm_cmd_ct,
    /* The service: migration phases, hooks, proof. */
    &nm_cmd_prepare, &nm_cmd_resume, &nm_cmd_confirm, &nm_cmd_abort,
    &nm_cmd_left, &nm_cmd_paused,
    &nm_cmd_status, &nm_cmd_timeline, &nm_cmd_verify, &nm_cmd_watch_qmp, &nm_cmd_watch_libvirt,
    &nm_cmd_help, &nm_cmd_version,
};

#define FOR_EACH_CMD(C)                                                 \
    for (size_t i_ = 0; i_ < ARRAY_SIZE(nm_cmds) && ((C) = nm_cmds[i_]); i_++)

static const struct nm_cmd *
find_cmd(const char *name)
{
    const struct nm_cmd *c;

    FOR_EACH_CMD (c) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

static void
print_main_usage(FILE *stream)
{
    fprintf(stream,
            "usage: netmove [--version] [--help] SUBCOMMAND [ARGS]\n"
            "\n"
            "The network cutover of a live-migrated VM: its Open vSwitch port, its\n"
            "firewall and conntrack state, its address announcements.\n"
            "\n"
            "Subcommands:\n");
    const struct nm_cmd *c;
    FOR_EACH_CMD (c) {
        fprintf(stream, "  %-12s %s\n", c->name, c->summary);
    }
    fprintf(stream,
            "\n'netmove help SUBCOMMAND' or 'netmove SUBCOMMAND --help' for more.\n"
            "Exit codes: 0 success, 1 operational failure, 2 bad input.\n");
}

static int
cmd_help(int argc, char *argv[])
{
    if (argc < 2) {
        print_main_usage(stdout);
        return NM_EXIT_OK;
    }
    const struct nm_cmd *c = find_cmd(argv[1]);
    if (!c) {
        return nm_usage_error("help: unknown subcommand '%s'", argv[1]);
    }
    nm_cmd_print_usage(c);
    return NM_EXIT_OK;
}

static int
cmd_version(int argc, char *argv[])
{
    (void) argc;
    (void) argv;
    printf("netmove %s (libopenvswitch %s)\n", NETMOVE_VERSION, VERSION);
    return NM_EXIT_OK;
}

int
main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    /* The CLI reports errors itself, once; OVS's own console logging would
     * duplicate them. */
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_OFF);

    if (argc < 2) {
        print_main_usage(stderr);
        return NM_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        print_main_usage(stdout);
        return NM_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        return cmd_version(argc - 1, argv + 1);
    }

    const struct nm_cmd *c = find_cmd(argv[1]);
    if (!c) {
        fprintf(stderr, "netmove: unknown subcommand '%s' "
                "(see 'netmove --help')\n", argv[1]);
        return NM_EXIT_USAGE;
    }
    if (nm_wants_help(argc - 1, argv + 1)) {
        nm_cmd_print_usage(c);
        return NM_EXIT_OK;
    }
    return c->fn(argc - 1, argv + 1);
}
