/* Bump allocation for the interpreter: a template's tokens and AST live in
 * one arena, a render's values in another; each is freed at once. */
#include <stdlib.h>
#include <string.h>
#include "jinja/internal.h"

struct jarena_chunk { jarena_chunk *next; size_t used, cap; max_align_t data[]; };

void *ja_alloc(jarena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (a->limit && (cap > a->limit || a->taken > a->limit - cap)) { a->oom = a->over = true; return NULL; }
        jarena_chunk *c = malloc(sizeof *c + cap);
        if (!c) { a->oom = true; return NULL; }
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
        a->taken += cap;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *ja_strndup(jarena *a, const char *s, size_t n) {
    char *p = ja_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void ja_free(jarena *a) {
    while (a->head) {
        jarena_chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
}

bool jvec_push(jvec *v, void *x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **p = realloc(v->p, cap * sizeof *p);
        if (!p) return false;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = x;
    return true;
}

void **jvec_finish(jvec *v, jarena *a, size_t *n) {
    void **p = ja_alloc(a, (v->n ? v->n : 1) * sizeof *p);
    if (p && v->n) memcpy(p, v->p, v->n * sizeof *p);
    *n = p ? v->n : 0;
    free(v->p);
    v->p = NULL;
    v->n = v->cap = 0;
    return p;
}
