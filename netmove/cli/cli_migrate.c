/* netmove prepare | resume | confirm | abort | status | left | paused: the
 * migration phases, sent to the local netmoved (which talks to the peer).
 *
 * As a plain exec hook, 'netmove resume' takes the VM and the source host
 * from NETMOVE_VM and NETMOVE_SRC_HOST when they are not given, and
 * 'netmove left' the VM and the destination from NETMOVE_VM and
 * NETMOVE_DST_HOST. */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/cli/client.h"
#include "netmove/common/json.h"

#define CLI_TIMEOUT_MS 90000   /* Above netmoved's own 60 s bound. */

struct phase_opts {
    const char *verb;           /* "prepare", "resume", ... */
    const char *vm, *from, *to, *ctl;
    char **more_vms;            /* VMs after the first: a batch. */
    int n_more_vms;
    char *ips[64];
    int n_ips;
    bool json;
    bool adopt;                 /* prepare --adopt */
    bool vlan_map;              /* prepare --vlan-map */
    bool stopped;               /* paused --stopped */
};

static int
phase_opt(void *o_, int c, const char *arg)
{
    struct phase_opts *o = o_;

    switch (c) {
    case 'f': o->from = arg; break;
    case 'i':
        if (o->n_ips == (int) ARRAY_SIZE(o->ips)) {
            return nm_usage_error("%s: --ip: at most %zu", o->verb,
                                  ARRAY_SIZE(o->ips));
        }
        o->ips[o->n_ips++] = CONST_CAST(char *, arg);
        break;
    case 'j': o->json = true; break;
    case 'a':
        if (strcmp(o->verb, "prepare")) {
            return nm_usage_error("%s: --adopt: only for prepare", o->verb);
        }
        o->adopt = true;
        break;
    case 'v':
        if (strcmp(o->verb, "prepare")) {
            return nm_usage_error("%s: --vlan-map: only for prepare",
                                  o->verb);
        }
        o->vlan_map = true;
        break;
    case 't':
        if (strcmp(o->verb, "left") && strcmp(o->verb, "paused")) {
            return nm_usage_error("%s: --to: only for left and paused",
                                  o->verb);
        }
        o->to = arg;
        break;
    case 's':
        if (strcmp(o->verb, "paused")) {
            return nm_usage_error("%s: --stopped: only for paused", o->verb);
        }
        o->stopped = true;
        break;
    case 'c': o->ctl = arg; break;
    }
    return 0;
}

/* Parses [VM] --from --ip --json --ctl.  Returns -1 on success, else an
 * exit code. */
static int
parse_phase(int argc, char *argv[], struct phase_opts *o, bool vm_from_env,
            bool vm_required, bool batch_ok)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"ip", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"ctl", required_argument, NULL, 'c'},
        {"adopt", no_argument, NULL, 'a'},
        {"vlan-map", no_argument, NULL, 'v'},
        {"to", required_argument, NULL, 't'},
        {"stopped", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    int rc;

    memset(o, 0, sizeof *o);
    o->verb = argv[0];
    rc = nm_parse_options(argv[0], argc, argv, opts, phase_opt, o);
    if (rc) {
        return rc;
    }
    if (optind < argc) {
        o->vm = argv[optind++];
    }
    if (optind < argc) {
        if (!batch_ok) {
            return nm_usage_error("%s: unexpected argument '%s'", argv[0],
                                  argv[optind]);
        }
        if (o->n_ips || o->adopt || o->vlan_map) {
            return nm_usage_error("%s: %s: only with one VM", argv[0],
                                  o->adopt ? "--adopt" : o->vlan_map
                                  ? "--vlan-map" : "--ip");
        }
        o->more_vms = &argv[optind];
        o->n_more_vms = argc - optind;
    }
    if (vm_from_env && !o->vm) {
        o->vm = getenv("NETMOVE_VM");
        if (!o->from) {
            o->from = getenv("NETMOVE_SRC_HOST");
        }
    }
    if (vm_required && (!o->vm || !o->vm[0])) {
        return nm_usage_error("%s: VM: missing%s", argv[0], vm_from_env
                              ? " (argument or NETMOVE_VM)" : "");
    }
    return -1;
}

