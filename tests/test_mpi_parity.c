/* Data-parallel training against transformers' Trainer under torchrun
 * (tests/fixtures/train/ddp/ddp.json, tools/reference/make_ddp_fixtures.py):
 * `mpirun -np 2` with per-device batch 4 must reproduce every step's loss,
 * grad norm and learning rate, the evaluations, train_loss, total_flos and
 * the final weights (1e-4); where the global batch is a whole number of
 * examples (clm, mlm) it must also equal lmtune's own single-process run
 * with batch 8.
 *
 * The test binary is its own MPI program: `test_mpi_parity --worker RUN DIR
 * [BATCH]` trains RUN and rank 0 writes DIR/trainer_state.json and the model.
 * Skipped (exit 77, with the reason) in a build without MPI, without
 * mpirun, or under AddressSanitizer (Open MPI's own allocations). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "mpi_test.h"
#include "trainer_ref.h"
#include "core/error.h"
#include "core/json.h"
#include "io/tensor_file.h"
#include "train/clm_data.h"
#include "train/dist.h"
#include "train/dist_shard.h"
#include "train/task_clm.h"
#include "train/task_mlm.h"
#include "train/trainer_state.h"

#define REF LMT_SOURCE_DIR "/tests/fixtures/train/ddp/"

/* ddp.json's rows of {input_ids, attention_mask, labels}, all of length T */
static void rows_load(const lmt_json *a, ref_rows *r) {
    r->n = (int64_t)a->len;
    r->T = (int)lmt_json_get(&a->items[0], "input_ids")->len;
    size_t total = (size_t)r->n * (size_t)r->T;
    r->ids = malloc(total * 4);
    r->mask = malloc(total * 4);
    r->labels = malloc(total * 4);
    const char *keys[3] = {"input_ids", "attention_mask", "labels"};
    int32_t *dst[3] = {r->ids, r->mask, r->labels};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < a->len; i++) {
            const lmt_json *v = lmt_json_get(&a->items[i], keys[k]);
            for (size_t j = 0; j < v->len; j++) dst[k][i * (size_t)r->T + j] = (int32_t)v->items[j].i64;
        }
}

static const lmt_json *find_run(const lmt_json *ref, const char *name) {
    const lmt_json *runs = lmt_json_get(ref, "runs");
    for (size_t i = 0; i < runs->len; i++)
        if (!strcmp(lmt_json_get(&runs->items[i], "name")->str, name)) return &runs->items[i];
    return NULL;
}

/* Trains run `name` as this process's share (a world of one unless mpirun
 * started it); rank 0 writes dir/trainer_state.json and the model. batch > 0
 * replaces per_device_train_batch_size. */
