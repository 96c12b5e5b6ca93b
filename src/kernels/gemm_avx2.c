/* lmtune's GEMM on AVX2 + FMA (AMD Zen 2-4, Intel Haswell and later client
 * CPUs): the fp32 FMA microkernel on 16 ymm registers, its packers, the bf16
 * product (values rounded to bf16 while packing, then the same fp32 FMA
 * kernel: AVX2 CPUs have no bf16 arithmetic) and the few-row products of
 * decoding. Compiled with function-level target attributes: only called
 * where the CPU has AVX2 and FMA (core/cpu.h's avx2 level).
 *
 * The tile: 6 rows x 16 columns of C in 12 ymm accumulators. Per k the
 * microkernel loads the B row (2 ymm) and broadcasts 6 values of A: 12 FMAs
 * (6 cycles on two FMA ports) for 8 loads (4 cycles on two load ports), 15
 * of the 16 ymm registers live, no spills. Every C element sums k in order
 * within a K block and the blocks in turn, whatever the thread split. */
#include "kernels/gemm_impl.h"
#if LMT_GEMM_X86
#include <immintrin.h>
#include <math.h>
#include <string.h>
#define TGT __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/* Why 6 x 16: both 12-accumulator tiles fit the 16 registers; 4 x 24 loads
 * 3 B vectors and broadcasts 4 A values per k (7 loads per 12 FMAs against
 * 6 x 16's 8) but needs all 16 registers (12 + 3 B + 1 A) and half again
 * as many A panels per C row block. Measured on this machine (Intel
 * Xeon with AVX-512 + AMX, the AVX2 level forced; this file is built with
 * -mno-avx512f, so the code is what an AVX2 CPU runs: VEX encoding, 16
 * registers), 1 thread, per-thread CPU time, mean GFLOP/s over eight GPT-2 /
 * BERT / Marian training shapes (fc fwd/dX/dW, lm_head fwd/dX/dW), three
 * interleaved rounds on a shared, loaded machine (AVX2 FMA peak 128.7):
 *   6 x 16, k unrolled by 4   107.5  103.2  105.9
 *   4 x 24, k unrolled by 4   103.6  103.7  101.3
 *   OpenBLAS 0.3.21 Haswell   100.3  102.3  100.7
 * Unrolling k by 4 gave +3-5% (loop overhead), kc 512 against 384 / 256:
 * within the noise / -3%, 480-column B blocks against 240: +1-4%. A blocks of
 * whole 6-row panels (1026 rows, not 1024): with 1024 the last 4 rows of a
 * 1024-token batch made a second A block that packed all of B again (+2-5%).
 * The packers write 8 k per panel at a time (see there: +3-8% on dW).
 * Result (LMT_BENCH_CLOCK=cpu LMT_ISA=avx2 OPENBLAS_CORETYPE=Haswell
 * bench_matmul 3, the 28 GPT-2 / BERT / Marian training shapes, 1 thread):
 * 96-114 GFLOP/s, 82-97% of the ymm FMA peak measured alongside, against
 * OpenBLAS Haswell's 91-107: ahead in 25 shapes, within 2% in the other 3
 * (fc dX, fc proj dX, marian fc dX). On 2 threads, in a quiet moment of the
 * shared machine: lm_head fwd 200 GFLOP/s (87% of the 2-thread peak) against
 * OpenBLAS's 185, lm_head dX 192 against 196. */
#define TILE_MR 6
#define TILE_NR 16
#define TILE_NV (TILE_NR / 8)
#define KC_AVX2 512       /* k per K block: A micro-panel 12 KiB + B panel 32 KiB (L1 48 KiB) */
#define NB_COLS_AVX2 480  /* columns per packed B block: 512 x 480 x 4 = 960 KiB (L2 2 MiB) */

/* ---- lanes, rounding, transposes ---- */

static const int32_t lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
/* The first `left` lanes (0..8; more means 8). */
TGT INLINE __m256i lanes(int left) {
    left = left < 0 ? 0 : left > 8 ? 8 : left;
    return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - left));
}
/* `left` floats (zero beyond them); maskload never touches masked-off lanes. */
TGT INLINE __m256 load_part(const float *p, int left) {
    return left >= 8 ? _mm256_loadu_ps(p) : left <= 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(p, lanes(left));
}

/* fp32 lanes -> their bf16 rounding (RNE, quiet NaN), as round_bf16. */
TGT INLINE __m256 round_bf16_ps(__m256 x) {
    const __m256i u = _mm256_castps_si256(x);
    const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
    const __m256i nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));   /* abs >= 0 as int32 */
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
    r = _mm256_blendv_epi8(r, _mm256_or_si256(u, _mm256_set1_epi32(0x00400000)), nan);
    return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u)));
}
TGT INLINE __m256 maybe_round(__m256 x, bool round) { return round ? round_bf16_ps(x) : x; }

