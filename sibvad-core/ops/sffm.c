/* sffm.c: the Sparse Feature Filtering Module (spec section 5).
 *   s = softmax(x Wg^T) (T, Nr); greedy top-K; w = s_topK / sum(s_topK) * scale
 *   out = sum_k w_k F_{i_k}(x) + Shared(x),  F(x) = up(silu(down(LN(x))))
 * Every filter's LayerNorm has the same statistics, so x is normalised once
 * (xhat) and each filter applies its own affine. Only routed filters run: the
 * (token, slot) pairs are grouped by filter (counting sort) and each filter
 * processes its rows in chunks, filters in parallel. Weighted outputs land in a
 * per-slot buffer and are summed per token, so the result is deterministic.
 * Balance loss (DeepSeekMoE, sequence-wise) per sample b over its Ts tokens:
 *   f_i = Nr / (K Ts) * #(tokens whose top-K holds i);  P_i = mean_t s_i;
 *   L = alpha * mean_b sum_i f_i P_i   (gradient only through P_i).
 * Cached for backward: sibvad_sffm_cache. */
#include "blocks.h"
#include "fastmath.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define CHUNK 64

/* rows (n, D) = xhat[token of slot] * pn_w + pn_b for the slots in ids */
static void gather_ln(float *rows, const int *ids, int n, int K, const float *xhat,
                      const float *pn_w, const float *pn_b, int D)
{
    for (int r = 0; r < n; r++) {
        const float *xr = xhat + (size_t)(ids[r] / K) * D;
        float *o = rows + (size_t)r * D;
        for (int i = 0; i < D; i++)
            o[i] = xr[i] * pn_w[i] + pn_b[i];
    }
}

static void router_topk(sibvad_sffm_cache *c, const sibvad_sffm_dims *d, int T)
{
    const int Nr = d->Nr, K = d->K;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * Nr * K))
    for (int t = 0; t < T; t++) {
        float *s = c->s + (size_t)t * Nr;
        float mx = s[0];
        for (int i = 1; i < Nr; i++)
            mx = s[i] > mx ? s[i] : mx;
        float sum = 0.0f;
        for (int i = 0; i < Nr; i++) {
            s[i] = sibvad_expf(s[i] - mx);
            sum += s[i];
        }
        for (int i = 0; i < Nr; i++)
            s[i] /= sum;
        /* greedy top-K: largest first, lowest index on ties */
        int *idx = c->topk + (size_t)t * K;
        float tot = 0.0f;
        for (int k = 0; k < K; k++) {
            int best = -1;
            for (int i = 0; i < Nr; i++) {
                int taken = 0;
                for (int j = 0; j < k; j++)
                    taken |= idx[j] == i;
                if (!taken && (best < 0 || s[i] > s[best]))
                    best = i;
            }
            idx[k] = best;
            tot += s[best];
        }
        float *gw = c->gw + (size_t)t * K;
        for (int k = 0; k < K; k++)
            gw[k] = s[idx[k]] / tot * d->scale;
    }
}

void sibvad_sffm_forward(float *out, sibvad_sffm_cache *c, const float *x,
                         const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    const int T = d->B * d->Ts, D = d->D, Nr = d->Nr, K = d->K, bn = d->b, bs = d->b * d->Ns;
    /* shared normalisation statistics (unit affine) */
    sibvad_layernorm_forward(c->xhat, c->mean, c->rstd, x, NULL, NULL, T, D, 1e-5f);
    /* router */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, Nr, D, 1.0f, x, D, w->gate, D, 0.0f, c->s, Nr);
    router_topk(c, d, T);
    /* group slots by filter */
    memset(c->offsets, 0, sizeof(int) * (Nr + 1));
    for (int q = 0; q < T * K; q++)
        c->offsets[c->topk[q] + 1]++;
    for (int i = 0; i < Nr; i++)
        c->offsets[i + 1] += c->offsets[i];
    {
        int fill[Nr];
        memcpy(fill, c->offsets, sizeof(int) * Nr);
        for (int q = 0; q < T * K; q++)
            c->order[fill[c->topk[q]]++] = q;
    }
    /* routed filters, in parallel, each on its own rows */
