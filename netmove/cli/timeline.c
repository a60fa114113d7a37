/* One migration on one time axis: its events from the journal's records,
 * the client's pings, and the text and JSON forms (the SVG form:
 * timeline_svg.c). */
#include "netmove/cli/timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "util.h"

#include "netmove/common/json.h"

static const char *const lane_role[TL_N_LANES] = {
    [TL_SOURCE] = "source", [TL_DESTINATION] = "destination",
    [TL_CLIENT] = "client",
};

static void
add_event(struct timeline *t, const char *name, enum tl_lane lane,
          int64_t t_us, const char *fmt, ...) OVS_PRINTF_FORMAT(5, 6);

static bool
time_ok(int64_t t_us)
{
    return t_us > 0 && t_us <= TL_TIME_MAX_US;
}

/* 't_us' + 'by', or 0 (no time) if 't_us' is 0 or the sum overflows or
 * is not a time the timeline takes. */
static int64_t
shifted(int64_t t_us, int64_t by)
{
    int64_t sum;

    return t_us && !__builtin_add_overflow(t_us, by, &sum) && time_ok(sum)
           ? sum : 0;
}

/* Adds event 'name' at 't_us' unless one of that name is there already
 * (the pause is in both hosts' records: the first kept) or 't_us' is not
 * a time (time_ok()). */
static void
add_event(struct timeline *t, const char *name, enum tl_lane lane,
          int64_t t_us, const char *fmt, ...)
{
    va_list args;

    if (!time_ok(t_us)) {
        return;
    }
    for (size_t i = 0; i < t->n_events; i++) {
        if (!strcmp(t->events[i].name, name)) {
            return;
        }
    }
    t->events = xrealloc(t->events, (t->n_events + 1) * sizeof *t->events);
    struct tl_event *e = &t->events[t->n_events++];
    e->name = xstrdup(name);
    va_start(args, fmt);
    e->label = xvasprintf(fmt, args);
    va_end(args);
    e->lane = lane;
    e->t_us = t_us;
}

static void
add_phase(struct timeline *t, const char *name, enum tl_lane lane,
          int64_t from_us, int64_t to_us, const char *label)
{
    if (!time_ok(from_us) || !time_ok(to_us) || to_us < from_us) {
        return;
    }
    t->phases = xrealloc(t->phases, (t->n_phases + 1) * sizeof *t->phases);
    t->phases[t->n_phases++] = (struct tl_phase) {
        xstrdup(name), xstrdup(label), lane, from_us, to_us,
    };
}

static const struct tl_event *
find_event(const struct timeline *t, const char *name)
{
    for (size_t i = 0; i < t->n_events; i++) {
        if (!strcmp(t->events[i].name, name)) {
            return &t->events[i];
        }
    }
    return NULL;
}

static int64_t
event_time(const struct timeline *t, const char *name)
{
    const struct tl_event *e = find_event(t, name);
    return e ? e->t_us : 0;
}

/* Integer member 'name' of 'obj', 0 if none. */
static int64_t
int_member(const struct json *obj, const char *name)
{
    const struct json *v = nm_json_member_type(obj, name, JSON_INTEGER);
    return v ? json_integer(v) : 0;
}

static long long
counter(const struct json *obj, const char *name)
{
    const struct json *v = nm_json_member_type(obj, name, JSON_INTEGER);
    return v ? json_integer(v) : -1;
}

static size_t
array_n(const struct json *obj, const char *name)
{
    const struct json *v = nm_json_member_type(obj, name, JSON_ARRAY);
    return v ? json_array(v)->n : 0;
}

/* The source's records ('shift' added to their times: minus the offset,
 * to the destination's clock). */
