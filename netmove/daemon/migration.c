/* The destination's side of a migration: prepare, resume, abort, recovery.
 *
 * The destination drives.  prepare fetches the VM's documents from the
 * source and stages them (port imported blocked with this site's VLAN,
 * firewall and conntrack imported).  resume is the critical path: activate
 * the port and send the first announcements before anything else, then pull
 * the conntrack delta, then tell the source to confirm (only now does it
 * delete its copy).  Before resume any failure rolls the destination back;
 * after resume the destination never gives up, it retries.  Every step is in
 * the journal before and after it runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "unixctl.h"
#include "util.h"
#include "timeval.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "ovs/ovs.h"
#include "netmove/common/json.h"
#include "netmove/common/error.h"

VLOG_DEFINE_THIS_MODULE(migration);

/* Not the critical path; a batch queues.  With the locate (5 s) and the
 * port step (5 s), a prepare ends within the 60 s a CLI waiter is answered
 * in (MIG_WAIT_MAX_US), and the libvirt hook waits 75 s: netmove/hooks/HOOKS.md
 * "Timeouts". */
#define EXPORT_TIMEOUT_MS 45000
#define RPC_TIMEOUT_MS 5000
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
#define ANNOUNCE_WAIT_US (2 * 1000 * 1000)  /* For a device to arrive. */
/* What an interface announces: RARP, GARP for IPv4, NA for IPv6. */
#define ANNOUNCE_KINDS(IA) (GARP_F_RARP | ((IA)->n_ipv4 ? GARP_F_GARP : 0) \
                            | ((IA)->n_ipv6 ? GARP_F_NA : 0))

static void resolve_ofports(struct migration *);
static void capture_open(struct migration *);
static void resume_background(struct migration *);
static void fail_resumed(struct migration *);

const char *
migration_state_name(enum mig_state state)
{
    switch (state) {
    case MIG_LOCATING: return "locating";
    case MIG_PREPARING: return "preparing";
    case MIG_PREPARED: return "prepared";
    case MIG_RESUMING: return "resuming";
    case MIG_DONE: return "done";
    case MIG_FAILED: return "failed";
    case MIG_ABORTED: return "aborted";
    }
    return "?";
}

struct migration *
migration_find(struct netmoved *nm, const char *vm)
{
    struct migration *m;

    HMAP_FOR_EACH_WITH_HASH (m, node, hash_string(vm, 0), &nm->migrations) {
        if (!strcmp(m->vm, vm)) {
            return m;
        }
    }
    return NULL;
}

struct migration *
migration_create(struct netmoved *nm, const char *vm, const char *src,
                 const char *id)
{
    struct migration *m = xzalloc(sizeof *m);

    m->nm = nm;
    m->vm = xstrdup(vm);
    m->src = nullable_xstrdup(src);
    m->id = id ? xstrdup(id)
               : xasprintf("%s.%llu", vm,
                           (unsigned long long) time_wall_usec() / 1000);
    m->state = MIG_PREPARING;
    m->backoff_ms = RETRY_MIN_MS;
    hmap_insert(&nm->migrations, &m->node, hash_string(vm, 0));
    return m;
}

void
migration_destroy(struct migration *m)
{
    migration_locates_cancel(m);
    m->nm->ops->cancel(m->nm, m);
    migration_timeline_cancel(m);
    migration_drain_destroy(m);
    hmap_remove(&m->nm->migrations, &m->node);
    for (size_t i = 0; i < m->n_waiters; i++) {
        unixctl_command_reply_error(m->waiters[i].conn, "netmoved exiting");
    }
    free(m->waiters);
    garp_capture_close(m->capture);
    migration_batch_forget(m);
    if (m->port_op) {
        m->nm->ops->port_end(m->port_op, false);
    }
    if (m->remove_op) {
        m->nm->ops->port_end(m->remove_op, false);
    }
    json_destroy(m->staging);
    json_destroy(m->export);
    json_destroy(m->ct_delta);
    json_destroy(m->confirm_result);
    json_destroy(m->records_best);
    nm_vm_addrs_destroy(&m->addrs);
    nmovs_docs_destroy(m->port_docs, m->n_port_docs);
    for (size_t i = 0; i < m->n_extra_ips; i++) {
        free(m->extra_ips[i]);
    }
    free(m->extra_ips);
    free(m->last_error);
    free(m->journal_error);
    json_destroy(m->journal_pending);
    free(m->vm);
    free(m->src);
    free(m->id);
    free(m);
}

#define JOURNAL_RETRY_MS 1000

/* Writes the records of 'm' that earlier appends could not, in order.
 * 0, or the first error (the rest stay pending). */
static int
journal_flush(struct migration *m, bool sync)
{
    struct json *pending = m->journal_pending;

    while (pending && json_array(pending)->n) {
        struct json_array *a = json_array(pending);
        int error = nm_journal_append(m->nm->journal, NM_JOURNAL_DESTINATION,
                                      m->id, a->elems[0], sync);
        if (error) {
            return error;
        }
        json_destroy(a->elems[0]);
        memmove(&a->elems[0], &a->elems[1], --a->n * sizeof a->elems[0]);
    }
    json_destroy(pending);
    m->journal_pending = NULL;
    return 0;
}

/* Appends a record of 'step' (with 'extra' members, consumed) to the
 * journal, after any record still pending.  What a failure means is the
 * caller's to decide (migration-private.h): before resume nothing is staged
 * that the journal does not know of; from resume on the VM runs here and
 * the cutover goes on, the record kept for the next try (recovery after a
 * crash meanwhile sees fewer steps: it then resumes, or finishes, from the
 * last one it sees). */
int
migration_journal(struct migration *m, enum nm_journal_step step,
                  struct json *extra, bool sync)
{
    struct json *rec = extra ? extra : json_object_create();

