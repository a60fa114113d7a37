/* ovs: the OVSDB connection shared by export, import, remove and the flow
 * and fdb helpers that look a VM up (internal). */
#ifndef NETMOVE_OVS_DB_INT_H
#define NETMOVE_OVS_DB_INT_H 1

#include <stdbool.h>
#include <stddef.h>

struct ovsdb_idl;
struct ovsdb_idl_txn;
struct ovsrec_bridge;
struct ovsrec_port;
struct ovsrec_qos;

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
};

/* Runs the IDL until its contents change or 'deadline' (time_msec())
 * passes.  Returns 0, -ETIMEDOUT, or -ECONNRESET if the connection died. */
int nmovs_db_wait(struct nmovs_db *, long long int deadline);

/* One transaction, built by 'build' (0, or a negative errno to abandon
 * it with a message in 'err'), committed, rebuilt and retried on
 * TXN_TRY_AGAIN until 'deadline'.  'committed', if nonnull, runs after a
 * successful commit, before the transaction is freed (for insert uuids and
 * incremented values).  '*changed' tells whether the database changed. */
struct nmovs_txn_ops {
    const char *comment;        /* In ovsdb-server's log ("netmove: ..."). */
    int (*build)(struct ovsdb_idl_txn *, void *aux, char *err, size_t errlen);
    void (*committed)(struct ovsdb_idl_txn *, void *aux);
};
int nmovs_db_transact(struct nmovs_db *, const struct nmovs_txn_ops *,
                      void *aux, long long int deadline, bool *changed,
                      char *err, size_t errlen);

/* A port of a VM and the bridge that holds it. */
struct nmovs_vm_port {
    const struct ovsrec_bridge *br;
    const struct ovsrec_port *port;
};

/* Finds the ports of VM 'vm' in the IDL's current contents: those with an
 * Interface whose external_ids vm-id, vm-uuid, iface-id or attached-mac
 * equals 'vm', or whose interface or port name is 'vm'.  Stores a malloc'd
 * array sorted by port name in '*ports' and returns its length. */
size_t nmovs_find_vm_ports(struct nmovs_db *, const char *vm,
                           struct nmovs_vm_port **ports);

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

#endif /* ovs/db-int.h */
