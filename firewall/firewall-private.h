/* firewall: declarations shared by the module's files, not public. */
#ifndef FIREWALL_PRIVATE_H
#define FIREWALL_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/list.h"

#include "firewall/firewall.h"

struct json;
struct mnl_socket;
struct nlmsghdr;
struct nftnl_expr;
struct nftnl_rule;
struct nftnl_set;
struct nftnl_set_elem;

/* ---- the in-memory ruleset (ruleset.c) ---- */

struct fw_chain {
    struct ovs_list node;
    struct nftnl_chain *c;
    bool whole;             /* The VM's chain: created with its rules. */
};

struct fw_set {
    struct ovs_list node;
    struct nftnl_set *s;    /* With its elements. */
};

struct fw_rule {
    struct ovs_list node;
    struct nftnl_rule *r;
};

struct fw_table {
    struct ovs_list node;
    struct nftnl_table *t;
    bool whole;             /* The VM's table: moved entirely. */
    struct ovs_list chains; /* struct fw_chain, in dump order. */
    struct ovs_list sets;   /* struct fw_set. */
    struct ovs_list rules;  /* struct fw_rule, in chain order. */
};

struct fw_ruleset {
    char *vm;
    struct ovs_list tables; /* struct fw_table. */
};

struct fw_table *fw_ruleset_find_table(const struct fw_ruleset *,
                                       uint32_t family, const char *name);
struct fw_chain *fw_table_find_chain(const struct fw_table *,
                                     const char *name);
struct fw_set *fw_table_find_set(const struct fw_table *, const char *name);

/* ---- names, hex, tags (util.c) ---- */

const char *fw_family_name(uint32_t family);
int fw_family_from_name(const char *name, uint32_t *family);

/* Returns a malloc'd lowercase hex string of 'len' bytes of 'data'. */
char *fw_hex_encode(const void *data, size_t len);
/* Decodes hex 'text' into 'buf' (at most 'max' bytes); -EINVAL if it is
 * not hex or too long. */
int fw_hex_decode(const char *text, uint8_t *buf, size_t max, size_t *len);

/* Returns the malloc'd tag "netmove:vm=<vm>". */
char *fw_tag(const char *vm);
/* True if userdata 'ud' ('len' bytes, nftables' udata TLVs) holds a comment
 * (TLV type 'comment_type') equal to 'tag'. */
bool fw_udata_has_comment(const void *ud, uint32_t len, uint8_t comment_type,
                          const char *tag);

/* True if the set is anonymous (bound to one rule). */
bool fw_set_is_anonymous(const struct nftnl_set *);

/* ---- document helpers (doc.c): each names the field on error ---- */

/* 'path' is the dotted location of 'obj' in the document, for messages. */
const struct json *doc_member(const struct json *obj, const char *name);
int doc_get_uint(const struct json *obj, const char *name, bool required,
                 uint64_t max, uint64_t *out, const char *path,
                 char *err, size_t errlen);
int doc_get_int(const struct json *obj, const char *name, bool required,
                int64_t min, int64_t max, int64_t *out, const char *path,
                char *err, size_t errlen);
int doc_get_string(const struct json *obj, const char *name, bool required,
                   size_t maxlen, const char **out, const char *path,
                   char *err, size_t errlen);
int doc_get_bool(const struct json *obj, const char *name, bool required,
                 bool *out, const char *path, char *err, size_t errlen);
/* '*out' is NULL if absent and not required. */
int doc_get_array(const struct json *obj, const char *name, bool required,
                  const struct json **out, const char *path,
                  char *err, size_t errlen);
int doc_get_hex(const struct json *obj, const char *name, bool required,
                uint8_t *buf, size_t max, size_t *len, const char *path,
                char *err, size_t errlen);
int doc_check_header(const struct json *doc, const char *format,
                     int64_t version, char *err, size_t errlen);
