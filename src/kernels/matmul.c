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

/* One row times a matrix (decoding with a cache): streaming B once, with no
 * packing, is all that matters; fp32 whatever the precision setting, since
 * rounding to bf16 would cost a pass over B as well. c (N) = alpha a op(B) + beta c. */
static void gemv_row(bool trans_b, int N, int K, float alpha, const float *a, const float *B, int ldb, float beta,
                     float *c) {
    if (trans_b) {   // B (N, K): c[n] = a . B[n]
#pragma omp parallel for schedule(static) if ((long)N * K > 32768)
        for (long n = 0; n < N; n++) {
            const float *b = B + n * ldb;
            float s = 0.0f;
#pragma omp simd reduction(+:s)
            for (int k = 0; k < K; k++) s += a[k] * b[k];
            c[n] = alpha * s + (beta == 0.0f ? 0.0f : beta * c[n]);
        }
        return;
    }
    /* B (K, N): threads own column slices and walk every row */
#pragma omp parallel if ((long)N * K > 32768)
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num();
        long per = ((N + nth - 1) / nth + 15) & ~15L, n0 = tid * per, n1 = n0 + per < N ? n0 + per : N;
        if (n0 < n1) {
            for (long n = n0; n < n1; n++) c[n] = beta == 0.0f ? 0.0f : beta * c[n];
            for (int k = 0; k < K; k++) {
                const float *b = B + (size_t)k * ldb;
                float ak = alpha * a[k];
#pragma omp simd
                for (long n = n0; n < n1; n++) c[n] += ak * b[n];
            }
        }
    }
}

void lmt_sgemm(bool trans_a, bool trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
    if (M == 1 && !trans_a && K > 0 && (precision == LMT_MATMUL_BF16 || chosen_backend() == LMT_MATMUL_OWN))
        gemv_row(trans_b, N, K, alpha, A, B, ldb, beta, C);
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
