/* Tests firewall/expr_doc.c and expr_attrs.c against hostile expression
 * documents: each kind takes only its own attributes, of the size libnftnl
 * holds, in combinations that do not overlap in libnftnl's memory.
 *
 * The first test is issue 10 item 1: an immediate whose data is "fdffffff"
 * (NFT_JUMP) and then a pointer, with a verdict attribute, used to read as
 * "jump to the chain at that pointer", which nftnl_rule_free() freed
 * (SIGSEGV, or an ASan report on a bad free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

/* Parses firewall document 'text' (freed). */
static int
parse_text(char *text, char *err, size_t errlen)
{
    struct json *doc = json_from_string(text);
    struct fw_ruleset *rs = NULL;
    int error;

    assert_int_not_equal(doc->type, JSON_STRING);
    err[0] = '\0';
    error = fw_ruleset_from_json(doc, &rs, err, errlen);
    fw_ruleset_destroy(rs);
    json_destroy(doc);
    free(text);
    return error;
}

/* A firewall document of one table with one chain and one rule whose only
 * expression is 'expr'. */
static int
parse_with_expr(const char *expr, char *err, size_t errlen)
{
    char *text = xasprintf(
        "{\"format\": \"netmove-firewall\", \"version\": 1, \"vm\": \"vm1\","
        " \"byteorder\": \"little\","
        " \"tables\": [{\"family\": \"inet\", \"name\": \"t\","
        "  \"whole\": true,"
        "  \"chains\": [{\"name\": \"c\", \"whole\": true}],"
        "  \"sets\": [],"
        "  \"rules\": [{\"chain\": \"c\", \"exprs\": [%s]}]}]}", expr);
    return parse_text(text, err, errlen);
}

static void
expect_refused(const char *expr, const char *want)
{
    char err[512];

    assert_int_equal(parse_with_expr(expr, err, sizeof err), -EINVAL);
    if (!strstr(err, want)) {
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    }
}

static void
expect_accepted(const char *expr)
{
    char err[512];

    if (parse_with_expr(expr, err, sizeof err)) {
        fail_msg("refused %s: %s", expr, err);
    }
}

static void
test_immediate_data_is_not_a_chain(void **state OVS_UNUSED)
{
    /* DATA: verdict NFT_JUMP (-3), padding, then a "chain" pointer of the
     * document's choosing (0x4141414141414141); VERDICT: jump.  Both read
     * back as given, so only their combination can be refused. */
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"1\": \"00000000\","
                   "\"2\": \"fdffffff000000004141414141414141\","
                   "\"3\": \"fdffffff\"}}",
                   "rules[0].exprs[0].immediate: attribute 'verdict' not "
                   "allowed with 'data'");
    /* The same with a pointer that a free() would accept: still refused. */
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"2\": \"fdffffff000000000000000000000000\","
                   "\"3\": \"fdffffff\", \"4\": \"6300\"}}",
                   "attribute 'verdict' not allowed with 'data'");
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"2\": \"01000000\", \"4\": \"6300\"}}",
                   "immediate: attribute 'chain' not allowed with 'data'");
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"2\": \"01000000\", \"5\": \"01000000\"}}",
                   "attribute 'chain_id' not allowed with 'data'");
}

static void
test_immediate_verdicts(void **state OVS_UNUSED)
{
    /* jump c; accept; a value into register 1. */
    expect_accepted("{\"kind\": \"immediate\", \"attrs\": {"
                    "\"1\": \"00000000\", \"3\": \"fdffffff\", "
                    "\"4\": \"6300\"}}");
    expect_accepted("{\"kind\": \"immediate\", \"attrs\": {"
                    "\"1\": \"00000000\", \"3\": \"01000000\"}}");
    expect_accepted("{\"kind\": \"immediate\", \"attrs\": {"
                    "\"1\": \"01000000\", \"2\": \"c6120001\"}}");
    /* A jump without a chain; a chain without a jump; both chain forms. */
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"3\": \"fcffffff\"}}", "verdict goto needs 'chain'");
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"3\": \"01000000\", \"4\": \"6300\"}}",
                   "'chain' allowed only with a jump or goto verdict");
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"3\": \"fdffffff\", \"4\": \"6300\", "
                   "\"5\": \"01000000\"}}",
                   "attribute 'chain_id' not allowed with 'chain'");
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"1\": \"00000000\"}}", "needs 'data' or 'verdict'");
    /* A chain name that is not NUL-terminated, or has a NUL inside. */
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"3\": \"fdffffff\", \"4\": \"6363\"}}",
                   "exprs[0].attrs.4: immediate 'chain' expects a "
                   "NUL-terminated name");
    expect_refused("{\"kind\": \"immediate\", \"attrs\": {"
                   "\"3\": \"fdffffff\", \"4\": \"630063\"}}",
                   "NUL-terminated");
}

