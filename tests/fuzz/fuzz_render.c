// Output escaping under hostile tokens (issue 7 "Output", R14 of reliability.md): the input is
// cut into token strings (at 0xFF bytes; NUL, C0 controls, "</script>", "<!--", "]]>", quotes,
// U+2028/9 and invalid UTF-8 all welcome), made into a run with two attention layers, and
// rendered:
//   - the HTML viewer page: pure ASCII; exactly the elements and attributes of the same page
//     made for harmless tokens (libxml2's HTML parser); the gaze-meta JSON block parses and
//     its tokens are the run's tokens exactly;
//   - an SVG figure (kind from the options byte): well-formed XML (libxml2, no recovery), no
//     script, foreignObject or on* attribute;
//   - the terminal heatmap with the tokens as labels.
// Byte 0 = options: bit 0 causal (Llama-style run), bits 1-2 plot kind, bit 3 word grouping,
// bit 4 hide specials, bit 5 the first token is also the title.
#include "fuzz_common.h"
#include "formats/json.h"
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define MAX_TOKENS 48
static FILE * g_null;

static void xml_quiet(void * ctx, const char * msg, ...) { (void)ctx; (void)msg; }

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    g_null = fopen("/dev/null", "w");
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, xml_quiet);
    return 0;
}

// A run of T tokens (strings tok[t][0..len[t])), 2 layers x 2 heads, every row captured; row
// weights decay with distance over the visible keys and sum to 1.
static bool make_run(struct gaze_run * r, int64_t T, const char * const * tok, const size_t * len, bool causal,
                     const char * title) {
    gaze_run_init(r);
    int32_t ids[MAX_TOKENS];
    for (int64_t t = 0; t < T; t++) ids[t] = (int32_t)t;
    if (gaze_run_set_tokens(r, T, tok, len, ids, NULL) != GAZE_OK) return false;
    r->model = title ? gaze_json_utf8_sanitize(title, strlen(title), NULL) : strdup("fuzz-model");
    r->arch = strdup(causal ? "llama" : "bert");
    r->causal = causal;
    r->n_layers = 2;
    r->n_heads = r->n_kv_heads = 2;
    if (gaze_run_set_capture(r, NULL, 2, NULL, T) != GAZE_OK) return false;
    for (int64_t l = 0; l < 2; l++) {
        struct gaze_run_layer * ly;
        if (gaze_run_add_layer(r, l, GAZE_RUN_PART_ATTN, &ly) != GAZE_OK) return false;
        for (int64_t h = 0; h < 2; h++)
            for (int64_t i = 0; i < T; i++) {
                float * row = ly->attn + (h * T + i) * T;
                const int64_t nvis = causal ? i + 1 : T;
                double sum = 0;
                for (int64_t j = 0; j < nvis; j++) sum += 1.0 / (1.0 + (double)((i - j) * (i - j) * (h + l + 1)));
                for (int64_t j = 0; j < nvis; j++) row[j] = (float)(1.0 / (1.0 + (double)((i - j) * (i - j) * (h + l + 1))) / sum);
            }
    }
    return true;
}

static void count_html(xmlNode * n, int64_t * elems, int64_t * attrs, int64_t * scripts) {
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        (*elems)++;
        if (!xmlStrcasecmp(n->name, (const xmlChar *)"script")) (*scripts)++;
        for (xmlAttr * a = n->properties; a; a = a->next) (*attrs)++;
        count_html(n->children, elems, attrs, scripts);
    }
}

// Elements, attributes and scripts of a page as libxml2's HTML parser sees it.
// The page's gaze-meta block (the data the viewer reads), parsed strictly; aborts when it is
// missing, unclosed or not JSON. what: prefix of the message ("" or "encdec ").
static json_t * page_meta(const char * page, const char * what) {
    const char * open = strstr(page, "id=\"gaze-meta\">");
    FUZZ_REQUIRE(open != NULL, "no gaze-meta block");
    open += strlen("id=\"gaze-meta\">");
    const char * close = strstr(open, "</script>");
    FUZZ_REQUIRE(close != NULL, "gaze-meta block not closed");
    json_error_t err;
    json_t * meta = json_loadb(open, (size_t)(close - open), JSON_REJECT_DUPLICATES, &err);
    FUZZ_REQUIRE(meta != NULL, "%sgaze-meta is not JSON: %s", what, err.text);
    return meta;
}

