/* Chat templates: loading a folder's templates and special tokens the way
 * transformers 5 does, and rendering a conversation with the variables
 * apply_chat_template passes (messages, tools, documents,
 * add_generation_prompt, the special tokens, extra kwargs). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/chat_template.h"
#include "core/error.h"
#include "core/util.h"
#include "jinja/jinja.h"

typedef struct {
    char *name;
    char *source;                 /* what errors name */
    lmt_jinja_template *tmpl;
} named_tmpl;

struct lmt_chat_tmpl {
    named_tmpl *t;
    size_t n;
    const char **names;           /* NULL-terminated */
    lmt_json *special;            /* {"bos_token": "<s>", ...} */
};

static const char *const special_keys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                           "pad_token", "cls_token", "mask_token"};

void lmt_chat_tmpl_free(lmt_chat_tmpl *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->t[i].name);
        free(t->t[i].source);
        lmt_jinja_free(t->t[i].tmpl);
    }
    free(t->t);
    free(t->names);
    lmt_json_free(t->special);
    free(t);
}

const char *const *lmt_chat_tmpl_names(const lmt_chat_tmpl *t) { return t->names; }

static lmt_status add_template(lmt_chat_tmpl *t, const char *name, const char *text, size_t len, const char *source) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->t[i].name, name)) return LMT_OK;   /* the files came first and win */
    named_tmpl *p = realloc(t->t, (t->n + 1) * sizeof *p);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->t = p;
    named_tmpl *nt = &t->t[t->n];
    memset(nt, 0, sizeof *nt);
    nt->name = lmt_strdup(name);
    nt->source = lmt_strdup(source);
    t->n++;
    if (!nt->name || !nt->source) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return lmt_jinja_compile(text, len, source, &nt->tmpl);
}

static lmt_status add_template_file(lmt_chat_tmpl *t, const char *name, const char *path) {
    char *text;
    size_t len;
    LMT_TRY(lmt_read_file(path, &text, &len));
    lmt_status st = add_template(t, name, text, len, path);
    free(text);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* additional_chat_templates/NAME.jinja, in name order */
static lmt_status load_template_dir(lmt_chat_tmpl *t, const char *dir) {
    char *sub = lmt_path_join(dir, "additional_chat_templates");
    if (!sub) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    DIR *d = opendir(sub);
    lmt_status st = LMT_OK;
    char **names = NULL;
    size_t n = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) && st == LMT_OK) {
            size_t l = strlen(e->d_name);
            if (l <= 6 || strcmp(e->d_name + l - 6, ".jinja")) continue;
            char **p = realloc(names, (n + 1) * sizeof *p);
            if (!p || !(p[n] = lmt_strdup(e->d_name))) { if (p) names = p; st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
            names = p;
            n++;
        }
        closedir(d);
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (st == LMT_OK) {
            char *path = lmt_path_join(sub, names[i]);
            names[i][strlen(names[i]) - 6] = 0;
            st = path ? add_template_file(t, names[i], path) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
            free(path);
        }
        free(names[i]);
    }
    free(names);
    free(sub);
    return st;
}

static lmt_status load_config_templates(lmt_chat_tmpl *t, const lmt_json *ct, const char *cfg_path) {
    char source[4096];
    if (ct->type == LMT_JSON_STRING) {
        snprintf(source, sizeof source, "%s (chat_template)", cfg_path);
        return add_template(t, "default", ct->str, ct->len, source);
    }
    if (ct->type != LMT_JSON_ARRAY)
        return lmt_fail(LMT_ERR_FORMAT, "%s: \"chat_template\" is a %s, not a string or a list of {name, template}",
                        cfg_path, lmt_json_type_name(ct->type));
    for (size_t i = 0; i < ct->len; i++) {
        const lmt_json *e = &ct->items[i], *nm = lmt_json_get(e, "name"), *tx = lmt_json_get(e, "template");
        if (!nm || nm->type != LMT_JSON_STRING || !tx || tx->type != LMT_JSON_STRING)
            return lmt_fail(LMT_ERR_FORMAT, "%s: chat_template[%zu] is not {\"name\": str, \"template\": str}", cfg_path, i);
        snprintf(source, sizeof source, "%s (chat_template \"%s\")", cfg_path, nm->str);
        LMT_TRY(add_template(t, nm->str, tx->str, tx->len, source));
    }
    return LMT_OK;
}

