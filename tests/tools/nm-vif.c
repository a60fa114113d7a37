/* nm-vif: plays a lab VM's QEMU (netns-lab/README.md "The VM's link").
 *
 *   nm-vif serve --netns VMNS --nic DEV [--host NETNS TAP] --socket PATH
 *                [--pidfile PATH] [--detach]
 *   nm-vif ctl SOCKET...
 *
 * serve: enters the VM's namespace VMNS, holds the VM side's TAP (DEV, a
 * persistent tap the lab made there, in the VM's eth0 bridge) and the host
 * side's TAP (TAP, a persistent tap in host namespace NETNS: opened after
 * setns() into it), and copies frames both ways between the VM's tap and
 * the current host tap.  Control over the unix socket PATH, one command a
 * line, one answer a line ("ok ..." or "error ..."):
 *
 *   attach NETNS TAP  open the destination's tap: frames sent to it queue in
 *                     its tun queue (500 frames) until resume, as with the
 *                     destination QEMU of an incoming migration
 *   pause             stop reading every fd: frames to the VM wait in the
 *                     current tap's queue, the VM's output in DEV's queue;
 *                     "ok paused mono_us=M wall_us=W"
 *   resume            close the current tap if a tap is attached (its queued
 *                     frames die, as with the source QEMU's exit), make the
 *                     attached tap current, read again;
 *                     "ok resumed mono_us=M wall_us=W pause_us=P current=NS/TAP"
 *   cancel            the migration failed: close the attached tap, resume
 *                     on the current one; "ok cancelled ..." as resume
 *   status            "ok state=running|paused current=NS/TAP attached=NS/TAP|-
 *                     to_vm=N from_vm=N write_errors=N"
 *
 * A command is executed before any frame read after it arrived: frames are
 * copied one per fd per poll() pass, and a pass that ran a command copies
 * none.  Bounded: exits when VMNS disappears (checked every second), when
 * DEV fails, or on SIGTERM/SIGINT.  --detach returns once the socket
 * listens (exit 0) or setup failed (exit 1).
 *
 * ctl: connects to every SOCKET, then for each line read on stdin sends it
 * to all of them at once and prints their answers, one line each, in the
 * order of the arguments (so that a batch of VMs pauses together, and a
 * migrator's commands need no process start-up between pause and resume).
 *
 * Exit codes: 0 done, 1 failure, 2 bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 8
#define LINE_MAX_LEN 256
#define NAME_LEN 64
#define FRAME_MAX 65536

struct vif_port {
    int fd;                     /* -1: none */
    char netns[NAME_LEN];
    char dev[IFNAMSIZ];
};

struct vif_client {
    int fd;                     /* -1: free */
    char buf[LINE_MAX_LEN];
    size_t len;
};

struct vif {
    char vm_netns[NAME_LEN];
    struct stat vm_ns_stat;     /* the VM namespace's nsfs inode */
    int nic;                    /* the VM side's tap */
    struct vif_port cur;        /* the host tap frames go to now */
    struct vif_port att;        /* the destination's, attached */
    bool paused;
    long long pause_mono, pause_wall;
    int lsock;
    struct vif_client clients[MAX_CLIENTS];
    unsigned long long to_vm, from_vm, write_errors;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void) sig;
    stop = 1;
}

static long long
clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A name fit for /run/netns/NAME or a device: not empty, no '/', short. */
static bool
name_ok(const char *s, size_t max)
{
    return s[0] && strlen(s) < max && !strchr(s, '/') && strcmp(s, ".")
           && strcmp(s, "..");
}

/* Enters network namespace 'name' (/run/netns/NAME).  Returns 0 or a
 * negative errno. */
static int
enter_netns(const char *name)
{
    char path[128];
    int fd, rc = 0;

    snprintf(path, sizeof path, "/run/netns/%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (setns(fd, CLONE_NEWNET) < 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

/* Opens the persistent tap 'dev' of the current namespace, nonblocking.
 * Returns the fd or a negative errno. */
static int
open_tap_here(const char *dev)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int error = -errno;

        close(fd);
        return error;
    }
    return fd;
}

/* Opens tap 'dev' of namespace 'netns' into 'p', coming back to the VM's
 * namespace.  Returns 0 or a negative errno, with a reason in 'err'. */
