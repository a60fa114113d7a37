/* Tests ovs/xlate.c: --vlan-map and --rename parsing, and their effect on
 * a document's tags, trunks and names. */
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

#include "ovs/port-doc-private.h"
#include "ovs/xlate-private.h"

static void
expect_vlan_error(const char *spec, const char *want)
{
    struct nmovs_xlate *x = nmovs_xlate_create();
    char err[256] = "";

    assert_int_equal(nmovs_xlate_add_vlan(x, spec, err, sizeof err), -EINVAL);
    if (!strstr(err, want)) {
        fail_msg("'%s': error '%s' lacks '%s'", spec, err, want);
    }
    /* A rejected spec maps nothing. */
    for (int v = 0; v < 4096; v++) {
        assert_int_equal(nmovs_xlate_vlan(x, v), v);
    }
    nmovs_xlate_destroy(x);
}

static void
test_vlan_map_parse(void **state)
{
    struct nmovs_xlate *x = nmovs_xlate_create();
    char err[256];
    (void) state;

    assert_int_equal(nmovs_xlate_add_vlan(x, "100=200", err, sizeof err), 0);
    assert_int_equal(nmovs_xlate_add_vlan(x, "0=4095", err, sizeof err), 0);
    assert_int_equal(nmovs_xlate_vlan(x, 100), 200);
    assert_int_equal(nmovs_xlate_vlan(x, 0), 4095);
    assert_int_equal(nmovs_xlate_vlan(x, 200), 200);    /* Not chained. */
    assert_int_equal(nmovs_xlate_vlan(x, 101), 101);
    assert_int_equal(nmovs_xlate_add_vlan(x, "100=300", err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "--vlan-map: VLAN 100 is mapped twice");
    nmovs_xlate_destroy(x);

    expect_vlan_error("100", "'100' is not A=B");
    expect_vlan_error("=200", "is not A=B");
    expect_vlan_error("100=", "is not A=B");
    expect_vlan_error("1=2=3", "is not A=B");
    expect_vlan_error("100=4096", "'4096' is not a VLAN id (0-4095)");
    expect_vlan_error("-1=5", "'-1' is not a VLAN id");
    expect_vlan_error("+1=5", "'+1' is not a VLAN id");
    expect_vlan_error("0x10=5", "'0x10' is not a VLAN id");
    expect_vlan_error("10=5 ", "'5 ' is not a VLAN id");
    expect_vlan_error("99999999999999999999=1", "is not a VLAN id");
}

static void
test_rename_parse(void **state)
{
    struct nmovs_xlate *x = nmovs_xlate_create();
    char err[256];
    (void) state;

    assert_int_equal(nmovs_xlate_add_rename(x, "tap-a=tap-b", err,
                                            sizeof err), 0);
    assert_string_equal(nmovs_xlate_name(x, "tap-a"), "tap-b");
    assert_string_equal(nmovs_xlate_name(x, "tap-c"), "tap-c");
    assert_int_equal(nmovs_xlate_add_rename(x, "tap-a=tap-c", err,
                                            sizeof err), -EINVAL);
    assert_string_equal(err, "--rename: 'tap-a' is renamed twice");
    assert_int_equal(nmovs_xlate_add_rename(x, "tap-a", err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "--rename: 'tap-a' is not OLD=NEW");
    assert_int_equal(nmovs_xlate_add_rename(x, "x=a b", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "not a valid port or interface name"));
    assert_int_equal(nmovs_xlate_add_rename(x, "x=../y", err, sizeof err),
                     -EINVAL);
    nmovs_xlate_destroy(x);
}

static void
test_apply(void **state)
{
    struct nmovs_doc *doc = nmovs_doc_create("vm1");
    struct nmovs_xlate *x = nmovs_xlate_create();
    char err[256];
    (void) state;

    nmovs_doc_add_port(doc, "br-int", "tap-vm1");
    nmovs_doc_add_port(doc, "br-int", "tap-vm1b");
    struct nmovs_port *p = &doc->ports[0], *q = &doc->ports[1];

    nmovs_port_add_iface(p, "tap-vm1");
    nmovs_port_add_iface(q, "tap-vm1b");
    p->tag = 100;
    q->trunks = xcalloc(3, sizeof *q->trunks);
    q->trunks[0] = 300;
    q->trunks[1] = 100;
    q->trunks[2] = 200;
    q->n_trunks = 3;

    assert_int_equal(nmovs_xlate_add_vlan(x, "100=200", err, sizeof err), 0);
    assert_int_equal(nmovs_xlate_add_vlan(x, "300=301", err, sizeof err), 0);
    assert_int_equal(nmovs_xlate_add_rename(x, "tap-vm1=qvo-vm1", err,
                                            sizeof err), 0);
    nmovs_xlate_apply(x, doc);

    assert_string_equal(p->name, "qvo-vm1");
    assert_string_equal(p->ifaces[0].name, "qvo-vm1");
    assert_string_equal(q->name, "tap-vm1b");
    assert_int_equal(p->tag, 200);
    assert_int_equal(q->tag, -1);           /* Unset stays unset. */
    /* 100 became 200, which was there already: a set, sorted. */
    assert_int_equal(q->n_trunks, 2);
    assert_int_equal(q->trunks[0], 200);
    assert_int_equal(q->trunks[1], 301);

    nmovs_xlate_destroy(x);
    nmovs_doc_destroy(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vlan_map_parse),
        cmocka_unit_test(test_rename_parse),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
