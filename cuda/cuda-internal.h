/* cuda-internal.h: what the files of the CUDA backend module share: the
 * context (stream, cuBLAS and cuDNN handles, workspace, reduction buffers, the
 * first error), status checks that record the first failure, launch helpers,
 * and the ops each file provides to backend.cu, which fills the
 * sibvad_backend. SIBVAD_HAVE_CUDNN (set by cuda/meson.build) is 0 when
 * cuDNN was not found at build time: the convolutions then run direct kernels. Nothing here is exported: the module is compiled with
 * -fvisibility=hidden and exports only sibvad_backend_module_init. */
#ifndef SIBVAD_CUDA_INTERNAL_H
#define SIBVAD_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#if SIBVAD_HAVE_CUDNN
#include <cudnn.h>
#else
typedef struct cudnnContext *cudnnHandle_t; /* built without cuDNN: always NULL */
#endif
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "backend.h"
}

/* ---------------- context ---------------- */

/* Partial sums of a reduction: one double per block, summed in a fixed order
 * by one more block (results do not depend on timing). */
#define CU_RED_SLOTS 4096
/* Floats of the fixed scratch for column sums split over row chunks. */
#define CU_COLSUM_FLOATS (1u << 20)
#define CU_MAX_CONV_PLANS 16
#define CU_MAX_TABLES 16

typedef struct cu_conv_plan cu_conv_plan; /* conv.cu */

typedef struct cu_table {                   /* a host pointer array mirrored on the device */
    size_t n;
    void **host;
    void **dev;
    unsigned long long used;                /* last use (least recently used goes first) */
} cu_table;

typedef struct cuctx {
    int device, ndev, sm_count;
    void *cu_ctx;               /* the device's primary context (CUcontext; NULL: not known, see cu_scope) */
    cudaStream_t stream;
    cublasHandle_t blas;
    cudnnHandle_t dnn;          /* NULL: cuDNN unavailable, convolutions run the direct kernels */
    int tf32;                   /* TF32 tensor cores allowed (precision tf32 or bf16) */
    int bf16;                   /* matrix products with bf16 tensor cores (precision bf16) */
    char name[16];              /* "cuda", "cuda:tf32", "cuda:bf16" (be->name) */
    int conv_direct;            /* SIBVAD_CUDA_CONV=direct */
    int verbose;                /* SIBVAD_CUDA_VERBOSE=1 */
    /* workspace: grown on demand (one request per op: a second call may move it) */
    void *ws;
    size_t ws_bytes;
    double *red;                /* device, CU_RED_SLOTS + 1 */
    double *host_red;           /* pinned host, 16 doubles */
    float *colsum;              /* device, CU_COLSUM_FLOATS */
    cu_conv_plan *plans[CU_MAX_CONV_PLANS];
    int nplans, next_plan;
    cu_table tables[CU_MAX_TABLES];
    unsigned long long table_clock;
    /* the first failure since the last synchronize */
    int failed;
    char msg[512];
} cuctx;

static inline cuctx *CTX(sibvad_be be) { return (cuctx *)be->ctx; }

/* ---------------- status checks (backend.cu) ----------------
 * Each records the first failure in the context (op, call, status string,
 * file:line) and returns 0 on success, -1 on failure. */
