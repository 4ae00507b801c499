/* posembed.c: fixed 2-D sin-cos position embedding (MAE's get_2d_sincos_pos_embed,
 * generalised to a gh x gw grid). Token r*gw + c: dims [0, D/2) embed the column c,
 * dims [D/2, D) the row r; a 1-D embedding of width e is
 * [sin(pos * w_k), cos(pos * w_k)], w_k = 1 / 10000^(k / (e/2)), k < e/2.
 * The first zero_rows rows (CLS, semantic token) are zero. */
#include "ops.h"

#include <math.h>
#include <string.h>

static void embed_1d(float *out, int e, double pos)
{
    const int half = e / 2;
    for (int k = 0; k < half; k++) {
        double omega = 1.0 / pow(10000.0, (double)k / (e / 2.0));
        out[k] = (float)sin(pos * omega);
        out[half + k] = (float)cos(pos * omega);
    }
}

void sibvad_sincos_posembed(float *out, int gh, int gw, int D, int zero_rows)
{
    memset(out, 0, sizeof(float) * (size_t)zero_rows * D);
    for (int r = 0; r < gh; r++)
        for (int c = 0; c < gw; c++) {
            float *row = out + ((size_t)zero_rows + (size_t)r * gw + c) * D;
            embed_1d(row, D / 2, c);
            embed_1d(row + D / 2, D / 2, r);
        }
}
