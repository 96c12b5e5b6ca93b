/* The evaluator: statements write into a buffer, expressions yield values
 * (Python's semantics as jinja2 compiles them); compile/render entry points. */
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jinja/jinja.h"
#include "jinja/internal.h"
#include "core/error.h"

struct lmt_jinja_template {
    jarena a;
    jnode *root;
    char *source;
};

lmt_status jerr(jev *e, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lmt_fail(LMT_ERR_FORMAT, "%s: line %d, column %d: %s", e->source, e->line, e->col, msg);
}

#define AT(e, n) ((e)->line = (n)->line, (e)->col = (n)->col)
/* a render's values and its text are bounded: a template that loops over
 * too much fails with a message instead of taking the machine's memory */
#define RENDER_VALUES_MAX ((size_t)512 << 20)
#define RENDER_TEXT_MAX ((size_t)256 << 20)
#define RENDER_ITERATIONS_MAX 100000   /* loop iterations in all: the sandbox's range() bound */
lmt_status jinja_oom(jev *e) {
    if (e->a && e->a->over) {
        jerr(e, "the render holds more than %zu MiB of values (a loop over too many items?)", RENDER_VALUES_MAX >> 20);
        return LMT_ERR_NOMEM;
    }
    return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", e->source);
}
#define OOM(e) jinja_oom(e)

static lmt_status eval(jev *e, const jnode *n, jframe *f, jv **out);
static lmt_status exec_body(jev *e, const jnode *body, jframe *f, lmt_strbuf *b);

static const char *const globals[] = {"raise_exception", "strftime_now", "namespace", "dict", "range", NULL};

static jv *lookup(jev *e, jframe *f, const char *name, size_t len) {
    for (; f; f = f->parent) {
        jv *v = jv_dict_get(f->vars, name, len);
        if (v) return v;
    }
    for (size_t i = 0; globals[i]; i++)
        if (strlen(globals[i]) == len && memcmp(globals[i], name, len) == 0) {
            jv *fn = jv_new(e->a, JV_FUNC);
            if (fn) { fn->fk = JF_BUILTIN; fn->s = globals[i]; }
            return fn;
        }
    return NULL;
}

static lmt_status set_var(jev *e, jframe *f, const char *name, jv *v) {
    jv *k = jv_cstr(e->a, name);
    if (!k || !jv_dict_set(e->a, f->vars, k, v)) return OOM(e);
    return LMT_OK;
}

static lmt_status undefined_error(jev *e, const jv *u) { return jinja_undefined_error(e, u); }

/* binds names to v (one name) or unpacks a sequence */
static lmt_status bind(jev *e, jframe *f, const char *const *names, size_t n, jv *v) {
    if (n == 1) return set_var(e, f, names[0], v);
    jv *items;
    if (!jinja_iter(e, v, &items)) return jerr(e, "cannot unpack a non-iterable %s", jv_type_name(v));
    if (items->n != n) return jerr(e, "expected %zu values to unpack, got %zu", n, items->n);
    for (size_t i = 0; i < n; i++) LMT_TRY(set_var(e, f, names[i], items->items[i]));
    return LMT_OK;
}

static lmt_status eval_args(jev *e, const jnode *n, jframe *f, jv ***args, jv ***kwv) {
    *args = ja_alloc(e->a, (n->n + 1) * sizeof **args);
    *kwv = ja_alloc(e->a, (n->n2 + 1) * sizeof **kwv);
    if (!*args || !*kwv) return OOM(e);
    for (size_t i = 0; i < n->n; i++) LMT_TRY(eval(e, n->list[i], f, &(*args)[i]));
    for (size_t i = 0; i < n->n2; i++) LMT_TRY(eval(e, n->list2[i], f, &(*kwv)[i]));
    return LMT_OK;
}

static bool is_numeric(const jv *v) { return v->t == JV_INT || v->t == JV_FLOAT || v->t == JV_BOOL; }
static double num(const jv *v) { return v->t == JV_FLOAT ? v->f : v->t == JV_INT ? (double)v->i : (double)v->b; }
static int64_t inum(const jv *v) { return v->t == JV_INT ? v->i : (int64_t)v->b; }

static lmt_status concat_seq(jev *e, jv *a, jv *b, jv **out) {
    jv *r = jv_new(e->a, a->t);
    if (!r) return OOM(e);
    for (size_t i = 0; i < a->n; i++) if (!jv_push(e->a, r, a->items[i])) return OOM(e);
    for (size_t i = 0; i < b->n; i++) if (!jv_push(e->a, r, b->items[i])) return OOM(e);
    *out = r;
    return LMT_OK;
}

