#include <stdlib.h>
#include <string.h>
#include "data/batch.h"

void lmt_batch_free(lmt_batch *b) {
    free(b->input_ids); free(b->attention_mask); free(b->labels); free(b->token_type_ids); free(b->decoder_input_ids);
    free(b->position_ids);
    memset(b, 0, sizeof *b);
}
