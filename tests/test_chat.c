// Chat templates: every template of tests/fixtures/chat/cases.json (SmolLM2, Qwen 2.5 / 3,
// Llama 3 / 3.1 / 3.2 / 3.3, Gemma 2 / 3, Mistral v0.1 / Nemo) recognised and rendered exactly as
// transformers' apply_chat_template(add_generation_prompt=True) (gen_chat_fixtures.py), a
// template gaze does not model (Devstral's default [SYSTEM_PROMPT]) and unknown ones refused.
// Gemma 3's template is also gaze's built-in one for a gemma3 GGUF without a template: the
// built-in text must equal the fixture's, and a gemma3 GGUF without one must get it.
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void test_fixture(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/chat/cases.json", d && *d ? d : ".");
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    CHECK(doc != NULL, "%s: %s", path, err.text);
    if (!doc) return;
    json_t * tmpls = json_object_get(doc, "templates"), * cases = json_object_get(doc, "cases");
    size_t i;
    json_t * c;
    int rendered = 0, refused = 0;
    json_array_foreach(cases, i, c) {
        const char * name = json_string_value(json_object_get(c, "name"));
        json_t * t = json_object_get(tmpls, name);
        const char * tmpl = json_string_value(json_object_get(t, "template"));
        const char * want = json_string_value(json_object_get(c, "want"));
        struct gaze_chat_style st;
        enum gaze_status s = gaze_chat_detect(tmpl, &st);
        if (!json_is_true(json_object_get(t, "supported"))) {
            CHECK(s == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), "SYSTEM_PROMPT"), "%s: refused: %s", name, gaze_last_error());
            refused++;
            continue;
        }
        CHECK(s == GAZE_OK, "%s: %s", name, gaze_last_error());
        char * got = NULL;
        if (!s) s = gaze_chat_render(&st, json_string_value(json_object_get(t, "bos")),
                                     json_string_value(json_object_get(c, "message")), &got);
        // Llama 3.2 dates its prompt with the day it runs: the fixture's date becomes ours
        char * w = strdup(want ? want : "");
        char * day = strstr(w, "Today Date: ");
        if (day && strstr(tmpl, "strftime_now") && strlen(day) > 23 && strlen(st.date) == 11) memcpy(day + 12, st.date, 11);
        CHECK(!s && got && !strcmp(got, w), "%s / \"%s\":\n  want \"%s\"\n  got  \"%s\"", name,
              json_string_value(json_object_get(c, "message")), w, got ? got : gaze_last_error());
        rendered++;
        free(w);
        free(got);
    }
    CHECK(rendered >= 77 && refused >= 1, "%d rendered, %d refused", rendered, refused);
    const char * g3 = json_string_value(json_object_get(json_object_get(tmpls, "gemma3"), "template"));
    const char * builtin = gaze_chat_builtin_template("gemma3");
    CHECK(g3 && builtin && !strcmp(g3, builtin), "gaze's built-in gemma3 template differs from the fixture's");
    CHECK(gaze_chat_builtin_template("gemma2") == NULL && gaze_chat_builtin_template(NULL) == NULL, "builtin for others");
    json_decref(doc);
}

static void test_refusals(void) {
    struct gaze_chat_style st;
    CHECK(gaze_chat_detect("{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}", &st) == GAZE_ERR_UNSUPPORTED &&
          strstr(gaze_last_error(), "not recognised"), "unknown template: %s", gaze_last_error());
    // Llama 3.1-style without a date default
    CHECK(gaze_chat_detect("<|start_header_id|>system Cutting Knowledge Date: {{ d }}", &st) == GAZE_ERR_UNSUPPORTED,
          "dated llama3 without date_string: %s", gaze_last_error());
    // a terminal escape in an unknown template is escaped in the message
    CHECK(gaze_chat_detect("\x1b[2Jhello", &st) == GAZE_ERR_UNSUPPORTED && !strchr(gaze_last_error(), '\x1b'),
          "escape in message");
    // BOS left out when the tokenizer adds it: a tokenizer from the tiny SPM fixture has no template
    const char * d = getenv("GAZE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/spm/tiny.gguf", d && *d ? d : ".");
    struct gaze_tokenizer * t = NULL;
    CHECK(gaze_tokenizer_open(path, &t) == GAZE_OK, "%s", gaze_last_error());
    char * out = NULL;
    CHECK(t && gaze_tokenizer_chat(t, "hi", &out) == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), "no chat template"),
          "no template: %s", gaze_last_error());
    free(out);
    gaze_tokenizer_free(t);
    // a gemma3 GGUF without a template (the tiny GGUF twin of the Gemma 3 fixture): the built-in one
    snprintf(path, sizeof path, "%s/tests/fixtures/decoders_gguf/gemma3_text.gguf", d && *d ? d : ".");
    t = NULL;
    out = NULL;
    CHECK(gaze_tokenizer_open(path, &t) == GAZE_OK, "%s", gaze_last_error());
    CHECK(t && gaze_tokenizer_chat_template_builtin(t) && gaze_tokenizer_chat(t, " hi ", &out) == GAZE_OK && out &&
          strlen(out) >= 57 && !strcmp(out + strlen(out) - 57, "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"),
          "gemma3 without a template: %s", out ? out : gaze_last_error());
    free(out);
    gaze_tokenizer_free(t);
    // a file with its own template is not marked built-in; the tiny SPM one (no arch) has none
    snprintf(path, sizeof path, "%s/tests/fixtures/spm/tiny.gguf", d && *d ? d : ".");
    CHECK(gaze_tokenizer_open(path, &t) == GAZE_OK && !gaze_tokenizer_chat_template_builtin(t), "tiny: not built-in");
    gaze_tokenizer_free(t);
}

int main(void) {
    test_fixture();
    test_refusals();
    return check_summary("test_chat");
}
