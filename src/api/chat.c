/* lmtune/chat.h over data/chat_template: JSON text in, the rendered
 * conversation (and its ids) out. */
#include <stdlib.h>
#include <string.h>
#include "lmtune/chat.h"
#include "core/error.h"
#include "core/json.h"
#include "data/chat_template.h"

struct lmt_chat_template { lmt_chat_tmpl *t; };

lmt_status lmt_chat_template_load(const char *dir, lmt_chat_template **out) {
    *out = NULL;
    lmt_chat_template *c = calloc(1, sizeof *c);
    if (!c) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = lmt_chat_tmpl_load(dir, &c->t);
    if (st) { free(c); return st; }
    *out = c;
    return LMT_OK;
}

void lmt_chat_template_free(lmt_chat_template *t) {
    if (!t) return;
    lmt_chat_tmpl_free(t->t);
    free(t);
}

static lmt_status parse_opt(const char *text, const char *what, lmt_json **out) {
    *out = NULL;
    if (!text) return LMT_OK;
    return lmt_json_parse(text, strlen(text), what, out);
}

lmt_status lmt_chat_template_render(const lmt_chat_template *t, const char *messages_json, const lmt_chat_opts *opts,
                                    char **text, size_t *text_len) {
    *text = NULL;
    lmt_chat_opts none = {0};
    if (!opts) opts = &none;
    if (!messages_json) return lmt_fail(LMT_ERR_ARG, "lmt_chat_template_render: no messages");
    lmt_json *msgs = NULL, *tools = NULL, *docs = NULL, *kw = NULL;
    lmt_status st = parse_opt(messages_json, "messages", &msgs);
    if (!st) st = parse_opt(opts->tools_json, "tools", &tools);
    if (!st) st = parse_opt(opts->documents_json, "documents", &docs);
    if (!st) st = parse_opt(opts->kwargs_json, "kwargs", &kw);
    if (!st) {
        lmt_chat_args a = {.messages = msgs, .tools = tools, .documents = docs,
                           .add_generation_prompt = opts->add_generation_prompt, .kwargs = kw, .name = opts->template_name};
        st = lmt_chat_tmpl_render(t->t, &a, text, text_len);
    }
    lmt_json_free(msgs);
    lmt_json_free(tools);
    lmt_json_free(docs);
    lmt_json_free(kw);
    return st;
}

lmt_status lmt_chat_template_encode(const lmt_chat_template *t, const lmt_tokenizer *tok, const char *messages_json,
                                    const lmt_chat_opts *opts, int32_t **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    char *text;
    size_t len;
    LMT_TRY(lmt_chat_template_render(t, messages_json, opts, &text, &len));
    lmt_encode_opts eo = lmt_encode_opts_default();
    eo.add_special_tokens = false;
    lmt_encoding e;
    lmt_status st = lmt_tokenizer_encode(tok, text, len, NULL, 0, &eo, &e);
    free(text);
    if (st) return st;
    *ids = malloc((e.n ? e.n : 1) * sizeof **ids);
    if (!*ids) { lmt_encoding_free(&e); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    memcpy(*ids, e.ids, e.n * sizeof **ids);
    *n_ids = e.n;
    lmt_encoding_free(&e);
    return LMT_OK;
}
