/* Deciding from libvirt's lifecycle events when a domain runs here after an
 * incoming migration.  See lvwatch.h. */
#include "netmove/hooks/lvwatch.h"
#include "netmove/hooks/lvwatch-private.h"

#include <stdio.h>

#include <libvirt/libvirt.h>

#include "util.h"

void
lvw_init(struct lvw_watch *w)
{
    w->state = LVW_UNKNOWN;
    w->why = "waiting for the domain's state";
    w->late = false;
    w->source_paused = false;
}

/* ---- names, as virsh prints them ---- */

static const char *const event_names[] = {
    [VIR_DOMAIN_EVENT_DEFINED] = "DEFINED",
    [VIR_DOMAIN_EVENT_UNDEFINED] = "UNDEFINED",
    [VIR_DOMAIN_EVENT_STARTED] = "STARTED",
    [VIR_DOMAIN_EVENT_SUSPENDED] = "SUSPENDED",
    [VIR_DOMAIN_EVENT_RESUMED] = "RESUMED",
    [VIR_DOMAIN_EVENT_STOPPED] = "STOPPED",
    [VIR_DOMAIN_EVENT_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_EVENT_PMSUSPENDED] = "PMSUSPENDED",
    [VIR_DOMAIN_EVENT_CRASHED] = "CRASHED",
};

static const char *const started_names[] = {
    "BOOTED", "MIGRATED", "RESTORED", "FROM_SNAPSHOT", "WAKEUP",
};
static const char *const suspended_names[] = {
    "PAUSED", "MIGRATED", "IOERROR", "WATCHDOG", "RESTORED",
    "FROM_SNAPSHOT", "API_ERROR", "POSTCOPY", "POSTCOPY_FAILED",
};
static const char *const resumed_names[] = {
    "UNPAUSED", "MIGRATED", "FROM_SNAPSHOT", "POSTCOPY", "POSTCOPY_FAILED",
};
static const char *const stopped_names[] = {
    "SHUTDOWN", "DESTROYED", "CRASHED", "MIGRATED", "SAVED", "FAILED",
    "FROM_SNAPSHOT",
};
static const char *const defined_names[] = {
    "ADDED", "UPDATED", "RENAMED", "FROM_SNAPSHOT",
};
static const char *const undefined_names[] = { "REMOVED", "RENAMED" };
static const char *const shutdown_names[] = { "FINISHED", "GUEST", "HOST" };
static const char *const pmsuspended_names[] = { "MEMORY", "DISK" };
static const char *const crashed_names[] = { "PANICKED", "CRASHLOADED" };

#define NAMES(A) { A, ARRAY_SIZE(A) }
static const struct {
    const char *const *names;
    size_t n;
} detail_names[] = {
    [VIR_DOMAIN_EVENT_DEFINED] = NAMES(defined_names),
    [VIR_DOMAIN_EVENT_UNDEFINED] = NAMES(undefined_names),
    [VIR_DOMAIN_EVENT_STARTED] = NAMES(started_names),
    [VIR_DOMAIN_EVENT_SUSPENDED] = NAMES(suspended_names),
    [VIR_DOMAIN_EVENT_RESUMED] = NAMES(resumed_names),
    [VIR_DOMAIN_EVENT_STOPPED] = NAMES(stopped_names),
    [VIR_DOMAIN_EVENT_SHUTDOWN] = NAMES(shutdown_names),
    [VIR_DOMAIN_EVENT_PMSUSPENDED] = NAMES(pmsuspended_names),
    [VIR_DOMAIN_EVENT_CRASHED] = NAMES(crashed_names),
};

static const char *const state_names[] = {
    "nostate", "running", "blocked", "paused", "shutdown", "shutoff",
    "crashed", "pmsuspended",
};
static const char *const running_reasons[] = {
    "UNKNOWN", "BOOTED", "MIGRATED", "RESTORED", "FROM_SNAPSHOT", "UNPAUSED",
    "MIGRATION_CANCELED", "SAVE_CANCELED", "WAKEUP", "CRASHED", "POSTCOPY",
    "POSTCOPY_FAILED",
};
static const char *const paused_reasons[] = {
    "UNKNOWN", "USER", "MIGRATION", "SAVE", "DUMP", "IOERROR", "WATCHDOG",
    "FROM_SNAPSHOT", "SHUTTING_DOWN", "SNAPSHOT", "CRASHED", "STARTING_UP",
    "POSTCOPY", "POSTCOPY_FAILED",
};

const char *
lvw_event_name(int event, int detail)
{
    static char buf[64];
    char ev[24], det[24];

    if (event >= 0 && (size_t) event < ARRAY_SIZE(event_names)
        && event_names[event]) {
        snprintf(ev, sizeof ev, "%s", event_names[event]);
        if (detail >= 0 && (size_t) detail < detail_names[event].n) {
            snprintf(det, sizeof det, "%s", detail_names[event].names[detail]);
        } else {
            snprintf(det, sizeof det, "DETAIL(%d)", detail);
        }
    } else {
        snprintf(ev, sizeof ev, "EVENT(%d)", event);
        snprintf(det, sizeof det, "DETAIL(%d)", detail);
    }
    snprintf(buf, sizeof buf, "%s %s", ev, det);
    return buf;
}

