/* netmoved's configuration: one versioned JSON file per host.
 *
 *   {
 *     "version": 2,                         1 is still read (see below)
 *     "host": "host1",                      this host's name (its certificate's CN)
 *     "site": "a",                          the site it belongs to
 *     "bridge": "br-int",                   the integration bridge (default br-int)
 *     "ovs_rundir": "/run/openvswitch",     default $OVS_RUNDIR, else libopenvswitch's
 *                                           (/var/run/openvswitch, Debian's)
 *     "state_dir": "/var/lib/netmove",      the journal
 *     "control": "PATH",                    unixctl socket, default /run/netmove/netmoved.ctl
 *                                           ($NETMOVE_RUNDIR/netmoved.ctl: paths.h)
 *     "uplink": "up0",                      the fabric's port: first announcements
 *                                           leave by it, captured there for
 *                                           verify (optional);
 *                                           if a port of the bridge, resume sends
 *                                           round 0 straight out of it first
 *     "listen": "pssl:7300:198.19.0.1",     where peers connect (OVS stream syntax)
 *     "tls": {"private_key": F, "certificate": F, "ca_certificate": F},
 *     "peers": [{"name": "host2", "remote": "ssl:198.19.0.2:7300"}],
 *     "networks": [{"name": "blue", "vlans": {"a": 100, "b": 200},
 *                   "prefixes": ["198.18.0.0/16", "2001:db8:1::/64"],
 *                   "never-announce": ["198.18.0.1", "2001:db8:1::ffff",
 *                                      "02:00:00:00:ff:01"]}],
 *     "announce": {"rounds": 5, "initial_ms": 50, "step_ms": 100, "max_ms": 550,
 *                  "tail_until_ms": 0, "pps": 1000},     0: no pacing
 *     "drain": {"deadline_ms": 200, "max_ms": 10000, "quiet_ms": 2,
 *               "max_packets": 4096, "max_bytes": 8388608},  (defaults)
 *     "export_batch_ms": 5                  the source's batch window (below)
 *   }
 *
 * A peer is known by its name, which must be the Common Name of the
 * certificate it presents (signed by 'ca_certificate').
 *
 * Version 2 bounds the addresses netmoved announces for a VM that arrives
 * (docs/DESIGN.md "Trust model"): each network names its IPv4 and IPv6
 * "prefixes" (at least one; a prefix has no host bits) and, optionally,
 * what is "never-announce"d in it: addresses or prefixes (its gateways,
 * the hosts) and MACs.  A VM's announced addresses must lie inside the
 * prefixes of its network (the one its port's VLAN maps to; an untagged
 * port: any configured network; with no network, none may be announced)
 * and be none of those.  A tagged port moves only between sites where its
 * network has a VLAN (docs/DESIGN.md "Multi-site VLANs").
 *
 * "export_batch_ms" (0..1000, default 5): an export a destination asks of
 * this host (as the source) waits this long after the first export ready
 * for others, and the exports ready then are served by one ruleset dump
 * and one conntrack dump (split per VM) rather than one of each per VM
 * (a full dump costs about 18 ms with 200 VMs and their rules: the window
 * adds at most a third of that to a lone export, and a host evacuation,
 * whose exports arrive within a few ms, shares the dumps; exports that
 * arrive while a batch is served wait for the next).  0: each export is
 * served alone, at once.
 *
 * Version 1 has no prefixes and no never-announce: a version 1 file is
 * read as before, and nothing bounds the IP addresses a peer's export
 * gives (only its MACs are checked: unicast, not zero).  netmoved logs
 * this once, as a warning, at start. */
#ifndef NETMOVE_CONFIG_H
#define NETMOVE_CONFIG_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "openvswitch/types.h"
#include "garp/garp.h"

#define NM_CONFIG_VERSION 2          /* The newest version read. */
#define NM_CONFIG_VERSION_MIN 1      /* The oldest version still read. */

/* The announcer's default pacing, frames per second (bursts of a hundredth
 * of it): every frame of the schedule is a flood through the bridge (a
 * write per port in the userspace datapath: ~0.7 ms with 300 ports), so
 * an evacuation's round of 100 VMs x 3 frames takes 300 ms spread out
 * rather than one burst that holds ovs-vswitchd.  Round 0 to the fabric
 * leaves first, unpaced, straight out of the uplink (garp_announcer_first());
 * a VM without that uplink copy (announced at its pause, or no uplink port)
 * sends its round 0 unpaced through NORMAL, its later rounds paced. */
#define NM_ANNOUNCE_PPS 1000

struct json;

