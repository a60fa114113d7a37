/* netmoved's state and its parts.  Everything hangs off one struct netmoved
 * (docs/STYLE.md: no mutable globals beyond configuration and log level). */
#ifndef NETMOVE_SERVICE_H
#define NETMOVE_SERVICE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/shash.h"

struct garp_announcer;
struct nm_addrlearn;
struct garp_sender;
struct json;
struct nm_config;
struct nm_journal;
struct nm_peers;
struct nmovs_db;
struct unixctl_conn;
struct unixctl_server;

struct netmoved {
    struct nm_config *cfg;
    struct nm_peers *peers;
    struct nm_journal *journal;
    struct nmovs_db *db;                /* This host's OVSDB. */
    struct garp_sender *sender;         /* Packet-out on cfg->bridge. */
    struct garp_announcer *announcer;   /* Every VM's announcement rounds. */
    struct unixctl_server *unixctl;
    struct hmap migrations;             /* Incoming: struct migration. */
    struct shash outgoing;              /* Outgoing, by VM: struct outgoing. */
    struct ovs_list db_waits;           /* Peer requests waiting on OVSDB. */
    struct ovs_list exports;            /* Exports asking about addresses. */
    struct ovs_list confirms;           /* Confirms removing the VM's port. */
    struct ovs_list batches;            /* CLI calls waiting on many VMs. */
    struct nm_addrlearn *learn;         /* VMs' addresses from their ARP/ND;
                                         * NULL: learning off. */
    unsigned int learn_db_seqno;        /* OVSDB as the learner knows it. */
    long long int learn_saved_ms;       /* time_msec() of the last save. */
    uint64_t learn_saved_n;             /* Addresses learned by then. */
    char **ann_vms;                     /* The VM of each announcer entry. */
    size_t n_ann_vms;
    bool recover_pending;               /* Journal not replayed yet. */
    bool exiting;
};

/* Sets up 'nm' from 'cfg' (taken): OVSDB, peers, journal, control socket;
 * then resumes or rolls back what the journal left unfinished.  0 or -errno
 * with 'err'. */
int netmoved_init(struct netmoved *nm, struct nm_config *cfg,
                  char *err, size_t errlen);
void netmoved_destroy(struct netmoved *nm);
void netmoved_run(struct netmoved *nm);
void netmoved_wait(struct netmoved *nm);

/* migration.c: the destination's side of a migration. */
void migration_register(struct netmoved *nm);
void migrations_run(struct netmoved *nm);
void migrations_wait(struct netmoved *nm);
void migrations_recover(struct netmoved *nm);
void migrations_destroy(struct netmoved *nm);

/* source.c: the source's side: what a destination asks of it. */
void source_register(struct netmoved *nm);
void source_run(struct netmoved *nm);
void source_wait(struct netmoved *nm);
void source_recover(struct netmoved *nm, const char *id,
                    const struct json *records);
void source_destroy(struct netmoved *nm);

/* learn.c: the addresses the VMs on this host use, learned from their
 * own ARP and ND, kept in the state directory across restarts. */
struct nm_vm_addrs;
void nm_learn_init(struct netmoved *nm);
void nm_learn_run(struct netmoved *nm);
void nm_learn_wait(struct netmoved *nm);
void nm_learn_destroy(struct netmoved *nm);
void nm_learn_save_now(struct netmoved *nm);

/* Adds what was learned of the interfaces of 'addrs' (by port name and MAC)
 * to them; returns how many addresses it added. */
size_t nm_learn_merge(struct netmoved *nm, struct nm_vm_addrs *addrs);

/* Forgets address 'ip' learned on interface 'iface' (another MAC answers
 * for it): a later claim teaches it again. */
void nm_learn_forget(struct netmoved *nm, const char *iface, const char *ip);

/* The announcer's frame callback ('aux' is the netmoved). */
struct garp_frame;
void migration_frame_sent(void *nm, size_t idx, const struct garp_frame *,
                          unsigned int round, uint64_t wall_us);

#endif /* netmove/daemon/service.h */
