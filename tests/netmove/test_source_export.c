/* The source's batch export (netmove/daemon/source.c): exports ready within
 * export_batch_ms share one ruleset dump and one conntrack dump; what fails
 * for one VM (its selection, its journal record) fails it alone; a dump
 * that fails fails its batch; an export after the window gets a dump of
 * its own; a window of 0 serves each export alone, at once.
 *
 * The harness is netmoved's own state (tests/source-harness.h).  The clock,
 * the peer layer, OVSDB's barrier, the VM's port (a document per VM with
 * one address), the learned addresses (none), the firewall and conntrack
 * dumps (counted) and the journal's append are wrapped
 * (test_source_export.mk). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/learn.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"
#include "netmove/daemon/source.h"
#include "ovs/ovs.h"
#include "tests/source-harness.h"

/* ---- the clock ---- */

static long long int now_ms = 1000000;

long long int __wrap_time_msec(void);

long long int
__wrap_time_msec(void)
{
    return now_ms;
}

/* ---- the peer layer ---- */

static nm_peer_async_fn *export_fn;
static void *export_aux;

void __wrap_nm_peers_register(struct nm_peers *, const char *,
                              nm_peer_method_fn *, void *);
void __wrap_nm_peers_register_async(struct nm_peers *, const char *,
                                    nm_peer_async_fn *, void *);
void __wrap_nm_peers_reply(struct nm_peer_req *, struct json *);
void __wrap_nm_peers_reply_error(struct nm_peer_req *, int,
                                 const char *, ...);

void
__wrap_nm_peers_register(struct nm_peers *peers OVS_UNUSED,
                         const char *method OVS_UNUSED,
                         nm_peer_method_fn *fn OVS_UNUSED,
                         void *aux OVS_UNUSED)
{
}

void
__wrap_nm_peers_register_async(struct nm_peers *peers OVS_UNUSED,
                               const char *method, nm_peer_async_fn *fn,
                               void *aux)
{
    if (!strcmp(method, "export")) {
        export_fn = fn;
        export_aux = aux;
    }
}

static char reqs[64];
static struct {
    bool answered;
    int error;
    char *msg;
    struct json *result;
} answers[ARRAY_SIZE(reqs)];

static size_t
req_index(const struct nm_peer_req *req)
{
    size_t i = (const char *) req - reqs;

    assert_true(i < ARRAY_SIZE(reqs));
    assert_false(answers[i].answered);      /* Answered once. */
    answers[i].answered = true;
    return i;
}

void
__wrap_nm_peers_reply(struct nm_peer_req *req, struct json *result)
{
    answers[req_index(req)].result = result;
}

void
__wrap_nm_peers_reply_error(struct nm_peer_req *req, int error,
                            const char *format, ...)
{
    size_t i = req_index(req);
    va_list args;

    answers[i].error = error;
    va_start(args, format);
    answers[i].msg = xvasprintf(format, args);
    va_end(args);
}

/* Asks, as request 'i' from host2, for the export of 'vm' in migration
 * "m-<vm>". */
static void
ask(size_t i, const char *vm)
{
    char *text = xasprintf("{\"vm\": \"%s\", \"id\": \"m-%s\"}", vm, vm);
    struct json *params = json_from_string(text);

    export_fn(export_aux, "host2", params, (struct nm_peer_req *) &reqs[i]);
    json_destroy(params);
    free(text);
}

/* ---- OVSDB: synced at once; each VM one port with one address ---- */

bool __wrap_nmovs_db_sync_done(const struct nmovs_db *, uint64_t);

bool
__wrap_nmovs_db_sync_done(const struct nmovs_db *db OVS_UNUSED,
                          uint64_t ticket OVS_UNUSED)
{
    return true;
}

int __wrap_nmovs_export(struct nmovs_db *, const char *, struct nmovs_doc **,
                        char *, size_t);

int
__wrap_nmovs_export(struct nmovs_db *db OVS_UNUSED, const char *vm,
                    struct nmovs_doc **docp, char *err, size_t errlen)
{
    int n = atoi(vm + strcspn(vm, "0123456789"));
    char *text = xasprintf(
        "{\"version\": 1, \"vm\": \"%s\", \"ports\": [{\"name\": \"qvo-%s\","
        " \"bridge\": \"br-int\", \"interfaces\": [{\"name\": \"qvo-%s\","
        " \"type\": \"\", \"external_ids\": {\"vm-id\": \"%s\","
        " \"attached-mac\": \"02:00:00:00:00:%02x\","
        " \"ip-addresses\": \"198.18.0.%d\"}}]}]}", vm, vm, vm, vm, n, n);
    struct json *j = json_from_string(text);
    struct nmovs_doc **docs;
    size_t n_docs;

    free(text);
    assert_int_equal(nmovs_docs_from_json(j, &docs, &n_docs, err, errlen), 0);
    assert_int_equal(n_docs, 1);
    json_destroy(j);
    *docp = docs[0];
    free(docs);
    return 0;
}

