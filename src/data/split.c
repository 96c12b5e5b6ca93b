/* Dataset.train_test_split and Dataset.shuffle (datasets/arrow_dataset.py):
 * sizes checked and rounded as datasets does, rows drawn from
 * np.random.default_rng(seed).permutation(n). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/error.h"
#include "data/dataset.h"

static bool bad_size(lmt_split_size s, int64_t n) {
    if (s.kind == LMT_SIZE_INT) return s.count >= n || s.count <= 0;
    if (s.kind == LMT_SIZE_FLOAT) return !(s.fraction > 0 && s.fraction < 1);
    return false;
}

static void describe(lmt_split_size s, char *buf, size_t n) {
    if (s.kind == LMT_SIZE_INT) snprintf(buf, n, "%lld", (long long)s.count);
    else if (s.kind == LMT_SIZE_FLOAT) snprintf(buf, n, "%.17g", s.fraction);
    else snprintf(buf, n, "None");
}

lmt_status lmt_split_counts(int64_t n, lmt_split_size test, lmt_split_size train, int64_t *n_train, int64_t *n_test) {
    char a[40], b[40];
    describe(test, a, sizeof a);
    describe(train, b, sizeof b);
    if (test.kind == LMT_SIZE_NONE && train.kind == LMT_SIZE_NONE) test = lmt_size_fraction(0.25);
    if (bad_size(test, n))
        return lmt_fail(LMT_ERR_ARG, "test_size=%s should be either positive and smaller than the number of samples %lld "
                        "or a float in the (0, 1) range", a, (long long)n);
    if (bad_size(train, n))
        return lmt_fail(LMT_ERR_ARG, "train_size=%s should be either positive and smaller than the number of samples "
                        "%lld or a float in the (0, 1) range", b, (long long)n);
    if (test.kind == LMT_SIZE_FLOAT && train.kind == LMT_SIZE_FLOAT && train.fraction + test.fraction > 1)
        return lmt_fail(LMT_ERR_ARG, "the sum of test_size and train_size = %.17g, should be in the (0, 1) range",
                        train.fraction + test.fraction);
    /* Python: ceil/floor of a float product */
    double nte = 0, ntr = 0;
    if (test.kind == LMT_SIZE_FLOAT) nte = ceil(test.fraction * (double)n);
    else if (test.kind == LMT_SIZE_INT) nte = (double)test.count;
    if (train.kind == LMT_SIZE_FLOAT) ntr = floor(train.fraction * (double)n);
    else if (train.kind == LMT_SIZE_INT) ntr = (double)train.count;
    if (train.kind == LMT_SIZE_NONE) ntr = (double)n - nte;
    else if (test.kind == LMT_SIZE_NONE) nte = (double)n - ntr;
    if (ntr + nte > (double)n)
        return lmt_fail(LMT_ERR_ARG, "the sum of train_size and test_size = %.0f, should be smaller than the number of "
                        "samples %lld", ntr + nte, (long long)n);
    *n_train = (int64_t)ntr;
    *n_test = (int64_t)nte;
    if (*n_train == 0)
        return lmt_fail(LMT_ERR_ARG, "with n_samples=%lld, test_size=%s and train_size=%s, the resulting train set will "
                        "be empty", (long long)n, a, b);
    return LMT_OK;
}

lmt_status lmt_split_indices(int64_t n, lmt_split_size test, lmt_split_size train, uint64_t seed, int64_t **train_idx,
                             int64_t *n_train, int64_t **test_idx, int64_t *n_test) {
    *train_idx = *test_idx = NULL;
    *n_train = *n_test = 0;
    if (n <= 0) return LMT_OK;  /* datasets returns the empty dataset as both splits */
    int64_t ntr, nte;
    LMT_TRY(lmt_split_counts(n, test, train, &ntr, &nte));
    int64_t *perm = malloc((size_t)n * sizeof *perm), *tr = malloc(((size_t)ntr + 1) * sizeof *tr),
            *te = malloc(((size_t)nte + 1) * sizeof *te);
    if (!perm || !tr || !te) { free(perm); free(tr); free(te); return lmt_fail(LMT_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n); }
    lmt_np_rng g;
    lmt_np_rng_seed(&g, seed);
    lmt_np_permutation(&g, n, perm);
    for (int64_t i = 0; i < nte; i++) te[i] = perm[i];
    for (int64_t i = 0; i < ntr; i++) tr[i] = perm[nte + i];
    free(perm);
    *train_idx = tr;
    *test_idx = te;
    *n_train = ntr;
    *n_test = nte;
    return LMT_OK;
}

lmt_status lmt_ds_train_test_split(const lmt_dataset *ds, lmt_split_size test, lmt_split_size train, uint64_t seed,
                                   lmt_dataset *train_out, lmt_dataset *test_out) {
    lmt_ds_init(train_out);
    lmt_ds_init(test_out);
    int64_t *tr, *te, ntr, nte;
    LMT_TRY(lmt_split_indices(ds->n_rows, test, train, seed, &tr, &ntr, &te, &nte));
    lmt_status s = lmt_ds_select(ds, tr, ntr, train_out);
    if (s == LMT_OK) s = lmt_ds_select(ds, te, nte, test_out);
    if (s != LMT_OK) { lmt_ds_free(train_out); lmt_ds_free(test_out); }
    free(tr);
    free(te);
    return s;
}

int64_t lmt_split_percent_boundary(int64_t pct, int64_t n) {
    /* nearbyint in the default rounding mode is round-half-even, as Python's round() */
    return (int64_t)nearbyint((double)pct * (double)n / 100.0);
}

lmt_status lmt_ds_shuffle(const lmt_dataset *ds, uint64_t seed, lmt_dataset *out) {
    lmt_ds_init(out);
    int64_t n = ds->n_rows;
    int64_t *perm = malloc(((size_t)n + 1) * sizeof *perm);
    if (!perm) return lmt_fail(LMT_ERR_NOMEM, "out of memory shuffling %lld rows", (long long)n);
    lmt_np_rng g;
    lmt_np_rng_seed(&g, seed);
    lmt_np_permutation(&g, n, perm);
    lmt_status s = lmt_ds_select(ds, perm, n, out);
    free(perm);
    return s;
}
