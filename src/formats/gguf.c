// GGUF v2/v3 reader: one read-only mmap, a bounds-checked cursor, every check of
// formats.md §1.5 and reliability.md §2 (rows 1-13) before anything is allocated from a file
// value. Messages read "<file>: <field> at offset <n>: <what is wrong>".
//
// Memory: every table grows with what was actually parsed (never sized by a declared count),
// and every string copy is bounded by the bytes it occupies in the file, so a small file
// cannot make the reader allocate more than a small multiple of its own size.
#include "core/hash.h"
#include "formats/json.h"
#include "kernels/quant.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MIN_KV_BYTES     (8 + 1 + 4 + 1)           // key len + 1-byte key + type + u8 value
#define GGUF_MIN_TENSOR_BYTES (8 + 1 + 4 + 8 + 4 + 8)   // name len + 1 byte + n_dims + ne[0] + type + offset

struct gguf_kv {
    const char *        key;       // NUL-terminated copy
    size_t              key_len;
    size_t              offset;    // file offset of the key's length field
    size_t              value_offset;
    enum gaze_gguf_type type;
    enum gaze_gguf_type elem;      // arrays: element type; scalars: == type
    int64_t             n;         // arrays: element count; scalars: 1
    const uint8_t *     data;      // value bytes in the mapping (scalars, numeric arrays)
    int64_t             str0;      // STRING / ARRAY of STRING: first entry in g->strs
};

struct gaze_gguf {
    char *                    path;
    const uint8_t *           base;        // [size] the mapping (or the caller's buffer)
    size_t                    size;
    bool                      mapped;
    uint32_t                  version;
    size_t                    alignment;
    size_t                    data_offset; // start of the tensor data section
    int64_t                   n_kv;
    struct gguf_kv *          kv;          // [n_kv]
    int64_t                   n_tensors;
    struct gaze_gguf_tensor * tensors;     // [n_tensors]
    int64_t                   n_strs;
    struct gaze_gguf_str *    strs;        // [n_strs] every string value, NUL-terminated copies
    size_t *                  str_off;     // [n_strs] file offsets of the bytes (during parsing)
    char *                    arena;       // key, name and string copies
    int64_t *                 kv_hash;     // [kv_cap] open addressing, -1 = empty
    size_t                    kv_cap;
    int64_t *                 t_hash;      // [t_cap]
    size_t                    t_cap;
    // offsets of key and name strings while parsing (pointers set once the arena exists)
    size_t *                  key_src;     // [n_kv]
    size_t *                  name_src;    // [n_tensors]
};

// ---- errors and the cursor ---------------------------------------------------------------------

struct cur {
    const uint8_t * p;
    size_t          size;
    size_t          off;
    const char *    path;
};

static enum gaze_status ferr(const struct cur * c, enum gaze_status st, const char * fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum gaze_status ferr(const struct cur * c, enum gaze_status st, const char * fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gaze_error(st, "%s: %s", c->path, msg);
}

static size_t left(const struct cur * c) { return c->size - c->off; }

static enum gaze_status need(const struct cur * c, size_t n, const char * field) {
    if (left(c) < n)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: truncated file (needs %zu bytes, %zu left)",
                    field, c->off, n, left(c));
    return GAZE_OK;
}

static uint32_t get_u32(const uint8_t * p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const uint8_t * p) { uint64_t v; memcpy(&v, p, 8); return v; }

static enum gaze_status rd_u32(struct cur * c, uint32_t * v, const char * field) {
    enum gaze_status st = need(c, 4, field);
    if (st) return st;
    *v = get_u32(c->p + c->off);
    c->off += 4;
    return GAZE_OK;
}

static enum gaze_status rd_u64(struct cur * c, uint64_t * v, const char * field) {
    enum gaze_status st = need(c, 8, field);
    if (st) return st;
    *v = get_u64(c->p + c->off);
    c->off += 8;
    return GAZE_OK;
}

// ---- growable tables ---------------------------------------------------------------------------

// Makes room for one more element of size `elem` in *arr (capacity *cap), doubling.
static enum gaze_status grow(void ** arr, int64_t n, int64_t * cap, size_t elem) {
    if (n < *cap) return GAZE_OK;
    int64_t nc = *cap ? *cap * 2 : 16;
    size_t bytes;
    if (gaze_mul_ovf((size_t)nc, elem, &bytes)) return gaze_error(GAZE_ERR_NOMEM, "gguf: table too large");
    void * p = realloc(*arr, bytes);
    if (!p) return gaze_error(GAZE_ERR_NOMEM, "gguf: out of memory (%zu bytes)", bytes);
    *arr = p;
    *cap = nc;
    return GAZE_OK;
}

// ---- value types ---------------------------------------------------------------------------------

static const char * const g_vtype_names[] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL",
    "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};

const char * gaze_gguf_type_name(enum gaze_gguf_type t) {
    return (unsigned)t <= GAZE_GGUF_TYPE_FLOAT64 ? g_vtype_names[t] : "INVALID";
}

// Encoded size of a fixed-size value type; 0 for STRING and ARRAY.
static size_t vtype_size(uint32_t t) {
    switch (t) {
    case GAZE_GGUF_TYPE_UINT8: case GAZE_GGUF_TYPE_INT8: case GAZE_GGUF_TYPE_BOOL: return 1;
    case GAZE_GGUF_TYPE_UINT16: case GAZE_GGUF_TYPE_INT16: return 2;
    case GAZE_GGUF_TYPE_UINT32: case GAZE_GGUF_TYPE_INT32: case GAZE_GGUF_TYPE_FLOAT32: return 4;
    case GAZE_GGUF_TYPE_UINT64: case GAZE_GGUF_TYPE_INT64: case GAZE_GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

// ---- parsing -------------------------------------------------------------------------------------

// Reads a gguf_string header (u64 length) and checks it against cap and the bytes left.
// On success *len is the length and the cursor sits on the first byte.
static enum gaze_status rd_strlen(struct cur * c, size_t * len, uint64_t cap, const char * field) {
    const size_t at = c->off;
    uint64_t n;
    enum gaze_status st = rd_u64(c, &n, field);
    if (st) return st;
    if (n > cap)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: string length %llu exceeds the limit of %llu bytes",
                    field, at, (unsigned long long)n, (unsigned long long)cap);
    if (n > left(c))
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: string length %llu exceeds the %zu bytes left in the file",
                    field, at, (unsigned long long)n, left(c));
    *len = (size_t)n;
    return GAZE_OK;
}

