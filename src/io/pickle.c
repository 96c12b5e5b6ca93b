/* Restricted unpickler for torch.save(state_dict): a stack machine over
 * plain values only. Globals are looked up in an allow-list and become
 * inert markers; REDUCE knows what the few allowed ones build. Nothing is
 * imported, called or executed, whatever the bytes say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/pickle.h"

typedef enum { PK_MARK, PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_TUPLE, PK_LIST, PK_DICT, PK_GLOBAL,
               PK_STORAGE, PK_TENSOR } pk_kind;

typedef struct pk_obj pk_obj;
typedef struct {              /* STORAGE and TENSOR details */
    lmt_dtype dtype;
    const char *key;          /* STORAGE: archive member data/<key> (owned by a STR) */
    int64_t numel;            /* STORAGE: elements */
    pk_obj *storage;          /* TENSOR */
    int64_t offset;
    int ndim;
    int64_t size[LMT_MAX_DIMS], stride[LMT_MAX_DIMS];
} pk_ext;

struct pk_obj {
    pk_kind kind;
    int64_t i;                /* BOOL, INT */
    char *s;                  /* STR, GLOBAL ("module.name"); owned */
    size_t slen;
    pk_obj **items;           /* TUPLE, LIST; DICT as key, value, key, value */
    size_t n, cap;
    pk_ext *ext;
};

/* Objects come from an arena of blocks: one free walk, no per-object list. */
#define BLOCK 1024
typedef struct pk_block { struct pk_block *next; size_t used; pk_obj objs[BLOCK]; } pk_block;

typedef struct {
    const unsigned char *p, *end, *start;
    const char *src;
    pk_block *blocks;
    size_t n_objs;
    pk_obj **stack;
    size_t sp, stack_cap;
    pk_obj **memo;
    size_t memo_cap, memo_len;  /* memo_len: entries set, the index MEMOIZE uses */
} unpickler;

#define MAX_OBJECTS (16u << 20)

