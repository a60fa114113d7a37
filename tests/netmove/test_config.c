/* netmove/common/config.c: the configuration file, good and bad. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvswitch/json.h"
#include "packets.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/config-private.h"

#define GOOD \
    "{\"version\": 1, \"host\": \"host1\", \"site\": \"a\"," \
    " \"listen\": \"pssl:7300:198.19.0.1\"," \
    " \"tls\": {\"private_key\": \"k\", \"certificate\": \"c\", \"ca_certificate\": \"ca\"}," \
    " \"peers\": [{\"name\": \"host2\", \"remote\": \"ssl:198.19.0.2:7300\"}]," \
    " \"networks\": [{\"name\": \"blue\", \"vlans\": {\"a\": 100, \"b\": 200}}]," \
    " \"announce\": {\"rounds\": 3, \"initial_ms\": 10}," \
    " \"drain\": {\"max_ms\": 500}}"

static int
parse(const char *text, struct nm_config **cfg, char *err, size_t len)
{
    struct json *j = json_from_string(text);
    int error = nm_config_from_json(j, cfg, err, len);

    json_destroy(j);
    return error;
}

static void
test_good(void **state OVS_UNUSED)
{
    struct nm_config *cfg;
    char err[256] = "";

    assert_int_equal(parse(GOOD, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg->host, "host1");
    assert_string_equal(cfg->bridge, "br-int");          /* Default. */
    assert_string_equal(cfg->state_dir, "/var/lib/netmove");
    assert_int_equal(cfg->n_peers, 1);
    assert_string_equal(cfg->peers[0].remote, "ssl:198.19.0.2:7300");
    assert_non_null(nm_config_find_peer(cfg, "host2"));
    assert_null(nm_config_find_peer(cfg, "host3"));
    assert_int_equal(cfg->announce.rounds, 3);
    assert_int_equal(cfg->announce.initial_ms, 10);
    assert_int_equal(cfg->announce.step_ms, 100);        /* QEMU's default. */
    assert_int_equal(cfg->drain.max_ms, 500);
    assert_int_equal(cfg->drain.quiet_ms, 2);
    assert_int_equal(cfg->drain.deadline_ms, 200);
    assert_int_equal(cfg->drain.max_packets, 4096);
    assert_int_equal(cfg->export_batch_ms, NM_EXPORT_BATCH_MS_DEFAULT);
    /* blue: 100 at a is 200 at b; an unmapped VLAN is kept. */
    assert_int_equal(nm_config_translate_vlan(cfg, 100, "a", "b"), 200);
    assert_int_equal(nm_config_translate_vlan(cfg, 200, "b", "a"), 100);
    assert_int_equal(nm_config_translate_vlan(cfg, 300, "a", "b"), 300);
    assert_int_equal(nm_config_translate_vlan(cfg, 100, "a", "c"), 100);
    nm_config_destroy(cfg);
}

