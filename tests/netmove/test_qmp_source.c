/* Tests netmove/hooks/qmp_source.c: the source's watch ('watch-qmp
 * --source'): paused at the STOP of an outgoing migration, left at its
 * completion, abort at the RESUME of one that failed after the pause; with
 * and without QEMU's MIGRATION events; never for a stop that is no
 * migration's, nor on a destination.  Transcripts as QEMU 7.2 (Debian 12)
 * sends them, fed whole and byte by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"

#include "netmove/hooks/qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, " \
    "\"minor\": 2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, " \
    "\"capabilities\": [\"oob\"]}}\r\n"
#define CAPS_OK "{\"return\": {}, \"id\": \"capabilities\"}\r\n"
#define EVENT(NAME, S, US) "{\"timestamp\": {\"seconds\": " #S ", " \
    "\"microseconds\": " #US "}, \"event\": \"" NAME "\"}\r\n"
#define MIGRATION(ST) "{\"timestamp\": {\"seconds\": 1795748600, " \
    "\"microseconds\": 0}, \"event\": \"MIGRATION\", \"data\": " \
    "{\"status\": \"" ST "\"}}\r\n"
#define STATUS(S) "{\"return\": {\"status\": \"" S "\", \"singlestep\": " \
    "false, \"running\": false}, \"id\": \"status\"}\r\n"
#define MIGRATE(BODY) "{\"return\": " BODY ", \"id\": \"migrate\"}\r\n"
#define RAM "\"ram\": {\"total\": 67641344, \"transferred\": 550467}"
#define SRC(ST) MIGRATE("{\"status\": \"" ST "\", " RAM "}")
#define IDLE MIGRATE("{}")
#define HELLO_RUNNING GREETING CAPS_OK STATUS("running")
#define STOP_AT EVENT("STOP", 1795748616, 476489)
#define STOP_US 1795748616476489LL

/* One step's outcome: the message's index and the action bits. */
struct step {
    int msg;
    unsigned int act;
};

/* Feeds 'text' in chunks of 'chunk' bytes (0: whole) through a reader and
 * the watch 'w'; stores each step that asked something in 'steps' (at most
 * 'max'); returns how many. */
static int
run(const char *text, size_t chunk, struct qmp_src_watch *w,
    struct step *steps, int max)
{
    struct qmp_reader *r = qmp_reader_create();
    size_t len = strlen(text), off = 0;
    int n_msgs = 0, n = 0;

    qmp_src_watch_init(w);
    while (off < len) {
        size_t k = chunk && len - off > chunk ? chunk : len - off;
        const char *p = text + off;

        off += k;
        while (k > 0) {
            struct json *json;
            struct qmp_msg msg;
            char err[128];
            int used = qmp_reader_feed(r, p, k, &json, err, sizeof err);

            assert_true(used >= 0);
            p += used;
            k -= used;
            if (!json) {
                continue;
            }
            assert_int_equal(qmp_msg_parse(json, &msg, err, sizeof err), 0);
            unsigned int act = qmp_src_watch_msg(w, &msg);
            if (act) {
                assert_true(n < max);
                steps[n].msg = n_msgs;
                steps[n].act = act;
                n++;
            }
            n_msgs++;
            json_destroy(json);
        }
    }
    qmp_reader_destroy(r);
    return n;
}

struct src_case {
    const char *name;
    const char *text;
    int n_steps;
    struct step steps[4];
    enum qmp_src_state final;
    long long int paused_usec;
    bool polls;                 /* At the end. */
};

#define PAUSED QMP_SRC_DO_PAUSED
#define LEFT QMP_SRC_DO_LEFT
#define ABORT QMP_SRC_DO_ABORT
#define QUERY QMP_SRC_DO_QUERY
#define GIVE_UP QMP_SRC_DO_GIVE_UP

