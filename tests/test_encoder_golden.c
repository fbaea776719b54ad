// BERT-like encoders against transformers (tests/fixtures/encoders/<family>, made by
// tests/reference/gen_encoder_fixtures.py): RoBERTa, DistilBERT and ELECTRA, each on a few
// texts and one sentence pair: token ids and byte offsets identical, every layer's attention (all heads)
// within 1e-5, the last hidden state within 1e-4. Then the loaders' refusals (unknown
// model_type, a vocabulary larger than the embedding table, an activation), and one RoBERTa of
// roberta-base's full shape (12 layers, 768 wide, 12 heads, 50265 tokens, 514 positions) with
// random weights written at test time, run on 128 tokens: shapes, finite values, rows sum to 1.
#include "check.h"
#include "gaze.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATTN_TOL   1e-5
#define HIDDEN_TOL 1e-4

static const char * src_dir(void) {
    const char * s = getenv("GAZE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static double max_abs(const float * a, const float * b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d) || d > m) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static const float * fx(const struct gaze_safetensors * st, const char * name, int64_t n) {
    const struct gaze_st_tensor * t = gaze_safetensors_find(st, name);
    CHECK(t && t->dtype == GAZE_DTYPE_F32 && t->n_elements == n, "fixture %s: %s missing or of the wrong size", gaze_safetensors_path(st), name);
    return t && t->dtype == GAZE_DTYPE_F32 && t->n_elements == n ? (const float *)t->data : NULL;
}

static void golden_family(const char * fam) {
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/encoders/%s", src_dir(), fam);
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, dir);
    CHECK(s == GAZE_OK, "%s: load: %s", fam, gaze_last_error());
    if (s) return;
    const struct gaze_model_info * info = gaze_model_info(m);
    CHECK(info->arch == GAZE_ARCH_BERT && !strcmp(info->arch_name, fam), "%s: arch_name %s", fam, info->arch_name);
    snprintf(path, sizeof path, "%s/golden.safetensors", dir);
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, path) == GAZE_OK, "%s: %s", path, gaze_last_error());
    snprintf(path, sizeof path, "%s/cases.json", dir);
    json_error_t jerr;
    json_t * cases = json_load_file(path, 0, &jerr);
    CHECK(json_is_array(cases) && json_array_size(cases) >= 4, "%s: cases.json", fam);
    const int64_t L = info->n_layers, H = info->n_heads, C = info->n_embd;
    size_t i;
    json_t * c;
    int n_pairs = 0;
    double fam_attn = 0, fam_hidden = 0;
    json_array_foreach(cases, i, c) {
        if (!st) break;
        const char * text = json_string_value(json_object_get(c, "text"));
        const char * pair = json_string_value(json_object_get(c, "pair"));
        n_pairs += pair != NULL;
        char name[64];
        snprintf(name, sizeof name, "ids.%zu", i);
        const struct gaze_st_tensor * ids = gaze_safetensors_find(st, name);
        CHECK(ids && ids->dtype == GAZE_DTYPE_I32, "%s case %zu: no ids", fam, i);
        if (!ids) continue;
        const int64_t T = ids->n_elements;
        struct gaze_run_opts o = { 0 };
        o.parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN;
        struct gaze_run run;
        s = gaze_model_run(m, text, pair, &o, &run);
        CHECK(s == GAZE_OK, "%s case %zu: run: %s", fam, i, gaze_last_error());
        if (s) continue;
        bool same = run.T == T;
        for (int64_t t = 0; same && t < T; t++) {
            int32_t want;
            memcpy(&want, (const char *)ids->data + 4 * t, 4);
            same = run.token_ids[t] == want;
        }
        CHECK(same, "%s case %zu: ids differ from transformers' (T %lld vs %lld)", fam, i, (long long)run.T, (long long)T);
        snprintf(name, sizeof name, "offsets.%zu", i);
        const struct gaze_st_tensor * off = gaze_safetensors_find(st, name);
        bool off_same = same && off && off->dtype == GAZE_DTYPE_I64 && off->n_elements == 2 * T;
        for (int64_t t = 0; off_same && t < T; t++) {
            int64_t want[2], b = run.offsets[2 * t], e = run.offsets[2 * t + 1];
            memcpy(want, (const char *)off->data + 16 * t, 16);
            // a byte-level piece of a multi-byte character has its bytes' range; transformers
            // gives the whole character's (its offsets count characters): widen to compare
            const char * src = run.sequence_ids[t] == 1 ? pair : text;
            const int64_t n = (int64_t)strlen(src);
            if (run.sequence_ids[t] >= 0) {
                while (b > 0 && b < n && ((unsigned char)src[b] & 0xC0) == 0x80) b--;
                while (e > b && e < n && ((unsigned char)src[e] & 0xC0) == 0x80) e++;
            }
            off_same = b == want[0] && e == want[1];
        }
        // gen_encoder2_fixtures.py (xlm-roberta) records no offsets: test_unigram checks that
        // tokenizer's offsets against tokenizers itself
        if (off || strcmp(fam, "xlm-roberta")) CHECK(off_same, "%s case %zu: byte offsets differ from transformers'", fam, i);
        CHECK(run.n_cap_layers == L, "%s case %zu: %lld layers captured", fam, i, (long long)run.n_cap_layers);
        if (same && run.n_cap_layers == L) {
            snprintf(name, sizeof name, "attentions.%zu", i);
            const float * a = fx(st, name, L * H * T * T);
            double worst = a ? 0 : INFINITY;
            for (int64_t l = 0; a && l < L; l++) {
                const double e = max_abs(run.layers[l].attn, a + l * H * T * T, H * T * T);
                if (!(e <= worst)) worst = e;
            }
            CHECK(worst <= ATTN_TOL, "%s case %zu: attention off by %.3g", fam, i, worst);
            if (!(worst <= fam_attn)) fam_attn = worst;
            snprintf(name, sizeof name, "hidden.%zu", i);
            const float * h = fx(st, name, T * C);
            const double e = h ? max_abs(run.layers[L - 1].hidden, h, T * C) : INFINITY;
            CHECK(e <= HIDDEN_TOL, "%s case %zu: last hidden state off by %.3g", fam, i, e);
            if (!(e <= fam_hidden)) fam_hidden = e;
            bool types_ok = true;   // RoBERTa and DistilBERT use no token types
            for (int64_t t = 0; strcmp(fam, "electra") && t < T; t++) types_ok &= run.token_type_ids[t] == 0;
            CHECK(types_ok, "%s case %zu: token types other than 0", fam, i);
        }
        gaze_run_free(&run);
    }
    CHECK(n_pairs >= 1, "%s: no sentence pair among the cases", fam);
    printf("%s: %zu cases, worst attention error %.3g, worst last hidden state error %.3g\n", fam,
           json_array_size(cases), fam_attn, fam_hidden);
    json_decref(cases);
    gaze_safetensors_free(st);
    gaze_model_free(m);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static char g_tmp[512];

