/* firewall: conntrack entries as a versioned JSON document (README.md).
 *
 * A table: "columns" names the fields once, each entry is an array of
 * values in that order (null or missing at the end: absent), which keeps a
 * hundred thousand entries small and quick to read and write:
 *
 *   {"format": "netmove-conntrack", "version": 1, "delta": false,
 *    "columns": ["family", "proto", "src", "dst", "sport", "dport", ...],
 *    "entries": [["ipv4", 6, "198.18.1.1", "198.18.0.1", 40000, 5001, ...]],
 *    "gone": [...]}
 *
 * The reply tuple ("rsrc", "rdst", "rsport", "rdport") is written only where
 * it is not the original tuple reversed (NAT). */
#include "firewall/firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "firewall/firewall-private.h"

#define CT_FORMAT "netmove-conntrack"
#define LABEL_BITS_MAX 127      /* XT_CONNLABEL_MAXBIT */

/* Columns, most often present first (trailing absent values are left
 * out).  KEY columns identify an entry. */
enum col {
    C_FAMILY, C_PROTO, C_SRC, C_DST, C_SPORT, C_DPORT, C_ZONE,   /* KEY */
    C_ICMP_TYPE, C_ICMP_CODE, C_ICMP_ID,                         /* KEY */
    C_STATUS, C_TIMEOUT, C_STATE, C_TCP_FLAGS, C_TCP_RFLAGS, C_WSCALE,
    C_RWSCALE, C_MARK, C_RSRC, C_RDST, C_RSPORT, C_RDPORT, C_LABELS,
    C_SNAT, C_SNAT_PORT, C_DNAT, C_DNAT_PORT, C_HELPER,
    N_COLS
};
#define N_KEY_COLS (C_ICMP_ID + 1)

static const char *const col_names[N_COLS] = {
    "family", "proto", "src", "dst", "sport", "dport", "zone",
    "icmp_type", "icmp_code", "icmp_id",
    "status", "timeout", "state", "tcp_flags", "tcp_rflags", "wscale",
    "rwscale", "mark", "rsrc", "rdst", "rsport", "rdport", "labels",
    "snat", "snat_port", "dnat", "dnat_port", "helper",
};

static bool
has_ports(uint8_t proto)
{
    return (proto == IPPROTO_TCP || proto == IPPROTO_UDP
            || proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP
            || proto == IPPROTO_DCCP);
}

/* ---- encoding ---- */

static struct json *
addr_json(int family, const void *addr)
{
    char text[INET6_ADDRSTRLEN];

    return (addr && inet_ntop(family, addr, text, sizeof text)
            ? json_string_create(text) : NULL);
}

static struct json *
u_json(long long v)
{
    return json_integer_create(v);
}

static bool
reply_is_reverse(const struct nf_conntrack *ct, bool v4)
{
    size_t len = v4 ? 4 : 16;
    const void *os = nfct_get_attr(ct, v4 ? ATTR_ORIG_IPV4_SRC
                                          : ATTR_ORIG_IPV6_SRC);
    const void *od = nfct_get_attr(ct, v4 ? ATTR_ORIG_IPV4_DST
                                          : ATTR_ORIG_IPV6_DST);
    const void *rs = nfct_get_attr(ct, v4 ? ATTR_REPL_IPV4_SRC
                                          : ATTR_REPL_IPV6_SRC);
    const void *rd = nfct_get_attr(ct, v4 ? ATTR_REPL_IPV4_DST
                                          : ATTR_REPL_IPV6_DST);

    if (!os || !od || !rs || !rd || memcmp(os, rd, len)
        || memcmp(od, rs, len)) {
        return false;
    }
    if (has_ports(nfct_get_attr_u8(ct, ATTR_L4PROTO))) {
        return (nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)
                == nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST)
                && nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)
                == nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
    }
    return true;
}

