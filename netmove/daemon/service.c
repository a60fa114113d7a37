/* netmoved: its parts wired together, and the commands the CLI sends it. */
#include "netmove/daemon/learn.h"
#include "netmove/daemon/service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <limits.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/list.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "svec.h"
#include "unixctl.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/common/json.h"
#include "netmove/common/paths.h"
#include "netmove/daemon/journal.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/peer.h"
#include "netmove/daemon/relay.h"
#include "netmove/daemon/source.h"
#include "netmove/common/error.h"
#include "ovs/ovs.h"

VLOG_DEFINE_THIS_MODULE(service);


static void
reply_json(struct unixctl_conn *conn, struct json *j)
{
    char *s = json_to_string(j, JSSF_SORT);

    unixctl_command_reply(conn, s);
    free(s);
    json_destroy(j);
}

static void
reply_bad_input(struct unixctl_conn *conn, const char *fmt, ...)
    OVS_PRINTF_FORMAT(2, 3);

static void
reply_bad_input(struct unixctl_conn *conn, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    char *msg = xvasprintf(fmt, args);
    va_end(args);
    char *full = xasprintf("bad input: %s", msg);
    unixctl_command_reply_error(conn, full);
    free(full);
    free(msg);
}

/* Checks the arguments common to prepare and resume: argv[1] = VM,
 * argv[2] = source host or "-", argv[3..] = extra IPs. */
static bool
check_migration_args(struct netmoved *nm, struct unixctl_conn *conn,
                     int argc, const char *argv[])
{
    char err[NM_ERRLEN];

    if (!fw_vm_name_valid(argv[1])) {
        reply_bad_input(conn, "VM: '%s' is not a VM name", argv[1]);
        return false;
    }
    if (argc > 2 && strcmp(argv[2], "-")
        && !nm_config_find_peer(nm->cfg, argv[2])) {
        reply_bad_input(conn, "--from: '%s' is not a configured peer of %s",
                        argv[2], nm->cfg->host);
        return false;
    }
    for (int i = 3; i < argc; i++) {
        if (i == 3 && !strcmp(argv[i], "--adopt")) {
            continue;
        }
        ovs_be32 ip4;
        struct in6_addr ip6;
        bool v6;
        if (garp_parse_ip("--ip", argv[i], &ip4, &ip6, &v6, err, sizeof err)) {
            reply_bad_input(conn, "%s", err);
            return false;
        }
    }
    return true;
}

/* Finds or starts the migration of 'vm' from 'src' ("-" or NULL: to be
 * located), with the 'n_ips' extra addresses of 'ips' (the first may be
 * "--adopt": the migrator makes the VM's port here). */
static struct migration *
get_migration(struct netmoved *nm, const char *vm, const char *src,
              const char *const *ips, size_t n_ips, bool resume)
{
    struct migration *m = migration_find(nm, vm);
    bool adopt = n_ips && !strcmp(ips[0], "--adopt");

    if (adopt) {
        ips++;
        n_ips--;
    }

    if (src && !strcmp(src, "-")) {
        src = NULL;
    }
    if (m && (m->state == MIG_DONE || m->state == MIG_FAILED
              || m->state == MIG_ABORTED)) {
        /* A new migration of a VM that came here (or failed) before; the
         * old one's record stays in the journal. */
        migration_destroy(m);
        m = NULL;
    }
    if (!m) {
        m = migration_create(nm, vm, src, NULL);
        m->adopt = adopt;
        for (size_t i = 0; i < n_ips; i++) {
            m->extra_ips = xrealloc(m->extra_ips,
                                    (m->n_extra_ips + 1) * sizeof(char *));
            m->extra_ips[m->n_extra_ips++] = xstrdup(ips[i]);
        }
        /* Resumed with no prepare: the VM already runs here. */
        m->resume_wanted = resume;
        migration_start(m);
    }
    return m;
}

/* prepare VM SRC|- [IP...] */
static void
cmd_prepare(struct unixctl_conn *conn, int argc, const char *argv[],
            void *nm_)
{
    struct netmoved *nm = nm_;

    if (!check_migration_args(nm, conn, argc, argv)) {
        return;
    }
    struct migration *m = get_migration(nm, argv[1], argc > 2 ? argv[2] : NULL,
                                        &argv[3], MAX(argc - 3, 0), false);
    migration_add_waiter(m, conn, MIG_WAIT_PREPARED);
}

