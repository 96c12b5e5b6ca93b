/* Fine-tuning a causal LM through the C API (what `lmtune train --task clm`
 * does): load a model folder and tokenizer, prepare WikiText blocks, train
 * with the Trainer, evaluate, save, generate.
 *
 *   build/finetune_clm MODEL_DIR TRAIN.txt EVAL.txt OUTPUT_DIR
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "generate/generate.h"
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"
#include "train/clm_data.h"
#include "train/task_clm.h"

static void on_log(void *user, const char *json) { (void)user; printf("%s\n", json); }

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s MODEL_DIR TRAIN.txt EVAL.txt OUTPUT_DIR\n", argv[0]); return 2; }
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    if (lmt_model_load(argv[1], &m) != LMT_OK || lmt_tokenizer_load(argv[1], &tok) != LMT_OK) goto error;
    lmt_clm_blocks train, eval;
    if (lmt_clm_prepare(tok, argv[2], 64, 1000, -1, &train) != LMT_OK) goto error;
    if (lmt_clm_prepare(tok, argv[3], 64, 1000, -1, &eval) != LMT_OK) goto error;

    lmt_training_args args;
    lmt_training_args_default(&args);
    lmt_training_args_set(&args, "output_dir", argv[4], "example");
    lmt_training_args_set(&args, "learning_rate", "2e-5", "example");
    lmt_training_args_set(&args, "weight_decay", "0.01", "example");
    lmt_training_args_set(&args, "max_steps", "20", "example");
    lmt_training_args_set(&args, "overwrite_output_dir", "true", "example");

    lmt_clm_task *task;
    if (lmt_clm_task_create(m, 8, 64, &task) != LMT_OK) goto error;
    lmt_block_data td, ed;
    lmt_block_data_init(&td, train.ids, train.n_blocks, 64);
    lmt_block_data_init(&ed, eval.ids, eval.n_blocks > 32 ? 32 : eval.n_blocks, 64);
    lmt_trainer t;
    if (lmt_trainer_init(&t, &args, &task->base, &td.base, &ed.base) != LMT_OK) goto error;
    t.on_log = on_log;
    lmt_train_output out;
    lmt_eval_output ev;
    if (lmt_trainer_train(&t, &out) != LMT_OK || lmt_trainer_evaluate(&t, &ev) != LMT_OK) goto error;
    printf("perplexity %.2f after %lld steps\n", exp(ev.loss), (long long)out.global_step);
    if (lmt_model_save(m, argv[4]) != LMT_OK) goto error;

    lmt_encoding e;
    const char *prompt = " = Robert Boulter = \n";
    if (lmt_tokenizer_encode(tok, prompt, 20, NULL, 0, NULL, &e) != LMT_OK) goto error;
    lmt_gen_opts go = lmt_gen_opts_default();
    int32_t *ids;
    int n;
    char *text;
    size_t len;
    if (lmt_generate(m, e.ids, (int)e.n, &go, &ids, &n) != LMT_OK || lmt_tokenizer_decode(tok, ids, (size_t)n, true, false, &text, &len) != LMT_OK) goto error;
    printf("%s\n", text);
    free(text);
    free(ids);
    lmt_encoding_free(&e);
    lmt_trainer_free(&t);
    lmt_clm_task_free(task);
    lmt_clm_blocks_free(&train);
    lmt_clm_blocks_free(&eval);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return 0;
error:
    fprintf(stderr, "error: %s\n", lmt_last_error());
    return 1;
}
