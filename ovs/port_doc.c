/* ovs: the port document, a VM's Port/Interface/QoS records as versioned
 * JSON (libopenvswitch's json), built and parsed without any I/O. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "packets.h"
#include "util.h"

#include "ovs/port-doc-private.h"

/* ---- building ---- */

struct nmovs_doc *
nmovs_doc_create(const char *vm)
{
    struct nmovs_doc *doc = xzalloc(sizeof *doc);
    doc->vm = xstrdup(vm);
    return doc;
}

/* An smap is an hmap, which points into itself while small: after
 * realloc() moves one, it must be told. */
static void
iface_moved(struct nmovs_iface *f)
{
    hmap_moved(&f->options.map);
    hmap_moved(&f->external_ids.map);
    hmap_moved(&f->other_config.map);
}

static void
port_moved(struct nmovs_port *p)
{
    hmap_moved(&p->external_ids.map);
    hmap_moved(&p->other_config.map);
}

struct nmovs_port *
nmovs_doc_add_port(struct nmovs_doc *doc, const char *bridge,
                   const char *name)
{
    doc->ports = xrealloc(doc->ports, (doc->n_ports + 1) * sizeof *doc->ports);
    for (size_t i = 0; i < doc->n_ports; i++) {
        port_moved(&doc->ports[i]);
    }
    struct nmovs_port *p = &doc->ports[doc->n_ports++];
    memset(p, 0, sizeof *p);
    p->bridge = xstrdup(bridge);
    p->name = xstrdup(name);
    p->tag = -1;
    smap_init(&p->external_ids);
    smap_init(&p->other_config);
    return p;
}

struct nmovs_iface *
nmovs_port_add_iface(struct nmovs_port *p, const char *name)
{
    p->ifaces = xrealloc(p->ifaces, (p->n_ifaces + 1) * sizeof *p->ifaces);
    for (size_t i = 0; i < p->n_ifaces; i++) {
        iface_moved(&p->ifaces[i]);
    }
    struct nmovs_iface *i = &p->ifaces[p->n_ifaces++];
    memset(i, 0, sizeof *i);
    i->name = xstrdup(name);
    i->type = xstrdup("");
    smap_init(&i->options);
    smap_init(&i->external_ids);
    smap_init(&i->other_config);
    return i;
}

static void
qos_destroy(struct nmovs_qos *q)
{
    if (!q) {
        return;
    }
    for (size_t i = 0; i < q->n_queues; i++) {
        smap_destroy(&q->queues[i].other_config);
        smap_destroy(&q->queues[i].external_ids);
    }
    free(q->queues);
    free(q->type);
    smap_destroy(&q->other_config);
    smap_destroy(&q->external_ids);
    free(q);
}

void
nmovs_doc_destroy(struct nmovs_doc *doc)
{
    if (!doc) {
        return;
    }
    for (size_t i = 0; i < doc->n_ports; i++) {
        struct nmovs_port *p = &doc->ports[i];
        for (size_t j = 0; j < p->n_ifaces; j++) {
            struct nmovs_iface *f = &p->ifaces[j];
            free(f->name);
            free(f->type);
            smap_destroy(&f->options);
            smap_destroy(&f->external_ids);
            smap_destroy(&f->other_config);
        }
        free(p->ifaces);
        free(p->bridge);
        free(p->name);
        free(p->trunks);
        free(p->vlan_mode);
        smap_destroy(&p->external_ids);
        smap_destroy(&p->other_config);
        qos_destroy(p->qos);
    }
    free(doc->ports);
    free(doc->vm);
    free(doc);
}

void
nmovs_docs_destroy(struct nmovs_doc **docs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nmovs_doc_destroy(docs[i]);
    }
    free(docs);
}

const char *
nmovs_doc_vm(const struct nmovs_doc *doc)
{
    return doc->vm;
}

size_t
nmovs_doc_n_ports(const struct nmovs_doc *doc)
{
    return doc->n_ports;
}

