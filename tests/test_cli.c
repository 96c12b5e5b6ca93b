/* The lmtune command-line tool end to end: inspect and convert on the
 * fixtures, exit codes and error messages on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "cli_run.h"
#include "small_marian.h"
#include "core/util.h"
#include "models/model.h"

int main(void) {
    CHECK(run("inspect " LMT_SOURCE_DIR "/tests/fixtures/models/gpt2") == 0);
    CHECK(strstr(out, "architecture:  GPT2LMHeadModel (model_type gpt2)") != NULL);
    CHECK(strstr(out, "parameters:    29568") != NULL);   /* num_parameters() in reference.json */
    CHECK(strstr(out, "transformer.h.0.attn.c_attn.weight") && strstr(out, "F32   [32, 96]"));
    CHECK(strstr(out, "lm_head.weight") && strstr(out, "tied to transformer.wte.weight"));
    CHECK(run("inspect " LMT_SOURCE_DIR "/tests/fixtures/models/bert-nohead") == 0);
    CHECK(strstr(out, "missing (newly initialized): 5") && strstr(out, "pooler.dense.weight") && strstr(out, "warning"));
    CHECK(run("inspect /nonexistent-model") == 1);
    CHECK(strstr(out, "lmtune: error: /nonexistent-model: not a directory") != NULL);
    CHECK(run("inspect") == 2);
    CHECK(run("frobnicate") == 2 && strstr(out, "unknown command 'frobnicate'"));
    CHECK(run("--help") == 0 && strstr(out, "inspect"));
    {   /* every command's --help is its own usage (eval's used to be train's) */
        static const char *const cmds[] = {"inspect", "convert", "merge", "train", "eval", "generate", "fill-mask", "translate", "bleu",
                                           "tokenize", "chat-template", "download", "cache", "upload", "data", "arguments", "plot"};
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
            char want[64];
            snprintf(want, sizeof want, "usage: lmtune %s", cmds[i]);
            int hrc = runf("%s --help", cmds[i]);
            CHECK_MSG(hrc == 0 && strstr(out, want), "%s --help: rc %d, %.200s", cmds[i], hrc, out);
        }
        CHECK(run("bleu --hyp x --ref y --smooth sometimes") == 2 && strstr(out, "--smooth: expected one of exp, none, floor, add-k"));
        CHECK(run("chat-template --tokenizer x --add_generation_prompt maybe") == 2 && strstr(out, "expected true or false"));
    }
    char tmp[] = "/tmp/lmt-cli-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char args[4096];
    CHECK(runf("convert %s/tests/fixtures/models/marian %s/m", LMT_SOURCE_DIR, tmp) == 0 && strstr(out, "MarianMTModel"));
    CHECK(runf("inspect %s/m", tmp) == 0 && strstr(out, "model.encoder.embed_positions.weight") && strstr(out, "(static)"));

    /* lmtune train --task clm end to end (2 steps of a small GPT-2 on WikiText-2) */
#define DEMO "--task clm --config_name " LMT_SOURCE_DIR "/examples/gpt2-demo/config.json --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 "
#define WIKI LMT_SHARED_DATA "/wikitext-2-raw-v1/"
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --validation_file " WIKI "wiki.test.raw "
             "--block_size 32 --per_device_train_batch_size 2 --per_device_eval_batch_size 2 --max_steps 2 --logging_steps 1 "
             "--max_eval_samples 4 --eval_strategy steps --eval_steps 2 --save_steps 2 --output_dir %s/run", tmp) == 0);
    CHECK(strstr(out, "\"loss\": ") && strstr(out, "\"step\": 2") && strstr(out, "\"perplexity\": ") && strstr(out, "perplexity_before"));
    const char *want[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", "trainer_state.json", "train_results.json",
                          "eval_results.json", "checkpoint-2/optimizer.safetensors", "checkpoint-2/trainer_state.json",
                          "checkpoint-2/vocab.json", "checkpoint-2/scheduler.json"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "test -f %s/run/%s", tmp, want[i]);
        CHECK_MSG(system(p) == 0, "missing %s", want[i]);
    }
    /* lmtune generate on the saved model (token-level agreement with
     * transformers is tests/test_generate.c's): the pipeline's JSON, the
     * prompt first, greedy decoding deterministic, --bf16 runs, bad input refused */
