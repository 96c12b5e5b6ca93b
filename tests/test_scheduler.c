/* Learning-rate schedules against torch LambdaLR + transformers' lambdas
 * (tests/fixtures/train/schedules.json, made by tools/reference). */
#include <stdio.h>
#include "harness.h"
#include "core/json.h"
#include "train/scheduler.h"

int main(void) {
    lmt_json *j;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/schedules.json", &j));
    if (!j) return lmt_test_finish();
    const lmt_json *cases = lmt_json_get(j, "schedules");
    CHECK(cases && cases->len >= 28);
    int mismatches = 0, compared = 0;
    for (size_t c = 0; cases && c < cases->len; c++) {
        const lmt_json *k = &cases->items[c];
        lmt_sched_kind kind;
        CHECK_OK(lmt_scheduler_kind_parse(lmt_json_get(k, "kind")->str, &kind));
        lmt_scheduler s;
        CHECK_OK(lmt_scheduler_init(&s, kind, lmt_json_get(k, "learning_rate")->num,
                                    lmt_json_get(k, "warmup_steps")->i64, lmt_json_get(k, "total_steps")->i64));
        const lmt_json *lrs = lmt_json_get(k, "lr_after_step");
        for (size_t step = 0; step < lrs->len; step++) {
            double want = lrs->items[step].num, got = lmt_scheduler_lr(&s, (int64_t)step);
            compared++;
            /* same double arithmetic as Python: equal up to the last bit or two */
            if (fabs(got - want) > 1e-15 * fabs(want) + 1e-300) {
                if (mismatches++ < 5)
                    fprintf(stderr, "%s warmup %lld total %lld step %zu: %.17g vs %.17g\n", lmt_scheduler_kind_name(kind),
                            (long long)s.warmup_steps, (long long)s.total_steps, step, got, want);
            }
        }
    }
    CHECK_MSG(mismatches == 0, "%d of %d learning rates differ", mismatches, compared);
    const lmt_json *ratios = lmt_json_get(j, "warmup_ratio");
    for (size_t i = 0; ratios && i < ratios->len; i++) {
        const lmt_json *r = &ratios->items[i];
        CHECK(lmt_warmup_steps(0, lmt_json_get(r, "warmup_ratio")->num, lmt_json_get(r, "total_steps")->i64) ==
              lmt_json_get(r, "warmup_steps")->i64);
    }
    lmt_sched_kind k;
    CHECK(lmt_scheduler_kind_parse("linearr", &k) == LMT_ERR_ARG && strstr(lmt_last_error(), "linearr"));
    lmt_scheduler s;
    CHECK(lmt_scheduler_init(&s, LMT_SCHED_LINEAR, 1e-3, -1, 10) == LMT_ERR_ARG);
    lmt_json_free(j);
    return lmt_test_finish();
}
