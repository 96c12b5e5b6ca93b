/* Corrupt checkpoint files: the safetensors library's verdicts on forged
 * headers, truncations at every offset, broken zips, hand-made and fuzzed
 * pickles, random byte flips. Each must give an error that names the file
 * (or, for a harmless flip, load) - never crash, hang or leak (the suite
 * also runs under ASan + UBSan). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "io/zip.h"

#define IO LMT_SOURCE_DIR "/tests/fixtures/io/"

static char path[256];
static bool quick;

static void write_bytes(const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* Opens `path`; on success touches every tensor byte (spans must lie inside
 * the file), on failure checks that no handle leaks out and that the
 * message names the file. must_fail: 1 yes, 0 no, -1 either. */
static lmt_status try_open(int must_fail, const char *what) {
    lmt_tensor_file *f = (lmt_tensor_file *)&f;   /* must be reset to NULL on failure */
    lmt_status s = lmt_tensor_file_open(path, &f);
    if (s == LMT_OK) {
        volatile unsigned char sink = 0;
        for (size_t i = 0; i < f->n; i++)
            for (size_t k = 0; k < f->entries[i].nbytes; k += 61) sink ^= ((const unsigned char *)f->entries[i].data)[k];
        for (size_t i = 0; i < f->n; i++) {
            const lmt_tensor_entry *e = &f->entries[i];
            if (e->nbytes) sink ^= ((const unsigned char *)e->data)[e->nbytes - 1];
            if (e->nbytes && (uintptr_t)e->data % lmt_dtype_size(e->dtype))
                CHECK_MSG(0, "%s: tensor %s is not aligned to its dtype", what, e->name);
        }
        (void)sink;
        lmt_tensor_file_free(f);
        if (must_fail == 1) CHECK_MSG(0, "%s: accepted", what);
    } else {
        CHECK_MSG(f == NULL, "%s: handle not reset on failure", what);
        if (!strstr(lmt_last_error(), path)) CHECK_MSG(0, "%s: message does not name the file: %s", what, lmt_last_error());
        if (must_fail == 0) CHECK_MSG(0, "%s: refused: %s", what, lmt_last_error());
    }
    return s;
}

static void expect_error(const char *what, const char *needle) {
    if (try_open(1, what) != LMT_OK)
        CHECK_MSG(strstr(lmt_last_error(), needle) != NULL, "%s: '%s' not in: %s", what, needle, lmt_last_error());
}

/* ---- safetensors ---- */

/* tests/fixtures/io/st_verdicts.txt: "<python_ok> <lmtune_ok> <name> | <hex>" */
static void verdict_corpus(void) {
    char *text = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(IO "st_verdicts.txt", &text, &n));
    if (!text) return;
    int cases = 0, agree = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *bar = strstr(line, " | ");
        if (!bar || strlen(line) < 5) { CHECK_MSG(0, "bad corpus line %s", line); continue; }
        int py = line[0] - '0', want = line[2] - '0';
        *bar = '\0';
        const char *name = line + 4, *hex = bar + 3;
        size_t len = strlen(hex) / 2;
        unsigned char *bytes = malloc(len + 1);
        for (size_t i = 0; i < len; i++) sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
        write_bytes(bytes, len);
        free(bytes);
        lmt_status s = try_open(-1, name);
        CHECK_MSG((s == LMT_OK) == (want == 1), "%s: lmtune %s it, expected %s (%s)", name, s == LMT_OK ? "accepts" : "refuses",
                  want ? "accepted" : "refused", s == LMT_OK ? "" : lmt_last_error());
        if (s != LMT_OK) CHECK_MSG(strstr(lmt_last_error(), path) != NULL, "%s: %s", name, lmt_last_error());
        cases++;
        agree += (s == LMT_OK) == (py == 1);
    }
    CHECK(cases >= 60);
    printf("safetensors verdicts: %d cases, %d agree with the safetensors library (the rest are documented deviations)\n",
           cases, agree);
    free(text);
}