static lmt_status binop(jev *e, const char *op, jv *a, jv *b, jv **out) {
    if (op[0] == '~') {
        lmt_strbuf s;
        lmt_sb_init(&s);
        jv_to_str(&s, a);
        jv_to_str(&s, b);
        *out = jv_str(e->a, s.data ? s.data : "", s.len);
        lmt_sb_free(&s);
        return *out ? LMT_OK : OOM(e);
    }
    if (a->t == JV_UNDEF) return undefined_error(e, a);
    if (b->t == JV_UNDEF) return undefined_error(e, b);
    if (op[0] == '%' && a->t == JV_STR) {   /* "%s" % x, "%s %s" % (x, y) */
        if (b->t == JV_TUPLE) return jinja_percent_format(e, a, b->items, b->n, out);
        return jinja_percent_format(e, a, &b, 1, out);
    }
    if (is_numeric(a) && is_numeric(b)) {
        bool fl = a->t == JV_FLOAT || b->t == JV_FLOAT;
        int64_t x = inum(a), y = inum(b);
        double fx = num(a), fy = num(b);
        int64_t r = 0;
        bool ovf = false;
        switch (op[0]) {
        case '+': if (fl) *out = jv_float(e->a, fx + fy); else { ovf = __builtin_add_overflow(x, y, &r); *out = jv_int(e->a, r); } break;
        case '-': if (fl) *out = jv_float(e->a, fx - fy); else { ovf = __builtin_sub_overflow(x, y, &r); *out = jv_int(e->a, r); } break;
        case '*':
            if (op[1] == '*') {
                if (!fl && y >= 0) {   /* by squaring; Python's integers are unbounded, lmtune's 64-bit */
                    int64_t base = x;
                    r = 1;
                    for (int64_t k = y; k > 0 && !ovf; k >>= 1) {
                        if (k & 1) ovf = __builtin_mul_overflow(r, base, &r);
                        if (k > 1 && !ovf) ovf = __builtin_mul_overflow(base, base, &base);
                    }
                    *out = jv_int(e->a, r);
                } else {
                    *out = jv_float(e->a, pow(fx, fy));
                }
            } else if (fl) {
                *out = jv_float(e->a, fx * fy);
            } else {
                ovf = __builtin_mul_overflow(x, y, &r);
                *out = jv_int(e->a, r);
            }
            break;
        case '/':
            if (fl ? fy == 0 : y == 0) return jerr(e, "division by zero");
            if (op[1] == '/') {
                if (fl) *out = jv_float(e->a, floor(fx / fy));
                else {
                    if (x == INT64_MIN && y == -1) return jerr(e, "integer overflow (lmtune's integers are 64-bit)");
                    int64_t q = x / y;
                    if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
                    *out = jv_int(e->a, q);
                }
            } else {
                *out = jv_float(e->a, fx / fy);
            }
            break;
        case '%':
            if (fl ? fy == 0 : y == 0) return jerr(e, "modulo by zero");
            if (fl) {
                double fm = fmod(fx, fy);
                if (fm != 0 && ((fm < 0) != (fy < 0))) fm += fy;
                *out = jv_float(e->a, fm);
            } else {
                int64_t m = y == -1 ? 0 : x % y;
                if (m != 0 && ((m < 0) != (y < 0))) m += y;
                *out = jv_int(e->a, m);
            }
            break;
        default: return jerr(e, "unknown operator '%s'", op);
        }
        if (ovf) return jerr(e, "integer overflow (lmtune's integers are 64-bit)");
        return *out ? LMT_OK : OOM(e);
    }
    if (op[0] == '+' && a->t == JV_STR && b->t == JV_STR) {
        char *s = ja_alloc(e->a, a->len + b->len + 1);
        if (!s) return OOM(e);
        memcpy(s, a->s, a->len);
        memcpy(s + a->len, b->s, b->len);
        jv *r = jv_new(e->a, JV_STR);
        if (!r) return OOM(e);
        r->s = s;
        r->len = a->len + b->len;
        *out = r;
        return LMT_OK;
    }
    if (op[0] == '+' && a->t == b->t && (a->t == JV_LIST || a->t == JV_TUPLE)) return concat_seq(e, a, b, out);
    if (op[0] == '*' && op[1] == 0 && (a->t == JV_INT || b->t == JV_INT) && (a->t == JV_STR || b->t == JV_STR ||
                                                                              a->t == JV_LIST || b->t == JV_LIST)) {
        jv *seq = a->t == JV_INT ? b : a;
        int64_t k = a->t == JV_INT ? a->i : b->i;
        if (k > 0 && (seq->t == JV_STR ? seq->len : seq->n) > (size_t)(1 << 28) / (size_t)(k < (1 << 28) ? k : (1 << 28)))
            return jerr(e, "the repetition would exceed 256 MiB");
        if (seq->t == JV_STR) {
            lmt_strbuf s;
            lmt_sb_init(&s);
            for (int64_t i = 0; i < k; i++) lmt_sb_append(&s, seq->s, seq->len);
            *out = jv_str(e->a, s.data ? s.data : "", s.len);
            lmt_sb_free(&s);
            return *out ? LMT_OK : OOM(e);
        }
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return OOM(e);
        for (int64_t i = 0; i < k; i++)
            for (size_t j = 0; j < seq->n; j++) if (!jv_push(e->a, r, seq->items[j])) return OOM(e);
        *out = r;
        return LMT_OK;
    }
    return jerr(e, "unsupported operand type(s) for %s: '%s' and '%s'", op, jv_type_name(a), jv_type_name(b));
}

