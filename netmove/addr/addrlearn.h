/* Addresses learned from a VM's own frames (docs/DESIGN.md "Identity and
 * ownership": "learned by watching the VM's own ARP/ND"), for VMs whose
 * port carries no external_ids:ip-addresses, as libvirt's nwfilter learns
 * them.
 *
 * Two layers:
 *   - the table (nm_addrtab_*): pure, driven by the caller's clock; told the
 *     VM interfaces that exist and the claims frames make, it answers which
 *     addresses an interface may be announced and followed with.  Saved to
 *     and loaded from a JSON file so that netmoved keeps it across restarts.
 *   - the learner (nm_addrlearn_*): the table fed by a capture of incoming
 *     ARP and ND on every interface (garp_claim_capture), for netmoved's
 *     poll loop.
 *
 * What counts (docs/DESIGN.md "Trust model"): a claim is learned only from a
 * frame that came in on a known VM interface (the host side of its tap or
 * veth, where the VM's frames are received) and whose Ethernet source, ARP
 * sender / ND link-layer option and the interface's attached-mac are one
 * MAC.  An address learned on two interfaces of one network is conflicted:
 * announced for neither, until one of the claims ages out.  Interfaces of
 * different networks may reuse addresses (tenants' overlapping subnets, the
 * fe80::1 of every gateway).
 *
 * Link-local addresses (fe80::/10, 169.254/16) are learned and flagged, and
 * left out unless asked for (NM_ADDRTAB_LINK_LOCAL): announce them (an NA
 * for the VM's real link-local address, which need not be the EUI-64 one
 * garp_vm.link_local builds), but do not select conntrack entries by them:
 * conntrack has no interface in its tuples, a link-local address is unique
 * only on its link, and the same fe80::1 on another link of this host would
 * select someone else's entries, while hardly any flow through the firewall
 * has a link-local end (routers do not forward them).
 *
 * Times are microseconds of CLOCK_REALTIME (time_wall_usec()): they are
 * saved, and must mean the same after a restart or a reboot. */
#ifndef NETMOVE_ADDRLEARN_H
#define NETMOVE_ADDRLEARN_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "packets.h"

struct garp_claim;
struct garp_claim_stats;
struct json;
struct nm_vm_addrs;

/* ---- The table ---------------------------------------------------------- */

/* How long an address stays after its last claim, by default: 4 hours.  A
 * VM that uses an address claims it again every few minutes at most: Linux
 * re-resolves a neighbour it talks to every 15-45 s (base_reachable_time),
 * Windows likewise, and even an idle guest talks to its gateway for NTP
 * (every 64-1024 s) or DHCP renewals.  Four hours outlast any such silence
 * many times over, so a live VM is not forgotten by a quiet night hour; and
 * an address a VM gave up is forgotten within a working shift.  Longer
 * would keep a conflict (and a stale address) for longer; the prepare step
 * still checks that no other MAC answers for an address
 * (nm_addrtab_forget()). */
#define NM_ADDRTAB_MAX_AGE_DEFAULT_US (4ULL * 3600 * 1000000)
/* Addresses kept per interface and family; past it the least recently
 * claimed goes.  Enough for the addresses of a VM and its containers;
 * small enough that a VM claiming at random cannot grow the table. */
#define NM_ADDRTAB_MAX_PER_FAMILY_DEFAULT 16
#define NM_ADDRTAB_MAX_PER_FAMILY_LIMIT 1024

struct nm_addrtab_params {
    uint64_t max_age_us;        /* 0: NM_ADDRTAB_MAX_AGE_DEFAULT_US. */
    unsigned int max_ipv4;      /* 0: NM_ADDRTAB_MAX_PER_FAMILY_DEFAULT. */
    unsigned int max_ipv6;      /* 0: the same. */
};

/* A VM interface the caller knows (OVSDB: Interface name,
 * external_ids:attached-mac, vm-id). */
struct nm_addrtab_port {
    const char *iface;          /* Its name in this network namespace. */
    struct eth_addr mac;        /* attached-mac. */
    const char *vm;             /* The VM's id (NULL: unknown). */
    const char *network;        /* Its L2 network, e.g. "vlan:100" (NULL:
                                 * the one network of all NULL ports).
                                 * Conflicts are within a network only. */
};

/* What one claim did to the table. */
enum nm_addrtab_verdict {
    NM_ADDRTAB_LEARNED,         /* A new address of the interface. */
    NM_ADDRTAB_REFRESHED,       /* An address it had: last seen now. */
    NM_ADDRTAB_UNKNOWN_IFACE,   /* Not a known VM interface: ignored. */
    NM_ADDRTAB_OTHER_MAC,       /* Not the interface's attached-mac. */
    NM_ADDRTAB_BAD_ADDR,        /* An address no VM can own. */
    NM_ADDRTAB_N_VERDICTS
};

/* One learned address, as queries give it. */
struct nm_addrtab_entry {
    struct in6_addr addr;       /* IPv4 mapped, or IPv6. */
    uint16_t vlan;              /* The 802.1Q VID of its last claim, 0:
                                 * untagged, or read on "any", where
                                 * libpcap drops tags (garp.h). */
    bool link_local;
    bool conflicted;            /* Also claimed on another interface of
                                 * the same network, not aged. */
    uint64_t first_seen_us, last_seen_us;
};

/* Query flags: by default only usable addresses (neither conflicted nor
 * link-local); these add the others. */
#define NM_ADDRTAB_LINK_LOCAL  (1u << 0)
#define NM_ADDRTAB_CONFLICTED  (1u << 1)

