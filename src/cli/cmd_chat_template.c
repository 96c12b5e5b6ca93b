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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--tokenizer") && has) dir = argv[++i];
        else if (!strcmp(a, "--messages") && has) messages = argv[++i];
        else if (!strcmp(a, "--tools") && has) tools_file = argv[++i];
        else if (!strcmp(a, "--template") && has) o.template_name = argv[++i];
        else if (!strcmp(a, "--kwargs") && has) o.kwargs_json = argv[++i];
        else if (!strcmp(a, "--add_generation_prompt") || !strcmp(a, "--add-generation-prompt")) o.add_generation_prompt = true;
        else { fprintf(stderr, "lmtune: error: unknown or incomplete option '%s'\n\n", a); usage(stderr); return 2; }
    }
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
