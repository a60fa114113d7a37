/* The destination's side of the drain (issue 11; docs/DESIGN.md "The
 * drain"): the peer methods `paused`, `drain` and `drain-end` its source
 * calls, the announcement at the pause, and the delivery of the frames the
 * source relays, once each, in order, before the frames that reach this
 * host directly.
 *
 * At `paused` (the VM stops, or is about to, on the source), for a prepared
 * migration: 1. hold: every unicast frame to one of the VM's MACs on this
 * bridge goes to netmoved instead of the VM's port; 2. the conntrack delta
 * from the source, imported; 3. the port activated; 4. the first round of
 * announcements through the VM's port (the fabric relearns during the
 * pause, and frames wait in the VM's tap here).  Then relayed frames (the
 * ones the source caught) go out to the VM's port in their order; the held
 * direct frames follow once every frame the source said it relayed
 * (`drain-end`) is out, and then the hold goes.  A drain-end that has not
 * come by resume + the hold's bound (hold_ms()) releases the hold anyway:
 * relayed frames after that are late (output at once) until resume +
 * the configuration's drain.deadline_ms, then dropped.  Everything is
 * counted, and nothing buffered goes past drain.max_packets and
 * drain.max_bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/list.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "timeval.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"

VLOG_DEFINE_THIS_MODULE(migration_drain);

#define DRAIN_MAX_BATCH 64              /* Frames per `drain` message. */
#define DRAIN_FRAME_MIN 14              /* An Ethernet header. */
#define DRAIN_FRAME_MAX 65535

/* The hold waits this long after resume for the source's drain-end: the
 * source ends its drain drain.quiet_ms (2 ms by default) after it saw this
 * host's announcement come back, which happened during the pause; both
 * hosts are expected to share the drain's configuration. */
static unsigned int
hold_ms(const struct migration *m)
{
    return m->nm->cfg->drain.quiet_ms + 3;
}

/* A relayed frame is delivered until resume + drain.deadline_ms, then
 * dropped.  Its default, 200 ms, is Linux's TCP_RTO_MIN: by then the
 * sender of any segment that reached the source before the VM resumed has
 * had its retransmission timer fire (the RTO is never below it), so a
 * later copy would only be a duplicate, and a duplicate that reorders the
 * stream. */
static const struct nm_drain_config *
bounds(const struct migration *m)
{
    return &m->nm->cfg->drain;
}

/* The conntrack delta at the pause: announcing waits for it this long,
 * then goes on (resume asks again).  Frames meanwhile are relayed by the
 * source: late, not lost. */
#define DRAIN_CT_TIMEOUT_MS 1000

enum drain_phase {
    DRAIN_WAIT_PREPARED,        /* Paused, not prepared yet. */
    DRAIN_CT,                   /* Hold in place; conntrack delta asked. */
    DRAIN_ANNOUNCE,             /* Delta in: announced in the loop's next
                                 * batch (migration_drain_announce_due()). */
    DRAIN_HOLDING,              /* Announced; relayed out, direct held. */
    DRAIN_RELEASED,             /* Hold gone: relayed frames are late. */
};

struct drain_frame {
    struct ovs_list node;
    size_t iface;               /* Index in m->addrs.ifaces. */
    size_t len;
    uint8_t data[];
};

struct drain_counters {
    uint64_t relayed_received, delivered_frames, delivered_bytes;
    uint64_t held_direct, late, dropped_deadline, dropped_bound;
    uint64_t dropped_scope, dropped_abort, dropped_output, dup_refused;
    uint64_t forwarded;                 /* Held frames of another VLAN, sent
                                         * on as without the hold. */
    uint64_t missing;                   /* Seqs skipped: a batch the source
                                         * sent that never came. */
    uint64_t received_bytes;            /* Relayed, all told. */
};

struct mig_drain {
    enum drain_phase phase;
    long long int src_paused_us;        /* The source's, wall clock. */
    uint32_t key;                       /* The hold's (0: none). */
    uint64_t next_seq;                  /* The next relayed frame's. */