int cu_check_rt(cuctx *c, cudaError_t st, const char *op, const char *what, const char *file, int line);
int cu_check_blas(cuctx *c, cublasStatus_t st, const char *op, const char *what, const char *file, int line);
#if SIBVAD_HAVE_CUDNN
int cu_check_dnn(cuctx *c, cudnnStatus_t st, const char *op, const char *what, const char *file, int line);
#endif
void cu_fail(cuctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CU_RT(c, op, call) cu_check_rt((c), (call), (op), #call, __FILE__, __LINE__)
#define CU_BLAS(c, op, call) cu_check_blas((c), (call), (op), #call, __FILE__, __LINE__)
#define CU_DNN(c, op, call) cu_check_dnn((c), (call), (op), #call, __FILE__, __LINE__)
/* after a kernel launch */
#define CU_LAUNCHED(c, op) cu_check_rt((c), cudaGetLastError(), (op), "kernel launch", __FILE__, __LINE__)

/* The context's device on the calling host thread, for the length of an op.
 * Ops may be called from any thread (e.g. a GStreamer streaming thread), so
 * each one makes the context's CUDA context current on entry and gives the
 * thread's previous one back when it returns: a caller that works on another
 * GPU itself (or on its own context) keeps it. CU_ENTER(c) declares a
 * cu_scope for the rest of the block; a cu_scope of NULL only keeps the
 * thread's context (module init). The swap is cuCtxGetCurrent/
 * cuCtxSetCurrent, found through cudaGetDriverEntryPoint (no link to
 * libcuda): nothing when the thread already has the context, and a thread
 * that had no context is left with none (restoring with cudaSetDevice would
 * create the primary context of the device the thread nominally had).
 * Without those entry points (a toolkit before 11.3, a driver that refuses
 * them) the scope falls back to cudaSetDevice(c->device) with more than one
 * GPU, and the caller's device then stays changed after the op. */
class cu_scope {
  public:
    explicit cu_scope(cuctx *c);
    ~cu_scope();
    cu_scope(const cu_scope &) = delete;
    cu_scope &operator=(const cu_scope &) = delete;

  private:
    void *prev_;   /* the thread's context on entry (CUcontext, may be NULL) */
    bool restore_; /* give prev_ back on exit */
};
#define CU_ENTER(c) cu_scope cu_scope_guard_(c)

/* Workspace of at least `bytes` (NULL and an error recorded on failure). */
void *cu_workspace(cuctx *c, size_t bytes, const char *op);
/* A device copy of a host array of n pointers, cached by content. */
void **cu_table_get(cuctx *c, const void *const *ptrs, size_t n, const char *op);
/* A double computed on the device at `dev` brought to the host (synchronises). */
double cu_fetch_double(cuctx *c, const double *dev, const char *op);

/* ---------------- launch helpers ---------------- */
#define CU_THREADS 256

/* Blocks for n elements, capped at 2^20: every kernel launched with it must
 * cover its elements with a grid-stride loop (CU_GRID_STRIDE). */
static inline unsigned cu_blocks(size_t n, unsigned threads = CU_THREADS)
{
    size_t b = (n + threads - 1) / threads;
    if (b < 1)
        b = 1;
    if (b > (1u << 20)) /* grid-stride loops cover the rest */
        b = 1u << 20;
    return (unsigned)b;
}

/* The most blocks a grid may have along y or z (x allows 2^31 - 1): larger
 * counts are launched in chunks or covered by loops over blockIdx.y/z. */
#define CU_MAX_GRID_YZ 65535u

static inline unsigned cu_grid_yz(long long n)
{
    return n < 1 ? 1u : n > (long long)CU_MAX_GRID_YZ ? CU_MAX_GRID_YZ : (unsigned)n;
}

#define CU_GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* sibvad_expf (sibvad-core/ops/fastmath.h), the CPU's exp, operation for
 * operation: every product and sum rounded on its own (the _rn intrinsics
 * keep nvcc from fusing them; the CPU code is compiled without contraction),
 * so for the same float argument both give the same bits. For results that
 * must follow the CPU exactly where the inputs do (the SFFM router's softmax,
 * whose top-K picks follow its scores). */
static __device__ __forceinline__ float cu_expf_cpu(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float n = __fsub_rn(__fadd_rn(__fmul_rn(x, 1.44269504088896341f), 12582912.0f), 12582912.0f);
    const float r = __fadd_rn(__fsub_rn(x, __fmul_rn(n, 0.693359375f)), __fmul_rn(n, 2.12194440e-4f));
    float p = 1.9875691500e-4f;
    p = __fadd_rn(__fmul_rn(p, r), 1.3981999507e-3f);
    p = __fadd_rn(__fmul_rn(p, r), 8.3334519073e-3f);
    p = __fadd_rn(__fmul_rn(p, r), 4.1665795894e-2f);
    p = __fadd_rn(__fmul_rn(p, r), 1.6666665459e-1f);
    p = __fadd_rn(__fmul_rn(p, r), 5.0000001201e-1f);
    const float y = __fadd_rn(__fadd_rn(__fmul_rn(__fmul_rn(p, r), r), r), 1.0f);
    const float scale = __int_as_float(((int)n + 127) << 23);
    return __fmul_rn(y, scale);
}

static __device__ __forceinline__ float cu_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ double cu_warp_sum_d(double v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float cu_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum of one double per thread over a block of blockDim.x (a multiple of 32,
 * at most 1024) threads, in a fixed order; the result is valid in thread 0.
 * `sh` holds 32 doubles. */
static __device__ __forceinline__ double cu_block_sum_d(double v, double *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = cu_warp_sum_d(v);
    __syncthreads(); /* sh may be in use by a previous call */
    if (lane == 0)
        sh[wid] = v;
    __syncthreads();
    double r = 0.0;
    if (wid == 0) {
        r = lane < nw ? sh[lane] : 0.0;
        r = cu_warp_sum_d(r);
    }
    return r;
}

/* ---------------- gemm.cu ---------------- */
/* Row-major C (M,N) = alpha op(A) op(B) + beta C through cuBLAS (column-major:
 * computes C^T = op(B)^T op(A)^T). */
/* cu_gemm follows the context's precision; cu_gemm_fp32 is always full fp32
 * (the SFFM router: its top-K decisions must not move with the precision). */
void cu_gemm_fp32(cuctx *c, const char *op, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);
void cu_gemm(cuctx *c, const char *op, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc);
void cu_gemm_batched(cuctx *c, const char *op, bool ta, bool tb, int M, int N, int K, float alpha,
                     const float *A, int lda, long long sA, const float *B, int ldb, long long sB, float beta,
                     float *C, int ldc, long long sC, int batch);
/* out[c] += sum_r X(r, c) (* Y(r, c) when y is not NULL) for R rows of C
 * columns; row r is at (r / grp) * gstride + (r % grp) * ld. Deterministic. */
void cu_colsum_add(cuctx *c, const char *op, float *out, const float *x, const float *y, long long R, int C,
                   long long ld, long long grp, long long gstride);
void cu_linear_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int R, int I,
                       int O);
void cu_linear_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                        const float *W, int R, int I, int O);

/* ---------------- norm.cu ---------------- */
void cu_layernorm_forward(sibvad_be be, float *out, float *mean, float *rstd, const float *in, const float *w,
                          const float *b, int R, int C, float eps);
void cu_layernorm_backward(sibvad_be be, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, const float *mean, const float *rstd, int R, int C);

/* ---------------- elementwise.cu ---------------- */
void cu_gelu_forward(sibvad_be be, float *out, const float *in, size_t n);
void cu_gelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n);
void cu_silu_forward(sibvad_be be, float *out, const float *in, size_t n);
void cu_silu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n);
void cu_leakyrelu_forward(sibvad_be be, float *out, const float *in, size_t n, float slope);
void cu_leakyrelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n, float slope);
void cu_sub(sibvad_be be, float *out, const float *a, const float *b, size_t n);
void cu_axpy(sibvad_be be, float *y, const float *x, float alpha, size_t n);
void cu_add(sibvad_be be, float *out, const float *a, const float *b, size_t n);
void cu_scale(sibvad_be be, float *x, float alpha, size_t n);
void cu_add_rowvec(sibvad_be be, float *x, const float *v, int R, int C);
void cu_mul_rowvec(sibvad_be be, float *out, const float *in, const float *v, int R, int C);
void cu_mul_rowvec_backward(sibvad_be be, float *din, float *dv, const float *dout, const float *in,
                            const float *v, int R, int C);