static lmt_status train_run(const lmt_json *run, const char *dir, int batch) {
    bool mlm = !strcmp(lmt_json_get(run, "task")->str, "mlm");
    ref_rows tr, ev;
    rows_load(lmt_json_get(run, "train"), &tr);
    rows_load(lmt_json_get(run, "eval"), &ev);
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s/out", dir);
    a.learning_rate = lmt_json_get(run, "learning_rate")->num;
    a.logging_steps = 1;
    a.eval_strategy = LMT_STRATEGY_EPOCH;
    a.per_device_eval_batch_size = 4;
    a.save_strategy = LMT_STRATEGY_NO;
    ref_apply_args(&a, lmt_json_get(run, "args"));
    if (batch > 0) a.per_device_train_batch_size = batch;
    lmt_model *m = NULL;
    lmt_status s = lmt_model_load(mlm ? LMT_SOURCE_DIR "/tests/fixtures/models/bert" : LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &m);
    if (s != LMT_OK) return s;
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   /* the reference ran with dropout off */
    lmt_clm_task *clm = NULL;
    lmt_mlm_task *mt = NULL;
    int B = (int)a.per_device_train_batch_size > 4 ? (int)a.per_device_train_batch_size : 4;
    s = mlm ? lmt_mlm_task_create(m, B, tr.T, &mt) : lmt_clm_task_create(m, B, tr.T, &clm);
    lmt_train_data td = {.n = tr.n, .ctx = &tr, .collate = ref_rows_collate}, ed = {.n = ev.n, .ctx = &ev, .collate = ref_rows_collate};
    lmt_trainer t;
    bool ready = false;
    if (s == LMT_OK) s = lmt_trainer_init(&t, &a, mlm ? &mt->base : &clm->base, &td, &ed);
    ready = s == LMT_OK;
    lmt_train_output out;
    if (s == LMT_OK) s = lmt_trainer_train(&t, &out);
    if (s == LMT_OK && lmt_dist_world_size() > 1) {
        /* the ranks never send weights: they must have stayed bit for bit equal (same all-reduced gradients, same AdamW) */
        uint64_t h = 1469598103934665603ULL;
        const uint32_t *bits = (const uint32_t *)m->params;
        for (size_t i = 0; i < m->layout.num_floats; i++) h = (h ^ bits[i]) * 1099511628211ULL;
        double mine = (double)(h >> 12), all[64];
        s = lmt_dist_allgather_f64(&mine, 1, all, "the weight check");
        for (int r = 1; s == LMT_OK && r < lmt_dist_world_size() && r < 64; r++)
            if (all[r] != all[0]) s = lmt_fail(LMT_ERR_INTERNAL, "rank %d's weights differ from rank 0's after training", r);
    }
    if (s == LMT_OK && lmt_dist_rank() == 0) {
        char p[1100];
        snprintf(p, sizeof p, "%s/trainer_state.json", dir);
        s = lmt_trainer_state_save(&t.state, p);
        snprintf(p, sizeof p, "%s/model", dir);
        if (s == LMT_OK) s = lmt_model_save(m, p);
    }
    if (ready) lmt_trainer_free(&t);
    lmt_clm_task_free(clm);
    lmt_mlm_task_free(mt);
    lmt_model_free(m);
    ref_rows_free(&tr);
    ref_rows_free(&ev);
    return s;
}

static int worker(const char *name, const char *dir, int batch) {
    lmt_json *ref = NULL;
    lmt_status s = lmt_dist_init();
    if (s == LMT_OK) s = lmt_json_parse_file(REF "ddp.json", &ref);
    const lmt_json *run = ref ? find_run(ref, name) : NULL;
    if (s == LMT_OK && !run) s = lmt_fail(LMT_ERR_ARG, "no run %s in ddp.json", name);
    if (s == LMT_OK) s = train_run(run, dir, batch);
    lmt_json_free(ref);
    if (s != LMT_OK) {
        fprintf(stderr, "worker rank %d: %s\n", lmt_dist_rank(), lmt_last_error());
        lmt_dist_abort(1);
        return 1;
    }
    lmt_dist_finalize();
    return 0;
}

/* want's first n log entries against got's (trainer_state.json's log_history, which adds the train summary) */
static void compare_logs(const char *what, const lmt_json *want, size_t n, const lmt_json *got) {
    CHECK_MSG(got && got->len == n + 1, "%s: %zu log entries, expected %zu + final", what, got ? got->len : 0, n);
    int bad = 0;
    for (size_t i = 0; got && i < n && i < got->len; i++) bad += ref_log_entry_diff(&want->items[i], &got->items[i], i);
    CHECK_MSG(bad == 0, "%s: %d logged values differ", what, bad);
}

static lmt_json *read_log(const char *dir) {
    char p[1300];
    snprintf(p, sizeof p, "%s/trainer_state.json", dir);
    lmt_json *st = NULL;
    CHECK_OK(lmt_json_parse_file(p, &st));
    return st;
}

