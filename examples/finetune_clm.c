/* Fine-tuning a causal LM through the public C API (what `lmtune train
 * --task clm` does): load a model folder and its tokenizer, prepare blocks
 * (tokenize + group_texts), train with the Trainer, evaluate, save, generate.
 *
 *   finetune_clm MODEL_DIR TRAIN EVAL OUTPUT_DIR [--tokenizer DIR] [--block_size 64]
 *                [--<TrainingArguments name> VALUE ...]
 *
 * TRAIN and EVAL are text files (one example per line) or JSON Lines; JSON
 * Lines that already hold input_ids skip the tokenizer. Defaults: max_steps
 * 20, learning_rate 2e-5, weight_decay 0.01; later flags override them. Log
 * entries are printed as JSON lines. Builds against include/ alone:
 *   cc finetune_clm.c $(pkg-config --cflags --libs lmtune) -o finetune_clm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lmtune/lmtune.h"
#include "lmtune/data.h"
#include "lmtune/pipeline.h"
#include "lmtune/tokenizer.h"
#include "lmtune/trainer.h"

static void on_log(void *user, const char *json) { (void)user; printf("%s\n", json); fflush(stdout); }

/* path -> blocks of block_size tokens (at most max_blocks, 0 = all) */
static lmt_status prepare(const char *path, const lmt_tokenizer *tok, int block_size, int64_t max_blocks, lmt_data **out) {
    lmt_data *raw = NULL, *ids = NULL, *blocks = NULL;
    lmt_status s = lmt_data_load(path, LMT_DATA_AUTO, &raw);
    if (s == LMT_OK && !lmt_data_has_column(raw, "input_ids")) s = lmt_data_tokenize(raw, tok, "text", 0, &ids);
    if (s == LMT_OK) s = lmt_data_group_texts(ids ? ids : raw, block_size, &blocks);
    if (s == LMT_OK && max_blocks > 0 && lmt_data_num_rows(blocks) > max_blocks) {
        int64_t rows[64];
        for (int64_t i = 0; i < max_blocks; i++) rows[i] = i;
        lmt_data *head = NULL;
        s = lmt_data_select(blocks, rows, max_blocks, &head);
        lmt_data_free(blocks);
        blocks = head;
    }
    lmt_data_free(raw);
    lmt_data_free(ids);
    *out = s == LMT_OK ? blocks : NULL;
    if (s != LMT_OK) lmt_data_free(blocks);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc % 2 == 0) {
        fprintf(stderr, "usage: %s MODEL_DIR TRAIN EVAL OUTPUT_DIR [--tokenizer DIR] [--block_size N] [--NAME VALUE ...]\n", argv[0]);
        return 2;
    }
    const char *model_dir = argv[1], *tok_dir = argv[1];
    int block_size = 64;
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_data *train = NULL, *eval = NULL;
    lmt_collator *tc = NULL, *ec = NULL;
    lmt_args *args = NULL;
    lmt_tuner *tuner = NULL;
    lmt_pipeline *gen = NULL;
    char *text = NULL;
    int rc = 1;
    if (lmt_args_create(&args) != LMT_OK) goto done;
    if (lmt_args_set_str(args, "output_dir", argv[4]) != LMT_OK || lmt_args_set_float(args, "learning_rate", 2e-5) != LMT_OK ||
        lmt_args_set_float(args, "weight_decay", 0.01) != LMT_OK || lmt_args_set_int(args, "max_steps", 20) != LMT_OK ||
        lmt_args_set_bool(args, "overwrite_output_dir", true) != LMT_OK)
        goto done;
    for (int i = 5; i + 1 < argc; i += 2) {
        const char *name = argv[i] + (strncmp(argv[i], "--", 2) ? 0 : 2), *value = argv[i + 1];
        if (!strcmp(name, "tokenizer")) tok_dir = value;
        else if (!strcmp(name, "block_size")) block_size = atoi(value);
        else if (lmt_args_set_str(args, name, value) != LMT_OK) goto done;
    }
    if (lmt_model_load(model_dir, &m) != LMT_OK || lmt_tokenizer_load(tok_dir, &tok) != LMT_OK) goto done;
    if (prepare(argv[2], tok, block_size, 0, &train) != LMT_OK || prepare(argv[3], tok, block_size, 32, &eval) != LMT_OK) goto done;
    if (lmt_collator_create_clm(train, &tc) != LMT_OK || lmt_collator_create_clm(eval, &ec) != LMT_OK) goto done;
    if (lmt_tuner_create(m, args, tc, ec, &tuner) != LMT_OK || lmt_tuner_set_tokenizer(tuner, tok, tok_dir) != LMT_OK) goto done;
    lmt_tuner_callbacks cb = {.on_log = on_log};
    lmt_tuner_set_callbacks(tuner, &cb);
    lmt_train_result tr;
    lmt_eval_result ev;
    if (lmt_tuner_train(tuner, &tr) != LMT_OK || lmt_tuner_evaluate(tuner, &ev) != LMT_OK) goto done;
    printf("perplexity %.2f after %lld steps\n", ev.perplexity, (long long)tr.global_step);
    if (lmt_tuner_save(tuner, NULL) != LMT_OK) goto done;

    /* the trained model, still in memory, continues a prompt greedily */
    if (lmt_pipeline_create(LMT_PIPELINE_TEXT_GENERATION, m, tok, &gen) != LMT_OK) goto done;
    if (lmt_pipeline_text_generation(gen, " = Robert Boulter = \n", NULL, &text) != LMT_OK) goto done;
    printf("%s\n", text);
    rc = 0;
done:
    if (rc) fprintf(stderr, "error: %s\n", lmt_last_error());
    free(text);
    lmt_pipeline_free(gen);
    lmt_tuner_free(tuner);
    lmt_collator_free(tc);
    lmt_collator_free(ec);
    lmt_data_free(train);
    lmt_data_free(eval);
    lmt_args_free(args);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