    /* drain-end: what the source relayed and dropped, all told. */
    bool end_seen;
    uint64_t end_frames, end_bytes, end_dropped_frames, end_dropped_bytes;

    struct ovs_list relayed;            /* struct drain_frame, by seq. */
    struct ovs_list held;               /* Direct frames, as they came. */
    size_t n_buffered, buffered_bytes;
    bool retry;                         /* An output must be tried again
                                         * (-EAGAIN, a port not known). */
    bool journaled;                     /* The `drained` record written. */

    struct drain_counters c;
    /* Wall clock (records and status compare them with the source's). */
    uint64_t t_paused_msg, t_announced_at_pause, t_hold_released;
};

static struct mig_drain *
drain_create(struct migration *m)
{
    struct mig_drain *d = xzalloc(sizeof *d);

    ovs_list_init(&d->relayed);
    ovs_list_init(&d->held);
    m->drain = d;
    return d;
}

/* ---- buffers ---- */

static void
frame_unbuffer(struct mig_drain *d, struct drain_frame *f)
{
    ovs_list_remove(&f->node);
    d->n_buffered--;
    d->buffered_bytes -= f->len;
    free(f);
}

/* Drops every buffered frame, counting it in '*counter'. */
static void
drop_all(struct mig_drain *d, struct ovs_list *list, uint64_t *counter)
{
    struct drain_frame *f;

    LIST_FOR_EACH_SAFE (f, node, list) {
        (*counter)++;
        frame_unbuffer(d, f);
    }
}

/* The interface of 'm' whose MAC frame 'data' is to: true and '*iface', or
 * false (another MAC, a group address, too short or too long). */
static bool
frame_in_scope(const struct migration *m, const uint8_t *data, size_t len,
               size_t *iface)
{
    struct eth_addr dst;

    if (len < DRAIN_FRAME_MIN || len > DRAIN_FRAME_MAX) {
        return false;
    }
    memcpy(&dst, data, sizeof dst);
    if (eth_addr_is_multicast(dst)) {
        return false;
    }
    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        if (eth_addr_equals(dst, m->addrs.ifaces[i].mac)) {
            *iface = i;
            return true;
        }
    }
    return false;
}

/* Appends frame 'data' to 'list' within the bounds: true, or false
 * (dropped and counted). */
static bool
frame_buffer(struct migration *m, struct ovs_list *list, size_t iface,
             const void *data, size_t len)
{
    struct mig_drain *d = m->drain;

    if (d->n_buffered >= bounds(m)->max_packets
        || d->buffered_bytes + len > bounds(m)->max_bytes) {
        d->c.dropped_bound++;
        return false;
    }
    struct drain_frame *f = xmalloc(sizeof *f + len);
    f->iface = iface;
    f->len = len;
    memcpy(f->data, data, len);
    ovs_list_push_back(list, &f->node);
    d->n_buffered++;
    d->buffered_bytes += len;
    return true;
}

/* Outputs the frames of 'list' in order to their interfaces' ports, as far
 * as it can: false if one must wait (-EAGAIN, or its port not known yet),
 * true once the list is empty.  'late' counts them late. */
static bool
output_list(struct migration *m, struct ovs_list *list, bool late)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
    struct mig_drain *d = m->drain;
    struct drain_frame *f;

    LIST_FOR_EACH_SAFE (f, node, list) {
        uint32_t ofport = m->addrs.ifaces[f->iface].ofport;
        if (!ofport) {
            d->retry = true;
            return false;       /* The device is arriving. */
        }
        int error = m->nm->ops->drain_output(m->nm, ofport, f->data, f->len);
        if (error == -EAGAIN || error == -ENOTCONN) {
            /* Order kept: this one first, later (the deadline bounds it). */
            d->retry = true;
            return false;
        } else if (error) {
            VLOG_WARN_RL(&rl, "%s: drain: output to port %"PRIu32": %s",
                         m->id, ofport, ovs_strerror(-error));
            d->c.dropped_output++;
        } else {
            d->c.delivered_frames++;
            d->c.delivered_bytes += f->len;
            d->c.late += late;
        }
        frame_unbuffer(d, f);
    }
    return true;
}

