// Encoder-decoder run files: the target side (decoder self-attention, cross-attention) round
// trips through save/load, each kind reads as an ordinary run (gaze_run_select_kind), older
// single-kind runs read as before, and hostile enc-dec files are refused naming the field.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static uint64_t g_rng = 1234;
static double urand(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}
static bool contains(const char * hay, const char * needle) { return hay && strstr(hay, needle) != NULL; }

// Random rows summing to 1; causal: row i sees keys <= q_rows[i].
static void fill_attn(const struct gaze_run * r, struct gaze_run_layer * l) {
    const int64_t Tk = gaze_run_n_keys(r);
    for (int64_t h = 0; h < r->n_heads_cap; h++)
        for (int64_t i = 0; i < r->Tq; i++) {
            float * row = l->attn + (h * r->Tq + i) * Tk;
            const int64_t last = r->causal ? r->q_rows[i] : Tk - 1;
            double sum = 0;
            for (int64_t j = 0; j <= last; j++) sum += row[j] = (float)(0.05 + urand());
            for (int64_t j = 0; j <= last; j++) row[j] = (float)(row[j] / sum);
            if (l->scores)
                for (int64_t j = 0; j < Tk; j++)
                    l->scores[(h * r->Tq + i) * Tk + j] = j <= last ? (float)urand() : -INFINITY;
        }
    if (l->q) for (int64_t e = 0; e < r->n_heads_cap * r->Tq * r->d_head; e++) l->q[e] = (float)urand();
    if (l->k) for (int64_t e = 0; e < r->n_heads_cap * Tk * r->d_head; e++) l->k[e] = (float)urand();
    if (l->hidden) for (int64_t e = 0; e < r->T * r->n_embd; e++) l->hidden[e] = (float)urand();
}

// Encoder: 2 layers of 2 heads over 4 source tokens. Decoder and cross: 3 layers of 4 heads,
// 3 target tokens; the decoder captures heads {1, 3} and layers {0, 2}, cross every head of
// layers {1, 2} with q and k.
static void make_encdec(struct gaze_run * r) {
    gaze_run_init(r);
    r->model = strdup("tiny-t5");
    r->arch = strdup("t5");
    r->n_layers = 2;
    r->n_heads = 2;
    r->n_kv_heads = 2;
    r->d_head = 4;
    r->n_embd = 8;
    r->text = strdup("Hello world");
    const char * src[4] = { "\xe2\x96\x81Hello", "\xe2\x96\x81wor", "ld", "</s>" };
    const int32_t sid[4] = { 8774, 296, 1102, 1 };
    CHECK(gaze_run_set_tokens(r, 4, src, NULL, sid, NULL) == GAZE_OK, "%s", gaze_last_error());
    struct gaze_run_layer * l;
    for (int64_t li = 0; li < 2; li++) {
        CHECK(gaze_run_add_layer(r, li, GAZE_RUN_PART_ATTN | (li ? GAZE_RUN_PART_HIDDEN : 0), &l) == GAZE_OK, "%s",
              gaze_last_error());
        fill_attn(r, l);
    }
    const char * tgt[3] = { "<pad>", "\xe2\x96\x81Hallo", "\"</script>" };
    const int32_t tid[3] = { 0, 8410, 7 };
    CHECK(gaze_run_set_target(r, (1u << GAZE_KIND_DECODER) | (1u << GAZE_KIND_CROSS), 3, tgt, NULL, tid, 3, 4, 4) ==
          GAZE_OK, "%s", gaze_last_error());
    r->decoder->n_generated = 2;
    r->decoder->text = strdup("Hallo");
    r->cross->n_generated = 2;
    r->cross->text = strdup("Hallo");
    const int64_t dh[2] = { 1, 3 };
    CHECK(gaze_run_set_capture(r->decoder, dh, 2, NULL, 0) == GAZE_OK, "%s", gaze_last_error());
    for (int64_t li = 0; li < 3; li += 2) {
        CHECK(gaze_run_add_kind_layer(r, GAZE_KIND_DECODER, li, GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES, &l) ==
              GAZE_OK, "%s", gaze_last_error());
        fill_attn(r->decoder, l);
    }
    for (int64_t li = 1; li < 3; li++) {
        CHECK(gaze_run_add_kind_layer(r, GAZE_KIND_CROSS, li, GAZE_RUN_PART_ATTN | GAZE_RUN_PART_Q | GAZE_RUN_PART_K,
                                      &l) == GAZE_OK, "%s", gaze_last_error());
        fill_attn(r->cross, l);
    }
}

