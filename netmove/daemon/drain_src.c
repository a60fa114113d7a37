/* The source's side of the drain: catch, relay, stop (drain_src.h). */
#include "netmove/daemon/drain_src.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/list.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/relay.h"
#include "netmove/daemon/service.h"
#include "ovs/ovs.h"

VLOG_DEFINE_THIS_MODULE(drain_src);

/* ---- Pure decisions ---- */

enum drain_verdict
drain_src_classify(const struct drain_iface *ifs, size_t n,
                   const uint8_t *data, size_t len, bool *tagged)
{
    struct eth_addr dst;

    *tagged = false;
    if (len < ETH_HEADER_LEN) {
        return DRAIN_SCOPE;
    }
    memcpy(&dst, data, sizeof dst);
    if (eth_addr_is_multicast(dst)) {
        return DRAIN_SCOPE;     /* The fabric floods it to the destination. */
    }
    const struct drain_iface *iface = NULL;
    for (size_t i = 0; i < n; i++) {
        if (eth_addr_equals(ifs[i].mac, dst)) {
            iface = &ifs[i];
            break;
        }
    }
    if (!iface) {
        return DRAIN_SCOPE;
    }
    uint16_t type = (data[12] << 8) | data[13];
    if (type == ETH_TYPE_VLAN_8021Q) {
        if (len < ETH_HEADER_LEN + VLAN_HEADER_LEN) {
            return DRAIN_SCOPE;
        }
        int vid = ((data[14] << 8) | data[15]) & VLAN_VID_MASK;
        /* A tagged frame crosses only on the VM port's VLAN (a priority
         * tag, VID 0, on an untagged port's): the destination's access
         * port gives it its own. */
        if (vid != (iface->tag > 0 ? iface->tag : 0)) {
            return DRAIN_SCOPE;
        }
        *tagged = true;
    }
    return DRAIN_RELAY;
}

static void
put_hex(struct ds *ds, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = ds_put_uninit(ds, 2 * n);

    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
}

size_t
drain_src_put_frame(struct ds *ds, const uint8_t *data, size_t len,
                    bool tagged)
{
    if (!tagged) {
        put_hex(ds, data, len);
        return len;
    }
    put_hex(ds, data, 2 * ETH_ADDR_LEN);
    put_hex(ds, data + 2 * ETH_ADDR_LEN + VLAN_HEADER_LEN,
            len - 2 * ETH_ADDR_LEN - VLAN_HEADER_LEN);
    return len - VLAN_HEADER_LEN;
}

bool
drain_src_within_bounds(const struct nm_drain_config *b,
                        uint64_t frames, uint64_t bytes, size_t len,
                        unsigned int unanswered)
{
    return frames < b->max_packets
           && bytes + len <= b->max_bytes
           && unanswered <= DRAIN_MAX_UNANSWERED;
}

enum drain_stop
drain_src_due(const struct nm_drain_config *b,
              long long int paused_us, long long int watch_us,
              long long int caught_us, long long int now_us,
              long long int *next_us)
{
    long long int failsafe = paused_us + b->max_ms * 1000LL;

    *next_us = failsafe;
    if (now_us >= failsafe) {
        return DRAIN_STOP_FAILSAFE;
    }
    if (watch_us) {
        /* Quiet counts from the later of the announcement's return and
         * the last frame caught: a frame caught after the fabric relearned
         * was still on its way. */
        long long int quiet = MAX(watch_us, caught_us)
                              + b->quiet_ms * 1000LL;
        if (now_us >= quiet) {
            return DRAIN_STOP_QUIET;
        }
        *next_us = MIN(quiet, failsafe);
    }
    return DRAIN_GO_ON;
}

const char *
drain_stop_name(enum drain_stop stop)
{
    switch (stop) {
    case DRAIN_STOP_QUIET:
        return "quiet";
    case DRAIN_STOP_FAILSAFE:
        return "failsafe";
    case DRAIN_GO_ON:
    default:
        return "running";
    }
}

