/* Tests netmove/addr/addrtab.c, the learned-address table, on a fake clock:
 * what a claim counts for, the per-family cap, ageing, conflicts across
 * interfaces (and not across networks), forget, the known interfaces, and
 * merging into a VM's addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/addrlearn.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/addr/addrtab-private.h"

#define S 1000000ULL            /* One second in microseconds. */
#define T0 (1700000000ULL * S)  /* Some wall-clock time. */

static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, 00, 0a);
static const struct eth_addr mac_b = ETH_ADDR_C(02, 00, 00, 00, 00, 0b);

/* 'mac' claims 'ip' (untagged). */
static struct garp_claim
claim(struct eth_addr mac, const char *ip)
{
    struct garp_claim c = { .mac = mac };
    ovs_be32 ip4;

    if (inet_pton(AF_INET, ip, &ip4) == 1) {
        garp_addr_from_ipv4(ip4, &c.addr);
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &c.addr), 1);
    }
    c.link_local = garp_addr_is_link_local(&c.addr);
    return c;
}

static enum nm_addrtab_verdict
feed(struct nm_addrtab *tab, const char *iface, struct eth_addr mac,
     const char *ip, uint64_t now)
{
    struct garp_claim c = claim(mac, ip);

    return nm_addrtab_claim(tab, iface, &c, now);
}

/* The addresses of 'iface' at 'now' with 'flags', as "a b c". */
static char *
addrs(const struct nm_addrtab *tab, const char *iface, uint64_t now,
      unsigned int flags)
{
    struct nm_addrtab_entry e[64];
    size_t n = nm_addrtab_addrs(tab, iface, now, flags, e, ARRAY_SIZE(e));
    static char buf[2048];
    char a[INET6_ADDRSTRLEN];

    assert_true(n <= ARRAY_SIZE(e));
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i) {
            strcat(buf, " ");
        }
        strcat(buf, garp_addr_format(&e[i].addr, a, sizeof a));
    }
    return buf;
}

/* A table knowing vm1 on qvo-vm1 (mac_a) and vm2 on qvo-vm2 (mac_b), both
 * of the default network. */
static struct nm_addrtab *
two_vms(const struct nm_addrtab_params *p)
{
    const struct nm_addrtab_port ports[] = {
        { "qvo-vm1", mac_a, "vm1", NULL },
        { "qvo-vm2", mac_b, "vm2", NULL },
    };
    struct nm_addrtab *tab;
    char err[256];

    assert_int_equal(nm_addrtab_create(p, &tab, err, sizeof err), 0);
    assert_int_equal(nm_addrtab_set_ports(tab, ports, ARRAY_SIZE(ports), err,
                                          sizeof err), 0);
    return tab;
}

static void
what_counts(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = two_vms(NULL);
    struct nm_addrtab_entry e[4];
    struct garp_claim c;

    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0),
                     NM_ADDRTAB_LEARNED);
    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "2001:db8:1::1", T0 + S),
                     NM_ADDRTAB_LEARNED);
    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0 + 5 * S),
                     NM_ADDRTAB_REFRESHED);
    /* vm2's MAC on vm1's interface, vm1's MAC on an interface nobody
     * told us of: neither counts. */
    assert_int_equal(feed(tab, "qvo-vm1", mac_b, "198.18.1.9", T0),
                     NM_ADDRTAB_OTHER_MAC);
    assert_int_equal(feed(tab, "tap-vm1", mac_a, "198.18.1.8", T0),
                     NM_ADDRTAB_UNKNOWN_IFACE);
    assert_int_equal(feed(tab, NULL, mac_a, "198.18.1.8", T0),
                     NM_ADDRTAB_UNKNOWN_IFACE);
    /* A claim the parser would never make is refused here too. */
    c = claim(mac_a, "198.18.1.1");
    c.addr.s6_addr[12] = 127;
    assert_int_equal(nm_addrtab_claim(tab, "qvo-vm1", &c, T0),
                     NM_ADDRTAB_BAD_ADDR);
    assert_string_equal(nm_addrtab_verdict_name(NM_ADDRTAB_OTHER_MAC),
                        "other-mac");

    /* IPv4 first, with their times and the tag of the last claim. */
    c = claim(mac_a, "198.18.1.1");
    c.vlan = 100;
    assert_int_equal(nm_addrtab_claim(tab, "qvo-vm1", &c, T0 + 6 * S),
                     NM_ADDRTAB_REFRESHED);
    assert_int_equal(nm_addrtab_addrs(tab, "qvo-vm1", T0 + 7 * S, 0, e,
                                      ARRAY_SIZE(e)), 2);
    assert_int_equal(e[0].first_seen_us, T0);
    assert_int_equal(e[0].last_seen_us, T0 + 6 * S);
    assert_int_equal(e[0].vlan, 100);
    assert_false(e[0].conflicted);
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 7 * S, 0),
                        "198.18.1.1 2001:db8:1::1");
    assert_string_equal(addrs(tab, "qvo-vm2", T0 + 7 * S, 0), "");
    /* Too little room: the count still says how many. */
    assert_int_equal(nm_addrtab_addrs(tab, "qvo-vm1", T0, 0, e, 1), 2);
    /* By VM. */
    assert_int_equal(nm_addrtab_vm_addrs(tab, "vm1", T0, 0, e,
                                         ARRAY_SIZE(e)), 2);
    assert_int_equal(nm_addrtab_vm_addrs(tab, "vm2", T0, 0, e,
                                         ARRAY_SIZE(e)), 0);
    nm_addrtab_destroy(tab);
}