/* resume VM [SRC|-] [IP...] */
static void
cmd_resume(struct unixctl_conn *conn, int argc, const char *argv[],
           void *nm_)
{
    struct netmoved *nm = nm_;
    uint64_t now = time_usec();

    if (!check_migration_args(nm, conn, argc, argv)) {
        return;
    }
    struct migration *m = get_migration(nm, argv[1], argc > 2 ? argv[2] : NULL,
                                        &argv[3], MAX(argc - 3, 0), true);
    if (!m->t_resume_call) {
        m->t_resume_call = now;
    }
    migration_add_waiter(m, conn, MIG_WAIT_DONE);
    migration_resume(m);
}

/* ---- batches: prepare-many / resume-many SRC|- VM... ---- */

/* A CLI connection waiting for every migration of a batch. */
struct batch {
    struct ovs_list node;               /* In netmoved's 'batches'. */
    struct unixctl_conn *conn;
    enum mig_wait until;
    char **vms;
    size_t n_vms;
    uint64_t deadline_us;
};

static void
batch_destroy(struct batch *b)
{
    ovs_list_remove(&b->node);
    for (size_t i = 0; i < b->n_vms; i++) {
        free(b->vms[i]);
    }
    free(b->vms);
    free(b);
}

/* Answers 'b' if every migration reached its goal (or failed), or if time
 * is up.  Returns true if it answered. */
static bool
batch_check(struct netmoved *nm, struct batch *b)
{
    struct json *list = json_array_create_empty();
    bool all = true, failed = false;

    for (size_t i = 0; i < b->n_vms; i++) {
        struct migration *m = migration_find(nm, b->vms[i]);
        bool f = !m || m->state == MIG_FAILED || m->state == MIG_ABORTED;
        bool reached = f || m->state == MIG_DONE
                       || (b->until == MIG_WAIT_PREPARED
                           && m->state == MIG_PREPARED);
        all &= reached;
        failed |= f;
        if (m) {
            json_array_add(list, migration_to_json(m));
        }
    }
    if (!all && (uint64_t) time_usec() < b->deadline_us) {
        json_destroy(list);
        return false;
    }
    struct json *j = nm_json_object_1("migrations", list);
    char *s = json_to_string(j, JSSF_SORT);
    if (all && !failed) {
        unixctl_command_reply(b->conn, s);
    } else {
        char *msg = xasprintf("%s\n%s", failed ? "some migrations failed"
                              : "not all finished in time (netmoved keeps "
                                "retrying)", s);
        unixctl_command_reply_error(b->conn, msg);
        free(msg);
    }
    free(s);
    json_destroy(j);
    batch_destroy(b);
    return true;
}

static void
cmd_many(struct netmoved *nm, struct unixctl_conn *conn, int argc,
         const char *argv[], enum mig_wait until)
{
    const char *src = argv[1];

    if (strcmp(src, "-") && !nm_config_find_peer(nm->cfg, src)) {
        reply_bad_input(conn, "--from: '%s' is not a configured peer of %s",
                        src, nm->cfg->host);
        return;
    }
    for (int i = 2; i < argc; i++) {
        if (!fw_vm_name_valid(argv[i])) {
            reply_bad_input(conn, "VM: '%s' is not a VM name", argv[i]);
            return;
        }
        /* A VM twice would replace its own migration in the middle of the
         * batch (the first one freed, then resumed). */
        for (int k = 2; k < i; k++) {
            if (!strcmp(argv[k], argv[i])) {
                reply_bad_input(conn, "VM: '%s' is named twice", argv[i]);
                return;
            }
        }
    }

    struct batch *b = xzalloc(sizeof *b);
    b->conn = conn;
    b->until = until;
    b->deadline_us = time_usec() + MIG_WAIT_MAX_US;
    b->vms = xcalloc(argc - 2, sizeof *b->vms);
    struct migration **ms = xcalloc(argc - 2, sizeof *ms);
    uint64_t now = time_usec();
    for (int i = 2; i < argc; i++) {
        b->vms[b->n_vms] = xstrdup(argv[i]);
        ms[b->n_vms] = get_migration(nm, argv[i], src, NULL, 0,
                                     until == MIG_WAIT_DONE);
        if (!ms[b->n_vms]->t_resume_call && until == MIG_WAIT_DONE) {
            ms[b->n_vms]->t_resume_call = now;
        }
        b->n_vms++;
    }
    ovs_list_push_back(&nm->batches, &b->node);
    if (until == MIG_WAIT_DONE) {
        migration_resume_batch(ms, b->n_vms);
    }
    free(ms);
    batch_check(nm, b);
}

