/* firewall: the attributes each expression kind may have.
 *
 * libnftnl's nftnl_expr_set() stores whatever attribute it is given, with
 * whatever length, into the expression's private struct, and some kinds
 * keep several attributes in the same memory: immediate's DATA shares
 * memory with VERDICT and CHAIN (union nftnl_data_reg), so DATA bytes
 * "fdffffff" then 8 bytes read as "jump to the chain at that address",
 * which nftnl_expr_free() frees.  Data registers are copied with the length
 * given (64 bytes fit); match and target take ownership of the INFO pointer
 * they are given.  A document is someone else's input, so an expression is
 * built only from attributes its kind has, of the class libnftnl expects,
 * in combinations that do not overlap: checked before the first attribute
 * is set, and every attribute read back after each one is set. */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>

#include "util.h"

enum attr_class {
    A_FIX,      /* Fixed size: libnftnl copies its own size; read back. */
    A_STR,      /* A NUL-terminated name, strdup()ed by libnftnl. */
    A_DATA,     /* A data register: 1..NFT_DATA_VALUE_MAXLEN bytes. */
    A_BLOB,     /* Bytes whose pointer libnftnl keeps and frees. */
};

struct attr_spec {
    uint8_t type;
    uint8_t class;
    const char *name;
};

#define KIND_ATTRS_MAX 10

struct kind_spec {
    const char *kind;
    struct attr_spec attrs[KIND_ATTRS_MAX];
};

#define A(TYPE, CLASS, NAME) { NFTNL_EXPR_##TYPE, A_##CLASS, NAME }

/* libnftnl 1.2's kinds and attributes (libnftnl/expr.h); dynset's nested
 * expressions are "exprs", not attributes. Deprecated attributes that
 * libnftnl refuses (numgen's and hash's set name and id) are left out. */
