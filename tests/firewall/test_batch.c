/* Tests firewall/batch.c: the nf_tables batch as the kernel receives it
 * (begin with the generation id, the messages, end, all in one sendmsg())
 * and the kernel's answers turned into results: nothing is success, an
 * error names the refused message and the extended-ack reason, ERESTART
 * asks for a new plan.  sendmsg() and recv() are wrapped: the test plays
 * the kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sched.h>

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>

#include "util.h"

#include "firewall/firewall-private.h"

/* What the "kernel" got, and what it answers. */
static uint8_t sent[65536];
static size_t sent_len;
static uint8_t answer[4096];
static size_t answer_len;
static bool answered;

ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);

ssize_t
__wrap_sendmsg(int fd OVS_UNUSED, const struct msghdr *msg,
               int flags OVS_UNUSED)
{
    sent_len = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
        assert_true(sent_len + msg->msg_iov[i].iov_len <= sizeof sent);
        memcpy(sent + sent_len, msg->msg_iov[i].iov_base,
               msg->msg_iov[i].iov_len);
        sent_len += msg->msg_iov[i].iov_len;
    }
    answered = false;
    return sent_len;
}

ssize_t
__wrap_recv(int fd OVS_UNUSED, void *buf, size_t len, int flags)
{
    assert_true(flags & MSG_DONTWAIT);
    if (answered || !answer_len) {
        errno = EAGAIN;
        return -1;
    }
    answered = true;
    assert_true(answer_len <= len);
    memcpy(buf, answer, answer_len);
    return answer_len;
}

/* Queues the kernel's refusal of message 'seq' with 'error' and extended
 * ack 'msg' (NULL: none). */
static void
kernel_refuses(uint32_t seq, int error, const char *msg)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(answer);
    struct nlmsgerr *e;

    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags = NLM_F_CAPPED | (msg ? NLM_F_ACK_TLVS : 0);
    e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
    e->error = error;
    e->msg.nlmsg_len = sizeof e->msg;
    e->msg.nlmsg_seq = seq;
    if (msg) {
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
    }
    answer_len = nlh->nlmsg_len;
}

static struct fw_batch *
three_table_batch(uint32_t genid, uint32_t *seqs)
{
    struct fw_batch *b = fw_batch_create(genid);

    for (int i = 0; i < 3; i++) {
        struct nftnl_table *t = nftnl_table_alloc();
        char name[16];
        struct nlmsghdr *nlh;

        snprintf(name, sizeof name, "t%d", i);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
        seqs[i] = fw_batch_seq(b);
        nlh = nftnl_nlmsg_build_hdr(fw_batch_buffer(b), NFT_MSG_NEWTABLE,
                                    NFPROTO_INET, NLM_F_CREATE,
                                    fw_batch_seq(b));
        nftnl_table_nlmsg_build_payload(nlh, t);
        nftnl_table_free(t);
        fw_batch_commit(b, "add table inet %s", name);
    }
    return b;
}

static int
genid_cb(const struct nlattr *attr, void *genid_)
{
    uint32_t *genid = genid_;

    if (mnl_attr_get_type(attr) == NFNL_BATCH_GENID) {
        *genid = ntohl(mnl_attr_get_u32(attr));
    }
    return MNL_CB_OK;
}

static void
test_batch_on_the_wire(void **state OVS_UNUSED)
{
    struct mnl_socket *nl;
    uint32_t seqs[3], genid = 0;
    char err[256] = "";

    assert_int_equal(nl_open(NETLINK_NETFILTER, &nl), 0);
    struct fw_batch *b = three_table_batch(4242, seqs);
    answer_len = 0;
    assert_int_equal(fw_batch_send(b, nl, err, sizeof err), 0);
    assert_int_equal(fw_batch_n_msgs(b), 4);

    /* begin (with the genid), 3 tables, end: one sendmsg(). */
    const struct nlmsghdr *nlh = (const struct nlmsghdr *) sent;
    int left = sent_len, n = 0;
    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), n++) {
        if (n == 0) {
            assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
            mnl_attr_parse(nlh, sizeof(struct nfgenmsg), genid_cb, &genid);
            assert_int_equal(genid, 4242);
        } else if (n <= 3) {
            assert_int_equal(nlh->nlmsg_type,
                             NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE);
            assert_int_equal(nlh->nlmsg_seq, seqs[n - 1]);
        } else {
            assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_END);
            assert_int_equal(nlh->nlmsg_seq, seqs[2] + 1);
        }
    }
    assert_int_equal(n, 5);
    assert_int_equal(left, 0);
    fw_batch_destroy(b);
    mnl_socket_close(nl);
}

static void
test_kernel_refusal_named(void **state OVS_UNUSED)
{
    struct mnl_socket *nl;
    uint32_t seqs[3];
    char err[256] = "";

    assert_int_equal(nl_open(NETLINK_NETFILTER, &nl), 0);
    struct fw_batch *b = three_table_batch(0, seqs);
    kernel_refuses(seqs[1], -EEXIST, "Table already exists");
    assert_int_equal(fw_batch_send(b, nl, err, sizeof err), -EINVAL);
    assert_string_equal(err, "kernel rejected the batch: add table inet t1: "
                        "File exists: Table already exists");
    fw_batch_destroy(b);

    /* Without an extended ack: the errno alone. */
    b = three_table_batch(0, seqs);
    kernel_refuses(seqs[2], -ENOENT, NULL);
    assert_int_equal(fw_batch_send(b, nl, err, sizeof err), -EINVAL);
    assert_string_equal(err, "kernel rejected the batch: add table inet t2: "
                        "No such file or directory");
    fw_batch_destroy(b);

    /* No permission is no bad input: an operational failure. */
    b = three_table_batch(0, seqs);
    kernel_refuses(seqs[0], -EPERM, NULL);
    assert_int_equal(fw_batch_send(b, nl, err, sizeof err), -EPERM);
    fw_batch_destroy(b);
    mnl_socket_close(nl);
}

static void
test_generation_moved(void **state OVS_UNUSED)
{
    struct mnl_socket *nl;
    uint32_t seqs[3];
    char err[256] = "";

    assert_int_equal(nl_open(NETLINK_NETFILTER, &nl), 0);
    struct fw_batch *b = three_table_batch(7, seqs);
    /* The kernel refuses the begin message: the batch was planned against
     * an older ruleset. */
    kernel_refuses(seqs[0] - 1, -ERESTART, NULL);
    assert_int_equal(fw_batch_send(b, nl, err, sizeof err), -ERESTART);
    fw_batch_destroy(b);
    mnl_socket_close(nl);
}

int
main(void)
{
    /* If a request ever got past the wrapped calls, let it reach a
     * namespace of its own, never the host's (needs root; else no-op). */
    unshare(CLONE_NEWNET);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_on_the_wire),
        cmocka_unit_test(test_kernel_refusal_named),
        cmocka_unit_test(test_generation_moved),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
