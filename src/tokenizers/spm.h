/* SentencePiece unigram models (.spm, a protobuf ModelProto): the nmt_nfkc
 * style normalizer (precompiled charsmap), Viterbi segmentation by piece
 * scores and decoding, as sentencepiece 0.2 does them. */
#ifndef LMT_TOK_SPM_H
#define LMT_TOK_SPM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/hashmap.h"
#include "core/util.h"

/* ModelProto.SentencePiece.Type */
enum { LMT_SPM_NORMAL = 1, LMT_SPM_UNKNOWN = 2, LMT_SPM_CONTROL = 3, LMT_SPM_USER_DEFINED = 4, LMT_SPM_UNUSED = 5, LMT_SPM_BYTE = 6 };

typedef struct lmt_spm {
    size_t n;                  /* pieces; id = index */
    char **piece;
    uint32_t *piece_len;
    float *score;
    uint8_t *type;
    lmt_strmap *normal;        /* NORMAL / USER_DEFINED / UNUSED pieces -> id (the Viterbi trie) */
    /* byte trie over the `normal` pieces (Viterbi walks it one byte a step):
     * (node, byte) -> child and the child's piece id (or -1) in one
     * open-addressing slot (key node << 8 | byte, plus 1; 0 = empty), so a
     * step touches one cache line */
    struct lmt_spm_edge { uint32_t key, child; int32_t id; } *edge;
    size_t n_nodes, tmask;
    lmt_strmap *reserved;      /* CONTROL / UNKNOWN / BYTE pieces -> id */
    size_t max_piece_len;      /* bytes, over `normal` */
    bool has_user_defined;
    int model_type;            /* TrainerSpec.model_type: 1 = unigram */
    int32_t unk_id, bos_id, eos_id, pad_id;
    bool byte_fallback, treat_ws_as_suffix;
    char *unk_surface;
    float min_score, max_score;
    /* NormalizerSpec */
    bool add_dummy_prefix, remove_extra_ws, escape_ws;
    uint32_t *trie;            /* Darts double array */
    size_t trie_n;
    char *norm;                /* NUL-terminated replacement strings */
    size_t norm_n;
    int32_t byte_id[256];      /* <0xXX> pieces, -1 when absent */
} lmt_spm;

/* Reads path (protobuf wire format); errors name the file, field and offset. */
lmt_status lmt_spm_load(const char *path, lmt_spm *m);
/* Darts-clone commonPrefixSearch over the double array a[0..an): the length
 * of the longest (or, with shortest, the first) key that prefixes
 * key[0..n), 0 if none, its value in *value. */
size_t lmt_darts_prefix(const uint32_t *a, size_t an, const unsigned char *key, size_t n, bool shortest, uint32_t *value);
void lmt_spm_free(lmt_spm *m);
/* Normalizes valid UTF-8 text as sentencepiece's Normalizer::Normalize;
 * appends to out (cleared first). Returns 0 or -1 on allocation failure. */
int lmt_spm_normalize(const lmt_spm *m, const char *text, size_t n, lmt_strbuf *out);
/* Encodes valid UTF-8 text to piece ids (EncodeAsIds). *ids is malloc'd.
 * Returns 0 or -1 on allocation failure. */
int lmt_spm_encode(const lmt_spm *m, const char *text, size_t n, int32_t **ids, size_t *n_ids);
/* The same, with each piece's byte range [spans[2i], spans[2i+1]) in the
 * normalized text left in norm: an unknown piece's surface (EncodeAsPieces
 * returns it in place of "<unk>"). *spans is malloc'd. */
int lmt_spm_encode_spans(const lmt_spm *m, const char *text, size_t n, int32_t **ids, uint32_t **spans, size_t *n_ids,
                         lmt_strbuf *norm);
/* The model alone (Model::Encode + PopulateSentencePieceText) over text
 * already normalized by lmt_spm_normalize: ids and byte spans in it. */
int lmt_spm_encode_normalized(const lmt_spm *m, const char *text, size_t n, int32_t **ids, uint32_t **spans, size_t *n_ids);
/* The edge from trie node `node` by byte c, NULL when none (0 is the root). */
static inline const struct lmt_spm_edge *lmt_spm_trie_step(const lmt_spm *m, uint32_t node, unsigned char c) {
    uint32_t k = (node << 8 | c) + 1;
    for (size_t j = (size_t)(((uint64_t)k * 0x9E3779B97F4A7C15ULL) >> 24) & m->tmask;; j = (j + 1) & m->tmask) {
        if (m->edge[j].key == k) return &m->edge[j];
        if (!m->edge[j].key) return NULL;
    }
}
/* Id of a piece string (PieceToId): unk_id when unknown. */
int32_t lmt_spm_piece_to_id(const lmt_spm *m, const char *piece, size_t len);
/* DecodePieces: appends the decoded text of pieces to out. */
void lmt_spm_decode_pieces(const lmt_spm *m, const char *const *pieces, const size_t *lens, size_t n, lmt_strbuf *out);
#endif
