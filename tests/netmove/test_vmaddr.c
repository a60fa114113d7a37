/* netmove/addr/vmaddr.c: a VM's addresses from its port document. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/addr/vmaddr.h"

#define DOC(IDS) \
    "{\"version\": 1, \"vm\": \"vm1\", \"ports\": [{\"name\": \"p1\"," \
    " \"bridge\": \"br-int\", \"interfaces\": [{\"name\": \"tap1\"," \
    " \"external_ids\": " IDS "}]}]}"

static int
from(const char *text, char *const *extra, size_t n_extra,
     struct nm_vm_addrs *a, char *err)
{
    struct json *doc = json_from_string(text);
    int error = nm_vm_addrs_from_doc(doc, extra, n_extra, a, err, 256);

    json_destroy(doc);
    return error;
}

static void
test_addresses(void **state OVS_UNUSED)
{
    struct nm_vm_addrs a;
    struct ct_filter f;
    char err[256] = "";
    char *extra[] = { "198.18.9.9" };

    assert_int_equal(from(DOC("{\"attached-mac\": \"02:00:00:00:00:01\","
                              " \"ip-addresses\": \"198.18.1.1 2001:db8:1::1\"}"),
                          extra, 1, &a, err), 0);
    assert_int_equal(a.n_ifaces, 1);
    assert_string_equal(a.ifaces[0].port, "tap1");
    assert_int_equal(a.ifaces[0].mac.ea[5], 1);
    assert_int_equal(a.ifaces[0].n_ipv4, 2);
    assert_int_equal(a.ifaces[0].ipv4[0], inet_addr("198.18.1.1"));
    assert_int_equal(a.ifaces[0].ipv4[1], inet_addr("198.18.9.9"));
    assert_int_equal(a.ifaces[0].n_ipv6, 1);

    nm_vm_addrs_ct_filter(&a, &f);
    assert_int_equal(f.n_addrs, 3);
    assert_int_equal(f.addrs[0].family, AF_INET);
    assert_int_equal(f.addrs[2].family, AF_INET6);
    free(f.addrs);

    struct json *j = nm_vm_addrs_to_json(&a);
    char *s = json_to_string(j, JSSF_SORT);
    assert_string_equal(s, "[{\"ips\":[\"198.18.1.1\",\"198.18.9.9\","
                        "\"2001:db8:1::1\"],\"mac\":\"02:00:00:00:00:01\","
                        "\"port\":\"tap1\"}]");
    free(s);
    json_destroy(j);
    nm_vm_addrs_destroy(&a);
}

static void
test_refusals(void **state OVS_UNUSED)
{
    struct nm_vm_addrs a;
    char err[256] = "";
    char *bad_extra[] = { "198.18.1.300" };

    /* An interface without a MAC is not announced: no address at all. */
    assert_int_equal(from(DOC("{\"vm-id\": \"vm1\"}"), NULL, 0, &a, err), 0);
    assert_int_equal(a.n_ifaces, 0);
    nm_vm_addrs_destroy(&a);
    /* ... so an --ip has nowhere to go. */
    assert_int_equal(from(DOC("{}"), bad_extra, 1, &a, err), -EINVAL);
    assert_non_null(strstr(err, "--ip"));
    /* Bad IPs name where they came from. */
    assert_int_equal(from(DOC("{\"attached-mac\": \"02:00:00:00:00:01\","
                              " \"ip-addresses\": \"198.18.1.1 nope\"}"),
                          NULL, 0, &a, err), -EINVAL);
    assert_non_null(strstr(err, "ip-addresses"));
    assert_int_equal(from(DOC("{\"attached-mac\": \"02:00:00:00:00:01\"}"),
                          bad_extra, 1, &a, err), -EINVAL);
    assert_non_null(strstr(err, "--ip"));
    /* Not a port document. */
    assert_int_equal(from("{\"version\": 1}", NULL, 0, &a, err), -EINVAL);
    assert_non_null(strstr(err, "ports"));
}

