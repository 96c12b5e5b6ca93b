/* LoRA parity with peft 0.21.2 (tests/fixtures/lora, made by
 * tools/reference/make_lora_fixtures.py) on the tiny GPT-2 (Conv1D,
 * fan_in_fan_out), Llama (grouped-query, untied head), BERT (MLM; a regex
 * target_modules) and Marian (self and cross attention) fixtures, and GPT-2
 * with bias="all" and Llama with modules_to_save=["lm_head"]:
 * - a fresh adapter: A bit for bit as get_peft_model draws it after
 *   torch.manual_seed(1234), B zero;
 * - peft's saved adapter loads; logits and loss within 1e-5 relative;
 * - the gradient of every lora_A / lora_B within 1e-4 relative, and the
 *   frozen base's gradient buffer untouched (all zeros);
 * - our saved adapter has peft's tensor names, shapes and values, and
 *   adapter_config.json peft's keys;
 * - merge_and_unload(): the merged model, saved and loaded back (what
 *   `lmtune merge` writes), gives peft's merged logits;
 * - print_trainable_parameters' counts;
 * - the six real adapter_config.json files of ../shared/data/lora-adapters parse;
 * - a 30-step Trainer run from peft's adapter (trainer.json: peft + transformers'
 *   Trainer), step for step: loss, grad_norm, learning_rate, eval_loss; only the
 *   adapters change; checkpoints hold the adapter alone, and a run resumed
 *   from one ends with the uninterrupted run's adapters, bit for bit;
 * - bias all / lora_only: the biases' gradients (transformers' full-model
 *   ones, as B = 0) in the adapters' buffer, the biases in the adapter file;
 * - lora_dropout: its gradients against central differences of the loss;
 * - bad input: targets that match nothing, r <= 0 (given, and in a file), an
 *   adapter for another model, a folder without weights: errors naming the
 *   file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "parity.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/gpt2.h"
#include "models/encoder_mlm.h"
#include "models/llama.h"
#include "models/marian.h"
#include "models/lora.h"
#include "models/model.h"
#include "trainer_ref.h"
#include "train/finetune.h"
#include "train/task_clm.h"

#define FXL LMT_SOURCE_DIR "/tests/fixtures/lora"
#define FXM LMT_SOURCE_DIR "/tests/fixtures/models"

/* a model of any family behind one interface */
typedef struct clm { lmt_gpt2 *g; lmt_llama *l; lmt_encoder_mlm *e; lmt_marian *mt; } clm;
/* Tt: Marian's target length */
static lmt_status fam_create(lmt_model *m, int B, int T, int Tt, bool grads, clm *c) {
    *c = (clm){0};
    switch (m->cfg.arch) {
    case LMT_ARCH_GPT2: return lmt_gpt2_create(m, B, T, grads, &c->g);
    case LMT_ARCH_MARIAN: return lmt_marian_create(m, B, T, Tt, grads, &c->mt);
    case LMT_ARCH_BERT: return lmt_encoder_mlm_create(m, B, T, grads, &c->e);
    default: return lmt_llama_create(m, B, T, grads, &c->l);
    }
}
static lmt_status clm_create(lmt_model *m, int B, int T, bool grads, clm *c) { return fam_create(m, B, T, T, grads, c); }
static lmt_net *clm_net(clm *c) { return c->g ? &c->g->net : c->l ? &c->l->net : c->e ? &c->e->net : &c->mt->net; }
static const float *clm_logits(clm *c) { return c->g ? c->g->logits : c->l ? c->l->logits : c->e ? c->e->logits : c->mt->logits; }
/* Tt: the labels' length (Marian), else b->T */
static lmt_status fam_forward(clm *c, const parity_batch *b, int Tt, bool labels) {
    const void *lab = labels ? b->labels : NULL;
    if (c->g) return lmt_gpt2_forward(c->g, LMT_I64, b->ids, b->mask, lab, b->B, b->T, false);
    if (c->l) return lmt_llama_forward(c->l, LMT_I64, b->ids, b->mask, lab, b->B, b->T, false);
    if (c->e) return lmt_encoder_mlm_forward(c->e, LMT_I64, b->ids, b->mask, NULL, lab, b->B, b->T, false);
    return lmt_marian_forward(c->mt, LMT_I64, b->ids, b->mask, NULL, b->labels, b->B, b->T, Tt, false);
}
static lmt_status clm_forward(clm *c, const parity_batch *b, bool labels) { return fam_forward(c, b, b->T, labels); }
static lmt_status clm_backward(clm *c) {
    return c->g ? lmt_gpt2_backward(c->g) : c->l ? lmt_llama_backward(c->l) : c->e ? lmt_encoder_mlm_backward(c->e)
                                                                                 : lmt_marian_backward(c->mt);
}
static void clm_free(clm *c) {
    lmt_gpt2_free(c->g);
    lmt_llama_free(c->l);
    lmt_encoder_mlm_free(c->e);
    lmt_marian_free(c->mt);
}

