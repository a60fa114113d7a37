/* ovs: the OVSDB connection shared by export, import, remove and the flow
 * and fdb helpers that look a VM up (internal). */
#ifndef NETMOVE_OVS_DB_PRIVATE_H
#define NETMOVE_OVS_DB_PRIVATE_H 1

#include "openvswitch/compiler.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ovsdb_idl;
struct ovsdb_idl_txn;
struct ovsrec_bridge;
struct ovsrec_interface;
struct ovsrec_port;
struct ovsrec_qos;
struct nmovs_vm_index;
struct smap;

struct nmovs_db {
    struct ovsdb_idl *idl;
    char *remote;
    char *rundir;               /* For BRIDGE.mgmt and ovs-vswitchd.PID.ctl. */

    /* Barriers (nmovs_db_sync_request()): a change of the Open_vSwitch
     * table's condition is a request on the IDL's own session. */
    uint64_t sync_requested;    /* Last ticket handed out. */
    uint64_t sync_done;         /* Every ticket up to this one is done. */
    uint64_t sync_covers;       /* Tickets the flip in flight will finish. */
    unsigned int sync_seqno;    /* Condition seqno that acks the flip. */
    bool sync_inflight;
    bool sync_flip;             /* Which of the two conditions is set. */
    bool sync_lost;             /* The connection dropped during the flip. */
    long long int sync_sent_ms; /* When the flip in flight was sent. */

    /* The VMs' ports by identity (vm_ports.c), for the replica as it was
     * at 'vm_index->seqno'; NULL until first asked. */
    struct nmovs_vm_index *vm_index;
};

/* One transaction, built by 'build' (0, or a negative errno to abandon
 * it with a message in 'err'), committed, rebuilt and retried on
 * TXN_TRY_AGAIN until 'deadline'.  'committed', if nonnull, runs after a
 * successful commit, before the transaction is freed (for insert uuids and
 * incremented values). */
struct nmovs_txn_ops {
    const char *comment;        /* In ovsdb-server's log ("netmove: ..."). */
    int (*build)(struct ovsdb_idl_txn *, void *aux, char *err, size_t errlen);
    void (*committed)(struct ovsdb_idl_txn *, void *aux);
};

/* A transaction run as a step of its caller's poll loop, as OVS's own
 * daemons run theirs: nmovs_txn_run() builds and sends it, then reads its
 * status without waiting; the loop runs the IDL (nmovs_db_run()) and
 * waits (nmovs_db_poll_wait(), nmovs_txn_wait()) between calls. */
struct nmovs_txn {
    struct nmovs_db *db;
    const struct nmovs_txn_ops *ops;
    void *aux;
    long long int deadline;     /* time_msec(): the step fails then. */
    struct ovsdb_idl_txn *txn;  /* Sent and unanswered, or NULL. */
    bool retrying;              /* TXN_TRY_AGAIN: rebuild once the replica
                                 * moves past 'retry_seqno'. */
    unsigned int retry_seqno;
    bool changed;               /* Once done: whether the database changed. */
};

/* Sets up 't' for 'ops' with 'aux'; nothing is sent before
 * nmovs_txn_run(). */
void nmovs_txn_init(struct nmovs_txn *t, struct nmovs_db *,
                    const struct nmovs_txn_ops *, void *aux,
                    long long int deadline);

/* Advances 't': -EAGAIN while its outcome is not known yet, then 0 (see
 * 't->changed') or a negative errno with a message in 'err' (-ETIMEDOUT
 * once 'deadline' passed, -ECONNRESET if the connection died). */
int nmovs_txn_run(struct nmovs_txn *t, char *err, size_t errlen);
void nmovs_txn_wait(const struct nmovs_txn *t);

/* Abandons a transaction still in flight (its reply is ignored). */
void nmovs_txn_destroy(struct nmovs_txn *t);

/* A port of a VM and the bridge that holds it. */
struct nmovs_vm_port {
    const struct ovsrec_bridge *br;
    const struct ovsrec_port *port;
};

/* Finds the ports of VM 'vm' in the IDL's current contents: those with an
 * Interface whose external_ids vm-id, vm-uuid, iface-id or attached-mac
 * equals 'vm', never by name (a VM id equal to a port's name, "eth1", must
 * not find the uplink).  Stores a malloc'd array sorted by port name in '*ports' and returns its length. */
