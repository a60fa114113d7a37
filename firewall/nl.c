/* firewall: netlink sockets, dumps and error messages (libmnl). */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>

#include "util.h"

/* Large enough for the kernel's biggest dump skbs. */
#define DUMP_BUF_SIZE (128 * 1024)

int
nl_open(int bus, struct mnl_socket **nlp)
{
    struct mnl_socket *nl = mnl_socket_open(bus);
    int one = 1;

    *nlp = NULL;
    if (!nl) {
        return -errno;
    }
    /* The kernel's reason for a refusal, and no echo of our request. */
    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int error = -errno;

        mnl_socket_close(nl);
        return error;
    }
    *nlp = nl;
    return 0;
}

void
nl_set_buffers(struct mnl_socket *nl, size_t bytes)
{
    int fd = mnl_socket_get_fd(nl);
    int size = bytes > INT32_MAX / 2 ? INT32_MAX / 2 : (int) bytes;

    /* As root the FORCE variants pass net.core.{w,r}mem_max. */
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size)) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size)) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
}

/* True if the 'len' bytes at 'buf' end request 'seq': its NLMSG_DONE or an
 * NLMSG_ERROR (an ack or a failure) for it. */
static bool
ends_request(const void *buf, size_t len, uint32_t seq)
{
    const struct nlmsghdr *nlh = buf;
    int left = len;

    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_seq == seq && (nlh->nlmsg_type == NLMSG_DONE
                                      || nlh->nlmsg_type == NLMSG_ERROR)) {
            return true;
        }
    }
    return false;
}

int
nl_dump(struct mnl_socket *nl, struct nlmsghdr *req,
        int (*cb)(const struct nlmsghdr *, void *), void *data)
{
    uint32_t portid = mnl_socket_get_portid(nl);
    uint32_t seq = req->nlmsg_seq;
    int error = 0;
    char *buf;

    if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
        return -errno;
    }
    buf = xmalloc(DUMP_BUF_SIZE);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, DUMP_BUF_SIZE);

        if (n < 0) {
            error = error ? error : -errno;
            break;
        }
        if (!error) {
            int ret = mnl_cb_run(buf, n, seq, portid, cb, data);

            if (ret == MNL_CB_STOP) {
                break;
            } else if (ret == MNL_CB_OK) {
                continue;
            }
            /* libmnl reports an interrupted dump (NLM_F_DUMP_INTR) as
             * EINTR: the caller dumps again. */
            error = -errno;
        }
        /* After a failure, read the rest of this request's answer, so that
         * none of it is taken for the answer to the next request. */
        if (ends_request(buf, n, seq)) {
            break;
        }
    }
    free(buf);
    return error;
}

static int
gen_cb(const struct nlmsghdr *nlh, void *genid_)
{
    uint32_t *genid = genid_;
    struct nftnl_gen *gen;

    if (nlh->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN)) {
        return MNL_CB_OK;
    }
    gen = nftnl_gen_alloc();
    if (nftnl_gen_nlmsg_parse(nlh, gen) < 0) {
        nftnl_gen_free(gen);
        return MNL_CB_ERROR;
    }
    *genid = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
    nftnl_gen_free(gen);
    return MNL_CB_OK;
}

int
nft_get_genid(struct mnl_socket *nl, uint32_t *genid)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;

    nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK,
                                time(NULL));
    return nl_dump(nl, nlh, gen_cb, genid);
}

static int
extack_cb(const struct nlattr *attr, void *msg_)
{
    const char **msg = msg_;

    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG
        && !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING)) {
        *msg = mnl_attr_get_str(attr);
    }
    return MNL_CB_OK;
}

int
nl_error_describe(const struct nlmsghdr *nlh, char *buf, size_t len)
{
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    const char *msg = NULL;

    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e)) {
        snprintf(buf, len, "truncated error message");
        return -EIO;
    }
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        size_t offset = sizeof *e;

        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
            offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        }
        if (mnl_nlmsg_size(offset) <= nlh->nlmsg_len) {
            mnl_attr_parse(nlh, offset, extack_cb, &msg);
        }
    }
    snprintf(buf, len, "%s%s%s", ovs_strerror(-e->error),
             msg ? ": " : "", msg ? msg : "");
    return e->error;
}
