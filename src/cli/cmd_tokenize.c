/* lmtune tokenize: text -> JSON lines of ids, tokens, offsets and word ids
 * (or, with --decode, JSON arrays of ids -> decoded text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "core/error.h"
#include "core/json.h"
#include "data/text_util.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

static const char usage_text[] =
    "usage: lmtune tokenize --tokenizer DIR [TEXT ... | --text STR | --file F] [options]\n\n"
    "Encodes text as transformers' fast tokenizer of DIR does and prints one JSON\n"
    "line per example: {\"ids\", \"tokens\", \"offsets\", \"word_ids\"}. Texts: positional\n"
    "arguments, --text (repeatable), or --file (each line one example; - or none: stdin).\n"
    "Input that is not valid UTF-8 is refused, as train refuses it. --decode: the input\n"
    "lines are JSON arrays of ids; prints {\"text\": ...} per line (--text takes \"[1, 2]\").\n"
    "Flags take underscores or hyphens (--max_length, --max-length).\n";

static void put_ints(lmt_strbuf *b, const int32_t *v, size_t n, bool none) {
    lmt_sb_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) lmt_sb_puts(b, ", ");
        if (none && v[i] < 0) lmt_sb_puts(b, "null");
        else lmt_sb_printf(b, "%d", v[i]);
    }
    lmt_sb_putc(b, ']');
}

static int encode_line(lmt_tokenizer *t, const char *s, size_t n, const char *pair, const lmt_encode_opts *o) {
    lmt_encoding e;
    if (lmt_tokenizer_encode(t, s, n, pair, pair ? strlen(pair) : 0, o, &e) != LMT_OK) return lmt_cli_error(lmt_last_error());
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\"ids\": ");
    put_ints(&b, e.ids, e.n, false);
    lmt_sb_puts(&b, ", \"tokens\": [");
    for (size_t i = 0; i < e.n; i++) {
        const char *tok = lmt_tokenizer_id_to_token(t, e.ids[i]);
        if (i) lmt_sb_puts(&b, ", ");
        if (tok) lmt_json_write_string(&b, tok, strlen(tok), false);
        else lmt_sb_puts(&b, "null");
    }
    lmt_sb_puts(&b, "], \"offsets\": [");
    for (size_t i = 0; i < e.n; i++) lmt_sb_printf(&b, "%s[%d, %d]", i ? ", " : "", e.offset_start[i], e.offset_end[i]);
    lmt_sb_puts(&b, "], \"word_ids\": ");
    put_ints(&b, e.word_ids, e.n, true);
    lmt_sb_puts(&b, "}\n");
    lmt_encoding_free(&e);
    if (b.oom) { lmt_sb_free(&b); return lmt_cli_error("out of memory"); }
    fwrite(b.data, 1, b.len, stdout);
    lmt_sb_free(&b);
    return 0;
}

/* --jsonl: the line is a JSON string, or an object with "text" */
static int encode_json_line(lmt_tokenizer *t, const char *s, size_t n, const char *pair, const lmt_encode_opts *o) {
    lmt_json *j;
    if (lmt_json_parse(s, n, "input", &j) != LMT_OK) return lmt_cli_error(lmt_last_error());
    const lmt_json *text = j->type == LMT_JSON_OBJECT ? lmt_json_get(j, "text") : j;
    int rc = text && text->type == LMT_JSON_STRING ? encode_line(t, text->str, text->len, pair, o)
                                                   : lmt_cli_error("--jsonl expects a JSON string (or an object with \"text\") per line");
    lmt_json_free(j);
    return rc;
}

static int decode_line(lmt_tokenizer *t, const char *s, size_t n, bool skip) {
    lmt_json *j;
    if (lmt_json_parse(s, n, "input", &j) != LMT_OK) return lmt_cli_error(lmt_last_error());
    const lmt_json *a = j->type == LMT_JSON_OBJECT ? lmt_json_get(j, "ids") : j;
    int rc = 0;
    if (!a || a->type != LMT_JSON_ARRAY) {
        rc = lmt_cli_error("--decode expects a JSON array of ids (or an object with \"ids\") per line");
    } else {
        int32_t *ids = malloc((a->len + 1) * sizeof *ids);
        for (size_t i = 0; ids && i < a->len && !rc; i++) {
            if (a->items[i].type != LMT_JSON_NUMBER || !a->items[i].is_int || a->items[i].i64 < 0 || a->items[i].i64 > INT32_MAX)
                rc = lmt_cli_error("--decode: ids must be non-negative integers");
            else ids[i] = (int32_t)a->items[i].i64;
        }
        char *text = NULL;
        size_t len = 0;
        if (!ids) rc = lmt_cli_error("out of memory");
        else if (!rc && lmt_tokenizer_decode(t, ids, a->len, skip, false, &text, &len) != LMT_OK) rc = lmt_cli_error(lmt_last_error());
        if (!rc) {
            lmt_strbuf b;
            lmt_sb_init(&b);
            lmt_sb_puts(&b, "{\"text\": ");
            lmt_json_write_string(&b, text, len, false);
            lmt_sb_puts(&b, "}\n");
            fwrite(b.data, 1, b.len, stdout);
            lmt_sb_free(&b);
        }
        free(text);
        free(ids);
    }
    lmt_json_free(j);
    return rc;
}

