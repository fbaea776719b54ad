// One tokenizer object over the three engines (text/wordpiece.c, text/bpe.c for byte-level BPE
// and SentencePiece), opened from a GGUF file or a Hugging Face folder. The GGUF vocabulary is
// read here and nowhere else; models, analyses and the CLI all come through this file.
#include "core/core.h"
#include "formats/json.h"
#include "text/bpe.h"
#include "text/marian.h"
#include "text/tokenizer.h"
#include "text/utf8.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct gaze_tokenizer {
    enum gaze_tokenizer_kind kind;
    struct gaze_bpe *        bpe;      // BPE and SPM kinds
    struct gaze_wordpiece *  wp;       // WordPiece
    struct gaze_tokenizer_specials sp;
    char *                   chat;     // chat template, or NULL
    bool                     chat_builtin;   // chat is gaze's own (the file has none)
    struct tok_marian_dec *  marian;   // Marian: decoding with target.spm
};

const char * gaze_tokenizer_kind_name(enum gaze_tokenizer_kind k) {
    switch (k) {
    case GAZE_TOKENIZER_WORDPIECE: return "wordpiece";
    case GAZE_TOKENIZER_BPE:       return "bpe";
    case GAZE_TOKENIZER_SPM:       return "spm";
    case GAZE_TOKENIZER_UNIGRAM:   return "unigram";
    }
    return "?";
}

void gaze_tokenizer_free(struct gaze_tokenizer * t) {
    if (!t) return;
    gaze_bpe_free(t->bpe);
    gaze_wordpiece_free(t->wp);
    tok_marian_dec_free(t->marian);
    free(t->chat);
    free(t);
}

static enum gaze_status set_chat(struct gaze_tokenizer * t, const char * s, size_t n) {
    free(t->chat);
    t->chat = malloc(n + 1);
    if (!t->chat) return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory for the chat template");
    memcpy(t->chat, s, n);
    t->chat[n] = 0;
    return GAZE_OK;
}

/* ---- GGUF ------------------------------------------------------------------------------- */

// Optional token id key: *id stays as it is when the key is absent.
static enum gaze_status gguf_opt_id(const struct gaze_gguf * g, const char * key, int64_t V, int32_t * id) {
    if (gaze_gguf_find_key(g, key) < 0) return GAZE_OK;
    uint32_t v;
    enum gaze_status s = gaze_gguf_get_u32(g, key, &v);
    if (s) return s;
    if ((int64_t)v >= V)
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s = %u: out of range (vocab size %lld)", gaze_gguf_path(g), key, v,
                          (long long)V);
    *id = (int32_t)v;
    return GAZE_OK;
}

static enum gaze_status gguf_opt_bool(const struct gaze_gguf * g, const char * key, int32_t * flag) {
    if (gaze_gguf_find_key(g, key) < 0) return GAZE_OK;
    bool b;
    enum gaze_status s = gaze_gguf_get_bool(g, key, &b);
    if (!s) *flag = b;
    return s;
}

