/* The source's side of a migration: what a destination peer asks of it.
 *
 * The source changes nothing until 'confirm': 'export' and 'ct-delta' only
 * read (the destination stages its copy meanwhile), 'abort' forgets.  Every
 * handler is idempotent: a destination that retries after a lost reply gets
 * the same outcome.
 *
 * Being an authenticated peer is not enough to make this host delete a VM:
 * a confirm removes the VM's port, rules and entries only once this host
 * has its own evidence that the VM left, to that peer (source_left(): the
 * migrator's 'netmove left', libvirt's release of the domain); until then
 * the confirm is held, and answered with an error the destination retries.
 * Exports cannot wait for such evidence (libvirt asks no source hook before
 * the destination's Prepare): they serve configured peers, for VMs whose
 * ports carry their identity here, one migration of a VM at a time, rate
 * limited per peer. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "openvswitch/list.h"
#include "openvswitch/poll-loop.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/common/config.h"
#include "netmove/daemon/drain_src.h"
#include "netmove/daemon/journal.h"
#include "netmove/addr/owner_probe.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/learn.h"
#include "netmove/daemon/service.h"
#include "netmove/daemon/source.h"
#include "netmove/verify/verify.h"
#include "netmove/addr/vmaddr.h"
#include "ovs/ovs.h"
#include "netmove/common/json.h"
#include "netmove/common/error.h"

VLOG_DEFINE_THIS_MODULE(source);


/* The source's state: what this host serves its peers. */
struct nm_source {
    struct shash outgoing;              /* By VM: struct outgoing. */
    struct ovs_list db_waits;           /* Peer requests waiting on OVSDB. */
    struct ovs_list exports;            /* Exports asking about addresses,
                                         * or ready for their batch. */
    size_t n_ready;                     /* Exports ready. */
    long long int batch_due;            /* time_msec() when those ready are
                                         * served (export_batch_ms after
                                         * the first). */
    struct ovs_list confirms;           /* Confirms removing the VM's port. */
    struct ovs_list held;               /* Confirms waiting for the evidence
                                         * that the VM left. */
    struct shash buckets;               /* By peer: struct export_bucket. */
    struct shash confirmed;             /* By VM: struct confirmed, its
                                         * last export confirmed here. */
};

/* An export confirmed here, remembered for a while: a migrator that gives
 * its evidence twice (libvirt's hook at 'release' and watch-libvirt
 * --source at STOPPED MIGRATED), between which the destination confirmed,
 * is answered that the VM left, not that nothing is outgoing. */
struct confirmed {
    char *dst;
    long long int at;                   /* time_msec() of the confirm. */
};
#define CONFIRMED_KEEP_MS (10 * 60 * 1000)
#define CONFIRMED_MAX 4096

/* How long a confirm waits for this host's evidence that the VM left,
 * before it is answered with an error (the destination retries): below the
 * destination's own timeout for the request (5 s), so that it hears why. */
#define CONFIRM_HOLD_MS 4000

/* Exports per peer: a token bucket of EXPORT_BURST, refilled at
 * EXPORT_RATE per second (a host evacuation exports its VMs at once). */
#define EXPORT_BURST 256
#define EXPORT_RATE 32

struct export_bucket {
    double tokens;
    long long int refilled;             /* time_msec() of the last refill. */
};

/* A migration leaving this host, until confirmed or aborted. */
struct outgoing {
    char *vm, *id, *dst;
    struct ct_table *ct_base;           /* What the last export sent,
                                         * advanced by every delta since. */
    struct ct_events *ct_events;        /* Watching under 'ct_key' (set by
                                         * source_ct_watch()); or NULL. */
    char *ct_key;
    struct nm_vm_addrs addrs;
    bool confirming;                    /* A confirm is removing it: no
                                         * export replaces it, no abort
                                         * forgets it meanwhile. */
    bool left;                          /* This host's own evidence that the
                                         * VM left, to 'dst' (journaled). */
    long long int paused;               /* time_wall_usec() when the VM was
                                         * paused for the switch-over, as
                                         * its migrator said; 0 unknown. */
    struct drain_src *drain;            /* Its frames since the pause
                                         * (drain_src.h); NULL: none. */
};

/* True (with '*errorp') if 'vm' is being confirmed here: its port may be
 * gone already, so nothing but that confirm may touch it. */
static bool
confirming(struct netmoved *nm, const char *vm, char **errorp)
{
    struct outgoing *o = shash_find_data(&nm->source->outgoing, vm);

    if (o && o->confirming) {
        *errorp = xasprintf("%s is being removed here (confirm of migration "
                            "%s to %s under way)", vm, o->id, o->dst);
        return true;
    }
    return false;
}

static void
outgoing_destroy(struct outgoing *o)
{
    if (o) {
        free(o->vm);
        free(o->id);
        free(o->dst);
        drain_src_destroy(o->drain);
        ct_table_destroy(o->ct_base);
        if (o->ct_events) {
            ct_events_unwatch(o->ct_events, o->ct_key);
        }
        free(o->ct_key);
        nm_vm_addrs_destroy(&o->addrs);
        free(o);
    }
}

/* 'error' (a negative errno) as an operational failure: the peer's request
 * was good and this host failed to serve it (a library's -EINVAL here is
 * about this host's state, not the peer's input). */
static int
op_error(int error)
{
    return error && !nm_error_is_bad_input(error) ? error : -EIO;
}

/* Reads params "vm" and "id" (when 'need_id').  Returns 0, or -EINVAL (bad
 * input) with '*errorp' set. */
static int
get_params(const struct json *params, const char **vm, const char **id,
           bool need_id, char **errorp)
{
    const struct json *v = nm_json_member(params, "vm");
    const struct json *i = nm_json_member(params, "id");

    if (!v || v->type != JSON_STRING || !fw_vm_name_valid(json_string(v))) {
        *errorp = xstrdup("params.vm: missing or not a VM name");
        return -EINVAL;
    }
    if (need_id && (!i || i->type != JSON_STRING || !json_string(i)[0])) {
        *errorp = xstrdup("params.id: missing migration id");
        return -EINVAL;
    }
    *vm = json_string(v);
    *id = i && i->type == JSON_STRING ? json_string(i) : NULL;
    return 0;
}

/* Journals 'step' of migration 'id' of 'vm' to 'peer' (with the members
 * of 'extra', consumed).  Returns 0 or a negative errno (logged): a step
 * that changes something (an export the destination will confirm, a
 * confirm that deletes) must not go on unjournaled; the destination asks
 * again. */
static int
journal_note(struct netmoved *nm, const char *id, const char *vm,
             enum nm_journal_step step, const char *peer, struct json *extra)
{
    struct json *rec = extra ? extra : json_object_create();

    json_object_put_string(rec, "peer", peer);
    rec = nm_journal_rec_create(NM_JOURNAL_SOURCE, step, vm, rec);
    int error = nm_journal_append(nm->journal, NM_JOURNAL_SOURCE, id, rec,
                                  true);
    if (error) {
        VLOG_WARN("%s: journal: %s", id, ovs_strerror(-error));
    }
    json_destroy(rec);
    return error;
}

/* Migration 'id' has ended here (a failure is logged: recovery then finds
 * its ending record and finishes it). */
static void
journal_end(struct netmoved *nm, const char *id)
{
    int error = nm_journal_finish(nm->journal, NM_JOURNAL_SOURCE, id);

    if (error) {
        VLOG_WARN("%s: journal: finishing: %s", id, ovs_strerror(-error));
    }
}

/* The export of 'vm' that migration 'id' to 'peer' holds here, or NULL with
 * '*errorp' set (bad input: -EINVAL).  Only the peer a VM was exported to, in that migration, may
 * pull its delta or make the source delete it: being an authenticated peer
 * is not enough to remove another host's VMs. */
static struct outgoing *
authorized(struct netmoved *nm, const char *vm, const char *id,
           const char *peer, char **errorp)
{
    struct outgoing *o = shash_find_data(&nm->source->outgoing, vm);

    if (!o || strcmp(o->id, id) || strcmp(o->dst, peer)) {
        *errorp = xasprintf("no export of %s to %s in migration %s here",
                            vm, peer, id);
        return NULL;
    }
    return o;
}

/* Remembers that 'vm''s export to 'dst' was confirmed here (bounded: the
 * oldest go first past CONFIRMED_MAX, every one after CONFIRMED_KEEP_MS). */
