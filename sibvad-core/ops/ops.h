/* ops.h: every layer of the model as a forward/backward pair (CPU).
 *
 * Conventions (after karpathy/llm.c):
 *  - outputs first, then inputs, then weights, then sizes;
 *  - forward overwrites its outputs; backward ADDS (+=) into every gradient it
 *    is given (activation and parameter gradients alike); a NULL gradient
 *    pointer means "not needed" and skips that work;
 *  - no allocation: scratch and caches are passed in by the model;
 *  - row-major, shapes in comments. Letters: R rows (tokens), I/O in/out
 *    features, C channels, B batch, N query tokens, M key tokens, H heads,
 *    dh head width.
 */
#ifndef SIBVAD_OPS_H
#define SIBVAD_OPS_H

#include <stddef.h>

/* Loops run in parallel (OpenMP) only when they hold at least this much work:
 * below it, waking the thread team costs more than it saves, and on a busy
 * machine every team wake-up can wait for a descheduled thread. */
#define SIBVAD_PAR_MIN 65536
#define SIBVAD_PAR(work) ((size_t)(work) >= SIBVAD_PAR_MIN)

/* ---- linear.c: out = in W^T + b ---- */
void sibvad_linear_forward(float *out /* (R,O) */, const float *in /* (R,I) */,
                           const float *W /* (O,I) */, const float *b /* (O) or NULL */,
                           int R, int I, int O);
void sibvad_linear_backward(float *din /* (R,I) */, float *dW /* (O,I) */, float *db /* (O) */,
                            const float *dout /* (R,O) */, const float *in, const float *W,
                            int R, int I, int O);

/* ---- layernorm.c: out = (in - mean) * rstd * w + b; caches mean, rstd (R) ---- */
void sibvad_layernorm_forward(float *out, float *mean, float *rstd, const float *in,
                              const float *w, const float *b, int R, int C, float eps);
void sibvad_layernorm_backward(float *din, float *dw, float *db, const float *dout,
                               const float *in, const float *w, const float *mean,
                               const float *rstd, int R, int C);

/* ---- activations.c: elementwise, n elements; backward uses the forward input ---- */
void sibvad_gelu_forward(float *out, const float *in, size_t n);
void sibvad_gelu_backward(float *din, const float *dout, const float *in, size_t n);
void sibvad_silu_forward(float *out, const float *in, size_t n);
void sibvad_silu_backward(float *din, const float *dout, const float *in, size_t n);
void sibvad_leakyrelu_forward(float *out, const float *in, size_t n, float slope);
void sibvad_leakyrelu_backward(float *din, const float *dout, const float *in, size_t n, float slope);

/* ---- conv.c ---- */
/* Patch embedding: conv C->D, kernel = stride = p, then tokens
 * tok[n, 0] = cls + pos[0], tok[n, 1+j] = conv_j + b + pos[1+j].
 * cols (n*Np, C*p*p) is the im2col cache kept for backward; cls/pos may be NULL. */
void sibvad_patch_embed_forward(float *tok /* (Bi, Np+1, D) */, float *cols,
                                const float *img /* (Bi, C, Hh, Ww) */,
                                const float *W /* (D, C, p, p) */, const float *b /* (D) */,
                                const float *cls /* (D) */, const float *pos /* (Np+1, D) */,
                                int Bi, int C, int Hh, int Ww, int p, int D);
void sibvad_patch_embed_backward(float *dW, float *db, float *dcls, float *dpos,
                                 const float *dtok /* (Bi, Np+1, D) */, const float *cols,
                                 int Bi, int C, int Hh, int Ww, int p, int D);
/* Same-padded k x k convolution (k odd), stride 1, NCHW. */
void sibvad_conv2d_forward(float *out /* (B, Co, Hh, Ww) */, const float *in /* (B, Ci, Hh, Ww) */,
                           const float *W /* (Co, Ci, k, k) */, const float *b /* (Co) */,
                           int B, int Ci, int Co, int Hh, int Ww, int k);
