/* lmtune translate: the translation pipeline for Marian models (beam search
 * with the model's generation settings unless overridden). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/seq2seq_generate.h"
#include "lmtune/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f, "usage: lmtune translate --model DIR [--adapter DIR] [--tokenizer DIR] [generation options] \"TEXT\" [\"TEXT\" ...]\n"
               "(--adapter: a peft LoRA adapter folder, merged into the model first)\n"
               "Prints [{\"translation_text\": ...}, ...] as the translation pipeline (one entry per text and\n"
               "returned sequence). Generation options (default: the model's generation_config.json):\n"
               "  --num_beams N  --max_length N  --max_new_tokens N  --min_length N  --min_new_tokens N\n"
               "  --length_penalty X  --early_stopping true|false|never  --no_repeat_ngram_size N\n"
               "  --num_return_sequences N  --forced_bos_token_id ID  --forced_eos_token_id ID\n");
}

/* An integer option's value: all of it a number, or an error naming it. */
static bool int_value(const char *name, const char *v, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < -2147483647L || x > 2147483647L) {
        fprintf(stderr, "lmtune: error: %s wants an integer, got \"%s\"\n", name, v);
        return false;
    }
    *out = (int)x;
    return true;
}

int lmt_cmd_translate(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *adapter = NULL;
    const char **texts = calloc((size_t)argc, sizeof *texts);
    int n_texts = 0;
    if (!texts) { fprintf(stderr, "lmtune: error: out of memory\n"); return 1; }
    /* options given on the command line, applied over the model's defaults */
    enum { O_BEAMS, O_MAXLEN, O_MAXNEW, O_MINLEN, O_MINNEW, O_NGRAM, O_NRET, O_FBOS, O_FEOS, O_N };
    static const char *const names[O_N] = {"--num_beams", "--max_length", "--max_new_tokens", "--min_length",
                                           "--min_new_tokens", "--no_repeat_ngram_size", "--num_return_sequences",
                                           "--forced_bos_token_id", "--forced_eos_token_id"};
    int ival[O_N];
    bool given[O_N] = {0};
    double length_penalty = 0;
    bool lp_given = false;
    int early = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); free(texts); return 0; }
        if (strncmp(argv[i], "--", 2)) { texts[n_texts++] = argv[i]; continue; }
        if (i + 1 >= argc) { fprintf(stderr, "lmtune: error: %s needs a value\n", argv[i]); free(texts); return 2; }
        const char *opt = argv[i], *v = argv[++i];
        int k = 0;
        while (k < O_N && strcmp(opt, names[k])) k++;
        if (k < O_N) {
            if (!int_value(opt, v, &ival[k])) { free(texts); return 2; }
            given[k] = true;
        } else if (!strcmp(opt, "--model")) model_dir = v;
        else if (!strcmp(opt, "--adapter")) adapter = v;
        else if (!strcmp(opt, "--tokenizer")) tok_dir = v;
        else if (!strcmp(opt, "--length_penalty")) {
            if (!lmt_cli_num(opt + 2, v, -INFINITY, INFINITY, 0, &length_penalty)) { free(texts); return 2; }
            lp_given = true;
        }
        else if (!strcmp(opt, "--early_stopping")) {
            early = !strcmp(v, "true") ? LMT_S2S_ES_TRUE : !strcmp(v, "false") ? LMT_S2S_ES_FALSE : !strcmp(v, "never") ? LMT_S2S_ES_NEVER : -2;
            if (early == -2) { fprintf(stderr, "lmtune: error: --early_stopping must be true, false or never, got \"%s\"\n", v); free(texts); return 2; }
        } else { fprintf(stderr, "lmtune: error: unknown option '%s' (see --help)\n", opt); free(texts); return 2; }
    }
    if (!model_dir || !n_texts) { usage(stderr); free(texts); return 2; }
    if (given[O_BEAMS] && ival[O_BEAMS] < 1) { fprintf(stderr, "lmtune: error: --num_beams must be at least 1, got %d\n", ival[O_BEAMS]); free(texts); return 2; }
    if (!tok_dir) tok_dir = model_dir;
    if (!(model_dir = lmt_cli_resolve(model_dir, true)) || !(tok_dir = lmt_cli_resolve(tok_dir, false))) { free(texts); return 1; }
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    int rc = 0;
    lmt_encoding e = {0};
    int32_t *out = NULL;
    float *scores = NULL;
    lmt_strbuf b;
    lmt_sb_init(&b);
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
        if (given[k] && fields[k]) *fields[k] = ival[k];
    if (given[O_FBOS]) go.forced_bos_token_id = ival[O_FBOS];
    if (given[O_FEOS]) go.forced_eos_token_id = ival[O_FEOS];
    if (lp_given) go.length_penalty = length_penalty;
    if (early >= 0) go.early_stopping = early;
    /* the model's own num_return_sequences never exceeds beams the user lowered */
    if (!given[O_NRET] && go.num_return_sequences > go.num_beams) go.num_return_sequences = go.num_beams;
    lmt_sb_putc(&b, '[');
    for (int t = 0; t < n_texts; t++) {
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
    printf("%s\n", b.data);
    goto done;
error:
    fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
    rc = 1;
done:
    lmt_sb_free(&b);
    free(out);
    free(scores);
    free(texts);
    lmt_encoding_free(&e);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
