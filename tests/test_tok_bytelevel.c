/* The byte-level alphabet: GPT-2's bytes_to_unicode (openai/gpt-2
 * encoder.py): printable bytes keep their code point, the other 68 map to
 * U+0100.. in byte order. */
#include "harness.h"
#include "tokenizers/bytelevel.h"

int main(void) {
    lmt_bytelevel b;
    lmt_bytelevel_init(&b);
    CHECK(b.byte_to_cp[' '] == 0x120);    /* 'Ġ' */
    CHECK(b.byte_to_cp['\n'] == 0x10A);   /* 'Ċ' */
    CHECK(b.byte_to_cp['\t'] == 0x109);   /* 'ĉ' */
    CHECK(b.byte_to_cp[0] == 0x100);
    CHECK(b.byte_to_cp[0x7F] == 0x121);
    CHECK(b.byte_to_cp[0xA0] == 0x142);
    CHECK(b.byte_to_cp[0xAD] == 0x143);   /* the last one */
    CHECK(b.byte_to_cp['a'] == 'a' && b.byte_to_cp['!'] == '!' && b.byte_to_cp[0xA1] == 0xA1 && b.byte_to_cp[0xFF] == 0xFF);
    CHECK(b.byte_utf8_len[' '] == 2 && (unsigned char)b.byte_utf8[' '][0] == 0xC4 && (unsigned char)b.byte_utf8[' '][1] == 0xA0);
    int seen[512] = {0};
    for (int i = 0; i < 256; i++) {
        CHECK(b.byte_to_cp[i] < 256 + 68);
        CHECK_MSG(!seen[b.byte_to_cp[i]]++, "byte %d shares its character", i);
        CHECK_MSG(lmt_bytelevel_cp_to_byte(b.byte_to_cp[i]) == i, "byte %d does not round-trip", i);
    }
    CHECK(lmt_bytelevel_cp_to_byte(' ') == -1 && lmt_bytelevel_cp_to_byte(0xAD) == -1 && lmt_bytelevel_cp_to_byte(0x144) == -1);
    CHECK(lmt_bytelevel_cp_to_byte(0x4E2D) == -1);
    return lmt_test_finish();
}
