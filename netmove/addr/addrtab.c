/* The learned-address table: which addresses each known VM interface has
 * claimed in its own frames, and which of them may be announced.  Pure:
 * the caller gives the clock.  Small linear arrays: a host has hundreds of
 * VM interfaces at most, each at most max_ipv4 + max_ipv6 addresses. */
#include "netmove/addr/addrlearn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/addrtab-private.h"
#include "netmove/addr/vmaddr.h"

const char *
nm_addrtab_verdict_name(enum nm_addrtab_verdict v)
{
    static const char *const names[NM_ADDRTAB_N_VERDICTS] = {
        [NM_ADDRTAB_LEARNED] = "learned",
        [NM_ADDRTAB_REFRESHED] = "refreshed",
        [NM_ADDRTAB_UNKNOWN_IFACE] = "unknown-iface",
        [NM_ADDRTAB_OTHER_MAC] = "other-mac",
        [NM_ADDRTAB_BAD_ADDR] = "bad-address",
    };
    return v < NM_ADDRTAB_N_VERDICTS ? names[v] : "?";
}

int
nm_addrtab_create(const struct nm_addrtab_params *p,
                  struct nm_addrtab **tabp, char *err, size_t errlen)
{
    static const struct nm_addrtab_params defaults;
    struct nm_addrtab *tab;

    *tabp = NULL;
    if (!p) {
        p = &defaults;
    }
    if (p->max_ipv4 > NM_ADDRTAB_MAX_PER_FAMILY_LIMIT
        || p->max_ipv6 > NM_ADDRTAB_MAX_PER_FAMILY_LIMIT) {
        snprintf(err, errlen, "%s: %u is over the limit %d",
                 p->max_ipv4 > NM_ADDRTAB_MAX_PER_FAMILY_LIMIT
                 ? "max_ipv4" : "max_ipv6",
                 MAX(p->max_ipv4, p->max_ipv6),
                 NM_ADDRTAB_MAX_PER_FAMILY_LIMIT);
        return -EINVAL;
    }
    tab = xzalloc(sizeof *tab);
    tab->max_age_us = p->max_age_us ? p->max_age_us
                      : NM_ADDRTAB_MAX_AGE_DEFAULT_US;
    tab->max_ipv4 = p->max_ipv4 ? p->max_ipv4
                    : NM_ADDRTAB_MAX_PER_FAMILY_DEFAULT;
    tab->max_ipv6 = p->max_ipv6 ? p->max_ipv6
                    : NM_ADDRTAB_MAX_PER_FAMILY_DEFAULT;
    *tabp = tab;
    return 0;
}

void
at_iface_clear(struct at_iface *i)
{
    free(i->iface);
    free(i->vm);
    free(i->network);
    free(i->addrs);
    memset(i, 0, sizeof *i);
}

void
nm_addrtab_destroy(struct nm_addrtab *tab)
{
    if (!tab) {
        return;
    }
    for (size_t i = 0; i < tab->n_ifaces; i++) {
        at_iface_clear(&tab->ifaces[i]);
    }
    free(tab->ifaces);
    free(tab);
}

static bool
same_network(const char *a, const char *b)
{
    return a && b ? !strcmp(a, b) : a == b;
}

bool
at_aged(const struct nm_addrtab *tab, const struct at_addr *a, uint64_t now)
{
    /* A clock stepped back makes an address younger, never older. */
    return now > a->last && now - a->last > tab->max_age_us;
}

struct at_addr *
at_iface_find(const struct at_iface *i, const struct in6_addr *addr)
{
    for (size_t k = 0; k < i->n; k++) {
        if (ipv6_addr_equals(&i->addrs[k].addr, addr)) {
            return &i->addrs[k];
        }
    }
    return NULL;
}