#pragma omp parallel for schedule(dynamic, 1) if (SIBVAD_PAR((size_t)T * K * D * bn * 2))
    for (int i = 0; i < Nr; i++) {
        float ln[CHUNK * D], y[CHUNK * D];
        for (int p0 = c->offsets[i]; p0 < c->offsets[i + 1]; p0 += CHUNK) {
            const int n = c->offsets[i + 1] - p0 < CHUNK ? c->offsets[i + 1] - p0 : CHUNK;
            const int *ids = c->order + p0;
            float *h = c->h + (size_t)p0 * bn, *a = c->a + (size_t)p0 * bn;
            gather_ln(ln, ids, n, K, c->xhat, w->pn_w[i], w->pn_b[i], D);
            sibvad_linear_forward(h, ln, w->down_w[i], w->down_b[i], n, D, bn);
            sibvad_silu_forward(a, h, (size_t)n * bn);
            sibvad_linear_forward(y, a, w->up_w[i], w->up_b[i], n, bn, D);
            for (int r = 0; r < n; r++) {
                const float g = c->gw[ids[r]];
                float *dst = c->slot + (size_t)ids[r] * D;
                for (int j = 0; j < D; j++)
                    dst[j] = g * y[(size_t)r * D + j];
            }
        }
    }
    /* shared filter straight into out, then the routed outputs */
    if (d->Ns > 0) {
        const int S = Nr;
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * D))
        for (int t = 0; t < T; t++)
            for (int j = 0; j < D; j++)
                c->lns[(size_t)t * D + j] = c->xhat[(size_t)t * D + j] * w->pn_w[S][j] + w->pn_b[S][j];
        sibvad_linear_forward(c->hs, c->lns, w->down_w[S], w->down_b[S], T, D, bs);
        sibvad_silu_forward(c->as, c->hs, (size_t)T * bs);
        sibvad_linear_forward(out, c->as, w->up_w[S], w->up_b[S], T, bs, D);
    } else {
        memset(out, 0, sizeof(float) * (size_t)T * D);
    }
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * K * D))
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            const float *src = c->slot + ((size_t)t * K + k) * D;
            float *o = out + (size_t)t * D;
            for (int j = 0; j < D; j++)
                o[j] += src[j];
        }
    /* balance loss */
    double bal = 0.0;
    for (int b = 0; b < d->B; b++) {
        float *f = c->f + (size_t)b * Nr;
        memset(f, 0, sizeof(float) * Nr);
        for (int t = b * d->Ts; t < (b + 1) * d->Ts; t++)
            for (int k = 0; k < K; k++)
                f[c->topk[(size_t)t * K + k]] += 1.0f;
        for (int i = 0; i < Nr; i++) {
            f[i] *= (float)Nr / ((float)K * d->Ts);
            double P = 0.0;
            for (int t = b * d->Ts; t < (b + 1) * d->Ts; t++)
                P += c->s[(size_t)t * Nr + i];
            bal += f[i] * (P / d->Ts);
        }
    }
    c->balance = (float)(d->alpha * bal / d->B);
}

void sibvad_sffm_backward(float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
                          const float *dout, float balance_scale, sibvad_sffm_cache *c,
                          const float *x, const sibvad_sffm_weights *w, const sibvad_sffm_dims *d)
{
    const int T = d->B * d->Ts, D = d->D, Nr = d->Nr, K = d->K, bn = d->b, bs = d->b * d->Ns;
    const size_t TD = (size_t)T * D;
    memset(s->dxhat, 0, sizeof(float) * TD);
    /* shared filter */
    if (d->Ns > 0) {
        const int S = Nr;
        memset(s->das, 0, sizeof(float) * (size_t)T * bs);
        sibvad_linear_backward(s->das, g->up_w[S], g->up_b[S], dout, c->as, w->up_w[S], T, bs, D);
        memset(s->dhs, 0, sizeof(float) * (size_t)T * bs);
        sibvad_silu_backward(s->dhs, s->das, c->hs, (size_t)T * bs);
        memset(s->dlns, 0, sizeof(float) * TD);
        sibvad_linear_backward(s->dlns, g->down_w[S], g->down_b[S], s->dhs, c->lns, w->down_w[S], T, D, bs);
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * D))
        for (int j = 0; j < D; j++) {
            float sw = 0.0f, sb = 0.0f;
            for (int t = 0; t < T; t++) {
                const float gl = s->dlns[(size_t)t * D + j];
                sw += gl * c->xhat[(size_t)t * D + j];
                sb += gl;
            }
            g->pn_w[S][j] += sw;
            g->pn_b[S][j] += sb;
        }
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * D))
        for (int t = 0; t < T; t++)
            for (int j = 0; j < D; j++)
                s->dxhat[(size_t)t * D + j] += s->dlns[(size_t)t * D + j] * w->pn_w[S][j];
    }
    /* routed filters: per-slot input gradients go to c->slot (reused), the
     * gradient of each gate weight to s->dgw */
    float *dslot = c->slot;