enum gaze_status gaze_tokenizer_from_gguf(const struct gaze_gguf * g, struct gaze_tokenizer ** out) {
    if (!g || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_from_gguf: NULL argument");
    *out = NULL;
    const char * path = gaze_gguf_path(g), * model;
    size_t model_len;
    enum gaze_status s = gaze_gguf_get_str(g, "tokenizer.ggml.model", &model, &model_len);
    if (s) return s;
    bool spm = model_len == 5 && !memcmp(model, "llama", 5);
    if (!spm && !(model_len == 4 && !memcmp(model, "gpt2", 4))) {
        char esc[96];
        gaze_term_escape(esc, sizeof esc, model, model_len);
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model \"%s\" is not supported (gpt2: byte-level "
                          "BPE, llama: SentencePiece)", path, esc);
    }
    const struct gaze_gguf_str * toks, * merges = NULL;
    int64_t n_tok, n_merges = 0;
    const char * pre = NULL;
    size_t pre_len = 0;
    if ((s = gaze_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n_tok))) return s;
    if (!spm && ((s = gaze_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len)) ||
                 (s = gaze_gguf_get_arr_str(g, "tokenizer.ggml.merges", &merges, &n_merges)))) return s;
    struct gaze_tokenizer * t = calloc(1, sizeof *t);
    const char ** tp = malloc((size_t)n_tok * sizeof *tp), ** mp = malloc((size_t)(n_merges + 1) * sizeof *mp);
    size_t * tl = malloc((size_t)n_tok * sizeof *tl), * ml = malloc((size_t)(n_merges + 1) * sizeof *ml);
    int32_t * types = malloc((size_t)n_tok * sizeof *types);
    float * scores = spm ? malloc((size_t)n_tok * sizeof *scores) : NULL;
    if (!t || !tp || !mp || !tl || !ml || !types || (spm && !scores)) {
        s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for the tokenizer (%lld tokens)", path, (long long)n_tok);
        goto done;
    }
    for (int64_t i = 0; i < n_tok; i++) { tp[i] = toks[i].s; tl[i] = toks[i].len; }
    for (int64_t i = 0; i < n_merges; i++) { mp[i] = merges[i].s; ml[i] = merges[i].len; }
    bool has_types = gaze_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0;
    if (has_types && (s = gaze_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", types, n_tok))) goto done;
    bool has_scores = spm && gaze_gguf_find_key(g, "tokenizer.ggml.scores") >= 0;
    if (has_scores && (s = gaze_gguf_get_arr_f32(g, "tokenizer.ggml.scores", scores, n_tok))) goto done;
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = n_tok; v.tokens = tp; v.token_lens = tl; v.token_types = has_types ? types : NULL;
    v.n_merges = n_merges; v.merges = mp; v.merge_lens = ml; v.pre = pre; v.pre_len = pre_len;
    v.model = spm ? "llama" : "gpt2";
    v.scores = has_scores ? scores : NULL;
    // llama.cpp's defaults: SPM has <unk> 0, <s> 1, </s> 2 unless the file says otherwise
    v.bos_id = v.eos_id = -1;
    t->sp.unk = t->sp.pad = -1;
    if (spm && n_tok > 2) { v.bos_id = 1; v.eos_id = 2; t->sp.unk = 0; }
    v.add_bos = v.add_space_prefix = -1;
    if ((s = gguf_opt_id(g, "tokenizer.ggml.bos_token_id", n_tok, &v.bos_id)) ||
        (s = gguf_opt_id(g, "tokenizer.ggml.eos_token_id", n_tok, &v.eos_id)) ||
        (s = gguf_opt_id(g, "tokenizer.ggml.unknown_token_id", n_tok, &t->sp.unk)) ||
        (s = gguf_opt_id(g, "tokenizer.ggml.padding_token_id", n_tok, &t->sp.pad)) ||
        (s = gguf_opt_bool(g, "tokenizer.ggml.add_bos_token", &v.add_bos)) ||
        (s = gguf_opt_bool(g, "tokenizer.ggml.add_eos_token", &v.add_eos)) ||
        (s = gguf_opt_bool(g, "tokenizer.ggml.add_space_prefix", &v.add_space_prefix))) goto done;
    if ((s = gaze_bpe_init(&t->bpe, &v))) goto done;
    t->kind = spm ? GAZE_TOKENIZER_SPM : GAZE_TOKENIZER_BPE;
    struct gaze_bpe_specials bs = gaze_bpe_specials(t->bpe);
    t->sp.bos = bs.bos;
    t->sp.eos = bs.eos;
    t->sp.add_bos = bs.add_bos;
    t->sp.add_eos = bpe_add_eos(t->bpe);
    if (gaze_gguf_find_key(g, "tokenizer.chat_template") >= 0) {
        const char * ct;
        size_t ct_len;
        if ((s = gaze_gguf_get_str(g, "tokenizer.chat_template", &ct, &ct_len)) || (s = set_chat(t, ct, ct_len))) goto done;
    } else if (gaze_gguf_find_key(g, "general.architecture") >= 0) {
        // a family whose official template gaze carries (Gemma 3: its GGUFs often have none)
        const char * arch, * bt;
        if ((s = gaze_gguf_get_str(g, "general.architecture", &arch, NULL))) goto done;
        if ((bt = gaze_chat_builtin_template(arch))) {
            if ((s = set_chat(t, bt, strlen(bt)))) goto done;
            t->chat_builtin = true;
        }
    }
done:
    free(tp); free(mp); free(tl); free(ml); free(types); free(scores);
    if (s) gaze_tokenizer_free(t);
    else *out = t;
    return s;
}

/* ---- Hugging Face folders ------------------------------------------------------------------ */

// tokenizer_config.json: the chat template (a string, or a list of {name, template} of which
// "default" is taken) and the add_bos/add_eos flags. A missing file is no error.
static enum gaze_status read_config(struct gaze_tokenizer * t, const char * dir, struct tok_config * cfg) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer_config.json", dir) >= sizeof path)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: path too long", dir);
    struct stat st;
    if (stat(path, &st) != 0) return GAZE_OK;
    json_t * root;   // no integer is read from it; transformers' default model_max_length exceeds int64
    enum gaze_status s = gaze_json_load_file_ex(&root, path, 0, 0, GAZE_JSON_INTS_AS_REAL);
    if (s) return s;
    const char * label = "tokenizer_config.json";
    json_t * ct = json_object_get(root, "chat_template");
    if (json_is_string(ct)) {
        s = set_chat(t, json_string_value(ct), json_string_length(ct));
    } else if (json_is_array(ct)) {
        size_t i;
        json_t * e;
        json_array_foreach(ct, i, e) {
            const char * name = json_string_value(json_object_get(e, "name"));
            json_t * tm = json_object_get(e, "template");
            if (name && !strcmp(name, "default") && json_is_string(tm)) s = set_chat(t, json_string_value(tm), json_string_length(tm));
        }
    } else if (ct && !json_is_null(ct)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: %s: field chat_template: expected string or array, got %s", path, label,
                       gaze_json_type_name(ct));
    }
    for (int k = 0; !s && k < 2; k++) {   // "<s>" or {"content": "<s>", ...}
        json_t * v = json_object_get(root, k ? "eos_token" : "bos_token");
        const char * text = json_is_object(v) ? json_string_value(json_object_get(v, "content")) : json_string_value(v);
        if (text && strlen(text) < sizeof cfg->bos) strcpy(k ? cfg->eos : cfg->bos, text);
    }
    for (int k = 0; !s && k < 2; k++) {
        const char * key = k ? "add_eos_token" : "add_bos_token";
        json_t * v = json_object_get(root, key);
        int32_t * flag = k ? &cfg->add_eos : &cfg->add_bos;
        if (!v || json_is_null(v)) continue;
        if (!json_is_boolean(v))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: field %s: expected boolean, got %s", path, key, gaze_json_type_name(v));
        else *flag = json_is_true(v);
    }
    json_decref(root);
    return s;
}

