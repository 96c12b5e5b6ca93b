/* The checked flag parser; see flags.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli/flags.h"
#include "core/error.h"
#include "core/util.h"
#include "train/args.h"

/* name matches the flag's name or one of its aliases ("a|b|c"), hyphens read as underscores */
static bool flag_is(const lmt_flag *fl, const char *name) { return lmt_arg_name_in(fl->name, name); }

/* what a flag expects: "a positive integer", "a number in (0, 1)", ... */
static void expect_text(const lmt_flag *fl, char *buf, size_t cap) {
    /* an int's INT_MAX bound is the type's, not a choice: not shown */
    bool lo = isfinite(fl->lo), is_int = fl->type == LMT_FLAG_INT, hi = isfinite(fl->hi) && !(is_int && fl->hi >= 2147483647.0);
    const char *what = is_int ? "an integer" : "a number";
    if (is_int && lo && !hi && fl->lo == 1) snprintf(buf, cap, "a positive integer");
    else if (is_int && lo && !hi && fl->lo == 0) snprintf(buf, cap, "a non-negative integer");
    else if (!is_int && lo && !hi && fl->lo == 0) snprintf(buf, cap, "a %s number", fl->open & LMT_FLAG_LO_OPEN ? "positive" : "non-negative");
    else if (lo && hi)
        snprintf(buf, cap, "%s in %c%.15g, %.15g%c", what, fl->open & LMT_FLAG_LO_OPEN ? '(' : '[', fl->lo, fl->hi,
                 fl->open & LMT_FLAG_HI_OPEN ? ')' : ']');
    else if (lo) snprintf(buf, cap, "%s %s %.15g", what, fl->open & LMT_FLAG_LO_OPEN ? ">" : ">=", fl->lo);
    else if (hi) snprintf(buf, cap, "%s %s %.15g", what, fl->open & LMT_FLAG_HI_OPEN ? "<" : "<=", fl->hi);
    else snprintf(buf, cap, "%s", what);
}

static bool in_range(const lmt_flag *fl, double v) {
    bool lo_ok = fl->open & LMT_FLAG_LO_OPEN ? v > fl->lo : v >= fl->lo;
    bool hi_ok = fl->open & LMT_FLAG_HI_OPEN ? v < fl->hi : v <= fl->hi;
    return lo_ok && hi_ok;
}

/* "lmtune: error: --NAME: expected WHAT, got "VALUE"": a usage error, 2 */
static int refuse(const char *name, const char *value, const char *what) {
    fprintf(stderr, "lmtune: error: --%s: expected %s, got \"%s\"\n", name, what, value);
    return 2;
}

int lmt_cli_set_flag(const lmt_flag *fl, const char *name, const char *value) {
    char *end;
    char why[160];
    switch (fl->type) {
    case LMT_FLAG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        expect_text(fl, why, sizeof why);
        if (!*value || *end || errno || !in_range(fl, (double)v)) return refuse(name, value, why);
        if (!fl->apply) *(int64_t *)fl->dst = v;
        break;
    }
    case LMT_FLAG_FLOAT:
    case LMT_FLAG_SIZE: {
        errno = 0;
        double v = strtod(value, &end);
        bool number = *value && !*end && !errno && isfinite(v);
        if (fl->type == LMT_FLAG_SIZE && (!number || !(v > 0) || (v >= 1 && v != floor(v)) || v > 0x1p53))   /* counts exact in a double */
            return refuse(name, value, "a fraction in (0, 1) or a whole number");
        expect_text(fl, why, sizeof why);
        if (fl->type == LMT_FLAG_FLOAT && (!number || !in_range(fl, v))) return refuse(name, value, why);
        if (!fl->apply) *(double *)fl->dst = v;
        break;
    }
    case LMT_FLAG_BOOL: {
        bool on = !strcmp(value, "true") || !strcmp(value, "True") || !strcmp(value, "1") || !strcmp(value, "yes");
        bool off = !strcmp(value, "false") || !strcmp(value, "False") || !strcmp(value, "0") || !strcmp(value, "no");
        if (!on && !off) return refuse(name, value, "true or false");
        if (!fl->apply) *(bool *)fl->dst = on;
        break;
    }
    case LMT_FLAG_ENUM: {
        bool known = false;
        for (size_t i = 0; fl->choices[i] && !known; i++) known = !strcmp(value, fl->choices[i]);
        if (!known) {
            size_t used = (size_t)snprintf(why, sizeof why, "one of");
            for (size_t i = 0; fl->choices[i] && used < sizeof why; i++)
                used += (size_t)snprintf(why + used, sizeof why - used, "%s %s", i ? "," : "", fl->choices[i]);
            return refuse(name, value, why);
        }
        if (!fl->apply) *(const char **)fl->dst = value;
        break;
    }
    case LMT_FLAG_PATH:
        if (!*value) return refuse(name, value, "a path");
        /* fall through */
    case LMT_FLAG_STRING:
        if (!fl->apply) *(const char **)fl->dst = value;
        break;
    }
    if (fl->apply && fl->apply(fl->dst, value) != LMT_OK) {
        fprintf(stderr, "lmtune: error: --%s: %s\n", name, lmt_last_error());
        return 1;
    }
    return 0;
}

