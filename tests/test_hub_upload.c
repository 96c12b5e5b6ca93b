/* Uploads against lmt_hub_server (tests/hub_server) on a temporary copy of
 * tests/fixtures/hub/root: create_repo (new, conflict, exist_ok, a bare
 * name), upload_folder of a tiny model folder (a regular and an LFS file,
 * .git left out), checked against the server's stored commit and by
 * downloading the files back with lmt_hub_download; a missing or wrong
 * token; `lmtune upload`; and `lmtune train --push_to_hub`, whose model is
 * then downloaded from the server. The expected bytes are the uploaded
 * files' own; what the server stored is read from its folder. */
#ifndef LMT_HUB_SERVER   /* a cross build without the target's libcurl has no server */
#define LMT_HUB_SERVER ""
#define LMT_HUB_ROOT ""
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "cli_run.h"
#include "core/fs.h"
#include "core/util.h"
#include "hub/digest.h"
#include "hub/http.h"
#include "lmtune/hub.h"
#include "model_files.h"
#include "hub_stand_in.h"

#define TOKEN HUB_TEST_TOKEN
#define GPT2 LMT_SOURCE_DIR "/tests/fixtures/models/gpt2"

static hub_stand_in h;

static char *server_log(void) {
    char *log = hub_log(&h);
    return log ? log : lmt_strdup("");
}

/* the commit the server's refs file gives main of a repo folder */
static bool server_head(const char *folder, char commit[41]) {
    char path[1024], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s/refs", h.root, folder);
    commit[0] = '\0';
    if (lmt_read_file(path, &data, &len) != LMT_OK) return false;
    const char *m = strstr(data, "main ");
    if (m && (m == data || m[-1] == '\n')) snprintf(commit, 41, "%.40s", m + 5);
    free(data);
    return strlen(commit) == 40;
}

/* the file as the server stored it in main's commit */
static char *stored(const char *folder, const char *file) {
    char commit[41], path[1024];
    if (!server_head(folder, commit)) return lmt_strdup("");
    snprintf(path, sizeof path, "%s/%s/commits/%s/%s", h.root, folder, commit, file);
    return lmt_strdup(path);
}

/* FILE of REPO downloaded back from the server equals local */
static void check_download(const char *repo, const char *file, const char *local) {
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/cache", h.dir);
    lmt_hub_options o = {.cache_dir = cache, .token = TOKEN, .force_download = true};
    char *path = NULL;
    lmt_status s = lmt_hub_download(repo, file, &o, &path);
    CHECK_MSG(s == LMT_OK, "download %s %s: %s", repo, file, lmt_last_error());
    if (path) CHECK_MSG(files_equal(path, local), "%s of %s differs from %s", file, repo, local);
    free(path);
}

