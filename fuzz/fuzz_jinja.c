/* Chat templates: the Jinja lexer, parser and interpreter on a fuzzed
 * template, rendered with a fixed conversation (messages, tools, bos/eos,
 * add_generation_prompt) as apply_chat_template passes it. */
#include "fuzz_common.h"
#include "core/json.h"
#include "jinja/jinja.h"

static const char context_json[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi <b>there</b>\"},"
    " {\"role\": \"assistant\", \"content\": \"Hello!\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"f\","
    " \"arguments\": {\"x\": 1}}}]}, {\"role\": \"tool\", \"content\": \"42\"}], \"parts\": [{\"type\": \"text\", \"text\": \"42\"}],"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"object\"}}}],"
    " \"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_generation_prompt\": true, \"n\": 3, \"pi\": 3.5, \"none\": null}";

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    static lmt_json *ctx;
    if (!ctx && lmt_json_parse(context_json, sizeof context_json - 1, "context", &ctx) != LMT_OK) abort();
    (void)lmt_fuzz_scratch();   /* quiet warnings */
    lmt_jinja_template *t = NULL;
    if (lmt_jinja_compile((const char *)data, size, "chat_template", &t) != LMT_OK) return 0;
    char *out = NULL;
    size_t n = 0;
    if (lmt_jinja_render(t, ctx, &out, &n) == LMT_OK) free(out);
    lmt_jinja_free(t);
    return 0;
}