static void compare_files(const char *what, const char *ours, const char *theirs) {
    lmt_tensor_file *a = NULL, *b = NULL;
    CHECK_OK(lmt_safetensors_open(ours, &a));
    CHECK_OK(lmt_safetensors_open(theirs, &b));
    if (a && b) {
        CHECK_MSG(a->n == b->n, "%s: %zu tensors saved, peft saved %zu", what, a->n, b->n);
        for (size_t i = 0; i < b->n; i++) {
            const lmt_tensor_entry *e = lmt_tensor_file_find(a, b->entries[i].name);
            CHECK_MSG(e != NULL, "%s: we did not save %s", what, b->entries[i].name);
            if (!e) continue;
            CHECK_MSG(e->ndim == b->entries[i].ndim && e->nbytes == b->entries[i].nbytes &&
                      memcmp(e->shape, b->entries[i].shape, sizeof e->shape) == 0 &&
                      memcmp(e->data, b->entries[i].data, e->nbytes) == 0,
                      "%s: %s differs from peft's", what, e->name);
        }
    }
    lmt_tensor_file_free(a);
    lmt_tensor_file_free(b);
}

static int cmp_json_str(const void *a, const void *b) {
    return strcmp(((const lmt_json *)a)->str, ((const lmt_json *)b)->str);
}

static void compare_config_keys(const char *ours, const char *theirs) {
    lmt_json *a = NULL, *b = NULL;
    CHECK_OK(lmt_json_parse_file(ours, &a));
    CHECK_OK(lmt_json_parse_file(theirs, &b));
    if (a && b) {
        CHECK_MSG(a->len == b->len, "%s: %zu keys, peft's %zu", ours, a->len, b->len);
        for (size_t i = 0; i < b->len; i++)
            CHECK_MSG(lmt_json_get(a, b->keys[i]) != NULL, "%s: no key \"%s\"", ours, b->keys[i]);
        const char *keys[] = {"r", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias", "target_modules", "peft_type"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            lmt_strbuf x, y;
            lmt_sb_init(&x);
            lmt_sb_init(&y);
            lmt_json_write_py(&x, lmt_json_get(a, keys[k]), 0, true);
            lmt_json *t = lmt_json_clone(lmt_json_get(b, keys[k]));
            if (t && t->type == LMT_JSON_ARRAY)   // peft writes a Python set: its order is the hash's
                qsort(t->items, t->len, sizeof *t->items, cmp_json_str);
            lmt_json_write_py(&y, t, 0, true);
            lmt_json_free(t);
            CHECK_MSG(x.data && y.data && strcmp(x.data, y.data) == 0, "%s: %s = %s, peft's %s", ours, keys[k],
                      x.data ? x.data : "?", y.data ? y.data : "?");
            lmt_sb_free(&x);
            lmt_sb_free(&y);
        }
    }
    lmt_json_free(a);
    lmt_json_free(b);
}

static bool all_zero(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++) if (v[i] != 0.0f) return false;
    return true;
}

/* get_peft_model's initialisation after torch.manual_seed(1234): every A bit for bit, B zero */
static void check_init(const char *name, const char *dir, lmt_model *m, const lmt_tensor_file *ref) {
    char path[600], nm[256], key[300];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    lmt_lora_config c;
    CHECK_OK(lmt_lora_config_load(path, &c));
    lmt_lora *l = NULL;
    CHECK_OK(lmt_lora_create(m, &c, 1234, path, &l));
    int same = 0;
    for (int k = 0; l && k < l->n; k++) {
        lmt_lora_tensor_name(l, k, false, nm, sizeof nm);
        snprintf(key, sizeof key, "init.%s", nm);
        const lmt_tensor_entry *e = need(ref, key, LMT_F32);
        const lmt_adapter *a = &l->ad[k];
        same += e && e->nbytes == (size_t)a->r * a->IC * 4 && memcmp(e->data, a->A, e->nbytes) == 0 &&
                all_zero(a->B, (size_t)a->OC * a->r);
    }
    CHECK_MSG(l && same == l->n, "%s: %d of %d adapters initialised as peft's", name, same, l ? l->n : 0);
    lmt_lora_free(l);
    lmt_lora_config_free(&c);
}

