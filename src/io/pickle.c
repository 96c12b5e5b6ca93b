/* Restricted unpickler (protocols 2-4) for torch state dicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/pickle.h"

typedef enum { PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_TUPLE, PK_LIST, PK_DICT, PK_GLOBAL, PK_STORAGE,
               PK_TENSOR, PK_MARK } pk_kind;

typedef struct pk_obj pk_obj;
struct pk_obj {
    pk_kind kind;
    int64_t i;
    char *s;               /* STR / GLOBAL "module.name" / STORAGE key */
    size_t slen;
    pk_obj **items;        /* TUPLE, LIST; DICT as key, value, key, value */
    size_t n, cap;
    lmt_dtype dtype;       /* STORAGE, TENSOR */
    int64_t numel;         /* STORAGE */
    pk_obj *storage;       /* TENSOR */
    int64_t offset;
    int ndim;
    int64_t size[LMT_MAX_DIMS], stride[LMT_MAX_DIMS];
    pk_obj *next_alloc;
};

typedef struct {
    const unsigned char *p, *end, *start;
    const char *src;
    pk_obj *allocs;
    size_t n_allocs;
    pk_obj **stack;
    size_t sp, stack_cap;
    pk_obj **memo;
    size_t memo_cap;
} unpickler;

#define MAX_OBJECTS 50000000u
#define MAX_MEMO (1u << 26)

static lmt_status perr(unpickler *u, const char *what) {
    return lmt_fail(LMT_ERR_FORMAT, "%s: pickle byte %zu: %s", u->src, (size_t)(u->p - u->start), what);
}

static pk_obj *new_obj(unpickler *u, pk_kind k) {
    if (u->n_allocs >= MAX_OBJECTS) return NULL;
    pk_obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->kind = k;
    o->next_alloc = u->allocs;
    u->allocs = o;
    u->n_allocs++;
    return o;
}

static lmt_status push(unpickler *u, pk_obj *o) {
    if (!o) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory (or too many objects) unpickling", u->src);
    if (u->sp == u->stack_cap) {
        size_t nc = u->stack_cap ? u->stack_cap * 2 : 64;
        if (nc > (1u << 24)) return perr(u, "stack too deep");
        pk_obj **ns = realloc(u->stack, nc * sizeof *ns);
        if (!ns) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
        u->stack = ns;
        u->stack_cap = nc;
    }
    u->stack[u->sp++] = o;
    return LMT_OK;
}

static lmt_status pop(unpickler *u, pk_obj **o) {
    if (u->sp == 0) return perr(u, "stack underflow");
    *o = u->stack[--u->sp];
    if ((*o)->kind == PK_MARK) return perr(u, "unexpected MARK");
    return LMT_OK;
}

/* Index of the topmost MARK. */
static lmt_status find_mark(unpickler *u, size_t *at) {
    for (size_t i = u->sp; i-- > 0;)
        if (u->stack[i]->kind == PK_MARK) { *at = i; return LMT_OK; }
    return perr(u, "no MARK on the stack");
}

static lmt_status add_item(unpickler *u, pk_obj *c, pk_obj *v) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        pk_obj **ni = realloc(c->items, nc * sizeof *ni);
        if (!ni) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->n++] = v;
    return LMT_OK;
}

static lmt_status need(unpickler *u, size_t n) {
    if ((size_t)(u->end - u->p) < n) return perr(u, "truncated pickle");
    return LMT_OK;
}

