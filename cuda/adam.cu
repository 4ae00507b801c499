/* adam.cu: Adam as torch.optim.Adam (and ops/adam.c) computes it, with L2
 * weight decay added to the gradient (not AdamW):
 *   g' = g + wd p; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * The bias corrections are computed on the host with the same float
 * expressions as the CPU, so both backends step identically up to rounding. */
#include "cuda-internal.h"

#include <math.h>

__global__ void adam_k(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2, float eps,
                       float wd, float step, float sbc2)
{
    CU_GRID_STRIDE(i, n)
    {
        const float gi = g[i] + wd * p[i];
        const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) / sbc2 + eps);
    }
}

void cu_adam_update(sibvad_be be, float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                    float beta2, float eps, float weight_decay, int t)
{
    cuctx *c = CTX(be);
    if (!n)
        return;
    CU_ENTER(c);
    const float bc1 = 1.0f - powf(beta1, (float)t);
    const float bc2 = 1.0f - powf(beta2, (float)t);
    const float step = lr / bc1;
    const float sbc2 = sqrtf(bc2);
    adam_k<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(p, g, m, v, n, beta1, beta2, eps, weight_decay, step, sbc2);
    CU_LAUNCHED(c, "adam_update");
}
