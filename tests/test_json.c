// JSON helper: UTF-8 validation and U+FFFD replacement (checked against Python's
// errors="replace"), nesting-depth cap, duplicate keys, size cap, typed getter messages, hex64.
#include "check.h"
#include "formats/json.h"
#include <string.h>
#include <unistd.h>

static bool contains(const char * hay, const char * needle) { return strstr(hay, needle) != NULL; }

static void test_utf8(void) {
    static const struct { const char * in; size_t len; bool valid; size_t bad; } v[] = {
        { "plain ascii", 11, true, 0 },
        { "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14, true, 0 },
        { "a\x80" "b", 3, false, 1 },                  // lone continuation
        { "ab\xC0\xAF", 4, false, 2 },                 // overlong '/'
        { "\xE0\x80\x80", 3, false, 0 },               // overlong 3-byte
        { "x\xED\xA0\x80", 4, false, 1 },              // surrogate U+D800
        { "\xF4\x90\x80\x80", 4, false, 0 },           // > U+10FFFF
        { "ok\xF0\x9F\x98", 5, false, 2 },             // truncated 4-byte
        { "12345678\xFF", 9, false, 8 },               // after the 8-byte fast path
        { "nul\0inside", 10, true, 0 },                // NUL is valid UTF-8
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t bad = 999;
        bool ok = gaze_json_utf8_valid(v[i].in, v[i].len, &bad);
        CHECK(ok == v[i].valid, "case %zu", i);
        if (!v[i].valid) CHECK(bad == v[i].bad, "case %zu: bad offset %zu, want %zu", i, bad, v[i].bad);
    }
    // Expected outputs from Python: bytes.decode("utf-8", "replace").
    static const struct { const char * in; size_t len; const char * out; } r[] = {
        { "\xF0\x9F\x98", 3, "\xEF\xBF\xBD" },
        { "\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "\xE2\x82" "A", 3, "\xEF\xBF\xBD" "A" },
        { "\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "a\x80" "b", 3, "a\xEF\xBF\xBD" "b" },
        { "\xE0\x80\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "\xF0\x9F\x98\x80\xFF", 5, "\xF0\x9F\x98\x80\xEF\xBF\xBD" },
        { "", 0, "" },
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        size_t n;
        char * s = gaze_json_utf8_sanitize(r[i].in, r[i].len, &n);
        CHECK(s && n == strlen(r[i].out) && !memcmp(s, r[i].out, n), "sanitize case %zu", i);
        CHECK(s && gaze_json_utf8_valid(s, n, NULL), "sanitize case %zu output valid", i);
        free(s);
    }
}

static void test_depth(void) {
    char buf[512];
    // depth exactly 64: accepted; 65: GAZE_ERR_LIMIT at the offending bracket.
    for (int depth = 63; depth <= 66; depth++) {
        size_t o = 0;
        for (int i = 0; i < depth; i++) buf[o++] = '[';
        for (int i = 0; i < depth; i++) buf[o++] = ']';
        json_t * j;
        enum gaze_status s = gaze_json_load_buffer(&j, buf, o, "deep.json", 0, 64);
        if (depth <= 64) {
            CHECK(s == GAZE_OK, "depth %d: %s", depth, gaze_last_error());
            json_decref(j);
        } else {
            CHECK(s == GAZE_ERR_LIMIT, "depth %d", depth);
            CHECK(contains(gaze_last_error(), "deep.json: JSON nesting deeper than 64 at offset 64"),
                  "%s", gaze_last_error());
            CHECK(j == NULL, "no value on failure");
        }
    }
    // Brackets inside strings (with escaped quotes) do not count.
    const char * str = "{\"a\\\"[[[[\": \"[[[[[[[[[[\"}";
    json_t * j;
    CHECK(gaze_json_load_buffer(&j, str, strlen(str), "s.json", 0, 2) == GAZE_OK, "%s", gaze_last_error());
    json_decref(j);
    // Default cap applies when max_depth <= 0; the offset is shifted by base_offset.
    memset(buf, '{', 100);
    CHECK(gaze_json_load_buffer(&j, buf, 100, "x", 8, 0) == GAZE_ERR_LIMIT, "default depth");
    CHECK(contains(gaze_last_error(), "deeper than 64 at offset 72"), "%s", gaze_last_error());
}

static void test_parse_errors(void) {
    json_t * j;
    const char * dup = "{\"a\": 1, \"b\": {\"c\": 1, \"c\": 2}}";
    CHECK(gaze_json_load_buffer(&j, dup, strlen(dup), "dup.json", 0, 0) == GAZE_ERR_FORMAT, "nested dup");
    CHECK(contains(gaze_last_error(), "dup.json: invalid JSON") && contains(gaze_last_error(), "duplicate"),
          "%s", gaze_last_error());
    const char * dup2 = "{\"a\": 1, \"a\": 1}";
    CHECK(gaze_json_load_buffer(&j, dup2, strlen(dup2), "dup.json", 0, 0) == GAZE_ERR_FORMAT, "top dup");
    const char * bad = "{\"a\": tru}";
    CHECK(gaze_json_load_buffer(&j, bad, strlen(bad), "bad.json", 100, 0) == GAZE_ERR_FORMAT, "bad");
    CHECK(contains(gaze_last_error(), "bad.json: invalid JSON at offset 1"), "%s", gaze_last_error());
    const char * utf = "{\"a\": \"\xC3\x28\"}";
    CHECK(gaze_json_load_buffer(&j, utf, strlen(utf), "u.json", 0, 0) == GAZE_ERR_FORMAT, "utf8");
    CHECK(contains(gaze_last_error(), "u.json: invalid UTF-8 at offset 7 (byte 0xc3)"), "%s", gaze_last_error());
    // Not NUL-terminated: only len bytes are read.
    const char part[] = "[1,2]garbage";
    CHECK(gaze_json_load_buffer(&j, part, 5, "p", 0, 0) == GAZE_OK && json_array_size(j) == 2, "len");
    json_decref(j);
}

static void test_getters(void) {
    const char * text =
        "{\"hidden_size\": \"384\", \"layers\": 6, \"eps\": 1e-12, \"ratio\": 2, \"act\": \"gelu\","
        " \"flag\": true, \"none\": null, \"arr\": [1], \"obj\": {}, \"real\": 6.0,"
        " \"nul\": \"a\\u0000b\", \"big\": 5000}";
    json_t * cfg;
    CHECK(gaze_json_load_buffer(&cfg, text, strlen(text), "config.json", 0, 0) == GAZE_OK, "%s",
          gaze_last_error());
    int64_t i = -1;
    double d = -1;
    bool b = false;
    const char * s = NULL;
    json_t * v = NULL;
    CHECK(gaze_json_get_int(cfg, "hidden_size", "config.json", &i) == GAZE_ERR_FORMAT, "string as int");
    CHECK(!strcmp(gaze_last_error(), "config.json: field hidden_size: expected integer, got string"),
          "%s", gaze_last_error());
    CHECK(gaze_json_get_int(cfg, "layers", "config.json", &i) == GAZE_OK && i == 6, "int");
    CHECK(gaze_json_get_int(cfg, "real", "config.json", &i) == GAZE_ERR_FORMAT, "real as int");
    CHECK(contains(gaze_last_error(), "field real: expected integer, got real"), "%s", gaze_last_error());
    CHECK(gaze_json_get_int(cfg, "missing", "config.json", &i) == GAZE_ERR_FORMAT, "missing");
    CHECK(!strcmp(gaze_last_error(), "config.json: field missing: missing (expected integer)"), "%s",
          gaze_last_error());
    CHECK(gaze_json_get_int(cfg, "none", "config.json", &i) == GAZE_ERR_FORMAT, "null required");
    CHECK(contains(gaze_last_error(), "field none: expected integer, got null"), "%s", gaze_last_error());
    CHECK(gaze_json_opt_int(cfg, "none", "config.json", 7, &i) == GAZE_OK && i == 7, "null optional");
    CHECK(gaze_json_opt_int(cfg, "missing", "config.json", 8, &i) == GAZE_OK && i == 8, "opt default");
    CHECK(gaze_json_opt_int(cfg, "act", "config.json", 8, &i) == GAZE_ERR_FORMAT, "opt wrong type");
    CHECK(gaze_json_get_int_range(cfg, "big", "config.json", 1, 4096, &i) == GAZE_ERR_FORMAT, "range");
    CHECK(!strcmp(gaze_last_error(), "config.json: field big: value 5000 outside [1, 4096]"), "%s",
          gaze_last_error());
    CHECK(gaze_json_get_int_range(cfg, "layers", "config.json", 1, 4096, &i) == GAZE_OK && i == 6, "in range");
    CHECK(gaze_json_get_number(cfg, "eps", "config.json", &d) == GAZE_OK && d == 1e-12, "real");
    CHECK(gaze_json_get_number(cfg, "ratio", "config.json", &d) == GAZE_OK && d == 2.0, "int as number");
    CHECK(gaze_json_get_number(cfg, "act", "config.json", &d) == GAZE_ERR_FORMAT, "string as number");
    CHECK(contains(gaze_last_error(), "field act: expected number, got string"), "%s", gaze_last_error());
    CHECK(gaze_json_opt_number(cfg, "missing", "c", 0.5, &d) == GAZE_OK && d == 0.5, "opt number");
    CHECK(gaze_json_get_bool(cfg, "flag", "c", &b) == GAZE_OK && b, "bool");
    CHECK(gaze_json_get_bool(cfg, "layers", "c", &b) == GAZE_ERR_FORMAT, "int as bool");
    CHECK(contains(gaze_last_error(), "expected boolean, got integer"), "%s", gaze_last_error());
    CHECK(gaze_json_opt_bool(cfg, "missing", "c", true, &b) == GAZE_OK && b, "opt bool");
    CHECK(gaze_json_get_string(cfg, "act", "c", &s) == GAZE_OK && !strcmp(s, "gelu"), "string");
    CHECK(gaze_json_get_string(cfg, "nul", "c", &s) == GAZE_ERR_FORMAT, "NUL in string");
    CHECK(contains(gaze_last_error(), "field nul: string contains a NUL byte"), "%s", gaze_last_error());
    CHECK(gaze_json_opt_string(cfg, "missing", "c", "dflt", &s) == GAZE_OK && !strcmp(s, "dflt"), "opt str");
    CHECK(gaze_json_get_array(cfg, "arr", "c", &v) == GAZE_OK && json_array_size(v) == 1, "array");
    CHECK(gaze_json_get_array(cfg, "obj", "c", &v) == GAZE_ERR_FORMAT, "object as array");
    CHECK(gaze_json_get_object(cfg, "obj", "c", &v) == GAZE_OK && json_is_object(v), "object");
    CHECK(gaze_json_opt_object(cfg, "missing", "c", &v) == GAZE_OK && v == NULL, "opt object");
    CHECK(gaze_json_opt_array(cfg, "flag", "c", &v) == GAZE_ERR_FORMAT, "opt array wrong type");
    // Getters on a non-object say so instead of crashing.
    json_t * arr = json_object_get(cfg, "arr");
    CHECK(gaze_json_get_int(arr, "x", "tokenizer.json: model", &i) == GAZE_ERR_FORMAT, "non-object");
    CHECK(!strcmp(gaze_last_error(), "tokenizer.json: model: expected an object holding field x, got array"),
          "%s", gaze_last_error());
    CHECK(gaze_json_get_int(NULL, "x", "t", &i) == GAZE_ERR_FORMAT, "NULL object");
    json_decref(cfg);
}

static void test_files(void) {
    char dir[] = "/tmp/gaze_test_json_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE * f = fopen(path, "wb");
    fputs("\xEF\xBB\xBF{\"hidden_size\": 384}", f);   // BOM skipped
    fclose(f);
    json_t * j;
    int64_t hs = 0;
    CHECK(gaze_json_load_file(&j, path, 0, 0) == GAZE_OK, "%s", gaze_last_error());
    CHECK(j && gaze_json_get_int(j, "hidden_size", path, &hs) == GAZE_OK && hs == 384, "value");
    json_decref(j);
    CHECK(gaze_json_load_file(&j, path, 10, 0) == GAZE_ERR_LIMIT, "size cap");
    CHECK(contains(gaze_last_error(), "over the JSON size limit of 10"), "%s", gaze_last_error());
    CHECK(gaze_json_load_file(&j, dir, 0, 0) == GAZE_ERR_IO, "directory");
    snprintf(path, sizeof path, "%s/nope.json", dir);
    CHECK(gaze_json_load_file(&j, path, 0, 0) == GAZE_ERR_IO, "missing file");
    CHECK(contains(gaze_last_error(), "nope.json: cannot open"), "%s", gaze_last_error());
    snprintf(path, sizeof path, "%s/bad.json", dir);
    f = fopen(path, "wb");
    fputs("{\n  \"a\": [1, 2,,]\n}", f);
    fclose(f);
    CHECK(gaze_json_load_file(&j, path, 0, 0) == GAZE_ERR_FORMAT, "bad file");
    CHECK(contains(gaze_last_error(), "bad.json: invalid JSON at offset") &&
          contains(gaze_last_error(), "line 2"), "%s", gaze_last_error());
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

static void test_dump(void) {
    // Escaping of hostile strings: quotes, backslashes, controls; output parses back equal.
    const char * hostile = "</script>\"\\\n\x01\x1b[31m\xE2\x80\xA8";
    json_t * a = json_array();
    json_array_append_new(a, json_string(hostile));
    char * s = gaze_json_dump(a);
    CHECK(s && !strchr(s, '\n') && !strchr(s, '\x1b') && !strchr(s, '\x01'), "controls escaped: %s", s ? s : "(null)");
    json_t * back;
    CHECK(s && gaze_json_load_buffer(&back, s, strlen(s), "dump", 0, 0) == GAZE_OK, "reparse");
    CHECK(s && back && !strcmp(json_string_value(json_array_get(back, 0)), hostile), "round trip");
    json_decref(back);
    json_decref(a);
    free(s);
}

// The 16-hex-digit hash of an input's identity (gaze corpus / evaluate files): round trip, and
// strtoull's leniencies (sign, blanks, 0x) refused.
static void test_hex64(void) {
    const uint64_t v = 0x0123456789abcdefull;
    json_t * h = gaze_json_hex64(v);
    CHECK(h && !strcmp(json_string_value(h), "0123456789abcdef"), "hex64: %s", h ? json_string_value(h) : "(null)");
    uint64_t back = 0;
    CHECK(gaze_json_parse_hex64(json_string_value(h), "f.json", "input_hash", &back) == GAZE_OK && back == v, "hex64 round trip");
    json_decref(h);
    CHECK(gaze_json_parse_hex64("FFFFFFFFFFFFFFFF", "f.json", "input_hash", &back) == GAZE_OK && back == UINT64_MAX, "upper case");
    const char * bad[] = { "0123456789abcde", "0123456789abcdef0", " 123456789abcdef", "+123456789abcdef", "-123456789abcdef",
                           "0x23456789abcdef", "0123456789abcdeg", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        back = 7;
        CHECK(gaze_json_parse_hex64(bad[i], "f.json", "input_hash", &back) == GAZE_ERR_FORMAT && back == 7, "'%s' taken", bad[i]);
        CHECK(contains(gaze_last_error(), "f.json: field input_hash: expected 16 hex digits"), "%s", gaze_last_error());
    }
    CHECK(gaze_json_parse_hex64(NULL, "f.json", "input_hash", &back) == GAZE_ERR_FORMAT, "NULL (field missing)");
}

int main(void) {
    test_utf8();
    test_depth();
    test_parse_errors();
    test_getters();
    test_files();
    test_dump();
    test_hex64();
    return check_summary("test_json");
}
