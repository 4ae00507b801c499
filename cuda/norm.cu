/* norm.cu: LayerNorm over the last dimension, one warp per row.
 * forward:  mean, then the variance as the mean of (x - mean)^2 (two passes,
 *           as the CPU), rstd = 1 / sqrtf(var + eps); w NULL: unit affine.
 * backward: din += rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * w;
 *           dw += sum_r dout * xhat, db += sum_r dout: 32 columns x a chunk of
 *           rows per block, partial sums in a fixed order (deterministic). */
#include "cuda-internal.h"

#define LN_WARPS 8

__global__ void ln_forward_kernel(float *out, float *mean, float *rstd, const float *in, const float *w,
                                  const float *b, int R, int C, float eps)
{
    const int row = blockIdx.x * LN_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= R)
        return;
    const float *x = in + (size_t)row * C;
    float *o = out + (size_t)row * C;
    float s = 0.0f;
    for (int i = lane; i < C; i += 32)
        s += x[i];
    s = cu_warp_sum(s);
    const float m = s / C;
    float v = 0.0f;
    for (int i = lane; i < C; i += 32) {
        const float d = x[i] - m;
        v += d * d;
    }
    v = cu_warp_sum(v);
    const float rs = 1.0f / sqrtf(v / C + eps);
    if (w)
        for (int i = lane; i < C; i += 32)
            o[i] = (x[i] - m) * rs * w[i] + b[i];
    else
        for (int i = lane; i < C; i += 32)
            o[i] = (x[i] - m) * rs;
    if (lane == 0) {
        if (mean)
            mean[row] = m;
        if (rstd)
            rstd[row] = rs;
    }
}

void cu_layernorm_forward(sibvad_be be, float *out, float *mean, float *rstd, const float *in, const float *w,
                          const float *b, int R, int C, float eps)
{
    cuctx *c = CTX(be);
    if (R <= 0 || C <= 0)
        return;
    CU_ENTER(c);
    ln_forward_kernel<<<(R + LN_WARPS - 1) / LN_WARPS, LN_WARPS * 32, 0, c->stream>>>(out, mean, rstd, in, w, b, R,
                                                                                        C, eps);
    CU_LAUNCHED(c, "layernorm_forward");
}

__global__ void ln_backward_din_kernel(float *din, const float *dout, const float *in, const float *w,
                                       const float *mean, const float *rstd, int R, int C)
{
    const int row = blockIdx.x * LN_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= R)
        return;
    const float *x = in + (size_t)row * C, *g = dout + (size_t)row * C;
    float *dx = din + (size_t)row * C;
    const float m = mean[row], rs = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int i = lane; i < C; i += 32) {
        const float gw = g[i] * w[i];
        sg += gw;
        sgx += gw * (x[i] - m) * rs;
    }
    sg = cu_warp_sum(sg) / C;
    sgx = cu_warp_sum(sgx) / C;
    for (int i = lane; i < C; i += 32) {
        const float xh = (x[i] - m) * rs;
        dx[i] += rs * (g[i] * w[i] - sg - xh * sgx);
    }
}

#define LP_X 32
#define LP_Y 16

__global__ void ln_param_kernel(float *dw_dst, float *db_dst, int direct, const float *dout, const float *in,
                                const float *mean, const float *rstd, int R, int C, int chunk_rows)
{
    __shared__ float sw[LP_Y][LP_X + 1], sb[LP_Y][LP_X + 1];
    const int tx = threadIdx.x, ty = threadIdx.y, col = blockIdx.x * LP_X + tx;
    const int r0 = blockIdx.y * chunk_rows;
    const int r1 = min(R, r0 + chunk_rows);
    float aw = 0.0f, ab = 0.0f;
    if (col < C)
        for (int r = r0 + ty; r < r1; r += LP_Y) {
            const float g = dout[(size_t)r * C + col];
            aw += g * (in[(size_t)r * C + col] - mean[r]) * rstd[r];
            ab += g;
        }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && col < C) {
        float w = 0.0f, b = 0.0f;
        for (int i = 0; i < LP_Y; i++) {
            w += sw[i][tx];
            b += sb[i][tx];
        }
        if (direct) {
            if (dw_dst)
                dw_dst[col] += w;
            if (db_dst)
                db_dst[col] += b;
        } else {
            dw_dst[(size_t)blockIdx.y * C + col] = w;
            db_dst[(size_t)blockIdx.y * C + col] = b;
        }
    }
}

/* launched with cu_blocks (capped): a grid-stride loop over the columns */
__global__ void ln_param_finish(float *dw, float *db, const float *pw, const float *pb, int chunks, int C)
{
    CU_GRID_STRIDE(col, (size_t)C)
    {
        float w = 0.0f, b = 0.0f;
        for (int i = 0; i < chunks; i++) {
            w += pw[(size_t)i * C + col];
            b += pb[(size_t)i * C + col];
        }
        if (dw)
            dw[col] += w;
        if (db)
            db[col] += b;
    }
}

void cu_layernorm_backward(sibvad_be be, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, const float *mean, const float *rstd, int R, int C)
{
    cuctx *c = CTX(be);
    if (R <= 0 || C <= 0)
        return;
    CU_ENTER(c);
    if (din) {
        ln_backward_din_kernel<<<(R + LN_WARPS - 1) / LN_WARPS, LN_WARPS * 32, 0, c->stream>>>(din, dout, in, w, mean,
                                                                                             rstd, R, C);
        CU_LAUNCHED(c, "layernorm_backward");
    }
    if (!dw && !db)
        return;
    const int cblocks = (C + LP_X - 1) / LP_X;
    int chunks = (R + 511) / 512;
    int maxc = 4 * c->sm_count / cblocks;
    if (maxc < 1)
        maxc = 1;
    if (chunks > maxc)
        chunks = maxc;
    if ((size_t)chunks * C > CU_COLSUM_FLOATS / 2)
        chunks = (int)(CU_COLSUM_FLOATS / 2 / C);
    if (chunks > 65535)
        chunks = 65535;
    if (chunks < 1)
        chunks = 1;
    const int chunk_rows = (R + chunks - 1) / chunks;
    chunks = (R + chunk_rows - 1) / chunk_rows;
    dim3 grid(cblocks, chunks), block(LP_X, LP_Y);
    if (chunks == 1) {
        ln_param_kernel<<<grid, block, 0, c->stream>>>(dw, db, 1, dout, in, mean, rstd, R, C, chunk_rows);
        CU_LAUNCHED(c, "layernorm_backward");
        return;
    }
    float *pw = c->colsum, *pb = c->colsum + CU_COLSUM_FLOATS / 2;
    ln_param_kernel<<<grid, block, 0, c->stream>>>(pw, pb, 0, dout, in, mean, rstd, R, C, chunk_rows);
    CU_LAUNCHED(c, "layernorm_backward");
    ln_param_finish<<<cu_blocks(C), CU_THREADS, 0, c->stream>>>(dw, db, pw, pb, chunks, C);
    CU_LAUNCHED(c, "layernorm_backward");
}