// Records a string value (offset, length) for the arena copy.
static enum gaze_status add_str(struct gaze_gguf * g, int64_t * cap, size_t off, size_t len) {
    int64_t cap2 = *cap;
    enum gaze_status st = grow((void **)&g->strs, g->n_strs, cap, sizeof *g->strs);
    if (st) return st;
    if ((st = grow((void **)&g->str_off, g->n_strs, &cap2, sizeof *g->str_off))) return st;
    g->strs[g->n_strs].s = NULL;
    g->strs[g->n_strs].len = len;
    g->str_off[g->n_strs] = off;
    g->n_strs++;
    return GAZE_OK;
}

// Copies a file string into a message buffer, control characters replaced by '?' so that a
// hostile key or name cannot put terminal escapes into an error message.
static const char * printable(char * buf, size_t cap, const uint8_t * s, size_t len) {
    size_t n = GAZE_MIN(len, cap - 1);
    for (size_t i = 0; i < n; i++) buf[i] = (s[i] < 0x20 || s[i] == 0x7F) ? '?' : (char)s[i];
    buf[n] = 0;
    return buf;
}

// Keys and tensor names are looked up as C strings and printed in messages: no NUL bytes, no
// control characters, valid UTF-8.
static enum gaze_status check_name(const struct cur * c, size_t at, const char * what,
                                   const uint8_t * s, size_t len) {
    if (memchr(s, 0, len))
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: contains a NUL byte", what, at);
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7F)
            return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: control character 0x%02x at byte %zu", what, at, s[i], i);
    size_t bad;
    if (!gaze_json_utf8_valid((const char *)s, len, &bad))
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: invalid UTF-8 at byte %zu", what, at, bad);
    return GAZE_OK;
}

static enum gaze_status parse_kv(struct gaze_gguf * g, struct cur * c, int64_t i,
                                 int64_t * str_cap, bool * have_align) {
    char field[96];
    struct gguf_kv * kv = &g->kv[i];
    memset(kv, 0, sizeof *kv);
    kv->offset = c->off;

    snprintf(field, sizeof field, "kv[%lld].key", (long long)i);
    size_t klen;
    enum gaze_status st = rd_strlen(c, &klen, 65535, field);
    if (st) return st;
    if (klen == 0) return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: empty key", field, kv->offset);
    if ((st = check_name(c, kv->offset, field, c->p + c->off, klen))) return st;
    g->key_src[i] = c->off;
    kv->key_len = klen;
    c->off += klen;

    // from here the key names the field
    char kbuf[49];
    snprintf(field, sizeof field, "kv[%lld] '%s'", (long long)i, printable(kbuf, sizeof kbuf, c->p + g->key_src[i], klen));
    const size_t type_at = c->off;
    uint32_t type;
    char sub[128];
    snprintf(sub, sizeof sub, "%s value type", field);
    if ((st = rd_u32(c, &type, sub))) return st;
    if (type > GAZE_GGUF_TYPE_FLOAT64)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: invalid value type %u (valid: 0..12)", sub, type_at, type);
    kv->type = kv->elem = (enum gaze_gguf_type)type;
    kv->n = 1;
    kv->value_offset = c->off;

    const bool is_align = klen == 17 && !memcmp(c->p + g->key_src[i], "general.alignment", 17);
    if (is_align && type != GAZE_GGUF_TYPE_UINT32)
        return ferr(c, GAZE_ERR_FORMAT, "general.alignment at offset %zu: type %s, expected UINT32",
                    type_at, gaze_gguf_type_name(type));

    snprintf(sub, sizeof sub, "%s value", field);
    if (type == GAZE_GGUF_TYPE_STRING) {
        size_t len;
        if ((st = rd_strlen(c, &len, GAZE_GGUF_MAX_STRING, sub))) return st;
        kv->str0 = g->n_strs;
        if ((st = add_str(g, str_cap, c->off, len))) return st;
        c->off += len;
        return GAZE_OK;
    }
    if (type != GAZE_GGUF_TYPE_ARRAY) {
        const size_t sz = vtype_size(type);
        if ((st = need(c, sz, sub))) return st;
        kv->data = c->p + c->off;
        if (type == GAZE_GGUF_TYPE_BOOL && kv->data[0] > 1)
            return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: BOOL value %u (must be 0 or 1)", sub, c->off, kv->data[0]);
        if (is_align) {
            const uint32_t a = get_u32(kv->data);
            if (a == 0 || (a & (a - 1)) != 0 || a > GAZE_GGUF_MAX_ALIGNMENT)
                return ferr(c, GAZE_ERR_FORMAT,
                            "general.alignment at offset %zu: value %u (must be a power of two, 1 .. %u)",
                            c->off, a, (unsigned)GAZE_GGUF_MAX_ALIGNMENT);
            g->alignment = a;
            *have_align = true;
        }
        c->off += sz;
        return GAZE_OK;
    }

    // ARRAY: u32 element type, u64 count, elements
    const size_t et_at = c->off;
    uint32_t et;
    snprintf(sub, sizeof sub, "%s array element type", field);
    if ((st = rd_u32(c, &et, sub))) return st;
    if (et == GAZE_GGUF_TYPE_ARRAY)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: nested arrays are not allowed", sub, et_at);
    if (et > GAZE_GGUF_TYPE_FLOAT64)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: invalid value type %u (valid: 0..12)", sub, et_at, et);
    const size_t cnt_at = c->off;
    uint64_t cnt;
    snprintf(sub, sizeof sub, "%s array count", field);
    if ((st = rd_u64(c, &cnt, sub))) return st;
    // every element takes at least its fixed size (strings: their u64 length)
    const size_t esz = et == GAZE_GGUF_TYPE_STRING ? 8 : vtype_size(et);
    if (cnt > (uint64_t)INT64_MAX || cnt > left(c) / esz)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: %llu elements of %zu+ bytes exceed the %zu bytes left",
                    sub, cnt_at, (unsigned long long)cnt, esz, left(c));
    kv->elem = (enum gaze_gguf_type)et;
    kv->n = (int64_t)cnt;
    kv->data = c->p + c->off;
    if (et == GAZE_GGUF_TYPE_STRING) {
        kv->str0 = g->n_strs;
        for (uint64_t j = 0; j < cnt; j++) {
            snprintf(sub, sizeof sub, "%s[%llu]", field, (unsigned long long)j);
            size_t len;
            if ((st = rd_strlen(c, &len, GAZE_GGUF_MAX_STRING, sub))) return st;
            if ((st = add_str(g, str_cap, c->off, len))) return st;
            c->off += len;
        }
        return GAZE_OK;
    }
    if (et == GAZE_GGUF_TYPE_BOOL)
        for (uint64_t j = 0; j < cnt; j++)
            if (c->p[c->off + j] > 1)
                return ferr(c, GAZE_ERR_FORMAT, "%s[%llu] at offset %zu: BOOL value %u (must be 0 or 1)",
                            field, (unsigned long long)j, c->off + (size_t)j, c->p[c->off + j]);
    c->off += (size_t)cnt * esz;
    return GAZE_OK;
}

