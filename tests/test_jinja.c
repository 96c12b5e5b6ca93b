/* The Jinja interpreter against jinja2 itself: every case of
 * tests/fixtures/chat_templates/jinja_cases.json (rendered by jinja2 3.1 in
 * transformers' chat-template environment, tools/reference/
 * make_chat_template_fixtures.py) renders identically, and the error cases
 * fail naming the template, line and column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "jinja/jinja.h"
#include "lmtune/lmtune.h"

static void run_case(const lmt_json *c) {
    const lmt_json *name = lmt_json_get(c, "name"), *tmpl = lmt_json_get(c, "template");
    const lmt_json *ctx = lmt_json_get(c, "context"), *expected = lmt_json_get(c, "expected");
    char source[256];
    snprintf(source, sizeof source, "case:%s", name->str);
    lmt_jinja_template *t = NULL;
    char *out = NULL;
    size_t len = 0;
    lmt_status st = lmt_jinja_compile(tmpl->str, tmpl->len, source, &t);
    if (st == LMT_OK) st = lmt_jinja_render(t, ctx, &out, &len);
    if (expected) {
        CHECK_MSG(st == LMT_OK, "%s: %s", name->str, lmt_last_error());
        if (st == LMT_OK)
            CHECK_MSG(len == expected->len && memcmp(out, expected->str, len) == 0, "%s: got \"%s\", want \"%s\"",
                      name->str, out, expected->str);
    } else {
        CHECK_MSG(st != LMT_OK, "%s: rendered \"%s\" where jinja2 fails", name->str, out ? out : "");
        if (st != LMT_OK) {
            const char *msg = lmt_last_error();
            CHECK_MSG(strncmp(msg, source, strlen(source)) == 0, "%s: the message does not name the template: %s", name->str, msg);
            const lmt_json *line = lmt_json_get(c, "line"), *col = lmt_json_get(c, "column");
            if (line && col) {
                char want[64];
                snprintf(want, sizeof want, "line %lld, column %lld:", (long long)line->i64, (long long)col->i64);
                CHECK_MSG(strstr(msg, want) != NULL, "%s: want \"%s\" in \"%s\"", name->str, want, msg);
            }
            const lmt_json *err = lmt_json_get(c, "error");
            const char *colon = err ? strstr(err->str, "Error: ") : NULL;
            if (colon && strstr(err->str, "TemplateError: ") == err->str)   /* raise_exception: its message */
                CHECK_MSG(strstr(msg, colon + 7) != NULL, "%s: want \"%s\" in \"%s\"", name->str, colon + 7, msg);
        }
    }
    free(out);
    lmt_jinja_free(t);
}

/* every prefix of every case's template: compiles or fails cleanly, and what
 * compiles renders or fails cleanly (the sanitizer build checks the paths) */
static void truncations(const lmt_json *c) {
    const lmt_json *tmpl = lmt_json_get(c, "template"), *ctx = lmt_json_get(c, "context");
    size_t ok = 0;
    for (size_t n = 0; n < tmpl->len; n++) {
        lmt_jinja_template *t = NULL;
        char *out = NULL;
        if (lmt_jinja_compile(tmpl->str, n, "prefix", &t) == LMT_OK) {
            ok++;
            if (lmt_jinja_render(t, ctx, &out, NULL) != LMT_OK) CHECK(strncmp(lmt_last_error(), "prefix: line ", 13) == 0);
        } else {
            CHECK_MSG(strncmp(lmt_last_error(), "prefix: line ", 13) == 0, "%s", lmt_last_error());
        }
        free(out);
        lmt_jinja_free(t);
    }
    CHECK(ok > 0);
}

static void test_fixture_cases(void) {
    lmt_json *doc = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/chat_templates/jinja_cases.json", &doc));
    if (!doc) return;
    const lmt_json *meta = lmt_json_get(doc, "meta"), *cases = lmt_json_get(doc, "cases");
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)lmt_json_get(meta, "LMT_TEMPLATE_NOW")->i64);
    setenv("LMT_TEMPLATE_NOW", now, 1);
    CHECK(cases && cases->len >= 70);
    for (size_t i = 0; cases && i < cases->len; i++) run_case(&cases->items[i]);
    for (size_t i = 0; cases && i < cases->len; i++) truncations(&cases->items[i]);
    printf("%zu jinja2 cases\n", cases ? cases->len : 0);
    lmt_json_free(doc);
}

