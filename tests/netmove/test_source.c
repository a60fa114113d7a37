/* The source side's answers to a peer (netmove/daemon/source.c) where the
 * lab cannot show them: a confirm held until this host's own evidence
 * that the VM left, and answered with an error when it does not come in
 * time; a confirm whose journal record cannot be written removes nothing;
 * a peer's exports are rate-limited.
 *
 * The harness is netmoved's own state: a real configuration and journal in
 * a private directory, an OVSDB replica that never connects.  The peer
 * layer's registration and answers, the clock, the journal's append and the
 * port removal's start are wrapped (test_source.mk): the test calls the
 * methods source.c registers and reads what they answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/json.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/daemon/journal.h"
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

/* ---- the peer layer: methods registered, answers given ---- */

#define MAX_METHODS 16

static struct {
    const char *name;
    nm_peer_async_fn *async;
    nm_peer_method_fn *sync;
    void *aux;
} methods[MAX_METHODS];
static size_t n_methods;

/* The requests the test made (their addresses are the 'req's). */
static char reqs[1024];

/* The last answer per request: the error code (0: a result) and message. */
static struct {
    bool answered;
    int error;
    char *msg;
} answers[ARRAY_SIZE(reqs)];

void __wrap_nm_peers_register(struct nm_peers *, const char *,
                              nm_peer_method_fn *, void *);
void __wrap_nm_peers_register_async(struct nm_peers *, const char *,
                                    nm_peer_async_fn *, void *);
void __wrap_nm_peers_reply(struct nm_peer_req *, struct json *);
void __wrap_nm_peers_reply_error(struct nm_peer_req *, int,
                                 const char *, ...);

void
__wrap_nm_peers_register(struct nm_peers *peers OVS_UNUSED,
                         const char *method, nm_peer_method_fn *fn,
                         void *aux)
{
    assert_true(n_methods < MAX_METHODS);
    methods[n_methods++] = (typeof(methods[0])) { method, NULL, fn, aux };
}

void
__wrap_nm_peers_register_async(struct nm_peers *peers OVS_UNUSED,
                               const char *method, nm_peer_async_fn *fn,
                               void *aux)
{
    assert_true(n_methods < MAX_METHODS);
    methods[n_methods++] = (typeof(methods[0])) { method, fn, NULL, aux };
}

static size_t
req_index(const struct nm_peer_req *req)
{
    size_t i = (const char *) req - reqs;

    assert_true(i < ARRAY_SIZE(reqs));
    assert_false(answers[i].answered);      /* Answered once. */
    return i;
}

void
__wrap_nm_peers_reply(struct nm_peer_req *req, struct json *result)
{
    size_t i = req_index(req);

    answers[i].answered = true;
    answers[i].error = 0;
    json_destroy(result);
}

void
__wrap_nm_peers_reply_error(struct nm_peer_req *req, int error,
                            const char *format, ...)
{
    size_t i = req_index(req);
    va_list args;

    answers[i].answered = true;
    answers[i].error = error;
    va_start(args, format);
    answers[i].msg = xvasprintf(format, args);
    va_end(args);
}

/* Sends request 'i' of 'method' from 'peer' with 'params' (JSON text). */
static void
call(size_t i, const char *method, const char *peer, const char *params)
{
    struct json *p = json_from_string(params);

    for (size_t k = 0; k < n_methods; k++) {
        if (!strcmp(methods[k].name, method)) {
            assert_non_null(methods[k].async);
            methods[k].async(methods[k].aux, peer, p,
                             (struct nm_peer_req *) &reqs[i]);
            json_destroy(p);
            return;
        }
    }
    fail_msg("no method %s", method);
}

/* ---- the journal's append, failing for one step on demand ---- */

static const char *fail_step;   /* Appends of this step fail (-EIO). */

int __real_nm_journal_append(struct nm_journal *, enum nm_journal_role,
                             const char *, const struct json *, bool);
int __wrap_nm_journal_append(struct nm_journal *, enum nm_journal_role,
                             const char *, const struct json *, bool);

