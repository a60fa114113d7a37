/* Tests garp/claim_capture.c with libpcap wrapped at the edge: the capture
 * asks for incoming frames only and for SLL2 on "any"; pcap_dispatch()
 * hands over prepared cooked frames (SLL2, or SLL where the test opens a
 * handle without SLL2), and the test checks the claims, their interface,
 * what is skipped (outgoing, not Ethernet, cut short), the counters and
 * the per-run limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <pcap/sll.h>
#include <string.h>

#include "garp/garp.h"
#include "garp/garp-private.h"

pcap_t *__wrap_pcap_create(const char *, char *);
int __wrap_pcap_activate(pcap_t *);
int __wrap_pcap_setfilter(pcap_t *, struct bpf_program *);
int __wrap_pcap_setnonblock(pcap_t *, int, char *);
int __wrap_pcap_setdirection(pcap_t *, pcap_direction_t);
int __wrap_pcap_dispatch(pcap_t *, int, pcap_handler, u_char *);

#define MAX_FRAMES 16
static struct {
    int dlt;                    /* What the "device" offers. */
    char dev[32];
    int direction;
    uint8_t data[MAX_FRAMES][128];
    size_t len[MAX_FRAMES];
    size_t n, next;
} feed;

pcap_t *
__wrap_pcap_create(const char *dev, char *errbuf)
{
    (void) errbuf;
    snprintf(feed.dev, sizeof feed.dev, "%s", dev);
    /* A dead handle takes pcap_set_datalink() to its own type only: an
     * SLL one plays a libpcap without SLL2. */
    return pcap_open_dead(feed.dlt, 256);
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
    assert_true(prog->bf_len > 0);
    return 0;
}

int
__wrap_pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
{
    (void) p;
    (void) errbuf;
    assert_int_equal(nonblock, 1);
    return 0;
}

int
__wrap_pcap_setdirection(pcap_t *p, pcap_direction_t d)
{
    (void) p;
    feed.direction = d;
    return 0;
}

/* Hands over up to 'cnt' frames (-1: all), three at most per call, as a
 * ring gives what it has. */
int
__wrap_pcap_dispatch(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
    int n = 0;

    (void) p;
    while (feed.next < feed.n && n < 3 && (cnt <= 0 || n < cnt)) {
        struct pcap_pkthdr h = { .caplen = feed.len[feed.next],
                                 .len = feed.len[feed.next] };
        cb(user, &h, feed.data[feed.next]);
        feed.next++;
        n++;
    }
    return n;
}

#define MAC_A 0x02, 0x00, 0x00, 0x00, 0xaa, 0x01
#define BCAST 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, aa, 01);

/* The ARP body of arping -U for 198.18.5.1 from aa:01. */
static const uint8_t garp_body[28] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    MAC_A, 198, 18, 5, 1, BCAST, 198, 18, 5, 1,
};

/* Adds a cooked frame: 'proto', received on 'ifindex' ('pkttype',
 * 'hatype') from aa:01, carrying 'body' after 'tag' bytes of tag. */
static void
add_frame(uint16_t proto, int ifindex, uint8_t pkttype, uint16_t hatype,
          const uint8_t *tag, size_t tag_len, const void *body, size_t len)
{
    static const uint8_t mac[8] = { MAC_A };
    uint8_t *p = feed.data[feed.n];
    size_t hlen;

    if (feed.dlt == DLT_LINUX_SLL2) {
        uint8_t h[SLL2_HDR_LEN] = {
            proto >> 8, proto & 0xff, 0, 0, ifindex >> 24, ifindex >> 16,
            ifindex >> 8, ifindex, hatype >> 8, hatype & 0xff, pkttype, 6,
        };
        memcpy(h + 12, mac, 8);
        memcpy(p, h, sizeof h);
        hlen = sizeof h;
    } else {
        uint8_t h[SLL_HDR_LEN] = {
            0, pkttype, hatype >> 8, hatype & 0xff, 0, 6,
        };
        memcpy(h + 6, mac, 8);
        h[14] = proto >> 8;
        h[15] = proto & 0xff;
        memcpy(p, h, sizeof h);
        hlen = sizeof h;
    }
    if (tag_len) {
        memcpy(p + hlen, tag, tag_len);
    }
    memcpy(p + hlen + tag_len, body, len);
    feed.len[feed.n++] = hlen + tag_len + len;
}

static struct {
    struct garp_claim_rx rx[MAX_FRAMES];
    size_t n;
} got;

static void
got_claim(void *aux, const struct garp_claim_rx *rx)
{
    assert_ptr_equal(aux, &got);
    got.rx[got.n++] = *rx;
}

static int
reset(void **state)
{
    (void) state;
    memset(&feed, 0, sizeof feed);
    memset(&got, 0, sizeof got);
    feed.direction = -1;
    return 0;
}