/* Runs 'cmd' with 'argc' 'argv' on the netmoved at 'ctl' (NULL: the default)
 * and reports: the daemon's answer as JSON (if 'json' or no 'print'), or
 * through 'print' for each migration in it; the daemon's error on stderr
 * (its first line: the rest, the migration's state as JSON, goes to stdout
 * with 'json').  Returns the exit code. */
static int
transact(const char *cmd, int argc, char *argv[], const char *ctl_override,
         bool json, void (*print)(const struct json *))
{
    char *ctl = nm_client_ctl_path(ctl_override);
    char *result, *error;
    int rc = nm_client_call(ctl, cmd, argc, argv, CLI_TIMEOUT_MS,
                            &result, &error);
    int exit_code = NM_EXIT_OK;

    if (rc == -EINVAL || rc == -EREMOTEIO) {
        char *nl = strchr(error, '\n');
        if (nl) {
            *nl = '\0';
        }
        fprintf(stderr, "netmove: %s: %s\n", cmd, error);
        if (nl && json) {
            puts(nl + 1);
        }
        exit_code = rc == -EINVAL ? NM_EXIT_USAGE : NM_EXIT_FAIL;
    } else if (rc) {
        fprintf(stderr, "netmove: %s: cannot reach netmoved at %s: %s\n",
                cmd, ctl, ovs_strerror(-rc));
        exit_code = NM_EXIT_FAIL;
    } else if (json || !print) {
        fputs(result, stdout);
        if (result[0] && result[strlen(result) - 1] != '\n') {
            putchar('\n');
        }
    } else {
        struct json *j = json_from_string(result);
        const struct json *list = j->type == JSON_OBJECT
            ? nm_json_member(j, "migrations") : NULL;
        if (list && list->type == JSON_ARRAY) {
            for (size_t i = 0; i < json_array(list)->n; i++) {
                print(json_array(list)->elems[i]);
            }
        } else {
            print(j);
        }
        json_destroy(j);
    }
    free(ctl);
    free(result);
    free(error);
    return exit_code;
}

/* Runs 'cmd' on the daemon with argv = VM SRC|- IP... (or, for a batch,
 * 'cmd'-many with SRC|- VM...); prints the result. */
static int
call_phase(const char *cmd_, const struct phase_opts *o,
           void (*print)(const struct json *))
{
    char **argv = xcalloc(4 + ARRAY_SIZE(o->ips) + o->n_more_vms,
                          sizeof *argv);
    const char *src = o->from && o->from[0] ? o->from : "-";
    char *cmd = xstrdup(cmd_);
    int argc = 0;

    if (o->n_more_vms) {
        free(cmd);
        cmd = xasprintf("%s-many", cmd_);
        argv[argc++] = CONST_CAST(char *, src);
        argv[argc++] = CONST_CAST(char *, o->vm);
        for (int i = 0; i < o->n_more_vms; i++) {
            argv[argc++] = o->more_vms[i];
        }
    } else {
        argv[argc++] = CONST_CAST(char *, o->vm);
        argv[argc++] = CONST_CAST(char *, src);
        if (o->adopt) {
            argv[argc++] = "--adopt";
        }
        for (int i = 0; i < o->n_ips; i++) {
            argv[argc++] = o->ips[i];
        }
    }

    int exit_code = transact(cmd, argc, argv, o->ctl, o->json, print);
    free(cmd);
    free(argv);
    return exit_code;
}

static double
timing(const struct json *m, const char *name)
{
    const struct json *t = nm_json_member(m, "timings");
    const struct json *v = nm_json_member(t, name);

    return v && v->type == JSON_REAL ? json_real(v)
           : v && v->type == JSON_INTEGER ? json_integer(v) : -1;
}

static const char *
str(const struct json *m, const char *name)
{
    const struct json *v = nm_json_member(m, name);

    return v && v->type == JSON_STRING ? json_string(v) : "-";
}

