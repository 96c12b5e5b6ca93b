/* lmtune train --task translation end to end (the built binary): a short run
 * on the tiny Marian fixture over the real opus-mt tokenizer (split,
 * predict_with_generate, eval_bleu / eval_gen_len in the logs, the result
 * files and the checkpoint), parallel text files, and bad input: a pair
 * without its target side, an empty source, a Marian tokenizer without
 * target.spm, num_beams < 1, lengths beyond max_position_embeddings, an
 * unknown language. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "cli_run.h"
#include "core/util.h"

static void write_file(const char *dir, const char *name, const char *text) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static bool file_has(const char *path, const char *what) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) return false;
    bool r = strstr(d, what) != NULL;
    free(d);
    return r;
}

#define MODEL LMT_SOURCE_DIR "/tests/fixtures/seq2seq_trainer/model"
#define TOK LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt"
#define BASE "train --task translation --model_name_or_path " MODEL " --tokenizer_name " TOK " "

int main(void) {
    char tmp[] = "/tmp/lmt-trcli-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char args[4096], path[1024];
    write_file(tmp, "ok.jsonl",
          "{\"id\": \"0\", \"translation\": {\"en\": \"&Folder:\", \"fr\": \"&Dossier :\"}}\n"
          "{\"id\": \"1\", \"translation\": {\"en\": \"Add Archive Mail\", \"fr\": \"Ajouter une archive de courrier\"}}\n"
          "{\"id\": \"2\", \"translation\": {\"en\": \"Add...\", \"fr\": \"Ajouter...\"}}\n"
          "{\"id\": \"3\", \"translation\": {\"en\": \"Archive\", \"fr\": \"Archive\"}}\n"
          "{\"id\": \"4\", \"translation\": {\"en\": \"Delete\", \"fr\": \"Supprimer\"}}\n"
          "{\"id\": \"5\", \"translation\": {\"en\": \"Days\", \"fr\": \"Jours\"}}\n"
          "{\"id\": \"6\", \"translation\": {\"en\": \"Delete Items\", \"fr\": \"Supprimer des éléments\"}}\n"
          "{\"id\": \"7\", \"translation\": {\"en\": \"Backup each:\", \"fr\": \"Sauvegarder chaque :\"}}\n");
    write_file(tmp, "miss.jsonl",
          "{\"translation\": {\"en\": \"Add...\", \"fr\": \"Ajouter...\"}}\n"
          "{\"translation\": {\"en\": \"Delete\"}}\n");
    write_file(tmp, "empty.jsonl",
          "{\"translation\": {\"en\": \"Add...\", \"fr\": \"Ajouter...\"}}\n"
          "{\"translation\": {\"en\": \"Days\", \"fr\": \"Jours\"}}\n"
          "{\"translation\": {\"en\": \"\", \"fr\": \"Rien\"}}\n");
    write_file(tmp, "src.en", "Add...\nDelete\nDays\n");
    write_file(tmp, "tgt.fr", "Ajouter...\nSupprimer\nJours\n");

    /* a short run: split 6 / 2 (train_test_split(train_size=0.75, seed=20)), 2 steps, evaluation with generation */
    CHECK_MSG(runf(BASE "--train_file %s/ok.jsonl --train_size 0.75 --split_seed 20 --source_lang en --target_lang fr "
             "--max_steps 2 --per_device_train_batch_size 2 --per_device_eval_batch_size 2 --logging_steps 1 --eval_strategy steps "
             "--eval_steps 2 --save_steps 2 --predict_with_generate --generation_num_beams 2 --generation_max_length 8 "
             "--eval_predictions_file %s/preds.txt --output_dir %s/run", tmp, tmp, tmp) == 0, "%s", out);
    CHECK(strstr(out, "train 6 pairs, validation 2 pairs") != NULL);
    CHECK(strstr(out, "generates with 2 beams, max_length 8") != NULL);
    CHECK(strstr(out, "\"eval_bleu_before\": ") && strstr(out, "\"eval_gen_len_before\": "));
    CHECK(strstr(out, "\"eval_bleu\": ") && strstr(out, "\"eval_gen_len\": ") && strstr(out, "\"step\": 2"));
    CHECK(strstr(out, "BLEU ") && strstr(out, "before training"));
    const char *want[] = {"config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json", "trainer_state.json",
                          "train_results.json", "eval_results.json", "checkpoint-2/optimizer.safetensors", "checkpoint-2/trainer_state.json"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(path, sizeof path, "%s/run/%s", tmp, want[i]);
        CHECK_MSG(lmt_file_exists(path), "missing %s", want[i]);
    }
    /* with LoRA (--use_peft): the evaluation generates from the merged adapters; the adapter alone is saved */
    CHECK_MSG(runf(BASE "--train_file %s/ok.jsonl --train_size 0.75 --split_seed 20 --source_lang en --target_lang fr "
             "--max_steps 2 --per_device_train_batch_size 2 --per_device_eval_batch_size 2 --eval_strategy steps --eval_steps 2 "
             "--save_strategy no --predict_with_generate --generation_num_beams 2 --generation_max_length 8 --learning_rate 0.05 "
             "--use_peft --lora_r 4 --output_dir %s/lora", tmp, tmp) == 0, "%s", out);
    CHECK(strstr(out, "trainable params: ") && strstr(out, "\"eval_bleu\": ") && strstr(out, "\"eval_bleu_before\": "));
    snprintf(path, sizeof path, "%s/lora/adapter_model.safetensors", tmp);
    CHECK(lmt_file_exists(path));
    snprintf(path, sizeof path, "%s/lora/model.safetensors", tmp);
    CHECK(!lmt_file_exists(path));
    snprintf(path, sizeof path, "%s/run/eval_results.json", tmp);
    CHECK(file_has(path, "\"eval_bleu\"") && file_has(path, "\"eval_gen_len\"") && file_has(path, "\"eval_samples\": 2"));
    snprintf(path, sizeof path, "%s/run/checkpoint-2/trainer_state.json", tmp);
    CHECK(file_has(path, "\"eval_bleu\"") && file_has(path, "\"eval_gen_len\""));
    snprintf(path, sizeof path, "%s/preds.txt", tmp);
    CHECK(lmt_file_exists(path));

    /* evaluation only, parallel text files, greedy */
    CHECK_MSG(runf(BASE "--validation_file %s/src.en --validation_target_file %s/tgt.fr --source_lang en --target_lang fr "
             "--predict_with_generate --num_beams 1 --generation_max_length 6 --output_dir %s/ev", tmp, tmp, tmp) == 0, "%s", out);
    CHECK(strstr(out, "validation 3 pairs") && strstr(out, "generates with 1 beam,") && strstr(out, "\"eval_bleu\": "));
    CHECK(!strstr(out, "eval_bleu_before"));

    /* a model made from a config.json (random weights): generation settings from config.json */
    write_file(tmp, "config.json",
               "{\"model_type\": \"marian\", \"vocab_size\": 54776, \"decoder_vocab_size\": 54776, \"d_model\": 8,"
               " \"encoder_layers\": 1, \"decoder_layers\": 1, \"encoder_attention_heads\": 2, \"decoder_attention_heads\": 2,"
               " \"encoder_ffn_dim\": 16, \"decoder_ffn_dim\": 16, \"max_position_embeddings\": 32, \"pad_token_id\": 54775,"
               " \"decoder_start_token_id\": 54775, \"eos_token_id\": 44670, \"forced_eos_token_id\": 44670,"
               " \"bad_words_ids\": [[54775]], \"num_beams\": 3, \"max_length\": 12}\n");
    CHECK_MSG(runf("train --task translation --config_name %s/config.json --tokenizer_name " TOK " --validation_file %s/ok.jsonl "
             "--source_lang en --target_lang fr --predict_with_generate --output_dir %s/cfg", tmp, tmp, tmp) == 0, "%s", out);
    CHECK(strstr(out, "generates with 3 beams, max_length 32") && strstr(out, "\"eval_bleu\": "));

    /* bad input: each error names the file or the argument */
    CHECK(runf(BASE "--train_file %s/miss.jsonl --source_lang en --target_lang fr --output_dir %s/x", tmp, tmp) == 1 && strstr(out, "miss.jsonl: line 2: the pair has no \"fr\" side"));
    CHECK(runf(BASE "--train_file %s/empty.jsonl --source_lang en --target_lang fr --output_dir %s/x", tmp, tmp) == 1 && strstr(out, "empty.jsonl: line 3: the source (\"en\") is an empty string"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang de --target_lang fr --output_dir %s/x", tmp, tmp) == 1 && strstr(out, "ok.jsonl: no pairs in language \"de\" (--source_lang); the file has: en, fr"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang en --target_lang fr --num_beams 0 --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "--num_beams: expected a positive integer, got \"0\""));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang en --target_lang fr --predict_with_generate "
             "--generation_num_beams -2 --output_dir %s/x", tmp, tmp) != 0 && strstr(out, "generation_num_beams"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang en --target_lang fr --max_target_length 65 --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "--max_target_length 65 is beyond the model's max_position_embeddings (64)"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang en --target_lang fr --generation_max_length 100 "
             "--predict_with_generate --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "--generation_max_length 100 is beyond the model's max_position_embeddings (64)"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang en --target_lang en --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "--source_lang and --target_lang are both \"en\""));
    CHECK(runf(BASE "--train_file %s/nonexistent.jsonl --source_lang en --target_lang fr --output_dir %s/x", tmp, tmp) == 1 && strstr(out, "nonexistent.jsonl: no such file"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --target_lang fr --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "--source_lang and --target_lang are required"));
    CHECK(runf(BASE "--train_file %s/ok.jsonl --source_lang en --target_lang fr --metric_for_best_model eval_bleu --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "metric_for_best_model eval_bleu needs --predict_with_generate"));
    /* a Marian tokenizer folder without target.spm */
    snprintf(args, sizeof args, "mkdir -p %s/tok && cp " TOK "/source.spm " TOK "/vocab.json " TOK "/tokenizer_config.json %s/tok/", tmp, tmp);
    CHECK(system(args) == 0);
    CHECK(runf("train --task translation --model_name_or_path " MODEL " --tokenizer_name %s/tok --train_file %s/ok.jsonl "
             "--source_lang en --target_lang fr --output_dir %s/x", tmp, tmp, tmp) == 1 && strstr(out, "tok/target.spm: missing"));
    /* a GPT-2 model is not a translation model */
    CHECK(runf("train --task translation --model_name_or_path " LMT_SOURCE_DIR "/tests/fixtures/models/gpt2 --tokenizer_name " TOK
             " --train_file %s/ok.jsonl --source_lang en --target_lang fr --output_dir %s/x", tmp, tmp) == 2 && strstr(out, "needs a MarianMTModel"));
    CHECK(run("train --task translation --help") == 0 && strstr(out, "--source_lang"));

    snprintf(args, sizeof args, "rm -rf %s", tmp);
    CHECK(system(args) == 0);
    return lmt_test_finish();
}
