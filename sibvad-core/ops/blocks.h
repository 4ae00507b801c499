/* blocks.h: the composite layers built from ops.h: the pre-norm ViT block,
 * the gated joint cross-attention fusion block and the SFFM.
 *
 * Each block has a weights struct (pointers into the model's flat parameter
 * buffer; the same struct type points into the gradient buffer). Only the ViT
 * block accepts NULL gradients (a frozen backbone); the fusion block and the
 * SFFM are always trained and need every gradient pointer. A cache struct (activations kept for backward, carved by
 * the model from its activation arena) and a scratch struct for backward.
 * Shapes: R = rows = images * tokens, D width, H heads, F hidden width.
 *
 * The ViT and fusion blocks run on a compute backend (backend.h): the *_be
 * functions take it first and call only through it, with every float pointer
 * in that backend's memory; the plain names run them on the CPU backend. The
 * SFFM here is the CPU implementation (backends have their own: be->sffm_*). */
#ifndef SIBVAD_BLOCKS_H
#define SIBVAD_BLOCKS_H

#include "ops.h"

struct sibvad_backend;

/* ---------------- ViT block (vit_block.c) ----------------
 * x1 = x + ls1 * proj(attn(qkv(LN1(x))));  out = x1 + ls2 * fc2(gelu(fc1(LN2(x1))))
 * (ls1 = ls2 = 1 when the block has no layer-scale). */
typedef struct sibvad_vit_weights {
    float *ln1_w, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    float *ls1, *ls2;          /* NULL: no layer-scale */
    float *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} sibvad_vit_weights;

typedef struct sibvad_vit_dims {
    int Bi, N, D, H, F;        /* images, tokens per image, width, heads, MLP hidden */
    float eps;                 /* LayerNorm epsilon */
} sibvad_vit_dims;

typedef struct sibvad_vit_cache {
    float *ln1, *ln1_mean, *ln1_rstd;   /* (R,D) (R) (R) */
    float *qkv;                         /* (R,3D) */
    float *probs;                       /* (Bi,H,N,N) */
    float *att, *attp;                  /* (R,D) attention output, after proj */
    float *x1;                          /* (R,D) */
    float *ln2, *ln2_mean, *ln2_rstd;   /* (R,D) (R) (R) */
    float *h, *a;                       /* (R,F) fc1 output, after GELU */
    float *m;                           /* (R,D) fc2 output */
} sibvad_vit_cache;

typedef struct sibvad_vit_scratch {
    float *dx1, *dbranch, *dln;         /* (R,D) */
    float *datt;                        /* (R,D) */
    float *dqkv;                        /* (R,3D) */
    float *dh;                          /* (R,F) (also used for da) */
    float *da;                          /* (R,F) */
    float *dprobs;                      /* (Bi,H,N,N) */
} sibvad_vit_scratch;

/* out must not alias x. */
void sibvad_vit_block_forward_be(const struct sibvad_backend *be, float *out, sibvad_vit_cache *c,
                                 const float *x, const sibvad_vit_weights *w, const sibvad_vit_dims *d);
/* dx may be NULL (nothing upstream needs it); g: gradients, NULL if frozen. */
void sibvad_vit_block_backward_be(const struct sibvad_backend *be, float *dx, const sibvad_vit_weights *g,
                                  sibvad_vit_scratch *s, const float *dout, const sibvad_vit_cache *c,
                                  const float *x, const sibvad_vit_weights *w, const sibvad_vit_dims *d);
/* The same on the CPU backend. */
void sibvad_vit_block_forward(float *out, sibvad_vit_cache *c, const float *x,
                              const sibvad_vit_weights *w, const sibvad_vit_dims *d);
void sibvad_vit_block_backward(float *dx, const sibvad_vit_weights *g, sibvad_vit_scratch *s,
                               const float *dout, const sibvad_vit_cache *c, const float *x,
                               const sibvad_vit_weights *w, const sibvad_vit_dims *d);

/* ---------------- joint cross-attention fusion block (fusion_block.c) ----------------
 * q = to_q(LN_attn(x)); k = [to_k_y(LN_y(y)); to_k_z(LN_z(z))]; v likewise;
 * x1 = x + g_attn * out_proj(attn(q, k, v)); out = x1 + g_ff * FF(LN_ff(x1)). */
typedef struct sibvad_fusion_weights {
    float *ln_attn_w, *ln_attn_b, *ln_y_w, *ln_y_b, *ln_z_w, *ln_z_b;
    float *q_w, *q_b, *ky_w, *ky_b, *vy_w, *vy_b, *kz_w, *kz_b, *vz_w, *vz_b;
    float *o_w, *o_b;
    float *ln_ff_w, *ln_ff_b, *ff0_w, *ff0_b, *ff3_w, *ff3_b;
    float *g_attn, *g_ff;      /* scalars */
} sibvad_fusion_weights;

typedef struct sibvad_fusion_dims {
    int B, N, D, H, F;         /* batch, visual tokens (= motion tokens), width, heads, FFN hidden */
} sibvad_fusion_dims;

