/* Tests firewall/ct.c's injection: entries created in bulk, many requests
 * per sendto(); those the kernel says exist (EEXIST) updated without NAT,
 * gone entries deleted, refusals counted and named, as conntrack-tools'
 * external_inject.c does it.  sendto() and recv() are wrapped: the test
 * plays ctnetlink, deciding per entry from its source port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sched.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

/* The fake ctnetlink: source ports below 'exists_below' exist already;
 * port 'refused' is refused with EINVAL; every request is counted. */
static int exists_below, refused;
static int n_sendto, n_create, n_update, n_delete, n_update_with_nat;
static uint8_t answers[1 << 20];
static size_t answers_len;

ssize_t __wrap_sendto(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *addr, socklen_t alen);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);

static void
answer_error(const struct nlmsghdr *req, int error)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(answers + answers_len);
    struct nlmsgerr *e;

    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = req->nlmsg_seq;
    nlh->nlmsg_flags = NLM_F_CAPPED;
    e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
    e->error = error;
    e->msg = *req;
    answers_len += NLMSG_ALIGN(nlh->nlmsg_len);
    assert_true(answers_len < sizeof answers - 256);
}

static int
has_nat_cb(const struct nlattr *attr, void *found)
{
    if (mnl_attr_get_type(attr) == CTA_NAT_SRC) {
        *(bool *) found = true;
    }
    return MNL_CB_OK;
}

ssize_t
__wrap_sendto(int fd OVS_UNUSED, const void *buf, size_t len,
              int flags OVS_UNUSED, const struct sockaddr *addr OVS_UNUSED,
              socklen_t alen OVS_UNUSED)
{
    const struct nlmsghdr *nlh = buf;
    int left = len;

    n_sendto++;
    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        struct nf_conntrack *ct = nfct_new();
        uint8_t type = nlh->nlmsg_type & 0xff;
        int sport;

        assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_CTNETLINK);
        assert_true(nfct_nlmsg_parse(nlh, ct) >= 0);
        sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
        nfct_destroy(ct);
        if (type == IPCTNL_MSG_CT_DELETE) {
            n_delete++;
            if (sport >= exists_below) {
                answer_error(nlh, -ENOENT);
            }
        } else if (nlh->nlmsg_flags & NLM_F_CREATE) {
            assert_true(nlh->nlmsg_flags & NLM_F_EXCL);
            n_create++;
            if (sport == refused) {
                answer_error(nlh, -EINVAL);
            } else if (sport < exists_below) {
                answer_error(nlh, -EEXIST);
            }
        } else {
            bool nat = false;

            n_update++;
            mnl_attr_parse(nlh, sizeof(struct nfgenmsg), has_nat_cb, &nat);
            n_update_with_nat += nat;
        }
    }
    assert_int_equal(left, 0);
    return len;
}

ssize_t
__wrap_recv(int fd OVS_UNUSED, void *buf, size_t len, int flags)
{
    size_t n = MIN(answers_len, len);

    assert_true(flags & MSG_DONTWAIT);
    if (!answers_len) {
        errno = EAGAIN;
        return -1;
    }
    /* Whole messages only. */
    const struct nlmsghdr *nlh = (const struct nlmsghdr *) answers;
    int left = n;
    size_t whole = 0;
    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        whole += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    memcpy(buf, answers, whole);
    memmove(answers, answers + whole, answers_len - whole);
    answers_len -= whole;
    return whole;
}

static struct nf_conntrack *
entry(int sport)
{
    struct nf_conntrack *ct = nfct_new();
    struct in_addr s, d, nat;

    inet_pton(AF_INET, "198.18.1.1", &s);
    inet_pton(AF_INET, "198.18.0.1", &d);
    inet_pton(AF_INET, "198.18.0.9", &nat);
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, s.s_addr);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, nat.s_addr);
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(sport));
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(5001));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(5001));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
    nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
    nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_ASSURED
                      | IPS_SRC_NAT | IPS_SRC_NAT_DONE);
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, 300);
    nfct_set_attr_u32(ct, ATTR_SNAT_IPV4, nat.s_addr);
    return ct;
}

static void
reset(int below, int refuse)
{
    exists_below = below;
    refused = refuse;
    n_sendto = n_create = n_update = n_delete = n_update_with_nat = 0;
    answers_len = 0;
}

