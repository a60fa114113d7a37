/* garp: the address claim one received frame makes, if any, for learning
 * the addresses a VM uses from its own ARP and neighbour discovery (as
 * libvirt's nwfilter learns them).  Pure: bytes in, a claim out.
 *
 * Only what the frame proves is taken: the claimer is the Ethernet source,
 * and the frame's own statement of its sender (ARP sha, an ND link-layer
 * address option) must agree with it.  Probes (ARP spa 0.0.0.0) and DAD
 * (NS from ::) are questions about an address, not claims on it. */
#include "garp/garp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <string.h>

#include "packets.h"

#include "garp/garp-private.h"

/* Offsets into the packets, in bytes: the frame comes from a capture
 * buffer with no alignment promise, so fields are copied out, never cast. */
#define ARP_LEN 28              /* Ethernet/IPv4 ARP body. */
#define IP6_LEN 40
#define ND_NS_NA_LEN 24         /* ICMPv6 header + reserved/flags + target. */
#define ND_RS_LEN 8             /* ICMPv6 header + reserved. */

const char *
garp_no_claim_name(enum garp_no_claim why)
{
    static const char *const names[GARP_N_NO_CLAIM] = {
        [GARP_NC_NONE] = "claim",
        [GARP_NC_OTHER] = "not-arp-or-nd",
        [GARP_NC_MALFORMED] = "malformed",
        [GARP_NC_SRC_MAC] = "bad-source-mac",
        [GARP_NC_MAC_MISMATCH] = "mac-mismatch",
        [GARP_NC_PROBE] = "arp-probe",
        [GARP_NC_DAD] = "dad",
        [GARP_NC_ADDR] = "bad-address",
    };
    return why < GARP_N_NO_CLAIM ? names[why] : "?";
}

static bool
ipv4_ownable(ovs_be32 ip)
{
    uint32_t h = ntohl(ip);

    /* 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 reserved
     * and the limited broadcast. */
    return (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) < 0xe;
}

static bool
ipv6_ownable(const struct in6_addr *ip)
{
    /* ::/8 holds the unspecified, loopback, IPv4-compatible and
     * IPv4-mapped addresses: none is an IPv6 address a VM owns (and a
     * mapped one would pose as an IPv4 claim).  ff00::/8 is multicast. */
    return ip->s6_addr[0] != 0x00 && ip->s6_addr[0] != 0xff;
}

bool
garp_addr_ownable(const struct in6_addr *addr)
{
    if (IN6_IS_ADDR_V4MAPPED(addr)) {
        ovs_be32 ip;

        memcpy(&ip, &addr->s6_addr[12], 4);
        return ipv4_ownable(ip);
    }
    return ipv6_ownable(addr);
}

bool
garp_addr_is_link_local(const struct in6_addr *addr)
{
    if (IN6_IS_ADDR_V4MAPPED(addr)) {
        return addr->s6_addr[12] == 169 && addr->s6_addr[13] == 254;
    }
    return addr->s6_addr[0] == 0xfe && (addr->s6_addr[1] & 0xc0) == 0x80;
}

static int
no_claim(int error, enum garp_no_claim why, enum garp_no_claim *whyp)
{
    if (whyp) {
        *whyp = why;
    }
    return error;
}

/* 'addr' is IPv4 mapped for ARP, raw IPv6 for ND: an IPv4-mapped address
 * in an ND message is refused by ipv6_ownable(), never read as IPv4. */
static int
claim_addr(struct garp_claim *claim, const struct in6_addr *addr, bool nd,
           enum garp_no_claim *whyp)
{
    if (nd ? !ipv6_ownable(addr) : !garp_addr_ownable(addr)) {
        return no_claim(-ENOMSG, GARP_NC_ADDR, whyp);
    }
    claim->addr = *addr;
    claim->link_local = garp_addr_is_link_local(addr);
    return no_claim(0, GARP_NC_NONE, whyp);
}

/* ARP request or reply: spa is claimed by sha, which must be the
 * Ethernet source. */
static int
parse_arp(const uint8_t *p, size_t len, struct garp_claim *claim,
          enum garp_no_claim *whyp)
{
    static const uint8_t eth_ipv4[6] = { 0x00, 0x01, 0x08, 0x00, 6, 4 };
    struct in6_addr addr;
    ovs_be32 spa;
    uint16_t op;

    if (len < ARP_LEN || memcmp(p, eth_ipv4, sizeof eth_ipv4)) {
        return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
    }
    op = (p[6] << 8) | p[7];
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) {
        return no_claim(-ENOMSG, GARP_NC_OTHER, whyp);
    }
    if (memcmp(p + 8, claim->mac.ea, ETH_ADDR_LEN)) {
        return no_claim(-ENOMSG, GARP_NC_MAC_MISMATCH, whyp);
    }
    memcpy(&spa, p + 14, 4);
    if (!spa) {
        return no_claim(-ENOMSG, GARP_NC_PROBE, whyp);
    }
    claim->kind = GARP_CLAIM_ARP;
    garp_addr_from_ipv4(spa, &addr);
    return claim_addr(claim, &addr, false, whyp);
}

/* Checks the ND options 'opts' ('len' bytes): well formed (RFC 4861 4.6:
 * no option of length 0, none past the end), and every link-layer address
 * option of type 'type' names 'mac'.  0, -EBADMSG or -ENOMSG. */
