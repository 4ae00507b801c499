/* backend.h: the compute backend interface (after ggml's backends): every
 * primitive layer of ops.h, the SFFM, and memory, as function pointers behind
 * one struct. The model code (forward, backward, Adam, streams) calls only
 * through a sibvad_backend, so the CPU and the CUDA backend (cuda/, a module
 * loaded at run time) run the same model code. Every float pointer handed to
 * an op is memory of that backend (device memory for CUDA). Sizes and
 * semantics are exactly ops.h's: outputs first; backward ADDS into gradients;
 * a NULL gradient skips that work; no allocation inside an op.
 *
 * Every op takes the backend first: per-backend state (cuBLAS/cuDNN handles,
 * stream, workspace) lives in be->ctx, never in globals, so two models or two
 * elements can run at once. */
#ifndef SIBVAD_BACKEND_H
#define SIBVAD_BACKEND_H

#include <stddef.h>

#include "ops/blocks.h"
#include "sibvad.h"

typedef struct sibvad_backend sibvad_backend;
typedef const sibvad_backend *sibvad_be;

struct sibvad_backend {
    const char *name;       /* "cpu", "cuda", "cuda:tf32", "cuda:bf16" */
    void *ctx;              /* backend state */
    void (*destroy)(sibvad_backend *be);

    /* ---- memory (bytes) ---- */
    void *(*alloc)(sibvad_be be, size_t bytes);              /* NULL on failure */
    void (*free)(sibvad_be be, void *p);
    void (*upload)(sibvad_be be, void *dst, const void *host, size_t bytes);
    void (*download)(sibvad_be be, void *host, const void *src, size_t bytes);
    void (*copy)(sibvad_be be, void *dst, const void *src, size_t bytes); /* within the backend */
    void (*zero)(sibvad_be be, void *dst, size_t bytes);
    int (*synchronize)(sibvad_be be, sibvad_error *err);    /* wait; report an asynchronous error */

    /* ---- ops.h, one pointer per function, same argument order ---- */
    void (*linear_forward)(sibvad_be be, float *out, const float *in, const float *W, const float *b,
                           int R, int I, int O);
    void (*linear_backward)(sibvad_be be, float *din, float *dW, float *db, const float *dout,
                            const float *in, const float *W, int R, int I, int O);
    void (*layernorm_forward)(sibvad_be be, float *out, float *mean, float *rstd, const float *in,
                              const float *w, const float *b, int R, int C, float eps);
    void (*layernorm_backward)(sibvad_be be, float *din, float *dw, float *db, const float *dout,
                               const float *in, const float *w, const float *mean, const float *rstd,
                               int R, int C);
    void (*gelu_forward)(sibvad_be be, float *out, const float *in, size_t n);
    void (*gelu_backward)(sibvad_be be, float *din, const float *dout, const float *in, size_t n);
    void (*silu_forward)(sibvad_be be, float *out, const float *in, size_t n);
    void (*silu_backward)(sibvad_be be, float *din, const float *dout, const float *in, size_t n);
    void (*leakyrelu_forward)(sibvad_be be, float *out, const float *in, size_t n, float slope);
    void (*leakyrelu_backward)(sibvad_be be, float *din, const float *dout, const float *in, size_t n,
                               float slope);
    void (*patch_embed_forward)(sibvad_be be, float *tok, float *cols, const float *img, const float *W,
                                const float *b, const float *cls, const float *pos, int Bi, int C, int Hh,
                                int Ww, int p, int D);
    void (*patch_embed_backward)(sibvad_be be, float *dW, float *db, float *dcls, float *dpos,
                                 const float *dtok, const float *cols, int Bi, int C, int Hh, int Ww, int p,
                                 int D);
    void (*conv2d_forward)(sibvad_be be, float *out, const float *in, const float *W, const float *b, int B,
                           int Ci, int Co, int Hh, int Ww, int k);
    void (*conv2d_backward)(sibvad_be be, float *din, float *dW, float *db, const float *dout,
                            const float *in, const float *W, int B, int Ci, int Co, int Hh, int Ww, int k);
    void (*unpatchify)(sibvad_be be, float *img, const float *patches, int B, int C, int gh, int gw, int p);
    void (*unpatchify_backward)(sibvad_be be, float *dpatches, const float *dimg, int B, int C, int gh, int gw,
                                int p);
    void (*attention_forward)(sibvad_be be, float *out, float *probs, const float *q, int ldq, const float *k,
                              int ldk, const float *v, int ldv, int B, int N, int M, int H, int dh);
    void (*attention_backward)(sibvad_be be, float *dq, float *dk, float *dv, float *scratch,
                               const float *dout, const float *probs, const float *q, int ldq,
                               const float *k, int ldk, const float *v, int ldv, int B, int N, int M, int H,
                               int dh);
    /* losses: the value comes back to the host */
    float (*mse_forward)(sibvad_be be, const float *a, const float *b, size_t n);
    void (*mse_backward)(sibvad_be be, float *da, const float *a, const float *b, size_t n, float scale);
    float (*motion_loss_forward)(sibvad_be be, const float *pred, const float *target, const float *prev,
                                 size_t n);
    void (*motion_loss_backward)(sibvad_be be, float *dpred, const float *pred, const float *target,
                                 const float *prev, size_t n, float scale);
    float (*cosine_loss_forward)(sibvad_be be, const float *a, const float *t, int B, int S);
    void (*cosine_loss_backward)(sibvad_be be, float *da, const float *a, const float *t, int B, int S,
                                 float scale);
    void (*cosine_distance)(sibvad_be be, float *out, const float *a, const float *t, int B, int S);
    void (*adam_update)(sibvad_be be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, int t);
    void (*interleave_frames)(sibvad_be be, float *out, const float *in, int B, int T, int N, int C);
    void (*interleave_frames_backward)(sibvad_be be, float *din, const float *dout, int B, int T, int N,
                                       int C);
    void (*gather_frames)(sibvad_be be, float *out, const float *in, int B, int T, int N, int C, int first);
    void (*concat_channels)(sibvad_be be, float *out, const float *a, int Ca, const float *b, int Cb, int R);
    void (*concat_channels_backward)(sibvad_be be, float *da, float *db, const float *dout, int Ca, int Cb,
                                     int R);
    void (*sub)(sibvad_be be, float *out, const float *a, const float *b, size_t n);
    void (*axpy)(sibvad_be be, float *y, const float *x, float alpha, size_t n);
    double (*dot)(sibvad_be be, const float *x, const float *y, size_t n);

