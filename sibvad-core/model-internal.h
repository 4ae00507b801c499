/* model-internal.h: the model's private state, shared by model.c, model-io.c
 * and the tests that inspect activations (parity test).
 *
 * Memory: one flat buffer each for parameters (all tensors, spec names, in
 * table order), gradients and Adam moments (trainable tensors only), forward
 * activations and activation gradients. Buffers are carved from arenas at
 * sibvad_model_prepare(); the step functions never allocate.
 *
 * Backends: every buffer above lives in the memory of the model's backend
 * (m->be, the CPU unless sibvad_model_use_backend moved it) and is touched only
 * through it. The tensor table (sibvad_tensor.data/grad, Adam's moments for the
 * model files) points at host memory: the same buffers on the CPU, host mirrors
 * refreshed by download for other backends. */
#ifndef SIBVAD_MODEL_INTERNAL_H
#define SIBVAD_MODEL_INTERNAL_H

#include "sibvad.h"
#include "backend.h"
#include "ops/blocks.h"

/* Host memory is backend memory: the CPU backend. */
static inline int sibvad_be_is_host(sibvad_be be)
{
    return be == sibvad_backend_cpu();
}

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
    const sibvad_backend *be;               /* where every buffer below lives (CPU by default) */
    /* tensor table */
    int ntensors, cap;
    int max_tensors;                        /* > 0: while new_table builds under a limit */
    int find_hint;                          /* where bind's next name lookup starts (model.c: find) */
    sibvad_tensor *tensors;
    size_t *offsets, *goffsets;             /* per tensor; goffsets SIZE_MAX when no gradient */
    int *init_kind;
    float *init_arg;
    float *params, *grads, *adam_m, *adam_v;   /* backend memory */
    float *hparams, *hgrads, *hadam_m, *hadam_v; /* host: the same pointers on the CPU, else mirrors */
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
    /* backends other than the CPU only (NULL on the CPU), sized at prepare */
    float *in_frames;                       /* backend (max_batch, T, C, H, W): the uploaded input frames */
    float *score_buf;                       /* backend (max_batch * (H*W + 1)): error maps and e_s */
    float *host_pred, *host_sem_pred;       /* host mirrors of a.pred, a.sem_pred */
    /* last forward */
    int B, has_target, has_sem;
    sibvad_losses losses;
};

/* sibvad_model_create in two steps (model.c), so that a loader can check a
 * file against the tensor table (names, shapes, kinds) before the parameters
 * are allocated: new_table validates the config and builds the table only
 * (no parameter memory: tensors' data and grad are NULL), failing without
 * building further once it would hold more than max_tensors tensors (when
 * max_tensors > 0); alloc_params allocates and initialises the parameters,
 * gradients and moments and binds the weight views. sibvad_model_free frees
 * a model after either step. */
sibvad_model *sibvad_model_new_table(const sibvad_config *cfg, int max_tensors, sibvad_error *err);
int sibvad_model_alloc_params(sibvad_model *m, uint64_t seed, sibvad_error *err);

/* The sizes of a ViT stack's blocks and of the SFFMs for a batch of B clips
 * (forward and backward use the same). */
typedef enum { SIBVAD_STACK_BACKBONE, SIBVAD_STACK_MOTION, SIBVAD_STACK_DECODER } sibvad_stack;
void sibvad_model_vit_dims(const sibvad_model *m, sibvad_stack stack, int B, sibvad_vit_dims *v);
void sibvad_model_sffm_dims(const sibvad_model *m, sibvad_sffm_dims *s, int B);

/* ---- The forward pass in two stages (model-forward.c) ----
 * Both stages run on the model's backend (m->be): every pointer handed to
 * them is memory of that backend, except sibvad_clip_in's target and
 * semantic, which are host memory (stage 2 uploads them into its activations).
 * Stage 1, per frame: the backbone on each frame and the motion encoder on each
 * frame difference. Stage 2, per clip: everything else, reading stage 1's
 * features from rings, so that the batch forward (features in a row, first = 0)
 * and a stream (features of its last frames in rings, one entry apart per clip) run
 * the same code. Both read the model's weights only: several activation sets
 * (streams) may run on one model at once. */
