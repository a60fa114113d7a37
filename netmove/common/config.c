/* netmoved's configuration file, parsed with libopenvswitch's json and
 * ovsdb_parser (typed members; unknown members are an error). */
#include "netmove/common/config.h"
#include "netmove/common/config-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "ovsdb-error.h"
#include "packets.h"
#include "ovsdb-parser.h"
#include "util.h"

#include "netmove/common/paths.h"

/* Moves 'parser''s error, if any, into 'err' and returns -EINVAL, else 0. */
static int
parser_done(struct ovsdb_parser *parser, char *err, size_t errlen)
{
    struct ovsdb_error *error = ovsdb_parser_finish(parser);

    if (error) {
        char *s = ovsdb_error_to_string_free(error);
        snprintf(err, errlen, "%s", s);
        free(s);
        return -EINVAL;
    }
    return 0;
}

static char *
string_member(struct ovsdb_parser *p, const char *name, bool optional,
              const char *dflt)
{
    const struct json *j = ovsdb_parser_member(p, name, OP_STRING
                                               | (optional ? OP_OPTIONAL : 0));
    if (j && !json_string(j)[0]) {
        ovsdb_parser_raise_error(p, "%s: must not be empty", name);
        return NULL;
    }
    return j ? xstrdup(json_string(j)) : dflt ? xstrdup(dflt) : NULL;
}

/* An integer member in [min, max]; 'dflt' if absent. */
static unsigned int
uint_member(struct ovsdb_parser *p, const char *name, long long min,
            long long max, unsigned int dflt)
{
    const struct json *j = ovsdb_parser_member(p, name,
                                               OP_INTEGER | OP_OPTIONAL);
    if (!j) {
        return dflt;
    }
    long long v = json_integer(j);
    if (v < min || v > max) {
        ovsdb_parser_raise_error(p, "%s: %lld is not in %lld..%lld",
                                 name, v, min, max);
        return dflt;
    }
    return v;
}

static int
parse_tls(struct nm_config *cfg, const struct json *j, char *err, size_t len)
{
    struct ovsdb_parser p;

    ovsdb_parser_init(&p, j, "tls");
    cfg->tls_key = string_member(&p, "private_key", false, NULL);
    cfg->tls_cert = string_member(&p, "certificate", false, NULL);
    cfg->tls_ca = string_member(&p, "ca_certificate", false, NULL);
    return parser_done(&p, err, len);
}

