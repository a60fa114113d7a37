/* Tests netmove/verify/verify.c: each judgement of 'netmove verify' passes on what
 * a good move leaves and fails, naming the culprit, on each way a move goes
 * wrong; the ARP probe and NS it asks with (dissected by garp/) and the
 * echo replies it counts; the source's fdb answer (ovs/query.c's parse of
 * fdb/show as OVS 3.1 prints it); the report as text and JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp-packet.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"

#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/common/json.h"
#include "netmove/verify/verify.h"
#include "ovs/ovs.h"
#include "ovs/query-private.h"
#include "netmove/verify/verify-private.h"
#include "netmove/common/config-private.h"

static char why[512];

static struct json *
J(const char *s)
{
    struct json *j = json_from_string(s);
    assert_int_not_equal(j->type, JSON_STRING);
    return j;
}

static void
assert_why(const char *needle)
{
    if (!strstr(why, needle)) {
        fail_msg("reason '%s' does not contain '%s'", why, needle);
    }
}

/* ---- port ---- */

#define IFACE(NAME, ID, MAC, VM) \
    "{\"name\": \"" NAME "\", \"external_ids\": {\"iface-id\": \"" ID "\", " \
    "\"attached-mac\": \"" MAC "\", \"vm-id\": \"" VM "\", " \
    "\"iface-status\": \"active\"}}"
#define PORT_DOC(TAG, IFACE_) \
    "{\"version\": 1, \"vm\": \"vm1\", \"ports\": [{\"bridge\": \"br-int\", " \
    "\"name\": \"qvo-vm1\", " TAG "\"interfaces\": [" IFACE_ "]}]}"
#define GOOD_IFACE IFACE("qvo-vm1", "5e1f", "02:00:00:00:00:01", "vm1")

static void
port_doc(void **state OVS_UNUSED)
{
    struct json *x = J(PORT_DOC("\"tag\": 100, ", GOOD_IFACE));
    struct json *good = J(PORT_DOC("\"tag\": 200, ", GOOD_IFACE));
    struct json *wrong_tag = J(PORT_DOC("\"tag\": 300, ", GOOD_IFACE));
    struct json *untagged = J(PORT_DOC("", GOOD_IFACE));
    struct json *other_id = J(PORT_DOC("\"tag\": 200, ",
        IFACE("qvo-vm1", "0bad", "02:00:00:00:00:01", "vm1")));
    struct json *other_mac = J(PORT_DOC("\"tag\": 200, ",
        IFACE("qvo-vm1", "5e1f", "02:00:00:00:00:02", "vm1")));
    struct json *other_if = J(PORT_DOC("\"tag\": 200, ",
        IFACE("tap-vm1", "5e1f", "02:00:00:00:00:01", "vm1")));

    assert_true(nm_verify_port_doc(x, good, 200, why, sizeof why));
    assert_false(nm_verify_port_doc(x, wrong_tag, 200, why, sizeof why));
    assert_why("port qvo-vm1: VLAN tag 300, expected 200");
    assert_false(nm_verify_port_doc(x, untagged, 200, why, sizeof why));
    assert_why("VLAN tag none, expected 200");
    assert_true(nm_verify_port_doc(untagged, untagged, -1, why, sizeof why));
    assert_false(nm_verify_port_doc(x, good, -1, why, sizeof why));
    assert_why("expected none");
    assert_false(nm_verify_port_doc(x, other_id, 200, why, sizeof why));
    assert_why("external_ids:iface-id is '0bad', expected '5e1f'");
    assert_false(nm_verify_port_doc(x, other_mac, 200, why, sizeof why));
    assert_why("external_ids:attached-mac");
    assert_false(nm_verify_port_doc(x, other_if, 200, why, sizeof why));
    assert_why("interface qvo-vm1: missing here");
    assert_false(nm_verify_port_doc(x, NULL, 200, why, sizeof why));
    assert_why("port qvo-vm1: missing here");

    assert_int_equal(nm_verify_doc_tag(x), 100);
    assert_int_equal(nm_verify_doc_tag(untagged), -1);
    json_destroy(x);
    json_destroy(good);
    json_destroy(wrong_tag);
    json_destroy(untagged);
    json_destroy(other_id);
    json_destroy(other_mac);
    json_destroy(other_if);
}

