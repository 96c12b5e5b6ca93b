/* LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM parity with
 * transformers on the tiny fixtures of tools/reference/make_llama_fixtures.py
 * (tests/fixtures/models/{llama-gqa,llama3,smollm2,qwen2,mistral,qwen2-swa}): logits
 * and loss (eval mode, a right-padded batch; llama-gqa also a left-padded
 * one, whose first query rows see no key) within 1e-5 relative, the
 * gradient of every parameter within 1e-4 relative; the rope frequencies of
 * each type; transformers' Trainer for 30 steps reproduced step for step
 * (loss, grad_norm, learning_rate, eval_loss; trainer.json of llama-gqa and
 * smollm2; smollm2's trainer_gc.json with gradient_checkpointing=True,
 * read by name from the run's arguments) through the CLM task; cached decoding (one-pass prompt, then
 * one token per step) gives the full forward's logits at every position and
 * transformers' greedy generate() token for token; the model saved and reloaded gives the same logits; bad configs
 * (a rope type lmtune lacks, head counts that do not divide) are refused
 * naming config.json; Mistral's sliding window (inside the batch) is masked
 * on every layer, Qwen2's (qwen2-swa) on the layers layer_types /
 * max_window_layers say. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "parity.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/llama.h"
#include "models/gpt2_decode.h"
#include "models/model.h"
#include "generate/generate.h"
#include "trainer_ref.h"
#include "train/task_clm.h"

#define FXD LMT_SOURCE_DIR "/tests/fixtures/models/"


/* Forward + backward on the reference batch (file in the fixture's folder);
 * compares logits, loss, grads. */
static void check_fixture(const char *name, lmt_arch arch, const char *file) {
    char dir[512], refp[700];
    snprintf(dir, sizeof dir, FXD "%s", name);
    snprintf(refp, sizeof refp, "%s/%s", dir, file);
    char what[128];
    snprintf(what, sizeof what, "%.40s %.60s", name, file);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(refp, &ref));
    parity_batch b;
    if (!m || !ref || !parity_read_batch(ref, &b)) { lmt_model_free(m); lmt_tensor_file_free(ref); return; }
    CHECK_MSG(m->cfg.arch == arch, "%s: architecture %s", name, lmt_arch_name(m->cfg.arch));
    CHECK_MSG(m->report.n_missing == 0 && m->report.n_unused == 0, "%s: %zu missing, %zu unused tensors", name,
              m->report.n_missing, m->report.n_unused);
    lmt_llama *l = NULL;
    CHECK_OK(lmt_llama_create(m, b.B, b.T, true, &l));
    if (l) {
        CHECK_OK(lmt_llama_forward(l, LMT_I64, b.ids, b.mask, b.labels, b.B, b.T, false));
        parity_logits_loss(what, ref, l->logits, (size_t)b.B * b.T * l->V, l->net.loss);
        CHECK_OK(lmt_llama_backward(l));
        parity_all_grads(what, ref, &m->layout, l->net.grads);
    }
    lmt_llama_free(l);
    lmt_model_free(m);
    lmt_tensor_file_free(ref);
}

/* The 30-step Trainer run of the fixture's file (trainer.json; trainer_gc.json:
 * with gradient_checkpointing), step for step. */
static void check_trainer(const char *name, const char *file) {
    char path[600], dir[] = "/tmp/lmt-llama-trainer-XXXXXX";
    snprintf(path, sizeof path, FXD "%s/%s", name, file);
    ref_trainer_run r;
    if (!ref_trainer_load(&r, path, dir)) return;
    lmt_model *m = NULL;
    snprintf(path, sizeof path, FXD "%s", name);
    CHECK_OK(lmt_model_load(path, &m));
    lmt_clm_task *task = NULL;
    if (m) {
        m->gradient_checkpointing = r.args.gradient_checkpointing;   // as lmt_finetune_run and the lmt_tuner set it
        CHECK_OK(lmt_clm_task_create(m, 4, r.T, &task));
    }
    if (task) {
        CHECK(task->net->checkpoint == r.args.gradient_checkpointing);
        lmt_block_data tr, ev;
        lmt_block_data_init(&tr, r.train, r.ntr, r.T);
        lmt_block_data_init(&ev, r.eval, r.nev, r.Te);
        lmt_trainer t;
        CHECK_OK(lmt_trainer_init(&t, &r.args, &task->base, &tr.base, &ev.base));
        t.sampler = lmt_sampler_sequential;
        lmt_train_output out;
        CHECK_OK(lmt_trainer_train(&t, &out));
        ref_trainer_compare(name, &r, &t, &out);
        lmt_trainer_free(&t);
    }
    lmt_clm_task_free(task);
    lmt_model_free(m);
    ref_trainer_free(&r);
    ref_remove_dir(dir);
}

