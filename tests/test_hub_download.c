/* Downloads from the Hub stand-in (tests/hub_server/, fixture
 * tests/fixtures/hub/root): from_pretrained's files into a fresh cache, the
 * cache alone once the server is gone, offline mode, revisions by tag and by
 * commit, resuming broken transfers, refusing corrupt bytes, two processes
 * on one cache, and each error the Hub reports. The expected bytes are the
 * fixture's files; the expected requests come from the server's log. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/util.h"
#include "harness.h"
#include "hub_stand_in.h"
#include "lmtune/hub.h"

#define MAIN "5632ccbbae4f90811b88d41e8c26af8711709b70"
#define V1 "06de167fe8eea1c55a3028cc804c8d4b955b40bf"
#define REPO "lmtune-test/tiny-gpt2"

static hub_stand_in H;

static bool same_bytes(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    bool same = lmt_read_file(a, &x, &nx) == LMT_OK && lmt_read_file(b, &y, &ny) == LMT_OK && nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

/* the fixture's copy of FILE in commit COMMIT of REPO_FOLDER */
static void fixture(char *out, size_t cap, const char *repo_folder, const char *commit, const char *file) {
    snprintf(out, cap, "%s/%s/commits/%s/%s", H.root, repo_folder, commit, file);
}

static void cache_path(char *out, size_t cap, const char *rel) { snprintf(out, cap, "%s/cache/%s", H.dir, rel); }

static int64_t size_of(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

static void first_download(void) {
    char *folder = NULL;
    bool from_hub = false;
    CHECK_OK(lmt_hub_resolve_model(REPO, NULL, &folder, &from_hub));
    char want[1024], got[1024];
    cache_path(want, sizeof want, "models--lmtune-test--tiny-gpt2/snapshots/" MAIN);
    CHECK(folder && !strcmp(folder, want) && from_hub);
    const char *files[] = {"config.json", "generation_config.json", "model.safetensors", "vocab.json", "merges.txt",
                           "tokenizer.json", "tokenizer_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        fixture(want, sizeof want, "models--lmtune-test--tiny-gpt2", MAIN, files[i]);
        snprintf(got, sizeof got, "%s/%s", folder, files[i]);
        CHECK_MSG(same_bytes(want, got), "%s", files[i]);
    }
    /* README.md is not something from_pretrained reads */
    snprintf(got, sizeof got, "%s/README.md", folder);
    CHECK(access(got, F_OK) != 0);
    /* the layout huggingface_hub makes: refs/main, LFS blob named by its sha256, link into blobs */
    cache_path(got, sizeof got, "models--lmtune-test--tiny-gpt2/refs/main");
    char *ref = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(got, &ref, &n));
    CHECK(n == 40 && ref && !memcmp(ref, MAIN, 40));
    free(ref);
    snprintf(got, sizeof got, "%s/model.safetensors", folder);
    char link[256];
    ssize_t k = readlink(got, link, sizeof link - 1);
    link[k > 0 ? k : 0] = '\0';
    CHECK_STREQ(link, "../../blobs/3e375e4ef31099b702ce90da3e794227a3df3eaf2e5014d82e816a8a2163698a");
    snprintf(got, sizeof got, "%s/config.json", folder);
    k = readlink(got, link, sizeof link - 1);
    link[k > 0 ? k : 0] = '\0';
    CHECK_STREQ(link, "../../blobs/4773fde9db0bd6871c93cc9ac03210a2a118ea16");   /* git blob sha1 of a regular file */
    /* files the repo lacks are remembered */
    cache_path(got, sizeof got, "models--lmtune-test--tiny-gpt2/.no_exist/" MAIN "/special_tokens_map.json");
    CHECK(access(got, F_OK) == 0);
    cache_path(got, sizeof got, ".locks/models--lmtune-test--tiny-gpt2");
    CHECK(access(got, F_OK) == 0);
    free(folder);
    free(hub_log(&H));
    /* again: HEADs only, no body */
    CHECK_OK(lmt_hub_resolve_model(REPO, NULL, &folder, NULL));
    char *log = hub_log(&H);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET ", NULL}) == 0);
    CHECK_MSG(log && hub_log_count(log, (const char *const[]){" HEAD ", NULL}) > 0, "%s", log ? log : "(null)");
    free(log);
    free(folder);
}

