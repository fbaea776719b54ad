// gaze run MODEL "text": tokenizes, runs the model, captures attention (and Q/K/scores/hidden
// on request) and writes one run file that every other command reads.
#include "cli.h"
#include <math.h>
#include "progress.h"
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// --chat: the text as one user message in the model's own chat format (gaze_tokenizer_chat).
static int chat_wrap(const struct gaze_model_info * info, bool quiet, const char ** text, char ** buf) {
    if (!info->causal) {
        fprintf(stderr, "gaze run: --chat is for decoders; %s is an encoder\n", cli_safe(info->path));
        return 2;
    }
    struct gaze_tokenizer * tok = NULL;
    struct gaze_chat_style st;
    enum gaze_status s = gaze_tokenizer_open(info->path, &tok);
    if (!s && gaze_tokenizer_chat_template(tok)) s = gaze_chat_detect(gaze_tokenizer_chat_template(tok), &st);
    if (!s) s = gaze_tokenizer_chat(tok, *text, buf);
    const bool builtin = gaze_tokenizer_chat_template_builtin(tok);
    gaze_tokenizer_free(tok);
    if (s) return cli_fail(s);
    if (!quiet && builtin)
        fprintf(stderr, "gaze run: --chat: the model has no chat template; the text wrapped as a user message in gaze's "
                "built-in %s template for its architecture (Gemma 3's official one)\n", gaze_chat_format_name(st.format));
    else if (!quiet) fprintf(stderr, "gaze run: --chat: the text wrapped as a user message in the model's %s chat template\n",
                             gaze_chat_format_name(st.format));
    *text = *buf;
    return 0;
}

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze run MODEL \"text\" [flags]\n"
            "       gaze run MODEL -f FILE|- [flags]\n"
            "       gaze run VISION-MODEL IMAGE.png|.jpg [flags]   (ViT, DeiT, DINOv2, CLIP, SigLIP)\n"
            "       gaze run CLIP|SIGLIP-MODEL IMAGE --text \"a photo of a cat\" [--text ...] [flags]\n"
            "  MODEL: a Hugging Face BERT folder, a .gguf file, or a fetched name (minilm, smollm2)\n"
            "  -f FILE          read the text from FILE ('-': standard input), for inputs longer than a\n"
            "                   command line allows; UTF-8, at most 64 MiB, one trailing newline dropped\n"
            "  -o, --out FILE   save the run (captured attention, and what --capture adds) to FILE; without\n"
            "                   it nothing is saved and gaze run says so\n"
            "  --pair \"B\"       encoders: the second sentence of a pair (default: none)\n"
            "  --image-size WxH vision (ViT, DeiT, CLIP; DINOv2 interpolates on its own): resize the image to\n"
            "                   W x H (no centre crop; multiples of the patch size) and interpolate the\n"
            "                   position embeddings to that grid, as transformers' interpolate_pos_encoding\n"
            "                   (default: the processor's size)\n"
            "  --text \"T\"       CLIP (a whole CLIPModel folder) with an image: also run the text tower on T\n"
            "                   (repeatable, at most 64), print the image-text similarity (logits_per_image,\n"
            "                   softmax over the texts) and keep each text's attention in the run file;\n"
            "                   SigLIP (a whole SiglipModel): texts padded to max_position_embeddings, logits\n"
            "                   exp(logit_scale) x cosine + logit_bias, each through a sigmoid. With -o, each\n"
            "                   vision head is also zeroed in turn (layers x heads + 1 image passes, shared by\n"
            "                   the texts) and each logit's drop saved, so that gaze plot --kind clip draws\n"
            "                   each text's ablation-weighted rollout (as gaze rollout CLIP IMAGE --text)\n"
            "  --no-head-drops  with --text: skip those passes (the figure then shows the plain rollout)\n"
            "  --layers 0,2-4   layers to capture (default: every layer)\n"
            "  --heads 0-3      query heads to capture (default: every head)\n"
            "  --capture LIST   what to save: attn, scores, q, k, hidden, summary or all, comma-separated, or\n"
            "                   none (nothing captured: timing runs) (default: attn)\n"
            "  --f16            store the tensors as float16 (half the size; default: float32)\n"
            "  --summary        capture attention summaries instead of full weights (with --capture: as\n"
            "                   well): per row entropy, top-k keys, sink and local-window mass, per block\n"
            "                   mean and max weight, computed inside the attention pass (O(T) per head)\n"
            "  --summary-k K    top keys per row, 1..256 (default: 8)\n"
            "  --summary-block B  block side of the summary grid, a power of two 1..64 (default: 64)\n"
            "  --summary-window W  local window: the W keys ending at the row's own token (default: 16)\n"
            "  --summary-above SIZE  decoders: capture summaries instead when the full weights would take\n"
            "                   more than SIZE, e.g. 512M (default: 1G; 0 = never)\n"
            "  --truncate       cut an input longer than the model takes: encoders keep the first tokens,\n"
            "                   decoders the last ones (default: refuse it with an error)\n"
            "  --max-len N      encoders: keep at most N tokens, special tokens included (implies\n"
            "                   truncation; default: the model's position count)\n"
            "  --chat           decoders: wrap the text as one user message in the model's chat template\n"
            "                   (ChatML, Llama 3, Gemma, Mistral [INST]; default: the text as given)\n"
            "  --generate N     decoders: generate N tokens after the prompt; encoder-decoders: up to N\n"
            "                   target tokens, streamed to stdout as they come (default: 0)\n"
            "  --beams N        encoder-decoders with --generate: beam search of width N, 1..5, as\n"
            "                   transformers' num_beams (1 = greedy; default: the folder's num_beams)\n"
            "  --temperature T  with --generate: sampling temperature, >= 0 (default: 0 = greedy decoding)\n"
            "  --top-p P        with --generate and T > 0: nucleus sampling, in [0, 1] (default: off)\n"
            "  --seed S         with --generate and T > 0: sampling seed (default: a fixed seed)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --max-memory SIZE  what the run may allocate (capture, KV cache, work buffers), e.g. 512M,\n"
            "                   4G; refused before any work when the estimate is larger (default: half\n"
            "                   the machine's memory)\n"
            "  --exact          quantized models: multiply f32-dequantized weights, as transformers' GGUF\n"
            "                   loader (default: quantized arithmetic, as llama.cpp)\n"
            "  -q, --quiet      print nothing but errors and warnings\n");
    return f == stdout ? 0 : 2;
}