static int
open_host_tap(struct vif *v, const char *netns, const char *dev,
              struct vif_port *p, char *err, size_t errlen)
{
    int self, fd, rc;

    if (!name_ok(netns, NAME_LEN) || !name_ok(dev, IFNAMSIZ)) {
        snprintf(err, errlen, "bad name '%s' '%s'", netns, dev);
        return -EINVAL;
    }
    rc = enter_netns(netns);
    if (rc < 0) {
        snprintf(err, errlen, "netns '%s': %s", netns, strerror(-rc));
        return rc;
    }
    fd = open_tap_here(dev);
    self = enter_netns(v->vm_netns);
    if (self < 0) {
        /* Stranded in another namespace: nothing sane is left to do. */
        fprintf(stderr, "nm-vif: back to netns '%s': %s\n", v->vm_netns,
                strerror(-self));
        exit(1);
    }
    if (fd < 0) {
        snprintf(err, errlen, "tap '%s' in '%s': %s", dev, netns,
                 strerror(-fd));
        return fd;
    }
    p->fd = fd;
    snprintf(p->netns, sizeof p->netns, "%s", netns);
    snprintf(p->dev, sizeof p->dev, "%s", dev);
    return 0;
}

static void
port_close(struct vif_port *p)
{
    if (p->fd >= 0) {
        close(p->fd);
    }
    p->fd = -1;
    p->netns[0] = p->dev[0] = '\0';
}

static const char *
port_name(const struct vif_port *p, char *buf, size_t len)
{
    if (p->fd < 0) {
        return "-";
    }
    snprintf(buf, len, "%s/%s", p->netns, p->dev);
    return buf;
}

/* Ends a pause; fills 'ans' with the moment and the pause's length. */
static void
unpause(struct vif *v, const char *what, char *ans, size_t len)
{
    long long mono = clock_us(CLOCK_MONOTONIC);
    long long wall = clock_us(CLOCK_REALTIME);
    char cur[NAME_LEN + IFNAMSIZ + 2];

    v->paused = false;
    snprintf(ans, len, "ok %s mono_us=%lld wall_us=%lld pause_us=%lld current=%s",
             what, mono, wall, mono - v->pause_mono,
             port_name(&v->cur, cur, sizeof cur));
}

