/* Tests garp/claim.c on golden frames: each was captured with tcpdump on
 * the far end of a veth pair while arping and ndisc6 (or the kernel) sent
 * it from 02:00:00:00:aa:01 (198.18.5.1, 2001:db8:5::1, fe80::ff:fe00:aa01)
 * or 02:00:00:00:bb:01 (2001:db8:5::2).  The variants (a wrong MAC, a tag,
 * a bad address) are these frames with the bytes the test names patched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "garp/garp.h"
#include "garp/garp-private.h"

#define MAC_A 0x02, 0x00, 0x00, 0x00, 0xaa, 0x01
#define MAC_B 0x02, 0x00, 0x00, 0x00, 0xbb, 0x01
#define BCAST 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, aa, 01);
static const struct eth_addr mac_b = ETH_ADDR_C(02, 00, 00, 00, bb, 01);

/* arping -U: request, spa = tpa = 198.18.5.1, tha ff:ff:ff:ff:ff:ff. */
static const uint8_t arp_garp[42] = {
    BCAST, MAC_A, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    MAC_A, 198, 18, 5, 1, BCAST, 198, 18, 5, 1,
};
/* arping -A: the reply form. */
static const uint8_t arp_garp_reply[42] = {
    BCAST, MAC_A, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
    MAC_A, 198, 18, 5, 1, MAC_A, 198, 18, 5, 1,
};
/* arping: who-has 198.18.5.2 tell 198.18.5.1. */
static const uint8_t arp_request[42] = {
    BCAST, MAC_A, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    MAC_A, 198, 18, 5, 1, BCAST, 198, 18, 5, 2,
};
/* arping -D: who-has 198.18.5.9 tell 0.0.0.0 (a probe, RFC 5227). */
static const uint8_t arp_probe[42] = {
    BCAST, MAC_A, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    MAC_A, 0, 0, 0, 0, BCAST, 198, 18, 5, 9,
};
/* A unicast reply: 198.18.5.1 is-at aa:01, to bb:01 (198.18.5.2). */
static const uint8_t arp_reply[42] = {
    MAC_B, MAC_A, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
    MAC_A, 198, 18, 5, 1, MAC_B, 198, 18, 5, 2,
};
/* ndisc6: NS from 2001:db8:5::1 for 2001:db8:5::77, SLLA aa:01. */
static const uint8_t ns_global[86] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x77, MAC_A, 0x86, 0xdd,
    0x60, 0x01, 0x21, 0xa1, 0x00, 0x20, 0x3a, 0xff,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0xff, 0x00, 0x00, 0x77,
    0x87, 0x00, 0x71, 0x32, 0, 0, 0, 0,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x77,
    0x01, 0x01, MAC_A,
};
/* The kernel: NS from fe80::ff:fe00:aa01 for 2001:db8:5::2, SLLA aa:01. */
static const uint8_t ns_link_local[86] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x02, MAC_A, 0x86, 0xdd,
    0x60, 0x09, 0x79, 0x0f, 0x00, 0x20, 0x3a, 0xff,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x00, 0xaa, 0x01,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02,
    0x87, 0x00, 0xf8, 0x58, 0, 0, 0, 0,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02,
    0x01, 0x01, MAC_A,
};
/* The kernel's DAD for 2001:db8:5::3: NS from ::, with a nonce option
 * (RFC 7527). */
static const uint8_t ns_dad[86] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x03, MAC_A, 0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0xff, 0x00, 0x00, 0x03,
    0x87, 0x00, 0x66, 0x78, 0, 0, 0, 0,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x03,
    0x0e, 0x01, 0x13, 0x93, 0xb5, 0xfd, 0x0e, 0xd2,
};
/* The kernel: RS from fe80::ff:fe00:aa01, SLLA aa:01. */
static const uint8_t rs[70] = {
    0x33, 0x33, 0x00, 0x00, 0x00, 0x02, MAC_A, 0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0xff,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x00, 0xaa, 0x01,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02,
    0x85, 0x00, 0x27, 0x2b, 0, 0, 0, 0, 0x01, 0x01, MAC_A,
};
/* The kernel's answer to ns_link_local's kind: NA from bb:01, solicited
 * and override, target 2001:db8:5::2, TLLA bb:01. */
static const uint8_t na[86] = {
    MAC_A, MAC_B, 0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,
    0x88, 0x00, 0xcf, 0x62, 0x60, 0, 0, 0,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02,
    0x02, 0x01, MAC_B,
};

