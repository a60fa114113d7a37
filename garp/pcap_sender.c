/* garp: sending raw frames on a device through libpcap (pcap_inject), for
 * uplinks and trunks where the frame carries its own tag. */
#include "garp/garp.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include "timeval.h"

#include "garp/garp-private.h"

struct pcap_sender {
    struct garp_sender up;
    pcap_t *pcap;
};

static const struct garp_sender_class pcap_sender_class;

static struct pcap_sender *
pcap_sender_cast(struct garp_sender *sender)
{
    return (struct pcap_sender *) sender;
}

/* A send-only handle: the capture side of it would copy every frame on
 * the device into its ring for nobody, so it gets a filter that keeps
 * none ("less 1": no Ethernet frame is that short). */
static int
silence_capture(pcap_t *pcap)
{
    struct bpf_program prog;
    int error = 0;

    if (pcap_compile(pcap, &prog, "less 1", 1, PCAP_NETMASK_UNKNOWN)) {
        return -EINVAL;
    }
    if (pcap_setfilter(pcap, &prog)) {
        error = -EINVAL;
    }
    pcap_freecode(&prog);
    return error;
}

int
garp_pcap_sender_create(const char *dev, char *err, size_t errlen,
                        struct garp_sender **senderp)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_sender *s;
    pcap_t *pcap;
    int error;

    *senderp = NULL;
    if (!dev || !dev[0] || strlen(dev) >= IF_NAMESIZE
        || !if_nametoindex(dev)) {
        return garp_errno(-ENODEV, err, errlen, "dev: no device '%s' in "
                          "this network namespace", dev ? dev : "");
    }
    pcap = pcap_create(dev, errbuf);
    if (!pcap) {
        return garp_errno(-ENODEV, err, errlen, "dev: %s: %s", dev, errbuf);
    }
    pcap_set_snaplen(pcap, 64);
    pcap_set_immediate_mode(pcap, 1);
    pcap_set_buffer_size(pcap, 64 * 1024);
    error = pcap_activate(pcap);
    if (error < 0) {
        int ret = error == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
                  : error == PCAP_ERROR_PERM_DENIED ? -EPERM : -EIO;
        garp_errno(ret, err, errlen, "dev: %s: %s", dev, pcap_geterr(pcap));
        pcap_close(pcap);
        return ret;
    }
    if (pcap_datalink(pcap) != DLT_EN10MB) {
        garp_errno(-EINVAL, err, errlen, "dev: '%s' is not an Ethernet "
                   "device", dev);
        pcap_close(pcap);
        return -EINVAL;
    }
    error = silence_capture(pcap);
    if (error) {
        garp_errno(error, err, errlen, "dev: %s: %s", dev, pcap_geterr(pcap));
        pcap_close(pcap);
        return error;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        pcap_close(pcap);
        return -ENOMEM;
    }
    s->up.class = &pcap_sender_class;
    s->pcap = pcap;
    *senderp = &s->up;
    return 0;
}

static int
pcap_sender_port(struct garp_sender *sender OVS_UNUSED, const char *port,
                 uint32_t *in_port, char *err, size_t errlen)
{
    *in_port = 0;
    if (port) {
        return garp_err(err, errlen, "port: a device sender sends on its "
                        "device, not from an OVS port ('%s')", port);
    }
    return 0;
}

static int
pcap_sender_send(struct garp_sender *sender, const struct garp_pkt *pkts,
                 size_t n, uint64_t *wall_us, size_t *n_sent)
{
    struct pcap_sender *s = pcap_sender_cast(sender);

    for (size_t i = 0; i < n; i++) {
        /* A full device queue is worth a few quick retries; anything else
         * is the caller's to report. */
        int tries = 0;
        while (pcap_inject(s->pcap, pkts[i].data, pkts[i].len) < 0) {
            int error = errno ? errno : EIO;
            if ((error != ENOBUFS && error != EAGAIN) || ++tries > 100) {
                return -error;
            }
        }
        if (wall_us) {
            wall_us[i] = time_wall_usec();
        }
        (*n_sent)++;
    }
    return 0;
}

static void
pcap_sender_destroy(struct garp_sender *sender)
{
    struct pcap_sender *s = pcap_sender_cast(sender);

    pcap_close(s->pcap);
    free(s);
}

static const struct garp_sender_class pcap_sender_class = {
    "pcap", pcap_sender_port, pcap_sender_send, pcap_sender_destroy, false,
};
