/* QMP: messages from a byte stream, and the "resumed after an incoming
 * migration" decision.  See qmp.h. */
#include "netmove/hooks/qmp.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"
#include "netmove/common/json.h"

/* No QMP message of interest comes near this: a stream that sends more
 * without completing a message is not QEMU's. */
#define QMP_MSG_MAX (4 << 20)

struct qmp_reader {
    struct json_parser *parser;
    size_t pending;             /* Bytes fed to 'parser' so far. */
};

struct qmp_reader *
qmp_reader_create(void)
{
    struct qmp_reader *r = xzalloc(sizeof *r);

    r->parser = json_parser_create(0);
    return r;
}

void
qmp_reader_destroy(struct qmp_reader *r)
{
    if (r) {
        json_parser_abort(r->parser);
        free(r);
    }
}

int
qmp_reader_feed(struct qmp_reader *r, const char *buf, size_t n,
                struct json **msgp, char *err, size_t errlen)
{
    /* json_parser_feed() stops right after a complete top-level value, so
     * several messages in one read come out one per call (as in OVS's
     * jsonrpc_recv()). */
    size_t used = json_parser_feed(r->parser, buf, n);

    *msgp = NULL;
    r->pending += used;
    if (json_parser_is_done(r->parser)) {
        struct json *json = json_parser_finish(r->parser);

        r->parser = json_parser_create(0);
        r->pending = 0;
        if (json->type == JSON_STRING) {
            /* The parser reports a syntax error as a string. */
            snprintf(err, errlen, "QMP stream: %s", json_string(json));
            json_destroy(json);
            return -EPROTO;
        }
        *msgp = json;
    } else if (r->pending > QMP_MSG_MAX) {
        snprintf(err, errlen, "QMP stream: a message longer than %d bytes",
                 QMP_MSG_MAX);
        return -EMSGSIZE;
    }
    return used;
}

static int
proto_error(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "QMP message: %s", what);
    return -EPROTO;
}

/* QMP timestamps are {"seconds": S, "microseconds": US}; QEMU sends -1 for
 * both if it could not read its clock.  Seconds whose microseconds do not
 * fit a long long are no clock either (found by tests/fuzz/fuzz_qmp). */
static long long int
timestamp_usec(const struct json *ts)
{
    const struct json *s = nm_json_member_type(ts, "seconds", JSON_INTEGER);
    const struct json *us = nm_json_member_type(ts, "microseconds", JSON_INTEGER);

    if (!s || !us || json_integer(s) < 0 || json_integer(us) < 0
        || json_integer(us) > 999999
        || json_integer(s) > (LLONG_MAX - 999999) / 1000000) {
        return -1;
    }
    return json_integer(s) * 1000000LL + json_integer(us);
}

int
qmp_msg_parse(const struct json *json, struct qmp_msg *msg,
              char *err, size_t errlen)
{
    const struct json *v, *id;

    memset(msg, 0, sizeof *msg);
    msg->usec = -1;
    if (json->type != JSON_OBJECT) {
        return proto_error(err, errlen, "not a JSON object");
    }
    id = nm_json_member_type(json, "id", JSON_STRING);
    msg->id = id ? json_string(id) : NULL;
    if (nm_json_member_type(json, "QMP", JSON_OBJECT)) {
        msg->type = QMP_MSG_GREETING;
    } else if ((v = nm_json_member(json, "return")) != NULL) {
        msg->type = QMP_MSG_RETURN;
        msg->value = v;
    } else if ((v = nm_json_member_type(json, "error", JSON_OBJECT)) != NULL) {
        const struct json *desc = nm_json_member_type(v, "desc", JSON_STRING);

        msg->type = QMP_MSG_ERROR;
        msg->error = desc ? json_string(desc) : "(no desc)";
    } else if ((v = nm_json_member_type(json, "event", JSON_STRING)) != NULL) {
        const struct json *ts = nm_json_member_type(json, "timestamp", JSON_OBJECT);

        if (!ts) {
            return proto_error(err, errlen, "event without \"timestamp\"");
        }
        msg->type = QMP_MSG_EVENT;
        msg->event = json_string(v);
        msg->usec = timestamp_usec(ts);
        msg->value = nm_json_member_type(json, "data", JSON_OBJECT);
    } else {
        return proto_error(err, errlen, "none of \"QMP\", \"return\", "
                           "\"error\", \"event\"");
    }
    return 0;
}

/* ---- the watch ---- */

void
qmp_watch_init(struct qmp_watch *w)
{
    memset(w, 0, sizeof *w);
    w->state = QMP_WATCH_UNKNOWN;
    w->why = "waiting for query-status and query-migrate";
    w->resume_usec = -1;
    w->migrate_ = -1;
    w->early_resume_usec_ = -1;
}

/* QEMU's run states that matter here, as static strings. */
static const char *
known_runstate(const char *s)
{
    static const char *const states[] = {
        "running", "paused", "prelaunch", "postmigrate", "finish-migrate",
        "suspended", "debug", "io-error", "internal-error", "watchdog",
        "guest-panicked", "shutdown", "restore-vm", "save-vm", "colo",
    };

    for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
        if (!strcmp(s, states[i])) {
            return states[i];
        }
    }
    return "other";
}

static enum qmp_watch_action
resumed(struct qmp_watch *w, long long int usec, const char *why)
{
    w->state = QMP_WATCH_RESUMED;
    w->resume_usec = usec;
    w->why = why;
    return QMP_WATCH_CALL_RESUME;
}

