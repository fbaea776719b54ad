// Chat templates, recognised rather than executed: a Jinja interpreter would be a large attack
// surface for four prompt shapes. Each family is told by the control tokens its template
// writes; what varies inside a family (ChatML's default system message, Llama 3.1's date) is
// read from the template's own string literals. Checked against transformers'
// apply_chat_template by tests/test_chat.c (tests/reference/gen_chat_fixtures.py).
#include "core/core.h"
#include "text/utf8.h"
#include <string.h>
#include <time.h>

const char * gaze_chat_format_name(enum gaze_chat_format f) {
    switch (f) {
    case GAZE_CHAT_CHATML:  return "chatml";
    case GAZE_CHAT_LLAMA3:  return "llama3";
    case GAZE_CHAT_GEMMA:   return "gemma";
    case GAZE_CHAT_MISTRAL: return "mistral";
    }
    return "?";
}

// Gemma 3's chat template, verbatim (google/gemma-3-*-it tokenizer_config.json; the Gemma 3 GGUF
// gaze fetches carries none): what --chat uses for a gemma3 GGUF without its own template.
// tests/reference/gen_chat_fixtures.py holds the same text (test_chat checks they are equal).
static const char GEMMA3_TEMPLATE[] =
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\\n'}}\n"
    "{%- endif -%}\n";

const char * gaze_chat_builtin_template(const char * arch) {
    return arch && !strcmp(arch, "gemma3") ? GEMMA3_TEMPLATE : NULL;
}

// Reads a Jinja string literal's text from p up to the marker `until` into out (cap bytes):
// \n, \t, \', \", \\ unescaped. False when the literal ends, or an expression starts, first.
static bool literal_until(const char * p, const char * until, char * out, size_t cap) {
    size_t o = 0, ul = strlen(until);
    while (*p) {
        if (!strncmp(p, until, ul)) { out[o] = 0; return true; }
        char c = *p++;
        if (c == '\'' || c == '"' || (c == '{' && (*p == '{' || *p == '%'))) return false;
        if (c == '\\') {
            char e = *p++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            if (!e) return false;
        }
        if (o + 1 >= cap) return false;
        out[o++] = c;
    }
    return false;
}

// Finds, anywhere in tmpl, marker directly followed by literal text up to `until`.
static bool find_literal(const char * tmpl, const char * marker, const char * until, char * out, size_t cap) {
    size_t ml = strlen(marker);
    for (const char * p = strstr(tmpl, marker); p; p = strstr(p + 1, marker))
        if (literal_until(p + ml, until, out, cap) && out[0]) return true;
    return false;
}