static void check_family(const char *name, const char *base) {
    char dir[512], mdir[512], path[600];
    snprintf(dir, sizeof dir, "%s/%s", FXL, name);
    snprintf(mdir, sizeof mdir, "%s/%s", FXM, base);
    lmt_tensor_file *ref = NULL;
    snprintf(path, sizeof path, "%s/reference.safetensors", dir);
    CHECK_OK(lmt_safetensors_open(path, &ref));
    parity_batch b;
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(mdir, &m));
    if (!ref || !m || !parity_read_batch(ref, &b)) { lmt_tensor_file_free(ref); lmt_model_free(m); return; }
    check_init(name, dir, m, ref);
    lmt_lora *lo = NULL;
    CHECK_OK(lmt_lora_load(m, dir, &lo));
    const lmt_tensor_entry *lab = lmt_tensor_file_find(ref, "labels"), *lg = need(ref, "logits", LMT_F32);
    int Tt = lab ? (int)lab->shape[1] : b.T;
    size_t nlog = lg ? lg->nbytes / 4 : 0;
    clm c;
    CHECK_OK(fam_create(m, b.B, b.T, Tt, true, &c));
    if (lo && lg && (c.g || c.l || c.e || c.mt)) {
        lmt_net *n = clm_net(&c);
        CHECK_OK(lmt_lora_attach(lo, n, (size_t)b.B * (b.T > Tt ? b.T : Tt)));
        CHECK_OK(fam_forward(&c, &b, Tt, false));   // every row's logits
        close_tensor(name, clm_logits(&c), lg->data, nlog, 1e-5, 1e-6);
        CHECK_OK(fam_forward(&c, &b, Tt, true));
        const lmt_tensor_entry *ls = need(ref, "loss", LMT_F32);
        if (ls) CHECK_MSG(fabs(n->loss - *(const float *)ls->data) <= 1e-5 * fabs(*(const float *)ls->data),
                          "%s: loss %.9g, peft %.9g", name, n->loss, *(const float *)ls->data);
        CHECK_OK(clm_backward(&c));
        char gname[300];
        /* every trained tensor (A, B, trained biases, modules_to_save copies) against peft's gradient */
        int compared = 0;
        for (size_t k = 0; k < lo->layout.n_params; k++) {
            const lmt_param_spec *p = &lo->layout.params[k];
            snprintf(gname, sizeof gname, "grad.%s", p->name);
            const lmt_tensor_entry *e = lmt_tensor_file_find(ref, gname);
            if (!e && strlen(p->name) > 7) {   // a modules_to_save copy: peft's parameter is <module>.modules_to_save.<name>
                const char *dot = strrchr(p->name, '.');
                snprintf(gname, sizeof gname, "grad.%.*s.modules_to_save%s", (int)(dot - p->name), p->name, dot);
                e = lmt_tensor_file_find(ref, gname);
            }
            if (e && e->dtype == LMT_F32 && e->nbytes == p->numel * 4) {
                close_tensor(gname, lo->grads + p->offset, e->data, p->numel, 1e-4, 1e-6);
                compared++;
            }
        }
        CHECK_MSG(compared == (int)lo->layout.n_params && lo->n > 0, "%s: %d of %zu trained tensors' gradients compared", name,
                  compared, lo->layout.n_params);
        CHECK_MSG(n->grad_floats == 0 && lmt_net_grad(n, m->layout.params[0].name) == NULL,
                  "%s: the frozen base still has a gradient buffer", name);
        /* print_trainable_parameters */
        int64_t tr, all;
        lmt_lora_counts(lo, &tr, &all);
        snprintf(path, sizeof path, "%s/reference.json", dir);
        lmt_json *rj = NULL;
        CHECK_OK(lmt_json_parse_file(path, &rj));
        if (rj) {
            int64_t want_tr = 0, want_all = 0;
            CHECK_OK(lmt_json_get_int(rj, "trainable_params", 0, path, &want_tr));
            CHECK_OK(lmt_json_get_int(rj, "all_params", 0, path, &want_all));
            CHECK_MSG(tr == want_tr && all == want_all, "%s: trainable %lld / all %lld, peft %lld / %lld", name,
                      (long long)tr, (long long)all, (long long)want_tr, (long long)want_all);
            lmt_json_free(rj);
        }
        /* save: peft's names, shapes, values and config keys */
        char tmp[] = "/tmp/lmt_lora_XXXXXX";
        if (mkdtemp(tmp)) {
            CHECK_OK(lmt_lora_save(lo, tmp));
            char ours[600], theirs[600];
            snprintf(ours, sizeof ours, "%s/adapter_model.safetensors", tmp);
            snprintf(theirs, sizeof theirs, "%s/adapter_model.safetensors", dir);
            compare_files(name, ours, theirs);
            snprintf(ours, sizeof ours, "%s/adapter_config.json", tmp);
            snprintf(theirs, sizeof theirs, "%s/adapter_config.json", dir);
            compare_config_keys(ours, theirs);
            unlink(ours);
            snprintf(ours, sizeof ours, "%s/adapter_model.safetensors", tmp);
            unlink(ours);
            rmdir(tmp);
        }
        /* a merge for a while (generation during training) puts the base back bit for bit */
        float *before = malloc(m->layout.num_floats * sizeof(float)), *saved = NULL;
        if (before) {
            memcpy(before, m->params, m->layout.num_floats * sizeof(float));
            CHECK_OK(lmt_lora_merge_in(lo, &saved));
            CHECK(memcmp(before, m->params, m->layout.num_floats * sizeof(float)) != 0);
            lmt_lora_unmerge(lo, saved);
            CHECK_MSG(memcmp(before, m->params, m->layout.num_floats * sizeof(float)) == 0, "%s: unmerge changed the base", name);
            free(before);
        }
        /* merge_and_unload */
        lmt_lora_merge(lo);
        /* what `lmtune merge` writes: the merged model saved, loaded back */
        char mtmp[] = "/tmp/lmt_lora_merged_XXXXXX";
        lmt_model *mm = NULL;
        if (mkdtemp(mtmp)) {
            CHECK_OK(lmt_model_save(m, mtmp));
            CHECK_OK(lmt_model_load(mtmp, &mm));
            const char *files[] = {"config.json", "generation_config.json", "model.safetensors"};
            for (int i = 0; i < 3; i++) {
                snprintf(path, sizeof path, "%s/%s", mtmp, files[i]);
                unlink(path);
            }
            rmdir(mtmp);
        }
        clm p = {0};
        if (mm) CHECK_OK(fam_create(mm, b.B, b.T, Tt, false, &p));
        if (p.g || p.l || p.e || p.mt) {
            CHECK_OK(fam_forward(&p, &b, Tt, false));
            const lmt_tensor_entry *ml = need(ref, "merged_logits", LMT_F32);
            if (ml) close_tensor("merged logits", clm_logits(&p), ml->data, nlog, 1e-5, 1e-6);
        }
        clm_free(&p);
        lmt_model_free(mm);
    }
    clm_free(&c);
    lmt_lora_free(lo);
    lmt_model_free(m);
    lmt_tensor_file_free(ref);
}

