/* The learned-address table as a document, and in a file that netmoved
 * keeps across restarts.  The file is input like any other: every member
 * is checked, and a bad one is refused with its path named. */
#include "netmove/addr/addrlearn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/addrtab-private.h"
#include "netmove/common/json.h"

#define DOC_FORMAT "netmove-learned-addresses"
#define DOC_VERSION 1
#define FILE_MAX (4 * 1024 * 1024)
#define VM_ID_MAX 256

/* ---- Writing ------------------------------------------------------------ */

static struct json *
addr_json(const struct at_addr *a)
{
    struct json *o = json_object_create();
    char buf[INET6_ADDRSTRLEN];

    json_object_put_string(o, "ip", garp_addr_format(&a->addr, buf,
                                                     sizeof buf));
    json_object_put(o, "vlan", json_integer_create(a->vlan));
    json_object_put(o, "first_seen_us", json_integer_create(a->first));
    json_object_put(o, "last_seen_us", json_integer_create(a->last));
    return o;
}

/* The document; with 'report', the flags at 'now' and no aged address. */
static struct json *
table_json(const struct nm_addrtab *tab, bool report, uint64_t now)
{
    struct json *ifaces = json_array_create_empty();
    struct json *doc = json_object_create();

    json_object_put_string(doc, "format", DOC_FORMAT);
    json_object_put(doc, "version", json_integer_create(DOC_VERSION));
    for (size_t k = 0; k < tab->n_ifaces; k++) {
        const struct at_iface *i = &tab->ifaces[k];
        struct json *addrs = json_array_create_empty();
        struct json *o = json_object_create();

        json_object_put_string(o, "iface", i->iface);
        json_object_put_format(o, "mac", ETH_ADDR_FMT, ETH_ADDR_ARGS(i->mac));
        if (i->vm) {
            json_object_put_string(o, "vm", i->vm);
        }
        for (size_t j = 0; j < i->n; j++) {
            const struct at_addr *a = &i->addrs[j];
            struct json *aj;

            if (report && at_aged(tab, a, now)) {
                continue;
            }
            aj = addr_json(a);
            if (report) {
                json_object_put(aj, "conflicted", json_boolean_create(
                                    at_conflicted(tab, k, a, now)));
                json_object_put(aj, "link_local", json_boolean_create(
                                    garp_addr_is_link_local(&a->addr)));
            }
            json_array_add(addrs, aj);
        }
        json_object_put(o, "addrs", addrs);
        json_array_add(ifaces, o);
    }
    json_object_put(doc, "ifaces", ifaces);
    return doc;
}

struct json *
nm_addrtab_to_json(const struct nm_addrtab *tab)
{
    return table_json(tab, false, 0);
}

struct json *
nm_addrtab_report(const struct nm_addrtab *tab, uint64_t now_us)
{
    return table_json(tab, true, now_us);
}

/* ---- Reading ------------------------------------------------------------ */

/* A member of an object to read: its 'name', JSON 'type', whether it may
 * be absent, and where its value goes (NULL if absent). */
struct member {
    const char *name;
    enum json_type type;
    bool optional;
    const struct json **value;
};

static const char *
type_name(enum json_type type)
{
    switch (type) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    default: return "another type";
    }
}

/* Reads the 'n' members 'm' of 'obj', the object at 'path': each present
 * (unless optional) with its type, and no other.  0 or -EINVAL + 'err'. */
static int
read_members(const struct json *obj, const char *path, struct member *m,
             size_t n, char *err, size_t errlen)
{
    struct shash_node *node;

    if (obj->type != JSON_OBJECT) {
        snprintf(err, errlen, "%s: expected an object", path);
        return -EINVAL;
    }
    for (size_t k = 0; k < n; k++) {
        const struct json *v = nm_json_member(obj, m[k].name);

        *m[k].value = v;
        if (!v && !m[k].optional) {
            snprintf(err, errlen, "%s.%s: missing", path, m[k].name);
            return -EINVAL;
        }
        if (v && v->type != m[k].type) {
            snprintf(err, errlen, "%s.%s: expected %s", path, m[k].name,
                     type_name(m[k].type));
            return -EINVAL;
        }
    }
    SHASH_FOR_EACH (node, json_object(obj)) {
        size_t k;

        for (k = 0; k < n && strcmp(node->name, m[k].name); k++) {
            continue;
        }
        if (k == n) {
            snprintf(err, errlen, "%s: unknown member '%s'", path,
                     node->name);
            return -EINVAL;
        }
    }
    return 0;
}

