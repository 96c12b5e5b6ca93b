/* Loading tokenizer folders: tokenizer.json, or vocab.json + merges.txt with
 * tokenizer_config.json / special_tokens_map.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "tokenizers/tokenizer_impl.h"

lmt_status lmt_tok_load_vocab_json(lmt_tokenizer *t, const lmt_json *v, const char *src) {
    if (!v || v->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: the vocabulary must be a JSON object of token -> id", src);
    if (v->len == 0) return lmt_fail(LMT_ERR_FORMAT, "%s: the vocabulary is empty", src);
    LMT_TRY(lmt_bpe_init(&t->bpe, v->len));
    for (size_t i = 0; i < v->len; i++) {
        const lmt_json *id = &v->items[i];
        if (id->type != LMT_JSON_NUMBER || !id->is_int)
            return lmt_fail(LMT_ERR_FORMAT, "%s: the id of token \"%.40s\" is not an integer", src, v->keys[i]);
        LMT_TRY(lmt_bpe_add_token(&t->bpe, v->keys[i], v->key_lens[i], (int32_t)id->i64, src));
    }
    return LMT_OK;
}

lmt_status lmt_tok_load_merges_txt(lmt_tokenizer *t, const char *path) {
    char *data;
    size_t len;
    LMT_TRY(lmt_read_file(path, &data, &len));
    lmt_status s = LMT_OK;
    size_t line = 0;
    uint32_t rank = 0;
    for (char *p = data, *end = data + len; p < end && s == LMT_OK;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        line++;
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r') l--;
        if (l == 0 || (line == 1 && l >= 8 && !memcmp(p, "#version", 8))) { p = e + 1; continue; }
        char *sp = memchr(p, ' ', l);
        if (!sp || sp == p || sp + 1 >= p + l || memchr(sp + 1, ' ', (size_t)(p + l - sp - 1)))
            s = lmt_fail(LMT_ERR_FORMAT, "%s: line %zu: expected two tokens separated by one space", path, line);
        else
            s = lmt_bpe_add_merge(&t->bpe, p, (size_t)(sp - p), sp + 1, (size_t)(p + l - sp - 1), rank++, path);
        p = e + 1;
    }
    free(data);
    return s;
}

lmt_status lmt_tok_load_merges_json(lmt_tokenizer *t, const lmt_json *m, const char *src) {
    if (!m || m->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "%s: model.merges must be an array", src);
    for (size_t i = 0; i < m->len; i++) {
        const lmt_json *x = &m->items[i];
        if (x->type == LMT_JSON_STRING) {
            const char *sp = memchr(x->str, ' ', x->len);
            if (!sp) return lmt_fail(LMT_ERR_FORMAT, "%s: merge %zu is not \"a b\"", src, i + 1);
            LMT_TRY(lmt_bpe_add_merge(&t->bpe, x->str, (size_t)(sp - x->str), sp + 1, x->len - (size_t)(sp - x->str) - 1, (uint32_t)i, src));
        } else if (x->type == LMT_JSON_ARRAY && x->len == 2 && x->items[0].type == LMT_JSON_STRING && x->items[1].type == LMT_JSON_STRING) {
            LMT_TRY(lmt_bpe_add_merge(&t->bpe, x->items[0].str, x->items[0].len, x->items[1].str, x->items[1].len, (uint32_t)i, src));
        } else {
            return lmt_fail(LMT_ERR_FORMAT, "%s: merge %zu must be \"a b\" or [\"a\", \"b\"]", src, i + 1);
        }
    }
    return LMT_OK;
}

int32_t lmt_tok_vocab_id(const lmt_tokenizer *t, const char *tok) {
    int64_t id;
    for (size_t i = 0; i < t->added.n; i++)
        if (!strcmp(t->added.v[i].content, tok)) return t->added.v[i].id;
    return lmt_strmap_get(t->bpe.vocab, tok, strlen(tok), &id) ? (int32_t)id : -1;
}

static lmt_status add_special_if_present(lmt_tokenizer *t, const char *tok) {
    int32_t id = lmt_tok_vocab_id(t, tok);
    return id >= 0 ? lmt_added_vocab_add(&t->added, tok, id, true, false, false, false, false) : LMT_OK;
}

static void set_default_specials(lmt_tokenizer *t) {
    lmt_special_ids s = {-1, -1, -1, -1, -1, -1, -1};
    if (t->kind == LMT_TOKENIZER_BERT) {
        s.cls = lmt_tok_vocab_id(t, "[CLS]");
        s.sep = lmt_tok_vocab_id(t, "[SEP]");
        s.unk = lmt_tok_vocab_id(t, "[UNK]");
        s.pad = lmt_tok_vocab_id(t, "[PAD]");
        s.mask = lmt_tok_vocab_id(t, "[MASK]");
    } else if (t->kind == LMT_TOKENIZER_MARIAN) {
        s.eos = lmt_tok_vocab_id(t, "</s>");
        s.unk = lmt_tok_vocab_id(t, "<unk>");
        s.pad = lmt_tok_vocab_id(t, "<pad>");
    } else if (t->kind == LMT_TOKENIZER_GPT2) {
        s.bos = s.eos = s.unk = lmt_tok_vocab_id(t, "<|endoftext|>");
    } else {
        s.bos = s.cls = lmt_tok_vocab_id(t, "<s>");
        s.eos = s.sep = lmt_tok_vocab_id(t, "</s>");
        s.unk = lmt_tok_vocab_id(t, "<unk>");
        s.pad = lmt_tok_vocab_id(t, "<pad>");
        s.mask = lmt_tok_vocab_id(t, "<mask>");
    }
    t->special = s;
}

/* tokenizer_config.json's added_tokens_decoder overrides the defaults. */
static lmt_status apply_tokenizer_config(lmt_tokenizer *t, const lmt_json *cfg, const char *src) {
    const lmt_json *atd = lmt_json_get(cfg, "added_tokens_decoder");
    if (atd && atd->type == LMT_JSON_OBJECT) {
        for (size_t i = 0; i < atd->len; i++) {
            const lmt_json *e = &atd->items[i];
            const char *content = NULL;
            bool special = false, l = false, r = false, sw = false, norm = false;
            LMT_TRY(lmt_json_get_str(e, "content", NULL, src, &content));
            LMT_TRY(lmt_json_get_bool(e, "special", false, src, &special));
            LMT_TRY(lmt_json_get_bool(e, "lstrip", false, src, &l));
            LMT_TRY(lmt_json_get_bool(e, "rstrip", false, src, &r));
            LMT_TRY(lmt_json_get_bool(e, "single_word", false, src, &sw));
            LMT_TRY(lmt_json_get_bool(e, "normalized", false, src, &norm));
            char *end;
            long id = strtol(atd->keys[i], &end, 10);
            if (!content || *end || id < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: bad added_tokens_decoder entry \"%s\"", src, atd->keys[i]);
            LMT_TRY(lmt_added_vocab_add(&t->added, content, (int32_t)id, special, l, r, sw, norm));
        }
    }
    static const char *const names[] = {"bos_token", "eos_token", "unk_token", "sep_token", "cls_token", "pad_token", "mask_token"};
    int32_t *dst[] = {&t->special.bos, &t->special.eos, &t->special.unk, &t->special.sep, &t->special.cls, &t->special.pad, &t->special.mask};
    for (int k = 0; k < 7; k++) {
        const lmt_json *v = lmt_json_get(cfg, names[k]);
        const char *tok = NULL;
        if (v && v->type == LMT_JSON_NULL && t->pipe) *dst[k] = -1;   /* e.g. Qwen2's "bos_token": null */
        if (v && v->type == LMT_JSON_STRING) tok = v->str;
        else if (v && v->type == LMT_JSON_OBJECT) LMT_TRY(lmt_json_get_str(v, "content", NULL, src, &tok));
        if (tok) {
            int32_t id = lmt_tok_vocab_id(t, tok);
            if (id >= 0) *dst[k] = id;
        }
    }
    return LMT_OK;
}

