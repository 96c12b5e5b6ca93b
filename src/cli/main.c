/* lmtune command-line tool: dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>
#include "lmtune/lmtune.h"
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "core/profile.h"
#include "kernels/matmul.h"

typedef struct { const char *name; int (*fn)(int, char **); const char *help; } command;

static const command commands[] = {
    {"inspect", lmt_cmd_inspect, "show a model folder: architecture, config, tensors, missing/unused weights"},
    {"convert", lmt_cmd_convert, "load a model folder (safetensors or pytorch_model.bin) and save it as an HF folder"},
    {"merge", lmt_cmd_merge, "fold a peft LoRA adapter into its base model: merge_and_unload()'s plain HF folder"},
    {"train", lmt_cmd_train, "fine-tune a model as transformers' Trainer does (--task clm | mlm | translation)"},
    {"eval", lmt_cmd_eval, "evaluate a causal LM on a text file: eval_loss and perplexity"},
    {"generate", lmt_cmd_generate, "continue a prompt with a causal LM (greedy or sampling), as the text-generation pipeline"},
    {"fill-mask", lmt_cmd_fill_mask, "the fill-mask pipeline: top-k tokens for each [MASK] / <mask>, as JSON"},
    {"translate", lmt_cmd_translate, "translate a text with a Marian model (beam search), as the translation pipeline"},
    {"bleu", lmt_cmd_bleu, "corpus BLEU of a hypothesis file against reference files, as sacreBLEU"},
    {"tokenize", lmt_cmd_tokenize, "encode text (or --decode ids) with a tokenizer folder; prints JSON lines"},
    {"chat-template", lmt_cmd_chat_template, "render conversations with a folder's chat template, as apply_chat_template; JSON lines"},
    {"info", NULL, "the CPU, its features, the instruction-set level in use (LMT_ISA caps it) and the kernels chosen"},
    {"download", lmt_cmd_download, "download a file or a repo from the Hugging Face Hub into the cache or a folder, as `hf download`"},
    {"cache", lmt_cmd_cache, "list (ls) or delete (rm) what the Hugging Face cache holds, as `hf cache`"},
    {"upload", lmt_cmd_upload, "upload a folder to a Hugging Face Hub repo (created when missing), as `hf upload`"},
    {"plot", lmt_cmd_plot, "draw a run's loss, learning-rate and perplexity curves from trainer_state.json to a PNG"},
    {"arguments", lmt_cmd_arguments, "every TrainingArguments name: implemented, accepted with no effect, or refused, and why"},
    {"data", lmt_cmd_data, "show random examples of a dataset file (text, JSON Lines, CSV/TSV) or its columns"},
};

static void usage(FILE *f) {
    fprintf(f, "lmtune %s - fine-tune Hugging Face transformer models in C\n\nusage: lmtune <command> [options]\n\ncommands:\n", LMTUNE_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'lmtune <command> --help' describes a command. Any command takes --profile: time, calls and\n"
               "GFLOP/s per kernel and phase (forward, backward, optimizer), printed to stderr at the end.\n\n%s",
            lmt_cli_hub_help);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* a level LMT_ISA asks for but the CPU lacks would silently run another */
    if (lmt_check_environment() != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "info")) {
        if (argc > 2) {
            fprintf(stderr, "lmtune: error: %s takes no arguments ('%s')\n", argv[1], argv[2]);
            return 2;
        }
        printf("lmtune %s\n%s", LMTUNE_VERSION, lmt_system_info());
        return 0;
    }
    /* --profile (any command): time per kernel and phase, printed at the end */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile")) lmt_profile_enable(true);
        else argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = NULL;
    /* --revision, --cache_dir, --token, --local_files_only, --force_download: any command that loads a model */
    int hub_rc = lmt_cli_hub_take_flags(&argc, argv);
    if (hub_rc) return hub_rc;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn && !strcmp(argv[1], commands[i].name)) {
            int rc = commands[i].fn(argc - 1, argv + 1);
            if (lmt_profile_on) {
                fprintf(stderr, "lmtune: profile over %ld optimizer step(s) (per step; evaluations timed whole); matrix products: %s\n",
                        lmt_profile_steps(), lmt_matmul_backend());
                lmt_profile_print(stderr, 0);
            }
            return rc;
        }
    fprintf(stderr, "lmtune: error: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
