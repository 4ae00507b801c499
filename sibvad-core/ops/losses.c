/* losses.c: the frame, motion and semantic losses and the cosine score.
 *  L_pred   = mean (pred - target)^2
 *  L_motion = mean max(0, (pred - target)^2 - (pred - prev)^2)
 *  L_sem    = mean_b 1 - a.t / (max(|a|, 1e-8) max(|t|, 1e-8))
 * Each backward adds scale * dL/da into the gradient. Sums are in double. */
#include "ops.h"

#include <math.h>

float sibvad_mse_forward(const float *a, const float *b, size_t n)
{
    double s = 0.0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return (float)(s / (double)n);
}

void sibvad_mse_backward(float *da, const float *a, const float *b, size_t n, float scale)
{
    const float k = 2.0f * scale / (float)n;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        da[i] += k * (a[i] - b[i]);
}

float sibvad_motion_loss_forward(const float *pred, const float *target, const float *prev, size_t n)
{
    double s = 0.0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float e1 = pred[i] - target[i], e2 = pred[i] - prev[i];
        float h = e1 * e1 - e2 * e2;
        if (h > 0.0f)
            s += h;
    }
    return (float)(s / (double)n);
}

void sibvad_motion_loss_backward(float *dpred, const float *pred, const float *target,
                                 const float *prev, size_t n, float scale)
{
    const float k = 2.0f * scale / (float)n;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float e1 = pred[i] - target[i], e2 = pred[i] - prev[i];
        if (e1 * e1 - e2 * e2 > 0.0f)
            dpred[i] += k * (e1 - e2);
    }
}

static void row_stats(const float *a, const float *t, int S, double *dot, double *na, double *nt)
{
    double d = 0.0, x = 0.0, y = 0.0;
    for (int j = 0; j < S; j++) {
        d += (double)a[j] * t[j];
        x += (double)a[j] * a[j];
        y += (double)t[j] * t[j];
    }
    *dot = d;
    *na = sqrt(x);
    *nt = sqrt(y);
}

void sibvad_cosine_distance(float *out, const float *a, const float *t, int B, int S)
{
    for (int b = 0; b < B; b++) {
        double d, na, nt;
        row_stats(a + (size_t)b * S, t + (size_t)b * S, S, &d, &na, &nt);
        out[b] = (float)(1.0 - d / (fmax(na, 1e-8) * fmax(nt, 1e-8)));
    }
}

float sibvad_cosine_loss_forward(const float *a, const float *t, int B, int S)
{
    double s = 0.0;
    for (int b = 0; b < B; b++) {
        float c;
        sibvad_cosine_distance(&c, a + (size_t)b * S, t + (size_t)b * S, 1, S);
        s += c;
    }
    return (float)(s / B);
}

void sibvad_cosine_loss_backward(float *da, const float *a, const float *t, int B, int S, float scale)
{
    for (int b = 0; b < B; b++) {
        const float *ar = a + (size_t)b * S, *tr = t + (size_t)b * S;
        double d, na, nt;
        row_stats(ar, tr, S, &d, &na, &nt);
        double ma = fmax(na, 1e-8), mt = fmax(nt, 1e-8);
        /* d(cos)/da = t / (ma mt) - (d / (ma^2 mt)) * dma/da, dma/da = a/na when na > 1e-8 */
        double k = -(double)scale / B;
        for (int j = 0; j < S; j++) {
            double g = tr[j] / (ma * mt);
            if (na > 1e-8)
                g -= d / (ma * ma * mt) * ar[j] / na;
            da[(size_t)b * S + j] += (float)(k * g);
        }
    }
}