static void forged(const char *header, size_t data_len, const char *needle) {
    size_t hl = strlen(header);
    unsigned char *buf = calloc(1, 8 + hl + data_len + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_bytes(buf, 8 + hl + data_len);
    free(buf);
    expect_error(header, needle);
}

static void forged_headers(void) {
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
           "tensor \"b\": data_offsets [4, 12] overlap");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "tensor \"a\": data_offsets [0, 16] run past the end");
    forged("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor \"a\": unknown dtype \"F33\"");
    forged("{\"a\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "dtype U16 is not supported");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "tensor \"a\": shape and dtype F32 need 12 bytes");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8, "invalid JSON");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
           "tensor \"b\": data_offsets [8, 12] leave a gap");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "tensor \"a\": shape[0]");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "overflows");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
           "tensor \"a\" appears twice");
    forged("{\"__metadata__\":{\"format\":1}}", 0, "value of \"format\" must be a string");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end 0 is before begin 8");
    forged("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "cover 4 bytes but the data region holds 8");
    forged("[1,2]  ", 0, "not an object");
    {   /* header length past the end of the file */
        unsigned char b[16] = {0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, '{', '}'};
        write_bytes(b, 10);
        expect_error("header length", "runs past the end");
        b[3] = 0x10;   /* > 100 MB */
        write_bytes(b, 10);
        expect_error("header length", "100 MB");
    }
    /* a header length whose bytes look like the legacy torch magic is still safetensors */
    {
        unsigned char b[8 + 640];
        memset(b, ' ', sizeof b);
        memset(b, 0, 8);
        b[0] = 0x80, b[1] = 0x02;
        memcpy(b + 8, "{}", 2);
        write_bytes(b, sizeof b);
        try_open(0, "640-byte header");
    }
}

/* Truncation at every offset of a small file, and of a model file through
 * its header then a sample of its data. */
static void truncations(const char *file, bool every) {
    char *good = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(file, &good, &n));
    if (!good) return;
    size_t dense = n;
    if (!every && n >= 8) {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | (unsigned char)good[i];
        dense = 8 + (size_t)hl + 64;
    }
    for (size_t cut = 0; cut < n; cut += cut < dense ? (quick ? 7 : 1) : 997) {
        write_bytes(good, cut);
        try_open(1, "truncated safetensors");
    }
    free(good);
}

static void byte_flips(const char *file, int flips, uint64_t seed, bool header_half, int *crc_errors) {
    char *good = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(file, &good, &n));
    if (!good || n < 8) { free(good); return; }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | (unsigned char)good[i];
    size_t hdr_end = 8 + (size_t)hl < n ? 8 + (size_t)hl : n;
    char *mut = malloc(n);
    lmt_rng r;
    lmt_rng_seed(&r, seed);
    for (int k = 0; k < flips; k++) {
        memcpy(mut, good, n);
        size_t at = (header_half && k % 2) ? lmt_rng_below(&r, hdr_end) : lmt_rng_below(&r, n);
        mut[at] ^= (char)(1u << lmt_rng_below(&r, 8));
        write_bytes(mut, n);
        if (try_open(-1, "flipped byte") != LMT_OK && crc_errors && strstr(lmt_last_error(), "CRC-32")) (*crc_errors)++;
    }
    free(mut);
    free(good);
}

/* ---- zip / pickle ---- */

typedef struct { const char *name; const unsigned char *data; size_t len; } member;

