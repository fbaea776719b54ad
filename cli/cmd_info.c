// `gaze info PATH`: describes a safetensors file (tensors, dtypes, shapes, metadata), a gaze run
// file (its gaze.* metadata and captured tensors, after full validation), a Hugging Face model
// folder (config summary and weights) or a GGUF file (gaze_gguf_print_info). Strings from files
// are printed with control characters escaped, so a hostile file cannot drive the terminal.
#include "cli.h"
#include "formats/json.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

// Prints s (at most max bytes of it, cut at a character; 0 = all) through gaze_term_fputs.
static void put_safe(const char * s, size_t max) {
    size_t n = strlen(s), lim = max && n > max ? max : n;
    while (lim < n && lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80) lim--;
    char * head = strndup(s, lim);
    gaze_term_fputs(stdout, head ? head : "");
    free(head);
    if (lim < n) {
        printf("... (%zu bytes)", n);
    }
}

static void put_shape(const int64_t * shape, int n) {
    printf("[");
    for (int i = 0; i < n; i++) printf("%s%lld", i ? ", " : "", (long long)shape[i]);
    printf("]");
}

static int is_float_dtype(enum gaze_dtype t) {
    return t == GAZE_DTYPE_F32 || t == GAZE_DTYPE_F16 || t == GAZE_DTYPE_BF16 || t == GAZE_DTYPE_F64;
}

static void summary(const struct gaze_safetensors * st, const char * path) {
    int64_t nt = gaze_safetensors_n_tensors(st), params = 0, counts[GAZE_DTYPE_COUNT] = { 0 };
    size_t bytes = 0;
    for (int64_t i = 0; i < nt; i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, i);
        if (is_float_dtype(t->dtype)) params += t->n_elements;
        bytes += t->n_bytes;
        counts[t->dtype]++;
    }
    printf("%s: safetensors, %lld tensors, %lld float parameters, %zu bytes of data\n", cli_safe(path),
           (long long)nt, (long long)params, bytes);
    printf("  dtypes:");
    for (int d = 0; d < GAZE_DTYPE_COUNT; d++)
        if (counts[d]) printf(" %s x%lld", gaze_dtype_name((enum gaze_dtype)d), (long long)counts[d]);
    printf("\n");
}

static void list_tensors(const struct gaze_safetensors * st) {
    int64_t nt = gaze_safetensors_n_tensors(st);
    printf("  tensors (data order):\n");
    for (int64_t i = 0; i < nt; i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, i);
        printf("    ");
        put_safe(t->name, 200);
        printf("  %s ", gaze_dtype_name(t->dtype));
        put_shape(t->shape, t->n_dims);
        printf("  %zu bytes\n", t->n_bytes);
    }
}

static void list_metadata(const struct gaze_safetensors * st, bool full) {
    int64_t nm = gaze_safetensors_n_metadata(st);
    if (!nm) return;
    printf("  metadata:\n");
    for (int64_t i = 0; i < nm; i++) {
        printf("    ");
        put_safe(gaze_safetensors_metadata_key(st, i), 200);
        printf(" = ");
        put_safe(gaze_safetensors_metadata_value(st, i), full ? 0 : 160);
        printf("\n");
    }
}

