/* The timeline as an SVG picture, written as text: one lane per host and
 * one for the client, phases as bars, events as markers with labels laid
 * out in rows so that no two overlap (tl_layout_labels()), a time axis in
 * ms from the pause.  1280 px wide; every text at least 11 px. */
#include "netmove/cli/timeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "util.h"

#define WIDTH 1280
#define PLOT_L 150.0            /* The plot: lane titles to its left. */
#define PLOT_R 1250.0
#define FONT 12                 /* Labels. */
#define FONT_SMALL 11           /* Tick labels, lane roles. */
#define ROW_H 17.0              /* A label row (a 12 px line is ~14). */
#define BAR_H 14.0
#define LABEL_GAP 8.0           /* Between two labels of one row. */
#define LABEL_SHIFT 60.0        /* How far a label may slide right. */

double
tl_text_width(const char *text, double px)
{
    /* Monospace (DejaVu Sans Mono, Liberation Mono: 0.6 em an advance);
     * UTF-8 continuation bytes take no room. */
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        n += ((unsigned char) *p & 0xc0) != 0x80;
    }
    return n * px * 0.61 + 2;
}

struct order {
    size_t i;
    double x;
};

static int
order_cmp(const void *a_, const void *b_)
{
    const struct order *a = a_, *b = b_;

    if (a->x != b->x) {
        return a->x < b->x ? -1 : 1;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

int
tl_layout_labels(struct tl_label *labels, size_t n, double min_x,
                 double max_x, double gap, double max_shift)
{
    struct order *order = xmalloc(MAX(n, 1) * sizeof *order);
    double *row_end = NULL;
    size_t n_rows = 0, allocated = 0;

    for (size_t i = 0; i < n; i++) {
        order[i] = (struct order) { i, labels[i].x };
    }
    qsort(order, n, sizeof *order, order_cmp);
    for (size_t k = 0; k < n; k++) {
        struct tl_label *l = &labels[order[k].i];
        double w = MIN(l->w, max_x - min_x);
        double pref = MIN(MAX(l->x - w / 2, min_x), max_x - w);

        /* Each row's boxes are placed left to right: a new box starts
         * past the row's end, so no two of a row meet. */
        for (size_t r = 0; ; r++) {
            if (r == n_rows) {
                if (n_rows >= allocated) {
                    row_end = x2nrealloc(row_end, &allocated,
                                         sizeof *row_end);
                }
                row_end[n_rows++] = -INFINITY;
            }
            double at = MAX(pref, row_end[r] + gap);
            if (at - pref <= max_shift && at + w <= max_x) {
                l->bx = at;
                l->row = r;
                row_end[r] = at + w;
                break;
            }
        }
    }
    free(order);
    free(row_end);
    return n_rows;
}

/* ---- SVG ---- */

static void
put_escaped(struct ds *s, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': ds_put_cstr(s, "&amp;"); break;
        case '<': ds_put_cstr(s, "&lt;"); break;
        case '>': ds_put_cstr(s, "&gt;"); break;
        case '"': ds_put_cstr(s, "&quot;"); break;
        case '\'': ds_put_cstr(s, "&apos;"); break;
        default:
            if ((unsigned char) *p >= 0x20 || *p == '\t') {
                ds_put_char(s, *p);
            }
        }
    }
}

/* 'text' cut (with "...") to at most 'max_w' px at 'px', at a character
 * boundary (never inside a UTF-8 sequence). */
static char *
fit(const char *text, double px, double max_w)
{
    size_t keep = strlen(text);
    char *s = xstrdup(text);

    while (keep > 0 && tl_text_width(s, px) > max_w) {
        keep--;
        while (keep > 0 && ((unsigned char) text[keep] & 0xc0) == 0x80) {
            keep--;
        }
        free(s);
        s = xasprintf("%.*s...", (int) keep, text);
    }
    return s;
}

/* A text element: left edge 'x', baseline 'y'.  data-w is the width the
 * layout reserved (the tests compare it with the browser's). */