/* In-register transpose of 8x8 floats (r[i] = row i). */
TGT INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        s[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xee);
        s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x20);
        r[4 + i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x31);
    }
}

/* The first TILE_MR lanes of x to o (one k of an A panel). */
TGT INLINE void store_panel_column(float *o, __m256 x) {
#if TILE_MR == 8
    _mm256_storeu_ps(o, x);
#else
    _mm_storeu_ps(o, _mm256_castps256_ps128(x));
#if TILE_MR == 6
    _mm_storel_pi((__m64 *)(o + 4), _mm256_extractf128_ps(x, 1));
#endif
#endif
}

/* ---- packers (CONV_BF16: rounded to bf16 values while packing) ---- */

/* All TILE_MR-row panels of rows [i0, i0+m): panel p holds kc columns of
 * TILE_MR values. A rows contiguous: TILE_MR rows x 8 k loaded along the
 * rows and transposed in registers. A stored [K,M] (op(A) = A^T): each row
 * k is read once across the block. */
TGT static void pack_a_block_avx2(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    const int mpan = (m + TILE_MR - 1) / TILE_MR;
    if (t) {   /* 8 k at a time per panel: panels lie 12 KiB (3 x 4 KiB) apart, so
                * one k across all panels hits a single L1 set (6x slower) */
        for (int kb = 0; kb < kc; kb += 8) {
            const int kn = kc - kb < 8 ? kc - kb : 8;
            for (int p = 0; p < mpan; p++) {
                const int left = m - p * TILE_MR;   /* 8 plain loads where the block's rows allow */
                const float *s = A + (k0 + kb) * lda + i0 + p * TILE_MR;
                float *o = d + (long)p * TILE_MR * kc + kb * TILE_MR;
                for (int kk = 0; kk < kn; kk++, s += lda) {
                    const __m256 x = left >= 8 ? _mm256_loadu_ps(s) : load_part(s, left < TILE_MR ? left : TILE_MR);
                    store_panel_column(o + kk * TILE_MR, maybe_round(x, round));
                }
            }
        }
        return;
    }
    for (int p = 0; p < mpan; p++) {
        const int rows = m - p * TILE_MR;
        float *o = d + (long)p * TILE_MR * kc;
        for (int kb = 0; kb < kc; kb += 8) {
            __m256 v[8];
            for (int r = 0; r < 8; r++)
                v[r] = r < rows && r < TILE_MR ? load_part(A + (i0 + p * TILE_MR + r) * lda + k0 + kb, kc - kb) : _mm256_setzero_ps();
            transpose8(v);   /* v[kk] = the panel's rows at k = kb + kk */
            for (int kk = 0; kk < 8 && kb + kk < kc; kk++) store_panel_column(o + (kb + kk) * TILE_MR, maybe_round(v[kk], round));
        }
    }
}

/* Panels of TILE_NR columns, kc rows each, one after the other. B rows
 * contiguous: each row k read once across all panels. B stored [N,K]:
 * 8 columns x 8 k loaded along the columns and transposed in registers. */
TGT static void pack_b_avx2(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    const int npan = (n + TILE_NR - 1) / TILE_NR;
    if (!t) {   /* 8 k at a time per panel, as in pack_a_block_avx2 (panels 32 KiB apart) */
        for (int kb = 0; kb < kc; kb += 8) {
            const int kn = kc - kb < 8 ? kc - kb : 8;
            for (int q = 0; q < npan; q++) {
                const float *s = B + (k0 + kb) * ldb + j0 + q * TILE_NR;
                float *o = d + (long)q * TILE_NR * kc + kb * TILE_NR;
                for (int kk = 0; kk < kn; kk++, s += ldb)
                    for (int v = 0; v < TILE_NV; v++)
                        _mm256_storeu_ps(o + kk * TILE_NR + 8 * v, maybe_round(load_part(s + 8 * v, n - q * TILE_NR - 8 * v), round));
            }
        }
        return;
    }
    for (int q = 0; q < npan; q++)
        for (int g = 0; g < TILE_NV; g++) {
            const int c0 = q * TILE_NR + 8 * g;
            float *o = d + (long)q * TILE_NR * kc + 8 * g;
            for (int kb = 0; kb < kc; kb += 8) {
                __m256 v[8];
                for (int c = 0; c < 8; c++)
                    v[c] = c0 + c < n ? load_part(B + (j0 + c0 + c) * ldb + k0 + kb, kc - kb) : _mm256_setzero_ps();
                transpose8(v);   /* v[kk] = the 8 columns at k = kb + kk */
                for (int kk = 0; kk < 8 && kb + kk < kc; kk++) _mm256_storeu_ps(o + (kb + kk) * TILE_NR, maybe_round(v[kk], round));
            }
        }
}

