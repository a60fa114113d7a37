/* Tests firewall/scope.c and ct_scope.c: what an import for one VM may
 * touch.  A firewall document is checked against a destination (a dump as
 * fw_dump_load() would give it): untagged rules in host chains, host
 * tables and chains (base chains above all) the destination lacks, and a
 * document of another VM are refused, naming the object.  Conntrack
 * documents, as a peer sends them, are checked against the VM's
 * addresses: other addresses, nonzero zones, huge timeouts, NAT of others,
 * too many entries and "gone" entries of others are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
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

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

#define TAG "netmove:vm=vm1"

/* ---- nftables objects as nft makes them ---- */

static void
put_comment(struct nftnl_udata_buf *ud, uint8_t type, const char *comment)
{
    nftnl_udata_put_strz(ud, type, comment);
}

static struct nftnl_table *
table(const char *name, const char *comment)
{
    struct nftnl_table *t = nftnl_table_alloc();

    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
    nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
    if (comment) {
        struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);

        put_comment(ud, NFTNL_UDATA_TABLE_COMMENT, comment);
        nftnl_table_set_data(t, NFTNL_TABLE_USERDATA,
                             nftnl_udata_buf_data(ud),
                             nftnl_udata_buf_len(ud));
        nftnl_udata_buf_free(ud);
    }
    return t;
}

/* A chain of inet 'tname'; a base chain on the forward hook if 'base'. */
static struct nftnl_chain *
chain(const char *tname, const char *name, bool base, const char *comment)
{
    struct nftnl_chain *c = nftnl_chain_alloc();

    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, tname);
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    if (base) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_FORWARD);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -1000);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_DROP);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
    }
    if (comment) {
        struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);

        put_comment(ud, NFTNL_UDATA_CHAIN_COMMENT, comment);
        nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA,
                             nftnl_udata_buf_data(ud),
                             nftnl_udata_buf_len(ud));
        nftnl_udata_buf_free(ud);
    }
    return c;
}

static struct nftnl_rule *
rule(const char *tname, const char *cname, const char *comment)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    struct nftnl_expr *e = nftnl_expr_alloc("immediate");

    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, tname);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, cname);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
    nftnl_rule_add_expr(r, e);
    if (comment) {
        struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);

        put_comment(ud, NFTNL_UDATA_RULE_COMMENT, comment);
        nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
                            nftnl_udata_buf_len(ud));
        nftnl_udata_buf_free(ud);
    }
    return r;
}

/* ---- the destination: "table inet filter { chain forward {...} }" ---- */

static struct fw_dump dest_dump;
static struct fw_ruleset *dest_old;

static int
setup(void **state OVS_UNUSED)
{
    fw_dump_init(&dest_dump);
    dest_dump.n_tables = 1;
    dest_dump.tables = xmalloc(sizeof *dest_dump.tables);
    dest_dump.tables[0] = table("filter", NULL);
    dest_dump.n_chains = 1;
    dest_dump.chains = xmalloc(sizeof *dest_dump.chains);
    dest_dump.chains[0] = chain("filter", "forward", true, NULL);
    dest_old = fw_ruleset_create("vm1");
    return 0;
}

static int
teardown(void **state OVS_UNUSED)
{
    fw_dump_free(&dest_dump);
    fw_ruleset_destroy(dest_old);
    return 0;
}

/* A document from the source, read back as the destination reads it.
 * Its "inet filter" (a host table) holds: forward (host base chain) with a
 * tagged jump, vm-vm1 (tagged), a tagged named set, and whatever 'extra'
 * adds. */
