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

#include "openvswitch/poll-loop.h"
#include "timeval.h"
#include "ovs/db-private.h"
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


/* A one-port document for VM 'vm': port and interface 'name' on br0,
 * internal, on VLAN 'tag', MTU 1400, other_config k=v, with iface-id 'id',
 * attached-mac 'mac' and vm-id 'vm'; Port external_ids 'port_ext' (JSON
 * object members, may be empty). */
static struct nmovs_doc *
make_doc(const char *vm, const char *name, const char *id, const char *mac,
         int tag, const char *port_ext)
{
    struct nmovs_doc **docs;
    char text[1024], err[256] = "";
    size_t n;

    snprintf(text, sizeof text,
             "{\"version\": 1, \"vm\": \"%s\", \"ports\": [{\"bridge\": "
             "\"br0\", \"name\": \"%s\", \"tag\": %d, \"other_config\": "
             "{\"k\": \"v\"}, \"external_ids\": {%s}, \"interfaces\": [{"
             "\"name\": \"%s\", \"type\": \"internal\", \"mtu_request\": "
             "1400, \"external_ids\": {\"iface-id\": \"%s\", "
             "\"attached-mac\": \"%s\", \"vm-id\": \"%s\", \"iface-status\": "
             "\"source\", \"from-doc\": \"yes\"}}]}]}",
             vm, name, tag, port_ext, name, id, mac, vm);
    if (nmovs_docs_parse(text, &docs, &n, err, sizeof err) || n != 1) {
        fail_msg("document: %s", err);
    }
    struct nmovs_doc *doc = docs[0];
    free(docs);
    return doc;
}

/* ovs-vsctl add-port br0 NAME as libvirt does it when QEMU starts (an
 * internal port here, so that it gets an ofport without a tap). */
static void
add_migrator_port(const char *name, const char *id, const char *mac,
                  const char *vm)
{
    free(capture(VSCTL "--timeout=10 -- --if-exists del-port %s -- add-port "
                 "br0 %s -- set Interface %s type=internal "
                 "external_ids:attached-mac=%s external-ids:iface-id=%s "
                 "external-ids:vm-id=%s external-ids:iface-status=active",
                 rundir, name, name, name, mac, id, vm));
}

static bool
has_port(const char *name)
{
    char *ports = capture(VSCTL "list-ports br0", rundir);
    char want[64];

    snprintf(want, sizeof want, "\n%s\n", name);
    char *all = malloc(strlen(ports) + 2);
    all[0] = '\n';
    strcpy(all + 1, ports);
    bool found = strstr(all, want) != NULL;
    free(all);
    free(ports);
    return found;
}

/* Whether ovs-ofctl shows flows with netmove's cookie for 'name''s ofport
 * ('ofport' if not 0). */
static bool
has_block_flows(const char *name, int ofport)
{
    char want[64];

    if (!ofport) {
        char *s = get("Interface", name, "ofport");
        ofport = atoi(s);
        free(s);
    }
    snprintf(want, sizeof want, "cookie=0x6e6d%012x,", ofport);
    char *flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    bool found = strstr(flows, want) != NULL;
    free(flows);
    return found;
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
    char err[512] = "";
    (void) state;

    /* A VM's port is found by its identity, never by its name. */
    free(capture(VSCTL "set Interface p2 external_ids:iface-id=vmP2",
                 rundir));
    struct nmovs_db *db = open_db();
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
    assert_int_equal(nmovs_activate(db, "p2", err, sizeof err), -ENOENT);
    assert_int_equal(nmovs_activate(db, "vmP2", err, sizeof err), 0);
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

    /* Never by its port name alone (issue 10, item 6). */
    assert_int_equal(nmovs_db_open_vm(remote, rundir, 5000, "p1", &db, err,
                                      sizeof err), 0);
    assert_int_equal(nmovs_activate(db, "p1", err, sizeof err), -ENOENT);
    nmovs_db_close(db);
    free(remote);
}

/* A port of the document's name that is another VM's is refused, and
 * nothing changes. */
