/* The Hub's pure logic: filter_repo_objects' globs (snapshot_download
 * --include / --exclude), fsspec globs and the `datasets` split patterns of
 * dataset repos, and scan_cache_dir on a cache tree built here. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "core/error.h"
#include "core/util.h"
#include "hub/cache_scan.h"
#include "hub/dataset_files.h"
#include "hub/repo_files.h"

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_filter(void) {
    CHECK(lmt_hub_filter_match("config.json", NULL, NULL));
    CHECK(lmt_hub_filter_match("config.json", L("*.json"), NULL));
    CHECK(lmt_hub_filter_match("sub/dir/a.json", L("*.json"), NULL));           /* '*' crosses '/' */
    CHECK(lmt_hub_filter_match("data/sub/file.json", L("data/*.json"), NULL));
    CHECK(!lmt_hub_filter_match("model.safetensors", L("*.json"), NULL));
    CHECK(!lmt_hub_filter_match("tokenizer.json", L("*.json"), L("tokenizer*")));
    CHECK(lmt_hub_filter_match("onnx/model.onnx", L("onnx/"), NULL));           /* "dir/" gets a "*" */
    CHECK(!lmt_hub_filter_match("onnx.txt", L("onnx/"), NULL));
    CHECK(!lmt_hub_filter_match("onnx/model.onnx", NULL, L("onnx/")));
    CHECK(lmt_hub_filter_match("a/b.bin", L("a\\*.bin"), NULL));                /* '\\' is a separator */
    CHECK(!lmt_hub_filter_match("Config.json", L("config.json"), NULL));        /* case-sensitive */
    CHECK(lmt_hub_filter_match(".gitattributes", L("*"), NULL));                /* no hidden-file rule */
    CHECK(!lmt_hub_filter_match(".gitattributes", NULL, L(".*")));
    CHECK(lmt_hub_filter_match("x[1].txt", L("x[[]1].txt"), NULL));
}

static void test_glob(void) {
    CHECK(lmt_hub_glob_match("**/train[-._ 0-9]*", "train.jsonl"));
    CHECK(lmt_hub_glob_match("**/train[-._ 0-9]*", "data/train-00000.csv"));
    CHECK(!lmt_hub_glob_match("**/train[-._ 0-9]*", "trainer.csv"));
    CHECK(lmt_hub_glob_match("**/*[-._ 0-9]train[-._ 0-9]*", "my_train.csv"));
    CHECK(!lmt_hub_glob_match("*.csv", "a/b.csv"));                             /* '*' stays in its folder */
    CHECK(lmt_hub_glob_match("**/train/**", "train/a.json"));
    CHECK(lmt_hub_glob_match("**/train/**", "x/train/y/a.json"));
    CHECK(!lmt_hub_glob_match("**/train/**", "train"));
}

static void check_split(const lmt_hub_data_files *d, const char *split, const char *first, size_t n) {
    const lmt_hub_names *f = lmt_hub_data_files_split(d, split);
    CHECK_MSG(f && f->n == n && (!first || !strcmp(f->v[0], first)), "split %s: %zu files, first %s", split, f ? f->n : 0,
              f && f->n ? f->v[0] : "-");
}

