/* The migration journal. */
#include "netmove/daemon/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "util.h"

#include "netmove/common/json.h"

VLOG_DEFINE_THIS_MODULE(journal);

/* Each role's files in a directory of its own: a source's migrations are
 * named by ids its peers choose, and must never be taken for (or replace)
 * this host's own. */
struct nm_journal {
    char *active[NM_JOURNAL_N_ROLES];   /* STATE_DIR/journal,
                                         * STATE_DIR/source/journal */
    char *done[NM_JOURNAL_N_ROLES];     /* STATE_DIR/done,
                                         * STATE_DIR/source/done */
    int lock_fd;                        /* STATE_DIR/lock, held. */
    size_t done_keep;                   /* Files kept in each done/. */
    unsigned int n_finished[NM_JOURNAL_N_ROLES];  /* Since the last
                                                   * pruning. */
};

#define PRUNE_EVERY 64                  /* Finishes between two prunings. */

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

static void prune_done(struct nm_journal *, enum nm_journal_role);
static void move_legacy_source_journals(struct nm_journal *);

/* Takes STATE_DIR's lock: two netmoved on one state directory would both
 * recover, and roll back, the same migrations. */
static int
lock_state_dir(const char *state_dir, int *fdp, char *err, size_t errlen)
{
    char *path = xasprintf("%s/lock", state_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int error = 0;

    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "state_dir: %s: %s", path,
                 ovs_strerror(errno));
    } else if (flock(fd, LOCK_EX | LOCK_NB)) {
        error = errno == EWOULDBLOCK ? -EBUSY : -errno;
        snprintf(err, errlen, "state_dir: %s is in use by another netmoved "
                 "(%s is locked)", state_dir, path);
        close(fd);
        fd = -1;
    }
    free(path);
    *fdp = fd;
    return error;
}

int
nm_journal_open(const char *state_dir, size_t done_keep,
                struct nm_journal **jp, char *err, size_t errlen)
{
    struct nm_journal *j = xzalloc(sizeof *j);
    int error = 0;

    j->lock_fd = -1;
    j->done_keep = done_keep;
    j->active[NM_JOURNAL_DESTINATION] = xasprintf("%s/journal", state_dir);
    j->done[NM_JOURNAL_DESTINATION] = xasprintf("%s/done", state_dir);
    j->active[NM_JOURNAL_SOURCE] = xasprintf("%s/source/journal", state_dir);
    j->done[NM_JOURNAL_SOURCE] = xasprintf("%s/source/done", state_dir);
    for (int r = 0; r < NM_JOURNAL_N_ROLES && !error; r++) {
        if ((error = mkdir_p(j->active[r])) || (error = mkdir_p(j->done[r]))) {
            snprintf(err, errlen, "state_dir: %s: %s", state_dir,
                     ovs_strerror(-error));
        }
    }
    if (!error) {
        error = lock_state_dir(state_dir, &j->lock_fd, err, errlen);
    }
    if (error) {
        nm_journal_close(j);
        *jp = NULL;
        return error;
    }
    move_legacy_source_journals(j);
    for (int r = 0; r < NM_JOURNAL_N_ROLES; r++) {
        prune_done(j, r);
    }
    *jp = j;
    return 0;
}

void
nm_journal_close(struct nm_journal *j)
{
    if (j) {
        for (int r = 0; r < NM_JOURNAL_N_ROLES; r++) {
            free(j->active[r]);
            free(j->done[r]);
        }
        if (j->lock_fd >= 0) {
            close(j->lock_fd);
        }
        free(j);
    }
}

/* An id names a file: the characters of a VM name (fw_vm_name_valid():
 * an id is "VM.N") and no '/', no leading '.'. */