static void
expected_tag(void **state OVS_UNUSED)
{
    struct json *j = J("{\"version\": 1, \"host\": \"host2\", \"site\": "
                       "\"b\", \"networks\": [{\"name\": \"blue\", \"vlans\":"
                       " {\"a\": 100, \"b\": 200}}]}");
    struct nm_config *cfg;

    assert_int_equal(nm_config_from_json(j, &cfg, why, sizeof why), 0);
    assert_int_equal(nm_verify_expected_tag(cfg, 100, "a"), 200);
    assert_int_equal(nm_verify_expected_tag(cfg, 200, "b"), 200);
    assert_int_equal(nm_verify_expected_tag(cfg, 300, "a"), 300);
    assert_int_equal(nm_verify_expected_tag(cfg, -1, "a"), -1);
    assert_int_equal(nm_verify_expected_tag(cfg, 100, NULL), 100);
    nm_config_destroy(cfg);
    json_destroy(j);
}

/* ---- source ---- */

static void
source_reply(void **state OVS_UNUSED)
{
    struct json *clean = J("{\"ports\": 0, \"fw_objects\": 0, "
                           "\"ct_entries\": 0, \"fdb\": []}");
    struct json *left = J("{\"ports\": 1, \"fw_objects\": 3, "
                          "\"ct_entries\": 2}");
    struct json *partial = J("{\"ports\": 0, \"fw_objects\": 0}");

    assert_true(nm_verify_source_reply(clean, why, sizeof why));
    assert_false(nm_verify_source_reply(left, why, sizeof why));
    assert_why("1 port(s), 3 firewall object(s), 2 conntrack entries");
    assert_false(nm_verify_source_reply(partial, why, sizeof why));
    assert_why("no ct_entries");
    assert_false(nm_verify_source_reply(NULL, why, sizeof why));
    json_destroy(clean);
    json_destroy(left);
    json_destroy(partial);
}

/* ---- conntrack ---- */

#define CT_COLS "\"columns\": [\"family\", \"proto\", \"src\", \"dst\", " \
    "\"sport\", \"dport\", \"zone\", \"icmp_type\", \"icmp_code\", " \
    "\"icmp_id\", \"status\", \"timeout\"]"
#define TCP(SPORT, T) "[\"ipv4\", 6, \"198.18.0.1\", \"198.18.1.1\", " \
    #SPORT ", 5001, 0, null, null, null, 14, " #T "]"
#define ICMP(ID, T) "[\"ipv4\", 1, \"198.18.0.1\", \"198.18.1.1\", null, " \
    "null, 0, 8, 0, " #ID ", 8, " #T "]"
#define CT_DOC(DELTA, ENTRIES, GONE) "{\"format\": \"netmove-conntrack\", " \
    "\"version\": 1, \"delta\": " DELTA ", " CT_COLS ", \"entries\": [" \
    ENTRIES "], \"gone\": [" GONE "]}"

