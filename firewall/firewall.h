/* firewall: a VM's nftables objects and conntrack entries, exported to
 * versioned JSON documents and imported on another host.
 *
 * The convention (see firewall/README.md): a VM's firewall is every table
 * whose comment is "netmove:vm=<vm>" (the whole table), plus, in any other
 * table, every chain, set, map and rule whose comment is "netmove:vm=<vm>".
 * Untagged objects are the host's and never move.
 *
 * Everything talks to the kernel of the calling thread's network namespace
 * through netlink (libnftnl + libmnl for nf_tables, libnetfilter_conntrack
 * over libmnl for ctnetlink).  Functions return 0 or a negative errno; where
 * a reason helps, it is written to 'err' ('errlen' bytes).  -EINVAL means bad
 * input (a document, a value, or a batch the kernel rejected: nothing
 * changed); anything else is an operational failure. */
#ifndef FIREWALL_FIREWALL_H
#define FIREWALL_FIREWALL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "openvswitch/compiler.h"

struct json;
struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_rule;
struct nf_conntrack;

/* Version of the documents this code writes and the only one it reads. */
#define FW_DOC_VERSION 1
#define CT_DOC_VERSION 1

/* Longest VM name accepted in a tag. */
#define FW_VM_NAME_MAX 64

/* Writes document 'doc' and a newline to 'stream'.  Returns 0 or a
 * negative errno. */
int fw_doc_write(const struct json *doc, FILE *stream)
    OVS_WARN_UNUSED_RESULT;

/* ---- nftables: a VM's ruleset ---- */

struct fw_ruleset;

/* Returns true if 'vm' is a usable VM name: 1..FW_VM_NAME_MAX letters,
 * digits and ._:@+- (libvirt domain names, UUIDs). */
bool fw_vm_name_valid(const char *vm);

/* Creates an empty ruleset for 'vm'.  Never returns NULL. */
struct fw_ruleset *fw_ruleset_create(const char *vm);

/* Frees 'rs' and every nftnl object it holds.  Accepts NULL. */
void fw_ruleset_destroy(struct fw_ruleset *rs);

/* The VM 'rs' belongs to. */
const char *fw_ruleset_vm(const struct fw_ruleset *rs);

/* Counts of what 'rs' holds: tables moved whole, chains created (the VM's),
 * sets (named and anonymous), set elements, rules. */
struct fw_counts {
    size_t tables, whole_tables, chains, sets, elements, rules;
};
void fw_ruleset_counts(const struct fw_ruleset *rs, struct fw_counts *c);

/* Builders, used by the exporter and by tests.  Each takes ownership of the
 * nftnl object.  fw_ruleset_add_table() adds table 't' ('whole': the table
 * is the VM's and moves entirely; otherwise it only holds the VM's objects
 * and is created from 't' where it is missing).  fw_ruleset_add_chain()
 * adds chain 'c' to its table ('whole': the chain is the VM's, created with
 * all its rules; otherwise a host chain that holds VM rules, created from 'c'
 * only where missing).  Sets carry their elements; rules are kept in the
 * order added.  Return 0, or -ENOENT if the object's table (or a rule's
 * chain) was not added first; then the caller keeps the object. */
void fw_ruleset_add_table(struct fw_ruleset *rs, struct nftnl_table *t,
                          bool whole);
int fw_ruleset_add_chain(struct fw_ruleset *rs, struct nftnl_chain *c,
                         bool whole)
    OVS_WARN_UNUSED_RESULT;
int fw_ruleset_add_set(struct fw_ruleset *rs, struct nftnl_set *s)
    OVS_WARN_UNUSED_RESULT;
int fw_ruleset_add_rule(struct fw_ruleset *rs, struct nftnl_rule *r)
    OVS_WARN_UNUSED_RESULT;

/* Returns true if 'a' and 'b' are the same firewall: the same tables and
 * chains, the same sets and maps with the same elements (in any order: the
 * kernel dumps hash sets in hash order), the same rules in the same order
 * with the same expressions.  Anonymous sets are matched by position, not by
 * the name the kernel gave them; state that changes by itself (counters,
 * consumed quotas, last use, element expirations) is not compared.  What
 * 'netmove verify' wants of a destination against the source's export.  On
 * a difference, describes the first one in 'why' if non-NULL. */
bool fw_ruleset_equal(const struct fw_ruleset *a, const struct fw_ruleset *b,
                      char *why, size_t whylen);

