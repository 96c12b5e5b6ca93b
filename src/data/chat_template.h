/* Chat templates as transformers 5 loads and applies them
 * (PreTrainedTokenizerBase.from_pretrained, get_chat_template,
 * apply_chat_template, render_jinja_template): the template of a tokenizer
 * folder, its special tokens, and the rendering of a conversation. */
#ifndef LMT_DATA_CHAT_TEMPLATE_H
#define LMT_DATA_CHAT_TEMPLATE_H
#include <stdbool.h>
#include "lmtune/lmtune.h"
#include "core/json.h"

typedef struct lmt_chat_tmpl lmt_chat_tmpl;

/* Loads from dir: chat_template.jinja (the "default") and
 * additional_chat_templates/NAME.jinja, which take priority over
 * tokenizer_config.json's "chat_template" (a string, or a list of
 * {"name", "template"}); and the special tokens (bos_token, eos_token,
 * unk_token, sep_token, pad_token, cls_token, mask_token: strings or
 * AddedToken objects with "content") of tokenizer_config.json, then
 * special_tokens_map.json. LMT_ERR_NOT_FOUND when dir has no template. */
lmt_status lmt_chat_tmpl_load(const char *dir, lmt_chat_tmpl **out);
void lmt_chat_tmpl_free(lmt_chat_tmpl *t);
/* The template names (NULL-terminated; "default" for a single string). */
const char *const *lmt_chat_tmpl_names(const lmt_chat_tmpl *t);

typedef struct lmt_chat_args {
    const lmt_json *messages;    /* a JSON list of message objects (required) */
    const lmt_json *tools;       /* a list, or NULL (the template sees None) */
    const lmt_json *documents;   /* a list, or NULL */
    bool add_generation_prompt;
    const lmt_json *kwargs;      /* an object of extra template variables, or NULL */
    const char *name;            /* the template to use; NULL: as get_chat_template picks */
} lmt_chat_args;
/* apply_chat_template(tokenize=False): *out malloc'd. Errors name the
 * template's file (and line and column for template errors). */
lmt_status lmt_chat_tmpl_render(const lmt_chat_tmpl *t, const lmt_chat_args *args, char **out, size_t *out_len);
/* The same, with the byte spans of its {% generation %} blocks
 * (apply_chat_template's return_assistant_tokens_mask; jinja.h). */
lmt_status lmt_chat_tmpl_render_tracked(const lmt_chat_tmpl *t, const lmt_chat_args *args, char **out, size_t *out_len,
                                        size_t **spans, size_t *n_spans);
/* tokenizer.chat_template = the file's text (TRL's chat_template_path to a
 * .jinja file): it becomes the one "default" template; the special tokens stay. */
lmt_status lmt_chat_tmpl_use_file(lmt_chat_tmpl *t, const char *path);
/* Whether the template (NULL: the default) has {% generation %} markers. */
bool lmt_chat_tmpl_has_generation(const lmt_chat_tmpl *t, const char *name);
#endif
