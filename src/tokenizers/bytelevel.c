#include <stdbool.h>
#include "tokenizers/bytelevel.h"
#include "tokenizers/utf8.h"

static bool printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

void lmt_bytelevel_init(lmt_bytelevel *t) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t cp = printable(b) ? (uint32_t)b : (uint32_t)(256 + n++);
        t->byte_to_cp[b] = cp;
        t->byte_utf8_len[b] = (uint8_t)lmt_utf8_encode(cp, t->byte_utf8[b]);
    }
}

int lmt_bytelevel_cp_to_byte(uint32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    /* the n-th non-printable byte, in increasing byte order */
    int n = (int)(cp - 256);
    for (int b = 0; b < 256; b++)
        if (!printable(b) && n-- == 0) return b;
    return -1;
}