static int info_run(const struct gaze_safetensors * st, const char * path, bool full) {
    struct gaze_run run;
    enum gaze_status s = gaze_run_load(&run, path);
    if (s != GAZE_OK) return cli_fail(s);
    printf("%s: gaze run (format %d)\n", cli_safe(path), GAZE_RUN_FORMAT_VERSION);
    printf("  model:   ");
    put_safe(run.model, 200);
    printf(" (arch ");
    put_safe(run.arch, 40);
    printf(", %s)\n", run.causal ? "causal" : "bidirectional");
    printf("  shape:   %lld layers, %lld heads (%lld kv)", (long long)run.n_layers,
           (long long)run.n_heads, (long long)run.n_kv_heads);
    if (run.d_head) printf(", d_head %lld", (long long)run.d_head);
    if (run.n_embd) printf(", n_embd %lld", (long long)run.n_embd);
    printf("\n");
    if (run.text) { printf("  text:    \""); put_safe(run.text, full ? 0 : 200); printf("\"\n"); }
    if (run.pair) { printf("  pair:    \""); put_safe(run.pair, full ? 0 : 200); printf("\"\n"); }
    printf("  tokens:  %lld", (long long)run.T);
    if (run.n_generated) printf(" (%lld generated)", (long long)run.n_generated);
    printf("\n");
    int64_t shown = full ? run.T : (run.T < 32 ? run.T : 32);
    for (int64_t i = 0; i < shown; i++) {
        printf("    %5lld  id %-7d", (long long)i, run.token_ids[i]);
        if (run.offsets)
            printf(" [%lld, %lld)", (long long)run.offsets[2 * i], (long long)run.offsets[2 * i + 1]);
        char tok[512];
        gaze_token_display(tok, sizeof tok, run.tokens[i], 80);
        printf("  \"%s", tok);
        printf("\"\n");
    }
    if (shown < run.T) printf("    ... %lld more (--full lists all)\n", (long long)(run.T - shown));
    printf("  captured: %lld layer(s)", (long long)run.n_cap_layers);
    if (run.n_cap_layers) {
        printf(" [");
        for (int64_t i = 0; i < run.n_cap_layers; i++)
            printf("%s%lld", i ? ", " : "", (long long)run.layers[i].index);
        printf("]");
    }
    if (run.n_heads_cap == run.n_heads) printf(", all %lld heads", (long long)run.n_heads);
    else printf(", %lld of %lld heads", (long long)run.n_heads_cap, (long long)run.n_heads);
    if (run.Tq == run.T) printf(", all query rows\n");
    else printf(", %lld of %lld query rows\n", (long long)run.Tq, (long long)run.T);
    // encoder-decoder runs: the target side (the lines above are the encoder's)
    const struct gaze_run * part[2] = { run.decoder, run.cross };
    for (int k = 0; k < 2; k++) {
        const struct gaze_run * p = part[k];
        if (!p) continue;
        if (k == 0 || !run.decoder) {
            printf("  target:  %lld tokens", (long long)p->T);
            if (p->n_generated) printf(" (%lld generated)", (long long)p->n_generated);
            for (int64_t i = 0; i < p->T && i < (full ? p->T : 32); i++) {
                char tok[512];
                gaze_token_display(tok, sizeof tok, p->tokens[i], 80);
                printf("%s\"%s\"", i ? " " : ": ", tok);
            }
            printf("\n");
        }
        printf("  %s %lld layers, %lld heads; captured %lld layer(s), %lld heads, %lld rows%s\n",
               k ? "cross:  " : "decoder:", (long long)p->n_layers, (long long)p->n_heads, (long long)p->n_cap_layers,
               (long long)p->n_heads_cap, (long long)p->Tq, k ? " over the source tokens" : ", causal");
    }
    for (int64_t i = 0; i < run.n_extra; i++) {
        printf("  extra:   ");
        put_safe(run.extra_keys[i], 200);
        printf(" = ");
        put_safe(run.extra_values[i], full ? 0 : 160);
        printf("\n");
    }
    list_tensors(st);
    gaze_run_free(&run);
    return 0;
}

static int info_safetensors(const char * path, bool full) {
    struct gaze_safetensors * st;
    enum gaze_status s = gaze_safetensors_open(&st, path);
    if (s != GAZE_OK) return cli_fail(s);
    int rc = 0;
    if (gaze_safetensors_metadata(st, "gaze.format_version")) {
        rc = info_run(st, path, full);
    } else {
        summary(st, path);
        list_metadata(st, full);
        list_tensors(st);
    }
    gaze_safetensors_free(st);
    return rc;
}

static void cfg_int(const json_t * cfg, const char * key) {
    json_t * v = json_object_get(cfg, key);
    if (json_is_integer(v)) printf("  %-26s %lld\n", key, (long long)json_integer_value(v));
}

static int print_layer_attention(const char * path);