/* ---- The drain ---- */

struct drain_src {
    struct netmoved *nm;
    char *vm, *id, *dst;
    uint32_t key;                       /* On netmoved's relay; 0: released. */
    struct drain_iface *ifaces;
    size_t n_ifaces;
    const char *end;                    /* Why it stopped; NULL: running. */

    struct drain_waiter {               /* `netmove paused` calls. */
        drain_src_synced_cb *cb;
        void *aux;
    } *waiters;
    size_t n_waiters;
    long long int sync_deadline;        /* time_usec() */
    bool synced;

    struct json *pending;               /* Hex frames not sent yet. */
    uint64_t pending_bytes;
    long long int pending_since;        /* time_usec() of its first frame. */
    unsigned int unanswered;
    struct ovs_list reqs;               /* "drain" requests in flight. */

    long long int paused_us, watch_us, caught_us;   /* time_usec() */
    bool running;                       /* The VM runs here until `paused`
                                         * is answered (the exec form, called
                                         * before the stop): frames caught
                                         * until then are its, here. */
    uint64_t delivered_here;            /* Those, output to its port. */
    long long int dst_gone_us;          /* time_usec() since the
                                         * destination's session is gone. */

    /* Counters (docs/PROTOCOL.md "drain"). */
    uint64_t caught, relayed_frames, relayed_bytes;
    uint64_t dropped_frames, dropped_bytes;         /* By a bound. */
    uint64_t forwarded;                 /* Not the VM's (another VLAN's):
                                         * sent on as without the catch. */
    uint64_t refused_frames;            /* In requests that failed. */
    uint64_t requests;
    long long int t_paused, t_catch_synced, t_watch_seen, t_released;
    /* Relay latency: a frame's arrival here to its request's send. */
    uint64_t lat_sum_us, lat_max_us, lat_n;
};

static void drain_frame(void *d_, const struct nmovs_relay_frame *);

int
drain_src_start(struct netmoved *nm, const char *vm, const char *id,
                const char *dst, const struct nm_vm_addrs *addrs,
                long long int paused_wall_us, bool running,
                struct drain_src **dp, char **errorp)
{
    char *error = NULL;
    struct nmovs_relay *relay = nm_relay(nm, &error);

    if (!relay) {
        *errorp = xasprintf("relay on %s: %s", nm->cfg->bridge, error);
        free(error);
        return -EINVAL;
    }
    if (!addrs->n_ifaces) {
        *errorp = xasprintf("%s has no interface with a MAC here", vm);
        return -ENOENT;
    }

    struct drain_src *d = xzalloc(sizeof *d);
    d->nm = nm;
    d->vm = xstrdup(vm);
    d->id = xstrdup(id);
    d->dst = xstrdup(dst);
    d->ifaces = xcalloc(addrs->n_ifaces, sizeof *d->ifaces);
    d->pending = json_array_create_empty();
    ovs_list_init(&d->reqs);
    d->paused_us = time_usec();
    d->sync_deadline = d->paused_us + DRAIN_SYNC_MS * 1000LL;
    d->t_paused = paused_wall_us;
    d->running = running;

    /* The tag of each interface's port, from the replica. */
    struct nmovs_vm_iface *vifs = NULL;
    size_t n_vifs = nmovs_vm_ifaces(nm->db, &vifs);
    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &addrs->ifaces[i];
        struct drain_iface *di = &d->ifaces[d->n_ifaces++];
        char *name = NULL;

