/* conv.c: the convolutions of the model.
 *  - patch embedding (kernel = stride = p) as im2col + GEMM, producing tokens
 *    with a CLS row and a position embedding; im2col rows are cached;
 *  - same-padded k x k convolution (the pixel head's 3x3 and 1x1), direct loops;
 *  - MAE unpatchify and its adjoint.
 * Shapes: Bi images, C channels, Hh x Ww pixels, p patch, gh x gw grid, Np = gh*gw. */
#include "ops.h"

#include <cblas.h>
#include <string.h>

void sibvad_patch_embed_forward(float *tok, float *cols, const float *img, const float *W,
                                const float *b, const float *cls, const float *pos,
                                int Bi, int C, int Hh, int Ww, int p, int D)
{
    const int gh = Hh / p, gw = Ww / p, Np = gh * gw, K = C * p * p;
    /* im2col: cols (Bi*Np, K), column order (c, kh, kw) as in the conv weight */
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)Bi * Np * K))
    for (int n = 0; n < Bi; n++)
        for (int gy = 0; gy < gh; gy++)
            for (int gx = 0; gx < gw; gx++) {
                float *row = cols + ((size_t)n * Np + (size_t)gy * gw + gx) * K;
                for (int c = 0; c < C; c++)
                    for (int kh = 0; kh < p; kh++) {
                        const float *src = img + (((size_t)n * C + c) * Hh + gy * p + kh) * Ww + gx * p;
                        memcpy(row + (c * p + kh) * p, src, sizeof(float) * p);
                    }
            }
    for (int n = 0; n < Bi; n++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Np, D, K, 1.0f,
                    cols + (size_t)n * Np * K, K, W, K, 0.0f, tok + ((size_t)n * (Np + 1) + 1) * D, D);
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)Bi * (Np + 1) * D))
    for (int n = 0; n < Bi; n++) {
        float *t = tok + (size_t)n * (Np + 1) * D;
        for (int d = 0; d < D; d++)
            t[d] = (cls ? cls[d] : 0.0f) + (pos ? pos[d] : 0.0f);
        for (int j = 1; j <= Np; j++)
            for (int d = 0; d < D; d++)
                t[(size_t)j * D + d] += b[d] + (pos ? pos[(size_t)j * D + d] : 0.0f);
    }
}

void sibvad_patch_embed_backward(float *dW, float *db, float *dcls, float *dpos,
                                 const float *dtok, const float *cols,
                                 int Bi, int C, int Hh, int Ww, int p, int D)
{
    const int Np = (Hh / p) * (Ww / p), K = C * p * p;
    if (dW)
        for (int n = 0; n < Bi; n++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, K, Np, 1.0f,
                        dtok + ((size_t)n * (Np + 1) + 1) * D, D, cols + (size_t)n * Np * K, K,
                        1.0f, dW, K);
    /* column blocks of 16 channels per thread; rows read contiguously */
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)Bi * (Np + 1) * D))
    for (int d0 = 0; d0 < D; d0 += 16) {
        const int d1 = d0 + 16 < D ? d0 + 16 : D;
        float sb[16] = {0}, sc[16] = {0};
        for (int n = 0; n < Bi; n++)
            for (int j = 0; j <= Np; j++) {
                const float *t = dtok + ((size_t)n * (Np + 1) + j) * D;
                float *acc = j == 0 ? sc : sb;
                for (int d = d0; d < d1; d++)
                    acc[d - d0] += t[d];
                if (dpos)
                    for (int d = d0; d < d1; d++)
                        dpos[(size_t)j * D + d] += t[d];
            }
        for (int d = d0; d < d1; d++) {
            if (db)
                db[d] += sb[d - d0];
            if (dcls)
                dcls[d] += sc[d - d0];
        }
    }
}

void sibvad_conv2d_forward(float *out, const float *in, const float *W, const float *b,
                           int B, int Ci, int Co, int Hh, int Ww, int k)
{
    const int r = k / 2;
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * Co * Ci * Hh * Ww * k * k))
    for (int n = 0; n < B; n++)
        for (int co = 0; co < Co; co++) {
            float *o = out + ((size_t)n * Co + co) * Hh * Ww;
            for (size_t i = 0; i < (size_t)Hh * Ww; i++)
                o[i] = b ? b[co] : 0.0f;
            for (int ci = 0; ci < Ci; ci++) {
                const float *x = in + ((size_t)n * Ci + ci) * Hh * Ww;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        const float w = W[((co * Ci + ci) * k + ky) * k + kx];
                        const int dy = ky - r, dx = kx - r;
                        const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? Hh - dy : Hh;
                        const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? Ww - dx : Ww;
                        for (int y = y0; y < y1; y++) {
                            float *orow = o + (size_t)y * Ww;
                            const float *xrow = x + (size_t)(y + dy) * Ww + dx;
                            for (int xx = x0; xx < x1; xx++)
                                orow[xx] += w * xrow[xx];
                        }
                    }
            }
        }
}