/* Encodes 'rs' as a firewall document (JSON, version FW_DOC_VERSION).
 * The caller frees the result with json_destroy(). */
struct json *fw_ruleset_to_json(const struct fw_ruleset *rs);

/* Decodes firewall document 'doc' into '*rsp'.  Returns 0, or -EINVAL with
 * the offending field named in 'err' (unknown version, malformed or
 * truncated fields, unknown expression kinds or attributes). */
int fw_ruleset_from_json(const struct json *doc, struct fw_ruleset **rsp,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Returns true if 'name' can be an interface name: 1 to IFNAMSIZ - 1
 * characters, no '/' and no white space. */
bool fw_ifname_valid(const char *name);

/* Rewrites interface name 'from' to 'to' wherever 'rs' compares interface
 * names: a cmp after a meta iifname/oifname/ibrname/obrname load, keys and
 * data of sets and maps of type ifname (also inside concatenations), and
 * netdev chains' devices.  Returns the number of places rewritten (>= 0),
 * or -EINVAL if 'to' or 'from' is empty or longer than IFNAMSIZ - 1. */
int fw_ruleset_rename(struct fw_ruleset *rs, const char *from, const char *to,
                      char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Dumps the ruleset of the current network namespace (retrying while the
 * generation id moves under the dump) and selects the objects of 'vm' into
 * '*rsp', with every element of their sets. */
int fw_export(const char *vm, struct fw_ruleset **rsp,
              char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* fw_export() for the 'n' VMs 'vms' at once: one dump of the tables,
 * chains, sets and rules of the current network namespace serves them all
 * (retried as a whole while the generation id moves under it), each VM's
 * objects are picked out of it into 'rss[i]' (the cost grows with the
 * objects plus the VMs), and only the sets some VM selects have their
 * elements dumped.  A VM with an invalid name fails alone: its 'rss[i]' is
 * NULL.  Returns 0, or a negative errno with the reason in 'err' (every
 * 'rss[i]' NULL then): the dump failed, or a name is given twice
 * (-EINVAL). */
int fw_export_many(const char *const *vms, size_t n, struct fw_ruleset **rss,
                   char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Applies 'rs' to the current network namespace in one nf_tables batch:
 * the VM's existing objects are deleted and 'rs''s objects added, so that
 * importing twice replaces rather than duplicates.  All or nothing: -EINVAL
 * with the kernel's reason (extended ack) if the kernel rejects the batch.
 * Rules of 'rs' that use anonymous sets keep the batch's set ids. */
int fw_import(struct fw_ruleset *rs, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* fw_import() for VM 'vm', confined to it, for a document from another
 * host (netmoved's prepare): 'rs' must be 'vm''s document; every table it
 * moves whole, every chain it creates, every named set and every rule
 * outside those chains must be tagged "netmove:vm=<vm>", every anonymous
 * set used by one of its rules; the host tables and host chains it names
 * only as containers must already exist here (an import creates none, in
 * particular no base chain).  Checked against the same dump the batch is
 * planned from: a refusal is -EINVAL naming the object in 'err', and
 * nothing is sent. */
int fw_import_scoped(struct fw_ruleset *rs, const char *vm, char *err,
                     size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* fw_import_scoped() for several VMs ('rs[i]' confined to its own VM,
 * fw_ruleset_vm()) in ONE nf_tables batch, planned against one dump: a
 * batch of migrations pays one dump and one transaction, not one each.
 * All or nothing: any VM's refusal (named in 'err') or the kernel's
 * rejection applies nothing, and the caller may import each VM alone to
 * tell which one failed.  Each VM's objects must be its own (two VMs
 * creating one host table would collide). */
int fw_import_scoped_many(struct fw_ruleset *const *rs, size_t n,
                          char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Deletes every object of 'vm' in the current network namespace in one
 * batch, nothing else.  '*removed' (if non-NULL) receives how many top-level
 * objects (tables, chains, sets, rules outside the VM's chains) went. */
int fw_remove(const char *vm, size_t *removed, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- conntrack: a VM's connection-tracking entries ---- */

struct ct_table;

/* Which entries: those whose original or reply tuple holds one of 'addrs'
 * (IPv4 or IPv6), or, if 'has_zone', whose zone is 'zone'; with both,
 * entries that match both. */
struct ct_filter {
    size_t n_addrs;
    struct fw_ct_addr {             /* Not OVS's union ct_addr. */
        int family;                 /* AF_INET or AF_INET6. */
        uint8_t bytes[16];          /* 4 or 16 bytes used. */
    } *addrs;
    bool has_zone;
    uint16_t zone;
};

/* Parses 'text' as an IPv4 or IPv6 address into 'addr'.  Returns 0 or
 * -EINVAL. */
int fw_ct_addr_parse(const char *text, struct fw_ct_addr *addr)
    OVS_WARN_UNUSED_RESULT;

/* Creates an empty table. */
struct ct_table *ct_table_create(void);

/* Frees 'tab' and its entries.  Accepts NULL. */
void ct_table_destroy(struct ct_table *tab);

/* Takes ownership of entry 'ct' and adds it to 'tab'. */
void ct_table_add(struct ct_table *tab, struct nf_conntrack *ct);

/* Number of entries in 'tab'. */
size_t ct_table_count(const struct ct_table *tab);

/* Number of the delta's deletions ("gone" entries) in 'tab'. */
size_t ct_table_gone_count(const struct ct_table *tab);

/* Dumps the current namespace's conntrack table and keeps the entries that
 * match 'filter' in '*tabp'. */
int ct_export(const struct ct_filter *filter, struct ct_table **tabp,
              char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ct_export() for 'n' filters at once: ONE dump of the conntrack table,
 * each entry added to 'tabs[i]' for every filter i it matches (addresses
 * looked up through a hash: the cost grows with the entries plus the
 * matches, not with entries times 'n').  On success every 'tabs[i]' is a
 * table, maybe empty; on failure every one is NULL. */
int ct_export_many(const struct ct_filter *filters, size_t n,
                   struct ct_table **tabs, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Returns a new table holding what changed from 'prev' to 'cur': entries of
 * 'cur' that are new or whose state, status, mark, labels, NAT or zone
 * changed (timeouts aside), and, as "gone", the entries of 'prev' that are
 * no longer in 'cur'. */
struct ct_table *ct_table_delta(const struct ct_table *prev,
                                const struct ct_table *cur);

/* Applies delta 'delta' (ct_table_delta(), ct_events_delta()) to 'base':
 * its entries replace those of 'base' with the same identity (family,
 * protocol, original tuple, zone) or are added; its "gone" entries are
 * removed.  Afterwards 'base' is the table the delta led to. */
void ct_table_apply(struct ct_table *base, const struct ct_table *delta);

/* Creates the entries of 'tab' in the current namespace (create, and on
 * EEXIST update, as conntrack-tools' external_inject.c), deletes its "gone"
 * entries.  '*created', '*updated', '*deleted' (if non-NULL) count them.
 * Entries the kernel refuses make it return -EINVAL with the first reason,
 * after trying every entry. */
int ct_import(const struct ct_table *tab, size_t *created, size_t *updated,
              size_t *deleted, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* What a conntrack import for one VM may hold (netmoved's prepare and
 * resume; README.md "Scope").  Entries: zone 0 only; a timeout of at most
 * 'max_timeout' seconds; without NAT, both tuples hold one of 'vm_addrs';
 * with NAT, the translation is the VM's (a source NAT of a connection from
 * the VM, or a destination NAT to the VM) and agrees with the reply tuple.
 * "gone" entries: zone 0, the original tuple holds one of 'vm_addrs'.  At
 * most 'max_entries' entries and as many "gone" ones. */
struct ct_scope {
    const struct ct_filter *vm_addrs;   /* Addresses alone (zone unused). */
    size_t max_entries;                 /* 0: CT_SCOPE_ENTRIES_MAX. */
    uint32_t max_timeout;               /* 0: CT_SCOPE_TIMEOUT_MAX. */
};

/* The kernel's longest default conntrack timeout, TCP established
 * (nf_conntrack_tcp_timeout_established, 5 days): no entry the source's
 * kernel holds by default has more left. */
#define CT_SCOPE_TIMEOUT_MAX 432000
/* The kernel's default nf_conntrack_max on a host of 4 GiB or more
 * (nf_conntrack_htable_size is capped at 262144 and the limit defaults to
 * it): a VM cannot have more entries on a host of default settings. */
#define CT_SCOPE_ENTRIES_MAX 262144

/* Checks every entry of 'tab' against 'scope'.  Returns 0 or -EINVAL
 * naming the first entry out of scope ("entries[3]", "gone[0]") in
 * 'err'. */
int ct_table_check_scope(const struct ct_table *tab,
                         const struct ct_scope *scope,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ct_import() confined to 'scope': if ct_table_check_scope() refuses 'tab',
 * returns its -EINVAL before any request goes to the kernel. */
int ct_import_scoped(const struct ct_table *tab, const struct ct_scope *scope,
                     size_t *created, size_t *updated, size_t *deleted,
                     char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Deletes the entries that match 'filter'; '*deleted' counts them. */
int ct_remove(const struct ct_filter *filter, size_t *deleted,
              char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- conntrack events: deltas without a dump ---- */

/* A listener on ctnetlink's event groups (new, update, destroy), as
 * conntrackd follows them: it buffers, per watch (a key such as a migration
 * id, and a filter of the VM's addresses), the events of the watched
 * entries, so that the delta at a VM's pause is what changed, not a dump of
 * the host's table.  Non-blocking, for a poll loop: ct_events_run() and
 * ct_events_wait(). */
struct ct_events;

/* Counters since ct_events_open(). */
struct ct_events_stats {
    uint64_t read;          /* Event messages read. */
    uint64_t matched;       /* Of them, for a watched address. */
    uint64_t overruns;      /* ENOBUFS: the kernel dropped events. */
    uint64_t deltas;        /* Deltas answered. */
    uint64_t fallbacks;     /* Of them, by a dump (after an overrun). */
    uint64_t gets;          /* Entries asked for by tuple. */
    size_t watches;         /* Watches now. */
};

/* What one delta took. */
struct ct_delta_info {
    size_t events;          /* Entries whose events made the delta. */
    size_t gets;            /* Entries asked for by tuple. */
    bool fallback;          /* A dump (an overrun lost events). */
};

/* Opens a listener in the current network namespace into '*evp'.  Returns
 * 0 or a negative errno with the reason in 'err' (-EPERM without
 * CAP_NET_ADMIN). */
int ct_events_open(struct ct_events **evp, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Closes 'ev' and frees its watches.  Accepts NULL. */
void ct_events_close(struct ct_events *ev);

/* The socket to poll for readability. */
int ct_events_fd(const struct ct_events *ev);

/* Reads the events pending on 'ev' (a bounded number per call; never
 * blocks) and buffers those of the watched addresses. */
void ct_events_run(struct ct_events *ev);

/* Makes the next poll_block() wake when events are pending. */
void ct_events_wait(const struct ct_events *ev);

/* Starts buffering, under 'key', the events of the entries whose tuples
 * hold one of 'filter''s addresses (a copy is kept).  Call it before the
 * dump that makes the delta's first base, so that nothing between the dump
 * and the watch is missed.  Watching 'key' again replaces the watch (and
 * drops what it buffered). */
void ct_events_watch(struct ct_events *ev, const char *key,
                     const struct ct_filter *filter);

/* Ends watch 'key'; nothing if there is none. */
void ct_events_unwatch(struct ct_events *ev, const char *key);

/* Returns true if 'key' is watched. */
bool ct_events_watching(const struct ct_events *ev, const char *key);

/* Into '*deltap', what changed since 'base' (the watch's export, advanced
 * by every delta since with ct_table_apply()): the buffered events
 * coalesced by entry (the last wins; a destroy makes a "gone" entry), and,
 * for the entries of 'base' no event touched, their state now, asked of the
 * kernel by tuple (ENOENT: gone): entries created before the listener
 * existed, and timeout refreshes, emit no event.  After an overrun the
 * delta is a dump filtered by the watch's addresses compared with 'base'
 * (ct_table_delta()).  The watch then buffers afresh.  'info' (if
 * non-NULL) says how.  Returns 0, -ENOENT if 'key' is not watched, or
 * another negative errno with the reason in 'err'. */
int ct_events_delta(struct ct_events *ev, const char *key,
                    const struct ct_table *base, struct ct_table **deltap,
                    struct ct_delta_info *info, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Copies 'ev''s counters into 'stats'. */
void ct_events_get_stats(const struct ct_events *ev,
                         struct ct_events_stats *stats);

/* Encodes 'tab' as a conntrack document (version CT_DOC_VERSION). */
struct json *ct_table_to_json(const struct ct_table *tab);

/* Decodes conntrack document 'doc'.  Returns 0 or -EINVAL naming the
 * field in 'err'. */
int ct_table_from_json(const struct json *doc, struct ct_table **tabp,
                       char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

#endif /* firewall/firewall.h */
