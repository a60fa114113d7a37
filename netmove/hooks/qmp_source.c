/* QMP on the source of a migration: the pause for the switch-over (STOP),
 * the migration's end (MIGRATION completed: left), and a failure after the
 * pause (RESUME here: abort).  See qmp.h. */
#include "netmove/hooks/qmp.h"

#include <string.h>

#include "openvswitch/json.h"
#include "util.h"
#include "netmove/common/json.h"

#define NO_STOP (-2)

const char qmp_src_query[] =
    "{\"execute\": \"query-migrate\", \"id\": \"migrate\"}\n";

void
qmp_src_watch_init(struct qmp_src_watch *w)
{
    memset(w, 0, sizeof *w);
    w->state = QMP_SRC_UNKNOWN;
    w->why = "waiting for query-status and query-migrate";
    w->paused_usec = -1;
    w->stop_usec_ = NO_STOP;
}

bool
qmp_src_watch_polls(const struct qmp_src_watch *w)
{
    return w->state == QMP_SRC_PAUSED && !w->events_;
}

/* QEMU's MigrationStatus values, as static strings ("other" for values
 * newer than us). */
static const char *
known_status(const char *s)
{
    static const char *const names[] = {
        "none", "setup", "cancelling", "cancelled", "active",
        "postcopy-active", "postcopy-paused", "postcopy-recover",
        "completed", "failed", "colo", "pre-switchover", "device",
        "wait-unplug",
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (!strcmp(s, names[i])) {
            return names[i];
        }
    }
    return "other";
}

/* A migration is under way: the VM may stop for its switch-over.
 * "cancelling" too: the VM may have stopped already. */
static bool
in_flight(const char *st)
{
    return st && (!strcmp(st, "setup") || !strcmp(st, "active")
                  || !strcmp(st, "pre-switchover") || !strcmp(st, "device")
                  || !strcmp(st, "wait-unplug") || !strcmp(st, "cancelling")
                  || !strncmp(st, "postcopy-", 9));
}

static bool
ended_badly(const char *st)
{
    return st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"));
}

static unsigned int
set(struct qmp_src_watch *w, enum qmp_src_state state, const char *why,
    unsigned int act)
{
    w->state = state;
    w->why = why;
    return act;
}

/* Paused for the switch-over at 'usec' (-1: undated). */
static unsigned int
paused(struct qmp_src_watch *w, long long int usec, const char *why)
{
    w->paused_usec = usec;
    return set(w, QMP_SRC_PAUSED, why, QMP_SRC_DO_PAUSED);
}

/* Both answers are in (and whatever events came between): where is the
 * outgoing migration? */
static unsigned int
decide(struct qmp_src_watch *w)
{
    const char *rs = w->runstate_, *st = w->migrate_;

    if (w->state != QMP_SRC_UNKNOWN || !rs || !st) {
        return 0;
    }
    if (!strcmp(rs, "inmigrate")) {
        return set(w, QMP_SRC_GONE, "the destination of an incoming "
                   "migration, not a source", QMP_SRC_DO_GIVE_UP);
    }
    if (in_flight(st)) {
        if (!strcmp(rs, "running")) {
            return set(w, QMP_SRC_MIGRATING, "outgoing migration in flight",
                       0);
        }
        /* Stopped already (finish-migrate: the switch-over; paused).  A
         * STOP seen while the answers came dates it. */
        w->late = w->stop_usec_ == NO_STOP;
        return paused(w, w->late ? -1 : w->stop_usec_,
                      "paused for the switch-over");
    }
    if (!strcmp(st, "completed") && w->ram_) {
        w->late = true;
        return set(w, QMP_SRC_LEFT, "the outgoing migration completed "
                   "before the watch began", QMP_SRC_DO_LEFT);
    }
    /* none, failed, cancelled, or an incoming migration that completed
     * (no RAM figures): a later migration is ours. */
    return set(w, QMP_SRC_IDLE, "no outgoing migration in flight", 0);
}

