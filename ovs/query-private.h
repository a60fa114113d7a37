/* ovs: the parser behind nmovs_fdb_show() (query.c), for its tests.  Not for
 * other modules. */
#ifndef NETMOVE_OVS_QUERY_PRIVATE_H
#define NETMOVE_OVS_QUERY_PRIVATE_H 1

#include "ovs/ovs.h"

/* Parses the text of fdb/show into a malloc'd array '*entriesp'; returns
 * how many entries it holds (lines that are not entries are skipped). */
size_t nmovs_fdb_parse(const char *text, struct nmovs_fdb_entry **entriesp);

#endif /* ovs/query-private.h */
