/* Tests netmove/addr/addrtab_json.c: the table's document round-trips; hostile
 * documents are refused with the member named and the table unchanged;
 * the file is written atomically (no temporary left, mode 0600) and a
 * missing, corrupt or oversized file is an error, not a crash. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvswitch/json.h"
#include "util.h"

#include "garp/garp.h"
#include "netmove/addr/addrlearn.h"
#include "netmove/addr/addrtab-private.h"

#define S 1000000ULL
#define T0 (1700000000ULL * S)

static const struct eth_addr mac_a = ETH_ADDR_C(02, 00, 00, 00, 00, 0a);
static const struct eth_addr mac_b = ETH_ADDR_C(02, 00, 00, 00, 00, 0b);
static const struct nm_addrtab_port ports[] = {
    { "qvo-vm1", ETH_ADDR_C(02, 00, 00, 00, 00, 0a), "vm1", NULL },
    { "qvo-vm2", ETH_ADDR_C(02, 00, 00, 00, 00, 0b), "vm2", NULL },
};

static void
feed(struct nm_addrtab *tab, const char *iface, struct eth_addr mac,
     const char *ip, uint16_t vlan, uint64_t now)
{
    struct garp_claim c = { .mac = mac, .vlan = vlan };
    ovs_be32 ip4;

    if (inet_pton(AF_INET, ip, &ip4) == 1) {
        garp_addr_from_ipv4(ip4, &c.addr);
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &c.addr), 1);
    }
    assert_true(nm_addrtab_claim(tab, iface, &c, now) <= NM_ADDRTAB_REFRESHED);
}

/* vm1: two IPv4 (one tagged), an IPv6 and a link-local; vm2 shares
 * 198.18.1.1 (a conflict). */
static struct nm_addrtab *
sample(void)
{
    struct nm_addrtab *tab;
    char err[256];

    assert_int_equal(nm_addrtab_create(NULL, &tab, err, sizeof err), 0);
    assert_int_equal(nm_addrtab_set_ports(tab, ports, 2, err, sizeof err), 0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", 0, T0);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.2", 100, T0 + S);
    feed(tab, "qvo-vm1", mac_a, "2001:db8:1::1", 0, T0 + 2 * S);
    feed(tab, "qvo-vm1", mac_a, "fe80::ff:fe00:a", 0, T0 + 3 * S);
    feed(tab, "qvo-vm1", mac_a, "198.18.1.1", 0, T0 + 4 * S);
    feed(tab, "qvo-vm2", mac_b, "198.18.1.1", 0, T0 + 5 * S);
    return tab;
}

static char *
doc_string(const struct nm_addrtab *tab)
{
    struct json *j = nm_addrtab_to_json(tab);
    char *s = json_to_string(j, JSSF_SORT);

    json_destroy(j);
    return s;
}

static const char sample_doc[] =
    "{\"format\":\"netmove-learned-addresses\",\"ifaces\":["
    "{\"addrs\":["
    "{\"first_seen_us\":1700000000000000,\"ip\":\"198.18.1.1\","
    "\"last_seen_us\":1700000004000000,\"vlan\":0},"
    "{\"first_seen_us\":1700000001000000,\"ip\":\"198.18.1.2\","
    "\"last_seen_us\":1700000001000000,\"vlan\":100},"
    "{\"first_seen_us\":1700000002000000,\"ip\":\"2001:db8:1::1\","
    "\"last_seen_us\":1700000002000000,\"vlan\":0},"
    "{\"first_seen_us\":1700000003000000,\"ip\":\"fe80::ff:fe00:a\","
    "\"last_seen_us\":1700000003000000,\"vlan\":0}],"
    "\"iface\":\"qvo-vm1\",\"mac\":\"02:00:00:00:00:0a\",\"vm\":\"vm1\"},"
    "{\"addrs\":["
    "{\"first_seen_us\":1700000005000000,\"ip\":\"198.18.1.1\","
    "\"last_seen_us\":1700000005000000,\"vlan\":0}],"
    "\"iface\":\"qvo-vm2\",\"mac\":\"02:00:00:00:00:0b\",\"vm\":\"vm2\"}],"
    "\"version\":1}";