/* A new migration status, from an event or query-migrate. */
static unsigned int
status_step(struct qmp_src_watch *w, const char *st)
{
    switch (w->state) {
    case QMP_SRC_UNKNOWN:
        return decide(w);
    case QMP_SRC_IDLE:
        return in_flight(st) ? set(w, QMP_SRC_MIGRATING,
                                   "outgoing migration in flight", 0) : 0;
    case QMP_SRC_MIGRATING:
        if (!strcmp(st, "completed")) {
            /* The VM was paused before the migration: no STOP came. */
            return set(w, QMP_SRC_LEFT, "the outgoing migration completed",
                       QMP_SRC_DO_LEFT);
        } else if (ended_badly(st)) {
            return set(w, QMP_SRC_IDLE, "the outgoing migration failed "
                       "before the pause", 0);
        }
        return 0;
    case QMP_SRC_STOPPING:
        /* The answer to the query sent at the STOP ("completed" without
         * RAM figures is an earlier incoming migration's). */
        if (in_flight(st) || (!strcmp(st, "completed") && w->ram_)) {
            unsigned int act = paused(w, w->stop_usec_ == NO_STOP
                                         ? -1 : w->stop_usec_,
                                      "paused for the switch-over");
            return strcmp(st, "completed")
                   ? act : act | set(w, QMP_SRC_LEFT, "the outgoing "
                                     "migration completed", QMP_SRC_DO_LEFT);
        }
        return set(w, QMP_SRC_IDLE, "a stop, not for a migration", 0);
    case QMP_SRC_PAUSED:
        if (!strcmp(st, "completed")) {
            return set(w, QMP_SRC_LEFT, "the outgoing migration completed",
                       QMP_SRC_DO_LEFT);
        } else if (ended_badly(st)) {
            return set(w, QMP_SRC_FAILED, "the outgoing migration failed "
                       "after the pause", 0);
        }
        return 0;
    case QMP_SRC_FAILED:
    case QMP_SRC_LEFT:
    case QMP_SRC_ABORTED:
    case QMP_SRC_GONE:
    default:
        return 0;
    }
}

static unsigned int
src_event(struct qmp_src_watch *w, const struct qmp_msg *ev)
{
    const char *name = ev->event;

    if (!strcmp(name, "MIGRATION")) {
        const struct json *st = ev->value
            ? nm_json_member_type(ev->value, "status", JSON_STRING) : NULL;

        if (!st) {
            return 0;
        }
        w->events_ = true;
        w->migrate_ = known_status(json_string(st));
        if (w->state == QMP_SRC_UNKNOWN) {
            /* Only a source sends MIGRATION events while not inmigrate. */
            w->ram_ = true;
        }
        return status_step(w, w->migrate_);
    } else if (!strcmp(name, "STOP")) {
        w->stop_usec_ = ev->usec;
        if (w->state == QMP_SRC_MIGRATING) {
            /* The migration is known in flight: the stop is its switch-over
             * (an operator's 'stop' during it is taken as such).  No
             * question to QEMU: its migration thread holds QEMU's lock
             * through the stop-and-copy, which would delay the answer. */
            return paused(w, ev->usec, "paused for the switch-over");
        } else if (w->state == QMP_SRC_IDLE && !w->events_) {
            /* A migration started after our query may be what stopped it:
             * ask (answered once QEMU's migration thread lets go). */
            return set(w, QMP_SRC_STOPPING, "stopped: is a migration in "
                       "flight?", QMP_SRC_DO_QUERY);
        }
        return 0;
    } else if (!strcmp(name, "RESUME")) {
        w->stop_usec_ = NO_STOP;
        if (w->state == QMP_SRC_PAUSED || w->state == QMP_SRC_FAILED) {
            return set(w, QMP_SRC_ABORTED, "runs here again after the "
                       "pause: the migration failed", QMP_SRC_DO_ABORT);
        } else if (w->state == QMP_SRC_STOPPING) {
            return set(w, QMP_SRC_IDLE, "a stop and a resume, no "
                       "migration's", 0);
        }
        return 0;
    } else if (!strcmp(name, "SHUTDOWN")) {
        if (w->state == QMP_SRC_LEFT || w->state == QMP_SRC_ABORTED
            || w->state == QMP_SRC_GONE) {
            return 0;
        }
        return set(w, QMP_SRC_GONE, w->state == QMP_SRC_PAUSED
                   ? "QEMU shut down, the migration's outcome unknown"
                   : "QEMU shut down", QMP_SRC_DO_GIVE_UP);
    }
    return 0;
}

unsigned int
qmp_src_watch_msg(struct qmp_src_watch *w, const struct qmp_msg *msg)
{
    if (w->state == QMP_SRC_LEFT || w->state == QMP_SRC_ABORTED
        || w->state == QMP_SRC_GONE) {
        return 0;               /* Decided already: once. */
    }
    if (msg->type == QMP_MSG_EVENT) {
        return src_event(w, msg);
    } else if (msg->type != QMP_MSG_RETURN || !msg->id || !msg->value) {
        return 0;
    } else if (!strcmp(msg->id, "status")) {
        const struct json *st = nm_json_member_type(msg->value, "status",
                                                    JSON_STRING);

        if (w->state != QMP_SRC_UNKNOWN || !st) {
            return 0;
        }
        /* Only three kinds of run state matter: keep a static copy. */
        w->runstate_ = !strcmp(json_string(st), "inmigrate") ? "inmigrate"
                       : !strcmp(json_string(st), "running") ? "running"
                       : "stopped";
        return decide(w);
    } else if (!strcmp(msg->id, "migrate")) {
        const struct json *st = nm_json_member_type(msg->value, "status",
                                                    JSON_STRING);

        w->migrate_ = st ? known_status(json_string(st)) : "none";
        w->ram_ = nm_json_member_type(msg->value, "ram", JSON_OBJECT);
        return status_step(w, w->migrate_);
    }
    return 0;
}
