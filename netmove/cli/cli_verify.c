/* netmove verify VM: proves, on the destination, that a moved VM's network
 * is where it should be.  Gathers what the checks judge (netmove/verify/verify.c):
 * the daemon's status and staged documents, this host's OVSDB, OpenFlow,
 * nftables and conntrack, the source's answer through the peer channel,
 * and ARP/ND answers caught on the uplink.  See netmove/verify/VERIFY.md. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csum.h"
#include "dp-packet.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/shash.h"
#include "packets.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/cli/client.h"
#include "netmove/common/config.h"
#include "netmove/addr/owner_probe.h"
#include "netmove/verify/verify.h"
#include "ovs/ovs.h"
#include "netmove/common/json.h"
#include "netmove/common/paths.h"

#define CALL_TIMEOUT_MS 10000
#define MAX_ADDRS 64
#define MAX_OWNERS 4

struct verify_opts {
    const char *vm, *config, *ctl, *ping;
    bool json;
    unsigned long long wait_ms;     /* ARP/ND answers are awaited this long. */
};

/* One interface of the VM, as the daemon announced it. */
struct vaddr_if {
    struct eth_addr mac;
    struct in6_addr addrs[MAX_ADDRS];   /* IPv4 mapped. */
    char *text[MAX_ADDRS];
    size_t n;
};

struct verify_ctx {
    const struct verify_opts *o;
    struct nm_config *cfg;
    char *ctl;
    struct json *status, *docs;     /* The daemon's answers. */
    const struct json *mig;         /* This VM's migration in 'status'. */
    const struct json *export;      /* What the source sent. */
    const char *src;
    int expected_tag;               /* -1: untagged. */
    struct vaddr_if ifs[8];
    size_t n_ifs;
};

static uint64_t
member_u64(const struct json *o, const char *name)
{
    const struct json *m = nm_json_member(o, name);
    return m && m->type == JSON_INTEGER && json_integer(m) > 0
           ? json_integer(m) : 0;
}

/* Runs 'cmd' ARGS on the daemon and parses its JSON answer into '*jp'.
 * Returns 0, or an exit code with the reason on stderr. */
static int
daemon_json(struct verify_ctx *c, const char *cmd, int argc, char *argv[],
            struct json **jp, char **remote_error)
{
    char *result, *error;
    int rc = nm_client_call(c->ctl, cmd, argc, argv, CALL_TIMEOUT_MS,
                            &result, &error);
    /* nm_client_call() ends its alarm with time_alarm(0), which in OVS's
     * timeval.c means "now": the next poll_block() would die of SIGALRM.
     * Push it out of reach instead (verify polls OpenFlow and pcap). */
    time_alarm(UINT_MAX);

    *jp = NULL;
    if (rc == -EINVAL || rc == -EREMOTEIO) {
        if (remote_error) {
            *remote_error = error;
            free(result);
            return NM_EXIT_FAIL;
        }
        int code = nm_fail("%s: %s", cmd, error);
        free(error);
        free(result);
        return code;
    } else if (rc) {
        return nm_fail("%s: cannot reach netmoved at %s: %s", cmd, c->ctl,
                       ovs_strerror(-rc));
    }
    *jp = json_from_string(result);
    free(result);
    free(error);
    if ((*jp)->type == JSON_STRING) {
        int code = nm_fail("%s: netmoved answered no JSON: %s", cmd,
                           json_string(*jp));
        json_destroy(*jp);
        *jp = NULL;
        return code;
    }
    return 0;
}

/* The migration of 'vm' in a status answer. */
static const struct json *
find_migration(const struct json *status, const char *vm)
{
    const struct json *list = nm_json_member(status, "migrations");

    for (size_t i = 0; list && list->type == JSON_ARRAY
                       && i < json_array(list)->n; i++) {
        const struct json *m = json_array(list)->elems[i];
        const struct json *v = nm_json_member(m, "vm");
        if (v && v->type == JSON_STRING && !strcmp(json_string(v), vm)) {
            return m;
        }
    }
    return NULL;
}

