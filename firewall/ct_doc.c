/* firewall: conntrack entries as a versioned JSON document (README.md).
 *
 *   {"format": "netmove-conntrack", "version": 1, "delta": false,
 *    "entries": [{"family": "ipv4", "proto": 6,
 *                 "src": "198.18.1.1", "dst": "198.18.0.1",
 *                 "sport": 40000, "dport": 5001,
 *                 "rsrc": "198.18.0.1", "rdst": "198.18.1.1",
 *                 "rsport": 5001, "rdport": 40000,
 *                 "state": 3, "status": 14, "mark": 0, "zone": 0,
 *                 "timeout": 431999, ...}],
 *    "gone": [...]} */
#include "firewall/firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "firewall/internal.h"

#define CT_FORMAT "netmove-conntrack"
#define LABEL_BITS_MAX 127      /* XT_CONNLABEL_MAXBIT */

static bool
has_ports(uint8_t proto)
{
    return (proto == IPPROTO_TCP || proto == IPPROTO_UDP
            || proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP
            || proto == IPPROTO_DCCP);
}

static void
put_addr(struct json *obj, const char *name, int family, const void *addr)
{
    char text[INET6_ADDRSTRLEN];

    if (addr && inet_ntop(family, addr, text, sizeof text)) {
        json_object_put_string(obj, name, text);
    }
}

static void
put_uint(struct json *obj, const char *name, long long v)
{
    json_object_put(obj, name, json_integer_create(v));
}

/* The tuple part of an entry: what identifies it. */
static void
put_tuple(struct json *obj, const struct nf_conntrack *ct, bool reply)
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
    bool v4 = family == AF_INET;

    if (!reply) {
        json_object_put_string(obj, "family", v4 ? "ipv4" : "ipv6");
        put_uint(obj, "proto", proto);
        put_addr(obj, "src", family, nfct_get_attr(ct, v4 ? ATTR_ORIG_IPV4_SRC
                                                        : ATTR_ORIG_IPV6_SRC));
        put_addr(obj, "dst", family, nfct_get_attr(ct, v4 ? ATTR_ORIG_IPV4_DST
                                                        : ATTR_ORIG_IPV6_DST));
        if (has_ports(proto)) {
            put_uint(obj, "sport",
                     ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)));
            put_uint(obj, "dport",
                     ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)));
        }
        if (nfct_attr_is_set(ct, ATTR_ICMP_TYPE)) {
            put_uint(obj, "icmp_type", nfct_get_attr_u8(ct, ATTR_ICMP_TYPE));
            put_uint(obj, "icmp_code", nfct_get_attr_u8(ct, ATTR_ICMP_CODE));
            put_uint(obj, "icmp_id",
                     ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID)));
        }
        put_uint(obj, "zone", nfct_attr_is_set(ct, ATTR_ZONE)
                              ? nfct_get_attr_u16(ct, ATTR_ZONE) : 0);
        return;
    }
    put_addr(obj, "rsrc", family, nfct_get_attr(ct, v4 ? ATTR_REPL_IPV4_SRC
                                                     : ATTR_REPL_IPV6_SRC));
    put_addr(obj, "rdst", family, nfct_get_attr(ct, v4 ? ATTR_REPL_IPV4_DST
                                                     : ATTR_REPL_IPV6_DST));
    if (has_ports(proto) && nfct_attr_is_set(ct, ATTR_REPL_PORT_SRC)) {
        put_uint(obj, "rsport",
                 ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)));
        put_uint(obj, "rdport",
                 ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST)));
    }
}

