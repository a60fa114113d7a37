/* Locating a migration's source among the peers, for a prepare or resume
 * called without --from (a libvirt hook is not told the source host). */
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
#include "netmove/daemon/migration-int.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/json.h"

#define RPC_TIMEOUT_MS 5000

void
migration_locates_cancel(struct migration *m)
{
    for (size_t i = 0; i < m->n_locates; i++) {
        nm_peers_cancel(m->nm->peers, &m->locates[i]);
    }
    free(m->locates);
    m->locates = NULL;
    m->n_locates = m->n_unanswered = 0;
}

static void
locate_reply(void *l_, const struct json *result, const char *error,
             int errnum OVS_UNUSED)
{
    struct mig_locate *l = l_;
    struct migration *m = l->m;
    const struct json *present = nm_json_member(result, "present");

    l->answered = true;
    m->n_unanswered--;
    if (present && present->type == JSON_TRUE) {
        m->src = xstrdup(l->peer);
        migration_locates_cancel(m);
        migration_start_prepare(m);
    } else if (!m->n_unanswered) {
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
    size_t n = nm_peers_count(nm->peers);

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
    /* Ask every peer; the first that has the VM is the source. */
    m->state = MIG_LOCATING;
    m->locates = xcalloc(n, sizeof *m->locates);
    m->n_locates = m->n_unanswered = n;
    for (size_t i = 0; i < n; i++) {
        struct json *p = json_object_create();
        json_object_put_string(p, "vm", m->vm);
        m->locates[i] = (struct mig_locate) { m, nm_peers_name(nm->peers, i),
                                              false };
        nm_peers_request(nm->peers, m->locates[i].peer, "locate", p,
                         RPC_TIMEOUT_MS, locate_reply, &m->locates[i]);
    }
}