// SIZE: bytes with an optional K, M, G or T suffix (powers of 1024); 0 on anything else.
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
        else if (!strcmp(tok, "summary")) parts |= GAZE_RUN_PART_SUMMARY;
        else if (!strcmp(tok, "none")) parts |= 1u << 31;   // capture off (timing runs)
        else if (!strcmp(tok, "all")) parts |= GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K | GAZE_RUN_PART_HIDDEN;
        else { fprintf(stderr, "gaze run: --capture: unknown part '%s' (attn, scores, q, k, hidden, all)\n", tok); *ok = false; }
    }
    return parts;
}

// Writes generated text s[0..n) (whole UTF-8 characters) to f through the terminal sanitiser
// (gaze_term_escape: C0, DEL, C1, bidi controls made visible), newlines and tabs kept as they
// are, so the text reads as text and a model cannot drive the terminal.
static void put_text(FILE * f, const char * s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '\n' && s[j] != '\t') j++;
        if (j > i) {
            char buf[1024];
            const size_t need = gaze_term_escape(buf, sizeof buf, s + i, j - i);
            char * big = need < sizeof buf ? NULL : malloc(need + 1);
            if (big) gaze_term_escape(big, need + 1, s + i, j - i);
            fputs(big ? big : buf, f);
            free(big);
        }
        if (j < n) fputc(s[j], f);
        i = j + 1;
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
    const char * model_path = NULL, * text = NULL, * pair = NULL, * out = NULL, * file = NULL;
    const char * layers_s = NULL, * heads_s = NULL;
    struct gaze_run_opts opts = { 0 };
    opts.summary_above = (int64_t)1 << 30;
    bool summary = false, head_drops = true;
    const char * clip_texts[64];
    int n_clip_texts = 0;
    bool beams_set = false;
    bool f16 = false, quiet = false, exact = false, temp_set = false, top_p_set = false, seed_set = false, chat = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) { if (!v) return usage(stderr); out = v; i++; }
        else if (!strcmp(a, "-f")) { if (!v) return usage(stderr); file = v; i++; }
        else if (!strcmp(a, "--pair")) { if (!v) return usage(stderr); pair = v; i++; }
        else if (!strcmp(a, "--image-size")) {
            if (cli_image_size("run", v, &opts.image_w, &opts.image_h)) return 2;
            i++;
        }
        else if (!strcmp(a, "--text")) {
            if (!v) return usage(stderr);
            if (n_clip_texts == 64) { fprintf(stderr, "gaze run: --text: at most 64 texts\n"); return 2; }
            clip_texts[n_clip_texts++] = v;
            i++;
        }
        else if (!strcmp(a, "--no-head-drops")) head_drops = false;
        else if (!strcmp(a, "--layers")) { if (!v) return usage(stderr); layers_s = v; i++; }
        else if (!strcmp(a, "--heads")) { if (!v) return usage(stderr); heads_s = v; i++; }
        else if (!strcmp(a, "--capture")) { if (!v) return usage(stderr); bool ok; opts.parts = parse_parts(v, &ok); if (!ok) return 2; i++; }
        else if (!strcmp(a, "--f16")) f16 = true;
        else if (!strcmp(a, "--summary")) summary = true;
        else if (!strcmp(a, "--summary-k")) { if (cli_int32("run", a, v, 1, 256, &opts.summary_k)) return 2; summary = true; i++; }
        else if (!strcmp(a, "--summary-block")) {
            if (cli_int32("run", a, v, 1, 64, &opts.summary_block)) return 2;
            if (opts.summary_block & (opts.summary_block - 1)) {
                fprintf(stderr, "gaze run: --summary-block %d: must be a power of two (1, 2, 4, ..., 64)\n", (int)opts.summary_block);
                return 2;
            }
            summary = true; i++;
        }
        else if (!strcmp(a, "--summary-window")) { if (cli_int32("run", a, v, 1, INT32_MAX, &opts.summary_window)) return 2; summary = true; i++; }
        else if (!strcmp(a, "--summary-above")) { if (cli_size("run", a, v, &opts.summary_above)) return 2; i++; }
        else if (!strcmp(a, "--truncate")) opts.truncate = true;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = true;
        else if (!strcmp(a, "--exact")) exact = true;
        else if (!strcmp(a, "--chat")) chat = true;
        else if (!strcmp(a, "--max-len")) { if (cli_int("run", a, v, 1, INT32_MAX, &opts.max_len)) return 2; i++; }
        else if (!strcmp(a, "--generate")) { if (cli_int("run", a, v, 0, 1 << 20, &opts.generate)) return 2; i++; }
        else if (!strcmp(a, "--beams")) { if (cli_int32("run", a, v, 1, 5, &opts.beams)) return 2; beams_set = true; i++; }
        else if (!strcmp(a, "--temperature")) { if (cli_float("run", a, v, 0, INFINITY, 0, &opts.temperature)) return 2; temp_set = true; i++; }
        else if (!strcmp(a, "--top-p")) { if (cli_float("run", a, v, 0, 1, 0, &opts.top_p)) return 2; top_p_set = true; i++; }
        else if (!strcmp(a, "--seed")) { if (cli_u64("run", a, v, &opts.seed)) return 2; seed_set = true; i++; }
        else if (!strcmp(a, "--threads")) { if (cli_int32("run", a, v, 0, 4096, &opts.n_threads)) return 2; i++; }
        else if (!strcmp(a, "--max-memory")) { if (cli_size("run", a, v, &opts.max_memory)) return 2; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze run: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!model_path) model_path = a;
        else if (!text) text = a;
        else { fprintf(stderr, "gaze run: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (!model_path || (!text && !file)) return usage(stderr);
    // --summary alone: summaries in place of the weights; with --capture: beside what it lists
    if (opts.parts & (1u << 31)) {
        if (opts.parts != (1u << 31) || summary || out) {
            fprintf(stderr, "gaze run: --capture none keeps nothing: give it alone, without -o or --summary\n");
            return 2;
        }
        opts.parts = 0;
        opts.no_capture = true;
    }
    if (summary) opts.parts = (opts.parts ? opts.parts : 0) | GAZE_RUN_PART_SUMMARY;
    const bool asked_summary = opts.parts & GAZE_RUN_PART_SUMMARY;
    if (f16 && !out) { fprintf(stderr, "gaze run: --f16 sets how -o FILE stores the tensors: give -o FILE too\n"); return 2; }
    // Sampling flags only mean something when tokens are generated and sampled.
    if ((temp_set || top_p_set || seed_set) && !opts.generate) {
        fprintf(stderr, "gaze run: %s applies to generation: give --generate N too\n",
                temp_set ? "--temperature" : top_p_set ? "--top-p" : "--seed");
        return 2;
    }
    if (beams_set && !opts.generate) {
        fprintf(stderr, "gaze run: --beams applies to generation: give --generate N too\n");
        return 2;
    }
    if ((top_p_set || seed_set) && !(opts.temperature > 0)) {
        fprintf(stderr, "gaze run: %s applies to sampling, and decoding is greedy: give --temperature T > 0 too\n",
                top_p_set ? "--top-p" : "--seed");
        return 2;
    }
    char * text_buf = NULL, * chat_buf = NULL;
    const char * image = cli_is_image_path(file ? file : text) ? (file ? file : text) : NULL;   // vision models
    if (!image && cli_text_source("run", file, &text, &text_buf)) return 2;

    if (cli_output_check("run", out)) return 1;

    struct gaze_model * model = NULL;
    enum gaze_status s = cli_model_load(&model, model_path, "run", quiet);
    if (s) { free(text_buf); return cli_fail(s); }
    const struct gaze_model_info * info = gaze_model_info(model);
    int rc = 0;
    int64_t * layers = NULL, * heads = NULL;
    if (exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); goto done; }
    if (info->causal && (pair || opts.max_len)) {
        fprintf(stderr, "gaze run: %s is for encoders; %s is a decoder (%s)\n", pair ? "--pair" : "--max-len", model_path,
                pair ? "give one prompt" : "--truncate keeps the last tokens that fit its context");
        rc = 2;
        goto done;
    }
    if (!info->causal && opts.generate && info->arch != GAZE_ARCH_SEQ2SEQ) {
        fprintf(stderr, "gaze run: --generate is for decoders; %s is an encoder (it reads the text, it does not continue it)\n", model_path);
        rc = 2;
        goto done;
    }
    if (beams_set && info->arch != GAZE_ARCH_SEQ2SEQ) {
        fprintf(stderr, "gaze run: --beams is for encoder-decoder models (T5, BART, Marian); %s is not one (decoders "
                "decode greedily or sample: --temperature)\n", cli_safe(model_path));
        rc = 2;
        goto done;
    }
    if (!image != !info->vision) {
        fprintf(stderr, "gaze run: %s is a %s model: give it %s\n", cli_safe(model_path), info->vision ? "vision" : "text",
                info->vision ? "a PNG or JPEG image file" : "text, not an image");
        rc = 2;
        goto done;
    }
    if (cli_image_size_applies("run", opts.image_w, image != NULL)) {
        rc = 2;
        goto done;
    }
    if (image && (pair || opts.max_len || opts.truncate)) {
        fprintf(stderr, "gaze run: %s is for text; an image gives one token per patch\n",
                pair ? "--pair" : opts.max_len ? "--max-len" : "--truncate");
        rc = 2;
        goto done;
    }
    if (n_clip_texts && (!image || gaze_clip_dim(model) == 0)) {
        fprintf(stderr, "gaze run: --text is for a whole CLIP or SigLIP model (CLIPModel, SiglipModel: both towers) "
                "given an image; %s\n", !image ? "no image was given" : "this model has no CLIP/SigLIP text tower");
        rc = 2;
        goto done;
    }
    if (!head_drops && !n_clip_texts) {
        fprintf(stderr, "gaze run: --no-head-drops goes with --text (CLIP/SigLIP image-text runs)\n");
        rc = 2;
        goto done;
    }
    if (layers_s && (rc = cli_parse_index_list("--layers", layers_s, info->n_layers, &layers, &opts.n_layers))) goto done;
    if (heads_s && (rc = cli_parse_index_list("--heads", heads_s, info->n_heads, &heads, &opts.n_heads))) goto done;
    opts.layers = layers;
    opts.heads = heads;
    if (chat && (rc = chat_wrap(info, quiet, &text, &chat_buf))) goto done;

    // the generated text as it is produced, to stdout even when piped (what `| cat` wants to
    // see); the summary follows it
    struct stream stream = { false, false };
    if (!quiet && opts.generate > 0) { opts.on_token = on_token; opts.on_token_user = &stream; }
    struct gaze_run run;
    s = image ? cli_run_image(model, image, &opts, &run, quiet) : gaze_model_run(model, text, pair, &opts, &run);
    if (stream.any && !stream.newline) putchar('\n');
    if (s) { rc = cli_fail(s); goto done; }
    // the head drops feed the figure of the saved run: measured only when it is saved
    if (n_clip_texts && (s = cli_clip_texts(model, &run, clip_texts, n_clip_texts, &opts,
                                            out && head_drops ? image : NULL, quiet))) {
        gaze_run_free(&run);
        rc = cli_fail(s);
        goto done;
    }
    if (out && (s = gaze_run_save(&run, out, f16))) rc = cli_fail(s);
    if (!rc && !quiet) {
        printf("%s (%s, %lld layers x %lld heads): %lld tokens", cli_safe(info->path), cli_safe(info->arch_name),
               (long long)info->n_layers, (long long)info->n_heads, (long long)run.T);
        if (run.n_generated) printf(" (%lld generated)", (long long)run.n_generated);
        printf("\n");
        if (run.patch_rc) cli_print_image_run(model, &run);
        if (run.n_texts) cli_print_clip(&run);
        for (int64_t t = 0; !run.patch_rc && t < run.T; t++) { fputs(t ? " " : "  ", stdout); gaze_term_fputs(stdout, run.tokens[t]); }
        if (!run.patch_rc) printf("\n");
        if (run.decoder) {   // encoder-decoder: the target side (decoder start, then what was generated)
            printf("target: %lld tokens (%lld generated)\n", (long long)run.decoder->T, (long long)run.decoder->n_generated);
            for (int64_t t = 0; t < run.decoder->T; t++) { fputs(t ? " " : "  ", stdout); gaze_term_fputs(stdout, run.decoder->tokens[t]); }
            printf("\n");
        }
        if (out) printf("captured %lld layers x %lld heads -> %s\n", (long long)run.n_cap_layers,
                        (long long)run.n_heads_cap, cli_safe(out));
    }
    const struct gaze_attn_summary * sm = run.n_cap_layers ? &run.layers[0].summary : NULL;
    if (!rc && sm && sm->entropy) {
        // never silent: summaries the user did not ask for replaced the full weights
        if (!asked_summary)
            fprintf(stderr, "gaze run: the full attention of %lld tokens would take more than --summary-above %.0f MiB: "
                    "captured attention summaries instead (--summary-above 0 keeps full weights)\n",
                    (long long)run.T, (double)opts.summary_above / 1048576.0);
        if (!quiet)
            printf("summaries: entropy, top-%d keys, sink, local window %d, %dx%d block mean/max per head\n",
                   (int)sm->top_k, (int)sm->window, (int)sm->block, (int)sm->block);
    }
    // Never silent: without -o the captured tensors are dropped, even with --quiet.
    if (!rc && !out) fprintf(stderr, "gaze run: nothing saved (give -o FILE to keep the run for gaze show, plot, view, ...)\n");
    gaze_run_free(&run);
done:
    free(layers);
    free(heads);
    free(text_buf);
    free(chat_buf);
    gaze_model_free(model);
    return rc;
}