/* malformed templates: each fails (no crash), naming the source */
static void test_bad_templates(void) {
    static const char *const bad[] = {
        "{{", "{{ x", "{% if %}", "{% for x in %}{% endfor %}", "{% endif %}", "{{ 'unterminated }}",
        "{# never closed", "{{ x | }}", "{{ (1, 2 }}", "{{ [1, 2 }}", "{{ {'a' 1} }}", "{% set %}",
        "{% macro m( %}{% endmacro %}", "{{ x[1:2:3:4] }}", "{% if x %}{% elif %}{% endif %}", "{{ 1 +* 2 }}",
        "{% for x in y %}{% endif %}", "{{ x.1a }}", "{{ '\\u12' }}", "{% set x = %}", "{{ @ }}",
    };
    /* a long left-nested chain parses, and fails at render instead of overflowing the stack */
    {
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, "{{ 1");
        for (int k = 0; k < 100000; k++) lmt_sb_puts(&b, " + 1");
        lmt_sb_puts(&b, " }}");
        lmt_jinja_template *t = NULL;
        char *o = NULL;
        CHECK_OK(lmt_jinja_compile(b.data, b.len, "chain.jinja", &t));
        if (t) CHECK(lmt_jinja_render(t, NULL, &o, NULL) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "nested too deeply"));
        free(o);
        lmt_jinja_free(t);
        lmt_sb_free(&b);
    }
    /* nesting deeper than the parser's guard fails instead of overflowing the stack */
    static const char *const deep[] = {"(", "[", "-", "not ", "{% if x %}"};
    for (size_t d = 0; d < sizeof deep / sizeof *deep; d++) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, d == 4 ? "" : "{{ ");
        for (int k = 0; k < 100000; k++) lmt_sb_puts(&b, deep[d]);
        if (d < 4) lmt_sb_puts(&b, "x");
        for (int k = 0; d < 2 && k < 100000; k++) lmt_sb_puts(&b, d == 0 ? ")" : "]");
        if (d < 4) lmt_sb_puts(&b, " }}");
        lmt_jinja_template *t = NULL;
        CHECK_MSG(lmt_jinja_compile(b.data, b.len, "deep.jinja", &t) == LMT_ERR_FORMAT, "%s", deep[d]);
        CHECK_MSG(strstr(lmt_last_error(), "nested too deeply") != NULL, "%s", lmt_last_error());
        lmt_jinja_free(t);
        lmt_sb_free(&b);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lmt_jinja_template *t = NULL;
        lmt_status st = lmt_jinja_compile(bad[i], strlen(bad[i]), "bad.jinja", &t);
        CHECK_MSG(st != LMT_OK, "compiled: %s", bad[i]);
        if (st != LMT_OK) CHECK_MSG(strncmp(lmt_last_error(), "bad.jinja: line ", 16) == 0, "%s", lmt_last_error());
        lmt_jinja_free(t);
    }
    /* runtime errors */
    static const char *const bad_run[] = {
        "{{ 1 / 0 }}", "{{ 1 < 'a' }}", "{{ x.y.z }}", "{{ none.x.y }}", "{% set ns.x = 1 %}", "{{ 3() }}",
        "{{ [1]|tojson(indent=2)|nosuch }}", "{% for a, b in [1] %}{% endfor %}", "{{ range(1, 2, 0) }}",
        "{{ 'a'.split('') }}", "{{ 5 is divisibleby 0 }}", "{{ 'x'|round }}", "{{ {'a': x}|tojson }}",
        "{{ 9223372036854775807 + 1 }}", "{{ 2 ** 64 }}", "{{ 2 ** 1000000000000 }}", "{{ -(-9223372036854775807 - 1) }}",
        "{{ 'ab' * 1000000000000 }}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{{ '%d'|format(1e300) }}",
        /* values holding themselves or nested past the walks' guard (Python: RecursionError) */
        "{% set ns = namespace(n=0) %}{% set ns.n = ns %}{{ ns }}",
        "{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v|tojson }}",
        "{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}",
        "{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ [ns.v] < [ns.v] }}",
        /* a render past its bounds: 100000 loop iterations, 512 MiB of values, 256 MiB of text */
        "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
        "{% for a in range(600) %}{% set x = 'y' * 1000000 %}{% endfor %}",
        "{% for a in range(300) %}{{ 'x' * 1000000 }}{% endfor %}",
    };
    for (size_t i = 0; i < sizeof bad_run / sizeof *bad_run; i++) {
        lmt_jinja_template *t = NULL;
        char *out = NULL;
        lmt_status st = lmt_jinja_compile(bad_run[i], strlen(bad_run[i]), "run.jinja", &t);
        CHECK_MSG(st == LMT_OK, "%s: %s", bad_run[i], lmt_last_error());
        if (st == LMT_OK) {
            st = lmt_jinja_render(t, NULL, &out, NULL);
            CHECK_MSG(st != LMT_OK, "rendered \"%s\": %s", out ? out : "", bad_run[i]);
            if (st != LMT_OK) CHECK_MSG(strncmp(lmt_last_error(), "run.jinja: line 1, column ", 26) == 0, "%s", lmt_last_error());
        }
        free(out);
        lmt_jinja_free(t);
    }
}

/* prefixes of the real templates, rendered with a small conversation */
static void test_real_template_prefixes(void) {
    static const char *const dirs[] = {"SmolLM2-135M-Instruct", "Qwen2.5-0.5B-Instruct", "Llama-3.2-1B-Instruct",
                                       "TinyLlama-1.1B-Chat-v1.0"};
    lmt_json *ctx = NULL;
    const char *c = "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"u\"}],"
                    " \"tools\": null, \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";
    CHECK_OK(lmt_json_parse(c, strlen(c), "ctx", &ctx));
    for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/llama-family/%s/tokenizer_config.json", LMT_SHARED_DATA, dirs[d]);
        lmt_json *cfg = NULL;
        CHECK_OK(lmt_json_parse_file(path, &cfg));
        const lmt_json *tmpl = cfg ? lmt_json_get(cfg, "chat_template") : NULL;
        CHECK(tmpl && tmpl->type == LMT_JSON_STRING);
        for (size_t n = 0; tmpl && tmpl->type == LMT_JSON_STRING && n <= tmpl->len; n += 7) {
            lmt_jinja_template *t = NULL;
            char *out = NULL;
            if (lmt_jinja_compile(tmpl->str, n, "prefix", &t) == LMT_OK) {
                if (lmt_jinja_render(t, ctx, &out, NULL) != LMT_OK) CHECK(strncmp(lmt_last_error(), "prefix: line ", 13) == 0);
            } else {
                CHECK_MSG(strncmp(lmt_last_error(), "prefix: line ", 13) == 0, "%s", lmt_last_error());
            }
            free(out);
            lmt_jinja_free(t);
        }
        lmt_json_free(cfg);
    }
    lmt_json_free(ctx);
}

int main(void) {
    test_fixture_cases();
    test_real_template_prefixes();
    test_bad_templates();
    return lmt_test_finish();
}