#define GEN_PREFIX "[{\"generated_text\": \"The tower is"
#define GEN "generate --model %s/run --prompt \"The tower is\" --max_new_tokens "
    CHECK(runf(GEN "6", tmp) == 0 && !strncmp(out, GEN_PREFIX, strlen(GEN_PREFIX)));
    char first[512];
    snprintf(first, sizeof first, "%s", out);
    CHECK(runf(GEN "6", tmp) == 0 && !strcmp(out, first));
    CHECK(runf(GEN "6 --bf16", tmp) == 0 && !strncmp(out, GEN_PREFIX, strlen(GEN_PREFIX)));
    CHECK(runf(GEN "-3", tmp) == 2 && strstr(out, "max_new_tokens"));
    CHECK(runf("generate --model %s/run --prompt \"\"", tmp) == 1 && strstr(out, "prompt is empty"));
    CHECK(runf("generate --model %s/nope --prompt x", tmp) == 1 && strstr(out, "/nope"));
    /* issue 18's silent failures: each refused or said aloud now */
    CHECK(runf(GEN "abc", tmp) == 2 && strstr(out, "--max_new_tokens: expected a non-negative integer, got \"abc\""));
    CHECK(runf(GEN "200", tmp) == 1 && strstr(out, "exceed the model's 128 positions") && strstr(out, "at most 125 new tokens"));
    CHECK(runf("generate --model %s/run --top_k -5 x", tmp) == 2 && strstr(out, "--top_k"));
    /* --model_name_or_path, --name=value and positional prompts, as every command takes them */
    CHECK(runf("generate --model_name_or_path=%s/run --max_new_tokens=6 \"The tower is\"", tmp) == 0 && !strcmp(out, first));
    {   /* resuming from a checkpoint without scheduler.json / rng_state.json: warned, as transformers logs it */
        char c[2048];
        snprintf(c, sizeof c, "mkdir -p %s/res && cp -r %s/run/checkpoint-2 %s/res/ && rm %s/res/checkpoint-2/scheduler.json "
                 "%s/res/checkpoint-2/rng_state.json", tmp, tmp, tmp, tmp, tmp);
        CHECK(system(c) == 0);
        CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --block_size 32 --per_device_train_batch_size 2 --max_steps 3 "
                   "--max_train_samples 16 --validation_split_percentage 0 --save_strategy no --resume_from_checkpoint %s/res/checkpoint-2 "
                   "--output_dir %s/res", tmp, tmp) == 0 &&
              strstr(out, "no scheduler.json in the checkpoint") && strstr(out, "no rng_state.json in the checkpoint") &&
              strstr(out, "\"step\": 3"));
    }
    /* the same flow for a Llama-family model: a tiny LlamaForCausalLM config
     * (grouped-query, tied, GPT-2's tokenizer), trained, saved with its class
     * name, generating */
    {
        static const char llama_cfg[] =
            "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"vocab_size\": 50257, "
            "\"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
            "\"num_key_value_heads\": 2, \"max_position_embeddings\": 128, \"rope_theta\": 100000.0, "
            "\"tie_word_embeddings\": true, \"bos_token_id\": 50256, \"eos_token_id\": 50256}\n";
        char cfgp[600];
        snprintf(cfgp, sizeof cfgp, "%s/llama.json", tmp);
        CHECK_OK(lmt_write_file_atomic(cfgp, llama_cfg, sizeof llama_cfg - 1));
        CHECK(runf("train --task clm --config_name %s --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 --train_file "
                   WIKI "wiki.valid.raw --block_size 32 --per_device_train_batch_size 2 --max_steps 2 --logging_steps 1 "
                   "--max_eval_samples 4 --save_dtype bfloat16 --max_shard_size 1MB --output_dir %s/llama", cfgp, tmp) == 0 &&
              strstr(out, "LlamaForCausalLM") && strstr(out, "\"step\": 2"));
        {   /* --save_dtype, --max_shard_size: the 3.2 MB bf16 embedding alone in the first shard, the rest in the second */
            char p2[600], *text = NULL;
            size_t len = 0;
            snprintf(p2, sizeof p2, "%s/llama/model.safetensors.index.json", tmp);
            CHECK_OK(lmt_read_file(p2, &text, &len));
            CHECK(text && strstr(text, "\"model.embed_tokens.weight\": \"model-00001-of-00002.safetensors\"") &&
                  strstr(text, "\"model.norm.weight\": \"model-00002-of-00002.safetensors\""));
            free(text);
            text = NULL;
            snprintf(p2, sizeof p2, "%s/llama/config.json", tmp);
            CHECK_OK(lmt_read_file(p2, &text, &len));
            CHECK(text && strstr(text, "\"dtype\": \"bfloat16\""));
            free(text);
        }
        CHECK(runf("inspect %s/llama", tmp) == 0 && strstr(out, "model.layers.1.mlp.gate_proj.weight"));
        CHECK(runf("generate --model %s/llama --prompt \"The tower is\" --max_new_tokens 4", tmp) == 0 &&
              !strncmp(out, GEN_PREFIX, strlen(GEN_PREFIX)));
        /* several prompts: one left-padded batch, a list of the pipeline's lists; the processors' flags */
        CHECK(runf("generate --model %s/llama --prompt \"The tower is\" --prompt Hi --max_new_tokens 3 --repetition_penalty 1.3 "
                   "--no_repeat_ngram_size 2 --do_sample --min_p 0.05 --top_p 0.9", tmp) == 0 &&
              !strncmp(out, "[" GEN_PREFIX, strlen(GEN_PREFIX) + 1) && strstr(out, "}], [{\"generated_text\": \"Hi"));
        CHECK(runf("generate --model %s/llama --prompt x --repetition_penalty 0", tmp) == 2);
        /* the trained model's files: --save_dtype / --max_shard_size through lmtune convert */
        CHECK(runf("convert %s/llama %s/llama-bf16 --save_dtype bfloat16 --max_shard_size 100KB", tmp, tmp) == 0);
        char idx[600];
        snprintf(idx, sizeof idx, "%s/llama-bf16/model.safetensors.index.json", tmp);
        CHECK(lmt_file_exists(idx));
        CHECK(runf("generate --model %s/llama-bf16 --tokenizer %s/llama --prompt \"The tower is\" --max_new_tokens 2", tmp, tmp) == 0 &&
              !strncmp(out, GEN_PREFIX, strlen(GEN_PREFIX)));
        CHECK(runf("convert %s/llama %s/llama-x --save_dtype float64", tmp, tmp) == 1 && strstr(out, "float64"));
    }
    {   /* generate --chat: the trained tiny Llama's folder (GPT-2 tokenizer) given a ChatML template */
        static const char tpl[] =
            "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
            "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        char p[600];
        snprintf(p, sizeof p, "%s/llama/chat_template.jinja", tmp);
        CHECK_OK(lmt_write_file_atomic(p, tpl, sizeof tpl - 1));
        CHECK(runf("generate --model %s/llama --max_new_tokens 3 --chat '[{\"role\": \"user\", \"content\": \"Hi\"}]' "
                   "--chat '[{\"role\": \"user\", \"content\": \"What is 2 + 2?\"}]'", tmp) == 0 &&
              !strncmp(out, "[[{\"generated_text\": [{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":", 80) &&
              strstr(out, "What is 2 + 2?\"},{\"role\":\"assistant\""));
        CHECK(runf("generate --model %s/llama --chat '[{\"role\": \"user\"' ", tmp) == 1 && strstr(out, "--chat"));
        CHECK(runf("generate --model %s/llama --chat '[]' --prompt x", tmp) == 2);
    }
    /* --profile: the per-kernel table over the optimizer steps; the demo model
     * has 2 layers, so each per-layer product runs twice per step, and the
     * tied lm_head once. --fp16 on a CPU says it means bf16. */
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --block_size 32 --per_device_train_batch_size 2 "
             "--max_steps 3 --save_strategy no --max_train_samples 20 --fp16 --profile --output_dir %s/prof", tmp) == 0);
    CHECK(strstr(out, "fp16 on a CPU: the matrix products run in bf16") != NULL);
    CHECK(strstr(out, "profile over 3 optimizer step(s)") != NULL);
    CHECK(strstr(out, "matrix products: lmtune gemm (fp32 ") != NULL);   /* which kernels ran */
    {
        const char *rows[][2] = {{"forward/matmul qkv", "2"}, {"backward/matmul fc proj", "2"}, {"forward/matmul lm_head", "1"},
                                 {"optimizer/adamw", "1"}, {"forward (phase)", NULL}, {"backward (phase)", NULL},
                                 {"step (all sections)", NULL}};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            const char *at = strstr(out, rows[i][0]);
            CHECK_MSG(at != NULL, "--profile: no \"%s\" row", rows[i][0]);
            if (!at || !rows[i][1]) continue;
            double ms;
            char calls[16];
            CHECK_MSG(sscanf(at + strlen(rows[i][0]), "%lf %15s", &ms, calls) == 2 && !strcmp(calls, rows[i][1]) && ms >= 0,
                      "--profile: %s should run %s time(s) per step", rows[i][0], rows[i][1]);
        }
    }
    /* all_results.json gathers the train and eval metrics, as save_metrics(combined=True) */
    {
        char p[1024];
        snprintf(p, sizeof p, "grep -q '\"train_loss\"' %s/run/all_results.json && grep -q '\"eval_loss\"' %s/run/all_results.json "
                 "&& grep -q '\"perplexity\"' %s/run/all_results.json", tmp, tmp, tmp);
        CHECK_MSG(system(p) == 0, "all_results.json lacks train_loss / eval_loss / perplexity");
    }
    /* without --validation_file, validation_split_percentage is 5 as in run_clm.py: the first 5% of the lines evaluate */
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --block_size 32 --per_device_train_batch_size 2 --max_steps 1 "
               "--max_eval_samples 2 --save_strategy no --output_dir %s/vsp", tmp) == 0 && strstr(out, "perplexity_before") &&
          strstr(out, "eval 2 blocks"));
    /* --report_to tensorboard is accepted (the event files are trainer-outputs'); bogus is refused */
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --report_to bogus --output_dir %s/rt", tmp) == 2 &&
          strstr(out, "unknown value \"bogus\""));
    /* JSON Lines with a nested text column, validation split from the training file */
    CHECK(runf("train " DEMO "--train_file " LMT_SHARED_DATA "/kde-en-fr/kde.jsonl --text_column_name translation.en "
             "--validation_split_percentage 2 --block_size 32 --per_device_train_batch_size 2 --max_steps 1 --max_eval_samples 2 "
             "--eval_strategy epoch --save_strategy no --output_dir %s/jl", tmp) == 0 && strstr(out, "\"eval_loss\"") && strstr(out, "\"step\": 1"));
    CHECK(runf("train " DEMO "--train_file " LMT_SHARED_DATA "/kde-en-fr/kde.jsonl --text_column_name translation.de "
             "--max_steps 1 --output_dir %s/jl2", tmp) == 1 && strstr(out, "kde.jsonl: line 1 has no string") && strstr(out, "translation.de"));
    /* lmtune train --task mlm: IMDb-style chunks, downsampled, fixed evaluation masks */
    {
        char cfgp[600];
        snprintf(cfgp, sizeof cfgp, "%s/bert.json", tmp);
        FILE *f = fopen(cfgp, "w");
        fprintf(f, "{\"model_type\": \"bert\", \"vocab_size\": 30522, \"hidden_size\": 32, \"num_hidden_layers\": 1, "
                   "\"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 64}\n");
        fclose(f);
#define MLM "train --task mlm --tokenizer_name " LMT_SHARED_DATA "/tokenizers/bert-base-uncased "
        CHECK(runf(MLM "--config_name %s --train_file " LMT_SHARED_DATA "/imdb/test.jsonl --max_seq_length 64 "
                 "--train_size 40 --test_size 8 --eval_mask_seed 3 --whole_word_mask --max_steps 2 --logging_steps 1 "
                 "--save_strategy no --output_dir %s/mlm", cfgp, tmp) == 0 && strstr(out, "perplexity_before") && strstr(out, "\"step\": 2") && strstr(out, "chunks of 64 tokens"));
        const char *mlm_files[] = {"config.json", "model.safetensors", "vocab.txt", "trainer_state.json", "train_results.json",
                                   "eval_results.json", "all_results.json"};
        for (size_t i = 0; i < sizeof mlm_files / sizeof mlm_files[0]; i++) {
            char p[1024];
            snprintf(p, sizeof p, "test -f %s/mlm/%s", tmp, mlm_files[i]);
            CHECK_MSG(system(p) == 0, "train --task mlm: missing %s", mlm_files[i]);
        }
        CHECK(runf(MLM "--config_name %s --train_file " WIKI "wiki.valid.raw --mlm_probability 1.5 --output_dir %s/m2", cfgp, tmp) == 2 && strstr(out, "a number in (0, 1)"));
        /* lmtune eval --task mlm: the trained model on a validation file, without training */
        CHECK(runf("eval --task mlm --model_name_or_path %s/mlm --validation_file " WIKI "wiki.test.raw --max_seq_length 64 "
                   "--output_dir %s/mlm-eval", tmp, tmp) == 0 && strstr(out, "\"eval_loss\"") && strstr(out, "\"perplexity\""));
        CHECK(runf("train --task mlm --model_name_or_path %s/tests/fixtures/models/gpt2 --tokenizer_name " LMT_SHARED_DATA
                 "/tokenizers/bert-base-uncased --train_file " WIKI "wiki.valid.raw --output_dir %s/m3", LMT_SOURCE_DIR, tmp) == 2 && strstr(out, "needs a BERT, RoBERTa or DistilBERT model"));
        CHECK(runf(MLM "--config_name %s --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 --train_file " WIKI
                 "wiki.valid.raw --output_dir %s/m4", cfgp, tmp) == 1 && strstr(out, "model's vocabulary holds 30522"));
        /* ELI5 shape: nested answers.text lists joined, short batches kept */
        char eli5[600];
        snprintf(eli5, sizeof eli5, "%s/eli5.jsonl", tmp);
        f = fopen(eli5, "w");
        for (int i = 0; i < 6; i++)
            fprintf(f, "{\"q_id\": \"%d\", \"answers\": {\"a_id\": [\"a\", \"b\"], \"text\": [\"the sky is blue\", \"light scatters %d times\"]}}\n", i, i);
        fclose(f);
        CHECK(runf(MLM "--config_name %s --train_file %s --text_column_name answers.text --max_seq_length 64 "
                 "--keep_short_block --max_steps 1 --save_strategy no --output_dir %s/m5", cfgp, eli5, tmp) == 0 && strstr(out, "1 chunks of 64 tokens"));
    }
    /* fill-mask: the pipeline's output for the reference sentence (tests/fixtures/models/bert-fillmask/pipeline.json) */
    CHECK(run("fill-mask --model " LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask --top_k 3 \"The cat sat on the [MASK].\"") == 0);
    CHECK(strstr(out, "\"token\": 8, \"token_str\": \"of\", \"sequence\": \"the cat sat on the of.\"") &&
          strstr(out, "\"token\": 64, \"token_str\": \"world\""));
    CHECK(run("fill-mask --model " LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask \"no mask here\"") == 1 && strstr(out, "no mask token"));
    /* several texts: an answer for each, as the pipeline given a list (it used to answer the last only) */
    CHECK(run("fill-mask --model " LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask --top_k 1 \"The cat sat on the [MASK].\" "
              "\"A [MASK] day.\"") == 0 && !strncmp(out, "[[{", 3) && strstr(out, "the cat sat on the of.") && strstr(out, "}], [{"));
    {   /* tokenize refuses invalid UTF-8 in a file, as train does (it used to substitute U+FFFD) */
        char bad[600];
        snprintf(bad, sizeof bad, "%s/bad.txt", tmp);
        FILE *bf = fopen(bad, "wb");
        fputs("fine\nbad \xff byte\n", bf);
        fclose(bf);
        CHECK(runf("tokenize --tokenizer " LMT_SHARED_DATA "/tokenizers/gpt2 --file %s", bad) == 1 &&
              strstr(out, "line 2, byte 5: invalid UTF-8 (byte 0xFF)"));
        CHECK(runf("train " DEMO "--train_file %s --output_dir %s/bad", bad, tmp) == 1 && strstr(out, "invalid UTF-8"));
        /* underscores with hyphenated aliases; texts positional */
        CHECK(run("tokenize --tokenizer " LMT_SHARED_DATA "/tokenizers/gpt2 --max_length 1 \"Hello world\" --no-special-tokens") == 0 &&
              strstr(out, "{\"ids\": [15496]"));
    }
    /* bleu: the SPEC §3 example */
    {
        char hp[600], rp[600];
        snprintf(hp, sizeof hp, "%s/hyp.txt", tmp);
        snprintf(rp, sizeof rp, "%s/ref.txt", tmp);
        FILE *f = fopen(hp, "w");
        fprintf(f, "This plugin lets you translate web pages between several languages automatically.\n");
        fclose(f);
        f = fopen(rp, "w");
        fprintf(f, "This plugin allows you to automatically translate web pages between several languages.\n");
        fclose(f);
        CHECK(runf("bleu --hyp %s --ref %s", hp, rp) == 0 && strstr(out, "\"score\": 46.7504696829902") && strstr(out, "\"counts\": [11, 6, 4, 3]") &&
              strstr(out, "\"sys_len\": 12, \"ref_len\": 13"));
        CHECK(runf("bleu --hyp %s --ref " WIKI "wiki.valid.raw", hp) == 1 && strstr(out, "has 3760 lines but"));
    }
    /* translate: a small random Marian with the opus-mt-tc-big-en-pt tokenizer (no trained weights exist here) */
    {
        char mdir[600];
        snprintf(mdir, sizeof mdir, "%s/marian", tmp);
        make_small_marian(mdir);
        CHECK(runf("translate --model %s --num_beams 2 --max_length 8 \"Default to expanded threads\"", mdir) == 0 && strstr(out, "[{\"translation_text\": \""));
        CHECK(run("translate --model " LMT_SOURCE_DIR "/tests/fixtures/models/gpt2 \"x\"") != 0 && strstr(out, "needs a MarianMTModel"));
        /* two texts, two returned sequences each: four entries */
        CHECK(runf("translate --model %s --num_beams 3 --num_return_sequences 2 --max_new_tokens 5 "
                 "--no_repeat_ngram_size 2 --min_length 3 --length_penalty 0.8 --early_stopping true \"One\" \"Two words\"", mdir) == 0);
        int entries = 0;
        for (const char *q = out; (q = strstr(q, "translation_text")); q++) entries++;
        CHECK_MSG(entries == 4, "translate: %d entries for 2 texts x 2 sequences", entries);
        /* bad settings are refused with the option named */
        CHECK(runf("translate --model %s --num_beams 0 \"x\"", mdir) == 2 && strstr(out, "--num_beams: expected a positive integer"));
        CHECK(runf("translate --model %s --max_length 500 \"x\"", mdir) == 1 && strstr(out, "max_position_embeddings"));
        CHECK(runf("translate --model %s --num_beams 2 --num_return_sequences 3 \"x\"", mdir) == 1 && strstr(out, "num_return_sequences"));
        CHECK(runf("translate --model %s --num_beams two \"x\"", mdir) == 2 && strstr(out, "--num_beams: expected a positive integer, got \"two\""));
        CHECK(runf("translate --model %s --early_stopping maybe \"x\"", mdir) == 2 && strstr(out, "one of true, false, never"));
        /* the same command style everywhere: --model_name_or_path, --name=value, texts from --file */
        {
            char tf[700];
            snprintf(tf, sizeof tf, "%s/texts.txt", tmp);
            FILE *tfp = fopen(tf, "w");
            fprintf(tfp, "One\nTwo words\n");
            fclose(tfp);
            CHECK(runf("translate --model_name_or_path=%s --num_beams=2 --max_length 6 --file %s", mdir, tf) == 0);
            int n_tr = 0;
            for (const char *q = out; (q = strstr(q, "translation_text")); q++) n_tr++;
            CHECK_MSG(n_tr == 2, "translate --file: %d entries for 2 lines", n_tr);
        }
    }
    /* errors before any work is done */
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --output_dir %s/run", tmp) == 1 && strstr(out, "not empty"));
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --validation_split_percentage 0 --eval_strategy epoch --output_dir %s/r2", tmp) == 2 && strstr(out, "needs --validation_file"));
    CHECK(runf("train " DEMO "--train_file %s/nope.txt --output_dir %s/r3", tmp, tmp) == 1 && strstr(out, "nope.txt: no such file"));
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --block_size 4096 --output_dir %s/r4", tmp) == 2 && strstr(out, "exceeds the model's 128 positions"));
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --learning_rat 1 --output_dir %s/r5", tmp) == 2 && strstr(out, "unknown argument --learning_rat (did you mean --learning_rate?)"));
    CHECK(runf("train --task clm --model_name_or_path %s/tests/fixtures/models/gpt2 --tokenizer_name " LMT_SHARED_DATA
             "/tokenizers/gpt2 --train_file " WIKI "wiki.valid.raw --output_dir %s/r6", LMT_SOURCE_DIR, tmp) == 1 && strstr(out, "model's vocabulary holds 96"));
    /* --use_peft (TRL's flags): peft's trainable-parameters line, the adapter alone saved; lmtune merge */
    CHECK(runf("train --task clm --model_name_or_path %s/run --train_file " WIKI "wiki.valid.raw --max_train_samples 8 "
               "--max_eval_samples 2 --block_size 32 --max_steps 2 --learning_rate 0.05 --use_peft --lora_r 4 --lora_alpha 8 "
               "--lora_target_modules c_attn,c_fc --output_dir %s/peft", tmp, tmp) == 0 &&
          strstr(out, "trainable params: ") && strstr(out, " || trainable%: "));
    /* generate --adapter = generate on the merged folder, and differs from the base */
    char with_adapter[512] = "", base_out[512] = "";
    CHECK(runf("generate --model %s/run --adapter %s/peft --prompt \"The tower is\" --max_new_tokens 8", tmp, tmp) == 0);
    snprintf(with_adapter, sizeof with_adapter, "%s", out);
    CHECK(runf("merge --model %s/run --adapter %s/peft --output %s/peft-merged", tmp, tmp, tmp) == 0);
    CHECK(runf("generate --model %s/peft-merged --tokenizer %s/run --prompt \"The tower is\" --max_new_tokens 8", tmp, tmp) == 0 &&
          !strcmp(out, with_adapter));
    CHECK(runf("generate --model %s/run --prompt \"The tower is\" --max_new_tokens 8", tmp) == 0);
    snprintf(base_out, sizeof base_out, "%s", out);
    CHECK_MSG(strcmp(base_out, with_adapter) != 0, "the adapter changed nothing: %s", with_adapter);
    snprintf(args, sizeof args, "test -f %s/peft/adapter_model.safetensors && test -f %s/peft/adapter_config.json && "
             "test ! -f %s/peft/model.safetensors && test -f %s/peft/checkpoint-2/adapter_model.safetensors", tmp, tmp, tmp, tmp);
    CHECK(system(args) == 0);
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --max_steps 1 --use_peft --lora_target_modules q_proj "
               "--output_dir %s/peft2", tmp) == 1 && strstr(out, "--lora_target_modules") && strstr(out, "not found"));
    CHECK(runf("train " DEMO "--train_file " WIKI "wiki.valid.raw --use_peft --lora_r 0 --output_dir %s/peft3", tmp) == 2 &&
          strstr(out, "lora_r"));
    CHECK(runf("merge --model %s/tests/fixtures/models/gpt2 --adapter %s/tests/fixtures/lora/gpt2 --output %s/merged",
               LMT_SOURCE_DIR, LMT_SOURCE_DIR, tmp) == 0 && strstr(out, "merged 8 LoRA adapters"));
    CHECK(runf("merge --model %s/tests/fixtures/models/gpt2 --adapter %s/tests/fixtures/lora/llama --output %s/merged2",
               LMT_SOURCE_DIR, LMT_SOURCE_DIR, tmp) == 1 && strstr(out, "adapter_config.json"));
    CHECK(runf("merge --model %s/tests/fixtures/models/gpt2", LMT_SOURCE_DIR) == 2 && strstr(out, "required"));
    snprintf(args, sizeof args, "rm -rf %s", tmp);
    CHECK(system(args) == 0);
    return lmt_test_finish();
}
