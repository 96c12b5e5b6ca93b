/* lmtune bleu: corpus BLEU of a hypothesis file against one or more
 * reference files (one segment per line), as `sacrebleu REF -i HYP` with the
 * 13a tokenizer and exp smoothing; prints the score's fields as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "eval/bleu.h"
#include "train/clm_data.h"

#define MAX_REFS 8

static void strip_newline(char **lines, size_t *lens, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lens[i] && lines[i][lens[i] - 1] == '\n') lines[i][--lens[i]] = '\0';
}

int lmt_cmd_bleu(int argc, char **argv) {
    const char *hyp = NULL, *refs[MAX_REFS];
    size_t n_refs = 0;
    lmt_bleu_opts o = lmt_bleu_opts_default();
    static const char *const smooths[] = {"exp", "none", "floor", "add-k", NULL}, *const tokenizers[] = {"13a", "none", NULL};
    const char *smooth = "exp", *tokenize = "13a";
    lmt_cli_texts ref_list = {0};
    const lmt_flag flags[] = {
        {"hyp", LMT_FLAG_PATH, &hyp, LMT_FLAG_ANY, NULL, "the hypotheses, one per line", NULL},
        {"ref", LMT_FLAG_PATH, &ref_list, LMT_FLAG_ANY, NULL, "references, one per line (repeatable)", lmt_cli_texts_add},
        {"smooth", LMT_FLAG_ENUM, &smooth, LMT_FLAG_ANY, smooths, "sacreBLEU's smoothing (exp)", NULL},
        {"tokenize", LMT_FLAG_ENUM, &tokenize, LMT_FLAG_ANY, tokenizers, "sacreBLEU's tokenizer (13a)", NULL},
    };
    int prc = lmt_cli_parse_flags(argc, argv, flags, sizeof flags / sizeof flags[0], NULL, NULL,
                                  "usage: lmtune bleu --hyp FILE --ref FILE [--ref FILE ...] [--smooth exp|none|floor|add-k] [--tokenize 13a|none]\n\n"
                                  "Corpus BLEU as sacreBLEU computes it; prints its fields as JSON.\n", NULL);
    if (!prc && ref_list.n > MAX_REFS) { fprintf(stderr, "lmtune: error: at most %d references\n", MAX_REFS); prc = 2; }
    for (int k = 0; !prc && k < ref_list.n; k++) refs[n_refs++] = ref_list.v[k];
    lmt_cli_texts_free(&ref_list);
    if (prc) return prc < 0 ? 0 : prc;
    o.smooth = !strcmp(smooth, "exp") ? LMT_BLEU_SMOOTH_EXP : !strcmp(smooth, "none") ? LMT_BLEU_SMOOTH_NONE
             : !strcmp(smooth, "floor") ? LMT_BLEU_SMOOTH_FLOOR : LMT_BLEU_SMOOTH_ADD_K;
    o.tokenize_none = !strcmp(tokenize, "none");
    if (!hyp || n_refs == 0) { fprintf(stderr, "lmtune: error: bleu: --hyp and --ref are required (see --help)\n"); return 2; }
    char **h, **r[MAX_REFS];
    size_t *hl, *rl[MAX_REFS], nh, nr[MAX_REFS];
    if (lmt_text_lines_load(hyp, &h, &hl, &nh) != LMT_OK) { fprintf(stderr, "lmtune: error: %s\n", lmt_last_error()); return 1; }
    strip_newline(h, hl, nh);
    int rc = 0;
    size_t loaded = 0;
    for (; loaded < n_refs; loaded++) {
        if (lmt_text_lines_load(refs[loaded], &r[loaded], &rl[loaded], &nr[loaded]) != LMT_OK) { fprintf(stderr, "lmtune: error: %s\n", lmt_last_error()); rc = 1; break; }
        strip_newline(r[loaded], rl[loaded], nr[loaded]);
        if (nr[loaded] != nh) {
            fprintf(stderr, "lmtune: error: %s has %zu lines but %s has %zu\n", refs[loaded], nr[loaded], hyp, nh);
            loaded++;
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        lmt_bleu_result res;
        if (lmt_bleu_corpus((const char *const *)h, nh, (const char *const *const *)r, n_refs, &o, &res) != LMT_OK) {
            fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
            rc = 1;
        } else {
            printf("{\"score\": %.15g, \"counts\": [%lld, %lld, %lld, %lld], \"totals\": [%lld, %lld, %lld, %lld], "
                   "\"precisions\": [%.15g, %.15g, %.15g, %.15g], \"bp\": %.15g, \"sys_len\": %lld, \"ref_len\": %lld}\n",
                   res.score, (long long)res.counts[0], (long long)res.counts[1], (long long)res.counts[2], (long long)res.counts[3],
                   (long long)res.totals[0], (long long)res.totals[1], (long long)res.totals[2], (long long)res.totals[3],
                   res.precisions[0], res.precisions[1], res.precisions[2], res.precisions[3], res.bp, (long long)res.sys_len,
                   (long long)res.ref_len);
        }
    }
    for (size_t k = 0; k < loaded; k++) lmt_text_lines_free(r[k], rl[k], nr[k]);
    lmt_text_lines_free(h, hl, nh);
    return rc;
}