/* out[i] = value for n floats */
void cu_fill(cuctx *c, const char *op, float *out, float value, size_t n);

/* ---------------- layout.cu ---------------- */
void cu_interleave_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C);
void cu_interleave_frames_backward(sibvad_be be, float *din, const float *dout, int B, int T, int N, int C);
void cu_gather_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C, int first);
void cu_concat_channels(sibvad_be be, float *out, const float *a, int Ca, const float *b, int Cb, int R);
void cu_concat_channels_backward(sibvad_be be, float *da, float *db, const float *dout, int Ca, int Cb, int R);
void cu_unpatchify(sibvad_be be, float *img, const float *patches, int B, int C, int gh, int gw, int p);
void cu_unpatchify_backward(sibvad_be be, float *dpatches, const float *dimg, int B, int C, int gh, int gw, int p);

/* ---------------- conv.cu ---------------- */
void cu_patch_embed_forward(sibvad_be be, float *tok, float *cols, const float *img, const float *W,
                            const float *b, const float *cls, const float *pos, int Bi, int C, int Hh, int Ww,
                            int p, int D);
void cu_patch_embed_backward(sibvad_be be, float *dW, float *db, float *dcls, float *dpos, const float *dtok,
                             const float *cols, int Bi, int C, int Hh, int Ww, int p, int D);
