/* fusion_block.c: one layer of the joint cross-attention fusion (spec 3.6).
 * x: visual tokens (B,N,D); y: semantic token (B,1,D); z: motion tokens (B,N,D).
 *   q = to_q(LN_attn(x)); keys/values = [from LN_y(y) (1 row); from LN_z(z) (N rows)]
 *   x1  = x  + g_attn * out_proj(attn(q, k, v))
 *   out = x1 + g_ff * ff3(gelu(ff0(LN_ff(x1))))
 * g_attn and g_ff are learned scalars (0 at initialisation: fusion starts as identity).
 * Cached for backward: sibvad_fusion_cache. Every step is a call on the
 * backend (backend.h); the two gates are read back to the host as scalars. */
#include "blocks.h"
#include "../backend.h"

/* one scalar of backend memory */
static float get_scalar(sibvad_be be, const float *p)
{
    float v;
    be->download(be, &v, p, sizeof v);
    return v;
}

/* *p += v for one scalar of backend memory */
static void add_scalar(sibvad_be be, float *p, float v)
{
    float s = get_scalar(be, p);
    s += v;
    be->upload(be, p, &s, sizeof s);
}

/* out = x + g * branch; out must not alias x */
static void gated_residual(sibvad_be be, float *out, const float *x, const float *branch, float g, size_t n)
{
    be->copy(be, out, x, sizeof(float) * n);
    be->axpy(be, out, branch, g, n);
}

/* Stack the semantic row and the N motion rows of each sample: (B,1+N,D). */
static void stack_keys(sibvad_be be, float *cat, const float *fy, const float *fz, int B, int N, int D)
{
    for (int b = 0; b < B; b++) {
        be->copy(be, cat + (size_t)b * (N + 1) * D, fy + (size_t)b * D, sizeof(float) * D);
        be->copy(be, cat + ((size_t)b * (N + 1) + 1) * D, fz + (size_t)b * N * D, sizeof(float) * N * D);
    }
}

static void unstack_keys(sibvad_be be, float *dfy, float *dfz, const float *dcat, int B, int N, int D)
{
    for (int b = 0; b < B; b++) {
        be->copy(be, dfy + (size_t)b * D, dcat + (size_t)b * (N + 1) * D, sizeof(float) * D);
        be->copy(be, dfz + (size_t)b * N * D, dcat + ((size_t)b * (N + 1) + 1) * D, sizeof(float) * N * D);
    }
}

void sibvad_fusion_block_forward_be(sibvad_be be, float *out, sibvad_fusion_cache *c, const float *x,
                                    const float *y, const float *z, const sibvad_fusion_weights *w,
                                    const sibvad_fusion_dims *d)
{
    const int B = d->B, N = d->N, D = d->D, R = B * N;
    const float g_attn = get_scalar(be, w->g_attn), g_ff = get_scalar(be, w->g_ff);
    be->layernorm_forward(be, c->xn, c->xn_mean, c->xn_rstd, x, w->ln_attn_w, w->ln_attn_b, R, D, 1e-5f);
    be->layernorm_forward(be, c->yn, c->yn_mean, c->yn_rstd, y, w->ln_y_w, w->ln_y_b, B, D, 1e-5f);
    be->layernorm_forward(be, c->zn, c->zn_mean, c->zn_rstd, z, w->ln_z_w, w->ln_z_b, R, D, 1e-5f);
    be->linear_forward(be, c->q, c->xn, w->q_w, w->q_b, R, D, D);
    be->linear_forward(be, c->ky, c->yn, w->ky_w, w->ky_b, B, D, D);
    be->linear_forward(be, c->vy, c->yn, w->vy_w, w->vy_b, B, D, D);
    be->linear_forward(be, c->kz, c->zn, w->kz_w, w->kz_b, R, D, D);
    be->linear_forward(be, c->vz, c->zn, w->vz_w, w->vz_b, R, D, D);
    stack_keys(be, c->kcat, c->ky, c->kz, B, N, D);
    stack_keys(be, c->vcat, c->vy, c->vz, B, N, D);
    be->attention_forward(be, c->att, c->probs, c->q, D, c->kcat, D, c->vcat, D, B, N, N + 1, d->H, D / d->H);
    be->linear_forward(be, c->attp, c->att, w->o_w, w->o_b, R, D, D);
    gated_residual(be, c->x1, x, c->attp, g_attn, (size_t)R * D);
    be->layernorm_forward(be, c->fn, c->fn_mean, c->fn_rstd, c->x1, w->ln_ff_w, w->ln_ff_b, R, D, 1e-5f);
    be->linear_forward(be, c->h, c->fn, w->ff0_w, w->ff0_b, R, D, d->F);
    be->gelu_forward(be, c->a, c->h, (size_t)R * d->F);
    be->linear_forward(be, c->f, c->a, w->ff3_w, w->ff3_b, R, d->F, D);
    gated_residual(be, out, c->x1, c->f, g_ff, (size_t)R * D);
}

