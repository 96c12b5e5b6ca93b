/* Internal to lmtune's GEMM (kernels/gemm*.c): what one instruction-set
 * implementation provides (packers + microkernel), the job the driver hands
 * it, and helpers every implementation shares. Not a public header. */
#ifndef LMT_KERNELS_GEMM_IMPL_H
#define LMT_KERNELS_GEMM_IMPL_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "kernels/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define LMT_GEMM_X86 1
#else
#define LMT_GEMM_X86 0
#endif

#define MR 8
#define NR 48
#define KC_F32 512   /* k per K block, fp32: A micro-panel 16 KiB, B block <= 960 KiB (L2); 1-3% faster than 256 here */
#define KC_BF16 512  /* k per K block, bf16 (256 pairs): same bytes as fp32 */
#define MB_MAX 1024  /* rows per packed A block (rounded up to a multiple of mr) */
#define NB_COLS 480  /* max columns per packed B block (multiple of every nr) */

/* ---- the bf16 rounding (same as lmt_f32_to_bf16: RNE, NaN stays quiet NaN) ---- */

static inline uint32_t round_bf16_bits(float f) {   /* bf16 in the high 16 bits */
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u | 0x00400000u) & 0xffff0000u;
    u += 0x7fffu + ((u >> 16) & 1u);
    return u & 0xffff0000u;
}
static inline float round_bf16(float f) {
    uint32_t u = round_bf16_bits(f);
    float r;
    memcpy(&r, &u, 4);
    return r;
}

/* op(A)[i,k] and op(B)[k,j] of the stored row-major matrices. */
static inline float at_a(bool t, const float *A, long lda, long i, long k) { return t ? A[k * lda + i] : A[i * lda + k]; }
static inline float at_b(bool t, const float *B, long ldb, long k, long j) { return t ? B[j * ldb + k] : B[k * ldb + j]; }

/* ---- one implementation = packers + microkernel ---- */

/* Packs rows [i0, i0+m) (m <= MR) x k [k0, k0+kc) of op(A) as one panel. */
typedef void (*pack_a_fn)(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst);
/* Packs k [k0, k0+kc) x columns [j0, j0+n) of op(B) as ceil(n/nr) panels,
 * one after the other (whole blocks at once: rows of B are read in full). */
typedef void (*pack_b_fn)(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst);
/* C[m,n] = alpha * Apanel Bpanel + beta * C (beta 0: C not read); ku units. */
typedef void (*kern_fn)(long ku, const void *A, const void *B, float *C, long ldc, float alpha, float beta, int m, int n);

/* What the packers write (conv): fp32 values, bf16 values, or (AMX fp32)
 * the three bf16 planes of each value's split. */
enum { CONV_F32 = 0, CONV_BF16 = 1, CONV_SPLIT3 = 2 };

typedef struct gemm_impl {
    pack_a_fn pack_a;         /* one panel; used when pack_a_block is NULL */
    pack_a_fn pack_a_block;   /* all panels of rows [i0, i0+m) at once (m any) */
    pack_b_fn pack_b;
    kern_fn kern;
    int kc;       /* k per K block */
    int kgrp;     /* k per packed unit: 1 (fp32) or 2 (bf16 pairs) */
    int mr, nr;   /* microkernel tile */
    int kalign;   /* packed units per panel rounded up to this (zero padded) */
    int planes;   /* packed copies of each panel: 1, or 3 (hi, mid, lo bf16 parts) */
    int nb_cols;  /* max columns per packed B block (a multiple of nr) */
    void (*begin)(void), (*end)(void);   /* per-thread setup (AMX tile config) */
    const char *name;   /* lmt_gemm_isa's answer */
} gemm_impl;

/* ---- portable C ---- */

/* The product one thread (or the whole call) runs: see gemm.c. */
typedef struct gemm_job {
    const gemm_impl *im;
    bool ta, tb;
    int conv;   /* CONV_* for the packers */
    long M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    const lmt_gemm_packed *pb;   /* B packed beforehand (NULL: pack it here) */
    long col0;                   /* this job's first column of the packed B */
} gemm_job;

/* Few-row products (M <= LMT_GEMM_SMALL_M) without packing: columns
 * [jlo, jhi) of C from the M rows of op(A) copied contiguously (arows, M x K,
 * rounded to bf16 if `round`) and B read in place. */
#define LMT_GEMM_SMALL_M 4
typedef void (*gemm_small_fn)(const gemm_job *j, const float *arows, long jlo, long jhi, bool round);

/* The implementations (NULL-free where compiled; see gemm.c's dispatch). */
extern const gemm_impl lmt_gemm_impl_generic;
#if LMT_GEMM_X86
extern const gemm_impl lmt_gemm_impl_avx2;
void lmt_gemm_small_avx2(const gemm_job *j, const float *arows, long jlo, long jhi, bool round);
extern const gemm_impl lmt_gemm_impl_avx512f, lmt_gemm_impl_avx512bf16, lmt_gemm_impl_amx, lmt_gemm_impl_amx_x6;
void lmt_gemm_small_avx512(const gemm_job *j, const float *arows, long jlo, long jhi, bool round);
#endif
#if defined(__aarch64__)
extern const gemm_impl lmt_gemm_impl_neon, lmt_gemm_impl_neon_bf16;   /* gemm_neon.c */
void lmt_gemm_small_neon(const gemm_job *j, const float *arows, long jlo, long jhi, bool round);
#endif
#endif
