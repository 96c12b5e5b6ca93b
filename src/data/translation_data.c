/* Translation data preparation; see translation_data.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "data/translation_data.h"

lmt_translation_data_opts lmt_translation_data_opts_default(const char *path) {
    lmt_translation_data_opts o;
    memset(&o, 0, sizeof o);
    o.path = path;
    o.source_lang = "en";
    o.target_lang = "fr";
    o.train_size = lmt_size_fraction(0.9);
    o.test_size = lmt_size_none();
    o.seed = 20;
    o.max_source_length = 128;
    o.max_target_length = 128;
    return o;
}

static const lmt_ds_column *str_column(const lmt_dataset *ds, const char *name, lmt_status *s) {
    const lmt_ds_column *c = lmt_ds_col(ds, name);
    if (!c) *s = lmt_fail(LMT_ERR_ARG, "translation data: the dataset has no \"%s\" column", name);
    else if (c->type != LMT_DS_STR)
        *s = lmt_fail(LMT_ERR_ARG, "translation data: column \"%s\" is %s, not text", name, lmt_ds_type_name(c->type));
    return *s == LMT_OK ? c : NULL;
}

/* encodes every row of col; outs[n] zeroed by the caller */
static lmt_status encode_column(const lmt_tokenizer *tok, const lmt_ds_column *col, int64_t max_len, bool target,
                                lmt_encoding *outs) {
    size_t n = (size_t)col->n;
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!texts || !lens) {
        free(texts); free(lens);
        return lmt_fail(LMT_ERR_NOMEM, "translation data: out of memory for %zu rows", n);
    }
    for (size_t r = 0; r < n; r++) texts[r] = lmt_col_str(col, (int64_t)r, &lens[r]);
    lmt_encode_opts eo = lmt_encode_opts_default();
    if (max_len > 0) {
        eo.truncation = LMT_TRUNCATE_LONGEST_FIRST;
        eo.max_length = max_len;
    }
    eo.text_target = target;
    lmt_status s = n ? lmt_tokenizer_encode_batch(tok, texts, lens, NULL, NULL, n, &eo, outs) : LMT_OK;
    free(texts); free(lens);
    return s;
}

lmt_status lmt_translation_tokenize(const lmt_dataset *in, const lmt_tokenizer *tok, const char *src_col,
                                    const char *tgt_col, int64_t max_source_length, int64_t max_target_length,
                                    lmt_dataset *out) {
    lmt_ds_init(out);
    if (!in || !tok || !src_col || !tgt_col) return lmt_fail(LMT_ERR_ARG, "translation data: missing argument");
    if (max_source_length < 0 || max_target_length < 0)
        return lmt_fail(LMT_ERR_ARG, "translation data: max_source_length / max_target_length must not be negative");
    lmt_status s = LMT_OK;
    const lmt_ds_column *src = str_column(in, src_col, &s), *tgt = src ? str_column(in, tgt_col, &s) : NULL;
    if (s != LMT_OK) return s;
    for (int64_t r = 0; r < in->n_rows; r++) {
        if (lmt_col_is_null(src, r) || lmt_col_is_null(tgt, r))
            return lmt_fail(LMT_ERR_FORMAT, "translation data: row %lld has no \"%s\" side", (long long)r,
                            lmt_col_is_null(src, r) ? src_col : tgt_col);
        if (lmt_col_list_len(src, r) == 0)
            return lmt_fail(LMT_ERR_FORMAT, "translation data: row %lld has an empty source (\"%s\")", (long long)r, src_col);
    }
    size_t n = (size_t)in->n_rows;
    lmt_encoding *es = calloc(n ? n : 1, sizeof *es), *et = calloc(n ? n : 1, sizeof *et);
    lmt_ds_column *ids = lmt_col_new("input_ids", LMT_DS_INTS), *am = lmt_col_new("attention_mask", LMT_DS_INTS),
                  *lab = lmt_col_new("labels", LMT_DS_INTS);
    if (!es || !et || !ids || !am || !lab) {
        s = lmt_fail(LMT_ERR_NOMEM, "translation data: out of memory for %zu rows", n);
        goto done;
    }
    if ((s = encode_column(tok, src, max_source_length, false, es)) != LMT_OK) goto done;
    if ((s = encode_column(tok, tgt, max_target_length, true, et)) != LMT_OK) goto done;
    for (size_t r = 0; r < n; r++) {
        lmt_col_push_ints(ids, es[r].ids, es[r].n);
        lmt_col_push_ints(am, es[r].attention_mask, es[r].n);
        lmt_col_push_ints(lab, et[r].ids, et[r].n);
    }
    s = lmt_ds_add_column(out, ids);
    ids = NULL;
    if (s == LMT_OK) s = lmt_ds_add_column(out, am);
    am = NULL;
    if (s == LMT_OK) s = lmt_ds_add_column(out, lab);
    lab = NULL;
done:
    for (size_t r = 0; es && et && r < n; r++) {
        lmt_encoding_free(&es[r]);
        lmt_encoding_free(&et[r]);
    }
    free(es); free(et);
    lmt_col_free(ids); lmt_col_free(am); lmt_col_free(lab);
    if (s != LMT_OK) {
        lmt_ds_free(out);
        lmt_ds_init(out);
    }
    return s;
}

