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
    /* garp_announcer_first()'s frames: the learn frame, then round 0 for
     * each uplink ('first_out': the port each goes out of, 0 = NORMAL). */
    struct garp_frame *first;
    uint32_t *first_out;
    size_t n_first;
    bool first_due;
};

struct garp_announcer {
    struct garp_schedule *schedule;
    struct garp_sender *sender;
    garp_sent_cb *cb;
    void *aux;
    struct vm_slot *vms;
    size_t n_vms, allocated;
    size_t n_first_due;             /* VMs whose 'first_due' is set. */
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
        free(a->vms[i].first);
        free(a->vms[i].first_out);
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

/* Builds 'slot''s first frames for 'vm' (garp_announcer_first()): the
 * learn frame, a RARP from the MAC to itself into the VM's port, then
 * 'slot''s round 0 tagged for each uplink (sent in the other order).  0,
 * -EINVAL or -ENOMEM. */
static int
first_frames(struct vm_slot *slot, const struct garp_vm *vm,
             char *err, size_t errlen)
{
    size_t n = 1 + vm->n_uplinks * slot->n_frames, k = 0;
    struct garp_frame *f = calloc(n, sizeof *f);
    uint32_t *out = calloc(n, sizeof *out);
    size_t len;
    int error;

    if (!f || !out) {
        error = -ENOMEM;
        goto out_free;
    }
    error = garp_build_rarp(f[0].data, sizeof f[0].data, vm->mac, &vm->vlan,
                            &len);
    if (error) {
        goto out_free;
    }
    /* Unicast to itself: once NORMAL has learned the source, the next
     * one finds the destination on the input port and drops it. */
    memcpy(f[0].data, &vm->mac, sizeof vm->mac);
    f[0].kind = GARP_KIND_RARP;
    f[0].len = len;
    k = 1;
    for (size_t u = 0; u < vm->n_uplinks; u++) {
        const struct garp_uplink *up = &vm->uplinks[u];
        struct garp_vm tagged = *vm;
        struct garp_frame *frames;
        size_t n_frames;

        if (!up->ofport) {
            error = garp_err(err, errlen, "uplink: no OpenFlow port");
            goto out_free;
        }
        tagged.vlan = up->vlan;
        error = garp_vm_frames(&tagged, &frames, &n_frames, err, errlen);
        if (error) {
            goto out_free;
        }
        ovs_assert(n_frames == slot->n_frames);
        for (size_t i = 0; i < n_frames; i++, k++) {
            f[k] = frames[i];
            out[k] = up->ofport;
        }
        free(frames);
    }
    slot->first = f;
    slot->first_out = out;
    slot->n_first = n;
    slot->first_due = true;
    return 0;

out_free:
    free(f);
    free(out);
    return error;
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
    if (vm->n_uplinks && !sender->class->to_port) {
        return garp_err(err, errlen, "uplinks: the %s sender cannot send "
                        "out of a port", sender->class->name);
    }
    memset(&slot, 0, sizeof slot);
    error = garp_vm_frames(vm, &slot.frames, &slot.n_frames, err, errlen);
    if (error) {
        return error;
    }
    if (vm->n_uplinks) {
        error = first_frames(&slot, vm, err, errlen);
        if (error) {
            goto out_free_frames;
        }
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
    if (!vm->n_uplinks) {
        /* Its round 0 is what relearns the fabric (announce-at-pause, or
         * no uplink port): not held back behind other VMs' floods.  With
         * an uplink copy sent first, round 0 is the local flood: paced. */
        garp_schedule_unpace_round0(a->schedule, id);
    }
    a->vms[a->n_vms++] = slot;
    a->n_first_due += slot.first_due;
    if (vmp) {
        *vmp = id;
    }
    return 0;

out_free_frames:
    free(slot.frames);
    free(slot.first);
    free(slot.first_out);
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
        a->pkts[k] = (struct garp_pkt) { f->data, f->len, vm->in_port, 0 };
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

/* Appends to 'pkts' (at '*k') the first frames of the VMs due to send
 * them through 'sender': the learn frames if 'learn', else the uplink
 * frames, noting each one's VM and frame in 'who'. */
static void
first_collect(struct garp_announcer *a, struct garp_sender *sender,
              bool learn, struct garp_pkt *pkts, size_t (*who)[2], size_t *k)
{
    for (size_t v = 0; v < a->n_vms; v++) {
        const struct vm_slot *vm = &a->vms[v];

        if (!vm->first_due || vm->sender != sender) {
            continue;
        }
        for (size_t i = learn ? 0 : 1; i < (learn ? 1 : vm->n_first); i++) {
            pkts[*k] = (struct garp_pkt) { vm->first[i].data,
                                           vm->first[i].len, vm->in_port,
                                           vm->first_out[i] };
            who[*k][0] = v;
            who[(*k)++][1] = i;
        }
    }
}

int
garp_announcer_first(struct garp_announcer *a)
{
    int result = 0;

    while (a->n_first_due) {
        struct garp_sender *sender = NULL;
        size_t n = 0, k = 0, n_sent = 0;

        for (size_t v = 0; v < a->n_vms; v++) {
            if (a->vms[v].first_due) {
                sender = sender ? sender : a->vms[v].sender;
                n += a->vms[v].sender == sender ? a->vms[v].n_first : 0;
            }
        }
        struct garp_pkt *pkts = xmalloc(n * sizeof *pkts);
        size_t (*who)[2] = xmalloc(n * sizeof *who);
        uint64_t *wall = xcalloc(n, sizeof *wall);

        /* Every VM's round 0 to the fabric first, then every learn frame:
         * OVS learns from a packet-out only once it has translated it
         * (ofproto-dpif.c packet_xlate(): side effects through the xlate
         * cache), so a learn frame's own destination lookup still finds
         * the MAC where it was, out of the uplink (one unicast frame the
         * fabric drops: it came in where it goes), or nowhere (a flood):
         * either after the fabric heard round 0.  What the fabric sends
         * here meanwhile meets the VM's blocked port anyway. */
        first_collect(a, sender, false, pkts, who, &k);
        first_collect(a, sender, true, pkts, who, &k);
        int error = garp_sender_send(sender, pkts, k, wall, &n_sent);
        result = result ? result : error;
        for (size_t i = 0; i < k; i++) {
            struct vm_slot *vm = &a->vms[who[i][0]];

            if (vm->first_due) {
                vm->first_due = false;
                a->n_first_due--;
            }
            /* The learn frame reaches nobody: not an announcement. */
            if (who[i][1] && wall[i]) {
                a->n_sent++;
                if (a->cb) {
                    a->cb(a->aux, who[i][0], &vm->first[who[i][1]], 0,
                          wall[i]);
                }
            }
        }
        free(wall);
        free(who);
        free(pkts);
    }
    return result;
}

int
garp_announcer_run(struct garp_announcer *a, uint64_t now_us)
{
    int result = garp_announcer_first(a);

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
    if (vm < a->n_vms && a->vms[vm].first_due) {
        a->vms[vm].first_due = false;
        a->n_first_due--;
    }
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
