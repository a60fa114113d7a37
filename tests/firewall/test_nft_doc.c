/* Tests firewall/nft_doc.c, expr_doc.c, rename.c, select.c: a VM's ruleset
 * built with libnftnl, written as a document, read back and compared
 * through the netlink messages each object builds (byte for byte); bad
 * documents refused with the field named; interface renames; the tag
 * convention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

#define TAG "netmove:vm=vm1"

/* ---- building a ruleset as nft would ---- */

static void
set_comment(void (*set)(void *, const void *, uint32_t), void *obj,
            uint8_t type, const char *comment)
{
    struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);

    nftnl_udata_put_strz(ud, type, comment);
    set(obj, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
}

static void
table_ud(void *t, const void *d, uint32_t n)
{
    nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, d, n);
}

static void
chain_ud(void *c, const void *d, uint32_t n)
{
    nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, d, n);
}

static void
set_ud(void *s, const void *d, uint32_t n)
{
    nftnl_set_set_data(s, NFTNL_SET_USERDATA, d, n);
}

static void
rule_ud(void *r, const void *d, uint32_t n)
{
    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, d, n);
}

static struct nftnl_table *
new_table(uint32_t family, const char *name, const char *comment)
{
    struct nftnl_table *t = nftnl_table_alloc();

    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
    nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
    if (comment) {
        set_comment(table_ud, t, NFTNL_UDATA_TABLE_COMMENT, comment);
    }
    return t;
}

static struct nftnl_chain *
new_chain(uint32_t family, const char *table, const char *name, int hook,
          const char *comment)
{
    struct nftnl_chain *c = nftnl_chain_alloc();

    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    if (hook >= 0) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -150);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_DROP);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
    }
    if (comment) {
        set_comment(chain_ud, c, NFTNL_UDATA_CHAIN_COMMENT, comment);
    }
    return c;
}

static struct nftnl_rule *
new_rule(uint32_t family, const char *table, const char *chain,
         const char *comment)
{
    struct nftnl_rule *r = nftnl_rule_alloc();

    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    if (comment) {
        set_comment(rule_ud, r, NFTNL_UDATA_RULE_COMMENT, comment);
    }
    return r;
}

static void
add_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("meta");

    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
    nftnl_rule_add_expr(r, e);
}

static void
add_cmp(struct nftnl_rule *r, uint32_t sreg, const void *data, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("cmp");

    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    nftnl_rule_add_expr(r, e);
}

/* iifname "NAME" */
static void
add_ifname_match(struct nftnl_rule *r, uint32_t key, const char *name)
{
    char buf[IFNAMSIZ] = { 0 };

    strncpy(buf, name, sizeof buf - 1);
    add_meta(r, key, NFT_REG_1);
    add_cmp(r, NFT_REG_1, buf, sizeof buf);
}

static void
add_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
    struct nftnl_expr *e = nftnl_expr_alloc("immediate");

    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
    if (chain) {
        nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
    }
    nftnl_rule_add_expr(r, e);
}

static void
add_lookup(struct nftnl_rule *r, const char *set)
{
    struct nftnl_expr *e = nftnl_expr_alloc("lookup");

    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
    nftnl_rule_add_expr(r, e);
}

static void
add_payload(struct nftnl_rule *r, uint32_t offset, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("payload");

    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE,
                       NFT_PAYLOAD_TRANSPORT_HEADER);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_rule_add_expr(r, e);
}

static void
add_misc(struct nftnl_rule *r)
{
    struct nftnl_expr *e = nftnl_expr_alloc("counter");

    nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 12345);
    nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 987654321);
    nftnl_rule_add_expr(r, e);

    e = nftnl_expr_alloc("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);

    e = nftnl_expr_alloc("bitwise");
    uint32_t mask = htonl(6), xor = 0;
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, 4);
    nftnl_rule_add_expr(r, e);

    e = nftnl_expr_alloc("log");
    nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, "vm1 drop: ");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_GROUP, 3);
    nftnl_rule_add_expr(r, e);

    /* add @flows { ip saddr counter } */
    e = nftnl_expr_alloc("dynset");
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, "flows");
    nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, 60000);
    nftnl_expr_add_expr(e, NFTNL_EXPR_DYNSET_EXPRESSIONS,
                        nftnl_expr_alloc("counter"));
    nftnl_rule_add_expr(r, e);
}

