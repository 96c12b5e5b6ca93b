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

#define MAIN_COMMIT "5632ccbbae4f90811b88d41e8c26af8711709b70"
#define CONFIG_SHA1 "4773fde9db0bd6871c93cc9ac03210a2a118ea16"

static pid_t server;

static bool start_server(const char *dir, int *hub) {
    char port_file[512];
    snprintf(port_file, sizeof port_file, "%s/ports", dir);
    server = fork();
    if (server == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execl(LMT_HUB_SERVER, LMT_HUB_SERVER, "--root", LMT_HUB_ROOT, "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(port_file, "r");
        int cdn;
        if (f) {
            bool ok = fscanf(f, "%d %d", hub, &cdn) == 2;
            fclose(f);
            if (ok) return true;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static bool exists(const char *fmt, const char *a, const char *b) {
    char p[1024];
    snprintf(p, sizeof p, fmt, a, b);
    return lmt_file_exists(p) || lmt_is_dir(p);
}

int main(void) {
    char tmp[] = "/tmp/lmt_hub_cli_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    int hub = 0;
    if (!start_server(tmp, &hub)) { fprintf(stderr, "lmt_hub_server did not start\n"); return 1; }
    char v[1024];
    snprintf(v, sizeof v, "http://127.0.0.1:%d", hub);
    setenv("HF_ENDPOINT", v, 1);
    snprintf(v, sizeof v, "%s/cache", tmp);
    setenv("HF_HUB_CACHE", v, 1);
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("TRANSFORMERS_OFFLINE");
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

    kill(server, SIGTERM);
    int st;
    waitpid(server, &st, 0);
    snprintf(v, sizeof v, "rm -rf %s", tmp);
    CHECK(system(v) == 0);
    return lmt_test_finish();
}
