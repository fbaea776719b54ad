// Internal JSON helper over jansson: bounded loading (size cap, nesting-depth cap, duplicate keys
// rejected, UTF-8 checked with byte offsets) and typed getters whose errors name the file and
// field, e.g. "config.json: field hidden_size: expected integer, got string".
// Also the UTF-8 validate/sanitize pair every JSON writer needs (jansson refuses invalid UTF-8).
#ifndef GAZE_FORMATS_JSON_H
#define GAZE_FORMATS_JSON_H

#include "core/core.h"
#include <jansson.h>

#define GAZE_JSON_MAX_BYTES_DEFAULT ((size_t)128 << 20)   // tokenizer.json files run to tens of MB
#define GAZE_JSON_MAX_DEPTH_DEFAULT 64

// Returns true when buf[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF; NUL is
// allowed). On failure *bad_offset (if not NULL) is the offset of the first invalid byte.
bool gaze_json_utf8_valid(const char * buf, size_t len, size_t * bad_offset);

// Copy of buf[0..len) with every maximal invalid subsequence replaced by U+FFFD (the Unicode
// "maximal subpart" rule, as Python's errors="replace" and WHATWG do). NUL-terminated, malloc'd;
// *out_len (if not NULL) is its length. NULL on allocation failure (error recorded).
char * gaze_json_utf8_sanitize(const char * buf, size_t len, size_t * out_len);

// Scans raw JSON text for [ / { nesting deeper than max_depth, outside strings. Returns true
// when exceeded, with *offset at the bracket that went too deep. Linear, no recursion, so it
// runs before jansson's recursive parser ever sees a hostile file.
bool gaze_json_too_deep(const char * buf, size_t len, int max_depth, size_t * offset);

// Parses buf[0..len) (need not be NUL-terminated). label names the source in messages;
// base_offset is added to every reported offset (e.g. 8 for a safetensors header).
// Checks, in order: UTF-8, depth (max_depth <= 0: default), then jansson with
// JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL. Any JSON value is accepted at top level.
enum gaze_status gaze_json_load_buffer(json_t ** out, const char * buf, size_t len,
                                       const char * label, size_t base_offset, int max_depth);

// Reads a whole file (max_bytes == 0: default cap; over the cap is GAZE_ERR_LIMIT), skips a
// UTF-8 BOM, then gaze_json_load_buffer with the path as label.
enum gaze_status gaze_json_load_file(json_t ** out, const char * path, size_t max_bytes,
                                     int max_depth);
// The same with flags: GAZE_JSON_INTS_AS_REAL reads every number as a real, for files whose
// integers may exceed int64 and are never read as integers (transformers writes
// "model_max_length": 1000000000000000019884624838656 into tokenizer_config.json).
#define GAZE_JSON_INTS_AS_REAL 1u
enum gaze_status gaze_json_load_file_ex(json_t ** out, const char * path, size_t max_bytes,
                                        int max_depth, unsigned flags);

// "integer", "real", "string", "boolean", "null", "object", "array"; "nothing" for NULL.
const char * gaze_json_type_name(const json_t * v);

// Typed getters on obj[key]. label prefixes messages ("config.json", "tokenizer.json: model").
// get_*: the field is required (missing or null is an error). opt_*: missing or null gives def.
// A non-object obj is reported as such. Numbers: get_number accepts integers and reals.
enum gaze_status gaze_json_get_int(const json_t * obj, const char * key, const char * label,
                                   int64_t * out);
enum gaze_status gaze_json_opt_int(const json_t * obj, const char * key, const char * label,
                                   int64_t def, int64_t * out);
// As get_int, also requires lo <= value <= hi (GAZE_ERR_FORMAT otherwise).
enum gaze_status gaze_json_get_int_range(const json_t * obj, const char * key, const char * label,
                                         int64_t lo, int64_t hi, int64_t * out);
enum gaze_status gaze_json_get_number(const json_t * obj, const char * key, const char * label,
                                      double * out);
enum gaze_status gaze_json_opt_number(const json_t * obj, const char * key, const char * label,
                                      double def, double * out);
enum gaze_status gaze_json_get_bool(const json_t * obj, const char * key, const char * label,
                                    bool * out);
enum gaze_status gaze_json_opt_bool(const json_t * obj, const char * key, const char * label,
                                    bool def, bool * out);
// Strings point into obj (valid while it lives). Strings holding NUL bytes are rejected.
enum gaze_status gaze_json_get_string(const json_t * obj, const char * key, const char * label,
                                      const char ** out);
enum gaze_status gaze_json_opt_string(const json_t * obj, const char * key, const char * label,
                                      const char * def, const char ** out);
// Borrowed references; opt_ variants give NULL when missing or null.
enum gaze_status gaze_json_get_array(const json_t * obj, const char * key, const char * label,
                                     json_t ** out);
enum gaze_status gaze_json_opt_array(const json_t * obj, const char * key, const char * label,
                                     json_t ** out);
enum gaze_status gaze_json_get_object(const json_t * obj, const char * key, const char * label,
                                      json_t ** out);
enum gaze_status gaze_json_opt_object(const json_t * obj, const char * key, const char * label,
                                      json_t ** out);

// Compact serialization (jansson escapes quotes, backslashes and control characters; strings
// in json_t are valid UTF-8 by construction). malloc'd; NULL with an error recorded on failure.
char * gaze_json_dump(const json_t * v);

// Writes o to path through gaze_output_write_file (atomic for a regular file), compact, reals
// with 17 significant digits so they read back bit for bit (a merge of saved parts equals one
// run). Takes o: it is released on every path. The statistics files of gaze corpus and gaze
// evaluate are written this way.
enum gaze_status gaze_json_save_file(json_t * o, const char * path);

// A 64-bit hash (an input file's identity) as JSON: a string of 16 lower-case hex digits (a
// JSON integer loses bits past 2^53 in other readers). parse_hex64 reads text back, exactly 16
// hex digits and nothing else, else GAZE_ERR_FORMAT "LABEL: field KEY: expected 16 hex digits".
json_t * gaze_json_hex64(uint64_t v);
enum gaze_status gaze_json_parse_hex64(const char * text, const char * label, const char * key, uint64_t * out);

#endif
