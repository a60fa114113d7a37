/* Small helpers over libopenvswitch's JSON (openvswitch/json.h), shared by
 * every part of netmove that reads documents and messages. */
#ifndef NETMOVE_COMMON_JSON_H
#define NETMOVE_COMMON_JSON_H 1

#include "openvswitch/json.h"

/* Member 'name' of 'obj', or NULL if 'obj' is NULL, not an object, or has
 * no such member. */
const struct json *nm_json_member(const struct json *obj, const char *name);

/* Member 'name' of 'obj' if it is of 'type', else NULL. */
const struct json *nm_json_member_type(const struct json *obj,
                                       const char *name, enum json_type type);

/* Member 'name' of 'obj' if it is a string, else NULL. */
const char *nm_json_member_string(const struct json *obj, const char *name);

/* {"name": value}, 'value' consumed. */
struct json *nm_json_object_1(const char *name, struct json *value);

#endif /* netmove/common/json.h */
