/* conv.cu: the convolutions.
 *  - patch embedding (kernel = stride = p): im2col kernel (cols cached for
 *    backward, column order (c, kh, kw)), one strided-batched GEMM over the
 *    images into token rows 1..Np, then CLS, bias and position embedding;
 *    backward: dW per image through cuBLAS, db / dcls / dpos as column sums;
 *  - same-padded k x k convolution, stride 1, NCHW (cross-correlation, as the
 *    CPU): cuDNN with algorithms chosen once per shape by cuDNN's heuristics
 *    (deterministic ones first, no TF32 unless allowed, the workspace in the
 *    context; each algorithm's math type set on the descriptor before its
 *    call, FMA only at fp32); when cuDNN is missing, refuses a shape, or SIBVAD_CUDA_CONV=direct,
 *    direct kernels (one thread per output / input element, one block per
 *    weight; the only path in a build without cuDNN). Bias and its gradient
 *    are our own kernels on both paths. */
#include "cuda-internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ---------------- patch embedding ---------------- */

__global__ void im2col_patch_k(float *cols, const float *img, int C, int Hh, int Ww, int p, int gw, int Np,
                               size_t total)
{
    const int K = C * p * p;
    CU_GRID_STRIDE(i, total)
    {
        const int kk = (int)(i % K);
        const size_t row = i / K;
        const size_t n = row / Np;
        const int g = (int)(row % Np);
        const int gy = g / gw, gx = g % gw;
        const int ch = kk / (p * p), kh = (kk / p) % p, kw = kk % p;
        cols[i] = img[((n * C + ch) * Hh + (size_t)gy * p + kh) * Ww + (size_t)gx * p + kw];
    }
}

/* tok[n, 0] = cls + pos[0]; tok[n, j >= 1] += b + pos[j] */
__global__ void patch_tokens_k(float *tok, const float *b, const float *cls, const float *pos, int Np, int D,
                               size_t total)
{
    CU_GRID_STRIDE(i, total)
    {
        const int d = (int)(i % D);
        const int j = (int)((i / D) % (Np + 1));
        if (j == 0)
            tok[i] = (cls ? cls[d] : 0.0f) + (pos ? pos[d] : 0.0f);
        else
            tok[i] += (b ? b[d] : 0.0f) + (pos ? pos[(size_t)j * D + d] : 0.0f);
    }
}

void cu_patch_embed_forward(sibvad_be be, float *tok, float *cols, const float *img, const float *W,
                            const float *b, const float *cls, const float *pos, int Bi, int C, int Hh, int Ww,
                            int p, int D)
{
    cuctx *c = CTX(be);
    const int gh = Hh / p, gw = Ww / p, Np = gh * gw, K = C * p * p;
    if (Bi <= 0 || D <= 0)
        return;
    CU_ENTER(c);
    const size_t ncols = (size_t)Bi * Np * K;
    if (ncols) {
        im2col_patch_k<<<cu_blocks(ncols), CU_THREADS, 0, c->stream>>>(cols, img, C, Hh, Ww, p, gw, Np, ncols);
        CU_LAUNCHED(c, "patch_embed_forward");
    }
    /* tok[n, 1 + j] = cols[n, j] W^T, images as a strided batch (W shared) */
    cu_gemm_batched(c, "patch_embed_forward", false, true, Np, D, K, 1.0f, cols, K, (long long)Np * K, W, K, 0,
                    0.0f, tok + D, D, (long long)(Np + 1) * D, Bi);
    const size_t ntok = (size_t)Bi * (Np + 1) * D;
    patch_tokens_k<<<cu_blocks(ntok), CU_THREADS, 0, c->stream>>>(tok, b, cls, pos, Np, D, ntok);
    CU_LAUNCHED(c, "patch_embed_forward");
}

