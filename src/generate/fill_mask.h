/* Scoring for the fill-mask pipeline: at each mask position, the softmax of
 * the logits over the vocabulary and its top_k entries, ordered as
 * torch.topk orders them (FillMaskPipeline.postprocess:
 * probs = logits.softmax(-1); probs.topk(top_k)). */
#ifndef LMT_GENERATE_FILL_MASK_H
#define LMT_GENERATE_FILL_MASK_H
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_fill_mask_pred {
    double score;      /* softmax probability */
    int32_t token_id;
} lmt_fill_mask_pred;

/* Positions of mask_id in ids[0..n) into *pos (caller frees). Fails when
 * there is none (the pipeline's "No mask_token found on the input"). */
lmt_status lmt_fill_mask_positions(const int32_t *ids, int n, int32_t mask_id, int **pos, int *n_pos);
/* logits (T, V) row-major; for each positions[i] writes
 * out[i * top_k .. (i + 1) * top_k) best first. 1 <= top_k <= V. */
lmt_status lmt_fill_mask_topk(const float *logits, int T, int V, const int *positions, int n_pos, int top_k,
                              lmt_fill_mask_pred *out);
#endif
