/* fusion_block.c: one layer of the joint cross-attention fusion (spec 3.6).
 * x: visual tokens (B,N,D); y: semantic token (B,1,D); z: motion tokens (B,N,D).
 *   q = to_q(LN_attn(x)); keys/values = [from LN_y(y) (1 row); from LN_z(z) (N rows)]
 *   x1  = x  + g_attn * out_proj(attn(q, k, v))
 *   out = x1 + g_ff * ff3(gelu(ff0(LN_ff(x1))))
 * g_attn and g_ff are learned scalars (0 at initialisation: fusion starts as identity).
 * Cached for backward: sibvad_fusion_cache. */
#include "blocks.h"

#include <string.h>

static void gated_residual(float *out, const float *x, const float *branch, float g, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] + g * branch[i];
}

/* Stack the semantic row and the N motion rows of each sample: (B,1+N,D). */
static void stack_keys(float *cat, const float *fy, const float *fz, int B, int N, int D)
{
    for (int b = 0; b < B; b++) {
        memcpy(cat + (size_t)b * (N + 1) * D, fy + (size_t)b * D, sizeof(float) * D);
        memcpy(cat + ((size_t)b * (N + 1) + 1) * D, fz + (size_t)b * N * D, sizeof(float) * N * D);
    }
}

static void unstack_keys(float *dfy, float *dfz, const float *dcat, int B, int N, int D)
{
    for (int b = 0; b < B; b++) {
        memcpy(dfy + (size_t)b * D, dcat + (size_t)b * (N + 1) * D, sizeof(float) * D);
        memcpy(dfz + (size_t)b * N * D, dcat + ((size_t)b * (N + 1) + 1) * D, sizeof(float) * N * D);
    }
}

void sibvad_fusion_block_forward(float *out, sibvad_fusion_cache *c, const float *x,
                                 const float *y, const float *z,
                                 const sibvad_fusion_weights *w, const sibvad_fusion_dims *d)
{
    const int B = d->B, N = d->N, D = d->D, R = B * N;
    sibvad_layernorm_forward(c->xn, c->xn_mean, c->xn_rstd, x, w->ln_attn_w, w->ln_attn_b, R, D, 1e-5f);
    sibvad_layernorm_forward(c->yn, c->yn_mean, c->yn_rstd, y, w->ln_y_w, w->ln_y_b, B, D, 1e-5f);
    sibvad_layernorm_forward(c->zn, c->zn_mean, c->zn_rstd, z, w->ln_z_w, w->ln_z_b, R, D, 1e-5f);
    sibvad_linear_forward(c->q, c->xn, w->q_w, w->q_b, R, D, D);
    sibvad_linear_forward(c->ky, c->yn, w->ky_w, w->ky_b, B, D, D);
    sibvad_linear_forward(c->vy, c->yn, w->vy_w, w->vy_b, B, D, D);
    sibvad_linear_forward(c->kz, c->zn, w->kz_w, w->kz_b, R, D, D);
    sibvad_linear_forward(c->vz, c->zn, w->vz_w, w->vz_b, R, D, D);
    stack_keys(c->kcat, c->ky, c->kz, B, N, D);
    stack_keys(c->vcat, c->vy, c->vz, B, N, D);
    sibvad_attention_forward(c->att, c->probs, c->q, D, c->kcat, D, c->vcat, D, B, N, N + 1, d->H,
                             D / d->H);
    sibvad_linear_forward(c->attp, c->att, w->o_w, w->o_b, R, D, D);
    gated_residual(c->x1, x, c->attp, w->g_attn[0], (size_t)R * D);
    sibvad_layernorm_forward(c->fn, c->fn_mean, c->fn_rstd, c->x1, w->ln_ff_w, w->ln_ff_b, R, D, 1e-5f);
    sibvad_linear_forward(c->h, c->fn, w->ff0_w, w->ff0_b, R, D, d->F);
    sibvad_gelu_forward(c->a, c->h, (size_t)R * d->F);
    sibvad_linear_forward(c->f, c->a, w->ff3_w, w->ff3_b, R, d->F, D);
    gated_residual(out, c->x1, c->f, w->g_ff[0], (size_t)R * D);
}