void cu_patch_embed_backward(sibvad_be be, float *dW, float *db, float *dcls, float *dpos, const float *dtok,
                             const float *cols, int Bi, int C, int Hh, int Ww, int p, int D)
{
    cuctx *c = CTX(be);
    const int Np = (Hh / p) * (Ww / p), K = C * p * p;
    if (Bi <= 0 || D <= 0)
        return;
    CU_ENTER(c);
    if (dW)
        for (int n = 0; n < Bi; n++)
            cu_gemm(c, "patch_embed_backward", true, false, D, K, Np, 1.0f, dtok + ((size_t)n * (Np + 1) + 1) * D, D,
                    cols + (size_t)n * Np * K, K, 1.0f, dW, K);
    const long long img = (long long)(Np + 1) * D;
    /* db: rows (n, j >= 1); dcls: rows (n, 0); dpos[j]: rows (n, j), as column sums */
    if (db)
        cu_colsum_add(c, "patch_embed_backward", db, dtok + D, NULL, (long long)Bi * Np, D, D, Np, img);
    if (dcls)
        cu_colsum_add(c, "patch_embed_backward", dcls, dtok, NULL, Bi, D, img, Bi, 0);
    if (dpos) /* (Np + 1) * D columns summed over the images */
        cu_colsum_add(c, "patch_embed_backward", dpos, dtok, NULL, Bi, (int)img, img, Bi, 0);
}

/* ---------------- convolution: direct kernels ---------------- */

__global__ void conv_fwd_direct_k(float *out, const float *in, const float *W, const float *b, int Ci, int Co,
                                  int Hh, int Ww, int k, size_t total)
{
    const int r = k / 2;
    CU_GRID_STRIDE(i, total)
    {
        const int x = (int)(i % Ww);
        size_t t = i / Ww;
        const int y = (int)(t % Hh);
        t /= Hh;
        const int co = (int)(t % Co);
        const size_t n = t / Co;
        float acc = b ? b[co] : 0.0f;
        for (int ci = 0; ci < Ci; ci++) {
            const float *xin = in + (n * Ci + ci) * Hh * Ww;
            const float *w = W + ((size_t)co * Ci + ci) * k * k;
            for (int ky = 0; ky < k; ky++) {
                const int yy = y + ky - r;
                if (yy < 0 || yy >= Hh)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    const int xx = x + kx - r;
                    if (xx >= 0 && xx < Ww)
                        acc += w[ky * k + kx] * xin[(size_t)yy * Ww + xx];
                }
            }
        }
        out[i] = acc;
    }
}

__global__ void conv_bwd_data_direct_k(float *din, const float *dout, const float *W, int Ci, int Co, int Hh,
                                       int Ww, int k, size_t total)
{
    const int r = k / 2;
    CU_GRID_STRIDE(i, total)
    {
        const int x = (int)(i % Ww);
        size_t t = i / Ww;
        const int y = (int)(t % Hh);
        t /= Hh;
        const int ci = (int)(t % Ci);
        const size_t n = t / Ci;
        float acc = 0.0f;
        for (int co = 0; co < Co; co++) {
            const float *g = dout + (n * Co + co) * Hh * Ww;
            const float *w = W + ((size_t)co * Ci + ci) * k * k;
            for (int ky = 0; ky < k; ky++) {
                const int yo = y - (ky - r);
                if (yo < 0 || yo >= Hh)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    const int xo = x - (kx - r);
                    if (xo >= 0 && xo < Ww)
                        acc += w[ky * k + kx] * g[(size_t)yo * Ww + xo];
                }
            }
        }
        din[i] += acc;
    }
}