static void
source_records(struct timeline *t, const struct json *records,
               int64_t shift)
{
    int64_t confirm_begin = 0, confirm_done = 0;

    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        const struct json *r = json_array(records)->elems[i];
        const char *step = nm_json_member_string(r, "step");
        const char *peer = nm_json_member_string(r, "peer");
        int64_t at = int_member(r, "t_us");

        at = shifted(at, shift);
        if (!step || !at) {
            continue;
        }
        if (peer && !t->hosts[TL_DESTINATION]) {
            t->hosts[TL_DESTINATION] = xstrdup(peer);
        }
        if (!strcmp(step, "export")) {
            add_event(t, "export", TL_SOURCE, at,
                      "export (port, firewall, conntrack)");
        } else if (!strcmp(step, "drained")) {
            const struct json *d = nm_json_member(r, "drain");
            int64_t paused = int_member(d, "t_paused");
            int64_t released = int_member(d, "t_released");
            paused = shifted(paused, shift);
            released = shifted(released, shift);
            add_event(t, "pause", TL_SOURCE, paused, "VM paused");
            int64_t synced = int_member(d, "t_catch_synced");
            add_event(t, "catch-synced", TL_SOURCE, shifted(synced, shift),
                      "drain: catch in place");
            int64_t watch = int_member(d, "t_watch_seen");
            add_event(t, "announcement-at-source", TL_SOURCE,
                      shifted(watch, shift),
                      "announcement reached the source");
            t->src_caught = counter(d, "caught");
            t->src_relayed = counter(d, "relayed_frames");
            t->src_delivered_here = counter(d, "delivered_here");
            add_event(t, "drain-released", TL_SOURCE, released,
                      "drain ends: %lld caught, %lld relayed",
                      MAX(t->src_caught, 0), MAX(t->src_relayed, 0));
            if (paused && released) {
                add_phase(t, "drain", TL_SOURCE, paused, released,
                          "drain (catch, relay)");
            }
        } else if (!strcmp(step, "left")) {
            add_event(t, "left", TL_SOURCE, at, "VM left (evidence)");
        } else if (!strcmp(step, "confirm-begin")) {
            confirm_begin = at;
            add_event(t, "confirm-begin", TL_SOURCE, at, "confirm asked");
        } else if (!strcmp(step, "confirm-done")) {
            confirm_done = at;
            add_event(t, "confirm-done", TL_SOURCE, at,
                      "source removed its copy");
        } else if (!strcmp(step, "aborted")) {
            add_event(t, "source-aborted", TL_SOURCE, at, "aborted");
        }
    }
    if (confirm_begin && confirm_done) {
        add_phase(t, "source-confirm", TL_SOURCE, confirm_begin,
                  confirm_done, "removing");
    }
}

/* A "drained" record of the destination. */
static void
destination_drained(struct timeline *t, const struct json *r)
{
    const struct json *d = nm_json_member(r, "drain");
    int64_t msg = int_member(d, "t_paused_msg_wall_us");
    int64_t rel = int_member(d, "t_hold_released_wall_us");

    t->dst_received = counter(d, "relayed_received");
    t->dst_delivered = counter(d, "delivered_frames");
    t->dst_late = counter(d, "late");
    long long dropped = 0;
    static const char *const drops[] = {
        "dropped_deadline", "dropped_bound", "dropped_scope",
        "dropped_abort", "dropped_output",
    };
    for (size_t i = 0; i < ARRAY_SIZE(drops); i++) {
        dropped += MAX(counter(d, drops[i]), 0);
    }
    t->dst_dropped = dropped;
    add_event(t, "hold-released", TL_DESTINATION, rel,
              "hold released: %lld relayed frames delivered",
              MAX(t->dst_delivered, 0));
    if (msg && rel) {
        add_phase(t, "hold", TL_DESTINATION, msg, rel, "hold");
    }
}

