/* The one matrix-product interface of lmtune. Row-major:
 * C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, lda/ldb/ldc the row
 * strides of the stored (untransposed) matrices.
 *
 * Backends, chosen by measurement (docs/PERFORMANCE.md): lmtune's own
 * AVX-512 kernels (kernels/gemm.h, the default: OpenMP threads shared with
 * every other kernel, and immune to OPENBLAS_CORETYPE) or OpenBLAS
 * (LMT_MATMUL=openblas in the environment). In bf16 mixed precision
 * (TrainingArguments bf16) every product rounds its inputs to bf16 and
 * accumulates in fp32. */
#ifndef LMT_KERNELS_MATMUL_H
#define LMT_KERNELS_MATMUL_H
#include <stdbool.h>

void lmt_sgemm(bool trans_a, bool trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);

/* One row times a bf16 matrix (decoding with bf16 weight copies: half the
 * bytes streamed per token). The copy is made once, in the layout the
 * product reads front to back: groups of LMT_BF16_COLS columns of op(B)
 * (K, N), each K rows of LMT_BF16_COLS values (the last group zero-padded).
 * lmt_bf16_cols_pack: op(B) = B (K, N) or B^T for B stored (N, K) (trans_b),
 * row stride ldb, rounded to bf16 (RNE); NULL when out of memory (caller
 * frees). lmt_gemv_bf16: c (N) = alpha a (K) op(B) + beta c, fp32
 * arithmetic; beta 0 never reads c. */
#include <stdint.h>
#define LMT_BF16_COLS 128
uint16_t *lmt_bf16_cols_pack(bool trans_b, const float *B, int ldb, int N, int K);
void lmt_gemv_bf16(int N, int K, float alpha, const float *a, const uint16_t *P, float beta, float *c);

/* A matrix B used for many products (weights while decoding with many
 * rows) packed once, at the precision set now, by lmtune's own kernels;
 * NULL with the OpenBLAS backend or without memory. lmt_sgemm_packed takes
 * lmt_sgemm's arguments plus the packed copy of that same B (or NULL) and
 * gives lmt_sgemm's result bit for bit, skipping the packing of B where it
 * can (not when the precision changed since packing, nor for one row under
 * bf16). B must stay alive and unchanged while the copy is used. */
struct lmt_gemm_packed;
struct lmt_gemm_packed *lmt_matmul_pack_b(bool trans_b, int N, int K, const float *B, int ldb);
void lmt_matmul_packed_free(struct lmt_gemm_packed *p);
void lmt_sgemm_packed(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc, const struct lmt_gemm_packed *packed);

typedef enum lmt_matmul_precision { LMT_MATMUL_FP32 = 0, LMT_MATMUL_BF16 = 1 } lmt_matmul_precision;
/* Process-wide, like torch.autocast: set by the trainer for --bf16. */
void lmt_matmul_set_precision(lmt_matmul_precision p);
lmt_matmul_precision lmt_matmul_get_precision(void);

typedef enum lmt_matmul_backend_id { LMT_MATMUL_OWN = 0, LMT_MATMUL_OPENBLAS = 1 } lmt_matmul_backend_id;
void lmt_matmul_set_backend(lmt_matmul_backend_id b);
/* Name of the backend, for logs and benchmarks. */
const char *lmt_matmul_backend(void);
/* Sets the number of threads OpenBLAS uses (0 = all cores). */
void lmt_matmul_set_threads(int n);
/* Threads the backend uses for one product. Kernels that would call
 * lmt_sgemm from several threads at once check it: concurrent calls into a
 * multi-threaded OpenBLAS contend badly (20-40x slower attention). */
int lmt_matmul_threads(void);
#endif
