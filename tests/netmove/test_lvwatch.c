/* Tests netmove/hooks/lvwatch.c: which libvirt lifecycle event, in which watch
 * state, calls resume, gives up or is ignored (every event and detail
 * libvirt 9.0 defines, in each state), the state at the start of a watch,
 * and the sequences libvirt 9.0 emitted in the lab (virsh event --all on a
 * 'virsh migrate --live' between two libvirtds, one that failed, a plain
 * suspend/resume). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/* The _LAST values, to check that the table holds every detail. */
#define VIR_ENUM_SENTINELS 1
#include <libvirt/libvirt.h>

#include "netmove/hooks/lvwatch.h"
#include "netmove/hooks/lvwatch-private.h"

#define W LVW_WAIT
#define R LVW_CALL_RESUME
#define G LVW_GIVE_UP

/* Expected action per state: incoming (not yet running), incoming that
 * completed paused ('virsh migrate --paused'), not incoming. */
struct row {
    int event, detail;
    const char *name;
    enum lvw_action incoming, incoming_paused, not_incoming;
};

#define E(EV, DET) VIR_DOMAIN_EVENT_##EV, VIR_DOMAIN_EVENT_##EV##_##DET, \
    #EV " " #DET
static const struct row rows[] = {
    /* The trigger: the guest runs here after the incoming migration. */
    { E(RESUMED, MIGRATED),        R, R, W },  /* not incoming: a source's
                                                * cancelled migration */
    { E(RESUMED, POSTCOPY),        R, R, W },
    { E(RESUMED, POSTCOPY_FAILED), R, R, W },
    /* A plain 'virsh resume': never, except the first run of a domain that
     * came in paused. */
    { E(RESUMED, UNPAUSED),        W, R, W },
    { E(RESUMED, FROM_SNAPSHOT),   W, W, W },
    /* Starts: arm or disarm, never call. */
    { E(STARTED, BOOTED),          W, W, W },
    { E(STARTED, MIGRATED),        W, W, W },
    { E(STARTED, RESTORED),        W, W, W },
    { E(STARTED, FROM_SNAPSHOT),   W, W, W },
    { E(STARTED, WAKEUP),          W, W, W },
    /* Pauses: the source's pause (SUSPENDED MIGRATED) is printed, no
     * more. */
    { E(SUSPENDED, PAUSED),        W, W, W },
    { E(SUSPENDED, MIGRATED),      W, W, W },
    { E(SUSPENDED, IOERROR),       W, W, W },
    { E(SUSPENDED, WATCHDOG),      W, W, W },
    { E(SUSPENDED, RESTORED),      W, W, W },
    { E(SUSPENDED, FROM_SNAPSHOT), W, W, W },
    { E(SUSPENDED, API_ERROR),     W, W, W },
    { E(SUSPENDED, POSTCOPY),      W, W, W },
    { E(SUSPENDED, POSTCOPY_FAILED), W, W, W },
    /* Gone: every stop, a crash, an undefine. */
    { E(STOPPED, SHUTDOWN),        G, G, G },
    { E(STOPPED, DESTROYED),       G, G, G },
    { E(STOPPED, CRASHED),         G, G, G },
    { E(STOPPED, MIGRATED),        G, G, G },
    { E(STOPPED, SAVED),           G, G, G },
    { E(STOPPED, FAILED),          G, G, G },
    { E(STOPPED, FROM_SNAPSHOT),   G, G, G },
    { E(CRASHED, PANICKED),        G, G, G },
    { E(CRASHED, CRASHLOADED),     G, G, G },
    { E(UNDEFINED, REMOVED),       G, G, G },
    { E(UNDEFINED, RENAMED),       G, G, G },
    /* Neither. */
    { E(DEFINED, ADDED),           W, W, W },
    { E(DEFINED, UPDATED),         W, W, W },
    { E(DEFINED, RENAMED),         W, W, W },
    { E(DEFINED, FROM_SNAPSHOT),   W, W, W },
    { E(SHUTDOWN, FINISHED),       W, W, W },
    { E(SHUTDOWN, GUEST),          W, W, W },
    { E(SHUTDOWN, HOST),           W, W, W },
    { E(PMSUSPENDED, MEMORY),      W, W, W },
    { E(PMSUSPENDED, DISK),        W, W, W },
    /* Newer than libvirt 9.0: ignored. */
    { 99, 0, "EVENT(99) DETAIL(0)", W, W, W },
    { VIR_DOMAIN_EVENT_RESUMED, 99, "RESUMED DETAIL(99)", W, W, W },
};