static void check_real_configs(void) {
    const char *names[] = {"Llama-2-7b-hf__KZ-Shi_LLaMA-E", "Llama-3.2-3B__AdelaCorbeanu_romanian-qa",
                           "TinyLlama-1.1B-Chat-v1.0__ABISHEAK-std_structured-output", "flan-t5-base__3L0L0_seq2seq",
                           "null-base__Dheena731_tinyLlama-finetune", "unsloth-Llama-3.2-1B-Instruct__Gayaz2000_dpo"};
    const int r[] = {8, 8, 16, 16, 8, 8};
    const int nt[] = {4, 2, 7, 4, 2, 5};
    char path[512];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/../shared/data/lora-adapters/%s/adapter_config.json", LMT_SOURCE_DIR, names[i]);
        if (!lmt_file_exists(path))
            snprintf(path, sizeof path, "/work/shared/data/lora-adapters/%s/adapter_config.json", names[i]);
        lmt_lora_config c;
        CHECK_OK(lmt_lora_config_load(path, &c));
        CHECK_MSG(c.r == r[i] && c.n_targets == nt[i] && c.bias == LMT_LORA_BIAS_NONE, "%s: r %d, %d targets", names[i], c.r, c.n_targets);
        lmt_lora_config_free(&c);
    }
}