/* ---- the hold ---- */

/* Whether 'fr', as it entered this bridge, is on the VLAN of the port of
 * the VM interface it is addressed to. */
static bool
frame_on_vm_vlan(struct migration *m, const struct nmovs_relay_frame *fr)
{
    static const uint8_t untagged[ETH_HEADER_LEN] = { 0 };
    const struct eth_header *eh = fr->data;

    if (fr->len < ETH_HEADER_LEN) {
        return false;
    }
    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &m->addrs.ifaces[i];
        if (eth_addr_equals(eh->eth_dst, ia->mac)) {
            if (!ia->ofport) {
                return true;    /* Its port is arriving: held by MAC. */
            }
            int vm_vlan = m->nm->ops->frame_vlan(m->nm, ia->ofport,
                                                 untagged, sizeof untagged);
            int vlan = m->nm->ops->frame_vlan(m->nm, fr->in_port, fr->data,
                                              fr->len);
            return vlan >= 0 && vlan == vm_vlan;
        }
    }
    return false;
}

/* A direct frame the hold caught ('aux' is the migration): buffered until
 * the relayed ones are out.  Its 802.1Q tag, if any, is the uplink's: the
 * VM's access port gives it none. */
static void
held_cb(void *m_, const struct nmovs_relay_frame *fr)
{
    struct migration *m = m_;
    struct mig_drain *d = m->drain;
    const uint8_t *data = fr->data;
    size_t len = fr->len;
    uint8_t untagged[DRAIN_FRAME_MAX];
    size_t iface;

    if (!d) {
        return;
    }
    /* The hold matches the MAC on every VLAN: a frame of another VLAN (a
     * VM elsewhere with the same MAC, or one sending across VLANs) is not
     * the VM's, and goes on as it would have without the hold. */
    if (!frame_on_vm_vlan(m, fr)) {
        d->c.forwarded++;
        m->nm->ops->drain_forward(m->nm, fr->in_port, fr->data, fr->len);
        return;
    }
    if (len >= 18 && data[12] == 0x81 && data[13] == 0x00
        && len - 4 <= sizeof untagged) {
        memcpy(untagged, data, 12);
        memcpy(untagged + 12, data + 16, len - 16);
        data = untagged;
        len -= 4;
    }
    if (!frame_in_scope(m, data, len, &iface)) {
        d->c.dropped_scope++;
        return;
    }
    d->c.held_direct++;
    if (d->phase == DRAIN_RELEASED) {
        /* The switch may pass on a few after the release: in order. */
        if (frame_buffer(m, &d->held, iface, data, len)) {
            output_list(m, &d->held, false);
        }
        return;
    }
    frame_buffer(m, &d->held, iface, data, len);
}

static void
hold(struct migration *m)
{
    struct netmoved *nm = m->nm;
    struct mig_drain *d = m->drain;

    d->key = nm->ops->drain_key(nm, held_cb, m);
    if (!d->key) {
        VLOG_WARN("%s: drain: no relay connection: frames that reach this "
                  "host directly are not held", m->id);
        return;
    }
    for (size_t i = 0; i < m->addrs.n_ifaces; i++) {
        int error = nm->ops->drain_hold(nm, d->key, m->addrs.ifaces[i].mac);
        if (error) {
            VLOG_WARN("%s: drain: hold of "ETH_ADDR_FMT": %s", m->id,
                      ETH_ADDR_ARGS(m->addrs.ifaces[i].mac),
                      ovs_strerror(-error));
        }
    }
}

static void
release(struct migration *m)
{
    struct mig_drain *d = m->drain;

    if (d->key) {
        m->nm->ops->drain_release(m->nm, d->key);
        d->key = 0;
    }
    d->phase = DRAIN_RELEASED;
    d->t_hold_released = time_wall_usec();
}

/* ---- the pause ---- */

