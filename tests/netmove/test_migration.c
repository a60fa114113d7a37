/* netmove/daemon/migration*.c: the destination's state machine, driven for
 * real against fakes behind its ops table (netmove/daemon/mig_ops.h): a
 * peer that queues requests for the test to answer, OVS, firewall and an
 * announcer that record what they are asked.  The journal is the real one,
 * in a temporary directory; the clock (time_usec, time_wall_usec) and the
 * CLI's answers (unixctl_command_reply*) are wrapped at link time
 * (test_migration.mk). */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/list.h"
#include "util.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/common/config-private.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/service.h"
#include "netmove/daemon/source.h"
#include "ovs/ovs.h"

#define MAX_REQS 16
#define MAX_REPLIES 8
#define MAX_ANN 16

/* ---- the clock: monotonic and wall, advanced by the test ---- */

static long long int mono_us, wall_us;

long long int __wrap_time_usec(void);
long long int __wrap_time_wall_usec(void);

long long int
__wrap_time_usec(void)
{
    return mono_us;
}

long long int
__wrap_time_wall_usec(void)
{
    return wall_us;
}

static void
advance_ms(unsigned int ms)
{
    mono_us += ms * 1000LL;
    wall_us += ms * 1000LL;
}

/* ---- the fakes ---- */

struct fake_req {
    char *peer, *method;
    struct json *params;
    nm_peer_reply_cb *cb;
    void *aux;
};

struct fake_reply {
    void *conn;
    bool ok;
    char *state;                /* The answer's migration state. */
    char *journal_last;         /* The journal's last step then. */
    char *text;
};

static struct fake {
    struct fake_req reqs[MAX_REQS];
    size_t n_reqs;
    struct ds calls;            /* "op arg;" for every OVS/fw call. */
    size_t n_ann;               /* Announcer entries added. */
    size_t n_sent;              /* ...of which sent. */
    struct fake_reply replies[MAX_REPLIES];
    size_t n_replies;

    /* The port step: runs under way before it ends, its outcome then. */
    size_t step_runs;
    int step_error;
    size_t step_missing;
    size_t n_steps;             /* Steps under way now. */
    size_t n_port_starts;       /* Imports and adoptions started. */
    const char *bad_id;         /* A step staging this id fails. */
    bool bad_attributed;        /* ...and says which document. */
    int fw_many_error;          /* fw_import_many's outcome. */
    bool records;               /* The source offers "records" (else the
                                 * request fails at once, as to a peer
                                 * that does not offer it). */

    /* OVSDB's replica as the state machine sees it. */
    unsigned int db_seqno;
    uint32_t ports_hash;

    /* The drain's relay: the hold's key and callback, outputs refused
     * with -EAGAIN this many times. */
    uint32_t n_keys;
    nmovs_relay_cb *hold_cb;
    void *hold_aux;
    size_t output_eagain;

    /* The uplink: none, or the VLAN the VM's frames carry there; the
     * first frames' outcome. */
    bool no_uplink;
    uint16_t uplink_vid;
    int first_error;
} fake;

static struct netmoved nm;
static struct nm_config cfg;
static struct nm_peer_config peer_cfg = { .name = (char *) "h1" };
static char state_dir[64];

static void
call(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    ds_put_format_valist(&fake.calls, fmt, args);
    va_end(args);
    ds_put_char(&fake.calls, ';');
}

static int
fake_request(struct netmoved *nm_ OVS_UNUSED, const char *peer,
             const char *method, struct json *params,
             long long int timeout_ms OVS_UNUSED, nm_peer_reply_cb *cb,
             void *aux)
{
    bool known = false;

    for (size_t i = 0; i < cfg.n_peers; i++) {
        known |= !strcmp(cfg.peers[i].name, peer);
    }
    if (!known) {
        json_destroy(params);
        return -ENOENT;
    }
    if (!strcmp(method, "records") && !fake.records) {
        json_destroy(params);
        return -EOPNOTSUPP;
    }
    assert_true(fake.n_reqs < MAX_REQS);
    fake.reqs[fake.n_reqs++] = (struct fake_req) {
        xstrdup(peer), xstrdup(method), params, cb, aux,
    };
    return 0;
}

static void
req_free(struct fake_req *r)
{
    free(r->peer);
    free(r->method);
    json_destroy(r->params);
}

static void
fake_cancel(struct netmoved *nm_ OVS_UNUSED, void *aux)
{
    for (size_t i = 0; i < fake.n_reqs; i++) {
        if (fake.reqs[i].aux == aux) {
            req_free(&fake.reqs[i]);
            memmove(&fake.reqs[i], &fake.reqs[i + 1],
                    (--fake.n_reqs - i) * sizeof fake.reqs[0]);
            i--;
        }
    }
}

/* The fake's port step: under way for 'fake.step_runs' runs, then ends
 * with 'fake.step_error'. */
struct nmovs_op {
    size_t n_runs;
    bool bad;                   /* Stages 'fake.bad_id': fails. */
    size_t bad_doc;             /* Its index. */
};

static struct nmovs_op *
fake_port_start(struct netmoved *nm_ OVS_UNUSED, bool adopt,
                struct nmovs_doc *const *docs OVS_UNUSED, size_t n,
                const struct nmovs_import_opts *opts)
{
    struct nmovs_op *op = xzalloc(sizeof *op);
    struct ds by = DS_EMPTY_INITIALIZER;

    for (size_t i = 0; i < (opts->doc_staged_by ? n : 1); i++) {
        const char *id = opts->doc_staged_by ? opts->doc_staged_by[i]
                                             : opts->staged_by;
        ds_put_format(&by, "%s%s", i ? "," : "", id);
        if (fake.bad_id && !strcmp(id, fake.bad_id)) {
            op->bad = true;
            op->bad_doc = i;
        }
    }
    call("stage %zu%s%s by %s", n, adopt ? " adopt" : "",
         opts->blocked ? " blocked" : "", ds_cstr(&by));
    ds_destroy(&by);
    fake.n_steps++;
    fake.n_port_starts++;
    return op;
}

static int
fake_port_step(struct nmovs_op *op, size_t *n_missing, bool *changed,
               char *err, size_t errlen)
{
    if (op->n_runs++ < fake.step_runs) {
        return -EAGAIN;
    }
    *changed = true;
    *n_missing = fake.step_missing;
    if (op->bad) {
        snprintf(err, errlen, "port tap: belongs to another VM");
        return -EEXIST;
    }
    if (fake.step_error) {
        snprintf(err, errlen, "fake step failed");
    }
    return fake.step_error;
}

static size_t
fake_port_failed_doc(const struct nmovs_op *op)
{
    return op->bad && fake.bad_attributed ? op->bad_doc : SIZE_MAX;
}

static void
fake_port_wait(struct nmovs_op *op OVS_UNUSED)
{
}

static void
fake_port_end(struct nmovs_op *op, bool finish)
{
    call("step-end%s", finish ? " finish" : "");
    fake.n_steps--;
    free(op);
}

static struct nmovs_op *
fake_port_remove_start(struct netmoved *nm_ OVS_UNUSED, const char *staged_by)
{
    call("remove-staged %s", staged_by);
    fake.n_steps++;
    return xzalloc(sizeof(struct nmovs_op));
}

static int
fake_port_activate(struct netmoved *nm_ OVS_UNUSED, const char *vm,
                   char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    call("activate %s", vm);
    return 0;
}

static int
fake_port_activate_many(struct netmoved *nm_ OVS_UNUSED,
                        const char *const *vms, size_t n,
                        char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    call("activate-many %s/%zu", vms[0], n);
    return 0;
}

static unsigned int
fake_db_seqno(struct netmoved *nm_ OVS_UNUSED)
{
    return fake.db_seqno;
}

