/* The source's side of a migration (source.c): what this host serves the
 * destinations that move its VMs away, and what it keeps of each until the
 * destination has committed its copy.  Its state is its own (struct
 * nm_source, hung off struct netmoved); the rest of the daemon asks through
 * these functions. */
#ifndef NETMOVE_DAEMON_SOURCE_H
#define NETMOVE_DAEMON_SOURCE_H 1

#include <stdbool.h>

struct json;
struct netmoved;
struct unixctl_conn;

/* Creates the source's state in 'nm' and registers its peer methods
 * (export, ct-delta, confirm, abort, locate, verify). */
void source_init(struct netmoved *nm);
void source_destroy(struct netmoved *nm);
void source_run(struct netmoved *nm);
void source_wait(struct netmoved *nm);

/* Replays the journal records of one export ('id', its 'records', those
 * netmoved_recover() dispatches as the source's): the VM it served stays
 * outgoing until confirmed or aborted; one that had ended is finished. */
void source_recover(struct netmoved *nm, const char *id,
                    const struct json *records);

/* True if 'vm' left (or is leaving) this host and its destination has not
 * confirmed yet: the source keeps everything of it. */
bool source_is_outgoing(const struct netmoved *nm, const char *vm);

/* What a source's migrator says of an outgoing VM. */
enum nm_evidence {
    NM_EV_LEFT,                 /* The outgoing migration completed. */
    NM_EV_PAUSING,              /* It stops now: the migrator waits for the
                                 * answer, then stops the VM. */
    NM_EV_STOPPED,              /* It has stopped (QEMU's STOP, libvirt's
                                 * SUSPENDED MIGRATED). */
};

/* This host's own evidence that 'vm', exported and not yet confirmed,
 * left it (NM_EV_LEFT: its migrator says the outgoing migration completed,
 * 'netmove left' or libvirt's release of the domain) or was paused for its
 * switch-over (the others: recorded for the timeline, and the drain of its
 * frames to the destination starts, drain_src.h),
 * to 'to' (NULL: to whichever destination the export went, as libvirt's
 * release, which does not name it).  Only then does a confirm from that
 * destination remove the VM's port, rules and entries (a confirm waiting
 * for it goes on).  Returns 0, 1 ('paused' false, nothing of 'vm' is
 * outgoing, but its last export, to 'to' if given, was confirmed here in
 * the last 10 minutes: a migrator that gives its evidence twice, the
 * confirm between), -ENOENT (nothing of 'vm' is outgoing),
 * -EINVAL ('to' is not the destination it was exported to: refused) or
 * -EIO (the journal could not record it), with '*errorp' set. */
int source_left(struct netmoved *nm, const char *vm, const char *to,
                enum nm_evidence, char **errorp);

/* The operator withdraws the export of 'vm' (netmove abort VM on the
 * source): a destination that exported it and never aborted or confirmed
 * (it died, or it is hostile) no longer holds the VM, and its confirm is
 * refused.  Returns 0 with a message in '*msgp', or -ENOENT (nothing of
 * 'vm' is outgoing) or -EBUSY (a confirm is removing it) with an error
 * there. */
int source_forget(struct netmoved *nm, const char *vm, char **msgp);

/* The VMs outgoing, as a JSON array of their names. */
struct json *source_outgoing_to_json(const struct netmoved *nm);

/* Answers `netmove paused VM...` ('conn') after source_left(paused)
 * accepted each of the 'n' VMs 'vms': once the drains' catches of their
 * frames are in the switch (bounded by DRAIN_SYNC_MS, then with an error
 * while the drains go on); at once for a VM without a drain.  'errors'
 * (NULL: none), the other VMs' of the same call, make it an error answer
 * all the same (a "bad input" one if 'bad_input'), after the catches. */
void source_paused_reply(struct netmoved *nm, const char *const *vms,
                         size_t n, const char *errors, bool bad_input,
                         struct unixctl_conn *conn);

/* The drains of the outgoing VMs that paused, by VM: their counters
 * (drain_src.h) for `netmove status --json` ("outgoing_drains"). */
struct json *source_drains_to_json(const struct netmoved *nm);

#endif /* netmove/daemon/source.h */