static struct nftnl_set *
new_set(uint32_t family, const char *table, const char *name,
        uint32_t key_type, uint32_t key_len, uint32_t flags,
        const char *comment)
{
    struct nftnl_set *s = nftnl_set_alloc();

    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(s, NFTNL_SET_NAME, name);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
    if (comment) {
        set_comment(set_ud, s, NFTNL_UDATA_SET_COMMENT, comment);
    }
    return s;
}

static void
add_elem(struct nftnl_set *s, const void *key, uint32_t len, uint32_t flags)
{
    struct nftnl_set_elem *e = nftnl_set_elem_alloc();

    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
    if (flags) {
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
    }
    nftnl_set_elem_add(s, e);
}

/* A VM's firewall as the lab has it, plus every kind of object the
 * document must carry: table inet filter (host's, holding vm1's chain,
 * set, anonymous set, map, jump rules) and table ip vm1nat (vm1's, whole). */
static struct fw_ruleset *
sample_ruleset(void)
{
    struct fw_ruleset *rs = fw_ruleset_create("vm1");
    const uint32_t inet = NFPROTO_INET;
    struct nftnl_rule *r;
    struct nftnl_set *s;

    fw_ruleset_add_table(rs, new_table(inet, "filter", NULL), false);
    assert_int_equal(fw_ruleset_add_chain(rs, new_chain(inet, "filter",
                                                        "forward",
                                                        NF_INET_FORWARD,
                                                        NULL), false), 0);
    assert_int_equal(fw_ruleset_add_chain(rs, new_chain(inet, "filter",
                                                        "vm-vm1", -1, TAG),
                                          true), 0);

    /* set vm1-ports { type inet_service; elements = { 22, 5001 } } */
    s = new_set(inet, "filter", "vm1-ports", 13, 2, 0, TAG);
    uint16_t port = htons(22);
    add_elem(s, &port, 2, 0);
    port = htons(5001);
    add_elem(s, &port, 2, 0);
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);

    /* iifname { "qvb-vm1", "tap-vm1" }: anonymous, of type ifname */
    s = new_set(inet, "filter", "__set0", 41, 16,
                NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, NULL);
    char name[IFNAMSIZ] = "qvb-vm1";
    add_elem(s, name, sizeof name, 0);
    memset(name, 0, sizeof name);
    strcpy(name, "tap-vm1");
    add_elem(s, name, sizeof name, 0);
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);

    /* set flows { type ipv4_addr; flags dynamic,timeout; timeout 1m;
     *            counter } with an interval-style element */
    s = new_set(inet, "filter", "flows", 7, 4,
                NFT_SET_TIMEOUT | NFT_SET_EVAL, TAG);
    nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, 60000);
    nftnl_set_set_u32(s, NFTNL_SET_GC_INTERVAL, 1000);
    nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, 65535);
    nftnl_set_add_expr(s, nftnl_expr_alloc("counter"));
    struct nftnl_set_elem *el = nftnl_set_elem_alloc();
    uint32_t a = htonl(0xc6120101);
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &a, 4);
    nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, 60000);
    nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_EXPIRATION, 41234);
    nftnl_set_elem_add_expr(el, nftnl_expr_alloc("counter"));
    nftnl_set_elem_add(s, el);
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);

    /* map vm1-v { type ifname : verdict } with "qvb-vm1" : jump vm-vm1 */
    s = new_set(inet, "filter", "vm1-v", 41, 16, NFT_SET_MAP, TAG);
    nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
    el = nftnl_set_elem_alloc();
    memset(name, 0, sizeof name);
    strcpy(name, "qvb-vm1");
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, name, sizeof name);
    nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
    nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, "vm-vm1");
    nftnl_set_elem_add(s, el);
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);

    /* forward: iifname "qvb-vm1" jump vm-vm1 comment "netmove:vm=vm1" */
    r = new_rule(inet, "filter", "forward", TAG);
    add_ifname_match(r, NFT_META_IIFNAME, "qvb-vm1");
    add_verdict(r, NFT_JUMP, "vm-vm1");
    assert_int_equal(fw_ruleset_add_rule(rs, r), 0);

    /* vm-vm1: oifname "qvb-vm1" tcp dport @vm1-ports accept */
    r = new_rule(inet, "filter", "vm-vm1", NULL);
    add_ifname_match(r, NFT_META_OIFNAME, "qvb-vm1");
    add_payload(r, 2, 2);
    add_lookup(r, "vm1-ports");
    add_verdict(r, NF_ACCEPT, NULL);
    assert_int_equal(fw_ruleset_add_rule(rs, r), 0);

    /* vm-vm1: iifname { "qvb-vm1", "tap-vm1" } ... drop, and the rest */
    r = new_rule(inet, "filter", "vm-vm1", NULL);
    add_meta(r, NFT_META_IIFNAME, NFT_REG_1);
    add_lookup(r, "__set0");
    add_misc(r);
    add_verdict(r, NF_DROP, NULL);
    assert_int_equal(fw_ruleset_add_rule(rs, r), 0);

    /* table ip vm1nat { comment "netmove:vm=vm1"; chain post {...} } */
    fw_ruleset_add_table(rs, new_table(NFPROTO_IPV4, "vm1nat", TAG), true);
    assert_int_equal(fw_ruleset_add_chain(rs, new_chain(NFPROTO_IPV4,
                                                        "vm1nat", "post",
                                                        NF_INET_POST_ROUTING,
                                                        NULL), true), 0);
    r = new_rule(NFPROTO_IPV4, "vm1nat", "post", NULL);
    add_payload(r, 12, 4);
    uint32_t addr = htonl(0xc6120101);
    add_cmp(r, NFT_REG_1, &addr, 4);
    add_verdict(r, NF_ACCEPT, NULL);
    assert_int_equal(fw_ruleset_add_rule(rs, r), 0);
    return rs;
}

