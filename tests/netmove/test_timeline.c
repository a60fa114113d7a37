/* netmove/cli/timeline.c, timeline_svg.c: a migration's events from its
 * journal's records, the client's pings, the label layout and the SVG. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "util.h"

#include "netmove/cli/timeline.h"
#include "netmove/common/json.h"

/* ---- the label layout ---- */

/* No two boxes of one row meet (rows are apart by construction); each in
 * [min_x, max_x]; none slid more than 'shift' right of where it wanted. */
static void
assert_layout_ok(const struct tl_label *l, size_t n, double min_x,
                 double max_x, double gap, double shift)
{
    for (size_t i = 0; i < n; i++) {
        double w = MIN(l[i].w, max_x - min_x);
        double pref = MIN(MAX(l[i].x - w / 2, min_x), max_x - w);
        assert_true(l[i].row >= 0);
        assert_true(l[i].bx >= min_x - 1e-9);
        assert_true(l[i].bx + w <= max_x + 1e-9);
        assert_true(l[i].bx - pref <= shift + 1e-9);
        assert_true(l[i].bx >= pref - 1e-9);
        for (size_t k = 0; k < i; k++) {
            double wk = MIN(l[k].w, max_x - min_x);
            if (l[i].row == l[k].row) {
                bool apart = l[i].bx >= l[k].bx + wk + gap - 1e-9
                             || l[k].bx >= l[i].bx + w + gap - 1e-9;
                if (!apart) {
                    fail_msg("labels %zu and %zu meet in row %d: "
                             "[%.1f, %.1f] [%.1f, %.1f]", i, k, l[i].row,
                             l[i].bx, l[i].bx + w, l[k].bx, l[k].bx + wk);
                }
            }
        }
    }
}

/* 20 events within 1 ms of a 300 ms axis: all at one pixel. */
static void
test_layout_crowded(void **state OVS_UNUSED)
{
    struct tl_label l[20];

    for (size_t i = 0; i < ARRAY_SIZE(l); i++) {
        l[i] = (struct tl_label) { 700.0 + i * 0.05, 120.0 + 7 * (i % 5),
                                   0, -1 };
    }
    int rows = tl_layout_labels(l, ARRAY_SIZE(l), 150, 1250, 8, 60);
    assert_layout_ok(l, ARRAY_SIZE(l), 150, 1250, 8, 60);
    assert_true(rows >= 10);    /* Two fit a row at most (one slides). */
    assert_true(rows <= 20);

    /* Against an edge: clamped inside, still apart. */
    for (size_t i = 0; i < ARRAY_SIZE(l); i++) {
        l[i] = (struct tl_label) { 1249.9, 200.0, 0, -1 };
    }
    tl_layout_labels(l, ARRAY_SIZE(l), 150, 1250, 8, 60);
    assert_layout_ok(l, ARRAY_SIZE(l), 150, 1250, 8, 60);
}

/* Spread labels share a row; random ones never meet. */
static void
test_layout_random(void **state OVS_UNUSED)
{
    struct tl_label l[300];

    for (size_t i = 0; i < 10; i++) {
        l[i] = (struct tl_label) { 200.0 + i * 100, 80.0, 0, -1 };
    }
    assert_int_equal(tl_layout_labels(l, 10, 150, 1250, 8, 60), 1);
    assert_layout_ok(l, 10, 150, 1250, 8, 60);

    srand(7);
    for (int run = 0; run < 50; run++) {
        size_t n = 1 + rand() % ARRAY_SIZE(l);
        for (size_t i = 0; i < n; i++) {
            l[i] = (struct tl_label) { 150 + rand() % 1100,
                                       5 + rand() % 1300, 0, -1 };
        }
        tl_layout_labels(l, n, 150, 1250, 8, 60);
        assert_layout_ok(l, n, 150, 1250, 8, 60);
    }
    assert_int_equal(tl_layout_labels(l, 0, 150, 1250, 8, 60), 0);
}

/* ---- events from records ---- */

/* A destination's journal as netmoved writes it (a lab run's, trimmed),
 * with the source's records 7 ms ahead of this host's clock. */
