/* garp: announce a VM's addresses from wherever it now runs.
 *
 * Gratuitous ARP (request and reply forms), RARP (the form QEMU and VMware
 * send) and IPv6 unsolicited neighbour advertisements, optionally 802.1Q
 * tagged; a schedule of rounds with backoff and a global pacing limit, pure
 * and driven by the caller's clock; senders through an OVS bridge as if from
 * the VM's own port (OpenFlow packet-out, via ovs/) or raw on a device
 * (libpcap); and a capture that tells which announcements were seen and who
 * answers for an address.
 *
 * Conventions: functions return 0 or a negative errno; bad input is -EINVAL
 * with a message naming the field in the caller's 'err' buffer.  Times given
 * to the schedule are microseconds on any monotonic clock the caller likes
 * (tests use a fake one). */
#ifndef GARP_GARP_H
#define GARP_GARP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "openvswitch/compiler.h"
#include "packets.h"

/* ---- Frames ------------------------------------------------------------ */

enum garp_kind {
    GARP_KIND_RARP,             /* RARP, op 3: the MAC only. */
    GARP_KIND_GARP,             /* Gratuitous ARP for one IPv4 address. */
    GARP_KIND_NA,               /* Unsolicited neighbour advertisement. */
    GARP_N_KINDS
};

/* Bit masks of kinds, for garp_vm.kinds. */
#define GARP_F_RARP (1u << GARP_KIND_RARP)
#define GARP_F_GARP (1u << GARP_KIND_GARP)
#define GARP_F_NA   (1u << GARP_KIND_NA)
#define GARP_F_ALL  (GARP_F_RARP | GARP_F_GARP | GARP_F_NA)

/* "rarp", "garp", "na". */
const char *garp_kind_name(enum garp_kind);

/* An optional 802.1Q tag: 'vid' 0 means untagged, else 1-4094; 'pcp' 0-7. */
struct garp_vlan {
    uint16_t vid;
    uint8_t pcp;
};

/* Every frame is padded to GARP_FRAME_MIN bytes before the tag is inserted,
 * so a tagged frame is at least 64 bytes.  GARP_FRAME_MAX fits any kind. */
#define GARP_FRAME_MIN 60
#define GARP_FRAME_MAX 96

/* Builds a gratuitous ARP for 'ip' (network order) owned by 'mac' into
 * 'buf' ('size' bytes), tagged per 'vlan' (NULL: untagged).  Request form
 * (op 1, tha 00:00:00:00:00:00) unless 'reply' (op 2, tha = sha); both have
 * Ethernet destination ff:ff:ff:ff:ff:ff and spa = tpa = 'ip'.  Stores the
 * frame's length in '*len'.  Returns 0, -EINVAL for a bad 'mac' or 'vlan',
 * -ENOSPC if 'size' is too small. */
int garp_build_arp(void *buf, size_t size, struct eth_addr mac, ovs_be32 ip,
                   bool reply, const struct garp_vlan *vlan, size_t *len)
    OVS_WARN_UNUSED_RESULT;

/* Builds a RARP as QEMU sends it (type 0x8035, op 3, sha = tha = 'mac',
 * spa = tpa = 0.0.0.0, to broadcast).  Otherwise as garp_build_arp(). */
int garp_build_rarp(void *buf, size_t size, struct eth_addr mac,
                    const struct garp_vlan *vlan, size_t *len)
    OVS_WARN_UNUSED_RESULT;

/* Builds an unsolicited neighbour advertisement for 'ip' owned by 'mac':
 * to 33:33:00:00:00:01 / ff02::1, IPv6 source = target = 'ip', hop limit
 * 255, Override 1, Solicited 0, Router = 'router', a Target Link-Layer
 * Address option = 'mac', and the ICMPv6 checksum.  Otherwise as
 * garp_build_arp(). */
int garp_build_na(void *buf, size_t size, struct eth_addr mac,
                  const struct in6_addr *ip, bool router,
                  const struct garp_vlan *vlan, size_t *len)
    OVS_WARN_UNUSED_RESULT;