static bool same_part(const struct gaze_run * a, const struct gaze_run * b) {
    if (!a || !b) return a == b;
    bool ok = a->T == b->T && a->T_keys == b->T_keys && a->causal == b->causal && a->n_layers == b->n_layers &&
              a->n_heads == b->n_heads && a->n_heads_cap == b->n_heads_cap && a->Tq == b->Tq &&
              a->n_cap_layers == b->n_cap_layers && a->n_generated == b->n_generated && a->d_head == b->d_head;
    for (int64_t i = 0; ok && i < a->T; i++) ok = !strcmp(a->tokens[i], b->tokens[i]) && a->token_ids[i] == b->token_ids[i];
    for (int64_t j = 0; ok && j < a->T_keys; j++)
        ok = !strcmp(a->key_tokens[j], b->key_tokens[j]) && a->key_ids[j] == b->key_ids[j];
    for (int64_t h = 0; ok && h < a->n_heads_cap; h++) ok = a->heads[h] == b->heads[h];
    const int64_t n = a->n_heads_cap * a->Tq * gaze_run_n_keys(a);
    for (int64_t li = 0; ok && li < a->n_cap_layers; li++) {
        const struct gaze_run_layer * x = &a->layers[li], * y = &b->layers[li];
        ok = x->index == y->index && !x->attn == !y->attn && !x->scores == !y->scores && !x->q == !y->q &&
             !x->k == !y->k && !x->hidden == !y->hidden;
        for (int64_t e = 0; ok && x->attn && e < n; e++) ok = x->attn[e] == y->attn[e];
        for (int64_t e = 0; ok && x->k && e < a->n_heads_cap * gaze_run_n_keys(a) * a->d_head; e++) ok = x->k[e] == y->k[e];
    }
    return ok;
}

