// The evidence benchmark's JSON Lines (gaze_evidence_parse, gaze evaluate) on arbitrary bytes:
// a parse either fails with a message naming the file and a line, or gives items whose text has
// no NUL and whose spans (and the counterfactual's) lie inside it, lines increasing.
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size > (1u << 16)) return 0;
    struct gaze_evidence ev;
    enum gaze_status s = gaze_evidence_parse(&ev, (const char *)data, size, "fuzz.jsonl");
    if (s) {
        fuzz_check_failure_ex(s, "evidence", false);
        FUZZ_REQUIRE(strstr(gaze_last_error(), "fuzz.jsonl"), "message without the file: %s", gaze_last_error());
        return 0;
    }
    int64_t prev = 0;
    for (int64_t i = 0; i < ev.n; i++) {
        const struct gaze_evidence_item * x = &ev.items[i];
        FUZZ_REQUIRE(x->text && x->task && x->line > prev, "item %lld", (long long)i);
        prev = x->line;
        const int64_t n = (int64_t)strlen(x->text);
        for (int64_t k = 0; k < x->n_spans; k++)
            FUZZ_REQUIRE(x->spans[2 * k] >= 0 && x->spans[2 * k] < x->spans[2 * k + 1] && x->spans[2 * k + 1] <= n,
                         "span %lld of item %lld outside its text", (long long)k, (long long)i);
        const int64_t m = x->cf_text ? (int64_t)strlen(x->cf_text) : 0;
        FUZZ_REQUIRE(x->cf_text || x->n_cf_spans == 0, "counterfactual spans without text");
        for (int64_t k = 0; k < x->n_cf_spans; k++)
            FUZZ_REQUIRE(x->cf_spans[2 * k] >= 0 && x->cf_spans[2 * k] < x->cf_spans[2 * k + 1] && x->cf_spans[2 * k + 1] <= m,
                         "counterfactual span %lld of item %lld outside its text", (long long)k, (long long)i);
    }
    gaze_evidence_free(&ev);
    return 0;
}