static void
conntrack(void **state OVS_UNUSED)
{
    const uint64_t resume = 1795749047000000ULL;
    struct json *pre = J(CT_DOC("false", TCP(40000, 432000) ","
                                TCP(40001, 432000) "," ICMP(7, 30), ""));
    struct json *delta = J(CT_DOC("true", TCP(40002, 432000),
                                  TCP(40001, 0)));
    /* Here: in another column order, as another version might write. */
    struct json *all = J("{\"columns\": [\"proto\", \"family\", \"dst\", "
                         "\"src\", \"dport\", \"sport\", \"zone\", "
                         "\"icmp_type\", \"icmp_code\", \"icmp_id\"], "
                         "\"entries\": ["
                         "[6, \"ipv4\", \"198.18.1.1\", \"198.18.0.1\", 5001, "
                         "40000, 0], "
                         "[6, \"ipv4\", \"198.18.1.1\", \"198.18.0.1\", 5001, "
                         "40002, 0], "
                         "[1, \"ipv4\", \"198.18.1.1\", \"198.18.0.1\", null, "
                         "null, 0, 8, 0, 7]]}");
    struct json *no_delta_entry = J(CT_DOC("false", TCP(40000, 9) ","
                                           ICMP(7, 9), ""));
    struct json *no_icmp = J(CT_DOC("false", TCP(40000, 9) ","
                                    TCP(40002, 9), ""));
    size_t n;

    /* Pre-copy + delta - gone: 40000, ICMP 7, 40002 (40001 went). */
    assert_true(nm_verify_ct_docs(pre, delta, all, resume, resume + 1000000,
                                  &n, why, sizeof why));
    assert_int_equal(n, 3);
    assert_why("all 3 exported entries present here");

    assert_false(nm_verify_ct_docs(pre, delta, no_delta_entry, resume,
                                   resume + 1000000, &n, why, sizeof why));
    assert_why("1 of 3 exported entries missing here, first: "
               "tcp 198.18.0.1:40002 -> 198.18.1.1:5001");

    /* The ICMP entry had 30 s to live at resume: 40 s later it may be gone,
     * 10 s later it must be there. */
    assert_true(nm_verify_ct_docs(pre, delta, no_icmp, resume,
                                  resume + 40000000, &n, why, sizeof why));
    assert_int_equal(n, 2);
    assert_why("1 expired");
    assert_false(nm_verify_ct_docs(pre, delta, no_icmp, resume,
                                   resume + 10000000, &n, why, sizeof why));
    assert_why("first: icmp 198.18.0.1 -> 198.18.1.1");

    /* Nothing exported (JSON null pre-copy, no delta): nothing expected. */
    struct json *null = json_null_create();
    assert_true(nm_verify_ct_docs(null, NULL, NULL, resume, resume, &n,
                                  why, sizeof why));
    assert_int_equal(n, 0);
    /* Entries expected, none here. */
    assert_false(nm_verify_ct_docs(pre, NULL, NULL, resume, resume, &n,
                                   why, sizeof why));
    assert_why("3 of 3 exported entries missing here");

    json_destroy(null);
    json_destroy(pre);
    json_destroy(delta);
    json_destroy(all);
    json_destroy(no_delta_entry);
    json_destroy(no_icmp);
}

/* ---- announcements ---- */

#define MIG(IPS, SEEN) "{\"vm\": \"vm1\", \"state\": \"done\", \"addresses\":" \
    " [{\"mac\": \"02:00:00:00:00:01\", \"port\": \"qvo-vm1\", \"ips\": [" \
    IPS "]}]" SEEN "}"
#define SEEN_ALL(VLAN) ", \"announcements_seen\": {\"rarp\": 5, " \
    "\"garp-request\": 5, \"na-unsolicited\": 5}, \"first_seen_vlan\": " VLAN

