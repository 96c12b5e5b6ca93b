/* JSON parser/writer: RFC 8259 cases, Python-compatible output, and errors
 * that name the source with line and column. */
#include <stdlib.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/lmtune.h"

static lmt_json *parse(const char *s) {
    lmt_json *j = NULL;
    if (lmt_json_parse(s, strlen(s), "t.json", &j) != LMT_OK) return NULL;
    return j;
}

static void check_bad(const char *text, const char *needle) {
    lmt_json *j = NULL;
    lmt_status s = lmt_json_parse(text, strlen(text), "bad.json", &j);
    CHECK_MSG(s == LMT_ERR_FORMAT && j == NULL, "accepted: %s", text);
    CHECK_MSG(strstr(lmt_last_error(), "bad.json") != NULL, "message lacks file name: %s", lmt_last_error());
    if (needle) CHECK_MSG(strstr(lmt_last_error(), needle) != NULL, "'%s' not in: %s", needle, lmt_last_error());
}

/* Python's json.dumps(x) for the float, checked against literals produced by CPython. */
static void check_float(double x, const char *py) {
    lmt_json *j = lmt_json_new_num(x);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write(&b, j, 0);
    CHECK_MSG(strcmp(b.data, py) == 0, "%.17g -> %s, Python writes %s", x, b.data, py);
    lmt_sb_free(&b);
    lmt_json_free(j);
}

int main(void) {
    lmt_json *j = parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": \"x\\u00e9\\ud83d\\ude00\\n\", \"c\": {}} ");
    CHECK(j != NULL);
    if (j) {
        const lmt_json *a = lmt_json_get(j, "a");
        CHECK(a && a->type == LMT_JSON_ARRAY && a->len == 5);
        CHECK(a->items[0].is_int && a->items[0].i64 == 1);
        CHECK(!a->items[1].is_int && a->items[1].num == -2500.0);
        CHECK(a->items[2].type == LMT_JSON_BOOL && a->items[2].boolean);
        CHECK(a->items[4].type == LMT_JSON_NULL);
        const lmt_json *b = lmt_json_get(j, "b");
        CHECK(b && b->len == 8 && memcmp(b->str, "x\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0);
        CHECK(lmt_json_get(j, "missing") == NULL);
        int64_t v;
        CHECK(lmt_json_get_int(j, "missing", 7, "t.json", &v) == LMT_OK && v == 7);
        CHECK(lmt_json_get_int(j, "b", 7, "t.json", &v) == LMT_ERR_FORMAT);
        CHECK(strstr(lmt_last_error(), "t.json: field \"b\" must be an integer, found string") != NULL);
        lmt_json_free(j);
    }
    /* NUL inside a string survives with its length */
    j = parse("\"a\\u0000b\"");
    CHECK(j && j->len == 3 && j->str[1] == '\0');
    lmt_json_free(j);
    /* Python accepts NaN/Infinity and lone surrogates; so do we */
    j = parse("[NaN, -Infinity, \"\\ud800\"]");
    CHECK(j && isnan(j->items[0].num) && isinf(j->items[1].num) && j->items[2].len == 3);
    lmt_json_free(j);

    check_bad("{\"a\": 1,}", "line 1, column 9");
    check_bad("{\"a\" 1}", "expected ':'");
    check_bad("[1, 2", "line 1, column 6");
    check_bad("\"abc", "unterminated");
    check_bad("\"a\x01\"", "control character");
    check_bad("\"\xff\"", "invalid UTF-8");
    check_bad("\"\xc0\xaf\"", "invalid UTF-8");  /* overlong */
    check_bad("01", "trailing");
    check_bad("{}\n{}", "line 2, column 1");
    check_bad("", "unexpected end");
    check_bad("[1.]", "digit expected");
    check_bad("\"\\x\"", "unknown escape");
    check_bad("{\"a\":\n  tru}", "line 2, column 3");
    {
        /* nesting limit: no stack overflow */
        size_t n = 100000;
        char *deep = malloc(n + 1);
        memset(deep, '[', n);
        deep[n] = '\0';
        check_bad(deep, "too deep");
        free(deep);
    }

    /* Output matches Python: json.dumps(1e-05) == '1e-05', etc. */
    check_float(1e-5, "1e-05");
    check_float(1e-12, "1e-12");
    check_float(0.02, "0.02");
    check_float(0.1, "0.1");
    check_float(2e-5, "2e-05");
    check_float(1.0, "1.0");
    check_float(100.0, "100.0");
    check_float(1e16, "1e+16");
    check_float(1234567890123456.0, "1234567890123456.0");
    check_float(0.0001, "0.0001");
    check_float(-3.5, "-3.5");
    check_float(1.0 / 3.0, "0.3333333333333333");
    check_float(5e-324, "5e-324");

    /* Pretty printing as json.dumps(indent=2): ", " never at line ends, ": " */
    j = parse("{\"b\":[1,2],\"a\":{\"x\":\"\\u00e9\"},\"e\":[],\"f\":{}}");
    lmt_strbuf sb;
    lmt_sb_init(&sb);
    lmt_json_write(&sb, j, 2);
    CHECK_STREQ(sb.data, "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": {\n    \"x\": \"\xc3\xa9\"\n  },\n  \"e\": [],\n  \"f\": {}\n}");
    lmt_sb_free(&sb);
    lmt_sb_init(&sb);
    lmt_json_write_string(&sb, "\xc3\xa9\xf0\x9f\x98\x80\x7f", 7, true);
    CHECK_STREQ(sb.data, "\"\\u00e9\\ud83d\\ude00\\u007f\"");
    lmt_sb_free(&sb);
    /* building */
    lmt_json_object_set(j, "b", lmt_json_new_string("new"));
    lmt_json_object_set(j, "z", lmt_json_new_int(5));
    lmt_json *c = lmt_json_clone(j);
    lmt_sb_init(&sb);
    lmt_json_write(&sb, c, 0);
    CHECK_STREQ(sb.data, "{\"b\":\"new\",\"a\":{\"x\":\"\xc3\xa9\"},\"e\":[],\"f\":{},\"z\":5}");
    lmt_sb_free(&sb);
    lmt_json_free(c);
    lmt_json_free(j);

    /* json.dumps(x, indent=2, sort_keys=True) as CPython writes it */
    j = parse("{\"b\":[1,{\"y\":2,\"x\":null}],\"a\":\"\u00e9\",\"e\":[],\"A\":1.5}");
    lmt_sb_init(&sb);
    lmt_json_write_py(&sb, j, 2, true);
    CHECK_STREQ(sb.data, "{\n  \"A\": 1.5,\n  \"a\": \"\\u00e9\",\n  \"b\": [\n    1,\n    {\n      \"x\": null,\n      \"y\": 2\n    }\n  ],\n  \"e\": []\n}");
    lmt_sb_free(&sb);
    lmt_sb_init(&sb);
    lmt_json_write_py(&sb, j, 0, false);  /* json.dumps(x) */
    CHECK_STREQ(sb.data, "{\"b\": [1, {\"y\": 2, \"x\": null}], \"a\": \"\\u00e9\", \"e\": [], \"A\": 1.5}");
    lmt_sb_free(&sb);
    lmt_json_free(j);

    /* a missing file is named in the error */
    CHECK(lmt_json_parse_file("/nonexistent/dir/x.json", &j) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "/nonexistent/dir/x.json") != NULL);
    return lmt_test_finish();
}
