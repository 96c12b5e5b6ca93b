/* `lmtune data show/info`: the rows a seeded show picks are the ones
 * Python's random.seed(S) + show_random_elements pick (python_random.json),
 * and bad input gives an error naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "data_fixtures.h"

static char *run(const char *args, int *rc) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", LMT_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t k;
    while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (n + 1 >= cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

int main(void) {
    int rc;
    char *out = run("data show " LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw -n 10 --seed 42 --format wikitext", &rc);
    CHECK(rc == 0);
    /* random.seed(42); show_random_elements(validation, 10): the row labels in order */
    lmt_json *py = fixture_json("python_random.json");
    const lmt_json *c = &py->items[0];
    CHECK(jint(c, "n") == 3760 && jint(c, "k") == 10);
    const lmt_json *picks = lmt_json_get(c, "picks");
    const char *line = strchr(out, '\n');
    line = line ? strchr(line + 1, '\n') : NULL;  /* skip the header and the rule */
    for (size_t i = 0; i < picks->len && line; i++) {
        CHECK_MSG(strtoll(line + 1, NULL, 10) == picks->items[i].i64, "row %zu: %lld", i, (long long)picks->items[i].i64);
        line = strchr(line + 1, '\n');
    }
    free(out);
    lmt_json_free(py);

    out = run("data info " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/nested.jsonl", &rc);
    CHECK(rc == 0 && strstr(out, "3 rows, 8 columns") && strstr(out, "answers.text") && strstr(out, "list<string>"));
    free(out);
    out = run("data show " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/table.csv -n 2 --seed 3", &rc);
    CHECK(rc == 0 && strstr(out, "| id") && strstr(out, "score"));
    free(out);
    out = run("data show " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/table.csv -n 9", &rc);
    CHECK(rc == 1 && strstr(out, "table.csv") && strstr(out, "4 rows"));
    free(out);
    out = run("data show /nonexistent/file.jsonl", &rc);
    CHECK(rc == 1 && strstr(out, "/nonexistent/file.jsonl"));
    free(out);
    out = run("data show x.txt --format nope", &rc);
    CHECK(rc == 2 && strstr(out, "unknown --format"));
    free(out);
    out = run("data frobnicate", &rc);
    CHECK(rc == 2);
    free(out);
    return lmt_test_finish();
}
