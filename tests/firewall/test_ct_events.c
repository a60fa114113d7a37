/* Tests firewall/ct_events.c's deltas without a kernel: event messages
 * built with nfct_nlmsg_build() are fed to the listener, and the GETs and
 * dumps a delta makes go to a fake kernel table (struct ct_events_ops).
 * Also ct_table_apply() and the address index behind ct_export_many(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

/* The fake kernel: the entries it holds now; what was asked of it. */
static struct nf_conntrack *kernel[64];
static size_t n_kernel;
static size_t n_gets, n_dumps;

static struct nf_conntrack *
entry(const char *src, int sport, uint8_t state)
{
    struct nf_conntrack *ct = nfct_new();
    struct in_addr s, d;

    inet_pton(AF_INET, src, &s);
    inet_pton(AF_INET, "198.19.0.1", &d);
    nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
    nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, s.s_addr);
    nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, d.s_addr);
    nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, s.s_addr);
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(sport));
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(5001));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(5001));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
    nfct_set_attr_u8(ct, ATTR_TCP_STATE, state);
    nfct_set_attr_u32(ct, ATTR_STATUS, IPS_CONFIRMED | IPS_ASSURED);
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, 300);
    return ct;
}

static int
find_kernel(const struct nf_conntrack *ct)
{
    char *key = ct_entry_key(ct);
    int at = -1;

    for (size_t i = 0; i < n_kernel; i++) {
        char *k = ct_entry_key(kernel[i]);

        if (!strcmp(k, key)) {
            at = i;
        }
        free(k);
    }
    free(key);
    return at;
}

/* Makes 'ct' the kernel's state of its entry (takes it). */
static void
kernel_set(struct nf_conntrack *ct)
{
    int at = find_kernel(ct);

    if (at >= 0) {
        nfct_destroy(kernel[at]);
        kernel[at] = ct;
    } else {
        assert_true(n_kernel < ARRAY_SIZE(kernel));
        kernel[n_kernel++] = ct;
    }
}

static void
kernel_del(const char *src, int sport)
{
    struct nf_conntrack *ct = entry(src, sport, 0);
    int at = find_kernel(ct);

    assert_true(at >= 0);
    nfct_destroy(kernel[at]);
    kernel[at] = kernel[--n_kernel];
    nfct_destroy(ct);
}

static void
kernel_reset(void)
{
    for (size_t i = 0; i < n_kernel; i++) {
        nfct_destroy(kernel[i]);
    }
    n_kernel = n_gets = n_dumps = 0;
}

static int
fake_get(void *aux OVS_UNUSED, const struct nf_conntrack **cts, size_t n,
         struct nf_conntrack **found)
{
    for (size_t i = 0; i < n; i++) {
        int at = find_kernel(cts[i]);

        found[i] = at >= 0 ? nfct_clone(kernel[at]) : NULL;
    }
    n_gets += n;
    return 0;
}

static int
fake_dump(void *aux OVS_UNUSED, const struct ct_filter *filter,
          struct ct_table **tabp, char *err OVS_UNUSED,
          size_t errlen OVS_UNUSED)
{
    *tabp = ct_table_create();
    for (size_t i = 0; i < n_kernel; i++) {
        if (ct_filter_match(filter, kernel[i])) {
            ct_table_add(*tabp, nfct_clone(kernel[i]));
        }
    }
    n_dumps++;
    return 0;
}

static const struct ct_events_ops fake_ops = { fake_get, fake_dump };

/* Feeds one event: 'what' is 'n'ew, 'u'pdate or 'd'estroy. */
static void
feed(struct ct_events *ev, char what, struct nf_conntrack *ct)
{
    uint8_t buf[4096];
    struct nlmsghdr *nlh;

    nlh = ct_put_header((char *) buf, what == 'd' ? IPCTNL_MSG_CT_DELETE
                        : IPCTNL_MSG_CT_NEW,
                        what == 'n' ? NLM_F_CREATE | NLM_F_EXCL : 0,
                        AF_INET, 0);
    nlh->nlmsg_flags &= ~NLM_F_REQUEST;
    assert_true(nfct_nlmsg_build(nlh, ct) >= 0);
    ct_events_feed(ev, buf, nlh->nlmsg_len);
    nfct_destroy(ct);
}

/* An update event as the kernel sends it: the tuples and what changed. */
static struct nf_conntrack *
update_of_state(const char *src, int sport, uint8_t state)
{
    struct nf_conntrack *ct = entry(src, sport, state);

    nfct_attr_unset(ct, ATTR_TIMEOUT);
    return ct;
}

