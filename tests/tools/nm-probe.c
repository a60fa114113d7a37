/* nm-probe: what a client of a migrating VM sees.
 *
 *   nm-probe serve [--port P] [--once] [--max-seconds S]
 *   nm-probe run [--ping ADDR] [--tcp ADDR:PORT] [--duration-ms MS]
 *                [--interval-us US] [--grace-ms MS] [--ready FILE]
 *                [--log FILE]
 *   nm-probe sparse --tcp ADDR:PORT [--delay-ms MS] [--grace-ms MS]
 *                [--max-seconds S] [--ready FILE]
 *
 * 'run' sends one ICMP echo request and one 8-byte TCP record (a big-endian
 * sequence number, TCP_NODELAY) per interval for the duration, then an end
 * record, and waits up to the grace period for the receiver's report.  It
 * prints one JSON object: for the ping, sent/received/lost and the longest
 * gap between replies; for TCP, whether the connection survived (every record
 * arrived in order and the report came back) and the receiver's longest gap
 * between records; and the sender socket's own retransmissions (TCP_INFO).
 * 'serve' is that receiver; a record with the top bit set (a request) it
 * answers at once with the same 8 bytes, outside the sequence.
 *
 * 'sparse' is a flow that sends one request now and then: it connects, sends
 * a few requests 20 ms apart (so its RTO is the connection's, not a young
 * one's 1 s), writes its pid to the ready file, waits for SIGUSR1, sleeps the
 * delay, sends one request and waits up to the grace period for its answer.
 * It prints the wall-clock times (us) of the request and of the answer, and
 * its socket's retransmissions.  Everything is bounded in time.
 *
 * 'run --log FILE' also writes every ping to FILE, one JSON object a line:
 * {"t_us": SENT, "rtt_us": N} or {"t_us": SENT, "lost": true} (wall
 * clock, us): the client's view `netmove timeline --client` overlays. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "openvswitch/json.h"
#include "util.h"

#define END_RECORD UINT64_MAX
#define REQUEST_BIT (1ULL << 63)
#define MAX_CONNS 16

static long long
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long
wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long
tcp_retrans(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len)) {
        return -1;
    }
    return ti.tcpi_total_retrans;
}

static void
die(const char *what)
{
    fprintf(stderr, "nm-probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- receiver ---- */

struct conn {
    int fd;
    uint64_t expected;          /* Next sequence number. */
    unsigned char buf[8];
    size_t have;
    long long last_us;          /* Arrival of the previous record. */
    long long max_gap_us;
    bool in_order;
};

static bool
conn_read(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        } else if (n == 0) {
            return false;
        }
        c->have += n;
        if (c->have < sizeof c->buf) {
            continue;
        }
        c->have = 0;

        uint64_t seq;
        memcpy(&seq, c->buf, 8);
        seq = be64toh(seq);
        if (seq != END_RECORD && seq & REQUEST_BIT) {
            /* A request: answered at once, outside the sequence. */
            if (write(c->fd, c->buf, 8) != 8) {
                return false;
            }
            continue;
        }
        if (seq == END_RECORD) {
            char report[128];
            int len = snprintf(report, sizeof report,
                               "records %"PRIu64" in_order %d gap_us %lld\n",
                               c->expected, c->in_order, c->max_gap_us);
            if (write(c->fd, report, len) != len) {
                /* The client sees no report: that is the result. */
            }
            return false;
        }
        long long t = now_us();
        if (c->last_us && t - c->last_us > c->max_gap_us) {
            c->max_gap_us = t - c->last_us;
        }
        c->last_us = t;
        if (seq != c->expected) {
            c->in_order = false;
        }
        c->expected = seq + 1;
    }
}