        di->mac = ia->mac;
        di->ofport = ia->ofport;
        if (nm->ops->vm_iface_by_mac(nm, vm, ia->mac, &name, &di->ofport)) {
            di->ofport = ia->ofport;
        }
        free(name);
        for (size_t j = 0; j < n_vifs; j++) {
            if (eth_addr_equals(vifs[j].mac, ia->mac)
                && !strcmp(vifs[j].vm, vm)) {
                di->tag = vifs[j].tag;
            }
        }
    }
    nmovs_vm_ifaces_free(vifs, n_vifs);

    d->key = nm_relay_key(nm, drain_frame, d);
    for (size_t i = 0; i < d->n_ifaces; i++) {
        const struct drain_iface *di = &d->ifaces[i];
        int err = nmovs_relay_catch(relay, d->key, di->mac,
                                    DRAIN_HARD_TIMEOUT_S);
        /* Without its port the watch cannot tell the VM's own frames from
         * the announcement's return: none, the failsafe ends the drain. */
        if (!err && di->ofport) {
            err = nmovs_relay_watch(relay, d->key, di->mac, di->ofport,
                                    DRAIN_HARD_TIMEOUT_S);
        }
        if (err) {
            *errorp = xasprintf("relay: catching "ETH_ADDR_FMT": %s",
                                ETH_ADDR_ARGS(di->mac), ovs_strerror(-err));
            nm_relay_forget(nm, d->key);
            d->key = 0;
            drain_src_destroy(d);
            return err;
        }
    }
    VLOG_INFO("%s: %s paused: catching its frames for %s (%zu MAC(s))",
              id, vm, dst, d->n_ifaces);
    *dp = d;
    return 0;
}

bool
drain_src_catching(const struct drain_src *d)
{
    return d && d->key;
}

static void
reply_waiters(struct drain_src *d, const char *error)
{
    /* Taken first: a callback may ask about this drain again. */
    struct drain_waiter *w = d->waiters;
    size_t n = d->n_waiters;

    d->waiters = NULL;
    d->n_waiters = 0;
    for (size_t i = 0; i < n; i++) {
        w[i].cb(w[i].aux, error);
    }
    free(w);
}

void
drain_src_when_synced(struct drain_src *d, drain_src_synced_cb *cb,
                      void *aux)
{
    if (d->synced || !d->key) {
        cb(aux, NULL);
        return;
    }
    d->waiters = xrealloc(d->waiters, (d->n_waiters + 1) * sizeof *d->waiters);
    d->waiters[d->n_waiters++] = (struct drain_waiter) { cb, aux };
}

static void
paused_sent(void *d_ OVS_UNUSED, const struct json *result OVS_UNUSED,
            const char *error, int errnum OVS_UNUSED)
{
    if (error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);
        VLOG_WARN_RL(&rl, "paused: %s", error);
    }
}

/* The VM's pause, told to the destination: it makes itself complete and
 * announces at once (docs/PROTOCOL.md "paused"). */
static void
send_paused(struct drain_src *d)
{
    struct json *p = json_object_create();

    json_object_put_string(p, "vm", d->vm);
    json_object_put_string(p, "id", d->id);
    json_object_put(p, "paused_us", json_integer_create(d->t_paused));
    if (d->nm->ops->request(d->nm, d->dst, "paused",
                            json_array_create_1(p), DRAIN_REQUEST_MS,
                            paused_sent, d)) {
        VLOG_WARN("%s: paused: %s is not a peer", d->id, d->dst);
    }
}

/* One "drain" request in flight: its callback's 'aux' (so that its frame
 * count comes back with the answer). */
struct drain_req {
    struct ovs_list node;               /* In drain_src's 'reqs'. */
    struct drain_src *d;
    uint64_t n;
};

static void
drain_answered(void *r_, const struct json *result OVS_UNUSED,
               const char *error, int errnum OVS_UNUSED)
{
    struct drain_req *r = r_;
    struct drain_src *d = r->d;

    d->unanswered--;
    if (error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);
        VLOG_WARN_RL(&rl, "%s: drain of %s to %s: %s", d->id, d->vm, d->dst,
                     error);
        d->refused_frames += r->n;
    }
    ovs_list_remove(&r->node);
    free(r);
}

