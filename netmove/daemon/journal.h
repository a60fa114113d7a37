/* The migration journal: every step of every migration, on disk (fsync'd)
 * before and after it runs, so that a netmoved killed in the middle resumes
 * or rolls back on restart.
 *
 * One file of JSON lines per migration, STATE_DIR/journal/ID.jsonl while it
 * runs, moved to STATE_DIR/done/ when it ends; a source's migrations (named
 * by the ids its destinations chose) in STATE_DIR/source/journal and
 * STATE_DIR/source/done, so that no id a peer picks names one of this
 * host's own.  done/ keeps the last few thousand.  STATE_DIR/lock is held
 * while the journal is open: one netmoved per state directory. */
#ifndef NETMOVE_JOURNAL_H
#define NETMOVE_JOURNAL_H 1

#include <stdbool.h>
#include <stddef.h>

#include "openvswitch/compiler.h"

struct json;
struct nm_journal;

/* Who wrote a migration's records: this host as its destination
 * (migration*.c) or as its source (source.c).  Every record of one
 * migration's file has the same role. */
enum nm_journal_role {
    NM_JOURNAL_DESTINATION,
    NM_JOURNAL_SOURCE,
    NM_JOURNAL_N_ROLES
};

/* The steps a record names ("step"), in the order a migration writes them.
 * One table for the writers and the readers (recovery): a step is written
 * by name from here and read back to this enum. */
#define NM_JOURNAL_STEPS                                                  \
    /* The destination's. */                                              \
    NM_JOURNAL_STEP(PREPARE_BEGIN, "prepare-begin")                       \
    /* The VM runs here before prepare ended (a resume-driven prepare). */ \
    NM_JOURNAL_STEP(RESUME_WANTED, "resume-wanted")                       \
    NM_JOURNAL_STEP(PREPARE_DONE, "prepare-done")  /* + "export". */      \
    /* Announced at the source's pause (issue 11): hold, ct delta, port \
     * active, first round; + "paused_us" (the source's) and the times. */ \
    NM_JOURNAL_STEP(PAUSED, "paused")                                     \
    NM_JOURNAL_STEP(RESUME_BEGIN, "resume-begin")                         \
    NM_JOURNAL_STEP(ANNOUNCED, "announced")                               \
    NM_JOURNAL_STEP(CT_DELTA_DONE, "ct-delta-done")  /* + "ct". */        \
    NM_JOURNAL_STEP(ANNOUNCEMENTS_SEEN, "announcements-seen")             \
    NM_JOURNAL_STEP(CONFIRMED, "confirmed")        /* Ended: done. */     \
    NM_JOURNAL_STEP(ABORT_BEGIN, "abort-begin")                           \
    NM_JOURNAL_STEP(FAILED, "failed")              /* Ended: failed. */   \
    /* The source's. */                                                   \
    NM_JOURNAL_STEP(EXPORT, "export")              /* + "port". */        \
    NM_JOURNAL_STEP(LEFT, "left")     /* This host's evidence. */         \
    NM_JOURNAL_STEP(CONFIRM_BEGIN, "confirm-begin")                       \
    NM_JOURNAL_STEP(CONFIRM_DONE, "confirm-done")  /* Ended. */           \
    /* Both: the drain ended; + "drain" (its counters). */                \
    NM_JOURNAL_STEP(DRAINED, "drained")                                   \
    /* Both: the migration was aborted (ended). */                        \
    NM_JOURNAL_STEP(ABORTED, "aborted")                                   \
    /* The destination's, after "confirmed": the source's records of the  \
     * migration and the two clocks' offset (migration_timeline.c). */    \
    NM_JOURNAL_STEP(SOURCE_RECORDS, "source-records")

enum nm_journal_step {
#define NM_JOURNAL_STEP(ENUM, NAME) NM_JS_##ENUM,
    NM_JOURNAL_STEPS
#undef NM_JOURNAL_STEP
    NM_JS_N
};

