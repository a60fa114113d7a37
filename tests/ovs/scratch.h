/* A scratch Open vSwitch for the ovs/ unit tests that need a real one
 * (tests/ovs/scratch-ovs.sh), and a helper to read state back with the
 * reference tools.  Header-only: each test is its own program. */
#ifndef NETMOVE_TESTS_OVS_SCRATCH_H
#define NETMOVE_TESTS_OVS_SCRATCH_H 1

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char rundir[64];
static char netns[32];

/* Runs the shell command printf('fmt', ...) and returns its stdout
 * (malloc'd, NUL-terminated). */
static inline char * __attribute__((format(printf, 1, 2)))
capture(const char *fmt, ...)
{
    char cmd[1024];
    va_list args;

    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);

    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    pclose(p);
    return out;
}

static inline int
setup(void **state)
{
    char cmd[256];
    (void) state;

    snprintf(rundir, sizeof rundir, "/tmp/nmovs-of-%d", (int) getpid());
    snprintf(netns, sizeof netns, "nmovs-of-%d", (int) getpid());
    snprintf(cmd, sizeof cmd, "tests/ovs/scratch-ovs.sh up %s %s >/dev/null",
             rundir, netns);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "tests/ovs/scratch-ovs.sh down %s %s",
                 rundir, netns);
        if (system(cmd)) {
            /* Nothing more to undo. */
        }
        return -1;
    }
    return 0;
}

static inline int
teardown(void **state)
{
    char cmd[256];
    (void) state;

    snprintf(cmd, sizeof cmd, "tests/ovs/scratch-ovs.sh down %s %s",
             rundir, netns);
    return system(cmd) ? -1 : 0;
}

/* Skips the whole program (exit 77) unless it can start Open vSwitch. */
static inline void
need_root_and_ovs(void)
{
    if (geteuid() != 0 || system("command -v ovs-vswitchd >/dev/null")) {
        printf("skipped: needs root and Open vSwitch\n");
        exit(77);
    }
}

#endif /* tests/ovs/scratch.h */
