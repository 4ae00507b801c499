/* backend-fake.c: a stand-in backend module for the tests (no GPU needed):
 * loaded like the CUDA module (SIBVAD_CUDA_MODULE=libsibvad-fake-backend.so),
 * it computes with the CPU functions of ops.h, but its memory is "device
 * memory" the host cannot touch: every pointer it hands out is the real one
 * plus 2^62, a non-canonical address on x86-64, so any host read or write of
 * backend memory by the model code crashes, and every op checks that it was
 * given backend pointers (and the transfers, host pointers where they belong),
 * naming the op when not. The results are the CPU backend's bit for bit, so
 * test_backend_cuda.c run on this module checks that the model code on a
 * backend other than the CPU (uploads, downloads, host mirrors) gives exactly
 * the CPU's results. */
#include "backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POISON ((uintptr_t)1 << 62)

/* a backend pointer to the real one (NULL stays NULL) */
static void *dev_(const void *p, const char *op)
{
    if (!p)
        return NULL;
    if (!((uintptr_t)p & POISON)) {
        fprintf(stderr, "fake backend: %s was given host memory %p where backend memory belongs\n", op, p);
        abort();
    }
    return (void *)((uintptr_t)p - POISON);
}

static void host_(const void *p, const char *op)
{
    if ((uintptr_t)p & POISON) {
        fprintf(stderr, "fake backend: %s was given backend memory %p where host memory belongs\n", op, p);
        abort();
    }
}

#define F(p) ((float *)dev_((p), __func__))
#define CF(p) ((const float *)dev_((p), __func__))

static void *fk_alloc(sibvad_be be, size_t bytes)
{
    (void)be;
    void *p = aligned_alloc(64, ((bytes + 63) & ~(size_t)63) ? ((bytes + 63) & ~(size_t)63) : 64);
    return p ? (void *)((uintptr_t)p + POISON) : NULL;
}

static void fk_free(sibvad_be be, void *p)
{
    (void)be;
    free(dev_(p, __func__));
}

static void fk_upload(sibvad_be be, void *dst, const void *host, size_t n)
{
    (void)be;
    host_(host, __func__);
    if (n)
        memcpy(dev_(dst, __func__), host, n);
}

static void fk_download(sibvad_be be, void *host, const void *src, size_t n)
{
    (void)be;
    host_(host, __func__);
    if (n)
        memcpy(host, dev_(src, __func__), n);
}

static void fk_copy(sibvad_be be, void *dst, const void *src, size_t n)
{
    (void)be;
    if (n)
        memmove(dev_(dst, __func__), dev_(src, __func__), n);
}

static void fk_zero(sibvad_be be, void *dst, size_t n)
{
    (void)be;
    if (n)
        memset(dev_(dst, __func__), 0, n);
}

static int fk_sync(sibvad_be be, sibvad_error *err)
{
    (void)be, (void)err;
    return 0;
}

static void fk_linear_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int R, int I,
                              int O)
{
    (void)be;
    sibvad_linear_forward(F(out), CF(in), CF(W), CF(b), R, I, O);
}

static void fk_linear_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                               const float *W, int R, int I, int O)
{
    (void)be;
    sibvad_linear_backward(F(din), F(dW), F(db), CF(dout), CF(in), CF(W), R, I, O);
}

static void fk_layernorm_forward(sibvad_be be, float *out, float *mean, float *rstd, const float *in, const float *w,
                                 const float *b, int R, int C, float eps)
{
    (void)be;
    sibvad_layernorm_forward(F(out), F(mean), F(rstd), CF(in), CF(w), CF(b), R, C, eps);
}

static void fk_layernorm_backward(sibvad_be be, float *din, float *dw, float *db, const float *dout, const float *in,
                                  const float *w, const float *mean, const float *rstd, int R, int C)
{
    (void)be;
    sibvad_layernorm_backward(F(din), F(dw), F(db), CF(dout), CF(in), CF(w), CF(mean), CF(rstd), R, C);
}

static void fk_gelu_forward(sibvad_be be, float *out, const float *in, size_t n)
{
    (void)be;
    sibvad_gelu_forward(F(out), CF(in), n);
}

static void fk_gelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n)
{
    (void)be;
    sibvad_gelu_backward(F(din), CF(dout), CF(in), n);
}

static void fk_silu_forward(sibvad_be be, float *out, const float *in, size_t n)
{
    (void)be;
    sibvad_silu_forward(F(out), CF(in), n);
}