/* The name of 'step' as records spell it. */
const char *nm_journal_step_name(enum nm_journal_step step);

/* The step named 'name': true and '*step', or false if none is. */
bool nm_journal_step_from_name(const char *name, enum nm_journal_step *step)
    OVS_WARN_UNUSED_RESULT;

/* One record, as read back. */
struct nm_journal_rec {
    enum nm_journal_role role;
    enum nm_journal_step step;
    const char *vm;
    const struct json *json;    /* The whole record (other members). */
};

/* Reads record 'json' into '*rec' (which points into 'json').  False if it
 * lacks a known "role", a known "step" or a "vm" string (a torn or foreign
 * record: recovery skips it). */
bool nm_journal_rec_parse(const struct json *json, struct nm_journal_rec *rec)
    OVS_WARN_UNUSED_RESULT;

/* The role of the records of one migration, from the first that parses:
 * true and '*role', or false if none does. */
bool nm_journal_role_of(const struct json *records,
                        enum nm_journal_role *role)
    OVS_WARN_UNUSED_RESULT;

/* A new record of 'step' for migration of 'vm' written in 'role': the
 * members of 'extra' (consumed; NULL: none) with "role", "vm", "step" and
 * "t_us" (wall clock) set.  The caller appends and frees it. */
struct json *nm_journal_rec_create(enum nm_journal_role role,
                                   enum nm_journal_step step, const char *vm,
                                   struct json *extra);

/* Finished migrations each done/ keeps by default. */
#define NM_JOURNAL_DONE_KEEP 4096

/* Opens (creating) the journal under 'state_dir', keeping 'done_keep'
 * finished migrations per role.  0 or -errno + 'err': -EBUSY if another
 * process has it open. */
int nm_journal_open(const char *state_dir, size_t done_keep,
                    struct nm_journal **jp, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Closes 'j'.  NULL is accepted. */
void nm_journal_close(struct nm_journal *j);

/* Appends 'record' (a JSON object; not consumed) as one line to migration
 * 'id''s file; if 'sync', waits until it is on disk.  Without 'sync' the
 * record survives the process being killed (it is in the kernel) but not a
 * power loss until the next synced append: the resume path writes its
 * record unsynced before the first frame and syncs right after it.
 * 0 or -errno. */
int nm_journal_append(struct nm_journal *j, enum nm_journal_role,
                      const char *id, const struct json *record, bool sync)
    OVS_WARN_UNUSED_RESULT;

/* Migration 'id' has ended: its file moves to done/.  0 or -errno. */
int nm_journal_finish(struct nm_journal *j, enum nm_journal_role,
                      const char *id)
    OVS_WARN_UNUSED_RESULT;

/* Calls 'cb' for every migration not yet finished, with the role whose
 * directory holds it and its records as a JSON array in order.  A torn
 * last line (a crash in the middle of a write) is ignored.  0 or -errno. */
int nm_journal_load(struct nm_journal *j,
                    void (*cb)(void *aux, enum nm_journal_role,
                               const char *id, const struct json *records),
                    void *aux)
    OVS_WARN_UNUSED_RESULT;

/* The records of migration 'id', unfinished or done, as a JSON array, or
 * NULL if there is no such migration.  The caller frees it. */
struct json *nm_journal_read(struct nm_journal *j, enum nm_journal_role,
                             const char *id);

/* The most recent migration of 'vm' (unfinished or done, either role), by
 * its file's modification time: true with its id in '*idp' (the caller
 * frees it) and the role in '*role', or false if the journal holds none.
 * Reads the first record of each file named "VM.N.jsonl" (ids are
 * "VM.N"): an operator's command, not for the loop's hot path. */
bool nm_journal_last(struct nm_journal *j, const char *vm,
                     enum nm_journal_role *role, char **idp)
    OVS_WARN_UNUSED_RESULT;

#endif /* netmove/daemon/journal.h */
