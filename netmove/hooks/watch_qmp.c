/* netmove CLI: 'watch-qmp', the hook adapter for a QEMU without a migrator's
 * hook: it follows the VM's QMP socket and calls resume at the RESUME event
 * that follows an incoming migration; with --source, on the source, paused
 * at the STOP of an outgoing migration, then left at its completion or
 * abort at the RESUME of a failed one.  See netmove/hooks/HOOKS.md. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fatal-signal.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "socket-util.h"
#include "stream.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/hooks/hook_call.h"
#include "netmove/hooks/qmp.h"

static int cmd_watch_qmp(int argc, char *argv[]);

/* Connecting to QEMU's monitor and sending the first commands: a local
 * socket answers at once or not at all. */
#define CONNECT_TIMEOUT_MS 10000

const struct nm_cmd nm_cmd_watch_qmp = {
    "watch-qmp", cmd_watch_qmp,
    "resume at QEMU's RESUME after an incoming migration (--source: paused\n"
    "                 at STOP, left or abort, on the source)",
    "usage: netmove watch-qmp SOCKET VM [--from HOST] [--exec CMD]\n"
    "                         [--timeout S] [--call-timeout S] [--ctl PATH]\n"
    "                         [--owner USER]\n"
    "       netmove watch-qmp SOCKET VM --source [--to HOST] [--exec CMD] ...\n"
    "\n"
    "Connects to the QMP socket SOCKET of the QEMU that is (or will be) the\n"
    "destination of VM's incoming migration, negotiates, asks query-status\n"
    "and query-migrate, and follows its events.  At the RESUME event that\n"
    "follows the incoming migration it calls resume at once, once, and exits:\n"
    "through the local netmoved ('netmove resume VM [--from HOST]'), or with\n"
    "--exec by running CMD with sh -c and the environment NETMOVE_PHASE\n"
    "(resume), NETMOVE_VM, NETMOVE_SRC_HOST (with --from), NETMOVE_RESUMED_US\n"
    "(the RESUME event's QEMU timestamp, microseconds since the epoch).  A\n"
    "RESUME of a VM that was not started by an incoming migration (a plain\n"
    "'cont') never triggers.  Prints the time from the RESUME event's\n"
    "timestamp to the call.\n"
    "\n"
    "With --source, SOCKET is the source QEMU's: at the STOP of an outgoing\n"
    "migration (the pause for its switch-over) it calls 'netmove paused VM\n"
    "[--to HOST]' at once, then follows the migration: at its completion\n"
    "(MIGRATION completed, or query-migrate without the 'events' capability)\n"
    "'netmove left VM [--to HOST]' and exits; if it fails and the VM RESUMEs\n"
    "here, 'netmove abort VM' (the VM runs here again) and exits.  With\n"
    "--exec, CMD runs for each, with NETMOVE_PHASE (paused, left, abort),\n"
    "NETMOVE_VM, NETMOVE_DST_HOST (with --to), NETMOVE_PAUSED_US (the STOP\n"
    "event's QEMU timestamp).  A stop with no outgoing migration never\n"
    "triggers.\n"
    "\n"
    "  --from HOST        the source host (else netmoved finds it)\n"
    "  --source           this QEMU is the source: follow its outgoing migration\n"
    "  --to HOST          with --source: the destination host (else the host\n"
    "                     netmoved exported VM to)\n"
    "  --exec CMD         run CMD instead of calling netmoved\n"
    "  --timeout S        how long to wait for the RESUME (--source: for the\n"
    "                     migration's end) (0: as long as QEMU keeps the\n"
    "                     socket open, the default)\n"
    "  --call-timeout S   how long each call may take (60)\n"
    "  --ctl PATH         netmoved's control socket (else $NETMOVE_CTL, else\n"
    "                     RUNDIR/netmoved.ctl; RUNDIR: $NETMOVE_RUNDIR, else\n"
    "                     " NM_RUNDIR ")\n"
    "  --owner USER       QEMU's user (name or uid), if not root: SOCKET and\n"
    "                     its directory may belong to it\n"
    "\n"
    "SOCKET must be owned by root, by the user running watch-qmp or by\n"
    "--owner, in a directory no one else may write to (nor a symbolic link):\n"
    "a socket another guest's QEMU could plant would fake the RESUME.\n"
    "\n"
    "Exit: 0 resume called and succeeded, 1 it failed, or the VM never\n"
    "resumed after an incoming migration (QEMU ended, the migration failed,\n"
    "or --timeout passed), 2 bad input.  --source: 0 left or abort called and\n"
    "succeeded (and paused, if called), 1 a call failed, or QEMU ended or\n"
    "--timeout passed before the migration's end.\n",
};