static int
parse_peers(struct nm_config *cfg, const struct json *j, char *err, size_t len)
{
    const struct json_array *a = json_array(j);

    cfg->peers = xcalloc(a->n ? a->n : 1, sizeof *cfg->peers);
    for (size_t i = 0; i < a->n; i++) {
        struct nm_peer_config *peer = &cfg->peers[cfg->n_peers++];
        struct ovsdb_parser p;
        char name[32];

        snprintf(name, sizeof name, "peers[%zu]", i);
        ovsdb_parser_init(&p, a->elems[i], "%s", name);
        peer->name = string_member(&p, "name", false, NULL);
        peer->remote = string_member(&p, "remote", false, NULL);
        int error = parser_done(&p, err, len);
        if (error) {
            return error;
        }
        if (!strcmp(peer->name, cfg->host)) {
            snprintf(err, len, "%s.name: '%s' is this host", name, peer->name);
            return -EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(cfg->peers[k].name, peer->name)) {
                snprintf(err, len, "%s.name: '%s' appears twice", name,
                         peer->name);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* Parses 's', an IPv4 or IPv6 address or prefix ("198.18.0.0/24"; an
 * address alone is a /32 or /128) into '*pfx'.  A prefix with host bits is
 * refused.  0 or -EINVAL with 'field' named in 'err'. */
static int
parse_prefix(const char *field, const char *s, struct nm_prefix *pfx,
             char *err, size_t len)
{
    char *copy = xstrdup(s);
    char *slash = strchr(copy, '/');
    bool v6 = strchr(copy, ':') != NULL;
    unsigned int max = v6 ? 128 : 32, plen = max;
    ovs_be32 ip4;
    bool ok;

    if (slash) {
        *slash = '\0';
        ok = str_to_uint(slash + 1, 10, &plen) && plen <= max
             && slash[1] >= '0' && slash[1] <= '9';
    } else {
        ok = true;
    }
    ok = ok && inet_pton(v6 ? AF_INET6 : AF_INET, copy,
                         v6 ? (void *) &pfx->addr : (void *) &ip4) == 1;
    free(copy);
    if (!ok) {
        snprintf(err, len, "%s: '%s' is not an IPv4 or IPv6 address or "
                 "prefix", field, s);
        return -EINVAL;
    }
    if (!v6) {
        pfx->addr = in6_addr_mapped_ipv4(ip4);
    }
    pfx->plen = v6 ? plen : plen + 96;
    struct in6_addr mask = ipv6_create_mask(pfx->plen);
    struct in6_addr net = ipv6_addr_bitand(&pfx->addr, &mask);
    if (!ipv6_addr_equals(&net, &pfx->addr)) {
        snprintf(err, len, "%s: '%s' has host bits set", field, s);
        return -EINVAL;
    }
    return 0;
}

static bool
prefix_contains(const struct nm_prefix *pfx, const struct in6_addr *ip)
{
    struct in6_addr mask = ipv6_create_mask(pfx->plen);
    struct in6_addr net = ipv6_addr_bitand(ip, &mask);
    return ipv6_addr_equals(&net, &pfx->addr);
}

/* A version 2 network's "prefixes" (required, not empty) and
 * "never-announce" (optional: addresses, prefixes or MACs). */
static int
parse_network_bounds(struct nm_network *net, const char *name,
                     const struct json *prefixes, const struct json *never,
                     char *err, size_t len)
{
    char field[96];

    if (!prefixes || !json_array(prefixes)->n) {
        snprintf(err, len, "%s.prefixes: required (version 2): the IPv4 "
                 "and IPv6 prefixes of the network", name);
        return -EINVAL;
    }
    const struct json_array *a = json_array(prefixes);
    net->prefixes = xcalloc(a->n, sizeof *net->prefixes);
    for (size_t i = 0; i < a->n; i++) {
        snprintf(field, sizeof field, "%s.prefixes[%zu]", name, i);
        if (a->elems[i]->type != JSON_STRING) {
            snprintf(err, len, "%s: not a string", field);
            return -EINVAL;
        }
        if (parse_prefix(field, json_string(a->elems[i]),
                         &net->prefixes[net->n_prefixes++], err, len)) {
            return -EINVAL;
        }
    }
    a = never ? json_array(never) : NULL;
    net->never = xcalloc(a && a->n ? a->n : 1, sizeof *net->never);
    net->never_macs = xcalloc(a && a->n ? a->n : 1, sizeof *net->never_macs);
    for (size_t i = 0; a && i < a->n; i++) {
        const char *s = a->elems[i]->type == JSON_STRING
                        ? json_string(a->elems[i]) : NULL;
        struct eth_addr mac;

        snprintf(field, sizeof field, "%s.never-announce[%zu]", name, i);
        if (!s) {
            snprintf(err, len, "%s: not a string", field);
            return -EINVAL;
        }
        /* A MAC has six groups and no "::": never an IPv6 address. */
        if (eth_addr_from_string(s, &mac)) {
            net->never_macs[net->n_never_macs++] = mac;
        } else if (parse_prefix(field, s, &net->never[net->n_never++],
                                err, len)) {
            return -EINVAL;
        }
    }
    return 0;
}

static int
parse_network(struct nm_network *net, const struct json *j, size_t i,
              int version, char *err, size_t len)
{
    const struct json *prefixes = NULL, *never = NULL;
    struct ovsdb_parser p;
    char name[32];

    snprintf(name, sizeof name, "networks[%zu]", i);
    ovsdb_parser_init(&p, j, "%s", name);
    net->name = string_member(&p, "name", false, NULL);
    const struct json *vlans = ovsdb_parser_member(&p, "vlans", OP_OBJECT);
    if (version >= 2) {
        /* Version 1 knows neither: there they are unknown members. */
        prefixes = ovsdb_parser_member(&p, "prefixes",
                                       OP_ARRAY | OP_OPTIONAL);
        never = ovsdb_parser_member(&p, "never-announce",
                                    OP_ARRAY | OP_OPTIONAL);
    }
    int error = parser_done(&p, err, len);
    if (error) {
        return error;
    }
    if (version >= 2
        && parse_network_bounds(net, name, prefixes, never, err, len)) {
        return -EINVAL;
    }

    const struct shash *sites = json_object(vlans);
    struct shash_node *node;

    net->vlans = xcalloc(shash_count(sites) + 1, sizeof *net->vlans);
    SHASH_FOR_EACH (node, sites) {
        const struct json *v = node->data;
        if (v->type != JSON_INTEGER || json_integer(v) < 1
            || json_integer(v) > 4094) {
            snprintf(err, len, "%s.vlans.%s: a VLAN id is an integer in "
                     "1..4094", name, node->name);
            return -EINVAL;
        }
        net->vlans[net->n_vlans].site = xstrdup(node->name);
        net->vlans[net->n_vlans++].vlan = json_integer(v);
    }
    return 0;
}

static int
parse_sections(struct nm_config *cfg, const struct json *tls,
               const struct json *peers, const struct json *networks,
               const struct json *announce, const struct json *drain,
               char *err, size_t len)
{
    struct ovsdb_parser p;
    int error;

    if (tls && (error = parse_tls(cfg, tls, err, len))) {
        return error;
    }
    if (peers && (error = parse_peers(cfg, peers, err, len))) {
        return error;
    }
    if (networks) {
        const struct json_array *a = json_array(networks);
        cfg->networks = xcalloc(a->n + 1, sizeof *cfg->networks);
        for (size_t i = 0; i < a->n; i++) {
            error = parse_network(&cfg->networks[cfg->n_networks++],
                                  a->elems[i], i, cfg->version, err, len);
            if (error) {
                return error;
            }
        }
    }

    struct garp_schedule_params dflt = GARP_SCHEDULE_DEFAULTS;
    dflt.pps = NM_ANNOUNCE_PPS;
    cfg->announce = dflt;
    if (announce) {
        ovsdb_parser_init(&p, announce, "announce");
        cfg->announce.rounds = uint_member(&p, "rounds", 1, GARP_ROUNDS_MAX,
                                           dflt.rounds);
        cfg->announce.initial_ms = uint_member(&p, "initial_ms", 0,
                                               GARP_GAP_MAX_MS, dflt.initial_ms);
        cfg->announce.step_ms = uint_member(&p, "step_ms", 0, GARP_GAP_MAX_MS,
                                            dflt.step_ms);
        cfg->announce.max_ms = uint_member(&p, "max_ms", 0, GARP_GAP_MAX_MS,
                                           dflt.max_ms);
        cfg->announce.tail_until_ms = uint_member(&p, "tail_until_ms", 0,
                                                  GARP_TAIL_MAX_MS, 0);
        cfg->announce.pps = uint_member(&p, "pps", 0, GARP_PPS_MAX,
                                        dflt.pps);
        if ((error = parser_done(&p, err, len))) {
            return error;
        }
        if (garp_schedule_params_validate(&cfg->announce, err, len)) {
            return -EINVAL;
        }
    }

    const struct nm_drain_config dd = NM_DRAIN_DEFAULTS;
    cfg->drain = dd;
    if (drain) {
        ovsdb_parser_init(&p, drain, "drain");
        cfg->drain.deadline_ms = uint_member(&p, "deadline_ms", 0, 5000,
                                             dd.deadline_ms);
        /* The catch's flows have a hard_timeout of 30 s (drain_src.h):
         * netmoved releases them well before. */
        cfg->drain.max_ms = uint_member(&p, "max_ms", 100, 20000,
                                        dd.max_ms);
        cfg->drain.quiet_ms = uint_member(&p, "quiet_ms", 1, 1000,
                                          dd.quiet_ms);
        cfg->drain.max_packets = uint_member(&p, "max_packets", 1, 1000000,
                                             dd.max_packets);
        cfg->drain.max_bytes = uint_member(&p, "max_bytes", 1500, 1 << 30,
                                           dd.max_bytes);
        if ((error = parser_done(&p, err, len))) {
            return error;
        }
    }
    return 0;
}

int
nm_config_from_json(const struct json *json, struct nm_config **cfgp,
                    char *err, size_t errlen)
{
    struct nm_config *cfg = xzalloc(sizeof *cfg);
    struct ovsdb_parser p;
    int error;

    *cfgp = NULL;
    if (json->type != JSON_OBJECT) {
        snprintf(err, errlen, "configuration: not a JSON object");
        error = -EINVAL;
        goto out_free;
    }
    ovsdb_parser_init(&p, json, "configuration");
    const struct json *version = ovsdb_parser_member(&p, "version",
                                                     OP_INTEGER);
    if (version && (json_integer(version) < NM_CONFIG_VERSION_MIN
                    || json_integer(version) > NM_CONFIG_VERSION)) {
        ovsdb_parser_raise_error(&p, "version: %lld is not a version this "
                                 "netmoved reads (%d..%d)",
                                 (long long) json_integer(version),
                                 NM_CONFIG_VERSION_MIN, NM_CONFIG_VERSION);
    } else if (version) {
        cfg->version = json_integer(version);
    }
    cfg->host = string_member(&p, "host", false, NULL);
    cfg->site = string_member(&p, "site", true, "default");
    cfg->bridge = string_member(&p, "bridge", true, "br-int");
    cfg->ovs_rundir = string_member(&p, "ovs_rundir", true, NULL);
    cfg->state_dir = string_member(&p, "state_dir", true, NM_STATE_DIR);
    cfg->control = string_member(&p, "control", true, NULL);
    cfg->uplink = string_member(&p, "uplink", true, NULL);
    cfg->listen = string_member(&p, "listen", true, NULL);
    cfg->export_batch_ms = uint_member(&p, "export_batch_ms", 0,
                                       NM_EXPORT_BATCH_MS_MAX,
                                       NM_EXPORT_BATCH_MS_DEFAULT);
    const struct json *tls = ovsdb_parser_member(&p, "tls",
                                                 OP_OBJECT | OP_OPTIONAL);
    const struct json *peers = ovsdb_parser_member(&p, "peers",
                                                   OP_ARRAY | OP_OPTIONAL);
    const struct json *networks = ovsdb_parser_member(&p, "networks",
                                                      OP_ARRAY | OP_OPTIONAL);
    const struct json *announce = ovsdb_parser_member(&p, "announce",
                                                      OP_OBJECT | OP_OPTIONAL);
    const struct json *drain = ovsdb_parser_member(&p, "drain",
                                                   OP_OBJECT | OP_OPTIONAL);
    error = parser_done(&p, err, errlen);
    if (error) {
        goto out_free;
    }
    error = parse_sections(cfg, tls, peers, networks, announce, drain,
                           err, errlen);
    if (error) {
        goto out_free;
    }
    if ((cfg->listen || cfg->n_peers) && !cfg->tls_key) {
        snprintf(err, errlen, "tls: required when there are peers or a "
                 "listener (peers authenticate each other)");
        error = -EINVAL;
        goto out_free;
    }
    *cfgp = cfg;
    return 0;

out_free:
    nm_config_destroy(cfg);
    return error;
}

int
nm_config_load(const char *path, struct nm_config **cfgp,
               char *err, size_t errlen)
{
    struct json *json = json_from_file(path);
    int error;

    *cfgp = NULL;
    if (json->type == JSON_STRING) {
        /* json_from_file() reports I/O and syntax errors as a string. */
        snprintf(err, errlen, "%s: %s", path, json_string(json));
        json_destroy(json);
        return -EINVAL;
    }
    error = nm_config_from_json(json, cfgp, err, errlen);
    json_destroy(json);
    return error;
}

void
nm_config_destroy(struct nm_config *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < cfg->n_peers; i++) {
        free(cfg->peers[i].name);
        free(cfg->peers[i].remote);
    }
    free(cfg->peers);
    for (size_t i = 0; i < cfg->n_networks; i++) {
        for (size_t k = 0; k < cfg->networks[i].n_vlans; k++) {
            free(cfg->networks[i].vlans[k].site);
        }
        free(cfg->networks[i].vlans);
        free(cfg->networks[i].name);
        free(cfg->networks[i].prefixes);
        free(cfg->networks[i].never);
        free(cfg->networks[i].never_macs);
    }
    free(cfg->networks);
    free(cfg->host);
    free(cfg->site);
    free(cfg->bridge);
    free(cfg->ovs_rundir);
    free(cfg->state_dir);
    free(cfg->control);
    free(cfg->uplink);
    free(cfg->listen);
    free(cfg->tls_key);
    free(cfg->tls_cert);
    free(cfg->tls_ca);
    free(cfg);
}

const struct nm_peer_config *
nm_config_find_peer(const struct nm_config *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_peers; i++) {
        if (!strcmp(cfg->peers[i].name, name)) {
            return &cfg->peers[i];
        }
    }
    return NULL;
}

static int
network_vlan(const struct nm_network *net, const char *site)
{
    for (size_t i = 0; i < net->n_vlans; i++) {
        if (!strcmp(net->vlans[i].site, site)) {
            return net->vlans[i].vlan;
        }
    }
    return -1;
}

int
nm_config_translate_vlan(const struct nm_config *cfg, int vlan,
                         const char *from_site, const char *to_site)
{
    for (size_t i = 0; i < cfg->n_networks; i++) {
        const struct nm_network *net = &cfg->networks[i];
        if (network_vlan(net, from_site) == vlan) {
            int to = network_vlan(net, to_site);
            return to > 0 ? to : vlan;
        }
    }
    return vlan;
}

bool
nm_config_bounds_addresses(const struct nm_config *cfg)
{
    return cfg->version >= 2;
}

const struct nm_network *
nm_config_find_network(const struct nm_config *cfg, int vlan,
                       const char *site)
{
    for (size_t i = 0; i < cfg->n_networks; i++) {
        if (network_vlan(&cfg->networks[i], site) == vlan) {
            return &cfg->networks[i];
        }
    }
    return NULL;
}

/* The never-announce entry of 'net' that holds 'ip', or NULL. */
static const struct nm_prefix *
never_holds(const struct nm_network *net, const struct in6_addr *ip)
{
    for (size_t i = 0; i < net->n_never; i++) {
        if (prefix_contains(&net->never[i], ip)) {
            return &net->never[i];
        }
    }
    return NULL;
}

static bool
prefixes_hold(const struct nm_network *net, const struct in6_addr *ip)
{
    for (size_t i = 0; i < net->n_prefixes; i++) {
        if (prefix_contains(&net->prefixes[i], ip)) {
            return true;
        }
    }
    return false;
}

int
nm_config_check_ip(const struct nm_config *cfg, const struct nm_network *net,
                   const struct in6_addr *ip, char *err, size_t errlen)
{
    char buf[INET6_ADDRSTRLEN];
    bool inside = false;

    if (!nm_config_bounds_addresses(cfg)) {
        return 0;
    }
    ipv6_string_mapped(buf, ip);
    /* Never-announce holds in every network: a gateway of one is nobody's
     * VM anywhere. */
    for (size_t i = 0; i < cfg->n_networks; i++) {
        const struct nm_network *n = &cfg->networks[i];
        if (never_holds(n, ip)) {
            snprintf(err, errlen, "%s is never-announce in network %s "
                     "(a gateway or host address)", buf, n->name);
            return -EINVAL;
        }
        if (!net || net == n) {
            inside |= prefixes_hold(n, ip);
        }
    }
    if (!inside) {
        if (net) {
            snprintf(err, errlen, "%s is outside the prefixes of network %s",
                     buf, net->name);
        } else {
            snprintf(err, errlen, "%s is outside the prefixes of every "
                     "configured network", buf);
        }
        return -EINVAL;
    }
    return 0;
}

int
nm_config_check_mac(const struct nm_config *cfg, struct eth_addr mac,
                    char *err, size_t errlen)
{
    if (eth_addr_is_zero(mac) || eth_addr_is_multicast(mac)) {
        snprintf(err, errlen, ETH_ADDR_FMT" is not a unicast MAC",
                 ETH_ADDR_ARGS(mac));
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->n_networks; i++) {
        const struct nm_network *n = &cfg->networks[i];
        for (size_t k = 0; k < n->n_never_macs; k++) {
            if (eth_addr_equals(n->never_macs[k], mac)) {
                snprintf(err, errlen, ETH_ADDR_FMT" is never-announce in "
                         "network %s (a gateway or host MAC)",
                         ETH_ADDR_ARGS(mac), n->name);
                return -EINVAL;
            }
        }
    }
    return 0;
}
