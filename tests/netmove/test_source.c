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
#include "unixctl.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/daemon/drain_src.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/relay.h"
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


/* ---- the drain's world: relay, peers' requests, announcer, CLI ---- */

static long long int now_us = 5000000000LL;

long long int __wrap_time_usec(void);

long long int
__wrap_time_usec(void)
{
    return now_us;
}

static struct {
    nmovs_relay_cb *cb;
    void *aux;
    uint32_t key;
    int n_catch, n_watch, n_forget;
    struct eth_addr caught_mac;
    uint32_t watch_port;
    unsigned int hard_timeout;
    bool synced;
    int n_output;                       /* Frames out of a port here. */
    uint32_t output_port;
    size_t output_len;
} relay;

struct nmovs_relay *__wrap_nm_relay(struct netmoved *, char **);
uint32_t __wrap_nm_relay_key(struct netmoved *, nmovs_relay_cb *, void *);
void __wrap_nm_relay_forget(struct netmoved *, uint32_t);
int __wrap_nmovs_relay_catch(struct nmovs_relay *, uint32_t,
                             const struct eth_addr, unsigned int);
int __wrap_nmovs_relay_watch(struct nmovs_relay *, uint32_t,
                             const struct eth_addr, uint32_t, unsigned int);
bool __wrap_nmovs_relay_synced(const struct nmovs_relay *);
int __wrap_nmovs_relay_output(struct nmovs_relay *, uint32_t, const void *,
                              size_t);

int
__wrap_nmovs_relay_output(struct nmovs_relay *r OVS_UNUSED, uint32_t ofport,
                          const void *data OVS_UNUSED, size_t len)
{
    relay.n_output++;
    relay.output_port = ofport;
    relay.output_len = len;
    return 0;
}

struct nmovs_relay *
__wrap_nm_relay(struct netmoved *nm_ OVS_UNUSED, char **errorp OVS_UNUSED)
{
    return (struct nmovs_relay *) &relay;
}

uint32_t
__wrap_nm_relay_key(struct netmoved *nm_ OVS_UNUSED, nmovs_relay_cb *cb,
                    void *aux)
{
    relay.cb = cb;
    relay.aux = aux;
    return ++relay.key;
}

void
__wrap_nm_relay_forget(struct netmoved *nm_ OVS_UNUSED, uint32_t key)
{
    assert_int_equal(key, relay.key);
    relay.n_forget++;
    relay.cb = NULL;
}

int
__wrap_nmovs_relay_catch(struct nmovs_relay *r OVS_UNUSED, uint32_t key,
                         const struct eth_addr mac, unsigned int timeout)
{
    assert_int_equal(key, relay.key);
    relay.n_catch++;
    relay.caught_mac = mac;
    relay.hard_timeout = timeout;
    return 0;
}

int
__wrap_nmovs_relay_watch(struct nmovs_relay *r OVS_UNUSED, uint32_t key,
                         const struct eth_addr mac, uint32_t ofport,
                         unsigned int timeout OVS_UNUSED)
{
    assert_int_equal(key, relay.key);
    assert_true(eth_addr_equals(mac, relay.caught_mac));
    relay.n_watch++;
    relay.watch_port = ofport;
    return 0;
}

bool
__wrap_nmovs_relay_synced(const struct nmovs_relay *r OVS_UNUSED)
{
    return relay.synced;
}

/* A frame from the switch, as the relay hands it over. */
static void
relay_frame(enum nmovs_relay_reason reason, const uint8_t *data, size_t len)
{
    struct nmovs_relay_frame f = { relay.key, reason, 1, data, len };

    assert_non_null(relay.cb);
    relay.cb(relay.aux, &f);
}

#define VM_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x01
#define OTHER_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x09
#define CLIENT_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x33

/* Requests to peers, kept (their params as text). */
#define MAX_SENT 256
static struct {
    char *method;
    char *params;
} sent[MAX_SENT];
static size_t n_sent;

