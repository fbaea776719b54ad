// SHA-256 (FIPS 180-4), for the Content-Security-Policy hashes of the viewer's inline script
// and style (render/html.c) and the check of a model assembled from chunks (models/registry.c).
// Small and dependency-free; not for secrets (not constant-time in any sense that matters there).
#ifndef GAZE_CORE_SHA256_H
#define GAZE_CORE_SHA256_H
#include <stddef.h>
#include <stdint.h>

// out [32] = SHA-256 of data [n].
void gaze_sha256(const void * data, size_t n, uint8_t out[32]);
// The same over data given in pieces (files too large to hold at once).
struct gaze_sha256_ctx { uint32_t h[8]; uint8_t buf[64]; size_t nbuf; uint64_t total; };
void gaze_sha256_init(struct gaze_sha256_ctx * c);
void gaze_sha256_update(struct gaze_sha256_ctx * c, const void * data, size_t n);
void gaze_sha256_final(struct gaze_sha256_ctx * c, uint8_t out[32]);
// out [45] = standard base64 of the digest, NUL-terminated (44 characters), as CSP wants it.
void gaze_sha256_base64(const void * data, size_t n, char out[45]);
// Standard base64 (RFC 4648, with '=' padding) of src [n] into dst [4 * ceil(n / 3)], no NUL.
void gaze_base64_encode(const uint8_t * src, size_t n, char * dst);
#endif