/* Runs one command line 'line', answer in 'ans'. */
static void
run_command(struct vif *v, char *line, char *ans, size_t len)
{
    char *save, *verb = strtok_r(line, " \t", &save);
    char *a1 = verb ? strtok_r(NULL, " \t", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t", &save) : NULL;
    char *extra = a2 ? strtok_r(NULL, " \t", &save) : NULL;
    char err[160];

    if (!verb) {
        snprintf(ans, len, "error empty command");
    } else if (!strcmp(verb, "attach")) {
        struct vif_port p = { .fd = -1 };

        if (!a2 || extra) {
            snprintf(ans, len, "error usage: attach NETNS TAP");
        } else if (open_host_tap(v, a1, a2, &p, err, sizeof err) < 0) {
            snprintf(ans, len, "error attach: %s", err);
        } else {
            port_close(&v->att);
            v->att = p;
            snprintf(ans, len, "ok attached %s/%s", a1, a2);
        }
    } else if (a1) {
        snprintf(ans, len, "error %s: takes no argument", verb);
    } else if (!strcmp(verb, "pause")) {
        if (v->paused) {
            snprintf(ans, len, "error pause: already paused");
            return;
        }
        v->paused = true;
        v->pause_mono = clock_us(CLOCK_MONOTONIC);
        v->pause_wall = clock_us(CLOCK_REALTIME);
        snprintf(ans, len, "ok paused mono_us=%lld wall_us=%lld",
                 v->pause_mono, v->pause_wall);
    } else if (!strcmp(verb, "resume")) {
        if (!v->paused) {
            snprintf(ans, len, "error resume: not paused");
            return;
        }
        if (v->att.fd >= 0) {
            /* The source QEMU exits: its tap's queue dies with the fd. */
            port_close(&v->cur);
            v->cur = v->att;
            v->att.fd = -1;
        }
        unpause(v, "resumed", ans, len);
    } else if (!strcmp(verb, "cancel")) {
        port_close(&v->att);
        if (v->paused) {
            unpause(v, "cancelled", ans, len);
        } else {
            snprintf(ans, len, "ok cancelled");
        }
    } else if (!strcmp(verb, "status")) {
        char cur[NAME_LEN + IFNAMSIZ + 2], att[NAME_LEN + IFNAMSIZ + 2];

        snprintf(ans, len, "ok state=%s current=%s attached=%s to_vm=%llu "
                 "from_vm=%llu write_errors=%llu",
                 v->paused ? "paused" : "running",
                 port_name(&v->cur, cur, sizeof cur),
                 port_name(&v->att, att, sizeof att),
                 v->to_vm, v->from_vm, v->write_errors);
    } else {
        snprintf(ans, len, "error unknown command '%.40s'", verb);
    }
}

static void
client_close(struct vif_client *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* Reads what client 'c' sent and runs its complete lines.  Returns the
 * number of commands run. */
static int
client_input(struct vif *v, struct vif_client *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    int ran = 0;
    char *nl;

    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return 0;
        }
        client_close(c);
        return 0;
    }
    c->len += n;
    while ((nl = memchr(c->buf, '\n', c->len))) {
        char ans[LINE_MAX_LEN + 128];
        size_t used = nl - c->buf + 1;

        *nl = '\0';
        if (nl > c->buf && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        run_command(v, c->buf, ans, sizeof ans);
        ran++;
        strcat(ans, "\n");
        if (write(c->fd, ans, strlen(ans)) < 0) {
            client_close(c);
            return ran;
        }
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
    if (c->len == sizeof c->buf) {
        static const char too_long[] = "error line too long\n";

        if (write(c->fd, too_long, sizeof too_long - 1) < 0) {
            /* Closed below anyway. */
        }
        client_close(c);
    }
    return ran;
}

static void
accept_client(struct vif *v)
{
    int fd = accept4(v->lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        return;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (v->clients[i].fd < 0) {
            v->clients[i].fd = fd;
            v->clients[i].len = 0;
            return;
        }
    }
    close(fd);
}

/* Copies one frame from 'from' to 'to' (-1: dropped, an unplugged NIC).
 * Returns 0, or a negative errno if 'from' failed. */
static int
copy_frame(struct vif *v, int from, int to, unsigned long long *count)
{
    static unsigned char frame[FRAME_MAX];
    ssize_t n = read(from, frame, sizeof frame);

    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    }
    if (to >= 0) {
        if (write(to, frame, n) == n) {
            (*count)++;
        } else {
            v->write_errors++;
        }
    }
    return 0;
}

/* True while the VM's namespace is still the one we entered. */
static bool
vm_alive(const struct vif *v)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof path, "/run/netns/%s", v->vm_netns);
    return !stat(path, &st) && st.st_ino == v->vm_ns_stat.st_ino
           && st.st_dev == v->vm_ns_stat.st_dev;
}

static int
serve_loop(struct vif *v)
{
    long long next_check = 0;

    while (!stop) {
        struct pollfd pfd[2 + 1 + MAX_CLIENTS];
        int n = 0, i_nic = -1, i_cur = -1, ran = 0;

        pfd[n++] = (struct pollfd) { .fd = v->lsock, .events = POLLIN };
        for (int i = 0; i < MAX_CLIENTS; i++) {
            pfd[n++] = (struct pollfd) { .fd = v->clients[i].fd,
                                         .events = POLLIN };
        }
        if (!v->paused) {
            i_nic = n;
            pfd[n++] = (struct pollfd) { .fd = v->nic, .events = POLLIN };
            if (v->cur.fd >= 0) {
                i_cur = n;
                pfd[n++] = (struct pollfd) { .fd = v->cur.fd,
                                             .events = POLLIN };
            }
        }
        if (poll(pfd, n, 1000) < 0 && errno != EINTR) {
            fprintf(stderr, "nm-vif: poll: %s\n", strerror(errno));
            return 1;
        }
        if (clock_us(CLOCK_MONOTONIC) >= next_check) {
            if (!vm_alive(v)) {
                return 0;
            }
            next_check = clock_us(CLOCK_MONOTONIC) + 1000000;
        }
        /* Commands first: no frame read after a command overtakes it. */
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (pfd[1 + i].revents && v->clients[i].fd >= 0) {
                ran += client_input(v, &v->clients[i]);
            }
        }
        if (pfd[0].revents & POLLIN) {
            accept_client(v);
        }
        if (ran || v->paused) {
            continue;
        }
        if (i_nic >= 0 && pfd[i_nic].revents) {
            int rc = copy_frame(v, v->nic, v->cur.fd, &v->from_vm);

            if (rc < 0) {
                fprintf(stderr, "nm-vif: VM tap: %s\n", strerror(-rc));
                return 1;
            }
        }
        if (i_cur >= 0 && pfd[i_cur].revents && v->cur.fd >= 0) {
            if (copy_frame(v, v->cur.fd, v->nic, &v->to_vm) < 0) {
                /* The host's tap went away (deleted): an unplugged NIC. */
                port_close(&v->cur);
            }
        }
    }
    return 0;
}

