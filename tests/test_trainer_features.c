/* The TrainingArguments of issue 18 item 1 against transformers' Trainer
 * (tests/fixtures/train/features, tools/reference/make_trainer_features_fixtures.py),
 * step for step on the tiny GPT-2 fixture: every optim (adamw_torch_fused,
 * adafactor, sgd, sgd with Nesterov momentum, adagrad, rmsprop, centered
 * rmsprop with momentum), label_smoothing_factor, data_seed,
 * group_by_length, eval_on_start, include_num_input_tokens_seen and 70
 * accumulated micro-batches: losses, grad norms, learning rates, eval
 * losses, tokens seen, train_loss and final weights. Then
 * LengthGroupedSampler's orders, each optimizer's state through a
 * checkpoint (a resumed run equals a straight one), save_only_model, and
 * the arguments' checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "io/tensor_file.h"
#include "train/task_clm.h"
#include "train/model_card.h"
#include "train/task_seq2seq.h"
#include "train/trainer_features.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/train/features"

static lmt_model *load_model(const char *name) {
    lmt_model *m = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/models/%s", LMT_SOURCE_DIR, name);
    if (lmt_model_load(path, &m) != LMT_OK) return NULL;
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   /* the reference ran with dropout off */
    return m;
}

static lmt_model *load_gpt2(void) { return load_model("gpt2"); }

/* The run's TrainingArguments as the reference passed them (output in dir). */
static void run_args(lmt_training_args *a, const lmt_json *run, char *dir) {
    lmt_training_args_default(a);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a->output_dir, sizeof a->output_dir, "%s/out", dir);
    ref_apply_args(a, lmt_json_get(run, "args"));
}

/* Ours after training against the reference: the log history (final entry
 * included), global step, train_loss, tokens seen and the kept weights. */
static void compare_run(const char *name, const lmt_json *run, const lmt_trainer *t, const lmt_train_output *out,
                        const lmt_model *m, const lmt_tensor_file *wf) {
    const lmt_json *want = lmt_json_get(run, "log_history"), *got = t->state.log_history;
    CHECK_MSG(got->len == want->len, "%s: %zu log entries, transformers %zu", name, got->len, want->len);
    int bad = 0;
    for (size_t i = 0; i < want->len && i < got->len; i++) bad += ref_log_entry_diff(&want->items[i], &got->items[i], i);
    CHECK_MSG(bad == 0, "%s: %d logged values differ from transformers' Trainer", name, bad);
    CHECK_MSG(out->global_step == lmt_json_get(run, "global_step")->i64, "%s: global_step %lld", name, (long long)out->global_step);
    double tl = lmt_json_get(run, "training_loss")->num;
    CHECK_MSG(fabs(out->training_loss - tl) <= 1e-4 * fabs(tl), "%s: train_loss %.9g, transformers %.9g", name, out->training_loss, tl);
    int64_t seen = lmt_json_get(run, "num_input_tokens_seen")->i64;
    if (seen) CHECK_MSG(t->state.num_input_tokens_seen == seen, "%s: num_input_tokens_seen %lld", name, (long long)t->state.num_input_tokens_seen);
    double worst = 0;
    size_t kept = 0;
    for (size_t i = 0; i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        char key[256];
        snprintf(key, sizeof key, "%s/%s", name, p->name);
        const lmt_tensor_entry *e = lmt_tensor_file_find(wf, key);
        if (!e) continue;
        kept++;
        CHECK_MSG(e->nbytes == p->numel * 4, "%s: %s has another size", name, key);
        if (e->nbytes != p->numel * 4) continue;
        const float *ref_w = e->data, *ours = m->params + p->offset;
        for (size_t k = 0; k < p->numel; k++) {
            double d = fabs((double)ours[k] - ref_w[k]) / (fabs(ref_w[k]) > 1 ? fabs(ref_w[k]) : 1);
            if (d > worst) worst = d;
        }
    }
    CHECK_MSG(kept == 5, "%s: %zu reference tensors found", name, kept);
    CHECK_MSG(worst <= 1e-4, "%s: final weights differ from transformers' by up to %.3g", name, worst);
    printf("%s: %zu log entries and the final weights as transformers' (worst %.2g)\n", name, want->len, worst);
    /* the model card's optimizer (and label smoothing) lines, as extract_hyperparameters_from_trainer gives them */
    const lmt_json *hyper = lmt_json_get(run, "hyperparameters");
    lmt_model_card card = {.finetuned_from = "gpt2", .task = "text-generation", .optim = t->args.optim};
    char *text = hyper ? lmt_model_card_text(&card, &t->args, t->state.log_history) : NULL;
    static const char *const keys[] = {"optimizer", "label_smoothing_factor"};
    for (int k = 0; text && k < 2; k++) {
        const lmt_json *v = lmt_json_get(hyper, keys[k]);
        if (!v) continue;
        char line[600];
        snprintf(line, sizeof line, "- %s: %s\n", keys[k], v->str);
        CHECK_MSG(strstr(text, line), "%s: the model card lacks \"%s\"", name, line);
    }
    free(text);
}

