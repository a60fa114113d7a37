/* netmove CLI: the call of a phase shared by the hook adapters (watch-qmp,
 * watch-libvirt: resume; with --source paused, left, abort), and the checks
 * of their common options. */
#include "netmove/hooks/hook_call.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openvswitch/poll-loop.h"
#include "timeval.h"
#include "util.h"

#include "netmove/cli/cli.h"
#include "netmove/cli/client.h"

#define HOST_NAME_MAX_LEN 64

/* True if 's' is a host name as netmoved's configuration names peers. */
static bool
nm_host_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (!n || n > HOST_NAME_MAX_LEN || s[0] == '-' || s[0] == '.') {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789.-_") == n;
}

/* Parses 'arg', the value of option 'opt' of 'verb', as a number of seconds
 * (1 to NM_HOOK_MAX_TIMEOUT_S, or 0 if 'zero_ok': none) into '*s'.  Returns
 * 0, or NM_EXIT_USAGE after naming the option on stderr. */
static int
nm_parse_seconds(const char *verb, const char *opt, const char *arg,
                 bool zero_ok, int *s)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (!arg[0] || *end || v < !zero_ok || v > NM_HOOK_MAX_TIMEOUT_S) {
        return nm_usage_error("%s: %s: '%s' is not a number of seconds "
                              "(%d-%d%s)", verb, opt, arg, !zero_ok,
                              NM_HOOK_MAX_TIMEOUT_S,
                              zero_ok ? ", 0: no limit" : "");
    }
    *s = v;
    return 0;
}

int
nm_hook_call_check(const struct nm_hook_call *c)
{
    if (c->from && !nm_host_name_valid(c->from)) {
        return nm_usage_error("%s: --from: invalid host name '%s' "
                              "(1-%d of A-Z a-z 0-9 . - _)", c->verb,
                              c->from, HOST_NAME_MAX_LEN);
    }
    if (c->to && !c->source) {
        return nm_usage_error("%s: --to: only with --source (the "
                              "destination of an outgoing migration)",
                              c->verb);
    }
    if (c->to && !nm_host_name_valid(c->to)) {
        return nm_usage_error("%s: --to: invalid host name '%s' "
                              "(1-%d of A-Z a-z 0-9 . - _)", c->verb,
                              c->to, HOST_NAME_MAX_LEN);
    }
    if (c->from && c->source) {
        return nm_usage_error("%s: --from: meaningless with --source (this "
                              "host is the source; --to names the "
                              "destination)", c->verb);
    }
    if (c->exec && !c->exec[0]) {
        return nm_usage_error("%s: --exec: empty command", c->verb);
    }
    if (c->exec && c->ctl) {
        return nm_usage_error("%s: --ctl: meaningless with --exec (the "
                              "command is run, netmoved is not called)",
                              c->verb);
    }
    return 0;
}

/* Sets 'name' to 'value' if it is not NULL, else removes it (no stale
 * value: netmoved asks). */
static void
set_env(const char *name, const char *value)
{
    if (value) {
        setenv(name, value, 1);
    } else {
        unsetenv(name);
    }
}

/* Sets 'name' to 'usec' if it is not negative, else removes it. */
static void
set_env_usec(const char *name, long long int usec)
{
    char us[32];

    snprintf(us, sizeof us, "%lld", usec);
    set_env(name, usec >= 0 ? us : NULL);
}

/* Starts --exec's command for 'phase' with sh -c and the environment set;
 * stores its pid in '*pidp'.  Returns 0 or a negative errno. */
static int
spawn_exec(const struct nm_hook_call *c, const char *phase,
           long long int usec, pid_t *pidp)
{
    bool resume = !strcmp(phase, "resume");
    pid_t pid;

    setenv("NETMOVE_PHASE", phase, 1);
    setenv("NETMOVE_VM", c->vm, 1);
    set_env("NETMOVE_SRC_HOST", resume ? c->from : NULL);
    set_env_usec("NETMOVE_RESUMED_US", resume ? usec : -1);
    set_env("NETMOVE_DST_HOST", resume ? NULL : c->to);
    set_env_usec("NETMOVE_PAUSED_US", resume ? -1 : usec);
    pid = fork();
    if (pid < 0) {
        return -errno;
    } else if (!pid) {
        setpgid(0, 0);          /* So that a timeout ends all of it. */
        signal(SIGPIPE, SIG_DFL);   /* Ignored by us, default for CMD. */
        execl("/bin/sh", "sh", "-c", c->exec, (char *) NULL);
        _exit(127);
    }
    *pidp = pid;
    return 0;
}

