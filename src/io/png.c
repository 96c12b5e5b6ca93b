/* PNG writing; see png.h. Chunk layout: length (big-endian), type, data,
 * CRC-32 of type + data (zlib's crc32). */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/png.h"
#ifdef LMT_HAVE_ZLIB
#include <zlib.h>

bool lmt_png_available(void) { return true; }

static void put_be32(lmt_strbuf *b, uint32_t v) {
    char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    lmt_sb_append(b, c, 4);
}

static void put_chunk(lmt_strbuf *b, const char *type, const void *data, size_t n) {
    put_be32(b, (uint32_t)n);
    size_t at = b->len;
    lmt_sb_append(b, type, 4);
    if (n) lmt_sb_append(b, data, n);
    uLong crc = b->oom ? 0 : crc32(0L, (const Bytef *)b->data + at, (uInt)(n + 4));
    put_be32(b, (uint32_t)crc);
}

lmt_status lmt_png_write(const char *path, const uint8_t *pixels, int width, int height, const uint8_t *palette, int n_colors) {
    if (width < 1 || height < 1 || n_colors < 1 || n_colors > 256)
        return lmt_fail(LMT_ERR_ARG, "%s: a %dx%d image with %d colours cannot be written", path, width, height, n_colors);
    size_t row = (size_t)width + 1, raw_n = row * (size_t)height;
    uint8_t *raw = malloc(raw_n);
    uLongf z_n = compressBound((uLong)raw_n);
    uint8_t *z = malloc(z_n);
    if (!raw || !z) { free(raw); free(z); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
    for (int y = 0; y < height; y++) {
        raw[(size_t)y * row] = 0;   /* filter: none */
        memcpy(raw + (size_t)y * row + 1, pixels + (size_t)y * (size_t)width, (size_t)width);
    }
    int zs = compress2(z, &z_n, raw, (uLong)raw_n, 9);
    free(raw);
    if (zs != Z_OK) { free(z); return lmt_fail(LMT_ERR_INTERNAL, "%s: zlib compress2 failed (%d)", path, zs); }
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_append(&b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {(uint8_t)(width >> 24), (uint8_t)(width >> 16), (uint8_t)(width >> 8), (uint8_t)width,
                        (uint8_t)(height >> 24), (uint8_t)(height >> 16), (uint8_t)(height >> 8), (uint8_t)height,
                        8, 3, 0, 0, 0};   /* bit depth 8, palette, deflate, filter method 0, no interlace */
    put_chunk(&b, "IHDR", ihdr, 13);
    put_chunk(&b, "PLTE", palette, (size_t)n_colors * 3);
    put_chunk(&b, "IDAT", z, z_n);
    put_chunk(&b, "IEND", NULL, 0);
    free(z);
    lmt_status s = b.oom ? lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path) : lmt_write_file_atomic(path, b.data, b.len);
    lmt_sb_free(&b);
    return s;
}
#else
bool lmt_png_available(void) { return false; }

lmt_status lmt_png_write(const char *path, const uint8_t *pixels, int width, int height, const uint8_t *palette, int n_colors) {
    (void)pixels; (void)width; (void)height; (void)palette; (void)n_colors;
    return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: this lmtune was built without zlib, which PNG output needs "
                    "(install zlib1g-dev and rebuild)", path);
}
#endif