static void
cmd_prepare_many(struct unixctl_conn *conn, int argc, const char *argv[],
                 void *nm)
{
    cmd_many(nm, conn, argc, argv, MIG_WAIT_PREPARED);
}

static void
cmd_resume_many(struct unixctl_conn *conn, int argc, const char *argv[],
                void *nm)
{
    cmd_many(nm, conn, argc, argv, MIG_WAIT_DONE);
}

/* abort VM */
static void
cmd_abort(struct unixctl_conn *conn, int argc OVS_UNUSED, const char *argv[],
          void *nm_)
{
    struct netmoved *nm = nm_;
    struct migration *m = migration_find(nm, argv[1]);
    char *error = NULL;

    bool ended = m && (m->state == MIG_DONE || m->state == MIG_FAILED
                       || m->state == MIG_ABORTED);
    if (!m || (ended && source_is_outgoing(nm, argv[1]))) {
        /* Nothing incoming (or what came here ended, and the VM has been
         * exported since): as a source, withdraw the export (the source
         * changed nothing before confirm). */
        int err = source_forget(nm, argv[1], &error);
        if (err && err != -ENOENT) {
            unixctl_command_reply_error(conn, error);
        } else {
            unixctl_command_reply(conn, err ? "nothing to abort here"
                                            : error);
        }
        free(error);
        return;
    }
    if (migration_abort(m, &error)) {
        unixctl_command_reply_error(conn, error);
        free(error);
        return;
    }
    /* Answered once rolled back (a step of the loop). */
    migration_add_waiter(m, conn, MIG_WAIT_ENDED);
    migration_answer_waiters(m);
}

/* confirm VM: on the source, whether its copy has been removed. */
static void
cmd_confirm(struct unixctl_conn *conn, int argc OVS_UNUSED,
            const char *argv[], void *nm_)
{
    struct netmoved *nm = nm_;

    if (!fw_vm_name_valid(argv[1])) {
        reply_bad_input(conn, "VM: '%s' is not a VM name", argv[1]);
    } else if (source_is_outgoing(nm, argv[1])) {
        unixctl_command_reply_error(conn, "the destination has not "
                                    "confirmed yet; the source keeps "
                                    "everything until it does");
    } else {
        unixctl_command_reply(conn, "nothing of this VM is pending here");
    }
}

/* left VM[,VM...] [HOST] | paused VM[,VM...] [HOST|- [stopped]]: on the
 * source, its migrator's word that the VMs left (or paused) for HOST, the
 * destination they were exported to (no HOST, or "-": libvirt's release,
 * which names none); "stopped": they have stopped already (QEMU's STOP,
 * libvirt's event), else they stop once this is answered.  A batch (a host
 * evacuation pauses its VMs together) is one call: their catches go to the
 * switch together and one wait covers them.  Every name is checked before
 * anything is recorded; then each VM is recorded on its own (they are
 * pausing whatever this says: one VM's error does not deprive the others
 * of their drains), and the answer lists the errors. */