/* Sends 'frames' (hex strings, 'bytes' of frames) as one "drain" request. */
static void
send_drain(struct drain_src *d, struct json *frames, uint64_t bytes,
           long long int now)
{
    size_t n = json_array(frames)->n;
    struct json *p = json_object_create();
    json_object_put_string(p, "vm", d->vm);
    json_object_put_string(p, "id", d->id);
    json_object_put(p, "seq", json_integer_create(d->relayed_frames));
    json_object_put(p, "frames", frames);

    struct drain_req *r = xzalloc(sizeof *r);
    r->d = d;
    r->n = n;
    d->relayed_frames += n;
    d->relayed_bytes += bytes;
    d->requests++;
    d->unanswered++;
    uint64_t lat = now - d->pending_since;
    d->lat_sum_us += lat * n;
    d->lat_n += n;
    d->lat_max_us = MAX(d->lat_max_us, lat);
    if (d->nm->ops->request(d->nm, d->dst, "drain", json_array_create_1(p),
                            DRAIN_REQUEST_MS, drain_answered, r)) {
        d->unanswered--;
        d->refused_frames += n;
        free(r);
    } else {
        ovs_list_push_back(&d->reqs, &r->node);
    }
}

/* Sends the pending frames, DRAIN_BATCH a request, once the destination has
 * been told of the pause: `paused` goes first on the session, so that the
 * destination never sees a frame of a drain it has not heard of (frames
 * caught while the catch was reaching the datapath wait here until then). */
static void
flush(struct drain_src *d)
{
    size_t n = json_array(d->pending)->n;

    if (!n || !d->synced) {
        return;
    }
    long long int now = time_usec();
    if (n <= DRAIN_BATCH) {
        send_drain(d, d->pending, d->pending_bytes, now);
    } else {
        struct json *all = d->pending;
        for (size_t i = 0; i < n; i += DRAIN_BATCH) {
            struct json *chunk = json_array_create_empty();
            uint64_t bytes = 0;
            for (size_t j = i; j < n && j < i + DRAIN_BATCH; j++) {
                const struct json *f = json_array(all)->elems[j];
                bytes += strlen(json_string(f)) / 2;
                json_array_add(chunk, json_clone(f));
            }
            send_drain(d, chunk, bytes, now);
        }
        json_destroy(all);
    }
    d->pending = json_array_create_empty();
    d->pending_bytes = 0;
}

/* Whether caught frame 'f' is on the VLAN of the VM's port, by the port it
 * entered on (nmovs_frame_vlan()). */
static bool
on_vm_vlan(const struct drain_src *d, const struct nmovs_relay_frame *f)
{
    static const uint8_t untagged[ETH_HEADER_LEN] = { 0 };
    const struct eth_header *eh = f->data;

    for (size_t i = 0; i < d->n_ifaces; i++) {
        const struct drain_iface *di = &d->ifaces[i];
        if (di->ofport && eth_addr_equals(eh->eth_dst, di->mac)) {
            int vm_vlan = d->nm->ops->frame_vlan(d->nm, di->ofport, untagged,
                                                 sizeof untagged);
            int vlan = d->nm->ops->frame_vlan(d->nm, f->in_port, f->data,
                                              f->len);
            return vlan >= 0 && vlan == vm_vlan;
        }
    }
    return false;
}

/* While the VM still runs here (the migrator waits for `paused`'s answer
 * before it stops it), a caught frame is its own to read here: it goes out
 * of its port, untagged as an access port gives it, instead of waiting at
 * the destination for the resume.  False if it could not (then relayed). */
static bool
deliver_here(struct drain_src *d, const struct nmovs_relay_frame *f,
             bool tagged)
{
    const struct eth_header *eh = f->data;
    struct nmovs_relay *relay = nm_relay(d->nm, NULL);

    for (size_t i = 0; relay && i < d->n_ifaces; i++) {
        const struct drain_iface *di = &d->ifaces[i];
        if (!di->ofport || !eth_addr_equals(eh->eth_dst, di->mac)) {
            continue;
        }
        struct ofpbuf b;
        ofpbuf_init(&b, f->len);
        if (tagged) {
            ofpbuf_put(&b, f->data, 2 * ETH_ADDR_LEN);
            ofpbuf_put(&b, (const uint8_t *) f->data + 2 * ETH_ADDR_LEN
                       + VLAN_HEADER_LEN,
                       f->len - 2 * ETH_ADDR_LEN - VLAN_HEADER_LEN);
        } else {
            ofpbuf_put(&b, f->data, f->len);
        }
        int error = nmovs_relay_output(relay, di->ofport, b.data, b.size);
        ofpbuf_uninit(&b);
        if (!error) {
            d->delivered_here++;
            return true;
        }
        return false;
    }
    return false;
}