    if (m->src) {
        json_object_put_string(rec, "src", m->src);
    }
    rec = nm_journal_rec_create(NM_JOURNAL_DESTINATION, step, m->vm, rec);
    int error = journal_flush(m, sync);
    if (!error) {
        error = nm_journal_append(m->nm->journal, NM_JOURNAL_DESTINATION,
                                  m->id, rec, sync);
    }
    if (!error) {
        json_destroy(rec);
        return 0;
    }
    VLOG_ERR("%s: journal: %s not written: %s", m->id,
             nm_journal_step_name(step), ovs_strerror(-error));
    if (!m->journal_error) {
        /* The first record lost is the one to report. */
        m->journal_error = xasprintf("%s: %s", nm_journal_step_name(step),
                                     ovs_strerror(-error));
    }
    if ((step == NM_JS_PREPARE_BEGIN || step == NM_JS_PREPARE_DONE)
        && !m->resume_wanted) {
        json_destroy(rec);      /* The prepare fails: nothing to retry. */
    } else {
        if (!m->journal_pending) {
            m->journal_pending = json_array_create_empty();
        }
        json_array_add(m->journal_pending, rec);
        m->journal_retry_us = time_usec() + JOURNAL_RETRY_MS * 1000ULL;
    }
    return error;
}

/* 'm' has ended: its journal moves to done/, once every record is on disk
 * (until then it stays where recovery finds it; the loop retries). */
void
migration_journal_finish(struct migration *m)
{
    int error = journal_flush(m, true);

    m->journal_finish_due = true;
    if (!error) {
        error = nm_journal_finish(m->nm->journal, NM_JOURNAL_DESTINATION,
                                  m->id);
    }
    if (error) {
        VLOG_ERR("%s: journal: finishing: %s (retrying)", m->id,
                 ovs_strerror(-error));
        m->journal_retry_us = time_usec() + JOURNAL_RETRY_MS * 1000ULL;
        return;
    }
    m->journal_finish_due = false;
    m->journal_retry_us = 0;
}

uint64_t
migration_journal_run(struct migration *m, uint64_t now)
{
    if (!m->journal_retry_us) {
        return 0;
    } else if (now < m->journal_retry_us) {
        return m->journal_retry_us;
    }
    if (m->journal_finish_due) {
        migration_journal_finish(m);
    } else if (journal_flush(m, true)) {
        m->journal_retry_us = now + JOURNAL_RETRY_MS * 1000ULL;
    } else {
        m->journal_retry_us = 0;
    }
    return m->journal_retry_us;
}

void
migration_set_error(struct migration *m, const char *fmt, ...)
{
    va_list args;

    free(m->last_error);
    va_start(args, fmt);
    m->last_error = xvasprintf(fmt, args);
    va_end(args);
    VLOG_WARN("%s: %s", m->id, m->last_error);
}

double
migration_ms(uint64_t from, uint64_t to)
{
    return from && to >= from ? (to - from) / 1000.0 : -1;
}

/* ---- rollback (before resume) ---- */

/* Rolls 'm' back, as a step of the loop: true while still under way.
 * Each part is undone even if another could not be: a rollback leaves as
 * little as it can, and says what it left. */
static bool
rollback_run(struct migration *m)
{
    struct netmoved *nm = m->nm;
    const struct mig_ops *ops = nm->ops;
    char err[NM_ERRLEN] = "";
    bool changed;
    size_t n;

    /* A port step under way first: what it creates must not outlive the
     * removal.  It ends by its deadline at the latest (a batch's too). */
    if (m->port_queued) {
        migration_batch_forget(m);  /* Nothing started for it yet. */
    }
    if (m->in_batch) {
        return true;
    }
    if (m->port_op) {
        if (ops->port_step(m->port_op, &n, &changed, err, sizeof err)
            == -EAGAIN) {
            return true;
        }
        ops->port_end(m->port_op, false);
        m->port_op = NULL;
    }

    /* Only the port this migration created; one the migrator made (and
     * netmove adopted) is the migrator's to remove, but not blocked by
     * flows that would outlive it. */
    if (!m->removing) {
        m->removing = true;
        m->remove_op = ops->port_remove_start(nm, m->id);
    }
    if (m->remove_op) {
        int error = ops->port_step(m->remove_op, &n, &changed,
                                   err, sizeof err);
        if (error == -EAGAIN) {
            return true;
        }
        if (error) {
            VLOG_WARN("%s: rollback: port: %s", m->id, err);
        }
        ops->port_end(m->remove_op, false);
        m->remove_op = NULL;
    }

    int error = ops->port_activate(nm, m->vm, err, sizeof err);
    if (error && error != -ENOENT) {
        VLOG_WARN("%s: rollback: unblocking the migrator's port: %s",
                  m->id, err);
    }
    if (ops->fw_remove(nm, m->vm, &n, err, sizeof err)) {
        VLOG_WARN("%s: rollback: firewall: %s", m->id, err);
    }
    struct ct_filter filter;
    nm_vm_addrs_ct_filter(&m->addrs, &filter);
    if (filter.n_addrs && ops->ct_remove(nm, &filter, &n, err, sizeof err)) {
        VLOG_WARN("%s: rollback: conntrack: %s", m->id, err);
    }
    free(filter.addrs);
    return false;
}

static void
abort_reply(void *aux OVS_UNUSED, const struct json *result OVS_UNUSED,
            const char *error, int errnum OVS_UNUSED)
{
    if (error) {
        VLOG_INFO("source did not acknowledge abort: %s (it kept "
                  "everything; nothing to undo there)", error);
    }
}

/* Ends 'm' before resume in 'state' (MIG_FAILED or MIG_ABORTED): undoes
 * what it staged, tells the source (which changed nothing), then, in this
 * order, the state, the journal's last record, the waiters' answers: what
 * a waiter hears is what the journal says. */
void
migration_end_before_resume(struct migration *m, enum mig_state state)
{
    if (m->ending) {
        return;
    }
    m->ending = true;
    m->end_state = state;
    /* The hold first: frames held here must not wait for a rollback. */
    migration_drain_abort(m);
    json_destroy(m->staging);   /* Prepare's step, if any, is the
                                 * rollback's to end. */
    m->staging = NULL;
    migration_end_run(m);
}