void sibvad_conv2d_backward(float *din, float *dW, float *db, const float *dout,
                            const float *in, const float *W,
                            int B, int Ci, int Co, int Hh, int Ww, int k);
/* MAE unpatchify: patches (B, gh*gw, p*p*C) with (p_row, p_col, c) order -> img (B, C, gh*p, gw*p). */
void sibvad_unpatchify(float *img, const float *patches, int B, int C, int gh, int gw, int p);
/* Its adjoint: dpatches += patchify(dimg). */
void sibvad_unpatchify_backward(float *dpatches, const float *dimg, int B, int C, int gh, int gw, int p);

/* ---- attention.c: multi-head softmax attention, out = softmax(q k^T / sqrt(dh)) v ----
 * q rows have stride ldq (head h at columns h*dh), batch stride N*ldq; k, v:
 * stride ldk/ldv, batch stride M*ldk / M*ldv; out (B, N, H*dh) contiguous.
 * probs (B, H, N, M) is cached for backward; scratch (B, H, N, M) in backward. */
void sibvad_attention_forward(float *out, float *probs,
                              const float *q, int ldq, const float *k, int ldk,
                              const float *v, int ldv, int B, int N, int M, int H, int dh);
void sibvad_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                               const float *dout, const float *probs,
                               const float *q, int ldq, const float *k, int ldk,
                               const float *v, int ldv, int B, int N, int M, int H, int dh);

/* ---- posembed.c: fixed 2-D sin-cos embedding (MAE), gh x gw grid, first
 * `zero_rows` rows zero; first D/2 dims encode the column, last D/2 the row. ---- */
void sibvad_sincos_posembed(float *out /* (zero_rows + gh*gw, D) */, int gh, int gw, int D,
                            int zero_rows);

/* ---- losses.c ---- */
/* mean((a-b)^2); grad (optional) += scale * d/da. */
float sibvad_mse_forward(const float *a, const float *b, size_t n);
void sibvad_mse_backward(float *da, const float *a, const float *b, size_t n, float scale);
/* mean(max(0, (pred-t)^2 - (pred-prev)^2)) */
float sibvad_motion_loss_forward(const float *pred, const float *target, const float *prev, size_t n);
void sibvad_motion_loss_backward(float *dpred, const float *pred, const float *target,
                                 const float *prev, size_t n, float scale);
/* mean over B rows of 1 - cos(a_b, t_b); cos = a.t / (max(|a|,1e-8) max(|t|,1e-8)). */
float sibvad_cosine_loss_forward(const float *a, const float *t, int B, int S);
void sibvad_cosine_loss_backward(float *da, const float *a, const float *t, int B, int S, float scale);
/* per-row 1 - cos (scores) */
void sibvad_cosine_distance(float *out /* (B) */, const float *a, const float *t, int B, int S);

/* ---- adam.c: PyTorch Adam with L2 weight decay added to the gradient ---- */
void sibvad_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, int t);

/* ---- tensor_ops.c: layout helpers ---- */
/* (B, T, N, C) -> (B, N, T*C) and its adjoint (+=). */
void sibvad_interleave_frames(float *out, const float *in, int B, int T, int N, int C);
void sibvad_interleave_frames_backward(float *din, const float *dout, int B, int T, int N, int C);
/* The same from rings: clip b's frame t is in[b, (first + t) % T] (first = 0: interleave).
 * A stream keeps its last T frames' features in such a ring. */
void sibvad_gather_frames(float *out, const float *in, int B, int T, int N, int C, int first);
/* out[r] = [a[r] (Ca), b[r] (Cb)] along channels, and its adjoint (+=, either may be NULL). */
void sibvad_concat_channels(float *out, const float *a, int Ca, const float *b, int Cb, int R);
void sibvad_concat_channels_backward(float *da, float *db, const float *dout, int Ca, int Cb, int R);
/* out = a - b (frame differences) */
void sibvad_sub(float *out, const float *a, const float *b, size_t n);
/* y += alpha * x */
void sibvad_axpy(float *y, const float *x, float alpha, size_t n);
/* sum(x * y) in double */
double sibvad_dot(const float *x, const float *y, size_t n);

#endif
