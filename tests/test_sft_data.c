/* SFT data preparation against TRL's SFTTrainer (trl 1.16): every case of
 * tests/fixtures/sft/prepared.json (tools/reference/make_sft_fixtures.py) -
 * conversational, prompt-completion (plain and conversational) and text rows
 * with SmolLM2-135M-Instruct's tokenizer and chat template, completion-only
 * and assistant-only losses, truncation, the three packing strategies, gives
 * SFTTrainer's formatting_func as --formatting_template - gives
 * the same examples (input_ids, labels, seq_lengths) and the same first
 * collated batches. Then bad input: a row without the named field, a
 * conversation the template rejects, an empty file, assistant_only_loss
 * without {% generation %}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "data/sft_data.h"
#include "jinja/jinja.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/sft"
#define TOK LMT_SHARED_DATA "/llama-family/SmolLM2-135M-Instruct"

static bool same_list(const lmt_json *a, const int32_t *v, int64_t n) {
    if (!a || a->type != LMT_JSON_ARRAY || (int64_t)a->len != n) return false;
    for (int64_t i = 0; i < n; i++) if (a->items[i].i64 != v[i]) return false;
    return true;
}

static lmt_status set_opts(const lmt_json *st, lmt_sft_opts *o, lmt_chat_tmpl *tmpl, lmt_jinja_template **fmt) {
    for (size_t i = 0; i < st->len; i++) {
        const char *k = st->keys[i];
        const lmt_json *v = &st->items[i];
        if (!strcmp(k, "max_length")) o->max_length = v->i64;
        else if (!strcmp(k, "packing")) o->packing = v->boolean;
        else if (!strcmp(k, "packing_strategy")) LMT_TRY(lmt_pack_strategy_parse(v->str, &o->strategy));
        else if (!strcmp(k, "completion_only_loss")) o->completion_only_loss = v->boolean;
        else if (!strcmp(k, "assistant_only_loss")) o->assistant_only_loss = v->boolean;
        else if (!strcmp(k, "dataset_text_field")) o->text_field = v->str;
        else if (!strcmp(k, "truncation_mode")) o->keep_end = !strcmp(v->str, "keep_end");
        else if (!strcmp(k, "eos_token")) o->eos_token = v->str;
        else if (!strcmp(k, "shuffle_dataset")) { o->shuffle = v->boolean; o->seed = 42; }   /* SFTConfig's seed */
        else if (!strcmp(k, "chat_template_path")) LMT_TRY(lmt_chat_tmpl_use_file(tmpl, FIX "/chatml_generation.jinja"));
        else if (!strcmp(k, "formatting_template")) {
            char path[4096], *text;
            size_t len;
            snprintf(path, sizeof path, FIX "/%s", v->str);
            LMT_TRY(lmt_read_file(path, &text, &len));
            lmt_status s = lmt_jinja_compile(text, len, path, fmt);
            free(text);
            LMT_TRY(s);
            o->formatting = *fmt;
        }
    }
    return LMT_OK;
}

