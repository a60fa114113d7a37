/* netmove CLI: 'announce' (a VM's addresses, from here, on a schedule) and
 * 'capture' (which announcements the wire carries, who answers for what).
 * Both work offline, without netmoved, through garp/. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latch.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "packets.h"
#include "util.h"
#include "timeval.h"

#include "garp/garp.h"

#define MAX_IPS 64

static int cmd_announce(int argc, char *argv[]);
static int cmd_capture(int argc, char *argv[]);

const struct nm_cmd nm_cmd_announce = {
    "announce", cmd_announce,
    "announce a VM's MAC and IPs (GARP, RARP, unsolicited NA) from here",
    "usage: netmove announce --mac MAC [--ip ADDR]... [--vlan VID [--pcp N]]\n"
    "                        (--bridge BR --port PORT | --dev DEV)\n"
    "                        [--kinds rarp,garp,na] [--arp-reply] [--link-local]\n"
    "                        [--router] [--rounds N] [--initial MS] [--step MS]\n"
    "                        [--max MS] [--tail-until MS] [--pps N] [--json]\n"
    "\n"
    "Announces that MAC (and each IPv4/IPv6 ADDR) now lives here, as a VM's\n"
    "first frames after a live migration would: RARP (as QEMU sends it), a\n"
    "gratuitous ARP per IPv4 address, an unsolicited neighbour advertisement\n"
    "(Override, to ff02::1) per IPv6 address.  Without --ip: RARP only.\n"
    "\n"
    "Where from:\n"
    "  --bridge BR --port PORT  OpenFlow packet-out on $OVS_RUNDIR/BR.mgmt,\n"
    "                           in_port=PORT, actions=NORMAL: as if the VM on\n"
    "                           PORT sent them (OVS applies the port's VLAN)\n"
    "  --dev DEV                raw on device DEV (libpcap), e.g. a trunk\n"
    "  --vlan VID, --pcp N      802.1Q tag on every frame (VID 1-4094, PCP 0-7);\n"
    "                           with --bridge only for a trunk port: on an\n"
    "                           access port OVS tags the frames itself\n"
    "What:\n"
    "  --kinds LIST             rarp,garp,na (default: all that apply)\n"
    "  --arp-reply              GARP in the reply form (op 2) not request\n"
    "  --link-local             also an NA for the MAC's fe80:: address\n"
    "  --router                 NA with the Router flag\n"
    "When (ms; QEMU's defaults): round 0 at once, round k after\n"
    "  min(initial + (k-1)*step, max) more:\n"
    "  --rounds N (5)  --initial MS (50)  --step MS (100)  --max MS (550)\n"
    "  --tail-until MS          then gaps keep doubling until MS after round 0\n"
    "  --pps N                  at most N frames per second (0: no limit)\n"
    "Output:\n"
    "  --json                   every frame: kind, address, round, send time\n"
    "                           (CLOCK_REALTIME, microseconds)\n"
    "\n"
    "SIGINT or SIGTERM ends the schedule early; what was sent is reported.\n"
    "Exit: 0 sent, 1 could not send, 2 bad input (nothing sent).\n",
};

const struct nm_cmd nm_cmd_capture = {
    "capture", cmd_capture,
    "show the announcements on a device and who answers for each address",
    "usage: netmove capture --dev DEV [--mac MAC] [--ip ADDR]...\n"
    "                       [--duration MS] [--count N] [--json]\n"
    "\n"
    "Captures ARP, RARP and neighbour discovery frames (tagged or not) on\n"
    "DEV for MS milliseconds (default 1000), or until N frames are kept, or\n"
    "until SIGINT/SIGTERM, keeping those about MAC or one of the ADDRs\n"
    "(everything if neither is given), then prints them and, for each\n"
    "address, the MACs that claimed it (GARP, ARP reply, NA): more than one\n"
    "is a duplicate.  \"capturing on DEV\" on stderr says it has started.\n"
    "\n"
    "Exit: 0 done, 1 capture failed, 2 bad input.\n",
};

/* Options as every verb reads them (nm_parse_options()); announce and
 * capture take no operand.  Returns 0 or an exit code. */