static uint32_t
fake_vm_ports_hash(struct netmoved *nm_ OVS_UNUSED, const char *vm OVS_UNUSED)
{
    return fake.ports_hash;
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
fake_vm_iface_by_mac(struct netmoved *nm_ OVS_UNUSED,
                     const char *vm OVS_UNUSED,
                     struct eth_addr mac OVS_UNUSED, char **name,
                     uint32_t *ofport)
{
    *name = xstrdup("vnet7");   /* This host's name for the tap. */
    *ofport = 7;
    return 0;
}

static int
fake_fw_import(struct netmoved *nm_ OVS_UNUSED, const char *vm,
               struct fw_ruleset *rs, char *err OVS_UNUSED,
               size_t errlen OVS_UNUSED)
{
    /* The real one (fw_import_scoped()) confines the import to 'vm'. */
    assert_string_equal(vm, fw_ruleset_vm(rs));
    call("fw-import %s", vm);
    return 0;
}

static int
fake_fw_import_many(struct netmoved *nm_ OVS_UNUSED,
                    struct fw_ruleset *const *rs, size_t n,
                    char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    call("fw-import-many %zu", n);
    for (size_t i = 0; i < n; i++) {
        call("fw-import-of %s", fw_ruleset_vm(rs[i]));
    }
    return fake.fw_many_error;
}

static int
fake_fw_remove(struct netmoved *nm_ OVS_UNUSED, const char *vm, size_t *n,
               char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    call("fw-remove %s", vm);
    *n = 1;
    return 0;
}

static int
fake_ct_import(struct netmoved *nm_ OVS_UNUSED, const struct ct_scope *scope,
               const struct ct_table *tab, size_t *c, size_t *u,
               size_t *d, char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    char why[NM_ERRLEN];

    /* What reaches the kernel is in the VM's scope, and the scope is the
     * VM's addresses. */
    assert_int_equal(ct_table_check_scope(tab, scope, why, sizeof why), 0);
    call("ct-import %zu addrs", scope->vm_addrs->n_addrs);
    if (c) {
        *c = *u = *d = 0;
    }
    return 0;
}

static int
fake_ct_remove(struct netmoved *nm_ OVS_UNUSED,
               const struct ct_filter *f OVS_UNUSED, size_t *n,
               char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    call("ct-remove");
    *n = 0;
    return 0;
}

static int
fake_announce_add(struct netmoved *nm_ OVS_UNUSED, const struct garp_vm *vm,
                  uint64_t now OVS_UNUSED, size_t *idx,
                  char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    if (vm->n_uplinks) {
        call("announce %s %#x up%"PRIu32"/%u", vm->port, vm->kinds,
             vm->uplinks[0].ofport, vm->uplinks[0].vlan.vid);
    } else {
        call("announce %s %#x", vm->port, vm->kinds);
    }
    assert_true(fake.n_ann < MAX_ANN);
    *idx = fake.n_ann++;
    return 0;
}

static void
fake_announce_cancel(struct netmoved *nm_ OVS_UNUSED, size_t idx)
{
    call("announce-cancel %zu", idx);
}

/* Sends every entry added since the last run: one frame each, now. */
static int
fake_announce_run(struct netmoved *nm_, uint64_t now OVS_UNUSED)
{
    call("announce-run");
    for (; fake.n_sent < fake.n_ann; fake.n_sent++) {
        migration_frame_sent(nm_, fake.n_sent, NULL, 0, wall_us);
    }
    return 0;
}

/* The learn frames and round 0 out of the uplink: sent now, so the first
 * frame's time is this call's. */
static int
fake_announce_first(struct netmoved *nm_)
{
    call("announce-first");
    for (; fake.n_sent < fake.n_ann; fake.n_sent++) {
        migration_frame_sent(nm_, fake.n_sent, NULL, 0, wall_us);
    }
    return fake.first_error;
}

/* The uplink is OpenFlow port 1, where the VM's frames carry VLAN
 * 'fake.uplink_vid'; -ENOENT when 'fake.no_uplink'. */
static int
fake_announce_uplink(struct netmoved *nm_ OVS_UNUSED, uint32_t ofport,
                     struct garp_uplink *up)
{
    assert_int_not_equal(ofport, 0);
    if (fake.no_uplink) {
        return -ENOENT;
    }
    *up = (struct garp_uplink) { .ofport = 1,
                                 .vlan = { .vid = fake.uplink_vid } };
    return 0;
}

static int
fake_ofport(struct netmoved *nm_ OVS_UNUSED, const char *port OVS_UNUSED,
            uint32_t *ofport, char *err OVS_UNUSED, size_t errlen OVS_UNUSED)
{
    *ofport = 7;
    return 0;
}

static uint32_t
fake_drain_key(struct netmoved *nm_ OVS_UNUSED, nmovs_relay_cb *cb,
               void *aux)
{
    call("relay-key");
    fake.hold_cb = cb;
    fake.hold_aux = aux;
    return ++fake.n_keys;
}

static int
fake_drain_hold(struct netmoved *nm_ OVS_UNUSED, uint32_t key,
                struct eth_addr mac)
{
    call("hold %"PRIu32" "ETH_ADDR_FMT, key, ETH_ADDR_ARGS(mac));
    return 0;
}

static void
fake_drain_release(struct netmoved *nm_ OVS_UNUSED, uint32_t key)
{
    call("release %"PRIu32, key);
    fake.hold_cb = NULL;
}

/* Records "out PORT PAYLOAD" (the frames' payloads are short text). */
static int
fake_drain_output(struct netmoved *nm_ OVS_UNUSED, uint32_t ofport,
                  const void *data, size_t len)
{
    if (fake.output_eagain) {
        fake.output_eagain--;
        return -EAGAIN;
    }
    assert_true(len >= 14);
    /* Untagged to the VM's access port. */
    assert_false(((const uint8_t *) data)[12] == 0x81);
    call("out %"PRIu32" %.*s", ofport, (int) (len - 14),
         (const char *) data + 14);
    return 0;
}

static const struct mig_ops fake_ops = {
    .request = fake_request,
    .cancel = fake_cancel,
    .port_start = fake_port_start,
    .port_step = fake_port_step,
    .port_failed_doc = fake_port_failed_doc,
    .port_wait = fake_port_wait,
    .port_end = fake_port_end,
    .port_remove_start = fake_port_remove_start,
    .port_activate = fake_port_activate,
    .port_activate_many = fake_port_activate_many,
    .db_seqno = fake_db_seqno,
    .vm_ports_hash = fake_vm_ports_hash,
    .vm_iface_by_mac = fake_vm_iface_by_mac,
    .frame_vlan = fake_frame_vlan,
    .drain_forward = fake_drain_forward,
    .fw_import = fake_fw_import,
    .fw_import_many = fake_fw_import_many,
    .fw_remove = fake_fw_remove,
    .ct_import = fake_ct_import,
    .ct_remove = fake_ct_remove,
    .announce_add = fake_announce_add,
    .announce_run = fake_announce_run,
    .announce_first = fake_announce_first,
    .announce_uplink = fake_announce_uplink,
    .announce_cancel = fake_announce_cancel,
    .ofport = fake_ofport,
    .drain_key = fake_drain_key,
    .drain_hold = fake_drain_hold,
    .drain_release = fake_drain_release,
    .drain_output = fake_drain_output,
};

/* ---- the CLI's answers ---- */

static char *journal_last_step(const char *id);

void __wrap_unixctl_command_reply(struct unixctl_conn *, const char *);
void __wrap_unixctl_command_reply_error(struct unixctl_conn *, const char *);

/* Records an answer with the state it gives and the journal's last step
 * at that instant (the answer must not run ahead of the journal). */
static void
record_reply(void *conn, bool ok, const char *text)
{
    const char *doc = ok ? text : strchr(text, '\n');
    struct json *j = doc ? json_from_string(doc) : NULL;
    const struct json *state = j ? nm_json_member(j, "state") : NULL;
    const struct json *id = j ? nm_json_member(j, "id") : NULL;

    assert_true(fake.n_replies < MAX_REPLIES);
    fake.replies[fake.n_replies++] = (struct fake_reply) {
        .conn = conn, .ok = ok, .text = xstrdup(text),
        .state = xstrdup(state && state->type == JSON_STRING
                         ? json_string(state) : "?"),
        .journal_last = id && id->type == JSON_STRING
                        ? journal_last_step(json_string(id)) : xstrdup("?"),
    };
    json_destroy(j);
}

void
__wrap_unixctl_command_reply(struct unixctl_conn *conn, const char *body)
{
    record_reply(conn, true, body ? body : "");
}

void
__wrap_unixctl_command_reply_error(struct unixctl_conn *conn,
                                   const char *error)
{
    record_reply(conn, false, error);
}

/* The peer methods registered (no peers here): the test calls the
 * destination's drain methods as a peer's request would. */
void __wrap_nm_peers_register(struct nm_peers *, const char *,
                              nm_peer_method_fn *, void *);
void __wrap_nm_peers_register_async(struct nm_peers *, const char *,
                                    nm_peer_async_fn *, void *);

#define MAX_METHODS 16
static struct {
    const char *method;
    nm_peer_method_fn *fn;
    void *aux;
} methods[MAX_METHODS];
static size_t n_methods;

void
__wrap_nm_peers_register(struct nm_peers *peers OVS_UNUSED,
                         const char *method, nm_peer_method_fn *fn,
                         void *aux)
{
    assert_true(n_methods < MAX_METHODS);
    methods[n_methods++] = (typeof(methods[0])) { method, fn, aux };
}

void
__wrap_nm_peers_register_async(struct nm_peers *peers OVS_UNUSED,
                               const char *method OVS_UNUSED,
                               nm_peer_async_fn *fn OVS_UNUSED,
                               void *aux OVS_UNUSED)
{
}

/* ---- the journal's appends: the real one, or a failure on demand ---- */

/* A record of a step named here (space-separated, space-ended) fails with
 * -ENOSPC, written by nobody. */
static char journal_fail_steps[128];

int __real_nm_journal_append(struct nm_journal *, enum nm_journal_role,
                             const char *, const struct json *, bool);
int __wrap_nm_journal_append(struct nm_journal *, enum nm_journal_role,
                             const char *, const struct json *, bool);

int
__wrap_nm_journal_append(struct nm_journal *j, enum nm_journal_role role,
                         const char *id, const struct json *record,
                         bool sync)
{
    const char *step = nm_json_member_string(record, "step");
    char *key = xasprintf("%s ", step ? step : "?");
    bool fail = strstr(journal_fail_steps, key) != NULL;

    free(key);
    return fail ? -ENOSPC : __real_nm_journal_append(j, role, id, record,
                                                     sync);
}

/* ---- set-up ---- */

static int
rm_one(const char *path, const struct stat *st OVS_UNUSED,
       int flag OVS_UNUSED, struct FTW *ftw OVS_UNUSED)
{
    return remove(path);
}

static void
fake_reset(void)
{
    for (size_t i = 0; i < fake.n_reqs; i++) {
        req_free(&fake.reqs[i]);
    }
    for (size_t i = 0; i < fake.n_replies; i++) {
        free(fake.replies[i].state);
        free(fake.replies[i].journal_last);
        free(fake.replies[i].text);
    }
    ds_destroy(&fake.calls);
    memset(&fake, 0, sizeof fake);
    ds_init(&fake.calls);
    fake.db_seqno = 1;
    fake.ports_hash = 7;
}

/* A netmoved of host "h2" with one peer, "h1", and an empty journal. */
static int
setup(void **state OVS_UNUSED)
{
    char err[256];

    mono_us = 1000LL * 1000 * 1000;             /* 1000 s since boot. */
    wall_us = 1700000000LL * 1000 * 1000;       /* Some day in 2023. */
    fake_reset();
    journal_fail_steps[0] = '\0';
    memset(&cfg, 0, sizeof cfg);
    cfg.host = (char *) "h2";
    cfg.site = (char *) "s1";
    cfg.bridge = (char *) "br-int";
    cfg.peers = &peer_cfg;
    cfg.n_peers = 1;
    cfg.drain = NM_DRAIN_DEFAULTS;
    memset(&nm, 0, sizeof nm);
    nm.cfg = &cfg;
    nm.ops = &fake_ops;
    hmap_init(&nm.migrations);
    ovs_list_init(&nm.batches);
    ovs_list_init(&nm.records_queue);
    ovs_list_init(&nm.records_flight);
    n_methods = 0;
    source_init(&nm);
    migration_drain_init(&nm);
    snprintf(state_dir, sizeof state_dir, "/tmp/nm-test-migration.XXXXXX");
    assert_non_null(mkdtemp(state_dir));
    assert_int_equal(nm_journal_open(state_dir, NM_JOURNAL_DONE_KEEP,
                                     &nm.journal, err, sizeof err), 0);
    return 0;
}

static int
teardown(void **state OVS_UNUSED)
{
    migrations_destroy(&nm);
    source_destroy(&nm);
    nm_journal_close(nm.journal);
    nftw(state_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    fake_reset();
    ds_destroy(&fake.calls);
    return 0;
}

/* ---- helpers ---- */

/* The source's export of "vm1": one port, one interface with a MAC and an
 * IPv4 address, an empty firewall, no conntrack. */
static struct json *
export_doc(void)
{
    struct json *x = json_from_string(
        "{\"version\": 1, \"vm\": \"vm1\", \"host\": \"h1\", \"site\": \"s1\","
        " \"port\": {\"version\": 1, \"vm\": \"vm1\", \"ports\": ["
        "   {\"bridge\": \"br-int\", \"name\": \"tap1\", \"interfaces\": ["
        "     {\"name\": \"tap1\", \"external_ids\": {"
        "        \"attached-mac\": \"02:00:00:00:00:01\","
        "        \"ip-addresses\": \"198.18.0.10\","
        "        \"vm-id\": \"vm1\"}}]}]},"
        " \"ct\": null}");
    struct fw_ruleset *rs = fw_ruleset_create("vm1");

    assert_int_equal(x->type, JSON_OBJECT);
    json_object_put(x, "fw", fw_ruleset_to_json(rs));
    fw_ruleset_destroy(rs);
    return x;
}

/* The one pending request; asserts it is 'method' to 'peer'. */
static struct fake_req *
pending(const char *peer, const char *method)
{
    assert_int_equal(fake.n_reqs, 1);
    assert_string_equal(fake.reqs[0].peer, peer);
    assert_string_equal(fake.reqs[0].method, method);
    return &fake.reqs[0];
}

/* Answers the oldest pending request with 'result' (consumed) or 'error'. */
static void
answer(struct json *result, const char *error)
{
    assert_true(fake.n_reqs > 0);
    struct fake_req r = fake.reqs[0];

    memmove(&fake.reqs[0], &fake.reqs[1],
            --fake.n_reqs * sizeof fake.reqs[0]);
    r.cb(r.aux, result, error, error ? -EREMOTEIO : 0);
    req_free(&r);
    json_destroy(result);
}

/* The steps of migration 'id''s journal (running or done), space-ended. */
static char *
journal_steps(const char *id)
{
    struct json *records = nm_journal_read(nm.journal,
                                           NM_JOURNAL_DESTINATION, id);
    struct ds s = DS_EMPTY_INITIALIZER;

    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        ds_put_format(&s, "%s ", nm_json_member_string(
                          json_array(records)->elems[i], "step"));
    }
    json_destroy(records);
    return ds_steal_cstr(&s);
}

static char *
journal_last_step(const char *id)
{
    struct json *records = nm_journal_read(nm.journal,
                                           NM_JOURNAL_DESTINATION, id);
    size_t n = records ? json_array(records)->n : 0;
    char *s = xstrdup(n ? nm_json_member_string(json_array(records)->elems[n - 1],
                                                "step") : "");
    json_destroy(records);
    return s;
}

/* True if migration 'id''s journal, as 'role', has been finished (moved to
 * its done/). */
static bool
journal_finished_as(enum nm_journal_role role, const char *id)
{
    char *path = xasprintf("%s/%sdone/%s.jsonl", state_dir,
                           role == NM_JOURNAL_SOURCE ? "source/" : "", id);
    bool done = !access(path, F_OK);

    free(path);
    return done;
}

static bool
journal_finished(const char *id)
{
    return journal_finished_as(NM_JOURNAL_DESTINATION, id);
}

static void
assert_steps(const char *id, const char *expected)
{
    char *steps = journal_steps(id);

    assert_string_equal(steps, expected);
    free(steps);
}

/* The same for 'vm'. */
static struct json *
export_doc_of(const char *vm)
{
    struct json *x = export_doc();
    char *text = json_to_string(x, 0);
    struct ds d = DS_EMPTY_INITIALIZER;

    for (const char *p = text; *p; ) {
        const char *q = strstr(p, "vm1");
        if (!q) {
            ds_put_cstr(&d, p);
            break;
        }
        ds_put_buffer(&d, p, q - p);
        ds_put_cstr(&d, vm);
        p = q + 3;
    }
    json_destroy(x);
    free(text);
    x = json_from_string(ds_cstr(&d));
    ds_destroy(&d);
    return x;
}

static void
assert_called(const char *what)
{
    if (!strstr(ds_cstr(&fake.calls), what)) {
        fail_msg("'%s' not called; calls: %s", what, ds_cstr(&fake.calls));
    }
}

/* Starts migrating "vm1" from "h1" and answers the export: PREPARED. */
static struct migration *
prepared(void)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    migration_start(m);
    assert_int_equal(m->state, MIG_PREPARING);
    struct fake_req *r = pending("h1", "export");
    assert_string_equal(nm_json_member_string(r->params, "id"), m->id);
    answer(export_doc(), NULL);
    assert_int_equal(m->state, MIG_PREPARED);
    return m;
}

/* ---- the phases ---- */

#define FULL_STEPS "prepare-begin prepare-done resume-begin announced " \
                   "ct-delta-done confirmed "

static void
test_prepare_resume_confirm(void **state OVS_UNUSED)
{
    void *cli_prepare = (void *) 1, *cli_resume = (void *) 2;
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);
    char *id = xstrdup(m->id);

    migration_add_waiter(m, cli_prepare, MIG_WAIT_PREPARED);
    migration_start(m);
    assert_int_equal(m->state, MIG_PREPARING);
    assert_steps(id, "prepare-begin ");
    pending("h1", "export");

    answer(export_doc(), NULL);
    assert_int_equal(m->state, MIG_PREPARED);
    assert_called("stage 1 blocked by vm1.");
    assert_called("fw-import vm1");
    assert_steps(id, "prepare-begin prepare-done ");
    assert_int_equal(fake.n_replies, 1);
    assert_true(fake.replies[0].ok);
    assert_string_equal(fake.replies[0].state, "prepared");
    assert_int_equal(fake.n_reqs, 0);

    /* Resume: the learn frame and round 0 out of the uplink, then the
     * port, then the schedule by NORMAL; on disk; ct-delta. */
    advance_ms(1000);
    migration_add_waiter(m, cli_resume, MIG_WAIT_DONE);
    ds_clear(&fake.calls);
    migration_resume(m);
    assert_int_equal(m->state, MIG_RESUMING);
    assert_string_equal(ds_cstr(&fake.calls),
                        "announce vnet7 0x3 up1/0;announce-first;"
                        "activate-many vm1/1;announce-run;");
    assert_steps(id, "prepare-begin prepare-done resume-begin announced ");
    assert_int_equal(m->frames_sent, 1);
    pending("h1", "ct-delta");

    advance_ms(3);
    answer(json_from_string("{\"ct\": null}"), NULL);
    assert_int_equal(m->state, MIG_RESUMING);
    assert_steps(id, "prepare-begin prepare-done resume-begin announced "
                 "ct-delta-done ");
    pending("h1", "confirm");

    advance_ms(2);
    fake.records = true;
    answer(json_from_string("{\"ports\": 1, \"fw_objects\": 0, "
                            "\"ct_entries\": 0}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    assert_steps(id, FULL_STEPS);

    /* The timeline: the source's records asked; the journal moves to
     * done/ once they are in.  The source's clock reads 'wall_us' + 7 ms
     * halfway through a 4 ms round trip: offset 7 ms, +- 2 ms.  Only the
     * records of vm1, and only their plain members, are kept. */
    assert_false(journal_finished(id));
    pending("h1", "records");
    long long t0 = wall_us;
    advance_ms(4);
    char *rr = xasprintf("{\"host\": \"h1\", \"wall_us\": %lld, "
                         "\"records\": ["
                         "{\"t_us\": %lld, \"step\": \"export\", "
                         "\"vm\": \"vm1\", \"port\": {\"x\": 1}}, "
                         "{\"t_us\": %lld, \"step\": \"export\", "
                         "\"vm\": \"vm2\"}, 7]}", t0 + 2000 + 7000,
                         t0 - 1000000, t0 - 1000000);
    answer(json_from_string(rr), NULL);
    free(rr);
    assert_steps(id, FULL_STEPS "source-records ");
    assert_true(journal_finished(id));
    struct json *recs = nm_journal_read(nm.journal, NM_JOURNAL_DESTINATION,
                                        id);
    const struct json *sr = json_array(recs)->elems[json_array(recs)->n - 1];
    assert_int_equal(json_integer(nm_json_member(sr, "offset_us")), 7000);
    assert_int_equal(json_integer(nm_json_member(sr, "offset_bound_us")),
                     2000);
    assert_string_equal(nm_json_member_string(sr, "peer"), "h1");
    const struct json *kept = nm_json_member(sr, "records");
    assert_int_equal(json_array(kept)->n, 1);
    assert_null(nm_json_member(json_array(kept)->elems[0], "port"));
    json_destroy(recs);
    fake.records = false;
    assert_int_equal(fake.n_reqs, 0);
    assert_int_equal(fake.n_replies, 2);
    assert_true(fake.replies[1].ok);
    assert_ptr_equal(fake.replies[1].conn, cli_resume);
    assert_string_equal(fake.replies[1].state, "done");

    struct json *j = migration_to_json(m);
    const struct json *t = nm_json_member(j, "timings");
    assert_true(json_real(nm_json_member(t, "resume_to_first_frame_ms")) == 0);
    assert_true(json_real(nm_json_member(t, "resume_to_confirmed_ms")) == 5);
    json_destroy(j);
    free(id);
}

/* An abort after prepare rolls back and ends ABORTED; the waiter hears
 * "aborted" only once the journal says so. */
static void
test_abort_after_prepare(void **state OVS_UNUSED)
{
    void *cli = (void *) 3;
    struct migration *m = prepared();
    char *error = NULL;

    migration_add_waiter(m, cli, MIG_WAIT_DONE);
    ds_clear(&fake.calls);
    assert_int_equal(migration_abort(m, &error), 0);
    assert_null(error);
    assert_int_equal(m->state, MIG_ABORTED);
    assert_called("remove-staged vm1.");
    assert_called("fw-remove vm1");
    pending("h1", "abort");

    /* The waiter heard "aborted", and the journal said so already. */
    assert_int_equal(fake.n_replies, 1);
    assert_false(fake.replies[0].ok);
    assert_string_equal(fake.replies[0].state, "aborted");
    assert_string_equal(fake.replies[0].journal_last, "aborted");
    assert_steps(m->id, "prepare-begin prepare-done abort-begin aborted ");
    assert_true(journal_finished(m->id));

    /* Idempotent; and after resume there is nothing to abort. */
    assert_int_equal(migration_abort(m, &error), 0);
    assert_steps(m->id, "prepare-begin prepare-done abort-begin aborted ");
}

static void
test_abort_after_resume_refused(void **state OVS_UNUSED)
{
    struct migration *m = prepared();
    char *error = NULL;

    migration_resume(m);
    assert_int_equal(migration_abort(m, &error), -EBUSY);
    assert_non_null(strstr(error, "resumed here"));
    free(error);
    assert_int_equal(m->state, MIG_RESUMING);
}

/* Writes 'records' (consumed) as migration 'id''s journal. */
static void
write_journal(const char *id, struct json **records, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(nm_journal_append(nm.journal, NM_JOURNAL_DESTINATION,
                                           id, records[i], true), 0);
        json_destroy(records[i]);
    }
}

