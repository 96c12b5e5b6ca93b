/* Comparing lmtune's tensors with reference tensors that transformers wrote
 * (the parity tests of the models). Include after harness.h. */
#ifndef LMT_TESTS_PARITY_H
#define LMT_TESTS_PARITY_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/tensor_file.h"
#include "models/layout.h"

/* The entry `name` of dtype dt, or NULL after a failed check. */
static inline const lmt_tensor_entry *need(const lmt_tensor_file *f, const char *name, lmt_dtype dt) {
    const lmt_tensor_entry *e = lmt_tensor_file_find(f, name);
    CHECK_MSG(e && e->dtype == dt, "%s: tensor %s missing or of another dtype", f->path, name);
    return e && e->dtype == dt ? e : NULL;
}

/* A causal LM's reference batch: input_ids, attention_mask, labels (int64, (B, T)). */
typedef struct parity_batch { int B, T; const int64_t *ids, *mask, *labels; } parity_batch;

static inline bool parity_read_batch(const lmt_tensor_file *ref, parity_batch *b) {
    const lmt_tensor_entry *ids = need(ref, "input_ids", LMT_I64), *mask = need(ref, "attention_mask", LMT_I64),
                           *labels = need(ref, "labels", LMT_I64);
    if (!ids || !mask || !labels || ids->ndim != 2) return false;
    b->B = (int)ids->shape[0];
    b->T = (int)ids->shape[1];
    b->ids = ids->data;
    b->mask = mask->data;
    b->labels = labels->data;
    return true;
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
/* Every "grad.<name>" tensor of ref against grads at <name>'s place in the
 * layout (close_tensor, rel 1e-4 of the tensor's scale, floor 1e-6): each
 * must name a parameter of ours of the same size. Returns how many times
 * each parameter was compared (calloc'd, n_params; the caller checks which
 * ones must be) and sets *n_ref / *n_compared. Aborts without memory. */
static inline int *parity_grads(const char *what, const lmt_tensor_file *ref, const lmt_layout *layout,
                                const float *grads, int *n_ref, int *n_compared) {
    int *seen = calloc(layout->n_params ? layout->n_params : 1, sizeof *seen);
    *n_ref = *n_compared = 0;
    if (!seen) { fprintf(stderr, "%s: out of memory\n", what); abort(); }
    char msg[512];
    parity_worst_rel = 0;
    for (size_t i = 0; i < ref->n; i++) {
        const lmt_tensor_entry *r = &ref->entries[i];
        if (strncmp(r->name, "grad.", 5)) continue;
        (*n_ref)++;
        long p = lmt_layout_find(layout, r->name + 5);
        CHECK_MSG(p >= 0, "%s: %s has no parameter here", what, r->name);
        if (p < 0) continue;
        const lmt_param_spec *ps = &layout->params[p];
        CHECK_MSG(r->dtype == LMT_F32 && r->nbytes == ps->numel * 4, "%s: %s has another size", what, r->name);
        if (r->dtype != LMT_F32 || r->nbytes != ps->numel * 4) continue;
        snprintf(msg, sizeof msg, "%s: %s", what, r->name);
        close_tensor(msg, grads + ps->offset, r->data, ps->numel, 1e-4, 1e-6);
        seen[p]++;
        (*n_compared)++;
    }
    printf("%s: %d gradients, worst relative error %.2g\n", what, *n_compared, parity_worst_rel);
    return seen;
}

/* The reference logits (n floats, 1e-5 relative) and loss (1e-5 relative)
 * against ours. */
static inline void parity_logits_loss(const char *what, const lmt_tensor_file *ref, const float *logits, size_t n,
                                      float loss) {
    const lmt_tensor_entry *rl = need(ref, "logits", LMT_F32), *rloss = need(ref, "loss", LMT_F32);
    char msg[256];
    if (rl && rl->nbytes == n * 4) {
        snprintf(msg, sizeof msg, "%s: logits", what);
        parity_worst_rel = 0;
        close_tensor(msg, logits, rl->data, n, 1e-5, 1e-3);
        printf("%s: logits worst relative error %.2g\n", what, parity_worst_rel);
    } else CHECK_MSG(0, "%s: reference logits have another size", what);
    if (rloss) {
        float want = *(const float *)rloss->data;
        CHECK_MSG(fabs(loss - want) <= 1e-5 * fabs(want), "%s: loss %.9g vs transformers %.9g", what, loss, want);
    }
}

/* parity_grads, and every parameter of the layout compared exactly once. */
static inline void parity_all_grads(const char *what, const lmt_tensor_file *ref, const lmt_layout *layout,
                                    const float *grads) {
    int ref_grads, compared;
    int *seen = parity_grads(what, ref, layout, grads, &ref_grads, &compared);
    for (size_t p = 0; p < layout->n_params; p++)
        CHECK_MSG(seen[p] == 1, "%s: grad.%s compared %d times", what, layout->params[p].name, seen[p]);
    free(seen);
    CHECK_MSG(ref_grads == compared && compared == (int)layout->n_params,
              "%s: %d reference gradients, %d compared, %zu parameters", what, ref_grads, compared, layout->n_params);
}
#endif
