/* losses.cu: the losses, the cosine score, dot and the per-clip visual error.
 *  L_pred   = mean (pred - target)^2
 *  L_motion = mean max(0, (pred - target)^2 - (pred - prev)^2)
 *  L_sem    = mean_b 1 - a.t / (max(|a|, 1e-8) max(|t|, 1e-8))
 * Sums are in double, as on the CPU: a fixed grid of blocks writes one partial
 * each, one block adds the partials in order (no atomics: the result does not
 * depend on timing), and the value comes back to the host (a synchronisation).
 * Each backward adds scale * dL/da. */
#include "cuda-internal.h"

#include <math.h>

#define RED_BLOCKS 1024

struct mse_term {
    const float *a, *b;
    __device__ double operator()(size_t i) const
    {
        const double d = (double)a[i] - b[i];
        return d * d;
    }
};

struct motion_term {
    const float *p, *t, *q;
    __device__ double operator()(size_t i) const
    {
        const float e1 = p[i] - t[i], e2 = p[i] - q[i];
        const float h = e1 * e1 - e2 * e2;
        return h > 0.0f ? (double)h : 0.0;
    }
};

struct dot_term {
    const float *x, *y;
    __device__ double operator()(size_t i) const { return (double)x[i] * y[i]; }
};

template <class F> __global__ void reduce_k(double *part, size_t n, F f)
{
    __shared__ double sh[32];
    double acc = 0.0;
    CU_GRID_STRIDE(i, n)
    acc += f(i);
    const double s = cu_block_sum_d(acc, sh);
    if (threadIdx.x == 0)
        part[blockIdx.x] = s;
}

/* out[0] = sum of part[0..n) in a fixed order (one block) */
__global__ void reduce_finish_k(double *out, const double *part, int n)
{
    __shared__ double sh[32];
    double acc = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        acc += part[i];
    const double s = cu_block_sum_d(acc, sh);
    if (threadIdx.x == 0)
        out[0] = s;
}

template <class F> static double reduce_sum(cuctx *c, const char *op, size_t n, F f)
{
    if (n == 0)
        return 0.0;
    unsigned blocks = cu_blocks(n);
    if (blocks > RED_BLOCKS)
        blocks = RED_BLOCKS;
    reduce_k<<<blocks, CU_THREADS, 0, c->stream>>>(c->red + 1, n, f);
    if (CU_LAUNCHED(c, op) < 0)
        return NAN;
    reduce_finish_k<<<1, CU_THREADS, 0, c->stream>>>(c->red, c->red + 1, (int)blocks);
    if (CU_LAUNCHED(c, op) < 0)
        return NAN;
    return cu_fetch_double(c, c->red, op);
}

float cu_mse_forward(sibvad_be be, const float *a, const float *b, size_t n)
{
    cuctx *c = CTX(be);
    CU_ENTER(c);
    mse_term f = {a, b};
    return (float)(reduce_sum(c, "mse_forward", n, f) / (double)n);
}

float cu_motion_loss_forward(sibvad_be be, const float *pred, const float *target, const float *prev, size_t n)
{
    cuctx *c = CTX(be);
    CU_ENTER(c);
    motion_term f = {pred, target, prev};
    return (float)(reduce_sum(c, "motion_loss_forward", n, f) / (double)n);
}

double cu_dot(sibvad_be be, const float *x, const float *y, size_t n)
{
    cuctx *c = CTX(be);
    CU_ENTER(c);
    dot_term f = {x, y};
    return reduce_sum(c, "dot", n, f);
}

__global__ void mse_bwd_k(float *da, const float *a, const float *b, size_t n, float k)
{
    CU_GRID_STRIDE(i, n)
    da[i] += k * (a[i] - b[i]);
}

__global__ void motion_bwd_k(float *dp, const float *p, const float *t, const float *q, size_t n, float k)
{
    CU_GRID_STRIDE(i, n)
    {
        const float e1 = p[i] - t[i], e2 = p[i] - q[i];
        if (e1 * e1 - e2 * e2 > 0.0f)
            dp[i] += k * (e1 - e2);
    }
}