static bool copy_file(const char * from, const char * to) {
    FILE * a = fopen(from, "rb"), * b = a ? fopen(to, "wb") : NULL;
    char buf[1 << 16];
    size_t n;
    bool ok = a && b;
    while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0) ok = fwrite(buf, 1, n, b) == n;
    if (a) fclose(a);
    if (b && fclose(b)) ok = false;
    return ok;
}

// A copy of fixture family fam in g_tmp/name with config.json's "from" replaced by "to".
static void variant(const char * fam, const char * name, const char * from, const char * to, char * out, size_t n) {
    static const char * const files[] = { "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt" };
    char src[1200], dst[1200];
    snprintf(out, n, "%s/%s", g_tmp, name);
    mkdir(out, 0700);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(src, sizeof src, "%s/tests/fixtures/encoders/%s/%s", src_dir(), fam, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", out, files[i]);
        if (access(src, R_OK) == 0) CHECK(copy_file(src, dst), "copy %s", src);
    }
    snprintf(src, sizeof src, "%s/tests/fixtures/encoders/%s/config.json", src_dir(), fam);
    FILE * f = fopen(src, "rb");
    char cfg[8192] = "", edited[8400];
    size_t len = f ? fread(cfg, 1, sizeof cfg - 1, f) : 0;
    if (f) fclose(f);
    cfg[len] = 0;
    char * at = strstr(cfg, from);
    CHECK(at != NULL, "%s/config.json has no %s", fam, from);
    if (!at) return;
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - cfg), cfg, to, at + strlen(from));
    snprintf(dst, sizeof dst, "%s/config.json", out);
    f = fopen(dst, "wb");
    CHECK(f && fputs(edited, f) >= 0 && fclose(f) == 0, "write %s", dst);
}