/* 'm' was announced at the pause (with the others of its batch). */
static void
announced(struct migration *m)
{
    struct mig_drain *d = m->drain;

    d->t_announced_at_pause = time_wall_usec();
    d->phase = DRAIN_HOLDING;

    struct json *rec = json_object_create();
    json_object_put(rec, "paused_us", json_integer_create(d->src_paused_us));
    json_object_put(rec, "t_paused_msg_wall_us",
                    json_integer_create(d->t_paused_msg));
    json_object_put(rec, "t_announced_wall_us",
                    json_integer_create(d->t_announced_at_pause));
    json_object_put(rec, "hold", json_boolean_create(d->key != 0));
    migration_journal(m, NM_JS_PAUSED, rec, false);
    VLOG_INFO("%s: announced at the pause, %.3f ms after the source's "
              "message", m->id,
              (d->t_announced_at_pause - d->t_paused_msg) / 1000.0);
}

/* The conntrack delta at the pause is in (or could not be had): the
 * announcement is due, in the loop's next batch. */
static void
announce_due(struct migration *m)
{
    m->drain->phase = DRAIN_ANNOUNCE;
    poll_immediate_wake();
}

void
migration_drain_announce_due(struct netmoved *nm)
{
    struct migration **ms = NULL, *m;
    size_t k = 0, allocated = 0;

    HMAP_FOR_EACH (m, node, &nm->migrations) {
        if (m->drain && m->drain->phase == DRAIN_ANNOUNCE && !m->ending) {
            if (k >= allocated) {
                ms = x2nrealloc(ms, &allocated, sizeof *ms);
            }
            ms[k++] = m;
        }
    }
    migration_announce_at_pause(ms, k);
    for (size_t i = 0; i < k; i++) {
        announced(ms[i]);
    }
    free(ms);
}

static void
ct_reply(void *m_, const struct json *result, const char *error,
         int errnum OVS_UNUSED)
{
    struct migration *m = m_;
    struct mig_drain *d = m->drain;
    const struct json *ct = nm_json_member(result, "ct");
    char err[NM_ERRLEN];

    if (!d || d->phase != DRAIN_CT) {
        return;                 /* Resumed meanwhile: resume asks again. */
    }
    if (error || !ct) {
        migration_set_error(m, "source %s: ct-delta at the pause: %s "
                            "(announcing; resume asks again)", m->src,
                            error ? error : "no ct");
    } else if (ct->type != JSON_NULL) {
        size_t created = 0, updated = 0, deleted = 0;
        bool refused;
        if (migration_import_ct(m, ct, &created, &updated, &deleted,
                                &refused, err, sizeof err)) {
            migration_set_error(m, "conntrack delta at the pause: %s "
                                "(announcing; resume asks again)", err);
        } else {
            m->ct_delta_entries = created + updated + deleted;
        }
    }
    announce_due(m);
}

/* 'm' is prepared and its source paused: hold, conntrack delta, then
 * (ct_reply()) port and announcements. */
static void
start(struct migration *m)
{
    struct mig_drain *d = m->drain;
    struct json *p = json_object_create();

    hold(m);
    d->phase = DRAIN_CT;
    json_object_put_string(p, "vm", m->vm);
    json_object_put_string(p, "id", m->id);
    if (m->nm->ops->request(m->nm, m->src, "ct-delta", p,
                            DRAIN_CT_TIMEOUT_MS, ct_reply, m)) {
        announce_due(m);        /* Not a peer any more: resume will say. */
    }
}

void
migration_drain_prepared(struct migration *m)
{
    if (m->drain && m->drain->phase == DRAIN_WAIT_PREPARED) {
        start(m);
    }
}

void
migration_drain_resumed(struct migration *m)
{
    struct mig_drain *d = m->drain;

    if (d && (d->phase == DRAIN_WAIT_PREPARED || d->phase == DRAIN_CT
              || d->phase == DRAIN_ANNOUNCE)) {
        /* Resume announced: what is held goes after the relayed frames, or
         * at resume + hold_ms(). */
        d->phase = d->key ? DRAIN_HOLDING : DRAIN_RELEASED;
    }
}

bool
migration_drain_announced(const struct migration *m)
{
    return m->drain && m->drain->t_announced_at_pause;
}