/* the special tokens of one file: strings, or {"content": ...} */
static lmt_status take_special(lmt_chat_tmpl *t, const lmt_json *cfg, const char *path) {
    for (size_t k = 0; k < sizeof special_keys / sizeof *special_keys; k++) {
        if (lmt_json_get(t->special, special_keys[k])) continue;
        const lmt_json *v = lmt_json_get(cfg, special_keys[k]);
        if (!v || v->type == LMT_JSON_NULL) continue;
        if (v->type == LMT_JSON_OBJECT) v = lmt_json_get(v, "content");
        if (!v || v->type != LMT_JSON_STRING)
            return lmt_fail(LMT_ERR_FORMAT, "%s: \"%s\" is neither a string nor an AddedToken with \"content\"", path, special_keys[k]);
        lmt_json *s = lmt_json_new_string(v->str);
        if (!s || lmt_json_object_set(t->special, special_keys[k], s) != LMT_OK) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    return LMT_OK;
}

static lmt_status load(lmt_chat_tmpl *t, const char *dir) {
    char *jinja = lmt_path_join(dir, "chat_template.jinja");
    char *cfg_path = lmt_path_join(dir, "tokenizer_config.json");
    char *map_path = lmt_path_join(dir, "special_tokens_map.json");
    lmt_json *cfg = NULL, *map = NULL;
    lmt_status st = LMT_OK;
    if (!jinja || !cfg_path || !map_path || !(t->special = lmt_json_new(LMT_JSON_OBJECT))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (!st && lmt_file_exists(jinja)) st = add_template_file(t, "default", jinja);
    if (!st) st = load_template_dir(t, dir);
    if (!st && lmt_file_exists(cfg_path)) {
        st = lmt_json_parse_file(cfg_path, &cfg);
        const lmt_json *ct = cfg ? lmt_json_get(cfg, "chat_template") : NULL;
        if (!st && ct && ct->type != LMT_JSON_NULL && t->n == 0) st = load_config_templates(t, ct, cfg_path);
        if (!st) st = take_special(t, cfg, cfg_path);
    }
    if (!st && lmt_file_exists(map_path)) {
        st = lmt_json_parse_file(map_path, &map);
        if (!st) st = take_special(t, map, map_path);
    }
    if (!st && t->n == 0)
        st = lmt_fail(LMT_ERR_NOT_FOUND, "%s: no chat template (no chat_template.jinja, additional_chat_templates/ or "
                      "\"chat_template\" in tokenizer_config.json)", dir);
    if (!st) {
        t->names = calloc(t->n + 1, sizeof *t->names);
        if (!t->names) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < t->n; i++) t->names[i] = t->t[i].name;
    }
    lmt_json_free(cfg);
    lmt_json_free(map);
    free(jinja);
    free(cfg_path);
    free(map_path);
    return st;
}

lmt_status lmt_chat_tmpl_load(const char *dir, lmt_chat_tmpl **out) {
    *out = NULL;
    lmt_chat_tmpl *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = load(t, dir);
    if (st) { lmt_chat_tmpl_free(t); return st; }
    *out = t;
    return LMT_OK;
}

/* get_chat_template: a single template, or by name, or "tool_use" when tools are given, or "default" */
static const named_tmpl *pick(const lmt_chat_tmpl *t, const lmt_chat_args *a) {
    const char *want = a->name;
    if (!want && t->n == 1 && !strcmp(t->t[0].name, "default")) return &t->t[0];
    for (int pass = 0; pass < 2 && !want; pass++) {
        const char *cand = pass == 0 ? "tool_use" : "default";
        if (pass == 0 && !(a->tools && a->tools->type != LMT_JSON_NULL)) continue;
        for (size_t i = 0; i < t->n; i++) if (!strcmp(t->t[i].name, cand)) return &t->t[i];
    }
    for (size_t i = 0; want && i < t->n; i++) if (!strcmp(t->t[i].name, want)) return &t->t[i];
    return NULL;
}

static const char *const reasoning_fields[] = {"reasoning_content", "thinking", "reasoning"};

/* a message as render_jinja_template sees it: None-valued keys dropped
 * (apply_chat_template), reasoning aliased (_alias_reasoning_fields) */
static lmt_json *plain_message(const lmt_json *m) {
    lmt_json *r = lmt_json_new(LMT_JSON_OBJECT);
    const lmt_json *reasoning = NULL;
    for (size_t k = 0; k < 3 && !reasoning; k++) {
        const lmt_json *v = lmt_json_get(m, reasoning_fields[k]);
        if (v && v->type != LMT_JSON_NULL) reasoning = v;
    }
    if (r && reasoning && lmt_json_object_set(r, "thinking", lmt_json_clone(reasoning)) != LMT_OK) { lmt_json_free(r); return NULL; }
    for (size_t i = 0; r && i < m->len; i++) {
        if (m->items[i].type == LMT_JSON_NULL) continue;
        if (lmt_json_object_set(r, m->keys[i], lmt_json_clone(&m->items[i])) != LMT_OK) { lmt_json_free(r); return NULL; }
    }
    if (r && reasoning && lmt_json_object_set(r, "reasoning_content", lmt_json_clone(reasoning)) != LMT_OK) { lmt_json_free(r); return NULL; }
    return r;
}

lmt_status lmt_chat_tmpl_use_file(lmt_chat_tmpl *t, const char *path) {
    named_tmpl keep = t->n ? t->t[0] : (named_tmpl){0};
    for (size_t i = 1; i < t->n; i++) {
        free(t->t[i].name);
        free(t->t[i].source);
        lmt_jinja_free(t->t[i].tmpl);
    }
    free(keep.name);
    free(keep.source);
    lmt_jinja_free(keep.tmpl);
    t->n = 0;
    LMT_TRY(add_template_file(t, "default", path));
    t->names[0] = t->t[0].name;
    t->names[1] = NULL;
    return LMT_OK;
}

bool lmt_chat_tmpl_has_generation(const lmt_chat_tmpl *t, const char *name) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->t[i].name, name ? name : "default") || (!name && t->n == 1)) return lmt_jinja_has_generation(t->t[i].tmpl);
    return false;
}

