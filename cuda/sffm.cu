/* sffm.cu: the Sparse Feature Filtering Module (ops/sffm.c has the math).
 *   s = softmax(x Wg^T) (T, Nr) (with the CPU's exp, sibvad_expf); greedy
 *   top-K (largest first, lowest index on ties); w = s_topK / sum(s_topK) * scale;
 *   out = sum_k w_k F_{i_k}(x) + Shared(x),  F(x) = up(silu(down(LN(x)))).
 * x is normalised once (xhat, unit affine); each filter applies its own affine.
 * The (token, slot) pairs are grouped by filter on the device (count, scan,
 * stable fill: the same `order` and `offsets` as the CPU), and only routed
 * filters run. With a bottleneck of a few channels the filters are
 * matrix-vector work, so they are kernels that read each slot's filter through
 * a device table of the weight pointers (no host round trip for the group
 * sizes): down + SiLU one warp per slot, up one thread per output; the
 * parameter gradients are per-filter column sums over the filter's rows in
 * `order` (fixed order, no atomics). The shared filter is dense: GEMMs.
 * Balance loss per sample b: f_i = Nr/(K Ts) #(top-K holds i), P_i = mean_t s_i,
 * L = alpha mean_b sum_i f_i P_i (gradient only through P); its value is summed
 * in the CPU's order and brought to the host (the forward synchronises). */
#include "cuda-internal.h"

#include <math.h>
#include <stdlib.h>

#define SF_WARPS 8
#define SF_COLS 128

/* the weight table: entry (a, f) = array a of filter f; a: pn_w, pn_b, down_w, down_b, up_w, up_b */
#define TAB(tab, a, f) ((tab)[(size_t)(a) * Nr + (f)])
enum { PN_W, PN_B, DOWN_W, DOWN_B, UP_W, UP_B, N_ARRAYS };

/* A device copy of the routed filters' pointers of w (Nr per array). */
static float **weight_table(cuctx *c, const sibvad_sffm_weights *w, int Nr, const char *op)
{
    float **const arrays[N_ARRAYS] = {w->pn_w, w->pn_b, w->down_w, w->down_b, w->up_w, w->up_b};
    const size_t n = (size_t)N_ARRAYS * Nr;
    const void **host = (const void **)malloc(n * sizeof(void *));
    if (!host) {
        cu_fail(c, "CUDA backend, %s: out of host memory", op);
        return NULL;
    }
    for (int a = 0; a < N_ARRAYS; a++)
        for (int f = 0; f < Nr; f++)
            host[(size_t)a * Nr + f] = arrays[a][f];
    float **t = (float **)cu_table_get(c, host, n, op);
    free(host);
    return t;
}

/* ---------------- router ---------------- */

/* one thread per token: softmax in place, greedy top-K, gate weights. The
 * softmax is the CPU's operation for operation (its exp is sibvad_expf:
 * cu_expf_cpu; sums in the same order, IEEE division), so equal logits give
 * equal probabilities, bit for bit. */
__global__ void router_k(float *s, int *topk, float *gw, int T, int Nr, int K, float scale)
{
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= T)
        return;
    float *sr = s + (size_t)t * Nr;
    float mx = sr[0];
    for (int i = 1; i < Nr; i++)
        mx = sr[i] > mx ? sr[i] : mx;
    float sum = 0.0f;
    for (int i = 0; i < Nr; i++) {
        const float e = cu_expf_cpu(__fsub_rn(sr[i], mx));
        sr[i] = e;
        sum = __fadd_rn(sum, e);
    }
    for (int i = 0; i < Nr; i++)
        sr[i] = __fdiv_rn(sr[i], sum);
    /* the picks follow the order (score descending, index ascending): pick k
     * is the largest entry after pick k-1 in that order */
    int *idx = topk + (size_t)t * K;
    float tot = 0.0f;
    int prev = -1;
    for (int k = 0; k < K; k++) {
        int best = -1;
        for (int i = 0; i < Nr; i++) {
            if (prev >= 0 && !(sr[i] < sr[prev] || (sr[i] == sr[prev] && i > prev)))
                continue;
            if (best < 0 || sr[i] > sr[best])
                best = i;
        }
        if (best < 0) /* only with NaN scores: the CPU's fallback would differ, keep an index */
            best = prev >= 0 ? prev : 0;
        idx[k] = best;
        tot += sr[best];
        prev = best;
    }
    for (int k = 0; k < K; k++)
        gw[(size_t)t * K + k] = sr[idx[k]] / tot * scale;
}

