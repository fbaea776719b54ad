// Per-item scores of gaze evaluate (the part files of `gaze evaluate --shard i/n -o PART.json`,
// joined by gaze merge, continued by --resume). The file carries every item's scores, not the
// means, so that the merge recomputes the means and bootstrap intervals from the union of the
// items exactly as one unsharded run does. Which item belongs to which shard follows from the
// run's item order (gaze_eval_order): the loader checks every item against it.
#include "analysis/analysis.h"
#include "formats/json.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PART_FORMAT  "gaze.evaluate"
#define PART_VERSION 1
#define PART_MAX_ITEMS ((int64_t)INT32_MAX)   // keeps step · stride below 2^62
#define PART_MAX_SHARDS 1000000
#define PART_MAX_TASKS 100000
#define PART_MAX_NAME 47                      // method names, as gaze evaluate's table holds them

static const char * const metric_names[GAZE_EVAL_METRICS] = {
    "comprehensiveness_aopc", "sufficiency_aopc", "deletion_auc", "insertion_auc", "auprc", "f1_at_k", "iou_f1",
};
const char * gaze_eval_metric_name(int k) { return k >= 0 && k < GAZE_EVAL_METRICS ? metric_names[k] : "?"; }

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) { const int64_t t = a % b; a = b; b = t; }
    return a;
}

// stride ~ n/φ, coprime to n: every prefix of step · stride mod n is spread over 0..n-1
int64_t gaze_eval_stride(int64_t n) {
    int64_t stride = n > 2 ? (int64_t)((double)n * 0.6180339887) : 1;
    while (stride > 1 && gcd64(stride, n) != 1) stride--;
    return stride;
}

int64_t gaze_eval_order(int64_t n, int64_t step) {
    return n > 0 ? (int64_t)((__int128)step * gaze_eval_stride(n) % n) : 0;
}

// the step whose item is e: e · stride⁻¹ mod n (extended Euclid)
int64_t gaze_eval_step_of(int64_t n, int64_t e) {
    if (n <= 1) return 0;
    int64_t r0 = n, r1 = gaze_eval_stride(n) % n, t0 = 0, t1 = 1;
    while (r1) {
        const int64_t q = r0 / r1, r = r0 - q * r1, t = t0 - q * t1;
        r0 = r1; r1 = r; t0 = t1; t1 = t;
    }
    if (t0 < 0) t0 += n;
    return (int64_t)((__int128)e * t0 % n);
}

int64_t gaze_eval_shard_items(int64_t n_eval, int64_t shard, int64_t n_shards) {
    if (n_shards < 1 || shard < 0 || shard >= n_shards || n_eval <= shard) return 0;
    return (n_eval - shard + n_shards - 1) / n_shards;
}

void gaze_eval_part_free(struct gaze_eval_part * p) {
    if (!p) return;
    for (int64_t i = 0; i < p->n; i++) { free(p->items[i].val); free(p->items[i].secs); }
    for (int64_t m = 0; m < p->n_methods; m++) free(p->methods ? p->methods[m] : NULL);
    for (int64_t t = 0; t < p->n_tasks; t++) free(p->tasks ? p->tasks[t] : NULL);
    free(p->items); free(p->methods); free(p->unsupported); free(p->tasks); free(p->shards);
    free(p->model); free(p->data);
    memset(p, 0, sizeof *p);
}