/* True if 'mode' is a vlan_mode OVS accepts. */
static bool
nmovs_vlan_mode_is_valid(const char *mode)
{
    static const char *const modes[] = {
        "access", "native-tagged", "native-untagged", "trunk", "dot1q-tunnel",
    };
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
        if (!strcmp(mode, modes[i])) {
            return true;
        }
    }
    return false;
}

/* ---- to JSON ---- */

static struct json *
map_to_json(const struct smap *smap)
{
    struct json *obj = json_object_create();
    struct smap_node *node;

    SMAP_FOR_EACH (node, smap) {
        json_object_put_string(obj, node->key, node->value);
    }
    return obj;
}

static struct json *
qos_to_json(const struct nmovs_qos *q)
{
    struct json *obj = json_object_create();
    struct json *queues = json_object_create();

    json_object_put_string(obj, "type", q->type);
    json_object_put(obj, "other_config", map_to_json(&q->other_config));
    json_object_put(obj, "external_ids", map_to_json(&q->external_ids));
    for (size_t i = 0; i < q->n_queues; i++) {
        const struct nmovs_queue *u = &q->queues[i];
        struct json *jq = json_object_create();
        if (u->dscp >= 0) {
            json_object_put(jq, "dscp", json_integer_create(u->dscp));
        }
        json_object_put(jq, "other_config", map_to_json(&u->other_config));
        json_object_put(jq, "external_ids", map_to_json(&u->external_ids));
        json_object_put_nocopy(queues, xasprintf("%"PRId64, u->id), jq);
    }
    json_object_put(obj, "queues", queues);
    return obj;
}

static struct json *
iface_to_json(const struct nmovs_iface *f)
{
    struct json *obj = json_object_create();

    json_object_put_string(obj, "name", f->name);
    json_object_put_string(obj, "type", f->type);
    json_object_put(obj, "options", map_to_json(&f->options));
    json_object_put(obj, "external_ids", map_to_json(&f->external_ids));
    json_object_put(obj, "other_config", map_to_json(&f->other_config));
    if (f->mtu_request) {
        json_object_put(obj, "mtu_request",
                        json_integer_create(f->mtu_request));
    }
    json_object_put(obj, "ingress_policing_rate",
                    json_integer_create(f->ingress_policing_rate));
    json_object_put(obj, "ingress_policing_burst",
                    json_integer_create(f->ingress_policing_burst));
    if (f->ofport_request) {
        json_object_put(obj, "ofport_request",
                        json_integer_create(f->ofport_request));
    }
    return obj;
}

static struct json *
port_to_json(const struct nmovs_port *p)
{
    struct json *obj = json_object_create();
    struct json *trunks = json_array_create_empty();
    struct json *ifaces = json_array_create_empty();

    json_object_put_string(obj, "bridge", p->bridge);
    json_object_put_string(obj, "name", p->name);
    if (p->tag >= 0) {
        json_object_put(obj, "tag", json_integer_create(p->tag));
    }
    for (size_t i = 0; i < p->n_trunks; i++) {
        json_array_add(trunks, json_integer_create(p->trunks[i]));
    }
    json_object_put(obj, "trunks", trunks);
    if (p->vlan_mode) {
        json_object_put_string(obj, "vlan_mode", p->vlan_mode);
    }
    json_object_put(obj, "external_ids", map_to_json(&p->external_ids));
    json_object_put(obj, "other_config", map_to_json(&p->other_config));
    if (p->qos) {
        json_object_put(obj, "qos", qos_to_json(p->qos));
    }
    for (size_t i = 0; i < p->n_ifaces; i++) {
        json_array_add(ifaces, iface_to_json(&p->ifaces[i]));
    }
    json_object_put(obj, "interfaces", ifaces);
    return obj;
}

struct json *
nmovs_doc_to_json(const struct nmovs_doc *doc)
{
    struct json *obj = json_object_create();
    struct json *ports = json_array_create_empty();

    json_object_put(obj, "version", json_integer_create(NMOVS_DOC_VERSION));
    json_object_put_string(obj, "vm", doc->vm);
    for (size_t i = 0; i < doc->n_ports; i++) {
        json_array_add(ports, port_to_json(&doc->ports[i]));
    }
    json_object_put(obj, "ports", ports);
    return obj;
}

