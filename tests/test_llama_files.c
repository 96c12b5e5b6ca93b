/* Real checkpoints' files against transformers (tests/fixtures/llama-gen,
 * tools/reference/make_llama_gen_fixtures.py): a sharded fp32 checkpoint, a
 * bf16 one and a sharded fp16 one load and give transformers' logits; a bf16
 * checkpoint is saved back in bf16, and with max_shard_size its shards and
 * index are byte for byte what save_pretrained writes; --save_dtype
 * overrides; generation_config.json's several EOS ids; a missing shard and
 * an index naming a tensor no shard holds are refused naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/llama.h"
#include "models/model.h"
#include "model_files.h"

#define FXD LMT_SOURCE_DIR "/tests/fixtures/llama-gen/"

static void check_logits(const char *name, const lmt_json *ref) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXD "fp32-sharded", &m));
    lmt_model_free(m);
    char dir[300];
    snprintf(dir, sizeof dir, FXD "%s", name);
    m = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    const lmt_json *ids = lmt_json_get(ref, "logits_ids"), *want = lmt_json_get(lmt_json_get(ref, "logits"), name);
    if (!m || !ids || !want) { lmt_model_free(m); CHECK_MSG(0, "%s: no model or reference", name); return; }
    CHECK_MSG(m->report.n_missing == 0 && m->report.n_unused == 0, "%s: %zu missing, %zu unused", name, m->report.n_missing, m->report.n_unused);
    int T = (int)ids->len;
    int32_t tok[64];
    for (int i = 0; i < T; i++) tok[i] = (int32_t)ids->items[i].i64;
    lmt_llama *l = NULL;
    CHECK_OK(lmt_llama_create(m, 1, T, false, &l));
    if (l) {
        CHECK_OK(lmt_llama_forward(l, LMT_I32, tok, NULL, NULL, 1, T, false));
        double worst = 0, scale = 0;
        for (int t = 0; t < T; t++)
            for (int v = 0; v < l->V; v++) {
                double w = want->items[t].items[v].num;
                scale = fmax(scale, fabs(w));
                worst = fmax(worst, fabs(l->logits[(size_t)t * l->V + v] - w));
            }
        CHECK_MSG(worst <= 1e-5 * scale, "%s: logits differ from transformers' by %.3g (scale %.3g)", name, worst, scale);
        printf("%s: logits within %.2g of %.3g\n", name, worst, scale);
    }
    lmt_llama_free(l);
    lmt_model_free(m);
}

static char *tmpdir(void) {
    char t[] = "/tmp/lmt_llama_filesXXXXXX";
    return mkdtemp(t) ? lmt_strdup(t) : NULL;
}

static void rm_rf(const char *d) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    CHECK(system(cmd) == 0);
}

static const char *cfg_dtype(const char *dir) {
    static char out[32];
    char p[400];
    snprintf(p, sizeof p, "%s/config.json", dir);
    lmt_json *j = NULL;
    out[0] = 0;
    if (lmt_json_parse_file(p, &j) == LMT_OK) {
        const lmt_json *d = lmt_json_get(j, "dtype");
        if (d && d->type == LMT_JSON_STRING) snprintf(out, sizeof out, "%s", d->str);
    }
    lmt_json_free(j);
    return out;
}

/* bf16 in, bf16 out: unsharded the same model.safetensors bytes; sharded
 * at 30KB, transformers' shards and index byte for byte. */