    /* ---- elementwise helpers the blocks and the model need ---- */
    /* out = a + b (out may alias a or b) */
    void (*add)(sibvad_be be, float *out, const float *a, const float *b, size_t n);
    /* x *= alpha */
    void (*scale)(sibvad_be be, float *x, float alpha, size_t n);
    /* x[r, c] += v[c] for R rows of C (a position embedding over a batch) */
    void (*add_rowvec)(sibvad_be be, float *x, const float *v, int R, int C);
    /* out[r, c] = in[r, c] * v[c] (layer-scale), and its adjoint:
     * din += dout * v; dv[c] += sum_r dout[r, c] * in[r, c] (either may be NULL) */
    void (*mul_rowvec)(sibvad_be be, float *out, const float *in, const float *v, int R, int C);
    void (*mul_rowvec_backward)(sibvad_be be, float *din, float *dv, const float *dout, const float *in,
                                const float *v, int R, int C);
    /* the scores of spec section 8 per clip: visual[b] = mean over C,H,W of
     * (target - pred)^2, error_map (B, H*W) = mean over C (either may be NULL;
     * visual goes to HOST memory, error_map to backend memory) */
    void (*visual_error)(sibvad_be be, float *visual_host, float *error_map, const float *pred,
                         const float *target, int B, int C, size_t HW);

    /* ---- the SFFM (data-dependent routing: one op each way) ----
     * Same contract as sibvad_sffm_forward/backward (ops/blocks.h); the cache's
     * arrays are backend memory; c->balance is set on the host. */
    void (*sffm_forward)(sibvad_be be, float *out, sibvad_sffm_cache *c, const float *x,
                         const sibvad_sffm_weights *w, const sibvad_sffm_dims *d);
    void (*sffm_backward)(sibvad_be be, float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                          const float *dout, float balance_scale, sibvad_sffm_cache *c, const float *x,
                          const sibvad_sffm_weights *w, const sibvad_sffm_dims *d);
};

/* The CPU backend (always present; a static object, destroy is a no-op). */
const sibvad_backend *sibvad_backend_cpu(void);

/* A backend by name: "cpu", "cuda" or "auto" (CUDA when the module loads and
 * a GPU works, else the CPU). "cuda" and "auto" take a precision for the GPU
 * after a colon: "cuda:fp32" (the default: TF32 off, for parity with the
 * CPU), "cuda:tf32" (TF32 tensor cores), "cuda:bf16" (matrix products on bf16
 * tensor cores with fp32 accumulation, convolutions in TF32; the SFFM router
 * stays fp32). The backend's name says which: "cuda", "cuda:tf32", "cuda:bf16". The CUDA backend lives in a separately loaded
 * module (libsibvad-cuda.so, found beside the caller, in SIBVAD_CUDA_MODULE,
 * or on the library path): without it, a driver or a GPU, "cuda" fails with a
 * message that says which, and "auto" returns the CPU. Free with
 * sibvad_backend_release. */
sibvad_backend *sibvad_backend_open(const char *name, sibvad_error *err);
void sibvad_backend_release(sibvad_backend *be);

/* The entry point a backend module exports (cuda/): fills *be or fails.
 * options: the precision after the colon of the name ("" for none). */
typedef int (*sibvad_backend_module_init_fn)(sibvad_backend *be, const char *options, sibvad_error *err);
#define SIBVAD_BACKEND_MODULE_INIT "sibvad_backend_module_init"

#endif