void sibvad_conv2d_backward(float *din, float *dW, float *db, const float *dout,
                            const float *in, const float *W,
                            int B, int Ci, int Co, int Hh, int Ww, int k)
{
    const int r = k / 2;
    if (din) {
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * Co * Ci * Hh * Ww * k * k))
        for (int n = 0; n < B; n++)
            for (int ci = 0; ci < Ci; ci++) {
                float *dx = din + ((size_t)n * Ci + ci) * Hh * Ww;
                for (int co = 0; co < Co; co++) {
                    const float *g = dout + ((size_t)n * Co + co) * Hh * Ww;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            const float w = W[((co * Ci + ci) * k + ky) * k + kx];
                            const int dy = ky - r, dxo = kx - r;
                            const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? Hh - dy : Hh;
                            const int x0 = dxo < 0 ? -dxo : 0, x1 = dxo > 0 ? Ww - dxo : Ww;
                            for (int y = y0; y < y1; y++) {
                                const float *grow = g + (size_t)y * Ww;
                                float *xrow = dx + (size_t)(y + dy) * Ww + dxo;
                                for (int xx = x0; xx < x1; xx++)
                                    xrow[xx] += w * grow[xx];
                            }
                        }
                }
            }
    }
    if (dW || db) {
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * Co * Ci * Hh * Ww * k * k))
        for (int co = 0; co < Co; co++)
            for (int ci = 0; ci < Ci; ci++)
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        const int dy = ky - r, dxo = kx - r;
                        const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? Hh - dy : Hh;
                        const int x0 = dxo < 0 ? -dxo : 0, x1 = dxo > 0 ? Ww - dxo : Ww;
                        double s = 0.0;
                        for (int n = 0; n < B; n++) {
                            const float *g = dout + ((size_t)n * Co + co) * Hh * Ww;
                            const float *x = in + ((size_t)n * Ci + ci) * Hh * Ww;
                            for (int y = y0; y < y1; y++) {
                                const float *grow = g + (size_t)y * Ww;
                                const float *xrow = x + (size_t)(y + dy) * Ww + dxo;
                                float acc = 0.0f;
                                for (int xx = x0; xx < x1; xx++)
                                    acc += grow[xx] * xrow[xx];
                                s += acc;
                            }
                        }
                        if (dW)
                            dW[((co * Ci + ci) * k + ky) * k + kx] += (float)s;
                        if (db && ci == 0 && ky == 0 && kx == 0) {
                            double sb = 0.0;
                            for (int n = 0; n < B; n++) {
                                const float *g = dout + ((size_t)n * Co + co) * Hh * Ww;
                                float acc = 0.0f;
                                for (size_t i = 0; i < (size_t)Hh * Ww; i++)
                                    acc += g[i];
                                sb += acc;
                            }
                            db[co] += (float)sb;
                        }
                    }
    }
}

void sibvad_unpatchify(float *img, const float *patches, int B, int C, int gh, int gw, int p)
{
    const int Hh = gh * p, Ww = gw * p, P = p * p * C;
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * C * Hh * Ww))
    for (int n = 0; n < B; n++)
        for (int y = 0; y < Hh; y++) {
            const int gy = y / p, py = y % p;
            for (int x = 0; x < Ww; x++) {
                const int gx = x / p, px = x % p;
                const float *src = patches + ((size_t)n * gh * gw + gy * gw + gx) * P + (py * p + px) * C;
                for (int c = 0; c < C; c++)
                    img[(((size_t)n * C + c) * Hh + y) * Ww + x] = src[c];
            }
        }
}

void sibvad_unpatchify_backward(float *dpatches, const float *dimg, int B, int C, int gh, int gw, int p)
{
    const int Hh = gh * p, Ww = gw * p, P = p * p * C;
#pragma omp parallel for collapse(2) schedule(static) if (SIBVAD_PAR((size_t)B * C * Hh * Ww))
    for (int n = 0; n < B; n++)
        for (int y = 0; y < Hh; y++) {
            const int gy = y / p, py = y % p;
            for (int x = 0; x < Ww; x++) {
                const int gx = x / p, px = x % p;
                float *dst = dpatches + ((size_t)n * gh * gw + gy * gw + gx) * P + (py * p + px) * C;
                for (int c = 0; c < C; c++)
                    dst[c] += dimg[(((size_t)n * C + c) * Hh + y) * Ww + x];
            }
        }
}