/* accelerate's BatchSamplerShard, worked by hand: 10 examples, batch 4, 2 ranks */
static void check_shards(void) {
    int64_t idx[4];
    CHECK(lmt_shard_num_batches(10, 4, 2) == 2 && lmt_shard_num_batches(10, 4, 1) == 3 && lmt_shard_num_batches(10, 4, 3) == 1);
    CHECK(lmt_shard_batch(NULL, 10, 4, 2, 0, 1, idx) == 4 && idx[0] == 8 && idx[1] == 9 && idx[2] == 0 && idx[3] == 1);
    CHECK(lmt_shard_batch(NULL, 10, 4, 2, 1, 1, idx) == 4 && idx[0] == 2 && idx[3] == 5);
    CHECK(lmt_shard_batch(NULL, 10, 4, 1, 0, 2, idx) == 2 && idx[0] == 8 && idx[1] == 9);
    CHECK(lmt_shard_batch(NULL, 10, 4, 2, 0, 2, idx) == 0);
    /* the gathered rows back in order: rank 0 holds batches 0 and 2 (8, 9, 0, 1 wrapped round), rank 1 batches 1 and 3 */
    CHECK(lmt_shard_position(0, 10, 4, 2, 0) == 0 && lmt_shard_position(5, 10, 4, 2, 0) == 9 && lmt_shard_position(6, 10, 4, 2, 0) == -1);
    CHECK(lmt_shard_position(3, 10, 4, 2, 1) == 7 && lmt_shard_position(4, 10, 4, 2, 1) == -1 && lmt_shard_position(9, 10, 4, 1, 0) == 9);
    /* gather_for_metrics drops the padding: batch 3 (positions 12..15) counts for nothing */
    /* (loss sum, items): rank 0 batches 0, 2; rank 1 batches 1, 3; a batch's loss is
     * world * its sum over the items of its step on both ranks (average_tokens_across_devices) */
    double all[8] = {10, 10, 30, 10, 20, 10, 50, 30};
    CHECK_NEAR(lmt_shard_eval_loss(all, 2, 10, 4, 2), (2 * 10 / 20.0 * 4 + 2 * 20 / 20.0 * 4 + 2 * 30 / 40.0 * 2) / 10.0, 1e-15);
    double one[6] = {10, 10, 30, 10, 20, 10};   /* a world of one: each batch's own mean */
    CHECK_NEAR(lmt_shard_eval_loss(one, 3, 10, 4, 1), (1.0 * 4 + 3.0 * 4 + 2.0 * 2) / 10.0, 1e-15);
}

/* entry's values against want's: bleu and gen_len exactly, the rest within
 * 1e-4, eval_loss left to the caller (skip_loss), timings skipped */
static int entry_diff(const lmt_json *want, const lmt_json *got, size_t entry, bool skip_loss) {
    int bad = 0;
    for (size_t k = 0; want && k < want->len; k++) {
        const char *key = want->keys[k];
        if (strstr(key, "runtime") || strstr(key, "per_second") || (skip_loss && !strcmp(key, "eval_loss"))) continue;
        const lmt_json *g = got ? lmt_json_get(got, key) : NULL;
        double w = want->items[k].num;
        double tol = !strcmp(key, "eval_bleu") || !strcmp(key, "eval_gen_len") ? 0 : 1e-4;
        if (!g || !(fabs(g->num - w) <= tol * (fabs(w) > 1 ? fabs(w) : 1))) {
            if (bad++ < 4) fprintf(stderr, "log entry %zu: %s = %.9g, expected %.9g\n", entry, key, g ? g->num : NAN, w);
        }
    }
    return bad;
}

static char *slurp(const char *path) {
    char *t = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(path, &t, &n));
    return t;
}

/* LoRA under mpirun (--use_peft): the adapters' gradients go through the
 * overlapped all-reduce by layer (A and B of each layer's adapters), the
 * run equals one process with the whole batch, and the blocking all-reduce
 * (LMT_DIST_OVERLAP=0) gives the same bits. */