/* The VM's MACs and IPs from the migration's "addresses". */
static int
read_addresses(struct verify_ctx *c)
{
    const struct json *list = nm_json_member(c->mig, "addresses");
    char err[NM_ERRLEN];

    for (size_t i = 0; list && list->type == JSON_ARRAY
                       && i < json_array(list)->n
                       && c->n_ifs < ARRAY_SIZE(c->ifs); i++) {
        const struct json *a = json_array(list)->elems[i];
        const struct json *mac = nm_json_member(a, "mac"), *ips = nm_json_member(a, "ips");
        struct vaddr_if *vi = &c->ifs[c->n_ifs];

        if (!mac || mac->type != JSON_STRING
            || garp_parse_mac("addresses.mac", json_string(mac), &vi->mac,
                              err, sizeof err)) {
            return nm_fail("status: %s", err);
        }
        c->n_ifs++;
        for (size_t k = 0; ips && ips->type == JSON_ARRAY
                           && k < json_array(ips)->n && vi->n < MAX_ADDRS;
             k++) {
            const struct json *ip = json_array(ips)->elems[k];
            ovs_be32 ip4;
            bool v6;
            if (ip->type != JSON_STRING
                || garp_parse_ip("addresses.ips", json_string(ip), &ip4,
                                 &vi->addrs[vi->n], &v6, err, sizeof err)) {
                return nm_fail("status: %s", err);
            }
            if (!v6) {
                garp_addr_from_ipv4(ip4, &vi->addrs[vi->n]);
            }
            vi->text[vi->n++] = CONST_CAST(char *, json_string(ip));
        }
    }
    return 0;
}

/* How long the daemon watches the uplink after resume, in us (migration.c:
 * the announcement rounds plus half a second). */
static uint64_t
capture_span_us(const struct nm_config *cfg)
{
    uint64_t ms = 0;
    for (unsigned int k = 1; k < garp_schedule_n_rounds(&cfg->announce); k++) {
        ms += garp_schedule_gap_ms(&cfg->announce, k);
    }
    return (MIN(ms, 10000) + 500 + 300) * 1000;
}

/* Status, documents, addresses; waits for the daemon's capture of the
 * announcements to end if it is still running.  -1 or an exit code. */
static int
gather(struct verify_ctx *c)
{
    char *argv[] = { CONST_CAST(char *, c->o->vm) };
    int code = daemon_json(c, "status", 1, argv, &c->status, NULL);

    if (code) {
        return code;
    }
    c->mig = find_migration(c->status, c->o->vm);
    if (!c->mig) {
        return nm_usage_error("VM: netmoved on %s knows no migration of "
                              "'%s' to this host",
                              c->cfg->host, c->o->vm);
    }
    uint64_t resumed = member_u64(c->mig, "first_frame_wall_us");
    uint64_t until = resumed + capture_span_us(c->cfg);
    if (resumed && !nm_json_member(c->mig, "announcements_seen")
        && time_wall_msec() * 1000 < (long long) until) {
        /* Bounded: capture_span_us() is at most 10.8 s. */
        xnanosleep((until - time_wall_msec() * 1000) * 1000);
        json_destroy(c->status);
        if ((code = daemon_json(c, "status", 1, argv, &c->status, NULL))) {
            return code;
        }
        c->mig = find_migration(c->status, c->o->vm);
        if (!c->mig) {
            return nm_fail("status: the migration of %s vanished", c->o->vm);
        }
    }
    if ((code = daemon_json(c, "docs", 1, argv, &c->docs, NULL))) {
        return code;
    }
    c->export = nm_json_member(c->docs, "export");
    const struct json *src = nm_json_member(c->mig, "src");
    c->src = src && src->type == JSON_STRING ? json_string(src) : NULL;
    if (!c->export || c->export->type != JSON_OBJECT || !c->src) {
        return nm_fail("%s: the migration has no export from its source "
                       "(state %s)", c->o->vm,
                       json_string(nm_json_member(c->mig, "state")));
    }
    const struct json *site = nm_json_member(c->export, "site");
    c->expected_tag = nm_verify_expected_tag(
        c->cfg, nm_verify_doc_tag(nm_json_member(c->export, "port")),
        site && site->type == JSON_STRING ? json_string(site) : NULL);
    code = read_addresses(c);
    return code ? code : -1;
}

