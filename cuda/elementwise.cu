/* elementwise.cu: activations (GELU with the exact erf, SiLU, LeakyReLU; each
 * backward adds dout * f'(in)), vector arithmetic (sub, axpy, add, scale),
 * row-vector broadcasts (add_rowvec, mul_rowvec and its adjoint). One thread
 * per element, grid-stride loops. */
#include "cuda-internal.h"

#define LAUNCH(c, op, kernel, n, ...)                                                    \
    do {                                                                                 \
        if ((n) == 0)                                                                    \
            return;                                                                      \
        CU_ENTER(c);                                                                     \
        kernel<<<cu_blocks(n), CU_THREADS, 0, (c)->stream>>>(__VA_ARGS__);               \
        CU_LAUNCHED(c, op);                                                              \
    } while (0)

/* ---------------- activations ---------------- */

__global__ void gelu_fwd_k(float *out, const float *in, size_t n)
{
    CU_GRID_STRIDE(i, n)
    {
        const float x = in[i];
        out[i] = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    }
}

__global__ void gelu_bwd_k(float *din, const float *dout, const float *in, size_t n)
{
    CU_GRID_STRIDE(i, n)
    {
        const float x = in[i];
        const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
        din[i] += dout[i] * (cdf + x * pdf);
    }
}

__global__ void silu_fwd_k(float *out, const float *in, size_t n)
{
    CU_GRID_STRIDE(i, n)
    {
        const float x = in[i];
        out[i] = x / (1.0f + expf(-x));
    }
}

__global__ void silu_bwd_k(float *din, const float *dout, const float *in, size_t n)
{
    CU_GRID_STRIDE(i, n)
    {
        const float x = in[i];
        const float s = 1.0f / (1.0f + expf(-x));
        din[i] += dout[i] * s * (1.0f + x * (1.0f - s));
    }
}

__global__ void lrelu_fwd_k(float *out, const float *in, size_t n, float slope)
{
    CU_GRID_STRIDE(i, n)
    out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
}

__global__ void lrelu_bwd_k(float *din, const float *dout, const float *in, size_t n, float slope)
{
    CU_GRID_STRIDE(i, n)
    din[i] += in[i] > 0.0f ? dout[i] : slope * dout[i];
}

void cu_gelu_forward(sibvad_be be, float *out, const float *in, size_t n)
{
    LAUNCH(CTX(be), "gelu_forward", gelu_fwd_k, n, out, in, n);
}
void cu_gelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n)
{
    if (din)
        LAUNCH(CTX(be), "gelu_backward", gelu_bwd_k, n, din, dout, in, n);
}
void cu_silu_forward(sibvad_be be, float *out, const float *in, size_t n)
{
    LAUNCH(CTX(be), "silu_forward", silu_fwd_k, n, out, in, n);
}
void cu_silu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n)
{
    if (din)
        LAUNCH(CTX(be), "silu_backward", silu_bwd_k, n, din, dout, in, n);
}
void cu_leakyrelu_forward(sibvad_be be, float *out, const float *in, size_t n, float slope)
{
    LAUNCH(CTX(be), "leakyrelu_forward", lrelu_fwd_k, n, out, in, n, slope);
}
void cu_leakyrelu_backward(sibvad_be be, float *din, const float *dout, const float *in, size_t n, float slope)
{
    if (din)
        LAUNCH(CTX(be), "leakyrelu_backward", lrelu_bwd_k, n, din, dout, in, n, slope);
}

/* ---------------- vector arithmetic ---------------- */

__global__ void sub_k(float *out, const float *a, const float *b, size_t n)
{
    CU_GRID_STRIDE(i, n)
    out[i] = a[i] - b[i];
}

__global__ void add_k(float *out, const float *a, const float *b, size_t n)
{
    CU_GRID_STRIDE(i, n)
    out[i] = a[i] + b[i];
}

__global__ void axpy_k(float *y, const float *x, float alpha, size_t n)
{
    CU_GRID_STRIDE(i, n)
    y[i] += alpha * x[i];
}

__global__ void scale_k(float *x, float alpha, size_t n)
{
    CU_GRID_STRIDE(i, n)
    x[i] *= alpha;
}

__global__ void fill_k(float *x, float v, size_t n)
{
    CU_GRID_STRIDE(i, n)
    x[i] = v;
}

void cu_sub(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    LAUNCH(CTX(be), "sub", sub_k, n, out, a, b, n);
}
void cu_add(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    LAUNCH(CTX(be), "add", add_k, n, out, a, b, n);
}
void cu_axpy(sibvad_be be, float *y, const float *x, float alpha, size_t n)
{
    LAUNCH(CTX(be), "axpy", axpy_k, n, y, x, alpha, n);
}
void cu_scale(sibvad_be be, float *x, float alpha, size_t n)
{
    LAUNCH(CTX(be), "scale", scale_k, n, x, alpha, n);
}
void cu_fill(cuctx *c, const char *op, float *out, float value, size_t n)
{
    LAUNCH(c, op, fill_k, n, out, value, n);
}

/* ---------------- row vectors ---------------- */

__global__ void add_rowvec_k(float *x, const float *v, size_t n, int C)
{
    CU_GRID_STRIDE(i, n)
    x[i] += v[i % C];
}

__global__ void mul_rowvec_k(float *out, const float *in, const float *v, size_t n, int C)
{
    CU_GRID_STRIDE(i, n)
    out[i] = in[i] * v[i % C];
}

__global__ void mul_rowvec_din_k(float *din, const float *dout, const float *v, size_t n, int C)
{
    CU_GRID_STRIDE(i, n)
    din[i] += dout[i] * v[i % C];
}

void cu_add_rowvec(sibvad_be be, float *x, const float *v, int R, int C)
{
    if (R <= 0 || C <= 0)
        return;
    const size_t n = (size_t)R * C;
    LAUNCH(CTX(be), "add_rowvec", add_rowvec_k, n, x, v, n, C);
}

void cu_mul_rowvec(sibvad_be be, float *out, const float *in, const float *v, int R, int C)
{
    if (R <= 0 || C <= 0)
        return;
    const size_t n = (size_t)R * C;
    LAUNCH(CTX(be), "mul_rowvec", mul_rowvec_k, n, out, in, v, n, C);
}

void cu_mul_rowvec_backward(sibvad_be be, float *din, float *dv, const float *dout, const float *in,
                            const float *v, int R, int C)
{
    cuctx *c = CTX(be);
    if (R <= 0 || C <= 0)
        return;
    CU_ENTER(c);
    const size_t n = (size_t)R * C;
    if (din) {
        mul_rowvec_din_k<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(din, dout, v, n, C);
        CU_LAUNCHED(c, "mul_rowvec_backward");
    }
    if (dv)
        cu_colsum_add(c, "mul_rowvec_backward", dv, dout, in, R, C, C, R, 0);
}