static int
fake_request(struct netmoved *nm_ OVS_UNUSED, const char *peer,
             const char *method, struct json *params,
             long long int timeout_ms OVS_UNUSED,
             nm_peer_reply_cb *cb OVS_UNUSED, void *aux OVS_UNUSED)
{
    assert_string_equal(peer, "host2");
    assert_true(n_sent < MAX_SENT);
    sent[n_sent].method = xstrdup(method);
    sent[n_sent].params = json_to_string(json_array(params)->elems[0],
                                         JSSF_SORT);
    n_sent++;
    json_destroy(params);
    return 0;
}

static void
fake_cancel(struct netmoved *nm_ OVS_UNUSED, void *aux OVS_UNUSED)
{
}

/* Every port on VLAN 0 but FOREIGN_PORT, on VLAN 200. */
#define FOREIGN_PORT 9
static int n_forwarded;

static int
fake_frame_vlan(struct netmoved *nm_ OVS_UNUSED, uint32_t ofport,
                const void *frame OVS_UNUSED, size_t len OVS_UNUSED)
{
    return ofport == FOREIGN_PORT ? 200 : 0;
}

static void
fake_drain_forward(struct netmoved *nm_ OVS_UNUSED,
                   uint32_t in_port OVS_UNUSED, const void *frame OVS_UNUSED,
                   size_t len OVS_UNUSED)
{
    n_forwarded++;
}

static int
fake_vm_iface_by_mac(struct netmoved *nm_ OVS_UNUSED, const char *vm,
                     struct eth_addr mac OVS_UNUSED, char **name,
                     uint32_t *ofport)
{
    assert_string_equal(vm, "vm1");
    *name = xstrdup("qvo-vm1");
    *ofport = 7;
    return 0;
}

static int n_announced;
static uint32_t announced_port;

static int
fake_announce_add(struct netmoved *nm_ OVS_UNUSED, const struct garp_vm *vm,
                  uint64_t now OVS_UNUSED, size_t *idx,
                  char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    n_announced++;
    announced_port = vm->ofport;
    *idx = 0;
    return 0;
}

static int
fake_announce_run(struct netmoved *nm_ OVS_UNUSED, uint64_t now OVS_UNUSED)
{
    return 0;
}

static const struct mig_ops fake_ops = {
    .request = fake_request,
    .cancel = fake_cancel,
    .vm_iface_by_mac = fake_vm_iface_by_mac,
    .frame_vlan = fake_frame_vlan,
    .drain_forward = fake_drain_forward,
    .announce_add = fake_announce_add,
    .announce_run = fake_announce_run,
    .announce_cancel = NULL,            /* Only the destination cancels. */
};

/* The CLI's answer to `netmove paused`. */
/* Whether the destination serves 'drain' (its hello's capabilities). */
static bool dst_drains;

static int cli_replies, cli_errors;
static char cli_last[256];

void __wrap_unixctl_command_reply(struct unixctl_conn *, const char *);
void __wrap_unixctl_command_reply_error(struct unixctl_conn *, const char *);

void
__wrap_unixctl_command_reply(struct unixctl_conn *c OVS_UNUSED,
                             const char *s)
{
    snprintf(cli_last, sizeof cli_last, "%s", s);
    cli_replies++;
}

void
__wrap_unixctl_command_reply_error(struct unixctl_conn *c OVS_UNUSED,
                                   const char *s OVS_UNUSED)
{
    cli_errors++;
}

static void
drain_reset(void)
{
    memset(&relay, 0, sizeof relay);
    for (size_t i = 0; i < n_sent; i++) {
        free(sent[i].method);
        free(sent[i].params);
    }
    n_sent = 0;
    n_announced = 0;
    cli_replies = cli_errors = 0;
}

/* How many requests of 'method' were sent. */
static size_t
n_sent_of(const char *method)
{
    size_t n = 0;

    for (size_t i = 0; i < n_sent; i++) {
        n += !strcmp(sent[i].method, method);
    }
    return n;
}