static struct fw_ruleset *
doc_of(const char *vm, void (*extra)(struct fw_ruleset *))
{
    struct fw_ruleset *rs = fw_ruleset_create(vm), *back = NULL;
    struct nftnl_set *s = nftnl_set_alloc();
    struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
    char err[256] = "";

    fw_ruleset_add_table(rs, table("filter", NULL), false);
    assert_int_equal(fw_ruleset_add_chain(rs, chain("filter", "forward",
                                                    true, NULL), false), 0);
    assert_int_equal(fw_ruleset_add_chain(rs, chain("filter", "vm-vm1",
                                                    false, TAG), true), 0);
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_str(s, NFTNL_SET_TABLE, "filter");
    nftnl_set_set_str(s, NFTNL_SET_NAME, "vm1-ports");
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 13);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2);
    put_comment(ud, NFTNL_UDATA_SET_COMMENT, TAG);
    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
                       nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    assert_int_equal(fw_ruleset_add_set(rs, s), 0);
    assert_int_equal(fw_ruleset_add_rule(rs, rule("filter", "forward", TAG)),
                     0);
    assert_int_equal(fw_ruleset_add_rule(rs, rule("filter", "vm-vm1", NULL)),
                     0);
    if (extra) {
        extra(rs);
    }

    struct json *doc = fw_ruleset_to_json(rs);
    assert_int_equal(fw_ruleset_from_json(doc, &back, err, sizeof err), 0);
    json_destroy(doc);
    fw_ruleset_destroy(rs);
    return back;
}

/* Checks 'rs' for "vm1" against the destination; returns 0 or the error,
 * with its message in 'err'. */
static int
check(struct fw_ruleset *rs, char *err, size_t errlen)
{
    struct fw_dest d = { &dest_dump, dest_old };
    int error = fw_scope_check(rs, "vm1", &d, err, errlen);

    fw_ruleset_destroy(rs);
    return error;
}

static void
test_fw_in_scope(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm1", NULL), err, sizeof err), 0);
}

static void
untagged_rule_in_host_chain(struct fw_ruleset *rs)
{
    assert_int_equal(fw_ruleset_add_rule(rs, rule("filter", "forward",
                                                  NULL)), 0);
}

static void
test_fw_untagged_rule_in_host_chain(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm1", untagged_rule_in_host_chain),
                           err, sizeof err), -EINVAL);
    assert_string_equal(err, "rule 2 in chain inet filter forward: not "
                        "tagged netmove:vm=vm1");
}

static void
new_host_table(struct fw_ruleset *rs)
{
    fw_ruleset_add_table(rs, table("hostnat", NULL), false);
    assert_int_equal(fw_ruleset_add_chain(rs, chain("hostnat", "vm-x",
                                                    false, TAG), true), 0);
}

static void
test_fw_new_host_table(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm1", new_host_table), err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "table inet hostnat: not tagged netmove:vm=vm1 "
                        "and not on this host (an import creates no host "
                        "table)");
}

static void
new_base_chain(struct fw_ruleset *rs)
{
    assert_int_equal(fw_ruleset_add_chain(rs, chain("filter", "prerouting",
                                                    true, NULL), false), 0);
    assert_int_equal(fw_ruleset_add_rule(rs, rule("filter", "prerouting",
                                                  TAG)), 0);
}

static void
test_fw_new_base_chain(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm1", new_base_chain), err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "chain inet filter prerouting: not tagged "
                        "netmove:vm=vm1 and not on this host (an import "
                        "creates no host chain)");
}

static void
untagged_whole_table(struct fw_ruleset *rs)
{
    fw_ruleset_add_table(rs, table("hostraw", "netmove:vm=vm2"), true);
}

static void
test_fw_whole_table_of_another(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm1", untagged_whole_table), err,
                           sizeof err), -EINVAL);
    assert_string_equal(err, "table inet hostraw: moved whole but not "
                        "tagged netmove:vm=vm1");
}

static void
untagged_chain_and_set(struct fw_ruleset *rs)
{
    assert_int_equal(fw_ruleset_add_chain(rs, chain("filter", "host-helper",
                                                    false, NULL), true), 0);
}

static void
test_fw_untagged_vm_chain(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm1", untagged_chain_and_set), err,
                           sizeof err), -EINVAL);
    assert_string_equal(err, "chain inet filter host-helper: not tagged "
                        "netmove:vm=vm1");
}

static void
test_fw_doc_of_another_vm(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(check(doc_of("vm2", NULL), err, sizeof err), -EINVAL);
    assert_string_equal(err, "vm: \"vm2\" is not the VM being moved (vm1)");

    /* fw_import_scoped() refuses it before any netlink. */
    struct fw_ruleset *rs = doc_of("vm2", NULL);
    assert_int_equal(fw_import_scoped(rs, "vm1", err, sizeof err), -EINVAL);
    assert_string_equal(err, "vm: \"vm2\" is not the VM being moved (vm1)");
    fw_ruleset_destroy(rs);
}

