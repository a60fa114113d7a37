/* netmove/daemon/journal.c: records on disk, reloaded in order, finished. */
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

struct seen {
    int n;
    char ids[4][64];
    size_t n_records[4];
    char last_step[4][32];
};

static void
collect(void *seen_, const char *id, const struct json *records)
{
    struct seen *seen = seen_;
    const struct json_array *a = json_array(records);

    assert_true(seen->n < 4);
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
append(struct nm_journal *j, const char *id, const char *step, bool sync)
{
    struct json *r = record(step);

    assert_int_equal(nm_journal_append(j, id, r, sync), 0);
    json_destroy(r);
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
    assert_int_equal(nm_journal_open(state_dir, &j, err, sizeof err), 0);

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
    assert_int_equal(nm_journal_finish(j, "vm1.1"), 0);
    assert_int_equal(nm_journal_finish(j, "vm1.1"), 0);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(nm_journal_load(j, collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.ids[0], "vm2.1");
    struct json *done = nm_journal_read(j, "vm1.1");
    assert_non_null(done);
    assert_int_equal(json_array(done)->n, 3);
    json_destroy(done);
    assert_null(nm_journal_read(j, "vm9.1"));

    /* An id never names a path outside the journal. */
    struct json *r = record("x");
    assert_int_equal(nm_journal_append(j, "../evil", r, true), -EINVAL);
    assert_int_equal(nm_journal_append(j, ".hidden", r, true), -EINVAL);
    assert_int_equal(nm_journal_append(j, "", r, true), -EINVAL);
    json_destroy(r);
    assert_null(nm_journal_read(j, "../journal/vm2.1"));

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

    assert_true(nm_journal_open("/proc/nm-no-such/state", &j, err,
                                sizeof err) < 0);
    assert_null(j);
    assert_non_null(strstr(err, "state_dir"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_open_error),
    };
    set_program_name("test_journal");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
