/* The source's side of a migration: what a destination peer asks of it.
 *
 * The source changes nothing until 'confirm': 'export' and 'ct-delta' only
 * read (the destination stages its copy meanwhile), 'abort' forgets.  Every
 * handler is idempotent: a destination that retries after a lost reply gets
 * the same outcome. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "openvswitch/list.h"
#include "openvswitch/poll-loop.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/config.h"
#include "netmove/journal.h"
#include "netmove/peer.h"
#include "netmove/service.h"
#include "netmove/verify.h"
#include "netmove/vmaddr.h"
#include "ovs/ovs.h"

VLOG_DEFINE_THIS_MODULE(source);

#define ERRLEN 512

/* A migration leaving this host, until confirmed or aborted. */
struct outgoing {
    char *vm, *id, *dst;
    struct ct_table *ct_base;           /* What the last export sent. */
    struct nm_vm_addrs addrs;
};

static void
outgoing_destroy(struct outgoing *o)
{
    if (o) {
        free(o->vm);
        free(o->id);
        free(o->dst);
        ct_table_destroy(o->ct_base);
        nm_vm_addrs_destroy(&o->addrs);
        free(o);
    }
}

/* Reads params "vm" and "id" (when 'need_id'); sets '*errorp' if bad. */
static bool
get_params(const struct json *params, const char **vm, const char **id,
           bool need_id, char **errorp)
{
    const struct json *v = params && params->type == JSON_OBJECT
                           ? shash_find_data(json_object(params), "vm") : NULL;
    const struct json *i = params && params->type == JSON_OBJECT
                           ? shash_find_data(json_object(params), "id") : NULL;

    if (!v || v->type != JSON_STRING || !fw_vm_name_valid(json_string(v))) {
        *errorp = xstrdup("bad input: params.vm: missing or not a VM name");
        return false;
    }
    if (need_id && (!i || i->type != JSON_STRING || !json_string(i)[0])) {
        *errorp = xstrdup("bad input: params.id: missing migration id");
        return false;
    }
    *vm = json_string(v);
    *id = i && i->type == JSON_STRING ? json_string(i) : NULL;
    return true;
}

static void
journal_note(struct netmoved *nm, const char *id, const char *vm,
             const char *step, const char *peer, struct json *extra)
{
    struct json *rec = extra ? extra : json_object_create();

    json_object_put_string(rec, "role", "source");
    json_object_put_string(rec, "vm", vm);
    json_object_put_string(rec, "step", step);
    json_object_put_string(rec, "peer", peer);
    json_object_put(rec, "t_us", json_integer_create(nm_wall_us()));
    int error = nm_journal_append(nm->journal, id, rec, true);
    if (error) {
        VLOG_WARN("%s: journal: %s", id, ovs_strerror(-error));
    }
    json_destroy(rec);
}

/* The export of 'vm' that migration 'id' to 'peer' holds here, or NULL with
 * '*errorp' set.  Only the peer a VM was exported to, in that migration, may
 * pull its delta or make the source delete it: being an authenticated peer
 * is not enough to remove another host's VMs. */
static struct outgoing *
authorized(struct netmoved *nm, const char *vm, const char *id,
           const char *peer, char **errorp)
{
    struct outgoing *o = shash_find_data(&nm->outgoing, vm);

    if (!o || strcmp(o->id, id) || strcmp(o->dst, peer)) {
        *errorp = xasprintf("bad input: no export of %s to %s in migration "
                            "%s here", vm, peer, id);
        return NULL;
    }
    return o;
}

/* True if migration 'id' of 'vm' was confirmed here already (a destination
 * that lost our answer asks again). */
static bool
already_confirmed(struct netmoved *nm, const char *id, const char *vm)
{
    struct json *records = nm_journal_read(nm->journal, id);
    bool done = false;

    for (size_t i = 0; records && i < json_array(records)->n; i++) {
        const struct shash *r = json_object(json_array(records)->elems[i]);
        const struct json *step = shash_find_data(r, "step");
        const struct json *v = shash_find_data(r, "vm");
        done |= step && step->type == JSON_STRING && v && v->type == JSON_STRING
                && !strcmp(json_string(step), "confirm-done")
                && !strcmp(json_string(v), vm);
    }
    json_destroy(records);
    return done;
}

