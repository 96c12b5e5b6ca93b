/* lmtune's own GEMM: fp32 (AMX-BF16 tiles on an exact three-part bf16
 * split of each value, or AVX-512 FMA) and bf16 mixed precision (AMX-BF16
 * tiles, or AVX512_BF16 vdpbf16ps), BLIS-style blocking.
 *
 * Layout (row-major C[M,N] += op(A)[M,K] op(B)[K,N]); the vector dimension is
 * N (C rows are contiguous). The AVX-512 microkernels load NR = 48 columns of
 * B (3 zmm) and broadcast MR = 8 values of A: 24 zmm accumulators. The AMX
 * microkernel keeps a 32x32 block of C in four 16x16 tiles.
 *
 *   for each block of MB rows of A
 *     for each block of KC along K               (fixes the summation order)
 *       pack the A block (MB x KC)               (L2/L3)
 *       for each block of at most NB_COLS columns of B
 *         pack the B block (KC x NB)             (L2)
 *         for each MR-row panel of A             (A micro-panel: L1)
 *           for each NR-column panel of B        (streamed from L2)
 *             microkernel: C[MR,NR] (+)= A panel * B panel
 *
 * Packed panels hold 32-bit units: an fp32 value per k (fp32), or a pair of
 * bf16 values (k even in the low half, k+1 in the high half) per k pair, the
 * layout vdpbf16ps and tdpbf16ps multiply; fp32 on AMX packs three such
 * planes per panel (hi, mid, lo parts). Edge panels are zero-padded, so
 * every tile runs the same code and every C element is summed in the same
 * order (K blocks in turn, k in turn within a block) whatever thread or tile
 * position computes it.
 *
 * Threads: the larger of M and N is cut into equal shares of whole tiles and
 * each thread runs the loops above on its share, packing its own panels. No
 * barriers: on this shared 2-core machine a thread that waits for a
 * preempted partner wastes its time slice. The tile grid does not depend on
 * the thread count, so results are bit-identical for any number of threads.
 *
 * The SIMD code is compiled with function-level target attributes and chosen
 * at run time, so the library builds and runs on any x86-64 (and elsewhere:
 * the portable C path) with or without -march=native. */
#include "kernels/gemm.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>

#define MR 8
#define NR 48
#define KC_F32 512   /* k per K block, fp32: A micro-panel 16 KiB, B block <= 960 KiB (L2); 1-3% faster than 256 here */
#define KC_BF16 512  /* k per K block, bf16 (256 pairs): same bytes as fp32 */
#define MB_MAX 1024  /* rows per packed A block (a multiple of every mr) */
#define NB_COLS 480  /* max columns per packed B block (multiple of every nr) */

#if defined(__x86_64__) && defined(__GNUC__)
#define LMT_GEMM_X86 1
#include <immintrin.h>
#include <cpuid.h>
#include <unistd.h>
#include <sys/syscall.h>
#define TGT_F32 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16")))
#else
#define LMT_GEMM_X86 0
#endif

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
} gemm_impl;

/* ---- portable C ---- */

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

static const gemm_impl impl_generic = {pack_a_generic, NULL, pack_b_generic, kern_generic, KC_F32, 1, MR, NR, 1, 1, NB_COLS, NULL, NULL};

#if LMT_GEMM_X86
/* ---- AVX-512F: fp32 panels (optionally rounded to bf16 values) ---- */

/* u32 lanes -> bf16 bits in the high half of each lane (RNE, quiet NaN). */
TGT_F32 static inline __m512i round_bf16_epi32(__m512i u) {
    const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(abs, _mm512_set1_epi32(0x7f800000));
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
    return _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u));
}
TGT_F32 static inline __m512 maybe_round_ps(__m512 x, bool round) {
    return round ? _mm512_castsi512_ps(round_bf16_epi32(_mm512_castps_si512(x))) : x;
}
TGT_F32 static inline __m512i row_index(long stride) {   /* 0, s, 2s, ..., 15s */
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32((int)stride));
}
/* Gathers need 32-bit element offsets: strides up to 2^31 / 64 elements. */
static inline bool gather_ok(long stride) { return stride <= (1L << 24); }

