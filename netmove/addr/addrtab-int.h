/* The learned-address table's insides, shared by addrtab.c (the table) and
 * addrtab_json.c (its document and file).  Not for other modules. */
#ifndef NETMOVE_ADDRTAB_INT_H
#define NETMOVE_ADDRTAB_INT_H 1

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

#endif /* netmove/addr/addrtab-int.h */