/* An integer member in [min, max]. */
static int
int_value(const struct json *j, const char *path, const char *name,
          long long min, long long max, long long *v, char *err,
          size_t errlen)
{
    *v = json_integer(j);
    if (*v < min || *v > max) {
        snprintf(err, errlen, "%s.%s: %lld is not in %lld..%lld", path, name,
                 *v, min, max);
        return -EINVAL;
    }
    return 0;
}

static bool
iface_name_ok(const char *s)
{
    size_t len = strlen(s);

    /* What the kernel's dev_valid_name() takes. */
    return len && len < IF_NAMESIZE && strcmp(s, ".") && strcmp(s, "..")
           && !strpbrk(s, "/: \t\n\r\v\f");
}

static int
read_addr(const struct json *j, const char *path, struct at_addr *a,
          char *err, size_t errlen)
{
    const struct json *ip, *vlan, *first, *last;
    struct member m[] = {
        { "ip", JSON_STRING, false, &ip },
        { "vlan", JSON_INTEGER, true, &vlan },
        { "first_seen_us", JSON_INTEGER, false, &first },
        { "last_seen_us", JSON_INTEGER, false, &last },
    };
    long long v;
    ovs_be32 ip4;
    int error;

    error = read_members(j, path, m, ARRAY_SIZE(m), err, errlen);
    if (error) {
        return error;
    }
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, json_string(ip), &ip4) == 1) {
        garp_addr_from_ipv4(ip4, &a->addr);
    } else if (inet_pton(AF_INET6, json_string(ip), &a->addr) != 1
               || IN6_IS_ADDR_V4MAPPED(&a->addr)) {
        snprintf(err, errlen, "%s.ip: '%.64s' is not an IPv4 or IPv6 "
                 "address", path, json_string(ip));
        return -EINVAL;
    }
    if (!garp_addr_ownable(&a->addr)) {
        snprintf(err, errlen, "%s.ip: '%s' is not an address a VM can own",
                 path, json_string(ip));
        return -EINVAL;
    }
    if (vlan && (error = int_value(vlan, path, "vlan", 0, 4094, &v, err,
                                   errlen))) {
        return error;
    }
    a->vlan = vlan ? v : 0;
    if ((error = int_value(first, path, "first_seen_us", 0, LLONG_MAX, &v,
                           err, errlen))) {
        return error;
    }
    a->first = v;
    if ((error = int_value(last, path, "last_seen_us", 0, LLONG_MAX, &v,
                           err, errlen))) {
        return error;
    }
    a->last = v;
    if (a->first > a->last) {
        snprintf(err, errlen, "%s.first_seen_us: %"PRIu64" is after "
                 "last_seen_us %"PRIu64, path, a->first, a->last);
        return -EINVAL;
    }
    return 0;
}

static int
read_iface_head(const struct json *j, const char *path, struct at_iface *i,
                const struct json **addrs, char *err, size_t errlen)
{
    const struct json *name, *mac, *vm;
    struct member m[] = {
        { "iface", JSON_STRING, false, &name },
        { "mac", JSON_STRING, false, &mac },
        { "vm", JSON_STRING, true, &vm },
        { "addrs", JSON_ARRAY, false, addrs },
    };
    char field[64];
    int error;

    error = read_members(j, path, m, ARRAY_SIZE(m), err, errlen);
    if (error) {
        return error;
    }
    if (!iface_name_ok(json_string(name))) {
        snprintf(err, errlen, "%s.iface: '%.64s' is not an interface name",
                 path, json_string(name));
        return -EINVAL;
    }
    snprintf(field, sizeof field, "%s.mac", path);
    if (garp_parse_mac(field, json_string(mac), &i->mac, err, errlen)) {
        return -EINVAL;
    }
    if (vm && (!json_string(vm)[0] || strlen(json_string(vm)) > VM_ID_MAX)) {
        snprintf(err, errlen, "%s.vm: expected 1 to %d characters", path,
                 VM_ID_MAX);
        return -EINVAL;
    }
    i->iface = xstrdup(json_string(name));
    i->vm = vm ? xstrdup(json_string(vm)) : NULL;
    return 0;
}

