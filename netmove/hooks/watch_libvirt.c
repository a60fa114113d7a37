/* netmove CLI: 'watch-libvirt', the hook adapter for libvirt: it follows a
 * domain's lifecycle events through libvirtd and calls resume at the
 * RESUMED MIGRATED that ends an incoming migration.  See netmove/hooks/HOOKS.md. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "fatal-signal.h"
#include "util.h"
#include "timeval.h"

#include "firewall/firewall.h"
#include "netmove/hooks/hook_call.h"
#include "netmove/hooks/lvwatch.h"

static int cmd_watch_libvirt(int argc, char *argv[]);

const struct nm_cmd nm_cmd_watch_libvirt = {
    "watch-libvirt", cmd_watch_libvirt, NM_WATCH_LIBVIRT_SUMMARY,
    NM_WATCH_LIBVIRT_USAGE,
};

#define VERB "watch-libvirt"
#define DEFAULT_URI "qemu:///system"
#define DOMAIN_MAX_LEN 200
/* How often the domain is checked for an end that came without an event
 * (libvirt 9.0 sent none within 20 s for a QEMU killed during the incoming
 * migration): with no --timeout, the watch still ends with the domain. */
#define CHECK_INTERVAL_MS 10000

struct lv_opts {
    const char *domain;
    const char *uri;
    int timeout_s;
    struct nm_hook_call call;   /* .vm is --vm, else set from the domain. */
};

/* The watch, shared with libvirt's callbacks. */
struct lv_watch {
    const struct lv_opts *o;
    struct lvw_watch w;
    enum lvw_action act;        /* The first action that was not WAIT. */
    long long int event_usec;   /* When the deciding event arrived. */
    int event, detail;          /* That event. */
    bool closed;                /* The connection to libvirtd closed. */
    int close_reason;
    bool timed_out;
    virDomainPtr dom;           /* Checked every CHECK_INTERVAL_MS. */
    const char *gone;           /* Why the domain is found gone, or NULL. */
    /* --source. */
    struct lvw_src_watch sw;
    bool src_paused_due;        /* SUSPENDED MIGRATED came: paused due. */
    enum lvw_src_action src_end;    /* LEFT, ABORT, GIVE_UP, or WAIT. */
    long long int paused_usec;  /* When the SUSPENDED MIGRATED arrived. */
    int paused_rc;              /* The paused call's exit code, or -1. */
};

enum {
    OPT_URI = NM_HOOK_OPT_N, OPT_VM,
};

/* libvirt prints every error on stderr by default; we report once. */
static void
quiet_error(void *aux, virErrorPtr err)
{
    (void) aux;
    (void) err;
}

static const char *
lv_error(void)
{
    const char *msg = virGetLastErrorMessage();

    return msg ? msg : "unknown libvirt error";
}

static bool
uuid_syntax(const char *s)
{
    static const char hex[] = "0123456789abcdefABCDEF";

    if (strlen(s) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !strchr(hex, s[i]) || !s[i]) {
            return false;
        }
    }
    return true;
}