static void
print_migration(const struct json *m)
{
    if (m->type != JSON_OBJECT) {
        return;
    }
    printf("%s: %s (from %s, migration %s)\n", str(m, "vm"), str(m, "state"),
           str(m, "src"), str(m, "id"));
    static const struct { const char *key, *label; } rows[] = {
        { "prepare_ms", "prepare" },
        { "resume_to_activated_ms", "port active" },
        { "resume_to_first_frame_ms", "first announcement" },
        { "resume_to_ct_delta_ms", "conntrack delta in" },
        { "resume_to_confirmed_ms", "source confirmed" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        double v = timing(m, rows[i].key);
        if (v >= 0) {
            printf("  %-20s %9.3f ms%s\n", rows[i].label, v,
                   i ? " after the resume call" : "");
        }
    }
    const struct json *warnings = nm_json_member(m, "warnings");
    for (size_t i = 0; warnings && warnings->type == JSON_ARRAY
                       && i < json_array(warnings)->n; i++) {
        const struct json *w = json_array(warnings)->elems[i];
        if (w->type == JSON_STRING) {
            fprintf(stderr, "netmove: %s: warning: %s\n", str(m, "vm"),
                    json_string(w));
        }
    }
    const struct json *removed = nm_json_member(m, "source_removed");
    if (removed && removed->type == JSON_OBJECT) {
        char *s = json_to_string(removed, JSSF_SORT);
        printf("  source removed       %s\n", s);
        free(s);
    }
}

/* prepare --vlan-map: "SOURCE-VLAN THIS-SITE-VLAN" a line, for a hook that
 * rewrites the VM's definition (libvirt's <vlan><tag id=.../>). */
static void
print_vlan_map(const struct json *m)
{
    const struct json *map = m->type == JSON_OBJECT
        ? nm_json_member(m, "vlan_map") : NULL;
    struct shash_node *node;

    if (map && map->type == JSON_OBJECT) {
        SHASH_FOR_EACH (node, json_object(map)) {
            const struct json *v = node->data;
            if (v->type == JSON_INTEGER) {
                printf("%s %"PRId64"\n", node->name, json_integer(v));
            }
        }
    }
}

static int
cmd_prepare(int argc, char *argv[])
{
    struct phase_opts o;
    int rc = parse_phase(argc, argv, &o, false, true, true);

    return rc >= 0 ? rc : call_phase("prepare", &o, o.vlan_map
                                     ? print_vlan_map : print_migration);
}

static int
cmd_resume(int argc, char *argv[])
{
    struct phase_opts o;
    int rc = parse_phase(argc, argv, &o, true, true, true);

    return rc >= 0 ? rc : call_phase("resume", &o, print_migration);
}

/* abort, confirm, status: VM and --ctl only. */
static int
simple(const char *cmd, int argc, char *argv[], bool vm_optional)
{
    struct phase_opts o;
    int rc = parse_phase(argc, argv, &o, false, !vm_optional, false);

    if (rc >= 0) {
        return rc;
    }
    char *args[1] = { CONST_CAST(char *, o.vm) };
    return transact(cmd, o.vm ? 1 : 0, args, o.ctl, false, NULL);
}

static int
cmd_abort(int argc, char *argv[])
{
    return simple("abort", argc, argv, false);
}

static int
cmd_confirm(int argc, char *argv[])
{
    return simple("confirm", argc, argv, false);
}

static int
cmd_status(int argc, char *argv[])
{
    return simple("status", argc, argv, true);
}

/* True if 's' is a host name as netmoved's configuration names peers (as
 * the hook adapters check --from and --to, netmove/hooks/hook_call.c). */
static bool
host_name_valid(const char *s)
{
    size_t n = strlen(s);

    return n && n <= 64 && s[0] != '-' && s[0] != '.'
           && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-_") == n;
}

/* left | paused VM... [--to HOST]: the source's evidence (several VMs: a
 * batch, one call, "VM,VM,..." to netmoved). */
static int
evidence(const char *cmd, int argc, char *argv[])
{
    struct phase_opts o;
    int rc = parse_phase(argc, argv, &o, true, true, true);

    if (rc >= 0) {
        return rc;
    }
    if (!o.to) {
        o.to = getenv("NETMOVE_DST_HOST");
    }
    struct ds vms = DS_EMPTY_INITIALIZER;
    for (int i = -1; i < o.n_more_vms; i++) {
        const char *vm = i < 0 ? o.vm : o.more_vms[i];
        if (!fw_vm_name_valid(vm)) {
            ds_destroy(&vms);
            return nm_usage_error("%s: VM: invalid name '%s'", argv[0], vm);
        }
        ds_put_format(&vms, "%s%s", i < 0 ? "" : ",", vm);
    }
    if (o.to && !o.to[0]) {
        ds_destroy(&vms);
        return nm_usage_error("%s: --to: empty", argv[0]);
    }
    if (o.to && !host_name_valid(o.to)) {
        ds_destroy(&vms);
        return nm_usage_error("%s: --to: invalid host name '%s' (1-64 of "
                              "A-Z a-z 0-9 . - _)", argv[0], o.to);
    }
    char *args[3] = { ds_cstr(&vms),
                      CONST_CAST(char *, o.to ? o.to : "-"), "stopped" };
    rc = transact(cmd, o.stopped ? 3 : o.to ? 2 : 1, args, o.ctl, false,
                  NULL);
    ds_destroy(&vms);
    return rc;
}

static int
cmd_left(int argc, char *argv[])
{
    return evidence("left", argc, argv);
}

static int
cmd_paused(int argc, char *argv[])
{
    return evidence("paused", argc, argv);
}

#define CTL_HELP \
    "  --ctl PATH     netmoved's control socket (default $NETMOVE_CTL, else\n" \
    "                 RUNDIR/netmoved.ctl; RUNDIR: $NETMOVE_RUNDIR, else\n" \
    "                 " NM_RUNDIR ")\n"

const struct nm_cmd nm_cmd_prepare = {
    "prepare", cmd_prepare,
    "stage a VM arriving here: port (blocked), firewall, conntrack",
    "usage: netmove prepare VM [VM...] [--from HOST] [--ip IP]... [--adopt]\n"
    "                       [--vlan-map] [--json] [--ctl PATH]\n"
    "\n"
    "On the destination, before the VM resumes: fetch VM's port, firewall\n"
    "and conntrack documents from HOST's netmoved and stage them here (port\n"
    "imported blocked, with this site's VLAN).  Any failure rolls back.\n"
    "Without --from, netmoved asks its peers which host has VM (a libvirt\n"
    "hook is not told the source host).  Several VMs: one batch, answered\n"
    "when all are staged.\n"
    "  --from HOST    the source host (a configured peer)\n"
    "  --ip IP        an address of the VM besides external_ids:ip-addresses\n"
    "  --vlan-map     print, instead of the migration, one line 'OLD NEW' per\n"
    "                 VLAN of the source's site and this site's for the same\n"
    "                 network (a hook rewrites the VM's definition with it)\n"
    "  --adopt        the migrator makes VM's port here itself (libvirt does,\n"
    "                 when it starts QEMU, after prepare): create none, adopt\n"
    "                 that port when it appears (found by the VM's vm-id,\n"
    "                 iface-id or attached-mac, whatever its name), give it\n"
    "                 this site's VLAN and the source's settings, block it\n"
    "                 until resume\n"
    "  --json         print the migration as JSON\n"
    CTL_HELP,
};

const struct nm_cmd nm_cmd_resume = {
    "resume", cmd_resume,
    "the VM runs here: activate, announce, conntrack delta, confirm",
    "usage: netmove resume [VM [VM...]] [--from HOST] [--ip IP]... [--json]\n"
    "                      [--ctl PATH]\n"
    "\n"
    "The critical path, on the destination, the instant VM runs here: the\n"
    "staged port is activated and the first announcements go out, then the\n"
    "conntrack delta comes from the source, then the source removes its copy.\n"
    "Prepares first if 'prepare' was not called.  Without --from, netmoved\n"
    "asks its peers which host has VM.  As an exec hook, VM and HOST default\n"
    "to $NETMOVE_VM and $NETMOVE_SRC_HOST.  Prints per-phase timings.\n"
    "Several VMs (a host evacuation): one batch; every first announcement\n"
    "goes out before any journal write.\n"
    "  --from HOST    the source host (a configured peer)\n"
    "  --ip IP        an address of the VM besides external_ids:ip-addresses\n"
    "  --json         print the migration as JSON\n"
    CTL_HELP,
};

const struct nm_cmd nm_cmd_confirm = {
    "confirm", cmd_confirm,
    "on the source: has the destination taken over VM (exit 0 if so)",
    "usage: netmove confirm VM [--ctl PATH]\n"
    "\n"
    "On the source, after a migration: exit 0 if nothing of VM is pending\n"
    "here (the destination has confirmed and the source removed its port,\n"
    "firewall objects and conntrack entries), 1 if the destination has not\n"
    "confirmed yet (the source keeps everything until it does).\n"
    CTL_HELP,
};

const struct nm_cmd nm_cmd_left = {
    "left", cmd_left,
    "on the source: VM has left this host, for HOST (its migrator says)",
    "usage: netmove left [VM...] [--to HOST] [--ctl PATH]\n"
    "\n"
    "On the source, once the outgoing migration of VM completed (the VM\n"
    "stopped here and runs, or will run, on HOST): this host's own evidence\n"
    "that VM left.  Only then does the destination's confirm remove VM's\n"
    "port, firewall objects and conntrack entries here; a confirm that came\n"
    "first waits for it.  Alone it removes nothing: the destination must\n"
    "confirm too.  Refused (exit 2) if VM was exported to another host than\n"
    "HOST; exit 1 if nothing of VM is outgoing here, 0 if its export (to\n"
    "HOST) was confirmed here in the last 10 minutes (the evidence given\n"
    "twice: libvirt's hook and watch-libvirt --source both give it).  As an\n"
    "exec hook, VM and HOST default to $NETMOVE_VM and $NETMOVE_DST_HOST.\n"
    "Without HOST (libvirt's release, which names none): the host VM was\n"
    "exported to.  Several VMs: each recorded, the errors listed.\n"
    "  --to HOST      the destination (the peer VM was exported to)\n"
    CTL_HELP,
};

const struct nm_cmd nm_cmd_paused = {
    "paused", cmd_paused,
    "on the source: VM paused for its switch-over to HOST",
    "usage: netmove paused [VM...] [--to HOST] [--stopped] [--ctl PATH]\n"
    "\n"
    "On the source, when the outgoing migration of VM pauses it for the\n"
    "switch-over: the pause moment, recorded in the outgoing migration and\n"
    "told to the destination, from which netmoved relays the frames for VM\n"
    "to it (docs/DRAIN.md).  Best called just before the VM stops, waiting\n"
    "for it to return: it returns once the source catches VM's frames, and\n"
    "until then they still reach VM here (then no frame reaches the stopped\n"
    "VM's tap).  QEMU's STOP and libvirt's SUSPENDED MIGRATED come after the\n"
    "stop ('netmove watch-qmp --source', 'watch-libvirt --source' call it\n"
    "then, with --stopped).  Without it the destination announces VM at\n"
    "resume only.  Deletes nothing and authorizes nothing.  VM and HOST as\n"
    "for 'netmove left'; exit 1 if nothing of VM is outgoing here, 2 for bad\n"
    "input (VM, HOST).  Several VMs (a batch pausing together): one call;\n"
    "their catches go to the switch together and it returns once all are\n"
    "in; each VM is recorded on its own, the errors listed.\n"
    "  --to HOST      the destination (the peer VM was exported to)\n"
    "  --stopped      VM has stopped already: every frame caught is relayed\n"
    CTL_HELP,
};

const struct nm_cmd nm_cmd_abort = {
    "abort", cmd_abort,
    "roll back a migration that has not resumed",
    "usage: netmove abort VM [--ctl PATH]\n"
    "\n"
    "On the destination, before resume: remove what prepare staged and tell\n"
    "the source, which changed nothing and keeps the VM.  On the source,\n"
    "with nothing incoming: withdraw an export of VM that its destination\n"
    "never confirmed or aborted (VM stays here; that destination's confirm\n"
    "is refused).\n"
    CTL_HELP,
};

const struct nm_cmd nm_cmd_status = {
    "status", cmd_status,
    "netmoved's peers and migrations (JSON)",
    "usage: netmove status [VM] [--ctl PATH]\n"
    CTL_HELP,
};