static void
announcements(void **state OVS_UNUSED)
{
    struct json *good = J(MIG("\"198.18.1.1\", \"2001:db8:1::1\"",
                              SEEN_ALL("200")));
    struct json *untagged = J(MIG("\"198.18.1.1\", \"2001:db8:1::1\"",
                                  SEEN_ALL("null")));
    struct json *no_na = J(MIG("\"198.18.1.1\", \"2001:db8:1::1\"",
                               ", \"announcements_seen\": {\"rarp\": 5, "
                               "\"garp-request\": 5}, \"first_seen_vlan\": "
                               "200"));
    struct json *v4_only = J(MIG("\"198.18.1.1\"",
                                 ", \"announcements_seen\": {\"rarp\": 1, "
                                 "\"garp-request\": 1}, \"first_seen_vlan\": "
                                 "200"));
    struct json *unseen = J(MIG("\"198.18.1.1\"", ""));

    assert_true(nm_verify_announcements(good, 200, why, sizeof why));
    assert_why("rarp 5, garp-request 5, na-unsolicited 5 (VLAN 200)");
    assert_false(nm_verify_announcements(good, 100, why, sizeof why));
    assert_why("seen on VLAN 200, expected 100");
    assert_true(nm_verify_announcements(untagged, -1, why, sizeof why));
    assert_false(nm_verify_announcements(untagged, 200, why, sizeof why));
    assert_false(nm_verify_announcements(no_na, 200, why, sizeof why));
    assert_why("no na-unsolicited");
    assert_true(nm_verify_announcements(v4_only, 200, why, sizeof why));
    assert_false(nm_verify_announcements(unseen, 200, why, sizeof why));
    assert_why("no announcement of the VM was seen");
    json_destroy(good);
    json_destroy(untagged);
    json_destroy(no_na);
    json_destroy(v4_only);
    json_destroy(unseen);
}

/* ---- owners ---- */

static void
owners(void **state OVS_UNUSED)
{
    struct eth_addr vm = ETH_ADDR_C(02, 00, 00, 00, 00, 01);
    struct eth_addr imp = ETH_ADDR_C(02, 00, 00, 00, 0b, ad);
    struct in6_addr addrs[2];
    struct eth_addr a[2][4] = { { vm }, { vm } };
    const struct eth_addr *p[2] = { a[0], a[1] };
    size_t n[2] = { 1, 1 };
    bool v6;
    ovs_be32 ip4;

    assert_int_equal(garp_parse_ip("ip", "198.18.1.1", &ip4, &addrs[0], &v6,
                                   why, sizeof why), 0);
    garp_addr_from_ipv4(ip4, &addrs[0]);
    assert_int_equal(garp_parse_ip("ip", "2001:db8:1::1", &ip4, &addrs[1],
                                   &v6, why, sizeof why), 0);

    assert_true(nm_verify_owners(vm, addrs, 2, p, n, why, sizeof why));
    assert_why("2 address(es), each answered by 02:00:00:00:00:01 alone");

    a[1][1] = imp;
    n[1] = 2;
    assert_false(nm_verify_owners(vm, addrs, 2, p, n, why, sizeof why));
    assert_why("split brain: 2001:db8:1::1 answered by 02:00:00:00:00:01 and "
               "02:00:00:00:0b:ad");

    n[1] = 1;
    a[1][0] = imp;
    assert_false(nm_verify_owners(vm, addrs, 2, p, n, why, sizeof why));
    assert_why("2001:db8:1::1 answered by 02:00:00:00:0b:ad, not the VM's");

    n[0] = 0;
    assert_false(nm_verify_owners(vm, addrs, 2, p, n, why, sizeof why));
    assert_why("nobody answered for 198.18.1.1");
    assert_false(nm_verify_owners(vm, addrs, 0, p, n, why, sizeof why));
}

/* ---- stale learning, and the source's side of it ---- */

/* ovs-appctl fdb/show br-int, OVS 3.1, as on a lab host. */
static const char fdb_show[] =
    " port  VLAN  MAC                Age\n"
    "    1   100  02:6e:6d:76:68:2a   13\n"
    "    1     0  4e:c9:f5:99:5e:80   11\n"
    "    3   100  02:00:00:00:00:01  static\n"
    "LOCAL     0  aa:bb:cc:dd:ee:ff    1\n";

