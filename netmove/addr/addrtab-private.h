/* The learned-address table's insides, shared by addrtab.c (the table) and
 * addrtab_json.c (its document and file).  Not for other modules. */
#ifndef NETMOVE_ADDRTAB_PRIVATE_H
#define NETMOVE_ADDRTAB_PRIVATE_H 1

#include "netmove/addr/addrlearn.h"

/* One learned address of an interface. */
struct at_addr {
    struct in6_addr addr;       /* IPv4 mapped, or IPv6. */
    uint16_t vlan;
    uint64_t first, last;       /* Seen, CLOCK_REALTIME microseconds. */
};

/* One interface (name and MAC) and what it has claimed, in order of first
 * claim. */
struct at_iface {
    char *iface;
    struct eth_addr mac;
    char *vm;                   /* NULL: unknown. */
    char *network;              /* NULL: the default network. */
    struct at_addr *addrs;
    size_t n, allocated;
};

struct nm_addrtab {
    uint64_t max_age_us;
    unsigned int max_ipv4, max_ipv6;
    bool ports_set;             /* nm_addrtab_set_ports() was called. */
    struct at_iface *ifaces;
    size_t n_ifaces;
};

/* Frees what 'i' holds (not 'i' itself). */
void at_iface_clear(struct at_iface *i);

/* Adds 'a' to 'i' within 'tab''s per-family limit: at the limit the least
 * recently seen of the family goes, unless that is 'a' itself (older than
 * all of them), which is then not added.  'a->addr' must not be in 'i'. */
void at_iface_add(const struct nm_addrtab *tab, struct at_iface *i,
                  const struct at_addr *a);

/* The address 'addr' of 'i', or NULL. */
struct at_addr *at_iface_find(const struct at_iface *i,
                              const struct in6_addr *addr);

/* True if 'a' is aged at 'now'. */
bool at_aged(const struct nm_addrtab *tab, const struct at_addr *a,
             uint64_t now);

/* True if 'a' of 'tab->ifaces[idx]' is also claimed, not aged, on another
 * interface of the same network. */
bool at_conflicted(const struct nm_addrtab *tab, size_t idx,
                   const struct at_addr *a, uint64_t now);

/* ---- For tests: only the module and its tests call these ---- */

/* "learned", "refreshed", "unknown-iface", "other-mac", "bad-address". */
const char *nm_addrtab_verdict_name(enum nm_addrtab_verdict);

/* Stores up to 'max' of the addresses of interface 'iface' at 'now_us'
 * (not aged; usable ones only unless 'flags' says otherwise) into 'out',
 * IPv4 before IPv6, each family in order of first claim.  Returns how many
 * there are (more than 'max': call again with more room). */
size_t nm_addrtab_addrs(const struct nm_addrtab *tab, const char *iface,
                        uint64_t now_us, unsigned int flags,
                        struct nm_addrtab_entry *out, size_t max);

/* As nm_addrtab_addrs() for every interface of VM 'vm'. */
size_t nm_addrtab_vm_addrs(const struct nm_addrtab *tab, const char *vm,
                           uint64_t now_us, unsigned int flags,
                           struct nm_addrtab_entry *out, size_t max);

/* The table as a document (the learned facts only; conflicts and flags
 * follow from them):
 *   {"format": "netmove-learned-addresses", "version": 1,
 *    "ifaces": [{"iface": "qvo-vm1", "mac": "02:..", "vm": "vm1",
 *                "addrs": [{"ip": "198.18.1.1", "vlan": 0,
 *                           "first_seen_us": N, "last_seen_us": N}]}]}
 * The caller frees it. */
struct json *nm_addrtab_to_json(const struct nm_addrtab *tab);

/* As nm_addrtab_to_json() with, per address, "conflicted" and
 * "link_local" at 'now_us', aged ones left out: for status reports. */
struct json *nm_addrtab_report(const struct nm_addrtab *tab,
                               uint64_t now_us);

/* Replaces the table's learned addresses by those of document 'doc' (as
 * nm_addrtab_to_json() writes it).  The document is input: every member is
 * checked, and a bad one refused with -EINVAL and its path named in 'err'
 * (e.g. "ifaces[0].addrs[2].ip: ..."), the table unchanged.  Addresses
 * aged at 'now_us' are skipped; times after 'now_us' (a clock stepped back)
 * are taken as 'now_us'; past the per-family limit the least recently seen
 * are skipped; interfaces not known (once nm_addrtab_set_ports() has been
 * called) are skipped. */
int nm_addrtab_from_json(struct nm_addrtab *tab, const struct json *doc,
                         uint64_t now_us, char *err, size_t errlen);

#endif /* netmove/addr/addrtab-private.h */
