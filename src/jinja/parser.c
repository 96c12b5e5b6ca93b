/* Tokens -> AST, with jinja2's grammar and precedence:
 * cond-expr < or < and < not < compare < + - < ~ < * / // % < ** < unary
 * < postfix (.attr, [item], (call), | filter, is test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jinja/internal.h"
#include "core/error.h"

typedef struct {
    const jtok *t;
    size_t n, i;
    const char *source;
    jarena *a;
    int depth;            /* nesting of expressions and blocks */
} parser;

static const jtok *cur(parser *P) { return &P->t[P->i]; }
static const jtok *peek(parser *P, size_t k) { return &P->t[P->i + k < P->n ? P->i + k : P->n - 1]; }

static lmt_status perr_at(parser *P, const jtok *t, const char *fmt, const char *arg) {
    char what[256];
    snprintf(what, sizeof what, fmt, arg);
    return lmt_fail(LMT_ERR_FORMAT, "%s: line %d, column %d: syntax error: %s", P->source, t->line, t->col, what);
}
static lmt_status perr(parser *P, const char *fmt, const char *arg) { return perr_at(P, cur(P), fmt, arg); }

static bool is_op(const jtok *t, const char *op) { return t->t == T_OP && t->len == strlen(op) && memcmp(t->s, op, t->len) == 0; }
static bool is_name(const jtok *t, const char *nm) { return t->t == T_NAME && t->len == strlen(nm) && memcmp(t->s, nm, t->len) == 0; }
static bool accept_op(parser *P, const char *op) {
    if (!is_op(cur(P), op)) return false;
    P->i++;
    return true;
}
static bool accept_name(parser *P, const char *nm) {
    if (!is_name(cur(P), nm)) return false;
    P->i++;
    return true;
}
static lmt_status expect_op(parser *P, const char *op) {
    if (accept_op(P, op)) return LMT_OK;
    return perr(P, "expected '%s'", op);
}

static jnode *node(parser *P, jnode_kind k, const jtok *at) {
    jnode *n = ja_alloc(P->a, sizeof *n);
    if (!n) return NULL;
    n->k = k;
    n->line = at->line;
    n->col = at->col;
    return n;
}
#define NEW(var, kind, at) do { var = node(P, kind, at); if (!var) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", P->source); } while (0)
#define PUSH(vec, x) do { if (!jvec_push(&(vec), (x))) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", P->source); } while (0)

static lmt_status parse_expr(parser *P, jnode **out);
static lmt_status parse_or(parser *P, jnode **out);
static lmt_status parse_unary(parser *P, bool with_filter, jnode **out);
static lmt_status parse_primary(parser *P, jnode **out);
static lmt_status parse_postfix(parser *P, jnode **inout);

static char *name_of(parser *P, const jtok *t) { return ja_strndup(P->a, t->s, t->len); }

/* (args, kw=args) after '(' was consumed */
static lmt_status parse_args(parser *P, jnode *call) {
    jvec args = {0}, kwv = {0}, kwn = {0};
    lmt_status st = LMT_OK;
    while (!accept_op(P, ")")) {
        if (args.n + kwv.n) {
            if ((st = expect_op(P, ","))) goto out;
            if (accept_op(P, ")")) break;
        }
        jnode *e;
        if (cur(P)->t == T_NAME && is_op(peek(P, 1), "=")) {
            char *nm = name_of(P, cur(P));
            P->i += 2;
            if ((st = parse_expr(P, &e))) goto out;
            if (!nm || !jvec_push(&kwn, nm) || !jvec_push(&kwv, e)) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto out; }
        } else {
            if (kwv.n) { st = perr(P, "%s", "a positional argument after a keyword argument"); goto out; }
            if ((st = parse_expr(P, &e))) goto out;
            if (!jvec_push(&args, e)) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto out; }
        }
        if (cur(P)->t == T_EOF || cur(P)->t == T_VAR_END || cur(P)->t == T_BLOCK_END) { st = perr(P, "%s", "expected ')'"); goto out; }
    }
out:
    if (st) { free(args.p); free(kwv.p); free(kwn.p); return st; }
    call->list = (jnode **)jvec_finish(&args, P->a, &call->n);
    call->list2 = (jnode **)jvec_finish(&kwv, P->a, &call->n2);
    call->names = (const char **)jvec_finish(&kwn, P->a, &call->nnames);
    return LMT_OK;
}