/* Offsets of patched fields in the untagged frames above. */
#define ETH_SRC 6
#define ARP_SHA 22
#define ARP_SPA 28
#define IP6_HLIM 21
#define IP6_SRC 22
#define ND_TARGET 62
#define ND_OPT 78               /* In NS and NA. */

static uint8_t frame[128];

/* A copy of 'f' in 'frame', to patch. */
#define COPY(F) (memcpy(frame, F, sizeof F), sizeof F)

/* The claims and verdicts report the caller's line when they fail. */
#define assert_claim(F, LEN, MAC, ADDR, KIND) \
    check_claim(F, LEN, MAC, ADDR, KIND, __FILE__, __LINE__)
#define assert_no_claim(F, LEN, ERROR, WHY) \
    check_no_claim(F, LEN, ERROR, WHY, __FILE__, __LINE__)

static void
check_claim(const void *f, size_t len, struct eth_addr mac, const char *addr,
            enum garp_claim_kind kind, const char *file, int line)
{
    struct garp_claim c;
    enum garp_no_claim why = GARP_N_NO_CLAIM;
    char buf[INET6_ADDRSTRLEN];
    int error = garp_claim_parse_eth(f, len, &c, &why);

    _assert_int_equal(error, 0, file, line);
    _assert_string_equal(garp_no_claim_name(why), "claim", file, line);
    _assert_true(eth_addr_equals(c.mac, mac), "mac", file, line);
    _assert_string_equal(garp_addr_format(&c.addr, buf, sizeof buf), addr,
                         file, line);
    _assert_int_equal(c.kind, kind, file, line);
    _assert_int_equal(c.vlan, 0, file, line);
}

static void
check_no_claim(const void *f, size_t len, int error, enum garp_no_claim want,
               const char *file, int line)
{
    struct garp_claim c;
    enum garp_no_claim why = GARP_NC_NONE;

    _assert_int_equal(cast_to_largest_integral_type(
                          garp_claim_parse_eth(f, len, &c, &why)),
                      cast_to_largest_integral_type(error), file, line);
    _assert_string_equal(garp_no_claim_name(why), garp_no_claim_name(want),
                         file, line);
}

static void
arp_claims(void **state)
{
    (void) state;
    assert_claim(arp_garp, sizeof arp_garp, mac_a, "198.18.5.1",
                 GARP_CLAIM_ARP);
    assert_claim(arp_garp_reply, sizeof arp_garp_reply, mac_a, "198.18.5.1",
                 GARP_CLAIM_ARP);
    /* A question still tells who asks: its sender. */
    assert_claim(arp_request, sizeof arp_request, mac_a, "198.18.5.1",
                 GARP_CLAIM_ARP);
    assert_claim(arp_reply, sizeof arp_reply, mac_a, "198.18.5.1",
                 GARP_CLAIM_ARP);
    /* Padding to 60 bytes changes nothing. */
    memset(frame, 0, sizeof frame);
    memcpy(frame, arp_request, sizeof arp_request);
    assert_claim(frame, 60, mac_a, "198.18.5.1", GARP_CLAIM_ARP);
    assert_string_equal(garp_claim_kind_name(GARP_CLAIM_ARP), "arp");
}

static void
arp_no_claims(void **state)
{
    static const uint8_t bad_spa[][4] = {
        { 127, 0, 0, 1 }, { 224, 0, 0, 251 }, { 255, 255, 255, 255 },
        { 240, 0, 0, 1 }, { 0, 1, 2, 3 },
    };
    size_t len;

    (void) state;
    assert_no_claim(arp_probe, sizeof arp_probe, -ENOMSG, GARP_NC_PROBE);

    /* Ethernet source bb:01, ARP sender aa:01: a claim made for someone
     * else. */
    len = COPY(arp_garp);
    memcpy(frame + ETH_SRC, mac_b.ea, 6);
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_MAC_MISMATCH);

    /* Group and zero sources, with the ARP sender to match. */
    static const struct eth_addr bad_src[] = {
        ETH_ADDR_C(01, 00, 5e, 00, 00, 01), ETH_ADDR_C(ff, ff, ff, ff, ff, ff),
        ETH_ADDR_C(33, 33, 00, 00, 00, 01), ETH_ADDR_C(00, 00, 00, 00, 00, 00),
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad_src); i++) {
        len = COPY(arp_garp);
        memcpy(frame + ETH_SRC, bad_src[i].ea, 6);
        memcpy(frame + ARP_SHA, bad_src[i].ea, 6);
        assert_no_claim(frame, len, -ENOMSG, GARP_NC_SRC_MAC);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad_spa); i++) {
        len = COPY(arp_reply);
        memcpy(frame + ARP_SPA, bad_spa[i], 4);
        assert_no_claim(frame, len, -ENOMSG, GARP_NC_ADDR);
    }
    /* RARP (op 3 in an ARP EtherType here), truncated, not Ethernet/IPv4. */
    len = COPY(arp_garp);
    frame[21] = 3;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_OTHER);
    assert_no_claim(arp_garp, 41, -EBADMSG, GARP_NC_MALFORMED);
    assert_no_claim(arp_garp, 10, -EBADMSG, GARP_NC_MALFORMED);
    len = COPY(arp_garp);
    frame[19] = 8;              /* hln */
    assert_no_claim(frame, len, -EBADMSG, GARP_NC_MALFORMED);
    /* IPv4 is not learned from. */
    len = COPY(arp_garp);
    frame[13] = 0x00;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_OTHER);
}

