// Run files: save/load round trips (f32 and f16), the metadata other tools read, the builder
// API, and hostile run files (valid safetensors, one run field wrong each) that the loader
// must reject with a message naming the field.
#include "check.h"
#include "formats/json.h"
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];
static uint64_t g_rng = 77;

static bool contains(const char * hay, const char * needle) { return strstr(hay, needle) != NULL; }
static double urand(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

#define T_TOK 7
static const char * const g_tokens[T_TOK] = {
    "<s>", "Hi", ",", " w\xc3\xb6", "rld", "\xe2\x82" /* partial UTF-8 */, "\"</script>\n\x1b",
};
static const char * const g_text = "Hi, w\xc3\xb6rld!\"";   // 12 bytes

// A causal GQA run: 4 layers, 6 heads (2 KV), heads {1,3,4} and query rows {0,2..6} captured;
// layer 0 with attention, scores, q, k; layer 2 with attention and hidden; layer 3 attention.
static void make_run(struct gaze_run * r) {
    gaze_run_init(r);
    r->model = strdup("org/model \"q\"");
    r->arch = strdup("llama");
    r->causal = true;
    r->n_layers = 4;
    r->n_heads = 6;
    r->n_kv_heads = 2;
    r->d_head = 8;
    r->n_embd = 48;
    r->text = strdup(g_text);
    r->n_generated = 2;
    int32_t ids[T_TOK] = { 1, 200, 11, 4000, 4001, 17, 99 };
    int64_t offs[T_TOK * 2] = { 0, 0, 0, 2, 2, 3, 3, 7, 7, 10, 10, 11, 11, 12 };
    CHECK(gaze_run_set_tokens(r, T_TOK, g_tokens, NULL, ids, offs) == GAZE_OK, "%s", gaze_last_error());
    int64_t heads[3] = { 1, 3, 4 }, rows[6] = { 0, 2, 3, 4, 5, 6 };
    CHECK(gaze_run_set_capture(r, heads, 3, rows, 6) == GAZE_OK, "%s", gaze_last_error());
    unsigned parts[3] = { GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K,
                          GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN, GAZE_RUN_PART_ATTN };
    int64_t idx[3] = { 0, 2, 3 };
    for (int li = 0; li < 3; li++) {
        struct gaze_run_layer * l;
        CHECK(gaze_run_add_layer(r, idx[li], parts[li], &l) == GAZE_OK, "%s", gaze_last_error());
        for (int64_t h = 0; h < r->n_heads_cap; h++)
            for (int64_t i = 0; i < r->Tq; i++) {
                float * row = l->attn + (h * r->Tq + i) * r->T;
                double sum = 0;
                for (int64_t j = 0; j <= r->q_rows[i]; j++) sum += row[j] = (float)(0.05 + urand());
                for (int64_t j = 0; j <= r->q_rows[i]; j++) row[j] = (float)(row[j] / sum);
                if (l->scores) {
                    float * sr = l->scores + (h * r->Tq + i) * r->T;
                    for (int64_t j = 0; j < r->T; j++)
                        sr[j] = j <= r->q_rows[i] ? (float)(urand() * 8 - 4) : -INFINITY;
                }
            }
        if (l->q) for (int64_t e = 0; e < r->n_heads_cap * r->Tq * r->d_head; e++) l->q[e] = (float)urand() - 0.5f;
        if (l->k) for (int64_t e = 0; e < r->n_heads_cap * r->T * r->d_head; e++) l->k[e] = (float)urand() - 0.5f;
        if (l->hidden) for (int64_t e = 0; e < r->T * r->n_embd; e++) l->hidden[e] = (float)urand() * 10 - 5;
    }
    // Segment ids, and an I8 tensor of odd length that would misalign what follows it.
    r->token_type_ids = calloc(T_TOK, sizeof *r->token_type_ids);
    r->sequence_ids = malloc(T_TOK);
    for (int i = 0; i < T_TOK; i++) r->sequence_ids[i] = i == 0 ? -1 : 0;
    r->embedding = gaze_alloc_aligned((size_t)r->n_embd * sizeof(float));
    for (int64_t e = 0; e < r->n_embd; e++) r->embedding[e] = (float)urand();
    CHECK(gaze_run_set_extra(r, "user.note", "a \"note\" with \\ and \n") == GAZE_OK, "extra");
    CHECK(gaze_run_set_extra(r, "gaze.from_the_future", "kept") == GAZE_OK, "extra 2");
}

static size_t file_size(const char * path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

static bool same_floats(const float * a, const float * b, int64_t n, float tol) {
    if (!a || !b) return a == b;
    for (int64_t i = 0; i < n; i++) {
        if (isinf(a[i]) || isinf(b[i])) { if (a[i] != b[i]) return false; continue; }
        if (!(fabsf(a[i] - b[i]) <= tol)) return false;
    }
    return true;
}

static void compare_runs(const struct gaze_run * a, const struct gaze_run * b, float attn_tol) {
    CHECK(!strcmp(a->model, b->model) && !strcmp(a->arch, b->arch) && a->causal == b->causal, "model");
    CHECK(a->n_layers == b->n_layers && a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
          a->d_head == b->d_head && a->n_embd == b->n_embd && a->n_generated == b->n_generated, "dims");
    CHECK(!strcmp(a->text, b->text) && (a->pair == NULL) == (b->pair == NULL), "text");
    CHECK(a->T == b->T && a->Tq == b->Tq && a->n_heads_cap == b->n_heads_cap, "T, Tq, Hc");
    for (int64_t i = 0; i < a->T && a->T == b->T; i++) {
        CHECK(!strcmp(a->tokens[i], b->tokens[i]), "token %lld", (long long)i);
        CHECK(a->token_ids[i] == b->token_ids[i], "id %lld", (long long)i);
        CHECK(a->offsets[2 * i] == b->offsets[2 * i] && a->offsets[2 * i + 1] == b->offsets[2 * i + 1], "offsets");
    }
    CHECK((a->sequence_ids == NULL) == (b->sequence_ids == NULL) &&
          (!a->sequence_ids || !memcmp(a->sequence_ids, b->sequence_ids, (size_t)a->T)), "sequence_ids");
    CHECK((a->token_type_ids == NULL) == (b->token_type_ids == NULL) &&
          (!a->token_type_ids || !memcmp(a->token_type_ids, b->token_type_ids, (size_t)a->T * 4)), "type ids");
    CHECK(!memcmp(a->heads, b->heads, (size_t)a->n_heads_cap * 8) &&
          !memcmp(a->q_rows, b->q_rows, (size_t)a->Tq * 8), "heads and rows");
    CHECK(a->n_cap_layers == b->n_cap_layers, "layer count");
    for (int64_t li = 0; li < a->n_cap_layers && a->n_cap_layers == b->n_cap_layers; li++) {
        const struct gaze_run_layer * x = &a->layers[li], * y = &b->layers[li];
        int64_t na = a->n_heads_cap * a->Tq * a->T;
        CHECK(x->index == y->index, "layer index");
        CHECK(same_floats(x->attn, y->attn, na, attn_tol), "layer %lld attention", (long long)x->index);
        CHECK(same_floats(x->scores, y->scores, na, 0), "scores");
        CHECK(same_floats(x->q, y->q, a->n_heads_cap * a->Tq * a->d_head, 0), "q");
        CHECK(same_floats(x->k, y->k, a->n_heads_cap * a->T * a->d_head, 0), "k");
        CHECK(same_floats(x->hidden, y->hidden, a->T * a->n_embd, 0), "hidden");
    }
    CHECK(same_floats(a->embedding, b->embedding, a->n_embd, 0), "embedding");
    CHECK(a->n_extra == b->n_extra, "extras");
    for (int64_t i = 0; i < a->n_extra && a->n_extra == b->n_extra; i++)
        CHECK(!strcmp(a->extra_keys[i], b->extra_keys[i]) && !strcmp(a->extra_values[i], b->extra_values[i]),
              "extra %lld", (long long)i);
}

static void test_roundtrip(void) {
    struct gaze_run r, back;
    make_run(&r);
    CHECK(gaze_run_check(&r, "mem") == GAZE_OK, "valid run: %s", gaze_last_error());
    CHECK(!strcmp(r.tokens[5], "\xEF\xBF\xBD"), "partial UTF-8 token replaced by U+FFFD");
    char p32[128], p16[128];
    snprintf(p32, sizeof p32, "%s/run32.safetensors", g_dir);
    snprintf(p16, sizeof p16, "%s/run16.safetensors", g_dir);
    CHECK(gaze_run_save(&r, p32, false) == GAZE_OK, "save: %s", gaze_last_error());
    CHECK(gaze_run_save(&r, p16, true) == GAZE_OK, "save f16: %s", gaze_last_error());
    CHECK(file_size(p16) < file_size(p32), "f16 file smaller (%zu < %zu)", file_size(p16), file_size(p32));
    // Every F32 tensor sits 4-byte aligned, so readers can use it in place.
    for (int f = 0; f < 2; f++) {
        struct gaze_safetensors * st;
        CHECK(gaze_safetensors_open(&st, f ? p16 : p32) == GAZE_OK, "open");
        int misaligned = 0;
        for (int64_t i = 0; st && i < gaze_safetensors_n_tensors(st); i++) {
            const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, i);
            if (t->dtype == GAZE_DTYPE_F32 && t->file_offset % 4) misaligned++;
        }
        CHECK(misaligned == 0, "%d misaligned F32 tensors (f16 = %d)", misaligned, f);
        gaze_safetensors_free(st);
    }
    CHECK(gaze_run_load(&back, p32) == GAZE_OK, "load: %s", gaze_last_error());
    compare_runs(&r, &back, 0);
    gaze_run_free(&back);
    CHECK(back.tokens == NULL && back.T == 0, "free zeroes");
    CHECK(gaze_run_load(&back, p16) == GAZE_OK, "load f16: %s", gaze_last_error());
    compare_runs(&r, &back, 2.5e-4f);   // f16 rounding of values in [0, 1]
    gaze_run_free(&back);

    // What numpy / Python see: plain safetensors with documented names, dtypes and metadata.
    struct gaze_safetensors * st;
    CHECK(gaze_safetensors_open(&st, p16) == GAZE_OK, "open as safetensors");
    if (st) {
        const struct gaze_st_tensor * a0 = gaze_safetensors_find(st, "attention.0");
        CHECK(a0 && a0->dtype == GAZE_DTYPE_F16 && a0->n_dims == 3 && a0->shape[0] == 3 && a0->shape[1] == 6 &&
              a0->shape[2] == 7, "attention.0 F16 [3, 6, 7]");
        const struct gaze_st_tensor * k0 = gaze_safetensors_find(st, "k.0");
        CHECK(k0 && k0->dtype == GAZE_DTYPE_F32 && k0->shape[1] == 7 && k0->shape[2] == 8, "k.0 F32 [3, 7, 8]");
        const struct gaze_st_tensor * ids = gaze_safetensors_find(st, "token_ids");
        CHECK(ids && ids->dtype == GAZE_DTYPE_I32 && ids->shape[0] == 7, "token_ids I32 [7]");
        CHECK(gaze_safetensors_find(st, "hidden.2") && gaze_safetensors_find(st, "embedding") &&
              !gaze_safetensors_find(st, "hidden.0"), "optional tensors");
        static const char * const kv[][2] = {
            { "gaze.format_version", "1" }, { "gaze.causal", "true" }, { "gaze.n_heads", "6" },
            { "gaze.n_kv_heads", "2" }, { "gaze.n_layers", "4" }, { "gaze.heads", "[1,3,4]" },
            { "gaze.layers", "[0,2,3]" }, { "gaze.q_rows", "[0,2,3,4,5,6]" }, { "gaze.arch", "llama" },
            { "gaze.model", "org/model \"q\"" }, { "gaze.n_generated", "2" }, { "gaze.d_head", "8" },
        };
        for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
            const char * v = gaze_safetensors_metadata(st, kv[i][0]);
            CHECK(v && !strcmp(v, kv[i][1]), "%s = %s (got %s)", kv[i][0], kv[i][1], v ? v : "nothing");
        }
        const char * toks = gaze_safetensors_metadata(st, "gaze.tokens");
        json_t * j = NULL;
        CHECK(toks && gaze_json_load_buffer(&j, toks, strlen(toks), "gaze.tokens", 0, 0) == GAZE_OK,
              "gaze.tokens is JSON");
        CHECK(j && json_array_size(j) == 7 && !strcmp(json_string_value(json_array_get(j, 6)), g_tokens[6]),
              "hostile token survives escaping");
        CHECK(toks && !strchr(toks, '\n') && !strchr(toks, '\x1b'), "controls escaped in gaze.tokens");
        json_decref(j);
        const char * offs = gaze_safetensors_metadata(st, "gaze.offsets");
        CHECK(offs && !strncmp(offs, "[[0,0],[0,2],[2,3]", 18), "gaze.offsets: %s", offs ? offs : "");
        gaze_safetensors_free(st);
    }
    gaze_run_free(&r);
    unlink(p32);
    unlink(p16);
}

