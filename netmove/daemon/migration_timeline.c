/* The timeline's records: what `netmove timeline VM` draws.
 *
 * A migration's destination journals its own steps; once it is done
 * (confirmed, and the uplink's capture ended) it asks the source for the source's records of that migration (peer method
 * "records", docs/PROTOCOL.md) and journals them, with the offset of the
 * source's wall clock from its own estimated from that round trip, as
 * step "source-records".  So the destination's journal holds both sides,
 * on one time axis.  The source serves only the records of a migration it
 * exported to the asking peer (the trust model: a peer learns nothing of
 * another VM or of another host's migration).  The control command
 * "timeline VM [ID]" hands the CLI one migration's records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"

VLOG_DEFINE_THIS_MODULE(timeline);

/* How long the destination waits for the source's records (its journal
 * moves to done/ only then). */
#define RECORDS_TIMEOUT_MS 2000

/* At most this many records of one migration cross, either way (the
 * destination looks at no more of an answer). */
#define RECORDS_MAX 64

/* A string member of a record longer than this is dropped. */
#define RECORDS_STRING_MAX 64

/* One day, in microseconds: how far the source's clock may be from ours,
 * and its records' times from the migration's. */
#define RECORDS_DAY_US (24LL * 3600 * 1000 * 1000)

/* The members of a record that cross to the destination: the step, its
 * time and the drain's counters that the timeline shows; never the
 * documents (port, firewall, conntrack) a record may hold. */
static const char *const record_members[] = {
    "t_us", "step", "role", "vm", "peer", "drain",
};

/* The members of "drain" that cross (integers): its times first. */
static const char *const drain_times[] = {
    "t_paused", "t_released", "t_catch_synced", "t_watch_seen",
};
static const char *const drain_counters[] = {
    "caught", "relayed_frames", "delivered_here",
};

static bool
time_in(const struct json *v, int64_t lo, int64_t hi)
{
    return v->type == JSON_INTEGER && json_integer(v) >= lo
           && json_integer(v) <= hi;
}

/* A copy of record 'rec' of 'vm' with only 'record_members', their values
 * of plain types: strings of at most RECORDS_STRING_MAX bytes, "drain" an
 * object of the whitelisted integers; its times (t_us, the drain's) within
 * 'lo'..'hi' (a drain's time outside is left out).  NULL if 'rec' is not
 * such a record. */
static struct json *
record_trim(const struct json *rec, const char *vm, int64_t lo, int64_t hi)
{
    const char *step = nm_json_member_string(rec, "step");
    const char *r_vm = nm_json_member_string(rec, "vm");
    const struct json *t = nm_json_member_type(rec, "t_us", JSON_INTEGER);

    if (!step || !t || !r_vm || strcmp(r_vm, vm)
        || strlen(step) > RECORDS_STRING_MAX || !time_in(t, lo, hi)) {
        return NULL;
    }
    struct json *out = json_object_create();
    for (size_t i = 0; i < ARRAY_SIZE(record_members); i++) {
        const struct json *v = nm_json_member(rec, record_members[i]);
        if (!v) {
            continue;
        }
        if (!strcmp(record_members[i], "drain")) {
            if (v->type != JSON_OBJECT) {
                continue;
            }
            struct json *o = json_object_create();
            for (size_t k = 0; k < ARRAY_SIZE(drain_times); k++) {
                const struct json *x = nm_json_member(v, drain_times[k]);
                if (x && time_in(x, lo, hi)) {
                    json_object_put(o, drain_times[k], json_clone(x));
                }
            }
            for (size_t k = 0; k < ARRAY_SIZE(drain_counters); k++) {
                const struct json *x = nm_json_member_type(
                    v, drain_counters[k], JSON_INTEGER);
                if (x) {
                    json_object_put(o, drain_counters[k], json_clone(x));
                }
            }
            json_object_put(out, record_members[i], o);
        } else if (v->type == JSON_INTEGER
                   || (v->type == JSON_STRING
                       && strlen(json_string(v)) <= RECORDS_STRING_MAX)) {
            json_object_put(out, record_members[i], json_clone(v));
        }
    }
    return out;
}

