/* netmove timeline VM: one migration on one time axis, from the local
 * netmoved's journal (timeline.c extracts and draws it). */
#include "netmove/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "util.h"

#include "firewall/firewall.h"
#include "netmove/cli/client.h"
#include "netmove/cli/timeline.h"

#define CLI_TIMEOUT_MS 10000
#define CLIENT_FILE_MAX (64 << 20)

struct timeline_opts {
    const char *svg, *client, *id, *ctl;
    bool json;
};

static int
timeline_opt(void *o_, int opt, const char *arg)
{
    struct timeline_opts *o = o_;

    switch (opt) {
    case 's': o->svg = arg; break;
    case 'C': o->client = arg; break;
    case 'i': o->id = arg; break;
    case 'c': o->ctl = arg; break;
    case 'j': o->json = true; break;
    default: return NM_EXIT_USAGE;
    }
    return 0;
}

/* The contents of file 'path' ("-": stdin), or NULL with errno. */
static char *
read_file(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    struct ds s = DS_EMPTY_INITIALIZER;
    char buf[65536];
    size_t n;

    if (!f) {
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        ds_put_buffer(&s, buf, n);
        if (s.length > CLIENT_FILE_MAX) {
            break;
        }
    }
    int error = ferror(f) ? errno : s.length > CLIENT_FILE_MAX ? EFBIG : 0;
    if (f != stdin) {
        fclose(f);
    }
    if (error) {
        ds_destroy(&s);
        errno = error;
        return NULL;
    }
    return ds_steal_cstr(&s);
}

static int
write_file(const char *path, const char *text)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

    if (!f) {
        return errno ? -errno : -EIO;
    }
    return nm_write_text(f, text, f != stdout);
}

static int
cmd_timeline(int argc, char *argv[])
{
    static const struct option opts[] = {
        {"svg", required_argument, NULL, 's'},
        {"client", required_argument, NULL, 'C'},
        {"id", required_argument, NULL, 'i'},
        {"ctl", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    struct timeline_opts o;
    char err[NM_ERRLEN];
    int rc;

    memset(&o, 0, sizeof o);
    rc = nm_parse_options(argv[0], argc, argv, opts, timeline_opt, &o);
    if (rc) {
        return rc;
    }
    if (optind >= argc) {
        return nm_usage_error("timeline: VM: missing");
    }
    const char *vm = argv[optind++];
    if (optind < argc) {
        return nm_usage_error("timeline: unexpected argument '%s'",
                              argv[optind]);
    }
    if (!fw_vm_name_valid(vm)) {
        return nm_usage_error("timeline: VM: invalid name '%s'", vm);
    }
    if (o.id && (!o.id[0] || strchr(o.id, '/'))) {
        return nm_usage_error("timeline: --id: invalid migration id '%s'",
                              o.id);
    }
    if (o.svg && !o.svg[0]) {
        return nm_usage_error("timeline: --svg: empty file name");
    }

    /* The client's file first: bad input changes nothing. */
    char *client = NULL;
    if (o.client) {
        client = read_file(o.client);
        if (!client) {
            return nm_usage_error("timeline: --client: %s: %s", o.client,
                                  ovs_strerror(errno));
        }
    }

    char *ctl = nm_client_ctl_path(o.ctl);
    char *args[2] = { CONST_CAST(char *, vm), CONST_CAST(char *, o.id) };
    char *result, *error;
    rc = nm_client_call(ctl, "timeline", o.id ? 2 : 1, args, CLI_TIMEOUT_MS,
                        &result, &error);
    if (rc == -EINVAL || rc == -EREMOTEIO) {
        fprintf(stderr, "netmove: timeline: %s\n", error);
        rc = rc == -EINVAL ? NM_EXIT_USAGE : NM_EXIT_FAIL;
        goto out_free;
    } else if (rc) {
        fprintf(stderr, "netmove: timeline: cannot reach netmoved at %s: "
                "%s\n", ctl, ovs_strerror(-rc));
        rc = NM_EXIT_FAIL;
        goto out_free;
    }

    struct json *reply = json_from_string(result);
    struct timeline t;
    if (timeline_from_reply(&t, reply, err, sizeof err)) {
        rc = nm_fail("timeline: %s", err);
    } else if (client && timeline_add_client(&t, client, err, sizeof err)) {
        rc = nm_usage_error("timeline: --client: %s: %s", o.client, err);
    } else {
        timeline_finish(&t);
        rc = NM_EXIT_OK;
        if (o.svg) {
            char *svg = timeline_to_svg(&t);
            int e = write_file(o.svg, svg);
            free(svg);
            if (e) {
                rc = nm_fail("timeline: --svg: %s: %s", o.svg,
                             ovs_strerror(-e));
            }
        }
        if (!rc && o.json) {
            struct json *j = timeline_to_json(&t);
            char *s = json_to_string(j, JSSF_SORT | JSSF_PRETTY);
            puts(s);
            free(s);
            json_destroy(j);
        } else if (!rc && !(o.svg && !strcmp(o.svg, "-"))) {
            char *s = timeline_to_text(&t);
            fputs(s, stdout);
            free(s);
            if (o.svg) {
                printf("SVG: %s\n", o.svg);
            }
        }
    }
    timeline_destroy(&t);
    json_destroy(reply);

out_free:
    free(result);
    free(error);
    free(ctl);
    free(client);
    return rc;
}

const struct nm_cmd nm_cmd_timeline = {
    "timeline", cmd_timeline,
    "one migration on one time axis: text, JSON or SVG",
    "usage: netmove timeline VM [--svg FILE] [--client FILE] [--json]\n"
    "                        [--id ID] [--ctl PATH]\n"
    "\n"
    "The last migration of VM that this host's netmoved journaled (or\n"
    "migration ID), on one time axis in ms from the VM's pause: prepare,\n"
    "export, pause, the drain (caught, relayed, delivered), the first\n"
    "announcement, the port active, resume, the conntrack delta, the first\n"
    "announcement seen on the uplink, confirm.  On the destination both\n"
    "hosts' events: after confirm it asked the source for its records and\n"
    "estimated the offset of the two clocks from that round trip (shown\n"
    "with its bound).  On the source, its own events only.\n"
    "\n"
    "  --svg FILE     also write an SVG picture (1280 px wide; '-': stdout,\n"
    "                 then no text)\n"
    "  --client FILE  overlay the client's pings: one JSON object a line,\n"
    "                 {\"t_us\": SENT, \"rtt_us\": N} or {\"t_us\": SENT,\n"
    "                 \"lost\": true} (wall clock, us), as the lab's\n"
    "                 nm-probe writes them\n"
    "  --json         the events, phases and counters as JSON\n"
    "  --id ID        migration ID instead of the last one\n"
    "  --ctl PATH     netmoved's control socket (default $NETMOVE_CTL, else\n"
    "                 RUNDIR/netmoved.ctl; RUNDIR: $NETMOVE_RUNDIR, else\n"
    "                 " NM_RUNDIR ")\n"
    "\n"
    "Exit: 0 shown, 1 no such migration or netmoved not reachable, 2 bad\n"
    "input.\n",
};
