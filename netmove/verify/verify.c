/* netmove verify: the judgements (verify.h).  Pure: JSON and addresses
 * in, PASS or FAIL with a reason out; cli_verify.c gathers the inputs. */
#include "netmove/verify/verify.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dp-packet.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

#include "garp/garp.h"
#include "netmove/common/config.h"
#include "ovs/ovs.h"
#include "netmove/common/json.h"
#include "netmove/verify/verify-private.h"

static const char *const check_names[NM_N_CHECKS] = {
    "port", "source", "firewall", "conntrack", "announce", "owner",
    "stale-learning", "ping",
};

const char *
nm_check_name(enum nm_check_id id)
{
    return id < NM_N_CHECKS ? check_names[id] : "?";
}

void
nm_verify_init(struct nm_verify *v, const char *vm)
{
    memset(v, 0, sizeof *v);
    v->vm = xstrdup(vm);
}

void
nm_verify_destroy(struct nm_verify *v)
{
    for (int i = 0; i < NM_N_CHECKS; i++) {
        free(v->checks[i].why);
    }
    free(v->drain);
    free(v->vm);
}

static void set_check(struct nm_verify *, enum nm_check_id, bool pass,
                      bool na, const char *fmt, va_list)
    OVS_PRINTF_FORMAT(5, 0);

static void
set_check(struct nm_verify *v, enum nm_check_id id, bool pass, bool na,
          const char *fmt, va_list args)
{
    struct nm_check *c = &v->checks[id];

    free(c->why);
    c->why = xvasprintf(fmt, args);
    c->run = true;
    c->pass = pass;
    c->na = na;
}

void
nm_verify_set(struct nm_verify *v, enum nm_check_id id, bool pass,
              const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    set_check(v, id, pass, false, fmt, args);
    va_end(args);
}

void
nm_verify_set_na(struct nm_verify *v, enum nm_check_id id,
                 const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    set_check(v, id, false, true, fmt, args);
    va_end(args);
}

void
nm_verify_set_drain(struct nm_verify *v, const struct json *migration)
{
    static const char *const names[] = {
        "relayed_received", "delivered_frames", "delivered_bytes",
        "held_direct", "late", "dropped_deadline", "dropped_bound",
        "dropped_scope", "dropped_abort", "dropped_output", "dup_refused",
    };
    const struct json *d = nm_json_member(migration, "drain");
    struct ds s = DS_EMPTY_INITIALIZER;

    free(v->drain);
    v->drain = NULL;
    if (!d || d->type != JSON_OBJECT) {
        return;
    }
    const char *phase = nm_json_member_string(d, "phase");
    ds_put_format(&s, "%s", phase ? phase : "?");
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const struct json *n = nm_json_member(d, names[i]);
        if (n && n->type == JSON_INTEGER) {
            ds_put_format(&s, " %s=%lld", names[i],
                          (long long int) json_integer(n));
        }
    }
    v->drain = ds_steal_cstr(&s);
}

bool
nm_verify_passed(const struct nm_verify *v)
{
    bool any = false;

    for (int i = 0; i < NM_N_CHECKS; i++) {
        if (v->checks[i].run && !v->checks[i].na) {
            any = true;
            if (!v->checks[i].pass) {
                return false;
            }
        }
    }
    return any;
}

void
nm_verify_print(const struct nm_verify *v, FILE *f)
{
    for (int i = 0; i < NM_N_CHECKS; i++) {
        const struct nm_check *c = &v->checks[i];
        if (c->run) {
            fprintf(f, "%-4s  %-15s %s\n",
                    c->na ? "N/A" : c->pass ? "PASS" : "FAIL",
                    check_names[i], c->why ? c->why : "");
        }
    }
    if (v->drain) {
        fprintf(f, "%-4s  %-15s %s\n", "INFO", "drain", v->drain);
    }
}

