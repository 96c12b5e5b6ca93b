/* Missing and malformed tokenizer files: a clear error naming the file. */
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

static char dir[64];

static void put(const char *name, const char *text) {
    char *p = lmt_path_join(dir, name);
    CHECK_OK(lmt_write_file_atomic(p, text, strlen(text)));
    free(p);
}

static void clear(void) {
    const char *names[] = {"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 5; i++) { char *p = lmt_path_join(dir, names[i]); unlink(p); free(p); }
}

/* Loading must fail with status s and a message holding both needles. */
static void expect_fail(lmt_status s, const char *n1, const char *n2) {
    lmt_tokenizer *t = NULL;
    lmt_status got = lmt_tokenizer_load(dir, &t);
    CHECK_MSG(got == s && t == NULL, "status %s, wanted %s (%s)", lmt_status_name(got), lmt_status_name(s), lmt_last_error());
    CHECK_MSG(strstr(lmt_last_error(), n1) && (!n2 || strstr(lmt_last_error(), n2)), "message \"%s\" lacks \"%s\"/\"%s\"",
              lmt_last_error(), n1, n2 ? n2 : "");
    lmt_tokenizer_free(t);
}

static const char *VOCAB = "{\"a\": 0, \"b\": 1, \"ab\": 2, \"\\u0120\": 3}";

/* lmtune tokenize: JSON lines out, error naming the folder */
static void check_cli(void) {
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s/tokenizers/gpt2 --text ' = Valkyria Chronicles III = ' 2>&1", LMT_CLI_PATH, LMT_SHARED_DATA);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    CHECK(p && pclose(p) == 0);
    CHECK_MSG(strstr(out, "\"ids\": [796, 569, 18354, 7496, 17740, 6711, 796, 220]") && strstr(out, "\"word_ids\": [0, 1, 1, 1, 2, 3, 4, 5]"), "%s", out);
    snprintf(cmd, sizeof cmd, "echo '[796, 569, 18354]' | %s tokenize --tokenizer %s/tokenizers/gpt2 --decode 2>&1", LMT_CLI_PATH, LMT_SHARED_DATA);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    CHECK(p && pclose(p) == 0);
    CHECK_MSG(strstr(out, "{\"text\": \" = Valky\"}") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --text x 2>&1", LMT_CLI_PATH, dir);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    CHECK(p && pclose(p) != 0);
    CHECK_MSG(strstr(out, "lmtune: error:") && strstr(out, dir), "%s", out);
}

int main(void) {
    strcpy(dir, "/tmp/lmt-tokfiles-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    lmt_tokenizer *t = NULL;
    CHECK(lmt_tokenizer_load("/nonexistent/tok", &t) == LMT_ERR_NOT_FOUND && strstr(lmt_last_error(), "/nonexistent/tok"));
    expect_fail(LMT_ERR_NOT_FOUND, dir, "vocab.json");                     /* empty folder */
    check_cli();
    put("merges.txt", "#version: 0.2\na b\n");
    expect_fail(LMT_ERR_NOT_FOUND, "vocab.json", "missing");
    clear();
    put("vocab.json", VOCAB);
    expect_fail(LMT_ERR_NOT_FOUND, "merges.txt", "missing");
    put("merges.txt", "#version: 0.2\na b\n");
    CHECK_OK(lmt_tokenizer_load(dir, &t));                                 /* the good pair loads */
    lmt_encoding e;
    CHECK_OK(lmt_tokenizer_encode(t, "ab b", 4, NULL, 0, NULL, &e));
    CHECK(e.n == 3 && e.ids[0] == 2 && e.ids[1] == 3 && e.ids[2] == 1);    /* "ab", "Ġ", "b" */
    lmt_encoding_free(&e);
    lmt_tokenizer_free(t);
    put("vocab.json", "{\"a\": 0, \"b\": ");
    expect_fail(LMT_ERR_FORMAT, "vocab.json", "line 1");
    put("vocab.json", "[1, 2]");
    expect_fail(LMT_ERR_FORMAT, "vocab.json", "object");
    put("vocab.json", "{\"a\": 0.5}");
    expect_fail(LMT_ERR_FORMAT, "vocab.json", "not an integer");
    put("vocab.json", "{\"a\": -3}");
    expect_fail(LMT_ERR_FORMAT, "vocab.json", "out of range");
    put("vocab.json", "{\"a\": 0, \"b\": 0}");
    expect_fail(LMT_ERR_FORMAT, "vocab.json", "two tokens");
    put("vocab.json", VOCAB);
    put("merges.txt", "#version: 0.2\na b\nab\n");
    expect_fail(LMT_ERR_FORMAT, "merges.txt", "line 3");
    put("merges.txt", "a b c\n");
    expect_fail(LMT_ERR_FORMAT, "merges.txt", "line 1");
    put("merges.txt", "a z\n");
    expect_fail(LMT_ERR_FORMAT, "merges.txt", "not in the vocabulary");
    put("merges.txt", "b a\n");                                            /* "ba" is not a token */
    expect_fail(LMT_ERR_FORMAT, "merges.txt", "produces");
    put("merges.txt", "a b\n");
    put("tokenizer_config.json", "{\"tokenizer_class\": ");
    expect_fail(LMT_ERR_FORMAT, "tokenizer_config.json", NULL);
    clear();
    put("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}");
    expect_fail(LMT_ERR_FORMAT, "tokenizer.json", NULL);
    put("tokenizer.json", "{\"version\": \"1.0\"}");
    expect_fail(LMT_ERR_FORMAT, "tokenizer.json", "model");
    put("tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}, \"pre_tokenizer\": null}");
    expect_fail(LMT_ERR_FORMAT, "tokenizer.json", "Unigram");   /* Unigram is read (general pipeline); an empty vocabulary is not */
    put("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": null}");
    expect_fail(LMT_ERR_FORMAT, "tokenizer.json", "[UNK]");
    put("tokenizer.json", "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"[UNK]\": 0}}, \"pre_tokenizer\": {\"type\": \"Whitespace\"}}");
    expect_fail(LMT_ERR_UNSUPPORTED, "tokenizer.json", "WordLevel");   /* (WordPiece with other pre-tokenizers: general pipeline) */
    put("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]},"
                          " \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}");
    expect_fail(LMT_ERR_FORMAT, "tokenizer.json", "not in the vocabulary");
    put("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [[\"a\"]]},"
                          " \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}");
    expect_fail(LMT_ERR_FORMAT, "tokenizer.json", "merge 1");
    put("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [[\"a\", \"b\"]]},"
                          " \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"post_processor\": {\"type\": \"Frobnicate\"}}");
    expect_fail(LMT_ERR_UNSUPPORTED, "tokenizer.json", "Frobnicate");
    clear();
    rmdir(dir);
    return lmt_test_finish();
}