enum gaze_status gaze_eval_part_init(struct gaze_eval_part * p, int64_t n_methods, int64_t n_tasks, int64_t n_shards) {
    if (!p) return gaze_error(GAZE_ERR_INVALID_ARG, "evaluate part: NULL argument");
    memset(p, 0, sizeof *p);
    if (n_methods < 1 || n_methods > GAZE_EVAL_MAX_METHODS || n_tasks < 0 || n_tasks > PART_MAX_TASKS ||
        n_shards < 1 || n_shards > PART_MAX_SHARDS)
        return gaze_error(GAZE_ERR_INVALID_ARG, "evaluate part: %lld methods, %lld tasks, %lld shards outside 1..%d, 0..%d, 1..%d",
                          (long long)n_methods, (long long)n_tasks, (long long)n_shards, GAZE_EVAL_MAX_METHODS, PART_MAX_TASKS,
                          PART_MAX_SHARDS);
    p->input_size = -1;
    p->methods = calloc((size_t)n_methods, sizeof *p->methods);
    p->unsupported = calloc((size_t)n_methods, 1);
    p->tasks = calloc((size_t)n_tasks + 1, sizeof *p->tasks);
    p->shards = calloc((size_t)n_shards, 1);
    if (!p->methods || !p->unsupported || !p->tasks || !p->shards) {
        free(p->methods); free(p->unsupported); free(p->tasks); free(p->shards);
        memset(p, 0, sizeof *p);
        return gaze_error(GAZE_ERR_NOMEM, "evaluate part: out of memory");
    }
    p->n_methods = n_methods;
    p->n_tasks = n_tasks;
    p->n_shards = n_shards;
    static const double k[GAZE_FAITH_K] = GAZE_FAITH_K_FRACTIONS;
    memcpy(p->k_fractions, k, sizeof k);
    return GAZE_OK;
}

enum gaze_status gaze_eval_part_add(struct gaze_eval_part * p, const struct gaze_eval_item * it) {
    if (!p || !it || !p->methods) return gaze_error(GAZE_ERR_INVALID_ARG, "evaluate part: NULL argument");
    if (p->n == p->cap) {
        const int64_t cap = p->cap ? 2 * p->cap : 64;
        struct gaze_eval_item * g = realloc(p->items, (size_t)cap * sizeof *g);
        if (!g) return gaze_error(GAZE_ERR_NOMEM, "evaluate part: out of memory");
        p->items = g;
        p->cap = cap;
    }
    struct gaze_eval_item * x = &p->items[p->n];
    *x = *it;
    x->val = malloc((size_t)p->n_methods * GAZE_EVAL_METRICS * sizeof *x->val);
    x->secs = malloc((size_t)p->n_methods * sizeof *x->secs);
    if (!x->val || !x->secs) { free(x->val); free(x->secs); return gaze_error(GAZE_ERR_NOMEM, "evaluate part: out of memory"); }
    for (int64_t k = 0; k < p->n_methods * GAZE_EVAL_METRICS; k++) x->val[k] = it->val ? it->val[k] : NAN;
    for (int64_t m = 0; m < p->n_methods; m++) x->secs[m] = it->secs ? it->secs[m] : NAN;
    p->n++;
    return GAZE_OK;
}

static json_t * num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

