/* firewall: one nf_tables batch, all or nothing (nftables' src/mnl.c is
 * the model): begin (with the generation id the batch was planned
 * against), the messages, end, sent at once; the kernel applies all of it
 * or none and reports every refused message. */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>

#include "util.h"

/* As nft: pages of 32 memory pages, room for one maximal message past the
 * end of a page. */
#define BATCH_PAGE_SIZE (32 * 4096)
#define NLMSG_MAXSIZE (UINT16_MAX + 4096)

struct fw_batch {
    struct nftnl_batch *b;
    uint32_t seq_first, seq;
    char **what;            /* Per message, indexed by seq - seq_first. */
    size_t n_what, allocated;
};

static void
add_what(struct fw_batch *fb, char *what)
{
    if (fb->n_what >= fb->allocated) {
        fb->what = x2nrealloc(fb->what, &fb->allocated, sizeof *fb->what);
    }
    fb->what[fb->n_what++] = what;
}

/* Creates a batch planned against generation 'genid' (0: any). */
struct fw_batch *
fw_batch_create(uint32_t genid)
{
    struct fw_batch *fb = xzalloc(sizeof *fb);
    struct nlmsghdr *nlh;

    fb->b = nftnl_batch_alloc(BATCH_PAGE_SIZE, NLMSG_MAXSIZE);
    fb->seq_first = fb->seq = time(NULL);
    nlh = nftnl_batch_begin(nftnl_batch_buffer(fb->b), fb->seq++);
    if (genid) {
        mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
    }
    nftnl_batch_update(fb->b);
    add_what(fb, xstrdup("batch begin"));
    return fb;
}

void
fw_batch_destroy(struct fw_batch *fb)
{
    if (fb) {
        for (size_t i = 0; i < fb->n_what; i++) {
            free(fb->what[i]);
        }
        free(fb->what);
        nftnl_batch_free(fb->b);
        free(fb);
    }
}

char *
fw_batch_buffer(struct fw_batch *fb)
{
    return nftnl_batch_buffer(fb->b);
}

uint32_t
fw_batch_seq(const struct fw_batch *fb)
{
    return fb->seq;
}

size_t
fw_batch_n_msgs(const struct fw_batch *fb)
{
    return fb->n_what;
}

void
fw_batch_commit(struct fw_batch *fb, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    add_what(fb, xvasprintf(fmt, args));
    va_end(args);
    nftnl_batch_update(fb->b);
    fb->seq++;
}

static const char *
what_of(const struct fw_batch *fb, uint32_t seq)
{
    uint32_t i = seq - fb->seq_first;

    return i < fb->n_what ? fb->what[i] : "batch end";
}

/* Reads what the kernel queued in answer to the batch: nothing if it was
 * applied, an error per refused message otherwise. */
static int
read_errors(struct fw_batch *fb, struct mnl_socket *nl, char *err,
            size_t errlen)
{
    char *buf = xmalloc(MNL_SOCKET_BUFFER_SIZE * 4);
    int first = 0;
    size_t n_errors = 0;

    for (;;) {
        ssize_t n = recv(mnl_socket_get_fd(nl), buf,
                         MNL_SOCKET_BUFFER_SIZE * 4, MSG_DONTWAIT);
        const struct nlmsghdr *nlh;
        int len;

        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            if (!first) {
                first = -errno;
                snprintf(err, errlen, "reading the kernel's answer: %s",
                         ovs_strerror(errno));
            }
            break;
        }
        len = n;
        for (nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            char reason[512];
            int code;

            if (nlh->nlmsg_type != NLMSG_ERROR) {
                continue;
            }
            code = nl_error_describe(nlh, reason, sizeof reason);
            if (!code) {
                continue;
            }
            if (!n_errors++) {
                first = code;
                snprintf(err, errlen, "kernel rejected the batch: %s: %s",
                         what_of(fb, nlh->nlmsg_seq), reason);
            }
        }
    }
    free(buf);
    if (n_errors > 1) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, " (and %zu more)", n_errors - 1);
    }
    return first;
}

int
fw_batch_send(struct fw_batch *fb, struct mnl_socket *nl, char *err,
              size_t errlen)
{
    struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
    struct msghdr msg = { 0 };
    struct iovec *iov;
    size_t total = 0;
    int n_iov, error;

    nftnl_batch_end(nftnl_batch_buffer(fb->b), fb->seq++);
    nftnl_batch_update(fb->b);

    n_iov = nftnl_batch_iovec_len(fb->b);
    iov = xcalloc(n_iov, sizeof *iov);
    nftnl_batch_iovec(fb->b, iov, n_iov);
    for (int i = 0; i < n_iov; i++) {
        total += iov[i].iov_len;
    }
    /* The kernel takes the whole batch in one skb. */
    nl_set_buffers(nl, total + 65536);
    msg.msg_name = &snl;
    msg.msg_namelen = sizeof snl;
    msg.msg_iov = iov;
    msg.msg_iovlen = n_iov;
    if (sendmsg(mnl_socket_get_fd(nl), &msg, 0) < 0) {
        error = -errno;
        snprintf(err, errlen, "sending the nf_tables batch (%zu bytes): %s",
                 total, ovs_strerror(errno));
        free(iov);
        return error;
    }
    free(iov);

    /* nfnetlink runs the batch inside sendmsg(): every answer is queued. */
    error = read_errors(fb, nl, err, errlen);
    if (error == -ERESTART) {
        return -ERESTART;
    }
    if (error == -EPERM || error == -ENOMEM || error == -ENOBUFS
        || error == -EIO) {
        return error;
    }
    return error ? -EINVAL : 0;
}
