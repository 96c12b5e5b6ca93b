/* lmtune's GEMM on AVX-512: fp32 FMA microkernel (8 x 48), AVX512_BF16
 * vdpbf16ps (8 x 48 of bf16 pairs), AMX-BF16 tiles (32 x 32; fp32 as three
 * bf16 planes) and the few-row products of decoding. Compiled with
 * function-level target attributes: only called where the CPU has them. */
#include "kernels/gemm_impl.h"
#if LMT_GEMM_X86
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#define TGT_F32 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16")))

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
    } else {
        /* B stored [N,K]: 16 of its rows x 16 k at a time, loaded along the
         * rows and transposed in registers (gathers cost a load per element) */
        for (int q = 0; q < npan; q++)
            for (int v = 0; v < NR / 16; v++) {
                const int cols = n - q * NR - 16 * v;   /* columns of this vector (<= 0: zero padding) */
                float *o = d + (long)q * NR * kc + 16 * v;
                const float *s = B + (j0 + q * NR + 16 * v) * ldb + k0;
                for (int kb = 0; kb < kc; kb += 16) {
                    const __mmask16 mk = col_mask(kc - kb, 0);
                    __m512i x[16];
                    for (int r = 0; r < 16; r++)
                        x[r] = r < cols ? _mm512_castps_si512(_mm512_maskz_loadu_ps(mk, s + r * ldb + kb)) : _mm512_setzero_si512();
                    transpose16(x);   /* x[k'] = the 16 columns at k kb + k' */
                    for (int kk = 0; kk < 16 && kb + kk < kc; kk++)
                        _mm512_storeu_ps(o + (long)(kb + kk) * NR, maybe_round_ps(_mm512_castsi512_ps(x[kk]), round));
                }
            }
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

/* A panel narrower than NR (the last one of a product whose N is not a
 * multiple of 48: attention's 64-wide heads give 48 + 16) runs only the
 * column vectors it has: 8 x 16 or 8 x 32 accumulators, still enough
 * independent chains to keep the FMA units busy. */
TGT_F32 __attribute__((always_inline)) static inline void kern_f32_narrow(long ku, const float *A, const float *B, float *C, long ldc,
                                                                          float alpha, float beta, int m, int n, const int nv) {
    __m512 c[MR][2];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < nv; v++) c[r][v] = _mm512_setzero_ps();
    for (long k = 0; k < ku; k++, A += MR, B += NR) {
        __m512 b[2];
        for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_ps(B + 16 * v);
        for (int r = 0; r < MR; r++) {
            const __m512 a = _mm512_set1_ps(A[r]);
            for (int v = 0; v < nv; v++) c[r][v] = _mm512_fmadd_ps(a, b[v], c[r][v]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < m; r++)
        for (int v = 0; v < nv; v++) {
            const __mmask16 mk = col_mask(n, v);
            float *p = C + r * ldc + 16 * v;
            /* the same rounding as STORE_ROW */
            _mm512_mask_storeu_ps(p, mk, beta == 0.0f ? _mm512_mul_ps(va, c[r][v])
                                                      : _mm512_fmadd_ps(va, c[r][v], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mk, p))));
        }
}

TGT_F32 static void kern_f32(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const float *A = Ap, *B = Bp;
    if (n <= 16) { kern_f32_narrow(ku, A, B, C, ldc, alpha, beta, m, n, 1); return; }
    if (n <= 32) { kern_f32_narrow(ku, A, B, C, ldc, alpha, beta, m, n, 2); return; }
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

const gemm_impl lmt_gemm_impl_avx512f = {NULL, pack_a_block_f32, pack_b_f32, kern_f32, KC_F32, 1, MR, NR, 1, 1, NB_COLS, NULL, NULL, "avx512f"};

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

const gemm_impl lmt_gemm_impl_avx512bf16 = {pack_a_bf16, NULL, pack_b_bf16, kern_bf16, KC_BF16, 2, MR, NR, 1, 1, NB_COLS, NULL, NULL, "avx512bf16"};
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

const gemm_impl lmt_gemm_impl_amx = {NULL, pack_a_block_amx, pack_b_amx, kern_amx, KC_AMX, 2, MR_AMX, NR_AMX, 16, 1, NB_COLS, amx_begin, amx_end, "amx-bf16"};
const gemm_impl lmt_gemm_impl_amx_x6 = {NULL, pack_a_block_amx, pack_b_amx, kern_amx_x6, KC_AMX_X6, 2, MR_AMX, NR_AMX, 16, 3, NB_COLS_X6, amx_begin, amx_end, "amx-bf16x6"};

/* ---- few rows (gemm_small_fn): B streamed once, row-wise FMAs when B's
 * rows are contiguous, dot products along k when B is stored [N,K] ---- */
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
            __m512 x[LMT_GEMM_SMALL_M];
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

TGT_F32 void lmt_gemm_small_avx512(const gemm_job *j, const float *arows, long jlo, long jhi, bool round) {
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc;
    if (!j->tb) {   /* rows of B read front to back (2-3x the bandwidth of 64-column blocks) */
        float sums[LMT_GEMM_SMALL_M * SMALL_CHUNK] __attribute__((aligned(64)));   /* 32 KiB */
        if (round) small_m_rows_stream(j, arows, jlo, jhi, sums, true);
        else small_m_rows_stream(j, arows, jlo, jhi, sums, false);
        return;
    }
    /* B stored [N,K]: C[i,j] = dot(a[i,:], B[j,:]). One row (decoding's lm_head):
     * eight columns in flight, B's loads folded into the FMAs, so more of B's
     * rows stream at once (+25-35% on the lm_head); the same sums in the same
     * order as the 4-column loop below, which takes the rest. */
    long jstart = jlo;
    if (M == 1)
        for (; jstart + 8 <= jhi; jstart += 8) {
            __m512 acc[8];
            for (int c = 0; c < 8; c++) acc[c] = _mm512_setzero_ps();
            const float *b = j->B + jstart * ldb;
            for (long k = 0; k < K; k += 16) {
                const __mmask16 mk = col_mask((int)(K - k < 16 ? K - k : 16), 0);
                const __m512 a = _mm512_maskz_loadu_ps(mk, arows + k);
                for (int c = 0; c < 8; c++) acc[c] = _mm512_fmadd_ps(a, load_b(b + c * ldb + k, mk, round), acc[c]);
            }
            for (int c = 0; c < 8; c++) {
                float *cp = j->C + jstart + c;
                const float sum = _mm512_reduce_add_ps(acc[c]);
                *cp = j->beta == 0.0f ? j->alpha * sum : fmaf(j->alpha, sum, j->beta * *cp);
            }
        }
    /* 4 columns at a time */
    for (long j0 = jstart; j0 < jhi; j0 += 4) {
        const int n = (int)(jhi - j0 < 4 ? jhi - j0 : 4);
        __m512 acc[LMT_GEMM_SMALL_M][4];
        for (int i = 0; i < LMT_GEMM_SMALL_M; i++)
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

#endif