/* Cached decoding against the full forward and transformers' greedy tokens. */
static void check_decode(const char *name) {
    char path[600];
    snprintf(path, sizeof path, FXD "%s/generate.json", name);
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(path, &ref));
    snprintf(path, sizeof path, FXD "%s", name);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(path, &m));
    if (!ref || !m) { lmt_json_free(ref); lmt_model_free(m); return; }
    const lmt_json *jp = lmt_json_get(ref, "prompt"), *jg = lmt_json_get(ref, "greedy");
    int np = (int)jp->len, ng = (int)jg->len, total = np + ng;
    int32_t *seq = malloc((size_t)total * sizeof *seq);
    for (int i = 0; i < np; i++) seq[i] = (int32_t)jp->items[i].i64;
    for (int i = 0; i < ng; i++) seq[np + i] = (int32_t)jg->items[i].i64;
    /* greedy generation, token for token */
    lmt_gen_opts o = lmt_gen_opts_default();
    o.max_new_tokens = ng;
    o.eos_token_id = -1;
    int32_t *out = NULL;
    int n_out = 0;
    CHECK_OK(lmt_generate(m, seq, np, &o, &out, &n_out));
    CHECK_MSG(n_out == total && out && !memcmp(out, seq, (size_t)total * sizeof *seq), "%s: greedy tokens differ from transformers'", name);
    free(out);
    /* the cached logits at each position = the full forward's */
    lmt_llama *l = NULL;
    lmt_gpt2_kv *kv = NULL;
    CHECK_OK(lmt_llama_create(m, 1, total, false, &l));
    CHECK_OK(lmt_gpt2_kv_create(m, total, &kv));
    if (l && kv) {
        CHECK_OK(lmt_llama_forward(l, LMT_I32, seq, NULL, NULL, 1, total, false));
        const float *logits = NULL;
        CHECK_OK(lmt_gpt2_kv_prefill(kv, seq, np, &logits));
        char what[160];
        double worst = 0;
        for (int t = np - 1; t < total && logits; t++) {
            snprintf(what, sizeof what, "%s: cached logits at position %d", name, t);
            parity_worst_rel = 0;
            close_tensor(what, logits, l->logits + (size_t)t * l->V, (size_t)l->V, 1e-5, 1e-3);
            worst = fmax(worst, parity_worst_rel);
            if (t + 1 < total) CHECK_OK(lmt_gpt2_kv_step(kv, seq[t + 1], &logits));
        }
        printf("%s: cached decoding, %d positions, worst relative error %.2g\n", name, ng, worst);
    }
    lmt_gpt2_kv_free(kv);
    lmt_llama_free(l);
    free(seq);
    lmt_model_free(m);
    lmt_json_free(ref);
}

/* config.json text -> the status of loading it; the message must name the file. */
static lmt_status load_config(const char *text, const char *want_in_msg) {
    lmt_json *j = NULL;
    lmt_status s = lmt_json_parse(text, strlen(text), "bad/config.json", &j);
    CHECK_OK(s);
    if (s != LMT_OK) return s;
    lmt_config c;
    s = lmt_config_from_json(j, "bad/config.json", &c);
    if (s == LMT_OK) lmt_config_free(&c);
    else {
        CHECK_MSG(strstr(lmt_last_error(), "bad/config.json") != NULL, "message without the file: %s", lmt_last_error());
        if (want_in_msg) CHECK_MSG(strstr(lmt_last_error(), want_in_msg) != NULL, "message: %s", lmt_last_error());
    }
    return s;
}