static void
fdb_parse_and_json(void **state OVS_UNUSED)
{
    struct nmovs_fdb_entry *e;
    size_t n = nmovs_fdb_parse(fdb_show, &e);

    assert_int_equal(n, 4);
    assert_int_equal(e[0].ofport, 1);
    assert_int_equal(e[0].vlan, 100);
    assert_int_equal(e[0].age, 13);
    assert_false(e[0].is_static);
    assert_int_equal(e[2].ofport, 3);
    assert_true(e[2].is_static);
    assert_int_equal(e[2].age, -1);
    assert_true(eth_addr_equals(e[2].mac,
                                (struct eth_addr) ETH_ADDR_C(02, 00, 00, 00,
                                                             00, 01)));
    assert_int_equal(e[3].ofport, 0);
    assert_string_equal(e[3].port, "LOCAL");

    /* As the source names its ports: 1 is the uplink. */
    strcpy(e[0].port, "up0");
    strcpy(e[1].port, "up0");
    strcpy(e[2].port, "stale0");
    struct json *j = nm_verify_fdb_to_json(e, n, "up0");
    char *s = json_to_string(j, JSSF_SORT);
    assert_non_null(strstr(s, "{\"age\":13,\"mac\":\"02:6e:6d:76:68:2a\","
                              "\"port\":\"up0\",\"static\":false,"
                              "\"uplink\":true,\"vlan\":100}"));
    assert_non_null(strstr(s, "{\"age\":null,\"mac\":\"02:00:00:00:00:01\","
                              "\"port\":\"stale0\",\"static\":true,"
                              "\"uplink\":false,\"vlan\":100}"));

    struct eth_addr vm = ETH_ADDR_C(02, 00, 00, 00, 00, 01);
    struct eth_addr other = ETH_ADDR_C(4e, c9, f5, 99, 5e, 80);
    assert_false(nm_verify_fdb(j, NULL, &vm, 1, why, sizeof why));
    assert_why("forwards 02:00:00:00:00:01 to its local port stale0 "
               "(VLAN 100)");
    /* Another VM's MAC on a local port is not ours to judge... */
    struct eth_addr asker = ETH_ADDR_C(02, 6e, 6d, 76, 68, 2a);
    assert_true(nm_verify_fdb(j, NULL, &asker, 1, why, sizeof why));
    assert_why("(1 entry towards its uplink)");
    /* ...and a MAC learned only towards the uplink is where it should be. */
    assert_true(nm_verify_fdb(j, NULL, &other, 1, why, sizeof why));
    free(s);
    json_destroy(j);
    free(e);

    /* Empty table, no answer, an error. */
    struct json *empty = json_array_create_empty();
    assert_true(nm_verify_fdb(empty, NULL, &vm, 1, why, sizeof why));
    assert_false(nm_verify_fdb(NULL, "ovs-vswitchd: fdb/show br-x: no such "
                               "bridge", &vm, 1, why, sizeof why));
    assert_why("did not report its MAC table: ovs-vswitchd");
    json_destroy(empty);
    assert_int_equal(nmovs_fdb_parse("", &e), 0);
    free(e);
}

static void
params_macs(void **state OVS_UNUSED)
{
    struct json *p = J("{\"vm\": \"vm1\", \"ips\": [\"198.18.1.1\", "
                       "\"02:00:00:00:00:01\", \"2001:db8:1::1\"], "
                       "\"macs\": [\"02:00:00:00:00:02\", \"nonsense\"]}");
    struct json *none = J("{\"vm\": \"vm1\", \"ips\": [\"198.18.1.1\"]}");
    struct eth_addr *macs;

    assert_int_equal(nm_verify_params_macs(p, &macs), 2);
    assert_int_equal(macs[0].ea[5], 2);  /* "macs" first, then "ips". */
    assert_int_equal(macs[1].ea[5], 1);
    free(macs);
    assert_int_equal(nm_verify_params_macs(none, &macs), 0);
    free(macs);
    assert_int_equal(nm_verify_params_macs(NULL, &macs), 0);
    free(macs);
    json_destroy(p);
    json_destroy(none);
}

/* ---- the report ---- */

