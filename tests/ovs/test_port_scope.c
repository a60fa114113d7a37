/* Tests ovs/port_scope.c: what a peer's port document may make on this
 * host.  Each refusal names the field; a VM's ordinary port passes. */
#include "ovs/ovs.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static const int site_vlans[] = { 100, 300 };
static const struct nmovs_scope scope = {
    .bridge = "br-int", .vlans = site_vlans, .n_vlans = 2,
};

/* A document of VM vm1 whose port has the members 'port' (JSON text,
 * "" or ending in ",") and whose interface has the members 'iface'. */
static int
check(const char *port, const char *iface, char *err, size_t errlen)
{
    char *members = strstr(port, "\"bridge\"") ? xstrdup(port)
                    : xasprintf("\"bridge\": \"br-int\", %s", port);
    char *text = xasprintf(
        "{\"version\": 1, \"vm\": \"vm1\", \"ports\": [{%s"
        " \"name\": \"vnet0\", \"interfaces\": [{%s \"name\": \"vnet0\"%s}]}]}",
        members, iface, strstr(iface, "external_ids") ? ""
        : ", \"external_ids\": {\"vm-id\": \"vm1\","
          " \"attached-mac\": \"02:00:00:00:00:01\"}");
    struct nmovs_doc **docs;
    size_t n;

    if (nmovs_docs_parse(text, &docs, &n, err, errlen)) {
        fail_msg("does not parse: %s: %s", err, text);
    }
    int error = nmovs_doc_check_scope(docs[0], &scope, err, errlen);
    nmovs_docs_destroy(docs, n);
    free(members);
    free(text);
    return error;
}

static void
test_vm_ports_pass(void **state OVS_UNUSED)
{
    static const struct { const char *port, *iface; } cases[] = {
        { "", "" },
        { "\"tag\": 100,", "" },
        { "\"tag\": 300, \"vlan_mode\": \"access\",", "\"type\": \"tap\"," },
        { "", "\"type\": \"system\", \"mtu_request\": 1450,"
              " \"ingress_policing_rate\": 1000, \"ofport_request\": 9,"
              " \"other_config\": {\"note\": \"x\"}," },
        /* Neutron's labels: OVS reads none of them. */
        { "\"other_config\": {\"net_uuid\": \"u\", \"segmentation_id\":"
          " \"100\", \"tag\": \"1\"},", "" },
        { "\"qos\": {\"type\": \"linux-htb\", \"other_config\":"
          " {\"max-rate\": \"1000000\"}, \"queues\": {\"1\":"
          " {\"other_config\": {\"min-rate\": \"1000\"}}}},", "" },
    };
    char err[256];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        if (check(cases[i].port, cases[i].iface, err, sizeof err)) {
            fail_msg("case %zu refused: %s", i, err);
        }
    }
}

static char *
queues(size_t n)
{
    char *s = xstrdup("\"qos\": {\"type\": \"linux-htb\", \"queues\": {");
    for (size_t i = 0; i < n; i++) {
        char *t = xasprintf("%s%s\"%zu\": {}", s, i ? ", " : "", i);
        free(s);
        s = t;
    }
    char *t = xasprintf("%s}},", s);
    free(s);
    return t;
}

