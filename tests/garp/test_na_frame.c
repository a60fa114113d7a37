/* Tests garp/na_frame.c: unsolicited neighbour advertisements byte for byte
 * (RFC 4861 section 4.4 layout), their ICMPv6 checksums against vectors
 * computed independently (RFC 1071 sum over the RFC 8200 pseudo-header,
 * checked "good" by tshark), tags, and what garp_dissect() reads back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "garp/garp.h"

static const struct eth_addr vm_mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01);
#define VM_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x01
/* 2001:db8:1::1 */
#define ADDR1 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
/* ff02::1 */
#define ALL_NODES 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1

static struct in6_addr
addr(const char *s)
{
    struct in6_addr a;

    assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
    return a;
}

static void
na_untagged(void **state)
{
    static const uint8_t want[] = {
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, VM_MAC, 0x86, 0xdd,
        0x60, 0x00, 0x00, 0x00,             /* version 6, tc 0, flow 0 */
        0x00, 0x20, 58, 255,                /* plen 32, ICMPv6, hops 255 */
        ADDR1, ALL_NODES,
        136, 0, 0xf9, 0x28,                 /* NA, code 0, checksum */
        0x20, 0x00, 0x00, 0x00,             /* R 0, S 0, O 1 */
        ADDR1,                              /* target */
        2, 1, VM_MAC,                       /* target link-layer address */
    };
    struct in6_addr a = addr("2001:db8:1::1");
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_na(buf, sizeof buf, vm_mac, &a, false, NULL,
                                   &len), 0);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
}

static void
na_tagged_router(void **state)
{
    static const uint8_t want[] = {
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, VM_MAC,
        0x81, 0x00, 0x00, 0xc8, 0x86, 0xdd,  /* VID 200, PCP 0 */
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 58, 255,
        ADDR1, ALL_NODES,
        136, 0, 0x79, 0x28,
        0xa0, 0x00, 0x00, 0x00,             /* R 1, S 0, O 1 */
        ADDR1,
        2, 1, VM_MAC,
    };
    struct in6_addr a = addr("2001:db8:1::1");
    struct garp_vlan vlan = { 200, 0 };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_na(buf, sizeof buf, vm_mac, &a, true, &vlan,
                                   &len), 0);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
}

/* Checksums of NAs for several addresses and MACs. */
static void
checksum_vectors(void **state)
{
    static const struct {
        const char *addr;
        struct eth_addr mac;
        bool router;
        uint16_t csum;
    } vectors[] = {
        { "2001:db8:1::1", ETH_ADDR_C(02, 00, 00, 00, 00, 01), false, 0xf928 },
        { "2001:db8:1::1", ETH_ADDR_C(02, 00, 00, 00, 00, 01), true, 0x7928 },
        { "fe80::ff:fe00:1", ETH_ADDR_C(02, 00, 00, 00, 00, 01), false,
          0x599b },
        { "2001:db8:ffff::abcd", ETH_ADDR_C(02, 12, 34, 56, 78, 9a), false,
          0xf48f },
    };

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        struct in6_addr a = addr(vectors[i].addr);
        uint8_t buf[GARP_FRAME_MAX];
        size_t len;

        assert_int_equal(garp_build_na(buf, sizeof buf, vectors[i].mac, &a,
                                       vectors[i].router, NULL, &len), 0);
        /* In the frame, and recomputed from the IPv6 packet alone. */
        assert_int_equal(buf[14 + 40 + 2] << 8 | buf[14 + 40 + 3],
                         vectors[i].csum);
        assert_int_equal(garp_icmp6_checksum(buf + 14, len - 14),
                         vectors[i].csum);
    }
}

static void
dissect_reads_back(void **state)
{
    struct in6_addr a = addr("2001:db8:1::1");
    struct garp_vlan vlan = { 100, 5 };
    uint8_t buf[GARP_FRAME_MAX];
    struct garp_seen seen;
    size_t len;

    (void) state;
    assert_int_equal(garp_build_na(buf, sizeof buf, vm_mac, &a, false, &vlan,
                                   &len), 0);
    assert_int_equal(garp_dissect(buf, len, &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_NA_UNSOLICITED);
    assert_int_equal(seen.vlan, 100);
    assert_int_equal(seen.pcp, 5);
    assert_int_equal(seen.hop_limit, 255);
    assert_true(seen.override);
    assert_false(seen.solicited);
    assert_false(seen.router);
    assert_true(seen.csum_ok);
    assert_true(eth_addr_equals(seen.mac, vm_mac));
    assert_memory_equal(&seen.addr, &a, sizeof a);
    assert_true(garp_seen_is_claim(&seen));

    /* One flipped bit in the target: the checksum no longer holds. */
    buf[18 + 40 + 8 + 15] ^= 1;
    assert_int_equal(garp_dissect(buf, len, &seen), 0);
    assert_false(seen.csum_ok);
}

static void
link_local_from_mac(void **state)
{
    const ovs_be32 none[1] = { 0 };
    struct garp_vm vm = {
        .mac = vm_mac, .ipv4 = none, .link_local = true,
    };
    struct in6_addr want = addr("fe80::ff:fe00:1");
    struct garp_frame *frames;
    size_t n;

    (void) state;
    assert_int_equal(garp_vm_frames(&vm, &frames, &n, NULL, 0), 0);
    assert_int_equal(n, 2);                 /* RARP, NA for fe80:: */
    assert_int_equal(frames[0].kind, GARP_KIND_RARP);
    assert_int_equal(frames[1].kind, GARP_KIND_NA);
    assert_memory_equal(&frames[1].addr, &want, sizeof want);
    assert_memory_equal(frames[1].data + 14 + 8, &want, sizeof want);
    free(frames);
}

static void
bad_input(void **state)
{
    struct in6_addr mcast = addr("ff02::1"), zero = addr("::");
    struct in6_addr a = addr("2001:db8:1::1");
    struct garp_vlan vlan = { 4095, 0 };
    uint8_t buf[GARP_FRAME_MAX];
    size_t len;

    (void) state;
    assert_int_equal(garp_build_na(buf, sizeof buf, vm_mac, &mcast, false,
                                   NULL, &len), -EINVAL);
    assert_int_equal(garp_build_na(buf, sizeof buf, vm_mac, &zero, false,
                                   NULL, &len), -EINVAL);
    assert_int_equal(garp_build_na(buf, sizeof buf, eth_addr_broadcast, &a,
                                   false, NULL, &len), -EINVAL);
    assert_int_equal(garp_build_na(buf, sizeof buf, vm_mac, &a, false, &vlan,
                                   &len), -EINVAL);
    assert_int_equal(garp_build_na(buf, 85, vm_mac, &a, false, NULL, &len),
                     -ENOSPC);
    assert_int_equal(garp_icmp6_checksum(buf, 10), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(na_untagged),
        cmocka_unit_test(na_tagged_router),
        cmocka_unit_test(checksum_vectors),
        cmocka_unit_test(dissect_reads_back),
        cmocka_unit_test(link_local_from_mac),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