/* ---------------- grouping slots by filter ---------------- */

__global__ void group_count_k(int *offsets, const int *topk, int TK)
{
    __shared__ int sh[32];
    const int f = blockIdx.x;
    int cnt = 0;
    for (int q = threadIdx.x; q < TK; q += blockDim.x)
        cnt += topk[q] == f;
    for (int o = 16; o > 0; o >>= 1)
        cnt += __shfl_xor_sync(0xffffffffu, cnt, o);
    if ((threadIdx.x & 31) == 0)
        sh[threadIdx.x >> 5] = cnt;
    __syncthreads();
    if (threadIdx.x == 0) {
        int s = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); w++)
            s += sh[w];
        offsets[f + 1] = s;
        if (f == 0)
            offsets[0] = 0;
    }
}

__global__ void group_scan_k(int *offsets, int Nr)
{
    for (int i = 0; i < Nr; i++)
        offsets[i + 1] += offsets[i];
}

/* block f writes the slots of filter f in ascending slot order */
__global__ void group_fill_k(int *order, const int *topk, const int *offsets, int TK)
{
    __shared__ int warp_tot[32];
    const int f = blockIdx.x, lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    int pos = offsets[f];
    for (int base = 0; base < TK; base += blockDim.x) {
        const int q = base + threadIdx.x;
        const bool hit = q < TK && topk[q] == f;
        const unsigned bal = __ballot_sync(0xffffffffu, hit);
        if (lane == 0)
            warp_tot[wid] = __popc(bal);
        __syncthreads();
        int before = 0, all = 0;
        for (int w = 0; w < nw; w++) {
            before += w < wid ? warp_tot[w] : 0;
            all += warp_tot[w];
        }
        if (hit)
            order[pos + before + __popc(bal & ((1u << lane) - 1u))] = q;
        pos += all;
        __syncthreads();
    }
}

/* ---------------- routed filters, forward ---------------- */

/* one warp per grouped slot p: h = down(xhat * pn_w + pn_b) + down_b; a = silu(h) */
__global__ void route_down_k(float *h, float *a, const int *order, const int *topk, const float *xhat,
                             float *const *tab, int Nr, int TK, int K, int D, int bn)
{
    const int p = blockIdx.x * SF_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (p >= TK)
        return;
    const int q = order[p], f = topk[q];
    const float *xr = xhat + (size_t)(q / K) * D;
    const float *pw = TAB(tab, PN_W, f), *pb = TAB(tab, PN_B, f);
    const float *dw = TAB(tab, DOWN_W, f), *db = TAB(tab, DOWN_B, f);
    for (int k = 0; k < bn; k++) {
        float acc = 0.0f;
        for (int j = lane; j < D; j += 32)
            acc += (xr[j] * pw[j] + pb[j]) * dw[(size_t)k * D + j];
        acc = cu_warp_sum(acc);
        if (lane == 0) {
            const float hv = db[k] + acc;
            h[(size_t)p * bn + k] = hv;
            a[(size_t)p * bn + k] = hv / (1.0f + expf(-hv));
        }
    }
}

