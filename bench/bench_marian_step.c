/* Marian translation workloads on a Marian configuration with random
 * weights (opus-mt-en-fr by default), the lmtune side of
 * bench/run_translation_bench.sh:
 *
 *   bench_marian_step train     KDE TOKDIR [steps] [B] [config.json] [dump.json]
 *   bench_marian_step translate KDE TOKDIR [n_sentences] [num_beams] [max_length] [config.json] [dump.json]
 *
 * The batch: KDE en-fr pairs (every 1000th line of KDE, a jsonl of
 * {"translation": {"en", "fr"}}), tokenized by lmtune with TOKDIR's
 * MarianTokenizer (opus-mt-tc-big-en-pt: its ids, up to 54775, all fall
 * inside opus-mt-en-fr's 59514-entry vocabulary; the vocabularies differ,
 * so the ids mean other tokens to the model, which does not matter to
 * random weights), pairs longer than 48 tokens a side skipped for the next
 * line (a few KDE entries are long help texts), padded to the longest with the
 * config's pad_token_id (labels -100 there), decoder_input_ids = labels
 * shifted right (DataCollatorForSeq2Seq). dump.json receives the batch so
 * that bench/translation_peer.py runs on exactly the same ids.
 *
 * train: training steps (forward with dropout, backward, gradient clipping
 * to 1.0, AdamW lr 5e-5, weight decay 0.01) on that one batch; one warm-up
 * step, then tokens/s over B x (Ts + Tt) padded positions per step.
 * translate: beam search over the English sides (one call, all sentences
 * as one batch) with min_length = max_length so that no row stops early
 * (random weights would otherwise stop at random): sentences/s.
 * Both print one JSON line last (and peak RSS). Threads: OMP_NUM_THREADS,
 * OPENBLAS_NUM_THREADS. LMT_PROFILE=1 adds the per-kernel table (to
 * stderr; the warm-up step is left out). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <omp.h>
#include "core/error.h"
#include "core/json.h"
#include "core/profile.h"
#include "core/util.h"
#include "generate/seq2seq_generate.h"
#include "kernels/matmul.h"
#include "lmtune/tokenizer.h"
#include "models/marian.h"
#include "models/model.h"
#include "train/adamw.h"

#ifndef LMT_SHARED_DATA_DIR
#define LMT_SHARED_DATA_DIR "/work/shared/data"
#endif

#define MAXTOK 48

typedef struct {
    int B, Ts, Tt;
    int32_t *ids, *mask, *labels, *dec;   /* (B, Ts), (B, Ts), (B, Tt), (B, Tt) */
    long real_src, real_tgt;              /* tokens before padding */
} batch;

static void die(const char *what) {
    fprintf(stderr, "bench_marian_step: %s: %s\n", what, lmt_last_error());
    exit(1);
}

