/* What the Trainer leaves in its output folders (issue 18 item 2), against
 * what transformers 5.23 writes (tests/fixtures/trainer_outputs, from
 * tools/reference/make_trainer_outputs_fixtures.py):
 * - tokenizer_config.json for bare GPT-2 / RoBERTa / BERT tokenizer folders,
 *   byte for byte as tokenizer.save_pretrained writes it; the tokenizer's
 *   own files beside it, in the final folder and each checkpoint;
 * - the model card README.md of Trainer.create_model_card (up to its
 *   framework versions, which name lmtune) from the same log history;
 * - transformers_version in config.json; generation_config.json for a
 *   Marian made from a config.json carrying num_beams / max_length, so that
 *   translate decodes with the settings the evaluation used;
 * - convert keeps the tokenizer files; stale .checkpoint-N.tmp-PID folders
 *   are removed when training starts; a run that fails on its inputs
 *   creates no output folder;
 * - --report_to tensorboard: event files whose scalars are the log
 *   history's, with TensorBoardCallback's tags. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_run.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/seq2seq_generate.h"
#include "harness.h"
#include "io/tfrecord.h"
#include "lmtune/tokenizer.h"
#include "model_files.h"
#include "models/model.h"
#include "train/model_card.h"
#include "train/tensorboard.h"
#include "train/tokenizer_files.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/trainer_outputs/"
#define TOKS LMT_SHARED_DATA "/tokenizers/"
/* GPT-2's vocabulary on the smallest stack (the run's cost is the tokenizer and the head) */
#define GPT2_TINY "{\"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_positions\": 32, \"n_embd\": 16, \"n_layer\": 1, " \
                  "\"n_head\": 2, \"bos_token_id\": 50256, \"eos_token_id\": 50256}\n"

static bool has(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lmt_file_exists(p);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static void tokenizer_configs(const char *tmp) {
    /* a Marian folder with its SentencePiece models and vocab.json alone */
    char bare[600], cmd[1400];
    snprintf(bare, sizeof bare, "%s/marian-bare", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp " TOKS "opus-mt-tc-big-en-pt/source.spm " TOKS "opus-mt-tc-big-en-pt/target.spm "
             TOKS "opus-mt-tc-big-en-pt/vocab.json %s/", bare, bare);
    CHECK(system(cmd) == 0);
    const char *fam[][2] = {{"gpt2", TOKS "gpt2"}, {"roberta", TOKS "roberta-base"}, {"bert", TOKS "bert-base-uncased"}, {"marian", bare}};
    for (int i = 0; i < 4; i++) {
        char src[600], dst[600], want[600], got[700];
        snprintf(src, sizeof src, "%s", fam[i][1]);
        snprintf(dst, sizeof dst, "%s/tok-%s", tmp, fam[i][0]);
        snprintf(want, sizeof want, FIX "tokenizer_config_%s.json", fam[i][0]);
        lmt_tokenizer *tok = NULL;
        char *text = NULL;
        CHECK_OK(lmt_tokenizer_load(src, &tok));
        CHECK_OK(lmt_tokenizer_config_text(src, tok, &text));
        CHECK_OK(lmt_mkdirs(dst));
        CHECK_OK(lmt_tokenizer_files_save(src, text, dst));
        snprintf(got, sizeof got, "%s/tokenizer_config.json", dst);
        CHECK_MSG(files_equal(got, want), "%s: tokenizer_config.json differs from transformers': %s", fam[i][0], text);
        CHECK(i == 3   ? has(dst, "source.spm") && has(dst, "target.spm") && has(dst, "vocab.json")
              : i == 2 ? has(dst, "vocab.txt")
                       : has(dst, "vocab.json") && has(dst, "merges.txt"));
        /* and the saved folder loads with the same vocabulary */
        lmt_tokenizer *back = NULL;
        CHECK_OK(lmt_tokenizer_load(dst, &back));
        CHECK(back && lmt_tokenizer_vocab_size(back) == lmt_tokenizer_vocab_size(tok) &&
              lmt_tokenizer_get_kind(back) == lmt_tokenizer_get_kind(tok));
        lmt_tokenizer_free(back);
        lmt_tokenizer_free(tok);
        free(text);
    }
    /* a folder with its own tokenizer_config.json keeps it */
    lmt_tokenizer *tok = NULL;
    char *text = (char *)"x";
    CHECK_OK(lmt_tokenizer_load(TOKS "opus-mt-tc-big-en-pt", &tok));
    CHECK_OK(lmt_tokenizer_config_text(TOKS "opus-mt-tc-big-en-pt", tok, &text));
    CHECK(text == NULL);
    lmt_tokenizer_free(tok);
}

static int64_t int_of(const lmt_json *o, const char *k) {
    const lmt_json *v = lmt_json_get(o, k);
    return v && v->type == LMT_JSON_NUMBER ? v->i64 : -999;
}

static void model_card(void) {
    lmt_json *in = NULL;
    CHECK_OK(lmt_json_parse_file(FIX "card_inputs.json", &in));
    if (!in) return;
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "/tmp/x/%s", lmt_json_get(in, "output_dir_name")->str);
    a.learning_rate = lmt_json_get(in, "learning_rate")->num;
    a.per_device_train_batch_size = int_of(in, "train_batch_size");
    a.per_device_eval_batch_size = int_of(in, "eval_batch_size");
    a.seed = int_of(in, "seed");
    a.gradient_accumulation_steps = int_of(in, "gradient_accumulation_steps");
    a.warmup_steps = int_of(in, "warmup_steps");
    a.max_steps = int_of(in, "max_steps");
    snprintf(a.lr_scheduler_type, sizeof a.lr_scheduler_type, "%s", lmt_json_get(in, "lr_scheduler_type")->str);
    lmt_model_card c = {.finetuned_from = lmt_json_get(in, "finetuned_from")->str, .task = lmt_json_get(in, "tasks")->str,
                        .optim = lmt_json_get(in, "optim")->str};
    char *text = lmt_model_card_text(&c, &a, lmt_json_get(in, "log_history"));
    char *want = NULL;
    size_t n = 0;
    CHECK_OK(lmt_read_file(FIX "README.md", &want, &n));
    const char *fw = "### Framework versions\n\n";
    char *cut_want = want ? strstr(want, fw) : NULL, *cut_got = text ? strstr(text, fw) : NULL;
    CHECK(cut_want && cut_got);
    if (cut_want && cut_got) {
        size_t lw = (size_t)(cut_want - want), lg = (size_t)(cut_got - text);
        CHECK_MSG(lw == lg && !memcmp(want, text, lw), "the model card differs from transformers':\n%.*s", (int)lg, text);
        CHECK(strstr(cut_got, "- lmtune ") && strstr(cut_got, "Transformers 5.23.0"));
    }
    free(text);
    free(want);
    /* from scratch, epochs, and an evaluation-only history */
    a.max_steps = -1;
    a.gradient_accumulation_steps = 1;
    c.finetuned_from = NULL;
    text = lmt_model_card_text(&c, &a, lmt_json_get(in, "log_history"));
    CHECK(text && strstr(text, "This model was trained from scratch on an unknown dataset.") && strstr(text, "- num_epochs: 3.0\n") &&
          !strstr(text, "base_model") && !strstr(text, "total_train_batch_size"));
    free(text);
    lmt_json_free(in);
}

