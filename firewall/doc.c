/* firewall: reading document fields, naming the field on every error. */
#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"

int
doc_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;

    if (err && errlen) {
        va_start(args, fmt);
        vsnprintf(err, errlen, fmt, args);
        va_end(args);
    }
    return -EINVAL;
}

const struct json *
doc_member(const struct json *obj, const char *name)
{
    return (obj && obj->type == JSON_OBJECT
            ? shash_find_data(json_object(obj), name) : NULL);
}

/* Looks 'name' up in 'obj': 0 with '*value' set, 0 with NULL if absent and
 * optional, -EINVAL if absent and required. */
static int
doc_find(const struct json *obj, const char *name, bool required,
         const struct json **value, const char *path, char *err,
         size_t errlen)
{
    *value = doc_member(obj, name);
    if (!*value && required) {
        return doc_error(err, errlen, "%s.%s: missing", path, name);
    }
    return 0;
}

int
doc_get_int(const struct json *obj, const char *name, bool required,
            int64_t min, int64_t max, int64_t *out, const char *path,
            char *err, size_t errlen)
{
    const struct json *v;
    int error = doc_find(obj, name, required, &v, path, err, errlen);

    if (error || !v) {
        return error;
    }
    if (v->type != JSON_INTEGER) {
        return doc_error(err, errlen, "%s.%s: expected an integer", path,
                         name);
    }
    if (json_integer(v) < min || json_integer(v) > max) {
        return doc_error(err, errlen, "%s.%s: %lld out of range "
                         "[%lld, %lld]", path, name,
                         (long long) json_integer(v), (long long) min,
                         (long long) max);
    }
    *out = json_integer(v);
    return 0;
}

int
doc_get_uint(const struct json *obj, const char *name, bool required,
             uint64_t max, uint64_t *out, const char *path,
             char *err, size_t errlen)
{
    int64_t v;
    int error = doc_get_int(obj, name, required, 0,
                            max > INT64_MAX ? INT64_MAX : (int64_t) max,
                            &v, path, err, errlen);

    if (!error && doc_member(obj, name)) {
        *out = v;
    }
    return error;
}

int
doc_get_string(const struct json *obj, const char *name, bool required,
               size_t maxlen, const char **out, const char *path,
               char *err, size_t errlen)
{
    const struct json *v;
    int error = doc_find(obj, name, required, &v, path, err, errlen);

    if (error || !v) {
        return error;
    }
    if (v->type != JSON_STRING) {
        return doc_error(err, errlen, "%s.%s: expected a string", path,
                         name);
    }
    if (strlen(json_string(v)) > maxlen) {
        return doc_error(err, errlen, "%s.%s: longer than %zu characters",
                         path, name, maxlen);
    }
    *out = json_string(v);
    return 0;
}

int
doc_get_bool(const struct json *obj, const char *name, bool required,
             bool *out, const char *path, char *err, size_t errlen)
{
    const struct json *v;
    int error = doc_find(obj, name, required, &v, path, err, errlen);

    if (error || !v) {
        return error;
    }
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
        return doc_error(err, errlen, "%s.%s: expected true or false", path,
                         name);
    }
    *out = v->type == JSON_TRUE;
    return 0;
}

int
doc_get_array(const struct json *obj, const char *name, bool required,
              const struct json **out, const char *path,
              char *err, size_t errlen)
{
    const struct json *v;
    int error = doc_find(obj, name, required, &v, path, err, errlen);

    *out = NULL;
    if (error || !v) {
        return error;
    }
    if (v->type != JSON_ARRAY) {
        return doc_error(err, errlen, "%s.%s: expected an array", path, name);
    }
    *out = v;
    return 0;
}

int
doc_get_hex(const struct json *obj, const char *name, bool required,
            uint8_t *buf, size_t max, size_t *len, const char *path,
            char *err, size_t errlen)
{
    const char *s = NULL;
    int error = doc_get_string(obj, name, required, 2 * max, &s, path,
                               err, errlen);

    if (error || !s) {
        return error;
    }
    if (fw_hex_decode(s, buf, max, len)) {
        return doc_error(err, errlen, "%s.%s: expected hex bytes (at most "
                         "%zu)", path, name, max);
    }
    return 0;
}

/* Checks that 'doc' is an object {"format": 'format', "version":
 * 'version', ...}. */
int
doc_check_header(const struct json *doc, const char *format, int64_t version,
                 char *err, size_t errlen)
{
    const char *f;
    int64_t v;
    int error;

    if (!doc || doc->type != JSON_OBJECT) {
        return doc_error(err, errlen, "document: expected a JSON object");
    }
    error = doc_get_string(doc, "format", true, 64, &f, "document", err,
                           errlen);
    if (error) {
        return error;
    }
    if (strcmp(f, format)) {
        return doc_error(err, errlen, "document.format: \"%s\" is not \"%s\"",
                         f, format);
    }
    error = doc_get_int(doc, "version", true, INT64_MIN, INT64_MAX, &v,
                        "document", err, errlen);
    if (error) {
        return error;
    }
    if (v != version) {
        return doc_error(err, errlen, "document.version: unknown version "
                         "%lld (this netmove reads version %lld)",
                         (long long) v, (long long) version);
    }
    return 0;
}

void
doc_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(buf, size, fmt, args);
    va_end(args);
}

/* Writes 'doc' and a newline to 'stream' in one piece.  Returns 0 or a
 * negative errno. */
int
fw_doc_write(const struct json *doc, FILE *stream)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    int error = 0;

    json_to_ds(doc, 0, &s);
    ds_put_char(&s, '\n');
    if (fwrite(s.string, 1, s.length, stream) != s.length || fflush(stream)) {
        error = -errno;
    }
    ds_destroy(&s);
    return error;
}

void
doc_put_hex(struct json *obj, const char *name, const void *data,
            uint32_t len)
{
    if (data) {
        json_object_put(obj, name,
                        json_string_create_nocopy(fw_hex_encode(data, len)));
    }
}

void
doc_put_int(struct json *obj, const char *name, long long v)
{
    json_object_put(obj, name, json_integer_create(v));
}
