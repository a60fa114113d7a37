/* ovs: translations applied to a port document on import: --rename OLD=NEW
 * for port and interface names, --vlan-map A=B for tag and trunks. */
#include "ovs/ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/shash.h"
#include "util.h"

#include "ovs/port-doc-private.h"
#include "ovs/xlate-private.h"

struct nmovs_xlate {
    struct shash renames;       /* Old name -> new name (char *). */
    int vlans[4096];            /* VLAN -> mapped VLAN, -1: unmapped. */
};

struct nmovs_xlate *
nmovs_xlate_create(void)
{
    struct nmovs_xlate *x = xmalloc(sizeof *x);

    shash_init(&x->renames);
    for (size_t i = 0; i < ARRAY_SIZE(x->vlans); i++) {
        x->vlans[i] = -1;
    }
    return x;
}

void
nmovs_xlate_destroy(struct nmovs_xlate *x)
{
    if (x) {
        shash_destroy_free_data(&x->renames);
        free(x);
    }
}

/* Splits "A=B" at the '=' into two non-empty halves. */
static bool
split_pair(const char *spec, char **a, char **b)
{
    const char *eq = strchr(spec, '=');

    if (!eq || eq == spec || !eq[1] || strchr(eq + 1, '=')) {
        return false;
    }
    *a = xmemdup0(spec, eq - spec);
    *b = xstrdup(eq + 1);
    return true;
}

static bool
name_is_valid(const char *name)
{
    if (strlen(name) > 255) {
        return false;
    }
    for (const char *c = name; *c; c++) {
        if (*c <= ' ' || *c == '/' || *c == 0x7f) {
            return false;
        }
    }
    return true;
}

int
nmovs_xlate_add_rename(struct nmovs_xlate *x, const char *spec,
                       char *err, size_t errlen)
{
    char *old, *new;

    if (!split_pair(spec, &old, &new)) {
        snprintf(err, errlen, "--rename: '%s' is not OLD=NEW", spec);
        return -EINVAL;
    }
    int error = 0;
    if (!name_is_valid(old) || !name_is_valid(new)) {
        snprintf(err, errlen, "--rename: '%s': not a valid port or "
                 "interface name", spec);
        error = -EINVAL;
    } else if (shash_find(&x->renames, old)) {
        snprintf(err, errlen, "--rename: '%s' is renamed twice", old);
        error = -EINVAL;
    } else {
        shash_add_nocopy(&x->renames, old, new);
        return 0;
    }
    free(old);
    free(new);
    return error;
}

/* Parses a VLAN id "0".."4095" strictly. */
static int
parse_vlan(const char *s)
{
    char *end;

    if (!s[0] || s[0] == '-' || s[0] == '+' || strlen(s) > 4) {
        return -1;
    }
    long v = strtol(s, &end, 10);
    return *end || v < 0 || v > 4095 ? -1 : (int) v;
}

int
nmovs_xlate_add_vlan(struct nmovs_xlate *x, const char *spec,
                     char *err, size_t errlen)
{
    char *a, *b;

    if (!split_pair(spec, &a, &b)) {
        snprintf(err, errlen, "--vlan-map: '%s' is not A=B", spec);
        return -EINVAL;
    }
    int from = parse_vlan(a), to = parse_vlan(b);
    int error = 0;
    if (from < 0 || to < 0) {
        snprintf(err, errlen, "--vlan-map: '%s': '%s' is not a VLAN id "
                 "(0-4095)", spec, from < 0 ? a : b);
        error = -EINVAL;
    } else if (x->vlans[from] >= 0) {
        snprintf(err, errlen, "--vlan-map: VLAN %d is mapped twice", from);
        error = -EINVAL;
    } else {
        x->vlans[from] = to;
    }
    free(a);
    free(b);
    return error;
}

int
nmovs_xlate_vlan(const struct nmovs_xlate *x, int vlan)
{
    if (vlan < 0 || vlan > 4095) {
        return vlan;
    }
    return x->vlans[vlan] >= 0 ? x->vlans[vlan] : vlan;
}

const char *
nmovs_xlate_name(const struct nmovs_xlate *x, const char *name)
{
    const char *new = shash_find_data(&x->renames, name);
    return new ? new : name;
}

static void
rename_name(const struct nmovs_xlate *x, char **name)
{
    const char *new = nmovs_xlate_name(x, *name);
    if (new != *name) {
        char *copy = xstrdup(new);
        free(*name);
        *name = copy;
    }
}

static int
compare_vlans(const void *a_, const void *b_)
{
    const int64_t *a = a_, *b = b_;
    return *a < *b ? -1 : *a > *b;
}

/* Maps each trunk, then sorts and drops duplicates: trunks is a set. */
static void
map_trunks(const struct nmovs_xlate *x, struct nmovs_port *p)
{
    size_t n = 0;

    if (!p->n_trunks) {
        return;
    }
    for (size_t i = 0; i < p->n_trunks; i++) {
        p->trunks[i] = nmovs_xlate_vlan(x, p->trunks[i]);
    }
    qsort(p->trunks, p->n_trunks, sizeof *p->trunks, compare_vlans);
    for (size_t i = 0; i < p->n_trunks; i++) {
        if (!n || p->trunks[n - 1] != p->trunks[i]) {
            p->trunks[n++] = p->trunks[i];
        }
    }
    p->n_trunks = n;
}

void
nmovs_xlate_apply(const struct nmovs_xlate *x, struct nmovs_doc *doc)
{
    for (size_t i = 0; i < doc->n_ports; i++) {
        struct nmovs_port *p = &doc->ports[i];

        rename_name(x, &p->name);
        for (size_t j = 0; j < p->n_ifaces; j++) {
            rename_name(x, &p->ifaces[j].name);
        }
        if (p->tag >= 0) {
            p->tag = nmovs_xlate_vlan(x, p->tag);
        }
        map_trunks(x, p);
    }
}