static void refused(const char * dir, enum gaze_status want, const char * n1, const char * n2, const char * what) {
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, dir);
    const char * msg = gaze_last_error();
    CHECK(s == want && strstr(msg, n1) && strstr(msg, n2), "%s: status %d, message: %s", what, (int)s, msg);
    gaze_model_free(m);
}

static void refusals(void) {
    char d[1024];
    variant("roberta", "type", "\"model_type\": \"roberta\"", "\"model_type\": \"robertina\"", d, sizeof d);
    refused(d, GAZE_ERR_UNSUPPORTED, "config.json: model_type \"robertina\" is not supported", "\"roberta\"", "unknown model_type");
    variant("roberta", "vocab", "\"vocab_size\": 401", "\"vocab_size\": 400", d, sizeof d);
    refused(d, GAZE_ERR_FORMAT, "config.json: vocab_size is 400", "tokenizer has 401 tokens", "roberta vocab_size below the tokenizer's");
    variant("electra", "vocab_big", "\"vocab_size\": ", "\"vocab_size\": 1", d, sizeof d);   // 480 -> 1480
    refused(d, GAZE_ERR_FORMAT, "electra.embeddings.word_embeddings.weight", "expected [1480, 24]", "electra vocab_size above the table's");
    variant("distilbert", "act", "\"activation\": \"gelu\"", "\"activation\": \"relu\"", d, sizeof d);
    refused(d, GAZE_ERR_UNSUPPORTED, "config.json: activation \"relu\"", "not supported", "distilbert activation");
    variant("electra", "proj", "\"embedding_size\": 24", "\"embedding_size\": 32", d, sizeof d);
    refused(d, GAZE_ERR_FORMAT, "electra.embeddings.word_embeddings.weight", "expected [", "electra embedding_size that the weights disagree with");
    variant("roberta", "pad", "\"pad_token_id\": 1", "\"pad_token_id\": 65", d, sizeof d);
    refused(d, GAZE_ERR_FORMAT, "config.json: pad_token_id 65", "max_position_embeddings 66", "roberta padding_idx past the positions");
}

/* ---- RoBERTa-base shape ---------------------------------------------------------------------- */

// GPT-2's byte-to-unicode table: byte b's character in a byte-level token, as UTF-8.
static void byte_char(int b, char * out) {
    int n = 0, cp = -1;
    for (int x = 0; x < 256 && cp < 0; x++) {
        const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
        if (x == b) cp = printable ? x : 256 + n;
        if (!printable) n++;
    }
    if (cp < 0x80) { out[0] = (char)cp; out[1] = 0; }
    else { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); out[2] = 0; }
}

static bool write_text(const char * path, const char * text) {
    FILE * f = fopen(path, "wb");
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f)) ok = false;
    return ok;
}