static void
put_state(struct json *obj, const struct nf_conntrack *ct)
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    bool v4 = family == AF_INET;

    if (nfct_attr_is_set(ct, ATTR_TCP_STATE)) {
        put_uint(obj, "state", nfct_get_attr_u8(ct, ATTR_TCP_STATE));
    } else if (nfct_attr_is_set(ct, ATTR_SCTP_STATE)) {
        put_uint(obj, "state", nfct_get_attr_u8(ct, ATTR_SCTP_STATE));
    } else if (nfct_attr_is_set(ct, ATTR_DCCP_STATE)) {
        put_uint(obj, "state", nfct_get_attr_u8(ct, ATTR_DCCP_STATE));
    }
    if (nfct_attr_is_set(ct, ATTR_TCP_FLAGS_ORIG)) {
        put_uint(obj, "tcp_flags", nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_ORIG));
        put_uint(obj, "tcp_rflags", nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_REPL));
    }
    if (nfct_attr_is_set(ct, ATTR_TCP_WSCALE_ORIG)) {
        put_uint(obj, "wscale", nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_ORIG));
        put_uint(obj, "rwscale", nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_REPL));
    }
    put_uint(obj, "status", nfct_get_attr_u32(ct, ATTR_STATUS));
    if (nfct_attr_is_set(ct, ATTR_MARK)) {
        put_uint(obj, "mark", nfct_get_attr_u32(ct, ATTR_MARK));
    }
    const struct nfct_bitmask *labels = nfct_get_attr(ct, ATTR_CONNLABELS);
    if (labels) {
        struct json *bits = json_array_create_empty();
        unsigned int max = nfct_bitmask_maxbit(labels);

        for (unsigned int i = 0; i <= max && i <= LABEL_BITS_MAX; i++) {
            if (nfct_bitmask_test_bit(labels, i)) {
                json_array_add(bits, json_integer_create(i));
            }
        }
        json_object_put(obj, "labels", bits);
    }
    /* NAT, as conntrackd carries it: the manipulated address and port. */
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_SNAT)) {
        put_addr(obj, "snat", family,
                 nfct_get_attr(ct, v4 ? ATTR_REPL_IPV4_DST
                                      : ATTR_REPL_IPV6_DST));
    }
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_SPAT)) {
        put_uint(obj, "snat_port",
                 ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST)));
    }
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_DNAT)) {
        put_addr(obj, "dnat", family,
                 nfct_get_attr(ct, v4 ? ATTR_REPL_IPV4_SRC
                                      : ATTR_REPL_IPV6_SRC));
    }
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_DPAT)) {
        put_uint(obj, "dnat_port",
                 ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)));
    }
    if (nfct_attr_is_set(ct, ATTR_HELPER_NAME)) {
        json_object_put_string(obj, "helper",
                               nfct_get_attr(ct, ATTR_HELPER_NAME));
    }
}

static struct json *
entry_to_json(const struct nf_conntrack *ct, bool gone, bool timeout)
{
    struct json *obj = json_object_create();

    put_tuple(obj, ct, false);
    if (!gone) {
        put_tuple(obj, ct, true);
        put_state(obj, ct);
        if (timeout && nfct_attr_is_set(ct, ATTR_TIMEOUT)) {
            put_uint(obj, "timeout", nfct_get_attr_u32(ct, ATTR_TIMEOUT));
        }
    }
    return obj;
}

struct json *
ct_table_to_json(const struct ct_table *tab)
{
    struct json *doc = json_object_create();
    struct json *entries = json_array_create_empty();
    struct json *gone = json_array_create_empty();

    json_object_put_string(doc, "format", CT_FORMAT);
    json_object_put(doc, "version", json_integer_create(CT_DOC_VERSION));
    json_object_put(doc, "delta", json_boolean_create(tab->delta));
    for (size_t i = 0; i < tab->n; i++) {
        const struct ct_entry *e = &tab->entries[i];

        json_array_add(e->gone ? gone : entries,
                       entry_to_json(e->ct, e->gone, true));
    }
    json_object_put(doc, "entries", entries);
    json_object_put(doc, "gone", gone);
    return doc;
}

/* ---- identity and comparison ---- */

static char *
entry_string(const struct nf_conntrack *ct, bool tuple_only, bool timeout)
{
    struct json *obj = entry_to_json(ct, tuple_only, timeout);
    char *s = json_to_string(obj, JSSF_SORT);

    json_destroy(obj);
    return s;
}

char *
ct_entry_key(const struct nf_conntrack *ct)
{
    return entry_string(ct, true, false);
}

bool
ct_entry_equal(const struct nf_conntrack *a, const struct nf_conntrack *b,
               bool timeouts, char *why, size_t whylen)
{
    char *sa = entry_string(a, false, timeouts);
    char *sb = entry_string(b, false, timeouts);
    bool same = !strcmp(sa, sb);

    if (!same) {
        doc_error(why, whylen, "%s differs from %s", sa, sb);
    }
    free(sa);
    free(sb);
    return same;
}