void
migration_end_run(struct migration *m)
{
    if (!m->ending || rollback_run(m)) {
        return;
    }
    m->ending = false;
    if (m->src) {
        struct json *p = json_object_create();
        json_object_put_string(p, "vm", m->vm);
        json_object_put_string(p, "id", m->id);
        if (m->nm->ops->request(m->nm, m->src, "abort", p, RPC_TIMEOUT_MS,
                                abort_reply, NULL)) {
            /* Not a configured peer: it never heard of this migration. */
            VLOG_INFO("%s: source %s is not a peer; nothing to tell it",
                      m->id, m->src);
        }
    }
    m->state = m->end_state;
    migration_journal(m, m->state == MIG_ABORTED ? NM_JS_ABORTED
                                                 : NM_JS_FAILED,
                      NULL, true);
    migration_journal_finish(m);
    migration_answer_waiters(m);
}

/* Prepare failed: undo, tell the source (which changed nothing), end. */
void
migration_fail_prepare(struct migration *m)
{
    migration_end_before_resume(m, MIG_FAILED);
}

/* ---- prepare ---- */

/* Stages the source's export 'x': 0 or -errno with m->last_error set. */
static int
stage(struct migration *m, const struct json *x)
{
    struct netmoved *nm = m->nm;
    const struct shash *o = json_object(x);
    const struct json *port = shash_find_data(o, "port");
    const struct json *fw = shash_find_data(o, "fw");
    const struct json *ct = shash_find_data(o, "ct");
    const struct json *site = shash_find_data(o, "site");
    char err[NM_ERRLEN] = "";
    int error;

    const struct json *vm = shash_find_data(o, "vm");

    if (!port || !fw || !ct || !site || site->type != JSON_STRING) {
        migration_set_error(m, "source's export: missing port, fw, ct or site");
        return -EPROTO;
    }
    if (!vm || vm->type != JSON_STRING || strcmp(json_string(vm), m->vm)) {
        /* A peer answers for the VM it was asked about, or not at all. */
        m->bad_input = true;
        migration_set_error(m, "source's export: vm: not %s", m->vm);
        return -EINVAL;
    }
    /* The port, blocked, with this site's VLAN for the VM's network: a
     * step of the loop (migration_follow_port() runs it, then
     * migration_staged() goes on).  Its documents first, within what a
     * peer may make here; then the addresses, within the VM's network
     * here.  A refusal has staged nothing, and leaves m->addrs empty so
     * that the rollback touches no conntrack entry of them. */
    error = migration_port_docs(m, x, err, sizeof err);
    if (!error) {
        error = migration_addrs(m, x, &m->addrs, err, sizeof err);
    }
    if (error) {
        m->bad_input = error == -EINVAL;
        migration_set_error(m, "%s", err);
        return error;
    }
    /* The hypervisor may create the VM's device only when the VM arrives:
     * stage the port without it. */
    m->staging = json_clone(x);
    if (!m->adopt) {
        /* With the other migrations' exports that arrive meanwhile: one
         * transaction for all (migration_batch.c). */
        migration_batch_queue(m);
        return 0;
    }
    struct nmovs_import_opts opts = { .blocked = true, .timeout_ms = 5000,
                                      .device_later = true,
                                      .staged_by = m->id };
    m->port_op = nm->ops->port_start(nm, m->adopt, m->port_docs,
                                     m->n_port_docs, &opts);
    return 0;
}

/* Imports conntrack document 'ct' (not null), confined to the VM: its
 * addresses, zone 0, bounded timeouts and count (ct_table_check_scope()).
 * 0 or -errno with 'err'; '*refused' if the document itself is refused
 * (nothing was written then). */
int
migration_import_ct(struct migration *m, const struct json *ct,
                    size_t *created, size_t *updated, size_t *deleted,
                    bool *refused, char *err, size_t errlen)
{
    struct netmoved *nm = m->nm;
    struct ct_filter addrs;
    struct ct_scope scope = { .vm_addrs = &addrs };
    struct ct_table *tab = NULL;
    int error;

    nm_vm_addrs_ct_filter(&m->addrs, &addrs);
    error = ct_table_from_json(ct, &tab, err, errlen);
    if (!error) {
        error = ct_table_check_scope(tab, &scope, err, errlen);
    }
    *refused = error != 0;
    if (!error) {
        error = nm->ops->ct_import(nm, &scope, tab, created, updated,
                                   deleted, err, errlen);
    }
    ct_table_destroy(tab);
    free(addrs.addrs);
    return error;
}

/* The rest of staging, once the port is: the firewall in one batch and the
 * conntrack pre-copy, each confined to the VM.  0 or -errno with
 * m->last_error set. */
static int
stage_rest(struct migration *m, const struct json *x, uint64_t *t_fw)
{
    struct netmoved *nm = m->nm;
    const struct shash *o = json_object(x);
    const struct json *fw = shash_find_data(o, "fw");
    const struct json *ct = shash_find_data(o, "ct");
    struct fw_ruleset *rs = NULL;
    char err[NM_ERRLEN] = "";
    bool refused;
    int error;

    if (m->fw_staged) {
        /* Imported with the rest of its batch (migration_batch.c). */
        *t_fw = time_usec();
        goto ct;
    }
    error = fw_ruleset_from_json(fw, &rs, err, sizeof err);
    if (!error && strcmp(fw_ruleset_vm(rs), m->vm)) {
        error = -EINVAL;
        snprintf(err, sizeof err, "vm: \"%s\" is not the VM being moved "
                 "(%s)", fw_ruleset_vm(rs), m->vm);
    }
    if (!error) {
        error = nm->ops->fw_import(nm, m->vm, rs, err, sizeof err);
    }
    fw_ruleset_destroy(rs);
    *t_fw = time_usec();
    if (error) {
        m->bad_input = nm_error_is_bad_input(error);
        migration_set_error(m, "firewall: %s", err);
        return error;
    }
ct:
    if (ct->type != JSON_NULL) {
        error = migration_import_ct(m, ct, NULL, NULL, NULL, &refused,
                                    err, sizeof err);
        if (error) {
            m->bad_input = nm_error_is_bad_input(error);
            migration_set_error(m, "conntrack: %s", err);
            return error;
        }
    }
    return 0;
}