/* one block per weight (co, ci, ky, kx): sum over n, y, x of dout * shifted in */
__global__ void conv_bwd_filter_direct_k(float *dW, const float *dout, const float *in, int B, int Ci, int Co,
                                         int Hh, int Ww, int k)
{
    __shared__ double sh[32];
    const int r = k / 2;
    const int widx = blockIdx.x;
    const int kx = widx % k, ky = (widx / k) % k, ci = (widx / (k * k)) % Ci, co = widx / (k * k * Ci);
    const int dy = ky - r, dx = kx - r;
    const size_t HW = (size_t)Hh * Ww, total = (size_t)B * HW;
    float acc = 0.0f;
    for (size_t i = threadIdx.x; i < total; i += blockDim.x) {
        const size_t n = i / HW;
        const int y = (int)((i % HW) / Ww), x = (int)(i % Ww);
        const int yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < Hh && xx >= 0 && xx < Ww)
            acc += dout[(n * Co + co) * HW + (size_t)y * Ww + x] * in[(n * Ci + ci) * HW + (size_t)yy * Ww + xx];
    }
    const double s = cu_block_sum_d(acc, sh);
    if (threadIdx.x == 0)
        dW[widx] += (float)s;
}

/* one block per output channel: db[co] += sum over n, y, x of dout */
__global__ void conv_bwd_bias_k(float *db, const float *dout, int B, int Co, size_t HW)
{
    __shared__ double sh[32];
    const int co = blockIdx.x;
    float acc = 0.0f;
    for (size_t i = threadIdx.x; i < (size_t)B * HW; i += blockDim.x) {
        const size_t n = i / HW;
        acc += dout[(n * Co + co) * HW + i % HW];
    }
    const double s = cu_block_sum_d(acc, sh);
    if (threadIdx.x == 0)
        db[co] += (float)s;
}

__global__ void conv_bias_k(float *out, const float *b, int Co, size_t HW, size_t total)
{
    CU_GRID_STRIDE(i, total)
    out[i] += b[(i / HW) % Co];
}

/* ---------------- convolution: cuDNN plans ---------------- */

struct cu_conv_plan {
    int B, Ci, Co, Hh, Ww, k;
    int direct; /* cuDNN refused: the direct kernels */
#if SIBVAD_HAVE_CUDNN
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    /* the math type each algorithm was ranked with, set on conv before its call */
    cudnnMathType_t math_fwd, math_data, math_filter;
#endif
    size_t ws_fwd, ws_data, ws_filter;
};

static void plan_free(cu_conv_plan *p)
{
    if (!p)
        return;
#if SIBVAD_HAVE_CUDNN
    if (p->x)
        cudnnDestroyTensorDescriptor(p->x);
    if (p->y)
        cudnnDestroyTensorDescriptor(p->y);
    if (p->w)
        cudnnDestroyFilterDescriptor(p->w);
    if (p->conv)
        cudnnDestroyConvolutionDescriptor(p->conv);
#endif
    free(p);
}

void cu_conv_plans_destroy(cuctx *c)
{
    for (int i = 0; i < CU_MAX_CONV_PLANS; i++) {
        plan_free(c->plans[i]);
        c->plans[i] = NULL;
    }
    c->nplans = 0;
}

#if SIBVAD_HAVE_CUDNN
/* The workspace one cuDNN algorithm may take (SIBVAD_CUDA_CONV_WS_MB, default 1024). */
static size_t ws_limit(void)
{
    const char *e = getenv("SIBVAD_CUDA_CONV_WS_MB");
    long mb = e && *e ? atol(e) : 1024;
    return (size_t)(mb > 0 ? mb : 1024) << 20;
}

