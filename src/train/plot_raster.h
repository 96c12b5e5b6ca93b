/* A small palette canvas for `lmtune plot`: pixels, lines, filled
 * rectangles and text in a 3x5 bitmap font (scaled), enough for axes,
 * ticks, labels and curves. Coordinates outside the canvas are clipped. */
#ifndef LMT_TRAIN_PLOT_RASTER_H
#define LMT_TRAIN_PLOT_RASTER_H
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_canvas {
    int w, h;
    uint8_t *px;   /* w * h palette indices */
} lmt_canvas;

lmt_status lmt_canvas_init(lmt_canvas *c, int w, int h, uint8_t background);
void lmt_canvas_free(lmt_canvas *c);
void lmt_canvas_rect(lmt_canvas *c, int x0, int y0, int x1, int y1, uint8_t color);   /* filled, inclusive */
void lmt_canvas_line(lmt_canvas *c, int x0, int y0, int x1, int y1, int thickness, uint8_t color);
/* Text with its top-left corner at (x, y); each font pixel scale x scale.
 * Characters the font lacks (it has digits, a-z, A-Z drawn as a-z, and
 * " .,-+:()/_=%") are drawn as blanks. Returns the width drawn. */
int lmt_canvas_text(lmt_canvas *c, int x, int y, const char *s, int scale, uint8_t color);
int lmt_canvas_text_width(const char *s, int scale);
#endif
