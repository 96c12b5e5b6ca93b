/* lmtune train --task sft against TRL's SFTTrainer (trl 1.16): the three
 * 30-step runs of tests/fixtures/sft/trainer.json
 * (tools/reference/make_sft_fixtures.py) on a tiny Llama with SmolLM2's
 * vocabulary - conversations with gradient accumulation; prompt-completion
 * rows packed (bfd, padding-free) with the completion-only loss (both with
 * eval_loss every 10 steps); LoRA with
 * the assistant-only loss through a {% generation %} template - step for
 * step: loss, learning_rate and grad_norm (the step's gradient norm in
 * float64) within 1e-4 relative; TRL's logged grad_norm, a float32 sum,
 * within 3e-4 (docs/SFT.md); SFTTrainer's entropy, mean_token_accuracy and
 * num_tokens (and their eval_ versions); peft's print_trainable_parameters line. Then the
 * command's refusals name the file and row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "cli_run.h"
#include "core/json.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/sft"
#define TOK LMT_SHARED_DATA "/llama-family/SmolLM2-135M-Instruct"

static const char *flag_value(char *buf, size_t n, const lmt_json *v) {
    if (v->type == LMT_JSON_BOOL) return v->boolean ? "true" : "false";
    if (v->type == LMT_JSON_STRING) {
        if (strstr(v->str, ".jinja")) snprintf(buf, n, FIX "/%s", v->str);
        else snprintf(buf, n, "%s", v->str);
    } else if (v->is_int) snprintf(buf, n, "%lld", (long long)v->i64);
    else snprintf(buf, n, "%.17g", v->num);
    return buf;
}

static void check_run(const char *name, const lmt_json *r, const char *dir) {
    char cmd[8192];
    int k = snprintf(cmd, sizeof cmd, "train --task sft --model_name_or_path " FIX "/tiny-smollm2 --tokenizer_name " TOK
                     " --train_file " FIX "/data/%s --output_dir %s/%s --logging_steps 1 --bf16 false --save_strategy no",
                     lmt_json_get(r, "data")->str, dir, name);
    const lmt_json *st = lmt_json_get(r, "settings");
    if (lmt_json_get(st, "eval_strategy"))   /* the evaluation set is the training file */
        k += snprintf(cmd + k, sizeof cmd - k, " --validation_file " FIX "/data/%s", lmt_json_get(r, "data")->str);
    for (size_t i = 0; i < st->len; i++) {
        char v[4096];
        k += snprintf(cmd + k, sizeof cmd - k, " --%s %s", st->keys[i], flag_value(v, sizeof v, &st->items[i]));
    }
    const lmt_json *lora = lmt_json_get(r, "lora");
    if (lora && lora->type == LMT_JSON_OBJECT) {
        const lmt_json *tm = lmt_json_get(lora, "target_modules");
        k += snprintf(cmd + k, sizeof cmd - k, " --use_peft --lora_r %lld --lora_alpha %g --lora_dropout %g --lora_target_modules ",
                      (long long)lmt_json_get(lora, "r")->i64, lmt_json_get(lora, "lora_alpha")->num, lmt_json_get(lora, "lora_dropout")->num);
        for (size_t i = 0; i < tm->len; i++) k += snprintf(cmd + k, sizeof cmd - k, "%s%s", i ? "," : "", tm->items[i].str);
    }
    int rc = run(cmd);
    CHECK_MSG(rc == 0, "%s: exit %d: %s", name, rc, out);
    if (rc) return;
    if (lora && lora->type == LMT_JSON_OBJECT) CHECK_MSG(strstr(out, "trainable params: "), "%s: no print_trainable_parameters line", name);
    const lmt_json *want = lmt_json_get(r, "log_history"), *want_ev = lmt_json_get(r, "eval_history");
    size_t got = 0, got_ev = 0;
    int bad = 0;
    for (char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        bool ev = !strncmp(line, "{\"eval_loss\"", 12);
        if (strncmp(line, "{\"loss\"", 7) && !ev) continue;
        char *e = strchr(line, '\n');
        lmt_json *j;
        if (lmt_json_parse(line, e ? (size_t)(e - line) : strlen(line), "log", &j) != LMT_OK) { bad++; continue; }
        if (ev) {   /* the evaluations during training (those with a step) */
            const lmt_json *step = lmt_json_get(j, "step");
            if (step && want_ev && got_ev < want_ev->len) {
                const lmt_json *w = &want_ev->items[got_ev];
                static const char *const ek[] = {"eval_loss", "eval_entropy", "eval_mean_token_accuracy", "eval_num_tokens"};
                for (int q = 0; q < 4; q++) {
                    const lmt_json *gv = lmt_json_get(j, ek[q]), *wv = lmt_json_get(w, ek[q]);
                    double a = gv ? gv->num : NAN, b = wv ? wv->num : NAN;
                    if (step->i64 != lmt_json_get(w, "step")->i64 || !(fabs(a - b) <= 1e-4 * fabs(b) + 1e-6))
                        if (bad++ < 4) fprintf(stderr, "%s: step %lld %s = %.9g, TRL %.9g\n", name, (long long)step->i64, ek[q], a, b);
                }
            }
            if (step) got_ev++;
            lmt_json_free(j);
            continue;
        }
        if (got < want->len) {
            const lmt_json *w = &want->items[got];
            /* grad_norm: the float64 norm of the step's gradients within 1e-4; the Trainer's logged
             * float32 one (its sum over 786k embedding gradients off by ~3e-5) within 3e-4 */
            static const char *const keys[] = {"loss", "learning_rate", "grad_norm", "grad_norm", "entropy", "mean_token_accuracy",
                                               "num_tokens"};
            static const char *const ref[] = {"loss", "learning_rate", "grad_norm_f64", "grad_norm", "entropy", "mean_token_accuracy",
                                              "num_tokens"};
            for (int q = 0; q < 7; q++) {
                const lmt_json *gv = lmt_json_get(j, keys[q]), *wv = lmt_json_get(w, ref[q]);
                double a = gv ? gv->num : NAN, b = wv ? wv->num : NAN, tol = q == 3 ? 3e-4 : 1e-4;
                if (!(fabs(a - b) <= tol * fabs(b) + (q == 5 ? 1e-6 : 1e-12))) {
                    if (bad++ < 4) fprintf(stderr, "%s: step %zu %s = %.9g, TRL %s %.9g\n", name, got + 1, keys[q], a, ref[q], b);
                }
            }
        }
        got++;
        lmt_json_free(j);
    }
    CHECK_MSG(got == want->len, "%s: %zu steps logged, TRL %zu", name, got, want->len);
    CHECK_MSG(got_ev == (want_ev ? want_ev->len : 0), "%s: %zu evaluations logged, TRL %zu", name, got_ev, want_ev ? want_ev->len : 0);
    CHECK_MSG(bad == 0, "%s: %d logged values differ from TRL's", name, bad);
    printf("%s: %zu steps as TRL's SFTTrainer\n", name, got);
}

