/* Prepare's port imports, grouped: the migrations whose source's export
 * has arrived stage their ports in ONE OVSDB transaction, waited for once
 * (ovs-vswitchd applying it), each VM's document keeping its own
 * 'staged_by' (the migration's id, for its rollback).
 *
 * No timer window: the first export starts a batch at once (a lone
 * migration waits for nothing), and every export that arrives while a
 * batch is in flight waits for it to end and joins the next one (the
 * transaction and ovs-vswitchd's applying it take about as long for 100
 * ports as for one: that is where a batch wins).  So n migrations cost a
 * few transactions, the pipeline's depth, not n.
 *
 * A batch that fails (a transaction refused, a port ovs-vswitchd could not
 * add, a deadline) has taken back every port it created (port_import.c);
 * each of its VMs is then tried again alone (migration_port_step()), so one
 * bad VM fails alone and the others complete.  Adoptions (m->adopt: the
 * migrator makes the port) are not batched: each is its own step, as
 * before. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/common/error.h"
#include "netmove/common/json.h"
#include "netmove/daemon/mig_ops.h"
#include "netmove/daemon/migration.h"
#include "netmove/daemon/migration-private.h"
#include "netmove/daemon/service.h"
#include "ovs/ovs.h"

VLOG_DEFINE_THIS_MODULE(migration_batch);

#define BATCH_TIMEOUT_MS 5000

struct mig_port_batch {
    struct nmovs_op *op;        /* The batch in flight, or NULL. */
    struct migration **ms;      /* Its members (NULL: one destroyed). */
    size_t n;
    struct nmovs_doc **docs;    /* Its documents, the members' in order. */
    const char **staged_by;     /* The id of each document's migration. */
    size_t n_docs;
    uint64_t t_start;
    size_t n_queued;            /* Migrations waiting for the next one. */
};

static struct mig_port_batch *
batch_get(struct netmoved *nm)
{
    if (!nm->port_batch) {
        nm->port_batch = xzalloc(sizeof *nm->port_batch);
    }
    return nm->port_batch;
}

static void
batch_clear(struct mig_port_batch *b)
{
    free(b->ms);
    free(b->docs);
    free(b->staged_by);
    b->ms = NULL;
    b->docs = NULL;
    b->staged_by = NULL;
    b->n = b->n_docs = 0;
    b->op = NULL;
}

/* Starts 'm''s port step alone (the documents it staged, its own id). */
static void
start_alone(struct migration *m)
{
    struct netmoved *nm = m->nm;
    struct nmovs_import_opts opts = { .blocked = true,
                                      .timeout_ms = BATCH_TIMEOUT_MS,
                                      .device_later = true,
                                      .staged_by = m->id };

    m->port_op = nm->ops->port_start(nm, false, m->port_docs,
                                     m->n_port_docs, &opts);
}

/* Starts a batch of every queued migration, if none is in flight. */
static void
batch_start(struct netmoved *nm)
{
    struct mig_port_batch *b = batch_get(nm);
    struct migration *m;

    if (b->op || !b->n_queued) {
        return;
    }
    b->ms = xcalloc(hmap_count(&nm->migrations) + 1, sizeof *b->ms);
    HMAP_FOR_EACH (m, node, &nm->migrations) {
        if (m->port_queued) {
            m->port_queued = false;
            m->in_batch = true;
            b->ms[b->n++] = m;
            b->n_docs += m->n_port_docs;
        }
    }
    b->n_queued = 0;
    b->docs = xcalloc(b->n_docs + 1, sizeof *b->docs);
    b->staged_by = xcalloc(b->n_docs + 1, sizeof *b->staged_by);
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        for (size_t d = 0; d < b->ms[i]->n_port_docs; d++) {
            b->docs[k] = b->ms[i]->port_docs[d];
            b->staged_by[k++] = b->ms[i]->id;
        }
    }
    struct nmovs_import_opts opts = { .blocked = true,
                                      .timeout_ms = BATCH_TIMEOUT_MS,
                                      .device_later = true,
                                      .staged_by = b->ms[0]->id,
                                      .doc_staged_by = b->n > 1
                                                       ? b->staged_by
                                                       : NULL };
    b->t_start = time_usec();
    b->op = nm->ops->port_start(nm, false, b->docs, b->n_docs, &opts);
}

/* The firewall of the batch's members in one nf_tables transaction (one
 * ruleset dump, not one per VM).  A member whose document does not parse,
 * or a transaction refused, leaves each member to import its own
 * (stage_rest()): one bad document fails its VM alone. */
static void
fw_stage(struct netmoved *nm, struct mig_port_batch *b)
{
    struct fw_ruleset **rs = xcalloc(b->n + 1, sizeof *rs);
    struct migration **ms = xcalloc(b->n + 1, sizeof *ms);
    char err[NM_ERRLEN] = "";
    size_t n = 0;

    for (size_t i = 0; i < b->n; i++) {
        struct migration *m = b->ms[i];
        if (!m || m->ending || !m->staging) {
            continue;
        }
        const struct json *fw = nm_json_member(m->staging, "fw");
        char why[NM_ERRLEN];
        if (fw && !fw_ruleset_from_json(fw, &rs[n], why, sizeof why)) {
            if (!strcmp(fw_ruleset_vm(rs[n]), m->vm)) {
                ms[n++] = m;
                continue;
            }
            fw_ruleset_destroy(rs[n]);
            rs[n] = NULL;
        }
    }
    uint64_t t0 = time_usec();
    int error = n > 1 ? nm->ops->fw_import_many(nm, rs, n, err, sizeof err)
                      : -EAGAIN;
    if (!error) {
        for (size_t i = 0; i < n; i++) {
            ms[i]->fw_staged = true;
        }
        VLOG_INFO("firewall of %zu migrations in one transaction in %.1f ms",
                  n, migration_ms(t0, time_usec()));
    } else if (error != -EAGAIN) {
        VLOG_INFO("firewall of %zu migrations in one transaction: %s (each "
                  "alone instead)", n, err);
    }
    for (size_t i = 0; i < n; i++) {
        fw_ruleset_destroy(rs[i]);
    }
    free(rs);
    free(ms);
}

