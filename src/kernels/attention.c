#include <math.h>
#include <string.h>
#include "kernels/attention.h"
#include "kernels/dropout.h"
#include "kernels/fastmath.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "kernels/variant.h"

static int n_threads(const lmt_attention_shape *s) { return s->threads > 0 ? s->threads : omp_get_max_threads(); }

/* Threads for the (batch, head) loop: one when the matmul backend threads
 * each product itself (concurrent callers would fight over its pool). */
static int loop_threads(const lmt_attention_shape *s) { return lmt_matmul_threads() > 1 ? 1 : n_threads(s); }

/* Query rows per block: the scores of one block (QB x Tk) stay in L2, and a
 * causal block only computes the keys its last row can see. */
enum { QB = 64 };

static inline int q_block(const lmt_attention_shape *s) { return s->Tq < QB ? s->Tq : QB; }

/* the same at every level: one copy (kernels/variant.h) */
#if LMT_KERNEL_ONCE
size_t lmt_attention_scratch_floats(const lmt_attention_shape *s) {
    return (size_t)n_threads(s) * 2 * (size_t)q_block(s) * (size_t)s->Tk;
}
#endif

/* Keys that query row i may see: [0, *end) minus padded keys. */
static inline int row_end(const lmt_attention_shape *s, int i) {
    if (!s->causal) return s->Tk;
    int e = i + (s->Tk - s->Tq) + 1;
    return e < 0 ? 0 : (e > s->Tk ? s->Tk : e);
}

/* ... and from *start on: the sliding window (0 without one), and the
 * query's own sequence in a row of packed ones. */
static inline int row_start(const lmt_attention_shape *s, int b, int i) {
    int st = 0;
    if (s->causal && s->window > 0) st = i + (s->Tk - s->Tq) - s->window + 1;
    if (s->seg_start) {
        int g = s->seg_start[(size_t)b * s->Tq + i];
        st = g > st ? g : st;
    }
    return st < 0 ? 0 : st;
}

static inline uint64_t drop_index(const lmt_attention_shape *s, int b, int h, int i) {
    return (((uint64_t)b * s->NH + h) * s->Tq + i) * s->Tk;
}

void LMT_KERNEL_FN(lmt_attention_forward)(float *out, float *lse, const float *q, const float *k, const float *v,
                                          const lmt_attention_shape *s, float *scratch) {
    int B = s->B, NH = s->NH, Tq = s->Tq, Tk = s->Tk, hs = s->hs, qb = q_block(s);
    int nblk = (Tq + qb - 1) / qb;
#pragma omp parallel for schedule(dynamic, 1) num_threads(loop_threads(s)) if ((double)s->B * s->NH * s->Tq * s->Tk * s->hs >= 4.0 * LMT_PAR_MIN)
    for (long job = 0; job < (long)B * NH * nblk; job++) {
        long bh = job / nblk;
        int b = (int)(bh / NH), h = (int)(bh % NH), i0 = (int)(job % nblk) * qb;
        int nq = Tq - i0 < qb ? Tq - i0 : qb;
        int kend = row_end(s, i0 + nq - 1);               // keys any row of the block sees
        int k0 = row_start(s, b, i0) < kend ? row_start(s, b, i0) : 0;   // ... from here (starts never decrease)
        float *P = scratch + (size_t)omp_get_thread_num() * 2 * qb * Tk;   // (nq, kend), row stride Tk
        const float *Q = q + ((size_t)b * Tq + i0) * s->ldq + h * hs;
        const float *K = k + (size_t)b * Tk * s->ldk + h * hs;
        const float *V = v + (size_t)b * Tk * s->ldv + h * hs;
        float *O = out + ((size_t)b * Tq + i0) * s->ldo + h * hs;
        const int32_t *km = s->key_mask ? s->key_mask + (size_t)b * Tk : NULL;
        if (kend == 0) {   // no key visible to the whole block
            for (int i = 0; i < nq; i++) {
                memset(O + (size_t)i * s->ldo, 0, (size_t)hs * sizeof(float));
                lse[(size_t)bh * Tq + i0 + i] = -INFINITY;
            }
            continue;
        }
        lmt_sgemm(false, true, nq, kend - k0, hs, s->scale, Q, s->ldq, K + (size_t)k0 * s->ldk, s->ldk, 0.0f, P + k0, Tk);
        for (int ii = 0; ii < nq; ii++) {
            int i = i0 + ii;
            float *p = P + (size_t)ii * Tk;
            int end = row_end(s, i), start = row_start(s, b, i);
            float mx = -INFINITY;
            for (int j = start; j < end; j++)
                if (!km || km[j]) mx = p[j] > mx ? p[j] : mx;
            if (mx == -INFINITY) {      // every key masked: zero output
                memset(p + k0, 0, (size_t)(kend - k0) * sizeof(float));
                lse[(size_t)bh * Tq + i] = -INFINITY;
                continue;
            }
            float sum = 0.0f;
            for (int j = k0; j < start; j++) p[j] = 0.0f;   // outside the sliding window / sequence
            if (km) {
                for (int j = start; j < end; j++) { p[j] = km[j] ? lmt_expf(p[j] - mx) : 0.0f; sum += p[j]; }
            } else {
#pragma omp simd reduction(+:sum)
                for (int j = start; j < end; j++) { p[j] = lmt_expf(p[j] - mx); sum += p[j]; }
            }
            float inv = 1.0f / sum;
#pragma omp simd
            for (int j = k0; j < end; j++) p[j] *= inv;
            for (int j = end; j < kend; j++) p[j] = 0.0f;
            lse[(size_t)bh * Tq + i] = mx + logf(sum);
            if (s->dropout > 0.0f) {
                for (int j = 0; j < k0; j++) p[j] = 0.0f;   // the mask's row covers every key from 0
                lmt_dropout_row(p, (size_t)end, s->dropout, s->seed, drop_index(s, b, h, i));
            }
        }
        lmt_sgemm(false, false, nq, hs, kend - k0, 1.0f, P + k0, Tk, V + (size_t)k0 * s->ldv, s->ldv, 0.0f, O, s->ldo);
    }
}