static void
tagged(void **state)
{
    struct garp_claim c;
    enum garp_no_claim why;

    (void) state;
    /* arp_garp with an 802.1Q tag, PCP 5, VID 100, after the MACs. */
    memcpy(frame, arp_garp, 12);
    memcpy(frame + 12, (uint8_t[]) { 0x81, 0x00, 0xa0, 0x64 }, 4);
    memcpy(frame + 16, arp_garp + 12, sizeof arp_garp - 12);
    assert_int_equal(garp_claim_parse_eth(frame, sizeof arp_garp + 4, &c,
                                          &why), 0);
    assert_int_equal(c.vlan, 100);
    assert_int_equal(ntohl(in6_addr_get_mapped_ipv4(&c.addr)), 0xc6120501);

    /* As a cooked capture gives it: source, EtherType 0x8100, then the
     * TCI and the inner EtherType. */
    assert_int_equal(garp_claim_parse(mac_a, 0x8100, frame + 14,
                                      sizeof arp_garp - 10, &c, &why), 0);
    assert_int_equal(c.vlan, 100);
    assert_true(eth_addr_equals(c.mac, mac_a));
    /* The tag's rest cut short. */
    assert_int_equal(garp_claim_parse(mac_a, 0x8100, frame + 14, 3, &c,
                                      &why), -EBADMSG);
    /* Untagged, cooked. */
    assert_int_equal(garp_claim_parse(mac_a, 0x0806, arp_garp + 14,
                                      sizeof arp_garp - 14, &c, NULL), 0);
    assert_int_equal(c.vlan, 0);
    /* A tagged IPv4 frame is none of ours. */
    assert_int_equal(garp_claim_parse(mac_a, 0x8100,
                                      (uint8_t[]) { 0, 100, 0x08, 0x00 }, 4,
                                      &c, &why), -ENOMSG);
    assert_int_equal(why, GARP_NC_OTHER);
}

static void
nd_claims(void **state)
{
    struct garp_claim c;
    uint8_t buf[GARP_FRAME_MAX];
    struct in6_addr a6;
    size_t len;

    (void) state;
    assert_claim(ns_global, sizeof ns_global, mac_a, "2001:db8:5::1",
                 GARP_CLAIM_NS);
    assert_int_equal(garp_claim_parse_eth(ns_global, sizeof ns_global, &c,
                                          NULL), 0);
    assert_false(c.link_local);
    assert_claim(ns_link_local, sizeof ns_link_local, mac_a,
                 "fe80::ff:fe00:aa01", GARP_CLAIM_NS);
    assert_int_equal(garp_claim_parse_eth(ns_link_local,
                                          sizeof ns_link_local, &c, NULL), 0);
    assert_true(c.link_local);
    assert_claim(rs, sizeof rs, mac_a, "fe80::ff:fe00:aa01", GARP_CLAIM_RS);
    assert_claim(na, sizeof na, mac_b, "2001:db8:5::2", GARP_CLAIM_NA);

    /* Without a link-layer option the Ethernet source stands alone. */
    len = COPY(na);
    frame[19] = 0x18;           /* payload length 24: no option. */
    assert_claim(frame, len - 8, mac_b, "2001:db8:5::2", GARP_CLAIM_NA);

    /* netmove's own unsolicited NA, to ff02::1. */
    assert_true(ipv6_parse("2001:db8:5::9", &a6));
    assert_int_equal(garp_build_na(buf, sizeof buf, mac_a, &a6, false, NULL,
                                   &len), 0);
    assert_claim(buf, len, mac_a, "2001:db8:5::9", GARP_CLAIM_NA);
}

