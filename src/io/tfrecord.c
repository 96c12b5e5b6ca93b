/* TFRecord framing; see tfrecord.h. */
#include <pthread.h>
#include <string.h>
#include "core/error.h"
#include "io/tfrecord.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        table[i] = c;
    }
}

uint32_t lmt_crc32c(const void *data, size_t n) {
    pthread_once(&table_once, make_table);
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

uint32_t lmt_crc32c_masked(const void *data, size_t n) {
    uint32_t c = lmt_crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void lmt_tfrecord_append(lmt_strbuf *b, const void *data, size_t n) {
    uint8_t head[12], tail[4];
    put_le(head, n, 8);
    put_le(head + 8, lmt_crc32c_masked(head, 8), 4);
    put_le(tail, lmt_crc32c_masked(data, n), 4);
    lmt_sb_append(b, (const char *)head, 12);
    lmt_sb_append(b, data, n);
    lmt_sb_append(b, (const char *)tail, 4);
}

lmt_status lmt_tfrecord_next(const uint8_t *buf, size_t len, size_t *off, const char *source, const uint8_t **data, size_t *n) {
    size_t o = *off;
    if (len - o < 12) return lmt_fail(LMT_ERR_FORMAT, "%s: offset %zu: a record header needs 12 bytes, %zu left", source, o, len - o);
    uint64_t m = get_le(buf + o, 8);
    if ((uint32_t)get_le(buf + o + 8, 4) != lmt_crc32c_masked(buf + o, 8))
        return lmt_fail(LMT_ERR_FORMAT, "%s: offset %zu: the length's CRC does not match", source, o);
    if (m > len - o - 12 || len - o - 12 - m < 4)
        return lmt_fail(LMT_ERR_FORMAT, "%s: offset %zu: a record of %llu bytes runs past the end", source, o, (unsigned long long)m);
    if ((uint32_t)get_le(buf + o + 12 + m, 4) != lmt_crc32c_masked(buf + o + 12, (size_t)m))
        return lmt_fail(LMT_ERR_FORMAT, "%s: offset %zu: the data's CRC does not match", source, o);
    *data = buf + o + 12;
    *n = (size_t)m;
    *off = o + 12 + (size_t)m + 4;
    return LMT_OK;
}
