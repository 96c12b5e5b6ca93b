/* TRL's pack_dataset (trl 1.16 data_utils.py) over a prepared SFT dataset,
 * batch by batch of map_batch_size rows as datasets' map(batched=True):
 *   bfd        empty rows dropped, rows cut to seq_length, then best-fit
 *              decreasing: rows by length, longest first (ties in row order),
 *              each into the bin whose free space is the smallest that holds
 *              it (bins with the same free space: first filled first), else
 *              a new bin; a bin's rows in the order they went in
 *   bfd_split  as bfd, rows longer than seq_length first split into
 *              seq_length pieces (the last one shorter)
 *   wrapped    the batch's tokens concatenated and cut every seq_length
 * bfd / bfd_split record each bin's sequence lengths (seq_lengths). */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/sft_data.h"

static const char *const names[] = {"bfd", "bfd_split", "wrapped"};
const char *lmt_pack_strategy_name(lmt_pack_strategy s) { return names[s]; }

lmt_status lmt_pack_strategy_parse(const char *name, lmt_pack_strategy *out) {
    if (!strcmp(name, "bfd-requeue")) name = "bfd_split";   /* TRL's former name */
    for (int k = 0; k < 3; k++)
        if (!strcmp(name, names[k])) { *out = (lmt_pack_strategy)k; return LMT_OK; }
    return lmt_fail(LMT_ERR_ARG, "packing_strategy must be bfd, bfd_split or wrapped, got \"%s\"", name);
}

typedef struct { int64_t start, len; } piece;

typedef struct {
    int64_t *ids_off; size_t n, cap;       /* the output rows: start offsets into the new arrays */
    int32_t *ids, *labels; size_t nt, capt;
    int64_t *seq_off; int32_t *seq_len; size_t ns, caps;
} out_buf;

static bool grow(void **p, size_t *cap, size_t need, size_t el) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * el);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static bool add_tokens(out_buf *o, const lmt_sft_data *d, int64_t start, int64_t len) {
    if (!grow((void **)&o->ids, &o->capt, o->nt + (size_t)len, 4)) return false;
    int32_t *nl = realloc(o->labels, o->capt * 4);
    if (!nl) return false;
    o->labels = nl;
    memcpy(o->ids + o->nt, d->ids + start, (size_t)len * 4);
    memcpy(o->labels + o->nt, d->labels + start, (size_t)len * 4);
    o->nt += (size_t)len;
    return true;
}

static bool end_row(out_buf *o) {
    if (!grow((void **)&o->ids_off, &o->cap, o->n + 2, sizeof(int64_t))) return false;
    o->ids_off[++o->n] = (int64_t)o->nt;
    return true;
}

static bool add_seq(out_buf *o, int32_t len) {
    if (!grow((void **)&o->seq_len, &o->caps, o->ns + 1, 4)) return false;
    o->seq_len[o->ns++] = len;
    return true;
}

/* the segment tree of _SegmentTree: the smallest free space >= v among those present */
typedef struct { int64_t size; int64_t *t; } segtree;
static void st_set(segtree *s, int64_t v, int64_t x) {
    int64_t i = s->size + v - 1;
    s->t[i] = x;
    for (i >>= 1; i >= 1; i >>= 1) s->t[i] = s->t[2 * i] >= s->t[2 * i + 1] ? s->t[2 * i] : s->t[2 * i + 1];
}
static int64_t st_search(const segtree *s, int64_t v) {
    int64_t i = 1;
    while (i < s->size) i = s->t[2 * i] >= v ? 2 * i : 2 * i + 1;
    return s->t[i];
}