typedef struct {
    lmt_tokenizer *t;
    const char *pair;
    const lmt_encode_opts *o;
    bool decode, skip, keep_nl, jsonl;
    const char *path;
    int64_t line;
} tok_lines;

static int tok_line(void *ctx, char *line, size_t len) {
    tok_lines *c = ctx;
    /* as the dataset loaders (train) do: not UTF-8 is an error, not U+FFFD */
    if (lmt_data_check_utf8(c->path, line, len, ++c->line) != LMT_OK) return lmt_cli_error(lmt_last_error());
    if (!c->keep_nl && len && line[len - 1] == '\n') len--;
    if ((c->decode || c->jsonl) && len == 0) return 0;
    if (c->decode) return decode_line(c->t, line, len, c->skip);
    if (c->jsonl) return encode_json_line(c->t, line, len, c->pair, c->o);
    return encode_line(c->t, line, len, c->pair, c->o);
}

int lmt_cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *file = NULL, *pair = NULL;
    bool decode = false, skip = false, keep_nl = false, jsonl = false, no_special = false;
    int64_t max_length = 0;
    lmt_cli_texts texts = {0};
    lmt_encode_opts o = lmt_encode_opts_default();
    const lmt_flag flags[] = {
        {"tokenizer_name|tokenizer|model_name_or_path|model", LMT_FLAG_PATH, &dir, LMT_FLAG_ANY, NULL, "the tokenizer folder or Hub repo id", NULL},
        {"text", LMT_FLAG_STRING, &texts, LMT_FLAG_ANY, NULL, "a text (repeatable; or positional)", lmt_cli_texts_add},
        {"file", LMT_FLAG_STRING, &file, LMT_FLAG_ANY, NULL, "examples, one per line (- : stdin)", NULL},
        {"pair", LMT_FLAG_STRING, &pair, LMT_FLAG_ANY, NULL, "encode (text, STR) as a pair", NULL},
        {"keep_newlines", LMT_FLAG_BOOL, &keep_nl, LMT_FLAG_ANY, NULL, "keep each line's '\\n' (as HF's text loader does for WikiText)", NULL},
        {"jsonl", LMT_FLAG_BOOL, &jsonl, LMT_FLAG_ANY, NULL, "each line is a JSON string (or {\"text\": ...}); blank lines skipped", NULL},
        {"no_special_tokens", LMT_FLAG_BOOL, &no_special, LMT_FLAG_ANY, NULL, "add_special_tokens=False", NULL},
        {"max_length", LMT_FLAG_INT, &max_length, LMT_FLAG_MIN(1), NULL, "truncate to N tokens (truncation=True)", NULL},
        {"decode", LMT_FLAG_BOOL, &decode, LMT_FLAG_ANY, NULL, "input lines are JSON arrays of ids", NULL},
        {"skip_special_tokens", LMT_FLAG_BOOL, &skip, LMT_FLAG_ANY, NULL, "with --decode", NULL},
    };
    int rc = lmt_cli_parse_texts(argc, argv, flags, sizeof flags / sizeof flags[0], usage_text, lmt_cli_hub_help, &texts);
    if (!rc && !dir) { fprintf(stderr, "lmtune: error: --tokenizer is required (see --help)\n"); rc = 2; }
    if (!rc && texts.n && file) { fprintf(stderr, "lmtune: error: give texts or --file, not both\n"); rc = 2; }
    if (!rc && !(dir = lmt_cli_resolve(dir, false))) rc = 1;
    if (rc) { lmt_cli_texts_free(&texts); return rc < 0 ? 0 : rc; }
    if (max_length) { o.max_length = max_length; o.truncation = LMT_TRUNCATE_LONGEST_FIRST; }
    if (no_special) o.add_special_tokens = false;
    lmt_tokenizer *t;
    if (lmt_tokenizer_load(dir, &t) != LMT_OK) { lmt_cli_texts_free(&texts); return lmt_cli_error(lmt_last_error()); }
    for (int k = 0; !rc && k < texts.n; k++) {
        const char *x = texts.v[k];
        if (lmt_data_check_utf8("--text", x, strlen(x), 1) != LMT_OK) rc = lmt_cli_error(lmt_last_error());
        else rc = decode ? decode_line(t, x, strlen(x), skip) : encode_line(t, x, strlen(x), pair, &o);
    }
    if (!texts.n) {
        tok_lines c = {t, pair, &o, decode, skip, keep_nl, jsonl, file && strcmp(file, "-") ? file : "<stdin>", 0};
        rc = lmt_cli_each_line(file, tok_line, &c);
    }
    lmt_cli_texts_free(&texts);
    lmt_tokenizer_free(t);
    return rc;
}