bool
at_conflicted(const struct nm_addrtab *tab, size_t idx,
              const struct at_addr *a, uint64_t now)
{
    const struct at_iface *self = &tab->ifaces[idx];

    for (size_t k = 0; k < tab->n_ifaces; k++) {
        const struct at_iface *other = &tab->ifaces[k];
        const struct at_addr *b;

        if (k != idx && same_network(self->network, other->network)
            && (b = at_iface_find(other, &a->addr)) && !at_aged(tab, b, now)) {
            return true;
        }
    }
    return false;
}

void
at_iface_add(const struct nm_addrtab *tab, struct at_iface *i,
             const struct at_addr *a)
{
    bool v4 = IN6_IS_ADDR_V4MAPPED(&a->addr);
    unsigned int max = v4 ? tab->max_ipv4 : tab->max_ipv6;
    size_t n_family = 0, oldest = SIZE_MAX;

    for (size_t k = 0; k < i->n; k++) {
        if (IN6_IS_ADDR_V4MAPPED(&i->addrs[k].addr) == v4) {
            n_family++;
            if (oldest == SIZE_MAX
                || i->addrs[k].last < i->addrs[oldest].last) {
                oldest = k;
            }
        }
    }
    if (n_family >= max) {
        if (a->last < i->addrs[oldest].last) {
            return;
        }
        memmove(&i->addrs[oldest], &i->addrs[oldest + 1],
                (i->n - oldest - 1) * sizeof *i->addrs);
        i->n--;
    }
    if (i->n >= i->allocated) {
        i->addrs = x2nrealloc(i->addrs, &i->allocated, sizeof *i->addrs);
    }
    i->addrs[i->n++] = *a;
}

static struct at_iface *
find_iface(const struct nm_addrtab *tab, const char *name,
           const struct eth_addr *mac)
{
    for (size_t k = 0; k < tab->n_ifaces; k++) {
        struct at_iface *i = &tab->ifaces[k];

        if (!strcmp(i->iface, name)
            && (!mac || eth_addr_equals(i->mac, *mac))) {
            return i;
        }
    }
    return NULL;
}

