/* netmove CLI: 'port' (a VM's Open vSwitch port: export, import, activate,
 * block, remove, forget), offline, straight to OVSDB and OpenFlow through
 * ovs/. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "util.h"

#include "ovs/ovs.h"

static int cmd_port(int argc, char *argv[]);

const struct nm_cmd nm_cmd_port = {
    "port", cmd_port,
    "export, import, activate and remove a VM's Open vSwitch port",
    "usage: netmove port export [--db REMOTE] VM...\n"
    "       netmove port import [--db REMOTE] [--rename OLD=NEW]...\n"
    "                           [--vlan-map A=B]... [--blocked] [--device-later]\n"
    "                           [--timeout MS] [FILE...]\n"
    "       netmove port activate [--db REMOTE] [--on-announce [--timeout MS]]\n"
    "                             VM...\n"
    "       netmove port block [--db REMOTE] VM...\n"
    "       netmove port remove [--db REMOTE] [--timeout MS] VM...\n"
    "       netmove port forget [--db REMOTE] [--bridge BR] VM\n"
    "\n"
    "export    print the VM's ports (Port, Interface, QoS, Queue records) as a\n"
    "          versioned JSON document; several VMs give a JSON array\n"
    "import    create the ports of the documents on stdin (or in FILEs: each\n"
    "          a document or an array of them, e.g. a host's evacuation) in\n"
    "          ONE transaction, or update them in place to match; waits until\n"
    "          ovs-vswitchd has given every interface an OpenFlow port\n"
    "  --rename OLD=NEW   rename a port or interface\n"
    "  --vlan-map A=B     VLAN A becomes B in tag and trunks (destination site)\n"
    "  --blocked          wired but silent: drop flows from and to the port\n"
    "                     and no_forward, until 'port activate'\n"
    "  --device-later     an interface whose device does not exist yet (the\n"
    "                     hypervisor creates the tap when the VM arrives) is\n"
    "                     staged, not waited for; ovs-vswitchd adds it later\n"
    "  --timeout MS       how long to wait for OVSDB and ovs-vswitchd (10000)\n"
    "activate  remove the block from the VM's ports (staged activation)\n"
    "  --on-announce      wait (--timeout MS, default 10000) for the VM's first\n"
    "                     RARP, ARP or neighbour advertisement, then unblock\n"
    "                     and pass that frame on\n"
    "block     block the VM's ports as import --blocked does\n"
    "remove    delete the VMs' ports in one transaction (nothing to remove is\n"
    "          a success)\n"
    "forget    flush the MAC learning table of the bridge holding the VM's\n"
    "          port (or BR) through ovs-vswitchd (ovs-appctl fdb/flush): OVS\n"
    "          3.1 can delete only static entries one by one\n"
    "\n"
    "A VM is found by Interface external_ids vm-id, vm-uuid, iface-id or\n"
    "attached-mac, or by interface or port name.  OVSDB is\n"
    "unix:$OVS_RUNDIR/db.sock unless --db REMOTE; bridges' OpenFlow sockets\n"
    "are $OVS_RUNDIR/BRIDGE.mgmt.  See ovs/README.md for the document.\n"
    "\n"
    "Exit: 0 done, 1 operational failure, 2 bad input (nothing changed).\n",
};

#define DEFAULT_TIMEOUT_MS 10000

struct port_opts {
    const char *db;
    const char *bridge;
    int timeout_ms;
    bool blocked;
    bool on_announce;
    bool device_later;
    struct nmovs_xlate *xlate;
};

enum {
    OPT_DB = 256, OPT_RENAME, OPT_VLAN_MAP, OPT_BLOCKED, OPT_TIMEOUT,
    OPT_BRIDGE, OPT_ON_ANNOUNCE, OPT_DEVICE_LATER,
};

static const struct option port_options[] = {
    { "db", required_argument, NULL, OPT_DB },
    { "rename", required_argument, NULL, OPT_RENAME },
    { "vlan-map", required_argument, NULL, OPT_VLAN_MAP },
    { "blocked", no_argument, NULL, OPT_BLOCKED },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "bridge", required_argument, NULL, OPT_BRIDGE },
    { "on-announce", no_argument, NULL, OPT_ON_ANNOUNCE },
    { "device-later", no_argument, NULL, OPT_DEVICE_LATER },
    { NULL, 0, NULL, 0 },
};

struct port_parse {
    const char *verb;
    const int *allowed;         /* The OPT_*s 'verb' takes, 0-terminated. */
    struct port_opts *o;
};

