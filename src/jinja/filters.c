/* jinja2's filters and tests (jinja2/filters.py, tests.py) with
 * transformers' tojson (json.dumps, ensure_ascii=False). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jinja/internal.h"
#include "core/error.h"

#define OOM(e) jinja_oom(e)

static jv *arg(const char *name, size_t pos, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw) {
    for (size_t k = 0; k < nkw; k++) if (!strcmp(kwn[k], name)) return kwv[k];
    return pos < nargs ? args[pos] : NULL;
}

static lmt_status str_of(jev *e, const jv *v, jv **out) {
    if (v->t == JV_STR) { *out = (jv *)v; return LMT_OK; }
    lmt_strbuf b;
    lmt_sb_init(&b);
    jv_to_str(&b, v);
    *out = jv_str(e->a, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    return *out ? LMT_OK : OOM(e);
}

static bool is_num(const jv *v) { return v->t == JV_INT || v->t == JV_FLOAT || v->t == JV_BOOL; }

/* attribute "a.b" or "0" as jinja2's make_attrgetter */
static lmt_status attr_get(jev *e, jv *item, const jv *attr, jv **out) {
    if (attr->t == JV_INT) return jinja_getitem(e, item, (jv *)attr, out);
    if (attr->t != JV_STR) return jerr(e, "attribute must be a string");
    const char *p = attr->s, *end = attr->s + attr->len;
    jv *cur = item;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++) digits &= p[i] >= '0' && p[i] <= '9';
        jv *key = digits ? jv_int(e->a, strtoll(p, NULL, 10)) : jv_str(e->a, p, n);
        if (!key) return OOM(e);
        LMT_TRY(jinja_getitem(e, cur, key, &cur));
        if (!dot) break;
        p = dot + 1;
    }
    *out = cur;
    return LMT_OK;
}

static lmt_status to_list(jev *e, jv *v, jv **out) {
    if (!jinja_iter(e, v, out)) return jerr(e, "'%s' object is not iterable", jv_type_name(v));
    return LMT_OK;
}

static lmt_status lower_key(jev *e, jv *v, bool case_sensitive, jv **out) {
    if (!case_sensitive && v->t == JV_STR) return jinja_str_case(e, v, 0, out);
    *out = v;
    return LMT_OK;
}

static lmt_status do_sort(jev *e, jv *items, bool reverse, bool case_sensitive, const jv *attribute, jv **out) {
    size_t n = items->n;
    jv **keys = ja_alloc(e->a, (n + 1) * sizeof *keys);
    jv *r = jv_new(e->a, JV_LIST);
    if (!keys || !r) return OOM(e);
    for (size_t i = 0; i < n; i++) {
        jv *k = items->items[i];
        if (attribute && attribute->t != JV_NONE) LMT_TRY(attr_get(e, k, attribute, &k));
        LMT_TRY(lower_key(e, k, case_sensitive, &keys[i]));
        if (!jv_push(e->a, r, items->items[i])) return OOM(e);
    }
    /* stable insertion sort (Python's sort is stable; reverse keeps equal items in order) */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            int c;
            if (!jv_compare(keys[j - 1], keys[j], &c))
                return jerr(e, "'<' not supported between instances of '%s' and '%s'", jv_type_name(keys[j]), jv_type_name(keys[j - 1]));
            if (reverse ? c >= 0 : c <= 0) break;
            jv *t = keys[j]; keys[j] = keys[j - 1]; keys[j - 1] = t;
            t = r->items[j]; r->items[j] = r->items[j - 1]; r->items[j - 1] = t;
        }
    *out = r;
    return LMT_OK;
}

static lmt_status select_like(jev *e, jv *v, jv **args, size_t nargs, bool by_attr, bool keep, jv **out) {
    jv *items;
    LMT_TRY(to_list(e, v, &items));
    size_t a0 = by_attr ? 1 : 0;
    if (by_attr && nargs < 1) return jerr(e, "missing parameter for attribute name");
    jv *r = jv_new(e->a, JV_LIST);
    if (!r) return OOM(e);
    for (size_t i = 0; i < items->n; i++) {
        jv *x = items->items[i];
        if (by_attr) LMT_TRY(attr_get(e, x, args[0], &x));
        bool ok;
        if (nargs > a0) {
            if (args[a0]->t != JV_STR) return jerr(e, "the test name must be a string");
            LMT_TRY(jinja_test(e, args[a0]->s, x, args + a0 + 1, nargs - a0 - 1, &ok));
        } else {
            ok = jv_truthy(x);
        }
        if (ok == keep && !jv_push(e->a, r, items->items[i])) return OOM(e);
    }
    *out = r;
    return LMT_OK;
}