static void fk_silu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n)
{
    (void)be;
    sibvad_silu_backward(F(din), CF(dout), CF(in), n);
}

static void fk_leakyrelu_forward(sibvad_be be, float *out, const float *in, size_t n, float slope)
{
    (void)be;
    sibvad_leakyrelu_forward(F(out), CF(in), n, slope);
}

static void fk_leakyrelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n, float slope)
{
    (void)be;
    sibvad_leakyrelu_backward(F(din), CF(dout), CF(in), n, slope);
}

static void fk_patch_embed_forward(sibvad_be be, float *tok, float *cols, const float *img, const float *W,
                                   const float *b, const float *cls, const float *pos, int Bi, int C, int Hh, int Ww,
                                   int p, int D)
{
    (void)be;
    sibvad_patch_embed_forward(F(tok), F(cols), CF(img), CF(W), CF(b), CF(cls), CF(pos), Bi, C, Hh, Ww, p, D);
}

static void fk_patch_embed_backward(sibvad_be be, float *dW, float *db, float *dcls, float *dpos, const float *dtok,
                                    const float *cols, int Bi, int C, int Hh, int Ww, int p, int D)
{
    (void)be;
    sibvad_patch_embed_backward(F(dW), F(db), F(dcls), F(dpos), CF(dtok), CF(cols), Bi, C, Hh, Ww, p, D);
}

static void fk_conv2d_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int B,
                              int Ci, int Co, int Hh, int Ww, int k)
{
    (void)be;
    sibvad_conv2d_forward(F(out), CF(in), CF(W), CF(b), B, Ci, Co, Hh, Ww, k);
}

static void fk_conv2d_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                               const float *W, int B, int Ci, int Co, int Hh, int Ww, int k)
{
    (void)be;
    sibvad_conv2d_backward(F(din), F(dW), F(db), CF(dout), CF(in), CF(W), B, Ci, Co, Hh, Ww, k);
}

static void fk_unpatchify(sibvad_be be, float *img, const float *patches, int B, int C, int gh, int gw, int p)
{
    (void)be;
    sibvad_unpatchify(F(img), CF(patches), B, C, gh, gw, p);
}

static void fk_unpatchify_backward(sibvad_be be, float *dp, const float *dimg, int B, int C, int gh, int gw, int p)
{
    (void)be;
    sibvad_unpatchify_backward(F(dp), CF(dimg), B, C, gh, gw, p);
}

static void fk_attention_forward(sibvad_be be, float *out, float *probs, const float *q, int ldq, const float *k,
                                 int ldk, const float *v, int ldv, int B, int N, int M, int H, int dh)
{
    (void)be;
    sibvad_attention_forward(F(out), F(probs), CF(q), ldq, CF(k), ldk, CF(v), ldv, B, N, M, H, dh);
}

static void fk_attention_backward(sibvad_be be, float *dq, float *dk, float *dv, float *scratch, const float *dout,
                                  const float *probs, const float *q, int ldq, const float *k, int ldk,
                                  const float *v, int ldv, int B, int N, int M, int H, int dh)
{
    (void)be;
    sibvad_attention_backward(F(dq), F(dk), F(dv), F(scratch), CF(dout), CF(probs), CF(q), ldq, CF(k), ldk, CF(v),
                              ldv, B, N, M, H, dh);
}

static float fk_mse_forward(sibvad_be be, const float *a, const float *b, size_t n)
{
    (void)be;
    return sibvad_mse_forward(CF(a), CF(b), n);
}

static void fk_mse_backward(sibvad_be be, float *da, const float *a, const float *b, size_t n, float s)
{
    (void)be;
    sibvad_mse_backward(F(da), CF(a), CF(b), n, s);
}

static float fk_motion_loss_forward(sibvad_be be, const float *p, const float *t, const float *q, size_t n)
{
    (void)be;
    return sibvad_motion_loss_forward(CF(p), CF(t), CF(q), n);
}

static void fk_motion_loss_backward(sibvad_be be, float *dp, const float *p, const float *t, const float *q, size_t n,
                                    float s)
{
    (void)be;
    sibvad_motion_loss_backward(F(dp), CF(p), CF(t), CF(q), n, s);
}

static float fk_cosine_loss_forward(sibvad_be be, const float *a, const float *t, int B, int S)
{
    (void)be;
    return sibvad_cosine_loss_forward(CF(a), CF(t), B, S);
}