TGT_F32 static inline __mmask16 col_mask(int n, int v) {   /* valid lanes of column vector v */
    int left = n - 16 * v;
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

/* In-register transpose of a 16x16 matrix of dwords (r[i] = row i). */
TGT_F32 static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            t[8 * i + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
            t[8 * i + 4 + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
    }
}

/* All MR-row panels of rows [i0, i0+m) at once. Op(A) rows contiguous:
 * each row k of A^T is read once, left to right. Else 16 rows x 16 k are
 * loaded along the rows and transposed in registers (no strided gathers:
 * A rows can be 200 KB apart, as dlogits are). */
TGT_F32 static void pack_a_block_f32(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    const int mpan = (m + MR - 1) / MR;
    if (t) {
        for (int k = 0; k < kc; k++) {
            const float *s = A + (k0 + k) * lda + i0;
            for (int p = 0; p < mpan; p++) {
                const int left = m - p * MR;
                const __mmask16 mk = (__mmask16)(left >= MR ? (1u << MR) - 1 : (1u << left) - 1);
                _mm512_mask_storeu_ps(d + (long)p * MR * kc + k * MR, 0xff,
                                      maybe_round_ps(_mm512_maskz_loadu_ps(mk, s + p * MR), round));
            }
        }
        return;
    }
    for (int g = 0; 2 * g < mpan; g++) {   /* rows 16g .. 16g+15: panels 2g and 2g+1 */
        for (int kb = 0; kb < kc; kb += 16) {
            const __mmask16 mk = col_mask(kc - kb, 0);
            __m512i v[16];
            for (int r = 0; r < 16; r++)
                v[r] = 16 * g + r < m ? _mm512_castps_si512(_mm512_maskz_loadu_ps(mk, A + (i0 + 16 * g + r) * lda + k0 + kb))
                                      : _mm512_setzero_si512();
            transpose16(v);   /* v[k'] = the 16 rows at k kb + k' */
            for (int kk = 0; kk < 16 && kb + kk < kc; kk++) {
                __m512 x = maybe_round_ps(_mm512_castsi512_ps(v[kk]), round);
                _mm512_mask_storeu_ps(d + (long)(2 * g) * MR * kc + (kb + kk) * MR, 0xff, x);
                if (2 * g + 1 < mpan)
                    _mm512_mask_storeu_ps(d + (long)(2 * g + 1) * MR * kc + (kb + kk) * MR - 8, 0xff00, x);
            }
        }
    }
}

TGT_F32 static void pack_b_f32(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    const int npan = (n + NR - 1) / NR;
    if (!t) {   /* op(B) rows are contiguous: each row once, across all panels */
        for (int k = 0; k < kc; k++) {
            const float *s = B + (k0 + k) * ldb + j0;
            for (int q = 0; q < npan; q++) {
                float *o = d + (long)q * NR * kc + k * NR;
                for (int v = 0; v < NR / 16; v++)
                    _mm512_storeu_ps(o + 16 * v, maybe_round_ps(_mm512_maskz_loadu_ps(col_mask(n - q * NR, v), s + q * NR + 16 * v), round));
            }
        }
    } else if (gather_ok(ldb)) {   /* B stored [N,K]: row k of op(B) is a strided gather */
        const __m512i idx = row_index(ldb);
        const __m512 z = _mm512_setzero_ps();
        for (int q = 0; q < npan; q++)
            for (int v = 0; v < NR / 16; v++) {
                const __mmask16 mv = col_mask(n - q * NR, v);
                float *o = d + (long)q * NR * kc + 16 * v;
                if (!mv) {
                    for (int k = 0; k < kc; k++) _mm512_storeu_ps(o + k * NR, z);
                    continue;
                }
                const float *s = B + (j0 + q * NR + 16 * v) * ldb + k0;
                for (int k = 0; k < kc; k++)
                    _mm512_storeu_ps(o + k * NR, maybe_round_ps(_mm512_mask_i32gather_ps(z, mv, idx, s + k, 4), round));
            }
    } else {
        pack_b_generic(t, B, ldb, k0, kc, j0, n, conv, dst);
    }
}

/* Writes one row of the tile: C = alpha * acc + beta * C (beta 0: no read). */
#define STORE_ROW(r)                                                                            \
    if ((r) < m) {                                                                              \
        float *p = C + (r) * ldc;                                                               \
        if (beta == 0.0f) {                                                                     \
            _mm512_mask_storeu_ps(p, m0, _mm512_mul_ps(va, c##r##0));                           \
            _mm512_mask_storeu_ps(p + 16, m1, _mm512_mul_ps(va, c##r##1));                      \
            _mm512_mask_storeu_ps(p + 32, m2, _mm512_mul_ps(va, c##r##2));                      \
        } else {                                                                                \
            _mm512_mask_storeu_ps(p, m0, _mm512_fmadd_ps(va, c##r##0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, p)))); \
            _mm512_mask_storeu_ps(p + 16, m1, _mm512_fmadd_ps(va, c##r##1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, p + 16)))); \
            _mm512_mask_storeu_ps(p + 32, m2, _mm512_fmadd_ps(va, c##r##2, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m2, p + 32)))); \
        }                                                                                       \
    }
#define DECL_ROW(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = c##r##0, c##r##2 = c##r##0;
#define STORE_TILE                                                                              \
    const __mmask16 m0 = col_mask(n, 0), m1 = col_mask(n, 1), m2 = col_mask(n, 2);              \
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                         \
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5) STORE_ROW(6) STORE_ROW(7)

#define FMA_ROW(r)                                                                              \
    {                                                                                           \
        const __m512 a = _mm512_set1_ps(A[r]);                                                  \
        c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);                                              \
        c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);                                              \
        c##r##2 = _mm512_fmadd_ps(a, b2, c##r##2);                                              \
    }

TGT_F32 static void kern_f32(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const float *A = Ap, *B = Bp;
    for (int r = 0; r < m; r++) {   /* the C tile arrives while the products run (prefetches never fault) */
        _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + 32), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + 47), _MM_HINT_T0);
    }
    DECL_ROW(0) DECL_ROW(1) DECL_ROW(2) DECL_ROW(3) DECL_ROW(4) DECL_ROW(5) DECL_ROW(6) DECL_ROW(7)
    for (long k = 0; k < ku; k++, A += MR, B += NR) {
        const __m512 b0 = _mm512_loadu_ps(B), b1 = _mm512_loadu_ps(B + 16), b2 = _mm512_loadu_ps(B + 32);
        FMA_ROW(0) FMA_ROW(1) FMA_ROW(2) FMA_ROW(3) FMA_ROW(4) FMA_ROW(5) FMA_ROW(6) FMA_ROW(7)
    }
    STORE_TILE
}

static const gemm_impl impl_f32 = {NULL, pack_a_block_f32, pack_b_f32, kern_f32, KC_F32, 1, MR, NR, 1, 1, NB_COLS, NULL, NULL};

/* ---- AVX512_BF16: packed bf16 pairs, vdpbf16ps ---- */

/* vcvtne2ps2bf16 / vcvtneps2bf16 round to nearest even like
 * lmt_f32_to_bf16 (NaN stays NaN); they flush subnormals to zero, which the
 * bf16 dot products do to their inputs anyway. */

/* Two fp32 vectors (k and k+1, same lanes) -> lanes of bf16 pairs. */
TGT_BF16 static inline __m512i pair_bf16(__m512 xk, __m512 xk1) {
    const __m512i w = (__m512i)_mm512_cvtne2ps_pbh(xk1, xk);   /* words 0-15: xk, 16-31: xk1 */
    const __m512i zip = _mm512_setr_epi32(0 | 16 << 16, 1 | 17 << 16, 2 | 18 << 16, 3 | 19 << 16, 4 | 20 << 16,
                                          5 | 21 << 16, 6 | 22 << 16, 7 | 23 << 16, 8 | 24 << 16, 9 | 25 << 16,
                                          10 | 26 << 16, 11 | 27 << 16, 12 | 28 << 16, 13 | 29 << 16,
                                          14 | 30 << 16, 15 | 31 << 16);
    return _mm512_permutexvar_epi16(zip, w);
}
/* 8 qwords, each an (x_k, x_k+1) fp32 pair -> 8 dwords of bf16 pairs. */
TGT_BF16 static inline __m256i pairs_from_qwords(__m512i q) {
    return (__m256i)_mm512_cvtneps_pbh(_mm512_castsi512_ps(q));
}
/* 32 consecutive fp32 (16 pairs) -> 16 dwords of bf16 pairs. */
TGT_BF16 static inline __m512i pairs_from_run(__m512 x0, __m512 x1) {
    return (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
}
/* Gathers the pairs (x[off_i + k], x[off_i + k + 1]) of 8 rows (mask) of
 * stride `stride`; only x[.. + k] when k+1 is past the end of K. */
TGT_BF16 static inline __m256i gather_pairs8(const float *s, __m256i idx, __mmask8 msk, bool two) {
    __m512i q;
    if (two) {
        q = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), msk, idx, s, 4);
    } else {   /* one value per row: zero-extended into the qword */
        __m256i v = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), msk, idx, s, 4);
        q = _mm512_cvtepu32_epi64(v);
    }
    return pairs_from_qwords(q);
}

TGT_BF16 static void pack_a_bf16(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    uint32_t *d = dst;
    const __mmask16 mk = (__mmask16)((1u << m) - 1);
    const int ku = (kc + 1) / 2;
    if (t) {   /* rows k and k+1 of op(A)^T: MR contiguous values each */
        const float *s = A + k0 * lda + i0;
        for (int p = 0; p < ku; p++, s += 2 * lda) {
            __m512 xk = _mm512_maskz_loadu_ps(mk, s);
            __m512 xk1 = 2 * p + 1 < kc ? _mm512_maskz_loadu_ps(mk, s + lda) : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(d + p * MR, 0xff, pair_bf16(xk, xk1));
        }
    } else if (gather_ok(lda)) {   /* the pair of row i is one contiguous qword */
        const __m256i idx = _mm512_castsi512_si256(row_index(lda));
        const float *s = A + i0 * lda + k0;
        for (int p = 0; p < ku; p++)
            _mm256_storeu_si256((__m256i *)(d + p * MR), gather_pairs8(s + 2 * p, idx, (__mmask8)mk, 2 * p + 1 < kc));
    } else {
        for (int p = 0; p < ku; p++)
            for (int r = 0; r < MR; r++) {
                uint32_t lo = r < m ? round_bf16_bits(at_a(t, A, lda, i0 + r, k0 + 2 * p)) >> 16 : 0;
                uint32_t hi = r < m && 2 * p + 1 < kc ? round_bf16_bits(at_a(t, A, lda, i0 + r, k0 + 2 * p + 1)) : 0;
                d[p * MR + r] = lo | hi;
            }
    }
}

/* The bf16 split of fp32 values (AMX fp32 products): x = hi + mid + lo
 * exactly, each part a bf16 value (RNE), for every finite x whose parts are
 * not subnormal. bf16_rest(x) = x - bf16(x) (exact in fp32); Inf and NaN
 * keep all of themselves in hi (rest 0), as a plain fp32 product would. */
TGT_BF16 static inline __m512 bf16_rest(__m512 x) {
    const __m512i h = _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x)), 16);
    const __mmask16 finite = (__mmask16)~_mm512_fpclass_ps_mask(x, 0x99);   /* not QNaN, +-Inf, SNaN */
    return _mm512_maskz_sub_ps(finite, x, _mm512_castsi512_ps(h));
}
/* Packs k [k0, k0+kc) x columns [j0, j0+n) of op(B) as bf16 pairs: panels
 * of kup rows of nr dwords; pair rows from (kc+1)/2 up to kup are zero.
 * With planes 3, each panel is three such blocks: the hi, mid, lo parts. */
TGT_BF16 static inline __attribute__((always_inline)) void pack_b_pairs(bool t, const float *B, long ldb, long k0, int kc,
                                                                       long j0, int n, uint32_t *d, const int nr,
                                                                       const int kup, const int planes) {
    const int ku = (kc + 1) / 2, npan = (n + nr - 1) / nr;
    const long pstride = (long)nr * kup, qstride = pstride * planes;
    if (!t) {   /* rows k and k+1 of op(B): contiguous, read once across all panels */
        const __m512 z = _mm512_setzero_ps();
        for (int p = 0; p < ku; p++) {
            const bool two = 2 * p + 1 < kc;
            const float *s = B + (k0 + 2 * p) * ldb + j0;
            for (int q = 0; q < npan; q++) {
                uint32_t *o = d + q * qstride + (long)p * nr;
                for (int v = 0; v < nr / 16; v++) {
                    const __mmask16 mv = col_mask(n - q * nr, v);
                    const float *sv = s + q * nr + 16 * v;
                    __m512 xk = _mm512_maskz_loadu_ps(mv, sv), xk1 = two ? _mm512_maskz_loadu_ps(mv, sv + ldb) : z;
                    for (int pl = 0; pl < planes; pl++) {
                        if (pl) xk = bf16_rest(xk), xk1 = bf16_rest(xk1);
                        _mm512_storeu_si512(o + pl * pstride + 16 * v, pair_bf16(xk, xk1));
                    }
                }
            }
        }
    } else {   /* B stored [N,K]: a column's pairs are contiguous; 16x16 transposes */
        for (int q = 0; q < npan; q++)
            for (int g = 0; g < nr / 16; g++) {
                const int c0 = q * nr + 16 * g, nleft = n - c0;
                uint32_t *o = d + q * qstride + 16 * g;
                for (int blk = 0; 16 * blk < ku; blk++) {
                    const int left = kc - 32 * blk;
                    __m512 x0[16], x1[16];
                    for (int c = 0; c < 16; c++) {
                        const float *sc = B + (j0 + c0 + c) * ldb + k0 + 32 * blk;
                        x0[c] = c < nleft ? _mm512_maskz_loadu_ps(col_mask(left, 0), sc) : _mm512_setzero_ps();
                        x1[c] = c < nleft ? _mm512_maskz_loadu_ps(col_mask(left, 1), sc + 16) : _mm512_setzero_ps();
                    }
                    for (int pl = 0; pl < planes; pl++) {
                        __m512i v[16];
                        for (int c = 0; c < 16; c++) {
                            if (pl) x0[c] = bf16_rest(x0[c]), x1[c] = bf16_rest(x1[c]);
                            v[c] = pairs_from_run(x0[c], x1[c]);
                        }
                        transpose16(v);
                        for (int pp = 0; pp < 16 && 16 * blk + pp < ku; pp++)
                            _mm512_storeu_si512(o + pl * pstride + (long)(16 * blk + pp) * nr, v[pp]);
                    }
                }
            }
    }
    for (int q = 0; q < npan; q++)
        for (int pl = 0; pl < planes; pl++)
            if (kup > ku) memset(d + q * qstride + pl * pstride + (long)ku * nr, 0, (size_t)(kup - ku) * nr * 4);
}

TGT_BF16 static void pack_b_bf16(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    pack_b_pairs(t, B, ldb, k0, kc, j0, n, dst, NR, (kc + 1) / 2, 1);
}

#define DP_ROW(r)                                                                               \
    {                                                                                           \
        const __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[r]);                              \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, a, b0);                                             \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, a, b1);                                             \
        c##r##2 = _mm512_dpbf16_ps(c##r##2, a, b2);                                             \
    }