static void
key_values(const struct nf_conntrack *ct, struct json *v[N_COLS])
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
    bool v4 = family == AF_INET;

    v[C_FAMILY] = json_string_create(v4 ? "ipv4" : "ipv6");
    v[C_PROTO] = u_json(proto);
    v[C_SRC] = addr_json(family, nfct_get_attr(ct, v4 ? ATTR_ORIG_IPV4_SRC
                                                      : ATTR_ORIG_IPV6_SRC));
    v[C_DST] = addr_json(family, nfct_get_attr(ct, v4 ? ATTR_ORIG_IPV4_DST
                                                      : ATTR_ORIG_IPV6_DST));
    if (has_ports(proto)) {
        v[C_SPORT] = u_json(ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)));
        v[C_DPORT] = u_json(ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)));
    }
    v[C_ZONE] = u_json(nfct_attr_is_set(ct, ATTR_ZONE)
                       ? nfct_get_attr_u16(ct, ATTR_ZONE) : 0);
    if (nfct_attr_is_set(ct, ATTR_ICMP_TYPE)) {
        v[C_ICMP_TYPE] = u_json(nfct_get_attr_u8(ct, ATTR_ICMP_TYPE));
        v[C_ICMP_CODE] = u_json(nfct_get_attr_u8(ct, ATTR_ICMP_CODE));
        v[C_ICMP_ID] = u_json(ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID)));
    }
}

static void
state_values(const struct nf_conntrack *ct, struct json *v[N_COLS])
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    bool v4 = family == AF_INET;

    v[C_STATUS] = u_json(nfct_get_attr_u32(ct, ATTR_STATUS));
    if (nfct_attr_is_set(ct, ATTR_TIMEOUT)) {
        v[C_TIMEOUT] = u_json(nfct_get_attr_u32(ct, ATTR_TIMEOUT));
    }
    if (nfct_attr_is_set(ct, ATTR_TCP_STATE)) {
        v[C_STATE] = u_json(nfct_get_attr_u8(ct, ATTR_TCP_STATE));
    } else if (nfct_attr_is_set(ct, ATTR_SCTP_STATE)) {
        v[C_STATE] = u_json(nfct_get_attr_u8(ct, ATTR_SCTP_STATE));
    } else if (nfct_attr_is_set(ct, ATTR_DCCP_STATE)) {
        v[C_STATE] = u_json(nfct_get_attr_u8(ct, ATTR_DCCP_STATE));
    }
    if (nfct_attr_is_set(ct, ATTR_TCP_FLAGS_ORIG)) {
        v[C_TCP_FLAGS] = u_json(nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_ORIG));
        v[C_TCP_RFLAGS] = u_json(nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_REPL));
    }
    if (nfct_attr_is_set(ct, ATTR_TCP_WSCALE_ORIG)) {
        v[C_WSCALE] = u_json(nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_ORIG));
        v[C_RWSCALE] = u_json(nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_REPL));
    }
    if (nfct_attr_is_set(ct, ATTR_MARK) && nfct_get_attr_u32(ct, ATTR_MARK)) {
        v[C_MARK] = u_json(nfct_get_attr_u32(ct, ATTR_MARK));
    }
    if (!reply_is_reverse(ct, v4)) {
        v[C_RSRC] = addr_json(family, nfct_get_attr(ct, v4
                                                        ? ATTR_REPL_IPV4_SRC
                                                        : ATTR_REPL_IPV6_SRC));
        v[C_RDST] = addr_json(family, nfct_get_attr(ct, v4
                                                        ? ATTR_REPL_IPV4_DST
                                                        : ATTR_REPL_IPV6_DST));
        if (has_ports(nfct_get_attr_u8(ct, ATTR_L4PROTO))) {
            v[C_RSPORT] = u_json(ntohs(nfct_get_attr_u16(
                                           ct, ATTR_REPL_PORT_SRC)));
            v[C_RDPORT] = u_json(ntohs(nfct_get_attr_u16(
                                           ct, ATTR_REPL_PORT_DST)));
        }
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
        v[C_LABELS] = bits;
    }
    /* NAT, as conntrackd carries it: the manipulated address and port. */
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_SNAT)) {
        v[C_SNAT] = addr_json(family, nfct_get_attr(ct, v4
                                                        ? ATTR_REPL_IPV4_DST
                                                        : ATTR_REPL_IPV6_DST));
    }
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_SPAT)) {
        v[C_SNAT_PORT] = u_json(ntohs(nfct_get_attr_u16(ct,
                                                        ATTR_REPL_PORT_DST)));
    }
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_DNAT)) {
        v[C_DNAT] = addr_json(family, nfct_get_attr(ct, v4
                                                        ? ATTR_REPL_IPV4_SRC
                                                        : ATTR_REPL_IPV6_SRC));
    }
    if (nfct_getobjopt(ct, NFCT_GOPT_IS_DPAT)) {
        v[C_DNAT_PORT] = u_json(ntohs(nfct_get_attr_u16(ct,
                                                        ATTR_REPL_PORT_SRC)));
    }
    if (nfct_attr_is_set(ct, ATTR_HELPER_NAME)) {
        v[C_HELPER] = json_string_create(nfct_get_attr(ct, ATTR_HELPER_NAME));
    }
}

