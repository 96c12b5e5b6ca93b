/* A dataset repo's data files by split (hub/dataset_files.h), after the
 * `datasets` library's data_files.py (DEFAULT_PATTERNS_SPLIT_IN_DIR_NAME,
 * DEFAULT_PATTERNS_SPLIT_IN_FILENAME, DEFAULT_PATTERNS_ALL,
 * SPLIT_PATTERN_SHARDED) and load.py's format inference. Pure: names in,
 * names out. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/dataset_files.h"

#define SEP "[-._ 0-9]"   /* NON_WORDS_CHARS */

static const char *const train_kw[] = {"train", "training", NULL};
static const char *const validation_kw[] = {"validation", "valid", "dev", "val", NULL};
static const char *const test_kw[] = {"test", "testing", "eval", "evaluation", NULL};
static const struct { const char *split; const char *const *kw; } default_splits[] = {
    {"train", train_kw}, {"validation", validation_kw}, {"test", test_kw}};
static const char *const filename_patterns[] = {"**/%s" SEP "*", "**/*" SEP "%s" SEP "*", NULL};
static const char *const dirname_patterns[] = {"**/%s/**", "**/%s" SEP "*/**", "**/*" SEP "%s/**", "**/*" SEP "%s" SEP "*/**", NULL};
static const char *const not_data[] = {"README.md", "config.json", "dataset_info.json", "dataset_infos.json", "dummy_data.zip",
                                       "dataset_dict.json", NULL};

/* the extensions datasets knows, by module; lmtune reads json, csv, text */
static const struct { const char *ext, *format; } formats[] = {
    {".json", "json"}, {".jsonl", "json"}, {".csv", "csv"}, {".tsv", "csv"}, {".txt", "text"},
    {".parquet", "parquet"}, {".arrow", "arrow"}, {".xml", "xml"}, {".sql", "sql"}, {".h5", "hdf5"}, {".hdf5", "hdf5"},
    {".tar", "webdataset"}, {".zip", "zip archive"}, {".gz", "compressed"}, {".bz2", "compressed"}, {".xz", "compressed"},
    {".zst", "compressed"}, {".lz4", "compressed"},
    {".png", "imagefolder"}, {".jpg", "imagefolder"}, {".jpeg", "imagefolder"}, {".webp", "imagefolder"}, {".gif", "imagefolder"},
    {".bmp", "imagefolder"}, {".tif", "imagefolder"}, {".tiff", "imagefolder"},
    {".wav", "audiofolder"}, {".mp3", "audiofolder"}, {".flac", "audiofolder"}, {".ogg", "audiofolder"},
    {".mp4", "videofolder"}, {".pdf", "pdffolder"}, {".lance", "lance"}};

/* ---- fsspec glob ---- */

static bool seg_match(const char *pat, size_t pn, const char *s, size_t sn) {
    char p[1024], t[1024];
    if (pn >= sizeof p || sn >= sizeof t) return false;
    memcpy(p, pat, pn); p[pn] = '\0';
    memcpy(t, s, sn); t[sn] = '\0';
    return fnmatch(p, t, FNM_NOESCAPE | FNM_PATHNAME) == 0;
}

static bool glob_from(const char *pat, const char *path) {
    const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
    size_t pn = pe ? (size_t)(pe - pat) : strlen(pat);
    if (pn == 2 && !strncmp(pat, "**", 2)) {
        if (!pe) return true;   /* a trailing '**': anything below (at least one part: path is a file) */
        for (const char *s = path;; s = strchr(s, '/') + 1) {   /* zero or more folders */
            if (glob_from(pe + 1, s)) return true;
            if (!strchr(s, '/')) return false;
        }
    }
    size_t sn = se ? (size_t)(se - path) : strlen(path);
    if (!seg_match(pat, pn, path, sn)) return false;
    if (!pe && !se) return true;
    if (!pe || !se) return false;
    return glob_from(pe + 1, se + 1);
}

