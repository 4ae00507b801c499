/* backend-cpu.c: the CPU backend: every member of sibvad_backend (backend.h)
 * on host memory. The layers are the functions of ops.h and the SFFM of
 * blocks.h (the backend argument is unused); the elementwise helpers are
 * written here as plain loops, parallel (OpenMP) above SIBVAD_PAR_MIN like the
 * ops. Memory is the C heap: 64-byte aligned blocks (the arenas carve 64-byte
 * aligned slices), freed with free() (as are a new model's parameter buffers,
 * which model.c makes with malloc/calloc); copies are memcpy; synchronize has
 * nothing to wait for. The object is static and shared by every model. */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

/* ---- memory ---- */

static void *cpu_alloc(sibvad_be be, size_t bytes)
{
    (void)be;
    size_t n = (bytes + 63) & ~(size_t)63; /* aligned_alloc wants a multiple of the alignment */
    return aligned_alloc(64, n ? n : 64);
}

static void cpu_free(sibvad_be be, void *p)
{
    (void)be;
    free(p);
}

static void cpu_copy(sibvad_be be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes && dst != src)
        memcpy(dst, src, bytes);
}

static void cpu_zero(sibvad_be be, void *dst, size_t bytes)
{
    (void)be;
    if (bytes)
        memset(dst, 0, bytes);
}

static int cpu_synchronize(sibvad_be be, sibvad_error *err)
{
    (void)be, (void)err;
    return 0;
}

/* ---- ops.h ---- */

static void cpu_linear_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int R,
                               int I, int O)
{
    (void)be;
    sibvad_linear_forward(out, in, W, b, R, I, O);
}

static void cpu_linear_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                                const float *W, int R, int I, int O)
{
    (void)be;
    sibvad_linear_backward(din, dW, db, dout, in, W, R, I, O);
}

static void cpu_layernorm_forward(sibvad_be be, float *out, float *mean, float *rstd, const float *in,
                                  const float *w, const float *b, int R, int C, float eps)
{
    (void)be;
    sibvad_layernorm_forward(out, mean, rstd, in, w, b, R, C, eps);
}

static void cpu_layernorm_backward(sibvad_be be, float *din, float *dw, float *db, const float *dout,
                                   const float *in, const float *w, const float *mean, const float *rstd, int R,
                                   int C)
{
    (void)be;
    sibvad_layernorm_backward(din, dw, db, dout, in, w, mean, rstd, R, C);
}

static void cpu_gelu_forward(sibvad_be be, float *out, const float *in, size_t n)
{
    (void)be;
    sibvad_gelu_forward(out, in, n);
}

static void cpu_gelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n)
{
    (void)be;
    sibvad_gelu_backward(din, dout, in, n);
}

static void cpu_silu_forward(sibvad_be be, float *out, const float *in, size_t n)
{
    (void)be;
    sibvad_silu_forward(out, in, n);
}

static void cpu_silu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n)
{
    (void)be;
    sibvad_silu_backward(din, dout, in, n);
}

static void cpu_leakyrelu_forward(sibvad_be be, float *out, const float *in, size_t n, float slope)
{
    (void)be;
    sibvad_leakyrelu_forward(out, in, n, slope);
}

static void cpu_leakyrelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n,
                                   float slope)
{
    (void)be;
    sibvad_leakyrelu_backward(din, dout, in, n, slope);
}

static void cpu_patch_embed_forward(sibvad_be be, float *tok, float *cols, const float *img, const float *W,
                                    const float *b, const float *cls, const float *pos, int Bi, int C, int Hh,
                                    int Ww, int p, int D)
{
    (void)be;
    sibvad_patch_embed_forward(tok, cols, img, W, b, cls, pos, Bi, C, Hh, Ww, p, D);
}

static void cpu_patch_embed_backward(sibvad_be be, float *dW, float *db, float *dcls, float *dpos,
                                     const float *dtok, const float *cols, int Bi, int C, int Hh, int Ww, int p,
                                     int D)
{
    (void)be;
    sibvad_patch_embed_backward(dW, db, dcls, dpos, dtok, cols, Bi, C, Hh, Ww, p, D);
}

static void cpu_conv2d_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int B,
                               int Ci, int Co, int Hh, int Ww, int k)
{
    (void)be;
    sibvad_conv2d_forward(out, in, W, b, B, Ci, Co, Hh, Ww, k);
}

static void cpu_conv2d_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout,
                                const float *in, const float *W, int B, int Ci, int Co, int Hh, int Ww, int k)
{
    (void)be;
    sibvad_conv2d_backward(din, dW, db, dout, in, W, B, Ci, Co, Hh, Ww, k);
}

