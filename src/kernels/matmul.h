/* The one matrix-product interface of lmtune; the backend (OpenBLAS now)
 * can change behind it. Row-major: C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C.
 * lda/ldb/ldc are row strides of the stored (untransposed) matrices. */
#ifndef LMT_KERNELS_MATMUL_H
#define LMT_KERNELS_MATMUL_H
#include <stdbool.h>
void lmt_sgemm(bool trans_a, bool trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);
/* Name of the backend, for logs and benchmarks ("openblas 0.3.21 (SkylakeX)"). */
const char *lmt_matmul_backend(void);
/* Sets the number of threads the backend uses (0 = all cores). */
void lmt_matmul_set_threads(int n);
/* Threads the backend uses for one product. Kernels that would call
 * lmt_sgemm from several threads at once check it: concurrent calls into a
 * multi-threaded OpenBLAS contend badly (20-40x slower attention). */
int lmt_matmul_threads(void);
#endif