static void check_save(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXD "bf16", &m));
    if (!m) return;
    char *d = tmpdir(), p[400], q[400];
    CHECK_OK(lmt_model_save(m, d));
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    CHECK_MSG(files_equal(p, FXD "bf16/model.safetensors"), "bf16 re-save differs from the bf16 checkpoint");
    CHECK(!strcmp(cfg_dtype(d), "bfloat16"));
    CHECK_OK(lmt_model_set_save_options(m, NULL, "30KB"));
    CHECK_OK(lmt_model_save(m, d));
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    CHECK_MSG(files_equal(p, FXD "bf16-resharded/model.safetensors.index.json"), "index differs from save_pretrained's");
    for (int k = 1; k <= 5; k++) {
        snprintf(p, sizeof p, "%s/model-%05d-of-00005.safetensors", d, k);
        snprintf(q, sizeof q, FXD "bf16-resharded/model-%05d-of-00005.safetensors", k);
        CHECK_MSG(files_equal(p, q), "shard %d differs from save_pretrained's", k);
    }
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    CHECK_MSG(!lmt_file_exists(p), "the earlier model.safetensors is left beside the shards");
    lmt_model *r = NULL;
    CHECK_OK(lmt_model_load(d, &r));
    if (r) CHECK(!memcmp(r->params, m->params, m->layout.num_floats * sizeof(float)));
    lmt_model_free(r);
    /* float32 asked: exact fp32 copies of the bf16 values, one file again (50GB) */
    CHECK_OK(lmt_model_set_save_options(m, "float32", "50GB"));
    CHECK_OK(lmt_model_save(m, d));
    CHECK(!strcmp(cfg_dtype(d), "float32"));
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    CHECK_MSG(!lmt_file_exists(p), "the earlier index is left beside model.safetensors");
    snprintf(p, sizeof p, "%s/model-00001-of-00005.safetensors", d);
    CHECK_MSG(!lmt_file_exists(p), "earlier shards are left");
    r = NULL;
    CHECK_OK(lmt_model_load(d, &r));
    if (r) CHECK(r->report.src_dtype[0] == LMT_F32 && !memcmp(r->params, m->params, m->layout.num_floats * sizeof(float)));
    lmt_model_free(r);
    CHECK(lmt_model_set_save_options(m, "float64", NULL) == LMT_ERR_ARG);
    CHECK(lmt_model_set_save_options(m, NULL, "12XB") == LMT_ERR_ARG);
    CHECK(lmt_model_set_save_options(m, NULL, "0KB") == LMT_ERR_ARG);
    lmt_model_free(m);
    /* fp16 sharded in: fp16 out, transformers' 30KB layout (sorted names) re-derived */
    m = NULL;
    CHECK_OK(lmt_model_load(FXD "fp16-sharded", &m));
    if (m) {
        CHECK_OK(lmt_model_set_save_options(m, "auto", "30KB"));
        CHECK_OK(lmt_model_save(m, d));
        CHECK(!strcmp(cfg_dtype(d), "float16"));
        lmt_model *r2 = NULL;
        CHECK_OK(lmt_model_load(d, &r2));
        if (r2) CHECK(r2->report.src_dtype[0] == LMT_F16 && !memcmp(r2->params, m->params, m->layout.num_floats * sizeof(float)));
        lmt_model_free(r2);
    }
    lmt_model_free(m);
    rm_rf(d);
    free(d);
}

/* rounding to bf16 / fp16 as torch: nearest, ties to even */
static void check_rounding(void) {
    union { float f; uint32_t u; } a = {.u = 0x3f808000u}, b = {.u = 0x3f818000u}, c = {.u = 0x3f808001u};
    CHECK(lmt_f32_to_bf16(a.f) == 0x3f80 && lmt_f32_to_bf16(b.f) == 0x3f82 && lmt_f32_to_bf16(c.f) == 0x3f81);
    CHECK(lmt_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00 && lmt_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
}

static void copy_dir(const char *from, const char *to) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp -r '%s'/. '%s'/", from, to);
    CHECK(system(cmd) == 0);
}

static void check_bad(void) {
    char *d = tmpdir(), p[400];
    copy_dir(FXD "fp32-sharded", d);
    snprintf(p, sizeof p, "%s/model-00003-of-00005.safetensors", d);
    CHECK(remove(p) == 0);
    lmt_model *m = NULL;
    CHECK(lmt_model_load(d, &m) == LMT_ERR_NOT_FOUND);
    CHECK_MSG(strstr(lmt_last_error(), "model-00003-of-00005.safetensors") && strstr(lmt_last_error(), "index.json"),
              "missing shard: %s", lmt_last_error());
    rm_rf(d);
    free(d);
    /* the index names a tensor no shard holds */
    d = tmpdir();
    copy_dir(FXD "fp32-sharded", d);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(lmt_read_file(p, &text, &len));
    lmt_strbuf b;
    lmt_sb_init(&b);
    const char *at = text ? strstr(text, "\"weight_map\": {") : NULL;
    if (at) {
        at += strlen("\"weight_map\": {");
        lmt_sb_printf(&b, "%.*s\n    \"model.layers.0.mlp.extra.weight\": \"model-00002-of-00005.safetensors\",%s", (int)(at - text), text, at);
        CHECK_OK(lmt_write_file_atomic(p, b.data, b.len));
        m = NULL;
        CHECK(lmt_model_load(d, &m) == LMT_ERR_FORMAT);
        CHECK_MSG(strstr(lmt_last_error(), "model.layers.0.mlp.extra.weight") && strstr(lmt_last_error(), "model-00002-of-00005.safetensors"),
                  "phantom tensor: %s", lmt_last_error());
    }
    lmt_sb_free(&b);
    free(text);
    rm_rf(d);
    free(d);
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(FXD "reference.json", &ref));
    if (!ref) return lmt_test_finish();
    check_logits("fp32-sharded", ref);
    check_logits("bf16", ref);
    check_logits("fp16-sharded", ref);
    check_rounding();
    check_save();
    check_bad();
    lmt_json_free(ref);
    return lmt_test_finish();
}
