// Internal: one encoder-decoder transformer (cross-attention), described by data. Every family
// (T5 / Flan-T5, BART, Marian) is a struct s2s_config plus per-layer weights; the loaders fill
// them (seq2seq_t5.c, seq2seq_bart.c: BART and Marian share their layout) and seq2seq.c runs the
// one forward pass: the encoder once, then the decoder one token at a time with a KV cache for
// its self-attention and the cross-attention keys/values computed once from the encoder output.
// Every attention goes through gaze_mha_forward_ex (cross-attention: gaze_mha_extra.cross_k/v;
// T5's relative position bias: the mask's additive bias, inside the fused kernel), so captured
// weights are the probe's, the softmax the model used.
#ifndef GAZE_MODELS_SEQ2SEQ_H
#define GAZE_MODELS_SEQ2SEQ_H
#include "models/encoder.h"
#include "formats/json.h"

enum s2s_norm {
    S2S_NORM_RMS = 0,        // T5LayerNorm: x / sqrt(mean(x²) + eps) · w, no mean, no bias
    S2S_NORM_LAYER,          // LayerNorm with bias (BART, Marian)
};

enum s2s_act {
    S2S_ACT_RELU = 0,
    S2S_ACT_GELU_ERF,        // "gelu"
    S2S_ACT_GELU_TANH,       // "gelu_new" (T5 v1.1 / Flan gated-gelu)
    S2S_ACT_SILU,            // "swish" / "silu" (Marian)
};

enum s2s_pos {
    S2S_POS_RELATIVE = 0,    // T5: bucketed relative position bias, layer 0's table shared by all
    S2S_POS_LEARNED,         // BART: learned table, positions offset by pos_offset (2)
    S2S_POS_SINUSOIDAL,      // Marian: static sin | cos halves, computed at load
};

struct s2s_config {
    const char * arch;                // "t5", "bart", "marian"
    int64_t C, d, dd;                 // d_model, encoder / decoder head dim (BART's may differ)
    int64_t V, Vd;                    // encoder / decoder vocabulary (rows of the embeddings)
    int64_t Le, He, Fe;               // encoder layers, heads, FFN width
    int64_t Ld, Hd, Fd;               // decoder layers, heads, FFN width
    float   eps;
    enum s2s_norm norm;
    bool    pre_ln;                   // T5: x += f(norm(x)); BART/Marian: x = norm(x + f(x))
    enum s2s_act act;
    bool    gated;                    // T5 gated-*: wo(act(wi_0 x) ⊙ wi_1 x)
    enum s2s_pos pos;
    int64_t n_pos;                    // rows of the learned / sinusoidal table
    int64_t pos_offset;               // BART: 2
    int64_t n_buckets, max_distance;  // T5 relative attention
    float   embd_scale;               // 1 or sqrt(C) (scale_embedding)
    float   attn_scale;               // 0: 1/sqrt(d); T5: 1 (no scaling)
    float   out_scale;                // T5 with tied embeddings: C^-0.5 before lm_head; else 1
    int32_t dec_start, eos;           // decoder_start_token_id, eos_token_id
    int32_t forced_bos, forced_eos;   // -1: none (generation_config.json, else config.json)
    // transformers' other greedy logits processors the folder asks for (0 / 1: off)
    int64_t no_repeat_ngram;          // no_repeat_ngram_size
    int64_t min_length, min_new;      // min_length (with the start token), min_new_tokens
    float   rep_penalty;              // repetition_penalty (1: none)
    int32_t bad_ids[256];             // bad_words_ids of one token each (longer ones are refused)
    int     n_bad;
    // beam search (generation_config.json, else config.json): num_beams (1: greedy), the
    // length_penalty exponent, early_stopping 0 false (the heuristic), 1 true, 2 "never"
    int64_t num_beams;
    double  length_penalty;
    int     early_stopping;
};

struct s2s_attn {
    struct gaze_linear q, k, v, o;    // [H·d, C] ×3, [C, H·d]
    const float * norm_w, * norm_b;   // [C]: before (pre-LN) or after (post-LN) the block
};

struct s2s_layer {
    struct s2s_attn self, cross;      // cross: decoder layers only
    struct gaze_linear gate, up, down;   // gate [F, C] (gated only), up [F, C], down [C, F]
    const float * ffn_norm_w, * ffn_norm_b;
};

struct s2s_stack {                    // the encoder or the decoder
    const float * embd;               // [V or Vd, C]
    int64_t embd_off;                 // > 0: rows are read with pread from the file (shard) at this
    int embd_fd;                      // offset, embd_fd, not through the mapping (see s2s_load); or -1
    const float * pos;                // [n_pos, C] learned or sinusoidal; NULL for T5
    const float * rel;                // [n_buckets, H] T5 relative attention bias of layer 0
    const float * embd_norm_w, * embd_norm_b;    // BART layernorm_embedding, or NULL
    const float * final_norm_w, * final_norm_b;  // T5 final_layer_norm, or NULL
    struct s2s_layer * layers;
};

