/* netmoved's state and its parts.  Everything hangs off one struct netmoved
 * (docs/STYLE.md: no mutable globals beyond configuration and log level). */
#ifndef NETMOVE_SERVICE_H
#define NETMOVE_SERVICE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/shash.h"

struct garp_announcer;
struct mig_ops;
struct mig_port_batch;
struct nm_learn;
struct garp_sender;
struct json;
struct ct_events;
struct nm_config;
struct nm_journal;
struct nm_peers;
struct nm_relay;
struct nm_source;
struct nmovs_db;
struct unixctl_conn;
struct unixctl_server;

struct netmoved {
    struct nm_config *cfg;
    const struct mig_ops *ops;          /* What migrations ask of peers,
                                         * OVS, firewall, announcer. */
    struct nm_peers *peers;
    struct nm_journal *journal;
    struct nmovs_db *db;                /* This host's OVSDB. */
    struct garp_sender *sender;         /* Packet-out on cfg->bridge. */
    struct garp_announcer *announcer;   /* Every VM's announcement rounds. */
    struct unixctl_server *unixctl;
    struct hmap migrations;             /* Incoming: struct migration. */
    struct nm_source *source;           /* Outgoing (source.h). */
    struct nm_relay *relay;             /* The drain's OpenFlow connection
                                         * and its keys (relay.h). */
    struct ovs_list batches;            /* CLI calls waiting on many VMs. */
    struct nm_learn *learn;             /* VMs' addresses from their ARP/ND
                                         * (learn.h). */
    char **ann_vms;                     /* The VM of each announcer entry
                                         * (migration.c grows and frees). */
    size_t n_ann_vms;
    struct ct_events *ct_events;        /* Conntrack events for the
                                         * source's deltas; NULL: none (every
                                         * delta is a dump). */
    struct mig_port_batch *port_batch;  /* Prepare's port imports, grouped
                                         * (migration_batch.c). */
    struct ovs_list records_queue;      /* Migrations waiting to ask
                                         * their source for its records,
                                         * in order, and those asking now
                                         * (one per source at a time:
                                         * migration_timeline.c). */
    struct ovs_list records_flight;
    bool recover_pending;               /* Journal not replayed yet. */
    bool exiting;
};

/* Sets up 'nm' from 'cfg' (taken): OVSDB, peers, journal, control socket;
 * then resumes or rolls back what the journal left unfinished.  0 or -errno
 * with 'err'. */
int netmoved_init(struct netmoved *nm, struct nm_config *cfg,
                  char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
void netmoved_destroy(struct netmoved *nm);
void netmoved_run(struct netmoved *nm);
void netmoved_wait(struct netmoved *nm);

/* Replays the journal: each migration it left unfinished goes, by the role
 * its records were written in, to migration_recover() (this host was its
 * destination) or source_recover() (its source).  The one place that
 * dispatches records by role. */
void netmoved_recover(struct netmoved *nm);

/* migration.c: the destination's side of a migration. */
void migrations_run(struct netmoved *nm);
void migrations_wait(struct netmoved *nm);
/* Recovers migration 'id' from its journal 'records' (destination role). */
void migration_recover(struct netmoved *nm, const char *id,
                       const struct json *records);
void migrations_destroy(struct netmoved *nm);
/* migration_drain.c: registers the destination's drain methods (`paused`,
 * `drain`, `drain-end`) with nm->peers. */
void migration_drain_init(struct netmoved *nm);

/* migration_timeline.c: registers peer method "records" (the source's
 * records of a migration, for its destination's timeline). */
void migration_timeline_init(struct netmoved *nm);

/* Control command "timeline VM [ID]": the records of the last migration
 * of VM here (or of migration ID), as JSON {host, vm, id, role,
 * records}. */
struct unixctl_conn;
void migration_cmd_timeline(struct unixctl_conn *, int argc,
                            const char *argv[], void *nm);

/* The announcer's frame callback ('aux' is the netmoved). */
struct garp_frame;
void migration_frame_sent(void *nm, size_t idx, const struct garp_frame *,
                          unsigned int round, uint64_t wall_us);

#endif /* netmove/daemon/service.h */