/* export {vm, id} -> {version, vm, host, site, port, fw, ct} */
static struct json *
src_export(void *nm_, const char *peer, const struct json *params,
           char **errorp)
{
    struct netmoved *nm = nm_;
    char err[ERRLEN] = "";
    struct nmovs_doc *doc = NULL;
    struct fw_ruleset *rs = NULL;
    struct ct_table *ct = NULL;
    struct ct_filter filter;
    const char *vm, *id;

    if (!get_params(params, &vm, &id, true, errorp)) {
        return NULL;
    }
    if (nmovs_export(nm->db, vm, &doc, err, sizeof err)) {
        *errorp = xasprintf("port: %s", err);
        return NULL;
    }

    struct outgoing *o = xzalloc(sizeof *o);
    o->vm = xstrdup(vm);
    o->id = xstrdup(id);
    o->dst = xstrdup(peer);
    struct json *port = nmovs_doc_to_json(doc);
    nmovs_doc_destroy(doc);
    if (nm_vm_addrs_from_doc(port, NULL, 0, &o->addrs, err, sizeof err)) {
        *errorp = xasprintf("port: %s", err);
        goto error;
    }
    /* The addresses the VM was seen using here, beside the declared ones:
     * its conntrack entries are chosen by them, and the destination
     * announces them. */
    struct json *learned = nm_learn_merge(nm, &o->addrs);
    if (fw_export(vm, &rs, err, sizeof err)) {
        json_destroy(learned);
        *errorp = xasprintf("firewall: %s", err);
        goto error;
    }
    nm_vm_addrs_ct_filter(&o->addrs, &filter);
    int error = filter.n_addrs ? ct_export(&filter, &ct, err, sizeof err) : 0;
    free(filter.addrs);
    if (error) {
        json_destroy(learned);
        *errorp = xasprintf("conntrack: %s", err);
        goto error;
    }

    struct json *result = json_object_create();
    json_object_put(result, "version", json_integer_create(1));
    json_object_put_string(result, "vm", vm);
    json_object_put_string(result, "host", nm->cfg->host);
    json_object_put_string(result, "site", nm->cfg->site);
    json_object_put(result, "port", port);
    json_object_put(result, "learned", learned);
    json_object_put(result, "fw", fw_ruleset_to_json(rs));
    json_object_put(result, "ct", ct ? ct_table_to_json(ct)
                                     : json_null_create());
    fw_ruleset_destroy(rs);
    o->ct_base = ct;
    outgoing_destroy(shash_replace(&nm->outgoing, vm, o));
    struct json *rec = nm_json_object_1("port", json_clone(port));
    json_object_put(rec, "learned", json_clone(learned));
    journal_note(nm, id, vm, "export", peer, rec);
    VLOG_INFO("%s: exported %s to %s", id, vm, peer);
    return result;

error:
    json_destroy(port);
    fw_ruleset_destroy(rs);
    outgoing_destroy(o);
    return NULL;
}

/* ct-delta {vm, id} -> {ct}: what changed since the last export. */
static struct json *
src_ct_delta(void *nm_, const char *peer,
             const struct json *params, char **errorp)
{
    struct netmoved *nm = nm_;
    struct outgoing *o;
    struct ct_table *cur = NULL;
    struct ct_filter filter;
    char err[ERRLEN] = "";
    const char *vm, *id;

    if (!get_params(params, &vm, &id, true, errorp)) {
        return NULL;
    }
    o = authorized(nm, vm, id, peer, errorp);
    if (!o) {
        return NULL;
    }
    nm_vm_addrs_ct_filter(&o->addrs, &filter);
    int error = filter.n_addrs ? ct_export(&filter, &cur, err, sizeof err) : 0;
    free(filter.addrs);
    if (error) {
        *errorp = xasprintf("conntrack: %s", err);
        return NULL;
    }
    if (!cur) {
        return nm_json_object_1("ct", json_null_create());
    }

    struct ct_table *delta = o->ct_base ? ct_table_delta(o->ct_base, cur)
                                        : NULL;
    struct json *result = json_object_create();
    json_object_put(result, "ct", ct_table_to_json(delta ? delta : cur));
    ct_table_destroy(delta);
    ct_table_destroy(o->ct_base);
    o->ct_base = cur;
    return result;
}

