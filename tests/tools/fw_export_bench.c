/* fw_export_bench: fw_export_many() of N VMs against N fw_export() calls,
 * in one process, in the current network namespace (tests/bench/
 * fw_bench.sh).
 *
 *   fw_export_bench [--runs R] VM...
 *
 * Each figure is the best of R runs (3).  Prints one "key=value ..." line:
 * the VMs, the rules and sets exported, the wall time of one
 * fw_export_many() of all, of one fw_export() per VM, and of one
 * fw_export() of the first VM alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/vlog.h"
#include "timeval.h"
#include "util.h"

#include "firewall/firewall.h"

static void
die(const char *what, const char *err)
{
    fprintf(stderr, "fw_export_bench: %s: %s\n", what, err);
    exit(1);
}

static long long int
time_many(const char *const *vms, size_t n, struct fw_counts *total)
{
    struct fw_ruleset **rss = xcalloc(n, sizeof *rss);
    char err[256];

    long long int t0 = time_usec();
    if (fw_export_many(vms, n, rss, err, sizeof err)) {
        die("fw_export_many", err);
    }
    long long int t = time_usec() - t0;
    memset(total, 0, sizeof *total);
    for (size_t i = 0; i < n; i++) {
        struct fw_counts c;
        fw_ruleset_counts(rss[i], &c);
        total->rules += c.rules;
        total->sets += c.sets;
        total->elements += c.elements;
        fw_ruleset_destroy(rss[i]);
    }
    free(rss);
    return t;
}

static long long int
time_each(const char *const *vms, size_t n)
{
    char err[256];

    long long int t0 = time_usec();
    for (size_t i = 0; i < n; i++) {
        struct fw_ruleset *rs;
        if (fw_export(vms[i], &rs, err, sizeof err)) {
            die("fw_export", err);
        }
        fw_ruleset_destroy(rs);
    }
    return time_usec() - t0;
}

int
main(int argc, char *argv[])
{
    int runs = 3, first = 1;

    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
    if (argc > 2 && !strcmp(argv[1], "--runs")) {
        runs = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || runs < 1) {
        die("usage", "fw_export_bench [--runs R] VM...");
    }
    const char *const *vms = (const char *const *) &argv[first];
    size_t n = argc - first;
    long long int many = LLONG_MAX, each = LLONG_MAX, one = LLONG_MAX;
    struct fw_counts total;

    for (int r = 0; r < runs; r++) {
        many = MIN(many, time_many(vms, n, &total));
        each = MIN(each, time_each(vms, n));
        one = MIN(one, time_each(vms, 1));
    }
    printf("vms=%zu rules=%zu sets=%zu elements=%zu many_us=%lld "
           "each_us=%lld one_us=%lld\n", n, total.rules, total.sets,
           total.elements, many, each, one);
    return 0;
}
