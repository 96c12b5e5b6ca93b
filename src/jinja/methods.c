/* Attribute and item access as jinja2's sandbox does it (attribute first for
 * obj.name, item first for obj[key]), the str / dict methods templates call,
 * iteration, and the globals transformers adds (raise_exception,
 * strftime_now, namespace, dict) plus jinja2's range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>
#include "jinja/internal.h"
#include "core/error.h"

#define OOM(e) jinja_oom(e)

static const char *const str_methods[] = {"strip", "lstrip", "rstrip", "split", "startswith", "endswith", "upper",
                                          "lower", "title", "capitalize", "replace", "find", "count", "join",
                                          "isdigit", "isspace", "isalpha", NULL};
static const char *const dict_methods[] = {"items", "keys", "values", "get", NULL};

static bool in_list(const char *const *l, const char *s) {
    for (; *l; l++) if (!strcmp(*l, s)) return true;
    return false;
}

lmt_status jinja_undefined_error(jev *e, const jv *u) {
    if (u->s && u->len == 1) return jerr(e, "%s", u->s);
    if (u->s) return jerr(e, "'%s' is undefined", u->s);
    return jerr(e, "a value is undefined");
}

bool jinja_is_method(const jv *obj, const char *name) {
    if (obj->t == JV_STR) return in_list(str_methods, name);
    if (obj->t == JV_DICT) return in_list(dict_methods, name);
    return false;
}

bool jinja_iter(jev *e, jv *v, jv **out) {
    switch (v->t) {
    case JV_LIST: case JV_TUPLE: *out = v; return true;
    case JV_UNDEF: *out = jv_new(e->a, JV_LIST); return *out != NULL;
    case JV_DICT: {
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return false;
        for (size_t i = 0; i < v->n; i++) if (!jv_push(e->a, r, v->keys[i])) return false;
        *out = r;
        return true;
    }
    case JV_STR: {
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return false;
        for (size_t i = 0; i < v->len;) {
            size_t o = utf8_offset(v->s + i, v->len - i, 1);
            jv *c = jv_str(e->a, v->s + i, o ? o : 1);
            if (!c || !jv_push(e->a, r, c)) return false;
            i += o ? o : 1;
        }
        *out = r;
        return true;
    }
    default: return false;
    }
}

lmt_status jinja_getattr(jev *e, jv *obj, const char *name, size_t len, jv **out) {
    if (obj->t == JV_UNDEF) return jinja_undefined_error(e, obj);
    if (jinja_is_method(obj, name)) {
        jv *m = jv_new(e->a, JV_FUNC);
        if (!m) return OOM(e);
        m->fk = JF_METHOD;
        m->self = obj;
        m->s = name;
        *out = m;
        return LMT_OK;
    }
    jv *v = (obj->t == JV_DICT || obj->t == JV_NS) ? jv_dict_get(obj, name, len) : NULL;
    if (v) { *out = v; return LMT_OK; }
    char buf[300];
    snprintf(buf, sizeof buf, "'%s object' has no attribute '%.*s'", jv_type_name(obj), (int)(len < 200 ? len : 200), name);
    *out = jv_undef(e->a, ja_strndup(e->a, buf, strlen(buf)));
    (*out)->len = 1;   /* marks an undefined that carries a full message */
    return *out ? LMT_OK : OOM(e);
}