static void check_bad_configs(void) {
    CHECK(load_config("{\"model_type\": \"llama\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                      "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}}", "yarn") == LMT_ERR_UNSUPPORTED);
    CHECK(load_config("{\"model_type\": \"qwen2\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                      "\"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 10000.0}}", "longrope") == LMT_ERR_UNSUPPORTED);
    CHECK(load_config("{\"model_type\": \"llama\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                      "\"num_key_value_heads\": 3}", "num_key_value_heads") == LMT_ERR_FORMAT);
    CHECK(load_config("{\"model_type\": \"mistral\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                      "\"num_key_value_heads\": 8}", "num_key_value_heads") == LMT_ERR_FORMAT);
    CHECK(load_config("{\"model_type\": \"llama\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                      "\"hidden_act\": \"gelu\"}", "hidden_act") == LMT_ERR_UNSUPPORTED);
    CHECK(load_config("{\"model_type\": \"llama\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                      "\"eos_token_id\": [7, 8], \"rope_theta\": 500000.0, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}",
                      NULL) == LMT_OK);
}

/* Sliding windows: Mistral's on every layer; Qwen2's (use_sliding_window) on
 * the layers layer_types marks, by default those from max_window_layers on
 * (the qwen2-swa fixture's parity above: full, sliding, sliding, a window
 * of 5 inside its 16-token batch and its 17 generated positions); bad
 * layer_types are refused naming config.json. */
static void check_sliding_window(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXD "qwen2-swa", &m));
    if (m) {
        CHECK(lmt_config_layer_window(&m->cfg, 0) == 0 && lmt_config_layer_window(&m->cfg, 1) == 5 &&
              lmt_config_layer_window(&m->cfg, 2) == 5);
        lmt_llama *l = NULL;
        CHECK_OK(lmt_llama_create(m, 1, 16, false, &l));
        CHECK(l && l->h.windows && l->h.windows[0] == 0 && l->h.windows[2] == 5);
        lmt_llama_free(l);
    }
    lmt_model_free(m);
    m = NULL;
    CHECK_OK(lmt_model_load(FXD "mistral", &m));
    CHECK(m && m->cfg.sliding_window == 6 && lmt_config_layer_window(&m->cfg, 0) == 6 && lmt_config_layer_window(&m->cfg, 1) == 6);
    lmt_model_free(m);
    /* without layer_types: from max_window_layers on (Qwen2Config's default) */
    static const char head[] = "{\"model_type\": \"qwen2\", \"hidden_size\": 32, \"num_attention_heads\": 4, "
                               "\"num_hidden_layers\": 4, \"use_sliding_window\": true, \"sliding_window\": 7";
    char text[512];
    snprintf(text, sizeof text, "%s, \"max_window_layers\": 2}", head);
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse(text, strlen(text), "swa/config.json", &j));
    lmt_config c;
    if (j && lmt_config_from_json(j, "swa/config.json", &c) == LMT_OK) {
        CHECK(lmt_config_layer_window(&c, 1) == 0 && lmt_config_layer_window(&c, 2) == 7 && lmt_config_layer_window(&c, 3) == 7);
        lmt_config_free(&c);
    } else CHECK_MSG(0, "qwen2 config without layer_types: %s", lmt_last_error());
    snprintf(text, sizeof text, "%s, \"layer_types\": [\"full_attention\", \"sliding_attention\"]}", head);
    CHECK(load_config(text, "layer_types") == LMT_ERR_FORMAT);
    snprintf(text, sizeof text, "%s, \"layer_types\": [\"full_attention\", \"full_attention\", \"chunked_attention\", "
             "\"full_attention\"]}", head);
    CHECK(load_config(text, "layer_types[2]") == LMT_ERR_FORMAT);
}

/* The real configs of ../shared/data/llama-family parse, and their layouts
 * hold as many parameters as transformers' models (num_parameters()). */