bool lmt_hub_glob_match(const char *pattern, const char *path) { return pattern && path && glob_from(pattern, path); }

/* ---- the splits ---- */

static bool ignored(const char *path) {
    for (const char *p = path; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        if (p[0] == '.' || (p[0] == '_' && p[1] == '_')) return true;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (size_t i = 0; not_data[i]; i++)
        if (!strcmp(base, not_data[i])) return true;
    return false;
}

static const char *format_of(const char *path) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot) return NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcasecmp(dot, formats[i].ext)) return formats[i].format;
    return NULL;
}

static lmt_hub_split *add_split(lmt_hub_data_files *d, const char *name) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->splits[i].name, name)) return &d->splits[i];
    lmt_hub_split *v = realloc(d->splits, (d->n + 1) * sizeof *v);
    if (!v) return NULL;
    d->splits = v;
    memset(&v[d->n], 0, sizeof v[d->n]);
    if (!(v[d->n].name = lmt_strdup(name))) return NULL;
    return &v[d->n++];
}

static bool match_any_pattern(const char *const *patterns, const char *kw, const char *path) {
    for (size_t i = 0; patterns[i]; i++) {
        char p[256];
        snprintf(p, sizeof p, patterns[i], kw, kw);
        if (lmt_hub_glob_match(p, path)) return true;
    }
    return false;
}

/* 1: data/{split}-NNNNN-of-NNNNN*.*: the split name of path, or false */
static bool sharded_split(const char *path, char *name, size_t cap) {
    if (strncmp(path, "data/", 5)) return false;
    const char *s = path + 5;
    if (strchr(s, '/')) return false;
    for (const char *p = s; (p = strchr(p, '-')); p++) {
        if (!lmt_hub_glob_match("-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*", p)) continue;
        size_t n = (size_t)(p - s);
        if (!n || n >= cap) return false;
        for (size_t k = 0; k < n; k++)   /* ^\w+(\.\w+)*$ */
            if (!(isalnum((unsigned char)s[k]) || s[k] == '_' || (s[k] == '.' && k && k + 1 < n && s[k - 1] != '.'))) return false;
        memcpy(name, s, n);
        name[n] = '\0';
        return true;
    }
    return false;
}

static int split_rank(const char *name) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, default_splits[i].split)) return i;
    return 3;
}
static int cmp_split(const void *a, const void *b) {
    const lmt_hub_split *x = a, *y = b;
    int rx = split_rank(x->name), ry = split_rank(y->name);
    return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

/* the files of the candidates (relative paths rel[i] of full[i]) into d's splits by the first rule that finds any */
static lmt_status assign(lmt_hub_data_files *d, char **rel, char **full, size_t n) {
    char name[128];
    for (size_t i = 0; i < n; i++)
        if (sharded_split(rel[i], name, sizeof name)) {
            lmt_hub_split *sp = add_split(d, name);
            if (!sp) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            LMT_TRY(lmt_hub_names_push(&sp->files, full[i]));
        }
    const char *const *rules[] = {dirname_patterns, filename_patterns};
    for (int r = 0; r < 2 && d->n == 0; r++)
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < n; i++) {
                bool hit = false;
                for (size_t w = 0; !hit && default_splits[k].kw[w]; w++) hit = match_any_pattern(rules[r], default_splits[k].kw[w], rel[i]);
                if (!hit) continue;
                lmt_hub_split *sp = add_split(d, default_splits[k].split);
                if (!sp) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
                LMT_TRY(lmt_hub_names_push(&sp->files, full[i]));
            }
    if (d->n == 0 && n) {
        lmt_hub_split *sp = add_split(d, "train");
        if (!sp) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) LMT_TRY(lmt_hub_names_push(&sp->files, full[i]));
    }
    if (d->n > 1) qsort(d->splits, d->n, sizeof *d->splits, cmp_split);
    return LMT_OK;
}