static struct json *
dst_rec(enum nm_journal_step step, const char *src, struct json *extra)
{
    struct json *r = extra ? extra : json_object_create();

    json_object_put_string(r, "src", src);
    return nm_journal_rec_create(NM_JOURNAL_DESTINATION, step, "vm1", r);
}

/* A restart recovers a resumed migration whose source has since left the
 * configuration: it fails, saying why, instead of resuming for ever. */
static void
test_resume_unknown_source(void **state OVS_UNUSED)
{
    struct json *recs[] = {
        dst_rec(NM_JS_PREPARE_BEGIN, "h0", NULL),
        dst_rec(NM_JS_PREPARE_DONE, "h0",
                nm_json_object_1("export", export_doc())),
        dst_rec(NM_JS_RESUME_BEGIN, "h0", NULL),
    };
    write_journal("vm1.5", recs, ARRAY_SIZE(recs));

    netmoved_recover(&nm);
    struct migration *m = migration_find(&nm, "vm1");
    assert_non_null(m);
    assert_int_equal(m->state, MIG_FAILED);
    assert_non_null(m->last_error);
    assert_non_null(strstr(m->last_error, "h0"));
    assert_non_null(strstr(m->last_error, "not a configured peer"));
    assert_int_equal(fake.n_reqs, 0);
    /* Resumed: never rolled back. */
    assert_null(strstr(ds_cstr(&fake.calls), "remove-staged"));
    assert_true(journal_finished("vm1.5"));
    char *last = journal_last_step("vm1.5");
    assert_string_equal(last, "failed");
    free(last);
}

/* The background part retries with a back-off that doubles up to 5 s, and
 * starts over from 100 ms after a success. */
static void
test_retry_backoff(void **state OVS_UNUSED)
{
    static const unsigned int ct_waits[] = { 100, 200, 400, 800 };
    static const unsigned int confirm_waits[] = {
        100, 200, 400, 800, 1600, 3200, 5000, 5000,
    };
    struct migration *m = prepared();

    migration_resume(m);
    for (size_t i = 0; i < ARRAY_SIZE(ct_waits); i++) {
        pending("h1", "ct-delta");
        answer(NULL, "connection lost");
        assert_int_equal(m->state, MIG_RESUMING);
        assert_non_null(strstr(m->last_error, "retrying"));
        assert_int_equal(m->retry_at_us - mono_us, ct_waits[i] * 1000ULL);

        /* Not before its time. */
        advance_ms(ct_waits[i] - 1);
        migrations_run(&nm);
        assert_int_equal(fake.n_reqs, 0);
        advance_ms(1);
        migrations_run(&nm);
    }
    answer(json_from_string("{\"ct\": null}"), NULL);
    for (size_t i = 0; i < ARRAY_SIZE(confirm_waits); i++) {
        pending("h1", "confirm");
        answer(NULL, "timeout");
        assert_int_equal(m->retry_at_us - mono_us,
                         confirm_waits[i] * 1000ULL);
        advance_ms(confirm_waits[i]);
        migrations_run(&nm);
    }
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    assert_null(m->last_error);
    assert_steps(m->id, FULL_STEPS);
}

/* ---- a source's documents, confined to the VM (issue 10, item 3) ---- */

#define CT_DOC(DELTA, ENTRIES, GONE) \
    "{\"format\": \"netmove-conntrack\", \"version\": 1, " \
    "\"delta\": " DELTA ", \"columns\": [\"family\", \"proto\", " \
    "\"src\", \"dst\", \"sport\", \"dport\", \"zone\", " \
    "\"icmp_type\", \"icmp_code\", \"icmp_id\", \"status\", " \
    "\"timeout\"], \"entries\": [" ENTRIES "], \"gone\": [" GONE "]}"

/* The export of "vm1" (198.18.0.10) with 'fw_vm''s firewall document and
 * conntrack document 'ct' (NULL: none). */
static struct json *
export_with(const char *fw_vm, const char *ct)
{
    struct json *x = export_doc();
    struct fw_ruleset *rs = fw_ruleset_create(fw_vm);

    json_object_put(x, "fw", fw_ruleset_to_json(rs));
    fw_ruleset_destroy(rs);
    if (ct) {
        json_object_put(x, "ct", json_from_string(ct));
    }
    return x;
}

/* Answers the export with 'x': prepare fails as bad input naming 'what',
 * with no conntrack import, and a firewall import only if 'fw_ok'. */
static void
prepare_refused(struct json *x, bool fw_ok, const char *what)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    migration_start(m);
    pending("h1", "export");
    answer(x, NULL);
    migrations_run(&nm);
    assert_true(m->state == MIG_FAILED || m->ending);
    assert_true(m->bad_input);
    if (!strstr(m->last_error, what)) {
        fail_msg("'%s' not in '%s'", what, m->last_error);
    }
    assert_true(!strstr(ds_cstr(&fake.calls), "fw-import") != fw_ok);
    assert_null(strstr(ds_cstr(&fake.calls), "ct-import"));
}

static void
test_fw_doc_of_another_vm(void **state OVS_UNUSED)
{
    prepare_refused(export_with("vm2", NULL), false,
                    "firewall: vm: \"vm2\" is not the VM being moved (vm1)");
}

static void
test_ct_precopy_of_another_address(void **state OVS_UNUSED)
{
    prepare_refused(export_with("vm1", CT_DOC(
        "false", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40000, "
        "80, 0, null, null, null, 14, 300], [\"ipv4\", 6, \"198.18.0.11\", "
        "\"198.18.1.1\", 40000, 80, 0, null, null, null, 14, 300]", "")), true,
        "conntrack: entries[1]: neither 198.18.0.11 nor 198.18.1.1 is an "
        "address of the VM");
}

static void
test_ct_precopy_huge_timeout(void **state OVS_UNUSED)
{
    prepare_refused(export_with("vm1", CT_DOC(
        "false", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40000, "
        "80, 0, null, null, null, 14, 4294967295]", "")), true,
        "conntrack: entries[0].timeout: 4294967295 s is over the limit");
}

/* A delta whose "gone" names another VM's connection: nothing deleted, no
 * confirm (the source keeps its copy), the migration fails as bad input
 * rather than asking again for the same document. */
static void
test_ct_delta_gone_of_another_address(void **state OVS_UNUSED)
{
    struct migration *m = prepared();

    migration_resume(m);
    pending("h1", "ct-delta");
    ds_clear(&fake.calls);
    answer(json_from_string("{\"ct\": " CT_DOC(
        "true", "", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", "
        "40000, 80, 0], [\"ipv4\", 6, \"198.18.3.3\", \"198.18.1.1\", "
        "40000, 22, 0]") "}"), NULL);
    assert_int_equal(m->state, MIG_FAILED);
    assert_true(m->bad_input);
    assert_non_null(strstr(m->last_error, "gone[1]: neither 198.18.3.3"));
    assert_null(strstr(ds_cstr(&fake.calls), "ct-import"));
    assert_int_equal(fake.n_reqs, 0);
    char *last = journal_last_step(m->id);
    assert_string_equal(last, "failed");
    free(last);
}

/* The VM's own delta goes to the kernel with the VM's addresses. */
static void
test_ct_delta_of_the_vm(void **state OVS_UNUSED)
{
    struct migration *m = prepared();

    migration_resume(m);
    pending("h1", "ct-delta");
    ds_clear(&fake.calls);
    answer(json_from_string("{\"ct\": " CT_DOC(
        "true", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40001, "
        "80, 0, null, null, null, 14, 300]", "[\"ipv4\", 6, "
        "\"198.18.0.10\", \"198.18.1.1\", 40000, 80, 0]") "}"), NULL);
    assert_called("ct-import 1 addrs");
    pending("h1", "confirm");
}

/* Announcement rounds of an earlier migration of the same VM (here, away,
 * back within seconds) are not this migration's first frame. */
static void
test_first_frame_after_earlier_migration(void **state OVS_UNUSED)
{
    struct migration *m = prepared();

    migration_resume(m);
    answer(json_from_string("{\"ct\": null}"), NULL);
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    size_t old_idx = 0;         /* The first migration's RARP entry. */

    /* Away and back: a new migration of vm1, prepared while the first
     * one's rounds still go out. */
    advance_ms(2000);
    migration_destroy(m);
    m = prepared();
    advance_ms(10);
    migration_frame_sent(&nm, old_idx, NULL, 3, wall_us);
    assert_int_equal(m->first_frame_wall_us, 0);
    assert_int_equal(m->frames_sent, 0);

    advance_ms(30);
    migration_resume(m);
    assert_int_equal(m->first_frame_wall_us, wall_us);
    struct json *j = migration_to_json(m);
    double ms = json_real(nm_json_member(nm_json_member(j, "timings"),
                                         "resume_to_first_frame_ms"));
    assert_true(ms >= 0 && ms < 1000);
    json_destroy(j);
}


/* The source's records for the timeline: a round trip over 2 ms is tried
 * again (200 ms later), a failed one too, up to 4; the shortest is kept,
 * its offset journaled. */
static void
test_records_shortest_round_trip(void **state OVS_UNUSED)
{
    struct migration *m = prepared();
    char *id = xstrdup(m->id);

    migration_resume(m);
    answer(json_from_string("{\"ct\": null}"), NULL);
    fake.records = true;
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);

    /* 1: 20 ms there and back, the source's clock 3 ms ahead. */
    pending("h1", "records");
    long long t0 = wall_us;
    advance_ms(20);
    char *r = xasprintf("{\"wall_us\": %lld, \"records\": []}",
                        t0 + 10000 + 3000);
    answer(json_from_string(r), NULL);
    free(r);
    assert_int_equal(fake.n_reqs, 0);
    assert_false(journal_finished(id));

    /* 2: failed; 3: 1 ms, the best. */
    advance_ms(200);
    migrations_run(&nm);
    pending("h1", "records");
    answer(NULL, "timeout");
    assert_false(journal_finished(id));
    advance_ms(200);
    migrations_run(&nm);
    pending("h1", "records");
    t0 = wall_us;
    advance_ms(1);
    r = xasprintf("{\"wall_us\": %lld, \"records\": []}", t0 + 500 + 3000);
    answer(json_from_string(r), NULL);
    free(r);
    assert_true(journal_finished(id));
    fake.records = false;

    struct json *recs = nm_journal_read(nm.journal, NM_JOURNAL_DESTINATION,
                                        id);
    const struct json *sr = json_array(recs)->elems[json_array(recs)->n - 1];
    assert_string_equal(nm_json_member_string(sr, "step"), "source-records");
    assert_int_equal(json_integer(nm_json_member(sr, "offset_us")), 3000);
    assert_int_equal(json_integer(nm_json_member(sr, "offset_bound_us")), 500);
    assert_int_equal(json_integer(nm_json_member(sr, "round_trips")), 3);
    json_destroy(recs);
    free(id);
}

/* A migration of 'vm' from h1 that is done (its journal begun, its
 * capture closed): migration_maybe_finish() then asks for the records. */
static struct migration *
done_migration(const char *vm)
{
    struct migration *m = migration_create(&nm, vm, "h1", NULL);

    assert_int_equal(migration_journal(m, NM_JS_PREPARE_BEGIN, NULL, true),
                     0);
    m->state = MIG_DONE;
    return m;
}

/* {"wall_us": the source's clock 'offset_us' ahead at the round trip's
 * midpoint, "records": 'recs'} for a round trip of 'rtt_ms' from now. */
static struct json *
records_answer(long long offset_us, unsigned int rtt_ms, const char *recs)
{
    long long t0 = wall_us;
    advance_ms(rtt_ms);
    char *r = xasprintf("{\"wall_us\": %lld, \"records\": [%s]}",
                        t0 + rtt_ms * 500LL + offset_us, recs);
    struct json *j = json_from_string(r);
    free(r);
    return j;
}

/* The "source-records" record of 'id', or NULL (in '*recsp', to free). */
static const struct json *
source_records_of(const char *id, struct json **recsp)
{
    struct json *recs = nm_journal_read(nm.journal, NM_JOURNAL_DESTINATION,
                                        id);
    *recsp = recs;
    for (size_t i = 0; recs && i < json_array(recs)->n; i++) {
        const struct json *r = json_array(recs)->elems[i];
        if (!strcmp(nm_json_member_string(r, "step"), "source-records")) {
            return r;
        }
    }
    return NULL;
}

/* A batch of 64 VMs done together asks their source for the records one
 * at a time, in order (its request budget is 50 a second, shared with
 * every other migration from it); a slow answer is not tried again while
 * others wait; each journal moves to done/ once its answer is in. */
