/* numpy parity of lmtune's randomness: SeedSequence, PCG64, permutation, and
 * datasets' train_test_split / shuffle().select() built on them. References:
 * tests/fixtures/data/{numpy,split}.json from numpy 2.x and datasets. */
#include "data/dataset.h"
#include "data_fixtures.h"

static void seed_words(const char *dec, lmt_np_rng *g, uint32_t *w, size_t *n) {
    *n = dec_to_words(dec, w, 8);
    lmt_np_rng_seed_words(g, w, *n);
}

static void test_seed_sequence(const lmt_json *np) {
    const lmt_json *seeds = lmt_json_get(np, "seed_sequence");
    for (size_t i = 0; i < seeds->len; i++) {
        const lmt_json *c = &seeds->items[i];
        const char *seed = lmt_json_get(c, "seed")->str;
        uint32_t w[8], pool[4];
        size_t n = dec_to_words(seed, w, 8);
        lmt_np_seed_sequence(w, n, pool);
        const lmt_json *ref_pool = lmt_json_get(c, "pool");
        for (int k = 0; k < 4; k++) CHECK_MSG(pool[k] == (uint32_t)ref_pool->items[k].i64, "seed %s pool[%d]", seed, k);
        uint32_t st[8];
        lmt_np_generate_state(pool, st, 8);
        const lmt_json *ref_state = lmt_json_get(c, "state_u64");
        for (int k = 0; k < 4; k++) {
            uint64_t v = (uint64_t)st[2 * k] | ((uint64_t)st[2 * k + 1] << 32);
            CHECK_MSG(v == strtoull(ref_state->items[k].str, NULL, 10), "seed %s state[%d]", seed, k);
        }
        lmt_np_rng g;
        seed_words(seed, &g, w, &n);
        const lmt_json *raw = lmt_json_get(c, "raw");
        for (size_t k = 0; k < raw->len; k++) {
            uint64_t v = lmt_np_next_u64(&g);
            CHECK_MSG(v == strtoull(raw->items[k].str, NULL, 10), "seed %s raw[%zu]: %" PRIu64, seed, k, v);
        }
        /* the uint64 entry point agrees with the words one for seeds that fit */
        if (n <= 2) {
            lmt_np_rng a, b;
            lmt_np_rng_seed(&a, (uint64_t)w[0] | (n > 1 ? (uint64_t)w[1] << 32 : 0));
            lmt_np_rng_seed_words(&b, w, n);
            CHECK(lmt_np_next_u64(&a) == lmt_np_next_u64(&b));
        }
    }
}

static void test_permutations(const lmt_json *np) {
    const lmt_json *perms = lmt_json_get(np, "permutations");
    for (size_t i = 0; i < perms->len; i++) {
        const lmt_json *c = &perms->items[i];
        int64_t n = jint(c, "n");
        int64_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
        lmt_np_rng g;
        uint32_t w[8];
        size_t nw;
        seed_words(lmt_json_get(c, "seed")->str, &g, w, &nw);
        lmt_np_permutation(&g, n, p);
        char what[96];
        snprintf(what, sizeof what, "default_rng(%s).permutation(%lld)", lmt_json_get(c, "seed")->str, (long long)n);
        check_compact(what, p, n, c);
        free(p);
    }
}

static lmt_split_size size_of(const lmt_json *v) {
    if (!v || v->type == LMT_JSON_NULL) return lmt_size_none();
    if (v->is_int) return lmt_size_count(v->i64);
    return lmt_size_fraction(v->num);
}

