// Bounded JSON loading over jansson and typed getters with file/field error messages.
#include "formats/json.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- UTF-8 ---------------------------------------------------------------------------- */

// Length of the sequence at s (valid: *ok = true) or of its maximal invalid subpart (>= 1),
// following Unicode Table 3-7 (well-formed byte sequences).
static size_t utf8_step(const uint8_t * s, size_t n, bool * ok) {
    uint8_t c = s[0];
    if (c < 0x80) { *ok = true; return 1; }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;   // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF)      len = 2;
    else if (c == 0xE0)              { len = 3; lo = 0xA0; }   // no overlongs
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED)              { len = 3; hi = 0x9F; }   // no surrogates
    else if (c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xF0)              { len = 4; lo = 0x90; }   // no overlongs
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4)              { len = 4; hi = 0x8F; }   // <= U+10FFFF
    else { *ok = false; return 1; }
    for (size_t i = 1; i < len; i++) {
        if (i >= n) { *ok = false; return i; }
        uint8_t b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) { *ok = false; return i; }
    }
    *ok = true;
    return len;
}

bool gaze_json_utf8_valid(const char * buf, size_t len, size_t * bad_offset) {
    const uint8_t * s = (const uint8_t *)buf;
    size_t i = 0;
    while (i < len) {
        // ASCII fast path: headers and configs are almost all ASCII.
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) { i += 8; continue; }
        }
        bool ok;
        size_t step = utf8_step(s + i, len - i, &ok);
        if (!ok) {
            if (bad_offset) *bad_offset = i;
            return false;
        }
        i += step;
    }
    return true;
}

char * gaze_json_utf8_sanitize(const char * buf, size_t len, size_t * out_len) {
    // Worst case: every byte becomes the 3-byte U+FFFD.
    size_t cap;
    if (gaze_mul_ovf(len, 3, &cap) || gaze_add_ovf(cap, 1, &cap)) {
        gaze_error(GAZE_ERR_NOMEM, "string of %zu bytes too large to sanitize", len);
        return NULL;
    }
    char * out = malloc(cap);
    if (!out) { gaze_error(GAZE_ERR_NOMEM, "out of memory sanitizing %zu bytes", len); return NULL; }
    const uint8_t * s = (const uint8_t *)buf;
    size_t i = 0, o = 0;
    while (i < len) {
        bool ok;
        size_t step = utf8_step(s + i, len - i, &ok);
        if (ok) {
            memcpy(out + o, s + i, step);
            o += step;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        i += step;
    }
    out[o] = 0;
    if (out_len) *out_len = o;
    return out;
}

/* ---- loading --------------------------------------------------------------------------- */

bool gaze_json_too_deep(const char * buf, size_t len, int max_depth, size_t * offset) {
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\') i++;   // skip the escaped character (\" must not end the string)
            else if (c == '"') in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        else if (c == '{' || c == '[') {
            if (++depth > max_depth) {
                if (offset) *offset = i;
                return true;
            }
        } else if ((c == '}' || c == ']') && depth > 0) depth--;
    }
    return false;
}

// jansson's parse error ends with "near '<token>'", up to 20 bytes as read. A JSON file named
// by path may not be what it claims (a config.json symlinked to a private file such as
// /etc/shadow): for files the message keeps the offset, line and column and drops the quoted
// bytes (buffers, e.g. a safetensors header, keep them: the user gave that file itself).
static void error_text(const char * text, char * out, size_t n) {
    const char * near = strstr(text, " near '");
    snprintf(out, n, "%.*s", (int)(near ? (size_t)(near - text) : strlen(text)), text);
}

static enum gaze_status load_buffer(json_t ** out, const char * buf, size_t len, const char * label,
                                    size_t base_offset, int max_depth, bool quote, unsigned flags) {
    *out = NULL;
    if (max_depth <= 0) max_depth = GAZE_JSON_MAX_DEPTH_DEFAULT;
    size_t bad;
    if (!gaze_json_utf8_valid(buf, len, &bad))
        return gaze_error(GAZE_ERR_FORMAT, "%s: invalid UTF-8 at offset %zu (byte 0x%02x)", label,
                          base_offset + bad, (unsigned)(uint8_t)buf[bad]);
    if (gaze_json_too_deep(buf, len, max_depth, &bad))
        return gaze_error(GAZE_ERR_LIMIT, "%s: JSON nesting deeper than %d at offset %zu", label,
                          max_depth, base_offset + bad);
    json_error_t err;
    json_t * root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY |
                               (flags & GAZE_JSON_INTS_AS_REAL ? JSON_DECODE_INT_AS_REAL : 0), &err);
    if (!root) {
        enum json_error_code code = json_error_code(&err);
        if (code == json_error_out_of_memory)
            return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory parsing JSON", label);
        char text[JSON_ERROR_TEXT_LENGTH];
        if (quote) snprintf(text, sizeof text, "%s", err.text);
        else error_text(err.text, text, sizeof text);
        return gaze_error(GAZE_ERR_FORMAT, "%s: invalid JSON at offset %zu (line %d, column %d): %s",
                          label, base_offset + (size_t)(err.position > 0 ? err.position : 0),
                          err.line, err.column, text);
    }
    *out = root;
    return GAZE_OK;
}

