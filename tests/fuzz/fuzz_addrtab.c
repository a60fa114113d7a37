/* Fuzzes the addresses table file parser (netmove/addr/addrtab_json.c):
 * nm_addrtab_from_json() returns 0 or -EINVAL, and a table it filled
 * writes itself out again. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "netmove/addr/addrlearn.h"
#include "netmove/addr/addrtab-private.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json *doc = fuzz_json(data, size);
    struct nm_addrtab *tab;
    char err[512];
    int error;

    if (!doc) {
        return 0;
    }
    if (nm_addrtab_create(NULL, &tab, err, sizeof err)) {
        abort();
    }
    error = nm_addrtab_from_json(tab, doc, 1700000000000000ULL, err,
                                 sizeof err);
    if (error && error != -EINVAL) {
        abort();
    }
    json_destroy(nm_addrtab_to_json(tab));
    json_destroy(nm_addrtab_report(tab, 1700000000000000ULL));
    nm_addrtab_destroy(tab);
    json_destroy(doc);
    return 0;
}
