/* Internal to migration*.c: the destination's state machine, split by
 * concern (migration.c: prepare, resume, abort; migration_locate.c,
 * migration_port.c, migration_recover.c, migration_report.c). */
#ifndef NETMOVE_MIGRATION_PRIVATE_H
#define NETMOVE_MIGRATION_PRIVATE_H 1

#include <stdbool.h>
#include <stdint.h>

#include "openvswitch/compiler.h"

#include "netmove/daemon/journal.h"
#include "netmove/daemon/migration.h"

struct json;
struct migration;
struct netmoved;

/* Appends a record of 'step' (with the members of 'extra', consumed) to
 * 'm''s journal; on disk before returning if 'sync'.  Returns 0 or -errno;
 * a failure is logged and kept in 'm->journal_error' (reported by status
 * and the CLI's answers), and the caller decides: a prepare refuses or
 * fails, a resume goes on.  The records from "resume-begin" on that could
 * not be written are kept and written, in order, before the next one, at
 * the finish, or from the loop. */
int migration_journal(struct migration *m, enum nm_journal_step step,
                      struct json *extra, bool sync);

/* 'm' has ended: its journal moves to done/ once every record is on disk
 * (a failure is logged and retried from the loop). */
void migration_journal_finish(struct migration *m);

/* Retries the records not on disk and a finish that waits for them, when
 * due.  Returns the time of the next try (0: none). */
uint64_t migration_journal_run(struct migration *m, uint64_t now);

/* 'm' is done: its journal moves to done/ once nothing more is to be
 * recorded (the uplink capture closed, the source's records in). */
void migration_maybe_finish(struct migration *m);

/* ---- migration_timeline.c ---- */

/* 'm' is done (confirmed, its uplink capture ended): asks its source for
 * the source's records of it (peer method "records"), journaled as
 * "source-records" with the offset of the two clocks (from the round trip
 * with the smallest error bound); then migration_maybe_finish().  One
 * request in flight per source, the migrations waiting their turn in
 * order; one over 2 ms is tried again 200 ms later only while no other
 * migration waits for that source, never after "busy", up to 4 round
 * trips, none started later than 8 s after the ask.  A source that does
 * not offer "records" fails it at once: nothing is journaled. */
void migration_fetch_source_records(struct migration *m);

/* Asks again when due.  Returns when next (0: nothing due). */
uint64_t migration_timeline_run(struct migration *m, uint64_t now);

/* 'm' goes away (migration_destroy()): out of the queue, its request
 * forgotten (the caller cancels it); if only the source's records were
 * outstanding, its journal is finished without them. */
void migration_timeline_cancel(struct migration *m);

/* Sets 'm''s last error (and logs it). */
void migration_set_error(struct migration *m, const char *fmt, ...)
    OVS_PRINTF_FORMAT(2, 3);

/* Before resume: rolls 'm' back, tells the source, ends it as failed. */
void migration_fail_prepare(struct migration *m);

/* Before resume: rolls 'm' back, tells the source, ends it in 'state'
 * (MIG_FAILED or MIG_ABORTED): the state, then the journal's record, then
 * the waiters' answers.  The rollback is a step of the loop ('m->ending'
 * meanwhile): migrations_run() goes on with migration_end_run() until it
 * has ended; one that ends at once ends here. */
void migration_end_before_resume(struct migration *m, enum mig_state state);
void migration_end_run(struct migration *m);


/* Milliseconds from 'from' to 'to' (microseconds), -1 if not both set. */
double migration_ms(uint64_t from, uint64_t to);

/* Asks 'm''s source for its documents (m->src is known). */
void migration_start_prepare(struct migration *m);

/* Builds 'm''s port documents for this host from the source's export 'x'
 * (its "port" and "site": this site's VLANs), once they are within what a
 * peer may make here (nmovs_doc_check_scope(): the configured bridge, the
 * source site's VLANs in the configuration's map, ...).  0 or -EINVAL with
 * the field in 'err'. */
