/* Fuzzes the QMP reader and watcher (netmove/hooks/qmp.c) as QEMU's socket
 * feeds them: bytes in chunks to qmp_reader_feed(), each message to
 * qmp_msg_parse() and qmp_watch_msg().  The first input byte sets the
 * chunk size, so that messages split across reads are tried too. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "netmove/hooks/qmp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qmp_reader *r;
    struct qmp_watch w;
    size_t chunk, ofs;
    char err[512];

    if (!size) {
        return 0;
    }
    chunk = data[0] ? data[0] : 4096;
    data++, size--;
    r = qmp_reader_create();
    qmp_watch_init(&w);
    for (ofs = 0; ofs < size; ) {
        size_t n = size - ofs < chunk ? size - ofs : chunk;
        struct json *msg = NULL;
        int used = qmp_reader_feed(r, (const char *) data + ofs, n, &msg,
                                   err, sizeof err);

        if (used < 0) {
            if (used != -EPROTO && used != -EMSGSIZE) {
                abort();
            }
            break;
        }
        if ((size_t) used > n || (!used && !msg)) {
            abort();            /* No progress: the caller would spin. */
        }
        ofs += used;
        if (msg) {
            struct qmp_msg m;

            if (!qmp_msg_parse(msg, &m, err, sizeof err)) {
                qmp_watch_msg(&w, &m);
            }
            json_destroy(msg);
        }
    }
    qmp_reader_destroy(r);
    return 0;
}
