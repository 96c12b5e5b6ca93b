/* Loading WordPiece tokenizers: tokenizer.json (model "WordPiece") or
 * vocab.txt (+ tokenizer_config.json) as transformers 5's BertTokenizer
 * builds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/utf8.h"

static int32_t wp_vocab_id(const lmt_tokenizer *t, const char *tok) {
    int64_t id;
    return lmt_strmap_get(t->bpe.vocab, tok, strlen(tok), &id) ? (int32_t)id : -1;
}

static lmt_status set_prefix(lmt_tokenizer *t, const char *prefix) {
    free(t->wp.prefix);
    if (!(t->wp.prefix = lmt_strdup(prefix))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->wp.prefix_len = strlen(prefix);
    return LMT_OK;
}

static lmt_status finish_vocab(lmt_tokenizer *t, const char *unk, const char *src) {
    t->wp.max_token_len = 0;
    for (size_t i = 0; i < t->bpe.n_ids; i++)
        if (t->bpe.id_to_token[i]) {
            size_t l = strlen(t->bpe.id_to_token[i]);
            if (l > t->wp.max_token_len) t->wp.max_token_len = l;
        }
    t->wp.unk_id = wp_vocab_id(t, unk);
    if (t->wp.unk_id < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: the unknown token \"%s\" is not in the vocabulary", src, unk);
    return LMT_OK;
}

/* The template [CLS]:0 $A:0 [SEP]:0 ($B:1 [SEP]:1), through the
 * BertProcessing parser that builds exactly that. */
static lmt_status bert_template(lmt_post *p, int32_t cls, int32_t sep, const char *src) {
    char js[160];
    snprintf(js, sizeof js, "{\"type\":\"BertProcessing\",\"cls\":[\"c\",%d],\"sep\":[\"s\",%d]}", (int)cls, (int)sep);
    lmt_json *j;
    LMT_TRY(lmt_json_parse(js, strlen(js), src, &j));
    lmt_status s = lmt_post_parse(p, j, src, NULL, NULL);
    lmt_json_free(j);
    return s;
}

static lmt_status wp_load_stages(lmt_tokenizer *t, const lmt_json *j, const char *path);

lmt_status lmt_wp_load_json(lmt_tokenizer *t, const lmt_json *j, const lmt_json *model, const char *path) {
    LMT_TRY(lmt_wp_load_model_json(t, model, path));
    return wp_load_stages(t, j, path);
}

lmt_status lmt_wp_load_model_json(lmt_tokenizer *t, const lmt_json *model, const char *path) {
    t->model = LMT_TOK_WORDPIECE;
    t->kind = LMT_TOKENIZER_BERT;
    const lmt_json *v = lmt_json_get(model, "vocab");
    if (!v || v->type != LMT_JSON_OBJECT || !v->len) return lmt_fail(LMT_ERR_FORMAT, "%s: model.vocab must be a non-empty object of token -> id", path);
    LMT_TRY(lmt_bpe_init(&t->bpe, v->len));
    for (size_t i = 0; i < v->len; i++) {
        const lmt_json *id = &v->items[i];
        if (id->type != LMT_JSON_NUMBER || !id->is_int)
            return lmt_fail(LMT_ERR_FORMAT, "%s: the id of token \"%.40s\" is not an integer", path, v->keys[i]);
        LMT_TRY(lmt_bpe_add_token(&t->bpe, v->keys[i], v->key_lens[i], (int32_t)id->i64, path));
    }
    const char *unk = NULL, *prefix = NULL;
    int64_t max_chars = 100;
    LMT_TRY(lmt_json_get_str(model, "unk_token", "[UNK]", path, &unk));
    LMT_TRY(lmt_json_get_str(model, "continuing_subword_prefix", "##", path, &prefix));
    LMT_TRY(lmt_json_get_int(model, "max_input_chars_per_word", 100, path, &max_chars));
    if (max_chars < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: model.max_input_chars_per_word is negative", path);
    t->wp.max_chars = (size_t)max_chars;
    LMT_TRY(set_prefix(t, prefix));
    return finish_vocab(t, unk, path);
}

static lmt_status wp_load_stages(lmt_tokenizer *t, const lmt_json *j, const char *path) {
    const lmt_json *norm = lmt_json_get(j, "normalizer");
    if (norm && norm->type != LMT_JSON_NULL) {
        const char *nt = NULL;
        if (norm->type == LMT_JSON_OBJECT) LMT_TRY(lmt_json_get_str(norm, "type", NULL, path, &nt));
        if (!nt || strcmp(nt, "BertNormalizer")) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: normalizer \"%s\" is not supported for WordPiece (BertNormalizer)", path, nt ? nt : "?");
        t->norm.enabled = true;
        LMT_TRY(lmt_json_get_bool(norm, "clean_text", true, path, &t->norm.clean_text));
        LMT_TRY(lmt_json_get_bool(norm, "handle_chinese_chars", true, path, &t->norm.handle_chinese_chars));
        LMT_TRY(lmt_json_get_bool(norm, "lowercase", true, path, &t->norm.lowercase));
        const lmt_json *sa = lmt_json_get(norm, "strip_accents");
        t->norm.strip_accents = (!sa || sa->type == LMT_JSON_NULL) ? t->norm.lowercase : false;
        if (sa && sa->type != LMT_JSON_NULL) LMT_TRY(lmt_json_get_bool(norm, "strip_accents", false, path, &t->norm.strip_accents));
    }
    const lmt_json *pre = lmt_json_get(j, "pre_tokenizer");
    const char *pt = NULL;
    if (pre && pre->type == LMT_JSON_OBJECT) LMT_TRY(lmt_json_get_str(pre, "type", NULL, path, &pt));
    if (!pt || strcmp(pt, "BertPreTokenizer")) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: only the BertPreTokenizer is supported for WordPiece", path);
    LMT_TRY(lmt_tok_load_added_json(t, lmt_json_get(j, "added_tokens"), path));
    for (size_t i = 0; i < t->added.n; i++)
        if (t->added.v[i].normalized && !t->added.v[i].special)
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: added token \"%s\" with normalized=true is not supported for WordPiece", path, t->added.v[i].content);
    const lmt_json *dec = lmt_json_get(j, "decoder");
    if (dec && dec->type != LMT_JSON_NULL) {
        const char *dt = NULL, *dp = NULL;
        if (dec->type == LMT_JSON_OBJECT) LMT_TRY(lmt_json_get_str(dec, "type", NULL, path, &dt));
        if (!dt || strcmp(dt, "WordPiece")) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: decoder \"%s\" is not supported for WordPiece", path, dt ? dt : "?");
        LMT_TRY(lmt_json_get_str(dec, "prefix", "##", path, &dp));
        LMT_TRY(lmt_json_get_bool(dec, "cleanup", true, path, &t->decoder_cleanup));
        if (strcmp(dp, t->wp.prefix)) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: decoder prefix \"%s\" differs from the model's \"%s\"", path, dp, t->wp.prefix);
        t->wordpiece_decoder = true;
    }
    return lmt_post_parse(&t->post, lmt_json_get(j, "post_processor"), path, NULL, NULL);
}