#define T0 1796054991000000LL
static struct json *
dst_reply(bool with_source)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_format(&s, "{\"host\": \"host2\", \"vm\": \"vm1\", \"id\": "
                  "\"vm1.1\", \"role\": \"destination\", \"records\": ["
                  "{\"t_us\": %lld, \"step\": \"prepare-begin\", "
                  "\"src\": \"host1\", \"vm\": \"vm1\"},"
                  "{\"t_us\": %lld, \"step\": \"prepare-done\"},"
                  "{\"t_us\": %lld, \"step\": \"paused\", \"paused_us\": %lld,"
                  " \"t_paused_msg_wall_us\": %lld, "
                  "\"t_announced_wall_us\": %lld},"
                  "{\"t_us\": %lld, \"step\": \"drained\", \"drain\": {"
                  "\"relayed_received\": 25, \"delivered_frames\": 25, "
                  "\"late\": 0, \"dropped_scope\": 1, "
                  "\"t_paused_msg_wall_us\": %lld, "
                  "\"t_hold_released_wall_us\": %lld}},"
                  "{\"t_us\": %lld, \"step\": \"resume-begin\"},"
                  "{\"t_us\": %lld, \"step\": \"announced\", "
                  "\"first_frame_wall_us\": %lld, "
                  "\"port_active_wall_us\": %lld},"
                  "{\"t_us\": %lld, \"step\": \"ct-delta-done\", \"ct\": "
                  "{\"entries\": [[1], [2]], \"gone\": [[3]]}},"
                  "{\"t_us\": %lld, \"step\": \"confirmed\", "
                  "\"source_removed\": {\"ports\": 1, \"fw_objects\": 3, "
                  "\"ct_entries\": 2}}",
                  T0, T0 + 20000, T0 + 132000, T0 + 100000 + 7000,
                  T0 + 130000, T0 + 133000, T0 + 138000, T0 + 130000,
                  T0 + 137000, T0 + 200000, T0 + 201000, T0 + 200500,
                  T0 + 132500, T0 + 202000, T0 + 250000);
    if (with_source) {
        /* Source clock = ours + 7 ms. */
        ds_put_format(&s, ",{\"t_us\": %lld, \"step\": \"source-records\", "
                      "\"offset_us\": 7000, \"offset_bound_us\": 400, "
                      "\"records\": ["
                      "{\"t_us\": %lld, \"step\": \"export\", \"peer\": "
                      "\"host2\"},"
                      "{\"t_us\": %lld, \"step\": \"drained\", \"drain\": {"
                      "\"caught\": 26, \"relayed_frames\": 25, "
                      "\"delivered_here\": 1, \"t_paused\": %lld, "
                      "\"t_catch_synced\": %lld, \"t_released\": %lld}},"
                      "{\"t_us\": %lld, \"step\": \"confirm-begin\"},"
                      "{\"t_us\": %lld, \"step\": \"confirm-done\"}]}",
                      T0 + 251000, T0 + 10000 + 7000, T0 + 140000 + 7000,
                      T0 + 100000 + 7000, T0 + 125000 + 7000,
                      T0 + 139000 + 7000, T0 + 203000 + 7000,
                      T0 + 240000 + 7000);
    }
    ds_put_format(&s, ",{\"t_us\": %lld, \"step\": \"announcements-seen\", "
                  "\"first_seen_wall_us\": %lld}]}", T0 + 1500000,
                  T0 + 200700);
    struct json *j = json_from_string(ds_cstr(&s));
    ds_destroy(&s);
    assert_int_equal(j->type, JSON_OBJECT);
    return j;
}

static const struct tl_event *
find_ev(const struct timeline *t, const char *name)
{
    for (size_t i = 0; i < t->n_events; i++) {
        if (!strcmp(t->events[i].name, name)) {
            return &t->events[i];
        }
    }
    return NULL;
}

static const struct tl_event *
ev(const struct timeline *t, const char *name)
{
    const struct tl_event *e = find_ev(t, name);

    if (!e) {
        fail_msg("no event %s", name);
    }
    return e;
}

static bool
has_ev(const struct timeline *t, const char *name)
{
    return find_ev(t, name) != NULL;
}