static void
test_import_refuses_other_vms_port(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000 };
    struct nmovs_db *db = open_db();
    char err[512] = "";
    bool changed;
    (void) state;

    add_migrator_port("vnet0", "iface-B", "02:00:00:00:0b:01", "vmB");
    free(capture(VSCTL "set Port vnet0 tag=5", rundir));
    char *if_before = capture(VSCTL "list Interface vnet0", rundir);
    char *port_before = capture(VSCTL "list Port vnet0", rundir);
    nmovs_db_close(db);
    db = open_db();

    struct nmovs_doc *doc = make_doc("vmA", "vnet0", "iface-A",
                                     "02:00:00:00:0a:01", 100, "");
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), -EEXIST);
    assert_false(changed);
    assert_non_null(strstr(err, "port vnet0: belongs to another VM "
                            "(iface-id iface-B, vm-id vmB"));
    char *if_after = capture(VSCTL "list Interface vnet0", rundir);
    char *port_after = capture(VSCTL "list Port vnet0", rundir);
    assert_string_equal(if_before, if_after);
    assert_string_equal(port_before, port_after);
    assert_false(has_block_flows("vnet0", 0));

    /* Nor by copying its iface-id (a peer's document for vmA naming
     * vmB's): the port names vmB, so it is vmB's. */
    nmovs_doc_destroy(doc);
    doc = make_doc("vmA", "tapA", "iface-B", "02:00:00:00:0a:01", 100, "");
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), -EEXIST);
    assert_false(changed);
    assert_non_null(strstr(err, "port vnet0 carries the document's identity "
                            "but belongs to another VM (vm vmB, not vmA)"));
    io.adopt_only = true;
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), -EEXIST);
    io.adopt_only = false;
    char *if_after2 = capture(VSCTL "list Interface vnet0", rundir);
    char *port_after2 = capture(VSCTL "list Port vnet0", rundir);
    assert_string_equal(if_before, if_after2);
    assert_string_equal(port_before, port_after2);
    assert_false(has_port("tapA"));
    free(if_after2);
    free(port_after2);

    /* A port with no identity at all is no one's to take either. */
    nmovs_doc_destroy(doc);
    doc = make_doc("vmA", "p2", "iface-A", "02:00:00:00:0a:01", 100, "");
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), -EEXIST);
    assert_non_null(strstr(err, "port p2: belongs to another VM"));
    assert_get("Port", "p2", "tag", "[]");

    free(if_before);
    free(if_after);
    free(port_before);
    free(port_after);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* A port adopted by identity whose QoS (and queue) another port shares:
 * the import gives it its own, and the other port's stays as it was. */
static void
test_import_keeps_shared_qos(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000 };
    struct nmovs_doc **docs;
    struct nmovs_db *db;
    char err[512] = "";
    bool changed;
    size_t n;
    (void) state;

    add_migrator_port("vnet5", "iface-Q", "02:00:00:00:0b:01", "vmQ");
    add_migrator_port("other5", "iface-R", "02:00:00:00:0b:02", "vmR");
    free(capture(VSCTL "set Port vnet5 qos=@q -- set Port other5 qos=@q "
                 "-- --id=@q create QoS type=linux-htb "
                 "other_config:max-rate=1000 queues:1=@u "
                 "-- --id=@u create Queue other_config:min-rate=10",
                 rundir));
    char *shared = get("Port", "other5", "qos");
    db = open_db();
    assert_int_equal(nmovs_docs_parse(
        "{\"version\": 1, \"vm\": \"vmQ\", \"ports\": [{\"bridge\": \"br0\","
        " \"name\": \"vnet5\", \"qos\": {\"type\": \"linux-htb\","
        " \"other_config\": {\"max-rate\": \"5000\"}, \"queues\": {\"1\":"
        " {\"other_config\": {\"min-rate\": \"99\"}}}}, \"interfaces\": [{"
        " \"name\": \"vnet5\", \"type\": \"internal\", \"external_ids\": {"
        " \"iface-id\": \"iface-Q\", \"attached-mac\": \"02:00:00:00:0b:01\","
        " \"vm-id\": \"vmQ\"}}]}]}", &docs, &n, err, sizeof err), 0);
    assert_int_equal(nmovs_import(db, docs, n, &io, &changed, err,
                                  sizeof err), 0);
    assert_true(changed);
    char *own = get("Port", "vnet5", "qos");
    assert_string_not_equal(own, shared);
    assert_get("Port", "other5", "qos", shared);
    assert_get("QoS", shared, "other_config:max-rate", "\"1000\"");
    assert_get("QoS", own, "other_config:max-rate", "\"5000\"");
    char *q_shared = get("QoS", shared, "queues:1");
    char *q_own = get("QoS", own, "queues:1");
    assert_string_not_equal(q_own, q_shared);
    assert_get("Queue", q_shared, "other_config:min-rate", "\"10\"");
    assert_get("Queue", q_own, "other_config:min-rate", "\"99\"");

    free(q_shared);
    free(q_own);
    free(own);
    free(shared);
    nmovs_docs_destroy(docs, n);
    nmovs_db_close(db);
}

