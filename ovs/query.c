/* ovs: read-only questions about a port and a bridge, for 'netmove verify':
 * is a port still blocked (netmove's flows by cookie, its no_forward
 * config), and where has a bridge learned which MACs (fdb/show through
 * ovs-vswitchd's unixctl, as ovs-appctl).  Nothing here changes anything. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/match.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/vconn.h"
#include "packets.h"
#include "util.h"

#include "ovs/ofconn-private.h"
#include "ovs/query-private.h"
#include "ovs/db-private.h"

int
nmovs_of_port_blocked(struct nmovs_of *of, uint32_t ofport,
                      size_t *n_flows, bool *no_forward)
{
    struct ofputil_flow_stats_request fsr;
    struct ofputil_flow_stats *fses;
    struct ofputil_phy_port pp;
    size_t n_fses;

    if (!ofport || ofport > UINT16_MAX) {
        return -EINVAL;
    }
    int error = nmovs_of_find_port(of, NULL, ofport, &pp);
    if (error) {
        return error;
    }
    *no_forward = (pp.config & OFPUTIL_PC_NO_FWD) != 0;

    /* ovs-ofctl dump-flows BR "cookie=C/-1" */
    memset(&fsr, 0, sizeof fsr);
    match_init_catchall(&fsr.match);
    fsr.cookie = htonll(nmovs_block_cookie(ofport));
    fsr.cookie_mask = OVS_BE64_MAX;
    fsr.out_port = OFPP_ANY;
    fsr.out_group = OFPG_ANY;
    fsr.table_id = 0xff;
    error = vconn_dump_flows(of->vconn, &fsr, of->protocol, &fses, &n_fses);
    if (error) {
        return error > 0 ? -error : error;
    }
    for (size_t i = 0; i < n_fses; i++) {
        free(CONST_CAST(struct ofpact *, fses[i].ofpacts));
    }
    free(fses);
    *n_flows = n_fses;
    return 0;
}

/* One line of fdb/show: " port  VLAN  MAC                Age", then
 * "%5s  %4d  MAC  %3d" (or "static"), the port an OpenFlow port number or
 * a reserved name such as LOCAL. */
static bool
parse_fdb_line(const char *line, struct nmovs_fdb_entry *e)
{
    char port[16], mac[18], age[16];
    struct eth_addr ea;
    int vlan;

    if (sscanf(line, "%15s %d %17s %15s", port, &vlan, mac, age) != 4
        || !eth_addr_from_string(mac, &ea)) {
        return false;
    }
    e->mac = ea;
    memset(e->port, 0, sizeof e->port);
    ovs_strlcpy(e->port, port, sizeof e->port);
    char *end;
    unsigned long n = strtoul(port, &end, 10);
    e->ofport = *end || !port[0] || n > UINT16_MAX ? 0 : n;
    e->vlan = vlan;
    e->is_static = !strcmp(age, "static");
    e->age = e->is_static ? -1 : atoi(age);
    return true;
}

size_t
nmovs_fdb_parse(const char *text, struct nmovs_fdb_entry **entriesp)
{
    struct nmovs_fdb_entry *entries = NULL;
    size_t n = 0;

    for (const char *line = text; line && *line; ) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t) (nl - line) : strlen(line);
        char *copy = xmemdup0(line, len);
        struct nmovs_fdb_entry e;
        if (parse_fdb_line(copy, &e)) {
            entries = xrealloc(entries, (n + 1) * sizeof *entries);
            entries[n++] = e;
        }
        free(copy);
        line = nl ? nl + 1 : NULL;
    }
    *entriesp = entries;
    return n;
}

/* True if 'e' is about one of the 'n' MACs in 'macs' (any if 'n' is 0). */
static bool
fdb_wanted(const struct nmovs_fdb_entry *e, const struct eth_addr *macs,
           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (eth_addr_equals(e->mac, macs[i])) {
            return true;
        }
    }
    return !n;
}

int
nmovs_fdb_show(const char *rundir, const char *bridge,
               const struct eth_addr *macs, size_t n_macs,
               struct nmovs_fdb_entry **entriesp, size_t *np,
               char *err, size_t errlen)
{
    struct nmovs_fdb_entry *all;
    struct nmovs_of *of = NULL;
    char *text = NULL;

    *entriesp = NULL;
    *np = 0;
    /* ovs-appctl fdb/show BRIDGE */
    char *argv[] = { CONST_CAST(char *, bridge) };
    int error = nmovs_vswitchd_transact(rundir, "fdb/show", 1, argv, &text,
                                        err, errlen);
    if (error) {
        free(text);
        return error;
    }
    size_t n_all = nmovs_fdb_parse(text, &all);
    free(text);
    for (size_t i = 0; i < n_all; i++) {
        if (fdb_wanted(&all[i], macs, n_macs)) {
            all[(*np)++] = all[i];
        }
    }
    *entriesp = all;
    if (!*np) {
        return 0;
    }

    /* Port numbers to names, as the user knows them. */
    error = nmovs_of_open(rundir, bridge, &of);
    for (size_t i = 0; !error && i < *np; i++) {
        struct nmovs_fdb_entry *e = &(*entriesp)[i];
        struct ofputil_phy_port pp;
        if (e->ofport && !nmovs_of_find_port(of, NULL, e->ofport, &pp)) {
            ovs_strlcpy(e->port, pp.name, sizeof e->port);
        }
    }
    nmovs_of_close(of);
    if (error) {
        snprintf(err, errlen, "bridge %s: OpenFlow connection: %s", bridge,
                 ovs_strerror(-error));
        free(*entriesp);
        *entriesp = NULL;
        *np = 0;
    }
    return error;
}