/* The params of the last request of 'method' (NULL: none). */
static const char *
last_sent(const char *method)
{
    for (size_t i = n_sent; i-- > 0;) {
        if (!strcmp(sent[i].method, method)) {
            return sent[i].params;
        }
    }
    return NULL;
}

/* The index of the first request of 'method' (n_sent: none). */
static size_t
sent_index(const char *method)
{
    size_t i;

    for (i = 0; i < n_sent && strcmp(sent[i].method, method); i++) {
        continue;
    }
    return i;
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
    drain_reset();
    dst_drains = true;
    nm.ops = &fake_ops;
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
    drain_reset();
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

/* The timeline's "records" (migration_timeline.c): this host's records of
 * a migration, only for the peer it exported to, trimmed of the
 * documents; with this host's clock. */
static void
test_records_served(void **state OVS_UNUSED)
{
    nm_peer_method_fn *fn = NULL;
    struct json *result = NULL;
    char *error = NULL;

    migration_timeline_init(&nm);
    for (size_t k = 0; k < n_methods; k++) {
        if (!strcmp(methods[k].name, "records")) {
            fn = methods[k].sync;
        }
    }
    assert_non_null(fn);

    struct json *p = json_from_string(confirm_m1);
    assert_int_equal(fn(&nm, "host2", p, &result, &error), 0);
    json_destroy(p);
    assert_string_equal(nm_json_member_string(result, "host"), "host1");
    assert_non_null(nm_json_member_type(result, "wall_us", JSON_INTEGER));
    const struct json *recs = nm_json_member_type(result, "records",
                                                  JSON_ARRAY);
    assert_non_null(recs);
    assert_true(json_array(recs)->n >= 1);
    const struct json *r0 = json_array(recs)->elems[0];
    assert_string_equal(nm_json_member_string(r0, "step"), "export");
    assert_string_equal(nm_json_member_string(r0, "peer"), "host2");
    assert_null(nm_json_member(r0, "port"));        /* No document. */
    json_destroy(result);

    /* Another peer, another VM, bad params: bad input, nothing told. */
    static const char *const bad[][3] = {
        { "host3", "{\"vm\": \"vm1\", \"id\": \"m1\"}",
          "no export of vm1 to host3 in migration m1" },
        { "host2", "{\"vm\": \"vm2\", \"id\": \"m1\"}", "no export of vm2" },
        { "host2", "{\"vm\": \"vm1\", \"id\": \"m9\"}", "migration m9" },
        { "host2", "{\"vm\": \"vm1\"}", "params.id" },
        { "host2", "{\"vm\": \"a b\", \"id\": \"m1\"}", "params.vm" },
        { "host2", "{\"vm\": \"vm1\", \"id\": \"../m1\"}", "no export" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        p = json_from_string(bad[i][1]);
        result = NULL;
        assert_int_equal(fn(&nm, bad[i][0], p, &result, &error), -EINVAL);
        assert_null(result);
        if (!strstr(error, bad[i][2])) {
            fail_msg("%s: got '%s'", bad[i][2], error);
        }
        free(error);
        json_destroy(p);
    }
}

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

    assert_int_equal(source_left(&nm, "vm1", "host3", NM_EV_LEFT, &error),
                     -EINVAL);
    assert_non_null(strstr(error, "host2"));
    free(error);
    error = NULL;
    assert_false(answers[0].answered);
    assert_int_equal(n_removals, 0);

    /* Paused is not left. */
    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_PAUSING, &error), 0);
    assert_int_equal(n_removals, 0);

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_LEFT, &error), 0);
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

    assert_int_equal(source_left(&nm, "vm1", NULL, NM_EV_LEFT, &error), 0);
    call(1, "confirm", "host2", confirm_m1);
    assert_int_equal(n_removals, 1);
}

/* Evidence alone removes nothing: the destination has not confirmed. */
static void
test_left_alone_removes_nothing(void **state OVS_UNUSED)
{
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_LEFT, &error), 0);
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

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_LEFT, &error), 0);
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
    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_LEFT, &error), -EIO);
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