size_t __wrap_nm_learn_merge(struct netmoved *, struct nm_vm_addrs *);

size_t
__wrap_nm_learn_merge(struct netmoved *nm OVS_UNUSED,
                      struct nm_vm_addrs *addrs OVS_UNUSED)
{
    return 0;
}

/* ---- the dumps, counted ---- */

static int n_fw_dumps;          /* fw_export_many() calls. */
static size_t fw_sizes[16];     /* The VMs each served. */
static int fw_error;            /* What the next dump returns. */
static const char *fw_unselectable;     /* Its selection fails. */
static int n_ct_dumps;          /* ct_export() calls. */
static int n_ct_many;           /* ct_export_many() calls (once source.c's
                                 * export_ct_batch() calls it). */

int __wrap_fw_export_many(const char *const *, size_t, struct fw_ruleset **,
                          char *, size_t);

int
__wrap_fw_export_many(const char *const *vms, size_t n,
                      struct fw_ruleset **rss, char *err, size_t errlen)
{
    if (n_fw_dumps < (int) ARRAY_SIZE(fw_sizes)) {
        fw_sizes[n_fw_dumps] = n;
    }
    n_fw_dumps++;
    for (size_t i = 0; i < n; i++) {
        rss[i] = NULL;
        if (!fw_error && !(fw_unselectable
                           && !strcmp(vms[i], fw_unselectable))) {
            rss[i] = fw_ruleset_create(vms[i]);
        }
    }
    if (fw_error) {
        snprintf(err, errlen, "dumping the ruleset: %s",
                 ovs_strerror(-fw_error));
    }
    return fw_error;
}

int __wrap_ct_export(const struct ct_filter *, struct ct_table **, char *,
                     size_t);

int
__wrap_ct_export(const struct ct_filter *filter, struct ct_table **tabp,
                 char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    assert_int_equal(filter->n_addrs, 1);
    n_ct_dumps++;
    *tabp = ct_table_create();
    return 0;
}

int __wrap_ct_export_many(const struct ct_filter *, size_t,
                          struct ct_table **, char *, size_t);

int
__wrap_ct_export_many(const struct ct_filter *filters, size_t n,
                      struct ct_table **tabs, char *err OVS_UNUSED,
                      size_t errlen OVS_UNUSED)
{
    n_ct_many++;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(filters[i].n_addrs, 1);
        tabs[i] = ct_table_create();
    }
    return 0;
}

/* The conntrack dumps of a batch of 'n' VMs: one (ct_export_many()) or,
 * until it is in, one per VM. */
static void
assert_ct_dumps(int n)
{
    if (n_ct_many) {
        assert_int_equal(n_ct_many, 1);
        assert_int_equal(n_ct_dumps, 0);
    } else {
        assert_int_equal(n_ct_dumps, n);
    }
}

/* ---- the journal: failing for one migration on demand ---- */

static const char *fail_id;

int __real_nm_journal_append(struct nm_journal *, enum nm_journal_role,
                             const char *, const struct json *, bool);
int __wrap_nm_journal_append(struct nm_journal *, enum nm_journal_role,
                             const char *, const struct json *, bool);

int
__wrap_nm_journal_append(struct nm_journal *j, enum nm_journal_role role,
                         const char *id, const struct json *rec, bool sync)
{
    if (fail_id && !strcmp(id, fail_id)) {
        return -EIO;
    }
    return __real_nm_journal_append(j, role, id, rec, sync);
}

/* ---- netmoved ---- */

static struct netmoved nm;
static char tmpdir[64];

static int
setup(void **state OVS_UNUSED)
{
    char err[NM_ERRLEN];

    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/netmove-test-srcexp.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_int_equal(source_harness_open(&nm, tmpdir, err, sizeof err), 0);
    memset(answers, 0, sizeof answers);
    n_fw_dumps = n_ct_dumps = n_ct_many = 0;
    fw_error = 0;
    fw_unselectable = NULL;
    fail_id = NULL;
    source_init(&nm);
    assert_non_null(export_fn);
    return 0;
}

static int
teardown(void **state OVS_UNUSED)
{
    source_destroy(&nm);
    for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
        free(answers[i].msg);
        json_destroy(answers[i].result);
    }
    source_harness_close(&nm);
    source_harness_remove(tmpdir);
    return 0;
}

/* One pass of netmoved's loop, 'ms' after the last. */
static void
pass(long long int ms)
{
    now_ms += ms;
    source_run(&nm);
}

static void
assert_exported(size_t i, const char *vm)
{
    assert_true(answers[i].answered);
    if (answers[i].msg) {
        fail_msg("request %zu: %s", i, answers[i].msg);
    }
    assert_string_equal(nm_json_member_string(answers[i].result, "vm"), vm);
    assert_non_null(nm_json_member(answers[i].result, "fw"));
    assert_true(nm_json_member(answers[i].result, "ct")->type
                == JSON_OBJECT);
    assert_true(source_is_outgoing(&nm, vm));
}