static lmt_status contains(jev *e, jv *item, jv *seq, bool *out) {
    switch (seq->t) {
    case JV_STR:
        if (item->t != JV_STR) return jerr(e, "'in <string>' requires string as left operand, not %s", jv_type_name(item));
        *out = item->len == 0 || memmem(seq->s, seq->len, item->s, item->len) != NULL;
        return LMT_OK;
    case JV_LIST: case JV_TUPLE:
        *out = false;
        for (size_t i = 0; i < seq->n; i++) if (jv_equal(seq->items[i], item)) { *out = true; break; }
        return LMT_OK;
    case JV_DICT:
        *out = false;
        for (size_t i = 0; i < seq->n; i++) if (jv_equal(seq->keys[i], item)) { *out = true; break; }
        return LMT_OK;
    case JV_UNDEF: *out = false; return LMT_OK;
    default: return jerr(e, "argument of type '%s' is not iterable", jv_type_name(seq));
    }
}

static lmt_status compare(jev *e, const char *op, jv *a, jv *b, bool *out) {
    if (!strcmp(op, "==")) { *out = jv_equal(a, b); return LMT_OK; }
    if (!strcmp(op, "!=")) { *out = !jv_equal(a, b); return LMT_OK; }
    if (!strcmp(op, "in")) return contains(e, a, b, out);
    if (!strcmp(op, "notin")) {
        LMT_TRY(contains(e, a, b, out));
        *out = !*out;
        return LMT_OK;
    }
    if (a->t == JV_UNDEF) return undefined_error(e, a);
    if (b->t == JV_UNDEF) return undefined_error(e, b);
    int c;
    if (!jv_compare(a, b, &c))
        return jerr(e, "'%s' not supported between instances of '%s' and '%s'", op, jv_type_name(a), jv_type_name(b));
    if (!strcmp(op, "<")) *out = c < 0;
    else if (!strcmp(op, ">")) *out = c > 0;
    else if (!strcmp(op, "<=")) *out = c <= 0;
    else *out = c >= 0;
    return LMT_OK;
}

/* Python slice indices for a sequence of length n */
static void slice_indices(int64_t n, jv *start, jv *stop, jv *step, int64_t *s0, int64_t *s1, int64_t *st) {
    *st = step && step->t != JV_NONE ? inum(step) : 1;
    int64_t lo, hi;
    if (*st > 0) { lo = 0; hi = n; } else { lo = -1; hi = n - 1; }
    if (start && start->t != JV_NONE) {
        *s0 = inum(start);
        if (*s0 < 0) { *s0 += n; if (*s0 < lo) *s0 = lo; }
        else if (*s0 > hi) *s0 = hi;
    } else {
        *s0 = *st > 0 ? lo : hi;
    }
    if (stop && stop->t != JV_NONE) {
        *s1 = inum(stop);
        if (*s1 < 0) { *s1 += n; if (*s1 < lo) *s1 = lo; }
        else if (*s1 > hi) *s1 = hi;
    } else {
        *s1 = *st > 0 ? hi : lo;
    }
}

