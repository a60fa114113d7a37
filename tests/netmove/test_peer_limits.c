/* netmove/daemon/peer_limits.c: what a peer may make netmoved spend: which
 * inbound connection gives way to a new one, and a session's request
 * budget (rate, bursts, requests held open, flood). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"

#include "netmove/daemon/peer-private.h"

/* 'n' unauthenticated slots from 'addr', the i-th opened at 100 + i. */
static struct peer_slot *
slots_from(const char *addr, size_t n, size_t extra)
{
    struct peer_slot *s = xcalloc(n + extra, sizeof *s);

    for (size_t i = 0; i < n; i++) {
        s[i] = (struct peer_slot) { .addr = addr, .since = 100 + i };
    }
    return s;
}

/* Room: no one gives way. */
static void
test_admit_room(void **state OVS_UNUSED)
{
    struct peer_slot *s = slots_from("198.18.0.3", NM_PEER_MAX_PER_ADDR - 1,
                                     0);
    size_t victim;

    assert_int_equal(peer_admit(s, 0, "198.18.0.3", &victim), 0);
    assert_int_equal(victim, 0);
    assert_int_equal(peer_admit(s, NM_PEER_MAX_PER_ADDR - 1, "198.18.0.3",
                                &victim), 0);
    assert_int_equal(victim, NM_PEER_MAX_PER_ADDR - 1);
    free(s);
}

/* One address over its cap: its oldest unauthenticated connection gives
 * way, not another address's, not an authenticated one; if all of its are
 * authenticated, the newcomer is refused. */
static void
test_admit_per_addr(void **state OVS_UNUSED)
{
    size_t n = NM_PEER_MAX_PER_ADDR + 2;
    struct peer_slot *s = slots_from("198.18.0.3", n, 0);
    size_t victim;

    s[0].addr = "198.18.0.2";           /* Oldest, another address. */
    s[1].name = "host3";                /* Oldest of .3, authenticated. */
    assert_int_equal(peer_admit(s, n, "198.18.0.3", &victim), 0);
    assert_int_equal(victim, 2);
    s[2].since = 999;                   /* Now 3 is the oldest. */
    assert_int_equal(peer_admit(s, n, "198.18.0.3", &victim), 0);
    assert_int_equal(victim, 3);
    /* Another address still has room. */
    assert_int_equal(peer_admit(s, n, "198.18.0.2", &victim), 0);
    assert_int_equal(victim, n);

    for (size_t i = 1; i < n; i++) {
        s[i].name = "host3";
    }
    assert_int_equal(peer_admit(s, n, "198.18.0.3", &victim), -EBUSY);
    free(s);
}

/* The total cap: many addresses, each under its own cap; the oldest
 * unauthenticated connection of any gives way. */
static void
test_admit_total(void **state OVS_UNUSED)
{
    size_t n = NM_PEER_MAX_INBOUND;
    struct peer_slot *s = xcalloc(n, sizeof *s);
    char (*addrs)[32] = xcalloc(n, sizeof *addrs);
    size_t victim;

    for (size_t i = 0; i < n; i++) {
        snprintf(addrs[i], sizeof addrs[i], "198.18.1.%"PRIuSIZE, i);
        s[i] = (struct peer_slot) { .addr = addrs[i], .since = 1000 - i };
    }
    assert_int_equal(peer_admit(s, n - 1, "198.18.2.1", &victim), 0);
    assert_int_equal(victim, n - 1);
    assert_int_equal(peer_admit(s, n, "198.18.2.1", &victim), 0);
    assert_int_equal(victim, n - 1);    /* The oldest: since 1000 - (n - 1). */
    free(s);
    free(addrs);
}

/* Over NM_PEER_MAX_PER_PEER authenticated connections of one peer: its
 * oldest gives way. */
static void
test_per_peer(void **state OVS_UNUSED)
{
    size_t n = NM_PEER_MAX_PER_PEER + 2;
    struct peer_slot *s = slots_from("198.18.0.2", n, 0);
    size_t victim;

    for (size_t i = 0; i < NM_PEER_MAX_PER_PEER; i++) {
        s[i + 1].name = "host2";
    }
    assert_false(peer_over_peer_cap(s, n, "host2", &victim));
    s[n - 1].name = "host2";
    assert_true(peer_over_peer_cap(s, n, "host2", &victim));
    assert_int_equal(victim, 1);
    assert_false(peer_over_peer_cap(s, n, "host3", &victim));
    free(s);
}

