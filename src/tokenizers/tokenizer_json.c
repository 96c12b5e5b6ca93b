/* The general tokenizer.json pipeline: loading its stages (from
 * tokenizer.json, or built as transformers does from vocab.json + merges.txt
 * for GPT-2, RoBERTa and Qwen2), and the encode loop (added tokens ->
 * normalizer -> pre-tokenizer -> model per word). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/utf8.h"

static const char *type_of(const lmt_json *j) {
    const lmt_json *t = lmt_json_get(j, "type");
    return t && t->type == LMT_JSON_STRING ? t->str : NULL;
}

static bool is_true(const lmt_json *o, const char *k) {
    const lmt_json *v = lmt_json_get(o, k);
    return v && v->type == LMT_JSON_BOOL && v->boolean;
}

static bool is_set_str(const lmt_json *o, const char *k) {
    const lmt_json *v = lmt_json_get(o, k);
    return v && v->type == LMT_JSON_STRING && v->len;
}

bool lmt_tok_json_is_classic(const lmt_json *j) {
    const lmt_json *norm = lmt_json_get(j, "normalizer"), *pre = lmt_json_get(j, "pre_tokenizer"),
                   *dec = lmt_json_get(j, "decoder"), *model = lmt_json_get(j, "model");
    if (norm && norm->type != LMT_JSON_NULL) return false;
    const char *pt = type_of(pre), *dt = type_of(dec);
    if (!pt || strcmp(pt, "ByteLevel")) return false;
    if (dec && dec->type != LMT_JSON_NULL && (!dt || strcmp(dt, "ByteLevel"))) return false;
    if (is_true(model, "byte_fallback") || is_true(model, "ignore_merges") || is_set_str(model, "unk_token") ||
        is_set_str(model, "continuing_subword_prefix") || is_set_str(model, "end_of_word_suffix"))
        return false;
    return true;
}

bool lmt_tok_json_is_classic_wordpiece(const lmt_json *j) {
    const lmt_json *norm = lmt_json_get(j, "normalizer"), *pre = lmt_json_get(j, "pre_tokenizer"), *dec = lmt_json_get(j, "decoder");
    const char *nt = type_of(norm), *pt = type_of(pre), *dt = type_of(dec), *mt = type_of(lmt_json_get(j, "model"));
    if (!mt || strcmp(mt, "WordPiece")) return false;
    if (norm && norm->type != LMT_JSON_NULL && (!nt || strcmp(nt, "BertNormalizer"))) return false;
    if (!pt || strcmp(pt, "BertPreTokenizer")) return false;
    if (dec && dec->type != LMT_JSON_NULL && (!dt || strcmp(dt, "WordPiece"))) return false;
    return true;
}

/* transformers 5.23 tokenization_auto.py: MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS */
static const char *const backend_forced[] = {
    "arctic", "chatlm", "ernie4_5", "ernie4_5_moe", "fuyu", "h2ovl_chat", "hyperclovax", "hyperclovax_vlm",
    "hyperclovax_vision_v2", "internlm2", "internlm3", "iquestcoder", "jamba", "llava", "llava_next", "minicpm3",
    "minicpmv", "minimax_m2", "modernbert", "modernbert-decoder", "molmo", "molmo2", "nemotron", "nvfp4", "opencua",
    "openvla", "paddleocr_vl", "phi3", "phi3_v", "phimoe", "qwen2", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text",
    "qwen4_exp", "step3_vl", "vipllava", "cohere_asr", "camembertv2-base", "siglip2", "smolvlm", NULL};

static lmt_status set_member(lmt_json *obj, const char *key, const char *json, const char *src) {
    lmt_json *v;
    LMT_TRY(lmt_json_parse(json, strlen(json), src, &v));
    return lmt_json_object_set(obj, key, v);
}