static void
test_records_batch_one_at_a_time(void **state OVS_UNUSED)
{
    struct migration *ms[64];
    char *ids[64];

    fake.records = true;
    for (int i = 0; i < 64; i++) {
        char vm[16];
        snprintf(vm, sizeof vm, "vm%d", i);
        ms[i] = done_migration(vm);
        ids[i] = xstrdup(ms[i]->id);
    }
    for (int i = 0; i < 64; i++) {
        migration_maybe_finish(ms[i]);
    }
    for (int i = 0; i < 64; i++) {
        struct fake_req *r = pending("h1", "records");
        assert_string_equal(nm_json_member_string(r->params, "id"), ids[i]);
        assert_false(journal_finished(ids[i]));
        /* 10 ms: over the 2 ms bound, but others wait. */
        answer(records_answer(3000, 10, ""), NULL);
        assert_true(journal_finished(ids[i]) == (i < 63));
        assert_int_equal(fake.n_reqs, i < 63 ? 1 : 0);
    }
    /* The last one, alone: it may try again, 200 ms later. */
    assert_int_equal(ms[63]->records_retry_at_us, mono_us + 200000);
    advance_ms(200);
    migrations_run(&nm);
    pending("h1", "records");
    answer(records_answer(3000, 1, ""), NULL);
    assert_true(journal_finished(ids[63]));
    for (int i = 0; i < 64; i++) {
        free(ids[i]);
    }
    fake.records = false;
}

/* "busy" from the source: not asked again; the best so far is kept. */
static void
test_records_busy_not_retried(void **state OVS_UNUSED)
{
    struct migration *m = done_migration("vm1");
    char *id = xstrdup(m->id);
    struct json *recs;

    fake.records = true;
    migration_maybe_finish(m);
    pending("h1", "records");
    answer(records_answer(3000, 10, ""), NULL);     /* 10 ms: again. */
    advance_ms(200);
    migrations_run(&nm);
    pending("h1", "records");
    answer(NULL, "busy: peer h2 is over its limits");
    assert_true(journal_finished(id));
    advance_ms(1000);
    migrations_run(&nm);
    assert_int_equal(fake.n_reqs, 0);
    const struct json *sr = source_records_of(id, &recs);
    assert_non_null(sr);
    assert_int_equal(json_integer(nm_json_member(sr, "offset_bound_us")),
                     5000);
    assert_int_equal(json_integer(nm_json_member(sr, "round_trips")), 1);
    json_destroy(recs);
    fake.records = false;
    free(id);
}

/* A source whose clock is said to be more than a day off: a failed try;
 * the records' times must be within a day of the migration's (on the
 * source's clock), the drain's too; only the drain's counters the
 * timeline shows cross, strings of at most 64 bytes, at most 64 records
 * of an answer are looked at. */
static void
test_records_untrusted_answer(void **state OVS_UNUSED)
{
    struct migration *m = done_migration("vm1");
    char *id = xstrdup(m->id);
    struct json *recs;
    long long day = 24LL * 3600 * 1000000;

    fake.records = true;
    migration_maybe_finish(m);
    pending("h1", "records");
    answer(records_answer(day + 1000000, 1, ""), NULL);
    assert_false(journal_finished(id));
    advance_ms(200);
    migrations_run(&nm);
    pending("h1", "records");

    long long now_src = wall_us + 3000;
    struct ds r = DS_EMPTY_INITIALIZER;
    ds_put_format(&r, "{\"t_us\": %lld, \"step\": \"export\", "
                  "\"vm\": \"vm1\"}, ", now_src - 1000);
    ds_put_format(&r, "{\"t_us\": %lld, \"step\": \"left\", "
                  "\"vm\": \"vm1\"}, ", now_src + 2 * day);
    ds_put_format(&r, "{\"t_us\": 9223372036854775807, \"step\": \"left\", "
                  "\"vm\": \"vm1\"}, ");
    ds_put_format(&r, "{\"t_us\": %lld, \"step\": \"drained\", "
                  "\"vm\": \"vm1\", \"peer\": \"%0100d\", \"drain\": "
                  "{\"t_paused\": %lld, \"t_released\": -9223372036854775807,"
                  " \"caught\": 5, \"other\": 7, \"note\": \"x\"}}",
                  now_src - 500, 0, now_src - 900);
    for (int i = 0; i < 70; i++) {
        ds_put_format(&r, ", {\"t_us\": %lld, \"step\": \"left\", "
                      "\"vm\": \"vm1\"}", now_src);
    }
    answer(records_answer(3000, 1, ds_cstr(&r)), NULL);
    ds_destroy(&r);
    assert_true(journal_finished(id));

    const struct json *sr = source_records_of(id, &recs);
    assert_non_null(sr);
    assert_int_equal(json_integer(nm_json_member(sr, "offset_us")), 3000);
    const struct json *kept = nm_json_member(sr, "records");
    /* export, drained, and 60 of the 70 "left" (64 looked at). */
    assert_int_equal(json_array(kept)->n, 62);
    const struct json *drained = json_array(kept)->elems[1];
    assert_string_equal(nm_json_member_string(drained, "step"), "drained");
    assert_null(nm_json_member(drained, "peer"));
    const struct json *d = nm_json_member(drained, "drain");
    assert_int_equal(json_integer(nm_json_member(d, "t_paused")),
                     now_src - 900);
    assert_int_equal(json_integer(nm_json_member(d, "caught")), 5);
    assert_null(nm_json_member(d, "t_released"));
    assert_null(nm_json_member(d, "other"));
    assert_null(nm_json_member(d, "note"));
    json_destroy(recs);
    fake.records = false;
    free(id);
}

/* A new migration of the VM while the old one's records are asked for:
 * the old one's journal is finished (without the source's records), not
 * left in active/; the next waiting migration is asked. */
static void
test_records_pending_destroyed(void **state OVS_UNUSED)
{
    struct migration *m1 = done_migration("vm1");
    struct migration *m2 = done_migration("vm2");
    char *id1 = xstrdup(m1->id), *id2 = xstrdup(m2->id);
    struct json *recs;

    fake.records = true;
    migration_maybe_finish(m1);
    migration_maybe_finish(m2);
    struct fake_req *r = pending("h1", "records");
    assert_string_equal(nm_json_member_string(r->params, "vm"), "vm1");
    migration_destroy(m1);
    assert_true(journal_finished(id1));
    assert_null(source_records_of(id1, &recs));
    json_destroy(recs);
    r = pending("h1", "records");
    assert_string_equal(nm_json_member_string(r->params, "vm"), "vm2");

    /* One past its 8 s to start waits no longer: it finishes without. */
    struct migration *m3 = done_migration("vm3");
    char *id3 = xstrdup(m3->id);
    migration_maybe_finish(m3);
    advance_ms(9000);
    answer(NULL, "timeout");
    assert_true(journal_finished(id2));
    assert_true(journal_finished(id3));
    assert_int_equal(fake.n_reqs, 0);
    fake.records = false;
    free(id1);
    free(id2);
    free(id3);
}

/* ---- recovery from every prefix of the journal ---- */

/* What recovery makes of a journal that ends at a step: the state it
 * leaves, whether it rolled back, and the request it sends next (which the
 * test then answers, until the migration ends). */
struct expect {
    bool set;
    enum mig_state state;
    bool rollback;
    const char *request;
    bool finished;              /* The journal moved to done/. */
};

static const struct expect dst_expect[NM_JS_N] = {
    /* Before resume: rolled back, the source told. */
    [NM_JS_PREPARE_BEGIN] = { true, MIG_FAILED, true, "abort", true },
    /* Prepared: stays, awaiting resume or abort. */
    [NM_JS_PREPARE_DONE] = { true, MIG_PREPARED, false, NULL, false },
    /* The VM runs here, prepare had not ended: prepared again. */
    [NM_JS_RESUME_WANTED] = { true, MIG_PREPARING, false, "export", false },
    /* Resumed: finished (the destination never gives up). */
    [NM_JS_RESUME_BEGIN] = { true, MIG_RESUMING, false, "ct-delta", false },
    [NM_JS_ANNOUNCED] = { true, MIG_RESUMING, false, "ct-delta", false },
    [NM_JS_CT_DELTA_DONE] = { true, MIG_RESUMING, false, "confirm", false },
    [NM_JS_CONFIRMED] = { true, MIG_DONE, false, NULL, true },
    [NM_JS_ANNOUNCEMENTS_SEEN] = { true, MIG_DONE, false, NULL, true },
    /* The source's records for the timeline, after confirm. */
    [NM_JS_SOURCE_RECORDS] = { true, MIG_DONE, false, NULL, true },
    /* An abort under way completes; an ended one is only finished. */
    [NM_JS_ABORT_BEGIN] = { true, MIG_ABORTED, true, "abort", true },
    [NM_JS_ABORTED] = { true, MIG_ABORTED, false, NULL, true },
    [NM_JS_FAILED] = { true, MIG_FAILED, false, NULL, true },
};

/* The source's: whether the export is still held for its destination. */
static const struct { bool set, held, finished; } src_expect[NM_JS_N] = {
    [NM_JS_EXPORT] = { true, true, false },
    [NM_JS_DRAINED] = { true, true, false },   /* The drain ended. */
    [NM_JS_LEFT] = { true, true, false },
    [NM_JS_CONFIRM_BEGIN] = { true, true, false },
    [NM_JS_CONFIRM_DONE] = { true, false, true },
    [NM_JS_ABORTED] = { true, false, true },
};

static int peer_call(const char *peer, const char *method,
                     const char *params, struct migration *m,
                     char **errorp);

/* Journals of real runs: a whole migration, an aborted one, a failed one,
 * one resumed while preparing, one announced at its pause and drained
 * before resume, one aborted during its drain; the step each record
 * names. */
static struct json *
record_run(int kind)
{
    setup(NULL);
    struct migration *m;
    char *error = NULL;

    if (kind == 0) {
        m = prepared();
        migration_resume(m);
        answer(json_from_string("{\"ct\": null}"), NULL);
        answer(json_from_string("{\"ports\": 1}"), NULL);
    } else if (kind == 1) {
        m = prepared();
        assert_int_equal(migration_abort(m, &error), 0);
    } else if (kind == 4 || kind == 5) {
        m = prepared();
        assert_int_equal(peer_call("h1", "paused", "{\"vm\": \"vm1\", "
                                   "\"id\": \"%s\", \"paused_us\": 1}",
                                   m, NULL), 0);
        answer(json_from_string("{\"ct\": null}"), NULL);
        migrations_run(&nm);       /* The pause's announcement batch. */
        if (kind == 5) {
            assert_int_equal(migration_abort(m, &error), 0);
        } else {
            assert_int_equal(peer_call("h1", "drain-end", "{\"vm\": "
                                       "\"vm1\", \"id\": \"%s\", "
                                       "\"frames\": 0, \"bytes\": 0, "
                                       "\"dropped_frames\": 0, "
                                       "\"dropped_bytes\": 0}", m, NULL),
                             0);
            migration_resume(m);
            answer(json_from_string("{\"ct\": null}"), NULL);
            answer(json_from_string("{\"ports\": 1}"), NULL);
        }
    } else if (kind == 3) {
        /* Resumed while its prepare ran (the resume prepares). */
        m = migration_create(&nm, "vm1", "h1", NULL);
        migration_start(m);
        migration_resume(m);
        answer(export_doc(), NULL);
        answer(json_from_string("{\"ct\": null}"), NULL);
        answer(json_from_string("{\"ports\": 1}"), NULL);
    } else {
        m = migration_create(&nm, "vm1", "h1", NULL);
        migration_start(m);
        answer(NULL, "no such VM here");
    }
    char *id = xstrdup(m->id);
    struct json *records = nm_journal_read(nm.journal,
                                           NM_JOURNAL_DESTINATION, id);
    assert_non_null(records);
    if (kind == 0 || kind == 3 || kind == 4) {
        /* Written when the capture of the uplink ends (none here). */
        json_array_add(records, dst_rec(NM_JS_ANNOUNCEMENTS_SEEN, "h1",
                                        NULL));
    }
    if (kind == 0) {
        /* Written once the source answered "records" (none here). */
        json_array_add(records, dst_rec(NM_JS_SOURCE_RECORDS, "h1", NULL));
    }
    free(id);
    teardown(NULL);
    return records;
}

/* The source's journal of a migration confirmed, or aborted, as source.c
 * writes it. */
static struct json *
src_records(bool aborted)
{
    struct json *x = export_doc();
    struct json *r[] = {
        json_object_create(), json_object_create(), json_object_create(),
        json_object_create(), json_object_create(),
    };
    struct json *a = json_array_create_empty();

    json_object_put(r[0], "port", json_clone(nm_json_member(x, "port")));
    /* Drained at the pause (issue 11); confirmed only after this host's
     * own evidence that the VM left. */
    enum nm_journal_step steps[] = {
        NM_JS_EXPORT, NM_JS_DRAINED, NM_JS_LEFT, NM_JS_CONFIRM_BEGIN,
        NM_JS_CONFIRM_DONE,
    };
    size_t n = ARRAY_SIZE(r);
    if (aborted) {
        steps[1] = NM_JS_ABORTED;
        for (size_t i = 2; i < ARRAY_SIZE(r); i++) {
            json_destroy(r[i]);
        }
        n = 2;
    }
    for (size_t i = 0; i < n; i++) {
        json_object_put_string(r[i], "peer", "h2");
        json_array_add(a, nm_journal_rec_create(NM_JOURNAL_SOURCE, steps[i],
                                                "vm1", r[i]));
    }
    json_destroy(x);
    return a;
}

static enum nm_journal_step
step_of(const struct json *rec)
{
    enum nm_journal_step step;

    assert_true(nm_journal_step_from_name(
                    nm_json_member_string(rec, "step"), &step));
    return step;
}

/* Recovers from the first 'k' records of 'records'; asserts the outcome
 * its last step's row gives; marks the step covered. */
static void
recover_prefix(const struct json *records, size_t k, bool *covered)
{
    const struct json_array *a = json_array(records);
    enum nm_journal_step last = step_of(a->elems[k - 1]);
    enum nm_journal_role role;
    const char *id = "vm1.42";

    setup(NULL);
    assert_true(nm_journal_role_of(records, &role));
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(nm_journal_append(nm.journal, role, id, a->elems[i],
                                           true), 0);
    }
    netmoved_recover(&nm);
    covered[last] = true;
    print_message("  prefix of %zu, ending at %s (%s)\n", k,
                  nm_journal_step_name(last),
                  role == NM_JOURNAL_SOURCE ? "source" : "destination");

    if (role == NM_JOURNAL_SOURCE) {
        assert_true(src_expect[last].set);
        assert_int_equal(source_is_outgoing(&nm, "vm1"),
                         src_expect[last].held);
        assert_int_equal(journal_finished_as(NM_JOURNAL_SOURCE, id),
                         src_expect[last].finished);
        assert_null(migration_find(&nm, "vm1"));
        teardown(NULL);
        return;
    }

    /* The drain's records change nothing recovery does: the outcome is
     * that of the records before them. */
    enum nm_journal_step eff = last;
    for (size_t i = k; i-- > 1 && (eff == NM_JS_PAUSED
                                   || eff == NM_JS_DRAINED); ) {
        eff = step_of(a->elems[i - 1]);
    }
    const struct expect *e = &dst_expect[eff];
    static const struct expect wanted_prepared = {
        true, MIG_RESUMING, false, "ct-delta", false
    };
    for (size_t i = 0; i < k; i++) {
        if (step_of(a->elems[i]) == NM_JS_RESUME_WANTED
            && eff == NM_JS_PREPARE_DONE) {
            /* Prepared, and the VM already runs here: resumed at once. */
            e = &wanted_prepared;
        }
    }
    struct migration *m = migration_find(&nm, "vm1");
    if (!e->set) {
        fail_msg("no expectation for a journal ending at %s",
                 nm_journal_step_name(last));
    }
    assert_non_null(m);
    assert_int_equal(m->state, e->state);
    assert_int_equal(strstr(ds_cstr(&fake.calls), "remove-staged") != NULL,
                     e->rollback);
    assert_int_equal(journal_finished(id), e->finished);
    if (!e->request) {
        assert_int_equal(fake.n_reqs, 0);
    } else {
        pending("h1", e->request);
    }
    if (e->state == MIG_RESUMING) {
        /* Resumed again (announced afresh), then carried to the end. */
        assert_called("announce");
        if (!strcmp(e->request, "ct-delta")) {
            answer(json_from_string("{\"ct\": null}"), NULL);
        }
        answer(json_from_string("{\"ports\": 1}"), NULL);
        assert_int_equal(m->state, MIG_DONE);
        assert_true(journal_finished(id));
    }
    assert_false(source_is_outgoing(&nm, "vm1"));
    teardown(NULL);
}

