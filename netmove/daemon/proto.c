/* The peer protocol's rules (proto.h). */
#include "netmove/daemon/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "util.h"

#include "netmove/common/error.h"
#include "netmove/common/json.h"

#define V1_BAD_INPUT "bad input:"

int
nm_proto_code_from_error(int error)
{
    return nm_error_is_bad_input(error) ? NM_PROTO_INVALID_PARAMS
           : error == -EOPNOTSUPP ? NM_PROTO_NO_METHOD
           : error == -EPROTONOSUPPORT ? NM_PROTO_VERSION_REFUSED
           : NM_PROTO_FAILED;
}

int
nm_proto_error_from_code(int code)
{
    switch (code) {
    case NM_PROTO_INVALID_PARAMS:
        return -EINVAL;
    case NM_PROTO_NO_METHOD:
        return -EOPNOTSUPP;
    case NM_PROTO_VERSION_REFUSED:
        return -EPROTONOSUPPORT;
    default:
        return -EREMOTEIO;
    }
}

struct json *
nm_proto_error_to_json(int version, int error, const char *host,
                       const char *msg)
{
    if (version < 2) {
        /* Version 1's destination reads the prefix (and only it). */
        return nm_error_is_bad_input(error)
               ? json_string_create_nocopy(xasprintf(V1_BAD_INPUT " %s", msg))
               : json_string_create(msg);
    }

    struct json *e = json_object_create();
    json_object_put(e, "code",
                    json_integer_create(nm_proto_code_from_error(error)));
    json_object_put_string(e, "message", msg);
    json_object_put(e, "data", nm_json_object_1("host",
                                                 json_string_create(host)));
    return e;
}

int
nm_proto_error_from_json(const struct json *e, char **msgp)
{
    if (e->type == JSON_STRING) {
        /* Version 1, or a JSON-RPC layer's own error string. */
        const char *s = json_string(e);
        if (!strncmp(s, V1_BAD_INPUT, strlen(V1_BAD_INPUT))) {
            s += strlen(V1_BAD_INPUT);
            s += strspn(s, " ");
            *msgp = xstrdup(s);
            return -EINVAL;
        }
        *msgp = xstrdup(s);
        return -EREMOTEIO;
    }

    const struct json *code = nm_json_member_type(e, "code", JSON_INTEGER);
    const char *msg = nm_json_member_string(e, "message");
    *msgp = msg ? xstrdup(msg) : json_to_string(e, JSSF_SORT);
    return code ? nm_proto_error_from_code(json_integer(code)) : -EREMOTEIO;
}

int
nm_proto_negotiate(int mine_min, int mine_max, int their_min, int their_max)
{
    int common = MIN(mine_max, their_max);

    return common >= MAX(mine_min, their_min) && common > 0
           ? common : -EPROTONOSUPPORT;
}

static char *
range(int min, int max)
{
    return min == max ? xasprintf("%d", max) : xasprintf("%d-%d", min, max);
}

char *
nm_proto_refusal(const char *peer, int their_min, int their_max,
                 int mine_min, int mine_max)
{
    char *theirs = range(their_min, their_max);
    char *mine = range(mine_min, mine_max);
    char *s = xasprintf("peer %s speaks netmove protocol %s; this host "
                        "speaks %s", peer, theirs, mine);
    free(theirs);
    free(mine);
    return s;
}

struct json *
nm_proto_hello_to_json(int min_version, int version, const char *host,
                       const struct sset *capabilities)
{
    struct json *h = json_object_create();
    struct json *caps = json_array_create_empty();

    json_object_put(h, "version", json_integer_create(version));
    json_object_put(h, "min_version", json_integer_create(min_version));
    json_object_put_string(h, "host", host);
    if (capabilities) {
        const char **names = sset_sort(capabilities);
        for (size_t i = 0; i < sset_count(capabilities); i++) {
            json_array_add(caps, json_string_create(names[i]));
        }
        free(names);
    }
    json_object_put(h, "capabilities", caps);
    return h;
}

int
nm_proto_hello_from_json(const struct json *json,
                         struct nm_proto_hello *hello,
                         char *err, size_t errlen)
{
    const struct json *v = nm_json_member_type(json, "version", JSON_INTEGER);
    const struct json *minv = nm_json_member(json, "min_version");
    const struct json *caps = nm_json_member(json, "capabilities");
    const char *host = nm_json_member_string(json, "host");

    memset(hello, 0, sizeof *hello);
    sset_init(&hello->capabilities);
    if (!json || json->type != JSON_OBJECT) {
        snprintf(err, errlen, "hello: not an object");
        return -EINVAL;
    }
    if (!v || json_integer(v) < 1 || json_integer(v) > 65535) {
        snprintf(err, errlen, "hello: version: missing or not 1..65535");
        return -EINVAL;
    }
    hello->version = json_integer(v);
    if (!minv) {
        /* Each version speaks the one before it. */
        hello->min_version = MAX(hello->version - 1, 1);
    } else if (minv->type != JSON_INTEGER || json_integer(minv) < 1
               || json_integer(minv) > hello->version) {
        snprintf(err, errlen, "hello: min_version: not 1..version (%d)",
                 hello->version);
        return -EINVAL;
    } else {
        hello->min_version = json_integer(minv);
    }
    if (!host || !host[0]) {
        snprintf(err, errlen, "hello: host: missing or empty");
        return -EINVAL;
    }
    hello->host = xstrdup(host);
    if (caps && caps->type != JSON_ARRAY) {
        snprintf(err, errlen, "hello: capabilities: not an array");
        return -EINVAL;
    }
    for (size_t i = 0; caps && i < json_array(caps)->n; i++) {
        const struct json *c = json_array(caps)->elems[i];
        if (c->type != JSON_STRING) {
            snprintf(err, errlen, "hello: capabilities[%zu]: not a string",
                     i);
            return -EINVAL;
        }
        sset_add(&hello->capabilities, json_string(c));
    }
    return 0;
}

void
nm_proto_hello_destroy(struct nm_proto_hello *hello)
{
    if (hello) {
        free(hello->host);
        hello->host = NULL;
        sset_destroy(&hello->capabilities);
    }
}
