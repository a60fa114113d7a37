/* Who answers for an address: verify's question, asked from netmoved's loop. */
#include "netmove/addr/owner_probe.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp-packet.h"
#include "openvswitch/poll-loop.h"
#include "timeval.h"
#include "util.h"

#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/verify/verify.h"

#define ROUNDS 3
#define ROUND_GAP_MS 50

struct nm_owner_probe {
    struct garp_capture *cap;
    struct garp_sender *raw;            /* Onto the fabric. */
    struct garp_sender *of;             /* Into the bridge (not ours). */
    uint32_t uplink_ofport;
    struct dp_packet **bufs;
    struct garp_pkt *pkts;
    size_t n;
    int rounds_sent;
    long long int next_ms, end_ms;
    int wait_ms;                        /* After the last round. */
    char *error;
};

int
nm_owner_probe_start(const struct nm_config *cfg, struct garp_sender *of,
                     const struct in6_addr *addrs, size_t n, int vlan,
                     int wait_ms, struct nm_owner_probe **probep,
                     char *err, size_t errlen)
{
    /* Answers on the VLAN asked on only: another VLAN is another network,
     * where the same address may be someone else's by right. */
    struct garp_capture_filter f = { .addrs = addrs, .n_addrs = n,
                                     .match_vlan = true, .vlan = vlan };
    /* A locally administered MAC that no VM has: "nm" and our pid. */
    struct eth_addr asker = ETH_ADDR_C(02, 6e, 6d, 70, 00, 00);
    struct nm_owner_probe *p;
    int error;

    *probep = NULL;
    if (!cfg->uplink) {
        snprintf(err, errlen, "the configuration names no uplink to ask on");
        return -ENODEV;
    }
    p = xzalloc(sizeof *p);
    p->of = of;
    if ((error = garp_capture_open(cfg->uplink, &f, err, errlen, &p->cap))
        || (error = garp_pcap_sender_create(cfg->uplink, err, errlen,
                                            &p->raw))
        || (error = garp_sender_port(of, cfg->uplink, &p->uplink_ofport,
                                     err, errlen))) {
        nm_owner_probe_destroy(p);
        return error;
    }
    asker.ea[4] = getpid() >> 8;
    asker.ea[5] = getpid();
    p->bufs = xcalloc(n, sizeof *p->bufs);
    p->pkts = xcalloc(n, sizeof *p->pkts);
    for (size_t i = 0; i < n; i++) {
        p->bufs[i] = dp_packet_new(128);
        nm_verify_build_question(p->bufs[i], asker, &addrs[i], vlan);
        p->pkts[i] = (struct garp_pkt) { dp_packet_data(p->bufs[i]),
                                         dp_packet_size(p->bufs[i]),
                                         p->uplink_ofport };
    }
    p->n = n;
    p->next_ms = time_msec();
    p->wait_ms = wait_ms;
    p->end_ms = LLONG_MAX;              /* Set when the last round goes. */
    *probep = p;
    return 0;
}

bool
nm_owner_probe_run(struct nm_owner_probe *p)
{
    long long int now = time_msec();
    size_t sent;
    int error;

    if (p->error) {
        return true;
    }
    error = garp_capture_run(p->cap);
    if (!error && p->rounds_sent < ROUNDS && now >= p->next_ms) {
        error = garp_sender_send(p->raw, p->pkts, p->n, NULL, &sent);
        if (!error) {
            error = garp_sender_send(p->of, p->pkts, p->n, NULL, &sent);
        }
        p->rounds_sent++;
        p->next_ms = now + ROUND_GAP_MS;
        if (p->rounds_sent == ROUNDS) {
            p->end_ms = now + p->wait_ms;
        }
    }
    if (error) {
        p->error = xasprintf("asking who answers: %s", ovs_strerror(-error));
        return true;
    }
    return p->rounds_sent == ROUNDS && now >= p->end_ms;
}

void
nm_owner_probe_wait(const struct nm_owner_probe *p)
{
    if (p->error) {
        poll_immediate_wake();
        return;
    }
    garp_capture_wait(p->cap);
    poll_timer_wait_until(p->rounds_sent < ROUNDS ? p->next_ms : p->end_ms);
}

void
nm_owner_probe_finish(struct nm_owner_probe *p)
{
    while (!nm_owner_probe_run(p)) {
        nm_owner_probe_wait(p);
        poll_block();
    }
}

const char *
nm_owner_probe_error(const struct nm_owner_probe *p)
{
    return p->error;
}

size_t
nm_owner_probe_owners(const struct nm_owner_probe *p,
                      const struct in6_addr *addr, struct eth_addr *macs,
                      size_t max)
{
    return garp_capture_owners(p->cap, addr, macs, max);
}

void
nm_owner_probe_destroy(struct nm_owner_probe *p)
{
    if (p) {
        for (size_t i = 0; i < p->n; i++) {
            dp_packet_delete(p->bufs[i]);
        }
        free(p->bufs);
        free(p->pkts);
        garp_capture_close(p->cap);
        garp_sender_destroy(p->raw);
        free(p->error);
        free(p);
    }
}
