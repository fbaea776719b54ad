// MarianTokenizer (transformers 4.46, Helsinki-NLP opus-mt folders: source.spm, target.spm,
// vocab.json, tokenizer_config.json) on the shared engines: the text is split on the special
// tokens (</s>, <unk>, <pad>: the slow tokenizer's added tokens, no strip) by text/bpe.c, each
// stretch between them goes to text/unigram.c in sentencepiece mode (a leading ">>xx<<" language
// code, then sentencepiece's normalizer and Viterbi over source.spm's pieces), and every piece
// is mapped by its text through vocab.json (unknown: <unk>); </s> is appended. The token table
// is vocab.json's, so pieces, display and decode are the engine's. target.spm is read and
// checked (decoding with it is tok_marian_decode).
#include "core/core.h"
#include "formats/json.h"
#include "text/bpe.h"
#include "text/marian.h"
#include "text/spm_model.h"
#include "text/unigram.h"
#include "text/utf8.h"
#include <float.h>
#include <string.h>
#include <sys/stat.h>

struct tok_marian_dec {
    struct tok_spm_model * tgt;
    struct tok_unigram * idx;      // target.spm's pieces by text
};

void tok_marian_dec_free(struct tok_marian_dec * d) {
    if (!d) return;
    tok_spm_model_free(d->tgt);
    tok_unigram_free(d->idx);
    free(d);
}

static enum gaze_status path_in(char * out, size_t cap, const char * dir, const char * name) {
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: path too long", dir);
    return GAZE_OK;
}

bool tok_marian_folder(const char * dir) {
    char p[4096];
    struct stat st;
    return !path_in(p, sizeof p, dir, "source.spm") && stat(p, &st) == 0 && !path_in(p, sizeof p, dir, "vocab.json") &&
           stat(p, &st) == 0;
}

// A token text of tokenizer_config.json: "x" or {"content": "x", ...}; def when absent.
static enum gaze_status cfg_token(const json_t * cfg, const char * key, const char * label, const char * def, const char ** out) {
    json_t * v = json_object_get(cfg, key);
    *out = def;
    if (!v || json_is_null(v)) return GAZE_OK;
    const char * t = json_is_object(v) ? json_string_value(json_object_get(v, "content")) : json_string_value(v);
    if (!t || !*t) return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: expected a non-empty string or {\"content\": string}", label, key);
    *out = t;
    return GAZE_OK;
}

// The sentencepiece pieces as the engine's vocabulary: only NORMAL pieces are matched in text
// (sentencepiece's trie skips CONTROL, UNKNOWN and UNUSED; they get an empty text, never matched,
// and a score that cannot lower the minimum); USER_DEFINED and BYTE pieces are refused by name.
static enum gaze_status spm_unigram(const struct tok_spm_model * m, const char * label, struct tok_unigram ** out) {
    *out = NULL;
    if (m->model_type != 1) {
        static const char * const k[] = { "", "UNIGRAM", "BPE", "WORD", "CHAR" };
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: trainer_spec.model_type %s is not supported yet (Marian's models are UNIGRAM)",
                          label, k[m->model_type]);
    }
    if (m->byte_fallback) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: trainer_spec.byte_fallback is not supported yet", label);
    const char ** txt = calloc((size_t)m->n, sizeof *txt);
    size_t * len = calloc((size_t)m->n, sizeof *len);
    double * sc = calloc((size_t)m->n, sizeof *sc);
    enum gaze_status s = GAZE_OK;
    struct tok_norm * norm = NULL;
    if (!txt || !len || !sc) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); goto done; }
    for (int32_t i = 0; i < m->n && !s; i++) {
        const struct tok_spm_piece * p = &m->pieces[i];
        if (p->type == TOK_SPM_USER_DEFINED || p->type == TOK_SPM_BYTE)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: pieces[%d]: type %s is not supported yet", label, i,
                           p->type == TOK_SPM_BYTE ? "BYTE" : "USER_DEFINED");
        bool normal = p->type == TOK_SPM_NORMAL;
        txt[i] = normal ? p->text : "";
        len[i] = normal ? p->len : 0;
        sc[i] = normal ? (double)p->score : DBL_MAX;
    }
    if (s || (s = tok_norm_from_charsmap(m->charsmap, m->charsmap_len, label, &norm))) goto done;
    struct tok_unigram_vocab uv = { m->n, txt, len, sc, m->unk, false };
    s = tok_unigram_init(out, &uv, norm, 0, false, label);
    norm = NULL;   // taken
    for (int32_t i = 0; !s && i < m->n; i++) {   // sentencepiece refuses a piece defined twice
        if (!len[i]) continue;
        int32_t j = tok_unigram_lookup(*out, txt[i], len[i]);
        if (j != i) s = gaze_error(GAZE_ERR_FORMAT, "%s: pieces[%d] and pieces[%d] are the same piece", label, i, j);
    }
