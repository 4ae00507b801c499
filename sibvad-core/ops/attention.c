/* attention.c: multi-head softmax attention without head permutes.
 * forward per (batch b, head h):  P = softmax(Q K^T / sqrt(dh)) (N, M);  O = P V.
 * backward: dP = dO V^T; dS = P * (dP - rowsum(dP * P)); dQ += s dS K;
 *           dK += s dS^T Q; dV += P^T dO (s = 1/sqrt(dh)).
 * Heads are column blocks of width dh in q/k/v rows (stride ldq/ldk/ldv), so a
 * fused qkv buffer (R, 3D) is used in place. Cached: P (B, H, N, M).
 * The (b, h) pairs run in parallel; BLAS calls inside are single-threaded. */
#include "ops.h"
#include "fastmath.h"

#include <cblas.h>
#include <math.h>

static void softmax_rows(float *P, int N, int M)
{
    for (int i = 0; i < N; i++) {
        float *row = P + (size_t)i * M;
        float mx = row[0];
        for (int j = 1; j < M; j++)
            mx = row[j] > mx ? row[j] : mx;
        float s = 0.0f;
        for (int j = 0; j < M; j++)
            row[j] = sibvad_expf(row[j] - mx);
        for (int j = 0; j < M; j++)
            s += row[j];
        float inv = 1.0f / s;
        for (int j = 0; j < M; j++)
            row[j] *= inv;
    }
}

void sibvad_attention_forward(float *out, float *probs, const float *q, int ldq,
                              const float *k, int ldk, const float *v, int ldv,
                              int B, int N, int M, int H, int dh)
{
    const float scale = 1.0f / sqrtf((float)dh);
    const int HD = H * dh;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if (SIBVAD_PAR((size_t)B * H * N * M * dh))
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            float *P = probs + ((size_t)b * H + h) * N * M;
            const float *qb = q + (size_t)b * N * ldq + h * dh;
            const float *kb = k + (size_t)b * M * ldk + h * dh;
            const float *vb = v + (size_t)b * M * ldv + h * dh;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, dh, scale, qb, ldq, kb, ldk,
                        0.0f, P, M);
            softmax_rows(P, N, M);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, dh, M, 1.0f, P, M, vb, ldv,
                        0.0f, out + (size_t)b * N * HD + h * dh, HD);
        }
}

void sibvad_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                               const float *dout, const float *probs,
                               const float *q, int ldq, const float *k, int ldk,
                               const float *v, int ldv, int B, int N, int M, int H, int dh)
{
    const float scale = 1.0f / sqrtf((float)dh);
    const int HD = H * dh;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if (SIBVAD_PAR((size_t)B * H * N * M * dh))
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *P = probs + ((size_t)b * H + h) * N * M;
            float *dS = scratch + ((size_t)b * H + h) * N * M;
            const float *go = dout + (size_t)b * N * HD + h * dh;
            const float *qb = q + (size_t)b * N * ldq + h * dh;
            const float *kb = k + (size_t)b * M * ldk + h * dh;
            const float *vb = v + (size_t)b * M * ldv + h * dh;
            if (dv)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, dh, N, 1.0f, P, M, go, HD,
                            1.0f, dv + (size_t)b * M * ldv + h * dh, ldv);
            if (!dq && !dk)
                continue;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, dh, 1.0f, go, HD, vb, ldv,
                        0.0f, dS, M);
            for (int i = 0; i < N; i++) {
                const float *pr = P + (size_t)i * M;
                float *dr = dS + (size_t)i * M;
                float s = 0.0f;
                for (int j = 0; j < M; j++)
                    s += pr[j] * dr[j];
                for (int j = 0; j < M; j++)
                    dr[j] = pr[j] * (dr[j] - s);
            }
            if (dq)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, dh, M, scale, dS, M, kb, ldk,
                            1.0f, dq + (size_t)b * N * ldq + h * dh, ldq);
            if (dk)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, dh, N, scale, dS, M, qb, ldq,
                            1.0f, dk + (size_t)b * M * ldk + h * dh, ldk);
        }
}
