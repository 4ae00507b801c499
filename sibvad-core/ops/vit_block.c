/* vit_block.c: the pre-norm ViT block (timm / InternViT type), fused qkv with
 * bias, optional layer-scale vectors on both residual branches.
 *   x1  = x  + ls1 * proj(attn(qkv(LN1(x))))
 *   out = x1 + ls2 * fc2(gelu(fc1(LN2(x1))))
 * Cached for backward: everything in sibvad_vit_cache. */
#include "blocks.h"

#include <string.h>

/* out = x + ls * branch (ls NULL: 1) */
static void residual(float *out, const float *x, const float *branch, const float *ls, size_t R, int D)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(R * D))
    for (size_t r = 0; r < R; r++)
        for (int i = 0; i < D; i++)
            out[r * D + i] = x[r * D + i] + (ls ? ls[i] : 1.0f) * branch[r * D + i];
}

/* dbranch = dout * ls; dls += sum_r dout * branch */
static void residual_backward(float *dbranch, float *dls, const float *dout, const float *branch,
                              const float *ls, size_t R, int D)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(R * D))
    for (size_t r = 0; r < R; r++)
        for (int i = 0; i < D; i++)
            dbranch[r * D + i] = dout[r * D + i] * (ls ? ls[i] : 1.0f);
    if (dls && ls) {
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(R * D))
        for (int i0 = 0; i0 < D; i0 += 16) {
            const int i1 = i0 + 16 < D ? i0 + 16 : D;
            float acc[16] = {0};
            for (size_t r = 0; r < R; r++)
                for (int i = i0; i < i1; i++)
                    acc[i - i0] += dout[r * D + i] * branch[r * D + i];
            for (int i = i0; i < i1; i++)
                dls[i] += acc[i - i0];
        }
    }
}

void sibvad_vit_block_forward(float *out, sibvad_vit_cache *c, const float *x,
                              const sibvad_vit_weights *w, const sibvad_vit_dims *d)
{
    const int R = d->Bi * d->N, D = d->D;
    sibvad_layernorm_forward(c->ln1, c->ln1_mean, c->ln1_rstd, x, w->ln1_w, w->ln1_b, R, D, d->eps);
    sibvad_linear_forward(c->qkv, c->ln1, w->qkv_w, w->qkv_b, R, D, 3 * D);
    sibvad_attention_forward(c->att, c->probs, c->qkv, 3 * D, c->qkv + D, 3 * D, c->qkv + 2 * D,
                             3 * D, d->Bi, d->N, d->N, d->H, D / d->H);
    sibvad_linear_forward(c->attp, c->att, w->proj_w, w->proj_b, R, D, D);
    residual(c->x1, x, c->attp, w->ls1, R, D);
    sibvad_layernorm_forward(c->ln2, c->ln2_mean, c->ln2_rstd, c->x1, w->ln2_w, w->ln2_b, R, D, d->eps);
    sibvad_linear_forward(c->h, c->ln2, w->fc1_w, w->fc1_b, R, D, d->F);
    sibvad_gelu_forward(c->a, c->h, (size_t)R * d->F);
    sibvad_linear_forward(c->m, c->a, w->fc2_w, w->fc2_b, R, d->F, D);
    residual(out, c->x1, c->m, w->ls2, R, D);
}

void sibvad_vit_block_backward(float *dx, const sibvad_vit_weights *g, sibvad_vit_scratch *s,
                               const float *dout, const sibvad_vit_cache *c, const float *x,
                               const sibvad_vit_weights *w, const sibvad_vit_dims *d)
{
    const int R = d->Bi * d->N, D = d->D, F = d->F;
    const size_t RD = (size_t)R * D, RF = (size_t)R * F;
    const sibvad_vit_weights none = {0};
    if (!g)
        g = &none;
    /* MLP branch */
    memcpy(s->dx1, dout, sizeof(float) * RD);
    residual_backward(s->dbranch, g->ls2, dout, c->m, w->ls2, R, D);
    memset(s->da, 0, sizeof(float) * RF);
    sibvad_linear_backward(s->da, g->fc2_w, g->fc2_b, s->dbranch, c->a, w->fc2_w, R, F, D);
    memset(s->dh, 0, sizeof(float) * RF);
    sibvad_gelu_backward(s->dh, s->da, c->h, RF);
    memset(s->dln, 0, sizeof(float) * RD);
    sibvad_linear_backward(s->dln, g->fc1_w, g->fc1_b, s->dh, c->ln2, w->fc1_w, R, D, F);
    sibvad_layernorm_backward(s->dx1, g->ln2_w, g->ln2_b, s->dln, c->x1, w->ln2_w, c->ln2_mean,
                              c->ln2_rstd, R, D);
    /* attention branch */
    residual_backward(s->dbranch, g->ls1, s->dx1, c->attp, w->ls1, R, D);
    memset(s->datt, 0, sizeof(float) * RD);
    sibvad_linear_backward(s->datt, g->proj_w, g->proj_b, s->dbranch, c->att, w->proj_w, R, D, D);
    memset(s->dqkv, 0, sizeof(float) * RD * 3);
    sibvad_attention_backward(s->dqkv, s->dqkv + D, s->dqkv + 2 * D, s->dprobs, s->datt, c->probs,
                              c->qkv, 3 * D, c->qkv + D, 3 * D, c->qkv + 2 * D, 3 * D,
                              d->Bi, d->N, d->N, d->H, D / d->H);
    const int need_dln = dx || g->ln1_w || g->ln1_b;
    memset(s->dln, 0, sizeof(float) * RD);
    sibvad_linear_backward(need_dln ? s->dln : NULL, g->qkv_w, g->qkv_b, s->dqkv, c->ln1, w->qkv_w,
                           R, D, 3 * D);
    if (need_dln)
        sibvad_layernorm_backward(dx, g->ln1_w, g->ln1_b, s->dln, x, w->ln1_w, c->ln1_mean,
                                  c->ln1_rstd, R, D);
    if (dx)
        sibvad_axpy(dx, s->dx1, 1.0f, RD);
}