struct json *
nm_verify_to_json(const struct nm_verify *v)
{
    struct json *j = json_object_create();
    struct json *list = json_array_create_empty();

    for (int i = 0; i < NM_N_CHECKS; i++) {
        const struct nm_check *c = &v->checks[i];
        if (c->run) {
            struct json *o = json_object_create();
            json_object_put_string(o, "check", check_names[i]);
            json_object_put(o, "pass", c->na ? json_null_create()
                                             : json_boolean_create(c->pass));
            json_object_put_string(o, "why", c->why ? c->why : "");
            json_array_add(list, o);
        }
    }
    json_object_put_string(j, "vm", v->vm);
    json_object_put(j, "pass", json_boolean_create(nm_verify_passed(v)));
    json_object_put(j, "checks", list);
    if (v->drain) {
        json_object_put_string(j, "drain", v->drain);
    }
    return j;
}

/* ---- helpers over JSON ---- */

static size_t
array_n(const struct json *a)
{
    return a && a->type == JSON_ARRAY ? json_array(a)->n : 0;
}

static const struct json *
array_at(const struct json *a, size_t i)
{
    return json_array(a)->elems[i];
}

static long long
member_int(const struct json *o, const char *name, long long dflt)
{
    const struct json *m = nm_json_member(o, name);
    return m && m->type == JSON_INTEGER ? json_integer(m) : dflt;
}

/* ---- port ---- */

int
nm_verify_doc_tag(const struct json *doc)
{
    const struct json *ports = nm_json_member(doc, "ports");
    return array_n(ports) ? member_int(array_at(ports, 0), "tag", -1) : -1;
}

int
nm_verify_expected_tag(const struct nm_config *cfg, int tag,
                       const char *src_site)
{
    return tag < 0 || !src_site ? tag
           : nm_config_translate_vlan(cfg, tag, src_site, cfg->site);
}

static const struct json *
find_named(const struct json *list, const char *name)
{
    for (size_t i = 0; name && i < array_n(list); i++) {
        const char *n = nm_json_member_string(array_at(list, i), "name");
        if (n && !strcmp(n, name)) {
            return array_at(list, i);
        }
    }
    return NULL;
}

/* The interfaces of exported port 'xp' against port 'hp' here. */
static bool
check_ifaces(const struct json *xp, const struct json *hp, char *why,
             size_t whylen)
{
    static const char *const keys[] = { "iface-id", "attached-mac", "vm-id" };
    const struct json *xifs = nm_json_member(xp, "interfaces");

    for (size_t i = 0; i < array_n(xifs); i++) {
        const struct json *xi = array_at(xifs, i);
        const char *name = nm_json_member_string(xi, "name");
        const struct json *hi = find_named(nm_json_member(hp, "interfaces"), name);
        if (!hi) {
            snprintf(why, whylen, "interface %s: missing here",
                     name ? name : "?");
            return false;
        }
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            const char *want = nm_json_member_string(nm_json_member(xi, "external_ids"),
                                             keys[k]);
            const char *have = nm_json_member_string(nm_json_member(hi, "external_ids"),
                                             keys[k]);
            if (want && (!have || strcmp(want, have))) {
                snprintf(why, whylen, "interface %s: external_ids:%s is "
                         "%s%s%s, expected '%s'", name, keys[k],
                         have ? "'" : "", have ? have : "unset",
                         have ? "'" : "", want);
                return false;
            }
        }
    }
    return true;
}

bool
nm_verify_port_doc(const struct json *exported, const struct json *here,
                   int expected_tag, char *why, size_t whylen)
{
    const struct json *xports = nm_json_member(exported, "ports");
    size_t n = array_n(xports);

    if (!n) {
        snprintf(why, whylen, "the export holds no port");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct json *xp = array_at(xports, i);
        const char *name = nm_json_member_string(xp, "name");
        const struct json *hp = find_named(nm_json_member(here, "ports"), name);
        if (!hp) {
            snprintf(why, whylen, "port %s: missing here", name ? name : "?");
            return false;
        }
        int tag = member_int(hp, "tag", -1);
        if (tag != expected_tag) {
            char want[16], have[16];
            snprintf(want, sizeof want, "%d", expected_tag);
            snprintf(have, sizeof have, "%d", tag);
            snprintf(why, whylen, "port %s: VLAN tag %s, expected %s (this "
                     "site's VLAN for the exported tag)", name,
                     tag < 0 ? "none" : have,
                     expected_tag < 0 ? "none" : want);
            return false;
        }
        if (!check_ifaces(xp, hp, why, whylen)) {
            return false;
        }
    }
    if (expected_tag < 0) {
        snprintf(why, whylen, "%zu port(s) with the exported external_ids, "
                 "untagged", n);
    } else {
        snprintf(why, whylen, "%zu port(s) with the exported external_ids "
                 "and VLAN %d", n, expected_tag);
    }
    return true;
}