static bool
id_valid(const char *id)
{
    if (!id[0] || id[0] == '.' || strlen(id) > 128) {
        return false;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-_.:@+") == strlen(id);
}

/* A crash in the middle of a write leaves a last line without its '\n'
 * (load() ignores it): cuts it off before appending, or the next record
 * would join it and be lost too.  Returns the file's size after. */
static off_t
cut_torn_tail(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char buf[4096];

    if (size <= 0) {
        return size;
    }
    if (pread(fd, buf, 1, size - 1) != 1 || buf[0] == '\n') {
        return size;
    }
    /* Back to just after the last '\n' (or the start). */
    off_t end = size - 1;
    while (end > 0) {
        size_t n = MIN((off_t) sizeof buf, end);
        if (pread(fd, buf, n, end - n) != (ssize_t) n) {
            return size;
        }
        char *nl = memrchr(buf, '\n', n);
        if (nl) {
            end = end - n + (nl - buf) + 1;
            break;
        }
        end -= n;
    }
    return ftruncate(fd, end) ? size : end;
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
nm_journal_append(struct nm_journal *j, enum nm_journal_role role,
                  const char *id, const struct json *record, bool sync)
{
    if (!id_valid(id)) {
        return -EINVAL;
    }

    char *path = xasprintf("%s/%s.jsonl", j->active[role], id);
    bool created = access(path, F_OK) != 0;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    int error = 0;

    if (fd < 0) {
        error = -errno;
        goto out;
    }
    struct ds line = DS_EMPTY_INITIALIZER;
    json_to_ds(record, 0, &line);
    ds_put_char(&line, '\n');
    /* One write: a crash leaves at most a torn last line, which load()
     * ignores.  A write that fails part way is cut back off, so that the
     * next record does not join the torn line (both would be lost). */
    off_t size = cut_torn_tail(fd);
    ssize_t n = write(fd, line.string, line.length);
    if (n != (ssize_t) line.length) {
        error = n < 0 ? -errno : -EIO;      /* Short: errno says nothing. */
        if (n > 0 && (size < 0 || ftruncate(fd, size))) {
            error = -EIO;
        }
    } else if (sync && fdatasync(fd)) {
        error = -errno;
    }
    ds_destroy(&line);
    close(fd);
    if (!error && created && sync) {
        error = sync_dir(j->active[role]);
    }
out:
    free(path);
    return error;
}

int
nm_journal_finish(struct nm_journal *j, enum nm_journal_role role,
                  const char *id)
{
    if (!id_valid(id)) {
        return -EINVAL;
    }

    char *from = xasprintf("%s/%s.jsonl", j->active[role], id);
    char *to = xasprintf("%s/%s.jsonl", j->done[role], id);
    int error = rename(from, to) ? -errno : 0;

    /* Both directories on disk: the file is in exactly one after a crash. */
    if (!error) {
        error = sync_dir(j->done[role]);
        if (!error) {
            error = sync_dir(j->active[role]);
        }
        if (++j->n_finished[role] >= PRUNE_EVERY) {
            j->n_finished[role] = 0;
            prune_done(j, role);
        }
    } else if (error == -ENOENT) {
        error = 0;              /* Finished already: idempotent. */
    }
    free(from);
    free(to);
    return error;
}

/* ---- done/: the last 'done_keep' finished migrations of each role ---- */

struct done_file {
    char *name;
    struct timespec mtime;
};

static int
done_file_cmp(const void *a_, const void *b_)
{
    const struct done_file *a = a_, *b = b_;

    if (a->mtime.tv_sec != b->mtime.tv_sec) {
        return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    }
    if (a->mtime.tv_nsec != b->mtime.tv_nsec) {
        return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

/* Removes the oldest files of 'role''s done/ beyond 'j->done_keep' (a
 * host migrates VMs for years: done/ must not grow for ever).  Errors are
 * ignored: the next pruning tries again. */
static void
prune_done(struct nm_journal *j, enum nm_journal_role role)
{
    DIR *dir = opendir(j->done[role]);
    struct done_file *files = NULL;
    size_t n = 0, allocated = 0;
    struct dirent *de;

    if (!dir) {
        return;
    }
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        struct stat st;

        if (len <= 6 || strcmp(de->d_name + len - 6, ".jsonl")
            || fstatat(dirfd(dir), de->d_name, &st, 0)) {
            continue;
        }
        if (n >= allocated) {
            files = x2nrealloc(files, &allocated, sizeof *files);
        }
        files[n].name = xstrdup(de->d_name);
        files[n].mtime = st.st_mtim;
        n++;
    }
    if (n > j->done_keep) {
        qsort(files, n, sizeof *files, done_file_cmp);
        for (size_t i = 0; i < n - j->done_keep; i++) {
            (void) unlinkat(dirfd(dir), files[i].name, 0);  /* Best effort. */
        }
    }
    closedir(dir);
    for (size_t i = 0; i < n; i++) {
        free(files[i].name);
    }
    free(files);
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

static int
load_role(struct nm_journal *j, enum nm_journal_role role,
          void (*cb)(void *aux, enum nm_journal_role, const char *id,
                     const struct json *records),
          void *aux)
{
    DIR *dir = opendir(j->active[role]);
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
        char *path = xasprintf("%s/%s", j->active[role], de->d_name);
        struct json *records = read_records(path);
        if (records) {
            cb(aux, role, id, records);
            json_destroy(records);
        }
        free(path);
        free(id);
    }
    closedir(dir);
    return 0;
}

int
nm_journal_load(struct nm_journal *j,
                void (*cb)(void *aux, enum nm_journal_role, const char *id,
                           const struct json *records),
                void *aux)
{
    int error = 0;

    for (int r = 0; r < NM_JOURNAL_N_ROLES; r++) {
        int e = load_role(j, r, cb, aux);
        error = error ? error : e;
    }
    return error;
}

struct json *
nm_journal_read(struct nm_journal *j, enum nm_journal_role role,
                const char *id)
{
    if (!id_valid(id)) {
        return NULL;
    }

    char *path = xasprintf("%s/%s.jsonl", j->active[role], id);
    struct json *records = read_records(path);

    free(path);
    if (!records) {
        path = xasprintf("%s/%s.jsonl", j->done[role], id);
        records = read_records(path);
        free(path);
    }
    return records;
}

/* True if file name 'name' is "VM.N.jsonl" for 'vm' (N digits). */
static bool
names_migration_of(const char *name, const char *vm)
{
    size_t vlen = strlen(vm), len = strlen(name);

    if (len <= vlen + 7 || strncmp(name, vm, vlen) || name[vlen] != '.'
        || strcmp(name + len - 6, ".jsonl")) {
        return false;
    }
    size_t digits = strspn(name + vlen + 1, "0123456789");
    return digits && vlen + 1 + digits == len - 6;
}

/* The first record of the file at 'path' names 'vm'. */
static bool
first_record_of(const char *path, const char *vm)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t size = 0;
    bool match = false;

    if (!f) {
        return false;
    }
    if (getline(&line, &size, f) > 0) {
        struct json *rec = json_from_string(line);
        const char *v = nm_json_member_string(rec, "vm");
        match = v && !strcmp(v, vm);
        json_destroy(rec);
    }
    free(line);
    fclose(f);
    return match;
}

bool
nm_journal_last(struct nm_journal *j, const char *vm,
                enum nm_journal_role *role, char **idp)
{
    struct timespec best = { 0, 0 };
    char *best_id = NULL;

    *idp = NULL;
    for (int r = 0; r < NM_JOURNAL_N_ROLES; r++) {
        const char *dirs[2] = { j->active[r], j->done[r] };
        for (int d = 0; d < 2; d++) {
            DIR *dir = opendir(dirs[d]);
            struct dirent *de;

            while (dir && (de = readdir(dir)) != NULL) {
                struct stat st;
                if (!names_migration_of(de->d_name, vm)
                    || fstatat(dirfd(dir), de->d_name, &st, 0)
                    || (best_id
                        && (st.st_mtim.tv_sec < best.tv_sec
                            || (st.st_mtim.tv_sec == best.tv_sec
                                && st.st_mtim.tv_nsec <= best.tv_nsec)))) {
                    continue;
                }
                char *path = xasprintf("%s/%s", dirs[d], de->d_name);
                if (first_record_of(path, vm)) {
                    free(best_id);
                    best_id = xmemdup0(de->d_name, strlen(de->d_name) - 6);
                    best = st.st_mtim;
                    *role = r;
                }
                free(path);
            }
            if (dir) {
                closedir(dir);
            }
        }
    }
    *idp = best_id;
    return best_id != NULL;
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

/* An earlier netmove kept the source's journals with the destination's, in
 * STATE_DIR/journal: moves each one whose records say "source" to
 * STATE_DIR/source/journal, where recovery looks for them (an export
 * awaiting its confirm across an upgrade). */
static void
move_legacy_source_journals(struct nm_journal *j)
{
    DIR *dir = opendir(j->active[NM_JOURNAL_DESTINATION]);
    struct dirent *de;

    if (!dir) {
        return;
    }
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 6 || strcmp(de->d_name + len - 6, ".jsonl")) {
            continue;
        }
        char *from = xasprintf("%s/%s", j->active[NM_JOURNAL_DESTINATION],
                               de->d_name);
        struct json *records = read_records(from);
        enum nm_journal_role role;
        if (records && nm_journal_role_of(records, &role)
            && role == NM_JOURNAL_SOURCE) {
            char *to = xasprintf("%s/%s", j->active[NM_JOURNAL_SOURCE],
                                 de->d_name);
            if (!rename(from, to)) {
                VLOG_INFO("journal: %s moved to %s (the source's journals "
                          "have their own directory now)", from, to);
            }
            free(to);
        }
        json_destroy(records);
        free(from);
    }
    closedir(dir);
}