/* A stored zip as torch writes it (without its alignment padding). */
static void write_zip(const member *m, size_t n, int method) {
    lmt_strbuf z, cd;
    lmt_sb_init(&z);
    lmt_sb_init(&cd);
    unsigned char h[46];
#define PUT16(p, v) ((p)[0] = (unsigned char)(v), (p)[1] = (unsigned char)((v) >> 8))
#define PUT32(p, v) (PUT16(p, (v) & 0xffff), PUT16((p) + 2, ((uint32_t)(v)) >> 16))
    for (size_t i = 0; i < n; i++) {
        uint32_t crc = lmt_crc32(m[i].data, m[i].len), off = (uint32_t)z.len;
        size_t nl = strlen(m[i].name);
        memset(h, 0, sizeof h);
        PUT32(h, 0x04034b50u); PUT16(h + 8, method); PUT32(h + 14, crc); PUT32(h + 18, m[i].len); PUT32(h + 22, m[i].len);
        PUT16(h + 26, nl);
        lmt_sb_append(&z, (const char *)h, 30);
        lmt_sb_append(&z, m[i].name, nl);
        lmt_sb_append(&z, (const char *)m[i].data, m[i].len);
        memset(h, 0, sizeof h);
        PUT32(h, 0x02014b50u); PUT16(h + 10, method); PUT32(h + 16, crc); PUT32(h + 20, m[i].len); PUT32(h + 24, m[i].len);
        PUT16(h + 28, nl); PUT32(h + 42, off);
        lmt_sb_append(&cd, (const char *)h, 46);
        lmt_sb_append(&cd, m[i].name, nl);
    }
    memset(h, 0, sizeof h);
    PUT32(h, 0x06054b50u); PUT16(h + 8, n); PUT16(h + 10, n); PUT32(h + 12, cd.len); PUT32(h + 16, z.len);
    lmt_sb_append(&z, cd.data, cd.len);
    lmt_sb_append(&z, (const char *)h, 22);
    write_bytes(z.data, z.len);
    lmt_sb_free(&z);
    lmt_sb_free(&cd);
}

/* An archive holding `pkl` as archive/data.pkl and `storage` as archive/data/0. */
static void write_archive(const unsigned char *pkl, size_t n, const unsigned char *storage, size_t sn) {
    member m[3] = {{"archive/data.pkl", pkl, n}, {"archive/byteorder", (const unsigned char *)"little", 6},
                   {"archive/data/0", storage, sn}};
    write_zip(m, 3, 0);
}

/* The pickle torch.save writes for {name: tensor} with a FloatStorage of
 * `numel` elements, key "0": protocol 2, as in the real files. */
typedef struct { const char *name; int64_t numel, offset; int ndim, nstride; int64_t size[10], stride[10]; } tensor_spec;

static void put_int(lmt_strbuf *b, int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
        unsigned char x[5] = {'J', (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
        lmt_sb_append(b, (const char *)x, 5);
        return;
    }
    unsigned char x[10] = {0x8a, 8};
    for (int i = 0; i < 8; i++) x[2 + i] = (unsigned char)((uint64_t)v >> (8 * i));
    lmt_sb_append(b, (const char *)x, 10);
}

static void put_str(lmt_strbuf *b, const char *s) {
    unsigned char x[5] = {'X', (unsigned char)strlen(s), 0, 0, 0};
    lmt_sb_append(b, (const char *)x, 5);
    lmt_sb_puts(b, s);
}

static void put_tuple(lmt_strbuf *b, const int64_t *v, int n) {
    lmt_sb_putc(b, '(');
    for (int i = 0; i < n; i++) put_int(b, v[i]);
    lmt_sb_putc(b, 't');
}

static void put_tensor_entry(lmt_strbuf *b, const tensor_spec *t) {
    put_str(b, t->name);
    lmt_sb_puts(b, "ctorch._utils\n_rebuild_tensor_v2\n((");
    put_str(b, "storage");
    lmt_sb_puts(b, "ctorch\nFloatStorage\n");
    put_str(b, "0");
    put_str(b, "cpu");
    put_int(b, t->numel);
    lmt_sb_puts(b, "tQ");
    put_int(b, t->offset);
    put_tuple(b, t->size, t->ndim);
    put_tuple(b, t->stride, t->nstride);
    lmt_sb_puts(b, "\x89" "ccollections\nOrderedDict\n)RtR");
}

static void tensor_case(const tensor_spec *t, size_t storage_bytes, const char *needle) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "\x80\x02}(");
    put_tensor_entry(&b, t);
    lmt_sb_puts(&b, "u.");
    float storage[64];
    for (int i = 0; i < 64; i++) storage[i] = (float)i;
    write_archive((const unsigned char *)b.data, b.len, (const unsigned char *)storage, storage_bytes);
    lmt_sb_free(&b);
    if (!needle) {
        lmt_tensor_file *f = NULL;
        CHECK_OK(lmt_tensor_file_open(path, &f));
        const lmt_tensor_entry *e = f ? lmt_tensor_file_find(f, t->name) : NULL;
        CHECK(e != NULL);
        if (e) {   /* compare with the view computed here */
            size_t n = e->nbytes / 4, ok = 0;
            for (size_t i = 0; i < n; i++) {
                int64_t off = t->offset, rem = (int64_t)i;
                for (int d = t->ndim - 1; d >= 0; d--) { off += (rem % t->size[d]) * t->stride[d]; rem /= t->size[d]; }
                ok += ((const float *)e->data)[i] == (float)off;
            }
            CHECK_MSG(ok == n, "%s: %zu of %zu elements right", t->name, ok, n);
        }
        lmt_tensor_file_free(f);
    } else {
        expect_error(t->name, needle);
    }
}