/* ---- the drain ---- */

/* Which caught frames may cross: only unicast to one of the VM's MACs, a
 * tag only the VM port's; the relayed form has no tag. */
static void
test_drain_classify(void **state OVS_UNUSED)
{
    const struct drain_iface ifs[] = {
        { .mac = ETH_ADDR_C(02,00,00,00,00,01), .ofport = 7, .tag = 100 },
    };
    uint8_t to_vm[60] = { VM_MAC, CLIENT_MAC, 0x08, 0x00, 0x45 };
    uint8_t to_other[60] = { OTHER_MAC, CLIENT_MAC, 0x08, 0x00 };
    uint8_t bcast[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, CLIENT_MAC,
                          0x08, 0x06 };
    uint8_t tagged[64] = { VM_MAC, CLIENT_MAC, 0x81, 0x00, 0x00, 100,
                           0x08, 0x00, 0x45, 0xaa };
    uint8_t wrong_vlan[64] = { VM_MAC, CLIENT_MAC, 0x81, 0x00, 0x00, 200,
                               0x08, 0x00 };
    bool t;

    assert_int_equal(drain_src_classify(ifs, 1, to_vm, sizeof to_vm, &t),
                     DRAIN_RELAY);
    assert_false(t);
    assert_int_equal(drain_src_classify(ifs, 1, to_other, sizeof to_other,
                                        &t), DRAIN_SCOPE);
    assert_int_equal(drain_src_classify(ifs, 1, bcast, sizeof bcast, &t),
                     DRAIN_SCOPE);
    assert_int_equal(drain_src_classify(ifs, 1, to_vm, 13, &t),
                     DRAIN_SCOPE);
    assert_int_equal(drain_src_classify(ifs, 1, tagged, 16, &t),
                     DRAIN_SCOPE);
    assert_int_equal(drain_src_classify(ifs, 1, wrong_vlan,
                                        sizeof wrong_vlan, &t), DRAIN_SCOPE);
    assert_int_equal(drain_src_classify(ifs, 1, tagged, sizeof tagged, &t),
                     DRAIN_RELAY);
    assert_true(t);

    /* Stripped: the 4 bytes at offset 12 are gone, hex two digits a byte
     * from the first (a leading zero byte stays: not ds_put_hex()). */
    struct ds ds = DS_EMPTY_INITIALIZER;
    assert_int_equal(drain_src_put_frame(&ds, tagged, sizeof tagged, true),
                     60);
    assert_int_equal(ds.length, 120);
    assert_true(!strncmp(ds_cstr(&ds), "020000000001020000000033"
                         "080045aa00", 34));
    ds_clear(&ds);
    uint8_t zero_first[14] = { 0 };
    zero_first[5] = 1;
    assert_int_equal(drain_src_put_frame(&ds, zero_first, 14, false), 14);
    assert_string_equal(ds_cstr(&ds), "0000000000010000000000000000");
    ds_destroy(&ds);

    /* An untagged port takes untagged frames, or a priority tag. */
    const struct drain_iface plain[] = {
        { .mac = ETH_ADDR_C(02,00,00,00,00,01), .ofport = 7, .tag = 0 },
    };
    assert_int_equal(drain_src_classify(plain, 1, tagged, sizeof tagged, &t),
                     DRAIN_SCOPE);
    tagged[15] = 0;
    assert_int_equal(drain_src_classify(plain, 1, tagged, sizeof tagged, &t),
                     DRAIN_RELAY);
}