/* lmt_train_data.length for blocks (group_by_length then collates nothing to measure) */
static int64_t block_length(void *ctx, int64_t i) {
    (void)i;
    return ((lmt_block_data *)ctx)->block_size;
}

static void check_run(const lmt_json *run, const lmt_json *ref, const lmt_tensor_file *wf) {
    const char *name = lmt_json_get(run, "name")->str;
    const lmt_json *tb = lmt_json_get(run, "train_blocks") ? lmt_json_get(run, "train_blocks") : lmt_json_get(ref, "train_blocks");
    const lmt_json *eb = lmt_json_get(run, "eval_blocks") ? lmt_json_get(run, "eval_blocks") : lmt_json_get(ref, "eval_blocks");
    int64_t ntr, nev;
    int T, Te;
    int32_t *train = ref_blocks(tb, &ntr, &T), *eval = ref_blocks(eb, &nev, &Te);
    lmt_training_args a;
    char dir[] = "/tmp/lmt-features-XXXXXX";
    run_args(&a, run, dir);
    /* no numeric effect, as in transformers: the eval_on_start run holds them to its reference */
    if (!strcmp(name, "eval_on_start")) {
        CHECK_OK(lmt_training_args_set(&a, "eval_accumulation_steps", "2", "test"));
        CHECK_OK(lmt_training_args_set(&a, "full_determinism", "true", "test"));
    }
    lmt_model *m = load_model(lmt_json_get(run, "model")->str);
    lmt_clm_task *task = NULL;
    CHECK_OK(lmt_clm_task_create(m, (int)a.per_device_train_batch_size > 4 ? (int)a.per_device_train_batch_size : 4, T, &task));
    lmt_block_data tr, ev;
    lmt_block_data_init(&tr, train, ntr, T);
    lmt_block_data_init(&ev, eval, nev, Te);
    if (!strcmp(name, "group_by_length")) tr.base.length = block_length;   /* the eval set's lengths come from collating */
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, &ev.base));
    /* the reference kept the Trainer's own sampler for these; a SequentialSampler for the rest */
    bool own = !strcmp(name, "data_seed") || !strcmp(name, "group_by_length");
    if (!own) t.sampler = lmt_sampler_sequential;
    lmt_train_output out;
    CHECK_OK(lmt_trainer_train(&t, &out));
    compare_run(name, run, &t, &out, m, wf);
    lmt_trainer_free(&t);
    lmt_clm_task_free(task);
    lmt_model_free(m);
    ref_remove_dir(dir);
    free(train);
    free(eval);
}

/* The seq2seq run's rows (padded to one length each: input_ids, attention_mask,
 * labels, decoder_input_ids), collated by stacking them. */
