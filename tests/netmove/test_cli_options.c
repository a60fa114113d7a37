/* Tests netmove/cli/cli.c's nm_parse_options(), how every verb reads its
 * options: values, operands mixed with options, bad input named, a
 * handler's error passed on, and getopt reset between two verbs. */
#define _GNU_SOURCE 1   /* fopencookie() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

/* ---- nm_write_text() ---- */

/* A stream whose writes fail after 'room' bytes, and whose close fails if
 * 'close_fails', leaving errno 0 (as a short write may). */
struct device {
    size_t room, written;
    bool close_fails;
};

static ssize_t
device_write(void *d_, const char *buf OVS_UNUSED, size_t n)
{
    struct device *d = d_;
    size_t k = MIN(n, d->room - d->written);

    d->written += k;
    errno = 0;
    return k ? (ssize_t) k : -1;
}

static int
device_close(void *d_)
{
    struct device *d = d_;

    errno = 0;
    return d->close_fails ? -1 : 0;
}

static FILE *
device_open(struct device *d)
{
    cookie_io_functions_t io = { .write = device_write,
                                 .close = device_close };
    FILE *f = fopencookie(d, "w", io);
    assert_non_null(f);
    return f;
}

/* A write or a close that fails without errno is a failure (-EIO), never
 * a success; one that works is 0. */
static void
test_write_text(void **state OVS_UNUSED)
{
    char *big = xmalloc(100000);
    memset(big, 'x', 99999);
    big[99999] = '\0';

    struct device ok = { .room = SIZE_MAX };
    assert_int_equal(nm_write_text(device_open(&ok), big, true), 0);
    assert_int_equal(ok.written, 99999);

    /* Full after 10 bytes: the write (past the buffer) fails. */
    struct device full = { .room = 10 };
    assert_int_equal(nm_write_text(device_open(&full), big, true), -EIO);

    /* Small enough to be buffered: the close's flush fails. */
    struct device full2 = { .room = 2 };
    assert_int_equal(nm_write_text(device_open(&full2), "hello", true),
                     -EIO);

    /* The close itself fails. */
    struct device bad_close = { .room = SIZE_MAX, .close_fails = true };
    assert_int_equal(nm_write_text(device_open(&bad_close), "hello", true),
                     -EIO);

    /* Not closed (stdout): flushed, and a failure seen. */
    struct device full3 = { .room = 2 };
    FILE *f = device_open(&full3);
    assert_int_equal(nm_write_text(f, "hello", false), -EIO);
    fclose(f);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_operands),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_reset_between_calls),
        cmocka_unit_test(test_posixly_correct),
        cmocka_unit_test(test_write_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
