/* Fuzzes the peer message handler: the input is the byte stream an
 * authenticated peer writes on a session it opened to netmoved (JSON-RPC
 * requests: hello, export, ct-delta, confirm, abort, locate, verify, and
 * anything else), read by the peer layer (netmove/daemon/peer.c: the
 * jsonrpc session, hello and version, dispatch) and served by the methods
 * source.c registers.  A peer is authenticated, not trusted: whatever it
 * writes, netmoved answers with JSON-RPC replies or errors and does not
 * crash.
 *
 * The harness is netmoved's own state, built as netmoved_init() would but
 * for what needs the network or root: the session is a socketpair (not
 * TLS: the connection is marked authenticated as "host2", as
 * conn_authenticated() does after checking the certificate), OVSDB is a
 * replica that never connects (a request waiting for it is answered
 * "netmoved exiting" when the source's state is torn down after each
 * input), the journal is in a private directory.  source_run() is never
 * called: a step that would complete (a confirm's port removal, then
 * fw_remove() and ct_remove() through netlink) must not touch the machine
 * running the fuzzer.  Before each input, source_recover() replays an
 * export of vm1 to host2 in migration m1, so that ct-delta, confirm and
 * abort of that migration pass authorization. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jsonrpc.h"
#include "openvswitch/json.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "sset.h"
#include "stream.h"
#include "stream-fd.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/common/error.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/peer-private.h"
#include "netmove/daemon/service.h"
#include "netmove/daemon/source.h"
#include "ovs/ovs.h"
#include "tests/source-harness.h"

static struct netmoved nm;
static char tmpdir[] = "/tmp/netmove-fuzz-peer.XXXXXX";

/* The journal and configuration go with the process. */
static void
remove_tmpdir(void)
{
    source_harness_remove(tmpdir);
}

static void
setup(void)
{
    char err[NM_ERRLEN];

    signal(SIGPIPE, SIG_IGN);
    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
    if (!mkdtemp(tmpdir)) {
        abort();
    }
    atexit(remove_tmpdir);
    if (source_harness_open(&nm, tmpdir, err, sizeof err)) {
        fprintf(stderr, "fuzz_peer: setup: %s\n", err);
        abort();
    }
}

/* An inbound session from host2 on 'fd', authenticated as
 * conn_authenticated() leaves one (its CN checked). */
static struct conn *
conn_open(int fd)
{
    struct conn *c = xzalloc(sizeof *c);
    struct stream *stream;

    if (new_fd_stream(xstrdup("fuzz"), fd, 0, AF_UNIX, &stream)) {
        abort();
    }
    c->peers = nm.peers;
    c->inbound = true;
    ovs_list_init(&c->reqs);
    sset_init(&c->caps);
    c->session = jsonrpc_session_open_unreliably(jsonrpc_open(stream), 0);
    c->name = xstrdup("host2");
    c->seqno = jsonrpc_session_get_seqno(c->session);
    ovs_list_push_back(&nm.peers->inbound, &c->node);
    return c;
}

/* Reads what netmoved wrote on 'fd' (non-blocking): every message is a
 * reply or an error whose value is a string (version 1) or an object with
 * one of the protocol's codes (version 2).  FUZZ_PEER_SHOW=1 prints them. */
static void
check_answers(int fd)
{
    struct stream *stream;

    if (new_fd_stream(xstrdup("answers"), fd, 0, AF_UNIX, &stream)) {
        abort();
    }
    struct jsonrpc *rpc = jsonrpc_open(stream);
    for (int i = 0; i < 10000; i++) {
        struct jsonrpc_msg *msg;
        int error = jsonrpc_recv(rpc, &msg);
        if (error) {
            if (error != EAGAIN && error != EOF) {
                abort();        /* netmoved wrote something not JSON-RPC. */
            }
            break;
        }
        if (getenv("FUZZ_PEER_SHOW")) {   /* To read what a seed does. */
            char *s = jsonrpc_msg_to_string(msg);
            fprintf(stderr, "<-- %s\n", s);
            free(s);
        }
        if (msg->type == JSONRPC_ERROR) {
            const struct json *e = msg->error;
            if (e->type == JSON_OBJECT) {
                const struct json *code = shash_find_data(json_object(e),
                                                          "code");
                long long int v = code && code->type == JSON_INTEGER
                                  ? json_integer(code) : 0;
                if (v != -32602 && v != -32601 && v != -32001
                    && v != -32000) {
                    abort();
                }
            } else if (e->type != JSON_STRING) {
                abort();
            }
        } else if (msg->type != JSONRPC_REPLY) {
            abort();            /* netmoved sends no requests inbound. */
        }
        jsonrpc_msg_destroy(msg);
    }
    jsonrpc_close(rpc);         /* Closes 'fd'. */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2];

    if (!nm.cfg) {
        setup();
    }
    if (size > 65536) {
        return 0;               /* More than a socket buffer holds. */
    }
    source_init(&nm);
    migration_timeline_init(&nm);
    struct json *records = source_harness_export_records();
    source_recover(&nm, "m1", records);
    json_destroy(records);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds)) {
        abort();
    }
    int buf = 1 << 20;
    setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    if (write(fds[1], data, size) != (ssize_t) size) {
        abort();
    }
    conn_open(fds[0]);

    /* 50 messages a run: every input's messages are read by then or the
     * session has failed on bad JSON. */
    for (int i = 0; i < 8; i++) {
        nm_peers_run(nm.peers);
    }
    /* What waits on OVSDB or on a step is answered "exiting". */
    source_destroy(&nm);
    nm_peers_run(nm.peers);
    check_answers(fds[1]);

    /* The peer hung up: the session ends, its conn is freed. */
    for (int i = 0; i < 5 && !ovs_list_is_empty(&nm.peers->inbound); i++) {
        nm_peers_run(nm.peers);
    }
    if (!ovs_list_is_empty(&nm.peers->inbound)) {
        abort();
    }
    return 0;
}