/* ---- source ---- */

bool
nm_verify_source_reply(const struct json *reply, char *why, size_t whylen)
{
    static const char *const keys[] = { "ports", "fw_objects", "ct_entries" };
    long long v[3];

    for (size_t i = 0; i < 3; i++) {
        v[i] = member_int(reply, keys[i], -1);
        if (v[i] < 0) {
            snprintf(why, whylen, "the source's answer has no %s", keys[i]);
            return false;
        }
    }
    snprintf(why, whylen, "%lld port(s), %lld firewall object(s), %lld "
             "conntrack entries left there", v[0], v[1], v[2]);
    return !v[0] && !v[1] && !v[2];
}

/* ---- conntrack ---- */

/* The columns that identify an entry (firewall/ct_doc.c's key). */
static const char *const ct_key_cols[] = {
    "family", "proto", "src", "dst", "sport", "dport", "zone",
    "icmp_type", "icmp_code", "icmp_id",
};
#define N_CT_KEY ARRAY_SIZE(ct_key_cols)

/* One row's key values and timeout, from a document's column map. */
struct ct_row {
    const struct json *key[N_CT_KEY];
    long long timeout;          /* -1: not documented. */
};

/* 'idx'[k] = position of key column k in 'doc''s "columns" (-1: absent);
 * '*t_idx' that of "timeout".  False if 'doc' has no column list. */
static bool
ct_columns(const struct json *doc, int idx[N_CT_KEY], int *t_idx)
{
    const struct json *cols = nm_json_member(doc, "columns");

    if (!cols || cols->type != JSON_ARRAY) {
        return false;
    }
    *t_idx = -1;
    for (size_t k = 0; k < N_CT_KEY; k++) {
        idx[k] = -1;
    }
    for (size_t i = 0; i < array_n(cols); i++) {
        const struct json *c = array_at(cols, i);
        if (c->type != JSON_STRING) {
            continue;
        }
        for (size_t k = 0; k < N_CT_KEY; k++) {
            if (!strcmp(json_string(c), ct_key_cols[k])) {
                idx[k] = i;
            }
        }
        if (!strcmp(json_string(c), "timeout")) {
            *t_idx = i;
        }
    }
    return true;
}

static const struct json *
row_at(const struct json *row, int i)
{
    const struct json *v = i >= 0 && (size_t) i < array_n(row)
                           ? array_at(row, i) : NULL;
    return v && v->type != JSON_NULL ? v : NULL;
}

/* The rows of 'doc''s 'section' ("entries" or "gone"). */
static size_t
ct_rows(const struct json *doc, const char *section, struct ct_row **rowsp)
{
    const struct json *rows = nm_json_member(doc, section);
    int idx[N_CT_KEY], t_idx;
    size_t n = 0;

    *rowsp = NULL;
    if (!ct_columns(doc, idx, &t_idx)) {
        return 0;
    }
    *rowsp = xcalloc(array_n(rows) + 1, sizeof **rowsp);
    for (size_t i = 0; i < array_n(rows); i++) {
        const struct json *r = array_at(rows, i);
        struct ct_row *out = &(*rowsp)[n++];
        for (size_t k = 0; k < N_CT_KEY; k++) {
            out->key[k] = row_at(r, idx[k]);
        }
        const struct json *t = row_at(r, t_idx);
        out->timeout = t && t->type == JSON_INTEGER ? json_integer(t) : -1;
    }
    return n;
}

static bool
ct_same_key(const struct ct_row *a, const struct ct_row *b)
{
    for (size_t k = 0; k < N_CT_KEY; k++) {
        if (!a->key[k] != !b->key[k]
            || (a->key[k] && !json_equal(a->key[k], b->key[k]))) {
            return false;
        }
    }
    return true;
}

static bool
ct_contains(const struct ct_row *rows, size_t n, const struct ct_row *r)
{
    for (size_t i = 0; i < n; i++) {
        if (ct_same_key(&rows[i], r)) {
            return true;
        }
    }
    return false;
}

