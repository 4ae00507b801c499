/* activations.c: elementwise GELU (erf form), SiLU and LeakyReLU; erf and exp
 * from fastmath.h so that the loops vectorise.
 * Each backward needs the forward input: din += dout * f'(in). */
#include "ops.h"
#include "fastmath.h"

#include <math.h>

void sibvad_gelu_forward(float *out, const float *in, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + sibvad_erff(x * 0.70710678118654752f));
    }
}

void sibvad_gelu_backward(float *din, const float *dout, const float *in, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        float cdf = 0.5f * (1.0f + sibvad_erff(x * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * sibvad_expf(-0.5f * x * x);
        din[i] += dout[i] * (cdf + x * pdf);
    }
}

void sibvad_silu_forward(float *out, const float *in, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = x / (1.0f + sibvad_expf(-x));
    }
}

void sibvad_silu_backward(float *din, const float *dout, const float *in, size_t n)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        float s = 1.0f / (1.0f + sibvad_expf(-x));
        din[i] += dout[i] * s * (1.0f + x * (1.0f - s));
    }
}

void sibvad_leakyrelu_forward(float *out, const float *in, size_t n, float slope)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
}

void sibvad_leakyrelu_backward(float *din, const float *dout, const float *in, size_t n, float slope)
{
#pragma omp parallel for schedule(static) if (SIBVAD_PAR(n))
    for (size_t i = 0; i < n; i++)
        din[i] += in[i] > 0.0f ? dout[i] : slope * dout[i];
}