static void
confirmed_note(struct netmoved *nm, const char *vm, const char *dst)
{
    struct shash *c = &nm->source->confirmed;
    long long int now = time_msec();
    struct shash_node *node, *oldest = NULL;

    SHASH_FOR_EACH_SAFE (node, c) {
        struct confirmed *r = node->data;
        if (now - r->at > CONFIRMED_KEEP_MS || !strcmp(node->name, vm)) {
            free(r->dst);
            free(r);
            shash_delete(c, node);
        } else if (!oldest
                   || r->at < ((struct confirmed *) oldest->data)->at) {
            oldest = node;
        }
    }
    if (oldest && shash_count(c) >= CONFIRMED_MAX) {
        struct confirmed *r = oldest->data;
        free(r->dst);
        free(r);
        shash_delete(c, oldest);
    }
    struct confirmed *r = xmalloc(sizeof *r);
    r->dst = xstrdup(dst);
    r->at = now;
    shash_add(c, vm, r);
}

/* Forgets what confirmed_note() remembered of 'vm' (a new export of it). */
static void
confirmed_forget(struct netmoved *nm, const char *vm)
{
    struct confirmed *r = shash_find_and_delete(&nm->source->confirmed, vm);

    if (r) {
        free(r->dst);
        free(r);
    }
}

/* True if 'vm''s last export, to 'to' (NULL: any), was confirmed here in
 * the last CONFIRMED_KEEP_MS. */
static bool
confirmed_recently(const struct netmoved *nm, const char *vm, const char *to)
{
    const struct confirmed *r = shash_find_data(&nm->source->confirmed, vm);

    return r && time_msec() - r->at <= CONFIRMED_KEEP_MS
           && (!to || !strcmp(to, r->dst));
}

/* True if migration 'id' of 'vm' was confirmed here already (a destination
 * that lost our answer asks again). */
static bool
already_confirmed(struct netmoved *nm, const char *id, const char *vm)
{
    struct json *records = nm_journal_read(nm->journal, NM_JOURNAL_SOURCE, id);
    bool done = false;

    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        struct nm_journal_rec rec;
        done |= nm_journal_rec_parse(json_array(records)->elems[i], &rec)
                && rec.role == NM_JOURNAL_SOURCE
                && rec.step == NM_JS_CONFIRM_DONE && !strcmp(rec.vm, vm);
    }
    json_destroy(records);
    return done;
}

/* True if this host's journal of migration 'id' belongs to another
 * migration than 'vm''s export to 'peer' (ids are the destination's to
 * choose: two peers, or two VMs, must not share one journal, or recovery
 * and the end of one would be the other's). */
static bool
id_taken(struct netmoved *nm, const char *id, const char *vm,
         const char *peer)
{
    struct json *records = nm_journal_read(nm->journal, NM_JOURNAL_SOURCE,
                                           id);
    bool taken = false;

    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        const struct json *rec = json_array(records)->elems[i];
        const char *r_vm = nm_json_member_string(rec, "vm");
        const char *r_peer = nm_json_member_string(rec, "peer");

        taken |= (r_vm && strcmp(r_vm, vm)) || (r_peer && strcmp(r_peer, peer));
    }
    json_destroy(records);
    return taken;
}

/* Takes a token of 'peer''s export bucket: false if it is empty. */
static bool
export_rate_ok(struct netmoved *nm, const char *peer)
{
    struct export_bucket *b = shash_find_data(&nm->source->buckets, peer);
    long long int now = time_msec();

    if (!b) {
        b = xzalloc(sizeof *b);
        b->tokens = EXPORT_BURST;
        b->refilled = now;
        shash_add(&nm->source->buckets, peer, b);
    }
    b->tokens = MIN(EXPORT_BURST, b->tokens + (now - b->refilled)
                                               * EXPORT_RATE / 1000.0);
    b->refilled = now;
    if (b->tokens < 1) {
        return false;
    }
    b->tokens -= 1;
    return true;
}

/* ---- requests that read OVSDB ---- */

/* Below the callers' own timeouts (5 s), so that they hear why. */
#define DB_SYNC_TIMEOUT_MS 3000

/* A peer's request that reads OVSDB, held until this host's replica holds
 * every transaction ovsdb-server committed before the request arrived
 * (nmovs_db_sync_request()): libvirt creates a VM's port with ovs-vsctl an
 * instant before the destination asks for it, and the replica must not
 * answer from a state older than that. */
struct db_wait {
    struct ovs_list node;               /* In the source's 'db_waits'. */
    nm_peer_method_fn *fn;              /* Answers at once, or: */
    void (*begin)(struct netmoved *, const char *peer,
                  const struct json *params, struct nm_peer_req *);
    char *peer;
    struct json *params;
    struct nm_peer_req *req;
    uint64_t ticket;
    long long int deadline;
};

static void
db_wait_destroy(struct db_wait *w)
{
    ovs_list_remove(&w->node);
    json_destroy(w->params);
    free(w->peer);
    free(w);
}

/* ---- export {vm, id} -> {version, vm, host, site, port, learned, fw, ct} ----
 *
 * In two steps: the port and the VM's addresses (declared, and learned from
 * its own ARP/ND); then, once every learned address has been asked on the
 * network and those another MAC answers for are dropped (an ARP is only a
 * claim), the firewall and the conntrack entries those addresses select. */

#define OWNER_WAIT_MS 150       /* After the last question, for answers. */

struct export_job {
    struct ovs_list node;               /* In the source's 'exports'. */
    struct nm_peer_req *req;
    struct outgoing *o;                 /* Its 'addrs': all the VM's. */
    struct json *port;
    struct nm_vm_addrs declared;        /* Those of the port document. */
    struct nm_owner_probe *probe;       /* Asking about the learned ones. */
    struct in6_addr *asked;
    size_t *asked_iface;                /* Index in o->addrs.ifaces. */
    size_t n_asked;
    bool ready;                         /* Its probe is over: it waits for
                                         * its batch. */
    size_t *n_ready;                    /* The source's count of those. */
};

static void
export_job_destroy(struct export_job *job)
{
    if (job->ready) {
        (*job->n_ready)--;
    }
    ovs_list_remove(&job->node);
    nm_owner_probe_destroy(job->probe);
    outgoing_destroy(job->o);
    nm_vm_addrs_destroy(&job->declared);
    json_destroy(job->port);
    free(job->asked);
    free(job->asked_iface);
    free(job);
}

/* Refuses (-EBUSY, with '*errorp') an export of 'vm' in migration 'id' to
 * 'peer' while another migration of it is outgoing or being exported
 * ('self' aside): a second export would replace the first one's entry, and
 * with it what the first destination may confirm.  The same migration
 * asked again (a retry) is not another. */
static int
export_conflict(struct netmoved *nm, const char *vm, const char *id,
                const char *peer, const struct export_job *self,
                char **errorp)
{
    const struct outgoing *o = shash_find_data(&nm->source->outgoing, vm);
    const struct export_job *job;

    if (!o) {
        LIST_FOR_EACH (job, node, &nm->source->exports) {
            if (job != self && job->o && !strcmp(job->o->vm, vm)
                && (strcmp(job->o->id, id) || strcmp(job->o->dst, peer))) {
                o = job->o;
                break;
            }
        }
    }
    if (o && (strcmp(o->id, id) || strcmp(o->dst, peer))) {
        *errorp = xasprintf("%s is being exported to %s (migration %s): a "
                            "second export is refused until that migration "
                            "is aborted or confirmed", vm, o->dst, o->id);
        return -EBUSY;
    }
    return 0;
}

/* Starts buffering the conntrack events of 'o''s addresses (a key of its
 * own: a later export of the same migration id replaces 'o'), before the
 * export's dump, so that nothing between the dump and the watch is missed:
 * src_ct_delta() then needs no dump.  Without a listener, nothing. */
static void
source_ct_watch(struct netmoved *nm, struct outgoing *o)
{
    struct ct_filter filter;

    if (!nm->ct_events) {
        return;
    }
    if (!o->ct_key) {
        o->ct_key = xasprintf("%s@%p", o->id, (void *) o);
    }
    nm_vm_addrs_ct_filter(&o->addrs, &filter);
    if (filter.n_addrs) {
        ct_events_watch(nm->ct_events, o->ct_key, &filter);
        o->ct_events = nm->ct_events;
    }
    free(filter.addrs);
}

/* Fails 'job' with 'error' and message 'fmt'. */
static void OVS_PRINTF_FORMAT(3, 4)
export_fail(struct export_job *job, int error, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    char *msg = xvasprintf(fmt, args);
    va_end(args);
    VLOG_WARN("%s: export of %s to %s failed: %s", job->o->id, job->o->vm,
              job->o->dst, msg);
    nm_peers_reply_error(job->req, error, "%s", msg);
    free(msg);
    export_job_destroy(job);
}

/* True if 'job' may still be served; else answers it with the conflict.  A
 * confirm began, or another migration's export ended, while this export
 * asked about addresses or waited for its batch. */
