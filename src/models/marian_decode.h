/* Incremental (key/value-cached) decoding for MarianMTModel, inference only.
 *
 * The encoder runs once per batch (through lmt_marian_forward, so it is the
 * very code the training forward and its parity tests use); each decoder
 * layer's cross-attention keys/values are projected from its output once.
 * A decode step then feeds one new token per row and attends over the
 * cached self-attention keys/values of the earlier positions:
 *
 *   y = sqrt(C) * dec_embed[tok] + dec_pos[t]                     (R, C)
 *   per layer: k/v cache[t] = k(y), v(y)
 *              y = LN_sa(y + o(attn(q(y), K[0..t], V[0..t])))
 *              y = LN_ca(y + o(attn(q(y), K_enc, V_enc)))            source padding mask
 *              y = LN_f(y + fc2(act(fc1(y))))
 *   logits = y @ lm_head^T + final_logits_bias                     (R, V_dec)
 *
 * Rows: the R = B * rows_per_src decoder rows (beams) of the B sources;
 * row r reads source r / rows_per_src. The self-attention cache is laid out
 * (L, R, C) per layer, position-major, so one attention call covers every
 * (row, head) pair (heads of all rows as one batch of R * NH heads, row
 * stride R * C) and a step's new keys are one contiguous (R, C) block.
 * Memory: 2 * Ld * R * max_len * C floats of cache, 2 * Ld * B * Ts * C of
 * cross keys/values, (R, C), (R, F) and (R, V) step buffers; no dropout, no
 * gradients. */
#ifndef LMT_MODELS_MARIAN_DECODE_H
#define LMT_MODELS_MARIAN_DECODE_H
#include <stdbool.h>
#include <stdint.h>
#include "models/marian.h"

typedef struct lmt_marian_dec {
    lmt_marian *mt;                 /* weights, and the encoder's activations (B x Ts, one target position) */
    int B, Ts, nb, R, L;            /* sources, source length, rows per source, rows, max decoder length */
    int C, NH, F, Ld, V;            /* V: the decoder (output) vocabulary */
    int len;                        /* positions cached so far */
    float *ck, *cv;                 /* (Ld, B*Ts, C) cross-attention keys / values */
    float *sk, *sv;                 /* (Ld, L, R, C) self-attention cache */
    float *x, *q, *att, *res, *h;   /* (R, C) x4, (R, F) step activations */
    float *mean, *rstd;             /* (R) */
    float *logits;                  /* (R, V) */
    float *tmp;                     /* (R, C) reorder scratch */
    float *att_scratch, *lse;
    int att_threads;
    int32_t *mask;                  /* (B, Ts) source mask */
    bool masked;                    /* something is padded (else no mask, as the uncached forward) */
    int32_t *pos;                   /* (R) */
    /* the decoder's weights packed once for the step's products (more than 4
     * rows: beams); Ld * 8 (self q k v o, cross q o, fc1, fc2) + lm_head */
    struct lmt_gemm_packed **packed;
} lmt_marian_dec;

/* A decoder for B sources of up to Ts tokens, rows_per_src rows each, up to
 * max_len decoder positions (decoder_start included). */
lmt_status lmt_marian_dec_create(lmt_model *m, int B, int Ts, int rows_per_src, int max_len, lmt_marian_dec **out);
void lmt_marian_dec_free(lmt_marian_dec *d);
/* Runs the encoder on input_ids (B, Ts) (attention_mask NULL = all 1),
 * projects the cross-attention keys/values, and empties the cache. */
lmt_status lmt_marian_dec_encode(lmt_marian_dec *d, const int32_t *input_ids, const int32_t *attention_mask);
/* One step: tokens (R) at decoder position pos, which must equal the number
 * of positions cached (0 for the decoder_start token). *logits points at
 * (R, V) owned by d, valid until the next step. */
lmt_status lmt_marian_dec_step(lmt_marian_dec *d, const int32_t *tokens, int pos, float **logits);
/* Beam reordering: row r's cache becomes old row src_rows[r]'s (r = 0..R-1;
 * src_rows[r] must be a row of the same source). */
lmt_status lmt_marian_dec_reorder(lmt_marian_dec *d, const int *src_rows);
#endif
