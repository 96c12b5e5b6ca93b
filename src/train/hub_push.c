/* push_to_hub (train/hub_push.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/util.h"
#include "lmtune/hub.h"
#include "train/hub_push.h"

static void hub_options(const lmt_training_args *a, lmt_hub_options *o) {
    memset(o, 0, sizeof *o);
    o->token = a->hub_token[0] ? a->hub_token : NULL;
}

/* Path(output_dir).absolute().name */
static void dir_name(const char *dir, char *out, size_t cap) {
    char cwd[4096] = "";
    lmt_strbuf b;
    lmt_sb_init(&b);
    if (dir[0] != '/' && getcwd(cwd, sizeof cwd)) lmt_sb_printf(&b, "%s/", cwd);
    lmt_sb_puts(&b, dir);
    char *p = lmt_sb_take(&b);
    out[0] = '\0';
    if (!p) return;
    size_t n = strlen(p);
    for (;;) {   /* trailing "/" and "/." name nothing */
        if (n > 1 && p[n - 1] == '/') p[--n] = '\0';
        else if (n > 2 && p[n - 1] == '.' && p[n - 2] == '/') p[n -= 2] = '\0';
        else break;
    }
    const char *base = strrchr(p, '/');
    snprintf(out, cap, "%s", base ? base + 1 : p);
    free(p);
}

lmt_status lmt_push_init(const lmt_training_args *a, char *repo, size_t cap) {
    char name[256];
    if (a->hub_model_id[0]) snprintf(name, sizeof name, "%s", a->hub_model_id);
    else dir_name(a->output_dir, name, sizeof name);
    lmt_hub_options o;
    hub_options(a, &o);
    char *full = NULL;
    lmt_status s = lmt_hub_create_repo(name, a->hub_private_repo, true, &o, &full);
    if (s != LMT_OK) return lmt_fail_wrap(s, "push_to_hub");
    snprintf(repo, cap, "%s", full);
    free(full);
    return LMT_OK;
}

lmt_status lmt_push_folder(const lmt_training_args *a, const char *repo, const char *folder, const char *message,
                           const char *const *ignore, char **commit_oid) {
    lmt_hub_options o;
    hub_options(a, &o);
    lmt_hub_upload_options u = {.commit_message = message, .ignore_patterns = ignore};
    lmt_status s = lmt_hub_upload_folder(repo, folder, &u, &o, commit_oid);
    return s == LMT_OK ? LMT_OK : lmt_fail_wrap(s, "push_to_hub (%s)", message);
}

lmt_status lmt_push_checkpoint(const lmt_training_args *a, const char *repo, const char *checkpoint, int64_t step, double epoch) {
    /* transformers pushes the checkpoint's modeling files (config, weights,
     * tokenizer, training arguments), never the optimizer or trainer state */
    static const char *const not_model[] = {"optimizer*", "scheduler*", "rng_state*", "trainer_state.json", "_*", NULL};
    char msg[128];
    if (a->save_strategy == LMT_STRATEGY_STEPS) snprintf(msg, sizeof msg, "Training in progress, step %lld", (long long)step);
    else snprintf(msg, sizeof msg, "Training in progress, epoch %d", (int)epoch);
    return lmt_push_folder(a, repo, checkpoint, msg, not_model, NULL);
}

/* a minimal model card: transformers' front matter, the run's hyperparameters */
static lmt_status write_card(const lmt_training_args *a, const char *repo, const char *dir) {
    const char *name = strrchr(repo, '/') ? strrchr(repo, '/') + 1 : repo;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "---\nlibrary_name: transformers\ntags:\n- generated_from_trainer\nmodel-index:\n- name: %s\n  results: []\n---\n\n",
                  name);
    lmt_sb_printf(&b, "# %s\n\nThis model was fine-tuned with lmtune (a C implementation of transformers' Trainer).\n\n", name);
    lmt_sb_puts(&b, "## Training procedure\n\n### Training hyperparameters\n\nThe following hyperparameters were used during training:\n");
    lmt_sb_printf(&b, "- learning_rate: %g\n- train_batch_size: %lld\n- eval_batch_size: %lld\n- seed: %lld\n", a->learning_rate,
                  (long long)a->per_device_train_batch_size, (long long)a->per_device_eval_batch_size, (long long)a->seed);
    if (a->gradient_accumulation_steps > 1)
        lmt_sb_printf(&b, "- gradient_accumulation_steps: %lld\n", (long long)a->gradient_accumulation_steps);
    lmt_sb_printf(&b, "- optimizer: adamw_torch with betas=(%g,%g) and epsilon=%g\n- lr_scheduler_type: %s\n", a->adam_beta1,
                  a->adam_beta2, a->adam_epsilon, a->lr_scheduler_type);
    if (a->max_steps > 0) lmt_sb_printf(&b, "- training_steps: %lld\n", (long long)a->max_steps);
    else lmt_sb_printf(&b, "- num_epochs: %g\n", a->num_train_epochs);
    if (b.oom) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    char *path = lmt_path_join(dir, "README.md");
    lmt_status s = path ? lmt_write_file_atomic(path, b.data, b.len) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(path);
    lmt_sb_free(&b);
    return s;
}

lmt_status lmt_push_output_dir(const lmt_training_args *a, const char *repo, const char *dir, const char *message) {
    LMT_TRY(write_card(a, repo, dir));
    static const char *const ignore[] = {"_*", "checkpoint-*", NULL};
    return lmt_push_folder(a, repo, dir, message ? message : "End of training", ignore, NULL);
}