static lmt_status do_slice(jev *e, jv *obj, jv **parts, jv **out) {
    for (int i = 0; i < 3; i++)
        if (parts[i] && parts[i]->t != JV_NONE && parts[i]->t != JV_INT && parts[i]->t != JV_BOOL)
            return jerr(e, "slice indices must be integers or None");
    if (parts[2] && parts[2]->t != JV_NONE && inum(parts[2]) == 0) return jerr(e, "slice step cannot be zero");
    if (obj->t == JV_UNDEF) return undefined_error(e, obj);
    if (obj->t == JV_STR) {
        int64_t n = (int64_t)utf8_count(obj->s, obj->len), s0, s1, st;
        slice_indices(n, parts[0], parts[1], parts[2], &s0, &s1, &st);
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (int64_t i = s0; st > 0 ? i < s1 : i > s1; i = (st > 0 ? i > s1 - st : i < s1 - st) ? s1 : i + st) {
            size_t o = utf8_offset(obj->s, obj->len, (size_t)i), o2 = utf8_offset(obj->s, obj->len, (size_t)i + 1);
            lmt_sb_append(&b, obj->s + o, o2 - o);
        }
        *out = jv_str(e->a, b.data ? b.data : "", b.len);
        lmt_sb_free(&b);
        return *out ? LMT_OK : OOM(e);
    }
    if (obj->t != JV_LIST && obj->t != JV_TUPLE) return jerr(e, "'%s' object is not subscriptable", jv_type_name(obj));
    int64_t s0, s1, st;
    slice_indices((int64_t)obj->n, parts[0], parts[1], parts[2], &s0, &s1, &st);
    jv *r = jv_new(e->a, obj->t);
    if (!r) return OOM(e);
    for (int64_t i = s0; st > 0 ? i < s1 : i > s1; i = (st > 0 ? i > s1 - st : i < s1 - st) ? s1 : i + st)
        if (!jv_push(e->a, r, obj->items[i])) return OOM(e);
    *out = r;
    return LMT_OK;
}

static lmt_status eval_at(jev *e, const jnode *n, jframe *f, jv **out);
#define WALK_OVERFLOW_MSG "a value nested more than 200 deep, or holding itself, cannot be compared, printed or serialized"
/* expressions nest at most this deep at run time (a + b + c ... chains too) */
static lmt_status eval(jev *e, const jnode *n, jframe *f, jv **out) {
    if (e->edepth >= 1000) { AT(e, n); return jerr(e, "expression nested too deeply"); }
    e->edepth++;
    lmt_status st = eval_at(e, n, f, out);
    e->edepth--;
    if (st == LMT_OK && jv_walk_overflowed()) {
        AT(e, n);
        return jerr(e, "%s", WALK_OVERFLOW_MSG);
    }
    return st;
}