static const struct tl_phase *
phase(const struct timeline *t, const char *name)
{
    for (size_t i = 0; i < t->n_phases; i++) {
        if (!strcmp(t->phases[i].name, name)) {
            return &t->phases[i];
        }
    }
    fail_msg("no phase %s", name);
    return NULL;
}

static double
ms(const struct timeline *t, const char *name)
{
    return (ev(t, name)->t_us - t->origin_us) / 1000.0;
}

/* Both hosts on the destination's clock, in order, from the pause. */
static void
test_extract_both(void **state OVS_UNUSED)
{
    struct json *reply = dst_reply(true);
    struct timeline t;
    char err[128];

    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    timeline_finish(&t);
    assert_string_equal(t.hosts[TL_SOURCE], "host1");
    assert_string_equal(t.hosts[TL_DESTINATION], "host2");
    assert_true(t.has_offset);
    assert_int_equal(t.offset_us, 7000);
    assert_int_equal(t.offset_bound_us, 400);

    /* The source's pause, shifted to our clock: the origin. */
    assert_int_equal(t.origin_us, T0 + 100000);
    assert_int_equal(ev(&t, "pause")->lane, TL_SOURCE);
    assert_true(ms(&t, "export") == -90.0);
    assert_true(ms(&t, "prepare-begin") == -100.0);
    assert_true(ms(&t, "prepare-done") == -80.0);
    assert_true(ms(&t, "catch-synced") == 25.0);
    assert_true(ms(&t, "pause-received") == 30.0);
    assert_true(ms(&t, "announce-at-pause") == 33.0);
    assert_true(ms(&t, "port-active") == 32.5);
    assert_true(ms(&t, "hold-released") == 37.0);
    assert_true(ms(&t, "drain-released") == 39.0);
    assert_true(ms(&t, "resume") == 100.0);
    assert_true(ms(&t, "announce-at-resume") == 100.5);
    assert_true(ms(&t, "uplink-first-seen") == 100.7);
    assert_true(ms(&t, "ct-delta") == 102.0);
    assert_true(ms(&t, "confirm-begin") == 103.0);
    assert_true(ms(&t, "confirm-done") == 140.0);
    assert_true(ms(&t, "confirm") == 150.0);
    assert_int_equal(ev(&t, "confirm-done")->lane, TL_SOURCE);
    assert_int_equal(ev(&t, "confirm")->lane, TL_DESTINATION);
    assert_false(has_ev(&t, "pause-src-clock"));

    /* In time order. */
    for (size_t i = 1; i < t.n_events; i++) {
        assert_true(t.events[i - 1].t_us <= t.events[i].t_us);
    }
    assert_true(phase(&t, "prepare")->to_us - phase(&t, "prepare")->from_us
                == 20000);
    assert_true(phase(&t, "vm-paused")->to_us
                - phase(&t, "vm-paused")->from_us == 100000);
    assert_int_equal(phase(&t, "drain")->lane, TL_SOURCE);
    assert_int_equal(phase(&t, "hold")->lane, TL_DESTINATION);
    assert_int_equal(t.src_caught, 26);
    assert_int_equal(t.src_relayed, 25);
    assert_int_equal(t.dst_delivered, 25);
    assert_int_equal(t.dst_dropped, 1);
    assert_int_equal(t.ct_delta, 3);

    char *text = timeline_to_text(&t);
    assert_non_null(strstr(text, "host1 = host2 +7.000 ms, +-0.400 ms"));
    assert_non_null(strstr(text, "source caught 26, relayed 25"));
    assert_non_null(strstr(text, "+100.000  host2      resume"));
    free(text);
    struct json *j = timeline_to_json(&t);
    assert_int_equal(json_integer(nm_json_member(nm_json_member(
                         j, "clock_offset"), "offset_us")), 7000);
    json_destroy(j);
    timeline_destroy(&t);
    json_destroy(reply);
}

/* Without the source's records (a source of before the timeline): the
 * pause the destination heard of, on the source's clock, no offset. */
