/* After a restart: every migration the journal left unfinished, as its
 * destination (service.c dispatches a journal by role: a source's exports
 * are source.c's), resumed (it had resumed, or the VM was resumed while
 * prepare ran: the destination never gives up), rolled back (it had not),
 * kept prepared, or finished (it had ended, and the restart came before its
 * journal moved to done/). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "netmove/daemon/journal.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/json.h"
#include "netmove/common/error.h"

VLOG_DEFINE_THIS_MODULE(migration_recover);

/* What the records of one migration say, read in order. */
struct recovered {
    const char *vm, *src;
    const struct json *export;  /* "prepare-done"'s, NULL if none. */
    bool adopt, resume_wanted, resumed, ct_done, aborting;
    enum mig_state ended;       /* MIG_DONE, _FAILED, _ABORTED; or
                                 * MIG_PREPARING: not ended. */
};

static void
read_records(const struct json *records, struct recovered *r)
{
    const struct json_array *a = json_array(records);

    memset(r, 0, sizeof *r);
    r->ended = MIG_PREPARING;
    for (size_t i = 0; i < a->n; i++) {
        struct nm_journal_rec rec;
        if (!nm_journal_rec_parse(a->elems[i], &rec)
            || rec.role != NM_JOURNAL_DESTINATION) {
            continue;           /* Torn, or of a newer netmoved. */
        }
        const struct json *src = nm_json_member(rec.json, "src");
        r->vm = rec.vm;
        r->src = src && src->type == JSON_STRING ? json_string(src) : r->src;
        switch (rec.step) {
        case NM_JS_PREPARE_BEGIN: {
            const struct json *adopt = nm_json_member(rec.json, "adopt");
            r->adopt = adopt && adopt->type == JSON_TRUE;
            break;
        }
        case NM_JS_RESUME_WANTED:
            r->resume_wanted = true;
            break;
        case NM_JS_PREPARE_DONE:
            r->export = nm_json_member(rec.json, "export");
            break;
        case NM_JS_RESUME_BEGIN:
        case NM_JS_ANNOUNCED:
            r->resumed = true;
            break;
        case NM_JS_CT_DELTA_DONE:
            r->ct_done = true;
            break;
        case NM_JS_ABORT_BEGIN:
            r->aborting = true;
            break;
        case NM_JS_CONFIRMED:
            r->ended = MIG_DONE;
            break;
        case NM_JS_FAILED:
            r->ended = MIG_FAILED;
            break;
        case NM_JS_ABORTED:
            r->ended = MIG_ABORTED;
            break;
        case NM_JS_ANNOUNCEMENTS_SEEN:
        case NM_JS_PAUSED:      /* Before resume: rolled back as prepared
                                 * (the source rolls back with the VM). */
        case NM_JS_DRAINED:
        case NM_JS_EXPORT:
        case NM_JS_CONFIRM_BEGIN:
        case NM_JS_CONFIRM_DONE:
        case NM_JS_SOURCE_RECORDS:
        case NM_JS_N:
        default:
            break;
        }
    }
}

/* The VM's addresses and port documents from its export 'x'. */
static void
load_export(struct migration *m, const struct json *x)
{
    const struct json *port = nm_json_member(x, "port");
    const struct json *learned = nm_json_member(x, "learned");
    char err[NM_ERRLEN];

    m->export = json_clone(x);
    if (nm_vm_addrs_from_doc(port, NULL, 0, &m->addrs, err, sizeof err)
        || (learned && nm_vm_addrs_add_learned(&m->addrs, learned,
                                               err, sizeof err))
        || migration_port_docs(m, x, err, sizeof err)) {
        /* What is missing is not announced or re-imported; a rollback
         * still removes what the migration staged (by its id). */
        VLOG_WARN("%s: recovery: %s", m->id, err);
    }
}

void
migration_recover(struct netmoved *nm, const char *id,
                   const struct json *records)
{
    struct recovered r;

    read_records(records, &r);
    if (!r.vm || migration_find(nm, r.vm)) {
        return;
    }

    struct migration *m = migration_create(nm, r.vm, r.src, id);
    m->adopt = r.adopt;
    m->adopt_pending = r.adopt; /* Until migration_follow_port() finds it. */
    if (r.export && r.export->type == JSON_OBJECT) {
        load_export(m, r.export);
        m->state = MIG_PREPARED;
    }
    if (r.ended != MIG_PREPARING) {
        /* It ended; the restart came before its journal was finished. */
        VLOG_INFO("%s: recovery: %s had ended (%s)", id, r.vm,
                  migration_state_name(r.ended));
        m->state = r.ended;
        migration_journal_finish(m);
    } else if (!r.aborting && r.resume_wanted && !m->export) {
        /* The VM was resumed here while its prepare ran: it runs here, so
         * prepare again and resume (a rollback would cut its network). */
        VLOG_INFO("%s: recovery: %s runs here; preparing it again", id, r.vm);
        m->resume_wanted = true;
        migration_start(m);
    } else if (r.aborting || !m->export) {
        /* Before resume: roll back whatever was staged. */
        VLOG_INFO("%s: recovery: rolling back %s", id, r.vm);
        migration_set_error(m, "%srolled back after a restart",
                            r.aborting ? "aborted: " : "");
        migration_end_before_resume(m, r.aborting ? MIG_ABORTED
                                                  : MIG_FAILED);
    } else if (r.resumed || r.resume_wanted) {
        /* After resume: never give up; finish it. */
        VLOG_INFO("%s: recovery: completing the resume of %s", id, r.vm);
        m->ct_delta_done = r.ct_done;
        migration_resume(m);
    } else {
        VLOG_INFO("%s: recovery: %s stays prepared, awaiting resume or "
                  "abort", id, r.vm);
    }
}