/* A frame from the relay: caught (to the VM) or watched (from its MAC,
 * entering on another port: the destination's announcement is back). */
static void
drain_frame(void *d_, const struct nmovs_relay_frame *f)
{
    struct drain_src *d = d_;
    long long int now = time_usec();

    if (!d->key) {
        return;
    }
    if (f->reason == NMOVS_RELAY_WATCHED) {
        if (!d->watch_us) {
            d->watch_us = now;
            d->t_watch_seen = time_wall_usec();
        }
        return;
    }
    d->caught++;
    d->caught_us = now;

    /* The catch matches the VM's MAC on every VLAN: a frame that is not
     * the VM's (another VLAN's, by the port it entered on) goes on as it
     * would have without the catch. */
    bool tagged;
    if (drain_src_classify(d->ifaces, d->n_ifaces, f->data, f->len, &tagged)
        != DRAIN_RELAY || !on_vm_vlan(d, f)) {
        d->forwarded++;
        d->nm->ops->drain_forward(d->nm, f->in_port, f->data, f->len);
        return;
    }
    size_t len = f->len - (tagged ? VLAN_HEADER_LEN : 0);
    if (d->running && !d->synced && deliver_here(d, f, tagged)) {
        return;
    }
    size_t n_pending = json_array(d->pending)->n;
    if (!drain_src_within_bounds(&d->nm->cfg->drain,
                                 d->relayed_frames + n_pending,
                                 d->relayed_bytes + d->pending_bytes, len,
                                 d->unanswered)) {
        d->dropped_frames++;
        d->dropped_bytes += len;
        return;
    }
    struct ds hex = DS_EMPTY_INITIALIZER;
    drain_src_put_frame(&hex, f->data, f->len, tagged);
    if (!n_pending) {
        d->pending_since = now;
    }
    json_array_add(d->pending, json_string_create_nocopy(ds_steal_cstr(&hex)));
    d->pending_bytes += len;
    if (n_pending + 1 >= DRAIN_BATCH) {
        flush(d);
    }
}

static struct json *
counters_json(const struct drain_src *d)
{
    struct json *j = json_object_create();

#define PUT(NAME, VALUE) \
    json_object_put(j, NAME, json_integer_create(VALUE))
    PUT("delivered_here", d->delivered_here);
    PUT("caught", d->caught);
    PUT("relayed_frames", d->relayed_frames);
    PUT("relayed_bytes", d->relayed_bytes);
    PUT("dropped_frames", d->dropped_frames);
    PUT("dropped_bytes", d->dropped_bytes);
    PUT("forwarded", d->forwarded);
    PUT("refused_frames", d->refused_frames);
    PUT("requests", d->requests);
    PUT("t_paused", d->t_paused);
    PUT("t_catch_synced", d->t_catch_synced);
    PUT("t_watch_seen", d->t_watch_seen);
    PUT("t_released", d->t_released);
    PUT("relay_latency_max_us", d->lat_max_us);
    PUT("relay_latency_avg_us", d->lat_n ? d->lat_sum_us / d->lat_n : 0);
#undef PUT
    json_object_put_string(j, "state", d->end ? d->end
                                       : d->synced ? "catching" : "syncing");
    return j;
}

struct json *
drain_src_to_json(const struct drain_src *d)
{
    return counters_json(d);
}