static int
serve(int port, bool once, int max_seconds)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(port) };
    struct pollfd pfd[MAX_CONNS + 1];
    struct conn conns[MAX_CONNS];
    int n_conns = 0, one = 1;
    long long deadline = now_us() + max_seconds * 1000000LL;

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0) {
        die("socket");
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *) &sin, sizeof sin) || listen(lfd, 8)) {
        die("bind/listen");
    }

    while (now_us() < deadline) {
        pfd[0] = (struct pollfd) { .fd = lfd, .events = POLLIN };
        for (int i = 0; i < n_conns; i++) {
            pfd[i + 1] = (struct pollfd) { .fd = conns[i].fd, .events = POLLIN };
        }
        if (poll(pfd, n_conns + 1, 200) < 0 && errno != EINTR) {
            die("poll");
        }
        if (pfd[0].revents && n_conns < MAX_CONNS) {
            int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
            if (fd >= 0) {
                conns[n_conns++] = (struct conn) { .fd = fd, .in_order = true };
            }
        }
        for (int i = 0; i < n_conns; i++) {
            if (!pfd[i + 1].revents || conn_read(&conns[i])) {
                continue;
            }
            close(conns[i].fd);
            conns[i--] = conns[--n_conns];
            if (once) {
                return 0;
            }
        }
    }
    return 0;
}

/* ---- sender ---- */

struct ping {
    int fd;
    struct sockaddr_in dst;
    uint16_t id;
    uint32_t sent, received;
    long long last_reply_us, max_gap_us;
    bool *seen;
    uint32_t max_seqs;
    long long *sent_wall, *rtt;     /* Per seq, for --log. */
    long long *sent_mono;
};

static uint16_t
icmp_csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (p[i] << 8) | p[i + 1];
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return htons(~sum);
}

static void
ping_send(struct ping *pg)
{
    struct {
        struct icmphdr h;
        uint32_t seq32;
    } pkt;

    memset(&pkt, 0, sizeof pkt);
    pkt.h.type = ICMP_ECHO;
    pkt.h.un.echo.id = htons(pg->id);
    pkt.h.un.echo.sequence = htons(pg->sent & 0xffff);
    pkt.seq32 = htonl(pg->sent);
    pkt.h.checksum = icmp_csum(&pkt, sizeof pkt);
    if (sendto(pg->fd, &pkt, sizeof pkt, 0, (struct sockaddr *) &pg->dst,
               sizeof pg->dst) == sizeof pkt || errno == EAGAIN
        || errno == EHOSTUNREACH || errno == ENOBUFS) {
        /* A failed send is a lost ping, which is what we measure. */
    }
    if (pg->sent < pg->max_seqs) {
        pg->sent_wall[pg->sent] = wall_us();
        pg->sent_mono[pg->sent] = now_us();
    }
    pg->sent++;
}

/* A raw ICMP socket gets a copy of every ICMP packet the namespace
 * receives: with several probes at once (one per VM), each socket's queue
 * would hold every probe's replies, and a burst of them (the replies to
 * the requests that waited out a VM's pause, for every VM at once) overflows
 * it, and the probe counts as lost replies that reached the client.  So the
 * kernel queues only this probe's echo replies (classic BPF: the IPv4
 * header's length, then the ICMP type and identifier), in a queue of a few
 * MiB. */
static void
ping_socket_setup(const struct ping *pg)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),         /* X = IP hdr len. */
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),          /* ICMP type. */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ICMP_ECHOREPLY, 0, 3),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),          /* Identifier. */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pg->id, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
    int rcvbuf = 4 << 20;

    if (setsockopt(pg->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog)) {
        die("SO_ATTACH_FILTER");
    }
    if (setsockopt(pg->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf)
        && setsockopt(pg->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf)) {
        die("SO_RCVBUF");
    }
}

static void
ping_receive(struct ping *pg)
{
    unsigned char buf[256];

    for (;;) {
        ssize_t n = recv(pg->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            return;
        }
        const struct iphdr *ip = (const void *) buf;
        size_t hl = ip->ihl * 4;
        if ((size_t) n < hl + sizeof(struct icmphdr) + 4) {
            continue;
        }
        const struct icmphdr *h = (const void *) (buf + hl);
        uint32_t seq;
        memcpy(&seq, buf + hl + sizeof *h, 4);
        seq = ntohl(seq);
        if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.id) != pg->id
            || ip->saddr != pg->dst.sin_addr.s_addr
            || seq >= pg->max_seqs || pg->seen[seq]) {
            continue;
        }
        pg->seen[seq] = true;
        pg->received++;

        long long t = now_us();
        pg->rtt[seq] = t - pg->sent_mono[seq];
        if (pg->last_reply_us && t - pg->last_reply_us > pg->max_gap_us) {
            pg->max_gap_us = t - pg->last_reply_us;
        }
        pg->last_reply_us = t;
    }
}