/* a name [(args)] after '|' or 'is' */
static lmt_status parse_filter_or_test(parser *P, jnode *n, bool test) {
    if (cur(P)->t != T_NAME) return perr(P, "%s", test ? "expected a test name after 'is'" : "expected a filter name after '|'");
    const jtok *t = cur(P);
    P->i++;
    size_t len = t->len;
    char buf[256] = {0};
    memcpy(buf, t->s, len < 255 ? len : 255);
    while (is_op(cur(P), ".") && peek(P, 1)->t == T_NAME) {   /* dotted names: filters of extensions */
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, ".%.*s", (int)peek(P, 1)->len, peek(P, 1)->s);
        P->i += 2;
    }
    n->s = ja_strndup(P->a, buf, strlen(buf));
    n->len = strlen(buf);
    n->line = t->line;   /* errors point at the name */
    n->col = t->col;
    if (accept_op(P, "(")) return parse_args(P, n);
    if (test) {
        const jtok *c = cur(P);
        bool starts = c->t == T_NAME || c->t == T_STRING || c->t == T_INT || c->t == T_FLOAT || is_op(c, "(") ||
                      is_op(c, "[") || is_op(c, "{") || is_op(c, "-");
        if (starts && !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and") && !is_name(c, "if") &&
            !is_name(c, "in") && !is_name(c, "not") && !is_name(c, "is")) {
            jnode *arg;
            if (is_op(c, "-")) LMT_TRY(parse_unary(P, false, &arg));
            else {
                LMT_TRY(parse_primary(P, &arg));
                LMT_TRY(parse_postfix(P, &arg));
            }
            n->list = ja_alloc(P->a, sizeof *n->list);
            if (!n->list) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
            n->list[0] = arg;
            n->n = 1;
        }
    }
    return LMT_OK;
}

/* .attr [item] (call) */
static lmt_status parse_postfix(parser *P, jnode **inout) {
    for (;;) {
        const jtok *t = cur(P);
        jnode *n;
        if (is_op(t, ".")) {
            P->i++;
            const jtok *nt = cur(P);
            if (nt->t == T_NAME) {
                NEW(n, N_GETATTR, t);
                n->s = name_of(P, nt);
                n->len = nt->len;
                n->a = *inout;
            } else if (nt->t == T_INT) {
                NEW(n, N_GETITEM, nt);
                n->a = *inout;
                NEW(n->b, N_INT, nt);
                n->b->i = nt->i;
            } else {
                return perr(P, "%s", "expected an attribute name after '.'");
            }
            P->i++;
        } else if (is_op(t, "[")) {
            P->i++;
            /* subscript or slice */
            jnode *parts[3] = {0};
            int colons = 0;
            for (;;) {
                if (is_op(cur(P), "]")) break;
                if (is_op(cur(P), ":")) {
                    if (++colons > 2) return perr(P, "%s", "too many ':' in a slice");
                    P->i++;
                    continue;
                }
                if (parts[colons]) return perr(P, "%s", "expected ']'");
                LMT_TRY(parse_expr(P, &parts[colons]));
            }
            LMT_TRY(expect_op(P, "]"));
            if (colons) {
                NEW(n, N_SLICE, t);
                n->a = *inout;
                n->list = ja_alloc(P->a, 3 * sizeof *n->list);
                if (!n->list) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
                memcpy(n->list, parts, sizeof parts);
                n->n = 3;
            } else {
                if (!parts[0]) return perr_at(P, t, "%s", "empty subscript");
                NEW(n, N_GETITEM, t);
                n->a = *inout;
                n->b = parts[0];
            }
        } else if (is_op(t, "(")) {
            P->i++;
            NEW(n, N_CALL, t);
            n->line = (*inout)->line;   /* a call names where its callee starts */
            n->col = (*inout)->col;
            n->a = *inout;
            LMT_TRY(parse_args(P, n));
        } else {
            return LMT_OK;
        }
        *inout = n;
    }
}

