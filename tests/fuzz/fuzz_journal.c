/* Fuzzes the journal reader (netmove/daemon/journal.c): a journal file of
 * any content, as a crash or a full disk may leave it, read back with
 * nm_journal_read() and nm_journal_load().  The state directory is made
 * once, in /dev/shm when it exists (an input is a file write). */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"
#include "netmove/daemon/journal.h"

static struct nm_journal *journal;
static char *state_dir, *path;

/* Removes the state directory when libFuzzer exits. */
static void
cleanup(void)
{
    char *sub;

    nm_journal_close(journal);
    unlink(path);
    sub = xasprintf("rm -rf %s", state_dir);
    if (system(sub)) {
        /* Left behind in /dev/shm or /tmp: harmless. */
    }
    free(sub);
}

static void
count(void *aux, enum nm_journal_role role, const char *id,
      const struct json *records)
{
    (void) role;
    (void) id;
    *(size_t *) aux += records->array.n;
}

static void
setup(void)
{
    char dir[] = "/dev/shm/nm-fuzz-journal.XXXXXX";
    char dir2[] = "/tmp/nm-fuzz-journal.XXXXXX";
    const char *d = mkdtemp(dir) ? dir : mkdtemp(dir2);
    char err[256];

    if (!d || nm_journal_open(d, 8, &journal, err, sizeof err)) {
        abort();
    }
    /* A recorded migration's journal: what nm_journal_append() writes. */
    struct json *rec = json_object_create();

    json_object_put_string(rec, "step", "created");
    if (nm_journal_append(journal, NM_JOURNAL_DESTINATION, "m1", rec,
                          false)) {
        abort();
    }
    json_destroy(rec);
    nm_journal_close(journal);
    if (nm_journal_open(d, 8, &journal, err, sizeof err)) {
        abort();
    }
    state_dir = xstrdup(d);
    path = xasprintf("%s/journal/m1.jsonl", d);
    atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json *records;
    size_t n = 0;
    FILE *f;

    if (!journal) {
        setup();
    }
    f = fopen(path, "w");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
        abort();
    }
    records = nm_journal_read(journal, NM_JOURNAL_DESTINATION, "m1");
    if (!records || records->type != JSON_ARRAY) {
        abort();
    }
    if (nm_journal_load(journal, count, &n) || n != records->array.n) {
        abort();
    }
    json_destroy(records);
    return 0;
}
