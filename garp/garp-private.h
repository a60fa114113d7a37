/* garp: declarations shared inside the module only. */
#ifndef GARP_PRIVATE_H
#define GARP_PRIVATE_H 1

#include "garp/garp.h"

struct dp_packet;

/* Pads the Ethernet frame in 'b' to GARP_FRAME_MIN bytes, inserts the
 * 802.1Q tag of 'vlan' (if any) and copies it to 'buf' ('size' bytes),
 * storing its length in '*len', and releases 'b'.  0, -EINVAL (bad vlan)
 * or -ENOSPC. */
int garp_frame_finish(struct dp_packet *b, const struct garp_vlan *vlan,
                      void *buf, size_t size, size_t *len);

/* Makes room for one more element of 'elem_size' bytes in the array
 * '*arrayp' of '*n' elements ('*allocated' allocated), doubling from
 * 'initial'.  0 or -ENOMEM (the array unchanged). */
int garp_grow(void **arrayp, size_t n, size_t *allocated, size_t elem_size,
              size_t initial);

/* A sender's operations (sender.c dispatches to them). */
struct garp_sender_class {
    const char *name;
    int (*port)(struct garp_sender *, const char *port, uint32_t *in_port,
                char *err, size_t errlen);
    int (*send)(struct garp_sender *, const struct garp_pkt *, size_t n,
                uint64_t *wall_us, size_t *n_sent);
    void (*destroy)(struct garp_sender *);
};

struct garp_sender {
    const struct garp_sender_class *class;
};

/* Formats into 'err' like snprintf; a no-op if 'err' is NULL or 'errlen'
 * is 0.  Returns -EINVAL, for "return garp_err(...)". */
int garp_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As garp_err() but returns 'error'. */
int garp_errno(int error, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* garp/garp-private.h */
