/* Tests ovs/fdb.c's call to ovs-vswitchd's control socket against a fake
 * ovs-vswitchd (a child process holding the pidfile's lock, as a daemon
 * does, and listening on RUNDIR/ovs-vswitchd.PID.ctl): one that answers,
 * and one that accepts and never answers, which must not hang the caller
 * (netmoved's loop calls nmovs_fdb_flush() at confirm). */
#include "ovs/ovs.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "timeval.h"
#include "util.h"

struct fake_vswitchd {
    char rundir[64];
    pid_t pid;
};

/* The child: locks the pidfile, listens, and answers each request with
 * 'reply' (a JSON-RPC reply, "%s" where the request's id goes), or never
 * if NULL. */
static void
fake_serve(const char *rundir, const char *reply, int ready)
{
    char path[128];
    int fd;

    snprintf(path, sizeof path, "%s/ovs-vswitchd.pid", rundir);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    struct flock lck = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    if (fd < 0 || fcntl(fd, F_SETLK, &lck) || dprintf(fd, "%ld\n",
                                                     (long) getpid()) < 0) {
        _exit(1);
    }

    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/ovs-vswitchd.%ld.ctl",
             rundir, (long) getpid());
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *) &sun, sizeof sun)
        || listen(s, 4)) {
        _exit(1);
    }
    if (write(ready, "x", 1) != 1) {
        _exit(1);
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        char buf[4096];

        if (c < 0) {
            _exit(1);
        }
        ssize_t n = read(c, buf, sizeof buf - 1);
        if (n > 0 && reply) {
            char id[32] = "null", out[512];
            buf[n] = '\0';
            const char *p = strstr(buf, "\"id\":");
            if (p) {
                p += 5;
                snprintf(id, sizeof id, "%.*s", (int) strcspn(p, ",}"), p);
            }
            const char *at = strstr(reply, "%s");
            snprintf(out, sizeof out, "%.*s%s%s", (int) (at - reply), reply,
                     id, at + 2);
            if (write(c, out, strlen(out)) < 0) {
                _exit(1);
            }
        }
        if (!reply) {
            pause();            /* Accepted, read, never answers. */
        }
        close(c);
    }
}

static void
fake_start(struct fake_vswitchd *f, const char *reply)
{
    int p[2];
    char c;

    snprintf(f->rundir, sizeof f->rundir, "/tmp/nm-test-fdb.XXXXXX");
    assert_non_null(mkdtemp(f->rundir));
    assert_int_equal(pipe(p), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (!f->pid) {
        close(p[0]);
        fake_serve(f->rundir, reply, p[1]);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
}

static void
fake_stop(struct fake_vswitchd *f)
{
    char cmd[128];

    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->rundir);
    assert_int_equal(system(cmd), 0);
}

static void
test_flush_answered(void **state OVS_UNUSED)
{
    struct fake_vswitchd f;
    char err[256] = "";

    fake_start(&f, "{\"id\":%s,\"result\":\"table successfully flushed\","
               "\"error\":null}");
    assert_int_equal(nmovs_fdb_flush(f.rundir, "br0", err, sizeof err), 0);
    fake_stop(&f);
}

static void
test_flush_refused(void **state OVS_UNUSED)
{
    struct fake_vswitchd f;
    char err[256] = "";

    fake_start(&f, "{\"id\":%s,\"result\":null,"
               "\"error\":\"no such bridge\\n\"}");
    assert_int_equal(nmovs_fdb_flush(f.rundir, "br9", err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "no such bridge"));
    fake_stop(&f);
}

/* A hung ovs-vswitchd: the call gives up at its bound (2 s), it does not
 * wait for ever as libopenvswitch's unixctl_client_transact() does. */
static void
test_flush_hung(void **state OVS_UNUSED)
{
    struct fake_vswitchd f;
    char err[256] = "";

    fake_start(&f, NULL);
    long long int start = time_msec();
    assert_int_equal(nmovs_fdb_flush(f.rundir, "br0", err, sizeof err),
                     -ETIMEDOUT);
    long long int took = time_msec() - start;
    assert_true(took >= 1900 && took < 5000);
    assert_non_null(strstr(err, "timed out"));
    fake_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_answered),
        cmocka_unit_test(test_flush_refused),
        cmocka_unit_test(test_flush_hung),
    };

    set_program_name("test_fdb");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
