/* Fuzzes what a peer's hello and errors become (netmove/daemon/proto.c):
 * nm_proto_hello_from_json() returns 0 or -EINVAL, an accepted hello
 * writes back to one it accepts again with the same fields, and
 * nm_proto_error_from_json() reads any error value into an errno and a
 * message.  A peer is authenticated, not trusted. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "openvswitch/json.h"
#include "sset.h"

#include "netmove/daemon/proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json *doc = fuzz_json(data, size);
    struct nm_proto_hello hello, again;
    char err[512];
    char *msg = NULL;

    /* Version 1's errors are strings: the bytes as one. */
    char *text = fuzz_text(data, size);
    struct json *s = json_string_create(text);
    if (nm_proto_error_from_json(s, &msg) >= 0 || !msg) {
        abort();
    }
    free(msg);
    msg = NULL;
    json_destroy(s);
    free(text);
    if (!doc) {
        return 0;
    }
    int error = nm_proto_hello_from_json(doc, &hello, err, sizeof err);
    if (error && error != -EINVAL) {
        abort();
    }
    if (!error) {
        struct json *out = nm_proto_hello_to_json(hello.min_version,
                                                  hello.version, hello.host,
                                                  &hello.capabilities);
        if (nm_proto_hello_from_json(out, &again, err, sizeof err)
            || again.version != hello.version
            || again.min_version != hello.min_version
            || strcmp(again.host, hello.host)
            || !sset_equals(&again.capabilities, &hello.capabilities)) {
            abort();
        }
        nm_proto_hello_destroy(&again);
        json_destroy(out);
        int v = nm_proto_negotiate(1, 2, hello.min_version, hello.version);
        if (v != -EPROTONOSUPPORT && (v < 1 || v > 2)) {
            abort();
        }
    }
    nm_proto_hello_destroy(&hello);

    /* The same bytes as a JSON-RPC error member. */
    error = nm_proto_error_from_json(doc, &msg);
    if (error >= 0 || !msg) {
        abort();
    }
    free(msg);
    json_destroy(doc);
    return 0;
}
