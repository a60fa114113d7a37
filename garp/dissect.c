/* garp: what an ARP, RARP, NS or NA frame says, from its bytes alone (the
 * capture's parser, and a check on the builders in tests). */
#include "garp/garp.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <string.h>

#include "packets.h"

#include "garp/garp-private.h"

const char *
garp_seen_type_name(enum garp_seen_type type)
{
    static const char *const names[GARP_N_SEEN] = {
        [GARP_SEEN_GARP_REQUEST] = "garp-request",
        [GARP_SEEN_GARP_REPLY] = "garp-reply",
        [GARP_SEEN_ARP_REQUEST] = "arp-request",
        [GARP_SEEN_ARP_REPLY] = "arp-reply",
        [GARP_SEEN_RARP] = "rarp",
        [GARP_SEEN_NA_UNSOLICITED] = "na-unsolicited",
        [GARP_SEEN_NA_SOLICITED] = "na-solicited",
        [GARP_SEEN_NS] = "ns",
    };
    return type < GARP_N_SEEN ? names[type] : "?";
}

static int
dissect_arp(const uint8_t *l3, size_t len, bool rarp, struct garp_seen *seen)
{
    const struct arp_eth_header *arp = (const void *) l3;
    ovs_be32 spa, tpa;
    uint16_t op;

    if (len < ARP_ETH_HEADER_LEN) {
        return -EBADMSG;
    }
    if (arp->ar_hrd != htons(ARP_HRD_ETHERNET)
        || arp->ar_pro != htons(ARP_PRO_IP)
        || arp->ar_hln != ETH_ADDR_LEN || arp->ar_pln != 4) {
        return -EBADMSG;
    }
    op = ntohs(arp->ar_op);
    spa = get_16aligned_be32(&arp->ar_spa);
    tpa = get_16aligned_be32(&arp->ar_tpa);
    seen->mac = arp->ar_sha;
    if (rarp) {
        if (op != ARP_OP_RARP) {
            return -ENOMSG;
        }
        seen->type = GARP_SEEN_RARP;
        return 0;
    }
    if (op == ARP_OP_REQUEST) {
        seen->type = spa && spa == tpa ? GARP_SEEN_GARP_REQUEST
                                       : GARP_SEEN_ARP_REQUEST;
        garp_addr_from_ipv4(seen->type == GARP_SEEN_ARP_REQUEST ? tpa : spa,
                            &seen->addr);
    } else if (op == ARP_OP_REPLY) {
        seen->type = spa == tpa ? GARP_SEEN_GARP_REPLY : GARP_SEEN_ARP_REPLY;
        garp_addr_from_ipv4(spa, &seen->addr);
    } else {
        return -ENOMSG;
    }
    return 0;
}

/* The link-layer address option of type 'type' in 'opts', if any. */
static bool
find_lla(const uint8_t *opts, size_t len, uint8_t type, struct eth_addr *mac)
{
    while (len >= 8 && opts[1]) {
        size_t optlen = opts[1] * 8;

        if (optlen > len) {
            break;
        }
        if (opts[0] == type && optlen == ND_LLA_OPT_LEN) {
            memcpy(mac, opts + 2, ETH_ADDR_LEN);
            return true;
        }
        opts += optlen;
        len -= optlen;
    }
    return false;
}