static int math_ok(const cuctx *c, cudnnMathType_t m)
{
    return c->tf32 || (m != CUDNN_TENSOR_OP_MATH && m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

/* The math type the descriptor gets for an algorithm cuDNN ranked with math
 * type m: its own when TF32 is allowed; else always FMA, since
 * CUDNN_DEFAULT_MATH would let cuDNN use TF32 tensor cores on float data (the
 * fp32 precision is for parity with the CPU). */
static cudnnMathType_t math_for(const cuctx *c, cudnnMathType_t m)
{
    return c->tf32 ? m : CUDNN_FMA_MATH;
}

/* Pick from cuDNN's heuristic ranking: the first usable deterministic one,
 * else the first usable one; never the FFT algorithms (float32 accuracy
 * further from the CPU's direct sums, and large workspaces). Usable: it ran
 * the heuristic's checks, fits the workspace limit and its math type is
 * allowed by the precision (math_ok). */
#define PICK_ALGO(c, perf, n, limit, fft1, fft2, out_algo, out_ws, out_math, found)                   \
    do {                                                                                              \
        found = 0;                                                                                    \
        for (int pass = 0; pass < 2 && !found; pass++)                                                \
            for (int i_ = 0; i_ < (n) && !found; i_++) {                                              \
                if ((perf)[i_].status != CUDNN_STATUS_SUCCESS || (perf)[i_].memory > (limit) ||       \
                    !math_ok(c, (perf)[i_].mathType) || (perf)[i_].algo == (fft1) ||                  \
                    (perf)[i_].algo == (fft2))                                                        \
                    continue;                                                                         \
                if (pass == 0 && (perf)[i_].determinism != CUDNN_DETERMINISTIC)                       \
                    continue;                                                                         \
                out_algo = (perf)[i_].algo;                                                           \
                out_ws = (perf)[i_].memory;                                                           \
                out_math = math_for(c, (perf)[i_].mathType);                                          \
                found = 1;                                                                            \
            }                                                                                         \
    } while (0)

static int plan_setup(cuctx *c, cu_conv_plan *p, char *why, size_t whylen)
{
    cudnnStatus_t st;
#define DNN(call)                                                          \
    do {                                                                   \
        if ((st = (call)) != CUDNN_STATUS_SUCCESS) {                       \
            snprintf(why, whylen, "%s: %s", #call, cudnnGetErrorString(st)); \
            return -1;                                                     \
        }                                                                  \
    } while (0)
    const int pad = p->k / 2;
    DNN(cudnnCreateTensorDescriptor(&p->x));
    DNN(cudnnCreateTensorDescriptor(&p->y));
    DNN(cudnnCreateFilterDescriptor(&p->w));
    DNN(cudnnCreateConvolutionDescriptor(&p->conv));
    DNN(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p->B, p->Ci, p->Hh, p->Ww));
    DNN(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p->B, p->Co, p->Hh, p->Ww));
    DNN(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p->Co, p->Ci, p->k, p->k));
    DNN(cudnnSetConvolution2dDescriptor(p->conv, pad, pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DNN(cudnnSetConvolutionMathType(p->conv, c->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    int n, on, oc, oh, ow, found;
    DNN(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
    if (on != p->B || oc != p->Co || oh != p->Hh || ow != p->Ww) {
        snprintf(why, whylen, "unexpected output shape %dx%dx%dx%d", on, oc, oh, ow);
        return -1;
    }
    const size_t limit = ws_limit();
    cudnnConvolutionFwdAlgoPerf_t pf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    DNN(cudnnGetConvolutionForwardAlgorithm_v7(c->dnn, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n,
                                               pf));
    PICK_ALGO(c, pf, n, limit, CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
              p->fwd, p->ws_fwd, p->math_fwd, found);
    if (!found) {
        snprintf(why, whylen, "no forward algorithm");
        return -1;
    }
    cudnnConvolutionBwdDataAlgoPerf_t pd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    DNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->dnn, p->w, p->y, p->conv, p->x,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, pd));
    PICK_ALGO(c, pd, n, limit, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING,
              p->bwd_data, p->ws_data, p->math_data, found);
    if (!found) {
        snprintf(why, whylen, "no backward-data algorithm");
        return -1;
    }
    cudnnConvolutionBwdFilterAlgoPerf_t pw[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    DNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->dnn, p->x, p->y, p->conv, p->w,
                                                      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, pw));
    PICK_ALGO(c, pw, n, limit, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING,
              p->bwd_filter, p->ws_filter, p->math_filter, found);
    if (!found) {
        snprintf(why, whylen, "no backward-filter algorithm");
        return -1;
    }
    /* the sizes for exactly these descriptors, algorithms and math types */
    DNN(cudnnSetConvolutionMathType(p->conv, p->math_fwd));
    DNN(cudnnGetConvolutionForwardWorkspaceSize(c->dnn, p->x, p->w, p->conv, p->y, p->fwd, &p->ws_fwd));
    DNN(cudnnSetConvolutionMathType(p->conv, p->math_data));
    DNN(cudnnGetConvolutionBackwardDataWorkspaceSize(c->dnn, p->w, p->y, p->conv, p->x, p->bwd_data, &p->ws_data));
    DNN(cudnnSetConvolutionMathType(p->conv, p->math_filter));
    DNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(c->dnn, p->x, p->y, p->conv, p->w, p->bwd_filter,
                                                       &p->ws_filter));
#undef DNN
    return 0;
}

#endif

static cu_conv_plan *get_plan(cuctx *c, int B, int Ci, int Co, int Hh, int Ww, int k)
{
    for (int i = 0; i < c->nplans; i++) {
        cu_conv_plan *p = c->plans[i];
        if (p->B == B && p->Ci == Ci && p->Co == Co && p->Hh == Hh && p->Ww == Ww && p->k == k)
            return p;
    }
    cu_conv_plan *p = (cu_conv_plan *)calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->B = B, p->Ci = Ci, p->Co = Co, p->Hh = Hh, p->Ww = Ww, p->k = k;
    char why[256] = "cuDNN not in use";
#if SIBVAD_HAVE_CUDNN
    if (Ci <= 0 || k <= 0)
        snprintf(why, sizeof why, "no input channels or an empty kernel");
    const int refused = !c->dnn || c->conv_direct || Ci <= 0 || k <= 0 || plan_setup(c, p, why, sizeof why) < 0;
#else
    const int refused = 1;
    snprintf(why, sizeof why, "built without cuDNN");
#endif
    if (refused) {
        if (c->verbose)
            fprintf(stderr, "sibvad-cuda: conv %dx%dx%dx%d -> %d, k %d: direct kernels (%s)\n", B, Ci, Hh, Ww, Co, k,
                    why);
        cu_conv_plan *d = (cu_conv_plan *)calloc(1, sizeof *d);
        plan_free(p);
        if (!d)
            return NULL;
        p = d;
        p->B = B, p->Ci = Ci, p->Co = Co, p->Hh = Hh, p->Ww = Ww, p->k = k;
        p->direct = 1;
    }
#if SIBVAD_HAVE_CUDNN
    else if (c->verbose) {
        fprintf(stderr, "sibvad-cuda: conv %dx%dx%dx%d -> %d, k %d: cuDNN fwd %d (%zu B), data %d (%zu B), "
                        "filter %d (%zu B)\n",
                B, Ci, Hh, Ww, Co, k, (int)p->fwd, p->ws_fwd, (int)p->bwd_data, p->ws_data, (int)p->bwd_filter,
                p->ws_filter);
    }
#endif
    if (c->nplans < CU_MAX_CONV_PLANS) {
        c->plans[c->nplans++] = p;
    } else { /* replace the oldest */
        plan_free(c->plans[c->next_plan]);
        c->plans[c->next_plan] = p;
        c->next_plan = (c->next_plan + 1) % CU_MAX_CONV_PLANS;
    }
    return p;
}

void cu_conv2d_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int B, int Ci,
                       int Co, int Hh, int Ww, int k)
{
    cuctx *c = CTX(be);
    const size_t HW = (size_t)Hh * Ww, total = (size_t)B * Co * HW;
    if (total == 0)
        return;
    CU_ENTER(c);
    cu_conv_plan *p = get_plan(c, B, Ci, Co, Hh, Ww, k);
    if (!p) {
        cu_fail(c, "CUDA backend, conv2d_forward: out of host memory");
        return;
    }
    if (p->direct) {
        conv_fwd_direct_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(out, in, W, b, Ci, Co, Hh, Ww, k, total);
        CU_LAUNCHED(c, "conv2d_forward");
        return;
    }
#if SIBVAD_HAVE_CUDNN
    void *ws = NULL;
    if (p->ws_fwd && !(ws = cu_workspace(c, p->ws_fwd, "conv2d_forward")))
        return;
    const float one = 1.0f, zero = 0.0f;
    if (CU_DNN(c, "conv2d_forward", cudnnSetConvolutionMathType(p->conv, p->math_fwd)) < 0 ||
        CU_DNN(c, "conv2d_forward", cudnnConvolutionForward(c->dnn, &one, p->x, in, p->w, W, p->conv, p->fwd, ws,
                                                            p->ws_fwd, &zero, p->y, out)) < 0)
        return;
    if (b) {
        conv_bias_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(out, b, Co, HW, total);
        CU_LAUNCHED(c, "conv2d_forward");
    }
#endif
}