static void
round_trip(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = sample(), *copy;
    char *s = doc_string(tab), *s2;
    struct nm_addrtab_entry e[8];
    struct json *j;
    char err[256];

    assert_string_equal(s, sample_doc);

    /* Loaded before the interfaces are known: kept as it is. */
    assert_int_equal(nm_addrtab_create(NULL, &copy, err, sizeof err), 0);
    j = json_from_string(s);
    assert_int_equal(nm_addrtab_from_json(copy, j, T0 + 10 * S, err,
                                          sizeof err), 0);
    s2 = doc_string(copy);
    assert_string_equal(s2, s);
    free(s2);
    /* ... and once they are, the same answers as the original. */
    assert_int_equal(nm_addrtab_set_ports(copy, ports, 2, err, sizeof err),
                     0);
    assert_int_equal(nm_addrtab_addrs(copy, "qvo-vm1", T0 + 10 * S,
                                      NM_ADDRTAB_LINK_LOCAL
                                      | NM_ADDRTAB_CONFLICTED, e, 8), 4);
    assert_true(e[0].conflicted);
    assert_int_equal(e[1].vlan, 100);
    assert_true(e[3].link_local);
    assert_int_equal(e[0].first_seen_us, T0);
    assert_int_equal(e[0].last_seen_us, T0 + 4 * S);

    /* Loaded once they are known: an interface no longer there (vm2) is
     * skipped. */
    assert_int_equal(nm_addrtab_set_ports(copy, ports, 1, err, sizeof err),
                     0);
    assert_int_equal(nm_addrtab_from_json(copy, j, T0 + 10 * S, err,
                                          sizeof err), 0);
    s2 = doc_string(copy);
    assert_null(strstr(s2, "qvo-vm2"));
    assert_non_null(strstr(s2, "198.18.1.2"));
    free(s2);

    /* Aged addresses are skipped; times in the future are now. */
    assert_int_equal(nm_addrtab_from_json(copy, j,
                                          T0 + 4 * 3600 * S + 4 * S + 1,
                                          err, sizeof err), 0);
    assert_int_equal(nm_addrtab_addrs(copy, "qvo-vm1", T0, 0, e, 8), 0);
    assert_int_equal(nm_addrtab_from_json(copy, j, T0 + S, err, sizeof err),
                     0);
    assert_int_equal(nm_addrtab_addrs(copy, "qvo-vm1", T0 + S,
                                      NM_ADDRTAB_LINK_LOCAL, e, 8), 4);
    assert_int_equal(e[0].last_seen_us, T0 + S);
    assert_int_equal(e[2].first_seen_us, T0 + S);
    json_destroy(j);

    /* The report flags, at a time. */
    j = nm_addrtab_report(tab, T0 + 10 * S);
    free(s);
    s = json_to_string(j, JSSF_SORT);
    assert_non_null(strstr(s, "\"conflicted\":true,\"first_seen_us\":"
                           "1700000000000000"));
    assert_non_null(strstr(s, "\"ip\":\"fe80::ff:fe00:a\","
                           "\"last_seen_us\":1700000003000000,"
                           "\"link_local\":true"));
    json_destroy(j);
    free(s);
    nm_addrtab_destroy(copy);
    nm_addrtab_destroy(tab);
}

/* Hostile documents: each is 'sample_doc' with one replacement, and the
 * message it must start with. */
