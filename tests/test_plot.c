/* lmtune plot: the PNG of a real Trainer's trainer_state.json
 * (tests/fixtures/train/trainer_state.json) is a valid PNG of the asked
 * size (signature, IHDR, every chunk's CRC-32, the IDAT inflating to one
 * filter byte + one palette index per pixel) with each curve's colour
 * drawn; bad arguments and missing files fail with a message. A build
 * without zlib (the arm64 cross build) checks that plot says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_run.h"
#include "core/util.h"
#include "harness.h"
#include "io/png.h"
#if __has_include(<zlib.h>)
#include <zlib.h>
#define HAVE_ZLIB_H 1
#endif

#define STATE LMT_SOURCE_DIR "/tests/fixtures/train/trainer_state.json"

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* checks the file; counts of pixels per palette index into counts[256] */
static void check_png(const char *path, uint32_t want_w, uint32_t want_h, long *counts) {
#ifdef HAVE_ZLIB_H
    char *buf = NULL;
    size_t len = 0;
    CHECK_OK(lmt_read_file(path, &buf, &len));
    const uint8_t *p = (const uint8_t *)buf;
    CHECK(len > 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8));
    size_t off = 8;
    uint32_t w = 0, h = 0;
    uint8_t *idat = NULL;
    size_t idat_n = 0;
    bool end = false, plte = false;
    while (buf && off + 12 <= len && !end) {
        uint32_t n = be32(p + off);
        CHECK(off + 12 + n <= len);
        if (off + 12 + n > len) break;
        const uint8_t *type = p + off + 4, *data = p + off + 8;
        CHECK_MSG(crc32(0, type, n + 4) == be32(data + n), "chunk %.4s: bad CRC", (const char *)type);
        if (!memcmp(type, "IHDR", 4)) {
            w = be32(data);
            h = be32(data + 4);
            CHECK(n == 13 && data[8] == 8 && data[9] == 3 && data[10] == 0 && data[11] == 0 && data[12] == 0);
        } else if (!memcmp(type, "PLTE", 4)) {
            plte = n % 3 == 0 && n >= 3;
        } else if (!memcmp(type, "IDAT", 4)) {
            idat = realloc(idat, idat_n + n);
            memcpy(idat + idat_n, data, n);
            idat_n += n;
        } else if (!memcmp(type, "IEND", 4)) {
            end = true;
        }
        off += 12 + n;
    }
    CHECK(end && off == len && plte);
    CHECK_MSG(w == want_w && h == want_h, "%ux%u, want %ux%u", w, h, want_w, want_h);
    uLongf raw_n = (uLongf)(w + 1) * h + 1;
    uint8_t *raw = malloc(raw_n);
    CHECK(raw && uncompress(raw, &raw_n, idat, idat_n) == Z_OK && raw_n == (uLongf)(w + 1) * h);
    for (uint32_t y = 0; raw && y < h; y++) {
        CHECK(raw[(size_t)y * (w + 1)] == 0);
        for (uint32_t x = 0; x < w; x++) counts[raw[(size_t)y * (w + 1) + 1 + x]]++;
    }
    free(raw);
    free(idat);
    free(buf);
#else
    (void)path; (void)want_w; (void)want_h; (void)counts;
#endif
}

int main(void) {
    if (!lmt_png_available()) {
        CHECK(run("plot " LMT_SOURCE_DIR "/tests/fixtures/train --output /tmp/x.png") == 1 && strstr(out, "zlib1g-dev"));
        printf("built without zlib: only the message is checked\n");
        return lmt_test_finish();
    }
    char tmp[] = "/tmp/lmt-plot-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    long counts[256] = {0};
    CHECK_MSG(runf("plot %s --output %s/a.png", STATE, tmp) == 0, "%s", out);
    CHECK(strstr(out, "(1200x400)") && strstr(out, "training losses"));
    char p[600];
    snprintf(p, sizeof p, "%s/a.png", tmp);
    check_png(p, 1200, 400, counts);
    /* background, axes, and the curves: training loss (3), evaluation loss (4), learning rate (5) */
    CHECK(counts[0] > 300000 && counts[1] > 1000 && counts[3] > 100 && counts[4] > 100 && counts[5] > 100);
    /* a folder (the default output name) and another size */
    snprintf(p, sizeof p, "cp %s %s/trainer_state.json", STATE, tmp);
    CHECK(system(p) == 0);
    CHECK_MSG(runf("plot %s --width=640 --height 300", tmp) == 0, "%s", out);
    snprintf(p, sizeof p, "%s/training_curves.png", tmp);
    memset(counts, 0, sizeof counts);
    check_png(p, 640, 300, counts);
    /* errors */
    CHECK(runf("plot %s --width 10", tmp) == 2 && strstr(out, "--width 10: must be a whole number of pixels in [300, 8000]"));
    CHECK(runf("plot %s --height abc", tmp) == 2 && strstr(out, "--height abc"));
    CHECK(runf("plot %s --colour red", tmp) == 2 && strstr(out, "unknown option '--colour'"));
    CHECK(runf("plot %s/nothing-here --output %s/b.png", tmp, tmp) == 1 && strstr(out, "nothing-here: no such file"));
    snprintf(p, sizeof p, "%s/empty", tmp);
    CHECK(lmt_mkdirs(p) == LMT_OK);
    CHECK(runf("plot %s", p) == 1 && strstr(out, "empty/trainer_state.json: no such file"));
    CHECK(run("plot") == 2);
    snprintf(p, sizeof p, "rm -rf %s", tmp);
    CHECK(system(p) == 0);
    return lmt_test_finish();
}