static void
test_extract_destination_alone(void **state OVS_UNUSED)
{
    struct json *reply = dst_reply(false);
    struct timeline t;
    char err[128];

    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    timeline_finish(&t);
    assert_false(t.has_offset);
    assert_int_equal(ev(&t, "pause")->t_us, T0 + 107000);
    assert_false(has_ev(&t, "export"));
    assert_false(has_ev(&t, "confirm-done"));
    assert_int_equal(t.src_caught, -1);
    char *text = timeline_to_text(&t);
    assert_non_null(strstr(text, "no offset known"));
    assert_null(strstr(text, "source caught"));
    free(text);
    timeline_destroy(&t);
    json_destroy(reply);
}

/* On the source: its own records. */
static void
test_extract_source(void **state OVS_UNUSED)
{
    struct json *reply = json_from_string(
        "{\"host\": \"host1\", \"vm\": \"vm1\", \"id\": \"vm1.1\", "
        "\"role\": \"source\", \"records\": ["
        "{\"t_us\": 10, \"step\": \"export\", \"peer\": \"host2\", "
        "\"port\": {}},"
        "{\"t_us\": 30, \"step\": \"drained\", \"drain\": {\"t_paused\": 20,"
        " \"t_released\": 29, \"caught\": 2, \"relayed_frames\": 2}},"
        "{\"t_us\": 40, \"step\": \"left\"},"
        "{\"t_us\": 50, \"step\": \"confirm-done\"}, 7, {\"step\": 1}]}");
    struct timeline t;
    char err[128];

    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    timeline_finish(&t);
    assert_string_equal(t.hosts[TL_SOURCE], "host1");
    assert_string_equal(t.hosts[TL_DESTINATION], "host2");
    assert_int_equal(t.origin_us, 20);
    assert_int_equal(t.n_events, 5);
    assert_string_equal(t.events[0].name, "export");
    assert_string_equal(t.events[4].name, "confirm-done");
    timeline_destroy(&t);
    json_destroy(reply);

    /* A reply without records is refused, named. */
    reply = json_from_string("{\"host\": \"h\", \"vm\": \"vm1\", \"id\": "
                             "\"x\", \"role\": \"source\"}");
    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "records"));
    timeline_destroy(&t);
    json_destroy(reply);
}

/* ---- the client's pings ---- */

static void
test_client(void **state OVS_UNUSED)
{
    struct json *reply = dst_reply(true);
    struct timeline t;
    struct ds s = DS_EMPTY_INITIALIZER;
    char err[128];
    size_t first, last;

    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    /* A ping a ms from 50 ms before the pause; 4 lost at +10..+13, 2 at
     * +60, 61. */
    for (int i = -50; i < 200; i++) {
        bool lost = (i >= 10 && i <= 13) || i == 60 || i == 61;
        if (lost) {
            ds_put_format(&s, "{\"t_us\": %lld, \"lost\": true}\n",
                          T0 + 100000 + i * 1000LL);
        } else {
            ds_put_format(&s, "{\"t_us\": %lld, \"rtt_us\": 80}\n\n",
                          T0 + 100000 + i * 1000LL);
        }
    }
    assert_int_equal(timeline_add_client(&t, ds_cstr(&s), err, sizeof err),
                     0);
    timeline_finish(&t);
    assert_int_equal(t.n_pings, 250);
    assert_true(timeline_longest_loss(&t, &first, &last));
    assert_int_equal(last - first + 1, 4);
    assert_int_equal(t.pings[first].t_us, T0 + 110000);
    char *text = timeline_to_text(&t);
    assert_non_null(strstr(text, "client: 250 pings, 6 lost, longest gap 4 "
                           "lost from +10.0 ms"));
    free(text);

    /* Bad lines: named, nothing changed. */
    static const char *const bad[][2] = {
        { "{\"t_us\": 5, \"rtt_us\": 1}\n[1]\n", "line 2: not a JSON" },
        { "{\"rtt_us\": 1}\n", "line 1: t_us" },
        { "{\"t_us\": 5}\n", "line 1: rtt_us" },
        { "{\"t_us\": 5, \"rtt_us\": -3}\n", "line 1: rtt_us" },
        { "{\"t_us\": 5, \"lost\": 1}\n", "line 1: rtt_us" },
        { "nonsense\n", "line 1: not a JSON" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        assert_int_equal(timeline_add_client(&t, bad[i][0], err, sizeof err),
                         -EINVAL);
        if (!strstr(err, bad[i][1])) {
            fail_msg("%s: got '%s'", bad[i][1], err);
        }
        assert_int_equal(t.n_pings, 250);
    }
    ds_destroy(&s);
    timeline_destroy(&t);
    json_destroy(reply);
}

/* ---- the SVG ---- */

struct box {
    double x0, y0, x1, y1;
    int px;
    char text[128];
};

/* The text elements of 'svg' (as put_text() writes them) as boxes: the
 * reserved width, the font's height around the baseline. */
static size_t
text_boxes(const char *svg, struct box *boxes, size_t max)
{
    size_t n = 0;

    for (const char *p = strstr(svg, "<text "); p && n < max;
         p = strstr(p + 1, "<text ")) {
        double x, y, w;
        int px;
        assert_int_equal(sscanf(p, "<text x=\"%lf\" y=\"%lf\" "
                                "font-size=\"%d\" data-w=\"%lf\"", &x, &y,
                                &px, &w), 4);
        const char *gt = strchr(p, '>'), *end = strstr(p, "</text>");
        struct box *b = &boxes[n++];
        *b = (struct box) { x, y - px * 0.93, x + w, y + px * 0.24, px, "" };
        snprintf(b->text, sizeof b->text, "%.*s", (int) (end - gt - 1),
                 gt + 1);
    }
    return n;
}

static void
assert_no_overlap(const char *svg)
{
    struct box *b = xmalloc(2000 * sizeof *b);
    size_t n = text_boxes(svg, b, 2000);

    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(b[i].px >= 11);
        assert_true(b[i].x0 >= 0 && b[i].x1 <= 1280);
        for (size_t k = 0; k < i; k++) {
            if (b[i].x0 < b[k].x1 && b[k].x0 < b[i].x1
                && b[i].y0 < b[k].y1 && b[k].y0 < b[i].y1) {
                fail_msg("'%s' overlaps '%s'", b[i].text, b[k].text);
            }
        }
    }
    free(b);
}

