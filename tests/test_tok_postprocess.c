/* Post-processors: ByteLevel's process_offsets (trim_offsets), RoBERTa's
 * <s> A </s></s> B </s>, TemplateProcessing from tokenizer.json. Expected
 * values follow tokenizers' processors (byte_level.rs, roberta.rs,
 * template.rs). */
#include <stdlib.h>
#include "harness.h"
#include "tokenizers/postprocess.h"

static lmt_encoding alloc_enc(size_t n) {
    lmt_encoding e = {0};
    e.ids = calloc(n, 4); e.type_ids = calloc(n, 4); e.attention_mask = calloc(n, 4); e.special_tokens_mask = calloc(n, 4);
    e.word_ids = calloc(n, 4); e.sequence_ids = calloc(n, 4); e.offset_start = calloc(n, 4); e.offset_end = calloc(n, 4);
    return e;
}

int main(void) {
    /* tokens "Ġhello"(0,6) "ĠĠ"(6,8) "x"(8,9) "Ġ"(9,10): leading spaces move the start, trailing the end */
    int32_t ids[4] = {10, 11, 12, 13}, words[4] = {0, 1, 2, 3};
    int32_t cs[4] = {0, 6, 8, 9}, ce[4] = {6, 8, 9, 10};
    uint16_t lead[4] = {1, 2, 0, 1}, trail[4] = {0, 2, 0, 1};
    lmt_post p = {0};
    p.kind = LMT_POST_ROBERTA; p.cls = 0; p.sep = 2; p.trim_offsets = true;
    lmt_post_seq s = {ids, words, cs, ce, lead, trail, 0, 4};
    lmt_post_trim(&p, &s);
    CHECK(cs[0] == 1 && ce[0] == 6);
    CHECK(cs[1] == 8 && ce[1] == 8);   /* all spaces: collapses to its end */
    CHECK(cs[2] == 8 && ce[2] == 9);
    CHECK(cs[3] == 10 && ce[3] == 10);
    /* add_prefix_space keeps the single space of the first token (it was added) */
    int32_t cs2[1] = {0}, ce2[1] = {6};
    uint16_t l1[1] = {1}, t0[1] = {0};
    p.add_prefix_space = true;
    lmt_post_seq s2 = {ids, words, cs2, ce2, l1, t0, 0, 1};
    lmt_post_trim(&p, &s2);
    CHECK(cs2[0] == 0 && ce2[0] == 6);
    p.add_prefix_space = false;

    CHECK(lmt_post_added(&p, false) == 2 && lmt_post_added(&p, true) == 4);
    int32_t cs3[2] = {0, 5}, ce3[2] = {5, 11};
    uint16_t z[2] = {0, 0};
    lmt_post_seq pair[2] = {{ids, words, cs3, ce3, z, z, 0, 1}, {ids + 1, words, cs3 + 1, ce3 + 1, z, z, 0, 1}};
    lmt_encoding e = alloc_enc(6);
    lmt_post_assemble(&p, true, pair, 2, &e);
    int32_t want_ids[6] = {0, 10, 2, 2, 11, 2}, want_special[6] = {1, 0, 1, 1, 0, 1}, want_seq[6] = {-1, 0, -1, -1, 1, -1};
    CHECK(e.n == 6 && !memcmp(e.ids, want_ids, 24) && !memcmp(e.special_tokens_mask, want_special, 24) && !memcmp(e.sequence_ids, want_seq, 24));
    for (int i = 0; i < 6; i++) CHECK(e.type_ids[i] == 0);   /* RoBERTa types every token 0 */
    CHECK(e.word_ids[0] == -1 && e.offset_start[0] == 0 && e.offset_end[0] == 0 && e.offset_start[4] == 5);
    lmt_encoding_free(&e);

    /* TemplateProcessing as tokenizer.json spells it: [CLS] $A [SEP] $B:1 [SEP]:1 */
    const char *tpl = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},"
        "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}}],"
        "\"pair\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
        "{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}},"
        "{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":1}}],\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[101],"
        "\"tokens\":[\"[CLS]\"]},\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[102],\"tokens\":[\"[SEP]\"]}}}";
    lmt_json *j;
    CHECK_OK(lmt_json_parse(tpl, strlen(tpl), "tokenizer.json", &j));
    lmt_post t;
    CHECK_OK(lmt_post_parse(&t, j, "tokenizer.json", NULL, NULL));
    CHECK(lmt_post_added(&t, false) == 2 && lmt_post_added(&t, true) == 3);
    e = alloc_enc(5);
    lmt_post_assemble(&t, true, pair, 2, &e);
    int32_t tids[5] = {101, 10, 102, 11, 102}, ttypes[5] = {0, 0, 0, 1, 1};
    CHECK(e.n == 5 && !memcmp(e.ids, tids, 20) && !memcmp(e.type_ids, ttypes, 20));
    lmt_encoding_free(&e);
    e = alloc_enc(2);
    lmt_post_assemble(&t, false, pair, 2, &e);   /* add_special_tokens=False */
    CHECK(e.n == 2 && e.ids[0] == 10 && e.ids[1] == 11 && e.type_ids[1] == 1);
    lmt_encoding_free(&e);
    lmt_post_free(&t);
    lmt_json_free(j);
    /* a template naming a special token it does not define is an error naming the file */
    const char *bad = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"[X]\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}";
    CHECK_OK(lmt_json_parse(bad, strlen(bad), "tokenizer.json", &j));
    CHECK(lmt_post_parse(&t, j, "tok/tokenizer.json", NULL, NULL) == LMT_ERR_FORMAT);
    CHECK(strstr(lmt_last_error(), "tok/tokenizer.json") && strstr(lmt_last_error(), "[X]"));
    lmt_json_free(j);
    return lmt_test_finish();
}
