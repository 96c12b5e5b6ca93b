/* Loaders against what `datasets` loads from the same files
 * (tests/fixtures/data/loaders.json), the WikiText convention on the real
 * validation split, the real IMDb and KDE files, dataset operations, and
 * bad input: every error names the file and line. */
#include <unistd.h>
#include "core/util.h"
#include "data/dataset.h"
#include "data_fixtures.h"

#define LOADERS DATA_FIX "loaders/"

static bool value_equal(const lmt_ds_column *c, int64_t r, const lmt_json *v) {
    if (v->type == LMT_JSON_NULL) return lmt_col_is_null(c, r);
    if (lmt_col_is_null(c, r)) return false;
    size_t n;
    switch (c->type) {
    case LMT_DS_STR: {
        const char *s = lmt_col_str(c, r, &n);
        return v->type == LMT_JSON_STRING && v->len == n && !memcmp(v->str, s, n);
    }
    case LMT_DS_INT: return v->type == LMT_JSON_NUMBER && v->is_int && v->i64 == c->i64[r];
    case LMT_DS_FLOAT: return v->type == LMT_JSON_NUMBER && v->num == c->f64[r];
    case LMT_DS_BOOL: return v->type == LMT_JSON_BOOL && v->boolean == (c->i64[r] != 0);
    case LMT_DS_INTS: {
        const int32_t *x = lmt_col_ints(c, r, &n);
        if (v->type != LMT_JSON_ARRAY || v->len != n) return false;
        for (size_t k = 0; k < n; k++)
            if (v->items[k].i64 != x[k]) return false;
        return true;
    }
    case LMT_DS_FLOATS: {
        const double *x = lmt_col_floats(c, r, &n);
        if (v->type != LMT_JSON_ARRAY || v->len != n) return false;
        for (size_t k = 0; k < n; k++)
            if (v->items[k].num != x[k]) return false;
        return true;
    }
    case LMT_DS_STRS:
        n = lmt_col_list_len(c, r);
        if (v->type != LMT_JSON_ARRAY || v->len != n) return false;
        for (size_t k = 0; k < n; k++) {
            size_t len;
            const char *s = lmt_col_strs_at(c, r, k, &len);
            if (v->items[k].len != len || memcmp(v->items[k].str, s, len)) return false;
        }
        return true;
    }
    return false;
}

/* Compares a loaded dataset with {"columns": [...], "rows": [...]} (rows are
 * strings for one-column text cases, objects otherwise). */
static void check_case(const char *what, const lmt_dataset *ds, const lmt_json *ref) {
    const lmt_json *cols = lmt_json_get(ref, "columns"), *rows = lmt_json_get(ref, "rows");
    CHECK_MSG(ds->n_cols == cols->len, "%s: %zu columns, expected %zu", what, ds->n_cols, cols->len);
    CHECK_MSG(ds->n_rows == (int64_t)rows->len, "%s: %lld rows, expected %zu", what, (long long)ds->n_rows, rows->len);
    if (ds->n_cols != cols->len || ds->n_rows != (int64_t)rows->len) return;
    for (size_t j = 0; j < cols->len; j++) {
        const lmt_ds_column *c = ds->cols[j];
        CHECK_MSG(!strcmp(c->name, cols->items[j].str), "%s: column %zu is %s, expected %s", what, j, c->name,
                  cols->items[j].str);
        for (int64_t r = 0; r < ds->n_rows; r++) {
            const lmt_json *row = &rows->items[r];
            const lmt_json *v = row->type == LMT_JSON_OBJECT ? lmt_json_get(row, c->name) : row;
            CHECK_MSG(v && value_equal(c, r, v), "%s: row %lld column %s differs (%s)", what, (long long)r, c->name,
                      lmt_ds_type_name(c->type));
        }
    }
}