/* Writes 'rs' to text and reads it back. */
static struct fw_ruleset *
round_trip(const struct fw_ruleset *rs, char **textp)
{
    struct json *doc = fw_ruleset_to_json(rs);
    char *text = json_to_string(doc, 0);
    struct json *parsed = json_from_string(text);
    struct fw_ruleset *back = NULL;
    char err[256] = "";

    json_destroy(doc);
    assert_int_not_equal(parsed->type, JSON_STRING);
    assert_int_equal(fw_ruleset_from_json(parsed, &back, err, sizeof err), 0);
    json_destroy(parsed);
    if (textp) {
        *textp = text;
    } else {
        free(text);
    }
    return back;
}

static void
test_round_trip_exact(void **state OVS_UNUSED)
{
    struct fw_ruleset *rs = sample_ruleset();
    char *text, *text2;
    struct fw_ruleset *back = round_trip(rs, &text);
    struct fw_ruleset *back2 = round_trip(back, &text2);
    char why[512] = "";
    struct fw_counts n;

    assert_true(fw_ruleset_identical(rs, back, why, sizeof why));
    assert_true(fw_ruleset_equal(rs, back, why, sizeof why));
    assert_string_equal(text, text2);
    fw_ruleset_counts(back, &n);
    assert_int_equal(n.tables, 2);
    assert_int_equal(n.whole_tables, 1);
    assert_int_equal(n.chains, 2);          /* vm-vm1 and post */
    assert_int_equal(n.sets, 4);
    assert_int_equal(n.elements, 6);
    assert_int_equal(n.rules, 4);
    assert_string_equal(fw_ruleset_vm(back), "vm1");
    free(text);
    free(text2);
    fw_ruleset_destroy(back2);
    fw_ruleset_destroy(back);
    fw_ruleset_destroy(rs);
}

/* The comparison itself must see a one-byte change, or the test above
 * proves nothing. */
static void
test_equal_sees_differences(void **state OVS_UNUSED)
{
    struct fw_ruleset *a = sample_ruleset(), *b = sample_ruleset();
    char why[512] = "";

    assert_true(fw_ruleset_identical(a, b, why, sizeof why));
    assert_int_equal(fw_ruleset_rename(b, "tap-vm1", "tap-vm2", why,
                                       sizeof why), 1);
    assert_false(fw_ruleset_identical(a, b, why, sizeof why));
    assert_non_null(strstr(why, "__set0"));
    assert_false(fw_ruleset_equal(a, b, why, sizeof why));
    assert_non_null(strstr(why, "__anon0"));
    fw_ruleset_destroy(a);
    fw_ruleset_destroy(b);
}

/* Replaces the first occurrence of 'from' in 'text' by 'to', parses it. */
static int
parse_edited(const char *text, const char *from, const char *to,
             char *err, size_t errlen)
{
    const char *at = strstr(text, from);
    struct fw_ruleset *rs = NULL;
    struct json *doc;
    char *edited;
    int error;

    assert_non_null(at);
    edited = xasprintf("%.*s%s%s", (int) (at - text), text, to,
                       at + strlen(from));
    doc = json_from_string(edited);
    free(edited);
    if (doc->type == JSON_STRING) {
        snprintf(err, errlen, "json: %s", json_string(doc));
        json_destroy(doc);
        return -EINVAL;
    }
    error = fw_ruleset_from_json(doc, &rs, err, errlen);
    json_destroy(doc);
    fw_ruleset_destroy(rs);
    return error;
}