static int
parse_options(const char *verb, int argc, char *argv[],
              const struct option *options, nm_option_fn *take, void *opts)
{
    int rc = nm_parse_options(verb, argc, argv, options, take, opts);

    if (!rc && optind < argc) {
        rc = nm_usage_error("%s: unexpected argument '%s'", verb,
                            argv[optind]);
    }
    return rc;
}

/* Set by SIGINT/SIGTERM: stop, report what was done.  A latch (a pipe),
 * not just a flag, because poll_block() resumes its poll() after EINTR: the
 * latch's fd is what wakes it. */
static struct latch stop_latch;

static void
stop_signal(int sig OVS_UNUSED)
{
    latch_set(&stop_latch);
}

static void
catch_stop_signals(void)
{
    latch_init(&stop_latch);
    signal(SIGINT, stop_signal);
    signal(SIGTERM, stop_signal);
}

static bool
stop_requested(void)
{
    return latch_is_set(&stop_latch);
}

/* ---- announce ---------------------------------------------------------- */

struct announce_opts {
    struct garp_vm vm;
    ovs_be32 ipv4[MAX_IPS];
    struct in6_addr ipv6[MAX_IPS];
    struct garp_schedule_params sched;
    const char *bridge, *dev;
    bool have_mac, json;
};

/* Parses "--NAME VALUE" as an unsigned integer within ['min', 'max'] into
 * '*out'.  Returns 0 or an exit code. */
static int
parse_uint_opt(const char *name, const char *value, unsigned long long min,
               unsigned long long max, unsigned int *out)
{
    char field[32], err[NM_ERRLEN];
    unsigned long long v;

    snprintf(field, sizeof field, "--%s", name);
    if (garp_parse_uint(field, value, min, max, &v, err, sizeof err)) {
        return nm_usage_error("announce: %s", err);
    }
    *out = v;
    return 0;
}

static int
add_ip(struct announce_opts *o, const char *s)
{
    char err[NM_ERRLEN];
    struct in6_addr ip6;
    ovs_be32 ip4;
    bool is_v6;

    if (garp_parse_ip("--ip", s, &ip4, &ip6, &is_v6, err, sizeof err)) {
        return nm_usage_error("announce: %s", err);
    }
    if (o->vm.n_ipv4 + o->vm.n_ipv6 >= MAX_IPS) {
        return nm_usage_error("announce: --ip: more than %d addresses",
                              MAX_IPS);
    }
    if (is_v6) {
        o->ipv6[o->vm.n_ipv6++] = ip6;
    } else {
        o->ipv4[o->vm.n_ipv4++] = ip4;
    }
    return 0;
}

enum {
    OPT_MAC = 256, OPT_IP, OPT_VLAN, OPT_PCP, OPT_BRIDGE, OPT_PORT, OPT_DEV,
    OPT_KINDS, OPT_ARP_REPLY, OPT_LINK_LOCAL, OPT_ROUTER, OPT_ROUNDS,
    OPT_INITIAL, OPT_STEP, OPT_MAX, OPT_TAIL, OPT_PPS, OPT_JSON,
    OPT_DURATION, OPT_COUNT,
};

