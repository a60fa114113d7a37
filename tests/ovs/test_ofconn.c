/* Tests ovs/ofconn.c against a real bridge: a scratch ovsdb-server and
 * ovs-vswitchd (tests/ovs/scratch-ovs.sh) in a namespace of its own, read
 * back with ovs-vsctl, ovs-ofctl and ovs-appctl.  Skipped without root. */
#include "ovs/ovs.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/ovs/scratch.h"

static void
test_open_missing_bridge(void **state)
{
    struct nmovs_of *of = (struct nmovs_of *) 1;
    (void) state;

    assert_int_equal(nmovs_of_open(rundir, "no-such-br", &of), -ENOENT);
    assert_null(of);
    assert_int_equal(nmovs_of_open(rundir, "../br0", &of), -EINVAL);
    nmovs_of_close(NULL);
}

static void
test_port_no_matches_ovsdb(void **state)
{
    struct nmovs_of *of;
    uint32_t ofport = 0;
    (void) state;

    assert_int_equal(nmovs_of_open(rundir, "br0", &of), 0);
    for (int i = 1; i <= 2; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        char *want = capture("ovs-vsctl --db=unix:%s/db.sock get "
                             "interface %s ofport", rundir, name);
        assert_int_equal(nmovs_of_port_no(of, name, &ofport), 0);
        assert_int_equal(ofport, strtoul(want, NULL, 10));
        free(want);
    }
    assert_int_equal(nmovs_of_port_no(of, "p3", &ofport), -ENOENT);
    nmovs_of_close(of);
}

/* A broadcast frame with source MAC 02:00:00:00:0f:NN. */
static void
make_frame(uint8_t frame[60], uint8_t nn)
{
    static const uint8_t head[14] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x02, 0x00, 0x00, 0x00, 0x0f, 0x00,
        0x88, 0xb5,              /* Local experimental ethertype. */
    };
    memset(frame, 0, 60);
    memcpy(frame, head, sizeof head);
    frame[11] = nn;
}

static unsigned long
tx_packets(const char *port)
{
    char *out = capture("OVS_RUNDIR=%s ovs-ofctl dump-ports br0 %s",
                        rundir, port);
    char *tx = strstr(out, "tx pkts=");
    unsigned long n = tx ? strtoul(tx + strlen("tx pkts="), NULL, 10) : 0;
    assert_non_null(tx);
    free(out);
    return n;
}

static void
test_packet_out_as_if_from_port(void **state)
{
    uint8_t frames[3][60];
    struct iovec iov[3];
    struct nmovs_of *of;
    uint32_t p1;
    (void) state;

    for (int i = 0; i < 3; i++) {
        make_frame(frames[i], (uint8_t) (i + 1));
        iov[i].iov_base = frames[i];
        iov[i].iov_len = sizeof frames[i];
    }
    assert_int_equal(nmovs_of_open(rundir, "br0", &of), 0);
    assert_int_equal(nmovs_of_port_no(of, "p1", &p1), 0);
    unsigned long before = tx_packets("p2");

    assert_int_equal(nmovs_of_packet_out(of, p1, iov, 3), 0);

    /* NORMAL flooded all three to p2, and learned each source MAC on p1,
     * as if the frames had come from p1. */
    assert_int_equal(tx_packets("p2") - before, 3);
    char *fdb = capture("OVS_RUNDIR=%s ovs-appctl -t %s/ovs-vswitchd.$(cat "
                        "%s/ovs-vswitchd.pid).ctl fdb/show br0",
                        rundir, rundir, rundir);
    for (int i = 1; i <= 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "%u     0  02:00:00:00:0f:%02x", p1, i);
        if (!strstr(fdb, line)) {
            fail_msg("fdb lacks '%s' in:\n%s", line, fdb);
        }
    }
    free(fdb);

    assert_int_equal(nmovs_of_packet_out(of, 70000, iov, 1), -EINVAL);
    assert_int_equal(nmovs_of_packet_out(of, p1, iov, 0), 0);
    nmovs_of_close(of);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_missing_bridge),
        cmocka_unit_test(test_port_no_matches_ovsdb),
        cmocka_unit_test(test_packet_out_as_if_from_port),
    };
    need_root_and_ovs();
    return cmocka_run_group_tests(tests, setup, teardown);
}