struct watch_opts {
    const char *socket;
    struct nm_hook_call call;   /* .vm, .from, .exec, .ctl, .call_timeout_s */
    int timeout_s;
    uid_t owner;                /* --owner, or (uid_t) -1. */
};

enum { OPT_OWNER = NM_HOOK_OPT_N };

static int check_watch_opts(const struct watch_opts *);

static int
watch_opt(void *o_, int c, const char *arg)
{
    struct watch_opts *o = o_;

    if (c == OPT_OWNER) {
        const struct passwd *pw = getpwnam(arg);
        char *end;
        unsigned long uid = strtoul(arg, &end, 10);

        if (pw) {
            o->owner = pw->pw_uid;
        } else if (arg[0] >= '0' && arg[0] <= '9' && !*end
                   && uid < (uid_t) -1) {
            o->owner = uid;
        } else {
            return nm_usage_error("watch-qmp: --owner: no user '%s'", arg);
        }
        return 0;
    }
    int rc = nm_hook_call_option(&o->call, &o->timeout_s, c, arg);

    /* Only the table's options reach here: -1 (not one of the adapters'
     * common options) cannot happen. */
    return rc < 0 ? NM_EXIT_USAGE : rc;
}

static int
parse_watch_opts(int argc, char *argv[], struct watch_opts *o)
{
    static const struct option options[] = {
        NM_HOOK_LONG_OPTIONS,
        { "owner", required_argument, NULL, OPT_OWNER },
        { NULL, 0, NULL, 0 },
    };
    const char *operands[2];
    int n_operands = 0;
    int rc;

    o->call.verb = "watch-qmp";
    o->owner = (uid_t) -1;
    o->timeout_s = NM_HOOK_DEFAULT_TIMEOUT_S;
    o->call.call_timeout_s = NM_HOOK_DEFAULT_CALL_TIMEOUT_S;
    /* Options may follow the operands, as in the usage line. */
    rc = nm_parse_options("watch-qmp", argc, argv, options, watch_opt, o);
    if (rc) {
        return rc;
    }
    for (; optind < argc; optind++) {
        if (n_operands == 2) {
            return nm_usage_error("watch-qmp: unexpected argument '%s'",
                                  argv[optind]);
        }
        operands[n_operands++] = argv[optind];
    }
    if (n_operands < 2) {
        return nm_usage_error("watch-qmp: missing %s (usage: netmove "
                              "watch-qmp SOCKET VM [OPTIONS])",
                              n_operands ? "VM" : "SOCKET and VM");
    }
    o->socket = operands[0];
    o->call.vm = operands[1];
    return check_watch_opts(o);
}

/* Bad input is refused before anything is opened or run. */
static int
check_watch_opts(const struct watch_opts *o)
{
    char err[NM_ERRLEN];

    /* Before anything is opened: a socket another QEMU could have planted
     * would give us its RESUME. */
    if (qmp_socket_check(o->socket, geteuid(), o->owner, err, sizeof err)) {
        return nm_usage_error("watch-qmp: %s", err);
    }
    if (!fw_vm_name_valid(o->call.vm)) {
        return nm_usage_error("watch-qmp: VM: invalid name '%s'",
                              o->call.vm);
    }
    return nm_hook_call_check(&o->call);
}

/* ---- the QMP connection ---- */

struct qmp_conn {
    struct stream *stream;
    struct qmp_reader *reader;
    long long int deadline;     /* time_msec(), 0: none (--timeout 0). */
    long long int send_deadline;    /* For writing to QEMU. */
    long long int recv_usec;    /* Wall clock when the last bytes came. */
};