lmt_status jinja_getitem(jev *e, jv *obj, jv *key, jv **out) {
    if (obj->t == JV_UNDEF) return jinja_getattr(e, obj, "[]", 2, out);
    if ((obj->t == JV_LIST || obj->t == JV_TUPLE || obj->t == JV_STR) && (key->t == JV_INT || key->t == JV_BOOL)) {
        int64_t i = key->t == JV_INT ? key->i : key->b;
        int64_t n = obj->t == JV_STR ? (int64_t)utf8_count(obj->s, obj->len) : (int64_t)obj->n;
        if (i < 0) i += n;
        if (i >= 0 && i < n) {
            if (obj->t != JV_STR) { *out = obj->items[i]; return LMT_OK; }
            size_t o = utf8_offset(obj->s, obj->len, (size_t)i), o2 = utf8_offset(obj->s, obj->len, (size_t)i + 1);
            *out = jv_str(e->a, obj->s + o, o2 - o);
            return *out ? LMT_OK : OOM(e);
        }
    } else if (obj->t == JV_DICT) {
        for (size_t i = 0; i < obj->n; i++)
            if (jv_equal(obj->keys[i], key)) { *out = obj->items[i]; return LMT_OK; }
    }
    if (key->t == JV_STR) return jinja_getattr(e, obj, key->s, key->len, out);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "'%s object' has no element ", jv_type_name(obj));
    jv_repr(&b, key);
    *out = jv_undef(e->a, ja_strndup(e->a, b.data ? b.data : "", b.len));
    lmt_sb_free(&b);
    if (*out) (*out)->len = 1;
    return *out ? LMT_OK : OOM(e);
}

static jv *get_kw(const char *name, size_t pos, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw) {
    for (size_t k = 0; k < nkw; k++) if (!strcmp(kwn[k], name)) return kwv[k];
    return pos < nargs ? args[pos] : NULL;
}

/* strip chars (NULL: whitespace) from the left and/or right */
static void strip_range(const jv *s, const jv *chars, bool left, bool right, size_t *b0, size_t *b1) {
    size_t i = 0, end = s->len;
    const char *p = s->s;
    bool ws = !chars || chars->t == JV_NONE;
    #define IS_STRIP(q, left_, nout) (ws ? py_isspace(q, left_, nout) : \
        (*(nout) = utf8_offset(q, left_, 1), *(nout) = *(nout) ? *(nout) : 1, \
         memmem(chars->s, chars->len, q, *(nout)) != NULL))
    if (left)
        while (i < end) {
            size_t n;
            if (!IS_STRIP(p + i, end - i, &n)) break;
            i += n;
        }
    if (right) {
        size_t last = i;
        for (size_t k = i; k < end;) {
            size_t n;
            bool st = IS_STRIP(p + k, end - k, &n);
            k += n;
            if (!st) last = k;
        }
        end = last;
    }
    #undef IS_STRIP
    *b0 = i;
    *b1 = end;
}

static lmt_status case_map(jev *e, const jv *s, int mode, jv **out) {   /* 0 lower 1 upper 2 title 3 capitalize */
    lmt_strbuf b;
    lmt_sb_init(&b);
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < s->len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s->s + i, (utf8proc_ssize_t)(s->len - i), &cp);
        if (n <= 0) { lmt_sb_putc(&b, s->s[i]); i++; continue; }
        i += (size_t)n;
        utf8proc_int32_t r = cp;
        bool cased = utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp;
        if (mode == 0) r = utf8proc_tolower(cp);
        else if (mode == 1) r = utf8proc_toupper(cp);
        else if (mode == 2) r = prev_cased ? utf8proc_tolower(cp) : utf8proc_totitle(cp);
        else r = first ? utf8proc_totitle(cp) : utf8proc_tolower(cp);
        prev_cased = cased;
        first = false;
        utf8proc_uint8_t u[4];
        utf8proc_ssize_t m = utf8proc_encode_char(r, u);
        lmt_sb_append(&b, (const char *)u, (size_t)m);
    }
    *out = jv_str(e->a, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    return *out ? LMT_OK : OOM(e);
}

lmt_status jinja_str_case(jev *e, const jv *s, int mode, jv **out) { return case_map(e, s, mode, out); }

static lmt_status need_str(jev *e, const char *method, jv *a) {
    if (a && a->t == JV_STR) return LMT_OK;
    return jerr(e, "%s() argument must be str, not %s", method, a ? jv_type_name(a) : "nothing");
}