static void
nothing_before_ports(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab;
    char err[256];

    assert_int_equal(nm_addrtab_create(NULL, &tab, err, sizeof err), 0);
    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0),
                     NM_ADDRTAB_UNKNOWN_IFACE);
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "");
    nm_addrtab_destroy(tab);

    /* Parameters past their limit name themselves. */
    struct nm_addrtab_params p = { .max_ipv6 = 5000 };
    assert_int_equal(nm_addrtab_create(&p, &tab, err, sizeof err), -EINVAL);
    assert_null(tab);
    assert_memory_equal(err, "max_ipv6:", 9);
    nm_addrtab_destroy(NULL);
}

static void
cap(void **state OVS_UNUSED)
{
    struct nm_addrtab_params p = { .max_ipv4 = 3, .max_ipv6 = 2 };
    struct nm_addrtab *tab = two_vms(&p);

    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0 + 1);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.2", T0 + 2);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.3", T0 + 3);
    feed(tab, "qvo-vm1", mac_a, "2001:db8::1", T0 + 4);
    feed(tab, "qvo-vm1", mac_a, "2001:db8::2", T0 + 5);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0 + 6);     /* refreshed */
    /* A fourth IPv4 address: the least recently seen (.2) goes. */
    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "198.18.1.4", T0 + 7),
                     NM_ADDRTAB_LEARNED);
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 8, 0),
                        "198.18.1.1 198.18.1.3 198.18.1.4 "
                        "2001:db8::1 2001:db8::2");
    /* IPv6 has its own cap. */
    feed(tab, "qvo-vm1", mac_a, "2001:db8::3", T0 + 9);
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 10, 0),
                        "198.18.1.1 198.18.1.3 198.18.1.4 "
                        "2001:db8::2 2001:db8::3");
    /* Another interface's list is its own. */
    feed(tab, "qvo-vm2", mac_b, "198.18.2.1", T0 + 11);
    assert_string_equal(addrs(tab, "qvo-vm2", T0 + 12, 0), "198.18.2.1");
    nm_addrtab_destroy(tab);
}

static void
ageing(void **state OVS_UNUSED)
{
    struct nm_addrtab_params p = { .max_age_us = 100 * S };
    struct nm_addrtab *tab = two_vms(&p);

    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.2", T0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.2", T0 + 60 * S);
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 100 * S, 0),
                        "198.18.1.1 198.18.1.2");
    /* One microsecond past the age: .1 is gone, .2 was seen since. */
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 100 * S + 1, 0),
                        "198.18.1.2");
    assert_int_equal(nm_addrtab_expire(tab, T0 + 100 * S + 1), 1);
    assert_int_equal(nm_addrtab_expire(tab, T0 + 100 * S + 1), 0);
    /* A clock stepped back makes nothing older. */
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "198.18.1.2");
    /* Gone, and learned anew with a new first-seen time. */
    assert_int_equal(nm_addrtab_expire(tab, T0 + 161 * S), 1);
    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0 + 200 * S),
                     NM_ADDRTAB_LEARNED);
    nm_addrtab_destroy(tab);

    /* The default is four hours. */
    tab = two_vms(NULL);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 4 * 3600 * S, 0),
                        "198.18.1.1");
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 4 * 3600 * S + 1, 0), "");
    nm_addrtab_destroy(tab);
}

