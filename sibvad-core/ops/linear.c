/* linear.c: fully connected layer through BLAS.
 * forward:  out (R,O) = in (R,I) W^T (O,I) + b
 * backward: din += dout W;  dW += dout^T in;  db += column sums of dout.
 * Cached for backward: the input. */
#include "ops.h"

#include <cblas.h>

void sibvad_linear_forward(float *out, const float *in, const float *W, const float *b,
                           int R, int In, int Out)
{
    if (R <= 0)
        return;
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)R * Out > 32768)
        for (int r = 0; r < R; r++) {
            float *o = out + (size_t)r * Out;
            for (int j = 0; j < Out; j++)
                o[j] = b[j];
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, Out, In, 1.0f, in, In, W, In,
                b ? 1.0f : 0.0f, out, Out);
}

void sibvad_linear_backward(float *din, float *dW, float *db, const float *dout,
                            const float *in, const float *W, int R, int In, int Out)
{
    if (R <= 0)
        return;
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, In, Out, 1.0f, dout, Out, W, In,
                    1.0f, din, In);
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Out, In, R, 1.0f, dout, Out, in, In,
                    1.0f, dW, In);
    if (db) {
#pragma omp parallel for schedule(static) if ((size_t)R * Out > 32768)
        for (int j = 0; j < Out; j++) {
            float s = 0.0f;
            for (int r = 0; r < R; r++)
                s += dout[(size_t)r * Out + j];
            db[j] += s;
        }
    }
}
