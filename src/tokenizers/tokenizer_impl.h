/* The tokenizer handle's insides, shared by loading, encoding and decoding.
 * Pipeline: (normalizer: none for byte-level BPE) -> added tokens ->
 * pre-tokenizer -> model -> post-processor -> decoder. */
#ifndef LMT_TOK_TOKENIZER_IMPL_H
#define LMT_TOK_TOKENIZER_IMPL_H
#include "lmtune/tokenizer.h"
#include "tokenizers/added_tokens.h"
#include "tokenizers/bpe.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/postprocess.h"
#include "tokenizers/spm.h"
#include "tokenizers/wordpiece.h"

struct lmt_tokenizer {
    lmt_tokenizer_kind kind;
    lmt_tok_model model;
    lmt_bpe bpe;
    lmt_added_vocab added;
    lmt_special_ids special;
    bool classic_specials;     /* a GPT-2/RoBERTa-style tokenizer.json: special ids of its class, as the vocab.json path */
    lmt_post post;
    /* WordPiece (the vocabulary lives in bpe.vocab / bpe.id_to_token, no merges) */
    lmt_wordpiece wp;
    /* Marian: source / target SentencePiece models (vocabulary in bpe.vocab);
     * pipe runs the source model, pipe_tgt the target one (text_target) */
    lmt_spm spm_src, spm_tgt;
    int spm_loaded;            /* how many of them to free */
    bool separate_vocabs;      /* target ids from target_vocab.json (in tgt_vocab) */
    lmt_bpe tgt_vocab;
    lmt_encode_opts call_opts;     /* what opts=NULL means (lmt_tokenizer_encode_opts) */
    int32_t file_pad_id;           /* tokenizer.json padding's pad_token, -1 if none */
    char *dir;
    lmt_tok_pipeline *pipe;        /* the general tokenizer.json pipeline, or NULL */
    lmt_tok_pipeline *pipe_tgt;    /* Marian's target side, or NULL */
};

/* One sequence before post-processing: tokens with byte offsets into the
 * (UTF-8-repaired) text, word indices, and the leading/trailing spaces of
 * each token string (for trim_offsets). */
typedef struct lmt_raw_seq {
    int32_t *ids;
    uint32_t *bstart, *bend;
    int32_t *words;
    int32_t *cstart, *cend;   /* character offsets, filled after conversion */
    uint16_t *lead, *trail;
    size_t n, cap;
} lmt_raw_seq;

void lmt_raw_seq_free(lmt_raw_seq *r);
int lmt_raw_reserve(lmt_raw_seq *r, size_t n);
/* Appends an added (special) token matched in the text at [start, end). */
int lmt_raw_push_added(lmt_raw_seq *out, int32_t id, uint32_t start, uint32_t end, int32_t word);
/* tokenizer.json's added_tokens list. */
lmt_status lmt_tok_load_added_json(lmt_tokenizer *t, const lmt_json *added, const char *path);
/* Only the model part (vocabulary, unk, prefix, max_input_chars_per_word). */
lmt_status lmt_wp_load_model_json(lmt_tokenizer *t, const lmt_json *model, const char *path);
/* WordPiece from vocab.txt, built as transformers 5's BertTokenizer does;
 * cfg is tokenizer_config.json (or NULL) read from cfg_path. */
lmt_status lmt_wp_load_vocab_txt(lmt_tokenizer *t, const char *path, const lmt_json *cfg, const char *cfg_path);
/* Runs the pipeline (added tokens, normalizer, pre-tokenizer, model) over
 * valid UTF-8 text, then converts the offsets to characters. */
int lmt_tok_encode_raw(const lmt_tokenizer *t, lmt_bpe_cache *cache, bool target, const char *text, size_t n, lmt_raw_seq *out);
/* MarianTokenizer folder (source.spm, target.spm, vocab.json) as a
 * configuration of the pipeline (pipe: source side, pipe_tgt: target);
 * cfg is tokenizer_config.json or NULL. */
lmt_status lmt_marian_load(lmt_tokenizer *t, const char *dir, const lmt_json *cfg, const char *cfg_path);
/* Its post-processor (</s> appended), once the special ids are known. */
lmt_status lmt_marian_post(lmt_tokenizer *t);
lmt_status lmt_tok_decode_marian(const lmt_tokenizer *t, const int32_t *ids, size_t n, bool skip_special_tokens,
                                 bool clean_up, char **out, size_t *out_len);
/* tokenizer.c's readers, shared with tokenizer_json.c. */
lmt_status lmt_tok_load_vocab_json(lmt_tokenizer *t, const lmt_json *v, const char *src);
lmt_status lmt_tok_load_merges_txt(lmt_tokenizer *t, const char *path);
lmt_status lmt_tok_load_merges_json(lmt_tokenizer *t, const lmt_json *m, const char *src);
int32_t lmt_tok_vocab_id(const lmt_tokenizer *t, const char *tok);
/* tokenizer_json.c: true for a GPT-2/RoBERTa-style file (no normalizer, a
 * ByteLevel pre-tokenizer and decoder, plain BPE): it keeps the special ids
 * of its class and tokenizer_config.json's add_prefix_space. */
bool lmt_tok_json_is_classic(const lmt_json *j);
/* true for a BERT-style file (WordPiece, BertNormalizer or none,
 * BertPreTokenizer, WordPiece decoder or none): it keeps the special ids
 * of its class. */
bool lmt_tok_json_is_classic_wordpiece(const lmt_json *j);
/* What transformers 5's AutoTokenizer does to tokenizer.json when
 * tokenizer_config.json names LlamaTokenizer or GPT2Tokenizer (their
 * __init__ builds the normalizer, pre-tokenizer, decoder, post-processor and
 * BPE options; vocabulary, merges and added tokens stay), unless the
 * folder's config.json model_type is one transformers forces to
 * TokenizersBackend. Edits j in place. */
lmt_status lmt_tok_json_class_override(lmt_json *j, const lmt_json *cfg, const char *dir, const char *src);
/* The general pipeline from tokenizer.json j (vocab / merges from the
 * given files instead of j's model when vocab_path is set). */
lmt_status lmt_tok_load_pipeline(lmt_tokenizer *t, const lmt_json *j, const char *vocab_path, const char *merges_path,
                                 const char *src);
/* Qwen2Tokenizer from vocab.json + merges.txt, as transformers builds it. */
lmt_status lmt_tok_load_qwen2(lmt_tokenizer *t, const char *vocab_path, const char *merges_path);
/* GPT2Tokenizer / RobertaTokenizer from vocab.json + merges.txt: the
 * pipeline transformers builds, post-processor left to the caller. */
lmt_status lmt_tok_load_bytelevel_bpe(lmt_tokenizer *t, const char *vocab_path, const char *merges_path, bool add_prefix_space);
/* Added tokens, normalizer, pre-tokenizer and model of the pipeline. */
int lmt_tok_encode_raw_pipeline(const lmt_tokenizer *t, const lmt_tok_pipeline *p, lmt_bpe_cache *cache, const char *text,
                                size_t n, lmt_raw_seq *out);
#endif
