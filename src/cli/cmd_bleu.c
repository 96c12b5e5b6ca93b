/* lmtune bleu: corpus BLEU of a hypothesis file against one or more
 * reference files (one segment per line), as `sacrebleu REF -i HYP` with the
 * 13a tokenizer and exp smoothing; prints the score's fields as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: lmtune bleu --hyp FILE --ref FILE [--ref FILE ...] [--smooth exp|none|floor|add-k] [--tokenize 13a|none]\n");
            return 0;
        }
        if (i + 1 >= argc) { fprintf(stderr, "lmtune: error: %s needs a value\n", a); return 2; }
        const char *v = argv[++i];
        if (!strcmp(a, "--hyp")) hyp = v;
        else if (!strcmp(a, "--ref")) { if (n_refs == MAX_REFS) { fprintf(stderr, "lmtune: error: at most %d references\n", MAX_REFS); return 2; } refs[n_refs++] = v; }
        else if (!strcmp(a, "--smooth")) {
            if (!strcmp(v, "exp")) o.smooth = LMT_BLEU_SMOOTH_EXP;
            else if (!strcmp(v, "none")) o.smooth = LMT_BLEU_SMOOTH_NONE;
            else if (!strcmp(v, "floor")) o.smooth = LMT_BLEU_SMOOTH_FLOOR;
            else if (!strcmp(v, "add-k")) o.smooth = LMT_BLEU_SMOOTH_ADD_K;
            else { fprintf(stderr, "lmtune: error: unknown smoothing '%s'\n", v); return 2; }
        } else if (!strcmp(a, "--tokenize")) o.tokenize_none = !strcmp(v, "none");
        else { fprintf(stderr, "lmtune: error: unknown option '%s'\n", a); return 2; }
    }
    if (!hyp || n_refs == 0) { fprintf(stderr, "usage: lmtune bleu --hyp FILE --ref FILE (see --help)\n"); return 2; }
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
