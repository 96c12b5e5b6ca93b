/* report_to tensorboard: the event file transformers' TensorBoardCallback
 * writes through torch's SummaryWriter, encoded here by hand (no protobuf
 * library): events.out.tfevents.<time>.<host>.<pid>.<n> in the logging
 * folder, TFRecord-framed (io/tfrecord.h) Event messages: the file_version
 * "brain.Event:2" first; at the start of training the arguments and the
 * model config as text summaries ("args", "model_config"); then each log
 * entry's numbers as scalars at the global step, named as rewrite_logs
 * does (eval_x -> eval/x, test_x -> test/x, x -> train/x). */
#ifndef LMT_TRAIN_TENSORBOARD_H
#define LMT_TRAIN_TENSORBOARD_H
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/json.h"
#include "core/util.h"
#include "train/args.h"

/* ---- the messages (appended to b, unframed) ---- */
/* Event{wall_time, file_version, source_metadata{writer}} */
void lmt_tb_encode_file_version(lmt_strbuf *b, double wall_time, const char *writer);
/* Event{wall_time, step, summary{value{tag, simple_value}}} (add_scalar) */
void lmt_tb_encode_scalar(lmt_strbuf *b, double wall_time, int64_t step, const char *tag, float value);
/* Event{wall_time, step, summary{value{tag "<tag>/text_summary", tensor
 * DT_STRING [1] {text}, metadata{plugin "text"}}}} (add_text) */
void lmt_tb_encode_text(lmt_strbuf *b, double wall_time, int64_t step, const char *tag, const char *text);

/* ---- the writer ---- */
typedef struct lmt_tb_writer lmt_tb_writer;
/* The logging folder the Trainer uses: --logging_dir (transformers 4), else
 * $TENSORBOARD_LOGGING_DIR (transformers 5), else
 * output_dir/runs/<Mon DD_HH-MM-SS>_<host> (default_logdir). Caller frees. */
char *lmt_tb_logging_dir(const lmt_training_args *a);
/* Whether report_to names tensorboard ("tensorboard", "all", or a list
 * holding "tensorboard"). */
bool lmt_tb_wanted(const lmt_training_args *a);
/* Creates dir and a new event file in it (its first record written). */
lmt_status lmt_tb_writer_open(const char *dir, lmt_tb_writer **out);
lmt_status lmt_tb_add_text(lmt_tb_writer *w, const char *tag, const char *text, int64_t step);
/* TensorBoardCallback.on_log: each number of the entry (a log_history
 * object; its "step" key is not logged) as a scalar at step, then a flush. */
lmt_status lmt_tb_log(lmt_tb_writer *w, const lmt_json *entry, int64_t step);
/* The event file's path. */
const char *lmt_tb_writer_path(const lmt_tb_writer *w);
void lmt_tb_writer_close(lmt_tb_writer *w);
#endif