typedef struct sibvad_clip_in {
    const float *vis;       /* (B, T, N1, D) visual_project of each input frame: ring of T entries */
    int vis_first;          /*   clip frame t is entry (vis_first + t) % T */
    const float *mo;        /* (B, T-1, N1, Dm) motion encoder output of each difference: ring of T-1 */
    int mo_first;           /*   clip difference t (frame t+1 - frame t) is entry (mo_first + t) % (T-1) */
    size_t vis_stride;      /* floats from clip b's vis ring to clip b+1's; 0: T * N1 * D (rings in a row) */
    size_t mo_stride;       /* the same for mo; 0: (T-1) * N1 * Dm. A batched stream's rings overlap */
    const float *tap;       /* (N1, W) patch_embed tap of clip b's last input frame at tap + b * tap_stride */
    size_t tap_stride;
    const float *last;      /* (C, H, W) clip b's last input frame at last + b * last_stride (motion loss) */
    size_t last_stride;
    const float *target;    /* (B, C, H, W) target frames, or NULL (no losses) */
    const float *semantic;  /* (B, S) caption embeddings, or NULL */
} sibvad_clip_in;

/* Stage 1: the backbone on n frames (n, C, H, W): a->bb_x[0] the patch_embed tap,
 * a->bb_x[bb_depth] the visual tap, vis_out (n, N1, D) = visual_project(visual tap). */
void sibvad_forward_frames(const sibvad_model *m, sibvad_acts *a, float *vis_out, const float *frames, int n);
/* sibvad_model_forward in three parts: checks and upload (frames becomes the
 * backend copy), stage 1's backbone (sibvad_forward_frames, or the feature
 * cache), and the rest (differences, motion encoder, stage 2). */
int sibvad_forward_begin(sibvad_model *m, const float **frames, const float *target, const float *semantic, int B,
                         sibvad_error *err);
void sibvad_forward_rest(sibvad_model *m, const float *frames, const float *target, const float *semantic, int B);
/* Stage 1: the motion encoder on n frame differences (n, C, H, W): a->mo_x[mo_depth] (n, N1, Dm). */
void sibvad_forward_diffs(const sibvad_model *m, sibvad_acts *a, const float *diffs, int n);
/* Stage 2 on B clips: streams, fusion, decoder, heads into a (a->pred, a->sem_pred; a->target,
 * a->prev and a->sem_in get copies of the inputs) and, with a target, the losses. It writes
 * none of stage 1's buffers (bb_*, mo_*, diffs, vis_proj): a stream keeps its newest frame's
 * patch_embed tap (a->bb_x[0] points into its tap slots) from one push to the next. */
void sibvad_forward_clips(const sibvad_model *m, sibvad_acts *a, const sibvad_clip_in *in, int B,
                          sibvad_losses *losses);
/* The scores of B clips from stage 2's activations (see sibvad_model_scores),
 * into host memory (any output may be NULL). scratch: NULL when be is the CPU,
 * else backend memory of B * (H*W + 1) floats for the error maps and e_s on
 * their way to the host. */
void sibvad_acts_scores(sibvad_be be, const sibvad_config *c, const sibvad_acts *a, int B, int has_sem,
                        float *visual, float *semantic, float *error_map, float *scratch);

/* Inference activations outside the model (model-memory.c): stage 2 for `clips`
 * clips, stage 1 for `frames` frames and `diffs` differences, in one allocation
 * (*mem) of the model's backend, carved by the layout that sibvad_model_prepare
 * uses. Destroy with the same backend. */
int sibvad_acts_create(const sibvad_model *m, sibvad_acts *a, float **mem, int clips, int frames, int diffs,
                       sibvad_error *err);
void sibvad_acts_destroy(sibvad_be be, sibvad_acts *a, float *mem);

/* Adam's moment buffers of trainable tensor i (NULL for others), in host
 * memory (downloaded into the host mirror first when the model is not on the CPU). */
float *sibvad_model_moment(sibvad_model *m, int i, int which);
void sibvad_model_set_adam_step(sibvad_model *m, int t);

#endif
