/* Locating a migration's source among the peers, for a prepare or resume
 * called without --from (a libvirt hook is not told the source host). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "unixctl.h"
#include "util.h"

#include "netmove/common/config.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/json.h"

VLOG_DEFINE_THIS_MODULE(migration_locate);

#define RPC_TIMEOUT_MS 5000

void
migration_locates_cancel(struct migration *m)
{
    for (size_t i = 0; i < m->n_locates; i++) {
        m->nm->ops->cancel(m->nm, &m->locates[i]);
    }
    free(m->locates);
    m->locates = NULL;
    m->n_locates = m->n_unanswered = 0;
}

/* Every peer is asked and every answer waited for (each request ends by
 * its own timeout, RPC_TIMEOUT_MS, at the latest): the source is the one
 * peer that has the VM.  Two that say so are an error: a VM runs in one
 * place, and a peer must not become the source by answering first. */
static void
locate_reply(void *l_, const struct json *result, const char *error,
             int errnum OVS_UNUSED)
{
    struct mig_locate *l = l_;
    struct migration *m = l->m;
    const struct json *present = nm_json_member(result, "present");
    const struct mig_locate *claim = NULL;

    l->answered = true;
    m->n_unanswered--;
    l->present = present && present->type == JSON_TRUE;
    for (size_t i = 0; i < m->n_locates; i++) {
        if (m->locates[i].present && &m->locates[i] != l) {
            claim = &m->locates[i];
        }
    }
    if (l->present && claim) {
        migration_set_error(m, "locate: both %s and %s say they have %s: "
                            "the source is not known", claim->peer, l->peer,
                            m->vm);
        migration_locates_cancel(m);
        migration_fail_prepare(m);
        return;
    }
    if (error) {
        VLOG_INFO("locate %s: %s did not answer: %s", m->vm, l->peer, error);
    }
    if (m->n_unanswered) {
        return;
    }
    claim = l->present ? l : claim;
    if (claim) {
        m->src = xstrdup(claim->peer);
        migration_locates_cancel(m);
        migration_start_prepare(m);
    } else {
        migration_locates_cancel(m);
        migration_set_error(m, "no peer has a port for %s%s%s%s", m->vm,
                  error ? " (last error: " : "", error ? error : "",
                  error ? ")" : "");
        migration_fail_prepare(m);
    }
}

void
migration_start(struct migration *m)
{
    struct netmoved *nm = m->nm;
    size_t n = nm->cfg->n_peers;

    if (m->src) {
        migration_start_prepare(m);
        return;
    }
    if (!n) {
        migration_set_error(m, "no --from and no peers to ask where %s is", m->vm);
        m->bad_input = true;
        migration_fail_prepare(m);
        return;
    }
    /* Ask every peer; the one that has the VM is the source. */
    m->state = MIG_LOCATING;
    m->locates = xcalloc(n, sizeof *m->locates);
    m->n_locates = m->n_unanswered = n;
    for (size_t i = 0; i < n; i++) {
        m->locates[i] = (struct mig_locate) { m, nm->cfg->peers[i].name,
                                              false, false };
    }
    for (size_t i = 0; i < n && m->state == MIG_LOCATING; i++) {
        struct mig_locate *l = &m->locates[i];
        struct json *p = json_object_create();
        json_object_put_string(p, "vm", m->vm);
        if (nm->ops->request(nm, l->peer, "locate", p, RPC_TIMEOUT_MS,
                             locate_reply, l)) {
            /* Cannot happen (the names are the configured peers'); as if
             * it had answered that it has no such VM. */
            locate_reply(l, NULL, "not a configured peer", -ENOENT);
        }
    }
}
