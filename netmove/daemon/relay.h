/* netmoved's relay: the one OpenFlow connection (ovs/relay.c) on the
 * configured bridge that the drain's two sides share.  The source catches
 * the frames its bridge would deliver to a paused VM (drain_src.c); the
 * destination holds the frames that reach it directly until the relayed ones
 * are delivered (migration_drain.c).  Each user takes a key, catches or
 * watches MACs under it, and gets the frames of that key in its callback. */
#ifndef NETMOVE_RELAY_H
#define NETMOVE_RELAY_H 1

#include <stdint.h>

#include "openvswitch/compiler.h"
#include "ovs/ovs.h"

struct netmoved;

/* The shared connection, opened on first use (NULL, with '*errorp', if it
 * cannot be: a bad bridge name).  Connecting happens in the loop. */
struct nmovs_relay *nm_relay(struct netmoved *, char **errorp);

/* A new key (never 0, never one in use) whose frames go to 'cb' with
 * 'aux'.  nm_relay_forget() releases its flows and stops the calls. */
uint32_t nm_relay_key(struct netmoved *, nmovs_relay_cb *cb, void *aux);
void nm_relay_forget(struct netmoved *, uint32_t key);

/* From netmoved_run()/netmoved_wait(); netmoved_destroy() closes it. */
void nm_relay_run(struct netmoved *);
void nm_relay_wait(struct netmoved *);
void nm_relay_destroy(struct netmoved *);

#endif /* netmove/daemon/relay.h */
