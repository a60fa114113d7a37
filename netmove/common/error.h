/* One error convention for all of netmove (docs/ARCHITECTURE.md "Errors").
 *
 * A fallible function returns 0 or a negative errno value and, where a
 * reader needs to know why, writes one line into a caller's buffer of
 * NM_ERRLEN bytes (char err[NM_ERRLEN]) that names the field at fault.
 * -EINVAL and -ERANGE mean the input is bad (a name, a document, a value);
 * anything else is an operational failure.  nm_exit_from_error() turns the
 * errno into the exit code every netmove command uses; the peer protocol
 * carries the same distinction as a JSON-RPC error code (daemon/peer.h). */
#ifndef NETMOVE_COMMON_ERROR_H
#define NETMOVE_COMMON_ERROR_H 1

#include <errno.h>
#include <stdbool.h>

/* Room for one error message. */
#define NM_ERRLEN 1024

/* Exit codes of every netmove command (docs/DESIGN.md "Interfaces"). */
enum {
    NM_EXIT_OK = 0,         /* Success. */
    NM_EXIT_FAIL = 1,       /* Operational failure. */
    NM_EXIT_USAGE = 2,      /* Bad input: usage, document or value. */
};

/* True if 'error' (a negative errno) means the input was bad. */
static inline bool
nm_error_is_bad_input(int error)
{
    return error == -EINVAL || error == -ERANGE;
}

/* Maps 0 or a negative errno to an exit code. */
int nm_exit_from_error(int error);

#endif /* netmove/common/error.h */