static void
test_recover_every_prefix(void **state OVS_UNUSED)
{
    teardown(NULL);             /* Each run and prefix has its own. */
    struct json *journals[] = {
        record_run(0), record_run(1), record_run(2), record_run(3),
        record_run(4), record_run(5),
        src_records(false), src_records(true),
    };
    bool covered[NM_JS_N] = { false };

    for (size_t j = 0; j < ARRAY_SIZE(journals); j++) {
        for (size_t k = 1; k <= json_array(journals[j])->n; k++) {
            recover_prefix(journals[j], k, covered);
        }
        json_destroy(journals[j]);
    }
    /* Every step a migration writes is a prefix's last step above. */
    for (int s = 0; s < NM_JS_N; s++) {
        if (!covered[s]) {
            fail_msg("no journal ends at step %s", nm_journal_step_name(s));
        }
    }
    setup(NULL);
}

/* Prepare's port step under way: resume waits for it, an abort lets it
 * end before the rollback. */
static void
test_port_step_under_way(void **state OVS_UNUSED)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    fake.step_runs = 2;         /* At the export's answer, and one more. */
    migration_start(m);
    answer(export_doc(), NULL);
    assert_int_equal(m->state, MIG_PREPARING);   /* The step runs on. */
    assert_int_equal(fake.n_steps, 1);
    migration_resume(m);                         /* Waits for prepare. */
    assert_int_equal(m->state, MIG_PREPARING);
    migrations_run(&nm);
    assert_int_equal(m->state, MIG_PREPARING);
    assert_null(strstr(ds_cstr(&fake.calls), "fw-import"));
    migrations_run(&nm);                         /* The step ends. */
    assert_int_equal(fake.n_steps, 0);
    assert_called("fw-import vm1");
    assert_int_equal(m->state, MIG_RESUMING);    /* Resumed at once. */
    answer(json_from_string("{\"ct\": null}"), NULL);
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);

    /* Another migration aborted in the middle of its step: the step is
     * let end first, then the rollback. */
    struct migration *m2 = migration_create(&nm, "vm2", "h1", NULL);
    char *error = NULL;
    migration_start(m2);
    pending("h1", "export");
    answer(export_doc_of("vm2"), NULL);
    assert_int_equal(m2->state, MIG_PREPARING);
    assert_int_equal(fake.n_steps, 1);
    ds_clear(&fake.calls);
    assert_int_equal(migration_abort(m2, &error), 0);
    assert_true(m2->ending);                     /* Rolling back: a step. */
    assert_int_equal(m2->state, MIG_PREPARING);
    assert_null(strstr(ds_cstr(&fake.calls), "remove-staged"));
    fake.step_runs = 0;                          /* The removal: at once. */
    migrations_run(&nm);                         /* Prepare's step ends. */
    assert_false(m2->ending);
    assert_int_equal(m2->state, MIG_ABORTED);
    assert_int_equal(fake.n_steps, 0);
    assert_called("step-end;remove-staged vm2.");
    assert_steps(m2->id, "prepare-begin abort-begin aborted ");
}

/* A later adoption (the migrator's port appears) that fails is tried
 * again, and one that ends after the migration ended opens the port it
 * blocked again. */
static void
test_adoption_retried_and_reopened(void **state OVS_UNUSED)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    m->adopt = true;
    migration_start(m);
    fake.step_missing = 1;                       /* libvirt's port not yet. */
    answer(export_doc(), NULL);
    assert_int_equal(m->state, MIG_PREPARED);
    assert_true(m->adopt_pending);

    /* The port appears; its adoption fails. */
    fake.step_missing = 0;
    fake.step_error = -ETIMEDOUT;
    fake.db_seqno++;
    fake.ports_hash++;
    ds_clear(&fake.calls);
    migrations_run(&nm);
    assert_called("stage 1 adopt blocked by vm1.");
    assert_true(m->adopt_pending);               /* Not taken for done. */
    ds_clear(&fake.calls);
    migrations_run(&nm);                         /* Not at once... */
    assert_string_equal(ds_cstr(&fake.calls), "");
    advance_ms(1100);                            /* ...but after a while. */
    fake.step_error = 0;
    fake.step_runs = 2;
    migrations_run(&nm);
    assert_called("stage 1 adopt blocked by vm1.");
    assert_int_equal(fake.n_steps, 1);

    /* The VM resumes and the migration ends while the step runs on: the
     * step blocked the port as prepared; it is opened again. */
    migration_resume(m);
    answer(json_from_string("{\"ct\": null}"), NULL);
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    ds_clear(&fake.calls);
    migrations_run(&nm);                         /* The step ends... */
    migrations_run(&nm);                         /* ...the port opens. */
    assert_int_equal(fake.n_steps, 0);
    assert_false(m->adopt_pending);
    assert_called("activate vm1");
    assert_false(m->activate_pending);
}

/* ---- what a peer's export may make here (issue 10, item 3) ---- */

static struct nm_config *v2_cfg;

/* Gives the netmoved a version 2 configuration: network blue is VLAN 100
 * at s1 (both hosts' site), 198.18.0.0/24 and 2001:db8:1::/64, its gateway
 * 198.18.0.1 never announced; network red is VLAN 300, 198.18.1.0/24;
 * green is VLAN 500 at site s0 and 600 here, 198.18.2.0/24; amber is
 * VLAN 700 at s0 and has none here. */
static void
use_v2_config(void)
{
    struct json *j = json_from_string(
        "{\"version\": 2, \"host\": \"h2\", \"networks\": ["
        " {\"name\": \"blue\", \"vlans\": {\"s1\": 100},"
        "  \"prefixes\": [\"198.18.0.0/24\", \"2001:db8:1::/64\"],"
        "  \"never-announce\": [\"198.18.0.1\", \"02:00:00:00:ff:01\"]},"
        " {\"name\": \"red\", \"vlans\": {\"s1\": 300},"
        "  \"prefixes\": [\"198.18.1.0/24\"]},"
        " {\"name\": \"green\", \"vlans\": {\"s0\": 500, \"s1\": 600},"
        "  \"prefixes\": [\"198.18.2.0/24\"]},"
        " {\"name\": \"amber\", \"vlans\": {\"s0\": 700},"
        "  \"prefixes\": [\"198.18.3.0/24\"]}]}");
    char err[256];

    assert_int_equal(nm_config_from_json(j, &v2_cfg, err, sizeof err), 0);
    json_destroy(j);
    cfg.version = v2_cfg->version;
    cfg.networks = v2_cfg->networks;
    cfg.n_networks = v2_cfg->n_networks;
}

static void
drop_v2_config(void)
{
    cfg.version = 0;
    cfg.networks = NULL;
    cfg.n_networks = 0;
    nm_config_destroy(v2_cfg);
    v2_cfg = NULL;
}

/* The export of "vm1" with the port members 'port' (JSON text ending in
 * ",", or ""; bridge br-int unless it names one), the interface members
 * 'iface' (likewise), MAC 'mac', IPs 'ips' and, unless NULL, "learned"
 * 'learned'. */
static struct json *
port_export(const char *port, const char *iface, const char *mac,
            const char *ips, const char *learned)
{
    char *members = strstr(port, "\"bridge\"") ? xstrdup(port)
                    : xasprintf("\"bridge\": \"br-int\", %s", port);
    char *text = xasprintf(
        "{\"version\": 1, \"vm\": \"vm1\", \"host\": \"h1\", \"site\": \"s1\","
        " %s%s%s \"ct\": null,"
        " \"port\": {\"version\": 1, \"vm\": \"vm1\", \"ports\": ["
        "   {%s \"name\": \"tap1\", \"interfaces\": ["
        "     {%s \"name\": \"tap1\", \"external_ids\": {"
        "        \"attached-mac\": \"%s\", \"ip-addresses\": \"%s\","
        "        \"vm-id\": \"vm1\"}}]}]}}",
        learned ? "\"learned\": " : "", learned ? learned : "",
        learned ? "," : "", members, iface, mac, ips);
    struct json *x = json_from_string(text);
    struct fw_ruleset *rs = fw_ruleset_create("vm1");

    free(members);
    free(text);
    if (x->type != JSON_OBJECT) {
        fail_msg("bad test document: %s", json_string(x));
    }
    json_object_put(x, "fw", fw_ruleset_to_json(rs));
    fw_ruleset_destroy(rs);
    return x;
}

/* Prepares "vm1" from "h1" with the export 'x': returns the migration. */
static struct migration *
prepare_with(struct json *x)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    migration_start(m);
    pending("h1", "export");
    answer(x, NULL);
    return m;
}

/* The export 'x' is refused as bad input naming 'field': nothing staged,
 * no firewall or conntrack touched, the prepare FAILED. */
static void
assert_refused(struct json *x, const char *field)
{
    struct migration *m = prepare_with(x);

    migrations_run(&nm);
    if (m->state != MIG_FAILED || !m->bad_input || !m->last_error
        || !strstr(m->last_error, field)) {
        fail_msg("state %s, bad input %d, error '%s': not '%s'",
                 migration_state_name(m->state), m->bad_input,
                 m->last_error ? m->last_error : "", field);
    }
    if (strstr(ds_cstr(&fake.calls), "stage ")
        || strstr(ds_cstr(&fake.calls), "fw-import")
        || strstr(ds_cstr(&fake.calls), "ct-")) {
        fail_msg("'%s': changed something: %s", field, ds_cstr(&fake.calls));
    }
    migration_destroy(m);
    ds_clear(&fake.calls);
    for (size_t i = 0; i < fake.n_reqs; i++) {
        req_free(&fake.reqs[i]);        /* The abort to the source. */
    }
    fake.n_reqs = 0;
}

static void
assert_prepared(struct json *x)
{
    struct migration *m = prepare_with(x);

    if (m->state != MIG_PREPARED) {
        fail_msg("not prepared: %s", m->last_error ? m->last_error : "");
    }
    migration_destroy(m);
    ds_clear(&fake.calls);
}

/* Version 2: what the destination announces lies inside the VM's
 * network's prefixes and is never a never-announce address. */
static void
test_export_addresses_bounded(void **state OVS_UNUSED)
{
    const char *mac = "02:00:00:00:00:01";

    use_v2_config();
    assert_prepared(port_export("\"tag\": 100,", "", mac,
                                "198.18.0.10 2001:db8:1::10", NULL));
    /* Untagged: any configured network. */
    assert_prepared(port_export("", "", mac, "198.18.1.10", NULL));
    assert_prepared(port_export("\"tag\": 100,", "", mac, "198.18.0.10",
                                "[{\"mac\": \"02:00:00:00:00:01\","
                                " \"ips\": [\"198.18.0.11\"]}]"));

    assert_refused(port_export("\"tag\": 100,", "", mac, "198.18.0.1", NULL),
                   "export: port: ip-addresses: 198.18.0.1 is never-announce"
                   " in network blue");
    assert_refused(port_export("\"tag\": 100,", "", mac, "198.18.1.10",
                               NULL),
                   "export: port: ip-addresses: 198.18.1.10 is outside the "
                   "prefixes of network blue");
    assert_refused(port_export("\"tag\": 300,", "", mac, "2001:db8:1::10",
                               NULL),
                   "2001:db8:1::10 is outside the prefixes of network red");
    assert_refused(port_export("", "", mac, "203.0.113.5", NULL),
                   "203.0.113.5 is outside the prefixes of every configured "
                   "network");
    assert_refused(port_export("\"tag\": 100,", "", mac, "198.18.0.10",
                               "[{\"mac\": \"02:00:00:00:00:01\","
                               " \"ips\": [\"198.18.0.1\"]}]"),
                   "export: learned: 198.18.0.1 is never-announce");
    assert_refused(port_export("\"tag\": 100,", "", "01:00:5e:00:00:01",
                               "198.18.0.10", NULL),
                   "export: port: ports[0].interfaces[0].external_ids."
                   "attached-mac: '01:00:5e:00:00:01' is not a unicast MAC");
    assert_refused(port_export("\"tag\": 100,", "", "02:00:00:00:ff:01",
                               "198.18.0.10", NULL),
                   "02:00:00:00:ff:01 is never-announce");
    drop_v2_config();
}

/* Version 1 bounds no IP address, as before; MACs still are. */
static void
test_export_addresses_v1(void **state OVS_UNUSED)
{
    assert_prepared(port_export("", "", "02:00:00:00:00:01", "203.0.113.5",
                                NULL));
    assert_refused(port_export("", "", "ff:ff:ff:ff:ff:ff", "198.18.0.10",
                               NULL), "attached-mac: 'ff:ff:ff:ff:ff:ff' is "
                   "not a unicast MAC");
}

/* The port document: the configured bridge, a VM's interface type, a VLAN
 * of the configuration's map, no trunks. */