int
__wrap_nm_journal_append(struct nm_journal *j, enum nm_journal_role role,
                         const char *id, const struct json *rec, bool sync)
{
    const char *step = nm_json_member_string(rec, "step");

    if (fail_step && step && !strcmp(step, fail_step)) {
        return -EIO;
    }
    return __real_nm_journal_append(j, role, id, rec, sync);
}

/* ---- the port removal a confirm starts ---- */

static int n_removals;

struct nmovs_op *__real_nmovs_remove_start(struct nmovs_db *,
                                           const char *const *, size_t,
                                           int);
struct nmovs_op *__wrap_nmovs_remove_start(struct nmovs_db *,
                                           const char *const *, size_t,
                                           int);

struct nmovs_op *
__wrap_nmovs_remove_start(struct nmovs_db *db, const char *const *vms,
                          size_t n, int timeout_ms)
{
    n_removals++;
    return __real_nmovs_remove_start(db, vms, n, timeout_ms);
}

/* ---- OVSDB's barrier: passed at once when the test says so ---- */

static bool db_synced;

bool __real_nmovs_db_sync_done(const struct nmovs_db *, uint64_t);
bool __wrap_nmovs_db_sync_done(const struct nmovs_db *, uint64_t);

bool
__wrap_nmovs_db_sync_done(const struct nmovs_db *db, uint64_t ticket)
{
    return db_synced || __real_nmovs_db_sync_done(db, ticket);
}

/* ---- netmoved ---- */

static struct netmoved nm;
static char tmpdir[64];

static int
setup(void **state OVS_UNUSED)
{
    char err[NM_ERRLEN];

    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/netmove-test-source.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_int_equal(source_harness_open(&nm, tmpdir, err, sizeof err), 0);

    n_methods = 0;
    memset(answers, 0, sizeof answers);
    fail_step = NULL;
    n_removals = 0;
    db_synced = false;
    source_init(&nm);

    /* Exported to host2 in migration m1 (as after a restart). */
    struct json *records = source_harness_export_records();
    assert_int_equal(nm_journal_append(nm.journal, NM_JOURNAL_SOURCE, "m1",
                                       json_array(records)->elems[0], true),
                     0);
    source_recover(&nm, "m1", records);
    json_destroy(records);
    assert_true(source_is_outgoing(&nm, "vm1"));
    return 0;
}

static int
teardown(void **state OVS_UNUSED)
{
    source_destroy(&nm);
    for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
        free(answers[i].msg);
    }
    source_harness_close(&nm);
    source_harness_remove(tmpdir);
    return 0;
}

/* Whether migration m1's source journal holds a record of 'step'. */
static bool
journaled(const char *step)
{
    struct json *records = nm_journal_read(nm.journal, NM_JOURNAL_SOURCE,
                                           "m1");
    bool found = false;

    assert_non_null(records);
    for (size_t i = 0; i < json_array(records)->n; i++) {
        const char *s = nm_json_member_string(json_array(records)->elems[i],
                                              "step");
        found |= s && !strcmp(s, step);
    }
    json_destroy(records);
    return found;
}

static const char *confirm_m1 = "{\"vm\": \"vm1\", \"id\": \"m1\"}";

/* A confirm before this host's evidence waits for it; evidence for another
 * destination is refused and releases nothing; the right one starts the
 * removal. */
static void
test_confirm_held_until_left(void **state OVS_UNUSED)
{
    char *error = NULL;

    call(0, "confirm", "host2", confirm_m1);
    source_run(&nm);
    assert_false(answers[0].answered);
    assert_int_equal(n_removals, 0);

    now_ms += 3999;
    source_run(&nm);
    assert_false(answers[0].answered);

    assert_int_equal(source_left(&nm, "vm1", "host3", false, &error),
                     -EINVAL);
    assert_non_null(strstr(error, "host2"));
    free(error);
    error = NULL;
    assert_false(answers[0].answered);
    assert_int_equal(n_removals, 0);

    /* Paused is not left. */
    assert_int_equal(source_left(&nm, "vm1", "host2", true, &error), 0);
    assert_int_equal(n_removals, 0);

    assert_int_equal(source_left(&nm, "vm1", "host2", false, &error), 0);
    assert_int_equal(n_removals, 1);
    assert_true(journaled("left"));
    assert_true(journaled("confirm-begin"));
    assert_false(answers[0].answered);   /* Once the port is gone. */
}

