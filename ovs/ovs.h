/* ovs: a VM's Open vSwitch port, through libopenvswitch's OVSDB IDL and
 * OpenFlow (vconn).  The one public header of the module.
 *
 * Functions return 0 or a negative errno; allocators return NULL only on
 * failure.  Nothing here logs: callers report errors once, at the top. */
#ifndef NETMOVE_OVS_H
#define NETMOVE_OVS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "openvswitch/compiler.h"
#include "openvswitch/types.h"

/* ---- OpenFlow connection to a bridge (ofconn.c) ---- */

struct nmovs_of;

/* Connects to bridge 'bridge''s OpenFlow management socket
 * "unix:'rundir'/'bridge'.mgmt" and negotiates the OpenFlow version (the
 * highest both sides support).  'rundir' NULL means $OVS_RUNDIR (or OVS's
 * default run directory).  Stores the connection in '*ofp'.  Returns 0 or a
 * negative errno (-ENOENT: no such socket). */
int nmovs_of_open(const char *rundir, const char *bridge,
                  struct nmovs_of **ofp)
    OVS_WARN_UNUSED_RESULT;

/* Closes 'of'.  NULL is accepted. */
void nmovs_of_close(struct nmovs_of *of);

/* Looks up the OpenFlow port number of port (interface) 'port' with an
 * OpenFlow port description request.  Stores it in '*ofport'.  Returns 0,
 * -ENOENT if the bridge has no such port, or another negative errno. */
int nmovs_of_port_no(struct nmovs_of *of, const char *port, uint32_t *ofport)
    OVS_WARN_UNUSED_RESULT;

/* Sends the 'n' Ethernet frames in 'frames' as OpenFlow packet-outs with
 * in_port='in_port' and actions=NORMAL, as if the VM on that port had sent
 * them.  All 'n' are queued, then one barrier flushes them and collects any
 * error.  Returns 0, -EPROTO if the switch rejected one, or another negative
 * errno. */
int nmovs_of_packet_out(struct nmovs_of *of, uint32_t in_port,
                        const struct iovec *frames, size_t n)
    OVS_WARN_UNUSED_RESULT;

/* One frame of nmovs_of_packet_out_many(). */
struct nmovs_pkt_out {
    const void *data;
    size_t len;
    uint32_t in_port;           /* The port it is sent "from". */
    uint32_t out_port;          /* actions=output:out_port; 0: NORMAL. */
};

/* As nmovs_of_packet_out(), but each of the 'n' frames of 'pkts' with its
 * own in_port and action, in the order given (the switch handles one
 * connection's messages in order), under one barrier. */
int nmovs_of_packet_out_many(struct nmovs_of *of,
                             const struct nmovs_pkt_out *pkts, size_t n)
    OVS_WARN_UNUSED_RESULT;

/* ---- Staged activation: blocked ports (flows.c) ---- */

/* netmove's flows carry cookie NMOVS_COOKIE_BASE | ofport ("nm" in the top
 * bytes), at a priority above any NORMAL flow. */
#define NMOVS_COOKIE_BASE 0x6e6d000000000000ULL
#define NMOVS_BLOCK_PRIORITY 65000

/* The cookie of the flows that block OpenFlow port 'ofport'. */
uint64_t nmovs_block_cookie(uint32_t ofport);

/* Blocks OpenFlow port 'ofport' on 'of''s bridge: flows drop everything
 * from it (in_port) and everything to the 'n_macs' MACs in 'macs' (dl_dst),
 * and its no_forward config keeps NORMAL's floods off it.  Returns once the
 * switch has applied all of it (barrier): 0 or a negative errno. */
int nmovs_of_block(struct nmovs_of *of, uint32_t ofport,
                   const struct eth_addr *macs, size_t n_macs)
    OVS_WARN_UNUSED_RESULT;

/* Undoes nmovs_of_block(): deletes exactly the flows with 'ofport''s cookie
 * and clears no_forward (if the port still exists).  0 or -errno. */
int nmovs_of_unblock(struct nmovs_of *of, uint32_t ofport)
    OVS_WARN_UNUSED_RESULT;

/* ---- OVSDB (db.c) ---- */

struct nmovs_db;

/* Connects to OVSDB at 'remote' (NULL: "unix:'rundir'/db.sock") through the
 * OVS IDL, replicating only the columns netmove uses, and waits up to
 * 'timeout_ms' for its contents.  'rundir' NULL means $OVS_RUNDIR (or OVS's
 * default); it also locates the bridges' BRIDGE.mgmt sockets and
 * ovs-vswitchd's control socket.  0 or a negative errno, with a message in
 * 'err'. */