typedef struct sibvad_fusion_cache {
    float *xn, *xn_mean, *xn_rstd;      /* (B*N,D) */
    float *yn, *yn_mean, *yn_rstd;      /* (B,D) */
    float *zn, *zn_mean, *zn_rstd;      /* (B*N,D) */
    float *q;                           /* (B*N,D) */
    float *ky, *vy;                     /* (B,D) */
    float *kz, *vz;                     /* (B*N,D) */
    float *kcat, *vcat;                 /* (B,1+N,D) */
    float *probs;                       /* (B,H,N,1+N) */
    float *att, *attp, *x1;             /* (B*N,D) */
    float *fn, *fn_mean, *fn_rstd;      /* (B*N,D) */
    float *h, *a;                       /* (B*N,F) */
    float *f;                           /* (B*N,D) */
} sibvad_fusion_cache;

typedef struct sibvad_fusion_scratch {
    float *dx1, *dbranch, *dln, *datt, *dq;   /* (B*N,D) */
    float *dkcat, *dvcat;                     /* (B,1+N,D) */
    float *dky, *dvy, *dyn;                   /* (B,D) */
    float *dkz, *dvz, *dzn;                   /* (B*N,D) */
    float *dh, *da;                           /* (B*N,F) */
    float *dprobs;                            /* (B,H,N,1+N) */
} sibvad_fusion_scratch;

/* The gates g_attn, g_ff are read back to the host (be->download) once per call.
 * out must not alias x. */
void sibvad_fusion_block_forward_be(const struct sibvad_backend *be, float *out, sibvad_fusion_cache *c,
                                    const float *x, const float *y, const float *z,
                                    const sibvad_fusion_weights *w, const sibvad_fusion_dims *d);
void sibvad_fusion_block_backward_be(const struct sibvad_backend *be, float *dx, float *dy, float *dz,
                                     const sibvad_fusion_weights *g, sibvad_fusion_scratch *s,
                                     const float *dout, const sibvad_fusion_cache *c, const float *x,
                                     const float *y, const float *z, const sibvad_fusion_weights *w,
                                     const sibvad_fusion_dims *d);
/* The same on the CPU backend. */
void sibvad_fusion_block_forward(float *out, sibvad_fusion_cache *c, const float *x,
                                 const float *y, const float *z,
                                 const sibvad_fusion_weights *w, const sibvad_fusion_dims *d);
void sibvad_fusion_block_backward(float *dx, float *dy, float *dz, const sibvad_fusion_weights *g,
                                  sibvad_fusion_scratch *s, const float *dout,
                                  const sibvad_fusion_cache *c, const float *x, const float *y,
                                  const float *z, const sibvad_fusion_weights *w,
                                  const sibvad_fusion_dims *d);

/* ---------------- SFFM (sffm.c) ----------------
 * s = softmax(x Wg^T); top-K greedy; w = s_topK / sum(s_topK) * scale;
 * out = sum_k w_k F_{i_k}(x) + Shared(x); F(x) = up(silu(down(LN(x)))).
 * Balance loss per sample over its Ts tokens: alpha * mean_b sum_i f_i P_i. */
typedef struct sibvad_sffm_weights {
    float *gate;               /* (Nr, D) */
    /* arrays of Nr + 1 pointers: routed filters 0..Nr-1, then the shared filter
     * (entry Nr, width b * Ns, only when Ns > 0) */
    float **pn_w, **pn_b, **down_w, **down_b, **up_w, **up_b;
} sibvad_sffm_weights;

typedef struct sibvad_sffm_dims {
    int B, Ts, D;              /* samples, tokens per sample, width */
    int Nr, K, Ns, b;          /* routed filters, top-K, shared count, bottleneck */
    float scale, alpha;
} sibvad_sffm_dims;

typedef struct sibvad_sffm_cache {
    float *xhat, *mean, *rstd;          /* (T,D) (T) (T), T = B*Ts */
    float *s;                           /* (T,Nr) router probabilities */
    int *topk;                          /* (T,K) filter indices, by score descending */
    float *gw;                          /* (T,K) gate weights */
    int *order;                         /* (T*K) slot ids (t*K+k) grouped by filter */
    int *offsets;                       /* (Nr+1) */
    float *h, *a;                       /* (T*K, b) per slot, in `order` */
    float *hs, *as;                     /* (T, b*Ns) shared filter */
    float *f;                           /* (B, Nr) balance load factors */
    float *slot;                        /* (T*K, D) scratch: weighted filter outputs */
    float *lns;                         /* (T, D) scratch: shared filter's LN output */
    float balance;                      /* the balance loss of the last forward */
} sibvad_sffm_cache;

typedef struct sibvad_sffm_scratch {
    float *dxhat;                       /* (T,D) */
    float *dgw;                         /* (T,K) */
    float *ds;                          /* (T,Nr) */
    float *das, *dhs;                   /* (T, b*Ns) */
    float *dlns;                        /* (T,D) */
} sibvad_sffm_scratch;

void sibvad_sffm_forward(float *out, sibvad_sffm_cache *c, const float *x,
                         const sibvad_sffm_weights *w, const sibvad_sffm_dims *d);
/* balance_scale multiplies the balance loss's gradient (its weight in the total loss). */
void sibvad_sffm_backward(float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                          const float *dout, float balance_scale, sibvad_sffm_cache *c,
                          const float *x, const sibvad_sffm_weights *w, const sibvad_sffm_dims *d);

#endif
