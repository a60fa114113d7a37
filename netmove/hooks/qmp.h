/* QEMU Machine Protocol (QMP), the part a resume hook needs: splitting a
 * byte stream into messages, classifying them, and deciding, from the VM's
 * run state and its events, when it resumed after an incoming migration.
 *
 * Pure: no I/O.  The CLI ('netmove watch-qmp', watch_qmp.c) reads the socket
 * and feeds the bytes here; the tests feed byte strings. */
#ifndef NETMOVE_QMP_H
#define NETMOVE_QMP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "openvswitch/compiler.h"

struct json;

/* ---- The socket (qmp_socket.c: lstat, the one access to the system) ----
 *
 * Checks that 'path' is a QMP socket a watcher may trust: a UNIX socket (not
 * a symbolic link) owned by root, by 'self' (the watcher's user) or by
 * 'owner' ((uid_t) -1: none; QEMU's user), in a directory owned by one of
 * them that no one else may write to, under ancestors likewise (or sticky,
 * as /tmp).  A directory that others may write to lets any guest's QEMU
 * plant a socket named after another VM and fake its RESUME.  Returns 0,
 * -EINVAL (not a socket), -EPERM (not trusted) or -errno, with a message
 * naming SOCKET in 'err'. */
int qmp_socket_check(const char *path, uid_t self, uid_t owner,
                     char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Stream of messages ---- */

struct qmp_reader;

/* Creates a reader of a QMP byte stream.  Never returns NULL. */
struct qmp_reader *qmp_reader_create(void);

/* Frees 'r' (NULL is fine). */
void qmp_reader_destroy(struct qmp_reader *r);

/* Feeds up to 'n' bytes of 'buf' to 'r'.  Stops after the first complete
 * JSON value and stores it in '*msgp' (the caller owns it), else stores
 * NULL.  Returns the number of bytes consumed: call again with the rest.
 * On a syntax error returns -EPROTO, on a message over 4 MiB -EMSGSIZE,
 * with the reason in 'err'; the stream cannot be trusted after that. */
int qmp_reader_feed(struct qmp_reader *r, const char *buf, size_t n,
                    struct json **msgp, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- One message ---- */

enum qmp_msg_type {
    QMP_MSG_GREETING,           /* {"QMP": {...}} */
    QMP_MSG_RETURN,             /* {"return": ..., "id": ...} */
    QMP_MSG_ERROR,              /* {"error": {"class", "desc"}, "id": ...} */
    QMP_MSG_EVENT,              /* {"event", "timestamp", "data"} */
};

/* A message, pointing into the JSON it was parsed from. */
struct qmp_msg {
    enum qmp_msg_type type;
    const char *id;             /* RETURN, ERROR: the command's "id" (a
                                 * string) or NULL. */
    const struct json *value;   /* RETURN: "return"; EVENT: "data" or NULL. */
    const char *event;          /* EVENT: its name. */
    long long int usec;         /* EVENT: "timestamp" in microseconds since
                                 * the epoch (QEMU's wall clock), or -1 if
                                 * QEMU could not read its clock. */
    const char *error;          /* ERROR: "desc". */
};

/* Classifies 'json' into 'msg'.  Returns 0, or -EPROTO if it is no QMP
 * message (the reason, naming the member, in 'err'). */
int qmp_msg_parse(const struct json *json, struct qmp_msg *msg,
                  char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* ---- Did the VM resume after an incoming migration? ---- */

/* What the watcher knows about the VM. */
enum qmp_watch_state {
    QMP_WATCH_UNKNOWN,          /* query-status/query-migrate not answered. */
    QMP_WATCH_INCOMING,         /* Destination of an incoming migration, not
                                 * yet running: the next RESUME is it. */
    QMP_WATCH_NOT_INCOMING,     /* Started otherwise: RESUMEs are ignored. */
    QMP_WATCH_RESUMED,          /* Resumed after the incoming migration. */
    QMP_WATCH_FAILED,           /* The incoming migration failed, or the VM
                                 * ended before it resumed. */
};

/* What the caller must do after a step. */
enum qmp_watch_action {
    QMP_WATCH_WAIT,             /* Nothing yet: keep following events. */
    QMP_WATCH_CALL_RESUME,      /* Call resume now (once). */
    QMP_WATCH_GIVE_UP,          /* The VM will not resume here. */
};

struct qmp_watch {
    enum qmp_watch_state state;
    const char *why;            /* A short reason for 'state', static. */
    long long int resume_usec;  /* QMP_WATCH_RESUMED: the RESUME event's
                                 * timestamp (us), or -1 if the VM was
                                 * already running when the watch began. */
    /* Internal: answers and events seen while UNKNOWN. */
    const char *runstate_;      /* Static copy of a known run state or NULL. */
    int migrate_;               /* -1 unknown, 0 no, 1 incoming completed. */
    long long int early_resume_usec_;   /* A RESUME seen while UNKNOWN. */
    bool early_resume_;
};

/* Starts a watch (state QMP_WATCH_UNKNOWN). */
void qmp_watch_init(struct qmp_watch *w);

/* What to send QEMU when connected: qmp_capabilities, then query-status and
 * query-migrate with the ids that qmp_watch_msg() routes. */
extern const char qmp_watch_hello[];

/* Feeds a message: the answers to qmp_watch_hello's queries (by their ids)
 * and events; other messages change nothing. */
enum qmp_watch_action qmp_watch_msg(struct qmp_watch *w,
                                    const struct qmp_msg *msg);

/* ---- The source: the VM's outgoing migration ----
 *
 * The source's moments (netmove/hooks/HOOKS.md): QEMU's STOP during an
 * outgoing migration is the pause for the switch-over (call paused); a
 * RESUME after it means the migration failed and the VM runs here again
 * (call abort); MIGRATION "completed" means it left (call left).  MIGRATION
 * events come only with the "events" migration capability (libvirt sets
 * it); without them the watch asks query-migrate where it must. */

/* What the source watcher knows about the VM. */
enum qmp_src_state {
    QMP_SRC_UNKNOWN,            /* query-status/query-migrate not answered. */
    QMP_SRC_IDLE,               /* No outgoing migration known in flight. */
    QMP_SRC_MIGRATING,          /* Outgoing migration in flight, VM runs. */
    QMP_SRC_STOPPING,           /* STOP with no migration known: asked
                                 * query-migrate whether one is in flight. */
    QMP_SRC_PAUSED,             /* Paused for the switch-over: paused due. */
    QMP_SRC_FAILED,             /* Failed after the pause: the VM is to
                                 * resume here. */
    QMP_SRC_LEFT,               /* Completed: left due.  Final. */
    QMP_SRC_ABORTED,            /* Runs here again after the pause: abort
                                 * due.  Final. */
    QMP_SRC_GONE,               /* Not a source, or QEMU ended.  Final. */
};

/* What the caller must do after a step: bits, acted on in this order. */
enum {
    QMP_SRC_DO_PAUSED = 1 << 0,     /* Call paused (at 'paused_usec'). */
    QMP_SRC_DO_LEFT = 1 << 1,       /* Call left; the watch is over. */
    QMP_SRC_DO_ABORT = 1 << 2,      /* Call abort; the watch is over. */
    QMP_SRC_DO_QUERY = 1 << 3,      /* Send qmp_src_query. */
    QMP_SRC_DO_GIVE_UP = 1 << 4,    /* Over, nothing (more) to call. */
};

struct qmp_src_watch {
    enum qmp_src_state state;
    const char *why;            /* A short reason for 'state', static. */
    long long int paused_usec;  /* The STOP event's timestamp (us), or -1
                                 * (late: already paused when the watch
                                 * began, or QEMU had no clock). */
    bool late;                  /* The due call was found at the start. */
    /* Internal. */
    bool events_;               /* MIGRATION events come. */
    const char *runstate_;      /* Static copy of a known run state, NULL. */
    const char *migrate_;       /* Static copy of the last known migration
                                 * status, NULL. */
    bool ram_;                  /* query-migrate reported RAM: a source's. */
    long long int stop_usec_;   /* A STOP not followed by a RESUME: its
                                 * timestamp; -2: none. */
};

/* Starts a source watch (state QMP_SRC_UNKNOWN).  Send qmp_watch_hello. */
void qmp_src_watch_init(struct qmp_src_watch *w);

/* Feeds a message (the answers to qmp_watch_hello and qmp_src_query, and
 * events).  Returns QMP_SRC_DO_* bits (0: keep following). */
unsigned int qmp_src_watch_msg(struct qmp_src_watch *w,
                               const struct qmp_msg *msg);

/* True if the caller should send qmp_src_query every few milliseconds: the
 * VM paused for the switch-over and no MIGRATION events tell its outcome. */
bool qmp_src_watch_polls(const struct qmp_src_watch *w);

/* query-migrate, routed by qmp_src_watch_msg(). */
extern const char qmp_src_query[];

#endif /* netmove/hooks/qmp.h */
