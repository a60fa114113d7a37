/* Tests garp/arp_frame.c: GARP (request and reply forms) and RARP, byte for
 * byte against frames written out from RFC 826/903/5227 and QEMU's
 * announce_self_create(), with and without an 802.1Q tag. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "garp/garp.h"

static const struct eth_addr vm_mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01);
#define VM_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x01
#define BCAST 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
#define ZERO6 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
#define IP_198_18_1_1 0xc6, 0x12, 0x01, 0x01
#define PAD18 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
/* htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4. */
#define ARP_FIXED 0x00, 0x01, 0x08, 0x00, 0x06, 0x04

static ovs_be32
ip_198_18_1_1(void)
{
    return htonl(0xc6120101);
}

static void
assert_frame(const uint8_t *got, size_t got_len, const uint8_t *want,
             size_t want_len)
{
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
}

static void
garp_request_untagged(void **state)
{
    static const uint8_t want[] = {
        BCAST, VM_MAC, 0x08, 0x06,
        ARP_FIXED, 0x00, 0x01,                  /* op 1: request */
        VM_MAC, IP_198_18_1_1,                  /* sha, spa */
        ZERO6, IP_198_18_1_1,                   /* tha 0, tpa = spa */
        PAD18,
    };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_arp(buf, sizeof buf, vm_mac, ip_198_18_1_1(),
                                    false, NULL, &len), 0);
    assert_int_equal(len, GARP_FRAME_MIN);
    assert_frame(buf, len, want, sizeof want);
}

static void
garp_reply_untagged(void **state)
{
    static const uint8_t want[] = {
        BCAST, VM_MAC, 0x08, 0x06,
        ARP_FIXED, 0x00, 0x02,                  /* op 2: reply */
        VM_MAC, IP_198_18_1_1,
        VM_MAC, IP_198_18_1_1,                  /* tha = sha */
        PAD18,
    };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_arp(buf, sizeof buf, vm_mac, ip_198_18_1_1(),
                                    true, NULL, &len), 0);
    assert_frame(buf, len, want, sizeof want);
}

static void
garp_request_tagged(void **state)
{
    /* VID 100, PCP 3: TCI 0x6064; padded to 60 first, so 64 bytes. */
    static const uint8_t want[] = {
        BCAST, VM_MAC, 0x81, 0x00, 0x60, 0x64, 0x08, 0x06,
        ARP_FIXED, 0x00, 0x01,
        VM_MAC, IP_198_18_1_1,
        ZERO6, IP_198_18_1_1,
        PAD18,
    };
    struct garp_vlan vlan = { 100, 3 };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_arp(buf, sizeof buf, vm_mac, ip_198_18_1_1(),
                                    false, &vlan, &len), 0);
    assert_int_equal(len, 64);
    assert_frame(buf, len, want, sizeof want);
}

static void
rarp_untagged(void **state)
{
    static const uint8_t want[] = {
        BCAST, VM_MAC, 0x80, 0x35,
        ARP_FIXED, 0x00, 0x03,                  /* op 3: request reverse */
        VM_MAC, 0, 0, 0, 0,                     /* sha, spa 0.0.0.0 */
        VM_MAC, 0, 0, 0, 0,                     /* tha = sha, tpa 0 */
        PAD18,
    };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_rarp(buf, sizeof buf, vm_mac, NULL, &len), 0);
    assert_frame(buf, len, want, sizeof want);
}

static void
rarp_tagged(void **state)
{
    /* VID 4094, PCP 7: TCI 0xeffe. */
    static const uint8_t want[] = {
        BCAST, VM_MAC, 0x81, 0x00, 0xef, 0xfe, 0x80, 0x35,
        ARP_FIXED, 0x00, 0x03,
        VM_MAC, 0, 0, 0, 0,
        VM_MAC, 0, 0, 0, 0,
        PAD18,
    };
    struct garp_vlan vlan = { 4094, 7 };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_rarp(buf, sizeof buf, vm_mac, &vlan, &len),
                     0);
    assert_frame(buf, len, want, sizeof want);
}

static void
vid_zero_is_untagged(void **state)
{
    struct garp_vlan vlan = { 0, 0 };
    uint8_t a[GARP_FRAME_MAX], b[GARP_FRAME_MAX];
    size_t alen, blen;

    (void) state;
    assert_int_equal(garp_build_rarp(a, sizeof a, vm_mac, &vlan, &alen), 0);
    assert_int_equal(garp_build_rarp(b, sizeof b, vm_mac, NULL, &blen), 0);
    assert_frame(a, alen, b, blen);
}

static void
bad_input_builds_nothing(void **state)
{
    static const struct eth_addr mcast = ETH_ADDR_C(01, 00, 5e, 00, 00, 01);
    static const struct eth_addr bcast = ETH_ADDR_C(ff, ff, ff, ff, ff, ff);
    struct garp_vlan vid4095 = { 4095, 0 }, pcp8 = { 10, 8 };
    struct garp_vlan pcp_untagged = { 0, 5 };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len = 12345;

    (void) state;
    memset(buf, 0xaa, sizeof buf);
    assert_int_equal(garp_build_arp(buf, sizeof buf, eth_addr_zero,
                                    ip_198_18_1_1(), false, NULL, &len),
                     -EINVAL);
    assert_int_equal(garp_build_arp(buf, sizeof buf, mcast, ip_198_18_1_1(),
                                    false, NULL, &len), -EINVAL);
    assert_int_equal(garp_build_rarp(buf, sizeof buf, bcast, NULL, &len),
                     -EINVAL);
    assert_int_equal(garp_build_rarp(buf, sizeof buf, vm_mac, &vid4095, &len),
                     -EINVAL);
    assert_int_equal(garp_build_rarp(buf, sizeof buf, vm_mac, &pcp8, &len),
                     -EINVAL);
    assert_int_equal(garp_build_rarp(buf, sizeof buf, vm_mac, &pcp_untagged,
                                     &len), -EINVAL);
    assert_int_equal(len, 12345);
    for (size_t i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], 0xaa);
    }
}

static void
small_buffer(void **state)
{
    struct garp_vlan vlan = { 100, 0 };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_rarp(buf, 59, vm_mac, NULL, &len), -ENOSPC);
    assert_int_equal(garp_build_rarp(buf, 60, vm_mac, NULL, &len), 0);
    assert_int_equal(garp_build_rarp(buf, 63, vm_mac, &vlan, &len), -ENOSPC);
    assert_int_equal(garp_build_rarp(buf, 64, vm_mac, &vlan, &len), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(garp_request_untagged),
        cmocka_unit_test(garp_reply_untagged),
        cmocka_unit_test(garp_request_tagged),
        cmocka_unit_test(rarp_untagged),
        cmocka_unit_test(rarp_tagged),
        cmocka_unit_test(vid_zero_is_untagged),
        cmocka_unit_test(bad_input_builds_nothing),
        cmocka_unit_test(small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