static void
test_bad_documents(void **state OVS_UNUSED)
{
    struct fw_ruleset *rs = sample_ruleset();
    struct json *doc = fw_ruleset_to_json(rs);
    char *text = json_to_string(doc, JSSF_SORT);
    char err[512];

    json_destroy(doc);
    fw_ruleset_destroy(rs);

    assert_int_equal(parse_edited(text, "\"version\":1", "\"version\":2",
                                  err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "unknown version 2"));
    assert_int_equal(parse_edited(text, "\"format\":\"netmove-firewall\"",
                                  "\"format\":\"other\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "document.format"));
    assert_int_equal(parse_edited(text, "\"kind\":\"counter\"",
                                  "\"kind\":\"warpdrive\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "unknown expression type 'warpdrive'"));
    /* meta's key is 4 bytes: 2 do not fit. */
    assert_int_equal(parse_edited(text, "{\"1\":\"06000000\"",
                                  "{\"1\":\"0600\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "attrs.1"));
    /* meta has no attribute 29. */
    assert_int_equal(parse_edited(text, "{\"1\":\"06000000\"",
                                  "{\"29\":\"06000000\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "exprs[0].attrs.29"));
    assert_int_equal(parse_edited(text, "\"0016\"", "\"0g16\"", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "tables[0].sets[0].elements[0]: expected hex"));
    assert_int_equal(parse_edited(text, "\"0016\"", "16", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "expected an object or a hex key"));
    assert_int_equal(parse_edited(text, "\"byteorder\":\"little\"",
                                  "\"byteorder\":\"big\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "byteorder"));
    assert_int_equal(parse_edited(text, "\"family\":\"inet\"",
                                  "\"family\":\"decnet\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "tables[0].family"));
    assert_int_equal(parse_edited(text, "\"exprs\":[", "\"exprz\":[", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "exprs: missing"));
    assert_int_equal(parse_edited(text, "\"chain\":\"forward\"",
                                  "\"chain\":\"nowhere\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "no chain \"nowhere\""));
    assert_int_equal(parse_edited(text, "\"name\":\"vm1-v\"",
                                  "\"name\":\"vm1-ports\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "set \"vm1-ports\" appears twice"));
    assert_int_equal(parse_edited(text, "\"name\":\"vm-vm1\"",
                                  "\"name\":\"forward\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "chain \"forward\" appears twice"));
    assert_int_equal(parse_edited(text, "\"vm\":\"vm1\"", "\"vm\":\"v m\"",
                                  err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "document.vm"));
    assert_int_equal(parse_edited(text, "\"whole\":false",
                                  "\"whole\":\"no\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "whole: expected true or false"));

    /* Truncated anywhere: never accepted. */
    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut += 7) {
        char *part = xmemdup0(text, cut);
        struct json *j = json_from_string(part);
        struct fw_ruleset *r = NULL;

        if (j->type != JSON_STRING) {
            assert_int_equal(fw_ruleset_from_json(j, &r, err, sizeof err),
                             -EINVAL);
        }
        json_destroy(j);
        free(part);
    }
    free(text);
}

static int
count_ifname(struct nftnl_set_elem *e, void *needle_)
{
    const char *needle = needle_;
    uint32_t len;
    const char *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

    if (!strcmp(key, needle)) {
        (*(int *) ((char *) needle + IFNAMSIZ))++;
    }
    return 0;
}

static void
test_rename(void **state OVS_UNUSED)
{
    struct fw_ruleset *rs = sample_ruleset();
    struct fw_table *t = CONTAINER_OF(ovs_list_front(&rs->tables),
                                      struct fw_table, node);
    struct fw_rule *r = CONTAINER_OF(ovs_list_front(&t->rules),
                                     struct fw_rule, node);
    struct { char name[IFNAMSIZ]; int hits; } probe = { "qvb-vm1x", 0 };
    char err[256];
    uint32_t len;

    /* Two cmps (forward's jump, vm-vm1's oifname), the anonymous set's
     * element and the verdict map's key. */
    assert_int_equal(fw_ruleset_rename(rs, "qvb-vm1", "qvb-vm1x", err,
                                       sizeof err), 4);
    struct nftnl_expr_iter *it = nftnl_expr_iter_create(r->r);
    nftnl_expr_iter_next(it);
    struct nftnl_expr *cmp = nftnl_expr_iter_next(it);
    const char *data = nftnl_expr_get(cmp, NFTNL_EXPR_CMP_DATA, &len);
    assert_int_equal(len, IFNAMSIZ);
    assert_string_equal(data, "qvb-vm1x");
    nftnl_expr_iter_destroy(it);
    struct fw_set *s = fw_table_find_set(t, "__set0");
    nftnl_set_elem_foreach(s->s, count_ifname, &probe);
    assert_int_equal(probe.hits, 1);

    /* Again: nothing left to rename; the NAT table's address compare is
     * no interface name. */
    assert_int_equal(fw_ruleset_rename(rs, "qvb-vm1", "qvb-vm1x", err,
                                       sizeof err), 0);
    assert_int_equal(fw_ruleset_rename(rs, "qvb-vm1x",
                                       "name-longer-than-15", err,
                                       sizeof err), -EINVAL);
    assert_non_null(strstr(err, "name-longer-than-15"));
    assert_int_equal(fw_ruleset_rename(rs, "", "x", err, sizeof err),
                     -EINVAL);
    fw_ruleset_destroy(rs);
}

static struct nftnl_rule *
tagged_rule(uint32_t family, const char *table, const char *chain,
            const char *comment, const char *set)
{
    struct nftnl_rule *r = new_rule(family, table, chain, comment);

    add_meta(r, NFT_META_IIFNAME, NFT_REG_1);
    if (set) {
        add_lookup(r, set);
    }
    add_verdict(r, NF_ACCEPT, NULL);
    return r;
}

/* The convention: which objects of a dump are vm1's. */
static void
test_select_convention(void **state OVS_UNUSED)
{
    const uint32_t inet = NFPROTO_INET;
    struct fw_dump d;
    struct fw_counts n;

    fw_dump_init(&d);
    d.n_tables = 3;
    d.tables = xcalloc(3, sizeof *d.tables);
    d.tables[0] = new_table(inet, "filter", NULL);
    d.tables[1] = new_table(inet, "vm1", TAG);
    d.tables[2] = new_table(inet, "vm2", "netmove:vm=vm2");
    d.n_chains = 5;
    d.chains = xcalloc(5, sizeof *d.chains);
    d.chains[0] = new_chain(inet, "filter", "forward", NF_INET_FORWARD, NULL);
    d.chains[1] = new_chain(inet, "filter", "vm-vm1", -1, TAG);
    d.chains[2] = new_chain(inet, "filter", "vm-vm11", -1,
                            "netmove:vm=vm11");
    d.chains[3] = new_chain(inet, "vm1", "c", -1, NULL);
    d.chains[4] = new_chain(inet, "vm2", "c", -1, NULL);
    d.n_sets = 4;
    d.sets = xcalloc(4, sizeof *d.sets);
    d.sets[0] = new_set(inet, "filter", "vm1-ports", 13, 2, 0, TAG);
    d.sets[1] = new_set(inet, "filter", "host-ports", 13, 2, 0, NULL);
    d.sets[2] = new_set(inet, "filter", "__set3", 41, 16,
                        NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, NULL);
    d.sets[3] = new_set(inet, "filter", "__set4", 41, 16,
                        NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, NULL);
    d.n_rules = 7;
    d.rules = xcalloc(7, sizeof *d.rules);
    d.rules[0] = tagged_rule(inet, "filter", "forward", NULL, "host-ports");
    d.rules[1] = tagged_rule(inet, "filter", "forward", TAG, "__set3");
    d.rules[2] = tagged_rule(inet, "filter", "forward", "netmove:vm=vm11",
                             "__set4");
    d.rules[3] = tagged_rule(inet, "filter", "vm-vm1", NULL, "vm1-ports");
    d.rules[4] = tagged_rule(inet, "filter", "vm-vm11", NULL, NULL);
    d.rules[5] = tagged_rule(inet, "vm1", "c", NULL, NULL);
    d.rules[6] = tagged_rule(inet, "vm2", "c", NULL, NULL);

    struct fw_ruleset *rs = fw_select(&d, "vm1", false);
    fw_ruleset_counts(rs, &n);
    assert_int_equal(n.tables, 2);          /* filter (host's), vm1 */
    assert_int_equal(n.whole_tables, 1);
    assert_int_equal(n.chains, 2);          /* vm-vm1, vm1/c */
    assert_int_equal(n.sets, 2);            /* vm1-ports, __set3 */
    assert_int_equal(n.rules, 3);           /* forward's jump, vm-vm1's,
                                             * vm1/c's */
    struct fw_table *filter = fw_ruleset_find_table(rs, inet, "filter");
    assert_non_null(filter);
    assert_false(filter->whole);
    assert_non_null(fw_table_find_set(filter, "__set3"));
    assert_null(fw_table_find_set(filter, "__set4"));
    assert_null(fw_table_find_set(filter, "host-ports"));
    assert_false(fw_table_find_chain(filter, "forward")->whole);
    assert_true(fw_table_find_chain(filter, "vm-vm1")->whole);
    assert_null(fw_table_find_chain(filter, "vm-vm11"));
    assert_null(fw_ruleset_find_table(rs, inet, "vm2"));
    /* What was not selected stays in the dump (the host's). */
    assert_non_null(d.rules[0]);
    assert_non_null(d.rules[2]);
    assert_null(d.rules[1]);
    fw_ruleset_destroy(rs);
    fw_dump_free(&d);
}

/* One table: set "ports" { 22, 'port2' } (element 22 expiring in
 * 'expiration' ms), anonymous set 'anon' { "a", "b" } (in 'reverse' order),
 * a rule counting 'packets' that uses both. */
static struct fw_ruleset *
mini_ruleset(const char *anon, bool reverse, uint64_t packets,
             uint64_t expiration, uint16_t port2)
{
    struct fw_ruleset *rs = fw_ruleset_create("vm1");
    const uint32_t inet = NFPROTO_INET;
    char a[IFNAMSIZ] = "a", b[IFNAMSIZ] = "b";
    struct nftnl_set_elem *el;
    struct nftnl_rule *r;
    struct nftnl_set *s;
    uint16_t port;

    fw_ruleset_add_table(rs, new_table(inet, "t", TAG), true);
    assert_int_equal(fw_ruleset_add_chain(rs, new_chain(inet, "t", "c", -1,
                                                        NULL), true), 0);
    s = new_set(inet, "t", "ports", 13, 2, NFT_SET_TIMEOUT, NULL);
    el = nftnl_set_elem_alloc();
    port = htons(22);
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &port, 2);
    nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, 60000);
    nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_EXPIRATION, expiration);
    if (!reverse) {
        nftnl_set_elem_add(s, el);
    }
    port = htons(port2);
    add_elem(s, &port, 2, 0);
    if (reverse) {
        nftnl_set_elem_add(s, el);
    }
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);
    s = new_set(inet, "t", anon, 41, 16, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
                NULL);
    add_elem(s, reverse ? b : a, IFNAMSIZ, 0);
    add_elem(s, reverse ? a : b, IFNAMSIZ, 0);
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);

    r = new_rule(inet, "t", "c", NULL);
    add_meta(r, NFT_META_IIFNAME, NFT_REG_1);
    add_lookup(r, anon);
    add_payload(r, 2, 2);
    add_lookup(r, "ports");
    struct nftnl_expr *e = nftnl_expr_alloc("counter");
    nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, packets);
    nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, packets * 100);
    nftnl_rule_add_expr(r, e);
    add_verdict(r, NF_ACCEPT, NULL);
    assert_int_equal(fw_ruleset_add_rule(rs, r), 0);
    return rs;
}

/* A source's export against the destination's dump: the same firewall,
 * although the kernel named the anonymous set otherwise, dumps the hash
 * set in another order, and counters and expirations moved on. */
static void
test_equal_means_same_firewall(void **state OVS_UNUSED)
{
    struct fw_ruleset *src = mini_ruleset("__set0", false, 10, 50000, 5001);
    struct fw_ruleset *dst = mini_ruleset("__set3", true, 99, 41000, 5001);
    struct fw_ruleset *other = mini_ruleset("__set3", true, 99, 41000, 5002);
    char why[512] = "";

    assert_false(fw_ruleset_identical(src, dst, why, sizeof why));
    assert_true(fw_ruleset_equal(src, dst, why, sizeof why));
    /* A different element is a different firewall. */
    assert_false(fw_ruleset_equal(src, other, why, sizeof why));
    assert_non_null(strstr(why, "set ports differs"));
    fw_ruleset_destroy(src);
    fw_ruleset_destroy(dst);
    fw_ruleset_destroy(other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_exact),
        cmocka_unit_test(test_equal_means_same_firewall),
        cmocka_unit_test(test_equal_sees_differences),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_select_convention),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