enum gaze_status gaze_eval_part_save(const struct gaze_eval_part * p, const char * path) {
    if (!p || !p->methods || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "evaluate part: NULL argument to save");
    json_t * o = json_object(), * a;
    json_object_set_new(o, "format", json_string(PART_FORMAT));
    json_object_set_new(o, "version", json_integer(PART_VERSION));
    json_object_set_new(o, "model", json_string(p->model ? p->model : ""));
    json_object_set_new(o, "data", json_string(p->data ? p->data : ""));
    json_object_set_new(o, "input_size", json_integer(p->input_size));
    json_object_set_new(o, "input_hash", gaze_json_hex64(p->input_hash));
    json_object_set_new(o, "target", json_string(p->causal ? "decoder" : "encoder"));
    json_object_set_new(o, "exact", json_boolean(p->exact));
    json_object_set_new(o, "n_items", json_integer(p->n_items));
    json_object_set_new(o, "n_eval", json_integer(p->n_eval));
    json_object_set_new(o, "bootstrap", json_integer(p->n_boot));
    char h[24];
    snprintf(h, sizeof h, "%llu", (unsigned long long)p->seed);   // the full 64 bits, as text
    json_object_set_new(o, "seed", json_string(h));
    json_object_set_new(o, "k_fractions", a = json_array());
    for (int k = 0; k < GAZE_FAITH_K; k++) json_array_append_new(a, json_real(p->k_fractions[k]));
    json_object_set_new(o, "metrics", a = json_array());
    for (int k = 0; k < GAZE_EVAL_METRICS; k++) json_array_append_new(a, json_string(metric_names[k]));
    json_object_set_new(o, "methods", a = json_array());
    for (int64_t m = 0; m < p->n_methods; m++) json_array_append_new(a, json_string(p->methods[m] ? p->methods[m] : ""));
    json_object_set_new(o, "unsupported", a = json_array());
    for (int64_t m = 0; m < p->n_methods; m++) if (p->unsupported[m]) json_array_append_new(a, json_string(p->methods[m]));
    json_object_set_new(o, "tasks", a = json_array());
    for (int64_t t = 0; t < p->n_tasks; t++) json_array_append_new(a, json_string(p->tasks[t] ? p->tasks[t] : ""));
    json_object_set_new(o, "n_shards", json_integer(p->n_shards));
    json_object_set_new(o, "shards", a = json_array());
    for (int64_t i = 0; i < p->n_shards; i++) if (p->shards[i]) json_array_append_new(a, json_integer(i));
    if (p->shard_from[0]) json_object_set_new(o, "shard_from", json_string(p->shard_from));
    json_object_set_new(o, "complete", json_boolean(p->complete));
    json_object_set_new(o, "stopped_at_deadline", json_boolean(p->stopped));
    json_object_set_new(o, "items", a = json_array());
    for (int64_t i = 0; i < p->n; i++) {
        const struct gaze_eval_item * x = &p->items[i];
        json_t * it = json_object(), * v = json_array(), * sc = json_array();
        json_object_set_new(it, "e", json_integer(x->e));
        json_object_set_new(it, "line", json_integer(x->line));
        json_object_set_new(it, "task", json_integer(x->task));
        if (x->skipped) json_object_set_new(it, "skipped", json_true());
        if (x->match >= 0) json_object_set_new(it, "prediction_matches_target", json_boolean(x->match));
        for (int64_t m = 0; m < p->n_methods; m++) {
            json_t * row = json_array();
            const double * r = x->val + m * GAZE_EVAL_METRICS;
            bool any = false;
            for (int k = 0; k < GAZE_EVAL_METRICS; k++) any |= !isnan(r[k]);
            for (int k = 0; k < GAZE_EVAL_METRICS && any; k++) json_array_append_new(row, num_or_null(r[k]));
            json_array_append_new(v, any ? row : json_null());
            if (!any) json_decref(row);
            json_array_append_new(sc, num_or_null(x->secs[m]));
        }
        json_object_set_new(it, "scores", v);     // [methods][metrics]; null: not measured
        json_object_set_new(it, "seconds", sc);
        json_array_append_new(a, it);
    }
    return gaze_json_save_file(o, path);   // the scores come back bit for bit, so a merge equals one run
}

static int cmp_item(const void * a, const void * b) {
    const int64_t x = ((const struct gaze_eval_item *)a)->e, y = ((const struct gaze_eval_item *)b)->e;
    return (x > y) - (x < y);
}