static void check_bad_input(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXM "/gpt2", &m));
    if (!m) return;
    lmt_lora_config c;
    lmt_lora_config_default(&c);
    lmt_lora *l = NULL;
    CHECK_OK(lmt_lora_config_set_targets(&c, "q_proj,v_proj"));
    CHECK(lmt_lora_create(m, &c, 0, "cfg.json", &l) == LMT_ERR_ARG && strstr(lmt_last_error(), "cfg.json") &&
          strstr(lmt_last_error(), "q_proj") && strstr(lmt_last_error(), "not found"));
    CHECK_OK(lmt_lora_config_set_targets(&c, "c_attn"));
    /* scaling: alpha / r, alpha / sqrt(r) with use_rslora */
    c.r = 4;
    c.alpha = 8;
    CHECK_OK(lmt_lora_create(m, &c, 0, "cfg.json", &l));
    if (l) CHECK(l->ad[0].scaling == 2.0f && l->cfg.fan_in_fan_out);   // forced for Conv1D, as peft
    lmt_lora_free(l);
    c.use_rslora = true;
    CHECK_OK(lmt_lora_create(m, &c, 0, "cfg.json", &l));
    if (l) CHECK(l->ad[0].scaling == 4.0f);
    lmt_lora_free(l);
    l = NULL;
    c.use_rslora = false;
    c.r = 0;
    CHECK(lmt_lora_create(m, &c, 0, "cfg.json", &l) == LMT_ERR_ARG && strstr(lmt_last_error(), "r = 0"));
    c.r = 4;
    CHECK_OK(lmt_lora_create(m, &c, 0, "cfg.json", &l));
    if (l) CHECK(l->n == 2 && all_zero(l->ad[0].B, (size_t)l->ad[0].OC * 4) && !all_zero(l->ad[0].A, 4 * 32));
    lmt_lora_free(l);
    l = NULL;
    CHECK_OK(lmt_lora_config_set_targets(&c, " c_attn, c_fc  c_proj,"));
    CHECK(c.n_targets == 3 && !strcmp(c.targets[0], "c_attn") && !strcmp(c.targets[2], "c_proj"));
    CHECK_OK(lmt_lora_config_set_targets(&c, "all-linear"));
    CHECK_OK(lmt_lora_create(m, &c, 0, "cfg.json", &l));
    if (l) CHECK_MSG(l->n == 8, "all-linear: %d adapters", l->n);   // c_attn, attn.c_proj, c_fc, mlp.c_proj x 2
    lmt_lora_free(l);
    l = NULL;
    /* regex: full match */
    lmt_lora_config_free(&c);
    lmt_lora_config_default(&c);
    c.target_regex = lmt_strdup(".*\\.0\\.attn\\.c_attn");
    CHECK_OK(lmt_lora_create(m, &c, 0, "cfg.json", &l));
    if (l) CHECK_MSG(l->n == 1, "regex: %d adapters", l->n);
    lmt_lora_free(l);
    l = NULL;
    lmt_lora_config_free(&c);
    /* the Llama adapter on the GPT-2 model */
    CHECK(lmt_lora_load(m, FXL "/llama", &l) != LMT_OK && strstr(lmt_last_error(), "adapter_config.json"));
    lmt_lora_free(l);
    lmt_model_free(m);
    /* shapes that differ from the base model: peft's GPT-2 adapter under a config saying r = 8 */
    char tmp[] = "/tmp/lmt_lora_bad_XXXXXX", p1[300], p2[300];
    CHECK_OK(lmt_model_load(FXM "/gpt2", &m));
    if (m && mkdtemp(tmp)) {
        snprintf(p1, sizeof p1, "%s/adapter_config.json", tmp);
        snprintf(p2, sizeof p2, "%s/adapter_model.safetensors", tmp);
        const char *cfg = "{\"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"c_attn\"], \"lora_dropout\": null}";
        CHECK_OK(lmt_write_file_atomic(p1, cfg, strlen(cfg)));
        CHECK(symlink(FXL "/gpt2/adapter_model.safetensors", p2) == 0);
        l = NULL;
        lmt_status st = lmt_lora_load(m, tmp, &l);
        CHECK_MSG(st == LMT_ERR_FORMAT && strstr(lmt_last_error(), "adapter_model.safetensors") &&
                  strstr(lmt_last_error(), "shape (4, 32)"), "%s", lmt_last_error());
        lmt_lora_free(l);
        /* a rank that is not a positive integer, in the file: named with the file */
        const char *bad_r[] = {"{\"r\": 0, \"target_modules\": [\"c_attn\"]}", "{\"r\": -4, \"target_modules\": [\"c_attn\"]}",
                               "{\"r\": 2.5, \"target_modules\": [\"c_attn\"]}"};
        for (int i = 0; i < 3; i++) {
            CHECK_OK(lmt_write_file_atomic(p1, bad_r[i], strlen(bad_r[i])));
            l = NULL;
            st = lmt_lora_load(m, tmp, &l);
            CHECK_MSG(st != LMT_OK && strstr(lmt_last_error(), p1) && strstr(lmt_last_error(), "positive integer"), "%s: %s",
                      bad_r[i], lmt_last_error());
            lmt_lora_free(l);
        }
        /* targets that match nothing, in the file: named with the file */
        const char *none = "{\"r\": 4, \"target_modules\": [\"q_proj\", \"v_proj\"]}";
        CHECK_OK(lmt_write_file_atomic(p1, none, strlen(none)));
        l = NULL;
        st = lmt_lora_load(m, tmp, &l);
        CHECK_MSG(st == LMT_ERR_ARG && strstr(lmt_last_error(), p1) && strstr(lmt_last_error(), "not found in the base model"),
                  "%s", lmt_last_error());
        lmt_lora_free(l);
        /* a folder with the config but no weights: named, both file names given */
        const char *good = "{\"r\": 4, \"target_modules\": [\"c_attn\"]}";
        CHECK_OK(lmt_write_file_atomic(p1, good, strlen(good)));
        unlink(p2);
        l = NULL;
        st = lmt_lora_load(m, tmp, &l);
        CHECK_MSG(st == LMT_ERR_NOT_FOUND && strstr(lmt_last_error(), tmp) && strstr(lmt_last_error(), "adapter_model.safetensors") &&
                  strstr(lmt_last_error(), "adapter_model.bin"), "%s", lmt_last_error());
        lmt_lora_free(l);
        unlink(p1);
        rmdir(tmp);
    }
    lmt_model_free(m);
}