// The model type of a tokenizer.json, to pick the engine.
static enum gaze_status json_model_type(const char * path, json_t ** root, const char ** type) {
    enum gaze_status s = gaze_json_load_file(root, path, 0, 0);
    if (s) return s;
    json_t * model;
    if ((s = gaze_json_get_object(*root, "model", path, &model)) ||
        (s = gaze_json_opt_string(model, "type", path, "BPE", type))) { json_decref(*root); *root = NULL; }
    return s;
}

static enum gaze_status from_json_file(const char * file, const char * dir, struct gaze_tokenizer ** out) {
    struct gaze_tokenizer * t = calloc(1, sizeof *t);
    if (!t) return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory");
    t->sp = (struct gaze_tokenizer_specials){ -1, -1, -1, -1, false, false };
    struct tok_config cfg = { -1, -1, "", "" };
    json_t * root = NULL;
    const char * type;
    enum gaze_status s;
    if ((s = read_config(t, dir, &cfg)) || (s = json_model_type(file, &root, &type))) goto done;
    if (!strcmp(type, "WordPiece")) {
        if ((s = gaze_wordpiece_init(&t->wp, file))) goto done;
        t->kind = GAZE_TOKENIZER_WORDPIECE;
        struct gaze_wordpiece_specials ws = gaze_wordpiece_specials(t->wp);
        t->sp = (struct gaze_tokenizer_specials){ ws.cls, ws.sep, ws.pad, ws.unk, true, true };
    } else if (!strcmp(type, "BPE")) {
        struct tok_json_info info;
        if ((s = tok_json_bpe(root, file, &cfg, &t->bpe, &info))) goto done;
        t->kind = info.spm ? GAZE_TOKENIZER_SPM : GAZE_TOKENIZER_BPE;
        struct gaze_bpe_specials bs = gaze_bpe_specials(t->bpe);
        t->sp = (struct gaze_tokenizer_specials){ bs.bos, bs.eos, info.pad, info.unk, bs.add_bos, bpe_add_eos(t->bpe) };
    } else if (!strcmp(type, "Unigram")) {
        struct tok_json_info info;
        if ((s = tok_json_unigram(root, file, &cfg, &t->bpe, &info))) goto done;
        t->kind = GAZE_TOKENIZER_UNIGRAM;
        struct gaze_bpe_specials bs = gaze_bpe_specials(t->bpe);
        t->sp = (struct gaze_tokenizer_specials){ bs.bos, bs.eos, info.pad, info.unk, bs.add_bos, bpe_add_eos(t->bpe) };
    } else {
        char esc[64];
        gaze_term_escape(esc, sizeof esc, type, strlen(type));
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: model type \"%s\" is not supported yet (BPE, Unigram, WordPiece)", file, esc);
    }