static bool
export_still_ok(struct netmoved *nm, struct export_job *job)
{
    struct outgoing *o = job->o;
    char *busy = NULL;

    if (confirming(nm, o->vm, &busy)
        || export_conflict(nm, o->vm, o->id, o->dst, job, &busy)) {
        VLOG_WARN("%s: export of %s to %s refused: %s", o->id, o->vm,
                  o->dst, busy);
        nm_peers_reply_error(job->req, -EBUSY, "%s", busy);
        free(busy);
        export_job_destroy(job);
        return false;
    }
    return true;
}

/* Answers 'job' with the export: its port, the firewall 'rs' selected for
 * its VM and the conntrack entries 'ct' (taken; NULL: no address), journals
 * it and makes it outgoing.  Fails it alone if it cannot be journaled. */
static void
export_finish(struct netmoved *nm, struct export_job *job,
              const struct fw_ruleset *rs, struct ct_table *ct)
{
    struct outgoing *o = job->o;

    struct json *learned = nm_vm_addrs_ips_json(&o->addrs, &job->declared);
    struct json *result = json_object_create();
    json_object_put(result, "version", json_integer_create(1));
    json_object_put_string(result, "vm", o->vm);
    json_object_put_string(result, "host", nm->cfg->host);
    json_object_put_string(result, "site", nm->cfg->site);
    json_object_put(result, "port", json_clone(job->port));
    json_object_put(result, "learned", json_clone(learned));
    json_object_put(result, "fw", fw_ruleset_to_json(rs));
    json_object_put(result, "ct", ct ? ct_table_to_json(ct)
                                     : json_null_create());
    o->ct_base = ct;

    /* An export this host cannot remember is one it could never confirm
     * or abort after a restart: it fails.  (One file, and one fsync, per
     * migration: the journal has no sync shared by several files.) */
    struct json *rec = nm_json_object_1("port", json_clone(job->port));
    json_object_put(rec, "learned", learned);
    int error = journal_note(nm, o->id, o->vm, NM_JS_EXPORT, o->dst, rec);
    if (error) {
        json_destroy(result);
        export_fail(job, -EIO, "%s: journal: cannot record the export of "
                    "%s: %s", nm->cfg->host, o->vm, ovs_strerror(-error));
        return;
    }
    VLOG_INFO("%s: exported %s to %s", o->id, o->vm, o->dst);
    nm_peers_reply(job->req, result);
    job->o = NULL;
    struct outgoing *old = shash_replace(&nm->source->outgoing, o->vm, o);

    confirmed_forget(nm, o->vm);
    if (old) {
        /* The same migration, exported again: what this host knows of the
         * VM's departure stays. */
        o->left = old->left;
        o->paused = old->paused;
        o->drain = old->drain;
        old->drain = NULL;
        outgoing_destroy(old);
    }
    export_job_destroy(job);
}

/* Serves the 'n' exports 'jobs' (their probes over) as one batch: one
 * ruleset dump and one conntrack dump for all, split per VM.  What fails
 * for one VM (a conflict, its selection, its journal) fails it alone; a
 * dump that fails fails the batch's VMs with its error. */
static void
export_batch(struct netmoved *nm, struct export_job **jobs, size_t n)
{
    struct shash by_vm = SHASH_INITIALIZER(&by_vm);
    const char **vms = xcalloc(n + 1, sizeof *vms);
    size_t *vm_of = xcalloc(n + 1, sizeof *vm_of);
    struct fw_ruleset **rss = xcalloc(n + 1, sizeof *rss);
    struct ct_filter *filters = xcalloc(n + 1, sizeof *filters);
    struct ct_table **tabs = xcalloc(n + 1, sizeof *tabs);
    size_t *filter_of = xcalloc(n + 1, sizeof *filter_of);
    size_t n_vms = 0, n_filters = 0, n_ok = 0;
    char err[NM_ERRLEN] = "";

    for (size_t i = 0; i < n; i++) {
        if (export_still_ok(nm, jobs[i])) {
            jobs[n_ok++] = jobs[i];
        }
    }
    n = n_ok;
    if (!n) {
        goto out;
    }
    /* A migration asked again (a retry) shares its VM's selection. */
    for (size_t i = 0; i < n; i++) {
        const char *vm = jobs[i]->o->vm;
        struct shash_node *node = shash_find(&by_vm, vm);

        if (!node) {
            node = shash_add(&by_vm, vm, (void *) (uintptr_t) n_vms);
            vms[n_vms++] = vm;
        }
        vm_of[i] = (uintptr_t) node->data;
    }

    long long int t0 = time_usec();
    int error = fw_export_many(vms, n_vms, rss, err, sizeof err);
    long long int t_fw = time_usec() - t0;
    if (error) {
        for (size_t i = 0; i < n; i++) {
            export_fail(jobs[i], op_error(error), "firewall: %s", err);
        }
        goto out;
    }

    for (size_t i = 0; i < n; i++) {
        /* Its events buffered from before the dump on: nothing between
         * the dump and the watch is missed. */
        source_ct_watch(nm, jobs[i]->o);
        filter_of[i] = SIZE_MAX;
        nm_vm_addrs_ct_filter(&jobs[i]->o->addrs, &filters[n_filters]);
        if (filters[n_filters].n_addrs) {
            filter_of[i] = n_filters++;
        } else {
            free(filters[n_filters].addrs);
        }
    }
    /* The conntrack dump: one for the batch's VMs. */
    t0 = time_usec();
    error = n_filters ? ct_export_many(filters, n_filters, tabs,
                                       err, sizeof err) : 0;
    long long int t_ct = time_usec() - t0;
    if (error) {
        for (size_t i = 0; i < n; i++) {
            export_fail(jobs[i], op_error(error), "conntrack: %s", err);
        }
        goto out;
    }
    VLOG_INFO("export batch of %zu VM(s): ruleset dump %lld.%03lld ms, "
              "conntrack dump %lld.%03lld ms (%zu filter(s))", n,
              t_fw / 1000, t_fw % 1000, t_ct / 1000, t_ct % 1000, n_filters);

    for (size_t i = 0; i < n; i++) {
        const struct fw_ruleset *rs = rss[vm_of[i]];
        struct ct_table *ct = NULL;

        if (filter_of[i] != SIZE_MAX) {
            ct = tabs[filter_of[i]];
            tabs[filter_of[i]] = NULL;
        }
        if (!rs) {
            ct_table_destroy(ct);
            export_fail(jobs[i], -EIO, "firewall: the objects of %s could "
                        "not be selected", jobs[i]->o->vm);
            continue;
        }
        export_finish(nm, jobs[i], rs, ct);
    }

out:
    for (size_t i = 0; i < n_vms; i++) {
        fw_ruleset_destroy(rss[i]);
    }
    for (size_t i = 0; i < n_filters; i++) {
        ct_table_destroy(tabs[i]);
        free(filters[i].addrs);
    }
    shash_destroy(&by_vm);
    free(vms);
    free(vm_of);
    free(rss);
    free(filters);
    free(tabs);
    free(filter_of);
}

/* The exports of one batch at most: a batch holds the loop for its dumps
 * and then for each VM's document and journal record (about a
 * millisecond each), so a host evacuation of a few hundred VMs is served
 * in a few batches rather than one long pass. */
#define EXPORT_BATCH_MAX 128

/* 'job''s probe is over: it waits for its batch (export_batch_ms after the
 * first export of the batch was ready, or a full batch). */
static void
export_ready(struct netmoved *nm, struct export_job *job)
{
    if (!nm->source->n_ready++) {
        nm->source->batch_due = time_msec() + nm->cfg->export_batch_ms;
    }
    job->ready = true;
}

/* Serves the exports ready, in batches, once their window has passed or a
 * batch is full; with no window (export_batch_ms 0), each alone. */
static void
export_batches_run(struct netmoved *nm)
{
    struct nm_source *src = nm->source;
    size_t cap = nm->cfg->export_batch_ms ? EXPORT_BATCH_MAX : 1;

    while (src->n_ready
           && (src->n_ready >= cap || time_msec() >= src->batch_due)) {
        struct export_job **jobs = xcalloc(MIN(src->n_ready, cap),
                                           sizeof *jobs);
        struct export_job *job;
        size_t n = 0;

        LIST_FOR_EACH (job, node, &src->exports) {
            if (job->ready && n < cap) {
                jobs[n++] = job;
                job->ready = false;
            }
        }
        src->n_ready -= n;
        export_batch(nm, jobs, n);
        free(jobs);
        if (src->n_ready) {
            /* The rest: a window of their own, from now. */
            src->batch_due = time_msec() + nm->cfg->export_batch_ms;
        }
    }
}

/* Drops every learned address of 'job' (they could not be checked: an
 * ARP is only a claim, and only the declared ones are the operator's). */
static void
export_drop_learned(struct export_job *job, const char *why)
{
    VLOG_WARN("%s: %s: %s: its %zu learned address(es) are left out",
              job->o->id, job->o->vm, why, job->n_asked);
    for (size_t i = 0; i < job->n_asked; i++) {
        nm_vm_addrs_remove(&job->o->addrs, job->asked_iface[i],
                           &job->asked[i]);
    }
}