static void full_shape(void) {
    const int64_t C = 768, L = 12, H = 12, F = 3072, V = 50265, P = 514, T = 128;
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/roberta-base-shape", g_tmp);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(write_text(path, "{\"model_type\": \"roberta\", \"architectures\": [\"RobertaModel\"], \"hidden_size\": 768, "
                           "\"num_attention_heads\": 12, \"num_hidden_layers\": 12, \"intermediate_size\": 3072, "
                           "\"vocab_size\": 50265, \"max_position_embeddings\": 514, \"type_vocab_size\": 1, "
                           "\"pad_token_id\": 1, \"layer_norm_eps\": 1e-05, \"hidden_act\": \"gelu\"}"), "config");
    // tokenizer: <s> <pad> </s> <unk>, the 256 byte characters, filler tokens, <mask> last
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE * f = fopen(path, "wb");
    CHECK(f != NULL, "open %s", path);
    if (!f) return;
    fputs("{\"version\": \"1.0\", \"added_tokens\": [", f);
    const char * sp[4] = { "<s>", "<pad>", "</s>", "<unk>" };
    for (int i = 0; i < 4; i++)
        fprintf(f, "{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                   "\"normalized\": true, \"special\": true}, ", i, sp[i]);
    fprintf(f, "{\"id\": %lld, \"content\": \"<mask>\", \"single_word\": false, \"lstrip\": true, \"rstrip\": false, "
               "\"normalized\": false, \"special\": true}], \"normalizer\": null, "
               "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}, "
               "\"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 0], "
               "\"trim_offsets\": true, \"add_prefix_space\": false}, "
               "\"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true}, "
               "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": \"\", "
               "\"end_of_word_suffix\": \"\", \"fuse_unk\": false, \"byte_fallback\": false, \"vocab\": {", (long long)(V - 1));
    for (int i = 0; i < 4; i++) fprintf(f, "\"%s\": %d, ", sp[i], i);
    for (int b = 0; b < 256; b++) {
        char ch[4];
        byte_char(b, ch);
        fprintf(f, "\"%s%s\": %d, ", b == '"' || b == '\\' ? "\\" : "", ch, 4 + b);
    }
    for (int64_t id = 260; id < V - 1; id++) fprintf(f, "\"filler%lld\": %lld%s", (long long)id, (long long)id, id < V - 2 ? ", " : "");
    fputs("}, \"merges\": []}}", f);
    CHECK(fclose(f) == 0, "write %s", path);

    // weights: slices of one random buffer at different offsets, LayerNorms near 1 / 0
    const size_t n_buf = (size_t)(V * C) + 65536;
    float * buf = malloc(n_buf * sizeof *buf), * ln1 = malloc((size_t)F * sizeof *ln1), * ln0 = malloc((size_t)F * sizeof *ln0);
    CHECK(buf && ln1 && ln0, "out of memory");
    if (!buf || !ln1 || !ln0) { free(buf); free(ln1); free(ln0); return; }
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n_buf; i++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        buf[i] = ((float)(rng >> 40) / (float)(1 << 24) - 0.5f) * 0.1f;   // uniform ±0.05
    }
    for (int64_t i = 0; i < F; i++) { ln1[i] = 1.0f + buf[i]; ln0[i] = buf[F + i]; }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct gaze_st_writer * w = NULL;
    enum gaze_status s = gaze_st_writer_init(&w, path);
    size_t at = 0;
#define ADD(name, n_dims, d0, d1, data) do { const int64_t sh_[2] = { d0, d1 }; \
        if (!s) s = gaze_st_writer_add_ref(w, name, GAZE_DTYPE_F32, n_dims, sh_, data); } while (0)
#define RND(name, d0, d1) do { ADD(name, 2, d0, d1, buf + at); at = (at + 7919) % 65536; } while (0)
    RND("embeddings.word_embeddings.weight", V, C);
    RND("embeddings.position_embeddings.weight", P, C);
    RND("embeddings.token_type_embeddings.weight", 1, C);
    ADD("embeddings.LayerNorm.weight", 1, C, 0, ln1);
    ADD("embeddings.LayerNorm.bias", 1, C, 0, ln0);
    char names[12][16][96];
    for (int64_t l = 0; l < L; l++) {
        static const char * const lin[6] = { "attention.self.query", "attention.self.key", "attention.self.value",
                                             "attention.output.dense", "intermediate.dense", "output.dense" };
        const int64_t no[6] = { C, C, C, C, F, C }, ni[6] = { C, C, C, C, C, F };
        for (int k = 0; k < 6; k++) {
            snprintf(names[l][2 * k], 96, "encoder.layer.%lld.%s.weight", (long long)l, lin[k]);
            snprintf(names[l][2 * k + 1], 96, "encoder.layer.%lld.%s.bias", (long long)l, lin[k]);
            RND(names[l][2 * k], no[k], ni[k]);
            ADD(names[l][2 * k + 1], 1, no[k], 0, ln0);
        }
        static const char * const ln[2] = { "attention.output.LayerNorm", "output.LayerNorm" };
        for (int k = 0; k < 2; k++) {
            snprintf(names[l][12 + 2 * k], 96, "encoder.layer.%lld.%s.weight", (long long)l, ln[k]);
            snprintf(names[l][13 + 2 * k], 96, "encoder.layer.%lld.%s.bias", (long long)l, ln[k]);
            ADD(names[l][12 + 2 * k], 1, C, 0, ln1);
            ADD(names[l][13 + 2 * k], 1, C, 0, ln0);
        }
    }