lmt_status lmt_tok_load_added_json(lmt_tokenizer *t, const lmt_json *added, const char *path) {
    for (size_t i = 0; added && added->type == LMT_JSON_ARRAY && i < added->len; i++) {
        const lmt_json *e = &added->items[i];
        const char *content = NULL;
        int64_t id = -1;
        bool special = false, l = false, r = false, sw = false, nm = false;
        LMT_TRY(lmt_json_get_str(e, "content", NULL, path, &content));
        LMT_TRY(lmt_json_get_int(e, "id", -1, path, &id));
        LMT_TRY(lmt_json_get_bool(e, "special", false, path, &special));
        LMT_TRY(lmt_json_get_bool(e, "lstrip", false, path, &l));
        LMT_TRY(lmt_json_get_bool(e, "rstrip", false, path, &r));
        LMT_TRY(lmt_json_get_bool(e, "single_word", false, path, &sw));
        LMT_TRY(lmt_json_get_bool(e, "normalized", false, path, &nm));
        if (!content || id < 0 || id > INT32_MAX) return lmt_fail(LMT_ERR_FORMAT, "%s: added_tokens[%zu] needs content and id", path, i);
        LMT_TRY(lmt_added_vocab_add(&t->added, content, (int32_t)id, special, l, r, sw, nm));
    }
    return LMT_OK;
}

