/* `lmtune plot`: the training curves of a run as a PNG, from its
 * trainer_state.json log history: training and evaluation loss, the
 * learning rate, and perplexity (exp of the evaluation loss, or of the
 * training loss when the run never evaluated), each against the global
 * step, in three panels side by side. */
#ifndef LMT_TRAIN_PLOT_H
#define LMT_TRAIN_PLOT_H
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_plot_summary {
    int64_t train_loss, eval_loss, learning_rate;   /* points drawn of each series */
    int64_t last_step;
} lmt_plot_summary;

#define LMT_PLOT_MIN_WIDTH 300
#define LMT_PLOT_MIN_HEIGHT 150
#define LMT_PLOT_MAX_SIDE 8000

/* state: a trainer_state.json, or a folder holding one (an output_dir or a
 * checkpoint). Writes a width x height PNG to png_path. out may be NULL. */
lmt_status lmt_plot_training_curves(const char *state, const char *png_path, int width, int height, lmt_plot_summary *out);
#endif
