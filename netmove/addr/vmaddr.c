/* A VM's addresses from its port document. */
#include "netmove/addr/vmaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "garp/garp.h"
#include "netmove/common/config.h"
#include "netmove/common/json.h"

#define NM_VMADDR_ERRLEN 200

static const char *
ext_id(const struct json *iface, const char *key)
{
    const struct json *ids = nm_json_member(iface, "external_ids");
    const struct json *v = nm_json_member(ids, key);
    return v && v->type == JSON_STRING ? json_string(v) : NULL;
}

static int
add_ip(struct nm_iface_addrs *ia, const char *field, const char *s,
       char *err, size_t errlen)
{
    struct in6_addr ip6;
    ovs_be32 ip4;
    bool is_v6;

    if (garp_parse_ip(field, s, &ip4, &ip6, &is_v6, err, errlen)) {
        return -EINVAL;
    }
    if (is_v6) {
        for (size_t i = 0; i < ia->n_ipv6; i++) {
            if (ipv6_addr_equals(&ia->ipv6[i], &ip6)) {
                return 0;
            }
        }
        ia->ipv6 = xrealloc(ia->ipv6, (ia->n_ipv6 + 1) * sizeof *ia->ipv6);
        ia->ipv6[ia->n_ipv6++] = ip6;
    } else {
        for (size_t i = 0; i < ia->n_ipv4; i++) {
            if (ia->ipv4[i] == ip4) {
                return 0;
            }
        }
        ia->ipv4 = xrealloc(ia->ipv4, (ia->n_ipv4 + 1) * sizeof *ia->ipv4);
        ia->ipv4[ia->n_ipv4++] = ip4;
    }
    return 0;
}

static int
add_iface(struct nm_vm_addrs *addrs, const struct json *iface,
          char *err, size_t errlen)
{
    const struct json *name = nm_json_member(iface, "name");
    const char *mac = ext_id(iface, "attached-mac");
    const char *ips = ext_id(iface, "ip-addresses");
    struct nm_iface_addrs ia = { .port = NULL };

    if (!mac || !name || name->type != JSON_STRING
        || garp_parse_mac("attached-mac", mac, &ia.mac, err, errlen)) {
        return 0;               /* Not an interface netmove announces. */
    }
    ia.port = xstrdup(json_string(name));
    if (ips) {
        char *copy = xstrdup(ips), *save = NULL;
        for (char *tok = strtok_r(copy, " ,", &save); tok;
             tok = strtok_r(NULL, " ,", &save)) {
            if (add_ip(&ia, "external_ids:ip-addresses", tok, err, errlen)) {
                free(copy);
                free(ia.port);
                free(ia.ipv4);
                free(ia.ipv6);
                return -EINVAL;
            }
        }
        free(copy);
    }
    addrs->ifaces = xrealloc(addrs->ifaces,
                             (addrs->n_ifaces + 1) * sizeof *addrs->ifaces);
    addrs->ifaces[addrs->n_ifaces++] = ia;
    return 0;
}

int
nm_vm_addrs_from_doc(const struct json *doc, char *const *extra,
                     size_t n_extra, struct nm_vm_addrs *addrs,
                     char *err, size_t errlen)
{
    const struct json *ports = nm_json_member(doc, "ports");

    memset(addrs, 0, sizeof *addrs);
    if (!ports || ports->type != JSON_ARRAY) {
        snprintf(err, errlen, "port document: no \"ports\" array");
        return -EINVAL;
    }
    for (size_t i = 0; i < json_array(ports)->n; i++) {
        const struct json *port = json_array(ports)->elems[i];
        const struct json *ifaces = port->type == JSON_OBJECT
            ? nm_json_member(port, "interfaces") : NULL;
        for (size_t k = 0; ifaces && ifaces->type == JSON_ARRAY
                           && k < json_array(ifaces)->n; k++) {
            const struct json *iface = json_array(ifaces)->elems[k];
            if (iface->type == JSON_OBJECT
                && add_iface(addrs, iface, err, errlen)) {
                nm_vm_addrs_destroy(addrs);
                return -EINVAL;
            }
        }
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (!addrs->n_ifaces) {
            snprintf(err, errlen, "--ip: the VM has no interface with an "
                     "attached-mac to give %s to", extra[i]);
            nm_vm_addrs_destroy(addrs);
            return -EINVAL;
        }
        if (add_ip(&addrs->ifaces[0], "--ip", extra[i], err, errlen)) {
            nm_vm_addrs_destroy(addrs);
            return -EINVAL;
        }
    }
    return 0;
}

