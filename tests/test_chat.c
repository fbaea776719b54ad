// Chat templates: every template of tests/fixtures/chat/cases.json (SmolLM2, Qwen 2.5 / 3,
// Llama 3 / 3.1 / 3.2 / 3.3, Gemma 2, Mistral v0.1 / Nemo) recognised and rendered exactly as
// transformers' apply_chat_template(add_generation_prompt=True) (gen_chat_fixtures.py), a
// template gaze does not model (Devstral's default [SYSTEM_PROMPT]) and unknown ones refused.
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
    CHECK(rendered >= 70 && refused >= 1, "%d rendered, %d refused", rendered, refused);
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
}

int main(void) {
    test_fixture();
    test_refusals();
    return check_summary("test_chat");
}
