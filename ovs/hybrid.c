/* ovs: the hybrid layout's Linux bridge (OpenStack's qbr): what it learned
 * of a VM's MAC on the wrong side.
 *
 * In the hybrid layout a VM's tap sits in a Linux bridge whose other port is
 * one end of a veth pair; the other end is the VM's port in OVS.  A frame
 * from the VM's MAC that OVS floods into that port (the destination's
 * announcement, flooded back through the fabric while the VM is paused here)
 * teaches the Linux bridge that the MAC is on the veth's side: frames for
 * the VM coming from OVS are then dropped there as going back where they
 * came from, until the VM sends a frame or the entry ages out (300 s).  A
 * migration that fails after its pause leaves the VM running here behind
 * such an entry; removing it (bridge fdb del MAC dev PEER master) makes the
 * Linux bridge flood the next frame for the VM, and relearn. */
#include "ovs/ovs.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "util.h"

struct link_info {
    int link;                   /* IFLA_LINK: a veth's peer; 0: none. */
    int master;                 /* IFLA_MASTER; 0: none. */
    bool other_netns;           /* IFLA_LINK_NETNSID: peer elsewhere. */
    bool is_bridge;             /* IFLA_LINKINFO kind "bridge". */
};

static int
linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
    struct link_info *li = data;

    if (mnl_attr_get_type(attr) == IFLA_INFO_KIND
        && !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING)
        && !strcmp(mnl_attr_get_str(attr), "bridge")) {
        li->is_bridge = true;
    }
    return MNL_CB_OK;
}

static int
link_attr_cb(const struct nlattr *attr, void *data)
{
    struct link_info *li = data;

    switch (mnl_attr_get_type(attr)) {
    case IFLA_LINK:
        if (!mnl_attr_validate(attr, MNL_TYPE_U32)) {
            li->link = mnl_attr_get_u32(attr);
        }
        break;
    case IFLA_MASTER:
        if (!mnl_attr_validate(attr, MNL_TYPE_U32)) {
            li->master = mnl_attr_get_u32(attr);
        }
        break;
    case IFLA_LINK_NETNSID:
        li->other_netns = true;
        break;
    case IFLA_LINKINFO:
        if (!mnl_attr_validate(attr, MNL_TYPE_NESTED)) {
            mnl_attr_parse_nested(attr, linkinfo_attr_cb, li);
        }
        break;
    }
    return MNL_CB_OK;
}

static int
link_cb(const struct nlmsghdr *nlh, void *data)
{
    return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
}

/* One request, its answer through 'cb' (NULL: an ack).  0 or -errno. */
static int
transact(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
         void *data)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    unsigned int portid = mnl_socket_get_portid(nl);
    unsigned int seq = nlh->nlmsg_seq;

    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (n < 0) {
            return -errno;
        }
        int ret = mnl_cb_run(buf, n, seq, portid, cb, data);
        if (ret < 0) {
            return -errno;
        } else if (ret == MNL_CB_STOP) {
            return 0;
        }
    }
}

static int
get_link(struct mnl_socket *nl, unsigned int seq, int ifindex,
         struct link_info *li)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;   /* The ack ends it. */
    nlh->nlmsg_seq = seq;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = ifindex;
    memset(li, 0, sizeof *li);
    return transact(nl, nlh, link_cb, li);
}

int
nmovs_hybrid_forget(const char *iface, const struct eth_addr mac,
                    char *err, size_t errlen)
{
    struct link_info port, peer, master;
    int ifindex = if_nametoindex(iface);

    if (!ifindex) {
        snprintf(err, errlen, "%s: %s", iface, ovs_strerror(errno));
        return -ENODEV;
    }
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int error = errno;
        snprintf(err, errlen, "netlink: %s", ovs_strerror(error));
        if (nl) {
            mnl_socket_close(nl);
        }
        return -error;
    }
    /* rtnetlink answers before sendto() returns; should it not, the loop
     * that called this waits 1 s at most. */
    struct timeval tv = { .tv_sec = 1 };
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
               sizeof tv);
    unsigned int seq = time(NULL);
    int ret = get_link(nl, seq++, ifindex, &port);
    if (!ret && port.link && port.link != ifindex && !port.other_netns) {
        ret = get_link(nl, seq++, port.link, &peer);
        if (!ret && peer.master) {
            ret = get_link(nl, seq++, peer.master, &master);
        }
    } else {
        peer.master = 0;
    }
    if (ret) {
        snprintf(err, errlen, "%s: %s", iface, ovs_strerror(-ret));
    } else if (!peer.master || !master.is_bridge) {
        ret = 0;                /* Not the hybrid layout: nothing to do. */
    } else {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_DELNEIGH;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq++;
        struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
        ndm->ndm_family = AF_BRIDGE;
        ndm->ndm_ifindex = port.link;
        ndm->ndm_flags = NTF_MASTER;
        mnl_attr_put(nlh, NDA_LLADDR, sizeof mac.ea, mac.ea);
        ret = transact(nl, nlh, NULL, NULL);
        if (ret == -ENOENT) {
            ret = 0;            /* It had not learned it there. */
        } else if (ret) {
            snprintf(err, errlen, "%s: bridge fdb del: %s", iface,
                     ovs_strerror(-ret));
        } else {
            ret = 1;
        }
    }
    mnl_socket_close(nl);
    return ret;
}