/* The probe of 'job' is over: drops each learned address that a MAC other
 * than its interface's answered for, here and in the learned table. */
static void
export_judge(struct netmoved *nm, struct export_job *job)
{
    struct outgoing *o = job->o;
    const char *why = nm_owner_probe_error(job->probe);
    bool forgot = false;

    if (why) {
        export_drop_learned(job, why);
        return;
    }
    for (size_t i = 0; i < job->n_asked; i++) {
        struct nm_iface_addrs *ia = &o->addrs.ifaces[job->asked_iface[i]];
        struct eth_addr owners[8];
        size_t n = nm_owner_probe_owners(job->probe, &job->asked[i], owners,
                                         ARRAY_SIZE(owners));
        for (size_t k = 0; k < MIN(n, ARRAY_SIZE(owners)); k++) {
            if (!eth_addr_equals(owners[k], ia->mac)) {
                char a[INET6_ADDRSTRLEN];
                ipv6_string_mapped(a, &job->asked[i]);
                VLOG_WARN("%s: %s: %s, learned on %s, is answered by "
                          ETH_ADDR_FMT ": not announced, its conntrack "
                          "entries not moved", o->id, o->vm, a, ia->port,
                          ETH_ADDR_ARGS(owners[k]));
                nm_learn_forget(nm, ia->port, a);
                nm_vm_addrs_remove(&o->addrs, job->asked_iface[i],
                                   &job->asked[i]);
                forgot = true;
                break;
            }
        }
    }
    if (forgot) {
        nm_learn_save_now(nm);
    }
}

static void
export_begin(struct netmoved *nm, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    struct export_job *job = xzalloc(sizeof *job);
    struct nmovs_doc *doc = NULL;
    char err[NM_ERRLEN] = "", *msg = NULL;
    const char *vm, *id = NULL;
    int error;

    ovs_list_push_back(&nm->source->exports, &job->node);
    job->req = req;
    job->n_ready = &nm->source->n_ready;
    error = get_params(params, &vm, &id, true, &msg);
    if (error) {
        goto fail;
    }
    VLOG_INFO("%s: %s asks for the export of %s", id, peer, vm);
    if (id_taken(nm, id, vm, peer)) {
        msg = xasprintf("params.id: '%s' is another migration's here (of "
                        "another VM, or from another host): choose another",
                        id);
        error = -EINVAL;
        goto fail;
    }
    if (confirming(nm, vm, &msg)
        || export_conflict(nm, vm, id, peer, job, &msg)) {
        error = -EBUSY;
        goto fail;
    }
    /* Only a VM that runs here: its ports, found by its identity. */
    error = nmovs_export(nm->db, vm, &doc, err, sizeof err);
    if (error) {
        error = op_error(error);
        msg = xasprintf("port: %s", err);
        goto fail;
    }
    job->port = nmovs_doc_to_json(doc);
    nmovs_doc_destroy(doc);
    job->o = xzalloc(sizeof *job->o);
    job->o->vm = xstrdup(vm);
    job->o->id = xstrdup(id);
    job->o->dst = xstrdup(peer);
    error = nm_vm_addrs_from_doc(job->port, NULL, 0, &job->o->addrs,
                                 err, sizeof err);
    if (!error) {
        error = nm_vm_addrs_from_doc(job->port, NULL, 0, &job->declared,
                                     err, sizeof err);
    }
    if (error) {
        /* This host's port document: not the peer's input. */
        error = op_error(error);
        msg = xasprintf("port: %s", err);
        goto fail;
    }

    /* The learned ones (not declared) are asked about first. */
    nm_learn_merge(nm, &job->o->addrs);
    struct in6_addr *ips;
    size_t *ifaces;
    size_t n = nm_vm_addrs_list(&job->o->addrs, &ips, &ifaces);
    job->asked = xcalloc(n ? n : 1, sizeof *job->asked);
    job->asked_iface = xcalloc(n ? n : 1, sizeof *job->asked_iface);
    for (size_t i = 0; i < n; i++) {
        if (!nm_vm_addrs_has(&job->declared, ifaces[i], &ips[i])) {
            job->asked[job->n_asked] = ips[i];
            job->asked_iface[job->n_asked++] = ifaces[i];
        }
    }
    free(ips);
    free(ifaces);
    if (job->n_asked) {
        int tag = nm_verify_doc_tag(job->port);
        if (nm_owner_probe_start(nm->cfg, nm->sender, job->asked,
                                 job->n_asked, MAX(tag, 0), OWNER_WAIT_MS,
                                 &job->probe, err, sizeof err)) {
            char *why = xasprintf("cannot ask who answers for them: %s", err);
            export_drop_learned(job, why);
            free(why);
        } else {
            return;             /* source_run() goes on. */
        }
    }
    export_ready(nm, job);
    return;

fail:
    VLOG_WARN("%s: export to %s refused: %s", id ? id : "?", peer, msg);
    nm_peers_reply_error(req, error, "%s", msg);
    free(msg);
    export_job_destroy(job);
}

/* The delta since 'o''s base from the conntrack events buffered for it
 * (ct_events_delta(): no dump unless events were lost); 'o''s base then
 * advances by it.  Returns 0 or a negative errno with 'err'. */
static int
ct_delta_from_events(struct netmoved *nm, struct outgoing *o,
                     struct ct_table **deltap, char *err, size_t errlen)
{
    long long int start = time_usec();
    struct ct_delta_info info;
    int error = ct_events_delta(nm->ct_events, o->ct_key, o->ct_base, deltap,
                                &info, err, errlen);

    if (!error) {
        ct_table_apply(o->ct_base, *deltap);
        VLOG_INFO("%s: conntrack delta of %s: %zu entries, %zu gone in "
                  "%.3f ms (%s: %zu from events, %zu asked by tuple)",
                  o->id, o->vm, ct_table_count(*deltap),
                  ct_table_gone_count(*deltap),
                  (time_usec() - start) / 1000.0,
                  info.fallback ? "a dump: events were lost" : "events",
                  info.events, info.gets);
    }
    return error;
}

/* ct-delta {vm, id} -> {ct}: what changed since the last export. */
static int
src_ct_delta(void *nm_, const char *peer, const struct json *params,
             struct json **resultp, char **errorp)
{
    struct netmoved *nm = nm_;
    struct outgoing *o;
    struct ct_table *cur = NULL;
    struct ct_filter filter;
    char err[NM_ERRLEN] = "";
    const char *vm, *id;

    int error = get_params(params, &vm, &id, true, errorp);
    if (error) {
        return error;
    }
    o = authorized(nm, vm, id, peer, errorp);
    if (!o) {
        return -EINVAL;
    }
    if (nm->ct_events && o->ct_base && o->ct_key
        && ct_events_watching(nm->ct_events, o->ct_key)) {
        struct ct_table *delta;

        error = ct_delta_from_events(nm, o, &delta, err, sizeof err);
        if (error) {
            *errorp = xasprintf("conntrack: %s", err);
            return op_error(error);
        }
        *resultp = nm_json_object_1("ct", ct_table_to_json(delta));
        ct_table_destroy(delta);
        return 0;
    }

    /* Without a listener: a dump, compared with the base. */
    long long int start = time_usec();
    nm_vm_addrs_ct_filter(&o->addrs, &filter);
    error = filter.n_addrs ? ct_export(&filter, &cur, err, sizeof err) : 0;
    free(filter.addrs);
    if (error) {
        *errorp = xasprintf("conntrack: %s", err);
        return op_error(error);
    }
    if (!cur) {
        *resultp = nm_json_object_1("ct", json_null_create());
        return 0;
    }

    struct ct_table *delta = o->ct_base ? ct_table_delta(o->ct_base, cur)
                                        : NULL;
    struct json *result = json_object_create();
    json_object_put(result, "ct", ct_table_to_json(delta ? delta : cur));
    VLOG_INFO("%s: conntrack delta of %s: %zu entries, %zu gone in %.3f ms "
              "(a dump: no event listener)", o->id, o->vm,
              ct_table_count(delta ? delta : cur),
              delta ? ct_table_gone_count(delta) : 0,
              (time_usec() - start) / 1000.0);
    ct_table_destroy(delta);
    ct_table_destroy(o->ct_base);
    o->ct_base = cur;
    *resultp = result;
    return 0;
}

/* confirm {vm, id, ips} -> {ports, fw_objects, ct_entries}: the destination
 * has committed its copy; the source's goes, once this host has its own
 * evidence that the VM left to that destination (source_left()); until
 * then the confirm is held (CONFIRM_HOLD_MS), then answered with an error
 * that the destination retries.  The port's removal is a step of the loop
 * (confirm_start() starts it, source_run() ends it with confirm_finish());
 * the firewall and conntrack removals are netlink exchanges with the
 * kernel. */
