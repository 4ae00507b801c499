/* vit_block.c: the pre-norm ViT block (timm / InternViT type), fused qkv with
 * bias, optional layer-scale vectors on both residual branches.
 *   x1  = x  + ls1 * proj(attn(qkv(LN1(x))))
 *   out = x1 + ls2 * fc2(gelu(fc1(LN2(x1))))
 * Cached for backward: everything in sibvad_vit_cache. Every step is a call
 * on the backend (backend.h), so the block runs wherever its buffers live. */
#include "blocks.h"
#include "../backend.h"

/* out = x + ls * branch (ls NULL: 1); out must not alias x */
static void residual(sibvad_be be, float *out, const float *x, const float *branch, const float *ls, int R, int D)
{
    if (ls) {
        be->mul_rowvec(be, out, branch, ls, R, D);
        be->add(be, out, x, out, (size_t)R * D);
    } else {
        be->add(be, out, x, branch, (size_t)R * D);
    }
}

/* dbranch = dout * ls; dls += sum_r dout * branch */
static void residual_backward(sibvad_be be, float *dbranch, float *dls, const float *dout, const float *branch,
                              const float *ls, int R, int D)
{
    if (ls) {
        be->mul_rowvec(be, dbranch, dout, ls, R, D);
        if (dls)
            be->mul_rowvec_backward(be, NULL, dls, dout, branch, ls, R, D);
    } else {
        be->copy(be, dbranch, dout, sizeof(float) * R * D);
    }
}

void sibvad_vit_block_forward_be(sibvad_be be, float *out, sibvad_vit_cache *c, const float *x,
                                 const sibvad_vit_weights *w, const sibvad_vit_dims *d)
{
    const int R = d->Bi * d->N, D = d->D;
    be->layernorm_forward(be, c->ln1, c->ln1_mean, c->ln1_rstd, x, w->ln1_w, w->ln1_b, R, D, d->eps);
    be->linear_forward(be, c->qkv, c->ln1, w->qkv_w, w->qkv_b, R, D, 3 * D);
    be->attention_forward(be, c->att, c->probs, c->qkv, 3 * D, c->qkv + D, 3 * D, c->qkv + 2 * D, 3 * D, d->Bi,
                          d->N, d->N, d->H, D / d->H);
    be->linear_forward(be, c->attp, c->att, w->proj_w, w->proj_b, R, D, D);
    residual(be, c->x1, x, c->attp, w->ls1, R, D);
    be->layernorm_forward(be, c->ln2, c->ln2_mean, c->ln2_rstd, c->x1, w->ln2_w, w->ln2_b, R, D, d->eps);
    be->linear_forward(be, c->h, c->ln2, w->fc1_w, w->fc1_b, R, D, d->F);
    be->gelu_forward(be, c->a, c->h, (size_t)R * d->F);
    be->linear_forward(be, c->m, c->a, w->fc2_w, w->fc2_b, R, d->F, D);
    residual(be, out, c->x1, c->m, w->ls2, R, D);
}

void sibvad_vit_block_backward_be(sibvad_be be, float *dx, const sibvad_vit_weights *g, sibvad_vit_scratch *s,
                                  const float *dout, const sibvad_vit_cache *c, const float *x,
                                  const sibvad_vit_weights *w, const sibvad_vit_dims *d)
{
    const int R = d->Bi * d->N, D = d->D, F = d->F;
    const size_t RD = (size_t)R * D, RF = (size_t)R * F;
    const sibvad_vit_weights none = {0};
    if (!g)
        g = &none;
    /* MLP branch */
    be->copy(be, s->dx1, dout, sizeof(float) * RD);
    residual_backward(be, s->dbranch, g->ls2, dout, c->m, w->ls2, R, D);
    be->zero(be, s->da, sizeof(float) * RF);
    be->linear_backward(be, s->da, g->fc2_w, g->fc2_b, s->dbranch, c->a, w->fc2_w, R, F, D);
    be->zero(be, s->dh, sizeof(float) * RF);
    be->gelu_backward(be, s->dh, s->da, c->h, RF);
    be->zero(be, s->dln, sizeof(float) * RD);
    be->linear_backward(be, s->dln, g->fc1_w, g->fc1_b, s->dh, c->ln2, w->fc1_w, R, D, F);
    be->layernorm_backward(be, s->dx1, g->ln2_w, g->ln2_b, s->dln, c->x1, w->ln2_w, c->ln2_mean, c->ln2_rstd, R,
                           D);
    /* attention branch */
    residual_backward(be, s->dbranch, g->ls1, s->dx1, c->attp, w->ls1, R, D);
    be->zero(be, s->datt, sizeof(float) * RD);
    be->linear_backward(be, s->datt, g->proj_w, g->proj_b, s->dbranch, c->att, w->proj_w, R, D, D);
    be->zero(be, s->dqkv, sizeof(float) * RD * 3);
    be->attention_backward(be, s->dqkv, s->dqkv + D, s->dqkv + 2 * D, s->dprobs, s->datt, c->probs, c->qkv, 3 * D,
                           c->qkv + D, 3 * D, c->qkv + 2 * D, 3 * D, d->Bi, d->N, d->N, d->H, D / d->H);
    const int need_dln = dx || g->ln1_w || g->ln1_b;
    be->zero(be, s->dln, sizeof(float) * RD);
    be->linear_backward(be, need_dln ? s->dln : NULL, g->qkv_w, g->qkv_b, s->dqkv, c->ln1, w->qkv_w, R, D, 3 * D);
    if (need_dln)
        be->layernorm_backward(be, dx, g->ln1_w, g->ln1_b, s->dln, x, w->ln1_w, c->ln1_mean, c->ln1_rstd, R, D);
    if (dx)
        be->axpy(be, dx, s->dx1, 1.0f, RD);
}

void sibvad_vit_block_forward(float *out, sibvad_vit_cache *c, const float *x, const sibvad_vit_weights *w,
                              const sibvad_vit_dims *d)
{
    sibvad_vit_block_forward_be(sibvad_backend_cpu(), out, c, x, w, d);
}

void sibvad_vit_block_backward(float *dx, const sibvad_vit_weights *g, sibvad_vit_scratch *s, const float *dout,
                               const sibvad_vit_cache *c, const float *x, const sibvad_vit_weights *w,
                               const sibvad_vit_dims *d)
{
    sibvad_vit_block_backward_be(sibvad_backend_cpu(), dx, g, s, dout, c, x, w, d);
}
