/* Helpers over libopenvswitch's JSON (json.h). */
#include "netmove/common/json.h"

#include "openvswitch/shash.h"

const struct json *
nm_json_member(const struct json *obj, const char *name)
{
    return obj && obj->type == JSON_OBJECT
           ? shash_find_data(json_object(obj), name) : NULL;
}

const struct json *
nm_json_member_type(const struct json *obj, const char *name,
                    enum json_type type)
{
    const struct json *v = nm_json_member(obj, name);

    return v && v->type == type ? v : NULL;
}

const char *
nm_json_member_string(const struct json *obj, const char *name)
{
    const struct json *v = nm_json_member_type(obj, name, JSON_STRING);

    return v ? json_string(v) : NULL;
}

struct json *
nm_json_object_1(const char *name, struct json *value)
{
    struct json *o = json_object_create();

    json_object_put(o, name, value);
    return o;
}