// the n strings of array a, distinct, without NUL, min_len..max_len bytes, into out (strdup'd)
static enum gaze_status read_names(json_t * a, const char * key, const char * label, int64_t n, size_t min_len,
                                   size_t max_len, char ** out) {
    for (int64_t i = 0; i < n; i++) {
        json_t * v = json_array_get(a, (size_t)i);
        if (!json_is_string(v) || json_string_length(v) < min_len || json_string_length(v) > max_len ||
            strlen(json_string_value(v)) != json_string_length(v))
            return max_len == SIZE_MAX ? gaze_error(GAZE_ERR_FORMAT, "%s: field %s[%lld]: expected a string without NUL", label, key, (long long)i)
                                       : gaze_error(GAZE_ERR_FORMAT, "%s: field %s[%lld]: expected a name of %zu..%zu bytes without NUL",
                                                    label, key, (long long)i, min_len, max_len);
        for (int64_t j = 0; j < i; j++)
            if (!strcmp(out[j], json_string_value(v)))
                return gaze_error(GAZE_ERR_FORMAT, "%s: field %s[%lld]: a name given twice", label, key, (long long)i);
        if (!(out[i] = strdup(json_string_value(v)))) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    }
    return GAZE_OK;
}

static enum gaze_status read_item(struct gaze_eval_part * p, json_t * it, size_t i, const char * label) {
    char where[64];
    snprintf(where, sizeof where, "%s: items[%zu]", label, i);
    if (!json_is_object(it)) return gaze_error(GAZE_ERR_FORMAT, "%s: not an object", where);
    struct gaze_eval_item x = { .match = -1 };
    bool skipped = false, match = false;
    json_t * m, * scores, * secs;
    enum gaze_status s;
    if ((s = gaze_json_get_int_range(it, "e", where, 0, p->n_eval - 1, &x.e)) ||
        (s = gaze_json_get_int_range(it, "line", where, 1, INT64_MAX, &x.line)) ||
        (s = gaze_json_get_int_range(it, "task", where, 0, p->n_tasks - 1, &x.task)) ||
        (s = gaze_json_opt_bool(it, "skipped", where, false, &skipped)) ||
        (s = gaze_json_get_array(it, "scores", where, &scores)) || (s = gaze_json_get_array(it, "seconds", where, &secs)))
        return s;
    if ((m = json_object_get(it, "prediction_matches_target")) && !json_is_null(m)) {
        if ((s = gaze_json_get_bool(it, "prediction_matches_target", where, &match))) return s;
        x.match = match;
    }
    x.skipped = skipped;
    const int64_t shard = gaze_eval_step_of(p->n_eval, x.e) % p->n_shards;
    if (!p->shards[shard])
        return gaze_error(GAZE_ERR_FORMAT, "%s: field e: item %lld belongs to shard %lld/%lld, which this file does not hold",
                          where, (long long)x.e, (long long)shard, (long long)p->n_shards);
    if ((int64_t)json_array_size(scores) != p->n_methods || (int64_t)json_array_size(secs) != p->n_methods)
        return gaze_error(GAZE_ERR_FORMAT, "%s: fields scores/seconds: %zu and %zu entries, expected one a method (%lld)", where,
                          json_array_size(scores), json_array_size(secs), (long long)p->n_methods);
    double val[GAZE_EVAL_MAX_METHODS * GAZE_EVAL_METRICS], sec[GAZE_EVAL_MAX_METHODS];
    for (int64_t k = 0; k < p->n_methods; k++) {
        json_t * r = json_array_get(scores, (size_t)k), * t = json_array_get(secs, (size_t)k);
        if (!json_is_null(r) && (!json_is_array(r) || json_array_size(r) != GAZE_EVAL_METRICS))
            return gaze_error(GAZE_ERR_FORMAT, "%s: field scores[%lld]: expected null or %d numbers (or nulls)", where,
                              (long long)k, GAZE_EVAL_METRICS);
        for (int q = 0; q < GAZE_EVAL_METRICS; q++) {
            json_t * v = json_array_get(r, (size_t)q);   // NULL for a null row
            if (v && !json_is_null(v) && !json_is_number(v))
                return gaze_error(GAZE_ERR_FORMAT, "%s: field scores[%lld][%d]: expected a number or null, got %s", where,
                                  (long long)k, q, gaze_json_type_name(v));
            val[k * GAZE_EVAL_METRICS + q] = v && !json_is_null(v) ? json_number_value(v) : NAN;
        }
        if (!json_is_null(t) && (!json_is_number(t) || !(json_number_value(t) >= 0)))
            return gaze_error(GAZE_ERR_FORMAT, "%s: field seconds[%lld]: expected a number >= 0 or null", where, (long long)k);
        sec[k] = json_is_null(t) ? NAN : json_number_value(t);
    }
    x.val = val;
    x.secs = sec;
    return gaze_eval_part_add(p, &x);
}