/* Runs the batch in flight; when it has ended, each member goes on: to
 * the rest of its staging, or, after a failure, to a step of its own (a
 * batch of one: its failure is its own).  True if it ended. */
static bool
batch_end(struct netmoved *nm)
{
    struct mig_port_batch *b = nm->port_batch;
    const struct mig_ops *ops = nm->ops;
    char err[NM_ERRLEN] = "";
    size_t n_missing = 0;
    bool changed = false;

    if (!b || !b->op) {
        return false;
    }
    int error = ops->port_step(b->op, &n_missing, &changed, err, sizeof err);
    if (error == -EAGAIN) {
        return false;
    }
    size_t failed_doc = error ? ops->port_failed_doc(b->op) : SIZE_MAX;
    ops->port_end(b->op, false);
    b->op = NULL;

    struct mig_port_batch done = *b;
    b->ms = NULL;
    b->docs = NULL;
    b->staged_by = NULL;
    b->n = b->n_docs = 0;
    if (done.n > 1) {
        VLOG_INFO("port import of %zu migrations (%zu ports) in one "
                  "transaction: %s in %.1f ms", done.n, done.n_docs,
                  error ? err : "ok",
                  migration_ms(done.t_start, time_usec()));
    }
    if (!error && done.n > 1) {
        fw_stage(nm, &done);
    }
    /* The member whose document the import refused, if it says: it fails
     * alone, and the others go on as the next batch, without it (one
     * transaction more, not one per VM: a peer's one refusable document
     * must not make a batch of 100 into 100 imports that invalidate each
     * other's transactions). */
    struct migration *culprit = NULL;
    for (size_t i = 0, k = 0; failed_doc != SIZE_MAX && i < done.n; i++) {
        size_t n_docs = done.ms[i] ? done.ms[i]->n_port_docs : 0;
        if (failed_doc >= k && failed_doc < k + n_docs) {
            culprit = done.ms[i];
        }
        k += n_docs;
    }
    for (size_t i = 0; i < done.n; i++) {
        if (done.ms[i]) {
            done.ms[i]->in_batch = false;
        }
    }
    for (size_t i = 0; i < done.n; i++) {
        struct migration *m = done.ms[i];
        if (!m) {
            continue;           /* Destroyed meanwhile. */
        }
        if (m->ending || !m->staging) {
            continue;           /* Its rollback goes on (it waited). */
        }
        if (error && done.n > 1 && culprit && m != culprit) {
            m->port_queued = true;      /* The next batch. */
            b->n_queued++;
            continue;
        } else if (error && done.n > 1 && !culprit) {
            /* Which VM failed is not known: each alone. */
            start_alone(m);
            migration_port_step(m);
            continue;
        }
        m->db_seqno = ops->db_seqno(nm);
        m->ports_hash = ops->vm_ports_hash(nm, m->vm);
        m->adopt_pending = false;
        migration_staged(m, error, err);
    }
    done.op = NULL;
    batch_clear(&done);
    return true;
}

/* Runs the batch in flight; once it ends, the exports that arrived
 * meanwhile form the next batch, which runs at once (one that ends at once
 * goes on). */
static void
batch_step(struct netmoved *nm)
{
    while (batch_end(nm)) {
        batch_start(nm);
    }
}

void
migration_batch_queue(struct migration *m)
{
    struct mig_port_batch *b = batch_get(m->nm);

    m->port_queued = true;
    b->n_queued++;
    if (!b->op) {
        batch_start(m->nm);
        batch_step(m->nm);      /* A step that ends at once goes on. */
    }
}

void
migration_batch_forget(struct migration *m)
{
    struct mig_port_batch *b = m->nm->port_batch;

    if (!b) {
        return;
    }
    if (m->port_queued) {
        m->port_queued = false;
        b->n_queued--;
    }
    if (!m->in_batch) {
        return;
    }
    /* The step reads the documents while it runs: it goes, and the other
     * members are tried alone. */
    m->in_batch = false;
    m->nm->ops->port_end(b->op, false);
    for (size_t i = 0; i < b->n; i++) {
        struct migration *o = b->ms[i];
        if (o && o != m) {
            o->in_batch = false;
            if (!o->ending && o->staging) {
                start_alone(o);
            }
        }
    }
    batch_clear(b);
}

void
migration_batch_run(struct netmoved *nm)
{
    batch_start(nm);
    batch_step(nm);
}

void
migration_batch_wait(struct netmoved *nm)
{
    struct mig_port_batch *b = nm->port_batch;

    if (b && b->op) {
        nm->ops->port_wait(b->op);
    }
}

void
migration_batch_destroy(struct netmoved *nm)
{
    struct mig_port_batch *b = nm->port_batch;

    if (b) {
        if (b->op) {
            nm->ops->port_end(b->op, false);
        }
        batch_clear(b);
        free(b);
        nm->port_batch = NULL;
    }
}
