/* garp: gratuitous ARP and RARP frames, built into caller buffers.
 *
 * The headers are composed by libopenvswitch (compose_arp(), compose_rarp(),
 * eth_push_vlan()) in a stack buffer, padded to the Ethernet minimum and
 * copied out, so this file only decides what goes in each field. */
#include "garp/garp.h"

#include <errno.h>
#include <string.h>

#include "dp-packet.h"
#include "packets.h"

#include "garp/garp-private.h"

/* Checks 'vlan' (NULL or vid 0: untagged).  0 or -EINVAL. */
static int
garp_vlan_check(const struct garp_vlan *vlan)
{
    if (!vlan || !vlan->vid) {
        return vlan && vlan->pcp ? -EINVAL : 0;
    }
    return vlan->vid <= 4094 && vlan->pcp <= 7 ? 0 : -EINVAL;
}

static int
finish(struct dp_packet *b, const struct garp_vlan *vlan, void *buf,
       size_t size, size_t *len)
{
    if (garp_vlan_check(vlan)) {
        return -EINVAL;
    }
    if (dp_packet_size(b) < GARP_FRAME_MIN) {
        dp_packet_put_zeros(b, GARP_FRAME_MIN - dp_packet_size(b));
    }
    if (vlan && vlan->vid) {
        /* The tag goes after the padding, as a switch inserting it would:
         * an access port's 60-byte frame becomes 64 bytes on the trunk. */
        eth_push_vlan(b, htons(ETH_TYPE_VLAN_8021Q),
                      htons((vlan->pcp << VLAN_PCP_SHIFT) | vlan->vid));
    }
    if (dp_packet_size(b) > size) {
        return -ENOSPC;
    }
    memcpy(buf, dp_packet_data(b), dp_packet_size(b));
    *len = dp_packet_size(b);
    return 0;
}

int
garp_frame_finish(struct dp_packet *b, const struct garp_vlan *vlan,
                  void *buf, size_t size, size_t *len)
{
    int error = finish(b, vlan, buf, size, len);

    dp_packet_uninit(b);
    return error;
}

/* A MAC that may own addresses: unicast and not all-zero. */
static bool
mac_is_ok(struct eth_addr mac)
{
    return !eth_addr_is_multicast(mac) && !eth_addr_is_zero(mac);
}

int
garp_build_arp(void *buf, size_t size, struct eth_addr mac, ovs_be32 ip,
               bool reply, const struct garp_vlan *vlan, size_t *len)
{
    uint64_t stub[GARP_FRAME_MAX * 2 / 8];
    struct dp_packet b;

    if (!mac_is_ok(mac)) {
        return -EINVAL;
    }
    dp_packet_use_stub(&b, stub, sizeof stub);
    /* RFC 5227 section 3: a request with spa = tpa and tha zero is the
     * usual announcement; the reply form sets tha = sha.  Both broadcast. */
    compose_arp(&b, reply ? ARP_OP_REPLY : ARP_OP_REQUEST, mac,
                reply ? mac : eth_addr_zero, true, ip, ip);
    return garp_frame_finish(&b, vlan, buf, size, len);
}

int
garp_build_rarp(void *buf, size_t size, struct eth_addr mac,
                const struct garp_vlan *vlan, size_t *len)
{
    uint64_t stub[GARP_FRAME_MAX * 2 / 8];
    struct dp_packet b;

    if (!mac_is_ok(mac)) {
        return -EINVAL;
    }
    dp_packet_use_stub(&b, stub, sizeof stub);
    /* QEMU's announce_self_create(): type 0x8035, op 3 (request reverse),
     * sha = tha = the MAC, spa = tpa = 0.0.0.0, to broadcast. */
    compose_rarp(&b, mac);
    return garp_frame_finish(&b, vlan, buf, size, len);
}