static lmt_status round_value(jev *e, jv *v, int64_t precision, const char *method, jv **out) {
    if (v->t == JV_INT && !strcmp(method, "common")) { *out = v; return LMT_OK; }
    if (!is_num(v)) return jerr(e, "type %s doesn't define __round__ method", jv_type_name(v));
    double x = v->t == JV_FLOAT ? v->f : v->t == JV_INT ? (double)v->i : v->b, r;
    if (!strcmp(method, "common")) {
        if (precision == 0) r = nearbyint(x);
        else {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*f", (int)(precision > 300 ? 300 : precision < 0 ? 0 : precision), x);
            r = precision < 0 ? nearbyint(x / pow(10, (double)-precision)) * pow(10, (double)-precision) : strtod(buf, NULL);
        }
    } else if (!strcmp(method, "floor") || !strcmp(method, "ceil")) {
        double p = pow(10, (double)precision);
        r = (method[0] == 'f' ? floor(x * p) : ceil(x * p)) / p;
    } else {
        return jerr(e, "method must be common, ceil or floor");
    }
    *out = jv_float(e->a, r);
    return *out ? LMT_OK : OOM(e);
}

static lmt_status do_indent(jev *e, jv *s, jv *width, bool first, bool blank, jv **out) {
    lmt_strbuf ind, b;
    lmt_sb_init(&ind);
    lmt_sb_init(&b);
    if (width && width->t == JV_STR) lmt_sb_append(&ind, width->s, width->len);
    else for (int64_t i = 0; i < (width && width->t == JV_INT ? width->i : 4); i++) lmt_sb_putc(&ind, ' ');
    /* s + "\n", split on newlines (splitlines drops the last empty piece) */
    size_t nl = 0, start = 0;
    for (size_t i = 0; i <= s->len; i++) {
        if (i < s->len && s->s[i] != '\n') continue;
        size_t len = i - start;
        if (nl == 0) {
            if (first) lmt_sb_append(&b, ind.data ? ind.data : "", ind.len);
        } else {
            lmt_sb_putc(&b, '\n');
            if (blank || len) lmt_sb_append(&b, ind.data ? ind.data : "", ind.len);
        }
        lmt_sb_append(&b, s->s + start, len);
        nl++;
        start = i + 1;
    }
    *out = jv_str(e->a, b.data ? b.data : "", b.len);
    lmt_sb_free(&ind);
    lmt_sb_free(&b);
    return *out ? LMT_OK : OOM(e);
}

/* lmtune's filters and tests, and those only jinja2 3.1 has (their error
 * says so instead of "No filter named") */
static const char *const filters_here[] = {
    "default", "d", "safe", "tojson", "length", "count", "string", "trim", "upper", "lower", "capitalize", "title",
    "replace", "join", "first", "last", "list", "reverse", "int", "float", "abs", "round", "selectattr", "rejectattr",
    "select", "reject", "map", "items", "unique", "sort", "dictsort", "indent", "e", "escape", "sum", "format", NULL};
