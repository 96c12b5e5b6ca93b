/* hub/cache and hub/session without a network: where the cache is (the
 * environment variables in huggingface_hub's order), repo folder names,
 * repo id checks, refs, relative symlinks, .no_exist, the token file, and
 * resolving a repo id offline from a cache laid out as huggingface_hub lays
 * it out. Expected values come from huggingface_hub's documentation and
 * source (constants.py, file_download.py: the "models--julien-c--
 * EsperBERTo-small" example, the "../../blobs/<etag>" links), not from lmtune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fs.h"
#include "core/util.h"
#include "harness.h"
#include "hub/cache.h"
#include "hub/session.h"
#include "lmtune/hub.h"

static void put(const char *path, const char *text) {
    char *dir = lmt_strdup(path);
    *strrchr(dir, '/') = '\0';
    lmt_mkdirs(dir);
    free(dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) { fputs(text, f); fclose(f); }
}

static void check_cache_dir(const char *expected) {
    char *d = lmt_hub_cache_dir(NULL);
    CHECK_STREQ(d, expected);
    free(d);
}

static void env_order(void) {
    const char *vars[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"};
    for (size_t i = 0; i < 4; i++) unsetenv(vars[i]);
    setenv("HOME", "/home/u", 1);
    check_cache_dir("/home/u/.cache/huggingface/hub");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    check_cache_dir("/xdg/huggingface/hub");
    setenv("HF_HOME", "~/hfhome", 1);   /* expanduser */
    check_cache_dir("/home/u/hfhome/hub");
    setenv("HUGGINGFACE_HUB_CACHE", "/legacy", 1);
    check_cache_dir("/legacy");
    setenv("HF_HUB_CACHE", "/new", 1);
    check_cache_dir("/new");
    lmt_hub_options o = {.cache_dir = "/given"};
    char *d = lmt_hub_cache_dir(&o);
    CHECK_STREQ(d, "/given");
    free(d);
    for (size_t i = 0; i < 4; i++) unsetenv(vars[i]);
}

static void names(void) {
    char *f = lmt_hub_repo_folder("julien-c/EsperBERTo-small", LMT_REPO_MODEL);
    CHECK_STREQ(f, "models--julien-c--EsperBERTo-small");
    free(f);
    f = lmt_hub_repo_folder("distilgpt2", LMT_REPO_MODEL);
    CHECK_STREQ(f, "models--distilgpt2");
    free(f);
    f = lmt_hub_repo_folder("Salesforce/wikitext", LMT_REPO_DATASET);
    CHECK_STREQ(f, "datasets--Salesforce--wikitext");
    free(f);
    /* huggingface_hub's validate_repo_id */
    CHECK(lmt_hub_valid_repo_id("distilgpt2"));
    CHECK(lmt_hub_valid_repo_id("Helsinki-NLP/opus-mt-en-fr"));
    CHECK(lmt_hub_valid_repo_id("HuggingFaceTB/SmolLM2-135M"));
    CHECK(!lmt_hub_valid_repo_id("a/b/c"));
    CHECK(!lmt_hub_valid_repo_id("org--name"));
    CHECK(!lmt_hub_valid_repo_id("org/.."));
    CHECK(!lmt_hub_valid_repo_id("/abs"));
    CHECK(!lmt_hub_valid_repo_id("name-"));
    CHECK(!lmt_hub_valid_repo_id("with space"));
    CHECK(!lmt_hub_valid_repo_id(""));
    CHECK(lmt_hub_is_commit("0123456789abcdef0123456789abcdef01234567"));
    CHECK(!lmt_hub_is_commit("0123456789ABCDEF0123456789abcdef01234567"));
    CHECK(!lmt_hub_is_commit("main"));
    CHECK(lmt_hub_valid_filename("config.json"));
    CHECK(lmt_hub_valid_filename("onnx/model.onnx"));
    CHECK(!lmt_hub_valid_filename("../x"));
    CHECK(!lmt_hub_valid_filename("a/../x"));
    CHECK(!lmt_hub_valid_filename("/etc/passwd"));
    CHECK(!lmt_hub_valid_filename("dir/"));
}