static lmt_status eval_at(jev *e, const jnode *n, jframe *f, jv **out) {
    jv *a, *b;
    switch (n->k) {
    case N_STR: *out = jv_new(e->a, JV_STR); if (!*out) return OOM(e); (*out)->s = n->s; (*out)->len = n->len; return LMT_OK;
    case N_INT: *out = jv_int(e->a, n->i); return *out ? LMT_OK : OOM(e);
    case N_FLOAT: *out = jv_float(e->a, n->f); return *out ? LMT_OK : OOM(e);
    case N_BOOL: *out = jv_bool(n->i != 0); return LMT_OK;
    case N_NONE: *out = jv_none(); return LMT_OK;
    case N_NAME:
        *out = lookup(e, f, n->s, n->len);
        if (!*out) *out = jv_undef(e->a, n->s);
        return *out ? LMT_OK : OOM(e);
    case N_LIST: case N_TUPLE: {
        jv *r = jv_new(e->a, n->k == N_LIST ? JV_LIST : JV_TUPLE);
        if (!r) return OOM(e);
        for (size_t i = 0; i < n->n; i++) {
            LMT_TRY(eval(e, n->list[i], f, &a));
            if (!jv_push(e->a, r, a)) return OOM(e);
        }
        *out = r;
        return LMT_OK;
    }
    case N_DICT: {
        jv *r = jv_new(e->a, JV_DICT);
        if (!r) return OOM(e);
        for (size_t i = 0; i < n->n; i++) {
            LMT_TRY(eval(e, n->list[i], f, &a));
            LMT_TRY(eval(e, n->list2[i], f, &b));
            if (!jv_dict_set(e->a, r, a, b)) return OOM(e);
        }
        *out = r;
        return LMT_OK;
    }
    case N_GETATTR:
        LMT_TRY(eval(e, n->a, f, &a));
        AT(e, n);
        return jinja_getattr(e, a, n->s, n->len, out);
    case N_GETITEM:
        LMT_TRY(eval(e, n->a, f, &a));
        LMT_TRY(eval(e, n->b, f, &b));
        AT(e, n);
        return jinja_getitem(e, a, b, out);
    case N_SLICE: {
        jv *parts[3] = {0};
        LMT_TRY(eval(e, n->a, f, &a));
        for (int i = 0; i < 3; i++)
            if (n->list[i]) LMT_TRY(eval(e, n->list[i], f, &parts[i]));
        AT(e, n);
        return do_slice(e, a, parts, out);
    }
    case N_CALL: {
        jv **args, **kwv;
        LMT_TRY(eval(e, n->a, f, &a));
        LMT_TRY(eval_args(e, n, f, &args, &kwv));
        AT(e, n);
        if (a->t == JV_UNDEF) return undefined_error(e, a);
        if (a->t != JV_FUNC) return jerr(e, "'%s' object is not callable", jv_type_name(a));
        return jinja_call(e, a, args, n->n, n->names, kwv, n->n2, out);
    }
    case N_FILTER: {
        jv **args, **kwv;
        LMT_TRY(eval(e, n->a, f, &a));
        LMT_TRY(eval_args(e, n, f, &args, &kwv));
        AT(e, n);
        return jinja_filter(e, n->s, a, args, n->n, n->names, kwv, n->n2, out);
    }
    case N_TEST: {
        jv **args, **kwv;
        bool r;
        LMT_TRY(eval(e, n->a, f, &a));
        LMT_TRY(eval_args(e, n, f, &args, &kwv));
        AT(e, n);
        LMT_TRY(jinja_test(e, n->s, a, args, n->n, &r));
        *out = jv_bool(n->i ? !r : r);
        return LMT_OK;
    }
    case N_BINOP:
        LMT_TRY(eval(e, n->a, f, &a));
        LMT_TRY(eval(e, n->b, f, &b));
        AT(e, n);
        return binop(e, n->s, a, b, out);
    case N_NEG: case N_POS:
        LMT_TRY(eval(e, n->a, f, &a));
        AT(e, n);
        if (a->t == JV_UNDEF) return undefined_error(e, a);
        if (!is_numeric(a)) return jerr(e, "bad operand type for unary %c: '%s'", n->k == N_NEG ? '-' : '+', jv_type_name(a));
        if (n->k == N_POS) *out = a->t == JV_BOOL ? jv_int(e->a, a->b) : a;
        else if (a->t != JV_FLOAT && inum(a) == INT64_MIN) return jerr(e, "integer overflow (lmtune's integers are 64-bit)");
        else *out = a->t == JV_FLOAT ? jv_float(e->a, -a->f) : jv_int(e->a, -inum(a));
        return *out ? LMT_OK : OOM(e);
    case N_AND:
        LMT_TRY(eval(e, n->a, f, &a));
        if (!jv_truthy(a)) { *out = a; return LMT_OK; }
        return eval(e, n->b, f, out);
    case N_OR:
        LMT_TRY(eval(e, n->a, f, &a));
        if (jv_truthy(a)) { *out = a; return LMT_OK; }
        return eval(e, n->b, f, out);
    case N_NOT:
        LMT_TRY(eval(e, n->a, f, &a));
        *out = jv_bool(!jv_truthy(a));
        return LMT_OK;
    case N_COND:
        LMT_TRY(eval(e, n->a, f, &a));
        if (jv_truthy(a)) return eval(e, n->b, f, out);
        if (n->c) return eval(e, n->c, f, out);
        *out = jv_undef(e->a, NULL);
        return *out ? LMT_OK : OOM(e);
    case N_COMPARE: {
        LMT_TRY(eval(e, n->a, f, &a));
        for (size_t i = 0; i < n->n; i++) {
            bool r;
            LMT_TRY(eval(e, n->list[i], f, &b));
            AT(e, n);
            LMT_TRY(compare(e, n->names[i], a, b, &r));
            if (!r) { *out = jv_bool(false); return LMT_OK; }
            a = b;
        }
        *out = jv_bool(true);
        return LMT_OK;
    }
    default:
        AT(e, n);
        return jerr(e, "internal: not an expression");
    }
}

static jframe *new_frame(jev *e, jframe *parent) {
    jframe *f = ja_alloc(e->a, sizeof *f);
    if (!f) return NULL;
    f->parent = parent;
    f->vars = jv_new(e->a, JV_DICT);
    return f->vars ? f : NULL;
}