static int
listen_on(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof sun.sun_path) {
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *) &sun, sizeof sun) < 0
        || listen(fd, MAX_CLIENTS) < 0) {
        int error = -errno;

        close(fd);
        return error;
    }
    return fd;
}

/* The serve's set-up: namespace, taps, socket, pidfile.  Returns 0 or 1
 * with a reason in 'err'. */
static int
serve_setup(struct vif *v, const char *nic, const char *host_ns,
            const char *host_tap, const char *sock, const char *pidfile,
            char *err, size_t errlen)
{
    int rc;

    rc = enter_netns(v->vm_netns);
    if (rc < 0) {
        snprintf(err, errlen, "--netns '%s': %s", v->vm_netns, strerror(-rc));
        return 1;
    }
    if (stat("/proc/self/ns/net", &v->vm_ns_stat) < 0) {
        snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
        return 1;
    }
    v->nic = open_tap_here(nic);
    if (v->nic < 0) {
        snprintf(err, errlen, "--nic '%s': %s", nic, strerror(-v->nic));
        return 1;
    }
    if (host_ns && open_host_tap(v, host_ns, host_tap, &v->cur, err,
                                 errlen) < 0) {
        return 1;
    }
    v->lsock = listen_on(sock);
    if (v->lsock < 0) {
        snprintf(err, errlen, "--socket '%s': %s", sock, strerror(-v->lsock));
        return 1;
    }
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");

        if (!f || fprintf(f, "%ld\n", (long) getpid()) < 0 || fclose(f)) {
            snprintf(err, errlen, "--pidfile '%s': %s", pidfile,
                     strerror(errno));
            return 1;
        }
    }
    return 0;
}

