/* MarianMTModel with separate encoder/decoder vocabularies
 * ("share_encoder_decoder_embeddings": false) and with an untied lm_head,
 * against transformers on the tiny fixtures of
 * tools/reference/make_marian_separate_fixtures.py
 * (tests/fixtures/models/marian-separate/{tied,untied,shared-untied}):
 * - loading (model.safetensors and pytorch_model.bin) gives transformers'
 *   tensors bit for bit, num_parameters() agrees, and saving writes the
 *   bytes save_pretrained wrote (model.safetensors, config.json,
 *   generation_config.json), which read back to the same tensors;
 * - logits and loss (eval mode) within 1e-5 relative; the gradient of every
 *   parameter transformers gives one within 1e-4 of the tensor's scale, and
 *   a zero gradient for every other (positions, final_logits_bias, the
 *   unused model.shared of shared-but-untied);
 * - the tables are where transformers puts them (lm_head tied to the
 *   decoder table or not), ids are checked against the right vocabulary;
 * - decoder_vocab_size != vocab_size with shared embeddings is refused;
 * - MarianTokenizer with separate_vocabs=true (target_vocab.json) encodes
 *   targets and decodes as transformers does (marian-separate/tokenizer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "parity.h"
#include "model_files.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/marian.h"
#include "models/model.h"
#include "lmtune/tokenizer.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/models/marian-separate/"

static void check_folder(const char *variant, const char *dir, lmt_model *m, const char *tmp) {
    char path[700], out[700], a[800], b[800];
    snprintf(path, sizeof path, "%s/pytorch_model.bin", dir);
    lmt_tensor_file *pt = NULL;
    CHECK_OK(lmt_tensor_file_open(path, &pt));
    if (!pt) return;
    CHECK_MSG(compare_to(m, pt, true) == 0, "%s: loaded from model.safetensors", variant);
    CHECK(m->report.n_missing == 0 && m->report.n_unused == 0);
    lmt_json *ref = NULL;
    snprintf(a, sizeof a, "%s/reference.json", dir);
    CHECK_OK(lmt_json_parse_file(a, &ref));
    if (ref) {
        const lmt_json *np = lmt_json_get(ref, "num_parameters");
        CHECK_MSG(np && (size_t)np->i64 == lmt_model_num_params(m), "%s: %zu parameters", variant, lmt_model_num_params(m));
        lmt_json_free(ref);
    }
    snprintf(out, sizeof out, "%s/%s-out", tmp, variant);
    CHECK_OK(lmt_model_save(m, out));
    const char *files[] = {"model.safetensors", "config.json", "generation_config.json"};
    for (int k = 0; k < 3; k++) {
        snprintf(a, sizeof a, "%s/%s", dir, files[k]);
        snprintf(b, sizeof b, "%s/%s", out, files[k]);
        if (!lmt_file_exists(a)) { CHECK(!lmt_file_exists(b)); continue; }
        CHECK_MSG(files_equal(a, b), "%s: %s differs from the one transformers saved", variant, files[k]);
    }
    lmt_model *r = NULL;
    CHECK_OK(lmt_model_load(out, &r));
    if (r) CHECK_MSG(compare_to(r, pt, true) == 0, "%s: re-read after save", variant);
    lmt_model_free(r);
    /* pytorch_model.bin alone (every alias present) */
    snprintf(a, sizeof a, "%s/%s-bin", tmp, variant);
    CHECK_OK(lmt_mkdirs(a));
    run_cmd("cp %s/config.json %s/", dir, a);
    run_cmd("cp %s/pytorch_model.bin %s/", dir, a);
    r = NULL;
    CHECK_OK(lmt_model_load(a, &r));
    if (r) {
        CHECK_MSG(compare_to(r, pt, true) == 0, "%s: loaded from pytorch_model.bin", variant);
        CHECK(r->report.n_missing == 0 && r->report.n_unused == 0);
    }
    lmt_model_free(r);
    lmt_tensor_file_free(pt);
}

typedef struct { int B, Ts, Tt; const int64_t *ids, *mask, *dec, *labels; } batch;

