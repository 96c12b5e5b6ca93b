/* lmtune fill-mask: the fill-mask pipeline. Prints the pipeline's output as
 * JSON: a list of {score, token, token_str, sequence}, or one such list per
 * mask when the text holds several. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/fill_mask_pipeline.h"

static void put_result(lmt_strbuf *b, const lmt_fill_mask_result *r) {
    lmt_sb_printf(b, "{\"score\": %.9g, \"token\": %d, \"token_str\": ", r->score, r->token);
    lmt_json_write_string(b, r->token_str, strlen(r->token_str), false);
    lmt_sb_puts(b, ", \"sequence\": ");
    lmt_json_write_string(b, r->sequence, strlen(r->sequence), false);
    lmt_sb_putc(b, '}');
}

int lmt_cmd_fill_mask(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *text = NULL;
    int top_k = 5;
    bool clean_up = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lmtune fill-mask --model DIR [--tokenizer DIR] [--top_k 5] [--clean_up_tokenization_spaces] \"TEXT with [MASK]\"\n");
            return 0;
        }
        if (!strcmp(argv[i], "--clean_up_tokenization_spaces")) { clean_up = true; continue; }
        if (!strncmp(argv[i], "--", 2)) {
            if (i + 1 >= argc) { fprintf(stderr, "lmtune: error: %s needs a value\n", argv[i]); return 2; }
            if (!strcmp(argv[i], "--model")) model_dir = argv[++i];
            else if (!strcmp(argv[i], "--tokenizer")) tok_dir = argv[++i];
            else if (!strcmp(argv[i], "--top_k")) {
                int64_t k;
                if (!lmt_cli_int("top_k", argv[++i], 1, INT_MAX, &k)) return 2;
                top_k = (int)k;
            }
            else { fprintf(stderr, "lmtune: error: unknown option '%s'\n", argv[i]); return 2; }
            continue;
        }
        text = argv[i];
    }
    if (!model_dir || !text) { fprintf(stderr, "usage: lmtune fill-mask --model DIR [--top_k K] \"TEXT\" (see --help)\n"); return 2; }
    if (!tok_dir) tok_dir = model_dir;
    if (!(model_dir = lmt_cli_resolve(model_dir, true)) || !(tok_dir = lmt_cli_resolve(tok_dir, false))) return 1;
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_fill_mask_output o = {0};
    int rc = 0;
    if (lmt_model_load(model_dir, &m) != LMT_OK || lmt_tokenizer_load(tok_dir, &tok) != LMT_OK ||
        lmt_fill_mask(m, tok, text, top_k, clean_up, &o) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        rc = 1;
    } else {
        lmt_strbuf b;
        lmt_sb_init(&b);
        if (o.n_masks > 1) lmt_sb_putc(&b, '[');
        for (int k = 0; k < o.n_masks; k++) {
            if (k) lmt_sb_puts(&b, ", ");
            lmt_sb_putc(&b, '[');
            for (int j = 0; j < o.top_k; j++) {
                if (j) lmt_sb_puts(&b, ", ");
                put_result(&b, &o.results[k * o.top_k + j]);
            }
            lmt_sb_putc(&b, ']');
        }
        if (o.n_masks > 1) lmt_sb_putc(&b, ']');
        printf("%s\n", b.data);
        lmt_sb_free(&b);
    }
    lmt_fill_mask_output_free(&o);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
