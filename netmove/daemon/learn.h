/* netmoved's side of address learning (learn.c): the addresses the VMs on
 * this host use, learned from their own ARP and ND (netmove/addr/), kept in
 * the state directory across restarts.  Its state is its own (struct
 * nm_learn, hung off struct netmoved). */
#ifndef NETMOVE_DAEMON_LEARN_H
#define NETMOVE_DAEMON_LEARN_H 1

#include <stddef.h>

struct netmoved;
struct nm_vm_addrs;

/* Starts learning (off, with a warning, if the capture cannot open). */
void nm_learn_init(struct netmoved *nm);
void nm_learn_run(struct netmoved *nm);
void nm_learn_wait(struct netmoved *nm);
void nm_learn_destroy(struct netmoved *nm);
void nm_learn_save_now(struct netmoved *nm);

/* Adds what was learned of the interfaces of 'addrs' (by port name and MAC)
 * to them; returns how many addresses it added. */
size_t nm_learn_merge(struct netmoved *nm, struct nm_vm_addrs *addrs);

/* Forgets address 'ip' learned on interface 'iface' (another MAC answers
 * for it): a later claim teaches it again. */
void nm_learn_forget(struct netmoved *nm, const char *iface, const char *ip);

#endif /* netmove/daemon/learn.h */
