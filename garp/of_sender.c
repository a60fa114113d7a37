/* garp: sending frames through an OVS bridge as if the VM's own port had
 * sent them: OpenFlow packet-out, in_port = that port, actions=NORMAL, via
 * ovs/ (docs/DESIGN.md: the one sideways call between modules).  OVS learns the
 * MAC on the port, applies the port's VLAN and floods to the uplinks.  A
 * frame with an out_port goes out of that port alone, as it is (tagged by
 * the caller). */
#include "garp/garp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "timeval.h"

#include "ovs/ovs.h"

#include "garp/garp-private.h"

/* Frames per packet-out batch: one barrier per batch. */
#define OF_BATCH 4096

struct of_sender {
    struct garp_sender up;
    struct nmovs_of *of;            /* NULL after a failed reconnection. */
    char *rundir;                   /* NULL: $OVS_RUNDIR. */
    char *bridge;
};

static const struct garp_sender_class of_sender_class;

static struct of_sender *
of_sender_cast(struct garp_sender *sender)
{
    return (struct of_sender *) sender;
}

int
garp_of_sender_create(const char *rundir, const char *bridge,
                      char *err, size_t errlen, struct garp_sender **senderp)
{
    struct of_sender *s;
    struct nmovs_of *of;
    int error;

    *senderp = NULL;
    if (!bridge || !bridge[0] || strchr(bridge, '/')) {
        return garp_err(err, errlen, "bridge: '%s' is not a bridge name",
                        bridge ? bridge : "");
    }
    error = nmovs_of_open(rundir, bridge, &of);
    if (error == -ENOENT || error == -ECONNREFUSED) {
        return garp_errno(-ENOENT, err, errlen, "bridge: no bridge '%s' "
                          "(no OpenFlow socket %s/%s.mgmt)", bridge,
                          rundir ? rundir : "$OVS_RUNDIR", bridge);
    } else if (error) {
        return garp_errno(error, err, errlen, "bridge: %s: cannot connect "
                          "(%s)", bridge, strerror(-error));
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->bridge = strdup(bridge))
        || (rundir && !(s->rundir = strdup(rundir)))) {
        if (s) {
            free(s->bridge);
        }
        free(s);
        nmovs_of_close(of);
        return -ENOMEM;
    }
    s->up.class = &of_sender_class;
    s->of = of;
    *senderp = &s->up;
    return 0;
}

/* True if 'error' says the connection to ovs-vswitchd is gone (it
 * restarted, or the bridge was re-created). */
static bool
connection_lost(int error)
{
    return error == -ECONNRESET || error == -EPIPE || error == -ENOTCONN
           || error == -ECONNREFUSED || error == -ENOENT;
}

/* Connects again after the switch went away: a long-running sender
 * (netmoved) must outlive an ovs-vswitchd restart.  0 or -errno. */
static int
of_sender_reconnect(struct of_sender *s)
{
    nmovs_of_close(s->of);
    s->of = NULL;
    return nmovs_of_open(s->rundir, s->bridge, &s->of);
}

static int
of_sender_port(struct garp_sender *sender, const char *port,
               uint32_t *in_port, char *err, size_t errlen)
{
    struct of_sender *s = of_sender_cast(sender);
    int error;

    if (!port || !port[0]) {
        return garp_err(err, errlen, "port: a bridge sender needs the VM's "
                        "port");
    }
    error = s->of ? nmovs_of_port_no(s->of, port, in_port) : -ENOTCONN;
    if (connection_lost(error) && error != -ENOENT
        && !of_sender_reconnect(s)) {
        error = nmovs_of_port_no(s->of, port, in_port);
    }
    if (error == -ENOENT) {
        return garp_errno(error, err, errlen, "port: bridge '%s' has no "
                          "port '%s'", s->bridge, port);
    } else if (error) {
        return garp_errno(error, err, errlen, "port: %s: lookup failed (%s)",
                          port, strerror(-error));
    }
    return 0;
}

static int
of_sender_send(struct garp_sender *sender, const struct garp_pkt *pkts,
               size_t n, uint64_t *wall_us, size_t *n_sent)
{
    struct of_sender *s = of_sender_cast(sender);
    struct nmovs_pkt_out *po = malloc(MIN(n, OF_BATCH) * sizeof *po);
    int error = 0;

    if (!po) {
        return -ENOMEM;
    }
    /* Each packet-out carries its own in_port and action, and the switch
     * handles them in order: one batch, one barrier, whatever ports the
     * frames come from. */
    for (size_t i = 0; i < n; ) {
        size_t k = MIN(n - i, OF_BATCH);

        for (size_t j = 0; j < k; j++) {
            const struct garp_pkt *p = &pkts[i + j];
            po[j] = (struct nmovs_pkt_out) { p->data, p->len, p->in_port,
                                             p->out_port };
        }
        error = s->of ? nmovs_of_packet_out_many(s->of, po, k) : -ENOTCONN;
        if (connection_lost(error) && !of_sender_reconnect(s)) {
            error = nmovs_of_packet_out_many(s->of, po, k);
        }
        if (error) {
            break;
        }
        /* The switch has handled them once the batch's barrier is back. */
        if (wall_us) {
            uint64_t now = time_wall_usec();
            for (size_t j = 0; j < k; j++) {
                wall_us[i + j] = now;
            }
        }
        *n_sent += k;
        i += k;
    }
    free(po);
    return error;
}

static void
of_sender_destroy(struct garp_sender *sender)
{
    struct of_sender *s = of_sender_cast(sender);

    nmovs_of_close(s->of);
    free(s->rundir);
    free(s->bridge);
    free(s);
}

static const struct garp_sender_class of_sender_class = {
    "openflow", of_sender_port, of_sender_send, of_sender_destroy, true,
};
