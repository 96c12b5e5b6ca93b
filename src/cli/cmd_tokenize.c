/* lmtune tokenize: text -> JSON lines of ids, tokens, offsets and word ids
 * (or, with --decode, JSON arrays of ids -> decoded text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lmtune tokenize --tokenizer DIR [--text STR | --file F] [options]\n\n"
            "Encodes text as transformers' fast tokenizer of DIR does and prints one JSON\n"
            "line per example: {\"ids\", \"tokens\", \"offsets\", \"word_ids\"}. Without\n"
            "--text or --file, reads stdin. In files and stdin each line is one example.\n\n"
            "options:\n"
            "  --pair STR              encode (text, STR) as a pair\n"
            "  --keep-newlines         keep each line's '\\n' in the example (as HF's text\n"
            "                          loader does for WikiText)\n"
            "  --jsonl                 each input line is one JSON string (or {\"text\": ...}),\n"
            "                          so that texts may hold newlines; blank lines are skipped\n"
            "  --no-special-tokens     add_special_tokens=False\n"
            "  --max-length N          truncate to N tokens (truncation=True)\n"
            "  --decode                input lines are JSON arrays of ids; prints\n"
            "                          {\"text\": ...} per line (--text takes \"[1, 2]\")\n"
            "  --skip-special-tokens   with --decode\n");
}

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
} tok_lines;

static int tok_line(void *ctx, char *line, size_t len) {
    tok_lines *c = ctx;
    if (!c->keep_nl && len && line[len - 1] == '\n') len--;
    if ((c->decode || c->jsonl) && len == 0) return 0;
    if (c->decode) return decode_line(c->t, line, len, c->skip);
    if (c->jsonl) return encode_json_line(c->t, line, len, c->pair, c->o);
    return encode_line(c->t, line, len, c->pair, c->o);
}

int lmt_cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *text = NULL, *file = NULL, *pair = NULL;
    bool decode = false, skip = false, keep_nl = false, jsonl = false;
    lmt_encode_opts o = lmt_encode_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--tokenizer") && has) dir = argv[++i];
        else if (!strcmp(a, "--text") && has) text = argv[++i];
        else if (!strcmp(a, "--file") && has) file = argv[++i];
        else if (!strcmp(a, "--pair") && has) pair = argv[++i];
        else if (!strcmp(a, "--max-length") && has) {
            int64_t v;
            if (!lmt_cli_int("max-length", argv[++i], 1, INT64_MAX, &v)) return 2;
            o.max_length = v;
            o.truncation = LMT_TRUNCATE_LONGEST_FIRST;
        }
        else if (!strcmp(a, "--decode")) decode = true;
        else if (!strcmp(a, "--skip-special-tokens")) skip = true;
        else if (!strcmp(a, "--keep-newlines")) keep_nl = true;
        else if (!strcmp(a, "--jsonl")) jsonl = true;
        else if (!strcmp(a, "--no-special-tokens")) o.add_special_tokens = false;
        else { fprintf(stderr, "lmtune: error: unknown or incomplete option '%s'\n\n", a); usage(stderr); return 2; }
    }
    if (!dir) { usage(stderr); return 2; }
    if (text && file) { fprintf(stderr, "lmtune: error: give --text or --file, not both\n"); return 2; }
    if (!(dir = lmt_cli_resolve(dir, false))) return 1;
    lmt_tokenizer *t;
    if (lmt_tokenizer_load(dir, &t) != LMT_OK) return lmt_cli_error(lmt_last_error());
    int rc = 0;
    if (text) {
        rc = decode ? decode_line(t, text, strlen(text), skip) : encode_line(t, text, strlen(text), pair, &o);
    } else {
        tok_lines c = {t, pair, &o, decode, skip, keep_nl, jsonl};
        rc = lmt_cli_each_line(file, tok_line, &c);
    }
    lmt_tokenizer_free(t);
    return rc;
}