static const struct kind_spec kinds[] = {
    { "bitwise", { A(BITWISE_SREG, FIX, "sreg"), A(BITWISE_DREG, FIX, "dreg"),
                   A(BITWISE_LEN, FIX, "len"), A(BITWISE_MASK, DATA, "mask"),
                   A(BITWISE_XOR, DATA, "xor"), A(BITWISE_OP, FIX, "op"),
                   A(BITWISE_DATA, DATA, "data") } },
    { "byteorder", { A(BYTEORDER_DREG, FIX, "dreg"),
                     A(BYTEORDER_SREG, FIX, "sreg"),
                     A(BYTEORDER_OP, FIX, "op"), A(BYTEORDER_LEN, FIX, "len"),
                     A(BYTEORDER_SIZE, FIX, "size") } },
    { "cmp", { A(CMP_SREG, FIX, "sreg"), A(CMP_OP, FIX, "op"),
               A(CMP_DATA, DATA, "data") } },
    { "connlimit", { A(CONNLIMIT_COUNT, FIX, "count"),
                     A(CONNLIMIT_FLAGS, FIX, "flags") } },
    { "counter", { A(CTR_PACKETS, FIX, "packets"),
                   A(CTR_BYTES, FIX, "bytes") } },
    { "ct", { A(CT_DREG, FIX, "dreg"), A(CT_KEY, FIX, "key"),
              A(CT_DIR, FIX, "dir"), A(CT_SREG, FIX, "sreg") } },
    { "dup", { A(DUP_SREG_ADDR, FIX, "sreg_addr"),
               A(DUP_SREG_DEV, FIX, "sreg_dev") } },
    { "dynset", { A(DYNSET_SREG_KEY, FIX, "sreg_key"),
                  A(DYNSET_SREG_DATA, FIX, "sreg_data"),
                  A(DYNSET_OP, FIX, "op"), A(DYNSET_TIMEOUT, FIX, "timeout"),
                  A(DYNSET_SET_NAME, STR, "set_name"),
                  A(DYNSET_SET_ID, FIX, "set_id"),
                  A(DYNSET_FLAGS, FIX, "flags") } },
    { "exthdr", { A(EXTHDR_DREG, FIX, "dreg"), A(EXTHDR_TYPE, FIX, "type"),
                  A(EXTHDR_OFFSET, FIX, "offset"), A(EXTHDR_LEN, FIX, "len"),
                  A(EXTHDR_FLAGS, FIX, "flags"), A(EXTHDR_OP, FIX, "op"),
                  A(EXTHDR_SREG, FIX, "sreg") } },
    { "fib", { A(FIB_DREG, FIX, "dreg"), A(FIB_RESULT, FIX, "result"),
               A(FIB_FLAGS, FIX, "flags") } },
    { "flow_offload", { A(FLOW_TABLE_NAME, STR, "table_name") } },
    { "fwd", { A(FWD_SREG_DEV, FIX, "sreg_dev"),
               A(FWD_SREG_ADDR, FIX, "sreg_addr"),
               A(FWD_NFPROTO, FIX, "nfproto") } },
    { "hash", { A(HASH_SREG, FIX, "sreg"), A(HASH_DREG, FIX, "dreg"),
                A(HASH_LEN, FIX, "len"), A(HASH_MODULUS, FIX, "modulus"),
                A(HASH_SEED, FIX, "seed"), A(HASH_OFFSET, FIX, "offset"),
                A(HASH_TYPE, FIX, "type") } },
    { "immediate", { A(IMM_DREG, FIX, "dreg"), A(IMM_DATA, DATA, "data"),
                     A(IMM_VERDICT, FIX, "verdict"),
                     A(IMM_CHAIN, STR, "chain"),
                     A(IMM_CHAIN_ID, FIX, "chain_id") } },
    { "last", { A(LAST_MSECS, FIX, "msecs"), A(LAST_SET, FIX, "set") } },
    { "limit", { A(LIMIT_RATE, FIX, "rate"), A(LIMIT_UNIT, FIX, "unit"),
                 A(LIMIT_BURST, FIX, "burst"), A(LIMIT_TYPE, FIX, "type"),
                 A(LIMIT_FLAGS, FIX, "flags") } },
    { "log", { A(LOG_PREFIX, STR, "prefix"), A(LOG_GROUP, FIX, "group"),
               A(LOG_SNAPLEN, FIX, "snaplen"),
               A(LOG_QTHRESHOLD, FIX, "qthreshold"),
               A(LOG_LEVEL, FIX, "level"), A(LOG_FLAGS, FIX, "flags") } },
    { "lookup", { A(LOOKUP_SREG, FIX, "sreg"), A(LOOKUP_DREG, FIX, "dreg"),
                  A(LOOKUP_SET, STR, "set"), A(LOOKUP_SET_ID, FIX, "set_id"),
                  A(LOOKUP_FLAGS, FIX, "flags") } },
    { "masq", { A(MASQ_FLAGS, FIX, "flags"),
                A(MASQ_REG_PROTO_MIN, FIX, "reg_proto_min"),
                A(MASQ_REG_PROTO_MAX, FIX, "reg_proto_max") } },
    { "match", { A(MT_NAME, FIX, "name"), A(MT_REV, FIX, "rev"),
                 A(MT_INFO, BLOB, "info") } },
    { "meta", { A(META_KEY, FIX, "key"), A(META_DREG, FIX, "dreg"),
                A(META_SREG, FIX, "sreg") } },
    { "nat", { A(NAT_TYPE, FIX, "type"), A(NAT_FAMILY, FIX, "family"),
               A(NAT_REG_ADDR_MIN, FIX, "reg_addr_min"),
               A(NAT_REG_ADDR_MAX, FIX, "reg_addr_max"),
               A(NAT_REG_PROTO_MIN, FIX, "reg_proto_min"),
               A(NAT_REG_PROTO_MAX, FIX, "reg_proto_max"),
               A(NAT_FLAGS, FIX, "flags") } },
    { "numgen", { A(NG_DREG, FIX, "dreg"), A(NG_MODULUS, FIX, "modulus"),
                  A(NG_TYPE, FIX, "type"), A(NG_OFFSET, FIX, "offset") } },
    { "objref", { A(OBJREF_IMM_TYPE, FIX, "imm_type"),
                  A(OBJREF_IMM_NAME, STR, "imm_name"),
                  A(OBJREF_SET_SREG, FIX, "set_sreg"),
                  A(OBJREF_SET_NAME, STR, "set_name"),
                  A(OBJREF_SET_ID, FIX, "set_id") } },
    { "osf", { A(OSF_DREG, FIX, "dreg"), A(OSF_TTL, FIX, "ttl"),
               A(OSF_FLAGS, FIX, "flags") } },
    { "payload", { A(PAYLOAD_DREG, FIX, "dreg"), A(PAYLOAD_BASE, FIX, "base"),
                   A(PAYLOAD_OFFSET, FIX, "offset"),
                   A(PAYLOAD_LEN, FIX, "len"), A(PAYLOAD_SREG, FIX, "sreg"),
                   A(PAYLOAD_CSUM_TYPE, FIX, "csum_type"),
                   A(PAYLOAD_CSUM_OFFSET, FIX, "csum_offset"),
                   A(PAYLOAD_FLAGS, FIX, "flags") } },
    { "queue", { A(QUEUE_NUM, FIX, "num"), A(QUEUE_TOTAL, FIX, "total"),
                 A(QUEUE_FLAGS, FIX, "flags"),
                 A(QUEUE_SREG_QNUM, FIX, "sreg_qnum") } },
    { "quota", { A(QUOTA_BYTES, FIX, "bytes"), A(QUOTA_FLAGS, FIX, "flags"),
                 A(QUOTA_CONSUMED, FIX, "consumed") } },
    { "range", { A(RANGE_SREG, FIX, "sreg"), A(RANGE_OP, FIX, "op"),
                 A(RANGE_FROM_DATA, DATA, "from_data"),
                 A(RANGE_TO_DATA, DATA, "to_data") } },
    { "redir", { A(REDIR_REG_PROTO_MIN, FIX, "reg_proto_min"),
                 A(REDIR_REG_PROTO_MAX, FIX, "reg_proto_max"),
                 A(REDIR_FLAGS, FIX, "flags") } },
    { "reject", { A(REJECT_TYPE, FIX, "type"),
                  A(REJECT_CODE, FIX, "code") } },
    { "rt", { A(RT_KEY, FIX, "key"), A(RT_DREG, FIX, "dreg") } },
    { "socket", { A(SOCKET_KEY, FIX, "key"), A(SOCKET_DREG, FIX, "dreg"),
                  A(SOCKET_LEVEL, FIX, "level") } },
    { "synproxy", { A(SYNPROXY_MSS, FIX, "mss"),
                    A(SYNPROXY_WSCALE, FIX, "wscale"),
                    A(SYNPROXY_FLAGS, FIX, "flags") } },
    { "target", { A(TG_NAME, FIX, "name"), A(TG_REV, FIX, "rev"),
                  A(TG_INFO, BLOB, "info") } },
    { "tproxy", { A(TPROXY_FAMILY, FIX, "family"),
                  A(TPROXY_REG_ADDR, FIX, "reg_addr"),
                  A(TPROXY_REG_PORT, FIX, "reg_port") } },
    { "tunnel", { A(TUNNEL_KEY, FIX, "key"), A(TUNNEL_DREG, FIX, "dreg") } },
    { "xfrm", { A(XFRM_DREG, FIX, "dreg"), A(XFRM_SREG, FIX, "sreg"),
                A(XFRM_KEY, FIX, "key"), A(XFRM_DIR, FIX, "dir"),
                A(XFRM_SPNUM, FIX, "spnum") } },
};

