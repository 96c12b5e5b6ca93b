/* Minimal zip reader for torch.save archives: stored (uncompressed)
 * members found through the central directory, ZIP64 where the 32-bit
 * fields are saturated, every offset and size checked against the buffer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

static uint32_t crc_table[8][256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t lmt_crc32(const void *data, size_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {   /* slicing-by-8: ~8x the bytewise loop */
        uint32_t a = rd32(p) ^ c, b = rd32(p + 4);
        c = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^ crc_table[4][a >> 24] ^
            crc_table[3][b & 0xff] ^ crc_table[2][(b >> 8) & 0xff] ^ crc_table[1][(b >> 16) & 0xff] ^ crc_table[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

lmt_status lmt_zip_check_crc(const lmt_zip_member *m, const char *path) {
    uint32_t c = lmt_crc32(m->data, m->size);
    if (c != m->crc32)
        return lmt_fail(LMT_ERR_FORMAT, "%s: zip member \"%s\" is corrupt (CRC-32 %08x, expected %08x)", path, m->name, c, m->crc32);
    return LMT_OK;
}

/* Frees what was parsed so far after the message (which may name a member
 * of z) has been recorded. */
#define FAIL(code, ...) do { lmt_status s_ = lmt_fail(code, __VA_ARGS__); lmt_zip_free(z); return s_; } while (0)

typedef struct { uint64_t count, cd_size, cd_off; } directory;

static lmt_status find_directory(const unsigned char *buf, size_t len, const char *path, directory *d) {
    if (len < 22) return lmt_fail(LMT_ERR_FORMAT, "%s: %zu bytes, too small to be a zip archive (truncated?)", path, len);
    /* The end record sits at the end, before a comment of up to 64 KiB. */
    size_t eocd = SIZE_MAX, lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > lo;)
        if (rd32(buf + i) == SIG_EOCD && i + 22 + rd16(buf + i + 20) == len) { eocd = i; break; }
    if (eocd == SIZE_MAX) return lmt_fail(LMT_ERR_FORMAT, "%s: no zip end-of-central-directory record (truncated?)", path);
    d->count = rd16(buf + eocd + 10);
    d->cd_size = rd32(buf + eocd + 12);
    d->cd_off = rd32(buf + eocd + 16);
    if (d->count == 0xFFFF || d->cd_size == 0xFFFFFFFFu || d->cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || rd32(buf + eocd - 20) != SIG_LOCATOR64)
            return lmt_fail(LMT_ERR_FORMAT, "%s: ZIP64 end-of-central-directory locator missing", path);
        uint64_t z64 = rd64(buf + eocd - 20 + 8);
        if (z64 > eocd - 20 || eocd - 20 - z64 < 56 || rd32(buf + z64) != SIG_EOCD64)
            return lmt_fail(LMT_ERR_FORMAT, "%s: ZIP64 end-of-central-directory record missing or misplaced", path);
        d->count = rd64(buf + z64 + 32);
        d->cd_size = rd64(buf + z64 + 40);
        d->cd_off = rd64(buf + z64 + 48);
    }
    if (d->cd_off > len || d->cd_size > len - d->cd_off)
        return lmt_fail(LMT_ERR_FORMAT, "%s: zip central directory lies outside the file (truncated?)", path);
    if (d->count > d->cd_size / 46)
        return lmt_fail(LMT_ERR_FORMAT, "%s: zip central directory is smaller than its %llu entries need", path,
                        (unsigned long long)d->count);
    return LMT_OK;
}

/* Replaces the saturated 32-bit fields by the ZIP64 extra field's values,
 * which come in the order usize, csize, local offset. */