/* postfix, then filters and tests */
static lmt_status parse_filter_expr(parser *P, jnode **inout) {
    for (;;) {
        const jtok *t = cur(P);
        jnode *n;
        if (is_op(t, "|")) {
            P->i++;
            NEW(n, N_FILTER, t);
            n->a = *inout;
            LMT_TRY(parse_filter_or_test(P, n, false));
        } else if (is_name(t, "is")) {
            P->i++;
            NEW(n, N_TEST, t);
            n->a = *inout;
            if (accept_name(P, "not")) n->i = 1;
            LMT_TRY(parse_filter_or_test(P, n, true));
        } else if (is_op(t, "(")) {   /* x|f(...)(...): a call of the result */
            LMT_TRY(parse_postfix(P, inout));
            continue;
        } else {
            return LMT_OK;
        }
        *inout = n;
    }
}

static lmt_status parse_seq_tail(parser *P, const char *close, jvec *items) {
    while (!accept_op(P, close)) {
        if (items->n) {
            LMT_TRY(expect_op(P, ","));
            if (accept_op(P, close)) break;
        }
        jnode *e;
        LMT_TRY(parse_expr(P, &e));
        PUSH(*items, e);
    }
    return LMT_OK;
}

static lmt_status parse_primary(parser *P, jnode **out) {
    const jtok *t = cur(P);
    jnode *n;
    if (t->t == T_STRING) {
        /* adjacent string literals concatenate */
        lmt_strbuf b;
        lmt_sb_init(&b);
        while (cur(P)->t == T_STRING) {
            lmt_sb_append(&b, cur(P)->s, cur(P)->len);
            P->i++;
        }
        NEW(n, N_STR, t);
        n->s = ja_strndup(P->a, b.data ? b.data : "", b.len);
        n->len = b.len;
        lmt_sb_free(&b);
    } else if (t->t == T_INT) {
        NEW(n, N_INT, t);
        n->i = t->i;
        P->i++;
    } else if (t->t == T_FLOAT) {
        NEW(n, N_FLOAT, t);
        n->f = t->f;
        P->i++;
    } else if (t->t == T_NAME) {
        if (is_name(t, "true") || is_name(t, "True") || is_name(t, "false") || is_name(t, "False")) {
            NEW(n, N_BOOL, t);
            n->i = t->s[0] == 't' || t->s[0] == 'T';
        } else if (is_name(t, "none") || is_name(t, "None")) {
            NEW(n, N_NONE, t);
        } else {
            NEW(n, N_NAME, t);
            n->s = name_of(P, t);
            n->len = t->len;
        }
        P->i++;
    } else if (is_op(t, "(")) {
        P->i++;
        if (accept_op(P, ")")) {
            NEW(n, N_TUPLE, t);
        } else {
            jnode *e;
            LMT_TRY(parse_expr(P, &e));
            if (is_op(cur(P), ",")) {
                jvec items = {0};
                PUSH(items, e);
                lmt_status st = parse_seq_tail(P, ")", &items);
                if (st) { free(items.p); return st; }
                NEW(n, N_TUPLE, t);
                n->list = (jnode **)jvec_finish(&items, P->a, &n->n);
            } else {
                LMT_TRY(expect_op(P, ")"));
                n = e;
            }
        }
    } else if (is_op(t, "[")) {
        P->i++;
        jvec items = {0};
        lmt_status st = parse_seq_tail(P, "]", &items);
        if (st) { free(items.p); return st; }
        NEW(n, N_LIST, t);
        n->list = (jnode **)jvec_finish(&items, P->a, &n->n);
    } else if (is_op(t, "{")) {
        P->i++;
        jvec keys = {0}, vals = {0};
        lmt_status st = LMT_OK;
        while (!accept_op(P, "}")) {
            if (keys.n) {
                if ((st = expect_op(P, ","))) break;
                if (accept_op(P, "}")) break;
            }
            jnode *k, *v;
            if ((st = parse_expr(P, &k)) || (st = expect_op(P, ":")) || (st = parse_expr(P, &v))) break;
            if (!jvec_push(&keys, k) || !jvec_push(&vals, v)) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
        }
        if (st) { free(keys.p); free(vals.p); return st; }
        NEW(n, N_DICT, t);
        n->list = (jnode **)jvec_finish(&keys, P->a, &n->n);
        n->list2 = (jnode **)jvec_finish(&vals, P->a, &n->n2);
    } else if (t->t == T_EOF || t->t == T_VAR_END || t->t == T_BLOCK_END) {
        return perr(P, "%s", "unexpected end of the expression");
    } else {
        return perr_at(P, t, "unexpected '%s'", t->t == T_OP ? name_of(P, t) : "token");
    }
    *out = n;
    return LMT_OK;
}