static const char *const filters_jinja2_only[] = {
    "attr", "batch", "center", "filesizeformat", "forceescape", "groupby", "max", "min", "pprint", "random",
    "slice", "striptags", "truncate", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr", NULL};
static const char *const tests_here[] = {
    "defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number", "integer", "float", "boolean",
    "true", "false", "callable", "lower", "upper", "odd", "even", "divisibleby", "equalto", "eq", "==", "sameas", "ne",
    "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", NULL};
static const char *const tests_jinja2_only[] = {"escaped", "filter", "test", NULL};

static bool listed(const char *const *l, const char *name) {
    for (; *l; l++) if (!strcmp(*l, name)) return true;
    return false;
}

/* 1: lmtune has the filter (test); 2: only jinja2 has it; 0: neither */
static int jinja_known(bool test, const char *name) {
    if (listed(test ? tests_here : filters_here, name)) return 1;
    return listed(test ? tests_jinja2_only : filters_jinja2_only, name) ? 2 : 0;
}

lmt_status jinja_percent_format(jev *e, const jv *fmt, jv **args, size_t nargs, jv **out) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    size_t used = 0;
    lmt_status st = LMT_OK;
    for (size_t i = 0; i < fmt->len && !st; i++) {
        char c = fmt->s[i];
        if (c != '%') { lmt_sb_putc(&b, c); continue; }
        size_t j = i + 1;
        char spec[32] = "%";
        size_t k = 1;
        while (j < fmt->len && strchr("-+ 0#", fmt->s[j]) && k < 8) spec[k++] = fmt->s[j++];
        while (j < fmt->len && fmt->s[j] >= '0' && fmt->s[j] <= '9' && k < 5) spec[k++] = fmt->s[j++];   /* widths up to 9999 */
        if (j < fmt->len && fmt->s[j] == '.') {
            spec[k++] = fmt->s[j++];
            while (j < fmt->len && fmt->s[j] >= '0' && fmt->s[j] <= '9' && k < 10) spec[k++] = fmt->s[j++];
        }
        char conv = j < fmt->len ? fmt->s[j] : 0;
        i = j;
        if (conv == '%') { lmt_sb_putc(&b, '%'); continue; }
        if (!strchr("sridfFxXeEgG", conv) || !conv) { st = jerr(e, "unsupported format character '%c'", conv ? conv : '?'); break; }
        if (used >= nargs) { st = jerr(e, "not enough arguments for format string"); break; }
        jv *a = args[used++];
        if (conv == 's' || conv == 'r') {
            lmt_strbuf t;
            lmt_sb_init(&t);
            if (conv == 's') jv_to_str(&t, a); else jv_repr(&t, a);
            spec[k++] = 's';
            spec[k] = 0;
            lmt_sb_printf(&b, spec, t.data ? t.data : "");
            lmt_sb_free(&t);
            continue;
        }
        if (!is_num(a)) { st = jerr(e, "%%%c format: a real number is required, not %s", conv, jv_type_name(a)); break; }
        double x = a->t == JV_FLOAT ? a->f : a->t == JV_INT ? (double)a->i : a->b;
        if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X') {
            if (a->t == JV_FLOAT && !(fabs(x) < 9.2e18)) { st = jerr(e, "%%%c format: %g does not fit 64 bits", conv, x); break; }
            long long v = a->t == JV_FLOAT ? (long long)x : (long long)(a->t == JV_INT ? a->i : a->b);
            spec[k++] = 'l';
            spec[k++] = 'l';
            spec[k++] = conv == 'i' ? 'd' : conv;
            spec[k] = 0;
            lmt_sb_printf(&b, spec, v);
        } else {
            spec[k++] = conv;
            spec[k] = 0;
            lmt_sb_printf(&b, spec, x);
        }
    }
    if (!st && used < nargs) st = jerr(e, "not all arguments converted during string formatting");
    if (!st) *out = jv_str(e->a, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    if (st) return st;
    return *out ? LMT_OK : OOM(e);
}

