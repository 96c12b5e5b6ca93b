/* The offline half of upload_folder (hub/upload.h): base64 (RFC 4648's
 * test vectors), huggingface_hub's file filtering (filter_repo_objects with
 * DEFAULT_IGNORE_PATTERNS, '*' crossing '/'), the file list's prefix,
 * the preupload request and answer, the commit's NDJSON. Expected values
 * are written out by hand: base64 from the RFC, sha256("hello") from
 * `printf hello | sha256sum` (and zz). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "core/base64.h"
#include "core/fs.h"
#include "core/util.h"
#include "hub/digest.h"
#include "hub/upload.h"

#define HELLO_SHA256 "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static void check_b64(const char *in, const char *want) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_base64_append(&b, in, strlen(in));
    CHECK_STREQ(b.data ? b.data : "", want);
    lmt_sb_free(&b);
}

static void put(const char *dir, const char *rel, const char *text) {
    char *p = lmt_path_join(dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    lmt_mkdirs(p);
    *slash = '/';
    CHECK_OK(lmt_write_file_atomic(p, text, strlen(text)));
    free(p);
}

int main(void) {
    char probe[65];   /* built with LMT_HUB=OFF: no libcrypto, no uploads */
    if (lmt_sha256_file("/dev/null", probe) == LMT_ERR_UNSUPPORTED) {
        printf("skipped: built without the Hub (LMT_HUB=OFF)\n");
        return 77;
    }
    /* RFC 4648 section 10 */
    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");
    {
        unsigned char bin[3] = {0xfb, 0xff, 0xbf};
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_base64_append(&b, bin, 3);
        CHECK_STREQ(b.data, "+/+/");
        lmt_sb_free(&b);
    }

    /* filter_repo_objects */
    const char *const none[] = {NULL};
    CHECK(lmt_hub_path_allowed("model.safetensors", NULL, NULL));
    CHECK(!lmt_hub_path_allowed(".git/HEAD", NULL, NULL));
    CHECK(!lmt_hub_path_allowed("sub/.git/config", NULL, NULL));
    CHECK(!lmt_hub_path_allowed(".cache/huggingface/upload/x.lock", NULL, NULL));
    CHECK(lmt_hub_path_allowed(".gitattributes", NULL, none));
    const char *const json[] = {"*.json", NULL}, *const logs[] = {"logs/", NULL}, *const under[] = {"_*", "checkpoint-*", NULL};
    CHECK(lmt_hub_path_allowed("config.json", json, NULL));
    CHECK(lmt_hub_path_allowed("a/b/config.json", json, NULL));   /* '*' crosses '/' as in fnmatch */
    CHECK(!lmt_hub_path_allowed("model.safetensors", json, NULL));
    CHECK(!lmt_hub_path_allowed("logs/x/y.txt", NULL, logs));     /* "logs/" means everything under logs */
    CHECK(lmt_hub_path_allowed("logs.txt", NULL, logs));
    CHECK(!lmt_hub_path_allowed("checkpoint-2/model.safetensors", NULL, under));
    CHECK(!lmt_hub_path_allowed("_tmp", NULL, under));
    CHECK(lmt_hub_path_allowed("config.json", NULL, under));

    char tmp[] = "/tmp/lmt-upload-body-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    put(tmp, "hello.txt", "hello");
    put(tmp, "a-b", "x");
    put(tmp, "a/z.txt", "zz");
    put(tmp, "empty.bin", "");
    put(tmp, ".git/HEAD", "ref: refs/heads/main\n");
    put(tmp, ".cache/huggingface/upload/hello.txt.metadata", "m");
    lmt_upload_item *it = NULL;
    size_t n = 0;
    CHECK_OK(lmt_hub_upload_list(tmp, "/models/v1/", NULL, NULL, &it, &n));
    /* lmt_hub_walk_files' (strcmp) order; a commit's order means nothing to the Hub */
    CHECK(n == 4);
    if (n == 4) {
        CHECK_STREQ(it[0].path, "models/v1/a-b");
        CHECK_STREQ(it[1].path, "models/v1/a/z.txt");
        CHECK_STREQ(it[2].path, "models/v1/empty.bin");
        CHECK_STREQ(it[3].path, "models/v1/hello.txt");
        CHECK(it[3].size == 5);
        CHECK_STREQ(it[3].sha256, HELLO_SHA256);
    }
    lmt_hub_upload_items_free(it, n);
    /* a .cache folder that is not huggingface's cannot be committed */
    put(tmp, ".cache/other/x", "x");
    CHECK(lmt_hub_upload_list(tmp, NULL, NULL, NULL, &it, &n) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), ".cache/") != NULL);
    const char *const no_cache[] = {".cache/", NULL}, *const txt[] = {"*.txt", NULL};
    CHECK_OK(lmt_hub_upload_list(tmp, ".", txt, no_cache, &it, &n));
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STREQ(it[0].path, "a/z.txt");
        CHECK_STREQ(it[1].path, "hello.txt");
    }

    /* preupload: path, base64 of the first 512 bytes, size */
    lmt_strbuf b;
    lmt_sb_init(&b);
    CHECK_OK(lmt_hub_preupload_body(it + 1, 1, &b));
    CHECK_STREQ(b.data, "{\"files\": [{\"path\": \"hello.txt\", \"sample\": \"aGVsbG8=\", \"size\": 5}]}");
    lmt_sb_free(&b);
    const char *answer = "{\"files\": [{\"path\": \"a/z.txt\", \"uploadMode\": \"lfs\", \"shouldIgnore\": false, \"oid\": null},"
                         " {\"path\": \"hello.txt\", \"uploadMode\": \"regular\", \"shouldIgnore\": false}]}";
    CHECK_OK(lmt_hub_preupload_apply(answer, strlen(answer), it, n));
    CHECK(n == 2 && it[0].lfs && !it[1].lfs && !it[0].skip && !it[0].remote_oid);
    const char *xet = "{\"files\": [{\"path\": \"a/z.txt\", \"uploadMode\": \"xet\", \"shouldIgnore\": false}]}";
    CHECK(lmt_hub_preupload_apply(xet, strlen(xet), it, 1) == LMT_ERR_UNSUPPORTED);
    const char *missing = "{\"files\": []}";
    CHECK(lmt_hub_preupload_apply(missing, strlen(missing), it, 1) == LMT_ERR_FORMAT);
    CHECK(strstr(lmt_last_error(), "a/z.txt") != NULL);

    /* the commit: header, lfsFile (sha256 of "zz" from sha256sum), file (base64 of "hello") */
    CHECK_OK(lmt_hub_preupload_apply(answer, strlen(answer), it, n));
    lmt_sb_init(&b);
    CHECK_OK(lmt_hub_commit_body(it, n, "Upload \"x\"", NULL, &b));
    const char *want =
        "{\"key\": \"header\", \"value\": {\"summary\": \"Upload \\\"x\\\"\", \"description\": \"\"}}\n"
        "{\"key\": \"lfsFile\", \"value\": {\"path\": \"a/z.txt\", \"algo\": \"sha256\", \"oid\": "
        "\"4a60bf7d4bc1e485744cf7e8d0860524752fca1ce42331be7c439fd23043f151\", \"size\": 2}}\n"
        "{\"key\": \"file\", \"value\": {\"content\": \"aGVsbG8=\", \"path\": \"hello.txt\", \"encoding\": \"base64\"}}\n";
    CHECK_STREQ(b.data ? b.data : "", want);
    lmt_sb_free(&b);
    it[1].skip = true;   /* shouldIgnore / unchanged: not in the commit */
    lmt_sb_init(&b);
    CHECK_OK(lmt_hub_commit_body(it, n, "m", "d", &b));
    CHECK(b.data && !strstr(b.data, "hello.txt") && strstr(b.data, "\"description\": \"d\""));
    lmt_sb_free(&b);
    lmt_hub_upload_items_free(it, n);
    lmt_rm_rf(tmp);
    return lmt_test_finish();
}