static int
usage_error(const char *fmt, ...)
{
    va_list args;

    fputs("nm-vif: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputs("\n", stderr);
    return 2;
}

static int
cmd_serve(int argc, char *argv[])
{
    static const struct option opts[] = {
        {"netns", required_argument, NULL, 'n'},
        {"nic", required_argument, NULL, 'i'},
        {"host", required_argument, NULL, 'H'},
        {"socket", required_argument, NULL, 's'},
        {"pidfile", required_argument, NULL, 'p'},
        {"detach", no_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *nic = NULL, *host_ns = NULL, *host_tap = NULL, *sock = NULL;
    const char *pidfile = NULL, *vm_ns = NULL;
    struct vif v = { .nic = -1, .cur.fd = -1, .att.fd = -1, .lsock = -1 };
    char err[256] = "";
    int c, rc, ready[2] = { -1, -1 };
    bool detach = false;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': vm_ns = optarg; break;
        case 'i': nic = optarg; break;
        case 'H':
            host_ns = optarg;
            if (optind >= argc) {
                return usage_error("--host: needs NETNS TAP");
            }
            host_tap = argv[optind++];
            break;
        case 's': sock = optarg; break;
        case 'p': pidfile = optarg; break;
        case 'd': detach = true; break;
        default: return 2;
        }
    }
    if (optind != argc) {
        return usage_error("serve: unexpected argument '%s'", argv[optind]);
    }
    if (!vm_ns || !name_ok(vm_ns, NAME_LEN)) {
        return usage_error("--netns: '%s' is not a namespace name",
                           vm_ns ? vm_ns : "");
    }
    if (!nic || !name_ok(nic, IFNAMSIZ)) {
        return usage_error("--nic: '%s' is not a device name", nic ? nic : "");
    }
    if (!sock) {
        return usage_error("--socket: missing");
    }
    snprintf(v.vm_netns, sizeof v.vm_netns, "%s", vm_ns);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        v.clients[i].fd = -1;
    }

    if (detach) {
        pid_t pid;

        if (pipe2(ready, O_CLOEXEC) < 0) {
            perror("nm-vif: pipe");
            return 1;
        }
        pid = fork();
        if (pid < 0) {
            perror("nm-vif: fork");
            return 1;
        }
        if (pid > 0) {
            /* The parent returns once the child listens, or failed. */
            char msg[256];
            ssize_t n;

            close(ready[1]);
            n = read(ready[0], msg, sizeof msg - 1);
            if (n > 0 && msg[0] == '\0') {
                return 0;
            }
            msg[n > 0 ? n : 0] = '\0';
            fprintf(stderr, "nm-vif: %s\n", n > 0 ? msg : "set-up failed");
            return 1;
        }
        close(ready[0]);
        setsid();
    }

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    rc = serve_setup(&v, nic, host_ns, host_tap, sock, pidfile, err,
                     sizeof err);
    if (detach) {
        if (write(ready[1], rc ? err : "", rc ? strlen(err) : 1) < 0) {
            /* The parent is gone: go on. */
        }
        close(ready[1]);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            close(null);
        }
    } else if (rc) {
        fprintf(stderr, "nm-vif: %s\n", err);
    }
    if (!rc) {
        rc = serve_loop(&v);
        unlink(sock);
        if (pidfile) {
            unlink(pidfile);
        }
    }
    return rc;
}

/* Reads one line from 'fd' into 'buf' (without the newline), waiting at
 * most 5 s.  Returns 0 or -1. */
static int
read_answer(int fd, char *buf, size_t len)
{
    size_t n = 0;

    while (n + 1 < len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (poll(&p, 1, 5000) <= 0 || read(fd, buf + n, 1) != 1) {
            return -1;
        }
        if (buf[n] == '\n') {
            break;
        }
        n++;
    }
    buf[n] = '\0';
    return 0;
}

static int
cmd_ctl(int argc, char *argv[])
{
    int nsock = argc - 1, *fds;
    char line[LINE_MAX_LEN];

    if (nsock < 1) {
        return usage_error("usage: nm-vif ctl SOCKET...");
    }
    fds = calloc(nsock, sizeof *fds);
    if (!fds) {
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < nsock; i++) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        if (strlen(argv[i + 1]) >= sizeof sun.sun_path) {
            return usage_error("SOCKET: '%s' too long", argv[i + 1]);
        }
        strcpy(sun.sun_path, argv[i + 1]);
        fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0
            || connect(fds[i], (struct sockaddr *) &sun, sizeof sun) < 0) {
            fprintf(stderr, "nm-vif: %s: %s\n", argv[i + 1], strerror(errno));
            return 1;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strlen(line);

        if (!len || line[len - 1] != '\n') {
            return usage_error("stdin: line too long or unterminated");
        }
        /* Everyone gets the command before anyone is waited for. */
        for (int i = 0; i < nsock; i++) {
            if (write(fds[i], line, len) != (ssize_t) len) {
                fprintf(stderr, "nm-vif: %s: %s\n", argv[i + 1],
                        strerror(errno));
                return 1;
            }
        }
        for (int i = 0; i < nsock; i++) {
            char ans[LINE_MAX_LEN + 128];

            if (read_answer(fds[i], ans, sizeof ans) < 0) {
                fprintf(stderr, "nm-vif: %s: no answer\n", argv[i + 1]);
                return 1;
            }
            printf("%s\n", ans);
        }
    }
    return 0;
}

int
main(int argc, char *argv[])
{
    if (argc >= 2 && !strcmp(argv[1], "serve")) {
        return cmd_serve(argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "ctl")) {
        return cmd_ctl(argc - 1, argv + 1);
    }
    return usage_error("usage: nm-vif serve --netns VMNS --nic DEV "
                       "[--host NETNS TAP] --socket PATH [--pidfile PATH] "
                       "[--detach] | nm-vif ctl SOCKET...");
}