static void
test_data_registers_fit(void **state OVS_UNUSED)
{
    char *big = xmalloc(2 * 65 + 1);
    char *expr;

    /* 65 bytes into cmp's 64-byte register used to overflow the
     * expression's allocation. */
    memset(big, 'a', 2 * 65);
    big[2 * 65] = '\0';
    expr = xasprintf("{\"kind\": \"cmp\", \"attrs\": {\"1\": \"01000000\", "
                     "\"2\": \"00000000\", \"3\": \"%s\"}}", big);
    expect_refused(expr, "exprs[0].attrs.3: cmp 'data' holds 1 to 64 bytes, "
                   "not 65");
    free(expr);
    big[2 * 64] = '\0';
    expr = xasprintf("{\"kind\": \"cmp\", \"attrs\": {\"1\": \"01000000\", "
                     "\"2\": \"00000000\", \"3\": \"%s\"}}", big);
    expect_accepted(expr);
    free(expr);
    expect_refused("{\"kind\": \"bitwise\", \"attrs\": {\"4\": \"\"}}",
                   "bitwise 'mask' holds 1 to 64 bytes, not 0");
    free(big);
}

static void
test_attributes_of_the_kind_only(void **state OVS_UNUSED)
{
    /* counter has packets (1) and bytes (2) only. */
    expect_refused("{\"kind\": \"counter\", \"attrs\": {"
                   "\"3\": \"fdffffff\"}}",
                   "exprs[0].attrs.3: unknown attribute of expression "
                   "'counter'");
    /* A size other than the attribute's. */
    expect_refused("{\"kind\": \"counter\", \"attrs\": {"
                   "\"1\": \"0100\"}}",
                   "exprs[0].attrs.1: value of 2 bytes does not fit");
    expect_refused("{\"kind\": \"objref\", \"attrs\": {"
                   "\"2\": \"6f00\", \"4\": \"7300\"}}",
                   "objref: attribute 'set_name' not allowed with "
                   "'imm_name'");
}

static void
test_match_info_is_copied(void **state OVS_UNUSED)
{
    /* libnftnl keeps and frees match's and target's info pointer: it must
     * be given a heap copy, never the decoder's buffer. */
    expect_accepted("{\"kind\": \"match\", \"attrs\": {"
                    "\"1\": \"636f6d6d656e74000000000000000000000000000000"
                    "00000000000000\", \"2\": \"00000000\", "
                    "\"3\": \"0102030405060708\"}}");

    /* And a copy of such an expression owns its own copy. */
    struct nftnl_expr *e = nftnl_expr_alloc("target");
    struct nftnl_expr *copy;
    const void *a, *b;
    uint32_t alen, blen;

    assert_int_equal(fw_expr_attr_set(e, "target", NFTNL_EXPR_TG_INFO,
                                      "abcd", 4), 0);
    copy = fw_expr_copy(e, 0);
    a = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &alen);
    b = nftnl_expr_get(copy, NFTNL_EXPR_TG_INFO, &blen);
    assert_ptr_not_equal(a, b);
    assert_int_equal(alen, 4);
    assert_memory_equal(a, b, 4);
    nftnl_expr_free(copy);
    nftnl_expr_free(e);
}

/* A document of one table with a verdict map whose only element is
 * 'elem'. */
static int
parse_with_elem(const char *elem, char *err, size_t errlen)
{
    char *text = xasprintf(
        "{\"format\": \"netmove-firewall\", \"version\": 1, \"vm\": \"vm1\","
        " \"byteorder\": \"little\","
        " \"tables\": [{\"family\": \"inet\", \"name\": \"t\","
        "  \"whole\": true,"
        "  \"chains\": [{\"name\": \"c\", \"whole\": true}],"
        "  \"sets\": [{\"name\": \"m\", \"whole\": true, \"flags\": 8,"
        "    \"key_type\": 13, \"key_len\": 2, \"data_type\": 4294967040,"
        "    \"data_len\": 16, \"elements\": [%s]}],"
        "  \"rules\": []}]}", elem);
    return parse_text(text, err, errlen);
}

static void
test_element_data_is_not_a_chain(void **state OVS_UNUSED)
{
    char err[512];

    /* The element counterpart of the immediate: data then a chain. */
    assert_int_equal(parse_with_elem("{\"key\": \"0016\", \"data\": "
                                     "\"fdffffff000000004141414141414141\", "
                                     "\"verdict\": -3, \"chain\": \"c\"}",
                                     err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "sets[0].elements[0]: 'verdict' not allowed "
                           "with 'data'"));
    assert_int_equal(parse_with_elem("{\"key\": \"0016\", \"data\": "
                                     "\"01000000\", \"chain\": \"c\"}",
                                     err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "'chain' not allowed with 'data'"));
    assert_int_equal(parse_with_elem("{\"key\": \"0016\", \"verdict\": -3}",
                                     err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "verdict jump needs 'chain'"));
    assert_int_equal(parse_with_elem("{\"key\": \"0016\", \"verdict\": 1, "
                                     "\"chain\": \"c\"}", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "'chain' allowed only with a jump"));
    if (parse_with_elem("{\"key\": \"0016\", \"verdict\": -3, "
                        "\"chain\": \"c\"}", err, sizeof err)) {
        fail_msg("a jump element refused: %s", err);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_immediate_data_is_not_a_chain),
        cmocka_unit_test(test_immediate_verdicts),
        cmocka_unit_test(test_data_registers_fit),
        cmocka_unit_test(test_attributes_of_the_kind_only),
        cmocka_unit_test(test_match_info_is_copied),
        cmocka_unit_test(test_element_data_is_not_a_chain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
