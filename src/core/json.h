/* A small JSON DOM (RFC 8259): parse with positions in error messages,
 * look up, and write. Strings are UTF-8 with explicit length (may hold NUL).
 * Numbers keep both a double and, when integral and in range, an int64. */
#ifndef LMT_CORE_JSON_H
#define LMT_CORE_JSON_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "lmtune/lmtune.h"

typedef enum { LMT_JSON_NULL, LMT_JSON_BOOL, LMT_JSON_NUMBER, LMT_JSON_STRING,
               LMT_JSON_ARRAY, LMT_JSON_OBJECT } lmt_json_type;

typedef struct lmt_json lmt_json;
struct lmt_json {
    lmt_json_type type;
    bool boolean;
    bool is_int;          /* number written without fraction/exponent, fits int64 */
    double num;
    int64_t i64;
    char *str;            /* STRING: NUL-terminated copy; len excludes the NUL */
    size_t len;           /* STRING: bytes; ARRAY/OBJECT: number of items */
    lmt_json *items;      /* ARRAY items / OBJECT values, in document order */
    char **keys;          /* OBJECT keys (NUL-terminated), parallel to items */
    size_t *key_lens;
};

/* Parses text[0..len). `source` (a file name) prefixes error messages:
 * "config.json: line 3, column 5: expected ',' or '}'". Max depth 512. */
lmt_status lmt_json_parse(const char *text, size_t len, const char *source, lmt_json **out);
lmt_status lmt_json_parse_file(const char *path, lmt_json **out);
void lmt_json_free(lmt_json *j);

/* Object member by key (first match), or NULL if absent or j not an object. */
const lmt_json *lmt_json_get(const lmt_json *j, const char *key);
const char *lmt_json_type_name(lmt_json_type t);

/* Typed getters for config-style objects. Each returns LMT_OK and fills *out
 * when the key holds the right type; if absent, fills the default and returns
 * LMT_OK; if present with the wrong type, fails naming `source` and key. */
lmt_status lmt_json_get_int(const lmt_json *obj, const char *key, int64_t def, const char *source, int64_t *out);
lmt_status lmt_json_get_num(const lmt_json *obj, const char *key, double def, const char *source, double *out);
lmt_status lmt_json_get_bool(const lmt_json *obj, const char *key, bool def, const char *source, bool *out);
/* *out points into obj (no copy); def may be NULL. JSON null counts as absent. */
lmt_status lmt_json_get_str(const lmt_json *obj, const char *key, const char *def, const char *source, const char **out);

/* ---- writing ---- */
typedef struct lmt_strbuf lmt_strbuf;
/* Appends s[0..len) as a JSON string literal (quotes, escapes; non-ASCII kept
 * as UTF-8 unless ascii_only, then \uXXXX as Python's json.dumps does). */
void lmt_json_write_string(lmt_strbuf *b, const char *s, size_t len, bool ascii_only);
/* Python's repr(float) (json.dumps' NaN / Infinity for the non-finite). */
void lmt_json_write_float_py(lmt_strbuf *b, double x);
/* Serialises a DOM; indent 0 = compact ("," ":" separators, no spaces),
 * indent > 0 = pretty with that many spaces (", " and ": " as Python's
 * json.dumps(indent=n)). */
void lmt_json_write(lmt_strbuf *b, const lmt_json *j, int indent);
/* As Python's json.dumps(j, indent=indent, sort_keys=sort_keys) with its
 * default ensure_ascii=True: what transformers writes for config.json,
 * generation_config.json and trainer_state.json (without the final "\n"). */
void lmt_json_write_py(lmt_strbuf *b, const lmt_json *j, int indent, bool sort_keys);

/* ---- building (for files lmtune writes) ----
 * Values are moved into their container: after the call the passed shell is
 * freed and must not be used. NULL on allocation failure. */
lmt_json *lmt_json_new(lmt_json_type t);
lmt_json *lmt_json_new_string(const char *s);
lmt_json *lmt_json_new_int(int64_t v);
lmt_json *lmt_json_new_num(double v);
lmt_json *lmt_json_new_bool(bool v);
lmt_status lmt_json_array_push(lmt_json *arr, lmt_json *v);
/* Replaces the member if the key exists (keeping its position), else appends. */
lmt_status lmt_json_object_set(lmt_json *obj, const char *key, lmt_json *v);
/* Deep copy. */
lmt_json *lmt_json_clone(const lmt_json *j);
#endif
