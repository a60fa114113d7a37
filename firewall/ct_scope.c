/* firewall: what a conntrack import for one VM may hold (README.md
 * "Scope").  A peer's document could otherwise create entries for any
 * connection of the host (an "established" entry opens the firewall to
 * it; a NAT entry redirects it), delete any, or fill the table. */
#include "firewall/firewall-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "util.h"

#include "firewall/firewall.h"

/* An address attribute of 'ct', or NULL. */
static const uint8_t *
ct_addr(const struct nf_conntrack *ct, int v4, int v6)
{
    int attr = nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET ? v4 : v6;

    return nfct_attr_is_set(ct, attr) ? nfct_get_attr(ct, attr) : NULL;
}

#define ORIG_SRC(CT) ct_addr(CT, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC)
#define ORIG_DST(CT) ct_addr(CT, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST)
#define REPL_SRC(CT) ct_addr(CT, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC)
#define REPL_DST(CT) ct_addr(CT, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST)
#define SNAT(CT) ct_addr(CT, ATTR_SNAT_IPV4, ATTR_SNAT_IPV6)
#define DNAT(CT) ct_addr(CT, ATTR_DNAT_IPV4, ATTR_DNAT_IPV6)

static size_t
addr_len(const struct nf_conntrack *ct)
{
    return nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET ? 4 : 16;
}

/* True if 'a' (of 'ct''s family) is one of the VM's addresses. */
static bool
vm_has(const struct ct_scope *scope, const struct nf_conntrack *ct,
       const uint8_t *a)
{
    int family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    const struct ct_filter *f = scope->vm_addrs;

    for (size_t i = 0; a && f && i < f->n_addrs; i++) {
        if (f->addrs[i].family == family
            && !memcmp(f->addrs[i].bytes, a, addr_len(ct))) {
            return true;
        }
    }
    return false;
}

static bool
same_addr(const struct nf_conntrack *ct, const uint8_t *a, const uint8_t *b)
{
    return a && b && !memcmp(a, b, addr_len(ct));
}

/* 'a' as text, in 'buf'. */
static const char *
addr_str(const struct nf_conntrack *ct, const uint8_t *a, char *buf,
         size_t size)
{
    if (!a || !inet_ntop(nfct_get_attr_u8(ct, ATTR_L3PROTO), a, buf, size)) {
        snprintf(buf, size, "?");
    }
    return buf;
}

/* Checks the NAT of entry 'ct' ('path' for messages): the translation is
 * the VM's, and the reply tuple is the one the kernel will derive from it
 * (it recomputes the reply from the original and the NAT). */
static int
check_nat(const struct ct_scope *scope, const struct nf_conntrack *ct,
          const char *path, char *err, size_t errlen)
{
    const uint8_t *snat = SNAT(ct), *dnat = DNAT(ct);
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

    if (dnat) {
        if (!vm_has(scope, ct, dnat)) {
            return doc_error(err, errlen, "%s.dnat: %s is not an address of "
                             "the VM", path, addr_str(ct, dnat, a, sizeof a));
        }
        if (!same_addr(ct, dnat, REPL_SRC(ct))) {
            return doc_error(err, errlen, "%s.dnat: %s is not the reply "
                             "tuple's source %s", path,
                             addr_str(ct, dnat, a, sizeof a),
                             addr_str(ct, REPL_SRC(ct), b, sizeof b));
        }
    }
    if (snat) {
        /* A connection of the VM's, or one destination-NATed to it. */
        if (!vm_has(scope, ct, ORIG_SRC(ct)) && !dnat) {
            return doc_error(err, errlen, "%s.snat: source %s is not an "
                             "address of the VM", path,
                             addr_str(ct, ORIG_SRC(ct), a, sizeof a));
        }
        if (!same_addr(ct, snat, REPL_DST(ct))) {
            return doc_error(err, errlen, "%s.snat: %s is not the reply "
                             "tuple's destination %s", path,
                             addr_str(ct, snat, a, sizeof a),
                             addr_str(ct, REPL_DST(ct), b, sizeof b));
        }
    }
    return 0;
}