struct tcp {
    int fd;
    const char *target;
    uint64_t sent;
    unsigned char *queue;       /* Records not yet accepted by the kernel. */
    size_t q_head, q_len, q_cap;
    bool connected, report_ok, broken;
    char error[128];
    char report[128];
    size_t report_len;
    uint64_t delivered;
    int in_order;
    long long gap_us;
};

static void
tcp_fail(struct tcp *t, const char *what, int error)
{
    if (!t->broken) {
        t->broken = true;
        snprintf(t->error, sizeof t->error, "%s: %s", what, strerror(error));
    }
}

static void
tcp_open(struct tcp *t, const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int one = 1;

    if (!colon || colon - spec >= (long) sizeof host) {
        fprintf(stderr, "nm-probe: --tcp: expected ADDR:PORT, got '%s'\n", spec);
        exit(2);
    }
    memcpy(host, spec, colon - spec);
    host[colon - spec] = '\0';
    sin.sin_port = htons(atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "nm-probe: --tcp: bad IPv4 address '%s'\n", host);
        exit(2);
    }
    t->target = spec;
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (t->fd < 0) {
        die("socket");
    }
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(t->fd, (struct sockaddr *) &sin, sizeof sin)) {
        tcp_fail(t, "connect", errno);
        return;
    }
    fcntl(t->fd, F_SETFL, O_NONBLOCK);
    t->connected = true;
}

/* Hands queued bytes to the kernel as far as it takes them.  While the path
 * is black, unacknowledged small segments fill the socket buffer quickly;
 * the records wait here, as an application's own buffer would hold them. */
static void
tcp_flush(struct tcp *t)
{
    while (t->connected && !t->broken && t->q_head < t->q_len) {
        ssize_t n = send(t->fd, t->queue + t->q_head, t->q_len - t->q_head,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                tcp_fail(t, "send", errno);
            }
            return;
        }
        t->q_head += n;
    }
}

static void
tcp_send(struct tcp *t, uint64_t seq)
{
    uint64_t rec = htobe64(seq);

    if (!t->connected || t->broken) {
        return;
    }
    if (t->q_len + sizeof rec > t->q_cap) {
        /* Compact, then grow. */
        memmove(t->queue, t->queue + t->q_head, t->q_len - t->q_head);
        t->q_len -= t->q_head;
        t->q_head = 0;
        if (t->q_len + sizeof rec > t->q_cap) {
            t->q_cap = 2 * t->q_cap + 4096;
            t->queue = xrealloc(t->queue, t->q_cap);
        }
    }
    memcpy(t->queue + t->q_len, &rec, sizeof rec);
    t->q_len += sizeof rec;
    if (seq != END_RECORD) {
        t->sent++;
    }
    tcp_flush(t);
}

static void
tcp_read_report(struct tcp *t)
{
    for (;;) {
        ssize_t n = recv(t->fd, t->report + t->report_len,
                         sizeof t->report - 1 - t->report_len, MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                tcp_fail(t, "recv", errno);
            }
            return;
        } else if (n == 0) {
            break;
        }
        t->report_len += n;
        t->report[t->report_len] = '\0';
        if (strchr(t->report, '\n')) {
            break;
        }
    }
    if (sscanf(t->report, "records %"SCNu64" in_order %d gap_us %lld",
               &t->delivered, &t->in_order, &t->gap_us) == 3) {
        t->report_ok = true;
    } else if (!t->broken) {
        tcp_fail(t, "report", EPROTO);
    }
}

static struct json *
ms_json(long long us)
{
    return json_real_create(us / 1000.0);
}

