/* The QMP socket a watcher trusts: QEMU's own, in a place no other guest's
 * QEMU could have planted it.  The one part of the QMP code that reads the
 * file system (lstat), apart from the pure protocol in qmp.c. */
#include "netmove/hooks/qmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static bool
trusted_uid(uid_t uid, uid_t self, uid_t owner)
{
    return uid == 0 || uid == self || (owner != (uid_t) -1 && uid == owner);
}

/* Checks directory 'dir' (an ancestor of the socket if 'ancestor'): a
 * directory, owned by a trusted user, writable by no one else (an ancestor
 * may be, if sticky, as /tmp: then no one else can rename what is in it). */
static int
check_dir(const char *path, const char *dir, bool ancestor, uid_t self,
          uid_t owner, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(dir, &st)) {
        int error = -errno;
        snprintf(err, errlen, "SOCKET: '%s': directory %s: %s", path, dir,
                 ovs_strerror(errno));
        return error;
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "SOCKET: '%s': %s is not a directory (a "
                 "symbolic link?)", path, dir);
        return -EPERM;
    } else if (!trusted_uid(st.st_uid, self, owner)) {
        snprintf(err, errlen, "SOCKET: '%s': directory %s belongs to uid "
                 "%u, not to root or the expected owner (--owner)", path,
                 dir, (unsigned int) st.st_uid);
        return -EPERM;
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH))
               && !(ancestor && (st.st_mode & S_ISVTX))) {
        snprintf(err, errlen, "SOCKET: '%s': directory %s is writable by "
                 "others (mode %04o): another QEMU could plant a socket "
                 "there; give each VM's monitor a directory only its owner "
                 "may write to", path, dir, (unsigned int) (st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

int
qmp_socket_check(const char *path, uid_t self, uid_t owner,
                 char *err, size_t errlen)
{
    struct stat st;
    int error;

    if (lstat(path, &st)) {
        error = -errno;
        snprintf(err, errlen, "SOCKET: '%s' is not a UNIX socket (%s)", path,
                 ovs_strerror(errno));
        return error;
    } else if (S_ISLNK(st.st_mode)) {
        snprintf(err, errlen, "SOCKET: '%s' is a symbolic link: give the "
                 "socket's own path", path);
        return -EPERM;
    } else if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "SOCKET: '%s' is not a UNIX socket", path);
        return -EINVAL;
    } else if (!trusted_uid(st.st_uid, self, owner)) {
        snprintf(err, errlen, "SOCKET: '%s' belongs to uid %u, not to root "
                 "or the expected owner (--owner)", path,
                 (unsigned int) st.st_uid);
        return -EPERM;
    }

    /* Its directory, then every ancestor up to '/'. */
    char *dir = path[0] == '/' ? xstrdup(path) : xasprintf("./%s", path);
    bool ancestor = false;
    error = 0;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash) {
            break;
        }
        if (slash == dir) {
            slash[1] = '\0';            /* "/" itself. */
        } else {
            *slash = '\0';
        }
        error = check_dir(path, dir, ancestor, self, owner, err, errlen);
        if (error || slash == dir) {
            break;
        }
        ancestor = true;
    }
    free(dir);
    return error;
}
