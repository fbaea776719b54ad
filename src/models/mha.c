// The multi-head attention layer: Q/K/V projections (gaze_linear_forward), RoPE, the fused
// kernel over the (cached) keys, optional exact capture through the probe, O projection.
#include "core/core.h"
#include "kernels/gemm.h"
#include <math.h>
#include <string.h>

size_t gaze_mha_scratch_floats(const struct gaze_mha * m, int64_t T) {
    const size_t hq = (size_t)(m->n_heads * m->head_dim), hkv = (size_t)(m->n_kv_heads * m->head_dim);
    // q [T, Hq·d], k and v [T, Hkv·d] (no cache), ctx [T, Hq·d]
    return (size_t)T * (2 * hq + 2 * hkv) + 64;
}

static enum gaze_status check_linear(const char * name, const struct gaze_linear * l, int64_t n_out, int64_t n_in) {
    if (!l) return gaze_error(GAZE_ERR_INVALID_ARG, "mha: weight %s is NULL", name);
    if (l->n_out != n_out || l->n_in != n_in)
        return gaze_error(GAZE_ERR_INVALID_ARG, "mha: weight %s is [%lld, %lld], expected [%lld, %lld]", name,
                          (long long)l->n_out, (long long)l->n_in, (long long)n_out, (long long)n_in);
    return GAZE_OK;
}

// vo [Hq, Tk, C] = v_j^h W_O^h for every head h and key j: the output projection applied to a
// context that holds head h's value alone (W_O may be quantized, so it goes through
// gaze_linear_forward like the real output), minus the projection of zero (the bias). Capture
// only: allocates.
static enum gaze_status capture_vo(const struct gaze_mha * m, const float * vall, int64_t Tk, float * vo,
                                   int n_threads) {
    const int64_t C = m->d_model, Hq = m->n_heads, Hkv = m->n_kv_heads, d = m->head_dim, rows = Hq * Tk + 1;
    if (m->wo->type == GAZE_TYPE_F32) {   // f32 W_O: one [Tk, d]·[d, C] GEMM per head on its columns
        enum gaze_status s = GAZE_OK;
        for (int64_t h = 0; h < Hq && !s; h++)
            s = gaze_gemm_f32(Tk, C, d, vall + (h / (Hq / Hkv)) * d, Hkv * d, (const float *)m->wo->weight + h * d, Hq * d,
                              NULL, vo + h * Tk * C, C, GAZE_GEMM_NT, n_threads);
        return s;
    }
    // Block-quantized W_O whose blocks never straddle two heads (Q4_0..Q8_0 with d a multiple of
    // 32; F16 / BF16): head h's rows through its own columns of W_O alone, [Tk, d]·W_O[:, h·d..]ᵀ.
    // The full-width form below multiplies the other heads' zeros too (Hq times the work: on
    // SmolLM2 Q4_1 more than the rest of the layer); a zero activation block quantizes to zero
    // and adds nothing there, so both give the same products up to float summation order.
    const int64_t bs = gaze_type_block_size(m->wo->type);
    const size_t bb = gaze_type_block_bytes(m->wo->type), row = gaze_type_row_bytes(m->wo->type, Hq * d);
    if (bs > 0 && bb > 0 && d % bs == 0 && (Hq * d) % bs == 0 && m->wo->weight) {
        const size_t hb = (size_t)(d / bs) * bb;   // bytes of one head's columns in one row
        char * wh = malloc((size_t)C * hb);
        float * vh = malloc((size_t)(Tk * d) * sizeof(float));
        enum gaze_status s = wh && vh ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "mha: out of memory for value capture");
        for (int64_t h = 0; h < Hq && !s; h++) {
            for (int64_t c = 0; c < C; c++) memcpy(wh + (size_t)c * hb, (const char *)m->wo->weight + (size_t)c * row + (size_t)h * hb, hb);
            for (int64_t t = 0; t < Tk; t++)
                memcpy(vh + t * d, vall + t * Hkv * d + (h / (Hq / Hkv)) * d, (size_t)d * sizeof(float));
            const struct gaze_linear sub = { m->wo->type, C, d, wh, NULL, NULL };
            s = gaze_linear_forward(&sub, vh, Tk, vo + h * Tk * C, n_threads);
        }
        free(wh);
        free(vh);
        return s;
    }
    float * in = calloc((size_t)(rows * Hq * d), sizeof(float));   // [Hq·Tk + 1, Hq·d]
    float * res = malloc((size_t)(rows * C) * sizeof(float));      // [Hq·Tk + 1, C]
    if (!in || !res) { free(in); free(res); return gaze_error(GAZE_ERR_NOMEM, "mha: out of memory for value capture"); }
    for (int64_t h = 0; h < Hq; h++)
        for (int64_t t = 0; t < Tk; t++)
            memcpy(in + (h * Tk + t) * Hq * d + h * d, vall + t * Hkv * d + (h / (Hq / Hkv)) * d,
                   (size_t)d * sizeof(float));
    enum gaze_status s = gaze_linear_forward(m->wo, in, rows, res, n_threads);
    const float * bias = res + (rows - 1) * C;   // the last row's input is zero
    for (int64_t r = 0; !s && r < rows - 1; r++)
        for (int64_t c = 0; c < C; c++) vo[r * C + c] = res[r * C + c] - bias[c];
    free(in);
    free(res);
    return s;
}