struct confirm_job {
    struct ovs_list node;               /* In the source's 'confirms', or
                                         * 'held'. */
    struct nm_peer_req *req;
    char *peer, *vm, *id;
    struct nmovs_op *op;                /* Removing the VM's port. */
    long long int deadline;             /* Held: answered by then. */
};

static struct json *
confirm_result(size_t n_ports, size_t n_fw, size_t n_ct)
{
    struct json *result = json_object_create();

    json_object_put(result, "ports", json_integer_create(n_ports));
    json_object_put(result, "fw_objects", json_integer_create(n_fw));
    json_object_put(result, "ct_entries", json_integer_create(n_ct));
    return result;
}

static void
confirm_job_destroy(struct confirm_job *job)
{
    ovs_list_remove(&job->node);
    nmovs_op_destroy(job->op);
    free(job->peer);
    free(job->vm);
    free(job->id);
    free(job);
}

/* Starts removing what 'o' (the outgoing entry 'job' is authorized for)
 * holds, or answers 'job' with an error.  Nothing is removed unless the
 * journal says so first: a restart must know a confirm had begun. */
static void
confirm_start(struct netmoved *nm, struct confirm_job *job,
              struct outgoing *o)
{
    int error = journal_note(nm, job->id, job->vm, NM_JS_CONFIRM_BEGIN,
                             job->peer, NULL);
    if (error) {
        nm_peers_reply_error(job->req, -EIO, "%s: journal: cannot record "
                             "the confirm of %s (%s): nothing removed",
                             nm->cfg->host, job->vm, ovs_strerror(-error));
        confirm_job_destroy(job);
        return;
    }
    o->confirming = true;
    const char *vm = job->vm;
    job->op = nmovs_remove_start(nm->db, &vm, 1, 5000);
    ovs_list_push_back(&nm->source->confirms, &job->node);
}

/* A held confirm: the evidence came ('timed_out' false) or not in time. */
static void
confirm_unhold(struct netmoved *nm, struct confirm_job *job, bool timed_out)
{
    struct outgoing *o;
    char *error = NULL;

    ovs_list_remove(&job->node);
    ovs_list_init(&job->node);
    if (timed_out) {
        VLOG_INFO("%s: confirm of %s by %s: no evidence in %d ms that it "
                  "left this host; it keeps everything", job->id, job->vm,
                  job->peer, CONFIRM_HOLD_MS);
        nm_peers_reply_error(job->req, -EAGAIN, "%s: %s has not left this "
                             "host as far as it knows (no 'netmove left', no "
                             "release by libvirt yet): its port, rules and "
                             "entries stay until it has; retry",
                             nm->cfg->host, job->vm);
    } else if (!(o = authorized(nm, job->vm, job->id, job->peer, &error))
               || confirming(nm, job->vm, &error)) {
        nm_peers_reply_error(job->req, o ? -EBUSY : -EINVAL, "%s", error);
        free(error);
    } else {
        confirm_start(nm, job, o);
        return;
    }
    confirm_job_destroy(job);
}

static void
confirm_async(void *nm_, const char *peer, const struct json *params,
              struct nm_peer_req *req)
{
    struct netmoved *nm = nm_;
    const char *vm, *id;
    char *error = NULL;

    int errnum = get_params(params, &vm, &id, true, &error);
    if (errnum) {
        goto out_reply;
    }
    if (already_confirmed(nm, id, vm)) {
        nm_peers_reply(req, confirm_result(0, 0, 0));
        return;
    }
    struct outgoing *o = authorized(nm, vm, id, peer, &error);
    if (!o) {
        errnum = -EINVAL;
        goto out_reply;
    }
    if (o->confirming) {
        /* The same destination asked again (it lost our answer): the
         * first confirm answers; this one is retried. */
        error = xasprintf("confirm of %s already under way", vm);
        errnum = -EBUSY;
        goto out_reply;
    }

    struct confirm_job *job = xzalloc(sizeof *job), *held;
    ovs_list_init(&job->node);
    job->req = req;
    job->peer = xstrdup(peer);
    job->vm = xstrdup(vm);
    job->id = xstrdup(id);
    if (o->left) {
        confirm_start(nm, job, o);
        return;
    }
    /* Held until this host knows the VM left.  A confirm asked again
     * replaces the one held (whose asker gave up). */
    LIST_FOR_EACH_SAFE (held, node, &nm->source->held) {
        if (!strcmp(held->vm, vm)) {
            nm_peers_reply_error(held->req, -EAGAIN, "superseded by a "
                                 "later confirm of %s", vm);
            confirm_job_destroy(held);
        }
    }
    VLOG_INFO("%s: confirm of %s by %s held: this host has no evidence yet "
              "that %s left", id, vm, peer, vm);
    job->deadline = time_msec() + CONFIRM_HOLD_MS;
    ovs_list_push_back(&nm->source->held, &job->node);
    return;

out_reply:
    nm_peers_reply_error(req, errnum, "%s", error);
    free(error);
}

/* The port is gone (or its removal failed: 'error'): the rest, then the
 * answer. */
static void
confirm_finish(struct netmoved *nm, struct confirm_job *job, int error)
{
    size_t n_ports = nmovs_op_count(job->op), n_fw = 0, n_ct = 0;
    const char *vm = job->vm, *id = job->id;
    char err[NM_ERRLEN] = "";
    char *errmsg = NULL;
    struct outgoing *o;

    /* The job claimed the outgoing entry (o->confirming): no export
     * replaced it and no abort forgot it meanwhile. */
    o = shash_find_data(&nm->source->outgoing, vm);
    ovs_assert(o && o->confirming);
    if (error) {
        errmsg = xasprintf("port: %s", nmovs_op_error(job->op));
        error = op_error(error);
        goto out_reply;
    }
    error = fw_remove(vm, &n_fw, err, sizeof err);
    if (error) {
        errmsg = xasprintf("firewall: %s", err);
        error = op_error(error);
        goto out_reply;
    }
    struct ct_filter filter;
    nm_vm_addrs_ct_filter(&o->addrs, &filter);
    error = filter.n_addrs ? ct_remove(&filter, &n_ct, err, sizeof err) : 0;
    free(filter.addrs);
    if (error) {
        errmsg = xasprintf("conntrack: %s", err);
        error = op_error(error);
        goto out_reply;
    }
    /* No bridge may keep forwarding the VM's MACs to the port just gone. */
    if (nmovs_fdb_flush(nm->cfg->ovs_rundir, nm->cfg->bridge,
                        err, sizeof err)) {
        VLOG_WARN("%s: flushing %s's MAC table: %s", id, nm->cfg->bridge,
                  err);
    }
    journal_note(nm, id, vm, NM_JS_CONFIRM_DONE, job->peer, NULL);
    journal_end(nm, id);
    confirmed_note(nm, vm, job->peer);
    outgoing_destroy(shash_find_and_delete(&nm->source->outgoing, vm));
    VLOG_INFO("%s: confirmed by %s: removed %zu port(s), %zu firewall "
              "object(s), %zu conntrack entries", id, job->peer, n_ports,
              n_fw, n_ct);
    nm_peers_reply(job->req, confirm_result(n_ports, n_fw, n_ct));
    goto out;

out_reply:
    /* Failed: the destination asks again. */
    o->confirming = false;
    nm_peers_reply_error(job->req, error, "%s", errmsg);
    free(errmsg);
out:
    confirm_job_destroy(job);
}


/* Ends, with an error, the exports of 'vm' in migration 'id' to 'peer'
 * that are still under way (waiting for OVSDB or asking about addresses):
 * an abort that overtakes its export must not be followed by the export
 * (an outgoing entry, a journal, nobody to confirm or abort it). */
static void
export_cancel(struct netmoved *nm, const char *vm, const char *id,
              const char *peer)
{
    struct export_job *job;
    struct db_wait *w;

    LIST_FOR_EACH_SAFE (w, node, &nm->source->db_waits) {
        const char *wvm, *wid;
        char *ignored = NULL;
        if (w->begin && !strcmp(w->peer, peer)
            && !get_params(w->params, &wvm, &wid, true, &ignored)
            && !strcmp(wvm, vm) && !strcmp(wid, id)) {
            nm_peers_reply_error(w->req, -ECANCELED, "aborted");
            db_wait_destroy(w);
        }
        free(ignored);
    }
    LIST_FOR_EACH_SAFE (job, node, &nm->source->exports) {
        if (job->o && !strcmp(job->o->vm, vm) && !strcmp(job->o->id, id)
            && !strcmp(job->o->dst, peer)) {
            nm_peers_reply_error(job->req, -ECANCELED, "aborted");
            export_job_destroy(job);
        }
    }
}

