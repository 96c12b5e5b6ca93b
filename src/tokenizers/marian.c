/* MarianTokenizer (transformers 5's slow tokenizer over two SentencePiece
 * models) as a configuration of the pipeline: added tokens (</s>, <unk>,
 * <pad>) split off first, a leading ">>xx<<" of each run one token, then
 * sentencepiece's own normalizer (LMT_NORM_SPM), no pre-tokenizer, and the
 * .spm unigram model (LMT_PM_SPM) whose pieces take the ids of the shared
 * vocab.json (pieces it lacks -> <unk>); </s> appended by the template.
 * source.spm runs for inputs (t->pipe), target.spm for text_target
 * (t->pipe_tgt). Decoding (below) is the slow tokenizer's: through the
 * source model as transformers does when the vocabularies are shared.
 *
 * separate_vocabs=true (tokenizer_config.json): text_target pieces take
 * their ids from target_vocab.json (pieces it lacks -> its <unk>), and
 * decoding maps ids through target_vocab.json and the target model. As in
 * transformers, the special tokens keep their vocab.json ids on both sides
 * (added tokens are looked up before either vocabulary): the </s> appended
 * to a target is vocab.json's. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/utf8.h"
#include "tokenizers/wordpiece.h"

/* vocab.json / target_vocab.json: token -> id. */
static lmt_status load_vocab(lmt_bpe *b, const char *path) {
    lmt_json *vocab = NULL;
    LMT_TRY(lmt_json_parse_file(path, &vocab));
    lmt_status s = LMT_OK;
    if (vocab->type != LMT_JSON_OBJECT || vocab->len == 0) s = lmt_fail(LMT_ERR_FORMAT, "%s: must hold a non-empty JSON object of token -> id", path);
    else s = lmt_bpe_init(b, vocab->len);
    for (size_t i = 0; i < vocab->len && s == LMT_OK; i++) {
        const lmt_json *id = &vocab->items[i];
        if (id->type != LMT_JSON_NUMBER || !id->is_int || id->i64 < 0 || id->i64 > INT32_MAX)
            s = lmt_fail(LMT_ERR_FORMAT, "%s: the id of token \"%.40s\" is not a non-negative integer", path, vocab->keys[i]);
        else s = lmt_bpe_add_token(b, vocab->keys[i], vocab->key_lens[i], (int32_t)id->i64, path);
    }
    lmt_json_free(vocab);
    return s;
}

/* Piece ids -> ids in the side's vocabulary, unk for pieces it lacks. */
static void remap(lmt_pmodel *pm, int32_t unk) {
    pm->vocab_unk = unk;
    for (size_t i = 0; i < pm->spm->n; i++) pm->remap[i] = lmt_pmodel_spm_vocab_id(pm, pm->spm->piece[i], pm->spm->piece_len[i]);
}

/* One side's pipeline: the spm normalizer and model, pieces remapped into
 * vocab (its <unk> for pieces it lacks). */