done:
    json_decref(root);
    if (s) gaze_tokenizer_free(t);
    else *out = t;
    return s;
}

enum gaze_status tok_from_json_buffer(const char * buf, size_t n, const char * label, struct gaze_tokenizer ** out) {
    if (!out || (!buf && n) || !label) return gaze_error(GAZE_ERR_INVALID_ARG, "tok_from_json_buffer: NULL argument");
    *out = NULL;
    json_t * root;
    enum gaze_status s = gaze_json_load_buffer(&root, buf ? buf : "", n, label, 0, 0);
    if (s) return s;
    json_t * model;
    const char * type;
    struct gaze_tokenizer * t = NULL;
    if ((s = gaze_json_get_object(root, "model", label, &model)) || (s = gaze_json_opt_string(model, "type", label, "BPE", &type)))
        goto done;
    if (!(t = calloc(1, sizeof *t))) { s = gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory"); goto done; }
    if (!strcmp(type, "WordPiece")) {
        if ((s = gaze_wordpiece_init_json(&t->wp, buf, n, label))) goto done;
        t->kind = GAZE_TOKENIZER_WORDPIECE;
        struct gaze_wordpiece_specials ws = gaze_wordpiece_specials(t->wp);
        t->sp = (struct gaze_tokenizer_specials){ ws.cls, ws.sep, ws.pad, ws.unk, true, true };
    } else if (!strcmp(type, "BPE")) {
        struct tok_config cfg = { -1, -1, "", "" };
        struct tok_json_info info;
        if ((s = tok_json_bpe(root, label, &cfg, &t->bpe, &info))) goto done;
        t->kind = info.spm ? GAZE_TOKENIZER_SPM : GAZE_TOKENIZER_BPE;
        struct gaze_bpe_specials bs = gaze_bpe_specials(t->bpe);
        t->sp = (struct gaze_tokenizer_specials){ bs.bos, bs.eos, info.pad, info.unk, bs.add_bos, bpe_add_eos(t->bpe) };
    } else if (!strcmp(type, "Unigram")) {
        struct tok_config cfg = { -1, -1, "", "" };
        struct tok_json_info info;
        if ((s = tok_json_unigram(root, label, &cfg, &t->bpe, &info))) goto done;
        t->kind = GAZE_TOKENIZER_UNIGRAM;
        struct gaze_bpe_specials bs = gaze_bpe_specials(t->bpe);
        t->sp = (struct gaze_tokenizer_specials){ bs.bos, bs.eos, info.pad, info.unk, bs.add_bos, bpe_add_eos(t->bpe) };
    } else {
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: model type is not supported yet (BPE, Unigram, WordPiece)", label);
    }
done:
    json_decref(root);
    if (s) gaze_tokenizer_free(t);
    else *out = t;
    return s;
}

enum gaze_status gaze_tokenizer_from_folder(const char * dir, struct gaze_tokenizer ** out) {
    if (!dir || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_from_folder: NULL argument");
    *out = NULL;
    char file[4096];
    struct stat st;
    if ((size_t)snprintf(file, sizeof file, "%s/tokenizer.json", dir) >= sizeof file)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: path too long", dir);
    if (stat(file, &st) == 0) return from_json_file(file, dir, out);
    if (tok_marian_folder(dir)) {   // Marian: source.spm, target.spm, vocab.json
        struct gaze_tokenizer * t = calloc(1, sizeof *t);
        if (!t) return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory");
        struct tok_marian_info mi;
        enum gaze_status s = tok_marian_load(dir, &t->bpe, &mi);
        if (!s) s = tok_marian_decoder(dir, &t->marian);
        if (s) { gaze_tokenizer_free(t); return s; }
        t->kind = GAZE_TOKENIZER_UNIGRAM;
        t->sp = (struct gaze_tokenizer_specials){ -1, mi.eos, mi.pad, mi.unk, false, true };
        *out = t;
        return GAZE_OK;
    }
    // no tokenizer.json: a BERT vocab.txt folder (gaze_wordpiece_init reports what is missing)
    struct gaze_tokenizer * t = calloc(1, sizeof *t);
    if (!t) return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory");
    enum gaze_status s = gaze_wordpiece_init(&t->wp, dir);
    struct tok_config cfg = { -1, -1, "", "" };
    if (!s) s = read_config(t, dir, &cfg);
    if (s) { gaze_tokenizer_free(t); return s; }
    t->kind = GAZE_TOKENIZER_WORDPIECE;
    struct gaze_wordpiece_specials ws = gaze_wordpiece_specials(t->wp);
    t->sp = (struct gaze_tokenizer_specials){ ws.cls, ws.sep, ws.pad, ws.unk, true, true };
    *out = t;
    return GAZE_OK;
}

enum gaze_status gaze_tokenizer_open(const char * path, struct gaze_tokenizer ** out) {
    if (!path || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_open: NULL argument");
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return gaze_tokenizer_from_folder(path, out);
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".json")) {   // a tokenizer.json: its folder has the config
        char dir[4096];
        const char * slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) : 1;
        if (dl >= sizeof dir) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: path too long", path);
        memcpy(dir, slash ? path : ".", dl);
        dir[dl] = 0;
        if (slash && dl == 0) strcpy(dir, "/");
        return from_json_file(path, dir, out);
    }
    struct gaze_gguf * g;
    enum gaze_status s = gaze_gguf_open(path, &g);
    if (s) return s;
    s = gaze_tokenizer_from_gguf(g, out);
    gaze_gguf_free(g);
    return s;
}