// Aligns off up to a multiple of a (a power of two); false on overflow.
static bool align_up(size_t off, size_t a, size_t * out) {
    const size_t pad = (a - off % a) % a;
    return !gaze_add_ovf(off, pad, out);
}

static enum gaze_status parse_tensor(struct gaze_gguf * g, struct cur * c, int64_t i,
                                     size_t * expected) {
    char field[128];
    struct gaze_gguf_tensor * t = &g->tensors[i];
    memset(t, 0, sizeof *t);
    const size_t at = c->off;

    snprintf(field, sizeof field, "tensor_info[%lld].name", (long long)i);
    size_t nlen;
    enum gaze_status st = rd_strlen(c, &nlen, GAZE_GGUF_MAX_NAME - 1, field);
    if (st) return st;
    if (nlen == 0) return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: empty tensor name", field, at);
    if (nlen >= GAZE_GGUF_MAX_NAME)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: name length %zu (must be < %d)",
                    field, at, nlen, GAZE_GGUF_MAX_NAME);
    if ((st = check_name(c, at, field, c->p + c->off, nlen))) return st;
    g->name_src[i] = c->off;
    c->off += nlen;
    char nbuf[GAZE_GGUF_MAX_NAME];
    snprintf(field, sizeof field, "tensor_info[%lld] '%s'", (long long)i, printable(nbuf, sizeof nbuf, c->p + g->name_src[i], nlen));

    char sub[192];
    snprintf(sub, sizeof sub, "%s n_dims", field);
    const size_t nd_at = c->off;
    uint32_t n_dims;
    if ((st = rd_u32(c, &n_dims, sub))) return st;
    if (n_dims < 1 || n_dims > GAZE_GGUF_MAX_DIMS)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: %u (must be 1..%d)", sub, nd_at, n_dims, GAZE_GGUF_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    int64_t nel = 1;
    for (int j = 0; j < GAZE_GGUF_MAX_DIMS; j++) t->ne[j] = 1;
    for (uint32_t j = 0; j < n_dims; j++) {
        snprintf(sub, sizeof sub, "%s ne[%u]", field, j);
        const size_t ne_at = c->off;
        uint64_t v;
        if ((st = rd_u64(c, &v, sub))) return st;
        if (v > (uint64_t)INT64_MAX)
            return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: negative (%lld)", sub, ne_at, (long long)(int64_t)v);
        t->ne[j] = (int64_t)v;
        if (gaze_mul_ovf_i64(nel, t->ne[j], &nel))
            return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: element count overflows int64", sub, ne_at);
    }
    t->n_elements = nel;

    snprintf(sub, sizeof sub, "%s type", field);
    const size_t ty_at = c->off;
    uint32_t type;
    if ((st = rd_u32(c, &type, sub))) return st;
    const struct quant_traits * tr = quant_traits_get(type);
    if (!tr)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: unknown tensor type id %u", sub, ty_at, type);
    if (!tr->supported)
        return ferr(c, GAZE_ERR_UNSUPPORTED, "%s at offset %zu: tensor type %s (%u) is not supported",
                    sub, ty_at, tr->name, type);
    t->type = (enum gaze_type)type;
    if (t->ne[0] % tr->blck != 0)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: ne[0] = %lld is not a multiple of the %s block size %lld",
                    sub, ty_at, (long long)t->ne[0], tr->name, (long long)tr->blck);
    size_t nbytes = (size_t)(t->ne[0] / tr->blck);
    bool ovf = gaze_mul_ovf(nbytes, tr->size, &nbytes);
    for (int j = 1; j < GAZE_GGUF_MAX_DIMS; j++) ovf = ovf || gaze_mul_ovf(nbytes, (size_t)t->ne[j], &nbytes);
    if (ovf) return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: byte size overflows", sub, ty_at);
    t->nbytes = nbytes;

    snprintf(sub, sizeof sub, "%s offset", field);
    const size_t off_at = c->off;
    uint64_t off;
    if ((st = rd_u64(c, &off, sub))) return st;
    if (off % g->alignment != 0)
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: %llu is not a multiple of the alignment %zu",
                    sub, off_at, (unsigned long long)off, g->alignment);
    if (off != *expected)
        return ferr(c, GAZE_ERR_FORMAT,
                    "%s at offset %zu: %llu, expected %zu (tensor data must follow declaration order without gaps or overlaps)",
                    sub, off_at, (unsigned long long)off, *expected);
    t->offset = (size_t)off;
    size_t padded;
    if (!align_up(nbytes, g->alignment, &padded) || gaze_add_ovf(*expected, padded, expected))
        return ferr(c, GAZE_ERR_FORMAT, "%s at offset %zu: running data size overflows", sub, off_at);
    return GAZE_OK;
}

// Keyed (core/hash.c): names chosen to collide cannot make the index quadratic.
static uint64_t hash_str(const char * s, size_t n) { return gaze_hash(s, n); }

// Builds an open-addressing index over n names; returns the index of the first duplicate
// (>= 0) or -1. names(i) gives the i-th (pointer, length).
static enum gaze_status build_hash(int64_t n, int64_t ** table, size_t * cap,
                                   const char * (*name)(const struct gaze_gguf *, int64_t, size_t *),
                                   const struct gaze_gguf * g, int64_t * dup) {
    size_t c = 16;
    if (n < 0 || (uint64_t)n > (SIZE_MAX / sizeof(int64_t)) / 4)   // counts were checked against the file size
        return gaze_error(GAZE_ERR_LIMIT, "gguf: %lld names are too many to index", (long long)n);
    while (c < (size_t)n * 2) c *= 2;
    int64_t * t = malloc(c * sizeof *t);
    if (!t) return gaze_error(GAZE_ERR_NOMEM, "gguf: out of memory");
    for (size_t i = 0; i < c; i++) t[i] = -1;
    *dup = -1;
    for (int64_t i = 0; i < n && *dup < 0; i++) {
        size_t len;
        const char * s = name(g, i, &len);
        for (size_t h = hash_str(s, len) & (c - 1);; h = (h + 1) & (c - 1)) {
            gaze_hash_probes++;
            if (t[h] < 0) { t[h] = i; break; }
            size_t l2;
            const char * s2 = name(g, t[h], &l2);
            if (l2 == len && !memcmp(s, s2, len)) { *dup = i; break; }
        }
    }
    *table = t;
    *cap = c;
    return GAZE_OK;
}