int nmovs_db_open(const char *remote, const char *rundir, int timeout_ms,
                  struct nmovs_db **dbp, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The same, replicating only what finding VM 'vm''s ports needs (its
 * interfaces, their ports, all bridges, QoS and queues): fast on a host
 * with thousands of ports, for activate, block and forget.  Not for import,
 * export or remove, which need the whole picture. */
int nmovs_db_open_vm(const char *remote, const char *rundir, int timeout_ms,
                     const char *vm, struct nmovs_db **dbp, char *err,
                     size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Closes 'db'.  NULL is accepted. */
void nmovs_db_close(struct nmovs_db *db);

/* For a long-running process (netmoved): connects to OVSDB as
 * nmovs_db_open() does, but waits for nothing and reconnects whenever the
 * connection drops (an ovsdb-server restart).  The caller runs it from its
 * poll loop with nmovs_db_run() and nmovs_db_poll_wait(), so that every
 * read sees the database as it is, not as it was at start. */
struct nmovs_db *nmovs_db_create(const char *remote, const char *rundir);

/* Processes what OVSDB sent; for a poll loop. */
void nmovs_db_run(struct nmovs_db *db);
void nmovs_db_poll_wait(struct nmovs_db *db);

/* True if 'db' is connected and holds the database's contents. */
bool nmovs_db_is_synced(const struct nmovs_db *db);

/* A barrier: returns a ticket that nmovs_db_sync_done() reports done once
 * 'db' holds every transaction that ovsdb-server committed before this
 * call.  It sends a request on the IDL's own session (a change of the
 * replication condition of the Open_vSwitch table between two conditions
 * that select the same row); ovsdb-server flushes the monitor updates of
 * every committed transaction to a session before it reads that session's
 * next request, and the IDL processes its messages in order, so the
 * request's acknowledgement comes after them.  A reconnection sends it
 * again.  Many requests share one round trip. */
uint64_t nmovs_db_sync_request(struct nmovs_db *db);
bool nmovs_db_sync_done(const struct nmovs_db *db, uint64_t ticket);

/* A counter that moves whenever the replica's contents change. */
unsigned int nmovs_db_seqno(const struct nmovs_db *db);

/* A fingerprint of the ports of VM 'vm' here (found as by nmovs_export(),
 * their rows' uuids): it changes when one is added, removed or replaced
 * (libvirt's del-port + add-port of a tap of the same name).  0: none. */
uint32_t nmovs_vm_ports_hash(struct nmovs_db *db, const char *vm);

/* The interface of VM 'vm' whose external_ids attached-mac is 'mac', as
 * this host names it (tap names are per host: the source's name means
 * nothing here), and its OpenFlow port (0 if ovs-vswitchd has given it
 * none yet), from the replica: no round trip.  Stores a malloc'd name in
 * '*namep'.  0 or -ENOENT. */
int nmovs_vm_iface_by_mac(struct nmovs_db *db, const char *vm,
                          struct eth_addr mac, char **namep,
                          uint32_t *ofport)
    OVS_WARN_UNUSED_RESULT;

/* The OpenFlow port of interface 'name' of VM 'vm', as the replica has it
 * (the Interface's ofport column, which ovs-vswitchd writes): no round trip
 * to ovs-vswitchd, and nothing read of the bridge's other ports.  Stores 0
 * in '*ofport' if ovs-vswitchd has given it none yet.  0, or -ENOENT if VM
 * 'vm' has no such interface here. */
int nmovs_vm_iface_ofport(struct nmovs_db *db, const char *vm,
                          const char *name, uint32_t *ofport)
    OVS_WARN_UNUSED_RESULT;

/* An interface of a VM on this host, as OVSDB has it. */
struct nmovs_vm_iface {
    char *name;                 /* The Interface's name (its device). */
    struct eth_addr mac;        /* external_ids:attached-mac. */
    char *vm;                   /* vm-id, else vm-uuid, else iface-id. */
    int tag;                    /* Its port's VLAN, 0: untagged. */
};

/* Every interface with a valid external_ids:attached-mac, from the
 * replica.  Stores a malloc'd array in '*ifacesp' and returns its length;
 * free it with nmovs_vm_ifaces_free(). */
size_t nmovs_vm_ifaces(struct nmovs_db *db, struct nmovs_vm_iface **ifacesp);
void nmovs_vm_ifaces_free(struct nmovs_vm_iface *, size_t n);

/* ---- Port documents (port_doc.c) ---- */

struct json;
struct nmovs_doc;               /* One VM's ports. */

/* The document version this netmove writes and reads. */
#define NMOVS_DOC_VERSION 1

/* Parses 'text': one document (a JSON object) or several (a JSON array of
 * them, for a host evacuation).  Stores a malloc'd array of documents in
 * '*docsp' and its length in '*np'.  Returns 0, or -EINVAL with a message
 * naming the field ("document: ports[0].tag: 5000 is not a VLAN id
 * (0-4095)") in 'err'. */
int nmovs_docs_parse(const char *text, struct nmovs_doc ***docsp, size_t *np,
                     char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The same from already parsed JSON. */
int nmovs_docs_from_json(const struct json *, struct nmovs_doc ***docsp,
                         size_t *np, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The JSON form of 'doc' (the caller owns it). */
struct json *nmovs_doc_to_json(const struct nmovs_doc *doc);

/* Pretty, sorted JSON text of 'n' documents: an object if 'n' is 1, else an
 * array.  The caller frees it. */
char *nmovs_docs_format(struct nmovs_doc *const *docs, size_t n);

/* The VM 'doc' describes, and its number of ports. */
const char *nmovs_doc_vm(const struct nmovs_doc *doc);
size_t nmovs_doc_n_ports(const struct nmovs_doc *doc);

/* Frees 'doc' (NULL ok), or 'n' documents and the array holding them. */
void nmovs_doc_destroy(struct nmovs_doc *doc);
void nmovs_docs_destroy(struct nmovs_doc **docs, size_t n);

/* ---- What a peer's document may ask of this host (port_scope.c) ---- */

/* The most queues a document's QoS may have (each is a traffic class on
 * the VM's device). */
#define NMOVS_SCOPE_QUEUES_MAX 64

/* What a port document from another host may make here. */
struct nmovs_scope {
    const char *bridge;         /* The only bridge its ports may be on. */
    const int *vlans;           /* The only tags they may carry (the
                                 * document's site's VLANs of the networks
                                 * the configuration maps to this site
                                 * too); none: untagged only. */
    size_t n_vlans;
};

/* Checks that 'doc', as a peer sent it, holds nothing but a VM's ports
 * within 'scope', before it is translated and imported: each port on
 * 'scope->bridge', untagged or tagged with one of 'scope->vlans', no
 * trunks, vlan_mode unset or "access", one interface of type "" (a system
 * device) or "tap", whose attached-mac, if any, is unicast, with no options (those of patch ports and tunnels:
 * peer, remote_ip, ...), no other_config key that Open vSwitch reads
 * (bonding, LACP, STP/RSTP, CFM, multicast snooping, PMD affinity, ...),
 * and a QoS, if any, of a Linux or policer type with at most
 * NMOVS_SCOPE_QUEUES_MAX queues and only the rate keys OVS defines.
 * Returns 0, or -EINVAL with a message naming the field ("ports[0].
 * interfaces[0].type: 'vxlan' is not a VM's interface type (\"\" or tap)")
 * in 'err'. */
int nmovs_doc_check_scope(const struct nmovs_doc *doc,
                          const struct nmovs_scope *scope,
                          char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The VLAN tag of the port of 'doc' that holds interface 'iface', -1 if
 * it is untagged, -ENOENT if 'doc' has no such interface. */
int nmovs_doc_iface_tag(const struct nmovs_doc *doc, const char *iface);

/* ---- Renames and VLAN maps (xlate.c) ---- */

struct nmovs_xlate;

struct nmovs_xlate *nmovs_xlate_create(void);
void nmovs_xlate_destroy(struct nmovs_xlate *);  /* NULL ok. */

/* Adds "OLD=NEW" (a port or interface name) or "A=B" (VLAN ids 0-4095).
 * Returns 0, or -EINVAL with a message naming the option in 'err'. */
int nmovs_xlate_add_rename(struct nmovs_xlate *, const char *spec,
                           char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
int nmovs_xlate_add_vlan(struct nmovs_xlate *, const char *spec,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Renames the ports and interfaces of 'doc' and maps its tags and trunks. */
void nmovs_xlate_apply(const struct nmovs_xlate *, struct nmovs_doc *doc);

/* ---- Export, import, remove (port_export.c, port_import.c,
 * port_remove.c) ---- */

/* Exports the ports of VM 'vm' into a new document in '*docp'.  Its ports
 * are those with an Interface whose external_ids vm-id, vm-uuid, iface-id
 * or attached-mac is 'vm', never a port found by its name alone (tap names
 * are per host, and a VM id "eth1" must not find the uplink).  0, or -ENOENT
 * with a message. */
int nmovs_export(struct nmovs_db *db, const char *vm, struct nmovs_doc **docp,
                 char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The Port external_ids key that marks a port an import created, with the
 * import's 'staged_by' as its value (nmovs_import_opts). */
#define NMOVS_STAGED_KEY "netmove-staged"

struct nmovs_import_opts {
    bool blocked;               /* Also block the ports (nmovs_of_block). */
    int timeout_ms;             /* For the transaction and ovs-vswitchd. */
    bool device_later;          /* An interface whose device does not exist
                                 * yet ("No such device": the hypervisor
                                 * creates its tap when the VM arrives) is
                                 * staged as it is, not waited for: vswitchd
                                 * adds it when the device appears.  Such a
                                 * port is not blocked: nothing passes
                                 * without a device. */
    const char *staged_by;      /* Nonnull: every port the import creates
                                 * gets Port external_ids netmove-staged=
                                 * this (a migration's id), for
                                 * nmovs_remove_staged().  Ports it adopts
                                 * or updates get nothing. */
    const char *const *doc_staged_by;   /* Nonnull: one per document, the
                                 * 'staged_by' of that document's ports
                                 * instead (a batch of several migrations
                                 * in one transaction, each its own id). */
    bool adopt_only;            /* Create nothing: only update in place the
                                 * ports found by the VM's identity (the
                                 * one the migrator made), and count the
                                 * interfaces that have none yet
                                 * (nmovs_adopt()). */
};

/* Imports the 'n' documents in 'docs' in ONE transaction, then waits until
 * ovs-vswitchd has applied it and every interface has an OpenFlow port, and
 * blocks the ports if asked.  '*changed' tells whether OVSDB changed.
 *
 * A document's port becomes the local port found by the VM's identity, not
 * by its name (tap names are per host): the port holding an Interface with
 * the document interface's external_ids iface-id, or, if it has none, its
 * attached-mac (any case) and vm-id/vm-uuid.  That port is updated in place
 * (its records keep their uuids; an identical import writes nothing) and
 * keeps its local port and interface names; external_ids are merged (local
 * keys stay; the local identity keys win).  A port the import did not make
 * (the migrator's) also keeps its interfaces' type, options and
 * ofport_request.  If two ports carry the identity, one made by netmove
 * (netmove-staged) and one not, the other one is adopted and netmove's is
 * deleted in the same transaction; two not made by netmove are refused
 * (-EEXIST).  With no port found, one is created under the document's
 * names, unless a port or interface of that name exists: it belongs to
 * another VM, and the import is refused (-EEXIST, "port vnet0: belongs to
 * another VM (iface-id ...)"), changing nothing.  (A port of that name that
 * this same 'staged_by' created is ours and updated.)  Never trusted from
 * the document: its netmove-staged key.
 *
 * Returns 0, or a negative errno with a message in 'err' (Interface:error if
 * ovs-vswitchd could not add an interface); a failed import removes the
 * ports it created (those it updated keep the new values). */
int nmovs_import(struct nmovs_db *db, struct nmovs_doc *const *docs, size_t n,
                 const struct nmovs_import_opts *opts, bool *changed,
                 char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* nmovs_import() with 'opts->adopt_only' taken as true, for the port the
 * migrator (libvirt, when it starts QEMU) makes on the destination: creates
 * nothing, brings every port found by the VM's identity to the documents'
 * settings, and blocks it (opts->blocked) once it has an OpenFlow port.  A
 * port only netmove made (netmove-staged) does not count as found.  Stores
 * in '*n_missing' how many document interfaces have no such port yet: call
 * again when OVSDB changes until it is 0.  A document interface without an
 * identity (iface-id, or attached-mac with vm-id/vm-uuid) can never be
 * found: -EINVAL.  Otherwise as nmovs_import(). */
int nmovs_adopt(struct nmovs_db *db, struct nmovs_doc *const *docs, size_t n,
                const struct nmovs_import_opts *opts, bool *changed,
                size_t *n_missing, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Removes the ports of the 'n' VMs in 'vms' (found as by nmovs_export()) in
 * one transaction (with their QoS rows if no other port uses them, and
 * their blocking flows), waits until ovs-vswitchd has applied it, and
 * stores the number of ports removed in '*n_removed'.  A VM with no port is
 * not an error. */
int nmovs_remove(struct nmovs_db *db, const char *const *vms, size_t n,
                 int timeout_ms, size_t *n_removed, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* How long nmovs_remove_staged() waits for OVSDB and ovs-vswitchd. */
#define NMOVS_REMOVE_STAGED_TIMEOUT_MS 5000

/* A migration's rollback: removes, as nmovs_remove() does, exactly the
 * ports whose Port external_ids netmove-staged is 'staged_by' (those the
 * imports with that 'staged_by' created), never a port someone else made,
 * even with the VM's identity.  Stores how many in '*n_removed'.  0 (also
 * when there is none), -EINVAL if 'staged_by' is empty, or another negative
 * errno with a message in 'err'. */
int nmovs_remove_staged(struct nmovs_db *db, const char *staged_by,
                        size_t *n_removed, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- The same as steps of a poll loop (op.c) ---- */

/* A daemon's loop never waits: each of these starts the operation its
 * blocking namesake above performs and returns at once.  The caller keeps
 * the step and calls nmovs_op_run() from its loop (after nmovs_db_run(),
 * which processes OVSDB's answers) until it returns something other than
 * -EAGAIN, and nmovs_op_wait() with nmovs_db_poll_wait() before
 * poll_block().  Every step has a deadline ('opts->timeout_ms' or
 * 'timeout_ms'; NMOVS_REMOVE_STAGED_TIMEOUT_MS for a rollback): an answer
 * from ovsdb-server or ovs-vswitchd that never comes fails it with
 * -ETIMEDOUT.  The documents must outlive the step; everything else is
 * copied.  (OpenFlow exchanges, to block a port or delete its flows, still
 * wait up to their own bound inside nmovs_op_run(); see ovs/README.md.) */
struct nmovs_op;

struct nmovs_op *nmovs_import_start(struct nmovs_db *,
                                    struct nmovs_doc *const *docs, size_t n,
                                    const struct nmovs_import_opts *opts);
struct nmovs_op *nmovs_adopt_start(struct nmovs_db *,
                                   struct nmovs_doc *const *docs, size_t n,
                                   const struct nmovs_import_opts *opts);
struct nmovs_op *nmovs_remove_start(struct nmovs_db *,
                                    const char *const *vms, size_t n,
                                    int timeout_ms);
struct nmovs_op *nmovs_remove_staged_start(struct nmovs_db *,
                                           const char *staged_by);

/* Advances 'op' without waiting: -EAGAIN while it is under way, then its
 * outcome (the blocking form's return value), the same on every later
 * call. */
int nmovs_op_run(struct nmovs_op *op);
void nmovs_op_wait(struct nmovs_op *op);
bool nmovs_op_is_done(const struct nmovs_op *op);

/* Once done: its error message (empty on success), whether OVSDB changed,
 * and its count (import and adopt: the interfaces still missing, as
 * '*n_missing'; removals: the ports removed, as '*n_removed'). */
const char *nmovs_op_error(const struct nmovs_op *op);
bool nmovs_op_changed(const struct nmovs_op *op);
size_t nmovs_op_count(const struct nmovs_op *op);

/* Once an import of several documents failed: the index of the document
 * whose port it refused (e.g. a name that is another VM's port here), so
 * that the others can go on without it; SIZE_MAX if the failure is not one
 * document's (a transaction or ovs-vswitchd failing). */
size_t nmovs_op_failed_doc(const struct nmovs_op *op);

/* Runs 'op' to its end in a loop of its own (the blocking form, for the
 * CLI and tests); returns its outcome, with its message in 'err'. */
int nmovs_op_finish(struct nmovs_op *op, char *err, size_t errlen);

/* Frees 'op'; one under way is abandoned where it is (a transaction in
 * flight may still commit).  NULL ok. */
void nmovs_op_destroy(struct nmovs_op *op);

/* Blocks the ports of VM 'vm' (nmovs_of_block() on each), or activates
 * them (nmovs_of_unblock()).  -ENOENT if the VM has no port here. */
int nmovs_block(struct nmovs_db *db, const char *vm, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;
int nmovs_activate(struct nmovs_db *db, const char *vm, char *err,
                   size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Activates the ports of the 'n' VMs in 'vms' together (a host
 * evacuation): one OpenFlow connection per bridge for all of them, not one
 * per VM.  -ENOENT (nothing changed) if one of them has no port here. */
int nmovs_activate_many(struct nmovs_db *db, const char *const *vms,
                        size_t n, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Activation on the VM's first announcement (activation.c) ---- */

struct nmovs_activation;

/* Arms activation of blocked OpenFlow port 'ofport' of bridge 'bridge'
 * ('rundir' as for nmovs_of_open()): flows above the block send the port's
 * RARP, ARP and IPv6 neighbour advertisements to this connection.  0 or a
 * negative errno. */
int nmovs_activation_create(const char *rundir, const char *bridge,
                            uint32_t ofport, struct nmovs_activation **actp)
    OVS_WARN_UNUSED_RESULT;

/* Handles what arrived: on the first announcement from the port, unblocks
 * it (nmovs_of_unblock(), which also deletes the trigger flows) and sends
 * the announcement on with in_port=PORT actions=NORMAL.  Returns 1 once
 * activated, 0 while waiting, or a negative errno.  For a poll loop, with
 * nmovs_activation_wait(). */
int nmovs_activation_run(struct nmovs_activation *act)
    OVS_WARN_UNUSED_RESULT;
void nmovs_activation_wait(struct nmovs_activation *act);

/* Closes the connection; a port not yet activated stays blocked.  NULL ok. */
void nmovs_activation_destroy(struct nmovs_activation *act);

/* Arms every interface of VM 'vm' and waits up to 'timeout_ms' until each
 * has announced itself and is activated.  -ENOENT if the VM has no port,
 * -ETIMEDOUT (ports still blocked) if one stayed silent. */
int nmovs_activate_on_announce(struct nmovs_db *db, const char *vm,
                               int timeout_ms, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Frames to and from netmoved: the drain's datapath (relay.c) ---- */

/* One OpenFlow connection to a bridge's management socket that lives in
 * netmoved's loop (libopenvswitch's rconn: nonblocking, reconnecting), with
 * packet-in enabled (a service connection gets none until miss_send_len is
 * set) and its own controller id, so that only it receives what its flows
 * send to the controller.
 *
 * A "catch" (key K, MAC M) is one flow above the block's
 * (NMOVS_RELAY_PRIORITY): unicast frames to M, from any port, go to this
 * connection instead of being forwarded.  The source catches what its
 * bridge would deliver to the paused VM; the destination holds the frames
 * that reach it directly until the relayed ones are delivered.  A "watch"
 * (key K, MAC M, port P) sends a copy of every frame from M that enters on a
 * port other than P to this connection and forwards it as usual (NORMAL):
 * the source sees the destination's announcement come back from the
 * fabric.  Flows carry cookie NMOVS_RELAY_COOKIE_BASE | K (a watch's also
 * NMOVS_RELAY_COOKIE_WATCH) and a hard_timeout (whole seconds from
 * installation): a failsafe, not the bound; the owner removes them on its own
 * timer.  A key may catch and watch several MACs (one per interface).
 *
 * The flows' controller actions carry controller id NMOVS_RELAY_CONTROLLER_ID,
 * which the connection takes as its own: other OpenFlow connections to the
 * bridge (activation, ovs-ofctl monitor) do not get these frames.  It speaks
 * OpenFlow 1.3 to 1.5 (a packet-in carries the flow's cookie).
 *
 * Nothing here waits: changes are queued on the connection, followed by a
 * barrier; nmovs_relay_synced() says when every change made so far is in the
 * switch, its datapath included.  Catches and watches made while
 * disconnected are installed on connection (with what is left of their
 * hard_timeout). */
#define NMOVS_RELAY_COOKIE_BASE 0x6e6d720000000000ULL   /* "nmr" */
#define NMOVS_RELAY_COOKIE_MASK 0xffffff0000000000ULL
#define NMOVS_RELAY_COOKIE_WATCH 0x0000000100000000ULL
#define NMOVS_RELAY_PRIORITY (NMOVS_BLOCK_PRIORITY + 100)
#define NMOVS_RELAY_CONTROLLER_ID 0x6e6d                /* "nm" */

struct nmovs_relay;

enum nmovs_relay_reason {
    NMOVS_RELAY_CAUGHT,         /* A frame to a caught MAC. */
    NMOVS_RELAY_WATCHED,        /* A frame from a watched MAC. */
};

/* A frame from the switch, valid during the callback only.  Frames of a key
 * just released may still come until nmovs_relay_synced() (the datapath sent
 * them to this connection before it had the release): its owner decides
 * what to do with them.  The callback may catch, watch, release and output,
 * but not close the relay. */
struct nmovs_relay_frame {
    uint32_t key;
    enum nmovs_relay_reason reason;
    uint32_t in_port;           /* OpenFlow port it entered on. */
    const void *data;           /* Ethernet frame as it entered (an 802.1Q
                                 * tag included if it came tagged). */
    size_t len;
};

typedef void nmovs_relay_cb(void *aux, const struct nmovs_relay_frame *);

/* Opens the relay connection to 'bridge' (its management socket in
 * 'rundir', NULL: OVS's run directory); 'cb' is called from
 * nmovs_relay_run() for every frame.  Connecting happens in the loop.
 * 0 or -errno (-EINVAL: a bad bridge name). */
int nmovs_relay_open(const char *rundir, const char *bridge,
                     nmovs_relay_cb *cb, void *aux,
                     struct nmovs_relay **relayp)
    OVS_WARN_UNUSED_RESULT;
/* Closes the connection; its flows stay in the switch until their
 * hard_timeout (release them first, or nmovs_relay_flush()).  NULL ok. */
void nmovs_relay_close(struct nmovs_relay *);

/* Connects, reconnects (and then installs again the catches and watches in
 * force), reads the switch's messages and calls the callback for each frame;
 * at most a bounded number per call, so that the loop never stalls. */
void nmovs_relay_run(struct nmovs_relay *);
void nmovs_relay_wait(struct nmovs_relay *);
bool nmovs_relay_connected(const struct nmovs_relay *);

/* Catches unicast frames to 'mac' under 'key' (1..0xffffffff), with a
 * failsafe of 'hard_timeout_s' seconds (0: none).  0 or -errno. */
int nmovs_relay_catch(struct nmovs_relay *, uint32_t key,
                      const struct eth_addr mac, unsigned int hard_timeout_s)
    OVS_WARN_UNUSED_RESULT;

/* Watches frames from 'mac' entering on any port but 'ofport', under
 * 'key'.  0 or -errno. */
int nmovs_relay_watch(struct nmovs_relay *, uint32_t key,
                      const struct eth_addr mac, uint32_t ofport,
                      unsigned int hard_timeout_s)
    OVS_WARN_UNUSED_RESULT;

/* Removes every flow of 'key' (its catch and its watch).  0 or -errno. */
int nmovs_relay_release(struct nmovs_relay *, uint32_t key)
    OVS_WARN_UNUSED_RESULT;

/* Sends 'len' bytes of frame 'data' out of OpenFlow port 'ofport' (packet-out,
 * actions=output:PORT: not through the flow table, so not caught again).
 * Frames are sent in the order of the calls, and a release that follows
 * them on the connection takes effect after them.  -EAGAIN while the
 * connection's backlog is full (the caller keeps the frame and tries again
 * after nmovs_relay_run()), -ENOTCONN while not connected. */
int nmovs_relay_output(struct nmovs_relay *, uint32_t ofport,
                       const void *data, size_t len)
    OVS_WARN_UNUSED_RESULT;

/* Forwards frame 'data' as the bridge would have without any catch: NORMAL,
 * as if it had entered on 'in_port' (a frame a released catch still sent
 * while the datapath's cached flows caught up).  As nmovs_relay_output()
 * for the order and the errors. */
int nmovs_relay_forward(struct nmovs_relay *, uint32_t in_port,
                        const void *data, size_t len)
    OVS_WARN_UNUSED_RESULT;

/* True once the switch has answered a barrier sent after every change
 * (catch, watch, release) made so far, and its datapath no longer forwards
 * by flows it cached before (ovs-vswitchd's revalidators have been through
 * them: ovs-appctl revalidator/wait).  The barrier alone does not say that:
 * a catch answered by the barrier still let about 4 ms of frames to its MAC
 * through.  About 20 ms after a change on an idle switch. */
bool nmovs_relay_synced(const struct nmovs_relay *);

/* Removes every relay flow of 'bridge' (cookie NMOVS_RELAY_COOKIE_BASE
 * under its mask): what a netmoved that died left behind, at start.
 * Blocking, bounded by NMOVS_OF_TIMEOUT_MS. */
int nmovs_relay_flush(const char *rundir, const char *bridge)
    OVS_WARN_UNUSED_RESULT;

/* The VLAN that frame 'frame' (as it entered, 802.1Q tag included) belongs
 * to on bridge 'bridge', having entered on OpenFlow port 'ofport', by the
 * port's VLAN configuration in the replica as NORMAL applies it: an access
 * port's tag for an untagged frame, a trunk's VID for a tagged one, 0 for
 * the untagged network; -1 if OVS would drop it there (a tagged frame on an
 * access port, a VID outside the trunks) or the port is not known.  The
 * drain's catch and hold match a MAC on every VLAN: only frames of the VM's
 * own VLAN are its. */
int nmovs_frame_vlan(struct nmovs_db *, const char *bridge, uint32_t ofport,
                     const void *frame, size_t len);

/* How an untagged frame that enters bridge 'bridge' on OpenFlow port
 * 'in_ofport' (a VM's access or trunk port) leaves port (interface)
 * 'uplink' when NORMAL outputs it there, from the replica: stores the
 * uplink's OpenFlow port in '*uplink_ofport' and returns the VID of the
 * 802.1Q tag the frame carries there (0: untagged), as OVS's output_normal()
 * decides it by the uplink's vlan_mode, tag and trunks.  -ENOENT if either
 * port is not known (or has no OpenFlow port yet), -ENETUNREACH if NORMAL
 * would not output the frame's VLAN there, -EOPNOTSUPP for a dot1q-tunnel
 * uplink. */
int nmovs_uplink_vlan(struct nmovs_db *, const char *bridge,
                      uint32_t in_ofport, const char *uplink,
                      uint32_t *uplink_ofport);

/* ---- The hybrid layout's Linux bridge (hybrid.c) ---- */

/* If OVS port interface 'iface' is one end of a veth pair whose other end is
 * a port of a Linux bridge (OpenStack's qbr, in front of the VM's tap),
 * removes what that bridge learned of 'mac' on that end: a MAC flooded into
 * the VM's port from OVS (a destination's announcement) teaches the bridge
 * that the VM is on OVS's side, and the VM, running here again after a
 * failed migration, receives nothing until it sends a frame.  Returns 1 if
 * an entry went, 0 if there was none or this is not the hybrid layout, or a
 * negative errno with 'err'. */
int nmovs_hybrid_forget(const char *iface, const struct eth_addr mac,
                        char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- MAC learning (fdb.c) ---- */

/* Flushes bridge 'bridge''s MAC learning table through ovs-vswitchd's
 * unixctl socket in 'rundir' (ovs-appctl fdb/flush BRIDGE).  0 or -errno. */
int nmovs_fdb_flush(const char *rundir, const char *bridge, char *err,
                    size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Flushes the learning table of 'bridge', or (if NULL) of every bridge that
 * holds a port of VM 'vm', so that none keeps forwarding the VM's MACs to a
 * stale port.  -ENOENT if 'bridge' is NULL and the VM has no port here. */
int nmovs_forget(struct nmovs_db *db, const char *vm, const char *bridge,
                 char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Read-only questions, for verify (query.c) ---- */

/* Whether OpenFlow port 'ofport' of 'of''s bridge is still blocked: stores
 * the number of flows with its netmove cookie (nmovs_block_cookie()) in
 * '*n_flows' and its no_forward config in '*no_forward'.  0, -ENOENT if the
 * bridge has no such port, or another negative errno. */
int nmovs_of_port_blocked(struct nmovs_of *of, uint32_t ofport,
                          size_t *n_flows, bool *no_forward)
    OVS_WARN_UNUSED_RESULT;

/* One MAC learning entry, as ovs-appctl fdb/show prints it. */
struct nmovs_fdb_entry {
    char port[16];              /* Port name (or fdb/show's text for it). */
    uint32_t ofport;            /* 0 for a reserved port such as LOCAL. */
    int vlan;
    struct eth_addr mac;
    int age;                    /* Seconds; -1 if static. */
    bool is_static;
};

/* Where bridge 'bridge' has learned the 'n_macs' MACs in 'macs' (every MAC
 * if 'n_macs' is 0): fdb/show through ovs-vswitchd's unixctl socket in
 * 'rundir', port numbers resolved to names over OpenFlow.  Stores a
 * malloc'd array in '*entriesp' and its length in '*np'.  0 or a negative
 * errno with a message in 'err'. */
int nmovs_fdb_show(const char *rundir, const char *bridge,
                   const struct eth_addr *macs, size_t n_macs,
                   struct nmovs_fdb_entry **entriesp, size_t *np,
                   char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

#endif /* ovs/ovs.h */
