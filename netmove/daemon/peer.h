/* netmoved's peers: JSON-RPC over mutually authenticated TLS
 * (libopenvswitch's jsonrpc sessions over stream-ssl).
 *
 * Every host keeps a session to each configured peer and accepts theirs.  A
 * connection is used only once the certificate its peer presented (verified
 * against the configured CA by OpenSSL) carries a Common Name that is a
 * configured peer, and, for a connection we opened, the name of the peer we
 * meant to reach.  Anything else is refused and logged.
 *
 * Then the two agree on a protocol version (proto.h, docs/PROTOCOL.md): on
 * every connection it opens, a host speaking version 2 sends a "hello"
 * request first, and sends its other requests only once the answer tells
 * the peer's version and capabilities.  A version-1 peer answers the hello
 * with its "unknown method" error: it speaks version 1 and offers version
 * 1's methods.  On a connection it accepted, a host learns the peer's
 * version from its hello, or, if the first request is something else, knows
 * it speaks version 1.  A peer with no version in common is refused: its
 * requests, and ours to it, fail with a message naming both versions.
 *
 * Errors travel as JSON-RPC error objects whose code says bad input from
 * operational failure (proto.h); to a version-1 peer, as its strings.
 *
 * What a peer can make this host spend is bounded: inbound connections
 * (in all, per address, per peer), the time to authenticate, the size of
 * a message, the rate of requests and how many are held open, and what is
 * buffered for a peer that does not read (peer-private.h, docs/PROTOCOL.md
 * "Limits"). */
#ifndef NETMOVE_PEER_H
#define NETMOVE_PEER_H 1

#include <stdbool.h>
#include <stddef.h>

#include "openvswitch/compiler.h"

struct json;
struct nm_config;
struct nm_peers;

/* Called with the 'result' of a request, or with 'error' set (the peer's
 * error, a lost connection, a refused peer or the timeout); 'result' is NULL
 * then.  'errnum' is 0, or the failure's negative errno: -EINVAL (or
 * another for which nm_error_is_bad_input() holds) if the peer judged the
 * request bad input, -ETIMEDOUT, -ECONNRESET, -EPROTONOSUPPORT (no common
 * protocol version), -EOPNOTSUPP (the peer does not offer the method), or
 * -EREMOTEIO and others for the peer's operational failures. */
typedef void nm_peer_reply_cb(void *aux, const struct json *result,
                              const char *error, int errnum);

/* Serves request 'params' from peer 'peer'.  Returns 0 with the result in
 * '*resultp', or a negative errno (-EINVAL for bad input) with '*errorp'
 * set to a malloc'd message. */
typedef int nm_peer_method_fn(void *aux, const char *peer,
                              const struct json *params,
                              struct json **resultp, char **errorp);

/* Sets up TLS from 'cfg', listens on cfg->listen (if any) and starts
 * connecting to every configured peer.  'cfg' must outlive the result.
 * Returns 0 or a negative errno with a reason in 'err'. */
int nm_peers_create(const struct nm_config *cfg, struct nm_peers **peersp,
                    char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Closes every connection.  Pending requests are not called back.  NULL is
 * accepted. */
void nm_peers_destroy(struct nm_peers *);

/* Registers 'method': requests go to 'fn' with 'aux'. */
void nm_peers_register(struct nm_peers *, const char *method,
                       nm_peer_method_fn *fn, void *aux);

/* A request from a peer that its method answers later, from the loop. */
struct nm_peer_req;

/* Serves request 'params' from peer 'peer' asynchronously: the method
 * keeps 'req' and answers it with nm_peers_reply(), now or later. */
typedef void nm_peer_async_fn(void *aux, const char *peer,
                              const struct json *params,
                              struct nm_peer_req *req);

/* Registers asynchronous 'method' ('fn' with 'aux'). */
void nm_peers_register_async(struct nm_peers *, const char *method,
                             nm_peer_async_fn *fn, void *aux);

/* Answers 'req' with 'result' (consumed) and frees 'req'.  If the
 * connection it came on has closed or reconnected since, the answer is
 * dropped: the peer's request died with it. */
void nm_peers_reply(struct nm_peer_req *req, struct json *result);

/* Answers 'req' with error 'error' (a negative errno: -EINVAL for bad
 * input) and a message, and frees 'req', as nm_peers_reply(). */
void nm_peers_reply_error(struct nm_peer_req *req, int error,
                          const char *format, ...)
    OVS_PRINTF_FORMAT(3, 4);

/* Sends request 'method' with 'params' (an array or object; consumed) to
 * peer 'peer', now if connected and its protocol version is known, else as
 * soon as it is; a peer that did not advertise 'method' fails it with
 * -EOPNOTSUPP, a refused peer with -EPROTONOSUPPORT.  'cb' is called
 * exactly once, from nm_peers_run(), unless cancelled.  Returns 0, or
 * -ENOENT if 'peer' is not a configured peer (then 'cb' is not called). */
int nm_peers_request(struct nm_peers *, const char *peer, const char *method,
                     struct json *params, long long int timeout_ms,
                     nm_peer_reply_cb *cb, void *aux)
    OVS_WARN_UNUSED_RESULT;

/* Forgets every pending request whose callback argument is 'aux'. */
void nm_peers_cancel(struct nm_peers *, void *aux);

/* True if the session to 'peer' is up and authenticated, and the two agreed
 * on a protocol version. */
bool nm_peers_is_connected(const struct nm_peers *, const char *peer);

/* The protocol version agreed with 'peer' on the session to it: > 0, 0 if
 * not known yet (not connected, or its hello not answered), or
 * -EPROTONOSUPPORT if refused. */
int nm_peers_version(const struct nm_peers *, const char *peer);

/* True if 'peer' offers 'capability' (a method, or a feature a later
 * version names) on the current session.  A host uses a method only if
 * its peer offers it. */
bool nm_peers_has_capability(const struct nm_peers *, const char *peer,
                             const char *capability);

/* What 'peer''s session agreed: {"version", "capabilities"} or
 * {"refused": message}, or {} while unknown; for `netmove status`. */
struct json *nm_peers_protocol_json(const struct nm_peers *,
                                    const char *peer);

/* Makes this host speak only protocol 'version' (NM_PROTO_MIN_VERSION..
 * NM_PROTO_VERSION, or above for tests: announced, then refused by every
 * real peer).  Version 1 behaves exactly as a host built before the
 * hello: it sends none, answers one as an unknown method and carries errors
 * as strings.  A test knob (netmoved --protocol-version); call it before
 * the first nm_peers_run(). */
void nm_peers_pin_version(struct nm_peers *, int version);

/* The configured peer names, in configuration order. */
size_t nm_peers_count(const struct nm_peers *);
const char *nm_peers_name(const struct nm_peers *, size_t i);

void nm_peers_run(struct nm_peers *);
void nm_peers_wait(struct nm_peers *);

#endif /* netmove/daemon/peer.h */