typedef struct { const lmt_json *rows; int64_t n; } s2s_rows;

static void copy_row(int32_t *dst, const lmt_json *row, size_t T) {
    for (size_t t = 0; t < T; t++) dst[t] = (int32_t)row->items[t].i64;
}

static lmt_status s2s_collate(void *ctx, const int64_t *idx, int n, lmt_batch *out) {
    const s2s_rows *d = ctx;
    const lmt_json *r0 = &d->rows->items[0];
    size_t Ts = lmt_json_get(r0, "input_ids")->len, Tt = lmt_json_get(r0, "labels")->len;
    memset(out, 0, sizeof *out);
    out->B = n;
    out->T = (int)Ts;
    out->T_dec = (int)Tt;
    out->input_ids = malloc((size_t)n * Ts * 4);
    out->attention_mask = malloc((size_t)n * Ts * 4);
    out->labels = malloc((size_t)n * Tt * 4);
    out->decoder_input_ids = malloc((size_t)n * Tt * 4);
    if (!out->input_ids || !out->attention_mask || !out->labels || !out->decoder_input_ids) return LMT_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        const lmt_json *r = &d->rows->items[idx[i]];
        copy_row(out->input_ids + i * Ts, lmt_json_get(r, "input_ids"), Ts);
        copy_row(out->attention_mask + i * Ts, lmt_json_get(r, "attention_mask"), Ts);
        copy_row(out->labels + i * Tt, lmt_json_get(r, "labels"), Tt);
        copy_row(out->decoder_input_ids + i * Tt, lmt_json_get(r, "decoder_input_ids"), Tt);
    }
    return LMT_OK;
}

/* label_smoothing_factor on Marian: no causal shift, padded labels. */
static void check_seq2seq_run(const lmt_json *run, const lmt_tensor_file *wf) {
    lmt_training_args a;
    char dir[] = "/tmp/lmt-features-s2s-XXXXXX";
    run_args(&a, run, dir);
    a.logging_steps = 1;
    a.eval_strategy = LMT_STRATEGY_EPOCH;
    a.save_strategy = LMT_STRATEGY_NO;
    lmt_model *m = load_model("marian");
    if (!m) return;
    m->cfg.activation_dropout = 0;
    const lmt_json *rows = lmt_json_get(run, "rows");
    s2s_rows tr = {rows, (int64_t)rows->len}, ev = {rows, 8};
    lmt_seq2seq_task *task = NULL;
    CHECK_OK(lmt_seq2seq_task_create(m, 4, (int)lmt_json_get(&rows->items[0], "input_ids")->len,
                                     (int)lmt_json_get(&rows->items[0], "labels")->len, &task));
    lmt_train_data td = {tr.n, &tr, s2s_collate, NULL}, ed = {ev.n, &ev, s2s_collate, NULL};
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &td, &ed));
    t.sampler = lmt_sampler_sequential;
    lmt_train_output out;
    CHECK_OK(lmt_trainer_train(&t, &out));
    compare_run("seq2seq_label_smoothing", run, &t, &out, m, wf);
    lmt_trainer_free(&t);
    lmt_seq2seq_task_free(task);
    lmt_model_free(m);
    ref_remove_dir(dir);
}

/* LengthGroupedSampler after set_seed(seed): three epochs' orders. */
static void check_length_grouped(const lmt_json *cases) {
    for (size_t c = 0; c < cases->len; c++) {
        const lmt_json *k = &cases->items[c], *L = lmt_json_get(k, "lengths"), *orders = lmt_json_get(k, "orders");
        int64_t n = (int64_t)L->len, bs = lmt_json_get(k, "batch_size")->i64, seed = lmt_json_get(k, "seed")->i64;
        int64_t *len = malloc((size_t)n * 8), *order = malloc((size_t)n * 8);
        for (int64_t i = 0; i < n; i++) len[i] = L->items[i].i64;
        lmt_length_sampler ls = {len, bs};
        for (size_t e = 0; e < orders->len; e++) {
            lmt_sampler_length_grouped(&ls, seed, (int64_t)e, n, order);
            int bad = 0;
            for (int64_t i = 0; i < n; i++) bad += order[i] != orders->items[e].items[i].i64;
            CHECK_MSG(bad == 0, "length-grouped case %zu epoch %zu: %d positions differ from LengthGroupedSampler", c, e, bad);
        }
        free(len);
        free(order);
    }
    printf("LengthGroupedSampler: %zu cases x 3 epochs in transformers' order\n", cases->len);
}