void sibvad_fusion_block_backward_be(sibvad_be be, float *dx, float *dy, float *dz, const sibvad_fusion_weights *g,
                                     sibvad_fusion_scratch *s, const float *dout, const sibvad_fusion_cache *c,
                                     const float *x, const float *y, const float *z,
                                     const sibvad_fusion_weights *w, const sibvad_fusion_dims *d)
{
    const int B = d->B, N = d->N, D = d->D, F = d->F, R = B * N;
    const size_t RD = (size_t)R * D, RF = (size_t)R * F, BD = (size_t)B * D;
    const size_t KD = (size_t)B * (N + 1) * D;
    const float g_attn = get_scalar(be, w->g_attn), g_ff = get_scalar(be, w->g_ff);
    /* FFN branch: out = x1 + g_ff * f */
    be->copy(be, s->dx1, dout, sizeof(float) * RD);
    if (g->g_ff)
        add_scalar(be, g->g_ff, (float)be->dot(be, dout, c->f, RD));
    be->zero(be, s->dbranch, sizeof(float) * RD);
    be->axpy(be, s->dbranch, dout, g_ff, RD);
    be->zero(be, s->da, sizeof(float) * RF);
    be->linear_backward(be, s->da, g->ff3_w, g->ff3_b, s->dbranch, c->a, w->ff3_w, R, F, D);
    be->zero(be, s->dh, sizeof(float) * RF);
    be->gelu_backward(be, s->dh, s->da, c->h, RF);
    be->zero(be, s->dln, sizeof(float) * RD);
    be->linear_backward(be, s->dln, g->ff0_w, g->ff0_b, s->dh, c->fn, w->ff0_w, R, D, F);
    be->layernorm_backward(be, s->dx1, g->ln_ff_w, g->ln_ff_b, s->dln, c->x1, w->ln_ff_w, c->fn_mean, c->fn_rstd,
                           R, D);
    /* attention branch: x1 = x + g_attn * attp */
    if (g->g_attn)
        add_scalar(be, g->g_attn, (float)be->dot(be, s->dx1, c->attp, RD));
    be->zero(be, s->dbranch, sizeof(float) * RD);
    be->axpy(be, s->dbranch, s->dx1, g_attn, RD);
    be->zero(be, s->datt, sizeof(float) * RD);
    be->linear_backward(be, s->datt, g->o_w, g->o_b, s->dbranch, c->att, w->o_w, R, D, D);
    be->zero(be, s->dq, sizeof(float) * RD);
    be->zero(be, s->dkcat, sizeof(float) * KD);
    be->zero(be, s->dvcat, sizeof(float) * KD);
    be->attention_backward(be, s->dq, s->dkcat, s->dvcat, s->dprobs, s->datt, c->probs, c->q, D, c->kcat, D,
                           c->vcat, D, B, N, N + 1, d->H, D / d->H);
    /* queries -> x */
    be->zero(be, s->dln, sizeof(float) * RD);
    be->linear_backward(be, s->dln, g->q_w, g->q_b, s->dq, c->xn, w->q_w, R, D, D);
    be->layernorm_backward(be, dx, g->ln_attn_w, g->ln_attn_b, s->dln, x, w->ln_attn_w, c->xn_mean, c->xn_rstd, R,
                           D);
    if (dx)
        be->axpy(be, dx, s->dx1, 1.0f, RD);
    /* keys and values -> y and z */
    unstack_keys(be, s->dky, s->dkz, s->dkcat, B, N, D);
    unstack_keys(be, s->dvy, s->dvz, s->dvcat, B, N, D);
    be->zero(be, s->dyn, sizeof(float) * BD);
    be->linear_backward(be, s->dyn, g->ky_w, g->ky_b, s->dky, c->yn, w->ky_w, B, D, D);
    be->linear_backward(be, s->dyn, g->vy_w, g->vy_b, s->dvy, c->yn, w->vy_w, B, D, D);
    be->layernorm_backward(be, dy, g->ln_y_w, g->ln_y_b, s->dyn, y, w->ln_y_w, c->yn_mean, c->yn_rstd, B, D);
    be->zero(be, s->dzn, sizeof(float) * RD);
    be->linear_backward(be, s->dzn, g->kz_w, g->kz_b, s->dkz, c->zn, w->kz_w, R, D, D);
    be->linear_backward(be, s->dzn, g->vz_w, g->vz_b, s->dvz, c->zn, w->vz_w, R, D, D);
    be->layernorm_backward(be, dz, g->ln_z_w, g->ln_z_b, s->dzn, z, w->ln_z_w, c->zn_mean, c->zn_rstd, R, D);
}

void sibvad_fusion_block_forward(float *out, sibvad_fusion_cache *c, const float *x, const float *y,
                                 const float *z, const sibvad_fusion_weights *w, const sibvad_fusion_dims *d)
{
    sibvad_fusion_block_forward_be(sibvad_backend_cpu(), out, c, x, y, z, w, d);
}

void sibvad_fusion_block_backward(float *dx, float *dy, float *dz, const sibvad_fusion_weights *g,
                                  sibvad_fusion_scratch *s, const float *dout, const sibvad_fusion_cache *c,
                                  const float *x, const float *y, const float *z, const sibvad_fusion_weights *w,
                                  const sibvad_fusion_dims *d)
{
    sibvad_fusion_block_backward_be(sibvad_backend_cpu(), dx, dy, dz, g, s, dout, c, x, y, z, w, d);
}
