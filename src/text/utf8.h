// UTF-8 decoding and encoding shared by the tokenizers. Strict: overlong forms, surrogates,
// code points above U+10FFFF and truncated sequences are invalid (as Rust's str and Python's
// strict decoder say), so an offset reported here matches what HF would refuse.
#ifndef GAZE_TEXT_UTF8_H
#define GAZE_TEXT_UTF8_H

#include "gaze.h"

// Decodes the code point starting at s[i] (i < n). Returns its byte length 1..4 and sets *cp,
// or 0 when the bytes at i do not start a valid sequence. (Defined in core/escape.c.)
int gaze_utf8_decode(const uint8_t * s, size_t n, size_t i, uint32_t * cp);

// Writes cp (a valid scalar value) to out; returns the byte length 1..4.
int gaze_utf8_encode(uint32_t cp, char out[4]);

// Byte offset where the first invalid sequence starts, or n when s[0..n) is valid UTF-8.
size_t gaze_utf8_first_invalid(const char * s, size_t n);

#endif
