/* Loading WordPiece models: tokenizer.json's model part, or vocab.txt
 * (+ tokenizer_config.json) with the pipeline transformers 5's BertTokenizer
 * builds around it. */
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
    t->wp.max_chars = 100;
    LMT_TRY(set_prefix(t, "##"));
    LMT_TRY(finish_vocab(t, toks[0], path));
    /* the pipeline BertTokenizer builds around this vocabulary */
    char spec[512];
    int n = snprintf(spec, sizeof spec,
                     "{\"model\":{\"type\":\"WordPiece\"},\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,"
                     "\"handle_chinese_chars\":%s,\"strip_accents\":%s,\"lowercase\":%s},"
                     "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\","
                     "\"cleanup\":true},\"post_processor\":null,\"added_tokens\":[]}",
                     chinese ? "true" : "false", !sa_set ? "null" : sa ? "true" : "false", lower ? "true" : "false");
    lmt_json *j;
    LMT_TRY(lmt_json_parse(spec, (size_t)n, "BertTokenizer", &j));
    s = lmt_tok_load_pipeline(t, j, NULL, NULL, path);
    lmt_json_free(j);
    LMT_TRY(s);
    for (int k = 0; k < 5; k++) {
        int32_t tid = wp_vocab_id(t, toks[k]);
        if (tid >= 0) LMT_TRY(lmt_added_vocab_add(&t->added, toks[k], tid, true, false, false, false, false));
    }
    int32_t cls = wp_vocab_id(t, toks[1]), sep = wp_vocab_id(t, toks[2]);
    if (cls < 0 || sep < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: the vocabulary lacks the %s / %s tokens", path, toks[1], toks[2]);
    lmt_post_free(&t->post);
    return bert_template(&t->post, cls, sep, path);
}