static void html_shape(const char * page, size_t n, int64_t out[3]) {
    out[0] = out[1] = out[2] = 0;
    htmlDocPtr doc = htmlReadMemory(page, (int)n, "page.html", "UTF-8",
                                    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
    FUZZ_REQUIRE(doc != NULL, "HTML page does not parse");
    count_html(xmlDocGetRootElement(doc), &out[0], &out[1], &out[2]);
    xmlFreeDoc(doc);
}

// The template's shape for T harmless tokens, computed once per (T, causal).
static int64_t g_shape[MAX_TOKENS + 1][2][3];
static bool g_shape_done[MAX_TOKENS + 1][2];

static void template_shape(const struct gaze_run * benign, int64_t out[3]) {
    const int64_t T = benign->T, c = benign->causal;
    if (!g_shape_done[T][c]) {
        char * ref = NULL;
        size_t nref = 0;
        FUZZ_REQUIRE(gaze_html_run(benign, NULL, &ref, &nref, NULL) == GAZE_OK, "benign html: %s", gaze_last_error());
        html_shape(ref, nref, g_shape[T][c]);
        free(ref);
        g_shape_done[T][c] = true;
    }
    memcpy(out, g_shape[T][c], sizeof g_shape[T][c]);
}

static void check_html(const struct gaze_run * r, const struct gaze_run * benign) {
    char * page = NULL;
    size_t n = 0;
    enum gaze_status s = gaze_html_run(r, NULL, &page, &n, NULL);
    if (s != GAZE_OK) { fuzz_check_failure(s, "html"); return; }
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)page[i];
        FUZZ_REQUIRE(c == '\n' || c == '\t' || c == '\r' || (c >= 0x20 && c < 0x7f), "page byte 0x%02x at %zu (not ASCII)", c, i);
    }
    int64_t got[3], want[3];
    html_shape(page, n, got);
    template_shape(benign, want);
    FUZZ_REQUIRE(got[0] == want[0] && got[1] == want[1] && got[2] == want[2],
                 "tokens changed the page's structure: %lld elements / %lld attributes / %lld scripts, template has %lld / %lld / %lld",
                 (long long)got[0], (long long)got[1], (long long)got[2], (long long)want[0], (long long)want[1], (long long)want[2]);
    // the data block gives the tokens back exactly
    json_t * meta = page_meta(page, "");
    json_t * toks = json_object_get(meta, "tokens");
    FUZZ_REQUIRE(json_is_array(toks) && (int64_t)json_array_size(toks) == r->T, "gaze-meta tokens");
    for (int64_t t = 0; t < r->T; t++) {
        const char * v = json_string_value(json_array_get(toks, (size_t)t));
        FUZZ_REQUIRE(v && !strcmp(v, r->tokens[t]), "token %lld does not round-trip through the page", (long long)t);
    }
    json_decref(meta);
    free(page);
}

