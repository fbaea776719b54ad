// gaze view pages (render/html.c): SHA-256/base64 against the standard vectors; the embedded
// assets match their sources; pages of synthetic runs with hostile tokens are pure ASCII, hold
// exactly the three expected <script> elements and one <style>, never a hostile string as
// markup, and CSP hashes that match the inline script and style; the JSON block round-trips
// every token; the payload decodes (f16 bit-exact, u8 within its bound, summaries = block
// means) under every size tier; errors for impossible caps and runs without attention; the
// rollout / flow block decodes to gaze_rollout's and gaze_attention_flow's values (f16 of the
// double, bit for bit) for encoder and causal runs, every fusion, chosen flow tokens; runs
// that cannot have rollout (query-row subsets) and --no-rollout say why.
//
// `test_html --write-fixtures DIR` writes the synthetic runs (hostile.safetensors: a BERT-like
// pair; decoder.safetensors: a causal run with generated tokens) for tests/e2e_view.sh.
#include "gaze.h"
#include "check.h"
#include "core/sha256.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

extern const char gaze_viewer_js[];
extern const char gaze_viewer_css[];

static uint64_t rng = 0x5EED5EEDULL;   // printed below; fixed so failures reproduce
static double urand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* ---- synthetic runs ------------------------------------------------------------------------ */

// BERT-like sentence pair whose tokens try every trick against an HTML page.
static const char * const HOSTILE[] = {
    "[CLS]", "</script>", "<img src=x onerror=alert(1)>", "\"quoted'", "`tick`", "<!--", "\xe2\x80\xa8",
    "\x01\x02" "ctl\x7f", "\xff\xfe", "##ing", "]]>", "&amp;", "\\u003c/script", "\xf0\x9f\x98\x80", "[SEP]",
    "<svg/onload=alert(2)>", "b", "##\xe2\x80\xa9", "</SCRIPT ", "[SEP]",
};
#define N_HOSTILE ((int64_t)(sizeof HOSTILE / sizeof HOSTILE[0]))
static const char HOSTILE_TEXT[] = "</script><script>alert(1)</script> & \"<b>x</b>\" \xe2\x80\xa8 <!-- end";
static const char HOSTILE_PAIR[] = "<img src=x onerror=alert(2)> \xf0\x9f\x98\x80";

// A decoder run: chat markers, byte-level pieces, generated tokens at the end.
static const char * const DECODER[] = {
    "<|im_start|>", "user", "\n", " </script>", "<img", " src", "=x", " onerror", "=alert(1)>", " hi",
    "<|im_end|>", "\n", " The", " answer", " is", "\xef\xbf\xbd", " 42",
};
#define N_DECODER ((int64_t)(sizeof DECODER / sizeof DECODER[0]))

struct synth {
    const char * arch;
    const char * model;
    bool    causal, pair, qk;
    int64_t L, H, d, n_gen;
    int64_t T;                     // tokens: from list (cycled) when longer than it
    const char * const * toks;
    int64_t n_toks;
    bool    subset;                // capture heads 1 and 3 only, and the even rows plus the
                                   // generated ones
};

// Attention = softmax(q·k / sqrt(d)) over the visible keys, so the page's q/k view can check it.
static enum gaze_status make_run(struct gaze_run * run, const struct synth * s) {
    gaze_run_init(run);
    const int64_t T = s->T;
    const char ** toks = malloc((size_t)T * sizeof *toks);
    int32_t * ids = malloc((size_t)T * sizeof *ids);
    for (int64_t t = 0; t < T; t++) { toks[t] = s->toks[t % s->n_toks]; ids[t] = (int32_t)(t % s->n_toks) + 5; }
    enum gaze_status st = gaze_run_set_tokens(run, T, toks, NULL, ids, NULL);
    free(toks);
    free(ids);
    if (st) return st;
    run->model = strdup(s->model);
    run->arch = strdup(s->arch);
    run->causal = s->causal;
    run->n_layers = s->L + 1;   // the last layer is not captured: layer indices need not be dense
    run->n_heads = s->H;
    run->n_kv_heads = s->H;
    run->d_head = s->d;
    run->n_generated = s->n_gen;
    run->text = strdup(s->pair ? HOSTILE_TEXT : "</script> user prompt \xe2\x80\xa8");
    if (s->pair) {
        run->pair = strdup(HOSTILE_PAIR);
        run->sequence_ids = malloc((size_t)T);
        run->token_type_ids = malloc((size_t)T * sizeof *run->token_type_ids);
        int seg = 0;
        for (int64_t t = 0; t < T; t++) {
            const bool sp = !strcmp(run->tokens[t], "[CLS]") || !strcmp(run->tokens[t], "[SEP]");
            run->sequence_ids[t] = sp ? -1 : (int8_t)seg;
            run->token_type_ids[t] = seg;
            if (!strcmp(run->tokens[t], "[SEP]")) seg = 1;
        }
    }
    int64_t rows[4096], n_rows = 0;
    static const int64_t sub_heads[2] = { 1, 3 };
    for (int64_t t = 0; t < T; t++) if (!s->subset || t % 2 == 0 || t >= T - s->n_gen) rows[n_rows++] = t;
    if ((st = gaze_run_set_capture(run, s->subset ? sub_heads : NULL, 2, s->subset ? rows : NULL, n_rows))) return st;
    const int64_t Hc = run->n_heads_cap, Tq = run->Tq;
    const double scale = 1.0 / sqrt((double)s->d);
    for (int64_t l = 0; l < s->L; l++) {
        struct gaze_run_layer * ly;
        unsigned parts = GAZE_RUN_PART_ATTN | (s->qk ? GAZE_RUN_PART_Q | GAZE_RUN_PART_K : 0u);
        if ((st = gaze_run_add_layer(run, l, parts, &ly))) return st;
        float * q = s->qk ? ly->q : malloc((size_t)(Hc * Tq * s->d) * sizeof *q);   // [Hc, Tq, d]
        float * k = s->qk ? ly->k : malloc((size_t)(Hc * T * s->d) * sizeof *k);    // [Hc, T, d]
        for (int64_t i = 0; i < Hc * Tq * s->d; i++) q[i] = (float)(4 * urand() - 2);
        for (int64_t i = 0; i < Hc * T * s->d; i++) k[i] = (float)(4 * urand() - 2);
        for (int64_t h = 0; h < Hc; h++)
            for (int64_t r = 0; r < Tq; r++) {
                const int64_t i = run->q_rows[r];
                float * row = ly->attn + (h * Tq + r) * T;
                const int64_t n = s->causal ? i + 1 : T;
                double mx = -1e300, z = 0, sc[4096];
                for (int64_t j = 0; j < n; j++) {
                    double dot = 0;
                    for (int64_t t = 0; t < s->d; t++) dot += (double)q[(h * Tq + r) * s->d + t] * k[(h * T + j) * s->d + t];
                    sc[j] = dot * scale;
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int64_t j = 0; j < n; j++) z += exp(sc[j] - mx);
                for (int64_t j = 0; j < n; j++) row[j] = (float)(exp(sc[j] - mx) / z);
            }
        if (!s->qk) { free(q); free(k); }
    }
    return GAZE_OK;
}

/* ---- reading a page back ---------------------------------------------------------------------- */

// Copy of the text between the first `open` and the next "</script>", or NULL.
static char * between(const char * page, const char * open) {
    const char * a = strstr(page, open);
    if (!a) return NULL;
    a += strlen(open);
    const char * b = strstr(a, "</script>");
    if (!b) return NULL;
    char * s = malloc((size_t)(b - a) + 1);
    memcpy(s, a, (size_t)(b - a));
    s[b - a] = '\0';
    return s;
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static uint8_t * b64decode(const char * s, size_t * n) {
    size_t len = strlen(s);
    uint8_t * out = malloc(len / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') break;
        int v = b64val(s[i]);
        if (v < 0) { free(out); return NULL; }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (uint8_t)(acc >> bits); }
    }
    *n = o;
    return out;
}