static void check_lora(void) {
    char dir[] = "/tmp/lmt-mpi-lora-XXXXXX", cmd[4096], a[1200], b[1200];
    CHECK(mkdtemp(dir) != NULL);
    const char *args = "train --task clm --model_type gpt2 --config_overrides "
                       "n_embd=64,n_layer=2,n_head=4,n_positions=64,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0 --tokenizer_name "
                       LMT_SHARED_DATA "/tokenizers/gpt2 --train_file " LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw "
                       "--block_size 32 --max_train_samples 24 --max_steps 3 --validation_split_percentage 0 --save_strategy no "
                       "--logging_steps 1 --learning_rate 1e-2 --use_peft --lora_r 4 --lora_alpha 8 --lora_dropout 0 "
                       "--lora_target_modules c_attn,c_fc";
    static const char *const runs[3] = {"two", "blocking", "one"};
    for (int r = 0; r < 3; r++) {
        snprintf(cmd, sizeof cmd, "%s%s'%s' %s --per_device_train_batch_size %d --output_dir %s/%s > %s/%s.log 2>&1 || cat %s/%s.log",
                 r == 1 ? "env LMT_DIST_OVERLAP=0 " : "", r < 2 ? "timeout 300 mpirun -np 2 --oversubscribe --bind-to none " : "",
                 LMT_CLI_PATH, args, r < 2 ? 4 : 8, dir, runs[r], dir, runs[r], dir, runs[r]);
        CHECK_MSG(system(cmd) == 0, "lora: the %s run failed", runs[r]);
    }
    snprintf(a, sizeof a, "%s/two/adapter_model.safetensors", dir);
    snprintf(b, sizeof b, "%s/blocking/adapter_model.safetensors", dir);
    double d = mpi_test_weights_diff(a, b);
    CHECK_MSG(d == 0, "lora: the blocking all-reduce's adapter differs from the overlapped one's by %.3g", d);
    snprintf(b, sizeof b, "%s/one/adapter_model.safetensors", dir);
    double d1 = mpi_test_weights_diff(a, b);
    CHECK_MSG(d1 <= 1e-5, "lora: mpirun -np 2's adapter differs from one process with batch 8's by %.3g", d1);
    printf("lora: mpirun -np 2 = one process with batch 8 (adapter within %.2g); LMT_DIST_OVERLAP=0 bit for bit\n", d1);
    ref_remove_dir(dir);
}

/* lmtune train --task translation with generation in the evaluations under
 * mpirun -np 2, batch 1 per rank, 5 evaluation pairs in batches of 2: rank 0
 * generates global batches 0 and 2 (pair 4 and pair 0 wrapped round), rank 1
 * batches 1 and 3 (pairs 1, 2 wrapped round); the gather puts them back in
 * order and drops the three duplicates. Steps, eval_bleu, eval_gen_len and
 * the generated texts equal one process with batch 2 (whose metrics
 * test_seq2seq_trainer checks against transformers); eval_loss is the
 * sharded one (average_tokens_across_devices, as torchrun's), so it equals
 * mpirun -np 2 evaluating without generation. */
