/* lmtune/data.h over src/data: tables are lmt_dataset, collators the data
 * module's (and the CLM block collator of train/task_clm.h). */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "core/error.h"
#include "data/translation_data.h"
#include "models/model.h"

/* A new empty handle for *out, or NULL out of memory. */
static lmt_data *data_new(void) {
    lmt_data *d = calloc(1, sizeof *d);
    if (d) lmt_ds_init(&d->ds);
    return d;
}

/* Hands ds to a new handle in *out, or frees it on failure. */
static lmt_status data_wrap(lmt_status s, lmt_dataset *ds, lmt_data **out) {
    *out = NULL;
    if (s != LMT_OK) { lmt_ds_free(ds); return s; }
    lmt_data *d = data_new();
    if (!d) { lmt_ds_free(ds); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    d->ds = *ds;
    *out = d;
    return LMT_OK;
}

lmt_status lmt_data_load(const char *path, lmt_data_format format, lmt_data **out) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_status s;
    switch (format) {
    case LMT_DATA_AUTO: s = lmt_ds_load_auto(path, LMT_TEXT_KEEP_LINEBREAKS, &ds); break;
    case LMT_DATA_TEXT: s = lmt_ds_load_text(path, LMT_TEXT_KEEP_LINEBREAKS, &ds); break;
    case LMT_DATA_WIKITEXT: s = lmt_ds_load_text(path, LMT_TEXT_WIKITEXT, &ds); break;
    case LMT_DATA_JSONL: s = lmt_ds_load_jsonl(path, &ds); break;
    case LMT_DATA_CSV: s = lmt_ds_load_csv(path, ',', &ds); break;
    case LMT_DATA_TSV: s = lmt_ds_load_csv(path, '\t', &ds); break;
    default: *out = NULL; return lmt_fail(LMT_ERR_ARG, "%s: unknown data format %d", path, (int)format);
    }
    return data_wrap(s, &ds, out);
}

lmt_status lmt_data_load_parallel(const char *src_path, const char *tgt_path, const char *src_lang, const char *tgt_lang,
                                  lmt_data **out) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    return data_wrap(lmt_ds_load_parallel(src_path, tgt_path, src_lang, tgt_lang, &ds), &ds, out);
}

void lmt_data_free(lmt_data *d) {
    if (!d) return;
    lmt_ds_free(&d->ds);
    free(d);
}

int64_t lmt_data_num_rows(const lmt_data *d) { return d->ds.n_rows; }
size_t lmt_data_num_columns(const lmt_data *d) { return d->ds.n_cols; }
const char *lmt_data_column_name(const lmt_data *d, size_t i) { return i < d->ds.n_cols ? d->ds.cols[i]->name : NULL; }
bool lmt_data_has_column(const lmt_data *d, const char *name) { return lmt_ds_col(&d->ds, name) != NULL; }

/* Column `name` of type t holding row `row`, or an error naming it. */
static lmt_status column_row(const lmt_data *d, const char *name, lmt_ds_type t, int64_t row, const lmt_ds_column **out) {
    const lmt_ds_column *c = lmt_ds_col(&d->ds, name);
    if (!c) return lmt_fail(LMT_ERR_ARG, "column \"%s\": no such column", name);
    if (c->type != t) return lmt_fail(LMT_ERR_ARG, "column \"%s\" holds %s, not %s", name, lmt_ds_type_name(c->type), lmt_ds_type_name(t));
    if (row < 0 || row >= c->n) return lmt_fail(LMT_ERR_ARG, "column \"%s\": row %lld out of range (%lld rows)", name, (long long)row, (long long)c->n);
    *out = c;
    return LMT_OK;
}

lmt_status lmt_data_get_text(const lmt_data *d, const char *column, int64_t row, const char **text, size_t *len) {
    const lmt_ds_column *c = NULL;
    LMT_TRY(column_row(d, column, LMT_DS_STR, row, &c));
    *text = lmt_col_str(c, row, len);
    return LMT_OK;
}

lmt_status lmt_data_get_ids(const lmt_data *d, const char *column, int64_t row, const int32_t **ids, size_t *n) {
    const lmt_ds_column *c = NULL;
    LMT_TRY(column_row(d, column, LMT_DS_INTS, row, &c));
    *ids = lmt_col_ints(c, row, n);
    return LMT_OK;
}

lmt_status lmt_data_select(const lmt_data *d, const int64_t *rows, int64_t n, lmt_data **out) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    return data_wrap(lmt_ds_select(&d->ds, rows, n, &ds), &ds, out);
}

