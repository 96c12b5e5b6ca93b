/* SFTTrainer._prepare_dataset (trl 1.16): rows -> input_ids + labels, then
 * truncation or packing (sft_pack.c). See sft_data.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/sft_data.h"
#include "jinja/jinja.h"

void lmt_sft_opts_default(lmt_sft_opts *o) {
    memset(o, 0, sizeof *o);
    o->text_field = "text";
    o->max_length = 1024;
    o->strategy = LMT_PACK_BFD;
    o->completion_only_loss = -1;
    o->map_batch_size = 1000;
}

static const char *const kind_names[] = {"language modeling", "prompt-completion", "conversational"};

typedef struct { int32_t *v; size_t n, cap; } i32vec;
static bool vpush(i32vec *a, const int32_t *x, size_t n) {
    if (a->n + n > a->cap) {
        size_t cap = a->cap ? a->cap : 1024;
        while (cap < a->n + n) cap *= 2;
        int32_t *p = realloc(a->v, cap * sizeof *p);
        if (!p) return false;
        a->v = p;
        a->cap = cap;
    }
    memcpy(a->v + a->n, x, n * sizeof *x);
    a->n += n;
    return true;
}

/* a list whose first item is an object with "role" (TRL's is_conversational) */
static bool is_messages(const lmt_json *v) {
    return v && v->type == LMT_JSON_ARRAY && v->len > 0 && v->items[0].type == LMT_JSON_OBJECT && lmt_json_get(&v->items[0], "role");
}

/* ShareGPT's {"conversations": [{"from", "value"}]} as ChatML messages (maybe_convert_to_chatml) */
static lmt_json *from_sharegpt(const lmt_json *conv) {
    lmt_json *out = lmt_json_new(LMT_JSON_ARRAY);
    for (size_t i = 0; out && i < conv->len; i++) {
        const lmt_json *m = &conv->items[i];
        lmt_json *nm = m->type == LMT_JSON_OBJECT ? lmt_json_new(LMT_JSON_OBJECT) : lmt_json_clone(m);
        for (size_t k = 0; nm && m->type == LMT_JSON_OBJECT && k < m->len; k++) {
            const char *key = !strcmp(m->keys[k], "from") ? "role" : !strcmp(m->keys[k], "value") ? "content" : m->keys[k];
            if (lmt_json_object_set(nm, key, lmt_json_clone(&m->items[k])) != LMT_OK) { lmt_json_free(nm); nm = NULL; }
        }
        if (!nm || lmt_json_array_push(out, nm) != LMT_OK) { lmt_json_free(out); out = NULL; }
    }
    return out;
}

static bool ends_with(const char *s, size_t n, const char *suf) {
    size_t m = strlen(suf);
    return n >= m && !memcmp(s + n - m, suf, m);
}

