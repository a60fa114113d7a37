/* firewall: what identifies a conntrack entry, when two copies agree, and
 * the delta between two exports (netmove ct export --since). */
#include "firewall/firewall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "firewall/firewall-private.h"

#define LABEL_BITS_MAX 127      /* XT_CONNLABEL_MAXBIT */

/* ---- identity and comparison ---- */

/* The attributes a document carries, with their sizes: what identifies an
 * entry (KEY) and what else two copies must agree on.  An unset attribute
 * counts as zero, as a document leaves zeros out. */
static const struct ct_attr {
    int attr;
    uint8_t size;
    bool key;
} ct_attrs[] = {
    { ATTR_L3PROTO, 1, true }, { ATTR_L4PROTO, 1, true },
    { ATTR_ORIG_IPV4_SRC, 4, true }, { ATTR_ORIG_IPV4_DST, 4, true },
    { ATTR_ORIG_IPV6_SRC, 16, true }, { ATTR_ORIG_IPV6_DST, 16, true },
    { ATTR_ORIG_PORT_SRC, 2, true }, { ATTR_ORIG_PORT_DST, 2, true },
    { ATTR_ICMP_TYPE, 1, true }, { ATTR_ICMP_CODE, 1, true },
    { ATTR_ICMP_ID, 2, true }, { ATTR_ZONE, 2, true },
    { ATTR_REPL_IPV4_SRC, 4, false }, { ATTR_REPL_IPV4_DST, 4, false },
    { ATTR_REPL_IPV6_SRC, 16, false }, { ATTR_REPL_IPV6_DST, 16, false },
    { ATTR_REPL_PORT_SRC, 2, false }, { ATTR_REPL_PORT_DST, 2, false },
    { ATTR_STATUS, 4, false }, { ATTR_TCP_STATE, 1, false },
    { ATTR_SCTP_STATE, 1, false }, { ATTR_DCCP_STATE, 1, false },
    { ATTR_TCP_FLAGS_ORIG, 1, false }, { ATTR_TCP_FLAGS_REPL, 1, false },
    { ATTR_TCP_WSCALE_ORIG, 1, false }, { ATTR_TCP_WSCALE_REPL, 1, false },
    { ATTR_MARK, 4, false },
};

static const void *
attr_bytes(const struct nf_conntrack *ct, const struct ct_attr *a)
{
    static const uint8_t zeros[16];
    const void *v = nfct_get_attr(ct, a->attr);

    return v ? v : zeros;
}

/* A string key that identifies an entry: family, protocol, original tuple,
 * zone.  Malloc'd. */
char *
ct_entry_key(const struct nf_conntrack *ct)
{
    uint8_t key[64];
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_SIZE(ct_attrs); i++) {
        if (ct_attrs[i].key) {
            memcpy(key + n, attr_bytes(ct, &ct_attrs[i]), ct_attrs[i].size);
            n += ct_attrs[i].size;
        }
    }
    return fw_hex_encode(key, n);
}

static bool
same_labels(const struct nf_conntrack *a, const struct nf_conntrack *b)
{
    const struct nfct_bitmask *la = nfct_get_attr(a, ATTR_CONNLABELS);
    const struct nfct_bitmask *lb = nfct_get_attr(b, ATTR_CONNLABELS);
    unsigned int max = MAX(la ? nfct_bitmask_maxbit(la) : 0,
                           lb ? nfct_bitmask_maxbit(lb) : 0);

    for (unsigned int i = 0; i <= max && i <= LABEL_BITS_MAX; i++) {
        bool ba = la && i <= nfct_bitmask_maxbit(la)
                  && nfct_bitmask_test_bit(la, i);
        bool bb = lb && i <= nfct_bitmask_maxbit(lb)
                  && nfct_bitmask_test_bit(lb, i);
        if (ba != bb) {
            return false;
        }
    }
    return true;
}

static bool
same_entry(const struct nf_conntrack *a, const struct nf_conntrack *b,
           bool timeouts)
{
    const char *ha, *hb;

    for (size_t i = 0; i < ARRAY_SIZE(ct_attrs); i++) {
        if (memcmp(attr_bytes(a, &ct_attrs[i]), attr_bytes(b, &ct_attrs[i]),
                   ct_attrs[i].size)) {
            return false;
        }
    }
    if (timeouts && (nfct_get_attr_u32(a, ATTR_TIMEOUT)
                     != nfct_get_attr_u32(b, ATTR_TIMEOUT))) {
        return false;
    }
    ha = nfct_get_attr(a, ATTR_HELPER_NAME);
    hb = nfct_get_attr(b, ATTR_HELPER_NAME);
    if (!ha != !hb || (ha && strcmp(ha, hb))) {
        return false;
    }
    return same_labels(a, b);
}

static char *
entry_string(const struct nf_conntrack *ct, bool timeout)
{
    struct json *array = ct_entry_to_json(ct, false, timeout);
    char *s = json_to_string(array, 0);

    json_destroy(array);
    return s;
}

bool
ct_entry_equal(const struct nf_conntrack *a, const struct nf_conntrack *b,
               bool timeouts, char *why, size_t whylen)
{
    if (same_entry(a, b, timeouts)) {
        return true;
    }
    if (why) {
        char *sa = entry_string(a, timeouts), *sb = entry_string(b, timeouts);

        doc_error(why, whylen, "%s differs from %s", sa, sb);
        free(sa);
        free(sb);
    }
    return false;
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
        const struct nf_conntrack *old;
        char *key;

        if (cur->entries[i].gone) {
            continue;
        }
        key = ct_entry_key(ct);
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


void
ct_table_apply(struct ct_table *base, const struct ct_table *delta)
{
    struct shash by_key;        /* Key -> index in 'base' + 1. */
    size_t k = 0;

    shash_init(&by_key);
    for (size_t i = 0; i < base->n; i++) {
        if (!base->entries[i].gone) {
            shash_replace_nocopy(&by_key, ct_entry_key(base->entries[i].ct),
                                 (void *) (uintptr_t) (i + 1));
        }
    }
    for (size_t i = 0; i < delta->n; i++) {
        const struct ct_entry *d = &delta->entries[i];
        char *key = ct_entry_key(d->ct);
        uintptr_t at = (uintptr_t) shash_find_data(&by_key, key);

        if (at) {
            struct ct_entry *e = &base->entries[at - 1];

            if (e->ct) {
                nfct_destroy(e->ct);
            }
            /* A removed entry keeps its slot until the end, ct NULL. */
            e->ct = d->gone ? NULL : nfct_clone(d->ct);
            free(key);
        } else if (!d->gone) {
            ct_table_add(base, nfct_clone(d->ct));
            shash_replace_nocopy(&by_key, key, (void *) (uintptr_t) base->n);
        } else {
            free(key);
        }
    }
    shash_destroy(&by_key);
    for (size_t i = 0; i < base->n; i++) {
        if (base->entries[i].ct) {
            base->entries[k++] = base->entries[i];
        }
    }
    base->n = k;
}