static int
dissect_nd(const uint8_t *l3, size_t len, struct garp_seen *seen)
{
    const struct ovs_16aligned_ip6_hdr *ip6 = (const void *) l3;
    const struct ovs_nd_msg *nd;
    size_t l4_len;
    uint32_t flags;

    if (len < IPV6_HEADER_LEN) {
        return -EBADMSG;
    }
    if (ip6->ip6_nxt != IPPROTO_ICMPV6) {
        return -ENOMSG;
    }
    l4_len = MIN(len - IPV6_HEADER_LEN, ntohs(ip6->ip6_plen));
    nd = (const void *) (l3 + IPV6_HEADER_LEN);
    if (l4_len < 1 || (nd->icmph.icmp6_type != ND_NEIGHBOR_ADVERT
                       && nd->icmph.icmp6_type != ND_NEIGHBOR_SOLICIT)) {
        return -ENOMSG;
    }
    if (l4_len < ND_MSG_LEN) {
        return -EBADMSG;
    }
    seen->hop_limit = ip6->ip6_hlim;
    seen->csum_ok = garp_icmp6_checksum(ip6, IPV6_HEADER_LEN + l4_len)
                    == ntohs(nd->icmph.icmp6_cksum);
    memcpy(&seen->addr, &nd->target, sizeof seen->addr);
    if (nd->icmph.icmp6_type == ND_NEIGHBOR_SOLICIT) {
        seen->type = GARP_SEEN_NS;
        if (!find_lla((const uint8_t *) nd->options, l4_len - ND_MSG_LEN,
                      ND_OPT_SOURCE_LINKADDR, &seen->mac)) {
            seen->mac = seen->eth_src;
        }
        return 0;
    }
    flags = ntohl(get_16aligned_be32(&nd->rso_flags));
    seen->router = flags & ND_RSO_ROUTER;
    seen->solicited = flags & ND_RSO_SOLICITED;
    seen->override = flags & ND_RSO_OVERRIDE;
    seen->type = seen->solicited ? GARP_SEEN_NA_SOLICITED
                                 : GARP_SEEN_NA_UNSOLICITED;
    if (!find_lla((const uint8_t *) nd->options, l4_len - ND_MSG_LEN,
                  ND_OPT_TARGET_LINKADDR, &seen->mac)) {
        seen->mac = seen->eth_src;
    }
    return 0;
}

int
garp_dissect(const void *frame, size_t len, struct garp_seen *seen)
{
    /* A copy at an aligned address: OVS's header structs need 2-byte
     * alignment, which a capture buffer does not promise. */
    uint64_t copy[1536 / 8];
    const uint8_t *p = (const uint8_t *) copy;
    const struct eth_header *eth = (const void *) copy;
    size_t off = ETH_HEADER_LEN;
    ovs_be16 type;

    memset(seen, 0, sizeof *seen);
    if (len < ETH_HEADER_LEN) {
        return -ENOMSG;
    }
    len = MIN(len, sizeof copy);
    memcpy(copy, frame, len);
    seen->eth_dst = eth->eth_dst;
    seen->eth_src = eth->eth_src;
    seen->vlan = -1;
    seen->csum_ok = true;
    type = eth->eth_type;
    if (type == htons(ETH_TYPE_VLAN_8021Q)) {
        const struct vlan_eth_header *veh = (const void *) copy;

        if (len < sizeof *veh) {
            return -EBADMSG;
        }
        seen->vlan = vlan_tci_to_vid(veh->veth_tci);
        seen->pcp = vlan_tci_to_pcp(veh->veth_tci);
        type = veh->veth_next_type;
        off = sizeof *veh;
    }
    switch (ntohs(type)) {
    case ETH_TYPE_ARP:
        return dissect_arp(p + off, len - off, false, seen);
    case ETH_TYPE_RARP:
        return dissect_arp(p + off, len - off, true, seen);
    case ETH_TYPE_IPV6:
        return dissect_nd(p + off, len - off, seen);
    default:
        return -ENOMSG;
    }
}

bool
garp_seen_is_claim(const struct garp_seen *seen)
{
    switch (seen->type) {
    case GARP_SEEN_GARP_REQUEST:
    case GARP_SEEN_GARP_REPLY:
    case GARP_SEEN_ARP_REPLY:
    case GARP_SEEN_RARP:
    case GARP_SEEN_NA_UNSOLICITED:
    case GARP_SEEN_NA_SOLICITED:
        return true;
    case GARP_SEEN_ARP_REQUEST:
    case GARP_SEEN_NS:
    case GARP_N_SEEN:
        break;
    }
    return false;
}
