/* fp16/bf16 conversions: IEEE values and round-to-nearest-even, the rules
 * torch's .half() / .bfloat16() follow. */
#include "harness.h"
#include "core/util.h"

static float bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

int main(void) {
    CHECK(lmt_f16_to_f32(0x3c00) == 1.0f);
    CHECK(lmt_f16_to_f32(0xc000) == -2.0f);
    CHECK(lmt_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(lmt_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(lmt_f16_to_f32(0x0400) == 6.103515625e-05f);
    CHECK(isinf(lmt_f16_to_f32(0x7c00)) && isnan(lmt_f16_to_f32(0x7e00)));
    CHECK(lmt_f32_to_f16(1.0f) == 0x3c00);
    CHECK(lmt_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(lmt_f32_to_f16(65520.0f) == 0x7c00);          /* rounds to inf */
    CHECK(lmt_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);   /* tie -> even */
    CHECK(lmt_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);   /* tie -> even (up) */
    CHECK(lmt_f32_to_f16(2.9802322387695312e-08f) == 0x0000); /* 2^-25 tie -> 0 */
    CHECK(lmt_f32_to_f16(4.470348358154297e-08f) == 0x0001);
    CHECK(lmt_f32_to_f16(-0.0f) == 0x8000);
    /* every finite half round-trips */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        if (lmt_f32_to_f16(lmt_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK_MSG(bad == 0, "%d halves do not round-trip", bad);
    CHECK(lmt_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(lmt_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(lmt_f32_to_bf16(bits(0x3f808000)) == 0x3f80);  /* tie -> even */
    CHECK(lmt_f32_to_bf16(bits(0x3f818000)) == 0x3f82);  /* tie -> even (up) */
    CHECK(lmt_f32_to_bf16(bits(0x3f808001)) == 0x3f81);
    CHECK(isnan(lmt_bf16_to_f32(lmt_f32_to_bf16(NAN))));
    return lmt_test_finish();
}
