/* lmtune's single matmul entry point: OpenBLAS or lmtune's own kernels
 * (kernels/gemm.c) for fp32, lmtune's bf16 kernels in mixed precision. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/gemm.h"
#include "kernels/matmul.h"

static lmt_matmul_precision precision = LMT_MATMUL_FP32;
static int backend = -1;   // LMT_MATMUL_* backend; -1 = not chosen yet

static int chosen_backend(void) {
    if (backend < 0) {
        const char *e = getenv("LMT_MATMUL");
        backend = e && !strcmp(e, "openblas") ? LMT_MATMUL_OPENBLAS : LMT_MATMUL_OWN;
    }
    return backend;
}

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Four rows of B (N, K) against a at once: 4 accumulators of 16 lanes, bf16
 * widened by a shift; gcc's own vectorisation of the scalar loop kept its
 * partial sums in memory. */
__attribute__((target("avx512f"))) static void dot4_bf16_avx512(int K, const float *a, const uint16_t *b0, int ldb,
                                                                float out[4]) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 x = _mm512_loadu_ps(a + k);
#define ROW(i, acc) acc = _mm512_fmadd_ps(x, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32( \
                        _mm256_loadu_si256((const __m256i *)(b0 + (size_t)(i) * ldb + k))), 16)), acc)
        ROW(0, s0); ROW(1, s1); ROW(2, s2); ROW(3, s3);
#undef ROW
    }
    out[0] = _mm512_reduce_add_ps(s0); out[1] = _mm512_reduce_add_ps(s1);
    out[2] = _mm512_reduce_add_ps(s2); out[3] = _mm512_reduce_add_ps(s3);
    for (; k < K; k++)
        for (int i = 0; i < 4; i++) out[i] += a[k] * bf16_value(b0[(size_t)i * ldb + k]);
}
#endif

void lmt_gemv_bf16(bool trans_b, int N, int K, float alpha, const float *a, const uint16_t *B, int ldb, float beta,
                   float *c) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (trans_b && __builtin_cpu_supports("avx512f")) {
#pragma omp parallel for schedule(static) if ((long)N * K > 32768)
        for (long n0 = 0; n0 < (N & ~3L); n0 += 4) {
            float d[4];
            dot4_bf16_avx512(K, a, B + n0 * ldb, ldb, d);
            for (int i = 0; i < 4; i++) c[n0 + i] = alpha * d[i] + (beta == 0.0f ? 0.0f : beta * c[n0 + i]);
        }
        for (long n = N & ~3L; n < N; n++) {
            float s0 = 0.0f;
            for (int k = 0; k < K; k++) s0 += a[k] * bf16_value(B[n * ldb + k]);
            c[n] = alpha * s0 + (beta == 0.0f ? 0.0f : beta * c[n]);
        }
        return;
    }
#endif
    if (trans_b) {   // B (N, K): c[n] = a . B[n]
#pragma omp parallel for schedule(static) if ((long)N * K > 32768)
        for (long n = 0; n < N; n++) {
            const uint16_t *b = B + n * ldb;
            float s = 0.0f;
#pragma omp simd reduction(+:s)
            for (int k = 0; k < K; k++) s += a[k] * bf16_value(b[k]);
            c[n] = alpha * s + (beta == 0.0f ? 0.0f : beta * c[n]);
        }
        return;
    }
#pragma omp parallel if ((long)N * K > 32768)
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num();
        long per = ((N + nth - 1) / nth + 31) & ~31L, n0 = tid * per, n1 = n0 + per < N ? n0 + per : N;
        if (n0 < n1) {
            for (long n = n0; n < n1; n++) c[n] = beta == 0.0f ? 0.0f : beta * c[n];
            for (int k = 0; k < K; k++) {
                const uint16_t *b = B + (size_t)k * ldb;
                float ak = alpha * a[k];
#pragma omp simd
                for (long n = n0; n < n1; n++) c[n] += ak * bf16_value(b[n]);
            }
        }
    }
}

void lmt_sgemm(bool trans_a, bool trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
    /* one row times a matrix (decoding with a cache) streams B once: it stays
     * fp32 under bf16, where rounding would cost a pass over B as well;
     * lmt_gemm_f32 takes such products without packing */
    if (M == 1 && precision == LMT_MATMUL_BF16)
        lmt_gemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (precision == LMT_MATMUL_BF16)
        lmt_gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (chosen_backend() == LMT_MATMUL_OWN)
        lmt_gemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lmt_matmul_set_precision(lmt_matmul_precision p) { precision = p; }

lmt_matmul_precision lmt_matmul_get_precision(void) { return precision; }

void lmt_matmul_set_backend(lmt_matmul_backend_id b) { backend = b; }

const char *lmt_matmul_backend(void) {
    static char name[200];
    if (chosen_backend() == LMT_MATMUL_OWN)
        snprintf(name, sizeof name, "lmtune gemm (fp32 %s, bf16 %s)%s", lmt_gemm_isa(false), lmt_gemm_isa(true),
                 precision == LMT_MATMUL_BF16 ? ", bf16 mixed precision on" : "");
    else
        snprintf(name, sizeof name, "OpenBLAS (%s, core %s)%s", openblas_get_config(), openblas_get_corename(),
                 precision == LMT_MATMUL_BF16 ? ", bf16 mixed precision on (lmtune gemm)" : "");
    return name;
}

void lmt_matmul_set_threads(int n) {
    if (n > 0) openblas_set_num_threads(n);
}

int lmt_matmul_threads(void) {
    /* lmtune's kernels run single-threaded inside a parallel region by themselves */
    if (precision == LMT_MATMUL_BF16 || chosen_backend() == LMT_MATMUL_OWN) return 1;
    return openblas_get_num_threads();
}
