/* adam.c: Adam as torch.optim.Adam computes it, with L2 weight decay added to
 * the gradient (not AdamW): g' = g + wd p; m = b1 m + (1-b1) g';
 * v = b2 v + (1-b2) g'^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
#include "ops.h"

#include <math.h>

void sibvad_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, int t)
{
    const float bc1 = 1.0f - powf(beta1, (float)t);
    const float bc2 = 1.0f - powf(beta2, (float)t);
    const float step = lr / bc1;
    const float sbc2 = sqrtf(bc2);
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
    }
}