static void layout(const char *tmp) {
    char storage[1024], p[1200], link[256];
    snprintf(storage, sizeof storage, "%s/models--org--name", tmp);
    const char *commit = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    CHECK(lmt_hub_ref_read(storage, "main") == NULL);
    CHECK_OK(lmt_hub_ref_write(storage, "main", commit));
    snprintf(p, sizeof p, "%s/refs/main", storage);
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(lmt_read_file(p, &data, &len));
    CHECK(len == 40 && !memcmp(data, commit, 40));   /* the bare hash, no newline, as huggingface_hub writes it */
    free(data);
    char *r = lmt_hub_ref_read(storage, "main");
    CHECK(r && !strcmp(r, commit));
    free(r);
    CHECK_OK(lmt_hub_ref_write(storage, commit, commit));   /* a commit is no ref */
    snprintf(p, sizeof p, "%s/refs/%s", storage, commit);
    CHECK(access(p, F_OK) != 0);
    /* snapshots link to blobs relatively: ../../blobs/E, one more ../ per subfolder */
    snprintf(p, sizeof p, "%s/blobs/etag1", storage);
    put(p, "{}");
    char *ptr = lmt_hub_pointer_path(storage, commit, "config.json");
    CHECK_OK(lmt_hub_link_blob(p, ptr));
    ssize_t n = readlink(ptr, link, sizeof link - 1);
    CHECK(n > 0);
    link[n > 0 ? n : 0] = '\0';
    CHECK_STREQ(link, "../../blobs/etag1");
    free(ptr);
    ptr = lmt_hub_pointer_path(storage, commit, "sub/dir/f.json");
    CHECK_OK(lmt_hub_link_blob(p, ptr));
    n = readlink(ptr, link, sizeof link - 1);
    link[n > 0 ? n : 0] = '\0';
    CHECK_STREQ(link, "../../../../blobs/etag1");
    CHECK(lmt_file_exists(ptr));
    free(ptr);
    CHECK(!lmt_hub_no_exist(storage, commit, "merges.txt"));
    lmt_hub_mark_no_exist(storage, commit, "merges.txt");
    CHECK(lmt_hub_no_exist(storage, commit, "merges.txt"));
    snprintf(p, sizeof p, "%s/.no_exist/%s/merges.txt", storage, commit);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 0);
    lmt_hub_tag_cache(tmp);
    snprintf(p, sizeof p, "%s/CACHEDIR.TAG", tmp);
    CHECK_OK(lmt_read_file(p, &data, &len));
    CHECK(len > 43 && !memcmp(data, "Signature: 8a477f597d28d172789f06886806bc55\n", 44));
    free(data);
}

static void token(const char *tmp) {
    char p[1024];
    snprintf(p, sizeof p, "%s/home/token", tmp);
    put(p, "hf_filetoken\n");
    snprintf(p, sizeof p, "%s/home", tmp);
    setenv("HF_HOME", p, 1);
    unsetenv("HF_TOKEN");
    unsetenv("HF_TOKEN_PATH");
    lmt_hub_session s;
    CHECK_OK(lmt_hub_session_init(&s, "org/name", NULL));
    CHECK(s.token && !strcmp(s.token, "hf_filetoken"));
    lmt_hub_session_free(&s);
    setenv("HF_TOKEN", "hf_envtoken", 1);
    CHECK_OK(lmt_hub_session_init(&s, "org/name", NULL));
    CHECK(s.token && !strcmp(s.token, "hf_envtoken"));
    char *url = lmt_hub_resolve_url(&s, "refs/pr/1", "a b/c.json");
    CHECK_STREQ(url, "https://huggingface.co/org/name/resolve/refs%2Fpr%2F1/a%20b/c.json");
    free(url);
    lmt_hub_session_free(&s);
    lmt_hub_options o = {.token = "", .repo_type = LMT_REPO_DATASET, .endpoint = "http://h:1/"};
    CHECK_OK(lmt_hub_session_init(&s, "org/name", &o));
    CHECK(s.token == NULL);
    url = lmt_hub_resolve_url(&s, "main", "train.jsonl");
    CHECK_STREQ(url, "http://h:1/datasets/org/name/resolve/main/train.jsonl");
    free(url);
    lmt_hub_session_free(&s);
    CHECK(lmt_hub_session_init(&s, "not valid", NULL) == LMT_ERR_ARG);
    unsetenv("HF_TOKEN");
    unsetenv("HF_HOME");
}

