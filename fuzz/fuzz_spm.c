/* A SentencePiece model (.spm, protobuf ModelProto: pieces, trainer and
 * normalizer specs, the precompiled charsmap's double array), loaded and
 * used to normalize, encode and decode. */
#include "fuzz_common.h"
#include "tokenizers/spm.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "source.spm", data, size, path, sizeof path);
    lmt_spm m;
    memset(&m, 0, sizeof m);
    if (lmt_spm_load(path, &m) != LMT_OK) return 0;
    static const char *const texts[] = {"Hello world.", "  déjà\tvu  ", "\xef\xbc\xa1\xe2\x85\xa0 \xf0\x9f\x98\x80", ""};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *ids = NULL;
        uint32_t *spans = NULL;
        size_t n = 0;
        lmt_strbuf norm;
        lmt_sb_init(&norm);
        if (lmt_spm_encode_spans(&m, texts[i], strlen(texts[i]), &ids, &spans, &n, &norm) == 0) {
            const char *pieces[64];
            size_t lens[64], k = 0;
            for (; k < n && k < 64; k++) {
                int32_t id = ids[k];
                pieces[k] = id >= 0 && (size_t)id < m.n ? m.piece[id] : "";
                lens[k] = id >= 0 && (size_t)id < m.n ? m.piece_len[id] : 0;
            }
            lmt_strbuf out;
            lmt_sb_init(&out);
            lmt_spm_decode_pieces(&m, pieces, lens, k, &out);
            lmt_sb_free(&out);
        }
        free(ids);
        free(spans);
        lmt_sb_free(&norm);
        (void)lmt_spm_piece_to_id(&m, texts[i], strlen(texts[i]));
    }
    lmt_spm_free(&m);
    return 0;
}