static void
test_drain_bounds_and_due(void **state OVS_UNUSED)
{
    const struct nm_drain_config b = NM_DRAIN_DEFAULTS;

    assert_true(drain_src_within_bounds(&b, 0, 0, 1514, 0));
    assert_true(drain_src_within_bounds(&b, b.max_packets - 1, 0, 60, 0));
    assert_false(drain_src_within_bounds(&b, b.max_packets, 0, 60, 0));
    assert_true(drain_src_within_bounds(&b, 1, b.max_bytes - 60, 60, 0));
    assert_false(drain_src_within_bounds(&b, 1, b.max_bytes - 59, 60, 0));
    assert_true(drain_src_within_bounds(&b, 1, 0, 60, DRAIN_MAX_UNANSWERED));
    assert_false(drain_src_within_bounds(&b, 1, 0, 60,
                                         DRAIN_MAX_UNANSWERED + 1));

    long long int next, p = 1000000;
    /* No watch yet: only the failsafe. */
    assert_int_equal(drain_src_due(&b, p, 0, p + 10, p + 5000000, &next),
                     DRAIN_GO_ON);
    assert_int_equal(next, p + b.max_ms * 1000LL);
    assert_int_equal(drain_src_due(&b, p, 0, 0, p + b.max_ms * 1000LL,
                                   &next), DRAIN_STOP_FAILSAFE);
    /* Watch seen at +100 ms, a frame caught at +101 ms: quiet (2 ms) from
     * then. */
    long long int w = p + 100000, c = p + 101000;
    assert_int_equal(drain_src_due(&b, p, w, c, c + 1999, &next),
                     DRAIN_GO_ON);
    assert_int_equal(next, c + 2000);
    assert_int_equal(drain_src_due(&b, p, w, c, c + 2000, &next),
                     DRAIN_STOP_QUIET);
    assert_int_equal(drain_src_due(&b, p, w, 0, w + 2000, &next),
                     DRAIN_STOP_QUIET);

    /* The configuration's bounds, not built-in ones. */
    const struct nm_drain_config o = { .max_ms = 500, .quiet_ms = 30,
                                       .max_packets = 10, .max_bytes = 600 };
    assert_false(drain_src_within_bounds(&o, 10, 0, 60, 0));
    assert_false(drain_src_within_bounds(&o, 1, 541, 60, 0));
    assert_int_equal(drain_src_due(&o, p, 0, 0, p + 500000, &next),
                     DRAIN_STOP_FAILSAFE);
    assert_int_equal(drain_src_due(&o, p, w, c, c + 29999, &next),
                     DRAIN_GO_ON);
    assert_int_equal(next, c + 30000);
}

bool __wrap_nm_peers_has_capability(const struct nm_peers *, const char *,
                                    const char *);
bool
__wrap_nm_peers_has_capability(const struct nm_peers *peers OVS_UNUSED,
                               const char *peer, const char *capability)
{
    return dst_drains && !strcmp(peer, "host2")
           && !strcmp(capability, "drain");
}

/* Pauses vm1 (exported to host2 in m1) through the CLI's path. */
static void
pause_vm1(void)
{
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_PAUSING, &error), 0);
    source_paused_reply(&nm, (const char *[]) { "vm1" }, 1, NULL, false,
                        (struct unixctl_conn *) &relay);
}

/* `paused` catches and watches the VM's MAC, answers once the catch is in
 * the switch and then tells the destination; a frame to another MAC or a
 * broadcast never crosses, the VM's go in one request a pass; the watch's
 * sight of the MAC and 2 ms quiet release the catch, then drain-end carries
 * the totals, and the journal the counters. */
