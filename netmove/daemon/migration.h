/* One incoming migration, as the destination drives it (migration.c). */
#ifndef NETMOVE_MIGRATION_H
#define NETMOVE_MIGRATION_H 1

#include <stdbool.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"

#include "garp/garp.h"
#include "netmove/addr/vmaddr.h"

struct json;
struct mig_drain;
struct netmoved;
struct nmovs_doc;
struct nmovs_op;
struct unixctl_conn;

enum mig_state {
    MIG_LOCATING,       /* Asking the peers which one has the VM. */
    MIG_PREPARING,      /* Fetching and staging the source's documents. */
    MIG_PREPARED,       /* Staged: port blocked, firewall and ct imported. */
    MIG_RESUMING,       /* Active and announced; ct delta, confirm pending. */
    MIG_DONE,           /* The source confirmed: nothing left there. */
    MIG_FAILED,         /* Failed before resume: rolled back.  Or, after
                         * resume, its source is not a configured peer:
                         * the VM runs here, the source keeps its copy. */
    MIG_ABORTED,        /* Aborted before resume: rolled back. */
};

enum mig_wait {
    MIG_WAIT_PREPARED,          /* Prepared (or ended). */
    MIG_WAIT_DONE,              /* Done (or failed, aborted). */
    MIG_WAIT_ENDED,             /* Ended, whichever way: answered with the
                                 * migration, never as an error (abort). */
};

/* A CLI connection waiting for an outcome, answered at the latest at
 * 'deadline_us' (the migration goes on after that). */
struct mig_waiter {
    struct unixctl_conn *conn;
    enum mig_wait until;
    uint64_t deadline_us;
};
#define MIG_WAIT_MAX_US (60 * 1000 * 1000ULL)

struct migration {
    struct hmap_node node;      /* In netmoved's 'migrations', by VM. */
    struct netmoved *nm;
    char *vm, *src, *id;
    enum mig_state state;
    bool resume_wanted;         /* Resume asked before prepare ended. */
    bool bad_input;             /* The failure is the caller's input. */
    struct json *export;        /* The source's export, once staged. */
    struct nm_vm_addrs addrs;
    char **extra_ips;           /* --ip given to prepare/resume. */
    size_t n_extra_ips;

    /* The VM's port here.  It is staged (created, marked netmove-staged
     * with the migration's id) unless 'adopt': the migrator makes it
     * (libvirt, when it starts QEMU here, after prepare) and netmove adopts
     * it, found by the VM's identity.  Either way a port the migrator makes
     * later is adopted and netmove's own one goes (migration_follow_port):
     * never two ports for one VM. */
    bool adopt;
    bool adopt_pending;         /* 'adopt' and the port is not there yet. */
    struct nmovs_doc **port_docs;   /* The ports as they must be here. */
    size_t n_port_docs;
    unsigned int db_seqno;      /* OVSDB as last followed. */
    uint32_t ports_hash;        /* nmovs_vm_ports_hash() then. */
    struct nmovs_op *port_op;   /* The port step under way (ovs/ovs.h: run
                                 * from the loop, never waited for), or
                                 * NULL: prepare's import or adoption if
                                 * 'staging' is set, else a later adoption
                                 * (migration_follow_port()). */
    struct json *staging;       /* The source's export, while prepare waits
                                 * for its port step. */
    bool port_queued;           /* Its import waits for the next batch
                                 * (migration_batch.c)... */
    bool in_batch;              /* ...or is in the batch in flight. */
    bool fw_staged;             /* Its firewall came with its batch's. */
    uint64_t port_retry_at_us;  /* A failed adoption is tried again then. */

    /* Ending before resume (migration_end_before_resume()): the rollback
     * is a step of the loop too; 'state' stays until it has ended. */
    bool ending;
    enum mig_state end_state;   /* MIG_FAILED or MIG_ABORTED. */
    bool removing;              /* The staged port's removal started. */
    struct nmovs_op *remove_op; /* ...and is under way. */

    /* Locating the source: one request per peer, each knowing its peer. */
    struct mig_locate {
        struct migration *m;
        const char *peer;
        bool answered;
        bool present;           /* It said it has the VM. */
    } *locates;
    size_t n_locates, n_unanswered;

