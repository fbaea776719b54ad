// Internal: what the encoder families (BERT and its kin, ViT/DeiT/DINOv2) share: reading checked f32
// weights from a safetensors file, the transformer encoder layer (post-LN as BERT, pre-LN as
// ViT, optional layer scale as DINOv2) with exact capture, the attribution and knockout hooks,
// and a pool of run workspaces.
#ifndef GAZE_MODELS_ENCODER_H
#define GAZE_MODELS_ENCODER_H
#include "models/model.h"
#include "formats/st_shards.h"
#include <pthread.h>

// Weights of one safetensors file under a name prefix ("", "bert.", "vit.", ...).
struct enc_weights {
    struct gaze_safetensors * st;
    struct st_shards * set;            // or a folder's shards (owned; seq2seq), st NULL
    const char * prefix;
    const char * arch;                 // names the family in messages ("bert", "vit")
    float ** owned;                    // converted (non-F32 or unaligned) tensors and vector copies
    int64_t  n_owned;
};
void enc_weights_free(struct enc_weights * w);
// The tensor named full (prefix included) in st or the shard set; NULL when absent.
const struct gaze_st_tensor * enc_find(const struct enc_weights * w, const char * full);
// The weights' file for messages (model.safetensors, or the shards' index).
const char * enc_path(const struct enc_weights * w);
// prefix+name with exactly shape [d0, ...] (n_dims entries), as f32 (mapped or converted);
// vectors are copied; non-finite values are refused naming the tensor and element.
enum gaze_status enc_tensor(struct enc_weights * w, const char * name, int n_dims, const int64_t * shape,
                            const float ** out);
static inline enum gaze_status enc_tensor2(struct enc_weights * w, const char * name, int64_t d0, int64_t d1,
                                           const float ** out) {
    const int64_t shape[2] = { d0, d1 };
    return enc_tensor(w, name, d1 > 0 ? 2 : 1, shape, out);
}
// base.weight [n_out, n_in] and base.bias [n_out] (bias optional when !need_bias), prepared
// (packed once) for the GEMM.
enum gaze_status enc_linear(struct enc_weights * w, const char * base, int64_t n_out, int64_t n_in, bool need_bias,
                            struct gaze_linear * lin);

struct enc_layer {
    struct gaze_linear q, k, v, o;     // [C, C] each
    struct gaze_linear ff_in;          // [F, C]
    struct gaze_linear ff_out;         // [C, F]
    const float * ln1_w, * ln1_b;      // [C] post-LN: after attention; pre-LN: before it
    const float * ln2_w, * ln2_b;      // [C] post-LN: after the FFN; pre-LN: before it
    const float * ls1, * ls2;          // [C] layer scale of the attention / FFN branch, or NULL
};
void enc_layer_release(struct enc_layer * ly);
// Reads L layers in CLIP's layout (encoder.layers.N.self_attn.{q,k,v,out}_proj,
// mlp.fc1/fc2, layer_norm1/2; C wide, F the MLP's width) into *out (calloc'd [L]): CLIP's and
// SigLIP's two towers. Each layer's weight pages are dropped once read.
enum gaze_status enc_read_clip_layers(struct enc_weights * w, int64_t L, int64_t C, int64_t F, const char * arch,
                                      struct enc_layer ** out);
// Drops this process's mapping of the file pages of the layer's packed linear weights.
void enc_drop_layer_weights(const struct enc_weights * w, const struct enc_layer * ly);
// The same for a table read in place (a mapped, not converted, tensor of n floats): the load's
// finiteness check touched every page of it, a run reads only its tokens' rows back.
void enc_drop_table(const struct enc_weights * w, const float * p, size_t n);

enum enc_act {
    ENC_GELU = 0,                      // exact erf GELU (fused into the GEMM)
    ENC_QUICK_GELU,                    // x·sigmoid(1.702x) (OpenAI CLIP)
    ENC_GELU_TANH,                     // tanh approximation, torch's gelu(approximate="tanh") (SigLIP)
};
// y = act(y) in place, [n] (ENC_GELU included, as gaze_gelu_erf).
void enc_activate(enum enc_act act, float * y, int64_t n);

struct enc_shape {
    int64_t C, H, d, F;
    float eps;
    bool pre_ln;
    const char * arch;
    enum enc_act act;                  // the FFN's activation
    bool causal;                       // each token attends to itself and earlier ones (CLIP text)
};
// Floats of work space one layer needs for T tokens: y [T, C], ff [T, F], the MHA scratch.
size_t enc_layer_work_floats(const struct enc_shape * sh, int64_t T);

// What a run with attributions (opts->attrib: value-norm, residual + LN norm, ALTI, value
// zeroing) or attention knockout (opts->knockout) holds besides the workspace. The attributions
// are computed during the forward pass, layer by layer, while each layer's input and attention
// are at hand; they decompose a post-LN block (BERT layout), so pre-LN stacks refuse them.
struct enc_extra {
    struct gaze_attrib * attrib;       // opts->attrib when it asks for something
    float * alpha;                     // [H, T, T] every head's weights
    float * vo;                        // [H, T, C] f_h(x_j)
    float * x_in;                      // [T, C] the layer's input
    float * x_z;                       // [T, C] value zeroing: the layer rerun
    float * bias;                      // [T, T] knockout: -inf on blocked edges
    struct gaze_attn_mask mask;
};
// Checks the knockout edges against L layers and T tokens and allocates what opts asks for
// (within the memory budget); e zeroed first.
enum gaze_status enc_extra_init(struct enc_extra * e, const struct enc_shape * sh, int64_t L,
                                const struct gaze_run_opts * opts, int64_t T);
void enc_extra_free(struct enc_extra * e);

// Layer l on x [T, C] in place; captures into run what opts asks for layer l; ex (NULL: none,
// else from enc_extra_init) adds the knockout mask and the layer's attributions.
enum gaze_status enc_layer_forward(const struct enc_shape * sh, const struct enc_layer * ly, int64_t l, float * x,
                                   int64_t T, float * work, const struct gaze_run_opts * opts, struct gaze_run * run,
                                   struct enc_extra * ex);

// Workspaces kept across runs: a run takes a free one (growing it if too small) and gives it
// back, so runs on several threads never share one and a loop on one thread allocates nothing
// after its first run.
#define ENC_WORK_KEPT 8
struct enc_work { float * p; size_t floats; };
struct enc_pool {
    pthread_mutex_t lock;
    struct enc_work work[ENC_WORK_KEPT];
    int n;
};
void enc_pool_init(struct enc_pool * p);
void enc_pool_free(struct enc_pool * p);
struct enc_work enc_work_take(struct enc_pool * p, size_t need);   // p NULL when out of memory
void enc_work_give(struct enc_pool * p, struct enc_work w);
#endif
