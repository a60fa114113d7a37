/* netmove/common/paths.c: the default paths, and the environment that moves
 * them (a host with several netmoved: the lab). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

#include "netmove/cli/client.h"
#include "netmove/common/paths.h"

static void
clear_env(void)
{
    unsetenv("NETMOVE_RUNDIR");
    unsetenv("NETMOVE_CONFIG");
    unsetenv("NETMOVE_CTL");
    unsetenv("OVS_RUNDIR");
}

static void
assert_path(char *got, const char *want)
{
    assert_string_equal(got, want);
    free(got);
}

static void
test_defaults(void **state)
{
    (void) state;
    clear_env();
    /* Not libopenvswitch's run directory, even with OVS_RUNDIR set. */
    setenv("OVS_RUNDIR", "/tmp/ovs", 1);
    assert_string_equal(nm_rundir(), "/run/netmove");
    assert_string_equal(nm_config_path(), NM_SYSCONFDIR "/netmove/netmoved.json");
    assert_path(nm_ctl_path(), "/run/netmove/netmoved.ctl");
    assert_path(nm_pidfile_path(), "/run/netmove/netmoved.pid");
    assert_path(nm_client_ctl_path(NULL), "/run/netmove/netmoved.ctl");
}

static void
test_environment(void **state)
{
    (void) state;
    clear_env();
    setenv("NETMOVE_RUNDIR", "/run/netmove-lab/x/host1", 1);
    setenv("NETMOVE_CONFIG", "/run/netmove-lab/x/host1/netmoved.json", 1);
    assert_path(nm_ctl_path(), "/run/netmove-lab/x/host1/netmoved.ctl");
    assert_path(nm_pidfile_path(), "/run/netmove-lab/x/host1/netmoved.pid");
    assert_string_equal(nm_config_path(),
                        "/run/netmove-lab/x/host1/netmoved.json");
    assert_path(nm_client_ctl_path(NULL),
                "/run/netmove-lab/x/host1/netmoved.ctl");
    /* The CLI: --ctl, then $NETMOVE_CTL, then the run directory's. */
    setenv("NETMOVE_CTL", "/tmp/a.ctl", 1);
    assert_path(nm_client_ctl_path(NULL), "/tmp/a.ctl");
    assert_path(nm_client_ctl_path("/tmp/b.ctl"), "/tmp/b.ctl");
    /* Empty is unset. */
    setenv("NETMOVE_RUNDIR", "", 1);
    setenv("NETMOVE_CONFIG", "", 1);
    assert_path(nm_ctl_path(), "/run/netmove/netmoved.ctl");
    assert_string_equal(nm_config_path(), NM_SYSCONFDIR "/netmove/netmoved.json");
    clear_env();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_environment),
    };
    set_program_name("test_paths");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
