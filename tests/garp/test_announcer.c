/* Tests garp/announcer.c with a recording sender (the sender interface is
 * the module's edge) on a fake clock: each round's frames go out in one
 * send call, bad VMs add nothing, port lookups fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "garp/garp.h"
#include "garp/garp-private.h"

#define LOG 512

struct rec_sender {
    struct garp_sender up;
    size_t calls, frames;
    size_t last_n;
    uint32_t last_in_port;
    uint8_t first_frame[GARP_FRAME_MAX];
    int fail_after;             /* Fail the send once this many were sent. */
    struct rec_pkt {            /* Every frame, in order (the first LOG). */
        uint32_t in_port, out_port;
        uint8_t data[GARP_FRAME_MAX];
    } log[LOG];
};

static int
rec_port(struct garp_sender *s_ OVS_UNUSED, const char *port,
         uint32_t *in_port, char *err, size_t errlen)
{
    if (port && !strcmp(port, "nosuch")) {
        return garp_errno(-ENOENT, err, errlen, "port: no port '%s'", port);
    }
    *in_port = port ? 7 : 0;
    return 0;
}

static int
rec_send(struct garp_sender *s_, const struct garp_pkt *pkts, size_t n,
         uint64_t *wall_us, size_t *n_sent)
{
    struct rec_sender *s = (struct rec_sender *) s_;

    s->calls++;
    s->last_n = n;
    s->last_in_port = pkts[0].in_port;
    if (!s->frames) {
        memcpy(s->first_frame, pkts[0].data, pkts[0].len);
    }
    for (size_t i = 0; i < n; i++) {
        if (s->fail_after && s->frames == (size_t) s->fail_after) {
            return -ENOBUFS;
        }
        if (wall_us) {
            wall_us[i] = 1000 + s->frames;
        }
        if (s->frames < LOG) {
            s->log[s->frames].in_port = pkts[i].in_port;
            s->log[s->frames].out_port = pkts[i].out_port;
            memcpy(s->log[s->frames].data, pkts[i].data, pkts[i].len);
        }
        s->frames++;
        (*n_sent)++;
    }
    return 0;
}

static void
rec_destroy(struct garp_sender *s OVS_UNUSED)
{
}

static const struct garp_sender_class rec_class = {
    "rec", rec_port, rec_send, rec_destroy, false,
};

/* A bridge sender: sends out of a port too. */
static const struct garp_sender_class rec_bridge_class = {
    "bridge", rec_port, rec_send, rec_destroy, true,
};

struct heard {
    size_t n;
    unsigned int kinds[GARP_N_KINDS];
    uint64_t last_wall;
};

static void
heard_cb(void *h_, size_t vm OVS_UNUSED, const struct garp_frame *f,
         unsigned int round OVS_UNUSED, uint64_t wall_us)
{
    struct heard *h = h_;

    h->n++;
    h->kinds[f->kind]++;
    h->last_wall = wall_us;
}

static void
one_vm_rounds(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    const ovs_be32 v4[1] = { htonl(0xc6120101) };
    struct in6_addr v6[1] = { { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8,
                                             [15] = 1 } } };
    struct garp_vm vm = {
        .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01), .ipv4 = v4, .n_ipv4 = 1,
        .ipv6 = v6, .n_ipv6 = 1, .port = "tap-vm1",
    };
    struct rec_sender rec = { .up = { &rec_class } };
    struct heard heard = { 0 };
    struct garp_announcer *a;
    size_t id;

    (void) state;
    assert_int_equal(garp_announcer_create(&p, &rec.up, heard_cb, &heard, &a,
                                           NULL, 0), 0);
    assert_int_equal(garp_announcer_add(a, &vm, 0, &id, NULL, 0), 0);
    assert_int_equal(garp_announcer_run(a, 0), 0);
    /* Round 0: RARP, GARP, NA in one call, from the VM's port. */
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.last_n, 3);
    assert_int_equal(rec.last_in_port, 7);
    assert_int_equal(rec.first_frame[12], 0x80);    /* RARP first */
    assert_int_equal(rec.first_frame[13], 0x35);
    assert_int_equal(garp_announcer_next(a, 0), 50000);
    assert_int_equal(garp_announcer_run(a, 49999), 0);
    assert_int_equal(rec.calls, 1);
    for (uint64_t t = 50000; t != UINT64_MAX; t = garp_announcer_next(a, t)) {
        assert_int_equal(garp_announcer_run(a, t), 0);
    }
    assert_true(garp_announcer_is_done(a));
    assert_int_equal(rec.calls, 5);
    assert_int_equal(garp_announcer_n_sent(a), 15);
    assert_int_equal(heard.n, 15);
    assert_int_equal(heard.kinds[GARP_KIND_RARP], 5);
    assert_int_equal(heard.kinds[GARP_KIND_GARP], 5);
    assert_int_equal(heard.kinds[GARP_KIND_NA], 5);
    assert_int_equal(heard.last_wall, 1014);
    garp_announcer_destroy(a);
}