static void check_translation(const char *self) {
    (void)self;
    char dir[] = "/tmp/lmt-mpi-translation-XXXXXX", cmd[4096], path[1200], val[1200];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/pairs.jsonl", dir);
    snprintf(val, sizeof val, "%s/val.jsonl", dir);
    static const char pairs[] =
        "{\"translation\": {\"en\": \"&Folder:\", \"fr\": \"&Dossier :\"}}\n"
        "{\"translation\": {\"en\": \"Add Archive Mail\", \"fr\": \"Ajouter une archive de courrier\"}}\n"
        "{\"translation\": {\"en\": \"Add...\", \"fr\": \"Ajouter...\"}}\n"
        "{\"translation\": {\"en\": \"Archive\", \"fr\": \"Archive\"}}\n"
        "{\"translation\": {\"en\": \"Delete\", \"fr\": \"Supprimer\"}}\n"
        "{\"translation\": {\"en\": \"Days\", \"fr\": \"Jours\"}}\n";
    static const char vals[] =
        "{\"translation\": {\"en\": \"Add Archive Mail\", \"fr\": \"Ajouter une archive de courrier\"}}\n"
        "{\"translation\": {\"en\": \"Days\", \"fr\": \"Jours\"}}\n"
        "{\"translation\": {\"en\": \"&Folder:\", \"fr\": \"&Dossier :\"}}\n"
        "{\"translation\": {\"en\": \"Delete the archive\", \"fr\": \"Supprimer l'archive\"}}\n"
        "{\"translation\": {\"en\": \"Add...\", \"fr\": \"Ajouter...\"}}\n";
    CHECK_OK(lmt_write_file_atomic(path, pairs, sizeof pairs - 1));
    CHECK_OK(lmt_write_file_atomic(val, vals, sizeof vals - 1));
    const char *args = "train --task translation --model_name_or_path " LMT_SOURCE_DIR "/tests/fixtures/seq2seq_trainer/model "
                       "--tokenizer_name " LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt --source_lang en --target_lang fr "
                       "--max_steps 2 --per_device_eval_batch_size 2 --logging_steps 1 --eval_strategy steps --eval_steps 2 "
                       "--save_strategy no --generation_num_beams 2 --generation_max_length 8";
    static const char *const runs[3] = {"two", "one", "loss"};
    for (int r = 0; r < 3; r++) {
        bool mpi = r != 1;
        snprintf(cmd, sizeof cmd, "%s'%s' %s %s --train_file %s --validation_file %s --per_device_train_batch_size %d "
                 "--output_dir %s/%s --eval_predictions_file %s/%s.txt > %s/%s.log 2>&1 || cat %s/%s.log",
                 mpi ? "timeout 300 mpirun -np 2 --oversubscribe --bind-to none " : "", LMT_CLI_PATH, args,
                 r < 2 ? "--predict_with_generate" : "", path, val, mpi ? 1 : 2, dir, runs[r], dir, runs[r], dir, runs[r], dir, runs[r]);
        CHECK_MSG(system(cmd) == 0, "translation: the %s run failed", runs[r]);
    }
    lmt_json *st[3];
    const lmt_json *lg[3];
    for (int r = 0; r < 3; r++) {
        snprintf(path, sizeof path, "%s/%s", dir, runs[r]);
        st[r] = read_log(path);
        lg[r] = st[r] ? lmt_json_get(st[r], "log_history") : NULL;
    }
    const lmt_json *lt = lg[0], *lo = lg[1], *ll = lg[2];
    /* 2 steps, an evaluation, the summary (its total_flos counts each batch's padding: not compared), the final evaluation */
    CHECK_MSG(lt && lo && ll && lt->len == 5 && lo->len == 5 && ll->len == 5, "translation: %zu, %zu and %zu log entries",
              lt ? lt->len : 0, lo ? lo->len : 0, ll ? ll->len : 0);
    int bad = 0, evals = 0;
    for (size_t i = 0; lt && lo && ll && i < lt->len && i < lo->len && i < ll->len; i++) {
        const lmt_json *e = &lt->items[i], *loss = lmt_json_get(e, "eval_loss"), *want = lmt_json_get(&ll->items[i], "eval_loss");
        if (lmt_json_get(e, "train_runtime")) continue;
        bad += entry_diff(&lo->items[i], e, i, true);
        if (!loss) continue;
        evals++;
        CHECK_MSG(lmt_json_get(e, "eval_bleu") && lmt_json_get(e, "eval_gen_len"), "translation: log entry %zu has no eval_bleu / eval_gen_len", i);
        CHECK_MSG(want && fabs(loss->num - want->num) <= 1e-9 * fabs(want->num),
                  "translation: log entry %zu: eval_loss %.9g with generation, %.9g without", i, loss->num, want ? want->num : NAN);
    }
    CHECK_MSG(evals == 2, "translation: %d evaluations logged", evals);
    CHECK_MSG(bad == 0, "translation: %d logged values differ between mpirun -np 2 and one process", bad);
    snprintf(path, sizeof path, "%s/two.txt", dir);
    char *pt = slurp(path);
    snprintf(path, sizeof path, "%s/one.txt", dir);
    char *po = slurp(path);
    int lines = 0;
    for (const char *c = pt; c && *c; c++) lines += *c == '\n';
    CHECK_MSG(pt && po && !strcmp(pt, po) && lines == 5, "translation: mpirun -np 2 generated (%d lines)\n%s\none process\n%s", lines,
              pt ? pt : "", po ? po : "");
    printf("translation with generation: mpirun -np 2 = one process with batch 2 (5 evaluation pairs, 3 duplicates dropped)\n");
    free(pt);
    free(po);
    for (int r = 0; r < 3; r++) lmt_json_free(st[r]);
    ref_remove_dir(dir);
}

