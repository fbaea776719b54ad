// gaze run MODEL "text": tokenizes, runs the model, captures attention (and Q/K/scores/hidden
// on request) and writes one run file that every other command reads.
#include "cli.h"
#include "progress.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr,
            "usage: gaze run MODEL \"text\" [-o run.safetensors] [--pair \"second sentence\"]\n"
            "                [--layers 0,2-4] [--heads 0-3] [--capture attn,scores,q,k,hidden] [--f16]\n"
            "                [--truncate] [--max-len N] [--generate N] [--temperature T] [--top-p P]\n"
            "                [--seed S] [--threads N] [--exact] [--quiet]\n"
            "  --exact: quantized models run on f32-dequantized weights (as transformers' GGUF loader)\n"
            "  MODEL: a Hugging Face BERT folder, a .gguf file, or a fetched name (minilm, smollm2)\n");
    return 2;
}

static unsigned parse_parts(const char * s, bool * ok) {
    unsigned parts = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *ok = true;
    for (char * tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "attn") || !strcmp(tok, "attention")) parts |= GAZE_RUN_PART_ATTN;
        else if (!strcmp(tok, "scores")) parts |= GAZE_RUN_PART_SCORES;
        else if (!strcmp(tok, "q")) parts |= GAZE_RUN_PART_Q;
        else if (!strcmp(tok, "k")) parts |= GAZE_RUN_PART_K;
        else if (!strcmp(tok, "hidden")) parts |= GAZE_RUN_PART_HIDDEN;
        else if (!strcmp(tok, "all")) parts |= GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K | GAZE_RUN_PART_HIDDEN;
        else { fprintf(stderr, "gaze run: --capture: unknown part '%s' (attn, scores, q, k, hidden, all)\n", tok); *ok = false; }
    }
    return parts;
}

// TODO(h3): use gaze terminal sanitiser
// Writes generated text s[0..n) (whole UTF-8 characters) to f with control characters escaped
// (\xNN, C1 as \u00NN) except newline and tab, so a model cannot drive the terminal.
static void put_text(FILE * f, const char * s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) fprintf(f, "\\x%02x", c);
        else if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F)
            fprintf(f, "\\u%04x", (unsigned char)s[++i]);
        else fputc(c, f);
    }
}

// The generation stream (gaze_run_opts.on_token): each token's text on stdout as it comes.
struct stream { bool any, newline; };
static void on_token(void * user, int64_t step, int32_t id, const char * text, size_t len) {
    struct stream * st = user;
    put_text(stdout, text, len);
    fflush(stdout);
    if (len) { st->any = true; st->newline = text[len - 1] == '\n'; }
}

int cmd_run(int argc, char ** argv) {
    const char * model_path = NULL, * text = NULL, * pair = NULL, * out = NULL;
    const char * layers_s = NULL, * heads_s = NULL;
    struct gaze_run_opts opts = { 0 };
    bool f16 = false, quiet = false, exact = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) { if (!v) return usage(); out = v; i++; }
        else if (!strcmp(a, "--pair")) { if (!v) return usage(); pair = v; i++; }
        else if (!strcmp(a, "--layers")) { if (!v) return usage(); layers_s = v; i++; }
        else if (!strcmp(a, "--heads")) { if (!v) return usage(); heads_s = v; i++; }
        else if (!strcmp(a, "--capture")) { if (!v) return usage(); bool ok; opts.parts = parse_parts(v, &ok); if (!ok) return 2; i++; }
        else if (!strcmp(a, "--f16")) f16 = true;
        else if (!strcmp(a, "--truncate")) opts.truncate = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (!strcmp(a, "--exact")) exact = true;
        else if (!strcmp(a, "--max-len")) { if (!v) return usage(); opts.max_len = atoll(v); i++; }
        else if (!strcmp(a, "--generate")) { if (!v) return usage(); opts.generate = atoll(v); i++; }
        else if (!strcmp(a, "--temperature")) { if (!v) return usage(); opts.temperature = strtof(v, NULL); i++; }
        else if (!strcmp(a, "--top-p")) { if (!v) return usage(); opts.top_p = strtof(v, NULL); i++; }
        else if (!strcmp(a, "--seed")) { if (!v) return usage(); opts.seed = strtoull(v, NULL, 10); i++; }
        else if (!strcmp(a, "--threads")) { if (!v) return usage(); opts.n_threads = atoi(v); i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze run: unknown flag '%s'\n", a); return usage(); }
        else if (!model_path) model_path = a;
        else if (!text) text = a;
        else { fprintf(stderr, "gaze run: unexpected argument '%s'\n", a); return usage(); }
    }
    if (!model_path || !text) return usage();
    if (opts.generate < 0 || opts.temperature < 0 || opts.top_p < 0 || opts.top_p > 1) {
        fprintf(stderr, "gaze run: --generate must be >= 0, --temperature >= 0, --top-p in [0, 1]\n");
        return 2;
    }

    struct gaze_model * model = NULL;
    enum gaze_status s = cli_model_load(&model, model_path, "run", quiet);
    if (s) return cli_fail(s);
    if (exact && (s = gaze_model_set_exact(model, true))) { gaze_model_free(model); return cli_fail(s); }
    const struct gaze_model_info * info = gaze_model_info(model);
    int rc = 0;
    int64_t * layers = NULL, * heads = NULL;
    if (layers_s && (rc = cli_parse_index_list("--layers", layers_s, info->n_layers, &layers, &opts.n_layers))) goto done;
    if (heads_s && (rc = cli_parse_index_list("--heads", heads_s, info->n_heads, &heads, &opts.n_heads))) goto done;
    opts.layers = layers;
    opts.heads = heads;

    // the generated text as it is produced, to stdout even when piped (what `| cat` wants to
    // see); the summary follows it
    struct stream stream = { false, false };
    if (!quiet && opts.generate > 0) { opts.on_token = on_token; opts.on_token_user = &stream; }
    struct gaze_run run;
    s = gaze_model_run(model, text, pair, &opts, &run);
    if (stream.any && !stream.newline) putchar('\n');
    if (s) { rc = cli_fail(s); goto done; }
    if (out && (s = gaze_run_save(&run, out, f16))) rc = cli_fail(s);
    if (!rc && !quiet) {
        printf("%s (%s, %lld layers x %lld heads): %lld tokens", info->path, info->arch_name,
               (long long)info->n_layers, (long long)info->n_heads, (long long)run.T);
        if (run.n_generated) printf(" (%lld generated)", (long long)run.n_generated);
        printf("\n");
        for (int64_t t = 0; t < run.T; t++) printf("%s%s", t ? " " : "  ", run.tokens[t]);
        printf("\n");
        if (out) printf("captured %lld layers x %lld heads -> %s\n", (long long)run.n_cap_layers,
                        (long long)run.n_heads_cap, out);
    }
    gaze_run_free(&run);
done:
    free(layers);
    free(heads);
    gaze_model_free(model);
    return rc;
}
