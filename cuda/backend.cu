/* backend.cu: the CUDA backend's context, memory and entry point.
 * sibvad_backend_module_init (the one exported symbol) picks a device (0, or
 * SIBVAD_CUDA_DEVICE), creates a non-blocking stream, a cuBLAS handle (fp32
 * unless the options say tf32 or bf16, or SIBVAD_CUDA_TF32=1) and a cuDNN handle (optional: without it the
 * convolutions run direct kernels), and fills the sibvad_backend with the ops
 * of the other files. Every op runs on the context's stream; an op that fails
 * records the first error, which the next synchronize returns. */
#include "cuda-internal.h"

#include <cuda.h> /* CUcontext and CUresult only: the driver is reached through cudart's entry points */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- errors ---------------- */

void cu_fail(cuctx *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    if (c->verbose)
        fprintf(stderr, "sibvad-cuda: %s\n", c->msg);
}

static const char *base_name(const char *file)
{
    const char *s = strrchr(file, '/');
    return s ? s + 1 : file;
}

int cu_check_rt(cuctx *c, cudaError_t st, const char *op, const char *what, const char *file, int line)
{
    if (st == cudaSuccess)
        return 0;
    cu_fail(c, "CUDA backend, %s: %s failed: %s (%s) [%s:%d]", op, what, cudaGetErrorName(st),
            cudaGetErrorString(st), base_name(file), line);
    return -1;
}

int cu_check_blas(cuctx *c, cublasStatus_t st, const char *op, const char *what, const char *file, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return 0;
    cu_fail(c, "CUDA backend, %s: %s failed: %s (%s) [%s:%d]", op, what, cublasGetStatusName(st),
            cublasGetStatusString(st), base_name(file), line);
    return -1;
}

#if SIBVAD_HAVE_CUDNN
int cu_check_dnn(cuctx *c, cudnnStatus_t st, const char *op, const char *what, const char *file, int line)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return 0;
    cu_fail(c, "CUDA backend, %s: %s failed: %s [%s:%d]", op, what, cudnnGetErrorString(st), base_name(file),
            line);
    return -1;
}
#endif