static void pickle_case(const char *what, const char *pkl, size_t n, const char *needle) {
    float storage[4] = {0};
    write_archive((const unsigned char *)pkl, n, (const unsigned char *)storage, sizeof storage);
    expect_error(what, needle);
}
#define PICKLE(what, lit, needle) pickle_case(what, lit, sizeof(lit) - 1, needle)

static void handmade_pickles(void) {
    /* valid views first: the generator itself must be right */
    tensor_case(&(tensor_spec){"ok", 6, 0, 2, 2, {2, 3}, {3, 1}}, 24, NULL);
    tensor_case(&(tensor_spec){"ok_t", 6, 0, 2, 2, {3, 2}, {1, 3}}, 24, NULL);
    tensor_case(&(tensor_spec){"ok_expand", 3, 0, 2, 2, {4, 3}, {0, 1}}, 12, NULL);
    tensor_case(&(tensor_spec){"ok_offset", 10, 7, 1, 1, {3}, {1}}, 40, NULL);
    tensor_case(&(tensor_spec){"ok_scalar", 10, 9, 0, 0, {0}, {0}}, 40, NULL);
    tensor_case(&(tensor_spec){"ok_empty", 0, 0, 2, 2, {0, 5}, {5, 1}}, 0, NULL);
    /* forged views */
    tensor_case(&(tensor_spec){"neg_offset", 6, -1, 1, 1, {2}, {1}}, 24, "negative storage offset");
    tensor_case(&(tensor_spec){"past_storage", 5, 0, 2, 2, {2, 3}, {3, 1}}, 24, "reaches past its storage");
    tensor_case(&(tensor_spec){"offset_past", 6, 5, 1, 1, {2}, {1}}, 24, "reaches past its storage");
    tensor_case(&(tensor_spec){"short_member", 6, 0, 1, 1, {6}, {1}}, 20, "fewer than its 6 elements");
    tensor_case(&(tensor_spec){"big_stride", 6, 0, 1, 1, {3}, {INT64_C(1) << 62}}, 24, "stride overflows");
    tensor_case(&(tensor_spec){"huge_offset", 6, INT64_MAX - 1, 1, 1, {3}, {4}}, 24, "stride overflows");
    tensor_case(&(tensor_spec){"neg_size", 6, 0, 1, 1, {-2}, {1}}, 24, "negative size");
    tensor_case(&(tensor_spec){"neg_stride", 6, 3, 1, 1, {2}, {-1}}, 24, "negative size or stride");
    tensor_case(&(tensor_spec){"huge_expand", 1, 0, 2, 2, {INT64_C(1) << 20, INT64_C(1) << 20}, {0, 0}}, 4, "view of a 4-byte storage");
    tensor_case(&(tensor_spec){"size_overflow", 1, 0, 3, 3, {INT64_C(1) << 40, INT64_C(1) << 40, INT64_C(1) << 40}, {0, 0, 0}}, 4, "overflows");
    tensor_case(&(tensor_spec){"rank_mismatch", 6, 0, 2, 1, {2, 3}, {1}}, 24, "size and stride");
    tensor_case(&(tensor_spec){"nine_dims", 6, 0, 9, 9, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1}}, 24, "size and stride");
    {   /* one name twice */
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, "\x80\x02}(");
        tensor_spec t = {"w", 4, 0, 1, 1, {4}, {1}};
        put_tensor_entry(&b, &t);
        put_tensor_entry(&b, &t);
        lmt_sb_puts(&b, "u.");
        pickle_case("duplicate key", b.data, b.len, "tensor \"w\" appears twice");
        lmt_sb_free(&b);
    }
    /* globals outside the allow-list, however they are spelled */
    PICKLE("GLOBAL os.system", "\x80\x02" "cos\nsystem\n" "X\x02\0\0\0id" "\x85R.", "os.system, which is not allowed");
    PICKLE("STACK_GLOBAL builtins.eval", "\x80\x04" "\x8c\x08" "builtins" "\x8c\x04" "eval" "\x93" "X\x01\0\0\0" "1" "\x85R.",
           "builtins.eval, which is not allowed");
    PICKLE("GLOBAL with NUL", "\x80\x02" "ctorch\0x\nFloatStorage\n.", "torch?x.FloatStorage, which is not allowed");
    PICKLE("storage type", "\x80\x02" "ctorch\nComplexFloatStorage\n.", "torch.ComplexFloatStorage, which is not allowed");
    PICKLE("REDUCE of a storage class", "\x80\x02" "ctorch\nFloatStorage\n)R.", "calling torch.FloatStorage is not supported");
    /* opcodes outside the subset are named */
    PICKLE("DUP", "\x80\x02}2.", "opcode DUP (0x32)");
    PICKLE("INST", "\x80\x02(ios\nsystem\n.", "opcode INST");
    PICKLE("OBJ", "\x80\x02(o.", "opcode OBJ");
    PICKLE("NEWOBJ", "\x80\x02\x81.", "opcode NEWOBJ");
    PICKLE("EXT1", "\x80\x02\x82\x01.", "opcode EXT1");
    PICKLE("BINBYTES", "\x80\x03" "C\x01x.", "opcode SHORT_BINBYTES");
    PICKLE("PERSID", "\x80\x02Pfoo\n.", "opcode PERSID");
    PICKLE("unknown", "\x80\x02\xff.", "opcode unknown opcode (0xff)");
    /* malformed streams */
    PICKLE("empty pickle", "", "truncated");
    PICKLE("no STOP", "\x80\x02}", "truncated");
    PICKLE("protocol 9", "\x80\x09}.", "unsupported pickle protocol");
    PICKLE("stack underflow", "\x80\x02.", "stack underflow");
    PICKLE("SETITEM on nothing", "\x80\x02Ns.", "stack underflow");
    PICKLE("SETITEM on a list", "\x80\x02]NNs.", "SETITEM on something not a dict");
    PICKLE("SETITEMS without MARK", "\x80\x02}NNu.", "no MARK");
    PICKLE("odd SETITEMS", "\x80\x02}(Nu.", "SETITEMS without a dict");
    PICKLE("APPENDS to a dict", "\x80\x02}(Ne.", "APPENDS to something not a list");
    PICKLE("root is a list", "\x80\x02]." , "does not hold a dict");
    PICKLE("key not a string", "\x80\x02}(NNu.", "key is not a string");
    PICKLE("unset memo", "\x80\x02h\x05.", "unset memo entry");
    PICKLE("huge memo index", "\x80\x02}r\xff\xff\xff\x7f.", "memo index out of range");
    PICKLE("MARK as a value", "\x80\x02(.", "unexpected MARK");
    PICKLE("persistent id not a storage", "\x80\x02}(X\x01\0\0\0wNQu.", "not a torch storage reference");
    PICKLE("integer too large", "\x80\x02\x8a\x09" "123456789.", "integer too large");
    PICKLE("truncated BINUNICODE", "\x80\x02X\xff\xff\xff\xff" "ab", "truncated");
    PICKLE("truncated GLOBAL", "\x80\x02" "ctorch\nFloat", "truncated GLOBAL");
    PICKLE("bad rebuild args", "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(NNNNtR.", "bad _rebuild_tensor_v2 arguments");
    PICKLE("OrderedDict args", "\x80\x02" "ccollections\nOrderedDict\n(NtR.", "OrderedDict with arguments");
    PICKLE("BUILD on a list", "\x80\x02]Nb.", "BUILD of an object");
    /* a pickle that never ends, made of MARKs: bounded by the input */
    {
        size_t n = 1 << 20;
        char *marks = malloc(n + 2);
        memcpy(marks, "\x80\x02", 2);
        memset(marks + 2, '(', n);
        pickle_case("a million MARKs", marks, n + 2, "truncated");
        free(marks);
    }
}