/* the most common data format among the split files (ties: the first seen) */
static const char *main_format(const lmt_hub_data_files *d) {
    const char *best = NULL;
    size_t best_n = 0;
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        const char *fmt = formats[f].format;
        if (f && !strcmp(formats[f - 1].format, fmt)) continue;
        size_t count = 0;
        for (size_t s = 0; s < d->n; s++)
            for (size_t i = 0; i < d->splits[s].files.n; i++) {
                const char *g = format_of(d->splits[s].files.v[i]);
                count += g && !strcmp(g, fmt);
            }
        if (count > best_n) { best_n = count; best = fmt; }
    }
    return best;
}

lmt_status lmt_hub_dataset_data_files(const char *const *files, size_t n, const char *data_dir, const char *what,
                                      lmt_hub_data_files *out) {
    memset(out, 0, sizeof *out);
    char **rel = calloc(n + 1, sizeof *rel), **full = calloc(n + 1, sizeof *full);
    size_t m = 0, prefix = data_dir && *data_dir ? strlen(data_dir) : 0;
    while (prefix && data_dir[prefix - 1] == '/') prefix--;
    lmt_strbuf seen;
    lmt_sb_init(&seen);
    lmt_status st = rel && full ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == LMT_OK && i < n; i++) {
        const char *f = files[i];
        if (prefix && (strncmp(f, data_dir, prefix) || f[prefix] != '/')) continue;
        const char *r = prefix ? f + prefix + 1 : f;
        if (ignored(r)) continue;
        lmt_sb_printf(&seen, "%s%s", seen.len ? ", " : "", f);
        if (!format_of(r)) continue;   /* ALL_ALLOWED_EXTENSIONS */
        rel[m] = (char *)r;
        full[m++] = (char *)f;
    }
    if (st == LMT_OK) st = assign(out, rel, full, m);
    if (st == LMT_OK && out->n == 0) {
        bool script = false;
        for (size_t i = 0; i < n && !script; i++) {
            size_t k = strlen(files[i]);
            script = !strchr(files[i], '/') && k > 3 && !strcmp(files[i] + k - 3, ".py");
        }
        st = lmt_fail(LMT_ERR_NOT_FOUND, "dataset %s: no data files%s%s%s (found: %s)%s", what, prefix ? " in the folder " : "",
                      prefix ? data_dir : "", prefix ? " (the config name)" : "", seen.len ? seen.data : "nothing",
                      script ? "; it looks like a script-based dataset (a loading script .py), which lmtune (like datasets 4) "
                               "cannot run: use a repo with data files (json, jsonl, csv, tsv, txt)" : "");
    }
    if (st == LMT_OK) {
        out->format = main_format(out);
        out->supported = out->format && (!strcmp(out->format, "json") || !strcmp(out->format, "csv") || !strcmp(out->format, "text"));
        /* only the chosen format's files stay (the builder's extensions) */
        size_t keep = 0;
        for (size_t s = 0; s < out->n; s++) {
            lmt_hub_names *l = &out->splits[s].files;
            size_t k = 0;
            for (size_t i = 0; i < l->n; i++) {
                const char *g = format_of(l->v[i]);
                if (g && !strcmp(g, out->format)) l->v[k++] = l->v[i];
                else free(l->v[i]);
            }
            l->n = k;
            if (k) out->splits[keep++] = out->splits[s];
            else { lmt_hub_names_free(l); free(out->splits[s].name); }
        }
        out->n = keep;
    }
    if (st != LMT_OK) lmt_hub_data_files_free(out);
    lmt_sb_free(&seen);
    free(rel);
    free(full);
    return st;
}

const lmt_hub_names *lmt_hub_data_files_split(const lmt_hub_data_files *d, const char *name) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->splits[i].name, name)) return &d->splits[i].files;
    return NULL;
}

void lmt_hub_data_files_free(lmt_hub_data_files *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->splits[i].name);
        lmt_hub_names_free(&d->splits[i].files);
    }
    free(d->splits);
    memset(d, 0, sizeof *d);
}