/* config.json's transformers_version; a Marian made from a config carrying
 * generation settings is saved with them in generation_config.json */
static void configs(const char *tmp) {
    char d[300];
    snprintf(d, sizeof d, "%s/marian-cfg", tmp);
    CHECK_OK(lmt_mkdirs(d));
    write_text(d, "config.json",
               "{\"model_type\": \"marian\", \"vocab_size\": 96, \"decoder_vocab_size\": 96, \"d_model\": 8,"
               " \"encoder_layers\": 1, \"decoder_layers\": 1, \"encoder_attention_heads\": 2, \"decoder_attention_heads\": 2,"
               " \"encoder_ffn_dim\": 16, \"decoder_ffn_dim\": 16, \"max_position_embeddings\": 32, \"pad_token_id\": 95,"
               " \"decoder_start_token_id\": 95, \"eos_token_id\": 0, \"forced_eos_token_id\": 0, \"bos_token_id\": null,"
               " \"bad_words_ids\": [[95]], \"num_beams\": 2, \"max_length\": 16}\n");
    char cp[700];
    snprintf(cp, sizeof cp, "%s/config.json", d);
    lmt_config cfg;
    lmt_model *m = NULL;
    CHECK_OK(lmt_config_load(cp, &cfg));
    CHECK_OK(lmt_model_init(&cfg, 1, &m));
    char out_dir[400];
    snprintf(out_dir, sizeof out_dir, "%s/marian-saved", tmp);
    CHECK_OK(lmt_model_save(m, out_dir));
    lmt_model_free(m);
    lmt_json *g = NULL, *c = NULL;
    snprintf(cp, sizeof cp, "%s/generation_config.json", out_dir);
    CHECK_OK(lmt_json_parse_file(cp, &g));
    /* GenerationConfig.from_model_config of that config, as transformers 5.23 writes it */
    const char *keys[] = {"_from_model_config", "bad_words_ids", "decoder_start_token_id", "eos_token_id", "forced_eos_token_id",
                          "max_length", "num_beams", "output_attentions", "output_hidden_states", "pad_token_id",
                          "transformers_version", "use_cache"};
    CHECK(g && g->len == 12);
    for (size_t i = 0; g && i < 12 && i < g->len; i++) CHECK_STREQ(g->keys[i], keys[i]);
    CHECK(int_of(g, "num_beams") == 2 && int_of(g, "max_length") == 16 && !lmt_json_get(g, "bos_token_id"));
    lmt_json_free(g);
    /* translate reads them */
    CHECK_OK(lmt_model_load(out_dir, &m));
    if (m) {
        lmt_s2s_gen_opts o = lmt_s2s_gen_opts_from_model(m);
        CHECK(o.num_beams == 2 && o.max_length == 16);
        lmt_model_free(m);
    }
    /* config.json says which transformers wrote it, also when the source did not */
    snprintf(cp, sizeof cp, "%s/config.json", out_dir);
    CHECK_OK(lmt_json_parse_file(cp, &c));
    const lmt_json *tv = lmt_json_get(c, "transformers_version");
    CHECK(tv && tv->type == LMT_JSON_STRING && !strcmp(tv->str, "5.23.0"));
    lmt_json_free(c);
    /* a masked LM gets no generation_config.json (can_generate() is false) */
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/bert", &m));
    snprintf(out_dir, sizeof out_dir, "%s/bert-saved", tmp);
    if (m) CHECK_OK(lmt_model_save(m, out_dir));
    lmt_model_free(m);
    CHECK(has(out_dir, "config.json") && !has(out_dir, "generation_config.json"));
}