static size_t count_ci(const char * hay, const char * needle) {
    size_t n = 0, k = strlen(needle);
    for (const char * p = hay; *p; p++) if (!strncasecmp(p, needle, k)) n++;
    return n;
}

struct page {                  // a parsed page
    char *    html;
    size_t    n;
    json_t *  meta;
    uint8_t * data;
    size_t    n_data;
};

static void page_free(struct page * p) {
    free(p->html);
    json_decref(p->meta);
    free(p->data);
    memset(p, 0, sizeof *p);
}

// Outside the bodies of <script> and <style>, every '<' starts one of the page's own tags,
// and no tag has an on* attribute: nothing from the run became markup.
static void check_tags(const char * label, const char * h) {
    static const char * const allowed[] = { "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "div",
                                            "noscript", "script", "/title", "/style", "/head", "/div", "/noscript",
                                            "/script", "/body", "/html" };
    int bad_tag = 0, bad_attr = 0;
    for (const char * p = strchr(h, '<'); p; p = strchr(p, '<')) {
        size_t k = strcspn(p + 1, " >");
        bool ok = false;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            if (strlen(allowed[i]) == k && !strncmp(p + 1, allowed[i], k)) ok = true;
        if (!ok) { bad_tag++; fprintf(stderr, "  %s: unexpected tag '%.20s'\n", label, p); }
        const char * end = strchr(p, '>');
        if (!end) break;
        for (const char * a = p; a < end; a++)
            if ((a[0] == ' ' || a[0] == '/') && (a[1] == 'o' || a[1] == 'O') && (a[2] == 'n' || a[2] == 'N')) bad_attr++;
        // skip the bodies of script and style: they are code and data, checked elsewhere
        const char * close = NULL;
        if (!strncmp(p, "<script", 7)) close = strstr(end, "</script>");
        else if (!strncmp(p, "<style", 6)) close = strstr(end, "</style>");
        p = close ? close : end;
    }
    CHECK(bad_tag == 0, "%s: %d tags that the page does not write itself", label, bad_tag);
    CHECK(bad_attr == 0, "%s: %d on* attributes in tags", label, bad_attr);
}