/* Both answers are in: was this VM started by an incoming migration? */
static enum qmp_watch_action
decide(struct qmp_watch *w)
{
    if (w->state != QMP_WATCH_UNKNOWN || !w->runstate_ || w->migrate_ < 0) {
        return QMP_WATCH_WAIT;
    }
    if (w->migrate_ == 0) {
        w->state = QMP_WATCH_NOT_INCOMING;
        w->why = "not the destination of an incoming migration";
        return QMP_WATCH_WAIT;
    }
    if (!strcmp(w->runstate_, "running")) {
        /* The incoming migration completed and the VM runs: it resumed
         * while the answers were on their way (the RESUME event seen then
         * dates it) or before the watch began (late, undated). */
        return w->early_resume_
               ? resumed(w, w->early_resume_usec_,
                         "RESUME after the incoming migration")
               : resumed(w, -1, "already running after an incoming "
                         "migration when the watch began");
    }
    /* Completed but paused (QEMU -S, libvirt): the 'cont' is to come. */
    w->state = QMP_WATCH_INCOMING;
    w->why = "incoming migration completed, VM paused";
    return QMP_WATCH_WAIT;
}

/* Feeds the "return" of query-status ({"status": "inmigrate", ...}). */
static enum qmp_watch_action
qmp_watch_status(struct qmp_watch *w, const struct json *ret)
{
    const struct json *status = nm_json_member_type(ret, "status", JSON_STRING);

    if (w->state != QMP_WATCH_UNKNOWN || !status) {
        return QMP_WATCH_WAIT;
    }
    if (!strcmp(json_string(status), "inmigrate")) {
        w->state = QMP_WATCH_INCOMING;
        w->why = "waiting for the incoming migration";
        return QMP_WATCH_WAIT;
    }
    w->runstate_ = known_runstate(json_string(status));
    return decide(w);
}

/* Feeds the "return" of query-migrate. */
static enum qmp_watch_action
qmp_watch_migrate(struct qmp_watch *w, const struct json *ret)
{
    const struct json *status = nm_json_member_type(ret, "status", JSON_STRING);

    if (w->state != QMP_WATCH_UNKNOWN) {
        return QMP_WATCH_WAIT;
    }
    /* On the destination query-migrate reports the incoming side: a status
     * and no RAM statistics; the source of a completed migration reports
     * its RAM transferred. */
    w->migrate_ = status && !strcmp(json_string(status), "completed")
                  && !nm_json_member_type(ret, "ram", JSON_OBJECT);
    return decide(w);
}

/* Feeds an event. */
static enum qmp_watch_action
qmp_watch_event(struct qmp_watch *w, const struct qmp_msg *event)
{
    const char *name = event->event;

    if (event->type != QMP_MSG_EVENT || w->state == QMP_WATCH_RESUMED
        || w->state == QMP_WATCH_FAILED) {
        return QMP_WATCH_WAIT;
    }
    if (!strcmp(name, "RESUME")) {
        if (w->state == QMP_WATCH_INCOMING) {
            return resumed(w, event->usec,
                           "RESUME after the incoming migration");
        } else if (w->state == QMP_WATCH_UNKNOWN) {
            w->early_resume_ = true;
            w->early_resume_usec_ = event->usec;
        }
        /* NOT_INCOMING: a plain 'cont', not a migration. */
        return QMP_WATCH_WAIT;
    }
    if (!strcmp(name, "MIGRATION") && w->state == QMP_WATCH_INCOMING
        && event->value) {
        /* Only with the "events" migration capability.  A source's
         * MIGRATION events never arm anything: a failed outgoing migration
         * resumes the source, and that RESUME is not ours. */
        const struct json *st = nm_json_member_type(event->value, "status", JSON_STRING);

        if (st && (!strcmp(json_string(st), "failed")
                   || !strcmp(json_string(st), "cancelled"))) {
            w->state = QMP_WATCH_FAILED;
            w->why = "the incoming migration failed";
            return QMP_WATCH_GIVE_UP;
        }
        return QMP_WATCH_WAIT;
    }
    if (!strcmp(name, "SHUTDOWN")) {
        if (w->state != QMP_WATCH_NOT_INCOMING) {
            w->state = QMP_WATCH_FAILED;
            w->why = "the VM shut down before it resumed";
        }
        return QMP_WATCH_GIVE_UP;
    }
    return QMP_WATCH_WAIT;
}

const char qmp_watch_hello[] =
    "{\"execute\": \"qmp_capabilities\", \"id\": \"capabilities\"}\n"
    "{\"execute\": \"query-status\", \"id\": \"status\"}\n"
    "{\"execute\": \"query-migrate\", \"id\": \"migrate\"}\n";

enum qmp_watch_action
qmp_watch_msg(struct qmp_watch *w, const struct qmp_msg *msg)
{
    if (msg->type == QMP_MSG_EVENT) {
        return qmp_watch_event(w, msg);
    } else if (msg->type != QMP_MSG_RETURN || !msg->id) {
        return QMP_WATCH_WAIT;
    } else if (!strcmp(msg->id, "status")) {
        return qmp_watch_status(w, msg->value);
    } else if (!strcmp(msg->id, "migrate")) {
        return qmp_watch_migrate(w, msg->value);
    }
    return QMP_WATCH_WAIT;
}