TGT_BF16 static void kern_bf16(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const uint32_t *A = Ap, *B = Bp;
    DECL_ROW(0) DECL_ROW(1) DECL_ROW(2) DECL_ROW(3) DECL_ROW(4) DECL_ROW(5) DECL_ROW(6) DECL_ROW(7)
    for (long p = 0; p < ku; p++, A += MR, B += NR) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(B), b1 = (__m512bh)_mm512_loadu_si512(B + 16),
                       b2 = (__m512bh)_mm512_loadu_si512(B + 32);
        DP_ROW(0) DP_ROW(1) DP_ROW(2) DP_ROW(3) DP_ROW(4) DP_ROW(5) DP_ROW(6) DP_ROW(7)
    }
    STORE_TILE
}

static const gemm_impl impl_bf16 = {pack_a_bf16, NULL, pack_b_bf16, kern_bf16, KC_BF16, 2, MR, NR, 1, 1, NB_COLS, NULL, NULL};
/* ---- AMX-BF16: 16x16 fp32 tiles, tdpbf16ps (Sapphire Rapids and later) ----
 * The microkernel keeps a 32x32 block of C in tiles 0-3, loads two A tiles
 * (16 rows x 16 pairs) and two B tiles (16 pairs x 16 columns) per 32 k.
 * A panels: per 16 pairs, 32 rows of 16 dwords (two contiguous 1 KiB tiles).
 * B panels: rows of 32 dwords (the two B tiles side by side, stride 128 B). */