static int set_error(sibvad_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(sibvad_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---------------- the thread's context (cu_scope) ---------------- */

typedef CUresult(CUDAAPI *ctx_get_fn)(CUcontext *);
typedef CUresult(CUDAAPI *ctx_set_fn)(CUcontext);

/* cuCtxGetCurrent and cuCtxSetCurrent from the driver, looked up once (both
 * NULL when unavailable) */
struct drv_ctx_api {
    ctx_get_fn get;
    ctx_set_fn set;
    drv_ctx_api() : get(NULL), set(NULL)
    {
        void *g = NULL, *s = NULL;
#if CUDART_VERSION >= 12000
        cudaDriverEntryPointQueryResult qg = cudaDriverEntryPointSymbolNotFound, qs = qg;
#if CUDART_VERSION >= 12050
        /* both have had one ABI since CUDA 4.0 */
        if (cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &g, 4000, cudaEnableDefault, &qg) != cudaSuccess ||
            cudaGetDriverEntryPointByVersion("cuCtxSetCurrent", &s, 4000, cudaEnableDefault, &qs) != cudaSuccess)
            g = s = NULL;
#else
        if (cudaGetDriverEntryPoint("cuCtxGetCurrent", &g, cudaEnableDefault, &qg) != cudaSuccess ||
            cudaGetDriverEntryPoint("cuCtxSetCurrent", &s, cudaEnableDefault, &qs) != cudaSuccess)
            g = s = NULL;
#endif
        if (qg != cudaDriverEntryPointSuccess || qs != cudaDriverEntryPointSuccess)
            g = s = NULL;
#elif CUDART_VERSION >= 11030
        if (cudaGetDriverEntryPoint("cuCtxGetCurrent", &g, cudaEnableDefault) != cudaSuccess ||
            cudaGetDriverEntryPoint("cuCtxSetCurrent", &s, cudaEnableDefault) != cudaSuccess)
            g = s = NULL;
#endif
        cudaGetLastError(); /* a failed lookup is no op's error */
        if (g && s) {
            get = (ctx_get_fn)g;
            set = (ctx_set_fn)s;
        }
    }
};

static const drv_ctx_api &drv(void)
{
    static const drv_ctx_api api; /* initialised once, thread-safe */
    return api;
}

/* the calling thread's current driver context (NULL: none, or unknown) */
static CUcontext current_ctx(bool *ok)
{
    CUcontext cur = NULL;
    *ok = drv().get && drv().get(&cur) == CUDA_SUCCESS;
    return *ok ? cur : NULL;
}

cu_scope::cu_scope(cuctx *c) : prev_(NULL), restore_(false)
{
    bool ok = false;
    CUcontext cur = NULL;
    if (!c || c->cu_ctx)
        cur = current_ctx(&ok);
    if (ok) {
        if (c && cur == (CUcontext)c->cu_ctx)
            return; /* already there: nothing to give back */
        if (c && drv().set((CUcontext)c->cu_ctx) != CUDA_SUCCESS) {
            cu_fail(c, "CUDA backend: cannot make device %d's context current on this thread", c->device);
            return;
        }
        prev_ = cur;
        restore_ = true;
        return;
    }
    /* no driver entry points: the device only, not given back */
    if (c && c->ndev > 1)
        cudaSetDevice(c->device);
}

cu_scope::~cu_scope()
{
    if (restore_)
        drv().set((CUcontext)prev_);
}

/* ---------------- workspace, tables, results ---------------- */

void *cu_workspace(cuctx *c, size_t bytes, const char *op)
{
    if (bytes <= c->ws_bytes && c->ws)
        return c->ws;
    size_t want = c->ws_bytes + c->ws_bytes / 2;
    if (want < bytes)
        want = bytes;
    want = (want + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    /* queued work may still use the old workspace */
    if (CU_RT(c, op, cudaStreamSynchronize(c->stream)) < 0)
        return NULL;
    void *old = c->ws;
    c->ws = NULL;
    c->ws_bytes = 0;
    if (old && CU_RT(c, op, cudaFree(old)) < 0)
        return NULL;
    if (CU_RT(c, op, cudaMalloc(&c->ws, want)) < 0) {
        c->ws = NULL;
        return NULL;
    }
    c->ws_bytes = want;
    return c->ws;
}

void **cu_table_get(cuctx *c, const void *const *ptrs, size_t n, const char *op)
{
    cu_table *t = &c->tables[0];
    for (int i = 0; i < CU_MAX_TABLES; i++) {
        cu_table *e = &c->tables[i];
        if (e->dev && e->n == n && !memcmp(e->host, ptrs, n * sizeof(void *))) {
            e->used = ++c->table_clock;
            return e->dev;
        }
        if (e->used < t->used)
            t = e;
    }
    /* replace the least recently used (tables handed out by this op stay);
     * cudaFree waits for the work that may still read it, and a failure is
     * this op's error (not that of a later one that happens to check) */
    if (t->dev && CU_RT(c, op, cudaFree(t->dev)) < 0) {
        t->dev = NULL;
        return NULL;
    }
    free(t->host);
    t->dev = NULL;
    t->used = ++c->table_clock;
    t->host = (void **)malloc(n * sizeof(void *));
    t->n = n;
    if (!t->host) {
        cu_fail(c, "CUDA backend, %s: out of host memory", op);
        return NULL;
    }
    memcpy(t->host, ptrs, n * sizeof(void *));
    if (CU_RT(c, op, cudaMalloc((void **)&t->dev, n * sizeof(void *))) < 0) {
        t->dev = NULL;
        return NULL;
    }
    if (CU_RT(c, op, cudaMemcpyAsync(t->dev, t->host, n * sizeof(void *), cudaMemcpyHostToDevice, c->stream)) < 0 ||
        CU_RT(c, op, cudaStreamSynchronize(c->stream)) < 0) {
        CU_RT(c, op, cudaFree(t->dev));
        t->dev = NULL;
        return NULL;
    }
    return t->dev;
}

double cu_fetch_double(cuctx *c, const double *dev, const char *op)
{
    if (CU_RT(c, op, cudaMemcpyAsync(c->host_red, dev, sizeof(double), cudaMemcpyDeviceToHost, c->stream)) < 0 ||
        CU_RT(c, op, cudaStreamSynchronize(c->stream)) < 0)
        return NAN;
    return c->host_red[0];
}

/* ---------------- memory ---------------- */

static void *cu_alloc(sibvad_be be, size_t bytes)
{
    cuctx *c = CTX(be);
    CU_ENTER(c);
    void *p = NULL;
    /* never a NULL for an empty buffer: NULL means failure */
    const cudaError_t st = cudaMalloc(&p, bytes ? bytes : 256);
    if (st == cudaSuccess)
        return p;
    if (st == cudaErrorMemoryAllocation) {
        /* out of memory: the caller says so; not an error of a later op */
        cudaGetLastError();
        return NULL;
    }
    /* anything else (a sticky error of an earlier kernel, a lost device) is
     * recorded, so the next synchronize reports the real cause and not
     * "cannot allocate" */
    cu_check_rt(c, st, "alloc", "cudaMalloc", __FILE__, __LINE__);
    cudaGetLastError(); /* recorded: not to be blamed on a later launch */
    return NULL;
}

static void cu_free(sibvad_be be, void *p)
{
    cuctx *c = CTX(be);
    if (!p)
        return;
    CU_ENTER(c);
    CU_RT(c, "free", cudaFree(p)); /* waits for queued work */
}

static void cu_upload(sibvad_be be, void *dst, const void *host, size_t bytes)
{
    cuctx *c = CTX(be);
    if (!bytes)
        return;
    CU_ENTER(c);
    if (CU_RT(c, "upload", cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, c->stream)) < 0)
        return;
    /* From pageable memory the copy is staged before the call returns; from
     * pinned memory it is not: wait, so the caller may reuse the buffer. */
    cudaPointerAttributes at;
    if (cudaPointerGetAttributes(&at, host) != cudaSuccess) {
        cudaGetLastError();
        return;
    }
    if (at.type == cudaMemoryTypeHost)
        CU_RT(c, "upload", cudaStreamSynchronize(c->stream));
}

static void cu_download(sibvad_be be, void *host, const void *src, size_t bytes)
{
    cuctx *c = CTX(be);
    if (!bytes)
        return;
    CU_ENTER(c);
    if (CU_RT(c, "download", cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, c->stream)) < 0)
        return;
    CU_RT(c, "download", cudaStreamSynchronize(c->stream));
}