static void
conflicts(void **state OVS_UNUSED)
{
    struct nm_addrtab_params p = { .max_age_us = 100 * S };
    struct nm_addrtab *tab = two_vms(&p);
    struct nm_addrtab_entry e[4];

    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.5", T0);
    feed(tab, "qvo-vm2", mac_b, "198.18.1.1", T0 + S);
    /* Announced for neither. */
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 2 * S, 0), "198.18.1.5");
    assert_string_equal(addrs(tab, "qvo-vm2", T0 + 2 * S, 0), "");
    /* Shown when asked for, flagged. */
    assert_int_equal(nm_addrtab_addrs(tab, "qvo-vm2", T0 + 2 * S,
                                      NM_ADDRTAB_CONFLICTED, e,
                                      ARRAY_SIZE(e)), 1);
    assert_true(e[0].conflicted);
    /* vm1 goes on claiming it, vm2 stops: once vm2's claim ages out, the
     * address is vm1's again. */
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0 + 90 * S);
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 102 * S, 0), "198.18.1.1");
    assert_string_equal(addrs(tab, "qvo-vm1", T0 + 100 * S, 0), "198.18.1.5");
    nm_addrtab_destroy(tab);

    /* Two networks may use the same address (tenants' overlapping
     * subnets); two interfaces with one MAC in one network conflict. */
    const struct nm_addrtab_port ports[] = {
        { "qvo-vm1", mac_a, "vm1", "vlan:100" },
        { "qvo-vm2", mac_b, "vm2", "vlan:200" },
        { "qvo-vm3", mac_b, "vm3", "vlan:200" },
    };
    char err[256];

    tab = two_vms(NULL);
    assert_int_equal(nm_addrtab_set_ports(tab, ports, ARRAY_SIZE(ports), err,
                                          sizeof err), 0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);
    feed(tab, "qvo-vm2", mac_b, "198.18.1.1", T0);
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "198.18.1.1");
    assert_string_equal(addrs(tab, "qvo-vm2", T0, 0), "198.18.1.1");
    feed(tab, "qvo-vm3", mac_b, "198.18.1.1", T0);
    assert_string_equal(addrs(tab, "qvo-vm2", T0, 0), "");
    assert_string_equal(addrs(tab, "qvo-vm3", T0, 0), "");
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "198.18.1.1");
    nm_addrtab_destroy(tab);
}

static void
forget(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = two_vms(NULL);
    char err[256];

    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.2", T0);
    feed(tab, "qvo-vm1", mac_a, "2001:db8::1", T0);
    feed(tab, "qvo-vm2", mac_b, "198.18.1.2", T0);
    assert_int_equal(nm_addrtab_forget(tab, "qvo-vm1", "198.18.1.1", err,
                                       sizeof err), 0);
    assert_int_equal(nm_addrtab_forget(tab, "qvo-vm1", "198.18.1.1", err,
                                       sizeof err), -ENOENT);
    assert_int_equal(nm_addrtab_forget(tab, "qvo-vm2", "2001:db8::1", err,
                                       sizeof err), -ENOENT);
    assert_int_equal(nm_addrtab_forget(tab, "qvo-vm1", "2001:DB8:0::1", err,
                                       sizeof err), 0);
    /* Dropping vm2's claim ends the conflict. */
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "");
    assert_int_equal(nm_addrtab_forget(tab, "qvo-vm2", "198.18.1.2", err,
                                       sizeof err), 0);
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "198.18.1.2");
    /* From every interface. */
    feed(tab, "qvo-vm2", mac_b, "198.18.1.2", T0);
    assert_int_equal(nm_addrtab_forget(tab, NULL, "198.18.1.2", err,
                                       sizeof err), 0);
    assert_string_equal(addrs(tab, "qvo-vm1", T0, NM_ADDRTAB_CONFLICTED), "");
    assert_string_equal(addrs(tab, "qvo-vm2", T0, NM_ADDRTAB_CONFLICTED), "");
    /* Not an address. */
    static const char *const bad[] = {
        "nope", "", "198.18.1", "::ffff:198.18.1.1", "198.18.1.1/32",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(nm_addrtab_forget(tab, NULL, bad[i], err,
                                           sizeof err), -EINVAL);
        assert_memory_equal(err, "ip: '", 5);
    }
    nm_addrtab_destroy(tab);
}

