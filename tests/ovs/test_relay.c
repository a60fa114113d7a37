/* Tests ovs/relay.c against a real bridge: a scratch ovsdb-server and
 * ovs-vswitchd (tests/ovs/scratch-ovs.sh) in a namespace of its own, with
 * internal ports p1 and p2.  The test enters that namespace: frames go in and
 * come out through packet sockets on p1 and p2, and the relay's flows are
 * read back with ovs-ofctl.  Skipped without root. */
#include "ovs/ovs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "timeval.h"

#include "ovs/relay-private.h"
#include "tests/ovs/scratch.h"

#define ETHERTYPE_TEST 0x88b5   /* Local experimental. */

static const struct eth_addr mac_vm = ETH_ADDR_C(02, 00, 00, 00, 0a, 01);
static const struct eth_addr mac_peer = ETH_ADDR_C(02, 00, 00, 00, 0a, 02);

/* What the callback saw. */
#define MAX_SEEN 256
struct seen {
    uint32_t key;
    enum nmovs_relay_reason reason;
    uint32_t in_port;
    uint8_t data[128];
    size_t len;
    long long int when_us;
};
static struct seen seen[MAX_SEEN];
static size_t n_seen;

static void
record(void *aux, const struct nmovs_relay_frame *f)
{
    (void) aux;
    if (n_seen < MAX_SEEN) {
        struct seen *s = &seen[n_seen];
        s->key = f->key;
        s->reason = f->reason;
        s->in_port = f->in_port;
        s->len = f->len;
        memcpy(s->data, f->data, MIN(f->len, sizeof s->data));
        s->when_us = time_usec();
    }
    n_seen++;
}

static int __attribute__((format(printf, 1, 2)))
system_fmt(const char *fmt, ...)
{
    char cmd[1024];
    va_list args;

    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);
    return system(cmd);
}

static uint32_t
ofport_of(const char *port)
{
    char *out = capture("ovs-vsctl --db=unix:%s/db.sock get interface %s "
                        "ofport", rundir, port);
    uint32_t n = strtoul(out, NULL, 10);
    free(out);
    assert_true(n > 0);
    return n;
}

/* ofport_of() without a process per call, for timing. */
static uint32_t
ofport_of_cached(const char *port)
{
    static char name[16];
    static uint32_t n;

    if (strcmp(name, port)) {
        n = ofport_of(port);
        snprintf(name, sizeof name, "%s", port);
    }
    return n;
}

static char *
relay_flows(void)
{
    return capture("OVS_RUNDIR=%s ovs-ofctl -O OpenFlow13 dump-flows br0 "
                   "cookie=0x6e6d720000000000/0xffffff0000000000 "
                   "| grep -v OFPST_FLOW", rundir);
}

/* A packet socket on 'port', in the scratch namespace. */
static int
port_socket(const char *port)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    assert_true(fd >= 0);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = if_nametoindex(port),
    };
    assert_true(sll.sll_ifindex > 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &sll, sizeof sll), 0);
    return fd;
}

/* A 60-byte test frame 'dst' <- 'src' whose payload starts with 'tag'. */
static void
make_frame(uint8_t frame[60], struct eth_addr dst, struct eth_addr src,
           uint32_t tag)
{
    memset(frame, 0, 60);
    memcpy(frame, dst.ea, 6);
    memcpy(frame + 6, src.ea, 6);
    frame[12] = ETHERTYPE_TEST >> 8;
    frame[13] = ETHERTYPE_TEST & 0xff;
    memcpy(frame + 14, &tag, sizeof tag);
}

static void
send_on(int fd, const uint8_t *frame, size_t len)
{
    assert_int_equal(send(fd, frame, len, 0), (ssize_t) len);
}

/* Counts test frames with 'tag' that 'fd' receives (not ones it sent) within
 * 'ms', or until it has 'enough' of them (0: no such limit). */