static void
put_text(struct ds *s, double x, double y, int px, const char *attrs,
         const char *text)
{
    ds_put_format(s, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
                  "data-w=\"%.1f\"%s%s>", x, y, px, tl_text_width(text, px),
                  attrs ? " " : "", attrs ? attrs : "");
    put_escaped(s, text);
    ds_put_cstr(s, "</text>\n");
}

struct axis {
    int64_t lo, hi;             /* Axis clock, us. */
    int64_t origin;
};

static double
x_of(const struct axis *a, int64_t us)
{
    if (us <= a->lo) {
        return PLOT_L;
    } else if (us >= a->hi) {
        return PLOT_R;
    }
    return PLOT_L + (double) (us - a->lo) * (PLOT_R - PLOT_L)
                    / (double) (a->hi - a->lo);
}

static const char *const lane_color[TL_N_LANES] = {
    "#1f5fa8", "#2a7d2e", "#555555",
};
static const char *const phase_colors[] = {
    "#9cc3ea", "#a8d8a0", "#f2c48d", "#d6b4e6", "#f4a6a6", "#c9c9c9",
};

/* One label of a lane: an event's, a phase's, or the client's gap. */
struct lane_label {
    char *text;
    char *attrs;                /* Of the group it goes in. */
    double anchor;              /* The marker's x. */
    bool marker;                /* An event: a marker on the bar row. */
};

/* What one lane draws. */
struct lane {
    struct ds *s;
    const struct timeline *t;
    const struct axis *a;
    enum tl_lane id;
    double bars_y;              /* The top of its bar rows. */
    struct lane_label *ll;      /* Its labels, placed at the end. */
    size_t n, allocated;
};

static void
lane_label(struct lane *l, char *text, char *attrs, double anchor,
           bool marker)
{
    if (l->n >= l->allocated) {
        l->ll = x2nrealloc(l->ll, &l->allocated, sizeof *l->ll);
    }
    l->ll[l->n++] = (struct lane_label) { text, attrs, anchor, marker };
}

/* The lane's phases as bars, overlapping ones in bar rows of their own.
 * Returns the number of bar rows. */
static int
lane_phases(struct lane *l)
{
    const struct timeline *t = l->t;
    int *bar_row = xcalloc(MAX(t->n_phases, 1), sizeof *bar_row);
    int n_rows = 1;

    for (size_t i = 0; i < t->n_phases; i++) {
        const struct tl_phase *p = &t->phases[i];
        if (p->lane != l->id) {
            continue;
        }
        int r = 0;
        for (size_t k = 0; k < i; k++) {
            const struct tl_phase *q = &t->phases[k];
            if (q->lane == l->id && bar_row[k] == r
                && q->from_us <= p->to_us && p->from_us <= q->to_us) {
                r++;
                k = (size_t) -1;        /* Again, one row down. */
            }
        }
        bar_row[i] = r;
        n_rows = MAX(n_rows, r + 1);

        double x0 = x_of(l->a, p->from_us), x1 = x_of(l->a, p->to_us);
        ds_put_format(l->s, "<rect id=\"phase-%s\" data-phase=\"%s\" "
                      "data-from-ms=\"%.3f\" data-to-ms=\"%.3f\" x=\"%.1f\" "
                      "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"%s\" rx=\"2\"/>\n", p->name, p->name,
                      (p->from_us - l->a->origin) / 1000.0,
                      (p->to_us - l->a->origin) / 1000.0, x0,
                      l->bars_y + r * (BAR_H + 3), MAX(x1 - x0, 2.0),
                      BAR_H, phase_colors[i % ARRAY_SIZE(phase_colors)]);
        lane_label(l, xasprintf("[%s %.1f ms]", p->label,
                                (p->to_us - p->from_us) / 1000.0),
                   xasprintf("data-phase-label=\"%s\"", p->name),
                   (x0 + x1) / 2, false);
    }
    free(bar_row);
    return n_rows;
}

static void
lane_events(struct lane *l)
{
    for (size_t i = 0; i < l->t->n_events; i++) {
        const struct tl_event *e = &l->t->events[i];
        double at = (e->t_us - l->a->origin) / 1000.0;
        if (e->lane == l->id) {
            lane_label(l, xasprintf("%s %+.2f", e->label, at),
                       xasprintf("id=\"event-%s\" data-event=\"%s\" "
                                 "data-t-ms=\"%.3f\"", e->name, e->name, at),
                       x_of(l->a, e->t_us), true);
        }
    }
}