static int
check_lv_opts(const struct lv_opts *o)
{
    const char *d = o->domain;
    size_t scheme = strspn(o->uri, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

    if (!d[0] || strlen(d) > DOMAIN_MAX_LEN || strchr(d, '/')
        || strpbrk(d, "\n\r\t")) {
        return nm_usage_error(VERB ": DOMAIN: '%s' is no domain name or "
                              "UUID (1-%d characters, no '/')", d,
                              DOMAIN_MAX_LEN);
    }
    if (!scheme || o->uri[scheme] != ':' || !strchr("abcdefghijklmnopqrstu"
                                                    "vwxyz", o->uri[0])) {
        return nm_usage_error(VERB ": --uri: '%s' is no libvirt URI "
                              "(such as qemu:///system)", o->uri);
    }
    if (o->call.vm && !fw_vm_name_valid(o->call.vm)) {
        return nm_usage_error(VERB ": --vm: invalid id '%s'", o->call.vm);
    }
    return nm_hook_call_check(&o->call);
}

static int
lv_opt(void *o_, int c, const char *arg)
{
    struct lv_opts *o = o_;

    switch (c) {
    case OPT_URI:
        o->uri = arg;
        return 0;
    case OPT_VM:
        o->call.vm = arg;
        return 0;
    default: {
        int rc = nm_hook_call_option(&o->call, &o->timeout_s, c, arg);
        return rc < 0 ? NM_EXIT_USAGE : rc;
    }
    }
}

static int
parse_lv_opts(int argc, char *argv[], struct lv_opts *o)
{
    static const struct option options[] = {
        { "uri", required_argument, NULL, OPT_URI },
        { "vm", required_argument, NULL, OPT_VM },
        NM_HOOK_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int rc;

    o->uri = DEFAULT_URI;
    o->timeout_s = NM_HOOK_DEFAULT_TIMEOUT_S;
    o->call.verb = VERB;
    o->call.call_timeout_s = NM_HOOK_DEFAULT_CALL_TIMEOUT_S;
    /* Options may follow the operand, as in the usage line. */
    rc = nm_parse_options(VERB, argc, argv, options, lv_opt, o);
    if (rc) {
        return rc;
    }
    if (optind < argc) {
        o->domain = argv[optind++];
    }
    if (optind < argc) {
        return nm_usage_error(VERB ": unexpected argument '%s'",
                              argv[optind]);
    }
    if (!o->domain) {
        return nm_usage_error(VERB ": missing DOMAIN (usage: netmove "
                              VERB " DOMAIN [OPTIONS])");
    }
    return check_lv_opts(o);
}

/* ---- libvirt's callbacks (run inside virEventRunDefaultImpl) ---- */

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
             void *aux)
{
    long long int now = time_wall_usec();     /* First: the event's arrival. */
    struct lv_watch *lw = aux;
    enum lvw_state before = lw->w.state;
    enum lvw_action act;

    (void) conn;
    (void) dom;
    if (lw->o->call.source) {
        enum lvw_src_action sa = lvw_src_event(&lw->sw, event, detail);

        printf(VERB ": %s: %s at %lld.%06lld: %s\n", lw->o->call.vm,
               lvw_event_name(event, detail), now / 1000000, now % 1000000,
               sa == LVW_SRC_WAIT ? "nothing to do" : lw->sw.why);
        fflush(stdout);
        if (sa == LVW_SRC_PAUSED) {
            lw->src_paused_due = true;
            lw->paused_usec = now;
        } else if (sa != LVW_SRC_WAIT) {
            lw->src_end = sa;
            lw->event = event;
            lw->detail = detail;
        }
        return 0;               /* Called by the loop. */
    }
    if (lw->act != LVW_WAIT) {
        return 0;               /* Decided already: once. */
    }
    act = lvw_event(&lw->w, event, detail);
    if (act != LVW_WAIT) {
        lw->act = act;
        lw->event_usec = now;
        lw->event = event;
        lw->detail = detail;
        return 0;               /* Reported by the loop, after the call. */
    }
    printf(VERB ": %s: %s at %lld.%06lld", lw->o->call.vm,
           lvw_event_name(event, detail), now / 1000000, now % 1000000);
    if (event == VIR_DOMAIN_EVENT_SUSPENDED
        && detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED) {
        printf(": paused for the switch-over (this host is the source); "
               "nothing to do here\n");
    } else if (event == VIR_DOMAIN_EVENT_RESUMED) {
        printf(": ignored: %s\n", lw->w.why);
    } else if (lw->w.state != before) {
        printf(": %s\n", lw->w.why);
    } else {
        printf("\n");
    }
    fflush(stdout);
    return 0;
}

static void
on_close(virConnectPtr conn, int reason, void *aux)
{
    struct lv_watch *lw = aux;

    (void) conn;
    lw->closed = true;
    lw->close_reason = reason;
}

static void
on_timeout(int timer, void *aux)
{
    struct lv_watch *lw = aux;

    (void) timer;
    lw->timed_out = true;
}

/* The periodic check: a domain that no longer exists, or no longer runs
 * (shut off, crashed), will not resume here, event or not. */
static void
on_check(int timer, void *aux)
{
    struct lv_watch *lw = aux;
    int state, reason;

    (void) timer;
    if (virDomainGetState(lw->dom, &state, &reason, 0) < 0) {
        if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
            lw->gone = "the domain no longer exists";
        }
        return;                 /* Else: libvirtd busy; next time. */
    }
    if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED) {
        lw->gone = state == VIR_DOMAIN_SHUTOFF ? "the domain is shut off"
                                               : "the domain crashed";
    }
}

