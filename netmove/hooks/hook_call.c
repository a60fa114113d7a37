/* netmove CLI: the call of resume shared by the hook adapters (watch-qmp,
 * watch-libvirt), and the checks of their common options. */
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

/* Starts --exec's command with sh -c and the environment set; stores its
 * pid in '*pidp'.  Returns 0 or a negative errno. */
static int
spawn_exec(const struct nm_hook_call *c, long long int resumed_usec,
           pid_t *pidp)
{
    pid_t pid;

    setenv("NETMOVE_VM", c->vm, 1);
    if (c->from) {
        setenv("NETMOVE_SRC_HOST", c->from, 1);
    } else {
        unsetenv("NETMOVE_SRC_HOST");   /* Not a stale one: netmoved asks. */
    }
    if (resumed_usec >= 0) {
        char us[32];

        snprintf(us, sizeof us, "%lld", resumed_usec);
        setenv("NETMOVE_RESUMED_US", us, 1);
    } else {
        unsetenv("NETMOVE_RESUMED_US");
    }
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

/* 'netmove resume VM [HOST]' through the local netmoved. */
static int
call_netmoved(const struct nm_hook_call *c, char **resultp)
{
    char *ctl = nm_client_ctl_path(c->ctl);
    char *args[2] = { CONST_CAST(char *, c->vm),
                      CONST_CAST(char *, c->from) };
    char *error;
    int rc;

    rc = nm_client_call(ctl, "resume", c->from ? 2 : 1, args,
                        c->call_timeout_s * 1000, resultp, &error);
    if (rc) {
        nm_fail("%s: resume %s through %s: %s", c->verb, c->vm, ctl,
                error ? error : ovs_strerror(-rc));
        rc = nm_exit_from_error(rc);
    }
    free(ctl);
    free(error);
    return rc;
}

int
nm_hook_call_resume(const struct nm_hook_call *c, long long int resumed_usec,
                    nm_hook_report_func *report, void *aux)
{
    long long int call_usec = time_wall_usec();
    long long int t0 = time_msec();
    char *result = NULL;
    pid_t pid = 0;
    int rc;

    rc = c->exec ? spawn_exec(c, resumed_usec, &pid)
                 : call_netmoved(c, &result);
    report(aux, call_usec);
    fflush(stdout);
    if (c->exec) {
        if (!rc) {
            rc = wait_exec(pid, c->call_timeout_s * 1000);
        }
        if (rc < 0) {
            return nm_fail("%s: --exec: %s", c->verb, rc == -ETIMEDOUT
                           ? "still running at --call-timeout, killed"
                           : ovs_strerror(-rc));
        } else if (rc) {
            return nm_fail("%s: --exec: command exited %d", c->verb, rc);
        }
    } else {
        if (result && result[0]) {
            fputs(result, stdout);
        }
        free(result);
        if (rc) {
            return rc;
        }
    }
    printf("%s: %s: resume done in %lld ms\n", c->verb, c->vm,
           time_msec() - t0);
    return NM_EXIT_OK;
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
    case NM_HOOK_OPT_TIMEOUT:
        return nm_parse_seconds(c->verb, "--timeout", arg, true, timeout_s);
    case NM_HOOK_OPT_CALL_TIMEOUT:
        return nm_parse_seconds(c->verb, "--call-timeout", arg, false,
                                &c->call_timeout_s);
    default:
        return -1;
    }
}
