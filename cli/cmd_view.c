// gaze view: one self-contained, offline HTML page to explore a run (head view, model view,
// heatmap, query/key view, generation steps), from a saved run or a live model.
#include "cli.h"
#include "progress.h"
#include "core/core.h"   // gaze_error
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// "mean,max" or "all" -> bits 1 << GAZE_HEAD_FUSION_*; false when a name is unknown
static bool parse_fusions(const char * v, unsigned * bits) {
    *bits = 0;
    if (!strcmp(v, "all")) { *bits = 7u; return true; }
    char buf[64];
    if (strlen(v) >= sizeof buf) return false;
    strcpy(buf, v);
    for (char * save = NULL, * t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "mean")) *bits |= 1u << GAZE_HEAD_FUSION_MEAN;
        else if (!strcmp(t, "max")) *bits |= 1u << GAZE_HEAD_FUSION_MAX;
        else if (!strcmp(t, "min")) *bits |= 1u << GAZE_HEAD_FUSION_MIN;
        else return false;
    }
    return *bits != 0;
}

static bool parse_fusion(const char * v, enum gaze_head_fusion * f) {
    unsigned b;
    if (!parse_fusions(v, &b) || (b & (b - 1)) || !strcmp(v, "all")) return false;
    *f = b == 1u ? GAZE_HEAD_FUSION_MEAN : b == 2u ? GAZE_HEAD_FUSION_MAX : GAZE_HEAD_FUSION_MIN;
    return true;
}

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze view RUN.safetensors -o OUT.html [flags]\n"
            "       gaze view MODEL \"text\" | MODEL -f FILE|- -o OUT.html [flags]\n"
            "       gaze view VISION-MODEL IMAGE.png|.jpg -o OUT.html [flags]\n"
            "  The page needs no network: open it from disk.\n"
            "  -o, --out FILE        the HTML page to write (required)\n"
            "  -f FILE               read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"            encoders: the second sentence of a pair (default: none)\n"
            "  --generate N          decoders: generate N tokens and show the steps (default: 0)\n"
            "  --exact               quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --image-size WxH      vision models given an image: resize it to W x H (multiples of the patch\n"
            "                        size) and interpolate the position embeddings, as gaze run\n"
            "  --threads N           worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --max-mb M            page size budget in MB, 1..4000 (default: 40): weights are exact (f16)\n"
            "                        when they fit, else 8-bit; beyond that, block means for some layers\n"
            "  --precision P         auto, f16 or u8 (default: auto, as above)\n"
            "  --detail-layers LIST  layers kept exact when blocks are needed, e.g. 0,5-7 (default: layers\n"
            "                        spread over depth)\n"
            "  --no-qk               leave out the query/key view (default: a live model run captures q/k of\n"
            "                        every layer and head)\n"
            "  --title T             page title (default: the model's name)\n"
            "  --view V              panel shown first: head, model, heatmap, qk, steps, rollout, image\n"
            "                        (image runs), align (encoder-decoder runs: the cross-attention\n"
            "                        alignment) or attrib (--attrib; default: image for image runs, else head)\n"
            "  --no-rollout          leave out the rollout / flow panel (default: included)\n"
            "  --fusions LIST        rollout head fusions: all or mean,max,min (default: all three when\n"
            "                        layers x T^3 <= 1e9, else mean)\n"
            "  --discard R           rollout: zero the lowest fraction R of entries, in [0, 1) (default: 0)\n"
            "  --flow-token LIST     attention flow for these output tokens: indices, first, last, all or\n"
            "                        none (default: [CLS] / token 0 for encoders, the last token for decoders,\n"
            "                        only when layers x T^3 <= 5e7: SmolLM2 at 512 tokens takes minutes a token)\n"
            "                        (encoder-decoder runs: the encoder's; the decoder gets the default)\n"
            "  --flow-fusion F       head fusion for the flow: mean, max or min (default: mean)\n"
            "  --time                print how long loading (or running) and writing the page took\n"
            "  --kind K              encoder-decoder runs: the kind the page opens on, encoder, decoder or\n"
            "                        cross (default: encoder; the page holds all three, a selector switches)\n"
            "  --attrib              MODEL \"text\": add the attribution tab (value-norm, residual-norm, ALTI of\n"
            "                        every layer and rolled out; decoders also the logit lens); one more\n"
            "                        forward pass (docs/explain.md)\n"
            "  --value-zeroing       with --attrib: value zeroing too (one layer pass per layer and token)\n");
    return f == stdout ? 0 : 2;
}

