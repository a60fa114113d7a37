/* After a restart: every migration the journal left unfinished is resumed
 * (it had resumed: the destination never gives up), rolled back (it had
 * not), or kept prepared; a source's exports are kept for their
 * destinations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "unixctl.h"
#include "util.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"
#include "netmove/daemon/source.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/json.h"
#include "netmove/common/error.h"

VLOG_DEFINE_THIS_MODULE(migration_recover);

static void
recover_one(void *nm_, const char *id, const struct json *records)
{
    struct netmoved *nm = nm_;
    const struct json_array *a = json_array(records);
    const char *vm = NULL, *src = NULL;
    const struct json *export = NULL;
    bool resumed = false, aborting = false, ct_done = false, adopt = false;

    for (size_t i = 0; i < a->n; i++) {
        const struct json *rec = a->elems[i];
        const struct json *role = nm_json_member(rec, "role");
        const struct json *step = nm_json_member(rec, "step");
        const struct json *v = nm_json_member(rec, "vm");
        const struct json *s = nm_json_member(rec, "src");
        if (role && role->type == JSON_STRING
            && !strcmp(json_string(role), "source")) {
            source_recover(nm, id, records);
            return;
        }
        if (!role || role->type != JSON_STRING
            || strcmp(json_string(role), "destination")
            || !step || step->type != JSON_STRING
            || !v || v->type != JSON_STRING) {
            return;
        }
        vm = json_string(v);
        src = s && s->type == JSON_STRING ? json_string(s) : src;
        const char *st = json_string(step);
        if (!strcmp(st, "prepare-begin")) {
            const struct json *a = nm_json_member(rec, "adopt");
            adopt = a && a->type == JSON_TRUE;
        } else if (!strcmp(st, "prepare-done")) {
            export = nm_json_member(rec, "export");
        } else if (!strcmp(st, "resume-begin")) {
            resumed = true;
        } else if (!strcmp(st, "ct-delta-done")) {
            ct_done = true;
        } else if (!strcmp(st, "abort-begin")) {
            aborting = true;
        }
    }
    if (!vm || migration_find(nm, vm)) {
        return;
    }

    struct migration *m = migration_create(nm, vm, src, id);
    char err[NM_ERRLEN];
    m->adopt = adopt;
    m->adopt_pending = adopt;   /* Until migration_follow_port() finds it. */
    if (export && export->type == JSON_OBJECT) {
        const struct json *port = nm_json_member(export, "port");
        const struct json *learned = nm_json_member(export, "learned");
        m->export = json_clone(export);
        if (nm_vm_addrs_from_doc(port, NULL, 0, &m->addrs, err, sizeof err)
            || (learned && nm_vm_addrs_add_learned(&m->addrs, learned,
                                                   err, sizeof err))
            || migration_port_docs(m, export, err, sizeof err)) {
            VLOG_WARN("%s: recovery: %s", id, err);
        }
        m->state = MIG_PREPARED;
    }
    if (aborting || !export) {
        /* Before resume: roll back whatever was staged. */
        VLOG_INFO("%s: recovery: rolling back %s", id, vm);
        migration_set_error(m, "rolled back after a restart");
        migration_fail_prepare(m);
    } else if (resumed) {
        /* After resume: never give up; finish it. */
        VLOG_INFO("%s: recovery: completing the resume of %s", id, vm);
        m->ct_delta_done = ct_done;
        migration_resume(m);
    } else {
        VLOG_INFO("%s: recovery: %s stays prepared, awaiting resume or "
                  "abort", id, vm);
    }
}

void
migrations_recover(struct netmoved *nm)
{
    int error = nm_journal_load(nm->journal, recover_one, nm);

    if (error) {
        VLOG_ERR("journal: %s", ovs_strerror(-error));
    }
}