/* Writes every ping of 'pg' to 'path' (--log). */
static void
ping_log(const struct ping *pg, const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        die("--log");
    }
    for (uint32_t i = 0; i < pg->sent && i < pg->max_seqs; i++) {
        if (pg->seen[i]) {
            fprintf(f, "{\"t_us\": %lld, \"rtt_us\": %lld}\n",
                    pg->sent_wall[i], pg->rtt[i]);
        } else {
            fprintf(f, "{\"t_us\": %lld, \"lost\": true}\n",
                    pg->sent_wall[i]);
        }
    }
    if (fclose(f)) {
        die("--log");
    }
}

static int
run(const char *ping_addr, const char *tcp_spec, int duration_ms,
    int interval_us, int grace_ms, const char *ready, const char *log)
{
    struct ping pg = { .fd = -1 };
    struct tcp t = { .fd = -1 };
    bool ready_done = !ready;
    long long start, next, end;

    if (ping_addr) {
        pg.dst.sin_family = AF_INET;
        if (inet_pton(AF_INET, ping_addr, &pg.dst.sin_addr) != 1) {
            fprintf(stderr, "nm-probe: --ping: bad IPv4 address '%s'\n", ping_addr);
            return 2;
        }
        pg.fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        if (pg.fd < 0) {
            die("raw socket (root needed)");
        }
        pg.id = getpid() & 0xffff;
        ping_socket_setup(&pg);
        pg.max_seqs = (long long) duration_ms * 1000 / interval_us + 2;
        pg.seen = xcalloc(pg.max_seqs, sizeof *pg.seen);
        pg.sent_wall = xcalloc(pg.max_seqs, sizeof *pg.sent_wall);
        pg.sent_mono = xcalloc(pg.max_seqs, sizeof *pg.sent_mono);
        pg.rtt = xcalloc(pg.max_seqs, sizeof *pg.rtt);
    }
    if (tcp_spec) {
        tcp_open(&t, tcp_spec);
    }

    start = next = now_us();
    end = start + duration_ms * 1000LL;
    for (uint64_t seq = 0; next < end; seq++) {
        if (pg.fd >= 0) {
            ping_send(&pg);
        }
        tcp_send(&t, seq);
        next += interval_us;
        do {
            struct pollfd pfd[2] = {
                { .fd = pg.fd, .events = POLLIN },
                { .fd = t.q_head < t.q_len ? t.fd : -1, .events = POLLOUT },
            };
            long long wait = next - now_us();
            if (wait > 0) {
                struct timespec ts = { wait / 1000000, wait % 1000000 * 1000 };
                ppoll(pfd, 2, &ts, NULL);
            }
            if (pg.fd >= 0) {
                ping_receive(&pg);
            }
            tcp_flush(&t);
        } while (now_us() < next);
        if (!ready_done && (pg.fd < 0 || pg.received) && (!tcp_spec || t.connected)) {
            FILE *f = fopen(ready, "w");
            if (f) {
                fclose(f);
            }
            ready_done = true;
        }
    }
    end = now_us();

    /* The end record, then the report; late ping replies count too. */
    tcp_send(&t, END_RECORD);
    long long grace_end = end + grace_ms * 1000LL;
    while (now_us() < grace_end) {
        struct pollfd pfd[2] = {
            { .fd = pg.fd, .events = POLLIN },
            { .fd = t.connected && !t.broken && !t.report_ok ? t.fd : -1,
              .events = POLLIN | (t.q_head < t.q_len ? POLLOUT : 0) },
        };
        if (pfd[1].fd < 0 && (pg.fd < 0 || pg.received == pg.sent)) {
            break;
        }
        poll(pfd, 2, 10);
        if (pg.fd >= 0) {
            ping_receive(&pg);
        }
        if (pfd[1].revents & POLLOUT) {
            tcp_flush(&t);
        }
        if (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)) {
            tcp_read_report(&t);
        }
    }
    if (tcp_spec && t.connected && !t.report_ok && !t.broken) {
        tcp_fail(&t, "report", ETIMEDOUT);
    }

    struct json *out = json_object_create();
    if (ping_addr) {
        /* A gap still open at the end counts up to the end of sending. */
        long long tail = pg.last_reply_us ? end - pg.last_reply_us : end - start;
        if (tail > pg.max_gap_us) {
            pg.max_gap_us = tail;
        }
        struct json *p = json_object_create();
        json_object_put_string(p, "target", ping_addr);
        json_object_put(p, "sent", json_integer_create(pg.sent));
        json_object_put(p, "received", json_integer_create(pg.received));
        json_object_put(p, "lost", json_integer_create(pg.sent - pg.received));
        json_object_put(p, "longest_gap_ms", ms_json(pg.max_gap_us));
        json_object_put(out, "ping", p);
        if (log) {
            ping_log(&pg, log);
        }
    }
    if (tcp_spec) {
        struct json *j = json_object_create();
        bool survived = t.report_ok && t.in_order && t.delivered == t.sent;
        json_object_put_string(j, "target", tcp_spec);
        json_object_put(j, "connected", json_boolean_create(t.connected));
        json_object_put(j, "sent", json_integer_create(t.sent));
        json_object_put(j, "delivered", json_integer_create(t.delivered));
        json_object_put(j, "survived", json_boolean_create(survived));
        json_object_put(j, "longest_gap_ms", t.report_ok ? ms_json(t.gap_us)
                                                         : json_null_create());
        json_object_put(j, "error", t.broken ? json_string_create(t.error)
                                             : json_null_create());
        json_object_put(j, "retrans", json_integer_create(tcp_retrans(t.fd)));
        json_object_put(out, "tcp", j);
    }
    char *s = json_to_string(out, JSSF_SORT);
    puts(s);
    free(s);
    json_destroy(out);
    free(pg.seen);
    free(t.queue);
    return 0;
}