static bool bool_word(const char *v) {
    static const char *const words[] = {"true", "True", "false", "False", "1", "0", "yes", "no", NULL};
    for (size_t i = 0; words[i]; i++)
        if (!strcmp(v, words[i])) return true;
    return false;
}

static const lmt_flag *find_flag(const lmt_flag *table, size_t n, const char *name) {
    for (size_t k = 0; k < n; k++)
        if (flag_is(&table[k], name)) return &table[k];
    return NULL;
}

/* whether "--name" takes the next argument as its value: a boolean only when
 * it reads as one (HF's --flag, --flag true), other flags unless it is a flag */
static bool takes_next(const lmt_flag *fl, bool registry_bool, const char *next) {
    if (!next) return false;
    if ((fl && fl->type == LMT_FLAG_BOOL) || (!fl && registry_bool)) return bool_word(next);
    return strncmp(next, "--", 2) != 0;
}

static bool registry_bool(const char *name) {
    const lmt_arg_spec *f = lmt_training_args_find(name);
    return f && f->type == LMT_ARG_BOOL;
}

const char *lmt_cli_suggest(const lmt_flag *table, size_t n, const char *name, bool registry) {
    const char *best = registry ? lmt_training_args_suggest(name) : NULL;
    int cap = (int)strlen(name) / 3 + 1, best_d = best ? lmt_edit_distance(name, best, cap) : cap + 1;
    static char one[128];
    for (size_t k = 0; k < n; k++) {
        size_t len = strcspn(table[k].name, "|");
        if (len >= sizeof one) continue;
        char cand[128];
        memcpy(cand, table[k].name, len);
        cand[len] = '\0';
        int d = lmt_edit_distance(name, cand, cap);
        if (d < best_d) {
            best_d = d;
            memcpy(one, cand, len + 1);
            best = one;
        }
    }
    return best;
}

int lmt_cli_unknown_flag(const lmt_flag *table, size_t n, const char *name, bool registry) {
    const char *near = lmt_cli_suggest(table, n, name, registry);
    if (near) fprintf(stderr, "lmtune: error: unknown argument --%s (did you mean --%s?)\n", name, near);
    else fprintf(stderr, "lmtune: error: unknown argument --%s (see --help)\n", name);
    return 2;
}

int lmt_cli_parse_flags(int argc, char **argv, const lmt_flag *table, size_t n, lmt_flag_other_fn other, void *other_ctx,
                        const char *header, const char *footer) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(header, stdout);
            lmt_cli_print_flags(stdout, table, n);
            if (footer) fputs(footer, stdout);
            return -1;
        }
        if (strncmp(a, "--", 2) || !a[2]) {
            /* after a boolean: its value, misspelt (--fp16 maybe) */
            const char *prev = i > 1 ? argv[i - 1] : "";
            if (!strncmp(prev, "--", 2) && !strchr(prev, '=')) {
                const lmt_flag *pf = find_flag(table, n, prev + 2);
                if ((pf && pf->type == LMT_FLAG_BOOL) || (!pf && other && registry_bool(prev + 2))) return refuse(prev + 2, a, "true or false");
            }
            fprintf(stderr, "lmtune: error: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        char name[128];
        const char *eq = strchr(a, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name) { fprintf(stderr, "lmtune: error: unknown argument '%.60s...'\n", a); return 2; }
        memcpy(name, a + 2, len);
        name[len] = '\0';
        for (char *p = name; *p; p++)   /* --max-length is --max_length, and messages name it so */
            if (*p == '-') *p = '_';
        const lmt_flag *fl = find_flag(table, n, name);
        if (eq) value = eq + 1;
        else if (takes_next(fl, other && registry_bool(name), i + 1 < argc ? argv[i + 1] : NULL)) value = argv[++i];
        if (!fl) {
            if (!other) return lmt_cli_unknown_flag(table, n, name, false);
            lmt_status st = other(other_ctx, name, value ? value : "true");
            if (st == LMT_ERR_NOT_FOUND) return lmt_cli_unknown_flag(table, n, name, true);
            if (st != LMT_OK) {
                fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
                /* a refused value is a usage error; a file that does not read (--args_json) is not */
                return st == LMT_ERR_ARG || st == LMT_ERR_UNSUPPORTED || st == LMT_ERR_FORMAT ? 2 : 1;
            }
            continue;
        }
        if (!value && fl->type != LMT_FLAG_BOOL) { fprintf(stderr, "lmtune: error: --%s: missing value\n", name); return 2; }
        int rc = lmt_cli_set_flag(fl, name, value ? value : "true");
        if (rc) return rc;
    }
    return 0;
}