static void test_builder(void) {
    struct gaze_run r;
    gaze_run_init(&r);
    r.n_layers = 2;
    r.n_heads = 2;
    r.n_kv_heads = 1;
    struct gaze_run_layer * l;
    CHECK(gaze_run_set_capture(&r, NULL, 0, NULL, 0) == GAZE_ERR_INVALID_ARG, "capture before tokens");
    const char * toks[2] = { "a", "b\0c" };
    size_t lens[2] = { 1, 3 };
    int32_t ids[2] = { 5, 6 };
    CHECK(gaze_run_set_tokens(&r, 2, toks, lens, ids, NULL) == GAZE_OK, "tokens");
    CHECK(!strcmp(r.tokens[1], "b\xEF\xBF\xBD" "c"), "NUL byte in a token becomes U+FFFD");
    CHECK(gaze_run_set_tokens(&r, 2, toks, lens, ids, NULL) == GAZE_ERR_INVALID_ARG, "tokens twice");
    int64_t bad_heads[2] = { 1, 0 };
    CHECK(gaze_run_set_capture(&r, bad_heads, 2, NULL, 0) == GAZE_ERR_INVALID_ARG, "decreasing heads");
    CHECK(gaze_run_add_layer(&r, 1, GAZE_RUN_PART_ATTN, &l) == GAZE_OK, "add layer 1 (default capture)");
    CHECK(r.n_heads_cap == 2 && r.Tq == 2 && r.heads[1] == 1, "identity capture");
    CHECK(gaze_run_add_layer(&r, 0, GAZE_RUN_PART_ATTN, &l) == GAZE_ERR_INVALID_ARG, "out of order");
    CHECK(gaze_run_add_layer(&r, 2, GAZE_RUN_PART_ATTN, &l) == GAZE_ERR_INVALID_ARG, ">= n_layers");
    CHECK(gaze_run_set_capture(&r, NULL, 0, NULL, 0) == GAZE_ERR_INVALID_ARG, "capture after layers");
    CHECK(gaze_run_set_extra(&r, "gaze.tokens", "x") == GAZE_ERR_INVALID_ARG, "reserved key refused");
    CHECK(gaze_run_find_layer(&r, 1) == &r.layers[0] && gaze_run_find_layer(&r, 0) == NULL, "find layer");
    // Missing model/arch and all-zero attention rows (fully masked) are judged by the checker.
    CHECK(gaze_run_check(&r, "mem") == GAZE_ERR_FORMAT && contains(gaze_last_error(), "gaze.model: missing"),
          "%s", gaze_last_error());
    r.model = strdup("m");
    r.arch = strdup("bert");
    CHECK(gaze_run_check(&r, "mem") == GAZE_OK, "all-zero rows are fully masked rows: %s", gaze_last_error());
    struct gaze_run_layer * L = &r.layers[0];
    L->attn[0] = 1.0f;   // row 0 of head 0 sums to 1 now, row 1 stays 0
    CHECK(gaze_run_check(&r, "mem") == GAZE_OK, "%s", gaze_last_error());
    char path[128];
    snprintf(path, sizeof path, "%s/bad.safetensors", g_dir);
    L->attn[1] = NAN;
    CHECK(gaze_run_save(&r, path, false) == GAZE_ERR_FORMAT, "invalid run not saved");
    CHECK(contains(gaze_last_error(), "attention.1 [head 0, row 0, key 1]: value nan outside [0, 1]"), "%s",
          gaze_last_error());
    CHECK(access(path, F_OK) != 0, "nothing written");
    gaze_run_free(&r);
}