done:
    if (s) { tok_unigram_free(*out); *out = NULL; }
    tok_norm_free(norm);
    free(txt); free(len); free(sc);
    return s;
}

enum gaze_status tok_marian_decoder(const char * dir, struct tok_marian_dec ** out) {
    *out = NULL;
    char p[4096];
    struct tok_spm_model * m = NULL;
    enum gaze_status s = path_in(p, sizeof p, dir, "target.spm");
    if (!s) s = tok_spm_model_load(p, &m);
    return s ? s : tok_marian_decoder_from(m, p, out);
}

// MarianTokenizer.decode → convert_tokens_to_string with the target model: specials are written
// as themselves followed by a space; each run of other tokens goes through target.spm's
// DecodePieces: its control pieces vanish, any other piece is its own text, even one target.spm
// does not know (sentencepiece gives unk_surface only for the literal <unk> piece, a special
// here), the run's leading U+2581 of known pieces is dropped (add_dummy_prefix /
// remove_extra_whitespaces) until one gives text or an unknown piece comes;
// then every U+2581 becomes a space and the result is stripped.
enum gaze_status tok_marian_decode(const struct tok_marian_dec * d, const struct gaze_bpe * vocab, const int32_t * ids, int64_t n,
                                   bool skip_special, char ** out, size_t * out_len) {
    *out = NULL;
    size_t cap = 64, o = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t l = 0;
        if (gaze_bpe_token(vocab, ids[i], &l)) cap += l + 32;
    }
    char * b = malloc(cap);
    if (!b) return gaze_error(GAZE_ERR_NOMEM, "marian: out of memory");
    bool run_start = true;   // the next ordinary piece starts a DecodePieces call
    for (int64_t i = 0; i < n; i++) {
        size_t l = 0;
        const char * t = gaze_bpe_token(vocab, ids[i], &l);
        if (!t) { free(b); return gaze_error(GAZE_ERR_INVALID_ARG, "marian decode: id %d is outside the vocabulary", ids[i]); }
        enum gaze_bpe_token_type ty = gaze_bpe_token_type(vocab, ids[i]);
        if (ty == GAZE_BPE_TOKEN_TYPE_CONTROL || ty == GAZE_BPE_TOKEN_TYPE_UNKNOWN) {
            if (skip_special) continue;
            memcpy(b + o, t, l);
            o += l;
            b[o++] = ' ';
            run_start = true;
            continue;
        }
        bool control = false;   // a CONTROL piece of target.spm decodes to nothing
        for (int32_t k = 0; k < d->tgt->n && !control; k++)
            control = d->tgt->pieces[k].type == TOK_SPM_CONTROL && d->tgt->pieces[k].len == l && !memcmp(d->tgt->pieces[k].text, t, l);
        if (control) continue;
        // at the start of a run, sentencepiece drops the dummy prefix (all leading spaces when
        // remove_extra_whitespaces), and stays at the start while pieces come out empty
        const char * m = t;
        // (a piece target.spm does not know is copied as it is, leading U+2581 included)
        if (run_start && (d->tgt->add_dummy_prefix || d->tgt->remove_extra_ws) && !d->tgt->treat_ws_as_suffix &&
            tok_unigram_lookup(d->idx, t, l) >= 0) {
            do { if (l >= 3 && !memcmp(m, "\xE2\x96\x81", 3)) { m += 3; l -= 3; } else break; } while (d->tgt->remove_extra_ws);
        }
        memcpy(b + o, m, l);
        o += l;
        if (l) run_start = false;
    }
    // U+2581 -> " ", then Python's str.strip() (ASCII and Unicode white space)
    size_t w = 0;
    for (size_t r = 0; r < o;) {
        if (r + 3 <= o && !memcmp(b + r, "\xE2\x96\x81", 3)) { b[w++] = ' '; r += 3; }
        else b[w++] = b[r++];
    }
    size_t s0 = 0;
    while (s0 < w && tok_ws_len(b, w, s0)) s0 += tok_ws_len(b, w, s0);
    while (w > s0) {
        size_t q = w - 1;
        while (q > s0 && ((uint8_t)b[q] & 0xC0) == 0x80) q--;
        if (!tok_ws_len(b, w, q)) break;
        w = q;
    }
    memmove(b, b + s0, w - s0);
    b[w - s0] = 0;
    *out = b;
    if (out_len) *out_len = w - s0;
    return GAZE_OK;
}

