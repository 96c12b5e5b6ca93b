/* Corrupt checkpoint files: truncations at many offsets, forged headers,
 * broken zips and pickles, random byte flips. Each must give an error that
 * names the file (or, for a harmless flip, load) - never crash or leak. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/tensor_file.h"

static char path[256];

static void write_bytes(const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* Opens `path`; returns the status and checks the message names it. */
static lmt_status try_open(bool must_fail, const char *what) {
    lmt_tensor_file *f = NULL;
    lmt_status s = lmt_tensor_file_open(path, &f);
    if (s == LMT_OK) {
        /* touch every byte of every tensor: spans must be inside the file */
        volatile unsigned char sink = 0;
        for (size_t i = 0; i < f->n; i++)
            for (size_t k = 0; k < f->entries[i].nbytes; k += 61) sink ^= ((const unsigned char *)f->entries[i].data)[k];
        (void)sink;
        lmt_tensor_file_free(f);
        if (must_fail) CHECK_MSG(0, "%s: accepted", what);
    } else {
        CHECK_MSG(f == NULL, "%s: handle returned on failure", what);
        if (!strstr(lmt_last_error(), path)) CHECK_MSG(0, "%s: message does not name the file: %s", what, lmt_last_error());
    }
    return s;
}

static void forged(const char *header, size_t data_len, const char *needle) {
    size_t hl = strlen(header);
    unsigned char *buf = calloc(1, 8 + hl + data_len + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_bytes(buf, 8 + hl + data_len);
    free(buf);
    lmt_status s = try_open(true, header);
    if (s != LMT_OK) CHECK_MSG(strstr(lmt_last_error(), needle) != NULL, "'%s' not in: %s", needle, lmt_last_error());
}

int main(void) {
    snprintf(path, sizeof path, "/tmp/lmt-bad-%d.safetensors", (int)getpid());
    char *good;
    size_t n;
    CHECK_OK(lmt_read_file(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2/model.safetensors", &good, &n));
    if (!good) return lmt_test_finish();
    size_t hdr_end;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | (unsigned char)good[i];
    hdr_end = 8 + (size_t)hl;
    bool quick = getenv("LMT_TEST_QUICK") != NULL;

    /* truncated: every offset through the header, then a sample of the data */
    int truncs = 0;
    for (size_t cut = 0; cut < n; cut += (cut < hdr_end + 64) ? (quick ? 7 : 1) : 997) {
        write_bytes(good, cut);
        try_open(true, "truncated safetensors");
        truncs++;
    }
    CHECK(truncs > 100);

    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "past the end of the data");
    forged("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype \"F33\"");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "need 12 bytes but data_offsets span 8");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8, "invalid JSON");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "gap");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0]");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "shape[0]");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "overflow");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "twice");
    forged("{\"__metadata__\":{\"format\":1}}", 0, "must be a string");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8, "unknown header field");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "before begin");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "cover 4 bytes but the data region holds 8");
    forged("[1,2]  ", 0, "does not start with");
    {   /* header length past the end of the file */
        unsigned char b[16] = {0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, '{', '}'};
        write_bytes(b, 10);
        try_open(true, "header length");
        CHECK(strstr(lmt_last_error(), "runs past the end") || strstr(lmt_last_error(), "too large"));
    }

    /* random byte flips (fixed seed) */
    lmt_rng r;
    lmt_rng_seed(&r, 1234);
    char *mut = malloc(n);
    int flips = quick ? 60 : 300;
    for (int k = 0; k < flips; k++) {
        memcpy(mut, good, n);
        size_t at = (k % 2) ? lmt_rng_below(&r, hdr_end) : lmt_rng_below(&r, n);
        mut[at] ^= (char)(1u << lmt_rng_below(&r, 8));
        write_bytes(mut, n);
        try_open(false, "flipped safetensors");
    }
    free(mut);
    free(good);

    /* zip / pickle */
    snprintf(path, sizeof path, "/tmp/lmt-bad-%d.bin", (int)getpid());
    CHECK_OK(lmt_read_file(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2/pytorch_model.bin", &good, &n));
    for (size_t cut = 0; good && cut < n; cut += (cut + 300 > n) ? 1 : (quick ? 1499 : 211)) {
        write_bytes(good, cut);
        try_open(true, "truncated zip");
    }
    mut = malloc(n);
    lmt_rng_seed(&r, 99);
    int crc_errors = 0;
    for (int k = 0; good && k < flips; k++) {
        memcpy(mut, good, n);
        size_t at = lmt_rng_below(&r, n);
        mut[at] ^= (char)(1u << lmt_rng_below(&r, 8));
        write_bytes(mut, n);
        if (try_open(false, "flipped zip") != LMT_OK && strstr(lmt_last_error(), "CRC-32")) crc_errors++;
    }
    CHECK(crc_errors > flips / 2);   /* most flips land in member data: the CRC catches them */
    free(mut);
    free(good);

    const char *cases[][2] = {
        {"bad_opcode.bin", "outside the subset"},
        {"missing_member.bin", "is missing"},
        {"evil.bin", "not allowed"},
    };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/tests/fixtures/io/%s", LMT_SOURCE_DIR, cases[i][0]);
        try_open(true, cases[i][0]);
        CHECK_MSG(strstr(lmt_last_error(), cases[i][1]) != NULL, "%s: %s", cases[i][0], lmt_last_error());
    }
    /* a legacy (pre-1.6) torch file: a bare pickle */
    snprintf(path, sizeof path, "/tmp/lmt-bad-%d.bin", (int)getpid());
    static const unsigned char legacy[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    write_bytes(legacy, sizeof legacy);
    try_open(true, "legacy torch");
    CHECK(strstr(lmt_last_error(), "legacy") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "/tmp/lmt-bad-%d.safetensors", (int)getpid());
    unlink(path);
    return lmt_test_finish();
}