lmt_status jinja_filter(jev *e, const char *name, jv *v, jv **args, size_t nargs, const char **kwn, jv **kwv,
                        size_t nkw, jv **out) {
#define A(nm, pos) arg(nm, pos, args, nargs, kwn, kwv, nkw)
    jv *s, *items;
    if (!strcmp(name, "default") || !strcmp(name, "d")) {
        jv *def = A("default_value", 0), *boolean = A("boolean", 1);
        bool use = v->t == JV_UNDEF || (boolean && jv_truthy(boolean) && !jv_truthy(v));
        *out = use ? (def ? def : jv_cstr(e->a, "")) : v;
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "safe")) { *out = v; return LMT_OK; }
    if (!strcmp(name, "tojson")) {
        jv *ascii = A("ensure_ascii", 0), *ind = A("indent", 1), *sk = A("sort_keys", 3);
        lmt_strbuf b;
        lmt_sb_init(&b);
        int indent = ind && ind->t == JV_INT ? (int)ind->i : -1;
        if (!jv_to_json(&b, v, indent, sk && jv_truthy(sk), ascii && jv_truthy(ascii), 0)) {
            lmt_sb_free(&b);
            return jerr(e, "Object of type %s is not JSON serializable", jv_type_name(v));
        }
        *out = jv_str(e->a, b.data ? b.data : "", b.len);
        lmt_sb_free(&b);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "length") || !strcmp(name, "count")) {
        if (v->t == JV_STR) *out = jv_int(e->a, (int64_t)utf8_count(v->s, v->len));
        else if (v->t == JV_LIST || v->t == JV_TUPLE || v->t == JV_DICT || v->t == JV_NS) *out = jv_int(e->a, (int64_t)v->n);
        else if (v->t == JV_UNDEF) *out = jv_int(e->a, 0);
        else return jerr(e, "object of type '%s' has no len()", jv_type_name(v));
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "string")) return str_of(e, v, out);
    if (!strcmp(name, "trim")) {
        LMT_TRY(str_of(e, v, &s));
        jv *chars = A("chars", 0);
        jv *a1[1] = {chars};
        return jinja_method(e, s, "strip", a1, chars ? 1 : 0, NULL, NULL, 0, out);
    }
    if (!strcmp(name, "upper") || !strcmp(name, "lower") || !strcmp(name, "capitalize")) {
        LMT_TRY(str_of(e, v, &s));
        return jinja_str_case(e, s, name[0] == 'l' ? 0 : name[0] == 'u' ? 1 : 3, out);
    }
    if (!strcmp(name, "title")) {   /* jinja2: each word after [-\s({[<]+ gets upper + lower rest */
        LMT_TRY(str_of(e, v, &s));
        lmt_strbuf b;
        lmt_sb_init(&b);
        size_t i = 0;
        while (i < s->len) {
            size_t st = i, n;
            while (i < s->len && (strchr("-({[<", s->s[i]) && s->s[i] ? true : py_isspace(s->s + i, s->len - i, &n))) {
                i += strchr("-({[<", s->s[i]) && s->s[i] ? 1 : n;
            }
            lmt_sb_append(&b, s->s + st, i - st);
            st = i;
            while (i < s->len && !(strchr("-({[<", s->s[i]) && s->s[i]) && !py_isspace(s->s + i, s->len - i, &n)) i += n;
            if (i > st) {
                jv w = {.t = JV_STR, .s = s->s + st, .len = i - st}, *r;
                LMT_TRY(jinja_str_case(e, &w, 3, &r));
                lmt_sb_append(&b, r->s, r->len);
            }
        }
        *out = jv_str(e->a, b.data ? b.data : "", b.len);
        lmt_sb_free(&b);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "replace")) {
        LMT_TRY(str_of(e, v, &s));
        jv *c = A("count", 2);
        return jinja_replace(e, s, A("old", 0), A("new", 1), c && c->t == JV_INT ? c->i : -1, out);
    }
    if (!strcmp(name, "join")) {
        jv *d = A("d", 0), *attr = A("attribute", 1);
        LMT_TRY(to_list(e, v, &items));
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t i = 0; i < items->n; i++) {
            jv *x = items->items[i];
            if (attr && attr->t != JV_NONE) LMT_TRY(attr_get(e, x, attr, &x));
            if (i && d) jv_to_str(&b, d);
            jv_to_str(&b, x);
        }
        *out = jv_str(e->a, b.data ? b.data : "", b.len);
        lmt_sb_free(&b);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "first") || !strcmp(name, "last")) {
        LMT_TRY(to_list(e, v, &items));
        if (!items->n) { *out = jv_undef(e->a, "No first item, sequence was empty."); if (*out) (*out)->len = 1; return *out ? LMT_OK : OOM(e); }
        *out = items->items[name[0] == 'f' ? 0 : items->n - 1];
        return LMT_OK;
    }
    if (!strcmp(name, "list")) {
        LMT_TRY(to_list(e, v, &items));
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return OOM(e);
        for (size_t i = 0; i < items->n; i++) if (!jv_push(e->a, r, items->items[i])) return OOM(e);
        *out = r;
        return LMT_OK;
    }
    if (!strcmp(name, "reverse")) {
        if (v->t == JV_STR) {
            jv *parts[3] = {NULL, NULL, NULL};
            LMT_TRY(to_list(e, v, &items));
            lmt_strbuf b;
            lmt_sb_init(&b);
            for (size_t i = items->n; i > 0; i--) lmt_sb_append(&b, items->items[i - 1]->s, items->items[i - 1]->len);
            (void)parts;
            *out = jv_str(e->a, b.data ? b.data : "", b.len);
            lmt_sb_free(&b);
            return *out ? LMT_OK : OOM(e);
        }
        LMT_TRY(to_list(e, v, &items));
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return OOM(e);
        for (size_t i = items->n; i > 0; i--) if (!jv_push(e->a, r, items->items[i - 1])) return OOM(e);
        *out = r;
        return LMT_OK;
    }
    if (!strcmp(name, "int")) {
        jv *def = A("default", 0);
        if (v->t == JV_INT) { *out = v; return LMT_OK; }
        if (v->t == JV_BOOL) { *out = jv_int(e->a, v->b); return *out ? LMT_OK : OOM(e); }
        if (v->t == JV_FLOAT && fabs(v->f) < 9.2e18) { *out = jv_int(e->a, (int64_t)v->f); return *out ? LMT_OK : OOM(e); }
        if (v->t == JV_STR) {
            char *end;
            const char *p = v->s;
            long long x = strtoll(p, &end, 10);
            while (*end == ' ' || *end == '\n' || *end == '\t') end++;
            if (end != p && !*end) { *out = jv_int(e->a, x); return *out ? LMT_OK : OOM(e); }
            double d = strtod(p, &end);
            while (*end == ' ' || *end == '\n' || *end == '\t') end++;
            if (end != p && !*end && fabs(d) < 9.2e18) { *out = jv_int(e->a, (int64_t)d); return *out ? LMT_OK : OOM(e); }
        }
        *out = def ? def : jv_int(e->a, 0);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "float")) {
        jv *def = A("default", 0);
        if (v->t == JV_FLOAT) { *out = v; return LMT_OK; }
        if (v->t == JV_INT || v->t == JV_BOOL) { *out = jv_float(e->a, v->t == JV_INT ? (double)v->i : v->b); return *out ? LMT_OK : OOM(e); }
        if (v->t == JV_STR) {
            char *end;
            double d = strtod(v->s, &end);
            while (*end == ' ' || *end == '\n' || *end == '\t') end++;
            if (end != v->s && !*end) { *out = jv_float(e->a, d); return *out ? LMT_OK : OOM(e); }
        }
        *out = def ? def : jv_float(e->a, 0.0);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "abs")) {
        if (v->t == JV_INT) *out = v->i == INT64_MIN ? jv_float(e->a, 9223372036854775808.0) : jv_int(e->a, v->i < 0 ? -v->i : v->i);
        else if (v->t == JV_FLOAT) *out = jv_float(e->a, fabs(v->f));
        else if (v->t == JV_BOOL) *out = jv_int(e->a, v->b);
        else return jerr(e, "bad operand type for abs(): '%s'", jv_type_name(v));
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "round")) {
        jv *p = A("precision", 0), *m = A("method", 1);
        return round_value(e, v, p && p->t == JV_INT ? p->i : 0, m && m->t == JV_STR ? m->s : "common", out);
    }
    if (!strcmp(name, "selectattr") || !strcmp(name, "rejectattr") || !strcmp(name, "select") || !strcmp(name, "reject"))
        return select_like(e, v, args, nargs, strstr(name, "attr") != NULL, name[0] == 's', out);
    if (!strcmp(name, "map")) {
        LMT_TRY(to_list(e, v, &items));
        jv *attr = A("attribute", 99), *def = A("default", 99);
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return OOM(e);
        for (size_t i = 0; i < items->n; i++) {
            jv *x = items->items[i];
            if (attr) {
                LMT_TRY(attr_get(e, x, attr, &x));
                if (x->t == JV_UNDEF && def) x = def;
            } else {
                if (nargs < 1 || args[0]->t != JV_STR) return jerr(e, "map() needs a filter name or attribute=");
                LMT_TRY(jinja_filter(e, args[0]->s, x, args + 1, nargs - 1, kwn, kwv, nkw, &x));
            }
            if (!jv_push(e->a, r, x)) return OOM(e);
        }
        *out = r;
        return LMT_OK;
    }
    if (!strcmp(name, "items")) {
        if (v->t == JV_UNDEF) { *out = jv_new(e->a, JV_LIST); return *out ? LMT_OK : OOM(e); }
        if (v->t != JV_DICT) return jerr(e, "Can only get item pairs from a mapping.");
        return jinja_method(e, v, "items", NULL, 0, NULL, NULL, 0, out);
    }
    if (!strcmp(name, "unique")) {
        jv *cs = A("case_sensitive", 0), *attr = A("attribute", 1);
        LMT_TRY(to_list(e, v, &items));
        jv *r = jv_new(e->a, JV_LIST), *seen = jv_new(e->a, JV_LIST);
        if (!r || !seen) return OOM(e);
        for (size_t i = 0; i < items->n; i++) {
            jv *k = items->items[i];
            if (attr && attr->t != JV_NONE) LMT_TRY(attr_get(e, k, attr, &k));
            LMT_TRY(lower_key(e, k, cs && jv_truthy(cs), &k));
            bool dup = false;
            for (size_t j = 0; j < seen->n && !dup; j++) dup = jv_equal(seen->items[j], k);
            if (dup) continue;
            if (!jv_push(e->a, seen, k) || !jv_push(e->a, r, items->items[i])) return OOM(e);
        }
        *out = r;
        return LMT_OK;
    }
    if (!strcmp(name, "sort")) {
        jv *rev = A("reverse", 0), *cs = A("case_sensitive", 1), *attr = A("attribute", 2);
        LMT_TRY(to_list(e, v, &items));
        return do_sort(e, items, rev && jv_truthy(rev), cs && jv_truthy(cs), attr, out);
    }
    if (!strcmp(name, "dictsort")) {
        if (v->t != JV_DICT) return jerr(e, "dictsort needs a mapping");
        LMT_TRY(jinja_method(e, v, "items", NULL, 0, NULL, NULL, 0, &items));
        jv *cs = A("case_sensitive", 0), *by = A("by", 1), *rev = A("reverse", 2);
        jv *idx = jv_int(e->a, by && by->t == JV_STR && !strcmp(by->s, "value") ? 1 : 0);
        if (!idx) return OOM(e);
        return do_sort(e, items, rev && jv_truthy(rev), cs && jv_truthy(cs), idx, out);
    }
    if (!strcmp(name, "indent")) {
        jv *w = A("width", 0), *first = A("first", 1), *blank = A("blank", 2);
        LMT_TRY(str_of(e, v, &s));
        return do_indent(e, s, w, first && jv_truthy(first), blank && jv_truthy(blank), out);
    }
    if (!strcmp(name, "e") || !strcmp(name, "escape")) {
        LMT_TRY(str_of(e, v, &s));
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t i = 0; i < s->len; i++) {
            switch (s->s[i]) {
            case '&': lmt_sb_puts(&b, "&amp;"); break;
            case '<': lmt_sb_puts(&b, "&lt;"); break;
            case '>': lmt_sb_puts(&b, "&gt;"); break;
            case '"': lmt_sb_puts(&b, "&#34;"); break;
            case '\'': lmt_sb_puts(&b, "&#39;"); break;
            default: lmt_sb_putc(&b, s->s[i]);
            }
        }
        *out = jv_str(e->a, b.data ? b.data : "", b.len);
        lmt_sb_free(&b);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "format")) {
        if (nkw) return jerr(e, "format with keyword arguments is not supported by lmtune");
        LMT_TRY(str_of(e, v, &s));
        return jinja_percent_format(e, s, args, nargs, out);
    }
    if (!strcmp(name, "sum")) {
        jv *attr = A("attribute", 0), *start = A("start", 1), *acc = start ? start : jv_int(e->a, 0);
        LMT_TRY(to_list(e, v, &items));
        for (size_t i = 0; i < items->n; i++) {
            jv *x = items->items[i];
            if (attr && attr->t != JV_NONE) LMT_TRY(attr_get(e, x, attr, &x));
            if (!is_num(x) || !is_num(acc)) return jerr(e, "unsupported operand type(s) for +: '%s' and '%s'", jv_type_name(acc), jv_type_name(x));
            if (acc->t == JV_FLOAT || x->t == JV_FLOAT)
                acc = jv_float(e->a, (acc->t == JV_FLOAT ? acc->f : acc->t == JV_INT ? (double)acc->i : acc->b) +
                                         (x->t == JV_FLOAT ? x->f : x->t == JV_INT ? (double)x->i : x->b));
            else acc = jv_int(e->a, (acc->t == JV_INT ? acc->i : acc->b) + (x->t == JV_INT ? x->i : x->b));
            if (!acc) return OOM(e);
        }
        *out = acc;
        return LMT_OK;
    }
    if (jinja_known(false, name) == 2) return jerr(e, "the filter '%s' is not supported by lmtune (docs/CHAT_TEMPLATES.md)", name);
    return jerr(e, "No filter named '%s'.", name);
