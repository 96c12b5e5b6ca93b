/* lmtune's GEMM on ARM64 Advanced SIMD: an fp32 FMA microkernel (8 x 12,
 * vfmaq_laneq_f32), the BF16 extension's BFDOT on packed bf16 pairs (same
 * tile; only where the CPU has FEAT_BF16) and the few-row products of
 * decoding. NEON is part of every ARMv8-A CPU, so only the BF16 code needs a
 * function-level target attribute: the default aarch64 build runs on plain
 * ARMv8.
 *
 * Tile: 8 rows x 12 columns = 24 accumulators (q registers), plus 3 for the
 * B row and 2 for the A column: 29 of the 32. Every C element sums k in
 * order within a K block, whatever the thread split or tile position. */
#include "kernels/gemm_impl.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

#define MR_NEON 8
#define NR_NEON 12
#define TGT_BF16 __attribute__((target("arch=armv8.2-a+bf16")))

/* ---- packers (plain C: gcc vectorises the copies, and they are O(n^2)) ---- */

/* fp32 panel: d[k * 8 + r] = op(A)[i0 + r, k0 + k] (rows past m are 0). */
static void pack_a_f32(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    for (int r = 0; r < MR_NEON; r++)   /* row by row: op(A) rows are contiguous along k unless t */
        for (int k = 0; k < kc; k++) {
            const float v = r < m ? at_a(t, A, lda, i0 + r, k0 + k) : 0.0f;
            d[k * MR_NEON + r] = round ? round_bf16(v) : v;
        }
}

/* fp32 panels of 12 columns: d[q][k * 12 + c]. */
static void pack_b_f32(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    const bool round = conv == CONV_BF16;
    float *d = dst;
    for (int q = 0; q * NR_NEON < n; q++, d += (long)NR_NEON * kc) {
        const int w = n - q * NR_NEON < NR_NEON ? n - q * NR_NEON : NR_NEON;
        if (!t) {   /* rows of op(B) are contiguous: 12 floats per k */
            for (int k = 0; k < kc; k++) {
                const float *s = B + (k0 + k) * ldb + j0 + q * NR_NEON;
                for (int c = 0; c < NR_NEON; c++) {
                    const float v = c < w ? s[c] : 0.0f;
                    d[k * NR_NEON + c] = round ? round_bf16(v) : v;
                }
            }
        } else {    /* B stored [N,K]: each column of op(B) is contiguous */
            for (int c = 0; c < NR_NEON; c++) {
                const float *s = B + (j0 + q * NR_NEON + c) * ldb + k0;
                for (int k = 0; k < kc; k++) {
                    const float v = c < w ? s[k] : 0.0f;
                    d[k * NR_NEON + c] = round ? round_bf16(v) : v;
                }
            }
        }
    }
}

/* bf16 pairs (kgrp 2): unit u of row r holds k0+2u in the low half and
 * k0+2u+1 in the high half (0 past kc), the order BFDOT multiplies. */
static inline uint32_t pair_bits(float lo, float hi) { return round_bf16_bits(lo) >> 16 | round_bf16_bits(hi); }

static void pack_a_bf16(bool t, const float *A, long lda, long i0, int m, long k0, int kc, int conv, void *dst) {
    uint32_t *d = dst;
    const int kup = (kc + 1) / 2;
    for (int r = 0; r < MR_NEON; r++)
        for (int u = 0; u < kup; u++) {
            const bool in = r < m;
            const float lo = in ? at_a(t, A, lda, i0 + r, k0 + 2 * u) : 0.0f;
            const float hi = in && 2 * u + 1 < kc ? at_a(t, A, lda, i0 + r, k0 + 2 * u + 1) : 0.0f;
            d[u * MR_NEON + r] = pair_bits(lo, hi);
        }
}

static void pack_b_bf16(bool t, const float *B, long ldb, long k0, int kc, long j0, int n, int conv, void *dst) {
    uint32_t *d = dst;
    const int kup = (kc + 1) / 2;
    for (int q = 0; q * NR_NEON < n; q++, d += (long)NR_NEON * kup)
        for (int u = 0; u < kup; u++)
            for (int c = 0; c < NR_NEON; c++) {
                const long col = j0 + q * NR_NEON + c;
                const bool in = q * NR_NEON + c < n;
                const float lo = in ? at_b(t, B, ldb, k0 + 2 * u, col) : 0.0f;
                const float hi = in && 2 * u + 1 < kc ? at_b(t, B, ldb, k0 + 2 * u + 1, col) : 0.0f;
                d[u * NR_NEON + c] = pair_bits(lo, hi);
            }
}

/* ---- the tile's store: C = alpha * acc + beta * C (beta 0: C not read) ---- */