/* "tcp 198.18.0.1:40000 -> 198.18.1.1:5001" */
static void
ct_row_format(const struct ct_row *r, struct ds *s)
{
    long long proto = r->key[1] && r->key[1]->type == JSON_INTEGER
                      ? json_integer(r->key[1]) : -1;
    const char *pname = proto == 6 ? "tcp" : proto == 17 ? "udp"
                        : proto == 1 ? "icmp" : proto == 58 ? "icmpv6" : NULL;

    if (pname) {
        ds_put_cstr(s, pname);
    } else {
        ds_put_format(s, "proto %lld", proto);
    }
    for (int side = 0; side < 2; side++) {
        const struct json *a = r->key[2 + side], *p = r->key[4 + side];
        ds_put_cstr(s, side ? " -> " : " ");
        ds_put_cstr(s, a && a->type == JSON_STRING ? json_string(a) : "?");
        if (p && p->type == JSON_INTEGER) {
            ds_put_format(s, ":%lld", (long long) json_integer(p));
        }
    }
    if (r->key[6] && r->key[6]->type == JSON_INTEGER
        && json_integer(r->key[6])) {
        ds_put_format(s, " zone %lld", (long long) json_integer(r->key[6]));
    }
}

bool
nm_verify_ct_docs(const struct json *precopy, const struct json *delta,
                  const struct json *here, uint64_t ref_wall_us,
                  uint64_t now_wall_us, size_t *n_expected,
                  char *why, size_t whylen)
{
    struct ct_row *pre, *add, *gone, *have;
    size_t n_pre = ct_rows(precopy, "entries", &pre);
    size_t n_add = ct_rows(delta, "entries", &add);
    size_t n_gone = ct_rows(delta, "gone", &gone);
    size_t n_have = ct_rows(here, "entries", &have);
    size_t n_missing = 0, n_exp = 0, n_expired = 0;
    struct ds missing = DS_EMPTY_INITIALIZER;

    for (size_t pass = 0; pass < 2; pass++) {
        const struct ct_row *rows = pass ? add : pre;
        for (size_t i = 0; i < (pass ? n_add : n_pre); i++) {
            const struct ct_row *r = &rows[i];
            if (!pass && (ct_contains(add, n_add, r)
                          || ct_contains(gone, n_gone, r))) {
                continue;       /* The delta's word is the later one. */
            }
            /* Alive at resume with 'timeout' seconds to go; allow 2 s for
             * the time between the copy and the resume. */
            if (r->timeout >= 0 && ref_wall_us
                && (long long) ref_wall_us + (r->timeout - 2) * 1000000LL
                   <= (long long) now_wall_us) {
                n_expired++;
                continue;
            }
            n_exp++;
            if (!ct_contains(have, n_have, r)) {
                if (!n_missing++) {
                    ct_row_format(r, &missing);
                }
            }
        }
    }
    *n_expected = n_exp;
    if (n_missing) {
        snprintf(why, whylen, "%zu of %zu exported entries missing here, "
                 "first: %s", n_missing, n_exp, ds_cstr(&missing));
    } else {
        snprintf(why, whylen, "all %zu exported entries present here "
                 "(%zu expired by their timeout since resume)", n_exp,
                 n_expired);
    }
    ds_destroy(&missing);
    free(pre);
    free(add);
    free(gone);
    free(have);
    return !n_missing;
}

/* ---- announcements ---- */