static void copy_in(const char *dir, const char *name) {
    char src[1024], dst[1024];
    snprintf(src, sizeof src, GPT2 "/%s", name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    CHECK_OK(lmt_copy_file(src, dst));
}

int main(void) {
    char probe[65];   /* built with LMT_HUB=OFF: no libcrypto, no uploads */
    if (lmt_sha256_file("/dev/null", probe) == LMT_ERR_UNSUPPORTED) {
        printf("skipped: built without the Hub (LMT_HUB=OFF)\n");
        return 77;
    }
    if (!hub_start(&h, "hub-upload")) {
        fprintf(stderr, "lmt_hub_server did not start\n");
        return 1;
    }
    const char *tmp = h.dir;
    char up[512], path[2048], notoken[1024];
    snprintf(notoken, sizeof notoken, "%s/no-token-file", tmp);
    setenv("HF_TOKEN_PATH", notoken, 1);

    /* the folder: a regular file (config.json), an LFS file (model.safetensors), a nested one, .git */
    snprintf(up, sizeof up, "%s/up", tmp);
    snprintf(path, sizeof path, "%s/sub/.git", up);
    CHECK_OK(lmt_mkdirs(path));
    copy_in(up, "config.json");
    copy_in(up, "model.safetensors");
    snprintf(path, sizeof path, "%s/sub/notes.txt", up);
    CHECK_OK(lmt_write_file_atomic(path, "notes\n", 6));
    snprintf(path, sizeof path, "%s/sub/.git/HEAD", up);
    CHECK_OK(lmt_write_file_atomic(path, "ref: refs/heads/main\n", 21));

    /* create_repo: new, conflict, exist_ok, a bare name in the token owner's namespace */
    lmt_hub_options o = {.token = TOKEN};
    char *full = NULL;
    CHECK_OK(lmt_hub_create_repo("lmtune-test/uploaded", false, false, &o, &full));
    CHECK(full && !strcmp(full, "lmtune-test/uploaded"));
    free(full);
    char head[41];
    CHECK(server_head("models--lmtune-test--uploaded", head));
    CHECK(lmt_hub_create_repo("lmtune-test/uploaded", false, false, &o, NULL) == LMT_ERR_ARG);
    CHECK_MSG(strstr(lmt_last_error(), "lmtune-test/uploaded") && strstr(lmt_last_error(), "409") &&
              strstr(lmt_last_error(), "exists"), "%s", lmt_last_error());
    CHECK_OK(lmt_hub_create_repo("lmtune-test/uploaded", false, true, &o, NULL));
    CHECK_OK(lmt_hub_create_repo("bare-repo", true, false, &o, &full));
    char owner_repo[512];
    {
        char *who = NULL;
        CHECK_OK(lmt_hub_whoami(&o, &who));
        snprintf(owner_repo, sizeof owner_repo, "%.200s/bare-repo", who ? who : "?");
        free(who);
    }
    CHECK_MSG(full && !strcmp(full, owner_repo), "%s vs %s", full ? full : "(null)", owner_repo);
    free(full);

    /* upload_folder: the stored commit, the LFS PUT to the CDN port without the token, then the files back */
    lmt_hub_upload_options u = {.commit_message = "First upload"};
    char *oid = NULL;
    CHECK_OK(lmt_hub_upload_folder("lmtune-test/uploaded", up, &u, &o, &oid));
    CHECK(oid && server_head("models--lmtune-test--uploaded", head) && !strcmp(oid, head));
    const char *files[] = {"config.json", "model.safetensors", "sub/notes.txt"};
    for (int i = 0; i < 3; i++) {
        char *s = stored("models--lmtune-test--uploaded", files[i]);
        snprintf(path, sizeof path, "%s/%s", up, files[i]);
        CHECK_MSG(files_equal(s, path), "stored %s differs", files[i]);
        free(s);
        check_download("lmtune-test/uploaded", files[i], path);
    }
    char *git = stored("models--lmtune-test--uploaded", "sub/.git/HEAD");
    CHECK(!lmt_file_exists(git));
    free(git);
    char *log = server_log();
    char put_line[256];
    snprintf(put_line, sizeof put_line, "%d PUT /upload/models--lmtune-test--uploaded/", h.cdn);
    const char *put = strstr(log, put_line);
    CHECK_MSG(put != NULL, "no LFS PUT to the CDN port in:\n%s", log);
    if (put) CHECK(strstr(put, " no\n") == strchr(put, '\n') - 3);   /* no Authorization header */
    CHECK(strstr(log, "preupload/main") && strstr(log, "lmtune-test/uploaded.git/info/lfs/objects/batch"));
    free(log);
    free(oid);
    /* path_in_repo and patterns */
    u = (lmt_hub_upload_options){.path_in_repo = "nested/dir", .allow_patterns = (const char *const[]){"*.json", NULL}};
    CHECK_OK(lmt_hub_upload_folder("lmtune-test/uploaded", up, &u, &o, NULL));
    char *nested = stored("models--lmtune-test--uploaded", "nested/dir/config.json");
    snprintf(path, sizeof path, "%s/config.json", up);
    CHECK(files_equal(nested, path));
    free(nested);
    nested = stored("models--lmtune-test--uploaded", "nested/dir/model.safetensors");
    CHECK(!lmt_file_exists(nested));
    free(nested);

    /* no token, a wrong token: refused, the message says why */
    lmt_hub_options none = {.token = ""}, wrong = {.token = "hf_wrong"};
    CHECK(lmt_hub_upload_folder("lmtune-test/uploaded", up, NULL, &none, NULL) == LMT_ERR_ACCESS);
    CHECK_MSG(strstr(lmt_last_error(), "401") && strstr(lmt_last_error(), "no token was given") &&
              strstr(lmt_last_error(), "lmtune-test/uploaded"), "%s", lmt_last_error());
    CHECK(lmt_hub_create_repo("lmtune-test/other", false, true, &none, NULL) == LMT_ERR_ACCESS);
    CHECK_MSG(strstr(lmt_last_error(), "401") && strstr(lmt_last_error(), "no token was given"), "%s", lmt_last_error());
    CHECK(lmt_hub_upload_folder("lmtune-test/uploaded", up, NULL, &wrong, NULL) == LMT_ERR_ACCESS);
    CHECK_MSG(strstr(lmt_last_error(), "lacks write access"), "%s", lmt_last_error());
    /* a repo that does not exist */
    CHECK(lmt_hub_upload_folder("lmtune-test/never-created", up, NULL, &o, NULL) == LMT_ERR_NOT_FOUND);
    CHECK_MSG(strstr(lmt_last_error(), "never-created"), "%s", lmt_last_error());

    /* lmtune upload */
    CHECK(runf("upload lmtune-test/cli-up %s models --token " TOKEN " --exclude '*.safetensors' --commit-message 'by the CLI'", up) == 0);
    CHECK_MSG(strstr(out, "\"commit\": \""), "%s", out);
    char *cli_cfg = stored("models--lmtune-test--cli-up", "models/config.json"),
         *cli_st = stored("models--lmtune-test--cli-up", "models/model.safetensors");
    snprintf(path, sizeof path, "%s/config.json", up);
    CHECK(files_equal(cli_cfg, path) && !lmt_file_exists(cli_st));
    free(cli_cfg);
    free(cli_st);
    CHECK(run("upload") == 2 && strstr(out, "REPO"));
    CHECK(runf("upload lmtune-test/x %s --repo-type space", up) == 2 && strstr(out, "--repo-type"));
    CHECK(runf("upload lmtune-test/x %s --frobnicate 1", up) == 2 && strstr(out, "--frobnicate"));
    CHECK(runf("upload lmtune-test/x %s/config.json", up) == 2 && strstr(out, "not a folder"));
    CHECK(runf("upload lmtune-test/x %s/missing", up) == 1 && strstr(out, "missing"));
    CHECK(runf("upload lmtune-test/x %s", up) == 1 && strstr(out, "401") && strstr(out, "no token was given"));

    /* lmtune train --push_to_hub: every_save pushes the checkpoints, the end pushes output_dir */
#define DEMO "--task clm --config_name " LMT_SOURCE_DIR "/examples/gpt2-demo/config.json --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 "
    CHECK(runf("train " DEMO "--train_file " LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw --block_size 32 "
               "--per_device_train_batch_size 2 --max_steps 2 --save_steps 1 --max_train_samples 8 --output_dir %s/run "
               "--push_to_hub --hub_model_id lmtune-test/pushed --hub_token " TOKEN, tmp) == 0);
    CHECK_MSG(strstr(out, "pushed the model to the Hub: lmtune-test/pushed"), "%s", out);
    const char *pushed[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", "README.md", "trainer_state.json"};
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/run/%s", tmp, pushed[i]);
        check_download("lmtune-test/pushed", pushed[i], path);
    }
    log = server_log();
    /* two checkpoint pushes and the final one */
    int commits = 0;
    for (const char *p = log; (p = strstr(p, "POST /api/models/lmtune-test/pushed/commit/main")); p++) commits++;
    CHECK_MSG(commits == 3, "%d commits to lmtune-test/pushed", commits);
    free(log);
    char *ckpt = stored("models--lmtune-test--pushed", "checkpoint-2/config.json"),
         *opt = stored("models--lmtune-test--pushed", "optimizer.safetensors");
    CHECK(!lmt_file_exists(ckpt) && !lmt_file_exists(opt));
    free(ckpt);
    free(opt);
    /* hub_strategy end: only the final push; a bare hub_model_id lands in the token owner's namespace */
    CHECK(runf("train " DEMO "--train_file " LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw --block_size 32 "
               "--per_device_train_batch_size 2 --max_steps 2 --save_steps 1 --max_train_samples 8 --output_dir %s/run-end "
               "--push_to_hub --hub_strategy end --hub_model_id pushed-end --token " TOKEN, tmp) == 0);   /* --token serves as hub_token */
    log = server_log();
    commits = 0;
    int owner_len = (int)(strchr(owner_repo, '/') - owner_repo);
    char end_commit[512], end_repo[300];
    snprintf(end_repo, sizeof end_repo, "%.*s/pushed-end", owner_len, owner_repo);
    snprintf(end_commit, sizeof end_commit, "POST /api/models/%s/commit/main", end_repo);
    for (const char *p = log; (p = strstr(p, end_commit)); p++) commits++;
    CHECK_MSG(commits == 1, "%d commits (%s)", commits, end_commit);
    free(log);
    snprintf(path, sizeof path, "%s/run-end/model.safetensors", tmp);
    check_download(end_repo, "model.safetensors", path);
    /* refused before training: a hub_strategy lmtune does not do, a bad repo id, no token */
    CHECK(runf("train " DEMO "--train_file x --output_dir %s/r2 --push_to_hub --hub_strategy checkpoint", tmp) != 0 &&
          strstr(out, "hub_strategy checkpoint"));
    CHECK(runf("train " DEMO "--train_file x --output_dir %s/r2 --push_to_hub --hub_model_id 'a/b/c'", tmp) != 0 &&
          strstr(out, "hub_model_id"));
    CHECK(runf("train " DEMO "--train_file " LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw --block_size 32 "
               "--max_steps 1 --max_train_samples 4 --output_dir %s/r3 --push_to_hub --hub_model_id lmtune-test/p3", tmp) == 1 &&
          strstr(out, "no token was given"));

    hub_finish(&h);
    return lmt_test_finish();
}