/* What the source learned from the VM's ARP/ND arrives as a peer's
 * document: merged without duplicates, refused whole when anything is off. */
static void
test_learned(void **state OVS_UNUSED)
{
    struct nm_vm_addrs a;
    char err[256] = "";

    assert_int_equal(from(DOC("{\"attached-mac\": \"02:00:00:00:00:01\","
                              " \"ip-addresses\": \"198.18.1.1\"}"),
                          NULL, 0, &a, err), 0);
    struct json *ok = json_from_string(
        "[{\"mac\": \"02:00:00:00:00:01\", \"ips\": [\"198.18.1.1\","
        " \"198.18.1.2\", \"2001:db8:1::7\"]}]");
    assert_int_equal(nm_vm_addrs_add_learned(&a, ok, err, sizeof err), 0);
    assert_int_equal(a.ifaces[0].n_ipv4, 2);    /* .1 not twice. */
    assert_int_equal(a.ifaces[0].ipv4[1], inet_addr("198.18.1.2"));
    assert_int_equal(a.ifaces[0].n_ipv6, 1);
    json_destroy(ok);

    static const struct {
        const char *doc, *field;
    } bad[] = {
        { "{}", "learned" },
        { "[{\"mac\": \"02:00:00:00:00:99\", \"ips\": []}]",
          "learned[0].mac" },
        { "[{\"mac\": 7, \"ips\": []}]", "learned[0].mac" },
        { "[{\"mac\": \"02:00:00:00:00:01\"}]", "learned[0].ips" },
        { "[{\"mac\": \"02:00:00:00:00:01\", \"ips\": [\"198.18.1.3\","
          " \"nope\"]}]", "learned[0].ips[1]" },
        { "[{\"mac\": \"02:00:00:00:00:01\", \"ips\": [1]}]",
          "learned[0].ips[0]" },
        /* The caps hold for the interface, not the entry. */
        { "[{\"mac\": \"02:00:00:00:00:01\", \"ips\": [\"198.18.1.4\"]},"
          " {\"mac\": \"02:00:00:00:00:01\", \"ips\": [\"198.18.1.5\"]}]",
          "learned[1].mac: the same interface as learned[0]" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct json *j = json_from_string(bad[i].doc);
        assert_int_equal(nm_vm_addrs_add_learned(&a, j, err, sizeof err),
                         -EINVAL);
        assert_non_null(strstr(err, bad[i].field));
        json_destroy(j);
    }
    /* Nothing of the refused documents got in (198.18.1.3 was valid). */
    assert_int_equal(a.ifaces[0].n_ipv4, 2);
    /* More than NM_LEARNED_MAX of one family (the other may fill too). */
    struct ds v4 = DS_EMPTY_INITIALIZER;
    ds_put_cstr(&v4, "[{\"mac\": \"02:00:00:00:00:01\", \"ips\": [");
    for (int i = 0; i <= NM_LEARNED_MAX; i++) {
        ds_put_format(&v4, "%s\"198.18.3.%d\"", i ? "," : "", i + 1);
    }
    ds_put_cstr(&v4, "]}]");
    struct json *j4 = json_from_string(ds_cstr(&v4));
    assert_int_equal(nm_vm_addrs_add_learned(&a, j4, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "more than 16 IPv4"));
    json_destroy(j4);
    ds_destroy(&v4);
    /* Too many. */
    struct ds many = DS_EMPTY_INITIALIZER;
    ds_put_cstr(&many, "[{\"mac\": \"02:00:00:00:00:01\", \"ips\": [");
    for (int i = 0; i <= 2 * NM_LEARNED_MAX; i++) {
        ds_put_format(&many, "%s\"198.18.2.%d\"", i ? "," : "", i + 1);
    }
    ds_put_cstr(&many, "]}]");
    struct json *j = json_from_string(ds_cstr(&many));
    assert_int_equal(nm_vm_addrs_add_learned(&a, j, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "too many"));
    json_destroy(j);
    ds_destroy(&many);
    nm_vm_addrs_destroy(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_learned),
    };
    set_program_name("test_vmaddr");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