#undef RND
#undef ADD
    if (!s) s = gaze_st_writer_finish(w);
    gaze_st_writer_free(w);
    free(buf);
    free(ln1);
    free(ln0);
    CHECK(s == GAZE_OK, "write %s: %s", path, gaze_last_error());
    if (s) return;

    struct gaze_model * m = NULL;
    s = gaze_model_load(&m, dir);
    CHECK(s == GAZE_OK, "load roberta-base shape: %s", gaze_last_error());
    if (s) return;
    const struct gaze_model_info * info = gaze_model_info(m);
    CHECK(info->n_layers == L && info->n_heads == H && info->n_embd == C && info->n_vocab == V && info->n_ctx == P - 2,
          "info: %lld layers, %lld heads, %lld wide, %lld tokens, %lld positions", (long long)info->n_layers,
          (long long)info->n_heads, (long long)info->n_embd, (long long)info->n_vocab, (long long)info->n_ctx);
    char text[T - 1];   // 126 letters: one byte-level token each, plus <s> and </s>
    for (int64_t i = 0; i < T - 2; i++) text[i] = (char)('a' + i % 26);
    text[T - 2] = 0;
    struct gaze_run_opts o = { 0 };
    o.parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN;
    struct gaze_run run;
    s = gaze_model_run(m, text, NULL, &o, &run);
    CHECK(s == GAZE_OK, "run: %s", gaze_last_error());
    if (!s) {
        CHECK(run.T == T && run.n_cap_layers == L && run.n_heads_cap == H, "T %lld, %lld layers, %lld heads",
              (long long)run.T, (long long)run.n_cap_layers, (long long)run.n_heads_cap);
        CHECK(run.token_ids[0] == 0 && run.token_ids[T - 1] == 2 && run.token_ids[1] == 4 + 'a', "ids <s> a ... </s>");
        double worst_row = 0;
        bool finite = true;
        for (int64_t l = 0; l < run.n_cap_layers && run.T == T; l++) {
            const float * a = run.layers[l].attn, * h = run.layers[l].hidden;
            for (int64_t r = 0; r < H * T; r++) {
                double sum = 0;
                for (int64_t j = 0; j < T; j++) { sum += a[r * T + j]; finite &= isfinite(a[r * T + j]) && a[r * T + j] >= 0; }
                if (!(fabs(sum - 1) <= worst_row)) worst_row = fabs(sum - 1);
            }
            for (int64_t i = 0; i < T * C; i++) finite &= isfinite(h[i]);
        }
        CHECK(finite, "non-finite or negative values in the run");
        CHECK(worst_row <= 1e-5, "attention rows sum to 1 within %.3g", worst_row);
        gaze_run_free(&run);
    }
    gaze_model_free(m);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    golden_family("roberta");
    golden_family("xlm-roberta");   // the Unigram tokenizer (text/unigram.c), fixture from gen_encoder2_fixtures.py
    golden_family("distilbert");
    golden_family("electra");
    const char * tmp = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/gaze_enc_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(g_tmp) != NULL, "mkdtemp %s", g_tmp);
    refusals();
    full_shape();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return check_summary("test_encoder_golden");
}