/* one thread per (grouped slot p, channel j): slot[q] = gw[q] * (up(a) + up_b) */
__global__ void route_up_k(float *slot, const float *a, const float *gw, const int *order, const int *topk,
                           float *const *tab, int Nr, int TK, int D, int bn)
{
    CU_GRID_STRIDE(i, (size_t)TK * D)
    {
        const size_t p = i / D;
        const int j = (int)(i % D);
        const int q = order[p], f = topk[q];
        const float *uw = TAB(tab, UP_W, f) + (size_t)j * bn;
        const float *ar = a + p * bn;
        float y = TAB(tab, UP_B, f)[j];
        for (int k = 0; k < bn; k++)
            y += ar[k] * uw[k];
        slot[(size_t)q * D + j] = gw[q] * y;
    }
}

/* out[t] += slot[t*K + k] for k in order */
__global__ void combine_slots_k(float *out, const float *slot, int T, int K, int D)
{
    CU_GRID_STRIDE(i, (size_t)T * D)
    {
        const size_t t = i / D;
        const int j = (int)(i % D);
        float o = out[i];
        for (int k = 0; k < K; k++)
            o += slot[(t * K + k) * D + j];
        out[i] = o;
    }
}

/* out = in * w + b per row (the shared filter's LayerNorm affine) */
__global__ void affine_rows_k(float *out, const float *in, const float *w, const float *b, size_t n, int D)
{
    CU_GRID_STRIDE(i, n)
    out[i] = in[i] * w[i % D] + b[i % D];
}

/* one block per sample: f (B, Nr) and the terms f_i * P_i in part (B, Nr) */
__global__ void balance_k(float *fout, double *part, const int *topk, const float *s, int Ts, int Nr, int K)
{
    const int b = blockIdx.x;
    const float norm = (float)Nr / ((float)K * Ts);
    for (int i = threadIdx.x; i < Nr; i += blockDim.x) {
        float cnt = 0.0f;
        double P = 0.0;
        for (int t = b * Ts; t < (b + 1) * Ts; t++) {
            for (int k = 0; k < K; k++)
                cnt += topk[(size_t)t * K + k] == i ? 1.0f : 0.0f;
            P += s[(size_t)t * Nr + i];
        }
        const float fi = cnt * norm;
        fout[(size_t)b * Nr + i] = fi;
        part[(size_t)b * Nr + i] = fi * (P / Ts);
    }
}

__global__ void sum_in_order_k(double *out, const double *part, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += part[i];
    out[0] = s;
}

