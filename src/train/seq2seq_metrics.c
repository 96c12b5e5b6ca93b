/* Seq2SeqTrainer generation metrics; see seq2seq_metrics.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "eval/bleu.h"
#include "train/dist.h"
#include "train/dist_shard.h"
#include "train/seq2seq_metrics.h"

static void free_rows(lmt_seq2seq_metrics *c) {
    for (size_t i = 0; i < c->cap_rows; i++) {
        if (c->gen_rows) free(c->gen_rows[i]);
        if (c->label_rows) free(c->label_rows[i]);
    }
    free(c->gen_rows);
    free(c->label_rows);
    free(c->gen_lens);
    free(c->label_lens);
    c->gen_rows = c->label_rows = NULL;
    c->gen_lens = c->label_lens = NULL;
    c->n_rows = c->cap_rows = 0;
}

static void free_texts(lmt_seq2seq_metrics *c) {
    for (size_t i = 0; i < c->n_texts; i++) {
        if (c->predictions) free(c->predictions[i]);
        if (c->references) free(c->references[i]);
    }
    free(c->predictions);
    free(c->references);
    c->predictions = c->references = NULL;
    c->n_texts = 0;
}

void lmt_seq2seq_metrics_free(lmt_seq2seq_metrics *c) {
    if (!c) return;
    free_texts(c);
    free_rows(c);
    memset(c, 0, sizeof *c);
}

bool lmt_tokenizer_dir_cleans_up(const char *tok_dir) {
    char *p = lmt_path_join(tok_dir, "tokenizer_config.json");
    lmt_json *j = NULL;
    bool on = false;
    if (p && lmt_file_exists(p) && lmt_json_parse_file(p, &j) == LMT_OK) {
        const lmt_json *v = lmt_json_get(j, "clean_up_tokenization_spaces");
        on = v && v->type == LMT_JSON_BOOL && v->boolean;
    }
    lmt_json_free(j);
    free(p);
    lmt_clear_error();
    return on;
}

/* A model without generation_config.json (made from a config.json):
 * GenerationConfig.from_model_config takes the generation settings that
 * config.json carries (older checkpoints such as opus-mt-en-fr keep
 * bad_words_ids, num_beams, max_length there). lmt_s2s_gen_opts_from_model
 * reads generation_config.json only, so they are taken here. */
static lmt_status config_generation_settings(lmt_seq2seq_metrics *c, const lmt_model *m) {
    const lmt_json *raw = m->cfg.raw, *v;
    if (m->generation_config || !raw) return LMT_OK;
    if ((v = lmt_json_get(raw, "forced_eos_token_id")) && v->type == LMT_JSON_NUMBER && v->is_int) c->gen.forced_eos_token_id = (int32_t)v->i64;
    if ((v = lmt_json_get(raw, "num_beams")) && v->type == LMT_JSON_NUMBER && v->is_int) c->gen.num_beams = (int)v->i64;
    if ((v = lmt_json_get(raw, "max_length")) && v->type == LMT_JSON_NUMBER && v->is_int) c->gen.max_length = (int)v->i64;
    const lmt_json *bw = lmt_json_get(raw, "bad_words_ids");
    if (!bw || bw->type == LMT_JSON_NULL) return LMT_OK;
    if (bw->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "config.json: bad_words_ids is not a list of lists of token ids");
    int total = 0;
    for (size_t i = 0; i < bw->len; i++) {
        const lmt_json *w = &bw->items[i];
        if (w->type != LMT_JSON_ARRAY || w->len == 0)
            return lmt_fail(LMT_ERR_FORMAT, "config.json: bad_words_ids[%zu] is not a non-empty list of token ids", i);
        if (c->gen.n_bad_words >= LMT_S2S_MAX_BAD_WORDS || total + (int)w->len > LMT_S2S_MAX_BAD_WORDS * 4)
            return lmt_fail(LMT_ERR_FORMAT, "config.json: bad_words_ids has more than %d sequences / %d tokens", LMT_S2S_MAX_BAD_WORDS,
                            LMT_S2S_MAX_BAD_WORDS * 4);
        for (size_t k = 0; k < w->len; k++) {
            if (w->items[k].type != LMT_JSON_NUMBER || !w->items[k].is_int)
                return lmt_fail(LMT_ERR_FORMAT, "config.json: bad_words_ids[%zu][%zu] is not a token id", i, k);
            c->bad_words[total++] = (int32_t)w->items[k].i64;
        }
        c->bad_word_lens[c->gen.n_bad_words++] = (int)w->len;
    }
    c->gen.bad_words = c->bad_words;
    c->gen.bad_word_lens = c->bad_word_lens;
    return LMT_OK;
}