static lmt_status parse_unary_at(parser *P, bool with_filter, jnode **out);
/* a guard on the recursive rules: templates nested deeper fail instead of overflowing the stack */
#define MAX_DEPTH 200
#define GUARDED(call) do { \
    if (++P->depth > MAX_DEPTH) { P->depth--; return perr(P, "%s", "nested too deeply"); } \
    lmt_status g_ = (call); \
    P->depth--; \
    return g_; } while (0)
static lmt_status parse_unary(parser *P, bool with_filter, jnode **out) { GUARDED(parse_unary_at(P, with_filter, out)); }
static lmt_status parse_expr_at(parser *P, jnode **out);
static lmt_status parse_expr(parser *P, jnode **out) { GUARDED(parse_expr_at(P, out)); }
static lmt_status parse_not_at(parser *P, jnode **out);
static lmt_status parse_not(parser *P, jnode **out) { GUARDED(parse_not_at(P, out)); }

static lmt_status parse_unary_at(parser *P, bool with_filter, jnode **out) {
    const jtok *t = cur(P);
    jnode *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        P->i++;
        NEW(n, t->s[0] == '-' ? N_NEG : N_POS, t);
        LMT_TRY(parse_unary(P, false, &n->a));
    } else {
        LMT_TRY(parse_primary(P, &n));
        LMT_TRY(parse_postfix(P, &n));
    }
    if (with_filter) LMT_TRY(parse_filter_expr(P, &n));
    *out = n;
    return LMT_OK;
}

static lmt_status binop(parser *P, const jtok *t, jnode *l, jnode *r, jnode **out) {
    jnode *n;
    NEW(n, N_BINOP, t);
    n->s = name_of(P, t);
    n->len = t->len;
    n->a = l;
    n->b = r;
    *out = n;
    return LMT_OK;
}

/* the left-associative binary levels, loosest first: + -, ~, * / // %, ** */
static const char *const bin_levels[][5] = {{"+", "-", NULL}, {"~", NULL}, {"*", "/", "//", "%", NULL}, {"**", NULL}};
enum { N_BIN_LEVELS = sizeof bin_levels / sizeof *bin_levels };

static bool level_op(parser *P, int level) {
    for (size_t k = 0; bin_levels[level][k]; k++)
        if (is_op(cur(P), bin_levels[level][k])) return true;
    return false;
}