#define MR_AMX 32
#define NR_AMX 32
#define KC_AMX 1024   /* k per K block: A micro-panel 64 KiB, B block <= 960 KiB */
#define KC_AMX_X6 1024 /* fp32 split in three planes: a K = 768 product in one block */
#define NB_COLS_X6 160 /* B block 1024 k x 160 columns x 3 planes = 960 KiB (L2); measured best of 96-480 */
#define TGT_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16,amx-tile,amx-bf16")))

/* One panel (32 rows) of op(A) = A: a row's pairs are contiguous, 32 floats -> 16 dwords. */
TGT_BF16 static void pack_a_rows_amx(const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    const int steps = ((kc + 1) / 2 + 15) / 16, planes = conv == CONV_SPLIT3 ? 3 : 1;
    const long pstride = (long)steps * 16 * MR_AMX;
    uint32_t *d = dst;
    for (int r = 0; r < MR_AMX; r++)
        for (int st = 0; st < steps; st++) {
            uint32_t *o = d + st * 16 * MR_AMX + r * 16;
            __m512 v0 = _mm512_setzero_ps(), v1 = v0;
            if (r < m) {
                const float *s = A + (i0 + r) * lda + k0 + 32 * st;
                const int left = kc - 32 * st;
                v0 = _mm512_maskz_loadu_ps(col_mask(left, 0), s);
                v1 = _mm512_maskz_loadu_ps(col_mask(left, 1), s + 16);
            }
            for (int pl = 0; pl < planes; pl++) {
                if (pl) v0 = bf16_rest(v0), v1 = bf16_rest(v1);
                _mm512_storeu_si512(o + pl * pstride, pairs_from_run(v0, v1));
            }
        }
}

/* All panels of rows [i0, i0+m). A^T stored: for each 32 k, rows k of A^T
 * are read across the whole block, 16 rows x 16 pairs transposed at a time. */
TGT_BF16 static void pack_a_block_amx(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    const int mpan = (m + MR_AMX - 1) / MR_AMX, steps = ((kc + 1) / 2 + 15) / 16, planes = conv == CONV_SPLIT3 ? 3 : 1;
    const long pstride = (long)MR_AMX * steps * 16, panel = pstride * planes;
    uint32_t *d = dst;
    if (!t) {
        for (int p = 0; p < mpan; p++) {
            int r = m - p * MR_AMX;
            pack_a_rows_amx(A, lda, i0 + p * MR_AMX, r < MR_AMX ? r : MR_AMX, k0, kc, conv, d + p * panel);
        }
        return;
    }
    for (int st = 0; st < steps; st++)
        for (int g = 0; g < 2 * mpan; g++) {   /* 16-row group g: panel g/2, half g%2 */
            const __mmask16 mk = col_mask(m - 16 * g, 0);
            __m512 xk[16], xk1[16];
            for (int q = 0; q < 16; q++) {
                const int k = 32 * st + 2 * q;
                const float *sk = A + (k0 + k) * lda + i0 + 16 * g;
                xk[q] = k < kc && mk ? _mm512_maskz_loadu_ps(mk, sk) : _mm512_setzero_ps();
                xk1[q] = k + 1 < kc && mk ? _mm512_maskz_loadu_ps(mk, sk + lda) : _mm512_setzero_ps();
            }
            uint32_t *o = d + (g / 2) * panel + st * 16 * MR_AMX + (g % 2) * 256;
            for (int pl = 0; pl < planes; pl++) {
                __m512i v[16];
                for (int q = 0; q < 16; q++) {
                    if (pl) xk[q] = bf16_rest(xk[q]), xk1[q] = bf16_rest(xk1[q]);
                    v[q] = pair_bf16(xk[q], xk1[q]);
                }
                transpose16(v);
                for (int r = 0; r < 16; r++) _mm512_storeu_si512(o + pl * pstride + r * 16, v[r]);
            }
        }
}

TGT_BF16 static void pack_b_amx(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    pack_b_pairs(t, B, ldb, k0, kc, j0, n, dst, NR_AMX, ((kc + 1) / 2 + 15) / 16 * 16, conv == CONV_SPLIT3 ? 3 : 1);
}

/* Tiles 0-3 (+)= the A panel (32 rows) times the B panel (32 columns), kup
 * pairs. Tiles are not renamed: a load into an operand tile waits for the
 * products reading it, so each load is issued as soon as its tile's last
 * reader is, and the next step's operands arrive while this step's last
 * products run (6-12% over loading at the top of the step). */
TGT_AMX static inline __attribute__((always_inline)) void amx_accumulate(long kup, const uint32_t *A, const uint32_t *B) {
    const long steps = kup / 16;
    _tile_loadd(4, A, 64);
    _tile_loadd(5, A + 256, 64);
    _tile_loadd(6, B, NR_AMX * 4);
    _tile_loadd(7, B + 16, NR_AMX * 4);
    for (long s = 0; s < steps; s++, A += 16 * MR_AMX, B += 16 * NR_AMX) {
        if (s + 1 < steps) {
            const uint32_t *An = A + 16 * MR_AMX, *Bn = B + 16 * NR_AMX;
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_loadd(4, An, 64);
            _tile_dpbf16ps(2, 5, 6);
            _tile_loadd(6, Bn, NR_AMX * 4);
            _tile_dpbf16ps(3, 5, 7);
            _tile_loadd(5, An + 256, 64);
            _tile_loadd(7, Bn + 16, NR_AMX * 4);
        } else {
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
}

/* C[m,n] = alpha * tiles 0-3 + beta * C (beta 0: C not read). */
TGT_AMX static inline __attribute__((always_inline)) void amx_store(float *C, long ldc, float alpha, float beta, int m, int n) {
    float t[MR_AMX * NR_AMX] __attribute__((aligned(64)));
    _tile_stored(0, t, NR_AMX * 4);
    _tile_stored(1, t + 16, NR_AMX * 4);
    _tile_stored(2, t + 16 * NR_AMX, NR_AMX * 4);
    _tile_stored(3, t + 16 * NR_AMX + 16, NR_AMX * 4);
    __asm__ volatile("" ::: "memory");   /* GCC 12's tile asm does not declare its memory access */
    const __mmask16 m0 = col_mask(n, 0), m1 = col_mask(n, 1);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < m; r++) {
        float *p = C + r * ldc;
        __m512 c0 = _mm512_load_ps(t + r * NR_AMX), c1 = _mm512_load_ps(t + r * NR_AMX + 16);
        if (beta == 0.0f) {
            _mm512_mask_storeu_ps(p, m0, _mm512_mul_ps(va, c0));
            _mm512_mask_storeu_ps(p + 16, m1, _mm512_mul_ps(va, c1));
        } else {
            _mm512_mask_storeu_ps(p, m0, _mm512_fmadd_ps(va, c0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, p))));
            _mm512_mask_storeu_ps(p + 16, m1, _mm512_fmadd_ps(va, c1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, p + 16))));
        }
    }
}