static void
report(void **state OVS_UNUSED)
{
    struct nm_verify v;
    char buf[1024];

    nm_verify_init(&v, "vm1");
    assert_false(nm_verify_passed(&v));       /* Nothing checked. */
    nm_verify_set_na(&v, NM_CHECK_FIREWALL, "no objects");
    assert_false(nm_verify_passed(&v));       /* Only N/A: no proof. */
    nm_verify_destroy(&v);
    nm_verify_init(&v, "vm1");
    nm_verify_set(&v, NM_CHECK_PORT, true, "ok %d", 1);
    nm_verify_set(&v, NM_CHECK_OWNER, true, "alone");
    assert_true(nm_verify_passed(&v));
    nm_verify_set_na(&v, NM_CHECK_CONNTRACK, "nothing %s", "exported");
    assert_true(nm_verify_passed(&v));        /* N/A is not a failure. */
    nm_verify_set(&v, NM_CHECK_STALE, false, "stale0");
    assert_false(nm_verify_passed(&v));

    FILE *f = fmemopen(buf, sizeof buf, "w");
    nm_verify_print(&v, f);
    fclose(f);
    assert_string_equal(buf, "PASS  port            ok 1\n"
                             "N/A   conntrack       nothing exported\n"
                             "PASS  owner           alone\n"
                             "FAIL  stale-learning  stale0\n");

    struct json *j = nm_verify_to_json(&v);
    char *s = json_to_string(j, JSSF_SORT);
    assert_string_equal(s, "{\"checks\":[{\"check\":\"port\",\"pass\":true,"
                        "\"why\":\"ok 1\"},{\"check\":\"conntrack\","
                        "\"pass\":null,\"why\":\"nothing exported\"},"
                        "{\"check\":\"owner\",\"pass\":true,"
                        "\"why\":\"alone\"},{\"check\":\"stale-learning\","
                        "\"pass\":false,\"why\":\"stale0\"}],\"pass\":false,"
                        "\"vm\":\"vm1\"}");
    free(s);
    json_destroy(j);
    assert_string_equal(nm_check_name(NM_CHECK_CONNTRACK), "conntrack");
    nm_verify_destroy(&v);
}

/* The drain's counters are reported, never judged: a report that passed
 * still passes with drops in them. */
static void
drain_report(void **state OVS_UNUSED)
{
    struct nm_verify v;
    char buf[512];
    struct json *mig = json_from_string(
        "{\"drain\": {\"phase\": \"ended\", \"relayed_received\": 3, "
        "\"delivered_frames\": 4, \"late\": 1, \"dropped_deadline\": 2}}");

    nm_verify_init(&v, "vm1");
    nm_verify_set(&v, NM_CHECK_PORT, true, "ok");
    nm_verify_set_drain(&v, mig);
    assert_true(nm_verify_passed(&v));
    FILE *f = fmemopen(buf, sizeof buf, "w");
    nm_verify_print(&v, f);
    fclose(f);
    assert_string_equal(buf, "PASS  port            ok\n"
                        "INFO  drain           ended relayed_received=3 "
                        "delivered_frames=4 late=1 dropped_deadline=2\n");
    struct json *j = nm_verify_to_json(&v);
    assert_non_null(strstr(nm_json_member_string(j, "drain"),
                           "dropped_deadline=2"));
    json_destroy(j);

    /* No drain: nothing reported. */
    json_destroy(mig);
    mig = json_from_string("{\"state\": \"done\"}");
    nm_verify_set_drain(&v, mig);
    assert_null(v.drain);
    json_destroy(mig);
    nm_verify_destroy(&v);
}

/* ---- the questions ---- */

