/* netmove/daemon/journal.c: records on disk, reloaded in order, finished;
 * each role in its own files; a write that fails part way cut back off;
 * one process per state directory; done/ pruned.  write() is wrapped
 * (test_journal.mk) to fail part way on demand. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvswitch/json.h"
#include "util.h"

#include "netmove/daemon/journal.h"

/* The next write() of the journal writes only this many bytes (0: all). */
static size_t short_write;

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
    if (short_write && short_write < n) {
        n = short_write;
        short_write = 0;
        errno = 0;              /* A short write leaves errno as it was. */
        return __real_write(fd, buf, n);
    }
    return __real_write(fd, buf, n);
}

struct seen {
    int n;
    enum nm_journal_role roles[4];
    char ids[4][64];
    size_t n_records[4];
    char last_step[4][32];
};

static void
collect(void *seen_, enum nm_journal_role role, const char *id,
        const struct json *records)
{
    struct seen *seen = seen_;
    const struct json_array *a = json_array(records);

    assert_true(seen->n < 4);
    seen->roles[seen->n] = role;
    snprintf(seen->ids[seen->n], sizeof seen->ids[0], "%s", id);
    seen->n_records[seen->n] = a->n;
    const struct json *step = shash_find_data(json_object(a->elems[a->n - 1]),
                                              "step");
    snprintf(seen->last_step[seen->n], sizeof seen->last_step[0], "%s",
             json_string(step));
    seen->n++;
}

static struct json *
record(const char *step)
{
    struct json *r = json_object_create();

    json_object_put_string(r, "step", step);
    return r;
}

static void
append_role(struct nm_journal *j, enum nm_journal_role role, const char *id,
            const char *step, bool sync)
{
    struct json *r = record(step);

    assert_int_equal(nm_journal_append(j, role, id, r, sync), 0);
    json_destroy(r);
}

static void
append(struct nm_journal *j, const char *id, const char *step, bool sync)
{
    append_role(j, NM_JOURNAL_DESTINATION, id, step, sync);
}

static char *
new_state_dir(char *dir)
{
    assert_non_null(mkdtemp(dir));
    return xasprintf("%s/state", dir);
}

static void
remove_dir(const char *dir)
{
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static struct nm_journal *
open_journal(const char *state_dir, size_t keep)
{
    struct nm_journal *j;
    char err[256];

    assert_int_equal(nm_journal_open(state_dir, keep, &j, err, sizeof err),
                     0);
    return j;
}

static void
test_journal(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    struct nm_journal *j;
    struct seen seen = { 0 };
    char err[256];

    assert_non_null(mkdtemp(dir));
    char *state_dir = xasprintf("%s/state/nested", dir);
    assert_int_equal(nm_journal_open(state_dir, NM_JOURNAL_DONE_KEEP, &j, err,
                                     sizeof err), 0);

    append(j, "vm1.1", "prepare-begin", true);
    append(j, "vm1.1", "prepare-done", true);
    append(j, "vm1.1", "resume-begin", false);
    append(j, "vm2.1", "prepare-begin", true);

    /* A crash in the middle of a write: a torn last line is ignored. */
    char *path = xasprintf("%s/journal/vm2.1.jsonl", state_dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("{\"step\": \"prepare-do", f);
    fclose(f);

    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 2);
    for (int i = 0; i < 2; i++) {
        if (!strcmp(seen.ids[i], "vm1.1")) {
            assert_int_equal(seen.n_records[i], 3);
            assert_string_equal(seen.last_step[i], "resume-begin");
        } else {
            assert_string_equal(seen.ids[i], "vm2.1");
            assert_int_equal(seen.n_records[i], 1);
        }
    }

    /* Finished: no longer loaded, still readable; finishing twice is fine. */
    assert_int_equal(nm_journal_finish(j, NM_JOURNAL_DESTINATION, "vm1.1"), 0);
    assert_int_equal(nm_journal_finish(j, NM_JOURNAL_DESTINATION, "vm1.1"), 0);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.ids[0], "vm2.1");
    struct json *done = nm_journal_read(j, NM_JOURNAL_DESTINATION, "vm1.1");
    assert_non_null(done);
    assert_int_equal(json_array(done)->n, 3);
    json_destroy(done);
    assert_null(nm_journal_read(j, NM_JOURNAL_DESTINATION, "vm9.1"));

    /* An id never names a path outside the journal. */
    struct json *r = record("x");
    assert_int_equal(nm_journal_append(j, NM_JOURNAL_DESTINATION, "../evil", r,
                                       true), -EINVAL);
    assert_int_equal(nm_journal_append(j, NM_JOURNAL_DESTINATION, ".hidden", r,
                                       true), -EINVAL);
    assert_int_equal(nm_journal_append(j, NM_JOURNAL_DESTINATION, "", r,
                                       true), -EINVAL);
    json_destroy(r);
    assert_null(nm_journal_read(j, NM_JOURNAL_DESTINATION,
                                "../journal/vm2.1"));

    nm_journal_close(j);
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(path);
    free(state_dir);
}