static const struct { unsigned char op; const char *name; } opcode_names[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"},
    {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"},
    {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"},
    {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
    {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"}, {'j', "LONG_BINGET"},
    {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"}, {'q', "BINPUT"}, {'r', "LONG_BINPUT"},
    {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"},
    {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"},
    {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"},
    {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"},
    {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"},
    {0x98, "READONLY_BUFFER"}};

static const char *opcode_name(unsigned char op) {
    for (size_t i = 0; i < sizeof opcode_names / sizeof *opcode_names; i++)
        if (opcode_names[i].op == op) return opcode_names[i].name;
    return "unknown opcode";
}

static size_t at(const unsigned char *p, const unsigned char *start) { return (size_t)(p - start); }

static lmt_status perr(unpickler *u, const char *what) {
    return lmt_fail(LMT_ERR_FORMAT, "%s: data.pkl byte %zu: %s", u->src, at(u->p, u->start), what);
}

static lmt_status oom(unpickler *u) { return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory unpickling data.pkl", u->src); }

static pk_obj *new_obj(unpickler *u, pk_kind k) {
    if (u->n_objs >= MAX_OBJECTS) return NULL;
    if (!u->blocks || u->blocks->used == BLOCK) {
        pk_block *b = calloc(1, sizeof *b);
        if (!b) return NULL;
        b->next = u->blocks;
        u->blocks = b;
    }
    pk_obj *o = &u->blocks->objs[u->blocks->used++];
    u->n_objs++;
    o->kind = k;
    return o;
}

static pk_obj *new_ext(unpickler *u, pk_kind k) {
    pk_obj *o = new_obj(u, k);
    if (o && !(o->ext = calloc(1, sizeof *o->ext))) return NULL;
    return o;
}

static void free_all(unpickler *u) {
    while (u->blocks) {
        pk_block *b = u->blocks;
        for (size_t i = 0; i < b->used; i++) {
            free(b->objs[i].s);
            free(b->objs[i].items);
            free(b->objs[i].ext);
        }
        u->blocks = b->next;
        free(b);
    }
    free(u->stack);
    free(u->memo);
}

static lmt_status push(unpickler *u, pk_obj *o) {
    if (!o) return u->n_objs >= MAX_OBJECTS ? perr(u, "too many objects for a state dict") : oom(u);
    if (u->sp == u->stack_cap) {
        size_t nc = u->stack_cap ? u->stack_cap * 2 : 64;
        pk_obj **ns = realloc(u->stack, nc * sizeof *ns);
        if (!ns) return oom(u);
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

static lmt_status top(unpickler *u, pk_obj **o) {
    if (u->sp == 0 || u->stack[u->sp - 1]->kind == PK_MARK) return perr(u, "nothing on the stack");
    *o = u->stack[u->sp - 1];
    return LMT_OK;
}

/* Stack index of the topmost MARK. */
static lmt_status find_mark(unpickler *u, size_t *mark) {
    for (size_t i = u->sp; i-- > 0;)
        if (u->stack[i]->kind == PK_MARK) { *mark = i; return LMT_OK; }
    return perr(u, "no MARK on the stack");
}

static lmt_status add_item(unpickler *u, pk_obj *c, pk_obj *v) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        pk_obj **ni = realloc(c->items, nc * sizeof *ni);
        if (!ni) return oom(u);
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->n++] = v;
    return LMT_OK;
}

static lmt_status need(unpickler *u, size_t n) {
    if ((size_t)(u->end - u->p) < n) return perr(u, "truncated");
    return LMT_OK;
}

static uint64_t rdle(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

static lmt_status memo_put(unpickler *u, uint64_t idx) {
    pk_obj *o = NULL;
    LMT_TRY(top(u, &o));
    /* picklers number memo entries from 0, one per PUT, so an index past the
     * pickle's own length is forged; refusing it bounds the table by the input */
    if (idx > (uint64_t)(u->end - u->start)) return perr(u, "memo index out of range");
    if (idx >= u->memo_cap) {
        size_t nc = u->memo_cap ? u->memo_cap : 64;
        while (nc <= idx) nc *= 2;
        pk_obj **nm = realloc(u->memo, nc * sizeof *nm);
        if (!nm) return oom(u);
        memset(nm + u->memo_cap, 0, (nc - u->memo_cap) * sizeof *nm);
        u->memo = nm;
        u->memo_cap = nc;
    }
    if (!u->memo[idx]) u->memo_len++;
    u->memo[idx] = o;
    return LMT_OK;
}

static lmt_status memo_get(unpickler *u, uint64_t idx) {
    if (idx >= u->memo_cap || !u->memo[idx]) return perr(u, "BINGET of an unset memo entry");
    return push(u, u->memo[idx]);
}

static const struct { const char *name; lmt_dtype t; } storage_types[] = {
    {"torch.FloatStorage", LMT_F32}, {"torch.HalfStorage", LMT_F16}, {"torch.BFloat16Storage", LMT_BF16},
    {"torch.DoubleStorage", LMT_F64}, {"torch.LongStorage", LMT_I64}, {"torch.IntStorage", LMT_I32},
    {"torch.ShortStorage", LMT_I16}, {"torch.CharStorage", LMT_I8}, {"torch.ByteStorage", LMT_U8},
    {"torch.BoolStorage", LMT_BOOL}};

static int storage_type(const char *g) {
    for (size_t i = 0; i < sizeof storage_types / sizeof *storage_types; i++)
        if (!strcmp(g, storage_types[i].name)) return (int)i;
    return -1;
}

static bool allowed_global(const char *g) {
    return !strcmp(g, "collections.OrderedDict") || !strcmp(g, "torch._utils._rebuild_tensor_v2") ||
           !strcmp(g, "torch._utils._rebuild_parameter") || storage_type(g) >= 0;
}

/* For messages: at most 80 bytes, anything unprintable as '?'. */
static void printable(char *dst, const char *s, size_t n) {
    size_t k = n < 80 ? n : 80;
    for (size_t i = 0; i < k; i++) dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[k] = '\0';
}

static lmt_status make_global(unpickler *u, const char *mod, size_t ml, const char *name, size_t nl) {
    pk_obj *o = new_obj(u, PK_GLOBAL);
    if (!o || !(o->s = malloc(ml + nl + 2))) return o ? oom(u) : push(u, NULL);
    memcpy(o->s, mod, ml);
    o->s[ml] = '.';
    memcpy(o->s + ml + 1, name, nl);
    o->s[ml + nl + 1] = '\0';
    o->slen = ml + nl + 1;
    if (strlen(o->s) != o->slen || !allowed_global(o->s)) {
        char m[81], n[81];
        printable(m, mod, ml);
        printable(n, name, nl);
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: data.pkl byte %zu: refers to %s.%s, which is not allowed in a state dict "
                                             "(only tensors, storages and OrderedDict are unpickled; nothing is executed)",
                        u->src, at(u->p, u->start), m, n);
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
    if (fn->kind != PK_GLOBAL || args->kind != PK_TUPLE) return perr(u, "REDUCE of something that is not an allowed global");
    if (!strcmp(fn->s, "collections.OrderedDict")) {
        if (args->n != 0) return perr(u, "OrderedDict with arguments");
        return push(u, new_obj(u, PK_DICT));
    }
    if (!strcmp(fn->s, "torch._utils._rebuild_parameter")) {   /* (data, requires_grad, backward_hooks) */
        if (args->n < 1 || args->items[0]->kind != PK_TENSOR) return perr(u, "bad _rebuild_parameter arguments");
        return push(u, args->items[0]);
    }
    if (!strcmp(fn->s, "torch._utils._rebuild_tensor_v2")) {
        /* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
        if (args->n < 4 || args->items[0]->kind != PK_STORAGE || args->items[1]->kind != PK_INT)
            return perr(u, "bad _rebuild_tensor_v2 arguments");
        pk_obj *t = new_ext(u, PK_TENSOR);
        if (!t) return push(u, NULL);
        t->ext->storage = args->items[0];
        t->ext->dtype = args->items[0]->ext->dtype;
        t->ext->offset = args->items[1]->i;
        int ns, nt;
        if (!int_tuple(args->items[2], t->ext->size, &ns) || !int_tuple(args->items[3], t->ext->stride, &nt) || ns != nt)
            return perr(u, "tensor size and stride must be tuples of the same length (at most 8) of integers");
        t->ext->ndim = ns;
        return push(u, t);
    }
    return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: data.pkl byte %zu: calling %s is not supported", u->src, at(u->p, u->start), fn->s);
}

/* BINPERSID: ('storage', torch.<T>Storage, key, location, numel). */
static lmt_status persistent_load(unpickler *u, pk_obj *pid) {
    if (pid->kind != PK_TUPLE || pid->n != 5 || pid->items[0]->kind != PK_STR || strcmp(pid->items[0]->s, "storage") ||
        pid->items[1]->kind != PK_GLOBAL || pid->items[2]->kind != PK_STR || pid->items[4]->kind != PK_INT)
        return perr(u, "persistent id is not a torch storage reference");
    int st = storage_type(pid->items[1]->s);
    if (st < 0) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: data.pkl: storage type %s is not supported", u->src, pid->items[1]->s);
    if (pid->items[4]->i < 0) return perr(u, "negative storage size");
    if (strlen(pid->items[2]->s) != pid->items[2]->slen || strchr(pid->items[2]->s, '/'))
        return perr(u, "malformed storage key");
    pk_obj *s = new_ext(u, PK_STORAGE);
    if (!s) return push(u, NULL);
    s->ext->dtype = storage_types[st].t;
    s->ext->key = pid->items[2]->s;
    s->ext->numel = pid->items[4]->i;
    return push(u, s);
}

static lmt_status read_string(unpickler *u, uint64_t n) {
    LMT_TRY(need(u, (size_t)n < n ? SIZE_MAX : (size_t)n));
    pk_obj *o = new_obj(u, PK_STR);
    if (!o) return push(u, NULL);
    if (!(o->s = lmt_strndup((const char *)u->p, (size_t)n))) return oom(u);
    o->slen = (size_t)n;
    u->p += n;
    return push(u, o);
}

static lmt_status read_int(unpickler *u, unsigned char op) {
    size_t n = op == 'J' ? 4 : op == 'K' ? 1 : op == 'M' ? 2 : 0;
    if (op == 0x8a) {   /* LONG1: length byte, little-endian two's complement */
        LMT_TRY(need(u, 1));
        n = *u->p++;
        if (n > 8) return perr(u, "integer too large");
    }
    LMT_TRY(need(u, n));
    uint64_t v = rdle(u->p, n);
    int64_t x;
    if (op == 'J') x = (int32_t)(uint32_t)v;
    else if (op == 0x8a && n > 0 && n < 8 && (u->p[n - 1] & 0x80)) x = (int64_t)(v | (~(uint64_t)0 << (8 * n)));
    else x = (int64_t)v;
    u->p += n;
    pk_obj *o = new_obj(u, PK_INT);
    if (o) o->i = x;
    return push(u, o);
}

/* TUPLE / LIST from the items above the topmost MARK. */
static lmt_status collect(unpickler *u, pk_kind kind) {
    size_t mark = 0;
    LMT_TRY(find_mark(u, &mark));
    pk_obj *c = new_obj(u, kind);
    if (!c) return push(u, NULL);
    for (size_t i = mark + 1; i < u->sp; i++) LMT_TRY(add_item(u, c, u->stack[i]));
    u->sp = mark;
    return push(u, c);
}

/* APPENDS / SETITEMS: items above the MARK go into the container below it. */
static lmt_status extend(unpickler *u, pk_kind kind) {
    size_t mark = 0;
    LMT_TRY(find_mark(u, &mark));
    if (mark == 0 || u->stack[mark - 1]->kind != kind || (kind == PK_DICT && (u->sp - mark - 1) % 2))
        return perr(u, kind == PK_DICT ? "SETITEMS without a dict and key-value pairs" : "APPENDS to something not a list");
    for (size_t i = mark + 1; i < u->sp; i++) {
        if (u->stack[i]->kind == PK_MARK) return perr(u, "unexpected MARK");
        LMT_TRY(add_item(u, u->stack[mark - 1], u->stack[i]));
    }
    u->sp = mark;
    return LMT_OK;
}

static lmt_status step(unpickler *u, unsigned char op, bool *done, pk_obj **result) {
    pk_obj *a = NULL, *b = NULL, *c = NULL;
    switch (op) {
    case 0x80:   /* PROTO */
        LMT_TRY(need(u, 1));
        if (*u->p < 2 || *u->p > 5) return perr(u, "unsupported pickle protocol");
        u->p++;
        return LMT_OK;
    case 0x95: LMT_TRY(need(u, 8)); u->p += 8; return LMT_OK;   /* FRAME: framing only */
    case '}': return push(u, new_obj(u, PK_DICT));
    case ']': return push(u, new_obj(u, PK_LIST));
    case ')': return push(u, new_obj(u, PK_TUPLE));
    case '(': return push(u, new_obj(u, PK_MARK));
    case 'N': return push(u, new_obj(u, PK_NONE));
    case 0x88: case 0x89:
        if ((a = new_obj(u, PK_BOOL))) a->i = op == 0x88;
        return push(u, a);
    case 'J': case 'K': case 'M': case 0x8a: return read_int(u, op);
    case 'G':    /* BINFLOAT: value unused by state dicts */
        LMT_TRY(need(u, 8));
        u->p += 8;
        return push(u, new_obj(u, PK_FLOAT));
    case 'X': case 'T': LMT_TRY(need(u, 4)); u->p += 4; return read_string(u, rdle(u->p - 4, 4));
    case 0x8c: case 'U': LMT_TRY(need(u, 1)); u->p += 1; return read_string(u, u->p[-1]);
    case 'c': {  /* GLOBAL "module\nname\n" */
        const unsigned char *nl1 = memchr(u->p, '\n', (size_t)(u->end - u->p));
        const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(u->end - nl1 - 1)) : NULL;
        if (!nl2) return perr(u, "truncated GLOBAL");
        const unsigned char *mod = u->p;
        u->p = nl2 + 1;
        return make_global(u, (const char *)mod, (size_t)(nl1 - mod), (const char *)nl1 + 1, (size_t)(nl2 - nl1 - 1));
    }
    case 0x93:   /* STACK_GLOBAL */
        LMT_TRY(pop(u, &b));
        LMT_TRY(pop(u, &a));
        if (a->kind != PK_STR || b->kind != PK_STR) return perr(u, "STACK_GLOBAL needs two strings");
        return make_global(u, a->s, a->slen, b->s, b->slen);
    case 'q': LMT_TRY(need(u, 1)); u->p += 1; return memo_put(u, u->p[-1]);
    case 'r': LMT_TRY(need(u, 4)); u->p += 4; return memo_put(u, rdle(u->p - 4, 4));
    case 0x94: return memo_put(u, u->memo_len);   /* MEMOIZE: index = len(memo) */
    case 'h': LMT_TRY(need(u, 1)); u->p += 1; return memo_get(u, u->p[-1]);
    case 'j': LMT_TRY(need(u, 4)); u->p += 4; return memo_get(u, rdle(u->p - 4, 4));
    case 't': return collect(u, PK_TUPLE);
    case 'l': return collect(u, PK_LIST);
    case 0x85: case 0x86: case 0x87: {   /* TUPLE1..3 */
        size_t n = (size_t)(op - 0x84);
        if (u->sp < n) return perr(u, "stack underflow");
        if (!(c = new_obj(u, PK_TUPLE))) return push(u, NULL);
        for (size_t i = u->sp - n; i < u->sp; i++) {
            if (u->stack[i]->kind == PK_MARK) return perr(u, "unexpected MARK");
            LMT_TRY(add_item(u, c, u->stack[i]));
        }
        u->sp -= n;
        return push(u, c);
    }
    case 'a':    /* APPEND */
        LMT_TRY(pop(u, &b));
        LMT_TRY(top(u, &a));
        if (a->kind != PK_LIST) return perr(u, "APPEND to something not a list");
        return add_item(u, a, b);
    case 'e': return extend(u, PK_LIST);
    case 's':    /* SETITEM */
        LMT_TRY(pop(u, &b));
        LMT_TRY(pop(u, &a));
        LMT_TRY(top(u, &c));
        if (c->kind != PK_DICT) return perr(u, "SETITEM on something not a dict");
        LMT_TRY(add_item(u, c, a));
        return add_item(u, c, b);
    case 'u': return extend(u, PK_DICT);
    case 'Q':    /* BINPERSID */
        LMT_TRY(pop(u, &a));
        return persistent_load(u, a);
    case 'R':
        LMT_TRY(pop(u, &b));
        LMT_TRY(pop(u, &a));
        return reduce(u, a, b);
    case 'b':    /* BUILD: the state (an OrderedDict's _metadata, a tensor's hooks) is not needed */
        LMT_TRY(pop(u, &b));
        LMT_TRY(top(u, &a));
        if (a->kind != PK_DICT && a->kind != PK_TENSOR) return perr(u, "BUILD of an object that is not a dict or tensor");
        return LMT_OK;
    case '.':
        LMT_TRY(pop(u, result));
        *done = true;
        return LMT_OK;
    default:
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: data.pkl byte %zu: pickle opcode %s (0x%02x) is outside the subset "
                                             "torch.save(state_dict) uses", u->src, at(u->p - 1, u->start), opcode_name(op), op);
    }
}

static lmt_status to_state_dict(unpickler *u, const pk_obj *root, lmt_pickle_state_dict *out) {
    if (root->kind != PK_DICT) return lmt_fail(LMT_ERR_FORMAT, "%s: data.pkl does not hold a dict of tensors", u->src);
    if (!(out->tensors = calloc(root->n / 2 + 1, sizeof *out->tensors))) return oom(u);
    for (size_t i = 0; i + 1 < root->n; i += 2) {
        const pk_obj *k = root->items[i], *v = root->items[i + 1];
        if (k->kind != PK_STR) return lmt_fail(LMT_ERR_FORMAT, "%s: data.pkl: a state dict key is not a string", u->src);
        if (strlen(k->s) != k->slen) return lmt_fail(LMT_ERR_FORMAT, "%s: data.pkl: key \"%s...\" holds a NUL byte", u->src, k->s);
        if (v->kind != PK_TENSOR) continue;   /* e.g. a nested dict of extra state */
        lmt_pickle_tensor *t = &out->tensors[out->n];
        t->name = lmt_strdup(k->s);
        t->storage_key = lmt_strdup(v->ext->storage->ext->key);
        if (!t->name || !t->storage_key) { free(t->name); free(t->storage_key); return oom(u); }
        out->n++;
        t->dtype = v->ext->dtype;
        t->storage_numel = v->ext->storage->ext->numel;
        t->offset = v->ext->offset;
        t->ndim = v->ext->ndim;
        memcpy(t->size, v->ext->size, sizeof t->size);
        memcpy(t->stride, v->ext->stride, sizeof t->stride);
    }
    return LMT_OK;
}

lmt_status lmt_pickle_load_state_dict(const unsigned char *data, size_t len, const char *source, lmt_pickle_state_dict *out) {
    memset(out, 0, sizeof *out);
    unpickler u = {.p = data, .end = data + len, .start = data, .src = source};
    pk_obj *root = NULL;
    bool done = false;
    lmt_status s = LMT_OK;
    while (s == LMT_OK && !done) {
        s = need(&u, 1);
        if (s == LMT_OK) s = step(&u, *u.p++, &done, &root);
    }
    if (s == LMT_OK) s = to_state_dict(&u, root, out);
    free_all(&u);
    if (s != LMT_OK) lmt_pickle_state_dict_free(out);
    return s;
}

void lmt_pickle_state_dict_free(lmt_pickle_state_dict *sd) {
    for (size_t i = 0; i < sd->n; i++) {
        free(sd->tensors[i].name);
        free(sd->tensors[i].storage_key);
    }
    free(sd->tensors);
    memset(sd, 0, sizeof *sd);
}