static int
check_entry(const struct ct_scope *scope, const struct nf_conntrack *ct,
            bool gone, const char *path, char *err, size_t errlen)
{
    uint32_t max_timeout = scope->max_timeout ? scope->max_timeout
                                              : CT_SCOPE_TIMEOUT_MAX;
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    uint16_t zone = (nfct_attr_is_set(ct, ATTR_ZONE)
                     ? nfct_get_attr_u16(ct, ATTR_ZONE) : 0);
    bool orig = (vm_has(scope, ct, ORIG_SRC(ct))
                 || vm_has(scope, ct, ORIG_DST(ct)));

    /* netmove configures no zones: a VM's entries are in zone 0. */
    if (zone) {
        return doc_error(err, errlen, "%s.zone: %u: only zone 0 is "
                         "imported", path, zone);
    }
    if (gone) {
        if (!orig) {
            return doc_error(err, errlen, "%s: neither %s nor %s is an "
                             "address of the VM", path,
                             addr_str(ct, ORIG_SRC(ct), a, sizeof a),
                             addr_str(ct, ORIG_DST(ct), b, sizeof b));
        }
        return 0;
    }
    if (nfct_attr_is_set(ct, ATTR_TIMEOUT)
        && nfct_get_attr_u32(ct, ATTR_TIMEOUT) > max_timeout) {
        return doc_error(err, errlen, "%s.timeout: %"PRIu32" s is over the "
                         "limit of %"PRIu32" s", path,
                         nfct_get_attr_u32(ct, ATTR_TIMEOUT), max_timeout);
    }
    if (SNAT(ct) || DNAT(ct)) {
        return check_nat(scope, ct, path, err, errlen);
    }
    if (!orig) {
        return doc_error(err, errlen, "%s: neither %s nor %s is an address "
                         "of the VM", path,
                         addr_str(ct, ORIG_SRC(ct), a, sizeof a),
                         addr_str(ct, ORIG_DST(ct), b, sizeof b));
    }
    /* Without NAT the reply is the original reversed; another reply tuple
     * would make the host's traffic "established" for this entry. */
    if (!vm_has(scope, ct, REPL_SRC(ct)) && !vm_has(scope, ct, REPL_DST(ct))) {
        return doc_error(err, errlen, "%s: reply tuple %s -> %s holds no "
                         "address of the VM", path,
                         addr_str(ct, REPL_SRC(ct), a, sizeof a),
                         addr_str(ct, REPL_DST(ct), b, sizeof b));
    }
    return 0;
}

int
ct_table_check_scope(const struct ct_table *tab, const struct ct_scope *scope,
                     char *err, size_t errlen)
{
    size_t max = scope->max_entries ? scope->max_entries
                                    : CT_SCOPE_ENTRIES_MAX;
    size_t i_entry = 0, i_gone = 0;

    if (ct_table_count(tab) > max) {
        return doc_error(err, errlen, "entries: %zu entries, over the limit "
                         "of %zu for one VM", ct_table_count(tab), max);
    }
    if (tab->n_gone > max) {
        return doc_error(err, errlen, "gone: %zu entries, over the limit of "
                         "%zu for one VM", tab->n_gone, max);
    }
    for (size_t i = 0; i < tab->n; i++) {
        const struct ct_entry *e = &tab->entries[i];
        char path[32];
        int error;

        if (e->gone) {
            snprintf(path, sizeof path, "gone[%zu]", i_gone++);
        } else {
            snprintf(path, sizeof path, "entries[%zu]", i_entry++);
        }
        error = check_entry(scope, e->ct, e->gone, path, err, errlen);
        if (error) {
            return error;
        }
    }
    return 0;
}

int
ct_import_scoped(const struct ct_table *tab, const struct ct_scope *scope,
                 size_t *created, size_t *updated, size_t *deleted,
                 char *err, size_t errlen)
{
    int error = ct_table_check_scope(tab, scope, err, errlen);

    if (error) {
        if (created) {
            *created = 0;
        }
        if (updated) {
            *updated = 0;
        }
        if (deleted) {
            *deleted = 0;
        }
        return error;
    }
    return ct_import(tab, created, updated, deleted, err, errlen);
}
