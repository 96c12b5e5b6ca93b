/* lmtune generate: the text-generation pipeline (greedy or sampling). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "cli/flags.h"
#include "kernels/matmul.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "generate/generate.h"
#include "lmtune/chat.h"
#include "lmtune/tokenizer.h"

/* the conversation with {"role": "assistant", "content": reply} appended */
static int append_reply(lmt_strbuf *sb, const char *chat, const char *reply, size_t len) {
    lmt_json *j = NULL, *msg = lmt_json_new(LMT_JSON_OBJECT);
    char *r = malloc(len + 1);
    int rc = 0;
    if (r) { memcpy(r, reply, len); r[len] = 0; }
    if (!msg || !r || lmt_json_parse(chat, strlen(chat), "--chat", &j) != LMT_OK ||
        lmt_json_object_set(msg, "role", lmt_json_new_string("assistant")) != LMT_OK ||
        lmt_json_object_set(msg, "content", lmt_json_new_string(r)) != LMT_OK || lmt_json_array_push(j, msg) != LMT_OK) {
        rc = 1;
        if (!j || j->type != LMT_JSON_ARRAY) lmt_json_free(msg);
    } else {
        lmt_json_write(sb, j, 0);
    }
    lmt_json_free(j);
    free(r);
    return rc;
}

/* [{"generated_text": ...}] for one prompt; a list of those for several (the pipeline given a list) */
static int print_rows(lmt_tokenizer *tok, const lmt_gen_opts *o, const int32_t *out, int width, const int *lens, int B,
                      char *const *chats) {
    int P = 0;
    for (int b = 0; b < B; b++) if (lens[b] > P) P = lens[b];
    lmt_strbuf sb;
    lmt_sb_init(&sb);
    if (B > 1) lmt_sb_putc(&sb, '[');
    int rc = 0;
    for (int b = 0; b < B && !rc; b++) {
        const int32_t *r = out + (size_t)b * width + (P - lens[b]);   /* without the left pads */
        int n = width - (P - lens[b]), end = lens[b];
        while (end < n) {   /* up to and including the row's EOS: the pads after it are not text */
            int32_t t = r[end++];
            bool eos = t == o->eos_token_id;
            for (int k = 0; k < o->n_eos && !eos; k++) eos = t == o->eos_ids[k];
            if (eos) break;
        }
        char *text;
        size_t len;
        /* a conversation: the reply (the new tokens) appended as the assistant's message, as the chat pipeline */
        int from = chats ? lens[b] : 0;
        if (lmt_tokenizer_decode(tok, r + from, (size_t)(end - from), true, false, &text, &len) != LMT_OK) { rc = 1; break; }
        lmt_sb_puts(&sb, b ? ", [{\"generated_text\": " : "[{\"generated_text\": ");
        if (chats) rc = append_reply(&sb, chats[b], text, len);
        else lmt_json_write_string(&sb, text, len, false);
        lmt_sb_puts(&sb, "}]");
        free(text);
    }
    if (B > 1) lmt_sb_putc(&sb, ']');
    if (!rc) printf("%s\n", sb.data);
    else fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
    lmt_sb_free(&sb);
    return rc;
}

enum { MAX_PROMPTS = 256 };

/* --chat values: JSON text or a file holding it (replaced by its text), each
 * rendered with add_generation_prompt and encoded; ids[k] malloc'd */
static int chat_inputs(const char *tok_dir, const lmt_tokenizer *tok, char **chats, int n, lmt_chat_template **tpl,
                       const int32_t **ids, int *lens) {
    if (lmt_chat_template_load(tok_dir, tpl) != LMT_OK) { fprintf(stderr, "lmtune: error: --chat: %s\n", lmt_last_error()); return 1; }
    lmt_chat_opts co = {.add_generation_prompt = true};
    int n_text = 0, n_ids = 0;
    lmt_status s = LMT_OK;
    while (n_ids < n && s == LMT_OK) {
        char *text = NULL, *c = chats[n_ids];
        size_t len = 0;
        if (c[0] != '[' && lmt_file_exists(c)) s = lmt_read_file(c, &text, &len);
        else if (!(text = lmt_strdup(c))) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (s != LMT_OK) break;
        chats[n_text++] = text;
        int32_t *t = NULL;
        size_t nt = 0;
        if ((s = lmt_chat_template_encode(*tpl, tok, text, &co, &t, &nt)) != LMT_OK) break;
        ids[n_ids] = t;
        lens[n_ids++] = (int)nt;
    }
    if (s == LMT_OK) return 0;
    fprintf(stderr, "lmtune: error: --chat: %s\n", lmt_last_error());
    for (int j = 0; j < n_ids; j++) free((void *)ids[j]);
    for (int j = 0; j < n_text; j++) free(chats[j]);
    return 1;
}