static void
test_decide_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];

        if (lvw_decide(LVW_INCOMING, r->event, r->detail) != r->incoming
            || lvw_decide(LVW_INCOMING_PAUSED, r->event, r->detail)
               != r->incoming_paused
            || lvw_decide(LVW_NOT_INCOMING, r->event, r->detail)
               != r->not_incoming) {
            fail_msg("row %zu (%s): got %d/%d/%d, expected %d/%d/%d", i,
                     r->name,
                     lvw_decide(LVW_INCOMING, r->event, r->detail),
                     lvw_decide(LVW_INCOMING_PAUSED, r->event, r->detail),
                     lvw_decide(LVW_NOT_INCOMING, r->event, r->detail),
                     r->incoming, r->incoming_paused, r->not_incoming);
        }
        assert_string_equal(lvw_event_name(r->event, r->detail), r->name);
    }
}

/* Every event and detail libvirt 9.0 knows is in the table. */
static void
test_table_complete(void **state)
{
    static const int n_details[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = VIR_DOMAIN_EVENT_DEFINED_LAST,
        [VIR_DOMAIN_EVENT_UNDEFINED] = VIR_DOMAIN_EVENT_UNDEFINED_LAST,
        [VIR_DOMAIN_EVENT_STARTED] = VIR_DOMAIN_EVENT_STARTED_LAST,
        [VIR_DOMAIN_EVENT_SUSPENDED] = VIR_DOMAIN_EVENT_SUSPENDED_LAST,
        [VIR_DOMAIN_EVENT_RESUMED] = VIR_DOMAIN_EVENT_RESUMED_LAST,
        [VIR_DOMAIN_EVENT_STOPPED] = VIR_DOMAIN_EVENT_STOPPED_LAST,
        [VIR_DOMAIN_EVENT_SHUTDOWN] = VIR_DOMAIN_EVENT_SHUTDOWN_LAST,
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = VIR_DOMAIN_EVENT_PMSUSPENDED_LAST,
        [VIR_DOMAIN_EVENT_CRASHED] = VIR_DOMAIN_EVENT_CRASHED_LAST,
    };

    (void) state;
    assert_int_equal(sizeof n_details / sizeof n_details[0],
                     VIR_DOMAIN_EVENT_LAST);
    for (int ev = 0; ev < VIR_DOMAIN_EVENT_LAST; ev++) {
        for (int det = 0; det < n_details[ev]; det++) {
            bool found = false;

            for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                found |= rows[i].event == ev && rows[i].detail == det;
            }
            if (!found) {
                fail_msg("%s is not in the table", lvw_event_name(ev, det));
            }
            assert_null(strstr(lvw_event_name(ev, det), "DETAIL("));
        }
    }
}

struct start_row {
    int state, reason;
    enum lvw_job job;
    enum lvw_action action;
    enum lvw_state next;
};