static void
test_open_error(void **state OVS_UNUSED)
{
    struct nm_journal *j = (void *) 1;
    char err[256] = "";

    assert_true(nm_journal_open("/proc/nm-no-such/state", 8, &j, err,
                                sizeof err) < 0);
    assert_null(j);
    assert_non_null(strstr(err, "state_dir"));
}

/* A peer names the source's migrations: the same id as one of this host's
 * own never touches it, and each is recovered in its own role. */
static void
test_roles_apart(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    char *state_dir = new_state_dir(dir);
    struct nm_journal *j = open_journal(state_dir, 8);
    struct seen seen = { 0 };

    append(j, "vm1.7", "prepare-begin", true);
    append_role(j, NM_JOURNAL_SOURCE, "vm1.7", "export", true);
    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(seen.ids[i], "vm1.7");
        assert_int_equal(seen.n_records[i], 1);
        assert_string_equal(seen.last_step[i],
                            seen.roles[i] == NM_JOURNAL_SOURCE
                            ? "export" : "prepare-begin");
    }
    assert_int_not_equal(seen.roles[0], seen.roles[1]);

    /* Finishing one leaves the other. */
    assert_int_equal(nm_journal_finish(j, NM_JOURNAL_SOURCE, "vm1.7"), 0);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.roles[0], NM_JOURNAL_DESTINATION);
    struct json *r = nm_journal_read(j, NM_JOURNAL_SOURCE, "vm1.7");
    assert_non_null(r);
    assert_int_equal(json_array(r)->n, 1);
    json_destroy(r);

    nm_journal_close(j);
    remove_dir(dir);
    free(state_dir);
}

/* A write that fails part way (a full disk) is cut back off: the records
 * before it and the next one load; the error is not a stale errno. */
static void
test_short_write(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    char *state_dir = new_state_dir(dir);
    struct nm_journal *j = open_journal(state_dir, 8);
    struct seen seen = { 0 };

    append(j, "vm1.1", "prepare-begin", true);
    struct json *r = record("prepare-done");
    short_write = 5;
    assert_int_equal(nm_journal_append(j, NM_JOURNAL_DESTINATION, "vm1.1", r,
                                       true), -EIO);
    json_destroy(r);
    append(j, "vm1.1", "abort-begin", true);

    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.n_records[0], 2);
    assert_string_equal(seen.last_step[0], "abort-begin");

    nm_journal_close(j);
    remove_dir(dir);
    free(state_dir);
}

/* A crash left a torn last line: the next record does not join it. */
static void
test_torn_tail_cut(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    char *state_dir = new_state_dir(dir);
    struct nm_journal *j = open_journal(state_dir, 8);
    struct seen seen = { 0 };

    append(j, "vm1.1", "prepare-begin", true);
    char *path = xasprintf("%s/journal/vm1.1.jsonl", state_dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("{\"step\": \"prepare-do", f);
    fclose(f);
    append(j, "vm1.1", "failed", true);

    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.n_records[0], 2);
    assert_string_equal(seen.last_step[0], "failed");

    nm_journal_close(j);
    remove_dir(dir);
    free(path);
    free(state_dir);
}