/* abort {vm, id} -> {}: the migration failed before resume; the source
 * kept everything and only forgets the export. */
static int
src_abort(void *nm_, const char *peer, const struct json *params,
          struct json **resultp, char **errorp)
{
    struct netmoved *nm = nm_;
    const char *vm, *id;

    int error = get_params(params, &vm, &id, true, errorp);
    if (error) {
        return error;
    }
    /* An export of it still under way, for that peer: it ends here; so
     * does a confirm of it waiting for the evidence. */
    export_cancel(nm, vm, id, peer);
    struct confirm_job *held;
    LIST_FOR_EACH_SAFE (held, node, &nm->source->held) {
        if (!strcmp(held->vm, vm) && !strcmp(held->id, id)
            && !strcmp(held->peer, peer)) {
            nm_peers_reply_error(held->req, -ECANCELED, "aborted");
            confirm_job_destroy(held);
        }
    }
    if (!shash_find(&nm->source->outgoing, vm)) {
        *resultp = json_object_create();  /* Nothing exported: nothing kept. */
        return 0;
    }
    if (!authorized(nm, vm, id, peer, errorp)) {
        return -EINVAL;
    }
    if (confirming(nm, vm, errorp)) {
        return -EBUSY;          /* Too late: the destination confirmed. */
    }
    struct outgoing *o = shash_find_and_delete(&nm->source->outgoing, vm);
    if (o->drain) {
        /* The VM runs here again: the catch goes, the fabric learns it
         * back from its own port. */
        drain_src_abort(o->drain, &o->addrs);
    }
    outgoing_destroy(o);
    journal_note(nm, id, vm, NM_JS_ABORTED, peer, NULL);
    journal_end(nm, id);
    VLOG_INFO("%s: aborted by %s; %s stays here", id, peer, vm);
    *resultp = json_object_create();
    return 0;
}

int
source_forget(struct netmoved *nm, const char *vm, char **msgp)
{
    struct outgoing *o = shash_find_data(&nm->source->outgoing, vm);
    struct confirm_job *held;

    if (!o) {
        *msgp = xasprintf("nothing of %s is outgoing here", vm);
        return -ENOENT;
    }
    if (confirming(nm, vm, msgp)) {
        return -EBUSY;          /* Too late: the destination confirmed. */
    }
    char *id = xstrdup(o->id), *dst = xstrdup(o->dst);
    export_cancel(nm, vm, id, dst);
    LIST_FOR_EACH_SAFE (held, node, &nm->source->held) {
        if (!strcmp(held->vm, vm)) {
            nm_peers_reply_error(held->req, -ECANCELED, "%s: the export of "
                                 "%s was withdrawn here", nm->cfg->host, vm);
            confirm_job_destroy(held);
        }
    }
    if (o->drain) {
        drain_src_abort(o->drain, &o->addrs);
    }
    outgoing_destroy(shash_find_and_delete(&nm->source->outgoing, vm));
    journal_note(nm, id, vm, NM_JS_ABORTED, dst, NULL);
    journal_end(nm, id);
    VLOG_INFO("%s: export of %s to %s withdrawn by the operator; %s stays "
              "here", id, vm, dst, vm);
    *msgp = xasprintf("withdrew the export of %s to %s (migration %s): %s "
                      "stays here, and %s's confirm will be refused", vm, dst,
                      id, vm, dst);
    free(id);
    free(dst);
    return 0;
}

/* locate {vm} -> {present}: whether the VM has a port here. */
static int
src_locate(void *nm_, const char *peer OVS_UNUSED, const struct json *params,
           struct json **resultp, char **errorp)
{
    struct netmoved *nm = nm_;
    struct nmovs_doc *doc = NULL;
    char err[NM_ERRLEN];
    const char *vm, *id;

    int error = get_params(params, &vm, &id, false, errorp);
    if (error) {
        return error;
    }
    bool present = !nmovs_export(nm->db, vm, &doc, err, sizeof err);
    nmovs_doc_destroy(doc);
    *resultp = nm_json_object_1("present", json_boolean_create(present));
    return 0;
}

/* The addresses of 'vm' that this host exported to 'peer' in migration
 * 'id', from that export's journal (kept after the migration ended), into
 * 'addrs'.  False, with '*errorp', if this host served 'peer' no such
 * export: a peer asks only about a migration it is part of. */
static bool
verify_authorized(struct netmoved *nm, const char *vm, const char *id,
                  const char *peer, struct nm_vm_addrs *addrs, char **errorp)
{
    struct json *records = nm_journal_read(nm->journal, NM_JOURNAL_SOURCE, id);
    const struct json *port = NULL, *learned = NULL;
    char err[NM_ERRLEN];

    memset(addrs, 0, sizeof *addrs);
    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        struct nm_journal_rec rec;
        const struct json *p;
        if (nm_journal_rec_parse(json_array(records)->elems[i], &rec)
            && rec.role == NM_JOURNAL_SOURCE && rec.step == NM_JS_EXPORT
            && !strcmp(rec.vm, vm)
            && (p = nm_json_member(rec.json, "peer")) != NULL
            && p->type == JSON_STRING && !strcmp(json_string(p), peer)) {
            port = nm_json_member(rec.json, "port");
            learned = nm_json_member(rec.json, "learned");
        }
    }
    bool ok = port != NULL;
    if (!ok) {
        *errorp = xasprintf("no export of %s to %s in migration %s here",
                            vm, peer, id);
    } else if (nm_vm_addrs_from_doc(port, NULL, 0, addrs, err, sizeof err)
               || (learned && nm_vm_addrs_add_learned(addrs, learned,
                                                      err, sizeof err))) {
        VLOG_WARN("%s: verify: %s", id, err);
    }
    json_destroy(records);
    return ok;
}

/* The addresses among params "ips" that are the VM's ('vm_ct'): a peer
 * learns nothing of another VM's conntrack entries. */
static void
verify_ips(const struct json *params, const struct ct_filter *vm_ct,
           struct ct_filter *filter)
{
    const struct json *ips = nm_json_member(params, "ips");

    memset(filter, 0, sizeof *filter);
    for (size_t i = 0; ips && ips->type == JSON_ARRAY
                       && i < json_array(ips)->n; i++) {
        const struct json *ip = json_array(ips)->elems[i];
        struct fw_ct_addr a;
        if (ip->type != JSON_STRING
            || fw_ct_addr_parse(json_string(ip), &a)) {
            continue;
        }
        for (size_t k = 0; k < vm_ct->n_addrs; k++) {
            const struct fw_ct_addr *b = &vm_ct->addrs[k];
            if (a.family == b->family
                && !memcmp(a.bytes, b->bytes, a.family == AF_INET ? 4 : 16)) {
                filter->addrs = xrealloc(filter->addrs, (filter->n_addrs + 1)
                                                        * sizeof a);
                filter->addrs[filter->n_addrs++] = a;
                break;
            }
        }
    }
}

/* Params with only the MACs of params "macs" and "ips" that are the VM's
 * ('addrs'): a peer learns nothing of another VM's place in the MAC
 * table. */
static struct json *
verify_macs(const struct json *params, const struct nm_vm_addrs *addrs)
{
    static const char *const members[] = { "macs", "ips" };
    struct json *macs = json_array_create_empty();

    for (size_t m = 0; m < ARRAY_SIZE(members); m++) {
        const struct json *list = nm_json_member(params, members[m]);
        for (size_t i = 0; list && list->type == JSON_ARRAY
                           && i < json_array(list)->n; i++) {
            const struct json *v = json_array(list)->elems[i];
            struct eth_addr mac;
            if (v->type != JSON_STRING
                || !eth_addr_from_string(json_string(v), &mac)) {
                continue;
            }
            for (size_t k = 0; k < addrs->n_ifaces; k++) {
                if (eth_addr_equals(mac, addrs->ifaces[k].mac)) {
                    json_array_add(macs, json_string_create(json_string(v)));
                    break;
                }
            }
        }
    }
    return nm_json_object_1("macs", macs);
}

/* verify {vm, id, ips, macs} -> {ports, fw_objects, ct_entries, fdb}: what
 * the source still holds of a VM that should have left, and where its
 * bridge has learned the VM's MACs ("macs", or MACs among "ips"): a port
 * other than the uplink is a stale entry ("fdb_error" if the table could
 * not be read).  Only for the peer this host exported the VM to in
 * migration "id", and only about that VM's addresses and MACs. */
static int
src_verify(void *nm_, const char *peer, const struct json *params,
           struct json **resultp, char **errorp)
{
    struct netmoved *nm = nm_;
    struct nmovs_doc *doc = NULL;
    struct fw_ruleset *rs = NULL;
    struct ct_table *ct = NULL;
    struct fw_counts counts = { 0 };
    struct nm_vm_addrs addrs;
    char err[NM_ERRLEN];
    const char *vm, *id;

