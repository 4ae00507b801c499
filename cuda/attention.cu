/* attention.cu: multi-head softmax attention, no head permutes.
 * forward per (b, h): P = softmax(s Q K^T) (N, M), O = P V (s = 1/sqrt(dh));
 * backward: dV += P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dP * P));
 *           dQ += s dS K; dK += s dS^T Q.
 * Head h is the column block h*dh of q/k/v rows (row strides ldq/ldk/ldv, batch
 * strides N*ldq, M*ldk, M*ldv), so the products are strided-batched GEMMs over
 * one of (b, h) with a loop over the other (whichever is shorter); P is
 * (B, H, N, M), out (B, N, H*dh). Softmax and its backward: a warp per row. */
#include "cuda-internal.h"

#include <math.h>

#define SM_WARPS 8

__global__ void softmax_rows_k(float *P, size_t rows, int M)
{
    const size_t row = (size_t)blockIdx.x * SM_WARPS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows)
        return;
    float *r = P + row * M;
    float mx = -INFINITY;
    for (int j = lane; j < M; j += 32)
        mx = fmaxf(mx, r[j]);
    mx = cu_warp_max(mx);
    float s = 0.0f;
    for (int j = lane; j < M; j += 32) {
        const float e = expf(r[j] - mx);
        r[j] = e;
        s += e;
    }
    s = cu_warp_sum(s);
    const float inv = 1.0f / s;
    for (int j = lane; j < M; j += 32)
        r[j] *= inv;
}

/* dS = P * (dS - sum_j P dS), in place */
__global__ void softmax_bwd_rows_k(float *dS, const float *P, size_t rows, int M)
{
    const size_t row = (size_t)blockIdx.x * SM_WARPS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows)
        return;
    float *d = dS + row * M;
    const float *p = P + row * M;
    float s = 0.0f;
    for (int j = lane; j < M; j += 32)
        s += p[j] * d[j];
    s = cu_warp_sum(s);
    for (int j = lane; j < M; j += 32)
        d[j] = p[j] * (d[j] - s);
}

/* The (b, h) grid as an outer loop and a strided batch. */
typedef struct {
    int outer, batch;
    bool batch_is_b;
} att_split;

static att_split split_of(int B, int H)
{
    att_split s;
    s.batch_is_b = B >= H; /* batch over the longer of the two */
    s.batch = s.batch_is_b ? B : H;
    s.outer = s.batch_is_b ? H : B;
    return s;
}

/* element offsets of (b, h) in each tensor, and the batch strides */
typedef struct {
    long long q, k, v, p, o;
} att_off;

static att_off offsets(int b, int h, int N, int M, int H, int dh, int ldq, int ldk, int ldv)
{
    att_off o;
    o.q = (long long)b * N * ldq + (long long)h * dh;
    o.k = (long long)b * M * ldk + (long long)h * dh;
    o.v = (long long)b * M * ldv + (long long)h * dh;
    o.p = ((long long)b * H + h) * N * M;
    o.o = (long long)b * N * H * dh + (long long)h * dh;
    return o;
}

static att_off strides(bool batch_is_b, int N, int M, int H, int dh, int ldq, int ldk, int ldv)
{
    return batch_is_b ? offsets(1, 0, N, M, H, dh, ldq, ldk, ldv) : offsets(0, 1, N, M, H, dh, ldq, ldk, ldv);
}