static void check_real_configs(void) {
    static const struct { const char *dir; lmt_arch arch; size_t params; lmt_rope_type rope; } t[] = {
        {"SmolLM2-135M", LMT_ARCH_LLAMA, 134515008, LMT_ROPE_DEFAULT},
        {"Qwen2.5-0.5B-Instruct", LMT_ARCH_QWEN2, 494032768, LMT_ROPE_DEFAULT},
        {"TinyLlama-1.1B-Chat-v1.0", LMT_ARCH_LLAMA, 1100048384, LMT_ROPE_DEFAULT},
        {"Llama-3.2-1B-Instruct", LMT_ARCH_LLAMA, 1235814400, LMT_ROPE_LLAMA3},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, LMT_SHARED_DATA "/llama-family/%s/config.json", t[i].dir);
        lmt_config c;
        lmt_layout l;
        CHECK_OK(lmt_config_load(path, &c));
        if (lmt_layout_build(&c, &l) != LMT_OK) { CHECK_MSG(0, "%s: layout", t[i].dir); lmt_config_free(&c); continue; }
        size_t n = 0;
        for (size_t p = 0; p < l.n_params; p++) n += l.params[p].numel;
        CHECK_MSG(c.arch == t[i].arch && c.rope.type == t[i].rope, "%s: architecture or rope type", t[i].dir);
        CHECK_MSG(n == t[i].params, "%s: %zu parameters, transformers %zu", t[i].dir, n, t[i].params);
        lmt_layout_free(&l);
        lmt_config_free(&c);
    }
}

/* lmt_model_save then load: same logits (config.json and names as HF's). */
static void check_save_roundtrip(const char *name) {
    char dir[512], tmp[] = "/tmp/lmt_llama_saveXXXXXX";
    snprintf(dir, sizeof dir, FXD "%s", name);
    if (!mkdtemp(tmp)) { CHECK_MSG(0, "mkdtemp"); return; }
    lmt_model *m = NULL, *m2 = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    if (m) CHECK_OK(lmt_model_save(m, tmp));
    CHECK_OK(lmt_model_load(tmp, &m2));
    if (m && m2) {
        CHECK(m2->cfg.arch == m->cfg.arch && m2->layout.num_floats == m->layout.num_floats);
        CHECK(!memcmp(m->params, m2->params, m->layout.num_floats * 4));
        char *cfg = NULL;
        size_t len = 0;
        char p[600];
        snprintf(p, sizeof p, "%s/config.json", tmp);
        CHECK_OK(lmt_read_file(p, &cfg, &len));
        CHECK(cfg && strstr(cfg, lmt_arch_class_name(m->cfg.arch)));
        free(cfg);
    }
    lmt_model_free(m);
    lmt_model_free(m2);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
}

int main(void) {
    check_fixture("llama-gqa", LMT_ARCH_LLAMA, "reference.safetensors");
    check_fixture("llama3", LMT_ARCH_LLAMA, "reference.safetensors");
    check_fixture("smollm2", LMT_ARCH_LLAMA, "reference.safetensors");
    check_fixture("qwen2", LMT_ARCH_QWEN2, "reference.safetensors");
    check_fixture("mistral", LMT_ARCH_MISTRAL, "reference.safetensors");
    check_fixture("qwen2-swa", LMT_ARCH_QWEN2, "reference.safetensors");
    check_fixture("llama-gqa", LMT_ARCH_LLAMA, "reference_leftpad.safetensors");
    static const char *const all[] = {"llama-gqa", "llama3", "smollm2", "qwen2", "mistral", "qwen2-swa"};
    for (int i = 0; i < 6; i++) check_decode(all[i]);
    check_trainer("llama-gqa", "trainer.json");
    check_trainer("smollm2", "trainer.json");
    check_trainer("smollm2", "trainer_gc.json");   // transformers' gradient_checkpointing=True
    check_bad_configs();
    check_sliding_window();
    check_real_configs();
    check_save_roundtrip("qwen2");
    check_save_roundtrip("smollm2");
    return lmt_test_finish();
}
