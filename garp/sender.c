/* garp: the sender interface, dispatched to the device (pcap_sender.c) or
 * bridge (of_sender.c) implementation, and the module's clocks. */
#include "garp/garp.h"

#include <errno.h>
#include <time.h>

#include "garp/garp-private.h"

void
garp_sender_destroy(struct garp_sender *sender)
{
    if (sender) {
        sender->class->destroy(sender);
    }
}

int
garp_sender_port(struct garp_sender *sender, const char *port,
                 uint32_t *in_port, char *err, size_t errlen)
{
    return sender->class->port(sender, port, in_port, err, errlen);
}

int
garp_sender_send(struct garp_sender *sender, const struct garp_pkt *pkts,
                 size_t n, uint64_t *wall_us, size_t *n_sent)
{
    *n_sent = 0;
    return n ? sender->class->send(sender, pkts, n, wall_us, n_sent) : 0;
}

