/* garp: when announcements are due.
 *
 * One min-heap (libopenvswitch's heap.h) of entries keyed by when their
 * current round is due, for any number of VMs, and one token bucket for the
 * global frames-per-second limit.  Pure: the caller says what time it is;
 * nothing here reads a clock, sleeps or sends, so tests run it on a fake
 * clock.
 *
 * Round k >= 1 is due gap(k) after round k-1 actually began (its first
 * frame went out), as QEMU re-arms its announce timer from the time a round
 * fires; with pacing a round may take a while to go out, and the next one
 * keeps its distance from it. */
#include "garp/garp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "util.h"

#include "garp/garp-private.h"

/* The token bucket counts in millionths of a frame, so that one
 * microsecond at 'pps' frames per second earns exactly 'pps' of them. */
#define FRAME_CREDIT 1000000ULL

struct entry {
    struct heap_node node;      /* In 'heap' while active. */
    uint64_t due;               /* When the current round is due. */
    uint64_t round_start;       /* When the current round began. */
    unsigned int round;         /* Current round. */
    unsigned int next_frame;    /* Frames of it already handed out. */
    unsigned int n_frames;
    size_t id;
    bool active;
    bool round0_unpaced;        /* Round 0 not held back by 'pps'. */
};

struct garp_schedule {
    struct garp_schedule_params p;
    unsigned int n_rounds;      /* Tail included. */
    unsigned long long *gap_us; /* gap_us[k], 1 <= k < n_rounds. */
    struct heap heap;
    struct entry **entries;
    size_t n_entries, allocated;
    uint64_t credit;            /* Pacing: millionths of frames. */
    uint64_t credit_max;
    uint64_t refilled;          /* When 'credit' was last brought up. */
    bool refilled_once;
};

int
garp_schedule_params_validate(const struct garp_schedule_params *p,
                              char *err, size_t errlen)
{
    if (p->rounds < 1 || p->rounds > GARP_ROUNDS_MAX) {
        return garp_err(err, errlen, "rounds: %u is out of range (1 to %d)",
                        p->rounds, GARP_ROUNDS_MAX);
    }
    if (p->initial_ms > GARP_GAP_MAX_MS) {
        return garp_err(err, errlen, "initial: %u ms is out of range "
                        "(0 to %d)", p->initial_ms, GARP_GAP_MAX_MS);
    }
    if (p->step_ms > GARP_GAP_MAX_MS) {
        return garp_err(err, errlen, "step: %u ms is out of range (0 to %d)",
                        p->step_ms, GARP_GAP_MAX_MS);
    }
    if (p->max_ms < 1 || p->max_ms > GARP_GAP_MAX_MS) {
        return garp_err(err, errlen, "max: %u ms is out of range (1 to %d)",
                        p->max_ms, GARP_GAP_MAX_MS);
    }
    if (p->tail_until_ms > GARP_TAIL_MAX_MS) {
        return garp_err(err, errlen, "tail-until: %u ms is out of range "
                        "(0 to %d)", p->tail_until_ms, GARP_TAIL_MAX_MS);
    }
    if (p->pps > GARP_PPS_MAX) {
        return garp_err(err, errlen, "pps: %u is out of range (0 to %d)",
                        p->pps, GARP_PPS_MAX);
    }
    if (p->burst > GARP_PPS_MAX) {
        return garp_err(err, errlen, "burst: %u is out of range (0 to %d)",
                        p->burst, GARP_PPS_MAX);
    }
    return 0;
}

/* The gap of the last regular round, which the tail doubles. */
static unsigned long long
last_regular_gap_ms(const struct garp_schedule_params *p)
{
    return p->rounds >= 2 ? garp_schedule_gap_ms(p, p->rounds - 1)
                          : MIN(p->initial_ms, p->max_ms);
}

unsigned long long
garp_schedule_gap_ms(const struct garp_schedule_params *p, unsigned int k)
{
    if (k < p->rounds) {
        return MIN(p->initial_ms + (unsigned long long) (k - 1) * p->step_ms,
                   p->max_ms);
    }
    /* The tail: each gap twice the one before.  At least 1 ms, or a tail
     * of zero gaps would never reach 'tail_until_ms'. */
    unsigned long long gap = MAX(last_regular_gap_ms(p), 1);
    for (unsigned int i = p->rounds; i <= k && gap < GARP_TAIL_MAX_MS; i++) {
        gap *= 2;
    }
    return gap;
}

unsigned int
garp_schedule_n_rounds(const struct garp_schedule_params *p)
{
    unsigned long long offset = 0;
    unsigned int k;

    for (k = 1; k < p->rounds; k++) {
        offset += garp_schedule_gap_ms(p, k);
    }
    for (;; k++) {
        offset += garp_schedule_gap_ms(p, k);
        if (offset > p->tail_until_ms) {
            return k;
        }
    }
}

int
garp_schedule_create(const struct garp_schedule_params *p,
                     struct garp_schedule **sp)
{
    struct garp_schedule *s;