#undef A
}

lmt_status jinja_test(jev *e, const char *name, jv *v, jv **args, size_t nargs, bool *out) {
    jv_type t = v->t;
    if (!strcmp(name, "defined")) *out = t != JV_UNDEF;
    else if (!strcmp(name, "undefined")) *out = t == JV_UNDEF;
    else if (!strcmp(name, "none")) *out = t == JV_NONE;
    else if (!strcmp(name, "string")) *out = t == JV_STR;
    else if (!strcmp(name, "mapping")) *out = t == JV_DICT;
    else if (!strcmp(name, "iterable")) *out = t == JV_STR || t == JV_LIST || t == JV_TUPLE || t == JV_DICT || t == JV_UNDEF;
    else if (!strcmp(name, "sequence")) *out = t == JV_STR || t == JV_LIST || t == JV_TUPLE || t == JV_DICT || t == JV_UNDEF;
    else if (!strcmp(name, "number")) *out = t == JV_INT || t == JV_FLOAT || t == JV_BOOL;
    else if (!strcmp(name, "integer")) *out = t == JV_INT;
    else if (!strcmp(name, "float")) *out = t == JV_FLOAT;
    else if (!strcmp(name, "boolean")) *out = t == JV_BOOL;
    else if (!strcmp(name, "true")) *out = t == JV_BOOL && v->b;
    else if (!strcmp(name, "false")) *out = t == JV_BOOL && !v->b;
    else if (!strcmp(name, "callable")) *out = t == JV_FUNC;
    else if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        jv *s, *c;
        LMT_TRY(str_of(e, v, &s));
        LMT_TRY(jinja_str_case(e, s, name[0] == 'l' ? 0 : 1, &c));
        *out = jv_equal(s, c);
    } else if (!strcmp(name, "odd") || !strcmp(name, "even") || !strcmp(name, "divisibleby")) {
        if (t != JV_INT && t != JV_BOOL) return jerr(e, "the %s test needs an integer, not %s", name, jv_type_name(v));
        int64_t x = t == JV_INT ? v->i : v->b;
        if (name[0] == 'o') *out = (x % 2) != 0;
        else if (name[0] == 'e') *out = (x % 2) == 0;
        else {
            if (nargs < 1 || args[0]->t != JV_INT || args[0]->i == 0) return jerr(e, "divisibleby needs a non-zero integer");
            *out = x % args[0]->i == 0;
        }
    } else {
        static const char *const cmp[][2] = {{"equalto", "=="}, {"eq", "=="}, {"==", "=="}, {"sameas", "=="},
                                            {"ne", "!="}, {"!=", "!="}, {"lt", "<"}, {"lessthan", "<"}, {"<", "<"},
                                            {"le", "<="}, {"<=", "<="}, {"gt", ">"}, {"greaterthan", ">"},
                                            {">", ">"}, {"ge", ">="}, {">=", ">="}, {"in", "in"}};
        for (size_t i = 0; i < sizeof cmp / sizeof *cmp; i++) {
            if (strcmp(name, cmp[i][0])) continue;
            if (nargs < 1) return jerr(e, "the %s test needs an argument", name);
            const char *op = cmp[i][1];
            jv *o = args[0];
            if (!strcmp(name, "sameas")) {
                *out = (v->t == o->t && (v->t == JV_NONE || v->t == JV_BOOL)) ? jv_equal(v, o) : v == o;
                return LMT_OK;
            }
            if (op[0] == '=') { *out = jv_equal(v, o); return LMT_OK; }
            if (op[0] == '!') { *out = !jv_equal(v, o); return LMT_OK; }
            if (op[0] == 'i') {
                if (o->t == JV_STR && v->t == JV_STR) *out = v->len == 0 || memmem(o->s, o->len, v->s, v->len);
                else {
                    jv *items;
                    if (!jinja_iter(e, o, &items)) return jerr(e, "argument of type '%s' is not iterable", jv_type_name(o));
                    *out = false;
                    for (size_t k = 0; k < items->n && !*out; k++) *out = jv_equal(items->items[k], v);
                }
                return LMT_OK;
            }
            int c;
            if (!jv_compare(v, o, &c))
                return jerr(e, "'%s' not supported between instances of '%s' and '%s'", op, jv_type_name(v), jv_type_name(o));
            *out = op[0] == '<' ? (op[1] ? c <= 0 : c < 0) : (op[1] ? c >= 0 : c > 0);
            return LMT_OK;
        }
        if (jinja_known(true, name) == 2) return jerr(e, "the test '%s' is not supported by lmtune (docs/CHAT_TEMPLATES.md)", name);
        return jerr(e, "No test named '%s'.", name);
    }
    return LMT_OK;
}