static int
check_nd_options(const uint8_t *opts, size_t len, uint8_t type,
                 struct eth_addr mac, enum garp_no_claim *whyp)
{
    while (len) {
        size_t optlen;

        if (len < 8 || !opts[1] || (optlen = opts[1] * 8u) > len) {
            return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
        }
        if (opts[0] == type) {
            if (optlen != ND_LLA_OPT_LEN) {
                return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
            }
            if (memcmp(opts + 2, mac.ea, ETH_ADDR_LEN)) {
                return no_claim(-ENOMSG, GARP_NC_MAC_MISMATCH, whyp);
            }
        }
        opts += optlen;
        len -= optlen;
    }
    return 0;
}

/* NS or RS: the IPv6 source is claimed (unless :: = DAD); NA: the target.
 * The checksum is not checked: it proves nothing about who sent the frame
 * (its Ethernet source is the proof), and a checksum left to offload
 * would make a VM's genuine claims look bad. */
static int
parse_nd(const uint8_t *p, size_t len, struct garp_claim *claim,
         enum garp_no_claim *whyp)
{
    const uint8_t *icmp = p + IP6_LEN;
    struct in6_addr src, target;
    size_t plen, min;
    uint8_t type;
    int error;

    if (len < IP6_LEN || (p[0] >> 4) != 6) {
        return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
    }
    plen = (p[4] << 8) | p[5];
    if (p[6] != IPPROTO_ICMPV6 || plen < 1 || len - IP6_LEN < 1) {
        return no_claim(-ENOMSG, GARP_NC_OTHER, whyp);
    }
    type = icmp[0];
    if (type != ND_ROUTER_SOLICIT && type != ND_NEIGHBOR_SOLICIT
        && type != ND_NEIGHBOR_ADVERT) {
        return no_claim(-ENOMSG, GARP_NC_OTHER, whyp);
    }
    /* RFC 4861 7.1.1: a node discards ND that crossed a router (hop limit
     * below 255), with a code other than 0, or too short. */
    min = type == ND_ROUTER_SOLICIT ? ND_RS_LEN : ND_NS_NA_LEN;
    if (plen > len - IP6_LEN || plen < min || p[7] != 255 || icmp[1]) {
        return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
    }
    error = check_nd_options(icmp + min, plen - min,
                             type == ND_NEIGHBOR_ADVERT
                             ? ND_OPT_TARGET_LINKADDR
                             : ND_OPT_SOURCE_LINKADDR, claim->mac, whyp);
    if (error) {
        return error;
    }
    memcpy(&src, p + 8, sizeof src);
    if (type == ND_NEIGHBOR_ADVERT) {
        claim->kind = GARP_CLAIM_NA;
        memcpy(&target, icmp + 8, sizeof target);
        return claim_addr(claim, &target, true, whyp);
    }
    if (ipv6_is_zero(&src)) {
        return no_claim(-ENOMSG, GARP_NC_DAD, whyp);
    }
    claim->kind = type == ND_NEIGHBOR_SOLICIT ? GARP_CLAIM_NS : GARP_CLAIM_RS;
    return claim_addr(claim, &src, true, whyp);
}

int
garp_claim_parse(struct eth_addr src, uint16_t ethertype, const void *payload,
                 size_t len, struct garp_claim *claim,
                 enum garp_no_claim *whyp)
{
    const uint8_t *p = payload;

    memset(claim, 0, sizeof *claim);
    claim->mac = src;
    if (ethertype == ETH_TYPE_VLAN_8021Q) {
        if (len < 4) {
            return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
        }
        claim->vlan = ((p[0] << 8) | p[1]) & VLAN_VID_MASK;
        ethertype = (p[2] << 8) | p[3];
        p += 4;
        len -= 4;
    }
    if (ethertype != ETH_TYPE_ARP && ethertype != ETH_TYPE_IPV6) {
        return no_claim(-ENOMSG, GARP_NC_OTHER, whyp);
    }
    if (eth_addr_is_zero(src) || eth_addr_is_multicast(src)) {
        /* Broadcast included: it has the group bit. */
        return no_claim(-ENOMSG, GARP_NC_SRC_MAC, whyp);
    }
    return (ethertype == ETH_TYPE_ARP ? parse_arp : parse_nd)(p, len, claim,
                                                               whyp);
}

int
garp_claim_parse_eth(const void *frame, size_t len, struct garp_claim *claim,
                     enum garp_no_claim *whyp)
{
    const uint8_t *p = frame;
    struct eth_addr src;

    if (len < ETH_HEADER_LEN) {
        memset(claim, 0, sizeof *claim);
        return no_claim(-EBADMSG, GARP_NC_MALFORMED, whyp);
    }
    memcpy(src.ea, p + ETH_ADDR_LEN, ETH_ADDR_LEN);
    return garp_claim_parse(src, (p[12] << 8) | p[13], p + ETH_HEADER_LEN,
                            len - ETH_HEADER_LEN, claim, whyp);
}

const char *
garp_claim_kind_name(enum garp_claim_kind kind)
{
    switch (kind) {
    case GARP_CLAIM_ARP: return "arp";
    case GARP_CLAIM_NS: return "ns";
    case GARP_CLAIM_NA: return "na";
    case GARP_CLAIM_RS: return "rs";
    }
    return "?";
}