lmt_status lmt_data_shuffle(const lmt_data *d, uint64_t seed, lmt_data **out) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    return data_wrap(lmt_ds_shuffle(&d->ds, seed, &ds), &ds, out);
}

/* The public size convention: (0, 1) a fraction, >= 1 a count, 0 None. */
static lmt_status split_size(double v, const char *name, lmt_split_size *out) {
    if (v == 0) *out = lmt_size_none();
    else if (v > 0 && v < 1) *out = lmt_size_fraction(v);
    else if (v >= 1 && v == (double)(int64_t)v) *out = lmt_size_count((int64_t)v);
    else return lmt_fail(LMT_ERR_ARG, "%s %g: must be a fraction in (0, 1), a whole count or 0", name, v);
    return LMT_OK;
}

lmt_status lmt_data_train_test_split(const lmt_data *d, double test_size, double train_size, uint64_t seed,
                                     lmt_data **train, lmt_data **test) {
    *train = *test = NULL;
    lmt_split_size ts, tr;
    LMT_TRY(split_size(test_size, "test_size", &ts));
    LMT_TRY(split_size(train_size, "train_size", &tr));
    lmt_dataset a, b;
    lmt_ds_init(&a);
    lmt_ds_init(&b);
    lmt_status s = lmt_ds_train_test_split(&d->ds, ts, tr, seed, &a, &b);
    if (s != LMT_OK) { lmt_ds_free(&a); lmt_ds_free(&b); return s; }
    s = data_wrap(LMT_OK, &a, train);
    if (s != LMT_OK) { lmt_ds_free(&b); return s; }
    s = data_wrap(LMT_OK, &b, test);
    if (s != LMT_OK) { lmt_data_free(*train); *train = NULL; }
    return s;
}

/* Row r of a text column as one string: a STR row as is, a STRS row joined
 * with spaces into *joined (freed by the caller). */
static lmt_status row_text(const lmt_ds_column *c, int64_t r, const char **s, size_t *len, char **joined) {
    *joined = NULL;
    if (lmt_col_is_null(c, r)) return lmt_fail(LMT_ERR_ARG, "column \"%s\": row %lld is None", c->name, (long long)r);
    if (c->type == LMT_DS_STR) { *s = lmt_col_str(c, r, len); return LMT_OK; }
    size_t n = lmt_col_list_len(c, r), total = 0, l;
    for (size_t k = 0; k < n; k++) { lmt_col_strs_at(c, r, k, &l); total += l + 1; }
    char *j = malloc(total + 1), *p = j;
    if (!j) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const char *e = lmt_col_strs_at(c, r, k, &l);
        if (k) *p++ = ' ';
        memcpy(p, e, l);
        p += l;
    }
    *p = 0;
    *s = *joined = j;
    *len = (size_t)(p - j);
    return LMT_OK;
}

lmt_status lmt_data_tokenize(const lmt_data *d, const lmt_tokenizer *tok, const char *column, int64_t max_length,
                             lmt_data **out) {
    *out = NULL;
    if (!column) column = "text";
    const lmt_ds_column *c = lmt_ds_col(&d->ds, column);
    if (!c) return lmt_fail(LMT_ERR_ARG, "column \"%s\": no such column", column);
    if (c->type != LMT_DS_STR && c->type != LMT_DS_STRS)
        return lmt_fail(LMT_ERR_ARG, "column \"%s\" holds %s, not text", column, lmt_ds_type_name(c->type));
    size_t n = (size_t)d->ds.n_rows;
    const char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    char **joined = calloc(n ? n : 1, sizeof *joined);
    lmt_encoding *enc = calloc(n ? n : 1, sizeof *enc);
    lmt_status s = texts && lens && joined && enc ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; s == LMT_OK && i < n; i++) s = row_text(c, (int64_t)i, &texts[i], &lens[i], &joined[i]);
    lmt_encode_opts eo = lmt_encode_opts_default();
    if (max_length > 0) { eo.truncation = LMT_TRUNCATE_LONGEST_FIRST; eo.max_length = max_length; }
    if (s == LMT_OK) s = lmt_tokenizer_encode_batch(tok, texts, lens, NULL, NULL, n, &eo, enc);
    lmt_dataset ds;
    lmt_ds_init(&ds);
    if (s == LMT_OK) {
        static const char *const names[] = {"input_ids", "attention_mask", "special_tokens_mask", "word_ids"};
        for (size_t k = 0; k < 4 && s == LMT_OK; k++) {
            lmt_ds_column *col = lmt_col_new(names[k], LMT_DS_INTS);
            if (!col) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
            for (size_t i = 0; i < n; i++) {
                const int32_t *v = k == 0 ? enc[i].ids : k == 1 ? enc[i].attention_mask : k == 2 ? enc[i].special_tokens_mask : enc[i].word_ids;
                lmt_col_push_ints(col, v, enc[i].n);
            }
            s = lmt_ds_add_column(&ds, col);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (enc) lmt_encoding_free(&enc[i]);
        if (joined) free(joined[i]);
    }
    free(enc); free(joined); free(lens); free(texts);
    return data_wrap(s, &ds, out);
}