    int error = get_params(params, &vm, &id, true, errorp);
    if (error) {
        return error;
    }
    if (!verify_authorized(nm, vm, id, peer, &addrs, errorp)) {
        return -EINVAL;
    }
    size_t n_ports = nmovs_export(nm->db, vm, &doc, err, sizeof err)
                     ? 0 : nmovs_doc_n_ports(doc);
    nmovs_doc_destroy(doc);
    if (!fw_export(vm, &rs, err, sizeof err)) {
        fw_ruleset_counts(rs, &counts);
    }
    fw_ruleset_destroy(rs);

    struct ct_filter vm_ct, filter;
    nm_vm_addrs_ct_filter(&addrs, &vm_ct);
    verify_ips(params, &vm_ct, &filter);
    free(vm_ct.addrs);
    size_t n_ct = 0;
    if (filter.n_addrs && !ct_export(&filter, &ct, err, sizeof err)) {
        n_ct = ct_table_count(ct);
    }
    ct_table_destroy(ct);
    free(filter.addrs);

    struct json *result = json_object_create();
    json_object_put(result, "ports", json_integer_create(n_ports));
    json_object_put(result, "fw_objects",
                    json_integer_create(counts.tables + counts.chains
                                        + counts.sets + counts.rules));
    json_object_put(result, "ct_entries", json_integer_create(n_ct));
    struct json *scoped = verify_macs(params, &addrs);
    struct json *fdb;
    if (nm_verify_source_fdb(nm->cfg, scoped, &fdb, err, sizeof err)) {
        json_object_put_string(result, "fdb_error", err);
    } else {
        json_object_put(result, "fdb", fdb);
    }
    json_destroy(scoped);
    nm_vm_addrs_destroy(&addrs);
    *resultp = result;
    return 0;
}

static struct db_wait *
after_db_sync(struct netmoved *nm, nm_peer_method_fn *fn, const char *peer,
              const struct json *params, struct nm_peer_req *req)
{
    struct db_wait *w = xzalloc(sizeof *w);

    w->fn = fn;
    w->peer = xstrdup(peer);
    w->params = json_clone(params);
    w->req = req;
    w->ticket = nmovs_db_sync_request(nm->db);
    w->deadline = time_msec() + DB_SYNC_TIMEOUT_MS;
    ovs_list_push_back(&nm->source->db_waits, &w->node);
    return w;
}

/* Answers 'w': by its method if 'synced', else with an error. */
static void
db_wait_finish(struct netmoved *nm, struct db_wait *w, bool synced)
{
    char *msg = NULL;
    struct json *result = NULL;

    if (synced && w->begin) {
        /* It answers 'req' itself, now or later. */
        w->begin(nm, w->peer, w->params, w->req);
        goto out;
    } else if (synced) {
        int error = w->fn(nm, w->peer, w->params, &result, &msg);
        if (error) {
            json_destroy(result);
            nm_peers_reply_error(w->req, error, "%s",
                                 msg ? msg : ovs_strerror(-error));
        } else {
            nm_peers_reply(w->req, result);
        }
    } else {
        nm_peers_reply_error(w->req, -ETIMEDOUT,
                             "%s: OVSDB not reachable (no answer in %d ms)",
                             nm->cfg->host, DB_SYNC_TIMEOUT_MS);
    }
    free(msg);
out:
    db_wait_destroy(w);
}

void
source_run(struct netmoved *nm)
{
    long long int now = time_msec();
    struct db_wait *w;

    LIST_FOR_EACH_SAFE (w, node, &nm->source->db_waits) {
        if (nmovs_db_sync_done(nm->db, w->ticket)) {
            db_wait_finish(nm, w, true);
        } else if (now >= w->deadline) {
            db_wait_finish(nm, w, false);
        }
    }

    struct export_job *job;
    LIST_FOR_EACH_SAFE (job, node, &nm->source->exports) {
        if (!job->ready && nm_owner_probe_run(job->probe)) {
            export_judge(nm, job);
            export_ready(nm, job);
        }
    }
    export_batches_run(nm);

    struct confirm_job *cj;
    LIST_FOR_EACH_SAFE (cj, node, &nm->source->confirms) {
        int error = nmovs_op_run(cj->op);
        if (error != -EAGAIN) {
            confirm_finish(nm, cj, error);
        }
    }
    LIST_FOR_EACH_SAFE (cj, node, &nm->source->held) {
        if (now >= cj->deadline) {
            confirm_unhold(nm, cj, true);
        }
    }

    /* Last: the frames this pass caught go out as one request each. */
    struct shash_node *node;
    SHASH_FOR_EACH (node, &nm->source->outgoing) {
        struct outgoing *o = node->data;
        if (o->drain) {
            drain_src_run(o->drain);
        }
    }
}

void
source_wait(struct netmoved *nm)
{
    struct db_wait *w;

    LIST_FOR_EACH (w, node, &nm->source->db_waits) {
        poll_timer_wait_until(w->deadline);
    }

    struct export_job *job;
    LIST_FOR_EACH (job, node, &nm->source->exports) {
        if (!job->ready) {
            nm_owner_probe_wait(job->probe);
        }
    }
    if (nm->source->n_ready) {
        poll_timer_wait_until(nm->source->batch_due);
    }

    struct confirm_job *cj;
    LIST_FOR_EACH (cj, node, &nm->source->confirms) {
        nmovs_op_wait(cj->op);
    }
    LIST_FOR_EACH (cj, node, &nm->source->held) {
        poll_timer_wait_until(cj->deadline);
    }

    struct shash_node *node;
    SHASH_FOR_EACH (node, &nm->source->outgoing) {
        struct outgoing *o = node->data;
        if (o->drain) {
            drain_src_wait(o->drain);
        }
    }
}

static void
export_async(void *nm_, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
    struct netmoved *nm = nm_;

    if (!export_rate_ok(nm, peer)) {
        VLOG_WARN_RL(&rl, "%s asks for exports faster than %d a second "
                     "(%d at once): refused", peer, EXPORT_RATE,
                     EXPORT_BURST);
        nm_peers_reply_error(req, -EBUSY, "%s: too many exports asked by "
                             "%s (at most %d at once, %d a second): retry "
                             "later", nm->cfg->host, peer, EXPORT_BURST,
                             EXPORT_RATE);
        return;
    }
    after_db_sync(nm, NULL, peer, params, req)->begin = export_begin;
}

static void
locate_async(void *nm, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    after_db_sync(nm, src_locate, peer, params, req);
}

static void
verify_async(void *nm, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    after_db_sync(nm, src_verify, peer, params, req);
}

/* After a restart: the exports not yet confirmed or aborted, from their
 * journals (service.c gives it those written as the source), so that their
 * destinations can still confirm (or abort).  One that had ended before
 * the restart (its journal not yet in done/) is finished. */
void
source_recover(struct netmoved *nm, const char *id, const struct json *records)
{
    const struct json_array *a = json_array(records);
    const struct json *port = NULL, *learned = NULL;
    const char *vm = NULL, *peer = NULL;
    bool ended = false, left = false;
    char err[NM_ERRLEN];

    for (size_t i = 0; i < a->n; i++) {
        struct nm_journal_rec rec;
        if (!nm_journal_rec_parse(a->elems[i], &rec)
            || rec.role != NM_JOURNAL_SOURCE) {
            continue;
        }
        const struct json *p = nm_json_member(rec.json, "peer");
        if (!p || p->type != JSON_STRING) {
            continue;
        }
        switch (rec.step) {
        case NM_JS_EXPORT:
            /* The same migration exported again keeps what this host knew
             * of the VM's departure (as export_finish() does); another VM
             * or peer under the same id (a peer chooses the id) starts
             * with none. */
            if (!vm || strcmp(vm, rec.vm) || strcmp(peer, json_string(p))) {
                left = false;
            }
            vm = rec.vm;
            peer = json_string(p);
            port = nm_json_member(rec.json, "port");
            learned = nm_json_member(rec.json, "learned");
            ended = false;
            break;
        case NM_JS_LEFT:
            /* Evidence for the export it follows, and only for it. */
            left |= vm && !strcmp(vm, rec.vm)
                    && !strcmp(peer, json_string(p));
            break;
        case NM_JS_CONFIRM_DONE:
        case NM_JS_ABORTED:
            vm = NULL;
            ended = true;
            break;
        default:
            break;
        }
    }
    if (ended) {
        journal_end(nm, id);
    }
    if (!vm || !port || shash_find(&nm->source->outgoing, vm)) {
        return;
    }

    struct outgoing *o = xzalloc(sizeof *o);
    o->vm = xstrdup(vm);
    o->id = xstrdup(id);
    o->dst = xstrdup(peer);
    o->left = left;
    if (nm_vm_addrs_from_doc(port, NULL, 0, &o->addrs, err, sizeof err)
        || (learned && nm_vm_addrs_add_learned(&o->addrs, learned,
                                               err, sizeof err))) {
        VLOG_WARN("%s: recovery: %s", id, err);
    }
    shash_add(&nm->source->outgoing, vm, o);
    VLOG_INFO("%s: recovery: %s stays exported to %s until it confirms or "
              "aborts", id, vm, peer);
}

