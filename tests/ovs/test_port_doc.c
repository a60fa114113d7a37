/* Tests ovs/port_doc.c: build, format, parse, compare; and that every
 * parse error names the field. */
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

#include "openvswitch/json.h"
#include "smap.h"
#include "util.h"

#include "ovs/port-doc-private.h"

/* A document with every column set, as the exporter would build it. */
static struct nmovs_doc *
full_doc(void)
{
    struct nmovs_doc *doc = nmovs_doc_create("vm7");
    struct nmovs_port *p = nmovs_doc_add_port(doc, "br-int", "tap-vm7");

    p->tag = 100;
    p->trunks = xcalloc(2, sizeof *p->trunks);
    p->trunks[0] = 100;
    p->trunks[1] = 300;
    p->n_trunks = 2;
    p->vlan_mode = xstrdup("native-untagged");
    smap_add(&p->external_ids, "owner", "libvirt");
    smap_add(&p->other_config, "priority-tags", "true");

    p->qos = xzalloc(sizeof *p->qos);
    p->qos->type = xstrdup("linux-htb");
    smap_init(&p->qos->other_config);
    smap_init(&p->qos->external_ids);
    smap_add(&p->qos->other_config, "max-rate", "1000000");
    p->qos->queues = xcalloc(1, sizeof *p->qos->queues);
    p->qos->n_queues = 1;
    p->qos->queues[0].id = 7;
    p->qos->queues[0].dscp = 10;
    smap_init(&p->qos->queues[0].other_config);
    smap_init(&p->qos->queues[0].external_ids);
    smap_add(&p->qos->queues[0].other_config, "min-rate", "1000");

    struct nmovs_iface *f = nmovs_port_add_iface(p, "tap-vm7");
    free(f->type);
    f->type = xstrdup("internal");
    smap_add(&f->external_ids, "vm-id", "vm7");
    smap_add(&f->external_ids, "attached-mac", "02:00:00:00:00:07");
    smap_add(&f->external_ids, "iface-id", "5c1d2f9e-0000-4000-8000-000000000007");
    smap_add(&f->options, "key", "flow");
    smap_add(&f->other_config, "tx-steering", "hash");
    f->mtu_request = 1450;
    f->ingress_policing_rate = 10000;
    f->ingress_policing_burst = 1000;
    f->ofport_request = 42;
    return doc;
}