/* ---- 1. port ---- */

/* Each interface of 'here' (a port document) has an OpenFlow port and
 * neither netmove's block flows nor no_forward.  The port's number comes
 * from the replica in 'db' and OpenFlow is asked about that port alone:
 * a port description by name lists every port of the bridge (a
 * hypervisor's thousand), so only an interface the replica gives no number
 * yet is looked up by name. */
static bool
check_ofports(struct verify_ctx *c, struct nmovs_db *db,
              const struct json *here, char *why, size_t whylen)
{
    const struct json *ports = nm_json_member(here, "ports");
    size_t n_ok = 0;

    for (size_t i = 0; i < json_array(ports)->n; i++) {
        const struct json *p = json_array(ports)->elems[i];
        const struct json *ifs = nm_json_member(p, "interfaces");
        const char *br = json_string(nm_json_member(p, "bridge"));
        struct nmovs_of *of;
        int error = nmovs_of_open(c->cfg->ovs_rundir, br, &of);
        if (error) {
            snprintf(why, whylen, "bridge %s: OpenFlow: %s", br,
                     ovs_strerror(-error));
            return false;
        }
        for (size_t k = 0; !error && k < json_array(ifs)->n; k++) {
            const char *name = json_string(nm_json_member(json_array(ifs)->elems[k],
                                                  "name"));
            uint32_t ofport;
            size_t n_flows;
            bool no_fwd;
            if (nmovs_vm_iface_ofport(db, c->o->vm, name, &ofport)
                || !ofport) {
                error = nmovs_of_port_no(of, name, &ofport);
            }
            if (error) {
                snprintf(why, whylen, "interface %s has no OpenFlow port on "
                         "%s: %s", name, br, ovs_strerror(-error));
            } else if ((error = nmovs_of_port_blocked(of, ofport, &n_flows,
                                                      &no_fwd))) {
                snprintf(why, whylen, "interface %s: reading its flows: %s",
                         name, ovs_strerror(-error));
            } else if (n_flows || no_fwd) {
                snprintf(why, whylen, "interface %s (ofport %"PRIu32") is "
                         "still blocked: %zu netmove flow(s)%s", name, ofport,
                         n_flows, no_fwd ? ", no_forward" : "");
                error = -EBUSY;
            } else {
                n_ok++;
            }
        }
        nmovs_of_close(of);
        if (error) {
            return false;
        }
    }
    size_t len = strlen(why);
    snprintf(why + len, whylen - len, "; %zu interface(s) with an OpenFlow "
             "port, not blocked", n_ok);
    return true;
}

static void
check_port(struct verify_ctx *c, struct nm_verify *v)
{
    struct nmovs_doc *doc = NULL;
    struct nmovs_db *db;
    struct json *here = NULL;
    char err[NM_ERRLEN], why[NM_ERRLEN];

    int error = nmovs_db_open(NULL, c->cfg->ovs_rundir, 5000, &db, err,
                              sizeof err);
    if (error) {
        nm_verify_set(v, NM_CHECK_PORT, false, "OVSDB: %s", err);
        return;
    }
    if (!nmovs_export(db, c->o->vm, &doc, err, sizeof err)) {
        here = nmovs_doc_to_json(doc);
    }
    bool ok = nm_verify_port_doc(nm_json_member(c->export, "port"), here,
                                 c->expected_tag, why, sizeof why)
              && check_ofports(c, db, here, why, sizeof why);
    nm_verify_set(v, NM_CHECK_PORT, ok, "%s", why);
    json_destroy(here);
    nmovs_doc_destroy(doc);
    nmovs_db_close(db);
}

/* ---- 2 and 7. source: what it holds, where its bridge learns ---- */