static int
count_rx_until(int fd, uint32_t tag, int enough, int ms)
{
    long long int deadline = time_msec() + ms;
    int n = 0;

    for (;;) {
        uint8_t buf[2048];
        struct sockaddr_ll from;
        socklen_t fromlen = sizeof from;
        ssize_t len = recvfrom(fd, buf, sizeof buf, 0,
                               (struct sockaddr *) &from, &fromlen);
        if (len >= 18) {
            if (from.sll_pkttype != PACKET_OUTGOING
                && buf[12] == ETHERTYPE_TEST >> 8
                && buf[13] == (ETHERTYPE_TEST & 0xff)
                && !memcmp(buf + 14, &tag, sizeof tag)
                && ++n == enough) {
                return n;
            }
            continue;
        }
        long long int left = deadline - time_msec();
        if (left <= 0) {
            return n;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        poll(&pfd, 1, (int) left);
    }
}

static int
count_rx(int fd, uint32_t tag, int ms)
{
    return count_rx_until(fd, tag, 0, ms);
}

/* Runs the relay's loop until 'n_seen' reaches 'want' (or, if 'synced', until
 * it is synced), at most 'ms'.  Returns whether it did. */
static bool
run_until(struct nmovs_relay *relay, size_t want, bool synced, int ms)
{
    long long int deadline = time_msec() + ms;

    for (;;) {
        nmovs_relay_run(relay);
        if (synced ? nmovs_relay_synced(relay) : n_seen >= want) {
            return true;
        }
        if (time_msec() >= deadline) {
            return false;
        }
        nmovs_relay_wait(relay);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

static struct nmovs_relay *
open_synced(void)
{
    struct nmovs_relay *relay;

    assert_int_equal(nmovs_relay_open(rundir, "br0", record, NULL, &relay),
                     0);
    assert_true(run_until(relay, 0, true, 5000));
    assert_true(nmovs_relay_connected(relay));
    n_seen = 0;
    return relay;
}

/* The scratch OVS, and this process in its namespace (the ports are
 * there; its sockets are files). */
static int
setup_in_netns(void **state)
{
    char path[64];

    if (setup(state)) {
        return -1;
    }
    snprintf(path, sizeof path, "/run/netns/%s", netns);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET)) {
        return -1;
    }
    close(fd);
    return 0;
}

static void
test_bad_input(void **state)
{
    struct nmovs_relay *relay = (struct nmovs_relay *) 1;
    uint8_t frame[60];
    (void) state;

    assert_int_equal(nmovs_relay_open(rundir, "", record, NULL, &relay),
                     -EINVAL);
    assert_null(relay);
    assert_int_equal(nmovs_relay_open(rundir, "../br0", record, NULL, &relay),
                     -EINVAL);
    assert_int_equal(nmovs_relay_open(rundir, NULL, record, NULL, &relay),
                     -EINVAL);
    assert_int_equal(nmovs_relay_open(rundir, "br0", NULL, NULL, &relay),
                     -EINVAL);
    assert_int_equal(nmovs_relay_flush(rundir, "../br0"), -EINVAL);
    assert_int_equal(nmovs_relay_flush(rundir, "no-such-br"), -ENOENT);

    assert_int_equal(nmovs_relay_open(rundir, "br0", record, NULL, &relay),
                     0);
    /* Not connected before the loop ran. */
    make_frame(frame, mac_vm, mac_peer, 1);
    assert_false(nmovs_relay_synced(relay));
    assert_int_equal(nmovs_relay_output(relay, 1, frame, sizeof frame),
                     -ENOTCONN);

    assert_int_equal(nmovs_relay_catch(relay, 0, mac_vm, 0), -EINVAL);
    assert_int_equal(nmovs_relay_catch(relay, 1, eth_addr_broadcast, 0),
                     -EINVAL);
    assert_int_equal(nmovs_relay_catch(relay, 1, eth_addr_zero, 0), -EINVAL);
    assert_int_equal(nmovs_relay_catch(relay, 1, mac_vm, 70000), -EINVAL);
    assert_int_equal(nmovs_relay_watch(relay, 0, mac_vm, 1, 0), -EINVAL);
    assert_int_equal(nmovs_relay_watch(relay, 1, mac_vm, 0, 0), -EINVAL);
    assert_int_equal(nmovs_relay_watch(relay, 1, mac_vm, 70000, 0), -EINVAL);
    assert_int_equal(nmovs_relay_release(relay, 0), -EINVAL);
    assert_int_equal(nmovs_relay_output(relay, 0, frame, sizeof frame),
                     -EINVAL);
    assert_int_equal(nmovs_relay_output(relay, 1, frame, 13), -EINVAL);
    nmovs_relay_close(relay);
    nmovs_relay_close(NULL);

    char *flows = relay_flows();
    assert_string_equal(flows, "");
    free(flows);
}

/* Catch: a frame to the MAC, from p1, goes to the callback (key, reason,
 * port, bytes) and not to p2; output sends it on to p2; release lets frames
 * flow again and leaves no flow. */
static void
test_catch_output_release(void **state)
{
    uint32_t p1 = ofport_of("p1"), p2 = ofport_of("p2");
    int fd1 = port_socket("p1"), fd2 = port_socket("p2");
    uint8_t frame[60];
    (void) state;

    struct nmovs_relay *relay = open_synced();
    assert_int_equal(nmovs_relay_catch(relay, 7, mac_vm, 30), 0);
    assert_false(nmovs_relay_synced(relay));
    assert_true(run_until(relay, 0, true, 5000));

    char *flows = relay_flows();
    if (!strstr(flows, "cookie=0x6e6d720000000007")
        || !strstr(flows, "hard_timeout=30")
        || !strstr(flows, "priority=65100,dl_dst=02:00:00:00:0a:01 "
                   "actions=controller(id=28269)")) {
        fail_msg("catch flow missing in:\n%s", flows);
    }
    free(flows);

    /* Unknown destination: without the catch NORMAL would flood it to p2. */
    make_frame(frame, mac_vm, mac_peer, 0x1001);
    send_on(fd1, frame, sizeof frame);
    assert_true(run_until(relay, 1, false, 2000));
    assert_int_equal(n_seen, 1);
    assert_int_equal(seen[0].key, 7);
    assert_int_equal(seen[0].reason, NMOVS_RELAY_CAUGHT);
    assert_int_equal(seen[0].in_port, p1);
    assert_int_equal(seen[0].len, sizeof frame);
    assert_memory_equal(seen[0].data, frame, sizeof frame);
    assert_int_equal(count_rx(fd2, 0x1001, 100), 0);

    /* Output: to p2 only, not caught again. */
    assert_int_equal(nmovs_relay_output(relay, p2, seen[0].data,
                                        seen[0].len), 0);
    run_until(relay, 2, false, 100);
    assert_int_equal(count_rx_until(fd2, 0x1001, 1, 1000), 1);
    assert_int_equal(count_rx(fd1, 0x1001, 0), 0);
    assert_int_equal(n_seen, 1);

    /* Release: the frame is flooded to p2, no callback, no flow. */
    assert_int_equal(nmovs_relay_release(relay, 7), 0);
    assert_false(nmovs_relay_synced(relay));
    assert_true(run_until(relay, 0, true, 5000));
    flows = relay_flows();
    assert_string_equal(flows, "");
    free(flows);
    make_frame(frame, mac_vm, mac_peer, 0x1002);
    send_on(fd1, frame, sizeof frame);
    assert_int_equal(count_rx_until(fd2, 0x1002, 1, 1000), 1);
    run_until(relay, 2, false, 100);
    assert_int_equal(n_seen, 1);

    nmovs_relay_close(relay);
    close(fd1);
    close(fd2);
}

/* Watch (the VM's own port p1): a frame from the MAC entering p2 is both
 * delivered (to p1) and reported; one entering p1 is delivered only; one to
 * the MAC is not reported. */
static void
test_watch(void **state)
{
    uint32_t p1 = ofport_of("p1"), p2 = ofport_of("p2");
    int fd1 = port_socket("p1"), fd2 = port_socket("p2");
    uint8_t frame[60];
    (void) state;

    struct nmovs_relay *relay = open_synced();
    assert_int_equal(nmovs_relay_watch(relay, 9, mac_vm, p1, 0), 0);
    assert_true(run_until(relay, 0, true, 5000));
    char *flows = relay_flows();
    if (!strstr(flows, "cookie=0x6e6d720100000009")
        || !strstr(flows, "priority=65102,in_port=")
        || !strstr(flows, "priority=65101,dl_src=02:00:00:00:0a:01 "
                   "actions=NORMAL,controller(id=28269)")) {
        fail_msg("watch flows missing in:\n%s", flows);
    }
    free(flows);

    make_frame(frame, eth_addr_broadcast, mac_vm, 0x2001);
    send_on(fd2, frame, sizeof frame);
    assert_true(run_until(relay, 1, false, 2000));
    assert_int_equal(seen[0].key, 9);
    assert_int_equal(seen[0].reason, NMOVS_RELAY_WATCHED);
    assert_int_equal(seen[0].in_port, p2);
    assert_memory_equal(seen[0].data, frame, sizeof frame);
    assert_int_equal(count_rx_until(fd1, 0x2001, 1, 1000), 1);

    make_frame(frame, eth_addr_broadcast, mac_vm, 0x2002);
    send_on(fd1, frame, sizeof frame);
    assert_int_equal(count_rx_until(fd2, 0x2002, 1, 1000), 1);
    make_frame(frame, mac_vm, mac_peer, 0x2003);
    send_on(fd2, frame, sizeof frame);
    assert_int_equal(count_rx_until(fd1, 0x2003, 1, 1000), 1);
    run_until(relay, 2, false, 200);
    assert_int_equal(n_seen, 1);

    assert_int_equal(nmovs_relay_release(relay, 9), 0);
    assert_true(run_until(relay, 0, true, 5000));
    flows = relay_flows();
    assert_string_equal(flows, "");
    free(flows);
    nmovs_relay_close(relay);
    close(fd1);
    close(fd2);
}

/* Output past the backlog bound: -EAGAIN, the frame not taken; once the loop
 * has written the queue out, output works again. */
static void
test_backlog_bound(void **state)
{
    uint32_t p2 = ofport_of("p2");
    static uint8_t big[60000];
    (void) state;

    struct nmovs_relay *relay = open_synced();
    nmovs_relay_set_backlog(relay, 8);
    make_frame(big, mac_peer, mac_vm, 0x3001);
    int error = 0, i;
    for (i = 0; i < 10000 && !error; i++) {
        error = nmovs_relay_output(relay, p2, big, sizeof big);
    }
    assert_int_equal(error, -EAGAIN);
    assert_int_equal(nmovs_relay_backlog(relay), 8);

    long long int deadline = time_msec() + 5000;
    while (nmovs_relay_backlog(relay) && time_msec() < deadline) {
        nmovs_relay_run(relay);
        nmovs_relay_wait(relay);
        poll_timer_wait(10);
        poll_block();
    }
    assert_int_equal(nmovs_relay_backlog(relay), 0);
    assert_int_equal(nmovs_relay_output(relay, p2, big, sizeof big), 0);
    nmovs_relay_close(relay);
}

/* Flows a relay leaves behind (closing does not remove them) go with
 * nmovs_relay_flush(); netmove's other flows stay. */
static void
test_flush(void **state)
{
    uint32_t p1 = ofport_of("p1");
    (void) state;

    struct nmovs_relay *relay = open_synced();
    assert_int_equal(nmovs_relay_catch(relay, 3, mac_vm, 0), 0);
    assert_int_equal(nmovs_relay_catch(relay, 4, mac_peer, 0), 0);
    assert_int_equal(nmovs_relay_watch(relay, 4, mac_peer, p1, 0), 0);
    assert_true(run_until(relay, 0, true, 5000));
    nmovs_relay_close(relay);
    char *flows = relay_flows();
    assert_non_null(strstr(flows, "cookie=0x6e6d720000000003"));
    assert_non_null(strstr(flows, "cookie=0x6e6d720100000004"));
    free(flows);
    free(capture("OVS_RUNDIR=%s ovs-ofctl add-flow br0 "
                 "cookie=0x6e6d000000000005,priority=5,dl_dst=%s,"
                 "actions=NORMAL", rundir, "02:00:00:00:0a:05"));

    assert_int_equal(nmovs_relay_flush(rundir, "br0"), 0);
    flows = relay_flows();
    assert_string_equal(flows, "");
    free(flows);
    flows = capture("OVS_RUNDIR=%s ovs-ofctl dump-flows br0", rundir);
    assert_non_null(strstr(flows, "cookie=0x6e6d000000000005"));
    free(flows);
    free(capture("OVS_RUNDIR=%s ovs-ofctl del-flows br0 "
                 "cookie=0x6e6d000000000005/-1", rundir));
}

/* Time from a frame's send() on p1 to the callback: one frame alone, then
 * 100 back to back (which also arrive in order). */
static void
test_latency(void **state)
{
    int fd1 = port_socket("p1");
    uint8_t frame[60];
    (void) state;

    /* A MAC with no traffic before (test_synced_covers_datapath_cache()). */
    static const struct eth_addr mac_new = ETH_ADDR_C(02, 00, 00, 00, 0a, 06);
    struct nmovs_relay *relay = open_synced();
    assert_int_equal(nmovs_relay_catch(relay, 11, mac_new, 0), 0);
    assert_true(run_until(relay, 0, true, 5000));

    long long int one = LLONG_MAX;
    for (int round = 0; round < 5; round++) {
        n_seen = 0;
        make_frame(frame, mac_new, mac_peer, 0x4000 + round);
        long long int start = time_usec();
        send_on(fd1, frame, sizeof frame);
        assert_true(run_until(relay, 1, false, 2000));
        one = MIN(one, seen[0].when_us - start);
    }

    n_seen = 0;
    long long int start = time_usec();
    for (uint32_t i = 0; i < 100; i++) {
        make_frame(frame, mac_new, mac_peer, 0x5000 + i);
        send_on(fd1, frame, sizeof frame);
    }
    long long int sent = time_usec();
    assert_true(run_until(relay, 100, false, 5000));
    assert_int_equal(n_seen, 100);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t tag;
        memcpy(&tag, seen[i].data + 14, sizeof tag);
        assert_int_equal(tag, 0x5000 + i);
    }
    printf("latency: 1 frame %lld us (best of 5); 100 frames: sent in "
           "%lld us, first after %lld us, last after %lld us\n",
           one, sent - start, seen[0].when_us - start,
           seen[99].when_us - start);

    /* The way back: 100 outputs to p2, read there. */
    int fd2 = port_socket("p2");
    ofport_of_cached("p2");
    start = time_usec();
    for (uint32_t i = 0; i < 100; i++) {
        assert_int_equal(nmovs_relay_output(relay, ofport_of_cached("p2"),
                                            seen[i].data, seen[i].len), 0);
    }
    nmovs_relay_run(relay);
    int got = 0;
    for (uint32_t i = 0; i < 100; i++) {
        got += count_rx_until(fd2, 0x5000 + i, 1, 1000);
    }
    printf("output: 100 frames out of p2 within %lld us\n",
           time_usec() - start);
    assert_int_equal(got, 100);
    close(fd2);
    nmovs_relay_close(relay);
    close(fd1);
}