lmt_status lmt_tok_json_class_override(lmt_json *j, const lmt_json *cfg, const char *dir, const char *src) {
    const char *cls = NULL;
    LMT_TRY(lmt_json_get_str(cfg, "tokenizer_class", NULL, "tokenizer_config.json", &cls));
    if (!cls) return LMT_OK;
    bool llama = !strcmp(cls, "LlamaTokenizer") || !strcmp(cls, "LlamaTokenizerFast");
    bool gpt2 = !strcmp(cls, "GPT2Tokenizer") || !strcmp(cls, "GPT2TokenizerFast");
    if (!llama && !gpt2) return LMT_OK;
    /* config.json's model_type may force the file's own pipeline */
    char *cp = dir ? lmt_path_join(dir, "config.json") : NULL;
    if (cp && lmt_file_exists(cp)) {
        lmt_json *c = NULL;
        if (lmt_json_parse_file(cp, &c) == LMT_OK) {
            const lmt_json *mt = lmt_json_get(c, "model_type");
            for (size_t i = 0; mt && mt->type == LMT_JSON_STRING && backend_forced[i]; i++)
                if (!strcmp(mt->str, backend_forced[i])) llama = gpt2 = false;
        }
        lmt_json_free(c);
    }
    free(cp);
    lmt_json *model = (lmt_json *)lmt_json_get(j, "model");
    if (!model || model->type != LMT_JSON_OBJECT) return LMT_OK;   /* the loader reports it */
    const lmt_json *aps_j = lmt_json_get(cfg, "add_prefix_space");
    bool aps_set = aps_j && aps_j->type == LMT_JSON_BOOL;
    char buf[1024];
    if (llama) {
        /* LlamaTokenizer.__init__: Metaspace(prepend_scheme from add_prefix_space
         * (default true) and legacy (default false), split=False), no normalizer,
         * BPE without unk_token, Replace/ByteFallback/Fuse(/Strip) decoder */
        bool aps = aps_set ? aps_j->boolean : true, legacy = false;
        LMT_TRY(lmt_json_get_bool(cfg, "legacy", false, "tokenizer_config.json", &legacy));
        const char *scheme = !aps ? "never" : legacy ? "always" : "first";
        LMT_TRY(lmt_json_object_set(j, "normalizer", lmt_json_new(LMT_JSON_NULL)));
        snprintf(buf, sizeof buf, "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"%s\",\"split\":false}", scheme);
        LMT_TRY(set_member(j, "pre_tokenizer", buf, src));
        snprintf(buf, sizeof buf, "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\u2581\"},"
                 "\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}%s]}",
                 aps ? ",{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}" : "");
        LMT_TRY(set_member(j, "decoder", buf, src));
        LMT_TRY(lmt_json_object_set(model, "unk_token", lmt_json_new(LMT_JSON_NULL)));
        LMT_TRY(lmt_json_object_set(model, "fuse_unk", lmt_json_new_bool(true)));
        LMT_TRY(lmt_json_object_set(model, "byte_fallback", lmt_json_new_bool(true)));
    } else {
        /* GPT2Tokenizer.__init__: ByteLevel(add_prefix_space) pre-tokenizer and
         * decoder, no normalizer; the template "$A" / "$A $B:1" */
        bool aps = aps_set ? aps_j->boolean : false;
        LMT_TRY(lmt_json_object_set(j, "normalizer", lmt_json_new(LMT_JSON_NULL)));
        snprintf(buf, sizeof buf, "{\"type\":\"ByteLevel\",\"add_prefix_space\":%s,\"trim_offsets\":true,\"use_regex\":true}", aps ? "true" : "false");
        LMT_TRY(set_member(j, "pre_tokenizer", buf, src));
        LMT_TRY(set_member(j, "decoder", "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}", src));
        LMT_TRY(set_member(j, "post_processor", "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                           "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
                           "\"special_tokens\":{}}", src));
    }
    return LMT_OK;
}