/* Packs 'v' into an array, absent values as null, trailing ones left out. */
static struct json *
pack(struct json *v[N_COLS])
{
    size_t n = N_COLS;

    while (n > 0 && !v[n - 1]) {
        n--;
    }
    struct json **elems = xmalloc(MAX(n, 1) * sizeof *elems);
    for (size_t i = 0; i < n; i++) {
        elems[i] = v[i] ? v[i] : json_null_create();
    }
    return json_array_create(elems, n);
}

struct json *
ct_entry_to_json(const struct nf_conntrack *ct, bool key_only, bool timeout)
{
    struct json *v[N_COLS] = { NULL };

    key_values(ct, v);
    if (!key_only) {
        state_values(ct, v);
        if (!timeout) {
            json_destroy(v[C_TIMEOUT]);
            v[C_TIMEOUT] = NULL;
        }
    }
    return pack(v);
}

struct json *
ct_table_to_json(const struct ct_table *tab)
{
    struct json *doc = json_object_create();
    struct json *entries = json_array_create_empty();
    struct json *gone = json_array_create_empty();
    struct json *cols = json_array_create_empty();

    for (size_t i = 0; i < N_COLS; i++) {
        json_array_add(cols, json_string_create(col_names[i]));
    }
    json_object_put_string(doc, "format", CT_FORMAT);
    json_object_put(doc, "version", json_integer_create(CT_DOC_VERSION));
    json_object_put(doc, "delta", json_boolean_create(tab->delta));
    json_object_put(doc, "columns", cols);
    for (size_t i = 0; i < tab->n; i++) {
        const struct ct_entry *e = &tab->entries[i];

        json_array_add(e->gone ? gone : entries,
                       ct_entry_to_json(e->ct, e->gone, true));
    }
    json_object_put(doc, "entries", entries);
    json_object_put(doc, "gone", gone);
    return doc;
}

/* ---- decoding ---- */

struct entry_ctx {
    const struct json *v[N_COLS];   /* NULL: absent or null. */
    const char *path;
    char *err;
    size_t errlen;
};

static int
col_error(const struct entry_ctx *x, enum col c, const char *what)
{
    return doc_error(x->err, x->errlen, "%s.%s: %s", x->path, col_names[c],
                     what);
}

static int
get_u(const struct entry_ctx *x, enum col c, bool required, uint64_t max,
      uint64_t *out)
{
    const struct json *v = x->v[c];

    if (!v) {
        return required ? col_error(x, c, "missing") : 0;
    }
    if (v->type != JSON_INTEGER || json_integer(v) < 0
        || (uint64_t) json_integer(v) > max) {
        char what[64];

        snprintf(what, sizeof what, "expected an integer 0..%llu",
                 (unsigned long long) max);
        return col_error(x, c, what);
    }
    *out = json_integer(v);
    return 0;
}

static int
get_addr(const struct entry_ctx *x, enum col c, int family, uint8_t *out)
{
    const struct json *v = x->v[c];

    if (!v || v->type != JSON_STRING
        || inet_pton(family, json_string(v), out) != 1) {
        return col_error(x, c, family == AF_INET ? "expected an IPv4 address"
                                                 : "expected an IPv6 address");
    }
    return 0;
}