size_t nmovs_find_vm_ports(struct nmovs_db *, const char *vm,
                           struct nmovs_vm_port **ports);

/* nmovs_find_vm_ports() through an index of the ports by identity, built
 * once per change of the replica: O(the VM's ports) per VM rather than
 * O(every port of the host), for the export path (nmovs_export()) where a
 * host evacuation asks for a hundred VMs of a host of hundreds of ports.
 * Only outside a transaction being built (the index is of the replica, not
 * of a transaction's changes). */
size_t nmovs_find_vm_ports_indexed(struct nmovs_db *, const char *vm,
                                   struct nmovs_vm_port **ports);

/* Frees the index.  NULL is accepted. */
void nmovs_vm_index_destroy(struct nmovs_vm_index *);

/* An interface's identity, from its external_ids (vm_ports.c): the
 * strings point into the map. */
struct nmovs_identity {
    const char *iface_id;       /* iface-id. */
    const char *mac;            /* attached-mac. */
    const char *vm;             /* vm-id, else vm-uuid. */
};

/* Reads the identity in 'external_ids' into '*id'. */
void nmovs_identity_get(const struct smap *external_ids,
                        struct nmovs_identity *id);

/* True if 'id' can identify an interface: an iface-id, or an attached-mac
 * with a vm-id or vm-uuid. */
bool nmovs_identity_is_set(const struct nmovs_identity *id);

/* True if the interface with 'external_ids' has identity 'want': the same
 * iface-id if 'want' has one, else the same attached-mac (in any case) and
 * a vm-id or vm-uuid equal to 'want''s.  False if 'want' is not set. */
bool nmovs_identity_matches(const struct nmovs_identity *want,
                            const struct smap *external_ids);

/* Describes whose 'port' is, for a message: "iface-id X, vm-id Y,
 * attached-mac Z" from its first interface that has any of them, or "no VM
 * identity in its external_ids". */
void nmovs_port_owner(const struct ovsrec_port *port, char *buf,
                      size_t size);

/* Starts removing the ports named in 'names' (exact port names, no VM
 * lookup), as nmovs_remove_start() does: a failed import takes back what it
 * created. */
struct nmovs_op *nmovs_remove_port_names_start(struct nmovs_db *,
                                               const char *const *names,
                                               size_t n, int timeout_ms);

/* In transaction being built: takes 'port' out of bridge 'br' (Port and
 * Interface rows go with it) and deletes its QoS if no other port uses it
 * (port_remove.c). */
void nmovs_delete_port(struct nmovs_db *, const struct ovsrec_bridge *br,
                       const struct ovsrec_port *port);

/* The bridge that holds 'port', or NULL. */
const struct ovsrec_bridge *nmovs_port_bridge(struct nmovs_db *,
                                              const struct ovsrec_port *);

/* Blocks ('block') or unblocks the 'n' 'ports' (flows.c). */
int nmovs_set_ports_blocked(struct nmovs_db *, const struct nmovs_vm_port *ports,
                            size_t n, bool block, char *err, size_t errlen);

/* Deletes QoS row 'qos' and its queues, unless a port other than 'except'
 * still uses them: QoS and Queue are root tables (port_remove.c). */
void nmovs_gc_qos(struct nmovs_db *, const struct ovsrec_qos *qos,
                  const struct ovsrec_port *except);

/* fdb.c: runs ovs-vswitchd's unixctl 'command' with 'argc' 'argv'
 * through RUNDIR/ovs-vswitchd.PID.ctl, as ovs-appctl does, for at most 2 s
 * (a hung ovs-vswitchd must not hang the caller); its text answer in
 * '*resultp' if nonnull (the caller frees it).  0, or -errno with 'err':
 * -ENOENT if ovs-vswitchd refused the command. */
int nmovs_vswitchd_transact(const char *rundir, const char *command,
                            int argc, char *argv[], char **resultp,
                            char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The OpenFlow port number OVSDB gives interface 'iface', or 0 while it has
 * none valid (unset, -1 when ovs-vswitchd failed to add it, or beyond the
 * range of port numbers): vm_ports.c, db.c, port_vlan.c. */
uint32_t nmovs_iface_ofport(const struct ovsrec_interface *iface);

#endif /* ovs/db-private.h */
