/* The fill-mask pipeline through the public C API: load a BERT / RoBERTa /
 * DistilBERT folder and its tokenizer, fill every mask token of a sentence,
 * print the top-k candidates of each mask, one per line:
 *
 *   MASK<TAB>SCORE<TAB>TOKEN_ID<TAB>TOKEN_STR<TAB>SEQUENCE
 *
 *   fill_mask MODEL_DIR TOP_K "This is a great [MASK]."
 *
 * Builds against include/ alone:
 *   cc fill_mask.c $(pkg-config --cflags --libs lmtune) -o fill_mask */
#include <stdio.h>
#include <stdlib.h>
#include "lmtune/lmtune.h"
#include "lmtune/pipeline.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL_DIR TOP_K \"TEXT with [MASK]\"\n", argv[0]);
        return 2;
    }
    lmt_pipeline *p = NULL;
    lmt_fill_result r = {0};
    if (lmt_pipeline_load(LMT_PIPELINE_FILL_MASK, argv[1], NULL, &p) != LMT_OK ||
        lmt_pipeline_fill_mask(p, argv[3], atoi(argv[2]), &r) != LMT_OK) {
        fprintf(stderr, "error: %s\n", lmt_last_error());
        lmt_pipeline_free(p);
        return 1;
    }
    for (int k = 0; k < r.n_masks; k++)
        for (int j = 0; j < r.top_k; j++) {
            const lmt_fill_candidate *c = &r.candidates[k * r.top_k + j];
            printf("%d\t%.9g\t%d\t%s\t%s\n", k, c->score, c->token, c->token_str, c->sequence);
        }
    lmt_fill_result_free(&r);
    lmt_pipeline_free(p);
    return 0;
}