static int
send_all(struct qmp_conn *c, const char *text)
{
    size_t len = strlen(text), done = 0;

    while (done < len) {
        int n = stream_send(c->stream, text + done, len - done);

        if (n > 0) {
            done += n;
            continue;
        } else if (n != -EAGAIN) {
            return n ? n : -EPIPE;
        } else if (time_msec() >= c->send_deadline) {
            return -ETIMEDOUT;
        }
        stream_send_wait(c->stream);
        poll_timer_wait_until(c->send_deadline);
        poll_block();
    }
    return 0;
}

struct qmp_report {
    const struct watch_opts *o;
    const struct qmp_watch *w;
    long long int recv_usec;
};

static void
print_latency(void *aux_, long long int call_usec)
{
    const struct qmp_report *r = aux_;
    const struct qmp_watch *w = r->w;
    const char *vm = r->o->call.vm;

    if (w->resume_usec >= 0) {
        /* QEMU stamps the event, then writes it: 'received' is QEMU and
         * the kernel, the rest is ours. */
        printf("watch-qmp: %s: RESUME at %lld.%06lld after the incoming "
               "migration; received %lld us, resume called %lld us after "
               "it\n", vm, w->resume_usec / 1000000,
               w->resume_usec % 1000000, r->recv_usec - w->resume_usec,
               call_usec - w->resume_usec);
    } else {
        printf("watch-qmp: %s: %s; resume called now (late, undated)\n",
               vm, w->why);
    }
}

/* What handle_msg() and handle_bytes() return while the watch goes on:
 * not an exit code (a failed resume call is exit code 1, and ends it). */
#define WATCH_GO_ON (-1)

/* How often query-migrate is asked while the source VM is paused and no
 * MIGRATION events tell the outcome: a few ms after the completion. */
#define SRC_POLL_MS 10

/* The watch: the destination's, or the source's (--source). */
struct watches {
    struct qmp_watch w;
    struct qmp_src_watch sw;
    bool query_pending;         /* --source: a query-migrate unanswered. */
    long long int next_poll;    /* --source: time_msec() of the next. */
    int paused_rc;              /* --source: the paused call's exit code. */
};

struct src_report {
    const struct watch_opts *o;
    const struct qmp_src_watch *sw;
    const char *phase;
    long long int recv_usec;
};

static void
print_src_call(void *aux_, long long int call_usec)
{
    const struct src_report *r = aux_;
    const struct qmp_src_watch *sw = r->sw;
    const char *vm = r->o->call.vm;

    if (strcmp(r->phase, "paused")) {
        printf("watch-qmp: %s: %s: %s called\n", vm, sw->why, r->phase);
    } else if (sw->paused_usec >= 0) {
        /* As for the RESUME: QEMU stamps the STOP, then writes it. */
        printf("watch-qmp: %s: STOP at %lld.%06lld during the outgoing "
               "migration; received %lld us, paused called %lld us after "
               "it\n", vm, sw->paused_usec / 1000000,
               sw->paused_usec % 1000000, r->recv_usec - sw->paused_usec,
               call_usec - sw->paused_usec);
    } else {
        printf("watch-qmp: %s: %s; paused called now (late, undated)\n",
               vm, sw->why);
    }
}

/* --source: acts on 'act' (QMP_SRC_DO_* bits).  Returns WATCH_GO_ON or an
 * exit code. */
static int
src_act(const struct watch_opts *o, struct qmp_conn *c, struct watches *ws,
        unsigned int act)
{
    struct src_report r = { o, &ws->sw, NULL, c->recv_usec };
    int rc;

    if (act & QMP_SRC_DO_PAUSED) {
        r.phase = "paused";
        /* A failed paused call does not stop the watch: left or abort is
         * still due; the exit code says it failed. */
        ws->paused_rc = nm_hook_call_source(&o->call, "paused",
                                            ws->sw.paused_usec,
                                            print_src_call, &r);
    }
    if (act & (QMP_SRC_DO_LEFT | QMP_SRC_DO_ABORT)) {
        r.phase = act & QMP_SRC_DO_LEFT ? "left" : "abort";
        rc = nm_hook_call_source(&o->call, r.phase, ws->sw.paused_usec,
                                 print_src_call, &r);
        /* The worse of the two, paused's if it was called and failed. */
        return rc ? rc : ws->paused_rc > 0 ? ws->paused_rc : NM_EXIT_OK;
    }
    if (act & QMP_SRC_DO_GIVE_UP) {
        return nm_fail("watch-qmp: %s: %s: the migration's end not seen%s",
                       o->call.vm, ws->sw.why,
                       ws->paused_rc != WATCH_GO_ON
                       ? " (paused was called: 'netmove left' or 'netmove "
                         "abort' by hand)" : "");
    }
    if ((act & QMP_SRC_DO_QUERY) && !ws->query_pending) {
        rc = send_all(c, qmp_src_query);
        if (rc) {
            return nm_fail("watch-qmp: %s: sending to QEMU: %s", o->socket,
                           ovs_strerror(-rc));
        }
        ws->query_pending = true;
    }
    return WATCH_GO_ON;
}

