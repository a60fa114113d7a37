/* Tests garp/dissect.c: every frame kind the builders make reads back as
 * what it is, and hand-written ARP answers, questions and junk are told
 * apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "garp/garp.h"

static const struct eth_addr vm_mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01);
#define MAC_A 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a
#define MAC_B 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b
#define ARP_FIXED 0x00, 0x01, 0x08, 0x00, 0x06, 0x04

static void
built_frames(void **state)
{
    struct garp_vlan vlan = { 300, 1 };
    uint8_t buf[GARP_FRAME_MAX];
    struct garp_seen seen;
    size_t len;

    (void) state;
    assert_int_equal(garp_build_arp(buf, sizeof buf, vm_mac, htonl(0xc6120101),
                                    false, &vlan, &len), 0);
    assert_int_equal(garp_dissect(buf, len, &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_GARP_REQUEST);
    assert_int_equal(seen.vlan, 300);
    assert_int_equal(seen.pcp, 1);
    assert_true(garp_addr_is_ipv4(&seen.addr));
    assert_int_equal(seen.addr.s6_addr[15], 1);
    assert_true(eth_addr_equals(seen.mac, vm_mac));
    assert_true(garp_seen_is_claim(&seen));

    assert_int_equal(garp_build_arp(buf, sizeof buf, vm_mac, htonl(0xc6120101),
                                    true, NULL, &len), 0);
    assert_int_equal(garp_dissect(buf, len, &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_GARP_REPLY);
    assert_int_equal(seen.vlan, -1);

    assert_int_equal(garp_build_rarp(buf, sizeof buf, vm_mac, NULL, &len), 0);
    assert_int_equal(garp_dissect(buf, len, &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_RARP);
    assert_true(eth_addr_equals(seen.mac, vm_mac));
    assert_string_equal(garp_seen_type_name(seen.type), "rarp");
}

static void
arp_question_and_answer(void **state)
{
    /* 198.18.0.1 (A) asks who has 198.18.1.1; B answers. */
    static const uint8_t who_has[] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, MAC_A, 0x08, 0x06,
        ARP_FIXED, 0x00, 0x01, MAC_A, 198, 18, 0, 1,
        0, 0, 0, 0, 0, 0, 198, 18, 1, 1,
    };
    static const uint8_t is_at[] = {
        MAC_A, MAC_B, 0x08, 0x06,
        ARP_FIXED, 0x00, 0x02, MAC_B, 198, 18, 1, 1,
        MAC_A, 198, 18, 0, 1,
    };
    struct garp_seen seen;
    char buf[64];

    (void) state;
    assert_int_equal(garp_dissect(who_has, sizeof who_has, &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_ARP_REQUEST);
    assert_false(garp_seen_is_claim(&seen));
    assert_string_equal(garp_addr_format(&seen.addr, buf, sizeof buf),
                        "198.18.1.1");

    assert_int_equal(garp_dissect(is_at, sizeof is_at, &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_ARP_REPLY);
    assert_true(garp_seen_is_claim(&seen));
    assert_string_equal(garp_addr_format(&seen.addr, buf, sizeof buf),
                        "198.18.1.1");
    assert_int_equal(seen.mac.ea[5], 0x0b);
}

static void
junk(void **state)
{
    static const uint8_t ipv4[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, MAC_A, 0x08, 0x00, 0x45,
    };
    static const uint8_t short_arp[20] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, MAC_A, 0x08, 0x06, ARP_FIXED,
    };
    static const uint8_t arp_hlen7[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, MAC_A, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x07, 0x04, 0x00, 0x01,
    };
    static const uint8_t tagged_stub[16] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, MAC_A, 0x81, 0x00, 0x00, 0x64,
    };
    static const uint8_t udp6[74] = {
        0x33, 0x33, 0, 0, 0, 1, MAC_A, 0x86, 0xdd,
        0x60, 0, 0, 0, 0, 20, 17, 64,
    };
    struct garp_seen seen;

    (void) state;
    assert_int_equal(garp_dissect(ipv4, sizeof ipv4, &seen), -ENOMSG);
    assert_int_equal(garp_dissect(ipv4, 10, &seen), -ENOMSG);
    assert_int_equal(garp_dissect(short_arp, sizeof short_arp, &seen),
                     -EBADMSG);
    assert_int_equal(garp_dissect(arp_hlen7, sizeof arp_hlen7, &seen),
                     -EBADMSG);
    assert_int_equal(garp_dissect(tagged_stub, sizeof tagged_stub, &seen),
                     -EBADMSG);
    assert_int_equal(garp_dissect(udp6, sizeof udp6, &seen), -ENOMSG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(built_frames),
        cmocka_unit_test(arp_question_and_answer),
        cmocka_unit_test(junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