/* The migrator's port (another name, the VM's identity) is updated in
 * place and keeps its names; no port of the document's name appears. */
static void
test_import_adopts_by_identity(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000, .blocked = true,
                                    .staged_by = "mig-a" };
    struct nmovs_db *db;
    char err[512] = "";
    bool changed;
    (void) state;

    add_migrator_port("vnet3", "iface-A", "02:00:00:00:0a:01", "vmA");
    free(capture(VSCTL "set Port vnet3 tag=7", rundir));
    char *uuid = get("Interface", "vnet3", "_uuid");
    db = open_db();

    /* The source's name, and a netmove-staged it has no say over. */
    struct nmovs_doc *doc = make_doc("vmA", "vnet0x", "iface-A",
                                     "02:00:00:00:0A:01", 100,
                                     "\"netmove-staged\": \"evil\"");
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), 0);
    assert_true(changed);
    assert_false(has_port("vnet0x"));
    assert_get("Port", "vnet3", "tag", "100");
    assert_get("Port", "vnet3", "other_config:k", "v");
    assert_get("Port", "vnet3", "external_ids", "{}");
    assert_get("Interface", "vnet3", "mtu_request", "1400");
    assert_get("Interface", "vnet3", "external_ids:from-doc", "yes");
    /* Local keys stay: the migrator's iface-status, its MAC's spelling. */
    assert_get("Interface", "vnet3", "external_ids:iface-status", "active");
    assert_get("Interface", "vnet3", "external_ids:attached-mac",
               "\"02:00:00:00:0a:01\"");
    char *uuid2 = get("Interface", "vnet3", "_uuid");
    assert_string_equal(uuid, uuid2);
    assert_true(has_block_flows("vnet3", 0));

    /* Again: nothing to write. */
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), 0);
    assert_false(changed);
    assert_false(has_port("vnet0x"));

    free(uuid);
    free(uuid2);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* adopt_only: nothing there yet, nothing created; once the migrator has
 * made its port, it gets the document's settings and is blocked. */
static void
test_adopt_waits_for_migrators_port(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000, .blocked = true };
    struct nmovs_db *db = open_db();
    char err[512] = "";
    size_t n_missing = 99;
    bool changed;
    (void) state;

    struct nmovs_doc *doc = make_doc("vmC", "vnet0c", "iface-C",
                                     "02:00:00:00:0c:01", 300, "");
    char *ports_before = capture(VSCTL "list-ports br0", rundir);
    assert_int_equal(nmovs_adopt(db, &doc, 1, &io, &changed, &n_missing,
                                 err, sizeof err), 0);
    assert_int_equal(n_missing, 1);
    assert_false(changed);
    char *ports_after = capture(VSCTL "list-ports br0", rundir);
    assert_string_equal(ports_before, ports_after);

    /* The same through nmovs_import() with the option. */
    struct nmovs_import_opts ao = io;
    ao.adopt_only = true;
    assert_int_equal(nmovs_import(db, &doc, 1, &ao, &changed, err,
                                  sizeof err), 0);
    assert_false(has_port("vnet0c"));

    add_migrator_port("vnet5", "iface-C", "02:00:00:00:0c:01", "vmC");
    assert_int_equal(nmovs_adopt(db, &doc, 1, &io, &changed, &n_missing,
                                 err, sizeof err), 0);
    assert_int_equal(n_missing, 0);
    assert_true(changed);
    assert_get("Port", "vnet5", "tag", "300");
    assert_get("Interface", "vnet5", "mtu_request", "1400");
    assert_true(has_block_flows("vnet5", 0));
    assert_false(has_port("vnet0c"));

    free(ports_before);
    free(ports_after);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* netmove staged a port, then the migrator made its own: the migrator's
 * is adopted, netmove's deleted with its flows, in one import. */
