// JSON helper on arbitrary bytes (gaze_json_load_buffer and the typed getters). A document that
// loads must serialise and load back equal; the depth scan must agree with the loader; every
// getter on every key of an object answers with the right type or an error naming the field.
#include "fuzz_common.h"
#include "formats/json.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

static void exercise_getters(const json_t * obj) {
    const char * key;
    json_t * v;
    int n = 0;
    json_object_foreach((json_t *)obj, key, v) {
        if (n++ >= 64) break;
        int64_t i;
        double d;
        bool b;
        const char * s;
        json_t * sub;
        enum gaze_status st = gaze_json_get_int(obj, key, "fuzz.json", &i);
        FUZZ_REQUIRE((st == GAZE_OK) == json_is_integer(v), "get_int on %s", gaze_json_type_name(v));
        // (keys here come from the file; real callers pass constant field names, so a raw
        // control byte of a hostile key in these messages is the harness's doing)
        if (st) fuzz_check_failure_ex(st, "get_int", false);
        st = gaze_json_get_int_range(obj, key, "fuzz.json", -5, 5, &i);
        FUZZ_REQUIRE(st != GAZE_OK || (json_is_integer(v) && i >= -5 && i <= 5), "get_int_range");
        st = gaze_json_get_number(obj, key, "fuzz.json", &d);
        FUZZ_REQUIRE((st == GAZE_OK) == json_is_number(v), "get_number on %s", gaze_json_type_name(v));
        st = gaze_json_get_bool(obj, key, "fuzz.json", &b);
        FUZZ_REQUIRE((st == GAZE_OK) == json_is_boolean(v), "get_bool");
        st = gaze_json_get_string(obj, key, "fuzz.json", &s);
        if (st == GAZE_OK) {
            FUZZ_REQUIRE(json_is_string(v) && strlen(s) == json_string_length(v), "get_string (NUL inside accepted?)");
        } else fuzz_check_failure_ex(st, "get_string", false);
        st = gaze_json_get_array(obj, key, "fuzz.json", &sub);
        FUZZ_REQUIRE((st == GAZE_OK) == json_is_array(v), "get_array");
        st = gaze_json_get_object(obj, key, "fuzz.json", &sub);
        FUZZ_REQUIRE((st == GAZE_OK) == json_is_object(v), "get_object");
        // optional forms: null and missing give the default
        st = gaze_json_opt_int(obj, key, "fuzz.json", 7, &i);
        FUZZ_REQUIRE(st != GAZE_OK || json_is_integer(v) || (json_is_null(v) && i == 7), "opt_int");
        st = gaze_json_opt_string(obj, key, "fuzz.json", "def", &s);
        FUZZ_REQUIRE(st != GAZE_OK || json_is_string(v) || (json_is_null(v) && !strcmp(s, "def")), "opt_string");
    }
    int64_t i;
    FUZZ_REQUIRE(gaze_json_opt_int(obj, "\x01missing", "fuzz.json", 3, &i) == GAZE_OK && i == 3, "missing opt");
    FUZZ_REQUIRE(gaze_json_get_int(obj, "\x01missing", "fuzz.json", &i) != GAZE_OK, "missing get");
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char * buf = (char *)fuzz_dup(data, size);
    // the two scanners the loader runs first, on their own
    size_t bad = 0, deep = 0;
    const bool utf8_ok = gaze_json_utf8_valid(buf, size, &bad);
    FUZZ_REQUIRE(utf8_ok || bad < size, "bad offset %zu of %zu", bad, size);
    const bool too_deep = gaze_json_too_deep(buf, size, GAZE_JSON_MAX_DEPTH_DEFAULT, &deep);
    FUZZ_REQUIRE(!too_deep || (deep < size && (buf[deep] == '[' || buf[deep] == '{')), "deep offset");

    json_t * root = (json_t *)0x1;
    enum gaze_status s = gaze_json_load_buffer(&root, buf, size, "fuzz.json", 8, 0);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "json load");
        FUZZ_REQUIRE(root == NULL, "out not NULL on failure");
        FUZZ_REQUIRE(utf8_ok || s == GAZE_ERR_FORMAT, "invalid UTF-8 gave %s", gaze_status_name(s));
        free(buf);
        return 0;
    }
    FUZZ_REQUIRE(utf8_ok && !too_deep, "loaded despite invalid UTF-8 or depth");
    if (json_is_object(root)) exercise_getters(root);
    else {
        int64_t i;
        enum gaze_status st = gaze_json_get_int(root, "a", "fuzz.json", &i);
        FUZZ_REQUIRE(st != GAZE_OK, "get_int on a non-object");
        fuzz_check_failure(st, "get_int non-object");
    }
    (void)gaze_json_type_name(root);
    // serialise and load back: equal, and the dump is valid UTF-8 within the depth cap
    char * dump = gaze_json_dump(root);
    FUZZ_REQUIRE(dump != NULL, "dump failed: %s", gaze_last_error());
    json_t * again = NULL;
    s = gaze_json_load_buffer(&again, dump, strlen(dump), "dump", 0, 0);
    FUZZ_REQUIRE(s == GAZE_OK, "dump does not load back: %s", gaze_last_error());
    FUZZ_REQUIRE(json_equal(root, again), "dump loads back different");
    json_decref(again);
    free(dump);
    json_decref(root);
    free(buf);
    return 0;
}
