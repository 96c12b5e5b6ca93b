/* tokenizer.json pre-tokenizers: parsing, the stage loop, tokenizers'
 * split behaviors, and the character-class stages (Whitespace,
 * WhitespaceSplit, Punctuation, Digits, BertPreTokenizer, ByteLevel). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#include "core/error.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/pretok_gpt2.h"
#include "tokenizers/utf8.h"


void lmt_pwords_free(lmt_pwords *w) {
    lmt_normalized_free(&w->buf);
    free(w->v);
    free(w->pc);
    memset(w, 0, sizeof *w);
}

int lmt_pwords_add(lmt_pwords *w, uint32_t off, uint32_t len) {
    if (len == 0) return 0;   /* tokenizers drops empty splits */
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        lmt_pspan *nv = realloc(w->v, nc * sizeof *nv);
        if (!nv) return -1;
        w->v = nv;
        w->cap = nc;
    }
    w->v[w->n++] = (lmt_pspan){off, len};
    return 0;
}

/* Splitting stages keep the text: their words are spans of in's buffer. */
static int emit_one(const lmt_pwords *in, uint32_t base, uint32_t s, uint32_t e, lmt_pwords *out) {
    (void)in;
    return e > s ? lmt_pwords_add(out, base + s, e - s) : 0;
}

int lmt_pretok_emit(const lmt_pwords *in, size_t word, lmt_piece *p, size_t np, lmt_split_behavior b, bool invert,
                    lmt_pwords *out) {
    uint32_t base = in->v[word].off;
    if (invert) for (size_t i = 0; i < np; i++) p[i].match = !p[i].match;
    size_t k = 0;   /* the pieces rewritten in place into p[0..k) */
    bool prev = false;
    switch (b) {
    case LMT_SPLIT_REMOVED:
        for (size_t i = 0; i < np; i++) if (!p[i].match && emit_one(in, base, p[i].start, p[i].end, out)) return -1;
        return 0;
    case LMT_SPLIT_ISOLATED:
        k = np;
        break;
    case LMT_SPLIT_PREV:
        for (size_t i = 0; i < np; i++) {
            if (p[i].match && !prev && k) p[k - 1].end = p[i].end;
            else p[k++] = p[i];
            prev = p[i].match;
        }
        break;
    case LMT_SPLIT_NEXT:
        /* right to left: a match joins the piece after it */
        for (size_t i = np; i-- > 0;) {
            bool m = p[i].match;
            if (m && !prev && k) p[np - k].start = p[i].start;
            else { p[np - 1 - k] = p[i]; k++; }
            prev = m;
        }
        memmove(p, p + np - k, k * sizeof *p);
        break;
    case LMT_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < np; i++) {
            if (p[i].match == prev && k) p[k - 1].end = p[i].end;
            else p[k++] = p[i];
            prev = p[i].match;
        }
        break;
    }
    for (size_t i = 0; i < k; i++) if (emit_one(in, base, p[i].start, p[i].end, out)) return -1;
    return 0;
}