static void
questions(void **state OVS_UNUSED)
{
    struct eth_addr asker = ETH_ADDR_C(02, 6e, 6d, 76, 12, 34);
    struct dp_packet *b = dp_packet_new(128);
    struct garp_seen seen;
    struct in6_addr addr;
    ovs_be32 ip4;
    bool v6;

    /* who-has 198.18.1.1 tell 0.0.0.0, VLAN 200, as garp/ dissects it. */
    assert_int_equal(garp_parse_ip("ip", "198.18.1.1", &ip4, &addr, &v6,
                                   why, sizeof why), 0);
    garp_addr_from_ipv4(ip4, &addr);
    nm_verify_build_question(b, asker, &addr, 200);
    assert_int_equal(garp_dissect(dp_packet_data(b), dp_packet_size(b),
                                  &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_ARP_REQUEST);
    assert_false(garp_seen_is_claim(&seen));
    assert_int_equal(seen.vlan, 200);
    assert_true(eth_addr_equals(seen.eth_src, asker));
    assert_true(eth_addr_equals(seen.eth_dst, eth_addr_broadcast));
    assert_true(ipv6_addr_equals(&seen.addr, &addr));
    /* Sender IP 0.0.0.0 (bytes 32-35 with the tag): nobody caches us. */
    const uint8_t *d = dp_packet_data(b);
    static const uint8_t zero[4];
    assert_int_equal(dp_packet_size(b), 46);
    assert_memory_equal(d + 14 + 4 + 14, zero, 4);

    /* NS for 2001:db8:1::1, untagged, from fe80::6e:6dff:fe76:1234. */
    assert_int_equal(garp_parse_ip("ip", "2001:db8:1::1", &ip4, &addr, &v6,
                                   why, sizeof why), 0);
    nm_verify_build_question(b, asker, &addr, 0);
    assert_int_equal(garp_dissect(dp_packet_data(b), dp_packet_size(b),
                                  &seen), 0);
    assert_int_equal(seen.type, GARP_SEEN_NS);
    assert_false(garp_seen_is_claim(&seen));
    assert_int_equal(seen.vlan, -1);
    assert_true(seen.csum_ok);
    assert_int_equal(seen.hop_limit, 255);
    assert_true(ipv6_addr_equals(&seen.addr, &addr));
    struct eth_addr sn = ETH_ADDR_C(33, 33, ff, 00, 00, 01);
    assert_true(eth_addr_equals(seen.eth_dst, sn));
    d = dp_packet_data(b);
    assert_int_equal(d[14 + 8], 0xfe);       /* IPv6 source fe80::... */
    assert_int_equal(d[14 + 9], 0x80);
    dp_packet_delete(b);
}

static void
echo_replies(void **state OVS_UNUSED)
{
    /* IPv4 header (20 bytes) + echo reply type 0, id 0x1234. */
    uint8_t v4[28] = { 0x45 };
    v4[20] = 0;
    v4[24] = 0x12;
    v4[25] = 0x34;
    assert_true(nm_verify_is_echo_reply(v4, sizeof v4, false, 0x1234));
    assert_false(nm_verify_is_echo_reply(v4, sizeof v4, false, 0x1235));
    assert_false(nm_verify_is_echo_reply(v4, 24, false, 0x1234));
    v4[20] = 8;                                 /* Our own request. */
    assert_false(nm_verify_is_echo_reply(v4, sizeof v4, false, 0x1234));

    uint8_t v6[8] = { 129, 0, 0, 0, 0x12, 0x34 };   /* No IPv6 header. */
    assert_true(nm_verify_is_echo_reply(v6, sizeof v6, true, 0x1234));
    v6[0] = 128;
    assert_false(nm_verify_is_echo_reply(v6, sizeof v6, true, 0x1234));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_doc),
        cmocka_unit_test(expected_tag),
        cmocka_unit_test(source_reply),
        cmocka_unit_test(conntrack),
        cmocka_unit_test(announcements),
        cmocka_unit_test(owners),
        cmocka_unit_test(fdb_parse_and_json),
        cmocka_unit_test(params_macs),
        cmocka_unit_test(report),
        cmocka_unit_test(drain_report),
        cmocka_unit_test(questions),
        cmocka_unit_test(echo_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