/* ---- conntrack ---- */

#define CT_HEAD "{\"format\": \"netmove-conntrack\", \"version\": 1, " \
    "\"delta\": %s, \"columns\": [\"family\", \"proto\", \"src\", \"dst\", " \
    "\"sport\", \"dport\", \"zone\", \"icmp_type\", \"icmp_code\", " \
    "\"icmp_id\", \"status\", \"timeout\", \"state\", \"tcp_flags\", " \
    "\"tcp_rflags\", \"wscale\", \"rwscale\", \"mark\", \"rsrc\", \"rdst\", " \
    "\"rsport\", \"rdport\", \"labels\", \"snat\", \"snat_port\", " \
    "\"dnat\", \"dnat_port\"], \"entries\": [%s], \"gone\": [%s]}"

/* The VM is 198.18.0.10 and 2001:db8::10. */
static int
ct_check(const char *delta, const char *entries, const char *gone,
         size_t max_entries, char *err, size_t errlen)
{
    struct fw_ct_addr a[2];
    struct ct_filter addrs = { 2, a, false, 0 };
    struct ct_scope scope = { &addrs, max_entries, 0 };
    char *text = xasprintf(CT_HEAD, delta, entries, gone);
    struct json *doc = json_from_string(text);
    struct ct_table *tab = NULL;
    int error;

    assert_int_equal(fw_ct_addr_parse("198.18.0.10", &a[0]), 0);
    assert_int_equal(fw_ct_addr_parse("2001:db8::10", &a[1]), 0);
    error = ct_table_from_json(doc, &tab, err, errlen);
    if (error) {
        fail_msg("%s: %s", text, err);
    }
    error = ct_table_check_scope(tab, &scope, err, errlen);
    ct_table_destroy(tab);
    json_destroy(doc);
    free(text);
    return error;
}

#define OUT_V4 "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40000, 80, 0, " \
    "null, null, null, 14, 300, 3]"
#define IN_V6 "[\"ipv6\", 6, \"2001:db8::99\", \"2001:db8::10\", 40000, 22, " \
    "0, null, null, null, 14, 300, 3]"

static void
test_ct_in_scope(void **state OVS_UNUSED)
{
    char err[256] = "";

    /* Both directions, both families; a source NAT of the VM's connection
     * and a destination NAT to it. */
    assert_int_equal(ct_check(
        "false", OUT_V4 ", " IN_V6 ", "
        "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40001, 80, 0, null,"
        " null, null, 14, 300, 3, null, null, null, null, null,"
        " \"198.18.1.1\", \"198.18.5.5\", 80, 40001, null, \"198.18.5.5\"],"
        "[\"ipv4\", 6, \"198.18.1.1\", \"198.18.5.5\", 40002, 8080, 0, null,"
        " null, null, 14, 300, 3, null, null, null, null, null,"
        " \"198.18.0.10\", \"198.18.1.1\", 80, 40002, null, null, null,"
        " \"198.18.0.10\"]", "", 0, err, sizeof err), 0);
    assert_int_equal(ct_check("true", "",
                              "[\"ipv4\", 17, \"198.18.0.10\", \"198.18.1.1\","
                              " 5353, 53, 0]", 0, err, sizeof err), 0);
}

static void
test_ct_other_address(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(ct_check(
        "false", OUT_V4 ", [\"ipv4\", 6, \"198.18.0.11\", \"198.18.1.1\", "
        "40000, 80, 0, null, null, null, 14, 300, 3]", "", 0, err,
        sizeof err), -EINVAL);
    assert_string_equal(err, "entries[1]: neither 198.18.0.11 nor 198.18.1.1 "
                        "is an address of the VM");

    /* The VM in the original, another host's traffic as the "reply". */
    assert_int_equal(ct_check(
        "false", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40000, 80, "
        "0, null, null, null, 14, 300, 3, null, null, null, null, null, "
        "\"198.18.7.7\", \"198.18.8.8\", 22, 40000]", "", 0, err, sizeof err),
        -EINVAL);
    assert_string_equal(err, "entries[0]: reply tuple 198.18.7.7 -> "
                        "198.18.8.8 holds no address of the VM");
}

