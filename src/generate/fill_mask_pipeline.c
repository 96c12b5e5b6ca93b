#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "generate/fill_mask.h"
#include "generate/fill_mask_pipeline.h"
#include "models/encoder_mlm.h"

void lmt_fill_mask_output_free(lmt_fill_mask_output *o) {
    if (!o) return;
    for (long i = 0; o->results && i < (long)o->n_masks * o->top_k; i++) {
        free(o->results[i].token_str);
        free(o->results[i].sequence);
    }
    free(o->results);
    memset(o, 0, sizeof *o);
}

/* The strings of one proposition: the pipeline decodes the ids with the
 * mask replaced and the padding filtered out. */
static lmt_status describe(const lmt_tokenizer *tok, const int32_t *ids, int n, int at, int32_t pad, bool single,
                           bool clean_up, int32_t *scratch, lmt_fill_mask_result *r) {
    size_t len;
    LMT_TRY(lmt_tokenizer_decode(tok, &r->token, 1, false, clean_up, &r->token_str, &len));
    int k = 0;
    for (int i = 0; i < n; i++) {
        int32_t id = i == at ? r->token : ids[i];
        if (id != pad) scratch[k++] = id;
    }
    return lmt_tokenizer_decode(tok, scratch, (size_t)k, single, clean_up, &r->sequence, &len);
}

lmt_status lmt_fill_mask(lmt_model *m, const lmt_tokenizer *tok, const char *text, int top_k, bool clean_up,
                         lmt_fill_mask_output *out) {
    memset(out, 0, sizeof *out);
    if (!m || !tok || !text) return lmt_fail(LMT_ERR_ARG, "fill-mask: model, tokenizer and text are required");
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    if (sp.mask < 0)
        return lmt_fail(LMT_ERR_ARG, "fill-mask: the tokenizer has no mask token; fill-mask needs one ([MASK] or <mask>)");
    lmt_arch a = m->cfg.arch;
    if (a != LMT_ARCH_BERT && a != LMT_ARCH_ROBERTA && a != LMT_ARCH_DISTILBERT)
        return lmt_fail(LMT_ERR_ARG, "fill-mask needs a masked-LM model (BERT, RoBERTa, DistilBERT), got %s",
                        lmt_arch_class_name(a));
    lmt_encode_opts opts = lmt_encode_opts_default();
    lmt_encoding enc = {0};
    LMT_TRY(lmt_tokenizer_encode(tok, text, strlen(text), NULL, 0, &opts, &enc));
    lmt_status s = LMT_OK;
    int *pos = NULL, n_pos = 0;
    lmt_encoder_mlm *e = NULL;
    int32_t *scratch = NULL;
    int T = (int)enc.n;
    if (enc.n == 0 || enc.n > (size_t)m->cfg.max_positions) {
        s = lmt_fail(LMT_ERR_ARG, "fill-mask: the text is %zu tokens; the model takes 1 to %lld", enc.n,
                     (long long)m->cfg.max_positions);
        goto done;
    }
    s = lmt_fill_mask_positions(enc.ids, T, sp.mask, &pos, &n_pos);
    if (s != LMT_OK) {
        s = lmt_fail(LMT_ERR_ARG, "fill-mask: no mask token (%s) in the input \"%.60s\"",
                     lmt_tokenizer_id_to_token(tok, sp.mask), text);
        goto done;
    }
    if ((s = lmt_encoder_mlm_create(m, 1, T, false, &e)) != LMT_OK) goto done;
    if (top_k < 1 || top_k > e->V) {
        s = lmt_fail(LMT_ERR_ARG, "fill-mask: top_k %d outside 1..%d (the vocabulary)", top_k, e->V);
        goto done;
    }
    const int32_t *types = e->TV > 0 ? enc.type_ids : NULL;
    if ((s = lmt_encoder_mlm_forward(e, LMT_I32, enc.ids, enc.attention_mask, types, NULL, 1, T, false)) != LMT_OK)
        goto done;
    lmt_fill_mask_pred *pred = calloc((size_t)n_pos * (size_t)top_k, sizeof *pred);
    out->results = calloc((size_t)n_pos * (size_t)top_k, sizeof *out->results);
    scratch = malloc((size_t)T * sizeof *scratch);
    if (!pred || !out->results || !scratch) {
        free(pred);
        s = lmt_fail(LMT_ERR_NOMEM, "fill-mask: out of memory");
        goto done;
    }
    out->n_masks = n_pos;
    out->top_k = top_k;
    s = lmt_fill_mask_topk(e->logits, T, e->V, pos, n_pos, top_k, pred);
    for (int i = 0; s == LMT_OK && i < n_pos; i++)
        for (int k = 0; s == LMT_OK && k < top_k; k++) {
            lmt_fill_mask_result *r = &out->results[(size_t)i * top_k + k];
            r->score = pred[(size_t)i * top_k + k].score;
            r->token = pred[(size_t)i * top_k + k].token_id;
            s = describe(tok, enc.ids, T, pos[i], sp.pad, n_pos == 1, clean_up, scratch, r);
        }
    free(pred);
done:
    if (s != LMT_OK) lmt_fill_mask_output_free(out);
    free(scratch);
    free(pos);
    lmt_encoder_mlm_free(e);
    lmt_encoding_free(&enc);
    return s;
}
