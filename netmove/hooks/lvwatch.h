/* libvirt's domain lifecycle events, the part a resume hook needs:
 * deciding, from a domain's state when the watch begins and the lifecycle
 * events that follow, when it runs here after an incoming migration.
 *
 * Pure: no I/O and no libvirt calls; states, reasons, events and details
 * are libvirt's own numbers (virDomainState, virDomain*Reason,
 * virDomainEventType, virDomainEvent*DetailType).  The CLI ('netmove
 * watch-libvirt', watch_libvirt.c) talks to libvirtd and feeds them here;
 * the tests feed tables. */
#ifndef NETMOVE_LVWATCH_H
#define NETMOVE_LVWATCH_H 1

#include <stdbool.h>

/* What the domain's current job says (virDomainGetJobStats). */
enum lvw_job {
    LVW_JOB_UNKNOWN,            /* Not asked, or libvirt could not say. */
    LVW_JOB_NONE,               /* No job, or one that is no migration. */
    LVW_JOB_MIGRATION_IN,       /* Destination of an incoming migration
                                 * (libvirt 9.0 refuses the statistics
                                 * there: "available only on the source
                                 * host"; that refusal counts as this). */
    LVW_JOB_MIGRATION_OUT,      /* Source of an outgoing migration. */
};

/* What the watcher knows about the domain. */
enum lvw_state {
    LVW_UNKNOWN,                /* lvw_start() not called yet. */
    LVW_INCOMING,               /* Destination of an incoming migration,
                                 * not yet running: the next RESUMED
                                 * MIGRATED (or POSTCOPY) is it. */
    LVW_INCOMING_PAUSED,        /* The migration completed, the domain
                                 * paused here ('virsh migrate --paused'):
                                 * its first RESUMED of any kind is it. */
    LVW_NOT_INCOMING,           /* Started otherwise: RESUMEDs ignored. */
    LVW_RESUMED,                /* Runs here after the incoming migration:
                                 * resume was due. */
    LVW_GONE,                   /* Stopped, crashed, undefined, or the
                                 * migration failed: no resume here. */
};

/* What the caller must do after a step. */
enum lvw_action {
    LVW_WAIT,                   /* Nothing yet: keep following events. */
    LVW_CALL_RESUME,            /* Call resume now (once). */
    LVW_GIVE_UP,                /* The domain will not run here after an
                                 * incoming migration. */
};

struct lvw_watch {
    enum lvw_state state;
    const char *why;            /* A short reason for 'state', static. */
    bool late;                  /* LVW_RESUMED: already running when the
                                 * watch began (no event to date it). */
    bool source_paused;         /* A SUSPENDED MIGRATED came: this is the
                                 * source, paused for the switch-over. */
};

/* Starts a watch (state LVW_UNKNOWN). */
void lvw_init(struct lvw_watch *w);

/* Feeds the domain's state when the watch begins: 'state' and 'reason' from
 * virDomainGetState(), 'job' from its job statistics.  Call after
 * registering for events, so that none is lost between. */
enum lvw_action lvw_start(struct lvw_watch *w, int state, int reason,
                          enum lvw_job job);

/* Feeds a lifecycle event ('event' a virDomainEventType, 'detail' its
 * detail) of the watched domain. */
enum lvw_action lvw_event(struct lvw_watch *w, int event, int detail);

/* "RESUMED MIGRATED": names of 'event' and its 'detail' as virsh prints
 * them, upper case ("EVENT(7) DETAIL(3)" for numbers libvirt 9.0 does not
 * know).  Returns a pointer to a static buffer, overwritten by the next
 * call. */
const char *lvw_event_name(int event, int detail);

/* "paused MIGRATION": the names of a domain 'state' and its 'reason'.
 * Static buffer, as lvw_event_name(). */
const char *lvw_state_name(int state, int reason);

/* ---- The source (watch-libvirt --source) ----
 *
 * libvirt's source of an outgoing migration says SUSPENDED MIGRATED when
 * the guest pauses for the switch-over (SUSPENDED POSTCOPY when post-copy
 * starts), STOPPED MIGRATED when it left, and RESUMED (MIGRATED after
 * 'virsh domjobabort', UNPAUSED after a broken transfer, POSTCOPY_FAILED)
 * when a failed migration runs it here again. */

/* What the caller must do after a step. */
enum lvw_src_action {
    LVW_SRC_WAIT,               /* Nothing yet. */
    LVW_SRC_PAUSED,             /* Call paused; keep following. */
    LVW_SRC_LEFT,               /* Call left; over. */
    LVW_SRC_ABORT,              /* Call abort (runs here again); over. */
    LVW_SRC_GIVE_UP,            /* Over: nothing (more) to call. */
};

struct lvw_src_watch {
    bool paused;                /* Paused for a switch-over: paused due. */
    bool over;                  /* Left, aborted or gone: once. */
    bool late;                  /* Paused already when the watch began. */
    const char *why;            /* A short reason, static. */
};

/* Starts a source watch. */
void lvw_src_init(struct lvw_src_watch *w);

/* Feeds the domain's state when the watch begins (as lvw_start()). */
enum lvw_src_action lvw_src_start(struct lvw_src_watch *w, int state,
                                  int reason, enum lvw_job job);

/* Feeds a lifecycle event of the watched domain. */
enum lvw_src_action lvw_src_event(struct lvw_src_watch *w, int event,
                                  int detail);

#endif /* netmove/hooks/lvwatch.h */