static lmt_status pack_bfd(const lmt_sft_data *d, piece *pc, int64_t np, int64_t L, out_buf *o, int64_t *seq_rows) {
    /* longest first, ties in row order (a stable sort) */
    int64_t *ord = malloc((size_t)(np ? np : 1) * sizeof *ord), *tmp = malloc((size_t)(np ? np : 1) * sizeof *tmp);
    segtree st = {1, NULL};
    while (st.size < L) st.size <<= 1;
    st.t = calloc((size_t)(2 * st.size), sizeof *st.t);
    /* per free space, a FIFO queue of bins; per bin its rows */
    int64_t *head = malloc((size_t)(L + 1) * sizeof *head), *tail = malloc((size_t)(L + 1) * sizeof *tail);
    int64_t *next = malloc((size_t)(np + 1) * sizeof *next), *bin_of = malloc((size_t)(np + 1) * sizeof *bin_of);
    int64_t *bin_len = calloc((size_t)(np + 1), sizeof *bin_len);
    lmt_status s = LMT_OK;
    if (!ord || !tmp || !st.t || !head || !tail || !next || !bin_of || !bin_len) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    for (int64_t i = 0; i < np; i++) ord[i] = i;
    for (int64_t w = 1; w < np; w *= 2)   /* bottom-up merge sort: stable */
        for (int64_t a = 0; a < np; a += 2 * w) {
            int64_t m = a + w < np ? a + w : np, e = a + 2 * w < np ? a + 2 * w : np, i = a, j = m, k = a;
            while (i < m && j < e) tmp[k++] = pc[ord[j]].len > pc[ord[i]].len ? ord[j++] : ord[i++];
            while (i < m) tmp[k++] = ord[i++];
            while (j < e) tmp[k++] = ord[j++];
            memcpy(ord + a, tmp + a, (size_t)(e - a) * sizeof *ord);
        }
    for (int64_t v = 0; v <= L; v++) head[v] = tail[v] = -1;
    st_set(&st, L, L);
    int64_t nbins = 0;
    for (int64_t k = 0; k < np; k++) {
        int64_t idx = ord[k], len = pc[idx].len, space = st_search(&st, len), bin;
        if (space < L) {   /* popleft */
            bin = head[space];
            head[space] = next[bin];
            if (head[space] < 0) { tail[space] = -1; st_set(&st, space, 0); }
        } else bin = nbins++;
        bin_of[k] = bin;
        bin_len[bin] += len;
        space -= len;
        next[bin] = -1;   /* append to space's queue */
        if (tail[space] >= 0) next[tail[space]] = bin; else head[space] = bin;
        tail[space] = bin;
        if (space > 0) st_set(&st, space, space);
    }
    /* bins in creation order, each with its rows in insertion order */
    for (int64_t b = 0; b < nbins && !s; b++) {
        *seq_rows += 1;
        for (int64_t k = 0; k < np && !s; k++) {
            if (bin_of[k] != b) continue;
            const piece *p = &pc[ord[k]];
            if (!add_tokens(o, d, p->start, p->len) || !add_seq(o, (int32_t)p->len)) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
        if (!s && !end_row(o)) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
done:
    free(ord); free(tmp); free(st.t); free(head); free(tail); free(next); free(bin_of); free(bin_len);
    return s;
}

lmt_status lmt_sft_pack(lmt_sft_data *d, int64_t L, lmt_pack_strategy strategy, int map_batch_size) {
    if (L < 1) return lmt_fail(LMT_ERR_ARG, "packing needs max_length >= 1");
    if (map_batch_size < 1) map_batch_size = 1000;
    out_buf o = {0};
    lmt_status s = grow((void **)&o.ids_off, &o.cap, 1, sizeof(int64_t)) ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (!s) o.ids_off[0] = 0;
    /* seq_off is per output row: the count of sequences so far */
    int64_t *rows_seq = NULL;
    size_t rows_cap = 0;
    for (int64_t b0 = 0; b0 < d->n && !s; b0 += map_batch_size) {
        int64_t b1 = b0 + map_batch_size < d->n ? b0 + map_batch_size : d->n;
        if (strategy == LMT_PACK_WRAPPED) {
            int64_t a = d->off[b0], e = d->off[b1];
            for (int64_t x = a; x < e && !s; x += L)
                if (!add_tokens(&o, d, x, e - x < L ? e - x : L) || !end_row(&o)) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            continue;
        }
        int64_t np = 0, cap = 0;
        piece *pc = NULL;
        for (int64_t i = b0; i < b1 && !s; i++) {
            int64_t a = d->off[i], len = d->off[i + 1] - a;
            if (len == 0) continue;
            int64_t nf = strategy == LMT_PACK_BFD_SPLIT ? (len + L - 1) / L : 1;
            if (np + nf > cap) {
                cap = (np + nf) * 2;
                piece *q = realloc(pc, (size_t)cap * sizeof *q);
                if (!q) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
                pc = q;
            }
            for (int64_t f = 0; f < nf; f++) {
                int64_t st = a + f * L, l = len - f * L < L ? len - f * L : L;
                pc[np++] = (piece){st, l};
            }
        }
        int64_t seq_rows = 0;
        if (!s) s = pack_bfd(d, pc, np, L, &o, &seq_rows);
        free(pc);
    }
    if (!s && strategy != LMT_PACK_WRAPPED) {
        /* seq_off from the rows' token counts: the sequences of a row sum to its length */
        rows_cap = o.n + 1;
        rows_seq = malloc(rows_cap * sizeof *rows_seq);
        if (!rows_seq) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        size_t q = 0;
        for (size_t r = 0; !s && r < o.n; r++) {
            rows_seq[r] = (int64_t)q;
            int64_t tot = 0;
            while (tot < o.ids_off[r + 1] - o.ids_off[r]) tot += o.seq_len[q++];
        }
        if (!s) rows_seq[o.n] = (int64_t)q;
    }
    if (s) {
        free(o.ids_off); free(o.ids); free(o.labels); free(o.seq_len); free(rows_seq);
        return s;
    }
    free(d->off); free(d->ids); free(d->labels); free(d->seq_off); free(d->seq_len);
    d->n = (int64_t)o.n;
    d->off = o.ids_off;
    d->ids = o.ids;
    d->labels = o.labels;
    d->seq_off = rows_seq;
    d->seq_len = strategy == LMT_PACK_WRAPPED ? (free(o.seq_len), NULL) : o.seq_len;
    d->padding_free = strategy != LMT_PACK_WRAPPED;
    return LMT_OK;
}