/* confirm {vm, id, ips} -> {ports, fw_objects, ct_entries}: the destination
 * has committed its copy; the source's goes. */
static struct json *
src_confirm(void *nm_, const char *peer, const struct json *params,
            char **errorp)
{
    struct netmoved *nm = nm_;
    struct outgoing *o;
    size_t n_ports = 0, n_fw = 0, n_ct = 0;
    char err[ERRLEN] = "";
    const char *vm, *id;

    if (!get_params(params, &vm, &id, true, errorp)) {
        return NULL;
    }
    if (already_confirmed(nm, id, vm)) {
        struct json *result = json_object_create();
        json_object_put(result, "ports", json_integer_create(0));
        json_object_put(result, "fw_objects", json_integer_create(0));
        json_object_put(result, "ct_entries", json_integer_create(0));
        return result;
    }
    o = authorized(nm, vm, id, peer, errorp);
    if (!o) {
        return NULL;
    }
    journal_note(nm, id, vm, "confirm-begin", peer, NULL);
    if (nmovs_remove(nm->db, &vm, 1, 5000, &n_ports, err, sizeof err)) {
        *errorp = xasprintf("port: %s", err);
        return NULL;
    }
    if (fw_remove(vm, &n_fw, err, sizeof err)) {
        *errorp = xasprintf("firewall: %s", err);
        return NULL;
    }
    struct ct_filter filter;
    nm_vm_addrs_ct_filter(&o->addrs, &filter);
    int error = filter.n_addrs ? ct_remove(&filter, &n_ct, err, sizeof err) : 0;
    free(filter.addrs);
    if (error) {
        *errorp = xasprintf("conntrack: %s", err);
        return NULL;
    }
    /* No bridge may keep forwarding the VM's MACs to the port just gone. */
    if (nmovs_fdb_flush(nm->cfg->ovs_rundir, nm->cfg->bridge,
                        err, sizeof err)) {
        VLOG_WARN("%s: flushing %s's MAC table: %s", id, nm->cfg->bridge,
                  err);
    }
    journal_note(nm, id, vm, "confirm-done", peer, NULL);
    nm_journal_finish(nm->journal, id);
    outgoing_destroy(shash_find_and_delete(&nm->outgoing, vm));
    VLOG_INFO("%s: confirmed by %s: removed %zu port(s), %zu firewall "
              "object(s), %zu conntrack entries", id, peer, n_ports, n_fw,
              n_ct);

    struct json *result = json_object_create();
    json_object_put(result, "ports", json_integer_create(n_ports));
    json_object_put(result, "fw_objects", json_integer_create(n_fw));
    json_object_put(result, "ct_entries", json_integer_create(n_ct));
    return result;
}

/* abort {vm, id} -> {}: the migration failed before resume; the source
 * kept everything and only forgets the export. */
static struct json *
src_abort(void *nm_, const char *peer, const struct json *params,
          char **errorp)
{
    struct netmoved *nm = nm_;
    const char *vm, *id;

    if (!get_params(params, &vm, &id, true, errorp)) {
        return NULL;
    }
    if (!shash_find(&nm->outgoing, vm)) {
        return json_object_create();    /* Nothing exported: nothing kept. */
    }
    if (!authorized(nm, vm, id, peer, errorp)) {
        return NULL;
    }
    outgoing_destroy(shash_find_and_delete(&nm->outgoing, vm));
    journal_note(nm, id, vm, "aborted", peer, NULL);
    nm_journal_finish(nm->journal, id);
    VLOG_INFO("%s: aborted by %s; %s stays here", id, peer, vm);
    return json_object_create();
}

/* locate {vm} -> {present}: whether the VM has a port here. */
static struct json *
src_locate(void *nm_, const char *peer OVS_UNUSED, const struct json *params,
           char **errorp)
{
    struct netmoved *nm = nm_;
    struct nmovs_doc *doc = NULL;
    char err[ERRLEN];
    const char *vm, *id;

    if (!get_params(params, &vm, &id, false, errorp)) {
        return NULL;
    }
    bool present = !nmovs_export(nm->db, vm, &doc, err, sizeof err);
    nmovs_doc_destroy(doc);
    return nm_json_object_1("present", json_boolean_create(present));
}