/* One Trainer run over the adapters alone (as lmtune train --use_peft runs
 * it): base model mdir, peft's adapter adir, args a, stopped after stop_at
 * steps when > 0. The adapters' final values (malloc'd) and, when wanted, the
 * log history (a clone), the results and the ref comparison. */
static float *lora_trainer_run(const char *name, ref_trainer_run *r, const char *mdir, const char *adir,
                               const lmt_training_args *a, int64_t stop_at, lmt_json **history, bool compare) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(mdir, &m));
    if (!m) return NULL;
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   // as the fixture's run
    float *base_copy = malloc(m->layout.num_floats * sizeof(float)), *result = NULL;
    if (base_copy) memcpy(base_copy, m->params, m->layout.num_floats * sizeof(float));
    lmt_clm_task *task = NULL;
    lmt_lora *lo = NULL;
    CHECK_OK(lmt_clm_task_create(m, 4, r->T, &task));
    CHECK_OK(lmt_lora_load(m, adir, &lo));
    if (task && lo && base_copy) {
        lmt_task_model *tm = &task->base;
        CHECK_OK(lmt_finetune_use_lora(tm, lo));
        lmt_block_data tr, ev;
        lmt_block_data_init(&tr, r->train, r->ntr, r->T);
        lmt_block_data_init(&ev, r->eval, r->nev, r->Te);
        lmt_trainer t;
        CHECK_OK(lmt_trainer_init(&t, a, tm, &tr.base, &ev.base));
        t.sampler = lmt_sampler_sequential;
        t.interrupt_at_step = stop_at;
        lmt_train_output out;
        CHECK_OK(lmt_trainer_train(&t, &out));
        if (compare) ref_trainer_compare(name, r, &t, &out);
        CHECK_MSG(memcmp(base_copy, m->params, m->layout.num_floats * sizeof(float)) == 0, "%s: the frozen base changed", name);
        CHECK(t.opt.n == lo->num_floats);   // AdamW states for the adapters alone
        if (history) *history = lmt_json_clone(t.state.log_history);
        if ((result = malloc(lo->num_floats * sizeof(float)))) memcpy(result, lo->params, lo->num_floats * sizeof(float));
        lmt_trainer_free(&t);
    }
    lmt_lora_free(lo);
    lmt_clm_task_free(task);
    free(base_copy);
    lmt_model_free(m);
    return result;
}

/* 30 steps against peft + Trainer; then saving every 5 steps, stopped after
 * 12 and resumed from the last checkpoint (which holds the adapter alone):
 * the same adapters, bit for bit, and the same log. */
