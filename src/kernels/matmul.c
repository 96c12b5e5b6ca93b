/* lmtune's single matmul entry point: OpenBLAS or lmtune's own kernels
 * (kernels/gemm.c) for fp32, lmtune's bf16 kernels in mixed precision. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "core/cpu.h"
#include "core/util.h"

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

uint16_t *lmt_bf16_cols_pack(bool trans_b, const float *B, int ldb, int N, int K) {
    const long groups = (N + LMT_BF16_COLS - 1) / LMT_BF16_COLS;
    uint16_t *P = malloc((size_t)groups * LMT_BF16_COLS * (size_t)K * sizeof *P);
    if (!P) return NULL;
#pragma omp parallel for schedule(static)
    for (long g = 0; g < groups; g++)
        for (long k = 0; k < K; k++) {
            uint16_t *row = P + ((size_t)g * K + k) * LMT_BF16_COLS;
            for (long c = 0; c < LMT_BF16_COLS; c++) {
                const long n = g * LMT_BF16_COLS + c;
                row[c] = n < N ? lmt_f32_to_bf16(trans_b ? B[n * ldb + k] : B[k * ldb + n]) : 0;
            }
        }
    return P;
}

typedef void (*group_fn)(int K, const float *a, const uint16_t *P, float *out);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* One group: 128 columns summed over all k in eight registers, B read front
 * to back (256 bytes per k). */
__attribute__((target("avx512f"))) static void group_bf16_avx512(int K, const float *a, const uint16_t *P, float *out) {
    __m512 s[8];
    for (int v = 0; v < 8; v++) s[v] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++, P += LMT_BF16_COLS) {
        const __m512 x = _mm512_set1_ps(a[k]);
        for (int v = 0; v < 8; v++) {
            const __m256i h = _mm256_loadu_si256((const __m256i *)(P + 16 * v));
            s[v] = _mm512_fmadd_ps(x, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)), s[v]);
        }
    }
    for (int v = 0; v < 8; v++) _mm512_storeu_ps(out + 16 * v, s[v]);
}
/* AVX2: 16 ymm registers hold 64 columns' sums, so the group goes in two
 * halves, each reading its 128 bytes of every k's 256. */
__attribute__((target("avx2,fma"))) static void group_bf16_avx2(int K, const float *a, const uint16_t *P, float *out) {
    for (int h = 0; h < LMT_BF16_COLS; h += 64) {
        __m256 s[8];
        for (int v = 0; v < 8; v++) s[v] = _mm256_setzero_ps();
        const uint16_t *p = P + h;
        for (int k = 0; k < K; k++, p += LMT_BF16_COLS) {
            const __m256 x = _mm256_broadcast_ss(a + k);
            for (int v = 0; v < 8; v++) {
                const __m128i w = _mm_loadu_si128((const __m128i *)(p + 8 * v));
                s[v] = _mm256_fmadd_ps(x, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(w), 16)), s[v]);
            }
        }
        for (int v = 0; v < 8; v++) _mm256_storeu_ps(out + h + 8 * v, s[v]);
    }
}
#elif defined(__aarch64__)
#include <arm_neon.h>
/* One group on NEON: 64 columns at a time in sixteen registers (all 128
 * would spill), bf16 widened to fp32 by a 16-bit left shift; each column
 * sums k in order, as the portable loop. */
static void group_bf16_neon(int K, const float *a, const uint16_t *P, float *out) {
    for (int half = 0; half < LMT_BF16_COLS; half += 64) {
        float32x4_t s[16];
        for (int v = 0; v < 16; v++) s[v] = vdupq_n_f32(0.0f);
        const uint16_t *p = P + half;
        for (int k = 0; k < K; k++, p += LMT_BF16_COLS) {
            const float x = a[k];
            for (int v = 0; v < 8; v++) {
                const uint16x8_t h = vld1q_u16(p + 8 * v);
                s[2 * v] = vfmaq_n_f32(s[2 * v], vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)), x);
                s[2 * v + 1] = vfmaq_n_f32(s[2 * v + 1], vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)), x);
            }
        }
        for (int v = 0; v < 16; v++) vst1q_f32(out + half + 4 * v, s[v]);
    }
}
#endif

