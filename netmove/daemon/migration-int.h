/* Internal to migration*.c: the destination's state machine, split by
 * concern (migration.c: prepare, resume, abort; migration_locate.c,
 * migration_port.c, migration_recover.c, migration_report.c). */
#ifndef NETMOVE_MIGRATION_INT_H
#define NETMOVE_MIGRATION_INT_H 1

#include <stdbool.h>
#include <stdint.h>

#include "openvswitch/compiler.h"

struct json;
struct migration;


/* Appends a record of 'step' (with the members of 'extra', consumed) to
 * 'm''s journal; on disk before returning if 'sync'. */
void migration_journal(struct migration *m, const char *step,
                       struct json *extra, bool sync);

/* Sets 'm''s last error (and logs it). */
void migration_set_error(struct migration *m, const char *fmt, ...)
    OVS_PRINTF_FORMAT(2, 3);

/* Before resume: rolls 'm' back, tells the source, ends it as failed. */
void migration_fail_prepare(struct migration *m);

/* Answers the CLI calls waiting on 'm' that its state satisfies. */
void migration_answer_waiters(struct migration *m);

/* Milliseconds from 'from' to 'to' (microseconds), -1 if not both set. */
double migration_ms(uint64_t from, uint64_t to);

/* Asks 'm''s source for its documents (m->src is known). */
void migration_start_prepare(struct migration *m);

/* Builds 'm''s port documents for this host from the source's export 'x'
 * (its "port" and "site": this site's VLANs).  0 or -errno with 'err'. */
int migration_port_docs(struct migration *m, const struct json *x,
                        char *err, size_t errlen);

/* The names and OpenFlow ports of 'm''s interfaces here, from OVSDB's
 * replica (no round trip): this host names its taps as it likes. */
void migration_local_ifaces(struct migration *m);

/* While 'm' is staged (or its port is still awaited after resume): when
 * OVSDB's set of the VM's ports changed, adopts a port the migrator made
 * (the documents' settings, blocked until resume) and removes netmove's
 * own staged one, if any. */
void migration_follow_port(struct migration *m);

/* Prepare's port step ended (m->port_op, m->staging): stages the rest
 * (firewall, conntrack) and ends prepare, or fails it. */
void migration_staged(struct migration *m);

/* Forgets the locate requests of 'm'. */
void migration_locates_cancel(struct migration *m);

#endif /* netmove/daemon/migration-int.h */
