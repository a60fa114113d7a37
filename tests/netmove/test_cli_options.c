/* Tests netmove/cli/cli.c's nm_parse_options(), how every verb reads its
 * options: values, operands mixed with options, bad input named, a
 * handler's error passed on, and getopt reset between two verbs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "netmove/cli/cli.h"

struct opts {
    const char *from;
    int n_json;
};

static int
take(void *o_, int c, const char *arg)
{
    struct opts *o = o_;

    switch (c) {
    case 'f':
        if (!strcmp(arg, "bad")) {
            return nm_usage_error("test: --from: 'bad'");
        }
        o->from = arg;
        break;
    case 'j':
        o->n_json++;
        break;
    }
    return 0;
}

static const struct option options[] = {
    {"from", required_argument, NULL, 'f'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static int
parse(struct opts *o, char **argv)
{
    int argc = 0;

    while (argv[argc]) {
        argc++;
    }
    memset(o, 0, sizeof *o);
    return nm_parse_options("test", argc, argv, options, take, o);
}

static void
test_values_and_operands(void **state OVS_UNUSED)
{
    char *argv[] = { "test", "vm1", "--from", "host1", "--json", "vm2",
                     "--from=host2", NULL };
    struct opts o;

    assert_int_equal(parse(&o, argv), 0);
    assert_string_equal(o.from, "host2");
    assert_int_equal(o.n_json, 1);
    /* Operands, in order, after the options. */
    assert_int_equal(optind, 5);
    assert_string_equal(argv[optind], "vm1");
    assert_string_equal(argv[optind + 1], "vm2");
}

static void
test_bad_input(void **state OVS_UNUSED)
{
    char *unknown[] = { "test", "--bogus", NULL };
    char *missing[] = { "test", "vm1", "--from", NULL };
    char *rejected[] = { "test", "--from", "bad", NULL };
    char *value_on_flag[] = { "test", "--json=1", NULL };
    struct opts o;

    assert_int_equal(parse(&o, unknown), NM_EXIT_USAGE);
    assert_int_equal(parse(&o, missing), NM_EXIT_USAGE);
    assert_int_equal(parse(&o, rejected), NM_EXIT_USAGE);
    assert_null(o.from);
    assert_int_equal(parse(&o, value_on_flag), NM_EXIT_USAGE);
}

/* A second verb in the same process (a hook's call, a test) starts over. */
static void
test_reset_between_calls(void **state OVS_UNUSED)
{
    char *first[] = { "test", "--json", "--json", "a", NULL };
    char *second[] = { "test", "--json", "b", NULL };
    struct opts o;

    assert_int_equal(parse(&o, first), 0);
    assert_int_equal(o.n_json, 2);
    assert_int_equal(parse(&o, second), 0);
    assert_int_equal(o.n_json, 1);
    assert_string_equal(second[optind], "b");
}

/* Options after operands whatever POSIXLY_CORRECT says (an operator's
 * environment); what follows "--" is operands. */
static void
test_posixly_correct(void **state OVS_UNUSED)
{
    char *argv[] = { "test", "vm1", "--from", "host1", "--", "--json",
                     NULL };
    struct opts o;

    setenv("POSIXLY_CORRECT", "1", 1);
    assert_int_equal(parse(&o, argv), 0);
    unsetenv("POSIXLY_CORRECT");
    assert_string_equal(o.from, "host1");
    assert_int_equal(o.n_json, 0);
    assert_int_equal(optind, 4);
    assert_string_equal(argv[4], "vm1");
    assert_string_equal(argv[5], "--json");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_operands),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_reset_between_calls),
        cmocka_unit_test(test_posixly_correct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
