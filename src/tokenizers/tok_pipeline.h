/* The general tokenizer.json pipeline (HF tokenizers' model): normalizers
 * over a string that keeps its alignment to the original text, pre-tokenizers
 * that cut it into words, a model per word, decoders over token strings.
 * Loading: tokenizer_json.c; stages: normalizer.c, pretok.c, pretok_split.c,
 * pretok_metaspace.c, bpe_word.c, decoders.c. */
#ifndef LMT_TOK_TOK_PIPELINE_H
#define LMT_TOK_TOK_PIPELINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/json.h"
#include "core/util.h"
#include "tokenizers/bpe.h"
#include "tokenizers/regex.h"
#include "tokenizers/spm.h"
#include "tokenizers/wordpiece.h"

/* ---- normalized strings (lmt_normalized: bytes + per-byte original range) ---- */
int lmt_ns_reserve(lmt_normalized *d, size_t n);
/* Appends s[0..n), every byte aligned to the original range [a, e). */
int lmt_ns_push(lmt_normalized *d, const char *s, size_t n, uint32_t a, uint32_t e);
/* Appends src's bytes [from, to) with their alignments. */
int lmt_ns_copy(lmt_normalized *d, const lmt_normalized *src, size_t from, size_t to);

/* A stage's "type" (NULL for JSON null or absent); errors name src and what. */
lmt_status lmt_tok_stage_type(const lmt_json *j, const char *src, const char *what, const char **type);
/* A tokenizers Pattern: {"String": s} (literal) or {"Regex": r}. */
lmt_status lmt_tok_parse_pattern(const lmt_json *p, const char *src, const char *what, lmt_regex **re);

/* One output character of a normalizer and its change in character count
 * (tokenizers' NormalizedString::transform: <= 0 takes the next original
 * character's alignment and consumes 1 - change of them, > 0 is inserted
 * with the previous one's). */
typedef struct lmt_nchange { int32_t cp; int32_t change; uint8_t ccc; } lmt_nchange;
int lmt_ns_transform(const lmt_normalized *in, const lmt_nchange *v, size_t n, lmt_normalized *out);

/* SentencePiece's precompiled charsmap (normalizer_precompiled.c) */
typedef struct lmt_charsmap lmt_charsmap;
lmt_status lmt_charsmap_parse(const char *b64, size_t len, const char *src, lmt_charsmap **out);
void lmt_charsmap_free(lmt_charsmap *cm);
/* tokenizers' Precompiled: per grapheme (under 6 bytes) the charsmap's first
 * prefix rule, else per character. 1 when unchanged, 0, -1. */
int lmt_charsmap_normalize(const lmt_charsmap *cm, const lmt_normalized *in, lmt_normalized *out);

/* ---- normalizers ---- */
typedef enum {
    LMT_NORM_NFC, LMT_NORM_NFD, LMT_NORM_NFKC, LMT_NORM_NFKD, LMT_NORM_LOWERCASE, LMT_NORM_STRIP,
    LMT_NORM_STRIP_ACCENTS, LMT_NORM_REPLACE, LMT_NORM_PREPEND, LMT_NORM_BERT, LMT_NORM_PRECOMPILED,
    LMT_NORM_SPM   /* sentencepiece's own Normalizer (MarianTokenizer, a slow tokenizer: no tokenizer.json type) */
} lmt_norm_kind;

typedef struct lmt_norm_stage {
    lmt_norm_kind kind;
    bool left, right;          /* Strip */
    lmt_regex *re;             /* Replace */
    char *content;             /* Replace / Prepend */
    size_t content_len;
    lmt_bert_norm bert;
    lmt_charsmap *charsmap;    /* Precompiled */
    const lmt_spm *spm;        /* SPM: the model whose NormalizerSpec runs (not owned) */
} lmt_norm_stage;

typedef struct lmt_normalizer { lmt_norm_stage *v; size_t n; } lmt_normalizer;

/* Parses tokenizer.json's "normalizer" (null: none; Sequence flattened). */
lmt_status lmt_normalizer_parse(lmt_normalizer *nz, const lmt_json *j, const char *src);
void lmt_normalizer_free(lmt_normalizer *nz);
/* Runs every stage on *s (tmp is scratch; both swapped as needed). 0 or -1. */
int lmt_normalizer_run(const lmt_normalizer *nz, lmt_regex_region **rr, lmt_normalized *s, lmt_normalized *tmp);