static void test_splits(const lmt_json *sp) {
    const lmt_json *cases = lmt_json_get(sp, "train_test_split");
    for (size_t i = 0; i < cases->len; i++) {
        const lmt_json *c = &cases->items[i];
        int64_t n = jint(c, "n"), *tr, *te, ntr, nte;
        CHECK_OK(lmt_split_indices(n, size_of(lmt_json_get(c, "test_size")), size_of(lmt_json_get(c, "train_size")),
                                   (uint64_t)jint(c, "seed"), &tr, &ntr, &te, &nte));
        char what[160];
        snprintf(what, sizeof what, "train_test_split %s: train", lmt_json_get(c, "what")->str);
        check_compact(what, tr, ntr, lmt_json_get(c, "train"));
        snprintf(what, sizeof what, "train_test_split %s: test", lmt_json_get(c, "what")->str);
        check_compact(what, te, nte, lmt_json_get(c, "test"));
        free(tr);
        free(te);
    }
    /* the SPEC's KDE4 numbers */
    int64_t ntr, nte;
    CHECK_OK(lmt_split_counts(210173, lmt_size_none(), lmt_size_fraction(0.9), &ntr, &nte));
    CHECK(ntr == 189155 && nte == 21018);

    /* validation_split_percentage: split="train[:p%]" sizes */
    const lmt_json *pc = lmt_json_get(sp, "percent_slices");
    for (size_t i = 0; i < pc->len; i++) {
        const lmt_json *c = &pc->items[i];
        int64_t b = lmt_split_percent_boundary(jint(c, "pct"), jint(c, "n"));
        CHECK_MSG(b == jint(c, "boundary"), "train[:%lld%%] of %lld rows: %lld, expected %lld", (long long)jint(c, "pct"),
                  (long long)jint(c, "n"), (long long)b, (long long)jint(c, "boundary"));
    }

    /* shuffle(seed).select(range(k)) through the dataset API */
    const lmt_json *ss = lmt_json_get(sp, "shuffle_select");
    for (size_t i = 0; i < ss->len; i++) {
        const lmt_json *c = &ss->items[i];
        int64_t n = jint(c, "n"), k = jint(c, "k");
        lmt_dataset ds, sh, sel;
        lmt_ds_init(&ds);
        lmt_ds_column *col = lmt_col_new("i", LMT_DS_INT);
        for (int64_t r = 0; r < n; r++) lmt_col_push_int(col, r);
        CHECK_OK(lmt_ds_add_column(&ds, col));
        CHECK_OK(lmt_ds_shuffle(&ds, (uint64_t)jint(c, "seed"), &sh));
        int64_t *range = malloc((size_t)k * sizeof *range);
        for (int64_t r = 0; r < k; r++) range[r] = r;
        CHECK_OK(lmt_ds_select(&sh, range, k, &sel));
        char what[96];
        snprintf(what, sizeof what, "shuffle(seed=%lld).select(range(%lld))", (long long)jint(c, "seed"), (long long)k);
        check_compact(what, lmt_ds_col(&sel, "i")->i64, sel.n_rows, lmt_json_get(c, "rows"));
        free(range);
        lmt_ds_free(&ds);
        lmt_ds_free(&sh);
        lmt_ds_free(&sel);
    }
}

static void test_split_errors(void) {
    int64_t a, b;
    CHECK(lmt_split_counts(10, lmt_size_count(10), lmt_size_none(), &a, &b) == LMT_ERR_ARG);
    CHECK(lmt_split_counts(10, lmt_size_fraction(1.0), lmt_size_none(), &a, &b) == LMT_ERR_ARG);
    CHECK(lmt_split_counts(10, lmt_size_fraction(0.0), lmt_size_none(), &a, &b) == LMT_ERR_ARG);
    CHECK(lmt_split_counts(10, lmt_size_fraction(0.6), lmt_size_fraction(0.6), &a, &b) == LMT_ERR_ARG);
    CHECK(lmt_split_counts(10, lmt_size_count(6), lmt_size_count(5), &a, &b) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "smaller than the number of samples 10") != NULL);
    /* ceil(0.95 * 3) = 3 test rows leave no train row */
    CHECK(lmt_split_counts(3, lmt_size_fraction(0.95), lmt_size_none(), &a, &b) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "train set will be empty") != NULL);
    /* default test_size 0.25 */
    CHECK_OK(lmt_split_counts(10, lmt_size_none(), lmt_size_none(), &a, &b));
    CHECK(a == 7 && b == 3);
}

int main(void) {
    lmt_json *np = fixture_json("numpy.json"), *sp = fixture_json("split.json");
    test_seed_sequence(np);
    test_permutations(np);
    test_splits(sp);
    test_split_errors();
    lmt_json_free(np);
    lmt_json_free(sp);
    return lmt_test_finish();
}