/* Checks one entry of a "learned" list; stores its interface in '*iap'. */
static int
check_learned(const struct nm_vm_addrs *addrs, const struct json *e,
              size_t i, struct nm_iface_addrs **iap, char *err, size_t errlen)
{
    const struct json *mac = e->type == JSON_OBJECT
                             ? nm_json_member(e, "mac") : NULL;
    const struct json *ips = e->type == JSON_OBJECT
                             ? nm_json_member(e, "ips") : NULL;
    char field[64];
    struct eth_addr ea;

    snprintf(field, sizeof field, "learned[%zu].mac", i);
    if (!mac || mac->type != JSON_STRING
        || garp_parse_mac(field, json_string(mac), &ea, err, errlen)) {
        if (!mac || mac->type != JSON_STRING) {
            snprintf(err, errlen, "%s: missing or not a string", field);
        }
        return -EINVAL;
    }
    *iap = NULL;
    for (size_t k = 0; k < addrs->n_ifaces; k++) {
        if (eth_addr_equals(addrs->ifaces[k].mac, ea)) {
            *iap = &addrs->ifaces[k];
        }
    }
    if (!*iap) {
        snprintf(err, errlen, "%s: %s is not a MAC of the VM's interfaces",
                 field, json_string(mac));
        return -EINVAL;
    }
    if (!ips || ips->type != JSON_ARRAY
        || json_array(ips)->n > 2 * NM_LEARNED_MAX) {
        snprintf(err, errlen, "learned[%zu].ips: %s", i,
                 ips && ips->type == JSON_ARRAY ? "too many addresses"
                 : "missing or not an array");
        return -EINVAL;
    }
    size_t n4 = 0, n6 = 0;
    for (size_t k = 0; k < json_array(ips)->n; k++) {
        const struct json *ip = json_array(ips)->elems[k];
        struct in6_addr ip6;
        ovs_be32 ip4;
        bool v6;
        snprintf(field, sizeof field, "learned[%zu].ips[%zu]", i, k);
        if (ip->type != JSON_STRING) {
            snprintf(err, errlen, "%s: not a string", field);
            return -EINVAL;
        }
        if (garp_parse_ip(field, json_string(ip), &ip4, &ip6, &v6,
                          err, errlen)) {
            return -EINVAL;
        }
        if ((v6 ? ++n6 : ++n4) > NM_LEARNED_MAX) {
            snprintf(err, errlen, "learned[%zu].ips: more than %d %s "
                     "addresses", i, NM_LEARNED_MAX, v6 ? "IPv6" : "IPv4");
            return -EINVAL;
        }
    }
    return 0;
}

int
nm_vm_addrs_add_learned(struct nm_vm_addrs *addrs, const struct json *learned,
                        char *err, size_t errlen)
{
    if (!learned || learned->type != JSON_ARRAY) {
        snprintf(err, errlen, "learned: missing or not an array");
        return -EINVAL;
    }
    /* Everything checked first: a refused document changes nothing.  One
     * entry an interface, so that the caps hold for the interface. */
    for (size_t i = 0; i < json_array(learned)->n; i++) {
        struct nm_iface_addrs *ia, *other;
        if (check_learned(addrs, json_array(learned)->elems[i], i, &ia,
                          err, errlen)) {
            return -EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            check_learned(addrs, json_array(learned)->elems[k], k, &other,
                          err, errlen);
            if (other == ia) {
                snprintf(err, errlen, "learned[%zu].mac: the same "
                         "interface as learned[%zu]", i, k);
                return -EINVAL;
            }
        }
    }
    for (size_t i = 0; i < json_array(learned)->n; i++) {
        const struct json *e = json_array(learned)->elems[i];
        const struct json *ips = nm_json_member(e, "ips");
        struct nm_iface_addrs *ia;
        check_learned(addrs, e, i, &ia, err, errlen);
        for (size_t k = 0; k < json_array(ips)->n; k++) {
            add_ip(ia, "learned", json_string(json_array(ips)->elems[k]),
                   err, errlen);
        }
    }
    return 0;
}