struct nm_peer_config {
    char *name;
    char *remote;               /* "ssl:IP:PORT" (or "tcp:" in unit tests). */
};

/* An IPv4 (mapped into IPv6) or IPv6 prefix. */
struct nm_prefix {
    struct in6_addr addr;       /* No host bits. */
    unsigned int plen;          /* 0..128, IPv4's counted from ::ffff:0/96. */
};

struct nm_network {
    char *name;
    size_t n_vlans;
    struct nm_site_vlan {
        char *site;
        int vlan;               /* 1..4094 */
    } *vlans;
    struct nm_prefix *prefixes;         /* Version 2: at least one. */
    size_t n_prefixes;
    struct nm_prefix *never;            /* "never-announce" addresses. */
    size_t n_never;
    struct eth_addr *never_macs;        /* "never-announce" MACs. */
    size_t n_never_macs;
};

/* The drain's bounds (docs/DRAIN.md): past one, a frame is dropped and
 * counted. */
struct nm_drain_config {
    unsigned int deadline_ms;   /* Destination: a relayed frame is delivered
                                 * until resume + this (TCP_RTO_MIN). */
    unsigned int max_ms;        /* Source: the catch's failsafe, from the
                                 * pause (below the flows' hard_timeout). */
    unsigned int quiet_ms;      /* Source: released this long after the
                                 * destination's announcement came back and
                                 * no frame was caught. */
    unsigned int max_packets;   /* Frames of one drain, on both sides. */
    unsigned int max_bytes;     /* Bytes of one drain, on both sides. */
};

#define NM_DRAIN_DEFAULTS (struct nm_drain_config) \
    { .deadline_ms = 200, .max_ms = 10000, .quiet_ms = 2, \
      .max_packets = 4096, .max_bytes = 8 << 20 }

struct nm_config {
    int version;                /* As the file says: 1 or 2. */
    char *host, *site, *bridge;
    char *ovs_rundir, *state_dir, *control, *uplink;
    char *listen;
    char *tls_key, *tls_cert, *tls_ca;
    struct nm_peer_config *peers;
    size_t n_peers;
    struct nm_network *networks;
    size_t n_networks;
    struct garp_schedule_params announce;
    struct nm_drain_config drain;
    unsigned int export_batch_ms;       /* The source's batch window. */
};

#define NM_EXPORT_BATCH_MS_DEFAULT 5
#define NM_EXPORT_BATCH_MS_MAX 1000

/* Reads and checks the configuration file 'path'.  On success stores it in
 * '*cfgp' and returns 0; on error returns -EINVAL (a bad document, the
 * member named in 'err') or another negative errno (unreadable file). */
int nm_config_load(const char *path, struct nm_config **cfgp,
                   char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Frees 'cfg'.  NULL is accepted. */
void nm_config_destroy(struct nm_config *cfg);

/* The peer named 'name', or NULL if 'name' is not a configured peer. */
const struct nm_peer_config *nm_config_find_peer(const struct nm_config *cfg,
                                                 const char *name);

/* The VLAN a port tagged 'vlan' at site 'from_site' must carry at site
 * 'to_site': the same network's VLAN there.  Returns 'vlan' itself when no
 * network maps it (an untagged or unknown VLAN is kept). */
int nm_config_translate_vlan(const struct nm_config *cfg, int vlan,
                             const char *from_site, const char *to_site);

/* True if 'cfg' bounds the addresses a VM may announce (version 2: its
 * networks' prefixes and never-announce); false for a version 1 file. */
bool nm_config_bounds_addresses(const struct nm_config *cfg);

/* The network whose VLAN at site 'site' is 'vlan', or NULL. */
const struct nm_network *nm_config_find_network(const struct nm_config *cfg,
                                                int vlan, const char *site);

/* Checks that IP address 'ip' (IPv4 mapped, or IPv6) may be announced for a
 * VM on network 'net' (NULL: on any configured network, for an untagged
 * port): it lies inside one of its prefixes and is not never-announce.
 * Returns 0, or -EINVAL with the reason, naming the address and the
 * network, in 'err' ("198.18.0.1 is never-announce in network blue").
 * Always 0 for a configuration that bounds nothing (version 1). */
int nm_config_check_ip(const struct nm_config *cfg,
                       const struct nm_network *net,
                       const struct in6_addr *ip, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Checks that MAC 'mac' may be announced for a VM: a unicast, nonzero MAC
 * that no network lists as never-announce.  0, or -EINVAL with the reason
 * in 'err'.  (Version 1 files list none: only the first two hold.) */
int nm_config_check_mac(const struct nm_config *cfg, struct eth_addr mac,
                        char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

#endif /* netmove/common/config.h */
