// Norm-based and mixing attributions of one attention block (reference/interpretability.md §16):
// value-norm attention (Kobayashi et al. 2020), attention + residual + LayerNorm (Kobayashi et
// al. 2021) and ALTI (Ferrando et al. 2022), all from one decomposition of the block's output
//   y_i = Σ_j z_ij + b,   z_ij = Σ_h α^h_ij f_h(x_j) + δ_ij x_i,
// (with a post-attention RMSNorm, Gemma 2/3: z_ij = g_i(Σ_h α^h_ij f_h(x_j)) + δ_ij x_i, g_i the
// norm with the per-token scale of the full attention output, as ALTI treats LayerNorm),
// and, after a post-LN, LN(y_i) = Σ_j g_i(z_ij) + (β + g_i(b)) with the linear part
// g_i(z) = γ ⊙ (z − mean(z)) / σ_i, σ_i = sqrt(var(y_i) + eps) of the full sum. Biases are no
// token's: they stay out of every z_ij (as in both papers).
#include "analysis/analysis.h"
#include "analysis/attrib_row.h"
#include <math.h>
#include <string.h>

void gaze_attrib_free(struct gaze_attrib * a) {
    if (!a) return;
    free(a->vnorm_heads);
    free(a->vnorm);
    free(a->resln);
    free(a->alti);
    free(a->vzero);
    const unsigned want = a->want;
    memset(a, 0, sizeof *a);
    a->want = want;
}

double gaze_cosine_distance(const float * a, const float * b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
    if (aa == 0 && bb == 0) return 0;
    if (aa == 0 || bb == 0) return 1;
    return 1 - ab / sqrt(aa * bb);
}

void attrib_row_sums(const float * z, const float * q, float m, const float * y, const float * ya, int64_t C,
                     double out[3]) {
    double r0 = 0, r1 = 0, r2 = 0;
    for (int64_t c = 0; c < C; c++) {
        const double u = ((double)z[c] - m) * q[c];
        r0 += (double)z[c] * z[c];
        r1 += u * u;
        r2 += (double)ya[c] - fabs((double)y[c] - u);
    }
    out[0] = r0; out[1] = r1; out[2] = r2;
}

// Rows of queries handled together: their per-query vectors (y, |y|, q: 3·IB·C floats) and the
// block of summands (IB·C) stay in L2 while every key j passes.
#define ATTRIB_IB 48

// The per-query state of the decomposition (double where it is a sum over the row).
struct attrib_rows {
    float * y, * ya, * q;   // [T, C] block output (after the norm), |y|, the norm's per-token scale
    double * inv_rms;       // [T] post-attention RMSNorm 1/rms_i (post_w)
    double * inv_sigma;     // [T] post-LN 1/σ_i (ln_w)
};

// The pair (i, j) the slow, exact way (double, as written in the header): the diagonal, where
// the residual joins the summand, and blocks with both a post-attention norm and a post-LN.
static void pair_exact(const struct gaze_attrib_block * b, const struct attrib_rows * st, const float * z, int64_t i,
                       int64_t j, double * u, double out[3]) {
    const int64_t C = b->C;
    double r0 = 0, mean = 0;
    for (int64_t c = 0; c < C; c++) {
        r0 += (double)z[c] * z[c];
        u[c] = b->post_w ? (double)z[c] * st->inv_rms[i] * b->post_w[c] : z[c];
        if (i == j) u[c] += b->resid[i * C + c];
        mean += u[c];
    }
    mean /= (double)C;
    if (b->ln_w)
        for (int64_t c = 0; c < C; c++) u[c] = (u[c] - mean) * st->inv_sigma[i] * b->ln_w[c];
    double r1 = 0, r2 = 0;
    const float * y = st->y + i * C;
    for (int64_t c = 0; c < C; c++) {
        r1 += u[c] * u[c];
        r2 += fabs((double)y[c]) - fabs((double)y[c] - u[c]);
    }
    out[0] = r0; out[1] = r1; out[2] = r2;
}