int main(void) {
    lmt_json *fx;
    if (lmt_json_parse_file(FIX "/trainer.json", &fx) != LMT_OK) return 1;
    char dir[] = "/tmp/lmt_sft_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    for (size_t i = 0; i < fx->len; i++)
        if (!quick || i == 1) check_run(fx->keys[i], &fx->items[i], dir);
    /* refusals: a missing field names the row; a conversation the template rejects */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
    FILE *f = fopen(bad, "w");
    fputs("{\"text\": \"fine\"}\n{\"txt\": \"typo\"}\n", f);
    fclose(f);
    int rc = runf("train --task sft --model_name_or_path " FIX "/tiny-smollm2 --tokenizer_name " TOK " --train_file %s --output_dir %s/bad "
                  "--bf16 false", bad, dir);
    CHECK_MSG(rc != 0 && strstr(out, "line 2") && strstr(out, "\"text\""), "missing field: %s", out);
    rc = runf("train --task sft --model_name_or_path " FIX "/tiny-smollm2 --tokenizer_name " TOK " --train_file " FIX
              "/data/text.jsonl --output_dir %s/bad2 --assistant_only_loss", dir);
    CHECK_MSG(rc != 0 && strstr(out, "conversational"), "assistant_only_loss on text: %s", out);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    lmt_json_free(fx);
    return lmt_test_finish();
}
