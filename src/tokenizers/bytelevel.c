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

/* 256 + n stands for the n-th non-printable byte, in increasing byte order */
static const unsigned char shifted[68] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148,
    149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 173};

int lmt_bytelevel_cp_to_byte(uint32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    return cp < 256 + 68 ? shifted[cp - 256] : -1;
}