static void
nd_no_claims(void **state)
{
    size_t len;

    (void) state;
    assert_no_claim(ns_dad, sizeof ns_dad, -ENOMSG, GARP_NC_DAD);

    /* NA whose TLLA is bb:02 while the Ethernet source is bb:01. */
    len = COPY(na);
    frame[ND_OPT + 7] = 0x02;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_MAC_MISMATCH);
    /* NS whose SLLA is not its Ethernet source. */
    len = COPY(ns_global);
    frame[ND_OPT + 2] = 0x0a;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_MAC_MISMATCH);
    /* Multicast Ethernet source (and SLLA to match). */
    len = COPY(ns_global);
    frame[ETH_SRC] = frame[ND_OPT + 2] = 0x33;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_SRC_MAC);

    /* Targets no VM owns: IPv4-mapped (it would pose as an IPv4 claim),
     * multicast, loopback. */
    len = COPY(na);
    memset(frame + ND_TARGET, 0, 16);
    memcpy(frame + ND_TARGET + 10, (uint8_t[]) { 0xff, 0xff, 198, 18, 5, 1 },
           6);
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_ADDR);
    frame[ND_TARGET] = 0xff;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_ADDR);
    memset(frame + ND_TARGET, 0, 16);
    frame[ND_TARGET + 15] = 1;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_ADDR);
    /* An NS from a multicast source. */
    len = COPY(ns_global);
    frame[IP6_SRC] = 0xff;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_ADDR);

    /* Forwarded by a router (hop limit 254), an option of length 0, an
     * option past the end, a payload length past the frame. */
    len = COPY(ns_global);
    frame[IP6_HLIM] = 254;
    assert_no_claim(frame, len, -EBADMSG, GARP_NC_MALFORMED);
    len = COPY(ns_global);
    frame[ND_OPT + 1] = 0;
    assert_no_claim(frame, len, -EBADMSG, GARP_NC_MALFORMED);
    len = COPY(ns_global);
    frame[ND_OPT + 1] = 2;
    assert_no_claim(frame, len, -EBADMSG, GARP_NC_MALFORMED);
    assert_no_claim(ns_global, sizeof ns_global - 1, -EBADMSG,
                    GARP_NC_MALFORMED);
    /* Other ICMPv6 (an echo request) and an RA are not claims. */
    len = COPY(ns_global);
    frame[54] = 128;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_OTHER);
    frame[54] = 134;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_OTHER);
    /* UDP. */
    len = COPY(ns_global);
    frame[20] = 17;
    assert_no_claim(frame, len, -ENOMSG, GARP_NC_OTHER);
}

static void
address_rules(void **state)
{
    static const struct {
        const char *s;
        bool ownable, link_local;
    } cases[] = {
        { "198.18.0.1", true, false }, { "169.254.1.1", true, true },
        { "0.0.0.0", false, false }, { "0.1.2.3", false, false },
        { "127.0.0.1", false, false }, { "224.0.0.1", false, false },
        { "255.255.255.255", false, false }, { "2001:db8::1", true, false },
        { "fe80::1", true, true }, { "febf::1", true, true },
        { "fec0::1", true, false }, { "::", false, false },
        { "::1", false, false }, { "::ffff:198.18.0.1", true, false },
        { "::198.18.0.1", false, false }, { "ff02::1", false, false },
    };

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct in6_addr a;

        if (strchr(cases[i].s, ':')) {
            assert_int_equal(inet_pton(AF_INET6, cases[i].s, &a), 1);
        } else {
            garp_addr_from_ipv4(inet_addr(cases[i].s), &a);
        }
        assert_int_equal(garp_addr_ownable(&a), cases[i].ownable);
        assert_int_equal(garp_addr_is_link_local(&a), cases[i].link_local);
    }
    assert_string_equal(garp_no_claim_name(GARP_NC_DAD), "dad");
    assert_string_equal(garp_no_claim_name(GARP_N_NO_CLAIM), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arp_claims),
        cmocka_unit_test(arp_no_claims),
        cmocka_unit_test(tagged),
        cmocka_unit_test(nd_claims),
        cmocka_unit_test(nd_no_claims),
        cmocka_unit_test(address_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