static bool apply_zip64(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize, uint64_t *loff) {
    uint64_t *want[3] = {usize, csize, loff};
    while (xlen >= 4) {
        uint16_t id = rd16(x), sz = rd16(x + 2);
        if (sz > xlen - 4) return false;
        if (id == 0x0001) {
            const unsigned char *q = x + 4;
            size_t left = sz;
            for (int k = 0; k < 3; k++) {
                if (*want[k] != 0xFFFFFFFFu) continue;
                if (left < 8) return false;
                *want[k] = rd64(q);
                q += 8;
                left -= 8;
            }
            return true;
        }
        x += 4 + sz;
        xlen -= 4 + (size_t)sz;
    }
    return *usize != 0xFFFFFFFFu && *csize != 0xFFFFFFFFu && *loff != 0xFFFFFFFFu;
}

lmt_status lmt_zip_open(const unsigned char *buf, size_t len, const char *path, lmt_zip *z) {
    memset(z, 0, sizeof *z);
    directory d = {0};
    LMT_TRY(find_directory(buf, len, path, &d));
    z->members = calloc(d.count ? d.count : 1, sizeof *z->members);
    if (!z->members) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    const unsigned char *p = buf + d.cd_off;
    size_t left = (size_t)d.cd_size;
    for (uint64_t k = 0; k < d.count; k++) {
        if (left < 46 || rd32(p) != SIG_CENTRAL) FAIL(LMT_ERR_FORMAT, "%s: zip central directory entry %llu is corrupt", path, (unsigned long long)k);
        uint16_t flags = rd16(p + 8), method = rd16(p + 10), nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
        uint32_t crc = rd32(p + 16);
        uint64_t csize = rd32(p + 20), usize = rd32(p + 24), loff = rd32(p + 42);
        if (left - 46 < (size_t)nlen + xlen + clen)
            FAIL(LMT_ERR_FORMAT, "%s: zip central directory entry %llu runs past the directory", path, (unsigned long long)k);
        lmt_zip_member *m = &z->members[z->n];
        if (!(m->name = lmt_strndup((const char *)p + 46, nlen))) FAIL(LMT_ERR_NOMEM, "%s: out of memory", path);
        z->n++;
        if (strlen(m->name) != nlen) FAIL(LMT_ERR_FORMAT, "%s: zip member name \"%s...\" holds a NUL byte", path, m->name);
        if (!apply_zip64(p + 46 + nlen, xlen, &usize, &csize, &loff))
            FAIL(LMT_ERR_FORMAT, "%s: zip member \"%s\": ZIP64 extra field missing or short", path, m->name);
        if (flags & 1) FAIL(LMT_ERR_UNSUPPORTED, "%s: zip member \"%s\" is encrypted", path, m->name);
        if (method != 0)
            FAIL(LMT_ERR_UNSUPPORTED, "%s: zip member \"%s\" is compressed (method %u); torch.save stores members uncompressed",
                 path, m->name, method);
        if (csize != usize) FAIL(LMT_ERR_FORMAT, "%s: zip member \"%s\": stored member with two different sizes", path, m->name);
        if (loff > len || len - loff < 30 || rd32(buf + loff) != SIG_LOCAL)
            FAIL(LMT_ERR_FORMAT, "%s: zip member \"%s\": local header missing or outside the file", path, m->name);
        uint64_t data_off = loff + 30 + rd16(buf + loff + 26) + rd16(buf + loff + 28);
        if (data_off > len || usize > len - data_off)
            FAIL(LMT_ERR_FORMAT, "%s: zip member \"%s\" runs past the end of the file (truncated?)", path, m->name);
        m->data = buf + data_off;
        m->size = (size_t)usize;
        m->crc32 = crc;
        p += 46 + (size_t)nlen + xlen + clen;
        left -= 46 + (size_t)nlen + xlen + clen;
    }
    return LMT_OK;
}

void lmt_zip_free(lmt_zip *z) {
    for (size_t i = 0; i < z->n; i++) free(z->members[i].name);
    free(z->members);
    memset(z, 0, sizeof *z);
}

const lmt_zip_member *lmt_zip_find(const lmt_zip *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->members[i].name, name)) return &z->members[i];
    return NULL;
}