void lmt_tok_pipeline_free(lmt_tok_pipeline *p) {
    lmt_normalizer_free(&p->norm);
    lmt_pretok_free(&p->pre);
    lmt_decoder_free(&p->dec);
    free(p->model.prefix);
    free(p->model.suffix);
    free(p->model.scores);
    free(p->model.remap);
    memset(p, 0, sizeof *p);
}

static int32_t post_lookup(const void *ctx, const char *tok) { return lmt_tok_vocab_id((const lmt_tokenizer *)ctx, tok); }

static lmt_status opt_str(const lmt_json *m, const char *k, const char *src, char **out, size_t *len) {
    const char *s = NULL;
    LMT_TRY(lmt_json_get_str(m, k, NULL, src, &s));
    if (!s || !*s) return LMT_OK;
    *len = strlen(s);
    if (!(*out = lmt_strdup(s))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

static void byte_tokens(lmt_tokenizer *t, lmt_pmodel *m) {
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        int64_t id;
        m->byte_tok[b] = lmt_strmap_get(t->bpe.vocab, name, 6, &id) ? (int32_t)id : -1;
    }
}

/* normalized=true added tokens are matched as the normalizer writes them
 * (tokenizers' AddedVocabulary normalizes their content). */
static lmt_status normalize_added(lmt_tokenizer *t) {
    lmt_tok_pipeline *p = t->pipe;
    lmt_normalized a = {0}, b = {0};
    lmt_regex_region *rr = NULL;
    lmt_status st = LMT_OK;
    for (size_t k = 0; k < t->added.n && st == LMT_OK; k++) {
        const lmt_added_token *tk = &t->added.v[k];
        if (!tk->normalized) continue;
        p->norm_added = true;
        a.n = 0;
        if (lmt_ns_push(&a, tk->content, tk->len, 0, (uint32_t)tk->len) || lmt_normalizer_run(&p->norm, &rr, &a, &b)) {
            st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            break;
        }
        st = lmt_added_vocab_set_match(&t->added, k, a.s ? a.s : "", a.n);
    }
    lmt_normalized_free(&a);
    lmt_normalized_free(&b);
    lmt_regex_region_free(rr);
    return st;
}

/* Normalizer, pre-tokenizer, decoder, added tokens, post-processor. */
static lmt_status load_stages(lmt_tokenizer *t, const lmt_json *j, const char *src, lmt_tokenizer_kind kind, lmt_tok_model model) {
    lmt_tok_pipeline *p = t->pipe;
    LMT_TRY(lmt_normalizer_parse(&p->norm, lmt_json_get(j, "normalizer"), src));
    LMT_TRY(lmt_pretok_parse(&p->pre, lmt_json_get(j, "pre_tokenizer"), src));
    if (p->pre.bytelevel && p->model.kind != LMT_PM_BPE)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: the ByteLevel pre-tokenizer is only supported with a BPE model", src);
    LMT_TRY(lmt_decoder_parse(&p->dec, lmt_json_get(j, "decoder"), src));
    LMT_TRY(lmt_tok_load_added_json(t, lmt_json_get(j, "added_tokens"), src));
    LMT_TRY(normalize_added(t));
    LMT_TRY(lmt_post_parse(&t->post, lmt_json_get(j, "post_processor"), src, post_lookup, t));
    t->kind = kind;
    t->model = model;
    return LMT_OK;
}

/* Unigram: "vocab": [[piece, score], ...] (id = index), "unk_id", "byte_fallback". */
static lmt_status load_unigram(lmt_tokenizer *t, const lmt_json *model, const char *src) {
    lmt_pmodel *m = &t->pipe->model;
    const lmt_json *v = lmt_json_get(model, "vocab");
    if (!v || v->type != LMT_JSON_ARRAY || !v->len) return lmt_fail(LMT_ERR_FORMAT, "%s: Unigram model.vocab must be a non-empty array of [piece, score]", src);
    LMT_TRY(lmt_bpe_init(&t->bpe, v->len));
    if (!(m->scores = malloc(v->len * sizeof *m->scores))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    m->min_score = 1e300;
    for (size_t i = 0; i < v->len; i++) {
        const lmt_json *e = &v->items[i];
        if (e->type != LMT_JSON_ARRAY || e->len != 2 || e->items[0].type != LMT_JSON_STRING || e->items[1].type != LMT_JSON_NUMBER)
            return lmt_fail(LMT_ERR_FORMAT, "%s: Unigram vocab entry %zu must be [piece, score]", src, i);
        LMT_TRY(lmt_bpe_add_token(&t->bpe, e->items[0].str, e->items[0].len, (int32_t)i, src));
        m->scores[i] = e->items[1].num;
        if (m->scores[i] < m->min_score) m->min_score = m->scores[i];
        if (e->items[0].len > m->max_piece) m->max_piece = e->items[0].len;
    }
    int64_t unk = -1;
    const lmt_json *u = lmt_json_get(model, "unk_id");
    if (u && u->type != LMT_JSON_NULL) LMT_TRY(lmt_json_get_int(model, "unk_id", -1, src, &unk));
    if (unk >= (int64_t)v->len) return lmt_fail(LMT_ERR_FORMAT, "%s: Unigram unk_id %lld is outside the vocabulary", src, (long long)unk);
    m->unk = (int32_t)unk;
    LMT_TRY(lmt_json_get_bool(model, "byte_fallback", false, src, &m->byte_fallback));
    byte_tokens(t, m);
    return LMT_OK;
}

lmt_status lmt_tok_load_pipeline(lmt_tokenizer *t, const lmt_json *j, const char *vocab_path, const char *merges_path,
                                 const char *src) {
    if (!(t->pipe = calloc(1, sizeof *t->pipe))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_tok_pipeline *p = t->pipe;
    const lmt_json *model = lmt_json_get(j, "model");
    const char *mt = type_of(model);
    lmt_pmodel *m = &p->model;
    m->kind = LMT_PM_BPE;
    m->unk = -1;
    for (int b = 0; b < 256; b++) m->byte_tok[b] = -1;
    if (!vocab_path && mt && !strcmp(mt, "WordPiece")) {
        m->kind = LMT_PM_WORDPIECE;
        if (!t->bpe.n_ids) LMT_TRY(lmt_wp_load_model_json(t, model, src));   /* else read from vocab.txt */
        m->unk = t->wp.unk_id;
        return load_stages(t, j, src, LMT_TOKENIZER_BERT, LMT_TOK_WORDPIECE);
    }
    if (!vocab_path && mt && !strcmp(mt, "Unigram")) {
        m->kind = LMT_PM_UNIGRAM;
        LMT_TRY(load_unigram(t, model, src));
        return load_stages(t, j, src, LMT_TOKENIZER_MARIAN, LMT_TOK_UNIGRAM);
    }
    if (!vocab_path && (!mt || strcmp(mt, "BPE")))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: model type \"%s\" is not supported (BPE, WordPiece, Unigram)", src, mt ? mt : "?");
    if (model) {
        const lmt_json *d = lmt_json_get(model, "dropout");
        if (d && d->type == LMT_JSON_NUMBER && d->num > 0)
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", src);
        LMT_TRY(lmt_json_get_bool(model, "byte_fallback", false, src, &m->byte_fallback));
        LMT_TRY(lmt_json_get_bool(model, "fuse_unk", false, src, &m->fuse_unk));
        LMT_TRY(lmt_json_get_bool(model, "ignore_merges", false, src, &m->ignore_merges));
        LMT_TRY(opt_str(model, "continuing_subword_prefix", src, &m->prefix, &m->prefix_len));
        LMT_TRY(opt_str(model, "end_of_word_suffix", src, &m->suffix, &m->suffix_len));
    }
    if (vocab_path) {
        lmt_json *v;
        LMT_TRY(lmt_json_parse_file(vocab_path, &v));
        lmt_status s = lmt_tok_load_vocab_json(t, v, vocab_path);
        lmt_json_free(v);
        LMT_TRY(s);
        t->bpe.merge_prefix = m->prefix;
        t->bpe.merge_prefix_len = m->prefix_len;
        LMT_TRY(lmt_tok_load_merges_txt(t, merges_path));
    } else {
        LMT_TRY(lmt_tok_load_vocab_json(t, lmt_json_get(model, "vocab"), src));
        t->bpe.merge_prefix = m->prefix;
        t->bpe.merge_prefix_len = m->prefix_len;
        LMT_TRY(lmt_tok_load_merges_json(t, lmt_json_get(model, "merges"), src));
    }
    lmt_bpe_finish(&t->bpe);
    const char *unk = NULL;
    if (model) LMT_TRY(lmt_json_get_str(model, "unk_token", NULL, src, &unk));
    if (unk) {
        int64_t id;
        if (!lmt_strmap_get(t->bpe.vocab, unk, strlen(unk), &id))
            return lmt_fail(LMT_ERR_FORMAT, "%s: model.unk_token \"%.40s\" is not in the vocabulary", src, unk);
        m->unk = (int32_t)id;
    }
    byte_tokens(t, m);
    m->meta_split = lmt_pmodel_meta_splittable(m, &t->bpe);
    return load_stages(t, j, src, LMT_TOKENIZER_GPT2, LMT_TOK_BPE);
}

/* transformers 5.23's Qwen2Tokenizer (models/qwen2/tokenization_qwen2.py). */
static const char qwen2_spec[] =
    "{\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"fuse_unk\":false,\"byte_fallback\":false},"
    "\"normalizer\":{\"type\":\"NFC\"},"
    "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
    "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
    "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]},"
    "\"decoder\":{\"type\":\"ByteLevel\"},\"post_processor\":null,\"added_tokens\":[]}";

static lmt_status load_spec(lmt_tokenizer *t, const char *spec, size_t len, const char *what, const char *vocab_path,
                            const char *merges_path) {
    lmt_json *j;
    LMT_TRY(lmt_json_parse(spec, len, what, &j));
    lmt_status s = lmt_tok_load_pipeline(t, j, vocab_path, merges_path, vocab_path);
    lmt_json_free(j);
    return s;
}

lmt_status lmt_tok_load_qwen2(lmt_tokenizer *t, const char *vocab_path, const char *merges_path) {
    return load_spec(t, qwen2_spec, sizeof qwen2_spec - 1, "Qwen2Tokenizer", vocab_path, merges_path);
}

/* transformers 5.23's GPT2Tokenizer / RobertaTokenizer without tokenizer.json:
 * ByteLevel(add_prefix_space) pre-tokenizer, BPE without unk, ByteLevel
 * decoder (the post-processor is set by the caller). */
lmt_status lmt_tok_load_bytelevel_bpe(lmt_tokenizer *t, const char *vocab_path, const char *merges_path, bool add_prefix_space) {
    char spec[512];
    int n = snprintf(spec, sizeof spec,
                     "{\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null},\"normalizer\":null,"
                     "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":%s,\"trim_offsets\":true,\"use_regex\":true},"
                     "\"decoder\":{\"type\":\"ByteLevel\"},\"post_processor\":null,\"added_tokens\":[]}",
                     add_prefix_space ? "true" : "false");
    return load_spec(t, spec, (size_t)n, "GPT2Tokenizer", vocab_path, merges_path);
}

/* ---- encoding ---- */
static uint16_t clamp16(size_t v) { return v > 0xFFFF ? 0xFFFF : (uint16_t)v; }

/* Buffers an encoding thread reuses (kept in its BPE cache's slot). */
typedef struct scratch {
    lmt_pwords a, b;
    lmt_regex_region *rr;
    lmt_bpe_tok *toks;
    size_t tcap;
    lmt_segments segs;
} scratch;

static void scratch_free(void *p) {
    scratch *x = p;
    lmt_pwords_free(&x->a);
    lmt_pwords_free(&x->b);
    lmt_regex_region_free(x->rr);
    free(x->toks);
    free(x->segs.v);
    free(x);
}

/* Leading / trailing characters of an added token's text that ByteLevel's
 * process_offsets counts as spaces: 'Ġ' or Unicode whitespace. */
static void added_spaces(const unsigned char *s, size_t n, uint16_t *lead, uint16_t *trail) {
    size_t i = 0, l, c = 0;
    while (i < n) {
        uint32_t cp = lmt_utf8_decode(s + i, n - i, &l);
        if (cp != 0x120 && !lmt_unicode_is_space(cp)) break;
        c++; i += l;
    }
    *lead = clamp16(c);
    size_t e = n;
    c = 0;
    while (e > i) {
        uint32_t cp = lmt_utf8_decode_before(s, e, &l);
        if (cp != 0x120 && !lmt_unicode_is_space(cp)) break;
        c++; e -= l;
    }
    if (i == n) c = *lead;   /* all spaces: both walks see every character */
    *trail = clamp16(c);
}

/* normalized=true added tokens found in the normalized text of a segment,
 * waiting to be placed among its words (by original offset) */
typedef struct { uint32_t s, e; int32_t id; } pend_tok;

/* remove_language_code: a run starting ">>" up to the first "<<" (Python's
 * text.find("<<"), which cannot fall before index 2). */
static size_t lang_code_len(const char *s, size_t n) {
    if (n < 4 || s[0] != '>' || s[1] != '>') return 0;
    for (size_t k = 2; k + 1 < n; k++) if (s[k] == '<' && s[k + 1] == '<') return k + 2;
    return 0;
}

int lmt_tok_encode_raw_pipeline(const lmt_tokenizer *t, const lmt_tok_pipeline *p, lmt_bpe_cache *cache, const char *text,
                                size_t n, lmt_raw_seq *out) {
    void **slot = cache ? lmt_bpe_cache_scratch(cache, scratch_free) : NULL;
    scratch *x = slot ? *slot : NULL;
    if (!x) {
        if (!(x = calloc(1, sizeof *x))) return -1;
        if (slot) *slot = x;
    }
    lmt_pwords *a = &x->a, *b = &x->b;
    lmt_segments *segs = &x->segs, sub = {0};
    pend_tok *pend = NULL;
    size_t npend = 0;
    size_t ntok = 0;
    segs->n = 0;
    int rc = t->added.n ? lmt_added_split_pass(&t->added, text, 0, n, false, segs) : 0;
    if (!t->added.n && n) {
        lmt_segment *nv = segs->cap ? segs->v : malloc(sizeof *nv);
        if (nv) { segs->v = nv; if (!segs->cap) segs->cap = 1; segs->v[segs->n++] = (lmt_segment){0, (uint32_t)n, -1}; }
        else rc = -1;
    }
    int32_t word = 0;
    for (size_t s = 0; s < segs->n && rc == 0; s++) {
        const lmt_segment *g = &segs->v[s];
        if (g->token >= 0) {
            if ((rc = lmt_raw_push_added(out, t->added.v[g->token].id, g->start, g->end, word++))) break;
            if (p->pre.bytelevel)   /* for the post-processor's trim_offsets */
                added_spaces((const unsigned char *)text + g->start, g->end - g->start, &out->lead[out->n - 1], &out->trail[out->n - 1]);
            continue;
        }
        a->buf.n = 0;
        a->n = 0;
        uint32_t gs = g->start;
        size_t code = p->lang_code ? lang_code_len(text + gs, g->end - gs) : 0;
        if (code) {
            if ((rc = lmt_raw_push_added(out, lmt_pmodel_spm_vocab_id(&p->model, text + gs, code), gs, gs + (uint32_t)code, word++))) break;
            gs += (uint32_t)code;
            if (gs == g->end) continue;
        }
        if ((rc = lmt_ns_reserve(&a->buf, g->end - gs))) break;
        memcpy(a->buf.s, text + gs, g->end - gs);
        for (size_t i = gs; i < g->end;) {
            size_t l;
            lmt_utf8_decode((const unsigned char *)text + i, g->end - i, &l);
            for (size_t k = 0; k < l; k++) { a->buf.ostart[a->buf.n + k] = (uint32_t)i; a->buf.oend[a->buf.n + k] = (uint32_t)(i + l); }
            a->buf.n += l;
            i += l;
        }
        if ((rc = lmt_normalizer_run(&p->norm, &x->rr, &a->buf, &b->buf))) break;
        if (a->buf.n == 0) continue;
        /* normalized=true added tokens, matched in the normalized text */
        npend = 0;
        if (p->norm_added) {
            sub.n = 0;
            if ((rc = lmt_added_split_pass(&t->added, a->buf.s, 0, a->buf.n, true, &sub))) break;
            pend_tok *np = realloc(pend, (sub.n ? sub.n : 1) * sizeof *np);
            if (!np) { rc = -1; break; }
            pend = np;
            for (size_t k = 0; k < sub.n && !rc; k++) {
                const lmt_segment *q = &sub.v[k];
                if (q->token >= 0) pend[npend++] = (pend_tok){a->buf.ostart[q->start], a->buf.oend[q->end - 1], t->added.v[q->token].id};
                else rc = lmt_pwords_add(a, q->start, q->end - q->start);
            }
            if (rc) break;
        } else if ((rc = lmt_pwords_add(a, 0, (uint32_t)a->buf.n))) break;
        if ((rc = lmt_pretok_run(&p->pre, &x->rr, a, b))) break;
        size_t next = 0;   /* the first pending added token not yet placed */
        for (size_t w = 0; w < a->n && !rc; w++) {
            const unsigned char *ws = (const unsigned char *)a->buf.s + a->v[w].off;
            uint32_t o = a->v[w].off;
            for (; next < npend && pend[next].s <= a->buf.ostart[o] && !rc; next++)
                rc = lmt_raw_push_added(out, pend[next].id, pend[next].s, pend[next].e, word++);
            ntok = 0;
            switch (p->model.kind) {
            case LMT_PM_BPE: rc = lmt_pmodel_bpe(&p->model, &t->bpe, cache, p->pre.bytelevel, ws, a->v[w].len, &x->toks, &ntok, &x->tcap); break;
            case LMT_PM_WORDPIECE: rc = lmt_wordpiece_encode(&t->wp, &t->bpe, (const char *)ws, a->v[w].len, &x->toks, &ntok, &x->tcap); break;
            case LMT_PM_UNIGRAM: rc = lmt_pmodel_unigram(&p->model, &t->bpe, ws, a->v[w].len, &x->toks, &ntok, &x->tcap); break;
            case LMT_PM_SPM: rc = lmt_pmodel_spm(&p->model, ws, a->v[w].len, &x->toks, &ntok, &x->tcap); break;
            }
            if (rc) break;
            if ((rc = lmt_raw_reserve(out, out->n + ntok))) break;
            for (size_t k = 0; k < ntok; k++) {
                uint32_t ts = x->toks[k].start, te = x->toks[k].end;
                size_t lead = 0, trail = 0;
                while (ts + lead < te && ws[ts + lead] == ' ') lead++;
                while (te - trail > ts + lead && ws[te - 1 - trail] == ' ') trail++;
                if (ts + lead == te) trail = lead;
                out->ids[out->n] = x->toks[k].id;
                out->bstart[out->n] = a->buf.ostart[o + ts];
                out->bend[out->n] = a->buf.oend[o + te - 1];
                out->lead[out->n] = clamp16(lead);
                out->trail[out->n] = clamp16(trail);
                out->words[out->n] = word;
                out->n++;
            }
            word++;
        }
        for (; next < npend && !rc; next++) rc = lmt_raw_push_added(out, pend[next].id, pend[next].s, pend[next].e, word++);
    }
    free(sub.v);
    free(pend);
    if (!slot) scratch_free(x);
    return rc;
}