static void test_roundtrip(void) {
    struct gaze_run r, back;
    make_encdec(&r);
    CHECK(gaze_run_check(&r, "mem") == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_kinds(&r) == 7u, "three kinds: %u", gaze_run_kinds(&r));
    char path[128];
    snprintf(path, sizeof path, "%s/encdec.safetensors", g_dir);
    CHECK(gaze_run_save(&r, path, false) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_load(&back, path) == GAZE_OK, "%s", gaze_last_error());
    CHECK(same_part(&r, &back), "encoder side round trips");
    CHECK(same_part(r.decoder, back.decoder), "decoder round trips");
    CHECK(same_part(r.cross, back.cross), "cross round trips");
    CHECK(back.decoder && back.decoder->causal && back.decoder->n_heads == 4 && back.decoder->n_layers == 3 &&
          back.decoder->n_heads_cap == 2 && back.decoder->heads[1] == 3, "decoder shape and capture");
    CHECK(back.cross && back.cross->T_keys == 4 && !strcmp(back.cross->key_tokens[2], "ld") &&
          !strcmp(back.cross->tokens[2], "\"</script>") && back.cross->layers[0].index == 1,
          "cross queries are target tokens, keys source tokens");
    CHECK(back.decoder && back.decoder->text && !strcmp(back.decoder->text, "Hallo") && back.decoder->n_generated == 2,
          "target text and generated count");
    CHECK(back.n_extra == 0, "no enc-dec key leaks into the extras (%lld)", (long long)back.n_extra);

    // The kinds as ordinary runs.
    const struct gaze_run * e = gaze_run_select_kind(&back, GAZE_KIND_ENCODER);
    const struct gaze_run * d = gaze_run_select_kind(&back, GAZE_KIND_DECODER);
    const struct gaze_run * c = gaze_run_select_kind(&back, GAZE_KIND_CROSS);
    CHECK(e == &back && d == back.decoder && c == back.cross, "select_kind");
    CHECK(c && gaze_run_n_keys(c) == 4 && !strcmp(gaze_run_key_token(c, 0), "\xe2\x96\x81Hello") &&
          gaze_run_n_keys(d) == 3 && !strcmp(gaze_run_key_token(d, 1), "\xe2\x96\x81Hallo"), "keys of each view");
    CHECK(c && gaze_run_check(c, "cross view") == GAZE_OK, "a cross view is a valid run: %s", gaze_last_error());
    CHECK(c && gaze_run_save(c, path, false) == GAZE_ERR_INVALID_ARG &&
          contains(gaze_last_error(), "cross-attention view is not saved on its own"), "%s", gaze_last_error());

    // In place: the decoder, then a run of that kind only.
    CHECK(gaze_run_take_kind(&back, GAZE_KIND_CROSS) == GAZE_OK, "%s", gaze_last_error());
    CHECK(back.T == 3 && back.T_keys == 4 && !back.decoder && !back.cross && gaze_run_kinds(&back) == 4u, "took cross");
    CHECK(gaze_run_select_kind(&back, GAZE_KIND_ENCODER) == NULL &&
          contains(gaze_last_error(), "no encoder attention in this run: it holds cross attention only"), "%s",
          gaze_last_error());
    CHECK(same_part(&back, r.cross), "taken cross equals the original");
    gaze_run_free(&back);

    // f16 attention for every kind.
    CHECK(gaze_run_save(&r, path, true) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_load(&back, path) == GAZE_OK, "%s", gaze_last_error());
    CHECK(back.cross && fabsf(back.cross->layers[1].attn[5] - r.cross->layers[1].attn[5]) < 1e-3f, "f16 cross");
    gaze_run_free(&back);

    // Only the decoder part (no cross): gaze.kinds ["encoder", "decoder"].
    gaze_run_free(r.cross);
    free(r.cross);
    r.cross = NULL;
    CHECK(gaze_run_save(&r, path, false) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_load(&back, path) == GAZE_OK, "%s", gaze_last_error());
    CHECK(back.decoder && !back.cross && gaze_run_kinds(&back) == 3u, "decoder only");
    CHECK(gaze_run_select_kind(&back, GAZE_KIND_CROSS) == NULL &&
          contains(gaze_last_error(), "no cross attention in this run: it holds encoder and decoder attention only"),
          "%s", gaze_last_error());
    gaze_run_free(&back);
    gaze_run_free(&r);
}

// Single-kind runs: the encoder (bidirectional) or decoder (causal) kind, never cross.
static void test_single(void) {
    struct gaze_run r;
    gaze_run_init(&r);
    r.model = strdup("m");
    r.arch = strdup("llama");
    r.causal = true;
    r.n_layers = r.n_heads = r.n_kv_heads = 1;
    const char * t[2] = { "a", "b" };
    const int32_t ids[2] = { 1, 2 };
    CHECK(gaze_run_set_tokens(&r, 2, t, NULL, ids, NULL) == GAZE_OK, "tokens");
    CHECK(gaze_run_kinds(&r) == 2u, "decoder-only run");
    CHECK(gaze_run_select_kind(&r, GAZE_KIND_DECODER) == &r, "its decoder is itself");
    CHECK(gaze_run_select_kind(&r, GAZE_KIND_CROSS) == NULL &&
          contains(gaze_last_error(), "it holds decoder attention only (a decoder-only model)"), "%s", gaze_last_error());
    CHECK(gaze_run_add_kind_layer(&r, GAZE_KIND_CROSS, 0, GAZE_RUN_PART_ATTN, &(struct gaze_run_layer *){ NULL }) ==
          GAZE_ERR_INVALID_ARG, "no cross part to add to");
    r.causal = false;
    CHECK(gaze_run_kinds(&r) == 1u && gaze_run_select_kind(&r, GAZE_KIND_DECODER) == NULL &&
          contains(gaze_last_error(), "(an encoder model)"), "%s", gaze_last_error());
    CHECK(gaze_run_set_target(&r, 8u, 2, t, NULL, ids, 1, 1, 1) == GAZE_ERR_INVALID_ARG, "bad kind bits");
    CHECK(gaze_run_set_target(&r, 4u, 2, t, NULL, ids, 1, 3, 2) == GAZE_ERR_INVALID_ARG, "kv heads must divide");
    enum gaze_kind k;
    CHECK(gaze_kind_parse("cross", &k) && k == GAZE_KIND_CROSS && !gaze_kind_parse("Cross", &k) &&
          !strcmp(gaze_kind_name(GAZE_KIND_DECODER), "decoder"), "names");
    gaze_run_free(&r);
}