// The loaded document o into p (o is released).
static enum gaze_status parse_doc(struct gaze_eval_part * p, json_t * o, const char * label) {
    enum gaze_status s;
    const char * fmt, * model, * data, * hash, * target, * seed, * from;
    json_t * methods, * unsup, * tasks, * shards, * items, * kf, * metrics;
    int64_t version, n_shards;
    if ((s = gaze_json_get_string(o, "format", label, &fmt))) goto fail;
    if (strcmp(fmt, PART_FORMAT)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field format: expected \"%s\" (a gaze evaluate -o file)", label, PART_FORMAT);
        goto fail;
    }
    if ((s = gaze_json_get_int_range(o, "version", label, PART_VERSION, PART_VERSION, &version)) ||
        (s = gaze_json_get_array(o, "methods", label, &methods)) || (s = gaze_json_get_array(o, "tasks", label, &tasks)) ||
        (s = gaze_json_get_int_range(o, "n_shards", label, 1, PART_MAX_SHARDS, &n_shards)))
        goto fail;
    if (json_array_size(methods) < 1 || json_array_size(methods) > GAZE_EVAL_MAX_METHODS || json_array_size(tasks) > PART_MAX_TASKS) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: fields methods/tasks: %zu methods (1..%d), %zu tasks (at most %d)", label,
                       json_array_size(methods), GAZE_EVAL_MAX_METHODS, json_array_size(tasks), PART_MAX_TASKS);
        goto fail;
    }
    if ((s = gaze_eval_part_init(p, (int64_t)json_array_size(methods), (int64_t)json_array_size(tasks), n_shards))) goto fail;
    // task names are the data's ("" included); method names are gaze's own
    if ((s = read_names(methods, "methods", label, p->n_methods, 1, PART_MAX_NAME, p->methods)) ||
        (s = read_names(tasks, "tasks", label, p->n_tasks, 0, SIZE_MAX, p->tasks)))
        goto fail;
    int64_t boot;
    if ((s = gaze_json_get_string(o, "model", label, &model)) || (s = gaze_json_get_string(o, "data", label, &data)) ||
        (s = gaze_json_get_int_range(o, "input_size", label, 0, INT64_MAX, &p->input_size)) ||
        (s = gaze_json_get_string(o, "input_hash", label, &hash)) || (s = gaze_json_get_string(o, "target", label, &target)) ||
        (s = gaze_json_get_bool(o, "exact", label, &p->exact)) ||
        (s = gaze_json_get_int_range(o, "n_items", label, 1, PART_MAX_ITEMS, &p->n_items)) ||
        (s = gaze_json_get_int_range(o, "n_eval", label, 1, p->n_items, &p->n_eval)) ||
        (s = gaze_json_get_int_range(o, "bootstrap", label, 10, 1000000, &boot)) ||
        (s = gaze_json_get_string(o, "seed", label, &seed)) || (s = gaze_json_opt_string(o, "shard_from", label, "", &from)) ||
        (s = gaze_json_get_bool(o, "complete", label, &p->complete)) ||
        (s = gaze_json_opt_bool(o, "stopped_at_deadline", label, false, &p->stopped)) ||
        (s = gaze_json_get_array(o, "k_fractions", label, &kf)) || (s = gaze_json_get_array(o, "metrics", label, &metrics)) ||
        (s = gaze_json_get_array(o, "unsupported", label, &unsup)) || (s = gaze_json_get_array(o, "shards", label, &shards)) ||
        (s = gaze_json_get_array(o, "items", label, &items)))
        goto fail;
    p->n_boot = boot;
    char * e = NULL;
    if ((s = gaze_json_parse_hex64(hash, label, "input_hash", &p->input_hash))) goto fail;
    p->seed = strtoull(seed, &e, 10);
    if (!*seed || *e || strspn(seed, "0123456789") != strlen(seed) || strlen(seed) > 20) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field seed: expected an unsigned decimal integer as a string", label);
        goto fail;
    }
    if (strcmp(target, "decoder") && strcmp(target, "encoder")) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field target: expected \"decoder\" or \"encoder\"", label);
        goto fail;
    }
    p->causal = !strcmp(target, "decoder");
    if (strlen(from) >= sizeof p->shard_from) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field shard_from: too long", label); goto fail; }
    snprintf(p->shard_from, sizeof p->shard_from, "%s", from);
    if (json_array_size(kf) != GAZE_FAITH_K) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field k_fractions: %zu entries, expected %d", label, json_array_size(kf), GAZE_FAITH_K);
        goto fail;
    }
    for (int k = 0; k < GAZE_FAITH_K; k++) {
        json_t * v = json_array_get(kf, (size_t)k);
        if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) < 1)) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: field k_fractions[%d]: expected a fraction in (0, 1)", label, k);
            goto fail;
        }
        p->k_fractions[k] = json_number_value(v);
    }
    for (int k = 0; k < GAZE_EVAL_METRICS; k++)
        if (json_array_size(metrics) != GAZE_EVAL_METRICS || !json_is_string(json_array_get(metrics, (size_t)k)) ||
            strcmp(json_string_value(json_array_get(metrics, (size_t)k)), metric_names[k])) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: field metrics[%d]: expected \"%s\" (%d metrics in this order)", label, k,
                           metric_names[k], GAZE_EVAL_METRICS);
            goto fail;
        }
    for (size_t i = 0; i < json_array_size(unsup); i++) {
        json_t * v = json_array_get(unsup, i);
        int64_t m = 0;
        while (m < p->n_methods && !(json_is_string(v) && !strcmp(p->methods[m], json_string_value(v)))) m++;
        if (m == p->n_methods) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field unsupported[%zu]: not one of the methods", label, i); goto fail; }
        p->unsupported[m] = 1;
    }
    if (!json_array_size(shards)) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field shards: empty (no shard held)", label); goto fail; }
    int64_t expect = 0;
    for (size_t i = 0; i < json_array_size(shards); i++) {
        json_t * v = json_array_get(shards, i);
        const int64_t k = json_is_integer(v) ? json_integer_value(v) : -1;
        if (k < 0 || k >= n_shards || p->shards[k]) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: field shards[%zu]: not a shard index in 0..%lld (or given twice)", label, i,
                           (long long)(n_shards - 1));
            goto fail;
        }
        p->shards[k] = 1;
        expect += gaze_eval_shard_items(p->n_eval, k, n_shards);
    }
    if ((int64_t)json_array_size(items) > expect) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field items: %zu items, the shards held have %lld", label, json_array_size(items),
                       (long long)expect);
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(items); i++)
        if ((s = read_item(p, json_array_get(items, i), i, label))) goto fail;
    qsort(p->items, (size_t)p->n, sizeof *p->items, cmp_item);
    for (int64_t i = 1; i < p->n; i++)
        if (p->items[i].e == p->items[i - 1].e) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: field items: item %lld given twice", label, (long long)p->items[i].e);
            goto fail;
        }
    if (p->complete && p->n != expect) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field complete: true, but %lld of the shards' %lld items are present", label,
                       (long long)p->n, (long long)expect);
        goto fail;
    }
    if (!(p->model = strdup(model)) || !(p->data = strdup(data))) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); goto fail; }
    json_decref(o);
    return GAZE_OK;