static void
export_reply(void *m_, const struct json *result, const char *error,
             int errnum)
{
    struct migration *m = m_;

    m->t_exported = time_usec();
    if (error || !result || result->type != JSON_OBJECT) {
        migration_set_error(m, "source %s: export: %s", m->src,
                  error ? error : "not an object");
        m->bad_input = nm_error_is_bad_input(errnum);
        migration_fail_prepare(m);
        return;
    }
    if (stage(m, result)) {
        migration_fail_prepare(m);
        return;
    }
    /* A step that ends at once goes on at once. */
    migration_port_step(m);
}

void
migration_staged(struct migration *m, int error, const char *err)
{
    if (error) {
        migration_set_error(m, "port: %s", err);
        migration_fail_prepare(m);
        return;
    }
    uint64_t t_port = time_usec(), t_fw;
    if (stage_rest(m, m->staging, &t_fw)) {
        migration_fail_prepare(m);
        return;
    }
    /* Prepared only once the journal says so: a restart then knows the
     * documents; otherwise it would not know what to resume from. */
    uint64_t t_rest = time_usec();
    error = migration_journal(m, NM_JS_PREPARE_DONE,
                              nm_json_object_1("export",
                                               json_clone(m->staging)),
                              true);
    uint64_t t_journal = time_usec();
    if (error && !m->resume_wanted) {
        migration_set_error(m, "journal: prepare-done not written (%s): "
                            "prepare failed, rolled back",
                            ovs_strerror(-error));
        migration_fail_prepare(m);
        return;
    }
    m->export = m->staging;
    m->staging = NULL;
    capture_open(m);
    migration_local_ifaces(m);
    resolve_ofports(m);
    m->t_prepared = time_usec();
    m->state = MIG_PREPARED;
    /* Where the time went: the export, the port (a batch's wait
     * included), firewall and conntrack, the journal's record. */
    VLOG_INFO("%s: prepared from %s in %.1f ms (export %.1f, port %.1f, "
              "fw %.1f, ct %.1f, journal %.1f, capture %.1f ms)", m->id, m->src,
              migration_ms(m->t_prepare_begin, m->t_prepared),
              migration_ms(m->t_prepare_begin, m->t_exported),
              migration_ms(m->t_exported, t_port),
              migration_ms(t_port, t_fw), migration_ms(t_fw, t_rest),
              migration_ms(t_rest, t_journal),
              migration_ms(t_journal, m->t_prepared));
    migration_answer_waiters(m);
    if (m->resume_wanted) {
        migration_resume(m);
    } else {
        migration_drain_prepared(m);
    }
}

void
migration_start_prepare(struct migration *m)
{
    struct json *p = json_object_create();

    m->state = MIG_PREPARING;
    m->t_prepare_begin = time_usec();
    int error = migration_journal(m, NM_JS_PREPARE_BEGIN,
                                  nm_json_object_1("adopt",
                                                   json_boolean_create(
                                                       m->adopt)),
                                  true);
    if (error && !m->resume_wanted) {
        /* Nothing staged yet, and nothing may be that a restart would not
         * know to roll back: refused, with no rollback (there is nothing
         * of this migration's to undo).  (A VM already resumed here is
         * prepared all the same, the record kept for the next try: its
         * network must follow it.) */
        json_destroy(p);
        migration_set_error(m, "journal: prepare-begin not written (%s): "
                            "prepare refused, nothing staged",
                            ovs_strerror(-error));
        m->state = MIG_FAILED;
        migration_journal_finish(m);
        migration_answer_waiters(m);
        return;
    }
    if (m->resume_wanted) {
        /* Resumed before prepare began (a resume-driven prepare). */
        migration_journal(m, NM_JS_RESUME_WANTED, NULL, true);
    }
    json_object_put_string(p, "vm", m->vm);
    json_object_put_string(p, "id", m->id);
    if (m->nm->ops->request(m->nm, m->src, "export", p, EXPORT_TIMEOUT_MS,
                            export_reply, m)) {
        m->bad_input = true;
        migration_set_error(m, "--from: '%s' is not a configured peer", m->src);
        migration_fail_prepare(m);
    }
}

/* ---- what left the uplink ---- */

#define CAPTURE_MARGIN_US (500 * 1000)

/* How long the announcement rounds last, in ms. */
static unsigned long long
rounds_span_ms(const struct garp_schedule_params *p)
{
    unsigned long long total = 0;

    for (unsigned int k = 1; k < garp_schedule_n_rounds(p); k++) {
        total += garp_schedule_gap_ms(p, k);
    }
    return MIN(total, 10000);
}


/* Starts capturing what leaves this host's uplink about the VM, so that the
 * announcements are known to have reached the wire (opened at prepare: a
 * pcap handle costs milliseconds, not for the resume path). */
static void
capture_open(struct migration *m)
{
    const char *dev = m->nm->cfg->uplink;
    char err[NM_ERRLEN];

    m->seen_vlan = -1;
    if (!dev || m->capture || !m->addrs.n_ifaces) {
        return;
    }
    struct garp_capture_filter f = { .mac = &m->addrs.ifaces[0].mac };
    if (garp_capture_open(dev, &f, err, sizeof err, &m->capture)) {
        VLOG_WARN("%s: no capture on %s: %s", m->id, dev, err);
        m->capture = NULL;
    }
}

/* A migration's journal is finished once it is done and its capture has
 * been summed up (the last record). */
void
migration_maybe_finish(struct migration *m)
{
    if (m->state != MIG_DONE || m->capture) {
        return;
    }
    if (!m->records_asked) {
        /* Only now: the capture's end is ~1.3 s after resume, when an
         * evacuation's confirms are through, and the request competes
         * with none of them for the source's request budget. */
        m->records_asked = true;
        migration_fetch_source_records(m);
        /* A request that failed at once has finished the journal already
         * (records_done() comes back here). */
        return;
    }
    if (!m->records_pending) {
        migration_journal_finish(m);
    }
}

