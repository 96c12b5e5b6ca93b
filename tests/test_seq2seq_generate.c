/* Greedy and beam search of the tiny Marian fixture against model.generate()
 * (tests/fixtures/seq2seq_generate/reference.json, made by
 * tools/reference/make_seq2seq_generate_fixtures.py): token sequences
 * exactly, sequences_scores within 1e-4, for every case there (16-sentence
 * padded batch, min_length / min_new_tokens, no_repeat_ngram_size,
 * forced_bos_token_id, multi-token bad_words_ids, num_return_sequences,
 * max_new_tokens, the generation_config defaults); options read from a
 * generation_config.json; bad options refused with clear errors. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "generate/seq2seq_generate.h"
#include "models/model.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures"

static int to_ints(const lmt_json *rows, int32_t *dst, int cap, int *ncols) {
    int n = 0;
    for (size_t i = 0; i < rows->len; i++) {
        const lmt_json *row = &rows->items[i];
        *ncols = (int)row->len;
        for (size_t j = 0; j < row->len && n < cap; j++) dst[n++] = (int32_t)row->items[j].i64;
    }
    return n;
}

static double num(const lmt_json *c, const char *key, double def) {
    const lmt_json *v = lmt_json_get(c, key);
    return v && v->type == LMT_JSON_NUMBER ? v->num : def;
}

typedef struct { int32_t ids[1024], mask[1024]; int B, Ts; } batch;

static bool load_batch(const lmt_json *ref, const char *name, batch *b) {
    const lmt_json *in = lmt_json_get(lmt_json_get(ref, "inputs"), name);
    if (!in) return false;
    const lmt_json *jids = lmt_json_get(in, "input_ids");
    int Tm = 0;
    int n = to_ints(jids, b->ids, 1024, &b->Ts);
    to_ints(lmt_json_get(in, "attention_mask"), b->mask, 1024, &Tm);
    b->B = (int)jids->len;
    return n == b->B * b->Ts && Tm == b->Ts;
}

/* Generates and compares with the case's sequences / sequences_scores. */
static void check_case(lmt_model *m, const batch *b, const lmt_s2s_gen_opts *o, const lmt_json *c, const char *name) {
    static int32_t want[8192];
    int wT = 0;
    const lmt_json *seqs = lmt_json_get(c, "sequences");
    int wn = to_ints(seqs, want, 8192, &wT);
    int32_t *got = NULL;
    float *scores = NULL;
    int T = 0;
    CHECK_OK(lmt_seq2seq_generate(m, b->ids, b->mask, b->B, b->Ts, o, &got, &T, &scores));
    if (!got) return;
    CHECK_MSG(T == wT && (int)seqs->len == b->B * o->num_return_sequences, "%s: %d columns, want %d", name, T, wT);
    if (T == wT) {
        int bad_at = -1;
        for (int i = 0; i < wn && bad_at < 0; i++)
            if (got[i] != want[i]) bad_at = i;
        CHECK_MSG(bad_at < 0, "%s: row %d column %d: %d, want %d", name, bad_at / T, bad_at % T,
                  got[bad_at < 0 ? 0 : bad_at], want[bad_at < 0 ? 0 : bad_at]);
    }
    const lmt_json *ws = lmt_json_get(c, "sequences_scores");
    CHECK_MSG((ws != NULL) == (scores != NULL), "%s: scores", name);
    for (size_t i = 0; ws && scores && i < ws->len; i++)
        CHECK_MSG(fabs(scores[i] - ws->items[i].num) <= 1e-4, "%s: score %zu: %.7g vs %.7g", name, i, scores[i],
                  ws->items[i].num);
    free(got);
    free(scores);
}

static const lmt_json *find_case(const lmt_json *cases, const char *name) {
    for (size_t i = 0; i < cases->len; i++)
        if (!strcmp(lmt_json_get(&cases->items[i], "name")->str, name)) return &cases->items[i];
    return NULL;
}

static bool refused(lmt_model *m, const batch *b, const lmt_s2s_gen_opts *o, const char *needle) {
    int32_t *got = NULL;
    int T = 0;
    lmt_status st = lmt_seq2seq_generate(m, b->ids, b->mask, b->B, b->Ts, o, &got, &T, NULL);
    bool ok = st == LMT_ERR_ARG && !got && strstr(lmt_last_error(), needle) != NULL;
    if (!ok) fprintf(stderr, "expected a refusal naming \"%s\", got status %d: %s\n", needle, (int)st, lmt_last_error());
    free(got);
    return ok;
}

