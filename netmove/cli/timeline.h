/* One migration on one time axis: `netmove timeline VM`.
 *
 * Pure: the events and phases are extracted from the records netmoved's
 * control command "timeline" hands over (its journal: the destination's
 * own records, and the source's with the two clocks' offset, journaled as
 * "source-records"), the client's view from a file of its pings, and the
 * text, JSON and SVG forms are built into strings.  No I/O here
 * (cli_timeline.c does it), so all of it is unit-tested
 * (tests/netmove/test_timeline.c). */
#ifndef NETMOVE_CLI_TIMELINE_H
#define NETMOVE_CLI_TIMELINE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json;

/* The times the timeline takes (wall clock, microseconds): 1 to 2^53
 * (the year 2255; a double holds each exactly).  An event or a phase at
 * another time, or one that a shift by the clocks' offset would take
 * there, is left out; a client's ping there is bad input. */
#define TL_TIME_MAX_US (INT64_C(1) << 53)

/* Where an event happened: one lane each on the axis. */
enum tl_lane {
    TL_SOURCE,
    TL_DESTINATION,
    TL_CLIENT,
    TL_N_LANES
};

/* An instant: 'name' is stable (the SVG's data-event, the JSON's "name"),
 * 'label' is for people.  't_us' is on the axis's clock: the
 * destination's wall clock (the source's events shifted by the offset),
 * or the source's own when only its records are known. */
struct tl_event {
    char *name;
    char *label;
    enum tl_lane lane;
    int64_t t_us;
};

/* A span of time on one lane: 'from_us' to 'to_us' (axis clock). */
struct tl_phase {
    char *name;
    char *label;
    enum tl_lane lane;
    int64_t from_us, to_us;
};

/* One of the client's pings: sent at 't_us' (wall clock), answered after
 * 'rtt_us', or lost (rtt_us < 0). */
struct tl_ping {
    int64_t t_us;
    int64_t rtt_us;
};

struct timeline {
    char *vm, *id;
    char *host;                 /* The host that answered. */
    char *hosts[TL_N_LANES];    /* Source and destination names (NULL:
                                 * unknown); the client lane's is
                                 * "client". */
    bool has_offset;            /* The source's records came with it: */
    int64_t offset_us;          /* source clock - destination clock, */
    int64_t offset_bound_us;    /* +- this, */
    int round_trips;            /* the best of these. */
    int64_t origin_us;          /* The axis's 0: the pause, else the
                                 * first event. */

    struct tl_event *events;    /* In time order (timeline_finish()). */
    size_t n_events;
    struct tl_phase *phases;
    size_t n_phases;
    struct tl_ping *pings;      /* In time order. */
    size_t n_pings;

    /* The drain's counters (-1: not recorded). */
    long long src_caught, src_relayed, src_delivered_here;
    long long dst_received, dst_delivered, dst_late, dst_dropped;
    long long ct_delta;         /* Entries in the conntrack delta. */
};

/* Fills 't' from 'reply', the control command's answer ({host, vm, id,
 * role, records}).  0, or -EINVAL with a reason in 'err' (a reply without
 * records, or of another VM).  timeline_destroy() frees 't' either way. */
int timeline_from_reply(struct timeline *t, const struct json *reply,
                        char *err, size_t errlen);

/* Adds the client's pings from 'text', the file `nm-probe run --log` (or
 * any client) writes: one JSON object a line, {"t_us": SENT, "rtt_us": N}
 * or {"t_us": SENT, "lost": true}.  0, or -EINVAL naming the line and the
 * field in 'err' (nothing is added then). */
int timeline_add_client(struct timeline *t, const char *text,
                        char *err, size_t errlen);

/* Sorts the events and chooses the axis's origin: call once everything is
 * added. */
void timeline_finish(struct timeline *t);

void timeline_destroy(struct timeline *t);

/* The forms: malloc'd strings. */
char *timeline_to_text(const struct timeline *t);
struct json *timeline_to_json(const struct timeline *t);
char *timeline_to_svg(const struct timeline *t);

/* The longest run of lost pings: true with its first and last index, or
 * false if none was lost. */
bool timeline_longest_loss(const struct timeline *t, size_t *first,
                           size_t *last);

/* ---- label layout (timeline_svg.c) ---- */

/* A label to place: its anchor 'x' (the event's marker) and width 'w' in;
 * its box's left edge 'bx' and 'row' (0: nearest the bar) out. */
struct tl_label {
    double x, w;
    double bx;
    int row;
};

/* Places the 'n' labels of one lane between 'min_x' and 'max_x' so that no
 * two boxes of one row come closer than 'gap': each centred on its anchor
 * where it fits, shifted right by at most 'max_shift' to share a row, else
 * in the next row.  A label wider than the space is placed at 'min_x' (the
 * caller shortens its text first).  Returns the number of rows used. */
int tl_layout_labels(struct tl_label *labels, size_t n, double min_x,
                     double max_x, double gap, double max_shift);

/* The width of 'text' at font size 'px' as the SVG draws it (a monospace
 * font, 0.6 em a character, with a margin). */
double tl_text_width(const char *text, double px);

#endif /* netmove/cli/timeline.h */
