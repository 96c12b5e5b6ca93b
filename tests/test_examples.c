/* The examples (built against include/ alone) on tiny fixtures, checked
 * against what transformers produced:
 *  - fill_mask on tests/fixtures/models/bert-fillmask: pipeline("fill-mask",
 *    top_k=3) of pipeline.json, tokens and strings exactly, scores within 1e-5
 *    (as test_fill_mask_pipeline);
 *  - finetune_clm on the tiny GPT-2 (dropout off, as the reference ran) with
 *    the token blocks of tests/fixtures/train/gpt2_trainer.json given as JSON
 *    Lines: the "shuffled" run of transformers' Trainer (20 steps, as the
 *    example's max_steps 20): every log entry, the final evaluation, and
 *    the saved weights against gpt2_trainer_shuffled_final.safetensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "cli_run.h"
#include "trainer_ref.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"

static bool close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

static void test_fill_mask(void) {
    lmt_json *ref;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask/pipeline.json", &ref));
    if (!ref) return;
    const lmt_json *cases = lmt_json_get(ref, "cases");
    int top_k = (int)lmt_json_get(ref, "top_k")->i64;
    double worst = 0;
    for (size_t c = 0; c < cases->len; c++) {
        const char *text = lmt_json_get(&cases->items[c], "text")->str;
        int rc = runf_bin(LMT_EXAMPLE_FILL_MASK, "'%s/tests/fixtures/models/bert-fillmask' %d '%s'", LMT_SOURCE_DIR, top_k, text);
        CHECK_MSG(rc == 0, "fill_mask \"%s\" exited %d: %s", text, rc, out);
        const lmt_json *masks = lmt_json_get(&cases->items[c], "results");
        char *line = out;
        for (size_t k = 0; k < masks->len; k++)
            for (size_t j = 0; j < masks->items[k].len; j++) {
                const lmt_json *w = &masks->items[k].items[j];
                char *nl = strchr(line, '\n');
                CHECK_MSG(nl != NULL, "\"%s\": fewer lines than mask %zu candidate %zu", text, k, j);
                if (!nl) return;
                *nl = 0;
                /* MASK \t SCORE \t TOKEN \t TOKEN_STR \t SEQUENCE */
                char *f[5] = {line};
                for (int i = 1; i < 5 && f[i - 1]; i++) {
                    char *tab = strchr(f[i - 1], '\t');
                    if (tab) *tab = 0;
                    f[i] = tab ? tab + 1 : NULL;
                }
                CHECK_MSG(f[4] && atoi(f[0]) == (int)k, "\"%s\": line \"%s\" is not mask %zu", text, line, k);
                if (!f[4]) return;
                double d = fabs(atof(f[1]) - lmt_json_get(w, "score")->num);
                if (d > worst) worst = d;
                CHECK(atoi(f[2]) == (int)lmt_json_get(w, "token")->i64);
                CHECK_STREQ(f[3], lmt_json_get(w, "token_str")->str);
                CHECK_STREQ(f[4], lmt_json_get(w, "sequence")->str);
                line = nl + 1;
            }
        CHECK_MSG(*line == 0, "\"%s\": extra output \"%s\"", text, line);
    }
    CHECK_MSG(worst <= 1e-5, "fill_mask scores differ from the pipeline's by up to %.3g", worst);
    /* a text without a mask fails with the library's message */
    CHECK(runf_bin(LMT_EXAMPLE_FILL_MASK, "'%s/tests/fixtures/models/bert-fillmask' 3 'no mask here'", LMT_SOURCE_DIR) == 1);
    lmt_json_free(ref);
}

/* blocks of a reference as JSON Lines {"input_ids": [...]} */
static void write_blocks(const char *path, const lmt_json *blocks) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    for (size_t i = 0; i < blocks->len; i++) {
        fputs("{\"input_ids\": [", f);
        for (size_t j = 0; j < blocks->items[i].len; j++) fprintf(f, "%s%lld", j ? ", " : "", (long long)blocks->items[i].items[j].i64);
        fputs("]}\n", f);
    }
    fclose(f);
}

/* The tiny GPT-2 with dropout off and the 96-token WordPiece vocabulary of
 * bert-fillmask as its tokenizer (any tokenizer within the vocabulary will
 * do: the blocks come pre-tokenized; it only encodes the prompt). */
static void make_model_dir(const char *dir) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/tests/fixtures/models/gpt2/model.safetensors %s/tests/fixtures/models/bert-fillmask/vocab.txt "
             "%s/tests/fixtures/models/bert-fillmask/tokenizer_config.json %s/", dir, LMT_SOURCE_DIR, LMT_SOURCE_DIR, LMT_SOURCE_DIR, dir);
    CHECK(system(cmd) == 0);
    lmt_json *cfg;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2/config.json", &cfg));
    if (!cfg) return;
    const char *drop[] = {"attn_pdrop", "embd_pdrop", "resid_pdrop"};
    for (int i = 0; i < 3; i++) CHECK_OK(lmt_json_object_set(cfg, drop[i], lmt_json_new_num(0.0)));
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write(&b, cfg, 2);
    char *p = lmt_path_join(dir, "config.json");
    CHECK_OK(lmt_write_file_atomic(p, b.data, b.len));
    free(p);
    lmt_sb_free(&b);
    lmt_json_free(cfg);
}

/* The log entries the example printed (its JSON lines), in order. */
static size_t printed_logs(char *text, lmt_json **logs, size_t cap) {
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n"))
        if (line[0] == '{' && lmt_json_parse(line, strlen(line), "example output", &logs[n]) == LMT_OK) n++;
    return n;
}