static lmt_status put_loop(jev *e, jframe *f, jv *items, size_t i) {
    jv *loop = jv_new(e->a, JV_DICT);
    if (!loop) return OOM(e);
    size_t n = items->n;
    struct { const char *k; jv *v; } kv[] = {
        {"index", jv_int(e->a, (int64_t)i + 1)}, {"index0", jv_int(e->a, (int64_t)i)},
        {"revindex", jv_int(e->a, (int64_t)(n - i))}, {"revindex0", jv_int(e->a, (int64_t)(n - i - 1))},
        {"first", jv_bool(i == 0)}, {"last", jv_bool(i + 1 == n)}, {"length", jv_int(e->a, (int64_t)n)},
        {"depth", jv_int(e->a, 1)}, {"depth0", jv_int(e->a, 0)},
        {"previtem", i > 0 ? items->items[i - 1] : jv_undef(e->a, "previtem")},
        {"nextitem", i + 1 < n ? items->items[i + 1] : jv_undef(e->a, "nextitem")},
    };
    for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) {
        jv *key = jv_cstr(e->a, kv[k].k);
        if (!key || !kv[k].v || !jv_dict_set(e->a, loop, key, kv[k].v)) return OOM(e);
    }
    return set_var(e, f, "loop", loop);
}

static lmt_status exec_for(jev *e, const jnode *n, jframe *f, lmt_strbuf *b) {
    jv *it, *items;
    LMT_TRY(eval(e, n->a, f, &it));
    AT(e, n->a);
    if (!jinja_iter(e, it, &items)) return jerr(e, "'%s' object is not iterable", jv_type_name(it));
    jframe *lf = new_frame(e, f);
    if (!lf) return OOM(e);
    if (n->b) {   /* {% for x in xs if cond %}: the loop sees only the items that pass */
        jv *kept = jv_new(e->a, JV_LIST);
        if (!kept) return OOM(e);
        for (size_t i = 0; i < items->n; i++) {
            jv *c;
            LMT_TRY(bind(e, lf, n->names, n->nnames, items->items[i]));
            LMT_TRY(eval(e, n->b, lf, &c));
            if (jv_truthy(c) && !jv_push(e->a, kept, items->items[i])) return OOM(e);
        }
        items = kept;
    }
    if (items->n == 0) {
        jnode els = {.k = N_BODY, .list = n->list2, .n = n->n2};
        return exec_body(e, &els, f, b);
    }
    for (size_t i = 0; i < items->n; i++) {
        AT(e, n);
        if (++e->iterations > RENDER_ITERATIONS_MAX)
            return jerr(e, "the render loops more than %d times (loops nested over too many items?)", RENDER_ITERATIONS_MAX);
        /* each iteration starts from the enclosing scope: what the body set
         * in the last one is gone, as in jinja2 */
        if (i > 0 && !(lf = new_frame(e, f))) return OOM(e);
        LMT_TRY(bind(e, lf, n->names, n->nnames, items->items[i]));
        LMT_TRY(put_loop(e, lf, items, i));
        LMT_TRY(exec_body(e, n->c, lf, b));
        if (e->loopctl == 1) { e->loopctl = 0; break; }
        e->loopctl = 0;
    }
    return LMT_OK;
}

static lmt_status exec_set(jev *e, const jnode *n, jframe *f, jv *v) {
    AT(e, n);
    if (n->s) {   /* ns.attr = v */
        jv *ns = lookup(e, f, n->s, n->len);
        if (!ns || ns->t != JV_NS) return jerr(e, "cannot assign attribute on non-namespace object");
        jv *k = jv_cstr(e->a, n->names[0]);
        if (!k || !jv_dict_set(e->a, ns, k, v)) return OOM(e);
        return LMT_OK;
    }
    return bind(e, f, n->names, n->nnames, v);
}