/* cfg: tokenizer_config.json (NULL: the file as tokenizers.Tokenizer.from_file
 * reads it); dir: the folder (its config.json's model_type). */
/* tokenizer.json's "truncation" and "padding" (null: none) into o; the
 * padding's pad_token into *pad_token (NULL if no padding). */
static lmt_status read_trunc_pad(const lmt_json *j, const char *path, lmt_encode_opts *o, const char **pad_token) {
    *pad_token = NULL;
    const lmt_json *tr = lmt_json_get(j, "truncation"), *pd = lmt_json_get(j, "padding");
    const char *str;
    int64_t v;
    if (tr && tr->type != LMT_JSON_NULL) {
        if (tr->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: \"truncation\" must be an object or null", path);
        LMT_TRY(lmt_json_get_str(tr, "strategy", "LongestFirst", path, &str));
        if (!strcmp(str, "LongestFirst")) o->truncation = LMT_TRUNCATE_LONGEST_FIRST;
        else if (!strcmp(str, "OnlyFirst")) o->truncation = LMT_TRUNCATE_ONLY_FIRST;
        else if (!strcmp(str, "OnlySecond")) o->truncation = LMT_TRUNCATE_ONLY_SECOND;
        else return lmt_fail(LMT_ERR_FORMAT, "%s: truncation.strategy \"%s\" is not LongestFirst, OnlyFirst or OnlySecond", path, str);
        LMT_TRY(lmt_json_get_str(tr, "direction", "Right", path, &str));
        if (strcmp(str, "Left") && strcmp(str, "Right")) return lmt_fail(LMT_ERR_FORMAT, "%s: truncation.direction \"%s\" is not Left or Right", path, str);
        o->truncate_left = !strcmp(str, "Left");
        LMT_TRY(lmt_json_get_int(tr, "max_length", 512, path, &o->max_length));
        LMT_TRY(lmt_json_get_int(tr, "stride", 0, path, &o->stride));
        if (o->max_length < 0 || o->stride < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: truncation.max_length and stride must be >= 0", path);
    }
    if (pd && pd->type != LMT_JSON_NULL) {
        if (pd->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: \"padding\" must be an object or null", path);
        const lmt_json *st = lmt_json_get(pd, "strategy");
        const lmt_json *fixed = st && st->type == LMT_JSON_OBJECT ? lmt_json_get(st, "Fixed") : NULL;
        if (!st || (st->type == LMT_JSON_STRING && !strcmp(st->str, "BatchLongest"))) o->padding = LMT_PAD_LONGEST;
        else if (fixed && fixed->type == LMT_JSON_NUMBER && fixed->is_int && fixed->i64 >= 0) { o->padding = LMT_PAD_MAX_LENGTH; o->pad_length = fixed->i64; }
        else return lmt_fail(LMT_ERR_FORMAT, "%s: padding.strategy must be \"BatchLongest\" or {\"Fixed\": N}", path);
        LMT_TRY(lmt_json_get_str(pd, "direction", "Right", path, &str));
        if (strcmp(str, "Left") && strcmp(str, "Right")) return lmt_fail(LMT_ERR_FORMAT, "%s: padding.direction \"%s\" is not Left or Right", path, str);
        o->pad_left = !strcmp(str, "Left");
        const lmt_json *m = lmt_json_get(pd, "pad_to_multiple_of");
        if (m && m->type != LMT_JSON_NULL) LMT_TRY(lmt_json_get_int(pd, "pad_to_multiple_of", 0, path, &o->pad_to_multiple_of));
        LMT_TRY(lmt_json_get_int(pd, "pad_id", 0, path, &v));
        o->pad_id = (int32_t)v;
        LMT_TRY(lmt_json_get_int(pd, "pad_type_id", 0, path, &v));
        o->pad_type_id = (int32_t)v;
        o->pad_id_set = true;
        LMT_TRY(lmt_json_get_str(pd, "pad_token", "[PAD]", path, pad_token));
    }
    return LMT_OK;
}

static lmt_status load_tokenizer_json(lmt_tokenizer *t, const char *path, const lmt_json *cfg, const char *dir) {
    lmt_json *j;
    LMT_TRY(lmt_json_parse_file(path, &j));
    lmt_status s = LMT_OK;
    const lmt_json *model = lmt_json_get(j, "model");
    const char *type = NULL;
    if (!model || model->type != LMT_JSON_OBJECT) { s = lmt_fail(LMT_ERR_FORMAT, "%s: missing \"model\" object", path); goto done; }
    if ((s = lmt_json_get_str(model, "type", "BPE", path, &type)) != LMT_OK) goto done;
    if (cfg && (s = lmt_tok_json_class_override(j, cfg, dir, path)) != LMT_OK) goto done;
    /* a GPT-2/RoBERTa- or BERT-style file keeps the special ids of its class,
     * and tokenizer_config.json's add_prefix_space sets a ByteLevel's */
    bool bytelevel = !strcmp(type, "BPE") && lmt_tok_json_is_classic(j);
    t->classic_specials = bytelevel || lmt_tok_json_is_classic_wordpiece(j);
    const lmt_json *aps = cfg ? lmt_json_get(cfg, "add_prefix_space") : NULL;
    if (bytelevel && aps && aps->type == LMT_JSON_BOOL)
        s = lmt_json_object_set((lmt_json *)lmt_json_get(j, "pre_tokenizer"), "add_prefix_space", lmt_json_new_bool(aps->boolean));
    if (s == LMT_OK) s = lmt_tok_load_pipeline(t, j, NULL, NULL, path);
    if (s == LMT_OK && t->post.kind == LMT_POST_ROBERTA) t->kind = LMT_TOKENIZER_ROBERTA;
    const char *pad_token = NULL;
    lmt_encode_opts fo = lmt_encode_opts_default();
    if (s == LMT_OK) s = read_trunc_pad(j, path, &fo, &pad_token);
    fo.return_overflowing = true;   /* tokenizers' Encoding always carries them */
    if (s == LMT_OK && !cfg && !dir) t->call_opts = fo;   /* Tokenizer.from_file: the file's settings */
    else if (s == LMT_OK) {
        /* AutoTokenizer: per call, but padding_side / truncation_side default
         * to the file's, and pad_token (unless the configs name one) */
        t->call_opts.pad_left = fo.pad_left;
        t->call_opts.truncate_left = fo.truncate_left;
        t->file_pad_id = pad_token ? lmt_tok_vocab_id(t, pad_token) : -1;
    }
done:
    lmt_json_free(j);
    return s;
}

lmt_status lmt_tokenizer_load(const char *dir, lmt_tokenizer **out) {
    *out = NULL;
    if (!lmt_is_dir(dir)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: not a directory (expected a tokenizer folder)", dir);
    lmt_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->dir = lmt_strdup(dir);
    t->call_opts = lmt_encode_opts_default();
    t->file_pad_id = -1;
    char *tj = lmt_path_join(dir, "tokenizer.json"), *vj = lmt_path_join(dir, "vocab.json"),
         *mt = lmt_path_join(dir, "merges.txt"), *tc = lmt_path_join(dir, "tokenizer_config.json"),
         *sm = lmt_path_join(dir, "special_tokens_map.json"), *vt = lmt_path_join(dir, "vocab.txt");
    lmt_json *cfg = NULL, *smap = NULL;
    lmt_status s = LMT_OK;
    if (!t->dir || !tj || !vj || !mt || !tc || !sm || !vt) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    if (lmt_file_exists(tc) && (s = lmt_json_parse_file(tc, &cfg)) != LMT_OK) goto done;
    if (cfg && cfg->type != LMT_JSON_OBJECT) { s = lmt_fail(LMT_ERR_FORMAT, "%s: must hold a JSON object", tc); goto done; }
    char *spm = lmt_path_join(dir, "source.spm");
    bool marian = spm && lmt_file_exists(spm) && !lmt_file_exists(tj);
    free(spm);
    if (marian) {
        if ((s = lmt_marian_load(t, dir, cfg, tc)) != LMT_OK) goto done;
        set_default_specials(t);
    } else if (lmt_file_exists(tj)) {
        if ((s = load_tokenizer_json(t, tj, cfg, dir)) != LMT_OK) goto done;
        lmt_bpe_finish(&t->bpe);
        set_default_specials(t);
        if (!t->classic_specials) t->special = (lmt_special_ids){-1, -1, -1, -1, -1, -1, -1};   /* only what the configs name */
        if (t->file_pad_id >= 0) t->special.pad = t->file_pad_id;   /* kwargs.setdefault("pad_token", padding's) */
    } else if (!lmt_file_exists(vj) && !lmt_file_exists(mt) && lmt_file_exists(vt)) {
        if ((s = lmt_wp_load_vocab_txt(t, vt, cfg, tc)) != LMT_OK) goto done;
        set_default_specials(t);
    } else if (lmt_file_exists(vj) || lmt_file_exists(mt)) {
        if (!lmt_file_exists(vj)) { s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: missing (merges.txt needs its vocab.json)", vj); goto done; }
        if (!lmt_file_exists(mt)) { s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: missing (vocab.json needs its merges.txt)", mt); goto done; }
        const char *qcls = NULL;
        if (cfg && (s = lmt_json_get_str(cfg, "tokenizer_class", NULL, tc, &qcls)) != LMT_OK) goto done;
        if (qcls && !strncmp(qcls, "Qwen2Tokenizer", 14)) {
            if ((s = lmt_tok_load_qwen2(t, vj, mt)) != LMT_OK) goto done;
            t->special = (lmt_special_ids){-1, -1, -1, -1, -1, -1, -1};
            goto config;
        }
        /* what transformers 5 builds from these files: ByteLevel(add_prefix_space)
         * and, for RoBERTa, RobertaProcessing(trim_offsets=True, add_prefix_space=False) */
        bool aps = false;
        if (cfg && (s = lmt_json_get_bool(cfg, "add_prefix_space", false, tc, &aps)) != LMT_OK) goto done;
        if ((s = lmt_tok_load_bytelevel_bpe(t, vj, mt, aps)) != LMT_OK) goto done;
        const char *cls = NULL;
        if (cfg && (s = lmt_json_get_str(cfg, "tokenizer_class", NULL, tc, &cls)) != LMT_OK) goto done;
        if (cls) t->kind = strstr(cls, "Roberta") ? LMT_TOKENIZER_ROBERTA : LMT_TOKENIZER_GPT2;
        else t->kind = (lmt_tok_vocab_id(t, "<s>") >= 0 && lmt_tok_vocab_id(t, "<mask>") >= 0) ? LMT_TOKENIZER_ROBERTA : LMT_TOKENIZER_GPT2;
        if (t->kind == LMT_TOKENIZER_GPT2) s = lmt_post_gpt2_default(&t->post);
        else {
            t->post.kind = LMT_POST_ROBERTA;
            t->post.trim_offsets = true;
            t->post.cls = lmt_tok_vocab_id(t, "<s>");
            t->post.sep = lmt_tok_vocab_id(t, "</s>");
        }
        if (s != LMT_OK) goto done;
        if (t->kind == LMT_TOKENIZER_GPT2) s = add_special_if_present(t, "<|endoftext|>");
        else {
            const char *sp[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
            for (int k = 0; k < 5 && s == LMT_OK; k++) s = add_special_if_present(t, sp[k]);
        }
        if (s != LMT_OK) goto done;
        set_default_specials(t);
    } else {
        s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: no tokenizer.json, nor vocab.json + merges.txt, nor vocab.txt", dir);
        goto done;
    }
config:
    if (cfg && (s = apply_tokenizer_config(t, cfg, tc)) != LMT_OK) goto done;
    if (lmt_file_exists(sm)) {
        if ((s = lmt_json_parse_file(sm, &smap)) != LMT_OK) goto done;
        if (smap->type != LMT_JSON_OBJECT) { s = lmt_fail(LMT_ERR_FORMAT, "%s: must hold a JSON object", sm); goto done; }
        lmt_json *fake = smap;   /* same keys as tokenizer_config */
        if ((s = apply_tokenizer_config(t, fake, sm)) != LMT_OK) goto done;
    }
    if (t->pipe_tgt && (s = lmt_marian_post(t)) != LMT_OK) goto done;
    if (t->post.kind == LMT_POST_ROBERTA && (t->post.cls < 0 || t->post.sep < 0)) { s = lmt_fail(LMT_ERR_FORMAT, "%s: RoBERTa tokenizer without <s> and </s> in its vocabulary", vj); goto done; }
done:
    lmt_json_free(cfg);
    lmt_json_free(smap);
    free(tj); free(vj); free(mt); free(tc); free(sm); free(vt);
    if (s != LMT_OK) { lmt_tokenizer_free(t); return s; }
    *out = t;
    return LMT_OK;
}

lmt_status lmt_tokenizer_load_file(const char *path, lmt_tokenizer **out) {
    *out = NULL;
    lmt_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = lmt_file_exists(path) ? LMT_OK : lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file", path);
    if (s == LMT_OK && !(t->dir = lmt_strdup(path))) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->call_opts = lmt_encode_opts_default();
    if (s == LMT_OK) s = load_tokenizer_json(t, path, NULL, NULL);
    if (s == LMT_OK) {
        lmt_bpe_finish(&t->bpe);
        set_default_specials(t);
        if (!t->classic_specials) t->special = (lmt_special_ids){-1, -1, -1, -1, -1, -1, -1};
        if (t->post.kind == LMT_POST_ROBERTA && (t->post.cls < 0 || t->post.sep < 0))
            s = lmt_fail(LMT_ERR_FORMAT, "%s: RoBERTa post-processor without <s> and </s>", path);
    }
    if (s != LMT_OK) { lmt_tokenizer_free(t); return s; }
    *out = t;
    return LMT_OK;
}

void lmt_tokenizer_free(lmt_tokenizer *t) {
    if (!t) return;
    lmt_bpe_free(&t->bpe);
    lmt_bpe_free(&t->tgt_vocab);
    lmt_added_vocab_free(&t->added);
    lmt_post_free(&t->post);
    if (t->pipe) { lmt_tok_pipeline_free(t->pipe); free(t->pipe); }
    if (t->pipe_tgt) { lmt_tok_pipeline_free(t->pipe_tgt); free(t->pipe_tgt); }
    free(t->wp.prefix);
    if (t->spm_loaded > 0) lmt_spm_free(&t->spm_src);
    if (t->spm_loaded > 1) lmt_spm_free(&t->spm_tgt);
    free(t->dir);
    free(t);
}

lmt_tokenizer_kind lmt_tokenizer_get_kind(const lmt_tokenizer *t) { return t->kind; }
lmt_tok_model lmt_tokenizer_model(const lmt_tokenizer *t) { return t->model; }

size_t lmt_tokenizer_vocab_size(const lmt_tokenizer *t) {
    size_t n = t->bpe.n_ids;
    for (size_t i = 0; i < t->added.n; i++)
        if ((size_t)t->added.v[i].id >= n) n = (size_t)t->added.v[i].id + 1;
    return n;
}

const char *lmt_tokenizer_id_to_token(const lmt_tokenizer *t, int32_t id) {
    long a = lmt_added_vocab_find_id(&t->added, id);
    /* a normalized=true token of the pipeline reads as normalized (tokenizers' id_to_token) */
    if (a >= 0) return t->added.v[a].match ? t->added.v[a].match : t->added.v[a].content;
    if (id < 0 || (size_t)id >= t->bpe.n_ids) return NULL;
    return t->bpe.id_to_token[id];
}

int32_t lmt_tokenizer_token_to_id(const lmt_tokenizer *t, const char *token) {
    for (size_t i = 0; i < t->added.n; i++)
        if (!strcmp(t->added.v[i].content, token)) return t->added.v[i].id;
    return lmt_tok_vocab_id(t, token);
}

lmt_special_ids lmt_tokenizer_special_ids(const lmt_tokenizer *t) { return t->special; }

lmt_encode_opts lmt_tokenizer_encode_opts(const lmt_tokenizer *t) { return t->call_opts; }

lmt_status lmt_tokenizer_set_pad(lmt_tokenizer *t, int32_t pad_id) {
    if (pad_id < 0 || (size_t)pad_id >= lmt_tokenizer_vocab_size(t)) return lmt_fail(LMT_ERR_ARG, "pad id %d is outside the vocabulary", pad_id);
    t->special.pad = pad_id;
    return LMT_OK;
}