struct nm_addrtab;

/* Creates an empty table with parameters 'p' (NULL: defaults).  Returns 0,
 * or -EINVAL with the parameter named in 'err'. */
int nm_addrtab_create(const struct nm_addrtab_params *p,
                      struct nm_addrtab **tabp, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Frees 'tab'.  NULL is accepted. */
void nm_addrtab_destroy(struct nm_addrtab *tab);

/* Makes the 'n' interfaces of 'ports' the known ones (all of them: call it
 * with the complete set, e.g. after every OVSDB change).  Addresses learned
 * on an interface that is no longer known, or now has another
 * attached-mac, are dropped; the others keep theirs.  Until the first call
 * no interface is known: claims are ignored, queries answer nothing, a
 * loaded file is kept as it is.  Returns 0, or -EINVAL (an empty or
 * duplicate interface name, a group or zero MAC) with the port named in
 * 'err' and the table unchanged. */
int nm_addrtab_set_ports(struct nm_addrtab *tab,
                         const struct nm_addrtab_port *ports, size_t n,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Feeds 'claim', from a frame that came in on interface 'iface', at
 * 'now_us'.  Returns what it did. */
enum nm_addrtab_verdict nm_addrtab_claim(struct nm_addrtab *tab,
                                         const char *iface,
                                         const struct garp_claim *claim,
                                         uint64_t now_us);

/* Adds to each interface of 'addrs' whose port name and MAC are a known
 * interface its addresses at 'now_us' (as nm_addrtab_addrs() with 'flags')
 * that it does not have yet.  Returns how many were added.  Pass flags 0
 * for a conntrack filter (see the top of this file). */
size_t nm_addrtab_merge(const struct nm_addrtab *tab, uint64_t now_us,
                        unsigned int flags, struct nm_vm_addrs *addrs);

/* Drops address 'ip' (a string, as the user or a peer gives it) from
 * interface 'iface', or from every interface if 'iface' is NULL: for when
 * another MAC answers for it.  A later claim learns it again.  Returns 0,
 * -ENOENT if no interface had it, or -EINVAL (not an address) with 'err'. */
int nm_addrtab_forget(struct nm_addrtab *tab, const char *iface,
                      const char *ip, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Drops every address aged at 'now_us'.  Returns how many. */
size_t nm_addrtab_expire(struct nm_addrtab *tab, uint64_t now_us);

/* Writes the table to file 'path' atomically: a temporary file in the same
 * directory, fsync'd, renamed over 'path', and the directory fsync'd.
 * Returns 0 or -errno with 'err'. */
int nm_addrtab_save(const struct nm_addrtab *tab, const char *path,
                    char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Loads file 'path' (nm_addrtab_save()'s) as nm_addrtab_from_json() does.
 * Returns 0; -ENOENT if there is no such file (a first start); -EINVAL for
 * a corrupt or bad document, -EFBIG for one over 4 MiB, or another -errno,
 * each with 'err' and the table unchanged: the caller reports it and goes
 * on with what it has. */
int nm_addrtab_load(struct nm_addrtab *tab, const char *path,
                    uint64_t now_us, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- The learner: the table fed by a capture ---------------------------- */

/* Called for every claim the capture reads, with the name of the
 * interface it came in on ("" if that is gone) and the table's verdict:
 * for debug logs and tests. */
typedef void nm_addrlearn_observer(void *aux, const char *iface,
                                   const struct garp_claim *,
                                   enum nm_addrtab_verdict);

struct nm_addrlearn_params {
    struct nm_addrtab_params table;
    const char *dev;            /* Capture device, NULL: "any". */
    unsigned int max_per_run;   /* Frames per nm_addrlearn_run(), 0: 64. */
    nm_addrlearn_observer *observer;    /* NULL: none. */
    void *observer_aux;
};

struct nm_addrlearn;

/* Creates a learner with an empty table and opens its capture.  The
 * capture must tell each frame's interface: on "any" that takes a libpcap
 * with DLT_LINUX_SLL2 (1.10 or later); without it a frame's claim could
 * not be tied to a VM's interface, and this fails with -EOPNOTSUPP.
 * Returns 0 or -errno with 'err' (-EPERM without CAP_NET_RAW). */
int nm_addrlearn_create(const struct nm_addrlearn_params *p,
                        struct nm_addrlearn **learnp,
                        char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Closes the capture and frees 'learn'.  NULL is accepted. */
void nm_addrlearn_destroy(struct nm_addrlearn *learn);

/* The learner's table, for queries, ports, forget, save and load. */
struct nm_addrtab *nm_addrlearn_table(struct nm_addrlearn *learn);

/* Reads the frames available now (at most 'max_per_run'), feeds their
 * claims to the table at 'now_us', and drops aged addresses.  Returns 0 or
 * -EIO (the capture failed: recreate the learner). */
int nm_addrlearn_run(struct nm_addrlearn *learn, uint64_t now_us)
    OVS_WARN_UNUSED_RESULT;

/* Arranges for poll_block() to wake when frames arrive. */
void nm_addrlearn_wait(const struct nm_addrlearn *learn);

/* Counters: the capture's (frames and verdicts of the parser) and the
 * table's verdicts on the claims. */
const struct garp_claim_stats *
nm_addrlearn_capture_stats(const struct nm_addrlearn *learn);
const uint64_t *nm_addrlearn_verdicts(const struct nm_addrlearn *learn);

#endif /* netmove/addr/addrlearn.h */