/* The watch's start, from virDomainGetState() and the job. */
static void
test_start(void **state)
{
    static const struct start_row starts[] = {
        /* Destination during the incoming migration, as libvirt 9.0 has it
         * ('virsh domstate --reason': paused (migrating); domjobinfo:
         * "migration statistics are available only on the source host"). */
        { VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
          LVW_JOB_MIGRATION_IN, W, LVW_INCOMING },
        { VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_STARTING_UP,
          LVW_JOB_MIGRATION_IN, W, LVW_INCOMING },
        /* The source, paused for the switch-over (or a non-live
         * migration): also paused (migrating), but its job is outgoing. */
        { VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
          LVW_JOB_MIGRATION_OUT, W, LVW_NOT_INCOMING },
        { VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
          LVW_JOB_UNKNOWN, W, LVW_NOT_INCOMING },
        { VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER,
          LVW_JOB_NONE, W, LVW_NOT_INCOMING },
        /* Started late: already runs after the incoming migration. */
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED,
          LVW_JOB_NONE, R, LVW_RESUMED },
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED,
          LVW_JOB_MIGRATION_IN, R, LVW_RESUMED },
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_POSTCOPY,
          LVW_JOB_MIGRATION_IN, R, LVW_RESUMED },
        /* Came here by migration earlier, now the source of another
         * one (seen in the lab: a watcher on the source called resume). */
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED,
          LVW_JOB_MIGRATION_OUT, W, LVW_NOT_INCOMING },
        { VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
          LVW_JOB_MIGRATION_OUT, W, LVW_NOT_INCOMING },
        /* Runs, not after an incoming migration: never. */
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
          LVW_JOB_NONE, W, LVW_NOT_INCOMING },
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED,
          LVW_JOB_NONE, W, LVW_NOT_INCOMING },
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATION_CANCELED,
          LVW_JOB_NONE, W, LVW_NOT_INCOMING },
        { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
          LVW_JOB_MIGRATION_OUT, W, LVW_NOT_INCOMING },
        /* Not running: nothing to wait for. */
        { VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_FAILED,
          LVW_JOB_NONE, G, LVW_GONE },
        { VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_MIGRATED,
          LVW_JOB_NONE, G, LVW_GONE },
        { VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_PANICKED,
          LVW_JOB_NONE, G, LVW_GONE },
        { VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_SHUTDOWN_USER,
          LVW_JOB_NONE, G, LVW_GONE },
        { VIR_DOMAIN_NOSTATE, 0, LVW_JOB_NONE, G, LVW_GONE },
    };

    (void) state;
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        const struct start_row *s = &starts[i];
        struct lvw_watch w;

        lvw_init(&w);
        assert_int_equal(w.state, LVW_UNKNOWN);
        if (lvw_start(&w, s->state, s->reason, s->job) != s->action
            || w.state != s->next) {
            fail_msg("start %zu (%s, job %d): action %d state %d", i,
                     lvw_state_name(s->state, s->reason), s->job,
                     lvw_start(&w, s->state, s->reason, s->job), w.state);
        }
        assert_true(w.late == (s->action == R));
        assert_non_null(w.why);
    }
}

/* Feeds 'n' events after a start; returns how many times resume was called
 * and stores the last action that was not WAIT. */
static int
feed(struct lvw_watch *w, int state, int reason, enum lvw_job job,
     const int (*events)[2], size_t n, enum lvw_action *last)
{
    enum lvw_action act;
    int calls = 0;

    lvw_init(w);
    *last = W;
    act = lvw_start(w, state, reason, job);
    for (size_t i = 0; ; i++) {
        if (act != W) {
            *last = act;
        }
        calls += act == R;
        if (i == n) {
            return calls;
        }
        act = lvw_event(w, events[i][0], events[i][1]);
    }
}

#define EV(EVT, DET) { VIR_DOMAIN_EVENT_##EVT, VIR_DOMAIN_EVENT_##EVT##_##DET }

