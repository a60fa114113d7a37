/* What every verb of the CLI shares (cli.h): usage, help, error messages,
 * sub-verbs.  The hook adapters (netmove/hooks/) use them too. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "util.h"

void
nm_cmd_print_usage(const struct nm_cmd *cmd)
{
    fputs(cmd->usage, stdout);
}

bool
nm_wants_help(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            break;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return true;
        }
    }
    return false;
}

static void
vprint_error(const char *fmt, va_list args)
{
    fputs("netmove: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
}

int
nm_usage_error(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vprint_error(fmt, args);
    va_end(args);
    return NM_EXIT_USAGE;
}

int
nm_fail(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vprint_error(fmt, args);
    va_end(args);
    return NM_EXIT_FAIL;
}

int
nm_run_subcmd(const struct nm_cmd *group, const struct nm_subcmd *subs,
              int argc, char *argv[])
{
    struct ds names = DS_EMPTY_INITIALIZER;
    int rc;

    if (argc < 2) {
        nm_cmd_print_usage(group);
        return NM_EXIT_USAGE;
    }
    for (const struct nm_subcmd *sub = subs; sub->name; sub++) {
        if (!strcmp(argv[1], sub->name)) {
            return sub->fn(argc - 1, argv + 1);
        }
        ds_put_format(&names, "%s%s", names.length ? ", " : "", sub->name);
    }
    rc = nm_usage_error("%s: unknown command '%s' (%s)", group->name, argv[1],
                        ds_cstr(&names));
    ds_destroy(&names);
    return rc;
}

int
nm_parse_options(const char *verb, int argc, char *argv[],
                 const struct option *options, nm_option_fn *take, void *aux)
{
    /* "-": operands come back in order as option 1, whatever
     * POSIXLY_CORRECT says; they are put after the options at the end. */
    char **operands = xcalloc(argc ? argc : 1, sizeof *operands);
    int n_operands = 0, rc = 0, c;

    opterr = 0;
    optind = 0;                 /* Reinitialises getopt for each verb. */
    while (!rc && (c = getopt_long(argc, argv, "-:", options, NULL)) != -1) {
        if (c == 1) {
            operands[n_operands++] = optarg;
        } else if (c == ':') {
            rc = nm_usage_error("%s: option '%s' needs a value", verb,
                                argv[optind - 1]);
        } else if (c == '?') {
            if (optopt && optopt < 256) {
                rc = nm_usage_error("%s: unknown option '-%c' (see 'netmove "
                                    "help %.*s')", verb, optopt,
                                    (int) strcspn(verb, " "), verb);
            } else {
                rc = nm_usage_error("%s: unknown option '%s' (see 'netmove "
                                    "help %.*s')", verb, argv[optind - 1],
                                    (int) strcspn(verb, " "), verb);
            }
        } else {
            rc = take(aux, c, optarg);
        }
    }
    if (!rc) {
        /* What follows "--" is operands too. */
        for (; optind < argc; optind++) {
            operands[n_operands++] = argv[optind];
        }
        optind = argc - n_operands;
        memcpy(&argv[optind], operands, n_operands * sizeof *operands);
    }
    free(operands);
    return rc;
}

/* -errno, or -EIO if the failure left errno 0. */
static int
failed(void)
{
    return errno ? -errno : -EIO;
}

int
nm_write_text(FILE *f, const char *text, bool close)
{
    size_t len = strlen(text);
    int error = 0;

    errno = 0;
    if (fwrite(text, 1, len, f) != len) {
        error = failed();
    }
    errno = 0;
    if (close ? fclose(f) != 0 : fflush(f) != 0 || ferror(f)) {
        if (!error) {
            error = failed();
        }
    }
    return error;
}