/* ovs-vswitchd restarts (its flows are gone): the relay reconnects and
 * installs its catch again, with what is left of its hard timeout. */
static void
test_reconnect_reinstalls(void **state)
{
    uint32_t p1 = ofport_of("p1");
    uint8_t frame[60];
    (void) state;

    struct nmovs_relay *relay = open_synced();
    assert_int_equal(nmovs_relay_catch(relay, 12, mac_vm, 60), 0);
    assert_true(run_until(relay, 0, true, 5000));

    assert_int_equal(system_fmt("pid=$(cat %s/ovs-vswitchd.pid); kill $pid; "
                                "while kill -0 $pid 2>/dev/null; do "
                                "sleep 0.05; done; "
                                "OVS_RUNDIR=%s ovs-vswitchd unix:%s/db.sock "
                                "--pidfile=%s/ovs-vswitchd.pid --detach "
                                "--log-file=%s/ovs-vswitchd.log 2>/dev/null",
                                rundir, rundir, rundir, rundir, rundir), 0);
    long long int deadline = time_msec() + 10000;
    while (nmovs_relay_synced(relay) && time_msec() < deadline) {
        run_until(relay, 0, false, 10);
    }
    assert_false(nmovs_relay_synced(relay));
    assert_true(run_until(relay, 0, true, 10000));

    char *flows = relay_flows();
    if (!strstr(flows, "cookie=0x6e6d72000000000c")
        || !strstr(flows, "hard_timeout=")) {
        fail_msg("catch not reinstalled:\n%s", flows);
    }
    free(flows);

    /* The ports came back (new taps): a frame is caught again. */
    assert_int_equal(system_fmt("ip link set p1 up && ip link set p2 up"), 0);
    int fd1 = port_socket("p1");
    n_seen = 0;
    make_frame(frame, mac_vm, mac_peer, 0x6001);
    deadline = time_msec() + 5000;
    while (!n_seen && time_msec() < deadline) {
        send_on(fd1, frame, sizeof frame);     /* The port may still be */
        run_until(relay, 1, false, 200);       /* coming up. */
    }
    assert_true(n_seen >= 1);
    assert_int_equal(seen[0].key, 12);
    assert_int_equal(seen[0].in_port, p1);
    nmovs_relay_close(relay);
    close(fd1);
}