static void cache_only(void) {
    char *folder = NULL;
    /* offline: not one request */
    setenv("HF_HUB_OFFLINE", "1", 1);
    free(hub_log(&H));
    CHECK_OK(lmt_hub_resolve_model(REPO, NULL, &folder, NULL));
    CHECK(folder && strstr(folder, MAIN));
    free(folder);
    char *log = hub_log(&H);
    CHECK(log && !*log);
    free(log);
    CHECK(lmt_hub_resolve_model("lmtune-test/sharded-gpt2", NULL, &folder, NULL) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "offline"));
    unsetenv("HF_HUB_OFFLINE");
    /* the network down: the cache's copy */
    hub_stop(&H);
    CHECK_OK(lmt_hub_resolve_model(REPO, NULL, &folder, NULL));
    CHECK(folder && strstr(folder, MAIN));
    free(folder);
    CHECK(lmt_hub_resolve_model("lmtune-test/sharded-gpt2", NULL, &folder, NULL) == LMT_ERR_NETWORK);
    CHECK(strstr(lmt_last_error(), "could not be reached") && strstr(lmt_last_error(), "lmtune-test/sharded-gpt2"));
    CHECK(hub_start_again(&H));
}

static void revisions(void) {
    char *folder = NULL, want[1024], got[1024];
    lmt_hub_options o = {.revision = "v1.0"};
    CHECK_OK(lmt_hub_resolve_model(REPO, &o, &folder, NULL));
    CHECK(folder && strstr(folder, "/snapshots/" V1));
    fixture(want, sizeof want, "models--lmtune-test--tiny-gpt2", V1, "config.json");
    snprintf(got, sizeof got, "%s/config.json", folder);
    CHECK(same_bytes(want, got));
    free(folder);
    cache_path(got, sizeof got, "models--lmtune-test--tiny-gpt2/refs/v1.0");
    CHECK(size_of(got) == 40);
    cache_path(got, sizeof got, "models--lmtune-test--tiny-gpt2/.no_exist/" V1 "/generation_config.json");
    CHECK(access(got, F_OK) == 0);
    /* by commit: the snapshot answers without a request */
    o.revision = V1;
    free(hub_log(&H));
    CHECK_OK(lmt_hub_resolve_model(REPO, &o, &folder, NULL));
    CHECK(folder && strstr(folder, "/snapshots/" V1));
    free(folder);
    char *log = hub_log(&H);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET ", NULL}) == 0);
    free(log);
    /* an unknown revision */
    o.revision = "v9.9";
    CHECK(lmt_hub_resolve_model(REPO, &o, &folder, NULL) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "revision 'v9.9' not found"));
}

static void resume_and_verify(void) {
    lmt_hub_options o = {0};
    char *path = NULL;
    /* one broken transfer: resumed at once with a Range request */
    CHECK(hub_control(&H, "reset=1&drop_after=50000&drop_count=1"));
    free(hub_log(&H));
    CHECK_OK(lmt_hub_download("lmtune-test/sharded-gpt2", "model-00001-of-00002.safetensors", &o, &path));
    char want[1024];
    fixture(want, sizeof want, "models--lmtune-test--sharded-gpt2", "2c952aba660ae0dc7190aad72d025b0485a79d45",
            "model-00001-of-00002.safetensors");
    CHECK(path && same_bytes(want, path));
    free(path);
    char *log = hub_log(&H);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET ", "bytes=50000-", NULL}) == 1);
    free(log);
    /* the last byte never comes, five times over: fails, keeping what it has for the next run */
    CHECK(hub_control(&H, "reset=1&truncate_count=100"));
    CHECK(lmt_hub_download("lmtune-test/sharded-gpt2", "model-00002-of-00002.safetensors", &o, &path) == LMT_ERR_NETWORK);
    CHECK(strstr(lmt_last_error(), "model-00002-of-00002.safetensors") && strstr(lmt_last_error(), ".incomplete"));
    /* a run that died after 30000 bytes: the next one asks for the rest only */
    CHECK(hub_control(&H, "reset=1"));
    fixture(want, sizeof want, "models--lmtune-test--sharded-gpt2", "2c952aba660ae0dc7190aad72d025b0485a79d45",
            "model-00002-of-00002.safetensors");
    char *bytes = NULL, part[1024];
    size_t nbytes = 0;
    CHECK_OK(lmt_read_file(want, &bytes, &nbytes));
    cache_path(part, sizeof part, "models--lmtune-test--sharded-gpt2/blobs/"
               "0d8d8e345c0dcf3e9c12e14560300e1827396355fecb379872169d193fdcc6f6.incomplete");
    CHECK(nbytes > 30000 && size_of(part) == (int64_t)nbytes - 1);
    FILE *f = fopen(part, "wb");
    CHECK(f && fwrite(bytes, 1, 30000, f) == 30000);
    if (f) fclose(f);
    free(bytes);
    free(hub_log(&H));
    CHECK_OK(lmt_hub_download("lmtune-test/sharded-gpt2", "model-00002-of-00002.safetensors", &o, &path));
    CHECK(path && same_bytes(want, path));
    free(path);
    log = hub_log(&H);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET ", "bytes=30000-", NULL}) == 1);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET ", NULL}) == 1);
    free(log);
    CHECK(access(part, F_OK) != 0);
    /* corrupt bytes (sha256 mismatch): refused, fetched again */
    lmt_hub_options fresh = {.force_download = true};
    CHECK(hub_control(&H, "reset=1&corrupt_count=1"));
    free(hub_log(&H));
    CHECK_OK(lmt_hub_download(REPO, "model.safetensors", &fresh, &path));
    fixture(want, sizeof want, "models--lmtune-test--tiny-gpt2", MAIN, "model.safetensors");
    CHECK(path && same_bytes(want, path));
    free(path);
    log = hub_log(&H);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET /repos/", NULL}) == 2);
    free(log);
    /* corrupt every time: an error, and no blob kept */
    CHECK(hub_control(&H, "reset=1&corrupt_count=5"));
    CHECK(lmt_hub_download(REPO, "model.safetensors", &fresh, &path) == LMT_ERR_FORMAT);
    CHECK(strstr(lmt_last_error(), "sha256"));
    /* a short body (size mismatch) likewise */
    CHECK(hub_control(&H, "reset=1&truncate_count=1"));
    CHECK_OK(lmt_hub_download(REPO, "model.safetensors", &fresh, &path));
    CHECK(path && same_bytes(want, path));
    free(path);
    /* a damaged blob in the cache (wrong size) is fetched again */
    CHECK(hub_control(&H, "reset=1"));
    char blob[1024];
    cache_path(blob, sizeof blob, "models--lmtune-test--tiny-gpt2/blobs/3e375e4ef31099b702ce90da3e794227a3df3eaf2e5014d82e816a8a2163698a");
    CHECK(truncate(blob, 1000) == 0);
    CHECK_OK(lmt_hub_download(REPO, "model.safetensors", &o, &path));
    CHECK(path && same_bytes(want, path));
    free(path);
}