static void
test_export_port_scoped(void **state OVS_UNUSED)
{
    const char *mac = "02:00:00:00:00:01", *ip = "198.18.0.10";

    use_v2_config();
    assert_refused(port_export("\"bridge\": \"br-ex\",", "", mac, ip, NULL),
                   "export: port: ports[0].bridge: 'br-ex' is not the "
                   "configured bridge br-int");
    assert_refused(port_export("\"tag\": 200,", "", mac, ip, NULL),
                   "export: port: ports[0].tag: VLAN 200");
    assert_refused(port_export("\"tag\": 100, \"trunks\": [100, 300],", "",
                               mac, ip, NULL), "ports[0].trunks");
    assert_refused(port_export("\"vlan_mode\": \"trunk\",", "", mac, ip,
                               NULL), "ports[0].vlan_mode");
    assert_refused(port_export("", "\"type\": \"patch\", \"options\":"
                               " {\"peer\": \"patch-ex\"},", mac, ip, NULL),
                   "ports[0].interfaces[0].type: 'patch'");
    assert_refused(port_export("", "\"type\": \"vxlan\", \"options\":"
                               " {\"remote_ip\": \"198.18.9.9\"},", mac, ip,
                               NULL), "ports[0].interfaces[0].type: 'vxlan'");
    assert_refused(port_export("", "\"type\": \"internal\",", mac, ip, NULL),
                   "type: 'internal'");
    assert_refused(port_export("\"other_config\": {\"stp-enable\":"
                               " \"true\"},", "", mac, ip, NULL),
                   "ports[0].other_config: 'stp-enable'");

    /* From site s0: green's 500 becomes 600 here, and its addresses are
     * green's; amber has no VLAN here; 100 is blue's at s1, not s0's. */
    struct json *x = port_export("\"tag\": 500,", "", mac, "198.18.2.10",
                                 NULL);
    json_object_put_string(x, "site", "s0");
    struct migration *m = prepare_with(x);
    assert_int_equal(m->state, MIG_PREPARED);
    migration_destroy(m);
    ds_clear(&fake.calls);
    x = port_export("\"tag\": 500,", "", mac, ip, NULL);
    json_object_put_string(x, "site", "s0");
    assert_refused(x, "198.18.0.10 is outside the prefixes of network green");
    x = port_export("\"tag\": 700,", "", mac, "198.18.3.10", NULL);
    json_object_put_string(x, "site", "s0");
    assert_refused(x, "ports[0].tag: VLAN 700 is not one of the "
                   "configuration's networks");
    x = port_export("\"tag\": 100,", "", mac, ip, NULL);
    json_object_put_string(x, "site", "s0");
    assert_refused(x, "ports[0].tag: VLAN 100");
    drop_v2_config();
}

/* Without --from every peer is asked: one claim makes the source, once all
 * have answered; two are an error naming both. */
static void
test_locate_two_claims(void **state OVS_UNUSED)
{
    static struct nm_peer_config peers[] = {
        { .name = (char *) "h1" }, { .name = (char *) "h3" },
        { .name = (char *) "h4" },
    };
    struct migration *m;

    cfg.peers = peers;
    cfg.n_peers = 3;

    m = migration_create(&nm, "vm1", NULL, NULL);
    migration_start(m);
    assert_int_equal(fake.n_reqs, 3);
    answer(json_from_string("{\"present\": true}"), NULL);     /* h1 */
    assert_int_equal(m->state, MIG_LOCATING);                   /* Waits. */
    assert_int_equal(fake.n_reqs, 2);
    answer(json_from_string("{\"present\": false}"), NULL);    /* h3 */
    answer(json_from_string("{\"present\": true}"), NULL);     /* h4 */
    migrations_run(&nm);
    assert_int_equal(m->state, MIG_FAILED);
    assert_non_null(strstr(m->last_error, "both h1 and h4 say they have "
                           "vm1"));
    assert_null(strstr(ds_cstr(&fake.calls), "stage 1"));
    for (size_t i = 0; i < fake.n_reqs; i++) {
        assert_string_not_equal(fake.reqs[i].method, "export");
    }
    migration_destroy(m);

    /* One claim, one peer silent (its request timed out): h3 it is. */
    fake_reset();
    m = migration_create(&nm, "vm1", NULL, NULL);
    migration_start(m);
    answer(json_from_string("{\"present\": false}"), NULL);    /* h1 */
    answer(json_from_string("{\"present\": true}"), NULL);     /* h3 */
    assert_int_equal(m->state, MIG_LOCATING);
    answer(NULL, "no answer from peer (timeout)");              /* h4 */
    assert_int_equal(m->state, MIG_PREPARING);
    assert_string_equal(m->src, "h3");
    pending("h3", "export");
    migration_destroy(m);
    cfg.peers = &peer_cfg;
    cfg.n_peers = 1;
}

/* ---- a journal that cannot be written (issue 10, item 7) ---- */

/* "prepare-begin" not on disk: the prepare is refused before anything is
 * asked or staged, and nothing is rolled back (nothing is this
 * migration's). */
static void
test_journal_prepare_begin_refused(void **state OVS_UNUSED)
{
    void *cli = (void *) 4;
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    snprintf(journal_fail_steps, sizeof journal_fail_steps,
             "prepare-begin ");
    migration_add_waiter(m, cli, MIG_WAIT_PREPARED);
    migration_start(m);
    assert_int_equal(m->state, MIG_FAILED);
    assert_int_equal(fake.n_reqs, 0);                   /* No export. */
    assert_string_equal(ds_cstr(&fake.calls), "");      /* No rollback. */
    assert_int_equal(fake.n_replies, 1);
    assert_false(fake.replies[0].ok);
    assert_non_null(strstr(fake.replies[0].text,
                           "journal: prepare-begin not written"));
    assert_non_null(strstr(m->journal_error, "prepare-begin: "));
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "");
}

/* A VM resumed here before its prepare (a resume-driven prepare): its
 * network must follow it, so a prepare-begin or prepare-done not on disk
 * does not stop it; the records are written once the journal can be. */
static void
test_journal_resumed_prepare_goes_on(void **state OVS_UNUSED)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);
    char *id = xstrdup(m->id);

    snprintf(journal_fail_steps, sizeof journal_fail_steps,
             "prepare-begin prepare-done ");
    m->resume_wanted = true;            /* As cmd_resume() makes it. */
    migration_start(m);
    assert_int_equal(m->state, MIG_PREPARING);
    pending("h1", "export");
    answer(export_doc(), NULL);
    assert_int_equal(m->state, MIG_RESUMING);
    assert_called("announce");
    assert_non_null(strstr(m->journal_error, "prepare-begin: "));

    journal_fail_steps[0] = '\0';
    answer(json_from_string("{\"ct\": null}"), NULL);
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    migrations_run(&nm);
    assert_true(journal_finished(id));  /* Only once every record is. */
    /* Every record there, in the order of the steps. */
    char *path = xasprintf("%s/done/%s.jsonl", state_dir, id);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    const char *order[] = { "\"prepare-begin\"", "\"resume-wanted\"",
                            "\"prepare-done\"", "\"resume-begin\"" };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        struct ds line = DS_EMPTY_INITIALIZER;
        size_t k = 0;
        rewind(f);
        while (!ds_get_line(&line, f) && !strstr(ds_cstr(&line), order[i])) {
            k++;
        }
        assert_non_null(strstr(ds_cstr(&line), order[i]));
        assert_int_equal(k, i);
        ds_destroy(&line);
    }
    fclose(f);
    free(path);
    free(id);
}

/* "prepare-done" not on disk: the prepare fails and what it staged is
 * rolled back; never "prepared". */
static void
test_journal_prepare_done_rolled_back(void **state OVS_UNUSED)
{
    void *cli = (void *) 5;
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);
    char *id = xstrdup(m->id);

    snprintf(journal_fail_steps, sizeof journal_fail_steps,
             "prepare-done ");
    migration_add_waiter(m, cli, MIG_WAIT_PREPARED);
    migration_start(m);
    answer(export_doc(), NULL);
    assert_called("fw-import vm1");
    assert_int_equal(m->state, MIG_FAILED);
    assert_called("remove-staged vm1.");
    assert_called("fw-remove vm1");
    assert_null(m->export);
    assert_int_equal(fake.n_replies, 1);
    assert_false(fake.replies[0].ok);
    assert_string_equal(fake.replies[0].state, "failed");
    assert_non_null(strstr(fake.replies[0].text,
                           "journal: prepare-done not written"));
    assert_steps(id, "prepare-begin failed ");
    assert_true(journal_finished(id));
    pending("h1", "abort");
    free(id);
}

/* "resume-begin" and "announced" not on disk: the VM runs here, so the
 * cutover goes on; status and the answer say "journal"; the records are
 * written later, in order, before the next one. */
static void
test_journal_resume_goes_on(void **state OVS_UNUSED)
{
    void *cli = (void *) 6;
    struct migration *m = prepared();
    char *id = xstrdup(m->id);

    snprintf(journal_fail_steps, sizeof journal_fail_steps,
             "resume-begin announced ");
    migration_add_waiter(m, cli, MIG_WAIT_DONE);
    ds_clear(&fake.calls);
    migration_resume(m);
    assert_int_equal(m->state, MIG_RESUMING);
    assert_string_equal(ds_cstr(&fake.calls),
                        "announce vnet7 0x3 up1/0;announce-first;"
                        "activate-many vm1/1;announce-run;");
    assert_steps(id, "prepare-begin prepare-done ");
    assert_int_equal(json_array(m->journal_pending)->n, 2);

    struct json *j = migration_to_json(m);
    assert_non_null(strstr(nm_json_member_string(j, "journal_error"),
                           "resume-begin: "));
    assert_int_equal(json_integer(nm_json_member(j, "journal_pending")), 2);
    assert_non_null(nm_json_member(j, "warnings"));
    json_destroy(j);

    /* The disk is back: the pending records go first, in order. */
    journal_fail_steps[0] = '\0';
    pending("h1", "ct-delta");
    answer(json_from_string("{\"ct\": null}"), NULL);
    assert_steps(id, "prepare-begin prepare-done resume-begin announced "
                 "ct-delta-done ");
    assert_null(m->journal_pending);
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    assert_steps(id, FULL_STEPS);
    assert_true(journal_finished(id));

    /* The resume's answer carries the warning. */
    assert_int_equal(fake.n_replies, 1);
    assert_true(fake.replies[0].ok);
    assert_ptr_equal(fake.replies[0].conn, cli);
    assert_non_null(strstr(fake.replies[0].text, "\"warnings\""));
    assert_non_null(strstr(fake.replies[0].text, "journal: resume-begin"));
    free(id);
}

/* "confirmed" not on disk: done all the same; the journal is not finished
 * without it, and the loop writes it, then finishes, once it can. */
static void
test_journal_confirmed_retried(void **state OVS_UNUSED)
{
    struct migration *m = prepared();
    char *id = xstrdup(m->id);

    migration_resume(m);
    answer(json_from_string("{\"ct\": null}"), NULL);
    snprintf(journal_fail_steps, sizeof journal_fail_steps, "confirmed ");
    answer(json_from_string("{\"ports\": 1}"), NULL);
    assert_int_equal(m->state, MIG_DONE);
    assert_false(journal_finished(id));
    assert_steps(id, "prepare-begin prepare-done resume-begin announced "
                 "ct-delta-done ");

    /* Still failing: retried every second, never finished without it. */
    advance_ms(1000);
    migrations_run(&nm);
    assert_false(journal_finished(id));

    journal_fail_steps[0] = '\0';
    advance_ms(500);
    migrations_run(&nm);
    assert_false(journal_finished(id));                 /* Not yet due. */
    advance_ms(500);
    migrations_run(&nm);
    assert_true(journal_finished(id));
    assert_steps(id, FULL_STEPS);
    assert_null(m->journal_pending);
    assert_int_equal(m->journal_retry_us, 0);
    free(id);
}

/* ---- a batch's announcements: the uplink first ---- */

/* Starts migrating 'vm' from "h1" and answers its export: PREPARED. */
static struct migration *
prepared_of(const char *vm)
{
    struct migration *m = migration_create(&nm, vm, "h1", NULL);

    migration_start(m);
    pending("h1", "export");
    answer(export_doc_of(vm), NULL);
    assert_int_equal(m->state, MIG_PREPARED);
    return m;
}

/* A batch: every VM's frames with the uplink (its VLAN there), then the
 * learn frames and round 0 out of the uplink for all of them, then every
 * port in one activation, then the schedule (by NORMAL, paced); the first
 * frame is the uplink's, before the activation. */
static void
test_resume_batch_uplink_first(void **state OVS_UNUSED)
{
    struct migration *ms[3] = { prepared_of("vm1"), prepared_of("vm2"),
                                prepared_of("vm3") };

    fake.uplink_vid = 100;
    ds_clear(&fake.calls);
    advance_ms(1000);
    migration_resume_batch(ms, 3);
    assert_string_equal(ds_cstr(&fake.calls),
                        "announce vnet7 0x3 up1/100;"
                        "announce vnet7 0x3 up1/100;"
                        "announce vnet7 0x3 up1/100;"
                        "announce-first;activate-many vm1/3;announce-run;");
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ms[i]->state, MIG_RESUMING);
        assert_int_equal(ms[i]->frames_sent, 1);
        assert_int_equal(ms[i]->t_first_frame, ms[i]->t_resume_call);
        assert_steps(ms[i]->id, "prepare-begin prepare-done resume-begin "
                     "announced ");
    }
}

/* No uplink known (none configured, or NORMAL would not send the VM's
 * VLAN there): round 0 by NORMAL alone, after the activation; a failed
 * uplink send is each VM's error, and the schedule still goes. */
static void
test_resume_batch_no_uplink(void **state OVS_UNUSED)
{
    struct migration *ms[2] = { prepared_of("vm1"), prepared_of("vm2") };

    fake.no_uplink = true;
    ds_clear(&fake.calls);
    migration_resume_batch(ms, 1);
    assert_string_equal(ds_cstr(&fake.calls),
                        "announce vnet7 0x3;announce-first;"
                        "activate-many vm1/1;announce-run;");

    fake.no_uplink = false;
    fake.first_error = -EPROTO;
    ds_clear(&fake.calls);
    migration_resume_batch(&ms[1], 1);
    assert_string_equal(ds_cstr(&fake.calls),
                        "announce vnet7 0x3 up1/0;announce-first;"
                        "activate-many vm2/1;announce-run;");
    assert_int_equal(ms[1]->state, MIG_RESUMING);
    struct json *j = migration_to_json(ms[1]);
    char *text = json_to_string(j, 0);
    assert_non_null(strstr(text, "sending announcements to the uplink"));
    free(text);
    json_destroy(j);
}

/* ---- the drain: announce at the pause, relayed frames once, in order ---- */

/* Calls peer method 'method' as peer 'peer' would, with 'params' (JSON
 * text; "%s" in it is 'm''s id).  0, or the method's error with its
 * message in '*errorp' (freed unless asked for). */
static int
peer_call(const char *peer, const char *method, const char *params,
          struct migration *m, char **errorp)
{
    const char *at = strstr(params, "%s");
    char *text = at ? xasprintf("%.*s%s%s", (int) (at - params), params,
                                m->id, at + 2)
                    : xstrdup(params);
    struct json *p = json_from_string(text);
    struct json *result = NULL;
    char *error = NULL;
    int retval = -ENOSYS;

    assert_int_equal(p->type, JSON_OBJECT);
    for (size_t i = n_methods; i-- > 0; ) {
        if (!strcmp(methods[i].method, method)) {
            retval = methods[i].fn(methods[i].aux, peer, p, &result, &error);
            break;
        }
    }
    assert_int_not_equal(retval, -ENOSYS);
    if (!retval) {
        assert_non_null(result);
        assert_null(error);
    } else {
        assert_null(result);
        assert_non_null(error);
    }
    json_destroy(result);
    json_destroy(p);
    free(text);
    if (errorp) {
        *errorp = error;
    } else {
        free(error);
    }
    return retval;
}

