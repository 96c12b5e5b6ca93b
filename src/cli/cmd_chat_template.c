/* lmtune chat-template: conversations (JSON lines) -> the text and ids that
 * transformers' apply_chat_template gives, one JSON line each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/hub_flags.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/chat.h"
#include "lmtune/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lmtune chat-template --tokenizer DIR [--messages FILE.jsonl] [options]\n\n"
            "Renders each conversation with the chat template of DIR (a folder or a Hub\n"
            "repo id) as transformers' apply_chat_template does, and prints one JSON line\n"
            "per conversation: {\"text\": ..., \"ids\": [...]} (tokenize=False and\n"
            "tokenize=True). Each input line is a JSON list of messages, or an object\n"
            "{\"messages\": [...], \"tools\": [...]}; without --messages (or with -) stdin.\n"
            "\"ids\" is null (with a note on stderr) when DIR's tokenizer cannot be loaded.\n\n"
            "options:\n"
            "  --add_generation_prompt  end with the header of an assistant turn\n"
            "  --tools FILE.json        a JSON list of tool schemas for every conversation\n"
            "  --template NAME          one of a folder's named templates\n"
            "  --kwargs JSON            extra template variables, a JSON object\n"
            "strftime_now() in templates reads LMT_TEMPLATE_NOW (Unix seconds, UTC) when set.\n");
}

static char *json_text(const lmt_json *j) {
    if (!j || j->type == LMT_JSON_NULL) return NULL;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write(&b, j, 0);
    return lmt_sb_take(&b);
}

static int one(const lmt_chat_template *t, const lmt_tokenizer *tok, const char *line, size_t len, lmt_chat_opts o) {
    lmt_json *j;
    if (lmt_json_parse(line, len, "messages", &j) != LMT_OK) return lmt_cli_error(lmt_last_error());
    const lmt_json *msgs = j->type == LMT_JSON_OBJECT ? lmt_json_get(j, "messages") : j;
    const lmt_json *tools = j->type == LMT_JSON_OBJECT ? lmt_json_get(j, "tools") : NULL;
    char *m = json_text(msgs), *tl = json_text(tools), *text = NULL;
    if (tl) o.tools_json = tl;
    size_t n = 0;
    int rc = 0;
    if (!m) rc = lmt_cli_error("each line must be a JSON list of messages or {\"messages\": [...]}");
    else if (lmt_chat_template_render(t, m, &o, &text, &n) != LMT_OK) rc = lmt_cli_error(lmt_last_error());
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (!rc && tok && lmt_chat_template_encode(t, tok, m, &o, &ids, &n_ids) != LMT_OK) rc = lmt_cli_error(lmt_last_error());
    if (!rc) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, "{\"text\": ");
        lmt_json_write_string(&b, text, n, false);
        lmt_sb_puts(&b, ", \"ids\": ");
        if (!tok) lmt_sb_puts(&b, "null");
        else {
            lmt_sb_putc(&b, '[');
            for (size_t i = 0; i < n_ids; i++) lmt_sb_printf(&b, "%s%d", i ? ", " : "", ids[i]);
            lmt_sb_putc(&b, ']');
        }
        lmt_sb_puts(&b, "}\n");
        if (b.oom) rc = lmt_cli_error("out of memory");
        else fwrite(b.data, 1, b.len, stdout);
        lmt_sb_free(&b);
    }
    free(ids);
    free(text);
    free(m);
    free(tl);
    lmt_json_free(j);
    return rc;
}

typedef struct {
    const lmt_chat_template *t;
    const lmt_tokenizer *tok;
    lmt_chat_opts o;
} chat_lines;

static int chat_line(void *ctx, char *line, size_t len) {
    chat_lines *c = ctx;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    return len ? one(c->t, c->tok, line, len, c->o) : 0;
}

int lmt_cmd_chat_template(int argc, char **argv) {
    const char *dir = NULL, *messages = NULL, *tools_file = NULL;
    lmt_chat_opts o = {0};
    bool add_gen = false;
    const char *template_name = NULL, *kwargs = NULL;
    const lmt_flag flags[] = {
        {"tokenizer_name|tokenizer|model_name_or_path|model", LMT_FLAG_PATH, &dir, LMT_FLAG_ANY, NULL, "the tokenizer folder or Hub repo id", NULL},
        {"messages|file", LMT_FLAG_STRING, &messages, LMT_FLAG_ANY, NULL, "JSON Lines of conversations (default stdin)", NULL},
        {"tools", LMT_FLAG_PATH, &tools_file, LMT_FLAG_ANY, NULL, "a JSON list of tool schemas", NULL},
        {"template", LMT_FLAG_STRING, &template_name, LMT_FLAG_ANY, NULL, "a named template of the folder", NULL},
        {"kwargs", LMT_FLAG_STRING, &kwargs, LMT_FLAG_ANY, NULL, "a JSON object of extra template variables", NULL},
        {"add_generation_prompt", LMT_FLAG_BOOL, &add_gen, LMT_FLAG_ANY, NULL, "end with the assistant's turn opened", NULL},
    };
    char header[2048];
    FILE *hf = fmemopen(header, sizeof header, "w");
    if (hf) { usage(hf); fclose(hf); } else header[0] = '\0';
    int rc0 = lmt_cli_parse_flags(argc, argv, flags, sizeof flags / sizeof flags[0], NULL, NULL, header, NULL);
    if (rc0) return rc0 < 0 ? 0 : rc0;
    o.add_generation_prompt = add_gen;
    o.template_name = template_name;
    o.kwargs_json = kwargs;
    if (!dir) { usage(stderr); return 2; }
    if (!(dir = lmt_cli_resolve(dir, false))) return 1;
    char *tools = NULL;
    size_t tools_len;
    if (tools_file && lmt_read_file(tools_file, &tools, &tools_len) != LMT_OK) return lmt_cli_error(lmt_last_error());
    o.tools_json = tools;
    lmt_chat_template *t;
    if (lmt_chat_template_load(dir, &t) != LMT_OK) { free(tools); return lmt_cli_error(lmt_last_error()); }
    lmt_tokenizer *tok = NULL;
    if (lmt_tokenizer_load(dir, &tok) != LMT_OK) {
        fprintf(stderr, "lmtune: note: the tokenizer of %s does not load (%s): \"ids\" are null\n", dir, lmt_last_error());
        tok = NULL;
    }
    chat_lines c = {t, tok, o};
    int rc = lmt_cli_each_line(messages, chat_line, &c);
    lmt_tokenizer_free(tok);
    lmt_chat_template_free(t);
    free(tools);
    return rc;
}