/* Reads 'doc''s interfaces into a new array '*ifacesp' of '*np'. */
static int
read_ifaces(const struct nm_addrtab *tab, const struct json *ifaces,
            uint64_t now, struct at_iface **ifacesp, size_t *np,
            char *err, size_t errlen)
{
    const struct json_array *arr = json_array(ifaces);
    struct at_iface *out = xcalloc(arr->n ? arr->n : 1, sizeof *out);
    int error = 0;
    size_t n = 0;

    for (size_t k = 0; k < arr->n && !error; k++) {
        struct at_iface *i = &out[n++];
        const struct json *addrs;
        char path[32];

        snprintf(path, sizeof path, "ifaces[%zu]", k);
        error = read_iface_head(arr->elems[k], path, i, &addrs, err, errlen);
        for (size_t j = 0; !error && j < n - 1; j++) {
            if (!strcmp(out[j].iface, i->iface)
                && eth_addr_equals(out[j].mac, i->mac)) {
                snprintf(err, errlen, "%s: the same interface and MAC as "
                         "ifaces[%zu]", path, j);
                error = -EINVAL;
            }
        }
        for (size_t j = 0; !error && j < json_array(addrs)->n; j++) {
            char apath[64];
            struct at_addr a;

            snprintf(apath, sizeof apath, "%s.addrs[%zu]", path, j);
            error = read_addr(json_array(addrs)->elems[j], apath, &a, err,
                              errlen);
            if (error) {
                break;
            }
            if (at_iface_find(i, &a.addr)) {
                snprintf(err, errlen, "%s.ip: appears twice in %s", apath,
                         path);
                error = -EINVAL;
                break;
            }
            /* A clock stepped back since: not in the future. */
            a.last = MIN(a.last, now);
            a.first = MIN(a.first, a.last);
            if (!at_aged(tab, &a, now)) {
                at_iface_add(tab, i, &a);
            }
        }
    }
    if (error) {
        for (size_t k = 0; k < n; k++) {
            at_iface_clear(&out[k]);
        }
        free(out);
        return error;
    }
    *ifacesp = out;
    *np = n;
    return 0;
}

int
nm_addrtab_from_json(struct nm_addrtab *tab, const struct json *doc,
                     uint64_t now_us, char *err, size_t errlen)
{
    const struct json *format, *version, *ifaces;
    struct member m[] = {
        { "format", JSON_STRING, false, &format },
        { "version", JSON_INTEGER, false, &version },
        { "ifaces", JSON_ARRAY, false, &ifaces },
    };
    struct at_iface *loaded;
    size_t n_loaded;
    int error;

    error = read_members(doc, "document", m, ARRAY_SIZE(m), err, errlen);
    if (error) {
        return error;
    }
    if (strcmp(json_string(format), DOC_FORMAT)) {
        snprintf(err, errlen, "document.format: '%.64s' is not '"DOC_FORMAT
                 "'", json_string(format));
        return -EINVAL;
    }
    if (json_integer(version) != DOC_VERSION) {
        snprintf(err, errlen, "document.version: unknown version %lld",
                 (long long) json_integer(version));
        return -EINVAL;
    }
    error = read_ifaces(tab, ifaces, now_us, &loaded, &n_loaded, err,
                        errlen);
    if (error) {
        return error;
    }

    /* Once the interfaces are known, the document only fills theirs;
     * before, it is the table, until nm_addrtab_set_ports() sorts it. */
    if (tab->ports_set) {
        for (size_t k = 0; k < tab->n_ifaces; k++) {
            struct at_iface *i = &tab->ifaces[k];

            i->n = 0;
            for (size_t j = 0; j < n_loaded; j++) {
                struct at_iface *l = &loaded[j];

                if (!strcmp(l->iface, i->iface)
                    && eth_addr_equals(l->mac, i->mac)) {
                    free(i->addrs);
                    i->addrs = l->addrs;
                    i->n = l->n;
                    i->allocated = l->allocated;
                    l->addrs = NULL;
                }
            }
        }
        for (size_t j = 0; j < n_loaded; j++) {
            at_iface_clear(&loaded[j]);
        }
        free(loaded);
    } else {
        for (size_t k = 0; k < tab->n_ifaces; k++) {
            at_iface_clear(&tab->ifaces[k]);
        }
        free(tab->ifaces);
        tab->ifaces = loaded;
        tab->n_ifaces = n_loaded;
    }
    return 0;
}