/* An earlier netmove kept the source's journals with the destination's:
 * opening moves them where recovery looks for a source's. */
static void
test_legacy_source_moved(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    char *state_dir = new_state_dir(dir);
    struct nm_journal *j = open_journal(state_dir, 8);
    struct seen seen = { 0 };

    struct json *r = json_from_string("{\"role\": \"source\", \"vm\": "
                                      "\"vm1\", \"step\": \"export\"}");
    assert_int_equal(nm_journal_append(j, NM_JOURNAL_DESTINATION, "vm1.3", r,
                                       true), 0);
    json_destroy(r);
    append(j, "vm2.3", "prepare-begin", true);
    nm_journal_close(j);

    j = open_journal(state_dir, 8);
    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(seen.roles[i], !strcmp(seen.ids[i], "vm1.3")
                                        ? NM_JOURNAL_SOURCE
                                        : NM_JOURNAL_DESTINATION);
    }
    nm_journal_close(j);
    remove_dir(dir);
    free(state_dir);
}

/* Two netmoved on one state directory would recover the same migrations
 * twice: the second open is refused, until the first closes. */
static void
test_one_process(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    char *state_dir = new_state_dir(dir);
    struct nm_journal *j = open_journal(state_dir, 8), *j2;
    char err[256] = "";

    assert_int_equal(nm_journal_open(state_dir, 8, &j2, err, sizeof err),
                     -EBUSY);
    assert_null(j2);
    assert_non_null(strstr(err, "in use by another netmoved"));
    nm_journal_close(j);
    j = open_journal(state_dir, 8);
    nm_journal_close(j);
    remove_dir(dir);
    free(state_dir);
}

static size_t
count_files(const char *dir)
{
    char *cmd = xasprintf("ls %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    size_t n = 0;

    assert_non_null(p);
    assert_int_equal(fscanf(p, "%zu", &n), 1);
    pclose(p);
    free(cmd);
    return n;
}

/* done/ keeps the last 'keep' migrations, the newest. */
static void
test_done_pruned(void **state OVS_UNUSED)
{
    char dir[] = "/tmp/nm-test-journal-XXXXXX";
    char *state_dir = new_state_dir(dir);
    char *done = xasprintf("%s/done", state_dir);
    struct nm_journal *j = open_journal(state_dir, 3);
    char id[32];

    for (int i = 0; i < 70; i++) {       /* Past one pruning (every 64). */
        snprintf(id, sizeof id, "vm%d.1", i);
        append(j, id, "prepare-begin", false);
        assert_int_equal(nm_journal_finish(j, NM_JOURNAL_DESTINATION, id),
                         0);
    }
    size_t n = count_files(done);
    assert_true(n > 3 && n <= 3 + 64);
    nm_journal_close(j);

    j = open_journal(state_dir, 3);      /* Opening prunes too. */
    assert_int_equal(count_files(done), 3);
    struct json *r = nm_journal_read(j, NM_JOURNAL_DESTINATION, "vm69.1");
    assert_non_null(r);                  /* The newest stays. */
    json_destroy(r);
    assert_null(nm_journal_read(j, NM_JOURNAL_DESTINATION, "vm0.1"));
    nm_journal_close(j);
    remove_dir(dir);
    free(done);
    free(state_dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_open_error),
        cmocka_unit_test(test_roles_apart),
        cmocka_unit_test(test_short_write),
        cmocka_unit_test(test_torn_tail_cut),
        cmocka_unit_test(test_legacy_source_moved),
        cmocka_unit_test(test_one_process),
        cmocka_unit_test(test_done_pruned),
    };
    set_program_name("test_journal");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
