/* Greedy and beam search of the tiny Marian fixture against model.generate()
 * (tests/fixtures/seq2seq_generate/reference.json, made by
 * tools/reference/make_seq2seq_generate_fixtures.py): token sequences
 * exactly, sequences_scores within 1e-4; bad options refused. */
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

int main(void) {
    lmt_model *m = NULL;
    lmt_json *ref = NULL;
    CHECK_OK(lmt_model_load(FX "/models/marian", &m));
    CHECK_OK(lmt_json_parse_file(FX "/seq2seq_generate/reference.json", &ref));
    if (!m || !ref) return lmt_test_finish();
    int32_t ids[256], mask[256];
    int Ts = 0, Tm = 0;
    const lmt_json *jids = lmt_json_get(ref, "input_ids");
    int n = to_ints(jids, ids, 256, &Ts);
    to_ints(lmt_json_get(ref, "attention_mask"), mask, 256, &Tm);
    int B = (int)jids->len;
    CHECK(n == B * Ts && Tm == Ts);

    lmt_s2s_gen_opts base = lmt_s2s_gen_opts_from_model(m);
    CHECK(base.decoder_start_token_id == 95 && base.pad_token_id == 95 && base.eos_token_id == 0);
    CHECK(base.forced_eos_token_id == 0 && base.early_stopping == LMT_S2S_ES_FALSE && base.num_beams == 1);

    const lmt_json *cases = lmt_json_get(ref, "cases");
    for (size_t ci = 0; ci < cases->len; ci++) {
        const lmt_json *c = &cases->items[ci];
        const char *name = lmt_json_get(c, "name")->str;
        lmt_s2s_gen_opts o = base;
        o.num_beams = (int)num(c, "num_beams", 1);
        o.max_length = (int)num(c, "max_length", 20);
        o.max_new_tokens = (int)num(c, "max_new_tokens", 0);
        o.length_penalty = num(c, "length_penalty", 1.0);
        o.num_return_sequences = (int)num(c, "num_return_sequences", 1);
        o.eos_token_id = (int32_t)num(c, "eos_token_id", base.eos_token_id);
        o.forced_eos_token_id = (int32_t)num(c, "forced_eos_token_id", base.forced_eos_token_id);
        const lmt_json *es = lmt_json_get(c, "early_stopping");
        if (es && es->type == LMT_JSON_BOOL) o.early_stopping = es->boolean;
        int32_t bad[8];
        const lmt_json *bw = lmt_json_get(c, "bad_words_ids");
        o.n_bad_words = 0;
        for (size_t i = 0; bw && i < bw->len && i < 8; i++) bad[o.n_bad_words++] = (int32_t)bw->items[i].items[0].i64;
        o.bad_words = bad;

        int32_t want[1024];
        int wT = 0;
        const lmt_json *seqs = lmt_json_get(c, "sequences");
        int wn = to_ints(seqs, want, 1024, &wT);
        int32_t *got = NULL;
        float *scores = NULL;
        int T = 0;
        CHECK_OK(lmt_seq2seq_generate(m, ids, mask, B, Ts, &o, &got, &T, &scores));
        if (!got) continue;
        CHECK_MSG(T == wT && (int)seqs->len == B * o.num_return_sequences, "%s: %d columns, want %d", name, T, wT);
        if (T == wT) {
            int bad_at = -1;
            for (int i = 0; i < wn && bad_at < 0; i++)
                if (got[i] != want[i]) bad_at = i;
            CHECK_MSG(bad_at < 0, "%s: row %d column %d: %d, want %d", name, bad_at / T, bad_at % T,
                      got[bad_at < 0 ? 0 : bad_at], want[bad_at < 0 ? 0 : bad_at]);
        }
        const lmt_json *ws = lmt_json_get(c, "sequences_scores");
        CHECK((ws != NULL) == (scores != NULL));
        for (size_t i = 0; ws && scores && i < ws->len; i++)
            CHECK_MSG(fabs(scores[i] - ws->items[i].num) <= 1e-4, "%s: score %zu: %.7g vs %.7g", name, i, scores[i],
                      ws->items[i].num);
        free(got);
        free(scores);
    }

    // bad options: clear errors, nothing returned
    int32_t *got = NULL;
    int T = 0;
    lmt_s2s_gen_opts o = base;
    o.num_beams = 0;
    CHECK(lmt_seq2seq_generate(m, ids, mask, B, Ts, &o, &got, &T, NULL) == LMT_ERR_ARG && !got);
    CHECK(strstr(lmt_last_error(), "num_beams") != NULL);
    o = base;
    o.max_length = 33;   // the fixture has 32 positions
    CHECK(lmt_seq2seq_generate(m, ids, mask, B, Ts, &o, &got, &T, NULL) == LMT_ERR_ARG && !got);
    CHECK(strstr(lmt_last_error(), "positions") != NULL);
    o = base;
    o.num_beams = 2;
    o.num_return_sequences = 3;
    CHECK(lmt_seq2seq_generate(m, ids, mask, B, Ts, &o, &got, &T, NULL) == LMT_ERR_ARG && !got);

    lmt_json_free(ref);
    lmt_model_free(m);
    return lmt_test_finish();
}
