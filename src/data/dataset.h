/* Datasets as the HF `datasets` workflows use them: a small column store
 * (one arena per column plus row offsets), the loaders (text, WikiText,
 * JSON Lines, CSV/TSV, parallel text), select / remove_columns / shuffle /
 * train_test_split with numpy's exact randomness, group_texts, and the
 * random generators whose streams other libraries define (numpy's PCG64,
 * torch's mt19937 randperm, Python's random). docs/DATA.md has the details. */
#ifndef LMT_DATA_DATASET_H
#define LMT_DATA_DATASET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/rng.h"

/* ------------------------------------------------------------------ columns */

typedef enum lmt_ds_type {
    LMT_DS_STR,    /* UTF-8 string */
    LMT_DS_INT,    /* int64 */
    LMT_DS_FLOAT,  /* float64 */
    LMT_DS_BOOL,   /* stored as int64 0/1 */
    LMT_DS_INTS,   /* int32 array per row: input_ids, attention_mask, labels, word_ids (-1 = None) */
    LMT_DS_FLOATS, /* float64 array per row */
    LMT_DS_STRS    /* array of strings per row (e.g. answers.text) */
} lmt_ds_type;

/* One column. Scalars live in i64/f64 (one per row). Variable-size rows are
 * row r = elements [off[r], off[r+1]) of the arena: bytes of `str` (STR),
 * i32 (INTS), f64 (FLOATS), or strings (STRS: element e is
 * str[eoff[e] .. eoff[e+1])). `null` is NULL unless some row is None. */
typedef struct lmt_ds_column {
    char *name;
    lmt_ds_type type;
    int64_t n;                 /* rows */
    int64_t *i64;
    double *f64;
    int32_t *i32;
    char *str;
    int64_t *off;              /* n + 1 entries */
    int64_t *eoff;             /* STRS: elements + 1 entries */
    uint8_t *null;
    int64_t n_elems;           /* elements in the arena (STRS: strings; STR: bytes) */
    int64_t n_bytes;           /* STRS: bytes in str */
    size_t cap_rows, cap_elems, cap_bytes;
    bool oom;                  /* an append failed; the column is unusable */
} lmt_ds_column;

typedef struct lmt_dataset {
    int64_t n_rows;
    size_t n_cols;
    lmt_ds_column **cols;
} lmt_dataset;

const char *lmt_ds_type_name(lmt_ds_type t);

static inline bool lmt_col_is_null(const lmt_ds_column *c, int64_t r) { return c->null && c->null[r]; }
static inline const char *lmt_col_str(const lmt_ds_column *c, int64_t r, size_t *len) {
    *len = (size_t)(c->off[r + 1] - c->off[r]);
    return c->str + c->off[r];
}
static inline const int32_t *lmt_col_ints(const lmt_ds_column *c, int64_t r, size_t *n) {
    *n = (size_t)(c->off[r + 1] - c->off[r]);
    return c->i32 + c->off[r];
}
static inline const double *lmt_col_floats(const lmt_ds_column *c, int64_t r, size_t *n) {
    *n = (size_t)(c->off[r + 1] - c->off[r]);
    return c->f64 + c->off[r];
}
static inline size_t lmt_col_list_len(const lmt_ds_column *c, int64_t r) { return (size_t)(c->off[r + 1] - c->off[r]); }
/* STRS: string k of row r. */
static inline const char *lmt_col_strs_at(const lmt_ds_column *c, int64_t r, size_t k, size_t *len) {
    int64_t e = c->off[r] + (int64_t)k;
    *len = (size_t)(c->eoff[e + 1] - c->eoff[e]);
    return c->str + c->eoff[e];
}

/* Building a column row by row: push the elements of a row (list types) and
 * end it, or push a whole scalar/string/int-array row. Failures set c->oom
 * and are reported by lmt_ds_add_column / lmt_ds_validate. */
lmt_ds_column *lmt_col_new(const char *name, lmt_ds_type t);
void lmt_col_free(lmt_ds_column *c);
void lmt_col_push_str(lmt_ds_column *c, const char *s, size_t n);
void lmt_col_push_int(lmt_ds_column *c, int64_t v);    /* INT and BOOL */
void lmt_col_push_float(lmt_ds_column *c, double v);
void lmt_col_push_ints(lmt_ds_column *c, const int32_t *v, size_t n);
void lmt_col_push_null(lmt_ds_column *c);               /* a None row (empty list / "" / 0) */
void lmt_col_elem_int(lmt_ds_column *c, int32_t v);     /* INTS */
void lmt_col_elem_float(lmt_ds_column *c, double v);    /* FLOATS */
void lmt_col_elem_str(lmt_ds_column *c, const char *s, size_t n); /* STRS */
void lmt_col_end_row(lmt_ds_column *c);                 /* list types */

/* ------------------------------------------------------------------ datasets */

void lmt_ds_init(lmt_dataset *ds);
void lmt_ds_free(lmt_dataset *ds);
/* Takes ownership of c (freed on failure). Fails on a duplicate name, a row
 * count different from the other columns', or a column whose building ran
 * out of memory. */