static void
known_ports(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = two_vms(NULL);
    char err[256];

    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);
    feed(tab, "qvo-vm2", mac_b, "198.18.1.2", T0);

    /* qvo-vm1 stays; qvo-vm2 is now another VM (another MAC). */
    const struct nm_addrtab_port now[] = {
        { "qvo-vm2", mac_a, "vm9", NULL },
        { "qvo-vm1", mac_a, "vm1", NULL },
    };
    assert_int_equal(nm_addrtab_set_ports(tab, now, 2, err, sizeof err), 0);
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "198.18.1.1");
    assert_string_equal(addrs(tab, "qvo-vm2", T0, 0), "");

    /* Refused, and nothing changes. */
    const struct nm_addrtab_port dup[] = {
        { "qvo-x", mac_a, NULL, NULL }, { "qvo-x", mac_b, NULL, NULL },
    };
    const struct nm_addrtab_port bcast[] = {
        { "qvo-x", ETH_ADDR_C(ff, ff, ff, ff, ff, ff), NULL, NULL },
    };
    const struct nm_addrtab_port longname[] = {
        { "qvo-0123456789ab", mac_a, NULL, NULL },
    };
    assert_int_equal(nm_addrtab_set_ports(tab, dup, 2, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "ports[1].iface: 'qvo-x'"));
    assert_int_equal(nm_addrtab_set_ports(tab, bcast, 1, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "ports[0].mac"));
    assert_int_equal(nm_addrtab_set_ports(tab, longname, 1, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "ports[0].iface"));
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "198.18.1.1");

    /* None known: all forgotten. */
    assert_int_equal(nm_addrtab_set_ports(tab, NULL, 0, err, sizeof err), 0);
    assert_int_equal(feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0),
                     NM_ADDRTAB_UNKNOWN_IFACE);
    nm_addrtab_destroy(tab);
}

static void
link_local(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = two_vms(NULL);
    struct nm_addrtab_entry e[4];

    feed(tab, "qvo-vm1", mac_a, "fe80::ff:fe00:a", T0);
    feed(tab, "qvo-vm1", mac_a, "2001:db8::a", T0);
    assert_string_equal(addrs(tab, "qvo-vm1", T0, 0), "2001:db8::a");
    assert_int_equal(nm_addrtab_addrs(tab, "qvo-vm1", T0,
                                      NM_ADDRTAB_LINK_LOCAL, e,
                                      ARRAY_SIZE(e)), 2);
    assert_true(e[0].link_local);
    assert_false(e[1].link_local);
    nm_addrtab_destroy(tab);
}

static void
merge(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = two_vms(NULL);
    struct nm_iface_addrs ia = { .port = xstrdup("qvo-vm1"), .mac = mac_a };
    struct nm_iface_addrs other = { .port = xstrdup("qvo-vm2"),
                                    .mac = mac_a };   /* Not vm2's MAC. */
    struct nm_vm_addrs va = { xcalloc(2, sizeof *va.ifaces), 2 };

    ia.ipv4 = xmalloc(sizeof *ia.ipv4);
    ia.ipv4[0] = inet_addr("198.18.1.1");
    ia.n_ipv4 = 1;
    va.ifaces[0] = ia;
    va.ifaces[1] = other;
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", T0);  /* Already known. */
    feed(tab, "qvo-vm1", mac_a, "198.18.1.2", T0);
    feed(tab, "qvo-vm1", mac_a, "2001:db8::1", T0);
    feed(tab, "qvo-vm1", mac_a, "fe80::1", T0);
    feed(tab, "qvo-vm2", mac_b, "198.18.2.1", T0);

    assert_int_equal(nm_addrtab_merge(tab, T0, 0, &va), 2);
    assert_int_equal(va.ifaces[0].n_ipv4, 2);
    assert_int_equal(va.ifaces[0].ipv4[1], inet_addr("198.18.1.2"));
    assert_int_equal(va.ifaces[0].n_ipv6, 1);
    assert_int_equal(va.ifaces[1].n_ipv4, 0);
    /* Again: nothing new; with link-local: fe80::1. */
    assert_int_equal(nm_addrtab_merge(tab, T0, 0, &va), 0);
    assert_int_equal(nm_addrtab_merge(tab, T0, NM_ADDRTAB_LINK_LOCAL, &va),
                     1);
    assert_int_equal(va.ifaces[0].n_ipv6, 2);
    nm_vm_addrs_destroy(&va);
    nm_addrtab_destroy(tab);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(what_counts),
        cmocka_unit_test(nothing_before_ports),
        cmocka_unit_test(cap),
        cmocka_unit_test(ageing),
        cmocka_unit_test(conflicts),
        cmocka_unit_test(forget),
        cmocka_unit_test(known_ports),
        cmocka_unit_test(link_local),
        cmocka_unit_test(merge),
    };
    set_program_name("test_addrtab");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
