/* OpenBLAS behind lmtune's single matmul entry point. */
#include <cblas.h>
#include <stdio.h>
#include "kernels/matmul.h"

void lmt_sgemm(bool trans_a, bool trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *lmt_matmul_backend(void) {
    static char name[160];
    snprintf(name, sizeof name, "OpenBLAS (%s, core %s)", openblas_get_config(), openblas_get_corename());
    return name;
}

void lmt_matmul_set_threads(int n) {
    if (n > 0) openblas_set_num_threads(n);
}

int lmt_matmul_threads(void) { return openblas_get_num_threads(); }