static void cpu_unpatchify(sibvad_be be, float *img, const float *patches, int B, int C, int gh, int gw, int p)
{
    (void)be;
    sibvad_unpatchify(img, patches, B, C, gh, gw, p);
}

static void cpu_unpatchify_backward(sibvad_be be, float *dpatches, const float *dimg, int B, int C, int gh,
                                    int gw, int p)
{
    (void)be;
    sibvad_unpatchify_backward(dpatches, dimg, B, C, gh, gw, p);
}

static void cpu_attention_forward(sibvad_be be, float *out, float *probs, const float *q, int ldq,
                                  const float *k, int ldk, const float *v, int ldv, int B, int N, int M, int H,
                                  int dh)
{
    (void)be;
    sibvad_attention_forward(out, probs, q, ldq, k, ldk, v, ldv, B, N, M, H, dh);
}

static void cpu_attention_backward(sibvad_be be, float *dq, float *dk, float *dv, float *scratch,
                                   const float *dout, const float *probs, const float *q, int ldq,
                                   const float *k, int ldk, const float *v, int ldv, int B, int N, int M, int H,
                                   int dh)
{
    (void)be;
    sibvad_attention_backward(dq, dk, dv, scratch, dout, probs, q, ldq, k, ldk, v, ldv, B, N, M, H, dh);
}

static float cpu_mse_forward(sibvad_be be, const float *a, const float *b, size_t n)
{
    (void)be;
    return sibvad_mse_forward(a, b, n);
}

static void cpu_mse_backward(sibvad_be be, float *da, const float *a, const float *b, size_t n, float scale)
{
    (void)be;
    sibvad_mse_backward(da, a, b, n, scale);
}

static float cpu_motion_loss_forward(sibvad_be be, const float *pred, const float *target, const float *prev,
                                     size_t n)
{
    (void)be;
    return sibvad_motion_loss_forward(pred, target, prev, n);
}

static void cpu_motion_loss_backward(sibvad_be be, float *dpred, const float *pred, const float *target,
                                     const float *prev, size_t n, float scale)
{
    (void)be;
    sibvad_motion_loss_backward(dpred, pred, target, prev, n, scale);
}

static float cpu_cosine_loss_forward(sibvad_be be, const float *a, const float *t, int B, int S)
{
    (void)be;
    return sibvad_cosine_loss_forward(a, t, B, S);
}

static void cpu_cosine_loss_backward(sibvad_be be, float *da, const float *a, const float *t, int B, int S,
                                     float scale)
{
    (void)be;
    sibvad_cosine_loss_backward(da, a, t, B, S, scale);
}

static void cpu_cosine_distance(sibvad_be be, float *out, const float *a, const float *t, int B, int S)
{
    (void)be;
    sibvad_cosine_distance(out, a, t, B, S);
}

static void cpu_adam_update(sibvad_be be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                            float beta1, float beta2, float eps, float weight_decay, int t)
{
    (void)be;
    sibvad_adam_update(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, t);
}

static void cpu_interleave_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C)
{
    (void)be;
    sibvad_interleave_frames(out, in, B, T, N, C);
}

static void cpu_interleave_frames_backward(sibvad_be be, float *din, const float *dout, int B, int T, int N,
                                           int C)
{
    (void)be;
    sibvad_interleave_frames_backward(din, dout, B, T, N, C);
}

static void cpu_gather_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C, int first)
{
    (void)be;
    sibvad_gather_frames(out, in, B, T, N, C, first);
}

static void cpu_concat_channels(sibvad_be be, float *out, const float *a, int Ca, const float *b, int Cb, int R)
{
    (void)be;
    sibvad_concat_channels(out, a, Ca, b, Cb, R);
}

static void cpu_concat_channels_backward(sibvad_be be, float *da, float *db, const float *dout, int Ca, int Cb,
                                         int R)
{
    (void)be;
    sibvad_concat_channels_backward(da, db, dout, Ca, Cb, R);
}

static void cpu_sub(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    (void)be;
    sibvad_sub(out, a, b, n);
}

static void cpu_axpy(sibvad_be be, float *y, const float *x, float alpha, size_t n)
{
    (void)be;
    sibvad_axpy(y, x, alpha, n);
}

static double cpu_dot(sibvad_be be, const float *x, const float *y, size_t n)
{
    (void)be;
    return sibvad_dot(x, y, n);
}

/* ---- elementwise helpers ---- */

