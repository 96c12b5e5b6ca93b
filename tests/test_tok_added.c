/* Added-token matching (tokenizers' AddedVocabulary::find_matches):
 * leftmost-longest, non-normalized tokens first then normalized ones inside
 * the remaining runs, single_word, lstrip/rstrip over Unicode whitespace. */
#include <stdlib.h>
#include "harness.h"
#include "tokenizers/added_tokens.h"

static lmt_segments split(const lmt_added_vocab *a, const char *s) {
    lmt_segments g = {0};
    CHECK(lmt_added_split(a, s, strlen(s), &g) == 0);
    return g;
}

/* want: triples start, end, token index (-1 = plain text) */
static void expect(const lmt_added_vocab *a, const char *s, const int *want, size_t n) {
    lmt_segments g = split(a, s);
    bool ok = g.n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = (int)g.v[i].start == want[3 * i] && (int)g.v[i].end == want[3 * i + 1] && g.v[i].token == want[3 * i + 2];
    CHECK_MSG(ok, "\"%s\": %zu segments", s, g.n);
    if (!ok) for (size_t i = 0; i < g.n; i++) fprintf(stderr, "  [%u, %u) %d\n", g.v[i].start, g.v[i].end, g.v[i].token);
    free(g.v);
}

int main(void) {
    lmt_added_vocab a = {0};
    CHECK_OK(lmt_added_vocab_add(&a, "<|endoftext|>", 50256, true, false, false, false, false));   /* 0 */
    CHECK_OK(lmt_added_vocab_add(&a, "<s>", 1, true, false, false, false, false));                 /* 1 */
    CHECK_OK(lmt_added_vocab_add(&a, "<s>x", 2, false, false, false, false, false));               /* 2 */
    CHECK_OK(lmt_added_vocab_add(&a, "<mask>", 3, true, true, false, false, false));               /* 3: lstrip */
    CHECK_OK(lmt_added_vocab_add(&a, "[SEP]", 4, true, false, true, false, false));                /* 4: rstrip */
    CHECK_OK(lmt_added_vocab_add(&a, "zz", 5, false, false, false, true, false));                  /* 5: single_word */
    CHECK_OK(lmt_added_vocab_add(&a, "hello world", 6, false, false, false, false, true));         /* 6: normalized */
    CHECK_OK(lmt_added_vocab_add(&a, "o w", 7, false, false, false, false, false));                /* 7 */
    CHECK(lmt_added_vocab_find_id(&a, 4) == 4 && lmt_added_vocab_find_id(&a, 99) == -1);

    expect(&a, "hello<|endoftext|>world", (int[]){0, 5, -1, 5, 18, 0, 18, 23, -1}, 3);
    expect(&a, "<|endoftext|><|endoftext|>", (int[]){0, 13, 0, 13, 26, 0}, 2);
    expect(&a, "a<s>xb<s>", (int[]){0, 1, -1, 1, 5, 2, 5, 6, -1, 6, 9, 1}, 4);   /* longest wins */
    expect(&a, "a  <mask>b", (int[]){0, 1, -1, 1, 9, 3, 9, 10, -1}, 3);
    expect(&a, "a\xe3\x80\x80<mask>", (int[]){0, 1, -1, 1, 10, 3}, 2);          /* U+3000 is whitespace */
    expect(&a, "<s> <mask>", (int[]){0, 3, 1, 3, 10, 3}, 2);                      /* lstrip stops at the last match */
    expect(&a, "x[SEP] \t\ny", (int[]){0, 1, -1, 1, 9, 4, 9, 10, -1}, 3);
    expect(&a, "zz azz zz.", (int[]){0, 2, 5, 2, 7, -1, 7, 9, 5, 9, 10, -1}, 4);
    expect(&a, "\xc3\xa9zz", (int[]){0, 4, -1}, 1);                               /* é is a word character */
    /* "o w" (not normalized) is matched first and breaks "hello world" */
    expect(&a, "hello world", (int[]){0, 4, -1, 4, 7, 7, 7, 11, -1}, 3);
    expect(&a, "", NULL, 0);
    expect(&a, "plain", (int[]){0, 5, -1}, 1);
    lmt_added_vocab_free(&a);

    lmt_added_vocab b = {0};
    CHECK_OK(lmt_added_vocab_add(&b, "hello world", 6, false, false, false, false, true));
    CHECK_OK(lmt_added_vocab_add(&b, "<br />", 8, false, false, false, false, false));
    expect(&b, "hello world<br />hello world", (int[]){0, 11, 0, 11, 17, 1, 17, 28, 0}, 3);
    lmt_added_vocab_free(&b);
    return lmt_test_finish();
}
