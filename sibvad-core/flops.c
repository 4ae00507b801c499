/* flops.c: the floating-point work of one forward pass and one training step,
 * counted from the config (2 FLOPs per multiply-add of every matrix product,
 * attention and convolution; elementwise work is not counted). Used by the
 * benchmarks to report achieved GFLOP/s. */
#include "sibvad.h"

static double vit_block(double Bi, double N, double D, double F)
{
    const double R = Bi * N;
    return R * (4.0 * D * D + 2.0 * D * F) + 2.0 * Bi * N * N * D;
}

void sibvad_config_flops(const sibvad_config *c, int batch, double *forward, double *train_step)
{
    const double B = batch, T = c->frames_in, C = c->channels, p = c->patch;
    const double Np = (double)sibvad_config_num_patches(c), N1 = Np + 1, N2 = Np + 2;
    const double W = c->bb_width, D = c->d_model, Dm = c->mo_width, Bi = B * T, Bm = B * (T - 1);
    double bb = Bi * Np * C * p * p * W;
    for (int i = 0; i < c->bb_depth; i++)
        bb += vit_block(Bi, N1, W, c->bb_mlp);
    double rest = 0.0;
    rest += Bi * N1 * W * D + B * N1 * T * D * D + B * N1 * W * D;         /* visual, temporal, skip */
    rest += Bm * Np * C * p * p * Dm;                                      /* motion patch embed */
    for (int i = 0; i < c->mo_depth; i++)
        rest += vit_block(Bm, N1, Dm, Dm * c->mo_mlp_ratio);
    rest += B * N1 * (T - 1) * Dm * D + B * c->sem_dim * D;                /* frame_diff, text */
    for (int i = 0; i < c->fu_depth; i++) {
        const double R = B * N1, F = D * c->fu_ffn_ratio;
        rest += 4.0 * R * D * D + 2.0 * B * D * D + 2.0 * R * D * F + 2.0 * B * N1 * (N1 + 1) * D;
    }
    rest += B * N1 * (2 * D * c->rgb_hidden + c->rgb_hidden * D);          /* rgb_project */
    for (int i = 0; i < c->de_depth; i++) {
        const double Tt = B * N2;
        rest += vit_block(B, N2, D, D * c->de_mlp_ratio);
        rest += Tt * c->sffm_nr * D;                                        /* router */
        rest += Tt * (c->sffm_k + c->sffm_ns) * 2.0 * D * c->sffm_b;        /* routed + shared filters */
    }
    rest += B * Np * 2 * D * p * p * C;                                     /* decoder_pred */
    rest += B * C * C * c->img_h * c->img_w * 10.0;                         /* 3x3 and 1x1 convs */
    rest += B * (D * c->sem_hidden + c->sem_hidden * c->sem_dim);           /* semantic head */
    const double fwd = 2.0 * (bb + rest);
    if (forward)
        *forward = fwd;
    if (train_step) /* backward costs twice the forward for trained parts */
        *train_step = fwd + 2.0 * 2.0 * (rest + (c->bb_frozen ? 0.0 : bb));
}