void cu_sffm_forward(sibvad_be be, float *out, sibvad_sffm_cache *c, const float *x, const sibvad_sffm_weights *w,
                     const sibvad_sffm_dims *d)
{
    cuctx *cx = CTX(be);
    const char *op = "sffm_forward";
    const int T = d->B * d->Ts, D = d->D, Nr = d->Nr, K = d->K, bn = d->b, bs = d->b * d->Ns;
    const int TK = T * K;
    c->balance = 0.0f;
    if (T <= 0 || D <= 0)
        return;
    CU_ENTER(cx);
    /* shared normalisation statistics (unit affine) */
    cu_layernorm_forward(be, c->xhat, c->mean, c->rstd, x, NULL, NULL, T, D, 1e-5f);
    /* Without filters (Nr = 0, no model has it) or picks (K = 0) the grids
     * below would be empty: those kernels are skipped */
    if (Nr > 0) {
        /* router */
        cu_gemm_fp32(cx, op, false, true, T, Nr, D, 1.0f, x, D, w->gate, D, 0.0f, c->s, Nr);
        router_k<<<(T + 127) / 128, 128, 0, cx->stream>>>(c->s, c->topk, c->gw, T, Nr, K, d->scale);
        CU_LAUNCHED(cx, op);
        /* group slots by filter */
        group_count_k<<<Nr, CU_THREADS, 0, cx->stream>>>(c->offsets, c->topk, TK);
        CU_LAUNCHED(cx, op);
        group_scan_k<<<1, 1, 0, cx->stream>>>(c->offsets, Nr);
        CU_LAUNCHED(cx, op);
        group_fill_k<<<Nr, CU_THREADS, 0, cx->stream>>>(c->order, c->topk, c->offsets, TK);
        CU_LAUNCHED(cx, op);
    }
    if (Nr > 0 && TK > 0) {
        /* routed filters */
        float **tab = weight_table(cx, w, Nr, op);
        if (!tab)
            return;
        route_down_k<<<(TK + SF_WARPS - 1) / SF_WARPS, SF_WARPS * 32, 0, cx->stream>>>(c->h, c->a, c->order, c->topk,
                                                                                     c->xhat, tab, Nr, TK, K, D, bn);
        CU_LAUNCHED(cx, op);
        route_up_k<<<cu_blocks((size_t)TK * D), CU_THREADS, 0, cx->stream>>>(c->slot, c->a, c->gw, c->order, c->topk,
                                                                             tab, Nr, TK, D, bn);
        CU_LAUNCHED(cx, op);
    }
    /* shared filter straight into out, then the routed outputs */
    if (d->Ns > 0) {
        const int S = Nr;
        affine_rows_k<<<cu_blocks((size_t)T * D), CU_THREADS, 0, cx->stream>>>(c->lns, c->xhat, w->pn_w[S],
                                                                               w->pn_b[S], (size_t)T * D, D);
        CU_LAUNCHED(cx, op);
        cu_linear_forward(be, c->hs, c->lns, w->down_w[S], w->down_b[S], T, D, bs);
        cu_silu_forward(be, c->as, c->hs, (size_t)T * bs);
        cu_linear_forward(be, out, c->as, w->up_w[S], w->up_b[S], T, bs, D);
    } else {
        CU_RT(cx, op, cudaMemsetAsync(out, 0, sizeof(float) * (size_t)T * D, cx->stream));
    }
    combine_slots_k<<<cu_blocks((size_t)T * D), CU_THREADS, 0, cx->stream>>>(out, c->slot, T, K, D);
    CU_LAUNCHED(cx, op);
    /* balance loss */
    const size_t nb = (size_t)d->B * Nr;
    double *part = (double *)cu_workspace(cx, sizeof(double) * (nb + 1), op);
    if (!part)
        return;
    balance_k<<<d->B, 128, 0, cx->stream>>>(c->f, part + 1, c->topk, c->s, d->Ts, Nr, K);
    CU_LAUNCHED(cx, op);
    sum_in_order_k<<<1, 1, 0, cx->stream>>>(part, part + 1, nb);
    CU_LAUNCHED(cx, op);
    const double bal = cu_fetch_double(cx, part, op);
    c->balance = (float)(d->alpha * bal / d->B);
}

/* ---------------- routed filters, backward ---------------- */

/* one warp per grouped slot p: tb = dout_t up_w (bn); dgw[q] = tb . a + dout_t . up_b;
 * dh = gw * tb * silu'(h) */
__global__ void slot_bwd_k(float *dh, float *dgw, const float *dout, const float *h, const float *a,
                           const float *gw, const int *order, const int *topk, float *const *tab, int Nr, int TK,
                           int K, int D, int bn)
{
    const int p = blockIdx.x * SF_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (p >= TK)
        return;
    const int q = order[p], f = topk[q];
    const float *src = dout + (size_t)(q / K) * D;
    const float *uw = TAB(tab, UP_W, f), *ub = TAB(tab, UP_B, f);
    const float g = gw[q];
    float dw = 0.0f;
    for (int k = 0; k < bn; k++) {
        float acc = 0.0f;
        for (int j = lane; j < D; j += 32)
            acc += src[j] * uw[(size_t)j * bn + k];
        acc = cu_warp_sum(acc);
        dw += acc * a[(size_t)p * bn + k];
        if (lane == 0) {
            const float hv = h[(size_t)p * bn + k];
            const float sg = 1.0f / (1.0f + expf(-hv));
            dh[(size_t)p * bn + k] = g * acc * sg * (1.0f + hv * (1.0f - sg));
        }
    }
    float bsum = 0.0f;
    for (int j = lane; j < D; j += 32)
        bsum += src[j] * ub[j];
    bsum = cu_warp_sum(bsum);
    if (lane == 0)
        dgw[q] = dw + bsum;
}