/* Reads what the uplink capture holds now.  A failed read loses only
 * evidence (what left the uplink), never the announcements: logged. */
static void
capture_read(struct migration *m)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
    int error = garp_capture_run(m->capture);

    if (error) {
        VLOG_WARN_RL(&rl, "%s: capture on the uplink: %s", m->vm,
                     ovs_strerror(-error));
    }
}

static void
capture_close(struct migration *m)
{
    if (!m->capture) {
        return;
    }
    capture_read(m);
    for (size_t i = 0; i < garp_capture_n_seen(m->capture); i++) {
        uint64_t ts;
        const struct garp_seen *seen = garp_capture_seen(m->capture, i, &ts);
        if (ts < m->resume_wall_us || !garp_seen_is_claim(seen)) {
            continue;           /* Before our announcement, or a question. */
        }
        m->seen[seen->type]++;
        if (!m->first_seen_wall_us) {
            m->first_seen_wall_us = ts;
            m->seen_vlan = seen->vlan;
        }
    }
    garp_capture_close(m->capture);
    m->capture = NULL;
    struct json *rec = json_object_create();
    json_object_put(rec, "first_seen_wall_us",
                    json_integer_create(m->first_seen_wall_us));
    migration_journal(m, NM_JS_ANNOUNCEMENTS_SEEN, rec, true);
    migration_maybe_finish(m);
}

/* ---- resume: the critical path ---- */

void
migration_note_announcement(struct netmoved *nm, size_t idx,
                            struct migration *m)
{
    if (idx >= nm->n_ann_vms) {
        size_t n = MAX(idx + 1, 2 * nm->n_ann_vms);
        nm->ann_vms = xrealloc(nm->ann_vms, n * sizeof *nm->ann_vms);
        memset(&nm->ann_vms[nm->n_ann_vms], 0,
               (n - nm->n_ann_vms) * sizeof *nm->ann_vms);
        nm->n_ann_vms = n;
    }
    free(nm->ann_vms[idx]);
    nm->ann_vms[idx] = xstrdup(m->vm);
}

/* The announcer's callback for every frame it sends ('aux' is netmoved). */
void
migration_frame_sent(void *nm_, size_t idx,
                     const struct garp_frame *f OVS_UNUSED,
                     unsigned int round OVS_UNUSED, uint64_t wall_us)
{
    struct netmoved *nm = nm_;
    struct migration *m = idx < nm->n_ann_vms && nm->ann_vms[idx]
                          ? migration_find(nm, nm->ann_vms[idx]) : NULL;

    if (!m || !m->resume_wall_us || wall_us < m->resume_wall_us) {
        /* Not this migration's: the rounds of an earlier migration of the
         * same VM (here, then away and back within seconds) go on until
         * their schedule ends, and are before this one resumed (or before
         * it even prepared).  Taken for its first frame, such a frame
         * made a wall-clock time of the resume-to-first-frame duration. */
        return;
    }
    if (!m->first_frame_wall_us) {
        /* The frame's own send time (callbacks come after a whole batch),
         * as an offset from the resume call. */
        m->first_frame_wall_us = wall_us;
        m->t_first_frame = m->t_resume_call
            + (wall_us > m->resume_wall_us ? wall_us - m->resume_wall_us : 0);
    }
    m->frames_sent++;
}

/* The OpenFlow port of each of the VM's interfaces, looked up at prepare
 * (by name that is a dump of every port's description: tens of ms on a big
 * bridge), so that resume announces without a round trip.  A port whose
 * device has not arrived yet is looked up at resume instead. */
static void
resolve_ofports(struct migration *m)
{
    char err[NM_ERRLEN];

    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        struct nm_iface_addrs *ia = &m->addrs.ifaces[i];
        if (!ia->ofport && m->nm->ops->ofport(m->nm, ia->port, &ia->ofport,
                                              err, sizeof err)) {
            ia->ofport = 0;     /* Not there yet: looked up at resume. */
        }
    }
}

/* True once every interface of 'm' has all its kinds in the announcer. */
static bool
all_announced(const struct migration *m)
{
    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &m->addrs.ifaces[i];
        if (ia->announced != ANNOUNCE_KINDS(ia)) {
            return false;
        }
    }
    return true;
}

/* Adds the 'kinds' (GARP_F_*) of every MAC and IP of the VM, from its port
 * on this host, to the announcer, due at 'when': its first round then, the
 * rest on the schedule; the caller runs the announcer.  If 'first', an
 * interface whose uplink is known sends its round 0 first straight out of
 * it, after teaching the bridge its MAC (announce_first()).  A port whose
 * device has not reached ovs-vswitchd yet (it arrives with the VM) has no
 * OpenFlow port: that interface is retried from migrations_run() until
 * 'announce_until_us'. */
static void
announce(struct migration *m, unsigned int kinds, uint64_t when, bool first)
{
    struct netmoved *nm = m->nm;
    char err[NM_ERRLEN];

    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        struct nm_iface_addrs *ia = &m->addrs.ifaces[i];
        unsigned int want = kinds & ANNOUNCE_KINDS(ia) & ~ia->announced;
        if (!want) {
            continue;
        }
        struct garp_uplink up;
        struct garp_vm vm = {
            .mac = ia->mac,
            .ipv4 = ia->ipv4, .n_ipv4 = ia->n_ipv4,
            .ipv6 = ia->ipv6, .n_ipv6 = ia->n_ipv6,
            .port = ia->port,
            .ofport = ia->ofport,
            .kinds = want,
        };
        /* No uplink known (none configured, the port not in the replica
         * yet): round 0 by NORMAL alone, as the rest. */
        if (first && ia->ofport
            && !nm->ops->announce_uplink(nm, ia->ofport, &up)) {
            vm.uplinks = &up;
            vm.n_uplinks = 1;
        }
        size_t idx;
        int error = nm->ops->announce_add(nm, &vm, when, &idx,
                                          err, sizeof err);
        if (error == -ENOENT && (uint64_t) time_usec() < m->announce_until_us) {
            continue;           /* Not in ovs-vswitchd yet. */
        } else if (error) {
            migration_set_error(m, "announce %s: %s", ia->port, err);
        } else {
            migration_note_announcement(nm, idx, m);
        }
        ia->announced |= want;
    }
}

