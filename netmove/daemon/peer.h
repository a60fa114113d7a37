/* netmoved's peers: JSON-RPC over mutually authenticated TLS
 * (libopenvswitch's jsonrpc sessions over stream-ssl).
 *
 * Every host keeps a session to each configured peer and accepts theirs.  A
 * connection is used only once the certificate its peer presented (verified
 * against the configured CA by OpenSSL) carries a Common Name that is a
 * configured peer, and, for a connection we opened, the name of the peer we
 * meant to reach.  Anything else is refused and logged. */
#ifndef NETMOVE_PEER_H
#define NETMOVE_PEER_H 1

#include <stdbool.h>
#include <stddef.h>

#include "openvswitch/compiler.h"

struct json;
struct nm_config;
struct nm_peers;

/* Called with the 'result' of a request, or with 'error' set (the peer's
 * error, a lost connection or the timeout); 'result' is NULL then. */
typedef void nm_peer_reply_cb(void *aux, const struct json *result,
                              const char *error);

/* Serves request 'params' from peer 'peer'.  Returns the result, or NULL
 * with '*errorp' set to a malloc'd message. */
typedef struct json *nm_peer_method_fn(void *aux, const char *peer,
                                       const struct json *params,
                                       char **errorp);

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

/* Answers 'req' with 'result' (consumed; NULL if 'error') or 'error', and
 * frees 'req'.  If the connection it came on has closed or reconnected
 * since, the answer is dropped: the peer's request died with it. */
void nm_peers_reply(struct nm_peer_req *req, struct json *result,
                    const char *error);

/* Sends request 'method' with 'params' (an array or object; consumed) to
 * peer 'peer', now if connected, else as soon as it is.  'cb' is called
 * exactly once, from nm_peers_run(), unless cancelled.  Returns 0, or
 * -ENOENT if 'peer' is not a configured peer (then 'cb' is not called). */
int nm_peers_request(struct nm_peers *, const char *peer, const char *method,
                     struct json *params, long long int timeout_ms,
                     nm_peer_reply_cb *cb, void *aux)
    OVS_WARN_UNUSED_RESULT;

/* Forgets every pending request whose callback argument is 'aux'. */
void nm_peers_cancel(struct nm_peers *, void *aux);

/* True if the session to 'peer' is up and authenticated. */
bool nm_peers_is_connected(const struct nm_peers *, const char *peer);

/* The configured peer names, in configuration order. */
size_t nm_peers_count(const struct nm_peers *);
const char *nm_peers_name(const struct nm_peers *, size_t i);

void nm_peers_run(struct nm_peers *);
void nm_peers_wait(struct nm_peers *);

#endif /* netmove/daemon/peer.h */