/* ---- queries ------------------------------------------------------------------------------ */

enum gaze_tokenizer_kind gaze_tokenizer_kind(const struct gaze_tokenizer * t) { return t ? t->kind : 0; }
const struct gaze_bpe * gaze_tokenizer_bpe(const struct gaze_tokenizer * t) { return t ? t->bpe : NULL; }
const char * gaze_tokenizer_chat_template(const struct gaze_tokenizer * t) { return t ? t->chat : NULL; }
bool gaze_tokenizer_chat_template_builtin(const struct gaze_tokenizer * t) { return t && t->chat && t->chat_builtin; }

struct gaze_tokenizer_specials gaze_tokenizer_specials(const struct gaze_tokenizer * t) {
    struct gaze_tokenizer_specials none = { -1, -1, -1, -1, false, false };
    return t ? t->sp : none;
}

bool gaze_tokenizer_is_eog(const struct gaze_tokenizer * t, int32_t id) {
    if (!t || id < 0 || id >= gaze_tokenizer_vocab_size(t)) return false;
    if (id == t->sp.eos) return true;
    if (gaze_tokenizer_token_type(t, id) != GAZE_BPE_TOKEN_TYPE_CONTROL) return false;
    static const char * const k_eog[] = { "<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|eom_id|>",
                                          "<|endoftext|>", "<|end_of_text|>", "</s>" };
    const char * s = gaze_tokenizer_token(t, id, NULL);
    for (size_t i = 0; s && i < sizeof k_eog / sizeof *k_eog; i++)
        if (!strcmp(s, k_eog[i])) return true;
    return false;
}

int32_t gaze_tokenizer_vocab_size(const struct gaze_tokenizer * t) {
    if (!t) return 0;
    return t->bpe ? gaze_bpe_vocab_size(t->bpe) : gaze_wordpiece_vocab_size(t->wp);
}