static inline void store_tile(float32x4_t acc[MR_NEON][3], float *C, long ldc, float alpha, float beta, int m, int n) {
    const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
    if (n == NR_NEON) {
        for (int r = 0; r < m; r++) {
            float *p = C + r * ldc;
            for (int v = 0; v < 3; v++) {
                const float32x4_t x = beta == 0.0f ? vmulq_f32(va, acc[r][v])
                                                   : vfmaq_f32(vmulq_f32(vb, vld1q_f32(p + 4 * v)), va, acc[r][v]);
                vst1q_f32(p + 4 * v, x);
            }
        }
        return;
    }
    /* edge tile: same arithmetic, element by element (the padding of C is never touched) */
    float t[MR_NEON][NR_NEON];
    for (int r = 0; r < m; r++)
        for (int v = 0; v < 3; v++) vst1q_f32(&t[r][4 * v], acc[r][v]);
    for (int r = 0; r < m; r++)
        for (int c = 0; c < n; c++) {
            float *p = C + r * ldc + c;
            *p = beta == 0.0f ? alpha * t[r][c] : fmaf(alpha, t[r][c], beta * *p);
        }
}

/* ---- fp32 FMA microkernel ---- */

static void kern_f32(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const float *A = Ap, *B = Bp;
    float32x4_t acc[MR_NEON][3];
    for (int r = 0; r < MR_NEON; r++) acc[r][0] = acc[r][1] = acc[r][2] = vdupq_n_f32(0.0f);
    for (long k = 0; k < ku; k++, A += MR_NEON, B += NR_NEON) {
        const float32x4_t b0 = vld1q_f32(B), b1 = vld1q_f32(B + 4), b2 = vld1q_f32(B + 8);
        const float32x4_t a0 = vld1q_f32(A), a1 = vld1q_f32(A + 4);
#define FMA_ROW(r, a, lane)                                       \
        acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, a, lane);      \
        acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, a, lane);      \
        acc[r][2] = vfmaq_laneq_f32(acc[r][2], b2, a, lane);
        FMA_ROW(0, a0, 0) FMA_ROW(1, a0, 1) FMA_ROW(2, a0, 2) FMA_ROW(3, a0, 3)
        FMA_ROW(4, a1, 0) FMA_ROW(5, a1, 1) FMA_ROW(6, a1, 2) FMA_ROW(7, a1, 3)
#undef FMA_ROW
    }
    store_tile(acc, C, ldc, alpha, beta, m, n);
}

const gemm_impl lmt_gemm_impl_neon = {pack_a_f32, NULL, pack_b_f32, kern_f32, KC_F32, 1, MR_NEON, NR_NEON, 1, 1, NB_COLS, NULL, NULL, "neon"};

/* ---- BF16 extension: BFDOT on bf16 pairs ----
 * bfdot vd.4s, vn.8h, vm.2h[lane]: each fp32 lane i of vd += n[2i] m[2l] +
 * n[2i+1] m[2l+1], the two products exact. vn holds the pairs of 4 columns
 * of B, the lane the pair of one row of A. */

TGT_BF16 static void kern_bf16(long ku, const void *Ap, const void *Bp, float *C, long ldc, float alpha, float beta, int m, int n) {
    const uint32_t *A = Ap, *B = Bp;
    float32x4_t acc[MR_NEON][3];
    for (int r = 0; r < MR_NEON; r++) acc[r][0] = acc[r][1] = acc[r][2] = vdupq_n_f32(0.0f);
    for (long k = 0; k < ku; k++, A += MR_NEON, B += NR_NEON) {
        const bfloat16x8_t b0 = vreinterpretq_bf16_u32(vld1q_u32(B)), b1 = vreinterpretq_bf16_u32(vld1q_u32(B + 4)),
                           b2 = vreinterpretq_bf16_u32(vld1q_u32(B + 8));
        const bfloat16x8_t a0 = vreinterpretq_bf16_u32(vld1q_u32(A)), a1 = vreinterpretq_bf16_u32(vld1q_u32(A + 4));
#define DOT_ROW(r, a, lane)                                       \
        acc[r][0] = vbfdotq_laneq_f32(acc[r][0], b0, a, lane);    \
        acc[r][1] = vbfdotq_laneq_f32(acc[r][1], b1, a, lane);    \
        acc[r][2] = vbfdotq_laneq_f32(acc[r][2], b2, a, lane);
        DOT_ROW(0, a0, 0) DOT_ROW(1, a0, 1) DOT_ROW(2, a0, 2) DOT_ROW(3, a0, 3)
        DOT_ROW(4, a1, 0) DOT_ROW(5, a1, 1) DOT_ROW(6, a1, 2) DOT_ROW(7, a1, 3)
#undef DOT_ROW
    }
    store_tile(acc, C, ldc, alpha, beta, m, n);
}