static const struct {
    const char *from, *to, *want;
} hostile[] = {
    { "\"format\":\"netmove-learned-addresses\",", "",
      "document.format: missing" },
    { "netmove-learned-addresses", "netmove-firewall",
      "document.format: 'netmove-firewall'" },
    { "\"version\":1", "\"version\":2",
      "document.version: unknown version 2" },
    { "\"version\":1", "\"version\":\"1\"",
      "document.version: expected an integer" },
    { "\"version\":1", "\"version\":1,\"extra\":0",
      "document: unknown member 'extra'" },
    { "\"ifaces\":[", "\"ifaces\":7,\"x\":[",
      "document.ifaces: expected an array" },
    { "\"iface\":\"qvo-vm1\"", "\"iface\":\"../etc\"",
      "ifaces[0].iface: '../etc'" },
    { "\"iface\":\"qvo-vm1\"", "\"iface\":\"\"", "ifaces[0].iface: ''" },
    { "\"iface\":\"qvo-vm1\"", "\"iface\":\"qvo-0123456789ab\"",
      "ifaces[0].iface" },
    { "\"iface\":\"qvo-vm1\",", "", "ifaces[0].iface: missing" },
    { "\"mac\":\"02:00:00:00:00:0b\"", "\"mac\":\"ff:ff:ff:ff:ff:ff\"",
      "ifaces[1].mac: 'ff:ff:ff:ff:ff:ff'" },
    { "\"mac\":\"02:00:00:00:00:0b\"", "\"mac\":\"02:00:00:00:00:0a\","
      "\"iface\":\"qvo-vm1\"",
      "ifaces[1]: the same interface and MAC as ifaces[0]" },
    { "\"mac\":\"02:00:00:00:00:0b\"", "\"mac\":\"02:00:00:00:00:0b\","
      "\"port\":\"x\"", "ifaces[1]: unknown member 'port'" },
    { "\"vm\":\"vm2\"", "\"vm\":\"\"", "ifaces[1].vm" },
    { "\"vm\":\"vm2\"", "\"vm\":2", "ifaces[1].vm: expected a string" },
    { "\"ip\":\"198.18.1.2\"", "\"ip\":\"198.18.1.300\"",
      "ifaces[0].addrs[1].ip: '198.18.1.300'" },
    { "\"ip\":\"198.18.1.2\"", "\"ip\":\"127.0.0.1\"",
      "ifaces[0].addrs[1].ip: '127.0.0.1' is not an address a VM can own" },
    { "\"ip\":\"198.18.1.2\"", "\"ip\":\"255.255.255.255\"",
      "ifaces[0].addrs[1].ip" },
    { "\"ip\":\"2001:db8:1::1\"", "\"ip\":\"ff02::1\"",
      "ifaces[0].addrs[2].ip: 'ff02::1'" },
    { "\"ip\":\"2001:db8:1::1\"", "\"ip\":\"::ffff:198.18.1.9\"",
      "ifaces[0].addrs[2].ip: '::ffff:198.18.1.9'" },
    { "\"ip\":\"198.18.1.2\"", "\"ip\":\"198.18.1.1\"",
      "ifaces[0].addrs[1].ip: appears twice" },
    { "\"vlan\":100", "\"vlan\":4095", "ifaces[0].addrs[1].vlan: 4095" },
    { "\"vlan\":100", "\"vlan\":-1", "ifaces[0].addrs[1].vlan: -1" },
    { "\"vlan\":100", "\"vlan\":1.5",
      "ifaces[0].addrs[1].vlan: expected an integer" },
    { "{\"first_seen_us\":1700000001000000,", "{\"first_seen_us\":-1,",
      "ifaces[0].addrs[1].first_seen_us: -1" },
    { "{\"first_seen_us\":1700000001000000,",
      "{\"first_seen_us\":1700000001000001,",
      "ifaces[0].addrs[1].first_seen_us: 1700000001000001 is after" },
    { "{\"first_seen_us\":1700000001000000,", "{",
      "ifaces[0].addrs[1].first_seen_us: missing" },
    { "\"vlan\":100}", "\"vlan\":100,\"conflicted\":false}",
      "ifaces[0].addrs[1]: unknown member 'conflicted'" },
    { "\"addrs\":[{\"first_seen_us\":1700000005000000",
      "\"addrs\":[7,{\"a\":0",
      "ifaces[1].addrs[0]: expected an object" },
};

static char *
replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);

    assert_non_null(at);
    return xasprintf("%.*s%s%s", (int) (at - s), s, to, at + strlen(from));
}

