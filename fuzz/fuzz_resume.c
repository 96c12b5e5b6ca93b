/* Resuming from a checkpoint folder: trainer_state.json, scheduler.json,
 * rng_state.json and optimizer.safetensors come from the input (LMT_FUZZ_SEP
 * between them, in that order; a missing part leaves the file out), the
 * model files are a fixed tiny GPT-2's. The Trainer resumes from it
 * (resume_from_checkpoint) and trains to max_steps, as `lmtune train
 * --resume_from_checkpoint` would. */
#include "fuzz_common.h"
#include "models/config.h"
#include "models/model.h"
#include "train/task_clm.h"
#include "train/trainer.h"

#define T 8
#define N_BLOCKS 6

static const char tiny_config[] = "{\"model_type\": \"gpt2\", \"vocab_size\": 40, \"n_positions\": 16, \"n_embd\": 8, "
                                  "\"n_layer\": 1, \"n_head\": 2, \"bos_token_id\": 0, \"eos_token_id\": 0}";
static lmt_model *model;
static lmt_clm_task *task;
static int32_t ids[N_BLOCKS * T];
static char ckpt[512], outdir[512];

static void setup(void) {
    const char *dir = lmt_fuzz_scratch();
    lmt_json *j = NULL;
    lmt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (lmt_json_parse(tiny_config, sizeof tiny_config - 1, "tiny", &j) != LMT_OK || lmt_config_from_json(j, "tiny", &cfg) != LMT_OK ||
        lmt_model_init(&cfg, 42, &model) != LMT_OK || lmt_clm_task_create(model, 2, T, &task) != LMT_OK) {
        fprintf(stderr, "fuzz_resume: %s\n", lmt_last_error());
        abort();
    }
    model->cfg.dropout = model->cfg.attn_dropout = model->cfg.embd_dropout = 0;
    for (int i = 0; i < N_BLOCKS * T; i++) ids[i] = (i * 7 + 3) % 40;
    snprintf(ckpt, sizeof ckpt, "%s/out/checkpoint-2", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    if (lmt_model_save(model, ckpt) != LMT_OK) { fprintf(stderr, "fuzz_resume: %s\n", lmt_last_error()); abort(); }
}

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    if (!model) setup();
    const uint8_t *part[4];
    size_t len[4];
    size_t n = lmt_fuzz_split(data, size, part, len, 4);
    static const char *const names[] = {"trainer_state.json", "scheduler.json", "rng_state.json", "optimizer.safetensors"};
    for (size_t k = 0; k < 4; k++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", ckpt, names[k]);
        unlink(p);
        lmt_fuzz_write_part(ckpt, names[k], part, len, n, k);
    }
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", outdir);
    snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "%s", ckpt);
    a.per_device_train_batch_size = 2;
    a.max_steps = 4;
    a.logging_steps = 1;
    a.save_strategy = LMT_STRATEGY_NO;
    a.learning_rate = 1e-3;
    lmt_block_data tr;
    lmt_block_data_init(&tr, ids, N_BLOCKS, T);
    lmt_trainer t;
    memset(&t, 0, sizeof t);
    if (lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL) == LMT_OK) {
        t.sampler = lmt_sampler_sequential;
        lmt_train_output out;
        (void)lmt_trainer_train(&t, &out);
    }
    lmt_trainer_free(&t);
    return 0;
}

/* Seeds: the checkpoint files of a real run of the same model and data
 * (2 steps, saved), and the same with a file left out each time. */
int lmt_fuzz_make_seeds(const char *dir) {
    if (!model) setup();
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s/seedrun", lmt_fuzz_scratch());
    a.per_device_train_batch_size = 2;
    a.max_steps = 2;
    a.logging_steps = 1;
    a.save_steps = 2;
    a.learning_rate = 1e-3;
    a.overwrite_output_dir = true;
    lmt_block_data tr;
    lmt_block_data_init(&tr, ids, N_BLOCKS, T);
    lmt_trainer t;
    memset(&t, 0, sizeof t);
    lmt_train_output out;
    if (lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL) != LMT_OK || lmt_trainer_train(&t, &out) != LMT_OK) {
        fprintf(stderr, "fuzz_resume: %s\n", lmt_last_error());
        return 1;
    }
    lmt_trainer_free(&t);
    static const char *const names[] = {"trainer_state.json", "scheduler.json", "rng_state.json", "optimizer.safetensors"};
    char *data[4] = {0};
    size_t len[4] = {0};
    for (int k = 0; k < 4; k++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/checkpoint-2/%s", a.output_dir, names[k]);
        if (lmt_read_file(p, &data[k], &len[k]) != LMT_OK) { fprintf(stderr, "%s\n", lmt_last_error()); return 1; }
    }
    for (int drop = -1; drop < 4; drop++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/resume_%d", dir, drop + 1);
        FILE *f = fopen(p, "wb");
        if (!f) { perror(p); return 1; }
        /* a dropped file: only the last can be left out by the format, so the
         * others are given empty (a file present but empty) */
        for (int k = 0; k < 4 && !(drop == 3 && k == 3); k++) {
            if (k) fputs(LMT_FUZZ_SEP, f);
            if (k != drop) fwrite(data[k], 1, len[k], f);
        }
        fclose(f);
    }
    for (int k = 0; k < 4; k++) free(data[k]);
    return 0;
}