static int
port_opt(void *p_, int c, const char *arg)
{
    struct port_parse *p = p_;
    char err[NM_ERRLEN];
    bool ok = false;

    for (const int *a = p->allowed; *a; a++) {
        ok |= *a == c;
    }
    if (!ok) {
        const struct option *opt = port_options;
        while (opt->name && opt->val != c) {
            opt++;
        }
        return nm_usage_error("%s: unknown option '--%s' (see 'netmove help "
                              "port')", p->verb, opt->name ? opt->name : "?");
    }
    switch (c) {
    case OPT_DB:
        p->o->db = arg;
        break;
    case OPT_BRIDGE:
        p->o->bridge = arg;
        break;
    case OPT_BLOCKED:
        p->o->blocked = true;
        break;
    case OPT_ON_ANNOUNCE:
        p->o->on_announce = true;
        break;
    case OPT_DEVICE_LATER:
        p->o->device_later = true;
        break;
    case OPT_TIMEOUT: {
        char *end;
        long ms = strtol(arg, &end, 10);
        if (!arg[0] || *end || ms <= 0 || ms > 3600000) {
            return nm_usage_error("%s: --timeout: '%s' is not a "
                                  "number of ms (1-3600000)", p->verb,
                                  arg);
        }
        p->o->timeout_ms = ms;
        break;
    }
    case OPT_RENAME:
        if (nmovs_xlate_add_rename(p->o->xlate, arg, err, sizeof err)) {
            return nm_usage_error("%s: %s", p->verb, err);
        }
        break;
    case OPT_VLAN_MAP:
        if (nmovs_xlate_add_vlan(p->o->xlate, arg, err, sizeof err)) {
            return nm_usage_error("%s: %s", p->verb, err);
        }
        break;
    }
    return 0;
}

/* Parses the options of 'verb' ("port import"); 'allowed' lists the OPT_*s
 * it takes.  Returns 0 or an exit code; leaves 'optind' at the first
 * operand. */
static int
parse_opts(const char *verb, int argc, char *argv[], const int *allowed,
           struct port_opts *o)
{
    struct port_parse p = { verb, allowed, o };

    return nm_parse_options(verb, argc, argv, port_options, port_opt, &p);
}

/* Opens OVSDB, all of it or ('vm' nonnull) only what finding that VM's
 * ports needs. */
static int
open_db__(const struct port_opts *o, const char *vm, struct nmovs_db **dbp)
{
    int timeout = o->timeout_ms < 5000 ? o->timeout_ms : 5000;
    char err[NM_ERRLEN];

    if (vm ? nmovs_db_open_vm(o->db, NULL, timeout, vm, dbp, err, sizeof err)
           : nmovs_db_open(o->db, NULL, timeout, dbp, err, sizeof err)) {
        return nm_fail("%s", err);
    }
    return NM_EXIT_OK;
}

static int
open_db(const struct port_opts *o, struct nmovs_db **dbp)
{
    return open_db__(o, NULL, dbp);
}

/* A VM that is not here is bad input from the caller: exit 2. */
static int
vm_error(const char *verb, int error, const char *err)
{
    return error == -ENOENT ? nm_usage_error("port %s: %s", verb, err)
                            : nm_fail("port %s: %s", verb, err);
}

static int
cmd_export(int argc, char *argv[], struct port_opts *o)
{
    static const int allowed[] = { OPT_DB, 0 };
    struct nmovs_db *db;
    char err[NM_ERRLEN];
    int rc;

    if ((rc = parse_opts("port export", argc, argv, allowed, o))) {
        return rc;
    }
    if (optind >= argc) {
        return nm_usage_error("port export: which VM?");
    }
    if ((rc = open_db(o, &db))) {
        return rc;
    }
    size_t n = argc - optind;
    struct nmovs_doc **docs = xcalloc(n, sizeof *docs);
    for (size_t i = 0; i < n; i++) {
        int error = nmovs_export(db, argv[optind + i], &docs[i], err,
                                 sizeof err);
        if (error) {
            rc = vm_error("export", error, err);
            goto out;
        }
    }
    char *text = nmovs_docs_format(docs, n);
    puts(text);
    free(text);
out:
    nmovs_docs_destroy(docs, n);
    nmovs_db_close(db);
    return rc;
}

