/* The plot canvas; see plot_raster.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "train/plot_raster.h"

/* 3x5 glyphs, rows top to bottom, 3 bits each (bit 2 = left column) */
typedef struct { char ch; uint8_t rows[5]; } glyph;
static const glyph font[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 2, 2, 2}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {',', {0, 0, 0, 2, 4}},
    {'-', {0, 0, 7, 0, 0}}, {'+', {0, 2, 7, 2, 0}}, {':', {0, 2, 0, 2, 0}}, {'(', {2, 4, 4, 4, 2}},
    {')', {2, 1, 1, 1, 2}}, {'/', {1, 1, 2, 4, 4}}, {'_', {0, 0, 0, 0, 7}}, {'=', {0, 7, 0, 7, 0}},
    {'%', {5, 1, 2, 4, 5}}, {'a', {0, 3, 5, 5, 3}}, {'b', {4, 6, 5, 5, 6}}, {'c', {0, 3, 4, 4, 3}},
    {'d', {1, 3, 5, 5, 3}}, {'e', {0, 3, 7, 4, 3}}, {'f', {3, 4, 6, 4, 4}}, {'g', {0, 3, 5, 3, 6}},
    {'h', {4, 6, 5, 5, 5}}, {'i', {2, 0, 2, 2, 2}}, {'j', {1, 0, 1, 5, 2}}, {'k', {4, 5, 6, 6, 5}},
    {'l', {6, 2, 2, 2, 7}}, {'m', {0, 6, 7, 5, 5}}, {'n', {0, 6, 5, 5, 5}}, {'o', {0, 2, 5, 5, 2}},
    {'p', {0, 6, 5, 6, 4}}, {'q', {0, 3, 5, 3, 1}}, {'r', {0, 5, 6, 4, 4}}, {'s', {0, 3, 6, 1, 6}},
    {'t', {2, 7, 2, 2, 3}}, {'u', {0, 5, 5, 5, 3}}, {'v', {0, 5, 5, 5, 2}}, {'w', {0, 5, 5, 7, 7}},
    {'x', {0, 5, 2, 2, 5}}, {'y', {0, 5, 3, 1, 6}}, {'z', {0, 7, 3, 4, 7}},
};

lmt_status lmt_canvas_init(lmt_canvas *c, int w, int h, uint8_t background) {
    c->w = w;
    c->h = h;
    c->px = malloc((size_t)w * (size_t)h);
    if (!c->px) return lmt_fail(LMT_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
    memset(c->px, background, (size_t)w * (size_t)h);
    return LMT_OK;
}

void lmt_canvas_free(lmt_canvas *c) {
    free(c->px);
    c->px = NULL;
}

static void put(lmt_canvas *c, int x, int y, uint8_t color) {
    if (x >= 0 && y >= 0 && x < c->w && y < c->h) c->px[(size_t)y * (size_t)c->w + (size_t)x] = color;
}

void lmt_canvas_rect(lmt_canvas *c, int x0, int y0, int x1, int y1, uint8_t color) {
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) put(c, x, y, color);
}

/* Bresenham, each point a thickness x thickness square */
void lmt_canvas_line(lmt_canvas *c, int x0, int y0, int x1, int y1, int thickness, uint8_t color) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    int lo = -(thickness - 1) / 2, hi = thickness / 2;
    for (int guard = 0; guard < 1 << 20; guard++) {
        lmt_canvas_rect(c, x0 + lo, y0 + lo, x0 + hi, y0 + hi, color);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

static const glyph *find(char ch) {
    ch = (char)tolower((unsigned char)ch);
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].ch == ch) return &font[i];
    return NULL;
}

int lmt_canvas_text_width(const char *s, int scale) { return (int)strlen(s) * 4 * scale - (s[0] ? scale : 0); }

int lmt_canvas_text(lmt_canvas *c, int x, int y, const char *s, int scale, uint8_t color) {
    int x0 = x;
    for (const char *p = s; *p; p++, x += 4 * scale) {
        const glyph *g = find(*p);
        for (int r = 0; g && r < 5; r++)
            for (int col = 0; col < 3; col++)
                if (g->rows[r] >> (2 - col) & 1) lmt_canvas_rect(c, x + col * scale, y + r * scale, x + col * scale + scale - 1, y + r * scale + scale - 1, color);
    }
    return x - x0;
}
