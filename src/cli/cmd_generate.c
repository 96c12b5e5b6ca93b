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

static const char usage_text[] =
    "usage: lmtune generate --model DIR [--adapter DIR] [--tokenizer DIR] [--max_new_tokens N] [options] PROMPT [PROMPT ...]\n"
    "       lmtune generate --model DIR --prompt TEXT [--prompt TEXT ...] | --file FILE [options]\n"
    "       lmtune generate --model DIR --chat '[{\"role\": \"user\", \"content\": \"...\"}]' [--chat ...] [options]\n\n"
    "Prompts: positional, --prompt (repeatable) or --file (one per line). --chat (a JSON list of messages, or a file\n"
    "holding one) renders the conversation with the tokenizer's chat template (add_generation_prompt) and prints it with\n"
    "the reply appended as the assistant's message, as the text-generation pipeline given messages.\n"
    "Prints [{\"generated_text\": prompt + continuation}] as the text-generation pipeline (a list of those for several\n"
    "prompts, generated as one left-padded batch). Defaults: the model's generation_config.json (its eos_token_id list,\n"
    "do_sample, temperature, top_k, top_p, ...), else greedy with 50 new tokens. Processors in generate()'s order:\n"
    "repetition_penalty, no_repeat_ngram_size, then when sampling temperature, top-k (default 50), top-p, min-p.\n"
    "A prompt plus --max_new_tokens beyond a GPT-2's learned positions is refused (transformers fails with an index\n"
    "error); a Llama's rotary positions stop at max_position_embeddings with a warning.\n";

/* the longest prompt plus max_new_tokens within the model's positions: a
 * GPT-2's learned positions end there (transformers fails with an index
 * error), so it is refused; rotary positions (Llama) could go on, but
 * lmtune's cache ends there, so it warns and stops at the last position */
static int check_length(const lmt_model *m, const int *lens, int n, const lmt_gen_opts *o) {
    int P = 0;
    for (int b = 0; b < n; b++) if (lens[b] > P) P = lens[b];
    int64_t total = (int64_t)P + o->max_new_tokens, max_pos = m->cfg.max_positions;
    if (max_pos <= 0 || total <= max_pos) return 0;
    if (P >= max_pos) {
        fprintf(stderr, "lmtune: error: the prompt (%d tokens) fills the model's %lld positions\n", P, (long long)max_pos);
        return 1;
    }
    if (!lmt_arch_is_llama(m->cfg.arch)) {
        fprintf(stderr, "lmtune: error: --max_new_tokens %d: the prompt (%d tokens) + %d new tokens exceed the model's %lld "
                "positions (n_positions); at most %lld new tokens fit\n", o->max_new_tokens, P, o->max_new_tokens, (long long)max_pos,
                (long long)(max_pos - P));
        return 1;
    }
    fprintf(stderr, "lmtune: warning: --max_new_tokens %d: the prompt (%d tokens) + %d new tokens exceed max_position_embeddings "
            "(%lld): generation stops after %lld new tokens\n", o->max_new_tokens, P, o->max_new_tokens, (long long)max_pos,
            (long long)(max_pos - P));
    return 0;
}