/* Truncates and flips bytes of a real data.pkl, rezipped with a correct
 * CRC so that the unpickler (not the CRC check) meets the damage. */
static void fuzz_real_pickle(void) {
    char *buf = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(IO "views.bin", &buf, &n));
    if (!buf) return;
    lmt_zip z;
    CHECK_OK(lmt_zip_open((const unsigned char *)buf, n, "views.bin", &z));
    const lmt_zip_member *pkl = lmt_zip_find(&z, "views/data.pkl");
    CHECK(pkl != NULL);
    if (!pkl) { lmt_zip_free(&z); free(buf); return; }
    member m[32];
    size_t nm = 0, pi = 0;
    for (size_t i = 0; i < z.n && nm < 32; i++) {
        if (&z.members[i] == pkl) pi = nm;
        m[nm++] = (member){z.members[i].name, z.members[i].data, z.members[i].size};
    }
    unsigned char *mut = malloc(pkl->size);
    for (size_t cut = 0; cut < pkl->size; cut += quick ? 5 : 1) {
        m[pi].len = cut;
        write_zip(m, nm, 0);
        try_open(1, "truncated data.pkl");
    }
    m[pi].data = mut;
    m[pi].len = pkl->size;
    lmt_rng r;
    lmt_rng_seed(&r, 7);
    int flips = quick ? 100 : 600, refused = 0;
    for (int k = 0; k < flips; k++) {
        memcpy(mut, pkl->data, pkl->size);
        mut[lmt_rng_below(&r, pkl->size)] ^= (unsigned char)(1u << lmt_rng_below(&r, 8));
        if (k % 3 == 0) mut[lmt_rng_below(&r, pkl->size)] = (unsigned char)lmt_rng_below(&r, 256);
        write_zip(m, nm, 0);
        refused += try_open(-1, "flipped data.pkl") != LMT_OK;
    }
    CHECK(refused > flips / 4);
    /* a compressed member and a missing data.pkl */
    m[pi].data = pkl->data;
    write_zip(m, nm, 8);
    expect_error("deflated members", "compressed (method 8)");
    m[pi] = m[--nm];
    write_zip(m, nm, 0);
    expect_error("no data.pkl", "without a <name>/data.pkl member");
    free(mut);
    lmt_zip_free(&z);
    free(buf);
}

