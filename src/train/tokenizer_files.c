/* Tokenizer files in saved folders; see tokenizer_files.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/util.h"
#include "train/tokenizer_files.h"

/* what save_pretrained writes of a tokenizer, in every family lmtune reads */
static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                                    "vocab.json", "merges.txt", "vocab.txt", "source.spm", "target.spm", "tokenizer.model",
                                    "chat_template.jinja"};

/* "key": "token" for a special id, or "key": null */
static void put_token(lmt_strbuf *b, const lmt_tokenizer *tok, const char *key, int32_t id) {
    const char *s = id >= 0 ? lmt_tokenizer_id_to_token(tok, id) : NULL;
    lmt_sb_printf(b, "  \"%s\": ", key);
    if (s) lmt_json_write_string(b, s, strlen(s), true);
    else lmt_sb_puts(b, "null");
    lmt_sb_puts(b, ",\n");
}

/* closes the object (its last member takes no comma) and hands it over */
static lmt_status finish(lmt_strbuf *b, char **out) {
    if (b->len >= 2 && !b->oom) b->len -= 2;
    lmt_sb_puts(b, "\n}\n");
    if (b->oom) {
        lmt_sb_free(b);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    *out = lmt_sb_take(b);
    return LMT_OK;
}

/* MarianTokenizer's, for source.spm + target.spm + vocab.json alone: its
 * special tokens in added_tokens_decoder (keys sorted as strings), the
 * class's defaults */
static lmt_status marian_config(const lmt_tokenizer *tok, char **out) {
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    int32_t ids[3] = {sp.eos, sp.unk, sp.pad};
    char keys[3][16];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        bool dup = ids[i] < 0;
        for (int k = 0; k < i && !dup; k++) dup = ids[k] == ids[i];
        if (dup) continue;
        snprintf(keys[n++], sizeof keys[0], "%d", ids[i]);
    }
    for (int i = 1; i < n; i++)   /* json.dumps(sort_keys=True) sorts the id strings */
        for (int k = i; k > 0 && strcmp(keys[k - 1], keys[k]) > 0; k--) {
            char t[16];
            memcpy(t, keys[k], 16); memcpy(keys[k], keys[k - 1], 16); memcpy(keys[k - 1], t, 16);
        }
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\n  \"added_tokens_decoder\": {");
    for (int i = 0; i < n; i++) {
        const char *t = lmt_tokenizer_id_to_token(tok, (int32_t)atoi(keys[i]));
        lmt_sb_printf(&b, "%s\n    \"%s\": {\n      \"content\": ", i ? "," : "", keys[i]);
        lmt_json_write_string(&b, t ? t : "", t ? strlen(t) : 0, true);
        lmt_sb_puts(&b, ",\n      \"lstrip\": false,\n      \"normalized\": false,\n      \"rstrip\": false,\n"
                        "      \"single_word\": false,\n      \"special\": true\n    }");
    }
    lmt_sb_puts(&b, n ? "\n  },\n  \"backend\": \"custom\",\n" : "},\n  \"backend\": \"custom\",\n");
    put_token(&b, tok, "eos_token", sp.eos);
    lmt_sb_puts(&b, "  \"is_local\": true,\n  \"local_files_only\": false,\n  \"model_max_length\": 512,\n");
    put_token(&b, tok, "pad_token", sp.pad);
    lmt_sb_puts(&b, "  \"separate_vocabs\": false,\n  \"source_lang\": null,\n  \"sp_model_kwargs\": {},\n"
                    "  \"target_lang\": null,\n  \"tokenizer_class\": \"MarianTokenizer\",\n");
    put_token(&b, tok, "unk_token", sp.unk);
    return finish(&b, out);
}

lmt_status lmt_tokenizer_config_text(const char *tok_dir, const lmt_tokenizer *tok, char **out) {
    *out = NULL;
    char *p = lmt_path_join(tok_dir, "tokenizer_config.json");
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    bool has = lmt_file_exists(p);
    free(p);
    if (has) return LMT_OK;
    if (!(p = lmt_path_join(tok_dir, "tokenizer.json"))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    bool json = lmt_file_exists(p);
    free(p);
    if (json) {
        /* a tokenizer.json alone: PreTrainedTokenizerFast(tokenizer_file=...).save_pretrained */
        *out = lmt_strdup("{\n  \"backend\": \"tokenizers\",\n  \"model_max_length\": 1000000000000000019884624838656,\n"
                          "  \"tokenizer_class\": \"TokenizersBackend\"\n}\n");
        return *out ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    /* transformers 5.23: the class's __init__ arguments, sorted, with the
     * loader's is_local / local_files_only, and model_max_length
     * int(1e30) (VERY_LARGE_INTEGER: no config names a length) */
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    lmt_tokenizer_kind kind = lmt_tokenizer_get_kind(tok);
    bool bert = kind == LMT_TOKENIZER_BERT, roberta = kind == LMT_TOKENIZER_ROBERTA;
    if (kind == LMT_TOKENIZER_MARIAN) return marian_config(tok, out);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\n");
    if (!bert) lmt_sb_puts(&b, "  \"add_prefix_space\": false,\n");
    lmt_sb_puts(&b, "  \"backend\": \"tokenizers\",\n");
    if (!bert) put_token(&b, tok, "bos_token", sp.bos);
    if (bert || roberta) put_token(&b, tok, "cls_token", sp.cls);
    if (bert) lmt_sb_puts(&b, "  \"do_lower_case\": true,\n");
    if (!bert) {
        put_token(&b, tok, "eos_token", sp.eos);
        lmt_sb_puts(&b, "  \"errors\": \"replace\",\n");
    }
    lmt_sb_puts(&b, "  \"is_local\": true,\n  \"local_files_only\": false,\n");
    if (bert || roberta) put_token(&b, tok, "mask_token", sp.mask);
    lmt_sb_puts(&b, "  \"model_max_length\": 1000000000000000019884624838656,\n");
    put_token(&b, tok, "pad_token", sp.pad);
    if (bert || roberta) put_token(&b, tok, "sep_token", sp.sep);
    if (bert) lmt_sb_puts(&b, "  \"strip_accents\": null,\n  \"tokenize_chinese_chars\": true,\n");
    lmt_sb_printf(&b, "  \"tokenizer_class\": \"%s\",\n", bert ? "BertTokenizer" : roberta ? "RobertaTokenizer" : "GPT2Tokenizer");
    if (roberta) lmt_sb_puts(&b, "  \"trim_offsets\": true,\n");
    put_token(&b, tok, "unk_token", sp.unk);
    return finish(&b, out);
}

lmt_status lmt_tokenizer_files_save(const char *tok_dir, const char *config_text, const char *dst) {
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *s = lmt_path_join(tok_dir, files[i]), *d = lmt_path_join(dst, files[i]);
        lmt_status st = (s && d) ? (lmt_file_exists(s) ? lmt_copy_file(s, d) : LMT_OK) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(s);
        free(d);
        LMT_TRY(st);
    }
    if (config_text) LMT_TRY(lmt_write_file_in(dst, "tokenizer_config.json", config_text, strlen(config_text)));
    return LMT_OK;
}
