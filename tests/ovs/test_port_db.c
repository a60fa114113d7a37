/* Tests the OVSDB side of ovs/ (db.c, vm_ports.c, port_export.c,
 * port_import.c, port_remove.c, flows.c, activation.c, fdb.c) against a
 * scratch ovsdb-server and ovs-vswitchd, read back with ovs-vsctl and
 * ovs-ofctl; under ASan too.  Skipped without root. */
#include "ovs/ovs.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/ovs/scratch.h"

#define VSCTL "ovs-vsctl --db=unix:%s/db.sock "

static struct nmovs_db *
open_db(void)
{
    struct nmovs_db *db;
    char err[256] = "";
    char *remote = capture("printf unix:%s/db.sock", rundir);

    if (nmovs_db_open(remote, rundir, 5000, &db, err, sizeof err)) {
        fail_msg("nmovs_db_open: %s", err);
    }
    free(remote);
    return db;
}

/* ovs-vsctl get TABLE RECORD COLUMN, without the trailing newline. */
static char *
get(const char *table, const char *record, const char *column)
{
    char *out = capture(VSCTL "get %s %s %s 2>&1", rundir, table, record,
                        column);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static void
assert_get(const char *table, const char *record, const char *column,
           const char *want)
{
    char *got = get(table, record, column);
    if (strcmp(got, want)) {
        fail_msg("%s %s %s is '%s', not '%s'", table, record, column, got,
                 want);
    }
    free(got);
}

static void
test_export_import_remove(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000 };
    struct nmovs_db *db = open_db();
    struct nmovs_doc *doc;
    char err[512] = "";
    size_t n_removed;
    bool changed;
    (void) state;

    free(capture(VSCTL "set Interface p1 external_ids:vm-id=vmA "
                 "external_ids:attached-mac=02:00:00:00:0f:01 mtu_request=1400 "
                 "-- set Port p1 tag=100 other_config:k=v qos=@q "
                 "-- --id=@q create QoS type=linux-htb queues:3=@u "
                 "-- --id=@u create Queue dscp=8", rundir));
    nmovs_db_close(db);
    db = open_db();

    assert_int_equal(nmovs_export(db, "nope", &doc, err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "VM 'nope'"));
    assert_int_equal(nmovs_export(db, "vmA", &doc, err, sizeof err), 0);
    assert_string_equal(nmovs_doc_vm(doc), "vmA");

    /* vmA leaves p1 (it keeps its MAC, which alone names no VM)... */
    free(capture(VSCTL "remove Interface p1 external_ids vm-id", rundir));
    /* ... and comes back as p3 on VLAN 200: a new port, then nothing to
     * do. */
    struct nmovs_xlate *x = nmovs_xlate_create();
    assert_int_equal(nmovs_xlate_add_rename(x, "p1=p3", err, sizeof err), 0);
    assert_int_equal(nmovs_xlate_add_vlan(x, "100=200", err, sizeof err), 0);
    nmovs_xlate_apply(x, doc);
    nmovs_xlate_destroy(x);
    /* An internal interface needs no device: ovs-vswitchd makes one. */
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), 0);
    assert_true(changed);
    assert_get("Port", "p3", "tag", "200");
    assert_get("Port", "p3", "other_config:k", "v");
    assert_get("Interface", "p3", "mtu_request", "1400");
    assert_get("Interface", "p3", "type", "internal");
    char *ofport = get("Interface", "p3", "ofport");
    assert_true(atoi(ofport) > 0);
    char *qos = get("Port", "p3", "qos");
    char *qos1 = get("Port", "p1", "qos");
    assert_string_not_equal(qos, qos1);
    char *uuid = get("Port", "p3", "_uuid");

    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), 0);
    assert_false(changed);
    char *uuid2 = get("Port", "p3", "_uuid");
    assert_string_equal(uuid, uuid2);

    /* Block, read back with ovs-ofctl, activate. */
    assert_int_equal(nmovs_block(db, "vmA", err, sizeof err), 0);
    char *flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    char want[128];
    snprintf(want, sizeof want, "cookie=0x6e6d%012x", atoi(ofport));
    assert_non_null(strstr(flows, want));
    assert_non_null(strstr(flows, "dl_dst=02:00:00:00:0f:01 actions=drop"));
    free(flows);
    assert_int_equal(nmovs_activate(db, "vmA", err, sizeof err), 0);
    flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    assert_null(strstr(flows, "0x6e6d"));
    free(flows);

    /* Remove p3 (vmA's) and its QoS; then again, with nothing there. */
    const char *vms[] = { "vmA" };
    assert_int_equal(nmovs_remove(db, vms, 1, 10000, &n_removed, err,
                                  sizeof err), 0);
    assert_int_equal(n_removed, 1);
    char *ports = capture(VSCTL "list-ports br0", rundir);
    assert_null(strstr(ports, "p3"));
    char *qos_rows = capture(VSCTL "--columns=_uuid list QoS", rundir);
    assert_null(strstr(qos_rows, qos));
    assert_non_null(strstr(qos_rows, qos1));
    assert_int_equal(nmovs_remove(db, vms, 1, 10000, &n_removed, err,
                                  sizeof err), 0);
    assert_int_equal(n_removed, 0);

    free(ports);
    free(qos_rows);
    free(ofport);
    free(qos);
    free(qos1);
    free(uuid);
    free(uuid2);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

