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
 * 'ms'. */
static int
count_rx(int fd, uint32_t tag, int ms)
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
                && !memcmp(buf + 14, &tag, sizeof tag)) {
                n++;
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
    assert_int_equal(count_rx(fd2, 0x1001, 1000), 1);
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
    assert_int_equal(count_rx(fd2, 0x1002, 1000), 1);
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
    assert_int_equal(count_rx(fd1, 0x2001, 1000), 1);

    make_frame(frame, eth_addr_broadcast, mac_vm, 0x2002);
    send_on(fd1, frame, sizeof frame);
    assert_int_equal(count_rx(fd2, 0x2002, 1000), 1);
    make_frame(frame, mac_vm, mac_peer, 0x2003);
    send_on(fd2, frame, sizeof frame);
    assert_int_equal(count_rx(fd1, 0x2003, 1000), 1);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_catch_output_release),
        cmocka_unit_test(test_watch),
    };
    need_root_and_ovs();
    return cmocka_run_group_tests(tests, setup_in_netns, teardown);
}