static void
test_ct_nat_of_another(void **state OVS_UNUSED)
{
    char err[256] = "";

    /* Traffic to the VM redirected to a neighbour. */
    assert_int_equal(ct_check(
        "false", "[\"ipv4\", 6, \"198.18.1.1\", \"198.18.0.10\", 40002, "
        "8080, 0, null, null, null, 14, 300, 3, null, null, null, null, null,"
        " \"198.18.0.11\", \"198.18.1.1\", 80, 40002, null, null, null,"
        " \"198.18.0.11\"]", "", 0, err, sizeof err), -EINVAL);
    assert_string_equal(err, "entries[0].dnat: 198.18.0.11 is not an address "
                        "of the VM");

    /* A NAT the reply tuple does not show (the kernel derives the reply
     * from the NAT, not from the document's reply tuple). */
    assert_int_equal(ct_check(
        "false", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40001, 80, "
        "0, null, null, null, 14, 300, 3, null, null, null, null, null,"
        " \"198.18.1.1\", \"198.18.0.10\", 80, 40001, null, \"198.18.0.11\"]",
        "", 0, err, sizeof err), -EINVAL);
    assert_string_equal(err, "entries[0].snat: 198.18.0.11 is not the reply "
                        "tuple's destination 198.18.0.10");
}

static void
test_ct_zone_and_timeout(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(ct_check(
        "false", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40000, 80, "
        "7, null, null, null, 14, 300, 3]", "", 0, err, sizeof err), -EINVAL);
    assert_string_equal(err, "entries[0].zone: 7: only zone 0 is imported");

    assert_int_equal(ct_check(
        "false", OUT_V4 ", [\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", "
        "40001, 80, 0, null, null, null, 14, 4294967295, 3]", "", 0, err,
        sizeof err), -EINVAL);
    assert_string_equal(err, "entries[1].timeout: 4294967295 s is over the "
                        "limit of 432000 s");

    /* The limit itself is fine. */
    assert_int_equal(ct_check(
        "false", "[\"ipv4\", 6, \"198.18.0.10\", \"198.18.1.1\", 40001, 80, "
        "0, null, null, null, 14, 432000, 3]", "", 0, err, sizeof err), 0);
}

static void
test_ct_too_many(void **state OVS_UNUSED)
{
    char err[256] = "";
    struct ds rows = DS_EMPTY_INITIALIZER;

    for (int i = 0; i < 5; i++) {
        ds_put_format(&rows, "%s[\"ipv4\", 6, \"198.18.0.10\", "
                      "\"198.18.1.1\", %d, 80, 0, null, null, null, 14, 300, "
                      "3]", i ? ", " : "", 40000 + i);
    }
    assert_int_equal(ct_check("false", ds_cstr(&rows), "", 5, err,
                              sizeof err), 0);
    assert_int_equal(ct_check("false", ds_cstr(&rows), "", 4, err,
                              sizeof err), -EINVAL);
    assert_string_equal(err, "entries: 5 entries, over the limit of 4 for "
                        "one VM");
    ds_destroy(&rows);
}

static void
test_ct_gone_of_another(void **state OVS_UNUSED)
{
    char err[256] = "";

    assert_int_equal(ct_check("true", "",
                              "[\"ipv4\", 17, \"198.18.0.10\", \"198.18.1.1\","
                              " 5353, 53, 0], "
                              "[\"ipv4\", 6, \"198.18.3.3\", \"198.18.1.1\","
                              " 40000, 22, 0]", 0, err, sizeof err), -EINVAL);
    assert_string_equal(err, "gone[1]: neither 198.18.3.3 nor 198.18.1.1 is "
                        "an address of the VM");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(test_fw_in_scope),
        T(test_fw_untagged_rule_in_host_chain),
        T(test_fw_new_host_table),
        T(test_fw_new_base_chain),
        T(test_fw_whole_table_of_another),
        T(test_fw_untagged_vm_chain),
        T(test_fw_doc_of_another_vm),
        cmocka_unit_test(test_ct_in_scope),
        cmocka_unit_test(test_ct_other_address),
        cmocka_unit_test(test_ct_nat_of_another),
        cmocka_unit_test(test_ct_zone_and_timeout),
        cmocka_unit_test(test_ct_too_many),
        cmocka_unit_test(test_ct_gone_of_another),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
