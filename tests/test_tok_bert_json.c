/* BERT from vocab.txt and from the tokenizer.json transformers saves for it
 * give the same tokens, and HF's count on the bench corpus (WikiText-2
 * validation + test lines, first 2,000 IMDb reviews): 1,158,941.
 *
 * Regression for a reported mismatch (vocab.txt 1,158,941 tokens, "a
 * tokenizer.json saved from it" 1,084,617): that file came from
 * BertTokenizerFast(vocab_file=...), whose vocab_file transformers 5 ignores
 * (its __init__ takes `vocab`), so it held only the 5 special tokens and
 * nearly every word became [UNK]; lmtune agreed with HF on both files. The
 * fixture (tools/reference/make_tokenizer_options_fixtures.py) holds the
 * file BertTokenizerFast.from_pretrained(folder) saves, its vocabulary left
 * out; this test puts vocab.txt back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tok_corpus.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/tokenizers/wordpiece/bert_json.json"
#define BERT LMT_SHARED_DATA "/tokenizers/bert-base-uncased"

int main(void) {
    lmt_json *fx = NULL;
    CHECK_OK(lmt_json_parse_file(FIX, &fx));
    if (!fx) return lmt_test_finish();
    CHECK(lmt_json_get(fx, "vocab_file_kwarg_len")->i64 == 5);   /* the reference-side pitfall, as recorded */
    /* the saved file with model.vocab (null in the fixture) spliced back in
     * as text: token -> line number of vocab.txt */
    lmt_strbuf b, v;
    lmt_sb_init(&b);
    lmt_sb_init(&v);
    lmt_json_write(&b, lmt_json_get(fx, "tokenizer_json"), 0);
    lmt_sb_append(&b, "", 0);
    char *d;
    size_t n;
    CHECK_OK(lmt_read_file(BERT "/vocab.txt", &d, &n));
    lmt_sb_putc(&v, '{');
    int64_t id = 0;
    for (size_t st = 0, i = 0; i < n; i++) {
        if (d[i] != '\n') continue;
        size_t e = i > st && d[i - 1] == '\r' ? i - 1 : i;
        if (id) lmt_sb_putc(&v, ',');
        lmt_json_write_string(&v, d + st, e - st, false);
        char num[32];
        snprintf(num, sizeof num, ":%lld", (long long)id++);
        lmt_sb_puts(&v, num);
        st = i + 1;
    }
    lmt_sb_putc(&v, '}');
    free(d);
    CHECK(id == 30522);
    const char *pat = "\"vocab\":null", *hole = strstr(b.data, pat);   /* lmt_json_write's compact form */
    size_t hl = strlen(pat);
    CHECK_MSG(hole != NULL, "no \"vocab\": null in the fixture's tokenizer.json");
    if (!hole) return lmt_test_finish();
    lmt_strbuf f;
    lmt_sb_init(&f);
    lmt_sb_append(&f, b.data, (size_t)(hole - b.data));
    lmt_sb_puts(&f, "\"vocab\": ");
    lmt_sb_append(&f, v.data, v.len);
    lmt_sb_puts(&f, hole + hl);
    char dir[] = "/tmp/lmt-bertjson-XXXXXX", path[600];
    if (!mkdtemp(dir)) { CHECK(false); return lmt_test_finish(); }
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    CHECK_OK(lmt_write_file_atomic(path, f.data, f.len));
    lmt_sb_free(&b);
    lmt_sb_free(&v);
    lmt_sb_free(&f);

    lmt_tokenizer *from_txt = NULL, *from_json = NULL, *from_dir = NULL;
    CHECK_OK(lmt_tokenizer_load(BERT, &from_txt));
    CHECK_OK(lmt_tokenizer_load_file(path, &from_json));
    CHECK_OK(lmt_tokenizer_load(dir, &from_dir));
    if (!from_txt || !from_json || !from_dir) return lmt_test_finish();
    CHECK(lmt_tokenizer_vocab_size(from_json) == 30522 && lmt_tokenizer_vocab_size(from_txt) == 30522);

    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    strlist c = {0};
    load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw", &c);
    if (quick) while (c.n > 400) free(c.s[--c.n]);   /* sanitizer builds */
    else {
        load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.test.raw", &c);
        load_jsonl(LMT_SHARED_DATA "/imdb/train.jsonl", "text", NULL, NULL, 2000, &c);
    }
    lmt_encoding *e[3];
    lmt_tokenizer *toks[3] = {from_txt, from_json, from_dir};
    size_t total[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        e[k] = calloc(c.n, sizeof *e[k]);
        CHECK_OK(lmt_tokenizer_encode_batch(toks[k], (const char *const *)c.s, c.len, NULL, NULL, c.n, NULL, e[k]));
        for (size_t i = 0; i < c.n; i++) total[k] += e[k][i].n;
    }
    size_t differ = 0;
    for (size_t i = 0; i < c.n; i++)
        for (int k = 1; k < 3; k++)
            if (e[k][i].n != e[0][i].n || memcmp(e[k][i].ids, e[0][i].ids, e[0][i].n * 4)) {
                if (differ++ < 3) fprintf(stderr, "text %zu: tokenizer %d differs from vocab.txt\n", i, k);
            }
    CHECK_MSG(differ == 0, "%zu encodings differ", differ);
    if (!quick)
        CHECK_MSG(total[0] == (size_t)lmt_json_get(fx, "bench_corpus_tokens")->i64 && total[1] == total[0] && total[2] == total[0],
                  "tokens %zu / %zu / %zu, HF %lld", total[0], total[1], total[2], (long long)lmt_json_get(fx, "bench_corpus_tokens")->i64);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < c.n; i++) lmt_encoding_free(&e[k][i]);
        free(e[k]);
        lmt_tokenizer_free(toks[k]);
    }
    sl_free(&c);
    unlink(path);
    rmdir(dir);
    lmt_json_free(fx);
    return lmt_test_finish();
}