/* Every ping a tick at its send time: answered up, lost down and red; the
 * longest loss labelled. */
static void
lane_pings(struct lane *l)
{
    const struct timeline *t = l->t;
    const struct axis *a = l->a;
    size_t first, last, in_view = 0;

    ds_put_cstr(l->s, "<g id=\"client-pings\">\n");
    for (size_t i = 0; i < t->n_pings; i++) {
        const struct tl_ping *p = &t->pings[i];
        if (p->t_us < a->lo || p->t_us > a->hi) {
            continue;
        }
        bool lost = p->rtt_us < 0;
        in_view++;
        ds_put_format(l->s, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\"%s/>\n",
                      x_of(a, p->t_us), x_of(a, p->t_us),
                      l->bars_y + (lost ? BAR_H / 2 : 0),
                      l->bars_y + (lost ? BAR_H : BAR_H / 2),
                      lost ? "#d62728" : "#2a7d2e",
                      lost ? " data-lost=\"1\"" : "");
    }
    ds_put_cstr(l->s, "</g>\n");
    if (!timeline_longest_loss(t, &first, &last)) {
        lane_label(l, xasprintf("no ping lost (%zu here, %zu in all; a tick "
                                "each: answered up, lost down in red)",
                                in_view, t->n_pings),
                   xstrdup("id=\"client-no-loss\" data-event=\"client-gap\""),
                   (PLOT_L + PLOT_R) / 2, false);
        return;
    }
    int64_t from = t->pings[first].t_us, to = t->pings[last].t_us;
    int64_t before = first ? t->pings[first - 1].t_us : from;
    int64_t after = last + 1 < t->n_pings ? t->pings[last + 1].t_us : to;
    lane_label(l, xasprintf("longest gap: %zu pings lost, %.1f ms between "
                            "answered ones", last - first + 1,
                            (after - before) / 1000.0),
               xstrdup("id=\"client-longest-gap\" data-event=\"client-gap\""),
               (x_of(a, from) + x_of(a, to)) / 2, true);
}

/* Places the lane's labels in rows from 'labels_y' down and draws them:
 * markers and leaders first, then each label on a backing box.  Returns
 * the number of rows. */
static int
lane_draw_labels(struct lane *l, double labels_y)
{
    struct tl_label *labels = xcalloc(MAX(l->n, 1), sizeof *labels);
    struct lane_label *ll = l->ll;
    double bar_mid = l->bars_y + BAR_H / 2;

    for (size_t i = 0; i < l->n; i++) {
        char *cut = fit(ll[i].text, FONT, PLOT_R - PLOT_L);
        free(ll[i].text);
        ll[i].text = cut;
        labels[i].x = ll[i].anchor;
        labels[i].w = tl_text_width(ll[i].text, FONT);
    }
    int rows = tl_layout_labels(labels, l->n, PLOT_L, PLOT_R, LABEL_GAP,
                                LABEL_SHIFT);
    for (size_t i = 0; i < l->n; i++) {
        double top = labels_y + labels[i].row * ROW_H;
        double ax = ll[i].anchor, bx = labels[i].bx, w = labels[i].w;
        if (ll[i].marker) {
            ds_put_format(l->s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                          "fill=\"%s\"/>\n", ax, bar_mid, lane_color[l->id]);
        }
        if (ax >= bx && ax <= bx + w) {
            ds_put_format(l->s, "<path d=\"M%.1f %.1fV%.1f\" ", ax, bar_mid,
                          top);
        } else {
            ds_put_format(l->s, "<path d=\"M%.1f %.1fV%.1fH%.1f\" ", ax,
                          bar_mid, top + ROW_H / 2 - 1,
                          ax < bx ? bx : bx + w);
        }
        ds_put_cstr(l->s, "stroke=\"#999\" stroke-width=\"0.7\" "
                    "fill=\"none\"/>\n");
    }
    for (size_t i = 0; i < l->n; i++) {
        double top = labels_y + labels[i].row * ROW_H;
        ds_put_format(l->s, "<g %s>\n<rect x=\"%.1f\" y=\"%.1f\" "
                      "width=\"%.1f\" height=\"%.1f\" fill=\"#fff\"/>\n",
                      ll[i].attrs, labels[i].bx, top, labels[i].w, ROW_H);
        put_text(l->s, labels[i].bx, top + 13, FONT, NULL, ll[i].text);
        ds_put_cstr(l->s, "</g>\n");
        free(ll[i].text);
        free(ll[i].attrs);
    }
    free(labels);
    return rows;
}

