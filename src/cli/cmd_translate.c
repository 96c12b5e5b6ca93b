/* lmtune translate: the translation pipeline for Marian models (beam search
 * with the model's generation settings unless overridden). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/seq2seq_generate.h"
#include "lmtune/tokenizer.h"

int lmt_cmd_translate(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *text = NULL;
    int num_beams = 0, max_length = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lmtune translate --model DIR [--tokenizer DIR] [--num_beams N] [--max_length N] \"TEXT\"\n"
                   "Prints [{\"translation_text\": ...}] as the translation pipeline.\n");
            return 0;
        }
        if (!strncmp(argv[i], "--", 2)) {
            if (i + 1 >= argc) { fprintf(stderr, "lmtune: error: %s needs a value\n", argv[i]); return 2; }
            const char *v = argv[++i];
            if (!strcmp(argv[i - 1], "--model")) model_dir = v;
            else if (!strcmp(argv[i - 1], "--tokenizer")) tok_dir = v;
            else if (!strcmp(argv[i - 1], "--num_beams")) num_beams = atoi(v);
            else if (!strcmp(argv[i - 1], "--max_length")) max_length = atoi(v);
            else { fprintf(stderr, "lmtune: error: unknown option '%s'\n", argv[i - 1]); return 2; }
            continue;
        }
        text = argv[i];
    }
    if (!model_dir || !text) { fprintf(stderr, "usage: lmtune translate --model DIR \"TEXT\" (see --help)\n"); return 2; }
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    int rc = 0;
    lmt_encoding e = {0};
    int32_t *out = NULL;
    float *scores = NULL;
    if (lmt_model_load(model_dir, &m) != LMT_OK) goto error;
    if (m->cfg.arch != LMT_ARCH_MARIAN) { fprintf(stderr, "lmtune: error: translate needs a MarianMTModel, not %s\n", lmt_arch_class_name(m->cfg.arch)); rc = 2; goto done; }
    if (lmt_tokenizer_load(tok_dir ? tok_dir : model_dir, &tok) != LMT_OK) goto error;
    if (lmt_tokenizer_vocab_size(tok) > (size_t)m->cfg.vocab_size) {
        fprintf(stderr, "lmtune: error: the tokenizer has %zu tokens but the model's vocabulary holds %lld\n", lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
        rc = 1;
        goto done;
    }
    lmt_encode_opts eo = lmt_encode_opts_default();
    eo.truncation = LMT_TRUNCATE_LONGEST_FIRST;
    eo.max_length = m->cfg.max_positions;
    if (lmt_tokenizer_encode(tok, text, strlen(text), NULL, 0, &eo, &e) != LMT_OK) goto error;
    lmt_s2s_gen_opts go = lmt_s2s_gen_opts_from_model(m);
    if (num_beams > 0) go.num_beams = num_beams;
    if (max_length > 0) go.max_length = max_length;
    if (go.max_length > m->cfg.max_positions) go.max_length = (int)m->cfg.max_positions;
    if (go.num_return_sequences > go.num_beams) go.num_return_sequences = go.num_beams;
    int out_len = 0;
    if (lmt_seq2seq_generate(m, e.ids, e.attention_mask, 1, (int)e.n, &go, &out, &out_len, &scores) != LMT_OK) goto error;
    char *s;
    size_t sl;
    if (lmt_tokenizer_decode(tok, out, (size_t)out_len, true, false, &s, &sl) != LMT_OK) goto error;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "[{\"translation_text\": ");
    lmt_json_write_string(&b, s, sl, false);
    lmt_sb_puts(&b, "}]");
    printf("%s\n", b.data);
    lmt_sb_free(&b);
    free(s);
    goto done;
error:
    fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
    rc = 1;
done:
    free(out);
    free(scores);
    lmt_encoding_free(&e);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
