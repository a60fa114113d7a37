/* Fuzzes the conntrack document parser (firewall/ct_doc.c):
 * ct_table_from_json() returns 0 or -EINVAL, and what it accepts writes
 * back to a document that reads back equal. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json *doc = fuzz_json(data, size);
    struct ct_table *tab = NULL, *again = NULL;
    char err[512];
    int error;

    if (!doc) {
        return 0;
    }
    error = ct_table_from_json(doc, &tab, err, sizeof err);
    if (error && error != -EINVAL) {
        abort();
    }
    if (!error) {
        struct json *out = ct_table_to_json(tab);
        char why[512];

        if (ct_table_from_json(out, &again, err, sizeof err)
            || !ct_table_equal(tab, again, true, why, sizeof why)) {
            abort();
        }
        json_destroy(out);
    }
    ct_table_destroy(again);
    ct_table_destroy(tab);
    json_destroy(doc);
    return 0;
}
