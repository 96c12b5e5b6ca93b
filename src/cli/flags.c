/* The checked flag parser; see flags.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli/flags.h"
#include "core/error.h"

/* name matches the flag's name or one of its aliases ("a|b|c") */
static bool flag_is(const lmt_flag *fl, const char *name) {
    size_t n = strlen(name);
    for (const char *p = fl->name; p;) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, name, n)) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static void range_text(const lmt_flag *fl, char *buf, size_t cap) {
    bool lo = isfinite(fl->lo), hi = isfinite(fl->hi);
    if (lo && hi)
        snprintf(buf, cap, "must lie in %c%.15g, %.15g%c", fl->open & LMT_FLAG_LO_OPEN ? '(' : '[', fl->lo, fl->hi,
                 fl->open & LMT_FLAG_HI_OPEN ? ')' : ']');
    else if (lo) snprintf(buf, cap, "must be %s %.15g", fl->open & LMT_FLAG_LO_OPEN ? "greater than" : "at least", fl->lo);
    else if (hi) snprintf(buf, cap, "must be %s %.15g", fl->open & LMT_FLAG_HI_OPEN ? "less than" : "at most", fl->hi);
    else buf[0] = '\0';
}

static bool in_range(const lmt_flag *fl, double v) {
    bool lo_ok = fl->open & LMT_FLAG_LO_OPEN ? v > fl->lo : v >= fl->lo;
    bool hi_ok = fl->open & LMT_FLAG_HI_OPEN ? v < fl->hi : v <= fl->hi;
    return lo_ok && hi_ok;
}

static int refuse(const char *name, const char *value, const char *why) {
    fprintf(stderr, "lmtune: error: --%s %s: %s\n", name, value, why);
    return 2;
}

int lmt_cli_set_flag(const lmt_flag *fl, const char *name, const char *value) {
    char *end;
    char why[160];
    switch (fl->type) {
    case LMT_FLAG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno) return refuse(name, value, "expected an integer");
        if (!in_range(fl, (double)v)) { range_text(fl, why, sizeof why); return refuse(name, value, why); }
        if (!fl->apply) *(int64_t *)fl->dst = v;
        break;
    }
    case LMT_FLAG_FLOAT:
    case LMT_FLAG_SIZE: {
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v)) return refuse(name, value, "expected a number");
        if (fl->type == LMT_FLAG_SIZE && (!(v > 0) || (v >= 1 && v != floor(v)) || v > 0x1p53))   /* counts exact in a double */
            return refuse(name, value, "expected a fraction in (0, 1) or a whole number");
        if (fl->type == LMT_FLAG_FLOAT && !in_range(fl, v)) { range_text(fl, why, sizeof why); return refuse(name, value, why); }
        if (!fl->apply) *(double *)fl->dst = v;
        break;
    }
    case LMT_FLAG_BOOL: {
        bool on = !strcmp(value, "true") || !strcmp(value, "True") || !strcmp(value, "1") || !strcmp(value, "yes");
        bool off = !strcmp(value, "false") || !strcmp(value, "False") || !strcmp(value, "0") || !strcmp(value, "no");
        if (!on && !off) return refuse(name, value, "expected true or false");
        if (!fl->apply) *(bool *)fl->dst = on;
        break;
    }
    case LMT_FLAG_ENUM: {
        bool known = false;
        for (size_t i = 0; fl->choices[i] && !known; i++) known = !strcmp(value, fl->choices[i]);
        if (!known) {
            size_t used = (size_t)snprintf(why, sizeof why, "must be one of");
            for (size_t i = 0; fl->choices[i] && used < sizeof why; i++)
                used += (size_t)snprintf(why + used, sizeof why - used, "%s %s", i ? "," : "", fl->choices[i]);
            return refuse(name, value, why);
        }
        if (!fl->apply) *(const char **)fl->dst = value;
        break;
    }
    case LMT_FLAG_PATH:
        if (!*value) return refuse(name, "\"\"", "expected a path");
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
        if (strncmp(a, "--", 2) || !a[2]) { fprintf(stderr, "lmtune: error: unexpected argument '%s'\n", a); return 2; }
        char name[128];
        const char *eq = strchr(a, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name) { fprintf(stderr, "lmtune: error: unknown flag '%.60s...'\n", a); return 2; }
        memcpy(name, a + 2, len);
        name[len] = '\0';
        if (eq) value = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) value = argv[++i];
        const lmt_flag *fl = NULL;
        for (size_t k = 0; k < n && !fl; k++)
            if (flag_is(&table[k], name)) fl = &table[k];
        if (!fl) {
            if (!other) { fprintf(stderr, "lmtune: error: unknown flag --%s\n", name); return 2; }
            if (other(other_ctx, name, value ? value : "true") != LMT_OK) { fprintf(stderr, "lmtune: error: %s\n", lmt_last_error()); return 1; }
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
        range_text(fl, range, sizeof range);
        fprintf(f, "  %-34s %s", head, fl->help);
        if ((fl->type == LMT_FLAG_INT || fl->type == LMT_FLAG_FLOAT) && range[0]) fprintf(f, " (%s)", range);
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
            const lmt_flag *fl = NULL;
            for (size_t k = 0; k < n && !fl; k++)
                if (flag_is(&table[k], a + 2)) fl = &table[k];
            takes_value = fl && fl->type != LMT_FLAG_BOOL;
        }
        if (strncmp(a, "--", 2) && strcmp(a, "-h")) { pos[(*n_pos)++] = argv[i]; continue; }
        argv[kept++] = argv[i];
        if (takes_value && i + 1 < argc) argv[kept++] = argv[++i];
    }
    argv[kept] = NULL;
    return kept;
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
