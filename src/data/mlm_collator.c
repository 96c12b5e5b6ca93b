/* Masking collators (DataCollatorForLanguageModeling, whole-word masking,
 * pre-masked evaluation sets). See mlm_collator.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/mlm_collator.h"

lmt_mlm_opts lmt_mlm_opts_default(void) {
    lmt_mlm_opts o = {LMT_MLM_TOKENS, 0.15, 0.8, 0.1, 0.2, 0, 42};
    return o;
}

static bool in_open_unit(double p) { return p > 0.0 && p < 1.0; }
static bool in_unit(double p) { return p >= 0.0 && p <= 1.0; }

static lmt_status check_opts(const lmt_mlm_opts *o) {
    switch (o->mode) {
    case LMT_MLM_TOKENS:
        if (!in_open_unit(o->mlm_probability))
            return lmt_fail(LMT_ERR_ARG, "mlm collator: mlm_probability must be in (0, 1) (got %g)", o->mlm_probability);
        if (!in_unit(o->mask_replace_prob) || !in_unit(o->random_replace_prob))
            return lmt_fail(LMT_ERR_ARG, "mlm collator: mask_replace_prob (%g) and random_replace_prob (%g) must be in [0, 1]",
                            o->mask_replace_prob, o->random_replace_prob);
        if (o->mask_replace_prob + o->random_replace_prob > 1.0)
            return lmt_fail(LMT_ERR_ARG, "mlm collator: mask_replace_prob + random_replace_prob must not exceed 1 (got %g + %g)",
                            o->mask_replace_prob, o->random_replace_prob);
        break;
    case LMT_MLM_WHOLE_WORD:
        if (!in_open_unit(o->wwm_probability))
            return lmt_fail(LMT_ERR_ARG, "mlm collator: wwm_probability must be in (0, 1) (got %g)", o->wwm_probability);
        break;
    case LMT_MLM_PREMASKED: break;
    default: return lmt_fail(LMT_ERR_ARG, "mlm collator: unknown mode %d", (int)o->mode);
    }
    if (o->pad_to_multiple_of < 0)
        return lmt_fail(LMT_ERR_ARG, "mlm collator: pad_to_multiple_of must be positive (got %d)", o->pad_to_multiple_of);
    return LMT_OK;
}

/* An optional INTS column whose rows match input_ids in length. */
static lmt_status token_column(const lmt_dataset *ds, const lmt_ds_column *ids, const char *name, bool required,
                               const char *why, const lmt_ds_column **out) {
    *out = NULL;
    const lmt_ds_column *c = lmt_ds_col(ds, name);
    if (!c) {
        if (required) return lmt_fail(LMT_ERR_ARG, "mlm collator: the dataset has no \"%s\" column (%s)", name, why);
        return LMT_OK;
    }
    if (c->type != LMT_DS_INTS)
        return lmt_fail(LMT_ERR_ARG, "mlm collator: column \"%s\" is %s, not a token column", name, lmt_ds_type_name(c->type));
    if (c->n != ids->n) return lmt_fail(LMT_ERR_ARG, "mlm collator: column \"%s\" has %lld rows, input_ids %lld", name, (long long)c->n, (long long)ids->n);
    for (int64_t r = 0; r < ids->n; r++)
        if (lmt_col_list_len(c, r) != lmt_col_list_len(ids, r))
            return lmt_fail(LMT_ERR_ARG, "mlm collator: row %lld has %zu %s but %zu input_ids", (long long)r,
                            lmt_col_list_len(c, r), name, lmt_col_list_len(ids, r));
    *out = c;
    return LMT_OK;
}

