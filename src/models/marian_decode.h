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
 * row r reads source r / rows_per_src. The layers are the post-LN cached
 * layers of models/blocks/kv_layer.h; the self-attention cache
 * (models/blocks/kv_cache.h) is laid out (L, R, C) per layer,
 * position-major, so a step's new keys are one contiguous (R, C) block. With
 * 5 rows or more (beams) the decoder's matrices are packed once here for the
 * step's products.
 * Memory: 2 * Ld * R * max_len * C floats of cache, 2 * Ld * B * Ts * C of
 * cross keys/values, (R, C), (R, F) and (R, V) step buffers; no dropout, no
 * gradients. */
#ifndef LMT_MODELS_MARIAN_DECODE_H
#define LMT_MODELS_MARIAN_DECODE_H
#include <stdbool.h>
#include <stdint.h>
#include "models/blocks/kv_layer.h"
#include "models/model.h"

typedef struct lmt_marian_dec {
    struct lmt_marian *mt;          /* the encoder (the uncached model, one target position): its output only */
    int B, Ts, nb, R, L;            /* sources, source length, rows per source, rows, max decoder length */
    int C, Ld, V;                   /* V: the decoder (output) vocabulary */
    int len;                        /* positions cached so far */
    bool masked;                    /* something is padded (else no mask, as the uncached forward) */
    lmt_kv_dims dims;
    float emb_scale;
    const float *dec_embed, *dec_pos;   /* (V, C), (max_positions, C) */
    lmt_kv_layer *layers;           /* (Ld) the decoder layers, post-LN with cross attention */
    lmt_kv_linear head;             /* lm_head (V, C) + final_logits_bias */
    lmt_kv_cache *cache;            /* (Ld, L, R, C) self-attention keys / values */
    float *ck, *cv;                 /* (Ld, B*Ts, C) cross-attention keys / values */
    float *x, *logits;              /* (R, C), (R, V) */
    lmt_kv_work *work;              /* R rows */
    int att_threads;
    int32_t *mask;                  /* (B, Ts) source mask */
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
