/* The source's side of the drain (issue 11, docs/DESIGN.md "The drain"):
 * from the VM's pause on this host until the fabric has relearned its MACs
 * at the destination, every unicast frame this bridge would deliver to the
 * paused VM is caught (a flow to netmoved's relay connection, relay.h),
 * stripped of its 802.1Q tag and relayed to the destination over the peer
 * session ("drain" requests), which delivers it to the VM's port there.
 *
 * One struct drain_src per outgoing VM that paused (source.c owns it).  The
 * decisions (which frame may cross, the bounds, when to stop) are pure
 * functions below, unit-tested (tests/netmove/test_source.c). */
#ifndef NETMOVE_DAEMON_DRAIN_SRC_H
#define NETMOVE_DAEMON_DRAIN_SRC_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "packets.h"

struct ds;
struct json;
struct netmoved;
struct nm_drain_config;
struct nm_vm_addrs;
struct unixctl_conn;

/* The bounds of one drain (frames, bytes, the failsafe after the pause, the
 * quiet after the watch) are the configuration's "drain" (struct
 * nm_drain_config). */
/* Frames per "drain" request, and requests unanswered at a time. */
#define DRAIN_BATCH 64
#define DRAIN_MAX_UNANSWERED 64

/* A destination whose session has been gone this long has died: the catch
 * is released (a reconnection takes less: NM_PEER_RETRY_MS). */
#define DRAIN_GONE_MS 1500

#define DRAIN_HARD_TIMEOUT_S 30
/* How long `netmove paused` waits for the catch to be in the switch. */
#define DRAIN_SYNC_MS 1000
/* Timeout of each request to the destination. */
#define DRAIN_REQUEST_MS 5000

/* One interface of the paused VM, as the drain checks frames for it. */
struct drain_iface {
    struct eth_addr mac;
    uint32_t ofport;            /* Its OpenFlow port here (0: unknown). */
    int tag;                    /* Its port's VLAN, 0: untagged. */
};

/* What becomes of one caught frame. */
enum drain_verdict {
    DRAIN_RELAY,                /* Relayed (without its tag). */
    DRAIN_SCOPE,                /* Too short, not unicast to one of the
                                 * VM's MACs, or tagged with another VLAN
                                 * than the VM port's: never relayed. */
};

/* Judges the 'len' bytes of frame 'data' caught for the VM whose
 * interfaces are 'ifs[0..n)': DRAIN_RELAY (its untagged form is '*tagged'
 * ? without the 4 bytes at offset 12 : as is) or DRAIN_SCOPE. */
enum drain_verdict drain_src_classify(const struct drain_iface *ifs,
                                      size_t n, const uint8_t *data,
                                      size_t len, bool *tagged);

/* Appends frame 'data' ('len' bytes; without its 802.1Q tag if 'tagged')
 * to 'ds' as hex digits, two per byte (what ofpbuf_put_hex() reads back;
 * not ds_put_hex(), which writes a number: "0x", leading zeros dropped).
 * Returns the length of the frame as relayed. */
size_t drain_src_put_frame(struct ds *ds, const uint8_t *data, size_t len,
                           bool tagged);

/* True if a frame of 'len' bytes may still be relayed, within the bounds
 * 'b', by a drain that has taken 'frames' frames and 'bytes' bytes so far,
 * with 'unanswered' requests open. */
bool drain_src_within_bounds(const struct nm_drain_config *b,
                             uint64_t frames, uint64_t bytes, size_t len,
                             unsigned int unanswered);

/* Why a drain stops. */
enum drain_stop {
    DRAIN_GO_ON,
    DRAIN_STOP_QUIET,           /* Watch seen, then drain.quiet_ms quiet. */
    DRAIN_STOP_FAILSAFE,        /* drain.max_ms after the pause. */
};

/* When to stop, within the bounds 'b' (failsafe 'max_ms' after the pause,
 * 'quiet_ms' after the watch), a drain that began at 'paused_us', whose
 * watch saw the VM's MAC come back at 'watch_us' (0: not yet) and that
 * caught its last frame at 'caught_us' (0: none), at 'now_us' (monotonic,
 * µs); the time it is due next in '*next_us'. */
enum drain_stop drain_src_due(const struct nm_drain_config *b,
                              long long int paused_us, long long int watch_us,
                              long long int caught_us, long long int now_us,
                              long long int *next_us);

const char *drain_stop_name(enum drain_stop);

struct drain_src;

/* Starts the drain of 'vm' (migration 'id' to peer 'dst', interfaces
 * 'addrs', paused at wall time 'paused_wall_us'): catches and watches each
 * interface's MAC on netmoved's relay.  'running': the VM still runs here
 * until the catch is in the switch (its migrator called `netmove paused`
 * before stopping it, and waits for the answer): frames caught until then
 * go out of its port here; otherwise (it stopped already: QEMU's STOP,
 * libvirt's event) every caught frame is relayed.  0 with '*dp', or -errno
 * with '*errorp' (nothing caught). */
int drain_src_start(struct netmoved *, const char *vm, const char *id,
                    const char *dst, const struct nm_vm_addrs *addrs,
                    long long int paused_wall_us, bool running,
                    struct drain_src **dp, char **errorp)
    OVS_WARN_UNUSED_RESULT;

/* Calls 'cb' with 'aux' once the catch is in the switch (error NULL), or
 * with an error after DRAIN_SYNC_MS (the drain goes on) or when the drain
 * ends first; at once if it is in already.  (`netmove paused`: the
 * migrator stops the VM once it is answered.) */
typedef void drain_src_synced_cb(void *aux, const char *error);
void drain_src_when_synced(struct drain_src *, drain_src_synced_cb *,
                           void *aux);

void drain_src_run(struct drain_src *);
void drain_src_wait(const struct drain_src *);

/* True while frames are caught. */
bool drain_src_catching(const struct drain_src *);

/* The destination aborted (or the operator withdrew the export): the VM
 * runs here again.  Releases the catch and announces the VM from its own
 * port ('addrs'), as a destination does at resume.  No drain-end. */
void drain_src_abort(struct drain_src *, const struct nm_vm_addrs *addrs);

/* Releases what is still caught, forgets the requests in flight, answers
 * a waiting CLI call.  NULL ok. */
void drain_src_destroy(struct drain_src *);

/* Its counters for `netmove status --json`. */
struct json *drain_src_to_json(const struct drain_src *);

#endif /* netmove/daemon/drain_src.h */