static lmt_status side(lmt_tok_pipeline **out, const lmt_spm *m, const lmt_bpe *vocab, const char *vpath) {
    lmt_tok_pipeline *p = *out = calloc(1, sizeof *p);
    lmt_norm_stage *st = calloc(1, sizeof *st);
    if (p) p->model.remap = malloc((m->n ? m->n : 1) * sizeof *p->model.remap);
    if (!p || !st || !p->model.remap) { free(st); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    st->kind = LMT_NORM_SPM;
    st->spm = m;
    p->norm = (lmt_normalizer){st, 1};
    p->model.kind = LMT_PM_SPM;
    p->model.spm = m;
    p->model.vocab = vocab->vocab;
    int64_t unk;
    if (!lmt_strmap_get(vocab->vocab, "<unk>", 5, &unk)) return lmt_fail(LMT_ERR_FORMAT, "%s: <unk> token must be in the vocab", vpath);
    p->model.unk = (int32_t)unk;
    remap(&p->model, (int32_t)unk);
    p->lang_code = p->no_offsets = true;
    return LMT_OK;
}

lmt_status lmt_marian_load(lmt_tokenizer *t, const char *dir, const lmt_json *cfg, const char *cfg_path) {
    bool separate = false;
    if (cfg) LMT_TRY(lmt_json_get_bool(cfg, "separate_vocabs", false, cfg_path, &separate));
    char *src = lmt_path_join(dir, "source.spm"), *tgt = lmt_path_join(dir, "target.spm"), *vj = lmt_path_join(dir, "vocab.json");
    char *tvj = lmt_path_join(dir, "target_vocab.json");
    lmt_status s = LMT_OK;
    if (!src || !tgt || !vj || !tvj) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    if (separate) {
        if (!lmt_file_exists(tvj)) { s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: missing (%s sets separate_vocabs=true)", tvj, cfg_path); goto done; }
        if ((s = load_vocab(&t->tgt_vocab, tvj)) != LMT_OK) goto done;
        t->separate_vocabs = true;
    }
    if (!lmt_file_exists(tgt)) { s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: missing (a Marian folder needs source.spm and target.spm)", tgt); goto done; }
    if (!lmt_file_exists(vj)) { s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: missing (a Marian folder needs vocab.json)", vj); goto done; }
    if ((s = lmt_spm_load(src, &t->spm_src)) != LMT_OK) goto done;
    t->spm_loaded = 1;
    if ((s = lmt_spm_load(tgt, &t->spm_tgt)) != LMT_OK) goto done;
    t->spm_loaded = 2;
    if ((s = load_vocab(&t->bpe, vj)) != LMT_OK) goto done;
    if ((s = side(&t->pipe, &t->spm_src, &t->bpe, vj)) != LMT_OK) goto done;
    if ((s = side(&t->pipe_tgt, &t->spm_tgt, separate ? &t->tgt_vocab : &t->bpe, separate ? tvj : vj)) != LMT_OK) goto done;
    t->model = LMT_TOK_UNIGRAM;
    t->kind = LMT_TOKENIZER_MARIAN;
    /* MarianTokenizer's defaults; tokenizer_config.json may rename them */
    static const char *const sp[] = {"</s>", "<unk>", "<pad>"};
    for (int k = 0; k < 3 && s == LMT_OK; k++) {
        int64_t id;
        if (lmt_strmap_get(t->bpe.vocab, sp[k], strlen(sp[k]), &id)) s = lmt_added_vocab_add(&t->added, sp[k], (int32_t)id, true, false, false, false, false);
    }
done:
    free(src); free(tgt); free(vj); free(tvj);
    return s;
}

/* The template: sequence(s) then </s>, all type 0. Pieces vocab.json lacks
 * take the id of the configured unk_token (current_encoder[unk_token]). */
lmt_status lmt_marian_post(lmt_tokenizer *t) {
    if (t->special.eos < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: Marian tokenizer without an eos token in its vocabulary", t->dir);
    if (t->special.unk >= 0 && t->special.unk != t->pipe->model.vocab_unk) {
        remap(&t->pipe->model, t->special.unk);
        if (!t->separate_vocabs) remap(&t->pipe_tgt->model, t->special.unk);
    }
    t->post.kind = LMT_POST_TEMPLATE;
    t->post.single = calloc(2, sizeof *t->post.single);
    t->post.pair = calloc(3, sizeof *t->post.pair);
    int32_t *e1 = malloc(4), *e2 = malloc(4);
    if (!t->post.single || !t->post.pair || !e1 || !e2) { free(e1); free(e2); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    *e1 = *e2 = t->special.eos;
    t->post.single[0] = (lmt_tpl_piece){0, 0, NULL, 0};
    t->post.single[1] = (lmt_tpl_piece){-1, 0, e1, 1};
    t->post.pair[0] = (lmt_tpl_piece){0, 0, NULL, 0};
    t->post.pair[1] = (lmt_tpl_piece){1, 0, NULL, 0};
    t->post.pair[2] = (lmt_tpl_piece){-1, 0, e2, 1};
    t->post.n_single = 2;
    t->post.n_pair = 3;
    return LMT_OK;
}

/* Python's str.isspace over the code point at s. */
static bool py_space(uint32_t c) {
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_special_id(const lmt_tokenizer *t, int32_t id) {
    long a = lmt_added_vocab_find_id(&t->added, id);
    return a >= 0 && t->added.v[a].special;
}

/* convert_ids_to_tokens -> convert_tokens_to_string (pieces decoded by the
 * source model between special tokens, "▁" -> " ", strip) ->
 * clean_up_tokenization. With separate vocabularies transformers decodes
 * as a target (use_source_tokenizer defaults to False): ids through
 * target_vocab.json, pieces by the target model. */
lmt_status lmt_tok_decode_marian(const lmt_tokenizer *t, const int32_t *ids, size_t n, bool skip_special_tokens,
                                 bool clean_up, char **out, size_t *out_len) {
    bool tgt = t->separate_vocabs;
    const lmt_spm *m = tgt ? &t->spm_tgt : &t->spm_src;
    const char **pcs = malloc((n ? n : 1) * sizeof *pcs);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens), np = 0;
    lmt_strbuf b;
    lmt_sb_init(&b);
    if (!pcs || !lens) { free(pcs); free(lens); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        bool special = is_special_id(t, ids[i]);
        if (skip_special_tokens && special) continue;
        const char *tok = lmt_tokenizer_id_to_token(t, ids[i]);
        if (tgt && lmt_added_vocab_find_id(&t->added, ids[i]) < 0)   /* added tokens first, then the target vocabulary */
            tok = ids[i] >= 0 && (size_t)ids[i] < t->tgt_vocab.n_ids ? t->tgt_vocab.id_to_token[ids[i]] : NULL;
        if (!tok) {   /* not in the vocabulary: the (source / target) model's piece, else <unk> */
            if (ids[i] >= 0 && (size_t)ids[i] < m->n) tok = m->piece[ids[i]];
            else tok = lmt_tokenizer_id_to_token(t, t->special.unk);
            if (!tok) tok = "<unk>";
        }
        long a = -1;
        for (size_t k = 0; k < t->added.n; k++) if (t->added.v[k].special && !strcmp(t->added.v[k].content, tok)) { a = (long)k; break; }
        if (a >= 0) {
            lmt_spm_decode_pieces(m, pcs, lens, np, &b);
            np = 0;
            lmt_sb_puts(&b, tok);
            lmt_sb_putc(&b, ' ');
        } else {
            pcs[np] = tok;
            lens[np++] = strlen(tok);
        }
    }
    lmt_spm_decode_pieces(m, pcs, lens, np, &b);
    free(pcs);
    free(lens);
    if (b.oom) { lmt_sb_free(&b); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    /* "▁" -> " " (pieces outside the model keep theirs), then Python's strip() */
    lmt_strbuf r;
    lmt_sb_init(&r);
    for (size_t k = 0; k < b.len;) {
        if (b.len - k >= 3 && !memcmp(b.data + k, "\xE2\x96\x81", 3)) { lmt_sb_putc(&r, ' '); k += 3; }
        else lmt_sb_putc(&r, b.data[k++]);
    }
    lmt_sb_free(&b);
    lmt_sb_append(&r, "", 0);
    if (r.oom) { lmt_sb_free(&r); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    const unsigned char *u = (const unsigned char *)r.data;
    size_t st = 0, en = r.len;
    while (st < en) {
        size_t l;
        uint32_t c = lmt_utf8_decode(u + st, en - st, &l);
        if (!py_space(c)) break;
        st += l;
    }
    while (en > st) {
        size_t p = en - 1;
        while (p > st && (u[p] & 0xC0) == 0x80) p--;
        size_t l;
        uint32_t c = lmt_utf8_decode(u + p, en - p, &l);
        if (!py_space(c)) break;
        en = p;
    }
    memmove(r.data, r.data + st, en - st);
    r.len = en - st;
    if (clean_up) r.len = lmt_clean_up_tokenization(r.data, r.len);
    r.data[r.len] = 0;
    *out_len = r.len;
    *out = lmt_sb_take(&r);
    return *out ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
}