lmt_status lmt_translation_data_prepare(const lmt_translation_data_opts *o, const lmt_tokenizer *tok,
                                        lmt_dataset *train, lmt_dataset *validation) {
    lmt_ds_init(train);
    lmt_ds_init(validation);
    if (!o || !o->path || !o->source_lang || !o->target_lang || !tok)
        return lmt_fail(LMT_ERR_ARG, "translation data: missing path, languages or tokenizer");
    lmt_dataset raw, tr, te;
    lmt_ds_init(&raw); lmt_ds_init(&tr); lmt_ds_init(&te);
    lmt_status s = o->target_path ? lmt_ds_load_parallel(o->path, o->target_path, o->source_lang, o->target_lang, &raw)
                                  : lmt_ds_load_jsonl(o->path, &raw);
    if (s != LMT_OK) return s;
    char src_col[128], tgt_col[128];
    if ((size_t)snprintf(src_col, sizeof src_col, "translation.%s", o->source_lang) >= sizeof src_col ||
        (size_t)snprintf(tgt_col, sizeof tgt_col, "translation.%s", o->target_lang) >= sizeof tgt_col) {
        lmt_ds_free(&raw);
        return lmt_fail(LMT_ERR_ARG, "translation data: language code too long");
    }
    if (!lmt_ds_col(&raw, src_col) || !lmt_ds_col(&raw, tgt_col)) {
        lmt_ds_free(&raw);
        return lmt_fail(LMT_ERR_FORMAT, "%s: no \"%s\" pairs (need \"%s\" and \"%s\")", o->path,
                        !lmt_ds_col(&raw, src_col) ? src_col : tgt_col, src_col, tgt_col);
    }
    s = lmt_ds_train_test_split(&raw, o->test_size, o->train_size, o->seed, &tr, &te);
    lmt_ds_free(&raw);
    if (s != LMT_OK) return s;
    s = lmt_translation_tokenize(&tr, tok, src_col, tgt_col, o->max_source_length, o->max_target_length, train);
    if (s == LMT_OK)   /* the test split is the validation split */
        s = lmt_translation_tokenize(&te, tok, src_col, tgt_col, o->max_source_length, o->max_target_length, validation);
    if (s != LMT_OK) {
        lmt_status keep = s;
        lmt_ds_free(train); lmt_ds_init(train);
        lmt_ds_free(validation); lmt_ds_init(validation);
        s = keep;
    }
    lmt_ds_free(&tr);
    lmt_ds_free(&te);
    return s;
}

/* "en, fr" from the translation.* columns of ds */
static void list_langs(const lmt_dataset *ds, char *buf, size_t cap) {
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < ds->n_cols; i++) {
        const char *n = ds->cols[i]->name;
        if (strncmp(n, "translation.", 12)) continue;
        int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", n + 12);
        if (w < 0 || (size_t)w >= cap - used) break;
        used += (size_t)w;
    }
    if (!used) snprintf(buf, cap, "none: no \"translation\" object");
}

static lmt_status check_pairs(const lmt_dataset *ds, const char *path, const char *target_path, const char *source_lang,
                              const char *target_lang, const char *sc, const char *tc) {
    const lmt_ds_column *src = lmt_ds_col(ds, sc), *tgt = lmt_ds_col(ds, tc);
    if (!src || !tgt) {
        char langs[256];
        list_langs(ds, langs, sizeof langs);
        return lmt_fail(LMT_ERR_ARG, "%s: no pairs in language \"%s\" (--%s_lang); the file has: %s", path,
                        !src ? source_lang : target_lang, !src ? "source" : "target", langs);
    }
    if (src->type != LMT_DS_STR || tgt->type != LMT_DS_STR)
        return lmt_fail(LMT_ERR_FORMAT, "%s: translation.%s / translation.%s must be strings", path, source_lang, target_lang);
    for (int64_t r = 0; r < ds->n_rows; r++) {
        const char *where = target_path && lmt_col_is_null(tgt, r) ? target_path : path;
        if (lmt_col_is_null(src, r) || lmt_col_is_null(tgt, r))
            return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: the pair has no \"%s\" side", where, (long long)r + 1,
                            lmt_col_is_null(src, r) ? source_lang : target_lang);
        size_t n;
        lmt_col_str(src, r, &n);
        if (n == 0)
            return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: the source (\"%s\") is an empty string", path, (long long)r + 1, source_lang);
    }
    return LMT_OK;
}