TGT_AMX static void kern_amx(long kup, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    __asm__ volatile("" ::: "memory");
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    amx_accumulate(kup, Ap, Bp);
    amx_store(C, ldc, alpha, beta, m, n);
}

/* fp32 products on AMX: a*b = (a0 + a1 + a2)(b0 + b1 + b2) with bf16 parts
 * (a1 ~ 2^-8 a0, a2 ~ 2^-16 a0). The six terms down to 2^-16 are exact bf16
 * products summed in fp32; the three left out are below 2^-24 |ab|, the
 * rounding of one fp32 product. Per 32 k the small terms go first, a0 b0
 * last, in an order that loads 14 tiles for 24 products (tests/test_gemm.c
 * measures the result against float64: 2-5x closer than the FMA kernel). */
#define AMX_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#define AMX_LOAD_A0(part, P) _tile_loadd(4, (P) + (part) * pa, 64)         /* rows 0-15 */
#define AMX_LOAD_A1(part, P) _tile_loadd(5, (P) + (part) * pa + 256, 64)   /* rows 16-31 */
#define AMX_LOAD_B0(part, P) _tile_loadd(6, (P) + (part) * pb, NR_AMX * 4)        /* columns 0-15 */
#define AMX_LOAD_B1(part, P) _tile_loadd(7, (P) + (part) * pb + 16, NR_AMX * 4)   /* columns 16-31 */
/* The four products of one term, ordered so that the operand changing next
 * is free early (see amx_accumulate): NEXT_A frees tiles 4 and 5 in turn,
 * NEXT_B tiles 6 and 7. */
#define AMX_TERM_NEXT_A(part, P) { AMX_DP(0, 4, 6); AMX_DP(1, 4, 7); AMX_LOAD_A0(part, P); AMX_DP(2, 5, 6); AMX_DP(3, 5, 7); AMX_LOAD_A1(part, P); }
#define AMX_TERM_NEXT_B(part, P) { AMX_DP(0, 4, 6); AMX_DP(2, 5, 6); AMX_LOAD_B0(part, P); AMX_DP(1, 4, 7); AMX_DP(3, 5, 7); AMX_LOAD_B1(part, P); }
TGT_AMX static void kern_amx_x6(long kup, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const uint32_t *A = Ap, *B = Bp;
    const long pa = kup * MR_AMX, pb = kup * NR_AMX, steps = kup / 16;   /* pa, pb: one part's plane */
    __asm__ volatile("" ::: "memory");
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    AMX_LOAD_A0(2, A);
    AMX_LOAD_A1(2, A);
    AMX_LOAD_B0(0, B);
    AMX_LOAD_B1(0, B);
    for (long s = 0; s < steps; s++, A += 16 * MR_AMX, B += 16 * NR_AMX) {
        AMX_TERM_NEXT_A(1, A)   /* a2 b0 */
        AMX_TERM_NEXT_B(1, B)   /* a1 b0 */
        AMX_TERM_NEXT_A(0, A)   /* a1 b1 */
        AMX_TERM_NEXT_B(2, B)   /* a0 b1 */
        AMX_TERM_NEXT_B(0, B)   /* a0 b2 */
        if (s + 1 < steps) {    /* a0 b0, then the next step's a2 and b0 */
            const uint32_t *An = A + 16 * MR_AMX, *Bn = B + 16 * NR_AMX;
            AMX_DP(0, 4, 6); AMX_DP(1, 4, 7); AMX_LOAD_A0(2, An);
            AMX_DP(2, 5, 6); AMX_LOAD_B0(0, Bn);
            AMX_DP(3, 5, 7); AMX_LOAD_A1(2, An); AMX_LOAD_B1(0, Bn);
        } else {
            AMX_DP(0, 4, 6); AMX_DP(1, 4, 7); AMX_DP(2, 5, 6); AMX_DP(3, 5, 7);
        }
    }
    amx_store(C, ldc, alpha, beta, m, n);
}

/* Every tile 16 rows x 64 bytes. A file-scope object: GCC 12 drops the
 * stores into a local one before ldtilecfg (it does not see the read). */
typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } amx_config;
static const amx_config amx_cfg __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16}};
TGT_AMX static void amx_begin(void) { _tile_loadconfig(&amx_cfg); }
TGT_AMX static void amx_end(void) { _tile_release(); }

static const gemm_impl impl_amx = {NULL, pack_a_block_amx, pack_b_amx, kern_amx, KC_AMX, 2, MR_AMX, NR_AMX, 16, 1, NB_COLS, amx_begin, amx_end};
static const gemm_impl impl_amx_x6 = {NULL, pack_a_block_amx, pack_b_amx, kern_amx_x6, KC_AMX_X6, 2, MR_AMX, NR_AMX, 16, 3, NB_COLS_X6, amx_begin, amx_end};

/* AMX needs the CPU bits, the OS's XTILECFG/XTILEDATA state in XCR0, and
 * (Linux) this process's permission to use the 8 KiB tile data state. */
static bool amx_usable(void) {
#if defined(__linux__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 22) & 1) || !((d >> 24) & 1)) return false;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return false;   /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
#else
    return false;
#endif
}
#endif

/* ---- dispatch ---- */

static int forced_level = 3;
void lmt_gemm_force_isa(int level) { forced_level = level < 0 ? 0 : level > 3 ? 3 : level; }