static void fk_cosine_loss_backward(sibvad_be be, float *da, const float *a, const float *t, int B, int S, float s)
{
    (void)be;
    sibvad_cosine_loss_backward(F(da), CF(a), CF(t), B, S, s);
}

static void fk_cosine_distance(sibvad_be be, float *out, const float *a, const float *t, int B, int S)
{
    (void)be;
    sibvad_cosine_distance(F(out), CF(a), CF(t), B, S);
}

static void fk_adam_update(sibvad_be be, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                           float b2, float eps, float wd, int t)
{
    (void)be;
    sibvad_adam_update(F(p), CF(g), F(m), F(v), n, lr, b1, b2, eps, wd, t);
}

static void fk_interleave_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C)
{
    (void)be;
    sibvad_interleave_frames(F(out), CF(in), B, T, N, C);
}

static void fk_interleave_frames_backward(sibvad_be be, float *din, const float *dout, int B, int T, int N, int C)
{
    (void)be;
    sibvad_interleave_frames_backward(F(din), CF(dout), B, T, N, C);
}

static void fk_gather_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C, int first)
{
    (void)be;
    sibvad_gather_frames(F(out), CF(in), B, T, N, C, first);
}

static void fk_concat_channels(sibvad_be be, float *out, const float *a, int Ca, const float *b, int Cb, int R)
{
    (void)be;
    sibvad_concat_channels(F(out), CF(a), Ca, CF(b), Cb, R);
}

static void fk_concat_channels_backward(sibvad_be be, float *da, float *db, const float *dout, int Ca, int Cb, int R)
{
    (void)be;
    sibvad_concat_channels_backward(F(da), F(db), CF(dout), Ca, Cb, R);
}

static void fk_sub(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    (void)be;
    sibvad_sub(F(out), CF(a), CF(b), n);
}

static void fk_axpy(sibvad_be be, float *y, const float *x, float alpha, size_t n)
{
    (void)be;
    sibvad_axpy(F(y), CF(x), alpha, n);
}

static double fk_dot(sibvad_be be, const float *x, const float *y, size_t n)
{
    (void)be;
    return sibvad_dot(CF(x), CF(y), n);
}

/* the helpers through the CPU backend's own, on real pointers */
static void fk_add(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    (void)be;
    const sibvad_backend *c = sibvad_backend_cpu();
    c->add(c, F(out), CF(a), CF(b), n);
}

static void fk_scale(sibvad_be be, float *x, float alpha, size_t n)
{
    (void)be;
    const sibvad_backend *c = sibvad_backend_cpu();
    c->scale(c, F(x), alpha, n);
}

static void fk_add_rowvec(sibvad_be be, float *x, const float *v, int R, int C)
{
    (void)be;
    const sibvad_backend *c = sibvad_backend_cpu();
    c->add_rowvec(c, F(x), CF(v), R, C);
}

static void fk_mul_rowvec(sibvad_be be, float *out, const float *in, const float *v, int R, int C)
{
    (void)be;
    const sibvad_backend *c = sibvad_backend_cpu();
    c->mul_rowvec(c, F(out), CF(in), CF(v), R, C);
}

static void fk_mul_rowvec_backward(sibvad_be be, float *din, float *dv, const float *dout, const float *in,
                                   const float *v, int R, int C)
{
    (void)be;
    const sibvad_backend *c = sibvad_backend_cpu();
    c->mul_rowvec_backward(c, F(din), F(dv), CF(dout), CF(in), CF(v), R, C);
}

static void fk_visual_error(sibvad_be be, float *visual, float *map, const float *pred, const float *target, int B,
                            int C, size_t HW)
{
    (void)be;
    if (visual)
        host_(visual, __func__);
    const sibvad_backend *c = sibvad_backend_cpu();
    c->visual_error(c, visual, F(map), CF(pred), CF(target), B, C, HW);
}

/* ---- the SFFM: its structs hold backend pointers; hand the CPU code real ones ---- */

typedef struct real_w {
    sibvad_sffm_weights w;
    float *arr[6][1024];
} real_w;

