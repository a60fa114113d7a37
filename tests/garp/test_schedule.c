/* Tests garp/schedule.c on a fake clock: QEMU's rounds and gaps, the
 * doubling tail, late callers, many entries in one heap, pacing, removal,
 * and parameter checks. */
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

#define MS 1000ULL

static struct garp_schedule *
create(const struct garp_schedule_params *p)
{
    struct garp_schedule *s;

    assert_int_equal(garp_schedule_create(p, &s), 0);
    return s;
}

/* Expects exactly the 'n' frames of entry 'entry', round 'round', due at
 * 'now', and nothing else. */
static void
expect_round(struct garp_schedule *s, uint64_t now, size_t entry,
             unsigned int n, unsigned int round)
{
    struct garp_due due[16];
    size_t got = garp_schedule_due(s, now, due, ARRAY_SIZE(due));

    assert_int_equal(got, n);
    for (unsigned int i = 0; i < n; i++) {
        assert_int_equal(due[i].entry, entry);
        assert_int_equal(due[i].frame, i);
        assert_int_equal(due[i].round, round);
    }
}

static void
qemu_defaults(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    /* QEMU: 5 rounds at 0, 50, 200, 450, 800 ms. */
    static const uint64_t at[] = { 0, 50 * MS, 200 * MS, 450 * MS, 800 * MS };
    struct garp_schedule *s = create(&p);
    const uint64_t t0 = 1000000;
    struct garp_due due[4];
    size_t id;

    (void) state;
    assert_int_equal(garp_schedule_add(s, t0, 3, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(garp_schedule_next(s, t0), t0);
    for (size_t k = 0; k < ARRAY_SIZE(at); k++) {
        /* Not a microsecond early. */
        if (k) {
            assert_int_equal(garp_schedule_next(s, t0), t0 + at[k]);
            assert_int_equal(garp_schedule_due(s, t0 + at[k] - 1, due, 4), 0);
        }
        expect_round(s, t0 + at[k], 0, 3, k);
        assert_int_equal(garp_schedule_due(s, t0 + at[k], due, 4), 0);
    }
    assert_true(garp_schedule_is_done(s));
    assert_int_equal(garp_schedule_next(s, t0), UINT64_MAX);
    assert_int_equal(garp_schedule_due(s, t0 + 10000 * MS, due, 4), 0);
    garp_schedule_destroy(s);
}

static void
gaps_and_max(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;

    (void) state;
    assert_int_equal(garp_schedule_gap_ms(&p, 1), 50);
    assert_int_equal(garp_schedule_gap_ms(&p, 2), 150);
    assert_int_equal(garp_schedule_gap_ms(&p, 3), 250);
    assert_int_equal(garp_schedule_gap_ms(&p, 4), 350);
    assert_int_equal(garp_schedule_n_rounds(&p), 5);
    p.max_ms = 200;
    p.rounds = 7;
    assert_int_equal(garp_schedule_gap_ms(&p, 2), 150);
    assert_int_equal(garp_schedule_gap_ms(&p, 3), 200);
    assert_int_equal(garp_schedule_gap_ms(&p, 6), 200);
}

static void
doubling_tail(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct garp_schedule *s;
    struct garp_due due[4];
    size_t id;

    (void) state;
    /* After 0..800 ms, gaps 700, 1400 (1500, 2900 ms); 2800 more would
     * end at 5700 > 5000. */
    p.tail_until_ms = 5000;
    assert_int_equal(garp_schedule_n_rounds(&p), 7);
    assert_int_equal(garp_schedule_gap_ms(&p, 5), 700);
    assert_int_equal(garp_schedule_gap_ms(&p, 6), 1400);

    s = create(&p);
    assert_int_equal(garp_schedule_add(s, 0, 1, &id), 0);
    uint64_t t = 0;
    for (unsigned int k = 0; k < 7; k++) {
        t = garp_schedule_next(s, t);
        expect_round(s, t, 0, 1, k);
    }
    assert_int_equal(t, 2900 * MS);
    assert_true(garp_schedule_is_done(s));
    assert_int_equal(garp_schedule_due(s, 100000 * MS, due, 4), 0);
    garp_schedule_destroy(s);
}

static void
late_caller_keeps_gaps(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct garp_schedule *s = create(&p);
    size_t id;

    (void) state;
    assert_int_equal(garp_schedule_add(s, 0, 2, &id), 0);
    expect_round(s, 0, 0, 2, 0);
    /* Woken 10 ms late for round 1: round 2 keeps its 150 ms gap from
     * when round 1 really went. */
    expect_round(s, 60 * MS, 0, 2, 1);
    assert_int_equal(garp_schedule_next(s, 60 * MS), 210 * MS);
    garp_schedule_destroy(s);
}

static void
many_entries_one_heap(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct garp_schedule *s = create(&p);
    enum { N = 10000 };
    static struct garp_due due[N * 3];
    unsigned int *rounds = calloc(N, sizeof *rounds);
    uint64_t t = 0, last_due_entry_time = 0;
    size_t total = 0;

    (void) state;
    /* Entries arriving 1 ms apart, reverse order of their ids' parity, so
     * that the heap, not insertion order, decides. */
    for (size_t i = 0; i < N; i++) {
        size_t id;
        assert_int_equal(garp_schedule_add(s, (i % 2 ? i : N + i) * MS, 3,
                                           &id), 0);
        assert_int_equal(id, i);
    }
    while ((t = garp_schedule_next(s, t)) != UINT64_MAX) {
        size_t n = garp_schedule_due(s, t, due, ARRAY_SIZE(due));

        assert_true(n > 0);
        assert_true(t >= last_due_entry_time);
        last_due_entry_time = t;
        for (size_t i = 0; i < n; i += 3) {
            /* Each entry's 3 frames together, in order. */
            assert_int_equal(due[i].frame, 0);
            assert_int_equal(due[i + 2].frame, 2);
            assert_int_equal(due[i + 2].entry, due[i].entry);
            assert_int_equal(due[i].round, rounds[due[i].entry]++);
        }
        total += n;
    }
    assert_int_equal(total, N * 3 * 5);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(rounds[i], 5);
    }
    free(rounds);
    garp_schedule_destroy(s);
}

static void
pacing(void **state)
{
    struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct garp_due due[128];
    struct garp_schedule *s;
    uint64_t t = 0;
    size_t n, total = 0, id;

    (void) state;
    p.rounds = 1;
    p.pps = 1000;                   /* One frame per ms... */
    p.burst = 10;                   /* ...after a burst of 10. */
    s = create(&p);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(garp_schedule_add(s, 0, 1, &id), 0);
    }
    n = garp_schedule_due(s, 0, due, ARRAY_SIZE(due));
    assert_int_equal(n, 10);
    assert_int_equal(garp_schedule_next(s, 0), 1000);
    assert_int_equal(garp_schedule_next(s, 500), 1000);
    assert_int_equal(garp_schedule_due(s, 999, due, ARRAY_SIZE(due)), 0);
    assert_int_equal(garp_schedule_next(s, 999), 1000);
    total = n;
    t = 999;
    while ((t = garp_schedule_next(s, t)) != UINT64_MAX) {
        n = garp_schedule_due(s, t, due, ARRAY_SIZE(due));
        assert_int_equal(n, 1);
        total += n;
    }
    assert_int_equal(total, 100);
    garp_schedule_destroy(s);

    /* After a quiet spell the bucket holds a full burst again, no more. */
    p.rounds = 2;
    s = create(&p);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(garp_schedule_add(s, 0, 1, &id), 0);
    }
    assert_int_equal(garp_schedule_due(s, 0, due, ARRAY_SIZE(due)), 10);
    assert_int_equal(garp_schedule_due(s, 10 * 1000 * MS, due,
                                       ARRAY_SIZE(due)), 10);
    garp_schedule_destroy(s);
}