/* The backward runs over (batch, head) pairs, query blocks in turn inside a
 * pair: dK and dV of a pair collect every block's share without races. */
void LMT_KERNEL_FN(lmt_attention_backward)(float *dq, float *dk, float *dv, const float *dout, const float *lse, const float *q,
                                           const float *k, const float *v, const lmt_attention_shape *s, float *scratch) {
    int B = s->B, NH = s->NH, Tq = s->Tq, Tk = s->Tk, hs = s->hs, qb = q_block(s);
    float p_drop = s->dropout;
#pragma omp parallel for schedule(dynamic, 1) num_threads(loop_threads(s)) if ((double)s->B * s->NH * s->Tq * s->Tk * s->hs >= 4.0 * LMT_PAR_MIN)
    for (long bh = 0; bh < (long)B * NH; bh++) {
        int b = (int)(bh / NH), h = (int)(bh % NH);
        float *P = scratch + (size_t)omp_get_thread_num() * 2 * qb * Tk;   // (nq, kend), row stride Tk
        float *dP = P + (size_t)qb * Tk;
        const float *K = k + (size_t)b * Tk * s->ldk + h * hs;
        const float *V = v + (size_t)b * Tk * s->ldv + h * hs;
        float *dK = dk + (size_t)b * Tk * s->ldk + h * hs;
        float *dV = dv + (size_t)b * Tk * s->ldv + h * hs;
        const int32_t *km = s->key_mask ? s->key_mask + (size_t)b * Tk : NULL;
        for (int i0 = 0; i0 < Tq; i0 += qb) {
            int nq = Tq - i0 < qb ? Tq - i0 : qb;
            int kend = row_end(s, i0 + nq - 1);
            if (kend == 0) continue;
            int k0 = row_start(s, b, i0) < kend ? row_start(s, b, i0) : 0;
            const float *Q = q + ((size_t)b * Tq + i0) * s->ldq + h * hs;
            const float *dO = dout + ((size_t)b * Tq + i0) * s->ldo + h * hs;
            float *dQ = dq + ((size_t)b * Tq + i0) * s->ldq + h * hs;
            /* recompute the probabilities from the saved log-sum-exp */
            lmt_sgemm(false, true, nq, kend - k0, hs, s->scale, Q, s->ldq, K + (size_t)k0 * s->ldk, s->ldk, 0.0f, P + k0, Tk);
            lmt_sgemm(false, true, nq, kend - k0, hs, 1.0f, dO, s->ldo, V + (size_t)k0 * s->ldv, s->ldv, 0.0f, dP + k0, Tk);
            for (int ii = 0; ii < nq; ii++) {
                int i = i0 + ii;
                float *p = P + (size_t)ii * Tk, *dp = dP + (size_t)ii * Tk;
                float l = lse[(size_t)bh * Tq + i];
                int end = l == -INFINITY ? 0 : row_end(s, i), start = row_start(s, b, i) < end ? row_start(s, b, i) : end;
                if (p_drop > 0.0f)   // the mask's row covers every key from 0
                    for (int j = 0; j < k0; j++) { p[j] = 0.0f; dp[j] = 0.0f; }
                int lo = p_drop > 0.0f ? 0 : k0;
                for (int j = lo; j < start; j++) p[j] = 0.0f;   // outside the sliding window / sequence
                if (km) {
                    for (int j = start; j < end; j++) p[j] = km[j] ? lmt_expf(p[j] - l) : 0.0f;
                } else {
#pragma omp simd
                    for (int j = start; j < end; j++) p[j] = lmt_expf(p[j] - l);
                }
                for (int j = (end > k0 ? end : k0); j < kend; j++) { p[j] = 0.0f; dp[j] = 0.0f; }
                /* dp holds d(dropped probabilities); take it through the mask */
                if (p_drop > 0.0f) lmt_dropout_row(dp, (size_t)end, p_drop, s->seed, drop_index(s, b, h, i));
                float d = 0.0f;   // sum_j p_j dp_j
#pragma omp simd reduction(+:d)
                for (int j = lo; j < end; j++) d += p[j] * dp[j];
#pragma omp simd
                for (int j = lo; j < end; j++) dp[j] = p[j] * (dp[j] - d);   // d(scores)
                if (p_drop > 0.0f)   // P becomes the dropped probabilities for dV
                    lmt_dropout_row(p, (size_t)end, p_drop, s->seed, drop_index(s, b, h, i));
            }
            size_t ko = (size_t)k0;
            lmt_sgemm(true, false, kend - k0, hs, nq, 1.0f, P + ko, Tk, dO, s->ldo, 1.0f, dV + ko * s->ldv, s->ldv);
            lmt_sgemm(false, false, nq, hs, kend - k0, s->scale, dP + ko, Tk, K + ko * s->ldk, s->ldk, 1.0f, dQ, s->ldq);
            lmt_sgemm(true, false, kend - k0, hs, nq, s->scale, dP + ko, Tk, Q, s->ldq, 1.0f, dK + ko * s->ldk, s->ldk);
        }
    }
}
