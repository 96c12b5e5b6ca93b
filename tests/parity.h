/* Comparing lmtune's tensors with reference tensors that transformers wrote
 * (the parity tests of the models). Include after harness.h. */
#ifndef LMT_TESTS_PARITY_H
#define LMT_TESTS_PARITY_H
#include <math.h>
#include "io/tensor_file.h"

/* The entry `name` of dtype dt, or NULL after a failed check. */
static inline const lmt_tensor_entry *need(const lmt_tensor_file *f, const char *name, lmt_dtype dt) {
    const lmt_tensor_entry *e = lmt_tensor_file_find(f, name);
    CHECK_MSG(e && e->dtype == dt, "%s: tensor %s missing or of another dtype", f->path, name);
    return e && e->dtype == dt ? e : NULL;
}

/* The largest relative error close_tensor has seen (for a summary line). */
static double parity_worst_rel;

/* max |got - want| <= rel * max(max |want|, floor): a relative tolerance on
 * the tensor's scale, so near-zero entries do not demand impossible digits. */
static inline void close_tensor(const char *what, const float *got, const float *want, size_t n, double rel,
                                double floor) {
    double scale = floor, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= worst)) { worst = e; at = i; }
    }
    parity_worst_rel = fmax(parity_worst_rel, worst / scale);
    CHECK_MSG(worst <= rel * scale, "%s: worst error %.3g (%.3g of scale %.3g) at [%zu]: %.9g vs %.9g", what, worst,
              worst / scale, scale, at, got[at], want[at]);
}
#endif