static void
destination_record(struct timeline *t, const struct json *r,
                   const char *step, int64_t at)
{
    if (!strcmp(step, "prepare-begin")) {
        add_event(t, "prepare-begin", TL_DESTINATION, at, "prepare begins");
    } else if (!strcmp(step, "prepare-done")) {
        add_event(t, "prepare-done", TL_DESTINATION, at,
                  "prepared (imported, blocked)");
    } else if (!strcmp(step, "paused")) {
        int64_t msg = int_member(r, "t_paused_msg_wall_us");
        /* The source's clock: shifted once the offset is known. */
        add_event(t, "pause-src-clock", TL_SOURCE,
                  int_member(r, "paused_us"), "VM paused");
        add_event(t, "pause-received", TL_DESTINATION, msg,
                  "pause told");
        add_event(t, "announce-at-pause", TL_DESTINATION,
                  int_member(r, "t_announced_wall_us"),
                  "first announcement (at the pause)");
    } else if (!strcmp(step, "drained")) {
        destination_drained(t, r);
    } else if (!strcmp(step, "resume-begin")) {
        add_event(t, "resume", TL_DESTINATION, at, "resume (called)");
    } else if (!strcmp(step, "announced")) {
        add_event(t, "port-active", TL_DESTINATION,
                  int_member(r, "port_active_wall_us"), "port active");
        add_event(t, "announce-at-resume", TL_DESTINATION,
                  int_member(r, "first_frame_wall_us"),
                  "first announcement at resume");
    } else if (!strcmp(step, "ct-delta-done")) {
        const struct json *ct = nm_json_member(r, "ct");
        t->ct_delta = array_n(ct, "entries") + array_n(ct, "gone");
        add_event(t, "ct-delta", TL_DESTINATION, at,
                  "conntrack delta: %lld entries", t->ct_delta);
    } else if (!strcmp(step, "confirmed")) {
        const struct json *s = nm_json_member(r, "source_removed");
        add_event(t, "confirm", TL_DESTINATION, at,
                  "confirmed (source removed %lld port(s), %lld fw, "
                  "%lld ct)", MAX(counter(s, "ports"), 0),
                  MAX(counter(s, "fw_objects"), 0),
                  MAX(counter(s, "ct_entries"), 0));
    } else if (!strcmp(step, "announcements-seen")) {
        add_event(t, "uplink-first-seen", TL_DESTINATION,
                  int_member(r, "first_seen_wall_us"),
                  "first announcement seen on the uplink");
    } else if (!strcmp(step, "failed") || !strcmp(step, "aborted")) {
        add_event(t, step, TL_DESTINATION, at, "%s", step);
    }
}

int
timeline_from_reply(struct timeline *t, const struct json *reply,
                    char *err, size_t errlen)
{
    const char *role = nm_json_member_string(reply, "role");
    const struct json *records = nm_json_member_type(reply, "records",
                                                     JSON_ARRAY);
    const char *vm = nm_json_member_string(reply, "vm");
    const char *id = nm_json_member_string(reply, "id");
    const char *host = nm_json_member_string(reply, "host");

    memset(t, 0, sizeof *t);
    t->src_caught = t->src_relayed = t->src_delivered_here = -1;
    t->dst_received = t->dst_delivered = t->dst_late = t->dst_dropped = -1;
    t->ct_delta = -1;
    if (!role || !records || !vm || !id || !host) {
        snprintf(err, errlen, "netmoved's answer lacks %s",
                 !role ? "role" : !records ? "records" : !vm ? "vm"
                 : !id ? "id" : "host");
        return -EINVAL;
    }
    t->vm = xstrdup(vm);
    t->id = xstrdup(id);
    t->host = xstrdup(host);
    t->hosts[TL_CLIENT] = xstrdup("client");

    if (!strcmp(role, "source")) {
        t->hosts[TL_SOURCE] = xstrdup(host);
        source_records(t, records, 0);
        return 0;
    }
    t->hosts[TL_DESTINATION] = xstrdup(host);
    /* The source's records first: the offset shifts the pause the
     * destination recorded on the source's clock too. */
    for (size_t i = 0; i < json_array(records)->n; i++) {
        const struct json *r = json_array(records)->elems[i];
        const char *step = nm_json_member_string(r, "step");
        if (step && !strcmp(step, "source-records")) {
            t->has_offset = true;
            /* An offset past 'TL_TIME_MAX_US' shifts every time out. */
            t->offset_us = int_member(r, "offset_us");
            t->offset_us = MIN(MAX(t->offset_us, -TL_TIME_MAX_US),
                               TL_TIME_MAX_US);
            t->offset_bound_us = int_member(r, "offset_bound_us");
            t->round_trips = MAX(int_member(r, "round_trips"), 1);
            source_records(t, nm_json_member_type(r, "records", JSON_ARRAY),
                           -t->offset_us);
        }
    }
    for (size_t i = 0; i < json_array(records)->n; i++) {
        const struct json *r = json_array(records)->elems[i];
        const char *step = nm_json_member_string(r, "step");
        const char *src = nm_json_member_string(r, "src");
        if (src && !t->hosts[TL_SOURCE]) {
            t->hosts[TL_SOURCE] = xstrdup(src);
        }
        if (step) {
            destination_record(t, r, step, int_member(r, "t_us"));
        }
    }
    /* The pause as the destination heard of it (the source's clock), if
     * the source's own record of it is not here. */
    for (size_t i = 0; i < t->n_events; i++) {
        struct tl_event *e = &t->events[i];
        if (!strcmp(e->name, "pause-src-clock")) {
            e->t_us = shifted(e->t_us, -t->offset_us);
            if (!e->t_us) {
                /* Shifted out of time: dropped. */
                free(e->name);
                free(e->label);
                t->events[i--] = t->events[--t->n_events];
            } else if (!find_event(t, "pause")) {
                free(e->name);
                e->name = xstrdup("pause");
            }
        }
    }
    int64_t prep0 = event_time(t, "prepare-begin");
    int64_t prep1 = event_time(t, "prepare-done");
    add_phase(t, "prepare", TL_DESTINATION, prep0, prep1, "prepare");
    int64_t pause = event_time(t, "pause");
    int64_t resume = event_time(t, "resume");
    if (pause && resume) {
        add_phase(t, "vm-paused", TL_SOURCE, pause, resume,
                  "VM paused until resume");
    }
    int64_t confirm = event_time(t, "confirm");
    if (resume && confirm) {
        add_phase(t, "resume-to-confirm", TL_DESTINATION, resume, confirm,
                  "ct delta, confirm");
    }
    return 0;
}