#define VM_MAC "020000000001"
#define OTHER_MAC "020000000002"
/* An IPv4 frame to 'DST' (12 hex digits) with ASCII payload 'P' (hex). */
#define FRAME(DST, P) "\"" DST "02000000009908" "00" P "\""

/* "r0".."r9" as hex, the relayed frames' payloads. */
#define R(N) "723" #N

/* A direct frame, as the hold catches it: to the VM's MAC, payload "dN",
 * tagged with VLAN 100 if 'tagged' (the uplink's tag). */
static void direct_from(int n, bool tagged, uint32_t in_port);

static void
direct(int n, bool tagged)
{
    direct_from(n, tagged, 1);
}

static void
direct_from(int n, bool tagged, uint32_t in_port)
{
    uint8_t f[32];
    size_t len = 0;
    static const uint8_t mac[] = { 2, 0, 0, 0, 0, 1 };
    static const uint8_t src[] = { 2, 0, 0, 0, 0, 0x99 };

    memcpy(f, mac, 6);
    memcpy(f + 6, src, 6);
    len = 12;
    if (tagged) {
        f[len++] = 0x81; f[len++] = 0; f[len++] = 0; f[len++] = 100;
    }
    f[len++] = 8; f[len++] = 0;
    f[len++] = 'd'; f[len++] = '0' + n;
    assert_non_null(fake.hold_cb);
    struct nmovs_relay_frame fr = {
        .key = fake.n_keys, .reason = NMOVS_RELAY_CAUGHT, .in_port = in_port,
        .data = f, .len = len,
    };
    fake.hold_cb(fake.hold_aux, &fr);
}

static long long int
drain_counter(const struct migration *m, const char *name)
{
    struct json *j = migration_to_json(m);
    const struct json *d = nm_json_member(j, "drain");
    const struct json *v = nm_json_member(d, name);

    assert_non_null(v);
    long long int n = json_integer(v);
    json_destroy(j);
    return n;
}

#define PAUSED "{\"vm\": \"vm1\", \"id\": \"%s\", \"paused_us\": 17}"
#define CT_OF_VM "{\"ct\": " CT_DOC("true", "[\"ipv4\", 6, " \
    "\"198.18.0.10\", \"198.18.1.1\", 40001, 80, 0, null, null, null, 14, " \
    "300]", "") "}"

/* Prepared "vm1", paused at its source, the conntrack delta answered:
 * holding, announced. */
static struct migration *
paused_prepared(void)
{
    struct migration *m = prepared();

    assert_int_equal(peer_call("h1", "paused", PAUSED, m, NULL), 0);
    pending("h1", "ct-delta");
    answer(json_from_string(CT_OF_VM), NULL);
    migrations_run(&nm);       /* The pause's announcement batch. */
    return m;
}

/* At `paused`: the hold, then the conntrack delta, then the port, then the
 * first round through it, in that order; a journal step; idempotent. */
static void
test_drain_paused_order(void **state OVS_UNUSED)
{
    struct migration *m = prepared();

    ds_clear(&fake.calls);
    assert_int_equal(peer_call("h1", "paused", PAUSED, m, NULL), 0);
    assert_string_equal(ds_cstr(&fake.calls),
                        "relay-key;hold 1 02:00:00:00:00:01;");
    pending("h1", "ct-delta");
    answer(json_from_string(CT_OF_VM), NULL);
    migrations_run(&nm);       /* The pause's announcement batch. */
    assert_string_equal(ds_cstr(&fake.calls),
                        "relay-key;hold 1 02:00:00:00:00:01;"
                        "ct-import 1 addrs;activate-many vm1/1;"
                        "announce vnet7 0x1;announce-run;"
                        "announce vnet7 0x2;announce-run;");
    assert_int_equal(m->state, MIG_PREPARED);
    assert_steps(m->id, "prepare-begin prepare-done paused ");
    struct json *j = migration_to_json(m);
    assert_string_equal(nm_json_member_string(nm_json_member(j, "drain"),
                                              "phase"), "holding");
    json_destroy(j);

    /* Again: nothing more. */
    ds_clear(&fake.calls);
    assert_int_equal(peer_call("h1", "paused", PAUSED, m, NULL), 0);
    assert_string_equal(ds_cstr(&fake.calls), "");
    assert_int_equal(fake.n_reqs, 0);

    /* Resume: announced again (the schedule's rounds), the port not opened
     * again (the pause did), the ct-delta asked again, not confirmed before
     * it. */
    ds_clear(&fake.calls);
    migration_resume(m);
    assert_called("announce vnet7 0x3 up1/0;announce-first;announce-run;");
    assert_null(strstr(ds_cstr(&fake.calls), "activate"));
    pending("h1", "ct-delta");
}

/* A `paused` that comes while preparing is acted on once prepared. */
static void
test_drain_paused_while_preparing(void **state OVS_UNUSED)
{
    struct migration *m = migration_create(&nm, "vm1", "h1", NULL);

    migration_start(m);
    assert_int_equal(peer_call("h1", "paused", PAUSED, m, NULL), 0);
    assert_false(strstr(ds_cstr(&fake.calls), "hold"));
    answer(export_doc(), NULL);
    assert_int_equal(m->state, MIG_PREPARED);
    assert_called("hold 1 02:00:00:00:00:01");
    pending("h1", "ct-delta");
    answer(json_from_string("{\"ct\": null}"), NULL);
    migrations_run(&nm);       /* The pause's announcement batch. */
    assert_called("activate-many vm1/1");
    assert_steps(m->id, "prepare-begin prepare-done paused ");
}

/* Relayed frames out once, in seq order, before the held direct frames;
 * drain-end releases the hold after them. */
static void
test_drain_relayed_before_held(void **state OVS_UNUSED)
{
    struct migration *m = prepared();

    /* Frames before the announcement wait for it. */
    assert_int_equal(peer_call("h1", "paused", PAUSED, m, NULL), 0);
    direct(0, true);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 0, \"frames\": ["
                               FRAME(VM_MAC, R(0)) "]}", m, NULL), 0);
    assert_false(strstr(ds_cstr(&fake.calls), "out "));
    ds_clear(&fake.calls);
    answer(json_from_string("{\"ct\": null}"), NULL);
    migrations_run(&nm);
    direct(1, false);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 1, \"frames\": ["
                               FRAME(VM_MAC, R(1)) ", "
                               FRAME(VM_MAC, R(2)) "]}", m, NULL), 0);
    migrations_run(&nm);
    assert_int_equal(peer_call("h1", "drain-end", "{\"vm\": \"vm1\", "
                               "\"id\": \"%s\", \"frames\": 3, \"bytes\": "
                               "48, \"dropped_frames\": 0, "
                               "\"dropped_bytes\": 0}", m, NULL), 0);
    migrations_run(&nm);
    const char *calls = strstr(ds_cstr(&fake.calls), "out ");
    assert_non_null(calls);
    assert_string_equal(calls, "out 7 r0;out 7 r1;out 7 r2;out 7 d0;"
                        "out 7 d1;release 1;");
    assert_int_equal(drain_counter(m, "relayed_received"), 3);
    assert_int_equal(drain_counter(m, "delivered_frames"), 5);
    assert_int_equal(drain_counter(m, "held_direct"), 2);
    assert_int_equal(drain_counter(m, "late"), 0);
    assert_steps(m->id, "prepare-begin prepare-done paused drained ");

    /* A frame resent after the end: refused (the drain has ended), never
     * delivered twice. */
    ds_clear(&fake.calls);
    char *error = NULL;
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 2, \"frames\": ["
                               FRAME(VM_MAC, R(2)) "]}", m, &error), -EINVAL);
    assert_non_null(strstr(error, "has ended"));
    free(error);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "");
    assert_int_equal(drain_counter(m, "delivered_frames"), 5);
}

/* A gap (a batch that never came) is counted missing and what follows is
 * delivered; a replay is refused and counted; an overlap delivers only
 * what is new; no seq goes back, so nothing is delivered twice. */
static void
test_drain_seq(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();
    char *error;

    ds_clear(&fake.calls);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 1, \"frames\": ["
                               FRAME(VM_MAC, R(1)) "]}", m, NULL), 0);
    assert_int_equal(drain_counter(m, "missing"), 1);
    assert_int_equal(drain_counter(m, "relayed_received"), 1);
    assert_int_equal(drain_counter(m, "next_seq"), 2);

    /* The lost batch, late: older than what came, refused. */
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 0, \"frames\": ["
                               FRAME(VM_MAC, R(0)) "]}", m, &error),
                     -EINVAL);
    assert_non_null(strstr(error, "seq: 0"));
    free(error);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 1, \"frames\": ["
                               FRAME(VM_MAC, R(1)) ", "
                               FRAME(VM_MAC, R(2)) "]}", m, NULL), 0);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "out 7 r1;out 7 r2;");
    assert_int_equal(drain_counter(m, "dup_refused"), 2);
    assert_int_equal(drain_counter(m, "relayed_received"), 2);
    assert_int_equal(drain_counter(m, "delivered_frames"), 2);
}

/* The hold catches the VM's MAC on every VLAN: a frame that entered on a
 * port of another VLAN is not the VM's; it goes on as without the hold,
 * never to the VM's port. */
static void
test_drain_hold_other_vlan(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();

    n_forwarded = 0;
    ds_clear(&fake.calls);
    direct_from(0, false, FOREIGN_PORT);
    direct(1, false);
    assert_int_equal(n_forwarded, 1);
    assert_int_equal(drain_counter(m, "forwarded"), 1);
    assert_int_equal(drain_counter(m, "held_direct"), 1);
    assert_null(strstr(ds_cstr(&fake.calls), "d0"));
}

/* The bounds hold on all a peer relays, not only on what waits: frames
 * delivered as they come still count, and past 4096 none goes out. */
static void
test_drain_total_bound(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();
    struct ds frames = DS_EMPTY_INITIALIZER;

    for (int i = 0; i < 64; i++) {
        ds_put_format(&frames, "%s" FRAME(VM_MAC, R(0)), i ? ", " : "");
    }
    for (int k = 0; k < 70; k++) {
        char *p = xasprintf("{\"vm\": \"vm1\", \"id\": \"%%s\", \"seq\": %d, "
                            "\"frames\": [%s]}", k * 64, ds_cstr(&frames));
        char *error = NULL;
        /* Past the bound: refused (and so charged to the peer's budget). */
        assert_int_equal(peer_call("h1", "drain", p, m, &error),
                         k < 64 ? 0 : -EINVAL);
        assert_true(k < 64 || strstr(error, "seq: "));
        free(error);
        free(p);
        migrations_run(&nm);
    }
    ds_destroy(&frames);
    assert_int_equal(drain_counter(m, "buffered"), 0);
    assert_int_equal(drain_counter(m, "delivered_frames"), 4096);
    assert_int_equal(drain_counter(m, "relayed_received"), 4096);
}

/* A frame to another MAC, a broadcast, a runt: never output, counted; a
 * frame not hex: the message refused, naming it, nothing changed. */
static void
test_drain_scope(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();
    char *error;

    ds_clear(&fake.calls);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 0, \"frames\": ["
                               FRAME(OTHER_MAC, R(0)) ", "
                               FRAME("ffffffffffff", R(1)) ", "
                               "\"0200000000010200\", "
                               FRAME(VM_MAC, R(3)) "]}", m, NULL), 0);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "out 7 r3;");
    assert_int_equal(drain_counter(m, "dropped_scope"), 3);

    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 4, \"frames\": ["
                               FRAME(VM_MAC, R(4)) ", \"02zz\"]}", m,
                               &error), -EINVAL);
    assert_string_equal(error, "frames[1]: not hex");
    free(error);
    assert_int_equal(drain_counter(m, "next_seq"), 4);
    assert_int_equal(drain_counter(m, "relayed_received"), 4);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "out 7 r3;");
}

/* No drain-end: the hold goes at resume + 5 ms (held frames first); later
 * relayed frames are late, then past resume + 200 ms dropped.  An output
 * the switch cannot take now is retried, in order. */
static void
test_drain_deadline(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();

    direct(0, false);
    advance_ms(50);
    migration_resume(m);
    pending("h1", "ct-delta");
    ds_clear(&fake.calls);
    migrations_run(&nm);
    advance_ms(2);
    direct(1, false);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "");

    /* The switch cannot take the first now: nothing goes, in order. */
    advance_ms(4);
    fake.output_eagain = 1;
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "");
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "out 7 d0;out 7 d1;release 1;");
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 0, \"frames\": ["
                               FRAME(VM_MAC, R(0)) "]}", m, NULL), 0);
    assert_called("out 7 r0");
    assert_int_equal(drain_counter(m, "late"), 1);

    ds_clear(&fake.calls);
    advance_ms(200);
    char *error = NULL;
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 1, \"frames\": ["
                               FRAME(VM_MAC, R(1)) "]}", m, &error), -EINVAL);
    assert_non_null(strstr(error, "has ended"));
    free(error);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "");
    assert_int_equal(drain_counter(m, "relayed_received"), 1);
    assert_int_equal(drain_counter(m, "delivered_frames"), 3);
    char *steps = journal_steps(m->id);
    assert_non_null(strstr(steps, "drained "));
    free(steps);
}

/* Past the configuration's drain.max_packets buffered (256 here), frames
 * are dropped and counted; a peer's batch past it is refused. */
static void
test_drain_bound(void **state OVS_UNUSED)
{
    cfg.drain.max_packets = 256;
    struct migration *m = prepared();
    struct ds frames = DS_EMPTY_INITIALIZER;

    /* The conntrack delta not answered yet: everything waits. */
    assert_int_equal(peer_call("h1", "paused", PAUSED, m, NULL), 0);
    for (int i = 0; i < 64; i++) {
        ds_put_format(&frames, "%s" FRAME(VM_MAC, R(0)), i ? ", " : "");
    }
    for (int k = 0; k < 5; k++) {
        char *p = xasprintf("{\"vm\": \"vm1\", \"id\": \"%%s\", \"seq\": %d, "
                            "\"frames\": [%s]}", k * 64, ds_cstr(&frames));
        char *error = NULL;
        assert_int_equal(peer_call("h1", "drain", p, m, &error),
                         k < 4 ? 0 : -EINVAL);     /* Past the bound. */
        if (k == 4) {
            assert_non_null(strstr(error, "(256 frames"));
        }
        free(error);
        free(p);
    }
    ds_destroy(&frames);
    assert_int_equal(drain_counter(m, "relayed_received"), 4 * 64);
    assert_int_equal(drain_counter(m, "buffered"), 256);
    /* Full: a direct frame the hold catches is dropped and counted. */
    direct(0, false);
    assert_int_equal(drain_counter(m, "buffered"), 256);
    assert_int_equal(drain_counter(m, "dropped_bound"), 1);
}