void lmt_cli_print_flags(FILE *f, const lmt_flag *table, size_t n) {
    fprintf(f, "\noptions:\n");
    for (size_t k = 0; k < n; k++) {
        const lmt_flag *fl = &table[k];
        const char *bar = strchr(fl->name, '|');
        int nl = bar ? (int)(bar - fl->name) : (int)strlen(fl->name);
        static const char *const meta[] = {"N", "X", "", "TEXT", "PATH", "", "SIZE"};
        char head[96], choices[128] = "", range[96];
        if (fl->type == LMT_FLAG_ENUM) {
            size_t used = 0;
            for (size_t i = 0; fl->choices[i] && used < sizeof choices; i++)
                used += (size_t)snprintf(choices + used, sizeof choices - used, "%s%s", i ? "|" : "", fl->choices[i]);
        }
        snprintf(head, sizeof head, "--%.*s %s", nl, fl->name, fl->type == LMT_FLAG_ENUM ? choices : meta[fl->type]);
        expect_text(fl, range, sizeof range);
        fprintf(f, "  %-34s %s", head, fl->help);
        if ((fl->type == LMT_FLAG_INT || fl->type == LMT_FLAG_FLOAT) && (isfinite(fl->lo) || isfinite(fl->hi))) fprintf(f, " (%s)", range);
        for (const char *p = bar; p; p = strchr(p + 1, '|'))
            fprintf(f, "%s--%.*s", p == bar ? " (also " : ", ", (int)strcspn(p + 1, "|"), p + 1);
        fputs(bar ? ")\n" : "\n", f);
    }
}

bool lmt_cli_int(const char *name, const char *value, int64_t lo, int64_t hi, int64_t *out) {
    const lmt_flag fl = {name, LMT_FLAG_INT, out, lo == INT64_MIN ? -INFINITY : (double)lo, hi == INT64_MAX ? INFINITY : (double)hi, 0,
                         NULL, "", NULL};
    return lmt_cli_set_flag(&fl, name, value) == 0;
}

bool lmt_cli_num(const char *name, const char *value, double lo, double hi, int open, double *out) {
    const lmt_flag fl = {name, LMT_FLAG_FLOAT, out, lo, hi, open, NULL, "", NULL};
    return lmt_cli_set_flag(&fl, name, value) == 0;
}

int lmt_cli_split_positionals(int argc, char **argv, const lmt_flag *table, size_t n, char **pos, int *n_pos) {
    int kept = 1;
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes_value = false;
        if (!strncmp(a, "--", 2) && a[2] && !strchr(a, '=')) {
            const lmt_flag *fl = find_flag(table, n, a + 2);
            takes_value = fl && takes_next(fl, false, i + 1 < argc ? argv[i + 1] : NULL);
        }
        if (strncmp(a, "--", 2) && strcmp(a, "-h")) { pos[(*n_pos)++] = argv[i]; continue; }
        argv[kept++] = argv[i];
        if (takes_value) argv[kept++] = argv[++i];
    }
    argv[kept] = NULL;
    return kept;
}

int lmt_cli_fail(const char *what) {
    fprintf(stderr, "lmtune: error: %s%s%s\n", what ? what : "", what ? ": " : "", lmt_last_error());
    return 1;
}

int lmt_cli_error(const char *what) {
    fprintf(stderr, "lmtune: error: %s\n", what);
    return 1;
}

int lmt_cli_each_line(const char *path, int (*fn)(void *ctx, char *line, size_t len), void *ctx) {
    bool std = !path || !strcmp(path, "-");
    FILE *f = std ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lmtune: error: %s: cannot open\n", path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, f)) >= 0) rc = fn(ctx, line, (size_t)n);
    free(line);
    if (!std) fclose(f);
    return rc;
}

lmt_status lmt_cli_texts_add(void *texts, const char *value) {
    lmt_cli_texts *t = texts;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 8;
        const char **grown = realloc(t->v, (size_t)cap * sizeof *grown);
        if (!grown) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        t->v = grown;
        t->cap = cap;
    }
    t->v[t->n++] = value;
    return LMT_OK;
}

int lmt_cli_parse_texts(int argc, char **argv, const lmt_flag *table, size_t n, const char *header, const char *footer, lmt_cli_texts *t) {
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return lmt_cli_error("out of memory");
    int n_pos = 0;
    argc = lmt_cli_split_positionals(argc, argv, table, n, pos, &n_pos);
    int rc = lmt_cli_parse_flags(argc, argv, table, n, NULL, NULL, header, footer);
    for (int k = 0; !rc && k < n_pos; k++)
        if (lmt_cli_texts_add(t, pos[k]) != LMT_OK) rc = lmt_cli_fail(NULL);
    free(pos);
    return rc;
}

int lmt_cli_texts_read_file(lmt_cli_texts *t, const char *path) {
    if (!path) return 0;
    size_t len = 0;
    free(t->file_text);
    t->file_text = NULL;
    if (lmt_read_file(path, &t->file_text, &len) != LMT_OK) return lmt_cli_fail("--file");
    for (char *p = t->file_text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        if (*p && lmt_cli_texts_add(t, p) != LMT_OK) return lmt_cli_fail("--file");
        if (!nl) break;
    }
    return 0;
}

void lmt_cli_texts_free(lmt_cli_texts *t) {
    free(t->v);
    free(t->file_text);
    memset(t, 0, sizeof *t);
}
