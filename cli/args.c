// Small argument helpers shared by the subcommands.
#include "cli.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// "0,2-4,7" -> [0, 2, 3, 4, 7] (sorted, deduplicated), every value in [0, limit).
int cli_parse_index_list(const char * flag, const char * s, int64_t limit, int64_t ** out, int64_t * n) {
    *out = NULL;
    *n = 0;
    if (!s || !*s) { fprintf(stderr, "gaze: %s needs a list like 0,2-4\n", flag); return 2; }
    uint8_t * seen = calloc((size_t)limit, 1);
    if (!seen) return 1;
    const char * p = s;
    while (*p) {
        char * end;
        errno = 0;
        long long a = strtoll(p, &end, 10), b = a;
        if (end == p || errno) goto bad;
        p = end;
        if (*p == '-') {
            b = strtoll(p + 1, &end, 10);
            if (end == p + 1 || errno) goto bad;
            p = end;
        }
        if (a < 0 || b < a || b >= limit) {
            fprintf(stderr, "gaze: %s: %lld-%lld outside 0..%lld\n", flag, a, b, (long long)(limit - 1));
            free(seen);
            return 2;
        }
        for (long long i = a; i <= b; i++) seen[i] = 1;
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    int64_t cnt = 0;
    for (int64_t i = 0; i < limit; i++) cnt += seen[i];
    *out = malloc((size_t)(cnt ? cnt : 1) * sizeof **out);
    if (!*out) { free(seen); return 1; }
    for (int64_t i = 0; i < limit; i++) if (seen[i]) (*out)[(*n)++] = i;
    free(seen);
    return 0;
bad:
    fprintf(stderr, "gaze: %s: cannot parse '%s' (expected e.g. 0,2-4)\n", flag, s);
    free(seen);
    return 2;
}