static void test_splits(void) {
    lmt_hub_data_files d;
    CHECK_OK(lmt_hub_dataset_data_files(L(".gitattributes", "README.md", "train.jsonl", "validation.jsonl", "test.jsonl"), 5, NULL, "t", &d));
    CHECK(d.n == 3 && !strcmp(d.format, "json") && d.supported);
    check_split(&d, "train", "train.jsonl", 1);
    check_split(&d, "validation", "validation.jsonl", 1);
    check_split(&d, "test", "test.jsonl", 1);
    CHECK(!strcmp(d.splits[0].name, "train") && !strcmp(d.splits[1].name, "validation"));
    lmt_hub_data_files_free(&d);
    /* keywords: training / dev / eval, next to separators */
    CHECK_OK(lmt_hub_dataset_data_files(L("my_training.csv", "x-dev.csv", "eval.csv", "notes.md"), 4, NULL, "t", &d));
    check_split(&d, "train", "my_training.csv", 1);
    check_split(&d, "validation", "x-dev.csv", 1);
    check_split(&d, "test", "eval.csv", 1);
    CHECK(!strcmp(d.format, "csv"));
    lmt_hub_data_files_free(&d);
    /* folders named after the split win over file names */
    CHECK_OK(lmt_hub_dataset_data_files(L("train/a.txt", "train/b.txt", "val/test.txt"), 3, NULL, "t", &d));
    check_split(&d, "train", "train/a.txt", 2);
    check_split(&d, "validation", "val/test.txt", 1);
    CHECK(!lmt_hub_data_files_split(&d, "test"));
    lmt_hub_data_files_free(&d);
    /* sharded: data/{split}-NNNNN-of-NNNNN */
    CHECK_OK(lmt_hub_dataset_data_files(L("data/train-00000-of-00002.jsonl", "data/train-00001-of-00002.jsonl",
                                          "data/extra-00000-of-00001.jsonl"), 3, NULL, "t", &d));
    check_split(&d, "train", "data/train-00000-of-00002.jsonl", 2);
    check_split(&d, "extra", "data/extra-00000-of-00001.jsonl", 1);
    lmt_hub_data_files_free(&d);
    /* no split names: everything is train; hidden files and __ folders are not data */
    CHECK_OK(lmt_hub_dataset_data_files(L("corpus.txt", "more/other.txt", ".hidden/x.txt", "__pycache__/y.txt"), 4, NULL, "t", &d));
    check_split(&d, "train", "corpus.txt", 2);
    CHECK(d.n == 1);
    lmt_hub_data_files_free(&d);
    /* a config name is a folder */
    CHECK_OK(lmt_hub_dataset_data_files(L("README.md", "en-fr/train.jsonl", "plain/train.jsonl", "plain/validation.jsonl"), 4, "plain", "t", &d));
    check_split(&d, "train", "plain/train.jsonl", 1);
    check_split(&d, "validation", "plain/validation.jsonl", 1);
    lmt_hub_data_files_free(&d);
    /* the most common format decides; other files drop out */
    CHECK_OK(lmt_hub_dataset_data_files(L("train.parquet", "validation.parquet", "train.csv"), 3, NULL, "t", &d));
    CHECK(!strcmp(d.format, "parquet") && !d.supported);
    check_split(&d, "train", "train.parquet", 1);
    lmt_hub_data_files_free(&d);
    /* a loading script and no data */
    CHECK(lmt_hub_dataset_data_files(L("README.md", "squad.py"), 2, NULL, "org/squad", &d) == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "org/squad") && strstr(lmt_last_error(), "script"));
    CHECK(lmt_hub_dataset_data_files(L("plain/train.jsonl"), 1, "nope", "t", &d) == LMT_ERR_NOT_FOUND);
    lmt_clear_error();
}