/* two processes fill one cache at once: both succeed, each blob is fetched once */
static void two_processes(void) {
    char cache[400];
    snprintf(cache, sizeof cache, "%s/cache2", H.dir);
    CHECK(hub_control(&H, "reset=1&slow_ms=100"));
    free(hub_log(&H));
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            lmt_hub_options o = {.cache_dir = cache};
            char *folder = NULL;
            _exit(lmt_hub_resolve_model("lmtune-test/sharded-gpt2", &o, &folder, NULL) == LMT_OK ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int st = 0;
        waitpid(kids[i], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK(hub_control(&H, "reset=1"));
    char *log = hub_log(&H);
    CHECK(log && hub_log_count(log, (const char *const[]){" GET /repos/", NULL}) == 2);   /* two shards, once each */
    free(log);
    char want[1024], got[1024];
    fixture(want, sizeof want, "models--lmtune-test--sharded-gpt2", "2c952aba660ae0dc7190aad72d025b0485a79d45",
            "model-00002-of-00002.safetensors");
    snprintf(got, sizeof got, "%s/models--lmtune-test--sharded-gpt2/snapshots/2c952aba660ae0dc7190aad72d025b0485a79d45/"
             "model-00002-of-00002.safetensors", cache);
    CHECK(same_bytes(want, got));
    /* the shards hold the tiny GPT-2 split in two: loaded, the same weights as the single file */
    snprintf(got, sizeof got, "%s/models--lmtune-test--sharded-gpt2/snapshots/2c952aba660ae0dc7190aad72d025b0485a79d45", cache);
    snprintf(want, sizeof want, "%s/cache/models--lmtune-test--tiny-gpt2/snapshots/" MAIN, H.dir);
    lmt_model *sharded = NULL, *single = NULL;
    CHECK_OK(lmt_model_load(got, &sharded));
    CHECK_OK(lmt_model_load(want, &single));
    if (sharded && single) {
        size_t n = lmt_model_num_params(single);
        CHECK(lmt_model_num_params(sharded) == n && n > 0);
        CHECK(!memcmp(lmt_model_params(sharded), lmt_model_params(single), n * sizeof(float)));
    }
    lmt_model_free(sharded);
    lmt_model_free(single);
}

static void errors(void) {
    char *folder = NULL, *path = NULL;
    lmt_hub_options o = {0};
    CHECK(lmt_hub_resolve_model("lmtune-test/no-such-repo", &o, &folder, NULL) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "repository not found") && strstr(lmt_last_error(), "lmtune-test/no-such-repo"));
    /* private: unknown without the token, found with it */
    CHECK(lmt_hub_resolve_model("lmtune-test/private-gpt2", &o, &folder, NULL) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "repository not found") && strstr(lmt_last_error(), "token"));
    o.token = HUB_TEST_TOKEN;
    CHECK_OK(lmt_hub_resolve_model("lmtune-test/private-gpt2", &o, &folder, NULL));
    free(folder);
    /* a token in the environment reaches the Hub but never the CDN (which refuses one: 400) */
    setenv("HF_TOKEN", HUB_TEST_TOKEN, 1);
    lmt_hub_options fresh = {.force_download = true};
    CHECK_OK(lmt_hub_download("lmtune-test/private-gpt2", "model.safetensors", &fresh, &path));
    free(path);
    unsetenv("HF_TOKEN");
    /* gated: 401 without a token, 403 with one */
    o.token = NULL;
    CHECK(lmt_hub_resolve_model("lmtune-test/gated-gpt2", &o, &folder, NULL) == LMT_ERR_ACCESS);
    CHECK(strstr(lmt_last_error(), "gated") && strstr(lmt_last_error(), "401"));
    o.token = HUB_TEST_TOKEN;
    CHECK(lmt_hub_resolve_model("lmtune-test/gated-gpt2", &o, &folder, NULL) == LMT_ERR_ACCESS);
    CHECK(strstr(lmt_last_error(), "gated") && strstr(lmt_last_error(), "403"));
    o.token = NULL;
    /* a file the repo lacks */
    CHECK(lmt_hub_download(REPO, "nope.json", &o, &path) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "nope.json") && strstr(lmt_last_error(), "no such file"));
    char got[1024];
    cache_path(got, sizeof got, "models--lmtune-test--tiny-gpt2/.no_exist/" MAIN "/nope.json");
    CHECK(access(got, F_OK) == 0);
    /* a renamed repo: the relative redirect is followed */
    CHECK_OK(lmt_hub_download("lmtune-test/old-gpt2", "config.json", &o, &path));
    free(path);
    /* the Hub failing: the cached copy, else the Hub's status */
    CHECK(hub_control(&H, "reset=1&fail_status=503&fail_count=100"));
    CHECK_OK(lmt_hub_download(REPO, "config.json", &o, &path));
    free(path);
    CHECK(lmt_hub_download("lmtune-test/bin-gpt2", "config.json", &o, &path) == LMT_ERR_NETWORK);
    CHECK(strstr(lmt_last_error(), "503"));
    /* slower than HF_HUB_ETAG_TIMEOUT: no answer, so the cache */
    CHECK(hub_control(&H, "reset=1&slow_ms=3000"));
    setenv("HF_HUB_ETAG_TIMEOUT", "1", 1);
    CHECK(lmt_hub_download("lmtune-test/bin-gpt2", "config.json", &o, &path) == LMT_ERR_NETWORK);
    CHECK(strstr(lmt_last_error(), "could not be reached") && strstr(lmt_last_error(), "timed out"));
    unsetenv("HF_HUB_ETAG_TIMEOUT");
    /* a transfer that stalls longer than HF_HUB_DOWNLOAD_TIMEOUT: given up (after the retries), nothing cached */
    /* (3 s of silence against a 1 s limit: curl checks the rate about once a second, so a margin) */
    CHECK(hub_control(&H, "reset=1&slow_ms=3000"));
    setenv("HF_HUB_DOWNLOAD_TIMEOUT", "1", 1);
    CHECK(lmt_hub_download("lmtune-test/bin-gpt2", "pytorch_model.bin", &o, &path) == LMT_ERR_NETWORK);
    CHECK(strstr(lmt_last_error(), "pytorch_model.bin") && strstr(lmt_last_error(), "too slow"));
    unsetenv("HF_HUB_DOWNLOAD_TIMEOUT");
    /* the same answers within the default 10 s: downloaded */
    CHECK_OK(lmt_hub_download("lmtune-test/bin-gpt2", "pytorch_model.bin", &o, &path));
    free(path);
    CHECK(hub_control(&H, "reset=1"));
    /* not a Hub at all (no X-Repo-Commit): named as such */
    /* pytorch_model.bin when there is no safetensors */
    CHECK_OK(lmt_hub_resolve_model("lmtune-test/bin-gpt2", &o, &folder, NULL));
    snprintf(got, sizeof got, "%s/pytorch_model.bin", folder ? folder : "");
    CHECK(size_of(got) > 0);
    free(folder);
    /* bad names */
    CHECK(lmt_hub_download("a/b/c", "config.json", &o, &path) == LMT_ERR_ARG);
    CHECK(lmt_hub_download(REPO, "../escape", &o, &path) == LMT_ERR_ARG);
}

int main(void) {
    if (!hub_start(&H, "hubdl")) { fprintf(stderr, "cannot start %s\n", LMT_HUB_SERVER); return 1; }
    first_download();
    cache_only();
    revisions();
    resume_and_verify();
    two_processes();
    errors();
    hub_finish(&H);
    return lmt_test_finish();
}