void cu_attention_forward(sibvad_be be, float *out, float *probs, const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv, int B, int N, int M, int H, int dh)
{
    cuctx *c = CTX(be);
    if (B <= 0 || N <= 0 || H <= 0 || dh <= 0)
        return;
    CU_ENTER(c);
    const float scale = 1.0f / sqrtf((float)dh);
    const int HD = H * dh;
    const att_split sp = split_of(B, H);
    const att_off st = strides(sp.batch_is_b, N, M, H, dh, ldq, ldk, ldv);
    if (M <= 0) { /* no keys: an empty softmax, zero output */
        CU_RT(c, "attention_forward", cudaMemsetAsync(out, 0, sizeof(float) * (size_t)B * N * HD, c->stream));
        return;
    }
    for (int o = 0; o < sp.outer; o++) {
        const att_off of = sp.batch_is_b ? offsets(0, o, N, M, H, dh, ldq, ldk, ldv)
                                         : offsets(o, 0, N, M, H, dh, ldq, ldk, ldv);
        /* S = s Q K^T (N, M) */
        cu_gemm_batched(c, "attention_forward", false, true, N, M, dh, scale, q + of.q, ldq, st.q, k + of.k, ldk,
                        st.k, 0.0f, probs + of.p, M, st.p, sp.batch);
    }
    const size_t rows = (size_t)B * H * N;
    softmax_rows_k<<<(unsigned)((rows + SM_WARPS - 1) / SM_WARPS), SM_WARPS * 32, 0, c->stream>>>(probs, rows, M);
    CU_LAUNCHED(c, "attention_forward");
    for (int o = 0; o < sp.outer; o++) {
        const att_off of = sp.batch_is_b ? offsets(0, o, N, M, H, dh, ldq, ldk, ldv)
                                         : offsets(o, 0, N, M, H, dh, ldq, ldk, ldv);
        /* O = P V (N, dh), rows of out have stride H*dh */
        cu_gemm_batched(c, "attention_forward", false, false, N, dh, M, 1.0f, probs + of.p, M, st.p, v + of.v, ldv,
                        st.v, 0.0f, out + of.o, HD, st.o, sp.batch);
    }
}

void cu_attention_backward(sibvad_be be, float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *probs, const float *q, int ldq, const float *k, int ldk, const float *v,
                           int ldv, int B, int N, int M, int H, int dh)
{
    cuctx *c = CTX(be);
    if (B <= 0 || N <= 0 || M <= 0 || H <= 0 || dh <= 0)
        return;
    CU_ENTER(c);
    const float scale = 1.0f / sqrtf((float)dh);
    const int HD = H * dh;
    const att_split sp = split_of(B, H);
    const att_off st = strides(sp.batch_is_b, N, M, H, dh, ldq, ldk, ldv);
    for (int o = 0; o < sp.outer; o++) {
        const att_off of = sp.batch_is_b ? offsets(0, o, N, M, H, dh, ldq, ldk, ldv)
                                         : offsets(o, 0, N, M, H, dh, ldq, ldk, ldv);
        /* dV += P^T dO (M, dh) */
        if (dv)
            cu_gemm_batched(c, "attention_backward", true, false, M, dh, N, 1.0f, probs + of.p, M, st.p,
                            dout + of.o, HD, st.o, 1.0f, dv + of.v, ldv, st.v, sp.batch);
        /* dP = dO V^T (N, M) into scratch */
        if (dq || dk)
            cu_gemm_batched(c, "attention_backward", false, true, N, M, dh, 1.0f, dout + of.o, HD, st.o, v + of.v,
                            ldv, st.v, 0.0f, scratch + of.p, M, st.p, sp.batch);
    }
    if (!dq && !dk)
        return;
    const size_t rows = (size_t)B * H * N;
    softmax_bwd_rows_k<<<(unsigned)((rows + SM_WARPS - 1) / SM_WARPS), SM_WARPS * 32, 0, c->stream>>>(scratch, probs,
                                                                                                    rows, M);
    CU_LAUNCHED(c, "attention_backward");
    for (int o = 0; o < sp.outer; o++) {
        const att_off of = sp.batch_is_b ? offsets(0, o, N, M, H, dh, ldq, ldk, ldv)
                                         : offsets(o, 0, N, M, H, dh, ldq, ldk, ldv);
        /* dQ += s dS K (N, dh) */
        if (dq)
            cu_gemm_batched(c, "attention_backward", false, false, N, dh, M, scale, scratch + of.p, M, st.p,
                            k + of.k, ldk, st.k, 1.0f, dq + of.q, ldq, st.q, sp.batch);
        /* dK += s dS^T Q (M, dh) */
        if (dk)
            cu_gemm_batched(c, "attention_backward", true, false, M, dh, N, scale, scratch + of.p, M, st.p,
                            q + of.q, ldq, st.q, 1.0f, dk + of.k, ldk, st.k, sp.batch);
    }
}