lmt_status jinja_replace(jev *e, jv *s, jv *old, jv *new_, int64_t count, jv **out) {
    LMT_TRY(need_str(e, "replace", old));
    LMT_TRY(need_str(e, "replace", new_));
    lmt_strbuf b;
    lmt_sb_init(&b);
    size_t i = 0;
    int64_t done = 0;
    if (old->len == 0) {   /* Python inserts new between every character */
        size_t nchar = utf8_count(s->s, s->len);
        for (size_t c = 0; c <= nchar; c++) {
            if (count < 0 || done < count) { lmt_sb_append(&b, new_->s, new_->len); done++; }
            if (c < nchar) {
                size_t o = utf8_offset(s->s, s->len, c), o2 = utf8_offset(s->s, s->len, c + 1);
                lmt_sb_append(&b, s->s + o, o2 - o);
            }
        }
    } else {
        while (i < s->len) {
            const char *hit = (count < 0 || done < count) ? memmem(s->s + i, s->len - i, old->s, old->len) : NULL;
            if (!hit) break;
            lmt_sb_append(&b, s->s + i, (size_t)(hit - s->s) - i);
            lmt_sb_append(&b, new_->s, new_->len);
            i = (size_t)(hit - s->s) + old->len;
            done++;
        }
        lmt_sb_append(&b, s->s + i, s->len - i);
    }
    *out = jv_str(e->a, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    return *out ? LMT_OK : OOM(e);
}

static bool affix(const jv *s, const jv *x, bool start) {
    if (x->len > s->len) return false;
    return memcmp(start ? s->s : s->s + s->len - x->len, x->s, x->len) == 0;
}

static lmt_status str_method(jev *e, jv *s, const char *name, jv **args, size_t nargs, const char **kwn, jv **kwv,
                             size_t nkw, jv **out) {
    jv *a0 = get_kw(!strcmp(name, "split") ? "sep" : "", 0, args, nargs, kwn, kwv, nkw);
    if (!strcmp(name, "strip") || !strcmp(name, "lstrip") || !strcmp(name, "rstrip")) {
        if (a0 && a0->t != JV_NONE) LMT_TRY(need_str(e, name, a0));
        size_t b0, b1;
        strip_range(s, a0, name[0] != 'r', name[0] != 'l', &b0, &b1);
        *out = jv_str(e->a, s->s + b0, b1 - b0);
    } else if (!strcmp(name, "upper")) return case_map(e, s, 1, out);
    else if (!strcmp(name, "lower")) return case_map(e, s, 0, out);
    else if (!strcmp(name, "title")) return case_map(e, s, 2, out);
    else if (!strcmp(name, "capitalize")) return case_map(e, s, 3, out);
    else if (!strcmp(name, "startswith") || !strcmp(name, "endswith")) {
        bool start = name[0] == 's', r = false;
        if (a0 && a0->t == JV_TUPLE) {
            for (size_t i = 0; i < a0->n; i++) {
                LMT_TRY(need_str(e, name, a0->items[i]));
                r |= affix(s, a0->items[i], start);
            }
        } else {
            LMT_TRY(need_str(e, name, a0));
            r = affix(s, a0, start);
        }
        *out = jv_bool(r);
    } else if (!strcmp(name, "replace")) {
        jv *c = get_kw("count", 2, args, nargs, kwn, kwv, nkw);
        return jinja_replace(e, s, nargs > 0 ? args[0] : NULL, nargs > 1 ? args[1] : NULL, c && c->t == JV_INT ? c->i : -1, out);
    } else if (!strcmp(name, "split")) {
        jv *ms = get_kw("maxsplit", 1, args, nargs, kwn, kwv, nkw);
        int64_t maxsplit = ms && ms->t == JV_INT ? ms->i : -1;
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return OOM(e);
        if (a0 && a0->t != JV_NONE) {
            LMT_TRY(need_str(e, name, a0));
            if (!a0->len) return jerr(e, "empty separator");
            size_t i = 0;
            int64_t done = 0;
            for (;;) {
                const char *hit = (maxsplit < 0 || done < maxsplit) ? memmem(s->s + i, s->len - i, a0->s, a0->len) : NULL;
                size_t end = hit ? (size_t)(hit - s->s) : s->len;
                jv *part = jv_str(e->a, s->s + i, end - i);
                if (!part || !jv_push(e->a, r, part)) return OOM(e);
                if (!hit) break;
                i = end + a0->len;
                done++;
            }
        } else {   /* runs of whitespace */
            size_t i = 0;
            int64_t done = 0;
            while (i < s->len) {
                size_t n;
                while (i < s->len && py_isspace(s->s + i, s->len - i, &n)) i += n;
                if (i >= s->len) break;
                size_t st = i;
                if (maxsplit >= 0 && done >= maxsplit) {
                    size_t b0, b1;
                    jv tail = {.t = JV_STR, .s = s->s + st, .len = s->len - st};
                    strip_range(&tail, NULL, false, true, &b0, &b1);
                    jv *part = jv_str(e->a, s->s + st, b1);
                    if (!part || !jv_push(e->a, r, part)) return OOM(e);
                    break;
                }
                while (i < s->len && !py_isspace(s->s + i, s->len - i, &n)) i += n;
                jv *part = jv_str(e->a, s->s + st, i - st);
                if (!part || !jv_push(e->a, r, part)) return OOM(e);
                done++;
            }
        }
        *out = r;
    } else if (!strcmp(name, "find") || !strcmp(name, "count")) {
        LMT_TRY(need_str(e, name, a0));
        if (name[0] == 'f') {
            const char *hit = a0->len ? memmem(s->s, s->len, a0->s, a0->len) : s->s;
            *out = jv_int(e->a, hit ? (int64_t)utf8_count(s->s, (size_t)(hit - s->s)) : -1);
        } else {
            int64_t c = 0;
            if (!a0->len) c = (int64_t)utf8_count(s->s, s->len) + 1;
            else
                for (const char *p = s->s; (p = memmem(p, s->len - (size_t)(p - s->s), a0->s, a0->len)); p += a0->len) c++;
            *out = jv_int(e->a, c);
        }
    } else if (!strcmp(name, "join")) {
        jv *items;
        if (!a0 || !jinja_iter(e, a0, &items)) return jerr(e, "join() needs an iterable");
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t i = 0; i < items->n; i++) {
            if (items->items[i]->t != JV_STR) {
                lmt_sb_free(&b);
                return jerr(e, "sequence item %zu: expected str instance, %s found", i, jv_type_name(items->items[i]));
            }
            if (i) lmt_sb_append(&b, s->s, s->len);
            lmt_sb_append(&b, items->items[i]->s, items->items[i]->len);
        }
        *out = jv_str(e->a, b.data ? b.data : "", b.len);
        lmt_sb_free(&b);
    } else {   /* isdigit, isspace, isalpha */
        bool r = s->len > 0;
        for (size_t i = 0; i < s->len && r;) {
            size_t n;
            if (name[2] == 's') { r = py_isspace(s->s + i, s->len - i, &n); i += n; continue; }
            utf8proc_int32_t cp;
            utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)s->s + i, (utf8proc_ssize_t)(s->len - i), &cp);
            if (m <= 0) { r = false; break; }
            i += (size_t)m;
            utf8proc_category_t cat = utf8proc_category(cp);
            if (name[2] == 'd') r = cat == UTF8PROC_CATEGORY_ND;
            else r = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        }
        *out = jv_bool(r);
    }
    return *out ? LMT_OK : OOM(e);
}