const char *
lvw_state_name(int state, int reason)
{
    static char buf[64];
    const char *const *reasons = NULL;
    size_t n = 0;

    if (state == VIR_DOMAIN_RUNNING) {
        reasons = running_reasons;
        n = ARRAY_SIZE(running_reasons);
    } else if (state == VIR_DOMAIN_PAUSED) {
        reasons = paused_reasons;
        n = ARRAY_SIZE(paused_reasons);
    }
    if (state < 0 || (size_t) state >= ARRAY_SIZE(state_names)) {
        snprintf(buf, sizeof buf, "state(%d) reason(%d)", state, reason);
    } else if (reason >= 0 && (size_t) reason < n) {
        snprintf(buf, sizeof buf, "%s %s", state_names[state],
                 reasons[reason]);
    } else {
        snprintf(buf, sizeof buf, "%s reason(%d)", state_names[state],
                 reason);
    }
    return buf;
}

/* ---- the decision ---- */

/* The guest's CPUs run here, started by the end of an incoming migration:
 * libvirt's destination emits RESUMED MIGRATED (QEMU's RESUME relayed, and
 * again when its Finish phase completes), RESUMED POSTCOPY when it runs
 * while pages still arrive, RESUMED POSTCOPY_FAILED if it runs on after a
 * failed post-copy.  A source whose outgoing migration is cancelled may
 * also say RESUMED MIGRATED (reason MIGRATION_CANCELED): only an incoming
 * watch takes it. */
static bool
resumed_by_migration(int detail)
{
    return detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED
           || detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY
           || detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED;
}

/* One step: the action for 'event'/'detail' in 'state', and the next state
 * and its reason. */
static enum lvw_action
step(enum lvw_state state, int event, int detail,
     enum lvw_state *next, const char **why)
{
    bool incoming = state == LVW_INCOMING || state == LVW_INCOMING_PAUSED;

    *next = state;
    switch (event) {
    case VIR_DOMAIN_EVENT_RESUMED:
        if ((incoming && resumed_by_migration(detail))
            || (state == LVW_INCOMING_PAUSED
                && detail == VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)) {
            *next = LVW_RESUMED;
            *why = "runs here after the incoming migration";
            return LVW_CALL_RESUME;
        }
        return LVW_WAIT;
    case VIR_DOMAIN_EVENT_STARTED:
        if (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED) {
            *next = LVW_INCOMING;
            *why = "started for an incoming migration";
        } else {
            *next = LVW_NOT_INCOMING;
            *why = "started, not by an incoming migration";
        }
        return LVW_WAIT;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        /* The destination's Finish leaves a 'virsh migrate --paused'
         * domain paused and says SUSPENDED PAUSED: the migration is over,
         * the first unpause runs the guest here. */
        if (state == LVW_INCOMING
            && detail == VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) {
            *next = LVW_INCOMING_PAUSED;
            *why = "the incoming migration completed, the domain paused here";
        }
        return LVW_WAIT;
    case VIR_DOMAIN_EVENT_STOPPED:
        *next = LVW_GONE;
        *why = detail == VIR_DOMAIN_EVENT_STOPPED_FAILED
               ? "stopped: the migration (or QEMU) failed"
               : detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED
               ? "stopped: migrated away from here" : "stopped";
        return LVW_GIVE_UP;
    case VIR_DOMAIN_EVENT_CRASHED:
        *next = LVW_GONE;
        *why = "crashed";
        return LVW_GIVE_UP;
    case VIR_DOMAIN_EVENT_UNDEFINED:
        *next = LVW_GONE;
        *why = "undefined";
        return LVW_GIVE_UP;
    default:
        /* DEFINED (the destination makes a persistent domain at Finish),
         * SHUTDOWN (STOPPED follows), PMSUSPENDED, events newer than us. */
        return LVW_WAIT;
    }
}

enum lvw_action
lvw_decide(enum lvw_state state, int event, int detail)
{
    enum lvw_state next;
    const char *why;

    return step(state, event, detail, &next, &why);
}

enum lvw_action
lvw_event(struct lvw_watch *w, int event, int detail)
{
    enum lvw_action act;

    if (w->state == LVW_RESUMED || w->state == LVW_GONE) {
        return LVW_WAIT;        /* Decided already: once. */
    }
    if (event == VIR_DOMAIN_EVENT_SUSPENDED
        && detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED) {
        w->source_paused = true;
    }
    act = step(w->state, event, detail, &w->state, &w->why);
    w->late = false;
    return act;
}

enum lvw_action
lvw_start(struct lvw_watch *w, int state, int reason, enum lvw_job job)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        /* A domain that came here by migration keeps the reason
         * MIGRATED until it pauses: on its way out again (job outgoing)
         * this host is the source. */
        if ((reason == VIR_DOMAIN_RUNNING_MIGRATED
             || reason == VIR_DOMAIN_RUNNING_POSTCOPY
             || reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED)
            && job != LVW_JOB_MIGRATION_OUT) {
            w->state = LVW_RESUMED;
            w->late = true;
            w->why = "already runs here after an incoming migration";
            return LVW_CALL_RESUME;
        }
        w->state = LVW_NOT_INCOMING;
        w->why = job == LVW_JOB_MIGRATION_OUT
                 ? "runs here, source of an outgoing migration"
                 : "runs here, not after an incoming migration";
        return LVW_WAIT;
    case VIR_DOMAIN_PAUSED:
        if (job == LVW_JOB_MIGRATION_IN) {
            w->state = LVW_INCOMING;
            w->why = "waiting for the incoming migration";
        } else {
            w->state = LVW_NOT_INCOMING;
            w->why = job == LVW_JOB_MIGRATION_OUT
                     ? "paused here, source of an outgoing migration"
                     : "paused here, no incoming migration";
        }
        return LVW_WAIT;
    default:
        /* Shut off, shutting down, crashed, suspended to memory, no state. */
        w->state = LVW_GONE;
        w->why = "not running";
        return LVW_GIVE_UP;
    }
}
