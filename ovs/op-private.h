/* ovs: a step run from its caller's poll loop (internal): the class each
 * kind of step implements (port_import.c, port_remove.c). */
#ifndef NETMOVE_OVS_OP_INT_H
#define NETMOVE_OVS_OP_INT_H 1

#include <stdbool.h>
#include <stddef.h>

struct nmovs_op;

struct nmovs_op_class {
    /* Advances the step: -EAGAIN while it is under way, else its outcome,
     * 0 or a negative errno with a message in 'op->err'.  Not called again
     * once it has returned something else. */
    int (*run)(struct nmovs_op *op);

    /* Wakes the loop when run() may advance, and at the step's deadline. */
    void (*wait)(struct nmovs_op *op);

    /* Frees the step, abandoning what is in flight. */
    void (*destroy)(struct nmovs_op *op);
};

struct nmovs_op {
    const struct nmovs_op_class *class;
    struct nmovs_db *db;
    int result;                 /* -EAGAIN until done. */
    bool changed;               /* OVSDB changed. */
    size_t count;               /* Import: interfaces missing; removal:
                                 * ports removed. */
    size_t failed_doc;          /* Import: the document whose port was
                                 * refused; SIZE_MAX: none known. */
    char err[512];
};

/* Initializes the members 'op' has in common. */
void nmovs_op_init(struct nmovs_op *op, const struct nmovs_op_class *,
                   struct nmovs_db *);

#endif /* ovs/op-private.h */
