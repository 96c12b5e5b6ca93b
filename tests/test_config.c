/* config.json parsing against the real configs of the SPEC's models. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "models/config.h"
#include "models/layout.h"

static char path[1024];
static const char *cfg_path(const char *name) {
    snprintf(path, sizeof path, "%s/configs/%s", LMT_SHARED_DATA, name);
    return path;
}

static size_t count_params(const lmt_config *c) {
    lmt_layout l;
    if (lmt_layout_build(c, &l) != LMT_OK) return 0;
    size_t n = 0;
    for (size_t i = 0; i < l.n_params; i++)
        if (!(l.params[i].flags & LMT_PARAM_BUFFER)) n += l.params[i].numel;  /* as num_parameters() */
    lmt_layout_free(&l);
    return n;
}

static void check_bad(const char *json, lmt_status want, const char *needle) {
    lmt_json *j;
    lmt_config c;
    if (lmt_json_parse(json, strlen(json), "bad/config.json", &j) != LMT_OK) { CHECK_MSG(0, "fixture json invalid"); return; }
    lmt_status s = lmt_config_from_json(j, "bad/config.json", &c);
    CHECK_MSG(s == want, "status %d for %s", s, json);
    CHECK_MSG(strstr(lmt_last_error(), "bad/config.json") && strstr(lmt_last_error(), needle), "message: %s", lmt_last_error());
    if (s == LMT_OK) lmt_config_free(&c);
}

int main(void) {
    lmt_config c;
    /* distilgpt2's config has no model_type: the class name decides */
    CHECK_OK(lmt_config_load(cfg_path("distilgpt2.json"), &c));
    CHECK(c.arch == LMT_ARCH_GPT2 && c.n_layer == 6 && c.d_model == 768 && c.n_head == 12 && c.vocab_size == 50257);
    CHECK(c.max_positions == 1024 && c.d_ff == 3072 && c.act == LMT_ACT_GELU_TANH && c.layer_norm_eps == 1e-5);
    CHECK(c.dropout == 0.1 && c.attn_dropout == 0.1 && c.embd_dropout == 0.1 && c.tie_word_embeddings);
    /* 81,912,576: GPT2LMHeadModel.from_pretrained("distilgpt2").num_parameters() */
    CHECK(count_params(&c) == 81912576);
    lmt_config_free(&c);

    CHECK_OK(lmt_config_load(cfg_path("distilroberta-base.json"), &c));
    CHECK(c.arch == LMT_ARCH_ROBERTA && c.n_layer == 6 && c.max_positions == 514 && c.type_vocab_size == 1);
    CHECK(c.pad_token_id == 1 && c.act == LMT_ACT_GELU && c.layer_norm_eps == 1e-5 && c.vocab_size == 50265);
    /* Counts: transformers 5.23 <Class>(config).num_parameters() for these configs. */
    CHECK_MSG(count_params(&c) == 82170201, "%zu", count_params(&c));
    lmt_config_free(&c);

    CHECK_OK(lmt_config_load(cfg_path("bert-base-uncased.json"), &c));
    CHECK(c.arch == LMT_ARCH_BERT && c.n_layer == 12 && c.type_vocab_size == 2 && c.layer_norm_eps == 1e-12 && c.pad_token_id == 0);
    CHECK_MSG(count_params(&c) == 109514298, "%zu", count_params(&c));
    lmt_config_free(&c);

    CHECK_OK(lmt_config_load(cfg_path("distilbert-base-uncased.json"), &c));
    CHECK(c.arch == LMT_ARCH_DISTILBERT && c.n_layer == 6 && c.d_ff == 3072 && !c.sinusoidal_positions);
    /* 66,985,530: DistilBertForMaskedLM distilbert-base-uncased num_parameters() */
    CHECK_MSG(count_params(&c) == 66985530, "%zu", count_params(&c));
    lmt_config_free(&c);

    CHECK_OK(lmt_config_load(cfg_path("opus-mt-en-fr.json"), &c));
    CHECK(c.arch == LMT_ARCH_MARIAN && c.d_model == 512 && c.n_layer == 6 && c.dec_layers == 6 && c.n_head == 8);
    CHECK(c.d_ff == 2048 && c.act == LMT_ACT_SILU && c.vocab_size == 59514 && c.pad_token_id == 59513);
    CHECK(c.decoder_start_token_id == 59513 && c.eos_token_id == 0 && c.scale_embedding && c.max_positions == 512);
    CHECK_MSG(count_params(&c) == 75133952, "%zu", count_params(&c));
    lmt_config_free(&c);

    check_bad("{\"model_type\": \"gemma\"}", LMT_ERR_UNSUPPORTED, "model_type \"gemma\" is not supported");
    check_bad("{\"hidden_size\": 8}", LMT_ERR_FORMAT, "missing \"model_type\"");
    check_bad("{\"model_type\": \"gpt2\", \"n_embd\": \"768\"}", LMT_ERR_FORMAT, "field \"n_embd\" must be an integer, found string");
    check_bad("{\"model_type\": \"gpt2\", \"n_embd\": 100, \"n_head\": 12}", LMT_ERR_FORMAT, "not a multiple");
    check_bad("{\"model_type\": \"bert\", \"hidden_act\": \"tanhh\"}", LMT_ERR_UNSUPPORTED, "tanhh");
    check_bad("{\"model_type\": \"bert\", \"num_hidden_layers\": -1}", LMT_ERR_FORMAT, "out of range");
    /* fuzz finding: GPT-2's n_inner default (4 x n_embd) overflowed before n_embd's range was checked (UBSan) */
    check_bad("{\"model_type\": \"gpt2\", \"n_embd\": 9223372036854775807}", LMT_ERR_FORMAT, "hidden size 9223372036854775807 is out of range");
    check_bad("{\"model_type\": \"gpt2\", \"n_embd\": -9223372036854775807}", LMT_ERR_FORMAT, "hidden size -9223372036854775807 is out of range");
    check_bad("{\"model_type\": \"bert\", \"pad_token_id\": 99999}", LMT_ERR_FORMAT, "pad_token_id 99999 is outside the vocabulary");
    check_bad("{\"model_type\": 5}", LMT_ERR_FORMAT, "field \"model_type\" must be a string");
    check_bad("[1]", LMT_ERR_FORMAT, "must hold a JSON object");
    CHECK(lmt_config_load("/nonexistent/config.json", &c) == LMT_ERR_NOT_FOUND);
    return lmt_test_finish();
}