struct s2s {
    struct s2s_config cfg;
    struct s2s_stack enc, dec;
    struct gaze_linear lm_head;       // [Vd, C]
    const float * logits_bias;        // [Vd] BART/Marian final_logits_bias, or NULL
    struct enc_weights w;             // the mapped model.safetensors and converted tensors
    float * pos_table;                // owned sinusoidal table
    char arch[16];
};

// The gaze_model of such a folder (seq2seq_model.c): tokenizer, gaze run with the three kinds.
enum gaze_status s2s_model_load(struct gaze_model * model, const char * folder);
// Loads a Hugging Face folder whose config.json model_type is t5, bart or marian.
enum gaze_status s2s_load(const char * folder, struct s2s ** out);
void s2s_free(struct s2s * m);
// Drops this process's mapping of the file pages of what is read so far: packed linear weights
// and the embedding tables (read a row per token). Safe to call again; loaders call it per layer.
void s2s_drop_mapped(const struct s2s * m);
// True when folder/config.json names an encoder-decoder family (supported or not).
bool s2s_is_seq2seq(const char * folder);

// Family loaders (seq2seq_t5.c, seq2seq_bart.c): fill m->cfg and the weights from the open
// config (label: the config.json path) and m->w.
enum gaze_status s2s_load_t5(struct s2s * m, const json_t * cfg, const char * label);
enum gaze_status s2s_load_bart(struct s2s * m, const json_t * cfg, const char * label, bool marian);

// Shared loader pieces: a vector [n] / matrix [n0, n1] read checked (enc_tensor), a linear
// with optional bias prepared for the GEMM, the first present of several names (NULL if none).
const char * s2s_first_present(const struct s2s * m, const char * const * names, int n);
enum gaze_status s2s_norm_pair(struct s2s * m, const char * base, bool bias, const float ** w, const float ** b);
// The embedding table `names` (first present) as [V, C], its rows checked against config.json's
// vocab_size (`field`) so a mismatch names both files.
enum gaze_status s2s_embedding(struct s2s * m, const char * const * names, int n, int64_t V, const char * label,
                               const char * field, const float ** out);

// What a generation captured. Decoder rows are the decoder's inputs: the start token then every
// generated token (the last one fed too, so rows = ids), as transformers' teacher-forced pass
// over the generated sequence.
struct s2s_result {
    int64_t Ts, Tt;                   // source tokens, decoder rows
    int32_t * ids;                    // [Tt] decoder inputs (ids[0] = decoder start)
    float * enc;                      // [Le, He, Ts, Ts] encoder self-attention
    float * dec;                      // [Ld, Hd, Tt, Tt] decoder self-attention (0 above the diagonal)
    float * cross;                    // [Ld, Hd, Tt, Ts] cross-attention
    float * logits;                   // [Tt, Vd]
};
void s2s_result_free(struct s2s_result * r);

// Greedy generation of up to max_new tokens from src [Ts] (ids), stopping at EOS; forced BOS /
// EOS as transformers' processors. capture: fill enc/dec/cross (else NULL); logits always.
enum gaze_status s2s_generate(const struct s2s * m, const int32_t * src, int64_t Ts, int64_t max_new, bool capture,
                              int n_threads, struct s2s_result * r);

// How s2s_generate_ex decodes.
struct s2s_gen {
    int beams;                        // <= 1: greedy; 2..S2S_MAX_BEAMS: beam search
    const int32_t * force;            // teacher forcing: the decoder inputs [n_force] (force[0] the
    int64_t n_force;                  // start token) instead of choosing; NULL: none
    // each generated token as it is chosen, before the next decoder step runs (greedy); beam
    // search calls it for the winner's tokens once the search is over. r: the result so far.
    void (*on_token)(void * user, int64_t step, int32_t id, const struct s2s_result * r);
    void * user;
};
#define S2S_MAX_BEAMS 5
// s2s_generate with options. Beam search is transformers' (BeamSearchScorer: log-softmax
// scores, the folder's processors, top 2·beams candidates, EOS hypotheses normalised by
// length^length_penalty, early_stopping); the winner is then rerun teacher-forced (force) so
// its captured attention and logits are exactly those of one pass over the chosen sequence.
enum gaze_status s2s_generate_ex(const struct s2s * m, const int32_t * src, int64_t Ts, int64_t max_new, bool capture,
                                 int n_threads, const struct s2s_gen * g, struct s2s_result * r);
// What s2s_generate will allocate for Ts source tokens and max_new new ones, in bytes (weights
// aside): *cap the captured arrays, *kv the self and cross keys/values; the rest activations.
double s2s_generate_bytes(const struct s2s * m, int64_t Ts, int64_t max_new, bool capture, double * cap, double * kv);

// T5's bucket of relative position k - q (transformers' _relative_position_bucket).
int64_t s2s_t5_bucket(int64_t rel, bool bidirectional, int64_t n_buckets, int64_t max_distance);
#endif
