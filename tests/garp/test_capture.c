/* Tests garp/capture.c with libpcap wrapped at the edge: pcap_dispatch()
 * hands over prepared frames.  Checks what is kept for a MAC, for an
 * address or for everything, the timestamps, and who answers for an
 * address (two MACs: a duplicate). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>

#include "garp/garp.h"

pcap_t *__wrap_pcap_create(const char *, char *);
int __wrap_pcap_activate(pcap_t *);
int __wrap_pcap_setfilter(pcap_t *, struct bpf_program *);
int __wrap_pcap_setnonblock(pcap_t *, int, char *);
int __wrap_pcap_dispatch(pcap_t *, int, pcap_handler, u_char *);

#define MAX_FRAMES 8
static struct {
    uint8_t data[MAX_FRAMES][GARP_FRAME_MAX];
    size_t len[MAX_FRAMES];
    size_t n, next;
} feed;

pcap_t *
__wrap_pcap_create(const char *dev, char *errbuf)
{
    (void) dev;
    (void) errbuf;
    return pcap_open_dead(DLT_EN10MB, 65535);
}

int
__wrap_pcap_activate(pcap_t *p)
{
    (void) p;
    return 0;
}

int
__wrap_pcap_setfilter(pcap_t *p, struct bpf_program *prog)
{
    (void) p;
    (void) prog;
    return 0;
}

int
__wrap_pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
{
    (void) p;
    (void) nonblock;
    (void) errbuf;
    return 0;
}

/* Hands over up to two frames per call, as a ring gives what it has. */
int
__wrap_pcap_dispatch(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
    int n = 0;

    (void) p;
    (void) cnt;
    while (feed.next < feed.n && n < 2) {
        struct pcap_pkthdr h = { .caplen = feed.len[feed.next],
                                 .len = feed.len[feed.next] };
        h.ts.tv_sec = 1000 + feed.next;
        h.ts.tv_usec = 7;
        cb(user, &h, feed.data[feed.next]);
        feed.next++;
        n++;
    }
    return n;
}

static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, 00, 0a);
static const struct eth_addr mac_b = ETH_ADDR_C(02, 00, 00, 00, 00, 0b);

static struct in6_addr
v4(uint32_t ip)
{
    struct in6_addr a;

    garp_addr_from_ipv4(htonl(ip), &a);
    return a;
}

static struct in6_addr
v6_1(void)
{
    struct in6_addr a = { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 1,
                                       [15] = 1 } };
    return a;
}

/* A claims 198.18.1.1 (GARP) and 2001:db8:1::1 (NA) and sends a RARP; B
 * also claims 198.18.1.1 (GARP reply); C asks who has 198.18.1.1; and an
 * IPv4 frame that is none of these. */
static int
setup_feed(void **state)
{
    static const uint8_t who_has[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0x0c, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        2, 0, 0, 0, 0, 0x0c, 198, 18, 0, 1,
        0, 0, 0, 0, 0, 0, 198, 18, 1, 1,
    };
    static const uint8_t ipv4[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00,
    };
    struct in6_addr a6 = v6_1();
    size_t *len = feed.len;

    (void) state;
    memset(&feed, 0, sizeof feed);
    assert_int_equal(garp_build_arp(feed.data[0], GARP_FRAME_MAX, mac_a,
                                    htonl(0xc6120101), false, NULL, &len[0]),
                     0);
    assert_int_equal(garp_build_arp(feed.data[1], GARP_FRAME_MAX, mac_b,
                                    htonl(0xc6120101), true, NULL, &len[1]),
                     0);
    memcpy(feed.data[2], who_has, sizeof who_has);
    len[2] = sizeof who_has;
    assert_int_equal(garp_build_rarp(feed.data[3], GARP_FRAME_MAX, mac_a,
                                     NULL, &len[3]), 0);
    assert_int_equal(garp_build_na(feed.data[4], GARP_FRAME_MAX, mac_a, &a6,
                                   false, NULL, &len[4]), 0);
    memcpy(feed.data[5], ipv4, sizeof ipv4);
    len[5] = sizeof ipv4;
    feed.n = 6;
    return 0;
}

static struct garp_capture *
open_run(const struct garp_capture_filter *f)
{
    struct garp_capture *cap;

    assert_int_equal(garp_capture_open("lo", f, NULL, 0, &cap), 0);
    assert_int_equal(garp_capture_run(cap), 0);
    assert_int_equal(feed.next, feed.n);        /* Read to the end. */
    return cap;
}