static int
tuple_from_json(struct entry_ctx *x, struct nf_conntrack *ct, bool gone)
{
    static const int v4[] = { ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV4_DST,
                              ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV4_DST };
    static const int v6[] = { ATTR_ORIG_IPV6_SRC, ATTR_ORIG_IPV6_DST,
                              ATTR_REPL_IPV6_SRC, ATTR_REPL_IPV6_DST };
    static const int ports[] = { ATTR_ORIG_PORT_SRC, ATTR_ORIG_PORT_DST,
                                 ATTR_REPL_PORT_SRC, ATTR_REPL_PORT_DST };
    /* Where each tuple field comes from if the reply tuple is left out. */
    static const enum col addr_cols[] = { C_SRC, C_DST, C_RSRC, C_RDST };
    static const enum col port_cols[] = { C_SPORT, C_DPORT, C_RSPORT,
                                          C_RDPORT };
    static const enum col reversed[] = { C_SRC, C_DST, C_DST, C_SRC };
    static const enum col reversed_ports[] = { C_SPORT, C_DPORT, C_DPORT,
                                               C_SPORT };
    const struct json *fam = x->v[C_FAMILY];
    uint64_t proto, v;
    int family, error;

    if (!fam || fam->type != JSON_STRING
        || (strcmp(json_string(fam), "ipv4")
            && strcmp(json_string(fam), "ipv6"))) {
        return col_error(x, C_FAMILY, "expected \"ipv4\" or \"ipv6\"");
    }
    family = !strcmp(json_string(fam), "ipv4") ? AF_INET : AF_INET6;
    if ((error = get_u(x, C_PROTO, true, 255, &proto))) {
        return error;
    }
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, family);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, family);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, proto);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, proto);

    bool reply = x->v[C_RSRC] || x->v[C_RDST];
    for (int i = 0; i < (gone ? 2 : 4); i++) {
        enum col ac = reply || i < 2 ? addr_cols[i] : reversed[i];
        enum col pc = reply || i < 2 ? port_cols[i] : reversed_ports[i];
        uint8_t addr[16];

        if ((error = get_addr(x, ac, family, addr))) {
            return error;
        }
        nfct_set_attr(ct, family == AF_INET ? v4[i] : v6[i], addr);
        if (has_ports(proto)) {
            if ((error = get_u(x, pc, true, UINT16_MAX, &v))) {
                return error;
            }
            nfct_set_attr_u16(ct, ports[i], htons(v));
        }
    }
    if (x->v[C_ICMP_TYPE]) {
        uint64_t type, code, id;

        if ((error = get_u(x, C_ICMP_TYPE, true, 255, &type))
            || (error = get_u(x, C_ICMP_CODE, true, 255, &code))
            || (error = get_u(x, C_ICMP_ID, true, UINT16_MAX, &id))) {
            return error;
        }
        nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, type);
        nfct_set_attr_u8(ct, ATTR_ICMP_CODE, code);
        nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(id));
    }
    v = 0;
    error = get_u(x, C_ZONE, false, UINT16_MAX, &v);
    if (!error && v) {
        nfct_set_attr_u16(ct, ATTR_ZONE, v);
    }
    return error;
}

static int
labels_from_json(const struct entry_ctx *x, struct nf_conntrack *ct)
{
    const struct json *bits = x->v[C_LABELS];
    struct nfct_bitmask *b;

    if (!bits) {
        return 0;
    }
    if (bits->type != JSON_ARRAY) {
        return col_error(x, C_LABELS, "expected an array of label bits");
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
nat_from_json(const struct entry_ctx *x, struct nf_conntrack *ct)
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    uint8_t addr[16];
    uint64_t port;
    int error;

    if (x->v[C_SNAT]) {
        if ((error = get_addr(x, C_SNAT, family, addr))) {
            return error;
        }
        nfct_set_attr(ct, family == AF_INET ? ATTR_SNAT_IPV4 : ATTR_SNAT_IPV6,
                      addr);
    }
    if (x->v[C_DNAT]) {
        if ((error = get_addr(x, C_DNAT, family, addr))) {
            return error;
        }
        nfct_set_attr(ct, family == AF_INET ? ATTR_DNAT_IPV4 : ATTR_DNAT_IPV6,
                      addr);
    }
    if (x->v[C_SNAT_PORT]) {
        if ((error = get_u(x, C_SNAT_PORT, true, UINT16_MAX, &port))) {
            return error;
        }
        nfct_set_attr_u16(ct, ATTR_SNAT_PORT, htons(port));
    }
    if (x->v[C_DNAT_PORT]) {
        if ((error = get_u(x, C_DNAT_PORT, true, UINT16_MAX, &port))) {
            return error;
        }
        nfct_set_attr_u16(ct, ATTR_DNAT_PORT, htons(port));
    }
    return 0;
}

static int
state_from_json(const struct entry_ctx *x, struct nf_conntrack *ct)
{
    uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
    uint64_t v, r;
    int error;

    if ((error = get_u(x, C_STATUS, true, UINT32_MAX, &v))) {
        return error;
    }
    nfct_set_attr_u32(ct, ATTR_STATUS, v);
    if ((error = get_u(x, C_TIMEOUT, true, UINT32_MAX, &v))) {
        return error;
    }
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, v);
    if (x->v[C_STATE]) {
        if ((error = get_u(x, C_STATE, true, 255, &v))) {
            return error;
        }
        nfct_set_attr_u8(ct, (proto == IPPROTO_TCP ? ATTR_TCP_STATE
                              : proto == IPPROTO_SCTP ? ATTR_SCTP_STATE
                              : ATTR_DCCP_STATE), v);
    }
    if (x->v[C_TCP_FLAGS]) {
        if ((error = get_u(x, C_TCP_FLAGS, true, 255, &v))
            || (error = get_u(x, C_TCP_RFLAGS, true, 255, &r))) {
            return error;
        }
        /* The mask says which flags to take: all of them. */
        nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, v);
        nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, 0xff);
        nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, r);
        nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, 0xff);
    }
    if (x->v[C_WSCALE]) {
        if ((error = get_u(x, C_WSCALE, true, 255, &v))
            || (error = get_u(x, C_RWSCALE, true, 255, &r))) {
            return error;
        }
        nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_ORIG, v);
        nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_REPL, r);
    }
    v = 0;
    if ((error = get_u(x, C_MARK, false, UINT32_MAX, &v))) {
        return error;
    }
    nfct_set_attr_u32(ct, ATTR_MARK, v);
    if (x->v[C_HELPER]) {
        const struct json *h = x->v[C_HELPER];

        if (h->type != JSON_STRING || strlen(json_string(h)) > 15) {
            return col_error(x, C_HELPER, "expected a helper name");
        }
        nfct_set_attr(ct, ATTR_HELPER_NAME, json_string(h));
    }
    if ((error = labels_from_json(x, ct))) {
        return error;
    }
    return nat_from_json(x, ct);
}