/* Sends one frame to 'mac' from p1 every 100 us from now on, running the
 * relay in between, until the callback has one; returns how many reached p2
 * instead (forwarded by a datapath flow cached before the catch), and the
 * time to the first caught one in '*us'. */
static int
leaked_after_sync(struct nmovs_relay *relay, int fd1, int fd2,
                  struct eth_addr mac, uint32_t tag, long long int *us)
{
    uint8_t frame[60];
    long long int start = time_usec();

    n_seen = 0;
    make_frame(frame, mac, mac_peer, tag);
    int sent = 0;
    while (sent < 20000 && !n_seen) {
        send_on(fd1, frame, sizeof frame);
        sent++;
        long long int until = time_usec() + 100;
        while (time_usec() < until && !n_seen) {
            nmovs_relay_run(relay);
        }
    }
    *us = time_usec() - start;
    assert_true(n_seen > 0);
    int leaked = count_rx(fd2, tag, 200);
    run_until(relay, INT_MAX, false, 100);
    assert_int_equal(n_seen, sent);         /* None lost in between. */
    return leaked;
}

/* A catch is in the flow table at the barrier's reply, but the datapath
 * forwards by the flows it cached until ofproto-dpif's revalidators have
 * gone through them (about 4 ms here): nmovs_relay_synced() waits for that
 * too, so that no frame to a caught MAC is forwarded once it is true, and no
 * frame is caught once a release is synced. */
