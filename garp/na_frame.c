/* garp: IPv6 unsolicited neighbour advertisements (RFC 4861 section 7.2.6),
 * built into caller buffers by libopenvswitch's compose_nd_na(). */
#include "garp/garp.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <string.h>

#include "csum.h"
#include "dp-packet.h"
#include "packets.h"

#include "garp/garp-private.h"

int
garp_build_na(void *buf, size_t size, struct eth_addr mac,
              const struct in6_addr *ip, bool router,
              const struct garp_vlan *vlan, size_t *len)
{
    static const struct eth_addr all_nodes_mac
        = ETH_ADDR_C(33, 33, 00, 00, 00, 01);
    uint64_t stub[GARP_FRAME_MAX * 2 / 8];
    struct dp_packet b;

    if (eth_addr_is_multicast(mac) || eth_addr_is_zero(mac)
        || ipv6_addr_is_multicast(ip) || ipv6_is_zero(ip)) {
        return -EINVAL;
    }
    dp_packet_use_stub(&b, stub, sizeof stub);
    /* Unsolicited: S = 0; O = 1 so that caches replace the old MAC at once;
     * to all nodes; source and target the announced address; hop limit 255
     * (compose_ipv6) or receivers must drop it (RFC 4861 section 7.1.2). */
    compose_nd_na(&b, mac, all_nodes_mac, ip, &in6addr_all_hosts,
                  htonl(ND_RSO_OVERRIDE | (router ? ND_RSO_ROUTER : 0)));
    return garp_frame_finish(&b, vlan, buf, size, len);
}

uint16_t
garp_icmp6_checksum(const void *ip6_, size_t len)
{
    const struct ovs_16aligned_ip6_hdr *ip6 = ip6_;
    uint8_t l4[1500];
    size_t l4_len;

    if (len < IPV6_HEADER_LEN + 4) {
        return 0;
    }
    l4_len = MIN(len - IPV6_HEADER_LEN, ntohs(ip6->ip6_plen));
    if (l4_len < 4 || l4_len > sizeof l4) {
        return 0;
    }
    memcpy(l4, (const uint8_t *) ip6_ + IPV6_HEADER_LEN, l4_len);
    l4[2] = l4[3] = 0;
    return ntohs(packet_csum_upperlayer6(ip6, l4, IPPROTO_ICMPV6, l4_len));
}
