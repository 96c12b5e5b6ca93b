/* The translation command's data steps as library functions: loading checked
 * pairs (data/translation_data.c: lmt_translation_load_pairs), padding to the
 * maximum lengths (lmt_translation_pad, as MarianTokenizer's
 * padding="max_length" + ignore_pad_token_for_loss: ids padded with pad_id,
 * attention_mask with 0, labels with -100), and the dataset helpers
 * max_train_samples and the collator sizes use (lmt_ds_truncate,
 * lmt_ds_select_range, lmt_ds_longest). Expected values are written out by
 * hand from the inputs below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"
#include "data/dataset.h"
#include "data/translation_data.h"
#include "harness.h"

static char tmp[] = "/tmp/lmt-pairs-XXXXXX";

static const char *write_tmp(const char *name, const char *text) {
    static char p[8][1024];
    static int k;
    char *path = p[k++ % 8];
    snprintf(path, 1024, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) { fputs(text, f); fclose(f); }
    return path;
}

static bool str_at(const lmt_dataset *ds, const char *col, int64_t r, const char *want) {
    const lmt_ds_column *c = lmt_ds_col(ds, col);
    if (!c || r >= ds->n_rows) return false;
    size_t n;
    const char *s = lmt_col_str(c, r, &n);
    return n == strlen(want) && !memcmp(s, want, n);
}

static bool ints_at(const lmt_dataset *ds, const char *col, int64_t r, const int32_t *want, size_t wn) {
    const lmt_ds_column *c = lmt_ds_col(ds, col);
    if (!c || r >= ds->n_rows) return false;
    size_t n;
    const int32_t *v = lmt_col_ints(c, r, &n);
    return n == wn && !memcmp(v, want, n * sizeof *v);
}

static void add_ints(lmt_dataset *ds, const char *name, const int32_t *const *rows, const size_t *lens, int n) {
    lmt_ds_column *c = lmt_col_new(name, LMT_DS_INTS);
    for (int r = 0; r < n; r++) lmt_col_push_ints(c, rows[r], lens[r]);
    CHECK_OK(lmt_ds_add_column(ds, c));
}

int main(void) {
    CHECK(mkdtemp(tmp) != NULL);
    lmt_dataset ds;

    /* JSON Lines pairs, with a source prefix */
    const char *ok = write_tmp("ok.jsonl", "{\"translation\": {\"en\": \"Add\", \"fr\": \"Ajouter\"}}\n"
                                           "{\"translation\": {\"en\": \"Days\", \"fr\": \"Jours\"}}\n"
                                           "{\"translation\": {\"en\": \"Delete\", \"fr\": \"Supprimer\"}}\n");
    CHECK_OK(lmt_translation_load_pairs(ok, NULL, "en", "fr", "translate: ", &ds));
    CHECK(ds.n_rows == 3 && str_at(&ds, "translation.en", 1, "translate: Days") && str_at(&ds, "translation.fr", 2, "Supprimer"));
    lmt_ds_free(&ds);
    CHECK_OK(lmt_translation_load_pairs(ok, NULL, "en", "fr", NULL, &ds));
    CHECK(str_at(&ds, "translation.en", 0, "Add"));

    /* max_train_samples: the first rows, in order; more than there are keeps all */
    CHECK_OK(lmt_ds_truncate(&ds, 2));
    CHECK(ds.n_rows == 2 && str_at(&ds, "translation.en", 1, "Days") && str_at(&ds, "translation.fr", 0, "Ajouter"));
    CHECK_OK(lmt_ds_truncate(&ds, 5));
    CHECK(ds.n_rows == 2);
    CHECK_OK(lmt_ds_truncate(&ds, 0));
    CHECK(ds.n_rows == 2);
    lmt_dataset part;
    CHECK_OK(lmt_ds_select_range(&ds, 1, 1, &part));
    CHECK(part.n_rows == 1 && str_at(&part, "translation.en", 0, "Days"));
    lmt_ds_free(&part);
    CHECK(lmt_ds_select_range(&ds, 1, 2, &part) == LMT_ERR_ARG && strstr(lmt_last_error(), "out of range") && part.n_rows == 0);
    lmt_ds_free(&ds);

    /* parallel text files */
    const char *src = write_tmp("src.en", "Add\nDays\n"), *tgt = write_tmp("tgt.fr", "Ajouter\nJours\n");
    CHECK_OK(lmt_translation_load_pairs(src, tgt, "en", "fr", NULL, &ds));
    CHECK(ds.n_rows == 2 && str_at(&ds, "translation.en", 1, "Days") && str_at(&ds, "translation.fr", 1, "Jours"));
    lmt_ds_free(&ds);

    /* refusals name the file, the line and the language */
    const char *miss = write_tmp("miss.jsonl", "{\"translation\": {\"en\": \"Add\", \"fr\": \"Ajouter\"}}\n"
                                               "{\"translation\": {\"en\": \"Delete\"}}\n");
    CHECK(lmt_translation_load_pairs(miss, NULL, "en", "fr", NULL, &ds) != LMT_OK &&
          strstr(lmt_last_error(), "miss.jsonl: line 2: the pair has no \"fr\" side") && ds.n_rows == 0);
    const char *empty = write_tmp("empty.jsonl", "{\"translation\": {\"en\": \"\", \"fr\": \"Rien\"}}\n");
    CHECK(lmt_translation_load_pairs(empty, NULL, "en", "fr", NULL, &ds) != LMT_OK &&
          strstr(lmt_last_error(), "empty.jsonl: line 1: the source (\"en\") is an empty string"));
    CHECK(lmt_translation_load_pairs(ok, NULL, "de", "fr", NULL, &ds) != LMT_OK &&
          strstr(lmt_last_error(), "ok.jsonl: no pairs in language \"de\" (--source_lang); the file has: en, fr"));
    CHECK(lmt_translation_load_pairs(ok, NULL, "en", "es", NULL, &ds) != LMT_OK && strstr(lmt_last_error(), "\"es\" (--target_lang)"));
    char nope[1100];
    snprintf(nope, sizeof nope, "%s/nope.jsonl", tmp);
    CHECK(lmt_translation_load_pairs(nope, NULL, "en", "fr", NULL, &ds) == LMT_ERR_NOT_FOUND && strstr(lmt_last_error(), "nope.jsonl: no such file"));
    CHECK(lmt_translation_load_pairs(src, nope, "en", "fr", NULL, &ds) == LMT_ERR_NOT_FOUND && strstr(lmt_last_error(), "nope.jsonl"));

    /* padding to max lengths 4 (source) and 3 (labels), pad id 9 */
    lmt_ds_init(&ds);
    const int32_t a0[] = {5, 6, 1}, a1[] = {7, 1}, m0[] = {1, 1, 1}, m1[] = {1, 1}, l0[] = {8, 1}, l1[] = {4, 3, 1};
    const int32_t *ids[] = {a0, a1}, *mask[] = {m0, m1}, *lab[] = {l0, l1};
    const size_t il[] = {3, 2}, ll[] = {2, 3};
    add_ints(&ds, "input_ids", ids, il, 2);
    add_ints(&ds, "attention_mask", mask, il, 2);
    add_ints(&ds, "labels", lab, ll, 2);
    CHECK(lmt_ds_longest(&ds, "input_ids") == 3 && lmt_ds_longest(&ds, "labels") == 3 && lmt_ds_longest(&ds, "nothing") == 0);
    CHECK_OK(lmt_translation_pad(&ds, 9, 4, 3));
    const int32_t p0[] = {5, 6, 1, 9}, p1[] = {7, 1, 9, 9}, pm0[] = {1, 1, 1, 0}, pm1[] = {1, 1, 0, 0}, pl0[] = {8, 1, -100}, pl1[] = {4, 3, 1};
    CHECK(ints_at(&ds, "input_ids", 0, p0, 4) && ints_at(&ds, "input_ids", 1, p1, 4));
    CHECK(ints_at(&ds, "attention_mask", 0, pm0, 4) && ints_at(&ds, "attention_mask", 1, pm1, 4));
    CHECK(ints_at(&ds, "labels", 0, pl0, 3) && ints_at(&ds, "labels", 1, pl1, 3));
    CHECK(lmt_ds_longest(&ds, "input_ids") == 4);
    const char *rm[] = {"labels"};
    CHECK_OK(lmt_ds_remove_columns(&ds, rm, 1));
    CHECK(lmt_translation_pad(&ds, 9, 4, 3) == LMT_ERR_ARG && strstr(lmt_last_error(), "no labels column"));
    lmt_ds_free(&ds);

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
