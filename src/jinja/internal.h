/* The Jinja interpreter's insides: arena, values, tokens, AST, evaluator. */
#ifndef LMT_JINJA_INTERNAL_H
#define LMT_JINJA_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/util.h"

/* ---- arena (arena.c): everything of one template or one render ---- */
typedef struct jarena_chunk jarena_chunk;
/* limit: bytes the chunks may take in all (0: no limit); past it ja_alloc
 * fails as out of memory with `over` set */
typedef struct jarena { jarena_chunk *head; bool oom, over; size_t taken, limit; } jarena;
void *ja_alloc(jarena *a, size_t n);          /* zeroed; NULL (and a->oom) when out of memory */
char *ja_strndup(jarena *a, const char *s, size_t n);
void ja_free(jarena *a);

/* a growable array of pointers (malloc'd; copied into the arena when done) */
typedef struct jvec { void **p; size_t n, cap; } jvec;
bool jvec_push(jvec *v, void *x);
void **jvec_finish(jvec *v, jarena *a, size_t *n);   /* arena copy; frees v */

/* ---- values (value.c) ---- */
typedef enum { JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_TUPLE, JV_DICT, JV_NS, JV_FUNC } jv_type;
typedef enum { JF_BUILTIN, JF_METHOD, JF_MACRO } jf_kind;
typedef struct jv jv;
struct jnode;
struct jv {
    jv_type t;
    bool b;
    int64_t i;
    double f;
    const char *s;        /* STR (NUL-terminated); UNDEF: the missing name; FUNC: its name */
    size_t len;
    jv **items;           /* LIST/TUPLE items; DICT/NS values */
    jv **keys;            /* DICT/NS keys */
    size_t n, cap;
    jf_kind fk;
    jv *self;             /* METHOD: the object */
    const struct jnode *macro;
};
jv *jv_new(jarena *a, jv_type t);
jv *jv_str(jarena *a, const char *s, size_t len);   /* copies */
jv *jv_cstr(jarena *a, const char *s);
jv *jv_int(jarena *a, int64_t i);
jv *jv_float(jarena *a, double f);
jv *jv_bool(bool b);
jv *jv_none(void);
jv *jv_undef(jarena *a, const char *name);
bool jv_push(jarena *a, jv *list, jv *x);
jv *jv_dict_get(const jv *d, const char *key, size_t klen);   /* NULL when absent */
bool jv_dict_set(jarena *a, jv *d, jv *key, jv *val);
bool jv_truthy(const jv *v);
bool jv_equal(const jv *a, const jv *b);
/* <0, 0, >0; false when the types do not compare (Python TypeError) */
bool jv_compare(const jv *a, const jv *b, int *out);
void jv_to_str(lmt_strbuf *b, const jv *v);          /* Python str() */
void jv_repr(lmt_strbuf *b, const jv *v);            /* Python repr() */
/* json.dumps(v, ensure_ascii=ascii, indent=indent (<0: None), sort_keys); false on a value JSON cannot hold */
bool jv_to_json(lmt_strbuf *b, const jv *v, int indent, bool sort_keys, bool ascii, int level);
const char *jv_type_name(const jv *v);
/* true (once) when a walk above stopped at a value nested too deeply or holding itself */
bool jv_walk_overflowed(void);
size_t utf8_count(const char *s, size_t len);               /* code points */
size_t utf8_offset(const char *s, size_t len, size_t cp);   /* byte offset of code point cp (len if past) */
bool py_isspace(const char *s, size_t len, size_t *n);      /* is the code point at s whitespace; *n its bytes */

/* ---- tokens (lexer.c) ---- */
typedef enum { T_TEXT, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END, T_NAME, T_STRING, T_INT,
               T_FLOAT, T_OP, T_EOF } jtok_type;
typedef struct jtok {
    jtok_type t;
    const char *s;        /* TEXT, NAME, STRING (unescaped), OP */
    size_t len;
    int64_t i;
    double f;
    int line, col;
} jtok;
/* Tokenises with trim_blocks and lstrip_blocks; fails naming source:line:col. */
lmt_status jinja_lex(const char *src, size_t len, const char *source, jarena *a, jtok **toks, size_t *n);