static void
check_source(struct verify_ctx *c, struct nm_verify *v)
{
    char *argv[2 + 8 * (MAX_ADDRS + 1)];
    struct eth_addr macs[ARRAY_SIZE(c->ifs)];
    char mac_text[ARRAY_SIZE(c->ifs)][ETH_ADDR_STRLEN + 1];
    struct json *reply;
    char *remote_error = NULL;
    char why[NM_ERRLEN];
    int argc = 0;

    /* source-verify VM SRC IP... MAC...: the MACs for its "fdb". */
    argv[argc++] = CONST_CAST(char *, c->o->vm);
    argv[argc++] = CONST_CAST(char *, c->src);
    for (size_t i = 0; i < c->n_ifs; i++) {
        for (size_t k = 0; k < c->ifs[i].n; k++) {
            argv[argc++] = c->ifs[i].text[k];
        }
        macs[i] = c->ifs[i].mac;
        snprintf(mac_text[i], sizeof mac_text[i], ETH_ADDR_FMT,
                 ETH_ADDR_ARGS(macs[i]));
        argv[argc++] = mac_text[i];
    }
    if (daemon_json(c, "source-verify", argc, argv, &reply, &remote_error)) {
        if (remote_error) {
            remote_error[strcspn(remote_error, "\n")] = '\0';
        }
        const char *e = remote_error ? remote_error : "netmoved unreachable";
        nm_verify_set(v, NM_CHECK_SOURCE, false, "asking %s: %s", c->src, e);
        nm_verify_set(v, NM_CHECK_STALE, false, "asking %s: %s", c->src, e);
        free(remote_error);
        return;
    }
    bool ok = nm_verify_source_reply(reply, why, sizeof why);
    nm_verify_set(v, NM_CHECK_SOURCE, ok, "%s: %s", c->src, why);
    const struct json *fe = nm_json_member(reply, "fdb_error");
    ok = nm_verify_fdb(nm_json_member(reply, "fdb"),
                       fe && fe->type == JSON_STRING ? json_string(fe) : NULL,
                       macs, c->n_ifs, why, sizeof why);
    nm_verify_set(v, NM_CHECK_STALE, ok, "%s: %s", c->src, why);
    json_destroy(reply);
}

/* ---- 3. firewall ---- */

static bool
ruleset_empty(const struct fw_ruleset *rs)
{
    struct fw_counts n;

    fw_ruleset_counts(rs, &n);
    return !n.tables && !n.chains && !n.sets && !n.rules;
}

static void
check_firewall(struct verify_ctx *c, struct nm_verify *v)
{
    struct fw_ruleset *want = NULL, *have = NULL;
    char err[NM_ERRLEN], why[NM_ERRLEN] = "";

    if (fw_ruleset_from_json(nm_json_member(c->export, "fw"), &want, err,
                             sizeof err)) {
        nm_verify_set(v, NM_CHECK_FIREWALL, false, "the export: %s", err);
    } else if (fw_export(c->o->vm, &have, err, sizeof err)) {
        nm_verify_set(v, NM_CHECK_FIREWALL, false, "reading nftables: %s",
                      err);
    } else if (ruleset_empty(want) && ruleset_empty(have)) {
        nm_verify_set_na(v, NM_CHECK_FIREWALL, "the VM has no firewall "
                         "objects, here or in the export");
    } else if (!fw_ruleset_equal(want, have, why, sizeof why)) {
        nm_verify_set(v, NM_CHECK_FIREWALL, false, "differs from the "
                      "export: %s", why);
    } else {
        struct fw_counts n;
        fw_ruleset_counts(have, &n);
        nm_verify_set(v, NM_CHECK_FIREWALL, true, "equal to the export: %zu "
                      "table(s), %zu chain(s), %zu set(s) (%zu element(s)), "
                      "%zu rule(s)", n.tables, n.chains, n.sets, n.elements,
                      n.rules);
    }
    fw_ruleset_destroy(want);
    fw_ruleset_destroy(have);
}

/* ---- 4. conntrack ---- */