static int
event_cmp(const void *a_, const void *b_)
{
    const struct tl_event *a = a_, *b = b_;

    if (a->t_us != b->t_us) {
        return a->t_us < b->t_us ? -1 : 1;
    }
    return a->lane - b->lane;
}

void
timeline_finish(struct timeline *t)
{
    /* Drop a duplicate pause the destination recorded. */
    for (size_t i = 0; i < t->n_events; i++) {
        if (!strcmp(t->events[i].name, "pause-src-clock")) {
            free(t->events[i].name);
            free(t->events[i].label);
            t->events[i--] = t->events[--t->n_events];
        }
    }
    qsort(t->events, t->n_events, sizeof *t->events, event_cmp);
    int64_t pause = event_time(t, "pause");
    t->origin_us = pause ? pause
                   : t->n_events ? t->events[0].t_us
                   : t->n_pings ? t->pings[0].t_us : 0;
}

void
timeline_destroy(struct timeline *t)
{
    for (size_t i = 0; i < t->n_events; i++) {
        free(t->events[i].name);
        free(t->events[i].label);
    }
    for (size_t i = 0; i < t->n_phases; i++) {
        free(t->phases[i].name);
        free(t->phases[i].label);
    }
    for (int i = 0; i < TL_N_LANES; i++) {
        free(t->hosts[i]);
    }
    free(t->events);
    free(t->phases);
    free(t->pings);
    free(t->vm);
    free(t->id);
    free(t->host);
    memset(t, 0, sizeof *t);
}

/* ---- the client's view ---- */

static int
ping_cmp(const void *a_, const void *b_)
{
    const struct tl_ping *a = a_, *b = b_;
    return a->t_us < b->t_us ? -1 : a->t_us > b->t_us;
}