/* Draws lane 'id' from 'y' down; returns its height. */
static double
put_lane(struct ds *s, const struct timeline *t, const struct axis *a,
         enum tl_lane id, double y)
{
    struct lane l = { .s = s, .t = t, .a = a, .id = id, .bars_y = y + 6 };

    int n_bar_rows = lane_phases(&l);
    lane_events(&l);
    if (id == TL_CLIENT) {
        lane_pings(&l);
    }
    double labels_y = l.bars_y + n_bar_rows * (BAR_H + 3) + 6;
    int rows = lane_draw_labels(&l, labels_y);
    free(l.ll);
    return MAX(labels_y - y + rows * ROW_H + 6, 2 * ROW_H + 12);
}

/* A step of 1, 2 or 5 x 10^k ms with ticks at least 'min_px' apart. */
static double
tick_step_ms(double span_ms, double min_px)
{
    double px_per_ms = (PLOT_R - PLOT_L) / span_ms;
    for (double mag = 0.001; ; mag *= 10) {
        static const double m[] = { 1, 2, 5 };
        for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
            if (m[i] * mag * px_per_ms >= min_px) {
                return m[i] * mag;
            }
        }
    }
}

static void
put_axis(struct ds *s, const struct axis *a, double y)
{
    double lo_ms = (a->lo - a->origin) / 1000.0;
    double hi_ms = (a->hi - a->origin) / 1000.0;
    /* Room for the widest tick label, "-12345.678", and a gap. */
    double step = tick_step_ms(hi_ms - lo_ms,
                               tl_text_width("-00000.000", FONT_SMALL) + 12);
    int decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;

    ds_put_format(s, "<g id=\"axis\">\n<line x1=\"%.1f\" x2=\"%.1f\" "
                  "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", PLOT_L,
                  PLOT_R, y, y);
    for (double ms = ceil(lo_ms / step) * step; ms <= hi_ms + 1e-9;
         ms += step) {
        double x = PLOT_L + (ms - lo_ms) * (PLOT_R - PLOT_L)
                            / (hi_ms - lo_ms);
        char label[32];
        snprintf(label, sizeof label, "%.*f", decimals,
                 fabs(ms) < step / 2 ? 0.0 : ms);
        double w = tl_text_width(label, FONT_SMALL);
        double lx = MIN(MAX(x - w / 2, PLOT_L - w / 2), WIDTH - 2 - w);
        ds_put_format(s, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"#333\"/>\n", x, x, y, y + 5);
        put_text(s, lx, y + 18, FONT_SMALL, "data-tick=\"1\"", label);
    }
    put_text(s, PLOT_L, y + 36, FONT_SMALL, NULL,
             "ms from the VM's pause on the source (the destination's "
             "clock; the source's shifted by the offset)");
    ds_put_cstr(s, "</g>\n");
}

/* The summary lines, one text each. */
static double
put_header(struct ds *s, const struct timeline *t)
{
    char *title = xasprintf("%s: migration %s, %s -> %s", t->vm, t->id,
                            t->hosts[TL_SOURCE] ? t->hosts[TL_SOURCE]
                                                : "source",
                            t->hosts[TL_DESTINATION]
                            ? t->hosts[TL_DESTINATION] : "destination");
    char *cut = fit(title, 16, WIDTH - 24);
    put_text(s, 12, 26, 16, "font-weight=\"bold\" id=\"title\"", cut);
    free(cut);
    free(title);

    /* timeline.c's summary, a line each. */
    char *text = timeline_to_text(t);
    double y = 48;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "clocks:", 7) || !strncmp(line, "drain:", 6)
            || !strncmp(line, "client:", 7)) {
            char *c = fit(line, FONT, WIDTH - 24);
            char attrs[32];
            snprintf(attrs, sizeof attrs, "id=\"summary-%.*s\"",
                     (int) strcspn(line, ":"), line);
            put_text(s, 12, y, FONT, attrs, c);
            free(c);
            y += ROW_H;
        }
    }
    free(text);
    return y;
}

