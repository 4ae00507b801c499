/* model-forward.c: the forward pass of SIB-VAD (spec sections 3-6) and the scores.
 *
 * Two stages, shared by the batch forward and the streams (stream.c): stage 1
 * per frame (backbone, visual_project) and per frame difference (motion
 * encoder); stage 2 per clip (everything else), reading stage 1's features
 * from rings. The batch forward runs stage 1 on all B*T frames and B*(T-1)
 * differences, then stage 2 on the B clips; its activations are what the
 * backward pass (model-backward.c) reads.
 *
 *   frames (B,T,C,H,W) -> backbone per frame: taps bb_x[0] (patch_embed) and bb_x[depth] (visual)
 *   visual   = temporal_project(interleave_T(visual_project(bb_x[depth])))     (B,N1,D)
 *   skip     = patch_emb_project(bb_x[0] of frame T-1)                         (B,N1,D)
 *   motion   = frame_diff_project(interleave_T-1(motion_encoder(diffs)))       (B,N1,D)
 *   semantic = text_project(f_text or 0)                                       (B,1,D)
 *   fused    = fusion layers (x = visual, y = semantic, z = motion)
 *   h = [semantic; rgb_project([fused, motion])] + pos; (ViT block -> SFFM) x depth; LN
 *   f_hat = text_recon(h[0]);  pred = final_conv(unpatchify(decoder_pred([h[2:], skip[1:]])))
 *   (+ the last input frame when pred_residual)
 * Losses: w_pred MSE + w_sem (1 - cos) + w_motion hinge + sum of SFFM balance losses.
 *
 * Every computation is a call on the model's backend (m->be), on buffers of its
 * memory: the caller's host inputs are uploaded (frames into m->in_frames,
 * targets and captions into the activations), losses come back from the loss
 * ops, balance losses from the SFFM op, scores through sibvad_acts_scores. */
#include "model-internal.h"

#include <string.h>

void sibvad_model_vit_dims(const sibvad_model *m, sibvad_stack stack, int B, sibvad_vit_dims *v)
{
    const sibvad_config *c = &m->cfg;
    const int T = c->frames_in;
    v->eps = 1e-5f;
    switch (stack) {
    case SIBVAD_STACK_BACKBONE: /* every input frame */
        v->Bi = B * T, v->N = m->N1, v->D = c->bb_width, v->H = c->bb_heads, v->F = c->bb_mlp;
        v->eps = c->bb_ln_eps;
        break;
    case SIBVAD_STACK_MOTION:   /* every frame difference */
        v->Bi = B * (T - 1), v->N = m->N1, v->D = c->mo_width, v->H = c->mo_heads;
        v->F = c->mo_width * c->mo_mlp_ratio;
        break;
    case SIBVAD_STACK_DECODER:  /* [semantic, CLS, patches] */
        v->Bi = B, v->N = m->N2, v->D = c->d_model, v->H = c->de_heads, v->F = c->d_model * c->de_mlp_ratio;
        break;
    }
}

void sibvad_model_sffm_dims(const sibvad_model *m, sibvad_sffm_dims *s, int B)
{
    const sibvad_config *c = &m->cfg;
    s->B = B;
    s->Ts = m->N2;
    s->D = c->d_model;
    s->Nr = c->sffm_nr;
    s->K = c->sffm_k;
    s->Ns = c->sffm_ns;
    s->b = c->sffm_b;
    s->scale = c->sffm_scale;
    s->alpha = c->sffm_alpha;
}

/* Stage 1: the backbone on n frames and the visual projection of each. */
void sibvad_forward_frames(const sibvad_model *m, sibvad_acts *a, float *vis_out, const float *frames, int n)
{
    const sibvad_config *c = &m->cfg;
    const sibvad_weights *w = &m->w;
    sibvad_be be = m->be;
    sibvad_vit_dims vd;
    be->patch_embed_forward(be, a->bb_x[0], a->bb_cols, frames, w->bb_patch_w, w->bb_patch_b, w->bb_cls, w->bb_pos,
                            n, c->channels, c->img_h, c->img_w, c->patch, c->bb_width);
    sibvad_model_vit_dims(m, SIBVAD_STACK_BACKBONE, 1, &vd);
    vd.Bi = n; /* images, not clips */
    for (int l = 0; l < c->bb_depth; l++)
        sibvad_vit_block_forward_be(be, a->bb_x[l + 1], &a->bb_cache[l], a->bb_x[l], &w->bb[l], &vd);
    be->linear_forward(be, vis_out, a->bb_x[c->bb_depth], w->visual_project.w, w->visual_project.b, n * m->N1,
                       c->bb_width, c->d_model);
}