static void test_against_datasets(const lmt_json *refs) {
    static const struct { const char *key, *file; lmt_text_mode mode; } text_cases[] = {
        {"lines.txt:keep", "lines.txt", LMT_TEXT_KEEP_LINEBREAKS},
        {"lines.txt:strip", "lines.txt", LMT_TEXT_STRIP_LINEBREAKS},
        {"lines.txt:wikitext", "lines.txt", LMT_TEXT_WIKITEXT},
    };
    for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
        lmt_dataset ds;
        CHECK_OK(lmt_ds_load_text(LOADERS "lines.txt", text_cases[i].mode, &ds));
        check_case(text_cases[i].key, &ds, lmt_json_get(refs, text_cases[i].key));
        lmt_ds_free(&ds);
    }
    lmt_dataset ds;
    CHECK_OK(lmt_ds_load_jsonl(LOADERS "nested.jsonl", &ds));
    CHECK_OK(lmt_ds_flatten(&ds));
    check_case("nested.jsonl", &ds, lmt_json_get(refs, "nested.jsonl"));
    CHECK(lmt_ds_col(&ds, "answers.text")->type == LMT_DS_STRS);
    CHECK(lmt_ds_col(&ds, "answers.score")->type == LMT_DS_INTS);
    CHECK(lmt_ds_col(&ds, "meta.ups")->type == LMT_DS_FLOAT);
    CHECK(lmt_ds_col(&ds, "meta.nsfw")->type == LMT_DS_BOOL);
    /* the ELI5 step: " ".join(x) for x in answers.text */
    CHECK_OK(lmt_ds_join_strings(&ds, "answers.text", " ", "text"));
    size_t n;
    const lmt_ds_column *t = lmt_ds_col(&ds, "text");
    const char *s = lmt_col_str(t, 0, &n);
    CHECK(n == strlen("Rayleigh scattering. Because \"air\"\nscatters blue.") &&
          !memcmp(s, "Rayleigh scattering. Because \"air\"\nscatters blue.", n));
    s = lmt_col_str(t, 1, &n);
    CHECK(n == 0);
    s = lmt_col_str(t, 2, &n);
    CHECK(n == 8 && !memcmp(s, "only one", 8));
    CHECK(lmt_ds_join_strings(&ds, "title", " ", "x") == LMT_ERR_ARG);
    lmt_ds_free(&ds);

    CHECK_OK(lmt_ds_load_csv(LOADERS "table.csv", ',', &ds));
    check_case("table.csv", &ds, lmt_json_get(refs, "table.csv"));
    lmt_ds_free(&ds);
    CHECK_OK(lmt_ds_load_auto(LOADERS "table.tsv", LMT_TEXT_KEEP_LINEBREAKS, &ds));
    check_case("table.tsv", &ds, lmt_json_get(refs, "table.tsv"));
    lmt_ds_free(&ds);
    CHECK_OK(lmt_ds_load_parallel(LOADERS "para.en", LOADERS "para.fr", "en", "fr", &ds));
    check_case("para.en+para.fr", &ds, lmt_json_get(refs, "para.en+para.fr"));
    lmt_ds_free(&ds);
}