/* ---- delivery ---- */

static struct json *
counters_to_json(const struct mig_drain *d)
{
    struct json *j = json_object_create();

#define PUT(NAME) json_object_put(j, #NAME, json_integer_create(d->c.NAME))
    PUT(relayed_received);
    PUT(delivered_frames);
    PUT(delivered_bytes);
    PUT(held_direct);
    PUT(late);
    PUT(dropped_deadline);
    PUT(dropped_bound);
    PUT(dropped_scope);
    PUT(dropped_abort);
    PUT(dropped_output);
    PUT(dup_refused);
    PUT(missing);
    PUT(forwarded);
    PUT(received_bytes);
#undef PUT
    json_object_put(j, "t_paused_msg_wall_us",
                    json_integer_create(d->t_paused_msg));
    json_object_put(j, "t_announced_at_pause_wall_us",
                    json_integer_create(d->t_announced_at_pause));
    json_object_put(j, "t_hold_released_wall_us",
                    json_integer_create(d->t_hold_released));
    return j;
}

static void
journal_drained(struct migration *m)
{
    struct mig_drain *d = m->drain;

    if (!d->journaled) {
        d->journaled = true;
        migration_journal(m, NM_JS_DRAINED,
                          nm_json_object_1("drain", counters_to_json(d)),
                          false);
    }
}

/* Resume + 'ms', monotonic (0: not resumed). */
static uint64_t
after_resume(const struct migration *m, unsigned int ms)
{
    return m->t_resume_call ? m->t_resume_call + ms * 1000ULL : 0;
}

static bool
past_deadline(const struct migration *m, uint64_t now)
{
    uint64_t deadline = after_resume(m, bounds(m)->deadline_ms);

    return deadline && now >= deadline;
}

void
migration_drain_run(struct migration *m, uint64_t now)
{
    struct mig_drain *d = m->drain;

    if (!d || d->phase < DRAIN_HOLDING) {
        return;
    }
    d->retry = false;
    if (d->phase == DRAIN_HOLDING) {
        bool relayed_out = output_list(m, &d->relayed, false);
        uint64_t hold_until = after_resume(m, hold_ms(m));
        bool all_relayed = d->end_seen && d->next_seq >= d->end_frames
                           && relayed_out;
        if (all_relayed || (hold_until && now >= hold_until)) {
            /* Held frames out, then the release on the same connection:
             * the switch applies it after them. */
            if (!output_list(m, &d->held, false)) {
                return;
            }
            release(m);
            VLOG_INFO("%s: drain: hold released (%s)", m->id,
                      all_relayed ? "every relayed frame delivered"
                                  : "no drain-end by resume + 5 ms");
        }
    }
    if (d->phase == DRAIN_RELEASED) {
        output_list(m, &d->held, false);
        output_list(m, &d->relayed, true);
        if (past_deadline(m, now)) {
            drop_all(d, &d->relayed, &d->c.dropped_deadline);
            drop_all(d, &d->held, &d->c.dropped_deadline);
        }
        if ((d->end_seen && d->next_seq >= d->end_frames && !d->n_buffered)
            || past_deadline(m, now)) {
            journal_drained(m);
        }
    }
}

void
migration_drain_wait(const struct migration *m)
{
    const struct mig_drain *d = m->drain;

    if (!d || d->phase < DRAIN_HOLDING || d->journaled) {
        return;
    }
    if (d->n_buffered && d->retry) {
        poll_timer_wait(1);     /* An output to retry. */
    }
    if (m->t_resume_call) {
        poll_timer_wait_until(after_resume(m, d->phase == DRAIN_HOLDING
                                           ? hold_ms(m)
                                           : bounds(m)->deadline_ms) / 1000 + 1);
    }
}