static const char * kv_name(const struct gaze_gguf * g, int64_t i, size_t * len) {
    *len = g->kv[i].key_len;
    return g->kv[i].key;
}
static const char * tensor_name(const struct gaze_gguf * g, int64_t i, size_t * len) {
    *len = strlen(g->tensors[i].name);
    return g->tensors[i].name;
}

// Copies keys, names and string values into one arena (bounded by the bytes they occupy in
// the file plus one NUL each).
static enum gaze_status build_arena(struct gaze_gguf * g) {
    size_t total = 0;
    bool ovf = false;
    for (int64_t i = 0; i < g->n_kv; i++) ovf |= gaze_add_ovf(total, g->kv[i].key_len + 1, &total);
    for (int64_t i = 0; i < g->n_tensors; i++) ovf |= gaze_add_ovf(total, GAZE_GGUF_MAX_NAME, &total);
    for (int64_t i = 0; i < g->n_strs; i++) ovf |= gaze_add_ovf(total, g->strs[i].len + 1, &total);
    if (ovf) return gaze_error(GAZE_ERR_NOMEM, "%s: string data too large", g->path);
    g->arena = malloc(total ? total : 1);
    if (!g->arena) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory (%zu bytes of strings)", g->path, total);
    char * p = g->arena;
    for (int64_t i = 0; i < g->n_kv; i++) {
        memcpy(p, g->base + g->key_src[i], g->kv[i].key_len);
        p[g->kv[i].key_len] = 0;
        g->kv[i].key = p;
        p += g->kv[i].key_len + 1;
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        // name length < 64 was checked; the source has no NUL
        size_t n = 0;
        const uint8_t * s = g->base + g->name_src[i];
        uint64_t len = get_u64(s - 8);
        n = (size_t)len;
        memcpy(p, s, n);
        p[n] = 0;
        g->tensors[i].name = p;
        p += GAZE_GGUF_MAX_NAME;
    }
    for (int64_t i = 0; i < g->n_strs; i++) {
        memcpy(p, g->base + g->str_off[i], g->strs[i].len);
        p[g->strs[i].len] = 0;
        g->strs[i].s = p;
        p += g->strs[i].len + 1;
    }
    return GAZE_OK;
}

static enum gaze_status parse(struct gaze_gguf * g) {
    struct cur c = { g->base, g->size, 0, g->path };
    enum gaze_status st;
    if (g->size == 0) return ferr(&c, GAZE_ERR_FORMAT, "header.magic at offset 0: file is empty");
    if ((st = need(&c, 4, "header.magic"))) return st;
    if (memcmp(g->base, "GGUF", 4) != 0)
        return ferr(&c, GAZE_ERR_FORMAT, "not a GGUF file (bad magic: header.magic at offset 0 is %02x %02x %02x %02x, "
                    "expected \"GGUF\" = 47 47 55 46)",
                    g->base[0], g->base[1], g->base[2], g->base[3]);
    c.off = 4;
    uint32_t version;
    if ((st = rd_u32(&c, &version, "header.version"))) return st;
    if (version != 0 && (version & 0xFFFF) == 0)
        return ferr(&c, GAZE_ERR_FORMAT, "header.version at offset 4: 0x%08x looks byte-swapped: big-endian GGUF files are not supported",
                    version);
    if (version == 1)
        return ferr(&c, GAZE_ERR_FORMAT, "header.version at offset 4: version 1 (32-bit counts) is not supported; need 2 or 3");
    if (version < 2 || version > 3)
        return ferr(&c, GAZE_ERR_FORMAT, "header.version at offset 4: unsupported version %u (need 2 or 3)", version);
    g->version = version;
    uint64_t n_tensors, n_kv;
    if ((st = rd_u64(&c, &n_tensors, "header.tensor_count"))) return st;
    if ((st = rd_u64(&c, &n_kv, "header.metadata_kv_count"))) return st;
    // counts are int64 in ggml; each item takes a minimum number of bytes
    if (n_tensors > (uint64_t)INT64_MAX)
        return ferr(&c, GAZE_ERR_FORMAT, "header.tensor_count at offset 8: negative (%lld)", (long long)(int64_t)n_tensors);
    if (n_kv > (uint64_t)INT64_MAX)
        return ferr(&c, GAZE_ERR_FORMAT, "header.metadata_kv_count at offset 16: negative (%lld)", (long long)(int64_t)n_kv);
    if (n_tensors > left(&c) / GGUF_MIN_TENSOR_BYTES)
        return ferr(&c, GAZE_ERR_FORMAT, "header.tensor_count at offset 8: %llu tensors cannot fit in the %zu bytes left",
                    (unsigned long long)n_tensors, left(&c));
    if (n_kv > left(&c) / GGUF_MIN_KV_BYTES)
        return ferr(&c, GAZE_ERR_FORMAT, "header.metadata_kv_count at offset 16: %llu key/value pairs cannot fit in the %zu bytes left",
                    (unsigned long long)n_kv, left(&c));
    if (n_tensors * GGUF_MIN_TENSOR_BYTES + n_kv * GGUF_MIN_KV_BYTES > left(&c))
        return ferr(&c, GAZE_ERR_FORMAT, "header.tensor_count at offset 8: %llu tensors and %llu key/value pairs cannot fit in the %zu bytes left",
                    (unsigned long long)n_tensors, (unsigned long long)n_kv, left(&c));