static void test_finetune_clm(void) {
    lmt_json *ref;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/gpt2_trainer.json", &ref));
    if (!ref) return;
    const lmt_json *run = NULL, *runs = lmt_json_get(ref, "runs");
    for (size_t i = 0; i < runs->len; i++)
        if (!strcmp(lmt_json_get(&runs->items[i], "name")->str, "shuffled")) run = &runs->items[i];
    CHECK(run != NULL);
    if (!run) return;
    char dir[] = "/tmp/lmt-example-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char model[256], train[256], eval[256], outdir[256];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(train, sizeof train, "%s/train.jsonl", dir);
    snprintf(eval, sizeof eval, "%s/eval.jsonl", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    make_model_dir(model);
    write_blocks(train, lmt_json_get(ref, "train_blocks"));
    write_blocks(eval, lmt_json_get(ref, "eval_blocks"));
    /* the reference run's arguments (tests/trainer_ref.h), as flags; the
     * example's own max_steps 20 is the run's 2 epochs of 10 steps */
    char flags[2048];
    int o = snprintf(flags, sizeof flags, "--block_size %d --learning_rate %.17g --logging_steps 1 --eval_strategy epoch "
                     "--per_device_eval_batch_size 4 --save_strategy no", (int)lmt_json_get(ref, "train_blocks")->items[0].len,
                     lmt_json_get(run, "learning_rate")->num);
    const lmt_json *args = lmt_json_get(run, "args");
    for (size_t i = 0; i < args->len; i++) {
        const lmt_json *v = &args->items[i];
        if (v->type == LMT_JSON_STRING) o += snprintf(flags + o, sizeof flags - o, " --%s %s", args->keys[i], v->str);
        else if (v->is_int) o += snprintf(flags + o, sizeof flags - o, " --%s %lld", args->keys[i], (long long)v->i64);
        else o += snprintf(flags + o, sizeof flags - o, " --%s %.17g", args->keys[i], v->num);
    }
    int rc = runf_bin(LMT_EXAMPLE_FINETUNE, "%s %s %s %s %s", model, train, eval, outdir, flags);
    CHECK_MSG(rc == 0, "finetune_clm exited %d: %s", rc, out);
    CHECK_MSG(strstr(out, "perplexity ") && strstr(out, " after 20 steps\n"), "no perplexity line: %s", out);

    lmt_json *logs[64];
    size_t n = printed_logs(out, logs, 64);
    const lmt_json *want = lmt_json_get(run, "log_history");
    /* transformers' entries, then the final summary, then evaluate()'s */
    CHECK_MSG(n == want->len + 2, "%zu log lines, expected %zu + 2", n, want->len);
    int bad = 0;
    for (size_t i = 0; i < want->len && i < n; i++) bad += ref_log_entry_diff(&want->items[i], logs[i], i);
    CHECK_MSG(bad == 0, "%d logged values differ from transformers' Trainer", bad);
    /* evaluate() after training sees the weights of the last epoch's evaluation */
    const lmt_json *last_eval = NULL;
    for (size_t i = 0; i < want->len; i++)
        if (lmt_json_get(&want->items[i], "eval_loss")) last_eval = lmt_json_get(&want->items[i], "eval_loss");
    const lmt_json *got_eval = n == want->len + 2 ? lmt_json_get(logs[n - 1], "eval_loss") : NULL;
    CHECK_MSG(last_eval && got_eval && close_rel(got_eval->num, last_eval->num, 1e-4), "final eval_loss %.9g, transformers %.9g",
              got_eval ? got_eval->num : NAN, last_eval ? last_eval->num : NAN);
    for (size_t i = 0; i < n; i++) lmt_json_free(logs[i]);

    /* the saved folder: transformers' final weights, the tokenizer, the state */
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", outdir);
    lmt_tensor_file *got = NULL, *wf = NULL;
    CHECK_OK(lmt_safetensors_open(path, &got));
    CHECK_OK(lmt_safetensors_open(LMT_SOURCE_DIR "/tests/fixtures/train/gpt2_trainer_shuffled_final.safetensors", &wf));
    double worst = 0;
    size_t compared = 0;
    for (size_t i = 0; got && wf && i < wf->n; i++) {
        const lmt_tensor_entry *w = &wf->entries[i], *g = lmt_tensor_file_find(got, w->name);
        if (!g || g->nbytes != w->nbytes) continue;   /* tied names are stored once */
        const float *a = g->data, *b = w->data;
        for (size_t k = 0; k < w->nbytes / 4; k++) {
            double d = fabs((double)a[k] - b[k]) / (fabs(b[k]) > 1 ? fabs(b[k]) : 1);
            if (d > worst) worst = d;
        }
        compared++;
    }
    CHECK_MSG(compared >= 16, "only %zu tensors compared", compared);
    CHECK_MSG(worst <= 1e-4, "saved weights differ from transformers' by up to %.3g", worst);
    lmt_tensor_file_free(got);
    lmt_tensor_file_free(wf);
    snprintf(path, sizeof path, "%s/vocab.txt", outdir);
    CHECK(lmt_file_exists(path));
    snprintf(path, sizeof path, "%s/trainer_state.json", outdir);
    CHECK(lmt_file_exists(path));
    /* a wrong argument name is refused, naming it */
    rc = runf_bin(LMT_EXAMPLE_FINETUNE, "%s %s %s %s --learning_rat 1", model, train, eval, outdir);
    CHECK_MSG(rc == 1 && strstr(out, "learning_rat"), "exit %d: %s", rc, out);
    ref_remove_dir(dir);
    lmt_json_free(ref);
}

int main(void) {
    test_fill_mask();
    test_finetune_clm();
    return lmt_test_finish();
}
