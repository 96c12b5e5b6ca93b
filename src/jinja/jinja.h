/* A Jinja2 interpreter for chat templates: the subset real templates use,
 * with the environment transformers builds in _compile_jinja_template
 * (trim_blocks, lstrip_blocks, loopcontrols, the {% generation %} tag,
 * raise_exception, strftime_now, namespace, its own tojson filter).
 * docs/CHAT_TEMPLATES.md lists what is covered. Errors name the template's
 * source, line and column: "dir/chat_template.jinja: line 3, column 8: ...". */
#ifndef LMT_JINJA_JINJA_H
#define LMT_JINJA_JINJA_H
#include <stddef.h>
#include "lmtune/lmtune.h"
#include "core/json.h"

typedef struct lmt_jinja_template lmt_jinja_template;

/* Compiles src[0..len); `source` names the template in error messages. */
lmt_status lmt_jinja_compile(const char *src, size_t len, const char *source, lmt_jinja_template **out);
void lmt_jinja_free(lmt_jinja_template *t);
/* Renders with the members of `context` (a JSON object, or NULL) as the
 * template's variables (JSON null is Python's None; an absent key is
 * undefined). *out is malloc'd and NUL-terminated. strftime_now() reads the
 * clock, or LMT_TEMPLATE_NOW (Unix seconds, taken as UTC) when set. */
lmt_status lmt_jinja_render(const lmt_jinja_template *t, const lmt_json *context, char **out, size_t *out_len);
/* Whether the template has a {% generation %} block (TRL's has_generation_markers). */
bool lmt_jinja_has_generation(const lmt_jinja_template *t);
/* The same, and where the {% generation %} blocks rendered into the output
 * (transformers' AssistantTracker): *n_spans pairs of byte offsets
 * [start, end) in *spans (malloc'd; NULL when there are none). */
lmt_status lmt_jinja_render_tracked(const lmt_jinja_template *t, const lmt_json *context, char **out, size_t *out_len,
                                    size_t **spans, size_t *n_spans);
#endif