lmt_status jinja_method(jev *e, jv *self, const char *name, jv **args, size_t nargs, const char **kwn, jv **kwv,
                        size_t nkw, jv **out) {
    if (self->t == JV_STR) return str_method(e, self, name, args, nargs, kwn, kwv, nkw, out);
    if (!strcmp(name, "get")) {
        if (nargs < 1) return jerr(e, "get expected at least 1 argument, got 0");
        for (size_t i = 0; i < self->n; i++)
            if (jv_equal(self->keys[i], args[0])) { *out = self->items[i]; return LMT_OK; }
        *out = nargs > 1 ? args[1] : jv_none();
        return LMT_OK;
    }
    jv *r = jv_new(e->a, JV_LIST);
    if (!r) return OOM(e);
    for (size_t i = 0; i < self->n; i++) {
        jv *x = name[0] == 'k' ? self->keys[i] : self->items[i];
        if (name[0] == 'i') {
            x = jv_new(e->a, JV_TUPLE);
            if (!x || !jv_push(e->a, x, self->keys[i]) || !jv_push(e->a, x, self->items[i])) return OOM(e);
        }
        if (!jv_push(e->a, r, x)) return OOM(e);
    }
    *out = r;
    return LMT_OK;
}

lmt_status jinja_global(jev *e, const char *name, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw,
                        jv **out) {
    if (!strcmp(name, "raise_exception")) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        if (nargs) jv_to_str(&b, args[0]);
        lmt_status st = jerr(e, "raise_exception: %s", b.data ? b.data : "");
        lmt_sb_free(&b);
        return st;
    }
    if (!strcmp(name, "strftime_now")) {
        if (nargs < 1 || args[0]->t != JV_STR) return jerr(e, "strftime_now() takes a format string");
        const char *pin = getenv("LMT_TEMPLATE_NOW");
        time_t now = pin && *pin ? (time_t)strtoll(pin, NULL, 10) : time(NULL);
        struct tm tmv;
        if (pin && *pin) gmtime_r(&now, &tmv);
        else localtime_r(&now, &tmv);
        char buf[512];
        size_t n = strftime(buf, sizeof buf, args[0]->s, &tmv);
        *out = jv_str(e->a, buf, n);
        return *out ? LMT_OK : OOM(e);
    }
    if (!strcmp(name, "namespace") || !strcmp(name, "dict")) {
        jv *r = jv_new(e->a, name[0] == 'n' ? JV_NS : JV_DICT);
        if (!r) return OOM(e);
        for (size_t i = 0; i < nargs; i++) {
            if (args[i]->t != JV_DICT) return jerr(e, "%s() takes keyword arguments or a dict", name);
            for (size_t k = 0; k < args[i]->n; k++)
                if (!jv_dict_set(e->a, r, args[i]->keys[k], args[i]->items[k])) return OOM(e);
        }
        for (size_t k = 0; k < nkw; k++) {
            if (r->t == JV_NS && kwn[k][0] == '_')
                return jerr(e, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '%s'", kwn[k]);
            jv *key = jv_cstr(e->a, kwn[k]);
            if (!key || !jv_dict_set(e->a, r, key, kwv[k])) return OOM(e);
        }
        *out = r;
        return LMT_OK;
    }
    if (!strcmp(name, "range")) {
        int64_t v[3] = {0, 0, 1};
        if (nargs < 1 || nargs > 3) return jerr(e, "range expected 1 to 3 arguments, got %zu", nargs);
        for (size_t i = 0; i < nargs; i++) {
            if (args[i]->t != JV_INT) return jerr(e, "range() arguments must be integers");
        }
        if (nargs == 1) v[1] = args[0]->i;
        else { v[0] = args[0]->i; v[1] = args[1]->i; if (nargs == 3) v[2] = args[2]->i; }
        if (v[2] == 0) return jerr(e, "range() arg 3 must not be zero");
        jv *r = jv_new(e->a, JV_LIST);
        if (!r) return OOM(e);
        for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
            if (r->n >= 100000) return jerr(e, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
            jv *x = jv_int(e->a, i);
            if (!x || !jv_push(e->a, r, x)) return OOM(e);
        }
        *out = r;
        return LMT_OK;
    }
    return jerr(e, "'%s' is not callable", name);
}