int lmt_cmd_generate(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *adapter = NULL, *prompts[MAX_PROMPTS];
    char *chats[MAX_PROMPTS];   /* --chat: the conversations, as JSON text */
    int n_prompts = 0, n_chats = 0;
    /* flags given override generation_config.json's values (lmt_gen_opts_from_model) */
    int64_t max_new = -1, top_k = -1, seed = -1, ngram = -1;
    double temperature = NAN, top_p = NAN, min_p = NAN, rep = NAN;
    bool do_sample = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: lmtune generate --model DIR [--adapter DIR] [--tokenizer DIR] --prompt TEXT [--prompt TEXT ...] [--max_new_tokens N]\n"
                   "                       [--do_sample] [--temperature T] [--top_k K] [--top_p P] [--min_p P] [--seed S]\n"
                   "                       [--repetition_penalty R] [--no_repeat_ngram_size N] [--bf16]\n"
                   "       lmtune generate --model DIR --chat '[{\"role\": \"user\", \"content\": \"...\"}]' [--chat ...] [options]\n\n"
                   "--chat (a JSON list of messages, or a file holding one) renders the conversation with the\n"
                   "tokenizer's chat template (add_generation_prompt) and prints it with the reply appended as the\n"
                   "assistant's message, as the text-generation pipeline given messages.\n"
                   "Prints [{\"generated_text\": prompt + continuation}] as the text-generation pipeline (a list of\n"
                   "those for several --prompt, generated as one left-padded batch). Defaults: the model's\n"
                   "generation_config.json (its eos_token_id list, do_sample, temperature, top_k, top_p, ...), else\n"
                   "greedy with 50 new tokens. Processors in generate()'s order: repetition_penalty,\n"
                   "no_repeat_ngram_size, then when sampling temperature, top-k (default 50), top-p, min-p.\n"
                   "--bf16 decodes from bf16 copies of the weights (half the bytes read per token; fp32 arithmetic).\n"
                   "--adapter: a peft LoRA adapter folder, merged into the model first (merge_and_unload).\n");
            return 0;
        }
        if (!strcmp(a, "--do_sample")) { do_sample = true; continue; }
        if (!strcmp(a, "--bf16")) { lmt_matmul_set_precision(LMT_MATMUL_BF16); continue; }
        if (!v) { fprintf(stderr, "lmtune: error: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--model")) model_dir = v;
        else if (!strcmp(a, "--tokenizer")) tok_dir = v;
        else if (!strcmp(a, "--adapter")) adapter = v;
        else if (!strcmp(a, "--chat")) {
            if (n_chats == MAX_PROMPTS) { fprintf(stderr, "lmtune: error: at most %d --chat\n", MAX_PROMPTS); return 2; }
            chats[n_chats++] = (char *)v;
        }
        else if (!strcmp(a, "--prompt")) {
            if (n_prompts == MAX_PROMPTS) { fprintf(stderr, "lmtune: error: at most %d --prompt\n", MAX_PROMPTS); return 2; }
            prompts[n_prompts++] = v;
        }
        else if (!strcmp(a, "--max_new_tokens")) { if (!lmt_cli_int(a + 2, v, 0, INT_MAX, &max_new)) return 2; }
        else if (!strcmp(a, "--temperature")) { if (!lmt_cli_num(a + 2, v, 0, INFINITY, LMT_FLAG_LO_OPEN, &temperature)) return 2; }
        else if (!strcmp(a, "--top_k")) { if (!lmt_cli_int(a + 2, v, 0, INT_MAX, &top_k)) return 2; }
        else if (!strcmp(a, "--top_p")) { if (!lmt_cli_num(a + 2, v, 0, 1, LMT_FLAG_LO_OPEN, &top_p)) return 2; }
        else if (!strcmp(a, "--min_p")) { if (!lmt_cli_num(a + 2, v, 0, 1, 0, &min_p)) return 2; }
        else if (!strcmp(a, "--repetition_penalty")) { if (!lmt_cli_num(a + 2, v, 0, INFINITY, LMT_FLAG_LO_OPEN, &rep)) return 2; }
        else if (!strcmp(a, "--no_repeat_ngram_size")) { if (!lmt_cli_int(a + 2, v, 0, INT_MAX, &ngram)) return 2; }
        else if (!strcmp(a, "--seed")) { if (!lmt_cli_int(a + 2, v, 0, INT64_MAX, &seed)) return 2; }
        else { fprintf(stderr, "lmtune: error: unknown option '%s'\n", a); return 2; }
        i++;
    }
    if (!model_dir || !n_prompts == !n_chats) {
        fprintf(stderr, "usage: lmtune generate --model DIR (--prompt TEXT ... | --chat JSON ...) (see --help)\n");
        return 2;
    }
    if (!tok_dir) tok_dir = model_dir;
    model_dir = lmt_cli_resolve(model_dir, true);
    if (!model_dir) return 1;
    tok_dir = lmt_cli_resolve(tok_dir, false);
    if (!tok_dir) return 1;
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    if (lmt_model_load(model_dir, &m) != LMT_OK || (adapter && lmt_cli_merge_adapter(m, adapter, NULL, NULL) != LMT_OK) ||
        lmt_tokenizer_load(tok_dir, &tok) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        lmt_model_free(m);
        return 1;
    }
    lmt_gen_opts o = lmt_gen_opts_from_model(m);
    if (!lmt_json_get(m->generation_config, "max_new_tokens")) o.max_new_tokens = 50;
    if (max_new >= 0) o.max_new_tokens = (int)max_new;
    if (do_sample) o.do_sample = true;
    if (!isnan(temperature)) o.temperature = temperature;
    if (top_k >= 0) o.top_k = (int)top_k;
    if (!isnan(top_p)) o.top_p = top_p;
    if (!isnan(min_p)) o.min_p = min_p;
    if (!isnan(rep)) o.repetition_penalty = rep;
    if (ngram >= 0) o.no_repeat_ngram_size = (int)ngram;
    if (seed >= 0) o.seed = (uint64_t)seed;
    lmt_encoding e[MAX_PROMPTS];
    const int32_t *ids[MAX_PROMPTS];
    int lens[MAX_PROMPTS], n_enc = 0, rc = 0;
    lmt_chat_template *tpl = NULL;
    if (n_chats && (rc = chat_inputs(tok_dir, tok, chats, n_chats, &tpl, ids, lens)) != 0) n_chats = 0;
    n_enc = n_chats;
    if (n_chats) n_prompts = n_chats;
    for (; !rc && !n_chats && n_enc < n_prompts; n_enc++) {
        if (lmt_tokenizer_encode(tok, prompts[n_enc], strlen(prompts[n_enc]), NULL, 0, NULL, &e[n_enc]) != LMT_OK) {
            fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
            rc = 1;
            break;
        }
        ids[n_enc] = e[n_enc].ids;
        lens[n_enc] = (int)e[n_enc].n;
        if (!lens[n_enc]) { fprintf(stderr, "lmtune: error: the prompt is empty\n"); rc = 1; n_enc++; break; }
    }
    int32_t *out = NULL;
    int width = 0;
    if (!rc && lmt_generate_batch(m, ids, lens, n_prompts, &o, &out, &width) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        rc = 1;
    }
    if (!rc) rc = print_rows(tok, &o, out, width, lens, n_prompts, n_chats ? chats : NULL);
    free(out);
    for (int k = 0; k < n_enc; k++) {
        if (n_chats) { free((void *)ids[k]); free(chats[k]); }
        else lmt_encoding_free(&e[k]);
    }
    lmt_chat_template_free(tpl);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
