/* Tests firewall/ct_doc.c and the filter of ct.c: conntrack entries written
 * as a document and read back (compared field by field and through the
 * ctnetlink create message each builds), deltas, bad documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

static struct nf_conntrack *
tcp4(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
    struct nf_conntrack *ct = nfct_new();
    struct in_addr s, d;

    inet_pton(AF_INET, src, &s);
    inet_pton(AF_INET, dst, &d);
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, s.s_addr);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, s.s_addr);
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(sport));
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(dport));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(dport));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
    nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
    nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, 0x27);
    nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, 0xff);
    nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, 0x23);
    nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, 0xff);
    nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_ORIG, 7);
    nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_REPL, 9);
    nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_ASSURED
                                       | IPS_SEEN_REPLY);
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, 431999);
    nfct_set_attr_u32(ct, ATTR_MARK, 0);
    return ct;
}

static struct nf_conntrack *
udp6(void)
{
    struct nf_conntrack *ct = nfct_new();
    struct in6_addr s, d;

    inet_pton(AF_INET6, "2001:db8:1::1", &s);
    inet_pton(AF_INET6, "2001:db8:1::ffff", &d);
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET6);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET6);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_UDP);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_UDP);
    nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, &s);
    nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, &d);
    nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, &d);
    nfct_set_attr(ct, ATTR_REPL_IPV6_DST, &s);
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(5353));
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(53));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(53));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(5353));
    nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED);
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, 29);
    nfct_set_attr_u32(ct, ATTR_MARK, 0x42);
    nfct_set_attr_u16(ct, ATTR_ZONE, 7);
    struct nfct_bitmask *labels = nfct_bitmask_new(127);
    nfct_bitmask_set_bit(labels, 3);
    nfct_bitmask_set_bit(labels, 100);
    nfct_set_attr(ct, ATTR_CONNLABELS, labels);
    return ct;
}

static struct nf_conntrack *
icmp4(void)
{
    struct nf_conntrack *ct = nfct_new();
    struct in_addr s, d;

    inet_pton(AF_INET, "198.18.1.1", &s);
    inet_pton(AF_INET, "198.18.0.1", &d);
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_ICMP);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_ICMP);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, s.s_addr);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, s.s_addr);
    nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, 8);
    nfct_set_attr_u8(ct, ATTR_ICMP_CODE, 0);
    nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(4242));
    nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_SEEN_REPLY);
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, 30);
    nfct_set_attr_u32(ct, ATTR_MARK, 0);
    return ct;
}

/* A VM-initiated flow SNATed to 198.18.0.9:40001 on its way out. */
static struct nf_conntrack *
tcp4_snat(void)
{
    struct nf_conntrack *ct = tcp4("198.18.1.1", "198.18.0.1", 40003, 5001);
    struct in_addr nat;

    inet_pton(AF_INET, "198.18.0.9", &nat);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, nat.s_addr);
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(40001));
    nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_ASSURED
                      | IPS_SEEN_REPLY | IPS_SRC_NAT | IPS_SRC_NAT_DONE);
    nfct_set_attr_u32(ct, ATTR_SNAT_IPV4, nat.s_addr);
    nfct_set_attr_u16(ct, ATTR_SNAT_PORT, htons(40001));
    return ct;
}

static struct ct_table *
sample_table(void)
{
    struct ct_table *tab = ct_table_create();

    ct_table_add(tab, tcp4("198.18.1.1", "198.18.0.1", 40000, 5001));
    ct_table_add(tab, udp6());
    ct_table_add(tab, icmp4());
    ct_table_add(tab, tcp4_snat());
    return tab;
}

static struct ct_table *
round_trip(const struct ct_table *tab)
{
    struct json *doc = ct_table_to_json(tab);
    char *text = json_to_string(doc, 0);
    struct json *parsed = json_from_string(text);
    struct ct_table *back = NULL;
    char err[256] = "";

    json_destroy(doc);
    free(text);
    assert_int_not_equal(parsed->type, JSON_STRING);
    assert_int_equal(ct_table_from_json(parsed, &back, err, sizeof err), 0);
    json_destroy(parsed);
    return back;
}

