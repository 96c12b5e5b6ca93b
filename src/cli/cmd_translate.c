/* lmtune translate: the translation pipeline for Marian models (beam search
 * with the model's generation settings unless overridden). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/seq2seq_generate.h"
#include "lmtune/tokenizer.h"

static const char usage_text[] =
    "usage: lmtune translate --model DIR [--adapter DIR] [--tokenizer DIR] [generation options] \"TEXT\" [\"TEXT\" ...]\n"
    "       lmtune translate --model DIR --file FILE   (one text per line)\n\n"
    "Prints [{\"translation_text\": ...}, ...] as the translation pipeline (one entry per text and returned\n"
    "sequence). Generation options default to the model's generation_config.json.\n";

static const char *const early_choices[] = {"true", "false", "never", NULL};

int lmt_cmd_translate(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *adapter = NULL, *file = NULL, *early_s = NULL;
    lmt_cli_texts tl = {0};
    /* options given on the command line, applied over the model's defaults (INT64_MIN: not given) */
    enum { O_BEAMS, O_MAXLEN, O_MAXNEW, O_MINLEN, O_MINNEW, O_NGRAM, O_NRET, O_FBOS, O_FEOS, O_N };
    int64_t iv[O_N];
    for (int k = 0; k < O_N; k++) iv[k] = INT64_MIN;
    double length_penalty = NAN;
    const lmt_flag flags[] = {
        {"model_name_or_path|model", LMT_FLAG_PATH, &model_dir, LMT_FLAG_ANY, NULL, "the Marian model folder or Hub repo id", NULL},
        {"tokenizer_name|tokenizer", LMT_FLAG_PATH, &tok_dir, LMT_FLAG_ANY, NULL, "the tokenizer (default: the model's)", NULL},
        {"adapter", LMT_FLAG_PATH, &adapter, LMT_FLAG_ANY, NULL, "a peft LoRA adapter folder, merged first", NULL},
        {"text", LMT_FLAG_STRING, &tl, LMT_FLAG_ANY, NULL, "a text (repeatable; or positional)", lmt_cli_texts_add},
        {"file", LMT_FLAG_PATH, &file, LMT_FLAG_ANY, NULL, "texts, one per line", NULL},
        {"num_beams", LMT_FLAG_INT, &iv[O_BEAMS], 1, INT_MAX, 0, NULL, "beams", NULL},
        {"max_length", LMT_FLAG_INT, &iv[O_MAXLEN], 1, INT_MAX, 0, NULL, "the output's max length", NULL},
        {"max_new_tokens", LMT_FLAG_INT, &iv[O_MAXNEW], 1, INT_MAX, 0, NULL, "new tokens at most", NULL},
        {"min_length", LMT_FLAG_INT, &iv[O_MINLEN], 0, INT_MAX, 0, NULL, "the output's min length", NULL},
        {"min_new_tokens", LMT_FLAG_INT, &iv[O_MINNEW], 0, INT_MAX, 0, NULL, "new tokens at least", NULL},
        {"no_repeat_ngram_size", LMT_FLAG_INT, &iv[O_NGRAM], 0, INT_MAX, 0, NULL, "forbid repeated n-grams", NULL},
        {"num_return_sequences", LMT_FLAG_INT, &iv[O_NRET], 1, INT_MAX, 0, NULL, "sequences per text (<= num_beams)", NULL},
        {"forced_bos_token_id", LMT_FLAG_INT, &iv[O_FBOS], -1, INT_MAX, 0, NULL, "token forced first", NULL},
        {"forced_eos_token_id", LMT_FLAG_INT, &iv[O_FEOS], -1, INT_MAX, 0, NULL, "token forced at max_length", NULL},
        {"length_penalty", LMT_FLAG_FLOAT, &length_penalty, LMT_FLAG_ANY, NULL, "beam score length penalty", NULL},
        {"early_stopping", LMT_FLAG_ENUM, &early_s, LMT_FLAG_ANY, early_choices, "beam search's stopping rule", NULL},
    };
    int rc = lmt_cli_parse_texts(argc, argv, flags, sizeof flags / sizeof flags[0], usage_text, lmt_cli_hub_help, &tl);
    if (!rc) rc = lmt_cli_texts_read_file(&tl, file);
    if (!rc && (!model_dir || !tl.n)) {
        fprintf(stderr, "lmtune: error: give --model and a text (positional, --text or --file) (see --help)\n");
        rc = 2;
    }
    if (rc) { lmt_cli_texts_free(&tl); return rc < 0 ? 0 : rc; }
    const char **texts = tl.v;
    int n_texts = tl.n;
    int early = !early_s ? -1 : !strcmp(early_s, "true") ? LMT_S2S_ES_TRUE : !strcmp(early_s, "false") ? LMT_S2S_ES_FALSE : LMT_S2S_ES_NEVER;
    if (!tok_dir) tok_dir = model_dir;
    if (!(model_dir = lmt_cli_resolve(model_dir, true)) || !(tok_dir = lmt_cli_resolve(tok_dir, false))) { lmt_cli_texts_free(&tl); return 1; }
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    rc = 0;
    lmt_encoding e = {0};
    int32_t *out = NULL;
    float *scores = NULL;
    lmt_strbuf b;
    lmt_sb_init(&b);
    bool progress = n_texts > 1 && isatty(STDERR_FILENO);   /* a line on the terminal while the texts are translated */
    if (lmt_model_load(model_dir, &m) != LMT_OK || (adapter && lmt_cli_merge_adapter(m, adapter, NULL, NULL) != LMT_OK)) goto error;
    if (m->cfg.arch != LMT_ARCH_MARIAN) { fprintf(stderr, "lmtune: error: translate needs a MarianMTModel, not %s\n", lmt_arch_class_name(m->cfg.arch)); rc = 2; goto done; }
    if (lmt_tokenizer_load(tok_dir, &tok) != LMT_OK) goto error;
    if (lmt_tokenizer_vocab_size(tok) > (size_t)m->cfg.vocab_size) {
        fprintf(stderr, "lmtune: error: the tokenizer has %zu tokens but the model's vocabulary holds %lld\n", lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
        rc = 1;
        goto done;
    }
    lmt_s2s_gen_opts go = lmt_s2s_gen_opts_from_model(m);
    int *fields[O_N] = {&go.num_beams, &go.max_length, &go.max_new_tokens, &go.min_length, &go.min_new_tokens,
                        &go.no_repeat_ngram_size, &go.num_return_sequences, NULL, NULL};
    for (int k = 0; k < O_N; k++)
        if (iv[k] != INT64_MIN && fields[k]) *fields[k] = (int)iv[k];
    if (iv[O_FBOS] != INT64_MIN) go.forced_bos_token_id = (int)iv[O_FBOS];
    if (iv[O_FEOS] != INT64_MIN) go.forced_eos_token_id = (int)iv[O_FEOS];
    if (!isnan(length_penalty)) go.length_penalty = length_penalty;
    if (early >= 0) go.early_stopping = early;
    /* the model's own num_return_sequences never exceeds beams the user lowered */
    if (iv[O_NRET] == INT64_MIN && go.num_return_sequences > go.num_beams) go.num_return_sequences = go.num_beams;
    lmt_sb_putc(&b, '[');
    double started = lmt_time_s();
    for (int t = 0; t < n_texts; t++) {
        if (progress) {
            double left = t ? (lmt_time_s() - started) / t * (n_texts - t) : 0;
            fprintf(stderr, "\r\033[K  generation: text %d/%d  %02d:%02d left", t + 1, n_texts, (int)(left / 60), (int)fmod(left, 60));
            fflush(stderr);
        }
        lmt_encode_opts eo = lmt_encode_opts_default();
        eo.truncation = LMT_TRUNCATE_LONGEST_FIRST;
        eo.max_length = m->cfg.max_positions;
        lmt_encoding_free(&e);
        if (lmt_tokenizer_encode(tok, texts[t], strlen(texts[t]), NULL, 0, &eo, &e) != LMT_OK) goto error;
        int out_len = 0;
        free(out);
        free(scores);
        out = NULL;
        scores = NULL;
        /* bad settings (num_return_sequences > num_beams, max_length beyond the
         * model's positions, ...) are refused here, with the option named */
        if (lmt_seq2seq_generate(m, e.ids, e.attention_mask, 1, (int)e.n, &go, &out, &out_len, &scores) != LMT_OK) goto error;
        int nret = go.num_beams > 1 ? go.num_return_sequences : 1;
        for (int r = 0; r < nret; r++) {
            char *s;
            size_t sl;
            if (lmt_tokenizer_decode(tok, out + (size_t)r * out_len, (size_t)out_len, true, false, &s, &sl) != LMT_OK) goto error;
            if (b.len > 1) lmt_sb_puts(&b, ", ");
            lmt_sb_puts(&b, "{\"translation_text\": ");
            lmt_json_write_string(&b, s, sl, false);
            lmt_sb_putc(&b, '}');
            free(s);
        }
    }
    lmt_sb_putc(&b, ']');
    if (progress) fputs("\r\033[K", stderr);
    printf("%s\n", b.data);
    goto done;
error:
    if (progress) fputs("\r\033[K", stderr);
    fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
    rc = 1;
done:
    lmt_sb_free(&b);
    free(out);
    free(scores);
    lmt_cli_texts_free(&tl);
    lmt_encoding_free(&e);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
