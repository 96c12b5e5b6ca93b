/* HF model folders in and out, against what transformers saved:
 * - loading from model.safetensors and from pytorch_model.bin gives tensors
 *   identical to transformers' (bit for bit), static positions included;
 * - saving writes the files transformers writes (byte for byte) and re-reads
 *   to the same tensors;
 * - bare-model checkpoints and missing heads behave as from_pretrained. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "model_files.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/model.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/models/"

static int warnings;
static void count_log(int level, const char *msg, void *u) { (void)msg; (void)u; if (level == LMT_LOG_WARN) warnings++; }

static void check_arch(const char *arch, const char *tmp) {
    char dir[512], path[640], bin[640], only_bin[640], out[640], a[700], b[700];
    snprintf(dir, sizeof dir, FX "%s", arch);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(bin, sizeof bin, "%s/pytorch_model.bin", dir);
    lmt_tensor_file *st = NULL, *pt = NULL;
    CHECK_OK(lmt_tensor_file_open(path, &st));
    CHECK_OK(lmt_tensor_file_open(bin, &pt));   /* torch state_dict: also holds tied and static tensors */
    if (!st || !pt) { lmt_tensor_file_free(st); lmt_tensor_file_free(pt); return; }

    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    if (m) {
        CHECK_MSG(compare_to(m, pt, false) == 0, "%s: loaded from model.safetensors", arch);
        CHECK(m->report.n_missing == 0 && m->report.n_unused == 0);
        /* num_parameters() as transformers reports it */
        lmt_json *ref;
        snprintf(a, sizeof a, "%s/reference.json", dir);
        if (lmt_json_parse_file(a, &ref) == LMT_OK) {
            const lmt_json *np = lmt_json_get(ref, "num_parameters");
            CHECK_MSG(np && (size_t)np->i64 == lmt_model_num_params(m), "%s: %zu parameters", arch, lmt_model_num_params(m));
            lmt_json_free(ref);
        }
        /* save: the same bytes transformers wrote */
        snprintf(out, sizeof out, "%s/%s-out", tmp, arch);
        CHECK_OK(lmt_model_save(m, out));
        const char *files[] = {"model.safetensors", "config.json", "generation_config.json"};
        for (int k = 0; k < 3; k++) {
            snprintf(a, sizeof a, "%s/%s", dir, files[k]);
            snprintf(b, sizeof b, "%s/%s", out, files[k]);
            if (!lmt_file_exists(a)) { CHECK(!lmt_file_exists(b)); continue; }
            CHECK_MSG(files_equal(a, b), "%s: %s differs from the one transformers saved", arch, files[k]);
        }
        lmt_model_free(m);
        /* and what we wrote reads back to the same tensors */
        m = NULL;
        CHECK_OK(lmt_model_load(out, &m));
        if (m) CHECK_MSG(compare_to(m, pt, false) == 0, "%s: re-read after save", arch);
        lmt_model_free(m);
    }
    /* from pytorch_model.bin alone */
    snprintf(only_bin, sizeof only_bin, "%s/%s-bin", tmp, arch);
    CHECK_OK(lmt_mkdirs(only_bin));
    run_cmd("cp %s/config.json %s/", dir, only_bin);
    run_cmd("cp %s/pytorch_model.bin %s/", dir, only_bin);
    m = NULL;
    CHECK_OK(lmt_model_load(only_bin, &m));
    if (m) {
        CHECK_MSG(compare_to(m, pt, false) == 0, "%s: loaded from pytorch_model.bin", arch);
        CHECK(m->report.n_missing == 0 && m->report.n_unused == 0);
        CHECK(strstr(m->report.weights_file, "pytorch_model.bin") != NULL);
    }
    lmt_model_free(m);
    lmt_tensor_file_free(st);
    lmt_tensor_file_free(pt);
}

static void check_bad_folder(const char *tmp, const char *name, const char *config, const char *weights_from,
                             lmt_status want, const char *needle) {
    char dir[512], p[700];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    lmt_mkdirs(dir);
    if (config) {
        snprintf(p, sizeof p, "%s/config.json", dir);
        lmt_write_file_atomic(p, config, strlen(config));
    }
    if (weights_from) run_cmd("cp %s %s/", weights_from, dir);
    lmt_model *m = NULL;
    lmt_status s = lmt_model_load(dir, &m);
    CHECK_MSG(s == want && m == NULL, "%s: status %d", name, s);
    CHECK_MSG(strstr(lmt_last_error(), dir) && strstr(lmt_last_error(), needle), "%s: %s", name, lmt_last_error());
    lmt_model_free(m);
}

