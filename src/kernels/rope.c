/* Rotary position embeddings (see rope.h). */
#include "kernels/parallel.h"
#include "kernels/rope.h"
#include "kernels/variant.h"

/* sign +1: the rotation, -1: its transpose */
static void rotate(float *x, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin, float sign) {
    int half = hs / 2;
    long rows = (long)B * T;
#pragma omp parallel for schedule(static) if (rows * NH * hs >= LMT_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        int t = (int)(r % T);
        const float *c = cos + (long)t * half, *s = sin + (long)t * half;
        for (int h = 0; h < NH; h++) {
            float *a = x + r * ld + (long)h * hs, *b = a + half;
#pragma omp simd
            for (int i = 0; i < half; i++) {
                float x1 = a[i], x2 = b[i], sn = sign * s[i];
                a[i] = x1 * c[i] - x2 * sn;
                b[i] = x2 * c[i] + x1 * sn;
            }
        }
    }
}

void LMT_KERNEL_FN(lmt_rope_forward)(float *x, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin) {
    rotate(x, B, T, NH, hs, ld, cos, sin, 1.0f);
}

void LMT_KERNEL_FN(lmt_rope_backward)(float *d, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin) {
    rotate(d, B, T, NH, hs, ld, cos, sin, -1.0f);
}