/* the string plus the EOS unless it already ends with it (add_eos) */
static char *with_eos(const char *s, size_t n, const char *eos, size_t *len) {
    bool add = eos && *eos && !ends_with(s, n, eos);
    size_t m = add ? strlen(eos) : 0;
    char *r = malloc(n + m + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    if (m) memcpy(r + n, eos, m);
    r[n + m] = 0;
    *len = n + m;
    return r;
}

typedef struct {
    const lmt_tokenizer *tok;
    const lmt_chat_tmpl *tmpl;
    const lmt_sft_opts *o;
    const char *eos;
    const char *where;             /* "path: line N" */
} ctx;

static lmt_status encode(const ctx *c, const char *s, size_t n, bool special, lmt_encoding *e) {
    lmt_encode_opts eo = lmt_encode_opts_default();
    eo.add_special_tokens = special;
    memset(e, 0, sizeof *e);
    lmt_status st = lmt_tokenizer_encode(c->tok, s, n, NULL, 0, &eo, e);
    return st ? lmt_fail_wrap(st, "%s", c->where) : LMT_OK;
}

/* code points before byte offset b of s (the offsets tokenizers report are Python's) */
static int64_t char_index(const char *s, size_t b) {
    int64_t n = 0;
    for (size_t i = 0; i < b; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* BatchEncoding.char_to_token: the first token whose offsets hold the character, or -1 */
static int64_t char_to_token(const lmt_encoding *e, int64_t ch) {
    for (size_t t = 0; t < e->n; t++)
        if (e->offset_start[t] <= ch && ch < e->offset_end[t]) return (int64_t)t;
    return -1;
}

/* apply_chat_template(tokenize=True[, return_assistant_tokens_mask]) */
static lmt_status render_encode(const ctx *c, const lmt_json *messages, const lmt_json *tools, bool gen_prompt, bool track,
                                lmt_encoding *e, int32_t **amask) {
    lmt_chat_args a = {.messages = messages, .tools = tools, .add_generation_prompt = gen_prompt};
    char *text;
    size_t len, *spans = NULL, ns = 0;
    lmt_status st = lmt_chat_tmpl_render_tracked(c->tmpl, &a, &text, &len, track ? &spans : NULL, track ? &ns : NULL);
    if (st) return lmt_fail_wrap(st, "%s: the chat template refused the conversation", c->where);
    st = encode(c, text, len, false, e);
    if (!st && track) {
        if (!(*amask = calloc(e->n ? e->n : 1, sizeof **amask))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        else if (e->n && !e->offset_start) st = lmt_fail(LMT_ERR_INTERNAL, "%s: the tokenizer gave no offsets", c->where);
        for (size_t k = 0; !st && k < ns; k++) {
            int64_t s0 = char_to_token(e, char_index(text, spans[2 * k]));
            int64_t s1 = char_to_token(e, char_index(text, spans[2 * k + 1]) - 1);
            if (s0 < 0) break;   /* as transformers: a span past the tokens ends the marking */
            int64_t end = s1 > 0 ? s1 + 1 : (int64_t)e->n;   /* `end_token + 1 if end_token else len` */
            for (int64_t t = s0; t < end; t++) (*amask)[t] = 1;
        }
    }
    free(spans);
    free(text);
    if (st) lmt_encoding_free(e);
    return st;
}

static size_t common_prefix(const lmt_encoding *a, const lmt_encoding *b) {
    size_t n = 0;
    while (n < a->n && n < b->n && a->ids[n] == b->ids[n]) n++;
    return n;
}

/* one row -> ids and labels appended to the dataset */
static lmt_status prepare_row(const ctx *c, const lmt_json *row, lmt_sft_data *d, i32vec *ids, i32vec *labels) {
    const lmt_sft_opts *o = c->o;
    lmt_encoding full = {0}, prompt = {0};
    int32_t *amask = NULL, *cmask = NULL;
    lmt_json *owned = NULL;
    lmt_status st = LMT_OK;
    const lmt_json *tools = lmt_json_get(row, "tools");
    lmt_json *tools_parsed = NULL;
    if (tools && tools->type == LMT_JSON_STRING) {   /* a JSON string of tools: json.loads */
        if ((st = lmt_json_parse(tools->str, tools->len, c->where, &tools_parsed))) return st;
        tools = tools_parsed;
    }
    if (tools && tools->type == LMT_JSON_NULL) tools = NULL;
    if (d->kind == LMT_SFT_MESSAGES) {
        const lmt_json *m = lmt_json_get(row, "messages");
        if (!m && (m = lmt_json_get(row, "conversations"))) m = owned = m->type == LMT_JSON_ARRAY ? from_sharegpt(m) : NULL;
        if (!is_messages(m))
            st = lmt_fail(LMT_ERR_FORMAT, "%s: no \"messages\" list of {\"role\", \"content\"} objects (the dataset is %s, from its first row)",
                          c->where, kind_names[d->kind]);
        else st = render_encode(c, m, tools, false, o->assistant_only_loss, &full, &amask);
    } else if (d->kind == LMT_SFT_PROMPT_COMPLETION) {
        const lmt_json *p = lmt_json_get(row, "prompt"), *q = lmt_json_get(row, "completion");
        if (d->conversational) {
            if (!is_messages(p) || !q || q->type != LMT_JSON_ARRAY)
                st = lmt_fail(LMT_ERR_FORMAT, "%s: \"prompt\" and \"completion\" must be lists of messages (as in the first row)", c->where);
            if (!st && !(owned = lmt_json_new(LMT_JSON_ARRAY))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            for (size_t i = 0; !st && i < p->len + q->len; i++)
                if (lmt_json_array_push(owned, lmt_json_clone(i < p->len ? &p->items[i] : &q->items[i - p->len])) != LMT_OK)
                    st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            if (!st) st = render_encode(c, p, tools, true, false, &prompt, NULL);
            if (!st) st = render_encode(c, owned, tools, false, o->assistant_only_loss, &full, &amask);
        } else {
            if (!p || p->type != LMT_JSON_STRING || !q || q->type != LMT_JSON_STRING)
                st = lmt_fail(LMT_ERR_FORMAT, "%s: \"prompt\" and \"completion\" must be strings (as in the first row)", c->where);
            size_t cl = 0, pl = p ? p->len : 0;
            char *comp = st ? NULL : with_eos(q->str, q->len, c->eos, &cl), *both = NULL;
            if (!st && (!comp || !(both = malloc(pl + cl + 1)))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            if (!st) {
                memcpy(both, p->str, pl);
                memcpy(both + pl, comp, cl);
                st = encode(c, p->str, pl, true, &prompt);
                if (!st) st = encode(c, both, pl + cl, true, &full);
            }
            free(comp);
            free(both);
        }
        if (!st) {   /* the completion starts where prompt and prompt + completion diverge */
            size_t pn = common_prefix(&prompt, &full);
            if (!(cmask = malloc((full.n ? full.n : 1) * sizeof *cmask))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            for (size_t t = 0; !st && t < full.n; t++) cmask[t] = t >= pn;
        }
    } else if (o->formatting) {   /* formatting_func: the rendering is the row's text */
        char *text = NULL, *s;
        size_t tl = 0, n = 0;
        st = lmt_jinja_render(o->formatting, row, &text, &tl);
        if (st) st = lmt_fail_wrap(st, "%s: the formatting template", c->where);
        s = st ? NULL : with_eos(text, tl, c->eos, &n);
        if (!st && !s) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (!st) st = encode(c, s, n, true, &full);
        free(s);
        free(text);
    } else {
        const lmt_json *t = lmt_json_get(row, o->text_field);
        if (!t || t->type != LMT_JSON_STRING)
            st = lmt_fail(LMT_ERR_FORMAT, "%s: no string field \"%s\" (dataset_text_field; the dataset is %s, from its first row)",
                          c->where, o->text_field, kind_names[d->kind]);
        size_t n = 0;
        char *s = st ? NULL : with_eos(t->str, t->len, c->eos, &n);
        if (!st && !s) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (!st) st = encode(c, s, n, true, &full);
        free(s);
    }
    if (!st && amask) {
        bool any = false;
        for (size_t t = 0; t < full.n; t++) any |= amask[t] != 0;
        if (!any)
            st = lmt_fail(LMT_ERR_FORMAT, "%s: assistant_only_loss, but the chat template marks no assistant token in this "
                          "conversation ({%% generation %%} blocks render nothing)", c->where);
    }
    if (!st) {
        int32_t *lab = malloc((full.n ? full.n : 1) * sizeof *lab);
        if (!lab) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        for (size_t t = 0; lab && t < full.n; t++) {
            bool keep = (!amask || amask[t]) && (!cmask || !d->completion_only_loss || cmask[t]);
            lab[t] = keep ? full.ids[t] : -100;
        }
        if (!st && (!vpush(ids, full.ids, full.n) || !vpush(labels, lab, full.n))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(lab);
    }
    lmt_encoding_free(&full);
    lmt_encoding_free(&prompt);
    free(amask);
    free(cmask);
    lmt_json_free(owned);
    lmt_json_free(tools_parsed);
    return st;
}

static lmt_status push_row(lmt_json ***rows, size_t **lines, size_t *n, size_t *cap, lmt_json *j, size_t line) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        lmt_json **r = realloc(*rows, *cap * sizeof *r);
        size_t *l = realloc(*lines, *cap * sizeof *l);
        if (r) *rows = r;
        if (l) *lines = l;
        if (!r || !l) j = (lmt_json_free(j), NULL);
    }
    if (!j) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    (*lines)[*n] = line;
    (*rows)[(*n)++] = j;
    return LMT_OK;
}

/* the rows of a JSON Lines file (or a .json list) */
static lmt_status read_rows(const char *path, lmt_json ***rows, size_t **lines, size_t *n) {
    char *text;
    size_t len;
    *rows = NULL; *lines = NULL; *n = 0;
    LMT_TRY(lmt_read_file(path, &text, &len));
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) i++;
    lmt_status st = LMT_OK;
    size_t cap = 0;
    if (i < len && text[i] == '[') {   /* one JSON list of rows */
        lmt_json *all = NULL;
        if (!(st = lmt_json_parse(text, len, path, &all))) {
            for (size_t k = 0; !st && k < all->len; k++) {
                st = push_row(rows, lines, n, &cap, lmt_json_clone(&all->items[k]), k + 1);
            }
            lmt_json_free(all);
        }
    } else {
        size_t line = 0;
        for (size_t s = 0; s < len && !st;) {
            size_t e = s;
            while (e < len && text[e] != '\n') e++;
            line++;
            size_t b = s;
            while (b < e && (text[b] == ' ' || text[b] == '\r' || text[b] == '\t')) b++;
            if (b < e) {
                char where[512];
                snprintf(where, sizeof where, "%s: line %zu", path, line);
                lmt_json *j = NULL;
                st = lmt_json_parse(text + s, e - s, where, &j);
                if (!st && j->type != LMT_JSON_OBJECT) {
                    st = lmt_fail(LMT_ERR_FORMAT, "%s: a row must be a JSON object, found %s", where, lmt_json_type_name(j->type));
                    lmt_json_free(j);
                }
                if (!st) st = push_row(rows, lines, n, &cap, j, line);
            }
            s = e + 1;
        }
    }
    free(text);
    if (!st && *n == 0) st = lmt_fail(LMT_ERR_FORMAT, "%s: the dataset is empty (no rows)", path);
    if (st) {
        for (size_t k = 0; k < *n; k++) lmt_json_free((*rows)[k]);
        free(*rows);
        free(*lines);
        *rows = NULL; *lines = NULL; *n = 0;
    }
    return st;
}

static lmt_status detect_kind(const lmt_json *row, const lmt_sft_opts *o, lmt_sft_data *d) {
    if (o->formatting) { d->kind = LMT_SFT_TEXT; return LMT_OK; }   /* formatted rows are text rows */
    const lmt_json *p = lmt_json_get(row, "prompt"), *m = lmt_json_get(row, "messages"), *cv = lmt_json_get(row, "conversations");
    if (p && lmt_json_get(row, "completion")) {
        d->kind = LMT_SFT_PROMPT_COMPLETION;
        d->conversational = is_messages(p);
    } else if (is_messages(m) || (cv && cv->type == LMT_JSON_ARRAY && cv->len && lmt_json_get(&cv->items[0], "from"))) {
        d->kind = LMT_SFT_MESSAGES;
        d->conversational = true;
    } else d->kind = LMT_SFT_TEXT;
    return LMT_OK;
}

lmt_status lmt_sft_prepare(const lmt_tokenizer *tok, const lmt_chat_tmpl *tmpl, const char *path, const lmt_sft_opts *o,
                           lmt_sft_data *d) {
    memset(d, 0, sizeof *d);
    lmt_json **rows;
    size_t *lines, n;
    LMT_TRY(read_rows(path, &rows, &lines, &n));
    lmt_status st = detect_kind(rows[0], o, d);
    char first[512];
    snprintf(first, sizeof first, "%s: line %zu", path, lines[0]);
    d->completion_only_loss = o->completion_only_loss < 0 ? d->kind == LMT_SFT_PROMPT_COMPLETION : o->completion_only_loss == 1;
    if (!st && o->formatting && o->completion_only_loss == 1)
        st = lmt_fail(LMT_ERR_ARG, "a formatting template makes text rows, which have no completion: completion_only_loss "
                      "cannot be true with it (as SFTTrainer refuses formatting_func with completion_only_loss)");
    if (!st && d->kind == LMT_SFT_TEXT && !o->formatting && !lmt_json_get(rows[0], o->text_field))
        st = lmt_fail(LMT_ERR_FORMAT, "%s: the row has no \"messages\", no \"prompt\" + \"completion\" and no \"%s\" field "
                      "(dataset_text_field)", first, o->text_field);
    if (!st && o->assistant_only_loss && !d->conversational)
        st = lmt_fail(LMT_ERR_ARG, "%s: assistant_only_loss is only supported for conversational datasets (this one is %s)", path,
                      kind_names[d->kind]);
    if (!st && d->conversational && !tmpl)
        st = lmt_fail(LMT_ERR_ARG, "%s: conversational rows need a chat template, and the tokenizer has none", path);
    if (!st && o->assistant_only_loss && !lmt_chat_tmpl_has_generation(tmpl, NULL))
        st = lmt_fail(LMT_ERR_ARG, "%s: assistant_only_loss needs a chat template with {%% generation %%} ... {%% endgeneration %%} "
                      "around the assistant turns; the tokenizer's has none (give one with --chat_template_path FILE.jinja)", path);
    if (!st && o->packing && o->max_length <= 0) st = lmt_fail(LMT_ERR_ARG, "packing needs a max_length");
    /* the EOS string: SFTConfig.eos_token or the tokenizer's */
    const char *eos = o->eos_token;
    if (!st && !eos) {
        lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
        eos = sp.eos >= 0 ? lmt_tokenizer_id_to_token(tok, sp.eos) : NULL;
        if (!eos && !d->conversational) st = lmt_fail(LMT_ERR_ARG, "the tokenizer has no eos_token to append (set --eos_token)");
    }
    i32vec ids = {0}, labels = {0};
    int64_t *off = calloc(n + 1, sizeof *off);
    if (!st && !off) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    ctx c = {.tok = tok, .tmpl = tmpl, .o = o, .eos = eos};
    for (size_t r = 0; !st && r < n; r++) {
        char where[512];
        snprintf(where, sizeof where, "%s: line %zu", path, lines[r]);
        c.where = where;
        st = prepare_row(&c, rows[r], d, &ids, &labels);
        off[r + 1] = (int64_t)ids.n;
    }
    for (size_t r = 0; r < n; r++) lmt_json_free(rows[r]);
    free(rows);
    free(lines);
    d->off = off;
    d->ids = ids.v;
    d->labels = labels.v;
    d->n = st ? 0 : (int64_t)n;
    d->n_rows = (int64_t)n;
    if (!st && !o->packing && o->max_length > 0) {
        /* truncate to max_length, then drop the rows left without a label */
        int64_t w = 0, k = 0;
        for (int64_t i = 0; i < d->n; i++) {
            int64_t a = off[i], len = off[i + 1] - off[i];
            if (len > o->max_length) { if (o->keep_end) a += len - o->max_length; len = o->max_length; }
            bool any = false;
            for (int64_t t = 0; t < len; t++) any |= d->labels[a + t] != -100;
            if (!any) { d->n_dropped++; continue; }
            memmove(d->ids + w, d->ids + a, (size_t)len * sizeof *d->ids);
            memmove(d->labels + w, d->labels + a, (size_t)len * sizeof *d->labels);
            off[k++] = w;
            w += len;
        }
        off[k] = w;
        d->n = k;
    }
    /* shuffle_dataset: before packing (so bins mix unrelated rows) and after preparation */
    if (!st && o->packing && o->shuffle) st = lmt_sft_shuffle(d, o->seed);
    if (!st && o->packing) st = lmt_sft_pack(d, o->max_length, o->strategy, o->map_batch_size);
    if (!st && o->shuffle) st = lmt_sft_shuffle(d, o->seed);
    if (!st && d->n == 0) st = lmt_fail(LMT_ERR_FORMAT, "%s: no example left (every row lost its labels to truncation at max_length %lld)",
                                        path, (long long)o->max_length);
    if (st) lmt_sft_data_free(d);
    return st;
}

void lmt_sft_data_free(lmt_sft_data *d) {
    free(d->off);
    free(d->ids);
    free(d->labels);
    free(d->seq_off);
    free(d->seq_len);
    memset(d, 0, sizeof *d);
}

lmt_status lmt_sft_shuffle(lmt_sft_data *d, uint64_t seed) {
    int64_t n = d->n, *perm = malloc((size_t)(n + 1) * sizeof *perm), *off = malloc((size_t)(n + 1) * sizeof *off);
    int64_t *soff = d->seq_off ? malloc((size_t)(n + 1) * sizeof *soff) : NULL;
    size_t nt = (size_t)d->off[n], ns = d->seq_off ? (size_t)d->seq_off[n] : 0;
    int32_t *ids = malloc((nt + 1) * sizeof *ids), *lab = malloc((nt + 1) * sizeof *lab);
    int32_t *sl = d->seq_off ? malloc((ns + 1) * sizeof *sl) : NULL;
    if (!perm || !off || !ids || !lab || (d->seq_off && (!soff || !sl))) {
        free(perm); free(off); free(soff); free(ids); free(lab); free(sl);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory shuffling %lld examples", (long long)n);
    }
    lmt_np_rng g;
    lmt_np_rng_seed(&g, seed);
    lmt_np_permutation(&g, n, perm);
    off[0] = 0;
    if (soff) soff[0] = 0;
    for (int64_t i = 0; i < n; i++) {   /* select(permutation): example i is the old perm[i] */
        int64_t a = d->off[perm[i]], len = d->off[perm[i] + 1] - a;
        memcpy(ids + off[i], d->ids + a, (size_t)len * sizeof *ids);
        memcpy(lab + off[i], d->labels + a, (size_t)len * sizeof *lab);
        off[i + 1] = off[i] + len;
        if (soff) {
            int64_t sa = d->seq_off[perm[i]], sn = d->seq_off[perm[i] + 1] - sa;
            memcpy(sl + soff[i], d->seq_len + sa, (size_t)sn * sizeof *sl);
            soff[i + 1] = soff[i] + sn;
        }
    }
    free(perm);
    free(d->off); free(d->ids); free(d->labels); free(d->seq_off); free(d->seq_len);
    d->off = off; d->ids = ids; d->labels = lab; d->seq_off = soff; d->seq_len = sl;
    return LMT_OK;
}
