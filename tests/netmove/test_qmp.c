/* Tests netmove/hooks/qmp.c: QMP messages out of byte streams (whole, byte by
 * byte, in odd chunks), their classification, and the watch that decides
 * when a VM resumed after an incoming migration, on transcripts recorded
 * from QEMU 7.2 (Debian 12) and on the cases that must never trigger. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "openvswitch/json.h"

#include "netmove/hooks/qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, " \
    "\"minor\": 2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, " \
    "\"capabilities\": [\"oob\"]}}\r\n"
#define CAPS_OK "{\"return\": {}, \"id\": \"capabilities\"}\r\n"
#define EVENT(NAME, S, US) "{\"timestamp\": {\"seconds\": " #S ", " \
    "\"microseconds\": " #US "}, \"event\": \"" NAME "\"}\r\n"
#define MIGRATION(S, ST) "{\"timestamp\": {\"seconds\": " #S ", " \
    "\"microseconds\": 0}, \"event\": \"MIGRATION\", \"data\": " \
    "{\"status\": \"" ST "\"}}\r\n"
#define STATUS(S) "{\"return\": {\"status\": \"" S "\", \"singlestep\": " \
    "false, \"running\": false}, \"id\": \"status\"}\r\n"
#define MIGRATE(BODY) "{\"return\": " BODY ", \"id\": \"migrate\"}\r\n"
#define SOURCE_RAM "\"ram\": {\"total\": 67641344, \"transferred\": 550467}"

/* The destination of a migration (QEMU -incoming unix:...), as QEMU sent it
 * to 'netmove watch-qmp': greeting, answers, then the RESUME when the
 * migration completed. */
static const char dest_transcript[] =
    GREETING CAPS_OK STATUS("inmigrate")
    MIGRATE("{\"socket-address\": [{\"path\": \"/tmp/m.sock\", "
            "\"type\": \"unix\"}]}")
    EVENT("RESUME", 1795748616, 476489);

/* Feeds 'text' in chunks of 'chunk' bytes (0: all at once) through a
 * reader and the watch; returns the number of messages, stores the last
 * action that was not WAIT and how many there were. */
static int
run(const char *text, size_t chunk, struct qmp_watch *w,
    enum qmp_watch_action *last, int *n_actions)
{
    struct qmp_reader *r = qmp_reader_create();
    size_t len = strlen(text), off = 0;
    int n_msgs = 0;

    qmp_watch_init(w);
    *last = QMP_WATCH_WAIT;
    *n_actions = 0;
    while (off < len) {
        size_t n = chunk && len - off > chunk ? chunk : len - off;
        const char *p = text + off;

        off += n;
        while (n > 0) {
            struct json *json;
            struct qmp_msg msg;
            char err[128];
            int used = qmp_reader_feed(r, p, n, &json, err, sizeof err);

            assert_true(used >= 0);
            p += used;
            n -= used;
            if (!json) {
                continue;
            }
            n_msgs++;
            assert_int_equal(qmp_msg_parse(json, &msg, err, sizeof err), 0);
            enum qmp_watch_action a = qmp_watch_msg(w, &msg);
            if (a != QMP_WATCH_WAIT) {
                *last = a;
                ++*n_actions;
            }
            json_destroy(json);
        }
    }
    qmp_reader_destroy(r);
    return n_msgs;
}

static void
stream_chunks(void **state)
{
    static const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 100 };

    (void) state;
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        struct qmp_watch w;
        enum qmp_watch_action last;
        int n;

        assert_int_equal(run(dest_transcript, chunks[i], &w, &last, &n), 5);
        assert_int_equal(last, QMP_WATCH_CALL_RESUME);
        assert_int_equal(n, 1);
        assert_int_equal(w.state, QMP_WATCH_RESUMED);
        assert_true(w.resume_usec == 1795748616476489LL);
    }
}