static int cpu_level(void) {
#if LMT_GEMM_X86
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (level < 0) {
        __builtin_cpu_init();
        int l = 0;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
            l = 1;
            if (__builtin_cpu_supports("avx512bf16")) l = 2;
            if (l == 2 && amx_usable()) l = 3;
        }
        level = l;
        __atomic_store_n(&cached, l, __ATOMIC_RELEASE);   /* racing first calls agree */
    }
    return level < forced_level ? level : forced_level;
#else
    return 0;
#endif
}

/* fp32 products on AMX (three bf16 parts, six products) unless
 * LMT_FP32_GEMM=fma asks for the AVX-512 FMA kernels. */
static bool f32_on_amx(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (v < 0) {
        const char *e = getenv("LMT_FP32_GEMM");
        v = !(e && !strcmp(e, "fma"));
        __atomic_store_n(&cached, v, __ATOMIC_RELEASE);
    }
    return v;
}

static const gemm_impl *pick(bool bf16) {
    int l = cpu_level();
#if LMT_GEMM_X86
    if (!bf16 && l >= 3 && f32_on_amx()) return &impl_amx_x6;
    if (bf16 && l >= 3) return &impl_amx;
    if (bf16 && l >= 2) return &impl_bf16;
    if (l >= 1) return &impl_f32;
#else
    (void)bf16;
    (void)l;
#endif
    return &impl_generic;
}

const char *lmt_gemm_isa(bool bf16) {
    const gemm_impl *im = pick(bf16);
#if LMT_GEMM_X86
    if (im == &impl_amx) return "amx-bf16";
    if (im == &impl_amx_x6) return "amx-bf16x6";
    if (im == &impl_bf16) return "avx512bf16";
    if (im == &impl_f32) return "avx512f";
#endif
    (void)im;
    return "generic";
}

/* ---- packing buffers: cached per thread, grown on demand ---- */

typedef struct { void *p; size_t n; } tls_buf;
static _Thread_local tls_buf tls_a, tls_b;

static void *buf_get(tls_buf *b, size_t n) {
    if (b->n < n) {
        free(b->p);
        n = (n + 4095) & ~(size_t)4095;
        b->p = aligned_alloc(64, n);
        b->n = b->p ? n : 0;
    }
    return b->p;
}
static void buf_free(tls_buf *b) { free(b->p); b->p = NULL; b->n = 0; }

void lmt_gemm_cleanup(void) {
    buf_free(&tls_a);
    buf_free(&tls_b);
    if (!omp_in_parallel()) {
#pragma omp parallel
        { buf_free(&tls_a); buf_free(&tls_b); }
    }
}

/* ---- driver ---- */

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

/* op(B) packed once: for each K block, every panel of nr columns as pack_b
 * writes them (its kup per block), blocks kup_max * nr * planes apart. */
struct lmt_gemm_packed {
    const gemm_impl *im;
    bool bf16, tb;
    int conv;
    long N, K, ldb, npan, kup_max;
    const float *B;              /* the original (few-row products and the out-of-memory path read it) */
    uint32_t *data;
};

/* Packed panel q of the K block starting at k0 (kup pairs/values). */
static const uint32_t *packed_panel(const lmt_gemm_packed *p, long k0, long kup, long q) {
    const long kb = k0 / p->im->kc, planes = p->im->planes;
    return p->data + (size_t)kb * p->npan * p->im->nr * p->kup_max * planes + (size_t)q * p->im->nr * kup * planes;
}

/* One thread's product (a block of C); false when out of memory. */
static bool gemm_block(const gemm_job *j) {
    const gemm_impl *im = j->im;
    const int kc_max = im->kc, g = im->kgrp, mr = im->mr, nr = im->nr, ka = im->kalign, planes = im->planes;
    const long kup_max = ((kc_max + g - 1) / g + ka - 1) / ka * ka;
    const long nb_pan = im->nb_cols / nr;
    const long mrows = ((j->M < MB_MAX ? j->M : MB_MAX) + mr - 1) / mr * mr;
    uint32_t *abuf = buf_get(&tls_a, (size_t)mrows * kup_max * 4 * planes);
    uint32_t *bbuf = j->pb ? NULL : buf_get(&tls_b, (size_t)kup_max * nr * nb_pan * 4 * planes);
    if (!abuf || (!bbuf && !j->pb)) return false;
    if (im->begin) im->begin();
    for (long i0 = 0; i0 < j->M; i0 += MB_MAX) {
        const long mb = j->M - i0 < MB_MAX ? j->M - i0 : MB_MAX;
        const long mpan = (mb + mr - 1) / mr;
        for (long k0 = 0; k0 < j->K; k0 += kc_max) {
            const int kc = (int)(j->K - k0 < kc_max ? j->K - k0 : kc_max);
            const long kup = ((kc + g - 1) / g + ka - 1) / ka * ka;
            const float beta = k0 == 0 ? j->beta : 1.0f;
            if (im->pack_a_block) {
                im->pack_a_block(j->ta, j->A, j->lda, i0, (int)mb, k0, kc, j->conv, abuf);
            } else {
                for (long p = 0; p < mpan; p++) {
                    long r = mb - p * mr;
                    im->pack_a(j->ta, j->A, j->lda, i0 + p * mr, (int)(r < mr ? r : mr), k0, kc, j->conv,
                               abuf + p * mr * kup * planes);
                }
            }
            /* Column blocks of at most nb_pan panels, of equal size. */
            const long tpan = (j->N + nr - 1) / nr;
            const long nblk = (tpan + nb_pan - 1) / nb_pan;
            const long bpan = (tpan + nblk - 1) / nblk;
            for (long j0 = 0; j0 < j->N; j0 += bpan * nr) {
                const long nb = j->N - j0 < bpan * nr ? j->N - j0 : bpan * nr;
                const long npb = (nb + nr - 1) / nr;
                const uint32_t *bb = bbuf;
                if (j->pb) bb = packed_panel(j->pb, k0, kup, (j->col0 + j0) / nr);
                else im->pack_b(j->tb, j->B, j->ldb, k0, kc, j0, (int)nb, j->conv, bbuf);
                for (long p = 0; p < mpan; p++) {   /* an A micro-panel stays in L1 */
                    const long r = mb - p * mr;
                    for (long q = 0; q < npb; q++) {   /* the B panels stream from L2 */
                        const long c = nb - q * nr;
                        im->kern(kup, abuf + p * mr * kup * planes, bb + q * nr * kup * planes,
                                 j->C + (i0 + p * mr) * j->ldc + j0 + q * nr, j->ldc, j->alpha, beta,
                                 (int)(r < mr ? r : mr), (int)(c < nr ? c : nr));
                    }
                }
            }
        }
    }
    if (im->end) im->end();
    return true;
}

/* Thread tid's block of C: the larger of M and N is split into equal shares
 * of whole mr / nr tiles (so the tile grid, and every element's summation
 * order, is the same for any thread count); the threads share nothing and
 * never wait for each other, which matters on a machine busy with other
 * work. The matrix along the other dimension is packed by every thread. */
