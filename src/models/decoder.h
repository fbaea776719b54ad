// Internal: one decoder-only transformer, described by data. Every family (Llama 2/3, Mistral,
// Qwen2/3, Gemma 1-3, Phi-3, GPT-2, GPT-NeoX/Pythia) is a struct decoder_config plus per-layer
// weights; the loaders fill them (decoder_gguf.c from GGUF files, decoder_hf.c from Hugging
// Face folders) and decoder.c runs the one forward pass, generation and capture.
//
// Conventions: weights [n_out, n_in] row-major as struct gaze_linear expects (loaders
// transpose GPT-2's Conv1D and reorder fused QKV layouts at load); norm vectors are f32 and
// already in the form the forward applies (a loader of Gemma's HF weights, stored as w with
// y = x·(1 + w), may either set norm = DEC_NORM_RMS_PLUS1 or add 1 itself; GGUF files of
// Gemma already hold 1 + w).
#ifndef GAZE_MODELS_DECODER_H
#define GAZE_MODELS_DECODER_H
#include "models/model.h"

enum decoder_norm {
    DEC_NORM_RMS = 0,        // y = x / rms(x) · w                     (Llama, Qwen, Mistral, Phi-3)
    DEC_NORM_RMS_PLUS1,      // y = x / rms(x) · (1 + w)               (Gemma HF weights)
    DEC_NORM_LAYER,          // y = (x − mean) / std · w + b           (GPT-2, GPT-NeoX)
};

enum decoder_act {
    DEC_ACT_SWIGLU = 0,      // down(silu(gate(x)) ⊙ up(x))            (Llama, Qwen, Mistral, Phi-3)
    DEC_ACT_GEGLU_TANH,      // down(gelu_tanh(gate(x)) ⊙ up(x))       (Gemma)
    DEC_ACT_GELU_TANH,       // down(gelu_tanh(up(x)))                 (GPT-2)
    DEC_ACT_GELU_ERF,        // down(gelu_erf(up(x)))                  (GPT-NeoX / Pythia)
};

enum decoder_rope_scaling {
    DEC_ROPE_SCALE_NONE = 0,
    DEC_ROPE_SCALE_LINEAR,   // positions / factor
    DEC_ROPE_SCALE_LLAMA3,   // Llama 3.1: per-frequency factors (or GGUF rope_freqs)
    DEC_ROPE_SCALE_YARN,     // YaRN: ramped interpolation + attention factor
};

struct decoder_rope {
    enum gaze_rope_layout layout;     // NONE (learned positions), INTERLEAVED (GGUF Llama), NEOX
    int64_t dim;                      // rotated dims per head (partial rotary: Pythia, Phi-3 variants)
    float   base;                     // theta of global layers
    float   base_local;               // theta of sliding-window layers (Gemma 3: 10000); 0 = base
    enum decoder_rope_scaling scaling;
    float   factor;                   // linear / llama3 / yarn factor
    float   low_freq_factor, high_freq_factor;   // llama3
    int64_t original_ctx;             // llama3 / yarn: original_max_position_embeddings
    float   yarn_beta_fast, yarn_beta_slow, yarn_attn_factor;
    const float * freq_factors;       // [dim / 2] divisors of each frequency (GGUF rope_freqs), or NULL
};

struct decoder_config {
    const char * arch;                // the family as the file names it ("llama", "gemma3", "gpt2")
    int64_t C;                        // hidden size
    int64_t L, H, Hkv, d;             // layers, query heads, kv heads, head dim (d may be != C / H)
    int64_t F;                        // MLP inner size
    int64_t V;                        // vocabulary (rows of the embedding)
    int64_t n_ctx;                    // context the model was trained for
    float   eps;
    enum decoder_norm norm;
    enum decoder_act  act;
    bool    parallel_residual;        // x + attn(n1(x)) + mlp(n2(x)) (GPT-NeoX use_parallel_residual)
    bool    shared_input_norm;        // parallel block with one norm for both (Phi-2 style); else n2
    bool    post_norms;               // Gemma 2/3: norm the attention and MLP outputs before the add
    bool    qk_norm;                  // Qwen3, Gemma 3: RMSNorm over each head's q and k (weights [d])
    float   embd_scale;               // multiply embeddings (Gemma: sqrt(C), rounded as the family does); 0 = 1
    float   attn_scale;               // 0: 1/sqrt(d); Gemma: query_pre_attn_scalar^-1/2
    float   attn_softcap;             // 0: none; Gemma 2: scores = c·tanh(s / c)
    float   final_softcap;            // 0: none; Gemma 2: logits = c·tanh(z / c)
    struct decoder_rope rope;
    int64_t window;                   // sliding window (keys within `window` before the query, itself
                                      // included, as transformers counts it) of local layers; 0 = none
    const uint8_t * layer_local;      // [L] 1 = sliding-window layer; NULL: every layer local if
                                      // window > 0 (Mistral), else all global
};

