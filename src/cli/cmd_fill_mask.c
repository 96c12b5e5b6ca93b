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
#include "core/error.h"
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

/* one text's answer: a list of {score, token, token_str, sequence}, or one such list per mask */
static void put_output(lmt_strbuf *b, const lmt_fill_mask_output *o) {
    if (o->n_masks > 1) lmt_sb_putc(b, '[');
    for (int k = 0; k < o->n_masks; k++) {
        if (k) lmt_sb_puts(b, ", ");
        lmt_sb_putc(b, '[');
        for (int j = 0; j < o->top_k; j++) {
            if (j) lmt_sb_puts(b, ", ");
            put_result(b, &o->results[k * o->top_k + j]);
        }
        lmt_sb_putc(b, ']');
    }
    if (o->n_masks > 1) lmt_sb_putc(b, ']');
}

static const char usage_text[] =
    "usage: lmtune fill-mask --model DIR [--tokenizer DIR] [--top_k 5] [--clean_up_tokenization_spaces] \"TEXT with [MASK]\" [TEXT ...]\n"
    "       lmtune fill-mask --model DIR --file FILE   (one text per line)\n\n"
    "Prints the fill-mask pipeline's output as JSON: for one text a list of {score, token, token_str, sequence}\n"
    "(one list per mask when the text holds several); for several texts, a list of those, as the pipeline given a list.\n";

int lmt_cmd_fill_mask(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *file = NULL;
    int64_t top_k = 5;
    bool clean_up = false;
    lmt_cli_texts t = {0};
    const lmt_flag flags[] = {
        {"model_name_or_path|model", LMT_FLAG_PATH, &model_dir, LMT_FLAG_ANY, NULL, "the model folder or Hub repo id", NULL},
        {"tokenizer_name|tokenizer", LMT_FLAG_PATH, &tok_dir, LMT_FLAG_ANY, NULL, "the tokenizer (default: the model's)", NULL},
        {"top_k", LMT_FLAG_INT, &top_k, 1, INT_MAX, 0, NULL, "answers per mask (5)", NULL},
        {"clean_up_tokenization_spaces", LMT_FLAG_BOOL, &clean_up, LMT_FLAG_ANY, NULL, "the decoder's clean-up of spaces", NULL},
        {"text", LMT_FLAG_STRING, &t, LMT_FLAG_ANY, NULL, "a text (repeatable; or positional)", lmt_cli_texts_add},
        {"file", LMT_FLAG_PATH, &file, LMT_FLAG_ANY, NULL, "texts, one per line", NULL},
    };
    int rc = lmt_cli_parse_texts(argc, argv, flags, sizeof flags / sizeof flags[0], usage_text, lmt_cli_hub_help, &t);
    if (!rc) rc = lmt_cli_texts_read_file(&t, file);
    if (!rc && (!model_dir || !t.n)) {
        fprintf(stderr, "lmtune: error: give --model and a text (positional, --text or --file) (see --help)\n");
        rc = 2;
    }
    if (!rc && !tok_dir) tok_dir = model_dir;
    if (!rc && (!(model_dir = lmt_cli_resolve(model_dir, true)) || !(tok_dir = lmt_cli_resolve(tok_dir, false)))) rc = 1;
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    if (!rc && (lmt_model_load(model_dir, &m) != LMT_OK || lmt_tokenizer_load(tok_dir, &tok) != LMT_OK)) rc = lmt_cli_fail(NULL);
    lmt_strbuf b;
    lmt_sb_init(&b);
    if (t.n > 1) lmt_sb_putc(&b, '[');
    for (int i = 0; !rc && i < t.n; i++) {   /* the pipeline given a list: one answer per text */
        lmt_fill_mask_output o = {0};
        if (lmt_fill_mask(m, tok, t.v[i], (int)top_k, clean_up, &o) != LMT_OK) {
            rc = t.n > 1 ? (fprintf(stderr, "lmtune: error: text %d: %s\n", i + 1, lmt_last_error()), 1) : lmt_cli_fail(NULL);
        } else {
            if (i) lmt_sb_puts(&b, ", ");
            put_output(&b, &o);
        }
        lmt_fill_mask_output_free(&o);
    }
    if (t.n > 1) lmt_sb_putc(&b, ']');
    if (!rc) printf("%s\n", b.data);
    lmt_sb_free(&b);
    lmt_cli_texts_free(&t);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc < 0 ? 0 : rc;
}
