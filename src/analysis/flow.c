// Attention flow (Abnar & Zuidema 2020): the maximum flow from an output token down the layer
// graph to each input token, with the rollout matrices Â as capacities, by Dinic's algorithm
// on the dense layered graph (no adjacency lists: arcs are implied by the layer structure).
// Formulas: reference/interpretability.md §2.
#include "analysis/analysis.h"
#include <math.h>
#include <omp.h>
#include <string.h>

// Residual capacities below this are treated as zero: capacities are row-normalised (<= 1)
// and a max-flow has at most L·n² arcs, so the error this allows stays far below 1e-6.
#define FLOW_EPS 1e-13

struct flow_ctx {
    const double * cap;   // [L, n, n]: (l+1, i) -> (l, j)
    double *  f;          // [L, n, n] flow on those arcs
    int32_t * level;      // [(L+1)·n] BFS level, -1 unreached
    int32_t * it;         // [(L+1)·n] current arc: 0..n-1 down to layer l-1, n..2n-1 up to l+1
    int32_t * queue;      // [(L+1)·n]
    int64_t L, n, t;      // t: sink node id
};

size_t analysis_flow_work_bytes(int64_t L, int64_t n) {
    size_t V = (size_t)(L + 1) * (size_t)n;
    return (size_t)L * (size_t)n * (size_t)n * sizeof(double) + 3 * V * sizeof(int32_t) + 64;
}

// Arc a of node v = (l, x): its head w and residual capacity; *fp points at the flow entry and
// *dir is +1 (down: residual cap - f) or -1 (up: residual f).
static inline bool arc(const struct flow_ctx * c, int64_t v, int64_t a, int64_t * w, double * r,
                       double ** fp, int * dir) {
    const int64_t n = c->n, l = v / n, x = v % n;
    if (a < n) {                       // down to (l-1, a)
        if (l == 0) return false;
        const int64_t e = ((l - 1) * n + x) * n + a;
        *w = (l - 1) * n + a;
        *r = c->cap[e] - c->f[e];
        *fp = &c->f[e];
        *dir = 1;
    } else {                           // up to (l+1, a-n): undo flow on its arc into v
        if (l == c->L) return false;
        const int64_t y = a - n, e = (l * n + y) * n + x;
        *w = (l + 1) * n + y;
        *r = c->f[e];
        *fp = &c->f[e];
        *dir = -1;
    }
    return true;
}

static bool bfs(struct flow_ctx * c, int64_t s) {
    const int64_t V = (c->L + 1) * c->n;
    for (int64_t v = 0; v < V; v++) c->level[v] = -1;
    int64_t head = 0, tail = 0;
    c->level[s] = 0;
    c->queue[tail++] = (int32_t)s;
    while (head < tail) {
        const int64_t v = c->queue[head++];
        for (int64_t a = 0; a < 2 * c->n; a++) {
            int64_t w; double r; double * fp; int dir;
            if (!arc(c, v, a, &w, &r, &fp, &dir) || r <= FLOW_EPS || c->level[w] >= 0) continue;
            c->level[w] = c->level[v] + 1;
            c->queue[tail++] = (int32_t)w;
        }
    }
    return c->level[c->t] >= 0;
}

// Pushes up to limit from v towards the sink along the level graph; returns the amount.
static double dfs(struct flow_ctx * c, int64_t v, double limit) {
    if (v == c->t) return limit;
    double total = 0;
    for (; c->it[v] < 2 * c->n; c->it[v]++) {
        int64_t w; double r; double * fp; int dir;
        if (!arc(c, v, c->it[v], &w, &r, &fp, &dir) || r <= FLOW_EPS || c->level[w] != c->level[v] + 1) continue;
        const double d = dfs(c, w, GAZE_MIN(limit - total, r));
        if (d > 0) {
            *fp += dir * d;
            total += d;
            if (limit - total <= FLOW_EPS) return total;   // this arc may still have room
        }
    }
    if (total <= 0) c->level[v] = -1;   // dead end for the rest of the phase
    return total;
}

double analysis_layered_max_flow(const double * cap, int64_t L, int64_t n, int64_t src, int64_t dst,
                                 void * work) {
    const size_t V = (size_t)(L + 1) * (size_t)n;
    struct flow_ctx c = { cap, work, NULL, NULL, NULL, L, n, dst };
    c.level = (int32_t *)(c.f + (size_t)L * (size_t)n * (size_t)n);
    c.it = c.level + V;
    c.queue = c.it + V;
    memset(c.f, 0, (size_t)L * (size_t)n * (size_t)n * sizeof *c.f);
    const int64_t s = L * n + src;
    double flow = 0;
    if (L < 1) return 0;
    while (bfs(&c, s)) {
        memset(c.it, 0, V * sizeof *c.it);
        double d;
        while ((d = dfs(&c, s, INFINITY)) > 0) flow += d;
    }
    return flow;
}

enum gaze_status gaze_attention_flow(const struct gaze_run * run,
                                     const struct gaze_rollout_opts * opts, int64_t token,
                                     double * out) {
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "flow: NULL argument");
    enum gaze_status s = analysis_check_square(run, "flow");
    if (s) return s;
    const int64_t T = run->T, L = run->n_cap_layers;
    if (token < 0 || token >= T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "flow: output token %lld outside 0..%lld", (long long)token, (long long)(T - 1));
    size_t cap_bytes, work_bytes = analysis_flow_work_bytes(L, T);
    if (gaze_mul_ovf((size_t)L * (size_t)T, (size_t)T * sizeof(double), &cap_bytes) || (int64_t)((L + 1) * T) > INT32_MAX)
        return gaze_error(GAZE_ERR_LIMIT, "flow: %lld layers x %lld tokens is too large", (long long)L, (long long)T);
    double * cap = gaze_alloc_aligned(cap_bytes);
    if (!cap) return gaze_error(GAZE_ERR_NOMEM, "flow: out of memory");
    for (int64_t l = 0; l < L; l++)
        if ((s = gaze_rollout_layer(run, l, opts, cap + l * T * T))) { gaze_free_aligned(cap); return s; }
    const int n_threads = opts && opts->n_threads > 0 ? opts->n_threads : gaze_default_threads();
    const struct gaze_progress * pr = opts ? &opts->progress : NULL;
    bool nomem = false;
    int64_t n_done = 0;
    gaze_progress_report(pr, 0, T, "max-flows");
    #pragma omp parallel num_threads(n_threads)
    {
        void * work = gaze_alloc_aligned(work_bytes);
        if (!work) {
            #pragma omp atomic write
            nomem = true;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int64_t j = 0; j < T; j++) {
            out[j] = work ? analysis_layered_max_flow(cap, L, T, token, j, work) : 0;
            int64_t d;
            #pragma omp atomic capture
            d = ++n_done;
            // the callback runs on the calling thread only (thread 0 of the team), never at once
            if (omp_get_thread_num() == 0) gaze_progress_report(pr, d, T, "max-flows");
        }
        gaze_free_aligned(work);
    }
    gaze_free_aligned(cap);
    if (nomem) return gaze_error(GAZE_ERR_NOMEM, "flow: out of memory for the flow graph");
    gaze_progress_report(pr, T, T, "max-flows");
    double sum = 0;
    for (int64_t j = 0; j < T; j++) sum += out[j];
    if (sum > 0) for (int64_t j = 0; j < T; j++) out[j] /= sum;
    return GAZE_OK;
}
