/* firewall: family names, hex, the VM tag in nftables comments. */
#include "firewall/firewall-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "util.h"

#include "firewall/firewall.h"

static const struct {
    uint32_t family;
    const char *name;
} families[] = {
    { NFPROTO_INET, "inet" },
    { NFPROTO_IPV4, "ip" },
    { NFPROTO_IPV6, "ip6" },
    { NFPROTO_ARP, "arp" },
    { NFPROTO_BRIDGE, "bridge" },
    { NFPROTO_NETDEV, "netdev" },
};

/* Returns nft's name of nf_tables family 'family', or NULL. */
const char *
fw_family_name(uint32_t family)
{
    for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
        if (families[i].family == family) {
            return families[i].name;
        }
    }
    return NULL;
}

/* Parses nft's family 'name' into '*family'.  Returns 0 or -EINVAL. */
int
fw_family_from_name(const char *name, uint32_t *family)
{
    for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
        if (!strcmp(families[i].name, name)) {
            *family = families[i].family;
            return 0;
        }
    }
    return -EINVAL;
}

char *
fw_hex_encode(const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    char *s = xmalloc(2 * len + 1);

    for (size_t i = 0; i < len; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * len] = '\0';
    return s;
}

static int
hex_digit(char c)
{
    return (c >= '0' && c <= '9' ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : -1);
}

int
fw_hex_decode(const char *text, uint8_t *buf, size_t max, size_t *len)
{
    size_t n = strlen(text);

    if (n % 2 || n / 2 > max) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -EINVAL;
        }
        buf[i] = hi << 4 | lo;
    }
    *len = n / 2;
    return 0;
}

char *
fw_tag(const char *vm)
{
    return xasprintf("netmove:vm=%s", vm);
}

struct comment_match {
    uint8_t type;
    const char *tag;
    bool found;
};

static int
comment_cb(const struct nftnl_udata *attr, void *data)
{
    struct comment_match *m = data;
    const char *value = nftnl_udata_get(attr);
    uint8_t len = nftnl_udata_len(attr);
    size_t taglen = strlen(m->tag);

    /* nft stores the comment NUL-terminated (nftnl_udata_put_strz). */
    if (nftnl_udata_type(attr) == m->type
        && (len == taglen + 1 || len == taglen)
        && !memcmp(value, m->tag, taglen)
        && (len == taglen || value[taglen] == '\0')) {
        m->found = true;
    }
    return 0;
}

bool
fw_udata_has_comment(const void *ud, uint32_t len, uint8_t comment_type,
                     const char *tag)
{
    struct comment_match m = { comment_type, tag, false };

    if (!ud || !len) {
        return false;
    }
    /* A malformed TLV list is nobody's tag. */
    if (nftnl_udata_parse(ud, len, comment_cb, &m) < 0) {
        return false;
    }
    return m.found;
}

bool
fw_set_is_anonymous(const struct nftnl_set *s)
{
    return (nftnl_set_is_set(s, NFTNL_SET_FLAGS)
            && nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS);
}

bool
fw_vm_name_valid(const char *vm)
{
    size_t n = strlen(vm);

    if (!n || n > FW_VM_NAME_MAX) {
        return false;
    }
    /* What VM managers use for names and ids (libvirt domains, UUIDs). */
    return strspn(vm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._:@+-") == n;
}
