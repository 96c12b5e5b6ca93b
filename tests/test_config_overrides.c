/* run_clm.py's --model_type / --config_overrides and --keep_linebreaks
 * against transformers (tests/fixtures/models/config_overrides.json,
 * tools/reference/make_config_defaults.py): CONFIG_MAPPING[model_type]()
 * after update_from_string, key for key, and the refusals; then lmtune
 * train from a model type, and the blocks a text file gives with and
 * without its line breaks (datasets' text loader + GPT-2's tokenizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "cli_run.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/util.h"
#include "models/config_defaults.h"

static char *sorted_json(const lmt_json *j) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, j, 0, true);
    return lmt_sb_take(&b);
}

static void check_cases(const lmt_json *cases) {
    for (size_t i = 0; i < cases->len; i++) {
        const lmt_json *c = &cases->items[i];
        const char *mt = lmt_json_get(c, "model_type")->str, *ov = lmt_json_get(c, "overrides")->str;
        const lmt_json *want = lmt_json_get(c, "config"), *err = lmt_json_get(c, "error");
        lmt_json *got = NULL;
        lmt_status s = lmt_config_for_model_type(mt, ov, &got);
        if (err) {
            CHECK_MSG(s != LMT_OK, "%s %s: accepted; transformers: %s", mt, ov, err->str);
            if (s != LMT_OK) printf("%s %s: refused (%s); transformers: %s\n", mt, ov, lmt_last_error(), err->str);
            /* transformers' own words where it has clear ones */
            if (strstr(err->str, "isn't in the original config dict") || strstr(err->str, "can't derive true or false"))
                CHECK_MSG(strstr(lmt_last_error(), strstr(err->str, "isn't") ? "isn't in the original config dict" : "can't derive"),
                          "%s", lmt_last_error());
        } else {
            CHECK_OK(s);
            char *a = got ? sorted_json(got) : NULL, *b = sorted_json(want);
            CHECK_MSG(a && b && !strcmp(a, b), "%s %s:\n  ours         %s\n  transformers %s", mt, ov, a ? a : "-", b);
            free(a);
            free(b);
        }
        lmt_json_free(got);
    }
    lmt_json *none = NULL;
    CHECK(lmt_config_for_model_type("gpt9", NULL, &none) == LMT_ERR_UNSUPPORTED && strstr(lmt_last_error(), "gpt2, llama"));
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/models/config_overrides.json", &ref));
    if (!ref) return lmt_test_finish();
    check_cases(lmt_json_get(ref, "cases"));

    /* the command line: usage errors first (exit 2, nothing read) */
    CHECK(run("train --task clm --config_overrides n_layer=2 --train_file x --output_dir /tmp/lmt-unused") == 2 &&
          strstr(out, "--config_overrides needs --model_type"));
    CHECK(run("train --task clm --model_type gpt2 --model_name_or_path x --train_file x --output_dir /tmp/lmt-unused") == 2 &&
          strstr(out, "can't be used in combination"));
    CHECK(run("train --task clm --model_type gpt2 --config_overrides n_embdx=3 --train_file x --output_dir /tmp/lmt-unused") == 2 &&
          strstr(out, "n_embdx isn't in the original config dict"));
    CHECK(run("train --task clm --model_type gpt9 --train_file x --output_dir /tmp/lmt-unused") == 2 && strstr(out, "gpt2, llama"));
    if (!lmt_file_exists(LMT_SHARED_DATA "/tokenizers/gpt2/vocab.json")) {
        lmt_json_free(ref);
        return lmt_test_finish();
    }
    char tmp[] = "/tmp/lmt-model-type-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    const lmt_json *kl = lmt_json_get(ref, "keep_linebreaks");
    char path[600];
    snprintf(path, sizeof path, "%s/train.txt", tmp);
    CHECK_OK(lmt_write_file_atomic(path, lmt_json_get(kl, "text")->str, lmt_json_get(kl, "text")->len));
#define FROM_TYPE "train --task clm --model_type gpt2 --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 --train_file %s " \
                  "--block_size 8 --per_device_train_batch_size 2 --max_steps 2 --logging_steps 1 --save_strategy no "
    /* run_clm.py's example: 10 is no multiple of GPT-2's default 12 heads, which transformers refuses too */
    CHECK(runf(FROM_TYPE "--config_overrides n_embd=10,n_layer=2 --output_dir %s/bad", path, tmp) != 0 && strstr(out, "not a multiple of the head count"));
    char blocks[2][64];
    snprintf(blocks[0], sizeof blocks[0], "train %lld blocks of 8", (long long)lmt_json_get(kl, "blocks_keep")->i64);
    snprintf(blocks[1], sizeof blocks[1], "train %lld blocks of 8", (long long)lmt_json_get(kl, "blocks_strip")->i64);
    CHECK_MSG(runf(FROM_TYPE "--config_overrides n_embd=16,n_layer=2,n_head=2,n_positions=64 --output_dir %s/run", path, tmp) == 0 &&
              strstr(out, blocks[0]) && strstr(out, "\"step\": 2"), "%s", out);
    CHECK_MSG(runf(FROM_TYPE "--config_overrides n_embd=16,n_head=2 --keep_linebreaks false --output_dir %s/strip", path, tmp) == 0 &&
              strstr(out, blocks[1]), "%s", out);
    lmt_json *saved = NULL;
    snprintf(path, sizeof path, "%s/run/config.json", tmp);
    CHECK_OK(lmt_json_parse_file(path, &saved));
    if (saved) {
        const lmt_json *e = lmt_json_get(saved, "n_embd"), *l = lmt_json_get(saved, "n_layer"), *p = lmt_json_get(saved, "n_positions");
        CHECK(e && e->i64 == 16 && l && l->i64 == 2 && p && p->i64 == 64);
    }
    lmt_json_free(saved);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    lmt_json_free(ref);
    return lmt_test_finish();
}