void
migration_drain_abort(struct migration *m)
{
    struct mig_drain *d = m->drain;

    if (!d) {
        return;
    }
    if (d->key) {
        m->nm->ops->drain_release(m->nm, d->key);
        d->key = 0;
        d->t_hold_released = time_wall_usec();
    }
    d->phase = DRAIN_RELEASED;
    drop_all(d, &d->relayed, &d->c.dropped_abort);
    drop_all(d, &d->held, &d->c.dropped_abort);
    /* Announced at the pause: the rest of the schedule would pull the
     * fabric back here from the source, where the VM runs again (and, in
     * the hybrid layout, teach its Linux bridge the wrong side again). */
    struct netmoved *nm = m->nm;
    for (size_t i = 0; i < nm->n_ann_vms; i++) {
        if (nm->ann_vms[i] && !strcmp(nm->ann_vms[i], m->vm)) {
            nm->ops->announce_cancel(nm, i);
            free(nm->ann_vms[i]);
            nm->ann_vms[i] = NULL;
        }
    }
    journal_drained(m);
}

void
migration_drain_destroy(struct migration *m)
{
    struct mig_drain *d = m->drain;

    if (!d) {
        return;
    }
    if (d->key) {
        m->nm->ops->drain_release(m->nm, d->key);
    }
    drop_all(d, &d->relayed, &d->c.dropped_abort);
    drop_all(d, &d->held, &d->c.dropped_abort);
    free(d);
    m->drain = NULL;
}

struct json *
migration_drain_to_json(const struct migration *m)
{
    const struct mig_drain *d = m->drain;
    static const char *const phases[] = {
        [DRAIN_WAIT_PREPARED] = "paused-preparing",
        [DRAIN_CT] = "ct-delta",
        [DRAIN_ANNOUNCE] = "announcing",
        [DRAIN_HOLDING] = "holding",
        [DRAIN_RELEASED] = "released",
    };

    if (!d) {
        return NULL;
    }
    struct json *j = counters_to_json(d);
    json_object_put_string(j, "phase", d->journaled ? "ended"
                                                    : phases[d->phase]);
    json_object_put(j, "paused_us", json_integer_create(d->src_paused_us));
    json_object_put(j, "next_seq", json_integer_create(d->next_seq));
    json_object_put(j, "buffered", json_integer_create(d->n_buffered));
    if (d->end_seen) {
        struct json *e = json_object_create();
        json_object_put(e, "frames", json_integer_create(d->end_frames));
        json_object_put(e, "bytes", json_integer_create(d->end_bytes));
        json_object_put(e, "dropped_frames",
                        json_integer_create(d->end_dropped_frames));
        json_object_put(e, "dropped_bytes",
                        json_integer_create(d->end_dropped_bytes));
        json_object_put(j, "source", e);
    }
    return j;
}

/* ---- the peer methods ---- */

/* A member 'name' of 'params' that is an integer >= 0: true and '*v', or
 * false with '*errorp'. */
static bool
get_count(const struct json *params, const char *name, uint64_t *v,
          char **errorp)
{
    const struct json *j = nm_json_member(params, name);

    if (!j || j->type != JSON_INTEGER || json_integer(j) < 0) {
        *errorp = xasprintf("%s: missing, or not an integer >= 0", name);
        return false;
    }
    *v = json_integer(j);
    return true;
}

/* The migration 'params' {vm, id} name, from its source 'peer': 0 and
 * '*mp', or -EINVAL with '*errorp' naming the field. */
static int
lookup(struct netmoved *nm, const char *peer, const struct json *params,
       struct migration **mp, char **errorp)
{
    const char *vm = nm_json_member_string(params, "vm");
    const char *id = nm_json_member_string(params, "id");
    struct migration *m;

    if (!params || params->type != JSON_OBJECT) {
        *errorp = xstrdup("params: not an object");
    } else if (!vm) {
        *errorp = xstrdup("vm: missing, or not a string");
    } else if (!id) {
        *errorp = xstrdup("id: missing, or not a string");
    } else if (!(m = migration_find(nm, vm))) {
        *errorp = xasprintf("vm: no migration of %s here", vm);
    } else if (strcmp(m->id, id)) {
        *errorp = xasprintf("id: %s is not the migration of %s here", id,
                            vm);
    } else if (!m->src || strcmp(m->src, peer)) {
        *errorp = xasprintf("peer: %s is not the source of migration %s",
                            peer, id);
    } else if (m->ending || m->state == MIG_FAILED
               || m->state == MIG_ABORTED) {
        *errorp = xasprintf("state: migration %s has ended (%s)", id,
                            m->ending ? "rolling back"
                                      : migration_state_name(m->state));
    } else {
        *mp = m;
        return 0;
    }
    return -EINVAL;
}

