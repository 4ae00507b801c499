/* layernorm.c: LayerNorm over the last dimension.
 * forward:  xhat = (x - mean) * rstd, out = xhat * w + b; caches mean, rstd (R).
 * w and b may be NULL in forward (unit affine).
 * backward: din += rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * w;
 *           dw += sum_r dout * xhat; db += sum_r dout. */
#include "ops.h"

#include <math.h>
#include <string.h>

void sibvad_layernorm_forward(float *out, float *mean, float *rstd, const float *in,
                              const float *w, const float *b, int R, int C, float eps)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
    for (int r = 0; r < R; r++) {
        const float *x = in + (size_t)r * C;
        float *o = out + (size_t)r * C;
        float s = 0.0f;
        for (int c = 0; c < C; c++)
            s += x[c];
        float m = s / C;
        float v = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            v += d * d;
        }
        float rs = 1.0f / sqrtf(v / C + eps);
        if (w)
            for (int c = 0; c < C; c++)
                o[c] = (x[c] - m) * rs * w[c] + b[c];
        else /* unit affine: the normalised input itself */
            for (int c = 0; c < C; c++)
                o[c] = (x[c] - m) * rs;
        if (mean)
            mean[r] = m;
        if (rstd)
            rstd[r] = rs;
    }
}

void sibvad_layernorm_backward(float *din, float *dw, float *db, const float *dout,
                               const float *in, const float *w, const float *mean,
                               const float *rstd, int R, int C)
{
    if (din) {
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
        for (int r = 0; r < R; r++) {
            const float *x = in + (size_t)r * C;
            const float *g = dout + (size_t)r * C;
            float *dx = din + (size_t)r * C;
            float m = mean[r], rs = rstd[r];
            float sg = 0.0f, sgx = 0.0f;
            for (int c = 0; c < C; c++) {
                float gw = g[c] * w[c];
                sg += gw;
                sgx += gw * (x[c] - m) * rs;
            }
            sg /= C;
            sgx /= C;
            for (int c = 0; c < C; c++) {
                float xh = (x[c] - m) * rs;
                dx[c] += rs * (g[c] * w[c] - sg - xh * sgx);
            }
        }
    }
    if (dw || db) {
        /* parameter gradients: parallel over columns, deterministic order */
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * C))
        for (int c0 = 0; c0 < C; c0 += 16) {
            int c1 = c0 + 16 < C ? c0 + 16 : C;
            float aw[16], ab[16];
            memset(aw, 0, sizeof aw);
            memset(ab, 0, sizeof ab);
            for (int r = 0; r < R; r++) {
                const float *x = in + (size_t)r * C;
                const float *g = dout + (size_t)r * C;
                float m = mean[r], rs = rstd[r];
                for (int c = c0; c < c1; c++) {
                    aw[c - c0] += g[c] * (x[c] - m) * rs;
                    ab[c - c0] += g[c];
                }
            }
            for (int c = c0; c < c1; c++) {
                if (dw)
                    dw[c] += aw[c - c0];
                if (db)
                    db[c] += ab[c - c0];
            }
        }
    }
}
