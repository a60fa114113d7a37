/* nm-ct: firewall/ct_dump.c and ct_events.c driven from a script, for
 * tests/lab/fw_ct_events.sh and tests/bench/ct_bench.sh.
 *
 *   nm-ct events --addr IP [--addr IP]...
 *       Opens a conntrack event listener, prints {"open": true}, then reads
 *       commands, one a line, answering each with one line of JSON:
 *         watch   watches the addresses, then exports the base (in that
 *                 order, as netmoved): {"base": N, "ms": T}
 *         delta   ct_events_delta() against the base, which it then
 *                 advances: {"entries": N, "gone": N, "events": N,
 *                 "gets": N, "fallback": B, "ms": T, "doc": DOCUMENT}
 *         stats   the listener's counters
 *   nm-ct export REPS --addr IP...
 *       ct_export() REPS times: {"entries": N, "best_ms": T}
 *   nm-ct many N PREFIX
 *       N filters PREFIX.1 .. PREFIX.N (a /24's last octet): one
 *       ct_export_many() against N ct_export(): {"many_ms": T,
 *       "singles_ms": T, "entries": N}
 * Exits 1 on a failure, 2 on bad arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"
#include "firewall/firewall-private.h"

static double
ms_since(long long int start)
{
    return (time_usec() - start) / 1000.0;
}

static int
parse_addrs(int argc, char *argv[], struct ct_filter *f)
{
    memset(f, 0, sizeof *f);
    f->addrs = xcalloc(argc + 1, sizeof *f->addrs);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--addr") && i + 1 < argc) {
            if (fw_ct_addr_parse(argv[++i], &f->addrs[f->n_addrs++])) {
                fprintf(stderr, "nm-ct: --addr: bad address %s\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "nm-ct: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!f->n_addrs) {
        fprintf(stderr, "nm-ct: at least one --addr\n");
        return 2;
    }
    return 0;
}

static void
print_line(struct json *j)
{
    char *s = json_to_string(j, 0);

    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_destroy(j);
}

static int
cmd_events(int argc, char *argv[])
{
    struct ct_table *base = NULL;
    struct ct_events *ev;
    struct ct_filter f;
    char err[256] = "";
    char line[64];
    int rc = parse_addrs(argc, argv, &f);

    if (rc) {
        return rc;
    }
    if (ct_events_open(&ev, err, sizeof err)) {
        fprintf(stderr, "nm-ct: %s\n", err);
        return 1;
    }
    print_line(json_from_string("{\"open\": true}"));
    while (fgets(line, sizeof line, stdin)) {
        struct json *out = json_object_create();
        long long int start = time_usec();

        ct_events_run(ev);
        if (!strncmp(line, "watch", 5)) {
            ct_table_destroy(base);
            start = time_usec();
            ct_events_watch(ev, "w", &f);
            if (ct_export(&f, &base, err, sizeof err)) {
                fprintf(stderr, "nm-ct: %s\n", err);
                return 1;
            }
            json_object_put(out, "base",
                            json_integer_create(ct_table_count(base)));
        } else if (!strncmp(line, "delta", 5) && base) {
            struct ct_delta_info info;
            struct ct_table *delta;

            start = time_usec();
            if (ct_events_delta(ev, "w", base, &delta, &info, err,
                                sizeof err)) {
                fprintf(stderr, "nm-ct: %s\n", err);
                return 1;
            }
            double ms = ms_since(start);
            ct_table_apply(base, delta);
            json_object_put(out, "entries",
                            json_integer_create(ct_table_count(delta)));
            json_object_put(out, "gone",
                            json_integer_create(ct_table_gone_count(delta)));
            json_object_put(out, "events", json_integer_create(info.events));
            json_object_put(out, "gets", json_integer_create(info.gets));
            json_object_put(out, "fallback",
                            json_boolean_create(info.fallback));
            json_object_put(out, "ms", json_real_create(ms));
            json_object_put(out, "doc", ct_table_to_json(delta));
            ct_table_destroy(delta);
            print_line(out);
            continue;
        } else if (!strncmp(line, "stats", 5)) {
            struct ct_events_stats st;

            ct_events_get_stats(ev, &st);
            json_object_put(out, "read", json_integer_create(st.read));
            json_object_put(out, "matched", json_integer_create(st.matched));
            json_object_put(out, "overruns",
                            json_integer_create(st.overruns));
            json_object_put(out, "fallbacks",
                            json_integer_create(st.fallbacks));
        } else {
            fprintf(stderr, "nm-ct: unknown command %s", line);
            return 2;
        }
        json_object_put(out, "ms", json_real_create(ms_since(start)));
        print_line(out);
    }
    ct_table_destroy(base);
    ct_events_close(ev);
    free(f.addrs);
    return 0;
}

static int
cmd_export(int argc, char *argv[])
{
    int reps = argc > 0 ? atoi(argv[0]) : 0;
    double best = 1e9;
    struct ct_filter f;
    char err[256] = "";
    size_t n = 0;
    int rc;

    if (reps < 1) {
        fprintf(stderr, "nm-ct: export REPS --addr IP...\n");
        return 2;
    }
    rc = parse_addrs(argc - 1, argv + 1, &f);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < reps; i++) {
        long long int start = time_usec();
        struct ct_table *tab;

        if (ct_export(&f, &tab, err, sizeof err)) {
            fprintf(stderr, "nm-ct: %s\n", err);
            return 1;
        }
        best = MIN(best, ms_since(start));
        n = ct_table_count(tab);
        ct_table_destroy(tab);
    }
    printf("{\"entries\": %zu, \"best_ms\": %.3f}\n", n, best);
    free(f.addrs);
    return 0;
}

static int
cmd_many(int argc, char *argv[])
{
    int n = argc == 2 ? atoi(argv[0]) : 0;
    struct ct_filter *filters;
    struct fw_ct_addr *addrs;
    struct ct_table **tabs;
    size_t total = 0, total1 = 0;
    char err[256] = "";

    if (n < 1 || n > 254) {
        fprintf(stderr, "nm-ct: many N PREFIX (1 <= N <= 254)\n");
        return 2;
    }
    filters = xcalloc(n, sizeof *filters);
    addrs = xcalloc(n, sizeof *addrs);
    tabs = xcalloc(n, sizeof *tabs);
    for (int i = 0; i < n; i++) {
        char *s = xasprintf("%s.%d", argv[1], i + 1);

        if (fw_ct_addr_parse(s, &addrs[i])) {
            fprintf(stderr, "nm-ct: bad prefix %s\n", argv[1]);
            return 2;
        }
        free(s);
        filters[i].n_addrs = 1;
        filters[i].addrs = &addrs[i];
    }
    long long int start = time_usec();
    if (ct_export_many(filters, n, tabs, err, sizeof err)) {
        fprintf(stderr, "nm-ct: %s\n", err);
        return 1;
    }
    double many = ms_since(start);
    for (int i = 0; i < n; i++) {
        total += ct_table_count(tabs[i]);
        ct_table_destroy(tabs[i]);
    }
    start = time_usec();
    for (int i = 0; i < n; i++) {
        if (ct_export(&filters[i], &tabs[i], err, sizeof err)) {
            fprintf(stderr, "nm-ct: %s\n", err);
            return 1;
        }
        total1 += ct_table_count(tabs[i]);
        ct_table_destroy(tabs[i]);
    }
    double singles = ms_since(start);
    printf("{\"many_ms\": %.3f, \"singles_ms\": %.3f, \"entries\": %zu, "
           "\"entries_singles\": %zu}\n", many, singles, total, total1);
    free(filters);
    free(addrs);
    free(tabs);
    return 0;
}

int
main(int argc, char *argv[])
{
    if (argc >= 2 && !strcmp(argv[1], "events")) {
        return cmd_events(argc - 2, argv + 2);
    } else if (argc >= 2 && !strcmp(argv[1], "export")) {
        return cmd_export(argc - 2, argv + 2);
    } else if (argc >= 2 && !strcmp(argv[1], "many")) {
        return cmd_many(argc - 2, argv + 2);
    }
    fprintf(stderr, "usage: nm-ct events|export|many ... (see the source)\n");
    return 2;
}