const gemm_impl lmt_gemm_impl_neon_bf16 = {pack_a_bf16, NULL, pack_b_bf16, kern_bf16, KC_BF16, 2, MR_NEON, NR_NEON, 1, 1, NB_COLS, NULL, NULL, "neon-bf16"};

/* ---- few rows (gemm_small_fn): B streamed once, no packing ---- */

/* Four fp32 -> their bf16 roundings as fp32 (RNE, NaN stays quiet NaN: as round_bf16). */
static inline float32x4_t round_bf16_q(float32x4_t x) {
    const uint32x4_t u = vreinterpretq_u32_f32(x);
    const uint32x4_t nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)), vdupq_n_u32(0x7f800000u));
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    uint32x4_t r = vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fffu)), lsb);
    r = vbslq_u32(nan, vorrq_u32(u, vdupq_n_u32(0x00400000u)), r);
    return vreinterpretq_f32_u32(vandq_u32(r, vdupq_n_u32(0xffff0000u)));
}
#define SMALL_CHUNK 1024 /* columns per pass over B's rows (accumulators: 16 KiB at M = 4) */

/* B stored (K, N): for each k the thread's part of row k is read front to
 * back into accumulators, SMALL_CHUNK columns at a time; every column sums
 * k in order, whatever the threads' split. */
static void small_rows_stream(const gemm_job *j, const float *arows, long jlo, long jhi, bool round) {
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc;
    float acc[LMT_GEMM_SMALL_M * SMALL_CHUNK] __attribute__((aligned(16)));
    for (long j0 = jlo; j0 < jhi; j0 += SMALL_CHUNK) {
        const long n = jhi - j0 < SMALL_CHUNK ? jhi - j0 : SMALL_CHUNK, nv = n & ~3L;
        memset(acc, 0, (size_t)M * SMALL_CHUNK * sizeof(float));
        const float *b = j->B + j0;
        for (long k = 0; k < K; k++, b += ldb) {
            for (int i = 0; i < M; i++) {
                const float x = arows[i * K + k];
                float *ai = acc + i * SMALL_CHUNK;
                for (long c = 0; c < nv; c += 4) {
                    const float32x4_t bv = round ? round_bf16_q(vld1q_f32(b + c)) : vld1q_f32(b + c);
                    vst1q_f32(ai + c, vfmaq_n_f32(vld1q_f32(ai + c), bv, x));
                }
                for (long c = nv; c < n; c++) ai[c] = fmaf(x, round ? round_bf16(b[c]) : b[c], ai[c]);
            }
        }
        for (int i = 0; i < M; i++)
            for (long c = 0; c < n; c++) {
                float *cp = j->C + i * ldc + j0 + c;
                const float s = acc[i * SMALL_CHUNK + c];
                *cp = j->beta == 0.0f ? j->alpha * s : fmaf(j->alpha, s, j->beta * *cp);
            }
    }
}

void lmt_gemm_small_neon(const gemm_job *j, const float *arows, long jlo, long jhi, bool round) {
    if (!j->tb) {
        small_rows_stream(j, arows, jlo, jhi, round);
        return;
    }
    /* B stored [N,K]: C[i,j] = dot(a[i,:], B[j,:]), 4 lanes of k partial sums
     * per column, added in a fixed order at the end. */
    const int M = (int)j->M;
    const long K = j->K, ldb = j->ldb, ldc = j->ldc, kv = K & ~3L;
    for (long col = jlo; col < jhi; col++) {
        const float *bc = j->B + col * ldb;
        float32x4_t acc[LMT_GEMM_SMALL_M];
        float tail[LMT_GEMM_SMALL_M];
        for (int i = 0; i < M; i++) { acc[i] = vdupq_n_f32(0.0f); tail[i] = 0.0f; }
        for (long k = 0; k < kv; k += 4) {
            const float32x4_t bv = round ? round_bf16_q(vld1q_f32(bc + k)) : vld1q_f32(bc + k);
            for (int i = 0; i < M; i++) acc[i] = vfmaq_f32(acc[i], vld1q_f32(arows + i * K + k), bv);
        }
        for (long k = kv; k < K; k++) {
            const float b = round ? round_bf16(bc[k]) : bc[k];
            for (int i = 0; i < M; i++) tail[i] = fmaf(arows[i * K + k], b, tail[i]);
        }
        for (int i = 0; i < M; i++) {
            const float s = vaddvq_f32(acc[i]) + tail[i];
            float *cp = j->C + i * ldc + col;
            *cp = j->beta == 0.0f ? j->alpha * s : fmaf(j->alpha, s, j->beta * *cp);
        }
    }
}
#endif
