/* netmoved's configuration: entry points of config.c for its tests.  Not
 * for other modules. */
#ifndef NETMOVE_CONFIG_PRIVATE_H
#define NETMOVE_CONFIG_PRIVATE_H 1

#include "netmove/common/config.h"

/* As nm_config_load() for an already parsed document 'json'. */
int nm_config_from_json(const struct json *json, struct nm_config **cfgp,
                        char *err, size_t errlen);

#endif /* netmove/common/config-private.h */
