/* A model folder's weights as from_pretrained finds them: the sharded
 * layout (model.safetensors.index.json naming model-0000k-of-0000n
 * shards), a single model.safetensors, and generation_config.json.
 * Input: index SEP shard 1 [SEP shard 2 ...] SEP generation_config.json,
 * at most 4 shards; an empty generation_config.json part leaves the file
 * out, an empty index writes shard 1 as model.safetensors instead.
 * config.json is a fixed tiny Llama (GQA, untied), so that the tensors'
 * names, shapes and dtypes are what the fuzzer varies, not the model's
 * size. lmt_model_load reads it all: the index's weight_map, each shard's
 * header, the names' resolution, bf16 / fp16 to fp32. */
#include "fuzz_common.h"
#include "core/error.h"
#include "models/config.h"
#include "models/model.h"

#define MAX_SHARDS 4

static const char tiny_llama[] =
    "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 64, \"hidden_size\": 16, "
    "\"intermediate_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
    "\"max_position_embeddings\": 32, \"rms_norm_eps\": 1e-6, \"tie_word_embeddings\": false, \"bos_token_id\": 1, "
    "\"eos_token_id\": [2, 3], \"torch_dtype\": \"bfloat16\"}";
static char folder[512];

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[700];
    lmt_fuzz_subdir("model", folder, sizeof folder);   /* emptied */
    lmt_fuzz_write(folder, "config.json", tiny_llama, sizeof tiny_llama - 1, path, sizeof path);
    lmt_clear_error();
    const uint8_t *part[MAX_SHARDS + 2];
    size_t len[MAX_SHARDS + 2];
    size_t n = lmt_fuzz_split(data, size, part, len, MAX_SHARDS + 2);
    if (n < 2) return 0;
    size_t shards = n - 2;   /* index, the shards, generation_config.json */
    if (len[n - 1]) lmt_fuzz_write(folder, "generation_config.json", part[n - 1], len[n - 1], path, sizeof path);
    if (len[0] == 0) {
        if (shards) lmt_fuzz_write(folder, "model.safetensors", part[1], len[1], path, sizeof path);
    } else {
        lmt_fuzz_write(folder, "model.safetensors.index.json", part[0], len[0], path, sizeof path);
        for (size_t k = 0; k < shards; k++) {
            char name[64];
            snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", k + 1, shards);
            lmt_fuzz_write(folder, name, part[k + 1], len[k + 1], path, sizeof path);
        }
    }
    lmt_model *m = NULL;
    if (lmt_model_load(folder, &m) == LMT_OK) {
        lmt_fuzz_touch(m->params, m->layout.num_floats * sizeof(float));
        lmt_model_free(m);
    }
    return 0;
}

/* Seeds: the tiny model saved by lmtune itself (as save_pretrained would),
 * sharded in bf16, fp16 and fp32, and in one file. */
int lmt_fuzz_make_seeds(const char *dir) {
    lmt_json *j = NULL;
    lmt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    lmt_model *m = NULL;
    if (lmt_json_parse(tiny_llama, sizeof tiny_llama - 1, "tiny", &j) != LMT_OK || lmt_config_from_json(j, "tiny", &cfg) != LMT_OK ||
        lmt_model_init(&cfg, 42, &m) != LMT_OK) {
        fprintf(stderr, "fuzz_model_folder: %s\n", lmt_last_error());
        return 1;
    }
    static const struct { const char *dtype, *shard, *seed; } runs[] = {
        {"bfloat16", "6KB", "sharded_bf16"}, {"float16", "9KB", "sharded_fp16"}, {"float32", "12KB", "sharded_fp32"},
        {"float32", "10GB", "single_fp32"},  {"bfloat16", "10GB", "single_bf16"},
    };
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        char out[600], seed[1200];
        snprintf(out, sizeof out, "%s/seed_%zu", lmt_fuzz_scratch(), r);
        if (lmt_model_set_save_options(m, runs[r].dtype, runs[r].shard) != LMT_OK || lmt_model_save(m, out) != LMT_OK) {
            fprintf(stderr, "fuzz_model_folder: %s\n", lmt_last_error());
            return 1;
        }
        snprintf(seed, sizeof seed, "%s/%s", dir, runs[r].seed);
        FILE *f = fopen(seed, "wb");
        if (!f) { perror(seed); return 1; }
        char p[1300], *buf = NULL;
        size_t len = 0;
        snprintf(p, sizeof p, "%s/model.safetensors.index.json", out);
        bool sharded = lmt_file_exists(p);
        if (sharded && lmt_read_file(p, &buf, &len) == LMT_OK) fwrite(buf, 1, len, f);
        free(buf);
        for (int k = 1; k <= (sharded ? MAX_SHARDS : 1); k++) {
            bool found = false;
            for (int n = 1; n <= MAX_SHARDS && !found; n++) {
                if (sharded) snprintf(p, sizeof p, "%s/model-%05d-of-%05d.safetensors", out, k, n);
                else snprintf(p, sizeof p, "%s/model.safetensors", out);
                if (!lmt_file_exists(p) || lmt_read_file(p, &buf, &len) != LMT_OK) continue;
                fputs(LMT_FUZZ_SEP, f);
                fwrite(buf, 1, len, f);
                free(buf);
                found = true;
            }
        }
        fputs(LMT_FUZZ_SEP, f);
        snprintf(p, sizeof p, "%s/generation_config.json", out);
        buf = NULL;
        if (lmt_file_exists(p) && lmt_read_file(p, &buf, &len) == LMT_OK) fwrite(buf, 1, len, f);
        free(buf);
        fclose(f);
    }
    lmt_model_free(m);
    return 0;
}