static bool gemm_part(const gemm_job *j, int tid, int nth, bool split_m) {
    gemm_job s = *j;
    const long unit = split_m ? j->im->mr : j->im->nr, len = split_m ? j->M : j->N;
    const long tiles = (len + unit - 1) / unit, per = (tiles + nth - 1) / nth;
    const long lo = tid * per * unit < len ? tid * per * unit : len;
    const long hi = lo + per * unit < len ? lo + per * unit : len;
    if (hi <= lo) return true;
    if (split_m) {
        s.M = hi - lo;
        s.A = j->ta ? j->A + lo : j->A + lo * j->lda;
        s.C = j->C + lo * j->ldc;
    } else {
        s.N = hi - lo;
        s.B = j->tb ? j->B + lo * j->ldb : j->B + lo;
        s.C = j->C + lo;
        s.col0 = j->col0 + lo;
    }
    return gemm_block(&s);
}

#if LMT_GEMM_X86
/* ---- few rows (generation: one token per sequence): no packing ----
 * With M <= SMALL_M rows, packing B (all of the lm_head's 50257 x 768, every
 * token) costs more than the product. The rows of op(A) are copied once
 * (rounded to bf16 if asked) and B is streamed once: row-wise FMAs when B's
 * rows are contiguous, dot products along k when B is stored [N,K]. Every C
 * element is summed in a fixed order whatever the threads' column split. */
#define SMALL_M 4
#define SMALL_COLS 64   /* the threads split the columns in multiples of this */
#define SMALL_CHUNK 2048 /* columns per pass over B's rows (accumulators: 32 KiB at M = 4) */

TGT_F32 static inline __m512 load_b(const float *p, __mmask16 m, bool round) {
    return maybe_round_ps(_mm512_maskz_loadu_ps(m, p), round);
}

/* C[i, jlo:jhi] = sum_k a[i,k] B[k, jlo:jhi] for B stored (K, N): for each
 * k the thread's part of row k is read front to back into accumulators
 * (SMALL_CHUNK columns at a time); every column sums k in order, whatever
 * the threads' split. */
TGT_F32 static inline __attribute__((always_inline)) void small_m_rows_stream(const gemm_job *j, const float *arows, long jlo,
                                                                             long jhi, float *acc, const bool round) {
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc;
    const __m512 va = _mm512_set1_ps(j->alpha), vb = _mm512_set1_ps(j->beta);
    for (long j0 = jlo; j0 < jhi; j0 += SMALL_CHUNK) {
        const long n = jhi - j0 < SMALL_CHUNK ? jhi - j0 : SMALL_CHUNK, nfull = n & ~63L;
        memset(acc, 0, (size_t)M * SMALL_CHUNK * sizeof(float));
        const float *b = j->B + j0;
        for (long k = 0; k < K; k++, b += ldb) {
            __m512 x[SMALL_M];
            for (int i = 0; i < M; i++) x[i] = _mm512_set1_ps(arows[i * K + k]);
            for (long c = 0; c < nfull; c += 64) {
                const __m512 b0 = maybe_round_ps(_mm512_loadu_ps(b + c), round), b1 = maybe_round_ps(_mm512_loadu_ps(b + c + 16), round),
                             b2 = maybe_round_ps(_mm512_loadu_ps(b + c + 32), round), b3 = maybe_round_ps(_mm512_loadu_ps(b + c + 48), round);
                for (int i = 0; i < M; i++) {
                    float *ai = acc + i * SMALL_CHUNK + c;
                    _mm512_store_ps(ai, _mm512_fmadd_ps(x[i], b0, _mm512_load_ps(ai)));
                    _mm512_store_ps(ai + 16, _mm512_fmadd_ps(x[i], b1, _mm512_load_ps(ai + 16)));
                    _mm512_store_ps(ai + 32, _mm512_fmadd_ps(x[i], b2, _mm512_load_ps(ai + 32)));
                    _mm512_store_ps(ai + 48, _mm512_fmadd_ps(x[i], b3, _mm512_load_ps(ai + 48)));
                }
            }
            for (long c = nfull; c < n; c += 16) {
                const __mmask16 mv = col_mask((int)(n - c), 0);
                const __m512 bv = load_b(b + c, mv, round);
                for (int i = 0; i < M; i++) {
                    float *ai = acc + i * SMALL_CHUNK + c;
                    _mm512_store_ps(ai, _mm512_fmadd_ps(x[i], bv, _mm512_load_ps(ai)));
                }
            }
        }
        for (int i = 0; i < M; i++)
            for (long c = 0; c < n; c += 16) {
                const __mmask16 mv = col_mask((int)(n - c), 0);
                float *cp = j->C + i * ldc + j0 + c;
                const __m512 xa = _mm512_load_ps(acc + i * SMALL_CHUNK + c);
                __m512 r = _mm512_mul_ps(va, xa);
                if (j->beta != 0.0f) r = _mm512_fmadd_ps(va, xa, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mv, cp)));
                _mm512_mask_storeu_ps(cp, mv, r);
            }
    }
}

TGT_F32 static void small_m_cols(const gemm_job *j, const float *arows, long jlo, long jhi, bool round) {
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc;
    if (!j->tb) {   /* rows of B read front to back (2-3x the bandwidth of 64-column blocks) */
        float sums[SMALL_M * SMALL_CHUNK] __attribute__((aligned(64)));   /* 32 KiB */
        if (round) small_m_rows_stream(j, arows, jlo, jhi, sums, true);
        else small_m_rows_stream(j, arows, jlo, jhi, sums, false);
        return;
    }
    /* B stored [N,K]: C[i,j] = dot(a[i,:], B[j,:]), 4 columns at a time. */
    for (long j0 = jlo; j0 < jhi; j0 += 4) {
        const int n = (int)(jhi - j0 < 4 ? jhi - j0 : 4);
        __m512 acc[SMALL_M][4];
        for (int i = 0; i < SMALL_M; i++)
            for (int c = 0; c < 4; c++) acc[i][c] = _mm512_setzero_ps();
        const float *bc[4];
        for (int c = 0; c < 4; c++) bc[c] = j->B + (j0 + (c < n ? c : 0)) * ldb;
        for (long k = 0; k < K; k += 16) {
            const __mmask16 mk = col_mask((int)(K - k < 16 ? K - k : 16), 0);
            __m512 b[4];
            for (int c = 0; c < 4; c++) b[c] = load_b(bc[c] + k, mk, round);
            for (int i = 0; i < M; i++) {
                const __m512 a = _mm512_maskz_loadu_ps(mk, arows + i * K + k);
                for (int c = 0; c < 4; c++) acc[i][c] = _mm512_fmadd_ps(a, b[c], acc[i][c]);
            }
        }
        for (int i = 0; i < M; i++)
            for (int c = 0; c < n; c++) {
                float *cp = j->C + i * ldc + j0 + c;
                const float sum = _mm512_reduce_add_ps(acc[i][c]);
                *cp = j->beta == 0.0f ? j->alpha * sum : fmaf(j->alpha, sum, j->beta * *cp);
            }
    }
}