static void
check_conntrack(struct verify_ctx *c, struct nm_verify *v)
{
    struct ct_filter filter = { .n_addrs = 0 };
    struct ct_table *tab = NULL;
    char err[NM_ERRLEN], why[NM_ERRLEN];
    size_t n_expected;

    for (size_t i = 0; i < c->n_ifs; i++) {
        for (size_t k = 0; k < c->ifs[i].n; k++) {
            struct fw_ct_addr a;
            if (!fw_ct_addr_parse(c->ifs[i].text[k], &a)) {
                filter.addrs = xrealloc(filter.addrs,
                                        (filter.n_addrs + 1) * sizeof a);
                filter.addrs[filter.n_addrs++] = a;
            }
        }
    }
    int error = filter.n_addrs ? ct_export(&filter, &tab, err, sizeof err)
                               : 0;
    free(filter.addrs);
    if (error) {
        nm_verify_set(v, NM_CHECK_CONNTRACK, false, "reading conntrack: %s",
                      err);
        return;
    }
    struct json *here = tab ? ct_table_to_json(tab) : NULL;
    const struct json *pre = nm_json_member(c->export, "ct");
    const struct json *delta = nm_json_member(c->docs, "ct_delta");
    bool ok = nm_verify_ct_docs(pre, delta, here,
                                member_u64(c->mig, "first_frame_wall_us"),
                                time_wall_msec() * 1000, &n_expected,
                                why, sizeof why);
    if (ok && !n_expected) {
        nm_verify_set_na(v, NM_CHECK_CONNTRACK, "%s", why);
    } else {
        nm_verify_set(v, NM_CHECK_CONNTRACK, ok, "%s", why);
    }
    json_destroy(here);
    ct_table_destroy(tab);
}

/* ---- 6. one owner per address ---- */

static void
judge_owners(struct verify_ctx *c, struct nm_owner_probe *probe,
             struct nm_verify *v)
{
    char why[NM_ERRLEN] = "";
    bool ok = true;

    for (size_t i = 0; ok && i < c->n_ifs; i++) {
        const struct vaddr_if *vi = &c->ifs[i];
        struct eth_addr owners[MAX_ADDRS][MAX_OWNERS];
        const struct eth_addr *ptrs[MAX_ADDRS];
        size_t n_owners[MAX_ADDRS];
        for (size_t k = 0; k < vi->n; k++) {
            n_owners[k] = nm_owner_probe_owners(probe, &vi->addrs[k],
                                                owners[k], MAX_OWNERS);
            ptrs[k] = owners[k];
        }
        ok = nm_verify_owners(vi->mac, vi->addrs, vi->n, ptrs, n_owners,
                              why, sizeof why);
    }
    nm_verify_set(v, NM_CHECK_OWNER, ok, "%s", why);
}

static void
check_owner(struct verify_ctx *c, struct nm_verify *v)
{
    struct in6_addr all[8 * MAX_ADDRS];
    struct nm_owner_probe *probe = NULL;
    struct garp_sender *of = NULL;
    char err[NM_ERRLEN];
    size_t n = 0;

    for (size_t i = 0; i < c->n_ifs; i++) {
        memcpy(&all[n], c->ifs[i].addrs, c->ifs[i].n * sizeof *all);
        n += c->ifs[i].n;
    }
    if (garp_of_sender_create(c->cfg->ovs_rundir, c->cfg->bridge, err,
                              sizeof err, &of)
        || nm_owner_probe_start(c->cfg, of, all, n, MAX(c->expected_tag, 0),
                                c->o->wait_ms, &probe, err, sizeof err)) {
        nm_verify_set(v, NM_CHECK_OWNER, false, "%s", err);
    } else {
        nm_owner_probe_finish(probe);
        if (nm_owner_probe_error(probe)) {
            nm_verify_set(v, NM_CHECK_OWNER, false, "on %s: %s",
                          c->cfg->uplink, nm_owner_probe_error(probe));
        } else {
            judge_owners(c, probe, v);
        }
    }
    nm_owner_probe_destroy(probe);
    garp_sender_destroy(of);
}

/* ---- 8. --ping ADDR ---- */

#define PING_COUNT 3
#define PING_GAP_MS 200
#define PING_WAIT_MS 1000