/* Stage 1: the motion encoder (one, shared) on n frame differences. */
void sibvad_forward_diffs(const sibvad_model *m, sibvad_acts *a, const float *diffs, int n)
{
    const sibvad_config *c = &m->cfg;
    const sibvad_weights *w = &m->w;
    sibvad_be be = m->be;
    sibvad_vit_dims vd;
    be->patch_embed_forward(be, a->mo_x[0], a->mo_cols, diffs, w->mo_patch_w, w->mo_patch_b, w->mo_cls, w->mo_pos,
                            n, c->channels, c->img_h, c->img_w, c->patch, c->mo_width);
    sibvad_model_vit_dims(m, SIBVAD_STACK_MOTION, 1, &vd);
    vd.Bi = n; /* differences, not clips */
    for (int l = 0; l < c->mo_depth; l++)
        sibvad_vit_block_forward_be(be, a->mo_x[l + 1], &a->mo_cache[l], a->mo_x[l], &w->mo[l], &vd);
}

/* gather_frames on B rings of T entries, clip b's ring at in + b * stride
 * (0: rings in a row, one call; else one call per clip). */
static void gather_rings(sibvad_be be, float *out, const float *in, size_t stride, int B, int T, int N, int C,
                         int first)
{
    const size_t ring = (size_t)T * N * C;
    if (stride == 0 || stride == ring || B == 1) {
        be->gather_frames(be, out, in, B, T, N, C, first);
        return;
    }
    for (int b = 0; b < B; b++)
        be->gather_frames(be, out + b * ring, in + b * stride, 1, T, N, C, first);
}