enum gaze_status tok_marian_build(const struct tok_spm_model * m, const json_t * voc, const char * voc_path, const char * spm_path,
                                  const char * const names[3], struct gaze_bpe ** out, struct tok_marian_info * info) {
    *out = NULL;
    enum gaze_status s;
    struct tok_unigram * inner = NULL, * outer = NULL;
    const char ** toks = NULL;
    size_t * tl = NULL;
    int32_t * types = NULL;
    double * zero = NULL;
    if (!json_is_object(voc) || !json_object_size(voc)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: expected a non-empty object of piece -> id", voc_path);
        goto done;
    }
    size_t V = json_object_size(voc);
    if (V >= INT32_MAX / 2) { s = gaze_error(GAZE_ERR_LIMIT, "%s: %zu pieces", voc_path, V); goto done; }
    toks = calloc(V, sizeof *toks);
    tl = calloc(V, sizeof *tl);
    types = calloc(V, sizeof *types);
    zero = calloc(V, sizeof *zero);
    if (!toks || !tl || !types || !zero) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for %zu pieces", voc_path, V); goto done; }
    const char * key;
    json_t * val;
    json_object_foreach((json_t *)voc, key, val) {
        char esc[96];
        gaze_term_escape(esc, sizeof esc, key, strlen(key));
        if (!json_is_integer(val) || json_integer_value(val) < 0 || (size_t)json_integer_value(val) >= V) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: \"%s\": expected an integer id in 0..%zu (the ids of the %zu pieces)", voc_path, esc,
                           V - 1, V);
            goto done;
        }
        size_t id = (size_t)json_integer_value(val);
        if (toks[id]) { s = gaze_error(GAZE_ERR_FORMAT, "%s: \"%s\": id %zu is already another piece's", voc_path, esc, id); goto done; }
        if (!*key) { s = gaze_error(GAZE_ERR_FORMAT, "%s: an empty piece (id %zu)", voc_path, id); goto done; }
        toks[id] = key;
        tl[id] = strlen(key);   // the loader allows NUL in strings: a piece with one is cut, and so cannot match
        types[id] = GAZE_BPE_TOKEN_TYPE_NORMAL;
    }
    // the ids are 0..V-1 exactly once (V distinct keys, every id < V, none twice)
    struct tok_unigram_vocab ov = { (int32_t)V, toks, tl, zero, -1, false };
    if ((s = tok_unigram_init(&outer, &ov, NULL, 0, false, voc_path))) goto done;
    int32_t sid[3];
    for (int k = 0; k < 3; k++) {
        sid[k] = tok_unigram_lookup(outer, names[k], strlen(names[k]));
        if (sid[k] < 0) {
            char esc[96];
            gaze_term_escape(esc, sizeof esc, names[k], strlen(names[k]));
            s = gaze_error(GAZE_ERR_FORMAT, "%s: the %s token \"%s\" is not in the vocabulary (MarianTokenizer requires it)", voc_path,
                           k == 0 ? "unk" : k == 1 ? "eos" : "pad", esc);
            goto done;
        }
    }
    types[sid[0]] = GAZE_BPE_TOKEN_TYPE_UNKNOWN;
    types[sid[1]] = types[sid[2]] = GAZE_BPE_TOKEN_TYPE_CONTROL;
    if ((s = spm_unigram(m, spm_path, &inner))) goto done;
    struct tok_spm_norm_spec spec = { m->add_dummy_prefix, m->remove_extra_ws, m->escape_ws, m->treat_ws_as_suffix };
    tok_unigram_set_spm(inner, &spec, outer, sid[0], true);
    outer = NULL;   // inner holds it
    // the slow tokenizer's added tokens: the three specials (distinct ids), not stripped
    struct bpe_hf_added added[3];
    int n_added = 0;
    for (int k = 0; k < 3; k++) {
        bool dup = false;
        for (int j = 0; j < k; j++) dup |= sid[j] == sid[k];
        if (!dup) added[n_added++] = (struct bpe_hf_added){ sid[k], true, false, false, false };
    }
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = (int64_t)V; v.tokens = toks; v.token_lens = tl; v.token_types = types;
    v.add_bos = false;
    v.add_eos = true;
    v.bos_id = -1;
    v.eos_id = sid[1];
    struct bpe_hf hf = { 0 };
    hf.unk = sid[0];
    hf.added = added;
    hf.n_added = n_added;
    hf.unigram = inner;
    inner = NULL;   // bpe_init_hf takes it
    if ((s = bpe_init_hf(out, &v, &hf))) goto done;
    info->unk = sid[0];
    info->eos = sid[1];
    info->pad = sid[2];