lmt_status lmt_data_group_texts(const lmt_data *tokenized, int64_t block_size, lmt_data **out) {
    lmt_group_opts o = lmt_group_opts_default(block_size);
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_status s = lmt_ds_group_texts(&tokenized->ds, &o, &ds);
    if (s == LMT_OK && ds.n_rows == 0)
        s = lmt_fail(LMT_ERR_ARG, "group_texts: no block of %lld tokens (%lld rows of too few tokens)", (long long)block_size,
                     (long long)tokenized->ds.n_rows);
    return data_wrap(s, &ds, out);
}

lmt_status lmt_data_tokenize_pairs(const lmt_data *d, const lmt_tokenizer *tok, const char *source_column,
                                   const char *target_column, int64_t max_source_length, int64_t max_target_length,
                                   lmt_data **out) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    return data_wrap(lmt_translation_tokenize(&d->ds, tok, source_column, target_column, max_source_length,
                                              max_target_length, &ds),
                     &ds, out);
}

/* ---- collators ------------------------------------------------------------ */

lmt_masking_opts lmt_masking_opts_default(void) {
    lmt_mlm_opts m = lmt_mlm_opts_default();
    lmt_masking_opts o = {false, m.mlm_probability, m.mask_replace_prob, m.random_replace_prob, m.wwm_probability,
                          m.pad_to_multiple_of, m.seed};
    return o;
}

static lmt_collator *collator_new(lmt_collate_kind kind) {
    lmt_collator *c = calloc(1, sizeof *c);
    if (c) { c->kind = kind; lmt_ds_init(&c->owned); }
    return c;
}

/* Longest row of an INTS column, rounded up to a multiple of m (0: none). */
static int longest_row(const lmt_ds_column *c, int m) {
    int64_t best = 0;
    for (int64_t r = 0; c && r < c->n; r++) {
        int64_t l = (int64_t)lmt_col_list_len(c, r);
        if (l > best) best = l;
    }
    if (m > 0) best = (best + m - 1) / m * m;
    return (int)best;
}