/* ---- pre-tokenizers ---- */
typedef enum { LMT_SPLIT_REMOVED, LMT_SPLIT_ISOLATED, LMT_SPLIT_PREV, LMT_SPLIT_NEXT, LMT_SPLIT_CONTIGUOUS } lmt_split_behavior;
typedef enum {
    LMT_PRE_BYTELEVEL, LMT_PRE_SPLIT, LMT_PRE_METASPACE, LMT_PRE_WHITESPACE, LMT_PRE_WHITESPACE_SPLIT,
    LMT_PRE_PUNCTUATION, LMT_PRE_DIGITS, LMT_PRE_BERT
} lmt_pre_kind;
typedef enum { LMT_PREPEND_ALWAYS, LMT_PREPEND_FIRST, LMT_PREPEND_NEVER } lmt_prepend_scheme;

typedef struct lmt_pre_stage {
    lmt_pre_kind kind;
    lmt_split_behavior behavior;
    bool invert;
    lmt_regex *re;             /* Split, Whitespace */
    int fast_digits;           /* Split with Llama-3's (3) or Qwen2's (1) pattern: hand-coded (pretok_llama3.c) */
    bool add_prefix_space, use_regex;   /* ByteLevel */
    bool individual;           /* Digits */
    bool split;                /* Metaspace */
    lmt_prepend_scheme prepend;
    char repl[8];              /* Metaspace replacement (UTF-8) */
    size_t repl_len;
} lmt_pre_stage;

typedef struct lmt_pretokenizer {
    lmt_pre_stage *v;
    size_t n;
    bool bytelevel;            /* ends with ByteLevel: words stay raw bytes, BPE maps them */
} lmt_pretokenizer;

/* Words of one segment: spans of buf. */
typedef struct lmt_pspan { uint32_t off, len; } lmt_pspan;
typedef struct lmt_piece lmt_piece;
typedef struct lmt_pwords {
    lmt_normalized buf;
    lmt_pspan *v;
    size_t n, cap;
    lmt_piece *pc;             /* scratch of the stage writing into these words */
    size_t pc_n, pc_cap;
} lmt_pwords;
void lmt_pwords_free(lmt_pwords *w);
int lmt_pwords_add(lmt_pwords *w, uint32_t off, uint32_t len);
/* Appends a piece to w's scratch list (pc). */
int lmt_pwords_piece(lmt_pwords *w, uint32_t s, uint32_t e, bool m);

lmt_status lmt_pretok_parse(lmt_pretokenizer *p, const lmt_json *j, const char *src);
void lmt_pretok_free(lmt_pretokenizer *p);
/* Cuts the words of *a with every stage (b is scratch); result in *a. */
int lmt_pretok_run(const lmt_pretokenizer *p, lmt_regex_region **rr, lmt_pwords *a, lmt_pwords *b);
/* One stage (pretok_split.c, pretok_metaspace.c, pretok.c). */
int lmt_pretok_split_regex(const lmt_pre_stage *st, lmt_regex_region **rr, const lmt_pwords *in, lmt_pwords *out);
int lmt_pretok_metaspace(const lmt_pre_stage *st, const lmt_pwords *in, lmt_pwords *out);
/* The patterns pretok_llama3.c hand-codes, and its match at s[i] (the end). */
extern const char lmt_llama3_pattern[], lmt_qwen2_pattern[];
size_t lmt_pretok_llama3_match(const unsigned char *s, size_t n, size_t i, int max_digits);
/* Pieces of one word: [start, end) relative to it, is_match. Emits them into
 * out (copying text from in) as tokenizers' NormalizedString::split. */
struct lmt_piece { uint32_t start, end; bool match; };
int lmt_pretok_emit(const lmt_pwords *in, size_t word, lmt_piece *pieces, size_t np, lmt_split_behavior b, bool invert,
                    lmt_pwords *out);