int
timeline_add_client(struct timeline *t, const char *text, char *err,
                    size_t errlen)
{
    struct tl_ping *pings = NULL;
    size_t n = 0, allocated = 0;
    char *copy = xstrdup(text), *save = NULL;
    int line = 0, error = 0;

    for (char *s = strtok_r(copy, "\n", &save); s && !error;
         s = strtok_r(NULL, "\n", &save)) {
        line++;
        if (!s[strspn(s, " \t\r")]) {
            continue;
        }
        struct json *j = json_from_string(s);
        const struct json *at = nm_json_member_type(j, "t_us", JSON_INTEGER);
        const struct json *rtt = nm_json_member_type(j, "rtt_us",
                                                     JSON_INTEGER);
        const struct json *lost = nm_json_member(j, "lost");
        if (j->type != JSON_OBJECT) {
            snprintf(err, errlen, "line %d: not a JSON object", line);
            error = -EINVAL;
        } else if (!at || !time_ok(json_integer(at))) {
            snprintf(err, errlen, "line %d: t_us: missing or not a wall "
                     "clock time in microseconds (1 to 2^53)", line);
            error = -EINVAL;
        } else if (!(lost && lost->type == JSON_TRUE)
                   && (!rtt || json_integer(rtt) < 0)) {
            snprintf(err, errlen, "line %d: rtt_us: missing or negative "
                     "(or \"lost\": true)", line);
            error = -EINVAL;
        } else {
            if (n >= allocated) {
                pings = x2nrealloc(pings, &allocated, sizeof *pings);
            }
            pings[n++] = (struct tl_ping) {
                json_integer(at), lost && lost->type == JSON_TRUE
                                  ? -1 : json_integer(rtt),
            };
        }
        json_destroy(j);
    }
    free(copy);
    if (error) {
        free(pings);
        return error;
    }
    qsort(pings, n, sizeof *pings, ping_cmp);
    free(t->pings);
    t->pings = pings;
    t->n_pings = n;
    return 0;
}

bool
timeline_longest_loss(const struct timeline *t, size_t *first, size_t *last)
{
    size_t best = 0, start = 0;
    bool in = false;

    for (size_t i = 0; i <= t->n_pings; i++) {
        bool lost = i < t->n_pings && t->pings[i].rtt_us < 0;
        if (lost && !in) {
            start = i;
            in = true;
        } else if (!lost && in) {
            in = false;
            if (i - start > best) {
                best = i - start;
                *first = start;
                *last = i - 1;
            }
        }
    }
    return best > 0;
}

static size_t
n_lost(const struct timeline *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_pings; i++) {
        n += t->pings[i].rtt_us < 0;
    }
    return n;
}

/* ---- text ---- */

static double
rel_ms(const struct timeline *t, int64_t us)
{
    return ((double) us - (double) t->origin_us) / 1000.0;
}

static const char *
lane_host(const struct timeline *t, enum tl_lane lane)
{
    return t->hosts[lane] ? t->hosts[lane] : lane_role[lane];
}

/* The summary lines both forms show: hosts, the clocks, the drain, the
 * client. */
static void
put_summary(struct ds *s, const struct timeline *t, const char *eol)
{
    if (t->has_offset) {
        ds_put_format(s, "clocks: %s = %s %+.3f ms, +-%.3f ms (the shortest "
                      "of %d round trip%s to the source)%s",
                      lane_host(t, TL_SOURCE), lane_host(t, TL_DESTINATION),
                      t->offset_us / 1000.0, t->offset_bound_us / 1000.0,
                      t->round_trips, t->round_trips == 1 ? "" : "s", eol);
    } else {
        ds_put_format(s, "clocks: no offset known (%s); each host's events "
                      "on its own clock%s",
                      t->hosts[TL_DESTINATION] && !strcmp(t->host,
                          t->hosts[TL_DESTINATION])
                      ? "the source's records did not come"
                      : "read on the source: its own records only", eol);
    }
    if (t->src_caught >= 0 || t->dst_received >= 0) {
        ds_put_cstr(s, "drain:");
        if (t->src_caught >= 0) {
            ds_put_format(s, " source caught %lld, relayed %lld, delivered "
                          "there %lld%s", t->src_caught,
                          MAX(t->src_relayed, 0),
                          MAX(t->src_delivered_here, 0),
                          t->dst_received >= 0 ? ";" : "");
        }
        if (t->dst_received >= 0) {
            ds_put_format(s, " destination received %lld, delivered %lld, "
                          "late %lld, dropped %lld", t->dst_received,
                          MAX(t->dst_delivered, 0), MAX(t->dst_late, 0),
                          MAX(t->dst_dropped, 0));
        }
        ds_put_cstr(s, eol);
    }
    if (t->n_pings) {
        size_t first, last;
        ds_put_format(s, "client: %zu pings, %zu lost", t->n_pings,
                      n_lost(t));
        if (timeline_longest_loss(t, &first, &last)) {
            ds_put_format(s, ", longest gap %zu lost from %+.1f ms to "
                          "%+.1f ms", last - first + 1,
                          rel_ms(t, t->pings[first].t_us),
                          rel_ms(t, t->pings[last].t_us));
        }
        ds_put_cstr(s, eol);
    }
}

