// Attention summaries in run files (docs/runfile.md, "Summaries"): the one allocation a
// layer's summary lives in, its checks, and its tensors `summary.<field>.L` on save and load.
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <string.h>

// Field order of the tensors; top_keys (I32) is the only integer one.
enum { F_ENTROPY, F_SINK, F_LOCAL, F_TOP_KEYS, F_TOP_WEIGHTS, F_BLOCK_SUM, F_BLOCK_MAX, N_FIELDS };
static const char * const g_field[N_FIELDS] = {
    "entropy", "sink", "local", "top_keys", "top_weights", "block_sum", "block_max",
};

static void * field_ptr(const struct gaze_attn_summary * s, int f) {
    switch (f) {
        case F_ENTROPY:     return s->entropy;
        case F_SINK:        return s->sink;
        case F_LOCAL:       return s->local;
        case F_TOP_KEYS:    return s->top_keys;
        case F_TOP_WEIGHTS: return s->top_weights;
        case F_BLOCK_SUM:   return s->block_sum;
        default:            return s->block_max;
    }
}

static int field_shape(const struct gaze_attn_summary * s, int f, int64_t dims[3]) {
    const int64_t nb = (s->n_rows + s->block - 1) / s->block, nk = (s->n_keys + s->block - 1) / s->block;
    dims[0] = s->n_heads;
    dims[1] = f >= F_BLOCK_SUM ? nb : s->n_rows;
    dims[2] = f >= F_BLOCK_SUM ? nk : s->top_k;
    return f <= F_LOCAL ? 2 : 3;
}

static int64_t field_elems(const struct gaze_attn_summary * s, int f) {
    int64_t dims[3];
    int rank = field_shape(s, f, dims);
    return rank == 2 ? dims[0] * dims[1] : dims[0] * dims[1] * dims[2];
}

bool run_summary_params_ok(int64_t k, int64_t block, int64_t window) {
    return k >= 1 && k <= 256 && block >= 1 && block <= 64 && !(block & (block - 1)) && window >= 1;
}

enum gaze_status run_summary_alloc(struct gaze_attn_summary * s, int32_t k, int32_t block, int32_t window,
                                   int64_t n_heads, int64_t n) {
    memset(s, 0, sizeof *s);
    if (!run_summary_params_ok(k, block, window) || n_heads < 1 || n < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "summary: top_k %d (1..256), block %d (power of two 1..64), "
                          "window %d (>= 1), heads %lld, rows %lld", (int)k, (int)block, (int)window,
                          (long long)n_heads, (long long)n);
    *s = (struct gaze_attn_summary){ .top_k = k, .block = block, .window = window, .n_heads = n_heads,
                                     .n_rows = n, .n_keys = n };
    // one block, each field 64-byte aligned (4-byte elements: round counts up to 16)
    size_t total = 0, off[N_FIELDS];
    for (int f = 0; f < N_FIELDS; f++) {
        off[f] = total;
        total += ((size_t)field_elems(s, f) + 15) / 16 * 16 * 4;
    }
    char * base = gaze_alloc_aligned(total);
    if (!base) { memset(s, 0, sizeof *s); return gaze_error(GAZE_ERR_NOMEM, "summary: out of memory (%zu bytes)", total); }
    memset(base, 0, total);
    s->entropy = (float *)(base + off[F_ENTROPY]);
    s->sink = (float *)(base + off[F_SINK]);
    s->local = (float *)(base + off[F_LOCAL]);
    s->top_keys = (int32_t *)(base + off[F_TOP_KEYS]);
    s->top_weights = (float *)(base + off[F_TOP_WEIGHTS]);
    s->block_sum = (float *)(base + off[F_BLOCK_SUM]);
    s->block_max = (float *)(base + off[F_BLOCK_MAX]);
    return GAZE_OK;
}

void run_summary_free(struct gaze_attn_summary * s) {
    gaze_free_aligned(s->entropy);   // the block's base
    memset(s, 0, sizeof *s);
}

size_t run_summary_bytes(int64_t k, int64_t block, int64_t n_heads, int64_t n) {
    const size_t nb = (size_t)((n + block - 1) / block);
    return (size_t)n_heads * ((size_t)n * (3 + 2 * (size_t)k) + 2 * nb * nb) * 4;
}

void run_summary_shrink(struct gaze_attn_summary * s, int64_t n) {
    if (!s->entropy || n >= s->n_rows) return;
    struct gaze_attn_summary t = *s;
    t.n_rows = t.n_keys = n;
    // every destination lies at or before its source: memmove head by head, row by row
    for (int f = 0; f < N_FIELDS; f++) {
        int64_t od[3], nd[3];
        const int rank = field_shape(s, f, od);
        field_shape(&t, f, nd);
        char * a = field_ptr(s, f);
        const int64_t inner_o = rank == 2 ? 1 : od[2], inner_n = rank == 2 ? 1 : nd[2];
        for (int64_t h = 0; h < od[0]; h++)
            for (int64_t r = 0; r < nd[1]; r++)
                memmove(a + ((h * nd[1] + r) * inner_n) * 4, a + ((h * od[1] + r) * inner_o) * 4, (size_t)inner_n * 4);
    }
    s->n_rows = s->n_keys = n;
}