static void
cmd_evidence(struct unixctl_conn *conn, int argc, const char *argv[],
             bool paused, struct netmoved *nm)
{
    const char *to = argc > 2 && strcmp(argv[2], "-") ? argv[2] : NULL;
    enum nm_evidence ev = !paused ? NM_EV_LEFT : NM_EV_PAUSING;
    struct svec vms = SVEC_EMPTY_INITIALIZER;
    struct ds errors = DS_EMPTY_INITIALIZER;
    size_t n_confirmed = 0;
    bool bad = false;

    char *list = xstrdup(argv[1]), *rest = list, *vm;
    while ((vm = strsep(&rest, ","))) {
        svec_add(&vms, vm);
    }
    free(list);
    for (size_t i = 0; i < vms.n || !vms.n; i++) {
        if (!vms.n || !fw_vm_name_valid(vms.names[i])) {
            reply_bad_input(conn, "VM: '%s' is not a VM name",
                            vms.n ? vms.names[i] : argv[1]);
            svec_destroy(&vms);
            return;
        }
    }
    if (argc > 3) {
        if (strcmp(argv[3], "stopped")) {
            reply_bad_input(conn, "stopped: '%s' is not \"stopped\"",
                            argv[3]);
            svec_destroy(&vms);
            return;
        }
        ev = NM_EV_STOPPED;
    }
    const char **accepted = xcalloc(vms.n, sizeof *accepted);
    size_t n_accepted = 0;
    for (size_t i = 0; i < vms.n; i++) {
        char *error = NULL;
        int errnum = source_left(nm, vms.names[i], to, ev, &error);
        if (errnum > 0) {
            n_confirmed++;
        } else if (errnum) {
            bad |= nm_error_is_bad_input(errnum);
            ds_put_format(&errors, "%s%s%s%s", errors.length ? "; " : "",
                          vms.n > 1 ? vms.names[i] : "", vms.n > 1 ? ": " : "",
                          error);
        } else {
            accepted[n_accepted++] = vms.names[i];
        }
        free(error);
    }
    if (paused && n_accepted) {
        /* Answered once the drains' catches are in the switch (bounded):
         * the migrator stops the VMs after it, so no frame dies in their
         * taps.  The others' errors wait with them: whatever the answer,
         * the migrator stops every VM on it. */
        source_paused_reply(nm, accepted, n_accepted,
                            errors.length ? ds_cstr(&errors) : NULL, bad,
                            conn);
    } else if (errors.length) {
        if (bad) {
            reply_bad_input(conn, "%s", ds_cstr(&errors));
        } else {
            unixctl_command_reply_error(conn, ds_cstr(&errors));
        }
    } else if (!n_accepted) {
        unixctl_command_reply(conn, "left: its destination confirmed "
                              "already; nothing of it is left here");
    } else {
        unixctl_command_reply(conn, "left: recorded; the source removes its "
                              "copy when the destination confirms");
    }
    free(accepted);
    ds_destroy(&errors);
    svec_destroy(&vms);
}

static void
cmd_left(struct unixctl_conn *conn, int argc, const char *argv[], void *nm)
{
    cmd_evidence(conn, argc, argv, false, nm);
}

static void
cmd_paused(struct unixctl_conn *conn, int argc, const char *argv[], void *nm)
{
    cmd_evidence(conn, argc, argv, true, nm);
}

/* The conntrack listener's counters (docs/PROTOCOL.md is unchanged: this
 * is the control socket's status). */
static struct json *
ct_events_json(const struct ct_events *ev)
{
    struct json *j = json_object_create();
    struct ct_events_stats st;

    json_object_put(j, "listening", json_boolean_create(ev != NULL));
    if (ev) {
        ct_events_get_stats(ev, &st);
        json_object_put(j, "read", json_integer_create(st.read));
        json_object_put(j, "matched", json_integer_create(st.matched));
        json_object_put(j, "overruns", json_integer_create(st.overruns));
        json_object_put(j, "deltas", json_integer_create(st.deltas));
        json_object_put(j, "fallbacks", json_integer_create(st.fallbacks));
        json_object_put(j, "gets", json_integer_create(st.gets));
        json_object_put(j, "watches", json_integer_create(st.watches));
    }
    return j;
}