lmt_status lmt_seq2seq_metrics_init(lmt_seq2seq_metrics *c, lmt_model *m, const lmt_tokenizer *tok, int num_beams,
                                    int max_length) {
    memset(c, 0, sizeof *c);
    if (!m || !tok) return lmt_fail(LMT_ERR_ARG, "seq2seq metrics: missing model or tokenizer");
    if (m->cfg.arch != LMT_ARCH_MARIAN)
        return lmt_fail(LMT_ERR_ARG, "predict_with_generate needs a Marian model, got %s", lmt_arch_class_name(m->cfg.arch));
    c->model = m;
    c->tok = tok;
    /* generation_config.json, its bad_words_ids included (config_bad_words) */
    c->gen = lmt_s2s_gen_opts_from_model(m);
    LMT_TRY(config_generation_settings(c, m));
    if (num_beams < 0) return lmt_fail(LMT_ERR_ARG, "generation_num_beams / num_beams must be at least 1 (got %d)", num_beams);
    if (num_beams > 0) c->gen.num_beams = num_beams;
    if (max_length > 0) { c->gen.max_length = max_length; c->gen.max_new_tokens = 0; }
    if (c->gen.num_beams < 1) return lmt_fail(LMT_ERR_ARG, "num_beams must be at least 1 (the generation config has %d)", c->gen.num_beams);
    if (c->gen.max_length < 2)
        return lmt_fail(LMT_ERR_ARG, "generation_max_length %d leaves no token to generate (at least 2)", c->gen.max_length);
    if (m->cfg.max_positions > 0 && c->gen.max_length > m->cfg.max_positions)
        return lmt_fail(LMT_ERR_ARG, "generation_max_length %d is beyond the model's max_position_embeddings (%lld)",
                        c->gen.max_length, (long long)m->cfg.max_positions);
    c->gen.num_return_sequences = 1;
    /* A model without generation_config.json (made from a config) is saved
     * with one holding the settings this evaluation generates with, so
     * that translate on the saved folder decodes as eval_bleu was measured
     * (transformers would save from_model_config's: 1 beam, max_length 20). */
    if (!m->generation_config) {
        lmt_json *g = lmt_model_generation_config_default(m);
        if (!g || lmt_json_object_set(g, "num_beams", lmt_json_new_int(c->gen.num_beams)) != LMT_OK ||
            lmt_json_object_set(g, "max_length", lmt_json_new_int(c->gen.max_length)) != LMT_OK) {
            lmt_json_free(g);
            return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
        m->generation_config = g;
    }
    return LMT_OK;
}

/* Length of the whitespace character (as Python's str.isspace) that starts
 * at p (n bytes left), or 0. */
static size_t space_len(const unsigned char *p, size_t n) {
    if (n >= 1 && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r') || (p[0] >= 0x1c && p[0] <= 0x1f))) return 1;
    if (n >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0)) return 2;
    if (n >= 3 && p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80) return 3;                        /* U+1680 */
    if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3;                                                                                /* U+2000-200A, 2028, 2029, 202F */
    if (n >= 3 && p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) return 3;                        /* U+205F */
    if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) return 3;                        /* U+3000 */
    return 0;
}

/* Python's str.strip() (decoded text is valid UTF-8) */
static char *strip_dup(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t a = 0, b = n, k;
    while (a < b && (k = space_len(s + a, b - a)) > 0) a += k;
    for (bool again = true; again && b > a;) {
        again = false;
        for (size_t w = 1; w <= 3 && w <= b - a; w++)
            if (space_len(s + b - w, w) == w) { b -= w; again = true; break; }
    }
    char *r = malloc(b - a + 1);
    if (!r) return NULL;
    memcpy(r, s + a, b - a);
    r[b - a] = '\0';
    return r;
}

