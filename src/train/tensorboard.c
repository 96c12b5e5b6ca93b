/* TensorBoard event files; see tensorboard.h. Field numbers are those of
 * tensorboard's event.proto, summary.proto, tensor.proto, tensor_shape.proto;
 * fields are written in field-number order and proto3 defaults (step 0,
 * empty content) are left out, as protobuf serialises them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"
#include "io/tfrecord.h"
#include "train/tensorboard.h"

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static void put_varint(lmt_strbuf *b, uint64_t v) {
    while (v >= 0x80) {
        lmt_sb_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    lmt_sb_putc(b, (char)v);
}

static void put_key(lmt_strbuf *b, int field, int wire) { put_varint(b, (uint64_t)(field << 3 | wire)); }

static void put_fixed(lmt_strbuf *b, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) lmt_sb_putc(b, (char)(v >> (8 * i)));
}

static void put_bytes(lmt_strbuf *b, int field, const void *data, size_t n) {
    put_key(b, field, WIRE_LEN);
    put_varint(b, n);
    lmt_sb_append(b, data, n);
}

/* a nested message: field, length, then the bytes built in m */
static void put_message(lmt_strbuf *b, int field, lmt_strbuf *m) {
    put_bytes(b, field, m->data ? m->data : "", m->len);
    if (m->oom) b->oom = true;
    lmt_sb_free(m);
}

static void put_double(lmt_strbuf *b, int field, double x) {
    uint64_t u;
    memcpy(&u, &x, 8);
    put_key(b, field, WIRE_FIXED64);
    put_fixed(b, u, 8);
}

/* Event.wall_time (1), Event.step (2) */
static void put_event_head(lmt_strbuf *b, double wall_time, int64_t step) {
    put_double(b, 1, wall_time);
    if (step) {
        put_key(b, 2, WIRE_VARINT);
        put_varint(b, (uint64_t)step);
    }
}

void lmt_tb_encode_file_version(lmt_strbuf *b, double wall_time, const char *writer) {
    put_event_head(b, wall_time, 0);
    put_bytes(b, 3, "brain.Event:2", 13);
    lmt_strbuf meta;
    lmt_sb_init(&meta);
    put_bytes(&meta, 1, writer, strlen(writer));   /* SourceMetadata.writer */
    put_message(b, 10, &meta);
}

void lmt_tb_encode_scalar(lmt_strbuf *b, double wall_time, int64_t step, const char *tag, float value) {
    put_event_head(b, wall_time, step);
    lmt_strbuf v, s;
    lmt_sb_init(&v);
    lmt_sb_init(&s);
    put_bytes(&v, 1, tag, strlen(tag));            /* Summary.Value.tag */
    uint32_t u;
    memcpy(&u, &value, 4);
    put_key(&v, 2, WIRE_FIXED32);                  /* Summary.Value.simple_value */
    put_fixed(&v, u, 4);
    put_message(&s, 1, &v);                        /* Summary.value */
    put_message(b, 5, &s);                         /* Event.summary */
}

void lmt_tb_encode_text(lmt_strbuf *b, double wall_time, int64_t step, const char *tag, const char *text) {
    put_event_head(b, wall_time, step);
    lmt_strbuf v, s, tensor, shape, dim, meta, plugin;
    lmt_sb_init(&v); lmt_sb_init(&s); lmt_sb_init(&tensor); lmt_sb_init(&shape);
    lmt_sb_init(&dim); lmt_sb_init(&meta); lmt_sb_init(&plugin);
    size_t tl = strlen(tag);
    char *full = malloc(tl + 14);
    if (!full) { b->oom = true; return; }
    memcpy(full, tag, tl);
    memcpy(full + tl, "/text_summary", 14);
    put_bytes(&v, 1, full, tl + 13);               /* Summary.Value.tag */
    free(full);
    put_key(&tensor, 1, WIRE_VARINT);              /* TensorProto.dtype = DT_STRING */
    put_varint(&tensor, 7);
    put_key(&dim, 1, WIRE_VARINT);                 /* TensorShapeProto.Dim.size = 1 */
    put_varint(&dim, 1);
    put_message(&shape, 2, &dim);                  /* TensorShapeProto.dim */
    put_message(&tensor, 2, &shape);               /* TensorProto.tensor_shape */
    put_bytes(&tensor, 8, text, strlen(text));     /* TensorProto.string_val */
    put_message(&v, 8, &tensor);                   /* Summary.Value.tensor */
    put_bytes(&plugin, 1, "text", 4);              /* PluginData.plugin_name; content (TextPluginData v0) is empty */
    put_message(&meta, 1, &plugin);                /* SummaryMetadata.plugin_data */
    put_message(&v, 9, &meta);                     /* Summary.Value.metadata */
    put_message(&s, 1, &v);
    put_message(b, 5, &s);
}

/* ---- the writer ---- */
struct lmt_tb_writer {
    FILE *f;
    char *path;
};