char *
nmovs_docs_format(struct nmovs_doc *const *docs, size_t n)
{
    struct json *json;

    if (n == 1) {
        json = nmovs_doc_to_json(docs[0]);
    } else {
        json = json_array_create_empty();
        for (size_t i = 0; i < n; i++) {
            json_array_add(json, nmovs_doc_to_json(docs[i]));
        }
    }
    char *s = json_to_string(json, JSSF_PRETTY | JSSF_SORT);
    json_destroy(json);
    return s;
}

/* ---- from JSON ---- */

/* Parser state: where we are in the document, for messages naming the
 * field, and where the first error goes. */
struct parse {
    char path[256];
    char *err;
    size_t errlen;
    int error;
};

static int OVS_PRINTF_FORMAT(3, 4)
parse_error(struct parse *ps, const char *field, const char *fmt, ...)
{
    char msg[200];
    va_list args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    if (!ps->error) {
        const char *sep = ps->path[0] && field[0] && field[0] != '[' ? "." : "";
        snprintf(ps->err, ps->errlen, "document: %s%s%s: %s", ps->path, sep,
                 ps->path[0] || field[0] ? field : "(top)", msg);
        ps->error = -EINVAL;
    }
    return -EINVAL;
}

/* Appends ".field" or "[i]" to the path; returns the old length to
 * restore with pop_path(). */
static size_t
push_path(struct parse *ps, const char *field, long long idx)
{
    size_t len = strlen(ps->path);
    const char *sep = len && field[0] ? "." : "";

    if (idx >= 0) {
        snprintf(ps->path + len, sizeof ps->path - len, "%s%s[%lld]",
                 sep, field, idx);
    } else {
        snprintf(ps->path + len, sizeof ps->path - len, "%s%s", sep, field);
    }
    return len;
}

static void
pop_path(struct parse *ps, size_t len)
{
    ps->path[len] = '\0';
}

/* Fails on any member of 'obj' not in the NULL-terminated 'known'. */
static int
check_fields(struct parse *ps, const struct json *obj,
             const char *const known[])
{
    struct shash_node *node;

    SHASH_FOR_EACH (node, json_object(obj)) {
        size_t i;
        for (i = 0; known[i] && strcmp(known[i], node->name); i++) {
            continue;
        }
        if (!known[i]) {
            return parse_error(ps, node->name, "unknown field");
        }
    }
    return 0;
}

static const struct json *
get_member(struct parse *ps, const struct json *obj, const char *field,
           enum json_type type, bool required)
{
    const struct json *v = shash_find_data(json_object(obj), field);

    if (!v) {
        if (required) {
            parse_error(ps, field, "missing");
        }
        return NULL;
    }
    if (v->type != type) {
        parse_error(ps, field, "must be a JSON %s, not %s",
                    json_type_to_string(type), json_type_to_string(v->type));
        return NULL;
    }
    return v;
}

/* A name of a port, interface or bridge: what OVS and the kernel accept. */
static int
check_name(struct parse *ps, const char *field, const char *name)
{
    if (!name[0] || strlen(name) > 255) {
        return parse_error(ps, field, "'%s' is not a valid name", name);
    }
    for (const char *c = name; *c; c++) {
        if (*c <= ' ' || *c == '/' || *c == 0x7f) {
            return parse_error(ps, field, "'%s' is not a valid name", name);
        }
    }
    return 0;
}

static int
get_string(struct parse *ps, const struct json *obj, const char *field,
           bool required, char **out)
{
    const struct json *v = get_member(ps, obj, field, JSON_STRING, required);
    if (v) {
        free(*out);
        *out = xstrdup(json_string(v));
    }
    return ps->error;
}

/* Reads integer 'field' into '*out' if present, checking min..max. */
static int
get_int(struct parse *ps, const struct json *obj, const char *field,
        long long min, long long max, bool required, int64_t *out)
{
    const struct json *v = get_member(ps, obj, field, JSON_INTEGER, required);
    if (v) {
        if (v->integer < min || v->integer > max) {
            return parse_error(ps, field, "%lld is out of range (%lld-%lld)",
                               v->integer, min, max);
        }
        *out = v->integer;
    }
    return ps->error;
}