static void cu_copy(sibvad_be be, void *dst, const void *src, size_t bytes)
{
    cuctx *c = CTX(be);
    if (!bytes || dst == src)
        return;
    CU_ENTER(c);
    CU_RT(c, "copy", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, c->stream));
}

static void cu_zero(sibvad_be be, void *dst, size_t bytes)
{
    cuctx *c = CTX(be);
    if (!bytes)
        return;
    CU_ENTER(c);
    CU_RT(c, "zero", cudaMemsetAsync(dst, 0, bytes, c->stream));
}

static int cu_synchronize(sibvad_be be, sibvad_error *err)
{
    cuctx *c = CTX(be);
    CU_ENTER(c);
    CU_RT(c, "synchronize", cudaStreamSynchronize(c->stream));
    if (!c->failed)
        return 0;
    set_error(err, "%s", c->msg);
    c->failed = 0; /* reported once */
    c->msg[0] = '\0';
    return -1;
}

/* ---------------- life cycle ---------------- */

static void ctx_free(cuctx *c)
{
    if (!c)
        return;
    CU_ENTER(c); /* gives the thread's context back after c is gone: it does not touch c then */
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    cu_conv_plans_destroy(c);
    for (int i = 0; i < CU_MAX_TABLES; i++) {
        if (c->tables[i].dev)
            cudaFree(c->tables[i].dev);
        free(c->tables[i].host);
    }
    if (c->ws)
        cudaFree(c->ws);
    if (c->red)
        cudaFree(c->red);
    if (c->colsum)
        cudaFree(c->colsum);
    if (c->host_red)
        cudaFreeHost(c->host_red);
#if SIBVAD_HAVE_CUDNN
    if (c->dnn)
        cudnnDestroy(c->dnn);
#endif
    if (c->blas)
        cublasDestroy(c->blas);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    cudaGetLastError();
    free(c);
}

static void cu_destroy(sibvad_backend *be)
{
    ctx_free((cuctx *)be->ctx);
    be->ctx = NULL;
}

__global__ void probe_kernel(int *out) { *out = 42; }

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