static void
many_vms_one_go(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender rec = { .up = { &rec_class } };
    struct garp_announcer *a;

    (void) state;
    p.rounds = 1;
    assert_int_equal(garp_announcer_create(&p, &rec.up, NULL, NULL, &a,
                                           NULL, 0), 0);
    for (int i = 0; i < 3000; i++) {
        const ovs_be32 v4[1] = { htonl(0xc6120000 + i + 1) };
        struct garp_vm vm = {
            .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 00), .ipv4 = v4,
            .n_ipv4 = 1,
        };
        vm.mac.ea[4] = i >> 8;
        vm.mac.ea[5] = i;
        vm.mac.ea[3] = 1;
        assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, NULL, 0), 0);
    }
    assert_int_equal(garp_announcer_run(a, 0), 0);
    /* 6000 frames, at most 4096 per call. */
    assert_int_equal(rec.frames, 6000);
    assert_int_equal(rec.calls, 2);
    assert_true(garp_announcer_is_done(a));
    garp_announcer_destroy(a);
}

static void
bad_vm_adds_nothing(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct garp_schedule_params bad = p;
    struct rec_sender rec = { .up = { &rec_class } };
    struct garp_vm vm = { .mac = ETH_ADDR_C(01, 00, 00, 00, 00, 01) };
    struct garp_announcer *a;
    char err[256];

    (void) state;
    bad.rounds = 0;
    assert_int_equal(garp_announcer_create(&bad, &rec.up, NULL, NULL, &a,
                                           err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "rounds"));
    assert_int_equal(garp_announcer_create(&p, &rec.up, NULL, NULL, &a,
                                           NULL, 0), 0);
    assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "mac"));
    vm.mac.ea[0] = 2;
    vm.port = "nosuch";
    assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "nosuch"));
    assert_true(garp_announcer_is_done(a));
    assert_int_equal(garp_announcer_run(a, 0), 0);
    assert_int_equal(rec.calls, 0);
    garp_announcer_destroy(a);
}

static void
send_failure_reported(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender rec = { .up = { &rec_class }, .fail_after = 1 };
    struct garp_vm vm = { .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 01),
                          .link_local = true };
    struct heard heard = { 0 };
    struct garp_announcer *a;

    (void) state;
    assert_int_equal(garp_announcer_create(&p, &rec.up, heard_cb, &heard, &a,
                                           NULL, 0), 0);
    assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, NULL, 0), 0);
    assert_int_equal(garp_announcer_run(a, 0), -ENOBUFS);
    assert_int_equal(garp_announcer_n_sent(a), 1);
    assert_int_equal(heard.n, 1);       /* Only what really went. */
    garp_announcer_destroy(a);
}

static void
two_senders_one_pacing(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender r1 = { .up = { &rec_class } };
    struct rec_sender r2 = { .up = { &rec_class } };
    struct heard heard = { 0 };
    struct garp_announcer *a;
    char err[128];

    (void) state;
    p.rounds = 2;
    p.pps = 1000;
    p.burst = 4;
    assert_int_equal(garp_announcer_create(&p, NULL, heard_cb, &heard, &a,
                                           NULL, 0), 0);
    for (int i = 0; i < 4; i++) {
        struct garp_vm vm = { .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 00),
                              .link_local = true };
        vm.mac.ea[5] = i + 1;
        /* RARP + NA each, alternating bridges, due 1 us apart. */
        assert_int_equal(garp_announcer_add_via(a, i % 2 ? &r2.up : &r1.up,
                                                &vm, i, NULL, NULL, 0), 0);
    }
    /* No default sender. */
    struct garp_vm vm = { .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 09) };
    assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, err, sizeof err),
                     -EINVAL);
    assert_memory_equal(err, "sender:", 7);

    /* Round 0 is each VM's first word to the fabric (no uplink copy went
     * before it): all of it at once, one call per sender, whatever pps. */
    assert_int_equal(garp_announcer_run(a, 3), 0);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r1.frames + r2.frames, 8);
    assert_int_equal(r1.first_frame[11], 1);
    assert_int_equal(r2.first_frame[11], 2);
    /* Round 1 is paced: the burst of 4 is shared by both senders. */
    uint64_t t = garp_announcer_next(a, 3);
    assert_int_not_equal(t, UINT64_MAX);
    assert_int_equal(garp_announcer_run(a, t + 3), 0);
    assert_int_equal(r1.frames + r2.frames, 8 + 4);
    for (t += 3; t != UINT64_MAX; t = garp_announcer_next(a, t)) {
        assert_int_equal(garp_announcer_run(a, t), 0);
    }
    assert_int_equal(r1.frames, 8);
    assert_int_equal(r2.frames, 8);
    assert_int_equal(heard.n, 16);
    garp_announcer_destroy(a);
}