bool
ct_table_equal(const struct ct_table *a, const struct ct_table *b,
               bool timeouts, char *why, size_t whylen)
{
    if (a->n != b->n || a->n_gone != b->n_gone || a->delta != b->delta) {
        doc_error(why, whylen, "%zu entries (%zu gone) vs %zu (%zu gone)",
                  a->n, a->n_gone, b->n, b->n_gone);
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct ct_entry *ea = &a->entries[i], *eb = &b->entries[i];

        if (ea->gone != eb->gone) {
            doc_error(why, whylen, "entry %zu: gone in one table only", i);
            return false;
        }
        if (ea->gone) {
            /* Only the tuple of a gone entry matters. */
            char *ka = ct_entry_key(ea->ct), *kb = ct_entry_key(eb->ct);
            bool same = !strcmp(ka, kb);

            if (!same) {
                doc_error(why, whylen, "gone %s differs from %s", ka, kb);
            }
            free(ka);
            free(kb);
            if (!same) {
                return false;
            }
        } else if (!ct_entry_equal(ea->ct, eb->ct, timeouts, why, whylen)) {
            return false;
        }
    }
    return true;
}

struct ct_table *
ct_table_delta(const struct ct_table *prev, const struct ct_table *cur)
{
    struct ct_table *delta = ct_table_create();
    struct shash prev_by_key, cur_keys;
    struct shash_node *node;

    delta->delta = true;
    shash_init(&prev_by_key);
    shash_init(&cur_keys);
    for (size_t i = 0; i < prev->n; i++) {
        if (!prev->entries[i].gone) {
            shash_replace_nocopy(&prev_by_key,
                                 ct_entry_key(prev->entries[i].ct),
                                 prev->entries[i].ct);
        }
    }
    for (size_t i = 0; i < cur->n; i++) {
        const struct nf_conntrack *ct = cur->entries[i].ct;
        char *key = ct_entry_key(ct);
        const struct nf_conntrack *old;

        if (cur->entries[i].gone) {
            free(key);
            continue;
        }
        old = shash_find_data(&prev_by_key, key);
        if (!old || !ct_entry_equal(old, ct, false, NULL, 0)) {
            ct_table_add(delta, nfct_clone(ct));
        }
        shash_replace_nocopy(&cur_keys, key, NULL);
    }
    SHASH_FOR_EACH (node, &prev_by_key) {
        if (!shash_find(&cur_keys, node->name)) {
            ct_table_add_gone(delta, nfct_clone(node->data));
        }
    }
    shash_destroy(&prev_by_key);
    shash_destroy(&cur_keys);
    return delta;
}

/* ---- decoding ---- */

struct entry_ctx {
    const char *path;
    char *err;
    size_t errlen;
};

static int
get_addr(const struct json *obj, const char *name, int family, bool required,
         uint8_t *out, bool *present, const struct entry_ctx *x)
{
    const char *text = NULL;
    int error = doc_get_string(obj, name, required, INET6_ADDRSTRLEN, &text,
                               x->path, x->err, x->errlen);

    *present = text != NULL;
    if (error || !text) {
        return error;
    }
    if (inet_pton(family, text, out) != 1) {
        return doc_error(x->err, x->errlen, "%s.%s: \"%s\" is not an %s "
                         "address", x->path, name, text,
                         family == AF_INET ? "IPv4" : "IPv6");
    }
    return 0;
}

static int
get_u(const struct json *obj, const char *name, bool required, uint64_t max,
      uint64_t *v, const struct entry_ctx *x)
{
    return doc_get_uint(obj, name, required, max, v, x->path, x->err,
                        x->errlen);
}