extern "C" __attribute__((visibility("default"))) int sibvad_backend_module_init(sibvad_backend *be,
                                                                                 const char *options,
                                                                                 sibvad_error *err)
{
    /* precision: fp32 (default; SIBVAD_CUDA_TF32=1 makes it tf32), tf32, bf16 */
    int tf32 = env_flag("SIBVAD_CUDA_TF32"), bf16 = 0;
    if (options && *options) {
        if (!strcmp(options, "fp32"))
            tf32 = 0;
        else if (!strcmp(options, "tf32"))
            tf32 = 1;
        else if (!strcmp(options, "bf16"))
            tf32 = bf16 = 1;
        else
            return set_error(err, "CUDA backend: unknown precision \"%s\" (fp32, tf32 or bf16)", options);
    }
    int drv = 0, rtv = 0;
    cudaRuntimeGetVersion(&rtv);
    if (cudaDriverGetVersion(&drv) != cudaSuccess || drv == 0) {
        cudaGetLastError();
        return set_error(err, "CUDA backend: no CUDA driver (libcuda.so.1 not found or not loadable; runtime %d.%d)",
                         rtv / 1000, rtv % 1000 / 10);
    }
    int ndev = 0;
    cudaError_t st = cudaGetDeviceCount(&ndev);
    if (st == cudaErrorNoDevice || (st == cudaSuccess && ndev == 0)) {
        cudaGetLastError();
        return set_error(err, "CUDA backend: no GPU (the CUDA driver %d.%d sees no device)", drv / 1000,
                         drv % 1000 / 10);
    }
    if (st == cudaErrorInsufficientDriver) {
        cudaGetLastError();
        return set_error(err, "CUDA backend: the CUDA driver (%d.%d) is older than the runtime (%d.%d)",
                         drv / 1000, drv % 1000 / 10, rtv / 1000, rtv % 1000 / 10);
    }
    if (st != cudaSuccess) {
        cudaGetLastError();
        return set_error(err, "CUDA backend: no usable CUDA driver or GPU: cudaGetDeviceCount: %s (%s)",
                         cudaGetErrorName(st), cudaGetErrorString(st));
    }
    /* cudaSetDevice below changes the calling thread's context: give it back */
    CU_ENTER(NULL);
    int dev = 0;
    const char *denv = getenv("SIBVAD_CUDA_DEVICE");
    if (denv && *denv) {
        char *end;
        long v = strtol(denv, &end, 10);
        if (*end || v < 0 || v >= ndev)
            return set_error(err, "CUDA backend: SIBVAD_CUDA_DEVICE=%s is not a device index (0..%d)", denv,
                             ndev - 1);
        dev = (int)v;
    }
    cuctx *c = (cuctx *)calloc(1, sizeof *c);
    if (!c)
        return set_error(err, "CUDA backend: out of memory");
    c->device = dev;
    c->ndev = ndev;
    c->tf32 = tf32;
    c->bf16 = bf16;
    snprintf(c->name, sizeof c->name, "%s", bf16 ? "cuda:bf16" : tf32 ? "cuda:tf32" : "cuda");
    c->verbose = env_flag("SIBVAD_CUDA_VERBOSE");
    const char *conv = getenv("SIBVAD_CUDA_CONV");
    c->conv_direct = conv && !strcmp(conv, "direct");
#define INIT_FAIL(...)                    \
    do {                                  \
        set_error(err, __VA_ARGS__);      \
        ctx_free(c);                      \
        return -1;                        \
    } while (0)
    if ((st = cudaSetDevice(dev)) != cudaSuccess)
        INIT_FAIL("CUDA backend: cudaSetDevice(%d): %s", dev, cudaGetErrorString(st));
    cudaDeviceProp prop;
    if ((st = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess)
        INIT_FAIL("CUDA backend: cudaGetDeviceProperties(%d): %s", dev, cudaGetErrorString(st));
    c->sm_count = prop.multiProcessorCount;
    if ((st = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking)) != cudaSuccess)
        INIT_FAIL("CUDA backend: cudaStreamCreate: %s", cudaGetErrorString(st));
    {
        /* the runtime has made dev's primary context current here: every op makes it current again */
        bool ok;
        c->cu_ctx = current_ctx(&ok);
    }
    /* the module's kernels must run on this GPU (cuda_arch at build time) */
    {
        int *probe = NULL, got = 0;
        if ((st = cudaMalloc(&probe, sizeof(int))) != cudaSuccess)
            INIT_FAIL("CUDA backend: cudaMalloc on %s: %s", prop.name, cudaGetErrorString(st));
        probe_kernel<<<1, 1, 0, c->stream>>>(probe);
        st = cudaGetLastError();
        if (st == cudaSuccess)
            st = cudaMemcpyAsync(&got, probe, sizeof got, cudaMemcpyDeviceToHost, c->stream);
        if (st == cudaSuccess)
            st = cudaStreamSynchronize(c->stream);
        cudaFree(probe);
        if (st != cudaSuccess || got != 42)
            INIT_FAIL("CUDA backend: kernels do not run on %s (sm_%d%d): %s; rebuild with -Dcuda-arch=%d%d",
                      prop.name, prop.major, prop.minor, cudaGetErrorString(st), prop.major, prop.minor);
    }
    cublasStatus_t bs = cublasCreate(&c->blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        c->blas = NULL;
        INIT_FAIL("CUDA backend: cublasCreate: %s", cublasGetStatusString(bs));
    }
    if ((bs = cublasSetStream(c->blas, c->stream)) != CUBLAS_STATUS_SUCCESS ||
        (bs = cublasSetMathMode(c->blas, c->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                         : env_flag("SIBVAD_CUDA_PEDANTIC") ? CUBLAS_PEDANTIC_MATH
                                                                            : CUBLAS_DEFAULT_MATH)) !=
            CUBLAS_STATUS_SUCCESS)
        INIT_FAIL("CUDA backend: cuBLAS setup: %s", cublasGetStatusString(bs));
    /* cuDNN is optional: the direct convolution kernels stand in */
#if SIBVAD_HAVE_CUDNN
    if (!c->conv_direct) {
        cudnnStatus_t ds = cudnnCreate(&c->dnn);
        if (ds == CUDNN_STATUS_SUCCESS)
            ds = cudnnSetStream(c->dnn, c->stream);
        if (ds != CUDNN_STATUS_SUCCESS) {
            if (c->verbose)
                fprintf(stderr, "sibvad-cuda: cuDNN unavailable (%s): direct convolutions\n",
                        cudnnGetErrorString(ds));
            if (c->dnn)
                cudnnDestroy(c->dnn);
            c->dnn = NULL;
        }
    }
#endif
    if ((st = cudaMalloc(&c->red, sizeof(double) * (CU_RED_SLOTS + 1))) != cudaSuccess ||
        (st = cudaMalloc(&c->colsum, sizeof(float) * CU_COLSUM_FLOATS)) != cudaSuccess ||
        (st = cudaMallocHost(&c->host_red, sizeof(double) * 16)) != cudaSuccess)
        INIT_FAIL("CUDA backend: buffers: %s", cudaGetErrorString(st));
    if (c->verbose)
        fprintf(stderr, "sibvad-cuda: device %d of %d: %s (sm_%d%d, %d SMs, %.1f GiB), driver %d.%d, runtime %d.%d, "
                        "cuDNN %s, precision %s\n",
                dev, ndev, prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                prop.totalGlobalMem / 1073741824.0, drv / 1000, drv % 1000 / 10, rtv / 1000, rtv % 1000 / 10,
                c->dnn ? "on" : "off", bf16 ? "bf16 products, TF32 convolutions" : tf32 ? "TF32" : "fp32");
#undef INIT_FAIL

    memset(be, 0, sizeof *be);
    be->name = c->name;
    be->ctx = c;
    be->destroy = cu_destroy;
    be->alloc = cu_alloc;
    be->free = cu_free;
    be->upload = cu_upload;
    be->download = cu_download;
    be->copy = cu_copy;
    be->zero = cu_zero;
    be->synchronize = cu_synchronize;
    be->linear_forward = cu_linear_forward;
    be->linear_backward = cu_linear_backward;
    be->layernorm_forward = cu_layernorm_forward;
    be->layernorm_backward = cu_layernorm_backward;
    be->gelu_forward = cu_gelu_forward;
    be->gelu_backward = cu_gelu_backward;
    be->silu_forward = cu_silu_forward;
    be->silu_backward = cu_silu_backward;
    be->leakyrelu_forward = cu_leakyrelu_forward;
    be->leakyrelu_backward = cu_leakyrelu_backward;
    be->patch_embed_forward = cu_patch_embed_forward;
    be->patch_embed_backward = cu_patch_embed_backward;
    be->conv2d_forward = cu_conv2d_forward;
    be->conv2d_backward = cu_conv2d_backward;
    be->unpatchify = cu_unpatchify;
    be->unpatchify_backward = cu_unpatchify_backward;
    be->attention_forward = cu_attention_forward;
    be->attention_backward = cu_attention_backward;
    be->mse_forward = cu_mse_forward;
    be->mse_backward = cu_mse_backward;
    be->motion_loss_forward = cu_motion_loss_forward;
    be->motion_loss_backward = cu_motion_loss_backward;
    be->cosine_loss_forward = cu_cosine_loss_forward;
    be->cosine_loss_backward = cu_cosine_loss_backward;
    be->cosine_distance = cu_cosine_distance;
    be->adam_update = cu_adam_update;
    be->interleave_frames = cu_interleave_frames;
    be->interleave_frames_backward = cu_interleave_frames_backward;
    be->gather_frames = cu_gather_frames;
    be->concat_channels = cu_concat_channels;
    be->concat_channels_backward = cu_concat_channels_backward;
    be->sub = cu_sub;
    be->axpy = cu_axpy;
    be->dot = cu_dot;
    be->add = cu_add;
    be->scale = cu_scale;
    be->add_rowvec = cu_add_rowvec;
    be->mul_rowvec = cu_mul_rowvec;
    be->mul_rowvec_backward = cu_mul_rowvec_backward;
    be->visual_error = cu_visual_error;
    be->sffm_forward = cu_sffm_forward;
    be->sffm_backward = cu_sffm_backward;
    return 0;
}