static void
test_drain_relays_and_ends(void **state OVS_UNUSED)
{
    pause_vm1();
    assert_int_equal(relay.n_catch, 1);
    assert_int_equal(relay.n_watch, 1);
    assert_int_equal(relay.watch_port, 7);
    assert_int_equal(relay.hard_timeout, DRAIN_HARD_TIMEOUT_S);
    source_run(&nm);
    assert_int_equal(cli_replies + cli_errors, 0);  /* Not synced yet. */
    assert_int_equal(n_sent_of("paused"), 0);
    relay.synced = true;
    source_run(&nm);
    assert_int_equal(cli_replies, 1);
    assert_non_null(strstr(last_sent("paused"), "\"id\":\"m1\""));
    assert_non_null(strstr(last_sent("paused"), "\"paused_us\":"));

    uint8_t to_vm[60] = { VM_MAC, CLIENT_MAC, 0x08, 0x00, 0x45 };
    uint8_t to_other[60] = { OTHER_MAC, CLIENT_MAC, 0x08, 0x00 };
    uint8_t bcast[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, CLIENT_MAC };
    relay_frame(NMOVS_RELAY_CAUGHT, to_vm, sizeof to_vm);
    relay_frame(NMOVS_RELAY_CAUGHT, to_other, sizeof to_other);
    relay_frame(NMOVS_RELAY_CAUGHT, bcast, sizeof bcast);
    to_vm[14] = 0x46;
    relay_frame(NMOVS_RELAY_CAUGHT, to_vm, sizeof to_vm);
    source_run(&nm);
    assert_int_equal(n_sent_of("drain"), 1);
    const char *d = last_sent("drain");
    assert_non_null(strstr(d, "\"seq\":0"));
    assert_non_null(strstr(d, "\"frames\":[\"0200000000010200000000330800"
                           "45"));
    assert_non_null(strstr(d, "\",\"0200000000010200000000330800" "46"));
    assert_null(strstr(d, "020000000009"));
    assert_null(strstr(d, "ffffffffffff"));

    /* The announcement is back; 2 ms without a frame end it. */
    uint8_t from_vm[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, VM_MAC,
                            0x80, 0x35 };
    relay_frame(NMOVS_RELAY_WATCHED, from_vm, sizeof from_vm);
    now_us += 1000;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 0);
    relay_frame(NMOVS_RELAY_CAUGHT, to_vm, sizeof to_vm);  /* Late one. */
    now_us += 1999;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 0);
    assert_int_equal(n_sent_of("drain"), 2);
    assert_non_null(strstr(last_sent("drain"), "\"seq\":2"));
    now_us += 1;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 1);
    assert_string_equal(last_sent("drain-end"),
                        "{\"bytes\":180,\"dropped_bytes\":0,"
                        "\"dropped_frames\":0,\"frames\":3,\"id\":\"m1\","
                        "\"vm\":\"vm1\"}");
    assert_true(journaled("drained"));
    source_run(&nm);
    assert_int_equal(n_sent_of("drain-end"), 1);    /* Once. */

    struct json *j = source_drains_to_json(&nm);
    const struct json *c = nm_json_member(j, "vm1");
    assert_non_null(c);
    assert_int_equal(json_integer(nm_json_member(c, "caught")), 5);
    assert_int_equal(json_integer(nm_json_member(c, "relayed_frames")), 3);
    assert_int_equal(json_integer(nm_json_member(c, "forwarded")), 2);
    assert_true(json_integer(nm_json_member(c, "t_watch_seen")) > 0);
    assert_true(json_integer(nm_json_member(c, "t_released")) > 0);
    json_destroy(j);
}

/* Past the configuration's drain.max_packets (640 here), frames are
 * dropped and counted; batches are DRAIN_BATCH frames; drain-end tells the
 * drops; the failsafe (drain.max_ms after the pause, 3 s here) ends a drain
 * whose watch never saw the VM. */
static void
test_drain_bounds_counted(void **state OVS_UNUSED)
{
    uint8_t to_vm[60] = { VM_MAC, CLIENT_MAC, 0x08, 0x00 };

    nm.cfg->drain.max_packets = 640;
    nm.cfg->drain.max_ms = 3000;
    relay.synced = true;
    pause_vm1();
    source_run(&nm);
    for (int i = 0; i < 640 + 10; i++) {
        relay_frame(NMOVS_RELAY_CAUGHT, to_vm, sizeof to_vm);
    }
    source_run(&nm);
    assert_int_equal(n_sent_of("drain"), 640 / DRAIN_BATCH);
    assert_non_null(strstr(last_sent("drain"), "\"seq\":576"));
    now_us += 3000 * 1000LL - 1;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 0);
    now_us += 1;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 1);
    assert_string_equal(last_sent("drain-end"),
                        "{\"bytes\":38400,\"dropped_bytes\":600,"
                        "\"dropped_frames\":10,\"frames\":640,\"id\":\"m1\","
                        "\"vm\":\"vm1\"}");
}

