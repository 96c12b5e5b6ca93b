/* lmtune tokenizers: HF tokenizer folders in, the encodings transformers'
 * fast tokenizers produce out. Byte-level BPE (GPT-2, RoBERTa) and
 * WordPiece (BERT, DistilBERT uncased); SentencePiece unigram under
 * MarianTokenizer's semantics (folders with source.spm / target.spm); any
 * other tokenizer.json (Llama 2/3, Mistral, SmolLM2, TinyLlama, Qwen2...)
 * through the general pipeline of HF tokenizers' stages (docs/TOKENIZERS.md). */
#ifndef LMTUNE_TOKENIZER_H
#define LMTUNE_TOKENIZER_H
#include "lmtune/lmtune.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmt_tokenizer lmt_tokenizer;

/* Tokenizers of the general tokenizer.json pipeline report their model's
 * family: BPE as GPT2, WordPiece as BERT, Unigram as MARIAN (their special
 * tokens come from the file, not from these kinds). */
typedef enum lmt_tokenizer_kind {
    LMT_TOKENIZER_GPT2 = 0,     /* byte-level BPE, no special tokens added */
    LMT_TOKENIZER_ROBERTA,      /* byte-level BPE, <s> A </s></s> B </s> */
    LMT_TOKENIZER_BERT,         /* WordPiece, [CLS] A [SEP] B [SEP] (BERT, DistilBERT) */
    LMT_TOKENIZER_MARIAN,       /* SentencePiece unigram, A </s> (MarianTokenizer) */
} lmt_tokenizer_kind;

/* The model of the pipeline (normalizer -> pre-tokenizer -> model ->
 * post-processor -> decoder); Unigram plugs in later. */
typedef enum lmt_tok_model {
    LMT_TOK_BPE = 0,      /* byte-level BPE: GPT-2, RoBERTa */
    LMT_TOK_WORDPIECE,    /* BERT, DistilBERT */
    LMT_TOK_UNIGRAM       /* SentencePiece unigram: Marian */
} lmt_tok_model;

/* Loads tokenizer.json (as transformers' AutoTokenizer uses it), or
 * vocab.json + merges.txt (Qwen2Tokenizer too), or (WordPiece) vocab.txt,
 * or (Marian, detected by source.spm without tokenizer.json) source.spm +
 * target.spm + vocab.json
 * (+ tokenizer_config.json,
 * special_tokens_map.json) from dir. The kind comes from tokenizer_config.json
 * or the files' contents. Errors name the file and the problem. */
LMT_API lmt_status lmt_tokenizer_load(const char *dir, lmt_tokenizer **out);
/* A folder's tokenizer_config.json can name a class whose pipeline
 * transformers 5 builds instead of tokenizer.json's (LlamaTokenizer:
 * Metaspace; GPT2Tokenizer: ByteLevel): lmt_tokenizer_load follows
 * AutoTokenizer. This reads one tokenizer.json exactly as
 * tokenizers.Tokenizer.from_file does (no configs; special ids -1). */
LMT_API lmt_status lmt_tokenizer_load_file(const char *tokenizer_json, lmt_tokenizer **out);
LMT_API void lmt_tokenizer_free(lmt_tokenizer *t);
LMT_API lmt_tokenizer_kind lmt_tokenizer_get_kind(const lmt_tokenizer *t);
LMT_API lmt_tok_model lmt_tokenizer_model(const lmt_tokenizer *t);
/* len(tokenizer): the model vocabulary plus added tokens outside it. */
LMT_API size_t lmt_tokenizer_vocab_size(const lmt_tokenizer *t);
/* Token string of an id (byte-level form, as convert_ids_to_tokens), or NULL. */
LMT_API const char *lmt_tokenizer_id_to_token(const lmt_tokenizer *t, int32_t id);
/* Id of a token string, or -1. */
LMT_API int32_t lmt_tokenizer_token_to_id(const lmt_tokenizer *t, const char *token);
/* Special token ids, -1 when the tokenizer has none. */
typedef struct lmt_special_ids { int32_t bos, eos, unk, sep, cls, pad, mask; } lmt_special_ids;
LMT_API lmt_special_ids lmt_tokenizer_special_ids(const lmt_tokenizer *t);
/* Sets the padding token (e.g. GPT-2: pad with eos, as the notebooks do). */
LMT_API lmt_status lmt_tokenizer_set_pad(lmt_tokenizer *t, int32_t pad_id);

