/* layout.cu: moving features between layouts, one thread per element:
 * frame interleaving (B, T, N, C) -> (B, N, T*C) (also from a ring of T
 * frames starting at `first`) and its adjoint, channel concatenation and its
 * adjoint, MAE unpatchify (B, gh*gw, p*p*C) -> (B, C, gh*p, gw*p) and its
 * adjoint. Each adjoint visits every gradient element once, so the += need no
 * atomics. */
#include "cuda-internal.h"

/* out[((b*N + n)*T + t)*C + c] = in[((b*T + (first + t) % T)*N + n)*C + c] */
__global__ void gather_frames_k(float *out, const float *in, int T, int N, int C, int first, size_t total)
{
    CU_GRID_STRIDE(i, total)
    {
        const size_t c = i % C;
        size_t r = i / C;
        const int t = (int)(r % T);
        r /= T;
        const int n = (int)(r % N);
        const size_t b = r / N;
        out[i] = in[((b * T + (first + t) % T) * N + n) * C + c];
    }
}

/* din[((b*T + t)*N + n)*C + c] += dout[((b*N + n)*T + t)*C + c] */
__global__ void interleave_bwd_k(float *din, const float *dout, int T, int N, int C, size_t total)
{
    CU_GRID_STRIDE(i, total)
    {
        const size_t c = i % C;
        size_t r = i / C;
        const int n = (int)(r % N);
        r /= N;
        const int t = (int)(r % T);
        const size_t b = r / T;
        din[i] += dout[((b * N + n) * T + t) * C + c];
    }
}

void cu_gather_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C, int first)
{
    cuctx *c = CTX(be);
    const size_t total = (size_t)B * T * N * C;
    if (B <= 0 || T <= 0 || N <= 0 || C <= 0)
        return;
    CU_ENTER(c);
    first %= T;
    if (first < 0)
        first += T;
    gather_frames_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(out, in, T, N, C, first, total);
    CU_LAUNCHED(c, "gather_frames");
}

void cu_interleave_frames(sibvad_be be, float *out, const float *in, int B, int T, int N, int C)
{
    cu_gather_frames(be, out, in, B, T, N, C, 0);
}

void cu_interleave_frames_backward(sibvad_be be, float *din, const float *dout, int B, int T, int N, int C)
{
    cuctx *c = CTX(be);
    const size_t total = (size_t)B * T * N * C;
    if (!din || B <= 0 || T <= 0 || N <= 0 || C <= 0)
        return;
    CU_ENTER(c);
    interleave_bwd_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(din, dout, T, N, C, total);
    CU_LAUNCHED(c, "interleave_frames_backward");
}

__global__ void concat_k(float *out, const float *a, int Ca, const float *b, int Cb, size_t total)
{
    const int W = Ca + Cb;
    CU_GRID_STRIDE(i, total)
    {
        const size_t r = i / W;
        const int j = (int)(i % W);
        out[i] = j < Ca ? a[r * Ca + j] : b[r * Cb + (j - Ca)];
    }
}

__global__ void concat_bwd_k(float *da, float *db, const float *dout, int Ca, int Cb, size_t total)
{
    const int W = Ca + Cb;
    CU_GRID_STRIDE(i, total)
    {
        const size_t r = i / W;
        const int j = (int)(i % W);
        if (j < Ca) {
            if (da)
                da[r * Ca + j] += dout[i];
        } else if (db) {
            db[r * Cb + (j - Ca)] += dout[i];
        }
    }
}

void cu_concat_channels(sibvad_be be, float *out, const float *a, int Ca, const float *b, int Cb, int R)
{
    cuctx *c = CTX(be);
    const size_t total = (size_t)R * (Ca + Cb);
    if (R <= 0 || Ca + Cb <= 0)
        return;
    CU_ENTER(c);
    concat_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(out, a, Ca, b, Cb, total);
    CU_LAUNCHED(c, "concat_channels");
}

void cu_concat_channels_backward(sibvad_be be, float *da, float *db, const float *dout, int Ca, int Cb, int R)
{
    cuctx *c = CTX(be);
    const size_t total = (size_t)R * (Ca + Cb);
    if (R <= 0 || Ca + Cb <= 0 || (!da && !db))
        return;
    CU_ENTER(c);
    concat_bwd_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(da, db, dout, Ca, Cb, total);
    CU_LAUNCHED(c, "concat_channels_backward");
}

/* img index i = ((n*C + ch)*Hh + y)*Ww + x  <->  patches[(n*gh*gw + gy*gw + gx)*P + (py*p + px)*C + ch] */
__device__ __forceinline__ size_t patch_index(size_t i, int C, int gh, int gw, int p)
{
    const int Ww = gw * p, Hh = gh * p;
    const int x = (int)(i % Ww);
    size_t r = i / Ww;
    const int y = (int)(r % Hh);
    r /= Hh;
    const int ch = (int)(r % C);
    const size_t n = r / C;
    const int gy = y / p, py = y % p, gx = x / p, px = x % p;
    return (n * gh * gw + (size_t)gy * gw + gx) * ((size_t)p * p * C) + (size_t)(py * p + px) * C + ch;
}

__global__ void unpatchify_k(float *img, const float *patches, int C, int gh, int gw, int p, size_t total)
{
    CU_GRID_STRIDE(i, total)
    img[i] = patches[patch_index(i, C, gh, gw, p)];
}

__global__ void unpatchify_bwd_k(float *dpatches, const float *dimg, int C, int gh, int gw, int p, size_t total)
{
    CU_GRID_STRIDE(i, total)
    dpatches[patch_index(i, C, gh, gw, p)] += dimg[i];
}

void cu_unpatchify(sibvad_be be, float *img, const float *patches, int B, int C, int gh, int gw, int p)
{
    cuctx *c = CTX(be);
    const size_t total = (size_t)B * C * gh * p * gw * p;
    if (total == 0 || B <= 0)
        return;
    CU_ENTER(c);
    unpatchify_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(img, patches, C, gh, gw, p, total);
    CU_LAUNCHED(c, "unpatchify");
}

void cu_unpatchify_backward(sibvad_be be, float *dpatches, const float *dimg, int B, int C, int gh, int gw, int p)
{
    cuctx *c = CTX(be);
    const size_t total = (size_t)B * C * gh * p * gw * p;
    if (total == 0 || B <= 0 || !dpatches)
        return;
    CU_ENTER(c);
    unpatchify_bwd_k<<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(dpatches, dimg, C, gh, gw, p, total);
    CU_LAUNCHED(c, "unpatchify_backward");
}
