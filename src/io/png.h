/* PNG writing for `lmtune plot`: an 8-bit palette image (colour type 3),
 * rows with filter 0, one IDAT compressed by zlib (the only dependency;
 * docs/TRAINER_OUTPUTS.md). Without zlib at build time lmt_png_write fails
 * with LMT_ERR_UNSUPPORTED and says what to install. */
#ifndef LMT_IO_PNG_H
#define LMT_IO_PNG_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

/* pixels: width * height palette indices, row-major; palette: n_colors RGB
 * triples (at most 256). Written atomically to path. */
lmt_status lmt_png_write(const char *path, const uint8_t *pixels, int width, int height, const uint8_t *palette, int n_colors);
/* Whether this build can write PNG files (zlib was found). */
bool lmt_png_available(void);
#endif