static const struct kind_spec *
kind_find(const char *kind)
{
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (!strcmp(kinds[i].kind, kind)) {
            return &kinds[i];
        }
    }
    return NULL;
}

static const struct attr_spec *
attr_find(const struct kind_spec *k, uint16_t type)
{
    for (size_t i = 0; i < KIND_ATTRS_MAX && k->attrs[i].name; i++) {
        if (k->attrs[i].type == type) {
            return &k->attrs[i];
        }
    }
    return NULL;
}

const char *
fw_expr_attr_name(const char *kind, uint16_t type)
{
    const struct kind_spec *k = kind_find(kind);
    const struct attr_spec *a = k ? attr_find(k, type) : NULL;

    return a ? a->name : "?";
}

bool
fw_expr_kind_known(const char *kind)
{
    return kind_find(kind) != NULL;
}

int
fw_expr_attr_check(const char *kind, uint16_t type, const void *value,
                   size_t len, const char *path, char *err, size_t errlen)
{
    const struct kind_spec *k = kind_find(kind);
    const struct attr_spec *a = k ? attr_find(k, type) : NULL;
    const char *s = value;

    if (!a) {
        return doc_error(err, errlen, "%s.attrs.%u: unknown attribute of "
                         "expression '%s'", path, type, kind);
    }
    switch (a->class) {
    case A_STR:
        if (!len || s[len - 1] || memchr(s, '\0', len - 1)) {
            return doc_error(err, errlen, "%s.attrs.%u: %s '%s' expects a "
                             "NUL-terminated name", path, type, kind,
                             a->name);
        }
        break;
    case A_DATA:
        if (!len || len > NFT_DATA_VALUE_MAXLEN) {
            return doc_error(err, errlen, "%s.attrs.%u: %s '%s' holds 1 to "
                             "%d bytes, not %zu", path, type, kind, a->name,
                             NFT_DATA_VALUE_MAXLEN, len);
        }
        break;
    case A_FIX:
    case A_BLOB:
    default:
        break;
    }
    return 0;
}

