/* Chat templates against transformers' apply_chat_template: every template x
 * conversation x add_generation_prompt of tests/fixtures/chat_templates/
 * chat_cases.json (tools/reference/make_chat_template_fixtures.py) renders
 * string-identically, raises where transformers raises, and - where the
 * folder's tokenizer loads - encodes to the same ids (tokenize=True). Then
 * the CLI: lmtune chat-template and lmtune tokenize --jsonl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "cli_run.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/chat.h"
#include "lmtune/tokenizer.h"

static char *folder(const char *spec) {
    char buf[4096];
    if (!strncmp(spec, "shared:", 7)) snprintf(buf, sizeof buf, "%s/llama-family/%s", LMT_SHARED_DATA, spec + 7);
    else snprintf(buf, sizeof buf, "%s/tests/fixtures/chat_templates/%s", LMT_SOURCE_DIR, spec + 8);
    return lmt_strdup(buf);
}

static char *to_json(const lmt_json *j) {
    if (!j || j->type == LMT_JSON_NULL) return NULL;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write(&b, j, 0);
    return lmt_sb_take(&b);
}

typedef struct { char *spec; lmt_chat_template *t; lmt_tokenizer *tok; bool tried; } cache_entry;
static cache_entry cache[32];
static size_t n_cache;

static cache_entry *get(const char *tmpl_spec, const char *tok_spec) {
    for (size_t i = 0; i < n_cache; i++) if (!strcmp(cache[i].spec, tmpl_spec)) return &cache[i];
    cache_entry *c = &cache[n_cache++];
    c->spec = lmt_strdup(tmpl_spec);
    char *dir = folder(tmpl_spec), *tdir = folder(tok_spec);
    CHECK_OK(lmt_chat_template_load(dir, &c->t));
    if (lmt_tokenizer_load(tdir, &c->tok) != LMT_OK) {
        printf("%s: no ids checked (lmt_tokenizer_load: %s)\n", tok_spec, lmt_last_error());
        c->tok = NULL;
    }
    free(dir);
    free(tdir);
    return c;
}

static size_t n_text, n_raise, n_ids, n_ids_skipped;


static void run_case(const lmt_json *c) {
    const char *tname = lmt_json_get(c, "template")->str, *conv = lmt_json_get(c, "conversation")->str;
    cache_entry *ce = get(lmt_json_get(c, "dir")->str, lmt_json_get(c, "tokenizer")->str);
    if (!ce->t) return;
    char *msgs = to_json(lmt_json_get(c, "messages")), *tools = to_json(lmt_json_get(c, "tools"));
    lmt_chat_opts o = {.add_generation_prompt = lmt_json_get(c, "add_generation_prompt")->boolean, .tools_json = tools};
    const lmt_json *text = lmt_json_get(c, "text"), *ids = lmt_json_get(c, "ids");
    char *got = NULL;
    size_t len = 0;
    lmt_status st = lmt_chat_template_render(ce->t, msgs, &o, &got, &len);
    if (text) {
        CHECK_MSG(st == LMT_OK, "%s / %s: %s", tname, conv, lmt_last_error());
        if (st == LMT_OK) {
            CHECK_MSG(len == text->len && memcmp(got, text->str, len) == 0, "%s / %s (generation prompt %d):\n--- got\n%s\n--- want\n%s",
                      tname, conv, o.add_generation_prompt, got, text->str);
            n_text++;
        }
    } else {
        CHECK_MSG(st != LMT_OK, "%s / %s renders where transformers raises %s", tname, conv, lmt_json_get(c, "error")->str);
        if (st != LMT_OK) {
            const char *msg = lmt_last_error(), *err = lmt_json_get(c, "error")->str, *colon = strstr(err, ": ");
            CHECK_MSG(strstr(msg, "line ") && strstr(msg, "column "), "%s / %s: no position in \"%s\"", tname, conv, msg);
            if (colon && !strncmp(err, "TemplateError", 13))
                CHECK_MSG(strstr(msg, colon + 2) != NULL, "%s / %s: \"%s\" lacks \"%s\"", tname, conv, msg, colon + 2);
            n_raise++;
        }
    }
    if (text && ids && ce->tok) {
        int32_t *got_ids = NULL;
        size_t n = 0;
        st = lmt_chat_template_encode(ce->t, ce->tok, msgs, &o, &got_ids, &n);
        CHECK_MSG(st == LMT_OK, "%s / %s: %s", tname, conv, lmt_last_error());
        bool same = st == LMT_OK && n == ids->len;
        for (size_t i = 0; same && i < n; i++) same = got_ids[i] == ids->items[i].i64;
        CHECK_MSG(same, "%s / %s: ids differ (%zu vs %zu tokens)", tname, conv, n, ids->len);
        n_ids++;
        free(got_ids);
    } else if (text && ids) {
        n_ids_skipped++;
    }
    free(got);
    free(msgs);
    free(tools);
}

static void test_cases(void) {
    lmt_json *doc = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/chat_templates/chat_cases.json", &doc));
    if (!doc) return;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)lmt_json_get(lmt_json_get(doc, "meta"), "LMT_TEMPLATE_NOW")->i64);
    setenv("LMT_TEMPLATE_NOW", now, 1);
    const lmt_json *cases = lmt_json_get(doc, "cases");
    for (size_t i = 0; i < cases->len; i++) run_case(&cases->items[i]);
    CHECK(n_text >= 6 * 20);
    /* every folder's tokenizer loads now (the general tokenizer.json pipeline): every id list is checked */
    CHECK_MSG(n_ids_skipped == 0, "%zu id lists not checked: their tokenizer did not load", n_ids_skipped);
    printf("%zu texts identical, %zu raise as transformers does, %zu id lists identical\n", n_text, n_raise, n_ids);
    for (size_t i = 0; i < n_cache; i++) {
        free(cache[i].spec);
        lmt_chat_template_free(cache[i].t);
        lmt_tokenizer_free(cache[i].tok);
    }
    lmt_json_free(doc);
}