/* --source: handles one message. */
static int
handle_src_msg(const struct watch_opts *o, struct qmp_conn *c,
               struct watches *ws, const struct qmp_msg *msg)
{
    enum qmp_src_state before = ws->sw.state;
    unsigned int act;

    if (msg->type == QMP_MSG_RETURN && msg->id
        && !strcmp(msg->id, "migrate")) {
        ws->query_pending = false;
    }
    act = qmp_src_watch_msg(&ws->sw, msg);
    if (ws->sw.state != before && !(act & ~QMP_SRC_DO_QUERY)) {
        printf("watch-qmp: %s: %s\n", o->call.vm, ws->sw.why);
        fflush(stdout);
    }
    return act ? src_act(o, c, ws, act) : WATCH_GO_ON;
}

/* Handles one message; returns WATCH_GO_ON, or an exit code (0-2) once the
 * watch is over. */
static int
handle_msg(const struct watch_opts *o, struct qmp_conn *c,
           struct watches *ws, const struct json *json)
{
    struct qmp_watch *w = &ws->w;
    enum qmp_watch_action act = QMP_WATCH_WAIT;
    enum qmp_watch_state before = w->state;
    struct qmp_msg msg;
    char err[NM_ERRLEN];

    if (qmp_msg_parse(json, &msg, err, sizeof err)) {
        return nm_fail("watch-qmp: %s: %s", o->socket, err);
    }
    if (o->call.source && msg.type != QMP_MSG_ERROR) {
        return handle_src_msg(o, c, ws, &msg);
    }
    switch (msg.type) {
    case QMP_MSG_GREETING:
        return WATCH_GO_ON;
    case QMP_MSG_ERROR:
        return nm_fail("watch-qmp: %s: QEMU refused %s: %s", o->socket,
                       msg.id ? msg.id : "a command", msg.error);
    case QMP_MSG_RETURN:
    case QMP_MSG_EVENT:
        act = qmp_watch_msg(w, &msg);
        if (msg.type == QMP_MSG_EVENT && !strcmp(msg.event, "RESUME")
            && act == QMP_WATCH_WAIT && w->state == QMP_WATCH_NOT_INCOMING) {
            printf("watch-qmp: %s: RESUME ignored: %s\n", o->call.vm,
                   w->why);
            fflush(stdout);
        }
        break;
    }
    if (w->state != before && act == QMP_WATCH_WAIT) {
        printf("watch-qmp: %s: %s\n", o->call.vm, w->why);
        fflush(stdout);
    }
    if (act == QMP_WATCH_CALL_RESUME) {
        struct qmp_report r = { o, w, c->recv_usec };

        return nm_hook_call_resume(&o->call, w->resume_usec, print_latency,
                                   &r);
    } else if (act == QMP_WATCH_GIVE_UP) {
        return nm_fail("watch-qmp: %s: %s: no resume", o->call.vm, w->why);
    }
    return WATCH_GO_ON;
}

/* Feeds 'n' bytes to the reader and handles each message they complete. */
static int
handle_bytes(const struct watch_opts *o, struct qmp_conn *c,
             struct watches *ws, const char *buf, size_t n)
{
    while (n > 0) {
        struct json *json;
        char err[NM_ERRLEN];
        int used = qmp_reader_feed(c->reader, buf, n, &json, err, sizeof err);

        if (used < 0) {
            return nm_fail("watch-qmp: %s: %s", o->socket, err);
        }
        buf += used;
        n -= used;
        if (json) {
            int rc = handle_msg(o, c, ws, json);

            json_destroy(json);
            if (rc != WATCH_GO_ON) {
                return rc;
            }
        }
    }
    return WATCH_GO_ON;
}

