/* Parallel corpora (two aligned text files) as the HF OPUS scripts build
 * them, and loader selection by file extension. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/text_util.h"

static lmt_status read_lines(const char *path, char **d, size_t *len, int64_t *n_lines) {
    LMT_TRY(lmt_read_file(path, d, len));
    lmt_status s = lmt_data_check_utf8(path, *d, *len, 1);
    if (s != LMT_OK) { free(*d); *d = NULL; return s; }
    lmt_line_iter it;
    lmt_line_iter_init(&it, *d, *len);
    const char *l;
    size_t n;
    bool nl;
    while (lmt_line_next(&it, &l, &n, &nl)) {}
    *n_lines = it.line;
    if (*n_lines == 0) { free(*d); *d = NULL; return lmt_fail(LMT_ERR_FORMAT, "%s: the file is empty (no examples)", path); }
    return LMT_OK;
}

lmt_status lmt_ds_load_parallel(const char *src_path, const char *tgt_path, const char *src_lang, const char *tgt_lang,
                                lmt_dataset *out) {
    lmt_ds_init(out);
    if (!strcmp(src_lang, tgt_lang)) return lmt_fail(LMT_ERR_ARG, "the source and target languages are both \"%s\"", src_lang);
    char *a = NULL, *b = NULL;
    size_t la, lb;
    int64_t na, nb;
    LMT_TRY(read_lines(src_path, &a, &la, &na));
    lmt_status s = read_lines(tgt_path, &b, &lb, &nb);
    if (s == LMT_OK && na != nb)
        s = lmt_fail(LMT_ERR_FORMAT, "%s has %lld lines but %s has %lld: the files are not aligned", src_path,
                     (long long)na, tgt_path, (long long)nb);
    if (s != LMT_OK) { free(a); free(b); return s; }
    char name_a[256], name_b[256];
    snprintf(name_a, sizeof name_a, "translation.%s", src_lang);
    snprintf(name_b, sizeof name_b, "translation.%s", tgt_lang);
    lmt_ds_column *id = lmt_col_new("id", LMT_DS_STR), *ca = lmt_col_new(name_a, LMT_DS_STR), *cb = lmt_col_new(name_b, LMT_DS_STR);
    lmt_line_iter ia, ib;
    lmt_line_iter_init(&ia, a, la);
    lmt_line_iter_init(&ib, b, lb);
    const char *l;
    size_t n, sb, se;
    bool nl;
    for (int64_t i = 0; id && ca && cb && i < na; i++) {
        char num[24];
        int k = snprintf(num, sizeof num, "%lld", (long long)i);
        lmt_col_push_str(id, num, (size_t)k);
        lmt_line_next(&ia, &l, &n, &nl);
        lmt_data_py_strip(l, n, &sb, &se);
        lmt_col_push_str(ca, l + sb, se - sb);
        lmt_line_next(&ib, &l, &n, &nl);
        lmt_data_py_strip(l, n, &sb, &se);
        lmt_col_push_str(cb, l + sb, se - sb);
    }
    free(a);
    free(b);
    s = lmt_ds_add_column(out, id);
    if (s == LMT_OK) s = lmt_ds_add_column(out, ca); else lmt_col_free(ca);
    if (s == LMT_OK) s = lmt_ds_add_column(out, cb); else lmt_col_free(cb);
    if (s != LMT_OK) lmt_ds_free(out);
    return s;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

lmt_status lmt_ds_load_auto(const char *path, lmt_text_mode text_mode, lmt_dataset *out) {
    if (ends_with(path, ".jsonl") || ends_with(path, ".json")) return lmt_ds_load_jsonl(path, out);
    if (ends_with(path, ".csv")) return lmt_ds_load_csv(path, ',', out);
    if (ends_with(path, ".tsv")) return lmt_ds_load_csv(path, '\t', out);
    return lmt_ds_load_text(path, text_mode, out);
}