static int
get_vlan(struct parse *ps, const char *field, const struct json *v,
         int64_t *out)
{
    if (v->type != JSON_INTEGER || v->integer < 0 || v->integer > 4095) {
        char *s = json_to_string(v, 0);
        parse_error(ps, field, "%s is not a VLAN id (0-4095)", s);
        free(s);
        return -EINVAL;
    }
    *out = v->integer;
    return 0;
}

/* A string-to-string map (external_ids, other_config, options). */
static int
get_smap(struct parse *ps, const struct json *obj, const char *field,
         struct smap *out)
{
    const struct json *v = get_member(ps, obj, field, JSON_OBJECT, false);
    struct shash_node *node;

    if (!v) {
        return ps->error;
    }
    SHASH_FOR_EACH (node, json_object(v)) {
        const struct json *val = node->data;
        if (val->type != JSON_STRING) {
            size_t len = push_path(ps, field, -1);
            parse_error(ps, node->name, "must be a JSON string");
            pop_path(ps, len);
            return -EINVAL;
        }
        smap_replace(out, node->name, json_string(val));
    }
    return 0;
}

static int
parse_queue(struct parse *ps, const char *key, const struct json *jq,
            struct nmovs_queue *u)
{
    static const char *const known[] = {
        "dscp", "other_config", "external_ids", NULL
    };
    char *end;

    u->dscp = -1;
    smap_init(&u->other_config);
    smap_init(&u->external_ids);
    errno = 0;
    long long id = strtoll(key, &end, 10);
    if (!key[0] || *end || errno || id < 0 || id > UINT32_MAX) {
        return parse_error(ps, key, "is not a queue number (0-4294967295)");
    }
    u->id = id;
    if (jq->type != JSON_OBJECT) {
        return parse_error(ps, key, "must be a JSON object");
    }
    size_t len = push_path(ps, key, -1);
    if (!check_fields(ps, jq, known)) {
        get_int(ps, jq, "dscp", 0, 63, false, &u->dscp);
        get_smap(ps, jq, "other_config", &u->other_config);
        get_smap(ps, jq, "external_ids", &u->external_ids);
    }
    pop_path(ps, len);
    return ps->error;
}

static int
parse_qos(struct parse *ps, const struct json *jqos, struct nmovs_qos **qosp)
{
    static const char *const known[] = {
        "type", "other_config", "external_ids", "queues", NULL
    };
    struct nmovs_qos *q = xzalloc(sizeof *q);
    struct shash_node *node;

    *qosp = q;
    smap_init(&q->other_config);
    smap_init(&q->external_ids);
    if (check_fields(ps, jqos, known)
        || get_string(ps, jqos, "type", true, &q->type)
        || get_smap(ps, jqos, "other_config", &q->other_config)
        || get_smap(ps, jqos, "external_ids", &q->external_ids)) {
        return ps->error;
    }
    const struct json *jqueues = get_member(ps, jqos, "queues",
                                            JSON_OBJECT, false);
    if (!jqueues) {
        return ps->error;
    }
    size_t len = push_path(ps, "queues", -1);
    q->queues = xcalloc(shash_count(json_object(jqueues)) + 1,
                        sizeof *q->queues);
    SHASH_FOR_EACH (node, json_object(jqueues)) {
        if (parse_queue(ps, node->name, node->data,
                        &q->queues[q->n_queues++])) {
            break;
        }
    }
    pop_path(ps, len);
    return ps->error;
}