static void
removal(void **state)
{
    const struct garp_schedule_params p = GARP_SCHEDULE_DEFAULTS;
    struct garp_schedule *s = create(&p);
    size_t a, b;

    (void) state;
    assert_int_equal(garp_schedule_add(s, 0, 1, &a), 0);
    assert_int_equal(garp_schedule_add(s, 0, 2, &b), 0);
    garp_schedule_remove(s, a);
    garp_schedule_remove(s, a);         /* Twice is harmless. */
    expect_round(s, 0, b, 2, 0);
    garp_schedule_remove(s, b);
    assert_true(garp_schedule_is_done(s));
    assert_int_equal(garp_schedule_add(s, 0, 0, &a), -EINVAL);
    garp_schedule_destroy(s);
    garp_schedule_destroy(NULL);
}

static void
bad_params(void **state)
{
    static const struct {
        struct garp_schedule_params p;
        const char *field;
    } bad[] = {
        { { 0, 50, 100, 550, 0, 0, 0 }, "rounds" },
        { { 1001, 50, 100, 550, 0, 0, 0 }, "rounds" },
        { { 5, 100001, 100, 550, 0, 0, 0 }, "initial" },
        { { 5, 50, 100001, 550, 0, 0, 0 }, "step" },
        { { 5, 50, 100, 0, 0, 0, 0 }, "max" },
        { { 5, 50, 100, 550, 86400001, 0, 0 }, "tail-until" },
        { { 5, 50, 100, 550, 0, 100000001, 0 }, "pps" },
    };
    struct garp_schedule *s = (void *) 1;
    char err[128];

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(garp_schedule_params_validate(&bad[i].p, err,
                                                       sizeof err), -EINVAL);
        assert_memory_equal(err, bad[i].field, strlen(bad[i].field));
        assert_int_equal(garp_schedule_create(&bad[i].p, &s), -EINVAL);
        assert_null(s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qemu_defaults),
        cmocka_unit_test(gaps_and_max),
        cmocka_unit_test(doubling_tail),
        cmocka_unit_test(late_caller_keeps_gaps),
        cmocka_unit_test(many_entries_one_heap),
        cmocka_unit_test(pacing),
        cmocka_unit_test(removal),
        cmocka_unit_test(bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