static void
test_refusals(void **state OVS_UNUSED)
{
    char *many = queues(NMOVS_SCOPE_QUEUES_MAX + 1);
    const struct { const char *port, *iface, *field; } cases[] = {
        { "\"bridge\": \"br-ex\",", "", "ports[0].bridge: 'br-ex'" },
        { "\"tag\": 200,", "", "ports[0].tag: VLAN 200" },
        { "\"tag\": 0,", "", "ports[0].tag" },
        { "\"tag\": 100, \"trunks\": [100],", "", "ports[0].trunks" },
        { "\"trunks\": [100, 300],", "", "ports[0].trunks" },
        { "\"vlan_mode\": \"trunk\",", "", "ports[0].vlan_mode: 'trunk'" },
        { "\"vlan_mode\": \"native-untagged\",", "", "ports[0].vlan_mode" },
        { "\"vlan_mode\": \"dot1q-tunnel\",", "", "ports[0].vlan_mode" },
        { "", "\"type\": \"patch\", \"options\": {\"peer\": \"patch-ex\"},",
          "ports[0].interfaces[0].type: 'patch'" },
        { "", "\"type\": \"vxlan\", \"options\": {\"remote_ip\":"
          " \"198.18.9.9\"},", "ports[0].interfaces[0].type: 'vxlan'" },
        { "", "\"type\": \"geneve\",", "type: 'geneve'" },
        { "", "\"type\": \"gre\",", "type: 'gre'" },
        { "", "\"type\": \"internal\",", "type: 'internal'" },
        { "", "\"type\": \"dpdkvhostuserclient\",", "type" },
        { "", "\"options\": {\"remote_ip\": \"198.18.9.9\"},",
          "ports[0].interfaces[0].options: a VM's interface has none "
          "('remote_ip')" },
        { "", "\"type\": \"tap\", \"options\": {\"peer\": \"x\"},",
          "options" },
        { "", "\"other_config\": {\"pmd-rxq-affinity\": \"0:1\"},",
          "ports[0].interfaces[0].other_config: 'pmd-rxq-affinity'" },
        { "", "\"other_config\": {\"cfm_interval\": \"100\"},",
          "other_config: 'cfm_interval'" },
        { "\"other_config\": {\"bond-primary\": \"x\"},", "",
          "ports[0].other_config: 'bond-primary'" },
        { "\"other_config\": {\"stp-enable\": \"true\"},", "",
          "ports[0].other_config: 'stp-enable'" },
        { "\"other_config\": {\"mcast-snooping-flood\": \"true\"},", "",
          "'mcast-snooping-flood'" },
        { "\"qos\": {\"type\": \"linux-bogus\"},", "",
          "ports[0].qos.type: 'linux-bogus'" },
        { "\"qos\": {\"type\": \"\"},", "", "ports[0].qos.type" },
        { "\"qos\": {\"type\": \"linux-htb\", \"other_config\":"
          " {\"burst-of-doom\": \"1\"}},", "", "qos.other_config: "
          "'burst-of-doom'" },
        { "\"qos\": {\"type\": \"linux-htb\", \"queues\": {\"5\":"
          " {\"other_config\": {\"x\": \"1\"}}}},", "",
          "ports[0].qos.queues.5.other_config: 'x'" },
        { many, "", "ports[0].qos.queues: 65 queues" },
        { "", "\"external_ids\": {\"attached-mac\": \"01:00:5e:00:00:01\"},",
          "ports[0].interfaces[0].external_ids.attached-mac: "
          "'01:00:5e:00:00:01' is not a unicast MAC" },
        /* The label of another VM's port (to adopt it by). */
        { "", "\"external_ids\": {\"vm-id\": \"vm2\", \"iface-id\": \"i2\"},",
          "ports[0].interfaces[0].external_ids.vm-id: 'vm2' is not VM vm1" },
        { "", "\"external_ids\": {\"vm-uuid\": \"u2\"},",
          "external_ids.vm-uuid: 'u2' is not VM vm1" },
    };
    char err[256];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        err[0] = '\0';
        if (check(cases[i].port, cases[i].iface, err, sizeof err) != -EINVAL
            || !strstr(err, cases[i].field)) {
            fail_msg("case %zu: '%s' does not name '%s'", i, err,
                     cases[i].field);
        }
    }
    free(many);
}

/* A bond (two interfaces in a port) is the host's, not a VM's. */
static void
test_bond_refused(void **state OVS_UNUSED)
{
    const char *text =
        "{\"version\": 1, \"vm\": \"vm1\", \"ports\": [{\"bridge\": \"br-int\","
        " \"name\": \"bond0\", \"interfaces\": [{\"name\": \"eth1\"},"
        " {\"name\": \"eth2\"}]}]}";
    struct nmovs_doc **docs;
    char err[256];
    size_t n;

    assert_int_equal(nmovs_docs_parse(text, &docs, &n, err, sizeof err), 0);
    assert_int_equal(nmovs_doc_check_scope(docs[0], &scope, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "ports[0].interfaces: 2 interfaces"));
    assert_int_equal(nmovs_doc_iface_tag(docs[0], "eth2"), -1);
    assert_int_equal(nmovs_doc_iface_tag(docs[0], "eth3"), -ENOENT);
    nmovs_docs_destroy(docs, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vm_ports_pass),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bond_refused),
    };
    set_program_name("test_port_scope");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