static lmt_status decode_row(const lmt_seq2seq_metrics *c, const int32_t *ids, int n, int32_t pad, char **out) {
    /* -100 (label padding) becomes the pad token, which decoding skips */
    int32_t *row = malloc((size_t)(n ? n : 1) * sizeof *row);
    if (!row) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) row[i] = ids[i] == -100 ? pad : ids[i];
    char *s = NULL;
    size_t sl = 0;
    lmt_status st = lmt_tokenizer_decode(c->tok, row, (size_t)n, true, c->clean_up_tokenization_spaces, &s, &sl);
    free(row);
    if (st != LMT_OK) return st;
    *out = strip_dup(s ? s : "", s ? sl : 0);
    free(s);
    return *out ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
}

static int32_t *dup_row(const int32_t *ids, int n) {
    int32_t *r = malloc((size_t)(n ? n : 1) * sizeof *r);
    if (r && n) memcpy(r, ids, (size_t)n * sizeof *r);
    return r;
}

lmt_status lmt_seq2seq_prediction_step(void *ctx, lmt_trainer *t, const lmt_batch *b, int64_t start) {
    lmt_seq2seq_metrics *c = ctx;
    if (start == 0) {   /* a new evaluation: room for this rank's shard */
        free_rows(c);
        int64_t bs = t->args.per_device_eval_batch_size, W = lmt_dist_world_size();
        size_t cap = (size_t)(lmt_shard_num_batches(t->eval->n, bs, (int)W) * bs);
        if (cap < (size_t)b->B) cap = (size_t)b->B;
        c->gen_rows = calloc(cap, sizeof *c->gen_rows);
        c->label_rows = calloc(cap, sizeof *c->label_rows);
        c->gen_lens = calloc(cap, sizeof *c->gen_lens);
        c->label_lens = calloc(cap, sizeof *c->label_lens);
        if (!c->gen_rows || !c->label_rows || !c->gen_lens || !c->label_lens) { free_rows(c); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
        c->cap_rows = cap;
    }
    if (!c->gen_rows || start < 0 || start + b->B > (int64_t)c->cap_rows)
        return lmt_fail(LMT_ERR_ARG, "seq2seq metrics: evaluation batch at row %lld outside the shard's %zu rows", (long long)start, c->cap_rows);
    int32_t *gen = NULL;
    int gl = 0;
    /* prediction_step generates from input_ids + attention_mask (decoder inputs dropped) */
    lmt_status s = lmt_seq2seq_generate(c->model, b->input_ids, b->attention_mask, b->B, b->T, &c->gen, &gen, &gl, NULL);
    for (int r = 0; r < b->B && s == LMT_OK; r++) {
        size_t i = (size_t)start + (size_t)r;
        free(c->gen_rows[i]);
        free(c->label_rows[i]);
        c->gen_rows[i] = dup_row(gen + (size_t)r * gl, gl);
        c->label_rows[i] = dup_row(b->labels + (size_t)r * b->T_dec, b->T_dec);
        c->gen_lens[i] = gl;
        c->label_lens[i] = b->T_dec;
        if (!c->gen_rows[i] || !c->label_rows[i]) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (i + 1 > c->n_rows) c->n_rows = i + 1;
    }
    free(gen);
    return s;
}

/* This rank's rows as one int32 message, as evaluation_loop holds them after
 * nested_concat (rows padded to the widest with -100):
 *   [rows, gen width, label width, rows x gen width, rows x label width] */
static lmt_status pack_rows(const lmt_seq2seq_metrics *c, int32_t **out, size_t *len) {
    size_t R = c->n_rows, gw = 0, lw = 0;
    for (size_t i = 0; i < R; i++) {
        if (!c->gen_rows[i]) return lmt_fail(LMT_ERR_ARG, "seq2seq metrics: shard row %zu has no prediction", i);
        if ((size_t)c->gen_lens[i] > gw) gw = (size_t)c->gen_lens[i];
        if ((size_t)c->label_lens[i] > lw) lw = (size_t)c->label_lens[i];
    }
    *len = 3 + R * (gw + lw);
    int32_t *m = malloc(*len * sizeof *m);
    if (!m) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    m[0] = (int32_t)R, m[1] = (int32_t)gw, m[2] = (int32_t)lw;
    int32_t *g = m + 3, *l = g + R * gw;
    for (size_t i = 0; i < R; i++) {
        for (size_t k = 0; k < gw; k++) g[i * gw + k] = (int)k < c->gen_lens[i] ? c->gen_rows[i][k] : -100;
        for (size_t k = 0; k < lw; k++) l[i * lw + k] = (int)k < c->label_lens[i] ? c->label_rows[i][k] : -100;
    }
    *out = m;
    return LMT_OK;
}

/* Decodes every rank's rows (msg: the ranks' pack_rows messages one after
 * the other) into the set's order, the wrapped-round duplicates dropped
 * (lmt_shard_position; gather_for_metrics). */
static lmt_status decode_gathered(lmt_seq2seq_metrics *c, const int32_t *msg, const size_t *counts, int W, int64_t bs, int64_t n) {
    int32_t pad = lmt_tokenizer_special_ids(c->tok).pad;   /* compute_metrics' tokenizer.pad_token_id */
    if (pad < 0) pad = c->gen.pad_token_id;
    const int32_t *m = msg;
    lmt_status s = LMT_OK;
    for (int r = 0; r < W && s == LMT_OK; m += counts[r], r++) {
        size_t R = (size_t)m[0], gw = (size_t)m[1], lw = (size_t)m[2];
        if (counts[r] != 3 + R * (gw + lw)) return lmt_fail(LMT_ERR_FORMAT, "seq2seq metrics: rank %d sent a malformed gather", r);
        const int32_t *g = m + 3, *l = g + R * gw;
        for (size_t i = 0; i < R && s == LMT_OK; i++) {
            int64_t pos = lmt_shard_position((int64_t)i, n, bs, W, r);
            if (pos < 0) continue;
            if (c->predictions[pos]) return lmt_fail(LMT_ERR_ARG, "seq2seq metrics: evaluation example %lld generated twice", (long long)pos);
            const int32_t *row = g + i * gw;
            for (size_t k = 0; k < gw; k++) c->gen_tokens += row[k] != pad && row[k] != -100;
            s = decode_row(c, row, (int)gw, pad, &c->predictions[pos]);
            if (s == LMT_OK) s = decode_row(c, l + i * lw, (int)lw, pad, &c->references[pos]);
        }
    }
    return s;
}

lmt_status lmt_seq2seq_compute_metrics(void *ctx, lmt_trainer *t, lmt_eval_output *out) {
    lmt_seq2seq_metrics *c = ctx;
    if (!t->eval || t->eval->n == 0) return lmt_fail(LMT_ERR_ARG, "no evaluation dataset");
    if (!c->gen_rows) return lmt_fail(LMT_ERR_ARG, "seq2seq metrics: no predictions (set prediction_step)");
    int64_t n = t->eval->n;
    int W = lmt_dist_world_size();
    free_texts(c);
    c->gen_tokens = 0;
    c->predictions = calloc((size_t)n, sizeof *c->predictions);
    c->references = calloc((size_t)n, sizeof *c->references);
    size_t *counts = calloc((size_t)W, sizeof *counts);
    if (!c->predictions || !c->references || !counts) { free(counts); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    c->n_texts = (size_t)n;
    int32_t *mine = NULL, *all = NULL;
    size_t len = 0;
    lmt_status s = pack_rows(c, &mine, &len);
    if (s == LMT_OK) s = lmt_dist_allgatherv_i32(mine, len, &all, counts, "the generation gather");
    if (s == LMT_OK) s = decode_gathered(c, all, counts, W, t->args.per_device_eval_batch_size, n);
    free(mine);
    free(all);
    free(counts);
    LMT_TRY(s);
    for (size_t i = 0; i < c->n_texts; i++)
        if (!c->predictions[i] || !c->references[i])
            return lmt_fail(LMT_ERR_ARG, "seq2seq metrics: evaluation example %zu has no prediction", i);
    const char *const *refs[1] = {(const char *const *)c->references};
    lmt_bleu_result br;
    LMT_TRY(lmt_bleu_corpus((const char *const *)c->predictions, c->n_texts, refs, 1, NULL, &br));
    LMT_TRY(lmt_eval_add_metric(out, "bleu", lmt_round_metric(br.score, 4)));
    return lmt_eval_add_metric(out, "gen_len", lmt_round_metric(c->gen_tokens / (double)c->n_texts, 4));
}

lmt_status lmt_seq2seq_write_predictions(const lmt_seq2seq_metrics *c, const char *path) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (size_t i = 0; i < c->n_texts; i++) {
        lmt_sb_puts(&b, c->predictions[i]);
        lmt_sb_putc(&b, '\n');
    }
    lmt_status s = b.oom ? lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path) : lmt_write_file_atomic(path, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    return s;
}
