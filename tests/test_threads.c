// One model shared by several threads (gaze.h: the contract next to gaze_model_run): every
// family, inputs of different lengths run at once on each model, and every result equal bit
// for bit to the same input run alone. Runs on 1 OpenMP thread each, so the test is about the
// model's own state, and so ThreadSanitizer (make tsan) sees only gaze's threads.
#include "check.h"
#include "gaze.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 4
// Under ThreadSanitizer (make tsan, ~10x slower) one round is enough for it to see every
// access pair; the plain build repeats, to catch wrong results by chance as well.
#if defined(__SANITIZE_THREAD__)
#define ROUNDS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ROUNDS 1
#endif
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

struct job {
    struct gaze_model *       model;
    const char * const *      texts;
    int                       n_texts;
    const struct gaze_run *   expect;   // [n_texts] sequential runs
    const struct gaze_run_opts * opts;
    int                       first;    // this thread's first text (each thread its own order)
    int                       runs, failed, differ;
    char                      why[256];
};

// Bit-for-bit equality of what a run computed: tokens, every captured array, the embedding.
static bool same_run(const struct gaze_run * a, const struct gaze_run * b, char * why, size_t n) {
    if (a->T != b->T || a->n_cap_layers != b->n_cap_layers || a->n_heads_cap != b->n_heads_cap) {
        snprintf(why, n, "shape T %lld/%lld", (long long)a->T, (long long)b->T);
        return false;
    }
    const int64_t T = a->T, H = a->n_heads_cap;
    if (memcmp(a->token_ids, b->token_ids, (size_t)T * sizeof *a->token_ids)) {
        snprintf(why, n, "token ids differ (T = %lld)", (long long)T);
        return false;
    }
    for (int64_t l = 0; l < a->n_cap_layers; l++) {
        const float * x = a->layers[l].attn, * y = b->layers[l].attn;
        if (!x || !y || memcmp(x, y, (size_t)(H * T * T) * sizeof *x)) {
            snprintf(why, n, "attention of layer %lld differs (T = %lld)", (long long)a->layers[l].index, (long long)T);
            return false;
        }
    }
    if ((a->embedding != NULL) != (b->embedding != NULL) ||
        (a->embedding && memcmp(a->embedding, b->embedding, (size_t)a->n_embd * sizeof(float)))) {
        snprintf(why, n, "embedding differs (T = %lld)", (long long)T);
        return false;
    }
    return true;
}

static void * worker(void * p) {
    struct job * j = p;
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < j->n_texts; k++) {
            const int i = (j->first + k) % j->n_texts;
            struct gaze_run run;
            if (gaze_model_run(j->model, j->texts[i], NULL, j->opts, &run)) {
                if (!j->failed++) snprintf(j->why, sizeof j->why, "run failed: %s", gaze_last_error());
                continue;
            }
            j->runs++;
            char why[200];
            if (gaze_run_check(&run, "thread") != GAZE_OK) {
                if (!j->differ++) snprintf(j->why, sizeof j->why, "gaze_run_check: %s", gaze_last_error());
            } else if (!same_run(&run, &j->expect[i], why, sizeof why)) {
                if (!j->differ++) snprintf(j->why, sizeof j->why, "text %d: %s", i, why);
            }
            gaze_run_free(&run);
        }
    return NULL;
}

static void check_model(const char * name, const char * const * texts, int n_texts, const struct gaze_run_opts * o) {
    struct gaze_model * m;
    if (gaze_model_load(&m, name)) {
        CHECK(0, "load %s: %s (run scripts/fetch-test-models)", name, gaze_last_error());
        return;
    }
    struct gaze_run * expect = calloc((size_t)n_texts, sizeof *expect);
    for (int i = 0; i < n_texts; i++) {
        enum gaze_status s = gaze_model_run(m, texts[i], NULL, o, &expect[i]);
        CHECK(s == GAZE_OK, "%s: sequential run %d: %s", name, i, gaze_last_error());
        if (s) { for (int k = 0; k < i; k++) gaze_run_free(&expect[k]); free(expect); gaze_model_free(m); return; }
        printf("%s: text %d: %lld tokens\n", name, i, (long long)expect[i].T);
    }
    struct job jobs[N_THREADS];
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        jobs[t] = (struct job){ m, texts, n_texts, expect, o, t % n_texts, 0, 0, 0, "" };
        CHECK(pthread_create(&th[t], NULL, worker, &jobs[t]) == 0, "pthread_create");
    }
    for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < N_THREADS; t++) {
        CHECK(jobs[t].failed == 0 && jobs[t].differ == 0, "%s: thread %d: %d failed, %d differ from the sequential run: %s",
              name, t, jobs[t].failed, jobs[t].differ, jobs[t].why);
        CHECK(jobs[t].runs == ROUNDS * n_texts, "%s: thread %d ran %d of %d", name, t, jobs[t].runs, ROUNDS * n_texts);
    }
    // the error message is per thread: one thread's failure does not show in another's
    struct gaze_run bad;
    const int64_t layer = 999;
    struct gaze_run_opts ob = *o;
    ob.layers = &layer;
    ob.n_layers = 1;
    CHECK(gaze_model_run(m, texts[0], NULL, &ob, &bad) == GAZE_ERR_INVALID_ARG, "%s: layer 999 accepted", name);
    for (int i = 0; i < n_texts; i++) gaze_run_free(&expect[i]);
    free(expect);
    gaze_model_free(m);
}

struct err_job { int id; int wrong; };

// Each thread fails on its own path and must read back its own message, never the other's.
static void * err_worker(void * p) {
    struct err_job * j = p;
    char path[64];
    snprintf(path, sizeof path, "/nonexistent/gaze-thread-%d", j->id);
    for (int i = 0; i < 2000; i++) {
        struct gaze_model * m;
        if (gaze_model_load(&m, path) == GAZE_OK) { gaze_model_free(m); j->wrong++; continue; }
        j->wrong += strstr(gaze_last_error(), path) == NULL;
    }
    return NULL;
}

int main(void) {
    char * long_text = malloc(4096);
    long_text[0] = 0;
    for (int i = 0; i < 14; i++)
        strcat(long_text, "The quick brown fox jumps over the lazy dog near the quiet river bank. ");
    const char * bert_texts[] = {
        "Hi.",
        "The cat sat on the mat because it was tired.",
        "Attention maps show which tokens each head reads when it builds a representation of the sentence.",
        long_text,
    };
    struct gaze_run_opts ob = { 0 };
    ob.n_threads = 1;
    check_model("minilm", bert_texts, 4, &ob);

    const char * llama_texts[] = {
        "Hello",
        "Once upon a time, in a small village,",
        "The history of the printing press begins with movable type, which spread across Europe in a few decades and",
    };
    const int64_t layers[3] = { 0, 14, 29 };
    struct gaze_run_opts ol = { 0 };
    ol.n_threads = 1;
    ol.layers = layers;
    ol.n_layers = 3;
    ol.generate = 2;
    check_model("smollm2", llama_texts, 3, &ol);

    // errors stay on their thread
    struct err_job ej[2] = { { 0, 0 }, { 1, 0 } };
    pthread_t th[2];
    for (int t = 0; t < 2; t++) pthread_create(&th[t], NULL, err_worker, &ej[t]);
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    CHECK(ej[0].wrong == 0 && ej[1].wrong == 0, "gaze_last_error showed another thread's message %d + %d times",
          ej[0].wrong, ej[1].wrong);
    free(long_text);
    return check_summary("test_threads");
}