#pragma omp parallel for schedule(dynamic, 1) if (SIBVAD_PAR((size_t)T * K * D * bn * 4))
    for (int i = 0; i < Nr; i++) {
        float ln[CHUNK * D], gy[CHUNK * D], dln[CHUNK * D];
        float tb[CHUNK * bn], dh[CHUNK * bn];
        for (int p0 = c->offsets[i]; p0 < c->offsets[i + 1]; p0 += CHUNK) {
            const int n = c->offsets[i + 1] - p0 < CHUNK ? c->offsets[i + 1] - p0 : CHUNK;
            const int *ids = c->order + p0;
            const float *h = c->h + (size_t)p0 * bn, *a = c->a + (size_t)p0 * bn;
            /* gy = w * dout rows; tb = dout rows @ up (n, b) */
            for (int r = 0; r < n; r++) {
                const float *src = dout + (size_t)(ids[r] / K) * D;
                const float gwr = c->gw[ids[r]];
                for (int j = 0; j < D; j++)
                    gy[(size_t)r * D + j] = gwr * src[j];
            }
            for (int r = 0; r < n; r++) {
                const float *src = dout + (size_t)(ids[r] / K) * D;
                float dw = 0.0f;
                for (int q = 0; q < bn; q++) {
                    const float *uw = w->up_w[i];
                    float acc = 0.0f;
                    for (int j = 0; j < D; j++)
                        acc += src[j] * uw[(size_t)j * bn + q];
                    tb[r * bn + q] = acc;
                    dw += acc * a[(size_t)r * bn + q];
                }
                for (int j = 0; j < D; j++)
                    dw += src[j] * w->up_b[i][j];
                s->dgw[ids[r]] = dw;
            }
            /* up_proj parameters (gradient of the weighted output) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, bn, n, 1.0f, gy, D, a, bn,
                        1.0f, g->up_w[i], bn);
            for (int r = 0; r < n; r++)
                for (int j = 0; j < D; j++)
                    g->up_b[i][j] += gy[(size_t)r * D + j];
            /* dh = gw * tb * silu'(h) */
            for (int r = 0; r < n; r++) {
                const float gwr = c->gw[ids[r]];
                for (int q = 0; q < bn; q++) {
                    const float hv = h[(size_t)r * bn + q];
                    const float sg = 1.0f / (1.0f + sibvad_expf(-hv));
                    dh[r * bn + q] = gwr * tb[r * bn + q] * sg * (1.0f + hv * (1.0f - sg));
                }
            }
            gather_ln(ln, ids, n, K, c->xhat, w->pn_w[i], w->pn_b[i], D);
            memset(dln, 0, sizeof(float) * (size_t)n * D);
            sibvad_linear_backward(dln, g->down_w[i], g->down_b[i], dh, ln, w->down_w[i], n, D, bn);
            for (int r = 0; r < n; r++) {
                const float *xr = c->xhat + (size_t)(ids[r] / K) * D;
                float *ds = dslot + (size_t)ids[r] * D;
                for (int j = 0; j < D; j++) {
                    const float gl = dln[(size_t)r * D + j];
                    g->pn_w[i][j] += gl * xr[j];
                    g->pn_b[i][j] += gl;
                    ds[j] = gl * w->pn_w[i][j];
                }
            }
        }
    }
    /* sum the slots of each token, then the shared LayerNorm backward (unit affine) */
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * K * D))
    for (int t = 0; t < T; t++) {
        float *gx = s->dxhat + (size_t)t * D;
        for (int k = 0; k < K; k++) {
            const float *src = dslot + ((size_t)t * K + k) * D;
            for (int j = 0; j < D; j++)
                gx[j] += src[j];
        }
        float m1 = 0.0f, m2 = 0.0f;
        const float *xh = c->xhat + (size_t)t * D;
        for (int j = 0; j < D; j++) {
            m1 += gx[j];
            m2 += gx[j] * xh[j];
        }
        m1 /= D;
        m2 /= D;
        if (dx) {
            const float rs = c->rstd[t];
            for (int j = 0; j < D; j++)
                dx[(size_t)t * D + j] += rs * (gx[j] - m1 - xh[j] * m2);
        }
    }
    /* router: gate weights -> top-K scores, balance loss -> all scores, softmax */
    const float kb = balance_scale * d->alpha / (d->B * (float)d->Ts);
#pragma omp parallel for schedule(static) if (SIBVAD_PAR((size_t)T * Nr))
    for (int t = 0; t < T; t++) {
        const float *sv = c->s + (size_t)t * Nr;
        const float *fb = c->f + (size_t)(t / d->Ts) * Nr;
        float *ds = s->ds + (size_t)t * Nr;
        for (int i = 0; i < Nr; i++)
            ds[i] = kb * fb[i];
        const int *idx = c->topk + (size_t)t * K;
        const float *dgw = s->dgw + (size_t)t * K;
        float tot = 0.0f, dot = 0.0f;
        for (int k = 0; k < K; k++) {
            tot += sv[idx[k]];
            dot += dgw[k] * sv[idx[k]];
        }
        for (int k = 0; k < K; k++)
            ds[idx[k]] += d->scale * (dgw[k] / tot - dot / (tot * tot));
        float sd = 0.0f;
        for (int i = 0; i < Nr; i++)
            sd += sv[i] * ds[i];
        for (int i = 0; i < Nr; i++)
            ds[i] = sv[i] * (ds[i] - sd);
    }
    sibvad_linear_backward(dx, g->gate, NULL, s->ds, x, w->gate, T, D, Nr);
}
