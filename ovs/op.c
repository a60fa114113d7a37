/* ovs: steps run from their caller's poll loop.  A long operation (an
 * import waits for ovsdb-server's answer and then for ovs-vswitchd to apply
 * it) is a step: its start call returns at once, nmovs_op_run() advances it
 * without waiting, nmovs_op_wait() says when to call again.  The blocking
 * form, for the CLI, is the same step run by a loop of its own. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "openvswitch/poll-loop.h"
#include "util.h"

#include <stdint.h>

#include "ovs/op-private.h"

void
nmovs_op_init(struct nmovs_op *op, const struct nmovs_op_class *class,
              struct nmovs_db *db)
{
    memset(op, 0, sizeof *op);
    op->class = class;
    op->db = db;
    op->result = -EAGAIN;
    op->failed_doc = SIZE_MAX;
}

size_t
nmovs_op_failed_doc(const struct nmovs_op *op)
{
    return op->failed_doc;
}

int
nmovs_op_run(struct nmovs_op *op)
{
    if (op->result == -EAGAIN) {
        op->result = op->class->run(op);
        if (op->result && op->result != -EAGAIN && !op->err[0]) {
            snprintf(op->err, sizeof op->err, "%s",
                     ovs_strerror(-op->result));
        }
    }
    return op->result;
}

void
nmovs_op_wait(struct nmovs_op *op)
{
    if (op->result != -EAGAIN) {
        poll_immediate_wake();
    } else {
        op->class->wait(op);
    }
}

bool
nmovs_op_is_done(const struct nmovs_op *op)
{
    return op->result != -EAGAIN;
}

const char *
nmovs_op_error(const struct nmovs_op *op)
{
    return op->err;
}

bool
nmovs_op_changed(const struct nmovs_op *op)
{
    return op->changed;
}

size_t
nmovs_op_count(const struct nmovs_op *op)
{
    return op->count;
}

void
nmovs_op_destroy(struct nmovs_op *op)
{
    if (op) {
        op->class->destroy(op);
    }
}

int
nmovs_op_finish(struct nmovs_op *op, char *err, size_t errlen)
{
    for (;;) {
        nmovs_db_run(op->db);
        int error = nmovs_op_run(op);
        if (error != -EAGAIN) {
            if (error && err) {
                snprintf(err, errlen, "%s", op->err);
            }
            return error;
        }
        nmovs_db_poll_wait(op->db);
        nmovs_op_wait(op);
        poll_block();
    }
}
