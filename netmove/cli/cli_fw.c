/* netmove fw: a VM's nftables objects, exported, imported, removed
 * (firewall/). */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"

static int cmd_fw(int argc, char *argv[]);

const struct nm_cmd nm_cmd_fw = {
    "fw", cmd_fw, "export, import or remove a VM's nftables objects",
    "usage: netmove fw export VM\n"
    "       netmove fw import [--rename OLD=NEW]... < DOCUMENT\n"
    "       netmove fw remove VM\n"
    "\n"
    "Run inside a host's network namespace.  A VM's firewall is every table\n"
    "whose comment is \"netmove:vm=VM\", and elsewhere every chain, set, map\n"
    "and rule with that comment (firewall/README.md).\n"
    "\n"
    "  export   write the VM's objects, with every set element and every\n"
    "           rule expression, as a JSON document to stdout\n"
    "  import   read such a document from stdin and apply it in one atomic\n"
    "           nf_tables batch, replacing the VM's objects already there;\n"
    "           --rename rewrites interface name OLD to NEW wherever a rule\n"
    "           or set compares interface names\n"
    "  remove   delete the VM's objects (and nothing else) in one batch\n"
    "\n"
    "Exit codes: 0 done, 1 failure, 2 bad input or a batch the kernel\n"
    "refused (nothing changed).\n",
};

/* Prints 'doc' and a newline to stdout. */
static int
print_json(const struct json *doc)
{
    int error = fw_doc_write(doc, stdout);

    return error ? nm_fail("writing the document: %s", strerror(-error))
                 : NM_EXIT_OK;
}

static int
fw_export_cmd(int argc, char *argv[])
{
    struct fw_ruleset *rs;
    char err[NM_ERRLEN] = "";
    int error;

    if (argc != 2) {
        return nm_usage_error("fw export: expected one VM name");
    }
    if (!fw_vm_name_valid(argv[1])) {
        return nm_usage_error("fw export: VM: invalid name \"%s\"", argv[1]);
    }
    error = fw_export(argv[1], &rs, err, sizeof err);
    if (error) {
        return (error == -EINVAL ? nm_usage_error : nm_fail)(
            "fw export: %s", err);
    }
    struct json *doc = fw_ruleset_to_json(rs);
    /* The process ends with this command: freeing a document of a million
     * values one by one would take a sixth of its time, the kernel takes
     * it back at once.  (The library's own tests free everything.) */
    return print_json(doc);
}

/* Reads a JSON document from stdin; NULL after printing why. */
static struct json *
read_stdin_json(const char *who)
{
    struct json *doc = json_from_stream(stdin);

    if (doc->type == JSON_STRING) {
        nm_usage_error("%s: document: %s", who, json_string(doc));
        json_destroy(doc);
        return NULL;
    }
    return doc;
}

/* fw import's --rename OLD=NEW, checked as given, applied in order. */
struct fw_renames {
    const char **renames;
    size_t n;
};

static const struct option fw_import_options[] = {
    {"rename", required_argument, NULL, 'r'},
    {NULL, 0, NULL, 0},
};

static int
fw_import_opt(void *r_, int c OVS_UNUSED, const char *arg)
{
    struct fw_renames *r = r_;
    const char *eq = strchr(arg, '=');

    if (!eq) {
        return nm_usage_error("fw import: --rename: expected OLD=NEW, "
                              "got '%s'", arg);
    }
    char *old = xmemdup0(arg, eq - arg);
    bool ok = fw_ifname_valid(old) && fw_ifname_valid(eq + 1);
    free(old);
    if (!ok) {
        return nm_usage_error("fw import: --rename: \"%s\" is not "
                              "OLD=NEW with interface names of 1 to 15 "
                              "characters", arg);
    }
    r->renames[r->n++] = arg;
    return 0;
}

static int
fw_import_cmd(int argc, char *argv[])
{
    struct fw_ruleset *rs;
    struct fw_counts n;
    char err[NM_ERRLEN] = "";
    int error, rc;

    /* Check every argument before reading anything. */
    struct fw_renames r = { .renames = xcalloc(argc, sizeof *r.renames) };
    rc = nm_parse_options("fw import", argc, argv, fw_import_options,
                          fw_import_opt, &r);
    if (!rc && optind < argc) {
        rc = nm_usage_error("fw import: unexpected argument '%s'",
                            argv[optind]);
    }
    if (rc) {
        free(r.renames);
        return rc;
    }
    struct json *doc = read_stdin_json("fw import");
    if (!doc) {
        free(r.renames);
        return NM_EXIT_USAGE;
    }
    error = fw_ruleset_from_json(doc, &rs, err, sizeof err);
    if (error) {
        free(r.renames);
        return nm_usage_error("fw import: %s", err);
    }
    for (size_t i = 0; i < r.n; i++) {
        char *arg = xstrdup(r.renames[i]);
        char *eq = strchr(arg, '=');

        *eq = '\0';
        error = fw_ruleset_rename(rs, arg, eq + 1, err, sizeof err);
        free(arg);
        if (error < 0) {
            free(r.renames);
            return nm_usage_error("fw import: %s", err);
        }
    }
    free(r.renames);
    fw_ruleset_counts(rs, &n);
    error = fw_import(rs, err, sizeof err);
    if (error) {
        rc = (error == -EINVAL ? nm_usage_error : nm_fail)(
            "fw import: %s: %s", fw_ruleset_vm(rs), err);
    } else {
        printf("fw import: %s: %zu tables (%zu whole), %zu chains, %zu sets "
               "(%zu elements), %zu rules\n", fw_ruleset_vm(rs), n.tables,
               n.whole_tables, n.chains, n.sets, n.elements, n.rules);
        rc = NM_EXIT_OK;
    }
    /* 'doc' and 'rs' go with the process (see fw_export_cmd()). */
    return rc;
}

static int
fw_remove_cmd(int argc, char *argv[])
{
    char err[NM_ERRLEN] = "";
    size_t removed;
    int error;

    if (argc != 2) {
        return nm_usage_error("fw remove: expected one VM name");
    }
    if (!fw_vm_name_valid(argv[1])) {
        return nm_usage_error("fw remove: VM: invalid name \"%s\"", argv[1]);
    }
    error = fw_remove(argv[1], &removed, err, sizeof err);
    if (error) {
        return (error == -EINVAL ? nm_usage_error : nm_fail)(
            "fw remove: %s: %s", argv[1], err);
    }
    printf("fw remove: %s: %zu objects removed\n", argv[1], removed);
    return NM_EXIT_OK;
}

static int
cmd_fw(int argc, char *argv[])
{
    static const struct nm_subcmd subs[] = {
        { "export", fw_export_cmd },
        { "import", fw_import_cmd },
        { "remove", fw_remove_cmd },
        { NULL, NULL },
    };

    return nm_run_subcmd(&nm_cmd_fw, subs, argc, argv);
}