static int info_folder(const char * folder, bool full) {
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", folder);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--) dir[n - 1] = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    struct stat cs;
    if (stat(path, &cs) != 0) {
        fprintf(stderr, "gaze info: %s: not a model folder (no config.json; a Hugging Face model folder has\n"
                "config.json, model.safetensors and tokenizer.json or vocab.txt)\n", dir);
        return 1;
    }
    json_t * cfg;
    enum gaze_status s = gaze_json_load_file(&cfg, path, 0, 0);
    if (s != GAZE_OK) return cli_fail(s);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return cli_fail(gaze_error(GAZE_ERR_FORMAT, "%s: expected a JSON object", path));
    }
    printf("%s: model folder\n", cli_safe(dir));
    const char * mt = NULL;
    if (gaze_json_opt_string(cfg, "model_type", path, NULL, &mt) == GAZE_OK && mt) {
        printf("  %-26s ", "model_type");
        put_safe(mt, 80);
        printf("\n");
    }
    json_t * arch = json_object_get(cfg, "architectures");
    if (json_is_array(arch)) {
        printf("  %-26s", "architectures");
        for (size_t i = 0; i < json_array_size(arch) && i < 8; i++)
            if (json_is_string(json_array_get(arch, i))) {
                printf(" ");
                put_safe(json_string_value(json_array_get(arch, i)), 80);
            }
        printf("\n");
    }
    static const char * const ints[] = {
        "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
        "intermediate_size", "max_position_embeddings", "vocab_size", "type_vocab_size",
        "image_size", "patch_size",
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) cfg_int(cfg, ints[i]);
    const char * act = NULL;
    if (gaze_json_opt_string(cfg, "hidden_act", path, NULL, &act) == GAZE_OK && act) {
        printf("  %-26s ", "hidden_act");
        put_safe(act, 40);
        printf("\n");
    }
    double eps;
    if (gaze_json_opt_number(cfg, "layer_norm_eps", path, -1, &eps) == GAZE_OK && eps >= 0)
        printf("  %-26s %g\n", "layer_norm_eps", eps);
    if (gaze_json_opt_number(cfg, "rms_norm_eps", path, -1, &eps) == GAZE_OK && eps >= 0)
        printf("  %-26s %g\n", "rms_norm_eps", eps);
    // vision transformers read images: no tokenizer (preprocessor_config.json, optional, instead)
    const bool vision = mt && (!strcmp(mt, "vit") || !strcmp(mt, "deit") || !strncmp(mt, "dinov2", 6) ||
                              !strcmp(mt, "clip") || !strcmp(mt, "clip_vision_model") || !strcmp(mt, "siglip") ||
                              !strcmp(mt, "siglip_vision_model"));
    const bool windowed = mt && !strcmp(mt, "modernbert");   // local and global layers
    json_decref(cfg);

    static const char * const files[] = { "tokenizer.json", "vocab.txt", "tokenizer_config.json", "preprocessor_config.json" };
    bool have_tok = vision;
    printf("  files:");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &sb) == 0) { printf(" %s", files[i]); have_tok |= i < 2; }
    }
    printf("\n");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct stat sb;
    const bool have_weights = stat(path, &sb) == 0;
    // Described as far as it goes, but a folder gaze cannot run is an error (exit 1).
    if (!have_weights || !have_tok) {
        if (!have_weights) printf("  (no model.safetensors)\n");
        fprintf(stderr, "gaze info: %s: not a usable model folder: %s\n", dir,
                !have_weights ? (have_tok ? "no model.safetensors" : "no model.safetensors and no tokenizer.json or vocab.txt")
                              : "no tokenizer.json or vocab.txt");
        return 1;
    }
    struct gaze_safetensors * st;
    s = gaze_safetensors_open(&st, path);
    if (s != GAZE_OK) return cli_fail(s);
    summary(st, path);
    if (full) list_tensors(st);
    gaze_safetensors_free(st);
    return windowed ? print_layer_attention(dir) : 0;
}

// Does the GGUF declare sliding-window layers ("<arch>.attention.sliding_window")?
static bool gguf_has_window(const struct gaze_gguf * g) {
    const char * arch;
    char key[160];
    if (gaze_gguf_get_str(g, "general.architecture", &arch, NULL) != GAZE_OK) { gaze_clear_error(); return false; }
    snprintf(key, sizeof key, "%.100s.attention.sliding_window", arch);
    return gaze_gguf_find_key(g, key) >= 0;
}

