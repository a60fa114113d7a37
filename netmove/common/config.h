/* netmoved's configuration: one versioned JSON file per host.
 *
 *   {
 *     "version": 1,
 *     "host": "host1",                      this host's name (its certificate's CN)
 *     "site": "a",                          the site it belongs to
 *     "bridge": "br-int",                   the integration bridge (default br-int)
 *     "ovs_rundir": "/run/openvswitch",     default $OVS_RUNDIR
 *     "state_dir": "/var/lib/netmove",      the journal
 *     "control": "PATH",                    unixctl socket, default OVS_RUNDIR/netmoved.ctl
 *     "uplink": "up0",                      device where the drain captures (optional)
 *     "listen": "pssl:7300:198.19.0.1",     where peers connect (OVS stream syntax)
 *     "tls": {"private_key": F, "certificate": F, "ca_certificate": F},
 *     "peers": [{"name": "host2", "remote": "ssl:198.19.0.2:7300"}],
 *     "networks": [{"name": "blue", "vlans": {"a": 100, "b": 200}}],
 *     "announce": {"rounds": 5, "initial_ms": 50, "step_ms": 100, "max_ms": 550,
 *                  "tail_until_ms": 0, "pps": 0},
 *     "drain": {"max_ms": 2000, "quiet_ms": 300, "max_packets": 10000,
 *               "max_bytes": 16777216}
 *   }
 *
 * A peer is known by its name, which must be the Common Name of the
 * certificate it presents (signed by 'ca_certificate'). */
#ifndef NETMOVE_CONFIG_H
#define NETMOVE_CONFIG_H 1

#include <stddef.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "garp/garp.h"

#define NM_CONFIG_VERSION 1

struct json;

struct nm_peer_config {
    char *name;
    char *remote;               /* "ssl:IP:PORT" (or "tcp:" in unit tests). */
};

struct nm_network {
    char *name;
    size_t n_vlans;
    struct nm_site_vlan {
        char *site;
        int vlan;               /* 1..4094 */
    } *vlans;
};

struct nm_drain_config {
    unsigned int max_ms;        /* Hard bound on a drain's duration. */
    unsigned int quiet_ms;      /* Ends after this long without a straggler. */
    unsigned int max_packets;
    unsigned int max_bytes;
};

struct nm_config {
    char *host, *site, *bridge;
    char *ovs_rundir, *state_dir, *control, *uplink;
    char *listen;
    char *tls_key, *tls_cert, *tls_ca;
    struct nm_peer_config *peers;
    size_t n_peers;
    struct nm_network *networks;
    size_t n_networks;
    struct garp_schedule_params announce;
    struct nm_drain_config drain;
};

/* Reads and checks the configuration file 'path'.  On success stores it in
 * '*cfgp' and returns 0; on error returns -EINVAL (a bad document, the
 * member named in 'err') or another negative errno (unreadable file). */
int nm_config_load(const char *path, struct nm_config **cfgp,
                   char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Frees 'cfg'.  NULL is accepted. */
void nm_config_destroy(struct nm_config *cfg);

/* The peer named 'name', or NULL if 'name' is not a configured peer. */
const struct nm_peer_config *nm_config_find_peer(const struct nm_config *cfg,
                                                 const char *name);

/* The VLAN a port tagged 'vlan' at site 'from_site' must carry at site
 * 'to_site': the same network's VLAN there.  Returns 'vlan' itself when no
 * network maps it (an untagged or unknown VLAN is kept). */
int nm_config_translate_vlan(const struct nm_config *cfg, int vlan,
                             const char *from_site, const char *to_site);

#endif /* netmove/common/config.h */