/* ---- hostile files: the valid enc-dec file with one field changed ------------------------ */

struct mut {
    const char * name;
    const char * key;      // metadata key, or tensor name (tensor: value NULL and set >= 0 / drop)
    const char * value;    // new metadata value; NULL with tensor == false: delete the key
    bool         tensor;
    int64_t      elem;     // tensor: element to set (-1: drop the tensor)
    float        v;
    const char * want;
};

static const struct mut g_muts[] = {
    { "kinds_unknown", "gaze.kinds", "[\"encoder\",\"decoder\",\"crossed\"]", false, 0, 0,
      "metadata gaze.kinds[2]: expected \"encoder\", \"decoder\" or \"cross\"" },
    { "kinds_order", "gaze.kinds", "[\"encoder\",\"cross\",\"decoder\"]", false, 0, 0,
      "metadata gaze.kinds: \"decoder\" repeated or out of order" },
    { "kinds_no_encoder", "gaze.kinds", "[\"decoder\",\"cross\"]", false, 0, 0,
      "metadata gaze.kinds: \"encoder\" comes first, once" },
    { "kinds_object", "gaze.kinds", "{}", false, 0, 0, "metadata gaze.kinds: expected a JSON array, got object" },
    { "kinds_missing", "gaze.kinds", NULL, false, 0, 0, "target tokens without metadata gaze.kinds" },
    { "kinds_encoder_only", "gaze.kinds", "[\"encoder\"]", false, 0, 0,
      "target tokens but gaze.kinds lists no decoder or cross" },
    { "target_tokens_missing", "gaze.target_tokens", NULL, false, 0, 0, "metadata gaze.target_tokens: missing" },
    { "target_tokens_count", "gaze.target_tokens", "[\"a\",\"b\"]", false, 0, 0,
      "tensor target_ids: shape [3], expected [2] from the metadata" },
    { "target_tokens_empty", "gaze.target_tokens", "[]", false, 0, 0, "metadata gaze.target_tokens: empty" },
    { "target_tokens_number", "gaze.target_tokens", "[\"a\",1,\"c\"]", false, 0, 0,
      "metadata gaze.target_tokens[1]: expected string, got integer" },
    { "target_ids_missing", "target_ids", NULL, true, -1, 0, "tensor target_ids: missing" },
    { "target_ids_negative", "target_ids", NULL, true, 1, -3, "[decoder]: token_ids[1] = -3 is negative" },
    { "decoder_heads_range", "gaze.decoder.heads", "[1,4]", false, 0, 0,
      "gaze.decoder.heads[1] = 4: must be increasing and in [0, 4)" },
    { "decoder_n_heads", "gaze.decoder.n_heads", "0", false, 0, 0,
      "metadata gaze.decoder.n_heads: expected an integer in [1, 4096], got \"0\"" },
    { "decoder_layers", "gaze.decoder.layers", "[0]", false, 0, 0,
      "metadata gaze.decoder.layers lists 1 layers but the file holds tensors for 2" },
    { "decoder_n_layers", "gaze.decoder.n_layers", "2", false, 0, 0,
      "tensor decoder.attention.2: layer 2 but gaze.decoder.n_layers = 2" },
    { "decoder_future", "decoder.attention.0", NULL, true, 1, 0.5f,
      "[decoder]: attention.0 [head 0, row 0, key 1]: causal model but weight 0.5 on a future key" },
    { "decoder_generated", "gaze.decoder.n_generated", "4", false, 0, 0,
      "[decoder]: gaze.n_generated = 4 outside [0, T = 3]" },
    { "cross_over_1", "cross.attention.2", NULL, true, 3, 1.5f,
      "[cross]: attention.2 [head 0, row 0, key 3]: value 1.5 outside [0, 1]" },
    { "cross_q_rows", "gaze.cross.q_rows", "[0,1,3]", false, 0, 0,
      "gaze.cross.q_rows[2] = 3: must be increasing and in [0, 3)" },
    { "cross_d_head", "gaze.cross.d_head", "5", false, 0, 0,
      "tensor cross.q.1: shape [4, 3, 4], expected [4, 3, 5] from the metadata" },
    { "cross_k_nan", "cross.k.1", NULL, true, 2, NAN, "[cross]: k.1 [element 2]: non-finite value nan" },
};