/* status [VM] */
static void
cmd_status(struct unixctl_conn *conn, int argc, const char *argv[],
           void *nm_)
{
    struct netmoved *nm = nm_;
    struct json *list = json_array_create_empty();
    struct migration *m;

    HMAP_FOR_EACH (m, node, &nm->migrations) {
        if (argc < 2 || !strcmp(m->vm, argv[1])) {
            json_array_add(list, migration_to_json(m));
        }
    }
    struct json *j = json_object_create();
    json_object_put_string(j, "host", nm->cfg->host);
    json_object_put_string(j, "site", nm->cfg->site);
    struct json *peers = json_object_create();
    for (size_t i = 0; i < nm_peers_count(nm->peers); i++) {
        const char *name = nm_peers_name(nm->peers, i);
        json_object_put(peers, name, json_boolean_create(
                            nm_peers_is_connected(nm->peers, name)));
    }
    json_object_put(j, "peers", peers);
    /* The protocol each peer's session agreed (docs/PROTOCOL.md). */
    struct json *protocol = json_object_create();
    for (size_t i = 0; i < nm_peers_count(nm->peers); i++) {
        const char *name = nm_peers_name(nm->peers, i);
        json_object_put(protocol, name,
                        nm_peers_protocol_json(nm->peers, name));
    }
    json_object_put(j, "peer_protocol", protocol);
    json_object_put(j, "migrations", list);
    json_object_put(j, "outgoing", source_outgoing_to_json(nm));
    json_object_put(j, "outgoing_drains", source_drains_to_json(nm));
    json_object_put(j, "conntrack_events", ct_events_json(nm->ct_events));
    reply_json(conn, j);
}

struct verify_req {
    struct unixctl_conn *conn;
};

static void
verify_reply(void *req_, const struct json *result, const char *error,
             int errnum)
{
    struct verify_req *req = req_;

    if (error && nm_error_is_bad_input(errnum)) {
        reply_bad_input(req->conn, "%s", error);
    } else if (error) {
        unixctl_command_reply_error(req->conn, error);
    } else {
        reply_json(req->conn, json_clone(result));
    }
    free(req);
}

/* source-verify VM SRC [IP...]: asks SRC what it still holds of VM. */
static void
cmd_source_verify(struct unixctl_conn *conn, int argc, const char *argv[],
                  void *nm_)
{
    struct netmoved *nm = nm_;
    struct json *p = json_object_create();
    struct json *ips = json_array_create_empty();

    if (!fw_vm_name_valid(argv[1])) {
        reply_bad_input(conn, "VM: '%s' is not a VM name", argv[1]);
        json_destroy(p);
        json_destroy(ips);
        return;
    }
    /* The source answers only about a migration it served this host. */
    struct migration *m = migration_find(nm, argv[1]);
    if (!m || !m->src || strcmp(m->src, argv[2]) || !m->id) {
        char *msg = xasprintf("no migration of %s from %s here: the source "
                              "answers only about a migration it served "
                              "this host", argv[1], argv[2]);
        unixctl_command_reply_error(conn, msg);
        free(msg);
        json_destroy(p);
        json_destroy(ips);
        return;
    }
    json_object_put_string(p, "vm", argv[1]);
    json_object_put_string(p, "id", m->id);
    for (int i = 3; i < argc; i++) {
        json_array_add(ips, json_string_create(argv[i]));
    }
    json_object_put(p, "ips", ips);

    struct verify_req *req = xmalloc(sizeof *req);
    req->conn = conn;
    if (nm_peers_request(nm->peers, argv[2], "verify", p, 5000,
                         verify_reply, req)) {
        reply_bad_input(conn, "SRC: '%s' is not a configured peer", argv[2]);
        free(req);
    }
}

/* docs VM: what the migration of VM staged here (for verify). */
static void
cmd_docs(struct unixctl_conn *conn, int argc OVS_UNUSED, const char *argv[],
         void *nm_)
{
    struct migration *m = migration_find(nm_, argv[1]);

    if (!m) {
        unixctl_command_reply_error(conn, "no migration of that VM here");
    } else {
        reply_json(conn, migration_docs_to_json(m));
    }
}

static void
cmd_exit(struct unixctl_conn *conn, int argc OVS_UNUSED,
         const char *argv[] OVS_UNUSED, void *nm_)
{
    struct netmoved *nm = nm_;

    nm->exiting = true;
    unixctl_command_reply(conn, NULL);
}

