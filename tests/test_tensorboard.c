/* TensorBoard event files (train/tensorboard.c, io/tfrecord.c) against a
 * file torch's SummaryWriter wrote for transformers' TensorBoardCallback
 * (tests/fixtures/trainer_outputs/sample.tfevents, decoded by the
 * tensorboard package into sample_events.json): every record's framing and
 * CRCs read back, and each record re-encoded by lmtune from its decoded
 * fields is the same bytes. Then lmtune's own writer: a file named as
 * tensorboard names them, whose records read back and hold the log
 * entry's scalars with the callback's tags. Last, the Trainer's use of it:
 * an evaluation logged before training opens the file, training adds the
 * args / model_config texts and its scalars to it, and an evaluation
 * logged after training opens a second file in the same folder. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "harness.h"
#include "io/tfrecord.h"
#include "models/model.h"
#include "train/task_clm.h"
#include "train/tensorboard.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/trainer_outputs/"

static const char *str_of(const lmt_json *o, const char *k) {
    const lmt_json *v = lmt_json_get(o, k);
    return v && v->type == LMT_JSON_STRING ? v->str : NULL;
}
static double num_of(const lmt_json *o, const char *k) {
    const lmt_json *v = lmt_json_get(o, k);
    return v && v->type == LMT_JSON_NUMBER ? v->num : -1;
}

static void sample_file(void) {
    char *buf;
    size_t len;
    lmt_json *j = NULL;
    CHECK_OK(lmt_read_file(FIX "sample.tfevents", &buf, &len));
    CHECK_OK(lmt_json_parse_file(FIX "sample_events.json", &j));
    const lmt_json *recs = lmt_json_get(j, "records");
    CHECK(recs && recs->type == LMT_JSON_ARRAY && recs->len > 10);
    size_t off = 0, i = 0;
    int scalars = 0, texts = 0;
    for (; off < len && i < recs->len; i++) {
        const lmt_json *r = &recs->items[i];
        const uint8_t *data;
        size_t n;
        CHECK_MSG(off == (size_t)num_of(r, "offset"), "record %zu at %zu", i, off);
        lmt_status s = lmt_tfrecord_next((const uint8_t *)buf, len, &off, "sample.tfevents", &data, &n);
        CHECK_OK(s);
        if (s != LMT_OK) break;
        CHECK(n == (size_t)num_of(r, "length"));
        lmt_strbuf b;
        lmt_sb_init(&b);
        double wall = num_of(r, "wall_time");
        int64_t step = (int64_t)num_of(r, "step");
        if (str_of(r, "file_version")) {
            CHECK_STREQ(str_of(r, "file_version"), "brain.Event:2");
            /* the sample names tensorboard's writer; lmtune writes its own name there */
            lmt_tb_encode_file_version(&b, wall, "tensorboard.summary.writer.event_file_writer");
        } else if (lmt_json_get(r, "simple_value")) {
            lmt_tb_encode_scalar(&b, wall, step, str_of(r, "tag"), (float)num_of(r, "simple_value"));
            scalars++;
        } else {
            const char *tag = str_of(r, "tag");
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(strlen(tag) - strlen("/text_summary")), tag);
            CHECK_STREQ(str_of(r, "plugin_name"), "text");
            lmt_tb_encode_text(&b, wall, step, base, str_of(r, "text"));
            texts++;
        }
        CHECK_MSG(!b.oom && b.len == n && !memcmp(b.data, data, n), "record %zu (%s) differs", i,
                  str_of(r, "tag") ? str_of(r, "tag") : "file_version");
        /* and framed the same */
        lmt_strbuf fr;
        lmt_sb_init(&fr);
        lmt_tfrecord_append(&fr, b.data, b.len);
        CHECK(fr.len == n + 16 && !memcmp(fr.data, data - 12, fr.len));
        lmt_sb_free(&fr);
        lmt_sb_free(&b);
    }
    CHECK(off == len && i == recs->len && scalars > 20 && texts == 2);
    /* a damaged byte is found */
    buf[200] ^= 1;
    off = 0;
    const uint8_t *d;
    size_t n;
    CHECK_OK(lmt_tfrecord_next((const uint8_t *)buf, len, &off, "x", &d, &n));
    CHECK(lmt_tfrecord_next((const uint8_t *)buf, len, &off, "x", &d, &n) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "CRC"));
    /* the CRC-32C check value ("123456789" -> 0xe3069283) */
    CHECK(lmt_crc32c("123456789", 9) == 0xe3069283u);
    free(buf);
    lmt_json_free(j);
}

