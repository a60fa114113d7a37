/* Tests garp/parse.c and garp/vm.c on bad input: every rejection names the
 * field and the value, and good input parses to the right value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "garp/garp.h"
#include "garp/garp-private.h"

/* 'err' starts with "FIELD:" and mentions 'value'. */
static void
assert_names(const char *err, const char *field, const char *value)
{
    size_t n = strlen(field);

    assert_memory_equal(err, field, n);
    assert_int_equal(err[n], ':');
    if (value) {
        assert_non_null(strstr(err, value));
    }
}

static void
macs(void **state)
{
    static const char *const bad[] = {
        "ff:ff:ff:ff:ff:ff",        /* broadcast */
        "01:00:5e:00:00:01",        /* multicast */
        "33:33:00:00:00:01",        /* multicast */
        "00:00:00:00:00:00",        /* zero */
        "02:00:00:00:00",           /* short */
        "02:00:00:00:00:01:02",     /* long */
        "2:0:0:0:0:1",              /* not 2 digits each */
        "02-00-00-00-00-01",
        "0x:00:00:00:00:01",
        "g2:00:00:00:00:01",
        "",
    };
    struct eth_addr mac;
    char err[256];

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        assert_int_equal(garp_parse_mac("--mac", bad[i], &mac, err,
                                        sizeof err), -EINVAL);
        assert_names(err, "--mac", bad[i]);
    }
    assert_int_equal(garp_parse_mac("--mac", "02:aB:00:00:00:01", &mac, err,
                                    sizeof err), 0);
    assert_true(eth_addr_equals(mac, (struct eth_addr)
                                ETH_ADDR_C(02, ab, 00, 00, 00, 01)));
}

static void
ips(void **state)
{
    static const char *const bad[] = {
        "198.18.1.300", "198.18.1", "0.0.0.0", "255.255.255.255",
        "224.0.0.1", "127.0.0.1", "240.0.0.1", "::", "ff02::1", "::1",
        "::ffff:198.18.1.1", "2001:db8::g", "vm1", "", "198.18.1.1/24",
    };
    struct in6_addr ip6;
    ovs_be32 ip4;
    bool v6;
    char err[256];

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        assert_int_equal(garp_parse_ip("--ip", bad[i], &ip4, &ip6, &v6, err,
                                       sizeof err), -EINVAL);
        assert_names(err, "--ip", bad[i]);
    }
    assert_int_equal(garp_parse_ip("--ip", "198.18.1.7", &ip4, &ip6, &v6,
                                   err, sizeof err), 0);
    assert_false(v6);
    assert_int_equal(ntohl(ip4), 0xc6120107);
    assert_int_equal(garp_parse_ip("--ip", "2001:db8:1::7", &ip4, &ip6, &v6,
                                   err, sizeof err), 0);
    assert_true(v6);
    assert_int_equal(ip6.s6_addr[15], 7);
}

static void
vlans_kinds_numbers(void **state)
{
    static const char *const bad_vlans[] = {
        "0", "4095", "4096", "-1", "abc", "", "100x", "1e2",
    };
    unsigned long long v;
    unsigned int kinds;
    uint16_t vid;
    char err[256];

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_vlans); i++) {
        assert_int_equal(garp_parse_vlan("--vlan", bad_vlans[i], &vid, err,
                                         sizeof err), -EINVAL);
        assert_names(err, "--vlan", bad_vlans[i]);
    }
    assert_int_equal(garp_parse_vlan("--vlan", "4094", &vid, err, sizeof err),
                     0);
    assert_int_equal(vid, 4094);

    assert_int_equal(garp_parse_kinds("--kinds", "rarp,na", &kinds, err,
                                      sizeof err), 0);
    assert_int_equal(kinds, GARP_F_RARP | GARP_F_NA);
    assert_int_equal(garp_parse_kinds("--kinds", "rarp,arp", &kinds, err,
                                      sizeof err), -EINVAL);
    assert_names(err, "--kinds", "arp");
    assert_int_equal(garp_parse_kinds("--kinds", ",", &kinds, err,
                                      sizeof err), -EINVAL);
    assert_names(err, "--kinds", NULL);

    assert_int_equal(garp_parse_uint("--rounds", "-1", 1, 10, &v, err,
                                     sizeof err), -EINVAL);
    assert_names(err, "--rounds", "-1");
    assert_int_equal(garp_parse_uint("--rounds", "0", 1, 10, &v, err,
                                     sizeof err), -EINVAL);
    assert_names(err, "--rounds", "0");
    assert_int_equal(garp_parse_uint("--max", "99999999999999999999999", 1,
                                     10, &v, err, sizeof err), -EINVAL);
    assert_names(err, "--max", NULL);
    assert_int_equal(garp_parse_uint("--rounds", "10", 1, 10, &v, err,
                                     sizeof err), 0);
    assert_int_equal(v, 10);
}