/* One echo request 'seq' with identifier 'id' to 'to' on raw socket 'fd'. */
static int
ping_send(int fd, bool v6, const struct sockaddr_storage *to, uint16_t id,
          uint16_t seq)
{
    struct icmphdr h = { .type = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO };

    h.un.echo.id = htons(id);
    h.un.echo.sequence = htons(seq);
    if (!v6) {
        h.checksum = csum(&h, sizeof h);    /* The kernel does ICMPv6's. */
    }
    socklen_t len = v6 ? sizeof(struct sockaddr_in6)
                       : sizeof(struct sockaddr_in);
    return sendto(fd, &h, sizeof h, 0, (const struct sockaddr *) to, len) < 0
           ? -errno : 0;
}

static void
check_ping(struct verify_ctx *c, struct nm_verify *v)
{
    struct sockaddr_storage to;
    uint16_t id = getpid();
    int replies = 0, sent = 0;

    memset(&to, 0, sizeof to);
    bool v6 = strchr(c->o->ping, ':') != NULL;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK,
                    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    if (fd < 0) {
        nm_verify_set(v, NM_CHECK_PING, false, "raw socket: %s",
                      ovs_strerror(errno));
        return;
    }
    if (v6) {
        to.ss_family = AF_INET6;
        inet_pton(AF_INET6, c->o->ping,
                  &((struct sockaddr_in6 *) &to)->sin6_addr);
    } else {
        to.ss_family = AF_INET;
        inet_pton(AF_INET, c->o->ping,
                  &((struct sockaddr_in *) &to)->sin_addr);
    }
    long long start = time_msec();
    long long end = start + PING_GAP_MS * (PING_COUNT - 1) + PING_WAIT_MS;
    int error = 0;
    while (time_msec() < end && replies < PING_COUNT) {
        if (sent < PING_COUNT && time_msec() >= start + sent * PING_GAP_MS) {
            error = ping_send(fd, v6, &to, id, sent);
            sent++;
            if (error) {
                break;
            }
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        poll(&pfd, 1, 20);
        uint8_t buf[1500];
        ssize_t len;
        while ((len = recv(fd, buf, sizeof buf, 0)) > 0) {
            replies += nm_verify_is_echo_reply(buf, len, v6, id);
        }
    }
    close(fd);
    if (error) {
        nm_verify_set(v, NM_CHECK_PING, false, "%s: %s", c->o->ping,
                      ovs_strerror(-error));
    } else {
        nm_verify_set(v, NM_CHECK_PING, replies > 0, "%s: %d of %d echo "
                      "requests answered", c->o->ping, MIN(replies, sent),
                      sent);
    }
}

/* ---- the command ---- */

static int
verify_opt(void *o_, int c, const char *arg)
{
    struct verify_opts *o = o_;
    char err[NM_ERRLEN];
    ovs_be32 ip4;
    struct in6_addr ip6;
    bool v6;

    switch (c) {
    case 'j': o->json = true; break;
    case 'c': o->config = arg; break;
    case 'C': o->ctl = arg; break;
    case 'p':
        if (garp_parse_ip("--ping", arg, &ip4, &ip6, &v6, err, sizeof err)) {
            return nm_usage_error("verify: %s", err);
        }
        o->ping = arg;
        break;
    case 'w':
        if (garp_parse_uint("--wait", arg, 0, 5000, &o->wait_ms, err,
                            sizeof err)) {
            return nm_usage_error("verify: %s", err);
        }
        break;
    }
    return 0;
}

static int
parse_verify(int argc, char *argv[], struct verify_opts *o)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'},
        {"ctl", required_argument, NULL, 'C'},
        {"ping", required_argument, NULL, 'p'},
        {"wait", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    int rc;

    memset(o, 0, sizeof *o);
    o->wait_ms = 300;
    rc = nm_parse_options("verify", argc, argv, opts, verify_opt, o);
    if (rc) {
        return rc;
    }
    if (optind < argc) {
        o->vm = argv[optind++];
    }
    if (optind < argc) {
        return nm_usage_error("verify: unexpected argument '%s'",
                              argv[optind]);
    }
    if (!o->vm || !fw_vm_name_valid(o->vm)) {
        return nm_usage_error("verify: VM: %s%s%s", o->vm ? "'" : "missing",
                              o->vm ? o->vm : "", o->vm ? "' is not a VM name"
                                                        : "");
    }
    return -1;
}

static int
cmd_verify(int argc, char *argv[])
{
    struct verify_ctx c;
    struct verify_opts o;
    char err[NM_ERRLEN];

    int code = parse_verify(argc, argv, &o);
    if (code >= 0) {
        return code;
    }
    memset(&c, 0, sizeof c);
    c.o = &o;
    char *path = o.config ? xstrdup(o.config)
                          : xstrdup(nm_config_path());
    int error = nm_config_load(path, &c.cfg, err, sizeof err);
    if (error) {
        code = nm_usage_error("verify: --config: %s: %s", path, err);
        free(path);
        return code;
    }
    free(path);
    c.ctl = nm_client_ctl_path(o.ctl ? o.ctl : c.cfg->control);

    code = gather(&c);
    if (code < 0) {
        struct nm_verify v;
        nm_verify_init(&v, o.vm);
        check_port(&c, &v);
        check_source(&c, &v);
        check_firewall(&c, &v);
        check_conntrack(&c, &v);
        char why[NM_ERRLEN];
        bool ok = nm_verify_announcements(c.mig, c.expected_tag, why,
                                          sizeof why);
        nm_verify_set(&v, NM_CHECK_ANNOUNCE, ok, "%s", why);
        nm_verify_set_drain(&v, c.mig);
        check_owner(&c, &v);
        if (o.ping) {
            check_ping(&c, &v);
        }
        if (o.json) {
            struct json *j = nm_verify_to_json(&v);
            char *s = json_to_string(j, JSSF_PRETTY | JSSF_SORT);
            puts(s);
            free(s);
            json_destroy(j);
        } else {
            nm_verify_print(&v, stdout);
        }
        code = nm_verify_passed(&v) ? NM_EXIT_OK : NM_EXIT_FAIL;
        nm_verify_destroy(&v);
    }
    json_destroy(c.status);
    json_destroy(c.docs);
    free(c.ctl);
    nm_config_destroy(c.cfg);
    return code;
}

const struct nm_cmd nm_cmd_verify = {
    "verify", cmd_verify,
    "prove on the destination that a moved VM's network is where it should be",
    "usage: netmove verify VM [--json] [--ping ADDR] [--wait MS]\n"
    "                         [--config FILE] [--ctl PATH]\n"
    "\n"
    "Run on the destination after a migration through netmoved.  One line\n"
    "per check, PASS or FAIL and why:\n"
    "  port            the VM's port is here with the exported external_ids\n"
    "                  (iface-id, attached-mac, vm-id), this site's VLAN, an\n"
    "                  OpenFlow port, and no netmove block flows/no_forward\n"
    "  source          the source holds no port, firewall object or conntrack\n"
    "                  entry of the VM (asked over the peer channel)\n"
    "  firewall        the VM's nftables objects here equal the export\n"
    "  conntrack       every exported entry still alive exists here\n"
    "  announce        each kind of announcement sent was seen leaving the\n"
    "                  uplink, on this site's VLAN\n"
    "  owner           one MAC, the VM's, answers ARP/ND for each address\n"
    "                  (asked on the uplink and into the bridge; answers\n"
    "                  awaited 200 ms + --wait MS, default 300)\n"
    "  stale-learning  the source's bridge learns the VM's MACs on no local\n"
    "                  port\n"
    "  ping            with --ping ADDR: 3 ICMP echo requests from this host\n"
    "                  (raw socket), at least one answered within 1.4 s\n"
    "\n"
    "--config FILE     netmoved's configuration (default $NETMOVE_CONFIG, else\n"
    "                  " NM_SYSCONFDIR "/netmove/netmoved.json): site, networks,\n"
    "                  uplink\n"
    "--json            the checks as JSON\n"
    "Exit: 0 every check passed, 1 a check failed, 2 bad input.\n",
};
