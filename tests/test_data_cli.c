/* `lmtune data show/info`: the rows a seeded show picks are the ones
 * Python's random.seed(S) + show_random_elements pick (python_random.json),
 * and bad input gives an error naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data_fixtures.h"
#include "cli_run.h"

int main(void) {
    int rc = run("data show " LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw -n 10 --seed 42 --format wikitext");
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
    lmt_json_free(py);

    rc = run("data info " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/nested.jsonl");
    CHECK(rc == 0 && strstr(out, "3 rows, 8 columns") && strstr(out, "answers.text") && strstr(out, "list<string>"));
    rc = run("data show " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/table.csv -n 2 --seed 3");
    CHECK(rc == 0 && strstr(out, "| id") && strstr(out, "score"));
    {   /* --name=value as every command takes it: the same picks */
        char first[4096];
        snprintf(first, sizeof first, "%s", out);
        rc = run("data show " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/table.csv -n 2 --seed=3 --width=60");
        CHECK(rc == 0 && !strcmp(out, first));
    }
    rc = run("data show " LMT_SOURCE_DIR "/tests/fixtures/data/loaders/table.csv -n 9");
    CHECK(rc == 1 && strstr(out, "table.csv") && strstr(out, "4 rows"));
    rc = run("data show /nonexistent/file.jsonl");
    CHECK(rc == 1 && strstr(out, "/nonexistent/file.jsonl"));
    rc = run("data show x.txt --format nope");
    CHECK(rc == 2 && strstr(out, "lmtune: error: --format: expected one of text,"));
    rc = run("data frobnicate");
    CHECK(rc == 2 && strstr(out, "lmtune: error: data: unknown subcommand"));
    rc = run("data show x.txt -n abc");   /* usage errors exit 2 with the prefix every command uses */
    CHECK(rc == 2 && strstr(out, "lmtune: error: -n needs a non-negative integer"));
    rc = run("data show");
    CHECK(rc == 2 && strstr(out, "lmtune: error: no FILE given"));
    return lmt_test_finish();
}