int
nm_vm_addrs_check(const struct nm_vm_addrs *addrs,
                  const struct nm_vm_addrs *known,
                  const struct nm_config *cfg,
                  const struct nm_network *const *nets,
                  const char *field, char *err, size_t errlen)
{
    char reason[NM_VMADDR_ERRLEN];
    struct in6_addr *ips;
    size_t *ifaces;
    int error = 0;

    for (size_t i = 0; !known && i < addrs->n_ifaces; i++) {
        if (nm_config_check_mac(cfg, addrs->ifaces[i].mac, reason,
                                sizeof reason)) {
            snprintf(err, errlen, "%s: attached-mac: %s", field, reason);
            return -EINVAL;
        }
    }
    size_t n = nm_vm_addrs_list(addrs, &ips, &ifaces);
    for (size_t k = 0; k < n && !error; k++) {
        size_t i = ifaces[k];
        if (known && i < known->n_ifaces
            && nm_vm_addrs_has(known, i, &ips[k])) {
            continue;
        }
        error = nm_config_check_ip(cfg, nets[i], &ips[k], reason,
                                   sizeof reason);
        if (error) {
            snprintf(err, errlen, "%s: %s", field, reason);
        }
    }
    free(ips);
    free(ifaces);
    return error;
}

size_t
nm_vm_addrs_list(const struct nm_vm_addrs *addrs, struct in6_addr **ipsp,
                 size_t **ifacesp)
{
    size_t n = 0;

    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        n += addrs->ifaces[i].n_ipv4 + addrs->ifaces[i].n_ipv6;
    }
    struct in6_addr *ips = xcalloc(n ? n : 1, sizeof *ips);
    size_t *ifaces = xcalloc(n ? n : 1, sizeof *ifaces);
    n = 0;
    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &addrs->ifaces[i];
        for (size_t k = 0; k < ia->n_ipv4; k++) {
            ifaces[n] = i;
            ips[n++] = in6_addr_mapped_ipv4(ia->ipv4[k]);
        }
        for (size_t k = 0; k < ia->n_ipv6; k++) {
            ifaces[n] = i;
            ips[n++] = ia->ipv6[k];
        }
    }
    *ipsp = ips;
    *ifacesp = ifaces;
    return n;
}

bool
nm_vm_addrs_has(const struct nm_vm_addrs *addrs, size_t i,
                const struct in6_addr *ip)
{
    const struct nm_iface_addrs *ia = &addrs->ifaces[i];
    ovs_be32 ip4 = in6_addr_get_mapped_ipv4(ip);

    for (size_t k = 0; ip4 && k < ia->n_ipv4; k++) {
        if (ia->ipv4[k] == ip4) {
            return true;
        }
    }
    for (size_t k = 0; !ip4 && k < ia->n_ipv6; k++) {
        if (ipv6_addr_equals(&ia->ipv6[k], ip)) {
            return true;
        }
    }
    return false;
}