lmt_status lmt_ds_add_column(lmt_dataset *ds, lmt_ds_column *c);
/* NULL when absent. */
lmt_ds_column *lmt_ds_col(const lmt_dataset *ds, const char *name);
/* Dataset.select(indices): a new dataset with those rows, in that order
 * (repeats allowed). Every index is checked. */
lmt_status lmt_ds_select(const lmt_dataset *ds, const int64_t *idx, int64_t n, lmt_dataset *out);
/* Dataset.select(range(start, start + n)). */
lmt_status lmt_ds_select_range(const lmt_dataset *ds, int64_t start, int64_t n, lmt_dataset *out);
/* Keeps the first max_rows rows of ds in place (max_train_samples /
 * max_eval_samples: select(range(max_rows))); max_rows <= 0 keeps them all. */
lmt_status lmt_ds_truncate(lmt_dataset *ds, int64_t max_rows);
/* The longest row of a list column (0 when the column is absent or empty). */
int64_t lmt_ds_longest(const lmt_dataset *ds, const char *column);
/* Dataset.remove_columns: fails (changing nothing) if a name is absent. */
lmt_status lmt_ds_remove_columns(lmt_dataset *ds, const char *const *names, size_t n);
lmt_status lmt_ds_rename_column(lmt_dataset *ds, const char *from, const char *to);
/* Dataset.flatten(): nested JSON objects are already stored as their leaves
 * under dotted names ("answers.text"), so this only checks the dataset. */
lmt_status lmt_ds_flatten(lmt_dataset *ds);
/* A STR column dst whose row r is sep.join(src[r]) for a STRS column src
 * (replaces dst if it exists). The ELI5 workflow's " ".join(answers.text). */
lmt_status lmt_ds_join_strings(lmt_dataset *ds, const char *src, const char *sep, const char *dst);

/* ------------------------------------------------------------------ loaders */

typedef enum lmt_text_mode {
    LMT_TEXT_KEEP_LINEBREAKS,  /* HF text builder with keep_linebreaks=True (the SPEC's "trailing \n kept") */
    LMT_TEXT_STRIP_LINEBREAKS, /* HF text builder default (keep_linebreaks=False) */
    LMT_TEXT_WIKITEXT          /* the HF `wikitext` script: whitespace-only lines become "", others keep "\n" */
} lmt_text_mode;

/* One example per line in column "text". Universal newlines ("\r\n" and "\r"
 * read as "\n") as Python's text mode; invalid UTF-8 and empty files fail
 * naming the file and line. */
lmt_status lmt_ds_load_text(const char *path, lmt_text_mode mode, lmt_dataset *out);
/* JSON Lines (one object per line, blank lines skipped) as load_dataset("json")
 * followed by flatten(): nested objects become dotted columns; strings, ints,
 * floats (ints promoted when a column mixes them), bools, lists of strings /
 * ints (int32) / floats; null and missing fields are None. */
lmt_status lmt_ds_load_jsonl(const char *path, lmt_dataset *out);
/* CSV (sep ',') or TSV (sep '\t') with a header row, RFC 4180 quoting, as
 * load_dataset("csv") (pandas) infers types: int, float (ints with missing
 * values too), bool (True/False), else string; pandas' NA strings are None. */
lmt_status lmt_ds_load_csv(const char *path, char sep, lmt_dataset *out);
/* Parallel corpora (OPUS style): line i of src and of tgt, each strip()ped,
 * become {"id": "i", "translation.<src_lang>", "translation.<tgt_lang>"}.
 * Line counts must match. */
lmt_status lmt_ds_load_parallel(const char *src_path, const char *tgt_path, const char *src_lang, const char *tgt_lang,
                                lmt_dataset *out);
/* Chooses by extension: .jsonl/.json, .csv, .tsv, anything else as text
 * (text_mode). */
lmt_status lmt_ds_load_auto(const char *path, lmt_text_mode text_mode, lmt_dataset *out);

/* ------------------------------------------------------------------ numpy randomness */

/* numpy.random.SeedSequence(entropy).generate_state -> PCG64, i.e. what
 * np.random.default_rng(seed) builds. The entropy is the seed's 32-bit words,
 * least significant first (a Python int of any size). */
typedef struct lmt_np_rng {
    unsigned __int128 state, inc;
    int has_uint32;
    uint32_t uinteger;
} lmt_np_rng;
/* SeedSequence pool (4 words) from entropy words; generate_state(n_words, uint32). */
void lmt_np_seed_sequence(const uint32_t *entropy, size_t n, uint32_t pool[4]);
void lmt_np_generate_state(const uint32_t pool[4], uint32_t *out, size_t n_words);
void lmt_np_rng_seed_words(lmt_np_rng *g, const uint32_t *entropy, size_t n);
void lmt_np_rng_seed(lmt_np_rng *g, uint64_t seed);
uint64_t lmt_np_next_u64(lmt_np_rng *g);   /* bit_generator.random_raw() */
uint32_t lmt_np_next_u32(lmt_np_rng *g);
/* numpy's random_interval: uniform in [0, max] by masked rejection. */
uint64_t lmt_np_random_interval(lmt_np_rng *g, uint64_t max);
/* Generator.permutation(n) into out[0..n). */
void lmt_np_permutation(lmt_np_rng *g, int64_t n, int64_t *out);