/* Every 1000th KDE pair, B of them, tokenized (source, text_target). */
static void make_batch(const char *kde, const char *tokdir, int B, const lmt_config *c, batch *b) {
    char *text = NULL;
    size_t len = 0;
    if (lmt_read_file(kde, &text, &len) != LMT_OK) die(kde);
    lmt_tokenizer *tok = NULL;
    if (lmt_tokenizer_load(tokdir, &tok) != LMT_OK) die(tokdir);
    lmt_encoding *src = calloc((size_t)B, sizeof *src), *tgt = calloc((size_t)B, sizeof *tgt);
    int got = 0;
    long line = 0;
    bool want = false;
    for (char *p = text; p < text + len && got < B; line++) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        want = want || line % 1000 == 0;
        if (want && n > 0) {
            lmt_json *j = NULL;
            if (lmt_json_parse(p, n, kde, &j) != LMT_OK) die(kde);
            const lmt_json *tr = lmt_json_get(j, "translation");
            const lmt_json *en = tr ? lmt_json_get(tr, "en") : NULL, *fr = tr ? lmt_json_get(tr, "fr") : NULL;
            if (!en || !fr || en->type != LMT_JSON_STRING || fr->type != LMT_JSON_STRING) {
                fprintf(stderr, "bench_marian_step: %s line %ld: no translation.en / translation.fr\n", kde, line + 1);
                exit(1);
            }
            lmt_encode_opts o = lmt_encode_opts_default();
            if (lmt_tokenizer_encode(tok, en->str, en->len, NULL, 0, &o, &src[got]) != LMT_OK) die("encode");
            o.text_target = true;
            if (lmt_tokenizer_encode(tok, fr->str, fr->len, NULL, 0, &o, &tgt[got]) != LMT_OK) die("encode");
            /* KDE holds a few long help texts: keep pairs of up to MAXTOK
             * tokens a side (else the next line), as short as UI strings */
            if (src[got].n <= MAXTOK && tgt[got].n <= MAXTOK) { got++; want = false; }
            else { lmt_encoding_free(&src[got]); lmt_encoding_free(&tgt[got]); }
            lmt_json_free(j);
        }
        p += n + 1;
    }
    if (got < B) { fprintf(stderr, "bench_marian_step: %s has only %d pairs at every 1000th line\n", kde, got); exit(1); }
    b->B = B;
    b->Ts = b->Tt = 0;
    b->real_src = b->real_tgt = 0;
    for (int i = 0; i < B; i++) {
        if ((int)src[i].n > b->Ts) b->Ts = (int)src[i].n;
        if ((int)tgt[i].n > b->Tt) b->Tt = (int)tgt[i].n;
        b->real_src += (long)src[i].n;
        b->real_tgt += (long)tgt[i].n;
    }
    size_t Ne = (size_t)B * b->Ts, Nd = (size_t)B * b->Tt;
    b->ids = malloc(Ne * 4); b->mask = malloc(Ne * 4); b->labels = malloc(Nd * 4); b->dec = malloc(Nd * 4);
    int32_t pad = (int32_t)c->pad_token_id;
    for (int i = 0; i < B; i++) {
        for (int t = 0; t < b->Ts; t++) {
            bool in = t < (int)src[i].n;
            b->ids[(size_t)i * b->Ts + t] = in ? src[i].ids[t] : pad;
            b->mask[(size_t)i * b->Ts + t] = in;
        }
        for (int t = 0; t < b->Tt; t++) {
            b->labels[(size_t)i * b->Tt + t] = t < (int)tgt[i].n ? tgt[i].ids[t] : -100;
            int32_t prev = t == 0 ? (int32_t)c->decoder_start_token_id : (t - 1 < (int)tgt[i].n ? tgt[i].ids[t - 1] : pad);
            b->dec[(size_t)i * b->Tt + t] = prev;
        }
        lmt_encoding_free(&src[i]);
        lmt_encoding_free(&tgt[i]);
    }
    free(src);
    free(tgt);
    lmt_tokenizer_free(tok);
    free(text);
}

static void put_rows(FILE *f, const char *name, const int32_t *v, int B, int T) {
    fprintf(f, "\"%s\": [", name);
    for (int i = 0; i < B; i++) {
        fprintf(f, "%s[", i ? ", " : "");
        for (int t = 0; t < T; t++) fprintf(f, "%s%d", t ? ", " : "", v[(size_t)i * T + t]);
        fprintf(f, "]");
    }
    fprintf(f, "]");
}