static void
test_svg(void **state OVS_UNUSED)
{
    struct json *reply = dst_reply(true);
    struct timeline t;
    char err[128];

    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    assert_int_equal(timeline_add_client(&t, "{\"t_us\": 1796054991090000, "
                                         "\"rtt_us\": 80}\n"
                                         "{\"t_us\": 1796054991091000, "
                                         "\"lost\": true}\n", err,
                                         sizeof err), 0);
    timeline_finish(&t);
    char *svg = timeline_to_svg(&t);
    assert_non_null(strstr(svg, "viewBox=\"0 0 1280 "));
    static const char *const ids[] = {
        "event-pause", "event-prepare-begin", "event-prepare-done",
        "event-export", "event-resume", "event-port-active",
        "event-announce-at-pause", "event-uplink-first-seen",
        "event-ct-delta", "event-hold-released", "event-drain-released",
        "event-confirm", "phase-prepare", "phase-vm-paused", "phase-drain",
        "lane-source", "lane-destination", "lane-client",
        "client-longest-gap", "summary-clocks", "summary-drain",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        char *id = xasprintf("id=\"%s\"", ids[i]);
        if (!strstr(svg, id)) {
            fail_msg("no %s", id);
        }
        free(id);
    }
    assert_no_overlap(svg);
    free(svg);
    timeline_destroy(&t);
    json_destroy(reply);
}

/* 20 events within 1 ms, host names to escape: labels still apart, the
 * text escaped. */