fail:
    json_decref(o);
    gaze_eval_part_free(p);
    return s;
}

enum gaze_status gaze_eval_part_parse(struct gaze_eval_part * p, const char * buf, size_t len, const char * label) {
    if (!p || (!buf && len) || !label) return gaze_error(GAZE_ERR_INVALID_ARG, "evaluate part: NULL argument");
    memset(p, 0, sizeof *p);
    json_t * o = NULL;
    enum gaze_status s = gaze_json_load_buffer(&o, buf ? buf : "", len, label, 0, 0);
    return s ? s : parse_doc(p, o, label);
}

enum gaze_status gaze_eval_part_load(struct gaze_eval_part * p, const char * path) {
    if (!p || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "evaluate part: NULL argument to load");
    memset(p, 0, sizeof *p);
    json_t * o = NULL;
    enum gaze_status s = gaze_json_load_file(&o, path, 0, 0);
    return s ? s : parse_doc(p, o, path);
}

const char * gaze_eval_part_differs(const struct gaze_eval_part * a, const struct gaze_eval_part * b) {
    if (!a || !b) return "argument";
    if (strcmp(a->model ? a->model : "", b->model ? b->model : "")) return "model";
    if (a->input_size != b->input_size || a->input_hash != b->input_hash || a->n_items != b->n_items) return "data (input_size/input_hash)";
    if (a->causal != b->causal) return "target";
    if (a->exact != b->exact) return "exact";
    if (a->n_eval != b->n_eval) return "n_eval (--limit)";
    if (a->n_boot != b->n_boot) return "bootstrap";
    if (a->seed != b->seed) return "seed";
    if (memcmp(a->k_fractions, b->k_fractions, sizeof a->k_fractions)) return "k_fractions";
    if (a->n_methods != b->n_methods) return "methods";
    for (int64_t m = 0; m < a->n_methods; m++) if (strcmp(a->methods[m], b->methods[m])) return "methods";
    if (a->n_tasks != b->n_tasks) return "tasks";
    for (int64_t t = 0; t < a->n_tasks; t++) if (strcmp(a->tasks[t], b->tasks[t])) return "tasks";
    if (a->n_shards != b->n_shards) return "n_shards";
    return NULL;
}