int main(void) {
    lmt_set_log(count_log, NULL);
    char tmp[] = "/tmp/lmt-mf-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    const char *archs[] = {"gpt2", "bert", "roberta", "distilbert", "marian"};
    for (int i = 0; i < 5; i++) check_arch(archs[i], tmp);

    /* GPT2Model checkpoint (no "transformer." prefix) into GPT2LMHeadModel:
     * transformers reports nothing missing or unexpected. */
    lmt_model *m = NULL;
    warnings = 0;
    CHECK_OK(lmt_model_load(FX "gpt2-base", &m));
    if (m) {
        CHECK(m->report.added_prefix && m->report.n_missing == 0 && m->report.n_unused == 0 && warnings == 0);
        lmt_tensor_file *st = NULL;
        CHECK_OK(lmt_tensor_file_open(FX "gpt2-base/model.safetensors", &st));
        const lmt_tensor_entry *e = st ? lmt_tensor_file_find(st, "wte.weight") : NULL;
        CHECK(e && !memcmp(e->data, lmt_model_tensor(m, "lm_head.weight"), e->nbytes));  /* tied head */
        lmt_tensor_file_free(st);
    }
    lmt_model_free(m);

    /* BertModel checkpoint into BertForMaskedLM: a fresh head with a warning,
     * the pooler unused - the keys transformers reports (aliases resolved). */
    m = NULL;
    warnings = 0;
    CHECK_OK(lmt_model_load(FX "bert-nohead", &m));
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(FX "bert-nohead/reference.json", &ref));
    if (m && ref) {
        CHECK(warnings == 1);
        const lmt_json *miss = lmt_json_get(ref, "missing_keys"), *unexp = lmt_json_get(ref, "unexpected_keys");
        size_t canonical = 0;
        for (size_t i = 0; i < miss->len; i++) {
            long idx = lmt_layout_find(&m->layout, miss->items[i].str);
            CHECK_MSG(idx >= 0, "unknown key %s", miss->items[i].str);
            bool listed = false;
            for (size_t k = 0; k < m->report.n_missing; k++) listed = listed || !strcmp(m->report.missing[k], m->layout.params[idx].name);
            CHECK_MSG(listed, "%s not reported missing", miss->items[i].str);
            if (!strcmp(m->layout.params[idx].name, miss->items[i].str)) canonical++;
        }
        CHECK(m->report.n_missing == canonical);
        CHECK(m->report.n_unused == unexp->len);
        for (size_t i = 0; i < unexp->len && i < m->report.n_unused; i++) CHECK_STREQ(m->report.unused[i], unexp->items[i].str);
        /* fresh head initialised as HF does: LayerNorm 1/0, bias 0 */
        const float *lnw = lmt_model_tensor(m, "cls.predictions.transform.LayerNorm.weight");
        const float *bias = lmt_model_tensor(m, "cls.predictions.bias");
        CHECK(lnw && lnw[0] == 1.0f && bias && bias[0] == 0.0f);
    }
    lmt_json_free(ref);
    lmt_model_free(m);

    /* broken folders: every error names the folder's file and the problem */
    char gpt2_st[512];
    snprintf(gpt2_st, sizeof gpt2_st, FX "gpt2/model.safetensors");
    check_bad_folder(tmp, "no-config", NULL, gpt2_st, LMT_ERR_NOT_FOUND, "config.json: missing");
    check_bad_folder(tmp, "no-weights", "{\"model_type\": \"gpt2\", \"n_embd\": 32, \"n_head\": 4}", NULL, LMT_ERR_NOT_FOUND,
                     "no model.safetensors, model.safetensors.index.json or pytorch_model.bin");
    check_bad_folder(tmp, "wrong-shape", "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_head\": 4, \"n_layer\": 2, \"vocab_size\": 96, \"n_positions\": 32}",
                     gpt2_st, LMT_ERR_FORMAT, "c_attn.bias\" has shape [96] but");
    check_bad_folder(tmp, "bad-json", "{\"model_type\": \"gpt2\",", gpt2_st, LMT_ERR_FORMAT, "config.json: invalid JSON");
    check_bad_folder(tmp, "bad-type", "{\"model_type\": \"gpt2\", \"n_layer\": \"two\"}", gpt2_st, LMT_ERR_FORMAT,
                     "field \"n_layer\" must be an integer");
    check_bad_folder(tmp, "unknown-type", "{\"model_type\": \"t5\"}", gpt2_st, LMT_ERR_UNSUPPORTED, "model_type \"t5\"");
    CHECK(lmt_model_load(FX "does-not-exist", &m) == LMT_ERR_NOT_FOUND && strstr(lmt_last_error(), "does-not-exist"));

    /* transformers' verdict on what lmtune wrote (tools/reference/roundtrip.sh) */
    lmt_json *rt = NULL;
    CHECK_OK(lmt_json_parse_file(FX "roundtrip.json", &rt));
    if (rt) {
        CHECK(rt->type == LMT_JSON_ARRAY && rt->len == 12);   /* 5 archs x 2 formats + 2 bare-model checkpoints */
        for (size_t i = 0; i < rt->len; i++) {
            const lmt_json *ok = lmt_json_get(lmt_json_get(&rt->items[i], "verdict"), "ok");
            CHECK(ok && ok->type == LMT_JSON_BOOL && ok->boolean);
        }
        lmt_json_free(rt);
    }

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