static void
register_commands(struct netmoved *nm)
{
    unixctl_command_register("prepare", "VM SRC|- [--adopt] [IP...]", 2, 64,
                             cmd_prepare, nm);
    unixctl_command_register("resume", "VM [SRC|-] [IP...]", 1, 64,
                             cmd_resume, nm);
    unixctl_command_register("prepare-many", "SRC|- VM...", 2, INT_MAX,
                             cmd_prepare_many, nm);
    unixctl_command_register("resume-many", "SRC|- VM...", 2, INT_MAX,
                             cmd_resume_many, nm);
    unixctl_command_register("abort", "VM", 1, 1, cmd_abort, nm);
    unixctl_command_register("confirm", "VM", 1, 1, cmd_confirm, nm);
    unixctl_command_register("left", "VM[,VM...] [HOST]", 1, 2, cmd_left,
                             nm);
    unixctl_command_register("paused", "VM[,VM...] [HOST|- [stopped]]", 1, 3,
                             cmd_paused, nm);
    unixctl_command_register("status", "[VM]", 0, 1, cmd_status, nm);
    unixctl_command_register("source-verify", "VM SRC [IP...]", 2, 64,
                             cmd_source_verify, nm);
    unixctl_command_register("docs", "VM", 1, 1, cmd_docs, nm);
    unixctl_command_register("timeline", "VM [ID]", 1, 2,
                             migration_cmd_timeline, nm);
    unixctl_command_register("exit", "", 0, 0, cmd_exit, nm);
}

/* Gives OVSDB up to 'timeout_ms' to send its contents, so that recovery
 * sees the ports as they are.  netmoved also starts without it (a host
 * boots its services in any order): it connects when OVSDB is up, and
 * until then every request that reads OVSDB fails and says why. */
static void
wait_for_db(struct netmoved *nm, int timeout_ms)
{
    long long int deadline = time_msec() + timeout_ms;

    nmovs_db_run(nm->db);
    while (!nmovs_db_is_synced(nm->db) && time_msec() < deadline) {
        nmovs_db_poll_wait(nm->db);
        poll_timer_wait_until(deadline);
        poll_block();
        nmovs_db_run(nm->db);
    }
    if (!nmovs_db_is_synced(nm->db)) {
        VLOG_WARN("OVSDB not reachable yet; connecting in the background");
    }
}

static void
recover_one(void *nm_, enum nm_journal_role role, const char *id,
            const struct json *records)
{
    struct netmoved *nm = nm_;
    enum nm_journal_role said;

    /* The directory says whose it is; its records must agree. */
    if (!nm_journal_role_of(records, &said) || said != role) {
        VLOG_WARN("%s: journal: its records do not say it is a %s's "
                  "migration, as the directory it is in does; left as it is",
                  id, role == NM_JOURNAL_SOURCE ? "source" : "destination");
        return;
    }
    switch (role) {
    case NM_JOURNAL_DESTINATION:
        migration_recover(nm, id, records);
        break;
    case NM_JOURNAL_SOURCE:
        source_recover(nm, id, records);
        break;
    case NM_JOURNAL_N_ROLES:
    default:
        OVS_NOT_REACHED();
    }
}

void
netmoved_recover(struct netmoved *nm)
{
    int error = nm_journal_load(nm->journal, recover_one, nm);

    if (error) {
        VLOG_ERR("journal: %s", ovs_strerror(-error));
    }
}

static void
recover_when_ready(struct netmoved *nm)
{
    if (nm->recover_pending && nmovs_db_is_synced(nm->db)) {
        nm->recover_pending = false;
        netmoved_recover(nm);
    }
}