/* Reads all of 'name' ("-": stdin) into 'ds'. */
static int
read_input(const char *name, struct ds *ds)
{
    FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
    char buf[65536];
    size_t n;

    if (!f) {
        return nm_usage_error("port import: %s: %s", name, strerror(errno));
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        ds_put_buffer(ds, buf, n);
    }
    bool failed = ferror(f);
    if (f != stdin) {
        fclose(f);
    }
    return failed ? nm_usage_error("port import: %s: read error", name)
                  : NM_EXIT_OK;
}

/* Parses every input into one array of documents. */
static int
read_docs(int n_files, char *files[], struct nmovs_doc ***docsp, size_t *np)
{
    static char *const dash[] = { "-" };
    char *const *names = n_files ? files : dash;
    size_t n = n_files ? n_files : 1;

    *docsp = NULL;
    *np = 0;
    for (size_t i = 0; i < n; i++) {
        struct ds text = DS_EMPTY_INITIALIZER;
        struct nmovs_doc **docs;
        size_t n_docs;
        char err[NM_ERRLEN];

        int rc = read_input(names[i], &text);
        if (!rc && nmovs_docs_parse(ds_cstr(&text), &docs, &n_docs, err,
                                    sizeof err)) {
            rc = nm_usage_error("port import: %s%s%s",
                                n > 1 || n_files ? names[i] : "",
                                n > 1 || n_files ? ": " : "", err);
        }
        ds_destroy(&text);
        if (rc) {
            return rc;
        }
        *docsp = xrealloc(*docsp, (*np + n_docs) * sizeof **docsp);
        memcpy(*docsp + *np, docs, n_docs * sizeof *docs);
        *np += n_docs;
        free(docs);
    }
    return NM_EXIT_OK;
}

static int
cmd_import(int argc, char *argv[], struct port_opts *o)
{
    static const int allowed[] = {
        OPT_DB, OPT_RENAME, OPT_VLAN_MAP, OPT_BLOCKED, OPT_TIMEOUT,
        OPT_DEVICE_LATER, 0
    };
    struct nmovs_doc **docs = NULL;
    struct nmovs_db *db = NULL;
    size_t n = 0, n_ports = 0;
    char err[NM_ERRLEN];
    bool changed;
    int rc;

    /* All input is checked before anything is touched. */
    if ((rc = parse_opts("port import", argc, argv, allowed, o))
        || (rc = read_docs(argc - optind, argv + optind, &docs, &n))) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        nmovs_xlate_apply(o->xlate, docs[i]);
        n_ports += nmovs_doc_n_ports(docs[i]);
    }
    if ((rc = open_db(o, &db))) {
        goto out;
    }
    struct nmovs_import_opts io = {
        .blocked = o->blocked,
        .timeout_ms = o->timeout_ms,
        .device_later = o->device_later,
    };
    int error = nmovs_import(db, docs, n, &io, &changed, err, sizeof err);
    if (error) {
        rc = error == -EINVAL ? nm_usage_error("port import: %s", err)
                              : nm_fail("port import: %s", err);
        goto out;
    }
    printf("imported %zu port%s of %zu VM%s: %s%s\n", n_ports,
           n_ports == 1 ? "" : "s", n, n == 1 ? "" : "s",
           changed ? "changed" : "unchanged", o->blocked ? ", blocked" : "");
out:
    nmovs_docs_destroy(docs, n);
    nmovs_db_close(db);
    return rc;
}