/* ---- microkernel ---- */

/* C = alpha * acc + beta * C (beta 0: C not read), `left` columns. */
TGT INLINE void store_c(float *p, __m256 acc, __m256 va, __m256 vb, bool read_c, int left) {
    if (left >= 8) {
        _mm256_storeu_ps(p, read_c ? _mm256_fmadd_ps(va, acc, _mm256_mul_ps(vb, _mm256_loadu_ps(p))) : _mm256_mul_ps(va, acc));
    } else if (left > 0) {
        const __m256i mk = lanes(left);
        _mm256_maskstore_ps(p, mk, read_c ? _mm256_fmadd_ps(va, acc, _mm256_mul_ps(vb, _mm256_maskload_ps(p, mk))) : _mm256_mul_ps(va, acc));
    }
}

/* C[m,n] = alpha * Apanel Bpanel + beta * C: every element sums k in order. */
TGT static void kern_avx2(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const float *A = Ap, *B = Bp;
    for (int r = 0; r < m; r++) {   /* the C tile arrives while the products run */
        _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + TILE_NR - 1), _MM_HINT_T0);
    }
    __m256 c[TILE_MR][TILE_NV];
#pragma GCC unroll 8
    for (int r = 0; r < TILE_MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < TILE_NV; v++) c[r][v] = _mm256_setzero_ps();