lmt_status lmt_collator_create_clm(const lmt_data *blocks, lmt_collator **out) {
    *out = NULL;
    const lmt_ds_column *ids = lmt_ds_col(&blocks->ds, "input_ids");
    if (!ids || ids->type != LMT_DS_INTS) return lmt_fail(LMT_ERR_ARG, "causal-LM collator: the data has no input_ids column");
    if (ids->n == 0) return lmt_fail(LMT_ERR_ARG, "causal-LM collator: the data has no rows");
    size_t T = lmt_col_list_len(ids, 0);
    for (int64_t r = 1; r < ids->n; r++)
        if (lmt_col_list_len(ids, r) != T)
            return lmt_fail(LMT_ERR_ARG, "causal-LM collator: row %lld has %zu tokens, row 0 %zu (group the texts into blocks first)",
                            (long long)r, lmt_col_list_len(ids, r), T);
    if (T == 0) return lmt_fail(LMT_ERR_ARG, "causal-LM collator: empty blocks");
    lmt_collator *c = collator_new(LMT_COLLATE_CLM);
    if (!c || !(c->block_ids = malloc((size_t)ids->n * T * sizeof *c->block_ids))) {
        free(c);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    /* rows of a column are contiguous in its arena, in order */
    memcpy(c->block_ids, ids->i32 + ids->off[0], (size_t)ids->n * T * sizeof *c->block_ids);
    lmt_block_data_init(&c->blocks, c->block_ids, ids->n, (int)T);
    c->data = c->blocks.base;
    c->max_T = (int)T;
    *out = c;
    return LMT_OK;
}

static lmt_mlm_opts mlm_opts(const lmt_masking_opts *o) {
    lmt_mlm_opts m = lmt_mlm_opts_default();
    m.mode = o->whole_word ? LMT_MLM_WHOLE_WORD : LMT_MLM_TOKENS;
    m.mlm_probability = o->mlm_probability;
    m.mask_replace_prob = o->mask_replace_prob;
    m.random_replace_prob = o->random_replace_prob;
    m.wwm_probability = o->wwm_probability;
    m.pad_to_multiple_of = o->pad_to_multiple_of;
    m.seed = o->seed;
    return m;
}

/* An MLM collator over ds (the caller's table or c->owned). */
static lmt_status mlm_finish(lmt_collator *c, const lmt_dataset *ds, const lmt_tokenizer *tok, const lmt_mlm_opts *m,
                             lmt_collator **out) {
    lmt_status s = lmt_mlm_collator_init(&c->mlm, ds, tok, m);
    if (s != LMT_OK) { lmt_collator_free(c); return s; }
    c->data = lmt_mlm_train_data(&c->mlm);
    c->max_T = longest_row(lmt_ds_col(ds, "input_ids"), m->pad_to_multiple_of);
    *out = c;
    return LMT_OK;
}

lmt_status lmt_collator_create_mlm(const lmt_data *d, const lmt_tokenizer *tok, const lmt_masking_opts *o,
                                   lmt_collator **out) {
    *out = NULL;
    lmt_collator *c = collator_new(LMT_COLLATE_MLM);
    if (!c) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_mlm_opts m = mlm_opts(o);
    return mlm_finish(c, &d->ds, tok, &m, out);
}

lmt_status lmt_collator_create_mlm_fixed(const lmt_data *d, const lmt_tokenizer *tok, const lmt_masking_opts *o,
                                         lmt_collator **out) {
    *out = NULL;
    lmt_collator *c = collator_new(LMT_COLLATE_MLM);
    if (!c) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_mlm_opts m = mlm_opts(o);
    lmt_status s = lmt_mlm_mask_dataset(&d->ds, tok, &m, &c->owned);
    if (s != LMT_OK) { lmt_collator_free(c); return s; }
    m.mode = LMT_MLM_PREMASKED;
    return mlm_finish(c, &c->owned, tok, &m, out);
}

lmt_status lmt_collator_create_seq2seq(const lmt_data *d, const lmt_tokenizer *tok, const lmt_model *m,
                                       int32_t pad_to_multiple_of, lmt_collator **out) {
    *out = NULL;
    if (lmt_model_arch(m) != LMT_ARCH_MARIAN)
        return lmt_fail(LMT_ERR_ARG, "seq2seq collator: needs a MarianMTModel, not %s", lmt_arch_class_name(lmt_model_arch(m)));
    lmt_seq2seq_collator_opts o = lmt_seq2seq_collator_opts_default();
    o.pad_id = lmt_tokenizer_special_ids(tok).pad;
    o.model_pad_id = (int32_t)m->cfg.pad_token_id;
    o.decoder_start_token_id = (int32_t)m->cfg.decoder_start_token_id;
    o.pad_to_multiple_of = pad_to_multiple_of;
    lmt_collator *c = collator_new(LMT_COLLATE_SEQ2SEQ);
    if (!c) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = lmt_seq2seq_collator_init(&c->s2s, &d->ds, &o);
    if (s != LMT_OK) { lmt_collator_free(c); return s; }
    c->data = lmt_seq2seq_train_data(&c->s2s);
    c->max_T = longest_row(lmt_ds_col(&d->ds, "input_ids"), pad_to_multiple_of);
    c->max_T_dec = longest_row(lmt_ds_col(&d->ds, "labels"), pad_to_multiple_of);
    *out = c;
    return LMT_OK;
}

void lmt_collator_free(lmt_collator *c) {
    if (!c) return;
    free(c->block_ids);
    lmt_ds_free(&c->owned);
    free(c);
}

int64_t lmt_collator_num_examples(const lmt_collator *c) { return c->data.n; }

lmt_status lmt_collator_collate(lmt_collator *c, const int64_t *rows, size_t n, lmt_collated_batch *out) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= c->data.n)
            return lmt_fail(LMT_ERR_ARG, "collate: row %lld out of range (%lld examples)", (long long)rows[i], (long long)c->data.n);
    lmt_batch b = {0};
    LMT_TRY(c->data.collate(c->data.ctx, rows, (int)n, &b));
    out->batch = b.B;
    out->length = b.T;
    out->decoder_length = b.T_dec;
    out->input_ids = b.input_ids;
    out->attention_mask = b.attention_mask;
    out->labels = b.labels;
    out->token_type_ids = b.token_type_ids;
    out->decoder_input_ids = b.decoder_input_ids;
    return LMT_OK;
}

void lmt_collated_batch_free(lmt_collated_batch *b) {
    free(b->input_ids); free(b->attention_mask); free(b->labels); free(b->token_type_ids); free(b->decoder_input_ids);
    memset(b, 0, sizeof *b);
}