static void
test_create_exists_update(void **state OVS_UNUSED)
{
    struct ct_table *tab = ct_table_create();
    size_t created, updated, deleted;
    char err[256] = "";

    /* 3000 entries: several sendto() chunks; ports 1000..1999 exist. */
    for (int i = 0; i < 3000; i++) {
        ct_table_add(tab, entry(1000 + i));
    }
    reset(2000, -1);
    assert_int_equal(ct_import(tab, &created, &updated, &deleted, err,
                               sizeof err), 0);
    assert_int_equal(created, 2000);
    assert_int_equal(updated, 1000);
    assert_int_equal(deleted, 0);
    assert_int_equal(n_create, 3000);
    assert_int_equal(n_update, 1000);
    assert_int_equal(n_update_with_nat, 0);   /* NAT cannot be changed. */
    assert_true(n_sendto > 2 && n_sendto < 20);
    ct_table_destroy(tab);
}

static void
test_gone_deleted(void **state OVS_UNUSED)
{
    struct ct_table *tab = ct_table_create();
    size_t created, updated, deleted;
    char err[256] = "";

    ct_table_add(tab, entry(10));
    ct_table_add_gone(tab, entry(20));      /* exists: deleted */
    ct_table_add_gone(tab, entry(5000));    /* already gone: fine */
    reset(1000, -1);
    assert_int_equal(ct_import(tab, &created, &updated, &deleted, err,
                               sizeof err), 0);
    assert_int_equal(n_delete, 2);
    assert_int_equal(deleted, 1);
    assert_int_equal(updated, 1);
    assert_int_equal(created, 0);
    ct_table_destroy(tab);
}

static void
test_refusal_named(void **state OVS_UNUSED)
{
    struct ct_table *tab = ct_table_create();
    size_t created, updated, deleted;
    char err[256] = "";

    for (int i = 0; i < 10; i++) {
        ct_table_add(tab, entry(3000 + i));
    }
    reset(0, 3004);
    assert_int_equal(ct_import(tab, &created, &updated, &deleted, err,
                               sizeof err), -EINVAL);
    /* Every other entry was still tried. */
    assert_int_equal(created, 9);
    assert_int_equal(n_create, 10);
    assert_string_equal(err, "the kernel refused 1 of 10 entries: Invalid "
                        "argument");
    ct_table_destroy(tab);
}

/* A scoped import refuses a table with one entry out of the VM's scope
 * before the first request: nothing is sent, nothing is written. */
static void
test_scoped_refusal_sends_nothing(void **state OVS_UNUSED)
{
    struct fw_ct_addr vm_addr;
    struct ct_filter addrs = { 1, &vm_addr, false, 0 };
    struct ct_scope scope = { &addrs, 0, 0 };
    struct ct_table *tab = ct_table_create();
    size_t created = 1, updated = 1, deleted = 1;
    struct nf_conntrack *other = entry(11);
    struct in_addr a;
    char err[256] = "";

    assert_int_equal(fw_ct_addr_parse("198.18.1.1", &vm_addr), 0);
    inet_pton(AF_INET, "198.18.2.2", &a);     /* Another VM's connection. */
    nfct_set_attr_u32(other, ATTR_ORIG_IPV4_SRC, a.s_addr);
    ct_table_add(tab, entry(10));
    ct_table_add(tab, other);
    reset(0, -1);
    assert_int_equal(ct_import_scoped(tab, &scope, &created, &updated,
                                      &deleted, err, sizeof err), -EINVAL);
    assert_string_equal(err, "entries[1].snat: source 198.18.2.2 is not an "
                        "address of the VM");
    assert_int_equal(n_sendto, 0);
    assert_int_equal(created + updated + deleted, 0);
    ct_table_destroy(tab);

    /* The VM's own entry alone goes through. */
    tab = ct_table_create();
    ct_table_add(tab, entry(10));
    reset(0, -1);
    assert_int_equal(ct_import_scoped(tab, &scope, &created, &updated,
                                      &deleted, err, sizeof err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(n_create, 1);
    ct_table_destroy(tab);
}

int
main(void)
{
    /* If a request ever got past the wrapped calls, let it reach a
     * namespace of its own, never the host's (needs root; else no-op). */
    unshare(CLONE_NEWNET);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_exists_update),
        cmocka_unit_test(test_gone_deleted),
        cmocka_unit_test(test_refusal_named),
        cmocka_unit_test(test_scoped_refusal_sends_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
