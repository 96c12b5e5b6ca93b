/* The rank-r products of an adapter (see lowrank.h).
 *
 * Each product is one inner loop shape: acc[i] += a_i(t) * v(t) over the
 * long dimension t, with v(t) a short row (a chunk of r, or of the output
 * width) held in vector registers and a_i(t) a scalar broadcast, for a tile
 * of rows i. Every output is then one sum over t, first to last (FMA-fused:
 * CMake compiles this file with -ffp-contract=fast), however the work is
 * tiled or shared out: results are independent of the thread count.
 *
 * The chunks are GCC vector types of 16, 8 and 4 floats (lowered to what the
 * level has: one zmm, two ymm or four xmm for 16), with a scalar tail. */
#include <string.h>
#include "kernels/lowrank.h"
#include "kernels/parallel.h"
#include "kernels/variant.h"

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
/* their unaligned forms, for loads and stores straight from the rows (a
 * memcpy compiles to narrower moves at some levels, which then stall the
 * wide load on store forwarding) */
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef float v4u __attribute__((vector_size(16), aligned(4)));

/* The level's vectors: VW floats in one register (vf); a chunk of 16 / 8
 * columns is 16 / VW or 8 / VW of them. RB: rows per tile, as many
 * independent accumulator chains as the registers hold for a 16-wide chunk. */
#if defined(__AVX512F__)
typedef v16 vf;
typedef v16u vfu;
#define VW 16
#define RB 8
#elif defined(__AVX2__)
typedef v8 vf;
typedef v8u vfu;
#define VW 8
#define RB 4
#else
typedef v4 vf;
typedef v4u vfu;
#define VW 4
#define RB 2
#endif

/* out[i][0..W) += sum_t a[i*sa + t*sb] * v[t*ldv + 0..W), i < RB, with NV
 * vectors of type VT per row (W = NV * lanes): the sum continues from what
 * out holds, so a long dimension done in chunks sums as in one */
