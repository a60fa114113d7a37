/* firewall: interface names rewritten for the destination host
 * (--rename OLD=NEW), wherever a rule compares them. */
#include "firewall/firewall.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "util.h"

#include "firewall/firewall-private.h"

/* nftables' datatype ids (src/datatype.h): concatenations pack 6 bits per
 * field, first field highest. */
#define NFT_TYPE_IFNAME 41
#define NFT_TYPE_BITS 6

/* Sizes in bytes of the datatypes that may share a concatenation with an
 * ifname (nftables' datatype table); 0 where unknown. */
static size_t
datatype_size(uint32_t type)
{
    static const uint8_t sizes[] = {
        [1] = 4, [2] = 1, [7] = 4, [8] = 16, [9] = 6, [10] = 2, [11] = 2,
        [12] = 1, [13] = 2, [14] = 1, [15] = 1, [16] = 1, [17] = 1, [18] = 8,
        [19] = 4, [20] = 4, [21] = 2, [22] = 4, [23] = 4, [24] = 4, [25] = 4,
        [26] = 4, [27] = 1, [28] = 4, [29] = 1, [30] = 16, [31] = 1,
        [32] = 1, [33] = 1, [34] = 1, [35] = 4, [36] = 1, [37] = 1,
        [38] = 4, [39] = 1, [40] = 4, [41] = 16,
    };
    return type < ARRAY_SIZE(sizes) ? sizes[type] : 0;
}

struct rename {
    char from[IFNAMSIZ], to[IFNAMSIZ];
    int count;
};

/* Rewrites the NUL-padded name in the 'len' bytes at 'p'. */
static void
rename_field(struct rename *rn, uint8_t *p, size_t len)
{
    size_t flen = strlen(rn->from);

    if (len >= IFNAMSIZ && !memcmp(p, rn->from, flen) && !p[flen]) {
        memset(p, 0, len);
        memcpy(p, rn->to, strlen(rn->to));
        rn->count++;
    }
}

/* Calls rename_field() on every ifname field of a key of type 'type' held
 * in 'buf' ('len' bytes). */
static void
rename_typed(struct rename *rn, uint32_t type, uint8_t *buf, size_t len)
{
    uint32_t fields[6];
    size_t n = 0, off = 0;

    if (type == NFT_TYPE_IFNAME) {
        rename_field(rn, buf, len);
        return;
    }
    for (uint32_t t = type; t && n < ARRAY_SIZE(fields);
         t >>= NFT_TYPE_BITS) {
        fields[n++] = t & ((1u << NFT_TYPE_BITS) - 1);
    }
    for (size_t i = n; i-- > 0;) {
        size_t size = datatype_size(fields[i]);

        if (!size) {
            return;     /* A field we cannot measure: leave it all. */
        }
        size = ROUND_UP(size, 4);
        if (off + size > len) {
            return;
        }
        if (fields[i] == NFT_TYPE_IFNAME) {
            rename_field(rn, buf + off, size);
        }
        off += size;
    }
}

static bool
has_ifname(uint32_t type)
{
    for (uint32_t t = type; t; t >>= NFT_TYPE_BITS) {
        if ((t & ((1u << NFT_TYPE_BITS) - 1)) == NFT_TYPE_IFNAME) {
            return true;
        }
    }
    return false;
}

struct elem_rename {
    struct rename *rn;
    uint32_t key_type, data_type;
};

static void
rename_elem_attr(struct elem_rename *er, struct nftnl_set_elem *e,
                 uint16_t attr, uint32_t type)
{
    uint8_t buf[64];
    const void *data;
    uint32_t len = 0;
    int before = er->rn->count;

    if (!nftnl_set_elem_is_set(e, attr) || !has_ifname(type)) {
        return;
    }
    data = nftnl_set_elem_get(e, attr, &len);
    if (!data || len > sizeof buf) {
        return;
    }
    memcpy(buf, data, len);
    rename_typed(er->rn, type, buf, len);
    if (er->rn->count != before) {
        nftnl_set_elem_set(e, attr, buf, len);
    }
}

static int
rename_elem(struct nftnl_set_elem *e, void *er_)
{
    struct elem_rename *er = er_;

    rename_elem_attr(er, e, NFTNL_SET_ELEM_KEY, er->key_type);
    rename_elem_attr(er, e, NFTNL_SET_ELEM_KEY_END, er->key_type);
    rename_elem_attr(er, e, NFTNL_SET_ELEM_DATA, er->data_type);
    return 0;
}

