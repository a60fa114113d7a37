/* netmove/daemon/proto.c: the peer protocol's error codes and their errno
 * values, errors on the wire in each version, the version negotiation and
 * the hello. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvswitch/json.h"
#include "sset.h"
#include "util.h"

#include "netmove/common/error.h"
#include "netmove/daemon/proto.h"

/* errno -> code -> errno, and the exit code the CLI makes of it. */
static void
test_codes(void **state OVS_UNUSED)
{
    static const struct {
        int error, code, back, exit;
    } cases[] = {
        { -EINVAL, NM_PROTO_INVALID_PARAMS, -EINVAL, NM_EXIT_USAGE },
        { -ERANGE, NM_PROTO_INVALID_PARAMS, -EINVAL, NM_EXIT_USAGE },
        { -EOPNOTSUPP, NM_PROTO_NO_METHOD, -EOPNOTSUPP, NM_EXIT_FAIL },
        { -EPROTONOSUPPORT, NM_PROTO_VERSION_REFUSED, -EPROTONOSUPPORT,
          NM_EXIT_FAIL },
        { -EIO, NM_PROTO_FAILED, -EREMOTEIO, NM_EXIT_FAIL },
        { -ENOENT, NM_PROTO_FAILED, -EREMOTEIO, NM_EXIT_FAIL },
        { -ETIMEDOUT, NM_PROTO_FAILED, -EREMOTEIO, NM_EXIT_FAIL },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int code = nm_proto_code_from_error(cases[i].error);
        assert_int_equal(code, cases[i].code);
        int back = nm_proto_error_from_code(code);
        assert_int_equal(back, cases[i].back);
        assert_int_equal(nm_exit_from_error(back), cases[i].exit);
    }
    /* JSON-RPC's own codes and unknown ones: the peer failed. */
    assert_int_equal(nm_proto_error_from_code(-32700), -EREMOTEIO);
    assert_int_equal(nm_proto_error_from_code(1), -EREMOTEIO);
}

static void
assert_json(struct json *j, const char *expected)
{
    /* json_to_string() writes a scalar too. */
    char *s = json_to_string(j, JSSF_SORT);
    assert_string_equal(s, expected);
    free(s);
    json_destroy(j);
}

/* What goes on the wire: an object from version 2, v1's strings before. */
static void
test_error_to_json(void **state OVS_UNUSED)
{
    assert_json(nm_proto_error_to_json(2, -EINVAL, "host1",
                                       "params.vm: missing"),
                "{\"code\":-32602,\"data\":{\"host\":\"host1\"},"
                "\"message\":\"params.vm: missing\"}");
    assert_json(nm_proto_error_to_json(2, -EIO, "host1", "firewall: no"),
                "{\"code\":-32000,\"data\":{\"host\":\"host1\"},"
                "\"message\":\"firewall: no\"}");
    assert_json(nm_proto_error_to_json(1, -EINVAL, "host1",
                                       "params.vm: missing"),
                "\"bad input: params.vm: missing\"");
    assert_json(nm_proto_error_to_json(1, -EIO, "host1", "firewall: no"),
                "\"firewall: no\"");
    /* Version 1's unknown method, word for word. */
    assert_json(nm_proto_error_to_json(1, -EOPNOTSUPP, "host1",
                                       "unknown method 'hello'"),
                "\"unknown method 'hello'\"");
}

/* What comes off the wire, from either version; round trips. */
static void
test_error_from_json(void **state OVS_UNUSED)
{
    static const struct {
        const char *json;
        int error;
        const char *msg;
    } cases[] = {
        { "\"bad input: params.id: missing migration id\"", -EINVAL,
          "params.id: missing migration id" },
        { "\"bad input:no space\"", -EINVAL, "no space" },
        { "\"conntrack: no permission\"", -EREMOTEIO,
          "conntrack: no permission" },
        /* A string mentioning bad input elsewhere is not bad input. */
        { "\"port: bad input: x\"", -EREMOTEIO, "port: bad input: x" },
        { "{\"code\":-32602,\"message\":\"params.vm: bad\","
          "\"data\":{\"host\":\"h\"}}", -EINVAL, "params.vm: bad" },
        { "{\"code\":-32001,\"message\":\"peer h speaks 9\"}",
          -EPROTONOSUPPORT, "peer h speaks 9" },
        { "{\"code\":-32601,\"message\":\"unknown method 'x'\"}",
          -EOPNOTSUPP, "unknown method 'x'" },
        { "{\"code\":-32000,\"message\":\"firewall: x\"}", -EREMOTEIO,
          "firewall: x" },
        /* Not ours: no code, no message. */
        { "{\"what\":1}", -EREMOTEIO, "{\"what\":1}" },
        { "{\"code\":\"-32602\",\"message\":\"m\"}", -EREMOTEIO, "m" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        /* OVS parses only an object or array at the top: a string is
         * wrapped in one. */
        char *doc = xasprintf("[%s]", cases[i].json);
        struct json *wrapped = json_from_string(doc);
        assert_int_equal(wrapped->type, JSON_ARRAY);
        struct json *j = json_clone(json_array(wrapped)->elems[0]);
        json_destroy(wrapped);
        free(doc);
        char *msg = NULL;
        int error = nm_proto_error_from_json(j, &msg);
        if (error != cases[i].error || strcmp(msg, cases[i].msg)) {
            fail_msg("%s: %d '%s', expected %d '%s'", cases[i].json, error,
                     msg, cases[i].error, cases[i].msg);
        }
        free(msg);
        json_destroy(j);
    }

    /* Round trips, both versions: what one host sends, the other reads as
     * the same class of error with the same message. */
    int errors[] = { -EINVAL, -ERANGE, -EIO, -EPROTONOSUPPORT, -EOPNOTSUPP };
    for (int v = 1; v <= 2; v++) {
        for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
            struct json *j = nm_proto_error_to_json(v, errors[i], "h", "why");
            char *msg;
            int back = nm_proto_error_from_json(j, &msg);
            assert_string_equal(msg, "why");
            assert_int_equal(nm_error_is_bad_input(back),
                             nm_error_is_bad_input(errors[i]));
            if (v == 2) {
                assert_int_equal(nm_exit_from_error(back),
                                 nm_exit_from_error(errors[i]));
            }
            free(msg);
            json_destroy(j);
        }
    }
}