/* Each bad document is refused with -EINVAL and a message naming 'field'. */
static void
test_bad(void **state OVS_UNUSED)
{
    static const struct { const char *doc, *field; } cases[] = {
        { "[]", "configuration" },
        { "{\"version\": 3, \"host\": \"h\"}", "version" },
        { "{\"version\": 0, \"host\": \"h\"}", "version" },
        /* Version 1 has no prefixes: an unknown member there. */
        { "{\"version\": 1, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": [\"198.18.0.0/24\"]}]}",
          "prefixes" },
        /* Version 2 requires them. */
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}}]}", "networks[0].prefixes" },
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": []}]}", "networks[0].prefixes" },
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": [\"198.18.0.1/24\"]}]}",
          "networks[0].prefixes[0]: '198.18.0.1/24' has host bits set" },
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": [\"198.18.0.0/24\","
          " \"2001:db8:1::/200\"]}]}", "networks[0].prefixes[1]" },
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": [7]}]}", "networks[0].prefixes[0]" },
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": [\"198.18.0.0/24\"],"
          " \"never-announce\": [\"198.18.0.300\"]}]}",
          "networks[0].never-announce[0]" },
        { "{\"version\": 2, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {}, \"prefixes\": [\"198.18.0.0/24\"],"
          " \"never-announce\": \"198.18.0.1\"}]}", "never-announce" },
        { "{\"version\": 1}", "host" },
        { "{\"version\": 1, \"host\": \"\"}", "host" },
        { "{\"version\": 1, \"host\": \"h\", \"colour\": 1}", "colour" },
        { "{\"version\": 1, \"host\": 7}", "host" },
        { "{\"version\": 1, \"host\": \"h\", \"peers\": "
          "[{\"name\": \"p\", \"remote\": \"ssl:x:1\"}]}", "tls" },
        { "{\"version\": 1, \"host\": \"h\", \"tls\": {\"private_key\": \"k\","
          " \"certificate\": \"c\"}}", "ca_certificate" },
        { "{\"version\": 1, \"host\": \"h\", \"tls\": {\"private_key\": \"k\","
          " \"certificate\": \"c\", \"ca_certificate\": \"a\"}, \"peers\":"
          " [{\"name\": \"h\", \"remote\": \"ssl:x:1\"}]}", "peers[0].name" },
        { "{\"version\": 1, \"host\": \"h\", \"tls\": {\"private_key\": \"k\","
          " \"certificate\": \"c\", \"ca_certificate\": \"a\"}, \"peers\":"
          " [{\"name\": \"p\", \"remote\": \"ssl:x:1\"},"
          " {\"name\": \"p\", \"remote\": \"ssl:y:1\"}]}", "peers[1].name" },
        { "{\"version\": 1, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {\"a\": 4095}}]}", "networks[0].vlans.a" },
        { "{\"version\": 1, \"host\": \"h\", \"networks\": [{\"name\": \"n\","
          " \"vlans\": {\"a\": \"100\"}}]}", "networks[0].vlans.a" },
        { "{\"version\": 1, \"host\": \"h\", \"announce\": {\"rounds\": 0}}",
          "rounds" },
        { "{\"version\": 1, \"host\": \"h\", \"announce\": {\"max_ms\": -1}}",
          "max_ms" },
        { "{\"version\": 1, \"host\": \"h\", \"drain\": {\"quiet_ms\": 0}}",
          "quiet_ms" },
        { "{\"version\": 1, \"host\": \"h\", \"drain\": {\"max_ms\": 30000}}",
          "max_ms" },
        { "{\"version\": 1, \"host\": \"h\", \"drain\": {\"deadline_ms\": -1}}",
          "deadline_ms" },
        { "{\"version\": 1, \"host\": \"h\", \"export_batch_ms\": 1001}",
          "export_batch_ms" },
        { "{\"version\": 1, \"host\": \"h\", \"export_batch_ms\": \"5\"}",
          "export_batch_ms" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct nm_config *cfg = (void *) 1;
        char err[256] = "";

        if (parse(cases[i].doc, &cfg, err, sizeof err) != -EINVAL) {
            fail_msg("case %zu: accepted", i);
        }
        assert_null(cfg);
        if (!strstr(err, cases[i].field)) {
            fail_msg("case %zu: '%s' does not name '%s'", i, err,
                     cases[i].field);
        }
    }
}

#define GOOD_V2 \
    "{\"version\": 2, \"host\": \"host1\", \"site\": \"a\"," \
    " \"networks\": [{\"name\": \"blue\", \"vlans\": {\"a\": 100, \"b\": 200}," \
    "   \"prefixes\": [\"198.18.0.0/24\", \"2001:db8:1::/64\"]," \
    "   \"never-announce\": [\"198.18.0.1\", \"198.18.0.248/29\"," \
    "                        \"2001:db8:1::1\", \"02:00:00:00:ff:01\"]}," \
    "  {\"name\": \"red\", \"vlans\": {\"a\": 300}," \
    "   \"prefixes\": [\"198.18.1.0/24\"]}]}"

static bool
ip_ok(const struct nm_config *cfg, const struct nm_network *net,
      const char *s, const char *why)
{
    struct in6_addr ip;
    char err[256] = "";
    ovs_be32 ip4;

    if (ip_parse(s, &ip4)) {
        ip = in6_addr_mapped_ipv4(ip4);
    } else {
        assert_true(ipv6_parse(s, &ip));
    }
    int error = nm_config_check_ip(cfg, net, &ip, err, sizeof err);
    if (error) {
        assert_int_equal(error, -EINVAL);
        if (!strstr(err, s) || (why && !strstr(err, why))) {
            fail_msg("'%s' does not name %s and '%s'", err, s, why);
        }
    }
    return !error;
}

/* Version 2: each network's prefixes and never-announce bound what a VM
 * on it may announce. */