static void check_trainer(const char *name, const char *base) {
    char adir[600], dir[] = "/tmp/lmt-lora-trainer-XXXXXX", mdir[600], path[1100];
    snprintf(adir, sizeof adir, FXL "/%s", name);
    snprintf(mdir, sizeof mdir, FXM "/%s", base);
    ref_trainer_run r;
    lmt_model_free(ref_trainer_model(&r, adir, mdir, dir));
    if (!r.ref) return;
    lmt_json *h1 = NULL, *h2 = NULL;
    float *straight = lora_trainer_run(name, &r, mdir, adir, &r.args, 0, &h1, true);
    lmt_training_args a = r.args;
    a.save_strategy = LMT_STRATEGY_STEPS;
    a.save_steps = 5;
    float *first = lora_trainer_run(name, &r, mdir, adir, &a, 12, NULL, false);
    snprintf(path, sizeof path, "%s/checkpoint-10/adapter_model.safetensors", a.output_dir);
    CHECK_MSG(lmt_file_exists(path), "%s: no adapter in the checkpoint", path);
    snprintf(path, sizeof path, "%s/checkpoint-10/model.safetensors", a.output_dir);
    CHECK_MSG(!lmt_file_exists(path), "%s: a LoRA checkpoint holds the base model", path);
    snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "latest");
    float *resumed = lora_trainer_run(name, &r, mdir, adir, &a, 0, &h2, false);
    lmt_lora *sz = NULL;
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(mdir, &m));
    if (m) CHECK_OK(lmt_lora_load(m, adir, &sz));
    if (straight && resumed && sz)
        CHECK_MSG(memcmp(straight, resumed, sz->num_floats * sizeof(float)) == 0, "%s: the resumed run's adapters differ", name);
    if (h1 && h2) {
        /* as transformers: checkpoint-10 is written at step 10, before the end of
         * epoch 1 evaluates, so the resumed log lacks that one evaluation; the
         * final train_loss averages the steps the resumed session trained */
        int bad = 0;
        for (size_t i = 0; i + 1 < h2->len && i + 1 < h1->len; i++) bad += ref_log_entry_diff(&h1->items[i < 10 ? i : i + 1], &h2->items[i], i);
        CHECK_MSG(h1->len == h2->len + 1 && bad == 0, "%s: the resumed run's log differs (%d)", name, bad);
    }
    lmt_lora_free(sz);
    lmt_model_free(m);
    free(straight);
    free(first);
    free(resumed);
    lmt_json_free(h1);
    lmt_json_free(h2);
    ref_trainer_free(&r);
    ref_remove_dir(dir);
}

/* The GPT-2 fixture with fresh adapters of config c (targets, seed) on the
 * batch of ref_path, attached; f->l is NULL after a failed check. */
typedef struct gpt2_fx {
    lmt_tensor_file *ref;
    parity_batch b;
    lmt_model *m;
    lmt_lora *l;
    clm net;
} gpt2_fx;

static void fx_open(gpt2_fx *f, const char *ref_path, lmt_lora_config *c, const char *targets, uint64_t seed) {
    memset(f, 0, sizeof *f);
    CHECK_OK(lmt_safetensors_open(ref_path, &f->ref));
    CHECK_OK(lmt_model_load(FXM "/gpt2", &f->m));
    CHECK_OK(lmt_lora_config_set_targets(c, targets));
    if (!f->ref || !f->m || !parity_read_batch(f->ref, &f->b)) return;
    f->m->cfg.dropout = f->m->cfg.attn_dropout = f->m->cfg.embd_dropout = 0;   // the adapters' alone
    CHECK_OK(lmt_lora_create(f->m, c, seed, "test config", &f->l));
    CHECK_OK(clm_create(f->m, f->b.B, f->b.T, true, &f->net));
    if (f->l && f->net.g) CHECK_OK(lmt_lora_attach(f->l, clm_net(&f->net), (size_t)f->b.B * f->b.T));
    else { lmt_lora_free(f->l); f->l = NULL; }
}

static void fx_close(gpt2_fx *f, lmt_lora_config *c) {
    clm_free(&f->net);
    lmt_lora_free(f->l);
    lmt_lora_config_free(c);
    lmt_model_free(f->m);
    lmt_tensor_file_free(f->ref);
}

/* bias all / lora_only: a fresh adapter (B = 0) leaves the model as it was,
 * so the trained biases' gradients are the full model's (the fixture's
 * transformers reference); every frozen entry stays zero. */
static void check_bias(lmt_lora_bias mode) {
    lmt_lora_config c;
    lmt_lora_config_default(&c);
    c.bias = mode;
    gpt2_fx f;
    fx_open(&f, FXM "/gpt2/reference.safetensors", &c, "c_attn", 7);
    lmt_tensor_file *ref = f.ref;
    lmt_model *m = f.m;
    lmt_lora *l = f.l;
    clm net = f.net;
    parity_batch b = f.b;
    if (l) {
        lmt_net *n = clm_net(&net);
        CHECK(n->grad_floats == 0);   // the trained biases' gradients live beside the adapters
        CHECK_OK(clm_forward(&net, &b, true));
        CHECK_OK(clm_backward(&net));
        int trained = 0, frozen_written = 0;
        char gname[200];
        for (size_t i = 0; i < m->layout.n_params; i++) {
            const lmt_param_spec *p = &m->layout.params[i];
            bool bias = strstr(p->name, ".bias") != NULL;
            bool want = bias && (mode == LMT_LORA_BIAS_ALL || strstr(p->name, "c_attn"));
            CHECK_MSG(l->trainable[i] == want, "%s: trainable %d", p->name, l->trainable[i]);
            if (!want) { frozen_written += l->gcopy[i] != NULL; continue; }
            snprintf(gname, sizeof gname, "grad.%s", p->name);
            const lmt_tensor_entry *e = need(ref, gname, LMT_F32);
            if (e && l->gcopy[i]) { close_tensor(gname, l->gcopy[i], e->data, p->numel, 1e-4, 1e-6); trained++; }
        }
        CHECK_MSG(frozen_written == 0 && trained == (mode == LMT_LORA_BIAS_ALL ? 13 : 2),
                  "bias mode %d: %d biases compared, %d frozen tensors written", (int)mode, trained, frozen_written);
        /* their values travel in the adapter file */
        char tmp[] = "/tmp/lmt_lora_bias_XXXXXX", path[300];
        if (mkdtemp(tmp)) {
            CHECK_OK(lmt_lora_save(l, tmp));
            snprintf(path, sizeof path, "%s/adapter_model.safetensors", tmp);
            lmt_tensor_file *sf = NULL;
            CHECK_OK(lmt_safetensors_open(path, &sf));
            if (sf) CHECK(lmt_tensor_file_find(sf, "base_model.model.transformer.h.0.attn.c_attn.base_layer.bias") != NULL &&
                          sf->n == (size_t)(2 * l->n + trained));
            lmt_tensor_file_free(sf);
            unlink(path);
            snprintf(path, sizeof path, "%s/adapter_config.json", tmp);
            unlink(path);
            rmdir(tmp);
        }
    }
    fx_close(&f, &c);
}