enum gaze_status gaze_eval_part_merge(struct gaze_eval_part * into, const struct gaze_eval_part * from) {
    if (!into || !from || !into->methods || !from->methods) return gaze_error(GAZE_ERR_INVALID_ARG, "merge: NULL part");
    const char * d = gaze_eval_part_differs(into, from);
    if (d) return gaze_error(GAZE_ERR_INVALID_ARG, "merge: different %s", d);
    for (int64_t i = 0; i < into->n_shards; i++)
        if (into->shards[i] && from->shards[i])
            return gaze_error(GAZE_ERR_INVALID_ARG, "merge: shard %lld/%lld is in both (it would count twice)", (long long)i,
                              (long long)into->n_shards);
    const int64_t n0 = into->n;
    for (int64_t i = 0; i < from->n; i++) {
        enum gaze_status s = gaze_eval_part_add(into, &from->items[i]);
        if (s) {   // leave into as it was
            while (into->n > n0) { into->n--; free(into->items[into->n].val); free(into->items[into->n].secs); }
            return s;
        }
    }
    for (int64_t i = 0; i < into->n_shards; i++) into->shards[i] |= from->shards[i];
    for (int64_t m = 0; m < into->n_methods; m++) into->unsupported[m] |= from->unsupported[m];
    into->complete = into->complete && from->complete;
    into->stopped = into->stopped || from->stopped;
    if (strcmp(into->shard_from, from->shard_from)) into->shard_from[0] = '\0';
    qsort(into->items, (size_t)into->n, sizeof *into->items, cmp_item);
    return GAZE_OK;
}