/* ---- AST (parser.c) ---- */
typedef enum {
    N_STR, N_INT, N_FLOAT, N_BOOL, N_NONE, N_NAME, N_LIST, N_TUPLE, N_DICT, N_GETATTR, N_GETITEM, N_SLICE,
    N_CALL, N_FILTER, N_TEST, N_BINOP, N_NEG, N_POS, N_AND, N_OR, N_NOT, N_COND, N_COMPARE,
    N_TEXT, N_OUTPUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_BREAK, N_CONTINUE, N_BODY, N_GENERATION
} jnode_kind;
typedef struct jnode jnode;
struct jnode {
    jnode_kind k;
    int line, col;
    const char *s;        /* literal / name / attribute / filter / test / operator */
    size_t len;
    int64_t i;            /* INT, BOOL; TEST: negated */
    double f;
    jnode *a, *b, *c;
    jnode **list;         /* args, items, body, dict keys, compare operands */
    size_t n;
    jnode **list2;        /* kwarg values, dict values, else body, macro defaults */
    size_t n2;
    const char **names;   /* kwarg names, for/set targets, macro params, compare ops */
    size_t nnames;
};
lmt_status jinja_parse(const jtok *toks, size_t n, const char *source, jarena *a, jnode **root);

/* ---- evaluation (eval.c, filters.c, methods.c) ---- */
typedef struct jframe { struct jframe *parent; jv *vars; } jframe;
typedef struct jev {
    jarena *a;
    const char *source;
    int line, col;        /* where the current operation is, for errors */
    jframe *root;
    int loopctl;          /* 1 break, 2 continue */
    int depth;            /* macro calls in progress */
    int edepth;           /* expressions being evaluated */
    int64_t iterations;   /* loop iterations so far in the render (bounded) */
    /* {% generation %} tracking (AssistantTracker): the top-level output and
     * the byte spans [start, end) its generation blocks rendered into it */
    const lmt_strbuf *out;
    size_t *spans, n_spans, cap_spans;
} jev;
/* out of memory, or past the render's bound on values: the error naming the template */
lmt_status jinja_oom(jev *e);
/* sets the error at e's position; returns LMT_ERR_FORMAT */
lmt_status jerr(jev *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
lmt_status jinja_call(jev *e, jv *fn, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw, jv **out);
lmt_status jinja_filter(jev *e, const char *name, jv *v, jv **args, size_t nargs, const char **kwn, jv **kwv,
                        size_t nkw, jv **out);
lmt_status jinja_test(jev *e, const char *name, jv *v, jv **args, size_t nargs, bool *out);
lmt_status jinja_getattr(jev *e, jv *obj, const char *name, size_t len, jv **out);
lmt_status jinja_getitem(jev *e, jv *obj, jv *key, jv **out);
lmt_status jinja_method(jev *e, jv *self, const char *name, jv **args, size_t nargs, const char **kwn,
                        jv **kwv, size_t nkw, jv **out);
/* Python's fmt % args (%s %r %d %i %x %f %e %g, flags, width, precision) */
lmt_status jinja_percent_format(jev *e, const jv *fmt, jv **args, size_t nargs, jv **out);
lmt_status jinja_undefined_error(jev *e, const jv *u);
lmt_status jinja_str_case(jev *e, const jv *s, int mode, jv **out);   /* 0 lower 1 upper 2 title 3 capitalize */
lmt_status jinja_replace(jev *e, jv *s, jv *old, jv *new_, int64_t count, jv **out);
bool jinja_is_method(const jv *obj, const char *name);
lmt_status jinja_global(jev *e, const char *name, jv **args, size_t nargs, const char **kwn, jv **kwv,
                        size_t nkw, jv **out);
/* list(v) as Python iterates it (dict: keys; str: characters); false when not iterable */
bool jinja_iter(jev *e, jv *v, jv **out);
lmt_status jinja_call_macro(jev *e, jv *fn, jv **args, size_t nargs, const char **kwn, jv **kwv, size_t nkw,
                            jv **out);
#endif