    g->alignment = GAZE_GGUF_DEFAULT_ALIGNMENT;
    bool have_align = false;
    int64_t kv_cap = 0, str_cap = 0, key_cap = 0;
    for (int64_t i = 0; i < (int64_t)n_kv; i++) {
        if ((st = grow((void **)&g->kv, i, &kv_cap, sizeof *g->kv))) return st;
        if ((st = grow((void **)&g->key_src, i, &key_cap, sizeof *g->key_src))) return st;
        g->n_kv = i;
        if ((st = parse_kv(g, &c, i, &str_cap, &have_align))) return st;
        g->n_kv = i + 1;
    }
    int64_t t_cap = 0, name_cap = 0;
    size_t expected = 0;
    for (int64_t i = 0; i < (int64_t)n_tensors; i++) {
        if ((st = grow((void **)&g->tensors, i, &t_cap, sizeof *g->tensors))) return st;
        if ((st = grow((void **)&g->name_src, i, &name_cap, sizeof *g->name_src))) return st;
        g->n_tensors = i;
        if ((st = parse_tensor(g, &c, i, &expected))) return st;
        g->n_tensors = i + 1;
    }
    const size_t infos_end = c.off;
    if (!align_up(infos_end, g->alignment, &g->data_offset))
        return ferr(&c, GAZE_ERR_FORMAT, "data section at offset %zu: start overflows", infos_end);
    // data section: every tensor inside the file (checked adds)
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct gaze_gguf_tensor * t = &g->tensors[i];
        size_t begin, end;
        if (gaze_add_ovf(g->data_offset, t->offset, &begin) || gaze_add_ovf(begin, t->nbytes, &end) ||
            end > g->size) {
            const uint8_t * s = g->base + g->name_src[i];
            char nbuf[GAZE_GGUF_MAX_NAME];
            return ferr(&c, GAZE_ERR_FORMAT,
                        "tensor '%s' data at offset %zu + %zu: %zu bytes extend beyond the end of the file (%zu bytes)",
                        printable(nbuf, sizeof nbuf, s, (size_t)get_u64(s - 8)), g->data_offset, t->offset,
                        t->nbytes, g->size);
        }
    }

    if ((st = build_arena(g))) return st;
    int64_t dup;
    if ((st = build_hash(g->n_kv, &g->kv_hash, &g->kv_cap, kv_name, g, &dup))) return st;
    char pbuf[80];
    if (dup >= 0)
        return ferr(&c, GAZE_ERR_FORMAT, "kv[%lld].key at offset %zu: duplicate key '%s'", (long long)dup,
                    g->kv[dup].offset, printable(pbuf, sizeof pbuf, (const uint8_t *)g->kv[dup].key, g->kv[dup].key_len));
    if ((st = build_hash(g->n_tensors, &g->t_hash, &g->t_cap, tensor_name, g, &dup))) return st;
    if (dup >= 0)
        return ferr(&c, GAZE_ERR_FORMAT, "tensor_info[%lld].name at offset %zu: duplicate tensor name '%s'",
                    (long long)dup, g->name_src[dup] - 8, printable(pbuf, sizeof pbuf, (const uint8_t *)g->tensors[dup].name, strlen(g->tensors[dup].name)));
    for (int64_t i = 0; i < g->n_tensors; i++)
        g->tensors[i].data = g->base + g->data_offset + g->tensors[i].offset;
    free(g->str_off); g->str_off = NULL;
    return GAZE_OK;
}

// ---- open / free ----------------------------------------------------------------------------------

static enum gaze_status gguf_new(const char * label, struct gaze_gguf ** out) {
    *out = NULL;
    struct gaze_gguf * g = calloc(1, sizeof *g);
    if (!g) return gaze_error(GAZE_ERR_NOMEM, "gguf: out of memory");
    g->path = strdup(label ? label : "<buffer>");
    if (!g->path) { free(g); return gaze_error(GAZE_ERR_NOMEM, "gguf: out of memory"); }
    *out = g;
    return GAZE_OK;
}

enum gaze_status gaze_gguf_open_buffer(const void * data, size_t size, const char * label,
                                       struct gaze_gguf ** out) {
    if (!out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_gguf_open_buffer: NULL out");
    *out = NULL;
    if (!data && size) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_gguf_open_buffer: NULL data");
    struct gaze_gguf * g;
    enum gaze_status st = gguf_new(label, &g);
    if (st) return st;
    g->base = data ? data : (const uint8_t *)"";
    g->size = size;
    if ((st = parse(g))) { gaze_gguf_free(g); return st; }
    *out = g;
    return GAZE_OK;
}

enum gaze_status gaze_gguf_open(const char * path, struct gaze_gguf ** out) {
    if (!out || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_gguf_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gaze_error(GAZE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return gaze_error(GAZE_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) { close(fd); return gaze_error(GAZE_ERR_IO, "%s: not a regular file", path); }
    struct gaze_gguf * g;
    enum gaze_status st = gguf_new(path, &g);
    if (st) { close(fd); return st; }
    g->size = (size_t)sb.st_size;
    if (g->size > 0) {
        void * m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            gaze_gguf_free(g);
            return gaze_error(GAZE_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
        }
        g->base = m;
        g->mapped = true;
    } else {
        g->base = (const uint8_t *)"";
    }
    close(fd);
    if ((st = parse(g))) { gaze_gguf_free(g); return st; }
    *out = g;
    return GAZE_OK;
}

void gaze_gguf_free(struct gaze_gguf * g) {
    if (!g) return;
    if (g->mapped) munmap((void *)g->base, g->size);
    free(g->path);
    free(g->kv);
    free(g->tensors);
    free(g->strs);
    free(g->str_off);
    free(g->arena);
    free(g->kv_hash);
    free(g->t_hash);
    free(g->key_src);
    free(g->name_src);
    free(g);
}

// ---- accessors ------------------------------------------------------------------------------------

const char * gaze_gguf_path(const struct gaze_gguf * g) { return g->path; }
uint32_t gaze_gguf_version(const struct gaze_gguf * g) { return g->version; }
size_t gaze_gguf_alignment(const struct gaze_gguf * g) { return g->alignment; }
size_t gaze_gguf_data_offset(const struct gaze_gguf * g) { return g->data_offset; }
size_t gaze_gguf_file_size(const struct gaze_gguf * g) { return g->size; }
int64_t gaze_gguf_n_kv(const struct gaze_gguf * g) { return g->n_kv; }
int64_t gaze_gguf_n_tensors(const struct gaze_gguf * g) { return g->n_tensors; }

int64_t gaze_gguf_find_key(const struct gaze_gguf * g, const char * key) {
    if (!g || !key || !g->kv_hash) return -1;
    const size_t len = strlen(key);
    for (size_t h = hash_str(key, len) & (g->kv_cap - 1);; h = (h + 1) & (g->kv_cap - 1)) {
        const int64_t i = g->kv_hash[h];
        if (i < 0) return -1;
        if (g->kv[i].key_len == len && !memcmp(g->kv[i].key, key, len)) return i;
    }
}

const char * gaze_gguf_key(const struct gaze_gguf * g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

enum gaze_gguf_type gaze_gguf_kv_type(const struct gaze_gguf * g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].type : GAZE_GGUF_TYPE_INVALID;
}

enum gaze_gguf_type gaze_gguf_kv_elem_type(const struct gaze_gguf * g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].elem : GAZE_GGUF_TYPE_INVALID;
}

int64_t gaze_gguf_kv_count(const struct gaze_gguf * g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].n : 0;
}

const struct gaze_gguf_tensor * gaze_gguf_tensor_at(const struct gaze_gguf * g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct gaze_gguf_tensor * gaze_gguf_find_tensor(const struct gaze_gguf * g, const char * name) {
    if (!g || !name || !g->t_hash) return NULL;
    const size_t len = strlen(name);
    for (size_t h = hash_str(name, len) & (g->t_cap - 1);; h = (h + 1) & (g->t_cap - 1)) {
        const int64_t i = g->t_hash[h];
        if (i < 0) return NULL;
        if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    }
}

// ---- typed getters ---------------------------------------------------------------------------------

static enum gaze_status lookup(const struct gaze_gguf * g, const char * key, const struct gguf_kv ** out) {
    if (!g || !key) return gaze_error(GAZE_ERR_INVALID_ARG, "gguf getter: NULL argument");
    const int64_t i = gaze_gguf_find_key(g, key);
    if (i < 0) return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' is missing", g->path, key);
    *out = &g->kv[i];
    return GAZE_OK;
}

static enum gaze_status wrong_type(const struct gaze_gguf * g, const struct gguf_kv * kv, const char * want) {
    if (kv->type == GAZE_GGUF_TYPE_ARRAY)
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' at offset %zu: type ARRAY of %s, expected %s",
                          g->path, kv->key, kv->offset, gaze_gguf_type_name(kv->elem), want);
    return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' at offset %zu: type %s, expected %s",
                      g->path, kv->key, kv->offset, gaze_gguf_type_name(kv->type), want);
}

