// SHA-256 (FIPS 180-4), for the Content-Security-Policy hashes of the viewer's inline script
// and style (render/html.c). Small and dependency-free; not for secrets (not constant-time
// in any sense that matters there).
#ifndef GAZE_RENDER_SHA256_H
#define GAZE_RENDER_SHA256_H
#include <stddef.h>
#include <stdint.h>

// out [32] = SHA-256 of data [n].
void gaze_sha256(const void * data, size_t n, uint8_t out[32]);
// out [45] = standard base64 of the digest, NUL-terminated (44 characters), as CSP wants it.
void gaze_sha256_base64(const void * data, size_t n, char out[45]);
// Standard base64 (RFC 4648, with '=' padding) of src [n] into dst [4 * ceil(n / 3)], no NUL.
void gaze_base64_encode(const uint8_t * src, size_t n, char * dst);
#endif