static void dump(const char *path, const batch *b) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    fprintf(f, "{");
    put_rows(f, "input_ids", b->ids, b->B, b->Ts);
    fprintf(f, ", ");
    put_rows(f, "attention_mask", b->mask, b->B, b->Ts);
    fprintf(f, ", ");
    put_rows(f, "labels", b->labels, b->B, b->Tt);
    fprintf(f, ", ");
    put_rows(f, "decoder_input_ids", b->dec, b->B, b->Tt);
    fprintf(f, "}\n");
    fclose(f);
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    bool train = argc > 3 && !strcmp(argv[1], "train"), translate = argc > 3 && !strcmp(argv[1], "translate");
    if (!train && !translate) {
        fprintf(stderr, "usage: %s train KDE.jsonl TOKDIR [steps] [B] [config.json] [dump.json]\n"
                        "       %s translate KDE.jsonl TOKDIR [n_sentences] [num_beams] [max_length] [config.json] [dump.json]\n",
                argv[0], argv[0]);
        return 2;
    }
    const char *kde = argv[2], *tokdir = argv[3];
    int a4 = argc > 4 ? atoi(argv[4]) : (train ? 3 : 32);
    int a5 = argc > 5 ? atoi(argv[5]) : (train ? 32 : 4);
    int a6 = train ? 0 : (argc > 6 ? atoi(argv[6]) : 64);
    int ci = train ? 6 : 7;
    const char *cfg_path = argc > ci ? argv[ci] : LMT_SHARED_DATA_DIR "/configs/opus-mt-en-fr.json";
    const char *dump_path = argc > ci + 1 ? argv[ci + 1] : NULL;
    if (a4 <= 0 || a5 <= 0 || (translate && a6 < 2)) { fprintf(stderr, "bench_marian_step: bad sizes\n"); return 2; }
    lmt_profile_enable(getenv("LMT_PROFILE") && atoi(getenv("LMT_PROFILE")) > 0);
    lmt_config cfg;
    lmt_model *m = NULL;
    if (lmt_config_load(cfg_path, &cfg) != LMT_OK || lmt_model_init(&cfg, 1, &m) != LMT_OK) die(cfg_path);
    const char *bt = getenv("OPENBLAS_NUM_THREADS");
    printf("model: %s (%zu parameters); threads: OpenMP %d, OPENBLAS_NUM_THREADS=%s; %s\n", cfg_path,
           lmt_model_num_params(m), omp_get_max_threads(), bt ? bt : "(unset)", lmt_matmul_backend());
    batch b;
    if (train) {
        int steps = a4, B = a5;
        make_batch(kde, tokdir, B, &m->cfg, &b);
        if (dump_path) dump(dump_path, &b);
        lmt_marian *mt = NULL;
        lmt_adamw opt;
        if (lmt_marian_create(m, B, b.Ts, b.Tt, true, &mt) != LMT_OK) die("lmt_marian_create");
        mt->loss_only = true;   // as the Trainer's task: the LM head on the labelled rows only
        if (lmt_adamw_init(&opt, &m->layout, 0.9, 0.999, 1e-8, 0.01) != LMT_OK) die("adamw");
        double tf = 0, tb = 0, to = 0, total = 0, loss = 0;
        for (int s = -1; s < steps; s++) {   // step -1 warms up
            double t0 = lmt_time_s();
            if (s == 0) lmt_profile_reset();
            lmt_marian_zero_grad(mt);
            if (lmt_marian_forward(mt, LMT_I32, b.ids, b.mask, b.dec, b.labels, B, b.Ts, b.Tt, true) != LMT_OK) die("forward");
            double t1 = lmt_time_s();
            if (lmt_marian_backward(mt) != LMT_OK) die("backward");
            double t2 = lmt_time_s();
            double norm = lmt_grad_norm(mt->net.grads, &m->layout);
            lmt_adamw_step_scaled(&opt, m->params, mt->net.grads, 5e-5, lmt_clip_coef(norm, 1.0));
            double t3 = lmt_time_s();
            if (s >= 0) { tf += t1 - t0; tb += t2 - t1; to += t3 - t2; total += t3 - t0; }
            loss = mt->net.loss;
        }
        if (lmt_profile_on) lmt_profile_print(stderr, steps);
        double tok = (double)B * (b.Ts + b.Tt) * steps / total;
        printf("batch %d x %d source / %d target (%ld / %ld real tokens), %d steps, dropout on\n", B, b.Ts, b.Tt,
               b.real_src, b.real_tgt, steps);
        printf("per step: forward %.3f s, backward %.3f s, clip+AdamW %.3f s, total %.3f s (last loss %.4f)\n",
               tf / steps, tb / steps, to / steps, total / steps, loss);
        printf("{\"train_tokens_per_s\": %.2f, \"step_s\": %.4f, \"B\": %d, \"Ts\": %d, \"Tt\": %d, \"peak_rss_mib\": %.1f}\n",
               tok, total / steps, B, b.Ts, b.Tt, peak_rss_mib());
        lmt_adamw_free(&opt);
        lmt_marian_free(mt);
    } else {
        int n = a4, nb = a5, L = a6;
        make_batch(kde, tokdir, n, &m->cfg, &b);
        if (dump_path) dump(dump_path, &b);
        lmt_s2s_gen_opts go = lmt_s2s_gen_opts_from_model(m);
        go.num_beams = nb;
        go.num_return_sequences = 1;
        go.max_length = L;
        go.max_new_tokens = 0;
        go.min_length = L;      /* every row runs to max_length: the same work on both sides */
        go.min_new_tokens = 0;
        int32_t *out = NULL;
        int out_len = 0;
        double t0 = lmt_time_s();
        if (lmt_seq2seq_generate(m, b.ids, b.mask, n, b.Ts, &go, &out, &out_len, NULL) != LMT_OK) die("generate");
        double dt = lmt_time_s() - t0;
        if (lmt_profile_on) lmt_profile_print(stderr, 1);
        printf("%d sentences (%d x %d source tokens), num_beams %d, max_length %d: %.3f s, output length %d\n", n, n, b.Ts,
               nb, L, dt, out_len);
        printf("{\"sentences_per_s\": %.3f, \"generate_s\": %.4f, \"out_len\": %d, \"peak_rss_mib\": %.1f}\n", n / dt, dt,
               out_len, peak_rss_mib());
        free(out);
    }
    free(b.ids); free(b.mask); free(b.labels); free(b.dec);
    lmt_model_free(m);
    return 0;
}