static bool read_batch(const lmt_tensor_file *ref, batch *b) {
    const lmt_tensor_entry *ids = need(ref, "input_ids", LMT_I64), *mask = need(ref, "attention_mask", LMT_I64),
                           *dec = need(ref, "decoder_input_ids", LMT_I64), *labels = need(ref, "labels", LMT_I64);
    if (!ids || !mask || !dec || !labels || ids->ndim != 2 || dec->ndim != 2 || labels->ndim != 2) return false;
    *b = (batch){(int)ids->shape[0], (int)ids->shape[1], (int)dec->shape[1], ids->data, mask->data, dec->data, labels->data};
    return dec->shape[0] == b->B && labels->shape[0] == b->B && labels->shape[1] == b->Tt;
}

static void check_parity(const char *variant, lmt_model *m, const lmt_tensor_file *ref, const batch *b) {
    const lmt_config *c = &m->cfg;
    lmt_marian *mt = NULL;
    CHECK_OK(lmt_marian_create(m, b->B, b->Ts, b->Tt, true, &mt));
    if (!mt) return;
    CHECK(mt->V == c->vocab_size && mt->Vd == c->dec_vocab_size);
    /* the tables transformers uses */
    CHECK(mt->w.enc_emb.tok == lmt_model_tensor(m, "model.encoder.embed_tokens.weight"));
    CHECK(mt->w.dec_emb.tok == lmt_model_tensor(m, "model.decoder.embed_tokens.weight"));
    CHECK(mt->w.head.w == lmt_model_tensor(m, "lm_head.weight"));
    CHECK(mt->w.dec_emb.tok != mt->w.enc_emb.tok);
    CHECK((mt->w.head.w == mt->w.dec_emb.tok) == c->tie_word_embeddings);
    CHECK(lmt_marian_grad(mt, "lm_head.weight") == mt->g.head.w);

    CHECK_OK(lmt_marian_forward(mt, LMT_I64, b->ids, b->mask, b->dec, b->labels, b->B, b->Ts, b->Tt, false));
    const lmt_tensor_entry *logits = need(ref, "logits", LMT_F32), *loss = need(ref, "loss", LMT_F32);
    size_t NV = (size_t)b->B * b->Tt * mt->Vd;
    if (logits && logits->nbytes == NV * 4) {
        parity_worst_rel = 0;
        close_tensor("logits", mt->logits, logits->data, NV, 1e-5, 1e-3);
        printf("%s: logits (%d wide) worst relative error %.2g\n", variant, mt->Vd, parity_worst_rel);
    } else CHECK_MSG(0, "%s: reference logits have another size", variant);
    if (loss) {
        float want = *(const float *)loss->data;
        CHECK_MSG(fabs(mt->net.loss - want) <= 1e-5 * fabs(want), "%s: loss %.9g vs transformers %.9g", variant, mt->net.loss, want);
        printf("%s: loss %.9g vs %.9g\n", variant, mt->net.loss, want);
    }
    CHECK_OK(lmt_marian_backward(mt));
    size_t n_params = m->layout.n_params;
    int compared, ref_grads;
    int *seen = parity_grads(variant, ref, &m->layout, mt->net.grads, &ref_grads, &compared);
    int without = 0;
    for (size_t p = 0; p < n_params; p++) {
        const lmt_param_spec *ps = &m->layout.params[p];
        CHECK_MSG(seen[p] <= 1, "%s: %s compared %d times", variant, ps->name, seen[p]);
        if (seen[p]) continue;
        /* no reference gradient: none of ours either */
        without++;
        bool zero = true;
        for (size_t i = 0; i < ps->numel; i++) zero = zero && mt->net.grads[ps->offset + i] == 0.0f;
        CHECK_MSG(zero, "%s: %s got a gradient transformers does not give it", variant, ps->name);
    }
    /* positions x2 and final_logits_bias; shared-but-untied: model.shared too */
    bool dead_shared = c->share_encoder_decoder_embeddings && !c->tie_word_embeddings;
    CHECK_MSG(without == 3 + dead_shared && ref_grads == compared, "%s: %d without gradient, %d/%d compared", variant,
              without, compared, ref_grads);
    free(seen);

    /* ids against the right vocabulary */
    int Ne = b->B * b->Ts, Nd = b->B * b->Tt;
    int32_t *ids = malloc(Ne * 4), *dec = malloc(Nd * 4), *labels = malloc(Nd * 4);
    for (int n = 0; n < Ne; n++) ids[n] = (int32_t)b->ids[n];
    for (int n = 0; n < Nd; n++) { dec[n] = (int32_t)b->dec[n]; labels[n] = (int32_t)b->labels[n]; }
    int32_t *mask = malloc(Ne * 4);
    for (int n = 0; n < Ne; n++) mask[n] = (int32_t)b->mask[n];
    CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, NULL, labels, b->B, b->Ts, b->Tt, false));
    bool same = true;
    for (int n = 0; n < Nd; n++) same = same && mt->dec_ids[n] == dec[n];
    CHECK_MSG(same, "%s: decoder_input_ids from the labels differ from transformers'", variant);
    ids[1] = mt->V - 1;   // the last encoder id is fine
    dec[1] = mt->Vd - 1;  // and the last decoder id
    CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, b->B, b->Ts, b->Tt, false));
    ids[1] = mt->V;
    CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, b->B, b->Ts, b->Tt, false) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "input_ids") && strstr(lmt_last_error(), "vocabulary"));
    ids[1] = 3;
    dec[1] = mt->Vd;
    CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, b->B, b->Ts, b->Tt, false) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "decoder_input_ids") != NULL);
    dec[1] = 3;
    labels[0] = mt->Vd;
    CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, b->B, b->Ts, b->Tt, false) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "labels") && strstr(lmt_last_error(), "decoder vocabulary"));
    labels[0] = 3;
    /* training mode with dropout: finite gradients in every table */
    lmt_marian_set_seed(mt, 9);
    CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, b->B, b->Ts, b->Tt, true));
    lmt_marian_zero_grad(mt);
    CHECK_OK(lmt_marian_backward(mt));
    bool finite = true;
    for (size_t i = 0; i < m->layout.num_floats; i++) finite = finite && isfinite(mt->net.grads[i]);
    CHECK(finite && isfinite(mt->net.loss));
    free(ids); free(mask); free(dec); free(labels);
    lmt_marian_free(mt);
}