static void
filter_of(struct ct_filter *f, struct fw_ct_addr *a, const char *addr)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(fw_ct_addr_parse(addr, a), 0);
    f->n_addrs = 1;
    f->addrs = a;
}

/* The delta's entry for source port 'sport', or NULL; '*gone' says how. */
static const struct nf_conntrack *
delta_entry(const struct ct_table *d, int sport, bool *gone)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct nf_conntrack *ct = d->entries[i].ct;

        if (ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)) == sport) {
            *gone = d->entries[i].gone;
            return ct;
        }
    }
    return NULL;
}

/* The base: entries 1..4 of 198.18.1.1, as the export dumped them (and as
 * the kernel holds them), and one of another VM. */
static struct ct_table *
setup_base(void)
{
    struct ct_table *base = ct_table_create();

    kernel_reset();
    for (int p = 1; p <= 4; p++) {
        kernel_set(entry("198.18.1.1", p, TCP_CONNTRACK_ESTABLISHED));
        ct_table_add(base, entry("198.18.1.1", p, TCP_CONNTRACK_ESTABLISHED));
    }
    kernel_set(entry("198.18.2.2", 9, TCP_CONNTRACK_ESTABLISHED));
    return base;
}

/* Events coalesced per entry, the last winning; a destroy is "gone"; an
 * entry born and dead between two deltas is not in it; another VM's
 * events are read but not kept; the base's untouched entries are asked
 * for, one GET each, and one the kernel changed without an event (created
 * before the listener) is in the delta. */
static void
test_coalesce(void **state OVS_UNUSED)
{
    struct ct_events *ev = ct_events_create(&fake_ops, NULL);
    struct ct_table *base = setup_base(), *delta = NULL;
    struct ct_events_stats st;
    struct ct_delta_info info;
    struct fw_ct_addr a;
    struct ct_filter f;
    char err[256] = "";
    bool gone;
    const struct nf_conntrack *ct;

    filter_of(&f, &a, "198.18.1.1");
    ct_events_watch(ev, "m1", &f);
    assert_true(ct_events_watching(ev, "m1"));

    /* 1: two updates, the last wins. */
    feed(ev, 'u', update_of_state("198.18.1.1", 1, TCP_CONNTRACK_FIN_WAIT));
    feed(ev, 'u', update_of_state("198.18.1.1", 1, TCP_CONNTRACK_CLOSE_WAIT));
    kernel_set(entry("198.18.1.1", 1, TCP_CONNTRACK_CLOSE_WAIT));
    /* 2: destroyed. */
    feed(ev, 'd', entry("198.18.1.1", 2, TCP_CONNTRACK_ESTABLISHED));
    kernel_del("198.18.1.1", 2);
    /* 3: changed without an event (an entry older than the listener). */
    kernel_set(entry("198.18.1.1", 3, TCP_CONNTRACK_TIME_WAIT));
    /* 4: untouched.  5: new, then updated.  6: new, then destroyed. */
    feed(ev, 'n', entry("198.18.1.1", 5, TCP_CONNTRACK_SYN_SENT));
    feed(ev, 'u', update_of_state("198.18.1.1", 5,
                                  TCP_CONNTRACK_ESTABLISHED));
    kernel_set(entry("198.18.1.1", 5, TCP_CONNTRACK_ESTABLISHED));
    feed(ev, 'n', entry("198.18.1.1", 6, TCP_CONNTRACK_SYN_SENT));
    feed(ev, 'd', entry("198.18.1.1", 6, TCP_CONNTRACK_SYN_SENT));
    /* Another VM's. */
    feed(ev, 'u', update_of_state("198.18.2.2", 9, TCP_CONNTRACK_CLOSE));

    assert_int_equal(ct_events_delta(ev, "m1", base, &delta, &info, err,
                                     sizeof err), 0);
    assert_int_equal(ct_table_count(delta), 3);         /* 1, 3, 5 */
    assert_int_equal(ct_table_gone_count(delta), 1);    /* 2 */
    ct = delta_entry(delta, 1, &gone);
    assert_non_null(ct);
    assert_false(gone);
    assert_int_equal(nfct_get_attr_u8(ct, ATTR_TCP_STATE),
                     TCP_CONNTRACK_CLOSE_WAIT);
    /* Merged over the base: the timeout the update lacked is kept. */
    assert_int_equal(nfct_get_attr_u32(ct, ATTR_TIMEOUT), 300);
    ct = delta_entry(delta, 2, &gone);
    assert_true(ct && gone);
    ct = delta_entry(delta, 3, &gone);
    assert_true(ct && !gone);
    assert_int_equal(nfct_get_attr_u8(ct, ATTR_TCP_STATE),
                     TCP_CONNTRACK_TIME_WAIT);
    ct = delta_entry(delta, 5, &gone);
    assert_true(ct && !gone);
    assert_int_equal(nfct_get_attr_u8(ct, ATTR_TCP_STATE),
                     TCP_CONNTRACK_ESTABLISHED);
    assert_null(delta_entry(delta, 4, &gone));
    assert_null(delta_entry(delta, 6, &gone));
    assert_null(delta_entry(delta, 9, &gone));
    /* Only 3 and 4 were asked for: the events answered for the rest. */
    assert_int_equal(info.gets, 2);
    assert_int_equal(n_gets, 2);
    assert_int_equal(info.events, 4);                  /* 1, 2, 5, 6 */
    assert_false(info.fallback);
    assert_int_equal(n_dumps, 0);
    ct_events_get_stats(ev, &st);
    assert_int_equal(st.read, 8);
    assert_int_equal(st.matched, 7);
    assert_int_equal(st.deltas, 1);
    assert_int_equal(st.watches, 1);

    /* The base advanced by the delta is the kernel's table now: a second
     * delta without events is empty, and asks for the 4 entries. */
    ct_table_apply(base, delta);
    ct_table_destroy(delta);
    assert_int_equal(ct_table_count(base), 4);          /* 1, 3, 4, 5 */
    n_gets = 0;
    assert_int_equal(ct_events_delta(ev, "m1", base, &delta, &info, err,
                                     sizeof err), 0);
    assert_int_equal(delta->n, 0);
    assert_int_equal(n_gets, 4);
    ct_table_destroy(delta);

    ct_events_unwatch(ev, "m1");
    assert_false(ct_events_watching(ev, "m1"));
    assert_int_equal(ct_events_delta(ev, "m1", base, &delta, &info, err,
                                     sizeof err), -ENOENT);
    ct_table_destroy(base);
    ct_events_close(ev);
    kernel_reset();
}

