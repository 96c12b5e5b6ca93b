#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "tokenizers/postprocess.h"

void lmt_enc_put(lmt_encoding *e, int32_t id, int32_t type, int32_t special, int32_t word, int32_t seq, int32_t s, int32_t en) {
    size_t i = e->n++;
    e->ids[i] = id; e->type_ids[i] = type; e->attention_mask[i] = 1; e->special_tokens_mask[i] = special;
    e->word_ids[i] = word; e->sequence_ids[i] = seq; e->offset_start[i] = s; e->offset_end[i] = en;
}

static void free_pieces(lmt_tpl_piece *v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i].ids);
    free(v);
}

void lmt_post_free(lmt_post *p) {
    free_pieces(p->single, p->n_single);
    free_pieces(p->pair, p->n_pair);
    memset(p, 0, sizeof *p);
}

lmt_status lmt_post_gpt2_default(lmt_post *p) {
    memset(p, 0, sizeof *p);
    p->kind = LMT_POST_TEMPLATE;
    p->single = calloc(1, sizeof *p->single);
    p->pair = calloc(2, sizeof *p->pair);
    if (!p->single || !p->pair) { lmt_post_free(p); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    p->n_single = 1;
    p->n_pair = 2;
    p->pair[1].seq = 1;
    p->pair[1].type_id = 1;
    return LMT_OK;
}

size_t lmt_post_added(const lmt_post *p, bool pair) {
    if (p->kind == LMT_POST_ROBERTA) return pair ? 4 : 2;
    if (p->kind != LMT_POST_TEMPLATE) return 0;
    const lmt_tpl_piece *v = pair ? p->pair : p->single;
    size_t n = pair ? p->n_pair : p->n_single, total = 0;
    for (size_t i = 0; i < n; i++) if (v[i].seq < 0) total += v[i].n_ids;
    return total;
}

void lmt_post_trim(const lmt_post *p, lmt_post_seq *s) {
    if (!p->trim_offsets) return;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->from + k;
        int32_t *st = &s->cstart[i], *en = &s->cend[i];
        int32_t lead = s->lead[i], trail = s->trail[i];
        if (lead) {
            /* a single leading space on the first token is the one add_prefix_space put there */
            if ((k == 0 || *st == 0) && p->add_prefix_space && lead == 1) lead = 0;
            *st = *st + lead < *en ? *st + lead : *en;
        }
        if (trail && *en >= trail) *en = *en - trail > *st ? *en - trail : *st;
    }
}

static void put_seq(lmt_encoding *out, const lmt_post_seq *s, int32_t type, int32_t seq) {
    for (size_t k = s->from; k < s->from + s->n; k++)
        lmt_enc_put(out, s->ids[k], type, 0, s->words[k], seq, s->cstart[k], s->cend[k]);
}

void lmt_post_assemble(const lmt_post *p, bool add_special, lmt_post_seq *seqs, int nseq, lmt_encoding *out) {
    for (int q = 0; q < nseq; q++) lmt_post_trim(p, &seqs[q]);
    if (p->kind == LMT_POST_ROBERTA) {
        /* <s> A </s> [</s> B </s>]; RoBERTa types every token 0 */
        if (add_special) lmt_enc_put(out, p->cls, 0, 1, -1, -1, 0, 0);
        put_seq(out, &seqs[0], 0, 0);
        if (add_special) lmt_enc_put(out, p->sep, 0, 1, -1, -1, 0, 0);
        if (nseq == 2) {
            if (add_special) lmt_enc_put(out, p->sep, 0, 1, -1, -1, 0, 0);
            put_seq(out, &seqs[1], 0, 1);
            if (add_special) lmt_enc_put(out, p->sep, 0, 1, -1, -1, 0, 0);
        }
        return;
    }
    if (p->kind == LMT_POST_TEMPLATE) {
        const lmt_tpl_piece *v = nseq == 2 ? p->pair : p->single;
        size_t n = nseq == 2 ? p->n_pair : p->n_single;
        for (size_t i = 0; i < n; i++) {
            if (v[i].seq >= 0) { if (v[i].seq < nseq) put_seq(out, &seqs[v[i].seq], v[i].type_id, v[i].seq); }
            else if (add_special)
                for (size_t k = 0; k < v[i].n_ids; k++) lmt_enc_put(out, v[i].ids[k], v[i].type_id, 1, -1, -1, 0, 0);
        }
        return;
    }
    for (int q = 0; q < nseq; q++) put_seq(out, &seqs[q], q, q);
}

/* ---- tokenizer.json ---- */
static lmt_status parse_template(lmt_tpl_piece **out, size_t *n, const lmt_json *arr, const lmt_json *specials, const char *src,
                                 const char *field) {
    if (!arr || arr->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.%s must be an array", src, field);
    *out = calloc(arr->len ? arr->len : 1, sizeof **out);
    if (!*out) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *n = arr->len;
    for (size_t i = 0; i < arr->len; i++) {
        const lmt_json *e = &arr->items[i], *sq = lmt_json_get(e, "Sequence"), *sp = lmt_json_get(e, "SpecialToken");
        const lmt_json *body = sq ? sq : sp;
        const char *id = NULL;
        int64_t type = 0;
        if (!body || body->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.%s[%zu] is not a Sequence or SpecialToken", src, field, i);
        LMT_TRY(lmt_json_get_str(body, "id", NULL, src, &id));
        LMT_TRY(lmt_json_get_int(body, "type_id", 0, src, &type));
        if (!id || type < 0 || type > INT32_MAX) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.%s[%zu] needs an id and a type_id", src, field, i);
        (*out)[i].type_id = (int32_t)type;
        if (sq) {
            if (strcmp(id, "A") && strcmp(id, "B")) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.%s[%zu]: sequence \"%s\" is not A or B", src, field, i, id);
            (*out)[i].seq = id[0] == 'A' ? 0 : 1;
            continue;
        }
        (*out)[i].seq = -1;
        const lmt_json *tok = lmt_json_get(specials, id), *ids = tok ? lmt_json_get(tok, "ids") : NULL;
        if (!ids || ids->type != LMT_JSON_ARRAY || !ids->len) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor: special token \"%s\" has no ids", src, id);
        (*out)[i].ids = malloc(ids->len * sizeof *(*out)[i].ids);
        if (!(*out)[i].ids) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < ids->len; k++) {
            if (ids->items[k].type != LMT_JSON_NUMBER || !ids->items[k].is_int || ids->items[k].i64 < 0 || ids->items[k].i64 > INT32_MAX)
                return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor: special token \"%s\" has a bad id", src, id);
            (*out)[i].ids[k] = (int32_t)ids->items[k].i64;
        }
        (*out)[i].n_ids = ids->len;
    }
    return LMT_OK;
}

