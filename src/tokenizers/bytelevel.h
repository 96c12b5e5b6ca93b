/* GPT-2's byte-level alphabet: every byte maps to a printable character
 * (bytes_to_unicode), so BPE runs on text without spaces or controls. */
#ifndef LMT_TOK_BYTELEVEL_H
#define LMT_TOK_BYTELEVEL_H
#include <stddef.h>
#include <stdint.h>

typedef struct lmt_bytelevel {
    uint32_t byte_to_cp[256];
    char byte_utf8[256][3];   /* UTF-8 of the mapped character */
    uint8_t byte_utf8_len[256];
} lmt_bytelevel;

void lmt_bytelevel_init(lmt_bytelevel *b);
/* The byte a byte-level character stands for, or -1 if cp is not one. */
int lmt_bytelevel_cp_to_byte(uint32_t cp);
#endif