/* activate, block: one VM after another. */
static int
cmd_each_vm(const char *verb, int argc, char *argv[], struct port_opts *o,
            const int *allowed,
            int (*fn)(struct nmovs_db *, const char *, const struct port_opts *,
                      char *, size_t))
{
    struct nmovs_db *db;
    char err[NM_ERRLEN];
    int rc;

    if ((rc = parse_opts(verb, argc, argv, allowed, o))) {
        return rc;
    }
    if (optind >= argc) {
        return nm_usage_error("port %s: which VM?", verb);
    }
    for (int i = optind; !rc && i < argc; i++) {
        if ((rc = open_db__(o, argv[i], &db))) {
            break;
        }
        int error = fn(db, argv[i], o, err, sizeof err);
        if (error) {
            rc = vm_error(verb, error, err);
        }
        nmovs_db_close(db);
    }
    return rc;
}

static int
activate_vm(struct nmovs_db *db, const char *vm, const struct port_opts *o,
            char *err, size_t errlen)
{
    return o->on_announce
           ? nmovs_activate_on_announce(db, vm, o->timeout_ms, err, errlen)
           : nmovs_activate(db, vm, err, errlen);
}

static int
block_vm(struct nmovs_db *db, const char *vm, const struct port_opts *o,
         char *err, size_t errlen)
{
    (void) o;
    return nmovs_block(db, vm, err, errlen);
}

static int
cmd_remove(int argc, char *argv[], struct port_opts *o)
{
    static const int allowed[] = { OPT_DB, OPT_TIMEOUT, 0 };
    struct nmovs_db *db;
    size_t n_removed;
    char err[NM_ERRLEN];
    int rc;

    if ((rc = parse_opts("port remove", argc, argv, allowed, o))) {
        return rc;
    }
    if (optind >= argc) {
        return nm_usage_error("port remove: which VM?");
    }
    if ((rc = open_db(o, &db))) {
        return rc;
    }
    const char *const *vms = (const char *const *) argv + optind;
    if (nmovs_remove(db, vms, argc - optind, o->timeout_ms, &n_removed,
                     err, sizeof err)) {
        rc = nm_fail("port remove: %s", err);
    } else {
        printf("removed %zu port%s\n", n_removed, n_removed == 1 ? "" : "s");
    }
    nmovs_db_close(db);
    return rc;
}

static int
cmd_forget(int argc, char *argv[], struct port_opts *o)
{
    static const int allowed[] = { OPT_DB, OPT_BRIDGE, 0 };
    struct nmovs_db *db;
    char err[NM_ERRLEN];
    int rc;

    if ((rc = parse_opts("port forget", argc, argv, allowed, o))) {
        return rc;
    }
    if (argc - optind != 1) {
        return nm_usage_error("port forget: one VM, please");
    }
    if ((rc = open_db__(o, argv[optind], &db))) {
        return rc;
    }
    int error = nmovs_forget(db, argv[optind], o->bridge, err, sizeof err);
    if (error) {
        rc = vm_error("forget", error, err);
    }
    nmovs_db_close(db);
    return rc;
}

static int
cmd_port(int argc, char *argv[])
{
    struct port_opts o = {
        .timeout_ms = DEFAULT_TIMEOUT_MS,
        .xlate = nmovs_xlate_create(),
    };
    int rc;

    if (argc < 2) {
        rc = nm_usage_error("port: export, import, activate, block, remove "
                            "or forget? (netmove help port)");
    } else if (!strcmp(argv[1], "export")) {
        rc = cmd_export(argc - 1, argv + 1, &o);
    } else if (!strcmp(argv[1], "import")) {
        rc = cmd_import(argc - 1, argv + 1, &o);
    } else if (!strcmp(argv[1], "activate")) {
        static const int allowed[] = { OPT_DB, OPT_ON_ANNOUNCE, OPT_TIMEOUT,
                                       0 };
        rc = cmd_each_vm("activate", argc - 1, argv + 1, &o, allowed,
                         activate_vm);
    } else if (!strcmp(argv[1], "block")) {
        static const int allowed[] = { OPT_DB, 0 };
        rc = cmd_each_vm("block", argc - 1, argv + 1, &o, allowed, block_vm);
    } else if (!strcmp(argv[1], "remove")) {
        rc = cmd_remove(argc - 1, argv + 1, &o);
    } else if (!strcmp(argv[1], "forget")) {
        rc = cmd_forget(argc - 1, argv + 1, &o);
    } else {
        rc = nm_usage_error("port: unknown command '%s' (netmove help port)",
                            argv[1]);
    }
    nmovs_xlate_destroy(o.xlate);
    return rc;
}