/* ---- the source: serving "records" ---- */

/* records {vm, id}: this host's records of migration 'id' of 'vm', which
 * it exported to 'peer', and its wall clock now ("wall_us"). */
static int
src_records(void *nm_, const char *peer, const struct json *params,
            struct json **resultp, char **errorp)
{
    struct netmoved *nm = nm_;
    const char *vm = nm_json_member_string(params, "vm");
    const char *id = nm_json_member_string(params, "id");

    if (!vm || !fw_vm_name_valid(vm)) {
        *errorp = xstrdup("params.vm: missing or not a VM name");
        return -EINVAL;
    }
    if (!id || !id[0]) {
        *errorp = xstrdup("params.id: missing migration id");
        return -EINVAL;
    }

    struct json *records = nm_journal_read(nm->journal, NM_JOURNAL_SOURCE,
                                           id);
    bool exported = false;
    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        struct nm_journal_rec rec;
        const char *p;
        exported |= nm_journal_rec_parse(json_array(records)->elems[i], &rec)
                    && rec.step == NM_JS_EXPORT && !strcmp(rec.vm, vm)
                    && (p = nm_json_member_string(rec.json, "peer")) != NULL
                    && !strcmp(p, peer);
    }
    if (!exported) {
        json_destroy(records);
        *errorp = xasprintf("no export of %s to %s in migration %s here",
                            vm, peer, id);
        return -EINVAL;
    }
    struct json *out = json_array_create_empty();
    for (size_t i = 0; i < json_array(records)->n
                       && json_array(out)->n < RECORDS_MAX; i++) {
        struct json *r = record_trim(json_array(records)->elems[i], vm,
                                     INT64_MIN, INT64_MAX);
        if (r) {
            json_array_add(out, r);
        }
    }
    json_destroy(records);

    struct json *result = json_object_create();
    json_object_put_string(result, "host", nm->cfg->host);
    json_object_put(result, "records", out);
    json_object_put(result, "wall_us", json_integer_create(time_wall_usec()));
    *resultp = result;
    return 0;
}

void
migration_timeline_init(struct netmoved *nm)
{
    nm_peers_register(nm->peers, "records", src_records, nm);
}

/* ---- the destination: fetching the source's ---- */

/* Every source's request budget (docs/PROTOCOL.md "Limits": 50 a second)
 * is shared with every other migration from it, so the destination asks
 * one source one "records" at a time: the migrations wait in
 * 'nm->records_queue' in order, the one asking sits in
 * 'nm->records_flight'.  A migration tries again (NTP keeps the sample
 * with the shortest round trip, the smallest error bound) only while no
 * other waits for that source, never after "busy", at most RECORDS_TRIES
 * round trips, and starts none later than RECORDS_DEADLINE_MS after it
 * asked: so its journal moves to done/ at most RECORDS_DEADLINE_MS +
 * RECORDS_TIMEOUT_MS after it is done. */
#define RECORDS_TRIES 4
#define RECORDS_GOOD_BOUND_US 2000
#define RECORDS_RETRY_MS 200
#define RECORDS_DEADLINE_MS 8000

static void records_send(struct migration *m);

/* Takes 'm' out of the queue or the flight. */
static void
records_unlink(struct migration *m)
{
    if (m->records_queued || m->records_in_flight) {
        ovs_list_remove(&m->records_node);
        m->records_queued = m->records_in_flight = false;
    }
}

/* True if a migration other than 'm' waits for, or asks, 'm''s source. */
static bool
records_source_wanted(const struct migration *m, bool queued_too)
{
    const struct migration *o;

    LIST_FOR_EACH (o, records_node, &m->nm->records_flight) {
        if (o != m && !strcmp(o->src, m->src)) {
            return true;
        }
    }
    if (queued_too) {
        LIST_FOR_EACH (o, records_node, &m->nm->records_queue) {
            if (o != m && !strcmp(o->src, m->src)) {
                return true;
            }
        }
    }
    return false;
}

/* Journals the best sample, if any, and lets 'm' finish. */
static void
records_done(struct migration *m)
{
    records_unlink(m);
    m->records_pending = false;
    m->records_retry_at_us = 0;
    if (m->records_best) {
        migration_journal(m, NM_JS_SOURCE_RECORDS, m->records_best, false);
        m->records_best = NULL;
    }
    migration_maybe_finish(m);
}

