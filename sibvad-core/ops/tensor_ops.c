/* tensor_ops.c: layout helpers between layers: frame interleaving
 * (B, T, N, C) <-> (B, N, T*C) (also from a ring of T entries), channel
 * concatenation, difference, axpy and dot. */
#include "ops.h"

#include <string.h>

void sibvad_gather_frames(float *out, const float *in, int B, int T, int N, int C, int first)
{
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * N * T * C))
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int t = 0; t < T; t++)
                memcpy(out + (((size_t)b * N + n) * T + t) * C,
                       in + (((size_t)b * T + (first + t) % T) * N + n) * C, sizeof(float) * C);
}

void sibvad_interleave_frames(float *out, const float *in, int B, int T, int N, int C)
{
    sibvad_gather_frames(out, in, B, T, N, C, 0);
}

void sibvad_interleave_frames_backward(float *din, const float *dout, int B, int T, int N, int C)
{
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * N * T * C))
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int t = 0; t < T; t++) {
                float *d = din + (((size_t)b * T + t) * N + n) * C;
                const float *s = dout + (((size_t)b * N + n) * T + t) * C;
                for (int c = 0; c < C; c++)
                    d[c] += s[c];
            }
}

void sibvad_concat_channels(float *out, const float *a, int Ca, const float *b, int Cb, int R)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * (Ca + Cb)))
    for (int r = 0; r < R; r++) {
        memcpy(out + (size_t)r * (Ca + Cb), a + (size_t)r * Ca, sizeof(float) * Ca);
        memcpy(out + (size_t)r * (Ca + Cb) + Ca, b + (size_t)r * Cb, sizeof(float) * Cb);
    }
}

void sibvad_concat_channels_backward(float *da, float *db, const float *dout, int Ca, int Cb, int R)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * (Ca + Cb)))
    for (int r = 0; r < R; r++) {
        const float *s = dout + (size_t)r * (Ca + Cb);
        if (da)
            for (int c = 0; c < Ca; c++)
                da[(size_t)r * Ca + c] += s[c];
        if (db)
            for (int c = 0; c < Cb; c++)
                db[(size_t)r * Cb + c] += s[Ca + c];
    }
}

void sibvad_sub(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

void sibvad_axpy(float *y, const float *x, float alpha, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

double sibvad_dot(const float *x, const float *y, size_t n)
{
    double s = 0.0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * y[i];
    return s;
}