static void cpu_add(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    (void)be;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

static void cpu_scale(sibvad_be be, float *x, float alpha, size_t n)
{
    (void)be;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

static void cpu_add_rowvec(sibvad_be be, float *x, const float *v, int R, int C)
{
    (void)be;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
    for (int r = 0; r < R; r++) {
        float *xr = x + (size_t)r * C;
        for (int c = 0; c < C; c++)
            xr[c] += v[c];
    }
}

static void cpu_mul_rowvec(sibvad_be be, float *out, const float *in, const float *v, int R, int C)
{
    (void)be;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            out[(size_t)r * C + c] = in[(size_t)r * C + c] * v[c];
}

static void cpu_mul_rowvec_backward(sibvad_be be, float *din, float *dv, const float *dout, const float *in,
                                    const float *v, int R, int C)
{
    (void)be;
    if (din) {
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++)
                din[(size_t)r * C + c] += dout[(size_t)r * C + c] * v[c];
    }
    if (dv) {
        /* column blocks of 16, rows in order: the same sums at any thread count */
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
        for (int c0 = 0; c0 < C; c0 += 16) {
            const int c1 = c0 + 16 < C ? c0 + 16 : C;
            float acc[16] = {0};
            for (int r = 0; r < R; r++)
                for (int c = c0; c < c1; c++)
                    acc[c - c0] += dout[(size_t)r * C + c] * in[(size_t)r * C + c];
            for (int c = c0; c < c1; c++)
                dv[c] += acc[c - c0];
        }
    }
}

static void cpu_visual_error(sibvad_be be, float *visual, float *error_map, const float *pred,
                             const float *target, int B, int C, size_t HW)
{
    (void)be;
    if (!visual && !error_map)
        return;
    for (int b = 0; b < B; b++) {
        const float *p = pred + (size_t)b * C * HW, *t = target + (size_t)b * C * HW;
        double s = 0.0;
        for (size_t i = 0; i < HW; i++) {
            float e = 0.0f;
            for (int ch = 0; ch < C; ch++) {
                float d = p[ch * HW + i] - t[ch * HW + i];
                e += d * d;
            }
            s += e;
            if (error_map)
                error_map[(size_t)b * HW + i] = e / C;
        }
        if (visual)
            visual[b] = (float)(s / ((double)C * HW));
    }
}

/* ---- the SFFM ---- */

static void cpu_sffm_forward(sibvad_be be, float *out, sibvad_sffm_cache *c, const float *x,
                             const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    (void)be;
    sibvad_sffm_forward(out, c, x, w, d);
}

static void cpu_sffm_backward(sibvad_be be, float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                              const float *dout, float balance_scale, sibvad_sffm_cache *c, const float *x,
                              const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    (void)be;
    sibvad_sffm_backward(dx, g, s, dout, balance_scale, c, x, w, d);
}

static const sibvad_backend cpu_backend = {
    .name = "cpu",
    .ctx = NULL,
    .destroy = NULL,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .synchronize = cpu_synchronize,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .layernorm_forward = cpu_layernorm_forward,
    .layernorm_backward = cpu_layernorm_backward,
    .gelu_forward = cpu_gelu_forward,
    .gelu_backward = cpu_gelu_backward,
    .silu_forward = cpu_silu_forward,
    .silu_backward = cpu_silu_backward,
    .leakyrelu_forward = cpu_leakyrelu_forward,
    .leakyrelu_backward = cpu_leakyrelu_backward,
    .patch_embed_forward = cpu_patch_embed_forward,
    .patch_embed_backward = cpu_patch_embed_backward,
    .conv2d_forward = cpu_conv2d_forward,
    .conv2d_backward = cpu_conv2d_backward,
    .unpatchify = cpu_unpatchify,
    .unpatchify_backward = cpu_unpatchify_backward,
    .attention_forward = cpu_attention_forward,
    .attention_backward = cpu_attention_backward,
    .mse_forward = cpu_mse_forward,
    .mse_backward = cpu_mse_backward,
    .motion_loss_forward = cpu_motion_loss_forward,
    .motion_loss_backward = cpu_motion_loss_backward,
    .cosine_loss_forward = cpu_cosine_loss_forward,
    .cosine_loss_backward = cpu_cosine_loss_backward,
    .cosine_distance = cpu_cosine_distance,
    .adam_update = cpu_adam_update,
    .interleave_frames = cpu_interleave_frames,
    .interleave_frames_backward = cpu_interleave_frames_backward,
    .gather_frames = cpu_gather_frames,
    .concat_channels = cpu_concat_channels,
    .concat_channels_backward = cpu_concat_channels_backward,
    .sub = cpu_sub,
    .axpy = cpu_axpy,
    .dot = cpu_dot,
    .add = cpu_add,
    .scale = cpu_scale,
    .add_rowvec = cpu_add_rowvec,
    .mul_rowvec = cpu_mul_rowvec,
    .mul_rowvec_backward = cpu_mul_rowvec_backward,
    .visual_error = cpu_visual_error,
    .sffm_forward = cpu_sffm_forward,
    .sffm_backward = cpu_sffm_backward,
};

const sibvad_backend *sibvad_backend_cpu(void)
{
    return &cpu_backend;
}