/* The ICMPv6 checksum of the IPv6 packet at 'ip6' ('len' bytes, header
 * included, no extension headers) as it should be in its ICMPv6 header
 * (the field is treated as zero).  0 if the packet is too short. */
uint16_t garp_icmp6_checksum(const void *ip6, size_t len);

/* ---- A VM's announcement ---------------------------------------------- */

/* What to announce for one VM.  The arrays are the caller's. */
struct garp_vm {
    struct eth_addr mac;
    const ovs_be32 *ipv4;
    size_t n_ipv4;
    const struct in6_addr *ipv6;
    size_t n_ipv6;
    bool link_local;            /* Also an NA for the MAC's EUI-64 fe80::. */
    unsigned int kinds;         /* GARP_F_*; 0 = the default (see below). */
    bool arp_reply;             /* GARP in the reply form. */
    bool na_router;             /* NA with the Router flag. */
    struct garp_vlan vlan;
    const char *port;           /* OVS port to send "from" (bridge sender). */
    uint32_t ofport;            /* Its OpenFlow port number, if the caller
                                 * knows it (Interface ofport): skips the
                                 * lookup.  0: look 'port' up. */
    /* The bridge's uplinks (bridge sender only): round 0 goes first
     * straight out of each, tagged as NORMAL would tag the VM's frames
     * there, then a frame that teaches the bridge the MAC on the VM's
     * port (garp_announcer_first()).  None: round 0 only by NORMAL. */
    const struct garp_uplink *uplinks;
    size_t n_uplinks;
};

/* A port of the bridge that leads to the fabric. */
struct garp_uplink {
    uint32_t ofport;            /* Its OpenFlow port. */
    struct garp_vlan vlan;      /* The tag the VM's frames carry there
                                 * (vid 0: untagged). */
};

/* One built frame and what it announces. */
struct garp_frame {
    enum garp_kind kind;
    uint16_t len;
    struct in6_addr addr;       /* The address (IPv4 mapped), :: for RARP. */
    uint8_t data[GARP_FRAME_MAX];
};

/* Checks 'vm': its MAC must be unicast and not all-zero, addresses neither
 * unspecified nor multicast/broadcast, VLAN 1-4094, PCP 0-7, kinds known.
 * Returns 0 or -EINVAL with a message naming the field in 'err'. */
