/* ovs: what only relay.c's tests call (internal). */
#ifndef NETMOVE_OVS_RELAY_PRIVATE_H
#define NETMOVE_OVS_RELAY_PRIVATE_H 1

struct nmovs_relay;

/* Messages the connection may hold unsent before nmovs_relay_output() says
 * -EAGAIN (RELAY_BACKLOG by default). */
void nmovs_relay_set_backlog(struct nmovs_relay *, unsigned int max_msgs);

/* Messages queued on the connection, not yet written to the socket. */
unsigned int nmovs_relay_backlog(const struct nmovs_relay *);

#endif /* ovs/relay-private.h */