/* the CLI: a short causal-LM run with TensorBoard, checkpoints, a stale temporary checkpoint */
static void train_run(const char *tmp, bool quick) {
    char data[700], dir[700], ck[800];
    snprintf(data, sizeof data, "%s/train.txt", tmp);
    FILE *f = fopen(data, "w");
    for (int i = 0; f && i < 60; i++) fprintf(f, "Line %d of a small text about trainers and their output folders .\n", i);
    if (f) fclose(f);
    snprintf(dir, sizeof dir, "%s/run", tmp);
    /* a killed run's temporary checkpoint */
    snprintf(ck, sizeof ck, "%s/.checkpoint-2.tmp-999999", dir);
    CHECK_OK(lmt_mkdirs(ck));
    write_text(ck, "model.safetensors", "partial");
    write_text(tmp, "gpt2-tiny.json", GPT2_TINY);
    char common[1200];
    snprintf(common, sizeof common, "train --task clm --config_name %s/gpt2-tiny.json --tokenizer_name " TOKS "gpt2 --block_size 16 "
             "--per_device_train_batch_size 2 --per_device_eval_batch_size 4 --learning_rate 1e-3 --logging_steps 1 "
             "--eval_strategy steps --eval_steps 2 --save_steps 2 --max_steps 4 --validation_split_percentage 20", tmp);
    CHECK_MSG(runf("%s --train_file %s --output_dir %s --overwrite_output_dir --report_to tensorboard --logging_dir %s/tb", common,
                   data, dir, tmp) == 0, "%s", out);
    CHECK_MSG(!lmt_is_dir(ck), "the stale %s is still there", ck);
    const char *files[] = {"config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json", "vocab.json",
                           "merges.txt", "README.md", "trainer_state.json"};
    char sub[800];
    snprintf(sub, sizeof sub, "%s/checkpoint-2", dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CHECK_MSG(has(dir, files[i]), "%s missing", files[i]);
        if (i < 6) CHECK_MSG(has(sub, files[i]), "checkpoint-2/%s missing", files[i]);
    }
    char p1[900], p2[1200];
    snprintf(p1, sizeof p1, "%s/tokenizer_config.json", dir);
    CHECK(files_equal(p1, FIX "tokenizer_config_gpt2.json"));
    snprintf(p1, sizeof p1, "%s/README.md", dir);
    char *card = NULL;
    size_t n;
    CHECK_OK(lmt_read_file(p1, &card, &n));
    CHECK(card && strstr(card, "# run\n\nThis model was trained from scratch") && strstr(card, "- training_steps: 4\n") &&
          strstr(card, "| Training Loss | Epoch "));
    /* its results are trainer.evaluate()'s, the final evaluation's */
    lmt_json *evr = NULL;
    snprintf(p2, sizeof p2, "%s/eval_results.json", dir);
    CHECK_OK(lmt_json_parse_file(p2, &evr));
    const lmt_json *el = lmt_json_get(evr, "eval_loss");
    char want_loss[64];
    snprintf(want_loss, sizeof want_loss, "- Loss: %.4f\n", el ? el->num : -1.0);
    CHECK_MSG(card && strstr(card, want_loss), "the card lacks \"%s\"", want_loss);
    lmt_json_free(evr);
    free(card);

    /* the event file: file_version, args, model_config, then the log history's numbers */
    snprintf(p1, sizeof p1, "%s/tb", tmp);
    DIR *d = opendir(p1);
    struct dirent *e;
    char ev[256] = "";
    int n_files = 0;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "events.out.tfevents.", 20)) { snprintf(ev, sizeof ev, "%s", e->d_name); n_files++; }
    if (d) closedir(d);
    CHECK_MSG(n_files == 1, "%d event files", n_files);
    snprintf(p2, sizeof p2, "%s/%s", p1, ev);
    char *buf = NULL;
    size_t len = 0, off = 0;
    CHECK_OK(lmt_read_file(p2, &buf, &len));
    lmt_json *st = NULL;
    snprintf(p1, sizeof p1, "%s/trainer_state.json", dir);
    CHECK_OK(lmt_json_parse_file(p1, &st));
    const lmt_json *h = lmt_json_get(st, "log_history");
    int rec = 0, scalars = 0, mismatched = 0;
    static bool used[32][16];
    while (buf && off < len) {
        const uint8_t *dd;
        size_t dn;
        if (lmt_tfrecord_next((const uint8_t *)buf, len, &off, ev, &dd, &dn) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); break; }
        rec++;
        if (rec <= 3) {
            const char *want = rec == 1 ? "brain.Event:2" : rec == 2 ? "args/text_summary" : "model_config/text_summary";
            CHECK_MSG(memmem(dd, dn, want, strlen(want)) != NULL, "record %d lacks %s", rec, want);
            continue;
        }
        /* one number of the log history (trainer_state.json sorts its keys: matched by encoding) */
        double wall;
        memcpy(&wall, dd + 1, 8);
        bool found = false;
        for (size_t hi = 0; h && hi < h->len && !found; hi++) {
            const lmt_json *entry = &h->items[hi];
            for (size_t ki = 0; ki < entry->len && !found; ki++) {
                const char *k = entry->keys[ki];
                if (!strcmp(k, "step") || used[hi][ki]) continue;
                char tag[200];
                if (!strncmp(k, "eval_", 5)) snprintf(tag, sizeof tag, "eval/%s", k + 5);
                else snprintf(tag, sizeof tag, "train/%s", k);
                lmt_strbuf b;
                lmt_sb_init(&b);
                lmt_tb_encode_scalar(&b, wall, int_of(entry, "step"), tag, (float)entry->items[ki].num);
                if (b.len == dn && !memcmp(b.data, dd, dn)) found = used[hi][ki] = true;
                lmt_sb_free(&b);
            }
        }
        if (!found) mismatched++;
        scalars++;
    }
    int unused = 0;
    for (size_t hi = 0; h && hi < h->len && hi < 32; hi++)
        for (size_t ki = 0; ki < h->items[hi].len && ki < 16; ki++)
            if (!used[hi][ki] && strcmp(h->items[hi].keys[ki], "step")) unused++;
    CHECK_MSG(unused == 0, "%d numbers of the log history are not in the event file", unused);
    /* 4 steps x (loss, grad_norm, learning_rate, epoch) + 2 evaluations x 5 + the train summary's 6 */
    CHECK_MSG(scalars == 16 + 10 + 6 && mismatched == 0, "%d scalars, %d mismatched", scalars, mismatched);
    free(buf);
    lmt_json_free(st);

    /* convert keeps the tokenizer files */
    snprintf(p1, sizeof p1, "%s/converted", tmp);
    CHECK_MSG(runf("convert %s %s", dir, p1) == 0, "%s", out);
    CHECK(has(p1, "model.safetensors") && has(p1, "tokenizer_config.json") && has(p1, "vocab.json") && has(p1, "merges.txt"));

    /* a checkpoint that cannot be put in place (a file holds its name): the
     * run fails naming it, and its temporary folder is gone (not in the
     * sanitizer build's quick run: each training run takes a while there) */
    if (!quick) {
        snprintf(p1, sizeof p1, "%s/blocked", tmp);
        CHECK_OK(lmt_mkdirs(p1));
        write_text(p1, "checkpoint-2", "a file in the way");
        CHECK(runf("%s --train_file %s --output_dir %s --overwrite_output_dir", common, data, p1) == 1 &&
              strstr(out, "checkpoint-2: cannot rename the checkpoint into place"));
        d = opendir(p1);
        int tmps = 0;
        while (d && (e = readdir(d))) tmps += !strncmp(e->d_name, ".checkpoint-", 12);
        if (d) closedir(d);
        CHECK_MSG(tmps == 0, "%d temporary checkpoint folders left", tmps);
    }

    /* inputs that fail: no output folder is created */
    snprintf(p1, sizeof p1, "%s/never", tmp);
    CHECK(runf("%s --train_file %s/missing.txt --output_dir %s", common, tmp, p1) != 0);
    CHECK_MSG(!lmt_is_dir(p1), "a failed start created %s", p1);
    CHECK(runf("train --task clm --config_name %s/nope.json --tokenizer_name " TOKS "gpt2 --train_file %s --output_dir %s", tmp, data, p1) != 0);
    CHECK_MSG(!lmt_is_dir(p1), "a failed start created %s", p1);
    /* an output folder that cannot be created fails before anything is read */
    CHECK(runf("%s --train_file %s --output_dir %s/model.safetensors/x", common, data, dir) != 0 && strstr(out, "not a folder"));
}