static void
sll2_any(void **state)
{
    static const uint8_t tag[4] = { 0x00, 0x64, 0x08, 0x06 };  /* VID 100 */
    struct garp_claim_capture *cap;
    const struct garp_claim_stats *st;
    uint8_t probe[28];

    (void) state;
    feed.dlt = DLT_LINUX_SLL2;
    assert_int_equal(garp_claim_capture_open(NULL, NULL, 0, &cap), 0);
    assert_string_equal(feed.dev, "any");
    assert_int_equal(feed.direction, PCAP_D_IN);
    assert_int_equal(garp_claim_capture_datalink(cap), DLT_LINUX_SLL2);
    assert_true(garp_claim_capture_knows_ifindex(cap));

    memcpy(probe, garp_body, sizeof probe);
    memset(probe + 14, 0, 4);                               /* spa 0.0.0.0 */
    add_frame(0x0806, 7, LINUX_SLL_HOST, 1, NULL, 0, garp_body, 28);
    add_frame(0x0806, 7, LINUX_SLL_OUTGOING, 1, NULL, 0, garp_body, 28);
    add_frame(0x0806, 7, LINUX_SLL_BROADCAST, 772, NULL, 0, garp_body, 28);
    add_frame(0x8100, 9, LINUX_SLL_BROADCAST, 1, tag, 4, garp_body, 28);
    add_frame(0x0806, 7, LINUX_SLL_HOST, 1, NULL, 0, probe, 28);
    add_frame(0x0806, 7, LINUX_SLL_HOST, 1, NULL, 0, garp_body, 10);
    feed.len[feed.n++] = 12;                /* Shorter than the header. */

    assert_int_equal(garp_claim_capture_run(cap, 0, got_claim, &got), 7);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.rx[0].ifindex, 7);
    assert_true(eth_addr_equals(got.rx[0].claim.mac, mac_a));
    assert_int_equal(got.rx[0].claim.vlan, 0);
    assert_int_equal(ntohl(in6_addr_get_mapped_ipv4(&got.rx[0].claim.addr)),
                     0xc6120501);
    assert_int_equal(got.rx[1].ifindex, 9);
    assert_int_equal(got.rx[1].claim.vlan, 100);

    st = garp_claim_capture_stats(cap);
    assert_int_equal(st->frames, 7);
    assert_int_equal(st->outgoing, 1);
    assert_int_equal(st->not_ethernet, 1);
    assert_int_equal(st->why[GARP_NC_NONE], 2);
    assert_int_equal(st->why[GARP_NC_PROBE], 1);
    assert_int_equal(st->why[GARP_NC_MALFORMED], 2);
    /* Nothing more to read. */
    assert_int_equal(garp_claim_capture_run(cap, 0, got_claim, &got), 0);
    garp_claim_capture_close(cap);
    garp_claim_capture_close(NULL);
}

static void
sll_without_ifindex(void **state)
{
    struct garp_claim_capture *cap;

    (void) state;
    feed.dlt = DLT_LINUX_SLL;
    assert_int_equal(garp_claim_capture_open("any", NULL, 0, &cap), 0);
    assert_int_equal(garp_claim_capture_datalink(cap), DLT_LINUX_SLL);
    assert_false(garp_claim_capture_knows_ifindex(cap));
    add_frame(0x0806, 0, LINUX_SLL_BROADCAST, 1, NULL, 0, garp_body, 28);
    add_frame(0x0806, 0, LINUX_SLL_OUTGOING, 1, NULL, 0, garp_body, 28);
    assert_int_equal(garp_claim_capture_run(cap, 0, got_claim, &got), 2);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.rx[0].ifindex, 0);
    assert_true(eth_addr_equals(got.rx[0].claim.mac, mac_a));
    garp_claim_capture_close(cap);
}

static void
per_run_limit(void **state)
{
    struct garp_claim_capture *cap;

    (void) state;
    feed.dlt = DLT_LINUX_SLL2;
    assert_int_equal(garp_claim_capture_open(NULL, NULL, 0, &cap), 0);
    for (int i = 0; i < 10; i++) {
        add_frame(0x0806, 3, LINUX_SLL_HOST, 1, NULL, 0, garp_body, 28);
    }
    assert_int_equal(garp_claim_capture_run(cap, 4, got_claim, &got), 4);
    assert_int_equal(feed.next, 4);
    assert_int_equal(garp_claim_capture_run(cap, 4, got_claim, &got), 4);
    assert_int_equal(garp_claim_capture_run(cap, 4, got_claim, &got), 2);
    assert_int_equal(got.n, 10);
    garp_claim_capture_close(cap);
}

static void
bad_device(void **state)
{
    struct garp_claim_capture *cap = (void *) 1;
    char err[128];

    (void) state;
    assert_int_equal(garp_claim_capture_open("nosuch0", err, sizeof err,
                                             &cap), -ENODEV);
    assert_null(cap);
    assert_memory_equal(err, "dev:", 4);
    /* A device that is not Ethernet. */
    feed.dlt = DLT_RAW;
    assert_int_equal(garp_claim_capture_open("lo", err, sizeof err, &cap),
                     -EINVAL);
    assert_non_null(strstr(err, "not an Ethernet device"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(sll2_any, reset),
        cmocka_unit_test_setup(sll_without_ifindex, reset),
        cmocka_unit_test_setup(per_run_limit, reset),
        cmocka_unit_test_setup(bad_device, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