static void put(const char *root, const char *rel, const char *text) {
    char *p = lmt_path_join(root, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    lmt_mkdirs(p);
    *slash = '/';
    lmt_write_file_atomic(p, text, strlen(text));
    free(p);
}
static void link_to(const char *root, const char *rel, const char *target) {
    char *p = lmt_path_join(root, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    lmt_mkdirs(p);
    *slash = '/';
    CHECK(symlink(target, p) == 0);
    free(p);
}

#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"

static void test_scan(void) {
    char tmp[] = "/tmp/lmt_hub_scan_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    const char *m = "models--org--tiny";
    char base[600];
    snprintf(base, sizeof base, "%s/%s", tmp, m);
    put(base, "blobs/aaa", "12345");        /* 5 bytes, in both revisions */
    put(base, "blobs/bbb", "1234567890");   /* 10 bytes */
    link_to(base, "snapshots/" C1 "/config.json", "../../blobs/aaa");
    link_to(base, "snapshots/" C1 "/sub/w.bin", "../../../blobs/bbb");
    link_to(base, "snapshots/" C2 "/config.json", "../../blobs/aaa");
    put(base, "refs/main", C1);
    put(base, "refs/v1", C2);
    put(tmp, ".locks/models--org--tiny/aaa.lock", "");
    put(tmp, "datasets--org--data/blobs/ccc", "abc");
    link_to(tmp, "datasets--org--data/snapshots/" C1 "/train.txt", "../../blobs/ccc");
    put(tmp, "datasets--org--data/refs/main", C1);
    /* corrupted: no snapshots; a ref to a missing commit; a broken link; not a cache folder */
    put(tmp, "models--org--nosnap/refs/main", C1);
    put(tmp, "models--org--badref/refs/main", C2);
    link_to(tmp, "models--org--badref/snapshots/" C1 "/x", "../../blobs/none");
    put(tmp, "junk/file", "x");
    put(tmp, "CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n");
    lmt_hub_cache_info info;
    CHECK_OK(lmt_hub_scan_cache(tmp, &info));
    CHECK_MSG(info.n_repos == 2, "%zu repos", info.n_repos);
    CHECK_MSG(info.warnings.n == 3, "%zu warnings", info.warnings.n);
    const lmt_hub_cached_repo *r = lmt_hub_cache_find(&info, "model/org/tiny");
    CHECK(r && !strcmp(r->repo_id, "org/tiny") && !strcmp(r->repo_type, "model"));
    if (r) {
        CHECK(r->size_on_disk == 15 && r->n_files == 2 && r->n_revisions == 2);
        CHECK(!strcmp(r->revisions[0].commit, C1) && r->revisions[0].size_on_disk == 15 && r->revisions[0].n_files == 2);
        CHECK(r->revisions[0].refs.n == 1 && !strcmp(r->revisions[0].refs.v[0], "main"));
        CHECK(r->revisions[1].size_on_disk == 5 && !strcmp(r->revisions[1].refs.v[0], "v1"));
    }
    CHECK(info.n_repos == 2 && !strcmp(info.repos[0].cache_id, "dataset/org/data"));   /* by type, then id */
    CHECK(info.size_on_disk == 18);
    bool broken = false, missing = false, nosnap = false;
    for (size_t i = 0; i < info.warnings.n; i++) {
        broken |= strstr(info.warnings.v[i], "Blob missing") != NULL;
        missing |= strstr(info.warnings.v[i], "missing commit hashes") != NULL;
        nosnap |= strstr(info.warnings.v[i], "Snapshots dir doesn't exist") != NULL;
    }
    CHECK(broken && nosnap && !missing);   /* badref fails on its broken link first */
    CHECK(lmt_hub_cache_find(&info, "MODEL/ORG/TINY") == r);
    if (r) CHECK_OK(lmt_hub_cache_delete_repo(tmp, r));
    lmt_hub_cache_info_free(&info);
    CHECK(!lmt_file_exists(base));
    char locks[600];
    snprintf(locks, sizeof locks, "%s/.locks/%s", tmp, m);
    CHECK(!lmt_file_exists(locks));
    CHECK_OK(lmt_hub_scan_cache(tmp, &info));
    CHECK(info.n_repos == 1);
    lmt_hub_cache_info_free(&info);
    char nope[600];
    snprintf(nope, sizeof nope, "%s/nope", tmp);
    CHECK(lmt_hub_scan_cache(nope, &info) == LMT_ERR_NOT_FOUND);
    lmt_clear_error();
    char sizes[4][32];
    lmt_hub_format_size(0, sizes[0], 32);
    lmt_hub_format_size(999, sizes[1], 32);
    lmt_hub_format_size(1500, sizes[2], 32);
    lmt_hub_format_size(290000, sizes[3], 32);
    CHECK_STREQ(sizes[0], "0.0");
    CHECK_STREQ(sizes[1], "999.0");
    CHECK_STREQ(sizes[2], "1.5K");
    CHECK_STREQ(sizes[3], "290.0K");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_filter();
    test_glob();
    test_splits();
    test_scan();
    return lmt_test_finish();
}
