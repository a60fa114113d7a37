/* What every fuzz target of tests/fuzz shares: libFuzzer's entry point
 * (declared, for -Wmissing-prototypes) and the input as text or JSON. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns 'data' as a NUL-terminated string (the caller frees it). */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* Returns 'data' parsed as JSON by libopenvswitch, or NULL if it is not
 * JSON (json_from_string()'s error string is dropped). */
static inline struct json *
fuzz_json(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct json *json = json_from_string(text);

    free(text);
    if (json->type == JSON_STRING) {
        json_destroy(json);
        return NULL;
    }
    return json;
}

#endif /* tests/fuzz/fuzz.h */
