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
    bool to_port;               /* Sends a garp_pkt's 'out_port'. */
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

/* ---- For tests: only the module and its tests call these ---- */

/* The kinds 'vm' announces: 'vm->kinds' or, when 0, RARP plus GARP if it
 * has IPv4 addresses plus NA if it has IPv6 ones (or link_local). */
unsigned int garp_vm_kinds(const struct garp_vm *vm);

/* Stops entry 'entry' (nothing more of it is due).  No-op if finished. */
void garp_schedule_remove(struct garp_schedule *, size_t entry);

/* As garp_announcer_add(), but 'vm''s frames go through 'sender' (the
 * caller's, alive as long as the announcer), e.g. another bridge. */
int garp_announcer_add_via(struct garp_announcer *, struct garp_sender *,
                           const struct garp_vm *vm, uint64_t now_us,
                           size_t *vmp, char *err, size_t errlen);

/* When something is next due (UINT64_MAX: finished). */
uint64_t garp_announcer_next(const struct garp_announcer *, uint64_t now_us);

/* "arp", "ns", "na", "rs". */
const char *garp_claim_kind_name(enum garp_claim_kind);

/* "claim", "not-arp-or-nd", "malformed", "bad-source-mac", "mac-mismatch",
 * "arp-probe", "dad", "bad-address". */
const char *garp_no_claim_name(enum garp_no_claim);

/* As garp_claim_parse() for a whole Ethernet frame 'frame' ('len' bytes,
 * at most one 802.1Q tag). */
int garp_claim_parse_eth(const void *frame, size_t len,
                         struct garp_claim *claim, enum garp_no_claim *why);

/* The capture's link-layer type: DLT_LINUX_SLL2, DLT_LINUX_SLL or
 * DLT_EN10MB. */
int garp_claim_capture_datalink(const struct garp_claim_capture *cap);

#endif /* garp/garp-private.h */
