/* netmove CLI: 'watch-libvirt' in the netmove program itself runs
 * netmove-libvirt, the same CLI linked with libvirt's client library
 * (watch_libvirt.c), from the directory netmove runs from.  Linking libvirt
 * into every netmove would load its ~45 shared libraries at each start: 10
 * ms more for every hook call, 'netmove resume' on the critical path of a
 * migration among them; watch-libvirt starts long before the resume. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static int cmd_watch_libvirt(int argc, char *argv[]);

const struct nm_cmd nm_cmd_watch_libvirt = {
    "watch-libvirt", cmd_watch_libvirt, NM_WATCH_LIBVIRT_SUMMARY,
    NM_WATCH_LIBVIRT_USAGE,
};

static int
cmd_watch_libvirt(int argc, char *argv[])
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

    if (n < 0) {
        return nm_fail("watch-libvirt: where netmove runs from: %s",
                       strerror(errno));
    }
    self[n] = '\0';
    char *prog = xasprintf("%s/netmove-libvirt", dirname(self));
    char **args = xcalloc(argc + 2, sizeof *args);
    args[0] = prog;
    for (int i = 0; i < argc; i++) {
        args[i + 1] = argv[i];
    }
    fflush(stdout);
    execv(prog, args);
    int rc = nm_fail("watch-libvirt: %s: %s (it is built and installed "
                     "beside netmove)", prog, strerror(errno));
    free(args);
    free(prog);
    return rc;
}