static uint64_t rdle(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static lmt_status memo_put(unpickler *u, uint64_t idx, pk_obj *o) {
    if (idx >= MAX_MEMO) return perr(u, "memo index too large");
    if (idx >= u->memo_cap) {
        size_t nc = u->memo_cap ? u->memo_cap : 64;
        while (nc <= idx) nc *= 2;
        pk_obj **nm = realloc(u->memo, nc * sizeof *nm);
        if (!nm) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
        memset(nm + u->memo_cap, 0, (nc - u->memo_cap) * sizeof *nm);
        u->memo = nm;
        u->memo_cap = nc;
    }
    u->memo[idx] = o;
    return LMT_OK;
}

static const struct { const char *name; lmt_dtype t; } storages[] = {
    {"torch.FloatStorage", LMT_F32}, {"torch.HalfStorage", LMT_F16}, {"torch.BFloat16Storage", LMT_BF16},
    {"torch.DoubleStorage", LMT_F64}, {"torch.LongStorage", LMT_I64}, {"torch.IntStorage", LMT_I32},
    {"torch.ShortStorage", LMT_I16}, {"torch.CharStorage", LMT_I8}, {"torch.ByteStorage", LMT_U8},
    {"torch.BoolStorage", LMT_BOOL}};

static bool allowed_global(const char *g) {
    if (!strcmp(g, "collections.OrderedDict") || !strcmp(g, "torch._utils._rebuild_tensor_v2") ||
        !strcmp(g, "torch._utils._rebuild_parameter"))
        return true;
    for (size_t i = 0; i < sizeof storages / sizeof storages[0]; i++)
        if (!strcmp(g, storages[i].name)) return true;
    return false;
}

static lmt_status make_global(unpickler *u, const char *mod, size_t ml, const char *name, size_t nl) {
    pk_obj *o = new_obj(u, PK_GLOBAL);
    if (!o || !(o->s = malloc(ml + nl + 2))) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
    memcpy(o->s, mod, ml);
    o->s[ml] = '.';
    memcpy(o->s + ml + 1, name, nl);
    o->s[ml + nl + 1] = '\0';
    if (strlen(o->s) != ml + nl + 1 || !allowed_global(o->s)) {
        char shown[200];
        snprintf(shown, sizeof shown, "%.*s.%.*s", (int)(ml < 80 ? ml : 80), mod, (int)(nl < 80 ? nl : 80), name);
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: pickle refers to %s, which is not allowed in a state dict (only tensors, "
                                             "storages and OrderedDict are unpickled; nothing is executed)", u->src, shown);
    }
    return push(u, o);
}

static bool int_tuple(const pk_obj *t, int64_t *dst, int *n) {
    if (t->kind != PK_TUPLE || t->n > LMT_MAX_DIMS) return false;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != PK_INT) return false;
        dst[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return true;
}

static lmt_status reduce(unpickler *u, pk_obj *fn, pk_obj *args) {
    if (fn->kind != PK_GLOBAL || args->kind != PK_TUPLE) return perr(u, "REDUCE on something that is not a global");
    if (!strcmp(fn->s, "collections.OrderedDict")) {
        if (args->n != 0) return perr(u, "OrderedDict with arguments");
        return push(u, new_obj(u, PK_DICT));
    }
    if (!strcmp(fn->s, "torch._utils._rebuild_parameter")) {
        if (args->n < 1 || args->items[0]->kind != PK_TENSOR) return perr(u, "bad _rebuild_parameter arguments");
        return push(u, args->items[0]);
    }
    if (!strcmp(fn->s, "torch._utils._rebuild_tensor_v2")) {
        if (args->n < 4 || args->items[0]->kind != PK_STORAGE || args->items[1]->kind != PK_INT)
            return perr(u, "bad _rebuild_tensor_v2 arguments");
        pk_obj *t = new_obj(u, PK_TENSOR);
        if (!t) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
        t->storage = args->items[0];
        t->dtype = t->storage->dtype;
        t->offset = args->items[1]->i;
        int ns, nt;
        if (!int_tuple(args->items[2], t->size, &ns) || !int_tuple(args->items[3], t->stride, &nt) || ns != nt)
            return perr(u, "bad tensor size or stride");
        t->ndim = ns;
        return push(u, t);
    }
    char msg[160];
    snprintf(msg, sizeof msg, "calling %s is not supported", fn->s);
    return perr(u, msg);
}

static lmt_status persistent_load(unpickler *u, pk_obj *pid) {
    /* ('storage', torch.<T>Storage, key, location, numel) */
    if (pid->kind != PK_TUPLE || pid->n < 5 || pid->items[0]->kind != PK_STR || strcmp(pid->items[0]->s, "storage") ||
        pid->items[1]->kind != PK_GLOBAL || pid->items[2]->kind != PK_STR || pid->items[4]->kind != PK_INT)
        return perr(u, "unsupported persistent id (expected a torch storage)");
    pk_obj *s = new_obj(u, PK_STORAGE);
    if (!s) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
    int found = -1;
    for (size_t i = 0; i < sizeof storages / sizeof storages[0]; i++)
        if (!strcmp(pid->items[1]->s, storages[i].name)) found = (int)i;
    if (found < 0) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: storage type %s is not supported", u->src, pid->items[1]->s);
    s->dtype = storages[found].t;
    s->s = pid->items[2]->s;   /* shared with the key string object */
    s->numel = pid->items[4]->i;
    if (s->numel < 0) return perr(u, "negative storage size");
    return push(u, s);
}

static lmt_status read_string(unpickler *u, size_t n, pk_kind kind) {
    LMT_TRY(need(u, n));
    pk_obj *o = new_obj(u, kind);
    if (!o || !(o->s = lmt_strndup((const char *)u->p, n))) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling", u->src);
    o->slen = n;
    u->p += n;
    return push(u, o);
}

static lmt_status run(unpickler *u, pk_obj **result) {
    for (;;) {
        LMT_TRY(need(u, 1));
        unsigned char op = *u->p++;
        pk_obj *a = NULL, *b = NULL, *c = NULL;
        size_t m;
        switch (op) {
        case 0x80: LMT_TRY(need(u, 1)); if (*u->p < 2 || *u->p > 5) return perr(u, "unsupported pickle protocol"); u->p++; break;
        case 0x95: LMT_TRY(need(u, 8)); u->p += 8; break;                         /* FRAME */
        case '}': LMT_TRY(push(u, new_obj(u, PK_DICT))); break;                      /* EMPTY_DICT */
        case ']': LMT_TRY(push(u, new_obj(u, PK_LIST))); break;                      /* EMPTY_LIST */
        case ')': LMT_TRY(push(u, new_obj(u, PK_TUPLE))); break;                     /* EMPTY_TUPLE */
        case '(': LMT_TRY(push(u, new_obj(u, PK_MARK))); break;
        case 'N': LMT_TRY(push(u, new_obj(u, PK_NONE))); break;
        case 0x88: case 0x89:
            if (!(a = new_obj(u, PK_BOOL))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            a->i = op == 0x88;
            LMT_TRY(push(u, a));
            break;
        case 'J': case 'K': case 'M': {
            int n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            LMT_TRY(need(u, (size_t)n));
            if (!(a = new_obj(u, PK_INT))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            uint64_t v = rdle(u->p, n);
            a->i = op == 'J' ? (int64_t)(int32_t)v : (int64_t)v;
            u->p += n;
            LMT_TRY(push(u, a));
            break;
        }
        case 0x8a: {                                                                 /* LONG1 */
            LMT_TRY(need(u, 1));
            size_t n = *u->p++;
            LMT_TRY(need(u, n));
            if (n > 8) return perr(u, "integer too large");
            if (!(a = new_obj(u, PK_INT))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            uint64_t v = n ? rdle(u->p, (int)n) : 0;
            if (n && n < 8 && (u->p[n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * n);  /* sign-extend */
            a->i = (int64_t)v;
            u->p += n;
            LMT_TRY(push(u, a));
            break;
        }
        case 'G':                                                                    /* BINFLOAT */
            LMT_TRY(need(u, 8));
            if (!(a = new_obj(u, PK_FLOAT))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            u->p += 8;
            LMT_TRY(push(u, a));
            break;
        case 'X': LMT_TRY(need(u, 4)); m = (size_t)rdle(u->p, 4); u->p += 4; LMT_TRY(read_string(u, m, PK_STR)); break;
        case 0x8c: case 'U': LMT_TRY(need(u, 1)); m = *u->p++; LMT_TRY(read_string(u, m, PK_STR)); break;
        case 'T': LMT_TRY(need(u, 4)); m = (size_t)rdle(u->p, 4); u->p += 4; LMT_TRY(read_string(u, m, PK_STR)); break;
        case 'c': {                                                                  /* GLOBAL "mod\nname\n" */
            const unsigned char *nl1 = memchr(u->p, '\n', (size_t)(u->end - u->p));
            if (!nl1) return perr(u, "truncated GLOBAL");
            const unsigned char *nl2 = memchr(nl1 + 1, '\n', (size_t)(u->end - nl1 - 1));
            if (!nl2) return perr(u, "truncated GLOBAL");
            LMT_TRY(make_global(u, (const char *)u->p, (size_t)(nl1 - u->p), (const char *)nl1 + 1, (size_t)(nl2 - nl1 - 1)));
            u->p = nl2 + 1;
            break;
        }
        case 0x93:                                                                   /* STACK_GLOBAL */
            LMT_TRY(pop(u, &b));
            LMT_TRY(pop(u, &a));
            if (a->kind != PK_STR || b->kind != PK_STR) return perr(u, "STACK_GLOBAL needs two strings");
            LMT_TRY(make_global(u, a->s, a->slen, b->s, b->slen));
            break;
        case 'q': LMT_TRY(need(u, 1)); if (u->sp == 0) return perr(u, "BINPUT on empty stack"); LMT_TRY(memo_put(u, *u->p, u->stack[u->sp - 1])); u->p++; break;
        case 'r': LMT_TRY(need(u, 4)); if (u->sp == 0) return perr(u, "BINPUT on empty stack"); LMT_TRY(memo_put(u, rdle(u->p, 4), u->stack[u->sp - 1])); u->p += 4; break;
        case 0x94: if (u->sp == 0) return perr(u, "MEMOIZE on empty stack"); {
                size_t idx = 0;
                while (idx < u->memo_cap && u->memo[idx]) idx++;
                LMT_TRY(memo_put(u, idx, u->stack[u->sp - 1]));
            }
            break;
        case 'h': case 'j': {
            int n = op == 'h' ? 1 : 4;
            LMT_TRY(need(u, (size_t)n));
            uint64_t idx = rdle(u->p, n);
            u->p += n;
            if (idx >= u->memo_cap || !u->memo[idx]) return perr(u, "BINGET of an unknown memo entry");
            LMT_TRY(push(u, u->memo[idx]));
            break;
        }
        case 't': case 'l': {                                                        /* TUPLE, LIST from MARK */
            size_t at = 0;
            LMT_TRY(find_mark(u, &at));
            if (!(c = new_obj(u, op == 't' ? PK_TUPLE : PK_LIST))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            for (size_t i = at + 1; i < u->sp; i++) LMT_TRY(add_item(u, c, u->stack[i]));
            u->sp = at;
            LMT_TRY(push(u, c));
            break;
        }
        case 0x85: case 0x86: case 0x87: {
            size_t n = (size_t)(op - 0x84);
            if (!(c = new_obj(u, PK_TUPLE))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            if (u->sp < n) return perr(u, "stack underflow");
            for (size_t i = u->sp - n; i < u->sp; i++) {
                if (u->stack[i]->kind == PK_MARK) return perr(u, "unexpected MARK");
                LMT_TRY(add_item(u, c, u->stack[i]));
            }
            u->sp -= n;
            LMT_TRY(push(u, c));
            break;
        }
        case 'a':                                                                    /* APPEND */
            LMT_TRY(pop(u, &b));
            LMT_TRY(pop(u, &a));
            if (a->kind != PK_LIST) return perr(u, "APPEND to a non-list");
            LMT_TRY(add_item(u, a, b));
            LMT_TRY(push(u, a));
            break;
        case 'e': {                                                                  /* APPENDS */
            size_t at = 0;
            LMT_TRY(find_mark(u, &at));
            if (at == 0 || u->stack[at - 1]->kind != PK_LIST) return perr(u, "APPENDS to a non-list");
            for (size_t i = at + 1; i < u->sp; i++) LMT_TRY(add_item(u, u->stack[at - 1], u->stack[i]));
            u->sp = at;
            break;
        }
        case 's':                                                                    /* SETITEM */
            LMT_TRY(pop(u, &b));
            LMT_TRY(pop(u, &a));
            if (u->sp == 0 || u->stack[u->sp - 1]->kind != PK_DICT) return perr(u, "SETITEM on a non-dict");
            LMT_TRY(add_item(u, u->stack[u->sp - 1], a));
            LMT_TRY(add_item(u, u->stack[u->sp - 1], b));
            break;
        case 'u': {                                                                  /* SETITEMS */
            size_t at = 0;
            LMT_TRY(find_mark(u, &at));
            if (at == 0 || u->stack[at - 1]->kind != PK_DICT || (u->sp - at - 1) % 2) return perr(u, "SETITEMS on a non-dict");
            for (size_t i = at + 1; i < u->sp; i++) LMT_TRY(add_item(u, u->stack[at - 1], u->stack[i]));
            u->sp = at;
            break;
        }
        case 'Q':                                                                    /* BINPERSID */
            LMT_TRY(pop(u, &a));
            LMT_TRY(persistent_load(u, a));
            break;
        case 'R':                                                                    /* REDUCE */
            LMT_TRY(pop(u, &b));
            LMT_TRY(pop(u, &a));
            LMT_TRY(reduce(u, a, b));
            break;
        case 'b':                                                                    /* BUILD: state ignored */
            LMT_TRY(pop(u, &b));
            if (u->sp == 0) return perr(u, "BUILD on empty stack");
            a = u->stack[u->sp - 1];
            if (a->kind != PK_DICT && a->kind != PK_TENSOR) return perr(u, "BUILD on an unsupported object");
            break;
        case '.':
            LMT_TRY(pop(u, result));
            return LMT_OK;
        default: {
            char msg[96];
            u->p--;
            snprintf(msg, sizeof msg, "opcode 0x%02x is outside the subset torch.save(state_dict) uses", op);
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: pickle byte %zu: %s", u->src, (size_t)(u->p - u->start), msg);
        }
        }
    }
}

lmt_status lmt_pickle_load_state_dict(const unsigned char *data, size_t len, const char *source, lmt_pickle_state_dict *out) {
    memset(out, 0, sizeof *out);
    unpickler u = {data, data + len, data, source, NULL, 0, NULL, 0, 0, NULL, 0};
    pk_obj *root = NULL;
    lmt_status s = run(&u, &root);
    if (s == LMT_OK && root->kind != PK_DICT) s = lmt_fail(LMT_ERR_FORMAT, "%s: the pickle does not hold a dict of tensors", source);
    if (s == LMT_OK) {
        out->tensors = calloc(root->n / 2 + 1, sizeof *out->tensors);
        if (!out->tensors) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source);
    }
    for (size_t i = 0; s == LMT_OK && i + 1 < root->n; i += 2) {
        pk_obj *k = root->items[i], *v = root->items[i + 1];
        if (k->kind != PK_STR) { s = lmt_fail(LMT_ERR_FORMAT, "%s: state dict key is not a string", source); break; }
        if (v->kind != PK_TENSOR) continue;   /* e.g. nested non-tensor entries */
        lmt_pickle_tensor *t = &out->tensors[out->n];
        t->name = lmt_strndup(k->s, k->slen);
        t->storage_key = lmt_strdup(v->storage->s);
        if (!t->name || !t->storage_key) { free(t->name); free(t->storage_key); s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source); break; }
        out->n++;
        t->dtype = v->dtype;
        t->storage_numel = v->storage->numel;
        t->offset = v->offset;
        t->ndim = v->ndim;
        memcpy(t->size, v->size, sizeof t->size);
        memcpy(t->stride, v->stride, sizeof t->stride);
    }
    while (u.allocs) {
        pk_obj *n = u.allocs->next_alloc;
        if (u.allocs->kind != PK_STORAGE) free(u.allocs->s);
        free(u.allocs->items);
        free(u.allocs);
        u.allocs = n;
    }
    free(u.stack);
    free(u.memo);
    if (s != LMT_OK) lmt_pickle_state_dict_free(out);
    return s;
}

void lmt_pickle_state_dict_free(lmt_pickle_state_dict *sd) {
    for (size_t i = 0; i < sd->n; i++) { free(sd->tensors[i].name); free(sd->tensors[i].storage_key); }
    free(sd->tensors);
    memset(sd, 0, sizeof *sd);
}