/* An abort from the destination mid-drain: the catch goes, the VM is
 * announced again from its own port here, no drain-end; a `paused` that
 * never synced is answered with an error after DRAIN_SYNC_MS. */
static void
test_drain_abort_reannounces(void **state OVS_UNUSED)
{
    pause_vm1();
    now_us += DRAIN_SYNC_MS * 1000LL;
    source_run(&nm);
    assert_int_equal(cli_errors, 1);
    assert_int_equal(n_sent_of("paused"), 1);

    for (size_t k = 0; k < n_methods; k++) {
        if (!strcmp(methods[k].name, "abort")) {
            struct json *p = json_from_string(confirm_m1);
            struct json *result = NULL;
            char *error = NULL;
            assert_int_equal(methods[k].sync(methods[k].aux, "host2", p,
                                             &result, &error), 0);
            json_destroy(result);
            json_destroy(p);
        }
    }
    assert_int_equal(relay.n_forget, 1);
    assert_int_equal(n_announced, 1);
    assert_int_equal(announced_port, 7);
    assert_int_equal(n_sent_of("drain-end"), 0);
    assert_false(source_is_outgoing(&nm, "vm1"));
}

/* The exec form (`netmove paused` before the stop): until its answer the VM
 * still runs here, so a frame caught then goes out of its port here, tag
 * removed, and is not relayed; after the answer frames are relayed.  The
 * watchers' form (stopped already) relays from the first frame. */
static void
test_drain_here_until_answered(void **state OVS_UNUSED)
{
    uint8_t tagged[64] = { VM_MAC, CLIENT_MAC, 0x81, 0x00, 0x00, 0x00,
                           0x08, 0x00, 0x45 };

    pause_vm1();
    relay_frame(NMOVS_RELAY_CAUGHT, tagged, sizeof tagged);
    assert_int_equal(relay.n_output, 1);
    assert_int_equal(relay.output_port, 7);
    assert_int_equal(relay.output_len, sizeof tagged - 4);
    relay.synced = true;
    source_run(&nm);
    assert_int_equal(cli_replies, 1);
    relay_frame(NMOVS_RELAY_CAUGHT, tagged, sizeof tagged);
    assert_int_equal(relay.n_output, 1);
    source_run(&nm);
    assert_int_equal(n_sent_of("drain"), 1);
    assert_non_null(strstr(last_sent("drain"), "\"seq\":0"));
    assert_non_null(strstr(last_sent("drain"), "\"frames\":[\"02"));
}

/* A batch's `paused` (netmove paused VM VM...): one answer, once every
 * drain's catch is in; a VM without a drain waits for nothing. */
static void
test_drain_paused_batch_one_answer(void **state OVS_UNUSED)
{
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_PAUSING, &error),
                     0);
    source_paused_reply(&nm, (const char *[]) { "vm1", "vm7" }, 2, NULL,
                        false, (struct unixctl_conn *) &relay);
    source_run(&nm);
    assert_int_equal(cli_replies + cli_errors, 0);  /* vm1's not in yet. */
    relay.synced = true;
    source_run(&nm);
    source_run(&nm);
    assert_int_equal(cli_replies, 1);
    assert_int_equal(cli_errors, 0);
    assert_non_null(strstr(cli_last, "catching the frames of 1 VM(s) (the "
                           "others have no drain"));
}

/* A batch with another VM's error: the error answer still waits for the
 * accepted VMs' catches (the migrator stops them all on any answer). */
static void
test_drain_paused_batch_error_waits(void **state OVS_UNUSED)
{
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_PAUSING, &error),
                     0);
    source_paused_reply(&nm, (const char *[]) { "vm1" }, 1,
                        "vm9: nothing of vm9 is outgoing here", false,
                        (struct unixctl_conn *) &relay);
    source_run(&nm);
    assert_int_equal(cli_replies + cli_errors, 0);  /* vm1's not in yet. */
    relay.synced = true;
    source_run(&nm);
    assert_int_equal(cli_replies, 0);
    assert_int_equal(cli_errors, 1);
}