enum gaze_status gaze_mha_forward(const struct gaze_mha * m,
                                  const float * x, int64_t T, const int64_t * pos,
                                  const struct gaze_attn_mask * mask,
                                  struct gaze_kv_cache * cache,
                                  struct gaze_mha_capture * cap,
                                  float * out, float * scratch, int n_threads) {
    return gaze_mha_forward_ex(m, x, T, pos, mask, cache, cap, NULL, out, scratch, n_threads);
}

enum gaze_status gaze_mha_forward_ex(const struct gaze_mha * m,
                                     const float * x, int64_t T, const int64_t * pos,
                                     const struct gaze_attn_mask * mask,
                                     struct gaze_kv_cache * cache,
                                     struct gaze_mha_capture * cap, const struct gaze_mha_extra * ex,
                                     float * out, float * scratch, int n_threads) {
    if (!m || !x || !out || !scratch || T < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "mha: NULL argument or T < 1");
    const int64_t C = m->d_model, Hq = m->n_heads, Hkv = m->n_kv_heads, d = m->head_dim;
    if (C < 1 || Hq < 1 || Hkv < 1 || d < 1 || Hq % Hkv)
        return gaze_error(GAZE_ERR_INVALID_ARG, "mha: bad shape C=%lld Hq=%lld Hkv=%lld d=%lld",
                          (long long)C, (long long)Hq, (long long)Hkv, (long long)d);
    enum gaze_status s;
    const bool cross = ex && ex->cross_k;
    if (cross && (!ex->cross_v || ex->cross_T < 1 || cache || ex->zero_value || m->rope != GAZE_ROPE_NONE))
        return gaze_error(GAZE_ERR_INVALID_ARG, "mha: cross-attention needs keys and values of >= 1 token, "
                          "and takes no cache, value zeroing or RoPE");
    if ((s = check_linear("wq", m->wq, Hq * d, C)) || (!cross && (s = check_linear("wk", m->wk, Hkv * d, C))) ||
        (!cross && (s = check_linear("wv", m->wv, Hkv * d, C))) || (s = check_linear("wo", m->wo, C, Hq * d)))
        return s;
    const int64_t n_past = cache ? cache->n_past : 0;
    const int64_t Tk = cross ? ex->cross_T : n_past + T;
    if (cache && (cache->n_past < 0 || Tk > cache->n_ctx))
        return gaze_error(GAZE_ERR_LIMIT, "mha: KV cache full: %lld + %lld tokens > capacity %lld",
                          (long long)n_past, (long long)T, (long long)cache->n_ctx);

    float * q   = scratch;                    // [T, Hq·d]
    float * ctx = q + T * Hq * d;             // [T, Hq·d]
    float * k   = ctx + T * Hq * d;           // [Tk, Hkv·d] (cache rows when cached)
    float * v   = k + T * Hkv * d;
    if (cache) { k = cache->k + n_past * Hkv * d; v = cache->v + n_past * Hkv * d; }

    const struct gaze_linear * qkv[3] = { m->wq, m->wk, m->wv };
    float * qkv_out[3] = { q, k, v };
    if ((s = gaze_linear_forward_many(cross ? 1 : 3, qkv, x, T, qkv_out, n_threads))) return s;
    // QK-norm: RMSNorm over each head's d features, before RoPE (rows of d are contiguous)
    if (m->q_norm) gaze_rms_norm(q, q, T * Hq, d, m->q_norm, m->qk_norm_eps);
    if (m->k_norm && !cross) gaze_rms_norm(k, k, T * Hkv, d, m->k_norm, m->qk_norm_eps);
    if (ex && ex->zero_value) {
        if (*ex->zero_value < 0 || *ex->zero_value >= T)
            return gaze_error(GAZE_ERR_INVALID_ARG, "mha: zero_value token %lld out of range 0..%lld",
                              (long long)*ex->zero_value, (long long)(T - 1));
        memset(v + *ex->zero_value * Hkv * d, 0, (size_t)(Hkv * d) * sizeof(float));
    }
    if (m->rope != GAZE_ROPE_NONE) {
        int64_t stack_pos[256];
        const int64_t * p = pos;
        int64_t * owned = NULL;
        if (!p) {
            p = owned = T <= 256 ? stack_pos : malloc((size_t)T * sizeof *owned);
            if (!owned) return gaze_error(GAZE_ERR_NOMEM, "mha: out of memory for positions");
            for (int64_t t = 0; t < T; t++) owned[t] = n_past + t;
        }
        // q and k in one pass: one cos/sin table per token for both
        float inv[128];
        const float * freqs = m->rope_freqs;
        const int64_t rd = m->rope_dim > 0 ? m->rope_dim : d;
        if (!freqs && !(m->rope_base > 0.0f && isfinite(m->rope_base)))
            s = gaze_error(GAZE_ERR_INVALID_ARG, "rope: base must be a positive number");
        else if (!freqs && rd <= 256) {
            ops_rope_inv_freq(m->rope_base, rd, inv);
            freqs = inv;
        }
        const float ms = m->rope_freqs && m->rope_mscale != 0.0f ? m->rope_mscale : 1.0f;
        if (!s) s = ops_rope_apply_qk(q, Hq, Hq * d, k, Hkv, Hkv * d, T, d, p, m->rope, rd, freqs ? freqs : inv, ms);
        if (owned != stack_pos) free(owned);
        if (s) return s;
    }

    // All views are token-major: row t of head h starts at t·(H·d) + h·d.
    const float * kall = cross ? ex->cross_k : cache ? cache->k : k, * vall = cross ? ex->cross_v : cache ? cache->v : v;
    struct gaze_view vq = { q, 0, d, Hq * d }, vo = { ctx, 0, d, Hq * d };
    struct gaze_view vk = { (float *)kall, 0, d, Hkv * d }, vv = { (float *)vall, 0, d, Hkv * d };
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, Hq, Hkv, T, Tk, d);
    if (mask) desc.mask = *mask;
    desc.mask.q_offset = n_past;
    desc.scale = m->scale;
    desc.softcap = m->softcap > 0.0f ? m->softcap : 0.0f;   // Gemma 2: capped inside every kernel
    desc.n_threads = n_threads;
    // Weights of every head: the probe rides on the fused pass (scores computed once; both
    // outputs bit-identical to the separate kernels, so capture does not change ctx).
    // No lse: the probe keeps each row's max and sum itself (gaze.h).
    const int64_t n_cap = cap ? (cap->heads ? cap->n_heads : Hq) : 0;
    bool all_heads = cap && cap->weights && n_cap == Hq;
    for (int64_t n = 0; all_heads && cap->heads && n < n_cap; n++) all_heads = cap->heads[n] == n;
    if (cap && cap->summary)   // summaries ride on the fused pass too (and the probe, if any)
        s = gaze_attention_fused_summary(&desc, &vq, &vk, &vv, &vo, NULL, all_heads ? cap->weights : NULL,
                                         cap->heads, n_cap, cap->summary);
    else if (all_heads) s = gaze_attention_fused_probe(&desc, &vq, &vk, &vv, &vo, NULL, cap->weights);
    else s = gaze_attention_fused(&desc, &vq, &vk, &vv, &vo, NULL);
    if (s) return s;

    // Ablation acts on what the head writes into the residual stream (its slice of ctx),
    // after capture has what the head really computed.
    for (int64_t h = 0; m->head_mask && h < Hq; h++) {
        if (m->head_mask[h]) continue;
        for (int64_t c = 0; c < d; c++) {
            float mean = 0.0f;
            if (m->ablate_mean) {
                double acc = 0;
                for (int64_t t = 0; t < T; t++) acc += ctx[t * Hq * d + h * d + c];
                mean = (float)(acc / (double)T);
            }
            for (int64_t t = 0; t < T; t++) ctx[t * Hq * d + h * d + c] = mean;
        }
    }

    if (cap) {
        const int64_t nh = n_cap;
        if (cap->weights && !all_heads &&
            (s = gaze_attention_probe(&desc, &vq, &vk, NULL, cap->heads, nh, NULL, 0, cap->weights)))
            return s;
        if (cap->scores && (s = gaze_attention_scores(&desc, &vq, &vk, cap->heads, nh, NULL, 0, cap->scores)))
            return s;
        for (int64_t n = 0; n < nh; n++) {
            const int64_t h = cap->heads ? cap->heads[n] : n;
            if (h < 0 || h >= Hq) return gaze_error(GAZE_ERR_INVALID_ARG, "mha: capture head %lld out of range", (long long)h);
            for (int64_t t = 0; cap->q && t < T; t++)
                memcpy(cap->q + (n * T + t) * d, q + t * Hq * d + h * d, (size_t)d * sizeof(float));
            const int64_t hk = h / (Hq / Hkv);
            for (int64_t t = 0; cap->k && t < Tk; t++)
                memcpy(cap->k + (n * Tk + t) * d, kall + t * Hkv * d + hk * d, (size_t)d * sizeof(float));
        }
    }
    if (ex && ex->vo && (s = capture_vo(m, vall, Tk, ex->vo, n_threads))) return s;
    if ((s = gaze_linear_forward(m->wo, ctx, T, out, n_threads))) return s;
    if (cache) cache->n_past = Tk;
    return GAZE_OK;
}
