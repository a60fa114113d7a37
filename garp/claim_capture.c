/* garp: a live capture of the address claims frames make as they come in,
 * on every interface at once (libpcap's "any" device, cooked headers), for
 * learning which addresses VMs use.
 *
 * A frame a VM sends is *received* by the host side of its device (the tap,
 * or the veth the VM's bridge feeds), so the capture takes incoming frames
 * only: a frame OVS delivers *to* a VM's port is outgoing there and proves
 * nothing about that VM.  Packet taps see a frame before OVS's rx handler
 * (kernel datapath) or OVS reading the device (userspace datapath), so
 * frames OVS drops (port security) are seen too: the learner, not the
 * capture, decides what a claim proves. */
#include "garp/garp.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <pcap/sll.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/poll-loop.h"
#include "packets.h"

#include "garp/garp-private.h"

#define DEFAULT_MAX 64

struct garp_claim_capture {
    pcap_t *pcap;
    int dlt;
    int ifindex;                /* DLT_EN10MB: the device's. */
    bool more;                  /* The last run stopped at its limit. */
    garp_claim_cb *cb;          /* During a run. */
    void *aux;
    struct garp_claim_stats stats;
};

/* ARP, RS, NS and NA.  Tagged frames need no clause of their own (libpcap
 * refuses "vlan" on cooked link types anyway): the kernel has moved the tag
 * out of the frame into metadata before a packet socket's filter runs, so
 * "arp" matches a tagged ARP too.  libpcap 1.10 puts the tag back into the
 * frame for Ethernet and SLL captures but not for SLL2: on "any", a tagged
 * frame reads as untagged (claim vlan 0).  The ICMPv6 type test assumes no
 * extension headers, as ND has none. */
static const char cooked_filter[] =
    "arp or (icmp6 and (ip6[40] == 133 or ip6[40] == 135 "
    "or ip6[40] == 136))";
/* On an Ethernet device the tag may still be in the frame. */
static const char ether_filter[] =
    "arp or (icmp6 and (ip6[40] == 133 or ip6[40] == 135 "
    "or ip6[40] == 136)) or (vlan and (arp or (icmp6 and "
    "(ip6[40] == 133 or ip6[40] == 135 or ip6[40] == 136))))";

static int
pcap_errno(int status)
{
    return status == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
           : status == PCAP_ERROR_PERM_DENIED ? -EPERM : -EIO;
}

static int
set_filter(struct garp_claim_capture *cap, char *err, size_t errlen)
{
    struct bpf_program prog;
    int error;

    if (pcap_compile(cap->pcap, &prog, cap->dlt == DLT_EN10MB
                     ? ether_filter : cooked_filter, 1,
                     PCAP_NETMASK_UNKNOWN)) {
        return garp_errno(-EIO, err, errlen, "capture filter: %s",
                          pcap_geterr(cap->pcap));
    }
    error = pcap_setfilter(cap->pcap, &prog);
    pcap_freecode(&prog);
    if (error) {
        return garp_errno(-EIO, err, errlen, "capture filter: %s",
                          pcap_geterr(cap->pcap));
    }
    return 0;
}

/* Activates 'cap->pcap' on 'dev' and settles its link-layer type. */
static int
activate(struct garp_claim_capture *cap, const char *dev, bool any,
         char *err, size_t errlen)
{
    int status;

    pcap_set_snaplen(cap->pcap, 256);
    pcap_set_immediate_mode(cap->pcap, 1);
    status = pcap_activate(cap->pcap);
    if (status < 0) {
        return garp_errno(pcap_errno(status), err, errlen, "dev: %s: %s",
                          dev, pcap_geterr(cap->pcap));
    }
    if (any) {
        /* SLL2 carries the interface index; without it (libpcap before
         * 1.10) the capture stays on SLL and says ifindex 0. */
        pcap_set_datalink(cap->pcap, DLT_LINUX_SLL2);
    }
    cap->dlt = pcap_datalink(cap->pcap);
    if (cap->dlt != DLT_LINUX_SLL2 && cap->dlt != DLT_LINUX_SLL
        && cap->dlt != DLT_EN10MB) {
        return garp_errno(-EINVAL, err, errlen, "dev: '%s' is not an "
                          "Ethernet device (link type %s)", dev,
                          pcap_datalink_val_to_name(cap->dlt));
    }
    if (pcap_setdirection(cap->pcap, PCAP_D_IN)) {
        return garp_errno(-EIO, err, errlen, "dev: %s: incoming only: %s",
                          dev, pcap_geterr(cap->pcap));
    }
    return 0;
}

int
garp_claim_capture_open(const char *dev, char *err, size_t errlen,
                        struct garp_claim_capture **capp)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct garp_claim_capture *cap;
    bool any = !dev || !strcmp(dev, "any");
    int error;

    *capp = NULL;
    if (any) {
        dev = "any";
    } else if (!dev[0] || strlen(dev) >= IF_NAMESIZE
               || !if_nametoindex(dev)) {
        return garp_errno(-ENODEV, err, errlen, "dev: no device '%s' in "
                          "this network namespace", dev);
    }
    cap = calloc(1, sizeof *cap);
    if (!cap) {
        return -ENOMEM;
    }
    cap->ifindex = any ? 0 : if_nametoindex(dev);
    cap->pcap = pcap_create(dev, errbuf);
    if (!cap->pcap) {
        error = garp_errno(-ENODEV, err, errlen, "dev: %s: %s", dev, errbuf);
        goto out_free;
    }
    error = activate(cap, dev, any, err, errlen);
    if (error) {
        goto out_close;
    }
    error = set_filter(cap, err, errlen);
    if (error) {
        goto out_close;
    }
    if (pcap_setnonblock(cap->pcap, 1, errbuf)) {
        error = garp_errno(-EIO, err, errlen, "dev: %s: %s", dev, errbuf);
        goto out_close;
    }
    *capp = cap;
    return 0;