/* Shared by the collator and lmt_mlm_mask_dataset: everything but the dataset. */
static lmt_status setup(lmt_mlm_collator *c, const lmt_tokenizer *tok, const lmt_mlm_opts *o) {
    memset(c, 0, sizeof *c);
    if (!o) return lmt_fail(LMT_ERR_ARG, "mlm collator: no options");
    LMT_TRY(check_opts(o));
    c->o = *o;
    if (!tok) return lmt_fail(LMT_ERR_ARG, "mlm collator: no tokenizer");
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    c->pad_id = sp.pad;
    c->mask_id = sp.mask;
    if (o->mode != LMT_MLM_PREMASKED && sp.mask < 0)
        return lmt_fail(LMT_ERR_ARG, "mlm collator: the tokenizer has no mask token, which masked language modeling needs");
    c->vocab_size = (int64_t)lmt_tokenizer_vocab_size(tok);
    if (c->vocab_size < 1) return lmt_fail(LMT_ERR_ARG, "mlm collator: the tokenizer has an empty vocabulary");
    int32_t all[7] = {sp.bos, sp.eos, sp.unk, sp.sep, sp.cls, sp.pad, sp.mask};
    for (int i = 0; i < 7; i++)
        if (all[i] >= 0) c->special[c->n_special++] = all[i];
    lmt_rng_seed(&c->rng, o->seed);
    return LMT_OK;
}

static lmt_status bind_columns(lmt_mlm_collator *c, const lmt_dataset *ds) {
    if (!ds) return lmt_fail(LMT_ERR_ARG, "mlm collator: no dataset");
    c->ds = ds;
    c->input_ids = lmt_ds_col(ds, "input_ids");
    if (!c->input_ids || c->input_ids->type != LMT_DS_INTS)
        return lmt_fail(LMT_ERR_ARG, "mlm collator: the dataset has no input_ids token column");
    const lmt_ds_column *ids = c->input_ids;
    LMT_TRY(token_column(ds, ids, "token_type_ids", false, "", &c->token_type_ids));
    LMT_TRY(token_column(ds, ids, "special_tokens_mask", false, "", &c->special_tokens_mask));
    LMT_TRY(token_column(ds, ids, "word_ids", c->o.mode == LMT_MLM_WHOLE_WORD,
                         "whole-word masking groups tokens by word_ids; keep it through tokenization and group_texts", &c->word_ids));
    LMT_TRY(token_column(ds, ids, "labels", c->o.mode == LMT_MLM_PREMASKED,
                         "a pre-masked evaluation set carries its labels", &c->labels));
    return LMT_OK;
}

lmt_status lmt_mlm_collator_init(lmt_mlm_collator *c, const lmt_dataset *ds, const lmt_tokenizer *tok,
                                 const lmt_mlm_opts *o) {
    if (!c) return lmt_fail(LMT_ERR_ARG, "mlm collator: no collator");
    LMT_TRY(setup(c, tok, o));
    return bind_columns(c, ds);
}

static bool is_special_id(const lmt_mlm_collator *c, int32_t id) {
    for (int i = 0; i < c->n_special; i++)
        if (c->special[i] == id) return true;
    return false;
}

/* Masks one row in place: ids[0..n) become the model's inputs, labels[0..n)
 * the original id at masked positions and -100 elsewhere. stm (may be NULL)
 * is the row's special_tokens_mask, wid its word_ids. */
static void mask_row(lmt_mlm_collator *c, int32_t *ids, int32_t *labels, size_t n, const int32_t *stm, const int32_t *wid) {
    for (size_t t = 0; t < n; t++) labels[t] = -100;
    if (c->o.mode == LMT_MLM_WHOLE_WORD) {
        /* words are runs of equal, non-None word ids: after group_texts the
         * ids restart with every example, so a change of id starts a word */
        size_t t = 0;
        while (t < n) {
            if (wid[t] < 0) { t++; continue; }
            size_t e = t + 1;
            while (e < n && wid[e] == wid[t]) e++;
            if (lmt_rng_uniform(&c->rng) < c->o.wwm_probability)
                for (size_t k = t; k < e; k++) { labels[k] = ids[k]; ids[k] = c->mask_id; }
            t = e;
        }
        return;
    }
    double pm = c->o.mask_replace_prob, pr = c->o.random_replace_prob;
    /* torch_mask_tokens draws the random replacement among the not-[MASK]
     * ones with probability random / (1 - mask) */
    double pr_scaled = pm < 1.0 ? pr / (1.0 - pm) : 0.0;
    for (size_t t = 0; t < n; t++) {
        bool special = stm ? stm[t] != 0 : is_special_id(c, ids[t]);
        if (special || lmt_rng_uniform(&c->rng) >= c->o.mlm_probability) continue;
        labels[t] = ids[t];
        if (lmt_rng_uniform(&c->rng) < pm) ids[t] = c->mask_id;
        else if (pr_scaled > 0.0 && lmt_rng_uniform(&c->rng) < pr_scaled)
            ids[t] = (int32_t)lmt_rng_below(&c->rng, (uint64_t)c->vocab_size);
    }
}