static int
tuple_from_json(const struct json *obj, struct nf_conntrack *ct,
                bool gone, const struct entry_ctx *x)
{
    static const int v4[] = { ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV4_DST,
                              ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV4_DST };
    static const int v6[] = { ATTR_ORIG_IPV6_SRC, ATTR_ORIG_IPV6_DST,
                              ATTR_REPL_IPV6_SRC, ATTR_REPL_IPV6_DST };
    static const char *const addr_names[] = { "src", "dst", "rsrc", "rdst" };
    static const char *const port_names[] = { "sport", "dport", "rsport",
                                              "rdport" };
    static const int ports[] = { ATTR_ORIG_PORT_SRC, ATTR_ORIG_PORT_DST,
                                 ATTR_REPL_PORT_SRC, ATTR_REPL_PORT_DST };
    const char *family_name;
    uint64_t proto, v;
    int family, error;

    if ((error = doc_get_string(obj, "family", true, 8, &family_name,
                                x->path, x->err, x->errlen))
        || (error = get_u(obj, "proto", true, 255, &proto, x))) {
        return error;
    }
    if (!strcmp(family_name, "ipv4")) {
        family = AF_INET;
    } else if (!strcmp(family_name, "ipv6")) {
        family = AF_INET6;
    } else {
        return doc_error(x->err, x->errlen, "%s.family: \"%s\" is neither "
                         "ipv4 nor ipv6", x->path, family_name);
    }
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, family);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, family);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, proto);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, proto);
    for (int i = 0; i < 4; i++) {
        uint8_t addr[16];
        bool present;

        error = get_addr(obj, addr_names[i], family, i < 2 || !gone, addr,
                         &present, x);
        if (error) {
            return error;
        }
        if (present) {
            nfct_set_attr(ct, family == AF_INET ? v4[i] : v6[i], addr);
        }
        if (has_ports(proto)) {
            error = get_u(obj, port_names[i], i < 2 || !gone, UINT16_MAX, &v,
                          x);
            if (error) {
                return error;
            }
            if (doc_member(obj, port_names[i])) {
                nfct_set_attr_u16(ct, ports[i], htons(v));
            }
        }
    }
    if (doc_member(obj, "icmp_type")) {
        uint64_t type, code, id;

        if ((error = get_u(obj, "icmp_type", true, 255, &type, x))
            || (error = get_u(obj, "icmp_code", true, 255, &code, x))
            || (error = get_u(obj, "icmp_id", true, UINT16_MAX, &id, x))) {
            return error;
        }
        nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, type);
        nfct_set_attr_u8(ct, ATTR_ICMP_CODE, code);
        nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(id));
    }
    error = get_u(obj, "zone", false, UINT16_MAX, &v, x);
    if (!error && doc_member(obj, "zone") && v) {
        nfct_set_attr_u16(ct, ATTR_ZONE, v);
    }
    return error;
}

static int
labels_from_json(const struct json *obj, struct nf_conntrack *ct,
                 const struct entry_ctx *x)
{
    const struct json *bits;
    struct nfct_bitmask *b;
    int error = doc_get_array(obj, "labels", false, &bits, x->path, x->err,
                              x->errlen);

    if (error || !bits) {
        return error;
    }
    b = nfct_bitmask_new(LABEL_BITS_MAX);
    for (size_t i = 0; i < bits->array.n; i++) {
        const struct json *bit = bits->array.elems[i];

        if (bit->type != JSON_INTEGER || json_integer(bit) < 0
            || json_integer(bit) > LABEL_BITS_MAX) {
            nfct_bitmask_destroy(b);
            return doc_error(x->err, x->errlen, "%s.labels[%zu]: expected "
                             "a label bit 0..%d", x->path, i, LABEL_BITS_MAX);
        }
        nfct_bitmask_set_bit(b, json_integer(bit));
    }
    nfct_set_attr(ct, ATTR_CONNLABELS, b);
    return 0;
}

static int
nat_from_json(const struct json *obj, struct nf_conntrack *ct,
              const struct entry_ctx *x)
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    uint8_t addr[16];
    uint64_t port;
    bool present;
    int error;

    if ((error = get_addr(obj, "snat", family, false, addr, &present, x))) {
        return error;
    }
    if (present) {
        nfct_set_attr(ct, family == AF_INET ? ATTR_SNAT_IPV4 : ATTR_SNAT_IPV6,
                      addr);
    }
    if ((error = get_addr(obj, "dnat", family, false, addr, &present, x))) {
        return error;
    }
    if (present) {
        nfct_set_attr(ct, family == AF_INET ? ATTR_DNAT_IPV4 : ATTR_DNAT_IPV6,
                      addr);
    }
    if ((error = get_u(obj, "snat_port", false, UINT16_MAX, &port, x))) {
        return error;
    }
    if (doc_member(obj, "snat_port")) {
        nfct_set_attr_u16(ct, ATTR_SNAT_PORT, htons(port));
    }
    if ((error = get_u(obj, "dnat_port", false, UINT16_MAX, &port, x))) {
        return error;
    }
    if (doc_member(obj, "dnat_port")) {
        nfct_set_attr_u16(ct, ATTR_DNAT_PORT, htons(port));
    }
    return 0;
}