static void
test_synced_covers_datapath_cache(void **state)
{
    static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, 0a, 03);
    int fd1 = port_socket("p1"), fd2 = port_socket("p2");
    long long int us;
    uint8_t frame[60];
    (void) state;

    struct nmovs_relay *relay = open_synced();
    for (int round = 0; round < 3; round++) {
        /* Traffic to the MAC: a datapath flow that forwards it. */
        for (int i = 0; i < 5; i++) {
            make_frame(frame, mac_a, mac_peer, 0x7000 + round);
            send_on(fd1, frame, sizeof frame);
        }
        assert_int_equal(count_rx_until(fd2, 0x7000 + round, 5, 1000), 5);

        long long int start = time_usec();
        assert_int_equal(nmovs_relay_catch(relay, 13, mac_a, 0), 0);
        assert_true(run_until(relay, 0, true, 5000));
        long long int synced_us = time_usec() - start;
        int leaked = leaked_after_sync(relay, fd1, fd2, mac_a,
                                       0x7100 + round, &us);
        printf("catch synced after %lld us; then %d frame(s) forwarded, "
               "first caught after %lld us\n", synced_us, leaked, us);
        assert_int_equal(leaked, 0);

        /* Released and synced: the next frame is forwarded, not caught. */
        assert_int_equal(nmovs_relay_release(relay, 13), 0);
        assert_true(run_until(relay, 0, true, 5000));
        n_seen = 0;
        make_frame(frame, mac_a, mac_peer, 0x7200 + round);
        send_on(fd1, frame, sizeof frame);
        assert_int_equal(count_rx_until(fd2, 0x7200 + round, 1, 1000), 1);
        run_until(relay, 1, false, 50);
        assert_int_equal(n_seen, 0);
    }
    nmovs_relay_close(relay);
    close(fd1);
    close(fd2);
}