void
nm_vm_addrs_remove(struct nm_vm_addrs *addrs, size_t i,
                   const struct in6_addr *ip)
{
    struct nm_iface_addrs *ia = &addrs->ifaces[i];
    ovs_be32 ip4 = in6_addr_get_mapped_ipv4(ip);

    for (size_t k = 0; ip4 && k < ia->n_ipv4; k++) {
        if (ia->ipv4[k] == ip4) {
            ia->ipv4[k--] = ia->ipv4[--ia->n_ipv4];
        }
    }
    for (size_t k = 0; !ip4 && k < ia->n_ipv6; k++) {
        if (ipv6_addr_equals(&ia->ipv6[k], ip)) {
            ia->ipv6[k--] = ia->ipv6[--ia->n_ipv6];
        }
    }
}

void
nm_vm_addrs_destroy(struct nm_vm_addrs *addrs)
{
    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        free(addrs->ifaces[i].port);
        free(addrs->ifaces[i].ipv4);
        free(addrs->ifaces[i].ipv6);
    }
    free(addrs->ifaces);
    memset(addrs, 0, sizeof *addrs);
}

void
nm_vm_addrs_ct_filter(const struct nm_vm_addrs *addrs, struct ct_filter *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &addrs->ifaces[i];
        f->addrs = xrealloc(f->addrs, (f->n_addrs + ia->n_ipv4 + ia->n_ipv6)
                                      * sizeof *f->addrs);
        for (size_t k = 0; k < ia->n_ipv4; k++) {
            struct fw_ct_addr *a = &f->addrs[f->n_addrs++];
            memset(a, 0, sizeof *a);
            a->family = AF_INET;
            memcpy(a->bytes, &ia->ipv4[k], 4);
        }
        for (size_t k = 0; k < ia->n_ipv6; k++) {
            struct fw_ct_addr *a = &f->addrs[f->n_addrs++];
            a->family = AF_INET6;
            memcpy(a->bytes, &ia->ipv6[k], 16);
        }
    }
}

struct json *
nm_vm_addrs_to_json(const struct nm_vm_addrs *addrs)
{
    struct json *array = json_array_create_empty();

    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        const struct nm_iface_addrs *ia = &addrs->ifaces[i];
        struct json *o = json_object_create();
        struct json *ips = json_array_create_empty();
        char buf[INET6_ADDRSTRLEN];

        json_object_put_string(o, "port", ia->port);
        json_object_put_format(o, "mac", ETH_ADDR_FMT, ETH_ADDR_ARGS(ia->mac));
        for (size_t k = 0; k < ia->n_ipv4; k++) {
            json_array_add(ips, json_string_create(
                               inet_ntop(AF_INET, &ia->ipv4[k], buf, sizeof buf)));
        }
        for (size_t k = 0; k < ia->n_ipv6; k++) {
            json_array_add(ips, json_string_create(
                               inet_ntop(AF_INET6, &ia->ipv6[k], buf, sizeof buf)));
        }
        json_object_put(o, "ips", ips);
        json_array_add(array, o);
    }
    return array;
}

struct json *
nm_vm_addrs_ips_json(const struct nm_vm_addrs *addrs,
                     const struct nm_vm_addrs *except)
{
    struct json *out = json_array_create_empty();
    struct in6_addr *ips;
    size_t *ifaces;
    size_t n = nm_vm_addrs_list(addrs, &ips, &ifaces);

    for (size_t i = 0; i < addrs->n_ifaces; i++) {
        struct json *list = json_array_create_empty();
        for (size_t k = 0; k < n; k++) {
            char buf[INET6_ADDRSTRLEN];
            if (ifaces[k] != i
                || (except && i < except->n_ifaces
                    && nm_vm_addrs_has(except, i, &ips[k]))) {
                continue;
            }
            ipv6_string_mapped(buf, &ips[k]);
            json_array_add(list, json_string_create(buf));
        }
        if (!json_array(list)->n) {
            json_destroy(list);
            continue;
        }
        struct json *e = json_object_create();
        json_object_put_format(e, "mac", ETH_ADDR_FMT,
                               ETH_ADDR_ARGS(addrs->ifaces[i].mac));
        json_object_put(e, "ips", list);
        json_array_add(out, e);
    }
    free(ips);
    free(ifaces);
    return out;
}