/* optim (and optim_args) trained 10 steps with checkpoints every 2: straight,
 * or stopped after 4 and resumed from checkpoint-4. Returns the final parameters. */
static float *train_ckpt(const char *dir, const char *optim, const char *optim_args, const int32_t *blocks, int64_t n, int T,
                         int64_t stop_at, bool save_only_model, lmt_status *resume_status) {
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", dir);
    CHECK_OK(lmt_training_args_set(&a, "optim", optim, "test"));
    CHECK_OK(lmt_training_args_set(&a, "optim_args", optim_args, "test"));
    a.learning_rate = 1e-2;
    a.weight_decay = 0.01;
    a.per_device_train_batch_size = 4;
    a.num_train_epochs = 1;
    a.logging_steps = 1;
    a.save_steps = 2;
    a.overwrite_output_dir = true;
    a.save_only_model = save_only_model;
    float *result = NULL;
    for (int phase = 0; phase < (stop_at > 0 ? 2 : 1); phase++) {
        lmt_model *m = load_gpt2();
        lmt_clm_task *task = NULL;
        CHECK_OK(lmt_clm_task_create(m, 4, T, &task));
        lmt_block_data tr;
        lmt_block_data_init(&tr, blocks, n, T);
        lmt_trainer t;
        if (phase == 1) snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "%s/checkpoint-%lld", dir, (long long)stop_at);
        CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL));
        t.sampler = lmt_sampler_sequential;
        if (phase == 0 && stop_at > 0) t.interrupt_at_step = stop_at;
        lmt_train_output out;
        lmt_status s = lmt_trainer_train(&t, &out);
        if (phase == 1 && resume_status) *resume_status = s;
        else CHECK_OK(s);
        if (phase == (stop_at > 0 ? 1 : 0) && s == LMT_OK) {
            result = malloc(m->layout.num_floats * 4);
            memcpy(result, m->params, m->layout.num_floats * 4);
        }
        lmt_trainer_free(&t);
        lmt_clm_task_free(task);
        lmt_model_free(m);
    }
    return result;
}

