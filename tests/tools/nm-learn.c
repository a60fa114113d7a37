/* nm-learn: runs netmove's address learner in the current network
 * namespace, for lab tests (tests/lab/addrlearn_capture.sh).
 *
 *   nm-learn [--dev DEV] [--state FILE] IFACE=MAC[,VM[,NETWORK]]...
 *
 * Loads the table from FILE if it exists, knows the given interfaces,
 * prints "ready" once capturing, then one line per claim read:
 *   claim iface=NAME mac=MAC addr=ADDR vlan=VID kind=KIND verdict=VERDICT
 * and on SIGINT/SIGTERM the table's report as one line "report JSON",
 * saves the table to FILE, and exits 0.  Exits 1 on a failure, 2 on bad
 * arguments. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "util.h"
#include "timeval.h"

#include "garp/garp.h"
#include "netmove/addr/addrlearn.h"
#include "garp/garp-private.h"
#include "netmove/addr/addrtab-private.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig OVS_UNUSED)
{
    stop = 1;
}

static void
observe(void *aux OVS_UNUSED, const char *iface,
        const struct garp_claim *c, enum nm_addrtab_verdict v)
{
    char addr[INET6_ADDRSTRLEN];

    printf("claim iface=%s mac="ETH_ADDR_FMT" addr=%s vlan=%u kind=%s "
           "verdict=%s\n", iface[0] ? iface : "-", ETH_ADDR_ARGS(c->mac),
           garp_addr_format(&c->addr, addr, sizeof addr), c->vlan,
           garp_claim_kind_name(c->kind), nm_addrtab_verdict_name(v));
    fflush(stdout);
}

/* Parses IFACE=MAC[,VM[,NETWORK]] into 'p' (pointing into 'arg'). */
static int
parse_port(char *arg, struct nm_addrtab_port *p)
{
    char *eq = strchr(arg, '='), *vm, *net = NULL;
    char err[128];

    if (!eq) {
        return -EINVAL;
    }
    *eq = '\0';
    vm = strchr(eq + 1, ',');
    if (vm) {
        *vm++ = '\0';
        net = strchr(vm, ',');
        if (net) {
            *net++ = '\0';
        }
    }
    p->iface = arg;
    p->vm = vm;
    p->network = net;
    if (garp_parse_mac("MAC", eq + 1, &p->mac, err, sizeof err)) {
        fprintf(stderr, "nm-learn: %s\n", err);
        return -EINVAL;
    }
    return 0;
}

int
main(int argc, char *argv[])
{
    static const struct option opts[] = {
        { "dev", required_argument, NULL, 'd' },
        { "state", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct nm_addrlearn_params params = { .observer = observe };
    struct nm_addrtab_port *ports;
    const char *state = NULL;
    struct nm_addrlearn *learn;
    struct nm_addrtab *tab;
    size_t n_ports;
    char err[512];
    int c, error;

    set_program_name(argv[0]);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': params.dev = optarg; break;
        case 's': state = optarg; break;
        default: return 2;
        }
    }
    n_ports = argc - optind;
    ports = xcalloc(n_ports ? n_ports : 1, sizeof *ports);
    for (size_t i = 0; i < n_ports; i++) {
        if (parse_port(argv[optind + i], &ports[i])) {
            fprintf(stderr, "nm-learn: expected IFACE=MAC[,VM[,NETWORK]], "
                    "not '%s'\n", argv[optind + i]);
            return 2;
        }
    }
    error = nm_addrlearn_create(&params, &learn, err, sizeof err);
    if (error) {
        fprintf(stderr, "nm-learn: %s\n", err);
        return 1;
    }
    tab = nm_addrlearn_table(learn);
    if (state) {
        error = nm_addrtab_load(tab, state, time_wall_usec(), err, sizeof err);
        if (error && error != -ENOENT) {
            fprintf(stderr, "nm-learn: %s (going on without it)\n", err);
        }
    }
    if (nm_addrtab_set_ports(tab, ports, n_ports, err, sizeof err)) {
        fprintf(stderr, "nm-learn: %s\n", err);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* The learner refuses a capture that cannot tell interfaces apart:
     * running means DLT_LINUX_SLL2 on "any". */
    printf("ready\n");
    fflush(stdout);

    while (!stop) {
        error = nm_addrlearn_run(learn, time_wall_usec());
        if (error) {
            fprintf(stderr, "nm-learn: capture: %s\n", ovs_strerror(-error));
            return 1;
        }
        nm_addrlearn_wait(learn);
        poll_timer_wait(50);
        poll_block();
    }

    struct json *report = nm_addrtab_report(tab, time_wall_usec());
    char *s = json_to_string(report, JSSF_SORT);
    printf("report %s\n", s);
    fflush(stdout);
    free(s);
    json_destroy(report);
    if (state && nm_addrtab_save(tab, state, err, sizeof err)) {
        fprintf(stderr, "nm-learn: %s\n", err);
        return 1;
    }
    nm_addrlearn_destroy(learn);
    free(ports);
    return 0;
}