static const struct option announce_options[] = {
    {"mac", required_argument, NULL, OPT_MAC},
    {"ip", required_argument, NULL, OPT_IP},
    {"vlan", required_argument, NULL, OPT_VLAN},
    {"pcp", required_argument, NULL, OPT_PCP},
    {"bridge", required_argument, NULL, OPT_BRIDGE},
    {"port", required_argument, NULL, OPT_PORT},
    {"dev", required_argument, NULL, OPT_DEV},
    {"kinds", required_argument, NULL, OPT_KINDS},
    {"arp-reply", no_argument, NULL, OPT_ARP_REPLY},
    {"link-local", no_argument, NULL, OPT_LINK_LOCAL},
    {"router", no_argument, NULL, OPT_ROUTER},
    {"rounds", required_argument, NULL, OPT_ROUNDS},
    {"initial", required_argument, NULL, OPT_INITIAL},
    {"step", required_argument, NULL, OPT_STEP},
    {"max", required_argument, NULL, OPT_MAX},
    {"tail-until", required_argument, NULL, OPT_TAIL},
    {"pps", required_argument, NULL, OPT_PPS},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* Handles one option of 'announce'.  Returns 0 or an exit code. */
static int
announce_opt(void *o_, int c, const char *arg)
{
    struct announce_opts *o = o_;
    char err[NM_ERRLEN];
    uint16_t vid;

    switch (c) {
    case OPT_MAC:
        if (garp_parse_mac("--mac", arg, &o->vm.mac, err, sizeof err)) {
            return nm_usage_error("announce: %s", err);
        }
        o->have_mac = true;
        return 0;
    case OPT_IP:
        return add_ip(o, arg);
    case OPT_VLAN:
        if (garp_parse_vlan("--vlan", arg, &vid, err, sizeof err)) {
            return nm_usage_error("announce: %s", err);
        }
        o->vm.vlan.vid = vid;
        return 0;
    case OPT_PCP: {
        unsigned int pcp;
        int rc = parse_uint_opt("pcp", arg, 0, 7, &pcp);
        o->vm.vlan.pcp = pcp;
        return rc;
    }
    case OPT_BRIDGE: o->bridge = arg; return 0;
    case OPT_PORT: o->vm.port = arg; return 0;
    case OPT_DEV: o->dev = arg; return 0;
    case OPT_KINDS:
        if (garp_parse_kinds("--kinds", arg, &o->vm.kinds, err, sizeof err)) {
            return nm_usage_error("announce: %s", err);
        }
        return 0;
    case OPT_ARP_REPLY: o->vm.arp_reply = true; return 0;
    case OPT_LINK_LOCAL: o->vm.link_local = true; return 0;
    case OPT_ROUTER: o->vm.na_router = true; return 0;
    case OPT_ROUNDS:
        return parse_uint_opt("rounds", arg, 1, GARP_ROUNDS_MAX,
                              &o->sched.rounds);
    case OPT_INITIAL:
        return parse_uint_opt("initial", arg, 0, GARP_GAP_MAX_MS,
                              &o->sched.initial_ms);
    case OPT_STEP:
        return parse_uint_opt("step", arg, 0, GARP_GAP_MAX_MS,
                              &o->sched.step_ms);
    case OPT_MAX:
        return parse_uint_opt("max", arg, 1, GARP_GAP_MAX_MS,
                              &o->sched.max_ms);
    case OPT_TAIL:
        return parse_uint_opt("tail-until", arg, 0, GARP_TAIL_MAX_MS,
                              &o->sched.tail_until_ms);
    case OPT_PPS:
        return parse_uint_opt("pps", arg, 0, GARP_PPS_MAX, &o->sched.pps);
    case OPT_JSON: o->json = true; return 0;
    }
    return nm_usage_error("announce: unknown option (see 'netmove announce "
                          "--help')");
}

/* Parses and checks everything before anything is opened or sent.
 * Returns 0 or an exit code. */
static int
announce_parse(int argc, char *argv[], struct announce_opts *o)
{
    const struct garp_schedule_params defaults = GARP_SCHEDULE_DEFAULTS;
    char err[NM_ERRLEN];
    int rc;

    memset(o, 0, sizeof *o);
    o->sched = defaults;
    o->vm.ipv4 = o->ipv4;
    o->vm.ipv6 = o->ipv6;
    rc = parse_options("announce", argc, argv, announce_options,
                       announce_opt, o);
    if (rc) {
        return rc;
    }
    if (!o->have_mac) {
        return nm_usage_error("announce: --mac: required");
    }
    if (!o->bridge == !o->dev) {
        return nm_usage_error("announce: give either --bridge BR --port PORT "
                              "or --dev DEV");
    }
    if (o->bridge && !o->vm.port) {
        return nm_usage_error("announce: --port: required with --bridge");
    }
    if (o->dev && o->vm.port) {
        return nm_usage_error("announce: --port: only with --bridge");
    }
    if (o->vm.vlan.pcp && !o->vm.vlan.vid) {
        return nm_usage_error("announce: --pcp: needs --vlan");
    }
    if (!o->vm.n_ipv4 && !o->vm.n_ipv6 && !o->vm.link_local
        && !o->vm.kinds) {
        o->vm.kinds = GARP_F_RARP;
    }
    if (garp_vm_validate(&o->vm, err, sizeof err)
        || garp_schedule_params_validate(&o->sched, err, sizeof err)) {
        return nm_usage_error("announce: %s", err);
    }
    /* Build once to reject impossible combinations (say --kinds garp with
     * no IPv4 address) before opening anything. */
    struct garp_frame *frames;
    size_t n;
    if (garp_vm_frames(&o->vm, &frames, &n, err, sizeof err)) {
        return nm_usage_error("announce: %s", err);
    }
    free(frames);
    return 0;
}

struct announce_log {
    struct json *frames;        /* Array, with --json. */
    unsigned int rounds_seen;
};

static void
announce_sent(void *log_, size_t vm OVS_UNUSED, const struct garp_frame *f,
              unsigned int round, uint64_t wall_us)
{
    struct announce_log *log = log_;
    char addr[INET6_ADDRSTRLEN];

    log->rounds_seen = MAX(log->rounds_seen, round + 1);
    if (!log->frames) {
        return;
    }
    struct json *o = json_object_create();
    json_object_put_string(o, "kind", garp_kind_name(f->kind));
    if (f->kind != GARP_KIND_RARP) {
        json_object_put_string(o, "addr", garp_addr_format(&f->addr, addr,
                                                           sizeof addr));
    }
    json_object_put(o, "round", json_integer_create(round));
    json_object_put(o, "len", json_integer_create(f->len));
    json_object_put(o, "time_us", json_integer_create(wall_us));
    json_array_add(log->frames, o);
}

/* Opens the sender the options name.  Returns 0 or an exit code. */
static int
announce_open(const struct announce_opts *o, struct garp_sender **senderp)
{
    char err[NM_ERRLEN];
    int error;

    if (o->dev) {
        error = garp_pcap_sender_create(o->dev, err, sizeof err, senderp);
    } else {
        error = garp_of_sender_create(NULL, o->bridge, err, sizeof err,
                                      senderp);
    }
    if (error == -ENODEV || error == -ENOENT || error == -EINVAL) {
        return nm_usage_error("announce: %s", err);
    } else if (error) {
        return nm_fail("announce: %s", err);
    }
    return 0;
}

static void
announce_print(const struct announce_opts *o, struct announce_log *log,
               struct garp_announcer *a, uint64_t start_us)
{
    if (log->frames) {
        struct json *doc = json_object_create();
        char mac[ETH_ADDR_STRLEN + 1];

        snprintf(mac, sizeof mac, ETH_ADDR_FMT, ETH_ADDR_ARGS(o->vm.mac));
        json_object_put_string(doc, "mac", mac);
        if (o->vm.vlan.vid) {
            json_object_put(doc, "vlan", json_integer_create(o->vm.vlan.vid));
        }
        json_object_put_string(doc, "via", o->dev ? "dev" : "bridge");
        json_object_put_string(doc, o->dev ? "dev" : "port",
                               o->dev ? o->dev : o->vm.port);
        json_object_put(doc, "start_us", json_integer_create(start_us));
        json_object_put(doc, "sent", json_integer_create(
                            garp_announcer_n_sent(a)));
        json_object_put(doc, "frames", log->frames);
        log->frames = NULL;
        char *s = json_to_string(doc, JSSF_SORT);
        puts(s);
        free(s);
        json_destroy(doc);
    } else {
        printf("announced "ETH_ADDR_FMT": %"PRIu64" frames in %u rounds "
               "via %s %s\n", ETH_ADDR_ARGS(o->vm.mac),
               garp_announcer_n_sent(a), log->rounds_seen,
               o->dev ? "device" : "port", o->dev ? o->dev : o->vm.port);
    }
}

static int
cmd_announce(int argc, char *argv[])
{
    struct announce_log log = { NULL, 0 };
    struct garp_announcer *a = NULL;
    struct garp_sender *sender;
    struct announce_opts o;
    uint64_t start_wall = time_wall_usec();
    char err[NM_ERRLEN];
    int rc, error;

    rc = announce_parse(argc, argv, &o);
    if (rc) {
        return rc;
    }
    rc = announce_open(&o, &sender);
    if (rc) {
        return rc;
    }
    if (o.json) {
        log.frames = json_array_create_empty();
    }
    error = garp_announcer_create(&o.sched, sender, announce_sent, &log, &a,
                                  err, sizeof err);
    if (!error) {
        error = garp_announcer_add(a, &o.vm, time_usec(), NULL,
                                   err, sizeof err);
    }
    if (error) {
        rc = (error == -EINVAL || error == -ENOENT
              ? nm_usage_error : nm_fail)("announce: %s", err);
        goto out;
    }
    /* A long tail may be cut short: what went out is still reported. */
    catch_stop_signals();
    while (!garp_announcer_is_done(a) && !stop_requested()) {
        error = garp_announcer_run(a, time_usec());
        if (error) {
            rc = nm_fail("announce: sending failed after %"PRIu64" frames: "
                         "%s", garp_announcer_n_sent(a), strerror(-error));
            break;
        }
        if (garp_announcer_is_done(a)) {
            break;
        }
        garp_announcer_wait(a);
        latch_wait(&stop_latch);
        poll_block();
    }
    announce_print(&o, &log, a, start_wall);

out:
    json_destroy(log.frames);
    garp_announcer_destroy(a);
    garp_sender_destroy(sender);
    return rc;
}

/* ---- capture ------------------------------------------------------------ */

struct capture_opts {
    const char *dev;
    struct eth_addr mac;
    bool have_mac, json;
    struct in6_addr addrs[MAX_IPS];
    size_t n_addrs;
    unsigned int duration_ms, count;
};

static const struct option capture_options[] = {
    {"dev", required_argument, NULL, OPT_DEV},
    {"mac", required_argument, NULL, OPT_MAC},
    {"ip", required_argument, NULL, OPT_IP},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"count", required_argument, NULL, OPT_COUNT},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* Handles one option of 'capture'.  Returns 0 or an exit code. */
static int
capture_opt(void *o_, int c, const char *arg)
{
    struct capture_opts *o = o_;
    unsigned long long v;
    struct in6_addr ip6;
    char err[NM_ERRLEN];
    ovs_be32 ip4;
    bool is_v6;

    switch (c) {
    case OPT_DEV: o->dev = arg; return 0;
    case OPT_MAC:
        if (garp_parse_mac("--mac", arg, &o->mac, err, sizeof err)) {
            return nm_usage_error("capture: %s", err);
        }
        o->have_mac = true;
        return 0;
    case OPT_IP:
        if (garp_parse_ip("--ip", arg, &ip4, &ip6, &is_v6, err, sizeof err)) {
            return nm_usage_error("capture: %s", err);
        }
        if (o->n_addrs >= MAX_IPS) {
            return nm_usage_error("capture: --ip: more than %d addresses",
                                  MAX_IPS);
        }
        if (!is_v6) {
            garp_addr_from_ipv4(ip4, &ip6);
        }
        o->addrs[o->n_addrs++] = ip6;
        return 0;
    case OPT_DURATION:
        if (garp_parse_uint("--duration", arg, 1, 3600000, &v, err,
                            sizeof err)) {
            return nm_usage_error("capture: %s", err);
        }
        o->duration_ms = v;
        return 0;
    case OPT_COUNT:
        if (garp_parse_uint("--count", arg, 1, 1000000, &v, err,
                            sizeof err)) {
            return nm_usage_error("capture: %s", err);
        }
        o->count = v;
        return 0;
    case OPT_JSON: o->json = true; return 0;
    }
    return nm_usage_error("capture: unknown option (see 'netmove capture "
                          "--help')");
}

static int
capture_parse(int argc, char *argv[], struct capture_opts *o)
{
    int rc;

    memset(o, 0, sizeof *o);
    o->duration_ms = 1000;
    rc = parse_options("capture", argc, argv, capture_options, capture_opt,
                       o);
    if (rc) {
        return rc;
    }
    if (!o->dev) {
        return nm_usage_error("capture: --dev: required");
    }
    return 0;
}

static struct json *
seen_to_json(const struct garp_seen *s, uint64_t ts_us)
{
    char mac[ETH_ADDR_STRLEN + 1], addr[INET6_ADDRSTRLEN];
    struct json *o = json_object_create();

    json_object_put_string(o, "type", garp_seen_type_name(s->type));
    json_object_put(o, "ts_us", json_integer_create(ts_us));
    snprintf(mac, sizeof mac, ETH_ADDR_FMT, ETH_ADDR_ARGS(s->eth_src));
    json_object_put_string(o, "eth_src", mac);
    snprintf(mac, sizeof mac, ETH_ADDR_FMT, ETH_ADDR_ARGS(s->mac));
    json_object_put_string(o, "mac", mac);
    if (s->type != GARP_SEEN_RARP) {
        json_object_put_string(o, "addr", garp_addr_format(&s->addr, addr,
                                                           sizeof addr));
    }
    if (s->vlan >= 0) {
        json_object_put(o, "vlan", json_integer_create(s->vlan));
        json_object_put(o, "pcp", json_integer_create(s->pcp));
    }
    if (s->type == GARP_SEEN_NA_SOLICITED
        || s->type == GARP_SEEN_NA_UNSOLICITED || s->type == GARP_SEEN_NS) {
        json_object_put(o, "hop_limit", json_integer_create(s->hop_limit));
        json_object_put(o, "csum_ok", json_boolean_create(s->csum_ok));
    }
    if (s->type == GARP_SEEN_NA_SOLICITED
        || s->type == GARP_SEEN_NA_UNSOLICITED) {
        json_object_put(o, "override", json_boolean_create(s->override));
        json_object_put(o, "solicited", json_boolean_create(s->solicited));
        json_object_put(o, "router", json_boolean_create(s->router));
    }
    return o;
}

/* The addresses to report owners for: those asked for, else every one
 * claimed in a frame kept. */
static size_t
capture_report_addrs(const struct capture_opts *o,
                     const struct garp_capture *cap,
                     struct in6_addr *addrs, size_t max)
{
    size_t n = 0;

    if (o->n_addrs) {
        memcpy(addrs, o->addrs, o->n_addrs * sizeof *addrs);
        return o->n_addrs;
    }
    for (size_t i = 0; i < garp_capture_n_seen(cap) && n < max; i++) {
        const struct garp_seen *s = garp_capture_seen(cap, i, NULL);
        bool dup = false;

        if (!garp_seen_is_claim(s) || ipv6_is_zero(&s->addr)) {
            continue;
        }
        for (size_t j = 0; j < n && !dup; j++) {
            dup = ipv6_addr_equals(&addrs[j], &s->addr);
        }
        if (!dup) {
            addrs[n++] = s->addr;
        }
    }
    return n;
}

static void
capture_print_json(const struct capture_opts *o, const struct garp_capture *cap,
                   const struct in6_addr *addrs, size_t n_addrs)
{
    struct json *doc = json_object_create();
    struct json *seen = json_array_create_empty();
    struct json *owners = json_array_create_empty();

    for (size_t i = 0; i < garp_capture_n_seen(cap); i++) {
        uint64_t ts;
        const struct garp_seen *s = garp_capture_seen(cap, i, &ts);
        json_array_add(seen, seen_to_json(s, ts));
    }
    for (size_t i = 0; i < n_addrs; i++) {
        struct eth_addr macs[8];
        size_t n = garp_capture_owners(cap, &addrs[i], macs, ARRAY_SIZE(macs));
        struct json *o_ = json_object_create(), *list;
        char buf[INET6_ADDRSTRLEN], mac[ETH_ADDR_STRLEN + 1];

        json_object_put_string(o_, "addr", garp_addr_format(&addrs[i], buf,
                                                            sizeof buf));
        list = json_array_create_empty();
        for (size_t j = 0; j < n && j < ARRAY_SIZE(macs); j++) {
            snprintf(mac, sizeof mac, ETH_ADDR_FMT, ETH_ADDR_ARGS(macs[j]));
            json_array_add(list, json_string_create(mac));
        }
        json_object_put(o_, "macs", list);
        json_object_put(o_, "duplicate", json_boolean_create(n > 1));
        json_array_add(owners, o_);
    }
    json_object_put_string(doc, "dev", o->dev);
    json_object_put(doc, "seen", seen);
    json_object_put(doc, "owners", owners);
    char *s = json_to_string(doc, JSSF_SORT);
    puts(s);
    free(s);
    json_destroy(doc);
}

static void
capture_print_text(const struct garp_capture *cap,
                   const struct in6_addr *addrs, size_t n_addrs)
{
    char buf[INET6_ADDRSTRLEN];

    printf("%-16s %-15s %-5s %-17s %s\n", "time", "type", "vlan", "mac",
           "address");
    for (size_t i = 0; i < garp_capture_n_seen(cap); i++) {
        uint64_t ts;
        const struct garp_seen *s = garp_capture_seen(cap, i, &ts);
        char vlan[12] = "-";

        if (s->vlan >= 0) {
            snprintf(vlan, sizeof vlan, "%d", s->vlan);
        }
        printf("%10"PRIu64".%06"PRIu64" %-15s %-5s "ETH_ADDR_FMT" %s\n",
               ts / 1000000, ts % 1000000, garp_seen_type_name(s->type),
               vlan, ETH_ADDR_ARGS(s->mac),
               s->type == GARP_SEEN_RARP ? "-"
               : garp_addr_format(&s->addr, buf, sizeof buf));
    }
    for (size_t i = 0; i < n_addrs; i++) {
        struct eth_addr macs[8];
        size_t n = garp_capture_owners(cap, &addrs[i], macs, ARRAY_SIZE(macs));

        printf("%s: ", garp_addr_format(&addrs[i], buf, sizeof buf));
        if (!n) {
            printf("nobody answered");
        }
        for (size_t j = 0; j < n && j < ARRAY_SIZE(macs); j++) {
            printf("%s"ETH_ADDR_FMT, j ? ", " : "", ETH_ADDR_ARGS(macs[j]));
        }
        printf("%s\n", n > 1 ? "  DUPLICATE" : "");
    }
}

/* Captures until the duration, count or a signal ends it.  Returns 0 or an
 * exit code. */
static int
capture_loop(const struct capture_opts *o, struct garp_capture *cap)
{
    long long int deadline = time_usec() / 1000 + o->duration_ms;
    int error;

    while (!stop_requested()) {
        error = garp_capture_run(cap);
        if (error) {
            return nm_fail("capture: %s: %s", o->dev, strerror(-error));
        }
        if ((o->count && garp_capture_n_seen(cap) >= o->count)
            || (long long int) (time_usec() / 1000) >= deadline) {
            return 0;
        }
        garp_capture_wait(cap);
        latch_wait(&stop_latch);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    /* Stopped by a signal: what the kernel already holds counts. */
    error = garp_capture_run(cap);
    return error ? nm_fail("capture: %s: %s", o->dev, strerror(-error)) : 0;
}

static int
cmd_capture(int argc, char *argv[])
{
    struct garp_capture_filter filter;
    struct in6_addr report[256];
    struct garp_capture *cap;
    struct capture_opts o;
    char err[NM_ERRLEN];
    int rc, error;

    rc = capture_parse(argc, argv, &o);
    if (rc) {
        return rc;
    }
    filter.mac = o.have_mac ? &o.mac : NULL;
    filter.addrs = o.addrs;
    filter.n_addrs = o.n_addrs;
    error = garp_capture_open(o.dev, &filter, err, sizeof err, &cap);
    if (error) {
        return (error == -ENODEV || error == -EINVAL
                ? nm_usage_error : nm_fail)("capture: %s", err);
    }
    catch_stop_signals();
    fprintf(stderr, "capturing on %s\n", o.dev);
    fflush(stderr);

    rc = capture_loop(&o, cap);
    size_t n = capture_report_addrs(&o, cap, report, ARRAY_SIZE(report));
    if (o.json) {
        capture_print_json(&o, cap, report, n);
    } else {
        capture_print_text(cap, report, n);
    }
    garp_capture_close(cap);
    return rc;
}
