/* garp: a live capture of announcements and answers on a device (libpcap):
 * which announcements were seen, and who answers for each address. */
#include "garp/garp.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/poll-loop.h"
#include "packets.h"
#include "util.h"

#include "garp/garp-private.h"

/* Frames kept at most; later ones still count towards the owners. */
#define MAX_SEEN 1000000
/* MACs kept per address: two already make a duplicate. */
#define MAX_OWNERS 8

struct seen_frame {
    struct garp_seen seen;
    uint64_t ts_us;
};

struct owners {
    struct in6_addr addr;
    struct eth_addr macs[MAX_OWNERS];
    size_t n;
};

struct garp_capture {
    pcap_t *pcap;
    int vlan;                   /* Only this one (-1: untagged), or: */
    bool any_vlan;
    bool has_mac;
    struct eth_addr mac;
    struct in6_addr *addrs;
    size_t n_addrs;
    struct seen_frame *seen;
    size_t n_seen, allocated;
    struct owners *owners;
    size_t n_owners, owners_allocated;
    int error;                  /* First allocation failure, as -errno. */
};

/* ARP and RARP, NS and NA, untagged or with one 802.1Q tag.  The ICMPv6
 * type test assumes no extension headers, as ND messages have none. */
static const char capture_filter[] =
    "arp or rarp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136)) or "
    "(vlan and (arp or rarp or (icmp6 and (ip6[40] == 135 or "
    "ip6[40] == 136))))";

int
garp_capture_open(const char *dev, const struct garp_capture_filter *f,
                  char *err, size_t errlen, struct garp_capture **capp)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct garp_capture *cap;
    struct bpf_program prog;
    int error;

    *capp = NULL;
    if (!dev || !dev[0] || strlen(dev) >= IF_NAMESIZE
        || !if_nametoindex(dev)) {
        return garp_errno(-ENODEV, err, errlen, "dev: no device '%s' in "
                          "this network namespace", dev ? dev : "");
    }
    cap = calloc(1, sizeof *cap);
    if (!cap) {
        return -ENOMEM;
    }
    if (f && f->mac) {
        cap->has_mac = true;
        cap->mac = *f->mac;
    }
    cap->any_vlan = !f || !f->match_vlan;
    cap->vlan = f && f->vlan > 0 ? f->vlan : -1;
    if (f && f->n_addrs) {
        cap->addrs = calloc(f->n_addrs, sizeof *cap->addrs);
        if (!cap->addrs) {
            error = -ENOMEM;
            goto out_free;
        }
        memcpy(cap->addrs, f->addrs, f->n_addrs * sizeof *cap->addrs);
        cap->n_addrs = f->n_addrs;
    }

    cap->pcap = pcap_create(dev, errbuf);
    if (!cap->pcap) {
        error = garp_errno(-ENODEV, err, errlen, "dev: %s: %s", dev, errbuf);
        goto out_free;
    }
    pcap_set_snaplen(cap->pcap, 256);
    pcap_set_promisc(cap->pcap, 1);
    pcap_set_immediate_mode(cap->pcap, 1);
    error = pcap_activate(cap->pcap);
    if (error < 0) {
        error = garp_errno(error == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
                           : error == PCAP_ERROR_PERM_DENIED ? -EPERM : -EIO,
                           err, errlen, "dev: %s: %s", dev,
                           pcap_geterr(cap->pcap));
        goto out_close;
    }
    if (pcap_datalink(cap->pcap) != DLT_EN10MB) {
        error = garp_errno(-EINVAL, err, errlen, "dev: '%s' is not an "
                           "Ethernet device", dev);
        goto out_close;
    }
    if (pcap_compile(cap->pcap, &prog, capture_filter, 1,
                     PCAP_NETMASK_UNKNOWN)) {
        error = garp_errno(-EIO, err, errlen, "capture filter: %s",
                           pcap_geterr(cap->pcap));
        goto out_close;
    }
    error = pcap_setfilter(cap->pcap, &prog);
    pcap_freecode(&prog);
    if (error || pcap_setnonblock(cap->pcap, 1, errbuf)) {
        error = garp_errno(-EIO, err, errlen, "dev: %s: %s", dev,
                           pcap_geterr(cap->pcap));
        goto out_close;
    }
    *capp = cap;
    return 0;

out_close:
    pcap_close(cap->pcap);
