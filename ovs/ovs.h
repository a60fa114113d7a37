/* ovs: a VM's Open vSwitch port, through libopenvswitch's OVSDB IDL and
 * OpenFlow (vconn).  The one public header of the module.
 *
 * Functions return 0 or a negative errno; allocators return NULL only on
 * failure.  Nothing here logs: callers report errors once, at the top. */
#ifndef NETMOVE_OVS_H
#define NETMOVE_OVS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* ---- OpenFlow connection to a bridge (ofconn.c) ---- */

struct nmovs_of;

/* Connects to bridge 'bridge''s OpenFlow management socket
 * "unix:'rundir'/'bridge'.mgmt" and negotiates the OpenFlow version (the
 * highest both sides support).  'rundir' NULL means $OVS_RUNDIR (or OVS's
 * default run directory).  Stores the connection in '*ofp'.  Returns 0 or a
 * negative errno (-ENOENT: no such socket). */
int nmovs_of_open(const char *rundir, const char *bridge,
                  struct nmovs_of **ofp);

/* Closes 'of'.  NULL is accepted. */
void nmovs_of_close(struct nmovs_of *of);

/* Looks up the OpenFlow port number of port (interface) 'port' with an
 * OpenFlow port description request.  Stores it in '*ofport'.  Returns 0,
 * -ENOENT if the bridge has no such port, or another negative errno. */
int nmovs_of_port_no(struct nmovs_of *of, const char *port, uint32_t *ofport);

/* Sends the 'n' Ethernet frames in 'frames' as OpenFlow packet-outs with
 * in_port='in_port' and actions=NORMAL, as if the VM on that port had sent
 * them.  All 'n' are queued, then one barrier flushes them and collects any
 * error.  Returns 0, -EPROTO if the switch rejected one, or another negative
 * errno. */
int nmovs_of_packet_out(struct nmovs_of *of, uint32_t in_port,
                        const struct iovec *frames, size_t n);

#endif /* ovs/ovs.h */