static void writer(const char *tmp) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/runs/x", tmp);
    lmt_tb_writer *w = NULL;
    CHECK_OK(lmt_tb_writer_open(dir, &w));
    if (!w) return;
    /* events.out.tfevents.<10-digit time>.<host>.<pid>.<n> */
    const char *base = strrchr(lmt_tb_writer_path(w), '/') + 1;
    char host[256], want[400];
    gethostname(host, sizeof host);
    CHECK_MSG(!strncmp(base, "events.out.tfevents.", 20) && strlen(base) > 31 && base[30] == '.', "%s", base);
    snprintf(want, sizeof want, ".%s.%ld.", host, (long)getpid());
    CHECK_MSG(strstr(base, want) != NULL, "%s", base);
    CHECK_OK(lmt_tb_add_text(w, "args", "{\"a\": 1}", 0));
    lmt_json *e = NULL;
    const char *entry = "{\"loss\": 2.5, \"grad_norm\": 0.75, \"learning_rate\": 5e-05, \"epoch\": 0.5, \"step\": 7}";
    CHECK_OK(lmt_json_parse(entry, strlen(entry), "entry", &e));
    CHECK_OK(lmt_tb_log(w, e, 7));
    const char *ev = "{\"eval_loss\": 3.0, \"eval_bleu\": 12.5, \"epoch\": 1.0, \"step\": 8}";
    lmt_json *e2 = NULL;
    CHECK_OK(lmt_json_parse(ev, strlen(ev), "entry", &e2));
    CHECK_OK(lmt_tb_log(w, e2, 8));
    char *path = lmt_strdup(lmt_tb_writer_path(w));
    lmt_tb_writer_close(w);
    char *buf;
    size_t len, off = 0;
    CHECK_OK(lmt_read_file(path, &buf, &len));
    const char *tags[] = {NULL, "args", "train/loss", "train/grad_norm", "train/learning_rate", "train/epoch", "eval/loss", "eval/bleu", "train/epoch"};
    const double vals[] = {0, 0, 2.5, 0.75, 5e-05, 0.5, 3.0, 12.5, 1.0};
    const int64_t steps[] = {0, 0, 7, 7, 7, 7, 8, 8, 8};
    size_t k = 0;
    while (off < len && k < 9) {
        const uint8_t *d;
        size_t n;
        if (lmt_tfrecord_next((const uint8_t *)buf, len, &off, path, &d, &n) != LMT_OK) { CHECK(0); break; }
        double wall;
        CHECK(d[0] == 0x09);
        memcpy(&wall, d + 1, 8);   /* the writer's time; the rest must be what the encoders give */
        lmt_strbuf b;
        lmt_sb_init(&b);
        if (k == 0) lmt_tb_encode_file_version(&b, wall, "lmtune");
        else if (k == 1) lmt_tb_encode_text(&b, wall, 0, "args", "{\"a\": 1}");
        else lmt_tb_encode_scalar(&b, wall, steps[k], tags[k], (float)vals[k]);
        CHECK_MSG(b.len == n && !memcmp(b.data, d, n), "record %zu (%s)", k, tags[k] ? tags[k] : "file_version");
        lmt_sb_free(&b);
        k++;
    }
    CHECK(k == 9 && off == len);
    free(buf);
    free(path);
    lmt_json_free(e);
    lmt_json_free(e2);

    /* the logging folder: --logging_dir, else $TENSORBOARD_LOGGING_DIR, else output_dir/runs/<Mon DD_HH-MM-SS>_<host> */
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "/o");
    unsetenv("TENSORBOARD_LOGGING_DIR");
    char *ld = lmt_tb_logging_dir(&a);
    snprintf(want, sizeof want, "_%s", host);
    CHECK_MSG(ld && !strncmp(ld, "/o/runs/", 8) && strlen(ld) == 8 + 14 + strlen(want) && ld[13] == '_' && ld[16] == '-' &&
                  !strcmp(ld + 8 + 14, want), "%s", ld);
    free(ld);
    setenv("TENSORBOARD_LOGGING_DIR", "/env/tb", 1);
    ld = lmt_tb_logging_dir(&a);
    CHECK_STREQ(ld, "/env/tb");
    free(ld);
    snprintf(a.logging_dir, sizeof a.logging_dir, "/flag/tb");
    ld = lmt_tb_logging_dir(&a);
    CHECK_STREQ(ld, "/flag/tb");
    free(ld);
    unsetenv("TENSORBOARD_LOGGING_DIR");
    snprintf(a.report_to, sizeof a.report_to, "none");
    CHECK(!lmt_tb_wanted(&a));
    snprintf(a.report_to, sizeof a.report_to, "all");
    CHECK(lmt_tb_wanted(&a));
    snprintf(a.report_to, sizeof a.report_to, "tensorboard");
    CHECK(lmt_tb_wanted(&a));
}

