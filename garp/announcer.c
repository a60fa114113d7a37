/* garp: the announcer ties VMs' frames, one schedule and one sender
 * together, for the poll loop (run/wait) or any loop that knows the time. */
#include "garp/garp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/poll-loop.h"
#include "util.h"
#include "timeval.h"

#include "garp/garp-private.h"

/* Frames handed to the sender in one go, at most. */
#define RUN_BATCH 4096

struct vm_slot {
    struct garp_frame *frames;
    size_t n_frames;
    struct garp_sender *sender;
    uint32_t in_port;
};

struct garp_announcer {
    struct garp_schedule *schedule;
    struct garp_sender *sender;
    garp_sent_cb *cb;
    void *aux;
    struct vm_slot *vms;
    size_t n_vms, allocated;
    uint64_t n_sent;
    /* One run's frames, and one sender's share of them. */
    struct garp_due due[RUN_BATCH];
    bool taken[RUN_BATCH];
    size_t idx[RUN_BATCH];
    struct garp_pkt pkts[RUN_BATCH];
    uint64_t wall_us[RUN_BATCH];
};

int
garp_announcer_create(const struct garp_schedule_params *p,
                      struct garp_sender *sender, garp_sent_cb *cb,
                      void *aux, struct garp_announcer **annp,
                      char *err, size_t errlen)
{
    struct garp_announcer *a;
    int error;

    *annp = NULL;
    error = garp_schedule_params_validate(p, err, errlen);
    if (error) {
        return error;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        return -ENOMEM;
    }
    error = garp_schedule_create(p, &a->schedule);
    if (error) {
        free(a);
        return error;
    }
    a->sender = sender;
    a->cb = cb;
    a->aux = aux;
    *annp = a;
    return 0;
}

void
garp_announcer_destroy(struct garp_announcer *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n_vms; i++) {
        free(a->vms[i].frames);
    }
    free(a->vms);
    garp_schedule_destroy(a->schedule);
    free(a);
}

int
garp_announcer_add(struct garp_announcer *a, const struct garp_vm *vm,
                   uint64_t now_us, size_t *vmp, char *err, size_t errlen)
{
    return garp_announcer_add_via(a, a->sender, vm, now_us, vmp, err, errlen);
}

int
garp_announcer_add_via(struct garp_announcer *a, struct garp_sender *sender,
                       const struct garp_vm *vm, uint64_t now_us,
                       size_t *vmp, char *err, size_t errlen)
{
    struct vm_slot slot;
    size_t id;
    int error;

    if (!sender) {
        return garp_err(err, errlen, "sender: none for this VM");
    }
    error = garp_vm_frames(vm, &slot.frames, &slot.n_frames, err, errlen);
    if (error) {
        return error;
    }
    slot.sender = sender;
    slot.in_port = vm->ofport;
    error = (vm->ofport ? 0
             : garp_sender_port(sender, vm->port, &slot.in_port,
                                err, errlen));
    if (error) {
        goto out_free_frames;
    }
    if (garp_grow((void **) &a->vms, a->n_vms, &a->allocated,
                  sizeof *a->vms, 16)) {
        error = -ENOMEM;
        goto out_free_frames;
    }
    error = garp_schedule_add(a->schedule, now_us, slot.n_frames, &id);
    if (error) {
        goto out_free_frames;
    }
    /* Schedule ids and our slots are both allocated in order from 0. */
    ovs_assert(id == a->n_vms);
    a->vms[a->n_vms++] = slot;
    if (vmp) {
        *vmp = id;
    }
    return 0;

out_free_frames:
    free(slot.frames);
    return error;
}

/* Sends the frames of 'a->due[0..n)' that go through the sender of the
 * first one not yet taken, in due order, in one call.  Returns 0 or the
 * sender's -errno. */
static int
send_one_sender(struct garp_announcer *a, size_t n, size_t first)
{
    struct garp_sender *sender = a->vms[a->due[first].entry].sender;
    size_t k = 0, n_sent;
    int error;

    for (size_t i = first; i < n; i++) {
        const struct vm_slot *vm = &a->vms[a->due[i].entry];
        const struct garp_frame *f = &vm->frames[a->due[i].frame];

        if (a->taken[i] || vm->sender != sender) {
            continue;
        }
        a->taken[i] = true;
        a->idx[k] = i;
        a->pkts[k] = (struct garp_pkt) { f->data, f->len, vm->in_port };
        a->wall_us[k++] = 0;
    }
    error = garp_sender_send(sender, a->pkts, k, a->cb ? a->wall_us : NULL,
                             &n_sent);
    a->n_sent += n_sent;
    /* Senders stamp the frames they sent, and only those. */
    for (size_t j = 0; a->cb && j < k; j++) {
        const struct garp_due *d = &a->due[a->idx[j]];

        if (a->wall_us[j]) {
            a->cb(a->aux, d->entry, &a->vms[d->entry].frames[d->frame],
                  d->round, a->wall_us[j]);
        }
    }
    return error;
}

int
garp_announcer_run(struct garp_announcer *a, uint64_t now_us)
{
    int result = 0;

    for (;;) {
        size_t n = garp_schedule_due(a->schedule, now_us, a->due, RUN_BATCH);

        if (!n) {
            return result;
        }
        memset(a->taken, 0, n * sizeof a->taken[0]);
        for (size_t i = 0; i < n; i++) {
            if (!a->taken[i]) {
                int error = send_one_sender(a, n, i);
                result = result ? result : error;
            }
        }
        if (result) {
            return result;
        }
    }
}

void
garp_announcer_cancel(struct garp_announcer *a, size_t vm)
{
    garp_schedule_remove(a->schedule, vm);
}

uint64_t
garp_announcer_next(const struct garp_announcer *a, uint64_t now_us)
{
    return garp_schedule_next(a->schedule, now_us);
}

void
garp_announcer_wait(const struct garp_announcer *a)
{
    uint64_t next = garp_announcer_next(a, time_usec());

    /* Both clocks are CLOCK_MONOTONIC; poll_block() counts milliseconds. */
    if (next != UINT64_MAX) {
        poll_timer_wait_until(DIV_ROUND_UP(next, 1000));
    }
}

bool
garp_announcer_is_done(const struct garp_announcer *a)
{
    return garp_schedule_is_done(a->schedule);
}

uint64_t
garp_announcer_n_sent(const struct garp_announcer *a)
{
    return a->n_sent;
}