static lmt_status exec_body(jev *e, const jnode *body, jframe *f, lmt_strbuf *b) {
    for (size_t i = 0; i < body->n && !e->loopctl; i++) {
        const jnode *n = body->list[i];
        jv *v;
        if (b->len > RENDER_TEXT_MAX) { AT(e, n); return jerr(e, "the rendered text exceeds %zu MiB", RENDER_TEXT_MAX >> 20); }
        switch (n->k) {
        case N_TEXT: lmt_sb_append(b, n->s, n->len); break;
        case N_OUTPUT:
            LMT_TRY(eval(e, n->a, f, &v));
            jv_to_str(b, v);
            if (jv_walk_overflowed()) { AT(e, n); return jerr(e, "%s", WALK_OVERFLOW_MSG); }
            break;
        case N_IF:
            LMT_TRY(eval(e, n->a, f, &v));
            if (jv_truthy(v)) LMT_TRY(exec_body(e, n->b, f, b));
            else if (n->c) LMT_TRY(exec_body(e, n->c, f, b));
            break;
        case N_FOR: LMT_TRY(exec_for(e, n, f, b)); break;
        case N_SET:
            LMT_TRY(eval(e, n->a, f, &v));
            LMT_TRY(exec_set(e, n, f, v));
            break;
        case N_SETBLOCK: {
            lmt_strbuf sb;
            lmt_sb_init(&sb);
            jframe *bf = new_frame(e, f);
            lmt_status st = bf ? exec_body(e, n->b, bf, &sb) : OOM(e);
            v = st ? NULL : jv_str(e->a, sb.data ? sb.data : "", sb.len);
            lmt_sb_free(&sb);
            if (st) return st;
            if (!v) return OOM(e);
            if (n->a) {
                jv **args, **kwv;
                LMT_TRY(eval_args(e, n->a, f, &args, &kwv));
                AT(e, n->a);
                LMT_TRY(jinja_filter(e, n->a->s, v, args, n->a->n, n->a->names, kwv, n->a->n2, &v));
            }
            LMT_TRY(exec_set(e, n, f, v));
            break;
        }
        case N_MACRO: {
            jv *fn = jv_new(e->a, JV_FUNC);
            if (!fn) return OOM(e);
            fn->fk = JF_MACRO;
            fn->s = n->s;
            fn->macro = n;
            LMT_TRY(set_var(e, f, n->s, fn));
            break;
        }
        case N_BREAK: e->loopctl = 1; break;
        case N_CONTINUE: e->loopctl = 2; break;
        case N_BODY: LMT_TRY(exec_body(e, n, f, b)); break;
        case N_GENERATION: {
            size_t start = b->len;
            LMT_TRY(exec_body(e, n->b, f, b));
            /* AssistantTracker records the blocks rendered into the output itself */
            if (b == e->out) {
                if (e->n_spans + 2 > e->cap_spans) {
                    size_t cap = e->cap_spans ? 2 * e->cap_spans : 16;
                    size_t *p = realloc(e->spans, cap * sizeof *p);
                    if (!p) return OOM(e);
                    e->spans = p;
                    e->cap_spans = cap;
                }
                e->spans[e->n_spans++] = start;
                e->spans[e->n_spans++] = b->len;
            }
            break;
        }
        default: AT(e, n); return jerr(e, "internal: not a statement");
        }
    }
    return LMT_OK;
}

