/* netmove ct: a VM's conntrack entries, exported, imported, removed
 * (firewall/). */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"

static int cmd_ct(int argc, char *argv[]);

const struct nm_cmd nm_cmd_ct = {
    "ct", cmd_ct, "export, import or remove a VM's conntrack entries",
    "usage: netmove ct export --addr IP [--addr IP]... [--zone Z] "
    "[--since FILE]\n"
    "       netmove ct export --zone Z [--since FILE]\n"
    "       netmove ct import < DOCUMENT\n"
    "       netmove ct remove --addr IP [--addr IP]... [--zone Z]\n"
    "\n"
    "Run inside a host's network namespace.\n"
    "\n"
    "  export   write, as a JSON document to stdout, the entries whose\n"
    "           original or reply tuple holds one of the addresses (and,\n"
    "           with --zone, that are in zone Z), with protocol state,\n"
    "           status, mark, labels, zone, NAT and remaining timeout;\n"
    "           --since FILE writes only what changed since the export in\n"
    "           FILE: new and changed entries, and those gone\n"
    "  import   create the entries of a document from stdin (an entry\n"
    "           that exists is updated), delete its gone entries\n"
    "  remove   delete the entries that match\n"
    "\n"
    "Exit codes: 0 done, 1 failure, 2 bad input or entries the kernel\n"
    "refused.\n",
};

struct ct_args {
    struct ct_filter filter;
    const char *since;
};

struct ct_parse {
    const char *who;            /* "ct export" */
    struct ct_args *a;
};

static int
ct_opt(void *p_, int c, const char *val)
{
    struct ct_parse *p = p_;
    struct ct_args *a = p->a;
    const char *who = p->who;

    switch (c) {
    case 'a':
        if (fw_ct_addr_parse(val, &a->filter.addrs[a->filter.n_addrs])) {
            return nm_usage_error("%s: --addr: \"%s\" is not an IPv4 or "
                                  "IPv6 address", who, val);
        }
        a->filter.n_addrs++;
        break;
    case 'z': {
        char *end;
        unsigned long z = strtoul(val, &end, 10);

        if (!*val || *end || z > UINT16_MAX) {
            return nm_usage_error("%s: --zone: \"%s\" is not a zone "
                                  "(0..65535)", who, val);
        }
        a->filter.has_zone = true;
        a->filter.zone = z;
        break;
    }
    case 's':
        a->since = val;
        break;
    }
    return 0;
}

static int
parse_filter_args(const char *who, int argc, char *argv[], bool allow_since,
                  struct ct_args *a)
{
    static const struct option options[] = {
        {"addr", required_argument, NULL, 'a'},
        {"zone", required_argument, NULL, 'z'},
        {"since", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    static const struct option no_since[] = {
        {"addr", required_argument, NULL, 'a'},
        {"zone", required_argument, NULL, 'z'},
        {NULL, 0, NULL, 0},
    };
    struct ct_parse p = { who, a };
    int rc;

    memset(a, 0, sizeof *a);
    a->filter.addrs = xcalloc(argc + 1, sizeof *a->filter.addrs);
    rc = nm_parse_options(who, argc, argv, allow_since ? options : no_since,
                          ct_opt, &p);
    if (rc) {
        return rc;
    }
    if (optind < argc) {
        return nm_usage_error("%s: unexpected argument '%s'", who,
                              argv[optind]);
    }
    if (!a->filter.n_addrs && !a->filter.has_zone) {
        return nm_usage_error("%s: give at least one --addr or a --zone",
                              who);
    }
    return NM_EXIT_OK;
}

static int
print_json(const struct json *doc)
{
    int error = fw_doc_write(doc, stdout);

    return error ? nm_fail("writing the document: %s", strerror(-error))
                 : NM_EXIT_OK;
}

/* Reads the previous export in 'file'. */
static int
read_since(const char *file, struct ct_table **prevp)
{
    struct json *doc = json_from_file(file);
    char err[NM_ERRLEN] = "";
    int error;

    if (doc->type == JSON_STRING) {
        error = nm_usage_error("ct export: --since: %s: %s", file,
                               json_string(doc));
        json_destroy(doc);
        return error;
    }
    error = ct_table_from_json(doc, prevp, err, sizeof err);
    json_destroy(doc);
    if (error) {
        return nm_usage_error("ct export: --since: %s: %s", file, err);
    }
    return NM_EXIT_OK;
}

static int
ct_export_cmd(int argc, char *argv[])
{
    struct ct_table *tab, *prev = NULL;
    struct ct_args a;
    char err[NM_ERRLEN] = "";
    int rc, error;

    rc = parse_filter_args("ct export", argc, argv, true, &a);
    if (rc == NM_EXIT_OK && a.since) {
        rc = read_since(a.since, &prev);
    }
    if (rc != NM_EXIT_OK) {
        free(a.filter.addrs);
        return rc;
    }
    error = ct_export(&a.filter, &tab, err, sizeof err);
    free(a.filter.addrs);
    if (error) {
        ct_table_destroy(prev);
        return nm_fail("ct export: %s", err);
    }
    if (prev) {
        struct ct_table *delta = ct_table_delta(prev, tab);

        ct_table_destroy(tab);
        ct_table_destroy(prev);
        tab = delta;
    }
    /* The process ends with this command: freeing a hundred thousand
     * entries and their document one by one would cost a sixth of its
     * time; the kernel takes the memory back at once. */
    return print_json(ct_table_to_json(tab));
}

static int
ct_import_cmd(int argc, char *argv[] OVS_UNUSED)
{
    size_t created, updated, deleted;
    struct ct_table *tab;
    char err[NM_ERRLEN] = "";
    struct json *doc;
    int error;

    if (argc != 1) {
        return nm_usage_error("ct import: takes no argument (the document "
                              "comes on stdin)");
    }
    doc = json_from_stream(stdin);
    if (doc->type == JSON_STRING) {
        error = nm_usage_error("ct import: document: %s", json_string(doc));
        json_destroy(doc);
        return error;
    }
    error = ct_table_from_json(doc, &tab, err, sizeof err);
    if (error) {
        return nm_usage_error("ct import: %s", err);
    }
    /* 'doc' and 'tab' go with the process (see ct_export_cmd()). */
    error = ct_import(tab, &created, &updated, &deleted, err, sizeof err);
    if (error) {
        return (error == -EINVAL ? nm_usage_error : nm_fail)(
            "ct import: %s", err);
    }
    printf("ct import: %zu created, %zu updated, %zu deleted\n", created,
           updated, deleted);
    return NM_EXIT_OK;
}

static int
ct_remove_cmd(int argc, char *argv[])
{
    char err[NM_ERRLEN] = "";
    struct ct_args a;
    size_t deleted;
    int rc, error;

    rc = parse_filter_args("ct remove", argc, argv, false, &a);
    if (rc != NM_EXIT_OK) {
        free(a.filter.addrs);
        return rc;
    }
    error = ct_remove(&a.filter, &deleted, err, sizeof err);
    free(a.filter.addrs);
    if (error) {
        return nm_fail("ct remove: %s", err);
    }
    printf("ct remove: %zu entries deleted\n", deleted);
    return NM_EXIT_OK;
}

static int
cmd_ct(int argc, char *argv[])
{
    static const struct nm_subcmd subs[] = {
        { "export", ct_export_cmd },
        { "import", ct_import_cmd },
        { "remove", ct_remove_cmd },
        { NULL, NULL },
    };

    return nm_run_subcmd(&nm_cmd_ct, subs, argc, argv);
}
