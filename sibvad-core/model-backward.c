/* model-backward.c: the backward pass of SIB-VAD, the forward pass in reverse
 * (see model-forward.c). Activation gradients live in m->d (same names as the
 * forward activations in m->a) and are zeroed once per call; every layer adds
 * into them. Parameter gradients are added into m->grads (sibvad_model_zero_grad
 * clears them). A frozen backbone gets no backward work at all. Every step is
 * a call on the model's backend (m->be). */
#include "model-internal.h"

int sibvad_model_backward(sibvad_model *m, sibvad_error *err)
{
    if (!m || !m->act_mem || m->B == 0)
        return sibvad_fail(err, "backward: no forward pass has run");
    if (!m->training)
        return sibvad_fail(err, "backward: the model was prepared for inference, not training");
    if (!m->has_target)
        return sibvad_fail(err, "backward: the last forward pass had no target frame");
    const sibvad_config *c = &m->cfg;
    const sibvad_acts *a = &m->a;
    sibvad_acts *d = &m->d;
    const sibvad_weights *w = &m->w, *g = &m->g;
    const int B = m->B, T = c->frames_in, C = c->channels, Hh = c->img_h, Ww = c->img_w, p = c->patch;
    const int Np = m->Np, N1 = m->N1, N2 = m->N2, W = c->bb_width, D = c->d_model, Dm = c->mo_width;
    const int S = c->sem_dim, Bi = B * T, Bm = B * (T - 1), Rh = c->rgb_hidden, Hs = c->sem_hidden;
    const size_t img = (size_t)C * Hh * Ww, n = (size_t)B * img;
    sibvad_be be = m->be;
    sibvad_vit_dims vd;

    be->zero(be, m->dact_mem, sizeof(float) * m->dact_size);

    /* losses -> prediction */
    be->mse_backward(be, d->pred, a->pred, a->target, n, c->w_pred);
    be->motion_loss_backward(be, d->pred, a->pred, a->target, a->prev, n, c->w_motion);

    /* pixel head */
    be->conv2d_backward(be, d->act1, g->conv1_w, g->conv1_b, d->pred, a->act1, w->conv1_w, B, C, C, Hh, Ww, 1);
    be->leakyrelu_backward(be, d->conv1, d->act1, a->conv1, n, 0.01f);
    be->conv2d_backward(be, d->img, g->conv3_w, g->conv3_b, d->conv1, a->img, w->conv3_w, B, C, C, Hh, Ww, 3);
    be->unpatchify_backward(be, d->pred_patches, d->img, B, C, m->gh, m->gw, p);
    be->linear_backward(be, d->pix_in, g->pred.w, g->pred.b, d->pred_patches, a->pix_in, w->pred.w,
                        B * Np, 2 * D, p * p * C);
    for (int b = 0; b < B; b++)
        be->concat_channels_backward(be, d->de_norm + ((size_t)b * N2 + 2) * D, d->skip + ((size_t)b * N1 + 1) * D,
                                     d->pix_in + (size_t)b * Np * 2 * D, D, D, Np);

    /* semantic head */
    if (m->has_sem) {
        be->cosine_loss_backward(be, d->sem_pred, a->sem_pred, a->sem_in, B, S, c->w_sem);
        be->linear_backward(be, d->sem_a, g->sem2.w, g->sem2.b, d->sem_pred, a->sem_a, w->sem2.w, B, Hs, S);
        be->gelu_backward(be, d->sem_h, d->sem_a, a->sem_h, (size_t)B * Hs);
        be->linear_backward(be, d->sem_tok, g->sem0.w, g->sem0.b, d->sem_h, a->sem_tok, w->sem0.w, B, D, Hs);
        for (int b = 0; b < B; b++)
            be->axpy(be, d->de_norm + (size_t)b * N2 * D, d->sem_tok + (size_t)b * D, 1.0f, D);
    }

    /* decoder */
    be->layernorm_backward(be, d->de_x[c->de_depth], g->de_norm_w, g->de_norm_b, d->de_norm,
                           a->de_x[c->de_depth], w->de_norm_w, a->de_norm_mean, a->de_norm_rstd, B * N2, D);
    sibvad_model_vit_dims(m, SIBVAD_STACK_DECODER, B, &vd);
    sibvad_sffm_dims sd;
    sibvad_model_sffm_dims(m, &sd, B);
    for (int l = c->de_depth - 1; l >= 0; l--) {
        be->sffm_backward(be, d->de_blk[l], &g->sffm[l], &m->s.sffm, d->de_x[l + 1], 1.0f,
                          &m->a.sffm_cache[l], a->de_blk[l], &w->sffm[l], &sd);
        sibvad_vit_block_backward_be(be, d->de_x[l], &g->de[l], &m->s.de, d->de_blk[l], &a->de_cache[l],
                                     a->de_x[l], &w->de[l], &vd);
    }
    /* decoder input: token 0 is the semantic token, the rest rgb_project's output */
    for (int b = 0; b < B; b++) {
        const float *dx0 = d->de_x[0] + (size_t)b * N2 * D;
        be->axpy(be, d->semantic + (size_t)b * D, dx0, 1.0f, D);
        be->axpy(be, d->rgb_out + (size_t)b * N1 * D, dx0 + D, 1.0f, (size_t)N1 * D);
    }
    be->linear_backward(be, d->rgb_a, g->rgb2.w, g->rgb2.b, d->rgb_out, a->rgb_a, w->rgb2.w, B * N1, Rh, D);
    be->gelu_backward(be, d->rgb_h, d->rgb_a, a->rgb_h, (size_t)B * N1 * Rh);
    be->linear_backward(be, d->dec_cat, g->rgb0.w, g->rgb0.b, d->rgb_h, a->dec_cat, w->rgb0.w, B * N1, 2 * D, Rh);
    be->concat_channels_backward(be, d->fu_x[c->fu_depth], d->motion, d->dec_cat, D, D, B * N1);

    /* fusion */
    sibvad_fusion_dims fd = {B, N1, D, c->fu_heads, D * c->fu_ffn_ratio};
    for (int l = c->fu_depth - 1; l >= 0; l--)
        sibvad_fusion_block_backward_be(be, d->fu_x[l], d->semantic, d->motion, &g->fu[l], &m->s.fu, d->fu_x[l + 1],
                                        &a->fu_cache[l], a->fu_x[l], a->semantic, a->motion, &w->fu[l], &fd);
    const float *dvisual = d->fu_x[0];

    /* semantic token */
    be->linear_backward(be, NULL, g->text_project.w, g->text_project.b, d->semantic, a->sem_in,
                        w->text_project.w, B, S, D);

    /* motion stream */
    be->linear_backward(be, d->mo_cat, g->frame_diff_project.w, g->frame_diff_project.b, d->motion, a->mo_cat,
                        w->frame_diff_project.w, B * N1, (T - 1) * Dm, D);
    be->interleave_frames_backward(be, d->mo_x[c->mo_depth], d->mo_cat, B, T - 1, N1, Dm);
    sibvad_model_vit_dims(m, SIBVAD_STACK_MOTION, B, &vd);
    for (int l = c->mo_depth - 1; l >= 0; l--)
        sibvad_vit_block_backward_be(be, d->mo_x[l], &g->mo[l], &m->s.mo, d->mo_x[l + 1], &a->mo_cache[l],
                                     a->mo_x[l], &w->mo[l], &vd);
    be->patch_embed_backward(be, g->mo_patch_w, g->mo_patch_b, g->mo_cls, NULL, d->mo_x[0], a->mo_cols,
                             Bm, C, Hh, Ww, p, Dm);

    /* visual stream */
    be->linear_backward(be, d->vis_cat, g->temporal_project.w, g->temporal_project.b, dvisual, a->vis_cat,
                        w->temporal_project.w, B * N1, T * D, D);
    be->interleave_frames_backward(be, d->vis_proj, d->vis_cat, B, T, N1, D);
    const int train_bb = !c->bb_frozen;
    be->linear_backward(be, train_bb ? d->bb_x[c->bb_depth] : NULL, g->visual_project.w, g->visual_project.b,
                        d->vis_proj, a->bb_x[c->bb_depth], w->visual_project.w, Bi * N1, W, D);
    /* skip stream */
    be->linear_backward(be, train_bb ? d->skip_in : NULL, g->patch_emb_project.w, g->patch_emb_project.b,
                        d->skip, a->skip_in, w->patch_emb_project.w, B * N1, W, D);
    if (!train_bb)
        return 0;

    /* backbone */
    sibvad_model_vit_dims(m, SIBVAD_STACK_BACKBONE, B, &vd);
    for (int l = c->bb_depth - 1; l >= 0; l--)
        sibvad_vit_block_backward_be(be, d->bb_x[l], &g->bb[l], &m->s.bb, d->bb_x[l + 1], &a->bb_cache[l],
                                     a->bb_x[l], &w->bb[l], &vd);
    for (int b = 0; b < B; b++)
        be->axpy(be, d->bb_x[0] + ((size_t)b * T + T - 1) * N1 * W, d->skip_in + (size_t)b * N1 * W, 1.0f,
                 (size_t)N1 * W);
    be->patch_embed_backward(be, g->bb_patch_w, g->bb_patch_b, g->bb_cls, g->bb_pos, d->bb_x[0], a->bb_cols,
                             Bi, C, Hh, Ww, p, W);
    return 0;
}
