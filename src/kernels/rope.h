/* Rotary position embeddings, rotate-half layout (transformers'
 * apply_rotary_pos_emb): per head of hs channels, with half = hs / 2,
 *
 *   out[i]        = x[i] cos[t][i] - x[i + half] sin[t][i]
 *   out[i + half] = x[i + half] cos[t][i] + x[i] sin[t][i]      (i < half)
 *
 * cos / sin (T, half) hold one angle per frequency (HF's tables repeat them:
 * cat(freqs, freqs)). In place; the backward applies the transposed rotation. */
#ifndef LMT_KERNELS_ROPE_H
#define LMT_KERNELS_ROPE_H

/* x (B, T, NH * hs) with row stride ld, positions 0..T-1. */
void lmt_rope_forward(float *x, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin);
/* d (same layout): the gradient of the rotated values -> of the values before it. */
void lmt_rope_backward(float *d, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin);
#endif
