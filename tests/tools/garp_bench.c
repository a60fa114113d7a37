/* garp_bench: measures garp/ from inside one running process, with libpcap
 * timestamps from a capture on the wire as the clock of record.
 *
 *   garp_bench latency (--dev DEV | --bridge BR --port PORT) --cap DEV
 *                      [--trials N]
 *   garp_bench rate    (--dev DEV | --bridge BR --port PORT) --cap DEV
 *                      [--vms N] [--runs N]
 *
 * latency: the sender and an announcer are open already (as in netmoved);
 * each trial is one call (add a VM, run), timed from CLOCK_REALTIME just
 * before the call to the capture timestamp of the VM's first frame.
 * rate: N VMs x (RARP + GARP + NA) all due at once, sent in one run; frames
 * per second of the send, and how many the capture saw.
 * Prints one "key=value ..." line per measurement, for tests/bench. */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/vlog.h"
#include "packets.h"
#include "util.h"
#include "timeval.h"

#include "garp/garp.h"

struct bench {
    const char *dev, *bridge, *port, *cap_dev;
    unsigned int trials, vms, runs;
    struct garp_sender *sender;
    uint32_t ofport;
    pcap_t *cap;
};

static void
die(const char *what, const char *err)
{
    fprintf(stderr, "garp_bench: %s: %s\n", what, err);
    exit(1);
}

static void
open_capture(struct bench *b)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct bpf_program prog;

    b->cap = pcap_create(b->cap_dev, errbuf);
    if (!b->cap) {
        die(b->cap_dev, errbuf);
    }
    pcap_set_snaplen(b->cap, 96);
    pcap_set_promisc(b->cap, 1);
    pcap_set_immediate_mode(b->cap, 1);
    pcap_set_buffer_size(b->cap, 128 << 20);
    if (pcap_activate(b->cap) < 0
        || pcap_compile(b->cap, &prog, "arp or rarp or icmp6 or vlan", 1,
                        PCAP_NETMASK_UNKNOWN)
        || pcap_setfilter(b->cap, &prog)
        || pcap_setnonblock(b->cap, 1, errbuf) < 0) {
        die(b->cap_dev, pcap_geterr(b->cap));
    }
    pcap_freecode(&prog);
}

static void
open_sender(struct bench *b)
{
    char err[256];
    int error;

    if (b->dev) {
        error = garp_pcap_sender_create(b->dev, err, sizeof err, &b->sender);
    } else {
        error = garp_of_sender_create(NULL, b->bridge, err, sizeof err,
                                      &b->sender);
        if (!error) {
            /* netmoved knows the port number from OVSDB before resume. */
            error = garp_sender_port(b->sender, b->port, &b->ofport, err,
                                     sizeof err);
        }
    }
    if (error) {
        die("sender", err);
    }
}

/* VM 'i' of a run: MAC 02:PP:00:00:HH:LL, 198.18.(100 + i / 250).(i % 250
 * + 1), 2001:db8:PP::i+1. */
struct vm_addrs {
    ovs_be32 ip4;
    struct in6_addr ip6;
};

static void
make_vm(struct bench *b, uint8_t prefix, unsigned int i,
        struct vm_addrs *addrs, struct garp_vm *vm)
{
    memset(vm, 0, sizeof *vm);
    vm->mac = (struct eth_addr) ETH_ADDR_C(02, 00, 00, 00, 00, 00);
    vm->mac.ea[1] = prefix;
    vm->mac.ea[4] = i >> 8;
    vm->mac.ea[5] = i;
    addrs->ip4 = htonl((198u << 24) | (18u << 16)
                       | ((100 + i / 250) << 8) | (i % 250 + 1));
    memset(&addrs->ip6, 0, sizeof addrs->ip6);
    addrs->ip6.s6_addr[0] = 0x20;
    addrs->ip6.s6_addr[1] = 0x01;
    addrs->ip6.s6_addr[2] = 0x0d;
    addrs->ip6.s6_addr[3] = 0xb8;
    addrs->ip6.s6_addr[5] = prefix;
    addrs->ip6.s6_addr[14] = (i + 1) >> 8;
    addrs->ip6.s6_addr[15] = i + 1;
    vm->ipv4 = &addrs->ip4;
    vm->n_ipv4 = 1;
    vm->ipv6 = &addrs->ip6;
    vm->n_ipv6 = 1;
    vm->port = b->port;
    vm->ofport = b->ofport;
}