static void check_variant(const char *variant, const char *tmp) {
    char dir[512], p[600];
    snprintf(dir, sizeof dir, FX "%s", variant);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    lmt_tensor_file *ref = NULL;
    snprintf(p, sizeof p, "%s/reference.safetensors", dir);
    CHECK_OK(lmt_safetensors_open(p, &ref));
    batch b;
    if (m && ref && read_batch(ref, &b)) {
        check_parity(variant, m, ref, &b);
        check_folder(variant, dir, m, tmp);
    } else CHECK_MSG(0, "%s: fixture unreadable", variant);
    lmt_tensor_file_free(ref);
    lmt_model_free(m);
}

static void check_bad_config(const char *text, const char *needle) {
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse(text, strlen(text), "test.json", &j));
    if (!j) return;
    lmt_config c;
    CHECK(lmt_config_from_json(j, "test/config.json", &c) == LMT_ERR_FORMAT);   // takes j
    CHECK_MSG(strstr(lmt_last_error(), "test/config.json") && strstr(lmt_last_error(), needle), "%s", lmt_last_error());
}

static bool ids_eq(const int32_t *a, size_t n, const lmt_json *want) {
    if (!want || want->type != LMT_JSON_ARRAY || want->len != n) return false;
    for (size_t i = 0; i < n; i++) if (want->items[i].i64 != a[i]) return false;
    return true;
}

static void check_decode(const lmt_tokenizer *t, const int32_t *ids, size_t n, bool skip, const lmt_json *want, const char *what) {
    char *d = NULL;
    size_t dl = 0;
    CHECK_OK(lmt_tokenizer_decode(t, ids, n, skip, true, &d, &dl));
    CHECK_MSG(want && want->type == LMT_JSON_STRING && d && dl == want->len && !memcmp(d, want->str, dl),
              "%s: \"%s\" vs transformers \"%s\"", what, d ? d : "?", want && want->type == LMT_JSON_STRING ? want->str : "?");
    free(d);
}