/* ---- the watch ---- */

/* What the domain's job says: libvirt 9.0 refuses the statistics on the
 * destination of an incoming migration ("migration statistics are
 * available only on the source host", VIR_ERR_OPERATION_UNSUPPORTED):
 * that refusal is the answer.  Older and newer ones name the operation. */
static enum lvw_job
domain_job(virDomainPtr dom)
{
    virTypedParameterPtr params = NULL;
    int type, n = 0, op;
    enum lvw_job job = LVW_JOB_NONE;

    if (virDomainGetJobStats(dom, &type, &params, &n, 0) < 0) {
        return virGetLastErrorCode() == VIR_ERR_OPERATION_UNSUPPORTED
               ? LVW_JOB_MIGRATION_IN : LVW_JOB_UNKNOWN;
    }
    if (type != VIR_DOMAIN_JOB_NONE
        && virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION,
                                &op) == 1) {
        job = op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN
              ? LVW_JOB_MIGRATION_IN
              : op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT
              ? LVW_JOB_MIGRATION_OUT : LVW_JOB_NONE;
    }
    virTypedParamsFree(params, n);
    return job;
}

static virDomainPtr
lookup(virConnectPtr conn, const char *domain)
{
    virDomainPtr dom = NULL;

    if (uuid_syntax(domain)) {
        dom = virDomainLookupByUUIDString(conn, domain);
    }
    return dom ? dom : virDomainLookupByName(conn, domain);
}

static void
print_call(void *aux, long long int call_usec)
{
    const struct lv_watch *lw = aux;
    const char *vm = lw->o->call.vm;

    if (lw->w.late) {
        printf(VERB ": %s: %s; resume called now (late, undated)\n", vm,
               lw->w.why);
    } else {
        /* Arrival: when libvirt's client library handed us the event; it
         * carries no time of its own. */
        printf(VERB ": %s: %s received at %lld.%06lld: %s; resume called "
               "%lld us after it\n", vm,
               lvw_event_name(lw->event, lw->detail),
               lw->event_usec / 1000000, lw->event_usec % 1000000,
               lw->w.why, call_usec - lw->event_usec);
    }
}

static void
print_src_call(void *aux, long long int call_usec)
{
    const struct lv_watch *lw = aux;

    if (lw->src_end == LVW_SRC_WAIT && !lw->sw.late) {
        printf(VERB ": %s: SUSPENDED MIGRATED received at %lld.%06lld: "
               "paused called %lld us after it\n", lw->o->call.vm,
               lw->paused_usec / 1000000, lw->paused_usec % 1000000,
               call_usec - lw->paused_usec);
    } else {
        printf(VERB ": %s: %s: %s called\n", lw->o->call.vm, lw->sw.why,
               lw->src_end == LVW_SRC_LEFT ? "left"
               : lw->src_end == LVW_SRC_ABORT ? "abort" : "paused");
    }
}

/* --source: runs libvirt's event loop, calls paused at the pause, and left
 * or abort at the end.  Returns an exit code. */
