// Statistics of paired differences (gaze bias): per statistic the mean over pairs, a percentile
// bootstrap interval over resampled pairs, a sign-flip permutation test of "mean 0" (under the
// null each pair's difference is as likely negated), and Benjamini-Hochberg q-values across the
// statistics (many heads are tested at once). One xorshift stream per statistic from the seed,
// so results do not depend on K's order or on threads.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

void gaze_paired_stats_free(struct gaze_paired_stats * st) {
    if (!st) return;
    free(st->mean); free(st->lo); free(st->hi); free(st->p); free(st->q); free(st->n);
    memset(st, 0, sizeof *st);
}

static uint64_t next(uint64_t * x) {
    *x ^= *x >> 12; *x ^= *x << 25; *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

static int cmp_double(const void * a, const void * b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct pq { double p; int64_t k; };
static int cmp_pq(const void * a, const void * b) {
    const struct pq * x = a, * y = b;
    if (x->p != y->p) return x->p < y->p ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

enum gaze_status gaze_paired_stats_compute(const double * d, int64_t N, int64_t K, int64_t B, double alpha,
                                           uint64_t seed, struct gaze_paired_stats * o) {
    if (!d || !o || N < 1 || K < 1 || B < 10 || !(alpha > 0 && alpha < 1))
        return gaze_error(GAZE_ERR_INVALID_ARG, "paired stats: bad argument (N %lld, K %lld, B %lld, alpha %g)",
                          (long long)N, (long long)K, (long long)B, alpha);
    memset(o, 0, sizeof *o);
    o->K = K;
    o->mean = malloc((size_t)K * sizeof(double)); o->lo = malloc((size_t)K * sizeof(double));
    o->hi = malloc((size_t)K * sizeof(double)); o->p = malloc((size_t)K * sizeof(double));
    o->q = malloc((size_t)K * sizeof(double)); o->n = malloc((size_t)K * sizeof(int64_t));
    double * v = malloc((size_t)N * sizeof *v), * boot = malloc((size_t)B * sizeof *boot);
    struct pq * order = malloc((size_t)K * sizeof *order);
    if (!o->mean || !o->lo || !o->hi || !o->p || !o->q || !o->n || !v || !boot || !order) {
        free(v); free(boot); free(order); gaze_paired_stats_free(o);
        return gaze_error(GAZE_ERR_NOMEM, "paired stats: out of memory");
    }
    int64_t n_tested = 0;
    for (int64_t k = 0; k < K; k++) {
        int64_t n = 0;
        double sum = 0;
        for (int64_t i = 0; i < N; i++)
            if (isfinite(d[i * K + k])) { v[n++] = d[i * K + k]; sum += d[i * K + k]; }
        o->n[k] = n;
        if (n == 0) { o->mean[k] = o->lo[k] = o->hi[k] = o->p[k] = o->q[k] = NAN; continue; }
        const double mean = sum / (double)n;
        o->mean[k] = mean;
        uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(k + 1) * 0xD1B54A32D192ED03ull;
        if (!x) x = 1;
        for (int64_t b = 0; b < B; b++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += v[next(&x) % (uint64_t)n];
            boot[b] = s / (double)n;
        }
        qsort(boot, (size_t)B, sizeof *boot, cmp_double);
        const int64_t ilo = (int64_t)floor(alpha / 2 * (double)(B - 1)), ihi = (int64_t)ceil((1 - alpha / 2) * (double)(B - 1));
        o->lo[k] = boot[ilo];
        o->hi[k] = boot[ihi];
        int64_t extreme = 0;
        for (int64_t b = 0; b < B; b++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += (next(&x) >> 63) ? -v[i] : v[i];
            extreme += fabs(s / (double)n) >= fabs(mean) - 1e-15 * fabs(mean);
        }
        o->p[k] = (double)(extreme + 1) / (double)(B + 1);
        order[n_tested++] = (struct pq){ o->p[k], k };
    }
    // Benjamini-Hochberg: q_(r) = min over s >= r of p_(s)·m/s
    qsort(order, (size_t)n_tested, sizeof *order, cmp_pq);
    double run = 1;
    for (int64_t r = n_tested - 1; r >= 0; r--) {
        const double q = order[r].p * (double)n_tested / (double)(r + 1);
        run = q < run ? q : run;
        o->q[order[r].k] = run;
    }
    free(v); free(boot); free(order);
    return GAZE_OK;
}