/* grid (D tiles, bn + 1, Nr), y and z capped (loops cover the rest):
 * up_w[f][j, k] += sum_p gw dout_t[j] a[p, k]; k == bn: up_b[f][j] */
__global__ void up_grad_k(float *const *gtab, const float *dout, const float *a, const float *gw, const int *order,
                          const int *offsets, int Nr, int K, int D, int bn)
{
    const int j = blockIdx.x * SF_COLS + threadIdx.x;
    if (j >= D)
        return;
    for (int f = blockIdx.z; f < Nr; f += gridDim.z)
        for (int k = blockIdx.y; k <= bn; k += gridDim.y) {
            float acc = 0.0f;
            for (int p = offsets[f]; p < offsets[f + 1]; p++) {
                const int q = order[p];
                const float gy = gw[q] * dout[(size_t)(q / K) * D + j];
                acc += k < bn ? gy * a[(size_t)p * bn + k] : gy;
            }
            if (k < bn)
                TAB(gtab, UP_W, f)[(size_t)j * bn + k] += acc;
            else
                TAB(gtab, UP_B, f)[j] += acc;
        }
}

/* grid (D tiles, Nr), y capped (a loop covers the rest): dln = dh down_w;
 * pn_w[f] += sum dln xhat; pn_b[f] += sum dln; dslot[q] = dln * pn_w */
__global__ void pn_grad_k(float *dslot, float *const *gtab, float *const *tab, const float *dh, const float *xhat,
                          const int *order, const int *offsets, int Nr, int K, int D, int bn)
{
    const int j = blockIdx.x * SF_COLS + threadIdx.x;
    if (j >= D)
        return;
    for (int f = blockIdx.y; f < Nr; f += gridDim.y) {
        const float pw = TAB(tab, PN_W, f)[j];
        const float *dw = TAB(tab, DOWN_W, f);
        float aw = 0.0f, ab = 0.0f;
        for (int p = offsets[f]; p < offsets[f + 1]; p++) {
            const int q = order[p];
            float gl = 0.0f;
            for (int k = 0; k < bn; k++)
                gl += dh[(size_t)p * bn + k] * dw[(size_t)k * D + j];
            aw += gl * xhat[(size_t)(q / K) * D + j];
            ab += gl;
            dslot[(size_t)q * D + j] = gl * pw;
        }
        TAB(gtab, PN_W, f)[j] += aw;
        TAB(gtab, PN_B, f)[j] += ab;
    }
}

/* grid (D tiles, bn, Nr), y and z capped (loops cover the rest):
 * down_w[f][k, j] += sum_p dh[p, k] (xhat_t[j] pn_w[j] + pn_b[j]) */
__global__ void down_grad_k(float *const *gtab, float *const *tab, const float *dh, const float *xhat,
                            const int *order, const int *offsets, int Nr, int K, int D, int bn)
{
    const int j = blockIdx.x * SF_COLS + threadIdx.x;
    if (j >= D)
        return;
    for (int f = blockIdx.z; f < Nr; f += gridDim.z) {
        const float pw = TAB(tab, PN_W, f)[j], pb = TAB(tab, PN_B, f)[j];
        for (int k = blockIdx.y; k < bn; k += gridDim.y) {
            float acc = 0.0f;
            for (int p = offsets[f]; p < offsets[f + 1]; p++) {
                const int q = order[p];
                acc += dh[(size_t)p * bn + k] * (xhat[(size_t)(q / K) * D + j] * pw + pb);
            }
            TAB(gtab, DOWN_W, f)[(size_t)k * D + j] += acc;
        }
    }
}