static void
everything(void **state)
{
    struct in6_addr ip = v4(0xc6120101), a6 = v6_1(), nobody = v4(0xc6120109);
    struct garp_capture *cap = open_run(NULL);
    struct eth_addr macs[4];
    uint64_t ts;

    (void) state;
    assert_int_equal(garp_capture_n_seen(cap), 5);  /* Not the IPv4 one. */
    assert_int_equal(garp_capture_seen(cap, 0, &ts)->type,
                     GARP_SEEN_GARP_REQUEST);
    assert_int_equal(ts, 1000 * 1000000ULL + 7);
    assert_int_equal(garp_capture_seen(cap, 1, NULL)->type,
                     GARP_SEEN_GARP_REPLY);
    assert_int_equal(garp_capture_seen(cap, 2, NULL)->type,
                     GARP_SEEN_ARP_REQUEST);
    assert_int_equal(garp_capture_seen(cap, 3, NULL)->type, GARP_SEEN_RARP);
    assert_int_equal(garp_capture_seen(cap, 4, &ts)->type,
                     GARP_SEEN_NA_UNSOLICITED);
    assert_int_equal(ts, 1004 * 1000000ULL + 7);
    assert_null(garp_capture_seen(cap, 5, NULL));

    /* Two MACs claim 198.18.1.1: a duplicate; the question is no claim. */
    assert_int_equal(garp_capture_owners(cap, &ip, macs, 4), 2);
    assert_true(eth_addr_equals(macs[0], mac_a));
    assert_true(eth_addr_equals(macs[1], mac_b));
    assert_int_equal(garp_capture_owners(cap, &a6, macs, 4), 1);
    assert_true(eth_addr_equals(macs[0], mac_a));
    assert_int_equal(garp_capture_owners(cap, &nobody, macs, 4), 0);
    garp_capture_close(cap);
}

static void
by_mac(void **state)
{
    struct garp_capture_filter f = { .mac = &mac_a };
    struct in6_addr ip = v4(0xc6120101);
    struct garp_capture *cap = open_run(&f);
    struct eth_addr macs[4];

    (void) state;
    /* A's GARP, RARP and NA. */
    assert_int_equal(garp_capture_n_seen(cap), 3);
    assert_int_equal(garp_capture_owners(cap, &ip, macs, 4), 1);
    garp_capture_close(cap);
}

static void
by_address(void **state)
{
    struct in6_addr addrs[1] = { v4(0xc6120101) };
    struct garp_capture_filter f = { .addrs = addrs, .n_addrs = 1 };
    struct garp_capture *cap = open_run(&f);
    struct eth_addr macs[4];

    (void) state;
    /* Both claims and the question. */
    assert_int_equal(garp_capture_n_seen(cap), 3);
    assert_int_equal(garp_capture_seen(cap, 2, NULL)->type,
                     GARP_SEEN_ARP_REQUEST);
    assert_int_equal(garp_capture_owners(cap, &addrs[0], macs, 1), 2);
    garp_capture_close(cap);
}

/* Scoped to a VLAN: another VLAN is another network, where the address
 * may be someone else's by right.  B's claim comes tagged 100 here. */
static void
by_vlan(void **state)
{
    static const struct garp_vlan v100 = { .vid = 100 };
    struct in6_addr addrs[1] = { v4(0xc6120101) };
    struct garp_capture_filter f = { .addrs = addrs, .n_addrs = 1,
                                     .match_vlan = true, .vlan = 0 };
    struct garp_capture *cap;
    struct eth_addr macs[4];

    (void) state;
    assert_int_equal(garp_build_arp(feed.data[1], GARP_FRAME_MAX, mac_b,
                                    htonl(0xc6120101), true, &v100,
                                    &feed.len[1]), 0);
    cap = open_run(&f);             /* Untagged only: A's claim. */
    assert_int_equal(garp_capture_owners(cap, &addrs[0], macs, 4), 1);
    assert_true(eth_addr_equals(macs[0], mac_a));
    garp_capture_close(cap);

    feed.next = 0;
    f.vlan = 100;                   /* VLAN 100 only: B's. */
    cap = open_run(&f);
    assert_int_equal(garp_capture_owners(cap, &addrs[0], macs, 4), 1);
    assert_true(eth_addr_equals(macs[0], mac_b));
    garp_capture_close(cap);

    feed.next = 0;
    f.match_vlan = false;           /* Any: both. */
    cap = open_run(&f);
    assert_int_equal(garp_capture_owners(cap, &addrs[0], macs, 4), 2);
    garp_capture_close(cap);
}

static void
no_such_device(void **state)
{
    struct garp_capture *cap = (void *) 1;
    char err[128];

    (void) state;
    assert_int_equal(garp_capture_open("nosuch0", NULL, err, sizeof err,
                                       &cap), -ENODEV);
    assert_null(cap);
    assert_memory_equal(err, "dev:", 4);
    garp_capture_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(everything, setup_feed),
        cmocka_unit_test_setup(by_mac, setup_feed),
        cmocka_unit_test_setup(by_address, setup_feed),
        cmocka_unit_test_setup(by_vlan, setup_feed),
        cmocka_unit_test(no_such_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