/* ---- The file ----------------------------------------------------------- */

static int
sync_dir_of(const char *path)
{
    char *dir = dir_name(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int error = fd < 0 || fsync(fd) ? -errno : 0;

    if (fd >= 0) {
        close(fd);
    }
    free(dir);
    return error;
}

static int
write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= n;
    }
    return 0;
}

int
nm_addrtab_save(const struct nm_addrtab *tab, const char *path,
                char *err, size_t errlen)
{
    struct json *doc = nm_addrtab_to_json(tab);
    char *tmp = xasprintf("%s.XXXXXX", path);
    struct ds s = DS_EMPTY_INITIALIZER;
    int fd, error;

    json_to_ds(doc, 0, &s);
    ds_put_char(&s, '\n');
    json_destroy(doc);

    /* mkostemp() makes it 0600: the table says which VM uses which
     * address, which is no one else's business. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "%s: %s", tmp, ovs_strerror(-error));
        goto out;
    }
    error = write_all(fd, s.string, s.length);
    if (!error && fsync(fd)) {
        error = -errno;
    }
    if (close(fd) && !error) {
        error = -errno;
    }
    if (!error && rename(tmp, path)) {
        error = -errno;
    }
    if (error) {
        snprintf(err, errlen, "%s: %s", path, ovs_strerror(-error));
        unlink(tmp);
        goto out;
    }
    error = sync_dir_of(path);
    if (error) {
        snprintf(err, errlen, "%s: syncing its directory: %s", path,
                 ovs_strerror(-error));
    }
out:
    ds_destroy(&s);
    free(tmp);
    return error;
}

/* Reads file 'path' (at most FILE_MAX bytes) into '*textp' ('*lenp'
 * bytes, then a null byte). */
static int
read_file(const char *path, char **textp, size_t *lenp, char *err,
          size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *text;
    size_t len = 0;
    int error = 0;

    *textp = NULL;
    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "%s: %s", path, ovs_strerror(-error));
        return error;
    }
    if (fstat(fd, &st)) {
        error = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        error = -EINVAL;
    } else if (st.st_size > FILE_MAX) {
        error = -EFBIG;
    }
    if (error) {
        snprintf(err, errlen, "%s: %s", path, error == -EFBIG
                 ? "over 4 MiB: not a file netmoved wrote"
                 : error == -EINVAL ? "not a regular file"
                 : ovs_strerror(-error));
        close(fd);
        return error;
    }
    text = xmalloc(FILE_MAX + 1);
    for (;;) {
        ssize_t n = read(fd, text + len, FILE_MAX + 1 - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error = -errno;
            snprintf(err, errlen, "%s: %s", path, ovs_strerror(-error));
            break;
        }
        if (!n) {
            break;
        }
        len += n;
        if (len > FILE_MAX) {       /* It grew since fstat(). */
            error = -EFBIG;
            snprintf(err, errlen, "%s: over 4 MiB: not a file netmoved "
                     "wrote", path);
            break;
        }
    }
    close(fd);
    if (error) {
        free(text);
        return error;
    }
    text[len] = '\0';
    *textp = text;
    *lenp = len;
    return 0;
}

int
nm_addrtab_load(struct nm_addrtab *tab, const char *path, uint64_t now_us,
                char *err, size_t errlen)
{
    struct json *doc;
    size_t len = 0;
    char *text;
    int error;

    error = read_file(path, &text, &len, err, errlen);
    if (error) {
        return error;
    }
    if (!len || memchr(text, '\0', len)) {
        error = -EINVAL;        /* Empty, or a torn write's zeros. */
    }
    doc = error ? NULL : json_from_string(text);
    free(text);
    if (!doc || doc->type == JSON_STRING) {
        snprintf(err, errlen, "%s: not a JSON document%s%s", path,
                 doc ? ": " : "", doc ? json_string(doc) : "");
        json_destroy(doc);
        return -EINVAL;
    }
    error = nm_addrtab_from_json(tab, doc, now_us, err, errlen);
    json_destroy(doc);
    if (error) {
        /* Names the file as well as the member. */
        char *msg = xstrdup(err);

        snprintf(err, errlen, "%s: %s", path, msg);
        free(msg);
    }
    return error;
}