/* ---- sparse flow ---- */

/* Sends request 'id' on 't' and waits until 'deadline' (monotonic) for its
 * answer.  Returns the monotonic time of the answer, or 0. */
static long long
sparse_ask(struct tcp *t, uint64_t id, long long deadline)
{
    uint64_t rec = htobe64(REQUEST_BIT | id);
    unsigned char buf[8];
    size_t have = 0;

    if (send(t->fd, &rec, sizeof rec, MSG_NOSIGNAL) != sizeof rec) {
        tcp_fail(t, "send", errno);
        return 0;
    }
    while (now_us() < deadline) {
        struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
        long long wait = (deadline - now_us()) / 1000 + 1;

        if (poll(&pfd, 1, wait > 1000 ? 1000 : wait) <= 0) {
            continue;
        }
        ssize_t n = recv(t->fd, buf + have, sizeof buf - have, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        } else if (n <= 0) {
            tcp_fail(t, "recv", n ? errno : ECONNRESET);
            return 0;
        }
        have += n;
        if (have == sizeof buf) {
            long long t_answer = now_us();
            if (memcmp(buf, &rec, sizeof rec)) {
                tcp_fail(t, "answer", EPROTO);
                return 0;
            }
            return t_answer;
        }
    }
    return 0;
}

static int
sparse(const char *tcp_spec, int delay_ms, int grace_ms, int max_seconds,
       const char *ready)
{
    struct tcp t = { .fd = -1 };
    sigset_t usr1;
    uint64_t id = 0;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);

    tcp_open(&t, tcp_spec);
    /* Warm-up: the RTT is measured, the RTO falls to its floor. */
    for (int i = 0; i < 5 && !t.broken && t.connected; i++) {
        if (!sparse_ask(&t, id++, now_us() + 2000000)) {
            tcp_fail(&t, "warm-up", ETIMEDOUT);
        }
        usleep(20000);
    }
    if (!t.connected || t.broken) {
        fprintf(stderr, "nm-probe: sparse: %s\n",
                t.broken ? t.error : "not connected");
        return 1;
    }
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (f) {
            fprintf(f, "%ld\n", (long) getpid());
            fclose(f);
        }
    }

    struct timespec limit = { .tv_sec = max_seconds };
    struct json *out = json_object_create();
    if (sigtimedwait(&usr1, NULL, &limit) != SIGUSR1) {
        json_object_put(out, "triggered", json_boolean_create(false));
    } else {
        long long retrans0 = tcp_retrans(t.fd);
        usleep(delay_ms * 1000);
        long long sent = now_us(), sent_wall = wall_us();
        long long answered = sparse_ask(&t, id++, sent + grace_ms * 1000LL);

        json_object_put(out, "triggered", json_boolean_create(true));
        json_object_put(out, "sent_us", json_integer_create(sent_wall));
        json_object_put(out, "answered_us", answered
                        ? json_integer_create(sent_wall + (answered - sent))
                        : json_null_create());
        json_object_put(out, "rtt_ms", answered ? ms_json(answered - sent)
                                                : json_null_create());
        json_object_put(out, "retrans",
                        json_integer_create(tcp_retrans(t.fd) - retrans0));
        json_object_put(out, "error", t.broken ? json_string_create(t.error)
                                               : json_null_create());
    }
    char *s = json_to_string(out, JSSF_SORT);
    puts(s);
    free(s);
    json_destroy(out);
    close(t.fd);
    return 0;
}