static void check_case(const char *name, const lmt_json *c, const lmt_tokenizer *tok) {
    lmt_chat_tmpl *tmpl = NULL;
    CHECK_OK(lmt_chat_tmpl_load(TOK, &tmpl));
    lmt_sft_opts o;
    lmt_sft_opts_default(&o);
    lmt_jinja_template *fmt = NULL;
    CHECK_OK(set_opts(lmt_json_get(c, "settings"), &o, tmpl, &fmt));
    char path[4096];
    snprintf(path, sizeof path, FIX "/data/%s", lmt_json_get(c, "data")->str);
    lmt_sft_data d;
    lmt_status s = lmt_sft_prepare(tok, tmpl, path, &o, &d);
    CHECK_MSG(s == LMT_OK, "%s: %s", name, lmt_last_error());
    if (s) { lmt_chat_tmpl_free(tmpl); lmt_jinja_free(fmt); return; }
    const lmt_json *ex = lmt_json_get(c, "examples");
    CHECK_MSG((int64_t)ex->len == d.n, "%s: %lld examples, TRL %zu", name, (long long)d.n, ex->len);
    CHECK_MSG(d.padding_free == lmt_json_get(c, "padding_free")->boolean, "%s: padding_free", name);
    CHECK_MSG(d.completion_only_loss == lmt_json_get(c, "completion_only_loss")->boolean, "%s: completion_only_loss", name);
    int bad = 0;
    for (int64_t i = 0; i < d.n && i < (int64_t)ex->len; i++) {
        const lmt_json *e = &ex->items[i];
        int64_t a = d.off[i], n = d.off[i + 1] - a;
        bool ok = same_list(lmt_json_get(e, "input_ids"), d.ids + a, n) && same_list(lmt_json_get(e, "labels"), d.labels + a, n);
        const lmt_json *sl = lmt_json_get(e, "seq_lengths");
        if (sl) ok = ok && d.padding_free && same_list(sl, d.seq_len + d.seq_off[i], d.seq_off[i + 1] - d.seq_off[i]);
        if (!ok && bad++ < 2) fprintf(stderr, "%s: example %lld differs from TRL's\n", name, (long long)i);
    }
    CHECK_MSG(bad == 0, "%s: %d examples differ", name, bad);
    /* the first batches in order (TRL's padding-free row: the same tokens and positions, as packed rows
     * with position_ids, or one row per sequence) */
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    const lmt_json *bs = lmt_json_get(c, "batches");
    int bsz = (int)lmt_json_get(lmt_json_get(c, "settings"), "per_device_train_batch_size")->i64;
    for (int mode = 0; mode < 2; mode++)
    for (size_t k = 0; k < bs->len; k++) {
        lmt_sft_collator col;
        lmt_sft_collator_init(&col, &d, sp.pad >= 0 ? sp.pad : sp.eos, mode == 1);
        int64_t idx[64];
        int n = 0;
        for (int64_t i = (int64_t)k * bsz; i < d.n && n < bsz; i++) idx[n++] = i;
        lmt_batch b;
        CHECK_OK(col.base.collate(col.base.ctx, idx, n, &b));
        const lmt_json *ids = lmt_json_get(&bs->items[k], "input_ids"), *lab = lmt_json_get(&bs->items[k], "labels");
        const lmt_json *pos = lmt_json_get(&bs->items[k], "position_ids");
        bool ok = true;
        if (d.padding_free) {   /* unflatten TRL's row by its position ids */
            size_t t = 0;
            for (int r = 0; r < b.B && ok; r++)
                for (int j = 0; j < b.T; j++) {
                    if (!b.attention_mask[(size_t)r * b.T + j]) continue;
                    int32_t pj = b.position_ids ? b.position_ids[(size_t)r * b.T + j] : j;
                    ok = ok && t < ids->items[0].len && pos->items[0].items[t].i64 == pj && (mode == 1) == !b.position_ids &&
                         ids->items[0].items[t].i64 == b.input_ids[(size_t)r * b.T + j] &&
                         lab->items[0].items[t].i64 == b.labels[(size_t)r * b.T + j];
                    t++;
                }
            ok = ok && t == ids->items[0].len;
        } else {
            ok = (int)ids->len == b.B && (int)ids->items[0].len == b.T;
            for (int r = 0; r < b.B && ok; r++)
                ok = same_list(&ids->items[r], b.input_ids + (size_t)r * b.T, b.T) && same_list(&lab->items[r], b.labels + (size_t)r * b.T, b.T) &&
                     same_list(&lmt_json_get(&bs->items[k], "attention_mask")->items[r], b.attention_mask + (size_t)r * b.T, b.T);
        }
        CHECK_MSG(ok, "%s: collated batch %zu (mode %d) differs from TRL's", name, k, mode);
        lmt_batch_free(&b);
    }
    lmt_sft_data_free(&d);
    lmt_chat_tmpl_free(tmpl);
    lmt_jinja_free(fmt);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* the preparation fails and the message holds every piece of want ("a|b") */
static void expect_error(const lmt_tokenizer *tok, const char *tmpl_file, const char *data, const lmt_sft_opts *o, const char *want) {
    char path[] = "/tmp/lmt_sft_bad_XXXXXX.jsonl";
    int fd = mkstemps(path, 6);
    close(fd);
    write_text(path, data);
    lmt_chat_tmpl *tmpl = NULL;
    CHECK_OK(lmt_chat_tmpl_load(TOK, &tmpl));
    if (tmpl_file) CHECK_OK(lmt_chat_tmpl_use_file(tmpl, tmpl_file));
    lmt_sft_data d;
    lmt_status s = lmt_sft_prepare(tok, tmpl, path, o, &d);
    CHECK_MSG(s != LMT_OK, "expected an error with %s", want);
    if (s != LMT_OK) {
        char w[256];
        snprintf(w, sizeof w, "%s", want);
        for (char *p = strtok(w, "|"); p; p = strtok(NULL, "|"))
            CHECK_MSG(strstr(lmt_last_error(), p), "\"%s\" not in: %s", p, lmt_last_error());
        CHECK_MSG(strstr(lmt_last_error(), path), "the file is not named: %s", lmt_last_error());
    } else lmt_sft_data_free(&d);
    lmt_chat_tmpl_free(tmpl);
    remove(path);
}

int main(void) {
    lmt_json *fx;
    lmt_tokenizer *tok;
    if (lmt_json_parse_file(FIX "/prepared.json", &fx) != LMT_OK || lmt_tokenizer_load(TOK, &tok) != LMT_OK) {
        fprintf(stderr, "%s\n", lmt_last_error());
        return 1;
    }
    for (size_t i = 0; i < fx->len; i++) check_case(fx->keys[i], &fx->items[i], tok);
    lmt_sft_opts o;
    lmt_sft_opts_default(&o);
    expect_error(tok, NULL, "{\"text\": \"a\"}\n{\"body\": \"b\"}\n", &o, "line 2|\"text\"");
    expect_error(tok, NULL, "\n\n", &o, "empty");
    expect_error(tok, NULL, "{\"text\": \"a\"}\n{\"text\": \n", &o, "line 2");
    const char *raising = "/tmp/lmt_sft_raise.jinja";
    write_text(raising, "{% for m in messages %}{% if m['role'] == 'system' and not loop.first %}"
                   "{{ raise_exception('System message must be first') }}{% endif %}{{ m['content'] }}{% endfor %}");
    expect_error(tok, raising,
                 "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n"
                 "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"system\", \"content\": \"x\"}]}\n",
                 &o, "line 2|System message must be first");
    o.assistant_only_loss = true;
    expect_error(tok, NULL, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n", &o, "generation");
    expect_error(tok, NULL, "{\"text\": \"a\"}\n", &o, "conversational");
    remove(raising);
    lmt_tokenizer_free(tok);
    lmt_json_free(fx);
    return lmt_test_finish();
}
