/* Fuzzes the port document parser (ovs/port_doc.c): nmovs_docs_parse()
 * returns 0 or -EINVAL, and each document it accepts writes back to one it
 * accepts again; then the scope a peer's document must keep
 * (ovs/port_scope.c) returns 0 or -EINVAL for it. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "ovs/ovs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct nmovs_doc **docs = NULL;
    char err[512];
    size_t n = 0;
    int error;

    error = nmovs_docs_parse(text, &docs, &n, err, sizeof err);
    if (error && error != -EINVAL) {
        abort();
    }
    for (size_t i = 0; !error && i < n; i++) {
        struct json *out = nmovs_doc_to_json(docs[i]);
        struct nmovs_doc **again = NULL;
        size_t n_again = 0;

        if (nmovs_docs_from_json(out, &again, &n_again, err, sizeof err)
            || n_again != 1) {
            abort();
        }
        nmovs_docs_destroy(again, n_again);
        json_destroy(out);

        static const int vlans[] = { 100, 200 };
        const struct nmovs_scope scope = { "br-int", vlans, 2 };
        int scoped = nmovs_doc_check_scope(docs[i], &scope, err, sizeof err);
        if (scoped && scoped != -EINVAL) {
            abort();
        }
        int tag = nmovs_doc_iface_tag(docs[i], "vnet0");
        if (tag < -1 && tag != -ENOENT) {
            abort();
        }
    }
    if (!error) {
        nmovs_docs_destroy(docs, n);
    }
    free(text);
    return 0;
}
