// SentencePiece ModelProto files read with a protobuf wire reader of our own.
//
// Why not libprotobuf-c with protoc-c generated code: tokenization needs 3 messages and 12
// scalar fields of sentencepiece_model.proto; the wire format they use is 4 wire types (varint,
// fixed64, length-delimited, fixed32). A generated parser would add a code generator at build
// time and a runtime library to every build (CI, the Python wheel, install-deps) for a file read
// once, and would still leave every semantic check (types, UTF-8, NaN scores, one <unk>, the
// model type) to us. This reader is ~150 lines, bounds-checks every length against its
// enclosing message, skips unknown fields as protobuf does (later sentencepiece versions add
// trainer options), refuses groups (deprecated wire types 3/4, never in this schema) and is
// fuzzed (tests/fuzz/fuzz_spm_model.c).
#include "core/core.h"
#include "text/spm_model.h"
#include "text/utf8.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SPM_MAX_FILE   (256u << 20)   // the largest real ones are a few MB (charsmap ~240 KB)
#define SPM_MAX_PIECES (1 << 22)

struct pb {                  // a message being read: [p, e)
    const uint8_t * p, * e;
    const char * label;
    const char * msg;        // for errors: "ModelProto", "pieces[12]", ...
};

static enum gaze_status pb_bad(const struct pb * r, const char * what) {
    return gaze_error(GAZE_ERR_FORMAT, "%s: %s: %s (not a SentencePiece model file?)", r->label, r->msg, what);
}

static enum gaze_status pb_varint(struct pb * r, uint64_t * v) {
    uint64_t x = 0;
    for (int k = 0; k < 10; k++) {
        if (r->p >= r->e) return pb_bad(r, "truncated varint");
        uint8_t b = *r->p++;
        if (k == 9 && b > 1) return pb_bad(r, "varint over 64 bits");
        x |= (uint64_t)(b & 0x7F) << (7 * k);
        if (!(b & 0x80)) { *v = x; return GAZE_OK; }
    }
    return pb_bad(r, "varint over 10 bytes");
}

// The next field: number, wire type, and for length-delimited fields the payload [*d, *d + *dn);
// varints in *v; fixed32 in *v (low 32 bits).
static enum gaze_status pb_field(struct pb * r, uint32_t * num, int * wt, uint64_t * v, const uint8_t ** d, size_t * dn) {
    uint64_t key;
    enum gaze_status s = pb_varint(r, &key);
    if (s) return s;
    *num = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1FFFFFFF) return pb_bad(r, "field number 0 or out of range");
    switch (*wt) {
    case 0: return pb_varint(r, v);
    case 1:
        if (r->e - r->p < 8) return pb_bad(r, "truncated 64-bit field");
        r->p += 8;
        return GAZE_OK;
    case 2:
        if ((s = pb_varint(r, v))) return s;
        if (*v > (uint64_t)(r->e - r->p)) return pb_bad(r, "a length runs past the end of its message");
        *d = r->p;
        *dn = (size_t)*v;
        r->p += *dn;
        return GAZE_OK;
    case 5:
        if (r->e - r->p < 4) return pb_bad(r, "truncated 32-bit field");
        *v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 | (uint64_t)r->p[3] << 24;
        r->p += 4;
        return GAZE_OK;
    default: return pb_bad(r, "wire type 3, 4, 6 or 7 (groups or garbage)");
    }
}

// A field the schema types: wrong wire type is an error naming it.
static enum gaze_status pb_want(const struct pb * r, int wt, int want, const char * field) {
    if (wt == want) return GAZE_OK;
    char m[96];
    snprintf(m, sizeof m, "field %s has wire type %d, expected %d", field, wt, want);
    return pb_bad(r, m);
}