// Which layers attend through a sliding window and which globally, with each group's RoPE
// base, as the loaded model runs them (the family's pattern and defaults applied).
static int print_layer_attention(const char * path) {
    struct gaze_model * m;
    enum gaze_status s = gaze_model_load(&m, path);
    if (s) return cli_fail(s);
    const struct gaze_model_info * in = gaze_model_info(m);
    printf("attention:   %lld layers\n", (long long)in->n_layers);
    bool * done = calloc((size_t)in->n_layers + 1, 1);
    for (int64_t l = 0; done && in->layer_window && l < in->n_layers; l++) {
        if (done[l]) continue;
        const int64_t w = in->layer_window[l];
        const float base = in->layer_rope_base[l];
        int64_t count = 0;
        for (int64_t k = l; k < in->n_layers; k++) count += in->layer_window[k] == w && in->layer_rope_base[k] == base;
        if (w > 0) printf("  %lld local (sliding window %lld, rope base %g):", (long long)count, (long long)w, base);
        else printf("  %lld global (rope base %g):", (long long)count, base);
        // the group's layers as ranges: 0-4, 6-10, 12-16
        const char * sep = " ";
        for (int64_t k = l; k < in->n_layers; k++) {
            if (done[k] || in->layer_window[k] != w || in->layer_rope_base[k] != base) continue;
            int64_t e = k;
            while (e + 1 < in->n_layers && in->layer_window[e + 1] == w && in->layer_rope_base[e + 1] == base) done[++e] = true;
            done[k] = true;
            if (e > k) printf("%s%lld-%lld", sep, (long long)k, (long long)e);
            else printf("%s%lld", sep, (long long)k);
            sep = ", ";
            k = e;
        }
        printf("\n");
    }
    free(done);
    gaze_model_free(m);
    return 0;
}

int cmd_info(int argc, char ** argv) {
    const char * target = NULL;
    bool full = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full")) full = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: gaze info PATH [--full]\n"
                   "  PATH: a .safetensors file, a gaze run file, a .gguf file, a model folder or a fetched name\n"
                   "  --full: list every token / tensor and print metadata values in full (default: the first\n"
                   "          32 tokens, a model folder's tensors left out, values cut at 160 bytes)\n"
                   "  exit code 1 when PATH cannot be read or is not a usable model or run\n");
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "gaze info: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (target) {
            fprintf(stderr, "gaze info: one PATH only\n");
            return 2;
        } else target = argv[i];
    }
    if (!target) {
        fprintf(stderr, "usage: gaze info PATH [--full]\n");
        return 2;
    }
    struct stat sb;
    char resolved[4096];
    if (stat(target, &sb) != 0 && gaze_model_find(target)) {   // a fetched model name
        enum gaze_status rs = gaze_model_resolve(target, resolved, sizeof resolved);
        if (rs) return cli_fail(rs);
        target = resolved;
    }
    if (stat(target, &sb) != 0)
        return cli_fail(gaze_error(GAZE_ERR_IO, "%s: no such file or folder", target));
    if (S_ISDIR(sb.st_mode)) return info_folder(target, full);
    FILE * f = fopen(target, "rb");
    char magic[4] = { 0 };
    if (!f) return cli_fail(gaze_error(GAZE_ERR_IO, "%s: cannot open: %s", target, strerror(errno)));
    size_t got = fread(magic, 1, 4, f);
    (void)got;
    fclose(f);
    // A .gguf name is reported as GGUF even with a bad magic: "not a GGUF file", not a
    // safetensors header error.
    const size_t tn = strlen(target);
    if (!memcmp(magic, "GGUF", 4) || (tn > 5 && !strcmp(target + tn - 5, ".gguf"))) {
        struct gaze_gguf * g;
        enum gaze_status s = gaze_gguf_open(target, &g);
        if (s != GAZE_OK) return cli_fail(s);
        gaze_gguf_print_info(g, stdout);
        const bool windowed = gguf_has_window(g);
        gaze_gguf_free(g);
        return windowed ? print_layer_attention(target) : 0;
    }
    return info_safetensors(target, full);
}