static void
stream_errors(void **state)
{
    struct qmp_reader *r = qmp_reader_create();
    struct json *json;
    char err[128];
    char *big;

    (void) state;
    assert_int_equal(qmp_reader_feed(r, "{\"a\": tru}", 10, &json, err,
                                     sizeof err), -EPROTO);
    assert_null(json);
    assert_non_null(strstr(err, "QMP stream"));
    qmp_reader_destroy(r);

    /* An endless string is not QEMU's: refused past 4 MiB. */
    r = qmp_reader_create();
    big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    assert_int_equal(qmp_reader_feed(r, "{\"a\": \"", 7, &json, err,
                                     sizeof err), 7);
    int rc = 0;
    for (int i = 0; i < 8 && rc >= 0; i++) {
        rc = qmp_reader_feed(r, big, 1 << 20, &json, err, sizeof err);
    }
    assert_int_equal(rc, -EMSGSIZE);
    free(big);
    qmp_reader_destroy(r);
    qmp_reader_destroy(NULL);
}

static int
parse_text(const char *text, struct qmp_msg *msg, struct json **jsonp,
           char *err, size_t errlen)
{
    *jsonp = json_from_string(text);
    assert_true((*jsonp)->type != JSON_STRING);
    return qmp_msg_parse(*jsonp, msg, err, errlen);
}

static void
messages(void **state)
{
    struct qmp_msg m;
    struct json *j;
    char err[128];

    (void) state;
    assert_int_equal(parse_text(GREETING, &m, &j, err, sizeof err), 0);
    assert_int_equal(m.type, QMP_MSG_GREETING);
    json_destroy(j);

    assert_int_equal(parse_text(STATUS("running"), &m, &j, err, sizeof err),
                     0);
    assert_int_equal(m.type, QMP_MSG_RETURN);
    assert_string_equal(m.id, "status");
    assert_int_equal(m.value->type, JSON_OBJECT);
    json_destroy(j);

    assert_int_equal(parse_text("{\"error\": {\"class\": \"GenericError\", "
                                "\"desc\": \"no\"}, \"id\": \"migrate\"}",
                                &m, &j, err, sizeof err), 0);
    assert_int_equal(m.type, QMP_MSG_ERROR);
    assert_string_equal(m.error, "no");
    assert_string_equal(m.id, "migrate");
    json_destroy(j);

    assert_int_equal(parse_text("{\"timestamp\": {\"seconds\": 1, "
                                "\"microseconds\": 2}, \"event\": "
                                "\"MIGRATION\", \"data\": {\"status\": "
                                "\"active\"}}", &m, &j, err, sizeof err), 0);
    assert_int_equal(m.type, QMP_MSG_EVENT);
    assert_string_equal(m.event, "MIGRATION");
    assert_true(m.usec == 1000002);
    assert_non_null(m.value);
    json_destroy(j);

    /* QEMU sends -1 when it could not read its clock. */
    assert_int_equal(parse_text(EVENT("RESUME", -1, -1), &m, &j, err,
                                sizeof err), 0);
    assert_true(m.usec == -1);
    json_destroy(j);

    /* Seconds whose microseconds overflow a long long: no clock either
     * (tests/fuzz/fuzz_qmp found the overflow). */
    assert_int_equal(parse_text(EVENT("RESUME", 170000000000000, 0), &m, &j,
                                err, sizeof err), 0);
    assert_true(m.usec == -1);
    json_destroy(j);
    assert_int_equal(parse_text(EVENT("RESUME", 9223372036853, 999999), &m,
                                &j, err, sizeof err), 0);
    assert_true(m.usec == 9223372036853999999LL);
    json_destroy(j);

    /* Not QMP: each refusal says why. */
    assert_int_equal(parse_text("{\"event\": \"RESUME\"}", &m, &j, err,
                                sizeof err), -EPROTO);
    assert_non_null(strstr(err, "timestamp"));
    json_destroy(j);
    assert_int_equal(parse_text("{\"hello\": 1}", &m, &j, err, sizeof err),
                     -EPROTO);
    assert_non_null(strstr(err, "\"event\""));
    json_destroy(j);
    assert_int_equal(parse_text("[1]", &m, &j, err, sizeof err), -EPROTO);
    assert_non_null(strstr(err, "object"));
    json_destroy(j);
}

/* Each case: a transcript, and what the watch must end with. */
struct watch_case {
    const char *name;
    const char *text;
    enum qmp_watch_action last;
    int n_actions;
    enum qmp_watch_state state;
    long long int resume_usec;
};