/* grid Nr: down_b[f][k] += sum_p dh[p, k] */
__global__ void down_bias_grad_k(float *const *gtab, const float *dh, const int *offsets, int Nr, int bn)
{
    const int f = blockIdx.x;
    for (int k = threadIdx.x; k < bn; k += blockDim.x) {
        float acc = 0.0f;
        for (int p = offsets[f]; p < offsets[f + 1]; p++)
            acc += dh[(size_t)p * bn + k];
        TAB(gtab, DOWN_B, f)[k] += acc;
    }
}

/* one warp per token: gx = dxhat + sum_k dslot (kept in dxhat); the unit-affine
 * LayerNorm backward into dx */
__global__ void token_bwd_k(float *dx, float *dxhat, const float *dslot, const float *xhat, const float *rstd, int T,
                            int K, int D)
{
    const int t = blockIdx.x * SF_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (t >= T)
        return;
    float *gx = dxhat + (size_t)t * D;
    const float *xh = xhat + (size_t)t * D;
    float m1 = 0.0f, m2 = 0.0f;
    for (int j = lane; j < D; j += 32) {
        float v = gx[j];
        for (int k = 0; k < K; k++)
            v += dslot[((size_t)t * K + k) * D + j];
        gx[j] = v;
        m1 += v;
        m2 += v * xh[j];
    }
    m1 = cu_warp_sum(m1) / D;
    m2 = cu_warp_sum(m2) / D;
    if (!dx)
        return;
    const float rs = rstd[t];
    for (int j = lane; j < D; j += 32)
        dx[(size_t)t * D + j] += rs * (gx[j] - m1 - xh[j] * m2);
}

/* one thread per token: ds = balance term + gate-weight term, then the softmax backward */
__global__ void router_bwd_k(float *ds_out, const float *s, const float *fb_all, const int *topk, const float *dgw,
                             int T, int Ts, int Nr, int K, float kb, float scale)
{
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= T)
        return;
    const float *sv = s + (size_t)t * Nr, *fb = fb_all + (size_t)(t / Ts) * Nr;
    float *ds = ds_out + (size_t)t * Nr;
    for (int i = 0; i < Nr; i++)
        ds[i] = kb * fb[i];
    const int *idx = topk + (size_t)t * K;
    const float *g = dgw + (size_t)t * K;
    float tot = 0.0f, dot = 0.0f;
    for (int k = 0; k < K; k++) {
        tot += sv[idx[k]];
        dot += g[k] * sv[idx[k]];
    }
    for (int k = 0; k < K; k++)
        ds[idx[k]] += scale * (g[k] / tot - dot / (tot * tot));
    float sd = 0.0f;
    for (int i = 0; i < Nr; i++)
        sd += sv[i] * ds[i];
    for (int i = 0; i < Nr; i++)
        ds[i] = sv[i] * (ds[i] - sd);
}