lmt_status jinja_call_macro(jev *e, jv *fn, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw, jv **out) {
    const jnode *m = fn->macro;
    if (nargs > m->nnames) return jerr(e, "macro '%s' takes not more than %zu argument(s)", m->s, m->nnames);
    jframe *mf = new_frame(e, e->root);
    if (!mf) return OOM(e);
    for (size_t p = 0; p < m->nnames; p++) {
        jv *v = p < nargs ? args[p] : NULL;
        for (size_t k = 0; k < nkw; k++)
            if (!strcmp(kwn[k], m->names[p])) v = kwv[k];
        if (!v && m->list2[p]) LMT_TRY(eval(e, m->list2[p], mf, &v));
        if (!v) v = jv_undef(e->a, m->names[p]);
        if (!v) return OOM(e);
        LMT_TRY(set_var(e, mf, m->names[p], v));
    }
    for (size_t k = 0; k < nkw; k++) {
        bool known = false;
        for (size_t p = 0; p < m->nnames; p++) known |= !strcmp(kwn[k], m->names[p]);
        if (!known) return jerr(e, "macro '%s' takes no keyword argument '%s'", m->s, kwn[k]);
    }
    if (e->depth >= 200) return jerr(e, "maximum recursion depth exceeded in macro '%s'", m->s);
    lmt_strbuf b;
    lmt_sb_init(&b);
    int saved = e->loopctl;
    e->loopctl = 0;
    e->depth++;
    lmt_status st = exec_body(e, m->b, mf, &b);
    e->depth--;
    e->loopctl = saved;
    *out = st ? NULL : jv_str(e->a, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    if (st) return st;
    return *out ? LMT_OK : OOM(e);
}

lmt_status jinja_call(jev *e, jv *fn, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw, jv **out) {
    switch (fn->fk) {
    case JF_MACRO: return jinja_call_macro(e, fn, args, nargs, kwn, kwv, nkw, out);
    case JF_METHOD: return jinja_method(e, fn->self, fn->s, args, nargs, kwn, kwv, nkw, out);
    default: return jinja_global(e, fn->s, args, nargs, kwn, kwv, nkw, out);
    }
}

/* ---- entry points ---- */
static jv *from_json(jarena *a, const lmt_json *j) {
    jv *v = NULL;
    switch (j->type) {
    case LMT_JSON_NULL: return jv_none();
    case LMT_JSON_BOOL: return jv_bool(j->boolean);
    case LMT_JSON_NUMBER: return j->is_int ? jv_int(a, j->i64) : jv_float(a, j->num);
    case LMT_JSON_STRING: return jv_str(a, j->str, j->len);
    case LMT_JSON_ARRAY:
        if (!(v = jv_new(a, JV_LIST))) return NULL;
        for (size_t i = 0; i < j->len; i++) {
            jv *x = from_json(a, &j->items[i]);
            if (!x || !jv_push(a, v, x)) return NULL;
        }
        return v;
    case LMT_JSON_OBJECT:
        if (!(v = jv_new(a, JV_DICT))) return NULL;
        for (size_t i = 0; i < j->len; i++) {
            jv *k = jv_str(a, j->keys[i], j->key_lens[i]);
            jv *x = from_json(a, &j->items[i]);
            if (!k || !x || !jv_dict_set(a, v, k, x)) return NULL;
        }
        return v;
    }
    return NULL;
}

lmt_status lmt_jinja_compile(const char *src, size_t len, const char *source, lmt_jinja_template **out) {
    *out = NULL;
    lmt_jinja_template *t = calloc(1, sizeof *t);
    if (!t || !(t->source = lmt_strdup(source ? source : "<template>"))) {
        free(t);
        return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source);
    }
    jtok *toks;
    size_t n;
    lmt_status st = jinja_lex(src, len, t->source, &t->a, &toks, &n);
    if (st == LMT_OK) st = jinja_parse(toks, n, t->source, &t->a, &t->root);
    if (st != LMT_OK) { lmt_jinja_free(t); return st; }
    *out = t;
    return LMT_OK;
}

void lmt_jinja_free(lmt_jinja_template *t) {
    if (!t) return;
    ja_free(&t->a);
    free(t->source);
    free(t);
}

lmt_status lmt_jinja_render(const lmt_jinja_template *t, const lmt_json *context, char **out, size_t *out_len) {
    return lmt_jinja_render_tracked(t, context, out, out_len, NULL, NULL);
}

lmt_status lmt_jinja_render_tracked(const lmt_jinja_template *t, const lmt_json *context, char **out, size_t *out_len,
                                    size_t **spans, size_t *n_spans) {
    *out = NULL;
    if (spans) { *spans = NULL; *n_spans = 0; }
    jarena a = {.limit = RENDER_VALUES_MAX};
    jev e = {.a = &a, .source = t->source};
    lmt_strbuf b;
    lmt_sb_init(&b);
    e.out = &b;
    lmt_status st = LMT_OK;
    (void)jv_walk_overflowed();   /* a flag left by an earlier failed render */
    e.root = new_frame(&e, NULL);
    if (!e.root) st = OOM(&e);
    if (!st && context && context->type == LMT_JSON_OBJECT) {
        jv *ctx = from_json(&a, context);
        if (!ctx) st = OOM(&e);
        else e.root->vars = ctx;
    }
    if (!st) st = exec_body(&e, t->root, e.root, &b);
    if (!st && b.oom) st = OOM(&e);
    ja_free(&a);
    if (st) { lmt_sb_free(&b); free(e.spans); return st; }
    if (spans) { *spans = e.spans; *n_spans = e.n_spans / 2; }
    else free(e.spans);
    if (out_len) *out_len = b.len;
    *out = lmt_sb_take(&b);
    if (!*out) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", t->source);
    return LMT_OK;
}

static bool has_generation(const jnode *n) {
    if (!n) return false;
    if (n->k == N_GENERATION) return true;
    if (has_generation(n->a) || has_generation(n->b) || has_generation(n->c)) return true;
    for (size_t i = 0; i < n->n; i++) if (has_generation(n->list[i])) return true;
    for (size_t i = 0; i < n->n2; i++) if (has_generation(n->list2[i])) return true;
    return false;
}

bool lmt_jinja_has_generation(const lmt_jinja_template *t) { return t && has_generation(t->root); }