static enum gaze_status rewrite(const char * src, const char * dst, const struct mut * m) {
    struct gaze_safetensors * st;
    enum gaze_status s = gaze_safetensors_open(&st, src);
    if (s) return s;
    struct gaze_st_writer * w;
    gaze_st_writer_init(&w, dst);
    for (int64_t i = 0; i < gaze_safetensors_n_metadata(st); i++) {
        const char * k = gaze_safetensors_metadata_key(st, i), * v = gaze_safetensors_metadata_value(st, i);
        if (!m->tensor && !strcmp(k, m->key)) { if (m->value) gaze_st_writer_set_metadata(w, k, m->value); }
        else gaze_st_writer_set_metadata(w, k, v);
    }
    for (int64_t i = 0; i < gaze_safetensors_n_tensors(st); i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, i);
        if (!m->tensor || strcmp(t->name, m->key)) { gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, t->data); continue; }
        if (m->elem < 0) continue;
        uint8_t * d = malloc(t->n_bytes);
        memcpy(d, t->data, t->n_bytes);
        if (t->dtype == GAZE_DTYPE_I32) ((int32_t *)d)[m->elem] = (int32_t)m->v;
        else ((float *)d)[m->elem] = m->v;
        gaze_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, d);
        free(d);
    }
    s = gaze_st_writer_finish(w);
    gaze_st_writer_free(w);
    gaze_safetensors_free(st);
    return s;
}

static void test_hostile(void) {
    struct gaze_run r;
    make_encdec(&r);
    char base[128], path[128];
    snprintf(base, sizeof base, "%s/base.safetensors", g_dir);
    CHECK(gaze_run_save(&r, base, false) == GAZE_OK, "%s", gaze_last_error());
    gaze_run_free(&r);
    const char * corpus = getenv("GAZE_RUN_CORPUS");   // seeds for tests/fuzz/corpus/fuzz_runfile
    for (size_t i = 0; i < sizeof g_muts / sizeof g_muts[0]; i++) {
        const struct mut * m = &g_muts[i];
        snprintf(path, sizeof path, "%s/%s.safetensors", g_dir, m->name);
        CHECK(rewrite(base, path, m) == GAZE_OK, "%s: rewrite: %s", m->name, gaze_last_error());
        if (corpus) {
            char cp[512];
            snprintf(cp, sizeof cp, "%s/encdec_%s.safetensors", corpus, m->name);
            rewrite(base, cp, m);
        }
        enum gaze_status s = gaze_run_load(&r, path);
        CHECK(s != GAZE_OK && contains(gaze_last_error(), m->want), "%s: status %d, message: %s", m->name, s,
              s ? gaze_last_error() : "(loaded)");
        CHECK(r.T == 0 && !r.decoder && !r.cross, "%s: run left empty", m->name);
        unlink(path);
    }
    if (corpus) {
        char cp[512];
        snprintf(cp, sizeof cp, "%s/encdec_valid.safetensors", corpus);
        struct mut none = { "none", "none", "none", false, 0, 0, NULL };
        rewrite(base, cp, &none);
    }
    unlink(base);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/gaze_test_kinds_XXXXXX");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 1; }
    test_roundtrip();
    test_single();
    test_hostile();
    rmdir(g_dir);
    return check_summary("test_runfile_kinds");
}