void sibvad_fusion_block_backward(float *dx, float *dy, float *dz, const sibvad_fusion_weights *g,
                                  sibvad_fusion_scratch *s, const float *dout,
                                  const sibvad_fusion_cache *c, const float *x, const float *y,
                                  const float *z, const sibvad_fusion_weights *w,
                                  const sibvad_fusion_dims *d)
{
    const int B = d->B, N = d->N, D = d->D, F = d->F, R = B * N;
    const size_t RD = (size_t)R * D, RF = (size_t)R * F, BD = (size_t)B * D;
    const size_t KD = (size_t)B * (N + 1) * D;
    /* FFN branch: out = x1 + g_ff * f */
    memcpy(s->dx1, dout, sizeof(float) * RD);
    if (g->g_ff)
        g->g_ff[0] += (float)sibvad_dot(dout, c->f, RD);
    memset(s->dbranch, 0, sizeof(float) * RD);
    sibvad_axpy(s->dbranch, dout, w->g_ff[0], RD);
    memset(s->da, 0, sizeof(float) * RF);
    sibvad_linear_backward(s->da, g->ff3_w, g->ff3_b, s->dbranch, c->a, w->ff3_w, R, F, D);
    memset(s->dh, 0, sizeof(float) * RF);
    sibvad_gelu_backward(s->dh, s->da, c->h, RF);
    memset(s->dln, 0, sizeof(float) * RD);
    sibvad_linear_backward(s->dln, g->ff0_w, g->ff0_b, s->dh, c->fn, w->ff0_w, R, D, F);
    sibvad_layernorm_backward(s->dx1, g->ln_ff_w, g->ln_ff_b, s->dln, c->x1, w->ln_ff_w, c->fn_mean,
                              c->fn_rstd, R, D);
    /* attention branch: x1 = x + g_attn * attp */
    if (g->g_attn)
        g->g_attn[0] += (float)sibvad_dot(s->dx1, c->attp, RD);
    memset(s->dbranch, 0, sizeof(float) * RD);
    sibvad_axpy(s->dbranch, s->dx1, w->g_attn[0], RD);
    memset(s->datt, 0, sizeof(float) * RD);
    sibvad_linear_backward(s->datt, g->o_w, g->o_b, s->dbranch, c->att, w->o_w, R, D, D);
    memset(s->dq, 0, sizeof(float) * RD);
    memset(s->dkcat, 0, sizeof(float) * KD);
    memset(s->dvcat, 0, sizeof(float) * KD);
    sibvad_attention_backward(s->dq, s->dkcat, s->dvcat, s->dprobs, s->datt, c->probs, c->q, D,
                              c->kcat, D, c->vcat, D, B, N, N + 1, d->H, D / d->H);
    /* queries -> x */
    memset(s->dln, 0, sizeof(float) * RD);
    sibvad_linear_backward(s->dln, g->q_w, g->q_b, s->dq, c->xn, w->q_w, R, D, D);
    if (dx) {
        sibvad_layernorm_backward(dx, g->ln_attn_w, g->ln_attn_b, s->dln, x, w->ln_attn_w,
                                  c->xn_mean, c->xn_rstd, R, D);
        sibvad_axpy(dx, s->dx1, 1.0f, RD);
    } else {
        sibvad_layernorm_backward(NULL, g->ln_attn_w, g->ln_attn_b, s->dln, x, w->ln_attn_w,
                                  c->xn_mean, c->xn_rstd, R, D);
    }
    /* keys and values -> y and z */
    unstack_keys(s->dky, s->dkz, s->dkcat, B, N, D);
    unstack_keys(s->dvy, s->dvz, s->dvcat, B, N, D);
    memset(s->dyn, 0, sizeof(float) * BD);
    sibvad_linear_backward(s->dyn, g->ky_w, g->ky_b, s->dky, c->yn, w->ky_w, B, D, D);
    sibvad_linear_backward(s->dyn, g->vy_w, g->vy_b, s->dvy, c->yn, w->vy_w, B, D, D);
    sibvad_layernorm_backward(dy, g->ln_y_w, g->ln_y_b, s->dyn, y, w->ln_y_w, c->yn_mean, c->yn_rstd, B, D);
    memset(s->dzn, 0, sizeof(float) * RD);
    sibvad_linear_backward(s->dzn, g->kz_w, g->kz_b, s->dkz, c->zn, w->kz_w, R, D, D);
    sibvad_linear_backward(s->dzn, g->vz_w, g->vz_b, s->dvz, c->zn, w->vz_w, R, D, D);
    sibvad_layernorm_backward(dz, g->ln_z_w, g->ln_z_b, s->dzn, z, w->ln_z_w, c->zn_mean, c->zn_rstd, R, D);
}