/* a cache as huggingface_hub leaves it, read with the network off */
static void offline(const char *tmp) {
    char cache[1024], p[1200];
    snprintf(cache, sizeof cache, "%s/offline-cache", tmp);
    const char *commit = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    char storage[1100];
    snprintf(storage, sizeof storage, "%s/models--lmtune-test--tiny", cache);
    CHECK_OK(lmt_hub_ref_write(storage, "main", commit));
    const char *files[] = {"config.json", "model.safetensors", "vocab.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/blobs/blob%d", storage, i);
        put(p, "x");
        char *ptr = lmt_hub_pointer_path(storage, commit, files[i]);
        CHECK_OK(lmt_hub_link_blob(p, ptr));
        free(ptr);
    }
    setenv("HF_HUB_OFFLINE", "1", 1);
    lmt_hub_options o = {.cache_dir = cache};
    char *folder = NULL;
    bool from_hub = false;
    CHECK_OK(lmt_hub_resolve_model("lmtune-test/tiny", &o, &folder, &from_hub));
    snprintf(p, sizeof p, "%s/snapshots/%s", storage, commit);
    CHECK(folder && !strcmp(folder, p) && from_hub);
    free(folder);
    char *path = NULL;
    CHECK_OK(lmt_hub_download("lmtune-test/tiny", "vocab.json", &o, &path));
    CHECK(path && strstr(path, "/snapshots/bbbb") && lmt_file_exists(path));
    free(path);
    /* not cached, offline: an error that says both */
    CHECK(lmt_hub_download("lmtune-test/tiny", "merges.txt", &o, &path) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "not in the cache") && strstr(lmt_last_error(), "offline"));
    /* recorded as absent */
    lmt_hub_mark_no_exist(storage, commit, "merges.txt");
    CHECK(lmt_hub_download("lmtune-test/tiny", "merges.txt", &o, &path) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "no such file"));
    /* an unknown revision, an unknown repo */
    o.revision = "v9";
    CHECK(lmt_hub_resolve_model("lmtune-test/tiny", &o, &folder, NULL) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "revision v9"));
    o.revision = NULL;
    CHECK(lmt_hub_resolve_model("lmtune-test/other", &o, &folder, NULL) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "lmtune-test/other"));
    /* a local folder wins, as it does for from_pretrained */
    CHECK_OK(lmt_hub_resolve_model(tmp, &o, &folder, &from_hub));
    CHECK(folder && !strcmp(folder, tmp) && !from_hub);
    free(folder);
    unsetenv("HF_HUB_OFFLINE");
    setenv("TRANSFORMERS_OFFLINE", "yes", 1);
    CHECK(lmt_hub_download("lmtune-test/tiny", "tokenizer.json", &o, &path) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "offline"));
    unsetenv("TRANSFORMERS_OFFLINE");
}

int main(void) {
    char tmp[] = "/tmp/lmt-hubcache-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    env_order();
    names();
    layout(tmp);
    token(tmp);
    offline(tmp);
    lmt_rm_rf(tmp);
    return lmt_test_finish();
}
