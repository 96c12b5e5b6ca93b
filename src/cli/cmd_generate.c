/* lmtune generate: the text-generation pipeline (greedy or sampling). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "kernels/matmul.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/generate.h"
#include "lmtune/tokenizer.h"

int lmt_cmd_generate(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *prompt = NULL, *adapter = NULL;
    lmt_gen_opts o = lmt_gen_opts_default();
    o.max_new_tokens = 50;
    bool sample_set_topk = false;
    int64_t iv;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: lmtune generate --model DIR [--adapter DIR] [--tokenizer DIR] --prompt TEXT [--max_new_tokens N]\n"
                   "                       [--do_sample] [--temperature T] [--top_k K] [--top_p P] [--seed S] [--bf16]\n\n"
                   "Prints [{\"generated_text\": prompt + continuation}] as the text-generation pipeline.\n"
                   "Greedy by default; --do_sample samples after temperature, top-k (default 50) and top-p.\n"
                   "--bf16 decodes from bf16 copies of the weights (half the bytes read per token; fp32 arithmetic).\n"
                   "--adapter: a peft LoRA adapter folder, merged into the model first (merge_and_unload).\n");
            return 0;
        }
        if (!strcmp(a, "--do_sample")) { o.do_sample = true; continue; }
        if (!strcmp(a, "--bf16")) { lmt_matmul_set_precision(LMT_MATMUL_BF16); continue; }
        if (!v) { fprintf(stderr, "lmtune: error: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--model")) model_dir = v;
        else if (!strcmp(a, "--tokenizer")) tok_dir = v;
        else if (!strcmp(a, "--adapter")) adapter = v;
        else if (!strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "--max_new_tokens")) { if (!lmt_cli_int(a + 2, v, 0, INT_MAX, &iv)) return 2; o.max_new_tokens = (int)iv; }
        else if (!strcmp(a, "--temperature")) { if (!lmt_cli_num(a + 2, v, 0, INFINITY, LMT_FLAG_LO_OPEN, &o.temperature)) return 2; }
        else if (!strcmp(a, "--top_k")) { if (!lmt_cli_int(a + 2, v, 0, INT_MAX, &iv)) return 2; o.top_k = (int)iv; sample_set_topk = true; }
        else if (!strcmp(a, "--top_p")) { if (!lmt_cli_num(a + 2, v, 0, 1, LMT_FLAG_LO_OPEN, &o.top_p)) return 2; }
        else if (!strcmp(a, "--seed")) { if (!lmt_cli_int(a + 2, v, 0, INT64_MAX, &iv)) return 2; o.seed = (uint64_t)iv; }
        else { fprintf(stderr, "lmtune: error: unknown option '%s'\n", a); return 2; }
        i++;
    }
    if (!model_dir || !prompt) { fprintf(stderr, "usage: lmtune generate --model DIR --prompt TEXT (see --help)\n"); return 2; }
    if (o.do_sample && !sample_set_topk) o.top_k = 50;   /* GenerationConfig's default */
    if (o.temperature <= 0 || o.top_p <= 0 || o.top_p > 1 || o.max_new_tokens < 0) {
        fprintf(stderr, "lmtune: error: temperature must be > 0, top_p in (0, 1], max_new_tokens >= 0\n");
        return 2;
    }
    if (!tok_dir) tok_dir = model_dir;
    model_dir = lmt_cli_resolve(model_dir, true);
    if (!model_dir) return 1;
    tok_dir = lmt_cli_resolve(tok_dir, false);
    if (!tok_dir) return 1;
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    if (lmt_model_load(model_dir, &m) != LMT_OK || (adapter && lmt_cli_merge_adapter(m, adapter, NULL, NULL) != LMT_OK) ||
        lmt_tokenizer_load(tok_dir, &tok) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        lmt_model_free(m);
        return 1;
    }
    o.eos_token_id = (int32_t)m->cfg.eos_token_id;
    lmt_encoding e;
    int rc = 0;
    if (lmt_tokenizer_encode(tok, prompt, strlen(prompt), NULL, 0, NULL, &e) != LMT_OK) { fprintf(stderr, "lmtune: error: %s\n", lmt_last_error()); rc = 1; goto done; }
    int32_t *out = NULL;
    int n = 0;
    if (lmt_generate(m, e.ids, (int)e.n, &o, &out, &n) != LMT_OK) { fprintf(stderr, "lmtune: error: %s\n", lmt_last_error()); rc = 1; }
    else {
        char *text;
        size_t len;
        if (lmt_tokenizer_decode(tok, out, (size_t)n, true, false, &text, &len) == LMT_OK) {
            lmt_strbuf b;
            lmt_sb_init(&b);
            lmt_sb_puts(&b, "[{\"generated_text\": ");
            lmt_json_write_string(&b, text, len, false);
            lmt_sb_puts(&b, "}]");
            printf("%s\n", b.data);
            lmt_sb_free(&b);
            free(text);
        } else { fprintf(stderr, "lmtune: error: %s\n", lmt_last_error()); rc = 1; }
        free(out);
    }
    lmt_encoding_free(&e);
done:
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
