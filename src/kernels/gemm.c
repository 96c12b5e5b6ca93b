/* lmtune's own GEMM: fp32 (AMX-BF16 tiles on an exact three-part bf16
 * split of each value, or AVX-512 FMA, or AVX2 FMA) and bf16 mixed
 * precision (AMX-BF16 tiles, or AVX512_BF16 vdpbf16ps, or fp32 FMA on
 * values rounded to bf16 while packing), BLIS-style blocking.
 *
 * Layout (row-major C[M,N] += op(A)[M,K] op(B)[K,N]); the vector dimension is
 * N (C rows are contiguous). The AVX-512 microkernels load NR = 48 columns of
 * B (3 zmm) and broadcast MR = 8 values of A: 24 zmm accumulators. The AMX
 * microkernel keeps a 32x32 block of C in four 16x16 tiles; the AVX2 one
 * 6 rows x 16 columns in 12 ymm accumulators (gemm_avx2.c).
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
 * each thread runs the loops above on its share. Cut along N, each thread
 * packs the rows of A it needs (A is the smaller operand there). Cut along
 * M, the team packs each B block once, every thread a share of its panels,
 * and meets at a barrier before using it and before the next block
 * overwrites it: packing the whole block in every thread gave each thread
 * as much packing as one thread alone does (docs/PERFORMANCE.md, the
 * Llama section's 2026-12-05 Zen 4 figures). The tile grid does not depend
 * on the thread count, so results are bit-identical for any number of
 * threads.
 *
 * The SIMD code is compiled with function-level target attributes and chosen
 * at run time, so the library builds and runs on any x86-64 (and elsewhere:
 * the portable C path) with or without -march=native. */
#include "kernels/gemm_impl.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include "core/cpu.h"


/* ---- dispatch: the best implementation at the active level (core/cpu.h) ---- */

static int no_bf16_insn = 0;
void lmt_gemm_force_fp32_units(bool on) { __atomic_store_n(&no_bf16_insn, on, __ATOMIC_RELEASE); }

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
    const lmt_isa l = lmt_isa_active();
    const bool bf16_units = !__atomic_load_n(&no_bf16_insn, __ATOMIC_ACQUIRE);
#if LMT_GEMM_X86
    if (l >= LMT_ISA_AMX && bf16_units) {
        if (!bf16 && f32_on_amx()) return &lmt_gemm_impl_amx_x6;
        if (bf16) return &lmt_gemm_impl_amx;
    }
    if (l >= LMT_ISA_AVX512)
        return bf16 && bf16_units && lmt_cpu_has_avx512bf16() ? &lmt_gemm_impl_avx512bf16 : &lmt_gemm_impl_avx512f;
    if (l >= LMT_ISA_AVX2) return &lmt_gemm_impl_avx2;   /* bf16: rounded while packing */
#endif
#if defined(__aarch64__)
    if (l >= LMT_ISA_NEON)
        return bf16 && bf16_units && lmt_cpu_has_arm_bf16() ? &lmt_gemm_impl_neon_bf16 : &lmt_gemm_impl_neon;
#endif
    (void)bf16;
    (void)l;
    (void)bf16_units;
    return &lmt_gemm_impl_generic;
}

/* The few-row kernel at the active level; NULL: such products go through packing. */
static gemm_small_fn pick_small(void) {
#if LMT_GEMM_X86
    const lmt_isa l = lmt_isa_active();
    if (l >= LMT_ISA_AVX512) return lmt_gemm_small_avx512;
    if (l >= LMT_ISA_AVX2) return lmt_gemm_small_avx2;
#endif
#if defined(__aarch64__)
    if (lmt_isa_active() >= LMT_ISA_NEON) return lmt_gemm_small_neon;
#endif
    return NULL;
}

const char *lmt_gemm_isa(bool bf16) { return pick(bf16)->name; }

/* bf16 pairs (kgrp 2) are the layout only the bf16 dot-product units read */
bool lmt_gemm_bf16_arithmetic(void) { return pick(true)->kgrp == 2; }

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