static void
test_v2_bounds(void **state OVS_UNUSED)
{
    struct nm_config *cfg;
    char err[256] = "";

    assert_int_equal(parse(GOOD_V2, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg->version, 2);
    assert_true(nm_config_bounds_addresses(cfg));
    const struct nm_network *blue = nm_config_find_network(cfg, 100, "a");
    const struct nm_network *red = nm_config_find_network(cfg, 300, "a");
    assert_non_null(blue);
    assert_string_equal(blue->name, "blue");
    assert_ptr_equal(nm_config_find_network(cfg, 200, "b"), blue);
    assert_null(nm_config_find_network(cfg, 100, "b"));
    assert_non_null(red);

    assert_true(ip_ok(cfg, blue, "198.18.0.10", NULL));
    assert_true(ip_ok(cfg, blue, "2001:db8:1::10", NULL));
    assert_false(ip_ok(cfg, blue, "198.18.0.1", "never-announce"));
    assert_false(ip_ok(cfg, blue, "198.18.0.250", "never-announce"));
    assert_false(ip_ok(cfg, blue, "2001:db8:1::1", "never-announce"));
    assert_false(ip_ok(cfg, blue, "198.18.1.10", "outside the prefixes of "
                       "network blue"));
    assert_false(ip_ok(cfg, blue, "2001:db8:2::10", "network blue"));
    assert_false(ip_ok(cfg, blue, "203.0.113.1", "network blue"));
    assert_true(ip_ok(cfg, red, "198.18.1.10", NULL));
    assert_false(ip_ok(cfg, red, "198.18.0.10", "network red"));
    /* Never-announce holds whatever the VM's network. */
    assert_false(ip_ok(cfg, red, "198.18.0.1", "never-announce"));
    /* Untagged: any network's prefixes. */
    assert_true(ip_ok(cfg, NULL, "198.18.1.10", NULL));
    assert_true(ip_ok(cfg, NULL, "198.18.0.10", NULL));
    assert_false(ip_ok(cfg, NULL, "198.18.2.10", "every configured network"));

    struct eth_addr mac;
    assert_true(eth_addr_from_string("02:00:00:00:00:0a", &mac));
    assert_int_equal(nm_config_check_mac(cfg, mac, err, sizeof err), 0);
    assert_true(eth_addr_from_string("02:00:00:00:ff:01", &mac));
    assert_int_equal(nm_config_check_mac(cfg, mac, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "never-announce"));
    assert_true(eth_addr_from_string("01:00:5e:00:00:01", &mac));
    assert_int_equal(nm_config_check_mac(cfg, mac, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not a unicast MAC"));
    assert_int_equal(nm_config_check_mac(cfg, eth_addr_zero, err, sizeof err),
                     -EINVAL);
    assert_int_equal(nm_config_check_mac(cfg, eth_addr_broadcast, err,
                                         sizeof err), -EINVAL);
    nm_config_destroy(cfg);
}

/* Version 1 is still read, and bounds no IP address (only MACs). */
static void
test_v1_unbounded(void **state OVS_UNUSED)
{
    struct nm_config *cfg;
    char err[256] = "";

    assert_int_equal(parse(GOOD, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg->version, 1);
    assert_false(nm_config_bounds_addresses(cfg));
    assert_true(ip_ok(cfg, NULL, "203.0.113.1", NULL));
    assert_true(ip_ok(cfg, nm_config_find_network(cfg, 100, "a"),
                      "198.18.0.1", NULL));
    assert_int_equal(nm_config_check_mac(cfg, eth_addr_broadcast, err,
                                         sizeof err), -EINVAL);
    nm_config_destroy(cfg);
}

static void
test_load_errors(void **state OVS_UNUSED)
{
    char path[] = "/tmp/nm-test-config-XXXXXX";
    struct nm_config *cfg;
    char err[256] = "";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"version\": 1, ", 15), 15);
    close(fd);
    assert_int_equal(nm_config_load(path, &cfg, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, path));         /* Names the file. */
    unlink(path);
    assert_int_equal(nm_config_load("/nonexistent/netmoved.json", &cfg,
                                    err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "/nonexistent/netmoved.json"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_v2_bounds),
        cmocka_unit_test(test_v1_unbounded),
        cmocka_unit_test(test_load_errors),
    };
    set_program_name("test_config");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