void
source_init(struct netmoved *nm)
{
    nm->source = xzalloc(sizeof *nm->source);
    shash_init(&nm->source->outgoing);
    ovs_list_init(&nm->source->db_waits);
    ovs_list_init(&nm->source->exports);
    ovs_list_init(&nm->source->confirms);
    ovs_list_init(&nm->source->held);
    shash_init(&nm->source->buckets);
    shash_init(&nm->source->confirmed);

    nm_peers_register_async(nm->peers, "export", export_async, nm);
    nm_peers_register(nm->peers, "ct-delta", src_ct_delta, nm);
    nm_peers_register_async(nm->peers, "confirm", confirm_async, nm);
    nm_peers_register(nm->peers, "abort", src_abort, nm);
    nm_peers_register_async(nm->peers, "locate", locate_async, nm);
    nm_peers_register_async(nm->peers, "verify", verify_async, nm);
}

void
source_destroy(struct netmoved *nm)
{
    struct shash_node *node;
    struct db_wait *w;

    if (!nm->source) {
        return;
    }
    LIST_FOR_EACH_SAFE (w, node, &nm->source->db_waits) {
        db_wait_finish(nm, w, false);
    }
    struct export_job *job;
    LIST_FOR_EACH_SAFE (job, node, &nm->source->exports) {
        nm_peers_reply_error(job->req, -ESHUTDOWN, "netmoved exiting");
        export_job_destroy(job);
    }
    struct confirm_job *cj;
    LIST_FOR_EACH_SAFE (cj, node, &nm->source->confirms) {
        nm_peers_reply_error(cj->req, -ESHUTDOWN, "netmoved exiting");
        confirm_job_destroy(cj);
    }
    LIST_FOR_EACH_SAFE (cj, node, &nm->source->held) {
        nm_peers_reply_error(cj->req, -ESHUTDOWN, "netmoved exiting");
        confirm_job_destroy(cj);
    }
    shash_destroy_free_data(&nm->source->buckets);
    SHASH_FOR_EACH (node, &nm->source->confirmed) {
        struct confirmed *r = node->data;
        free(r->dst);
    }
    shash_destroy_free_data(&nm->source->confirmed);

    SHASH_FOR_EACH (node, &nm->source->outgoing) {
        outgoing_destroy(node->data);
    }
    shash_destroy(&nm->source->outgoing);
    free(nm->source);
    nm->source = NULL;
}

bool
source_is_outgoing(const struct netmoved *nm, const char *vm)
{
    return nm->source && shash_find(&nm->source->outgoing, vm);
}

struct json *
source_outgoing_to_json(const struct netmoved *nm)
{
    struct json *out = json_array_create_empty();
    struct shash_node *node;

    SHASH_FOR_EACH (node, &nm->source->outgoing) {
        json_array_add(out, json_string_create(node->name));
    }
    return out;
}

int
source_left(struct netmoved *nm, const char *vm, const char *to,
            enum nm_evidence ev, char **errorp)
{
    bool paused = ev != NM_EV_LEFT;
    bool stopped = ev == NM_EV_STOPPED;

    struct outgoing *o = shash_find_data(&nm->source->outgoing, vm);

    if (!o && !paused && confirmed_recently(nm, vm, to)) {
        return 1;               /* Its destination confirmed already. */
    }
    if (!o) {
        *errorp = xasprintf("no export of %s is outgoing here: nothing to "
                            "record", vm);
        return -ENOENT;
    }
    if (to && strcmp(to, o->dst)) {
        VLOG_WARN("%s: evidence that %s %s to %s refused: it was exported "
                  "to %s", o->id, vm, paused ? "paused" : "left", to, o->dst);
        *errorp = xasprintf("HOST: %s was exported to %s (migration %s), "
                            "not to %s: refused", vm, o->dst, o->id, to);
        return -EINVAL;
    }
    if (paused) {
        if (!o->paused) {
            o->paused = time_wall_usec();
            VLOG_INFO("%s: %s paused for its switch-over to %s", o->id, vm,
                      o->dst);
        }
        if (!o->drain && !o->confirming
            && !nm_peers_has_capability(nm->peers, o->dst, "drain")) {
            /* A destination that does not take relayed frames: catching
             * them would lose what would otherwise wait in the tap (and
             * reach the VM if the migration fails and it resumes here). */
            VLOG_INFO("%s: %s does not serve 'drain': %s's frames are not "
                      "drained", o->id, o->dst, vm);
        } else if (!o->drain && !o->confirming) {
            /* Idempotent: a second `paused` waits for the same catch. */
            char *error = NULL;
            if (drain_src_start(nm, vm, o->id, o->dst, &o->addrs, o->paused,
                                !stopped,
                                &o->drain, &error)) {
                VLOG_WARN("%s: %s's frames will not be drained: %s", o->id,
                          vm, error);
                free(error);
                o->drain = NULL;
            }
        }
        return 0;
    }
    if (!o->left) {
        int error = journal_note(nm, o->id, vm, NM_JS_LEFT, o->dst, NULL);
        if (error) {
            *errorp = xasprintf("journal: cannot record that %s left: %s",
                                vm, ovs_strerror(-error));
            return -EIO;
        }
        o->left = true;
        VLOG_INFO("%s: %s left this host, to %s", o->id, vm, o->dst);
    }
    /* The confirms that waited for it go on. */
    struct confirm_job *held;
    LIST_FOR_EACH_SAFE (held, node, &nm->source->held) {
        if (!strcmp(held->vm, vm)) {
            confirm_unhold(nm, held, false);
        }
    }
    return 0;
}

/* One `paused` call's answer, given once each of its VMs' catch is in the
 * switch (a batch: every catch is sent at once, and one barrier and one
 * revalidation cover them all). */
struct paused_reply {
    struct unixctl_conn *conn;
    size_t pending;                     /* Drains not synced yet, + 1 while
                                         * they are being asked. */
    size_t n_catching, n_plain;
    struct ds errors;
    bool bad_input;                     /* Some of 'errors' are. */
};

static void
paused_reply_done(void *pr_, const char *error)
{
    struct paused_reply *pr = pr_;

    if (error) {
        ds_put_format(&pr->errors, "%s%s", pr->errors.length ? "; " : "",
                      error);
    }
    if (--pr->pending) {
        return;
    }
    if (pr->errors.length) {
        /* As service.c's reply_bad_input(): the CLI exits 2 on it. */
        char *msg = xasprintf("%s%s", pr->bad_input ? "bad input: " : "",
                              ds_cstr(&pr->errors));
        unixctl_command_reply_error(pr->conn, msg);
        free(msg);
    } else if (pr->n_catching + pr->n_plain == 1) {
        unixctl_command_reply(pr->conn, pr->n_catching
                              ? "paused: recorded; catching its frames"
                              : "paused: recorded (no drain: see "
                                "netmoved's log)");
    } else {
        char *msg = xasprintf("paused: recorded; catching the frames of "
                              "%zu VM(s)%s", pr->n_catching, pr->n_plain
                              ? " (the others have no drain: see "
                                "netmoved's log)" : "");
        unixctl_command_reply(pr->conn, msg);
        free(msg);
    }
    ds_destroy(&pr->errors);
    free(pr);
}

void
source_paused_reply(struct netmoved *nm, const char *const *vms, size_t n,
                    const char *errors, bool bad_input,
                    struct unixctl_conn *conn)
{
    struct paused_reply *pr = xzalloc(sizeof *pr);

    pr->conn = conn;
    pr->pending = 1;
    ds_init(&pr->errors);
    if (errors) {
        ds_put_cstr(&pr->errors, errors);
        pr->bad_input = bad_input;
    }
    for (size_t i = 0; i < n; i++) {
        struct outgoing *o = shash_find_data(&nm->source->outgoing, vms[i]);
        if (o && o->drain) {
            pr->n_catching++;
            pr->pending++;
            drain_src_when_synced(o->drain, paused_reply_done, pr);
        } else {
            pr->n_plain++;
        }
    }
    paused_reply_done(pr, NULL);
}

struct json *
source_drains_to_json(const struct netmoved *nm)
{
    struct json *out = json_object_create();
    struct shash_node *node;

    SHASH_FOR_EACH (node, &nm->source->outgoing) {
        const struct outgoing *o = node->data;
        if (o->drain) {
            json_object_put(out, node->name, drain_src_to_json(o->drain));
        }
    }
    return out;
}