lmt_status lmt_mlm_collate(void *collator, const int64_t *idx, int n, lmt_batch *out) {
    lmt_mlm_collator *c = collator;
    memset(out, 0, sizeof *out);
    if (!c || !c->input_ids) return lmt_fail(LMT_ERR_ARG, "mlm collate: collator not initialised");
    if (n < 1 || !idx) return lmt_fail(LMT_ERR_ARG, "mlm collate: empty batch");
    const lmt_ds_column *ids = c->input_ids;
    size_t T = 0;
    bool ragged = false;
    for (int b = 0; b < n; b++) {
        if (idx[b] < 0 || idx[b] >= ids->n)
            return lmt_fail(LMT_ERR_ARG, "mlm collate: row %lld out of range (dataset has %lld rows)", (long long)idx[b], (long long)ids->n);
        size_t len = lmt_col_list_len(ids, idx[b]);
        if (b > 0 && len != T) ragged = true;
        if (len > T) T = len;
    }
    size_t m = (size_t)c->o.pad_to_multiple_of;
    if (m > 1 && T % m) {
        if (T > (size_t)INT_MAX - m) return lmt_fail(LMT_ERR_ARG, "mlm collate: sequence of %zu tokens is too long", T);
        T = (T / m + 1) * m;
    }
    if (T == 0) return lmt_fail(LMT_ERR_ARG, "mlm collate: every example of the batch is empty");
    if (T > (size_t)INT_MAX || T > SIZE_MAX / sizeof(int32_t) / (size_t)n)
        return lmt_fail(LMT_ERR_ARG, "mlm collate: batch of %d x %zu tokens is too large", n, T);
    bool padded = ragged || (m > 1 && lmt_col_list_len(ids, idx[0]) != T);
    if (padded && c->pad_id < 0)
        return lmt_fail(LMT_ERR_ARG, "mlm collate: the examples need padding but the tokenizer has no pad token");
    size_t N = (size_t)n * T;
    out->B = n;
    out->T = (int)T;
    out->input_ids = malloc(N * sizeof(int32_t));
    out->attention_mask = malloc(N * sizeof(int32_t));
    out->labels = malloc(N * sizeof(int32_t));
    if (c->token_type_ids) out->token_type_ids = calloc(N, sizeof(int32_t));
    if (!out->input_ids || !out->attention_mask || !out->labels || (c->token_type_ids && !out->token_type_ids)) {
        lmt_batch_free(out);
        return lmt_fail(LMT_ERR_NOMEM, "mlm collate: out of memory for a %d x %zu batch", n, T);
    }
    for (int b = 0; b < n; b++) {
        size_t len;
        const int32_t *src = lmt_col_ints(ids, idx[b], &len);
        int32_t *in_row = out->input_ids + (size_t)b * T, *lab = out->labels + (size_t)b * T;
        int32_t *am = out->attention_mask + (size_t)b * T;
        memcpy(in_row, src, len * sizeof(int32_t));
        for (size_t t = 0; t < T; t++) am[t] = t < len;
        for (size_t t = len; t < T; t++) { in_row[t] = c->pad_id; lab[t] = -100; }
        if (c->token_type_ids) {
            size_t l2;
            memcpy(out->token_type_ids + (size_t)b * T, lmt_col_ints(c->token_type_ids, idx[b], &l2), len * sizeof(int32_t));
        }
        size_t l3;
        if (c->o.mode == LMT_MLM_PREMASKED) {
            memcpy(lab, lmt_col_ints(c->labels, idx[b], &l3), len * sizeof(int32_t));
            continue;
        }
        const int32_t *stm = c->special_tokens_mask ? lmt_col_ints(c->special_tokens_mask, idx[b], &l3) : NULL;
        const int32_t *wid = c->word_ids ? lmt_col_ints(c->word_ids, idx[b], &l3) : NULL;
        mask_row(c, in_row, lab, len, stm, wid);
    }
    return LMT_OK;
}

