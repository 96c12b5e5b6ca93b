/* The registry as text: grouped for --help, or as docs/ARGUMENTS.md's tables. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/util.h"
#include "train/args.h"

static const char *const type_names[] = {"bool", "int", "float", "choice", "string", "list", "dict"};
static const char *const status_names[] = {"implemented", "accepted, no effect", "refused unless default", "refused unless default (not implemented yet)"};

/* "a|b|c" as "a, b, c" */
static void put_choices(lmt_strbuf *b, const char *c) {
    for (; *c; c++) {
        if (*c == '|') lmt_sb_puts(b, ", ");
        else lmt_sb_putc(b, *c);
    }
}

static void put_names(lmt_strbuf *b, const lmt_arg_spec *f, const char *pre, const char *post) {
    lmt_sb_printf(b, "%s%s%s", pre, f->name, post);
    for (const char *p = f->aliases; p && *p;) {
        size_t k = strcspn(p, "|");
        lmt_sb_printf(b, ", %s%.*s%s", pre, (int)k, p, post);
        p = p[k] ? p + k + 1 : p + k;
    }
}

char *lmt_training_args_describe(bool markdown) {
    size_t n;
    const lmt_arg_spec *t = lmt_training_args_specs(&n);
    lmt_strbuf b;
    lmt_sb_init(&b);
    const char *group = NULL;
    for (size_t i = 0; i < n; i++) {
        const lmt_arg_spec *f = &t[i];
        if (!group || strcmp(group, f->group)) {
            group = f->group;
            if (markdown) lmt_sb_printf(&b, "\n### %s\n\n| name | type | default | status | notes |\n|---|---|---|---|---|\n", group);
            else lmt_sb_printf(&b, "\n%s:\n", group);
        }
        if (markdown) {
            lmt_sb_puts(&b, "| ");
            put_names(&b, f, "`", "`");
            lmt_sb_printf(&b, " | %s", type_names[f->type]);
            if (f->choices) { lmt_sb_puts(&b, ": "); put_choices(&b, f->choices); }
            if (isfinite(f->lo) && isfinite(f->hi))
                lmt_sb_printf(&b, " in %c%g, %g%c", f->open & 1 ? '(' : '[', f->lo, f->hi, f->open & 2 ? ')' : ']');
            else if (isfinite(f->lo)) lmt_sb_printf(&b, " %s %g", f->open & 1 ? ">" : ">=", f->lo);
            lmt_sb_printf(&b, " | `%s` | %s | %s%s%s%s |\n", f->dflt[0] ? f->dflt : "\"\"", status_names[f->status], f->help,
                          f->note ? ". " : "", f->note ? f->note : "", f->since ? ". A transformers 4 name" : "");
        } else {
            lmt_strbuf h;
            lmt_sb_init(&h);
            put_names(&h, f, "--", "");
            lmt_sb_printf(&b, "  %-34s %s", h.data ? h.data : "", f->help);
            lmt_sb_free(&h);
            if (f->status == LMT_ARG_NO_EFFECT) lmt_sb_printf(&b, " [no effect: %s]", f->note);
            else if (f->status != LMT_ARG_IMPLEMENTED) lmt_sb_printf(&b, " [refused unless %s: %s]", f->dflt[0] ? f->dflt : "\"\"",
                                                                      f->status == LMT_ARG_PLANNED ? "not implemented yet" : f->note);
            lmt_sb_putc(&b, '\n');
        }
    }
    return lmt_sb_take(&b);
}