/* Stage 2: B clips from their frames' features. */
void sibvad_forward_clips(const sibvad_model *m, sibvad_acts *a, const sibvad_clip_in *in, int B,
                          sibvad_losses *losses)
{
    const sibvad_config *c = &m->cfg;
    const sibvad_weights *w = &m->w;
    sibvad_be be = m->be;
    const int T = c->frames_in, C = c->channels, Hh = c->img_h, Ww = c->img_w, p = c->patch;
    const int Np = m->Np, N1 = m->N1, N2 = m->N2, W = c->bb_width, D = c->d_model, Dm = c->mo_width;
    const int S = c->sem_dim;
    const size_t img = (size_t)C * Hh * Ww;
    sibvad_vit_dims vd;

    memset(losses, 0, sizeof *losses);
    /* inputs kept for the losses and backward (target and captions come from the host) */
    for (int b = 0; b < B; b++)
        be->copy(be, a->prev + b * img, in->last + b * in->last_stride, sizeof(float) * img);
    if (in->target)
        be->upload(be, a->target, in->target, sizeof(float) * B * img);
    if (in->semantic)
        be->upload(be, a->sem_in, in->semantic, sizeof(float) * B * S);
    else
        be->zero(be, a->sem_in, sizeof(float) * B * S);

    /* 1. visual stream: the T frames' projections side by side */
    gather_rings(be, a->vis_cat, in->vis, in->vis_stride, B, T, N1, D, in->vis_first);
    be->linear_forward(be, a->visual, a->vis_cat, w->temporal_project.w, w->temporal_project.b, B * N1, T * D, D);

    /* 2. skip stream: the last input frame's patch_embed tap */
    for (int b = 0; b < B; b++)
        be->copy(be, a->skip_in + (size_t)b * N1 * W, in->tap + b * in->tap_stride, sizeof(float) * N1 * W);
    be->linear_forward(be, a->skip, a->skip_in, w->patch_emb_project.w, w->patch_emb_project.b, B * N1, W, D);

    /* 3. motion stream: the T-1 differences' encodings side by side */
    gather_rings(be, a->mo_cat, in->mo, in->mo_stride, B, T - 1, N1, Dm, in->mo_first);
    be->linear_forward(be, a->motion, a->mo_cat, w->frame_diff_project.w, w->frame_diff_project.b, B * N1,
                       (T - 1) * Dm, D);

    /* 4. semantic token */
    be->linear_forward(be, a->semantic, a->sem_in, w->text_project.w, w->text_project.b, B, S, D);

    /* 5. joint cross-attention fusion */
    be->copy(be, a->fu_x[0], a->visual, sizeof(float) * B * N1 * D);
    sibvad_fusion_dims fd = {B, N1, D, c->fu_heads, D * c->fu_ffn_ratio};
    for (int l = 0; l < c->fu_depth; l++)
        sibvad_fusion_block_forward_be(be, a->fu_x[l + 1], &a->fu_cache[l], a->fu_x[l], a->semantic, a->motion,
                                       &w->fu[l], &fd);

    /* 6. decoder input: [semantic; rgb_project([fused, motion])] + pos */
    be->concat_channels(be, a->dec_cat, a->fu_x[c->fu_depth], D, a->motion, D, B * N1);
    be->linear_forward(be, a->rgb_h, a->dec_cat, w->rgb0.w, w->rgb0.b, B * N1, 2 * D, c->rgb_hidden);
    be->gelu_forward(be, a->rgb_a, a->rgb_h, (size_t)B * N1 * c->rgb_hidden);
    be->linear_forward(be, a->rgb_out, a->rgb_a, w->rgb2.w, w->rgb2.b, B * N1, c->rgb_hidden, D);
    for (int b = 0; b < B; b++) {
        float *x0 = a->de_x[0] + (size_t)b * N2 * D;
        be->copy(be, x0, a->semantic + (size_t)b * D, sizeof(float) * D);
        be->copy(be, x0 + D, a->rgb_out + (size_t)b * N1 * D, sizeof(float) * N1 * D);
    }
    be->add_rowvec(be, a->de_x[0], w->de_pos, B, N2 * D);

    /* 7. decoder layers: ViT block then SFFM (no residual around the SFFM) */
    sibvad_model_vit_dims(m, SIBVAD_STACK_DECODER, B, &vd);
    sibvad_sffm_dims sd;
    sibvad_model_sffm_dims(m, &sd, B);
    for (int l = 0; l < c->de_depth; l++) {
        sibvad_vit_block_forward_be(be, a->de_blk[l], &a->de_cache[l], a->de_x[l], &w->de[l], &vd);
        be->sffm_forward(be, a->de_x[l + 1], &a->sffm_cache[l], a->de_blk[l], &w->sffm[l], &sd);
        losses->balance += a->sffm_cache[l].balance;
    }
    be->layernorm_forward(be, a->de_norm, a->de_norm_mean, a->de_norm_rstd, a->de_x[c->de_depth], w->de_norm_w,
                          w->de_norm_b, B * N2, D, 1e-5f);

    /* 8. semantic head (token 0) */
    if (in->semantic) {
        for (int b = 0; b < B; b++)
            be->copy(be, a->sem_tok + (size_t)b * D, a->de_norm + (size_t)b * N2 * D, sizeof(float) * D);
        be->linear_forward(be, a->sem_h, a->sem_tok, w->sem0.w, w->sem0.b, B, D, c->sem_hidden);
        be->gelu_forward(be, a->sem_a, a->sem_h, (size_t)B * c->sem_hidden);
        be->linear_forward(be, a->sem_pred, a->sem_a, w->sem2.w, w->sem2.b, B, c->sem_hidden, S);
    }

    /* 9. pixel head: patch tokens (2..) with the skip stream (CLS dropped) */
    for (int b = 0; b < B; b++)
        be->concat_channels(be, a->pix_in + (size_t)b * Np * 2 * D, a->de_norm + ((size_t)b * N2 + 2) * D, D,
                            a->skip + ((size_t)b * N1 + 1) * D, D, Np);
    be->linear_forward(be, a->pred_patches, a->pix_in, w->pred.w, w->pred.b, B * Np, 2 * D, p * p * C);
    be->unpatchify(be, a->img, a->pred_patches, B, C, m->gh, m->gw, p);
    be->conv2d_forward(be, a->conv1, a->img, w->conv3_w, w->conv3_b, B, C, C, Hh, Ww, 3);
    be->leakyrelu_forward(be, a->act1, a->conv1, (size_t)B * img, 0.01f);
    be->conv2d_forward(be, a->pred, a->act1, w->conv1_w, w->conv1_b, B, C, C, Hh, Ww, 1);
    if (c->pred_residual) /* the head predicts the change; its gradient is the prediction's */
        be->axpy(be, a->pred, a->prev, 1.0f, (size_t)B * img);

    /* 10. losses */
    if (in->target) {
        const size_t n = (size_t)B * img;
        losses->pred = be->mse_forward(be, a->pred, a->target, n);
        losses->motion = be->motion_loss_forward(be, a->pred, a->target, a->prev, n);
        if (in->semantic)
            losses->sem = be->cosine_loss_forward(be, a->sem_pred, a->sem_in, B, S);
        losses->total = c->w_pred * losses->pred + c->w_sem * losses->sem + c->w_motion * losses->motion +
                        losses->balance;
    }
}

/* The checks and the upload of a batch forward; *frames becomes the frames
 * in backend memory. */