static int
parse_iface(struct parse *ps, const struct json *jf, struct nmovs_port *p)
{
    static const char *const known[] = {
        "name", "type", "options", "external_ids", "other_config",
        "mtu_request", "ingress_policing_rate", "ingress_policing_burst",
        "ofport_request", NULL
    };
    char *name = NULL;

    if (jf->type != JSON_OBJECT) {
        return parse_error(ps, "", "must be a JSON object");
    }
    if (check_fields(ps, jf, known)
        || get_string(ps, jf, "name", true, &name)
        || check_name(ps, "name", name)) {
        free(name);
        return ps->error;
    }
    struct nmovs_iface *f = nmovs_port_add_iface(p, name);
    free(name);
    if (get_string(ps, jf, "type", false, &f->type)
        || get_smap(ps, jf, "options", &f->options)
        || get_smap(ps, jf, "external_ids", &f->external_ids)
        || get_smap(ps, jf, "other_config", &f->other_config)
        || get_int(ps, jf, "mtu_request", 1, 65535, false, &f->mtu_request)
        || get_int(ps, jf, "ingress_policing_rate", 0, UINT32_MAX, false,
                   &f->ingress_policing_rate)
        || get_int(ps, jf, "ingress_policing_burst", 0, UINT32_MAX, false,
                   &f->ingress_policing_burst)
        || get_int(ps, jf, "ofport_request", 1, 65279, false,
                   &f->ofport_request)) {
        return ps->error;
    }
    /* The VM's MAC: flows and announcements are built from it. */
    const char *mac = smap_get(&f->external_ids, "attached-mac");
    struct eth_addr ea;
    if (mac && !eth_addr_from_string(mac, &ea)) {
        return parse_error(ps, "external_ids.attached-mac",
                           "'%s' is not a MAC address", mac);
    }
    return 0;
}

static int
parse_port_vlans(struct parse *ps, const struct json *jp,
                 struct nmovs_port *p)
{
    const struct json *v = shash_find_data(json_object(jp), "tag");
    if (v && get_vlan(ps, "tag", v, &p->tag)) {
        return ps->error;
    }
    const struct json *jt = get_member(ps, jp, "trunks", JSON_ARRAY, false);
    if (jt) {
        const struct json_array *a = json_array(jt);
        p->trunks = xcalloc(a->n + 1, sizeof *p->trunks);
        for (size_t i = 0; i < a->n; i++) {
            size_t len = push_path(ps, "trunks", i);
            int error = get_vlan(ps, "", a->elems[i], &p->trunks[i]);
            pop_path(ps, len);
            if (error) {
                return error;
            }
            p->n_trunks++;
        }
    }
    if (get_string(ps, jp, "vlan_mode", false, &p->vlan_mode)) {
        return ps->error;
    }
    if (p->vlan_mode && !nmovs_vlan_mode_is_valid(p->vlan_mode)) {
        return parse_error(ps, "vlan_mode", "'%s' is not one of access, "
                           "native-tagged, native-untagged, trunk, "
                           "dot1q-tunnel", p->vlan_mode);
    }
    return ps->error;
}

static int
parse_port(struct parse *ps, const struct json *jp, struct nmovs_doc *doc)
{
    static const char *const known[] = {
        "bridge", "name", "tag", "trunks", "vlan_mode", "external_ids",
        "other_config", "qos", "interfaces", NULL
    };
    char *bridge = NULL, *name = NULL;

    if (jp->type != JSON_OBJECT) {
        return parse_error(ps, "", "must be a JSON object");
    }
    if (check_fields(ps, jp, known)
        || get_string(ps, jp, "bridge", true, &bridge)
        || check_name(ps, "bridge", bridge)
        || get_string(ps, jp, "name", true, &name)
        || check_name(ps, "name", name)) {
        goto out;
    }
    struct nmovs_port *p = nmovs_doc_add_port(doc, bridge, name);
    if (parse_port_vlans(ps, jp, p)
        || get_smap(ps, jp, "external_ids", &p->external_ids)
        || get_smap(ps, jp, "other_config", &p->other_config)) {
        goto out;
    }
    const struct json *jqos = get_member(ps, jp, "qos", JSON_OBJECT, false);
    if (jqos) {
        size_t len = push_path(ps, "qos", -1);
        parse_qos(ps, jqos, &p->qos);
        pop_path(ps, len);
    }
    const struct json *jf = get_member(ps, jp, "interfaces", JSON_ARRAY,
                                       true);
    if (ps->error) {
        goto out;
    }
    if (!json_array(jf)->n) {
        parse_error(ps, "interfaces", "a port needs at least one interface");
        goto out;
    }
    for (size_t i = 0; i < json_array(jf)->n; i++) {
        size_t len = push_path(ps, "interfaces", i);
        int error = parse_iface(ps, json_array(jf)->elems[i], p);
        pop_path(ps, len);
        if (error) {
            break;
        }
    }
out:
    free(bridge);
    free(name);
    return ps->error;
}