static void check_tokenizer(const char *tmp) {
    char dir[600], cmd[2048];
    snprintf(dir, sizeof dir, "%s/tok", tmp);
    CHECK_OK(lmt_mkdirs(dir));
    snprintf(cmd, sizeof cmd, "cp " LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt/*.spm " LMT_SHARED_DATA
             "/tokenizers/opus-mt-tc-big-en-pt/vocab.json " LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt/special_tokens_map.json "
             FX "tokenizer/target_vocab.json " FX "tokenizer/tokenizer_config.json %s/", dir);
    CHECK(system(cmd) == 0);
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(FX "tokenizer/reference.json", &ref));
    lmt_tokenizer *t = NULL;
    CHECK_OK(lmt_tokenizer_load(dir, &t));
    const lmt_json *cases = ref ? lmt_json_get(ref, "cases") : NULL;
    if (t && cases) {
        for (size_t i = 0; i < cases->len; i++) {
            const lmt_json *c = &cases->items[i], *text = lmt_json_get(c, "text");
            lmt_encode_opts o = lmt_encode_opts_default();
            lmt_encoding e;
            CHECK_OK(lmt_tokenizer_encode(t, text->str, text->len, NULL, 0, &o, &e));
            CHECK_MSG(ids_eq(e.ids, e.n, lmt_json_get(c, "src_ids")), "case %zu: source ids differ", i);
            lmt_encoding_free(&e);
            o.text_target = true;
            CHECK_OK(lmt_tokenizer_encode(t, text->str, text->len, NULL, 0, &o, &e));
            CHECK_MSG(ids_eq(e.ids, e.n, lmt_json_get(c, "tgt_ids")), "case %zu: target ids differ", i);
            check_decode(t, e.ids, e.n, true, lmt_json_get(c, "tgt_decode"), "tgt_decode");
            check_decode(t, e.ids, e.n, false, lmt_json_get(c, "tgt_decode_special"), "tgt_decode_special");
            lmt_encoding_free(&e);
        }
        const lmt_json *x = lmt_json_get(ref, "decode_extra"), *xi = lmt_json_get(x, "ids");
        int32_t ids[16];
        size_t n = xi && xi->len <= 16 ? xi->len : 0;
        for (size_t i = 0; i < n; i++) ids[i] = (int32_t)xi->items[i].i64;
        CHECK(n > 0);
        check_decode(t, ids, n, false, lmt_json_get(x, "decode"), "decode_extra");
        check_decode(t, ids, n, true, lmt_json_get(x, "decode_skip"), "decode_extra skip");
        printf("tokenizer: %zu separate-vocab cases\n", cases->len);
    } else CHECK_MSG(0, "tokenizer fixture unreadable");
    lmt_tokenizer_free(t);
    /* separate_vocabs without target_vocab.json */
    snprintf(cmd, sizeof cmd, "rm %s/target_vocab.json", dir);
    CHECK(system(cmd) == 0);
    t = NULL;
    CHECK(lmt_tokenizer_load(dir, &t) == LMT_ERR_NOT_FOUND && t == NULL);
    CHECK_MSG(strstr(lmt_last_error(), "target_vocab.json: missing") && strstr(lmt_last_error(), "separate_vocabs"), "%s", lmt_last_error());
    lmt_json_free(ref);
}

int main(void) {
    char tmp[] = "/tmp/lmt-msep-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    const char *variants[] = {"tied", "untied", "shared-untied"};
    for (int i = 0; i < 3; i++) check_variant(variants[i], tmp);
    check_tokenizer(tmp);
    /* shared embeddings need one vocabulary size (transformers' loss reshapes
     * the vocab_size-wide logits by decoder_vocab_size) */
    check_bad_config("{\"model_type\": \"marian\", \"vocab_size\": 96, \"decoder_vocab_size\": 80, \"d_model\": 32,"
                     " \"encoder_attention_heads\": 4, \"decoder_attention_heads\": 4, \"pad_token_id\": 5, \"decoder_start_token_id\": 5}",
                     "decoder_vocab_size 80 differs from vocab_size 96");
    /* separate: the decoder start is a decoder id, pad a row of both tables */
    check_bad_config("{\"model_type\": \"marian\", \"vocab_size\": 96, \"decoder_vocab_size\": 80, \"share_encoder_decoder_embeddings\": false,"
                     " \"d_model\": 32, \"encoder_attention_heads\": 4, \"decoder_attention_heads\": 4, \"pad_token_id\": 5, \"decoder_start_token_id\": 85}",
                     "decoder_start_token_id 85 is outside the vocabulary (decoder_vocab_size 80)");
    check_bad_config("{\"model_type\": \"marian\", \"vocab_size\": 96, \"decoder_vocab_size\": 80, \"share_encoder_decoder_embeddings\": false,"
                     " \"d_model\": 32, \"encoder_attention_heads\": 4, \"decoder_attention_heads\": 4, \"pad_token_id\": 90, \"decoder_start_token_id\": 5}",
                     "pad_token_id 90 is outside the vocabulary (decoder_vocab_size 80)");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