static int
follow_source(struct lv_watch *lw)
{
    const char *vm = lw->o->call.vm;

    for (;;) {
        if (lw->src_paused_due) {
            lw->src_paused_due = false;
            lw->paused_rc = nm_hook_call_source(&lw->o->call, "paused",
                                                lw->paused_usec,
                                                print_src_call, lw);
        }
        if (lw->src_end == LVW_SRC_LEFT || lw->src_end == LVW_SRC_ABORT) {
            int rc = nm_hook_call_source(&lw->o->call,
                                         lw->src_end == LVW_SRC_LEFT
                                         ? "left" : "abort",
                                         lw->paused_usec, print_src_call,
                                         lw);

            return rc ? rc : lw->paused_rc > 0 ? lw->paused_rc : NM_EXIT_OK;
        } else if (lw->src_end == LVW_SRC_GIVE_UP) {
            return nm_fail(VERB ": %s: %s: %s: the migration did not "
                           "complete%s", vm,
                           lvw_event_name(lw->event, lw->detail), lw->sw.why,
                           lw->sw.paused ? " (paused was called: 'netmove "
                           "abort' by hand if the VM runs here)" : "");
        } else if (lw->gone || lw->closed || lw->timed_out) {
            return nm_fail(VERB ": %s: %s before the outgoing migration "
                           "ended (%s)", vm, lw->gone ? lw->gone
                           : lw->closed ? "the connection to libvirtd "
                             "closed" : "--timeout", lw->sw.why);
        }
        if (virEventRunDefaultImpl() < 0) {
            return nm_fail(VERB ": %s: libvirt's event loop: %s", vm,
                           lv_error());
        }
    }
}

/* Runs libvirt's event loop until the watch decides, the connection closes
 * or the timer fires.  Returns an exit code. */
static int
follow(struct lv_watch *lw)
{
    const char *vm = lw->o->call.vm;

    while (lw->act == LVW_WAIT && !lw->closed && !lw->timed_out
           && !lw->gone) {
        if (virEventRunDefaultImpl() < 0) {
            return nm_fail(VERB ": %s: libvirt's event loop: %s", vm,
                           lv_error());
        }
    }
    if (lw->act == LVW_CALL_RESUME) {
        return nm_hook_call_resume(&lw->o->call, lw->event_usec, print_call,
                                   lw);
    } else if (lw->act == LVW_GIVE_UP) {
        return nm_fail(VERB ": %s: %s: %s: no resume", vm,
                       lvw_event_name(lw->event, lw->detail), lw->w.why);
    } else if (lw->gone) {
        return nm_fail(VERB ": %s: %s (no event said so) before it ran "
                       "here (%s): no resume", vm, lw->gone, lw->w.why);
    } else if (lw->closed) {
        return nm_fail(VERB ": %s: the connection to libvirtd closed (%s) "
                       "before the domain ran here (%s): no resume", vm,
                       lw->close_reason == VIR_CONNECT_CLOSE_REASON_EOF
                       ? "end of file: libvirtd stopped or restarted"
                       : lw->close_reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE
                       ? "keepalive" : "error", lw->w.why);
    }
    return nm_fail(VERB ": %s: no RESUMED MIGRATED within %d s (%s)", vm,
                   lw->o->timeout_s, lw->w.why);
}

/* Registers for the domain's events, then reads its state, so that no
 * event is lost between; acts on the state.  Returns an exit code, or -1
 * to follow the events. */