/* ------------------------------------------------------------------ splits */

typedef enum { LMT_SIZE_NONE, LMT_SIZE_INT, LMT_SIZE_FLOAT } lmt_size_kind;
/* A test_size / train_size argument: None, an int count or a float fraction. */
typedef struct lmt_split_size { lmt_size_kind kind; int64_t count; double fraction; } lmt_split_size;
static inline lmt_split_size lmt_size_none(void) { lmt_split_size s = {LMT_SIZE_NONE, 0, 0}; return s; }
static inline lmt_split_size lmt_size_count(int64_t n) { lmt_split_size s = {LMT_SIZE_INT, n, 0}; return s; }
static inline lmt_split_size lmt_size_fraction(double f) { lmt_split_size s = {LMT_SIZE_FLOAT, 0, f}; return s; }
/* A size given as one number: <= 0 None, < 1 a fraction, else a count. */
static inline lmt_split_size lmt_size_auto(double v) {
    return v <= 0 ? lmt_size_none() : v < 1 ? lmt_size_fraction(v) : lmt_size_count((int64_t)v);
}

/* train/test sizes with datasets' checks and rounding (test: ceil, train: floor). */
lmt_status lmt_split_counts(int64_t n, lmt_split_size test, lmt_split_size train, int64_t *n_train, int64_t *n_test);
/* Dataset.train_test_split(test_size, train_size, seed) indices: permutation
 * p of default_rng(seed); test = p[:n_test], train = p[n_test:n_test+n_train].
 * Caller frees both. */
lmt_status lmt_split_indices(int64_t n, lmt_split_size test, lmt_split_size train, uint64_t seed, int64_t **train_idx,
                             int64_t *n_train, int64_t **test_idx, int64_t *n_test);
lmt_status lmt_ds_train_test_split(const lmt_dataset *ds, lmt_split_size test, lmt_split_size train, uint64_t seed,
                                   lmt_dataset *train_out, lmt_dataset *test_out);
/* run_clm.py's validation_split_percentage: split=f"train[:{p}%]" is rows
 * [0, b) and f"train[{p}%:]" rows [b, n), b = int(round(p * n / 100.0))
 * (datasets' "closest" rounding; Python rounds halves to even). */
int64_t lmt_split_percent_boundary(int64_t pct, int64_t n);
/* Dataset.shuffle(seed=seed). */
lmt_status lmt_ds_shuffle(const lmt_dataset *ds, uint64_t seed, lmt_dataset *out);

/* ------------------------------------------------------------------ group_texts */

typedef struct lmt_group_opts {
    int64_t block_size;   /* chunk length (block_size / chunk_size) */
    int64_t batch_size;   /* map(batched=True, batch_size=...): 1000 in HF */
    bool keep_short;      /* ELI5 notebook: a batch shorter than one block keeps one short chunk */
} lmt_group_opts;
static inline lmt_group_opts lmt_group_opts_default(int64_t block_size) {
    lmt_group_opts o = {block_size, 1000, false};
    return o;
}
/* Concatenates every INTS column within each batch, cuts block_size chunks,
 * drops each batch's remainder; labels = copy of input_ids. Other column
 * types must have been removed (as HF's map would fail on them). */
lmt_status lmt_ds_group_texts(const lmt_dataset *in, const lmt_group_opts *o, lmt_dataset *out);

/* ------------------------------------------------------------------ torch / Python randomness */

/* lmt_mt19937 (torch's CPU generator, CPython's random): core/rng.h */
/* torch.randperm(n, generator=g) on CPU. */
void lmt_torch_randperm(lmt_mt19937 *g, int64_t n, int64_t *out);
/* The Trainer's training order: accelerate's SeedableRandomSampler seeds
 * torch.Generator with seed + epoch and draws randperm(n) each epoch.
 * Matches trainer.h's lmt_sampler_fn. */
void lmt_sampler_torch(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order);

/* random.seed(seed) (init_by_array over the seed's 32-bit words). */
void lmt_py_random_seed(lmt_mt19937 *g, uint64_t seed);
/* random.randint(a, b) (a <= b, b - a < 2^63). */
int64_t lmt_py_randint(lmt_mt19937 *g, int64_t a, int64_t b);

/* ------------------------------------------------------------------ show */

/* The notebooks' show_random_elements: picks k distinct rows with
 * random.randint as the helper does (Python's random seeded with `seed`),
 * fills picks[0..k). Fails when k > rows. */
lmt_status lmt_ds_random_picks(const lmt_dataset *ds, int64_t k, uint64_t seed, int64_t *picks);
/* Renders rows picks[0..k) as a text table (cells cut to max_width
 * characters, newlines shown as \n). Returns a string the caller frees. */
char *lmt_ds_format_table(const lmt_dataset *ds, const int64_t *picks, int64_t k, int max_width);
#endif