static void
test_remote_addr(void **state OVS_UNUSED)
{
    static const char *cases[][2] = {
        { "ssl:198.18.0.1:40000", "198.18.0.1" },
        { "ssl:[2001:db8::1]:40000", "[2001:db8::1]" },
        { "tcp:198.19.0.3:7300", "198.19.0.3" },
        { "unix:/run/x.sock", "unix:/run/x.sock" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *addr = peer_remote_addr(cases[i][0]);
        assert_string_equal(addr, cases[i][1]);
        free(addr);
    }
}

/* A burst is served, then "busy", then a flood; tokens come back with
 * time.  The bucket fills at NM_PEER_REQ_RATE a second, so a pause of
 * 200 ms gives back at least one request and not a whole burst. */
static void
test_budget_rate(void **state OVS_UNUSED)
{
    struct peer_budget b;
    int served = 0, busy = 0;

    peer_budget_init(&b);
    while (peer_budget_take(&b, 0) == PEER_SERVE) {
        served++;
    }
    assert_in_range(served, NM_PEER_REQ_BURST, NM_PEER_REQ_BURST + 5);
    busy = 1;
    while (peer_budget_take(&b, 0) == PEER_BUSY) {
        busy++;
    }
    /* Refusals have a burst of their own; past it, a flood. */
    assert_in_range(busy, NM_PEER_REQ_BURST, NM_PEER_REQ_BURST + 5);

    usleep(200 * 1000);
    served = 0;
    while (peer_budget_take(&b, 0) == PEER_SERVE) {
        served++;
    }
    assert_in_range(served, 1, NM_PEER_REQ_BURST / 2);
}

/* NM_PEER_MAX_OPEN requests held open: the next is "busy" though the
 * rate allows it. */
static void
test_budget_open(void **state OVS_UNUSED)
{
    struct peer_budget b;

    peer_budget_init(&b);
    assert_int_equal(peer_budget_take(&b, NM_PEER_MAX_OPEN - 1), PEER_SERVE);
    assert_int_equal(peer_budget_take(&b, NM_PEER_MAX_OPEN), PEER_BUSY);
    assert_int_equal(peer_budget_take(&b, 0), PEER_SERVE);
}

/* "drain" is not charged to the rate: past the burst, with the bucket
 * empty, it is still served; another method is not; and "drain" too is
 * "busy" with NM_PEER_MAX_OPEN held open. */
static void
test_drain_unmetered(void **state OVS_UNUSED)
{
    struct peer_budget b;

    peer_budget_init(&b);
    for (int i = 0; i < NM_PEER_REQ_BURST; i++) {
        assert_int_equal(peer_budget_take(&b, 0), PEER_SERVE);
    }
    assert_int_equal(peer_budget_take(&b, 0), PEER_BUSY);
    assert_true(peer_method_unmetered("drain", 0));
    assert_true(peer_method_unmetered("drain", NM_PEER_MAX_OPEN - 1));
    assert_false(peer_method_unmetered("drain", NM_PEER_MAX_OPEN));
    assert_false(peer_method_unmetered("drain-end", 0));
    assert_false(peer_method_unmetered("export", 0));
    assert_false(peer_method_unmetered(NULL, 0));
}

/* Room is looked at without taking it (a taken drain costs nothing); a
 * refused one is charged: past the burst of refusals, no room. */
static void
test_budget_room_and_charge(void **state OVS_UNUSED)
{
    struct peer_budget b;

    peer_budget_init(&b);
    for (int i = 0; i < 10 * NM_PEER_REQ_BURST; i++) {
        assert_true(peer_budget_has_room(&b));
    }
    for (int i = 0; i < NM_PEER_REQ_BURST; i++) {
        peer_budget_charge(&b);
    }
    assert_false(peer_budget_has_room(&b));
    assert_int_equal(peer_budget_take(&b, 0), PEER_BUSY);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit_room),
        cmocka_unit_test(test_admit_per_addr),
        cmocka_unit_test(test_admit_total),
        cmocka_unit_test(test_per_peer),
        cmocka_unit_test(test_remote_addr),
        cmocka_unit_test(test_budget_rate),
        cmocka_unit_test(test_budget_open),
        cmocka_unit_test(test_drain_unmetered),
        cmocka_unit_test(test_budget_room_and_charge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