static int
start(struct lv_watch *lw, virConnectPtr conn, virDomainPtr dom)
{
    const char *vm = lw->o->call.vm;
    virConnectDomainEventGenericCallback cb;
    enum lvw_job job = LVW_JOB_NONE;
    int state, reason;

    cb = VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle);
    if (virConnectDomainEventRegisterAny(conn, dom,
                                         VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb,
                                         lw, NULL) < 0) {
        return nm_fail(VERB ": %s: cannot follow the domain's events: %s",
                       vm, lv_error());
    }
    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        return nm_fail(VERB ": %s: the domain's state: %s", vm, lv_error());
    }
    if (state == VIR_DOMAIN_PAUSED || state == VIR_DOMAIN_RUNNING) {
        job = domain_job(dom);
    }
    if (lw->o->call.source) {
        enum lvw_src_action sa = lvw_src_start(&lw->sw, state, reason, job);

        printf(VERB ": %s: domain %s %s: %s\n", vm, virDomainGetName(dom),
               lvw_state_name(state, reason), lw->sw.why);
        fflush(stdout);
        if (sa == LVW_SRC_GIVE_UP) {
            return nm_fail(VERB ": %s: domain %s is %s: %s", vm,
                           lw->o->domain, lvw_state_name(state, reason),
                           lw->sw.why);
        }
        lw->src_paused_due = sa == LVW_SRC_PAUSED;
        lw->paused_usec = -1;
        return -1;
    }
    lw->act = lvw_start(&lw->w, state, reason, job);
    if (lw->act == LVW_CALL_RESUME) {
        return nm_hook_call_resume(&lw->o->call, -1, print_call, lw);
    } else if (lw->act == LVW_GIVE_UP) {
        return nm_fail(VERB ": %s: domain %s is %s: no resume", vm,
                       lw->o->domain, lvw_state_name(state, reason));
    }
    printf(VERB ": %s: domain %s %s: %s\n", vm, virDomainGetName(dom),
           lvw_state_name(state, reason), lw->w.why);
    fflush(stdout);
    return -1;
}

static int
watch(struct lv_opts *o, virConnectPtr conn)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    struct lv_watch lw = { .o = o, .act = LVW_WAIT, .paused_rc = -1 };
    virDomainPtr dom;
    int timer = -1, check, rc;

    lvw_init(&lw.w);
    lvw_src_init(&lw.sw);
    dom = lookup(conn, o->domain);
    if (!dom) {
        return nm_fail(VERB ": DOMAIN: no domain '%s' on %s: %s", o->domain,
                       o->uri, lv_error());
    }
    if (!o->call.vm) {
        if (virDomainGetUUIDString(dom, uuid) < 0) {
            rc = nm_fail(VERB ": %s: its UUID: %s", o->domain, lv_error());
            goto out_free_dom;
        }
        o->call.vm = uuid;
    }
    if (virConnectRegisterCloseCallback(conn, on_close, &lw, NULL) < 0) {
        rc = nm_fail(VERB ": %s: %s", o->call.vm, lv_error());
        goto out_free_dom;
    }
    if (o->timeout_s) {
        timer = virEventAddTimeout(o->timeout_s * 1000, on_timeout, &lw,
                                   NULL);
    }
    lw.dom = dom;
    check = virEventAddTimeout(CHECK_INTERVAL_MS, on_check, &lw, NULL);
    rc = start(&lw, conn, dom);
    if (rc < 0) {
        rc = o->call.source ? follow_source(&lw) : follow(&lw);
    }
    if (timer >= 0) {
        virEventRemoveTimeout(timer);
    }
    if (check >= 0) {
        virEventRemoveTimeout(check);
    }
    virConnectUnregisterCloseCallback(conn, on_close);
out_free_dom:
    virDomainFree(dom);
    return rc;
}

static int
cmd_watch_libvirt(int argc, char *argv[])
{
    struct lv_opts o = { 0 };
    virConnectPtr conn;
    int rc;

    rc = parse_lv_opts(argc, argv, &o);
    if (rc) {
        return rc;
    }
    fatal_ignore_sigpipe();
    virSetErrorFunc(NULL, quiet_error);
    if (virEventRegisterDefaultImpl() < 0) {
        return nm_fail(VERB ": libvirt's event loop: %s", lv_error());
    }
    /* Read-only: events, state and job statistics need no more. */
    conn = virConnectOpenReadOnly(o.uri);
    if (!conn) {
        return nm_fail(VERB ": cannot connect to %s: %s", o.uri, lv_error());
    }
    /* A libvirtd that hangs is noticed within 15 s, as one that exits. */
    virConnectSetKeepAlive(conn, 5, 3);
    rc = watch(&o, conn);
    virConnectClose(conn);
    return rc;
}
