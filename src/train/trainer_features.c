#include <string.h>
#include <stdio.h>
#include "core/error.h"
#include "core/json.h"
#include "train/optimizer.h"
#include "train/trainer_features.h"

void lmt_training_args_features_default(lmt_training_args *a) {
    snprintf(a->optim, sizeof a->optim, "adamw_torch_fused");   /* transformers 5's default (torch >= 2.8) */
    snprintf(a->train_sampling_strategy, sizeof a->train_sampling_strategy, "random");
    snprintf(a->include_num_input_tokens_seen, sizeof a->include_num_input_tokens_seen, "no");
    snprintf(a->log_level, sizeof a->log_level, "passive");
    snprintf(a->log_level_replica, sizeof a->log_level_replica, "warning");
}

static const char *const levels[] = {"debug", "info", "warning", "error", "critical", "passive"};

int lmt_log_level_threshold(const char *level) {
    /* lmtune's notes are info, its warnings warning */
    if (!strcmp(level, "debug") || !strcmp(level, "info")) return LMT_LOG_NOTE;
    if (!strcmp(level, "warning")) return LMT_LOG_WARN;
    if (!strcmp(level, "error") || !strcmp(level, "critical")) return LMT_LOG_WARN + 1;
    return -1;
}

static bool one_of(const char *v, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return true;
    return false;
}

lmt_status lmt_training_args_features_validate(lmt_training_args *a) {
    lmt_optim_settings os;
    LMT_TRY(lmt_optim_settings_from_args(a, &os));
    if (!(a->label_smoothing_factor >= 0 && a->label_smoothing_factor < 1))
        return lmt_fail(LMT_ERR_ARG, "label_smoothing_factor must lie in [0, 1), got %g", a->label_smoothing_factor);
    if (a->group_by_length) {
        if (strcmp(a->train_sampling_strategy, "random") && strcmp(a->train_sampling_strategy, "group_by_length"))
            return lmt_fail(LMT_ERR_ARG, "group_by_length conflicts with train_sampling_strategy %s", a->train_sampling_strategy);
        /* transformers 5 replaced group_by_length=True by this */
        snprintf(a->train_sampling_strategy, sizeof a->train_sampling_strategy, "group_by_length");
    }
    static const char *const strategies[] = {"random", "sequential", "group_by_length"};
    if (!strcmp(a->train_sampling_strategy, "batch_rebalance"))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "train_sampling_strategy batch_rebalance balances data-parallel ranks; this "
                        "run has one process: use random, sequential or group_by_length");
    if (!one_of(a->train_sampling_strategy, strategies, 3))
        return lmt_fail(LMT_ERR_ARG, "train_sampling_strategy must be random, sequential or group_by_length, got \"%s\"",
                        a->train_sampling_strategy);
    if (a->eval_accumulation_steps < 0) return lmt_fail(LMT_ERR_ARG, "eval_accumulation_steps must be >= 1 (or unset)");
    char *t = a->include_num_input_tokens_seen;
    if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "1")) snprintf(t, sizeof a->include_num_input_tokens_seen, "all");
    if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "0")) snprintf(t, sizeof a->include_num_input_tokens_seen, "no");
    static const char *const seen[] = {"all", "non_padding", "no"};
    if (!one_of(t, seen, 3))
        return lmt_fail(LMT_ERR_ARG, "include_num_input_tokens_seen must be all, non_padding, no (or true / false), got \"%s\"", t);
    /* transformers 4's include_tokens_per_second logged train_tokens_per_second;
     * transformers 5 does it with num_input_tokens_seen */
    if (a->include_tokens_per_second && !strcmp(t, "no")) snprintf(t, sizeof a->include_num_input_tokens_seen, "all");
    if (!one_of(a->log_level, levels, 6))
        return lmt_fail(LMT_ERR_ARG, "log_level must be debug, info, warning, error, critical or passive, got \"%s\"", a->log_level);
    if (!one_of(a->log_level_replica, levels, 6))
        return lmt_fail(LMT_ERR_ARG, "log_level_replica must be debug, info, warning, error, critical or passive, got \"%s\"",
                        a->log_level_replica);
    return LMT_OK;
}

int64_t lmt_sampler_seed(const lmt_training_args *a) { return a->data_seed_set ? a->data_seed : a->seed; }

int64_t lmt_batch_input_tokens(const lmt_training_args *a, const lmt_batch *b) {
    if (!strcmp(a->include_num_input_tokens_seen, "no")) return 0;
    if (!strcmp(a->include_num_input_tokens_seen, "non_padding") && b->attention_mask) {
        int64_t n = 0;
        for (size_t i = 0; i < (size_t)b->B * (size_t)b->T; i++) n += b->attention_mask[i];
        return n;
    }
    return (int64_t)b->B * b->T;
}

static void append_mt(lmt_strbuf *b, const char *key, const lmt_mt19937 *g) {
    lmt_sb_printf(b, ", \"%s\": [", key);
    for (int i = 0; i < 624; i++) lmt_sb_printf(b, "%u, ", g->mt[i]);
    lmt_sb_printf(b, "%d]", g->mti);
}

void lmt_rng_state_append(lmt_strbuf *b, const lmt_mt19937 *now, const lmt_mt19937 *epoch) {
    append_mt(b, "torch_mt19937", now);
    append_mt(b, "torch_mt19937_epoch", epoch);
}

static lmt_status read_mt(const lmt_json *j, const char *key, const char *path, lmt_mt19937 *g) {
    const lmt_json *a = lmt_json_get(j, key);
    if (!a || a->type != LMT_JSON_ARRAY || a->len != 625)
        return lmt_fail(LMT_ERR_FORMAT, "%s: no \"%s\" (the sampler's generator state that group_by_length resumes from)", path, key);
    for (size_t i = 0; i < 625; i++) {
        const lmt_json *v = &a->items[i];
        if (v->type != LMT_JSON_NUMBER || !v->is_int || v->i64 < 0 || v->i64 > (i < 624 ? 0xFFFFFFFFLL : 624))
            return lmt_fail(LMT_ERR_FORMAT, "%s: \"%s\"[%zu] is not a generator word", path, key, i);
        if (i < 624) g->mt[i] = (uint32_t)v->i64;
        else g->mti = (int)v->i64;
    }
    return LMT_OK;
}

lmt_status lmt_rng_state_read(const char *path, lmt_mt19937 *now, lmt_mt19937 *epoch) {
    lmt_json *j;
    LMT_TRY(lmt_json_parse_file(path, &j));
    lmt_status s = read_mt(j, "torch_mt19937", path, now);
    if (s == LMT_OK) s = read_mt(j, "torch_mt19937_epoch", path, epoch);
    lmt_json_free(j);
    return s;
}
