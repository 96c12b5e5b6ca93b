/* Subcommands of the lmtune CLI; each returns the process exit code. */
#ifndef LMT_CLI_COMMANDS_H
#define LMT_CLI_COMMANDS_H
#include "lmtune/lmtune.h"
int lmt_cmd_inspect(int argc, char **argv);
int lmt_cmd_convert(int argc, char **argv);
int lmt_cmd_merge(int argc, char **argv);
/* A peft LoRA adapter folder folded into m (merge_and_unload); n, r (may be
 * NULL): how many adapters, their rank. */
struct lmt_model;
lmt_status lmt_cli_merge_adapter(struct lmt_model *m, const char *adapter, int *n, int *r);
int lmt_cmd_tokenize(int argc, char **argv);
int lmt_cmd_chat_template(int argc, char **argv);
int lmt_cmd_train(int argc, char **argv);
int lmt_cmd_train_mlm(int argc, char **argv);
int lmt_cmd_train_translation(int argc, char **argv);
int lmt_cmd_train_sft(int argc, char **argv);
int lmt_cmd_eval(int argc, char **argv);
int lmt_cmd_generate(int argc, char **argv);
int lmt_cmd_fill_mask(int argc, char **argv);
int lmt_cmd_bleu(int argc, char **argv);
int lmt_cmd_translate(int argc, char **argv);
int lmt_cmd_data(int argc, char **argv);
int lmt_cmd_arguments(int argc, char **argv);
int lmt_cmd_download(int argc, char **argv);
int lmt_cmd_cache(int argc, char **argv);
int lmt_cmd_upload(int argc, char **argv);
int lmt_cmd_plot(int argc, char **argv);
#endif