/* Sends the request of each waiting migration whose source has none in
 * flight, in order; one past its deadline gives up. */
static void
records_dispatch(struct netmoved *nm)
{
    struct migration *m;
    uint64_t now = time_usec();

    LIST_FOR_EACH_SAFE (m, records_node, &nm->records_queue) {
        if (now >= m->records_deadline_us) {
            VLOG_INFO("%s: no records from source %s for the timeline: "
                      "none asked within %d ms", m->id, m->src,
                      RECORDS_DEADLINE_MS);
            records_done(m);
        } else if (!records_source_wanted(m, false)) {
            records_unlink(m);
            records_send(m);
        }
    }
}

/* After a try: again in RECORDS_RETRY_MS if it may, else done. */
static void
records_again_or_done(struct migration *m, bool may_retry)
{
    uint64_t at = time_usec() + RECORDS_RETRY_MS * 1000ULL;

    records_unlink(m);
    if (may_retry && m->records_tries < RECORDS_TRIES
        && at < m->records_deadline_us && !records_source_wanted(m, true)) {
        m->records_retry_at_us = at;
    } else {
        records_done(m);
    }
}

static void
records_reply(void *m_, const struct json *result, const char *error,
              int errnum)
{
    struct migration *m = m_;
    struct netmoved *nm = m->nm;
    uint64_t rtt = time_usec() - m->records_t0_us;
    const struct json *wall = nm_json_member_type(result, "wall_us",
                                                  JSON_INTEGER);
    const struct json *recs = nm_json_member_type(result, "records",
                                                  JSON_ARRAY);
    /* NTP's estimate from one round trip: the peer read its clock between
     * our send and our receive, so at their midpoint, give or take half
     * the round trip. */
    int64_t mid = (int64_t) (m->records_t0_wall_us + rtt / 2);
    int64_t bound = (rtt + 1) / 2;

    m->records_tries++;
    if (!error && wall && recs
        && (json_integer(wall) > mid + RECORDS_DAY_US
            || json_integer(wall) < mid - RECORDS_DAY_US)) {
        error = "wall_us: more than a day from this host's clock";
    }
    if (error || !wall || !recs) {
        bool busy = error && !strncmp(error, "busy:", 5);
        VLOG_INFO("%s: no records from source %s for the timeline (try %d): "
                  "%s", m->id, m->src, m->records_tries,
                  error ? error : "wall_us or records missing");
        /* A source of before the timeline, or one that refuses: this
         * host's side alone (or the best so far); a busy one is not asked
         * again. */
        records_again_or_done(m, !busy && errnum != -EOPNOTSUPP
                                 && !nm_error_is_bad_input(errnum));
        records_dispatch(nm);
        return;
    }

    int64_t offset = json_integer(wall) - mid;
    const struct json *best_bound = nm_json_member_type(
        m->records_best, "offset_bound_us", JSON_INTEGER);
    if (!best_bound || bound < json_integer(best_bound)) {
        /* The source's records of the migration, on its clock: within a
         * day of now there. */
        int64_t ref = (int64_t) m->records_t0_wall_us + offset;
        struct json *x = json_object_create();
        struct json *out = json_array_create_empty();
        for (size_t i = 0; i < json_array(recs)->n && i < RECORDS_MAX; i++) {
            struct json *r = record_trim(json_array(recs)->elems[i], m->vm,
                                         ref - RECORDS_DAY_US,
                                         ref + RECORDS_DAY_US);
            if (r) {
                json_array_add(out, r);
            }
        }
        json_object_put_string(x, "peer", m->src);
        json_object_put(x, "offset_us", json_integer_create(offset));
        json_object_put(x, "offset_bound_us", json_integer_create(bound));
        json_object_put(x, "records", out);
        json_destroy(m->records_best);
        m->records_best = x;
    }
    json_object_put(m->records_best, "round_trips",
                    json_integer_create(m->records_tries));
    records_again_or_done(m, bound > RECORDS_GOOD_BOUND_US);
    records_dispatch(nm);
}

