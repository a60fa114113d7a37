/* What the CLI's hook adapters ('watch-qmp', 'watch-libvirt') share: the
 * call of a phase (resume once the VM runs here; on the source, with
 * --source, paused, left or abort), through netmoved or a command, and the
 * checks of their common options.  Implemented in hook_call.c. */
#ifndef NETMOVE_HOOK_CALL_H
#define NETMOVE_HOOK_CALL_H 1

#include <stdbool.h>

#include "openvswitch/compiler.h"

/* The watch's --timeout: none by default (0), for a migration lasts as
 * long as its precopy does; the watch ends with the migration. */
#define NM_HOOK_DEFAULT_TIMEOUT_S 0
#define NM_HOOK_DEFAULT_CALL_TIMEOUT_S 60
#define NM_HOOK_MAX_TIMEOUT_S 86400

/* How an adapter calls resume for one VM. */
struct nm_hook_call {
    const char *verb;           /* "watch-qmp": prefix of every message. */
    const char *vm;             /* netmove's id of the VM. */
    const char *from;           /* The source host, or NULL. */
    const char *to;             /* --source: the destination host, or
                                 * NULL. */
    bool source;                /* --source: watch the outgoing
                                 * migration. */
    const char *exec;           /* Command to run instead of netmoved, or
                                 * NULL. */
    const char *ctl;            /* netmoved's control socket, or NULL. */
    int call_timeout_s;         /* Bound on the call. */
};

/* Prints the adapter's timing line once the call has started; 'call_usec'
 * is the wall clock (us) at which it started. */
typedef void nm_hook_report_func(void *aux, long long int call_usec);

/* Calls resume for 'c->vm' at once: 'resume VM [HOST]' on netmoved's
 * control socket, or 'sh -c c->exec' with NETMOVE_PHASE=resume, NETMOVE_VM,
 * NETMOVE_SRC_HOST (only with 'c->from') and NETMOVE_RESUMED_US
 * ('resumed_usec', unset if negative).  Then calls 'report' (the clock of
 * the critical path stops before it), waits for the outcome within
 * 'c->call_timeout_s' and prints it.  Returns an exit code (NM_EXIT_*). */
int nm_hook_call_resume(const struct nm_hook_call *c,
                        long long int resumed_usec,
                        nm_hook_report_func *report, void *aux)
    OVS_WARN_UNUSED_RESULT;

/* The source's phases (--source), as nm_hook_call_resume(): 'phase' is
 * "paused" or "left" ('paused VM [HOST]', HOST = 'c->to') or "abort"
 * ('abort VM'); --exec's command gets NETMOVE_PHASE='phase', NETMOVE_VM,
 * NETMOVE_DST_HOST (only with 'c->to') and NETMOVE_PAUSED_US
 * ('paused_usec': the pause moment, unset if negative). */
int nm_hook_call_source(const struct nm_hook_call *c, const char *phase,
                        long long int paused_usec,
                        nm_hook_report_func *report, void *aux)
    OVS_WARN_UNUSED_RESULT;

/* The options every adapter has, as getopt_long() values and table rows;
 * an adapter's own options number from NM_HOOK_OPT_N. */
enum {
    NM_HOOK_OPT_FROM = 256, NM_HOOK_OPT_EXEC, NM_HOOK_OPT_TIMEOUT,
    NM_HOOK_OPT_CALL_TIMEOUT, NM_HOOK_OPT_CTL, NM_HOOK_OPT_SOURCE,
    NM_HOOK_OPT_TO, NM_HOOK_OPT_N
};
#define NM_HOOK_LONG_OPTIONS                                            \
    { "from", required_argument, NULL, NM_HOOK_OPT_FROM },              \
    { "exec", required_argument, NULL, NM_HOOK_OPT_EXEC },              \
    { "timeout", required_argument, NULL, NM_HOOK_OPT_TIMEOUT },        \
    { "call-timeout", required_argument, NULL, NM_HOOK_OPT_CALL_TIMEOUT }, \
    { "ctl", required_argument, NULL, NM_HOOK_OPT_CTL },                \
    { "source", no_argument, NULL, NM_HOOK_OPT_SOURCE },                \
    { "to", required_argument, NULL, NM_HOOK_OPT_TO }

/* Takes option 'opt' (getopt_long()'s value) with value 'arg' into 'c' or
 * '*timeout_s' (the watch's --timeout, 0 for none).  Returns 0, NM_EXIT_USAGE after
 * naming the option on stderr, or -1 if 'opt' is not one of
 * NM_HOOK_OPT_*. */
int nm_hook_call_option(struct nm_hook_call *c, int *timeout_s, int opt,
                        const char *arg)
    OVS_WARN_UNUSED_RESULT;

/* Checks the options every adapter has: --from, --exec, --ctl, --source,
 * --to.  Returns 0,
 * or NM_EXIT_USAGE after naming the field on stderr. */
int nm_hook_call_check(const struct nm_hook_call *c)
    OVS_WARN_UNUSED_RESULT;

#endif /* netmove/hooks/hook_call.h */