const char * gaze_tokenizer_token(const struct gaze_tokenizer * t, int32_t id, size_t * len) {
    if (!t) { if (len) *len = 0; return NULL; }
    if (t->bpe) return gaze_bpe_token(t->bpe, id, len);
    const char * s = gaze_wordpiece_token(t->wp, id);
    if (len) *len = s ? strlen(s) : 0;
    return s;
}

const char * gaze_tokenizer_token_piece(const struct gaze_tokenizer * t, int32_t id, size_t * len) {
    if (!t) { if (len) *len = 0; return NULL; }
    if (t->bpe) return gaze_bpe_token_piece(t->bpe, id, len);
    const char * s = gaze_wordpiece_token(t->wp, id);
    if (s && s[0] == '#' && s[1] == '#' && s[2]) s += 2;   // a word continuation
    if (len) *len = s ? strlen(s) : 0;
    return s;
}

int32_t gaze_tokenizer_token_id(const struct gaze_tokenizer * t, const char * s, size_t n) {
    if (!t || !s) return -1;
    return t->bpe ? gaze_bpe_token_id(t->bpe, s, n) : gaze_wordpiece_token_id(t->wp, s, n);
}

int gaze_tokenizer_token_display(const struct gaze_tokenizer * t, int32_t id, char * out, size_t cap, int max_cols) {
    size_t n;
    const char * p = gaze_tokenizer_token_piece(t, id, &n);
    if (!p) return gaze_token_display(out, cap, "", max_cols);
    if (!n || gaze_utf8_first_invalid(p, n) < n || memchr(p, 0, n)) p = gaze_tokenizer_token(t, id, &n);
    char buf[256];
    char * tmp = n < sizeof buf ? buf : malloc(n + 1);
    if (!tmp) return gaze_token_display(out, cap, "", max_cols);
    memcpy(tmp, p, n);
    tmp[n] = 0;
    int cols = gaze_token_display(out, cap, tmp, max_cols);
    if (tmp != buf) free(tmp);
    return cols;
}

enum gaze_bpe_token_type gaze_tokenizer_token_type(const struct gaze_tokenizer * t, int32_t id) {
    if (!t || id < 0 || id >= gaze_tokenizer_vocab_size(t)) return GAZE_BPE_TOKEN_TYPE_UNDEFINED;
    if (t->bpe) return gaze_bpe_token_type(t->bpe, id);
    struct gaze_wordpiece_specials ws = gaze_wordpiece_specials(t->wp);
    if (id == ws.unk) return GAZE_BPE_TOKEN_TYPE_UNKNOWN;
    if (id == ws.cls || id == ws.sep || id == ws.pad || id == ws.mask) return GAZE_BPE_TOKEN_TYPE_CONTROL;
    return GAZE_BPE_TOKEN_TYPE_NORMAL;
}

static bool wp_continues(const struct gaze_tokenizer * t, int32_t id) {
    const char * s = gaze_wordpiece_token(t->wp, id);
    return s && s[0] == '#' && s[1] == '#' && s[2];
}

static bool wp_hidden(const struct gaze_tokenizer * t, int32_t id) {
    enum gaze_bpe_token_type ty = gaze_tokenizer_token_type(t, id);
    return ty == GAZE_BPE_TOKEN_TYPE_CONTROL || ty == GAZE_BPE_TOKEN_TYPE_UNKNOWN;
}

/* ---- encode / decode ---------------------------------------------------------------------- */