/* ---- hostile run files ------------------------------------------------------------------- */

enum kind {
    K_META,        // set (or, value NULL, delete) a metadata key
    K_DROP,        // drop a tensor
    K_TO_I64,      // store an I32 tensor as I64
    K_AS_I32,      // relabel a float tensor I32
    K_SHAPE,       // replace the tensor by zeros of shape dims
    K_SET,         // element e = v (F32 tensors; I32 tensors get (int)v)
    K_ROW_SCALE,   // multiply head 0, row 0 by v
    K_FUTURE,      // attention: weight on a future key (row 0 = q_row 0)
    K_ADD_COPY,    // add a copy of `tensor` named `extra`
};

struct mutation {
    const char *     name;
    enum kind        kind;
    const char *     key;        // metadata key or tensor name
    const char *     value;      // metadata value / added tensor name
    int64_t          dims[3];
    int64_t          e;
    float            v;
    enum gaze_status want;
    const char *     sub[2];
};

static const struct mutation g_muts[] = {
    { "no_version", K_META, "gaze.format_version", NULL, {0}, 0, 0, GAZE_ERR_FORMAT,
      { "not a gaze run file (metadata gaze.format_version missing)" } },
    { "version_2", K_META, "gaze.format_version", "2", {0}, 0, 0, GAZE_ERR_UNSUPPORTED,
      { "gaze.format_version is \"2\"; this gaze reads version 1" } },
    { "model_missing", K_META, "gaze.model", NULL, {0}, 0, 0, GAZE_ERR_FORMAT, { "metadata gaze.model: missing" } },
    { "arch_missing", K_META, "gaze.arch", NULL, {0}, 0, 0, GAZE_ERR_FORMAT, { "metadata gaze.arch: missing" } },
    { "causal_yes", K_META, "gaze.causal", "yes", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.causal: expected \"true\" or \"false\"" } },
    { "n_heads_text", K_META, "gaze.n_heads", "abc", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.n_heads: expected an integer in [1, 4096], got \"abc\"" } },
    { "n_heads_leading_zero", K_META, "gaze.n_heads", "06", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.n_heads: expected an integer in [1, 4096], got \"06\"" } },
    { "n_heads_space", K_META, "gaze.n_heads", " 6", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.n_heads: expected an integer in [1, 4096], got \" 6\"" } },
    { "n_layers_zero", K_META, "gaze.n_layers", "0", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.n_layers: expected an integer in [1, 4096], got \"0\"" } },
    { "n_layers_huge", K_META, "gaze.n_layers", "99999999999999999999999", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.n_layers: expected an integer" } },
    { "n_kv_not_divisor", K_META, "gaze.n_kv_heads", "4", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "gaze.n_kv_heads = 4 must divide gaze.n_heads = 6" } },
    { "n_generated_negative", K_META, "gaze.n_generated", "-1", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.n_generated: expected an integer in [0," } },
    { "n_generated_over_T", K_META, "gaze.n_generated", "8", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "gaze.n_generated = 8 outside [0, T = 7]" } },
    { "tokens_missing", K_META, "gaze.tokens", NULL, {0}, 0, 0, GAZE_ERR_FORMAT, { "metadata gaze.tokens: missing" } },
    { "tokens_not_json", K_META, "gaze.tokens", "[\"a\",", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.tokens: invalid JSON at offset" } },
    { "tokens_object", K_META, "gaze.tokens", "{}", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.tokens: expected a JSON array, got object" } },
    { "tokens_numbers", K_META, "gaze.tokens", "[\"a\",2,\"c\",\"d\",\"e\",\"f\",\"g\"]", {0}, 0, 0,
      GAZE_ERR_FORMAT, { "metadata gaze.tokens[1]: expected string, got integer" } },
    { "tokens_empty", K_META, "gaze.tokens", "[]", {0}, 0, 0, GAZE_ERR_FORMAT, { "metadata gaze.tokens: empty" } },
    { "tokens_deep", K_META, "gaze.tokens", "[[[[[[[[[[\"a\"]]]]]]]]]]", {0}, 0, 0, GAZE_ERR_LIMIT,
      { "metadata gaze.tokens: JSON nesting deeper than 8" } },
    { "tokens_count", K_META, "gaze.tokens", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]", {0}, 0, 0,
      GAZE_ERR_FORMAT, { "tensor token_ids: shape [7], expected [6] from the metadata" } },
    { "offsets_count", K_META, "gaze.offsets", "[[0,0]]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.offsets: 1 entries for 7 tokens" } },
    { "offsets_shape", K_META, "gaze.offsets", "[[0,0],[0,2],[2],[3,7],[7,10],[10,11],[11,12]]", {0}, 0, 0,
      GAZE_ERR_FORMAT, { "metadata gaze.offsets[2]: expected [begin, end] integers" } },
    { "offsets_reversed", K_META, "gaze.offsets", "[[0,0],[0,2],[3,2],[3,7],[7,10],[10,11],[11,12]]", {0}, 0,
      0, GAZE_ERR_FORMAT, { "gaze.offsets[2] = [3, 2] outside the text (12 bytes)" } },
    { "offsets_past_text", K_META, "gaze.offsets", "[[0,0],[0,2],[2,3],[3,7],[7,10],[10,11],[11,13]]", {0}, 0,
      0, GAZE_ERR_FORMAT, { "gaze.offsets[6] = [11, 13] outside the text (12 bytes)" } },
    { "heads_repeat", K_META, "gaze.heads", "[1,1,4]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "gaze.heads[1] = 1: must be increasing and in [0, 6)" } },
    { "heads_range", K_META, "gaze.heads", "[1,3,6]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "gaze.heads[2] = 6: must be increasing and in [0, 6)" } },
    { "heads_real", K_META, "gaze.heads", "[1,3,4.0]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.heads[2]: expected integer, got real" } },
    { "heads_count", K_META, "gaze.heads", "[1,3]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor attention.0: shape [3, 6, 7], expected [2, 6, 7]" } },
    { "q_rows_range", K_META, "gaze.q_rows", "[0,2,3,4,5,7]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "gaze.q_rows[5] = 7: must be increasing and in [0, 7)" } },
    { "layers_mismatch", K_META, "gaze.layers", "[0,2]", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.layers lists 2 layers but the file holds tensors for 3" } },
    { "d_head_wrong", K_META, "gaze.d_head", "7", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor q.0: shape [3, 6, 8], expected [3, 6, 7]" } },
    { "n_embd_wrong", K_META, "gaze.n_embd", "47", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor hidden.2: shape [7, 48], expected [7, 47]" } },
    { "token_ids_missing", K_DROP, "token_ids", NULL, {0}, 0, 0, GAZE_ERR_FORMAT, { "tensor token_ids: missing" } },
    { "token_ids_i64", K_TO_I64, "token_ids", NULL, {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor token_ids: dtype I64, expected I32" } },
    { "sequence_ids_range", K_SET, "sequence_ids", NULL, {0}, 1, 2, GAZE_ERR_FORMAT,
      { "sequence_ids[1] = 2 outside [-1, 1]" } },
    { "token_type_negative", K_SET, "token_type_ids", NULL, {0}, 4, -1, GAZE_ERR_FORMAT,
      { "token_type_ids[4] = -1 is negative" } },
    { "sequence_ids_dtype", K_TO_I64, "sequence_ids", NULL, {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor sequence_ids: dtype I64, expected I8" } },
    { "token_ids_negative", K_SET, "token_ids", NULL, {0}, 2, -5, GAZE_ERR_FORMAT,
      { "token_ids[2] = -5 is negative" } },
    { "attention_i32", K_AS_I32, "attention.0", NULL, {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor attention.0: dtype I32, expected F32, F16 or BF16" } },
    { "attention_shape", K_SHAPE, "attention.3", NULL, {3, 6, 6}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor attention.3: shape [3, 6, 6], expected [3, 6, 7]" } },
    { "attention_over_1", K_SET, "attention.2", NULL, {0}, 0, 1.5f, GAZE_ERR_FORMAT,
      { "attention.2 [head 0, row 0, key 0]: value 1.5 outside [0, 1]" } },
    { "attention_negative", K_SET, "attention.2", NULL, {0}, 7, -0.25f, GAZE_ERR_FORMAT,
      { "attention.2 [head 0, row 1, key 0]: value -0.25 outside [0, 1]" } },
    { "attention_nan", K_SET, "attention.3", NULL, {0}, 22, NAN, GAZE_ERR_FORMAT,
      { "attention.3 [head 0, row 3, key 1]: value nan outside [0, 1]" } },
    { "attention_row_sum", K_ROW_SCALE, "attention.0", NULL, {0}, 0, 0.9f, GAZE_ERR_FORMAT,
      { "attention.0 [head 0, row 0]: row sums to 0.9" } },
    { "attention_future", K_FUTURE, "attention.0", NULL, {0}, 0, 0, GAZE_ERR_FORMAT,
      { "attention.0 [head 0, row 0, key 1]: causal model but weight 0.5 on a future key" } },
    { "scores_plus_inf", K_SET, "scores.0", NULL, {0}, 0, INFINITY, GAZE_ERR_NUMERIC,
      { "scores.0 [element 0]: non-finite value inf" } },
    { "scores_nan", K_SET, "scores.0", NULL, {0}, 3, NAN, GAZE_ERR_NUMERIC,
      { "scores.0 [element 3]: non-finite value nan" } },
    { "q_inf", K_SET, "q.0", NULL, {0}, 5, -INFINITY, GAZE_ERR_NUMERIC, { "q.0 [element 5]: non-finite value -inf" } },
    { "hidden_nan", K_SET, "hidden.2", NULL, {0}, 9, NAN, GAZE_ERR_NUMERIC,
      { "hidden.2 [element 9]: non-finite value nan" } },
    { "embedding_inf", K_SET, "embedding", NULL, {0}, 1, INFINITY, GAZE_ERR_NUMERIC,
      { "embedding [element 1]: non-finite value inf" } },
    { "embedding_shape", K_SHAPE, "embedding", NULL, {47}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor embedding: shape [47], expected [48]" } },
    { "layer_past_n_layers", K_ADD_COPY, "attention.3", "attention.4", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor attention.4: layer 4 but gaze.n_layers = 4" } },
    { "layer_not_in_list", K_ADD_COPY, "attention.3", "attention.1", {0}, 0, 0, GAZE_ERR_FORMAT,
      { "metadata gaze.layers lists 3 layers but the file holds tensors for 4" } },
    { "pair_missing", K_SET, "sequence_ids", NULL, {0}, 3, 1, GAZE_ERR_FORMAT,
      { "sequence_ids[3] = 1 but the run has no gaze.pair" } },
    { "k_missing_d_head", K_SHAPE, "k.0", NULL, {3, 7}, 0, 0, GAZE_ERR_FORMAT,
      { "tensor k.0: shape [3, 7], expected [3, 7, 8]" } },
};

static enum gaze_status rewrite(const char * src, const char * dst, const struct mutation * m) {
    struct gaze_safetensors * st;
    enum gaze_status s = gaze_safetensors_open(&st, src);
    if (s != GAZE_OK) return s;
    struct gaze_st_writer * w;
    gaze_st_writer_init(&w, dst);
    for (int64_t i = 0; i < gaze_safetensors_n_metadata(st); i++) {
        const char * k = gaze_safetensors_metadata_key(st, i), * v = gaze_safetensors_metadata_value(st, i);
        if (m->kind == K_META && !strcmp(k, m->key)) {
            if (m->value) gaze_st_writer_set_metadata(w, k, m->value);
        } else gaze_st_writer_set_metadata(w, k, v);
    }
    for (int64_t i = 0; i < gaze_safetensors_n_tensors(st); i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, i);
        bool target = m->key && !strcmp(t->name, m->key) && m->kind != K_META;
        if (!target) { gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, t->data); continue; }
        uint8_t * d = malloc(t->n_bytes * 2 + 64);
        memcpy(d, t->data, t->n_bytes);
        float * f = (float *)d;
        switch (m->kind) {
            case K_DROP: break;
            case K_TO_I64: {
                int64_t * o = malloc((size_t)t->n_elements * 8);
                for (int64_t e = 0; e < t->n_elements; e++)
                    o[e] = t->dtype == GAZE_DTYPE_I8 ? ((int8_t *)d)[e] : ((int32_t *)d)[e];
                gaze_st_writer_add(w, t->name, GAZE_DTYPE_I64, t->n_dims, t->shape, o);
                free(o);
                break;
            }
            case K_AS_I32: gaze_st_writer_add(w, t->name, GAZE_DTYPE_I32, t->n_dims, t->shape, d); break;
            case K_SHAPE: {
                int rank = m->dims[2] ? 3 : m->dims[1] ? 2 : 1;
                float * z = calloc((size_t)(m->dims[0] * (m->dims[1] ? m->dims[1] : 1) * (m->dims[2] ? m->dims[2] : 1)), 4);
                gaze_st_writer_add(w, t->name, t->dtype, rank, m->dims, z);
                free(z);
                break;
            }
            case K_SET:
                if (t->dtype == GAZE_DTYPE_I32) ((int32_t *)d)[m->e] = (int32_t)m->v;
                else if (t->dtype == GAZE_DTYPE_I8) ((int8_t *)d)[m->e] = (int8_t)m->v;
                else f[m->e] = m->v;
                gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, d);
                break;
            case K_ROW_SCALE:
                for (int64_t j = 0; j < t->shape[2]; j++) f[j] *= m->v;
                gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, d);
                break;
            case K_FUTURE:
                for (int64_t j = 0; j < t->shape[2]; j++) f[j] = j < 2 ? 0.5f : 0.0f;
                gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, d);
                break;
            case K_ADD_COPY:
                gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, d);
                gaze_st_writer_add(w, m->value, t->dtype, t->n_dims, t->shape, d);
                break;
            default: break;
        }
        free(d);
    }
    s = gaze_st_writer_finish(w);
    gaze_st_writer_free(w);
    gaze_safetensors_free(st);
    return s;
}

static void test_hostile(void) {
    struct gaze_run r;
    make_run(&r);
    char base[128], path[128];
    snprintf(base, sizeof base, "%s/base.safetensors", g_dir);
    CHECK(gaze_run_save(&r, base, false) == GAZE_OK, "%s", gaze_last_error());
    gaze_run_free(&r);
    // The unmodified copy loads: the rewrite itself changes nothing.
    struct mutation none = { "none", K_META, "none", "none", {0}, 0, 0, GAZE_OK, { NULL } };
    snprintf(path, sizeof path, "%s/none.safetensors", g_dir);
    CHECK(rewrite(base, path, &none) == GAZE_OK, "rewrite");
    CHECK(gaze_run_load(&r, path) == GAZE_OK, "copy loads: %s", gaze_last_error());
    gaze_run_free(&r);
    const char * corpus = getenv("GAZE_RUN_CORPUS");
    size_t n = sizeof g_muts / sizeof g_muts[0];
    for (size_t i = 0; i < n; i++) {
        const struct mutation * m = &g_muts[i];
        snprintf(path, sizeof path, "%s/%s.safetensors", g_dir, m->name);
        CHECK(rewrite(base, path, m) == GAZE_OK, "%s: rewrite: %s", m->name, gaze_last_error());
        if (corpus) {
            char cp[512];
            snprintf(cp, sizeof cp, "%s/%s.safetensors", corpus, m->name);
            rewrite(base, cp, m);
        }
        r.tokens = (char **)1;   // load must initialise whatever it is given
        enum gaze_status s = gaze_run_load(&r, path);
        const char * msg = gaze_last_error();
        CHECK(s == m->want, "%s: got %s, want %s: %s", m->name, gaze_status_name(s), gaze_status_name(m->want), msg);
        CHECK(!strncmp(msg, path, strlen(path)), "%s: message names the file: %s", m->name, msg);
        for (int k = 0; k < 2 && m->sub[k]; k++)
            CHECK(contains(msg, m->sub[k]), "%s: message lacks \"%s\": %s", m->name, m->sub[k], msg);
        CHECK(r.tokens == NULL && r.layers == NULL && r.T == 0, "%s: run left empty", m->name);
        if (s == GAZE_OK) gaze_run_free(&r);
        // The buffer loader says the same (label aside).
        FILE * fb = fopen(path, "rb");
        size_t sz = 0;
        uint8_t * buf = malloc(1 << 16);
        if (fb) { sz = fread(buf, 1, 1 << 16, fb); fclose(fb); }
        char first[512];
        snprintf(first, sizeof first, "%s", msg + strlen(path));
        enum gaze_status sb = gaze_run_load_buffer(&r, buf, sz, "buf");
        CHECK(sb == s && !strcmp(gaze_last_error() + 3, first), "%s: buffer loader: %s", m->name, gaze_last_error());
        if (sb == GAZE_OK) gaze_run_free(&r);
        free(buf);
        unlink(path);
    }
    printf("hostile run files: %zu rejected\n", n);
    // Not a run: a plain safetensors model; not safetensors at all.
    char model[1024];
    const char * home = getenv("GAZE_HOME");
    if (home && *home) snprintf(model, sizeof model, "%s/models/minilm/model.safetensors", home);
    else snprintf(model, sizeof model, "%s/.cache/gaze/models/minilm/model.safetensors", getenv("HOME"));
    if (access(model, R_OK) == 0) {
        CHECK(gaze_run_load(&r, model) == GAZE_ERR_FORMAT && contains(gaze_last_error(), "not a gaze run file"),
              "%s", gaze_last_error());
    }
    snprintf(path, sizeof path, "%s/trunc.safetensors", g_dir);
    FILE * f = fopen(path, "wb");
    fwrite("\x10\0\0\0", 1, 4, f);
    fclose(f);
    CHECK(gaze_run_load(&r, path) == GAZE_ERR_FORMAT && contains(gaze_last_error(), "too short"), "%s",
          gaze_last_error());
    unlink(path);
    unlink(base);
}

// Recycled run arrays: a freed block is handed to the next request it fits (not one that
// would waste more than half of it), aligned, with room for the whole request; nothing is
// kept under AddressSanitizer, so use-after-free is still caught there.
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
static void test_recycle(void) {
    gaze_release_memory();
    const size_t n = (size_t)1 << 20;
    unsigned char * a = gaze_alloc_recycled(n);
    CHECK(a && ((uintptr_t)a & 63) == 0, "recycled block not 64-byte aligned");
    memset(a, 0x5a, n);
    gaze_free_recycled(a);
    unsigned char * b = gaze_alloc_recycled(n - 100000);   // fits: reused
#ifdef TEST_ASAN
    const bool want_reuse = false;
#else
    const bool want_reuse = true;
#endif
    CHECK((b == a) == want_reuse, "block %s reused", want_reuse ? "not" : "wrongly");
    memset(b, 1, n - 100000);                               // the whole request is writable
    unsigned char * c = gaze_alloc_recycled(n / 4);         // kept blocks are all in use or too big
    CHECK(c && c != b, "a block in use was handed out again");
    gaze_free_recycled(c);
    gaze_free_recycled(b);
    unsigned char * d = gaze_alloc_recycled(n / 3);         // the 1 MiB block would waste > half
    CHECK(d != b, "a block more than twice the request was reused");
    memset(d, 2, n / 3);
    gaze_free_recycled(d);
    gaze_free_recycled(NULL);
    unsigned char * big = gaze_alloc_recycled((size_t)80 << 20);   // above the 64 MiB cap: not kept
    CHECK(big != NULL, "80 MiB allocation failed");
    big[0] = big[((size_t)80 << 20) - 1] = 1;
    gaze_free_recycled(big);
    unsigned char * big2 = gaze_alloc_recycled((size_t)80 << 20);
    CHECK(big2 != NULL, "80 MiB allocation failed");
    gaze_free_recycled(big2);
    gaze_release_memory();
    unsigned char * e = gaze_alloc_recycled(n);             // after release: a fresh block
    CHECK(e != NULL, "allocation after gaze_release_memory failed");
    gaze_free_recycled(e);
    gaze_release_memory();
}


// Summaries (GAZE_RUN_PART_SUMMARY): filled by the fused pass, saved, loaded bit for bit; a
// summary naming a future key or with weights out of order is refused by the checker.
static void test_summary(void) {
    struct gaze_run r;
    gaze_run_init(&r);
    r.model = strdup("m");
    r.arch = strdup("llama");
    r.causal = true;
    r.n_layers = 2; r.n_heads = 2; r.n_kv_heads = 1;
    const int64_t T = 70, d = 8;
    const char ** toks = malloc(T * sizeof *toks);
    int32_t * ids = malloc(T * sizeof *ids);
    for (int64_t t = 0; t < T; t++) { toks[t] = "x"; ids[t] = (int32_t)t; }
    CHECK(gaze_run_set_tokens(&r, T, toks, NULL, ids, NULL) == GAZE_OK, "%s", gaze_last_error());
    struct gaze_run_layer * l;
    CHECK(gaze_run_add_layer(&r, 1, GAZE_RUN_PART_SUMMARY, &l) == GAZE_OK, "%s", gaze_last_error());
    CHECK(l->summary.entropy && l->summary.top_k == GAZE_SUMMARY_TOP_K && l->summary.n_rows == T, "summary allocated");
    float * q = malloc(2 * T * d * 4), * k = malloc(T * d * 4), * v = malloc(T * d * 4), * o = malloc(2 * T * d * 4);
    for (int64_t e = 0; e < 2 * T * d; e++) q[e] = (float)urand() * 4 - 2;
    for (int64_t e = 0; e < T * d; e++) { k[e] = (float)urand() * 4 - 2; v[e] = (float)urand(); }
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, 2, 1, T, T, d);
    desc.mask.causal = true;
    struct gaze_view vq = { q, 2 * T * d, T * d, d }, vk = { k, T * d, T * d, d }, vv = { v, T * d, T * d, d }, vo = { o, 2 * T * d, T * d, d };
    CHECK(gaze_attention_fused_summary(&desc, &vq, &vk, &vv, &vo, NULL, NULL, NULL, 2, &l->summary) == GAZE_OK, "%s", gaze_last_error());
    char path[128];
    snprintf(path, sizeof path, "%s/summary.safetensors", g_dir);
    CHECK(gaze_run_save(&r, path, false) == GAZE_OK, "save: %s", gaze_last_error());
    struct gaze_run b;
    CHECK(gaze_run_load(&b, path) == GAZE_OK, "load: %s", gaze_last_error());
    const struct gaze_attn_summary * x = &r.layers[0].summary, * y = b.n_cap_layers == 1 ? &b.layers[0].summary : NULL;
    CHECK(y && y->entropy && y->top_k == x->top_k && y->block == x->block && y->window == x->window, "summary params back");
    if (y && y->entropy) {
        CHECK(!memcmp(x->entropy, y->entropy, 2 * T * 4) && !memcmp(x->top_keys, y->top_keys, 2 * T * 8 * 4) &&
              !memcmp(x->top_weights, y->top_weights, 2 * T * 8 * 4) && !memcmp(x->block_sum, y->block_sum, 2 * 4 * 4) &&
              !memcmp(x->block_max, y->block_max, 2 * 4 * 4) && !memcmp(x->local, y->local, 2 * T * 4) &&
              !memcmp(x->sink, y->sink, 2 * T * 4), "summary arrays differ after a round trip");
    }
    gaze_run_free(&b);
    // hostile: a future key, then weights out of order
    l = &r.layers[0];
    l->summary.top_keys[5 * 8 + 1] = 9;
    CHECK(gaze_run_save(&r, path, false) == GAZE_ERR_FORMAT && contains(gaze_last_error(), "summary.top_keys.1 [head 0, row 5"),
          "future key accepted: %s", gaze_last_error());
    l->summary.top_keys[5 * 8 + 1] = 0;
    l->summary.top_weights[5 * 8 + 1] = 2.0f;
    CHECK(gaze_run_save(&r, path, false) == GAZE_ERR_FORMAT, "weight 2 accepted");
    unlink(path);
    free(q); free(k); free(v); free(o); free(toks); free(ids);
    gaze_run_free(&r);
}

int main(void) {
    test_recycle();
    snprintf(g_dir, sizeof g_dir, "/tmp/gaze_test_run_XXXXXX");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 1; }
    printf("seed %llu\n", (unsigned long long)g_rng);
    test_roundtrip();
    test_builder();
    test_hostile();
    test_summary();
    rmdir(g_dir);
    return check_summary("test_runfile");
}