#define AXIS_COLS 64

/* The column of 't_us' on an axis from 'lo', 'span' wide (computed in
 * double: no overflow, and always a column). */
static int
axis_col(int64_t t_us, int64_t lo, double span)
{
    double c = ((double) t_us - (double) lo) * (AXIS_COLS - 1) / span;

    return !(c >= 0) ? 0 : c > AXIS_COLS - 1 ? AXIS_COLS - 1 : (int) c;
}

/* One line per lane, each event a key letter at its place ('*': two in
 * one column), the client's lost pings 'x'. */
static void
put_axis(struct ds *s, const struct timeline *t, const char *keys)
{
    int64_t lo = t->n_events ? t->events[0].t_us : t->origin_us;
    int64_t hi = t->n_events ? t->events[t->n_events - 1].t_us : lo;
    double span = MAX((double) hi - (double) lo, 1.0);

    ds_put_format(s, "\n%10s %+.1f ms%*s%+.1f ms\n", "",
                  rel_ms(t, lo), AXIS_COLS - 14, "", rel_ms(t, hi));
    for (int lane = 0; lane < TL_N_LANES; lane++) {
        char line[AXIS_COLS + 1];
        bool any = false;

        memset(line, '-', AXIS_COLS);
        line[AXIS_COLS] = '\0';
        for (size_t i = 0; i < t->n_events; i++) {
            const struct tl_event *e = &t->events[i];
            if (e->lane == (enum tl_lane) lane) {
                int c = axis_col(e->t_us, lo, span);
                line[c] = line[c] == '-' ? keys[i] : '*';
                any = true;
            }
        }
        if (lane == TL_CLIENT) {
            for (size_t i = 0; i < t->n_pings; i++) {
                int64_t at = t->pings[i].t_us;
                if (at >= lo && at <= hi) {
                    int c = axis_col(at, lo, span);
                    if (t->pings[i].rtt_us < 0) {
                        line[c] = 'x';
                    } else if (line[c] == '-') {
                        line[c] = '.';
                    }
                    any = true;
                }
            }
        }
        if (any) {
            ds_put_format(s, "%-10.10s |%s|\n", lane_host(t, lane), line);
        }
    }
}

char *
timeline_to_text(const struct timeline *t)
{
    static const char key_chars[] =
        "abcdefghijklmnopqrstuvwyzABCDEFGHIJKLMNOPQRSTUVWYZ0123456789";
    struct ds s = DS_EMPTY_INITIALIZER;
    char *keys = xzalloc(t->n_events + 1);

    ds_put_format(&s, "%s: migration %s, %s -> %s (read on %s)\n", t->vm,
                  t->id, lane_host(t, TL_SOURCE),
                  lane_host(t, TL_DESTINATION), t->host);
    put_summary(&s, t, "\n");
    ds_put_format(&s, "\n%-3s %10s  %-10s %-24s %s\n", "key", "ms", "host",
                  "event", "");
    for (size_t i = 0; i < t->n_events; i++) {
        const struct tl_event *e = &t->events[i];
        keys[i] = i < sizeof key_chars - 1 ? key_chars[i] : '+';
        ds_put_format(&s, "%-3c %+10.3f  %-10.10s %-24s %s\n", keys[i],
                      rel_ms(t, e->t_us), lane_host(t, e->lane), e->name,
                      e->label);
    }
    if (t->n_phases) {
        ds_put_cstr(&s, "\nphases:\n");
    }
    for (size_t i = 0; i < t->n_phases; i++) {
        const struct tl_phase *p = &t->phases[i];
        ds_put_format(&s, "    %+10.3f .. %+10.3f  %-10.10s %-18s %.3f ms\n",
                      rel_ms(t, p->from_us), rel_ms(t, p->to_us),
                      lane_host(t, p->lane), p->name,
                      (p->to_us - p->from_us) / 1000.0);
    }
    put_axis(&s, t, keys);
    ds_put_cstr(&s, "(ms from the pause; x: a lost ping, *: events in one "
                "column)\n");
    free(keys);
    return ds_steal_cstr(&s);
}