struct decoder_layer {
    const float * attn_norm, * attn_norm_b;       // [C] (bias: LayerNorm only, else NULL)
    const float * post_attn_norm;                 // [C] post_norms only
    const float * ffn_norm, * ffn_norm_b;         // [C]
    const float * post_ffn_norm;                  // [C] post_norms only
    const float * q_norm, * k_norm;               // [d] qk_norm only
    struct gaze_linear q, k, v, o;                // [H·d, C], [Hkv·d, C] ×2, [C, H·d]; bias optional
    struct gaze_linear gate, up, down;            // [F, C] (gate unused without a GLU), [F, C], [C, F]
};

struct decoder_weights {
    struct gaze_linear tok_embd;                  // [V, C] rows read one at a time (any type)
    const float * pos_embd;                       // [n_ctx, C] learned positions (GPT-2), or NULL
    const float * output_norm, * output_norm_b;   // [C]
    struct gaze_linear output;                    // [V, C]: its own weight or the tied embedding
    struct decoder_layer * layers;                // [L]
};

// The loaded model every loader fills and decoder_finish completes: the description above, the
// tokenizer, and what keeps the weights alive (the mapped file, buffers converted at load).
struct decoder {
    struct decoder_config cfg;
    struct decoder_weights w;
    struct gaze_tokenizer * tok;                  // owned (byte-level BPE or SentencePiece)
    enum gaze_arch arch_id;                       // GAZE_ARCH_LLAMA for "llama", else DECODER
    char arch[32];                                // cfg.arch points here
    void * file;                                  // the mapped file (GGUF, safetensors shards)
    void (*free_file)(void * file);
    void ** owned;                                // buffers the loader converted (decoder_alloc)
    int64_t n_owned;
    uint8_t * layer_local;                        // [L] owned copy of cfg.layer_local
    int64_t * info_window;                        // [L] gaze_model_info.layer_window
    float * info_rope_base;                       // [L] gaze_model_info.layer_rope_base
    float * inv_freq, * inv_freq_local;           // [rope.dim / 2] each (local: NULL = global's)
    float rope_mscale;                            // YaRN attention factor; 1 otherwise
    // exact mode: f32 copies of every linear weight while on
    struct decoder_layer * quant_layers;
    struct gaze_linear quant_output;
    float * exact_buf;
    int64_t load_bytes_before;                    // progress: bytes a loader reported before
    int32_t stop_ids[8];                          // generation also ends at these (config.json
    int n_stop;                                   // eos_token_id), besides the tokenizer's EOS
};

// Zeroed floats the model owns (freed with it); NULL after recording GAZE_ERR_NOMEM.
float * decoder_alloc(struct decoder * m, size_t n);
// Checks the description (shapes, ranges, every weight present for the features asked),
// computes the RoPE frequencies, prepares the weights and makes model run it. Takes m (freed
// on failure too).
enum gaze_status decoder_finish(struct gaze_model * model, struct decoder * m);
void decoder_free(void * m);
// Bytes decoder_finish prepares (its share of the loading progress).
int64_t decoder_prepare_bytes(struct decoder * m);

// For tests: runs ids [T] through the model (no capture) and writes the last position's
// logits [V] (after final soft-capping).
enum gaze_status decoder_eval_ids(struct gaze_model * model, const int32_t * ids, int64_t T, float * logits);

// Loaders (decoder_gguf.c, decoder_hf.c).
enum gaze_status decoder_gguf_load(struct gaze_model * model, const char * gguf_path);
enum gaze_status decoder_hf_load(struct gaze_model * model, const char * folder);
// The config.json model_type of a Hugging Face folder, when it names a decoder family gaze runs
// (or refuses by name): true; BERT and folders without one: false.
bool decoder_hf_is_decoder(const char * folder);
#endif
