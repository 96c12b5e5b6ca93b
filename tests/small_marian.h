/* A small random MarianMTModel with the opus-mt-tc-big-en-pt tokenizer in
 * dir (no trained Marian weights exist here): for the CLI tests that need
 * `lmtune translate` to run. */
#ifndef LMT_TESTS_SMALL_MARIAN_H
#define LMT_TESTS_SMALL_MARIAN_H
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "core/fs.h"
#include "models/config.h"
#include "models/model.h"

static void make_small_marian(const char *mdir) {
    char cfgp[1100], cmd[4096];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", mdir);
    CHECK_OK(lmt_mkdirs(mdir));
    FILE *f = fopen(cfgp, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "{\"model_type\": \"marian\", \"vocab_size\": 54776, \"d_model\": 32, \"encoder_layers\": 1, \"decoder_layers\": 1, "
               "\"encoder_attention_heads\": 4, \"decoder_attention_heads\": 4, \"encoder_ffn_dim\": 64, \"decoder_ffn_dim\": 64, "
               "\"max_position_embeddings\": 64, \"activation_function\": \"swish\", \"scale_embedding\": true, "
               "\"pad_token_id\": 54775, \"decoder_start_token_id\": 54775, \"eos_token_id\": 44670}\n");
    fclose(f);
    lmt_config cfg;
    lmt_model *mm = NULL;
    CHECK_OK(lmt_config_load(cfgp, &cfg));
    CHECK_OK(lmt_model_init(&cfg, 1, &mm));
    if (mm) CHECK_OK(lmt_model_save(mm, mdir));
    lmt_model_free(mm);
    snprintf(cmd, sizeof cmd, "cp " LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt/*.spm " LMT_SHARED_DATA
             "/tokenizers/opus-mt-tc-big-en-pt/vocab.json %s/", mdir);
    CHECK(system(cmd) == 0);
}
#endif