lmt_status lmt_wp_load_vocab_txt(lmt_tokenizer *t, const char *path, const lmt_json *cfg, const char *cfg_path) {
    t->model = LMT_TOK_WORDPIECE;
    t->kind = LMT_TOKENIZER_BERT;
    char *data;
    size_t len;
    LMT_TRY(lmt_read_file(path, &data, &len));
    lmt_status s = lmt_bpe_init(&t->bpe, len / 8 + 16);
    /* one token per line, id = line number; Python's universal newlines */
    int32_t id = 0;
    for (size_t i = 0; i < len && s == LMT_OK; id++) {
        size_t e = i;
        while (e < len && data[e] != '\n' && data[e] != '\r') e++;
        if (id == INT32_MAX) { s = lmt_fail(LMT_ERR_FORMAT, "%s: too many lines", path); break; }
        if (memchr(data + i, 0, e - i)) { s = lmt_fail(LMT_ERR_FORMAT, "%s: line %d holds a NUL byte", path, (int)id + 1); break; }
        if (lmt_utf8_valid_prefix(data + i, e - i) != e - i) { s = lmt_fail(LMT_ERR_FORMAT, "%s: line %d is not valid UTF-8", path, (int)id + 1); break; }
        s = lmt_bpe_add_token(&t->bpe, data + i, e - i, id, path);
        i = e < len && data[e] == '\r' && e + 1 < len && data[e + 1] == '\n' ? e + 2 : e + 1;
    }
    free(data);
    LMT_TRY(s);
    if (id == 0) return lmt_fail(LMT_ERR_FORMAT, "%s: the vocabulary is empty", path);
    /* BertTokenizer's arguments from tokenizer_config.json */
    bool lower = true, chinese = true, sa_set = false, sa = false;
    const char *names[5] = {"unk_token", "cls_token", "sep_token", "pad_token", "mask_token"};
    const char *toks[5] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};
    if (cfg) {
        LMT_TRY(lmt_json_get_bool(cfg, "do_lower_case", true, cfg_path, &lower));
        LMT_TRY(lmt_json_get_bool(cfg, "tokenize_chinese_chars", true, cfg_path, &chinese));
        const lmt_json *x = lmt_json_get(cfg, "strip_accents");
        if (x && x->type != LMT_JSON_NULL) { sa_set = true; LMT_TRY(lmt_json_get_bool(cfg, "strip_accents", false, cfg_path, &sa)); }
        for (int k = 0; k < 5; k++) {
            const lmt_json *v = lmt_json_get(cfg, names[k]);
            if (v && v->type == LMT_JSON_STRING) toks[k] = v->str;
            else if (v && v->type == LMT_JSON_OBJECT) LMT_TRY(lmt_json_get_str(v, "content", toks[k], cfg_path, &toks[k]));
        }
    }
    t->norm = (lmt_bert_norm){true, true, chinese, sa_set ? sa : lower, lower};
    t->wp.max_chars = 100;
    LMT_TRY(set_prefix(t, "##"));
    LMT_TRY(finish_vocab(t, toks[0], path));
    for (int k = 0; k < 5; k++) {
        int32_t tid = wp_vocab_id(t, toks[k]);
        if (tid >= 0) LMT_TRY(lmt_added_vocab_add(&t->added, toks[k], tid, true, false, false, false, false));
    }
    int32_t cls = wp_vocab_id(t, toks[1]), sep = wp_vocab_id(t, toks[2]);
    if (cls < 0 || sep < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: the vocabulary lacks the %s / %s tokens", path, toks[1], toks[2]);
    t->wordpiece_decoder = true;
    t->decoder_cleanup = true;
    return bert_template(&t->post, cls, sep, path);
}
