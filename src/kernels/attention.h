/* Multi-head scaled dot-product attention with a fused masked softmax, one
 * (batch, head) pair at a time through lmt_sgemm. Masking follows
 * transformers' default (sdpa) attention: a masked score is excluded
 * (HF adds the dtype minimum, whose exp is 0), and a query row whose keys are
 * all masked (left padding) outputs zeros, as torch's sdpa does.
 *
 * Only the log-sum-exp of each score row is kept for the backward, which
 * recomputes the probabilities: memory kept per layer is O(B * NH * Tq), and
 * the per-thread scratch holds two blocks of 64 query rows x Tk scores while
 * they are used, so memory grows linearly with the sequence length. Causal
 * blocks compute only the keys their rows can see (half the products). */
#ifndef LMT_KERNELS_ATTENTION_H
#define LMT_KERNELS_ATTENTION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lmt_attention_shape {
    int B, NH, Tq, Tk, hs;      /* batch, heads, query/key lengths, head size */
    /* Row strides (floats) of q, k, v and out (and of their gradients):
     * element (b, t, h, d) of q is q[(b*Tq + t)*ldq + h*hs + d]. GPT-2's fused
     * (B, T, 3C) qkv gives q = qkv, k = qkv + C, v = qkv + 2C, all ld 3C. */
    int ldq, ldk, ldv, ldo;
    float scale;                /* on q.k, usually 1/sqrt(hs) */
    bool causal;                /* query i sees keys j <= i + (Tk - Tq) */
    int window;                 /* sliding window (causal only): and keys j > i + (Tk - Tq) - window; 0 = none */
    const int32_t *key_mask;    /* (B, Tk): 0 = padded key; NULL = none */
    /* (B, Tq), self-attention (Tq == Tk): the first key query i may see, the
     * start of its sequence in a row of packed sequences (transformers'
     * packed-sequence mask); non-decreasing along a row. NULL = none */
    const int32_t *seg_start;
    float dropout;              /* dropout on the probabilities (training) */
    uint64_t seed;              /* dropout seed; the backward must get the same */
    int threads;                /* threads to use; 0 = omp_get_max_threads() (scratch is sized by it) */
} lmt_attention_shape;

/* Scratch floats lmt_attention_forward/backward need (for all threads). */
size_t lmt_attention_scratch_floats(const lmt_attention_shape *s);

/* out (B, Tq, NH*hs with stride ldo); lse (B, NH, Tq) kept for the backward. */
void lmt_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                           const lmt_attention_shape *s, float *scratch);
/* dq, dk, dv += gradients (strides as q, k, v); dout has stride ldo. */
void lmt_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *lse, const float *q,
                            const float *k, const float *v, const lmt_attention_shape *s, float *scratch);
#endif