/* ---- models ---- */
typedef enum { LMT_PM_BPE, LMT_PM_WORDPIECE, LMT_PM_UNIGRAM, LMT_PM_SPM } lmt_pmodel_kind;
typedef struct lmt_pmodel {
    lmt_pmodel_kind kind;
    bool byte_fallback, fuse_unk, ignore_merges;
    int32_t unk;               /* -1: none */
    char *prefix, *suffix;     /* continuing_subword_prefix, end_of_word_suffix */
    size_t prefix_len, suffix_len;
    int32_t byte_tok[256];     /* <0xXX> ids (byte_fallback), -1 if absent */
    bool meta_split;           /* words may be cut before each "\u2581" run (lmt_pmodel_meta_splittable) */
    /* Unigram: score per id, the lowest, the longest piece in bytes */
    double *scores;
    double min_score;
    size_t max_piece;
    /* SPM (a .spm file's unigram model as sentencepiece runs it; Marian):
     * each piece id -> the id of its string in an outside vocabulary (remap),
     * an unknown piece by its surface in that vocabulary, else vocab_unk */
    const lmt_spm *spm;        /* not owned */
    int32_t *remap;
    const lmt_strmap *vocab;   /* not owned */
    int32_t vocab_unk;
} lmt_pmodel;

/* BPE over one word (bytelevel: raw bytes mapped by the byte alphabet;
 * otherwise characters looked up as they are). Appends tokens with byte
 * ranges in the word. */
int lmt_pmodel_bpe(const lmt_pmodel *m, const lmt_bpe *b, lmt_bpe_cache *cache, bool bytelevel, const unsigned char *w,
                   size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap);

/* Unigram over one word (unigram_word.c): tokenizers' encode_optimized
 * (best path by summed scores, first best on ties, unknown characters
 * min_score - 10 and fused), then pieces outside the vocabulary as <0xXX>
 * bytes (byte_fallback) or unk. */
int lmt_pmodel_unigram(const lmt_pmodel *m, const lmt_bpe *b, const unsigned char *w, size_t n, lmt_bpe_tok **out,
                       size_t *count, size_t *cap);
/* The SPM model over one normalized word (lmt_spm_encode_normalized, ids
 * remapped). Not cut into words nor cached: sentencepiece sums float scores
 * along the whole line, and the rounding of that sum breaks ties
 * ("." "..." vs "..." "."), so a word alone can come out differently. */
int lmt_pmodel_spm(const lmt_pmodel *m, const unsigned char *w, size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap);
/* Id of a token string in the SPM model's outside vocabulary, else its unk. */
int32_t lmt_pmodel_spm_vocab_id(const lmt_pmodel *m, const char *s, size_t n);
/* True when every token holds U+2581 only as a leading run and nothing is
 * dropped (an unk exists), nor merges ignored, nor prefix/suffix set. */
bool lmt_pmodel_meta_splittable(const lmt_pmodel *m, const lmt_bpe *b);

/* ---- decoders ---- */
typedef enum {
    LMT_DEC_BYTELEVEL, LMT_DEC_METASPACE, LMT_DEC_BYTEFALLBACK, LMT_DEC_FUSE, LMT_DEC_STRIP, LMT_DEC_REPLACE,
    LMT_DEC_WORDPIECE, LMT_DEC_BPE
} lmt_dec_kind;
typedef struct lmt_dec_stage {
    lmt_dec_kind kind;
    char *a, *b;               /* Replace: literal pattern, content; WordPiece prefix; BPEDecoder suffix; Metaspace repl */
    size_t alen, blen;
    bool cleanup;              /* WordPiece */
    bool prepend;              /* Metaspace: prepend_scheme != never */
    uint32_t strip_char;       /* Strip */
    size_t start, stop;
} lmt_dec_stage;
typedef struct lmt_decoder { lmt_dec_stage *v; size_t n; bool present; } lmt_decoder;

lmt_status lmt_decoder_parse(lmt_decoder *d, const lmt_json *j, const char *src);
void lmt_decoder_free(lmt_decoder *d);
/* Decodes the token strings (copied) as tokenizers' decoder.decode_chain, then
 * joined. *out is malloc'ed. */
lmt_status lmt_decoder_run(const lmt_decoder *d, const char *const *toks, const size_t *lens, size_t n, char **out,
                           size_t *out_len);

/* ---- the whole pipeline ---- */
typedef struct lmt_tok_pipeline {
    lmt_normalizer norm;
    lmt_pretokenizer pre;
    lmt_pmodel model;
    lmt_decoder dec;
    bool norm_added;           /* has normalized=true added tokens (matched after the normalizer) */
    /* MarianTokenizer (a slow tokenizer): a leading ">>xx<<" of each run
     * between added tokens is one token (remove_language_code), before the
     * normalizer; encodings carry no offsets (0) nor word ids (-1) */
    bool lang_code;
    bool no_offsets;
} lmt_tok_pipeline;
void lmt_tok_pipeline_free(lmt_tok_pipeline *p);
#endif