static void
test_negotiate(void **state OVS_UNUSED)
{
    static const struct {
        int mine_min, mine_max, their_min, their_max, expected;
    } cases[] = {
        { 1, 2, 1, 2, 2 },
        { 1, 2, 1, 1, 1 },              /* A version-1 host. */
        { 1, 1, 1, 2, 1 },              /* We are one. */
        { 1, 2, 2, 3, 2 },              /* The next version keeps ours. */
        { 1, 2, 3, 4, -EPROTONOSUPPORT },
        { 1, 2, 7, 7, -EPROTONOSUPPORT },
        { 1, 2, 99, 99, -EPROTONOSUPPORT },
        { 2, 3, 1, 1, -EPROTONOSUPPORT }, /* Version 3 may drop version 1. */
        { 99, 99, 1, 2, -EPROTONOSUPPORT },
        { 0, 0, 0, 0, -EPROTONOSUPPORT },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int v = nm_proto_negotiate(cases[i].mine_min, cases[i].mine_max,
                                   cases[i].their_min, cases[i].their_max);
        assert_int_equal(v, cases[i].expected);
        /* Symmetric: the other host agrees. */
        assert_int_equal(nm_proto_negotiate(cases[i].their_min,
                                            cases[i].their_max,
                                            cases[i].mine_min,
                                            cases[i].mine_max), v);
    }
    assert_int_equal(nm_proto_negotiate(NM_PROTO_MIN_VERSION,
                                        NM_PROTO_VERSION, 1, 1), 1);
    assert_int_equal(NM_PROTO_VERSION, 2);
}

static void
test_refusal(void **state OVS_UNUSED)
{
    char *s = nm_proto_refusal("host2", 7, 7, 1, 2);
    assert_string_equal(s, "peer host2 speaks netmove protocol 7; this host "
                           "speaks 1-2");
    free(s);
    s = nm_proto_refusal("host3", 1, 2, 99, 99);
    assert_string_equal(s, "peer host3 speaks netmove protocol 1-2; this "
                           "host speaks 99");
    free(s);
}

static void
test_hello(void **state OVS_UNUSED)
{
    struct sset caps = SSET_INITIALIZER(&caps);
    struct nm_proto_hello h;
    char err[256];

    sset_add(&caps, "export");
    sset_add(&caps, "drain");
    struct json *j = nm_proto_hello_to_json(1, 2, "host1", &caps);
    char *s = json_to_string(j, JSSF_SORT);
    assert_string_equal(s, "{\"capabilities\":[\"drain\",\"export\"],"
                           "\"host\":\"host1\",\"min_version\":1,"
                           "\"version\":2}");
    free(s);
    assert_int_equal(nm_proto_hello_from_json(j, &h, err, sizeof err), 0);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.min_version, 1);
    assert_string_equal(h.host, "host1");
    assert_true(sset_equals(&h.capabilities, &caps));
    nm_proto_hello_destroy(&h);
    json_destroy(j);
    sset_destroy(&caps);

    /* Without min_version: the version before, as the rule says. */
    j = json_from_string("{\"version\":7,\"host\":\"h\"}");
    assert_int_equal(nm_proto_hello_from_json(j, &h, err, sizeof err), 0);
    assert_int_equal(h.min_version, 6);
    assert_int_equal(sset_count(&h.capabilities), 0);
    nm_proto_hello_destroy(&h);
    json_destroy(j);

    static const struct {
        const char *json, *field;
    } bad[] = {
        { "[1]", "not an object" },
        { "{\"host\":\"h\"}", "version" },
        { "{\"version\":\"2\",\"host\":\"h\"}", "version" },
        { "{\"version\":0,\"host\":\"h\"}", "version" },
        { "{\"version\":2,\"min_version\":3,\"host\":\"h\"}", "min_version" },
        { "{\"version\":2}", "host" },
        { "{\"version\":2,\"host\":\"\"}", "host" },
        { "{\"version\":2,\"host\":\"h\",\"capabilities\":\"x\"}",
          "capabilities" },
        { "{\"version\":2,\"host\":\"h\",\"capabilities\":[1]}",
          "capabilities[0]" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        j = json_from_string(bad[i].json);
        err[0] = '\0';
        assert_int_equal(nm_proto_hello_from_json(j, &h, err, sizeof err),
                         -EINVAL);
        if (!strstr(err, bad[i].field)) {
            fail_msg("%s: '%s' does not name %s", bad[i].json, err,
                     bad[i].field);
        }
        nm_proto_hello_destroy(&h);
        json_destroy(j);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_error_to_json),
        cmocka_unit_test(test_error_from_json),
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_hello),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