/* loading: a list of named templates, chat_template.jinja over the config, errors */
static void test_loading(void) {
    char dir[] = "/tmp/lmt-chat-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(false); return; }
    char path[4200], cmd[8600];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"bos_token\": {\"content\": \"<B>\", \"special\": true}, \"eos_token\": \"<E>\", \"chat_template\": ["
          "{\"name\": \"default\", \"template\": \"D{{ bos_token }}{{ messages|length }}\"},"
          "{\"name\": \"tool_use\", \"template\": \"T{{ tools|length }}{{ eos_token }}\"}]}", f);
    fclose(f);
    lmt_chat_template *t = NULL;
    char *text = NULL;
    CHECK_OK(lmt_chat_template_load(dir, &t));
    if (t) {
        CHECK_OK(lmt_chat_template_render(t, "[{\"role\": \"user\", \"content\": \"x\"}]", NULL, &text, NULL));
        if (text) CHECK_STREQ(text, "D<B>1");
        free(text);
        text = NULL;
        lmt_chat_opts o = {.tools_json = "[{}, {}]"};
        CHECK_OK(lmt_chat_template_render(t, "[{\"role\": \"user\", \"content\": \"x\"}]", &o, &text, NULL));
        if (text) CHECK_STREQ(text, "T2<E>");
        free(text);
        text = NULL;
        o.template_name = "nope";
        CHECK(lmt_chat_template_render(t, "[{\"role\": \"user\"}]", &o, &text, NULL) == LMT_ERR_ARG);
        CHECK(lmt_chat_template_render(t, "[]", NULL, &text, NULL) == LMT_ERR_ARG);
        CHECK(lmt_chat_template_render(t, "[1]", NULL, &text, NULL) == LMT_ERR_ARG);
        CHECK(lmt_chat_template_render(t, "[{", NULL, &text, NULL) != LMT_OK);
        lmt_chat_template_free(t);
    }
    /* chat_template.jinja wins over the config; a syntax error names it, line and column */
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    f = fopen(path, "w");
    fputs("ok\n{% for m in messages %}\n  {{ m.content + }}\n{% endfor %}\n", f);
    fclose(f);
    CHECK(lmt_chat_template_load(dir, &t) == LMT_ERR_FORMAT);
    CHECK_MSG(strstr(lmt_last_error(), "chat_template.jinja: line 3, column 18") != NULL, "%s", lmt_last_error());
    f = fopen(path, "w");
    fputs("J{{ messages[0].content }}", f);
    fclose(f);
    CHECK_OK(lmt_chat_template_load(dir, &t));
    if (t) {
        CHECK_OK(lmt_chat_template_render(t, "[{\"role\": \"user\", \"content\": \"x\", \"tool_calls\": null}]", NULL, &text, NULL));
        if (text) CHECK_STREQ(text, "Jx");
        free(text);
        lmt_chat_template_free(t);
    }
    /* additional_chat_templates/NAME.jinja: named templates beside the default file */
    snprintf(path, sizeof path, "%s/additional_chat_templates", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/additional_chat_templates/tool_use.jinja", dir);
    f = fopen(path, "w");
    fputs("TU{{ tools[0].name }}{{ bos_token }}\n", f);
    fclose(f);
    CHECK_OK(lmt_chat_template_load(dir, &t));
    if (t) {
        lmt_chat_opts o = {.tools_json = "[{\"name\": \"f\"}]"};
        CHECK_OK(lmt_chat_template_render(t, "[{\"role\": \"user\", \"content\": \"x\"}]", &o, &text, NULL));
        if (text) CHECK_STREQ(text, "TUf<B>");
        free(text);
        text = NULL;
        CHECK_OK(lmt_chat_template_render(t, "[{\"role\": \"user\", \"content\": \"x\"}]", NULL, &text, NULL));
        if (text) CHECK_STREQ(text, "Jx");
        free(text);
        lmt_chat_template_free(t);
    }
    CHECK(lmt_chat_template_load(LMT_SHARED_DATA "/llama-family/SmolLM2-135M", &t) == LMT_ERR_NOT_FOUND);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* the output lines of the last run() that are JSON objects, in order */
static lmt_json *json_lines(void) {
    lmt_json *arr = lmt_json_new(LMT_JSON_ARRAY);
    for (char *p = out; arr && p && *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lmt_json *j;
        if (*p == '{' && lmt_json_parse(p, len, "output", &j) == LMT_OK) lmt_json_array_push(arr, j);
        p = nl ? nl + 1 : NULL;
    }
    return arr;
}

/* lmtune chat-template on Llama-3.2's cases with the generation prompt
 * (strftime_now, tools per line) against the recorded texts */
static void test_cli_chat_template(void) {
    lmt_json *doc = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/chat_templates/chat_cases.json", &doc));
    if (!doc) return;
    const lmt_json *cases = lmt_json_get(doc, "cases");
    char path[] = "/tmp/lmt-chat-cli-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) { CHECK(false); lmt_json_free(doc); return; }
    const lmt_json *want[64];
    size_t n = 0;
    for (size_t i = 0; i < cases->len && n < 64; i++) {
        const lmt_json *c = &cases->items[i];
        if (strcmp(lmt_json_get(c, "template")->str, "Llama-3.2-1B-Instruct") || !lmt_json_get(c, "add_generation_prompt")->boolean ||
            !lmt_json_get(c, "text"))
            continue;
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, "{\"messages\": ");
        lmt_json_write(&b, lmt_json_get(c, "messages"), 0);
        lmt_sb_puts(&b, ", \"tools\": ");
        lmt_json_write(&b, lmt_json_get(c, "tools"), 0);
        lmt_sb_puts(&b, "}\n");
        fwrite(b.data, 1, b.len, f);
        lmt_sb_free(&b);
        want[n++] = lmt_json_get(c, "text");
    }
    fclose(f);
    CHECK(n >= 15);
    int rc = runf("chat-template --tokenizer '%s/llama-family/Llama-3.2-1B-Instruct' --messages %s --add_generation_prompt",
                  LMT_SHARED_DATA, path);
    CHECK_MSG(rc == 0, "%s", out);
    lmt_json *lines = json_lines();
    CHECK_MSG(lines && lines->len == n, "%zu lines for %zu conversations: %s", lines ? lines->len : 0, n, out);
    for (size_t i = 0; lines && i < lines->len && i < n; i++) {
        const lmt_json *text = lmt_json_get(&lines->items[i], "text");
        CHECK_MSG(text && text->len == want[i]->len && !memcmp(text->str, want[i]->str, text->len), "line %zu differs", i);
        CHECK(lmt_json_get(&lines->items[i], "ids") != NULL);
    }
    lmt_json_free(lines);
    /* a template that raises: exit 1 and the message */
    f = fopen(path, "w");
    fputs("[{\"role\": \"assistant\", \"content\": \"first\"}]\n", f);
    fclose(f);
    rc = runf("chat-template --tokenizer '%s/tests/fixtures/chat_templates/mistral' --messages %s", LMT_SOURCE_DIR, path);
    CHECK_MSG(rc == 1 && strstr(out, "Conversation roles must alternate") && strstr(out, "line 1, column"), "rc %d: %s", rc, out);
    CHECK(runf("chat-template --messages %s", path) == 2);
    unlink(path);
    lmt_json_free(doc);
}