typedef enum { LMT_TRUNCATE_NONE = 0, LMT_TRUNCATE_LONGEST_FIRST, LMT_TRUNCATE_ONLY_FIRST, LMT_TRUNCATE_ONLY_SECOND } lmt_truncation;
typedef enum { LMT_PAD_NONE = 0, LMT_PAD_LONGEST, LMT_PAD_MAX_LENGTH } lmt_padding;

typedef struct lmt_encode_opts {
    bool add_special_tokens;    /* default true */
    lmt_truncation truncation;
    int64_t max_length;         /* 0 = none */
    lmt_padding padding;
    int64_t pad_to_multiple_of; /* 0 = none */
    bool pad_left;              /* padding_side="left" */
    bool truncate_left;         /* truncation_side="left" */
    bool text_target;           /* Marian: encode as text_target (target.spm);
                                   ignored by the other tokenizers */
    int64_t stride;             /* tokenizers' truncation stride: must stay below the
                                   length each truncated sequence keeps */
    bool return_overflowing;    /* fill lmt_encoding.overflowing with what truncation
                                   cut off, in windows overlapping by stride, each
                                   post-processed and padded as tokenizers' Encoding
                                   overflowing (return_overflowing_tokens) */
    int64_t pad_length;         /* LMT_PAD_MAX_LENGTH pads to this (0: max_length) */
    bool pad_id_set;            /* pad with pad_id / pad_type_id instead of the */
    int32_t pad_id;             /* tokenizer's pad token and type 0 */
    int32_t pad_type_id;
} lmt_encode_opts;
LMT_API lmt_encode_opts lmt_encode_opts_default(void);
/* The options a plain call of this tokenizer uses (what opts=NULL means):
 * - lmt_tokenizer_load_file: the file's "truncation" and "padding", as
 *   tokenizers.Tokenizer.from_file(...).encode / encode_batch apply them
 *   (padding BatchLongest pads a single encoding to its own length, rounded
 *   to pad_to_multiple_of; a batch to its longest);
 * - lmt_tokenizer_load (transformers' AutoTokenizer, which resets them on
 *   every call): no truncation nor padding, but padding_side and
 *   truncation_side from the file's directions (the pad token too, unless
 *   the configs name one). */
LMT_API lmt_encode_opts lmt_tokenizer_encode_opts(const lmt_tokenizer *t);

/* One encoded sequence (or pair). Offsets are character (code point)
 * offsets into the input as Python sees it; word_ids and sequence_ids are
 * -1 where transformers says None. */
typedef struct lmt_encoding {
    size_t n;
    int32_t *ids;
    int32_t *type_ids;
    int32_t *attention_mask;
    int32_t *special_tokens_mask;
    int32_t *word_ids;
    int32_t *sequence_ids;
    int32_t *offset_start, *offset_end;
    struct lmt_encoding *overflowing;   /* with opts.return_overflowing (else NULL) */
    size_t n_overflowing;
} lmt_encoding;
LMT_API void lmt_encoding_free(lmt_encoding *e);

/* Encodes text (and pair, or NULL) with opts (NULL: lmt_tokenizer_encode_opts(t)). Input bytes that are not valid UTF-8 are
 * replaced by U+FFFD exactly as Python's bytes.decode("utf-8", "replace"). */
LMT_API lmt_status lmt_tokenizer_encode(const lmt_tokenizer *t, const char *text, size_t len, const char *pair, size_t pair_len,
                                const lmt_encode_opts *opts, lmt_encoding *out);
/* Encodes n texts (pairs may be NULL) on all cores; padding "longest" pads
 * to the longest of the batch. outs[n] must be zero-initialised. */
LMT_API lmt_status lmt_tokenizer_encode_batch(const lmt_tokenizer *t, const char *const *texts, const size_t *lens,
                                      const char *const *pairs, const size_t *pair_lens, size_t n,
                                      const lmt_encode_opts *opts, lmt_encoding *outs);
/* Decodes ids to UTF-8 (caller frees *out). Ids outside the vocabulary are
 * skipped, as tokenizers does. clean_up_tokenization_spaces is ignored for
 * byte-level BPE, as transformers 5 ignores it; for WordPiece it applies
 * transformers' clean_up_tokenization (BERT's default is false; the
 * WordPiece decoder's own per-token cleanup always runs). */
LMT_API lmt_status lmt_tokenizer_decode(const lmt_tokenizer *t, const int32_t *ids, size_t n, bool skip_special_tokens,
                                bool clean_up_tokenization_spaces, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