static void
hostile_documents(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = sample();
    char *before = doc_string(tab);
    char err[256];

    for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
        char *text = replace(sample_doc, hostile[i].from, hostile[i].to);
        struct json *j = json_from_string(text);
        char *after;

        if (j->type == JSON_STRING) {
            fail_msg("hostile[%zu] is not JSON: %s", i, json_string(j));
        }
        err[0] = '\0';
        assert_int_equal(nm_addrtab_from_json(tab, j, T0 + 10 * S, err,
                                              sizeof err), -EINVAL);
        if (strncmp(err, hostile[i].want, strlen(hostile[i].want))) {
            fail_msg("got \"%s\", wanted \"%s...\"", err, hostile[i].want);
        }
        after = doc_string(tab);
        assert_string_equal(after, before);
        free(after);
        json_destroy(j);
        free(text);
    }

    /* Not an object at all. */
    struct json *j = json_from_string("[1]");
    assert_int_equal(nm_addrtab_from_json(tab, j, T0, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "document: expected an object");
    json_destroy(j);
    free(before);
    nm_addrtab_destroy(tab);
}

static char dir[64];

static int
make_dir(void **state OVS_UNUSED)
{
    strcpy(dir, "/tmp/test_addrtab.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int
remove_dir(void **state OVS_UNUSED)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (de->d_name[0] != '.') {
            char *p = xasprintf("%s/%s", dir, de->d_name);
            unlink(p);
            free(p);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

static size_t
n_files(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    while ((de = readdir(d))) {
        n += de->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void
write_text(const char *path, const void *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), len);
    close(fd);
}

static void
file(void **state OVS_UNUSED)
{
    struct nm_addrtab *tab = sample(), *copy;
    char *path = xasprintf("%s/learned.json", dir);
    char *s, *s2;
    struct stat st;
    char err[512];

    assert_int_equal(nm_addrtab_create(NULL, &copy, err, sizeof err), 0);
    assert_int_equal(nm_addrtab_load(copy, path, T0, err, sizeof err),
                     -ENOENT);

    assert_int_equal(nm_addrtab_save(tab, path, err, sizeof err), 0);
    assert_int_equal(n_files(), 1);             /* No temporary left. */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Saved again over the old one. */
    assert_int_equal(nm_addrtab_save(tab, path, err, sizeof err), 0);
    assert_int_equal(n_files(), 1);
    assert_int_equal(nm_addrtab_load(copy, path, T0 + 10 * S, err,
                                     sizeof err), 0);
    s = doc_string(tab);
    s2 = doc_string(copy);
    assert_string_equal(s, s2);
    free(s2);

    /* Corrupt: torn, zeros, not JSON, a bad member, empty: refused, the
     * table as it was, the file named. */
    static const char *const corrupt[] = {
        "{\"format\":\"netmove-learned-addresses\",\"ifa",
        "not json", "", "[]",
    };
    for (size_t i = 0; i < ARRAY_SIZE(corrupt); i++) {
        write_text(path, corrupt[i], strlen(corrupt[i]));
        assert_int_equal(nm_addrtab_load(copy, path, T0, err, sizeof err),
                         -EINVAL);
        assert_memory_equal(err, path, strlen(path));
    }
    write_text(path, "\0\0\0\0", 4);
    assert_int_equal(nm_addrtab_load(copy, path, T0, err, sizeof err),
                     -EINVAL);
    s2 = replace(sample_doc, "\"vlan\":100", "\"vlan\":9999");
    write_text(path, s2, strlen(s2));
    free(s2);
    assert_int_equal(nm_addrtab_load(copy, path, T0, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "learned.json: ifaces[0].addrs[1].vlan"));
    s2 = doc_string(copy);
    assert_string_equal(s, s2);
    free(s2);

    /* Over 4 MiB. */
    assert_int_equal(truncate(path, 4 * 1024 * 1024 + 1), 0);
    assert_int_equal(nm_addrtab_load(copy, path, T0, err, sizeof err),
                     -EFBIG);
    /* A directory where the file should be. */
    assert_int_equal(nm_addrtab_load(copy, dir, T0, err, sizeof err),
                     -EINVAL);
    /* Nowhere to write. */
    assert_int_equal(nm_addrtab_save(tab, "/nonexistent/learned.json", err,
                                     sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/learned.json"));

    free(s);
    free(path);
    nm_addrtab_destroy(copy);
    nm_addrtab_destroy(tab);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(hostile_documents),
        cmocka_unit_test_setup_teardown(file, make_dir, remove_dir),
    };
    set_program_name("test_addrtab_json");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