enum gaze_status run_summary_check(const struct gaze_run * run, const struct gaze_run_layer * l, const char * label) {
    const struct gaze_attn_summary * s = &l->summary;
    const long long L = (long long)l->index;
    if (!run_summary_params_ok(s->top_k, s->block, s->window) || s->n_heads != run->n_heads_cap ||
        s->n_rows != run->T || s->n_keys != run->T)
        return gaze_error(GAZE_ERR_FORMAT, "%s: summary of layer %lld: top_k %d, block %d, window %d, %lld heads, "
                          "%lld rows, %lld keys (want 1..256, a power of two 1..64, >= 1, %lld heads, T = %lld)",
                          label, L, (int)s->top_k, (int)s->block, (int)s->window, (long long)s->n_heads,
                          (long long)s->n_rows, (long long)s->n_keys, (long long)run->n_heads_cap, (long long)run->T);
    const int64_t T = run->T, k = s->top_k, b = s->block, nb = (T + b - 1) / b;
    const double tol = 1e-3;
    for (int64_t h = 0; h < s->n_heads; h++)
        for (int64_t i = 0; i < T; i++) {
            const int64_t row = h * T + i;
            const float e = s->entropy[row], sk = s->sink[row], lc = s->local[row];
            if (!(e >= -tol && e <= log((double)T) + tol) || !(sk >= 0 && sk <= 1 + tol) || !(lc >= 0 && lc <= 1 + tol))
                return gaze_error(GAZE_ERR_FORMAT, "%s: summary.*.%lld [head %lld, row %lld]: entropy %g (0..ln T), "
                                  "sink %g, local %g (0..1)", label, L, (long long)h, (long long)i, (double)e,
                                  (double)sk, (double)lc);
            float prev = 1.0f;
            bool ended = false;
            for (int64_t r = 0; r < k; r++) {
                const int32_t j = s->top_keys[row * k + r];
                const float w = s->top_weights[row * k + r];
                const bool bad_key = j < -1 || j >= T || (j >= 0 && ended) || (run->causal && j > i);
                if (bad_key || !(w >= 0 && w <= prev) || (j < 0 && w != 0))
                    return gaze_error(GAZE_ERR_FORMAT, "%s: summary.top_keys.%lld [head %lld, row %lld, rank %lld]: "
                                      "key %d weight %g (keys in -1..T-1%s, -1 only at the end with weight 0, "
                                      "weights in [0, 1] not increasing)", label, L, (long long)h, (long long)i,
                                      (long long)r, (int)j, (double)w, run->causal ? ", none after the row" : "");
                ended |= j < 0;
                prev = w;
            }
        }
    for (int64_t x = 0; x < s->n_heads * nb * nb; x++) {
        const int64_t br = (x / nb) % nb, bc = x % nb;
        const double cells = (double)(GAZE_MIN(b, T - br * b) * GAZE_MIN(b, T - bc * b));
        const float sm = s->block_sum[x], mx = s->block_max[x];
        if (!(sm >= 0 && sm <= GAZE_MIN(b, T - br * b) + tol) || !(mx >= 0 && mx <= 1 + tol) || mx > sm + tol ||
            (double)mx * cells < sm - tol)
            return gaze_error(GAZE_ERR_FORMAT, "%s: summary.block_sum.%lld [head %lld, block %lld, %lld]: sum %g, "
                              "max %g (0 <= max <= sum <= rows in the block, sum <= max x cells)", label, L,
                              (long long)(x / (nb * nb)), (long long)br, (long long)bc, (double)sm, (double)mx);
    }
    return GAZE_OK;
}

enum gaze_status run_summary_save_meta(const struct gaze_run * run, struct gaze_st_writer * w) {
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        const struct gaze_attn_summary * s = &run->layers[li].summary;
        if (!s->entropy) continue;
        char buf[96];
        snprintf(buf, sizeof buf, "{\"top_k\":%d,\"block\":%d,\"window\":%d}", (int)s->top_k, (int)s->block, (int)s->window);
        return gaze_st_writer_set_metadata(w, "gaze.summary", buf);
    }
    return GAZE_OK;
}