int main(void) {
    lmt_model *m = NULL;
    lmt_json *ref = NULL;
    CHECK_OK(lmt_model_load(FX "/models/marian", &m));
    CHECK_OK(lmt_json_parse_file(FX "/seq2seq_generate/reference.json", &ref));
    if (!m || !ref) return lmt_test_finish();
    static batch small, b16;
    CHECK(load_batch(ref, "small", &small));
    CHECK(load_batch(ref, "b16", &b16));
    CHECK(b16.B == 16);

    lmt_s2s_gen_opts base = lmt_s2s_gen_opts_from_model(m);
    CHECK(base.decoder_start_token_id == 95 && base.pad_token_id == 95 && base.eos_token_id == 0);
    CHECK(base.forced_eos_token_id == 0 && base.early_stopping == LMT_S2S_ES_FALSE && base.num_beams == 1);
    CHECK(base.forced_bos_token_id == -1 && !base.config_bad_words && base.min_length == 0);
    CHECK(base.max_length == 21);   // no max_length anywhere: 20 new tokens

    const lmt_json *cases = lmt_json_get(ref, "cases");
    int n_multi = 0;
    for (size_t ci = 0; ci < cases->len; ci++) {
        const lmt_json *c = &cases->items[ci];
        const char *name = lmt_json_get(c, "name")->str;
        const lmt_json *in = lmt_json_get(c, "input");
        const batch *b = in && !strcmp(in->str, "b16") ? &b16 : &small;
        lmt_s2s_gen_opts o = base;
        o.num_beams = (int)num(c, "num_beams", base.num_beams);
        o.max_length = (int)num(c, "max_length", base.max_length);
        o.max_new_tokens = (int)num(c, "max_new_tokens", 0);
        o.min_length = (int)num(c, "min_length", base.min_length);
        o.min_new_tokens = (int)num(c, "min_new_tokens", 0);
        o.no_repeat_ngram_size = (int)num(c, "no_repeat_ngram_size", 0);
        o.length_penalty = num(c, "length_penalty", 1.0);
        o.num_return_sequences = (int)num(c, "num_return_sequences", 1);
        o.eos_token_id = (int32_t)num(c, "eos_token_id", base.eos_token_id);
        o.forced_eos_token_id = (int32_t)num(c, "forced_eos_token_id", base.forced_eos_token_id);
        o.forced_bos_token_id = (int32_t)num(c, "forced_bos_token_id", base.forced_bos_token_id);
        const lmt_json *es = lmt_json_get(c, "early_stopping");
        if (es && es->type == LMT_JSON_BOOL) o.early_stopping = es->boolean;
        int32_t bad[64];
        int lens[16];
        const lmt_json *bw = lmt_json_get(c, "bad_words_ids");
        o.n_bad_words = 0;
        int at = 0;
        for (size_t i = 0; bw && i < bw->len && i < 16; i++) {
            const lmt_json *w = &bw->items[i];
            for (size_t j = 0; j < w->len && at < 64; j++) bad[at++] = (int32_t)w->items[j].i64;
            lens[o.n_bad_words++] = (int)w->len;
            n_multi += w->len > 1;
        }
        o.bad_words = bad;
        o.bad_word_lens = lens;
        check_case(m, b, &o, c, name);
    }
    CHECK(cases->len >= 25 && n_multi >= 5);

    // the same options read from a generation_config.json (bad_words_ids, num_beams, max_length)
    const char *gc = "{\"decoder_start_token_id\": 95, \"eos_token_id\": 0, \"forced_eos_token_id\": 0,"
                     " \"pad_token_id\": 95, \"bad_words_ids\": [[95]], \"num_beams\": 4, \"max_length\": 32}";
    lmt_json *gen = NULL;
    CHECK_OK(lmt_json_parse(gc, strlen(gc), "generation_config.json", &gen));
    lmt_json *saved = m->generation_config;
    m->generation_config = gen;
    lmt_s2s_gen_opts cfg = lmt_s2s_gen_opts_from_model(m);
    CHECK(cfg.config_bad_words && cfg.num_beams == 4 && cfg.max_length == 32 && !cfg.bad_words);
    const lmt_json *c32 = find_case(cases, "b16_beam4_len32");
    CHECK(c32 != NULL);
    if (c32) check_case(m, &b16, &cfg, c32, "b16_beam4_len32 from generation_config.json");
    // a bad generation_config.json bad word is refused naming it
    const char *gbad = "{\"decoder_start_token_id\": 95, \"bad_words_ids\": [[95], [7, 96]]}";
    lmt_json *gen2 = NULL;
    CHECK_OK(lmt_json_parse(gbad, strlen(gbad), "generation_config.json", &gen2));
    m->generation_config = gen2;
    cfg = lmt_s2s_gen_opts_from_model(m);
    CHECK(refused(m, &small, &cfg, "generation_config.json bad_words_ids[1][1] = 96"));
    m->generation_config = saved;
    lmt_json_free(gen);
    lmt_json_free(gen2);

    // bad options: clear errors, nothing returned
    lmt_s2s_gen_opts o = base;
    o.num_beams = 0;
    CHECK(refused(m, &small, &o, "num_beams"));
    o = base;
    o.max_length = 33;   // the fixture has 32 positions
    CHECK(refused(m, &small, &o, "max_position_embeddings"));
    o = base;
    o.max_new_tokens = 32;   // 1 + 32 positions
    CHECK(refused(m, &small, &o, "max_new_tokens"));
    o = base;
    o.num_beams = 2;
    o.num_return_sequences = 3;
    CHECK(refused(m, &small, &o, "num_return_sequences"));
    o = base;
    int32_t oov[] = {5, 96};
    int oov_lens[] = {2};
    o.bad_words = oov;
    o.bad_word_lens = oov_lens;
    o.n_bad_words = 1;
    CHECK(refused(m, &small, &o, "bad_words_ids[0][1] = 96"));
    o = base;
    o.no_repeat_ngram_size = -1;
    CHECK(refused(m, &small, &o, "no_repeat_ngram_size"));
    o = base;
    o.min_new_tokens = -2;
    CHECK(refused(m, &small, &o, "min_new_tokens"));
    o = base;
    o.forced_bos_token_id = 96;
    CHECK(refused(m, &small, &o, "forced_bos_token_id"));

    lmt_json_free(ref);
    lmt_model_free(m);
    return lmt_test_finish();
}