static void
test_build_parse_compare(void **state)
{
    struct nmovs_doc *doc = full_doc();
    struct nmovs_doc **docs;
    char err[256] = "";
    size_t n;
    (void) state;

    char *text = nmovs_docs_format(&doc, 1);
    assert_int_equal(nmovs_docs_parse(text, &docs, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);

    /* Parsed back, every field is there. */
    const struct nmovs_port *p = &docs[0]->ports[0];
    assert_string_equal(docs[0]->vm, "vm7");
    assert_string_equal(p->bridge, "br-int");
    assert_int_equal(p->tag, 100);
    assert_int_equal(p->n_trunks, 2);
    assert_int_equal(p->trunks[1], 300);
    assert_string_equal(p->vlan_mode, "native-untagged");
    assert_string_equal(smap_get(&p->other_config, "priority-tags"), "true");
    assert_string_equal(p->qos->type, "linux-htb");
    assert_int_equal(p->qos->queues[0].id, 7);
    assert_int_equal(p->qos->queues[0].dscp, 10);
    assert_string_equal(smap_get(&p->qos->queues[0].other_config,
                                 "min-rate"), "1000");
    const struct nmovs_iface *f = &p->ifaces[0];
    assert_string_equal(f->type, "internal");
    assert_int_equal(f->mtu_request, 1450);
    assert_int_equal(f->ingress_policing_rate, 10000);
    assert_int_equal(f->ingress_policing_burst, 1000);
    assert_int_equal(f->ofport_request, 42);
    assert_string_equal(smap_get(&f->options, "key"), "flow");

    /* And formats to the same text. */
    char *again = nmovs_docs_format(docs, 1);
    assert_string_equal(text, again);

    free(text);
    free(again);
    nmovs_docs_destroy(docs, n);
    nmovs_doc_destroy(doc);
}

static void
test_unset_columns_stay_unset(void **state)
{
    struct nmovs_doc *doc = nmovs_doc_create("vm1");
    struct nmovs_port *p = nmovs_doc_add_port(doc, "br-int", "tap-vm1");
    struct nmovs_doc **docs;
    char err[256];
    size_t n;
    (void) state;

    nmovs_port_add_iface(p, "tap-vm1");
    char *text = nmovs_docs_format(&doc, 1);
    /* Unset optional columns are absent, not zero. */
    assert_null(strstr(text, "\"tag\""));
    assert_null(strstr(text, "\"qos\""));
    assert_null(strstr(text, "mtu_request"));
    assert_null(strstr(text, "ofport_request"));
    assert_non_null(strstr(text, "\"version\": 1"));
    assert_int_equal(nmovs_docs_parse(text, &docs, &n, err, sizeof err), 0);
    assert_int_equal(docs[0]->ports[0].tag, -1);
    assert_null(docs[0]->ports[0].qos);
    assert_null(docs[0]->ports[0].vlan_mode);
    assert_int_equal(docs[0]->ports[0].ifaces[0].mtu_request, 0);
    free(text);
    nmovs_docs_destroy(docs, n);
    nmovs_doc_destroy(doc);
}

static void
test_array_of_documents(void **state)
{
    struct nmovs_doc *two[2] = { full_doc(), nmovs_doc_create("vm8") };
    struct nmovs_doc **docs;
    char err[256];
    size_t n;
    (void) state;

    nmovs_port_add_iface(nmovs_doc_add_port(two[1], "br-int", "tap-vm8"),
                         "tap-vm8");
    char *text = nmovs_docs_format(two, 2);
    assert_int_equal(text[0], '[');
    assert_int_equal(nmovs_docs_parse(text, &docs, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(nmovs_doc_vm(docs[1]), "vm8");
    assert_int_equal(nmovs_doc_n_ports(docs[0]), 1);
    free(text);
    nmovs_docs_destroy(docs, n);
    nmovs_doc_destroy(two[0]);
    nmovs_doc_destroy(two[1]);
}

/* Replaces the first 'from' in the full document's text by 'to', parses
 * it, and checks that it fails with a message containing 'want'. */
static void
expect_error(const char *from, const char *to, const char *want)
{
    struct nmovs_doc *doc = full_doc();
    char *text = nmovs_docs_format(&doc, 1);
    char *at = strstr(text, from);
    struct nmovs_doc **docs = (struct nmovs_doc **) 1;
    char err[512] = "";
    size_t n = 99;

    if (!at) {
        fail_msg("'%s' not in:\n%s", from, text);
    }
    char *bad = xasprintf("%.*s%s%s", (int) (at - text), text, to,
                          at + strlen(from));
    assert_int_equal(nmovs_docs_parse(bad, &docs, &n, err, sizeof err),
                     -EINVAL);
    assert_null(docs);
    assert_int_equal(n, 0);
    if (!strstr(err, want)) {
        fail_msg("error '%s' lacks '%s'", err, want);
    }
    free(bad);
    free(text);
    nmovs_doc_destroy(doc);
}

static void
test_errors_name_the_field(void **state)
{
    (void) state;

    expect_error("\"version\": 1", "\"version\": 2",
                 "version: unsupported document version 2");
    expect_error("\"version\": 1,", "", "document: version: missing");
    expect_error("\"vm\": \"vm7\"", "\"vm\": 7", "vm: must be a JSON string");
    expect_error("\"tag\": 100", "\"tag\": 4096",
                 "ports[0].tag: 4096 is not a VLAN id (0-4095)");
    expect_error("\"tag\": 100", "\"tag\": -1", "ports[0].tag: -1 is not");
    expect_error("300", "5000", "ports[0].trunks[1]: 5000 is not a VLAN id");
    expect_error("native-untagged", "sideways", "ports[0].vlan_mode: "
                 "'sideways' is not one of");
    expect_error("\"bridge\": \"br-int\",", "", "ports[0].bridge: missing");
    expect_error("\"name\": \"tap-vm7\",\n      \"other",
                 "\"name\": \"tap vm7\",\n      \"other",
                 "ports[0].name: 'tap vm7' is not a valid name");
    expect_error("\"mtu_request\": 1450", "\"mtu_request\": 0",
                 "ports[0].interfaces[0].mtu_request: 0 is out of range");
    expect_error("\"ofport_request\": 42", "\"ofport_request\": \"42\"",
                 "interfaces[0].ofport_request: must be a JSON number, not string");
    expect_error("02:00:00:00:00:07", "02:00:00:00:00",
                 "interfaces[0].external_ids.attached-mac: '02:00:00:00:00'"
                 " is not a MAC address");
    expect_error("\"vm-id\": \"vm7\"", "\"vm-id\": 7",
                 "interfaces[0].external_ids.vm-id: must be a JSON string");
    expect_error("\"dscp\": 10", "\"dscp\": 64",
                 "ports[0].qos.queues.7.dscp: 64 is out of range");
    expect_error("\"7\": {", "\"seven\": {",
                 "ports[0].qos.queues.seven: is not a queue number");
    expect_error("\"type\": \"linux-htb\"", "\"typo\": \"linux-htb\"",
                 "ports[0].qos.typo: unknown field");
    expect_error("\"ingress_policing_rate\"", "\"ingress_policing_rte\"",
                 "ports[0].interfaces[0].ingress_policing_rte: unknown field");
}

static void
test_malformed_and_empty(void **state)
{
    struct nmovs_doc **docs;
    char err[256];
    size_t n;
    (void) state;

    assert_int_equal(nmovs_docs_parse("{\"version\": 1,", &docs, &n, err,
                                      sizeof err), -EINVAL);
    assert_non_null(strstr(err, "malformed JSON"));
    assert_int_equal(nmovs_docs_parse("[]", &docs, &n, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "no document"));
    assert_int_equal(nmovs_docs_parse("42", &docs, &n, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "malformed JSON"));
    assert_int_equal(nmovs_docs_parse("[42]", &docs, &n, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "document: [0]: a document must be a JSON "
                        "object");
    assert_int_equal(nmovs_docs_parse("{\"version\": 1, \"vm\": \"a\", "
                                      "\"ports\": [{\"bridge\": \"b\", "
                                      "\"name\": \"p\", \"interfaces\": "
                                      "[]}]}", &docs, &n, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "document: ports[0].interfaces: a port needs "
                        "at least one interface");
    assert_int_equal(nmovs_docs_parse("{\"version\": 1, \"vm\": \"a\", "
                                      "\"ports\": []}", &docs, &n, err,
                                      sizeof err), -EINVAL);
    assert_non_null(strstr(err, "document: ports: a document needs"));
    /* The second document of an array is named by its index. */
    assert_int_equal(nmovs_docs_parse("[{\"version\": 1, \"vm\": \"a\", "
                                      "\"ports\": [{\"bridge\": \"b\", "
                                      "\"name\": \"p\", \"interfaces\": "
                                      "[{\"name\": \"p\"}]}]}, {}]",
                                      &docs, &n, err, sizeof err), -EINVAL);
    assert_string_equal(err, "document: [1].version: missing");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_parse_compare),
        cmocka_unit_test(test_unset_columns_stay_unset),
        cmocka_unit_test(test_array_of_documents),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_malformed_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