static int64_t mlm_length(void *ctx, int64_t i) { return (int64_t)lmt_col_list_len(((lmt_mlm_collator *)ctx)->input_ids, i); }

lmt_train_data lmt_mlm_train_data(lmt_mlm_collator *c) {
    lmt_train_data d = {c && c->input_ids ? c->input_ids->n : 0, c, lmt_mlm_collate, mlm_length};
    return d;
}

lmt_status lmt_mlm_mask_dataset(const lmt_dataset *in, const lmt_tokenizer *tok, const lmt_mlm_opts *o,
                                lmt_dataset *out) {
    lmt_ds_init(out);
    if (o && o->mode == LMT_MLM_PREMASKED)
        return lmt_fail(LMT_ERR_ARG, "mlm mask_dataset: choose a masking mode (tokens or whole words), not pre-masked");
    lmt_mlm_collator c;
    LMT_TRY(setup(&c, tok, o));
    LMT_TRY(bind_columns(&c, in));
    const lmt_ds_column *ids = c.input_ids;
    size_t max_len = 0;
    for (int64_t r = 0; r < ids->n; r++)
        if (lmt_col_list_len(ids, r) > max_len) max_len = lmt_col_list_len(ids, r);
    int32_t *row = malloc((max_len ? max_len : 1) * sizeof(int32_t));
    int32_t *lab = malloc((max_len ? max_len : 1) * sizeof(int32_t));
    lmt_ds_column *ci = lmt_col_new("input_ids", LMT_DS_INTS), *cl = lmt_col_new("labels", LMT_DS_INTS);
    lmt_ds_column *ct = c.token_type_ids ? lmt_col_new("token_type_ids", LMT_DS_INTS) : NULL;
    lmt_status s = LMT_OK;
    if (!row || !lab || !ci || !cl || (c.token_type_ids && !ct)) {
        s = lmt_fail(LMT_ERR_NOMEM, "mlm mask_dataset: out of memory");
    } else {
        for (int64_t r = 0; r < ids->n; r++) {
            size_t len, l2;
            const int32_t *src = lmt_col_ints(ids, r, &len);
            memcpy(row, src, len * sizeof(int32_t));
            const int32_t *stm = c.special_tokens_mask ? lmt_col_ints(c.special_tokens_mask, r, &l2) : NULL;
            const int32_t *wid = c.word_ids ? lmt_col_ints(c.word_ids, r, &l2) : NULL;
            mask_row(&c, row, lab, len, stm, wid);
            lmt_col_push_ints(ci, row, len);
            lmt_col_push_ints(cl, lab, len);
            if (ct) lmt_col_push_ints(ct, lmt_col_ints(c.token_type_ids, r, &l2), len);
        }
    }
    free(row);
    free(lab);
    if (s != LMT_OK) { lmt_col_free(ci); lmt_col_free(cl); lmt_col_free(ct); return s; }
    /* lmt_ds_add_column takes ownership (and frees on failure) */
    s = lmt_ds_add_column(out, ci);
    if (s == LMT_OK) s = lmt_ds_add_column(out, cl); else lmt_col_free(cl);
    if (ct) { if (s == LMT_OK) s = lmt_ds_add_column(out, ct); else lmt_col_free(ct); }
    if (s != LMT_OK) lmt_ds_free(out);
    return s;
}