/* a Marian made from a config, evaluated with generation: the saved
 * generation_config.json holds the evaluation's settings (translate decodes
 * as eval_bleu was measured); the event files after training go beside the
 * first, in one runs/ folder */
static void translation_run(const char *tmp) {
    char d[400], p[900];
    snprintf(d, sizeof d, "%s/mt", tmp);
    CHECK_OK(lmt_mkdirs(d));
    write_text(d, "pairs.jsonl",
               "{\"translation\": {\"en\": \"Add...\", \"fr\": \"Ajouter...\"}}\n"
               "{\"translation\": {\"en\": \"Delete\", \"fr\": \"Supprimer\"}}\n"
               "{\"translation\": {\"en\": \"Days\", \"fr\": \"Jours\"}}\n"
               "{\"translation\": {\"en\": \"Archive\", \"fr\": \"Archive\"}}\n");
    write_text(d, "config.json",
               "{\"model_type\": \"marian\", \"vocab_size\": 54776, \"decoder_vocab_size\": 54776, \"d_model\": 8,"
               " \"encoder_layers\": 1, \"decoder_layers\": 1, \"encoder_attention_heads\": 2, \"decoder_attention_heads\": 2,"
               " \"encoder_ffn_dim\": 16, \"decoder_ffn_dim\": 16, \"max_position_embeddings\": 32, \"pad_token_id\": 54775,"
               " \"decoder_start_token_id\": 54775, \"eos_token_id\": 44670, \"forced_eos_token_id\": 44670,"
               " \"bad_words_ids\": [[54775]], \"num_beams\": 2, \"max_length\": 16}\n");
    CHECK_MSG(runf("train --task translation --config_name %s/config.json --tokenizer_name " TOKS "opus-mt-tc-big-en-pt "
                   "--train_file %s/pairs.jsonl --validation_file %s/pairs.jsonl --source_lang en --target_lang fr "
                   "--predict_with_generate --max_target_length 12 --max_steps 2 --logging_steps 1 --save_strategy no "
                   "--report_to tensorboard --output_dir %s/out", d, d, d, d) == 0, "%s", out);
    CHECK_MSG(strstr(out, "evaluation generates with 2 beams, max_length 12"), "%s", out);
    snprintf(p, sizeof p, "%s/out", d);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(p, &m));
    if (m) {
        lmt_s2s_gen_opts o = lmt_s2s_gen_opts_from_model(m);
        CHECK_MSG(o.num_beams == 2 && o.max_length == 12, "translate would use %d beams, max_length %d", o.num_beams, o.max_length);
        lmt_model_free(m);
    }
    CHECK(has(p, "source.spm") && has(p, "target.spm") && has(p, "tokenizer_config.json") && has(p, "README.md"));
    snprintf(p, sizeof p, "ls -d %s/out/runs/*/ | wc -l | grep -qx 1 && ls %s/out/runs/*/events.out.tfevents.* | wc -l | grep -qx 2", d, d);
    CHECK_MSG(system(p) == 0, "want one runs/ folder holding the training's and the final evaluation's event files");
}

int main(void) {
    char tmp[] = "/tmp/lmt-trainer-outputs-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    tokenizer_configs(tmp);
    model_card();
    configs(tmp);
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    train_run(tmp, quick);
    if (!quick) translation_run(tmp);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
