/* ovs: the lookups of a translation table (xlate.c), for its tests.  Not for
 * other modules. */
#ifndef NETMOVE_OVS_XLATE_PRIVATE_H
#define NETMOVE_OVS_XLATE_PRIVATE_H 1

#include "ovs/ovs.h"

/* What 'vlan' or 'name' become. */
int nmovs_xlate_vlan(const struct nmovs_xlate *, int vlan);
const char *nmovs_xlate_name(const struct nmovs_xlate *, const char *name);

#endif /* ovs/xlate-private.h */