static void test_wikitext(const lmt_json *group) {
    const char *path = LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw";
    lmt_dataset ds;
    CHECK_OK(lmt_ds_load_text(path, LMT_TEXT_WIKITEXT, &ds));
    CHECK(ds.n_rows == 3760);  /* the HF validation split */
    const lmt_json *wt = lmt_json_get(group, "wiki_tokens");
    size_t n;
    const lmt_ds_column *c = lmt_ds_col(&ds, "text");
    const char *s = lmt_col_str(c, 0, &n);
    const lmt_json *t0 = lmt_json_get(wt, "text0"), *t1 = lmt_json_get(wt, "text1");
    CHECK(n == t0->len && n == 0);
    s = lmt_col_str(c, 1, &n);
    CHECK(n == t1->len && !memcmp(s, t1->str, n));
    CHECK(n == 23 && !memcmp(s, " = Homarus gammarus = \n", 23));
    lmt_ds_free(&ds);
    /* the plain text loader keeps the " \n" lines */
    CHECK_OK(lmt_ds_load_text(path, LMT_TEXT_KEEP_LINEBREAKS, &ds));
    s = lmt_col_str(lmt_ds_col(&ds, "text"), 0, &n);
    CHECK(ds.n_rows == 3760 && n == 2 && !memcmp(s, " \n", 2));
    lmt_ds_free(&ds);
    CHECK_OK(lmt_ds_load_text(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.test.raw", LMT_TEXT_WIKITEXT, &ds));
    CHECK(ds.n_rows == 4358);
    lmt_ds_free(&ds);
}

static void test_real_jsonl(void) {
    lmt_dataset ds;
    double t0 = lmt_time_s();
    CHECK_OK(lmt_ds_load_jsonl(LMT_SHARED_DATA "/imdb/train.jsonl", &ds));
    double t1 = lmt_time_s();
    CHECK(ds.n_rows == 25000 && ds.n_cols == 2);
    CHECK(lmt_ds_col(&ds, "text") && lmt_ds_col(&ds, "text")->type == LMT_DS_STR);
    CHECK(lmt_ds_col(&ds, "label") && lmt_ds_col(&ds, "label")->type == LMT_DS_INT);
    /* positive reviews first, then negative (the HF imdb order) */
    CHECK(lmt_ds_col(&ds, "label")->i64[0] == 1 && lmt_ds_col(&ds, "label")->i64[24999] == 0);
    printf("IMDb train (33.8 MB, 25,000 rows) loaded in %.2f s\n", t1 - t0);
    /* the IMDb downsampling of the course, on the review rows */
    lmt_dataset tr, te;
    CHECK_OK(lmt_ds_train_test_split(&ds, lmt_size_count(1000), lmt_size_count(10000), 42, &tr, &te));
    CHECK(tr.n_rows == 10000 && te.n_rows == 1000 && tr.n_cols == 2);
    lmt_ds_free(&tr);
    lmt_ds_free(&te);
    lmt_ds_free(&ds);

    CHECK_OK(lmt_ds_load_jsonl(LMT_SHARED_DATA "/kde-en-fr/kde.jsonl", &ds));
    CHECK(ds.n_rows == 56971);
    CHECK(ds.n_cols == 3 && !strcmp(ds.cols[0]->name, "id") && !strcmp(ds.cols[1]->name, "translation.en") &&
          !strcmp(ds.cols[2]->name, "translation.fr"));
    size_t n;
    const char *s = lmt_col_str(lmt_ds_col(&ds, "translation.fr"), 0, &n);
    CHECK(n == 10 && !memcmp(s, "&Dossier :", 10));
    CHECK_OK(lmt_ds_train_test_split(&ds, lmt_size_none(), lmt_size_fraction(0.9), 20, &tr, &te));
    CHECK(tr.n_rows == 51273 && te.n_rows == 5698);  /* floor(0.9 * 56971), the rest */
    CHECK_OK(lmt_ds_rename_column(&te, "translation.en", "en"));
    CHECK(lmt_ds_col(&te, "en") && !lmt_ds_col(&te, "translation.en"));
    lmt_ds_free(&tr);
    lmt_ds_free(&te);
    lmt_ds_free(&ds);
}

static void test_ops(void) {
    lmt_dataset ds, sel;
    CHECK_OK(lmt_ds_load_jsonl(LOADERS "nested.jsonl", &ds));
    int64_t idx[] = {2, 0, 2};
    CHECK_OK(lmt_ds_select(&ds, idx, 3, &sel));
    CHECK(sel.n_rows == 3 && sel.n_cols == ds.n_cols);
    size_t n;
    const char *s = lmt_col_strs_at(lmt_ds_col(&sel, "answers.text"), 0, 0, &n);
    CHECK(n == 8 && !memcmp(s, "only one", 8));
    CHECK(lmt_ds_col(&sel, "answers.score")->i32[lmt_ds_col(&sel, "answers.score")->off[0]] == -4);
    s = lmt_col_str(lmt_ds_col(&sel, "q_id"), 1, &n);
    CHECK(n == 4 && !memcmp(s, "8ab1", 4));
    lmt_ds_free(&sel);
    int64_t bad[] = {3};
    CHECK(lmt_ds_select(&ds, bad, 1, &sel) == LMT_ERR_ARG);
    const char *rm[] = {"title", "meta.ups"};
    CHECK_OK(lmt_ds_remove_columns(&ds, rm, 2));
    CHECK(ds.n_cols == 6 && !lmt_ds_col(&ds, "title") && ds.n_rows == 3);
    const char *missing[] = {"q_id", "nope"};
    CHECK(lmt_ds_remove_columns(&ds, missing, 2) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "\"nope\"") != NULL);
    CHECK(lmt_ds_col(&ds, "q_id") != NULL);
    char *table = lmt_ds_format_table(&ds, idx, 2, 30);
    CHECK(table && strstr(table, "answers.text") && strstr(table, "'Rayleigh scattering.'"));
    free(table);
    lmt_ds_free(&ds);
}

static char tmpdir[256];

static const char *write_tmp(const char *name, const char *data) {
    size_t n = strlen(data);
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

#define EXPECT_FAIL(call, status, ...) do { \
    lmt_dataset d_; \
    lmt_status s_ = (call); \
    CHECK_MSG(s_ == (status), "%s returned %d", #call, (int)s_); \
    const char *want_[] = {__VA_ARGS__}; \
    for (size_t w_ = 0; w_ < sizeof want_ / sizeof want_[0]; w_++) \
        CHECK_MSG(strstr(lmt_last_error(), want_[w_]) != NULL, "message \"%s\" lacks \"%s\"", lmt_last_error(), want_[w_]); \
    if (s_ == LMT_OK) lmt_ds_free(&d_); \
} while (0)

static void test_errors(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lmt-data-test-XXXXXX");
    if (!mkdtemp(tmpdir)) { CHECK(0); return; }
    const char *p;
    p = write_tmp("bad.jsonl", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3,}\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_FORMAT, "bad.jsonl: line 3, column");
    p = write_tmp("notobj.jsonl", "{\"a\": 1}\n\n[1, 2]\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_FORMAT, "notobj.jsonl: line 3", "expected a JSON object");
    p = write_tmp("conflict.jsonl", "{\"a\": 1}\n{\"a\": \"x\"}\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_FORMAT, "conflict.jsonl: line 2", "\"a\" is a string here but an integer on line 1");
    p = write_tmp("nested_conflict.jsonl", "{\"a\": {\"b\": 1}}\n{\"a\": 5}\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_FORMAT, "nested_conflict.jsonl: line 2", "object");
    p = write_tmp("objlist.jsonl", "{\"a\": [{\"b\": 1}]}\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_UNSUPPORTED, "objlist.jsonl: line 1", "\"a\"");
    p = write_tmp("big.jsonl", "{\"a\": [1, 3000000000]}\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_UNSUPPORTED, "big.jsonl: line 1", "int32");
    p = write_tmp("empty.jsonl", "\n  \n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_FORMAT, "empty.jsonl", "empty dataset");
    p = write_tmp("utf8.jsonl", "{\"a\": \"ok\"}\n{\"a\": \"\xc3\x28\"}\n");
    EXPECT_FAIL(lmt_ds_load_jsonl(p, &d_), LMT_ERR_FORMAT, "utf8.jsonl: line 2", "invalid UTF-8");
    p = write_tmp("utf8.txt", "fine\nalso fine\nbad \xed\xa0\x80 surrogate\n");
    EXPECT_FAIL(lmt_ds_load_text(p, LMT_TEXT_KEEP_LINEBREAKS, &d_), LMT_ERR_FORMAT, "utf8.txt: line 3, byte 5", "invalid UTF-8");
    p = write_tmp("overlong.txt", "\xc0\xaf\n");
    EXPECT_FAIL(lmt_ds_load_text(p, LMT_TEXT_WIKITEXT, &d_), LMT_ERR_FORMAT, "overlong.txt: line 1");
    p = write_tmp("empty.txt", "");
    EXPECT_FAIL(lmt_ds_load_text(p, LMT_TEXT_KEEP_LINEBREAKS, &d_), LMT_ERR_FORMAT, "empty.txt", "empty");
    EXPECT_FAIL(lmt_ds_load_text("/nonexistent/x.txt", LMT_TEXT_KEEP_LINEBREAKS, &d_), LMT_ERR_NOT_FOUND, "/nonexistent/x.txt");
    EXPECT_FAIL(lmt_ds_load_auto("/nonexistent/x.jsonl", LMT_TEXT_KEEP_LINEBREAKS, &d_), LMT_ERR_NOT_FOUND, "/nonexistent/x.jsonl");
    p = write_tmp("wide.csv", "a,b\n1,2\n1,2,3\n");
    EXPECT_FAIL(lmt_ds_load_csv(p, ',', &d_), LMT_ERR_FORMAT, "wide.csv: line 3", "expected 2 fields");
    p = write_tmp("quote.csv", "a,b\n1,\"open\n2,3\n");
    EXPECT_FAIL(lmt_ds_load_csv(p, ',', &d_), LMT_ERR_FORMAT, "quote.csv: line 2", "never closed");
    p = write_tmp("header.csv", "a,b\n");
    EXPECT_FAIL(lmt_ds_load_csv(p, ',', &d_), LMT_ERR_FORMAT, "header.csv", "empty dataset");
    p = write_tmp("dup.csv", "a,a\n1,2\n");
    EXPECT_FAIL(lmt_ds_load_csv(p, ',', &d_), LMT_ERR_ARG, "dup.csv", "\"a\"");
    char a[512];
    snprintf(a, sizeof a, "%s", write_tmp("p.en", "one\ntwo\nthree\n"));
    p = write_tmp("p.fr", "un\ndeux\n");
    EXPECT_FAIL(lmt_ds_load_parallel(a, p, "en", "fr", &d_), LMT_ERR_FORMAT, "p.en has 3 lines", "p.fr has 2");
    /* a short CSV row is filled with None, as pandas does */
    lmt_dataset ds;
    p = write_tmp("short.csv", "a,b,c\n1,x\r\n\r\n2,y,3.5\n");
    CHECK_OK(lmt_ds_load_csv(p, ',', &ds));
    CHECK(ds.n_rows == 2 && lmt_ds_col(&ds, "c")->type == LMT_DS_FLOAT && lmt_col_is_null(lmt_ds_col(&ds, "c"), 0));
    lmt_ds_free(&ds);
    /* an integer column with a missing value becomes float (pandas) */
    p = write_tmp("na.csv", "x\n1\nNA\n3\n");
    CHECK_OK(lmt_ds_load_csv(p, ',', &ds));
    CHECK(lmt_ds_col(&ds, "x")->type == LMT_DS_FLOAT && lmt_col_is_null(lmt_ds_col(&ds, "x"), 1) &&
          lmt_ds_col(&ds, "x")->f64[2] == 3.0);
    lmt_ds_free(&ds);
    /* JSON: a field missing from some rows and null in others is None there */
    p = write_tmp("sparse.jsonl", "{\"a\": 1}\n{\"b\": \"x\"}\n{\"a\": null, \"b\": null}\n{\"a\": 2.5}\n");
    CHECK_OK(lmt_ds_load_jsonl(p, &ds));
    CHECK(ds.n_rows == 4 && ds.n_cols == 2);
    const lmt_ds_column *ca = lmt_ds_col(&ds, "a"), *cb = lmt_ds_col(&ds, "b");
    CHECK(ca->type == LMT_DS_FLOAT && ca->f64[0] == 1.0 && lmt_col_is_null(ca, 1) && lmt_col_is_null(ca, 2) && ca->f64[3] == 2.5);
    CHECK(cb->type == LMT_DS_STR && lmt_col_is_null(cb, 0) && !lmt_col_is_null(cb, 1));
    lmt_ds_free(&ds);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    lmt_json *refs = fixture_json("loaders.json"), *group = fixture_json("group.json");
    test_against_datasets(refs);
    test_wikitext(group);
    test_real_jsonl();
    test_ops();
    test_errors();
    lmt_json_free(refs);
    lmt_json_free(group);
    return lmt_test_finish();
}