/* Sends the learn frames, then round 0 straight out of the uplink, of
 * every VM announce() added with 'first' (the 'k' migrations of 'ms'): a
 * failure is the batch's error (the schedule's NORMAL rounds follow
 * anyway). */
static void
announce_first(struct migration **ms, size_t k)
{
    struct netmoved *nm = ms[0]->nm;
    int error = nm->ops->announce_first(nm);

    for (size_t i = 0; error && i < k; i++) {
        migration_set_error(ms[i], "sending announcements to the uplink: %s",
                            ovs_strerror(-error));
    }
}

/* Sends what the announcer has due at 'now' for the 'k' migrations of 'ms'
 * (and any other): a sender that failed is the batch's error (the
 * announcer sends the next rounds anyway). */
static void
announce_run(struct migration **ms, size_t k, uint64_t now)
{
    struct netmoved *nm = ms[0]->nm;
    int error = nm->ops->announce_run(nm, now);

    for (size_t i = 0; error && i < k; i++) {
        migration_set_error(ms[i], "sending announcements: %s",
                            ovs_strerror(-error));
    }
}

/* Unblocks the ports of the 'k' migrations of 'ms': together (one OpenFlow
 * connection per bridge), or one by one if that fails; a port that cannot
 * be activated now is retried from migrations_run(). */
static void
activate(struct migration **ms, size_t k)
{
    const char **vms = xmalloc(k * sizeof *vms);
    char err[NM_ERRLEN];

    for (size_t i = 0; i < k; i++) {
        vms[i] = ms[i]->vm;
    }
    struct netmoved *nm = ms[0]->nm;
    bool together = !nm->ops->port_activate_many(nm, vms, k, err, sizeof err);
    free(vms);
    for (size_t i = 0; i < k; i++) {
        struct migration *m = ms[i];
        if (!together && nm->ops->port_activate(nm, m->vm, err, sizeof err)) {
            migration_set_error(m, "activate: %s (retrying)", err);
            m->activate_pending = true;
        }
        m->t_activated = time_usec();
    }
}

/* The instant the VMs of 'ms' run here (a host evacuation resumes many at
 * once; one VM is a batch of one).  Reads top to bottom: announce every VM
 * and activate every port first (docs/DESIGN.md: first frame within 1 ms of the
 * hook call), then record it on disk, then the rest happens in the
 * background (conntrack delta, confirm).  Each step runs for every VM before
 * the next, so that the last VM's first frame does not wait for the others'
 * journal writes. */
void
migration_resume_batch(struct migration **ms, size_t n)
{
    size_t k = 0;

    /* Those not prepared yet resume as soon as they are. */
    for (size_t i = 0; i < n; i++) {
        struct migration *m = ms[i];
        if (m->state != MIG_PREPARED) {
            if (!m->resume_wanted) {
                /* The VM runs here: a restart must finish this migration,
                 * not roll it back (written with prepare-begin if the
                 * source is still being located). */
                m->resume_wanted = true;
                if (m->state == MIG_PREPARING) {
                    migration_journal(m, NM_JS_RESUME_WANTED, NULL, true);
                }
            }
            continue;
        }
        m->state = MIG_RESUMING;
        if (!m->t_resume_call) {
            m->t_resume_call = time_usec();
        }
        m->resume_wall_us = time_wall_usec();
        ms[k++] = m;
    }

    /* Announced at the pause already: the port is active, the fabric has
     * relearned; resume sends the schedule's rounds all the same (a frame
     * lost then is not lost now). */
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; migration_drain_announced(ms[i])
                           && j < ms[i]->addrs.n_ifaces; j++) {
            ms[i]->addrs.ifaces[j].announced = 0;
        }
    }

    /* A device that arrived since prepare has its OpenFlow port in the
     * replica by now (read there, not asked of the switch). */
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < ms[i]->addrs.n_ifaces; j++) {
            if (!ms[i]->addrs.ifaces[j].ofport) {
                migration_local_ifaces(ms[i]);
                break;
            }
        }
    }

    /* 0. In the kernel before the first frame (survives a kill), on disk
     * after it. */
    for (size_t i = 0; i < k; i++) {
        migration_journal(ms[i], NM_JS_RESUME_BEGIN, NULL, false);
    }

    /* 1. Every VM's round 0 straight out of the uplink, then a frame
     * into each VM's port that teaches the bridge its MAC there (a frame
     * output to the uplink teaches it nothing: NORMAL would then drop what
     * comes back for the MAC on the uplink), then the ports, then the
     * rest by NORMAL, paced.  Flooding each frame to every port of a big
     * bridge (a write per port in the userspace datapath) is what takes
     * the time, so the fabric hears first from the uplink.  Packet-out
     * does not go through the blocking flows, so it need not wait for the
     * unblock; what it redirects here must then find the port open.  The
     * local flood (this host's neighbours) and the later rounds follow on
     * the schedule, its pacing ("announce" "pps") spreading a batch's
     * round.  Announced at the pause already (the drain): the same, but
     * the port is open already (announce-at-pause itself opens the port,
     * then floods its rounds by NORMAL, as before). */
    if (k) {
        uint64_t now = time_usec();
        for (size_t i = 0; i < k; i++) {
            ms[i]->announce_until_us = now + ANNOUNCE_WAIT_US;
            announce(ms[i], GARP_F_ALL, now, true);
            ms[i]->capture_until_us = now + CAPTURE_MARGIN_US
                + 1000ULL * rounds_span_ms(&ms[i]->nm->cfg->announce);
        }
        announce_first(ms, k);
        /* A port opened at the pause is not opened again: that is an
         * OpenFlow exchange on the critical path, for nothing. */
        size_t n_closed = 0;
        struct migration **closed = xmalloc(k * sizeof *closed);
        for (size_t i = 0; i < k; i++) {
            if (!migration_drain_announced(ms[i])) {
                closed[n_closed++] = ms[i];
            } else if (!ms[i]->t_activated) {
                ms[i]->t_activated = time_usec();
            }
        }
        if (n_closed) {
            activate(closed, n_closed);
        }
        free(closed);
        announce_run(ms, k, time_usec());
        for (size_t i = 0; i < k; i++) {
            migration_drain_resumed(ms[i]);
        }
    }

    /* 2. On disk, with the timings so far. */
    for (size_t i = 0; i < k; i++) {
        struct migration *m = ms[i];
        struct json *t = json_object_create();
        json_object_put(t, "first_frame_wall_us",
                        json_integer_create(m->first_frame_wall_us));
        if (m->t_activated) {
            /* When its port went active (at the pause, or just now), on
             * the wall clock of the records. */
            json_object_put(t, "port_active_wall_us", json_integer_create(
                time_wall_usec() - (time_usec() - m->t_activated)));
        }
        migration_journal(m, NM_JS_ANNOUNCED, t, true);
        VLOG_INFO("%s: resumed: first frame at %.3f ms, port active at "
                  "%.3f ms", m->id, migration_ms(m->t_resume_call,
                                               m->t_first_frame),
                  migration_ms(m->t_resume_call, m->t_activated));
    }

    /* 3, 4. Conntrack delta, then confirm, with retries. */
    for (size_t i = 0; i < k; i++) {
        resume_background(ms[i]);
    }
}

