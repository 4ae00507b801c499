/* model-internal.h: the model's private state, shared by model.c, model-io.c
 * and the tests that inspect activations (parity test).
 *
 * Memory: one flat buffer each for parameters (all tensors, spec names, in
 * table order), gradients and Adam moments (trainable tensors only), forward
 * activations and activation gradients. Buffers are carved from arenas at
 * sibvad_model_prepare(); the step functions never allocate. */
#ifndef SIBVAD_MODEL_INTERNAL_H
#define SIBVAD_MODEL_INTERNAL_H

#include "sibvad.h"
#include "ops/blocks.h"

typedef struct sibvad_linear_w {
    float *w, *b;
} sibvad_linear_w;

/* The weights of the whole model as typed views into a flat buffer. The model
 * holds two: one into the parameters, one into the gradients (NULLs where
 * frozen or fixed). */
typedef struct sibvad_weights {
    /* backbone */
    float *bb_cls, *bb_patch_w, *bb_patch_b, *bb_pos;
    sibvad_vit_weights *bb;                 /* [bb_depth] */
    /* streams */
    sibvad_linear_w visual_project, temporal_project, patch_emb_project, text_project,
        frame_diff_project;
    /* motion encoder */
    float *mo_patch_w, *mo_patch_b, *mo_cls, *mo_pos;
    sibvad_vit_weights *mo;                 /* [mo_depth] */
    /* fusion */
    sibvad_fusion_weights *fu;              /* [fu_depth] */
    /* decoder */
    sibvad_linear_w rgb0, rgb2;
    float *de_pos;
    sibvad_vit_weights *de;                 /* [de_depth] */
    sibvad_sffm_weights *sffm;              /* [de_depth] */
    float **sffm_ptrs;                      /* storage for the sffm pointer arrays */
    float *de_norm_w, *de_norm_b;
    sibvad_linear_w pred;
    float *conv3_w, *conv3_b, *conv1_w, *conv1_b;
    sibvad_linear_w sem0, sem2;
} sibvad_weights;

/* Forward activations (and their gradients in the d-copy). */
typedef struct sibvad_acts {
    float *target, *prev, *sem_in;          /* (B,C,H,W) (B,C,H,W) (B,S) */
    float *diffs;                           /* (B*(T-1),C,H,W) */
    /* backbone */
    float *bb_cols;                         /* (B*T*Np, C*p*p) */
    float **bb_x;                           /* [bb_depth+1] (B*T, N1, W); 0: patch_embed tap, last: visual tap */
    sibvad_vit_cache *bb_cache;             /* [bb_depth] (shared when not trained) */
    /* streams */
    float *vis_proj, *vis_cat, *visual;     /* (B*T*N1, D) (B*N1, T*D) (B*N1, D) */
    float *skip_in, *skip;                  /* (B*N1, W) (B*N1, D) */
    float *mo_cols;                         /* (B*(T-1)*Np, C*p*p) */
    float **mo_x;                           /* [mo_depth+1] (B*(T-1), N1, Dm) */
    sibvad_vit_cache *mo_cache;
    float *mo_cat, *motion;                 /* (B*N1, (T-1)*Dm) (B*N1, D) */
    float *semantic;                        /* (B, D) */
    /* fusion */
    float **fu_x;                           /* [fu_depth+1] (B*N1, D) */
    sibvad_fusion_cache *fu_cache;
    /* decoder */
    float *dec_cat, *rgb_h, *rgb_a, *rgb_out; /* (B*N1, 2D) (B*N1, R) (B*N1, R) (B*N1, D) */
    float **de_x;                           /* [de_depth+1] (B*N2, D); 0: after the position embedding */
    float **de_blk;                         /* [de_depth] (B*N2, D) ViT block outputs */
    sibvad_vit_cache *de_cache;
    sibvad_sffm_cache *sffm_cache;
    float *de_norm, *de_norm_mean, *de_norm_rstd; /* (B*N2, D) (B*N2) (B*N2) */
    float *sem_tok, *sem_h, *sem_a, *sem_pred;    /* (B,D) (B,Hs) (B,Hs) (B,S) */
    float *pix_in, *pred_patches;           /* (B*Np, 2D) (B*Np, p*p*C) */
    float *img, *conv1, *act1, *pred;       /* (B,C,H,W) each */
} sibvad_acts;

typedef struct sibvad_grad_scratch {
    sibvad_vit_scratch bb, mo, de;
    sibvad_fusion_scratch fu;
    sibvad_sffm_scratch sffm;
} sibvad_grad_scratch;

struct sibvad_model {
    sibvad_config cfg;
    int gh, gw, Np, N1, N2;
    /* tensor table */
    int ntensors, cap;
    sibvad_tensor *tensors;
    size_t *offsets, *goffsets;             /* per tensor; goffsets SIZE_MAX when no gradient */
    int *init_kind;
    float *init_arg;
    float *params, *grads, *adam_m, *adam_v;
    size_t nparams, ngrads;
    int adam_t;
    float lr_scale;                         /* schedule factor on cfg.lr */
    sibvad_calibration calib;
    sibvad_weights w, g;
    /* activations */
    int max_batch, training;
    float *act_mem, *dact_mem;
    size_t act_size, dact_size;
    sibvad_acts a, d;
    sibvad_grad_scratch s;
    /* last forward */
    int B, has_target, has_sem;
    sibvad_losses losses;
};

/* The sizes of a ViT stack's blocks and of the SFFMs for a batch of B clips
 * (forward and backward use the same). */
typedef enum { SIBVAD_STACK_BACKBONE, SIBVAD_STACK_MOTION, SIBVAD_STACK_DECODER } sibvad_stack;
void sibvad_model_vit_dims(const sibvad_model *m, sibvad_stack stack, int B, sibvad_vit_dims *v);
void sibvad_model_sffm_dims(const sibvad_model *m, sibvad_sffm_dims *s, int B);

/* Adam's moment buffers of trainable tensor i (NULL for others). */
float *sibvad_model_moment(sibvad_model *m, int i, int which);
void sibvad_model_set_adam_step(sibvad_model *m, int t);

#endif
