/* netmove CLI: 'watch-qmp', the hook adapter for a QEMU without a migrator's
 * hook: it follows the VM's QMP socket and calls resume at the RESUME event
 * that follows an incoming migration.  See netmove/hooks/HOOKS.md. */
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
    "resume at QEMU's RESUME event after an incoming migration",
    "usage: netmove watch-qmp SOCKET VM [--from HOST] [--exec CMD]\n"
    "                         [--timeout S] [--call-timeout S] [--ctl PATH]\n"
    "                         [--owner USER]\n"
    "\n"
    "Connects to the QMP socket SOCKET of the QEMU that is (or will be) the\n"
    "destination of VM's incoming migration, negotiates, asks query-status\n"
    "and query-migrate, and follows its events.  At the RESUME event that\n"
    "follows the incoming migration it calls resume at once, once, and exits:\n"
    "through the local netmoved ('netmove resume VM [--from HOST]'), or with\n"
    "--exec by running CMD with sh -c and the environment NETMOVE_VM,\n"
    "NETMOVE_SRC_HOST (with --from), NETMOVE_RESUMED_US (the RESUME event's\n"
    "QEMU timestamp, microseconds since the epoch).  A RESUME of a VM that was\n"
    "not started by an incoming migration (a plain 'cont') never triggers.\n"
    "Prints the time from the RESUME event's timestamp to the call.\n"
    "\n"
    "  --from HOST        the source host (else netmoved finds it)\n"
    "  --exec CMD         run CMD instead of calling netmoved\n"
    "  --timeout S        how long to wait for the RESUME (0: as long as\n"
    "                     QEMU keeps the socket open, the default)\n"
    "  --call-timeout S   how long the resume call may take (60)\n"
    "  --ctl PATH         netmoved's control socket (else $NETMOVE_CTL, else\n"
    "                     $OVS_RUNDIR/netmoved.ctl)\n"
    "  --owner USER       QEMU's user (name or uid), if not root: SOCKET and\n"
    "                     its directory may belong to it\n"
    "\n"
    "SOCKET must be owned by root, by the user running watch-qmp or by\n"
    "--owner, in a directory no one else may write to (nor a symbolic link):\n"
    "a socket another guest's QEMU could plant would fake the RESUME.\n"
    "\n"
    "Exit: 0 resume called and succeeded, 1 it failed, or the VM never\n"
    "resumed after an incoming migration (QEMU ended, the migration failed,\n"
    "or --timeout passed), 2 bad input.\n",
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

/* Handles one message; returns WATCH_GO_ON, or an exit code (0-2) once the
 * watch is over. */
static int
handle_msg(const struct watch_opts *o, const struct qmp_conn *c,
           struct qmp_watch *w, const struct json *json)
{
    enum qmp_watch_action act = QMP_WATCH_WAIT;
    enum qmp_watch_state before = w->state;
    struct qmp_msg msg;
    char err[NM_ERRLEN];

    if (qmp_msg_parse(json, &msg, err, sizeof err)) {
        return nm_fail("watch-qmp: %s: %s", o->socket, err);
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
             struct qmp_watch *w, const char *buf, size_t n)
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
            int rc = handle_msg(o, c, w, json);

            json_destroy(json);
            if (rc != WATCH_GO_ON) {
                return rc;
            }
        }
    }
    return WATCH_GO_ON;
}

static int
follow(const struct watch_opts *o, struct qmp_conn *c)
{
    struct qmp_watch w;
    char buf[4096];
    int rc;

    qmp_watch_init(&w);
    /* QEMU answers in order, after its greeting; events may come between. */
    rc = send_all(c, qmp_watch_hello);
    if (rc) {
        return nm_fail("watch-qmp: %s: sending to QEMU: %s", o->socket,
                       ovs_strerror(-rc));
    }
    for (;;) {
        int n;

        stream_run(c->stream);
        n = stream_recv(c->stream, buf, sizeof buf);
        if (n > 0) {
            c->recv_usec = time_wall_usec();
            rc = handle_bytes(o, c, &w, buf, n);
            if (rc != WATCH_GO_ON) {
                return rc;
            }
            continue;
        } else if (n == 0) {
            return nm_fail("watch-qmp: %s: QEMU closed the QMP connection "
                           "before the VM resumed here (%s)", o->socket,
                           w.why);
        } else if (n != -EAGAIN) {
            return nm_fail("watch-qmp: %s: %s", o->socket,
                           ovs_strerror(-n));
        } else if (c->deadline && time_msec() >= c->deadline) {
            return nm_fail("watch-qmp: %s: no RESUME after an incoming "
                           "migration within %d s (%s%s)", o->call.vm,
                           o->timeout_s, w.why,
                           w.state == QMP_WATCH_UNKNOWN
                           ? "; a QMP monitor serves one client at a time: "
                             "is another one connected?" : "");
        }
        stream_run_wait(c->stream);
        stream_recv_wait(c->stream);
        if (c->deadline) {
            poll_timer_wait_until(c->deadline);
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
