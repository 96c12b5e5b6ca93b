/* lmtune download / cache / train --dataset_name against the Hub stand-in
 * (tests/hub_server: lmt_hub_server on tests/fixtures/hub/root), with a
 * cache in a temporary folder. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "cli_run.h"
#include "core/util.h"
#include "hub_stand_in.h"

#define MAIN_COMMIT "5632ccbbae4f90811b88d41e8c26af8711709b70"
#define CONFIG_SHA1 "4773fde9db0bd6871c93cc9ac03210a2a118ea16"

static hub_stand_in H;

static bool exists(const char *fmt, const char *a, const char *b) {
    char p[1024];
    snprintf(p, sizeof p, fmt, a, b);
    return lmt_file_exists(p) || lmt_is_dir(p);
}

int main(void) {
    if (!hub_start(&H, "hubcli")) { fprintf(stderr, "lmt_hub_server did not start\n"); return 1; }
    const char *tmp = H.dir;
    char v[1024];
    setenv("HF_TOKEN", "", 1);
    snprintf(v, sizeof v, "%s/no-token", tmp);
    setenv("HF_TOKEN_PATH", v, 1);
    const char *snap = "%s/cache/models--lmtune-test--tiny-gpt2/snapshots/" MAIN_COMMIT "/%s";

    /* a filtered snapshot: the folder printed, only the matching files */
    CHECK(run("download lmtune-test/tiny-gpt2 --include '*.json' --exclude 'tokenizer*'") == 0);
    CHECK(strstr(out, "snapshots/" MAIN_COMMIT));
    CHECK(exists(snap, tmp, "config.json") && exists(snap, tmp, "vocab.json") && exists(snap, tmp, "generation_config.json"));
    CHECK(!exists(snap, tmp, "tokenizer.json") && !exists(snap, tmp, "model.safetensors") && !exists(snap, tmp, "merges.txt"));
    snprintf(v, sizeof v, "%s/cache/models--lmtune-test--tiny-gpt2/refs/main", tmp);
    char *ref = NULL;
    size_t len;
    CHECK(lmt_read_file(v, &ref, &len) == LMT_OK && ref && !strcmp(ref, MAIN_COMMIT));
    free(ref);
    /* one file: its path */
    CHECK(run("download lmtune-test/tiny-gpt2 merges.txt") == 0 && strstr(out, "/" MAIN_COMMIT "/merges.txt\n"));
    /* --local_dir: copies (not links) and the download metadata */
    CHECK(runf("download lmtune-test/tiny-gpt2 config.json vocab.json --local_dir %s/ld", tmp) == 0 && strstr(out, "/ld\n"));
    snprintf(v, sizeof v, "%s/ld/config.json", tmp);
    char link[64];
    CHECK(lmt_file_exists(v) && readlink(v, link, sizeof link) < 0);
    snprintf(v, sizeof v, "%s/ld/.cache/huggingface/download/config.json.metadata", tmp);
    char *meta = NULL;
    CHECK(lmt_read_file(v, &meta, &len) == LMT_OK && meta && !strncmp(meta, MAIN_COMMIT "\n" CONFIG_SHA1 "\n", 82));
    free(meta);
    CHECK(!exists("%s/ld/%s", tmp, "merges.txt"));
    /* --revision (taken by main.c for every command) pins the tag's commit */
    CHECK(run("download lmtune-test/tiny-gpt2 config.json --revision v1.0") == 0 &&
          strstr(out, "/06de167fe8eea1c55a3028cc804c8d4b955b40bf/config.json"));
    /* errors: no such repo, no such revision */
    CHECK(run("download lmtune-test/nope") == 1 && strstr(out, "not found"));
    CHECK(run("download lmtune-test/tiny-gpt2 --revision nope") == 1 && strstr(out, "nope"));
    /* offline: the cached snapshot */
    setenv("HF_HUB_OFFLINE", "1", 1);
    CHECK(run("download lmtune-test/tiny-gpt2 --include '*.json' --exclude 'tokenizer*'") == 0 && strstr(out, MAIN_COMMIT));
    unsetenv("HF_HUB_OFFLINE");

    /* a dataset, then the cache listing and deletion */
    CHECK(run("download lmtune-test/tiny-text --repo_type dataset") == 0);
    CHECK(run("cache ls") == 0);
    CHECK(strstr(out, "ID") && strstr(out, "LAST_ACCESSED") && strstr(out, "dataset/lmtune-test/tiny-text") &&
          strstr(out, "model/lmtune-test/tiny-gpt2") && strstr(out, "Found 2 repo(s)"));
    CHECK(run("cache ls --revisions") == 0 && strstr(out, MAIN_COMMIT));
    CHECK(run("cache rm model/lmtune-test/tiny-gpt2 --dry_run") == 0 && strstr(out, "Dry run"));
    CHECK(exists("%s/cache/models--lmtune-test--tiny-gpt2%s", tmp, ""));
    CHECK(run("cache rm model/lmtune-test/tiny-gpt2") == 0 && strstr(out, "Deleted 1 repo(s)") && strstr(out, "freed"));
    CHECK(!exists("%s/cache/models--lmtune-test--tiny-gpt2%s", tmp, ""));
    CHECK(!exists("%s/cache/.locks/models--lmtune-test--tiny-gpt2%s", tmp, ""));
    CHECK(run("cache rm lmtune-test/nope") == 0 && strstr(out, "Could not find") && strstr(out, "Nothing to delete"));
    CHECK(run("cache scan") == 0 && strstr(out, "Found 1 repo(s)"));
    CHECK(runf("cache ls --cache_dir %s/nope", tmp) == 1 && strstr(out, "Cache directory not found"));
    CHECK(runf("cache ls --cache_dir %s/cache", tmp) == 0 && strstr(out, "dataset/lmtune-test/tiny-text"));

    /* train --dataset_name: the repo's train / validation files */
    CHECK(runf("train --task clm --config_name %s/examples/gpt2-demo/config.json --tokenizer_name " LMT_SHARED_DATA
               "/tokenizers/gpt2 --dataset_name lmtune-test/tiny-text --block_size 16 --per_device_train_batch_size 2 "
               "--per_device_eval_batch_size 2 --max_steps 2 --eval_strategy steps --eval_steps 2 --save_strategy no "
               "--output_dir %s/run", LMT_SOURCE_DIR, tmp) == 0);
    CHECK(strstr(out, "train split from") && strstr(out, "validation.jsonl") && strstr(out, "\"eval_loss\""));
    CHECK(runf("train --task clm --config_name %s/examples/gpt2-demo/config.json --tokenizer_name " LMT_SHARED_DATA
               "/tokenizers/gpt2 --dataset_name lmtune-test/text-configs --dataset_config_name plain --block_size 16 "
               "--max_steps 1 --save_strategy no --output_dir %s/run2", LMT_SOURCE_DIR, tmp) == 0 && strstr(out, "plain/train.jsonl"));
    CHECK(runf("train --task clm --config_name %s/examples/gpt2-demo/config.json --tokenizer_name " LMT_SHARED_DATA
               "/tokenizers/gpt2 --dataset_name lmtune-test/parquet-only --output_dir %s/run3", LMT_SOURCE_DIR, tmp) == 1 &&
          strstr(out, "lmtune-test/parquet-only") && strstr(out, "parquet"));

    /* the whole workflow through the Hub: a model and a dataset by name, fine-tuned, pushed, then used by name */
    setenv("HF_TOKEN", HUB_TEST_TOKEN, 1);
    CHECK(runf("train --task clm --model_name_or_path lmtune-test/tiny-lm --dataset_name lmtune-test/tiny-text --block_size 16 "
               "--per_device_train_batch_size 4 --num_train_epochs 2 --eval_strategy epoch --save_strategy no --output_dir %s/e2e "
               "--push_to_hub --hub_model_id lmtune-test/tiny-lm-finetuned", tmp) == 0);
    CHECK(strstr(out, "perplexity") && strstr(out, "pushed the model to the Hub: lmtune-test/tiny-lm-finetuned"));
    setenv("HF_TOKEN", "", 1);
    /* --config_name by repo id too (fresh weights from the Hub's config.json) */
    CHECK(runf("train --task clm --config_name lmtune-test/tiny-lm --tokenizer_name lmtune-test/tiny-lm --dataset_name "
               "lmtune-test/tiny-text --block_size 16 --max_steps 1 --save_strategy no --output_dir %s/fresh", tmp) == 0);
    CHECK(runf("train --task clm --config_name lmtune-test/no-such-repo --tokenizer_name lmtune-test/tiny-lm --dataset_name "
               "lmtune-test/tiny-text --output_dir %s/fresh2", tmp) == 1 && strstr(out, "--config_name") &&
          strstr(out, "repository not found"));
    CHECK(runf("generate --model %s/e2e --prompt 'line 3: the quick' --max_new_tokens 8", tmp) == 0);
    char *local = lmt_strdup(out);
    snprintf(v, sizeof v, "%s/cache2", tmp);
    CHECK(runf("generate --model lmtune-test/tiny-lm-finetuned --cache_dir %s --prompt 'line 3: the quick' --max_new_tokens 8", v) == 0);
    CHECK(local && !strcmp(local, out));   /* the pushed model is the trained one */
    free(local);
    CHECK(runf("cache ls --cache_dir %s/cache2", tmp) == 0 && strstr(out, "model/lmtune-test/tiny-lm-finetuned"));

    /* model and tokenizer names in the other commands, as from_pretrained resolves them */
    CHECK(run("inspect lmtune-test/tiny-gpt2") == 0 && strstr(out, "GPT2LMHeadModel") && strstr(out, "snapshots/" MAIN_COMMIT));
    CHECK(run("inspect lmtune-test/tiny-gpt2 --revision v1.0") == 0 && strstr(out, "snapshots/06de167fe8eea1c55a3028cc804c8d4b955b40bf"));
    CHECK(run("inspect lmtune-test/sharded-gpt2") == 0 && strstr(out, "model.safetensors.index.json"));
    /* a tokenizer alone: its files, no weights */
    CHECK(run("tokenize --tokenizer distilgpt2 --text hello") == 0 && strstr(out, "\"ids\""));
    CHECK(exists("%s/cache/models--distilgpt2/snapshots/5f6eb02150cf5cfdc30a058e5ecfeaae9ec1350c/%s", tmp, "vocab.json"));
    CHECK(!exists("%s/cache/models--distilgpt2/snapshots/5f6eb02150cf5cfdc30a058e5ecfeaae9ec1350c/%s", tmp, "model.safetensors"));
    /* --local_files_only: what is cached works, the rest is refused saying so */
    CHECK(run("inspect lmtune-test/tiny-gpt2 --local_files_only") == 0);
    CHECK(run("inspect lmtune-test/bin-gpt2 --local_files_only") == 1 && strstr(out, "not in the cache") && strstr(out, "offline"));
    /* the Hub gone: the cache, with a warning */
    hub_stop(&H);
    CHECK(run("inspect lmtune-test/tiny-gpt2") == 0 && strstr(out, "could not be reached"));
    CHECK(run("inspect lmtune-test/bin-gpt2") == 1 && strstr(out, "could not be reached") && strstr(out, "not in the cache"));
    CHECK(run("inspect ./no-such-folder") == 1 && strstr(out, "not a directory"));
    hub_finish(&H);
    return lmt_test_finish();
}