    *sp = NULL;
    if (garp_schedule_params_validate(p, NULL, 0)) {
        return -EINVAL;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        return -ENOMEM;
    }
    s->p = *p;
    s->n_rounds = garp_schedule_n_rounds(p);
    s->gap_us = calloc(s->n_rounds, sizeof *s->gap_us);
    if (!s->gap_us) {
        free(s);
        return -ENOMEM;
    }
    for (unsigned int k = 1; k < s->n_rounds; k++) {
        s->gap_us[k] = garp_schedule_gap_ms(p, k) * 1000;
    }
    heap_init(&s->heap);
    if (p->pps) {
        uint64_t burst = p->burst ? p->burst : MAX(p->pps / 100, 1);
        s->credit_max = s->credit = burst * FRAME_CREDIT;
    }
    *sp = s;
    return 0;
}

void
garp_schedule_destroy(struct garp_schedule *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_entries; i++) {
        free(s->entries[i]);
    }
    free(s->entries);
    heap_destroy(&s->heap);
    free(s->gap_us);
    free(s);
}

/* Earliest due first: the heap keeps its highest priority on top. */
static uint64_t
priority(uint64_t due)
{
    return UINT64_MAX - due;
}

int
garp_schedule_add(struct garp_schedule *s, uint64_t now_us,
                  unsigned int n_frames, size_t *id)
{
    struct entry *e;

    if (!n_frames) {
        return -EINVAL;
    }
    if (garp_grow((void **) &s->entries, s->n_entries, &s->allocated,
                  sizeof *s->entries, 16)) {
        return -ENOMEM;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        return -ENOMEM;
    }
    e->due = now_us;
    e->n_frames = n_frames;
    e->id = s->n_entries;
    e->active = true;
    s->entries[s->n_entries++] = e;
    heap_insert(&s->heap, &e->node, priority(e->due));
    *id = e->id;
    return 0;
}

void
garp_schedule_unpace_round0(struct garp_schedule *s, size_t id)
{
    if (id < s->n_entries) {
        s->entries[id]->round0_unpaced = true;
    }
}

void
garp_schedule_remove(struct garp_schedule *s, size_t id)
{
    if (id < s->n_entries && s->entries[id]->active) {
        heap_remove(&s->heap, &s->entries[id]->node);
        s->entries[id]->active = false;
    }
}

/* The pacing credit the bucket holds at 'now_us'. */
static uint64_t
credit_at(const struct garp_schedule *s, uint64_t now_us)
{
    if (!s->refilled_once || now_us <= s->refilled) {
        return s->credit;
    }
    /* Cap the interval first so that the product cannot overflow. */
    uint64_t full = s->credit_max / s->p.pps + 1;
    uint64_t elapsed = MIN(now_us - s->refilled, full);
    return MIN(s->credit + elapsed * s->p.pps, s->credit_max);
}

/* Brings the pacing credit up to 'now_us'. */
static void
refill(struct garp_schedule *s, uint64_t now_us)
{
    if (s->p.pps && (!s->refilled_once || now_us > s->refilled)) {
        s->credit = credit_at(s, now_us);
        s->refilled = now_us;
        s->refilled_once = true;
    }
}

/* Entry 'e' handed out its last frame of the round: on to the next. */
static void
finish_round(struct garp_schedule *s, struct entry *e)
{
    e->round++;
    e->next_frame = 0;
    if (e->round >= s->n_rounds) {
        heap_remove(&s->heap, &e->node);
        e->active = false;
        return;
    }
    e->due = e->round_start + s->gap_us[e->round];
    heap_change(&s->heap, &e->node, priority(e->due));
}

size_t
garp_schedule_due(struct garp_schedule *s, uint64_t now_us,
                  struct garp_due *due, size_t max)
{
    size_t n = 0;

    refill(s, now_us);
    while (n < max && !heap_is_empty(&s->heap)) {
        struct entry *e = CONTAINER_OF(heap_max(&s->heap), struct entry,
                                       node);

        bool paced = s->p.pps && !(e->round == 0 && e->round0_unpaced);
        if (e->due > now_us || (paced && s->credit < FRAME_CREDIT)) {
            break;
        }
        if (!e->next_frame) {
            e->round_start = now_us;
        }
        due[n].entry = e->id;
        due[n].frame = e->next_frame;
        due[n].round = e->round;
        n++;
        if (paced) {
            s->credit -= FRAME_CREDIT;
        }
        if (++e->next_frame == e->n_frames) {
            finish_round(s, e);
        }
    }
    return n;
}

uint64_t
garp_schedule_next(const struct garp_schedule *s, uint64_t now_us)
{
    const struct entry *e;
    uint64_t credit, when;

    if (heap_is_empty(&s->heap)) {
        return UINT64_MAX;
    }
    e = CONTAINER_OF(heap_max(&s->heap), struct entry, node);
    when = e->due;
    if (!s->p.pps) {
        return when;
    }
    /* When will the bucket hold a whole frame again?  (Counting from the
     * last refill if the caller's clock says earlier.) */
    now_us = MAX(now_us, s->refilled);
    credit = credit_at(s, now_us);
    if (credit < FRAME_CREDIT) {
        uint64_t wait = (FRAME_CREDIT - credit + s->p.pps - 1) / s->p.pps;
        when = MAX(when, now_us + wait);
    }
    return when;
}

bool
garp_schedule_is_done(const struct garp_schedule *s)
{
    return heap_is_empty(&s->heap);
}