/* lmt_dist_allgatherv_i32 on every rank: rank r sends 2r values (rank 0 none), 1000r + k */
static int gatherv_worker(void) {
    lmt_status s = lmt_dist_init();
    int W = lmt_dist_world_size(), R = lmt_dist_rank(), bad = 0;
    int32_t mine[64], *all = NULL;
    size_t counts[32] = {0};
    for (int k = 0; k < 2 * R && k < 64; k++) mine[k] = 1000 * R + k;
    if (s == LMT_OK && W <= 32) s = lmt_dist_allgatherv_i32(mine, (size_t)(2 * R), &all, counts, "the gatherv test");
    for (int r = 0, at = 0; s == LMT_OK && r < W; at += 2 * r, r++) {
        bad += counts[r] != (size_t)(2 * r);
        for (int k = 0; k < 2 * r; k++) bad += all[at + k] != 1000 * r + k;
    }
    free(all);
    if (s != LMT_OK || bad || W > 32) {
        fprintf(stderr, "gatherv rank %d: %s, %d wrong values\n", R, s != LMT_OK ? lmt_last_error() : "ok", bad);
        lmt_dist_abort(1);
        return 1;
    }
    lmt_dist_finalize();
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "--worker")) return worker(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 0);
    if (argc >= 2 && !strcmp(argv[1], "--gatherv")) return gatherv_worker();
    check_shards();
    {   /* lmtune info says whether the build has MPI */
        char cmd[1200], line[512] = "";
        snprintf(cmd, sizeof cmd, "'%s' info 2>&1 | grep '^mpi: '", LMT_CLI_PATH);
        FILE *p = popen(cmd, "r");
        if (p && !fgets(line, sizeof line, p)) line[0] = '\0';
        if (p) pclose(p);
        CHECK_MSG(lmt_dist_backend() ? strstr(line, "mpi: Open MPI") != NULL : strstr(line, "mpi: no (built without MPI") != NULL,
                  "lmtune info: \"%s\"", line);
    }
    const char *skip = mpi_test_skip_reason();
    if (skip) {
        printf("skipped the mpirun runs: %s\n", skip);
        return lmt_test_finish() ? 1 : 77;
    }
    mpi_test_env();
    /* the overlapped all-reduce with a bucket per layer, handed over while the backward runs (the default
     * 25 MB would hold these tiny models whole, sent after it) */
    setenv("LMT_DIST_BUCKET_BYTES", "4", 1);
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(REF "ddp.json", &ref));
    if (!ref) return lmt_test_finish();
    const char *quick = getenv("LMT_TEST_QUICK");
    const char *names[] = {"clm", "mlm", "clm_accum"};
    size_t n_runs = quick && *quick && strcmp(quick, "0") ? 1 : 3;
    char self[1024];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(sl > 0);
    self[sl > 0 ? sl : 0] = '\0';
    for (size_t r = 0; r < n_runs; r++) {
        const lmt_json *run = find_run(ref, names[r]);
        CHECK_MSG(run != NULL, "%s: not in ddp.json", names[r]);
        if (!run) continue;
        char dir[] = "/tmp/lmt-mpi-parity-XXXXXX", cmd[4096], path[1200];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(cmd, sizeof cmd, "timeout 300 mpirun -np 2 --oversubscribe --bind-to none '%s' --worker %s %s/mpi > %s/log 2>&1 || cat %s/log",
                 self, names[r], dir, dir, dir);
        CHECK_MSG(system(cmd) == 0, "%s: mpirun -np 2 failed", names[r]);
        snprintf(path, sizeof path, "%s/mpi", dir);
        lmt_json *got = read_log(path);
        const lmt_json *want_log = lmt_json_get(run, "log_history"), *got_log = got ? lmt_json_get(got, "log_history") : NULL;
        compare_logs(names[r], want_log, want_log->len, got_log);
        const lmt_json *last = got_log && got_log->len ? &got_log->items[got_log->len - 1] : NULL;
        CHECK_MSG(last && lmt_json_get(last, "train_loss") &&
                      fabs(lmt_json_get(last, "train_loss")->num - lmt_json_get(run, "training_loss")->num) <= 1e-4,
                  "%s: train_loss", names[r]);
        CHECK_MSG(got && fabs(lmt_json_get(got, "total_flos")->num / lmt_json_get(run, "total_flos")->num - 1) <= 1e-9,
                  "%s: total_flos %.9g, transformers %.9g", names[r], got ? lmt_json_get(got, "total_flos")->num : NAN,
                  lmt_json_get(run, "total_flos")->num);
        char model[1300], refw[1300];
        snprintf(model, sizeof model, "%s/mpi/model/model.safetensors", dir);
        snprintf(refw, sizeof refw, REF "%s_final.safetensors", names[r]);
        double d = mpi_test_weights_diff(refw, model);   /* every reference tensor (tied heads are not saved) */
        CHECK_MSG(d <= 1e-4, "%s: final weights differ from transformers' (torchrun) by up to %.3g", names[r], d);
        printf("%s: mpirun -np 2 = torchrun --nproc_per_node 2 (%zu log entries, weights within %.2g)\n", names[r],
               lmt_json_get(run, "log_history")->len, d);
        /* one process, batch 8: the same global batches (whole in clm and mlm) */
        if (strcmp(names[r], "clm_accum")) {
            snprintf(path, sizeof path, "%s/one", dir);
            CHECK_OK(train_run(run, path, 8));
            lmt_json *one = read_log(path);
            if (one && got_log) compare_logs("one process with batch 8", got_log, got_log->len - 1, lmt_json_get(one, "log_history"));
            char onew[1300];
            snprintf(onew, sizeof onew, "%s/one/model/model.safetensors", dir);
            double d1 = mpi_test_weights_diff(model, onew);
            CHECK_MSG(d1 <= 1e-4, "%s: weights of mpirun -np 2 and of one process with batch 8 differ by up to %.3g", names[r], d1);
            printf("%s: mpirun -np 2 = one process with batch 8 (weights within %.2g)\n", names[r], d1);
            lmt_json_free(one);
        }
        /* 4 ranks with batch 2: the same global batches again, and an evaluation whose last two batches
         * are all padding (wrapped round, dropped by the gather) */
        if (!strcmp(names[r], "clm") && n_runs > 1) {
            snprintf(cmd, sizeof cmd, "timeout 300 mpirun -np 4 --oversubscribe --bind-to none '%s' --worker clm %s/four 2 > %s/log4 2>&1 "
                     "|| cat %s/log4", self, dir, dir, dir);
            CHECK_MSG(system(cmd) == 0, "clm: mpirun -np 4 failed");
            snprintf(path, sizeof path, "%s/four", dir);
            lmt_json *four = read_log(path);
            compare_logs("clm: mpirun -np 4 with batch 2 vs torchrun 2 x 4", want_log, want_log->len, four ? lmt_json_get(four, "log_history") : NULL);
            char fw[1300];
            snprintf(fw, sizeof fw, "%s/four/model/model.safetensors", dir);
            double d4 = mpi_test_weights_diff(refw, fw);
            CHECK_MSG(d4 <= 1e-4, "clm: mpirun -np 4 with batch 2: final weights differ from transformers' by up to %.3g", d4);
            printf("clm: mpirun -np 4 with batch 2 = torchrun --nproc_per_node 2 with batch 4 (weights within %.2g)\n", d4);
            lmt_json_free(four);
        }
        /* the blocking all-reduce after the backward (LMT_DIST_OVERLAP=0) and 25 MB buckets give the same
         * bits: two ranks' sums do not depend on how the buffer is cut */
        if (strcmp(names[r], "clm_accum")) {
            const char *how[] = {"LMT_DIST_OVERLAP=0", "LMT_DIST_BUCKET_BYTES=26214400"};
            for (int h = 0; h < 2; h++) {
                snprintf(cmd, sizeof cmd, "env %s timeout 300 mpirun -np 2 --oversubscribe --bind-to none '%s' --worker %s %s/v%d > %s/logv 2>&1 "
                         "|| cat %s/logv", how[h], self, names[r], dir, h, dir, dir);
                CHECK_MSG(system(cmd) == 0, "%s: mpirun -np 2 with %s failed", names[r], how[h]);
                char vw[1300];
                snprintf(vw, sizeof vw, "%s/v%d/model/model.safetensors", dir, h);
                double dv = mpi_test_weights_diff(model, vw);
                CHECK_MSG(dv == 0, "%s: weights with %s differ from the overlapped run's by %.3g", names[r], how[h], dv);
                printf("%s: %s gives the overlapped run's weights bit for bit\n", names[r], how[h]);
            }
        }
        lmt_json_free(got);
        ref_remove_dir(dir);
    }
    lmt_json_free(ref);
    {   /* the variable-length gather of the generations, on 3 ranks and on one */
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "timeout 120 mpirun -np 3 --oversubscribe --bind-to none '%s' --gatherv && '%s' --gatherv", self, self);
        CHECK_MSG(system(cmd) == 0, "lmt_dist_allgatherv_i32 under mpirun -np 3 (or on one process) failed");
    }
    check_translation(self);
    check_lora();
    return lmt_test_finish();
}
