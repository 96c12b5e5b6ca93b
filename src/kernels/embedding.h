/* Token + position embeddings: out[n] = scale * wte[ids[n]] + wpe[pos[n]].
 * N = B*T rows; ids already checked to lie in [0, V). */
#ifndef LMT_KERNELS_EMBEDDING_H
#define LMT_KERNELS_EMBEDDING_H
#include <stdint.h>

/* out (B, T, C); ids (B, T); wte (V, C); wpe (P, C) or NULL;
 * pos (B, T) position ids, or NULL for t = 0..T-1 in every row. */
void lmt_embedding_forward(float *out, const int32_t *ids, const int32_t *pos, const float *wte, const float *wpe,
                           float scale, int B, int T, int C);
/* dwte (V, C) += scale * scatter(dout); dwpe (P, C) += scatter(dout) unless NULL. */
void lmt_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *ids, const int32_t *pos,
                            float scale, int B, int T, int C);
#endif