static void
journal_drained(struct drain_src *d)
{
    struct json *rec = json_object_create();

    json_object_put_string(rec, "peer", d->dst);
    json_object_put(rec, "drain", counters_json(d));
    rec = nm_journal_rec_create(NM_JOURNAL_SOURCE, NM_JS_DRAINED, d->vm, rec);
    int error = nm_journal_append(d->nm->journal, NM_JOURNAL_SOURCE, d->id,
                                  rec, false);
    if (error) {
        VLOG_WARN("%s: journal: %s", d->id, ovs_strerror(-error));
    }
    json_destroy(rec);
}

/* Stops catching: what is pending goes first, then the release. */
static void
release(struct drain_src *d, const char *why)
{
    if (!d->key) {
        return;
    }
    flush(d);
    nm_relay_forget(d->nm, d->key);
    d->key = 0;
    d->end = why;
    d->t_released = time_wall_usec();
    if (d->n_waiters) {
        reply_waiters(d, "the drain ended before its catch was in the "
                      "switch");
    }
    journal_drained(d);
    VLOG_INFO("%s: drain of %s to %s ended (%s): %"PRIu64" caught, "
              "%"PRIu64" relayed, %"PRIu64" dropped by a bound, %"PRIu64
              " forwarded (not the VM's)", d->id, d->vm, d->dst, why, d->caught,
              d->relayed_frames, d->dropped_frames, d->forwarded);
}

static void
drain_end_sent(void *d_, const struct json *result OVS_UNUSED,
               const char *error, int errnum OVS_UNUSED)
{
    struct drain_src *d = d_;

    if (error) {
        VLOG_WARN("%s: drain-end to %s: %s", d->id, d->dst, error);
    }
}

static void
send_drain_end(struct drain_src *d)
{
    struct json *p = json_object_create();

    json_object_put_string(p, "vm", d->vm);
    json_object_put_string(p, "id", d->id);
    json_object_put(p, "frames", json_integer_create(d->relayed_frames));
    json_object_put(p, "bytes", json_integer_create(d->relayed_bytes));
    json_object_put(p, "dropped_frames",
                    json_integer_create(d->dropped_frames));
    json_object_put(p, "dropped_bytes", json_integer_create(d->dropped_bytes));
    if (d->nm->ops->request(d->nm, d->dst, "drain-end",
                            json_array_create_1(p), DRAIN_REQUEST_MS,
                            drain_end_sent, d)) {
        VLOG_WARN("%s: drain-end: %s is not a peer", d->id, d->dst);
    }
}

void
drain_src_run(struct drain_src *d)
{
    if (!d->key) {
        return;
    }
    long long int now = time_usec();
    if (!d->synced) {
        struct nmovs_relay *relay = nm_relay(d->nm, NULL);
        if (relay && nmovs_relay_synced(relay)) {
            d->synced = true;
            d->t_catch_synced = time_wall_usec();
            reply_waiters(d, NULL);
            send_paused(d);
        } else if (now >= d->sync_deadline) {
            /* Answer, and tell the destination anyway: its announcement
             * is what ends the pause's losses; the catch may follow. */
            d->synced = true;
            VLOG_WARN("%s: the catch of %s's frames is not in %s's switch "
                      "after %d ms", d->id, d->vm, d->nm->cfg->bridge,
                      DRAIN_SYNC_MS);
            reply_waiters(d, "the catch is not in the switch yet (the "
                          "drain goes on): frames may be lost");
            send_paused(d);
        }
    }
    /* A destination whose session is gone (it died) takes nothing more:
     * what the catch would bring is better off where the bridge sends it
     * (the VM may run here again), not held until the failsafe. */
    if (d->synced && !nm_peers_has_capability(d->nm->peers, d->dst,
                                              "drain")) {
        /* Gone for DRAIN_GONE_MS, not a reconnection's blip. */
        if (!d->dst_gone_us) {
            d->dst_gone_us = now;
        } else if (now - d->dst_gone_us >= DRAIN_GONE_MS * 1000LL) {
            release(d, "destination gone");
            return;
        }
    } else {
        d->dst_gone_us = 0;
    }
    /* One request a loop pass, whatever the relay read in it. */
    flush(d);

    long long int next;
    enum drain_stop stop = drain_src_due(&d->nm->cfg->drain,
                                         d->paused_us, d->watch_us,
                                         d->caught_us, now, &next);
    if (stop != DRAIN_GO_ON) {
        release(d, drain_stop_name(stop));
        send_drain_end(d);
    }
}