out_free:
    free(cap->addrs);
    free(cap);
    return error;
}

void
garp_capture_close(struct garp_capture *cap)
{
    if (!cap) {
        return;
    }
    pcap_close(cap->pcap);
    free(cap->addrs);
    free(cap->seen);
    free(cap->owners);
    free(cap);
}

/* True if 'seen' is about the MAC or one of the addresses asked for. */
static bool
wanted(const struct garp_capture *cap, const struct garp_seen *seen)
{
    if (!cap->any_vlan && seen->vlan != cap->vlan) {
        return false;
    }
    if (!cap->has_mac && !cap->n_addrs) {
        return true;
    }
    if (cap->has_mac && (eth_addr_equals(seen->mac, cap->mac)
                         || eth_addr_equals(seen->eth_src, cap->mac))) {
        return true;
    }
    for (size_t i = 0; i < cap->n_addrs; i++) {
        if (ipv6_addr_equals(&seen->addr, &cap->addrs[i])) {
            return true;
        }
    }
    return false;
}

static struct owners *
find_owners(const struct garp_capture *cap, const struct in6_addr *addr)
{
    for (size_t i = 0; i < cap->n_owners; i++) {
        if (ipv6_addr_equals(&cap->owners[i].addr, addr)) {
            return &cap->owners[i];
        }
    }
    return NULL;
}

static void
note_claim(struct garp_capture *cap, const struct garp_seen *seen)
{
    struct owners *o;

    if (!garp_seen_is_claim(seen) || ipv6_is_zero(&seen->addr)) {
        return;
    }
    o = find_owners(cap, &seen->addr);
    if (!o) {
        if (garp_grow((void **) &cap->owners, cap->n_owners,
                      &cap->owners_allocated, sizeof *cap->owners, 8)) {
            cap->error = -ENOMEM;
            return;
        }
        o = &cap->owners[cap->n_owners++];
        memset(o, 0, sizeof *o);
        o->addr = seen->addr;
    }
    for (size_t i = 0; i < o->n; i++) {
        if (eth_addr_equals(o->macs[i], seen->mac)) {
            return;
        }
    }
    if (o->n < MAX_OWNERS) {
        o->macs[o->n++] = seen->mac;
    }
}

static void
handle_frame(u_char *cap_, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct garp_capture *cap = (struct garp_capture *) cap_;
    struct garp_seen seen;

    if (garp_dissect(bytes, h->caplen, &seen) || !wanted(cap, &seen)) {
        return;
    }
    note_claim(cap, &seen);
    if (cap->n_seen >= MAX_SEEN) {
        return;
    }
    if (garp_grow((void **) &cap->seen, cap->n_seen, &cap->allocated,
                  sizeof *cap->seen, 64)) {
        cap->error = -ENOMEM;
        return;
    }
    cap->seen[cap->n_seen].seen = seen;
    cap->seen[cap->n_seen].ts_us = (uint64_t) h->ts.tv_sec * 1000000
                                   + h->ts.tv_usec;
    cap->n_seen++;
}

int
garp_capture_run(struct garp_capture *cap)
{
    for (;;) {
        int n = pcap_dispatch(cap->pcap, -1, handle_frame, (u_char *) cap);

        if (n < 0) {
            return -EIO;
        }
        if (cap->error) {
            return cap->error;
        }
        if (!n) {
            return 0;
        }
    }
}

void
garp_capture_wait(const struct garp_capture *cap)
{
    poll_fd_wait(pcap_get_selectable_fd(cap->pcap), POLLIN);
}

size_t
garp_capture_n_seen(const struct garp_capture *cap)
{
    return cap->n_seen;
}

const struct garp_seen *
garp_capture_seen(const struct garp_capture *cap, size_t i, uint64_t *ts_us)
{
    if (i >= cap->n_seen) {
        return NULL;
    }
    if (ts_us) {
        *ts_us = cap->seen[i].ts_us;
    }
    return &cap->seen[i].seen;
}

size_t
garp_capture_owners(const struct garp_capture *cap,
                    const struct in6_addr *addr, struct eth_addr *macs,
                    size_t max)
{
    const struct owners *o = find_owners(cap, addr);

    if (!o) {
        return 0;
    }
    for (size_t i = 0; i < o->n && i < max; i++) {
        macs[i] = o->macs[i];
    }
    return o->n;
}
