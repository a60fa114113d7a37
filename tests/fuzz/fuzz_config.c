/* Fuzzes the configuration parser (netmove/common/config.c):
 * nm_config_from_json() returns 0 or -EINVAL. */
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#include "netmove/common/config.h"
#include "netmove/common/config-private.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json *doc = fuzz_json(data, size);
    struct nm_config *cfg = NULL;
    char err[512];
    int error;

    if (!doc) {
        return 0;
    }
    error = nm_config_from_json(doc, &cfg, err, sizeof err);
    if (error && error != -EINVAL) {
        abort();
    }
    nm_config_destroy(cfg);
    json_destroy(doc);
    return 0;
}