static void check_checkpoints(const lmt_json *ref) {
    int64_t n;
    int T;
    int32_t *blocks = ref_blocks(lmt_json_get(ref, "train_blocks"), &n, &T);
    static const char *const optims[][2] = {{"adamw_torch_fused", ""}, {"adafactor", ""}, {"sgd", "momentum=0.9"},
                                            {"adagrad", "lr_decay=0.01"}, {"rmsprop", "momentum=0.5,centered=True"}};
    for (size_t i = 0; i < sizeof optims / sizeof optims[0]; i++) {
        char d1[] = "/tmp/lmt-optck-a-XXXXXX", d2[] = "/tmp/lmt-optck-b-XXXXXX";
        CHECK(mkdtemp(d1) && mkdtemp(d2));
        float *p1 = train_ckpt(d1, optims[i][0], optims[i][1], blocks, n, T, 0, false, NULL);
        float *p2 = train_ckpt(d2, optims[i][0], optims[i][1], blocks, n, T, 4, false, NULL);
        lmt_model *m = load_gpt2();
        CHECK_MSG(p1 && p2 && m && !memcmp(p1, p2, m->layout.num_floats * 4), "%s: a resumed run differs from a straight one", optims[i][0]);
        if (i == 1) {   /* resuming another optimizer's checkpoint is refused */
            lmt_training_args a;
            lmt_training_args_default(&a);
            snprintf(a.output_dir, sizeof a.output_dir, "%s", d2);
            snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "%s/checkpoint-4", d2);
            CHECK_OK(lmt_training_args_set(&a, "optim", "sgd", "test"));
            lmt_clm_task *task = NULL;
            CHECK_OK(lmt_clm_task_create(m, 4, T, &task));
            lmt_block_data tr;
            lmt_block_data_init(&tr, blocks, n, T);
            lmt_trainer t;
            CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL));
            lmt_train_output out;
            lmt_clear_error();
            lmt_status st = lmt_trainer_train(&t, &out);
            CHECK_MSG(st == LMT_ERR_FORMAT && strstr(lmt_last_error(), "lmtune-adafactor") && strstr(lmt_last_error(), "sgd"),
                      "resume across optimizers: %s", lmt_last_error());
            lmt_trainer_free(&t);
            lmt_clm_task_free(task);
        }
        lmt_model_free(m);
        free(p1);
        free(p2);
        ref_remove_dir(d1);
        ref_remove_dir(d2);
    }
    printf("optimizer state through checkpoints: resumed runs equal straight ones\n");
    /* save_only_model: the model alone in each checkpoint, and resume refused with the reason */
    char d[] = "/tmp/lmt-optck-s-XXXXXX";
    CHECK(mkdtemp(d) != NULL);
    lmt_status st = LMT_OK;
    float *p = train_ckpt(d, "adamw_torch", "", blocks, n, T, 4, true, &st);
    char path[600];
    snprintf(path, sizeof path, "%s/checkpoint-4/model.safetensors", d);
    CHECK(lmt_file_exists(path));
    static const char *const absent[] = {"optimizer.safetensors", "scheduler.json", "rng_state.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/checkpoint-4/%s", d, absent[i]);
        CHECK_MSG(!lmt_file_exists(path), "save_only_model wrote %s", absent[i]);
    }
    CHECK_MSG(p == NULL && st == LMT_ERR_NOT_FOUND && strstr(lmt_last_error(), "save_only_model"), "resume after save_only_model: %s",
              lmt_last_error());
    free(p);
    ref_remove_dir(d);
    free(blocks);
}

static void expect_refused(const char *name, const char *value, const char *words) {
    lmt_training_args a;
    lmt_training_args_default(&a);
    lmt_status s = lmt_training_args_set(&a, name, value, "test");
    if (s == LMT_OK) s = lmt_training_args_validate(&a);
    CHECK_MSG(s != LMT_OK && strstr(lmt_last_error(), words), "%s=%s: %s (expected a refusal naming \"%s\")", name, value,
              s == LMT_OK ? "accepted" : lmt_last_error(), words);
}