/* paused {vm, id, paused_us} -> {} */
static int
peer_paused(void *nm_, const char *peer, const struct json *params,
            struct json **resultp, char **errorp)
{
    struct migration *m;
    uint64_t paused_us;

    if (lookup(nm_, peer, params, &m, errorp)
        || !get_count(params, "paused_us", &paused_us, errorp)) {
        return -EINVAL;
    }
    if (m->state == MIG_LOCATING) {
        *errorp = xasprintf("state: migration %s is still locating", m->id);
        return -EINVAL;
    }
    *resultp = json_object_create();
    if (m->drain) {
        return 0;               /* Idempotent. */
    }
    struct mig_drain *d = drain_create(m);
    d->src_paused_us = paused_us;
    d->t_paused_msg = time_wall_usec();
    VLOG_INFO("%s: %s paused on %s (%s)", m->id, m->vm, m->src,
              migration_state_name(m->state));
    if (m->state == MIG_PREPARED) {
        start(m);
    } else if (m->state == MIG_RESUMING || m->state == MIG_DONE) {
        /* Resumed here already: announced; relayed frames are late. */
        d->phase = DRAIN_RELEASED;
    }
    /* Preparing: migration_drain_prepared() starts it. */
    return 0;
}

/* The frames of a `drain`, parsed: 0 with them in 'bufs' (each
 * initialized), or -EINVAL naming the one that is not hex. */
static int
parse_frames(const struct json *frames, struct ofpbuf *bufs, char **errorp)
{
    const struct json_array *a = json_array(frames);

    for (size_t i = 0; i < a->n; i++) {
        ofpbuf_init(&bufs[i], 0);
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct json *f = a->elems[i];
        if (f->type != JSON_STRING) {
            *errorp = xasprintf("frames[%zu]: not a string", i);
            return -EINVAL;
        }
        const char *s = json_string(f);
        if (strlen(s) > 2 * (DRAIN_FRAME_MAX + 1)) {
            continue;           /* Too long: out of scope, not parsed. */
        }
        if (*ofpbuf_put_hex(&bufs[i], s, NULL) != '\0') {
            *errorp = xasprintf("frames[%zu]: not hex", i);
            return -EINVAL;
        }
    }
    return 0;
}

/* drain {vm, id, seq, frames: ["hex", ...]} -> {} */
static int
peer_drain(void *nm_, const char *peer, const struct json *params,
           struct json **resultp, char **errorp)
{
    struct migration *m;
    uint64_t seq;
    int error;

    if (lookup(nm_, peer, params, &m, errorp)
        || !get_count(params, "seq", &seq, errorp)) {
        return -EINVAL;
    }
    const struct json *frames = nm_json_member(params, "frames");
    if (!frames || frames->type != JSON_ARRAY) {
        *errorp = xstrdup("frames: missing, or not an array");
        return -EINVAL;
    }
    size_t n = json_array(frames)->n;
    if (n > DRAIN_MAX_BATCH) {
        *errorp = xasprintf("frames: %zu, more than %d in one message", n,
                            DRAIN_MAX_BATCH);
        return -EINVAL;
    }
    struct mig_drain *d = m->drain;
    if (!d) {
        *errorp = xasprintf("state: migration %s: no `paused` came", m->id);
        return -EINVAL;
    }
    /* Refused, not taken and counted: a refused drain is charged to the
     * peer's request budget (peer.c), a taken one is not. */
    if (d->journaled || past_deadline(m, time_usec())) {
        *errorp = xasprintf("state: migration %s: its drain has ended",
                            m->id);
        return -EINVAL;
    }
    if (seq >= bounds(m)->max_packets
        || d->c.received_bytes > bounds(m)->max_bytes) {
        *errorp = xasprintf("seq: %"PRIu64": past the drain's bounds (%u "
                            "frames, %u bytes)", seq, bounds(m)->max_packets,
                            bounds(m)->max_bytes);
        return -EINVAL;
    }
    if (seq + n <= d->next_seq && n) {
        d->c.dup_refused += n;
        *errorp = xasprintf("seq: %"PRIu64": frames %"PRIu64"..%"PRIu64
                            " were delivered already (a replay)", seq, seq,
                            seq + n - 1);
        return -EINVAL;
    }