void
migration_announce_at_pause(struct migration **ms, size_t k)
{
    uint64_t now = time_usec();

    if (!k) {
        return;
    }
    /* Open first: what the announcement redirects here must find the port
     * open (it waits in the VM's tap until the VM runs).  One OpenFlow
     * exchange for the batch, not one per VM. */
    activate(ms, k);
    uint64_t t_active = time_usec();
    for (size_t i = 0; i < k; i++) {
        ms[i]->announce_until_us = now + ANNOUNCE_WAIT_US;
        announce(ms[i], GARP_F_RARP, t_active, false);
    }
    announce_run(ms, k, t_active);
    uint64_t t_rarp = time_usec();
    for (size_t i = 0; i < k; i++) {
        announce(ms[i], GARP_F_GARP | GARP_F_NA, t_rarp, false);
    }
    announce_run(ms, k, t_rarp);
    VLOG_INFO("announced %zu VM(s) at their pause: ports activated in %.1f "
              "ms, RARPs out %.1f ms later, GARPs/NAs %.1f ms after them", k,
              migration_ms(now, t_active), migration_ms(t_active, t_rarp),
              migration_ms(t_rarp, time_usec()));
}

void
migration_resume(struct migration *m)
{
    migration_resume_batch(&m, 1);
}

static void
retry_later(struct migration *m)
{
    m->retry_at_us = time_usec() + m->backoff_ms * 1000ULL;
    m->backoff_ms = MIN(m->backoff_ms * 2, RETRY_MAX_MS);
}

static void
confirm_reply(void *m_, const struct json *result, const char *error,
              int errnum OVS_UNUSED)
{
    struct migration *m = m_;

    m->rpc_pending = false;
    if (error) {
        migration_set_error(m, "source %s: confirm: %s (retrying)", m->src, error);
        retry_later(m);
        return;
    }
    m->confirm_result = json_clone(result);
    m->t_confirmed = time_usec();
    m->state = MIG_DONE;
    free(m->last_error);
    m->last_error = NULL;
    migration_journal(m, NM_JS_CONFIRMED,
                      nm_json_object_1("source_removed", json_clone(result)),
                      true);
    migration_maybe_finish(m);
    VLOG_INFO("%s: done: confirmed by %s %.1f ms after resume", m->id,
              m->src, migration_ms(m->t_resume_call, m->t_confirmed));
    migration_answer_waiters(m);
}

static void
ct_delta_reply(void *m_, const struct json *result, const char *error,
               int errnum OVS_UNUSED)
{
    struct migration *m = m_;
    const struct json *ct = nm_json_member(result, "ct");
    char err[NM_ERRLEN];

    m->rpc_pending = false;
    if (error || !ct) {
        migration_set_error(m, "source %s: ct-delta: %s (retrying)", m->src,
                  error ? error : "no ct");
        retry_later(m);
        return;
    }
    if (ct->type != JSON_NULL) {
        size_t created = 0, updated = 0, deleted = 0;
        bool refused;
        if (migration_import_ct(m, ct, &created, &updated, &deleted,
                                &refused, err, sizeof err)) {
            if (refused) {
                /* Asking again gets the same document: the source is at
                 * fault, and confirming would have it remove its copy. */
                m->bad_input = true;
                migration_set_error(m, "source %s: conntrack delta: %s; the "
                                    "VM runs here, but the source keeps its "
                                    "copy (port, firewall) until it is "
                                    "removed there", m->src, err);
                fail_resumed(m);
                return;
            }
            migration_set_error(m, "conntrack delta: %s (retrying)", err);
            retry_later(m);
            return;
        }
        m->ct_delta_entries = created + updated + deleted;
    }
    m->ct_delta_done = true;
    m->t_ct_delta = time_usec();
    m->backoff_ms = RETRY_MIN_MS;
    json_destroy(m->ct_delta);
    m->ct_delta = json_clone(ct);
    migration_journal(m, NM_JS_CT_DELTA_DONE,
                      nm_json_object_1("ct", json_clone(ct)), true);
    resume_background(m);
}

/* Sends the next request of resume's background part, if none is out.
 * A source that is not a configured peer (a restart recovered a migration
 * whose source has left the configuration) can never be asked: the
 * migration fails, saying so, rather than wait for ever.  The VM runs here
 * (nothing is rolled back after resume); the source keeps its copy. */