bool
nm_verify_announcements(const struct json *migration, int expected_vlan,
                        char *why, size_t whylen)
{
    const struct json *addrs = nm_json_member(migration, "addresses");
    const struct json *seen = nm_json_member(migration, "announcements_seen");
    bool v4 = false, v6 = false;

    for (size_t i = 0; i < array_n(addrs); i++) {
        const struct json *ips = nm_json_member(array_at(addrs, i), "ips");
        for (size_t k = 0; k < array_n(ips); k++) {
            const struct json *ip = array_at(ips, k);
            if (ip->type == JSON_STRING) {
                *(strchr(json_string(ip), ':') ? &v6 : &v4) = true;
            }
        }
    }
    if (!array_n(addrs)) {
        snprintf(why, whylen, "the migration names no address of the VM");
        return false;
    }
    if (!seen) {
        snprintf(why, whylen, "no announcement of the VM was seen leaving "
                 "the uplink");
        return false;
    }
    /* What the daemon sends: RARP, GARP (request form), NA (unsolicited). */
    const char *kinds[3];
    size_t n = 0;
    kinds[n++] = "rarp";
    if (v4) {
        kinds[n++] = "garp-request";
    }
    if (v6) {
        kinds[n++] = "na-unsolicited";
    }
    struct ds seen_s = DS_EMPTY_INITIALIZER;
    for (size_t i = 0; i < n; i++) {
        long long count = member_int(seen, kinds[i], 0);
        if (count <= 0) {
            snprintf(why, whylen, "no %s of the VM was seen leaving the "
                     "uplink", kinds[i]);
            ds_destroy(&seen_s);
            return false;
        }
        ds_put_format(&seen_s, "%s%s %lld", i ? ", " : "", kinds[i], count);
    }
    const struct json *vj = nm_json_member(migration, "first_seen_vlan");
    int vlan = vj && vj->type == JSON_INTEGER ? json_integer(vj) : -1;
    bool ok = vlan == expected_vlan;
    if (ok) {
        snprintf(why, whylen, "seen on the uplink, %s: %s", vlan < 0
                 ? "untagged" : "on this site's VLAN", ds_cstr(&seen_s));
        if (vlan >= 0) {
            size_t len = strlen(why);
            snprintf(why + len, whylen - len, " (VLAN %d)", vlan);
        }
    } else {
        snprintf(why, whylen, "seen on VLAN %d, expected %d (-1: untagged)",
                 vlan, expected_vlan);
    }
    ds_destroy(&seen_s);
    return ok;
}

/* ---- owners ---- */

bool
nm_verify_owners(struct eth_addr mac, const struct in6_addr *addrs,
                 size_t n, const struct eth_addr *const *owners,
                 const size_t *n_owners, char *why, size_t whylen)
{
    char a[INET6_ADDRSTRLEN];

    if (!n) {
        snprintf(why, whylen, "no IP address of the VM, learned or "
                 "declared: its neighbours cannot be told, nor asked");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        garp_addr_format(&addrs[i], a, sizeof a);
        if (!n_owners[i]) {
            snprintf(why, whylen, "nobody answered for %s", a);
            return false;
        }
        if (n_owners[i] > 1) {
            snprintf(why, whylen, "split brain: %s answered by "
                     ETH_ADDR_FMT " and " ETH_ADDR_FMT "%s", a,
                     ETH_ADDR_ARGS(owners[i][0]), ETH_ADDR_ARGS(owners[i][1]),
                     n_owners[i] > 2 ? " and more" : "");
            return false;
        }
        if (!eth_addr_equals(owners[i][0], mac)) {
            snprintf(why, whylen, "%s answered by " ETH_ADDR_FMT ", not the "
                     "VM's " ETH_ADDR_FMT, a, ETH_ADDR_ARGS(owners[i][0]),
                     ETH_ADDR_ARGS(mac));
            return false;
        }
    }
    snprintf(why, whylen, "%zu address(es), each answered by "
             ETH_ADDR_FMT " alone", n, ETH_ADDR_ARGS(mac));
    return true;
}

/* ---- stale learning ---- */

bool
nm_verify_fdb(const struct json *fdb, const char *fdb_error,
              const struct eth_addr *macs, size_t n_macs,
              char *why, size_t whylen)
{
    size_t on_uplink = 0;

    if (!fdb || fdb->type != JSON_ARRAY) {
        snprintf(why, whylen, "the source did not report its MAC table%s%s",
                 fdb_error ? ": " : "", fdb_error ? fdb_error : "");
        return false;
    }
    for (size_t i = 0; i < array_n(fdb); i++) {
        const struct json *e = array_at(fdb, i);
        const char *s = nm_json_member_string(e, "mac");
        const struct json *up = nm_json_member(e, "uplink");
        struct eth_addr mac;
        bool ours = false;

        if (!s || !eth_addr_from_string(s, &mac)) {
            continue;
        }
        for (size_t k = 0; k < n_macs; k++) {
            ours |= eth_addr_equals(mac, macs[k]);
        }
        if (!ours) {
            continue;
        }
        if (up && up->type == JSON_TRUE) {
            on_uplink++;
            continue;
        }
        const char *port = nm_json_member_string(e, "port");
        snprintf(why, whylen, "the source's bridge forwards %s to its local "
                 "port %s (VLAN %lld)", s, port ? port : "?",
                 member_int(e, "vlan", 0));
        return false;
    }
    snprintf(why, whylen, "the source's bridge has the VM's MAC%s on no "
             "local port (%zu entr%s towards its uplink)",
             n_macs == 1 ? "" : "s", on_uplink, on_uplink == 1 ? "y" : "ies");
    return true;
}