void cu_conv2d_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                        const float *W, int B, int Ci, int Co, int Hh, int Ww, int k)
{
    cuctx *c = CTX(be);
    const size_t HW = (size_t)Hh * Ww;
    /* nothing to sum (and no empty grid: Co blocks for db, Co*Ci*k*k for dW) */
    if (B <= 0 || HW == 0 || Co <= 0)
        return;
    CU_ENTER(c);
    if (db) {
        conv_bwd_bias_k<<<Co, CU_THREADS, 0, c->stream>>>(db, dout, B, Co, HW);
        CU_LAUNCHED(c, "conv2d_backward");
    }
    if (!din && !dW)
        return;
    cu_conv_plan *p = get_plan(c, B, Ci, Co, Hh, Ww, k);
    if (!p) {
        cu_fail(c, "CUDA backend, conv2d_backward: out of host memory");
        return;
    }
    if (p->direct) {
        const size_t total = (size_t)B * Ci * HW;
        if (din && total) {
            conv_bwd_data_direct_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(din, dout, W, Ci, Co, Hh, Ww, k,
                                                                                     total);
            CU_LAUNCHED(c, "conv2d_backward");
        }
        if (dW && Ci > 0 && k > 0) {
            conv_bwd_filter_direct_k<<<Co * Ci * k * k, CU_THREADS, 0, c->stream>>>(dW, dout, in, B, Ci, Co, Hh, Ww,
                                                                                    k);
            CU_LAUNCHED(c, "conv2d_backward");
        }
        return;
    }
#if SIBVAD_HAVE_CUDNN
    size_t need = 0;
    if (din && p->ws_data > need)
        need = p->ws_data;
    if (dW && p->ws_filter > need)
        need = p->ws_filter;
    void *ws = NULL;
    if (need && !(ws = cu_workspace(c, need, "conv2d_backward")))
        return;
    const float one = 1.0f;
    if (din && (CU_DNN(c, "conv2d_backward", cudnnSetConvolutionMathType(p->conv, p->math_data)) < 0 ||
                CU_DNN(c, "conv2d_backward",
                       cudnnConvolutionBackwardData(c->dnn, &one, p->w, W, p->y, dout, p->conv, p->bwd_data, ws,
                                                    p->ws_data, &one, p->x, din)) < 0))
        return;
    if (dW && CU_DNN(c, "conv2d_backward", cudnnSetConvolutionMathType(p->conv, p->math_filter)) == 0)
        CU_DNN(c, "conv2d_backward", cudnnConvolutionBackwardFilter(c->dnn, &one, p->x, in, p->y, dout, p->conv,
                                                                    p->bwd_filter, ws, p->ws_filter, &one, p->w, dW));
#endif
}
