/* Where netmove's files are by default (paths.h). */
#include "netmove/common/paths.h"

#include <stdlib.h>

#include "util.h"

static const char *
env_or(const char *name, const char *dflt)
{
    const char *value = getenv(name);

    return value && value[0] ? value : dflt;
}

const char *
nm_rundir(void)
{
    return env_or("NETMOVE_RUNDIR", NM_RUNDIR);
}

const char *
nm_config_path(void)
{
    return env_or("NETMOVE_CONFIG", NM_SYSCONFDIR "/netmove/netmoved.json");
}

char *
nm_ctl_path(void)
{
    return xasprintf("%s/netmoved.ctl", nm_rundir());
}

char *
nm_pidfile_path(void)
{
    return xasprintf("%s/netmoved.pid", nm_rundir());
}