/* verify {vm, ips, macs} -> {ports, fw_objects, ct_entries, fdb}: what the
 * source still holds of a VM that should have left, and where its bridge
 * has learned the VM's MACs ("macs", or MACs among "ips"): a port other
 * than the uplink is a stale entry ("fdb_error" if the table could not be
 * read). */
static struct json *
src_verify(void *nm_, const char *peer OVS_UNUSED, const struct json *params,
           char **errorp)
{
    struct netmoved *nm = nm_;
    struct nmovs_doc *doc = NULL;
    struct fw_ruleset *rs = NULL;
    struct ct_table *ct = NULL;
    struct ct_filter filter = { .n_addrs = 0 };
    struct fw_counts counts = { 0 };
    char err[ERRLEN];
    const char *vm, *id;

    if (!get_params(params, &vm, &id, false, errorp)) {
        return NULL;
    }
    size_t n_ports = nmovs_export(nm->db, vm, &doc, err, sizeof err)
                     ? 0 : nmovs_doc_n_ports(doc);
    nmovs_doc_destroy(doc);
    if (!fw_export(vm, &rs, err, sizeof err)) {
        fw_ruleset_counts(rs, &counts);
    }
    fw_ruleset_destroy(rs);

    const struct json *ips = shash_find_data(json_object(params), "ips");
    for (size_t i = 0; ips && ips->type == JSON_ARRAY
                       && i < json_array(ips)->n; i++) {
        const struct json *ip = json_array(ips)->elems[i];
        struct ct_addr a;
        if (ip->type == JSON_STRING && !ct_addr_parse(json_string(ip), &a)) {
            filter.addrs = xrealloc(filter.addrs,
                                    (filter.n_addrs + 1) * sizeof a);
            filter.addrs[filter.n_addrs++] = a;
        }
    }
    size_t n_ct = 0;
    if (filter.n_addrs && !ct_export(&filter, &ct, err, sizeof err)) {
        n_ct = ct_table_count(ct);
    }
    ct_table_destroy(ct);
    free(filter.addrs);

    struct json *result = json_object_create();
    json_object_put(result, "ports", json_integer_create(n_ports));
    json_object_put(result, "fw_objects",
                    json_integer_create(counts.tables + counts.chains
                                        + counts.sets + counts.rules));
    json_object_put(result, "ct_entries", json_integer_create(n_ct));
    struct json *fdb;
    if (nm_verify_source_fdb(nm->cfg, params, &fdb, err, sizeof err)) {
        json_object_put_string(result, "fdb_error", err);
    } else {
        json_object_put(result, "fdb", fdb);
    }
    return result;
}

/* ---- requests that read OVSDB ---- */

#define DB_SYNC_TIMEOUT_MS 5000

/* A peer's request that reads OVSDB, held until this host's replica holds
 * every transaction ovsdb-server committed before the request arrived
 * (nmovs_db_sync_request()): libvirt creates a VM's port with ovs-vsctl an
 * instant before the destination asks for it, and the replica must not
 * answer from a state older than that. */
struct db_wait {
    struct ovs_list node;               /* In netmoved's 'db_waits'. */
    nm_peer_method_fn *fn;
    char *peer;
    struct json *params;
    struct nm_peer_req *req;
    uint64_t ticket;
    long long int deadline;
};

static void
after_db_sync(struct netmoved *nm, nm_peer_method_fn *fn, const char *peer,
              const struct json *params, struct nm_peer_req *req)
{
    struct db_wait *w = xzalloc(sizeof *w);

    w->fn = fn;
    w->peer = xstrdup(peer);
    w->params = json_clone(params);
    w->req = req;
    w->ticket = nmovs_db_sync_request(nm->db);
    w->deadline = time_msec() + DB_SYNC_TIMEOUT_MS;
    ovs_list_push_back(&nm->db_waits, &w->node);
}