static void
test_sequences(void **state)
{
    /* Destination, 'virsh migrate --live' (libvirt 9.0, lab): the watcher
     * starts at the 'started' hook (paused, migrating), then RESUMED
     * MIGRATED (twice, as libvirt may relay QEMU's RESUME and then end
     * its Finish phase), then DEFINED for --persistent: called once. */
    static const int dest[][2] = {
        EV(RESUMED, MIGRATED), EV(RESUMED, MIGRATED), EV(DEFINED, ADDED),
    };
    /* Destination of a failed migration: STOPPED FAILED. */
    static const int dest_failed[][2] = { EV(STOPPED, FAILED),
                                          EV(RESUMED, MIGRATED) };
    /* Source: its pause, then STOPPED MIGRATED; or a cancelled migration
     * that resumes it (RESUMED MIGRATED or UNPAUSED). */
    static const int source_ok[][2] = { EV(SUSPENDED, MIGRATED),
                                        EV(STOPPED, MIGRATED) };
    static const int source_cancel[][2] = { EV(SUSPENDED, MIGRATED),
                                            EV(RESUMED, MIGRATED),
                                            EV(RESUMED, UNPAUSED) };
    /* A plain 'virsh suspend' + 'virsh resume' of a booted domain. */
    static const int plain[][2] = { EV(SUSPENDED, PAUSED),
                                    EV(RESUMED, UNPAUSED) };
    /* Watch started before the destination existed... here: a domain
     * started fresh, then an incoming one is not what a STARTED BOOTED is;
     * STARTED MIGRATED arms. */
    static const int armed[][2] = { EV(STARTED, MIGRATED),
                                    EV(RESUMED, MIGRATED) };
    /* 'virsh migrate --paused': Finish says SUSPENDED PAUSED; the later
     * 'virsh resume' is the first run here. */
    static const int paused[][2] = { EV(SUSPENDED, PAUSED),
                                     EV(RESUMED, UNPAUSED),
                                     EV(RESUMED, UNPAUSED) };
    struct lvw_watch w;
    enum lvw_action last;

    (void) state;
    assert_int_equal(feed(&w, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
                          LVW_JOB_MIGRATION_IN, dest, 3, &last), 1);
    assert_int_equal(last, R);
    assert_int_equal(w.state, LVW_RESUMED);
    assert_false(w.late);

    assert_int_equal(feed(&w, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
                          LVW_JOB_MIGRATION_IN, dest_failed, 2, &last), 0);
    assert_int_equal(last, G);
    assert_int_equal(w.state, LVW_GONE);

    assert_int_equal(feed(&w, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
                          LVW_JOB_MIGRATION_OUT, source_ok, 2, &last), 0);
    assert_int_equal(last, G);
    assert_true(w.source_paused);

    assert_int_equal(feed(&w, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
                          LVW_JOB_MIGRATION_OUT, source_cancel, 3, &last), 0);
    assert_int_equal(last, W);
    assert_true(w.source_paused);
    assert_int_equal(feed(&w, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
                          LVW_JOB_MIGRATION_OUT, source_cancel, 3, &last), 0);

    assert_int_equal(feed(&w, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
                          LVW_JOB_NONE, plain, 2, &last), 0);
    assert_int_equal(last, W);
    assert_int_equal(w.state, LVW_NOT_INCOMING);
    assert_false(w.source_paused);

    assert_int_equal(feed(&w, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                          LVW_JOB_NONE, armed, 2, &last), 0);
    assert_int_equal(last, G);      /* Gone at the start: stays gone. */
    assert_int_equal(feed(&w, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER,
                          LVW_JOB_NONE, armed, 2, &last), 1);

    assert_int_equal(feed(&w, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
                          LVW_JOB_MIGRATION_IN, paused, 3, &last), 1);
    assert_int_equal(w.state, LVW_RESUMED);
    /* ... but a paused domain that was not incoming does not. */
    assert_int_equal(feed(&w, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER,
                          LVW_JOB_NONE, paused, 3, &last), 0);
}

