/* Branch-free exp and tanh that gcc vectorises inside `omp simd` loops
 * (glibc's expf/tanhf are scalar calls without -ffast-math). Accuracy: expf
 * within 2 ulp over the normal range; far below the 1e-5 parity budget. */
#ifndef LMT_KERNELS_FASTMATH_H
#define LMT_KERNELS_FASTMATH_H
#include <stdint.h>
#include <string.h>

#pragma omp declare simd notinbranch
static inline float lmt_expf(float x) {
    /* e^x = 2^n * e^r, n = round(x / ln2), |r| <= ln2/2 (Cephes polynomial). */
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    /* NaN goes through the clamp too: converting a NaN n to int below is
     * undefined (UBSan, found by fuzz/fuzz_resume.c on NaN weights); the
     * result is NaN again by the last select */
    float xc = !(x >= -87.3365447504f) ? -87.3365447504f : x;
    /* round to nearest even by the 1.5 * 2^23 trick: the same value as
     * roundevenf for |v| < 2^22 (here |v| < 128), and it vectorises (gcc does
     * not vectorise roundevenf calls) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    float y = p * scale;
    y = x != x ? x : y;
    return x < -87.3365447504f ? 0.0f : y;   /* underflow to exactly 0 */
}

#pragma omp declare simd notinbranch
static inline float lmt_tanhf(float x) {
    /* tanh(x) = 1 - 2 / (e^{2x} + 1); beyond |x| = 9.1 it rounds to +-1 in fp32
     * (as torch gives), which keeps 1 - tanh^2 exactly 0 for large inputs. */
    float xc = x > 15.0f ? 15.0f : (x < -15.0f ? -15.0f : x);
    return 1.0f - 2.0f / (lmt_expf(2.0f * xc) + 1.0f);
}
#endif