int cmd_view(int argc, char ** argv) {
    const char * src = NULL, * text = NULL, * pair = NULL, * out = NULL, * detail_s = NULL, * flow_s = NULL, * file = NULL;
    bool exact = false, timing = false, attrib_on = false, vzero_on = false;
    int64_t generate = 0, threads = 0, max_mb = 0, image_w = 0, image_h = 0;
    int kind = -1;
    struct gaze_html_opts o = { 0 };
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        const bool takes = !strcmp(a, "-o") || !strcmp(a, "--out") || !strcmp(a, "--pair") || !strcmp(a, "--generate") ||
                           !strcmp(a, "--threads") || !strcmp(a, "--max-mb") || !strcmp(a, "--precision") ||
                           !strcmp(a, "--detail-layers") || !strcmp(a, "--title") || !strcmp(a, "--view") ||
                           !strcmp(a, "--fusions") || !strcmp(a, "--discard") || !strcmp(a, "--flow-token") ||
                           !strcmp(a, "--flow-fusion") || !strcmp(a, "-f") || !strcmp(a, "--kind") ||
                           !strcmp(a, "--image-size");
        if (takes && !v) { fprintf(stderr, "gaze view: %s needs a value\n", a); return usage(stderr); }
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--image-size")) { if (cli_image_size("view", v, &image_w, &image_h)) return 2; }
        else if (!strcmp(a, "-f")) file = v;
        else if (!strcmp(a, "--kind")) { if (cli_parse_kind("view", v, &kind)) return 2; }
        else if (!strcmp(a, "--pair")) pair = v;
        else if (!strcmp(a, "--generate")) {
            if (cli_int("view", a, v, 0, 1 << 20, &generate)) return 2;
        } else if (!strcmp(a, "--threads")) {
            if (cli_int("view", a, v, 0, 4096, &threads)) return 2;
        } else if (!strcmp(a, "--max-mb")) {
            if (cli_int("view", a, v, 1, 4000, &max_mb)) return 2;
        } else if (!strcmp(a, "--precision")) {
            if (!strcmp(v, "auto")) o.precision = GAZE_HTML_PRECISION_AUTO;
            else if (!strcmp(v, "f16")) o.precision = GAZE_HTML_PRECISION_F16;
            else if (!strcmp(v, "u8")) o.precision = GAZE_HTML_PRECISION_U8;
            else { fprintf(stderr, "gaze view: --precision: '%s' is not auto, f16 or u8\n", v); return 2; }
        } else if (!strcmp(a, "--detail-layers")) detail_s = v;
        else if (!strcmp(a, "--title")) o.title = v;
        else if (!strcmp(a, "--view")) {
            if (strcmp(v, "head") && strcmp(v, "model") && strcmp(v, "heatmap") && strcmp(v, "qk") && strcmp(v, "steps") &&
                strcmp(v, "rollout") && strcmp(v, "image") && strcmp(v, "align") && strcmp(v, "attrib")) {
                fprintf(stderr, "gaze view: --view: '%s' is not head, model, heatmap, qk, steps, rollout, image, align or attrib\n", v);
                return 2;
            }
            o.view = v;
        } else if (!strcmp(a, "--fusions")) {
            if (!parse_fusions(v, &o.rollout_fusions)) { fprintf(stderr, "gaze view: --fusions: '%s' is not all or a list of mean, max, min\n", v); return 2; }
        } else if (!strcmp(a, "--flow-fusion")) {
            if (!parse_fusion(v, &o.flow_fusion)) { fprintf(stderr, "gaze view: --flow-fusion: '%s' is not mean, max or min\n", v); return 2; }
        } else if (!strcmp(a, "--discard")) {
            if (cli_double("view", a, v, 0, 1, CLI_OPEN_HI, &o.rollout_discard)) return 2;
        } else if (!strcmp(a, "--flow-token")) flow_s = v;
        else if (!strcmp(a, "--no-rollout")) o.no_rollout = true;
        else if (!strcmp(a, "--no-qk")) o.no_qk = true;
        else if (!strcmp(a, "--exact")) exact = true;
        else if (!strcmp(a, "--time")) timing = true;
        else if (!strcmp(a, "--attrib")) attrib_on = true;
        else if (!strcmp(a, "--value-zeroing")) vzero_on = true;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze view: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src) src = a;
        else if (!text) text = a;
        else { fprintf(stderr, "gaze view: unexpected argument '%s'\n", a); return usage(stderr); }
        if (takes) i++;
    }
    if (!src) return usage(stderr);
    if (!out) { fprintf(stderr, "gaze view: give the output file with -o OUT.html\n"); return 2; }
    if (cli_output_check("view", out)) return 1;
    o.max_bytes = (size_t)max_mb * 1000 * 1000;

    char * text_buf = NULL;
    if (cli_text_source("view", file, &text, &text_buf)) return 2;
    const bool live = text != NULL;
    if ((attrib_on || vzero_on) && (!live || generate || !attrib_on)) {
        fprintf(stderr, "gaze view: %s\n", !attrib_on ? "--value-zeroing goes with --attrib"
                : !live ? "--attrib computes the attributions in the forward pass: give MODEL \"text\", not a run file"
                        : "--attrib covers the prompt's tokens: leave out --generate");
        free(text_buf);
        return 2;
    }
    if (o.view && !strcmp(o.view, "attrib") && !attrib_on) {
        fprintf(stderr, "gaze view: --view attrib needs --attrib\n");
        free(text_buf);
        return 2;
    }
    struct gaze_attrib attrib = { 0 };
    struct gaze_lens lens = { 0 };
    struct gaze_run run;
    gaze_run_init(&run);
    enum gaze_status s;
    const double t0 = 1e3 * cli_now();
    int rc = 0;
    int64_t * detail = NULL, * flow = NULL, flow_one = 0;
    if (!text && cli_image_size_applies("view", image_w, false)) return 2;
    if (!text) {
        if ((rc = cli_need_run_file("view", src))) return rc;
        if (pair || generate || exact) { fprintf(stderr, "gaze view: --pair, --generate and --exact need MODEL \"text\", not a run file\n"); return 2; }
        if ((s = gaze_run_load(&run, src))) return cli_fail(s);
        if ((rc = cli_summary_blocks("view", &run, 256))) { gaze_run_free(&run); return rc; }
    } else {
        struct gaze_model * model = NULL;
        if ((s = cli_model_load(&model, src, "view", false))) { free(text_buf); return cli_fail(s); }
        if (exact && (s = gaze_model_set_exact(model, true))) { gaze_model_free(model); free(text_buf); return cli_fail(s); }
        if (gaze_model_info(model)->causal ? pair != NULL : generate > 0) {
            fprintf(stderr, "gaze view: %s\n", pair ? "--pair is for encoders; this model is a decoder (give one prompt)"
                                                   : "--generate is for decoders; this model is an encoder");
            gaze_model_free(model);
            free(text_buf);
            return 2;
        }
        struct gaze_run_opts ropts = { 0 };
        ropts.parts = GAZE_RUN_PART_ATTN | (o.no_qk ? 0u : (unsigned)(GAZE_RUN_PART_Q | GAZE_RUN_PART_K));
        ropts.generate = generate;
        ropts.n_threads = (int)threads;
        // vision models: the "text" is an image file (an image run, opened on the image tab)
        const bool vision = gaze_model_info(model)->vision, image = cli_is_image_path(text);
        ropts.image_w = image_w;
        ropts.image_h = image_h;
        if (cli_image_size_applies("view", image_w, image)) { gaze_model_free(model); free(text_buf); return 2; }
        if (vision != image || (image && pair)) {
            fprintf(stderr, "gaze view: %s\n", image && pair ? "--pair is for text; an image gives one token per patch"
                    : vision ? "a vision model: give it a PNG or JPEG image file" : "this model takes text, not an image");
            gaze_model_free(model);
            free(text_buf);
            return 2;
        }
        s = image ? cli_run_image(model, text, &ropts, &run, true) : gaze_model_run(model, text, pair, &ropts, &run);
        if (!s && attrib_on) {   // a second pass of the same text: the attributions want no q/k capture
            if (image) s = gaze_error(GAZE_ERR_UNSUPPORTED, "gaze view: --attrib: attributions are for text models");
            struct gaze_run arun;
            gaze_run_init(&arun);
            attrib.want = GAZE_ATTRIB_VNORM | GAZE_ATTRIB_RESLN | GAZE_ATTRIB_ALTI | (vzero_on ? GAZE_ATTRIB_VZERO : 0u);
            const struct gaze_run_opts ao = { .n_threads = (int)threads, .no_capture = true, .attrib = &attrib };
            if (!s) s = gaze_model_run(model, text, pair, &ao, &arun);
            gaze_run_free(&arun);
            if (!s && gaze_model_info(model)->causal) s = gaze_logit_lens(model, text, 5, (int)threads, &lens);
            if (!s) {
                o.attrib = &attrib;
                o.lens = lens.n_layers ? &lens : NULL;
            }
        }
        gaze_model_free(model);
        free(text_buf);
        if (s) return cli_fail(s);
    }
    const bool encdec = run.decoder || run.cross;
    if (encdec) {   // one page with every kind; --kind is the one it opens on
        o.kind = kind < 0 ? GAZE_KIND_ENCODER : (enum gaze_kind)kind;
        if (!gaze_run_select_kind(&run, o.kind)) {
            fprintf(stderr, "gaze view: --kind %s: %s\n", gaze_kind_name(o.kind), gaze_last_error());
            rc = 2;
            goto done;
        }
        if (o.view && !strcmp(o.view, "align") && !run.cross) {
            fprintf(stderr, "gaze view: --view align: the run holds no cross attention to align\n");
            rc = 2;
            goto done;
        }
    } else if (o.view && !strcmp(o.view, "align")) {
        fprintf(stderr, "gaze view: --view align is for encoder-decoder runs (cross-attention); this run has one kind\n");
        rc = 2;
        goto done;
    } else if ((rc = cli_select_kind("view", &run, kind, false))) goto done;
    if (detail_s) {
        if ((rc = cli_parse_index_list("--detail-layers", detail_s, run.n_layers, &detail, &o.n_detail_layers))) goto done;
        o.detail_layers = detail;
    }
    o.n_threads = (int)threads;
    if (flow_s) {
        if (!strcmp(flow_s, "all")) o.flow_all = true;
        else if (!strcmp(flow_s, "none")) o.no_flow = true;
        else if (!strcmp(flow_s, "first") || !strcmp(flow_s, "last")) {
            flow_one = !strcmp(flow_s, "first") ? 0 : run.T - 1;   // (encoder-decoder runs: the encoder's tokens)
            o.flow_tokens = &flow_one;
            o.n_flow_tokens = 1;
        } else {
            if ((rc = cli_parse_index_list("--flow-token", flow_s, run.T, &flow, &o.n_flow_tokens))) goto done;
            o.flow_tokens = flow;
        }
    }
    struct gaze_html_info info;
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze view: attention flow", false);
    o.progress = cli_progress_hook(&bar);
    const double t1 = 1e3 * cli_now();
    s = gaze_html_write(&run, out, &o, &info);
    cli_progress_clear(&bar);
    if (s) { rc = cli_fail(s); goto done; }
    const double t2 = 1e3 * cli_now();
    printf("wrote %s (%.1f MB): %lld maps, %lld exact (%s)", cli_safe(out), (double)info.bytes / 1e6, (long long)info.n_maps,
           (long long)info.n_exact, gaze_html_precision_name(info.precision));
    if (info.n_summary) printf(", %lld as block means of %lldx%lld tokens", (long long)info.n_summary, (long long)info.block, (long long)info.block);
    if (info.n_qk) printf(", q/k for %lld", (long long)info.n_qk);
    if (info.n_rollout_fusions) printf(", rollout (%d fusion%s), flow for %lld token%s", info.n_rollout_fusions,
                                       info.n_rollout_fusions > 1 ? "s" : "", (long long)info.n_flow, info.n_flow == 1 ? "" : "s");
    if (o.attrib) printf(", attributions of %lld layers (value-norm, residual-norm, ALTI%s)%s", (long long)attrib.n_layers,
                         attrib.vzero ? ", value zeroing" : "", o.lens ? " and the logit lens" : "");
    printf("\n");
    if (info.n_kinds > 1) {
        const unsigned kinds = gaze_run_kinds(&run);
        printf("encoder-decoder run: %d kinds on the page (", info.n_kinds);
        for (int k = 0, m = 0; k < 3; k++)
            if (kinds & (1u << k)) printf("%s%s", m++ ? ", " : "", gaze_kind_name((enum gaze_kind)k));
        printf("; a selector switches them%s), opening on %s\n", run.cross ? ", cross-attention also in the alignment view" : "",
               gaze_kind_name(o.kind));
    }
    if (timing) printf("time: %s %.1f ms, page %.1f ms (%lld tokens; of which rollout %.1f ms, flow %.1f ms)\n", live ? "model run" : "load",
                       t1 - t0, t2 - t1, (long long)run.T, info.rollout_ms, info.flow_ms);
done:
    free(detail);
    free(flow);
    gaze_attrib_free(&attrib);
    gaze_lens_free(&lens);
    gaze_run_free(&run);
    return rc;
}