/* What the capture callback looks for. */
struct watch {
    uint8_t prefix;             /* MAC byte 1 of this run's VMs. */
    uint16_t want_low;          /* Latency: MAC bytes 4-5; else any. */
    bool any;
    uint64_t first_ts;
    size_t n;
};

static void
on_frame(u_char *w_, const struct pcap_pkthdr *h, const u_char *p)
{
    struct watch *w = (struct watch *) w_;

    if (h->caplen < 14 || p[6] != 0x02 || p[7] != w->prefix) {
        return;
    }
    if (!w->any && ((p[10] << 8) | p[11]) != w->want_low) {
        return;
    }
    if (!w->n++) {
        w->first_ts = (uint64_t) h->ts.tv_sec * 1000000 + h->ts.tv_usec;
    }
}

/* Reads the capture into 'w' until 'until_n' frames matched or 'quiet_ms'
 * pass without any. */
static void
read_capture(struct bench *b, struct watch *w, size_t until_n, int quiet_ms)
{
    struct pollfd pfd = { pcap_get_selectable_fd(b->cap), POLLIN, 0 };

    while (w->n < until_n) {
        int n = pcap_dispatch(b->cap, -1, on_frame, (u_char *) w);
        if (n < 0) {
            die("capture", pcap_geterr(b->cap));
        }
        if (!n && poll(&pfd, 1, quiet_ms) <= 0) {
            return;
        }
    }
}

static int
cmp_u64(const void *a_, const void *b_)
{
    uint64_t a = *(const uint64_t *) a_, b = *(const uint64_t *) b_;

    return a < b ? -1 : a > b;
}

static void
bench_latency(struct bench *b)
{
    const struct garp_schedule_params p = { 1, 50, 100, 550, 0, 0, 0 };
    uint64_t *lat = xcalloc(b->trials, sizeof *lat);
    uint64_t *ret = xcalloc(b->trials, sizeof *ret);
    struct garp_announcer *a;
    unsigned int seen = 0;
    char err[256];

    if (garp_announcer_create(&p, b->sender, NULL, NULL, &a, err,
                              sizeof err)) {
        die("announcer", err);
    }
    for (unsigned int i = 0; i < b->trials; i++) {
        struct watch w = { .prefix = 0xbb, .want_low = i };
        struct vm_addrs addrs;
        struct garp_vm vm;
        struct watch drain = { .prefix = 0, .any = true };

        make_vm(b, 0xbb, i, &addrs, &vm);
        read_capture(b, &drain, SIZE_MAX, 0);

        uint64_t t0 = time_wall_usec();
        if (garp_announcer_add(a, &vm, time_usec(), NULL, err, sizeof err)
            || garp_announcer_run(a, time_usec())) {
            die("announce", err);
        }
        uint64_t t1 = time_wall_usec();

        read_capture(b, &w, 1, 1000);
        if (w.n) {
            lat[seen] = w.first_ts > t0 ? w.first_ts - t0 : 0;
            ret[seen] = t1 - t0;
            seen++;
        }
    }
    qsort(lat, seen, sizeof *lat, cmp_u64);
    qsort(ret, seen, sizeof *ret, cmp_u64);
    if (!seen) {
        die("latency", "no frame was captured");
    }
    printf("latency sender=%s trials=%u seen=%u first_frame_us_min=%"PRIu64
           " first_frame_us_median=%"PRIu64" first_frame_us_p90=%"PRIu64
           " first_frame_us_max=%"PRIu64" call_returns_us_median=%"PRIu64"\n",
           b->dev ? "pcap" : "openflow", b->trials, seen, lat[0],
           lat[seen / 2], lat[seen * 9 / 10], lat[seen - 1], ret[seen / 2]);
    garp_announcer_destroy(a);
    free(lat);
    free(ret);
}