static int
check_ports(const struct nm_addrtab_port *ports, size_t n, char *err,
            size_t errlen)
{
    for (size_t k = 0; k < n; k++) {
        const struct nm_addrtab_port *p = &ports[k];

        if (!p->iface || !p->iface[0] || strlen(p->iface) >= IF_NAMESIZE) {
            snprintf(err, errlen, "ports[%zu].iface: '%s' is not an "
                     "interface name", k, p->iface ? p->iface : "");
            return -EINVAL;
        }
        if (eth_addr_is_zero(p->mac) || eth_addr_is_multicast(p->mac)) {
            snprintf(err, errlen, "ports[%zu].mac: "ETH_ADDR_FMT" (%s) is "
                     "not a VM's MAC", k, ETH_ADDR_ARGS(p->mac), p->iface);
            return -EINVAL;
        }
        for (size_t j = 0; j < k; j++) {
            if (!strcmp(ports[j].iface, p->iface)) {
                snprintf(err, errlen, "ports[%zu].iface: '%s' is also "
                         "ports[%zu]", k, p->iface, j);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int
nm_addrtab_set_ports(struct nm_addrtab *tab,
                     const struct nm_addrtab_port *ports, size_t n,
                     char *err, size_t errlen)
{
    struct at_iface *ifaces;
    int error = check_ports(ports, n, err, errlen);

    if (error) {
        return error;
    }
    ifaces = xcalloc(n ? n : 1, sizeof *ifaces);
    for (size_t k = 0; k < n; k++) {
        struct at_iface *old = find_iface(tab, ports[k].iface,
                                          &ports[k].mac);
        struct at_iface *i = &ifaces[k];

        if (old) {
            /* Keeps what it learned; the rest of 'old' is freed below. */
            i->addrs = old->addrs;
            i->n = old->n;
            i->allocated = old->allocated;
            old->addrs = NULL;
            old->n = old->allocated = 0;
        }
        i->iface = xstrdup(ports[k].iface);
        i->mac = ports[k].mac;
        i->vm = nullable_xstrdup(ports[k].vm);
        i->network = nullable_xstrdup(ports[k].network);
    }
    for (size_t k = 0; k < tab->n_ifaces; k++) {
        at_iface_clear(&tab->ifaces[k]);
    }
    free(tab->ifaces);
    tab->ifaces = ifaces;
    tab->n_ifaces = n;
    tab->ports_set = true;
    return 0;
}

enum nm_addrtab_verdict
nm_addrtab_claim(struct nm_addrtab *tab, const char *iface,
                 const struct garp_claim *claim, uint64_t now_us)
{
    struct at_iface *i;
    struct at_addr *a;

    if (!garp_addr_ownable(&claim->addr)) {
        return NM_ADDRTAB_BAD_ADDR;
    }
    i = tab->ports_set && iface ? find_iface(tab, iface, NULL) : NULL;
    if (!i) {
        return NM_ADDRTAB_UNKNOWN_IFACE;
    }
    if (!eth_addr_equals(i->mac, claim->mac)) {
        return NM_ADDRTAB_OTHER_MAC;
    }
    a = at_iface_find(i, &claim->addr);
    if (a) {
        a->last = MAX(a->last, now_us);
        a->vlan = claim->vlan;
        return NM_ADDRTAB_REFRESHED;
    }
    at_iface_add(tab, i, &(struct at_addr) {
                     .addr = claim->addr, .vlan = claim->vlan,
                     .first = now_us, .last = now_us });
    return NM_ADDRTAB_LEARNED;
}

/* Calls 'cb' for each address of 'tab->ifaces[idx]' that a query with
 * 'flags' at 'now' gives, IPv4 first. */
static void
for_each_addr(const struct nm_addrtab *tab, size_t idx, uint64_t now,
              unsigned int flags,
              void (*cb)(void *aux, const struct nm_addrtab_entry *),
              void *aux)
{
    const struct at_iface *i = &tab->ifaces[idx];

    for (int v4 = 1; v4 >= 0; v4--) {
        for (size_t k = 0; k < i->n; k++) {
            const struct at_addr *a = &i->addrs[k];
            struct nm_addrtab_entry e;

            if (IN6_IS_ADDR_V4MAPPED(&a->addr) != v4 || at_aged(tab, a, now)) {
                continue;
            }
            e = (struct nm_addrtab_entry) {
                .addr = a->addr, .vlan = a->vlan,
                .link_local = garp_addr_is_link_local(&a->addr),
                .conflicted = at_conflicted(tab, idx, a, now),
                .first_seen_us = a->first, .last_seen_us = a->last,
            };
            if ((e.link_local && !(flags & NM_ADDRTAB_LINK_LOCAL))
                || (e.conflicted && !(flags & NM_ADDRTAB_CONFLICTED))) {
                continue;
            }
            cb(aux, &e);
        }
    }
}

struct collect {
    struct nm_addrtab_entry *out;
    size_t n, max;
};

static void
collect_cb(void *c_, const struct nm_addrtab_entry *e)
{
    struct collect *c = c_;

    if (c->n < c->max) {
        c->out[c->n] = *e;
    }
    c->n++;
}

size_t
nm_addrtab_addrs(const struct nm_addrtab *tab, const char *iface,
                 uint64_t now_us, unsigned int flags,
                 struct nm_addrtab_entry *out, size_t max)
{
    struct collect c = { out, 0, max };

    for (size_t k = 0; tab->ports_set && iface && k < tab->n_ifaces; k++) {
        if (!strcmp(tab->ifaces[k].iface, iface)) {
            for_each_addr(tab, k, now_us, flags, collect_cb, &c);
        }
    }
    return c.n;
}

size_t
nm_addrtab_vm_addrs(const struct nm_addrtab *tab, const char *vm,
                    uint64_t now_us, unsigned int flags,
                    struct nm_addrtab_entry *out, size_t max)
{
    struct collect c = { out, 0, max };

    for (size_t k = 0; tab->ports_set && vm && k < tab->n_ifaces; k++) {
        if (tab->ifaces[k].vm && !strcmp(tab->ifaces[k].vm, vm)) {
            for_each_addr(tab, k, now_us, flags, collect_cb, &c);
        }
    }
    return c.n;
}

struct merge {
    struct nm_iface_addrs *ia;
    size_t n_added;
};

static void
merge_cb(void *m_, const struct nm_addrtab_entry *e)
{
    struct merge *m = m_;
    struct nm_iface_addrs *ia = m->ia;

    if (IN6_IS_ADDR_V4MAPPED(&e->addr)) {
        ovs_be32 ip = in6_addr_get_mapped_ipv4(&e->addr);

        for (size_t k = 0; k < ia->n_ipv4; k++) {
            if (ia->ipv4[k] == ip) {
                return;
            }
        }
        ia->ipv4 = xrealloc(ia->ipv4, (ia->n_ipv4 + 1) * sizeof *ia->ipv4);
        ia->ipv4[ia->n_ipv4++] = ip;
    } else {
        for (size_t k = 0; k < ia->n_ipv6; k++) {
            if (ipv6_addr_equals(&ia->ipv6[k], &e->addr)) {
                return;
            }
        }
        ia->ipv6 = xrealloc(ia->ipv6, (ia->n_ipv6 + 1) * sizeof *ia->ipv6);
        ia->ipv6[ia->n_ipv6++] = e->addr;
    }
    m->n_added++;
}

size_t
nm_addrtab_merge(const struct nm_addrtab *tab, uint64_t now_us,
                 unsigned int flags, struct nm_vm_addrs *addrs)
{
    struct merge m = { NULL, 0 };

    for (size_t k = 0; tab->ports_set && k < addrs->n_ifaces; k++) {
        struct nm_iface_addrs *ia = &addrs->ifaces[k];
        const struct at_iface *i = ia->port
                                   ? find_iface(tab, ia->port, &ia->mac)
                                   : NULL;
        if (i) {
            m.ia = ia;
            for_each_addr(tab, i - tab->ifaces, now_us, flags, merge_cb, &m);
        }
    }
    return m.n_added;
}

int
nm_addrtab_forget(struct nm_addrtab *tab, const char *iface, const char *ip,
                  char *err, size_t errlen)
{
    struct in6_addr addr;
    ovs_be32 ip4;
    bool found = false;

    if (ip && inet_pton(AF_INET, ip, &ip4) == 1) {
        garp_addr_from_ipv4(ip4, &addr);
    } else if (!ip || inet_pton(AF_INET6, ip, &addr) != 1
               || IN6_IS_ADDR_V4MAPPED(&addr)) {
        snprintf(err, errlen, "ip: '%s' is not an IPv4 or IPv6 address",
                 ip ? ip : "");
        return -EINVAL;
    }
    for (size_t k = 0; k < tab->n_ifaces; k++) {
        struct at_iface *i = &tab->ifaces[k];
        struct at_addr *a;

        if ((!iface || !strcmp(i->iface, iface))
            && (a = at_iface_find(i, &addr))) {
            memmove(a, a + 1, (i->n - (a - i->addrs) - 1) * sizeof *a);
            i->n--;
            found = true;
        }
    }
    return found ? 0 : -ENOENT;
}

size_t
nm_addrtab_expire(struct nm_addrtab *tab, uint64_t now_us)
{
    size_t n_dropped = 0;

    for (size_t k = 0; k < tab->n_ifaces; k++) {
        struct at_iface *i = &tab->ifaces[k];
        size_t kept = 0;

        for (size_t j = 0; j < i->n; j++) {
            if (at_aged(tab, &i->addrs[j], now_us)) {
                n_dropped++;
            } else {
                i->addrs[kept++] = i->addrs[j];
            }
        }
        i->n = kept;
    }
    return n_dropped;
}
