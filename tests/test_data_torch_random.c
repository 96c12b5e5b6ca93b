/* torch parity of the training order: torch.randperm with a seeded
 * torch.Generator (mt19937), the order a transformers Trainer (accelerate's
 * SeedableRandomSampler) visits a dataset over several epochs, and Python's
 * random (show_random_elements picks). References: tests/fixtures/data/
 * {torch,trainer_order,python_random}.json. */
#include "data/dataset.h"
#include "data_fixtures.h"

static void test_mt19937(void) {
    /* std::mt19937 with the default seed 5489: the 10000th output is 4123659995 (C++ standard) */
    lmt_mt19937 g;
    lmt_mt_seed(&g, 5489);
    uint32_t v = 0;
    for (int i = 0; i < 10000; i++) v = lmt_mt_next(&g);
    CHECK(v == 4123659995u);
}

static void test_randperm(const lmt_json *t) {
    const lmt_json *cases = lmt_json_get(t, "randperm");
    for (size_t i = 0; i < cases->len; i++) {
        const lmt_json *c = &cases->items[i];
        int64_t n = jint(c, "n");
        uint64_t seed = strtoull(lmt_json_get(c, "seed")->str, NULL, 10);
        int64_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
        lmt_mt19937 g;
        lmt_mt_seed(&g, seed);
        char what[96];
        lmt_torch_randperm(&g, n, p);
        snprintf(what, sizeof what, "randperm(%lld) seed %llu", (long long)n, (unsigned long long)seed);
        check_compact(what, p, n, lmt_json_get(c, "first_draw"));
        lmt_torch_randperm(&g, n, p);
        snprintf(what, sizeof what, "second randperm(%lld) seed %llu", (long long)n, (unsigned long long)seed);
        check_compact(what, p, n, lmt_json_get(c, "second_draw"));
        free(p);
    }
}

static void test_trainer_order(const lmt_json *t) {
    const lmt_json *runs = lmt_json_get(t, "runs");
    for (size_t i = 0; i < runs->len; i++) {
        const lmt_json *r = &runs->items[i];
        int64_t n = jint(r, "n"), seed = jint(r, "seed");
        const lmt_json *order = lmt_json_get(r, "order");
        int64_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
        for (size_t e = 0; e < order->len; e++) {
            lmt_sampler_torch(NULL, seed, (int64_t)e, n, p);
            int bad = 0;
            for (int64_t k = 0; k < n; k++) bad += p[k] != order->items[e].items[k].i64;
            CHECK_MSG(bad == 0, "Trainer order n=%lld seed=%lld epoch %zu: %d positions differ", (long long)n,
                      (long long)seed, e, bad);
        }
        free(p);
    }
}

static void test_python_random(const lmt_json *cases) {
    for (size_t i = 0; i < cases->len; i++) {
        const lmt_json *c = &cases->items[i];
        int64_t n = jint(c, "n"), k = jint(c, "k");
        uint64_t seed = strtoull(lmt_json_get(c, "seed")->str, NULL, 10);
        lmt_dataset ds;
        lmt_ds_init(&ds);
        lmt_ds_column *col = lmt_col_new("x", LMT_DS_INT);
        for (int64_t r = 0; r < n; r++) lmt_col_push_int(col, r);
        CHECK_OK(lmt_ds_add_column(&ds, col));
        int64_t picks[64];
        CHECK_OK(lmt_ds_random_picks(&ds, k, seed, picks));
        const lmt_json *ref = lmt_json_get(c, "picks");
        int bad = 0;
        for (int64_t j = 0; j < k; j++) bad += picks[j] != ref->items[j].i64;
        CHECK_MSG(bad == 0, "show_random_elements picks, seed %llu n %lld: %d differ", (unsigned long long)seed,
                  (long long)n, bad);
        CHECK(lmt_ds_random_picks(&ds, n + 1, seed, picks) == LMT_ERR_ARG);
        lmt_ds_free(&ds);
    }
}

int main(void) {
    lmt_json *t = fixture_json("torch.json"), *tr = fixture_json("trainer_order.json"), *py = fixture_json("python_random.json");
    test_mt19937();
    test_randperm(t);
    test_trainer_order(tr);
    test_python_random(py);
    lmt_json_free(t);
    lmt_json_free(tr);
    lmt_json_free(py);
    return lmt_test_finish();
}