static void
records_send(struct migration *m)
{
    struct json *p = json_object_create();

    json_object_put_string(p, "vm", m->vm);
    json_object_put_string(p, "id", m->id);
    m->records_retry_at_us = 0;
    m->records_t0_us = time_usec();
    m->records_t0_wall_us = time_wall_usec();
    ovs_list_push_back(&m->nm->records_flight, &m->records_node);
    m->records_in_flight = true;
    if (m->nm->ops->request(m->nm, m->src, "records", p, RECORDS_TIMEOUT_MS,
                            records_reply, m)) {
        records_done(m);
    }
}

void
migration_fetch_source_records(struct migration *m)
{
    m->records_pending = true;
    m->records_tries = 0;
    m->records_deadline_us = time_usec() + RECORDS_DEADLINE_MS * 1000ULL;
    if (!m->src) {
        records_done(m);
        return;
    }
    ovs_list_push_back(&m->nm->records_queue, &m->records_node);
    m->records_queued = true;
    records_dispatch(m->nm);
}

uint64_t
migration_timeline_run(struct migration *m, uint64_t now)
{
    if (m->records_retry_at_us && now >= m->records_retry_at_us) {
        m->records_retry_at_us = 0;
        if (records_source_wanted(m, true)) {
            records_done(m);    /* Another waits: the best so far. */
        } else {
            records_send(m);
        }
    }
    return m->records_retry_at_us;
}

void
migration_timeline_cancel(struct migration *m)
{
    bool was_asking = m->records_in_flight;

    if (m->records_pending) {
        /* Done, only the source's records outstanding: finished with the
         * best answer so far, if any (else the timeline shows this host's
         * side alone). */
        records_done(m);
    }
    if (was_asking && !m->nm->exiting) {
        records_dispatch(m->nm);
    }
}

/* ---- the CLI's: "timeline VM [ID]" ---- */

void
migration_cmd_timeline(struct unixctl_conn *conn, int argc,
                       const char *argv[], void *nm_)
{
    struct netmoved *nm = nm_;
    const char *vm = argv[1];
    enum nm_journal_role role = NM_JOURNAL_DESTINATION;
    struct json *records = NULL;
    char *id = NULL;

    if (!fw_vm_name_valid(vm)) {
        unixctl_command_reply_error(conn, "bad input: VM: not a VM name");
        return;
    }
    if (argc > 2) {
        id = xstrdup(argv[2]);
        for (int r = 0; r < NM_JOURNAL_N_ROLES && !records; r++) {
            struct nm_journal_rec rec;
            records = nm_journal_read(nm->journal, r, id);
            role = r;
            if (records && (!json_array(records)->n
                            || !nm_journal_rec_parse(
                                json_array(records)->elems[0], &rec)
                            || strcmp(rec.vm, vm))) {
                json_destroy(records);  /* Another VM's. */
                records = NULL;
            }
        }
    } else if (nm_journal_last(nm->journal, vm, &role, &id)) {
        records = nm_journal_read(nm->journal, role, id);
    }
    if (!records) {
        char *msg = id ? xasprintf("no migration %s in the journal here", id)
                       : xasprintf("no migration of %s in the journal here",
                                   vm);
        unixctl_command_reply_error(conn, msg);
        free(msg);
        free(id);
        return;
    }

    /* The documents are not the timeline's (and may be large). */
    for (size_t i = 0; i < json_array(records)->n; i++) {
        struct json *rec = json_array(records)->elems[i];
        if (rec->type == JSON_OBJECT) {
            json_destroy(shash_find_and_delete(json_object(rec), "export"));
        }
    }

    struct json *j = json_object_create();
    json_object_put_string(j, "host", nm->cfg->host);
    json_object_put_string(j, "vm", vm);
    json_object_put_string(j, "id", id);
    json_object_put_string(j, "role", role == NM_JOURNAL_SOURCE
                                      ? "source" : "destination");
    json_object_put(j, "records", records);
    char *s = json_to_string(j, JSSF_SORT);
    unixctl_command_reply(conn, s);
    free(s);
    json_destroy(j);
    free(id);
}