void cu_mse_backward(sibvad_be be, float *da, const float *a, const float *b, size_t n, float scale)
{
    cuctx *c = CTX(be);
    if (!n || !da)
        return;
    CU_ENTER(c);
    const float k = 2.0f * scale / (float)n;
    mse_bwd_k<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(da, a, b, n, k);
    CU_LAUNCHED(c, "mse_backward");
}

void cu_motion_loss_backward(sibvad_be be, float *dpred, const float *pred, const float *target,
                             const float *prev, size_t n, float scale)
{
    cuctx *c = CTX(be);
    if (!n || !dpred)
        return;
    CU_ENTER(c);
    const float k = 2.0f * scale / (float)n;
    motion_bwd_k<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(dpred, pred, target, prev, n, k);
    CU_LAUNCHED(c, "motion_loss_backward");
}

/* ---------------- cosine ---------------- */

/* a.t, |a|, |t| of one row (block-wide, valid in every thread) */
__device__ void row_stats(const float *a, const float *t, int S, double *dot, double *na, double *nt)
{
    __shared__ double sh[32];
    __shared__ double res[3];
    double d = 0.0, x = 0.0, y = 0.0;
    for (int j = threadIdx.x; j < S; j += blockDim.x) {
        d += (double)a[j] * t[j];
        x += (double)a[j] * a[j];
        y += (double)t[j] * t[j];
    }
    d = cu_block_sum_d(d, sh);
    if (threadIdx.x == 0)
        res[0] = d;
    x = cu_block_sum_d(x, sh);
    if (threadIdx.x == 0)
        res[1] = x;
    y = cu_block_sum_d(y, sh);
    if (threadIdx.x == 0)
        res[2] = y;
    __syncthreads();
    *dot = res[0];
    *na = sqrt(res[1]);
    *nt = sqrt(res[2]);
    __syncthreads();
}

/* one block per row: the distance as float, and as double for a sum */
__global__ void cosine_distance_k(float *out, double *outd, const float *a, const float *t, int S)
{
    const size_t b = blockIdx.x;
    double d, na, nt;
    row_stats(a + b * S, t + b * S, S, &d, &na, &nt);
    if (threadIdx.x == 0) {
        const float v = (float)(1.0 - d / (fmax(na, 1e-8) * fmax(nt, 1e-8)));
        if (out)
            out[b] = v;
        if (outd)
            outd[b] = (double)v;
    }
}

__global__ void cosine_bwd_k(float *da, const float *a, const float *t, int S, double k)
{
    const size_t b = blockIdx.x;
    const float *ar = a + b * S, *tr = t + b * S;
    double d, na, nt;
    row_stats(ar, tr, S, &d, &na, &nt);
    const double ma = fmax(na, 1e-8), mt = fmax(nt, 1e-8);
    for (int j = threadIdx.x; j < S; j += blockDim.x) {
        double g = tr[j] / (ma * mt);
        if (na > 1e-8)
            g -= d / (ma * ma * mt) * ar[j] / na;
        da[b * S + j] += (float)(k * g);
    }
}

void cu_cosine_distance(sibvad_be be, float *out, const float *a, const float *t, int B, int S)
{
    cuctx *c = CTX(be);
    if (B <= 0)
        return;
    CU_ENTER(c);
    cosine_distance_k<<<B, CU_THREADS, 0, c->stream>>>(out, NULL, a, t, S);
    CU_LAUNCHED(c, "cosine_distance");
}

float cu_cosine_loss_forward(sibvad_be be, const float *a, const float *t, int B, int S)
{
    cuctx *c = CTX(be);
    if (B <= 0)
        return NAN;
    CU_ENTER(c);
    double *dist = (double *)cu_workspace(c, sizeof(double) * B, "cosine_loss_forward");
    if (!dist)
        return NAN;
    cosine_distance_k<<<B, CU_THREADS, 0, c->stream>>>(NULL, dist, a, t, S);
    if (CU_LAUNCHED(c, "cosine_loss_forward") < 0)
        return NAN;
    reduce_finish_k<<<1, CU_THREADS, 0, c->stream>>>(c->red, dist, B);
    if (CU_LAUNCHED(c, "cosine_loss_forward") < 0)
        return NAN;
    return (float)(cu_fetch_double(c, c->red, "cosine_loss_forward") / B);
}