int migration_port_docs(struct migration *m, const struct json *x,
                        char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The addresses 'm' will announce, from the source's export 'x' (its port
 * document's attached-mac and ip-addresses, then its "learned" list) and
 * the operator's --ip, each inside the prefixes of the network its port is
 * on here and none never-announce (nm_vm_addrs_check(); needs
 * m->port_docs).  0 with them in '*addrs', or -EINVAL naming the field
 * ("export: port: ip-addresses: 198.18.0.1 is never-announce in network
 * blue ...") with '*addrs' empty. */
int migration_addrs(struct migration *m, const struct json *x,
                    struct nm_vm_addrs *addrs, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The names and OpenFlow ports of 'm''s interfaces here, from OVSDB's
 * replica (no round trip): this host names its taps as it likes. */
void migration_local_ifaces(struct migration *m);

/* While 'm' is staged (or its port is still awaited after resume): when
 * OVSDB's set of the VM's ports changed, adopts a port the migrator made
 * (the documents' settings, blocked until resume) and removes netmove's
 * own staged one, if any. */
void migration_follow_port(struct migration *m);

/* Runs 'm''s port step (m->port_op) if one is under way; when it has ended,
 * goes on: prepare's own (m->staging) to migration_staged(), a later
 * adoption to its outcome.  True while the step is still under way. */
bool migration_port_step(struct migration *m);

/* Prepare's port step ended with 'error' (reason 'err'): stages the rest
 * (firewall, conntrack) and ends prepare, or fails it. */
void migration_staged(struct migration *m, int error, const char *err);

/* ---- migration_batch.c: prepare's port imports, grouped ---- */

/* 'm' (not adopting) has its port documents: its import joins the next
 * batch, started at once if none is in flight, else when that one ends.
 * Its outcome goes to migration_staged() (after a failed batch, through a
 * step of 'm''s own: migration_port_step()). */
void migration_batch_queue(struct migration *m);

/* 'm' leaves the queue or the batch in flight (it is being destroyed: the
 * batch's step goes, its other members are tried alone). */
void migration_batch_forget(struct migration *m);

/* Runs the batch in flight and starts the next one. */
void migration_batch_run(struct netmoved *nm);
void migration_batch_wait(struct netmoved *nm);

/* Frees the batch state (a batch in flight abandoned). */
void migration_batch_destroy(struct netmoved *nm);

/* Forgets the locate requests of 'm'. */
void migration_locates_cancel(struct migration *m);

/* Imports conntrack document 'ct' (not null) from 'm''s source, confined
 * to the VM (its addresses, zone 0, bounded).  0 or -errno with 'err';
 * '*refused' if the document itself is refused (nothing written then).
 * 'created', 'updated', 'deleted' may be NULL. */
int migration_import_ct(struct migration *m, const struct json *ct,
                        size_t *created, size_t *updated, size_t *deleted,
                        bool *refused, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Announces the 'k' migrations 'ms' at their pause on the source
 * (migration_drain.c, once each one's hold is in place and its conntrack
 * delta imported; VMs that pause together, a host evacuation, are one
 * batch): their ports activated together, then every VM's first RARP, then
 * the GARPs/NAs, through each VM's port (the bridge learns the MAC there).
 * The schedule goes on; resume sends its own. */
void migration_announce_at_pause(struct migration **ms, size_t k);

/* ---- migration_drain.c: the destination's side of the drain ---- */

/* 'm' has just been prepared: a pause the source reported meanwhile is
 * acted on now. */
void migration_drain_prepared(struct migration *m);

/* 'm' has just resumed here (after its first announcements): the hold's
 * and the deadline's clocks start. */
void migration_drain_resumed(struct migration *m);

/* True if 'm' announced at its pause: its port is active and announced
 * already when it resumes. */
bool migration_drain_announced(const struct migration *m);

/* Before resume, 'm' ends (abort, failure): the hold released, what is
 * buffered dropped (counted), the drain's record written. */
void migration_drain_abort(struct migration *m);

/* Outputs what is due, releases the hold, ends the drain at its deadline. */
void migration_drain_run(struct migration *m, uint64_t now);

/* Announces, as one batch, every migration whose conntrack delta at the
 * pause is in (called once a loop pass, before migration_drain_run()). */
void migration_drain_announce_due(struct netmoved *nm);
void migration_drain_wait(const struct migration *m);

/* The drain's counters and times, for status ("drain"); NULL if none. */
struct json *migration_drain_to_json(const struct migration *m);

/* Frees 'm''s drain (the hold, if any, released). */
void migration_drain_destroy(struct migration *m);

#endif /* netmove/daemon/migration-private.h */