int garp_vm_validate(const struct garp_vm *vm, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Builds every frame 'vm' announces, in the order RARP, then a GARP per
 * IPv4 address, then an NA per IPv6 address (link-local last), into a new
 * array '*framesp' of '*np' frames that the caller free()s.  Returns 0 or
 * -EINVAL (message in 'err'). */
int garp_vm_frames(const struct garp_vm *vm, struct garp_frame **framesp,
                   size_t *np, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Input parsing (for CLIs and documents) ----------------------------- */

/* Each parses 's' for the field named 'field' (as the user typed it, e.g.
 * "--mac"), and returns 0 or -EINVAL with "FIELD: 'S' is not ..." in
 * 'err'. */
int garp_parse_mac(const char *field, const char *s, struct eth_addr *mac,
                   char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
/* An IPv4 or IPv6 address: '*is_v6' tells which. */
int garp_parse_ip(const char *field, const char *s, ovs_be32 *ip4,
                  struct in6_addr *ip6, bool *is_v6, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
int garp_parse_vlan(const char *field, const char *s, uint16_t *vid,
                    char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
/* A comma-separated list of kind names, e.g. "rarp,garp,na". */
int garp_parse_kinds(const char *field, const char *s, unsigned int *kinds,
                     char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
/* A decimal integer in [min, max]. */
int garp_parse_uint(const char *field, const char *s, unsigned long long min,
                    unsigned long long max, unsigned long long *value,
                    char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Schedule ------------------------------------------------------------ */

/* Rounds and gaps, as QEMU's announce parameters: round 0 at once, the gap
 * before round k >= 1 is min(initial + (k-1) * step, max) ms.  Then, if
 * 'tail_until_ms' is past the last round, a tail of rounds whose gaps keep
 * doubling until 'tail_until_ms' after round 0.  'pps' limits frames per
 * second across every entry (0: no limit) with bursts of 'burst' frames
 * (0: pps/100, at least 1). */
struct garp_schedule_params {
    unsigned int rounds;
    unsigned int initial_ms;
    unsigned int step_ms;
    unsigned int max_ms;
    unsigned int tail_until_ms;
    unsigned int pps;
    unsigned int burst;
};

/* QEMU's defaults: 5 rounds, 50, 100, 550 ms; no tail; no pacing. */
#define GARP_SCHEDULE_DEFAULTS { 5, 50, 100, 550, 0, 0, 0 }

/* Limits of the parameters (inclusive), for validation and for CLIs. */
#define GARP_ROUNDS_MAX 1000
#define GARP_GAP_MAX_MS 100000          /* initial, step, max */
#define GARP_TAIL_MAX_MS 86400000       /* a day */
#define GARP_PPS_MAX 100000000

/* Checks 'p'.  Returns 0 or -EINVAL naming the parameter in 'err'. */
int garp_schedule_params_validate(const struct garp_schedule_params *p,
                                  char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The gap before round 'k' (k >= 1, tail rounds included) in ms, from 'p'
 * alone (ignoring pacing). */
unsigned long long garp_schedule_gap_ms(const struct garp_schedule_params *p,
                                        unsigned int k);

/* The number of rounds 'p' makes, tail included. */
unsigned int garp_schedule_n_rounds(const struct garp_schedule_params *p);

/* One timer structure for any number of entries (VMs), each announcing
 * 'n_frames' frames per round.  Pure: it is told "now" and answers what is
 * due and when the next thing is due. */
struct garp_schedule;

/* One frame to send now: frame 'frame' of entry 'entry', in round 'round'. */
struct garp_due {
    size_t entry;
    unsigned int frame;
    unsigned int round;
};

int garp_schedule_create(const struct garp_schedule_params *p,
                         struct garp_schedule **sp)
    OVS_WARN_UNUSED_RESULT;
void garp_schedule_destroy(struct garp_schedule *);

/* Adds an entry with 'n_frames' frames per round whose round 0 is due at
 * 'now_us'.  Stores its id (small integers from 0, in order) in '*entry'.
 * Returns 0, -EINVAL if 'n_frames' is 0, -ENOMEM. */
int garp_schedule_add(struct garp_schedule *, uint64_t now_us,
                      unsigned int n_frames, size_t *entry)
    OVS_WARN_UNUSED_RESULT;

/* Entry 'entry''s round 0 goes out as soon as it is due, whatever 'pps'
 * (its later rounds are paced): the announcer's VMs whose round 0 is their
 * first word to the fabric (no uplink copy went before it). */
void garp_schedule_unpace_round0(struct garp_schedule *, size_t entry);

/* Fills 'due' with up to 'max' frames due at 'now_us', earliest first (an
 * entry's frames in order; entries due at the same time in no particular
 * order), counts them as sent and returns how many.  With
 * pacing, frames beyond the budget stay due. */
size_t garp_schedule_due(struct garp_schedule *, uint64_t now_us,
                         struct garp_due *due, size_t max);

/* When the next frame will be due (it may be <= 'now_us' if frames are due
 * now), or UINT64_MAX if every entry has finished. */
uint64_t garp_schedule_next(const struct garp_schedule *, uint64_t now_us);

/* True once every entry has sent its last round. */
bool garp_schedule_is_done(const struct garp_schedule *);

/* ---- Senders ------------------------------------------------------------ */

/* One frame to send; 'in_port' is the OpenFlow port it comes "from" (the
 * bridge sender; ignored by the device sender); 'out_port', if not 0, the
 * one port it goes out of (the bridge sender; the device sender refuses
 * it), else actions=NORMAL. */
struct garp_pkt {
    const void *data;
    size_t len;
    uint32_t in_port;
    uint32_t out_port;
};

struct garp_sender;

/* Opens device 'dev' (in the current network namespace) for raw injection
 * through libpcap.  Returns 0, -ENODEV if there is no such device, -EINVAL
 * if it is not an Ethernet device (message in 'err'), or another -errno. */
int garp_pcap_sender_create(const char *dev, char *err, size_t errlen,
                            struct garp_sender **senderp)
    OVS_WARN_UNUSED_RESULT;

/* Opens bridge 'bridge''s OpenFlow management socket,
 * 'rundir'/'bridge'.mgmt, through ovs/, to send as packet-outs with
 * actions=NORMAL.  Returns 0, -ENOENT if there is no such bridge (message in
 * 'err'), or another -errno. */
int garp_of_sender_create(const char *rundir, const char *bridge,
                          char *err, size_t errlen,
                          struct garp_sender **senderp)
    OVS_WARN_UNUSED_RESULT;

void garp_sender_destroy(struct garp_sender *);

/* Resolves OVS port 'port' to the OpenFlow port number frames from it carry
 * in 'in_port' (bridge sender), or 0 (device sender, where 'port' must be
 * NULL).  Returns 0, -ENOENT if the bridge has no such port, -EINVAL. */
int garp_sender_port(struct garp_sender *, const char *port,
                     uint32_t *in_port, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Sends the 'n' frames of 'pkts' in one go, in order.  If 'wall_us' is
 * nonnull, stores each frame's send time (CLOCK_REALTIME, microseconds) in
 * it.  Stores the number sent in '*n_sent'.  Returns 0 or the -errno of the
 * first failure. */
int garp_sender_send(struct garp_sender *, const struct garp_pkt *pkts,
                     size_t n, uint64_t *wall_us, size_t *n_sent)
    OVS_WARN_UNUSED_RESULT;

/* ---- Announcer: VMs x schedule x sender --------------------------------- */

struct garp_announcer;

/* Called for every frame sent. */
typedef void garp_sent_cb(void *aux, size_t vm, const struct garp_frame *,
                          unsigned int round, uint64_t wall_us);

/* Creates an announcer on schedule 'p' sending through 'sender' (still the
 * caller's; NULL if every VM is added with garp_announcer_add_via()); 'cb'
 * (may be NULL) hears of every frame sent.  One announcer for all VMs, and
 * so one pacing limit, whatever senders they use. */
int garp_announcer_create(const struct garp_schedule_params *p,
                          struct garp_sender *sender, garp_sent_cb *cb,
                          void *aux, struct garp_announcer **annp,
                          char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
void garp_announcer_destroy(struct garp_announcer *);

/* Adds 'vm' with its round 0 due at 'now_us' (monotonic, microseconds).
 * Validates it, builds its frames and resolves its port (unless
 * 'vm->ofport' gives it): -EINVAL or
 * -ENOENT (message in 'err') add nothing.  Stores its index in '*vmp'
 * (nullable). */
int garp_announcer_add(struct garp_announcer *, const struct garp_vm *vm,
                       uint64_t now_us, size_t *vmp, char *err,
                       size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* For every VM added with uplinks since the last call: its round 0
 * straight out of each uplink, then a frame from its MAC to itself in from
 * its port with actions=NORMAL, which teaches the bridge the MAC on that
 * port (a frame output to the uplink teaches it nothing); every VM's
 * uplink frames before any learn frame, all in one call per sender (one
 * barrier).  OVS learns from a packet-out only after translating it, so a
 * learn frame itself still goes where the MAC was: out of the uplink (a
 * unicast the fabric drops: it arrives where it is addressed) or, for a
 * MAC the bridge never saw, flooded; a later one is dropped (its
 * destination is its input port).  The fabric has round 0 without a flood
 * of every port of the bridge (a write per port in the userspace
 * datapath).  The schedule's round 0, by NORMAL (the neighbours on this
 * host), stays due.  Returns 0 or the first sender -errno.
 * garp_announcer_run() calls it first. */
int garp_announcer_first(struct garp_announcer *)
    OVS_WARN_UNUSED_RESULT;

/* Sends everything due at 'now_us', in one call per sender, after what
 * garp_announcer_first() has to send.  Returns 0 or the first sender
 * -errno (the other senders still send). */
int garp_announcer_run(struct garp_announcer *, uint64_t now_us)
    OVS_WARN_UNUSED_RESULT;

/* Sends nothing more of VM 'vm' (an index from garp_announcer_add()): a
 * migration that rolled back after announcing must not pull the network
 * back from the host the VM runs on. */
void garp_announcer_cancel(struct garp_announcer *, size_t vm);

/* Arranges for poll_block() to wake when something is next due. */
void garp_announcer_wait(const struct garp_announcer *);

bool garp_announcer_is_done(const struct garp_announcer *);

/* Frames sent so far. */
uint64_t garp_announcer_n_sent(const struct garp_announcer *);

/* ---- Dissecting and capturing -------------------------------------------- */

/* What one ARP/RARP/NA frame says. */
enum garp_seen_type {
    GARP_SEEN_GARP_REQUEST,     /* ARP op 1, spa == tpa. */
    GARP_SEEN_GARP_REPLY,       /* ARP op 2, spa == tpa. */
    GARP_SEEN_ARP_REQUEST,      /* ARP op 1, a question (who-has tpa). */
    GARP_SEEN_ARP_REPLY,        /* ARP op 2, an answer (spa is-at sha). */
    GARP_SEEN_RARP,             /* RARP op 3 (QEMU's announcement form). */
    GARP_SEEN_NA_UNSOLICITED,   /* NA with S = 0. */
    GARP_SEEN_NA_SOLICITED,     /* NA with S = 1: an answer. */
    GARP_SEEN_NS,               /* NS: a question. */
    GARP_N_SEEN
};

/* "garp-request", "garp-reply", "arp-request", "arp-reply", "rarp",
 * "na-unsolicited", "na-solicited", "ns". */
const char *garp_seen_type_name(enum garp_seen_type);

struct garp_seen {
    enum garp_seen_type type;
    struct eth_addr eth_src, eth_dst;
    int vlan;                   /* -1: untagged. */
    int pcp;
    struct eth_addr mac;        /* Who it is about: sha, or the NA's TLL
                                 * (else eth_src); for NS the sender. */
    struct in6_addr addr;       /* The address claimed or asked for
                                 * (IPv4 mapped); :: for RARP. */
    uint8_t hop_limit;          /* NA/NS. */
    bool override, solicited, router;   /* NA flags. */
    bool csum_ok;               /* ICMPv6 checksum; true for ARP/RARP. */
};

/* Dissects the Ethernet frame 'frame' ('len' bytes, at most one 802.1Q
 * tag).  Returns 0, or -ENOMSG if it is not ARP, RARP, NS or NA, or
 * -EBADMSG if it is one but malformed. */
int garp_dissect(const void *frame, size_t len, struct garp_seen *seen)
    OVS_WARN_UNUSED_RESULT;

/* True if 'seen' claims that 'mac' owns 'addr': a GARP, an ARP reply, an
 * NA (solicited or not); for RARP, true if 'mac' is the one announced. */
bool garp_seen_is_claim(const struct garp_seen *seen);

/* A live capture on a device. */
struct garp_capture;

/* What the capture keeps: frames about 'mac' (if nonnull) or about one of
 * the 'n_addrs' addresses (IPv4 mapped); everything if neither is given. */
struct garp_capture_filter {
    const struct eth_addr *mac;
    const struct in6_addr *addrs;
    size_t n_addrs;
    bool match_vlan;            /* Only frames of 802.1Q VLAN 'vlan' (0:
                                 * untagged ones): another VLAN is another
                                 * network, whose addresses may overlap. */
    int vlan;
};

/* Opens device 'dev' for capture of ARP, RARP and ICMPv6 ND frames, tagged
 * or not, in both directions.  Returns 0, -ENODEV (no such device) or
 * -EINVAL (not Ethernet) with a message in 'err', or another -errno. */
int garp_capture_open(const char *dev, const struct garp_capture_filter *f,
                      char *err, size_t errlen, struct garp_capture **capp)
    OVS_WARN_UNUSED_RESULT;
void garp_capture_close(struct garp_capture *);

/* Reads every frame available now, without blocking.  Returns 0 or
 * -errno. */
int garp_capture_run(struct garp_capture *) OVS_WARN_UNUSED_RESULT;

/* Arranges for poll_block() to wake when frames arrive. */
void garp_capture_wait(const struct garp_capture *);

/* The frames kept so far, in arrival order, with their pcap timestamps
 * (CLOCK_REALTIME, microseconds). */
size_t garp_capture_n_seen(const struct garp_capture *);
const struct garp_seen *garp_capture_seen(const struct garp_capture *,
                                          size_t i, uint64_t *ts_us);

/* Who answers for an address: for 'addr', the distinct MACs that claimed
 * it, in order of first claim, up to 'max' into 'macs'; returns how many
 * there are (more than one: a duplicate). */
size_t garp_capture_owners(const struct garp_capture *,
                           const struct in6_addr *addr,
                           struct eth_addr *macs, size_t max);

/* ---- Address claims: learning a VM's addresses from its own frames ------ */

/* The frame a claim came from. */
enum garp_claim_kind {
    GARP_CLAIM_ARP,             /* ARP request or reply: its sender IP. */
    GARP_CLAIM_NS,              /* Neighbour solicitation: its source. */
    GARP_CLAIM_NA,              /* Neighbour advertisement: its target. */
    GARP_CLAIM_RS,              /* Router solicitation: its source. */
};

/* Why a frame makes no claim. */
enum garp_no_claim {
    GARP_NC_NONE,               /* It does make one. */
    GARP_NC_OTHER,              /* Not ARP request/reply, NS, NA or RS. */
    GARP_NC_MALFORMED,          /* Truncated, bad lengths, ND hop limit not
                                 * 255 or code not 0, bad ND options. */
    GARP_NC_SRC_MAC,            /* Ethernet source zero or group. */
    GARP_NC_MAC_MISMATCH,       /* ARP sha, or an ND link-layer address
                                 * option, differs from the Ethernet source. */
    GARP_NC_PROBE,              /* ARP probe: sender IP 0.0.0.0. */
    GARP_NC_DAD,                /* NS from :: (duplicate address detection). */
    GARP_NC_ADDR,               /* The address is none a VM can own (see
                                 * garp_addr_ownable()). */
    GARP_N_NO_CLAIM
};

/* "'mac' uses 'addr'", as one frame says it. */
struct garp_claim {
    enum garp_claim_kind kind;
    struct eth_addr mac;        /* The Ethernet source. */
    struct in6_addr addr;       /* IPv4 mapped, or IPv6. */
    uint16_t vlan;              /* 802.1Q VID, 0 if untagged (or if the
                                 * capture lost the tag: see
                                 * garp_claim_capture_open()). */
    bool link_local;            /* garp_addr_is_link_local(&addr). */
};

/* The claim a received frame makes, from its Ethernet source 'src', its
 * EtherType 'ethertype' (host order; 0x8100 means 'payload' starts with
 * the rest of an 802.1Q tag: TCI and the inner EtherType) and the 'len'
 * bytes that follow, as a cooked capture gives them:
 *   - ARP request or reply (gratuitous or not): the sender IP, if the
 *     sender MAC is 'src' and the sender IP is not 0.0.0.0 (a probe);
 *   - NS and RS: the IPv6 source unless it is :: (DAD); NA: the target;
 *     each a valid ND message (hop limit 255, code 0, well-formed options)
 *     whose link-layer address options, if any, name 'src';
 *   - never from a zero or group 'src', never an address that fails
 *     garp_addr_ownable().  Link-local addresses are claims, flagged.
 * Returns 0 and fills 'claim', or -ENOMSG (no claim) or -EBADMSG
 * (malformed); stores the reason in '*why' (nullable) either way. */
int garp_claim_parse(struct eth_addr src, uint16_t ethertype,
                     const void *payload, size_t len, struct garp_claim *claim,
                     enum garp_no_claim *why)
    OVS_WARN_UNUSED_RESULT;

/* True if a VM can own 'addr' (IPv4 mapped, or IPv6): IPv4 outside 0/8,
 * 127/8, 224/4 and 240/4 (so neither 0.0.0.0 nor 255.255.255.255); IPv6
 * outside ::/8 (unspecified, loopback, IPv4-mapped and -compatible) and
 * ff00::/8 (multicast). */
bool garp_addr_ownable(const struct in6_addr *addr);

/* True if 'addr' is link-local: fe80::/10, or IPv4 169.254.0.0/16. */
bool garp_addr_is_link_local(const struct in6_addr *addr);

/* A live capture of the claims frames make as they come in, on every
 * interface at once (libpcap's "any" device, cooked). */
struct garp_claim_capture;

/* One claim and the interface its frame came in on. */
struct garp_claim_rx {
    struct garp_claim claim;
    int ifindex;                /* 0: unknown (DLT_LINUX_SLL). */
};

/* Called for every claim read. */
typedef void garp_claim_cb(void *aux, const struct garp_claim_rx *);

/* What a claim capture has read, for status reports. */
struct garp_claim_stats {
    uint64_t frames;            /* Frames read past the filter. */
    uint64_t outgoing;          /* Sent by this host: skipped. */
    uint64_t not_ethernet;      /* From a non-Ethernet device: skipped. */
    uint64_t why[GARP_N_NO_CLAIM];  /* By garp_claim_parse()'s verdict;
                                     * why[GARP_NC_NONE] counts claims. */
};

/* Opens a capture of incoming ARP, NS, NA and RS frames, tagged or not,
 * on device 'dev', or on every device of this network namespace if 'dev'
 * is NULL or "any".  On "any" it asks for DLT_LINUX_SLL2, which tells the
 * interface of each frame; a libpcap without it gives DLT_LINUX_SLL and
 * ifindex 0.  libpcap (1.10) drops the 802.1Q tag of SLL2 frames: claims
 * read on "any" say vlan 0 whether tagged or not.  Non-blocking.  Returns 0, -ENODEV (no such device), -EPERM,
 * -EINVAL (not an Ethernet device) or -EIO, with a message in 'err'. */
int garp_claim_capture_open(const char *dev, char *err, size_t errlen,
                            struct garp_claim_capture **capp)
    OVS_WARN_UNUSED_RESULT;

/* Closes 'cap'.  NULL is accepted. */
void garp_claim_capture_close(struct garp_claim_capture *cap);

/* Reads up to 'max' frames available now (0: 64), calling 'cb' with 'aux'
 * for each claim among them.  Returns the number of frames read or -EIO. */
int garp_claim_capture_run(struct garp_claim_capture *cap, unsigned int max,
                           garp_claim_cb *cb, void *aux)
    OVS_WARN_UNUSED_RESULT;

/* Arranges for poll_block() to wake when frames arrive, or at once if the
 * last garp_claim_capture_run() stopped at its limit. */
void garp_claim_capture_wait(const struct garp_claim_capture *cap);

/* True if the capture tells each claim's interface (ifindex not 0):
 * DLT_LINUX_SLL2, or a single device. */
bool garp_claim_capture_knows_ifindex(const struct garp_claim_capture *cap);

/* Its counters so far. */
const struct garp_claim_stats *
garp_claim_capture_stats(const struct garp_claim_capture *cap);

/* ---- Address helpers ---------------------------------------------------- */

/* IPv4 'ip' as an IPv4-mapped IPv6 address, and back. */
void garp_addr_from_ipv4(ovs_be32 ip, struct in6_addr *addr);
bool garp_addr_is_ipv4(const struct in6_addr *addr);
/* Formats 'addr' (IPv4 mapped ones as dotted quads) into 'buf'. */
const char *garp_addr_format(const struct in6_addr *addr, char *buf,
                             size_t size);

#endif /* garp/garp.h */