static const struct src_case cases[] = {
    /* libvirt's way: the events capability, the watch started before the
     * migration.  Messages: 0 greeting, 1 caps, 2 status, 3 migrate. */
    { "precopy with events",
      HELLO_RUNNING IDLE MIGRATION("setup") MIGRATION("active") STOP_AT
      MIGRATION("completed"),
      2, { { 6, PAUSED }, { 7, LEFT } }, QMP_SRC_LEFT, STOP_US, false },
    { "pause-before-switchover, continued",
      HELLO_RUNNING IDLE MIGRATION("setup") MIGRATION("active") STOP_AT
      MIGRATION("pre-switchover") MIGRATION("device") MIGRATION("completed"),
      2, { { 6, PAUSED }, { 9, LEFT } }, QMP_SRC_LEFT, STOP_US, false },
    { "failed after the pause: resumes here",
      HELLO_RUNNING IDLE MIGRATION("active") STOP_AT MIGRATION("failed")
      EVENT("RESUME", 1795748617, 1),
      2, { { 5, PAUSED }, { 7, ABORT } }, QMP_SRC_ABORTED, STOP_US, false },
    { "cancelled at pre-switchover: resumes here",
      HELLO_RUNNING IDLE MIGRATION("active") STOP_AT
      MIGRATION("pre-switchover") MIGRATION("cancelling")
      MIGRATION("cancelled") EVENT("RESUME", 1795748617, 1),
      2, { { 5, PAUSED }, { 9, ABORT } }, QMP_SRC_ABORTED, STOP_US, false },
    { "failed before the pause, then a second migration",
      HELLO_RUNNING IDLE MIGRATION("active") MIGRATION("failed")
      MIGRATION("active") STOP_AT MIGRATION("completed"),
      2, { { 7, PAUSED }, { 8, LEFT } }, QMP_SRC_LEFT, STOP_US, false },
    { "plain stop/cont, events on: nothing asked, nothing called",
      HELLO_RUNNING IDLE MIGRATION("none") STOP_AT
      EVENT("RESUME", 1795748617, 1),
      0, { { 0, 0 } }, QMP_SRC_IDLE, -1, false },
    { "plain stop/cont, no events: asked, nothing called",
      HELLO_RUNNING IDLE STOP_AT IDLE EVENT("RESUME", 1795748617, 1),
      1, { { 4, QUERY } }, QMP_SRC_IDLE, -1, false },
    { "plain stop/cont, the query unanswered yet",
      HELLO_RUNNING IDLE STOP_AT EVENT("RESUME", 1795748617, 1),
      1, { { 4, QUERY } }, QMP_SRC_IDLE, -1, false },
    /* No events capability: the watch knows the migration from its own
     * query, and polls for the outcome. */
    { "no events, started during the precopy",
      HELLO_RUNNING SRC("active") STOP_AT SRC("active") SRC("completed"),
      2, { { 4, PAUSED }, { 6, LEFT } }, QMP_SRC_LEFT, STOP_US, false },
    { "no events, paused and polling",
      HELLO_RUNNING SRC("active") STOP_AT SRC("device"),
      1, { { 4, PAUSED } }, QMP_SRC_PAUSED, STOP_US, true },
    { "no events, failed after the pause",
      HELLO_RUNNING SRC("active") STOP_AT SRC("failed")
      EVENT("RESUME", 1795748617, 1),
      2, { { 4, PAUSED }, { 6, ABORT } }, QMP_SRC_ABORTED, STOP_US, false },
    { "no events, resumed before any poll said so",
      HELLO_RUNNING SRC("active") STOP_AT EVENT("RESUME", 1795748617, 1),
      2, { { 4, PAUSED }, { 5, ABORT } }, QMP_SRC_ABORTED, STOP_US, false },
    { "no events, migration started after the watch: asked at the STOP",
      HELLO_RUNNING IDLE STOP_AT SRC("active") SRC("completed"),
      3, { { 4, QUERY }, { 5, PAUSED }, { 6, LEFT } }, QMP_SRC_LEFT,
      STOP_US, false },
    { "no events, asked at the STOP, completed already",
      HELLO_RUNNING IDLE STOP_AT SRC("completed"),
      2, { { 4, QUERY }, { 5, PAUSED | LEFT } }, QMP_SRC_LEFT, STOP_US,
      false },
    /* Started late, or on the wrong QEMU. */
    { "late: paused for the switch-over already",
      GREETING CAPS_OK STATUS("finish-migrate") SRC("device")
      MIGRATION("completed"),
      2, { { 3, PAUSED }, { 4, LEFT } }, QMP_SRC_LEFT, -1, false },
    { "late: STOP between the answers dates it",
      GREETING CAPS_OK STOP_AT STATUS("finish-migrate") SRC("device"),
      1, { { 4, PAUSED } }, QMP_SRC_PAUSED, STOP_US, true },
    { "late: completed already",
      GREETING CAPS_OK STATUS("postmigrate") SRC("completed"),
      1, { { 3, LEFT } }, QMP_SRC_LEFT, -1, false },
    { "a destination (inmigrate): not a source",
      GREETING CAPS_OK STATUS("inmigrate") IDLE MIGRATION("active")
      EVENT("STOP", 1, 1),
      1, { { 3, GIVE_UP } }, QMP_SRC_GONE, -1, false },
    { "a destination that completed, then migrates out",
      GREETING CAPS_OK STATUS("running")
      MIGRATE("{\"status\": \"completed\"}") STOP_AT
      MIGRATE("{\"status\": \"completed\"}") EVENT("RESUME", 1, 1)
      MIGRATION("active") STOP_AT MIGRATION("completed"),
      3, { { 4, QUERY }, { 8, PAUSED }, { 9, LEFT } }, QMP_SRC_LEFT,
      STOP_US, false },
    { "QEMU shuts down while paused",
      HELLO_RUNNING IDLE MIGRATION("active") STOP_AT EVENT("SHUTDOWN", 2, 2),
      2, { { 5, PAUSED }, { 6, GIVE_UP } }, QMP_SRC_GONE, STOP_US, false },
    { "once: nothing after left",
      HELLO_RUNNING IDLE MIGRATION("active") STOP_AT MIGRATION("completed")
      EVENT("RESUME", 3, 3) EVENT("STOP", 4, 4) EVENT("SHUTDOWN", 5, 5),
      2, { { 5, PAUSED }, { 6, LEFT } }, QMP_SRC_LEFT, STOP_US, false },
};