static const sibvad_sffm_weights *real_weights(real_w *r, const sibvad_sffm_weights *w, const sibvad_sffm_dims *d,
                                               const char *op)
{
    if (!w)
        return NULL;
    float **const src[6] = {w->pn_w, w->pn_b, w->down_w, w->down_b, w->up_w, w->up_b};
    if (d->Nr + 1 > 1024) {
        fprintf(stderr, "fake backend: %s: too many filters\n", op);
        abort();
    }
    r->w.gate = dev_(w->gate, op);
    for (int a = 0; a < 6; a++) {
        host_(src[a], op); /* the pointer arrays themselves are host memory */
        for (int i = 0; i < d->Nr; i++)
            r->arr[a][i] = dev_(src[a][i], op);
        r->arr[a][d->Nr] = d->Ns > 0 ? dev_(src[a][d->Nr], op) : NULL;
    }
    r->w.pn_w = r->arr[0], r->w.pn_b = r->arr[1], r->w.down_w = r->arr[2];
    r->w.down_b = r->arr[3], r->w.up_w = r->arr[4], r->w.up_b = r->arr[5];
    return &r->w;
}

static void real_cache(sibvad_sffm_cache *r, const sibvad_sffm_cache *c, const char *op)
{
    *r = *c;
    r->xhat = dev_(c->xhat, op), r->mean = dev_(c->mean, op), r->rstd = dev_(c->rstd, op);
    r->s = dev_(c->s, op), r->topk = dev_(c->topk, op), r->gw = dev_(c->gw, op);
    r->order = dev_(c->order, op), r->offsets = dev_(c->offsets, op), r->h = dev_(c->h, op);
    r->a = dev_(c->a, op), r->hs = dev_(c->hs, op), r->as = dev_(c->as, op), r->f = dev_(c->f, op);
    r->slot = dev_(c->slot, op), r->lns = dev_(c->lns, op);
}

static void fk_sffm_forward(sibvad_be be, float *out, sibvad_sffm_cache *c, const float *x,
                            const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    (void)be;
    static _Thread_local real_w rw;
    sibvad_sffm_cache rc;
    real_cache(&rc, c, __func__);
    sibvad_sffm_forward(F(out), &rc, CF(x), real_weights(&rw, w, d, __func__), d);
    c->balance = rc.balance;
}

static void fk_sffm_backward(sibvad_be be, float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                             const float *dout, float bs, sibvad_sffm_cache *c, const float *x,
                             const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    (void)be;
    static _Thread_local real_w rw, rg;
    sibvad_sffm_cache rc;
    real_cache(&rc, c, __func__);
    sibvad_sffm_scratch rs = {F(s->dxhat), F(s->dgw), F(s->ds), F(s->das), F(s->dhs), F(s->dlns)};
    sibvad_sffm_backward(F(dx), real_weights(&rg, g, d, __func__), &rs, CF(dout), bs, &rc, CF(x),
                         real_weights(&rw, w, d, __func__), d);
    c->balance = rc.balance;
}

#define M(name) be->name = fk_##name
int sibvad_backend_module_init(sibvad_backend *be, const char *options, sibvad_error *err)
{
    /* the precision only renames it: the arithmetic is the CPU's */
    if (!options || !*options)
        be->name = "fake";
    else if (!strcmp(options, "fp32"))
        be->name = "fake:fp32";
    else if (!strcmp(options, "tf32"))
        be->name = "fake:tf32";
    else if (!strcmp(options, "bf16"))
        be->name = "fake:bf16";
    else
        return sibvad_fail(err, "fake backend: unknown precision \"%s\"", options);
    be->ctx = NULL;
    be->destroy = NULL;
    M(alloc), M(free), M(upload), M(download), M(copy), M(zero);
    be->synchronize = fk_sync;
    M(linear_forward), M(linear_backward), M(layernorm_forward), M(layernorm_backward), M(gelu_forward);
    M(gelu_backward), M(silu_forward), M(silu_backward), M(leakyrelu_forward), M(leakyrelu_backward);
    M(patch_embed_forward), M(patch_embed_backward), M(conv2d_forward), M(conv2d_backward), M(unpatchify);
    M(unpatchify_backward), M(attention_forward), M(attention_backward), M(mse_forward), M(mse_backward);
    M(motion_loss_forward), M(motion_loss_backward), M(cosine_loss_forward), M(cosine_loss_backward);
    M(cosine_distance), M(adam_update), M(interleave_frames), M(interleave_frames_backward), M(gather_frames);
    M(concat_channels), M(concat_channels_backward), M(sub), M(axpy), M(dot), M(add), M(scale), M(add_rowvec);
    M(mul_rowvec), M(mul_rowvec_backward), M(visual_error), M(sffm_forward), M(sffm_backward);
    return 0;
}