static void
test_svg_crowded(void **state OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_cstr(&s, "{\"host\": \"h<&>\\\"'2\", \"vm\": \"vm1\", \"id\": "
                "\"vm1.1\", \"role\": \"destination\", \"records\": [");
    static const char *const steps[] = {
        "prepare-begin", "prepare-done", "resume-begin", "ct-delta-done",
        "confirmed", "failed", "aborted",
    };
    for (int i = 0; i < 20; i++) {
        ds_put_format(&s, "%s{\"t_us\": %lld, \"step\": \"%s\", "
                      "\"src\": \"a&b\"}", i ? "," : "",
                      T0 + i * 50LL, steps[i % ARRAY_SIZE(steps)]);
    }
    /* Not the same names: give the rest events of their own. */
    ds_put_format(&s, ",{\"t_us\": %lld, \"step\": \"announced\", "
                  "\"first_frame_wall_us\": %lld, \"port_active_wall_us\": "
                  "%lld}, {\"t_us\": 1, \"step\": \"paused\", \"paused_us\":"
                  " %lld, \"t_paused_msg_wall_us\": %lld, "
                  "\"t_announced_wall_us\": %lld}, {\"t_us\": 1, \"step\":"
                  " \"announcements-seen\", \"first_seen_wall_us\": %lld}]}",
                  T0 + 300, T0 + 310, T0 + 320, T0 + 330, T0 + 340,
                  T0 + 350, T0 + 990);
    struct json *reply = json_from_string(ds_cstr(&s));
    struct timeline t;
    char err[128];

    assert_int_equal(reply->type, JSON_OBJECT);
    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    /* Pings through that ms and 100 ms around. */
    ds_clear(&s);
    for (int i = 0; i < 300; i++) {
        ds_put_format(&s, "{\"t_us\": %lld, \"rtt_us\": 50}\n",
                      T0 - 100000 + i * 1000LL);
    }
    assert_int_equal(timeline_add_client(&t, ds_cstr(&s), err, sizeof err),
                     0);
    timeline_finish(&t);
    /* And 20 events within 1 ms on each host. */
    for (int i = 0; i < 40; i++) {
        t.events = xrealloc(t.events, (t.n_events + 1) * sizeof *t.events);
        t.events[t.n_events++] = (struct tl_event) {
            xasprintf("crowd-%d", i),
            xasprintf("crowded event number %d <%s>", i,
                      i % 3 ? "x" : "a longer label here"),
            i % 2 ? TL_SOURCE : TL_DESTINATION, T0 + 500 + i * 25,
        };
    }
    timeline_finish(&t);
    assert_true(t.n_events >= 45);
    char *svg = timeline_to_svg(&t);
    assert_no_overlap(svg);
    assert_null(strstr(svg, "h<&>"));
    assert_non_null(strstr(svg, "h&lt;&amp;&gt;&quot;&apos;2"));
    assert_non_null(strstr(svg, "a&amp;b"));
    free(svg);
    timeline_destroy(&t);
    json_destroy(reply);
    ds_destroy(&s);
}

/* True if 's' is valid UTF-8 (no sequence cut, no stray continuation). */
static bool
utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1
                : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0) {
            return false;
        }
        p++;
        for (int i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80) {
                return false;
            }
        }
    }
    return true;
}

/* Labels cut to fit (a host name, the title) are cut between characters:
 * the SVG stays valid UTF-8. */
static void
test_svg_utf8_cut(void **state OVS_UNUSED)
{
    static const char *const names[] = {
        "h\xc3\xb4te-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
        "x\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82"
        "\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2"
        "\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
        "\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0"
        "\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f"
        "\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90"
        "\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7\xf0\x9f\x90\xa7",
    };
    for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
        for (int pad = 0; pad < 4; pad++) {
            struct ds name = DS_EMPTY_INITIALIZER;
            ds_put_format(&name, "%.*s%s", pad, "abc", names[k]);
            struct json *reply = json_object_create();
            struct json *recs = json_array_create_empty();
            json_object_put_string(reply, "host", ds_cstr(&name));
            json_object_put_string(reply, "vm", "vm1");
            json_object_put_string(reply, "id", "vm1.1");
            json_object_put_string(reply, "role", "destination");
            struct json *r = json_object_create();
            json_object_put(r, "t_us", json_integer_create(T0));
            json_object_put_string(r, "step", "prepare-begin");
            json_object_put_string(r, "src", ds_cstr(&name));
            json_array_add(recs, r);
            json_object_put(reply, "records", recs);

            struct timeline t;
            char err[128];
            assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err),
                             0);
            timeline_finish(&t);
            char *svg = timeline_to_svg(&t);
            assert_true(utf8_valid(ds_cstr(&name)));
            if (!utf8_valid(svg)) {
                fail_msg("invalid UTF-8 in the SVG for host '%s'",
                         ds_cstr(&name));
            }
            assert_non_null(strstr(svg, "...</text>"));
            free(svg);
            timeline_destroy(&t);
            json_destroy(reply);
            ds_destroy(&name);
        }
    }
}