/* VM 'i' (1..n) of the uplink tests: its own port and MAC, one IPv4
 * address, the uplink OpenFlow port 1 with VLAN 100. */
static const struct garp_uplink uplink = { .ofport = 1, .vlan = { 100 } };

static struct garp_vm
uplink_vm(size_t i, ovs_be32 *v4)
{
    *v4 = htonl(0xc6120000 + i);
    return (struct garp_vm) {
        .mac = ETH_ADDR_C(02, 00, 00, 00, 00, 00), .ipv4 = v4, .n_ipv4 = 1,
        .port = "tap", .ofport = 10 + i, .uplinks = &uplink, .n_uplinks = 1,
    };
}

static struct garp_vm
uplink_vm_mac(size_t i, ovs_be32 *v4)
{
    struct garp_vm vm = uplink_vm(i, v4);

    vm.mac.ea[4] = i >> 8;
    vm.mac.ea[5] = i;
    return vm;
}

/* Every VM's round 0 out of the uplink with the uplink's tag, then a learn
 * frame into each VM's port for every VM (unicast to itself, by NORMAL),
 * in one send; heard as round 0 (not the learn frames); then the
 * schedule's round 0, by NORMAL, untagged. */
static void
uplink_first(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender *rec = xzalloc(sizeof *rec);
    struct heard heard = { 0 };
    struct garp_announcer *a;
    ovs_be32 v4[4];

    (void) state;
    rec->up.class = &rec_bridge_class;
    assert_int_equal(garp_announcer_create(&p, &rec->up, heard_cb, &heard,
                                           &a, NULL, 0), 0);
    for (size_t i = 1; i <= 3; i++) {
        struct garp_vm vm = uplink_vm_mac(i, &v4[i]);
        assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, NULL, 0), 0);
    }
    assert_int_equal(garp_announcer_first(a), 0);
    assert_int_equal(rec->calls, 1);
    assert_int_equal(rec->frames, 3 * 2 + 3);
    for (size_t i = 0; i < 6; i++) {
        const struct rec_pkt *l = &rec->log[i];
        static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

        assert_int_equal(l->in_port, 11 + i / 2);
        assert_int_equal(l->out_port, 1);                 /* the uplink */
        assert_memory_equal(l->data, bcast, 6);
        assert_int_equal(l->data[12], 0x81);              /* 802.1Q 100 */
        assert_int_equal(l->data[13], 0x00);
        assert_int_equal(((l->data[14] & 0xf) << 8) | l->data[15], 100);
        assert_int_equal(l->data[16], i % 2 ? 0x08 : 0x80);
    }
    for (size_t i = 6; i < 9; i++) {
        const struct rec_pkt *l = &rec->log[i];
        const uint8_t mac[6] = { 2, 0, 0, 0, 0, i - 5 };

        assert_int_equal(l->in_port, 11 + i - 6);
        assert_int_equal(l->out_port, 0);                 /* NORMAL */
        assert_memory_equal(l->data, mac, 6);             /* to itself */
        assert_memory_equal(l->data + 6, mac, 6);
        assert_int_equal(l->data[12], 0x80);              /* untagged */
        assert_int_equal(l->data[13], 0x35);
    }
    assert_int_equal(heard.n, 6);                         /* not the learn */
    assert_int_equal(heard.kinds[GARP_KIND_RARP], 3);
    assert_int_equal(garp_announcer_n_sent(a), 6);

    /* Nothing more to send first; the schedule's round 0 by NORMAL. */
    assert_int_equal(garp_announcer_first(a), 0);
    assert_int_equal(rec->calls, 1);
    assert_int_equal(garp_announcer_run(a, 0), 0);
    assert_int_equal(rec->calls, 2);
    assert_int_equal(rec->frames, 9 + 6);
    for (size_t i = 9; i < 15; i++) {
        assert_int_equal(rec->log[i].out_port, 0);
        assert_int_not_equal(rec->log[i].data[12], 0x81);
    }
    garp_announcer_destroy(a);
    free(rec);
}

/* A VM cancelled before its first frames sends none; run() sends the first
 * frames before the schedule's; a sender that cannot send out of a port
 * takes no uplinks. */