// Structure and safety of one page; fills p->meta and p->data. label names it in failures.
static void check_page(const char * label, struct page * p) {
    const char * h = p->html;
    bool ascii = true;
    for (size_t i = 0; i < p->n; i++) {
        const unsigned char c = (unsigned char)h[i];
        if (c >= 0x80 || (c < 0x20 && c != '\n')) { ascii = false; break; }
    }
    CHECK(ascii, "%s: the page holds a non-ASCII or control byte", label);
    CHECK(strlen(h) == p->n, "%s: NUL inside the page", label);
    CHECK(count_ci(h, "<script") == 3, "%s: %zu <script, want 3", label, count_ci(h, "<script"));
    CHECK(count_ci(h, "</script") == 3, "%s: %zu </script, want 3", label, count_ci(h, "</script"));
    CHECK(count_ci(h, "<style") == 1 && count_ci(h, "</style") == 1, "%s: style elements", label);
    static const char * const never[] = { "<img", "<svg", "<!--", "<iframe", "<b>", "<object", "<embed", "<link", "<base", "<form" };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        CHECK(count_ci(h, never[i]) == 0, "%s: '%s' appears in the page", label, never[i]);
    check_tags(label, h);
    // the three scripts, in order, of the expected kinds
    const char * m = strstr(h, "<script type=\"application/json\" id=\"gaze-meta\">");
    const char * d = strstr(h, "<script type=\"application/octet-stream\" id=\"gaze-data\">");
    const char * j = strstr(h, "<script>");
    CHECK(m && d && j && m < d && d < j, "%s: script elements missing or out of order", label);
    // CSP: script and style hashes match their bodies exactly
    char * js = between(h, "<script>");
    const char * st0 = strstr(h, "<style>"), * st1 = strstr(h, "</style>");
    CHECK(js && st0 && st1, "%s: no script or style body", label);
    if (js && st0 && st1) {
        char hash[45], want[128];
        gaze_sha256_base64(js, strlen(js), hash);
        snprintf(want, sizeof want, "script-src 'sha256-%s'", hash);
        CHECK(strstr(h, want) != NULL, "%s: CSP lacks %s", label, want);
        CHECK(!strcmp(js, gaze_viewer_js), "%s: the inline script is not the viewer verbatim", label);
        st0 += strlen("<style>");
        gaze_sha256_base64(st0, (size_t)(st1 - st0), hash);
        snprintf(want, sizeof want, "style-src 'sha256-%s'", hash);
        CHECK(strstr(h, want) != NULL, "%s: CSP lacks %s", label, want);
        const char * csp = strstr(h, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ");
        CHECK(csp && csp < strstr(h, "<style>"), "%s: CSP meta missing or after the style", label);
        CHECK(!strstr(h, "unsafe-inline") && !strstr(h, "unsafe-eval"), "%s: CSP allows unsafe-*", label);
    }
    free(js);
    char * mj = between(h, "<script type=\"application/json\" id=\"gaze-meta\">");
    char * dj = between(h, "<script type=\"application/octet-stream\" id=\"gaze-data\">");
    CHECK(mj && dj, "%s: data blocks missing", label);
    if (mj) {
        json_error_t err;
        p->meta = json_loads(mj, JSON_REJECT_DUPLICATES, &err);
        CHECK(p->meta != NULL, "%s: meta JSON does not parse: %s at %d", label, err.text, err.position);
    }
    if (dj) {
        bool alpha = true;
        for (const char * c = dj; *c; c++) if (b64val(*c) < 0 && *c != '=') { alpha = false; break; }
        CHECK(alpha, "%s: data block holds a non-base64 character", label);
        p->data = b64decode(dj, &p->n_data);
        CHECK(p->data != NULL, "%s: base64 does not decode", label);
    }
    free(mj);
    free(dj);
}

static bool make_page(const struct gaze_run * run, const struct gaze_html_opts * o, struct page * p,
                      struct gaze_html_info * info) {
    memset(p, 0, sizeof *p);
    enum gaze_status s = gaze_html_run(run, o, &p->html, &p->n, info);
    CHECK(s == GAZE_OK, "gaze_html_run: %s", gaze_last_error());
    return s == GAZE_OK;
}

// The tokens, text and model in the meta block are the run's, character for character.
static void check_meta_text(const char * label, const struct page * p, const struct gaze_run * run) {
    if (!p->meta) return;
    json_t * toks = json_object_get(p->meta, "tokens");
    CHECK(json_is_array(toks) && (int64_t)json_array_size(toks) == run->T, "%s: token count", label);
    for (int64_t t = 0; toks && t < run->T && t < (int64_t)json_array_size(toks); t++) {
        const char * s = json_string_value(json_array_get(toks, (size_t)t));
        CHECK(s && !strcmp(s, run->tokens[t]), "%s: token %lld differs after the round trip", label, (long long)t);
    }
    const char * text = json_string_value(json_object_get(p->meta, "text"));
    CHECK(text && run->text && !strcmp(text, run->text), "%s: text differs", label);
    const char * model = json_string_value(json_object_get(p->meta, "model"));
    CHECK(model && !strcmp(model, run->model), "%s: model differs", label);
}

static float dec_f16(const uint8_t * b) { return gaze_f16_to_f32((uint16_t)(b[0] | b[1] << 8)); }

struct nibr { const uint8_t * p; size_t k; };
static unsigned nib(struct nibr * r) { unsigned b = r->p[r->k >> 1]; unsigned v = (r->k & 1) ? b & 15 : b >> 4; r->k++; return v; }
static unsigned nib_code(struct nibr * r) {
    unsigned v = nib(r);
    if (v == 14) return 14 + nib(r);
    if (v == 15) { unsigned hi = nib(r); return hi << 4 | nib(r); }
    return v;
}

// Every exact map decodes to the run's weights (f16: bit-exact; u8: the code of
// round(255·sqrt(w)) and within sqrt(w)/255); summaries are block means. Returns maps seen.
static int64_t check_payload(const char * label, const struct page * p, const struct gaze_run * run) {
    if (!p->meta || !p->data) return 0;
    const int64_t T = gaze_run_n_keys(run), Tq = run->Tq, Hc = run->n_heads_cap, d = run->d_head;   // T: keys
    json_t * exact = json_object_get(p->meta, "exact"), * summary = json_object_get(p->meta, "summary");
    json_t * qk = json_object_get(p->meta, "qk");
    CHECK((int64_t)json_array_size(exact) == run->n_cap_layers * Hc, "%s: exact table size", label);
    CHECK((size_t)json_integer_value(json_object_get(p->meta, "payload")) == p->n_data, "%s: payload size", label);
    int64_t bad = 0, bad_sum = 0, bad_qk = 0, seen = 0;
    double worst = 0;
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        for (int64_t h = 0; h < Hc; h++) {
            const float * a = run->layers[l].attn + h * Tq * T;
            json_t * c = json_array_get(exact, (size_t)(l * Hc + h));
            seen++;
            if (json_is_array(c)) {
                const int enc = (int)json_integer_value(json_array_get(c, 0));
                const size_t off = (size_t)json_integer_value(json_array_get(c, 1)), len = (size_t)json_integer_value(json_array_get(c, 2));
                if (off + len > p->n_data) { bad++; continue; }
                struct nibr r = { p->data + off, 0 };
                size_t o = off;
                for (int64_t i = 0; i < Tq; i++) {
                    const int64_t n = run->causal ? run->q_rows[i] + 1 : T;
                    for (int64_t j = 0; j < n; j++) {
                        const float w = a[i * T + j];
                        if (enc == 1) {
                            const float v = dec_f16(p->data + o);
                            o += 2;
                            if (v != gaze_f16_to_f32(gaze_f32_to_f16(w))) bad++;
                        } else {
                            const unsigned code = nib_code(&r), want = (unsigned)(255.0f * sqrtf(w) + 0.5f);
                            const double v = (code / 255.0) * (code / 255.0);
                            if (code != want) bad++;
                            worst = fmax(worst, fabs(v - w) - (sqrt(w) / 255.0 + 1.0 / (510.0 * 510.0)));
                        }
                    }
                }
            } else {
                json_t * offs = json_object_get(summary, "off");
                const int64_t b = json_integer_value(json_object_get(summary, "block"));
                const int64_t nr = json_integer_value(json_object_get(summary, "nr")), nc = json_integer_value(json_object_get(summary, "nc"));
                const int64_t off = json_integer_value(json_array_get(offs, (size_t)(l * Hc + h)));
                if (!summary || b < 1 || off < 0 || (size_t)(off + nr * nc) > p->n_data) { bad_sum++; continue; }
                for (int64_t br = 0; br < nr; br++)
                    for (int64_t bc = 0; bc < nc; bc++) {
                        double s = 0;
                        int64_t n = 0;
                        for (int64_t i = br * b; i < Tq && i < (br + 1) * b; i++)
                            for (int64_t j = bc * b; j < T && j < (bc + 1) * b; j++, n++) s += a[i * T + j];
                        const double mean = s / (double)n;
                        const unsigned code = p->data[off + br * nc + bc];
                        const double v = (code / 255.0) * (code / 255.0);
                        if (fabs(v - mean) > sqrt(mean) / 255.0 + 1.0 / (510.0 * 510.0) + 1e-7) bad_sum++;
                    }
            }
            json_t * q = json_array_get(qk, (size_t)(l * Hc + h));
            if (json_is_array(q)) {
                const size_t qo = (size_t)json_integer_value(json_array_get(q, 0)), ko = (size_t)json_integer_value(json_array_get(q, 1));
                if (!run->layers[l].q || qo + (size_t)(2 * Tq * d) > p->n_data || ko + (size_t)(2 * T * d) > p->n_data) { bad_qk++; continue; }
                for (int64_t i = 0; i < Tq * d; i++)
                    if (dec_f16(p->data + qo + 2 * i) != gaze_f16_to_f32(gaze_f32_to_f16(run->layers[l].q[h * Tq * d + i]))) bad_qk++;
                for (int64_t i = 0; i < T * d; i++)
                    if (dec_f16(p->data + ko + 2 * i) != gaze_f16_to_f32(gaze_f32_to_f16(run->layers[l].k[h * T * d + i]))) bad_qk++;
            }
        }
    CHECK(bad == 0, "%s: %lld exact weights decode wrong", label, (long long)bad);
    CHECK(worst <= 1e-9, "%s: a u8 weight is off by %g beyond sqrt(w)/255 + 1/510^2", label, worst);
    CHECK(bad_sum == 0, "%s: %lld summary cells are not the block means", label, (long long)bad_sum);
    CHECK(bad_qk == 0, "%s: %lld q/k values decode wrong", label, (long long)bad_qk);
    return seen;
}

// The rollout block: every embedded fusion's matrix and every flow vector decode to the f16 of
// 2^15 times what gaze_rollout / gaze_attention_flow return for the same options, bit for bit.
// Returns values checked.
static int64_t check_rollout(const char * label, const struct page * p, const struct gaze_run * run,
                             const struct gaze_html_opts * o) {
    json_t * ro = json_object_get(p->meta, "rollout");
    json_t * fus = json_object_get(ro, "fusions"), * offs = json_object_get(ro, "off");
    json_t * flow = json_object_get(ro, "flow");
    CHECK(json_is_array(fus) && json_array_size(fus) >= 1 && json_array_size(offs) == json_array_size(fus) && json_is_object(flow),
          "%s: no rollout block", label);
    if (!json_is_array(fus) || !json_is_object(flow) || !p->data) return 0;
    const int64_t T = run->T;
    CHECK(json_integer_value(json_object_get(ro, "layers")) == run->n_cap_layers, "%s: rollout layers", label);
    CHECK(json_integer_value(json_object_get(ro, "default")) == (run->causal ? T - 1 : 0), "%s: default output token", label);
    const double scale = json_number_value(json_object_get(ro, "scale"));   // values are f16 of v·scale
    CHECK(scale == 32768.0, "%s: rollout scale %g, want 2^15", label, scale);
    double * R = malloc((size_t)(T * T) * sizeof *R);
    int64_t bad = 0, n = 0;
    struct gaze_rollout_opts ro_o = { 0 };
    ro_o.discard_ratio = o ? o->rollout_discard : 0;
    for (size_t k = 0; k < json_array_size(fus); k++) {
        const char * f = json_string_value(json_array_get(fus, k));
        ro_o.fusion = !strcmp(f, "mean") ? GAZE_HEAD_FUSION_MEAN : !strcmp(f, "max") ? GAZE_HEAD_FUSION_MAX : GAZE_HEAD_FUSION_MIN;
        CHECK(gaze_rollout(run, &ro_o, R) == GAZE_OK, "%s: gaze_rollout: %s", label, gaze_last_error());
        size_t off = (size_t)json_integer_value(json_array_get(offs, k));
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < (run->causal ? i + 1 : T); j++, off += 2, n++) {
                if (off + 2 > p->n_data) { bad++; continue; }
                if (dec_f16(p->data + off) != gaze_f16_to_f32(gaze_f32_to_f16((float)(R[i * T + j] * scale)))) bad++;
            }
        // what a causal page leaves out is exactly zero
        for (int64_t i = 0; run->causal && i < T; i++)
            for (int64_t j = i + 1; j < T; j++) if (R[i * T + j] != 0) bad++;
    }
    json_t * toks = json_object_get(flow, "tokens");
    const size_t foff = (size_t)json_integer_value(json_object_get(flow, "off"));
    ro_o.fusion = o ? o->flow_fusion : GAZE_HEAD_FUSION_MEAN;
    for (size_t k = 0; k < json_array_size(toks); k++) {
        const int64_t t = json_integer_value(json_array_get(toks, k));
        CHECK(gaze_attention_flow(run, &ro_o, t, R) == GAZE_OK, "%s: gaze_attention_flow: %s", label, gaze_last_error());
        for (int64_t j = 0; j < T; j++, n++) {
            const size_t at = foff + 2 * ((size_t)k * (size_t)T + (size_t)j);
            if (at + 2 > p->n_data || dec_f16(p->data + at) != gaze_f16_to_f32(gaze_f32_to_f16((float)(R[j] * scale)))) bad++;
        }
    }
    free(R);
    CHECK(bad == 0, "%s: %lld of %lld rollout / flow values decode wrong", label, (long long)bad, (long long)n);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void test_sha256(void) {
    static const struct { const char * in; const char * hex; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t d[32];
        char hex[65];
        gaze_sha256(v[i].in, strlen(v[i].in), d);
        for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", d[k]);
        CHECK(!strcmp(hex, v[i].hex), "sha256 of %zu bytes: %s", strlen(v[i].in), hex);
    }
    // a million 'a' (FIPS 180-2 appendix B.3), crossing many blocks
    char * a = malloc(1000000);
    memset(a, 'a', 1000000);
    uint8_t d[32];
    char hex[65];
    gaze_sha256(a, 1000000, d);
    for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", d[k]);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "sha256 of 10^6 'a': %s", hex);
    // the same million in uneven pieces (1, 2, ..., 127 bytes, then the rest) through the streaming calls
    struct gaze_sha256_ctx c;
    gaze_sha256_init(&c);
    size_t off = 0;
    for (size_t piece = 1; piece < 128; off += piece, piece++) gaze_sha256_update(&c, a + off, piece);
    gaze_sha256_update(&c, a + off, 1000000 - off);
    gaze_sha256_final(&c, d);
    for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", d[k]);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "streamed sha256 of 10^6 'a': %s", hex);
    free(a);
    static const char * const b64[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
                                           { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        char out[16] = { 0 };
        gaze_base64_encode((const uint8_t *)b64[i][0], strlen(b64[i][0]), out);
        CHECK(!strcmp(out, b64[i][1]), "base64(%s) = %s", b64[i][0], out);
    }
    char h[45];
    gaze_sha256_base64("abc", 3, h);
    CHECK(!strcmp(h, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="), "sha256 base64: %s", h);
}

static char * read_file(const char * path, size_t * n) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * s = malloc((size_t)len + 1);
    *n = fread(s, 1, (size_t)len, f);
    s[*n] = '\0';
    fclose(f);
    return s;
}

static void test_assets(void) {
    const char * root = getenv("GAZE_SOURCE_DIR");
    char path[4096];
    // each embedded string is the concatenation of its sources (scripts/embed-assets ASSETS)
    static const char * const names[] = { "viewer.js", "viewer.css" };
    static const char * const parts[2][4] = { { "viewer.js", "image.js", "attrib.js", NULL }, { "viewer.css", NULL, NULL, NULL } };
    const char * const embedded[] = { gaze_viewer_js, gaze_viewer_css };
    for (int i = 0; i < 2; i++) {
        size_t at = 0, len = strlen(embedded[i]);
        bool same = true;
        for (int k = 0; parts[i][k]; k++) {
            snprintf(path, sizeof path, "%s/src/render/viewer/%s", root ? root : ".", parts[i][k]);
            size_t n;
            char * src = read_file(path, &n);
            CHECK(src != NULL, "cannot read %s (run from the repository root or set GAZE_SOURCE_DIR)", path);
            if (!src) { same = false; continue; }
            if (at + n > len || memcmp(src, embedded[i] + at, n)) same = false;
            at += n;
            free(src);
        }
        CHECK(same && at == len, "src/render/viewer_assets.c is stale for %s: run scripts/embed-assets", names[i]);
        const char * e = embedded[i];
        bool ok = true;
        for (const char * c = e; *c; c++) if ((unsigned char)*c >= 0x80 || *c == '\r') ok = false;
        CHECK(ok, "%s: non-ASCII or CR byte (the CSP hash must survive the HTML parser)", names[i]);
        CHECK(count_ci(e, "</script") == 0 && count_ci(e, "<!--") == 0 && count_ci(e, "</style") == 0 && count_ci(e, "<script") == 0,
              "%s: holds a sequence that ends or alters its inline element", names[i]);
    }
    CHECK(!strstr(gaze_viewer_js, "innerHTML") && !strstr(gaze_viewer_js, "outerHTML") &&
          !strstr(gaze_viewer_js, "insertAdjacentHTML") && !strstr(gaze_viewer_js, "document.write") &&
          !strstr(gaze_viewer_js, "eval(") && !strstr(gaze_viewer_js, "new Function") && !strstr(gaze_viewer_js, "setAttribute('on"),
          "viewer.js uses an HTML-parsing or code-evaluating API");
}

static const struct synth HOSTILE_RUN = { "bert", "<script>alert('model')</script>\xe2\x80\xa8", false, true, true, 2, 3, 8, 0,
                                          N_HOSTILE, HOSTILE, N_HOSTILE, false };
static const struct synth DECODER_RUN = { "llama", "dec\"oder</script>", true, false, true, 3, 2, 8, 3,
                                          N_DECODER, DECODER, N_DECODER, false };
// heads 1 and 3 of 4, every other query row plus the generated ones
static const struct synth SUBSET_RUN = { "llama", "subset", true, false, true, 2, 4, 8, 3,
                                         N_DECODER, DECODER, N_DECODER, true };

static void test_hostile_pages(void) {
    struct gaze_run run;
    CHECK(make_run(&run, &HOSTILE_RUN) == GAZE_OK, "hostile run: %s", gaze_last_error());
    // invalid UTF-8 handed straight to the page (bypassing set_tokens' replacement): overlong
    // '/', a surrogate, a lone continuation byte; the page must show U+FFFD, never the bytes
    free(run.tokens[5]);
    run.tokens[5] = strdup("\xc0\xaf<\xed\xa0\x80\x80");
    struct page p;
    struct gaze_html_info info;
    if (make_page(&run, NULL, &p, &info)) {
        check_page("hostile", &p);
        json_t * toks = json_object_get(p.meta, "tokens");
        const char * t5 = json_string_value(json_array_get(toks, 5));
        CHECK(t5 && !strcmp(t5, "\xef\xbf\xbd\xef\xbf\xbd<\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
              "invalid UTF-8 not replaced by U+FFFD: '%s'", t5 ? t5 : "(null)");
        free(run.tokens[5]);
        run.tokens[5] = strdup("\xef\xbf\xbd\xef\xbf\xbd<\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        check_meta_text("hostile", &p, &run);
        // the escapes themselves, as written
        CHECK(strstr(p.html, "\"\\u003c/script\\u003e\"") != NULL, "'</script>' token not written as \\u003c/script\\u003e");
        CHECK(strstr(p.html, "\"\\u2028\"") != NULL, "U+2028 token not written as \\u2028");
        CHECK(strstr(p.html, "\"\\ud83d\\ude00\"") != NULL, "U+1F600 not written as a surrogate pair");
        CHECK(strstr(p.html, "\"\\u0001\\u0002ctl\\u007f\"") != NULL, "control characters not \\u-escaped");
        CHECK(strstr(p.html, "\"\\\"quoted\\u0027\"") != NULL, "quotes not escaped");
        CHECK(info.n_maps == 6 && info.n_exact == 6 && info.n_summary == 0 && info.n_qk == 6 &&
              info.precision == GAZE_HTML_PRECISION_F16 && info.bytes == p.n,
              "hostile info: maps %lld exact %lld summary %lld qk %lld", (long long)info.n_maps, (long long)info.n_exact,
              (long long)info.n_summary, (long long)info.n_qk);
        CHECK(check_payload("hostile", &p, &run) == 6, "hostile: maps seen");
        // word groups and special tokens are the C library's
        struct gaze_words w;
        uint8_t sp[64];
        gaze_run_special_tokens(&run, sp);
        if (gaze_words_from_run(&w, &run, GAZE_WORD_STYLE_AUTO, true) == GAZE_OK) {
            json_t * tw = json_object_get(json_object_get(p.meta, "words_hidden"), "token_word");
            bool same = (int64_t)json_array_size(tw) == run.T;
            for (int64_t t = 0; same && t < run.T; t++) same = json_integer_value(json_array_get(tw, (size_t)t)) == w.token_word[t];
            CHECK(same, "words_hidden.token_word differs from gaze_words_from_run");
            gaze_words_free(&w);
        }
        json_t * spj = json_object_get(p.meta, "special");
        bool same = true;
        for (int64_t t = 0; t < run.T; t++) same &= json_integer_value(json_array_get(spj, (size_t)t)) == sp[t];
        CHECK(same, "special flags differ from gaze_run_special_tokens");
        // determinism
        char * again;
        size_t n2;
        CHECK(gaze_html_run(&run, NULL, &again, &n2, NULL) == GAZE_OK && n2 == p.n && !memcmp(again, p.html, n2),
              "two pages of the same run differ");
        free(again);
    }
    page_free(&p);
    // u8 and no q/k
    struct gaze_html_opts o = { 0 };
    o.precision = GAZE_HTML_PRECISION_U8;
    o.no_qk = true;
    if (make_page(&run, &o, &p, &info)) {
        check_page("hostile u8", &p);
        CHECK(info.precision == GAZE_HTML_PRECISION_U8 && info.n_exact == 6 && info.n_qk == 0, "u8 info");
        const char * enc = json_string_value(json_object_get(p.meta, "enc"));
        CHECK(enc && !strcmp(enc, "u8"), "u8 page says enc %s", enc ? enc : "(null)");
        check_payload("hostile u8", &p, &run);
        bool none = true;
        json_t * qk = json_object_get(p.meta, "qk");
        for (size_t i = 0; i < json_array_size(qk); i++) none &= json_integer_value(json_array_get(qk, i)) == 0;
        CHECK(none, "no_qk page still carries q/k");
    }
    page_free(&p);
    gaze_run_free(&run);
}

static void test_decoder_tiers(void) {
    struct gaze_run run;
    struct synth big = DECODER_RUN;
    big.T = 200;
    big.L = 6;
    big.H = 4;
    big.qk = false;
    CHECK(make_run(&run, &big) == GAZE_OK, "decoder run: %s", gaze_last_error());
    struct page p;
    struct gaze_html_info f16, u8, sm;
    size_t bytes_f16 = 0, bytes_u8 = 0;
    struct gaze_html_opts o = { 0 };
    o.no_rollout = true;   // the tiers are about the attention; rollout is tested on its own
    if (make_page(&run, &o, &p, &f16)) {
        check_page("decoder f16", &p);
        check_meta_text("decoder f16", &p, &run);
        check_payload("decoder f16", &p, &run);
        // causal: only keys j <= i are stored
        const size_t cells = (size_t)(200 * 201 / 2);
        CHECK(f16.payload_bytes == 24 * ((2 * cells + 3) / 4 * 4), "causal f16 payload %zu bytes", f16.payload_bytes);
        bytes_f16 = f16.bytes;
        CHECK(json_integer_value(json_object_get(p.meta, "n_generated")) == 3 && json_is_true(json_object_get(p.meta, "causal")),
              "decoder meta: n_generated/causal");
    }
    page_free(&p);
    // a cap that f16 misses but u8 fits: AUTO falls back to u8 for every map
    o.max_bytes = bytes_f16 - 1000;
    if (make_page(&run, &o, &p, &u8)) {
        check_page("decoder auto->u8", &p);
        CHECK(u8.precision == GAZE_HTML_PRECISION_U8 && u8.n_exact == 24 && u8.bytes <= o.max_bytes,
              "auto under a cap: precision %s, %lld exact, %zu bytes", gaze_html_precision_name(u8.precision),
              (long long)u8.n_exact, u8.bytes);
        check_payload("decoder auto->u8", &p, &run);
        bytes_u8 = u8.bytes;
    }
    page_free(&p);
    // a cap between summaries and u8: whole layers exact (first and last first), the rest summaries
    const size_t per_layer_b64 = u8.payload_bytes / 6 * 4 / 3;
    o.max_bytes = bytes_u8 - 2 * per_layer_b64;
    if (make_page(&run, &o, &p, &sm)) {
        check_page("decoder summaries", &p);
        check_payload("decoder summaries", &p, &run);
        CHECK(sm.n_summary > 0 && sm.n_exact >= 8 && sm.n_exact % 4 == 0 && sm.block == 4 && sm.bytes <= o.max_bytes,
              "summary tier: %lld exact, %lld summary, block %lld, %zu <= %zu bytes", (long long)sm.n_exact,
              (long long)sm.n_summary, (long long)sm.block, sm.bytes, o.max_bytes);
        json_t * ex = json_object_get(p.meta, "exact");
        CHECK(json_is_array(json_array_get(ex, 0)) && json_is_array(json_array_get(ex, 5 * 4)),
              "summary tier keeps the first and last layers exact first");
    }
    page_free(&p);
    // detail_layers come first
    const int64_t want[] = { 3 };
    o.detail_layers = want;
    o.n_detail_layers = 1;
    if (make_page(&run, &o, &p, &sm)) {
        check_page("decoder detail layers", &p);
        json_t * ex = json_object_get(p.meta, "exact");
        CHECK(json_is_array(json_array_get(ex, 3 * 4)) && json_is_array(json_array_get(ex, 3 * 4 + 3)), "detail layer 3 not exact (%lld exact)", (long long)sm.n_exact);
        CHECK(!json_is_array(json_array_get(ex, 5 * 4)) || sm.n_exact >= 12, "detail layers did not take priority");
    }
    page_free(&p);
    o.detail_layers = NULL;
    o.n_detail_layers = 0;
    // rollout takes at most a tenth of the cap: three matrices are 160.8 KB of base64, so under
    // 1.5 MB the mean only (53.6 KB), under 400 KB none (said why)
    o.no_rollout = false;
    o.no_flow = true;
    o.max_bytes = 1500000;
    if (make_page(&run, &o, &p, &sm)) {
        check_page("decoder rollout share", &p);
        CHECK(sm.n_rollout_fusions == 1 && sm.n_exact == 24, "rollout under a 1.5 MB cap: %d fusions, %lld exact maps",
              sm.n_rollout_fusions, (long long)sm.n_exact);
        check_rollout("decoder rollout share", &p, &run, &o);
    }
    page_free(&p);
    o.max_bytes = 400000;
    if (make_page(&run, &o, &p, &sm)) {
        check_page("decoder rollout over its share", &p);
        const char * why = json_string_value(json_object_get(json_object_get(p.meta, "rollout"), "why"));
        CHECK(sm.n_rollout_fusions == 0 && why && strstr(why, "tenth"), "rollout over its share: %d fusions, why %s",
              sm.n_rollout_fusions, why ? why : "(null)");
    }
    page_free(&p);
    // forced f16 under the same cap: summaries + f16 layers
    o.precision = GAZE_HTML_PRECISION_F16;
    o.max_bytes = bytes_u8;
    if (make_page(&run, &o, &p, &sm)) {
        CHECK(sm.precision == GAZE_HTML_PRECISION_F16 && sm.n_summary > 0 && sm.bytes <= o.max_bytes, "forced f16 under a cap");
        check_payload("decoder f16 summaries", &p, &run);
    }
    page_free(&p);
    // impossible caps and bad runs
    char * out = (char *)1;
    size_t n = 7;
    o.precision = GAZE_HTML_PRECISION_AUTO;
    o.max_bytes = 2000;
    CHECK(gaze_html_run(&run, &o, &out, &n, NULL) == GAZE_ERR_LIMIT && out == NULL && n == 0, "a tiny cap is GAZE_ERR_LIMIT");
    o.max_bytes = 0;
    o.precision = (enum gaze_html_precision)9;
    CHECK(gaze_html_run(&run, &o, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "unknown precision accepted");
    CHECK(gaze_html_run(NULL, NULL, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "NULL run accepted");
    float * keep[16];
    for (int64_t l = 0; l < run.n_cap_layers; l++) { keep[l] = run.layers[l].attn; run.layers[l].attn = NULL; }
    CHECK(gaze_html_run(&run, NULL, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "a run without attention accepted");
    for (int64_t l = 0; l < run.n_cap_layers; l++) run.layers[l].attn = keep[l];
    gaze_run_free(&run);
    struct gaze_run empty;
    gaze_run_init(&empty);
    CHECK(gaze_html_run(&empty, NULL, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "an empty run accepted");
}

static void test_subset(void) {
    struct gaze_run run;
    CHECK(make_run(&run, &SUBSET_RUN) == GAZE_OK, "subset run: %s", gaze_last_error());
    CHECK(gaze_run_check(&run, "subset") == GAZE_OK, "subset run invalid: %s", gaze_last_error());
    struct page p;
    struct gaze_html_info info;
    if (make_page(&run, NULL, &p, &info)) {
        check_page("subset", &p);
        check_meta_text("subset", &p, &run);
        CHECK(check_payload("subset", &p, &run) == 4 && info.n_maps == 4 && info.n_qk == 4, "subset: 2 layers x 2 heads");
        json_t * heads = json_object_get(p.meta, "heads"), * rows = json_object_get(p.meta, "q_rows");
        CHECK(json_array_size(heads) == 2 && json_integer_value(json_array_get(heads, 1)) == 3, "subset: heads");
        CHECK((int64_t)json_array_size(rows) == run.Tq && run.Tq < run.T, "subset: q_rows");
    }
    page_free(&p);
    gaze_run_free(&run);
}

// Image runs: the page carries the image bytes at the offset its metadata names and each
// token's cell (a cell outside the grid becomes -1, -1), and opens on the image tab.
static void test_image_page(void) {
    struct gaze_run run;
    CHECK(make_run(&run, &HOSTILE_RUN) == GAZE_OK, "image run: %s", gaze_last_error());
    struct page p;
    if (make_page(&run, NULL, &p, NULL)) {
        check_page("text run", &p);
        CHECK(p.meta && !json_object_get(p.meta, "image") && !strcmp(json_string_value(json_object_get(p.meta, "view")), "head"),
              "text run: no image, head view first");
    }
    page_free(&p);
    const int64_t T = run.T, H = 3, W = 5;
    run.grid_rows = 2;
    run.grid_cols = 3;
    run.patch_size = 4;
    run.patch_rc = malloc((size_t)(2 * T) * sizeof *run.patch_rc);
    run.image = malloc((size_t)(H * W * 3));
    run.image_h = H;
    run.image_w = W;
    for (int64_t t = 0; t < T; t++) {
        run.patch_rc[2 * t] = t == 0 ? -1 : (int32_t)((t - 1) / 3);
        run.patch_rc[2 * t + 1] = t == 0 ? -1 : (int32_t)((t - 1) % 3);
    }
    run.patch_rc[2 * (T - 1)] = 99;   // outside the grid: shown as a token
    for (int64_t i = 0; i < H * W * 3; i++) run.image[i] = (uint8_t)(i * 37 + 11);
    if (make_page(&run, NULL, &p, NULL)) {
        check_page("image run", &p);
        json_t * im = json_object_get(p.meta, "image");
        CHECK(json_is_object(im), "image run: no image in the metadata");
        CHECK(!strcmp(json_string_value(json_object_get(p.meta, "view")), "image"), "image run: does not open on the image tab");
        if (json_is_object(im)) {
            const size_t off = (size_t)json_integer_value(json_object_get(im, "off"));
            CHECK(json_integer_value(json_object_get(im, "h")) == H && json_integer_value(json_object_get(im, "w")) == W &&
                  json_integer_value(json_object_get(im, "rows")) == 2 && json_integer_value(json_object_get(im, "cols")) == 3 &&
                  json_integer_value(json_object_get(im, "patch")) == 4, "image run: sizes");
            CHECK(off + (size_t)(H * W * 3) <= p.n_data && !memcmp(p.data + off, run.image, (size_t)(H * W * 3)),
                  "image run: the payload's image differs at offset %zu of %zu", off, p.n_data);
            json_t * rc = json_object_get(im, "rc");
            bool same = (int64_t)json_array_size(rc) == 2 * T;
            for (int64_t t = 0; same && t < T; t++) {
                const int64_t r = json_integer_value(json_array_get(rc, (size_t)(2 * t)));
                const int64_t c = json_integer_value(json_array_get(rc, (size_t)(2 * t + 1)));
                const bool in = run.patch_rc[2 * t] >= 0 && run.patch_rc[2 * t] < 2 && run.patch_rc[2 * t + 1] < 3;
                same = in ? r == run.patch_rc[2 * t] && c == run.patch_rc[2 * t + 1] : r == -1 && c == -1;
            }
            CHECK(same && T > 7, "image run: cells differ (or one outside the grid was kept)");
        }
    }
    page_free(&p);
    gaze_run_free(&run);
}

/* ---- encoder-decoder runs: three kinds on one page ------------------------------------------ */

// Random rows (each sums to 1) over K keys, causal: keys 0..q_rows[r] only.
static void fill_rows(float * a, int64_t Hc, const int64_t * q_rows, int64_t Tq, int64_t K, bool causal) {
    for (int64_t h = 0; h < Hc; h++)
        for (int64_t r = 0; r < Tq; r++) {
            float * row = a + (h * Tq + r) * K;
            const int64_t n = causal ? q_rows[r] + 1 : K;
            double z = 0;
            for (int64_t j = 0; j < n; j++) z += row[j] = (float)(urand() * urand() + 1e-3);
            for (int64_t j = 0; j < n; j++) row[j] = (float)(row[j] / z);
            for (int64_t j = n; j < K; j++) row[j] = 0;
        }
}

// Source: the hostile tokens (an encoder, no pair); target: hostile decoder pieces; two decoder
// layers of 2 heads with decoder and cross attention. want: the target parts made.
static enum gaze_status make_encdec_run(struct gaze_run * run, unsigned want) {
    static const struct synth src = { "marian", "enc</script>dec", false, false, false, 2, 3, 8, 0,
                                      N_HOSTILE, HOSTILE, N_HOSTILE, false };
    enum gaze_status s = make_run(run, &src);
    if (s) return s;
    const int64_t Tt = 7;
    int32_t ids[7];
    for (int64_t t = 0; t < Tt; t++) ids[t] = (int32_t)(t + 3);
    if ((s = gaze_run_set_target(run, want, Tt, DECODER + 3, NULL, ids, 2, 2, 2))) return s;
    if (run->decoder) {
        run->decoder->n_generated = 4;
        free(run->decoder->text);
        run->decoder->text = strdup("target <script>alert(3)</script>");
    }
    for (int k = GAZE_KIND_DECODER; k <= GAZE_KIND_CROSS; k++) {
        struct gaze_run * part = k == GAZE_KIND_DECODER ? run->decoder : run->cross;
        if (!part) continue;
        for (int64_t l = 0; l < 2; l++) {
            struct gaze_run_layer * ly;
            if ((s = gaze_run_add_kind_layer(run, (enum gaze_kind)k, l, GAZE_RUN_PART_ATTN, &ly))) return s;
            fill_rows(ly->attn, part->n_heads_cap, part->q_rows, part->Tq, gaze_run_n_keys(part), part->causal);
        }
    }
    return GAZE_OK;
}

static void test_encdec_page(void) {
    struct gaze_run run;
    CHECK(make_encdec_run(&run, (1u << GAZE_KIND_DECODER) | (1u << GAZE_KIND_CROSS)) == GAZE_OK, "encdec run: %s", gaze_last_error());
    CHECK(run.cross && run.cross->T_keys == run.T && run.decoder && run.decoder->causal, "encdec run: the parts");
    if (!run.cross || !run.decoder) { gaze_run_free(&run); return; }
    // default, then opening on cross under a cap that forces u8 and block means on some layers
    for (int tier = 0; tier < 3; tier++) {
        struct gaze_html_opts o = { 0 };
        struct gaze_html_info info;
        const char * label = tier == 0 ? "encdec" : tier == 1 ? "encdec cross u8" : "encdec capped";
        if (tier >= 1) { o.kind = GAZE_KIND_CROSS; o.precision = GAZE_HTML_PRECISION_U8; }
        if (tier == 2) {   // the largest cap under which some maps are block means (and the page is made)
            struct page p0;
            if (!make_page(&run, &o, &p0, &info)) continue;
            page_free(&p0);
            for (o.max_bytes = info.bytes; o.max_bytes > 1000; o.max_bytes -= 64) {
                char * h = NULL;
                size_t hn;
                const enum gaze_status st = gaze_html_run(&run, &o, &h, &hn, &info);
                free(h);
                if (st || info.n_summary > 0) break;
            }
        }
        struct page p;
        if (!make_page(&run, &o, &p, &info)) continue;
        check_page(label, &p);
        check_meta_text(label, &p, &run);
        json_t * kinds = json_object_get(p.meta, "kinds");
        json_t * list = json_object_get(kinds, "list");
        CHECK(json_array_size(list) == 3 && !strcmp(json_string_value(json_array_get(list, 0)), "encoder") &&
              !strcmp(json_string_value(json_array_get(list, 1)), "decoder") &&
              !strcmp(json_string_value(json_array_get(list, 2)), "cross"), "%s: kind list", label);
        CHECK(!strcmp(json_string_value(json_object_get(kinds, "initial")), tier ? "cross" : "encoder"), "%s: initial kind", label);
        const char * tt = json_string_value(json_object_get(kinds, "target_text"));
        CHECK(tt && !strcmp(tt, run.decoder->text), "%s: target text", label);
        CHECK(info.n_kinds == 3 && info.n_maps == 2 * 3 + 2 * 2 + 2 * 2,   // encoder 2 x 3, decoder and cross 2 x 2
              "%s: %d kinds, %lld maps", label, info.n_kinds, (long long)info.n_maps);
        // every kind's chunk table decodes to its run's weights
        int64_t seen = check_payload(label, &p, &run);
        struct page sub = p;
        sub.meta = json_object_get(kinds, "decoder");
        seen += check_payload(label, &sub, run.decoder);
        CHECK(json_is_true(json_object_get(sub.meta, "causal")) && json_integer_value(json_object_get(sub.meta, "n_generated")) == 4 &&
              json_integer_value(json_object_get(sub.meta, "T")) == run.decoder->T && !json_object_get(sub.meta, "rows"),
              "%s: decoder metadata", label);
        json_t * ro = json_object_get(sub.meta, "rollout");
        CHECK(json_is_object(ro) && (json_object_get(ro, "fusions") || json_object_get(ro, "why")), "%s: decoder rollout entry", label);
        sub.meta = json_object_get(kinds, "cross");
        seen += check_payload(label, &sub, run.cross);
        CHECK(seen == 2 * 3 + 2 * 2 + 2 * 2, "%s: %lld maps checked", label, (long long)seen);
        // cross: keys are the source tokens, "rows" the target tokens, both verbatim
        json_t * toks = json_object_get(sub.meta, "tokens"), * rows = json_object_get(sub.meta, "rows");
        json_t * rtoks = json_object_get(rows, "tokens");
        bool same = (int64_t)json_array_size(toks) == run.T && (int64_t)json_array_size(rtoks) == run.cross->T &&
                    json_integer_value(json_object_get(sub.meta, "T")) == run.T &&
                    json_integer_value(json_object_get(rows, "T")) == run.cross->T;
        for (int64_t t = 0; same && t < run.T; t++) same = !strcmp(json_string_value(json_array_get(toks, (size_t)t)), run.tokens[t]);
        for (int64_t t = 0; same && t < run.cross->T; t++)
            same = !strcmp(json_string_value(json_array_get(rtoks, (size_t)t)), run.cross->tokens[t]);
        CHECK(same, "%s: cross tokens (keys: source, rows: target) differ", label);
        CHECK(json_is_false(json_object_get(sub.meta, "causal")) && json_object_get(json_object_get(sub.meta, "rollout"), "why"),
              "%s: cross is bidirectional and has no rollout", label);
        // word groups of both sides by gaze_cross_alignment's rule (specials by spelling)
        CHECK(json_array_size(json_object_get(json_object_get(rows, "words"), "token_word")) == (size_t)run.cross->T &&
              json_array_size(json_object_get(json_object_get(sub.meta, "words"), "token_word")) == (size_t)run.T, "%s: words", label);
        // the alignment view's words are the alignment figure's (gaze_cross_alignment, words on)
        struct gaze_alignment al;
        if (gaze_cross_alignment(run.cross, 0, -1, true, &al) == GAZE_OK) {
            json_t * cw = json_object_get(json_object_get(sub.meta, "words"), "text");
            json_t * rw = json_object_get(json_object_get(rows, "words"), "text");
            bool eq = (int64_t)json_array_size(cw) == al.n_cols && (int64_t)json_array_size(rw) == al.n_rows && al.n_cols < run.T;
            for (int64_t i = 0; eq && i < al.n_cols; i++) eq = !strcmp(json_string_value(json_array_get(cw, (size_t)i)), al.col_labels[i]);
            for (int64_t i = 0; eq && i < al.n_rows; i++) eq = !strcmp(json_string_value(json_array_get(rw, (size_t)i)), al.row_labels[i]);
            CHECK(eq, "%s: the page's cross words differ from gaze_cross_alignment's (%lld x %lld)", label,
                  (long long)al.n_rows, (long long)al.n_cols);
            gaze_alignment_free(&al);
        } else CHECK(false, "%s: gaze_cross_alignment: %s", label, gaze_last_error());
        if (tier == 2) CHECK(info.n_summary > 0 && p.n <= o.max_bytes, "%s: %lld summaries, %zu bytes for a cap of %zu", label,
                             (long long)info.n_summary, p.n, o.max_bytes);
        CHECK(!strstr(p.html, "alert(3)</script>"), "%s: the target text is raw in the page", label);
        page_free(&p);
    }
    // the cross part on its own (gaze_run_select_kind) is a page of its own: rows over source keys
    struct page p;
    if (make_page(gaze_run_select_kind(&run, GAZE_KIND_CROSS), NULL, &p, NULL)) {
        check_page("cross alone", &p);
        CHECK(p.meta && !json_object_get(p.meta, "kinds") && json_object_get(p.meta, "rows"), "cross alone: one kind, with rows");
        CHECK(check_payload("cross alone", &p, run.cross) == 4, "cross alone: maps");
    }
    page_free(&p);
    gaze_run_free(&run);
    // a run without cross-attention cannot open on it
    CHECK(make_encdec_run(&run, 1u << GAZE_KIND_DECODER) == GAZE_OK, "encdec run: %s", gaze_last_error());
    struct gaze_html_opts o = { 0 };
    o.kind = GAZE_KIND_CROSS;
    char * page = NULL;
    size_t n = 0;
    CHECK(gaze_html_run(&run, &o, &page, &n, NULL) == GAZE_ERR_INVALID_ARG && !page && strstr(gaze_last_error(), "cross"),
          "opening a decoder-only target side on cross: %s", gaze_last_error());
    o.kind = GAZE_KIND_DECODER;
    if (make_page(&run, &o, &p, NULL)) {
        check_page("encdec no cross", &p);
        json_t * list = json_object_get(json_object_get(p.meta, "kinds"), "list");
        CHECK(json_array_size(list) == 2 && !json_object_get(json_object_get(p.meta, "kinds"), "cross"), "encdec no cross: kinds");
    }
    page_free(&p);
    gaze_run_free(&run);
}

static json_t * flow_tokens(const struct page * p) {
    return json_object_get(json_object_get(json_object_get(p->meta, "rollout"), "flow"), "tokens");
}

static void test_rollout(void) {
    struct gaze_run run;
    struct page p;
    struct gaze_html_info info;
    // encoder: all three fusions (small), flow of [CLS] by default
    CHECK(make_run(&run, &HOSTILE_RUN) == GAZE_OK, "hostile run: %s", gaze_last_error());
    if (make_page(&run, NULL, &p, &info)) {
        check_page("rollout encoder", &p);
        CHECK(info.n_rollout_fusions == 3 && info.n_flow == 1, "encoder: %d fusions, %lld flow tokens", info.n_rollout_fusions,
              (long long)info.n_flow);
        CHECK(json_array_size(flow_tokens(&p)) == 1 && json_integer_value(json_array_get(flow_tokens(&p), 0)) == 0,
              "encoder: flow of token 0 by default");
        CHECK(check_rollout("rollout encoder", &p, &run, NULL) == 3 * N_HOSTILE * N_HOSTILE + N_HOSTILE, "encoder: values checked");
    }
    page_free(&p);
    // chosen flow tokens (unsorted, repeated), one fusion, discard, max-fused flow
    struct gaze_html_opts o = { 0 };
    const int64_t want[] = { 7, 2, 7, 19 };
    o.flow_tokens = want;
    o.n_flow_tokens = 4;
    o.rollout_fusions = 1u << GAZE_HEAD_FUSION_MIN;
    o.rollout_discard = 0.25;
    o.flow_fusion = GAZE_HEAD_FUSION_MAX;
    if (make_page(&run, &o, &p, &info)) {
        check_page("rollout chosen", &p);
        json_t * ft = flow_tokens(&p);
        CHECK(json_array_size(ft) == 3 && json_integer_value(json_array_get(ft, 0)) == 2 && json_integer_value(json_array_get(ft, 2)) == 19,
              "chosen flow tokens not sorted and unique");
        CHECK(info.n_rollout_fusions == 1, "one fusion asked");
        check_rollout("rollout chosen", &p, &run, &o);
    }
    page_free(&p);
    // refusals: a flow token outside the run, a bad discard ratio
    char * out;
    size_t n;
    const int64_t far[] = { N_HOSTILE };
    o.flow_tokens = far;
    o.n_flow_tokens = 1;
    CHECK(gaze_html_run(&run, &o, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "flow token outside the run accepted");
    o.flow_tokens = NULL;
    o.n_flow_tokens = 0;
    o.rollout_discard = 1.0;
    CHECK(gaze_html_run(&run, &o, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "discard ratio 1 accepted");
    // --no-rollout: the page says so and carries no rollout bytes
    memset(&o, 0, sizeof o);
    o.no_rollout = true;
    struct gaze_html_info with;
    if (make_page(&run, NULL, &p, &with)) page_free(&p);
    if (make_page(&run, &o, &p, &info)) {
        check_page("no rollout", &p);
        const char * why = json_string_value(json_object_get(json_object_get(p.meta, "rollout"), "why"));
        CHECK(why && strstr(why, "--no-rollout"), "no-rollout page: why = %s", why ? why : "(null)");
        CHECK(info.n_rollout_fusions == 0 && info.payload_bytes + (3 * N_HOSTILE * N_HOSTILE * 2 + 3) / 4 * 4 + (2 * N_HOSTILE + 3) / 4 * 4 ==
              with.payload_bytes, "no-rollout payload %zu vs %zu", info.payload_bytes, with.payload_bytes);
        check_payload("no rollout", &p, &run);
    }
    page_free(&p);
    gaze_run_free(&run);
    // causal: lower-triangular storage, every token's flow
    CHECK(make_run(&run, &DECODER_RUN) == GAZE_OK, "decoder run: %s", gaze_last_error());
    memset(&o, 0, sizeof o);
    o.flow_all = true;
    if (make_page(&run, &o, &p, &info)) {
        check_page("rollout causal", &p);
        CHECK(info.n_flow == N_DECODER && info.n_rollout_fusions == 3, "causal: flow of %lld tokens", (long long)info.n_flow);
        CHECK(check_rollout("rollout causal", &p, &run, &o) == 3 * N_DECODER * (N_DECODER + 1) / 2 + N_DECODER * N_DECODER,
              "causal: values checked");
        check_payload("rollout causal", &p, &run);
    }
    page_free(&p);
    // the work caps: a long causal run gets mean only and no flow unasked
    struct synth big = DECODER_RUN;
    big.T = 700;
    big.L = 3;
    big.H = 1;
    big.qk = false;
    gaze_run_free(&run);
    CHECK(make_run(&run, &big) == GAZE_OK, "long decoder run: %s", gaze_last_error());
    if (make_page(&run, NULL, &p, &info)) {
        check_page("rollout long", &p);
        json_t * ro = json_object_get(p.meta, "rollout");
        CHECK(info.n_rollout_fusions == 1 && info.n_flow == 0 && json_is_true(json_object_get(json_object_get(ro, "flow"), "skipped")),
              "long run (3 x 700^3 = 1.03e9 > both caps): %d fusions, %lld flow tokens", info.n_rollout_fusions, (long long)info.n_flow);
        (void)ro;
    }
    page_free(&p);
    gaze_run_free(&run);
    // a run with a subset of query rows cannot have rollout: the page says why
    CHECK(make_run(&run, &SUBSET_RUN) == GAZE_OK, "subset run: %s", gaze_last_error());
    if (make_page(&run, NULL, &p, &info)) {
        check_page("rollout subset", &p);
        const char * why = json_string_value(json_object_get(json_object_get(p.meta, "rollout"), "why"));
        CHECK(why && strstr(why, "every query row") && info.n_rollout_fusions == 0, "subset: why = %s", why ? why : "(null)");
    }
    page_free(&p);
    gaze_run_free(&run);
}

static void test_write(void) {
    struct gaze_run run;
    CHECK(make_run(&run, &DECODER_RUN) == GAZE_OK, "decoder run: %s", gaze_last_error());
    char path[] = "/tmp/gaze_test_html_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        struct gaze_html_info info;
        CHECK(gaze_html_write(&run, path, NULL, &info) == GAZE_OK, "write: %s", gaze_last_error());
        size_t n;
        char * file = read_file(path, &n), * mem;
        size_t m;
        CHECK(gaze_html_run(&run, NULL, &mem, &m, NULL) == GAZE_OK && file && n == m && !memcmp(file, mem, n) && n == info.bytes,
              "the written file differs from the page in memory");
        free(file);
        free(mem);
        remove(path);
    }
    CHECK(gaze_html_write(&run, "/nonexistent-dir/x.html", NULL, NULL) == GAZE_ERR_IO, "write into a missing folder");
    gaze_run_free(&run);
}

static int write_fixtures(const char * dir) {
    char path[4096];
    struct gaze_run run;
    const struct synth * s[3] = { &HOSTILE_RUN, &DECODER_RUN, &SUBSET_RUN };
    const char * names[3] = { "hostile.safetensors", "decoder.safetensors", "subset.safetensors" };
    for (int i = 0; i < 3; i++) {
        if (make_run(&run, s[i]) != GAZE_OK) { fprintf(stderr, "test_html: %s\n", gaze_last_error()); return 1; }
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (gaze_run_save(&run, path, false) != GAZE_OK) { fprintf(stderr, "test_html: %s\n", gaze_last_error()); return 1; }
        gaze_run_free(&run);
        printf("wrote %s\n", path);
    }
    // an encoder-decoder run (hostile source and target tokens): tests/e2e_view.sh checks its kinds
    if (make_encdec_run(&run, (1u << GAZE_KIND_DECODER) | (1u << GAZE_KIND_CROSS)) != GAZE_OK) {
        fprintf(stderr, "test_html: %s\n", gaze_last_error());
        return 1;
    }
    snprintf(path, sizeof path, "%s/encdec.safetensors", dir);
    if (gaze_run_save(&run, path, false) != GAZE_OK) { fprintf(stderr, "test_html: %s\n", gaze_last_error()); return 1; }
    gaze_run_free(&run);
    printf("wrote %s\n", path);
    return 0;
}

int main(int argc, char ** argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures")) return write_fixtures(argv[2]);
    printf("test_html: seed 0x%llx\n", (unsigned long long)rng);
    test_sha256();
    test_assets();
    test_hostile_pages();
    test_decoder_tiers();
    test_subset();
    test_image_page();
    test_encdec_page();
    test_rollout();
    test_write();
    return check_summary("test_html");
}
