/* Tests netmove/addr/addrlearn.c, the learner: the capture (libpcap wrapped at
 * the edge, handing over SLL2 frames) feeds the table through the frame's
 * interface index; a claim on the known interface "lo" with its
 * attached-mac is learned, one with another MAC or on an interface that
 * does not exist is not; aged addresses go at the next run; a libpcap
 * without SLL2 is refused. */
#include <errno.h>
#include <stdio.h>
#include <pcap/pcap.h>
#include <pcap/sll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/addrlearn.h"
#include "netmove/addr/addrtab-private.h"

pcap_t *__wrap_pcap_create(const char *, char *);
int __wrap_pcap_activate(pcap_t *);
int __wrap_pcap_setfilter(pcap_t *, struct bpf_program *);
int __wrap_pcap_setnonblock(pcap_t *, int, char *);
int __wrap_pcap_setdirection(pcap_t *, pcap_direction_t);
int __wrap_pcap_dispatch(pcap_t *, int, pcap_handler, u_char *);

static struct {
    int dlt;
    uint8_t data[8][64];
    size_t len[8];
    size_t n, next;
} feed;

pcap_t *
__wrap_pcap_create(const char *dev, char *errbuf)
{
    (void) dev;
    (void) errbuf;
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

int
__wrap_pcap_setdirection(pcap_t *p, pcap_direction_t d)
{
    (void) p;
    assert_int_equal(d, PCAP_D_IN);
    return 0;
}

int
__wrap_pcap_dispatch(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
    int n = 0;

    (void) p;
    while (feed.next < feed.n && (cnt <= 0 || n < cnt)) {
        struct pcap_pkthdr h = { .caplen = feed.len[feed.next],
                                 .len = feed.len[feed.next] };
        cb(user, &h, feed.data[feed.next++]);
        n++;
    }
    return n;
}

#define S 1000000ULL
#define T0 (1700000000ULL * S)

static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, aa, 01);
static const struct eth_addr mac_b = ETH_ADDR_C(02, 00, 00, 00, bb, 01);

/* An SLL2 frame: 'mac' says, in an ARP reply on 'ifindex', that it has
 * 198.18.5.'host'. */
static void
add_arp(int ifindex, struct eth_addr mac, uint8_t host)
{
    uint8_t *p = feed.data[feed.n];
    const uint8_t arp[8] = { 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02 };

    memset(p, 0, 64);
    p[0] = 0x08;
    p[1] = 0x06;
    p[4] = ifindex >> 24;
    p[5] = ifindex >> 16;
    p[6] = ifindex >> 8;
    p[7] = ifindex;
    p[9] = 1;                   /* ARPHRD_ETHER */
    p[10] = LINUX_SLL_HOST;
    p[11] = 6;
    memcpy(p + 12, mac.ea, 6);
    memcpy(p + 20, arp, 8);
    memcpy(p + 28, mac.ea, 6);
    memcpy(p + 34, (uint8_t[]) { 198, 18, 5, host }, 4);
    feed.len[feed.n++] = SLL2_HDR_LEN + 28;
}

/* What the observer heard: "IFACE:VERDICT " per claim. */
static char heard[256];

static void
observe(void *aux, const char *iface, const struct garp_claim *c,
        enum nm_addrtab_verdict v)
{
    assert_ptr_equal(aux, heard);
    assert_true(garp_addr_ownable(&c->addr));
    snprintf(heard + strlen(heard), sizeof heard - strlen(heard), "%s:%s ",
             iface, nm_addrtab_verdict_name(v));
}

static size_t
n_addrs(struct nm_addrlearn *learn, uint64_t now)
{
    struct nm_addrtab_entry e[4];

    return nm_addrtab_addrs(nm_addrlearn_table(learn), "lo", now, 0, e, 4);
}

static void
learns_from_the_interface(void **state OVS_UNUSED)
{
    const struct nm_addrtab_port port = { "lo", mac_a, "vm1", NULL };
    struct nm_addrlearn_params p = {
        .table = { .max_age_us = 60 * S }, .max_per_run = 3,
        .observer = observe, .observer_aux = heard,
    };
    struct nm_addrlearn *learn;
    const uint64_t *v;
    char err[256];

    memset(&feed, 0, sizeof feed);
    feed.dlt = DLT_LINUX_SLL2;
    assert_int_equal(nm_addrlearn_create(&p, &learn, err, sizeof err), 0);
    assert_int_equal(nm_addrtab_set_ports(nm_addrlearn_table(learn), &port,
                                          1, err, sizeof err), 0);
    add_arp(1, mac_a, 1);               /* lo is always ifindex 1. */
    add_arp(1, mac_b, 2);               /* Another MAC on vm1's port. */
    add_arp(0x7ffffff0, mac_a, 3);      /* No such interface. */
    add_arp(1, mac_a, 4);

    /* Three frames per run. */
    assert_int_equal(nm_addrlearn_run(learn, T0), 0);
    assert_int_equal(feed.next, 3);
    assert_int_equal(n_addrs(learn, T0), 1);
    assert_int_equal(nm_addrlearn_run(learn, T0 + S), 0);
    assert_int_equal(n_addrs(learn, T0 + S), 2);

    assert_string_equal(heard, "lo:learned lo:other-mac :unknown-iface "
                        "lo:learned ");
    v = nm_addrlearn_verdicts(learn);
    assert_int_equal(v[NM_ADDRTAB_LEARNED], 2);
    assert_int_equal(v[NM_ADDRTAB_OTHER_MAC], 1);
    assert_int_equal(v[NM_ADDRTAB_UNKNOWN_IFACE], 1);
    assert_int_equal(nm_addrlearn_capture_stats(learn)->why[GARP_NC_NONE], 4);

    /* .1 ages out at a run; .4 is refreshed by a new claim. */
    add_arp(1, mac_a, 4);
    assert_int_equal(nm_addrlearn_run(learn, T0 + 61 * S), 0);
    assert_int_equal(n_addrs(learn, T0 + 61 * S), 1);
    assert_int_equal(nm_addrtab_expire(nm_addrlearn_table(learn),
                                       T0 + 61 * S), 0);
    nm_addrlearn_destroy(learn);
    nm_addrlearn_destroy(NULL);
}

static void
refuses_sll(void **state OVS_UNUSED)
{
    struct nm_addrlearn *learn = (void *) 1;
    char err[256];

    memset(&feed, 0, sizeof feed);
    feed.dlt = DLT_LINUX_SLL;
    assert_int_equal(nm_addrlearn_create(NULL, &learn, err, sizeof err),
                     -EOPNOTSUPP);
    assert_null(learn);
    assert_non_null(strstr(err, "DLT_LINUX_SLL2"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_from_the_interface),
        cmocka_unit_test(refuses_sll),
    };
    set_program_name("test_addrlearn");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