/* The ctnetlink request that would create 'ct', zero-padded. */
static size_t
create_msg(const struct nf_conntrack *ct, char *buf, size_t size)
{
    struct nlmsghdr *nlh;

    memset(buf, 0, size);
    nlh = mnl_nlmsg_put_header(buf);
    mnl_nlmsg_put_extra_header(nlh, 4);
    assert_true(nfct_nlmsg_build(nlh, ct) >= 0);
    return nlh->nlmsg_len;
}

static void
test_round_trip(void **state OVS_UNUSED)
{
    struct ct_table *tab = sample_table();
    struct ct_table *back = round_trip(tab);
    char why[1024] = "";
    char a[4096], b[4096];

    assert_true(ct_table_equal(tab, back, true, why, sizeof why));
    assert_int_equal(ct_table_count(back), 4);
    for (size_t i = 0; i < tab->n; i++) {
        size_t la = create_msg(tab->entries[i].ct, a, sizeof a);
        size_t lb = create_msg(back->entries[i].ct, b, sizeof b);

        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
    }
    /* The NAT entry says where it was translated to. */
    struct json *doc = ct_table_to_json(tab);
    char *text = json_to_string(doc, JSSF_SORT);
    assert_non_null(strstr(text, "\"198.18.0.9\",40001"));
    assert_non_null(strstr(text, "[3,100]"));
    /* A plain flow leaves its reversed reply tuple out. */
    assert_non_null(strstr(text, "[\"ipv4\",6,\"198.18.1.1\",\"198.18.0.1\","
                                 "40000,5001,0,null,null,null,14,431999,3,"
                                 "39,35,7,9]"));
    free(text);
    json_destroy(doc);
    ct_table_destroy(back);
    ct_table_destroy(tab);
}

static void
test_equal_sees_differences(void **state OVS_UNUSED)
{
    struct ct_table *a = sample_table(), *b = sample_table();
    char why[1024] = "";

    nfct_set_attr_u32(b->entries[0].ct, ATTR_TIMEOUT, 5);
    assert_false(ct_table_equal(a, b, true, why, sizeof why));
    assert_true(ct_table_equal(a, b, false, why, sizeof why));
    nfct_set_attr_u32(b->entries[1].ct, ATTR_MARK, 0x43);
    assert_false(ct_table_equal(a, b, false, why, sizeof why));
    assert_non_null(strstr(why, ",67"));
    ct_table_destroy(a);
    ct_table_destroy(b);
}

static void
test_delta(void **state OVS_UNUSED)
{
    struct ct_table *prev = sample_table(), *cur = ct_table_create();
    char why[1024];

    /* Entry 0: only its timeout moved (not in the delta); entry 1: mark
     * changed; entry 2 gone; entry 3 unchanged; one new entry. */
    struct nf_conntrack *e0 = nfct_clone(prev->entries[0].ct);
    nfct_set_attr_u32(e0, ATTR_TIMEOUT, 100);
    ct_table_add(cur, e0);
    struct nf_conntrack *e1 = nfct_clone(prev->entries[1].ct);
    nfct_set_attr_u32(e1, ATTR_MARK, 9);
    ct_table_add(cur, e1);
    ct_table_add(cur, nfct_clone(prev->entries[3].ct));
    ct_table_add(cur, tcp4("198.18.1.1", "198.18.0.1", 40002, 5001));

    struct ct_table *delta = ct_table_delta(prev, cur);
    assert_int_equal(ct_table_count(delta), 2);
    assert_int_equal(ct_table_gone_count(delta), 1);
    assert_true(ct_entry_equal(delta->entries[0].ct, e1, true, why,
                               sizeof why));
    assert_int_equal(ntohs(nfct_get_attr_u16(delta->entries[1].ct,
                                             ATTR_ORIG_PORT_SRC)), 40002);
    assert_true(delta->entries[2].gone);
    assert_int_equal(nfct_get_attr_u8(delta->entries[2].ct, ATTR_L4PROTO),
                     IPPROTO_ICMP);

    /* A delta survives the document too, gone entries included. */
    struct ct_table *back = round_trip(delta);
    assert_true(ct_table_equal(delta, back, true, why, sizeof why));
    assert_true(back->delta);

    /* No change: empty delta. */
    struct ct_table *none = ct_table_delta(cur, cur);
    assert_int_equal(none->n, 0);

    ct_table_destroy(none);
    ct_table_destroy(back);
    ct_table_destroy(delta);
    ct_table_destroy(cur);
    ct_table_destroy(prev);
}