#pragma GCC unroll 4   /* loop overhead off the FMA ports' way: +3-5% */
    for (long k = 0; k < ku; k++, A += TILE_MR, B += TILE_NR) {
        __m256 b[TILE_NV];
#pragma GCC unroll 3
        for (int v = 0; v < TILE_NV; v++) b[v] = _mm256_loadu_ps(B + 8 * v);
#pragma GCC unroll 8
        for (int r = 0; r < TILE_MR; r++) {
            const __m256 a = _mm256_broadcast_ss(A + r);
#pragma GCC unroll 3
            for (int v = 0; v < TILE_NV; v++) c[r][v] = _mm256_fmadd_ps(a, b[v], c[r][v]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const bool read_c = beta != 0.0f;
#pragma GCC unroll 8
    for (int r = 0; r < TILE_MR; r++)
        if (r < m)
#pragma GCC unroll 3
            for (int v = 0; v < TILE_NV; v++) store_c(C + r * ldc + 8 * v, c[r][v], va, vb, read_c, n - 8 * v);
}

const gemm_impl lmt_gemm_impl_avx2 = {NULL,     pack_a_block_avx2, pack_b_avx2,  kern_avx2, KC_AVX2, 1, TILE_MR, TILE_NR, 1, 1,
                                      NB_COLS_AVX2, NULL,           NULL,         "avx2"};

/* ---- few rows (gemm_small_fn): B streamed once ---- */
#define SMALL_CHUNK 2048 /* columns per pass over B's rows (sums: 32 KiB at M = 4) */

/* B stored (K, N): for each k the thread's part of row k is read front to
 * back into sums in memory (SMALL_CHUNK columns at a time); every column
 * sums k in order, whatever the threads' split. */
TGT INLINE void small_rows_stream(const gemm_job *j, const float *arows, long jlo, long jhi, float *acc, const bool round) {
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc;
    const __m256 va = _mm256_set1_ps(j->alpha), vb = _mm256_set1_ps(j->beta);
    for (long j0 = jlo; j0 < jhi; j0 += SMALL_CHUNK) {
        const long n = jhi - j0 < SMALL_CHUNK ? jhi - j0 : SMALL_CHUNK, nfull = n & ~31L;
        memset(acc, 0, (size_t)M * SMALL_CHUNK * sizeof(float));
        const float *b = j->B + j0;
        for (long k = 0; k < K; k++, b += ldb) {
            __m256 x[LMT_GEMM_SMALL_M];
            for (int i = 0; i < M; i++) x[i] = _mm256_broadcast_ss(arows + i * K + k);
            for (long c = 0; c < nfull; c += 32) {
                __m256 bv[4];
                for (int v = 0; v < 4; v++) bv[v] = maybe_round(_mm256_loadu_ps(b + c + 8 * v), round);
                for (int i = 0; i < M; i++) {
                    float *ai = acc + i * SMALL_CHUNK + c;
                    for (int v = 0; v < 4; v++) _mm256_store_ps(ai + 8 * v, _mm256_fmadd_ps(x[i], bv[v], _mm256_load_ps(ai + 8 * v)));
                }
            }
            for (long c = nfull; c < n; c += 8) {
                const __m256 bv = maybe_round(load_part(b + c, (int)(n - c)), round);
                for (int i = 0; i < M; i++) {
                    float *ai = acc + i * SMALL_CHUNK + c;
                    _mm256_store_ps(ai, _mm256_fmadd_ps(x[i], bv, _mm256_load_ps(ai)));
                }
            }
        }
        for (int i = 0; i < M; i++)
            for (long c = 0; c < n; c += 8)
                store_c(j->C + i * ldc + j0 + c, _mm256_load_ps(acc + i * SMALL_CHUNK + c), va, vb, j->beta != 0.0f, (int)(n - c));
    }
}

/* Sum of the lanes, in a fixed order. */
TGT INLINE float hsum(__m256 x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* B stored [N,K]: C[i,j] = dot(a[i,:], B[j,:]), NC columns at a time (M x NC
 * accumulators + NC B vectors stay within the 16 registers). */
TGT INLINE void small_dots(const gemm_job *j, const float *arows, long jlo, long jhi, const bool round, const int NC) {
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc;
    for (long j0 = jlo; j0 < jhi; j0 += NC) {
        const int n = (int)(jhi - j0 < NC ? jhi - j0 : NC);
        __m256 acc[LMT_GEMM_SMALL_M][4];
        for (int i = 0; i < LMT_GEMM_SMALL_M; i++)
            for (int c = 0; c < NC; c++) acc[i][c] = _mm256_setzero_ps();
        const float *bc[4];
        for (int c = 0; c < NC; c++) bc[c] = j->B + (j0 + (c < n ? c : 0)) * ldb;
        for (long k = 0; k < K; k += 8) {
            const int left = (int)(K - k);
            __m256 b[4];
            for (int c = 0; c < NC; c++) b[c] = maybe_round(load_part(bc[c] + k, left), round);
            for (int i = 0; i < M; i++) {
                const __m256 a = load_part(arows + i * K + k, left);
                for (int c = 0; c < NC; c++) acc[i][c] = _mm256_fmadd_ps(a, b[c], acc[i][c]);
            }
        }
        for (int i = 0; i < M; i++)
            for (int c = 0; c < n; c++) {
                float *cp = j->C + i * ldc + j0 + c;
                const float sum = hsum(acc[i][c]);
                *cp = j->beta == 0.0f ? j->alpha * sum : fmaf(j->alpha, sum, j->beta * *cp);
            }
    }
}

/* One row (decoding's M = 1, the lm_head above all) against B stored [N,K]:
 * eight columns in flight, each in its own accumulator with B's loads
 * folded into the FMAs, so more of B's rows stream at once than small_dots'
 * register budget allows (the lm_head ran at 23 GB/s against the AVX-512
 * path's 30). The same sums in the same order as small_dots. */
TGT INLINE void small_dots1(const gemm_job *j, const float *a, long jlo, long jhi, const bool round) {
    const long K = j->K, ldb = j->ldb, kfull = K & ~7L;
    long j0 = jlo;
    for (; j0 + 8 <= jhi; j0 += 8) {
        __m256 acc[8];
        for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();
        const float *b = j->B + j0 * ldb;
        for (long k = 0; k < kfull; k += 8) {
            const __m256 x = _mm256_loadu_ps(a + k);
            for (int c = 0; c < 8; c++) acc[c] = _mm256_fmadd_ps(x, maybe_round(_mm256_loadu_ps(b + c * ldb + k), round), acc[c]);
        }
        if (kfull < K) {
            const __m256 x = load_part(a + kfull, (int)(K - kfull));
            for (int c = 0; c < 8; c++)
                acc[c] = _mm256_fmadd_ps(x, maybe_round(load_part(b + c * ldb + kfull, (int)(K - kfull)), round), acc[c]);
        }
        for (int c = 0; c < 8; c++) {
            float *cp = j->C + j0 + c;
            const float sum = hsum(acc[c]);
            *cp = j->beta == 0.0f ? j->alpha * sum : fmaf(j->alpha, sum, j->beta * *cp);
        }
    }
    if (j0 < jhi) small_dots(j, a, j0, jhi, round, 4);
}

TGT void lmt_gemm_small_avx2(const gemm_job *j, const float *arows, long jlo, long jhi, bool round) {
    if (!j->tb) {   /* rows of B read front to back */
        float sums[LMT_GEMM_SMALL_M * SMALL_CHUNK] __attribute__((aligned(32)));   /* 32 KiB */
        if (round) small_rows_stream(j, arows, jlo, jhi, sums, true);
        else small_rows_stream(j, arows, jlo, jhi, sums, false);
        return;
    }
    if (j->M == 1) {
        if (round) small_dots1(j, arows, jlo, jhi, true);
        else small_dots1(j, arows, jlo, jhi, false);
    } else if (j->M <= 2) {
        if (round) small_dots(j, arows, jlo, jhi, true, 4);
        else small_dots(j, arows, jlo, jhi, false, 4);
    } else {
        if (round) small_dots(j, arows, jlo, jhi, true, 2);
        else small_dots(j, arows, jlo, jhi, false, 2);
    }
}

#endif
