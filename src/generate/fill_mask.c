/* Fill-mask scoring. torch.topk on CPU (largest, sorted) uses
 * std::partial_sort over (value, index) pairs when k * 64 <= n, with a
 * comparator on the value only, so equal values come out in the order
 * libstdc++'s heap leaves them. We replay that heap (heap_select +
 * sort_heap) on the logits, which order the same as the probabilities. */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "generate/fill_mask.h"

typedef struct { float v; int32_t i; } elem;

/* torch's "largest" comparator: NaN first, then greater values */
static int before(elem a, elem b) { return (isnan(a.v) && !isnan(b.v)) || a.v > b.v; }

/* libstdc++ __push_heap */
static void push_heap(elem *h, long hole, long top, elem value) {
    long parent = (hole - 1) / 2;
    while (hole > top && before(h[parent], value)) {
        h[hole] = h[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    h[hole] = value;
}

/* libstdc++ __adjust_heap */
static void adjust_heap(elem *h, long hole, long len, elem value) {
    long top = hole, child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (before(h[child], h[child - 1])) child--;
        h[hole] = h[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        h[hole] = h[child - 1];
        hole = child - 1;
    }
    push_heap(h, hole, top, value);
}

/* std::partial_sort(first, first + k, first + n) where element j is
 * (row[j], j); only the k-element heap needs storage, since the elements
 * swapped out past `middle` are never read again. */
static void partial_sort_topk(const float *row, long n, long k, elem *h) {
    for (long j = 0; j < k; j++) h[j] = (elem){row[j], (int32_t)j};
    if (k >= 2)
        for (long parent = (k - 2) / 2;; parent--) {
            adjust_heap(h, parent, k, h[parent]);
            if (parent == 0) break;
        }
    for (long j = k; j < n; j++) {
        elem e = {row[j], (int32_t)j};
        if (before(e, h[0])) adjust_heap(h, 0, k, e);   /* __pop_heap(first, middle, i) */
    }
    for (long last = k; last > 1;) {   /* __sort_heap */
        --last;
        elem v = h[last];
        h[last] = h[0];
        adjust_heap(h, 0, last, v);
    }
}

lmt_status lmt_fill_mask_positions(const int32_t *ids, int n, int32_t mask_id, int **pos, int *n_pos) {
    *pos = NULL;
    *n_pos = 0;
    if (mask_id < 0) return lmt_fail(LMT_ERR_ARG, "fill-mask: the tokenizer has no mask token");
    int cnt = 0;
    for (int t = 0; t < n; t++) cnt += ids[t] == mask_id;
    if (cnt == 0) return lmt_fail(LMT_ERR_ARG, "fill-mask: no mask token found in the input");
    int *p = malloc((size_t)cnt * sizeof(int));
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "fill-mask: out of memory");
    cnt = 0;
    for (int t = 0; t < n; t++)
        if (ids[t] == mask_id) p[cnt++] = t;
    *pos = p;
    *n_pos = cnt;
    return LMT_OK;
}

lmt_status lmt_fill_mask_topk(const float *logits, int T, int V, const int *positions, int n_pos, int top_k,
                              lmt_fill_mask_pred *out) {
    if (T < 1 || V < 1) return lmt_fail(LMT_ERR_ARG, "fill-mask: empty logits (%d x %d)", T, V);
    if (top_k < 1 || top_k > V) return lmt_fail(LMT_ERR_ARG, "fill-mask: top_k must be in [1, %d] (got %d)", V, top_k);
    elem *h = malloc((size_t)top_k * sizeof(elem));
    if (!h) return lmt_fail(LMT_ERR_NOMEM, "fill-mask: out of memory");
    for (int p = 0; p < n_pos; p++) {
        if (positions[p] < 0 || positions[p] >= T) {
            free(h);
            return lmt_fail(LMT_ERR_ARG, "fill-mask: mask position %d outside the %d tokens", positions[p], T);
        }
        const float *row = logits + (size_t)positions[p] * (size_t)V;
        double mx = -INFINITY, sum = 0.0;
        for (int v = 0; v < V; v++) if (row[v] > mx) mx = row[v];
        for (int v = 0; v < V; v++) sum += exp((double)row[v] - mx);
        partial_sort_topk(row, V, top_k, h);
        for (int j = 0; j < top_k; j++) {
            out[(size_t)p * top_k + j].token_id = h[j].i;
            out[(size_t)p * top_k + j].score = exp((double)h[j].v - mx) / sum;
        }
    }
    free(h);
    return LMT_OK;
}