static enum gaze_status parse_piece(struct tok_spm_model * m, struct pb * r, struct tok_spm_piece * pc) {
    enum gaze_status s;
    bool has_piece = false;
    pc->type = TOK_SPM_NORMAL;
    pc->score = 0.0f;
    while (r->p < r->e) {
        uint32_t num; int wt; uint64_t v = 0; const uint8_t * d = NULL; size_t dn = 0;
        if ((s = pb_field(r, &num, &wt, &v, &d, &dn))) return s;
        if (num == 1) {
            if ((s = pb_want(r, wt, 2, "piece"))) return s;
            pc->text = (const char *)d;
            pc->len = dn;
            has_piece = true;
        } else if (num == 2) {
            if ((s = pb_want(r, wt, 5, "score"))) return s;
            uint32_t u = (uint32_t)v;
            memcpy(&pc->score, &u, 4);
        } else if (num == 3) {
            if ((s = pb_want(r, wt, 0, "type"))) return s;
            if (v < TOK_SPM_NORMAL || v > TOK_SPM_BYTE) return pb_bad(r, "field type: not a SentencePiece.Type (1..6)");
            pc->type = (int)v;
        }
    }
    (void)m;
    if (!has_piece || !pc->len) return pb_bad(r, "field piece: missing or empty");
    size_t bad = gaze_utf8_first_invalid(pc->text, pc->len);
    if (bad < pc->len) return pb_bad(r, "field piece: not UTF-8");
    if (!isfinite(pc->score)) return pb_bad(r, "field score: NaN or infinite");
    return GAZE_OK;
}

static enum gaze_status parse_trainer(struct tok_spm_model * m, struct pb * r) {
    enum gaze_status s;
    while (r->p < r->e) {
        uint32_t num; int wt; uint64_t v = 0; const uint8_t * d = NULL; size_t dn = 0;
        if ((s = pb_field(r, &num, &wt, &v, &d, &dn))) return s;
        if (num == 3) {
            if ((s = pb_want(r, wt, 0, "model_type"))) return s;
            if (v < 1 || v > 4) return pb_bad(r, "field model_type: not UNIGRAM, BPE, WORD or CHAR");
            m->model_type = (int)v;
        } else if (num == 24 || num == 35) {
            if ((s = pb_want(r, wt, 0, num == 24 ? "treat_whitespace_as_suffix" : "byte_fallback"))) return s;
            *(num == 24 ? &m->treat_ws_as_suffix : &m->byte_fallback) = v != 0;
        } else if (num == 44) {
            if ((s = pb_want(r, wt, 2, "unk_surface"))) return s;
            if (dn >= sizeof m->unk_surface || gaze_utf8_first_invalid((const char *)d, dn) < dn)
                return pb_bad(r, "field unk_surface: not UTF-8 of at most 31 bytes");
            memcpy(m->unk_surface, d, dn);
            m->unk_surface[dn] = 0;
        }
    }
    return GAZE_OK;
}

static enum gaze_status parse_normalizer(struct tok_spm_model * m, struct pb * r, bool denorm) {
    enum gaze_status s;
    while (r->p < r->e) {
        uint32_t num; int wt; uint64_t v = 0; const uint8_t * d = NULL; size_t dn = 0;
        if ((s = pb_field(r, &num, &wt, &v, &d, &dn))) return s;
        if (num == 2 || num == 6) {
            if ((s = pb_want(r, wt, 2, num == 2 ? "precompiled_charsmap" : "normalization_rule_tsv"))) return s;
            if (denorm) { if (dn) m->denormalizes = true; }
            else if (num == 2) { m->charsmap = dn ? d : NULL; m->charsmap_len = dn; }
        } else if (num >= 3 && num <= 5 && !denorm) {
            static const char * const names[] = { "add_dummy_prefix", "remove_extra_whitespaces", "escape_whitespaces" };
            if ((s = pb_want(r, wt, 0, names[num - 3]))) return s;
            *(num == 3 ? &m->add_dummy_prefix : num == 4 ? &m->remove_extra_ws : &m->escape_ws) = v != 0;
        }
    }
    return GAZE_OK;
}

void tok_spm_model_free(struct tok_spm_model * m) {
    if (!m) return;
    free(m->buf);
    free(m->pieces);
    free(m);
}