int
netmoved_init(struct netmoved *nm, struct nm_config *cfg,
              char *err, size_t errlen)
{
    char *ctl;
    int error;

    memset(nm, 0, sizeof *nm);
    nm->cfg = cfg;
    nm->ops = &mig_ops_system;
    hmap_init(&nm->migrations);
    ovs_list_init(&nm->batches);
    ovs_list_init(&nm->records_queue);
    ovs_list_init(&nm->records_flight);

    error = nm_journal_open(cfg->state_dir, NM_JOURNAL_DONE_KEEP,
                            &nm->journal, err, errlen);
    if (error) {
        return error;
    }
    nm->db = nmovs_db_create(NULL, cfg->ovs_rundir);
    wait_for_db(nm, 10000);
    error = garp_of_sender_create(cfg->ovs_rundir, cfg->bridge, err, errlen,
                                  &nm->sender);
    if (error) {
        return error;
    }
    /* The catches a netmoved that died left (their hard_timeout would
     * black-hole the VMs' frames for up to 30 s). */
    error = nmovs_relay_flush(cfg->ovs_rundir, cfg->bridge);
    if (error) {
        VLOG_WARN("%s: removing the relay flows left behind: %s",
                  cfg->bridge, ovs_strerror(-error));
    }
    /* Connected from the start, so that a pause does not wait for the
     * connection's set-up on top of its catch. */
    char *relay_error = NULL;
    if (!nm_relay(nm, &relay_error)) {
        VLOG_WARN("%s: relay: %s", cfg->bridge, relay_error);
        free(relay_error);
    }
    error = garp_announcer_create(&cfg->announce, nm->sender,
                                  migration_frame_sent, nm, &nm->announcer,
                                  err, errlen);
    if (error) {
        return error;
    }
    error = nm_peers_create(cfg, &nm->peers, err, errlen);
    if (error) {
        return error;
    }
    source_init(nm);
    /* Listening from the start: only connections created while a listener
     * exists emit update and destroy events (nf_conntrack_events = 2). */
    error = ct_events_open(&nm->ct_events, err, errlen);
    if (error) {
        VLOG_WARN("conntrack events: %s; every conntrack delta will be a "
                  "dump", err);
        err[0] = '\0';
    }
    migration_drain_init(nm);
    migration_timeline_init(nm);
    nm_learn_init(nm);

    ctl = cfg->control ? xstrdup(cfg->control)
                       : nm_ctl_path();
    error = unixctl_server_create(ctl, &nm->unixctl);
    if (error) {
        snprintf(err, errlen, "control: %s: %s", ctl, ovs_strerror(error));
        free(ctl);
        return -error;
    }
    VLOG_INFO("host %s (site %s): control socket %s, %zu peer(s)",
              cfg->host, cfg->site, ctl, cfg->n_peers);
    free(ctl);
    register_commands(nm);
    /* Recovery rolls back or completes what the journal left: it needs
     * OVSDB's contents (a rollback against an empty replica would fail and
     * leave the staged port for good). */
    nm->recover_pending = true;
    recover_when_ready(nm);
    return 0;
}

void
netmoved_run(struct netmoved *nm)
{
    nmovs_db_run(nm->db);
    recover_when_ready(nm);
    unixctl_server_run(nm->unixctl);
    nm_peers_run(nm->peers);
    nm_relay_run(nm);
    if (nm->ct_events) {
        ct_events_run(nm->ct_events);
    }
    source_run(nm);
    nm_learn_run(nm);
    /* The migrations whose rounds these are record their own failures when
     * they drive the announcer (migration.c); here only the log. */
    int error = garp_announcer_run(nm->announcer, time_usec());
    if (error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
        VLOG_WARN_RL(&rl, "announcements: %s", ovs_strerror(-error));
    }
    migrations_run(nm);

    struct batch *b;
    LIST_FOR_EACH_SAFE (b, node, &nm->batches) {
        batch_check(nm, b);
    }
}

void
netmoved_wait(struct netmoved *nm)
{
    nmovs_db_poll_wait(nm->db);
    unixctl_server_wait(nm->unixctl);
    nm_peers_wait(nm->peers);
    nm_relay_wait(nm);
    if (nm->ct_events) {
        ct_events_wait(nm->ct_events);
    }
    source_wait(nm);
    nm_learn_wait(nm);
    garp_announcer_wait(nm->announcer);
    migrations_wait(nm);

    struct batch *b;
    LIST_FOR_EACH (b, node, &nm->batches) {
        poll_timer_wait_until(b->deadline_us / 1000 + 1);
    }
}

void
netmoved_destroy(struct netmoved *nm)
{
    struct batch *b;
    if (nm->batches.next) {
        LIST_FOR_EACH_SAFE (b, node, &nm->batches) {
            unixctl_command_reply_error(b->conn, "netmoved exiting");
            batch_destroy(b);
        }
    }
    if (nm->migrations.buckets) {
        migrations_destroy(nm);
    }
    source_destroy(nm);
    ct_events_close(nm->ct_events);
    nm->ct_events = NULL;
    nm_relay_destroy(nm);
    nm_learn_destroy(nm);
    unixctl_server_destroy(nm->unixctl);
    nm_peers_destroy(nm->peers);
    garp_announcer_destroy(nm->announcer);
    garp_sender_destroy(nm->sender);
    nmovs_db_close(nm->db);
    nm_journal_close(nm->journal);
    nm_config_destroy(nm->cfg);
}
