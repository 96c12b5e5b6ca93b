/* lmtune chat templates: a tokenizer folder's chat template rendered as
 * transformers' apply_chat_template renders it (docs/CHAT_TEMPLATES.md).
 * Conversations, tools and extra variables are passed as JSON text. */
#ifndef LMTUNE_CHAT_H
#define LMTUNE_CHAT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmt_chat_template lmt_chat_template;

/* Loads dir's chat template(s) and special tokens: chat_template.jinja,
 * additional_chat_templates/NAME.jinja, or tokenizer_config.json's
 * "chat_template" (a string or a list of {"name", "template"}).
 * LMT_ERR_NOT_FOUND when the folder has none; template syntax errors name
 * the file, line and column. */
LMT_API lmt_status lmt_chat_template_load(const char *dir, lmt_chat_template **out);
LMT_API void lmt_chat_template_free(lmt_chat_template *t);

typedef struct lmt_chat_opts {
    bool add_generation_prompt;
    const char *tools_json;      /* a JSON list of tool schemas, or NULL (None) */
    const char *documents_json;  /* a JSON list of documents, or NULL */
    const char *kwargs_json;     /* a JSON object of extra template variables, or NULL */
    const char *template_name;   /* NULL: as transformers picks ("tool_use" with tools, else "default") */
} lmt_chat_opts;

/* apply_chat_template(messages, tokenize=False): messages_json is a JSON list
 * of {"role", "content", ...} objects. *text is malloc'd (NUL-terminated).
 * A template's raise_exception() fails with its message, file, line and column. */
LMT_API lmt_status lmt_chat_template_render(const lmt_chat_template *t, const char *messages_json,
                                            const lmt_chat_opts *opts, char **text, size_t *text_len);
/* apply_chat_template(tokenize=True): the rendered text encoded by tok with
 * add_special_tokens=False. *ids is malloc'd. */
LMT_API lmt_status lmt_chat_template_encode(const lmt_chat_template *t, const lmt_tokenizer *tok,
                                            const char *messages_json, const lmt_chat_opts *opts,
                                            int32_t **ids, size_t *n_ids);

#ifdef __cplusplus
}
#endif
#endif
