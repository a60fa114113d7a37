/* Tests garp/pcap_sender.c with libpcap wrapped at the edge: the handle is
 * a dead one (no device, no root), pcap_inject() records or fails on
 * demand.  Checks order, one call for many frames, per-frame timestamps,
 * retries on a full queue, errors, and bad devices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>
#include "timeval.h"

#include "garp/garp.h"

pcap_t *__real_pcap_create(const char *, char *);
pcap_t *__wrap_pcap_create(const char *, char *);
int __wrap_pcap_activate(pcap_t *);
int __wrap_pcap_setfilter(pcap_t *, struct bpf_program *);
int __wrap_pcap_inject(pcap_t *, const void *, size_t);

static int activate_result;
static struct {
    uint8_t first_byte[16];
    size_t len[16];
    size_t n;
    int fail_errno[32];         /* Per call: 0 or the errno to fail with. */
    size_t calls;
} inj;

pcap_t *
__wrap_pcap_create(const char *dev, char *errbuf)
{
    (void) dev;
    (void) errbuf;
    return pcap_open_dead(DLT_EN10MB, 65535);
}

int
__wrap_pcap_activate(pcap_t *p)
{
    (void) p;
    return activate_result;
}

int
__wrap_pcap_setfilter(pcap_t *p, struct bpf_program *prog)
{
    (void) p;
    (void) prog;
    return 0;
}

int
__wrap_pcap_inject(pcap_t *p, const void *data, size_t len)
{
    size_t call = inj.calls++;

    (void) p;
    if (call < ARRAY_SIZE(inj.fail_errno) && inj.fail_errno[call]) {
        errno = inj.fail_errno[call];
        return -1;
    }
    inj.first_byte[inj.n] = ((const uint8_t *) data)[6 + 5];
    inj.len[inj.n++] = len;
    return len;
}

static int
reset(void **state)
{
    (void) state;
    memset(&inj, 0, sizeof inj);
    activate_result = 0;
    return 0;
}

/* Three frames whose source MAC ends in 1, 2, 3. */
static void
three_frames(uint8_t bufs[3][GARP_FRAME_MAX], struct garp_pkt pkts[3])
{
    for (int i = 0; i < 3; i++) {
        struct eth_addr mac = ETH_ADDR_C(02, 00, 00, 00, 00, 00);
        size_t len;

        mac.ea[5] = i + 1;
        assert_int_equal(garp_build_rarp(bufs[i], GARP_FRAME_MAX, mac, NULL,
                                         &len), 0);
        pkts[i] = (struct garp_pkt) { bufs[i], len, 0 };
    }
}

static void
sends_in_order_with_times(void **state)
{
    uint8_t bufs[3][GARP_FRAME_MAX];
    struct garp_pkt pkts[3];
    struct garp_sender *s;
    uint64_t wall[3] = { 0 };
    uint64_t before = time_wall_usec();
    uint32_t in_port = 99;
    size_t n_sent;

    (void) state;
    three_frames(bufs, pkts);
    assert_int_equal(garp_pcap_sender_create("lo", NULL, 0, &s), 0);
    assert_int_equal(garp_sender_port(s, NULL, &in_port, NULL, 0), 0);
    assert_int_equal(in_port, 0);
    assert_int_equal(garp_sender_send(s, pkts, 3, wall, &n_sent), 0);
    assert_int_equal(n_sent, 3);
    assert_int_equal(inj.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(inj.first_byte[i], i + 1);
        assert_int_equal(inj.len[i], 60);
        assert_true(wall[i] >= before);
        assert_true(wall[i] <= (uint64_t) time_wall_usec());
        assert_true(!i || wall[i] >= wall[i - 1]);
    }
    garp_sender_destroy(s);
}

static void
full_queue_is_retried(void **state)
{
    uint8_t bufs[3][GARP_FRAME_MAX];
    struct garp_pkt pkts[3];
    struct garp_sender *s;
    size_t n_sent;

    (void) state;
    three_frames(bufs, pkts);
    inj.fail_errno[1] = ENOBUFS;
    inj.fail_errno[2] = EAGAIN;
    assert_int_equal(garp_pcap_sender_create("lo", NULL, 0, &s), 0);
    assert_int_equal(garp_sender_send(s, pkts, 3, NULL, &n_sent), 0);
    assert_int_equal(n_sent, 3);
    assert_int_equal(inj.n, 3);             /* Each frame once. */
    assert_int_equal(inj.first_byte[1], 2);
    garp_sender_destroy(s);
}

static void
hard_error_stops(void **state)
{
    uint8_t bufs[3][GARP_FRAME_MAX];
    struct garp_pkt pkts[3];
    struct garp_sender *s;
    uint64_t wall[3] = { 0 };
    size_t n_sent;

    (void) state;
    three_frames(bufs, pkts);
    inj.fail_errno[1] = ENETDOWN;
    assert_int_equal(garp_pcap_sender_create("lo", NULL, 0, &s), 0);
    assert_int_equal(garp_sender_send(s, pkts, 3, wall, &n_sent), -ENETDOWN);
    assert_int_equal(n_sent, 1);
    assert_true(wall[0] > 0);
    assert_int_equal(wall[1], 0);           /* Not sent: not stamped. */
    garp_sender_destroy(s);
}

static void
bad_devices(void **state)
{
    struct garp_sender *s = (void *) 1;
    uint32_t in_port;
    char err[256];

    (void) state;
    assert_int_equal(garp_pcap_sender_create("nosuch0", err, sizeof err, &s),
                     -ENODEV);
    assert_null(s);
    assert_memory_equal(err, "dev:", 4);
    assert_non_null(strstr(err, "nosuch0"));
    assert_int_equal(garp_pcap_sender_create("a-name-longer-than-ifnamsiz",
                                             err, sizeof err, &s), -ENODEV);
    activate_result = PCAP_ERROR_PERM_DENIED;
    assert_int_equal(garp_pcap_sender_create("lo", err, sizeof err, &s),
                     -EPERM);
    activate_result = 0;
    assert_int_equal(garp_pcap_sender_create("lo", err, sizeof err, &s), 0);
    assert_int_equal(garp_sender_port(s, "tap-vm1", &in_port, err,
                                      sizeof err), -EINVAL);
    assert_memory_equal(err, "port:", 5);
    garp_sender_destroy(s);
    garp_sender_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(sends_in_order_with_times, reset),
        cmocka_unit_test_setup(full_queue_is_retried, reset),
        cmocka_unit_test_setup(hard_error_stops, reset),
        cmocka_unit_test_setup(bad_devices, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