static bool
is_ifname_meta(uint32_t key)
{
    return (key == NFT_META_IIFNAME || key == NFT_META_OIFNAME
            || key == NFT_META_BRI_IIFNAME || key == NFT_META_BRI_OIFNAME);
}

/* meta load iifname => reg 1 ; cmp eq reg 1 "OLD" */
static void
rename_rule(struct rename *rn, struct nftnl_rule *r)
{
    struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
    bool ifname_in[64] = { false };
    struct nftnl_expr *e;

    while ((e = nftnl_expr_iter_next(it))) {
        const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

        if (!strcmp(kind, "meta")
            && nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG)) {
            uint32_t reg = nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG);

            if (reg < ARRAY_SIZE(ifname_in)) {
                ifname_in[reg] = is_ifname_meta(
                    nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY));
            }
        } else if (!strcmp(kind, "cmp")) {
            uint32_t reg = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG);
            uint32_t len = 0;
            const void *data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
            uint8_t buf[64];
            int before = rn->count;

            if (reg < ARRAY_SIZE(ifname_in) && ifname_in[reg] && data
                && len <= sizeof buf) {
                memcpy(buf, data, len);
                rename_field(rn, buf, len);
                if (rn->count != before) {
                    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, buf, len);
                }
            }
        }
    }
    nftnl_expr_iter_destroy(it);
}

static void
rename_chain(struct rename *rn, struct nftnl_chain *c)
{
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEV)
        && !strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_DEV), rn->from)) {
        nftnl_chain_set_str(c, NFTNL_CHAIN_DEV, rn->to);
        rn->count++;
    }
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES)) {
        const char *const *devs = nftnl_chain_get_array(c,
                                                        NFTNL_CHAIN_DEVICES);
        size_t n = 0;
        bool hit = false;

        while (devs[n]) {
            hit |= !strcmp(devs[n++], rn->from);
        }
        if (hit) {
            const char **copy = xcalloc(n + 1, sizeof *copy);
            for (size_t i = 0; i < n; i++) {
                copy[i] = (!strcmp(devs[i], rn->from) ? rn->to
                           : xstrdup(devs[i]));
            }
            nftnl_chain_set_array(c, NFTNL_CHAIN_DEVICES, copy);
            for (size_t i = 0; i < n; i++) {
                if (copy[i] != rn->to) {
                    free((char *) copy[i]);
                }
            }
            free(copy);
            rn->count++;
        }
    }
}

bool
fw_ifname_valid(const char *name)
{
    return *name && strlen(name) < IFNAMSIZ && !strchr(name, '/')
           && !strpbrk(name, " \t\n");
}

int
fw_ruleset_rename(struct fw_ruleset *rs, const char *from, const char *to,
                  char *err, size_t errlen)
{
    struct rename rn;
    struct fw_table *t;

    if (!fw_ifname_valid(from)) {
        return doc_error(err, errlen, "--rename: \"%s\" is not an interface "
                         "name (1 to %d characters)", from, IFNAMSIZ - 1);
    }
    if (!fw_ifname_valid(to)) {
        return doc_error(err, errlen, "--rename: \"%s\" is not an interface "
                         "name (1 to %d characters)", to, IFNAMSIZ - 1);
    }
    memset(&rn, 0, sizeof rn);
    strcpy(rn.from, from);
    strcpy(rn.to, to);
    LIST_FOR_EACH (t, node, &rs->tables) {
        struct fw_chain *c;
        struct fw_set *s;
        struct fw_rule *r;

        LIST_FOR_EACH (c, node, &t->chains) {
            rename_chain(&rn, c->c);
        }
        LIST_FOR_EACH (s, node, &t->sets) {
            struct elem_rename er = {
                &rn,
                nftnl_set_get_u32(s->s, NFTNL_SET_KEY_TYPE),
                (nftnl_set_is_set(s->s, NFTNL_SET_DATA_TYPE)
                 ? nftnl_set_get_u32(s->s, NFTNL_SET_DATA_TYPE) : 0),
            };
            nftnl_set_elem_foreach(s->s, rename_elem, &er);
        }
        LIST_FOR_EACH (r, node, &t->rules) {
            rename_rule(&rn, r->r);
        }
    }
    return rn.count;
}