    /* Resume's background part. */
    uint64_t announce_until_us; /* Waiting for a device until then. */
    bool activate_pending, ct_delta_done, rpc_pending;
    uint64_t retry_at_us;
    unsigned int backoff_ms;
    char *last_error;
    size_t ct_delta_entries;

    /* The journal (migration_journal()): the first record that could not
     * be written, as "STEP: reason" (NULL: none ever failed), and the
     * records of the resume and the end not on disk yet, in order,
     * written before the next record, at the finish, and from the loop
     * ('journal_retry_us'); 'journal_finish_due' once the journal should
     * have moved to done/. */
    char *journal_error;
    struct json *journal_pending;
    uint64_t journal_retry_us;
    bool journal_finish_due;
    struct json *confirm_result;

    struct json *ct_delta;      /* The conntrack delta, once imported. */

    /* What left this host's uplink: the announcements, as captured. */
    struct garp_capture *capture;
    uint64_t capture_until_us;
    unsigned int seen[GARP_N_SEEN];
    uint64_t first_seen_wall_us;
    int seen_vlan;              /* VLAN of the first one seen (-1: none). */

    struct mig_waiter *waiters;
    size_t n_waiters;

    /* The drain (migration_drain.c), once the source said the VM paused:
     * its hold, the relayed and held frames, its counters.  NULL until
     * then. */
    struct mig_drain *drain;

    /* Timings: monotonic microseconds. */
    uint64_t t_prepare_begin, t_prepared, t_resume_call, t_activated;
    uint64_t t_exported;        /* The source's export arrived. */
    uint64_t t_first_frame, t_ct_delta, t_confirmed;
    uint64_t resume_wall_us;    /* The resume call, wall clock. */
    uint64_t first_frame_wall_us;
    uint64_t frames_sent;

    /* The source's records, asked after confirm for the timeline
     * (migration_timeline.c): the journal moves to done/ once answered. */
    bool records_asked, records_pending;
    uint64_t records_t0_us, records_t0_wall_us;     /* Asked then. */
    int records_tries;          /* Round trips so far. */
    uint64_t records_retry_at_us;   /* The next one then (0: none). */
    uint64_t records_deadline_us;   /* No try starts after this. */
    bool records_queued;        /* In netmoved's 'records_queue'... */
    bool records_in_flight;     /* ...or its 'records_flight'. */
    struct ovs_list records_node;
    struct json *records_best;  /* The answer of the shortest one, as
                                 * journaled. */
};

const char *migration_state_name(enum mig_state);
struct migration *migration_find(struct netmoved *, const char *vm);

/* A new migration of 'vm' from 'src' (NULL: to be located) with journal id
 * 'id' (NULL: a new one). */
struct migration *migration_create(struct netmoved *, const char *vm,
                                   const char *src, const char *id);

/* Frees 'm' (its journal stays), answering any waiter. */
void migration_destroy(struct migration *);

/* Starts preparing 'm' (locating its source first if unknown). */
void migration_start(struct migration *);

/* The VM runs here now: the critical path (or, if 'm' is not prepared yet,
 * as soon as it is).  The batch form resumes the 'n' migrations of 'ms'
 * together (it reorders 'ms'). */
void migration_resume(struct migration *);
void migration_resume_batch(struct migration **ms, size_t n);

/* Rolls 'm' back if it has not resumed.  0, or -EBUSY with '*errorp'. */
int migration_abort(struct migration *, char **errorp)
    OVS_WARN_UNUSED_RESULT;

void migration_add_waiter(struct migration *, struct unixctl_conn *,
                          enum mig_wait);

/* Answers the CLI calls waiting on 'm' that its state satisfies. */
void migration_answer_waiters(struct migration *m);
struct json *migration_to_json(const struct migration *);

/* The documents 'm' staged: {"export": ..., "ct_delta": ...}. */
struct json *migration_docs_to_json(const struct migration *);

/* Which migration announcement 'idx' of the shared announcer belongs to. */
void migration_note_announcement(struct netmoved *, size_t idx,
                                 struct migration *);

#endif /* netmove/daemon/migration.h */