static int
parse_edited(const char *text, const char *from, const char *to,
             char *err, size_t errlen)
{
    const char *at = strstr(text, from);
    struct ct_table *tab = NULL;
    struct json *doc;
    char *edited;
    int error;

    assert_non_null(at);
    edited = xasprintf("%.*s%s%s", (int) (at - text), text, to,
                       at + strlen(from));
    doc = json_from_string(edited);
    free(edited);
    if (doc->type == JSON_STRING) {
        json_destroy(doc);
        return -EINVAL;
    }
    error = ct_table_from_json(doc, &tab, err, errlen);
    json_destroy(doc);
    ct_table_destroy(tab);
    return error;
}

static void
test_bad_documents(void **state OVS_UNUSED)
{
    struct ct_table *tab = sample_table();
    struct json *doc = ct_table_to_json(tab);
    char *text = json_to_string(doc, JSSF_SORT);
    char err[512];

    json_destroy(doc);
    ct_table_destroy(tab);
    assert_int_equal(parse_edited(text, "\"version\":1", "\"version\":0",
                                  err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "unknown version 0"));
    assert_int_equal(parse_edited(text, "\"198.18.1.1\"",
                                  "\"198.18.1.300\"", err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "entries[0].src"));
    assert_int_equal(parse_edited(text, "40000,5001", "40000,70000", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "entries[0].dport"));
    assert_int_equal(parse_edited(text, "\"ipv4\"", "\"ipx\"", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "entries[0].family"));
    assert_int_equal(parse_edited(text, "14,431999", "14,null", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "entries[0].timeout: missing"));
    assert_int_equal(parse_edited(text, "\"timeout\"", "\"timeouts\"", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "columns[11]: unknown column"));
    assert_int_equal(parse_edited(text, "[3,100]", "[3,1000]", err,
                                  sizeof err), -EINVAL);
    assert_non_null(strstr(err, "labels[1]"));
    assert_int_equal(parse_edited(text, "\"entries\":[", "\"entries\":{\"a\":[",
                                  err, sizeof err), -EINVAL);
    assert_int_equal(parse_edited(text, "\"entries\":[[", "\"entries\":[[1,",
                                  err, sizeof err), -EINVAL);

    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut += 5) {
        char *part = xmemdup0(text, cut);
        struct json *j = json_from_string(part);
        struct ct_table *t = NULL;

        if (j->type != JSON_STRING) {
            assert_int_equal(ct_table_from_json(j, &t, err, sizeof err),
                             -EINVAL);
        }
        json_destroy(j);
        free(part);
    }
    free(text);
}

static void
test_filter(void **state OVS_UNUSED)
{
    struct ct_table *tab = sample_table();
    struct fw_ct_addr addrs[2];
    struct ct_filter f = { 1, addrs, false, 0 };

    /* A VM's address as source of the original tuple. */
    assert_int_equal(fw_ct_addr_parse("198.18.1.1", &addrs[0]), 0);
    assert_true(ct_filter_match(&f, tab->entries[0].ct));
    assert_false(ct_filter_match(&f, tab->entries[1].ct));
    /* As reply-tuple source (the client's side of the flow). */
    assert_int_equal(fw_ct_addr_parse("198.18.0.1", &addrs[0]), 0);
    assert_true(ct_filter_match(&f, tab->entries[0].ct));
    /* The SNAT address appears only in the reply tuple. */
    assert_int_equal(fw_ct_addr_parse("198.18.0.9", &addrs[0]), 0);
    assert_false(ct_filter_match(&f, tab->entries[0].ct));
    assert_true(ct_filter_match(&f, tab->entries[3].ct));
    /* IPv6, and zones. */
    assert_int_equal(fw_ct_addr_parse("2001:db8:1::1", &addrs[0]), 0);
    assert_true(ct_filter_match(&f, tab->entries[1].ct));
    f.has_zone = true;
    f.zone = 8;
    assert_false(ct_filter_match(&f, tab->entries[1].ct));
    f.zone = 7;
    assert_true(ct_filter_match(&f, tab->entries[1].ct));
    f.n_addrs = 0;
    assert_true(ct_filter_match(&f, tab->entries[1].ct));
    assert_false(ct_filter_match(&f, tab->entries[0].ct));
    assert_int_equal(fw_ct_addr_parse("198.18.1.x", &addrs[1]), -EINVAL);
    ct_table_destroy(tab);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_equal_sees_differences),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_filter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