static int
not_with(const char *kind, uint16_t a, uint16_t b, const char *path,
         char *err, size_t errlen)
{
    return doc_error(err, errlen, "%s.%s: attribute '%s' not allowed with "
                     "'%s'", path, kind, fw_expr_attr_name(kind, a),
                     fw_expr_attr_name(kind, b));
}

/* immediate: a value (DATA) or a verdict (VERDICT, with CHAIN or CHAIN_ID
 * exactly when it jumps or goes to a chain); they share memory. */
static int
check_immediate(uint32_t set, int32_t verdict, const char *path,
                char *err, size_t errlen)
{
    static const uint16_t verdict_attrs[] = {
        NFTNL_EXPR_IMM_VERDICT, NFTNL_EXPR_IMM_CHAIN, NFTNL_EXPR_IMM_CHAIN_ID,
    };
    bool to_chain = (set & 1u << NFTNL_EXPR_IMM_VERDICT
                     && (verdict == NFT_JUMP || verdict == NFT_GOTO));

    for (size_t i = 0; i < ARRAY_SIZE(verdict_attrs); i++) {
        if (set & 1u << NFTNL_EXPR_IMM_DATA && set & 1u << verdict_attrs[i]) {
            return not_with("immediate", verdict_attrs[i],
                            NFTNL_EXPR_IMM_DATA, path, err, errlen);
        }
    }
    if (set & 1u << NFTNL_EXPR_IMM_CHAIN
        && set & 1u << NFTNL_EXPR_IMM_CHAIN_ID) {
        return not_with("immediate", NFTNL_EXPR_IMM_CHAIN_ID,
                        NFTNL_EXPR_IMM_CHAIN, path, err, errlen);
    }
    if (!(set & (1u << NFTNL_EXPR_IMM_DATA | 1u << NFTNL_EXPR_IMM_VERDICT))) {
        return doc_error(err, errlen, "%s.immediate: needs 'data' or "
                         "'verdict'", path);
    }
    if (to_chain && !(set & (1u << NFTNL_EXPR_IMM_CHAIN
                             | 1u << NFTNL_EXPR_IMM_CHAIN_ID))) {
        return doc_error(err, errlen, "%s.immediate: verdict %s needs "
                         "'chain'", path,
                         verdict == NFT_JUMP ? "jump" : "goto");
    }
    if (!to_chain && set & (1u << NFTNL_EXPR_IMM_CHAIN
                            | 1u << NFTNL_EXPR_IMM_CHAIN_ID)) {
        uint16_t c = (set & 1u << NFTNL_EXPR_IMM_CHAIN
                      ? NFTNL_EXPR_IMM_CHAIN : NFTNL_EXPR_IMM_CHAIN_ID);

        return doc_error(err, errlen, "%s.immediate: attribute '%s' "
                         "allowed only with a jump or goto verdict", path,
                         fw_expr_attr_name("immediate", c));
    }
    return 0;
}

int
fw_expr_attrs_check(const char *kind, uint32_t set, const void *verdict,
                    const char *path, char *err, size_t errlen)
{
    if (!strcmp(kind, "immediate")) {
        int32_t v = 0;

        if (verdict) {
            memcpy(&v, verdict, sizeof v);
        }
        return check_immediate(set, v, path, err, errlen);
    }
    if (!strcmp(kind, "objref")) {
        /* An object named directly or looked up in a map: one of them. */
        uint32_t imm = (1u << NFTNL_EXPR_OBJREF_IMM_TYPE
                        | 1u << NFTNL_EXPR_OBJREF_IMM_NAME);
        uint32_t map = (1u << NFTNL_EXPR_OBJREF_SET_SREG
                        | 1u << NFTNL_EXPR_OBJREF_SET_NAME
                        | 1u << NFTNL_EXPR_OBJREF_SET_ID);

        if (set & imm && set & map) {
            return not_with("objref", rightmost_1bit_idx(set & map),
                            rightmost_1bit_idx(set & imm), path, err,
                            errlen);
        }
    }
    return 0;
}

int
fw_expr_attr_set(struct nftnl_expr *e, const char *kind, uint16_t type,
                 const void *value, uint32_t len)
{
    const struct kind_spec *k = kind_find(kind);
    const struct attr_spec *a = k ? attr_find(k, type) : NULL;

    if (a && a->class == A_BLOB) {
        /* match and target keep the pointer and free it. */
        void *copy = xmemdup(value, len);

        if (nftnl_expr_set(e, type, copy, len) < 0) {
            free(copy);
            return -EINVAL;
        }
        return 0;
    }
    return nftnl_expr_set(e, type, value, len) < 0 ? -EINVAL : 0;
}