/* Formats a document path (truncated to 'size'). */
void doc_path(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Puts "name": hex of 'len' bytes of 'data' (nothing if 'data' is NULL),
 * or "name": 'v', into object 'obj'. */
void doc_put_hex(struct json *obj, const char *name, const void *data,
                 uint32_t len);
void doc_put_int(struct json *obj, const char *name, long long v);
/* Writes 'fmt' to 'err' and returns -EINVAL. */
int doc_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- expressions as documents (expr_doc.c) ---- */

struct json *fw_expr_to_json(const struct nftnl_expr *);
/* Exprs lists ("exprs": [...]) of sets and elements. */
struct json *fw_exprs_to_json_set(const struct nftnl_set *);
struct json *fw_exprs_to_json_elem(struct nftnl_set_elem *);
int fw_exprs_from_json(const struct json *exprs, const char *path,
                       void (*add)(void *owner, struct nftnl_expr *),
                       void *owner, char *err, size_t errlen);

/* ---- the attributes each expression kind may have (expr_attrs.c) ---- */

/* True if libnftnl expression kind 'kind' is one this code knows the
 * attributes of. */
bool fw_expr_kind_known(const char *kind);
/* The name of attribute 'type' of 'kind' ("?" if it has none), for
 * messages. */
const char *fw_expr_attr_name(const char *kind, uint16_t type);
/* Checks attribute 'type' of 'kind' with value 'value' ('len' bytes, zero
 * padded beyond) alone: the kind has it, and the value is of its class (a
 * name NUL-terminated, a data register 1 to 64 bytes).  Returns 0 or
 * -EINVAL naming 'path' in 'err'. */
int fw_expr_attr_check(const char *kind, uint16_t type, const void *value,
                       size_t len, const char *path, char *err,
                       size_t errlen);
/* Checks that the attributes whose bits are in 'set' go together in an
 * expression of 'kind' (immediate: a value or a verdict, a chain exactly
 * with a jump or goto; 'verdict' is its VERDICT value or NULL).  Returns 0
 * or -EINVAL naming 'path' and the attributes in 'err'. */
int fw_expr_attrs_check(const char *kind, uint32_t set, const void *verdict,
                        const char *path, char *err, size_t errlen);
/* nftnl_expr_set(), except that bytes libnftnl keeps the pointer of
 * (match and target info) are given as a copy it may free.  Returns 0 or
 * -EINVAL. */
int fw_expr_attr_set(struct nftnl_expr *e, const char *kind, uint16_t type,
                     const void *value, uint32_t len);

/* ---- copies of expressions and rules (expr_edit.c) ---- */

/* True if attribute 'type' of expressions of 'kind' holds expressions
 * (dynset's), not bytes. */
bool fw_expr_attr_is_nested(const char *kind, uint16_t type);
/* Returns a copy of 'e' without the attributes whose bits are in 'skip'. */
struct nftnl_expr *fw_expr_copy(const struct nftnl_expr *e, uint32_t skip);
/* Returns a copy of rule 'r' (without its position) whose expressions are
 * what 'edit' returns for each (NULL: a plain copy). */
struct nftnl_rule *fw_rule_copy(const struct nftnl_rule *r,
                                struct nftnl_expr *(*edit)(
                                    const struct nftnl_expr *, void *aux),
                                void *aux);

/* ---- sets and maps as documents (set_doc.c) ---- */

struct json *fw_set_to_json(struct nftnl_set *);
int fw_set_from_json(const struct json *, const char *path, uint32_t family,
                     const char *table, struct nftnl_set **, char *err,
                     size_t errlen);

/* ---- netlink (nl.c) ---- */

/* Opens and binds a netlink socket of 'bus' with extended acks on. */
int nl_open(int bus, struct mnl_socket **nlp);
/* Sends dump request 'req' on 'nl' and runs 'cb' on every reply until
 * NLMSG_DONE.  Returns 0 or -errno (-EINTR: the dump was interrupted by a
 * change and must be retried). */
int nl_dump(struct mnl_socket *nl, struct nlmsghdr *req,
            int (*cb)(const struct nlmsghdr *, void *), void *data);
/* Reads the nf_tables generation id. */
int nft_get_genid(struct mnl_socket *nl, uint32_t *genid);
/* Describes netlink error message 'nlh' (error code and extended ack
 * message, if any) into 'buf'; returns the (negative) error code. */
int nl_error_describe(const struct nlmsghdr *nlh, char *buf, size_t len);
/* Grows the socket's send and receive buffers to at least 'bytes'. */
void nl_set_buffers(struct mnl_socket *nl, size_t bytes);

/* ---- kernel dump of nf_tables objects (nft_dump.c) ---- */

struct fw_dump {
    size_t n_tables, n_chains, n_sets, n_rules;
    struct nftnl_table **tables;
    struct nftnl_chain **chains;
    struct nftnl_set **sets;
    struct nftnl_rule **rules;
};

void fw_dump_init(struct fw_dump *);
void fw_dump_free(struct fw_dump *);
/* Dumps tables, chains, sets and rules (no elements) of every family. */
int fw_dump_load(struct mnl_socket *nl, struct fw_dump *, char *err,
                 size_t errlen);
/* Dumps the elements of 's' into it. */
int fw_dump_set_elements(struct mnl_socket *nl, struct nftnl_set *s);

/* Moves the objects of 'vm' out of 'dump' into a new ruleset (select.c).
 * Handles are kept if 'keep_handles' (to delete them), else unset. */
struct fw_ruleset *fw_select(struct fw_dump *dump, const char *vm,
                             bool keep_handles);

/* Moves the objects of each of the 'n' VMs 'vms' out of 'dump' into a new
 * ruleset each, '*rss[i]' for 'vms[i]', in one pass over the dump
 * (select.c).  A host table or chain that holds objects of several VMs
 * goes to the first and is copied for the others.  A name given twice
 * gets an empty ruleset the second time.  Handles as fw_select(). */
void fw_select_many(struct fw_dump *dump, const char *const *vms, size_t n,
                    bool keep_handles, struct fw_ruleset **rss);

/* Calls 'cb' with the name of every set that rule 'r' references (lookup,
 * dynset, objref) (select.c). */
void fw_rule_for_each_set_ref(const struct nftnl_rule *r,
                              void (*cb)(const char *set, void *aux),
                              void *aux);

/* ---- what an import for one VM may touch (scope.c) ---- */

/* The destination as an import plans against it: the host's objects left
 * in 'dump' once the VM's own ('old', selected out of it with their
 * handles) are taken out. */
struct fw_dest {
    const struct fw_dump *dump;
    const struct fw_ruleset *old;
};

/* True if table 'family' 'name' exists on the destination and is not the
 * VM's ('*foreign': it holds nothing of the VM). */
bool fw_dest_has_table(const struct fw_dest *, uint32_t family,
                       const char *name, bool *foreign);
/* True if chain 'name' of table 'family' 'table' exists on the destination
 * and is not the VM's. */
bool fw_dest_has_chain(const struct fw_dest *, uint32_t family,
                       const char *table, const char *name);

/* Checks that importing 'rs' for 'vm' onto 'dest' touches only 'vm': the
 * document is 'vm''s; every table it moves whole, every chain it creates,
 * every named set and every rule outside those chains is tagged
 * "netmove:vm=<vm>"; every anonymous set is used by one of its rules; every
 * host table and host chain it names as a container already exists on
 * 'dest'.  Returns 0, or -EINVAL naming the first object that is not in
 * scope in 'err'. */
int fw_scope_check(const struct fw_ruleset *rs, const char *vm,
                   const struct fw_dest *dest, char *err, size_t errlen);

/* ---- batches (batch.c) ---- */

struct fw_batch;
struct fw_batch *fw_batch_create(uint32_t genid);
void fw_batch_destroy(struct fw_batch *);
/* Returns room for the next message (at least 64 KiB); after building it,
 * call fw_batch_commit() with a description used in error messages. */
char *fw_batch_buffer(struct fw_batch *);
void fw_batch_commit(struct fw_batch *, const char *what_fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint32_t fw_batch_seq(const struct fw_batch *);
size_t fw_batch_n_msgs(const struct fw_batch *);
/* Ends and sends the batch on 'nl'.  Returns 0, -ERESTART if the generation
 * moved since 'genid' (rebuild and retry), -EINVAL if the kernel rejected it
 * (reason in 'err'), or another -errno. */
int fw_batch_send(struct fw_batch *, struct mnl_socket *nl,
                  char *err, size_t errlen);

/* ---- conntrack (ct.c, ct_doc.c) ---- */

struct ct_entry {
    struct nf_conntrack *ct;
    bool gone;              /* In a delta: to delete. */
};

struct ct_table {
    struct ct_entry *entries;
    size_t n, allocated;
    size_t n_gone;
    bool delta;             /* Made by ct_table_delta() (or read as one). */
};

/* Returns entry 'ct' as a document row ('key_only': its identity alone;
 * without the timeout unless 'timeout'). */
struct json *ct_entry_to_json(const struct nf_conntrack *, bool key_only,
                              bool timeout);
/* Appends a "gone" entry (a copy of 'ct''s tuples and zone). */
void ct_table_add_gone(struct ct_table *, struct nf_conntrack *ct);
/* True if the two entries agree on everything carried (timeouts aside unless
 * 'timeouts'); describes the difference in 'why'. */
bool ct_entry_equal(const struct nf_conntrack *, const struct nf_conntrack *,
                    bool timeouts, char *why, size_t whylen);

/* ---- conntrack dumps (ct_dump.c) ---- */

struct mnl_socket;
struct nlmsghdr;

/* Puts a ctnetlink header of message 'type' in 'buf'. */
struct nlmsghdr *ct_put_header(char *buf, uint8_t type, uint16_t flags,
                               uint8_t family, uint32_t seq);

/* What a ctnetlink entry message says of the entry's addresses, read with
 * mnl_attr_parse*() alone (no nf_conntrack): 'addrs' points into the
 * message (orig src, orig dst, reply src, reply dst; NULL if absent). */
struct ct_peek {
    int family;
    const uint8_t *addrs[4];
    uint16_t zone;
};
int ct_peek(const struct nlmsghdr *nlh, struct ct_peek *peek);

/* An index of filters by address (a hash): which of 'n' filters an entry
 * matches in time proportional to its four addresses, not to 'n'. */
struct ct_filter_index;
struct ct_filter_index *ct_filter_index_create(void);
void ct_filter_index_destroy(struct ct_filter_index *);
/* Adds 'filter' under 'id' (the index keeps the pointer). */
void ct_filter_index_add(struct ct_filter_index *, const struct ct_filter *,
                         size_t id);
void ct_filter_index_remove(struct ct_filter_index *, size_t id);
/* Stores in 'ids' (room for 'max') the ids of the filters 'peek' matches,
 * each once; returns how many (at most 'max'). */
size_t ct_filter_index_match(const struct ct_filter_index *,
                             const struct ct_peek *peek, size_t *ids,
                             size_t max);

/* Dumps the entries matching 'filter' on 'nl' into '*tabp' (conntrack -L,
 * filtered before any entry is parsed). */
int ct_dump_matching(struct mnl_socket *nl, const struct ct_filter *filter,
                     struct ct_table **tabp, char *err, size_t errlen);

/* Asks the kernel for the current state of each of the 'n' entries 'cts'
 * (IPCTNL_MSG_CT_GET by original tuple and zone, many requests per
 * sendto()) on 'nl'.  'found[i]' receives the entry (the caller frees it)
 * or NULL if the kernel has none (ENOENT). */
int ct_get_many(struct mnl_socket *nl, const struct nf_conntrack **cts,
                size_t n, struct nf_conntrack **found);

/* The string that identifies an entry: family, protocol, original tuple,
 * zone (ct_delta.c).  Malloc'd. */
char *ct_entry_key(const struct nf_conntrack *ct);

/* ---- conntrack events (ct_events.c) ---- */

/* How a listener reads the kernel's state for a delta: by default through
 * its request socket; a unit test passes fakes. */
struct ct_events_ops {
    /* ct_get_many(). */
    int (*get)(void *aux, const struct nf_conntrack **cts, size_t n,
               struct nf_conntrack **found);
    /* ct_dump_matching(). */
    int (*dump)(void *aux, const struct ct_filter *filter,
                struct ct_table **tabp, char *err, size_t errlen);
};

/* A listener without sockets, for tests: events come from
 * ct_events_feed(), overruns from ct_events_overrun(). */
struct ct_events *ct_events_create(const struct ct_events_ops *ops,
                                   void *aux);
/* Handles the 'len' bytes of event messages at 'buf' as if read. */
void ct_events_feed(struct ct_events *ev, const void *buf, size_t len);
/* Handles an ENOBUFS: every watch's next delta is a dump. */
void ct_events_overrun(struct ct_events *ev);

/* ---- For tests: only the module and its tests call these ---- */

/* Returns true if conntrack entry 'ct' matches 'filter'. */
bool ct_filter_match(const struct ct_filter *filter,
                     const struct nf_conntrack *ct);

/* Returns true if 'a' and 'b' hold the same entries in the same order
 * (timeouts compared only if 'timeouts'); describes the first difference
 * in 'why'. */
bool ct_table_equal(const struct ct_table *a, const struct ct_table *b,
                    bool timeouts, char *why, size_t whylen);

/* Returns true if 'a' and 'b' hold the same objects in the same order, each
 * building byte-identical netlink messages (handles aside): what a document
 * round trip must keep. */
bool fw_ruleset_identical(const struct fw_ruleset *a,
                          const struct fw_ruleset *b,
                          char *why, size_t whylen);


#endif /* firewall/firewall-private.h */