static void
bench_rate_once(struct bench *b, unsigned int run)
{
    const struct garp_schedule_params p = { 1, 50, 100, 550, 0, 0, 0 };
    struct vm_addrs *addrs = xcalloc(b->vms, sizeof *addrs);
    struct watch w = { .prefix = 0x10 + run, .any = true };
    struct watch drain = { .prefix = 0, .any = true };
    struct garp_announcer *a;
    struct pcap_stat st0, st1;
    char err[256];

    read_capture(b, &drain, SIZE_MAX, 0);
    pcap_stats(b->cap, &st0);
    if (garp_announcer_create(&p, b->sender, NULL, NULL, &a, err,
                              sizeof err)) {
        die("announcer", err);
    }
    uint64_t now = time_usec();
    uint64_t b0 = time_usec();
    for (unsigned int i = 0; i < b->vms; i++) {
        struct garp_vm vm;

        make_vm(b, w.prefix, i, &addrs[i], &vm);
        if (garp_announcer_add(a, &vm, now, NULL, err, sizeof err)) {
            die("add", err);
        }
    }
    uint64_t s0 = time_usec();
    int error = garp_announcer_run(a, s0);
    uint64_t s1 = time_usec();
    if (error) {
        die("send", strerror(-error));
    }
    uint64_t frames = garp_announcer_n_sent(a);
    read_capture(b, &w, frames, 500);
    pcap_stats(b->cap, &st1);
    printf("rate sender=%s run=%u vms=%u frames=%"PRIu64" build_ms=%.1f "
           "send_ms=%.1f fps=%.0f captured=%zu capture_drops=%u\n",
           b->dev ? "pcap" : "openflow", run, b->vms, frames,
           (s0 - b0) / 1000.0, (s1 - s0) / 1000.0,
           frames * 1e6 / MAX(s1 - s0, 1), w.n, st1.ps_drop - st0.ps_drop);
    fflush(stdout);
    garp_announcer_destroy(a);
    free(addrs);
}

static unsigned int
parse_count(const char *s)
{
    unsigned long long v;

    if (garp_parse_uint("count", s, 1, 1000000, &v, NULL, 0)) {
        die("bad count", s);
    }
    return v;
}

int
main(int argc, char *argv[])
{
    static const struct option options[] = {
        {"dev", required_argument, NULL, 'd'},
        {"bridge", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'p'},
        {"cap", required_argument, NULL, 'c'},
        {"trials", required_argument, NULL, 't'},
        {"vms", required_argument, NULL, 'v'},
        {"runs", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    struct bench b = { .trials = 200, .vms = 10000, .runs = 3 };
    int c;

    set_program_name(argv[0]);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_OFF);
    if (argc < 2) {
        die("usage", "garp_bench latency|rate (--dev DEV | --bridge BR "
            "--port PORT) --cap DEV [--trials N] [--vms N] [--runs N]");
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'd': b.dev = optarg; break;
        case 'b': b.bridge = optarg; break;
        case 'p': b.port = optarg; break;
        case 'c': b.cap_dev = optarg; break;
        case 't': b.trials = parse_count(optarg); break;
        case 'v': b.vms = parse_count(optarg); break;
        case 'r': b.runs = parse_count(optarg); break;
        default: die("usage", "unknown option");
        }
    }
    if (!b.cap_dev || !b.dev == !b.bridge || (b.bridge && !b.port)) {
        die("usage", "--cap, and --dev or --bridge with --port");
    }
    open_sender(&b);
    open_capture(&b);
    if (!strcmp(argv[1], "latency")) {
        bench_latency(&b);
    } else if (!strcmp(argv[1], "rate")) {
        for (unsigned int r = 0; r < b.runs; r++) {
            bench_rate_once(&b, r);
        }
    } else {
        die("usage", argv[1]);
    }
    pcap_close(b.cap);
    garp_sender_destroy(b.sender);
    return 0;
}