done:
    tok_unigram_free(inner);
    tok_unigram_free(outer);
    free(toks); free(tl); free(types); free(zero);
    return s;
}

enum gaze_status tok_marian_decoder_from(struct tok_spm_model * m, const char * label, struct tok_marian_dec ** out) {
    *out = NULL;
    struct tok_marian_dec * d = calloc(1, sizeof *d);
    if (!d) { tok_spm_model_free(m); return gaze_error(GAZE_ERR_NOMEM, "marian: out of memory"); }
    d->tgt = m;
    enum gaze_status s = spm_unigram(d->tgt, label, &d->idx);
    if (s) { tok_marian_dec_free(d); return s; }
    *out = d;
    return GAZE_OK;
}

enum gaze_status tok_marian_load(const char * dir, struct gaze_bpe ** out, struct tok_marian_info * info) {
    *out = NULL;
    char spm_path[4096], voc_path[4096], cfg_path[4096];
    enum gaze_status s;
    if ((s = path_in(spm_path, sizeof spm_path, dir, "source.spm")) || (s = path_in(voc_path, sizeof voc_path, dir, "vocab.json")) ||
        (s = path_in(cfg_path, sizeof cfg_path, dir, "tokenizer_config.json")))
        return s;
    json_t * cfg = NULL, * voc = NULL;
    struct tok_spm_model * m = NULL;
    const char * eos_t = "</s>", * unk_t = "<unk>", * pad_t = "<pad>";
    struct stat st;
    if (stat(cfg_path, &st) == 0) {
        if ((s = gaze_json_load_file_ex(&cfg, cfg_path, 0, 0, GAZE_JSON_INTS_AS_REAL))) goto done;
        json_t * sep = json_object_get(cfg, "separate_vocabs");
        if (json_is_true(sep)) {
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: separate_vocabs (a target_vocab_file) is not supported yet", cfg_path);
            goto done;
        }
        if ((s = cfg_token(cfg, "eos_token", cfg_path, eos_t, &eos_t)) || (s = cfg_token(cfg, "unk_token", cfg_path, unk_t, &unk_t)) ||
            (s = cfg_token(cfg, "pad_token", cfg_path, pad_t, &pad_t)))
            goto done;
    }
    const char * names[3] = { unk_t, eos_t, pad_t };
    if (!(s = gaze_json_load_file(&voc, voc_path, 0, 0)) && !(s = tok_spm_model_load(spm_path, &m)))
        s = tok_marian_build(m, voc, voc_path, spm_path, names, out, info);
done:
    json_decref(cfg);
    json_decref(voc);
    tok_spm_model_free(m);
    return s;
}
