/* ovs: the VLAN a frame belongs to, by the port it entered on, as OVS's
 * NORMAL action decides it (vswitch.xml, Port "VLAN Configuration"). */
#include "ovs/ovs.h"

#include <errno.h>
#include <string.h>

#include "openvswitch/types.h"
#include "ovsdb-idl.h"
#include "packets.h"
#include "vswitch-idl.h"

#include "ovs/db-private.h"

/* The 802.1Q VID of 'frame' (0: untagged, or priority-tagged). */
static int
frame_vid(const uint8_t *frame, size_t len)
{
    if (len >= ETH_HEADER_LEN + VLAN_HEADER_LEN
        && frame[12] == 0x81 && frame[13] == 0x00) {
        return ((frame[14] << 8) | frame[15]) & VLAN_VID_MASK;
    }
    return 0;
}

static bool
trunks_vid(const struct ovsrec_port *port, int vid)
{
    if (!port->n_trunks) {
        return true;
    }
    for (size_t i = 0; i < port->n_trunks; i++) {
        if (port->trunks[i] == vid) {
            return true;
        }
    }
    return false;
}

/* The Port and Interface of bridge 'bridge' whose interface is named 'name'
 * or, if 'name' is NULL, has OpenFlow port 'ofport'; NULL if none. */
static const struct ovsrec_port *
find_port(struct nmovs_db *db, const char *bridge, const char *name,
          uint32_t ofport, const struct ovsrec_interface **ifacep)
{
    const struct ovsrec_bridge *br;

    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        if (strcmp(br->name, bridge)) {
            continue;
        }
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *port = br->ports[i];
            for (size_t j = 0; j < port->n_interfaces; j++) {
                const struct ovsrec_interface *iface = port->interfaces[j];
                if (name ? !strcmp(iface->name, name)
                    : iface->n_ofport && *iface->ofport == ofport) {
                    *ifacep = iface;
                    return port;
                }
            }
        }
    }
    return NULL;
}

int
nmovs_frame_vlan(struct nmovs_db *db, const char *bridge, uint32_t ofport,
                 const void *frame, size_t len)
{
    const struct ovsrec_interface *iface;
    const struct ovsrec_port *port = find_port(db, bridge, NULL, ofport,
                                               &iface);
    if (!port) {
        return -1;
    }

    int vid = frame_vid(frame, len);
    int tag = port->n_tag ? *port->tag : -1;
    const char *mode = port->vlan_mode;
    if (!mode) {
        /* OVS: a tag makes an access port (trunks ignored). */
        mode = tag >= 0 ? "access" : "trunk";
    }
    if (!strcmp(mode, "access")) {
        return vid ? -1 : MAX(tag, 0);
    } else if (!strcmp(mode, "native-tagged")
               || !strcmp(mode, "native-untagged")) {
        /* The native VLAN is in the trunks implicitly. */
        return (!vid ? MAX(tag, 0)
                : vid == tag || trunks_vid(port, vid) ? vid
                : -1);
    } else if (!strcmp(mode, "trunk")) {
        /* An untagged frame is VLAN 0, which the trunks may leave out. */
        return trunks_vid(port, vid) ? vid : -1;
    }
    return -1;                  /* dot1q-tunnel: not a VM's network. */
}

int
nmovs_uplink_vlan(struct nmovs_db *db, const char *bridge,
                  uint32_t in_ofport, const char *uplink,
                  uint32_t *uplink_ofport)
{
    const struct ovsrec_interface *iface;
    const struct ovsrec_port *port = find_port(db, bridge, uplink, 0, &iface);
    int vlan = nmovs_frame_vlan(db, bridge, in_ofport, NULL, 0);

    if (!port || !nmovs_iface_ofport(iface) || vlan < 0) {
        return -ENOENT;
    }
    *uplink_ofport = nmovs_iface_ofport(iface);

    /* OVS's xbundle_includes_vlan() and xvlan_output_translate(). */
    int tag = port->n_tag ? *port->tag : -1;
    const char *mode = port->vlan_mode;
    if (!mode) {
        mode = tag >= 0 ? "access" : "trunk";
    }
    if (!strcmp(mode, "access")) {
        return vlan == MAX(tag, 0) ? 0 : -ENETUNREACH;
    } else if (!strcmp(mode, "trunk")) {
        return trunks_vid(port, vlan) ? vlan : -ENETUNREACH;
    } else if (!strcmp(mode, "native-untagged")
               || !strcmp(mode, "native-tagged")) {
        if (vlan != tag && !trunks_vid(port, vlan)) {
            return -ENETUNREACH;
        }
        return !strcmp(mode, "native-untagged") && vlan == tag ? 0 : vlan;
    }
    return -EOPNOTSUPP;
}
