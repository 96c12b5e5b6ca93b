/* lmtune's own matrix products (no BLAS): cache-blocked, packed panels,
 * AVX-512 / AVX2 register-blocked microkernels, OpenMP over column blocks.
 *
 * Both functions have exactly the semantics of lmt_sgemm (kernels/matmul.h):
 * row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, lda/ldb/ldc
 * the row strides of the stored (untransposed) matrices; beta == 0 never
 * reads C (it may hold NaN). Any M, N, K >= 0.
 *
 * Threads: all of omp_get_max_threads() (fewer for small products); run
 * single-threaded in the caller's thread when called inside an active
 * parallel region. Results are bit-identical run to run and do not depend on
 * the number of threads (each C element is summed in the same order whatever
 * thread computes it). */
#ifndef LMT_KERNELS_GEMM_H
#define LMT_KERNELS_GEMM_H
#include <stdbool.h>

/* fp32 inputs, fp32-accurate products, fp32 accumulation. Where the CPU
 * has AMX-BF16 each value is split exactly into three bf16 parts
 * (x = hi + mid + lo) and the six partial products down to 2^-16 run on the
 * AMX tiles ("amx-bf16x6": 1.3-1.6x the FMA kernel's rate on this machine);
 * measured against float64 it is 2-3x closer than the FMA kernel
 * (tests/test_gemm.c). Values below 2^-110 in magnitude lose their low
 * parts (bf16 subnormals read as 0) and products of finite values within
 * 0.4% of FLT_MAX may overflow. LMT_FP32_GEMM=fma in the environment, or a
 * CPU without AMX, selects the AVX-512 FMA microkernel (AVX2 + FMA on CPUs
 * without AVX-512). */
void lmt_gemm_f32(bool trans_a, bool trans_b, int M, int N, int K,
                  float alpha, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc);

/* bf16 mixed precision: A and B are fp32 in memory and rounded to bf16
 * (round-to-nearest-even, as lmt_f32_to_bf16) while being packed; the
 * products are exact and accumulate in fp32: AMX tiles (tdpbf16ps) where the
 * CPU and OS allow them, else vdpbf16ps (AVX512_BF16), else BFDOT (ARM64
 * with the BF16 extension), else fp32 FMA on the rounded values; equal up to
 * summation order. C is fp32. AMX, vdpbf16ps and BFDOT treat bf16
 * subnormals (|x| < 1.2e-38) as zero; BFDOT rounds its sums to odd, not to
 * nearest (an error of the same size). */
void lmt_gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K,
                   float alpha, const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc);

/* op(B) (K x N) packed once for many products with it (weights during
 * decoding): the product then skips packing B, which for a beam search's
 * rows costs as much as the multiplication. lmt_gemm_packed_product gives
 * bit for bit what lmt_gemm_f32 (bf16 false) or lmt_gemm_bf16 (bf16 true)
 * give with the original B, which must stay alive and unchanged (few-row
 * products read it directly). NULL when out of memory or N, K < 1. The
 * instruction set is fixed when packing. */
typedef struct lmt_gemm_packed lmt_gemm_packed;
lmt_gemm_packed *lmt_gemm_pack_b(bool bf16, bool trans_b, int N, int K, const float *B, int ldb);
void lmt_gemm_packed_free(lmt_gemm_packed *p);
void lmt_gemm_packed_product(bool trans_a, int M, float alpha, const float *A, int lda, const lmt_gemm_packed *p,
                             float beta, float *C, int ldc);
bool lmt_gemm_packed_bf16(const lmt_gemm_packed *p);

/* The implementation the functions use at the active level (core/cpu.h),
 * for logs and benchmarks: "amx-bf16x6" (fp32 only), "amx-bf16" (bf16
 * only), "avx512bf16" (bf16 only), "avx512f", "avx2", "neon-bf16" (bf16 only:
 * ARM64 BFDOT), "neon" or "generic". */
const char *lmt_gemm_isa(bool bf16);

/* True when lmt_gemm_bf16 runs on bf16 arithmetic at the active level (AMX,
 * vdpbf16ps, BFDOT); false where it rounds its inputs and multiplies on the
 * fp32 FMA kernel (AVX2, AVX-512F, NEON without BF16, portable C), which
 * makes it no faster than lmt_gemm_f32. */
bool lmt_gemm_bf16_arithmetic(void);

/* Frees the packing buffers cached by the calling thread and (outside a
 * parallel region) by the OpenMP worker threads. Optional; for leak checkers. */
void lmt_gemm_cleanup(void);

/* Tests and benchmarks only: true keeps products off the bf16 units (AMX,
 * vdpbf16ps; BFDOT on ARM64) at the AVX-512 and NEON levels, so the FMA path can be checked
 * on a CPU that has them. The level itself is capped with lmt_isa_force
 * (core/cpu.h) or LMT_ISA. */
void lmt_gemm_force_fp32_units(bool on);
#endif
