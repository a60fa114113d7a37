/* The peer protocol's rules, apart from any I/O: its versions, the "hello"
 * that two netmoved exchange when they connect, its error codes and how
 * they map to and from errno values (docs/PROTOCOL.md).
 *
 * Version 1 is the protocol before the hello: it sends none, and carries an
 * error as a JSON string, "bad input: ..." for bad input.  Version 2 sends a
 * hello first on every connection it opens and carries an error as a
 * JSON-RPC error object {"code", "message", "data"}.  Each version keeps
 * speaking the one before it (hosts are upgraded one at a time). */
#ifndef NETMOVE_DAEMON_PROTO_H
#define NETMOVE_DAEMON_PROTO_H 1

#include <stdbool.h>
#include <stddef.h>

#include "openvswitch/compiler.h"
#include "sset.h"

struct json;

/* The versions this build speaks. */
#define NM_PROTO_VERSION 2
#define NM_PROTO_MIN_VERSION 1

/* The methods version 1 serves: a version-1 peer sends no capabilities,
 * these are its capabilities. */
#define NM_PROTO_V1_METHODS "abort", "confirm", "ct-delta", "export", \
                            "locate", "verify"

/* JSON-RPC error codes (version 2 on).  -32602 and -32601 are JSON-RPC 2.0's
 * "invalid params" and "method not found"; -32000..-32099 are reserved
 * there for the implementation. */
enum nm_proto_code {
    NM_PROTO_INVALID_PARAMS = -32602,   /* Bad input: -EINVAL. */
    NM_PROTO_NO_METHOD = -32601,        /* Unknown method: -EOPNOTSUPP. */
    NM_PROTO_FAILED = -32000,           /* Operational failure. */
    NM_PROTO_VERSION_REFUSED = -32001,  /* No common version:
                                         * -EPROTONOSUPPORT. */
};

/* The JSON-RPC error code for 'error', a negative errno. */
int nm_proto_code_from_error(int error);

/* The negative errno for JSON-RPC error code 'code': -EINVAL for bad input,
 * -EOPNOTSUPP, -EPROTONOSUPPORT, else -EREMOTEIO (the peer failed). */
int nm_proto_error_from_code(int code);

/* The error object that carries 'error' (a negative errno) and 'msg' to a
 * peer speaking 'version': {"code", "message", "data": {"host": 'host'}}
 * from version 2 on, the string "bad input: 'msg'" or 'msg' in version 1. */
struct json *nm_proto_error_to_json(int version, int error, const char *host,
                                    const char *msg);

/* Reads a peer's JSON-RPC error 'e', whatever version sent it.  Returns its
 * negative errno and stores its message in '*msgp' (malloc'd; version 1's
 * "bad input: " prefix is read and dropped). */
int nm_proto_error_from_json(const struct json *e, char **msgp);

/* The version two hosts speak when one speaks 'mine_min'..'mine_max' and
 * the other 'their_min'..'their_max': the highest both speak.  Returns it
 * (> 0), or -EPROTONOSUPPORT if there is none.  Symmetric: both hosts
 * reach the same answer. */
int nm_proto_negotiate(int mine_min, int mine_max, int their_min,
                       int their_max);

/* The message of a refusal: "peer host2 speaks netmove protocol 7; this
 * host speaks 1-2" (malloc'd). */
char *nm_proto_refusal(const char *peer, int their_min, int their_max,
                       int mine_min, int mine_max);

/* A hello: {"version", "min_version", "capabilities": [...], "host"}. */
struct nm_proto_hello {
    int version;                /* The highest version it speaks. */
    int min_version;            /* The lowest (default: 'version' - 1). */
    char *host;
    struct sset capabilities;   /* Methods and features it offers. */
};

/* A hello of 'host' speaking 'min_version'..'version' that offers
 * 'capabilities' (NULL: none).  Returns the document. */
struct json *nm_proto_hello_to_json(int min_version, int version,
                                    const char *host,
                                    const struct sset *capabilities);

/* Parses 'json' into 'hello' (initialized here; free it with
 * nm_proto_hello_destroy() even on error).  Returns 0, or -EINVAL with the
 * field at fault named in 'err'. */
int nm_proto_hello_from_json(const struct json *json,
                             struct nm_proto_hello *hello,
                             char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

void nm_proto_hello_destroy(struct nm_proto_hello *);

#endif /* netmove/daemon/proto.h */
