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
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * Out))
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
        /* column sums in blocks of 64 columns, rows read contiguously */
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)R * Out))
        for (int j0 = 0; j0 < Out; j0 += 64) {
            const int j1 = j0 + 64 < Out ? j0 + 64 : Out;
            float acc[64] = {0};
            for (int r = 0; r < R; r++) {
                const float *row = dout + (size_t)r * Out;
                for (int j = j0; j < j1; j++)
                    acc[j - j0] += row[j];
            }
            for (int j = j0; j < j1; j++)
                db[j] += acc[j - j0];
        }
    }
}
