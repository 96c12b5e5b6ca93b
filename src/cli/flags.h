/* Checked command-line flags: each command lists its flags in a table (name,
 * type, range, destination, help) and one parser reads run_*.py-style
 * arguments ("--name value", "--name=value", a bare "--name" for a boolean)
 * against it. Every refusal - an unknown flag, a missing value, a malformed
 * number, a number out of range, an unknown choice - names the flag and
 * happens while parsing, before any file is read. */
#ifndef LMT_CLI_FLAGS_H
#define LMT_CLI_FLAGS_H
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lmtune/lmtune.h"

typedef enum {
    LMT_FLAG_INT,     /* int64_t, within [lo, hi] */
    LMT_FLAG_FLOAT,   /* double, finite, within lo..hi (open ends as flagged) */
    LMT_FLAG_BOOL,    /* bool: true/false/1/0/yes/no; bare: true */
    LMT_FLAG_STRING,  /* const char * (argv's) */
    LMT_FLAG_PATH,    /* const char *, non-empty */
    LMT_FLAG_ENUM,    /* const char *: one of choices */
    LMT_FLAG_SIZE,    /* double: a fraction in (0, 1) or a whole count >= 1 (train_test_split's sizes) */
} lmt_flag_type;

enum { LMT_FLAG_LO_OPEN = 1, LMT_FLAG_HI_OPEN = 2 };

typedef struct lmt_flag {
    const char *name;             /* "max_seq_length|chunk_size": the name, then aliases */
    lmt_flag_type type;
    void *dst;
    double lo, hi;                /* numbers: the range (-INFINITY / INFINITY: unbounded) */
    int open;                     /* LMT_FLAG_LO_OPEN | LMT_FLAG_HI_OPEN */
    const char *const *choices;   /* ENUM: NULL-terminated */
    const char *help;
    /* instead of storing: applies the (checked) value, e.g. --args_json */
    lmt_status (*apply)(void *dst, const char *value);
} lmt_flag;

#define LMT_FLAG_ANY -INFINITY, INFINITY, 0
#define LMT_FLAG_MIN(lo) (lo), INFINITY, 0

/* Flags not in the table go to other(ctx, name, value) (value "true" for a
 * bare flag); LMT_ERR_NOT_FOUND: an unknown name (2, with the closest known
 * name suggested); else its error message is printed and the parse fails with
 * 2 for a refused value, 1 otherwise. NULL: an unknown flag fails with 2. */
typedef lmt_status (*lmt_flag_other_fn)(void *ctx, const char *name, const char *value);

/* Parses argv[1..argc). Returns 0; -1 after printing help for --help / -h
 * (header, then the table); else the exit status after printing
 * "lmtune: error: ..." (2: a usage error). Names match with hyphens for
 * underscores (--max-length is --max_length). A boolean takes the next
 * argument only when it reads as one (--flag, --flag true, --flag=0). */
int lmt_cli_parse_flags(int argc, char **argv, const lmt_flag *table, size_t n, lmt_flag_other_fn other, void *other_ctx,
                        const char *header, const char *footer);
/* The table's flag (or, with registry, TrainingArguments name) closest to
 * name, or NULL; "lmtune: error: unknown argument --NAME (did you mean
 * --X?)", returning 2. */
const char *lmt_cli_suggest(const lmt_flag *table, size_t n, const char *name, bool registry);
int lmt_cli_unknown_flag(const lmt_flag *table, size_t n, const char *name, bool registry);
/* Moves the positional arguments of argv[1..argc) (not "--name", nor the
 * value after a table flag that takes one) into pos (argc entries at most),
 * *n_pos of them; argv keeps the rest in order. Returns the new argc. */
int lmt_cli_split_positionals(int argc, char **argv, const lmt_flag *table, size_t n, char **pos, int *n_pos);
/* The table as --help shows it. */
void lmt_cli_print_flags(FILE *f, const lmt_flag *table, size_t n);
/* Checks value against one flag and stores (or applies) it: 0; else the
 * exit status after printing why (2: a refused value, 1: apply failed). */
int lmt_cli_set_flag(const lmt_flag *fl, const char *name, const char *value);
/* One number outside a table (commands that parse their own arguments),
 * checked as a table row is: false after printing why. */
/* Prints "lmtune: error: [what: ]<last library error>"; returns 1. */
int lmt_cli_fail(const char *what);
/* Prints "lmtune: error: WHAT" and returns 1 (the exit status of a failed command). */
int lmt_cli_error(const char *what);
/* Calls fn(ctx, line, len) on each line of path (NULL or "-": stdin), its
 * '\n' included; stops at the first non-zero return, which it returns
 * (1 after printing why when the file does not open). */
int lmt_cli_each_line(const char *path, int (*fn)(void *ctx, char *line, size_t len), void *ctx);
/* Texts a command works on: positional arguments, a repeatable flag (apply
 * lmt_cli_texts_add) and the lines of a file (empty lines skipped). */
typedef struct lmt_cli_texts { const char **v; int n, cap; char *file_text; } lmt_cli_texts;
lmt_status lmt_cli_texts_add(void *texts, const char *value);
/* Parses argv against table (positionals become texts): as lmt_cli_parse_flags. */
int lmt_cli_parse_texts(int argc, char **argv, const lmt_flag *table, size_t n, const char *header, const char *footer, lmt_cli_texts *t);
/* Adds the lines of path (NULL: nothing): 0, or 1 after printing why. */
int lmt_cli_texts_read_file(lmt_cli_texts *t, const char *path);
void lmt_cli_texts_free(lmt_cli_texts *t);
bool lmt_cli_int(const char *name, const char *value, int64_t lo, int64_t hi, int64_t *out);
bool lmt_cli_num(const char *name, const char *value, double lo, double hi, int open, double *out);
#endif
