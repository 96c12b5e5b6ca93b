/* Decoding: ids -> token strings -> the pipeline's decoder chain (Marian:
 * its own) -> text. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/utf8.h"

lmt_status lmt_tokenizer_decode(const lmt_tokenizer *t, const int32_t *ids, size_t n, bool skip_special_tokens,
                                bool clean_up_tokenization_spaces, char **out, size_t *out_len) {
    if (t->pipe_tgt) return lmt_tok_decode_marian(t, ids, n, skip_special_tokens, clean_up_tokenization_spaces, out, out_len);
    /* tokenizers' decode: ids -> tokens (special ones skipped when asked),
     * then the decoder chain */
    const char **toks = malloc((n ? n : 1) * sizeof *toks);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens), m = 0;
    if (!toks || !lens) { free(toks); free(lens); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        long a = lmt_added_vocab_find_id(&t->added, ids[i]);
        if (a >= 0 && skip_special_tokens && t->added.v[a].special) continue;
        const char *tok = lmt_tokenizer_id_to_token(t, ids[i]);
        if (!tok) continue;
        toks[m] = tok;
        lens[m++] = strlen(tok);
    }
    lmt_status st = lmt_decoder_run(&t->pipe->dec, toks, lens, m, out, out_len);
    free(toks);
    free(lens);
    /* transformers 5 skips clean_up_tokenization only for BPE */
    if (st == LMT_OK && clean_up_tokenization_spaces && t->model != LMT_TOK_BPE) {
        *out_len = lmt_clean_up_tokenization(*out, *out_len);
        (*out)[*out_len] = 0;
    }
    return st;
}
