/* The migration journal. */
#include "netmove/daemon/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "timeval.h"
#include "util.h"

#include "netmove/common/json.h"

struct nm_journal {
    char *active;               /* STATE_DIR/journal */
    char *done;                 /* STATE_DIR/done */
};

static int
mkdir_p(const char *path)
{
    char *copy = xstrdup(path);
    int error = 0;

    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, 0700) && errno != EEXIST) {
                error = -errno;
                break;
            }
            *p = c;
            if (!c) {
                break;
            }
        }
    }
    free(copy);
    return error;
}

int
nm_journal_open(const char *state_dir, struct nm_journal **jp,
                char *err, size_t errlen)
{
    struct nm_journal *j = xzalloc(sizeof *j);
    int error;

    j->active = xasprintf("%s/journal", state_dir);
    j->done = xasprintf("%s/done", state_dir);
    if ((error = mkdir_p(j->active)) || (error = mkdir_p(j->done))) {
        snprintf(err, errlen, "state_dir: %s: %s", state_dir,
                 ovs_strerror(-error));
        nm_journal_close(j);
        *jp = NULL;
        return error;
    }
    *jp = j;
    return 0;
}

void
nm_journal_close(struct nm_journal *j)
{
    if (j) {
        free(j->active);
        free(j->done);
        free(j);
    }
}

/* An id names a file: letters, digits, '-', '_', '.' only, no leading '.'. */
static bool
id_valid(const char *id)
{
    if (!id[0] || id[0] == '.' || strlen(id) > 128) {
        return false;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-_.") == strlen(id);
}

static int
sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int error = 0;

    if (fd < 0 || fsync(fd)) {
        error = -errno;
    }
    if (fd >= 0) {
        close(fd);
    }
    return error;
}

int
nm_journal_append(struct nm_journal *j, const char *id,
                  const struct json *record, bool sync)
{
    if (!id_valid(id)) {
        return -EINVAL;
    }

    char *path = xasprintf("%s/%s.jsonl", j->active, id);
    bool created = access(path, F_OK) != 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    int error = 0;

    if (fd < 0) {
        error = -errno;
        goto out;
    }
    struct ds line = DS_EMPTY_INITIALIZER;
    json_to_ds(record, 0, &line);
    ds_put_char(&line, '\n');
    /* One write: a crash leaves at most a torn last line, which load()
     * ignores. */
    if (write(fd, line.string, line.length) != (ssize_t) line.length
        || (sync && fdatasync(fd))) {
        error = errno ? -errno : -EIO;
    }
    ds_destroy(&line);
    close(fd);
    if (!error && created && sync) {
        error = sync_dir(j->active);
    }
out:
    free(path);
    return error;
}

int
nm_journal_finish(struct nm_journal *j, const char *id)
{
    if (!id_valid(id)) {
        return -EINVAL;
    }

    char *from = xasprintf("%s/%s.jsonl", j->active, id);
    char *to = xasprintf("%s/%s.jsonl", j->done, id);
    int error = rename(from, to) ? -errno : 0;

    if (!error) {
        error = sync_dir(j->active);
    } else if (error == -ENOENT) {
        error = 0;              /* Finished already: idempotent. */
    }
    free(from);
    free(to);
    return error;
}

static struct json *
read_records(const char *path)
{
    FILE *f = fopen(path, "r");
    struct json *records;
    char *line = NULL;
    size_t size = 0;

    if (!f) {
        return NULL;
    }
    records = json_array_create_empty();
    while (getline(&line, &size, f) > 0) {
        struct json *rec = json_from_string(line);
        if (rec->type == JSON_OBJECT) {
            json_array_add(records, rec);
        } else {
            json_destroy(rec);  /* A torn line from a crash. */
        }
    }
    free(line);
    fclose(f);
    return records;
}

int
nm_journal_load(struct nm_journal *j,
                void (*cb)(void *aux, const char *id,
                           const struct json *records),
                void *aux)
{
    DIR *dir = opendir(j->active);
    struct dirent *de;

    if (!dir) {
        return -errno;
    }
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 6 || strcmp(de->d_name + len - 6, ".jsonl")) {
            continue;
        }
        char *id = xmemdup0(de->d_name, len - 6);
        char *path = xasprintf("%s/%s", j->active, de->d_name);
        struct json *records = read_records(path);
        if (records) {
            cb(aux, id, records);
            json_destroy(records);
        }
        free(path);
        free(id);
    }
    closedir(dir);
    return 0;
}

struct json *
nm_journal_read(struct nm_journal *j, const char *id)
{
    if (!id_valid(id)) {
        return NULL;
    }

    char *path = xasprintf("%s/%s.jsonl", j->active, id);
    struct json *records = read_records(path);

    free(path);
    if (!records) {
        path = xasprintf("%s/%s.jsonl", j->done, id);
        records = read_records(path);
        free(path);
    }
    return records;
}

/* ---- records ---- */

static const char *const step_names[NM_JS_N] = {
#define NM_JOURNAL_STEP(ENUM, NAME) [NM_JS_##ENUM] = NAME,
    NM_JOURNAL_STEPS
#undef NM_JOURNAL_STEP
};

static const char *const role_names[NM_JOURNAL_N_ROLES] = {
    [NM_JOURNAL_DESTINATION] = "destination",
    [NM_JOURNAL_SOURCE] = "source",
};

const char *
nm_journal_step_name(enum nm_journal_step step)
{
    return step < NM_JS_N ? step_names[step] : "?";
}

bool
nm_journal_step_from_name(const char *name, enum nm_journal_step *step)
{
    for (int i = 0; i < NM_JS_N; i++) {
        if (!strcmp(name, step_names[i])) {
            *step = i;
            return true;
        }
    }
    return false;
}

static bool
role_from_name(const char *name, enum nm_journal_role *role)
{
    for (int i = 0; i < NM_JOURNAL_N_ROLES; i++) {
        if (!strcmp(name, role_names[i])) {
            *role = i;
            return true;
        }
    }
    return false;
}

bool
nm_journal_rec_parse(const struct json *json, struct nm_journal_rec *rec)
{
    const struct json *role = nm_json_member(json, "role");
    const struct json *step = nm_json_member(json, "step");
    const struct json *vm = nm_json_member(json, "vm");

    if (!role || role->type != JSON_STRING
        || !step || step->type != JSON_STRING
        || !vm || vm->type != JSON_STRING
        || !role_from_name(json_string(role), &rec->role)
        || !nm_journal_step_from_name(json_string(step), &rec->step)) {
        return false;
    }
    rec->vm = json_string(vm);
    rec->json = json;
    return true;
}

bool
nm_journal_role_of(const struct json *records, enum nm_journal_role *role)
{
    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        struct nm_journal_rec rec;
        if (nm_journal_rec_parse(json_array(records)->elems[i], &rec)) {
            *role = rec.role;
            return true;
        }
    }
    return false;
}

struct json *
nm_journal_rec_create(enum nm_journal_role role, enum nm_journal_step step,
                      const char *vm, struct json *extra)
{
    struct json *rec = extra ? extra : json_object_create();

    json_object_put_string(rec, "role", role_names[role]);
    json_object_put_string(rec, "vm", vm);
    json_object_put_string(rec, "step", nm_journal_step_name(step));
    json_object_put(rec, "t_us", json_integer_create(time_wall_usec()));
    return rec;
}