static void
test_drain_stopped_relays_all(void **state OVS_UNUSED)
{
    uint8_t to_vm[60] = { VM_MAC, CLIENT_MAC, 0x08, 0x00, 0x45 };
    char *error = NULL;

    assert_int_equal(source_left(&nm, "vm1", "host2", NM_EV_STOPPED, &error),
                     0);
    source_paused_reply(&nm, (const char *[]) { "vm1" }, 1, NULL, false,
                        (struct unixctl_conn *) &relay);
    relay_frame(NMOVS_RELAY_CAUGHT, to_vm, sizeof to_vm);
    assert_int_equal(relay.n_output, 0);
    source_run(&nm);
    assert_int_equal(n_sent_of("drain"), 0);    /* After `paused` only. */
    relay.synced = true;
    source_run(&nm);
    assert_int_equal(n_sent_of("paused"), 1);
    assert_int_equal(n_sent_of("drain"), 1);
    assert_true(sent_index("paused") < sent_index("drain"));
}

/* The catch matches the VM's MAC on every VLAN: a frame that entered on a
 * port of another VLAN goes on as without the catch, never relayed. */
static void
test_drain_other_vlan(void **state OVS_UNUSED)
{
    uint8_t to_vm[60] = { VM_MAC, CLIENT_MAC, 0x08, 0x00, 0x45 };
    struct nmovs_relay_frame f = { 0, NMOVS_RELAY_CAUGHT, FOREIGN_PORT,
                                   to_vm, sizeof to_vm };

    pause_vm1();
    relay.synced = true;
    source_run(&nm);
    n_forwarded = 0;
    f.key = relay.key;
    relay.cb(relay.aux, &f);
    source_run(&nm);
    assert_int_equal(n_forwarded, 1);
    assert_int_equal(n_sent_of("drain"), 0);
    relay_frame(NMOVS_RELAY_CAUGHT, to_vm, sizeof to_vm);
    source_run(&nm);
    assert_int_equal(n_sent_of("drain"), 1);
}

/* The destination's session goes: a reconnection's blip releases
 * nothing; gone DRAIN_GONE_MS (it died), the catch is released, not at the
 * failsafe 10 s later. */
static void
test_drain_destination_gone(void **state OVS_UNUSED)
{
    pause_vm1();
    relay.synced = true;
    source_run(&nm);
    dst_drains = false;
    source_run(&nm);
    now_us += DRAIN_GONE_MS * 1000LL - 1;
    dst_drains = true;                  /* Back: a blip. */
    source_run(&nm);
    dst_drains = false;
    source_run(&nm);
    now_us += DRAIN_GONE_MS * 1000LL - 1;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 0);
    now_us += 1;
    source_run(&nm);
    assert_int_equal(relay.n_forget, 1);
}

/* A destination that does not serve 'drain' (an older netmove) gets no
 * catch: the frames wait in the VM's tap as before, and reach it if the
 * migration fails and it resumes here. */
static void
test_drain_needs_capability(void **state OVS_UNUSED)
{
    dst_drains = false;
    pause_vm1();
    assert_int_equal(relay.n_catch, 0);
    assert_int_equal(relay.n_watch, 0);
    assert_int_equal(cli_replies, 1);
    source_run(&nm);
    assert_int_equal(n_sent_of("paused"), 0);
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
        cmocka_unit_test(test_drain_classify),
        cmocka_unit_test(test_drain_bounds_and_due),
        cmocka_unit_test_setup_teardown(test_drain_relays_and_ends,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_bounds_counted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_abort_reannounces,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_needs_capability,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_other_vlan, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_destination_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_here_until_answered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_paused_batch_one_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_paused_batch_error_waits,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_served, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_stopped_relays_all,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
