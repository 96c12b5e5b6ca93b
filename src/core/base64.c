/* Base64 encoding (core/base64.h). */
#include "core/base64.h"

void lmt_base64_append(lmt_strbuf *b, const void *data, size_t n) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        quad[0] = abc[(v >> 18) & 63];
        quad[1] = abc[(v >> 12) & 63];
        quad[2] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? abc[v & 63] : '=';
        lmt_sb_append(b, quad, 4);
    }
}
