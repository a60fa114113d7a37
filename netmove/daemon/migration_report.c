/* A migration as JSON, and the CLI calls waiting for its outcome. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "unixctl.h"
#include "util.h"
#include "timeval.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/service.h"
#include "netmove/addr/vmaddr.h"
#include "netmove/common/json.h"

struct json *
migration_to_json(const struct migration *m)
{
    struct json *j = json_object_create();
    struct json *t = json_object_create();

    json_object_put_string(j, "id", m->id);
    json_object_put_string(j, "vm", m->vm);
    json_object_put(j, "src", m->src ? json_string_create(m->src)
                                     : json_null_create());
    json_object_put_string(j, "state", migration_state_name(m->state));
    if (m->ending) {
        /* Rolling back before it ends failed or aborted. */
        json_object_put(j, "rolling_back", json_boolean_create(true));
    }
    if (m->adopt) {
        json_object_put(j, "adopt", json_boolean_create(true));
        json_object_put(j, "adopt_pending",
                        json_boolean_create(m->adopt_pending));
    }
    json_object_put(j, "addresses", nm_vm_addrs_to_json(&m->addrs));
    json_object_put(j, "frames_sent", json_integer_create(m->frames_sent));
    if (m->first_frame_wall_us) {
        json_object_put(j, "first_frame_wall_us",
                        json_integer_create(m->first_frame_wall_us));
    }
    json_object_put(j, "ct_delta", json_integer_create(m->ct_delta_entries));
    if (m->first_seen_wall_us) {
        struct json *seen = json_object_create();
        for (int i = 0; i < GARP_N_SEEN; i++) {
            if (m->seen[i]) {
                json_object_put(seen, garp_seen_type_name(i),
                                json_integer_create(m->seen[i]));
            }
        }
        json_object_put(j, "announcements_seen", seen);
        json_object_put(j, "first_seen_wall_us",
                        json_integer_create(m->first_seen_wall_us));
        json_object_put(j, "first_seen_vlan", m->seen_vlan >= 0
                        ? json_integer_create(m->seen_vlan)
                        : json_null_create());
    }
    if (m->confirm_result) {
        json_object_put(j, "source_removed", json_clone(m->confirm_result));
    }
    const struct json *site = m->export
        ? nm_json_member(m->export, "site") : NULL;
    if (site && site->type == JSON_STRING) {
        /* The source site's VLAN of each network -> this site's, for a
         * migrator whose VM definition names the VLAN (libvirt's <vlan>). */
        const struct nm_config *cfg = m->nm->cfg;
        struct json *map = json_object_create();
        for (size_t i = 0; i < cfg->n_networks; i++) {
            const struct nm_network *net = &cfg->networks[i];
            for (size_t k = 0; k < net->n_vlans; k++) {
                if (!strcmp(net->vlans[k].site, json_string(site))) {
                    int to = nm_config_translate_vlan(cfg, net->vlans[k].vlan,
                                                      json_string(site),
                                                      cfg->site);
                    char key[16];
                    snprintf(key, sizeof key, "%d", net->vlans[k].vlan);
                    json_object_put(map, key, json_integer_create(to));
                }
            }
        }
        json_object_put_string(j, "src_site", json_string(site));
        json_object_put(j, "vlan_map", map);
    }
    if (m->drain) {
        json_object_put(j, "drain", migration_drain_to_json(m));
    }
    if (m->last_error) {
        json_object_put_string(j, "last_error", m->last_error);
    }
    if (m->journal_error) {
        /* A record not written: after resume the cutover went on, but a
         * restart meanwhile would not know all of it. */
        size_t n = m->journal_pending ? json_array(m->journal_pending)->n : 0;
        json_object_put_string(j, "journal_error", m->journal_error);
        json_object_put(j, "journal_pending", json_integer_create(n));
        json_object_put(j, "warnings", json_array_create_1(
            json_string_create_nocopy(xasprintf(
                "journal: %s: %s", m->journal_error,
                n ? "records not on disk yet (retrying)"
                  : "written later, in order"))));
    }
    /* Per-phase timings, monotonic, in ms. */
    json_object_put(t, "prepare_ms",
                    json_real_create(migration_ms(m->t_prepare_begin, m->t_prepared)));
    json_object_put(t, "resume_to_activated_ms",
                    json_real_create(migration_ms(m->t_resume_call, m->t_activated)));
    json_object_put(t, "resume_to_first_frame_ms",
                    json_real_create(migration_ms(m->t_resume_call, m->t_first_frame)));
    json_object_put(t, "resume_to_ct_delta_ms",
                    json_real_create(migration_ms(m->t_resume_call, m->t_ct_delta)));
    json_object_put(t, "resume_to_confirmed_ms",
                    json_real_create(migration_ms(m->t_resume_call, m->t_confirmed)));
    json_object_put(j, "timings", t);
    return j;
}

struct json *
migration_docs_to_json(const struct migration *m)
{
    struct json *j = json_object_create();

    json_object_put(j, "export", m->export ? json_clone(m->export)
                                           : json_null_create());
    json_object_put(j, "ct_delta", m->ct_delta ? json_clone(m->ct_delta)
                                               : json_null_create());
    return j;
}

/* ---- CLI connections waiting for an outcome ---- */

void
migration_add_waiter(struct migration *m, struct unixctl_conn *conn,
                     enum mig_wait until)
{
    m->waiters = xrealloc(m->waiters, (m->n_waiters + 1) * sizeof *m->waiters);
    m->waiters[m->n_waiters++] = (struct mig_waiter) {
        conn, until, time_usec() + MIG_WAIT_MAX_US,
    };
}

/* Answers the waiters that 'm''s state satisfies (or whose time is up). */
void
migration_answer_waiters(struct migration *m)
{
    uint64_t now = time_usec();

    for (size_t i = 0; i < m->n_waiters; i++) {
        struct mig_waiter *w = &m->waiters[i];
        bool failed = m->state == MIG_FAILED || m->state == MIG_ABORTED;
        bool reached = !m->ending
                       && (failed || m->state == MIG_DONE
                           || (w->until == MIG_WAIT_PREPARED
                               && m->state == MIG_PREPARED));
        bool late = now >= w->deadline_us;

        if (!reached && !late) {
            continue;
        }
        struct json *j = migration_to_json(m);
        char *s = json_to_string(j, JSSF_SORT);
        if (w->until == MIG_WAIT_ENDED && reached) {
            unixctl_command_reply(w->conn, s);
        } else if (failed || (late && !reached)) {
            char *msg = xasprintf("%s%s: %s\n%s",
                                  m->bad_input ? "bad input: " : "",
                                  m->id, m->last_error ? m->last_error
                                  : "not finished in time (netmoved "
                                    "keeps retrying)", s);
            unixctl_command_reply_error(w->conn, msg);
            free(msg);
        } else {
            unixctl_command_reply(w->conn, s);
        }
        free(s);
        json_destroy(j);
        m->waiters[i--] = m->waiters[--m->n_waiters];
    }
}