/* Waits at most 'limit_ms' for 'pid', killing its process group then.
 * Returns its exit status (0-255, 128+signal) or a negative errno. */
static int
wait_exec(pid_t pid, int limit_ms)
{
    long long int deadline = time_msec() + limit_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        } else if (r < 0 && errno != EINTR) {
            return -errno;
        } else if (time_msec() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -ETIMEDOUT;
        }
        /* The call is made; this wait is off the critical path. */
        poll_timer_wait(5);
        poll_block();
    }
}

/* 'netmove PHASE VM [HOST]' through the local netmoved: HOST is --from for
 * resume, --to for paused and left, none for abort.  The watchers see the
 * pause after the fact (QMP's STOP, libvirt's event): 'paused' says the VM
 * has stopped already ("stopped"), so that every frame caught is relayed. */
static int
call_netmoved(const struct nm_hook_call *c, const char *phase,
              char **resultp)
{
    char *ctl = nm_client_ctl_path(c->ctl);
    const char *host = !strcmp(phase, "resume") ? c->from
                       : strcmp(phase, "abort") ? c->to : NULL;
    bool paused = !strcmp(phase, "paused");
    char *args[3] = { CONST_CAST(char *, c->vm),
                      CONST_CAST(char *, host ? host : "-"), "stopped" };
    char *error;
    int rc;

    rc = nm_client_call(ctl, phase, paused ? 3 : host ? 2 : 1, args,
                        c->call_timeout_s * 1000, resultp, &error);
    if (rc) {
        nm_fail("%s: %s %s through %s: %s", c->verb, phase, c->vm, ctl,
                error ? error : ovs_strerror(-rc));
        rc = nm_exit_from_error(rc);
    }
    free(ctl);
    free(error);
    return rc;
}

static int
call_phase(const struct nm_hook_call *c, const char *phase,
           long long int usec, nm_hook_report_func *report, void *aux)
{
    long long int call_usec = time_wall_usec();
    long long int t0 = time_msec();
    char *result = NULL;
    pid_t pid = 0;
    int rc;

    rc = c->exec ? spawn_exec(c, phase, usec, &pid)
                 : call_netmoved(c, phase, &result);
    report(aux, call_usec);
    fflush(stdout);
    if (c->exec) {
        if (!rc) {
            rc = wait_exec(pid, c->call_timeout_s * 1000);
        }
        if (rc < 0) {
            return nm_fail("%s: %s: --exec: %s", c->verb, phase,
                           rc == -ETIMEDOUT
                           ? "still running at --call-timeout, killed"
                           : ovs_strerror(-rc));
        } else if (rc) {
            return nm_fail("%s: %s: --exec: command exited %d", c->verb,
                           phase, rc);
        }
    } else {
        if (result && result[0]) {
            fputs(result, stdout);
            if (result[strlen(result) - 1] != '\n') {
                putchar('\n');
            }
        }
        free(result);
        if (rc) {
            return rc;
        }
    }
    printf("%s: %s: %s done in %lld ms\n", c->verb, c->vm, phase,
           time_msec() - t0);
    fflush(stdout);
    return NM_EXIT_OK;
}

int
nm_hook_call_resume(const struct nm_hook_call *c, long long int resumed_usec,
                    nm_hook_report_func *report, void *aux)
{
    return call_phase(c, "resume", resumed_usec, report, aux);
}

int
nm_hook_call_source(const struct nm_hook_call *c, const char *phase,
                    long long int paused_usec,
                    nm_hook_report_func *report, void *aux)
{
    return call_phase(c, phase, paused_usec, report, aux);
}

int
nm_hook_call_option(struct nm_hook_call *c, int *timeout_s, int opt,
                    const char *arg)
{
    switch (opt) {
    case NM_HOOK_OPT_FROM:
        c->from = arg;
        return 0;
    case NM_HOOK_OPT_EXEC:
        c->exec = arg;
        return 0;
    case NM_HOOK_OPT_CTL:
        c->ctl = arg;
        return 0;
    case NM_HOOK_OPT_SOURCE:
        c->source = true;
        return 0;
    case NM_HOOK_OPT_TO:
        c->to = arg;
        return 0;
    case NM_HOOK_OPT_TIMEOUT:
        return nm_parse_seconds(c->verb, "--timeout", arg, true, timeout_s);
    case NM_HOOK_OPT_CALL_TIMEOUT:
        return nm_parse_seconds(c->verb, "--call-timeout", arg, false,
                                &c->call_timeout_s);
    default:
        return -1;
    }
}