// Integer element j of a value (scalar: j = 0) as a signed 128-bit-safe pair: returns false
// when the type is not an integer type.
static bool int_elem(enum gaze_gguf_type t, const uint8_t * p, int64_t j, int64_t * v, uint64_t * u, bool * is_unsigned) {
    *is_unsigned = false;
    switch (t) {
    case GAZE_GGUF_TYPE_UINT8:  *v = p[j]; return true;
    case GAZE_GGUF_TYPE_INT8:   *v = (int8_t)p[j]; return true;
    case GAZE_GGUF_TYPE_UINT16: { uint16_t x; memcpy(&x, p + 2 * j, 2); *v = x; return true; }
    case GAZE_GGUF_TYPE_INT16:  { int16_t x; memcpy(&x, p + 2 * j, 2); *v = x; return true; }
    case GAZE_GGUF_TYPE_UINT32: { uint32_t x; memcpy(&x, p + 4 * j, 4); *v = x; return true; }
    case GAZE_GGUF_TYPE_INT32:  { int32_t x; memcpy(&x, p + 4 * j, 4); *v = x; return true; }
    case GAZE_GGUF_TYPE_INT64:  { int64_t x; memcpy(&x, p + 8 * j, 8); *v = x; return true; }
    case GAZE_GGUF_TYPE_UINT64: {
        memcpy(u, p + 8 * j, 8);
        *is_unsigned = true;
        *v = *u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)*u;
        return true;
    }
    default: return false;
    }
}

static enum gaze_status get_int_range(const struct gaze_gguf * g, const char * key, int64_t lo,
                                      uint64_t hi, const char * want, uint64_t * uo, int64_t * so) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    int64_t v;
    uint64_t u = 0;
    bool isu;
    if (kv->type == GAZE_GGUF_TYPE_ARRAY || !int_elem(kv->type, kv->data, 0, &v, &u, &isu))
        return wrong_type(g, kv, want);
    const bool too_big = isu ? u > hi : (v >= 0 && (uint64_t)v > hi);
    if (too_big || (!isu && v < lo))
    {
        char val[32];
        if (isu) snprintf(val, sizeof val, "%llu", (unsigned long long)u);
        else snprintf(val, sizeof val, "%lld", (long long)v);
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' at offset %zu: value %s out of range for %s",
                          g->path, kv->key, kv->offset, val, want);
    }
    if (uo) *uo = isu ? u : (uint64_t)v;
    if (so) *so = v;
    return GAZE_OK;
}

enum gaze_status gaze_gguf_get_u32(const struct gaze_gguf * g, const char * key, uint32_t * out) {
    uint64_t u;
    enum gaze_status st = get_int_range(g, key, 0, UINT32_MAX, "UINT32", &u, NULL);
    if (!st) *out = (uint32_t)u;
    return st;
}

enum gaze_status gaze_gguf_get_i32(const struct gaze_gguf * g, const char * key, int32_t * out) {
    int64_t v;
    enum gaze_status st = get_int_range(g, key, INT32_MIN, INT32_MAX, "INT32", NULL, &v);
    if (!st) *out = (int32_t)v;
    return st;
}

enum gaze_status gaze_gguf_get_u64(const struct gaze_gguf * g, const char * key, uint64_t * out) {
    uint64_t u;
    enum gaze_status st = get_int_range(g, key, 0, UINT64_MAX, "UINT64", &u, NULL);
    if (!st) *out = u;
    return st;
}

enum gaze_status gaze_gguf_get_i64(const struct gaze_gguf * g, const char * key, int64_t * out) {
    int64_t v;
    enum gaze_status st = get_int_range(g, key, INT64_MIN, INT64_MAX, "INT64", NULL, &v);
    if (!st) *out = v;
    return st;
}

enum gaze_status gaze_gguf_get_f32(const struct gaze_gguf * g, const char * key, float * out) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type == GAZE_GGUF_TYPE_FLOAT32) { memcpy(out, kv->data, 4); return GAZE_OK; }
    if (kv->type == GAZE_GGUF_TYPE_FLOAT64) { double d; memcpy(&d, kv->data, 8); *out = (float)d; return GAZE_OK; }
    return wrong_type(g, kv, "FLOAT32");
}