void
drain_src_wait(const struct drain_src *d)
{
    if (!d->key) {
        return;
    }
    long long int next;
    drain_src_due(&d->nm->cfg->drain, d->paused_us, d->watch_us,
                  d->caught_us, time_usec(), &next);
    if (!d->synced) {
        next = MIN(next, d->sync_deadline);
        /* nm_relay_wait() wakes the loop when the barrier's answer comes. */
    }
    if (d->dst_gone_us) {
        next = MIN(next, d->dst_gone_us + DRAIN_GONE_MS * 1000LL);
    }
    poll_timer_wait_until(next / 1000 + 1);
}

void
drain_src_abort(struct drain_src *d, const struct nm_vm_addrs *addrs)
{
    struct netmoved *nm = d->nm;
    char err[NM_ERRLEN];

    if (d->key) {
        /* What is pending would only be refused: the destination aborted. */
        json_destroy(d->pending);
        d->pending = json_array_create_empty();
        d->pending_bytes = 0;
        release(d, "aborted");
    }
    /* The VM runs here again: the fabric must learn it back from its own
     * port, as a destination teaches it at resume; and a Linux bridge in
     * front of its tap (the hybrid layout) must forget that the
     * destination's announcements, flooded back into the VM's port, put
     * its MAC on OVS's side (ovs.h, nmovs_hybrid_forget()). */
    uint64_t now = time_usec();
    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &addrs->ifaces[i];
        int hr = ia->port ? nmovs_hybrid_forget(ia->port, ia->mac, err,
                                                sizeof err) : 0;
        if (hr < 0 && hr != -ENODEV) {
            VLOG_WARN("%s: %s", d->id, err);
        } else if (hr > 0) {
            VLOG_INFO("%s: %s's MAC forgotten by the Linux bridge behind %s",
                      d->id, d->vm, ia->port);
        }
        struct garp_vm vm = {
            .mac = ia->mac,
            .ipv4 = ia->ipv4, .n_ipv4 = ia->n_ipv4,
            .ipv6 = ia->ipv6, .n_ipv6 = ia->n_ipv6,
            .port = ia->port,
            .ofport = i < d->n_ifaces ? d->ifaces[i].ofport : ia->ofport,
        };
        size_t idx;
        if (nm->ops->announce_add(nm, &vm, now, &idx, err, sizeof err)) {
            VLOG_WARN("%s: announcing %s back from %s: %s", d->id, d->vm,
                      ia->port, err);
        } else if (idx < nm->n_ann_vms) {
            /* Not a migration's rounds (migration_frame_sent()). */
            free(nm->ann_vms[idx]);
            nm->ann_vms[idx] = NULL;
        }
    }
    int error = nm->ops->announce_run(nm, now);
    if (error) {
        VLOG_WARN("%s: announcing %s back: %s", d->id, d->vm,
                  ovs_strerror(-error));
    }
    VLOG_INFO("%s: %s runs here again: announced from its own port", d->id,
              d->vm);
}

void
drain_src_destroy(struct drain_src *d)
{
    if (!d) {
        return;
    }
    release(d, "ended");
    reply_waiters(d, "the drain ended");
    d->nm->ops->cancel(d->nm, d);
    struct drain_req *r;
    LIST_FOR_EACH_SAFE (r, node, &d->reqs) {
        d->nm->ops->cancel(d->nm, r);
        ovs_list_remove(&r->node);
        free(r);
    }
    json_destroy(d->pending);
    free(d->ifaces);
    free(d->vm);
    free(d->id);
    free(d->dst);
    free(d);
}