/* An overrun marks every watch: its next delta is a dump compared with the
 * base (counted), the one after is from events again. */
static void
test_overrun_fallback(void **state OVS_UNUSED)
{
    struct ct_events *ev = ct_events_create(&fake_ops, NULL);
    struct ct_table *base = setup_base(), *delta = NULL;
    struct ct_events_stats st;
    struct ct_delta_info info;
    struct fw_ct_addr a;
    struct ct_filter f;
    char err[256] = "";
    bool gone;

    filter_of(&f, &a, "198.18.1.1");
    ct_events_watch(ev, "m1", &f);
    feed(ev, 'n', entry("198.18.1.1", 7, TCP_CONNTRACK_SYN_SENT));
    ct_events_overrun(ev);
    /* Lost events: 7 established, 1 gone. */
    kernel_set(entry("198.18.1.1", 7, TCP_CONNTRACK_ESTABLISHED));
    kernel_del("198.18.1.1", 1);

    assert_int_equal(ct_events_delta(ev, "m1", base, &delta, &info, err,
                                     sizeof err), 0);
    assert_true(info.fallback);
    assert_int_equal(n_dumps, 1);
    assert_int_equal(n_gets, 0);
    assert_non_null(delta_entry(delta, 7, &gone));
    assert_false(gone);
    assert_non_null(delta_entry(delta, 1, &gone));
    assert_true(gone);
    assert_int_equal(delta->n, 2);
    ct_table_apply(base, delta);
    ct_table_destroy(delta);

    assert_int_equal(ct_events_delta(ev, "m1", base, &delta, &info, err,
                                     sizeof err), 0);
    assert_false(info.fallback);
    assert_int_equal(delta->n, 0);
    assert_int_equal(n_dumps, 1);
    ct_events_get_stats(ev, &st);
    assert_int_equal(st.overruns, 1);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.deltas, 2);
    ct_table_destroy(delta);
    ct_table_destroy(base);
    ct_events_close(ev);
    kernel_reset();
}

/* Two watches of the same address both get its events; unwatching one
 * leaves the other's. */