static void
resume_background(struct migration *m)
{
    struct json *p = json_object_create();
    const char *method = m->ct_delta_done ? "confirm" : "ct-delta";

    json_object_put_string(p, "vm", m->vm);
    json_object_put_string(p, "id", m->id);
    m->rpc_pending = true;
    m->retry_at_us = 0;
    int error = m->nm->ops->request(m->nm, m->src, method, p, RPC_TIMEOUT_MS,
                                    m->ct_delta_done ? confirm_reply
                                                     : ct_delta_reply, m);
    if (error) {
        m->rpc_pending = false;
        migration_set_error(m, "source %s: %s: %s; the VM runs here, but "
                            "the source keeps its copy (port, firewall) "
                            "until it is removed there", m->src, method,
                            error == -ENOENT ? "not a configured peer"
                                             : ovs_strerror(-error));
        fail_resumed(m);
    }
}

/* Ends 'm', which runs here, as failed with m->last_error: nothing is
 * rolled back after resume; the source keeps its copy. */
static void
fail_resumed(struct migration *m)
{
    m->state = MIG_FAILED;
    migration_journal(m, NM_JS_FAILED,
                      nm_json_object_1("error",
                                       json_string_create(m->last_error)),
                      true);
    migration_journal_finish(m);
    migration_answer_waiters(m);
}

/* ---- abort (before resume) ---- */

int
migration_abort(struct migration *m, char **errorp)
{
    if (m->state == MIG_RESUMING || m->state == MIG_DONE) {
        *errorp = xasprintf("%s: the VM has resumed here; abort is for "
                            "before resume", m->id);
        return -EBUSY;
    }
    if (m->state == MIG_FAILED || m->state == MIG_ABORTED || m->ending) {
        return 0;               /* Ended, or ending. */
    }
    m->nm->ops->cancel(m->nm, m);
    migration_locates_cancel(m);
    migration_journal(m, NM_JS_ABORT_BEGIN, NULL, true);
    migration_set_error(m, "aborted");
    migration_end_before_resume(m, MIG_ABORTED);
    return 0;
}

/* ---- the loop ---- */

void
migrations_run(struct netmoved *nm)
{
    struct migration *m;
    uint64_t now = time_usec();
    char err[NM_ERRLEN];

    migration_batch_run(nm);
    migration_drain_announce_due(nm);
    HMAP_FOR_EACH_SAFE (m, node, &nm->migrations) {
        migration_journal_run(m, now);
        migration_timeline_run(m, now);
        if (m->ending) {
            migration_end_run(m);       /* Rolling back: nothing else. */
            migration_answer_waiters(m);
            continue;
        }
        migration_follow_port(m);
        migration_drain_run(m, now);
        if (m->capture) {
            capture_read(m);
            if (m->capture_until_us && now >= m->capture_until_us) {
                capture_close(m);
            }
        }
        if (m->state == MIG_RESUMING) {
            if (!all_announced(m)) {
                migration_local_ifaces(m);
                announce(m, GARP_F_ALL, time_usec(), true);
                announce_run(&m, 1, time_usec());
                if (all_announced(m) && m->activate_pending
                    && !nm->ops->port_activate(nm, m->vm, err, sizeof err)) {
                    m->activate_pending = false;
                }
            }
            /* Failing, it is retried on the next run (RETRY_MIN_MS). */
            if (m->activate_pending
                && !nm->ops->port_activate(nm, m->vm, err, sizeof err)) {
                m->activate_pending = false;
            }
            if (!m->rpc_pending && m->retry_at_us && now >= m->retry_at_us) {
                resume_background(m);
            }
        } else if (m->activate_pending && m->t_resume_call) {
            /* Ended (done, or failed after resume) while an adoption
             * blocked the port again: the VM runs here.  A port gone
             * meanwhile has nothing left to open. */
            int error = nm->ops->port_activate(nm, m->vm, err, sizeof err);
            if (!error || error == -ENOENT) {
                m->activate_pending = false;
            }
        }
        migration_answer_waiters(m);
        /* Ended migrations stay for 'status' until replaced; bounded. */
        if ((m->state == MIG_DONE || m->state == MIG_FAILED
             || m->state == MIG_ABORTED) && !m->n_waiters
            && !m->records_pending
            && hmap_count(&nm->migrations) > 4096) {
            migration_destroy(m);
        }
    }
}

void
migrations_wait(struct netmoved *nm)
{
    struct migration *m;

    migration_batch_wait(nm);
    HMAP_FOR_EACH (m, node, &nm->migrations) {
        if (m->records_retry_at_us) {
            poll_timer_wait_until(m->records_retry_at_us / 1000 + 1);
        }
        if (m->retry_at_us && !m->rpc_pending) {
            poll_timer_wait_until(m->retry_at_us / 1000 + 1);
        }
        if (m->journal_retry_us) {
            poll_timer_wait_until(m->journal_retry_us / 1000 + 1);
        }
        for (size_t i = 0; i < m->n_waiters; i++) {
            poll_timer_wait_until(m->waiters[i].deadline_us / 1000 + 1);
        }
        if (m->activate_pending) {
            poll_timer_wait(RETRY_MIN_MS);
        }
        if (m->state == MIG_RESUMING && !all_announced(m)) {
            poll_timer_wait(1);         /* The device is arriving. */
        }
        if (m->remove_op) {
            nm->ops->port_wait(m->remove_op);
        }
        if (m->port_op) {
            nm->ops->port_wait(m->port_op);
        } else if (m->port_retry_at_us) {
            poll_timer_wait_until(m->port_retry_at_us / 1000 + 1);
        }
        migration_drain_wait(m);
        if (m->capture) {
            garp_capture_wait(m->capture);
            if (m->capture_until_us) {
                poll_timer_wait_until(m->capture_until_us / 1000 + 1);
            }
        }
    }
}

void
migrations_destroy(struct netmoved *nm)
{
    struct migration *m;

    migration_batch_destroy(nm);
    HMAP_FOR_EACH_SAFE (m, node, &nm->migrations) {
        migration_destroy(m);
    }
    hmap_destroy(&nm->migrations);
    for (size_t i = 0; i < nm->n_ann_vms; i++) {
        free(nm->ann_vms[i]);
    }
    free(nm->ann_vms);
    nm->ann_vms = NULL;
    nm->n_ann_vms = 0;
}

