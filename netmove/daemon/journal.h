/* The migration journal: every step of every migration, on disk (fsync'd)
 * before and after it runs, so that a netmoved killed in the middle resumes
 * or rolls back on restart.
 *
 * One file of JSON lines per migration, STATE_DIR/journal/ID.jsonl while it
 * runs, moved to STATE_DIR/done/ when it ends. */
#ifndef NETMOVE_JOURNAL_H
#define NETMOVE_JOURNAL_H 1

#include <stdbool.h>
#include <stddef.h>

struct json;
struct nm_journal;

/* Opens (creating) the journal under 'state_dir'.  0 or -errno + 'err'. */
int nm_journal_open(const char *state_dir, struct nm_journal **jp,
                    char *err, size_t errlen);

/* Closes 'j'.  NULL is accepted. */
void nm_journal_close(struct nm_journal *j);

/* Appends 'record' (a JSON object; not consumed) as one line to migration
 * 'id''s file; if 'sync', waits until it is on disk.  Without 'sync' the
 * record survives the process being killed (it is in the kernel) but not a
 * power loss until the next synced append: the resume path writes its
 * record unsynced before the first frame and syncs right after it.
 * 0 or -errno. */
int nm_journal_append(struct nm_journal *j, const char *id,
                      const struct json *record, bool sync);

/* Migration 'id' has ended: its file moves to done/.  0 or -errno. */
int nm_journal_finish(struct nm_journal *j, const char *id);

/* Calls 'cb' for every migration not yet finished, with its records as a
 * JSON array in order.  A torn last line (a crash in the middle of a write)
 * is ignored.  0 or -errno. */
int nm_journal_load(struct nm_journal *j,
                    void (*cb)(void *aux, const char *id,
                               const struct json *records),
                    void *aux);

/* The records of migration 'id', unfinished or done, as a JSON array, or
 * NULL if there is no such migration.  The caller frees it. */
struct json *nm_journal_read(struct nm_journal *j, const char *id);

#endif /* netmove/daemon/journal.h */
