/* netmove verify: the checks that prove a move, as pure judgements over
 * what the CLI gathered (documents, the daemon's answers, captures), so
 * that each can be tested without a lab.  cli_verify.c does the I/O.
 * See netmove/verify/VERIFY.md. */
#ifndef NETMOVE_VERIFY_H
#define NETMOVE_VERIFY_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "openvswitch/compiler.h"
#include "packets.h"

struct json;
struct nm_config;
struct nmovs_fdb_entry;

enum nm_check_id {
    NM_CHECK_PORT,          /* The port here: external_ids, VLAN, ofport,
                             * not blocked. */
    NM_CHECK_SOURCE,        /* Nothing of the VM left on the source. */
    NM_CHECK_FIREWALL,      /* Firewall objects here equal the export. */
    NM_CHECK_CONNTRACK,     /* Every live exported entry exists here. */
    NM_CHECK_ANNOUNCE,      /* Each kind sent was seen on the uplink. */
    NM_CHECK_OWNER,         /* One MAC, the VM's, answers each address. */
    NM_CHECK_STALE,         /* The source's bridge no longer learns the
                             * VM's MACs on a local port. */
    NM_CHECK_PING,          /* --ping ADDR answered. */
    NM_N_CHECKS
};

struct nm_check {
    bool run;               /* Not run: not part of the report. */
    bool pass;
    bool na;                /* Nothing to check: neither pass nor fail. */
    char *why;              /* One line, malloc'd. */
};

struct nm_verify {
    char *vm;
    struct nm_check checks[NM_N_CHECKS];
    char *drain;            /* The drain's counters, one line (NULL: none):
                             * reported, never a check (issue 11). */
};

void nm_verify_init(struct nm_verify *, const char *vm);
void nm_verify_destroy(struct nm_verify *);

/* Records check 'id''s outcome with a reason. */
void nm_verify_set(struct nm_verify *, enum nm_check_id id, bool pass,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records that check 'id' had nothing to check ("N/A", with a reason):
 * it neither passes nor fails the report. */
void nm_verify_set_na(struct nm_verify *, enum nm_check_id id,
                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports the drain of 'migration' (its "drain" in the daemon's status,
 * if any) as one line of counters: printed and in the JSON, never a
 * check's outcome. */
void nm_verify_set_drain(struct nm_verify *, const struct json *migration);

/* True if every check run passed or was N/A, and at least one passed. */
bool nm_verify_passed(const struct nm_verify *);

/* One line per check run: "PASS  port       why" or "FAIL ...". */
void nm_verify_print(const struct nm_verify *, FILE *);

/* {"vm": VM, "pass": bool, "checks": [{"check", "pass", "why"}...]}. */
struct json *nm_verify_to_json(const struct nm_verify *);

/* ---- judgements: each returns true (pass) or false, with a reason in
 * 'why' ('whylen' bytes) either way ---- */

/* Port: the ports of 'exported' (a port document as JSON) against 'here'
 * (the same VM's ports on this host, or NULL if none): each exported port
 * present here, with tag 'expected_tag' (-1: untagged), and on each of its
 * interfaces the exported external_ids iface-id, attached-mac and vm-id. */
bool nm_verify_port_doc(const struct json *exported, const struct json *here,
                        int expected_tag, char *why, size_t whylen);

/* The VLAN a port exported with tag 'tag' (-1: none) at site 'src_site'
 * must carry here: 'cfg''s networks map it to this host's site. */
int nm_verify_expected_tag(const struct nm_config *cfg, int tag,
                           const char *src_site);

/* The tag of the first port of port document 'doc' (-1 if none). */
int nm_verify_doc_tag(const struct json *doc);

/* Source: the source's answer to 'verify' ({ports, fw_objects,
 * ct_entries}) holds zeros. */
bool nm_verify_source_reply(const struct json *reply, char *why,
                            size_t whylen);

/* Conntrack: every entry of conntrack document 'precopy' as changed by
 * 'delta' (its entries replace or add, its "gone" remove; either may be
 * NULL or JSON null) exists in 'here' (a document of this host's entries),
 * compared by tuple (family, proto, addresses, ports, zone, ICMP
 * type/code/id).  An entry whose documented timeout has run out since
 * 'ref_wall_us' (the resume, wall clock) by 'now_wall_us' is not expected
 * any more.  '*n_expected' receives how many were. */
bool nm_verify_ct_docs(const struct json *precopy, const struct json *delta,
                       const struct json *here, uint64_t ref_wall_us,
                       uint64_t now_wall_us, size_t *n_expected,
                       char *why, size_t whylen);

/* Announcements: 'migration' (one migration of 'status', as JSON) saw on
 * the uplink at least one announcement of each kind the daemon sent for
 * its addresses (RARP per MAC, GARP if it has IPv4, NA if IPv6), the first
 * on VLAN 'expected_vlan' (-1: untagged). */
bool nm_verify_announcements(const struct json *migration, int expected_vlan,
                             char *why, size_t whylen);

/* Owners: for each of the 'n' addresses 'addrs' (IPv4 mapped), the
 * 'n_owners[i]' MACs in 'owners[i]' that answered; passes if each has
 * exactly one and it is 'mac'. */
bool nm_verify_owners(struct eth_addr mac, const struct in6_addr *addrs,
                      size_t n, const struct eth_addr *const *owners,
                      const size_t *n_owners, char *why, size_t whylen);

/* Stale learning: 'fdb' (the source's "fdb" member: [{mac, vlan, port,
 * uplink}...], or NULL if the source did not answer one, with its
 * 'fdb_error' if any) has no entry for one of the 'n_macs' MACs on a port
 * other than the source's uplink. */
bool nm_verify_fdb(const struct json *fdb, const char *fdb_error,
                   const struct eth_addr *macs, size_t n_macs,
                   char *why, size_t whylen);

/* ---- the source's side (src_verify in source.c) ---- */

/* Where 'cfg''s bridge has learned the MACs that 'params' names: stores
 * nm_verify_fdb_to_json() in '*fdbp'.  0 or -errno with 'err'. */
int nm_verify_source_fdb(const struct nm_config *cfg,
                         const struct json *params, struct json **fdbp,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- the questions verify asks ---- */

struct dp_packet;

/* "Who has 'addr'?" (IPv4 mapped or IPv6) asked by MAC 'asker' so that
 * nobody learns a wrong answer, into 'b': an ARP probe (who-has ADDR tell
 * 0.0.0.0, as arping -D) or a neighbour solicitation to ADDR's
 * solicited-node group from 'asker''s EUI-64 link-local address, 802.1Q
 * tagged with 'vlan' if it is 1-4094. */
void nm_verify_build_question(struct dp_packet *b, struct eth_addr asker,
                              const struct in6_addr *addr, int vlan);

/* True if 'buf' ('len' bytes, as a raw ICMP socket gives it: with the IPv4
 * header, without the IPv6 one if 'v6') is an echo reply with identifier
 * 'id'. */
bool nm_verify_is_echo_reply(const uint8_t *buf, size_t len, bool v6,
                             uint16_t id);

#endif /* netmove/verify/verify.h */