/* No evidence in time: an error the destination retries; nothing removed,
 * the VM still outgoing; the retry, after the evidence, removes. */
static void
test_confirm_held_times_out(void **state OVS_UNUSED)
{
    char *error = NULL;

    call(0, "confirm", "host2", confirm_m1);
    now_ms += 4000;
    source_run(&nm);
    assert_true(answers[0].answered);
    assert_int_equal(answers[0].error, -EAGAIN);
    assert_non_null(strstr(answers[0].msg, "has not left this host"));
    assert_int_equal(n_removals, 0);
    assert_false(journaled("confirm-begin"));
    assert_true(source_is_outgoing(&nm, "vm1"));

    assert_int_equal(source_left(&nm, "vm1", NULL, false, &error), 0);
    call(1, "confirm", "host2", confirm_m1);
    assert_int_equal(n_removals, 1);
}

/* Evidence alone removes nothing: the destination has not confirmed. */
static void
test_left_alone_removes_nothing(void **state OVS_UNUSED)
{
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", false, &error), 0);
    source_run(&nm);
    assert_int_equal(n_removals, 0);
    assert_true(source_is_outgoing(&nm, "vm1"));

    /* Another peer's confirm of it is refused as bad input. */
    call(0, "confirm", "host3", confirm_m1);
    assert_true(answers[0].answered);
    assert_int_equal(answers[0].error, -EINVAL);
    assert_int_equal(n_removals, 0);
}

/* A confirm whose confirm-begin cannot be journaled removes nothing and
 * leaves the VM confirmable: the destination's retry does it. */
static void
test_confirm_unjournaled_removes_nothing(void **state OVS_UNUSED)
{
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", false, &error), 0);
    fail_step = "confirm-begin";
    call(0, "confirm", "host2", confirm_m1);
    assert_true(answers[0].answered);
    assert_int_equal(answers[0].error, -EIO);
    assert_non_null(strstr(answers[0].msg, "nothing removed"));
    assert_int_equal(n_removals, 0);
    assert_true(source_is_outgoing(&nm, "vm1"));

    fail_step = NULL;
    call(1, "confirm", "host2", confirm_m1);
    assert_false(answers[1].answered);
    assert_int_equal(n_removals, 1);
    assert_true(journaled("confirm-begin"));
}

/* Evidence that cannot be journaled is not taken: a restart would not
 * know it. */
static void
test_left_unjournaled_refused(void **state OVS_UNUSED)
{
    char *error = NULL;

    fail_step = "left";
    assert_int_equal(source_left(&nm, "vm1", "host2", false, &error), -EIO);
    free(error);
    fail_step = NULL;
    call(0, "confirm", "host2", confirm_m1);
    assert_false(answers[0].answered);   /* Held: no evidence. */
    assert_int_equal(n_removals, 0);
}

/* The source's journals are named by ids the peers choose: evidence that
 * one VM left, in a journal another peer then exported another VM under
 * (the same id), is not that VM's after a restart; its confirm is held. */
static void
test_recover_left_is_per_export(void **state OVS_UNUSED)
{
    struct json *records = source_harness_export_records();
    struct json *extra = json_object_create();

    json_object_put_string(extra, "peer", "host2");
    json_array_add(records, nm_journal_rec_create(NM_JOURNAL_SOURCE,
                                                  NM_JS_LEFT, "vm1", extra));
    extra = json_object_create();
    json_object_put_string(extra, "peer", "host3");
    json_object_put(extra, "port", json_from_string(
        "{\"version\": 1, \"vm\": \"vm2\", \"ports\": [{\"name\": \"qvo-vm2\","
        " \"bridge\": \"br-int\", \"interfaces\": [{\"name\": \"qvo-vm2\","
        " \"type\": \"\", \"external_ids\": {\"vm-id\": \"vm2\","
        " \"attached-mac\": \"02:00:00:00:00:02\"}}]}]}"));
    json_array_add(records, nm_journal_rec_create(NM_JOURNAL_SOURCE,
                                                  NM_JS_EXPORT, "vm2", extra));
    source_recover(&nm, "m9", records);
    json_destroy(records);
    assert_true(source_is_outgoing(&nm, "vm2"));

    call(0, "confirm", "host3", "{\"vm\": \"vm2\", \"id\": \"m9\"}");
    source_run(&nm);
    assert_false(answers[0].answered);      /* Held: no evidence for vm2. */
    assert_int_equal(n_removals, 0);
}