static double now_s(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void hostname(char *buf, size_t n) {
    if (gethostname(buf, n) != 0 || !buf[0]) snprintf(buf, n, "localhost");
    buf[n - 1] = '\0';
}

char *lmt_tb_logging_dir(const lmt_training_args *a) {
    if (a->logging_dir[0]) return lmt_strdup(a->logging_dir);
    const char *env = getenv("TENSORBOARD_LOGGING_DIR");
    if (env && *env) {
        if (env[0] == '~' && (env[1] == '/' || !env[1]) && getenv("HOME")) {   /* os.path.expanduser */
            lmt_strbuf b;
            lmt_sb_init(&b);
            lmt_sb_printf(&b, "%s%s", getenv("HOME"), env + 1);
            return lmt_sb_take(&b);
        }
        return lmt_strdup(env);
    }
    char stamp[64], host[256], name[400];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%b%d_%H-%M-%S", &tm);   /* datetime.now().strftime, C locale month names */
    hostname(host, sizeof host);
    snprintf(name, sizeof name, "runs/%s_%s", stamp, host);
    return lmt_path_join(a->output_dir, name);
}

bool lmt_tb_wanted(const lmt_training_args *a) {
    const char *r = a->report_to;
    if (!strcmp(r, "all")) return true;
    /* "tensorboard", or a list such as "tensorboard,wandb" / "[\"tensorboard\"]" */
    const char *p = strstr(r, "tensorboard");
    return p != NULL;
}

static lmt_status write_record(lmt_tb_writer *w, lmt_strbuf *ev) {
    lmt_strbuf rec;
    lmt_sb_init(&rec);
    if (!ev->oom) lmt_tfrecord_append(&rec, ev->data, ev->len);
    bool oom = ev->oom || rec.oom;
    lmt_sb_free(ev);
    if (oom) { lmt_sb_free(&rec); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", w->path); }
    size_t want = rec.len, put = fwrite(rec.data, 1, want, w->f);
    lmt_sb_free(&rec);
    if (put != want) return lmt_fail(LMT_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
    return LMT_OK;
}

static lmt_status flush(lmt_tb_writer *w) {
    if (fflush(w->f) != 0) return lmt_fail(LMT_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
    return LMT_OK;
}

lmt_status lmt_tb_writer_open(const char *dir, lmt_tb_writer **out) {
    *out = NULL;
    static int uid;   /* tensorboard's _global_uid: one more for each writer of the process */
    int n = __atomic_fetch_add(&uid, 1, __ATOMIC_RELAXED);
    LMT_TRY(lmt_mkdirs(dir));
    char host[256], name[512];
    hostname(host, sizeof host);
    double t = now_s();
    snprintf(name, sizeof name, "events.out.tfevents.%010lld.%s.%ld.%d", (long long)t, host, (long)getpid(), n);
    lmt_tb_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = lmt_path_join(dir, name))) {
        free(w);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    if (!(w->f = fopen(w->path, "wb"))) {
        lmt_status s = lmt_fail(LMT_ERR_IO, "%s: cannot create: %s", w->path, strerror(errno));
        free(w->path);
        free(w);
        return s;
    }
    lmt_strbuf ev;
    lmt_sb_init(&ev);
    lmt_tb_encode_file_version(&ev, t, "lmtune");
    lmt_status s = write_record(w, &ev);
    if (s == LMT_OK) s = flush(w);
    if (s != LMT_OK) { lmt_tb_writer_close(w); return s; }
    *out = w;
    return LMT_OK;
}

lmt_status lmt_tb_add_text(lmt_tb_writer *w, const char *tag, const char *text, int64_t step) {
    lmt_strbuf ev;
    lmt_sb_init(&ev);
    lmt_tb_encode_text(&ev, now_s(), step, tag, text);
    LMT_TRY(write_record(w, &ev));
    return flush(w);
}

lmt_status lmt_tb_log(lmt_tb_writer *w, const lmt_json *entry, int64_t step) {
    for (size_t i = 0; entry && i < entry->len; i++) {
        const char *k = entry->keys[i];
        const lmt_json *v = &entry->items[i];
        /* trainer.log hands the callbacks the entry before "step" is added */
        if (!strcmp(k, "step")) continue;
        char tag[256];
        if (!strncmp(k, "eval_", 5)) snprintf(tag, sizeof tag, "eval/%s", k + 5);
        else if (!strncmp(k, "test_", 5)) snprintf(tag, sizeof tag, "test/%s", k + 5);
        else snprintf(tag, sizeof tag, "train/%s", k);
        lmt_strbuf ev;
        lmt_sb_init(&ev);
        if (v->type == LMT_JSON_NUMBER) lmt_tb_encode_scalar(&ev, now_s(), step, tag, (float)v->num);
        else if (v->type == LMT_JSON_STRING) lmt_tb_encode_text(&ev, now_s(), step, tag, v->str);
        else { lmt_sb_free(&ev); continue; }   /* the callback drops other values with a warning */
        LMT_TRY(write_record(w, &ev));
    }
    return flush(w);
}

const char *lmt_tb_writer_path(const lmt_tb_writer *w) { return w ? w->path : NULL; }

void lmt_tb_writer_close(lmt_tb_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    free(w->path);
    free(w);
}
