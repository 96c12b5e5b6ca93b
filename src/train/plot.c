/* Training curves; see plot.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "io/png.h"
#include "train/plot.h"
#include "train/plot_raster.h"

enum { WHITE, BLACK, GRID, BLUE, ORANGE, GREEN, GRAY, N_COLORS };
static const uint8_t palette[N_COLORS * 3] = {255, 255, 255, 0, 0, 0, 225, 225, 225, 31, 119, 180,
                                              255, 127, 14, 44, 160, 44, 100, 100, 100};

typedef struct { double *x, *y; int64_t n; } series;

static lmt_status series_push(series *s, double x, double y) {
    if (!isfinite(y)) return LMT_OK;   /* a nan / inf loss leaves a gap */
    double *nx = realloc(s->x, (size_t)(s->n + 1) * sizeof *nx);
    if (!nx) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    s->x = nx;
    double *ny = realloc(s->y, (size_t)(s->n + 1) * sizeof *ny);
    if (!ny) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    s->y = ny;
    s->x[s->n] = x;
    s->y[s->n++] = y;
    return LMT_OK;
}

static void series_free(series *s) {
    free(s->x);
    free(s->y);
}

typedef struct { const series *s; uint8_t color; const char *name; } curve;

/* one panel: axes with 5 ticks each way, the curves, a title and legend */
static void panel(lmt_canvas *c, int x0, int pw, const char *title, const curve *cv, int n) {
    int left = x0 + 86, right = x0 + pw - 14, top = 34, bottom = c->h - 40;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int64_t points = 0;
    for (int k = 0; k < n; k++)
        for (int64_t i = 0; i < cv[k].s->n; i++, points++) {
            xmin = fmin(xmin, cv[k].s->x[i]); xmax = fmax(xmax, cv[k].s->x[i]);
            ymin = fmin(ymin, cv[k].s->y[i]); ymax = fmax(ymax, cv[k].s->y[i]);
        }
    int tx = lmt_canvas_text(c, left, 8, title, 2, BLACK) + left + 12;
    for (int k = 0; k < n && n > 1; k++) {   /* legend */
        lmt_canvas_rect(c, tx, 11, tx + 9, 14, cv[k].color);
        tx += 14 + lmt_canvas_text(c, tx + 14, 8, cv[k].name, 2, GRAY) + 10;
    }
    lmt_canvas_line(c, left, top, left, bottom, 1, BLACK);
    lmt_canvas_line(c, left, bottom, right, bottom, 1, BLACK);
    if (points == 0) {
        lmt_canvas_text(c, (left + right) / 2 - 28, (top + bottom) / 2, "no data", 2, GRAY);
        return;
    }
    if (xmax <= xmin) { xmin -= 1; xmax += 1; }
    double pad = (ymax - ymin) * 0.05;
    if (pad <= 0) pad = fmax(fabs(ymax) * 0.1, 1e-12);
    ymin -= pad;
    ymax += pad;
    char label[32], prev[32];
    /* enough significant digits that neighbouring tick labels differ */
    int digits = 3;
    for (bool same = true; same && digits < 10;) {
        same = false;
        for (int t = 1; t <= 4 && !same; t++) {
            snprintf(prev, sizeof prev, "%.*g", digits, ymin + (ymax - ymin) * (t - 1) / 4.0);
            snprintf(label, sizeof label, "%.*g", digits, ymin + (ymax - ymin) * t / 4.0);
            same = !strcmp(prev, label);
        }
        if (same) digits++;
    }
    for (int t = 0; t <= 4; t++) {
        double fy = ymin + (ymax - ymin) * t / 4.0;
        int py = bottom - (int)lround((bottom - top) * t / 4.0);
        if (t) lmt_canvas_line(c, left + 1, py, right, py, 1, GRID);
        lmt_canvas_line(c, left - 4, py, left, py, 1, BLACK);
        snprintf(label, sizeof label, "%.*g", digits, fy);
        lmt_canvas_text(c, left - 8 - lmt_canvas_text_width(label, 1) * 2, py - 5, label, 2, BLACK);
        double fx = xmin + (xmax - xmin) * t / 4.0;
        int px = left + (int)lround((right - left) * t / 4.0);
        lmt_canvas_line(c, px, bottom, px, bottom + 4, 1, BLACK);
        snprintf(label, sizeof label, "%.0f", fx);
        lmt_canvas_text(c, px - lmt_canvas_text_width(label, 2) / 2, bottom + 8, label, 2, BLACK);
    }
    lmt_canvas_text(c, (left + right) / 2 - 16, bottom + 24, "step", 2, GRAY);
    for (int k = 0; k < n; k++) {
        const series *s = cv[k].s;
        int lx = 0, ly = 0;
        for (int64_t i = 0; i < s->n; i++) {
            int px = left + (int)lround((s->x[i] - xmin) / (xmax - xmin) * (right - left));
            int py = bottom - (int)lround((s->y[i] - ymin) / (ymax - ymin) * (bottom - top));
            if (i) lmt_canvas_line(c, lx, ly, px, py, 2, cv[k].color);
            lmt_canvas_rect(c, px - 2, py - 2, px + 2, py + 2, cv[k].color);
            lx = px;
            ly = py;
        }
    }
}