// Encoder-decoder pages: the tokens as source and target both (one decoder layer, decoder and
// cross attention); the page stays ASCII with the benign page's structure, and the cross kind's
// metadata gives the source tokens (keys) and target tokens (rows) back exactly.
static bool make_encdec(struct gaze_run * r, int64_t T, const char * const * tok, const size_t * len, const char * title) {
    if (!make_run(r, T, tok, len, false, title)) return false;
    int32_t ids[MAX_TOKENS];
    for (int64_t t = 0; t < T; t++) ids[t] = (int32_t)t;
    if (gaze_run_set_target(r, (1u << GAZE_KIND_DECODER) | (1u << GAZE_KIND_CROSS), T, tok, len, ids, 1, 2, 2) != GAZE_OK) return false;
    for (int k = GAZE_KIND_DECODER; k <= GAZE_KIND_CROSS; k++) {
        struct gaze_run_layer * ly;
        if (gaze_run_add_kind_layer(r, (enum gaze_kind)k, 0, GAZE_RUN_PART_ATTN, &ly) != GAZE_OK) return false;
        for (int64_t h = 0; h < 2; h++)
            for (int64_t i = 0; i < T; i++) {   // causal rows for the decoder, uniform for cross
                const int64_t n = k == GAZE_KIND_DECODER ? i + 1 : T;
                for (int64_t j = 0; j < n; j++) ly->attn[(h * T + i) * T + j] = 1.0f / (float)n;
            }
    }
    return true;
}

static void check_html_encdec(const struct gaze_run * r, const struct gaze_run * benign) {
    char * page = NULL, * ref = NULL;
    size_t n = 0, nref = 0;
    struct gaze_html_opts o = { 0 };
    o.kind = GAZE_KIND_CROSS;
    enum gaze_status s = gaze_html_run(r, &o, &page, &n, NULL);
    if (s != GAZE_OK) { fuzz_check_failure(s, "html encdec"); return; }
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)page[i];
        FUZZ_REQUIRE(c == '\n' || c == '\t' || c == '\r' || (c >= 0x20 && c < 0x7f), "encdec page byte 0x%02x at %zu", c, i);
    }
    FUZZ_REQUIRE(gaze_html_run(benign, &o, &ref, &nref, NULL) == GAZE_OK, "benign encdec html: %s", gaze_last_error());
    int64_t got[3], want[3];
    html_shape(page, n, got);
    html_shape(ref, nref, want);
    FUZZ_REQUIRE(got[0] == want[0] && got[1] == want[1] && got[2] == want[2], "tokens changed the encdec page's structure");
    json_t * meta = page_meta(page, "encdec ");
    json_t * cross = json_object_get(json_object_get(meta, "kinds"), "cross");
    json_t * keys = json_object_get(cross, "tokens"), * rows = json_object_get(json_object_get(cross, "rows"), "tokens");
    FUZZ_REQUIRE(json_is_array(keys) && json_is_array(rows) && (int64_t)json_array_size(keys) == r->T &&
                 (int64_t)json_array_size(rows) == r->cross->T, "encdec cross tokens");
    for (int64_t t = 0; t < r->T; t++) {
        const char * k = json_string_value(json_array_get(keys, (size_t)t)), * q = json_string_value(json_array_get(rows, (size_t)t));
        FUZZ_REQUIRE(k && !strcmp(k, r->tokens[t]) && q && !strcmp(q, r->cross->tokens[t]),
                     "token %lld does not round-trip through the cross kind", (long long)t);
    }
    json_decref(meta);
    free(page);
    free(ref);
}

static void check_svg_node(xmlNode * n) {
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        FUZZ_REQUIRE(xmlStrcasecmp(n->name, (const xmlChar *)"script") && xmlStrcasecmp(n->name, (const xmlChar *)"foreignObject"),
                     "SVG holds a <%s> element", (const char *)n->name);
        for (xmlAttr * a = n->properties; a; a = a->next)
            FUZZ_REQUIRE(xmlStrncasecmp(a->name, (const xmlChar *)"on", 2), "SVG attribute %s", (const char *)a->name);
        check_svg_node(n->children);
    }
}