static int
state_from_json(const struct json *obj, struct nf_conntrack *ct,
                const struct entry_ctx *x)
{
    uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
    const char *helper = NULL;
    uint64_t v, r;
    int error;

    if ((error = get_u(obj, "state", false, 255, &v, x))) {
        return error;
    }
    if (doc_member(obj, "state")) {
        nfct_set_attr_u8(ct, (proto == IPPROTO_TCP ? ATTR_TCP_STATE
                              : proto == IPPROTO_SCTP ? ATTR_SCTP_STATE
                              : ATTR_DCCP_STATE), v);
    }
    if ((error = get_u(obj, "tcp_flags", false, 255, &v, x))
        || (error = get_u(obj, "tcp_rflags", !!doc_member(obj, "tcp_flags"),
                          255, &r, x))) {
        return error;
    }
    if (doc_member(obj, "tcp_flags")) {
        /* The mask says which flags to take: all of them. */
        nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, v);
        nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, 0xff);
        nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, r);
        nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, 0xff);
    }
    if ((error = get_u(obj, "wscale", false, 255, &v, x))
        || (error = get_u(obj, "rwscale", !!doc_member(obj, "wscale"), 255,
                          &r, x))) {
        return error;
    }
    if (doc_member(obj, "wscale")) {
        nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_ORIG, v);
        nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_REPL, r);
    }
    if ((error = get_u(obj, "status", true, UINT32_MAX, &v, x))) {
        return error;
    }
    nfct_set_attr_u32(ct, ATTR_STATUS, v);
    if ((error = get_u(obj, "mark", false, UINT32_MAX, &v, x))) {
        return error;
    }
    if (doc_member(obj, "mark")) {
        nfct_set_attr_u32(ct, ATTR_MARK, v);
    }
    if ((error = get_u(obj, "timeout", true, UINT32_MAX, &v, x))) {
        return error;
    }
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, v);
    if ((error = doc_get_string(obj, "helper", false, 15, &helper, x->path,
                                x->err, x->errlen))) {
        return error;
    }
    if (helper) {
        nfct_set_attr(ct, ATTR_HELPER_NAME, helper);
    }
    if ((error = labels_from_json(obj, ct, x))) {
        return error;
    }
    return nat_from_json(obj, ct, x);
}

static int
entries_from_json(const struct json *array, bool gone, const char *name,
                  struct ct_table *tab, char *err, size_t errlen)
{
    for (size_t i = 0; i < array->array.n; i++) {
        const struct json *obj = array->array.elems[i];
        struct nf_conntrack *ct;
        char path[64];
        struct entry_ctx x = { path, err, errlen };
        int error;

        doc_path(path, sizeof path, "%s[%zu]", name, i);
        if (obj->type != JSON_OBJECT) {
            return doc_error(err, errlen, "%s: expected an object", path);
        }
        ct = nfct_new();
        error = tuple_from_json(obj, ct, gone, &x);
        if (!error && !gone) {
            error = state_from_json(obj, ct, &x);
        }
        if (error) {
            nfct_destroy(ct);
            return error;
        }
        if (gone) {
            ct_table_add_gone(tab, ct);
        } else {
            ct_table_add(tab, ct);
        }
    }
    return 0;
}

int
ct_table_from_json(const struct json *doc, struct ct_table **tabp,
                   char *err, size_t errlen)
{
    const struct json *entries, *gone;
    struct ct_table *tab;
    bool delta;
    int error;

    *tabp = NULL;
    if ((error = doc_check_header(doc, CT_FORMAT, CT_DOC_VERSION, err,
                                  errlen))
        || (error = doc_get_bool(doc, "delta", true, &delta, "document",
                                 err, errlen))
        || (error = doc_get_array(doc, "entries", true, &entries,
                                  "document", err, errlen))
        || (error = doc_get_array(doc, "gone", true, &gone, "document", err,
                                  errlen))) {
        return error;
    }
    tab = ct_table_create();
    tab->delta = delta;
    error = entries_from_json(entries, false, "entries", tab, err, errlen);
    if (!error) {
        error = entries_from_json(gone, true, "gone", tab, err, errlen);
    }
    if (error) {
        ct_table_destroy(tab);
        return error;
    }
    *tabp = tab;
    return 0;
}