static void zip_damage(void) {
    char *good = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(IO "views.bin", &good, &n));
    if (!good) return;
    /* every truncation of a whole archive */
    for (size_t cut = 0; cut < n; cut += quick ? 3 : 1) {
        write_bytes(good, cut);
        try_open(1, "truncated zip");
    }
    /* explicit CRC damage: a storage, then data.pkl */
    lmt_zip z;
    CHECK_OK(lmt_zip_open((const unsigned char *)good, n, "views.bin", &z));
    const lmt_zip_member *st = lmt_zip_find(&z, "views/data/1"), *pkl = lmt_zip_find(&z, "views/data.pkl");
    CHECK(st && pkl);
    if (st && pkl) {
        size_t at = (size_t)(st->data - (const unsigned char *)good) + 5;
        good[at] ^= 0x10;
        write_bytes(good, n);
        expect_error("corrupt storage", "zip member \"views/data/1\" is corrupt (CRC-32");
        good[at] ^= 0x10;
        at = (size_t)(pkl->data - (const unsigned char *)good) + 40;
        good[at] ^= 0x01;
        write_bytes(good, n);
        expect_error("corrupt data.pkl", "zip member \"views/data.pkl\" is corrupt (CRC-32");
        good[at] ^= 0x01;
        /* end record pointing outside the file / claiming more entries */
        size_t eocd = n - 22;
        CHECK(memcmp(good + eocd, "PK\x05\x06", 4) == 0);
        /* torch also writes ZIP64 end records; saturate the classic fields to use them */
        memcpy(good + eocd + 16, "\xff\xff\xff\xff", 4);
        write_bytes(good, n);
        try_open(0, "ZIP64 end record in use");
        size_t loc = eocd - 20;
        good[loc + 8] ^= 0x40;
        write_bytes(good, n);
        expect_error("ZIP64 locator damaged", "ZIP64 end-of-central-directory record");
    }
    lmt_zip_free(&z);
    free(good);
    /* missing storage member: a real archive with views/data/1 dropped */
    snprintf(path, sizeof path, IO "missing_member.bin");
    expect_error("missing member", "storage member \"views/data/1\" is missing");
    snprintf(path, sizeof path, IO "bad_opcode.bin");
    expect_error("bad_opcode.bin", "opcode DICT");
    snprintf(path, sizeof path, IO "evil.bin");
    expect_error("evil.bin", "posix.system, which is not allowed");
}