static lmt_status parse_binary(parser *P, int level, jnode **out) {
    if (level == N_BIN_LEVELS) return parse_unary(P, true, out);
    LMT_TRY(parse_binary(P, level + 1, out));
    while (level_op(P, level)) {
        const jtok *t = cur(P);
        P->i++;
        jnode *r;
        LMT_TRY(parse_binary(P, level + 1, &r));
        LMT_TRY(binop(P, t, *out, r, out));
    }
    return LMT_OK;
}
static lmt_status parse_math1(parser *P, jnode **out) { return parse_binary(P, 0, out); }
static lmt_status parse_compare(parser *P, jnode **out) {
    const jtok *t0 = cur(P);
    jnode *first;
    LMT_TRY(parse_math1(P, &first));
    jvec ops = {0}, operands = {0};
    for (;;) {
        const jtok *t = cur(P);
        const char *op = NULL;
        if (is_op(t, "==") || is_op(t, "!=") || is_op(t, "<") || is_op(t, ">") || is_op(t, "<=") || is_op(t, ">=")) {
            op = name_of(P, t);
            P->i++;
        } else if (is_name(t, "in")) {
            op = "in";
            P->i++;
        } else if (is_name(t, "not") && is_name(peek(P, 1), "in")) {
            op = "notin";
            P->i += 2;
        } else {
            break;
        }
        jnode *r;
        lmt_status st = parse_math1(P, &r);
        if (st || !op || !jvec_push(&ops, (void *)op) || !jvec_push(&operands, r)) {
            free(ops.p);
            free(operands.p);
            return st ? st : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
    }
    if (!ops.n) { *out = first; return LMT_OK; }
    jnode *n;
    NEW(n, N_COMPARE, t0);
    n->a = first;
    n->names = (const char **)jvec_finish(&ops, P->a, &n->nnames);
    n->list = (jnode **)jvec_finish(&operands, P->a, &n->n);
    *out = n;
    return LMT_OK;
}
static lmt_status parse_not_at(parser *P, jnode **out) {
    if (is_name(cur(P), "not")) {
        jnode *n;
        NEW(n, N_NOT, cur(P));
        P->i++;
        LMT_TRY(parse_not(P, &n->a));
        *out = n;
        return LMT_OK;
    }
    return parse_compare(P, out);
}
/* or binds looser than and; both short-circuit to an operand */
static lmt_status parse_logic(parser *P, bool is_or, jnode **out) {
    LMT_TRY(is_or ? parse_logic(P, false, out) : parse_not(P, out));
    while (is_name(cur(P), is_or ? "or" : "and")) {
        jnode *n;
        NEW(n, is_or ? N_OR : N_AND, cur(P));
        P->i++;
        n->a = *out;
        LMT_TRY(is_or ? parse_logic(P, false, &n->b) : parse_not(P, &n->b));
        *out = n;
    }
    return LMT_OK;
}
static lmt_status parse_or(parser *P, jnode **out) { return parse_logic(P, true, out); }
/* x if c [else y] */
static lmt_status parse_expr_at(parser *P, jnode **out) {
    LMT_TRY(parse_or(P, out));
    while (is_name(cur(P), "if")) {
        jnode *n;
        NEW(n, N_COND, cur(P));
        P->i++;
        n->b = *out;
        LMT_TRY(parse_or(P, &n->a));
        if (accept_name(P, "else")) LMT_TRY(parse_expr(P, &n->c));
        *out = n;
    }
    return LMT_OK;
}

/* an expression, or a bare tuple "a, b" */
static lmt_status parse_tuple_expr(parser *P, jnode **out) {
    const jtok *t = cur(P);
    jnode *e;
    LMT_TRY(parse_expr(P, &e));
    if (!is_op(cur(P), ",")) { *out = e; return LMT_OK; }
    jvec items = {0};
    PUSH(items, e);
    while (accept_op(P, ",")) {
        if (cur(P)->t == T_BLOCK_END || cur(P)->t == T_VAR_END) break;
        lmt_status st = parse_expr(P, &e);
        if (st) { free(items.p); return st; }
        PUSH(items, e);
    }
    jnode *n;
    NEW(n, N_TUPLE, t);
    n->list = (jnode **)jvec_finish(&items, P->a, &n->n);
    *out = n;
    return LMT_OK;
}

/* ---- statements ---- */
static lmt_status parse_body(parser *P, const char *const *ends, jnode **body, const jtok **end_tag);

static lmt_status expect_block_end(parser *P) {
    if (cur(P)->t == T_BLOCK_END) { P->i++; return LMT_OK; }
    return perr(P, "%s", "expected '%}'");
}

static lmt_status parse_targets(parser *P, jvec *names) {
    bool paren = accept_op(P, "(");
    do {
        if (cur(P)->t != T_NAME) return perr(P, "%s", "expected a variable name");
        PUSH(*names, name_of(P, cur(P)));
        P->i++;
    } while (accept_op(P, ","));
    if (paren) LMT_TRY(expect_op(P, ")"));
    return LMT_OK;
}

static lmt_status parse_for(parser *P, const jtok *at, jnode **out) {
    jnode *n;
    NEW(n, N_FOR, at);
    jvec names = {0};
    lmt_status st = parse_targets(P, &names);
    if (st) { free(names.p); return st; }
    n->names = (const char **)jvec_finish(&names, P->a, &n->nnames);
    if (!accept_name(P, "in")) return perr(P, "%s", "expected 'in' in a for loop");
    /* the iterable: no conditional expression (its 'if' filters the loop) */
    LMT_TRY(parse_or(P, &n->a));
    if (accept_name(P, "if")) LMT_TRY(parse_expr(P, &n->b));
    if (accept_name(P, "recursive")) return perr(P, "%s", "recursive loops are not supported");
    LMT_TRY(expect_block_end(P));
    static const char *const ends[] = {"endfor", "else", NULL};
    const jtok *end;
    LMT_TRY(parse_body(P, ends, &n->c, &end));
    if (is_name(end, "else")) {
        LMT_TRY(expect_block_end(P));
        static const char *const ends2[] = {"endfor", NULL};
        jnode *els;
        LMT_TRY(parse_body(P, ends2, &els, &end));
        n->list2 = els->list;
        n->n2 = els->n;
    }
    LMT_TRY(expect_block_end(P));
    *out = n;
    return LMT_OK;
}

static lmt_status parse_if(parser *P, const jtok *at, jnode **out) {
    jnode *n;
    NEW(n, N_IF, at);
    LMT_TRY(parse_tuple_expr(P, &n->a));
    LMT_TRY(expect_block_end(P));
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const jtok *end;
    LMT_TRY(parse_body(P, ends, &n->b, &end));
    if (is_name(end, "elif")) {
        jnode *e;
        LMT_TRY(parse_if(P, end, &e));   /* consumes through endif */
        NEW(n->c, N_BODY, end);
        n->c->list = ja_alloc(P->a, sizeof *n->c->list);
        if (!n->c->list) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        n->c->list[0] = e;
        n->c->n = 1;
        *out = n;
        return LMT_OK;
    }
    if (is_name(end, "else")) {
        LMT_TRY(expect_block_end(P));
        static const char *const ends2[] = {"endif", NULL};
        LMT_TRY(parse_body(P, ends2, &n->c, &end));
    }
    LMT_TRY(expect_block_end(P));
    *out = n;
    return LMT_OK;
}

static lmt_status parse_set(parser *P, const jtok *at, jnode **out) {
    jnode *n;
    NEW(n, N_SET, at);
    if (cur(P)->t == T_NAME && is_op(peek(P, 1), ".") && peek(P, 2)->t == T_NAME) {   /* ns.attr */
        n->s = name_of(P, cur(P));
        n->len = cur(P)->len;
        n->names = ja_alloc(P->a, sizeof *n->names);
        if (!n->names) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        n->names[0] = name_of(P, peek(P, 2));
        n->nnames = 1;
        P->i += 3;
    } else {
        jvec names = {0};
        lmt_status st = parse_targets(P, &names);
        if (st) { free(names.p); return st; }
        n->names = (const char **)jvec_finish(&names, P->a, &n->nnames);
    }
    if (accept_op(P, "=")) {
        LMT_TRY(parse_tuple_expr(P, &n->a));
        LMT_TRY(expect_block_end(P));
        *out = n;
        return LMT_OK;
    }
    /* {% set x %}...{% endset %}, optionally {% set x | filter %} */
    n->k = N_SETBLOCK;
    if (is_op(cur(P), "|")) {
        jnode *f;
        NEW(f, N_FILTER, cur(P));
        P->i++;
        LMT_TRY(parse_filter_or_test(P, f, false));
        n->a = f;
    }
    LMT_TRY(expect_block_end(P));
    static const char *const ends[] = {"endset", NULL};
    const jtok *end;
    LMT_TRY(parse_body(P, ends, &n->b, &end));
    LMT_TRY(expect_block_end(P));
    *out = n;
    return LMT_OK;
}

static lmt_status parse_macro(parser *P, const jtok *at, jnode **out) {
    jnode *n;
    NEW(n, N_MACRO, at);
    if (cur(P)->t != T_NAME) return perr(P, "%s", "expected a macro name");
    n->s = name_of(P, cur(P));
    n->len = cur(P)->len;
    P->i++;
    LMT_TRY(expect_op(P, "("));
    jvec names = {0}, defs = {0};
    lmt_status st = LMT_OK;
    while (!accept_op(P, ")")) {
        if (names.n && (st = expect_op(P, ","))) break;
        if (cur(P)->t != T_NAME) { st = perr(P, "%s", "expected a parameter name"); break; }
        char *nm = name_of(P, cur(P));
        P->i++;
        jnode *d = NULL;
        if (accept_op(P, "=") && (st = parse_expr(P, &d))) break;
        if (!nm || !jvec_push(&names, nm) || !jvec_push(&defs, d)) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
    }
    if (st) { free(names.p); free(defs.p); return st; }
    n->names = (const char **)jvec_finish(&names, P->a, &n->nnames);
    n->list2 = (jnode **)jvec_finish(&defs, P->a, &n->n2);
    LMT_TRY(expect_block_end(P));
    static const char *const ends[] = {"endmacro", NULL};
    const jtok *end;
    LMT_TRY(parse_body(P, ends, &n->b, &end));
    if (cur(P)->t == T_NAME) P->i++;   /* {% endmacro name %} */
    LMT_TRY(expect_block_end(P));
    *out = n;
    return LMT_OK;
}

/* statements until one of `ends` (NULL: EOF); *end_tag is the end's name token */
static lmt_status parse_body_at(parser *P, const char *const *ends, jnode **body, const jtok **end_tag);
static lmt_status parse_body(parser *P, const char *const *ends, jnode **body, const jtok **end_tag) {
    GUARDED(parse_body_at(P, ends, body, end_tag));
}
static lmt_status parse_body_at(parser *P, const char *const *ends, jnode **body, const jtok **end_tag) {
    jvec items = {0};
    lmt_status st = LMT_OK;
    const jtok *start = cur(P);
    for (;;) {
        const jtok *t = cur(P);
        jnode *n = NULL;
        if (t->t == T_EOF) {
            if (ends) {
                st = perr_at(P, t, "unexpected end of template: expected '{%% %s %%}'", ends[0]);
                break;
            }
            break;
        }
        if (t->t == T_TEXT) {
            if (!(n = node(P, N_TEXT, t))) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
            n->s = t->s;
            n->len = t->len;
            P->i++;
        } else if (t->t == T_VAR_BEGIN) {
            P->i++;
            if (!(n = node(P, N_OUTPUT, t))) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
            if ((st = parse_tuple_expr(P, &n->a))) break;
            if (cur(P)->t != T_VAR_END) { st = perr(P, "%s", "expected '}}'"); break; }
            P->i++;
        } else if (t->t == T_BLOCK_BEGIN) {
            const jtok *kw = peek(P, 1);
            if (kw->t != T_NAME) { st = perr_at(P, kw, "%s", "expected a statement name after '{%'"); break; }
            bool is_end = false;
            for (size_t e = 0; ends && ends[e]; e++)
                if (is_name(kw, ends[e])) is_end = true;
            if (is_end) {
                P->i += 2;
                *end_tag = kw;
                break;
            }
            P->i += 2;
            if (is_name(kw, "for")) st = parse_for(P, kw, &n);
            else if (is_name(kw, "if")) st = parse_if(P, kw, &n);
            else if (is_name(kw, "set")) st = parse_set(P, kw, &n);
            else if (is_name(kw, "macro")) st = parse_macro(P, kw, &n);
            else if (is_name(kw, "break") || is_name(kw, "continue")) {
                if (!(n = node(P, kw->s[0] == 'b' ? N_BREAK : N_CONTINUE, kw))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
                else st = expect_block_end(P);
            } else if (is_name(kw, "generation")) {   /* transformers' AssistantTracker: renders its body */
                static const char *const ge[] = {"endgeneration", NULL};
                const jtok *end;
                jnode *gbody = NULL;
                if (!(st = expect_block_end(P)) && !(st = parse_body(P, ge, &gbody, &end))) st = expect_block_end(P);
                if (!st) {
                    if (!(n = node(P, N_GENERATION, kw))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
                    else n->b = gbody;
                }
            } else {
                char nm[64];
                snprintf(nm, sizeof nm, "%.*s", (int)(kw->len < 60 ? kw->len : 60), kw->s);
                st = perr_at(P, kw, "unknown or unexpected statement '%s'", nm);
            }
            if (st) break;
        } else {
            st = perr(P, "%s", "unexpected token");
            break;
        }
        if (n && !jvec_push(&items, n)) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
    }
    if (st) { free(items.p); return st; }
    jnode *b = node(P, N_BODY, start);
    if (!b) { free(items.p); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    b->list = (jnode **)jvec_finish(&items, P->a, &b->n);
    *body = b;
    return LMT_OK;
}

lmt_status jinja_parse(const jtok *toks, size_t n, const char *source, jarena *a, jnode **root) {
    parser P = {.t = toks, .n = n, .source = source, .a = a};
    const jtok *end = NULL;
    return parse_body(&P, NULL, root, &end);
}