static void
test_import_reports_interface_error(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 5000 };
    static const char text[] =
        "{\"version\": 1, \"vm\": \"g\", \"ports\": [{\"bridge\": \"br0\", "
        "\"name\": \"gone0\", \"interfaces\": [{\"name\": \"gone0\"}]}]}";
    struct nmovs_db *db = open_db();
    struct nmovs_doc **docs;
    char err[512] = "";
    bool changed;
    size_t n;
    (void) state;

    assert_int_equal(nmovs_docs_parse(text, &docs, &n, err, sizeof err), 0);
    assert_int_equal(nmovs_import(db, docs, n, &io, &changed, err,
                                  sizeof err), -ENODEV);
    assert_non_null(strstr(err, "interface gone0: could not open network "
                            "device gone0"));
    /* The port it created is gone again. */
    char *ports = capture(VSCTL "list-ports br0", rundir);
    assert_null(strstr(ports, "gone0"));
    free(ports);

    /* A missing bridge is refused before any write. */
    char *bad = strdup(text);
    memcpy(strstr(bad, "br0"), "brX", 3);
    nmovs_docs_destroy(docs, n);
    assert_int_equal(nmovs_docs_parse(bad, &docs, &n, err, sizeof err), 0);
    assert_int_equal(nmovs_import(db, docs, n, &io, &changed, err,
                                  sizeof err), -ENOENT);
    assert_non_null(strstr(err, "bridge 'brX' does not exist"));
    free(bad);
    nmovs_docs_destroy(docs, n);
    nmovs_db_close(db);
}

static void
test_activation_and_fdb(void **state)
{
    struct nmovs_activation *act;
    struct nmovs_db *db = open_db();
    char err[512] = "";
    (void) state;

    char *ofport = get("Interface", "p2", "ofport");
    assert_int_equal(nmovs_activation_create(rundir, "br0", atoi(ofport),
                                             &act), 0);
    char *flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    assert_non_null(strstr(flows, "priority=65001"));
    assert_non_null(strstr(flows, "actions=CONTROLLER"));
    free(flows);
    assert_int_equal(nmovs_activation_run(act), 0);    /* Nothing yet. */
    nmovs_activation_destroy(act);
    nmovs_activation_destroy(NULL);
    assert_int_equal(nmovs_activate(db, "p2", err, sizeof err), 0);
    flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    assert_null(strstr(flows, "0x6e6d"));
    free(flows);

    assert_int_equal(nmovs_fdb_flush(rundir, "br0", err, sizeof err), 0);
    assert_int_equal(nmovs_fdb_flush(rundir, "brX", err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "no such bridge"));
    assert_int_equal(nmovs_forget(db, "nobody", NULL, err, sizeof err),
                     -ENOENT);
    free(ofport);
    nmovs_db_close(db);
}

/* The VM-scoped replica finds the same ports and nothing else. */
static void
test_vm_scoped_replica(void **state)
{
    struct nmovs_db *db;
    char err[512] = "";
    char *remote = capture("printf unix:%s/db.sock", rundir);
    (void) state;

    free(capture(VSCTL "set Interface p2 external_ids:vm-id=vmB", rundir));
    assert_int_equal(nmovs_db_open_vm(remote, rundir, 5000, "vmB", &db, err,
                                      sizeof err), 0);
    assert_int_equal(nmovs_block(db, "vmB", err, sizeof err), 0);
    char *flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    assert_non_null(strstr(flows, "0x6e6d"));
    free(flows);
    assert_int_equal(nmovs_activate(db, "vmB", err, sizeof err), 0);
    /* p1 is not vmB's: not replicated, not found. */
    assert_int_equal(nmovs_activate(db, "p1", err, sizeof err), -ENOENT);
    nmovs_db_close(db);

    /* By port name (the port's interface is found through the port). */
    assert_int_equal(nmovs_db_open_vm(remote, rundir, 5000, "p1", &db, err,
                                      sizeof err), 0);
    assert_int_equal(nmovs_activate(db, "p1", err, sizeof err), 0);
    nmovs_db_close(db);
    free(remote);
}

static void
test_unreachable_db(void **state)
{
    struct nmovs_db *db = (struct nmovs_db *) 1;
    char err[256] = "";
    (void) state;

    assert_true(nmovs_db_open("unix:/nonexistent/db.sock", NULL, 1000, &db,
                              err, sizeof err) < 0);
    assert_null(db);
    assert_non_null(strstr(err, "cannot connect to OVSDB at "
                            "unix:/nonexistent/db.sock"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_import_remove),
        cmocka_unit_test(test_import_reports_interface_error),
        cmocka_unit_test(test_activation_and_fdb),
        cmocka_unit_test(test_vm_scoped_replica),
        cmocka_unit_test(test_unreachable_db),
    };
    need_root_and_ovs();
    return cmocka_run_group_tests(tests, setup, teardown);
}