/* ---- the source's side ---- */

size_t
nm_verify_params_macs(const struct json *params, struct eth_addr **macsp)
{
    static const char *const members[] = { "macs", "ips" };
    struct eth_addr *macs = NULL;
    size_t n = 0;

    for (size_t m = 0; m < ARRAY_SIZE(members); m++) {
        const struct json *list = nm_json_member(params, members[m]);
        for (size_t i = 0; i < array_n(list); i++) {
            const struct json *s = array_at(list, i);
            struct eth_addr mac;
            if (s->type == JSON_STRING
                && eth_addr_from_string(json_string(s), &mac)) {
                macs = xrealloc(macs, (n + 1) * sizeof *macs);
                macs[n++] = mac;
            }
        }
    }
    *macsp = macs;
    return n;
}

struct json *
nm_verify_fdb_to_json(const struct nmovs_fdb_entry *e, size_t n,
                      const char *uplink)
{
    struct json *list = json_array_create_empty();

    for (size_t i = 0; i < n; i++) {
        struct json *o = json_object_create();
        json_object_put_format(o, "mac", ETH_ADDR_FMT,
                               ETH_ADDR_ARGS(e[i].mac));
        json_object_put(o, "vlan", json_integer_create(e[i].vlan));
        json_object_put_string(o, "port", e[i].port);
        json_object_put(o, "age", e[i].is_static ? json_null_create()
                                                 : json_integer_create(
                                                       e[i].age));
        json_object_put(o, "static", json_boolean_create(e[i].is_static));
        json_object_put(o, "uplink", json_boolean_create(
                            uplink && !strcmp(uplink, e[i].port)));
        json_array_add(list, o);
    }
    return list;
}

int
nm_verify_source_fdb(const struct nm_config *cfg, const struct json *params,
                     struct json **fdbp, char *err, size_t errlen)
{
    struct nmovs_fdb_entry *entries = NULL;
    struct eth_addr *macs;
    size_t n_macs = nm_verify_params_macs(params, &macs);
    size_t n = 0;
    int error = 0;

    *fdbp = NULL;
    if (n_macs) {
        error = nmovs_fdb_show(cfg->ovs_rundir, cfg->bridge,
                               macs, n_macs, &entries, &n, err, errlen);
    }
    if (!error) {
        *fdbp = nm_verify_fdb_to_json(entries, n, cfg->uplink);
    }
    free(entries);
    free(macs);
    return error;
}

/* ---- the questions verify asks ---- */

void
nm_verify_build_question(struct dp_packet *b, struct eth_addr asker,
                         const struct in6_addr *addr, int vlan)
{
    if (garp_addr_is_ipv4(addr)) {
        /* compose_arp(): who-has ADDR tell 0.0.0.0 */
        compose_arp(b, ARP_OP_REQUEST, asker, eth_addr_zero, true, 0,
                    in6_addr_get_mapped_ipv4(addr));
    } else {
        struct in6_addr lla;
        in6_generate_lla(asker, &lla);
        compose_nd_ns(b, asker, &lla, addr);
    }
    if (vlan > 0) {
        eth_push_vlan(b, htons(ETH_TYPE_VLAN), htons(vlan & VLAN_VID_MASK));
    }
}

bool
nm_verify_is_echo_reply(const uint8_t *buf, size_t len, bool v6, uint16_t id)
{
    size_t off = 0;

    if (!v6) {                  /* A raw IPv4 socket gets the IP header. */
        if (len < sizeof(struct ip)) {
            return false;
        }
        off = (buf[0] & 0x0f) * 4;
    }
    if (len < off + sizeof(struct icmphdr)) {
        return false;
    }
    struct icmphdr h;
    memcpy(&h, buf + off, sizeof h);
    return (h.type == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)
            && ntohs(h.un.echo.id) == id);
}