int main(void) {
    quick = getenv("LMT_TEST_QUICK") != NULL;
    char st_path[256], bin_path[256];
    snprintf(st_path, sizeof st_path, "/tmp/lmt-bad-%d.safetensors", (int)getpid());
    snprintf(bin_path, sizeof bin_path, "/tmp/lmt-bad-%d.bin", (int)getpid());

    snprintf(path, sizeof path, "%s", st_path);
    verdict_corpus();
    forged_headers();
    truncations(IO "mixed.safetensors", true);
    truncations(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2/model.safetensors", false);
    byte_flips(IO "mixed.safetensors", quick ? 60 : 300, 1234, true, NULL);
    byte_flips(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2/model.safetensors", quick ? 30 : 100, 99, true, NULL);

    snprintf(path, sizeof path, "%s", bin_path);
    handmade_pickles();
    snprintf(path, sizeof path, "%s", bin_path);
    fuzz_real_pickle();
    snprintf(path, sizeof path, "%s", bin_path);
    zip_damage();
    snprintf(path, sizeof path, "%s", bin_path);
    int crc_errors = 0, flips = quick ? 60 : 300;
    byte_flips(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2/pytorch_model.bin", flips, 99, false, &crc_errors);
    CHECK(crc_errors > flips / 2);   /* most flips land in member data: the CRC catches them */

    /* a legacy (pre-1.6) torch file: a bare pickle after the magic number */
    static const unsigned char legacy[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    write_bytes(legacy, sizeof legacy);
    expect_error("legacy torch", "legacy (pre-1.6, non-zip) torch serialization is not supported");
    /* not a file at all */
    snprintf(path, sizeof path, "/tmp/lmt-no-such-file-%d.bin", (int)getpid());
    CHECK(try_open(1, "missing file") == LMT_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "/tmp");
    expect_error("a directory", "/tmp");
    unlink(st_path);
    unlink(bin_path);
    return lmt_test_finish();
}