/* The operator withdraws an export a destination never aborted: its held
 * confirm is cancelled, a later one refused, nothing removed, the journal
 * ended. */
static void
test_forget(void **state OVS_UNUSED)
{
    char *msg = NULL;

    call(0, "confirm", "host2", confirm_m1);
    assert_false(answers[0].answered);
    assert_int_equal(source_forget(&nm, "vm1", &msg), 0);
    assert_non_null(strstr(msg, "withdrew the export of vm1 to host2"));
    free(msg);
    assert_true(answers[0].answered);
    assert_int_equal(answers[0].error, -ECANCELED);
    assert_false(source_is_outgoing(&nm, "vm1"));
    assert_int_equal(n_removals, 0);

    char *path = xasprintf("%s/netmove/source/done/m1.jsonl", tmpdir);
    assert_int_equal(access(path, F_OK), 0);
    free(path);

    call(1, "confirm", "host2", confirm_m1);
    assert_true(answers[1].answered);
    assert_int_equal(answers[1].error, -EINVAL);
    assert_int_equal(n_removals, 0);

    assert_int_equal(source_forget(&nm, "vm1", &msg), -ENOENT);
    free(msg);
}

/* A migration id is the destination's to choose; another peer's, or
 * another VM's, is refused as bad input before anything is read or
 * journaled: two migrations never share one journal. */
static void
test_export_id_taken(void **state OVS_UNUSED)
{
    db_synced = true;
    call(0, "export", "host3", confirm_m1);     /* {vm1, m1} */
    call(1, "export", "host2", "{\"vm\": \"vm2\", \"id\": \"m1\"}");
    call(2, "export", "host2", confirm_m1);     /* The same: a retry. */
    source_run(&nm);
    for (int i = 0; i < 2; i++) {
        assert_true(answers[i].answered);
        assert_int_equal(answers[i].error, -EINVAL);
        assert_non_null(strstr(answers[i].msg,
                               "params.id: 'm1' is another migration's"));
    }
    /* The retry goes on to OVSDB (which this harness does not have). */
    assert_true(!answers[2].answered || !answers[2].msg
                || !strstr(answers[2].msg, "another migration's"));
    assert_true(source_is_outgoing(&nm, "vm1"));
}

/* A peer's exports: 256 at once, then 32 a second; another peer has its
 * own budget. */
static void
test_export_rate(void **state OVS_UNUSED)
{
    static const char *p = "{\"vm\": \"vm2\", \"id\": \"m2\"}";
    size_t i = 0;

    for (; i < 256; i++) {
        call(i, "export", "host2", p);
        assert_false(answers[i].answered);  /* Waits for OVSDB. */
    }
    call(i, "export", "host2", p);
    assert_true(answers[i].answered);
    assert_int_equal(answers[i].error, -EBUSY);
    assert_non_null(strstr(answers[i].msg, "too many exports"));
    i++;

    call(i, "export", "host3", p);
    assert_false(answers[i].answered);
    i++;

    now_ms += 1000;
    for (size_t k = 0; k < 32; k++, i++) {
        call(i, "export", "host2", p);
        assert_false(answers[i].answered);
    }
    call(i, "export", "host2", p);
    assert_true(answers[i].answered);
    assert_int_equal(answers[i].error, -EBUSY);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_confirm_held_until_left,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_held_times_out,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_alone_removes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_confirm_unjournaled_removes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_unjournaled_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_id_taken, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_export_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_left_is_per_export,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
