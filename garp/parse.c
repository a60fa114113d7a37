/* garp: parsing user input (MACs, addresses, VLAN ids, kinds, numbers) with
 * messages that name the field, and the module's small address helpers. */
#include "garp/garp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packets.h"

#include "garp/garp-private.h"

static int
verr(int error, char *err, size_t errlen, const char *fmt, va_list args)
{
    if (err && errlen) {
        vsnprintf(err, errlen, fmt, args);
    }
    return error;
}

int
garp_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    verr(-EINVAL, err, errlen, fmt, args);
    va_end(args);
    return -EINVAL;
}

int
garp_errno(int error, char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    verr(error, err, errlen, fmt, args);
    va_end(args);
    return error;
}

int
garp_grow(void **arrayp, size_t n, size_t *allocated, size_t elem_size,
          size_t initial)
{
    size_t want;
    void *p;

    if (n < *allocated) {
        return 0;
    }
    want = *allocated ? 2 * *allocated : initial;
    p = realloc(*arrayp, want * elem_size);
    if (!p) {
        return -ENOMEM;
    }
    *arrayp = p;
    *allocated = want;
    return 0;
}

/* Exactly "xx:xx:xx:xx:xx:xx" in hex: the scanner behind
 * eth_addr_from_string() also takes "2:0:0:0:0:1" or "0x02:...", which a
 * user almost certainly did not mean. */
static bool
mac_syntax_ok(const char *s)
{
    if (strlen(s) != 17) {
        return false;
    }
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char) s[i])) {
            return false;
        }
    }
    return true;
}

int
garp_parse_mac(const char *field, const char *s, struct eth_addr *mac,
               char *err, size_t errlen)
{
    if (!mac_syntax_ok(s) || !eth_addr_from_string(s, mac)) {
        return garp_err(err, errlen, "%s: '%s' is not a MAC address "
                        "(expected xx:xx:xx:xx:xx:xx)", field, s);
    }
    if (eth_addr_is_zero(*mac)) {
        return garp_err(err, errlen, "%s: '%s' is the all-zero MAC, which "
                        "no VM owns", field, s);
    }
    if (eth_addr_is_broadcast(*mac)) {
        return garp_err(err, errlen, "%s: '%s' is the broadcast MAC, which "
                        "no VM owns", field, s);
    }
    if (eth_addr_is_multicast(*mac)) {
        return garp_err(err, errlen, "%s: '%s' is a multicast MAC "
                        "(group bit set), which no VM owns", field, s);
    }
    return 0;
}

int
garp_parse_ip(const char *field, const char *s, ovs_be32 *ip4,
              struct in6_addr *ip6, bool *is_v6, char *err, size_t errlen)
{
    if (ip_parse(s, ip4)) {
        uint32_t h = ntohl(*ip4);

        *is_v6 = false;
        if (!h || h == UINT32_MAX || ip_is_multicast(*ip4)
            || (h >> 24) == 127 || (h >> 28) == 0xf) {
            return garp_err(err, errlen, "%s: '%s' is not a unicast IPv4 "
                            "address a VM can own", field, s);
        }
        return 0;
    }
    if (ipv6_parse(s, ip6)) {
        *is_v6 = true;
        if (ipv6_is_zero(ip6) || ipv6_addr_is_multicast(ip6)
            || ipv6_addr_equals(ip6, &in6addr_loopback)
            || IN6_IS_ADDR_V4MAPPED(ip6)) {
            return garp_err(err, errlen, "%s: '%s' is not a unicast IPv6 "
                            "address a VM can own", field, s);
        }
        return 0;
    }
    return garp_err(err, errlen, "%s: '%s' is not an IPv4 or IPv6 address",
                    field, s);
}

int
garp_parse_uint(const char *field, const char *s, unsigned long long min,
                unsigned long long max, unsigned long long *value,
                char *err, size_t errlen)
{
    char *end;

    errno = 0;
    if (!isdigit((unsigned char) s[0])) {
        goto bad;
    }
    *value = strtoull(s, &end, 10);
    if (errno || *end) {
        goto bad;
    }
    if (*value < min || *value > max) {
        return garp_err(err, errlen, "%s: %s is out of range (%llu to %llu)",
                        field, s, min, max);
    }
    return 0;

bad:
    return garp_err(err, errlen, "%s: '%s' is not a non-negative integer",
                    field, s);
}

int
garp_parse_vlan(const char *field, const char *s, uint16_t *vid,
                char *err, size_t errlen)
{
    unsigned long long v;

    if (garp_parse_uint(field, s, 1, 4094, &v, NULL, 0)) {
        return garp_err(err, errlen, "%s: '%s' is not a VLAN id (1 to 4094)",
                        field, s);
    }
    *vid = v;
    return 0;
}

int
garp_parse_kinds(const char *field, const char *s, unsigned int *kinds,
                 char *err, size_t errlen)
{
    char *copy = strdup(s), *save = NULL;
    int error = 0;

    if (!copy) {
        return -ENOMEM;
    }
    *kinds = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        enum garp_kind k;

        for (k = 0; k < GARP_N_KINDS; k++) {
            if (!strcmp(tok, garp_kind_name(k))) {
                break;
            }
        }
        if (k == GARP_N_KINDS) {
            error = garp_err(err, errlen, "%s: unknown kind '%s' (expected "
                             "a list of rarp, garp, na)", field, tok);
            break;
        }
        *kinds |= 1u << k;
    }
    if (!error && !*kinds) {
        error = garp_err(err, errlen, "%s: empty list (expected a list of "
                         "rarp, garp, na)", field);
    }
    free(copy);
    return error;
}

const char *
garp_kind_name(enum garp_kind kind)
{
    switch (kind) {
    case GARP_KIND_RARP: return "rarp";
    case GARP_KIND_GARP: return "garp";
    case GARP_KIND_NA: return "na";
    case GARP_N_KINDS: break;
    }
    return "?";
}

void
garp_addr_from_ipv4(ovs_be32 ip, struct in6_addr *addr)
{
    *addr = in6_addr_mapped_ipv4(ip);
}

bool
garp_addr_is_ipv4(const struct in6_addr *addr)
{
    return IN6_IS_ADDR_V4MAPPED(addr);
}

const char *
garp_addr_format(const struct in6_addr *addr, char *buf, size_t size)
{
    if (IN6_IS_ADDR_V4MAPPED(addr)) {
        inet_ntop(AF_INET, &addr->s6_addr[12], buf, size);
    } else {
        inet_ntop(AF_INET6, addr, buf, size);
    }
    return buf;
}