/* Packed units per panel row for kc values of k: pairs (bf16) or values,
 * rounded up to the implementation's alignment. */
static inline long packed_units(const gemm_impl *im, long kc) {
    return ((kc + im->kgrp - 1) / im->kgrp + im->kalign - 1) / im->kalign * im->kalign;
}
/* Rows per packed A block: whole mr panels (AVX2's mr is 6). */
static inline long a_block_rows(const gemm_impl *im) { return (MB_MAX + im->mr - 1) / im->mr * im->mr; }
/* Bytes of one packed B block (the largest K block, nb_cols columns). */
static inline size_t b_block_bytes(const gemm_impl *im) {
    return (size_t)packed_units(im, im->kc) * im->nb_cols * 4 * im->planes;
}

/* ---- driver ---- */

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

/* B blocks packed once for the whole team (M split between the threads):
 * every thread packs its share of each block's panels into buf, and the
 * team meets at a barrier before using the block and before the next one
 * overwrites it. All threads run the same blocks (nblk_i row blocks; a
 * thread whose rows ran out still packs and waits). */
typedef struct {
    uint32_t *buf;
    int tid, nth;
    long nblk_i;   /* row blocks of the largest share */
    int *failed;   /* set by a thread that could not get its A buffer */
} shared_b;

/* One thread's product (a block of C); false when out of memory. */
static bool gemm_block(const gemm_job *j, const shared_b *sb) {
    const gemm_impl *im = j->im;
    const int kc_max = im->kc, mr = im->mr, nr = im->nr, planes = im->planes;
    const long kup_max = packed_units(im, kc_max);
    const long nb_pan = im->nb_cols / nr;
    const long mb_max = a_block_rows(im);
    const long mrows = ((j->M < mb_max ? j->M : mb_max) + mr - 1) / mr * mr;
    uint32_t *abuf = j->M > 0 ? buf_get(&tls_a, (size_t)mrows * kup_max * 4 * planes) : NULL;
    uint32_t *bbuf = sb ? sb->buf : j->pb ? NULL : buf_get(&tls_b, b_block_bytes(im));
    if (sb) {   /* the team stops together, or not at all */
        if (!abuf && j->M > 0) __atomic_store_n(sb->failed, 1, __ATOMIC_RELAXED);
#pragma omp barrier
        if (__atomic_load_n(sb->failed, __ATOMIC_RELAXED)) return false;
    } else if (!abuf || (!bbuf && !j->pb)) {
        return false;
    }
    if (im->begin) im->begin();
    const long nblk_i = sb ? sb->nblk_i : (j->M + mb_max - 1) / mb_max;
    for (long ib = 0; ib < nblk_i; ib++) {
        const long i0 = ib * mb_max;
        const long mb = j->M - i0 <= 0 ? 0 : j->M - i0 < mb_max ? j->M - i0 : mb_max;
        const long mpan = (mb + mr - 1) / mr;
        for (long k0 = 0; k0 < j->K; k0 += kc_max) {
            const int kc = (int)(j->K - k0 < kc_max ? j->K - k0 : kc_max);
            const long kup = packed_units(im, kc);
            const float beta = k0 == 0 ? j->beta : 1.0f;
            if (mb > 0 && im->pack_a_block) {
                im->pack_a_block(j->ta, j->A, j->lda, i0, (int)mb, k0, kc, j->conv, abuf);
            } else if (mb > 0) {
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
                if (j->pb) {
                    bb = packed_panel(j->pb, k0, kup, (j->col0 + j0) / nr);
                } else if (sb) {   /* this thread's panels of the block, then the whole block */
                    const long per = (npb + sb->nth - 1) / sb->nth, q0 = sb->tid * per < npb ? sb->tid * per : npb;
                    const long q1 = q0 + per < npb ? q0 + per : npb;
                    if (q1 > q0) {
                        const long c1 = q1 * nr < nb ? q1 * nr : nb;
                        im->pack_b(j->tb, j->B, j->ldb, k0, kc, j0 + q0 * nr, (int)(c1 - q0 * nr), j->conv,
                                   bbuf + q0 * nr * kup * planes);
                    }
#pragma omp barrier
                } else {
                    im->pack_b(j->tb, j->B, j->ldb, k0, kc, j0, (int)nb, j->conv, bbuf);
                }
                for (long p = 0; p < mpan; p++) {   /* an A micro-panel stays in L1 */
                    const long r = mb - p * mr;
                    for (long q = 0; q < npb; q++) {   /* the B panels stream from L2 */
                        const long c = nb - q * nr;
                        im->kern(kup, abuf + p * mr * kup * planes, bb + q * nr * kup * planes,
                                 j->C + (i0 + p * mr) * j->ldc + j0 + q * nr, j->ldc, j->alpha, beta,
                                 (int)(r < mr ? r : mr), (int)(c < nr ? c : nr));
                    }
                }
                if (sb) {
#pragma omp barrier
                }
            }
        }
    }
    if (im->end) im->end();
    return true;
}