enum gaze_status gaze_gguf_get_bool(const struct gaze_gguf * g, const char * key, bool * out) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type != GAZE_GGUF_TYPE_BOOL) return wrong_type(g, kv, "BOOL");
    *out = kv->data[0] != 0;
    return GAZE_OK;
}

enum gaze_status gaze_gguf_get_str(const struct gaze_gguf * g, const char * key, const char ** s, size_t * len) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type != GAZE_GGUF_TYPE_STRING) return wrong_type(g, kv, "STRING");
    *s = g->strs[kv->str0].s;
    if (len) *len = g->strs[kv->str0].len;
    return GAZE_OK;
}

enum gaze_status gaze_gguf_get_arr(const struct gaze_gguf * g, const char * key,
                                   enum gaze_gguf_type * elem, int64_t * n) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type != GAZE_GGUF_TYPE_ARRAY) return wrong_type(g, kv, "ARRAY");
    if (elem) *elem = kv->elem;
    if (n) *n = kv->n;
    return GAZE_OK;
}

enum gaze_status gaze_gguf_get_arr_str(const struct gaze_gguf * g, const char * key,
                                       const struct gaze_gguf_str ** items, int64_t * n) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type != GAZE_GGUF_TYPE_ARRAY || kv->elem != GAZE_GGUF_TYPE_STRING)
        return wrong_type(g, kv, "ARRAY of STRING");
    *items = kv->n ? g->strs + kv->str0 : NULL;   // a file with no strings has strs == NULL (NULL + 0 is UB)
    *n = kv->n;
    return GAZE_OK;
}

static enum gaze_status arr_len_check(const struct gaze_gguf * g, const struct gguf_kv * kv, int64_t n) {
    if (kv->n != n)
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' at offset %zu: array has %lld elements, expected %lld",
                          g->path, kv->key, kv->offset, (long long)kv->n, (long long)n);
    return GAZE_OK;
}

static bool is_int_type(enum gaze_gguf_type t) {
    return (t >= GAZE_GGUF_TYPE_UINT8 && t <= GAZE_GGUF_TYPE_INT32) || t == GAZE_GGUF_TYPE_UINT64 || t == GAZE_GGUF_TYPE_INT64;
}

enum gaze_status gaze_gguf_get_arr_i64(const struct gaze_gguf * g, const char * key, int64_t * out, int64_t n) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type != GAZE_GGUF_TYPE_ARRAY || !is_int_type(kv->elem)) return wrong_type(g, kv, "ARRAY of integers");
    if ((st = arr_len_check(g, kv, n))) return st;
    for (int64_t j = 0; j < n; j++) {
        int64_t v;
        uint64_t u;
        bool isu;
        int_elem(kv->elem, kv->data, j, &v, &u, &isu);
        if (isu && u > (uint64_t)INT64_MAX)
            return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' element %lld: value %llu out of range for INT64",
                              g->path, kv->key, (long long)j, (unsigned long long)u);
        out[j] = v;
    }
    return GAZE_OK;
}

enum gaze_status gaze_gguf_get_arr_i32(const struct gaze_gguf * g, const char * key, int32_t * out, int64_t n) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    int64_t v;
    uint64_t u;
    bool isu;
    if (kv->type != GAZE_GGUF_TYPE_ARRAY || !is_int_type(kv->elem)) return wrong_type(g, kv, "ARRAY of integers");
    if ((st = arr_len_check(g, kv, n))) return st;
    for (int64_t j = 0; j < n; j++) {
        int_elem(kv->elem, kv->data, j, &v, &u, &isu);
        if ((isu && u > INT32_MAX) || v < INT32_MIN || v > INT32_MAX)
            return gaze_error(GAZE_ERR_FORMAT, "%s: metadata key '%s' element %lld: value %lld out of range for INT32",
                              g->path, kv->key, (long long)j, isu ? (long long)u : (long long)v);
        out[j] = (int32_t)v;
    }
    return GAZE_OK;
}

enum gaze_status gaze_gguf_get_arr_f32(const struct gaze_gguf * g, const char * key, float * out, int64_t n) {
    const struct gguf_kv * kv = NULL;
    enum gaze_status st = lookup(g, key, &kv);
    if (st) return st;
    if (kv->type != GAZE_GGUF_TYPE_ARRAY || (kv->elem != GAZE_GGUF_TYPE_FLOAT32 && kv->elem != GAZE_GGUF_TYPE_FLOAT64))
        return wrong_type(g, kv, "ARRAY of FLOAT32");
    if ((st = arr_len_check(g, kv, n))) return st;
    for (int64_t j = 0; j < n; j++) {
        if (kv->elem == GAZE_GGUF_TYPE_FLOAT32) memcpy(out + j, kv->data + 4 * j, 4);
        else { double d; memcpy(&d, kv->data + 8 * j, 8); out[j] = (float)d; }
    }
    return GAZE_OK;
}

// ---- optional data scan ------------------------------------------------------------------------

static bool f16_bad(const uint8_t * p) { uint16_t h; memcpy(&h, p, 2); return (h & 0x7C00) == 0x7C00; }
static bool bf16_bad(const uint8_t * p) { uint16_t h; memcpy(&h, p, 2); return (h & 0x7F80) == 0x7F80; }
static bool f32_bad(const uint8_t * p) { uint32_t u; memcpy(&u, p, 4); return (u & 0x7F800000u) == 0x7F800000u; }

enum gaze_status gaze_gguf_check_data(const struct gaze_gguf * g) { return gaze_gguf_check_data_progress(g, NULL); }