static void
source_cases(void **state)
{
    static const size_t chunks[] = { 0, 1, 7 };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct src_case *c = &cases[i];

        for (size_t j = 0; j < sizeof chunks / sizeof *chunks; j++) {
            struct qmp_src_watch w;
            struct step steps[8];
            int n = run(c->text, chunks[j], &w, steps, 8);

            print_message("%s (chunk %zu): %d steps, state %d, why %s\n",
                          c->name, chunks[j], n, w.state, w.why);
            assert_int_equal(n, c->n_steps);
            for (int k = 0; k < n; k++) {
                assert_int_equal(steps[k].msg, c->steps[k].msg);
                assert_int_equal(steps[k].act, c->steps[k].act);
            }
            assert_int_equal(w.state, c->final);
            assert_true(w.paused_usec == c->paused_usec);
            assert_int_equal(qmp_src_watch_polls(&w), c->polls);
            assert_non_null(w.why);
        }
    }
}

/* The query the watch sends is one QMP command routed back to it. */
static void
source_query(void **state)
{
    struct json *j = json_from_string(qmp_src_query);

    (void) state;
    assert_int_equal(j->type, JSON_OBJECT);
    assert_string_equal(json_string(shash_find_data(json_object(j),
                                                    "execute")),
                        "query-migrate");
    assert_string_equal(json_string(shash_find_data(json_object(j), "id")),
                        "migrate");
    json_destroy(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(source_cases),
        cmocka_unit_test(source_query),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