void cu_cosine_loss_backward(sibvad_be be, float *da, const float *a, const float *t, int B, int S, float scale)
{
    cuctx *c = CTX(be);
    if (B <= 0 || !da)
        return;
    CU_ENTER(c);
    cosine_bwd_k<<<B, CU_THREADS, 0, c->stream>>>(da, a, t, S, -(double)scale / B);
    CU_LAUNCHED(c, "cosine_loss_backward");
}

/* ---------------- visual error ---------------- */

#define VE_MAX_BLOCKS 64

/* grid (nblk, clips): e = sum_c (pred - target)^2 per pixel; map = e / C; partial sums of e */
__global__ void visual_error_k(double *part, float *map, const float *pred, const float *target, int C, size_t HW)
{
    __shared__ double sh[32];
    const size_t b = blockIdx.y;
    const float *p = pred + b * C * HW, *t = target + b * C * HW;
    double acc = 0.0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < HW; i += (size_t)gridDim.x * blockDim.x) {
        float e = 0.0f;
        for (int ch = 0; ch < C; ch++) {
            const float d = p[ch * HW + i] - t[ch * HW + i];
            e += d * d;
        }
        acc += e;
        if (map)
            map[b * HW + i] = e / C;
    }
    if (!part)
        return;
    const double s = cu_block_sum_d(acc, sh);
    if (threadIdx.x == 0)
        part[b * gridDim.x + blockIdx.x] = s;
}

/* launched with cu_blocks (capped): a grid-stride loop over the clips */
__global__ void visual_finish_k(float *vis, const double *part, int nblk, int B, double denom)
{
    CU_GRID_STRIDE(b, (size_t)B)
    {
        double s = 0.0;
        for (int i = 0; i < nblk; i++)
            s += part[b * nblk + i];
        vis[b] = (float)(s / denom);
    }
}

void cu_visual_error(sibvad_be be, float *visual_host, float *error_map, const float *pred, const float *target,
                     int B, int C, size_t HW)
{
    cuctx *c = CTX(be);
    if (B <= 0 || HW == 0 || (!visual_host && !error_map))
        return;
    CU_ENTER(c);
    unsigned nblk = cu_blocks(HW);
    if (nblk > VE_MAX_BLOCKS)
        nblk = VE_MAX_BLOCKS;
    double *part = NULL;
    float *vis = NULL;
    if (visual_host) {
        const size_t pbytes = sizeof(double) * (size_t)B * nblk;
        char *ws = (char *)cu_workspace(c, pbytes + sizeof(float) * B, "visual_error");
        if (!ws)
            return;
        part = (double *)ws;
        vis = (float *)(ws + pbytes);
    }
    /* clips along grid y: at most CU_MAX_GRID_YZ per launch */
    for (long long b0 = 0; b0 < B; b0 += CU_MAX_GRID_YZ) {
        const unsigned nb = cu_grid_yz(B - b0);
        const size_t off = (size_t)b0 * C * HW;
        dim3 grid(nblk, nb);
        visual_error_k<<<grid, CU_THREADS, 0, c->stream>>>(part ? part + (size_t)b0 * nblk : NULL,
                                                           error_map ? error_map + (size_t)b0 * HW : NULL,
                                                           pred + off, target + off, C, HW);
        if (CU_LAUNCHED(c, "visual_error") < 0)
            return;
    }
    if (!visual_host)
        return;
    visual_finish_k<<<cu_blocks((size_t)B), CU_THREADS, 0, c->stream>>>(vis, part, (int)nblk, B, (double)C * HW);
    if (CU_LAUNCHED(c, "visual_error") < 0)
        return;
    if (CU_RT(c, "visual_error",
              cudaMemcpyAsync(visual_host, vis, sizeof(float) * B, cudaMemcpyDeviceToHost, c->stream)) < 0)
        return;
    CU_RT(c, "visual_error", cudaStreamSynchronize(c->stream));
}