/* ---- JSON ---- */

static void
put_counter(struct json *o, const char *name, long long v)
{
    if (v >= 0) {
        json_object_put(o, name, json_integer_create(v));
    }
}

struct json *
timeline_to_json(const struct timeline *t)
{
    struct json *j = json_object_create();
    struct json *events = json_array_create_empty();
    struct json *phases = json_array_create_empty();

    json_object_put_string(j, "vm", t->vm);
    json_object_put_string(j, "id", t->id);
    json_object_put_string(j, "host", t->host);
    json_object_put_string(j, "source", lane_host(t, TL_SOURCE));
    json_object_put_string(j, "destination", lane_host(t, TL_DESTINATION));
    json_object_put(j, "origin_wall_us", json_integer_create(t->origin_us));
    if (t->has_offset) {
        struct json *o = json_object_create();
        json_object_put(o, "offset_us", json_integer_create(t->offset_us));
        json_object_put(o, "bound_us",
                        json_integer_create(t->offset_bound_us));
        json_object_put(o, "round_trips", json_integer_create(t->round_trips));
        json_object_put(j, "clock_offset", o);
    } else {
        json_object_put(j, "clock_offset", json_null_create());
    }
    for (size_t i = 0; i < t->n_events; i++) {
        const struct tl_event *e = &t->events[i];
        struct json *o = json_object_create();
        json_object_put_string(o, "name", e->name);
        json_object_put_string(o, "label", e->label);
        json_object_put_string(o, "host", lane_host(t, e->lane));
        json_object_put_string(o, "role", lane_role[e->lane]);
        json_object_put(o, "t_ms", json_real_create(rel_ms(t, e->t_us)));
        json_object_put(o, "wall_us", json_integer_create(e->t_us));
        json_array_add(events, o);
    }
    for (size_t i = 0; i < t->n_phases; i++) {
        const struct tl_phase *p = &t->phases[i];
        struct json *o = json_object_create();
        json_object_put_string(o, "name", p->name);
        json_object_put_string(o, "host", lane_host(t, p->lane));
        json_object_put(o, "from_ms", json_real_create(rel_ms(t, p->from_us)));
        json_object_put(o, "to_ms", json_real_create(rel_ms(t, p->to_us)));
        json_array_add(phases, o);
    }
    json_object_put(j, "events", events);
    json_object_put(j, "phases", phases);

    struct json *d = json_object_create();
    put_counter(d, "source_caught", t->src_caught);
    put_counter(d, "source_relayed", t->src_relayed);
    put_counter(d, "source_delivered_here", t->src_delivered_here);
    put_counter(d, "received", t->dst_received);
    put_counter(d, "delivered", t->dst_delivered);
    put_counter(d, "late", t->dst_late);
    put_counter(d, "dropped", t->dst_dropped);
    json_object_put(j, "drain", d);
    if (t->ct_delta >= 0) {
        json_object_put(j, "ct_delta", json_integer_create(t->ct_delta));
    }
    if (t->n_pings) {
        struct json *c = json_object_create();
        size_t first, last;
        json_object_put(c, "pings", json_integer_create(t->n_pings));
        json_object_put(c, "lost", json_integer_create(n_lost(t)));
        if (timeline_longest_loss(t, &first, &last)) {
            json_object_put(c, "longest_loss", json_integer_create(
                                last - first + 1));
            json_object_put(c, "longest_loss_from_ms", json_real_create(
                                rel_ms(t, t->pings[first].t_us)));
        }
        json_object_put(j, "client", c);
    }
    return j;
}