char *
timeline_to_svg(const struct timeline *t)
{
    struct ds body = DS_EMPTY_INITIALIZER;
    struct ds s = DS_EMPTY_INITIALIZER;
    struct axis a = { 0, 0, t->origin_us };
    bool any = false;

    for (size_t i = 0; i < t->n_events; i++) {
        int64_t at = t->events[i].t_us;
        a.lo = any ? MIN(a.lo, at) : at;
        a.hi = any ? MAX(a.hi, at) : at;
        any = true;
    }
    for (size_t i = 0; i < t->n_phases; i++) {
        a.lo = any ? MIN(a.lo, t->phases[i].from_us) : t->phases[i].from_us;
        a.hi = any ? MAX(a.hi, t->phases[i].to_us) : t->phases[i].to_us;
        any = true;
    }
    if (!any && t->n_pings) {
        a.lo = t->pings[0].t_us;
        a.hi = t->pings[t->n_pings - 1].t_us;
    }
    int64_t pad = MAX((a.hi - a.lo) / 30, 500);
    a.lo -= pad;
    a.hi += pad;

    double y = put_header(&body, t) + 4;
    double lanes_y = y;
    struct ds lanes = DS_EMPTY_INITIALIZER;
    for (int lane = 0; lane < TL_N_LANES; lane++) {
        if (lane == TL_CLIENT && !t->n_pings) {
            continue;
        }
        const char *host = t->hosts[lane] ? t->hosts[lane] : "?";
        static const char *const roles[TL_N_LANES] = {
            "source", "destination", "client pings",
        };
        static const char *const ids[TL_N_LANES] = {
            "source", "destination", "client",
        };
        ds_put_format(&lanes, "<g id=\"lane-%s\" data-host=\"", ids[lane]);
        put_escaped(&lanes, host);
        ds_put_cstr(&lanes, "\">\n");
        ds_put_format(&lanes, "<line x1=\"10\" x2=\"%d\" y1=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"#ddd\"/>\n", WIDTH - 10, y, y);
        double h = put_lane(&lanes, t, &a, lane, y);
        char *cut = fit(host, 13, PLOT_L - 24);
        put_text(&lanes, 12, y + 20, 13, "font-weight=\"bold\"", cut);
        free(cut);
        put_text(&lanes, 12, y + 36, FONT_SMALL, "fill=\"#555\"",
                 roles[lane]);
        ds_put_cstr(&lanes, "</g>\n");
        y += MAX(h, 44.0);
    }
    /* The pause, under everything else of the lanes. */
    if (t->origin_us > a.lo && t->origin_us < a.hi) {
        ds_put_format(&body, "<line id=\"origin\" x1=\"%.1f\" x2=\"%.1f\" "
                      "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
                      "stroke-dasharray=\"3 3\"/>\n", x_of(&a, t->origin_us),
                      x_of(&a, t->origin_us), lanes_y, y);
    }
    ds_put_cstr(&body, ds_cstr(&lanes));
    ds_destroy(&lanes);
    put_axis(&body, &a, y + 6);
    y += 56;

    ds_put_format(&s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 %d %.0f\" width=\"%d\" height=\"%.0f\" "
                  "font-family=\"DejaVu Sans Mono, Liberation Mono, "
                  "monospace\" data-vm=\"", WIDTH, y, WIDTH, y);
    put_escaped(&s, t->vm);
    ds_put_cstr(&s, "\" data-id=\"");
    put_escaped(&s, t->id);
    ds_put_cstr(&s, "\">\n<rect width=\"100%\" height=\"100%\" "
                "fill=\"#fff\"/>\n");
    ds_put_cstr(&s, ds_cstr(&body));
    ds_put_cstr(&s, "</svg>\n");
    ds_destroy(&body);
    return ds_steal_cstr(&s);
}