static void check_svg(const struct gaze_run * r, uint8_t flags) {
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.format = GAZE_PLOT_FORMAT_SVG;
    o.kind = (enum gaze_plot_kind)((flags >> 1) & 3);
    o.words = flags & 8;
    o.hide_special = flags & 16;
    o.max_px = 1200;
    unsigned char * svg = NULL;
    size_t n = 0;
    enum gaze_status s = gaze_plot_run_buffer(r, &o, &svg, &n, NULL);
    if (s != GAZE_OK) { fuzz_check_failure(s, "plot svg"); return; }
    xmlDocPtr doc = xmlReadMemory((const char *)svg, (int)n, "plot.svg", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    FUZZ_REQUIRE(doc != NULL, "SVG is not well-formed XML (%zu bytes)", n);
    check_svg_node(xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    free(svg);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 2) return 0;
    const uint8_t flags = data[0];
    const char * tok[MAX_TOKENS];
    size_t len[MAX_TOKENS];
    int64_t T = 0;
    size_t start = 1;
    for (size_t i = 1; i <= size && T < MAX_TOKENS; i++)
        if (i == size || data[i] == 0xFF) {
            tok[T] = (const char *)data + start;
            len[T] = i - start;
            T++;
            start = i + 1;
        }
    // the tokens as separate heap blocks, so an over-read of one is an ASan report
    char * own[MAX_TOKENS];
    for (int64_t t = 0; t < T; t++) { own[t] = (char *)fuzz_dup((const uint8_t *)tok[t], len[t]); tok[t] = own[t]; }
    char * title = NULL;
    if ((flags & 32) && T > 0) {
        title = malloc(len[0] + 1);
        memcpy(title, tok[0], len[0]);
        title[len[0]] = 0;
    }
    struct gaze_run r, benign;
    const bool causal = flags & 1;
    FUZZ_REQUIRE(make_run(&r, T, tok, len, causal, title), "run: %s", gaze_last_error());
    const char * btok[MAX_TOKENS];
    char bbuf[MAX_TOKENS][8];
    for (int64_t t = 0; t < T; t++) { snprintf(bbuf[t], sizeof bbuf[t], "t%lld", (long long)t); btok[t] = bbuf[t]; }
    FUZZ_REQUIRE(make_run(&benign, T, btok, NULL, causal, NULL), "benign run: %s", gaze_last_error());
    FUZZ_REQUIRE(gaze_run_check(&r, "fuzz") == GAZE_OK, "run check: %s", gaze_last_error());
    for (int64_t t = 0; t < T; t++)
        FUZZ_REQUIRE(gaze_utf8_validate(r.tokens[t], strlen(r.tokens[t]), "token") == GAZE_OK, "token %lld not sanitized", (long long)t);

    check_html(&r, &benign);
    if (flags & 64) {   // the same tokens as an encoder-decoder run's source and target
        struct gaze_run e, be;
        FUZZ_REQUIRE(make_encdec(&e, T, tok, len, title), "encdec run: %s", gaze_last_error());
        FUZZ_REQUIRE(make_encdec(&be, T, btok, NULL, NULL), "benign encdec run: %s", gaze_last_error());
        check_html_encdec(&e, &be);
        gaze_run_free(&e);
        gaze_run_free(&be);
    }
    check_svg(&r, flags);
    // A running count for the campaign record (issue 7 asks for 10^5 hostile tokens through the
    // views): libFuzzer's SIGINT exit skips atexit, so it is printed as it grows.
    static unsigned long long n_inputs, n_tokens, next_report = 1000;
    n_inputs++;
    n_tokens += (unsigned long long)T;
    if (n_inputs >= next_report) {
        fprintf(stderr, "fuzz_render: %llu inputs, %llu hostile tokens rendered (HTML + SVG + terminal)\n",
                n_inputs, n_tokens);
        next_report += 1000;
    }
    struct gaze_term_opts to = { .width = 100, .color = GAZE_TERM_COLOR_256, .top_k = 2, .title = r.model };
    enum gaze_status s = gaze_term_heatmap(g_null, r.layers[0].attn, T, T, (const char * const *)r.tokens,
                                           (const char * const *)r.tokens, &to);
    if (s) fuzz_check_failure(s, "heatmap");

    gaze_run_free(&r);
    gaze_run_free(&benign);
    for (int64_t t = 0; t < T; t++) free(own[t]);
    free(title);
    return 0;
}