/* lora_dropout in training mode: the masks act (train logits differ from
 * eval's), and dA / dB are the derivatives of the loss with those masks
 * (central differences, the adapters' seed stream rewound each time). */
static double train_loss(clm *c, lmt_lora *l, const parity_batch *b, uint64_t seed_state) {
    l->seed_state = seed_state;
    if (lmt_gpt2_forward(c->g, LMT_I64, b->ids, b->mask, b->labels, b->B, b->T, true) != LMT_OK) return NAN;
    return clm_net(c)->loss;
}

static void check_dropout(void) {
    lmt_lora_config c;
    lmt_lora_config_default(&c);
    c.r = 4;
    c.alpha = 8;
    c.dropout = 0.3;
    gpt2_fx f;
    fx_open(&f, FXL "/gpt2/reference.safetensors", &c, "c_attn,c_fc", 11);
    lmt_lora *l = f.l;
    clm net = f.net;
    parity_batch b = f.b;
    if (l) {
        lmt_net *n = clm_net(&net);
        for (size_t i = 0; i < l->num_floats; i++) l->params[i] = 0.3f * (float)sin(1.7 * (double)i);   // B != 0
        CHECK_OK(clm_forward(&net, &b, true));
        double eval_loss = n->loss;
        const uint64_t st = 1234;
        double loss = train_loss(&net, l, &b, st);
        CHECK_MSG(fabs(loss - eval_loss) > 1e-4, "dropout: train loss %.9g = eval loss", loss);
        lmt_net_zero_grad(n);
        train_loss(&net, l, &b, st);
        CHECK_OK(lmt_gpt2_backward(net.g));
        float *g = malloc(l->num_floats * sizeof(float));
        if (g) memcpy(g, l->grads, l->num_floats * sizeof(float));
        int bad = 0, n_checked = 0;
        for (size_t i = 0; g && i < l->num_floats; i += l->num_floats / 23 + 1) {
            float keep = l->params[i], h = 1e-3f;
            l->params[i] = keep + h;
            double up = train_loss(&net, l, &b, st);
            l->params[i] = keep - h;
            double dn = train_loss(&net, l, &b, st);
            l->params[i] = keep;
            double fd = (up - dn) / (2.0 * h);
            n_checked++;
            if (fabs(fd - g[i]) > 2e-3 + 2e-2 * fabs(fd)) {
                if (bad++ < 3) fprintf(stderr, "dropout: d/dp[%zu] %.6g, central difference %.6g\n", i, g[i], fd);
            }
        }
        CHECK_MSG(bad == 0 && n_checked > 20, "dropout: %d of %d adapter gradients off", bad, n_checked);
        free(g);
    }
    fx_close(&f, &c);
}

int main(void) {
    check_family("gpt2", "gpt2");
    check_family("llama", "llama-gqa");
    check_family("bert", "bert");
    check_family("marian", "marian");
    check_family("gpt2-bias", "gpt2");
    check_family("llama-save", "llama-gqa");
    check_trainer("gpt2", "gpt2");
    check_trainer("llama", "llama-gqa");
    check_trainer("gpt2-bias", "gpt2");
    check_trainer("llama-save", "llama-gqa");
    check_bias(LMT_LORA_BIAS_ALL);
    check_bias(LMT_LORA_BIAS_LORA_ONLY);
    check_dropout();
    check_real_configs();
    check_bad_input();
    return lmt_test_finish();
}