enum gaze_status gaze_json_load_buffer(json_t ** out, const char * buf, size_t len,
                                       const char * label, size_t base_offset, int max_depth) {
    return load_buffer(out, buf, len, label, base_offset, max_depth, true, 0);
}

enum gaze_status gaze_json_load_file(json_t ** out, const char * path, size_t max_bytes,
                                     int max_depth) {
    return gaze_json_load_file_ex(out, path, max_bytes, max_depth, 0);
}

enum gaze_status gaze_json_load_file_ex(json_t ** out, const char * path, size_t max_bytes,
                                        int max_depth, unsigned flags) {
    *out = NULL;
    if (max_bytes == 0) max_bytes = GAZE_JSON_MAX_BYTES_DEFAULT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gaze_error(GAZE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
        int e = errno;
        close(fd);
        return gaze_error(GAZE_ERR_IO, "%s: cannot read: %s", path,
                          S_ISDIR(sb.st_mode) ? "is a directory" : strerror(e));
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max_bytes) {
        close(fd);
        return gaze_error(GAZE_ERR_LIMIT, "%s: file is %lld bytes, over the JSON size limit of %zu",
                          path, (long long)sb.st_size, max_bytes);
    }
    // Regular files: exact size. Pipes and the like: grow up to the cap.
    size_t cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 1 : 65536;
    char * buf = malloc(cap);
    size_t len = 0;
    enum gaze_status st = GAZE_OK;
    if (!buf) { close(fd); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); }
    for (;;) {
        if (len == cap) {
            if (cap > max_bytes) {
                st = gaze_error(GAZE_ERR_LIMIT, "%s: over the JSON size limit of %zu bytes", path,
                                max_bytes);
                break;
            }
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            char * nb = realloc(buf, ncap);
            if (!nb) { st = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); break; }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = gaze_error(GAZE_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (st == GAZE_OK && len > max_bytes)
        st = gaze_error(GAZE_ERR_LIMIT, "%s: over the JSON size limit of %zu bytes", path, max_bytes);
    if (st == GAZE_OK) {
        size_t skip = (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) ? 3 : 0;   // UTF-8 BOM
        st = load_buffer(out, buf + skip, len - skip, path, skip, max_depth, false, flags);
    }
    free(buf);
    return st;
}

/* ---- typed getters --------------------------------------------------------------------- */

const char * gaze_json_type_name(const json_t * v) {
    if (!v) return "nothing";
    switch (json_typeof(v)) {
        case JSON_OBJECT:  return "object";
        case JSON_ARRAY:   return "array";
        case JSON_STRING:  return "string";
        case JSON_INTEGER: return "integer";
        case JSON_REAL:    return "real";
        case JSON_TRUE:
        case JSON_FALSE:   return "boolean";
        case JSON_NULL:    return "null";
    }
    return "unknown";
}

// Looks up obj[key]; *v = NULL when missing or null. Errors only for a non-object obj.
static enum gaze_status field(const json_t * obj, const char * key, const char * label, json_t ** v) {
    *v = NULL;
    if (!json_is_object(obj))
        return gaze_error(GAZE_ERR_FORMAT, "%s: expected an object holding field %s, got %s", label,
                          key, gaze_json_type_name(obj));
    json_t * x = json_object_get(obj, key);
    if (x && !json_is_null(x)) *v = x;
    return GAZE_OK;
}

static enum gaze_status wrong_type(const char * label, const char * key, const char * want,
                                   const json_t * got) {
    if (!got) return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: missing (expected %s)", label, key, want);
    return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: expected %s, got %s", label, key, want,
                      gaze_json_type_name(got));
}

// Shared body of get_X / opt_X: fetch, handle missing, check the type predicate.
#define GAZE_JSON_FETCH(required, want, pred)                                          \
    json_t * v;                                                                        \
    enum gaze_status st_ = field(obj, key, label, &v);                                 \
    if (st_ != GAZE_OK) return st_;                                                    \
    if (!v && json_object_get(obj, key) && (required))                                 \
        return wrong_type(label, key, want, json_object_get(obj, key));                \
    if (!v && (required)) return wrong_type(label, key, want, NULL);                   \
    if (v && !(pred)) return wrong_type(label, key, want, v);