/* Only this connection gets its flows' frames: another service connection
 * with packet-in on (ovs-ofctl monitor) sees a frame of a plain
 * actions=controller flow but not a caught one. */
static void
test_controller_id_isolation(void **state)
{
    int fd1 = port_socket("p1");
    uint8_t frame[60];
    (void) state;

    struct nmovs_relay *relay = open_synced();
    assert_int_equal(nmovs_relay_catch(relay, 15, mac_vm, 0), 0);
    assert_true(run_until(relay, 0, true, 5000));
    free(capture("OVS_RUNDIR=%s ovs-ofctl add-flow br0 cookie=0x99,"
                 "priority=65100,dl_dst=02:00:00:00:0a:07,"
                 "actions=controller", rundir));
    assert_int_equal(system_fmt("(OVS_RUNDIR=%s timeout 1 ovs-ofctl "
                                "monitor br0 65534 >%s/monitor.txt 2>&1 &);"
                                " sleep 0.3", rundir, rundir), 0);

    make_frame(frame, mac_vm, mac_peer, 0x8001);
    send_on(fd1, frame, sizeof frame);
    assert_true(run_until(relay, 1, false, 2000));
    assert_int_equal(seen[0].key, 15);
    make_frame(frame, (struct eth_addr) ETH_ADDR_C(02, 00, 00, 00, 0a, 07),
               mac_peer, 0x8002);
    send_on(fd1, frame, sizeof frame);

    char *out = capture("sleep 1; cat %s/monitor.txt", rundir);
    if (!strstr(out, "dl_dst=02:00:00:00:0a:07")
        || strstr(out, "dl_dst=02:00:00:00:0a:01")) {
        fail_msg("monitor saw:\n%s", out);
    }
    free(out);
    free(capture("OVS_RUNDIR=%s ovs-ofctl del-flows br0 cookie=0x99/-1",
                 rundir));
    assert_int_equal(nmovs_relay_release(relay, 15), 0);
    assert_true(run_until(relay, 0, true, 5000));
    nmovs_relay_close(relay);
    close(fd1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_catch_output_release),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_controller_id_isolation),
        cmocka_unit_test(test_backlog_bound),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_synced_covers_datapath_cache),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_reconnect_reinstalls),
    };
    need_root_and_ovs();
    /* The tests block between loop passes, which timeval would report. */
    vlog_set_levels(vlog_module_from_name("timeval"), VLF_ANY_DESTINATION,
                    VLL_OFF);
    vlog_set_levels(vlog_module_from_name("coverage"), VLF_ANY_DESTINATION,
                    VLL_OFF);
    return cmocka_run_group_tests(tests, setup_in_netns, teardown);
}
