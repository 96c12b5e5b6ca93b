/* Minimal zip reader for torch.save archives (stored members only). */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/zip.h"

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    crc_ready = 1;
}

uint32_t lmt_crc32(const void *data, size_t n) {
    #pragma omp critical(lmt_crc_init)
    { if (!crc_ready) crc_init(); }
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {  /* slicing-by-8 */
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

lmt_status lmt_zip_open(const unsigned char *buf, size_t len, const char *path, lmt_zip *z) {
    memset(z, 0, sizeof *z);
    if (len < 22) return lmt_fail(LMT_ERR_FORMAT, "%s: too small to be a zip archive", path);
    /* End of central directory: scan back over a possible comment. */
    size_t eocd = SIZE_MAX;
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > lo;)
        if (rd32(buf + i) == 0x06054b50u) { eocd = i; break; }
    if (eocd == SIZE_MAX) return lmt_fail(LMT_ERR_FORMAT, "%s: no zip end-of-central-directory record (truncated or not a zip file)", path);
    uint64_t count = rd16(buf + eocd + 10), cd_size = rd32(buf + eocd + 12), cd_off = rd32(buf + eocd + 16);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || rd32(buf + eocd - 20) != 0x07064b50u)
            return lmt_fail(LMT_ERR_FORMAT, "%s: ZIP64 locator missing", path);
        uint64_t z64 = rd64(buf + eocd - 20 + 8);
        if (z64 > len - 56 || rd32(buf + z64) != 0x06064b50u) return lmt_fail(LMT_ERR_FORMAT, "%s: ZIP64 end record invalid", path);
        count = rd64(buf + z64 + 32);
        cd_size = rd64(buf + z64 + 40);
        cd_off = rd64(buf + z64 + 48);
    }
    if (cd_off > len || cd_size > len - cd_off) return lmt_fail(LMT_ERR_FORMAT, "%s: central directory outside the file (truncated?)", path);
    if (count > cd_size / 46) return lmt_fail(LMT_ERR_FORMAT, "%s: central directory holds fewer entries than it claims", path);
    z->members = calloc(count ? count : 1, sizeof *z->members);
    if (!z->members) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    const unsigned char *p = buf + cd_off, *end = buf + cd_off + cd_size;
    for (uint64_t k = 0; k < count; k++) {
        if (end - p < 46 || rd32(p) != 0x02014b50u) { lmt_zip_free(z); return lmt_fail(LMT_ERR_FORMAT, "%s: corrupt central directory entry %llu", path, (unsigned long long)k); }
        uint16_t method = rd16(p + 10), nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
        uint32_t crc = rd32(p + 16);
        uint64_t csize = rd32(p + 20), usize = rd32(p + 24), loff = rd32(p + 42);
        if ((size_t)(end - p) < 46u + nlen + xlen + clen) { lmt_zip_free(z); return lmt_fail(LMT_ERR_FORMAT, "%s: central directory entry %llu overruns", path, (unsigned long long)k); }
        char *name = lmt_strndup((const char *)p + 46, nlen);
        if (!name) { lmt_zip_free(z); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
        z->members[z->n].name = name;
        z->n++;
        /* ZIP64 extended information: the 0xFFFFFFFF fields, in order */
        const unsigned char *x = p + 46 + nlen, *xend = x + xlen;
        while (xend - x >= 4) {
            uint16_t id = rd16(x), sz = rd16(x + 2);
            if ((size_t)(xend - x - 4) < sz) break;
            if (id == 0x0001) {
                const unsigned char *q = x + 4, *qe = x + 4 + sz;
                if (usize == 0xFFFFFFFFu && qe - q >= 8) { usize = rd64(q); q += 8; }
                if (csize == 0xFFFFFFFFu && qe - q >= 8) { csize = rd64(q); q += 8; }
                if (loff == 0xFFFFFFFFu && qe - q >= 8) { loff = rd64(q); q += 8; }
            }
            x += 4 + sz;
        }
        if (method != 0) { lmt_zip_free(z); return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: zip member \"%s\" is compressed (method %u); torch.save writes stored members", path, name, method); }
        if (csize != usize) { lmt_zip_free(z); return lmt_fail(LMT_ERR_FORMAT, "%s: zip member \"%s\": stored sizes disagree", path, name); }
        if (loff > len || len - loff < 30 || rd32(buf + loff) != 0x04034b50u) { lmt_zip_free(z); return lmt_fail(LMT_ERR_FORMAT, "%s: zip member \"%s\": local header missing or outside the file", path, name); }
        uint64_t data_off = loff + 30 + rd16(buf + loff + 26) + rd16(buf + loff + 28);
        if (data_off > len || usize > len - data_off) { lmt_zip_free(z); return lmt_fail(LMT_ERR_FORMAT, "%s: zip member \"%s\" runs past the end of the file (truncated?)", path, name); }
        z->members[z->n - 1].data = buf + data_off;
        z->members[z->n - 1].size = (size_t)usize;
        z->members[z->n - 1].crc32 = crc;
        p += 46 + nlen + xlen + clen;
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