/* ---- character-class stages ---- */
static bool is_numeric(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

static bool is_punc(uint32_t c) {
    if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

int lmt_pwords_piece(lmt_pwords *p, uint32_t s, uint32_t e, bool m) {
    if (p->pc_n == p->pc_cap) {
        size_t nc = p->pc_cap ? p->pc_cap * 2 : 64;
        lmt_piece *nv = realloc(p->pc, nc * sizeof *nv);
        if (!nv) return -1;
        p->pc = nv;
        p->pc_cap = nc;
    }
    p->pc[p->pc_n++] = (lmt_piece){s, e, m};
    return 0;
}

/* class 0: not matched (runs merge); classes > 0: each character its own
 * match (single = true) or runs of the same class one match. */
static int char_pieces(const char *w, size_t n, int (*cls)(uint32_t), bool single, lmt_pwords *out) {
    out->pc_n = 0;
    int prev = -1;
    for (size_t i = 0; i < n;) {
        size_t l;
        int c = cls(lmt_utf8_decode((const unsigned char *)w + i, n - i, &l));
        if (out->pc_n && c == prev && (c == 0 || !single)) out->pc[out->pc_n - 1].end = (uint32_t)(i + l);
        else if (lmt_pwords_piece(out, (uint32_t)i, (uint32_t)(i + l), c != 0)) return -1;
        prev = c;
        i += l;
    }
    return 0;
}

static int cls_digit(uint32_t c) { return is_numeric(c); }
static int cls_punc(uint32_t c) { return is_punc(c); }
static int cls_space(uint32_t c) { return lmt_unicode_is_space(c); }
static int cls_ws(uint32_t c) { return lmt_unicode_is_space(c) ? 1 : lmt_unicode_is_word(c) ? 0 : 2; }

static int stage_chars(const lmt_pre_stage *st, const lmt_pwords *in, lmt_pwords *out) {
    for (size_t w = 0; w < in->n; w++) {
        const char *s = in->buf.s + in->v[w].off;
        size_t n = in->v[w].len;
        int rc = 0;
        switch (st->kind) {
        case LMT_PRE_DIGITS:
            rc = char_pieces(s, n, cls_digit, st->individual, out);
            if (!rc) rc = lmt_pretok_emit(in, w, out->pc, out->pc_n, st->individual ? LMT_SPLIT_ISOLATED : LMT_SPLIT_CONTIGUOUS, false, out);
            break;
        case LMT_PRE_PUNCTUATION:
            rc = char_pieces(s, n, cls_punc, true, out);
            if (!rc) rc = lmt_pretok_emit(in, w, out->pc, out->pc_n, st->behavior, false, out);
            break;
        case LMT_PRE_WHITESPACE_SPLIT:
            rc = char_pieces(s, n, cls_space, false, out);
            if (!rc) rc = lmt_pretok_emit(in, w, out->pc, out->pc_n, LMT_SPLIT_REMOVED, false, out);
            break;
        case LMT_PRE_WHITESPACE:
            /* \w+|[^\w\s]+ kept, the rest removed */
            rc = char_pieces(s, n, cls_ws, false, out);
            for (size_t i = 0; !rc && i < out->pc_n; i++) {
                size_t l;
                out->pc[i].match = lmt_unicode_is_space(lmt_utf8_decode((const unsigned char *)s + out->pc[i].start, n - out->pc[i].start, &l));
            }
            if (!rc) rc = lmt_pretok_emit(in, w, out->pc, out->pc_n, LMT_SPLIT_REMOVED, false, out);
            break;
        case LMT_PRE_BERT: {
            lmt_spans sp = {0};
            rc = lmt_pretok_bert(s, n, &sp);
            for (size_t i = 0; !rc && i < sp.n; i++) rc = emit_one(in, in->v[w].off, sp.v[i].start, sp.v[i].end, out);
            free(sp.v);
            break;
        }
        default: rc = -1;
        }
        if (rc) return -1;
    }
    return 0;
}

/* ByteLevel (last stage): optional prefix space, GPT-2's split; the words stay
 * raw bytes, which the BPE model maps through the byte alphabet. */
static int stage_bytelevel(const lmt_pre_stage *st, const lmt_pwords *in, lmt_pwords *out) {
    lmt_spans sp = {0};
    int rc = 0;
    for (size_t w = 0; w < in->n && !rc; w++) {
        uint32_t off = (uint32_t)out->buf.n, base = in->v[w].off, n = in->v[w].len;
        if (st->add_prefix_space && in->buf.s[base] != ' ') {
            size_t l;
            lmt_utf8_decode((const unsigned char *)in->buf.s + base, n, &l);
            if ((rc = lmt_ns_push(&out->buf, " ", 1, in->buf.ostart[base], in->buf.oend[base + l - 1]))) break;
        }
        if ((rc = lmt_ns_copy(&out->buf, &in->buf, base, base + n))) break;
        uint32_t len = (uint32_t)out->buf.n - off;
        if (!st->use_regex) { rc = lmt_pwords_add(out, off, len); continue; }
        sp.n = 0;
        if ((rc = lmt_pretok_gpt2(out->buf.s + off, len, off, &sp))) break;
        for (size_t i = 0; i < sp.n && !rc; i++) rc = lmt_pwords_add(out, sp.v[i].start, sp.v[i].end - sp.v[i].start);
    }
    free(sp.v);
    return rc;
}

int lmt_pretok_run(const lmt_pretokenizer *p, lmt_regex_region **rr, lmt_pwords *a, lmt_pwords *b) {
    int rc = 0;
    for (size_t k = 0; k < p->n && !rc; k++) {
        const lmt_pre_stage *st = &p->v[k];
        b->buf.n = 0;
        b->n = 0;
        bool rewrites = true;   /* the stage writes new text into b's buffer */
        switch (st->kind) {
        case LMT_PRE_BYTELEVEL:
            if (!st->add_prefix_space && !st->use_regex) continue;   /* words unchanged: the model maps the bytes */
            rc = stage_bytelevel(st, a, b);
            break;
        case LMT_PRE_SPLIT: rc = lmt_pretok_split_regex(st, rr, a, b); rewrites = false; break;
        case LMT_PRE_METASPACE: rc = lmt_pretok_metaspace(st, a, b); break;
        default: rc = stage_chars(st, a, b); rewrites = false; break;
        }
        if (rewrites) { lmt_pwords t = *a; *a = *b; *b = t; }
        else {   /* only the word lists change hands */
            lmt_pspan *v = a->v; size_t n = a->n, cap = a->cap;
            a->v = b->v; a->n = b->n; a->cap = b->cap;
            b->v = v; b->n = n; b->cap = cap;
        }
    }
    return rc;
}

/* ---- parsing ---- */
void lmt_pretok_free(lmt_pretokenizer *p) {
    for (size_t i = 0; i < p->n; i++) lmt_regex_free(p->v[i].re);
    free(p->v);
    memset(p, 0, sizeof *p);
}

static lmt_status parse_behavior(const lmt_json *j, const char *src, lmt_split_behavior def, lmt_split_behavior *out) {
    const char *b = NULL;
    LMT_TRY(lmt_json_get_str(j, "behavior", NULL, src, &b));
    if (!b) { *out = def; return LMT_OK; }
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(b, names[i])) { *out = (lmt_split_behavior)i; return LMT_OK; }
    return lmt_fail(LMT_ERR_FORMAT, "%s: unknown split behavior \"%s\"", src, b);
}

lmt_status lmt_pretok_parse(lmt_pretokenizer *p, const lmt_json *j, const char *src) {
    const char *type = NULL;
    LMT_TRY(lmt_tok_stage_type(j, src, "pre_tokenizer", &type));
    if (!type) return LMT_OK;
    if (!strcmp(type, "Sequence")) {
        const lmt_json *l = lmt_json_get(j, "pretokenizers");
        if (!l || l->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "%s: pre_tokenizer Sequence needs \"pretokenizers\"", src);
        for (size_t i = 0; i < l->len; i++) LMT_TRY(lmt_pretok_parse(p, &l->items[i], src));
        return LMT_OK;
    }
    if (p->bytelevel) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: a pre-tokenizer after ByteLevel is not supported", src);
    lmt_pre_stage st;
    memset(&st, 0, sizeof st);
    if (!strcmp(type, "ByteLevel")) {
        st.kind = LMT_PRE_BYTELEVEL;
        LMT_TRY(lmt_json_get_bool(j, "add_prefix_space", true, src, &st.add_prefix_space));
        LMT_TRY(lmt_json_get_bool(j, "use_regex", true, src, &st.use_regex));
        p->bytelevel = true;
    } else if (!strcmp(type, "Split")) {
        st.kind = LMT_PRE_SPLIT;
        LMT_TRY(parse_behavior(j, src, LMT_SPLIT_ISOLATED, &st.behavior));
        LMT_TRY(lmt_json_get_bool(j, "invert", false, src, &st.invert));
        LMT_TRY(lmt_tok_parse_pattern(lmt_json_get(j, "pattern"), src, "pre_tokenizer Split", &st.re));
        const lmt_json *rx = lmt_json_get(lmt_json_get(j, "pattern"), "Regex");
        if (rx && rx->type == LMT_JSON_STRING && !getenv("LMT_TOK_ONIG_ONLY")) {
            if (!strcmp(rx->str, lmt_llama3_pattern)) st.fast_digits = 3;
            else if (!strcmp(rx->str, lmt_qwen2_pattern)) st.fast_digits = 1;
        }
    } else if (!strcmp(type, "Metaspace")) {
        st.kind = LMT_PRE_METASPACE;
        const char *r = NULL, *ps = NULL;
        LMT_TRY(lmt_json_get_str(j, "replacement", "\xe2\x96\x81", src, &r));
        LMT_TRY(lmt_json_get_str(j, "prepend_scheme", NULL, src, &ps));
        LMT_TRY(lmt_json_get_bool(j, "split", true, src, &st.split));
        size_t rl = strlen(r), l;
        if (rl == 0 || rl > 4) return lmt_fail(LMT_ERR_FORMAT, "%s: Metaspace replacement must be one character", src);
        lmt_utf8_decode((const unsigned char *)r, rl, &l);
        if (l != rl) return lmt_fail(LMT_ERR_FORMAT, "%s: Metaspace replacement must be one character", src);
        memcpy(st.repl, r, rl);
        st.repl_len = rl;
        if (!ps) {   /* older files: add_prefix_space */
            bool aps = true;
            LMT_TRY(lmt_json_get_bool(j, "add_prefix_space", true, src, &aps));
            st.prepend = aps ? LMT_PREPEND_ALWAYS : LMT_PREPEND_NEVER;
        } else if (!strcmp(ps, "always")) st.prepend = LMT_PREPEND_ALWAYS;
        else if (!strcmp(ps, "first")) st.prepend = LMT_PREPEND_FIRST;
        else if (!strcmp(ps, "never")) st.prepend = LMT_PREPEND_NEVER;
        else return lmt_fail(LMT_ERR_FORMAT, "%s: unknown Metaspace prepend_scheme \"%s\"", src, ps);
    } else if (!strcmp(type, "Whitespace")) st.kind = LMT_PRE_WHITESPACE;
    else if (!strcmp(type, "WhitespaceSplit")) st.kind = LMT_PRE_WHITESPACE_SPLIT;
    else if (!strcmp(type, "BertPreTokenizer")) st.kind = LMT_PRE_BERT;
    else if (!strcmp(type, "Punctuation")) {
        st.kind = LMT_PRE_PUNCTUATION;
        LMT_TRY(parse_behavior(j, src, LMT_SPLIT_ISOLATED, &st.behavior));
    } else if (!strcmp(type, "Digits")) {
        st.kind = LMT_PRE_DIGITS;
        LMT_TRY(lmt_json_get_bool(j, "individual_digits", false, src, &st.individual));
    } else {
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: pre_tokenizer type \"%s\" is not supported", src, type);
    }
    lmt_pre_stage *nv = realloc(p->v, (p->n + 1) * sizeof *nv);
    if (!nv) { lmt_regex_free(st.re); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    p->v = nv;
    p->v[p->n++] = st;
    return LMT_OK;
}