/* Copies the M rows of op(A) contiguously (rounded to bf16 if asked). */
static void small_m_rows(const gemm_job *j, float *arows, bool round) {
    for (long i = 0; i < j->M; i++)
        for (long k = 0; k < j->K; k++) {
            float v = at_a(j->ta, j->A, j->lda, i, k);
            arows[i * j->K + k] = round ? round_bf16(v) : v;
        }
}
#endif

static void gemm(bool bf16, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc, const lmt_gemm_packed *pb) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {   /* C = beta * C */
        for (long i = 0; i < M; i++)
            for (long jj = 0; jj < N; jj++) {
                float *p = &C[i * (long)ldc + jj];
                *p = beta == 0.0f ? 0.0f : beta * *p;
            }
        return;
    }
    gemm_job j = {.im = pb ? pb->im : pick(bf16), .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb,
                  .ldc = ldc, .alpha = alpha, .beta = beta, .A = A, .B = B, .C = C, .pb = pb};
    /* (the bf16 product on an fp32 microkernel rounds while packing) */
    j.conv = j.im->planes == 3 ? CONV_SPLIT3 : bf16 ? CONV_BF16 : CONV_F32;
#if LMT_GEMM_X86
    if (M <= SMALL_M && cpu_level() >= 1) {
        float *arows = buf_get(&tls_a, (size_t)M * K * sizeof(float));
        if (arows) {
            small_m_rows(&j, arows, bf16);
            const long units = (N + SMALL_COLS - 1) / SMALL_COLS;
            int nth = omp_in_parallel() ? 1 : omp_get_max_threads();
            if (nth > units) nth = (int)units;
            if ((double)M * N * K < 5e5 || nth < 1) nth = 1;
#pragma omp parallel num_threads(nth) if (nth > 1)
            {
                const int t = omp_get_thread_num(), nt = omp_get_num_threads();
                const long per = (units + nt - 1) / nt;
                const long lo = t * per * SMALL_COLS < N ? t * per * SMALL_COLS : N;
                const long hi = lo + per * SMALL_COLS < N ? lo + per * SMALL_COLS : N;
                if (lo < hi) small_m_cols(&j, arows, lo, hi, bf16);
            }
            return;
        }
    }
#endif
    const bool split_m = M > N;
    int nth = 1;
    if (!omp_in_parallel()) {
        nth = omp_get_max_threads();
        long tiles = split_m ? (M + j.im->mr - 1) / j.im->mr : (N + j.im->nr - 1) / j.im->nr;
        if (nth > tiles) nth = (int)tiles;
        /* Below ~1 MFLOP a parallel region costs more than it saves. */
        if ((double)M * N * K < 5e5) nth = 1;
        if (nth < 1) nth = 1;
    }
    int failed = 0;
    if (nth == 1) {
        failed = !gemm_part(&j, 0, 1, split_m);
    } else {
#pragma omp parallel num_threads(nth) reduction(+ : failed)
        failed += !gemm_part(&j, omp_get_thread_num(), omp_get_num_threads(), split_m);
    }
    if (failed) {   /* out of memory: plain loops still give the right answer */
        for (long i = 0; i < M; i++)
            for (long jj = 0; jj < N; jj++) {
                double s = 0;
                for (long k = 0; k < K; k++) {
                    float a = at_a(ta, A, lda, i, k), b = at_b(tb, B, ldb, k, jj);
                    s += bf16 ? (double)round_bf16(a) * round_bf16(b) : (double)a * b;
                }
                float *p = &C[i * (long)ldc + jj];
                *p = beta == 0.0f ? alpha * (float)s : alpha * (float)s + beta * *p;
            }
    }
}

void lmt_gemm_f32(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    gemm(false, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

void lmt_gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    gemm(true, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

lmt_gemm_packed *lmt_gemm_pack_b(bool bf16, bool trans_b, int N, int K, const float *B, int ldb) {
    if (N <= 0 || K <= 0 || !B) return NULL;
    lmt_gemm_packed *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    const gemm_impl *im = pick(bf16);
    p->im = im;
    p->bf16 = bf16;
    p->tb = trans_b;
    p->conv = im->planes == 3 ? CONV_SPLIT3 : bf16 ? CONV_BF16 : CONV_F32;
    p->N = N;
    p->K = K;
    p->ldb = ldb;
    p->B = B;
    p->npan = (N + im->nr - 1) / im->nr;
    p->kup_max = ((im->kc + im->kgrp - 1) / im->kgrp + im->kalign - 1) / im->kalign * im->kalign;
    const long kblocks = (K + im->kc - 1) / im->kc;
    size_t bytes = (size_t)kblocks * p->npan * im->nr * p->kup_max * im->planes * 4;
    p->data = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p->data) { free(p); return NULL; }
    enum { CHUNK = 16 };   /* panels per packing call */
    const long chunks = (p->npan + CHUNK - 1) / CHUNK;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if ((double)N * K >= 1e5)
    for (long kb = 0; kb < kblocks; kb++)
        for (long c = 0; c < chunks; c++) {
            const long k0 = kb * im->kc, q0 = c * CHUNK, q1 = q0 + CHUNK < p->npan ? q0 + CHUNK : p->npan;
            const int kc = (int)(K - k0 < im->kc ? K - k0 : im->kc);
            const long kup = ((kc + im->kgrp - 1) / im->kgrp + im->kalign - 1) / im->kalign * im->kalign;
            const long c1 = q1 * im->nr < N ? q1 * im->nr : N;
            im->pack_b(trans_b, B, ldb, k0, kc, q0 * im->nr, (int)(c1 - q0 * im->nr), p->conv,
                       (uint32_t *)packed_panel(p, k0, kup, q0));
        }
    return p;
}

void lmt_gemm_packed_free(lmt_gemm_packed *p) {
    if (!p) return;
    free(p->data);
    free(p);
}

void lmt_gemm_packed_product(bool trans_a, int M, float alpha, const float *A, int lda, const lmt_gemm_packed *p,
                             float beta, float *C, int ldc) {
    gemm(p->bf16, trans_a, p->tb, M, (int)p->N, (int)p->K, alpha, A, lda, p->B, (int)p->ldb, beta, C, ldc, p);
}

bool lmt_gemm_packed_bf16(const lmt_gemm_packed *p) { return p->bf16; }