static int
parse_doc(struct parse *ps, const struct json *json, struct nmovs_doc **docp)
{
    static const char *const known[] = { "version", "vm", "ports", NULL };
    int64_t version = 0;
    char *vm = NULL;

    *docp = NULL;
    if (json->type != JSON_OBJECT) {
        return parse_error(ps, "", "a document must be a JSON object");
    }
    const struct json *jv = shash_find_data(json_object(json), "version");
    if (!jv) {
        return parse_error(ps, "version", "missing");
    }
    if (jv->type != JSON_INTEGER || jv->integer != NMOVS_DOC_VERSION) {
        char *s = json_to_string(jv, 0);
        parse_error(ps, "version", "unsupported document version %s "
                    "(this netmove reads version %d)", s, NMOVS_DOC_VERSION);
        free(s);
        return -EINVAL;
    }
    if (check_fields(ps, json, known)
        || get_int(ps, json, "version", 1, 1, true, &version)
        || get_string(ps, json, "vm", true, &vm)
        || check_name(ps, "vm", vm)) {
        free(vm);
        return ps->error;
    }
    struct nmovs_doc *doc = nmovs_doc_create(vm);
    free(vm);
    const struct json *jports = get_member(ps, json, "ports", JSON_ARRAY,
                                           true);
    for (size_t i = 0; jports && i < json_array(jports)->n; i++) {
        size_t len = push_path(ps, "ports", i);
        int error = parse_port(ps, json_array(jports)->elems[i], doc);
        pop_path(ps, len);
        if (error) {
            break;
        }
    }
    if (!ps->error && !doc->n_ports) {
        parse_error(ps, "ports", "a document needs at least one port");
    }
    if (ps->error) {
        nmovs_doc_destroy(doc);
        return ps->error;
    }
    *docp = doc;
    return 0;
}

int
nmovs_docs_from_json(const struct json *json, struct nmovs_doc ***docsp,
                     size_t *np, char *err, size_t errlen)
{
    struct parse ps = { .err = err, .errlen = errlen };
    struct nmovs_doc **docs;
    size_t n = 0;

    *docsp = NULL;
    *np = 0;
    if (json->type != JSON_ARRAY) {
        docs = xmalloc(sizeof *docs);
        if (parse_doc(&ps, json, &docs[0])) {
            free(docs);
            return ps.error;
        }
        *docsp = docs;
        *np = 1;
        return 0;
    }
    const struct json_array *a = json_array(json);
    if (!a->n) {
        snprintf(err, errlen, "document: an empty array holds no document");
        return -EINVAL;
    }
    docs = xcalloc(a->n, sizeof *docs);
    for (; n < a->n; n++) {
        size_t len = push_path(&ps, "", n);
        int error = parse_doc(&ps, a->elems[n], &docs[n]);
        pop_path(&ps, len);
        if (error) {
            nmovs_docs_destroy(docs, n);
            return error;
        }
    }
    *docsp = docs;
    *np = n;
    return 0;
}

int
nmovs_docs_parse(const char *text, struct nmovs_doc ***docsp, size_t *np,
                 char *err, size_t errlen)
{
    struct json *json = json_from_string(text);
    int error;

    *docsp = NULL;
    *np = 0;
    if (json->type == JSON_STRING) {
        /* json_from_string() reports a syntax error as a string. */
        snprintf(err, errlen, "document: malformed JSON: %s",
                 json_string(json));
        error = -EINVAL;
    } else {
        error = nmovs_docs_from_json(json, docsp, np, err, errlen);
    }
    json_destroy(json);
    return error;
}