void cu_conv2d_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int B, int Ci,
                       int Co, int Hh, int Ww, int k);
void cu_conv2d_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                        const float *W, int B, int Ci, int Co, int Hh, int Ww, int k);
void cu_conv_plans_destroy(cuctx *c);

/* ---------------- attention.cu ---------------- */
void cu_attention_forward(sibvad_be be, float *out, float *probs, const float *q, int ldq, const float *k,
                          int ldk, const float *v, int ldv, int B, int N, int M, int H, int dh);
void cu_attention_backward(sibvad_be be, float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *probs, const float *q, int ldq, const float *k, int ldk,
                           const float *v, int ldv, int B, int N, int M, int H, int dh);

/* ---------------- losses.cu ---------------- */
float cu_mse_forward(sibvad_be be, const float *a, const float *b, size_t n);
void cu_mse_backward(sibvad_be be, float *da, const float *a, const float *b, size_t n, float scale);
float cu_motion_loss_forward(sibvad_be be, const float *pred, const float *target, const float *prev, size_t n);
void cu_motion_loss_backward(sibvad_be be, float *dpred, const float *pred, const float *target,
                             const float *prev, size_t n, float scale);
float cu_cosine_loss_forward(sibvad_be be, const float *a, const float *t, int B, int S);
void cu_cosine_loss_backward(sibvad_be be, float *da, const float *a, const float *t, int B, int S, float scale);
void cu_cosine_distance(sibvad_be be, float *out, const float *a, const float *t, int B, int S);
double cu_dot(sibvad_be be, const float *x, const float *y, size_t n);
void cu_visual_error(sibvad_be be, float *visual_host, float *error_map, const float *pred, const float *target,
                     int B, int C, size_t HW);

/* ---------------- adam.cu ---------------- */
void cu_adam_update(sibvad_be be, float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                    float beta2, float eps, float weight_decay, int t);

/* ---------------- sffm.cu ---------------- */
void cu_sffm_forward(sibvad_be be, float *out, sibvad_sffm_cache *c, const float *x, const sibvad_sffm_weights *w,
                     const sibvad_sffm_dims *d);
void cu_sffm_backward(sibvad_be be, float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                      const float *dout, float balance_scale, sibvad_sffm_cache *c, const float *x,
                      const sibvad_sffm_weights *w, const sibvad_sffm_dims *d);

#endif