lmt_status lmt_chat_tmpl_render(const lmt_chat_tmpl *t, const lmt_chat_args *a, char **out, size_t *out_len) {
    return lmt_chat_tmpl_render_tracked(t, a, out, out_len, NULL, NULL);
}

lmt_status lmt_chat_tmpl_render_tracked(const lmt_chat_tmpl *t, const lmt_chat_args *a, char **out, size_t *out_len,
                                        size_t **spans, size_t *n_spans) {
    *out = NULL;
    const named_tmpl *nt = pick(t, a);
    if (!nt) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t i = 0; i < t->n; i++) lmt_sb_printf(&b, "%s%s", i ? ", " : "", t->t[i].name);
        lmt_status st = lmt_fail(LMT_ERR_ARG, "%s: no chat template named \"%s\" (there are: %s)", t->t[0].source,
                                 a->name ? a->name : "default", b.data ? b.data : "");
        lmt_sb_free(&b);
        return st;
    }
    if (!a->messages || a->messages->type != LMT_JSON_ARRAY)
        return lmt_fail(LMT_ERR_ARG, "%s: the conversation is not a list of messages", nt->source);
    if (a->messages->len == 0)
        return lmt_fail(LMT_ERR_ARG, "%s: cannot apply a chat template to an empty conversation", nt->source);
    lmt_json *ctx = lmt_json_clone(t->special), *msgs = lmt_json_new(LMT_JSON_ARRAY);
    lmt_status st = ctx && msgs ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (!st && a->kwargs && a->kwargs->type == LMT_JSON_OBJECT)
        for (size_t i = 0; !st && i < a->kwargs->len; i++)
            st = lmt_json_object_set(ctx, a->kwargs->keys[i], lmt_json_clone(&a->kwargs->items[i]));
    for (size_t i = 0; !st && i < a->messages->len; i++) {
        const lmt_json *m = &a->messages->items[i];
        if (m->type != LMT_JSON_OBJECT) { st = lmt_fail(LMT_ERR_ARG, "%s: message %zu is a %s, not an object", nt->source, i, lmt_json_type_name(m->type)); break; }
        lmt_json *pm = plain_message(m);
        st = pm ? lmt_json_array_push(msgs, pm) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    if (!st) { st = lmt_json_object_set(ctx, "messages", msgs); msgs = NULL; }
    if (!st) st = lmt_json_object_set(ctx, "tools", a->tools ? lmt_json_clone(a->tools) : lmt_json_new(LMT_JSON_NULL));
    if (!st) st = lmt_json_object_set(ctx, "documents", a->documents ? lmt_json_clone(a->documents) : lmt_json_new(LMT_JSON_NULL));
    if (!st) st = lmt_json_object_set(ctx, "add_generation_prompt", lmt_json_new_bool(a->add_generation_prompt));
    if (!st) st = lmt_jinja_render_tracked(nt->tmpl, ctx, out, out_len, spans, n_spans);
    lmt_json_free(msgs);
    lmt_json_free(ctx);
    return st;
}