/* lmtune tokenize --jsonl: texts with newlines, one JSON string a line, as GPT-2 encodes them */
static void test_cli_tokenize_jsonl(void) {
    lmt_json *cases = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/chat_templates/tokenize_jsonl.json", &cases));
    if (!cases) return;
    char path[] = "/tmp/lmt-tok-jsonl-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) { CHECK(false); lmt_json_free(cases); return; }
    for (size_t i = 0; i < cases->len; i++) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        const lmt_json *t = lmt_json_get(&cases->items[i], "text");
        lmt_json_write_string(&b, t->str, t->len, i % 2 == 1);   /* escaped and raw UTF-8 both read */
        lmt_sb_puts(&b, i == 0 ? "\n\n" : "\n");             /* a blank line is skipped */
        fwrite(b.data, 1, b.len, f);
        lmt_sb_free(&b);
    }
    fclose(f);
    int rc = runf("tokenize --tokenizer '%s/tokenizers/gpt2' --jsonl --file %s", LMT_SHARED_DATA, path);
    CHECK_MSG(rc == 0, "%s", out);
    lmt_json *lines = json_lines();
    CHECK_MSG(lines && lines->len == cases->len, "%s", out);
    for (size_t i = 0; lines && i < lines->len && i < cases->len; i++) {
        const lmt_json *got = lmt_json_get(&lines->items[i], "ids"), *want = lmt_json_get(&cases->items[i], "ids");
        bool same = got && got->len == want->len;
        for (size_t k = 0; same && k < got->len; k++) same = got->items[k].i64 == want->items[k].i64;
        CHECK_MSG(same, "tokenize --jsonl line %zu", i);
    }
    lmt_json_free(lines);
    f = fopen(path, "w");
    fputs("[1, 2]\n", f);
    fclose(f);
    CHECK(runf("tokenize --tokenizer '%s/tokenizers/gpt2' --jsonl --file %s", LMT_SHARED_DATA, path) == 1);
    unlink(path);
    lmt_json_free(cases);
}

int main(void) {
    test_cases();
    test_cli_chat_template();
    test_cli_tokenize_jsonl();
    test_loading();
    return lmt_test_finish();
}