static lmt_status parse_one(lmt_post *p, const lmt_json *j, const char *src, lmt_post_lookup lookup, const void *ctx) {
    const char *type = NULL;
    LMT_TRY(lmt_json_get_str(j, "type", NULL, src, &type));
    if (!type) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor has no type", src);
    if (!strcmp(type, "ByteLevel")) {
        LMT_TRY(lmt_json_get_bool(j, "trim_offsets", true, src, &p->trim_offsets));
        return lmt_json_get_bool(j, "add_prefix_space", true, src, &p->add_prefix_space);
    }
    if (!strcmp(type, "RobertaProcessing")) {
        p->kind = LMT_POST_ROBERTA;
        LMT_TRY(lmt_json_get_bool(j, "trim_offsets", true, src, &p->trim_offsets));
        LMT_TRY(lmt_json_get_bool(j, "add_prefix_space", true, src, &p->add_prefix_space));
        const char *names[2] = {"cls", "sep"};
        int32_t *dst[2] = {&p->cls, &p->sep};
        for (int k = 0; k < 2; k++) {
            const lmt_json *a = lmt_json_get(j, names[k]);
            if (!a || a->type != LMT_JSON_ARRAY || a->len != 2 || a->items[1].type != LMT_JSON_NUMBER || !a->items[1].is_int ||
                a->items[1].i64 < 0 || a->items[1].i64 > INT32_MAX)
                return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.%s must be [token, id]", src, names[k]);
            *dst[k] = (int32_t)a->items[1].i64;
        }
        return LMT_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        p->kind = LMT_POST_TEMPLATE;
        const lmt_json *sp = lmt_json_get(j, "special_tokens");
        LMT_TRY(parse_template(&p->single, &p->n_single, lmt_json_get(j, "single"), sp, src, "single"));
        return parse_template(&p->pair, &p->n_pair, lmt_json_get(j, "pair"), sp, src, "pair");
    }
    if (!strcmp(type, "BertProcessing")) {
        /* [CLS] A [SEP] (B [SEP], typed 1) */
        const char *names[2] = {"cls", "sep"};
        int32_t ids[2];
        for (int k = 0; k < 2; k++) {
            const lmt_json *a = lmt_json_get(j, names[k]);
            if (!a || a->type != LMT_JSON_ARRAY || a->len != 2 || !a->items[1].is_int) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.%s must be [token, id]", src, names[k]);
            ids[k] = (int32_t)a->items[1].i64;
        }
        (void)lookup; (void)ctx;
        p->kind = LMT_POST_TEMPLATE;
        p->single = calloc(3, sizeof *p->single);
        p->pair = calloc(5, sizeof *p->pair);
        if (!p->single || !p->pair) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        int layout[5][3] = {{-1, 0, 0}, {0, 0, -1}, {-1, 0, 1}, {1, 1, -1}, {-1, 1, 1}};   /* seq, type, special index */
        for (int i = 0; i < 5; i++) {
            lmt_tpl_piece *x = &p->pair[i];
            x->seq = layout[i][0]; x->type_id = layout[i][1];
            if (x->seq < 0) {
                if (!(x->ids = malloc(sizeof *x->ids))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
                x->ids[0] = ids[layout[i][2]]; x->n_ids = 1;
            }
            if (i < 3) {
                lmt_tpl_piece *y = &p->single[i];
                *y = *x;
                if (x->seq < 0) { if (!(y->ids = malloc(sizeof *y->ids))) return lmt_fail(LMT_ERR_NOMEM, "out of memory"); y->ids[0] = x->ids[0]; }
            }
        }
        p->n_single = 3;
        p->n_pair = 5;
        return LMT_OK;
    }
    return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: post-processor \"%s\" is not supported", src, type);
}

lmt_status lmt_post_parse(lmt_post *p, const lmt_json *j, const char *src, lmt_post_lookup lookup, const void *ctx) {
    memset(p, 0, sizeof *p);
    if (!j || j->type == LMT_JSON_NULL) return LMT_OK;
    if (j->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: post_processor must be an object or null", src);
    const char *type = NULL;
    LMT_TRY(lmt_json_get_str(j, "type", NULL, src, &type));
    lmt_status s = LMT_OK;
    if (type && !strcmp(type, "Sequence")) {
        const lmt_json *list = lmt_json_get(j, "processors");
        if (!list || list->type != LMT_JSON_ARRAY) s = lmt_fail(LMT_ERR_FORMAT, "%s: post_processor.processors must be an array", src);
        for (size_t i = 0; s == LMT_OK && list && i < list->len; i++) s = parse_one(p, &list->items[i], src, lookup, ctx);
    } else {
        s = parse_one(p, j, src, lookup, ctx);
    }
    if (s != LMT_OK) lmt_post_free(p);
    return s;
}