static void
test_staged_port_gives_way(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000, .blocked = true,
                                    .staged_by = "mig-d" };
    struct nmovs_db *db = open_db();
    char err[512] = "";
    size_t n_missing;
    bool changed;
    (void) state;

    struct nmovs_doc *doc = make_doc("vmD", "vnet6", "iface-D",
                                     "02:00:00:00:0d:01", 400, "");
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), 0);
    assert_get("Port", "vnet6", "external_ids:netmove-staged", "mig-d");
    char *staged_ofport = get("Interface", "vnet6", "ofport");
    assert_true(has_block_flows("vnet6", 0));

    /* The staged port alone is not the migrator's. */
    assert_int_equal(nmovs_adopt(db, &doc, 1, &io, &changed, &n_missing,
                                 err, sizeof err), 0);
    assert_int_equal(n_missing, 1);
    assert_true(has_port("vnet6"));

    add_migrator_port("vnet7", "iface-D", "02:00:00:00:0d:01", "vmD");
    assert_int_equal(nmovs_adopt(db, &doc, 1, &io, &changed, &n_missing,
                                 err, sizeof err), 0);
    assert_int_equal(n_missing, 0);
    assert_false(has_port("vnet6"));
    assert_true(has_port("vnet7"));
    assert_get("Port", "vnet7", "tag", "400");
    assert_get("Port", "vnet7", "external_ids", "{}");
    assert_false(has_block_flows("vnet6", atoi(staged_ofport)));
    assert_true(has_block_flows("vnet7", 0));

    /* Two ports nobody marked, with one identity: which one? */
    add_migrator_port("vnet8", "iface-D", "02:00:00:00:0d:01", "vmD");
    char *before = capture(VSCTL "list Port vnet8", rundir);
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), -EEXIST);
    assert_non_null(strstr(err, "both carry the VM's identity"));
    assert_non_null(strstr(err, "vnet7"));
    assert_non_null(strstr(err, "vnet8"));
    char *after = capture(VSCTL "list Port vnet8", rundir);
    assert_string_equal(before, after);

    free(before);
    free(after);
    free(staged_ofport);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* A rollback removes what its migration staged, never a port someone else
 * made with the same identity. */
static void
test_remove_staged_only(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 10000,
                                    .staged_by = "mig-e" };
    struct nmovs_db *db = open_db();
    char err[512] = "";
    size_t n_removed = 99;
    bool changed;
    (void) state;

    struct nmovs_doc *doc = make_doc("vmE", "vnet10", "iface-E",
                                     "02:00:00:00:0e:01", 500, "");
    assert_int_equal(nmovs_import(db, &doc, 1, &io, &changed, err,
                                  sizeof err), 0);
    add_migrator_port("vnet11", "iface-E", "02:00:00:00:0e:01", "vmE");
    nmovs_db_close(db);
    db = open_db();

    assert_int_equal(nmovs_remove_staged(db, "mig-other", &n_removed, err,
                                         sizeof err), 0);
    assert_int_equal(n_removed, 0);
    assert_int_equal(nmovs_remove_staged(db, "mig-e", &n_removed, err,
                                         sizeof err), 0);
    assert_int_equal(n_removed, 1);
    assert_false(has_port("vnet10"));
    assert_true(has_port("vnet11"));
    assert_int_equal(nmovs_remove_staged(db, "", &n_removed, err,
                                         sizeof err), -EINVAL);

    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* A port named like a VM is not that VM's when it carries another VM's
 * identity, nor when the VM's identity is on another port. */