/* Why the watch is still on, for the messages that end it. */
static const char *
watch_why(const struct watch_opts *o, const struct watches *ws)
{
    return o->call.source ? ws->sw.why : ws->w.why;
}

static int
follow(const struct watch_opts *o, struct qmp_conn *c)
{
    const char *awaited = o->call.source ? "the outgoing migration's end"
                                         : "the VM resumed";
    struct watches ws = { .paused_rc = WATCH_GO_ON };
    char buf[4096];
    int rc;

    qmp_watch_init(&ws.w);
    qmp_src_watch_init(&ws.sw);
    /* QEMU answers in order, after its greeting; events may come between. */
    rc = send_all(c, qmp_watch_hello);
    if (rc) {
        return nm_fail("watch-qmp: %s: sending to QEMU: %s", o->socket,
                       ovs_strerror(-rc));
    }
    for (;;) {
        bool polls = o->call.source && qmp_src_watch_polls(&ws.sw);
        int n;

        stream_run(c->stream);
        n = stream_recv(c->stream, buf, sizeof buf);
        if (n > 0) {
            c->recv_usec = time_wall_usec();
            rc = handle_bytes(o, c, &ws, buf, n);
            if (rc != WATCH_GO_ON) {
                return rc;
            }
            continue;
        } else if (n == 0) {
            return nm_fail("watch-qmp: %s: QEMU closed the QMP connection "
                           "before %s (%s)", o->socket, awaited,
                           watch_why(o, &ws));
        } else if (n != -EAGAIN) {
            return nm_fail("watch-qmp: %s: %s", o->socket,
                           ovs_strerror(-n));
        } else if (c->deadline && time_msec() >= c->deadline) {
            return nm_fail("watch-qmp: %s: %s within %d s (%s%s)",
                           o->call.vm, o->call.source
                           ? "the outgoing migration did not end"
                           : "no RESUME after an incoming migration",
                           o->timeout_s, watch_why(o, &ws),
                           ws.w.state == QMP_WATCH_UNKNOWN
                           && ws.sw.state == QMP_SRC_UNKNOWN
                           ? "; a QMP monitor serves one client at a time: "
                             "is another one connected?" : "");
        }
        if (polls && !ws.query_pending && time_msec() >= ws.next_poll) {
            rc = src_act(o, c, &ws, QMP_SRC_DO_QUERY);
            if (rc != WATCH_GO_ON) {
                return rc;
            }
            ws.next_poll = time_msec() + SRC_POLL_MS;
        }
        stream_run_wait(c->stream);
        stream_recv_wait(c->stream);
        if (c->deadline) {
            poll_timer_wait_until(c->deadline);
        }
        if (polls && !ws.query_pending) {
            poll_timer_wait_until(ws.next_poll);
        }
        poll_block();
    }
}

static int
cmd_watch_qmp(int argc, char *argv[])
{
    struct watch_opts o = { 0 };
    struct qmp_conn c = { 0 };
    char *name;
    int rc;

    rc = parse_watch_opts(argc, argv, &o);
    if (rc) {
        return rc;
    }
    /* A QEMU that goes away while we write is an error to report, not a
     * silent death. */
    fatal_ignore_sigpipe();
    c.deadline = o.timeout_s ? time_msec() + o.timeout_s * 1000LL : 0;
    c.send_deadline = time_msec() + CONNECT_TIMEOUT_MS;
    name = xasprintf("unix:%s", o.socket);
    rc = stream_open_block(stream_open(name, &c.stream, DSCP_DEFAULT),
                           CONNECT_TIMEOUT_MS, &c.stream);
    free(name);
    if (rc) {
        return nm_fail("watch-qmp: %s: cannot connect: %s", o.socket,
                       ovs_strerror(rc));
    }
    c.reader = qmp_reader_create();
    rc = follow(&o, &c);
    qmp_reader_destroy(c.reader);
    stream_close(c.stream);
    return rc;
}