/* Answers 'w': by its method if 'synced', else with an error. */
static void
db_wait_finish(struct netmoved *nm, struct db_wait *w, bool synced)
{
    char *error = NULL;
    struct json *result = NULL;

    if (synced) {
        result = w->fn(nm, w->peer, w->params, &error);
    } else {
        error = xasprintf("%s: OVSDB not reachable (no answer in %d ms)",
                          nm->cfg->host, DB_SYNC_TIMEOUT_MS);
    }
    nm_peers_reply(w->req, result, error);
    free(error);
    ovs_list_remove(&w->node);
    json_destroy(w->params);
    free(w->peer);
    free(w);
}

void
source_run(struct netmoved *nm)
{
    long long int now = time_msec();
    struct db_wait *w;

    LIST_FOR_EACH_SAFE (w, node, &nm->db_waits) {
        if (nmovs_db_sync_done(nm->db, w->ticket)) {
            db_wait_finish(nm, w, true);
        } else if (now >= w->deadline) {
            db_wait_finish(nm, w, false);
        }
    }
}

void
source_wait(struct netmoved *nm)
{
    struct db_wait *w;

    LIST_FOR_EACH (w, node, &nm->db_waits) {
        poll_timer_wait_until(w->deadline);
    }
}

static void
export_async(void *nm, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    after_db_sync(nm, src_export, peer, params, req);
}

static void
locate_async(void *nm, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    after_db_sync(nm, src_locate, peer, params, req);
}

static void
verify_async(void *nm, const char *peer, const struct json *params,
             struct nm_peer_req *req)
{
    after_db_sync(nm, src_verify, peer, params, req);
}

/* After a restart: the exports not yet confirmed or aborted, from their
 * journals, so that their destinations can still confirm (or abort). */
void
source_recover(struct netmoved *nm, const char *id, const struct json *records)
{
    const struct json_array *a = json_array(records);
    const struct json *port = NULL, *learned = NULL;
    const char *vm = NULL, *peer = NULL;
    char err[ERRLEN];

    for (size_t i = 0; i < a->n; i++) {
        const struct shash *r = json_object(a->elems[i]);
        const struct json *step = shash_find_data(r, "step");
        const struct json *v = shash_find_data(r, "vm");
        const struct json *p = shash_find_data(r, "peer");
        if (!step || step->type != JSON_STRING || !v || v->type != JSON_STRING
            || !p || p->type != JSON_STRING) {
            continue;
        }
        if (!strcmp(json_string(step), "export")) {
            vm = json_string(v);
            peer = json_string(p);
            port = shash_find_data(r, "port");
            learned = shash_find_data(r, "learned");
        } else if (!strcmp(json_string(step), "confirm-done")
                   || !strcmp(json_string(step), "aborted")) {
            vm = NULL;
        }
    }
    if (!vm || !port || shash_find(&nm->outgoing, vm)) {
        return;
    }

    struct outgoing *o = xzalloc(sizeof *o);
    o->vm = xstrdup(vm);
    o->id = xstrdup(id);
    o->dst = xstrdup(peer);
    if (nm_vm_addrs_from_doc(port, NULL, 0, &o->addrs, err, sizeof err)
        || (learned && nm_vm_addrs_add_learned(&o->addrs, learned,
                                               err, sizeof err))) {
        VLOG_WARN("%s: recovery: %s", id, err);
    }
    shash_add(&nm->outgoing, vm, o);
    VLOG_INFO("%s: recovery: %s stays exported to %s until it confirms or "
              "aborts", id, vm, peer);
}

void
source_register(struct netmoved *nm)
{
    nm_peers_register_async(nm->peers, "export", export_async, nm);
    nm_peers_register(nm->peers, "ct-delta", src_ct_delta, NULL, nm);
    nm_peers_register(nm->peers, "confirm", src_confirm, NULL, nm);
    nm_peers_register(nm->peers, "abort", src_abort, NULL, nm);
    nm_peers_register_async(nm->peers, "locate", locate_async, nm);
    nm_peers_register_async(nm->peers, "verify", verify_async, nm);
}

void
source_destroy(struct netmoved *nm)
{
    struct shash_node *node;
    struct db_wait *w;

    LIST_FOR_EACH_SAFE (w, node, &nm->db_waits) {
        db_wait_finish(nm, w, false);
    }

    SHASH_FOR_EACH (node, &nm->outgoing) {
        outgoing_destroy(node->data);
    }
    shash_destroy(&nm->outgoing);
}