enum gaze_status gaze_tokenizer_encode(const struct gaze_tokenizer * t, const char * text, size_t n,
                                       const struct gaze_tokenizer_encode_opts * opts, struct gaze_encoding * enc) {
    if (!t || !enc || (!text && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_encode: NULL argument");
    static const struct gaze_tokenizer_encode_opts defaults = { 0 };
    if (!opts) opts = &defaults;
    if (t->bpe) {
        struct gaze_bpe_encode_opts o = { 0 };
        o.max_len = opts->max_len;
        o.no_special = opts->no_special;
        o.no_parse_special = opts->no_parse_special;
        o.replace_invalid = opts->replace_invalid;
        return gaze_bpe_encode(t->bpe, text, n, &o, enc);
    }
    struct gaze_encode_opts o = { 0 };
    o.max_len = opts->max_len;
    o.no_special = opts->no_special;
    return gaze_wordpiece_encode(t->wp, text ? text : "", n, NULL, 0, &o, enc);
}

enum gaze_status gaze_tokenizer_decode(const struct gaze_tokenizer * t, const int32_t * ids, int64_t n, bool skip_special,
                                       char ** out, size_t * out_len) {
    if (!t || !out || (!ids && n > 0) || n < 0) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_decode: bad argument");
    if (t->marian) return tok_marian_decode(t->marian, t->bpe, ids, n, skip_special, out, out_len);
    if (t->bpe) return gaze_bpe_decode(t->bpe, ids, n, skip_special, out, out_len);
    *out = NULL;
    size_t total = 1;
    int32_t V = gaze_tokenizer_vocab_size(t);
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= V)
            return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_decode: ids[%lld] = %d: out of range (vocab size %d)",
                              (long long)i, ids[i], V);
        size_t l;
        gaze_tokenizer_token_piece(t, ids[i], &l);
        total += l + 1;
    }
    char * s = malloc(total);
    if (!s) return gaze_error(GAZE_ERR_NOMEM, "gaze_tokenizer_decode: out of memory for %zu bytes", total);
    size_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        if (skip_special && wp_hidden(t, ids[i])) continue;
        size_t l;
        const char * p = gaze_tokenizer_token_piece(t, ids[i], &l);
        if (o && !wp_continues(t, ids[i])) s[o++] = ' ';
        memcpy(s + o, p, l);
        o += l;
    }
    s[o] = 0;
    *out = s;
    if (out_len) *out_len = o;
    return GAZE_OK;
}

/* ---- streaming ---------------------------------------------------------------------------- */

struct gaze_tokenizer_stream {
    const struct gaze_tokenizer * tok;
    struct gaze_bpe_stream * bpe;      // BPE/SPM
    char * buf;                        // WordPiece: " " + piece
    size_t cap;
    bool   started;                    // WordPiece: a word was given out already
};

enum gaze_status gaze_tokenizer_stream_init(struct gaze_tokenizer_stream ** out, const struct gaze_tokenizer * t) {
    if (!out || !t) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_stream_init: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return gaze_error(GAZE_ERR_NOMEM, "gaze_tokenizer_stream_init: out of memory");
    (*out)->tok = t;
    enum gaze_status s = t->bpe ? gaze_bpe_stream_init(&(*out)->bpe, t->bpe) : GAZE_OK;
    if (s) { free(*out); *out = NULL; }
    return s;
}

void gaze_tokenizer_stream_free(struct gaze_tokenizer_stream * st) {
    if (!st) return;
    gaze_bpe_stream_free(st->bpe);
    free(st->buf);
    free(st);
}

enum gaze_status gaze_tokenizer_stream_push(struct gaze_tokenizer_stream * st, int32_t id, const char ** text, size_t * len) {
    if (!st || !text || !len) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_stream_push: NULL argument");
    if (st->bpe) return gaze_bpe_stream_push(st->bpe, id, text, len);
    const struct gaze_tokenizer * t = st->tok;
    *text = "";
    *len = 0;
    if (id < 0 || id >= gaze_tokenizer_vocab_size(t))
        return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_stream_push: id %d out of range", id);
    if (wp_hidden(t, id)) return GAZE_OK;
    size_t l;
    const char * p = gaze_tokenizer_token_piece(t, id, &l);
    if (l + 2 > st->cap) {
        char * b = realloc(st->buf, l + 2);
        if (!b) return gaze_error(GAZE_ERR_NOMEM, "gaze_tokenizer_stream_push: out of memory");
        st->buf = b;
        st->cap = l + 2;
    }
    size_t o = 0;
    if (st->started && !wp_continues(t, id)) st->buf[o++] = ' ';
    memcpy(st->buf + o, p, l);
    st->started = true;
    *text = st->buf;
    *len = o + l;
    return GAZE_OK;
}

enum gaze_status gaze_tokenizer_stream_finish(struct gaze_tokenizer_stream * st, const char ** text, size_t * len) {
    if (!st || !text || !len) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_tokenizer_stream_finish: NULL argument");
    if (st->bpe) return gaze_bpe_stream_finish(st->bpe, text, len);
    *text = "";
    *len = 0;
    return GAZE_OK;
}