// Σ v and Σ v² in double, four independent sums (a single running sum waits on each add)
static void sums4(const float * v, int64_t n, double * sum, double * sq) {
    double a[4] = { 0 }, q[4] = { 0 };
    int64_t c = 0;
    for (; c + 4 <= n; c += 4)
        for (int k = 0; k < 4; k++) { a[k] += v[c + k]; q[k] += (double)v[c + k] * v[c + k]; }
    for (; c < n; c++) { a[0] += v[c]; q[0] += (double)v[c] * v[c]; }
    *sum = (a[0] + a[1]) + (a[2] + a[3]);
    *sq = (q[0] + q[1]) + (q[2] + q[3]);
}

enum gaze_status gaze_attrib_block_compute(const struct gaze_attrib_block * b, float * vnorm_heads,
                                           float * vnorm, float * resln, float * alti) {
    if (!b || !b->alpha || !b->vo || ((resln || alti) && !b->resid))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attribution: NULL argument");
    const int64_t H = b->H, T = b->T, C = b->C;
    if (H < 1 || T < 1 || C < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attribution: bad shape H=%lld T=%lld C=%lld",
                                                   (long long)H, (long long)T, (long long)C);
    const bool avx2 = gaze_isa_active() >= GAZE_ISA_AVX2;
    // Σ and Σ² of every row f_h(x_j) once: ‖f‖ for the per-head norms, the mean μ for a post-LN
    double * vsum = NULL, * vsq = NULL;
    if (vnorm_heads || (b->ln_w && (vnorm || resln || alti))) {
        if (!(vsum = malloc((size_t)(2 * H * T) * sizeof *vsum))) return gaze_error(GAZE_ERR_NOMEM, "attribution: out of memory");
        vsq = vsum + H * T;
        if (avx2) attrib_sums4_avx2(b->vo, H * T, C, vsum, vsq);
        else for (int64_t r = 0; r < H * T; r++) sums4(b->vo + r * C, C, &vsum[r], &vsq[r]);
    }
    // per head, ‖α f‖ = α ‖f‖
    if (vnorm_heads) {
        double * fn = malloc((size_t)(H * T) * sizeof *fn);
        if (!fn) { free(vsum); return gaze_error(GAZE_ERR_NOMEM, "attribution: out of memory"); }
        for (int64_t r = 0; r < H * T; r++) fn[r] = sqrt(vsq[r]);
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++) {
                const float * a = b->alpha + (h * T + i) * T;
                float * o = vnorm_heads + (h * T + i) * T;
                if (avx2) attrib_scale_avx2(a, fn + h * T, T, o);
                else for (int64_t j = 0; j < T; j++) o[j] = (float)(a[j] * fn[h * T + j]);
            }
        free(fn);
    }
    if (!vnorm && !resln && !alti) { free(vsum); return GAZE_OK; }
    // The summands z_ij = Σ_h α^h_ij f_h(x_j) as GEMMs: for key j and a block of queries,
    // Z [rows, C] = A [rows, H] · F_j [H, C] with A[r, h] = α^h_(i0+r) j and F_j the rows f_h(x_j)
    // (stride T·C in vo). The norms of each row then take one pass (attrib_row_sums), with the
    // per-query output y_i, its norm's scale and the mean of z_ij (linear: Σ_h α μ_hj) known
    // beforehand from the full attention output (the forward pass's, b->attn, else Σ_h α^h F_h
    // by H GEMMs of depth T here).
    const int64_t IB = GAZE_MIN(T, ATTRIB_IB);
    const size_t TC = (size_t)(T * C);
    // alpha transposed to [key j, query i, head h]: the A of key j is a plain row block
    // (key stride JS padded by a cache line: a stride of a multiple of 2 KiB sends every row of
    // the transposing writes to the same few L1 sets)
    const int64_t JS = T * H + 16;
    const int64_t ZR = GAZE_MAX(IB, H + 1);   // rows of Z: the GEMM's block, or F_j and one summand
    float * fbuf = malloc((4 * TC + (size_t)(ZR * C) + (size_t)(JS * T) + (size_t)IB) * sizeof(float));
    double * dbuf = malloc((size_t)(2 * T + H * T + C + 3 * IB) * sizeof(double));
    if (!fbuf || !dbuf) { free(fbuf); free(dbuf); free(vsum); return gaze_error(GAZE_ERR_NOMEM, "attribution: out of memory"); }
    struct attrib_rows st = { fbuf, fbuf + TC, fbuf + 2 * TC, dbuf, dbuf + T };
    float * att = fbuf + 3 * TC, * Z = att + TC, * at = Z + ZR * C, * mrow = at + JS * T;
    double * mu = dbuf + 2 * T, * u = mu + H * T, * ob = u + C;
    enum gaze_status s = GAZE_OK;
    const bool need_y = resln || alti;
    // the attention output with its bias: the forward pass's, or Σ_h α^h F_h + b here
    const float * ab = b->attn;
    if (need_y && !ab) {
        for (int64_t h = 0; h < H && !s; h++)
            s = gaze_gemm_f32(T, C, T, b->alpha + h * T * T, T, b->vo + h * TC, C, h ? NULL : b->bias, att, C,
                              GAZE_GEMM_NN | (h ? GAZE_GEMM_ACCUMULATE : 0), 1);
        ab = att;
    }
    if (s) { free(fbuf); free(dbuf); free(vsum); return s; }
    if (!need_y) memset(fbuf, 0, 3 * TC * sizeof(float));   // rows the value-norm-only kernel reads but ignores
    for (int64_t i = 0; need_y && i < T; i++) {
        float * yi = st.y + i * C, * qi = st.q + i * C;
        const float * ai = ab + i * C;
        // a post-attention RMSNorm scales every summand and the bias by w / rms_i of the full
        // attention output (bias included: nobody's, but inside the norm)
        double inv_rms = 1;
        if (b->post_w) {
            double ms = 0;
            for (int64_t c = 0; c < C; c++) {
                ms += (double)ai[c] * ai[c];
            }
            inv_rms = 1 / sqrt(ms / (double)C + (double)b->post_eps);
        }
        st.inv_rms[i] = inv_rms;
        double mean = 0, var = 0, inv_sigma = 1;
        for (int64_t c = 0; c < C; c++) {
            double t = ai[c];
            if (b->post_w) t *= inv_rms * b->post_w[c];
            u[c] = t + b->resid[i * C + c];   // the block's pre-norm output y_i
            mean += u[c];
        }
        if (b->ln_w) {
            mean /= (double)C;
            for (int64_t c = 0; c < C; c++) var += (u[c] - mean) * (u[c] - mean);
            var /= (double)C;
            inv_sigma = 1 / sqrt(var + (double)b->eps);
            for (int64_t c = 0; c < C; c++)   // the real output: LN(y_i)
                u[c] = (u[c] - mean) * inv_sigma * b->ln_w[c] + (b->ln_b ? b->ln_b[c] : 0);
        }
        st.inv_sigma[i] = inv_sigma;
        for (int64_t c = 0; c < C; c++) {
            yi[c] = (float)u[c];
            st.ya[i * C + c] = fabsf(yi[c]);
            qi[c] = (float)(b->ln_w ? inv_sigma * b->ln_w[c] : b->post_w ? inv_rms * b->post_w[c] : 1);
        }
    }
    // μ_hj = mean of f_h(x_j): the mean of z_ij that the post-LN subtracts is Σ_h α^h_ij μ_hj
    for (int64_t r = 0; b->ln_w && r < H * T; r++) mu[r] = vsum[r] / (double)C;
    void (*row_sums)(const float *, const float *, float, const float *, const float *, int64_t, double[3]) =
        avx2 ? attrib_row_sums_avx2 : attrib_row_sums;
    for (int64_t i = 0; i < T; i++)   // h inside i: the T rows written (H floats each) stay in L1
        for (int64_t h = 0; h < H; h++) {
            const float * row = b->alpha + (h * T + i) * T;
            for (int64_t j = 0; j < T; j++) at[j * JS + i * H + h] = row[j];
        }
    const bool exact_all = b->ln_w && b->post_w;   // no linear shortcut for the mean: every pair exact
    // AVX2: the summands are made in registers and summed at once (attrib_pairs_avx2); otherwise
    // by the GEMM into Z, then attrib_row_sums on each row
    const bool fused = avx2 && !exact_all;
    for (int64_t i0 = 0; i0 < T && !s; i0 += IB) {
        const int64_t i1 = GAZE_MIN(T, i0 + IB);
        for (int64_t j = 0; j < T && !s; j++) {
            // the rows of this block that read j (a causal mask leaves i < j at zero), and the
            // diagonal; every other pair has z_ij = 0: all three scores are 0
            int64_t lo = -1, hi = -1;
            for (int64_t i = i0; i < i1; i++) {
                bool any = i == j;
                for (int64_t h = 0; h < H && !any; h++) any = at[j * JS + i * H + h] != 0;
                if (any) { if (lo < 0) lo = i; hi = i; }
            }
            for (int64_t i = i0; i < i1; i++)
                if (i < lo || i > hi || lo < 0) {
                    if (vnorm) vnorm[i * T + j] = 0;
                    if (resln) resln[i * T + j] = 0;
                    if (alti) alti[i * T + j] = 0;
                }
            if (lo < 0) continue;
            const int64_t rows = hi - lo + 1;
            const float * A = at + j * JS + lo * H;   // [rows, H]
            if (fused) {
                if (b->ln_w && need_y) attrib_mrow_avx2(A, H, mu + j, T, rows, mrow);
                else memset(mrow, 0, (size_t)rows * sizeof *mrow);
                // F_j copied together: its H rows lie T·C apart in vo, a multiple of 4 KiB that
                // puts them all in the same L1 sets (value-norm alone: q, y, |y| are zeros)
                for (int64_t h = 0; h < H; h++) memcpy(Z + h * C, b->vo + (h * T + j) * C, (size_t)C * sizeof(float));
                const size_t off = (size_t)(lo * C);
                attrib_pairs_avx2(A, H, Z, C, C, st.q + off, st.y + off, st.ya + off, mrow, rows, ob);
            } else
                s = gaze_gemm_f32(rows, C, H, A, H, b->vo + j * C, (int64_t)TC, NULL, Z, C, GAZE_GEMM_NN, 1);
            for (int64_t r = 0; r < rows && !s; r++) {
                const int64_t i = lo + r;
                const float * z = Z + r * C;
                double o[3];
                if (fused && !(need_y && i == j)) {
                    memcpy(o, ob + 3 * r, sizeof o);
                } else if (fused) {   // the diagonal, exact: its summand first
                    float * zr = Z + H * C;
                    attrib_summand_avx2(A + r * H, H, Z, C, C, zr);
                    pair_exact(b, &st, zr, i, j, u, o);
                } else if (!need_y) {   // value-norm alone: only Σ z² (q, y, |y| unused: the first row of each)
                    row_sums(z, st.q, 0.0f, st.y, st.y, C, o);
                } else if (i == j || exact_all) {
                    pair_exact(b, &st, z, i, j, u, o);
                } else {
                    double m = 0;
                    for (int64_t h = 0; b->ln_w && h < H; h++) m += (double)A[r * H + h] * mu[h * T + j];
                    row_sums(z, st.q + i * C, (float)m, st.y + i * C, st.ya + i * C, C, o);
                }
                if (vnorm) vnorm[i * T + j] = (float)sqrt(o[0]);
                if (resln) resln[i * T + j] = (float)sqrt(o[1]);
                if (alti) alti[i * T + j] = o[2] > 0 ? (float)o[2] : 0.0f;   // c_ij = max(0, ‖y‖₁ − ‖y − T(x_j)‖₁)
            }
        }
    }
    // ALTI rows normalised
    for (int64_t i = 0; alti && i < T && !s; i++) {
        double sum = 0;
        for (int64_t j = 0; j < T; j++) sum += alti[i * T + j];
        for (int64_t j = 0; j < T; j++) alti[i * T + j] = sum > 0 ? (float)(alti[i * T + j] / sum) : 0.0f;
    }
    free(fbuf);
    free(dbuf);
    free(vsum);
    return s;
}

enum gaze_status gaze_attrib_rollout(const float * m, int64_t L, int64_t T, double * out) {
    if (!m || !out || L < 1 || T < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attribution rollout: bad argument");
    double * tmp = malloc((size_t)(T * T) * sizeof *tmp);
    if (!tmp) return gaze_error(GAZE_ERR_NOMEM, "attribution rollout: out of memory");
    for (int64_t i = 0; i < T * T; i++) out[i] = m[i];
    // out = m[l] · out, the newer layer from the left (as rollout)
    for (int64_t l = 1; l < L; l++) {
        const float * a = m + l * T * T;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                double acc = 0;
                for (int64_t k = 0; k < T; k++) acc += (double)a[i * T + k] * out[k * T + j];
                tmp[i * T + j] = acc;
            }
        memcpy(out, tmp, (size_t)(T * T) * sizeof *tmp);
    }
    free(tmp);
    return GAZE_OK;
}