static void
test_names(void **state)
{
    (void) state;
    assert_string_equal(lvw_event_name(VIR_DOMAIN_EVENT_RESUMED,
                                       VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
                        "RESUMED MIGRATED");
    assert_string_equal(lvw_event_name(-1, -1), "EVENT(-1) DETAIL(-1)");
    assert_string_equal(lvw_state_name(VIR_DOMAIN_PAUSED,
                                       VIR_DOMAIN_PAUSED_MIGRATION),
                        "paused MIGRATION");
    assert_string_equal(lvw_state_name(VIR_DOMAIN_RUNNING,
                                       VIR_DOMAIN_RUNNING_MIGRATED),
                        "running MIGRATED");
    assert_string_equal(lvw_state_name(VIR_DOMAIN_SHUTOFF, 1),
                        "shutoff reason(1)");
    assert_string_equal(lvw_state_name(42, 7), "state(42) reason(7)");
}

/* --source: the sequences a source's libvirtd sends (libvirt 9.0, seen in
 * the lab: tests/lab/hook_watch_libvirt.sh), and what the watch calls. */
#define SP LVW_SRC_PAUSED
#define SL LVW_SRC_LEFT
#define SA LVW_SRC_ABORT
#define SG LVW_SRC_GIVE_UP
#define SW LVW_SRC_WAIT
static void
test_source(void **state)
{
    static const struct {
        const char *name;
        int state, reason;
        enum lvw_job job;
        enum lvw_src_action start;
        int events[4][2];
        enum lvw_src_action acts[4];
        size_t n;
    } cases[] = {
        { "migrated", VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
          LVW_JOB_NONE, SW,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED },
            { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED },
            { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED } },
          { SP, SL, SW }, 3 },
        { "domjobabort after the pause", VIR_DOMAIN_RUNNING,
          VIR_DOMAIN_RUNNING_MIGRATED, LVW_JOB_MIGRATION_OUT, SW,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED },
            { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED },
            { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED } },
          { SP, SA, SW }, 3 },
        { "broken transfer: RESUMED UNPAUSED", VIR_DOMAIN_RUNNING,
          VIR_DOMAIN_RUNNING_BOOTED, LVW_JOB_MIGRATION_OUT, SW,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED },
            { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED } },
          { SP, SA }, 2 },
        { "plain suspend/resume: nothing", VIR_DOMAIN_RUNNING,
          VIR_DOMAIN_RUNNING_BOOTED, LVW_JOB_NONE, SW,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED },
            { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED },
            { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN } },
          { SW, SW, SG }, 3 },
        { "post-copy", VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED,
          LVW_JOB_MIGRATION_OUT, SW,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY },
            { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED },
            { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED } },
          { SP, SW, SL }, 3 },
        { "late: paused for the switch-over", VIR_DOMAIN_PAUSED,
          VIR_DOMAIN_PAUSED_MIGRATION, LVW_JOB_MIGRATION_OUT, SP,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED },
            { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED } },
          { SW, SL }, 2 },
        { "a destination", VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION,
          LVW_JOB_MIGRATION_IN, SG,
          { { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED } },
          { SW }, 1 },
        { "crashed while paused", VIR_DOMAIN_RUNNING,
          VIR_DOMAIN_RUNNING_BOOTED, LVW_JOB_NONE, SW,
          { { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED },
            { VIR_DOMAIN_EVENT_CRASHED, 0 },
            { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED } },
          { SP, SG, SW }, 3 },
        { "shut off", VIR_DOMAIN_SHUTOFF, 0, LVW_JOB_NONE, SG, { { 0 } },
          { SW }, 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct lvw_src_watch w;

        lvw_src_init(&w);
        print_message("%s\n", cases[i].name);
        assert_int_equal(lvw_src_start(&w, cases[i].state, cases[i].reason,
                                       cases[i].job), cases[i].start);
        for (size_t k = 0; k < cases[i].n; k++) {
            assert_int_equal(lvw_src_event(&w, cases[i].events[k][0],
                                           cases[i].events[k][1]),
                             cases[i].acts[k]);
            assert_non_null(w.why);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_table),
        cmocka_unit_test(test_table_complete),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_source),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