/* the tags of the records of an event file, one string ("file_version args/text_summary train/loss ...") */
static void file_tags(const char *path, char *tags, size_t cap) {
    char *buf = NULL;
    size_t len = 0, off = 0, used = 0;
    tags[0] = '\0';
    CHECK_OK(lmt_read_file(path, &buf, &len));
    while (buf && off < len) {
        const uint8_t *d;
        size_t n;
        if (lmt_tfrecord_next((const uint8_t *)buf, len, &off, path, &d, &n) != LMT_OK) { CHECK(0); break; }
        const char *name = "?";
        size_t nl = 1;
        /* the Event's summary (field 5) -> value (1) -> tag (1); or file_version (3) */
        size_t i = 9 + (n > 9 && d[9] == 0x10 ? 2 : 0);   /* past wall_time and a one-byte step */
        if (i < n && d[i] == 0x1a) { name = "file_version"; nl = 12; }
        else if (i + 6 < n && d[i] == 0x2a) {
            size_t j = i + 2 + (d[i + 1] & 0x80 ? 1 : 0);   /* summary length: one or two bytes */
            j += 2 + (d[j + 1] & 0x80 ? 1 : 0);            /* value's key and length */
            if (j + 1 < n && d[j] == 0x0a) { name = (const char *)d + j + 2; nl = d[j + 1]; }
        }
        used += (size_t)snprintf(tags + used, cap - used, "%s%.*s", used ? " " : "", (int)nl, name);
        if (used >= cap) break;
    }
    free(buf);
}

static void trainer_files(const char *tmp) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &m));
    if (!m) return;
    int32_t ids[4 * 8];
    for (int i = 0; i < 32; i++) ids[i] = (i * 7) % 96;
    lmt_clm_task *task = NULL;
    CHECK_OK(lmt_clm_task_create(m, 2, 8, &task));
    lmt_block_data tr, ev;
    lmt_block_data_init(&tr, ids, 4, 8);
    lmt_block_data_init(&ev, ids, 2, 8);
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s/out", tmp);
    snprintf(a.logging_dir, sizeof a.logging_dir, "%s/tb", tmp);
    snprintf(a.report_to, sizeof a.report_to, "tensorboard");
    a.per_device_train_batch_size = a.per_device_eval_batch_size = 2;
    a.max_steps = 2;
    a.logging_steps = 1;
    a.save_strategy = LMT_STRATEGY_NO;
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, &ev.base));
    lmt_eval_output e;
    lmt_train_output o;
    CHECK_OK(lmt_trainer_evaluate(&t, &e));
    CHECK_OK(lmt_trainer_log_eval(&t, &e));
    CHECK_OK(lmt_trainer_train(&t, &o));
    CHECK_OK(lmt_trainer_evaluate(&t, &e));
    CHECK_OK(lmt_trainer_log_eval(&t, &e));
    lmt_trainer_free(&t);
    lmt_clm_task_free(task);
    lmt_model_free(m);
    DIR *d = opendir(a.logging_dir);
    struct dirent *de;
    char names[2][256];
    int nf = 0;
    while (d && (de = readdir(d)))
        if (!strncmp(de->d_name, "events.out.tfevents.", 20) && nf < 2) snprintf(names[nf++], sizeof names[0], "%s", de->d_name);
    if (d) closedir(d);
    CHECK_MSG(nf == 2, "%d event files in %s", nf, a.logging_dir);
    if (nf != 2) return;
    /* the writers' numbers (.0, .1) order them */
    int first = names[0][strlen(names[0]) - 1] < names[1][strlen(names[1]) - 1] ? 0 : 1;
    char p[1400], tags[2048];
    const char *ev_tags = "eval/loss eval/runtime eval/samples_per_second eval/steps_per_second train/epoch";
    char want[2048];
    snprintf(p, sizeof p, "%s/%s", a.logging_dir, names[first]);
    file_tags(p, tags, sizeof tags);
    snprintf(want, sizeof want, "file_version %s args/text_summary model_config/text_summary "
             "train/loss train/grad_norm train/learning_rate train/epoch train/loss train/grad_norm train/learning_rate train/epoch "
             "train/train_runtime train/train_samples_per_second train/train_steps_per_second train/total_flos train/train_loss "
             "train/epoch", ev_tags);
    CHECK_MSG(!strcmp(tags, want), "first file: %s", tags);
    snprintf(p, sizeof p, "%s/%s", a.logging_dir, names[1 - first]);
    file_tags(p, tags, sizeof tags);
    snprintf(want, sizeof want, "file_version %s", ev_tags);
    CHECK_MSG(!strcmp(tags, want), "second file: %s", tags);
}

int main(void) {
    char tmp[] = "/tmp/lmt-tb-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    sample_file();
    writer(tmp);
    trainer_files(tmp);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
