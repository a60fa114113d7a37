/* fw_export_many() (firewall/nft_export.c, select.c) against the kernel: a
 * ruleset loaded by nft into a network namespace of the test's own
 * (root; skipped otherwise), exported for several VMs from one dump.  Each
 * VM's ruleset is identical to what fw_export() gives it alone (the host
 * table and the host chain that hold several VMs' rules go to each); a VM
 * with no objects gets an empty ruleset; an invalid name fails alone; a
 * name given twice fails the call. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

/* vm1: a host rule jumping to its chain, its chain, its table (whole).
 * vm2: a host rule jumping to its chain, which uses its named set.
 * vm3: a host rule with an anonymous set.  The host: a set and a rule. */
static const char ruleset[] =
    "table inet filter {\n"
    "  set host-ports { type inet_service; elements = { 22 } }\n"
    "  set vm2-ports { type inet_service; comment \"netmove:vm=vm2\";"
    " elements = { 80, 443 } }\n"
    "  chain vm-vm1 { comment \"netmove:vm=vm1\"; ip daddr 198.18.0.1"
    " accept; }\n"
    "  chain vm-vm2 { comment \"netmove:vm=vm2\"; ip daddr 198.18.0.2"
    " tcp dport @vm2-ports accept; }\n"
    "  chain forward {\n"
    "    type filter hook forward priority 0; policy accept;\n"
    "    iifname \"tap-vm1\" jump vm-vm1 comment \"netmove:vm=vm1\"\n"
    "    tcp dport @host-ports accept\n"
    "    iifname \"tap-vm2\" jump vm-vm2 comment \"netmove:vm=vm2\"\n"
    "    iifname \"tap-vm3\" ip saddr { 198.18.0.3, 198.18.0.33 } accept"
    " comment \"netmove:vm=vm3\"\n"
    "  }\n"
    "}\n"
    "table ip vm1-nat {\n"
    "  comment \"netmove:vm=vm1\"\n"
    "  chain post { type nat hook postrouting priority 100; }\n"
    "}\n";

static int
setup(void **state OVS_UNUSED)
{
    char path[] = "/tmp/netmove-test-nft-export.XXXXXX";
    int fd;

    if (geteuid() || system("command -v nft >/dev/null")
        || unshare(CLONE_NEWNET)) {
        return 0;               /* The tests skip. */
    }
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, ruleset, strlen(ruleset)),
                     (ssize_t) strlen(ruleset));
    close(fd);
    char *cmd = xasprintf("nft -f %s", path);
    int rc = system(cmd);
    free(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
    *state = (void *) 1;
    return 0;
}

static void
assert_same_as_alone(const struct fw_ruleset *rs, const char *vm)
{
    struct fw_ruleset *alone;
    char err[256] = "", why[256] = "";

    assert_int_equal(fw_export(vm, &alone, err, sizeof err), 0);
    if (!fw_ruleset_identical(rs, alone, why, sizeof why)) {
        fail_msg("%s: the batch's ruleset differs from its own: %s", vm, why);
    }
    fw_ruleset_destroy(alone);
}

static void
test_many_as_alone(void **state)
{
    static const char *const vms[] = { "vm1", "vm2", "vm3", "vm4" };
    struct fw_ruleset *rss[ARRAY_SIZE(vms)];
    struct fw_counts n;
    char err[256] = "";

    if (!*state) {
        skip();
    }
    assert_int_equal(fw_export_many(vms, ARRAY_SIZE(vms), rss, err,
                                    sizeof err), 0);
    for (size_t i = 0; i < ARRAY_SIZE(vms); i++) {
        assert_non_null(rss[i]);
        assert_string_equal(fw_ruleset_vm(rss[i]), vms[i]);
        assert_same_as_alone(rss[i], vms[i]);
    }

    fw_ruleset_counts(rss[0], &n);
    assert_int_equal(n.tables, 2);          /* filter (host's), vm1-nat */
    assert_int_equal(n.whole_tables, 1);
    assert_int_equal(n.chains, 2);          /* vm-vm1, vm1-nat's post */
    assert_int_equal(n.rules, 2);           /* forward's jump, vm-vm1's */
    fw_ruleset_counts(rss[1], &n);
    assert_int_equal(n.tables, 1);
    assert_int_equal(n.sets, 1);            /* vm2-ports, with... */
    assert_int_equal(n.elements, 2);        /* ...its elements */
    assert_int_equal(n.rules, 2);
    fw_ruleset_counts(rss[2], &n);
    assert_int_equal(n.tables, 1);
    assert_int_equal(n.chains, 0);          /* forward is the host's */
    assert_int_equal(n.sets, 1);            /* the anonymous one */
    assert_int_equal(n.elements, 2);
    assert_int_equal(n.rules, 1);
    fw_ruleset_counts(rss[3], &n);          /* vm4 has nothing here. */
    assert_int_equal(n.tables, 0);

    /* The host's forward chain went to vm1, vm2 and vm3 (copied for the
     * last two), with each VM's own rule only. */
    for (size_t i = 0; i < 3; i++) {
        struct fw_table *t = fw_ruleset_find_table(rss[i], NFPROTO_INET,
                                                   "filter");
        assert_non_null(t);
        assert_false(t->whole);
        assert_non_null(fw_table_find_chain(t, "forward"));
        assert_false(fw_table_find_chain(t, "forward")->whole);
        assert_null(fw_table_find_set(t, "host-ports"));
    }
    for (size_t i = 0; i < ARRAY_SIZE(vms); i++) {
        fw_ruleset_destroy(rss[i]);
    }
}

/* An invalid name fails alone; a name given twice fails the call. */
static void
test_bad_names(void **state)
{
    static const char *const vms[] = { "vm1", "bad name", "vm2" };
    static const char *const twice[] = { "vm1", "vm2", "vm1" };
    struct fw_ruleset *rss[3];
    char err[256] = "";

    if (!*state) {
        skip();
    }
    assert_int_equal(fw_export_many(vms, 3, rss, err, sizeof err), 0);
    assert_non_null(rss[0]);
    assert_null(rss[1]);
    assert_non_null(rss[2]);
    assert_same_as_alone(rss[0], "vm1");
    assert_same_as_alone(rss[2], "vm2");
    fw_ruleset_destroy(rss[0]);
    fw_ruleset_destroy(rss[2]);

    assert_int_equal(fw_export_many(twice, 3, rss, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "\"vm1\" named twice"));
    for (size_t i = 0; i < 3; i++) {
        assert_null(rss[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_as_alone),
        cmocka_unit_test(test_bad_names),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