static void
watch_cases(void **state)
{
    static const struct watch_case cases[] = {
        { "destination, auto-resume", dest_transcript,
          QMP_WATCH_CALL_RESUME, 1, QMP_WATCH_RESUMED, 1795748616476489LL },
        { "resumes once: later stop/cont ignored",
          GREETING CAPS_OK STATUS("inmigrate") MIGRATE("{}")
          EVENT("RESUME", 10, 5) EVENT("STOP", 11, 0) EVENT("RESUME", 12, 0),
          QMP_WATCH_CALL_RESUME, 1, QMP_WATCH_RESUMED, 10000005 },
        { "answers in any order",
          GREETING CAPS_OK MIGRATE("{}") STATUS("inmigrate")
          EVENT("RESUME", 10, 5),
          QMP_WATCH_CALL_RESUME, 1, QMP_WATCH_RESUMED, 10000005 },
        { "plain VM: stop/cont never triggers",
          GREETING CAPS_OK STATUS("running") MIGRATE("{}")
          EVENT("STOP", 1, 0) EVENT("RESUME", 2, 0),
          QMP_WATCH_WAIT, 0, QMP_WATCH_NOT_INCOMING, -1 },
        { "plain VM started with -S: first cont is no migration",
          GREETING CAPS_OK STATUS("prelaunch") MIGRATE("{}")
          EVENT("RESUME", 2, 0),
          QMP_WATCH_WAIT, 0, QMP_WATCH_NOT_INCOMING, -1 },
        { "source after its outgoing migration",
          GREETING CAPS_OK STATUS("postmigrate")
          MIGRATE("{\"status\": \"completed\", " SOURCE_RAM "}")
          EVENT("RESUME", 2, 0),
          QMP_WATCH_WAIT, 0, QMP_WATCH_NOT_INCOMING, -1 },
        { "source whose outgoing migration failed resumes: not ours",
          GREETING CAPS_OK STATUS("running")
          MIGRATE("{\"status\": \"active\", " SOURCE_RAM "}")
          MIGRATION(3, "failed")
          EVENT("RESUME", 4, 0),
          QMP_WATCH_WAIT, 0, QMP_WATCH_NOT_INCOMING, -1 },
        { "destination with -S: paused after the migration, then cont",
          GREETING CAPS_OK STATUS("paused")
          MIGRATE("{\"status\": \"completed\"}") EVENT("RESUME", 7, 8),
          QMP_WATCH_CALL_RESUME, 1, QMP_WATCH_RESUMED, 7000008 },
        { "RESUME between connect and the answers dates the resume",
          GREETING EVENT("RESUME", 5, 6) CAPS_OK STATUS("running")
          MIGRATE("{\"status\": \"completed\"}"),
          QMP_WATCH_CALL_RESUME, 1, QMP_WATCH_RESUMED, 5000006 },
        { "watch began after the resume: late, undated",
          GREETING CAPS_OK STATUS("running")
          MIGRATE("{\"status\": \"completed\"}"),
          QMP_WATCH_CALL_RESUME, 1, QMP_WATCH_RESUMED, -1 },
        { "incoming migration failed (events capability on)",
          GREETING CAPS_OK STATUS("inmigrate") MIGRATE("{}")
          MIGRATION(3, "failed")
          EVENT("RESUME", 4, 0),
          QMP_WATCH_GIVE_UP, 1, QMP_WATCH_FAILED, -1 },
        { "destination shut down before resuming",
          GREETING CAPS_OK STATUS("inmigrate") MIGRATE("{}")
          EVENT("SHUTDOWN", 3, 0) EVENT("RESUME", 4, 0),
          QMP_WATCH_GIVE_UP, 1, QMP_WATCH_FAILED, -1 },
        { "MIGRATION events while incoming do not trigger",
          GREETING CAPS_OK STATUS("inmigrate") MIGRATE("{}")
          MIGRATION(3, "completed")
          EVENT("STOP", 3, 1),
          QMP_WATCH_WAIT, 0, QMP_WATCH_INCOMING, -1 },
        { "no answers yet: a RESUME alone decides nothing",
          GREETING EVENT("RESUME", 4, 0),
          QMP_WATCH_WAIT, 0, QMP_WATCH_UNKNOWN, -1 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct watch_case *c = &cases[i];
        struct qmp_watch w;
        enum qmp_watch_action last;
        int n;

        print_message("  %s\n", c->name);
        run(c->text, 0, &w, &last, &n);
        assert_int_equal(last, c->last);
        assert_int_equal(n, c->n_actions);
        assert_int_equal(w.state, c->state);
        assert_true(w.resume_usec == c->resume_usec);
        assert_non_null(w.why);
    }
}

/* ---- the socket a watcher trusts (qmp_socket.c; issue 10, item 9) ---- */

/* Binds a UNIX socket at 'path' (as QEMU's -qmp unix:PATH,server=on). */
static int
bind_socket(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_true(strlen(path) < sizeof sun.sun_path);
    strcpy(sun.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    return fd;
}

static void
assert_refused(const char *path, uid_t owner, int error, const char *why)
{
    char err[256] = "";

    assert_int_equal(qmp_socket_check(path, geteuid(), owner, err,
                                      sizeof err), error);
    if (!strstr(err, why) || !strstr(err, "SOCKET: ")) {
        fail_msg("'%s': expected '%s' in '%s'", path, why, err);
    }
}

static void
socket_trust(void **state)
{
    char dir[] = "/tmp/nm-test-qmp.XXXXXX", sub[64], path[96], link[96];
    char other[96], err[256];
    uid_t me = geteuid();
    int fd, fd2;

    (void) state;
    assert_non_null(mkdtemp(dir));              /* 0700, ours. */
    snprintf(sub, sizeof sub, "%s/qmp", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/vm1.qmp", sub);
    fd = bind_socket(path);

    /* Ours, in a directory only we may write to, under /tmp (sticky). */
    assert_int_equal(qmp_socket_check(path, me, (uid_t) -1, err,
                                      sizeof err), 0);

    /* A directory others may write to: any QEMU could plant vm1.qmp. */
    assert_int_equal(chmod(sub, 0777), 0);
    assert_refused(path, (uid_t) -1, -EPERM, "writable by others");
    assert_int_equal(chmod(sub, 0775), 0);
    assert_refused(path, (uid_t) -1, -EPERM, "writable by others");
    assert_int_equal(chmod(sub, 01777), 0);     /* Sticky: still refused. */
    assert_refused(path, (uid_t) -1, -EPERM, "writable by others");
    assert_int_equal(chmod(sub, 0755), 0);
    /* An ancestor others may write to, not sticky. */
    assert_int_equal(chmod(dir, 0777), 0);
    assert_refused(path, (uid_t) -1, -EPERM, "writable by others");
    assert_int_equal(chmod(dir, 0700), 0);

    /* A symbolic link, wherever it points. */
    snprintf(link, sizeof link, "%s/vm2.qmp", sub);
    assert_int_equal(symlink(path, link), 0);
    assert_refused(link, (uid_t) -1, -EPERM, "symbolic link");

    /* Not a socket; absent. */
    snprintf(other, sizeof other, "%s/plain", sub);
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fclose(f);
    assert_refused(other, (uid_t) -1, -EINVAL, "not a UNIX socket");
    snprintf(other, sizeof other, "%s/none.qmp", sub);
    assert_refused(other, (uid_t) -1, -ENOENT, "not a UNIX socket");

    /* Another user's socket, or one in another user's directory: only
     * with --owner that user (QEMU's).  Needs root to give it away. */
    if (me == 0) {
        uid_t qemu = 64055;
        char other_sock[96];

        snprintf(other_sock, sizeof other_sock, "%s/vm3.qmp", sub);
        fd2 = bind_socket(other_sock);
        assert_int_equal(lchown(other_sock, qemu, qemu), 0);
        assert_refused(other_sock, (uid_t) -1, -EPERM, "belongs to uid 64055");
        assert_refused(other_sock, 12345, -EPERM, "belongs to uid 64055");
        assert_int_equal(qmp_socket_check(other_sock, me, qemu, err,
                                          sizeof err), 0);
        assert_int_equal(chown(sub, qemu, qemu), 0);
        assert_refused(path, (uid_t) -1, -EPERM,
                       "directory /tmp/nm-test-qmp");
        assert_int_equal(qmp_socket_check(path, me, qemu, err, sizeof err),
                         0);
        close(fd2);
        unlink(other_sock);
    }

    close(fd);
    unlink(link);
    unlink(path);
    snprintf(other, sizeof other, "%s/plain", sub);
    unlink(other);
    rmdir(sub);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_chunks),
        cmocka_unit_test(stream_errors),
        cmocka_unit_test(messages),
        cmocka_unit_test(watch_cases),
        cmocka_unit_test(socket_trust),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