static void
usage(void)
{
    printf("usage: nm-probe serve [--port P] [--once] [--max-seconds S]\n"
           "       nm-probe run [--ping ADDR] [--tcp ADDR:PORT] [--duration-ms MS]\n"
           "                    [--interval-us US] [--grace-ms MS] [--ready FILE]\n"
           "                    [--log FILE]\n"
           "       nm-probe sparse --tcp ADDR:PORT [--delay-ms MS] [--grace-ms MS]\n"
           "                    [--max-seconds S] [--ready FILE]\n");
}

int
main(int argc, char *argv[])
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"once", no_argument, NULL, 'o'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"ping", required_argument, NULL, 'P'},
        {"tcp", required_argument, NULL, 'T'},
        {"duration-ms", required_argument, NULL, 'd'},
        {"interval-us", required_argument, NULL, 'i'},
        {"grace-ms", required_argument, NULL, 'g'},
        {"ready", required_argument, NULL, 'r'},
        {"log", required_argument, NULL, 'L'},
        {"delay-ms", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int port = 5001, max_seconds = 120, duration_ms = 5000;
    int interval_us = 1000, grace_ms = 5000, delay_ms = 0;
    const char *ping_addr = NULL, *tcp_spec = NULL, *ready = NULL;
    const char *log = NULL;
    bool once = false;
    int c;

    set_program_name(argv[0]);
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *mode = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'o': once = true; break;
        case 'm': max_seconds = atoi(optarg); break;
        case 'P': ping_addr = optarg; break;
        case 'T': tcp_spec = optarg; break;
        case 'd': duration_ms = atoi(optarg); break;
        case 'i': interval_us = atoi(optarg); break;
        case 'g': grace_ms = atoi(optarg); break;
        case 'r': ready = optarg; break;
        case 'L': log = optarg; break;
        case 'D': delay_ms = atoi(optarg); break;
        case 'h': usage(); return 0;
        default: return 2;
        }
    }
    /* Bounds: every loop that sends is bounded in count and time. */
    if (duration_ms < 1 || duration_ms > 600000 || interval_us < 100
        || grace_ms < 0 || grace_ms > 60000 || max_seconds < 1
        || delay_ms < 0 || delay_ms > 10000
        || port < 1 || port > 65535) {
        fprintf(stderr, "nm-probe: a value is out of range\n");
        return 2;
    }
    if (!strcmp(mode, "sparse")) {
        if (!tcp_spec) {
            fprintf(stderr, "nm-probe: sparse needs --tcp\n");
            return 2;
        }
        return sparse(tcp_spec, delay_ms, grace_ms, max_seconds, ready);
    } else if (!strcmp(mode, "serve")) {
        return serve(port, once, max_seconds);
    } else if (!strcmp(mode, "run")) {
        if (!ping_addr && !tcp_spec) {
            fprintf(stderr, "nm-probe: run needs --ping and/or --tcp\n");
            return 2;
        }
        return run(ping_addr, tcp_spec, duration_ms, interval_us, grace_ms,
                   ready, log);
    }
    usage();
    return 2;
}