int lmt_cmd_generate(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *adapter = NULL, *file = NULL;
    lmt_cli_texts prompts = {0}, chat_list = {0};
    /* flags given override generation_config.json's values (lmt_gen_opts_from_model) */
    int64_t max_new = -1, top_k = -1, seed = -1, ngram = -1;
    double temperature = NAN, top_p = NAN, min_p = NAN, rep = NAN;
    bool do_sample = false, bf16 = false;
    const lmt_flag flags[] = {
        {"model_name_or_path|model", LMT_FLAG_PATH, &model_dir, LMT_FLAG_ANY, NULL, "the model folder or Hub repo id", NULL},
        {"tokenizer_name|tokenizer", LMT_FLAG_PATH, &tok_dir, LMT_FLAG_ANY, NULL, "the tokenizer (default: the model's)", NULL},
        {"adapter", LMT_FLAG_PATH, &adapter, LMT_FLAG_ANY, NULL, "a peft LoRA adapter folder, merged first (merge_and_unload)", NULL},
        {"prompt|text", LMT_FLAG_STRING, &prompts, LMT_FLAG_ANY, NULL, "a prompt (repeatable; or positional)", lmt_cli_texts_add},
        {"file", LMT_FLAG_PATH, &file, LMT_FLAG_ANY, NULL, "prompts, one per line", NULL},
        {"chat", LMT_FLAG_STRING, &chat_list, LMT_FLAG_ANY, NULL, "a conversation as JSON, or a file holding one (repeatable)", lmt_cli_texts_add},
        {"max_new_tokens", LMT_FLAG_INT, &max_new, 0, INT_MAX, 0, NULL, "tokens to generate (default 50)", NULL},
        {"do_sample", LMT_FLAG_BOOL, &do_sample, LMT_FLAG_ANY, NULL, "sample instead of greedy decoding", NULL},
        {"temperature", LMT_FLAG_FLOAT, &temperature, 0, INFINITY, LMT_FLAG_LO_OPEN, NULL, "sampling temperature", NULL},
        {"top_k", LMT_FLAG_INT, &top_k, 0, INT_MAX, 0, NULL, "keep the k likeliest tokens (0: off)", NULL},
        {"top_p", LMT_FLAG_FLOAT, &top_p, 0, 1, LMT_FLAG_LO_OPEN, NULL, "nucleus sampling", NULL},
        {"min_p", LMT_FLAG_FLOAT, &min_p, 0, 1, 0, NULL, "min-p sampling", NULL},
        {"repetition_penalty", LMT_FLAG_FLOAT, &rep, 0, INFINITY, LMT_FLAG_LO_OPEN, NULL, "CTRL's repetition penalty", NULL},
        {"no_repeat_ngram_size", LMT_FLAG_INT, &ngram, 0, INT_MAX, 0, NULL, "forbid repeated n-grams", NULL},
        {"seed", LMT_FLAG_INT, &seed, 0, INFINITY, 0, NULL, "the sampling seed", NULL},
        {"bf16", LMT_FLAG_BOOL, &bf16, LMT_FLAG_ANY, NULL, "decode from bf16 copies of the weights (fp32 arithmetic)", NULL},
    };
    int rc = lmt_cli_parse_texts(argc, argv, flags, sizeof flags / sizeof flags[0], usage_text, lmt_cli_hub_help, &prompts);
    if (!rc) rc = lmt_cli_texts_read_file(&prompts, file);
    if (!rc && (prompts.n > MAX_PROMPTS || chat_list.n > MAX_PROMPTS)) {
        fprintf(stderr, "lmtune: error: at most %d prompts or --chat conversations\n", MAX_PROMPTS);
        rc = 2;
    }
    if (rc) {
        lmt_cli_texts_free(&prompts);
        lmt_cli_texts_free(&chat_list);
        return rc < 0 ? 0 : rc;
    }
    /* the texts live until exit (lmt_cli_keep frees them then) */
    if ((prompts.v && !lmt_cli_keep((char *)prompts.v)) || (prompts.file_text && !lmt_cli_keep(prompts.file_text)) ||
        (chat_list.v && !lmt_cli_keep((char *)chat_list.v)))
        return lmt_cli_error("out of memory");
    if (bf16) lmt_matmul_set_precision(LMT_MATMUL_BF16);
    int n_prompts = prompts.n, n_chats = chat_list.n;
    char *chats[MAX_PROMPTS];
    for (int k = 0; k < n_chats; k++) chats[k] = (char *)chat_list.v[k];
    if (!model_dir || !n_prompts == !n_chats) {
        fprintf(stderr, "lmtune: error: give --model and prompts (positional, --prompt or --file) or --chat, not both (see --help)\n");
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
    int lens[MAX_PROMPTS], n_enc = 0;
    lmt_chat_template *tpl = NULL;
    if (n_chats && (rc = chat_inputs(tok_dir, tok, chats, n_chats, &tpl, ids, lens)) != 0) n_chats = 0;
    n_enc = n_chats;
    if (n_chats) n_prompts = n_chats;
    for (; !rc && !n_chats && n_enc < n_prompts; n_enc++) {
        if (lmt_tokenizer_encode(tok, prompts.v[n_enc], strlen(prompts.v[n_enc]), NULL, 0, NULL, &e[n_enc]) != LMT_OK) {
            fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
            rc = 1;
            break;
        }
        ids[n_enc] = e[n_enc].ids;
        lens[n_enc] = (int)e[n_enc].n;
        if (!lens[n_enc]) { fprintf(stderr, "lmtune: error: the prompt is empty\n"); rc = 1; n_enc++; break; }
    }
    if (!rc) rc = check_length(m, lens, n_prompts, &o);
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