static void group_bf16_generic(int K, const float *a, const uint16_t *P, float *out) {
    for (int c = 0; c < LMT_BF16_COLS; c++) out[c] = 0.0f;
    for (int k = 0; k < K; k++, P += LMT_BF16_COLS)
        for (int c = 0; c < LMT_BF16_COLS; c++) out[c] += a[k] * bf16_value(P[c]);
}

/* The group kernel at the active level (core/cpu.h). */
static group_fn pick_group_bf16(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    const lmt_isa l = lmt_isa_active();
    if (l >= LMT_ISA_AVX512) return group_bf16_avx512;
    if (l >= LMT_ISA_AVX2) return group_bf16_avx2;
#elif defined(__aarch64__)
    if (lmt_isa_active() >= LMT_ISA_NEON) return group_bf16_neon;
#endif
    return group_bf16_generic;
}

void lmt_gemv_bf16(int N, int K, float alpha, const float *a, const uint16_t *P, float beta, float *c) {
    const long groups = (N + LMT_BF16_COLS - 1) / LMT_BF16_COLS;
    const group_fn group_bf16 = pick_group_bf16();
#pragma omp parallel for schedule(static) if ((long)N * K > 32768)
    for (long g = 0; g < groups; g++) {
        float d[LMT_BF16_COLS];
        group_bf16(K, a, P + (size_t)g * K * LMT_BF16_COLS, d);
        const long n0 = g * LMT_BF16_COLS, n = N - n0 < LMT_BF16_COLS ? N - n0 : LMT_BF16_COLS;
        for (long i = 0; i < n; i++) c[n0 + i] = alpha * d[i] + (beta == 0.0f ? 0.0f : beta * c[n0 + i]);
    }
}

/* Which kernel a product of M rows goes to, at the current settings. */
typedef enum { ROUTE_OWN_F32, ROUTE_OWN_BF16, ROUTE_OPENBLAS } route;
static route product_route(int M) {
    /* one row times a matrix (decoding with a cache) streams B once: it stays
     * fp32 under bf16, where rounding would cost a pass over B as well;
     * lmt_gemm_f32 takes such products without packing */
    if (precision == LMT_MATMUL_BF16) return M == 1 ? ROUTE_OWN_F32 : ROUTE_OWN_BF16;
    return chosen_backend() == LMT_MATMUL_OWN ? ROUTE_OWN_F32 : ROUTE_OPENBLAS;
}

void lmt_sgemm(bool trans_a, bool trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
    switch (product_route(M)) {
    case ROUTE_OWN_F32: lmt_gemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case ROUTE_OWN_BF16: lmt_gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case ROUTE_OPENBLAS:
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}

struct lmt_gemm_packed *lmt_matmul_pack_b(bool trans_b, int N, int K, const float *B, int ldb) {
    const route r = product_route(2);   /* the route of products with more than one row */
    return r == ROUTE_OPENBLAS ? NULL : lmt_gemm_pack_b(r == ROUTE_OWN_BF16, trans_b, N, K, B, ldb);
}

void lmt_matmul_packed_free(struct lmt_gemm_packed *p) { lmt_gemm_packed_free(p); }

void lmt_sgemm_packed(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc, const struct lmt_gemm_packed *packed) {
    /* the copy serves the kernel it was packed for; any other route takes B itself */
    const route r = product_route(M);
    if (!packed || r != (lmt_gemm_packed_bf16(packed) ? ROUTE_OWN_BF16 : ROUTE_OWN_F32)) {
        lmt_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    lmt_gemm_packed_product(trans_a, M, alpha, A, lda, packed, beta, C, ldc);
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
    if (product_route(2) != ROUTE_OPENBLAS) return 1;
    return openblas_get_num_threads();
}
