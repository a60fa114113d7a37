/* netmove verify: helpers of verify.c exposed for its tests.  Not for other
 * modules. */
#ifndef NETMOVE_VERIFY_PRIVATE_H
#define NETMOVE_VERIFY_PRIVATE_H 1

#include "netmove/verify/verify.h"

/* "port", "source", "firewall", "conntrack", "announce", "owner",
 * "stale-learning", "ping". */
const char *nm_check_name(enum nm_check_id);

/* The MACs a verify request names: its "macs" member, and the elements of
 * its "ips" member that are MACs (the CLI's source-verify passes the VM's
 * addresses, IPs and MACs, there).  Returns how many, in a malloc'd
 * '*macsp'. */
size_t nm_verify_params_macs(const struct json *params,
                             struct eth_addr **macsp);

/* The JSON form of the 'n' learning entries 'e' ([{mac, vlan, port, age,
 * static, uplink}]), 'uplink' being the name of the bridge's uplink. */
struct json *nm_verify_fdb_to_json(const struct nmovs_fdb_entry *e, size_t n,
                                   const char *uplink);

#endif /* netmove/verify/verify-private.h */