enum gaze_status tok_spm_model_parse(const uint8_t * buf, size_t n, const char * label, struct tok_spm_model ** out) {
    *out = NULL;
    if (n > SPM_MAX_FILE) return gaze_error(GAZE_ERR_LIMIT, "%s: %zu bytes, more than a SentencePiece model of %u MiB", label, n, SPM_MAX_FILE >> 20);
    struct tok_spm_model * m = calloc(1, sizeof *m);
    if (!m || !(m->buf = malloc(n ? n : 1))) { free(m); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); }
    memcpy(m->buf, buf, n);
    m->model_type = 1;
    m->add_dummy_prefix = m->remove_extra_ws = m->escape_ws = true;
    strcpy(m->unk_surface, " \xE2\x81\x87 ");
    m->unk = -1;
    struct pb r = { m->buf, m->buf + n, label, "ModelProto" };
    enum gaze_status s = GAZE_OK;
    size_t cap = 0;
    while (!s && r.p < r.e) {
        uint32_t num; int wt; uint64_t v = 0; const uint8_t * d = NULL; size_t dn = 0;
        if ((s = pb_field(&r, &num, &wt, &v, &d, &dn))) break;
        if (num < 1 || num > 5 || num == 4) continue;   // self_test_data and unknown fields
        static const char * const names[] = { "", "pieces", "trainer_spec", "normalizer_spec", "", "denormalizer_spec" };
        if ((s = pb_want(&r, wt, 2, names[num]))) break;
        char msg[48];
        struct pb sub = { d, d + dn, label, msg };
        if (num == 1) {
            if (m->n == SPM_MAX_PIECES) { s = gaze_error(GAZE_ERR_LIMIT, "%s: more than %d pieces", label, SPM_MAX_PIECES); break; }
            if ((size_t)m->n == cap) {
                size_t c = cap ? 2 * cap : 1024;
                struct tok_spm_piece * p = realloc(m->pieces, c * sizeof *p);
                if (!p) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); break; }
                m->pieces = p;
                cap = c;
            }
            snprintf(msg, sizeof msg, "pieces[%d]", m->n);
            s = parse_piece(m, &sub, &m->pieces[m->n]);
            if (!s && m->pieces[m->n].type == TOK_SPM_UNKNOWN) {
                if (m->unk >= 0) s = pb_bad(&sub, "a second piece of type UNKNOWN");
                m->unk = m->n;
            }
            m->n++;
        } else if (num == 2) {
            snprintf(msg, sizeof msg, "trainer_spec");
            s = parse_trainer(m, &sub);
        } else {
            snprintf(msg, sizeof msg, num == 3 ? "normalizer_spec" : "denormalizer_spec");
            s = parse_normalizer(m, &sub, num == 5);
        }
    }
    if (!s && !m->n) s = gaze_error(GAZE_ERR_FORMAT, "%s: ModelProto: no pieces (not a SentencePiece model file?)", label);
    if (!s && m->unk < 0) s = gaze_error(GAZE_ERR_FORMAT, "%s: ModelProto: no piece of type UNKNOWN (sentencepiece requires one)", label);
    if (s) { tok_spm_model_free(m); return s; }
    *out = m;
    return GAZE_OK;
}

enum gaze_status tok_spm_model_load(const char * path, struct tok_spm_model ** out) {
    *out = NULL;
    FILE * f = fopen(path, "rb");
    if (!f) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) { fclose(f); return gaze_error(GAZE_ERR_IO, "%s: not a regular file", path); }
    if ((uint64_t)st.st_size > SPM_MAX_FILE) {
        fclose(f);
        return gaze_error(GAZE_ERR_LIMIT, "%s: %lld bytes, more than a SentencePiece model of %u MiB", path, (long long)st.st_size,
                          SPM_MAX_FILE >> 20);
    }
    size_t n = (size_t)st.st_size;
    uint8_t * b = malloc(n ? n : 1);
    if (!b) { fclose(f); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); }
    size_t got = fread(b, 1, n, f);
    fclose(f);
    if (got != n) { free(b); return gaze_error(GAZE_ERR_IO, "%s: short read", path); }
    enum gaze_status s = tok_spm_model_parse(b, n, path, out);
    free(b);
    return s;
}