static lmt_status add_prefix(lmt_dataset *ds, const char *sc, const char *prefix) {
    const lmt_ds_column *src = lmt_ds_col(ds, sc);
    lmt_ds_column *p = lmt_col_new(sc, LMT_DS_STR);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t pl = strlen(prefix);
    for (int64_t r = 0; r < ds->n_rows; r++) {
        size_t n;
        const char *t = lmt_col_str(src, r, &n);
        char *b = malloc(pl + n + 1);
        if (!b) { lmt_col_free(p); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
        memcpy(b, prefix, pl);
        memcpy(b + pl, t, n);
        lmt_col_push_str(p, b, pl + n);
        free(b);
    }
    const char *rm[] = {sc};
    lmt_status s = lmt_ds_remove_columns(ds, rm, 1);
    if (s != LMT_OK) { lmt_col_free(p); return s; }
    return lmt_ds_add_column(ds, p);
}

lmt_status lmt_translation_load_pairs(const char *path, const char *target_path, const char *source_lang,
                                      const char *target_lang, const char *source_prefix, lmt_dataset *out) {
    lmt_ds_init(out);
    if (!path || !source_lang || !target_lang) return lmt_fail(LMT_ERR_ARG, "translation data: missing path or languages");
    if (!lmt_file_exists(path)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file", path);
    if (target_path && !lmt_file_exists(target_path)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file", target_path);
    char sc[128], tc[128];
    if ((size_t)snprintf(sc, sizeof sc, "translation.%s", source_lang) >= sizeof sc ||
        (size_t)snprintf(tc, sizeof tc, "translation.%s", target_lang) >= sizeof tc)
        return lmt_fail(LMT_ERR_ARG, "translation data: language code too long");
    LMT_TRY(target_path ? lmt_ds_load_parallel(path, target_path, source_lang, target_lang, out) : lmt_ds_load_jsonl(path, out));
    lmt_status s = check_pairs(out, path, target_path, source_lang, target_lang, sc, tc);
    if (s == LMT_OK && source_prefix && source_prefix[0]) s = add_prefix(out, sc, source_prefix);
    if (s != LMT_OK) {
        lmt_ds_free(out);
        lmt_ds_init(out);
    }
    return s;
}

lmt_status lmt_translation_pad(lmt_dataset *ds, int32_t pad_id, int64_t max_source_length, int64_t max_target_length) {
    static const char *const names[] = {"input_ids", "attention_mask", "labels"};
    if (max_source_length < 0 || max_target_length < 0)
        return lmt_fail(LMT_ERR_ARG, "pad_to_max_length: max_source_length / max_target_length must not be negative");
    for (int c = 0; c < 3; c++) {
        const lmt_ds_column *col = lmt_ds_col(ds, names[c]);
        if (!col) return lmt_fail(LMT_ERR_ARG, "pad_to_max_length: no %s column", names[c]);
        int64_t len = c == 2 ? max_target_length : max_source_length;
        int32_t fill = c == 0 ? pad_id : c == 1 ? 0 : -100;
        lmt_ds_column *p = lmt_col_new(names[c], LMT_DS_INTS);
        int32_t *row = malloc((size_t)(len ? len : 1) * sizeof *row);
        if (!p || !row) { lmt_col_free(p); free(row); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
        for (int64_t r = 0; r < ds->n_rows; r++) {
            size_t n;
            const int32_t *v = lmt_col_ints(col, r, &n);
            for (int64_t k = 0; k < len; k++) row[k] = k < (int64_t)n ? v[k] : fill;
            lmt_col_push_ints(p, row, (size_t)len);
        }
        free(row);
        const char *rm[] = {names[c]};
        lmt_status s = lmt_ds_remove_columns(ds, rm, 1);
        if (s != LMT_OK) { lmt_col_free(p); return s; }
        LMT_TRY(lmt_ds_add_column(ds, p));
    }
    return LMT_OK;
}
