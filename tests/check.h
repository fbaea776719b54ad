// Minimal test harness: CHECK counts, prints each failure with its location, and
// check_summary() prints "N passed, N failed" (the line CI reads) and returns the exit code.
#ifndef GAZE_CHECK_H
#define GAZE_CHECK_H
#include <stdio.h>
#include <math.h>

static int check_pass_ = 0, check_fail_ = 0;

#define CHECK(cond, ...) do { if (cond) check_pass_++; else { check_fail_++; \
    fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static inline int check_summary(const char * name) {
    printf("%s: %d passed, %d failed\n", name, check_pass_, check_fail_);
    return check_fail_ ? 1 : 0;
}
#endif