enum gaze_status gaze_json_get_int(const json_t * obj, const char * key, const char * label,
                                   int64_t * out) {
    GAZE_JSON_FETCH(true, "integer", json_is_integer(v));
    *out = (int64_t)json_integer_value(v);
    return GAZE_OK;
}

enum gaze_status gaze_json_opt_int(const json_t * obj, const char * key, const char * label,
                                   int64_t def, int64_t * out) {
    GAZE_JSON_FETCH(false, "integer", json_is_integer(v));
    *out = v ? (int64_t)json_integer_value(v) : def;
    return GAZE_OK;
}

enum gaze_status gaze_json_get_int_range(const json_t * obj, const char * key, const char * label,
                                         int64_t lo, int64_t hi, int64_t * out) {
    int64_t x;
    enum gaze_status st = gaze_json_get_int(obj, key, label, &x);
    if (st != GAZE_OK) return st;
    if (x < lo || x > hi)
        return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: value %lld outside [%lld, %lld]", label, key,
                          (long long)x, (long long)lo, (long long)hi);
    *out = x;
    return GAZE_OK;
}

enum gaze_status gaze_json_get_number(const json_t * obj, const char * key, const char * label,
                                      double * out) {
    GAZE_JSON_FETCH(true, "number", json_is_number(v));
    *out = json_number_value(v);
    return GAZE_OK;
}

enum gaze_status gaze_json_opt_number(const json_t * obj, const char * key, const char * label,
                                      double def, double * out) {
    GAZE_JSON_FETCH(false, "number", json_is_number(v));
    *out = v ? json_number_value(v) : def;
    return GAZE_OK;
}

enum gaze_status gaze_json_get_bool(const json_t * obj, const char * key, const char * label,
                                    bool * out) {
    GAZE_JSON_FETCH(true, "boolean", json_is_boolean(v));
    *out = json_is_true(v);
    return GAZE_OK;
}

enum gaze_status gaze_json_opt_bool(const json_t * obj, const char * key, const char * label,
                                    bool def, bool * out) {
    GAZE_JSON_FETCH(false, "boolean", json_is_boolean(v));
    *out = v ? json_is_true(v) : def;
    return GAZE_OK;
}

static enum gaze_status string_checked(const json_t * v, const char * label, const char * key,
                                       const char ** out) {
    const char * s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: string contains a NUL byte", label, key);
    *out = s;
    return GAZE_OK;
}

enum gaze_status gaze_json_get_string(const json_t * obj, const char * key, const char * label,
                                      const char ** out) {
    GAZE_JSON_FETCH(true, "string", json_is_string(v));
    return string_checked(v, label, key, out);
}

enum gaze_status gaze_json_opt_string(const json_t * obj, const char * key, const char * label,
                                      const char * def, const char ** out) {
    GAZE_JSON_FETCH(false, "string", json_is_string(v));
    if (!v) { *out = def; return GAZE_OK; }
    return string_checked(v, label, key, out);
}

enum gaze_status gaze_json_get_array(const json_t * obj, const char * key, const char * label,
                                     json_t ** out) {
    GAZE_JSON_FETCH(true, "array", json_is_array(v));
    *out = v;
    return GAZE_OK;
}

enum gaze_status gaze_json_opt_array(const json_t * obj, const char * key, const char * label,
                                     json_t ** out) {
    GAZE_JSON_FETCH(false, "array", json_is_array(v));
    *out = v;
    return GAZE_OK;
}

enum gaze_status gaze_json_get_object(const json_t * obj, const char * key, const char * label,
                                      json_t ** out) {
    GAZE_JSON_FETCH(true, "object", json_is_object(v));
    *out = v;
    return GAZE_OK;
}

enum gaze_status gaze_json_opt_object(const json_t * obj, const char * key, const char * label,
                                      json_t ** out) {
    GAZE_JSON_FETCH(false, "object", json_is_object(v));
    *out = v;
    return GAZE_OK;
}

char * gaze_json_dump(const json_t * v) {
    char * s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) gaze_error(GAZE_ERR_NOMEM, "out of memory serializing JSON");
    return s;
}

enum gaze_status gaze_json_save_file(json_t * o, const char * path) {
    char * text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (!text) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    enum gaze_status s = gaze_output_write_file(path, text, strlen(text));
    free(text);
    return s;
}

json_t * gaze_json_hex64(uint64_t v) {
    char h[24];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)v);
    return json_string(h);
}

enum gaze_status gaze_json_parse_hex64(const char * text, const char * label, const char * key, uint64_t * out) {
    // strspn first: strtoull alone would also take a sign, leading blanks or a 0x prefix
    if (!text || strlen(text) != 16 || strspn(text, "0123456789abcdefABCDEF") != 16)
        return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: expected 16 hex digits", label, key);
    *out = strtoull(text, NULL, 16);
    return GAZE_OK;
}
