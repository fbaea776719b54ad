// Streaming detokenisation for generation: token ids in, printable UTF-8 out, one token at a
// time. A token's piece (gaze_bpe_token_piece: the byte-level mapping already undone) can end
// in the middle of a character (byte tokens <0xE2>, or byte-level pieces of an emoji), so the
// bytes of an unfinished character are held until the rest arrives; an ill-formed sequence
// becomes U+FFFD per maximal subpart, as Python's decode(errors="replace") does.
#include "core/core.h"
#include <stdlib.h>
#include <string.h>

struct gaze_bpe_stream {
    const struct gaze_bpe * bpe;
    uint8_t held[4];        // bytes of a character not finished yet (at most 3)
    size_t  n_held;
    uint8_t * in;           // [cap_in] held bytes + the new piece
    char *  out;            // [3 · cap_in] text handed out (U+FFFD is 3 bytes per bad byte)
    size_t  cap_in;
};

enum gaze_status gaze_bpe_stream_init(struct gaze_bpe_stream ** out, const struct gaze_bpe * bpe) {
    if (!out || !bpe) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_stream_init: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return gaze_error(GAZE_ERR_NOMEM, "gaze_bpe_stream_init: out of memory");
    (*out)->bpe = bpe;
    return GAZE_OK;
}

void gaze_bpe_stream_free(struct gaze_bpe_stream * st) {
    if (!st) return;
    free(st->in);
    free(st->out);
    free(st);
}

// Room for n input bytes; grows (rarely: pieces are short) and never shrinks.
static enum gaze_status reserve(struct gaze_bpe_stream * st, size_t n) {
    if (n <= st->cap_in) return GAZE_OK;
    size_t cap = GAZE_MAX(n, 2 * st->cap_in), out_cap;
    if (cap < 64) cap = 64;
    if (gaze_mul_ovf(cap, 3, &out_cap)) return gaze_error(GAZE_ERR_LIMIT, "gaze_bpe_stream: piece too large");
    uint8_t * in = malloc(cap);
    char * o = malloc(out_cap);
    if (!in || !o) { free(in); free(o); return gaze_error(GAZE_ERR_NOMEM, "gaze_bpe_stream: out of memory"); }
    free(st->in);
    free(st->out);
    st->in = in;
    st->out = o;
    st->cap_in = cap;
    return GAZE_OK;
}

// Length of the UTF-8 sequence lead byte b starts (0: b cannot start one), and the range its
// second byte must be in (Unicode Table 3-7: no overlongs, surrogates or > U+10FFFF).
static int lead(uint8_t b, uint8_t * lo, uint8_t * hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) *lo = 0xA0;
        if (b == 0xED) *hi = 0x9F;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) *lo = 0x90;
        if (b == 0xF4) *hi = 0x8F;
        return 4;
    }
    return 0;
}

// Decodes st->in[0..n): complete characters copied, ill-formed subparts as U+FFFD; a valid but
// unfinished tail is kept in st->held unless final (then it is U+FFFD too). Returns out bytes.
static size_t drain(struct gaze_bpe_stream * st, size_t n, bool final) {
    static const char fffd[3] = { (char)0xEF, (char)0xBF, (char)0xBD };
    const uint8_t * s = st->in;
    size_t i = 0, o = 0;
    st->n_held = 0;
    while (i < n) {
        uint8_t lo, hi;
        const int len = lead(s[i], &lo, &hi);
        if (len == 1) { st->out[o++] = (char)s[i++]; continue; }
        if (len == 0) { memcpy(st->out + o, fffd, 3); o += 3; i++; continue; }
        int k = 1;   // bytes of the sequence that are right so far
        while (k < len && i + (size_t)k < n) {
            const uint8_t c = s[i + (size_t)k];
            if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
            k++;
        }
        if (k == len) { memcpy(st->out + o, s + i, (size_t)len); o += (size_t)len; i += (size_t)len; continue; }
        if (i + (size_t)k == n && !final) {   // right so far, the rest not here yet
            memcpy(st->held, s + i, (size_t)k);
            st->n_held = (size_t)k;
            break;
        }
        memcpy(st->out + o, fffd, 3);          // the maximal subpart s[i..i+k) is one U+FFFD
        o += 3;
        i += (size_t)k;
    }
    return o;
}

enum gaze_status gaze_bpe_stream_push(struct gaze_bpe_stream * st, int32_t id, const char ** text, size_t * len) {
    if (!st || !text || !len) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_stream_push: NULL argument");
    *text = "";
    *len = 0;
    const enum gaze_bpe_token_type ty = gaze_bpe_token_type(st->bpe, id);
    if (ty == GAZE_BPE_TOKEN_TYPE_UNDEFINED)
        return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_stream_push: token id %d out of range (vocab size %d)", id,
                          gaze_bpe_vocab_size(st->bpe));
    if (ty == GAZE_BPE_TOKEN_TYPE_CONTROL || ty == GAZE_BPE_TOKEN_TYPE_UNKNOWN) return GAZE_OK;   // BOS, EOS: no text
    size_t pl;
    const char * piece = gaze_bpe_token_piece(st->bpe, id, &pl);
    enum gaze_status s = reserve(st, st->n_held + pl);
    if (s) return s;
    memcpy(st->in, st->held, st->n_held);
    memcpy(st->in + st->n_held, piece, pl);
    *len = drain(st, st->n_held + pl, false);
    *text = *len ? st->out : "";
    return GAZE_OK;
}

enum gaze_status gaze_bpe_stream_finish(struct gaze_bpe_stream * st, const char ** text, size_t * len) {
    if (!st || !text || !len) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_stream_finish: NULL argument");
    *text = "";
    *len = 0;
    if (!st->n_held) return GAZE_OK;
    enum gaze_status s = reserve(st, st->n_held);
    if (s) return s;
    memcpy(st->in, st->held, st->n_held);
    *len = drain(st, st->n_held, true);
    *text = *len ? st->out : "";
    return GAZE_OK;
}