static void
vm_checks(void **state)
{
    const ovs_be32 bcast[1] = { htonl(0xffffffff) };
    struct garp_vm vm = { .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01) };
    struct garp_frame *frames = (void *) 1;
    size_t n = 99;
    char err[256];

    (void) state;
    assert_int_equal(garp_vm_validate(&vm, err, sizeof err), 0);
    vm.vlan.vid = 4095;
    assert_int_equal(garp_vm_frames(&vm, &frames, &n, err, sizeof err),
                     -EINVAL);
    assert_names(err, "vlan", "4095");
    assert_null(frames);
    assert_int_equal(n, 0);
    vm.vlan.vid = 0;
    vm.vlan.pcp = 3;
    assert_int_equal(garp_vm_validate(&vm, err, sizeof err), -EINVAL);
    assert_names(err, "pcp", "3");
    vm.vlan.pcp = 0;
    vm.ipv4 = bcast;
    vm.n_ipv4 = 1;
    assert_int_equal(garp_vm_validate(&vm, err, sizeof err), -EINVAL);
    assert_names(err, "ip", "255.255.255.255");
    vm.n_ipv4 = 0;
    vm.kinds = GARP_F_GARP;         /* GARP, but no IPv4 address. */
    assert_int_equal(garp_vm_frames(&vm, &frames, &n, err, sizeof err),
                     -EINVAL);
    assert_names(err, "kinds", NULL);
    vm.kinds = 0;
    vm.mac = eth_addr_broadcast;
    assert_int_equal(garp_vm_validate(&vm, err, sizeof err), -EINVAL);
    assert_names(err, "mac", "ff:ff:ff:ff:ff:ff");
}

static void
default_kinds(void **state)
{
    const ovs_be32 v4[2] = { htonl(0xc6120101), htonl(0xc6120102) };
    struct in6_addr v6[1] = { { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } } };
    struct garp_vm vm = { .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01) };
    struct garp_frame *frames;
    size_t n;

    (void) state;
    assert_int_equal(garp_vm_kinds(&vm), GARP_F_RARP);
    vm.ipv4 = v4;
    vm.n_ipv4 = 2;
    vm.ipv6 = v6;
    vm.n_ipv6 = 1;
    assert_int_equal(garp_vm_kinds(&vm), GARP_F_ALL);
    assert_int_equal(garp_vm_frames(&vm, &frames, &n, NULL, 0), 0);
    assert_int_equal(n, 4);
    assert_int_equal(frames[0].kind, GARP_KIND_RARP);
    assert_int_equal(frames[1].kind, GARP_KIND_GARP);
    assert_int_equal(frames[2].kind, GARP_KIND_GARP);
    assert_int_equal(frames[3].kind, GARP_KIND_NA);
    assert_int_equal(frames[2].data[31], 2);    /* spa 198.18.1.2 */
    free(frames);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(macs),
        cmocka_unit_test(ips),
        cmocka_unit_test(vlans_kinds_numbers),
        cmocka_unit_test(vm_checks),
        cmocka_unit_test(default_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