/* Maps the document's "columns" to ours: 'map'[i] is the column of the
 * document's i-th value. */
static int
read_columns(const struct json *doc, enum col **mapp, size_t *n_map,
             char *err, size_t errlen)
{
    const struct json *cols;
    int error = doc_get_array(doc, "columns", true, &cols, "document", err,
                              errlen);

    if (error) {
        return error;
    }
    *n_map = cols->array.n;
    *mapp = xmalloc(MAX(cols->array.n, 1) * sizeof **mapp);
    for (size_t i = 0; i < cols->array.n; i++) {
        const struct json *name = cols->array.elems[i];
        size_t c;

        for (c = 0; c < N_COLS; c++) {
            if (name->type == JSON_STRING
                && !strcmp(json_string(name), col_names[c])) {
                break;
            }
        }
        if (c == N_COLS) {
            free(*mapp);
            return doc_error(err, errlen, "document.columns[%zu]: unknown "
                             "column", i);
        }
        (*mapp)[i] = c;
    }
    return 0;
}

static int
entries_from_json(const struct json *array, bool gone, const char *name,
                  const enum col *map, size_t n_map, struct ct_table *tab,
                  char *err, size_t errlen)
{
    for (size_t i = 0; i < array->array.n; i++) {
        const struct json *row = array->array.elems[i];
        struct entry_ctx x;
        struct nf_conntrack *ct;
        char path[64];
        int error;

        doc_path(path, sizeof path, "%s[%zu]", name, i);
        if (row->type != JSON_ARRAY || row->array.n > n_map) {
            return doc_error(err, errlen, "%s: expected an array of at most "
                             "%zu values", path, n_map);
        }
        memset(&x, 0, sizeof x);
        x.path = path;
        x.err = err;
        x.errlen = errlen;
        for (size_t j = 0; j < row->array.n; j++) {
            const struct json *v = row->array.elems[j];

            x.v[map[j]] = v->type == JSON_NULL ? NULL : v;
        }
        ct = nfct_new();
        error = tuple_from_json(&x, ct, gone);
        if (!error && !gone) {
            error = state_from_json(&x, ct);
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
    enum col *map;
    size_t n_map;
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
                                  errlen))
        || (error = read_columns(doc, &map, &n_map, err, errlen))) {
        return error;
    }
    tab = ct_table_create();
    tab->delta = delta;
    error = entries_from_json(entries, false, "entries", map, n_map, tab,
                              err, errlen);
    if (!error) {
        error = entries_from_json(gone, true, "gone", map, n_map, tab, err,
                                  errlen);
    }
    free(map);
    if (error) {
        ct_table_destroy(tab);
        return error;
    }
    *tabp = tab;
    return 0;
}
