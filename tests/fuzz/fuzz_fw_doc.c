/* Fuzzes the firewall document parser (firewall/nft_doc.c, set_doc.c,
 * expr_doc.c, expr_attrs.c): whatever a peer sends, fw_ruleset_from_json()
 * returns 0 or -EINVAL, and what it accepts writes back to a document it
 * accepts again, identical. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json *doc = fuzz_json(data, size);
    struct fw_ruleset *rs = NULL, *again = NULL;
    char err[512];
    int error;

    if (!doc) {
        return 0;
    }
    error = fw_ruleset_from_json(doc, &rs, err, sizeof err);
    if (error && error != -EINVAL) {
        abort();
    }
    if (!error) {
        struct json *out = fw_ruleset_to_json(rs);
        char why[512];

        if (fw_ruleset_from_json(out, &again, err, sizeof err)
            || !fw_ruleset_identical(rs, again, why, sizeof why)) {
            abort();            /* What we wrote, we must read back. */
        }
        json_destroy(out);
    }
    fw_ruleset_destroy(again);
    fw_ruleset_destroy(rs);
    json_destroy(doc);
    return 0;
}
