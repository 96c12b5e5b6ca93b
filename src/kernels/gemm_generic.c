/* lmtune's GEMM, portable C: the reference every SIMD path is tested
 * against and the path of CPUs without one. */
#include <math.h>
#include "kernels/gemm_impl.h"


static void pack_a_generic(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < MR; r++) {
            float v = r < m ? at_a(t, A, lda, i0 + r, k0 + k) : 0.0f;
            d[k * MR + r] = round ? round_bf16(v) : v;
        }
}

static void pack_b_generic(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    for (int q = 0; q * NR < n; q++, d += (long)NR * kc)
        for (int k = 0; k < kc; k++)
            for (int c = 0; c < NR; c++) {
                float v = q * NR + c < n ? at_b(t, B, ldb, k0 + k, j0 + q * NR + c) : 0.0f;
                d[k * NR + c] = round ? round_bf16(v) : v;
            }
}

static void kern_generic(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const float *A = Ap, *B = Bp;
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (long k = 0; k < ku; k++)
        for (int r = 0; r < MR; r++) {
            float a = A[k * MR + r];
            for (int c = 0; c < NR; c++) acc[r][c] = fmaf(a, B[k * NR + c], acc[r][c]);
        }
    for (int r = 0; r < m; r++)
        for (int c = 0; c < n; c++) {
            float *p = &C[r * ldc + c];
            *p = beta == 0.0f ? alpha * acc[r][c] : fmaf(alpha, acc[r][c], beta * *p);
        }
}

const gemm_impl lmt_gemm_impl_generic = {pack_a_generic, NULL, pack_b_generic, kern_generic, KC_F32, 1, MR, NR, 1, 1, NB_COLS, NULL, NULL, "generic"};
