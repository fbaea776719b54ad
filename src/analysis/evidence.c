// The evidence benchmark's JSON Lines (gaze evaluate): every line checked (an object with a
// string "text" without NUL, "evidence" spans inside it), errors named by file and line.
#include "analysis/analysis.h"
#include "formats/json.h"
#include <string.h>

void gaze_evidence_free(struct gaze_evidence * ev) {
    if (!ev) return;
    for (int64_t i = 0; i < ev->n; i++) {
        struct gaze_evidence_item * x = &ev->items[i];
        free(x->text); free(x->task); free(x->target); free(x->spans); free(x->cf_text); free(x->cf_spans);
    }
    free(ev->items);
    memset(ev, 0, sizeof *ev);
}

// text and evidence spans of object o into *text, *spans, *n_spans; NULL or the reason refused
static const char * parse_text_spans(json_t * o, char ** text_out, int64_t ** spans_out, int64_t * n_out, bool * nomem) {
    json_t * text = json_object_get(o, "text"), * ev = json_object_get(o, "evidence");
    if (!json_is_string(text)) return "field \"text\" is missing or not a string";
    if (strlen(json_string_value(text)) != json_string_length(text)) return "field \"text\" holds a NUL character";
    if (ev && !json_is_array(ev)) return "field \"evidence\" is not an array of [begin, end] pairs";
    const json_int_t tl = (json_int_t)json_string_length(text);
    const int64_t n = ev ? (int64_t)json_array_size(ev) : 0;
    char * t = strdup(json_string_value(text));
    int64_t * sp = malloc((size_t)(n ? 2 * n : 1) * sizeof *sp);
    if (!t || !sp) { free(t); free(sp); *nomem = true; return "out of memory"; }
    for (int64_t s = 0; s < n; s++) {
        json_t * e = json_array_get(ev, (size_t)s);
        json_t * b = json_array_get(e, 0), * en = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(b) || !json_is_integer(en) ||
            json_integer_value(b) < 0 || json_integer_value(en) <= json_integer_value(b) || json_integer_value(en) > tl) {
            free(t); free(sp);
            return "an \"evidence\" span is not [begin, end] with 0 <= begin < end <= the text's bytes";
        }
        sp[2 * s] = json_integer_value(b);
        sp[2 * s + 1] = json_integer_value(en);
    }
    *text_out = t; *spans_out = sp; *n_out = n;
    return NULL;
}

// One line into x (zeroed); NULL or the reason it is refused.
static const char * parse_line(const char * line, size_t len, struct gaze_evidence_item * x, bool * nomem) {
    json_error_t err;
    json_t * o = json_loadb(line, len, 0, &err);
    const char * why = NULL;
    json_t * task = o ? json_object_get(o, "task") : NULL, * target = o ? json_object_get(o, "target") : NULL;
    json_t * cf = o ? json_object_get(o, "counterfactual") : NULL;
    if (!o || !json_is_object(o)) why = "not a JSON object";
    else if ((task && !json_is_string(task)) || (target && !json_is_string(target)))
        why = "field \"task\" or \"target\" is not a string";
    else if ((task && strlen(json_string_value(task)) != json_string_length(task)) ||
             (target && strlen(json_string_value(target)) != json_string_length(target)))
        why = "field \"task\" or \"target\" holds a NUL character";
    else if (cf && !json_is_object(cf)) why = "field \"counterfactual\" is not an object {\"text\", \"evidence\"}";
    if (!why) why = parse_text_spans(o, &x->text, &x->spans, &x->n_spans, nomem);
    if (!why && cf) {
        why = parse_text_spans(cf, &x->cf_text, &x->cf_spans, &x->n_cf_spans, nomem);
        if (why && !*nomem) why = "field \"counterfactual\": its text or evidence is not valid (as for the item's own)";
    }
    if (!why) {
        x->task = strdup(task ? json_string_value(task) : "-");
        x->target = target ? strdup(json_string_value(target)) : NULL;
        if (!x->task || (target && !x->target)) { *nomem = true; why = "out of memory"; }
    }
    json_decref(o);
    return why;
}

enum gaze_status gaze_evidence_parse(struct gaze_evidence * ev, const char * data, size_t n, const char * name) {
    if (!ev || (!data && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "evidence: NULL argument");
    memset(ev, 0, sizeof *ev);
    int64_t cap = 0, line = 0;
    for (size_t at = 0; at < n;) {
        const char * p = data + at, * nl = memchr(p, '\n', n - at);
        const size_t len = nl ? (size_t)(nl - p) : n - at;
        at += len + 1;
        line++;
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        if (k == len) continue;
        if (ev->n == cap) {
            cap = cap ? 2 * cap : 64;
            struct gaze_evidence_item * g = realloc(ev->items, (size_t)cap * sizeof *g);
            if (!g) { gaze_evidence_free(ev); return gaze_error(GAZE_ERR_NOMEM, "evidence: out of memory"); }
            ev->items = g;
        }
        struct gaze_evidence_item * x = &ev->items[ev->n];
        memset(x, 0, sizeof *x);
        bool nomem = false;
        const char * why = parse_line(p, len, x, &nomem);
        if (why) {
            free(x->text); free(x->task); free(x->target); free(x->spans); free(x->cf_text); free(x->cf_spans);
            gaze_evidence_free(ev);
            if (nomem) return gaze_error(GAZE_ERR_NOMEM, "evidence: out of memory");
            return gaze_error(GAZE_ERR_FORMAT, "%s:%lld: %s", name ? name : "evidence", (long long)line, why);
        }
        x->line = line;
        ev->n++;
    }
    if (ev->n == 0) return gaze_error(GAZE_ERR_FORMAT, "%s holds no item", name ? name : "evidence");
    return GAZE_OK;
}
