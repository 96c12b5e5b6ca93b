/* lmtune data: look at a dataset file the way the notebooks do
 * (show_random_elements) and list its columns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/commands.h"
#include "data/dataset.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lmtune data show FILE [-n N] [--seed S] [options]\n"
            "       lmtune data info FILE [options]\n\n"
            "show: prints N random examples (default 10) as a table, picked as the course\n"
            "notebooks' show_random_elements does (Python's random; --seed S gives the\n"
            "picks of random.seed(S)). info: rows, columns and their types.\n\n"
            "FILE is read by its extension: .jsonl/.json (JSON Lines, nested fields\n"
            "flattened to dotted columns), .csv, .tsv, anything else as text (one\n"
            "example per line).\n\n"
            "options:\n"
            "  --format F     text (keep each line's \\n, the default), text-strip (HF's\n"
            "                 keep_linebreaks=False), wikitext (whitespace-only lines\n"
            "                 become \"\"), jsonl, csv, tsv\n"
            "  --width W      cut cells to W characters (default 60)\n");
}

static int fail(const char *msg) {
    fprintf(stderr, "lmtune: error: %s\n", msg);
    return 1;
}

/* a usage error: exit status 2 */
static int usage_error(const char *msg) {
    fprintf(stderr, "lmtune: error: %s (see lmtune data --help)\n", msg);
    return 2;
}

static bool known_format(const char *f) {
    static const char *const all[] = {"text", "text-strip", "wikitext", "jsonl", "json", "csv", "tsv"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(f, all[i])) return true;
    return false;
}

static lmt_status load(const char *path, const char *format, lmt_dataset *ds) {
    if (!format) return lmt_ds_load_auto(path, LMT_TEXT_KEEP_LINEBREAKS, ds);
    if (!strcmp(format, "text")) return lmt_ds_load_text(path, LMT_TEXT_KEEP_LINEBREAKS, ds);
    if (!strcmp(format, "text-strip")) return lmt_ds_load_text(path, LMT_TEXT_STRIP_LINEBREAKS, ds);
    if (!strcmp(format, "wikitext")) return lmt_ds_load_text(path, LMT_TEXT_WIKITEXT, ds);
    if (!strcmp(format, "jsonl") || !strcmp(format, "json")) return lmt_ds_load_jsonl(path, ds);
    if (!strcmp(format, "csv")) return lmt_ds_load_csv(path, ',', ds);
    if (!strcmp(format, "tsv")) return lmt_ds_load_csv(path, '\t', ds);
    lmt_ds_init(ds);
    return LMT_ERR_ARG;  /* not reached: known_format() ran first */
}

static bool parse_u64(const char *s, uint64_t *v) {
    char *end;
    if (!s || !*s || *s == '-') return false;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return *end == 0 && !errno;   /* ERANGE: beyond 2^64 - 1 */
}

int lmt_cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *path = NULL, *format = NULL;
    uint64_t n = 10, seed = 0, width = 60;
    bool has_seed = false;
    if (strcmp(sub, "show") && strcmp(sub, "info")) {
        fprintf(stderr, "lmtune: error: data: unknown subcommand '%s' (show or info)\n\n", sub);
        usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char name[32];
        const char *eq = !strncmp(a, "--", 2) ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) >= sizeof name) eq = NULL;
        if (eq) {   /* --name=value: the value inline, nothing to skip */
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            a = name;
            v = eq + 1;
        }
        int skip = eq ? 0 : 1;   /* the value's own argument, after "--name value" */
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        if (!strcmp(a, "-n") || !strcmp(a, "--n") || !strcmp(a, "--num_examples")) {
            if (!parse_u64(v, &n)) return usage_error("-n needs a non-negative integer");
            i += skip;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_u64(v, &seed)) return usage_error("--seed needs a non-negative integer");
            has_seed = true;
            i += skip;
        } else if (!strcmp(a, "--width")) {
            if (!parse_u64(v, &width) || width > 100000) return usage_error("--width needs a positive integer");
            i += skip;
        } else if (!strcmp(a, "--format")) {
            if (!v) return usage_error("--format needs a value");
            format = v;
            i += skip;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lmtune: error: data: unknown option '%s' (see lmtune data --help)\n", a);
            return 2;
        } else if (!path) {
            path = a;
        } else {
            return usage_error("give one FILE");
        }
    }
    if (!path) return usage_error("no FILE given");
    if (format && !known_format(format)) {
        fprintf(stderr, "lmtune: error: --format: expected one of text, text-strip, wikitext, jsonl, csv, tsv, got \"%s\"\n", format);
        return 2;
    }
    lmt_dataset ds;
    lmt_status s = load(path, format, &ds);
    if (s != LMT_OK) return fail(lmt_last_error());
    if (!strcmp(sub, "info")) {
        printf("%s: %lld rows, %zu columns\n", path, (long long)ds.n_rows, ds.n_cols);
        for (size_t j = 0; j < ds.n_cols; j++) printf("  %-24s %s\n", ds.cols[j]->name, lmt_ds_type_name(ds.cols[j]->type));
        lmt_ds_free(&ds);
        return 0;
    }
    if (n > (uint64_t)ds.n_rows) {
        fprintf(stderr, "lmtune: error: can't pick %llu elements from %s: it has %lld rows\n",
                (unsigned long long)n, path, (long long)ds.n_rows);
        lmt_ds_free(&ds);
        return 1;
    }
    if (!has_seed) seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    int64_t *picks = malloc((n ? n : 1) * sizeof *picks);
    if (!picks) { lmt_ds_free(&ds); return fail("out of memory"); }
    s = lmt_ds_random_picks(&ds, (int64_t)n, seed, picks);
    char *table = s == LMT_OK ? lmt_ds_format_table(&ds, picks, (int64_t)n, (int)width) : NULL;
    int rc = 0;
    if (s != LMT_OK) rc = fail(lmt_last_error());
    else if (!table) rc = fail("out of memory");
    else fputs(table, stdout);
    free(table);
    free(picks);
    lmt_ds_free(&ds);
    return rc;
}