static void check_arguments(void) {
    expect_refused("optim", "adamw_bnb_8bit", "bitsandbytes");
    expect_refused("optim", "galore_adamw", "galore");
    expect_refused("optim", "adamw", "adamw_torch, adamw_torch_fused");
    expect_refused("label_smoothing_factor", "1", "[0, 1)");
    expect_refused("label_smoothing_factor", "-0.1", "[0, 1)");
    expect_refused("train_sampling_strategy", "shuffled", "random, sequential, group_by_length");
    expect_refused("train_sampling_strategy", "batch_rebalance", "data-parallel");
    expect_refused("include_num_input_tokens_seen", "some", "no, all, non_padding");
    expect_refused("log_level", "loud", "debug, info, warning");
    expect_refused("log_level_replica", "chatty", "log_level_replica");
    expect_refused("eval_accumulation_steps", "-1", "eval_accumulation_steps");
    lmt_training_args a;
    /* optim_args: key=value pairs the chosen optimizer reads */
    static const char *const bad_args[][3] = {{"sgd", "momentum", "not key=value"}, {"sgd", "betas=0.9", "momentum, dampening"},
                                              {"rmsprop", "alpha=x", "expects a number"}, {"adamw_torch", "eps=1", "adam_epsilon"},
                                              {"sgd", "nesterov=True", "nesterov requires a momentum"}};
    for (size_t i = 0; i < sizeof bad_args / sizeof bad_args[0]; i++) {
        lmt_training_args_default(&a);
        CHECK_OK(lmt_training_args_set(&a, "optim", bad_args[i][0], "test"));
        CHECK_OK(lmt_training_args_set(&a, "optim_args", bad_args[i][1], "test"));
        lmt_status s = lmt_training_args_validate(&a);
        CHECK_MSG(s != LMT_OK && strstr(lmt_last_error(), bad_args[i][2]), "%s %s: %s", bad_args[i][0], bad_args[i][1],
                  s == LMT_OK ? "accepted" : lmt_last_error());
    }
    /* transformers 4's names folded into 5's */
    lmt_training_args_default(&a);
    CHECK_OK(lmt_training_args_set(&a, "group_by_length", "true", "test"));
    CHECK_OK(lmt_training_args_set(&a, "include_tokens_per_second", "true", "test"));
    CHECK_OK(lmt_training_args_validate(&a));
    CHECK(!strcmp(a.train_sampling_strategy, "group_by_length") && !strcmp(a.include_num_input_tokens_seen, "all"));
    lmt_training_args_default(&a);
    CHECK_OK(lmt_training_args_set(&a, "include_num_input_tokens_seen", "True", "test"));
    CHECK_OK(lmt_training_args_set(&a, "data_seed", "0", "test"));
    CHECK_OK(lmt_training_args_validate(&a));
    CHECK(!strcmp(a.include_num_input_tokens_seen, "all") && a.data_seed_set && a.data_seed == 0);
    /* training_args.json: None where transformers has None */
    char *js = lmt_training_args_to_json(&a);
    CHECK(js && strstr(js, "\"data_seed\": 0,") && strstr(js, "\"eval_accumulation_steps\": null,") && strstr(js, "\"optim\": \"adamw_torch_fused\""));
    free(js);
    lmt_training_args_default(&a);
    js = lmt_training_args_to_json(&a);
    CHECK(js && strstr(js, "\"data_seed\": null,"));
    free(js);
    CHECK(lmt_log_level_threshold("error") > LMT_LOG_WARN && lmt_log_level_threshold("warning") == LMT_LOG_WARN &&
          lmt_log_level_threshold("passive") < 0);
}

int main(void) {
    lmt_json *ref = NULL, *base = NULL;
    CHECK_OK(lmt_json_parse_file(FIX "/trainer_features.json", &ref));
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/gpt2_trainer.json", &base));
    lmt_tensor_file *wf = NULL;
    CHECK_OK(lmt_safetensors_open(FIX "/final.safetensors", &wf));
    if (!ref || !base || !wf) return lmt_test_finish();
    check_arguments();
    const lmt_json *runs = lmt_json_get(ref, "runs");
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    for (size_t r = 0; r < runs->len; r++) {
        const char *name = lmt_json_get(&runs->items[r], "name")->str;
        if (quick && strcmp(name, "adafactor") && strcmp(name, "label_smoothing")) continue;
        const char *model = lmt_json_get(&runs->items[r], "model")->str;
        if (!strcmp(model, "bert")) continue;   /* tests/test_mlm_trainer.c's */
        if (!strcmp(model, "marian")) check_seq2seq_run(&runs->items[r], wf);
        else check_run(&runs->items[r], base, wf);
    }
    check_length_grouped(lmt_json_get(ref, "length_grouped"));
    check_checkpoints(base);
    lmt_tensor_file_free(wf);
    lmt_json_free(ref);
    lmt_json_free(base);
    return lmt_test_finish();
}