enum gaze_status gaze_gguf_check_data_progress(const struct gaze_gguf * g, const struct gaze_progress * progress) {
    if (!g) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_gguf_check_data: NULL");
    int64_t total = 0, done = 0;   // a file's tensor bytes fit: each was checked against its size
    for (int64_t i = 0; i < g->n_tensors; i++) total += (int64_t)g->tensors[i].nbytes;
    gaze_progress_report(progress, 0, total, "bytes");
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct gaze_gguf_tensor * t = &g->tensors[i];
        if (i > 0) gaze_progress_report(progress, done, total, "bytes");
        done += (int64_t)t->nbytes;
        const struct quant_traits * tr = quant_traits_get(t->type);
        const uint8_t * p = t->data;
        const size_t nblk = t->nbytes / tr->size;
        // byte offsets (within a block) of the f16 scales, or per-element checks for float types
        int off[2] = { -1, -1 };
        switch (t->type) {
        case GAZE_TYPE_Q4_0: case GAZE_TYPE_Q5_0: case GAZE_TYPE_Q8_0: off[0] = 0; break;
        case GAZE_TYPE_Q4_1: case GAZE_TYPE_Q5_1: case GAZE_TYPE_Q8_1: case GAZE_TYPE_Q4_K: case GAZE_TYPE_Q5_K: off[0] = 0; off[1] = 2; break;
        case GAZE_TYPE_Q6_K: off[0] = 208; break;
        default: break;
        }
        for (size_t b = 0; b < nblk; b++) {
            const uint8_t * q = p + b * tr->size;
            bool bad = false;
            if (t->type == GAZE_TYPE_F32 || t->type == GAZE_TYPE_Q8_K) bad = f32_bad(q);
            else if (t->type == GAZE_TYPE_F16) bad = f16_bad(q);
            else if (t->type == GAZE_TYPE_BF16) bad = bf16_bad(q);
            else bad = f16_bad(q + off[0]) || (off[1] >= 0 && f16_bad(q + off[1]));
            if (bad)
                return gaze_error(GAZE_ERR_NUMERIC, "%s: tensor '%s' block %zu at offset %zu: %s is NaN or Inf",
                                  g->path, t->name, b, (size_t)(q - g->base),
                                  tr->blck == 1 ? "value" : "block scale");
        }
    }
    gaze_progress_report(progress, total, total, "bytes");
    return GAZE_OK;
}

// ---- gaze info ---------------------------------------------------------------------------------------

static void print_escaped(FILE * f, const char * s, size_t len, size_t max) {
    fputc('"', f);
    // terminal controls escaped as gaze_term_escape does (C1 and bidi controls too)
    const size_t n = GAZE_MIN(len, max);
    for (size_t i = 0, k; i < n; i += k) {
        const unsigned char ch = (unsigned char)s[i];
        uint32_t cp;
        char esc[12];
        int m = gaze_utf8_decode((const uint8_t *)s, n, i, &cp);
        k = m > 0 ? (size_t)m : 1;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (m == 0) fprintf(f, "\\x%02x", ch);
        else if (gaze_term_escape_cp(cp, esc)) fputs(esc, f);
        else fwrite(s + i, 1, k, f);
    }
    fputc('"', f);
    if (len > max) fprintf(f, "... (%zu bytes)", len);
}

static void print_scalar(FILE * f, enum gaze_gguf_type t, const uint8_t * p, int64_t j) {
    int64_t v;
    uint64_t u;
    bool isu;
    if (int_elem(t, p, j, &v, &u, &isu)) {
        if (isu) fprintf(f, "%llu", (unsigned long long)u);
        else fprintf(f, "%lld", (long long)v);
    } else if (t == GAZE_GGUF_TYPE_FLOAT32) {
        float x; memcpy(&x, p + 4 * j, 4); fprintf(f, "%.9g", x);
    } else if (t == GAZE_GGUF_TYPE_FLOAT64) {
        double x; memcpy(&x, p + 8 * j, 8); fprintf(f, "%.17g", x);
    } else if (t == GAZE_GGUF_TYPE_BOOL) {
        fputs(p[j] ? "true" : "false", f);
    }
}

void gaze_gguf_print_info(const struct gaze_gguf * g, FILE * f) {
    if (!g || !f) return;
    fputs("file:        ", f);
    gaze_term_fputs(f, g->path);
    fputc('\n', f);
    fprintf(f, "format:      GGUF v%u, %zu bytes, alignment %zu, data at offset %zu\n",
            g->version, g->size, g->alignment, g->data_offset);
    fprintf(f, "metadata:    %lld keys\n", (long long)g->n_kv);
    for (int64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv * kv = &g->kv[i];
        fprintf(f, "  ");
        print_escaped(f, kv->key, kv->key_len, 80);
        if (kv->type == GAZE_GGUF_TYPE_ARRAY) {
            fprintf(f, " = [%s × %lld]", gaze_gguf_type_name(kv->elem), (long long)kv->n);
            const int64_t show = GAZE_MIN(kv->n, kv->elem == GAZE_GGUF_TYPE_STRING ? 4 : 8);
            fputs(" [", f);
            for (int64_t j = 0; j < show; j++) {
                if (j) fputs(", ", f);
                if (kv->elem == GAZE_GGUF_TYPE_STRING) {
                    const struct gaze_gguf_str * s = &g->strs[kv->str0 + j];
                    print_escaped(f, s->s, s->len, 32);
                } else {
                    print_scalar(f, kv->elem, kv->data, j);
                }
            }
            fputs(kv->n > show ? ", ...]\n" : "]\n", f);
        } else if (kv->type == GAZE_GGUF_TYPE_STRING) {
            const struct gaze_gguf_str * s = &g->strs[kv->str0];
            fputs(" = ", f);
            print_escaped(f, s->s, s->len, 120);
            fputc('\n', f);
        } else {
            fprintf(f, " = ");
            print_scalar(f, kv->type, kv->data, 0);
            fprintf(f, " (%s)\n", gaze_gguf_type_name(kv->type));
        }
    }
    // histogram of tensor types, with element and byte totals
    int64_t count[QUANT_TYPE_CODES] = { 0 }, elems[QUANT_TYPE_CODES] = { 0 };
    size_t bytes[QUANT_TYPE_CODES] = { 0 }, total_bytes = 0;
    int64_t total_elems = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct gaze_gguf_tensor * t = &g->tensors[i];
        count[t->type]++;
        elems[t->type] += t->n_elements;
        bytes[t->type] += t->nbytes;
        total_elems += t->n_elements;
        total_bytes += t->nbytes;
    }
    fprintf(f, "tensors:     %lld, %lld elements, %.2f MiB\n", (long long)g->n_tensors,
            (long long)total_elems, (double)total_bytes / (1024.0 * 1024.0));
    fprintf(f, "  %-6s %8s %14s %12s %8s\n", "type", "tensors", "elements", "MiB", "bits/w");
    for (int c = 0; c < QUANT_TYPE_CODES; c++) {
        if (!count[c]) continue;
        fprintf(f, "  %-6s %8lld %14lld %12.2f %8.3f\n", quant_traits_get(c)->name, (long long)count[c],
                (long long)elems[c], (double)bytes[c] / (1024.0 * 1024.0),
                elems[c] ? 8.0 * (double)bytes[c] / (double)elems[c] : 0.0);
    }
}