#define LOWRANK_TILE(W, VT, NV)                                                                             \
    static inline void tile##W(float (*out)[16], const float *a, long sa, long sb, const float *v, long ldv, \
                               long T) {                                                                  \
        VT acc[RB][NV];                                                                                   \
        for (int i = 0; i < RB; i++)                                                                      \
            for (int e = 0; e < NV; e++) acc[i][e] = ((const VT##u *)out[i])[e];                          \
        for (long t = 0; t < T; t++) {                                                                    \
            const VT##u *vp = (const VT##u *)(v + t * ldv);                                               \
            VT vv[NV];                                                                                    \
            for (int e = 0; e < NV; e++) vv[e] = vp[e];                                                   \
            for (int i = 0; i < RB; i++) {                                                                \
                float x = a[i * sa + t * sb];                                                             \
                for (int e = 0; e < NV; e++) acc[i][e] += x * vv[e];                                      \
            }                                                                                             \
        }                                                                                                 \
        for (int i = 0; i < RB; i++)                                                                      \
            for (int e = 0; e < NV; e++) ((VT##u *)out[i])[e] = acc[i][e];                                \
    }
#if VW == 16
LOWRANK_TILE(16, v16, 1)
LOWRANK_TILE(8, v8, 1)
#elif VW == 8
LOWRANK_TILE(16, v8, 2)
LOWRANK_TILE(8, v8, 1)
#else
LOWRANK_TILE(16, v4, 4)
LOWRANK_TILE(8, v4, 2)
#endif
LOWRANK_TILE(4, v4, 1)

/* the same for `rows` (<= RB) rows and w columns, scalar */
static void tile_tail(float (*out)[16], int rows, int w, const float *a, long sa, long sb, const float *v, long ldv,
                      long T) {
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < w; c++) {
            float s = out[i][c];
            for (long t = 0; t < T; t++) s += a[i * sa + t * sb] * v[t * ldv + c];
            out[i][c] = s;
        }
}

/* one chunk of w columns (16, 8, 4, or fewer: the tail) for `rows` rows */
static inline void tile(float (*out)[16], int rows, int w, const float *a, long sa, long sb, const float *v, long ldv,
                        long T) {
    if (rows < RB || w < 4) tile_tail(out, rows, w, a, sa, sb, v, ldv, T);
    else if (w == 16) tile16(out, a, sa, sb, v, ldv, T);
    else if (w == 8) tile8(out, a, sa, sb, v, ldv, T);
    else tile4(out, a, sa, sb, v, ldv, T);
}

static inline int chunk(int left) { return left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left; }

/* dst (rows, n) = drop(src (rows, stride ld)), the mask of element (row0 + i) * D + col0 + k */
static void drop_block(float *dst, const float *src, long ld, int rows, int n, long row0, long D, long col0,
                       uint32_t seed, uint32_t thr, float scale) {
    for (int i = 0; i < rows; i++) {
        uint32_t base = (uint32_t)((row0 + i) * D + col0);
#pragma omp simd
        for (int k = 0; k < n; k++)
            dst[(size_t)i * n + k] = lmt_lowrank_keep(seed, base + (uint32_t)k, thr) ? src[i * ld + k] * scale : 0.0f;
    }
}

/* columns of X per masked chunk of a projection's rows (dropout) */
enum { KB = 256 };

void LMT_KERNEL_FN(lmt_lowrank_project)(float *H, const float *X, const float *M, float alpha, int N, int K, int r,
                                        float p, uint64_t seed) {
    uint32_t s32 = lmt_lowrank_seed(seed), thr = lmt_lowrank_threshold(p);
    float scale = 1.0f / (1.0f - p);
    long tiles = (N + RB - 1) / RB;
#pragma omp parallel for schedule(static) if ((long)N * K * r >= LMT_PAR_MIN)
    for (long b = 0; b < tiles; b++) {
        long n0 = b * RB;
        int rows = N - n0 < RB ? (int)(N - n0) : RB;
        float out[RB][16], buf[RB * KB];
        for (int j0 = 0, w; j0 < r; j0 += w) {
            w = chunk(r - j0);
            memset(out, 0, sizeof out);
            if (p <= 0.0f) {
                tile(out, rows, w, X + n0 * K, K, 1, M + j0, r, K);
            } else {
                for (int k0 = 0; k0 < K; k0 += KB) {   // the rows' dropped values a chunk at a time
                    int kb = K - k0 < KB ? K - k0 : KB;
                    drop_block(buf, X + n0 * K + k0, K, rows, kb, n0, K, k0, s32, thr, scale);
                    tile(out, rows, w, buf, kb, 1, M + (size_t)k0 * r + j0, r, kb);
                }
            }
            for (int i = 0; i < rows; i++)
                for (int c = 0; c < w; c++) H[(n0 + i) * r + j0 + c] = alpha * out[i][c];
        }
    }
}

/* The outer product runs across X's columns in vectors (G's rows are X's
 * columns): a tile is OJ rows of G by OV vectors, each step t one row of X
 * (OV loads) and OJ broadcasts of H[t]; threads own column slices of X, in
 * chunks of OCH columns and blocks of TB rows (a masked copy of that block
 * when dropout is on, built once for every row of G). */
#if defined(__AVX512F__)
#define OV 4
#else
#define OV 2
#endif
#define OJ 4
enum { TB = 64, OCH = 256 };

/* G[j0 + jj][o .. o + nv vectors) += sum_t h[t*r + jj] * x[t*ldx + ..], jj < nj */
static inline void outer_tile(float *G, long D, const float *x, long ldx, const float *h, int r, long T, int nj, int nv) {
    vf acc[OJ][OV];
    for (int jj = 0; jj < nj; jj++)
        for (int v = 0; v < nv; v++) acc[jj][v] = ((const vfu *)(G + jj * D))[v];
    for (long t = 0; t < T; t++) {
        vf xv[OV];
        for (int v = 0; v < nv; v++) xv[v] = ((const vfu *)(x + t * ldx))[v];
        for (int jj = 0; jj < nj; jj++) {
            float hb = h[t * r + jj];
            for (int v = 0; v < nv; v++) acc[jj][v] += hb * xv[v];
        }
    }
    for (int jj = 0; jj < nj; jj++)
        for (int v = 0; v < nv; v++) ((vfu *)(G + jj * D))[v] = acc[jj][v];
}

/* the full tile, with constant trip counts (registers) */
static inline void outer_tile_full(float *G, long D, const float *x, long ldx, const float *h, int r, long T) {
    outer_tile(G, D, x, ldx, h, r, T, OJ, OV);
}

void LMT_KERNEL_FN(lmt_lowrank_outer)(float *G, const float *X, const float *H, int N, int D, int r, float p,
                                      uint64_t seed) {
    uint32_t s32 = lmt_lowrank_seed(seed), thr = lmt_lowrank_threshold(p);
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel if ((long)N * D * r >= LMT_PAR_MIN)
    {
        long c0, c1;
        lmt_thread_slice(D, VW, &c0, &c1);   // this thread's columns of X (of G)
        float buf[TB * OCH];
        for (long oc = c0; oc < c1; oc += OCH) {
            long ow = c1 - oc < OCH ? c1 - oc : OCH;
            for (long t0 = 0; t0 < N; t0 += TB) {
                long T = N - t0 < TB ? N - t0 : TB;
                const float *x = X + t0 * D + oc, *h = H + t0 * r;
                long ldx = D;
                if (p > 0.0f) {   // the block's dropped values, (T, ow)
                    drop_block(buf, x, D, (int)T, (int)ow, t0, D, oc, s32, thr, scale);
                    x = buf;
                    ldx = ow;
                }
                long o = 0, full = ow / VW * VW;
                for (; o + OV * VW <= full; o += OV * VW) {
                    int j = 0;
                    for (; j + OJ <= r; j += OJ) outer_tile_full(G + (size_t)j * D + oc + o, D, x + o, ldx, h + j, r, T);
                    for (; j < r; j++) outer_tile(G + (size_t)j * D + oc + o, D, x + o, ldx, h + j, r, T, 1, OV);
                }
                for (; o < full; o += VW)
                    for (int j = 0; j < r; j++) outer_tile(G + (size_t)j * D + oc + o, D, x + o, ldx, h + j, r, T, 1, 1);
                for (; o < ow; o++)   // columns past the last vector, scalar
                    for (int j = 0; j < r; j++) {
                        float g = G[(size_t)j * D + oc + o];
                        for (long t = 0; t < T; t++) g += h[t * r + j] * x[t * ldx + o];
                        G[(size_t)j * D + oc + o] = g;
                    }
            }
        }
    }
}

/* an expand tile: RB rows by EB vectors of columns */
#define EB 2
#define CW (EB * VW)

/* acc = h (RB rows, stride r) V (r, columns d.. of stride D) */
static inline void expand_tile(vf acc[RB][EB], const float *h, const float *V, int r, int D) {
    for (int i = 0; i < RB; i++)
        for (int e = 0; e < EB; e++) acc[i][e] = (vf){0};
    for (int j = 0; j < r; j++) {
        const vfu *vp = (const vfu *)(V + (size_t)j * D);
        vf vv[EB];
        for (int e = 0; e < EB; e++) vv[e] = vp[e];
        for (int i = 0; i < RB; i++) {
            float x = h[i * r + j];
            for (int e = 0; e < EB; e++) acc[i][e] += x * vv[e];
        }
    }
}

void LMT_KERNEL_FN(lmt_lowrank_expand)(float *Y, bool add, const float *init, const float *H, const float *V, int N, int D,
                                       int r, float p, uint64_t seed) {
    uint32_t s32 = lmt_lowrank_seed(seed), thr = lmt_lowrank_threshold(p);
    bool drop = p > 0.0f;
    float scale = drop ? 1.0f / (1.0f - p) : 1.0f;
    long tiles = (N + RB - 1) / RB;
#pragma omp parallel for schedule(static) if ((long)N * D * r >= LMT_PAR_MIN)
    for (long b = 0; b < tiles; b++) {
        long n0 = b * RB;
        int rows = N - n0 < RB ? (int)(N - n0) : RB, d = 0;
        float t[RB][CW];
        for (; rows == RB && d + CW <= D; d += CW) {
            vf acc[RB][EB];
            expand_tile(acc, H + n0 * r, V + d, r, D);
            for (int i = 0; i < RB; i++)
                for (int e = 0; e < EB; e++) ((vfu *)t[i])[e] = acc[i][e];
            for (int i = 0; i < RB; i++) {
                float *y = Y + (n0 + i) * D + d;
                uint32_t base = (uint32_t)((n0 + i) * D + d);
#pragma omp simd
                for (int c = 0; c < CW; c++) {
                    float v = drop ? (lmt_lowrank_keep(s32, base + (uint32_t)c, thr) ? t[i][c] * scale : 0.0f) : t[i][c];
                    y[c] = (add ? y[c] : 0.0f) + (init ? init[d + c] : 0.0f) + v;
                }
            }
        }
        for (int i = 0; i < rows; i++)   // the remaining columns (and a last partial tile), scalar
            for (int c = d; c < D; c++) {
                float s = 0.0f;
                for (int j = 0; j < r; j++) s += H[(n0 + i) * r + j] * V[(size_t)j * D + c];
                size_t at = (size_t)(n0 + i) * D + c;
                if (drop) s = lmt_lowrank_keep(s32, (uint32_t)at, thr) ? s * scale : 0.0f;
                Y[at] = (add ? Y[at] : 0.0f) + (init ? init[c] : 0.0f) + s;
            }
    }
}