out_close:
    pcap_close(cap->pcap);
out_free:
    free(cap);
    return error;
}

void
garp_claim_capture_close(struct garp_claim_capture *cap)
{
    if (cap) {
        pcap_close(cap->pcap);
        free(cap);
    }
}

/* The fields of a cooked header that matter here. */
struct cooked {
    int ifindex;
    uint16_t hatype, protocol;
    uint8_t pkttype, halen;
    const uint8_t *addr;
};

static uint16_t
get16(const uint8_t *p)
{
    return (p[0] << 8) | p[1];
}

/* Reads the link-layer header at 'p' ('len' bytes) into 'c' and returns its
 * length, or 0 if it is truncated. */
static size_t
read_header(const struct garp_claim_capture *cap, const uint8_t *p,
            size_t len, struct cooked *c)
{
    switch (cap->dlt) {
    case DLT_LINUX_SLL2:
        if (len < SLL2_HDR_LEN) {
            return 0;
        }
        c->protocol = get16(p);
        c->ifindex = (p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7];
        c->hatype = get16(p + 8);
        c->pkttype = p[10];
        c->halen = p[11];
        c->addr = p + 12;
        return SLL2_HDR_LEN;
    case DLT_LINUX_SLL:
        if (len < SLL_HDR_LEN) {
            return 0;
        }
        c->pkttype = get16(p) > 0xff ? 0xff : get16(p);
        c->hatype = get16(p + 2);
        c->halen = get16(p + 4) > 0xff ? 0xff : get16(p + 4);
        c->addr = p + 6;
        c->protocol = get16(p + 14);
        c->ifindex = 0;
        return SLL_HDR_LEN;
    default:                    /* DLT_EN10MB */
        if (len < ETH_HEADER_LEN) {
            return 0;
        }
        c->protocol = get16(p + 12);
        c->ifindex = cap->ifindex;
        c->hatype = ARPHRD_ETHER;
        c->pkttype = LINUX_SLL_HOST;
        c->halen = ETH_ADDR_LEN;
        c->addr = p + ETH_ADDR_LEN;
        return ETH_HEADER_LEN;
    }
}

static void
handle_frame(u_char *cap_, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct garp_claim_capture *cap = (struct garp_claim_capture *) cap_;
    struct garp_claim_rx rx;
    enum garp_no_claim why;
    struct eth_addr src;
    struct cooked c;
    size_t hlen;

    cap->stats.frames++;
    hlen = read_header(cap, bytes, h->caplen, &c);
    if (!hlen) {
        cap->stats.why[GARP_NC_MALFORMED]++;
        return;
    }
    /* PCAP_D_IN already keeps these out; checked again because a frame
     * this host sends proves nothing about a VM. */
    if (c.pkttype == LINUX_SLL_OUTGOING) {
        cap->stats.outgoing++;
        return;
    }
    if (c.hatype != ARPHRD_ETHER || c.halen != ETH_ADDR_LEN) {
        cap->stats.not_ethernet++;
        return;
    }
    memcpy(src.ea, c.addr, ETH_ADDR_LEN);
    memset(&rx, 0, sizeof rx);
    int error = garp_claim_parse(src, c.protocol, bytes + hlen,
                                 h->caplen - hlen, &rx.claim, &why);
    cap->stats.why[why < GARP_N_NO_CLAIM ? why : GARP_NC_OTHER]++;
    if (!error) {
        rx.ifindex = c.ifindex;
        cap->cb(cap->aux, &rx);
    }
}

int
garp_claim_capture_run(struct garp_claim_capture *cap, unsigned int max,
                       garp_claim_cb *cb, void *aux)
{
    unsigned int n_read = 0;

    if (!max) {
        max = DEFAULT_MAX;
    }
    cap->cb = cb;
    cap->aux = aux;
    cap->more = false;
    while (n_read < max) {
        int n = pcap_dispatch(cap->pcap, max - n_read, handle_frame,
                              (u_char *) cap);
        if (n < 0) {
            return -EIO;
        }
        if (!n) {
            return n_read;
        }
        n_read += n;
    }
    cap->more = true;
    return n_read;
}

void
garp_claim_capture_wait(const struct garp_claim_capture *cap)
{
    if (cap->more) {
        poll_immediate_wake();
    } else {
        poll_fd_wait(pcap_get_selectable_fd(cap->pcap), POLLIN);
    }
}

int
garp_claim_capture_datalink(const struct garp_claim_capture *cap)
{
    return cap->dlt;
}

bool
garp_claim_capture_knows_ifindex(const struct garp_claim_capture *cap)
{
    return cap->dlt != DLT_LINUX_SLL;
}

const struct garp_claim_stats *
garp_claim_capture_stats(const struct garp_claim_capture *cap)
{
    return &cap->stats;
}