static void
assert_failed(size_t i, const char *vm, const char *what)
{
    assert_true(answers[i].answered);
    assert_null(answers[i].result);
    if (!answers[i].msg || !strstr(answers[i].msg, what)) {
        fail_msg("request %zu: '%s' does not say '%s'", i,
                 answers[i].msg ? answers[i].msg : "(none)", what);
    }
    assert_false(source_is_outgoing(&nm, vm));
}

/* n exports that arrive within the window are served by one ruleset dump
 * and one conntrack dump (until ct_export_many() is in: one per VM), not
 * before the window has passed. */
static void
test_window_one_dump(void **state OVS_UNUSED)
{
    char vm[16];

    assert_int_equal(nm.cfg->export_batch_ms, NM_EXPORT_BATCH_MS_DEFAULT);
    for (size_t i = 0; i < 10; i++) {
        snprintf(vm, sizeof vm, "vm%zu", i + 1);
        ask(i, vm);
        pass(0);                /* Its barrier passes: it is ready. */
    }
    pass(NM_EXPORT_BATCH_MS_DEFAULT - 1);
    assert_int_equal(n_fw_dumps, 0);
    assert_false(answers[0].answered);

    pass(1);
    assert_int_equal(n_fw_dumps, 1);
    assert_int_equal(fw_sizes[0], 10);
    assert_ct_dumps(10);
    for (size_t i = 0; i < 10; i++) {
        snprintf(vm, sizeof vm, "vm%zu", i + 1);
        assert_exported(i, vm);
    }

    /* One after the window: a dump of its own. */
    ask(10, "vm11");
    pass(0);
    pass(NM_EXPORT_BATCH_MS_DEFAULT);
    assert_int_equal(n_fw_dumps, 2);
    assert_int_equal(fw_sizes[1], 1);
    assert_exported(10, "vm11");
}

/* The window runs from the first export ready, not the last: a steady
 * stream of exports does not hold the first one back. */
static void
test_window_from_first(void **state OVS_UNUSED)
{
    ask(0, "vm1");
    pass(0);
    ask(1, "vm2");
    pass(3);
    ask(2, "vm3");
    pass(2);                /* 5 ms after vm1 was ready. */
    assert_int_equal(n_fw_dumps, 1);
    assert_int_equal(fw_sizes[0], 3);
    assert_exported(0, "vm1");
    assert_exported(2, "vm3");
}

/* One VM whose selection fails, or whose journal record cannot be written,
 * fails alone; its neighbours in the batch are exported. */
static void
test_one_fails_alone(void **state OVS_UNUSED)
{
    fw_unselectable = "vm2";
    fail_id = "m-vm3";
    ask(0, "vm1");
    ask(1, "vm2");
    ask(2, "vm3");
    ask(3, "vm4");
    pass(0);
    pass(NM_EXPORT_BATCH_MS_DEFAULT);
    assert_int_equal(n_fw_dumps, 1);
    assert_int_equal(fw_sizes[0], 4);
    assert_exported(0, "vm1");
    assert_failed(1, "vm2", "firewall");
    assert_failed(2, "vm3", "journal");
    assert_exported(3, "vm4");
}

/* A dump that fails fails every VM of its batch, with its error. */
static void
test_dump_fails_batch(void **state OVS_UNUSED)
{
    fw_error = -ENOMEM;
    ask(0, "vm1");
    ask(1, "vm2");
    pass(0);
    pass(NM_EXPORT_BATCH_MS_DEFAULT);
    assert_int_equal(n_fw_dumps, 1);
    assert_int_equal(n_ct_dumps + n_ct_many, 0);
    assert_failed(0, "vm1", "firewall: dumping the ruleset");
    assert_failed(1, "vm2", "firewall: dumping the ruleset");

    /* The next batch is not the failed one's. */
    fw_error = 0;
    ask(2, "vm1");
    pass(0);
    pass(NM_EXPORT_BATCH_MS_DEFAULT);
    assert_exported(2, "vm1");
}

/* A window of 0 is the behaviour before batches: each export is served
 * alone, in the pass its barrier passed, with a dump of its own. */
static void
test_window_zero(void **state OVS_UNUSED)
{
    nm.cfg->export_batch_ms = 0;
    ask(0, "vm1");
    ask(1, "vm2");
    ask(2, "vm3");
    pass(0);
    assert_int_equal(n_fw_dumps, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fw_sizes[i], 1);
    }
    assert_exported(0, "vm1");
    assert_exported(1, "vm2");
    assert_exported(2, "vm3");
}

/* The same migration asked again while its first export waits (a retry)
 * is answered too, from the same selection. */
static void
test_retry_in_batch(void **state OVS_UNUSED)
{
    ask(0, "vm1");
    ask(1, "vm1");
    pass(0);
    pass(NM_EXPORT_BATCH_MS_DEFAULT);
    assert_int_equal(n_fw_dumps, 1);
    assert_int_equal(fw_sizes[0], 1);
    assert_exported(0, "vm1");
    assert_exported(1, "vm1");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_one_dump, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_from_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_fails_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump_fails_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_in_batch, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