    struct ofpbuf *bufs = xmalloc(MAX(n, 1) * sizeof *bufs);
    error = parse_frames(frames, bufs, errorp);
    if (!error) {
        uint64_t now = time_usec();
        if (seq > d->next_seq) {
            /* A batch that never came (a session that reconnected, a
             * request that timed out): its frames are lost, the ones after
             * it are not.  At most once still holds: no seq goes back. */
            d->c.missing += seq - d->next_seq;
            d->next_seq = seq;
        }
        for (size_t i = 0; i < n; i++) {
            size_t iface;
            if (seq + i < d->next_seq) {
                d->c.dup_refused++;     /* Resent: delivered once. */
                continue;
            }
            d->c.relayed_received++;
            d->c.received_bytes += bufs[i].size;
            if (seq + i >= bounds(m)->max_packets
                || d->c.received_bytes > bounds(m)->max_bytes) {
                /* The drain's bounds are on all it carries, not only on
                 * what waits here: a peer cannot push more through. */
                d->c.dropped_bound++;
            } else if (past_deadline(m, now)) {
                d->c.dropped_deadline++;
            } else if (!frame_in_scope(m, bufs[i].data, bufs[i].size,
                                       &iface)) {
                d->c.dropped_scope++;
            } else {
                frame_buffer(m, &d->relayed, iface, bufs[i].data,
                             bufs[i].size);
            }
        }
        d->next_seq = seq + n;
        /* Out at once where the order allows (not before the pause's
         * announcement). */
        migration_drain_run(m, now);
        *resultp = json_object_create();
    }
    for (size_t i = 0; i < n; i++) {
        ofpbuf_uninit(&bufs[i]);
    }
    free(bufs);
    return error;
}

/* drain-end {vm, id, frames, bytes, dropped_frames, dropped_bytes} -> {} */
static int
peer_drain_end(void *nm_, const char *peer, const struct json *params,
               struct json **resultp, char **errorp)
{
    uint64_t frames, bytes, dropped_frames, dropped_bytes;
    struct migration *m;

    if (lookup(nm_, peer, params, &m, errorp)
        || !get_count(params, "frames", &frames, errorp)
        || !get_count(params, "bytes", &bytes, errorp)
        || !get_count(params, "dropped_frames", &dropped_frames, errorp)
        || !get_count(params, "dropped_bytes", &dropped_bytes, errorp)) {
        return -EINVAL;
    }
    struct mig_drain *d = m->drain;
    if (!d) {
        *errorp = xasprintf("state: migration %s: no `paused` came", m->id);
        return -EINVAL;
    }
    if (frames < d->next_seq) {
        *errorp = xasprintf("frames: %"PRIu64", but %"PRIu64" were relayed",
                            frames, d->next_seq);
        return -EINVAL;
    }
    if (!d->end_seen) {
        d->end_seen = true;
        d->end_frames = frames;
        d->end_bytes = bytes;
        d->end_dropped_frames = dropped_frames;
        d->end_dropped_bytes = dropped_bytes;
        migration_drain_run(m, time_usec());
    }
    *resultp = json_object_create();
    return 0;
}

void
migration_drain_init(struct netmoved *nm)
{
    nm_peers_register(nm->peers, "paused", peer_paused, nm);
    nm_peers_register(nm->peers, "drain", peer_drain, nm);
    nm_peers_register(nm->peers, "drain-end", peer_drain_end, nm);
}
