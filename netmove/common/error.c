/* The error convention (error.h). */
#include "netmove/common/error.h"

int
nm_exit_from_error(int error)
{
    return !error ? NM_EXIT_OK
           : nm_error_is_bad_input(error) ? NM_EXIT_USAGE : NM_EXIT_FAIL;
}