static void
test_export_name_is_weak(void **state)
{
    struct nmovs_db *db;
    struct nmovs_doc *doc;
    char err[512] = "";
    (void) state;

    add_migrator_port("vmF", "iface-G", "02:00:00:00:0f:0f", "vmG");
    /* Like an uplink: no external_ids at all. */
    free(capture(VSCTL "--timeout=10 add-port br0 vmH -- set Interface vmH "
                 "type=internal", rundir));
    db = open_db();

    assert_int_equal(nmovs_export(db, "vmF", &doc, err, sizeof err),
                     -ENOENT);
    assert_int_equal(nmovs_export(db, "vmG", &doc, err, sizeof err), 0);
    char *text = nmovs_docs_format(&doc, 1);
    assert_non_null(strstr(text, "\"name\": \"vmF\""));
    free(text);
    nmovs_doc_destroy(doc);

    /* Never by its name alone (issue 10, item 6: export and confirm of
     * vm=eth1 removed the uplink): a port without any VM's identity is no
     * VM's, and removing "vmH" leaves it. */
    assert_int_equal(nmovs_export(db, "vmH", &doc, err, sizeof err),
                     -ENOENT);
    size_t n_removed = 99;
    const char *vmh = "vmH";
    assert_int_equal(nmovs_remove(db, &vmh, 1, 10000, &n_removed, err,
                                  sizeof err), 0);
    assert_int_equal(n_removed, 0);
    char *still = capture(VSCTL "--if-exists get Port vmH name", rundir);
    assert_non_null(strstr(still, "vmH"));
    free(still);
    add_migrator_port("tapH", "iface-H", "02:00:00:00:0f:08", "vmH");
    nmovs_db_close(db);
    db = open_db();
    assert_int_equal(nmovs_export(db, "vmH", &doc, err, sizeof err), 0);
    assert_int_equal(nmovs_doc_n_ports(doc), 1);
    text = nmovs_docs_format(&doc, 1);
    assert_non_null(strstr(text, "\"name\": \"tapH\""));
    assert_null(strstr(text, "\"name\": \"vmH\""));
    free(text);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* Runs 'db' (a daemon's, nmovs_db_create()) until 'done' or 5 s. */
static void
run_until(struct nmovs_db *db, bool (*done)(struct nmovs_db *, uint64_t),
          uint64_t arg)
{
    long long int deadline = time_msec() + 5000;

    for (;;) {
        nmovs_db_run(db);
        if (done(db, arg)) {
            return;
        }
        if (time_msec() >= deadline) {
            fail_msg("OVSDB: not done within 5 s");
        }
        nmovs_db_poll_wait(db);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

static bool
is_synced(struct nmovs_db *db, uint64_t arg OVS_UNUSED)
{
    return nmovs_db_is_synced(db);
}

static bool
sync_done(struct nmovs_db *db, uint64_t ticket)
{
    return nmovs_db_sync_done(db, ticket);
}

/* The barrier: a port committed by another client before the request is in
 * the replica once the request is done, although the replica had not run
 * since (the test sees it absent first: the barrier is what brings it). */
static void
test_barrier(void **state)
{
    const struct eth_addr mac = ETH_ADDR_C(02, 00, 00, 00, ba, 01);
    char *remote = capture("printf unix:%s/db.sock", rundir);
    struct nmovs_db *db = nmovs_db_create(remote, rundir);
    uint32_t ofport;
    char *name;
    (void) state;

    run_until(db, is_synced, 0);
    add_migrator_port("pbar", "iface-bar", "02:00:00:00:ba:01", "vmbar");
    assert_int_equal(nmovs_vm_iface_by_mac(db, "vmbar", mac, &name, &ofport),
                     -ENOENT);
    uint64_t ticket = nmovs_db_sync_request(db);
    assert_false(nmovs_db_sync_done(db, ticket));
    run_until(db, sync_done, ticket);
    assert_int_equal(nmovs_vm_iface_by_mac(db, "vmbar", mac, &name, &ofport),
                     0);
    assert_string_equal(name, "pbar");
    free(name);

    /* Many requests share a round trip; a later one is not done early. */
    uint64_t t1 = nmovs_db_sync_request(db);
    uint64_t t2 = nmovs_db_sync_request(db);
    run_until(db, sync_done, t2);
    assert_true(nmovs_db_sync_done(db, t1));
    free(capture(VSCTL "del-port pbar", rundir));
    nmovs_db_close(db);
    free(remote);
}

/* The ports of 'vm' by the index and by the scan agree (same ports, same
 * order); returns how many. */
static size_t
assert_index_agrees(struct nmovs_db *db, const char *vm)
{
    struct nmovs_vm_port *a, *b;
    size_t na = nmovs_find_vm_ports(db, vm, &a);
    size_t nb = nmovs_find_vm_ports_indexed(db, vm, &b);

    if (na != nb) {
        fail_msg("%s: %zu port(s) by the scan, %zu by the index", vm, na,
                 nb);
    }
    for (size_t i = 0; i < na; i++) {
        assert_ptr_equal(a[i].port, b[i].port);
        assert_ptr_equal(a[i].br, b[i].br);
    }
    free(a);
    free(b);
    return na;
}

/* The export's index of ports by identity finds what the scan finds: by
 * vm-id, iface-id, a MAC in either case, several ports of one VM, never an
 * id that differs but for case; and it follows the replica's changes. */
static void
test_vm_index(void **state)
{
    char *remote = capture("printf unix:%s/db.sock", rundir);
    struct nmovs_db *db = nmovs_db_create(remote, rundir);
    (void) state;

    add_migrator_port("pix1", "iface-ix1", "02:00:00:00:1a:01", "vmix");
    add_migrator_port("pix2", "iface-ix2", "02:00:00:00:1A:02", "vmix");
    add_migrator_port("pix3", "iface-ix3", "02:00:00:00:1a:03", "vmIX");
    run_until(db, sync_done, nmovs_db_sync_request(db));

    assert_int_equal(assert_index_agrees(db, "vmix"), 2);
    assert_int_equal(assert_index_agrees(db, "vmIX"), 1);
    assert_int_equal(assert_index_agrees(db, "VMIX"), 0);
    assert_int_equal(assert_index_agrees(db, "iface-ix2"), 1);
    assert_int_equal(assert_index_agrees(db, "02:00:00:00:1a:02"), 1);
    assert_int_equal(assert_index_agrees(db, "02:00:00:00:1A:01"), 1);
    assert_int_equal(assert_index_agrees(db, "pix1"), 0);

    /* A change of the replica: the index is rebuilt. */
    free(capture(VSCTL "del-port pix1", rundir));
    add_migrator_port("pix4", "iface-ix4", "02:00:00:00:1a:04", "vmix");
    run_until(db, sync_done, nmovs_db_sync_request(db));
    assert_int_equal(assert_index_agrees(db, "vmix"), 2);
    assert_int_equal(assert_index_agrees(db, "iface-ix1"), 0);
    assert_int_equal(assert_index_agrees(db, "iface-ix4"), 1);

    for (int i = 2; i <= 4; i++) {
        free(capture(VSCTL "del-port pix%d", rundir, i));
    }
    nmovs_db_close(db);
    free(remote);
}

/* verify's OpenFlow port of a VM's interface comes from the replica
 * (Interface.ofport, as ovs-vsctl reads it); another VM's interface is not
 * found; a row without a device has none (0), so verify asks OpenFlow. */
static void
test_vm_iface_ofport(void **state)
{
    uint32_t ofport = 99;
    (void) state;

    free(capture(VSCTL "set Interface p2 external_ids:vm-id=vmO -- "
                 "add-port br0 pghost -- set Interface pghost "
                 "external_ids:vm-id=vmO 2>/dev/null", rundir));
    struct nmovs_db *db = open_db();
    char *want = get("Interface", "p2", "ofport");
    assert_int_equal(nmovs_vm_iface_ofport(db, "vmO", "p2", &ofport), 0);
    assert_int_equal(ofport, strtoul(want, NULL, 10));
    assert_true(ofport > 0);
    assert_int_equal(nmovs_vm_iface_ofport(db, "vmO", "pghost", &ofport), 0);
    assert_int_equal(ofport, 0);
    assert_int_equal(nmovs_vm_iface_ofport(db, "vmO", "p1", &ofport),
                     -ENOENT);
    assert_int_equal(nmovs_vm_iface_ofport(db, "vmX", "p2", &ofport),
                     -ENOENT);
    free(want);
    nmovs_db_close(db);
    free(capture(VSCTL "del-port pghost -- remove Interface p2 external_ids "
                 "vm-id", rundir));
}

/* Runs 'op' from a loop as netmoved does, until it ends or 'ms' pass;
 * returns its outcome (-EAGAIN if still under way). */
static int
run_op(struct nmovs_db *db, struct nmovs_op *op, int ms)
{
    long long int deadline = time_msec() + ms;

    for (;;) {
        nmovs_db_run(db);
        int error = nmovs_op_run(op);
        if (error != -EAGAIN || time_msec() >= deadline) {
            return error;
        }
        nmovs_db_poll_wait(db);
        nmovs_op_wait(op);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

/* Steps never wait: with ovsdb-server stopped (SIGSTOP), starting an import
 * and running it return at once, the step stays under way, and it fails
 * at its deadline; one started while the server is stopped completes from
 * the loop once it runs again. */
static void
test_steps_never_wait(void **state)
{
    struct nmovs_import_opts io = { .timeout_ms = 300,
                                    .staged_by = "mig-s" };
    char *remote = capture("printf unix:%s/db.sock", rundir);
    struct nmovs_db *db = nmovs_db_create(remote, rundir);
    char *pid = capture("cat %s/ovsdb-server.pid", rundir);
    (void) state;

    pid[strcspn(pid, "\n")] = '\0';
    run_until(db, is_synced, 0);
    struct nmovs_doc *doc = make_doc("vmS", "vnet30", "iface-S",
                                     "02:00:00:00:5e:01", 0, "");

    free(capture("kill -STOP %s", pid));
    long long int t0 = time_msec();
    struct nmovs_op *op = nmovs_import_start(db, &doc, 1, &io);
    assert_int_equal(nmovs_op_run(op), -EAGAIN);
    assert_int_equal(run_op(db, op, 100), -EAGAIN);
    assert_false(nmovs_op_is_done(op));
    assert_true(time_msec() - t0 < 250);
    /* The reply never comes: the deadline fails the step. */
    assert_int_equal(run_op(db, op, 2000), -ETIMEDOUT);
    assert_true(nmovs_op_is_done(op));
    assert_non_null(strstr(nmovs_op_error(op), "timed out"));
    nmovs_op_destroy(op);

    /* Started while stopped, finished once the server runs again.  (The
     * abandoned one was sent: the server may commit it first, and then this
     * one, rebuilt, finds the port its own and changes nothing.) */
    io.timeout_ms = 10000;
    op = nmovs_import_start(db, &doc, 1, &io);
    assert_int_equal(run_op(db, op, 200), -EAGAIN);
    free(capture("kill -CONT %s", pid));
    assert_int_equal(run_op(db, op, 10000), 0);
    assert_true(has_port("vnet30"));
    nmovs_op_destroy(op);

    /* The rollback, as a step too. */
    op = nmovs_remove_staged_start(db, "mig-s");
    assert_int_equal(run_op(db, op, 10000), 0);
    assert_int_equal(nmovs_op_count(op), 1);
    assert_false(has_port("vnet30"));
    nmovs_op_destroy(op);

    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
    free(pid);
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
        cmocka_unit_test(test_import_refuses_other_vms_port),
        cmocka_unit_test(test_import_adopts_by_identity),
        cmocka_unit_test(test_import_keeps_shared_qos),
        cmocka_unit_test(test_adopt_waits_for_migrators_port),
        cmocka_unit_test(test_staged_port_gives_way),
        cmocka_unit_test(test_remove_staged_only),
        cmocka_unit_test(test_export_name_is_weak),
        cmocka_unit_test(test_barrier),
        cmocka_unit_test(test_vm_index),
        cmocka_unit_test(test_unreachable_db),
        cmocka_unit_test(test_steps_never_wait),
        cmocka_unit_test(test_vm_iface_ofport),
    };
    need_root_and_ovs();
    return cmocka_run_group_tests(tests, setup, teardown);
}