/* Thread tid's block of C: the larger of M and N is split into equal shares
 * of whole mr / nr tiles (so the tile grid, and every element's summation
 * order, is the same for any thread count). Split along N, every thread
 * packs the rows of A it needs; split along M, the team packs each B block
 * once (shared_b) unless B came packed. */
static bool gemm_part(const gemm_job *j, int tid, int nth, bool split_m, const shared_b *sb) {
    gemm_job s = *j;
    const long unit = split_m ? j->im->mr : j->im->nr, len = split_m ? j->M : j->N;
    const long tiles = (len + unit - 1) / unit, per = (tiles + nth - 1) / nth;
    const long lo = tid * per * unit < len ? tid * per * unit : len;
    const long hi = lo + per * unit < len ? lo + per * unit : len;
    if (hi <= lo && !sb) return true;
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
    return gemm_block(&s, sb);
}

/* ---- few rows (generation: one token per sequence): no packing ----
 * With M <= LMT_GEMM_SMALL_M rows, packing B (all of the lm_head's 50257 x
 * 768, every token) costs more than the product. The rows of op(A) are
 * copied once (rounded to bf16 if asked) and each thread streams its share
 * of B's columns once (gemm_small_fn). Every C element is summed in a fixed
 * order whatever the threads' column split. */
#define SMALL_COLS 64   /* the threads split the columns in multiples of this */

/* Copies the M rows of op(A) contiguously (rounded to bf16 if asked). */
static void small_m_rows(const gemm_job *j, float *arows, bool round) {
    for (long i = 0; i < j->M; i++)
        for (long k = 0; k < j->K; k++) {
            float v = at_a(j->ta, j->A, j->lda, i, k);
            arows[i * j->K + k] = round ? round_bf16(v) : v;
        }
}

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
    const gemm_small_fn small = M <= LMT_GEMM_SMALL_M ? pick_small() : NULL;
    if (small) {
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
                if (lo < hi) small(&j, arows, lo, hi, bf16);
            }
            return;
        }
    }
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
        failed = !gemm_part(&j, 0, 1, split_m, NULL);
    } else {
        /* the shared B blocks live in the calling thread's buffer (thread 0 of the team) */
        const gemm_impl *im = j.im;
        uint32_t *sbuf = split_m && !j.pb ? buf_get(&tls_b, b_block_bytes(im)) : NULL;
        const long mb_max = a_block_rows(im);
        const long share = ((M + im->mr - 1) / im->mr + nth - 1) / nth * im->mr;   /* thread 0's rows: the most */
        int sb_failed = 0;
#pragma omp parallel num_threads(nth) reduction(+ : failed)
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            shared_b sb = {sbuf, t, nt, ((share < M ? share : M) + mb_max - 1) / mb_max, &sb_failed};
            failed += !gemm_part(&j, t, nt, split_m, sbuf && nt == nth ? &sb : NULL);
        }
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
    p->kup_max = packed_units(im, im->kc);
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
            const long kup = packed_units(im, kc);
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
