/* Deciding from libvirt's lifecycle events when the source of an outgoing
 * migration paused for the switch-over, left, or runs here again.  See
 * lvwatch.h. */
#include "netmove/hooks/lvwatch.h"

#include <libvirt/libvirt.h>

void
lvw_src_init(struct lvw_src_watch *w)
{
    w->paused = false;
    w->over = false;
    w->late = false;
    w->why = "waiting for the domain's state";
}

static enum lvw_src_action
over(struct lvw_src_watch *w, const char *why, enum lvw_src_action act)
{
    w->over = true;
    w->why = why;
    return act;
}

enum lvw_src_action
lvw_src_start(struct lvw_src_watch *w, int state, int reason,
              enum lvw_job job)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        w->why = job == LVW_JOB_MIGRATION_OUT
                 ? "runs here, source of an outgoing migration"
                 : "runs here: waiting for an outgoing migration";
        return LVW_SRC_WAIT;
    case VIR_DOMAIN_PAUSED:
        if (job == LVW_JOB_MIGRATION_IN) {
            return over(w, "the destination of an incoming migration, not "
                        "a source", LVW_SRC_GIVE_UP);
        }
        if (job == LVW_JOB_MIGRATION_OUT
            && (reason == VIR_DOMAIN_PAUSED_MIGRATION
                || reason == VIR_DOMAIN_PAUSED_POSTCOPY)) {
            w->paused = true;
            w->late = true;
            w->why = "paused for the switch-over already";
            return LVW_SRC_PAUSED;
        }
        w->why = "paused here: waiting for an outgoing migration";
        return LVW_SRC_WAIT;
    default:
        return over(w, "not running", LVW_SRC_GIVE_UP);
    }
}

enum lvw_src_action
lvw_src_event(struct lvw_src_watch *w, int event, int detail)
{
    if (w->over) {
        return LVW_SRC_WAIT;
    }
    switch (event) {
    case VIR_DOMAIN_EVENT_SUSPENDED:
        if (!w->paused && (detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED
                           || detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)) {
            w->paused = true;
            w->late = false;
            w->why = "paused for the switch-over";
            return LVW_SRC_PAUSED;
        }
        return LVW_SRC_WAIT;
    case VIR_DOMAIN_EVENT_RESUMED:
        /* Whatever its detail, the guest runs here again: the migration
         * failed (domjobabort: MIGRATED; a broken transfer: UNPAUSED). */
        if (w->paused) {
            return over(w, "runs here again after the pause: the migration "
                        "failed", LVW_SRC_ABORT);
        }
        return LVW_SRC_WAIT;
    case VIR_DOMAIN_EVENT_STOPPED:
        if (detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED) {
            return over(w, "stopped: migrated away from here", LVW_SRC_LEFT);
        }
        return over(w, "stopped, not migrated", LVW_SRC_GIVE_UP);
    case VIR_DOMAIN_EVENT_CRASHED:
        return over(w, "crashed", LVW_SRC_GIVE_UP);
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return over(w, "undefined", LVW_SRC_GIVE_UP);
    default:
        return LVW_SRC_WAIT;
    }
}