/* An abort during the drain: the hold released, the rest of the
 * announcements made at the pause cancelled (they would pull the network
 * back from the source, where the VM runs again), the buffers dropped and
 * counted, the port removed, the source told. */
static void
test_drain_abort(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();
    char *error = NULL;

    fake.output_eagain = 100;
    direct(0, false);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 0, \"frames\": ["
                               FRAME(VM_MAC, R(0)) "]}", m, NULL), 0);
    ds_clear(&fake.calls);
    assert_int_equal(migration_abort(m, &error), 0);
    assert_int_equal(m->state, MIG_ABORTED);
    assert_string_equal(ds_cstr(&fake.calls),
                        "release 1;announce-cancel 0;announce-cancel 1;"
                        "remove-staged vm1.1700000000000;"
                        "step-end;activate vm1;fw-remove vm1;ct-remove;");
    pending("h1", "abort");
    assert_int_equal(drain_counter(m, "dropped_abort"), 2);
    assert_int_equal(drain_counter(m, "delivered_frames"), 0);
    assert_steps(m->id, "prepare-begin prepare-done paused abort-begin "
                 "drained aborted ");

    /* Frames after it: refused. */
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 1, \"frames\": []}", m,
                               &error), -EINVAL);
    assert_non_null(strstr(error, "state: "));
    free(error);
}

/* Only the migration's source may pause or drain it, by its vm and id. */
static void
test_drain_not_source(void **state OVS_UNUSED)
{
    struct migration *m = paused_prepared();
    char *error;

    ds_clear(&fake.calls);
    assert_int_equal(peer_call("h3", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\", \"seq\": 0, \"frames\": ["
                               FRAME(VM_MAC, R(0)) "]}", m, &error),
                     -EINVAL);
    assert_string_equal(error, "peer: h3 is not the source of migration "
                        "vm1.1700000000000");
    free(error);
    assert_int_equal(peer_call("h3", "drain-end", "{\"vm\": \"vm1\", "
                               "\"id\": \"%s\", \"frames\": 0, \"bytes\": "
                               "0, \"dropped_frames\": 0, "
                               "\"dropped_bytes\": 0}", m, NULL), -EINVAL);
    assert_int_equal(peer_call("h1", "drain", "{\"vm\": \"vm1\", \"id\": "
                               "\"x%s\", \"seq\": 0, \"frames\": []}", m,
                               &error), -EINVAL);
    assert_non_null(strstr(error, "id: "));
    free(error);
    assert_int_equal(peer_call("h1", "paused", "{\"vm\": \"vm2\", \"id\": "
                               "\"%s\", \"paused_us\": 1}", m, &error),
                     -EINVAL);
    assert_string_equal(error, "vm: no migration of vm2 here");
    free(error);
    assert_int_equal(peer_call("h1", "paused", "{\"vm\": \"vm1\", \"id\": "
                               "\"%s\"}", m, &error), -EINVAL);
    assert_non_null(strstr(error, "paused_us: "));
    free(error);
    assert_int_equal(peer_call("h1", "drain-end", "{\"vm\": \"vm1\", "
                               "\"id\": \"%s\", \"frames\": 0, \"bytes\": "
                               "-1, \"dropped_frames\": 0, "
                               "\"dropped_bytes\": 0}", m, &error), -EINVAL);
    assert_non_null(strstr(error, "bytes: "));
    free(error);
    migrations_run(&nm);
    assert_string_equal(ds_cstr(&fake.calls), "");
    assert_int_equal(drain_counter(m, "relayed_received"), 0);
    assert_int_equal(drain_counter(m, "delivered_frames"), 0);
}

/* ---- prepare's port imports, grouped (migration_batch.c) ---- */

/* Starts migrations of vm1..vm'n' (ids id1..), their exports requested. */
static void
start_many(struct migration **ms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char vm[16], id[16];
        snprintf(vm, sizeof vm, "vm%zu", i + 1);
        snprintf(id, sizeof id, "id%zu", i + 1);
        ms[i] = migration_create(&nm, vm, "h1", id);
        migration_start(ms[i]);
    }
    assert_int_equal(fake.n_reqs, n);
}

static void
answer_export_of(const char *vm)
{
    answer(export_doc_of(vm), NULL);
}

/* The first export starts a step at once; the exports that arrive while
 * it is in flight gather into ONE step with their documents, each
 * staged by its own migration. */
static void
test_batch_groups_prepares(void **state OVS_UNUSED)
{
    struct migration *ms[4];

    fake.step_runs = 1;         /* Each step: in flight for one run. */
    start_many(ms, 4);
    answer_export_of("vm1");
    assert_called("stage 1 blocked by id1;");
    assert_int_equal(fake.n_steps, 1);
    answer_export_of("vm2");
    answer_export_of("vm3");
    answer_export_of("vm4");
    assert_int_equal(fake.n_port_starts, 1);     /* They wait. */
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(ms[i]->state, MIG_PREPARING);
    }
    ds_clear(&fake.calls);
    migrations_run(&nm);        /* The first ends; the next starts. */
    assert_int_equal(ms[0]->state, MIG_PREPARED);
    assert_int_equal(fake.n_port_starts, 2);
    assert_called("stage 3 blocked by ");
    for (size_t i = 1; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "id%zu", i + 1);
        assert_non_null(strstr(ds_cstr(&fake.calls), id));
        assert_int_equal(ms[i]->state, MIG_PREPARING);
    }
    migrations_run(&nm);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ms[i]->state, MIG_PREPARED);
    }
    assert_int_equal(fake.n_port_starts, 2);
    assert_int_equal(fake.n_steps, 0);
    /* Their firewall in one transaction too, each confined to its VM. */
    assert_called("fw-import-many 3;");
    assert_called("fw-import-of vm4;");
    assert_null(strstr(ds_cstr(&fake.calls), "fw-import vm4"));
}

/* VMs that pause together (an evacuation) are announced at the pause as
 * one batch: their conntrack deltas in, ONE activation for all their
 * ports, every VM's RARP before any GARP/NA. */
static void
test_drain_pause_batch(void **state OVS_UNUSED)
{
    struct migration *ms[3];

    start_many(ms, 3);
    for (size_t i = 0; i < 3; i++) {
        char vm[8];
        snprintf(vm, sizeof vm, "vm%zu", i + 1);
        answer_export_of(vm);
    }
    for (int i = 0; i < 4; i++) {
        migrations_run(&nm);
    }
    for (size_t i = 0; i < 3; i++) {
        char *params = xasprintf("{\"vm\": \"%s\", \"id\": \"%%s\", "
                                 "\"paused_us\": 17}", ms[i]->vm);
        assert_int_equal(ms[i]->state, MIG_PREPARED);
        assert_int_equal(peer_call("h1", "paused", params, ms[i], NULL), 0);
        free(params);
    }
    assert_int_equal(fake.n_reqs, 3);           /* Their ct-deltas. */
    ds_clear(&fake.calls);
    for (size_t i = 0; i < 3; i++) {
        answer(json_from_string("{\"ct\": null}"), NULL);
    }
    assert_null(strstr(ds_cstr(&fake.calls), "activate"));  /* Not yet. */
    migrations_run(&nm);
    const char *calls = ds_cstr(&fake.calls);
    const char *act = strstr(calls, "activate-many ");
    assert_non_null(act);
    assert_null(strstr(act + 1, "activate"));   /* One, for the three. */
    assert_non_null(strstr(act, "/3;"));          /* FIRST-VM/COUNT */
    for (size_t i = 0; i < 3; i++) {
        struct json *j = migration_to_json(ms[i]);
        assert_string_equal(nm_json_member_string(nm_json_member(j, "drain"),
                                                  "phase"), "holding");
        json_destroy(j);
    }
    /* Every RARP (0x1) before the first GARP/NA (0x2). */
    const char *last_rarp = NULL, *p = calls;
    while ((p = strstr(p, " 0x1;"))) {
        last_rarp = p++;
    }
    assert_non_null(last_rarp);
    const char *first_garp = strstr(calls, " 0x2;");
    assert_non_null(first_garp);
    assert_true(last_rarp < first_garp);
}

/* The batch's firewall transaction refused: each VM imports its own. */
static void
test_batch_fw_refused_each_alone(void **state OVS_UNUSED)
{
    struct migration *ms[3];

    fake.step_runs = 1;
    fake.fw_many_error = -EINVAL;
    start_many(ms, 3);
    answer_export_of("vm1");
    answer_export_of("vm2");
    answer_export_of("vm3");
    migrations_run(&nm);
    ds_clear(&fake.calls);
    migrations_run(&nm);
    assert_called("fw-import-many 2;");
    assert_called("fw-import vm2;");
    assert_called("fw-import vm3;");
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ms[i]->state, MIG_PREPARED);
    }
}

/* A batch that fails: each of its VMs is tried again alone; the bad one
 * fails alone (rolled back, its reason kept), the others are prepared. */
static void
test_batch_failed_retried_alone(void **state OVS_UNUSED)
{
    struct migration *ms[4];

    fake.step_runs = 1;
    fake.bad_id = "id3";
    start_many(ms, 4);
    for (size_t i = 0; i < 4; i++) {
        char vm[8];
        snprintf(vm, sizeof vm, "vm%zu", i + 1);
        answer_export_of(vm);
    }
    migrations_run(&nm);        /* vm1 alone; the batch of 3 starts. */
    assert_int_equal(ms[0]->state, MIG_PREPARED);
    ds_clear(&fake.calls);
    migrations_run(&nm);        /* The batch fails: each alone. */
    assert_called("stage 1 blocked by id2;");
    assert_called("stage 1 blocked by id3;");
    assert_called("stage 1 blocked by id4;");
    for (size_t i = 0; i < 4 && ms[3]->state == MIG_PREPARING; i++) {
        migrations_run(&nm);
    }
    for (size_t i = 0; i < 8 && ms[2]->state == MIG_PREPARING; i++) {
        migrations_run(&nm);    /* Its rollback, a step too. */
    }
    assert_int_equal(ms[1]->state, MIG_PREPARED);
    assert_int_equal(ms[3]->state, MIG_PREPARED);
    assert_int_equal(ms[2]->state, MIG_FAILED);
    assert_non_null(strstr(ms[2]->last_error, "belongs to another VM"));
    assert_called("remove-staged id3");
    assert_null(strstr(ds_cstr(&fake.calls), "remove-staged id2"));
    assert_null(strstr(ds_cstr(&fake.calls), "fw-import vm3"));
    assert_steps("id3", "prepare-begin failed ");
    assert_int_equal(fake.n_port_starts, 5);
}

/* A batch whose import names the refused document: that VM fails alone,
 * the others go on together in ONE next batch (not one import each). */
static void
test_batch_failed_culprit_named(void **state OVS_UNUSED)
{
    struct migration *ms[5];

    fake.step_runs = 1;
    fake.bad_id = "id3";
    fake.bad_attributed = true;
    start_many(ms, 5);
    for (size_t i = 0; i < 5; i++) {
        char vm[8];
        snprintf(vm, sizeof vm, "vm%zu", i + 1);
        answer_export_of(vm);
    }
    migrations_run(&nm);        /* vm1 alone; the batch of 4 starts. */
    assert_int_equal(ms[0]->state, MIG_PREPARED);
    ds_clear(&fake.calls);
    migrations_run(&nm);        /* It fails on id3's document. */
    assert_called("stage 3 blocked by id2,id4,id5;");
    assert_null(strstr(ds_cstr(&fake.calls), "stage 1 blocked by id"));
    for (size_t i = 0; i < 8 && (ms[1]->state == MIG_PREPARING
                                 || ms[2]->state == MIG_PREPARING); i++) {
        migrations_run(&nm);
    }
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ms[i]->state, i == 2 ? MIG_FAILED : MIG_PREPARED);
    }
    assert_non_null(strstr(ms[2]->last_error, "belongs to another VM"));
    assert_steps("id3", "prepare-begin failed ");
    assert_int_equal(fake.n_port_starts, 3);
}

/* Adoptions (the migrator makes the port) are steps of their own, never
 * in an import's batch. */
static void
test_batch_adopt_apart(void **state OVS_UNUSED)
{
    struct migration *ms[3];

    fake.step_runs = 1;
    start_many(ms, 3);
    ms[1]->adopt = true;
    answer_export_of("vm1");
    answer_export_of("vm2");    /* At once, alone, though vm1 is out. */
    assert_called("stage 1 adopt blocked by id2;");
    answer_export_of("vm3");
    assert_int_equal(fake.n_port_starts, 2);
    ds_clear(&fake.calls);
    migrations_run(&nm);
    assert_called("stage 1 blocked by id3;");   /* Not with id2. */
    migrations_run(&nm);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ms[i]->state, MIG_PREPARED);
    }
}

/* A migration aborted while its batch is in flight: the rollback waits
 * for the batch (what it creates must not outlive the removal); the
 * others are prepared. */
static void
test_batch_abort_member(void **state OVS_UNUSED)
{
    struct migration *ms[3];
    char *error = NULL;

    fake.step_runs = 1;
    start_many(ms, 3);
    answer_export_of("vm1");
    answer_export_of("vm2");
    answer_export_of("vm3");
    migrations_run(&nm);        /* The batch of vm2, vm3 starts. */
    assert_true(ms[2]->in_batch);
    ds_clear(&fake.calls);
    assert_int_equal(migration_abort(ms[2], &error), 0);
    assert_true(ms[2]->ending);
    assert_null(strstr(ds_cstr(&fake.calls), "remove-staged"));
    migrations_run(&nm);        /* The batch ends; vm3's rollback goes. */
    assert_int_equal(ms[1]->state, MIG_PREPARED);
    assert_called("remove-staged id3");
    assert_null(strstr(ds_cstr(&fake.calls), "fw-import vm3"));
    for (size_t i = 0; i < 4 && ms[2]->ending; i++) {
        migrations_run(&nm);
    }
    assert_int_equal(ms[2]->state, MIG_ABORTED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_shortest_round_trip,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_batch_one_at_a_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_busy_not_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_untrusted_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_pending_destroyed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_resume_confirm,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_after_prepare,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_after_resume_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_unknown_source,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fw_doc_of_another_vm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ct_precopy_of_another_address,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ct_precopy_huge_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ct_delta_gone_of_another_address,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ct_delta_of_the_vm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_first_frame_after_earlier_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_every_prefix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_step_under_way, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_adoption_retried_and_reopened,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_addresses_bounded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_addresses_v1,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_port_scoped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_locate_two_claims,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_prepare_begin_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_resumed_prepare_goes_on, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_prepare_done_rolled_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_resume_goes_on,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_batch_uplink_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_batch_no_uplink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_paused_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_paused_while_preparing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_relayed_before_held, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_seq, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_total_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_hold_other_vlan, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_not_source, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_journal_confirmed_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_pause_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_groups_prepares,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_failed_retried_alone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_failed_culprit_named,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_fw_refused_each_alone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_adopt_apart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_abort_member,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
