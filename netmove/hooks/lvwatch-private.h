/* Deciding when a domain runs here: lvwatch.c's decision table alone, for
 * its tests.  Not for other modules. */
#ifndef NETMOVE_LVWATCH_PRIVATE_H
#define NETMOVE_LVWATCH_PRIVATE_H 1

#include "netmove/hooks/lvwatch.h"

/* The decision alone, for an event in state 'state' ('state' LVW_INCOMING,
 * LVW_INCOMING_PAUSED or LVW_NOT_INCOMING): what lvw_event() would do. */
enum lvw_action lvw_decide(enum lvw_state state, int event, int detail);

#endif /* netmove/hooks/lvwatch-private.h */