static double num(const lmt_json *e, const char *k, bool *ok) {
    const lmt_json *v = lmt_json_get(e, k);
    *ok = v && v->type == LMT_JSON_NUMBER;
    return *ok ? v->num : 0;
}

lmt_status lmt_plot_training_curves(const char *state, const char *png_path, int width, int height, lmt_plot_summary *out) {
    if (width < LMT_PLOT_MIN_WIDTH || height < LMT_PLOT_MIN_HEIGHT || width > LMT_PLOT_MAX_SIDE || height > LMT_PLOT_MAX_SIDE)
        return lmt_fail(LMT_ERR_ARG, "the image must be %d..%d pixels wide and %d..%d high (got %dx%d)", LMT_PLOT_MIN_WIDTH,
                        LMT_PLOT_MAX_SIDE, LMT_PLOT_MIN_HEIGHT, LMT_PLOT_MAX_SIDE, width, height);
    char *path = lmt_is_dir(state) ? lmt_path_join(state, "trainer_state.json") : lmt_strdup(state);
    if (!path) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (!lmt_file_exists(path)) {
        lmt_status s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file (a training run's output_dir or checkpoint holds one)", path);
        free(path);
        return s;
    }
    lmt_json *j = NULL;
    lmt_status s = lmt_json_parse_file(path, &j);
    const lmt_json *h = s == LMT_OK ? lmt_json_get(j, "log_history") : NULL;
    if (s == LMT_OK && (!h || h->type != LMT_JSON_ARRAY))
        s = lmt_fail(LMT_ERR_FORMAT, "%s: no \"log_history\" list (not a trainer_state.json?)", path);
    series tl = {0}, el = {0}, lr = {0}, ppl = {0};
    int64_t last = 0;
    for (size_t i = 0; s == LMT_OK && i < h->len; i++) {
        const lmt_json *e = &h->items[i];
        bool ok;
        double step = num(e, "step", &ok), v;
        if (!ok) { s = lmt_fail(LMT_ERR_FORMAT, "%s: log_history[%zu] has no \"step\" number", path, i); break; }
        if ((int64_t)step > last) last = (int64_t)step;
        if ((v = num(e, "loss", &ok)), ok) s = series_push(&tl, step, v);
        if (s == LMT_OK && ((v = num(e, "eval_loss", &ok)), ok)) {
            s = series_push(&el, step, v);
            if (s == LMT_OK) s = series_push(&ppl, step, exp(v));
        }
        if (s == LMT_OK && ((v = num(e, "learning_rate", &ok)), ok)) s = series_push(&lr, step, v);
    }
    bool eval_ppl = el.n > 0;
    for (int64_t i = 0; s == LMT_OK && !eval_ppl && i < tl.n; i++) s = series_push(&ppl, tl.x[i], exp(tl.y[i]));
    lmt_canvas c = {0};
    if (s == LMT_OK) s = lmt_canvas_init(&c, width, height, WHITE);
    if (s == LMT_OK) {
        int pw = width / 3;
        curve loss[2] = {{&tl, BLUE, "train"}, {&el, ORANGE, "eval"}};
        curve rate[1] = {{&lr, GREEN, "lr"}};
        curve perp[1] = {{&ppl, eval_ppl ? ORANGE : BLUE, eval_ppl ? "eval" : "train"}};
        panel(&c, 0, pw, "loss", loss, 2);
        panel(&c, pw, pw, "learning rate", rate, 1);
        panel(&c, 2 * pw, width - 2 * pw, eval_ppl ? "perplexity (eval)" : "perplexity (train)", perp, 1);
        s = lmt_png_write(png_path, c.px, width, height, palette, N_COLORS);
    }
    if (s == LMT_OK && out) *out = (lmt_plot_summary){tl.n, el.n, lr.n, last};
    lmt_canvas_free(&c);
    series_free(&tl); series_free(&el); series_free(&lr); series_free(&ppl);
    lmt_json_free(j);
    free(path);
    return s;
}