int sibvad_forward_begin(sibvad_model *m, const float **frames, const float *target, const float *semantic, int B,
                         sibvad_error *err)
{
    if (!m || !frames || !*frames)
        return sibvad_fail(err, "forward: NULL model or frames");
    if (!m->act_mem)
        return sibvad_fail(err, "forward: call sibvad_model_prepare() first");
    if (B < 1 || B > m->max_batch)
        return sibvad_fail(err, "forward: batch %d outside 1..%d (the prepared size)", B, m->max_batch);
    const sibvad_config *c = &m->cfg;
    const size_t img = (size_t)c->channels * c->img_h * c->img_w;
    m->B = B;
    m->has_target = target != NULL;
    m->has_sem = semantic != NULL;
    /* the frames in backend memory (on the CPU: the caller's) */
    if (m->in_frames) {
        m->be->upload(m->be, m->in_frames, *frames, sizeof(float) * B * c->frames_in * img);
        *frames = m->in_frames;
    }
    return 0;
}

/* The rest of a batch forward once the backbone has run (a->vis_proj and the
 * taps a->bb_x[0], a->bb_x[depth] hold the B*T frames): every difference
 * D_t = I_t+1 - I_t of each clip through the motion encoder, then stage 2. */
void sibvad_forward_rest(sibvad_model *m, const float *frames, const float *target, const float *semantic, int B)
{
    const sibvad_config *c = &m->cfg;
    sibvad_acts *a = &m->a;
    sibvad_be be = m->be;
    const int T = c->frames_in;
    const size_t img = (size_t)c->channels * c->img_h * c->img_w, tap = (size_t)m->N1 * c->bb_width;

    for (int b = 0; b < B; b++) {
        const float *f0 = frames + (size_t)b * T * img; /* all T-1 differences of clip b at once */
        be->sub(be, a->diffs + (size_t)b * (T - 1) * img, f0 + img, f0, (size_t)(T - 1) * img);
    }
    sibvad_forward_diffs(m, a, a->diffs, B * (T - 1));

    /* stage 2: the clips, their features in a row */
    const sibvad_clip_in in = {
        .vis = a->vis_proj, .vis_first = 0,
        .mo = a->mo_x[c->mo_depth], .mo_first = 0,
        .tap = a->bb_x[0] + (size_t)(T - 1) * tap, .tap_stride = (size_t)T * tap,
        .last = frames + (size_t)(T - 1) * img, .last_stride = (size_t)T * img,
        .target = target, .semantic = semantic,
    };
    sibvad_forward_clips(m, a, &in, B, &m->losses);
}

int sibvad_model_forward(sibvad_model *m, const float *frames, const float *target,
                         const float *semantic, int B, sibvad_error *err)
{
    if (sibvad_forward_begin(m, &frames, target, semantic, B, err) < 0)
        return -1;
    /* stage 1: every input frame */
    sibvad_forward_frames(m, &m->a, m->a.vis_proj, frames, B * m->cfg.frames_in);
    sibvad_forward_rest(m, frames, target, semantic, B);
    return 0;
}

void sibvad_acts_scores(sibvad_be be, const sibvad_config *c, const sibvad_acts *a, int B, int has_sem,
                        float *visual, float *semantic, float *error_map, float *scratch)
{
    const size_t HW = (size_t)c->img_h * c->img_w;
    /* on the CPU the outputs are written in place; elsewhere through scratch */
    float *emap = scratch ? (error_map ? scratch : NULL) : error_map;
    be->visual_error(be, visual, emap, a->pred, a->target, B, c->channels, HW);
    if (scratch && error_map)
        be->download(be, error_map, scratch, sizeof(float) * B * HW);
    if (semantic) {
        if (has_sem) {
            float *sd = scratch ? scratch + (size_t)B * HW : semantic;
            be->cosine_distance(be, sd, a->sem_pred, a->sem_in, B, c->sem_dim);
            if (scratch)
                be->download(be, semantic, sd, sizeof(float) * B);
        } else {
            memset(semantic, 0, sizeof(float) * B);
        }
    }
}

int sibvad_model_scores(const sibvad_model *m, float *visual, float *semantic, float *error_map,
                        sibvad_error *err)
{
    if (!m || !m->act_mem || m->B == 0)
        return sibvad_fail(err, "scores: no forward pass has run");
    if (!m->has_target)
        return sibvad_fail(err, "scores: the last forward pass had no target frame");
    sibvad_acts_scores(m->be, &m->cfg, &m->a, m->B, m->has_sem, visual, semantic, error_map, m->score_buf);
    return 0;
}
