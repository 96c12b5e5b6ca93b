/* group_texts against datasets' map(group_texts, batched=True, batch_size=B)
 * run in Python on real token ids: GPT-2 ids of the first 2,000 WikiText-2
 * validation lines (run_clm.py's rule and the ELI5 notebook's keep-short
 * rule) and BERT ids + word_ids of 40 IMDb reviews (the course's chunk_size
 * 128). Fixtures: tests/fixtures/data/group.json and the *.bin token files. */
#include "data/dataset.h"
#include "data_fixtures.h"

/* int32 count, int32 lengths[count], then the ids (uint16 or int32). */
static lmt_ds_column *read_tokens(const char *file, const char *col, bool u16) {
    char path[1024];
    snprintf(path, sizeof path, "%s%s", DATA_FIX, file);
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    int32_t n;
    if (fread(&n, 4, 1, f) != 1 || n <= 0) exit(1);
    int32_t *lens = malloc((size_t)n * 4);
    if (fread(lens, 4, (size_t)n, f) != (size_t)n) exit(1);
    lmt_ds_column *c = lmt_col_new(col, LMT_DS_INTS);
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < lens[i]; k++) {
            int32_t v;
            if (u16) {
                uint16_t x;
                if (fread(&x, 2, 1, f) != 1) exit(1);
                v = x;
            } else if (fread(&v, 4, 1, f) != 1) exit(1);
            lmt_col_elem_int(c, v);
        }
        lmt_col_end_row(c);
    }
    free(lens);
    fclose(f);
    return c;
}

/* A column shaped like `like` filled with one value (attention_mask, token_type_ids). */
static lmt_ds_column *constant_like(const lmt_ds_column *like, const char *name, int32_t value) {
    lmt_ds_column *c = lmt_col_new(name, LMT_DS_INTS);
    for (int64_t r = 0; r < like->n; r++) {
        size_t n = lmt_col_list_len(like, r);
        for (size_t k = 0; k < n; k++) lmt_col_elem_int(c, value);
        lmt_col_end_row(c);
    }
    return c;
}

static void check_run(const char *what, const lmt_dataset *in, const lmt_json *run) {
    lmt_group_opts o = {jint(run, "block_size"), jint(run, "batch_size"), lmt_json_get(run, "keep_short")->boolean};
    lmt_dataset out;
    CHECK_OK(lmt_ds_group_texts(in, &o, &out));
    CHECK_MSG(out.n_rows == jint(run, "n_chunks"), "%s block %lld batch %lld keep_short %d: %lld chunks, expected %lld",
              what, (long long)o.block_size, (long long)o.batch_size, o.keep_short, (long long)out.n_rows,
              (long long)jint(run, "n_chunks"));
    const lmt_json *cols = lmt_json_get(run, "columns");
    CHECK(out.n_cols == cols->len);
    for (size_t j = 0; j < out.n_cols && j < cols->len; j++) {
        const lmt_ds_column *c = out.cols[j];
        CHECK_MSG(!strcmp(c->name, cols->items[j].str), "%s: column %zu is %s", what, j, c->name);
        const lmt_json *ref = lmt_json_get(run, c->name);
        if (!ref) continue;
        int64_t *lens = malloc(((size_t)c->n + 1) * sizeof *lens);
        for (int64_t r = 0; r < c->n; r++) lens[r] = (int64_t)lmt_col_list_len(c, r);
        CHECK_MSG(fnv_i64(lens, (size_t)c->n) == hex_u64(lmt_json_get(ref, "lengths_fnv")), "%s %s: chunk lengths differ",
                  what, c->name);
        free(lens);
        CHECK_MSG(fnv_i32(c->i32, (size_t)c->n_elems) == hex_u64(lmt_json_get(ref, "fnv")), "%s block %lld batch %lld: %s tokens differ",
                  what, (long long)o.block_size, (long long)o.batch_size, c->name);
        const lmt_json *first = lmt_json_get(ref, "first_row"), *last = lmt_json_get(ref, "last_row");
        if (c->n == 0) continue;
        size_t n;
        const int32_t *v = lmt_col_ints(c, 0, &n);
        bool same = n == first->len;
        for (size_t k = 0; same && k < n; k++) same = v[k] == first->items[k].i64;
        CHECK_MSG(same, "%s: first %s chunk differs", what, c->name);
        v = lmt_col_ints(c, c->n - 1, &n);
        same = n == last->len;
        for (size_t k = 0; same && k < n; k++) same = v[k] == last->items[k].i64;
        CHECK_MSG(same, "%s: last %s chunk differs", what, c->name);
    }
    lmt_ds_free(&out);
}

static void test_wiki(const lmt_json *g) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_ds_column *ids = read_tokens("wiki_valid_2000.gpt2.bin", "input_ids", true);
    CHECK_OK(lmt_ds_add_column(&ds, ids));
    CHECK_OK(lmt_ds_add_column(&ds, constant_like(ids, "attention_mask", 1)));
    const lmt_json *wt = lmt_json_get(g, "wiki_tokens");
    CHECK(ds.n_rows == jint(wt, "lines") && ids->n_elems == jint(wt, "n_tokens"));
    const lmt_json *runs = lmt_json_get(g, "wiki_group");
    for (size_t i = 0; i < runs->len; i++) check_run("WikiText", &ds, &runs->items[i]);
    /* the default options are run_clm.py's */
    lmt_group_opts d = lmt_group_opts_default(128);
    CHECK(d.batch_size == 1000 && !d.keep_short);
    /* bad options and inputs */
    lmt_dataset out;
    lmt_group_opts bad = {0, 1000, false};
    CHECK(lmt_ds_group_texts(&ds, &bad, &out) == LMT_ERR_ARG);
    bad.block_size = 128;
    bad.batch_size = 0;
    CHECK(lmt_ds_group_texts(&ds, &bad, &out) == LMT_ERR_ARG);
    lmt_ds_column *txt = lmt_col_new("text", LMT_DS_STR);
    for (int64_t r = 0; r < ds.n_rows; r++) lmt_col_push_str(txt, "x", 1);
    CHECK_OK(lmt_ds_add_column(&ds, txt));
    CHECK(lmt_ds_group_texts(&ds, &d, &out) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "\"text\"") != NULL);
    lmt_ds_free(&ds);
}

static void test_imdb(const lmt_json *g) {
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_ds_column *ids = read_tokens("imdb_40.bert.ids.bin", "input_ids", true);
    lmt_ds_column *wids = read_tokens("imdb_40.bert.word_ids.bin", "word_ids", false);
    CHECK_OK(lmt_ds_add_column(&ds, ids));
    CHECK_OK(lmt_ds_add_column(&ds, constant_like(ids, "token_type_ids", 0)));
    CHECK_OK(lmt_ds_add_column(&ds, constant_like(ids, "attention_mask", 1)));
    CHECK_OK(lmt_ds_add_column(&ds, wids));
    CHECK(ds.n_rows == 40);
    const lmt_json *runs = lmt_json_get(g, "imdb_group");
    for (size_t i = 0; i < runs->len; i++) check_run("IMDb", &ds, &runs->items[i]);
    lmt_ds_free(&ds);
}

int main(void) {
    lmt_json *g = fixture_json("group.json");
    test_wiki(g);
    test_imdb(g);
    lmt_json_free(g);
    return lmt_test_finish();
}