void cu_sffm_backward(sibvad_be be, float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                      const float *dout, float balance_scale, sibvad_sffm_cache *c, const float *x,
                      const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    cuctx *cx = CTX(be);
    const char *op = "sffm_backward";
    const int T = d->B * d->Ts, D = d->D, Nr = d->Nr, K = d->K, bn = d->b, bs = d->b * d->Ns;
    const int TK = T * K;
    const size_t TD = (size_t)T * D;
    if (T <= 0 || D <= 0)
        return;
    CU_ENTER(cx);
    CU_RT(cx, op, cudaMemsetAsync(s->dxhat, 0, sizeof(float) * TD, cx->stream));
    /* shared filter */
    if (d->Ns > 0) {
        const int S = Nr;
        CU_RT(cx, op, cudaMemsetAsync(s->das, 0, sizeof(float) * (size_t)T * bs, cx->stream));
        cu_linear_backward(be, s->das, g->up_w[S], g->up_b[S], dout, c->as, w->up_w[S], T, bs, D);
        CU_RT(cx, op, cudaMemsetAsync(s->dhs, 0, sizeof(float) * (size_t)T * bs, cx->stream));
        cu_silu_backward(be, s->dhs, s->das, c->hs, (size_t)T * bs);
        CU_RT(cx, op, cudaMemsetAsync(s->dlns, 0, sizeof(float) * TD, cx->stream));
        cu_linear_backward(be, s->dlns, g->down_w[S], g->down_b[S], s->dhs, c->lns, w->down_w[S], T, D, bs);
        cu_colsum_add(cx, op, g->pn_w[S], s->dlns, c->xhat, T, D, D, T, 0);
        cu_colsum_add(cx, op, g->pn_b[S], s->dlns, NULL, T, D, D, T, 0);
        cu_mul_rowvec_backward(be, s->dxhat, NULL, s->dlns, NULL, w->pn_w[S], T, D);
    }
    /* routed filters: per-slot input gradients into c->slot (reused), gate-weight gradients into s->dgw
     * (none without filters or picks: no empty grids) */
    float *dslot = c->slot;
    if (Nr > 0 && TK > 0) {
        float **tab = weight_table(cx, w, Nr, op);
        float **gtab = tab ? weight_table(cx, g, Nr, op) : NULL;
        if (!tab || !gtab)
            return;
        float *dh = (float *)cu_workspace(cx, sizeof(float) * ((size_t)TK * bn + 1), op);
        if (!dh)
            return;
        slot_bwd_k<<<(TK + SF_WARPS - 1) / SF_WARPS, SF_WARPS * 32, 0, cx->stream>>>(
            dh, s->dgw, dout, c->h, c->a, c->gw, c->order, c->topk, tab, Nr, TK, K, D, bn);
        CU_LAUNCHED(cx, op);
        const unsigned dt = (unsigned)((D + SF_COLS - 1) / SF_COLS);
        const dim3 gup(dt, cu_grid_yz(bn + 1LL), cu_grid_yz(Nr)), gpn(dt, cu_grid_yz(Nr));
        const dim3 gdown(dt, cu_grid_yz(bn), cu_grid_yz(Nr));
        up_grad_k<<<gup, SF_COLS, 0, cx->stream>>>(gtab, dout, c->a, c->gw, c->order, c->offsets, Nr, K, D, bn);
        CU_LAUNCHED(cx, op);
        pn_grad_k<<<gpn, SF_COLS, 0, cx->stream>>>(dslot, gtab, tab, dh, c->xhat, c->order, c->offsets, Nr, K, D, bn);
        CU_LAUNCHED(cx, op);
        if (bn > 0) {
            down_grad_k<<<gdown, SF_COLS, 0, cx->stream>>>(gtab, tab, dh, c->xhat, c->order, c->offsets, Nr, K, D, bn);
            CU_LAUNCHED(cx, op);
        }
        down_bias_grad_k<<<Nr, 32, 0, cx->stream>>>(gtab, dh, c->offsets, Nr, bn);
        CU_LAUNCHED(cx, op);
    }
    /* sum the slots of each token, then the shared LayerNorm backward (unit affine) */
    token_bwd_k<<<(T + SF_WARPS - 1) / SF_WARPS, SF_WARPS * 32, 0, cx->stream>>>(dx, s->dxhat, dslot, c->xhat,
                                                                               c->rstd, T, K, D);
    CU_LAUNCHED(cx, op);
    /* router: gate weights -> top-K scores, balance loss -> all scores, softmax */
    const float kb = balance_scale * d->alpha / (d->B * (float)d->Ts);
    router_bwd_k<<<(T + 127) / 128, 128, 0, cx->stream>>>(s->ds, c->s, c->f, c->topk, s->dgw, T, d->Ts, Nr, K, kb,
                                                          d->scale);
    CU_LAUNCHED(cx, op);
    cu_linear_backward(be, dx, g->gate, NULL, s->ds, x, w->gate, T, D, Nr);
}