enum gaze_status gaze_chat_detect(const char * tmpl, struct gaze_chat_style * out) {
    if (!tmpl || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_chat_detect: NULL argument");
    memset(out, 0, sizeof *out);
    if (strstr(tmpl, "<|im_start|>")) {
        out->format = GAZE_CHAT_CHATML;
        // the default system message, as a literal "<|im_start|>system\n...<|im_end|>" (the
        // newline written raw or as \n); a template that builds it from a variable has none
        out->has_system = find_literal(tmpl, "<|im_start|>system\n", "<|im_end|>", out->system, sizeof out->system) ||
                          find_literal(tmpl, "<|im_start|>system\\n", "<|im_end|>", out->system, sizeof out->system);
        return GAZE_OK;
    }
    if (strstr(tmpl, "<|start_header_id|>")) {
        out->format = GAZE_CHAT_LLAMA3;
        out->trim = true;
        if (strstr(tmpl, "Cutting Knowledge Date")) {   // Llama 3.1+: a system block, dated
            out->has_system = true;
            if (strstr(tmpl, "strftime_now")) {          // 3.2: today, as transformers passes it
                time_t now = time(NULL);
                struct tm tm;
                localtime_r(&now, &tm);
                strftime(out->date, sizeof out->date, "%d %b %Y", &tm);
            } else if (!find_literal(tmpl, "date_string = \"", "\"", out->date, sizeof out->date)) {
                return gaze_error(GAZE_ERR_UNSUPPORTED, "chat template: a Llama 3.1-style template without a "
                                  "date_string default is not supported");
            }
        }
        return GAZE_OK;
    }
    if (strstr(tmpl, "<start_of_turn>")) {
        out->format = GAZE_CHAT_GEMMA;
        out->trim = true;
        return GAZE_OK;
    }
    if (strstr(tmpl, "[INST]")) {
        if (strstr(tmpl, "[SYSTEM_PROMPT]"))
            return gaze_error(GAZE_ERR_UNSUPPORTED, "chat template: Mistral with [SYSTEM_PROMPT] (a default system "
                              "prompt) is not supported; supported: chatml, llama3, gemma, mistral [INST]");
        out->format = GAZE_CHAT_MISTRAL;
        out->spaced = strstr(tmpl, "[INST] ") != NULL;
        return GAZE_OK;
    }
    char head[64];
    size_t n = strlen(tmpl);
    gaze_term_escape(head, sizeof head, tmpl, n < 40 ? n : 40);
    return gaze_error(GAZE_ERR_UNSUPPORTED, "chat template not recognised (it starts \"%s%s\"); supported: chatml "
                      "(<|im_start|>), llama3 (<|start_header_id|>), gemma (<start_of_turn>), mistral ([INST])",
                      head, n > 40 ? "..." : "");
}

// Python's str.isspace() for Jinja's trim filter.
static bool py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static void trim(const char ** s, size_t * n) {
    const uint8_t * u = (const uint8_t *)*s;
    size_t b = 0, e = *n;
    while (b < e) {
        uint32_t cp;
        int k = gaze_utf8_decode(u, e, b, &cp);
        if (!k || !py_space(cp)) break;
        b += (size_t)k;
    }
    while (e > b) {   // step back to the last character's start
        size_t k = e - 1;
        while (k > b && (u[k] & 0xC0) == 0x80) k--;
        uint32_t cp;
        if (!gaze_utf8_decode(u, e, k, &cp) || !py_space(cp)) break;
        e = k;
    }
    *s += b;
    *n = e - b;
}

enum gaze_status gaze_chat_render(const struct gaze_chat_style * st, const char * bos, const char * user, char ** out) {
    if (!st || !user || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_chat_render: NULL argument");
    *out = NULL;
    if (!bos) bos = "";
    const char * msg = user;
    size_t ml = strlen(user);
    if (st->trim) trim(&msg, &ml);
    if (ml > (size_t)1 << 30) return gaze_error(GAZE_ERR_LIMIT, "chat: a message of %zu bytes is too long", ml);
    size_t cap = ml + strlen(bos) + strlen(st->system) + 256;
    char * o = malloc(cap);
    if (!o) return gaze_error(GAZE_ERR_NOMEM, "chat: out of memory");
    int n = 0;
    switch (st->format) {
    case GAZE_CHAT_CHATML:
        if (st->has_system) n = snprintf(o, cap, "<|im_start|>system\n%s<|im_end|>\n", st->system);
        n += snprintf(o + n, cap - (size_t)n, "<|im_start|>user\n%.*s<|im_end|>\n<|im_start|>assistant\n", (int)ml, msg);
        break;
    case GAZE_CHAT_LLAMA3:
        n = snprintf(o, cap, "%s", bos);
        if (st->has_system)
            n += snprintf(o + n, cap - (size_t)n, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
                          "December 2023\nToday Date: %s\n\n%s<|eot_id|>", st->date, st->system);
        n += snprintf(o + n, cap - (size_t)n, "<|start_header_id|>user<|end_header_id|>\n\n%.*s<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n", (int)ml, msg);
        break;
    case GAZE_CHAT_GEMMA:
        n = snprintf(o, cap, "%s<start_of_turn>user\n%.*s<end_of_turn>\n<start_of_turn>model\n", bos, (int)ml, msg);
        break;
    case GAZE_CHAT_MISTRAL:
        n = snprintf(o, cap, st->spaced ? "%s[INST] %.*s [/INST]" : "%s[INST]%.*s[/INST]", bos, (int)ml, msg);
        break;
    default:
        free(o);
        return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_chat_render: unknown format %d", (int)st->format);
    }
    (void)n;
    *out = o;
    return GAZE_OK;
}

enum gaze_status gaze_tokenizer_chat(const struct gaze_tokenizer * tok, const char * user, char ** out) {
    if (!tok || !user || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_chat: NULL argument");
    *out = NULL;
    const char * tmpl = gaze_tokenizer_chat_template(tok);
    if (!tmpl)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "chat: the model has no chat template (GGUF tokenizer.chat_template, "
                          "tokenizer_config.json chat_template)");
    struct gaze_chat_style st;
    enum gaze_status s = gaze_chat_detect(tmpl, &st);
    if (s) return s;
    struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(tok);
    const char * bos = sp.add_bos || sp.bos < 0 ? "" : gaze_tokenizer_token(tok, sp.bos, NULL);
    return gaze_chat_render(&st, bos, user, out);
}