static void
uplink_first_cancel_and_run(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender *rec = xzalloc(sizeof *rec);
    struct rec_sender dev = { .up = { &rec_class } };
    struct garp_announcer *a;
    char err[128] = "";
    ovs_be32 v4[3];
    size_t id;

    (void) state;
    rec->up.class = &rec_bridge_class;
    assert_int_equal(garp_announcer_create(&p, &rec->up, NULL, NULL, &a,
                                           NULL, 0), 0);
    struct garp_vm vm = uplink_vm(1, &v4[1]);
    assert_int_equal(garp_announcer_add(a, &vm, 0, &id, NULL, 0), 0);
    garp_announcer_cancel(a, id);
    vm = uplink_vm(2, &v4[2]);
    assert_int_equal(garp_announcer_add(a, &vm, 0, &id, NULL, 0), 0);
    assert_int_equal(garp_announcer_run(a, 0), 0);
    assert_int_equal(rec->calls, 2);                      /* first, round 0 */
    assert_int_equal(rec->frames, 3 + 2);
    assert_int_equal(rec->log[0].in_port, 12);
    assert_int_equal(rec->log[0].out_port, 1);
    assert_int_equal(rec->log[2].out_port, 0);          /* the learn frame */
    assert_int_equal(rec->log[3].out_port, 0);

    assert_int_equal(garp_announcer_add_via(a, &dev.up, &vm, 0, NULL, err,
                                            sizeof err), -EINVAL);
    assert_non_null(strstr(err, "uplinks"));
    assert_int_equal(dev.calls, 0);
    garp_announcer_destroy(a);
    free(rec);
}

/* 100 VMs: the first frames in one go, whatever the pacing; the
 * schedule's round 0 (a flood per frame on the bridge) paced, not one
 * burst: 'burst' at once, then 'pps'. */
static void
uplink_first_then_paced(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender *rec = xzalloc(sizeof *rec);
    struct garp_announcer *a;
    ovs_be32 v4[101];

    (void) state;
    p.pps = 1000;                                         /* burst 10 */
    rec->up.class = &rec_bridge_class;
    assert_int_equal(garp_announcer_create(&p, &rec->up, NULL, NULL, &a,
                                           NULL, 0), 0);
    for (size_t i = 1; i <= 100; i++) {
        struct garp_vm vm = uplink_vm_mac(i, &v4[i]);
        assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, NULL, 0), 0);
    }
    assert_int_equal(garp_announcer_first(a), 0);
    assert_int_equal(rec->calls, 1);
    assert_int_equal(rec->frames, 100 + 200);

    assert_int_equal(garp_announcer_run(a, 0), 0);
    assert_int_equal(rec->frames, 300 + 10);
    /* The 200 frames of round 0 need 190 ms more at 1000 per second. */
    uint64_t t = 0;
    while (rec->frames < 300 + 200) {
        t = garp_announcer_next(a, t);
        assert_int_not_equal(t, UINT64_MAX);
        assert_int_equal(garp_announcer_run(a, t), 0);
    }
    assert_in_range(t, 189000, 191000);
    garp_announcer_destroy(a);
    free(rec);
}

/* Without an uplink copy, round 0 is the fabric's first word of the VM
 * (announce-at-pause, no uplink port): every VM's round 0 leaves at once
 * whatever 'pps'; the later rounds are paced. */
static void
no_uplink_round0_unpaced(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct rec_sender rec = { .up = { &rec_class } };
    struct garp_announcer *a;

    (void) state;
    p.pps = 1000;                                         /* burst 10 */
    p.rounds = 2;
    assert_int_equal(garp_announcer_create(&p, &rec.up, NULL, NULL, &a,
                                           NULL, 0), 0);
    for (int i = 0; i < 100; i++) {
        const ovs_be32 v4[1] = { htonl(0xc6120000 + i + 1) };
        struct garp_vm vm = {
            .mac = ETH_ADDR_C(02, 00, 00, 01, 00, 00), .ipv4 = v4,
            .n_ipv4 = 1,
        };
        vm.mac.ea[5] = i + 1;
        assert_int_equal(garp_announcer_add(a, &vm, 0, NULL, NULL, 0), 0);
    }
    assert_int_equal(garp_announcer_run(a, 0), 0);
    assert_int_equal(rec.frames, 200);          /* RARP + GARP each, now. */
    /* Round 1 is paced: not all of it in one go once due. */
    uint64_t t = garp_announcer_next(a, 0);
    assert_int_not_equal(t, UINT64_MAX);
    assert_int_equal(garp_announcer_run(a, t), 0);
    assert_in_range(rec.frames, 201, 399);
    garp_announcer_destroy(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_vm_rounds),
        cmocka_unit_test(many_vms_one_go),
        cmocka_unit_test(bad_vm_adds_nothing),
        cmocka_unit_test(send_failure_reported),
        cmocka_unit_test(two_senders_one_pacing),
        cmocka_unit_test(uplink_first),
        cmocka_unit_test(uplink_first_cancel_and_run),
        cmocka_unit_test(uplink_first_then_paced),
        cmocka_unit_test(no_uplink_round0_unpaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