// floats: the F32 tensors (written first, 4-byte aligned), else top_keys (I32).
enum gaze_status run_summary_save(const struct gaze_run * run, struct gaze_st_writer * w, bool floats) {
    enum gaze_status st = GAZE_OK;
    for (int f = 0; f < N_FIELDS && st == GAZE_OK; f++) {
        if ((f == F_TOP_KEYS) == floats) continue;
        for (int64_t li = 0; li < run->n_cap_layers && st == GAZE_OK; li++) {
            const struct gaze_attn_summary * s = &run->layers[li].summary;
            if (!s->entropy) continue;
            char name[64];
            snprintf(name, sizeof name, "summary.%s.%lld", g_field[f], (long long)run->layers[li].index);
            int64_t dims[3];
            int rank = field_shape(s, f, dims);
            st = gaze_st_writer_add_ref(w, name, f == F_TOP_KEYS ? GAZE_DTYPE_I32 : GAZE_DTYPE_F32, rank, dims,
                                        field_ptr(s, f));
        }
    }
    return st;
}

bool run_summary_tensor(const char * name, int64_t * layer) {
    if (strncmp(name, "summary.", 8)) return false;
    for (int f = 0; f < N_FIELDS; f++) {
        const size_t n = strlen(g_field[f]);
        if (strncmp(name + 8, g_field[f], n) || name[8 + n] != '.') continue;
        const char * d = name + 9 + n;
        if (!*d || strlen(d) > 9 || (d[0] == '0' && d[1])) return false;
        int64_t x = 0;
        for (const char * c = d; *c; c++) {
            if (*c < '0' || *c > '9') return false;
            x = x * 10 + (*c - '0');
        }
        *layer = x;
        return true;
    }
    return false;
}

// gaze.summary: {"top_k": k, "block": b, "window": w}
static enum gaze_status parse_params(const struct gaze_safetensors * st, const char * path, int64_t p[3]) {
    const char * v = gaze_safetensors_metadata(st, "gaze.summary");
    if (!v) return gaze_error(GAZE_ERR_FORMAT, "%s: summary tensors but no metadata gaze.summary", path);
    json_error_t err;
    json_t * o = json_loads(v, 0, &err);
    static const char * const keys[3] = { "top_k", "block", "window" };
    bool ok = json_is_object(o);
    for (int i = 0; ok && i < 3; i++) {
        json_t * x = json_object_get(o, keys[i]);
        ok = json_is_integer(x);
        if (ok) p[i] = (int64_t)json_integer_value(x);
    }
    json_decref(o);
    if (!ok || !run_summary_params_ok(p[0], p[1], p[2]))
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.summary: expected {\"top_k\": 1..256, \"block\": a power "
                          "of two 1..64, \"window\": >= 1}", path);
    return GAZE_OK;
}

enum gaze_status run_summary_load(struct gaze_run * run, const struct gaze_safetensors * st, const char * path) {
    int64_t p[3] = { 0, 0, 0 };
    bool have_params = false;
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        struct gaze_run_layer * l = &run->layers[li];
        const struct gaze_st_tensor * t[N_FIELDS];
        int n_present = 0;
        for (int f = 0; f < N_FIELDS; f++) {
            char name[64];
            snprintf(name, sizeof name, "summary.%s.%lld", g_field[f], (long long)l->index);
            n_present += (t[f] = gaze_safetensors_find(st, name)) != NULL;
        }
        if (!n_present) continue;
        if (n_present != N_FIELDS)
            return gaze_error(GAZE_ERR_FORMAT, "%s: layer %lld has %d of the %d summary tensors (summary.entropy, "
                              "sink, local, top_keys, top_weights, block_sum, block_max)", path,
                              (long long)l->index, n_present, N_FIELDS);
        enum gaze_status s;
        if (!have_params && (s = parse_params(st, path, p))) return s;
        have_params = true;
        if ((s = run_summary_alloc(&l->summary, (int32_t)p[0], (int32_t)p[1], (int32_t)p[2], run->n_heads_cap, run->T)))
            return s;
        for (int f = 0; f < N_FIELDS; f++) {
            int64_t dims[3];
            const int rank = field_shape(&l->summary, f, dims);
            bool ok = t[f]->n_dims == rank;
            for (int i = 0; ok && i < rank; i++) ok = t[f]->shape[i] == dims[i];
            const enum gaze_dtype want = f == F_TOP_KEYS ? GAZE_DTYPE_I32 : GAZE_DTYPE_F32;
            if (!ok || t[f]->dtype != want) {
                char shape[80];
                int n = snprintf(shape, sizeof shape, "[%lld, %lld", (long long)dims[0], (long long)dims[1]);
                snprintf(shape + n, sizeof shape - (size_t)n, rank == 3 ? ", %lld]" : "]", (long long)dims[2]);
                return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: expected %s %s from gaze.summary, gaze.heads and "
                                  "the tokens", path, t[f]->name, gaze_dtype_name(want), shape);
            }
            memcpy(field_ptr(&l->summary, f), t[f]->data, t[f]->n_bytes);   // the mapping may be unaligned
        }
    }
    return GAZE_OK;
}