static void
test_two_watches(void **state OVS_UNUSED)
{
    struct ct_events *ev = ct_events_create(&fake_ops, NULL);
    struct ct_table *base = ct_table_create(), *delta = NULL;
    struct fw_ct_addr a1, a2;
    struct ct_filter f1, f2;
    char err[256] = "";
    bool gone;

    kernel_reset();
    filter_of(&f1, &a1, "198.18.1.1");
    filter_of(&f2, &a2, "198.18.1.1");
    ct_events_watch(ev, "m1", &f1);
    ct_events_watch(ev, "m2", &f2);
    kernel_set(entry("198.18.1.1", 8, TCP_CONNTRACK_SYN_SENT));
    feed(ev, 'n', entry("198.18.1.1", 8, TCP_CONNTRACK_SYN_SENT));
    ct_events_unwatch(ev, "m1");
    assert_int_equal(ct_events_delta(ev, "m2", base, &delta, NULL, err,
                                     sizeof err), 0);
    assert_non_null(delta_entry(delta, 8, &gone));
    ct_table_destroy(delta);
    ct_table_destroy(base);
    ct_events_close(ev);
    kernel_reset();
}

/* ct_table_apply(): replaced by identity, added, removed. */
static void
test_apply(void **state OVS_UNUSED)
{
    struct ct_table *base = ct_table_create(), *delta = ct_table_create();
    char why[256] = "";

    ct_table_add(base, entry("198.18.1.1", 1, TCP_CONNTRACK_ESTABLISHED));
    ct_table_add(base, entry("198.18.1.1", 2, TCP_CONNTRACK_ESTABLISHED));
    ct_table_add(delta, entry("198.18.1.1", 1, TCP_CONNTRACK_CLOSE));
    ct_table_add_gone(delta, entry("198.18.1.1", 2, 0));
    ct_table_add(delta, entry("198.18.1.1", 3, TCP_CONNTRACK_SYN_SENT));
    ct_table_add_gone(delta, entry("198.18.1.1", 4, 0));   /* Unknown. */
    ct_table_apply(base, delta);

    struct ct_table *want = ct_table_create();
    ct_table_add(want, entry("198.18.1.1", 1, TCP_CONNTRACK_CLOSE));
    ct_table_add(want, entry("198.18.1.1", 3, TCP_CONNTRACK_SYN_SENT));
    assert_true(ct_table_equal(base, want, true, why, sizeof why));
    ct_table_destroy(want);
    ct_table_destroy(delta);
    ct_table_destroy(base);
}

/* The index behind ct_export_many(): an entry matches every filter of one
 * of its four addresses, once each, and the zone where a filter has one. */
static void
test_index_match(void **state OVS_UNUSED)
{
    struct ct_filter_index *idx = ct_filter_index_create();
    struct fw_ct_addr a[3];
    struct ct_filter f[4];
    uint8_t buf[4096];
    struct nlmsghdr *nlh;
    struct ct_peek peek;
    size_t ids[8], n;

    filter_of(&f[0], &a[0], "198.18.1.1");
    filter_of(&f[1], &a[1], "198.19.0.1");      /* The peer's address. */
    filter_of(&f[2], &a[2], "198.18.1.1");
    f[2].has_zone = true;
    f[2].zone = 5;
    memset(&f[3], 0, sizeof f[3]);               /* Zone 0 alone. */
    f[3].has_zone = true;
    for (size_t i = 0; i < 4; i++) {
        ct_filter_index_add(idx, &f[i], i);
    }
    nlh = ct_put_header((char *) buf, IPCTNL_MSG_CT_NEW, 0, AF_INET, 0);
    struct nf_conntrack *ct = entry("198.18.1.1", 1, 3);
    assert_true(nfct_nlmsg_build(nlh, ct) >= 0);
    nfct_destroy(ct);
    assert_int_equal(ct_peek(nlh, &peek), 0);
    assert_int_equal(peek.family, AF_INET);
    assert_non_null(peek.addrs[0] && peek.addrs[1] && peek.addrs[2]
                    && peek.addrs[3] ? "all" : NULL);
    n = ct_filter_index_match(idx, &peek, ids, ARRAY_SIZE(ids));
    /* 0 (orig src and reply dst: once), 1, 3; not 2 (zone 5). */
    assert_int_equal(n, 3);
    bool seen[4] = { false };
    for (size_t i = 0; i < n; i++) {
        seen[ids[i]] = true;
    }
    assert_true(seen[0] && seen[1] && seen[3] && !seen[2]);
    ct_filter_index_remove(idx, 1);
    assert_int_equal(ct_filter_index_match(idx, &peek, ids,
                                           ARRAY_SIZE(ids)), 2);
    ct_filter_index_destroy(idx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_overrun_fallback),
        cmocka_unit_test(test_two_watches),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_index_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
