/* Who answers for an address on this host's network: the question verify
 * asks (an ARP probe or a neighbour solicitation, nm_verify_build_question),
 * in three rounds onto the fabric through the uplink and into this host's
 * bridge as if from the uplink (a VM here hears it too), the answers
 * captured on the uplink.  A step of netmoved's loop: it never blocks. */
#ifndef NETMOVE_OWNER_PROBE_H
#define NETMOVE_OWNER_PROBE_H 1

#include <stddef.h>
#include <stdbool.h>

#include "openvswitch/compiler.h"
#include "packets.h"

struct garp_sender;
struct nm_config;
struct nm_owner_probe;

/* Starts asking who answers for the 'n' addresses 'addrs' (IPv4 mapped or
 * IPv6), 802.1Q tagged with 'vlan' (0: untagged) on cfg->uplink, through
 * 'of' (the bridge's sender, kept by the caller) for the bridge: three
 * rounds 50 ms apart, then 'wait_ms' for late answers.  0, or -errno with
 * 'err' (no uplink configured: -ENODEV). */
int nm_owner_probe_start(const struct nm_config *cfg, struct garp_sender *of,
                         const struct in6_addr *addrs, size_t n, int vlan,
                         int wait_ms, struct nm_owner_probe **probep,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Runs 'probe' to its end, blocking (for a CLI). */
void nm_owner_probe_finish(struct nm_owner_probe *probe);

/* Sends the next round when it is due and reads the answers.  Returns true
 * once the probe is over (its last round answered or timed out, or it
 * failed: then nm_owner_probe_error() says why). */
bool nm_owner_probe_run(struct nm_owner_probe *);
void nm_owner_probe_wait(const struct nm_owner_probe *);
const char *nm_owner_probe_error(const struct nm_owner_probe *);

/* The MACs that answered for 'addr', up to 'max' into 'macs'; how many. */
size_t nm_owner_probe_owners(const struct nm_owner_probe *,
                             const struct in6_addr *addr,
                             struct eth_addr *macs, size_t max);

void nm_owner_probe_destroy(struct nm_owner_probe *);  /* NULL ok. */

#endif /* netmove/addr/owner_probe.h */