/* Times from anywhere (the source's records, its offset, the journal, the
 * client's file) never take the axis out of its columns nor a shift out
 * of int64: out of 1 .. 2^53 (or shifted there) they are left out; the
 * text's axis puts any event in a column; the SVG has no NaN or inf. */
static void
test_hostile_times(void **state OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    ds_put_format(&s, "{\"host\": \"h2\", \"vm\": \"vm1\", \"id\": \"vm1.1\","
                  " \"role\": \"destination\", \"records\": ["
                  "{\"t_us\": %lld, \"step\": \"prepare-begin\", "
                  "\"src\": \"h1\"},"
                  "{\"t_us\": %lld, \"step\": \"prepare-done\"},"
                  "{\"t_us\": 9000000000000000000, \"step\": "
                  "\"announcements-seen\", \"first_seen_wall_us\": "
                  "9000000000000000000},"
                  "{\"t_us\": %lld, \"step\": \"paused\", \"paused_us\": "
                  "9223372036854775807},"
                  "{\"t_us\": 1, \"step\": \"source-records\", "
                  "\"offset_us\": -9223372036854775807, \"records\": ["
                  "{\"t_us\": 9223372036854775807, \"step\": \"export\"},"
                  "{\"t_us\": %lld, \"step\": \"left\"},"
                  "{\"t_us\": %lld, \"step\": \"drained\", \"drain\": {"
                  "\"t_paused\": 9223372036854775807, "
                  "\"t_released\": -9223372036854775807}}]}]}",
                  T0, T0 + 1000, T0 + 500, T0, T0);
    struct json *reply = json_from_string(ds_cstr(&s));
    struct timeline t;
    char err[128];

    assert_int_equal(reply->type, JSON_OBJECT);
    assert_int_equal(timeline_from_reply(&t, reply, err, sizeof err), 0);
    timeline_finish(&t);
    for (size_t i = 0; i < t.n_events; i++) {
        assert_true(t.events[i].t_us > 0
                    && t.events[i].t_us <= TL_TIME_MAX_US);
    }
    assert_true(has_ev(&t, "prepare-begin"));
    assert_false(has_ev(&t, "uplink-first-seen"));
    assert_false(has_ev(&t, "export"));
    assert_false(has_ev(&t, "left"));     /* Shifted past 2^53. */
    assert_false(has_ev(&t, "pause"));
    free(timeline_to_text(&t));
    char *svg = timeline_to_svg(&t);
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    free(svg);

    /* Events put past the checks: the axis still clamps them. */
    static const int64_t far[] = { 1, INT64_MAX, T0 };
    for (size_t i = 0; i < ARRAY_SIZE(far); i++) {
        t.events = xrealloc(t.events, (t.n_events + 1) * sizeof *t.events);
        t.events[t.n_events++] = (struct tl_event) {
            xasprintf("far-%zu", i), xstrdup("far"),
            i % 2 ? TL_SOURCE : TL_DESTINATION, far[i],
        };
    }
    timeline_finish(&t);
    char *text = timeline_to_text(&t);
    assert_non_null(strstr(text, "|"));
    free(text);
    timeline_destroy(&t);
    json_destroy(reply);

    /* A client's ping out of time: bad input, named. */
    static const char *const bad[] = {
        "{\"t_us\": 9223372036854775807, \"rtt_us\": 1}\n",
        "{\"t_us\": 9007199254740993, \"lost\": true}\n",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(&t, 0, sizeof t);
        err[0] = '\0';
        assert_int_equal(timeline_add_client(&t, bad[i], err, sizeof err),
                         -EINVAL);
        assert_non_null(strstr(err, "line 1: t_us"));
        assert_int_equal(t.n_pings, 0);
        timeline_destroy(&t);
    }
    ds_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_crowded),
        cmocka_unit_test(test_layout_random),
        cmocka_unit_test(test_extract_both),
        cmocka_unit_test(test_extract_destination_alone),
        cmocka_unit_test(test_extract_source),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_svg_crowded),
        cmocka_unit_test(test_svg_utf8_cut),
        cmocka_unit_test(test_hostile_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
