/* backend-check.h: every op of a compute backend (backend.h) run on two
 * backends with the same random inputs and compared: be[0] is the reference,
 * be[1] the backend under test. Inputs are made on the host, uploaded to each
 * backend, and the outputs downloaded; gradient outputs start from the same
 * random contents (backward ops add into them), while forward outputs, caches
 * and scratch that an op must overwrite start as NaN (bc_junk), so an op that
 * adds where it must write, or leaves an element unwritten, shows as NOT
 * FINITE. A tolerance of 0 asks for bitwise equality (and finite values);
 * otherwise the error is max |got - ref| / max |ref| over the output. Besides
 * the shapes of the model, the cases cover NULL gradients, several heads and
 * batch splits in attention, column sums over several row chunks, reductions
 * of 2^20 values, and the SFFM with exact ties and a larger routing.
 * Shared by test_backend.c (the CPU backend against plain ops.h) and
 * test_backend_cuda.c (a module backend against the CPU). */
#ifndef SIBVAD_BACKEND_CHECK_H
#define SIBVAD_BACKEND_CHECK_H

#include "backend.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bcheck {
    sibvad_be be[2];            /* 0: reference, 1: under test */
    double tol_gemm;            /* matrix-product and reduction ops (0: bitwise) */
    double tol_elem;            /* elementwise and layout ops (0: bitwise) */
    double tol_router;          /* the SFFM's router probabilities (tol_gemm unless set) */
    const char *tag;            /* said after the backend's name in every line (NULL: none) */
    int quiet;                  /* print failures only */
    int fails, checks;
    sibvad_rng rng;
    void *dev[2][1024];
    int ndev[2];
    void *host[2048];
    int nhost;
} bcheck;

static void bc_init(bcheck *X, sibvad_be ref, sibvad_be be, double tol_gemm, double tol_elem)
{
    memset(X, 0, sizeof *X);
    X->be[0] = ref;
    X->be[1] = be;
    X->tol_gemm = tol_gemm;
    X->tol_elem = tol_elem;
    X->tol_router = tol_gemm;
    sibvad_rng_seed(&X->rng, 20240605);
}

static void *bc_track_host(bcheck *X, void *p)
{
    if (!p || X->nhost == (int)(sizeof X->host / sizeof X->host[0])) {
        fprintf(stderr, "backend check: out of host memory or slots\n");
        exit(2);
    }
    X->host[X->nhost++] = p;
    return p;
}

static float *bc_h(bcheck *X, size_t n)
{
    return bc_track_host(X, calloc(n ? n : 1, sizeof(float)));
}

static float *bc_rand(bcheck *X, size_t n, float scale)
{
    float *p = bc_h(X, n);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * sibvad_rng_normal(&X->rng);
    return p;
}

/* bytes on backend k, with the host contents (or zeros) */
static void *bc_devb(bcheck *X, int k, const void *host, size_t bytes)
{
    sibvad_be be = X->be[k];
    void *p = be->alloc(be, bytes ? bytes : 4);
    if (!p || X->ndev[k] == (int)(sizeof X->dev[k] / sizeof X->dev[k][0])) {
        fprintf(stderr, "backend check: %s: out of memory\n", be->name);
        exit(2);
    }
    X->dev[k][X->ndev[k]++] = p;
    if (host)
        be->upload(be, p, host, bytes);
    else
        be->zero(be, p, bytes ? bytes : 4);
    return p;
}

static float *bc_dev(bcheck *X, int k, const float *host, size_t n)
{
    return bc_devb(X, k, host, sizeof(float) * n);
}

/* bytes on backend k that an op must overwrite: all bits set (NaN as floats,
 * -1 as ints) */
static void *bc_junkb(bcheck *X, int k, size_t bytes)
{
    unsigned char *h = malloc(bytes ? bytes : 1);
    if (!h) {
        fprintf(stderr, "backend check: out of host memory\n");
        exit(2);
    }
    memset(h, 0xff, bytes ? bytes : 1);
    void *p = bc_devb(X, k, h, bytes);
    free(h);
    return p;
}

static float *bc_junk(bcheck *X, int k, size_t n)
{
    return bc_junkb(X, k, sizeof(float) * n);
}

static float *bc_get(bcheck *X, int k, const float *dev, size_t n)
{
    float *h = bc_h(X, n);
    X->be[k]->download(X->be[k], h, dev, sizeof(float) * n);
    return h;
}

static int *bc_geti(bcheck *X, int k, const int *dev, size_t n)
{
    int *h = bc_track_host(X, calloc(n ? n : 1, sizeof(int)));
    X->be[k]->download(X->be[k], h, dev, sizeof(int) * n);
    return h;
}

/* free everything of one check */
static void bc_done(bcheck *X)
{
    for (int k = 0; k < 2; k++) {
        sibvad_error e;
        if (X->be[k]->synchronize(X->be[k], &e) < 0) {
            printf("FAIL - %s%s%s: asynchronous error: %s\n", X->be[k]->name, X->tag ? " " : "",
                   X->tag ? X->tag : "", e.msg);
            X->fails++;
        }
        while (X->ndev[k] > 0)
            X->be[k]->free(X->be[k], X->dev[k][--X->ndev[k]]);
    }
    while (X->nhost > 0)
        free(X->host[--X->nhost]);
}

static void bc_report(bcheck *X, int ok, const char *what, const char *detail)
{
    X->checks++;
    if (!ok)
        X->fails++;
    if (ok && X->quiet)
        return;
    printf("%s - %s%s%s vs %s: %s%s%s\n", ok ? "ok  " : "FAIL", X->be[1]->name, X->tag ? " " : "",
           X->tag ? X->tag : "", X->be[0]->name, what, detail[0] ? ": " : "", detail);
}

static void bc_cmp(bcheck *X, const char *what, const float *ref, const float *got, size_t n, double tol)
{
    char d[256];
    if (tol == 0.0) {
        size_t i = 0, nf = 0;
        while (i < n && memcmp(ref + i, got + i, sizeof(float)) == 0)
            i++;
        for (size_t j = 0; j < n; j++) /* equal NaN left in both is no pass */
            nf += !isfinite(ref[j]) || !isfinite(got[j]);
        if (i < n)
            snprintf(d, sizeof d, "not bitwise equal: first at %zu of %zu (%.9g vs %.9g)", i, n, got[i], ref[i]);
        else
            snprintf(d, sizeof d, "bitwise equal (%zu values)%s", n, nf ? ", NOT FINITE" : "");
        bc_report(X, i == n && nf == 0, what, d);
        return;
    }
    double num = 0.0, den = 0.0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i]))
            finite = 0;
        num = fmax(num, fabs((double)got[i] - ref[i]));
        den = fmax(den, fabs((double)ref[i]));
    }
    const double err = num / (den > 1e-30 ? den : 1e-30);
    snprintf(d, sizeof d, "rel err %.3g (tol %.0e, %zu values)%s", err, tol, n, finite ? "" : ", NOT FINITE");
    bc_report(X, finite && err <= tol, what, d);
}

static void bc_cmp1(bcheck *X, const char *what, double ref, double got, double tol)
{
    char d[256];
    if (tol == 0.0) {
        snprintf(d, sizeof d, "%.17g vs %.17g", got, ref);
        bc_report(X, memcmp(&ref, &got, sizeof ref) == 0 && isfinite(ref), what, d);
        return;
    }
    const double err = fabs(got - ref) / fmax(fabs(ref), 1e-30);
    snprintf(d, sizeof d, "%.9g vs %.9g (rel err %.3g, tol %.0e)", got, ref, err, tol);
    bc_report(X, isfinite(got) && err <= tol, what, d);
}

static void bc_cmpi(bcheck *X, const char *what, const int *ref, const int *got, size_t n)
{
    char d[128];
    size_t i = 0;
    while (i < n && ref[i] == got[i])
        i++;
    snprintf(d, sizeof d, i == n ? "equal (%zu values)" : "differ at %zu", i == n ? n : i);
    bc_report(X, i == n, what, d);
}

/* Gradients passed as NULL (the op must skip that work and leave the rest
 * as it is); 0: every one given. */
#define BC_NO_BIAS 0x01 /* linear: no bias (and no bias gradient) */
#define BC_NO_DIN 0x02
#define BC_NO_DW 0x04
#define BC_NO_DB 0x08
#define BC_NO_DQ 0x10
#define BC_NO_DK 0x20
#define BC_NO_DV 0x40

/* " (din, dW NULL)" for the flags' NULL gradients ("" for none) */
static const char *bc_nulls(char *buf, size_t len, int flags)
{
    static const char *names[7] = {"bias", "din", "dW", "db", "dq", "dk", "dv"};
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < 7; i++)
        if (flags & (1 << i))
            o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? ", " : " (", names[i]);
    if (o)
        snprintf(buf + o, o < len ? len - o : 0, " NULL)");
    return buf;
}

/* ---- the checks: k runs over the two backends ---- */
#define FOR_BE for (int k = 0; k < 2; k++)
#define BE (X->be[k])

static void bc_memory(bcheck *X)
{
    const size_t n = 100003;
    float *h = bc_rand(X, n, 1.0f), *r[2], *c[2];
    FOR_BE {
        float *d = bc_dev(X, k, h, n), *d2 = bc_dev(X, k, NULL, n);
        BE->copy(BE, d2 + 7, d + 3, sizeof(float) * 5000);
        BE->zero(BE, d + 11, sizeof(float) * 4000);
        r[k] = bc_get(X, k, d, n);
        c[k] = bc_get(X, k, d2, n);
    }
    /* the reference is host memory: check it against plain C too */
    float *want = bc_h(X, n), *wantc = bc_h(X, n);
    memcpy(want, h, sizeof(float) * n);
    memset(want + 11, 0, sizeof(float) * 4000);
    memcpy(wantc + 7, h + 3, sizeof(float) * 5000);
    bc_cmp(X, "upload/zero/download (reference vs plain C)", want, r[0], n, 0.0);
    bc_cmp(X, "upload/zero/download", r[0], r[1], n, 0.0);
    bc_cmp(X, "copy (reference vs plain C)", wantc, c[0], n, 0.0);
    bc_cmp(X, "copy", c[0], c[1], n, 0.0);
    bc_done(X);
}

/* flags: BC_NO_BIAS, BC_NO_DIN, BC_NO_DW */
static void bc_linear(bcheck *X, int R, int I, int O, int flags)
{
    const int bias = !(flags & BC_NO_BIAS);
    float *in = bc_rand(X, (size_t)R * I, 1.0f), *W = bc_rand(X, (size_t)O * I, 0.3f), *b = bc_rand(X, O, 0.3f);
    float *dout = bc_rand(X, (size_t)R * O, 1.0f);
    float *din0 = bc_rand(X, (size_t)R * I, 1.0f), *dW0 = bc_rand(X, (size_t)O * I, 1.0f), *db0 = bc_rand(X, O, 1.0f);
    float *o[2], *din[2], *dW[2], *db[2];
    FOR_BE {
        float *dO = bc_junk(X, k, (size_t)R * O), *dI = bc_dev(X, k, in, (size_t)R * I);
        float *dWt = bc_dev(X, k, W, (size_t)O * I), *dB = bc_dev(X, k, b, O);
        BE->linear_forward(BE, dO, dI, dWt, bias ? dB : NULL, R, I, O);
        o[k] = bc_get(X, k, dO, (size_t)R * O);
        float *gI = bc_dev(X, k, din0, (size_t)R * I), *gW = bc_dev(X, k, dW0, (size_t)O * I);
        float *gB = bc_dev(X, k, db0, O), *gO = bc_dev(X, k, dout, (size_t)R * O);
        BE->linear_backward(BE, flags & BC_NO_DIN ? NULL : gI, flags & BC_NO_DW ? NULL : gW, bias ? gB : NULL, gO,
                            dI, dWt, R, I, O);
        din[k] = bc_get(X, k, gI, (size_t)R * I);
        dW[k] = bc_get(X, k, gW, (size_t)O * I);
        db[k] = bc_get(X, k, gB, O);
    }
    char w[128], nl[64];
    bc_nulls(nl, sizeof nl, flags);
    snprintf(w, sizeof w, "linear %dx%d->%d%s forward", R, I, O, nl);
    bc_cmp(X, w, o[0], o[1], (size_t)R * O, X->tol_gemm);
    snprintf(w, sizeof w, "linear %dx%d->%d%s backward din", R, I, O, nl);
    bc_cmp(X, w, din[0], din[1], (size_t)R * I, X->tol_gemm);
    snprintf(w, sizeof w, "linear %dx%d->%d%s backward dW, db", R, I, O, nl);
    bc_cmp(X, w, dW[0], dW[1], (size_t)O * I, X->tol_gemm);
    bc_cmp(X, w, db[0], db[1], O, X->tol_gemm);
    bc_done(X);
}

/* flags: BC_NO_DIN, BC_NO_DW (the scale's gradient), BC_NO_DB */
static void bc_layernorm(bcheck *X, int R, int C, float eps, int flags)
{
    float *in = bc_rand(X, (size_t)R * C, 2.0f), *w = bc_rand(X, C, 0.5f), *b = bc_rand(X, C, 0.5f);
    float *dout = bc_rand(X, (size_t)R * C, 1.0f), *din0 = bc_rand(X, (size_t)R * C, 1.0f);
    float *dw0 = bc_rand(X, C, 1.0f), *db0 = bc_rand(X, C, 1.0f);
    for (int r = 0; r < R; r++) /* rows with an offset, as activations have */
        for (int c = 0; c < C; c++)
            in[(size_t)r * C + c] += 0.5f * (float)(r % 5);
    float *o[2], *mu[2], *rs[2], *din[2], *dw[2], *db[2];
    FOR_BE {
        float *dO = bc_junk(X, k, (size_t)R * C), *dM = bc_junk(X, k, R), *dR = bc_junk(X, k, R);
        float *dI = bc_dev(X, k, in, (size_t)R * C), *dw_ = bc_dev(X, k, w, C), *db_ = bc_dev(X, k, b, C);
        BE->layernorm_forward(BE, dO, dM, dR, dI, dw_, db_, R, C, eps);
        o[k] = bc_get(X, k, dO, (size_t)R * C);
        mu[k] = bc_get(X, k, dM, R);
        rs[k] = bc_get(X, k, dR, R);
        float *gI = bc_dev(X, k, din0, (size_t)R * C), *gw = bc_dev(X, k, dw0, C), *gb = bc_dev(X, k, db0, C);
        float *gO = bc_dev(X, k, dout, (size_t)R * C);
        BE->layernorm_backward(BE, flags & BC_NO_DIN ? NULL : gI, flags & BC_NO_DW ? NULL : gw,
                               flags & BC_NO_DB ? NULL : gb, gO, dI, dw_, dM, dR, R, C);
        din[k] = bc_get(X, k, gI, (size_t)R * C);
        dw[k] = bc_get(X, k, gw, C);
        db[k] = bc_get(X, k, gb, C);
    }
    char w_[128], nl[64];
    bc_nulls(nl, sizeof nl, flags);
    snprintf(w_, sizeof w_, "layernorm %dx%d%s forward out, mean, rstd", R, C, nl);
    bc_cmp(X, w_, o[0], o[1], (size_t)R * C, X->tol_gemm);
    bc_cmp(X, w_, mu[0], mu[1], R, X->tol_gemm);
    bc_cmp(X, w_, rs[0], rs[1], R, X->tol_gemm);
    snprintf(w_, sizeof w_, "layernorm %dx%d%s backward din", R, C, nl);
    bc_cmp(X, w_, din[0], din[1], (size_t)R * C, X->tol_gemm);
    snprintf(w_, sizeof w_, "layernorm %dx%d%s backward dw, db", R, C, nl);
    bc_cmp(X, w_, dw[0], dw[1], C, X->tol_gemm);
    bc_cmp(X, w_, db[0], db[1], C, X->tol_gemm);
    bc_done(X);
}

/* kind 0 gelu, 1 silu, 2 leaky relu */
static void bc_activation(bcheck *X, int kind, size_t n)
{
    static const char *names[3] = {"gelu", "silu", "leakyrelu"};
    float *in = bc_rand(X, n, 2.0f), *dout = bc_rand(X, n, 1.0f), *din0 = bc_rand(X, n, 1.0f);
    float *o[2], *din[2];
    FOR_BE {
        float *dI = bc_dev(X, k, in, n), *dO = bc_junk(X, k, n), *gI = bc_dev(X, k, din0, n);
        float *gO = bc_dev(X, k, dout, n);
        if (kind == 0) {
            BE->gelu_forward(BE, dO, dI, n);
            BE->gelu_backward(BE, gI, gO, dI, n);
        } else if (kind == 1) {
            BE->silu_forward(BE, dO, dI, n);
            BE->silu_backward(BE, gI, gO, dI, n);
        } else {
            BE->leakyrelu_forward(BE, dO, dI, n, 0.01f);
            BE->leakyrelu_backward(BE, gI, gO, dI, n, 0.01f);
        }
        o[k] = bc_get(X, k, dO, n);
        din[k] = bc_get(X, k, gI, n);
    }
    char w[64];
    snprintf(w, sizeof w, "%s forward (n %zu)", names[kind], n);
    bc_cmp(X, w, o[0], o[1], n, X->tol_elem);
    snprintf(w, sizeof w, "%s backward (n %zu)", names[kind], n);
    bc_cmp(X, w, din[0], din[1], n, X->tol_elem);
    bc_done(X);
}

static void bc_patch_embed(bcheck *X, int Bi, int C, int Hh, int Ww, int p, int D, int with_cls_pos)
{
    const int Np = (Hh / p) * (Ww / p);
    const size_t ntok = (size_t)Bi * (Np + 1) * D, ncols = (size_t)Bi * Np * C * p * p, nW = (size_t)D * C * p * p;
    float *img = bc_rand(X, (size_t)Bi * C * Hh * Ww, 1.0f), *W = bc_rand(X, nW, 0.1f), *b = bc_rand(X, D, 0.1f);
    float *cls = bc_rand(X, D, 0.1f), *pos = bc_rand(X, (size_t)(Np + 1) * D, 0.1f);
    float *dtok = bc_rand(X, ntok, 1.0f);
    float *dW0 = bc_rand(X, nW, 1.0f), *db0 = bc_rand(X, D, 1.0f), *dcls0 = bc_rand(X, D, 1.0f);
    float *dpos0 = bc_rand(X, (size_t)(Np + 1) * D, 1.0f);
    float *tok[2], *cols[2], *dW[2], *db[2], *dcls[2], *dpos[2];
    FOR_BE {
        float *t = bc_junk(X, k, ntok), *cl = bc_junk(X, k, ncols);
        float *im = bc_dev(X, k, img, (size_t)Bi * C * Hh * Ww);
        float *w = bc_dev(X, k, W, nW), *bb = bc_dev(X, k, b, D), *c = bc_dev(X, k, cls, D);
        float *ps = bc_dev(X, k, pos, (size_t)(Np + 1) * D);
        BE->patch_embed_forward(BE, t, cl, im, w, bb, with_cls_pos ? c : NULL, with_cls_pos ? ps : NULL, Bi, C, Hh,
                                Ww, p, D);
        tok[k] = bc_get(X, k, t, ntok);
        cols[k] = bc_get(X, k, cl, ncols);
        float *gW = bc_dev(X, k, dW0, nW), *gb = bc_dev(X, k, db0, D), *gc = bc_dev(X, k, dcls0, D);
        float *gp = bc_dev(X, k, dpos0, (size_t)(Np + 1) * D), *gt = bc_dev(X, k, dtok, ntok);
        BE->patch_embed_backward(BE, gW, gb, with_cls_pos ? gc : NULL, with_cls_pos ? gp : NULL, gt, cl, Bi, C, Hh, Ww,
                                 p, D);
        dW[k] = bc_get(X, k, gW, nW);
        db[k] = bc_get(X, k, gb, D);
        dcls[k] = bc_get(X, k, gc, D);
        dpos[k] = bc_get(X, k, gp, (size_t)(Np + 1) * D);
    }
    char v[96], w[160];
    snprintf(v, sizeof v, "patch_embed %dx%dx%dx%d p %d -> %d%s", Bi, C, Hh, Ww, p, D,
             with_cls_pos ? "" : " (no cls, pos)");
    snprintf(w, sizeof w, "%s forward tokens", v);
    bc_cmp(X, w, tok[0], tok[1], ntok, X->tol_gemm);
    snprintf(w, sizeof w, "%s forward cols", v);
    bc_cmp(X, w, cols[0], cols[1], ncols, X->tol_elem);
    snprintf(w, sizeof w, "%s backward dW, db, dcls, dpos", v);
    bc_cmp(X, w, dW[0], dW[1], nW, X->tol_gemm);
    bc_cmp(X, w, db[0], db[1], D, X->tol_gemm);
    bc_cmp(X, w, dcls[0], dcls[1], D, X->tol_gemm);
    bc_cmp(X, w, dpos[0], dpos[1], (size_t)(Np + 1) * D, X->tol_gemm);
    bc_done(X);
}

/* flags: BC_NO_DIN, BC_NO_DW */
static void bc_conv2d(bcheck *X, int Ci, int Co, int kk, int flags)
{
    const int B = 2, Hh = 12, Ww = 10;
    const size_t ni = (size_t)B * Ci * Hh * Ww, no = (size_t)B * Co * Hh * Ww, nW = (size_t)Co * Ci * kk * kk;
    float *in = bc_rand(X, ni, 1.0f), *W = bc_rand(X, nW, 0.3f), *b = bc_rand(X, Co, 0.3f);
    float *dout = bc_rand(X, no, 1.0f), *din0 = bc_rand(X, ni, 1.0f), *dW0 = bc_rand(X, nW, 1.0f);
    float *db0 = bc_rand(X, Co, 1.0f);
    float *o[2], *din[2], *dW[2], *db[2];
    FOR_BE {
        float *dI = bc_dev(X, k, in, ni), *dO = bc_junk(X, k, no), *w = bc_dev(X, k, W, nW);
        float *bb = bc_dev(X, k, b, Co);
        BE->conv2d_forward(BE, dO, dI, w, bb, B, Ci, Co, Hh, Ww, kk);
        o[k] = bc_get(X, k, dO, no);
        float *gI = bc_dev(X, k, din0, ni), *gW = bc_dev(X, k, dW0, nW), *gb = bc_dev(X, k, db0, Co);
        float *gO = bc_dev(X, k, dout, no);
        BE->conv2d_backward(BE, flags & BC_NO_DIN ? NULL : gI, flags & BC_NO_DW ? NULL : gW, gb, gO, dI, w, B, Ci,
                            Co, Hh, Ww, kk);
        din[k] = bc_get(X, k, gI, ni);
        dW[k] = bc_get(X, k, gW, nW);
        db[k] = bc_get(X, k, gb, Co);
    }
    char w[128], nl[64];
    bc_nulls(nl, sizeof nl, flags);
    snprintf(w, sizeof w, "conv2d %dx%d %d->%d%s forward", kk, kk, Ci, Co, nl);
    bc_cmp(X, w, o[0], o[1], no, X->tol_gemm);
    snprintf(w, sizeof w, "conv2d %dx%d %d->%d%s backward din, dW, db", kk, kk, Ci, Co, nl);
    bc_cmp(X, w, din[0], din[1], ni, X->tol_gemm);
    bc_cmp(X, w, dW[0], dW[1], nW, X->tol_gemm);
    bc_cmp(X, w, db[0], db[1], Co, X->tol_gemm);
    bc_done(X);
}

static void bc_unpatchify(bcheck *X)
{
    const int B = 2, C = 3, gh = 3, gw = 4, p = 4;
    const size_t n = (size_t)B * C * gh * p * gw * p;
    float *patches = bc_rand(X, n, 1.0f), *dimg = bc_rand(X, n, 1.0f), *dp0 = bc_rand(X, n, 1.0f);
    float *img[2], *dp[2];
    FOR_BE {
        float *P = bc_dev(X, k, patches, n), *I = bc_junk(X, k, n), *gI = bc_dev(X, k, dimg, n);
        float *gP = bc_dev(X, k, dp0, n);
        BE->unpatchify(BE, I, P, B, C, gh, gw, p);
        BE->unpatchify_backward(BE, gP, gI, B, C, gh, gw, p);
        img[k] = bc_get(X, k, I, n);
        dp[k] = bc_get(X, k, gP, n);
    }
    bc_cmp(X, "unpatchify", img[0], img[1], n, X->tol_elem);
    bc_cmp(X, "unpatchify backward", dp[0], dp[1], n, X->tol_elem);
    bc_done(X);
}

/* self: q, k, v as column blocks of one fused (B*N, 3D) buffer; else
 * separate, M = N + 1. flags: BC_NO_DQ, BC_NO_DK, BC_NO_DV. */
static void bc_attention(bcheck *X, int self, int B, int N, int H, int dh, int flags)
{
    const int D = H * dh, M = self ? N : N + 1;
    const int ld = self ? 3 * D : D;
    const size_t nq = (size_t)B * N * ld, nk = (size_t)B * M * ld, no = (size_t)B * N * D;
    const size_t np = (size_t)B * H * N * M;
    float *q = bc_rand(X, nq, 1.0f), *kk = self ? q : bc_rand(X, nk, 1.0f), *v = self ? q : bc_rand(X, nk, 1.0f);
    float *dout = bc_rand(X, no, 1.0f), *dq0 = bc_rand(X, nq, 1.0f), *dk0 = bc_rand(X, nk, 1.0f);
    float *dv0 = bc_rand(X, nk, 1.0f);
    float *o[2], *pr[2], *dq[2], *dk[2], *dv[2];
    FOR_BE {
        float *Q = bc_dev(X, k, q, nq), *K = self ? Q + D : bc_dev(X, k, kk, nk);
        float *V = self ? Q + 2 * D : bc_dev(X, k, v, nk);
        float *O = bc_junk(X, k, no), *P = bc_junk(X, k, np), *S = bc_junk(X, k, np);
        BE->attention_forward(BE, O, P, Q, ld, K, ld, V, ld, B, N, M, H, dh);
        o[k] = bc_get(X, k, O, no);
        pr[k] = bc_get(X, k, P, np);
        float *gO = bc_dev(X, k, dout, no), *gQ = bc_dev(X, k, dq0, nq);
        float *gK = self ? gQ + D : bc_dev(X, k, dk0, nk), *gV = self ? gQ + 2 * D : bc_dev(X, k, dv0, nk);
        BE->attention_backward(BE, flags & BC_NO_DQ ? NULL : gQ, flags & BC_NO_DK ? NULL : gK,
                               flags & BC_NO_DV ? NULL : gV, S, gO, P, Q, ld, K, ld, V, ld, B, N, M, H, dh);
        dq[k] = bc_get(X, k, gQ, nq);
        dk[k] = self ? dq[k] : bc_get(X, k, gK, nk);
        dv[k] = self ? dq[k] : bc_get(X, k, gV, nk);
    }
    char v_[128], w[192], nl[64];
    snprintf(v_, sizeof v_, "attention (%s, B %d N %d M %d H %d dh %d)%s", self ? "self, fused qkv" : "cross", B, N, M,
             H, dh, bc_nulls(nl, sizeof nl, flags));
    snprintf(w, sizeof w, "%s forward out", v_);
    bc_cmp(X, w, o[0], o[1], no, X->tol_gemm);
    snprintf(w, sizeof w, "%s forward probs", v_);
    bc_cmp(X, w, pr[0], pr[1], np, X->tol_gemm);
    snprintf(w, sizeof w, "%s backward dq%s", v_, self ? " (dk, dv in the same buffer)" : "");
    bc_cmp(X, w, dq[0], dq[1], nq, X->tol_gemm);
    if (!self) {
        snprintf(w, sizeof w, "%s backward dk, dv", v_);
        bc_cmp(X, w, dk[0], dk[1], nk, X->tol_gemm);
        bc_cmp(X, w, dv[0], dv[1], nk, X->tol_gemm);
    }
    bc_done(X);
}

/* zero_row: the second row of the cosine inputs a all zeros (|a| below the 1e-8 floor) */
static void bc_losses(bcheck *X, int zero_row)
{
    const size_t n = 70001;
    const int B = 3, S = 24;
    float *a = bc_rand(X, n, 1.0f), *b = bc_rand(X, n, 1.0f), *pv = bc_rand(X, n, 1.0f), *g0 = bc_rand(X, n, 1.0f);
    float *sa = bc_rand(X, (size_t)B * S, 1.0f), *st = bc_rand(X, (size_t)B * S, 1.0f);
    float *sg0 = bc_rand(X, (size_t)B * S, 1.0f);
    if (zero_row)
        memset(sa + S, 0, sizeof(float) * S);
    double mse[2], mot[2], cosl[2];
    float *dmse[2], *dmot[2], *dcos[2], *dist[2];
    FOR_BE {
        float *A = bc_dev(X, k, a, n), *Bv = bc_dev(X, k, b, n), *P = bc_dev(X, k, pv, n), *G = bc_dev(X, k, g0, n);
        float *G2 = bc_dev(X, k, g0, n);
        mse[k] = BE->mse_forward(BE, A, Bv, n);
        BE->mse_backward(BE, G, A, Bv, n, 0.7f);
        mot[k] = BE->motion_loss_forward(BE, A, Bv, P, n);
        BE->motion_loss_backward(BE, G2, A, Bv, P, n, 1.3f);
        dmse[k] = bc_get(X, k, G, n);
        dmot[k] = bc_get(X, k, G2, n);
        float *SA = bc_dev(X, k, sa, (size_t)B * S), *ST = bc_dev(X, k, st, (size_t)B * S);
        float *SG = bc_dev(X, k, sg0, (size_t)B * S), *DI = bc_junk(X, k, B);
        cosl[k] = BE->cosine_loss_forward(BE, SA, ST, B, S);
        BE->cosine_loss_backward(BE, SG, SA, ST, B, S, 0.9f);
        BE->cosine_distance(BE, DI, SA, ST, B, S);
        dcos[k] = bc_get(X, k, SG, (size_t)B * S);
        dist[k] = bc_get(X, k, DI, B);
    }
    const char *zr = zero_row ? " (a zero row)" : "";
    char w[96];
    bc_cmp1(X, "mse forward", mse[0], mse[1], X->tol_gemm);
    bc_cmp(X, "mse backward", dmse[0], dmse[1], n, X->tol_elem);
    bc_cmp1(X, "motion loss forward", mot[0], mot[1], X->tol_gemm);
    bc_cmp(X, "motion loss backward", dmot[0], dmot[1], n, X->tol_elem);
    snprintf(w, sizeof w, "cosine loss forward%s", zr);
    bc_cmp1(X, w, cosl[0], cosl[1], X->tol_gemm);
    snprintf(w, sizeof w, "cosine loss backward%s", zr);
    bc_cmp(X, w, dcos[0], dcos[1], (size_t)B * S, X->tol_gemm);
    snprintf(w, sizeof w, "cosine distance%s", zr);
    bc_cmp(X, w, dist[0], dist[1], B, X->tol_gemm);
    bc_done(X);
}

static void bc_adam(bcheck *X, size_t n)
{
    float *p = bc_rand(X, n, 1.0f), *g = bc_rand(X, n, 0.1f), *m = bc_rand(X, n, 0.01f), *v = bc_rand(X, n, 0.001f);
    for (size_t i = 0; i < n; i++)
        v[i] = v[i] * v[i];
    float *rp[2], *rm[2], *rv[2];
    FOR_BE {
        float *P = bc_dev(X, k, p, n), *G = bc_dev(X, k, g, n), *Mm = bc_dev(X, k, m, n), *V = bc_dev(X, k, v, n);
        for (int t = 3; t <= 5; t++)
            BE->adam_update(BE, P, G, Mm, V, n, 2e-4f, 0.9f, 0.999f, 1e-8f, 1e-5f, t);
        rp[k] = bc_get(X, k, P, n);
        rm[k] = bc_get(X, k, Mm, n);
        rv[k] = bc_get(X, k, V, n);
    }
    bc_cmp(X, "adam_update parameters (3 steps)", rp[0], rp[1], n, X->tol_elem);
    bc_cmp(X, "adam_update first moments", rm[0], rm[1], n, X->tol_elem);
    bc_cmp(X, "adam_update second moments", rv[0], rv[1], n, X->tol_elem);
    bc_done(X);
}

static void bc_layout(bcheck *X)
{
    const int B = 2, T = 4, N = 5, C = 6, Ca = 7, Cb = 3, R = 11;
    const size_t n = (size_t)B * T * N * C, nc = (size_t)R * (Ca + Cb);
    float *in = bc_rand(X, n, 1.0f), *din0 = bc_rand(X, n, 1.0f), *dout = bc_rand(X, n, 1.0f);
    float *a = bc_rand(X, (size_t)R * Ca, 1.0f), *b = bc_rand(X, (size_t)R * Cb, 1.0f);
    float *cdo = bc_rand(X, nc, 1.0f), *da0 = bc_rand(X, (size_t)R * Ca, 1.0f), *db0 = bc_rand(X, (size_t)R * Cb, 1.0f);
    float *il[2], *ilb[2], *ga[2], *cat[2], *cda[2], *cdb[2], *cdb2[2];
    FOR_BE {
        float *I = bc_dev(X, k, in, n), *O = bc_junk(X, k, n), *O2 = bc_junk(X, k, n);
        float *gI = bc_dev(X, k, din0, n), *gO = bc_dev(X, k, dout, n);
        BE->interleave_frames(BE, O, I, B, T, N, C);
        BE->interleave_frames_backward(BE, gI, gO, B, T, N, C);
        BE->gather_frames(BE, O2, I, B, T, N, C, 2);
        il[k] = bc_get(X, k, O, n);
        ilb[k] = bc_get(X, k, gI, n);
        ga[k] = bc_get(X, k, O2, n);
        float *A = bc_dev(X, k, a, (size_t)R * Ca), *Bb = bc_dev(X, k, b, (size_t)R * Cb), *Cc = bc_junk(X, k, nc);
        float *gC = bc_dev(X, k, cdo, nc), *gA = bc_dev(X, k, da0, (size_t)R * Ca);
        float *gB = bc_dev(X, k, db0, (size_t)R * Cb), *gB2 = bc_dev(X, k, db0, (size_t)R * Cb);
        BE->concat_channels(BE, Cc, A, Ca, Bb, Cb, R);
        BE->concat_channels_backward(BE, gA, gB, gC, Ca, Cb, R);
        BE->concat_channels_backward(BE, NULL, gB2, gC, Ca, Cb, R);
        cat[k] = bc_get(X, k, Cc, nc);
        cda[k] = bc_get(X, k, gA, (size_t)R * Ca);
        cdb[k] = bc_get(X, k, gB, (size_t)R * Cb);
        cdb2[k] = bc_get(X, k, gB2, (size_t)R * Cb);
    }
    bc_cmp(X, "interleave_frames", il[0], il[1], n, X->tol_elem);
    bc_cmp(X, "interleave_frames backward", ilb[0], ilb[1], n, X->tol_elem);
    bc_cmp(X, "gather_frames (first 2)", ga[0], ga[1], n, X->tol_elem);
    bc_cmp(X, "concat_channels", cat[0], cat[1], nc, X->tol_elem);
    bc_cmp(X, "concat_channels backward da, db", cda[0], cda[1], (size_t)R * Ca, X->tol_elem);
    bc_cmp(X, "concat_channels backward da, db", cdb[0], cdb[1], (size_t)R * Cb, X->tol_elem);
    bc_cmp(X, "concat_channels backward (da NULL)", cdb2[0], cdb2[1], (size_t)R * Cb, X->tol_elem);
    bc_done(X);
}

/* sub, axpy, dot and the elementwise helpers; n above the parallel threshold when big */
static void bc_elementwise(bcheck *X, size_t n)
{
    float *a = bc_rand(X, n, 1.0f), *b = bc_rand(X, n, 1.0f), *c = bc_rand(X, n, 1.0f);
    float *rs[2], *ry[2], *rad[2], *ral[2], *rsc[2];
    double dot[2];
    FOR_BE {
        float *A = bc_dev(X, k, a, n), *Bv = bc_dev(X, k, b, n), *Cv = bc_dev(X, k, c, n), *O = bc_junk(X, k, n);
        float *O2 = bc_junk(X, k, n);
        float *Y = bc_dev(X, k, c, n), *Al = bc_dev(X, k, a, n), *Sc = bc_dev(X, k, b, n);
        BE->sub(BE, O, A, Bv, n);
        rs[k] = bc_get(X, k, O, n);
        BE->axpy(BE, Y, A, -0.37f, n);
        ry[k] = bc_get(X, k, Y, n);
        dot[k] = BE->dot(BE, A, Bv, n);
        BE->add(BE, O2, A, Cv, n);
        rad[k] = bc_get(X, k, O2, n);
        BE->add(BE, Al, Al, Bv, n);   /* out aliases a */
        BE->add(BE, Al, Cv, Al, n);   /* out aliases b */
        ral[k] = bc_get(X, k, Al, n);
        BE->scale(BE, Sc, 1.7f, n);
        rsc[k] = bc_get(X, k, Sc, n);
    }
    char w[96];
    snprintf(w, sizeof w, "sub (n %zu)", n);
    bc_cmp(X, w, rs[0], rs[1], n, X->tol_elem);
    snprintf(w, sizeof w, "axpy (n %zu)", n);
    bc_cmp(X, w, ry[0], ry[1], n, X->tol_elem);
    snprintf(w, sizeof w, "dot (n %zu)", n);
    bc_cmp1(X, w, dot[0], dot[1], X->tol_gemm);
    snprintf(w, sizeof w, "add (n %zu)", n);
    bc_cmp(X, w, rad[0], rad[1], n, X->tol_elem);
    snprintf(w, sizeof w, "add in place (out = a, out = b; n %zu)", n);
    bc_cmp(X, w, ral[0], ral[1], n, X->tol_elem);
    snprintf(w, sizeof w, "scale (n %zu)", n);
    bc_cmp(X, w, rsc[0], rsc[1], n, X->tol_elem);
    bc_done(X);
}

static void bc_rowvec(bcheck *X, int R, int C)
{
    const size_t n = (size_t)R * C;
    float *x = bc_rand(X, n, 1.0f), *v = bc_rand(X, C, 1.0f), *dout = bc_rand(X, n, 1.0f);
    float *din0 = bc_rand(X, n, 1.0f), *dv0 = bc_rand(X, C, 1.0f);
    float *ar[2], *mr[2], *din[2], *dv[2], *din2[2], *dv2[2];
    FOR_BE {
        float *Xv = bc_dev(X, k, x, n), *V = bc_dev(X, k, v, C), *O = bc_junk(X, k, n), *In = bc_dev(X, k, x, n);
        BE->add_rowvec(BE, Xv, V, R, C);
        ar[k] = bc_get(X, k, Xv, n);
        BE->mul_rowvec(BE, O, In, V, R, C);
        mr[k] = bc_get(X, k, O, n);
        float *gO = bc_dev(X, k, dout, n), *gI = bc_dev(X, k, din0, n), *gV = bc_dev(X, k, dv0, C);
        float *gI2 = bc_dev(X, k, din0, n), *gV2 = bc_dev(X, k, dv0, C);
        BE->mul_rowvec_backward(BE, gI, gV, gO, In, V, R, C);
        BE->mul_rowvec_backward(BE, gI2, NULL, gO, In, V, R, C);
        BE->mul_rowvec_backward(BE, NULL, gV2, gO, In, V, R, C);
        din[k] = bc_get(X, k, gI, n);
        dv[k] = bc_get(X, k, gV, C);
        din2[k] = bc_get(X, k, gI2, n);
        dv2[k] = bc_get(X, k, gV2, C);
    }
    char w[96];
    snprintf(w, sizeof w, "add_rowvec (%dx%d)", R, C);
    bc_cmp(X, w, ar[0], ar[1], n, X->tol_elem);
    snprintf(w, sizeof w, "mul_rowvec (%dx%d)", R, C);
    bc_cmp(X, w, mr[0], mr[1], n, X->tol_elem);
    snprintf(w, sizeof w, "mul_rowvec backward din, dv (%dx%d)", R, C);
    bc_cmp(X, w, din[0], din[1], n, X->tol_elem);
    bc_cmp(X, w, dv[0], dv[1], C, X->tol_gemm);
    snprintf(w, sizeof w, "mul_rowvec backward din only, dv only (%dx%d)", R, C);
    bc_cmp(X, w, din2[0], din2[1], n, X->tol_elem);
    bc_cmp(X, w, dv2[0], dv2[1], C, X->tol_gemm);
    bc_done(X);
}

static void bc_visual_error(bcheck *X, int C, size_t HW)
{
    const int B = 3;
    const size_t n = (size_t)B * C * HW;
    float *pred = bc_rand(X, n, 1.0f), *target = bc_rand(X, n, 1.0f);
    float vis[2][3], vis2[2][3], *map[2], *map2[2];
    FOR_BE {
        float *P = bc_dev(X, k, pred, n), *T = bc_dev(X, k, target, n), *M = bc_junk(X, k, (size_t)B * HW);
        float *M2 = bc_junk(X, k, (size_t)B * HW);
        BE->visual_error(BE, vis[k], M, P, T, B, C, HW);
        BE->visual_error(BE, vis2[k], NULL, P, T, B, C, HW);
        BE->visual_error(BE, NULL, M2, P, T, B, C, HW);
        map[k] = bc_get(X, k, M, (size_t)B * HW);
        map2[k] = bc_get(X, k, M2, (size_t)B * HW);
    }
    char w[96];
    snprintf(w, sizeof w, "visual_error (C %d, HW %zu) visual", C, HW);
    bc_cmp(X, w, vis[0], vis[1], B, X->tol_gemm);
    snprintf(w, sizeof w, "visual_error (C %d, HW %zu) visual without map", C, HW);
    bc_cmp(X, w, vis2[0], vis2[1], B, X->tol_gemm);
    snprintf(w, sizeof w, "visual_error (C %d, HW %zu) error map", C, HW);
    bc_cmp(X, w, map[0], map[1], (size_t)B * HW, X->tol_elem);
    snprintf(w, sizeof w, "visual_error (C %d, HW %zu) error map without visual", C, HW);
    bc_cmp(X, w, map2[0], map2[1], (size_t)B * HW, X->tol_elem);
    bc_done(X);
}

/* SFFM variants */
#define BC_SFFM_TIES 1  /* gate weights all zero: uniform scores, every pick an exact tie */
#define BC_SFFM_NO_DX 2 /* backward with dx NULL */

/* the SFFM op: forward (out, router, routing, grouping, gate weights, loads,
 * balance) and backward. Every cache and scratch array starts as junk: the
 * op's contract is to write each before reading it. */
static void bc_sffm(bcheck *X, sibvad_sffm_dims d, int flags)
{
    enum { MAXF = 16 };
    const int Nr = d.Nr, D = d.D, K = d.K, bn = d.b, Ns = d.Ns;
    if (Nr + 1 > MAXF) {
        fprintf(stderr, "backend check: sffm: at most %d filters\n", MAXF - 1);
        exit(2);
    }
    const size_t T = (size_t)d.B * d.Ts, bs = (size_t)bn * Ns, bsz = bs ? bs : 1;
    float *x = bc_rand(X, T * D, 1.0f), *gate = bc_rand(X, (size_t)Nr * D, 0.6f), *dout = bc_rand(X, T * D, 1.0f);
    float *dx0 = bc_rand(X, T * D, 1.0f), *ggate0 = bc_rand(X, (size_t)Nr * D, 1.0f);
    if (flags & BC_SFFM_TIES)
        memset(gate, 0, sizeof(float) * Nr * D);
    float *hw[6][MAXF], *hg[6][MAXF]; /* host weights and gradient starts, per array and filter */
    size_t sz[MAXF][6];
    for (int i = 0; i <= Nr; i++) {
        const int bw = i == Nr ? bn * Ns : bn;
        const size_t s6[6] = {D, D, (size_t)bw * D, bw, (size_t)D * bw, D};
        const float sc[6] = {0.3f, 0.3f, 0.25f, 0.3f, 0.5f, 0.3f};
        for (int a = 0; a < 6; a++) {
            sz[i][a] = s6[a];
            hw[a][i] = (i == Nr && Ns == 0) ? NULL : bc_rand(X, s6[a], sc[a]);
            hg[a][i] = (i == Nr && Ns == 0) ? NULL : bc_rand(X, s6[a], 1.0f);
            if (a == 0 && hw[a][i])
                for (size_t j = 0; j < s6[a]; j++)
                    hw[a][i][j] += 1.0f; /* LayerNorm scale around 1 */
        }
    }
    float *out[2], *s[2], *gw[2], *f[2], *dx[2], *dgate[2], *dw[2][6][MAXF];
    int *topk[2], *order[2], *offsets[2];
    float bal[2];
    FOR_BE {
        float *wa[6][MAXF], *ga[6][MAXF];
        for (int a = 0; a < 6; a++)
            for (int i = 0; i <= Nr; i++) {
                wa[a][i] = hw[a][i] ? bc_dev(X, k, hw[a][i], sz[i][a]) : NULL;
                ga[a][i] = hg[a][i] ? bc_dev(X, k, hg[a][i], sz[i][a]) : NULL;
            }
        sibvad_sffm_weights w = {bc_dev(X, k, gate, (size_t)Nr * D), wa[0], wa[1], wa[2], wa[3], wa[4], wa[5]};
        sibvad_sffm_weights g = {bc_dev(X, k, ggate0, (size_t)Nr * D), ga[0], ga[1], ga[2], ga[3], ga[4], ga[5]};
        sibvad_sffm_cache c = {0};
        c.xhat = bc_junk(X, k, T * D);
        c.mean = bc_junk(X, k, T);
        c.rstd = bc_junk(X, k, T);
        c.s = bc_junk(X, k, T * Nr);
        c.topk = bc_junkb(X, k, sizeof(int) * T * K);
        c.gw = bc_junk(X, k, T * K);
        c.order = bc_junkb(X, k, sizeof(int) * T * K);
        c.offsets = bc_junkb(X, k, sizeof(int) * (Nr + 1));
        c.h = bc_junk(X, k, T * K * bn);
        c.a = bc_junk(X, k, T * K * bn);
        c.hs = bc_junk(X, k, T * bsz);
        c.as = bc_junk(X, k, T * bsz);
        c.f = bc_junk(X, k, (size_t)d.B * Nr);
        c.slot = bc_junk(X, k, T * K * D);
        c.lns = bc_junk(X, k, T * D);
        sibvad_sffm_scratch sc = {bc_junk(X, k, T * D), bc_junk(X, k, T * K), bc_junk(X, k, T * Nr),
                                  bc_junk(X, k, T * bsz), bc_junk(X, k, T * bsz), bc_junk(X, k, T * D)};
        float *Xd = bc_dev(X, k, x, T * D), *O = bc_junk(X, k, T * D), *gO = bc_dev(X, k, dout, T * D);
        float *gX = bc_dev(X, k, dx0, T * D);
        BE->sffm_forward(BE, O, &c, Xd, &w, &d);
        bal[k] = c.balance;
        out[k] = bc_get(X, k, O, T * D);
        s[k] = bc_get(X, k, c.s, T * Nr);
        gw[k] = bc_get(X, k, c.gw, T * K);
        f[k] = bc_get(X, k, c.f, (size_t)d.B * Nr);
        topk[k] = bc_geti(X, k, c.topk, T * K);
        order[k] = bc_geti(X, k, c.order, T * K);
        offsets[k] = bc_geti(X, k, c.offsets, (size_t)Nr + 1);
        BE->sffm_backward(BE, flags & BC_SFFM_NO_DX ? NULL : gX, &g, &sc, gO, 0.8f, &c, Xd, &w, &d);
        dx[k] = bc_get(X, k, gX, T * D);
        dgate[k] = bc_get(X, k, g.gate, (size_t)Nr * D);
        for (int a = 0; a < 6; a++)
            for (int i = 0; i <= Nr; i++)
                dw[k][a][i] = ga[a][i] ? bc_get(X, k, ga[a][i], sz[i][a]) : NULL;
    }
    char v[160], w[224];
    snprintf(v, sizeof v, "sffm (B %d Ts %d D %d Nr %d K %d b %d Ns %d%s%s)", d.B, d.Ts, D, Nr, K, bn, Ns,
             flags & BC_SFFM_TIES ? ", exact ties" : "", flags & BC_SFFM_NO_DX ? ", dx NULL" : "");
    snprintf(w, sizeof w, "%s forward out", v);
    bc_cmp(X, w, out[0], out[1], T * D, X->tol_gemm);
    snprintf(w, sizeof w, "%s forward router probabilities", v);
    bc_cmp(X, w, s[0], s[1], T * Nr, X->tol_router);
    snprintf(w, sizeof w, "%s forward top-K filters", v);
    bc_cmpi(X, w, topk[0], topk[1], T * K);
    snprintf(w, sizeof w, "%s forward slots grouped by filter (order, offsets)", v);
    bc_cmpi(X, w, order[0], order[1], T * K);
    bc_cmpi(X, w, offsets[0], offsets[1], (size_t)Nr + 1);
    if (flags & BC_SFFM_TIES)
        FOR_BE {
            size_t i = 0;
            while (i < T * K && topk[k][i] == (int)(i % K))
                i++;
            snprintf(w, sizeof w, "%s: ties go to the lowest index (top-K 0..K-1) on %s", v, BE->name);
            bc_report(X, i == T * K, w, i == T * K ? "" : "not at the first difference");
        }
    snprintf(w, sizeof w, "%s forward gate weights", v);
    bc_cmp(X, w, gw[0], gw[1], T * K, X->tol_gemm);
    snprintf(w, sizeof w, "%s forward load factors", v);
    bc_cmp(X, w, f[0], f[1], (size_t)d.B * Nr, X->tol_elem);
    snprintf(w, sizeof w, "%s forward balance loss", v);
    bc_cmp1(X, w, bal[0], bal[1], X->tol_gemm);
    snprintf(w, sizeof w, "%s backward dx%s", v, flags & BC_SFFM_NO_DX ? " (NULL: untouched)" : "");
    bc_cmp(X, w, dx[0], dx[1], T * D, X->tol_gemm);
    snprintf(w, sizeof w, "%s backward gate gradient", v);
    bc_cmp(X, w, dgate[0], dgate[1], (size_t)Nr * D, X->tol_gemm);
    static const char *an[6] = {"pre_norm.weight", "pre_norm.bias", "down.weight", "down.bias", "up.weight", "up.bias"};
    for (int a = 0; a < 6; a++) {
        /* every filter's gradient of this array, as one comparison */
        size_t tot = 0;
        for (int i = 0; i <= Nr; i++)
            tot += dw[0][a][i] ? sz[i][a] : 0;
        float *r0 = bc_h(X, tot), *r1 = bc_h(X, tot);
        size_t o = 0;
        for (int i = 0; i <= Nr; i++)
            if (dw[0][a][i]) {
                memcpy(r0 + o, dw[0][a][i], sizeof(float) * sz[i][a]);
                memcpy(r1 + o, dw[1][a][i], sizeof(float) * sz[i][a]);
                o += sz[i][a];
            }
        snprintf(w, sizeof w, "%s backward filters' %s gradients", v, an[a]);
        bc_cmp(X, w, r0, r1, tot, X->tol_gemm);
    }
    bc_done(X);
}

/* The SFFM cases; returns the number of failed comparisons so far. */
static int bc_run_sffm(bcheck *X)
{
    const sibvad_sffm_dims small = {.B = 2, .Ts = 9, .D = 16, .Nr = 7, .K = 2, .Ns = 1, .b = 4, .scale = 2.0f,
                                    .alpha = 0.5f};
    const sibvad_sffm_dims large = {.B = 3, .Ts = 50, .D = 40, .Nr = 9, .K = 3, .Ns = 2, .b = 5, .scale = 2.0f,
                                    .alpha = 0.5f};
    sibvad_sffm_dims no_shared = small;
    no_shared.Ns = 0;
    bc_sffm(X, small, 0);
    bc_sffm(X, no_shared, 0);
    bc_sffm(X, large, BC_SFFM_NO_DX);
    bc_sffm(X, small, BC_SFFM_TIES);
    return X->fails;
}

/* The convolution cases (test_backend_cuda.c runs them again on the direct kernels). */
static int bc_run_conv(bcheck *X)
{
    bc_conv2d(X, 3, 3, 3, 0);
    bc_conv2d(X, 3, 3, 1, 0);
    bc_conv2d(X, 2, 4, 3, 0);
    bc_conv2d(X, 1, 1, 3, 0);
    bc_conv2d(X, 3, 2, 3, BC_NO_DIN);
    bc_conv2d(X, 3, 2, 3, BC_NO_DW);
    return X->fails;
}

/* Every op; returns the number of failed comparisons. */
static int bc_run_all(bcheck *X)
{
    bc_memory(X);
    bc_linear(X, 37, 29, 23, 0);
    bc_linear(X, 37, 29, 23, BC_NO_BIAS | BC_NO_DIN);
    bc_linear(X, 37, 29, 23, BC_NO_DW);
    bc_linear(X, 300, 64, 96, 0);
    bc_linear(X, 1300, 40, 50, 0); /* db over several row chunks */
    bc_layernorm(X, 33, 48, 1e-5f, 0);
    bc_layernorm(X, 7, 1024, 1e-6f, 0);
    bc_layernorm(X, 1500, 40, 1e-5f, 0); /* dw, db over several row chunks */
    bc_layernorm(X, 33, 48, 1e-5f, BC_NO_DW | BC_NO_DB);
    bc_layernorm(X, 33, 48, 1e-5f, BC_NO_DIN);
    for (int kind = 0; kind < 3; kind++) {
        bc_activation(X, kind, 1000);
        bc_activation(X, kind, 70001);
    }
    bc_patch_embed(X, 3, 3, 16, 24, 8, 20, 1);
    bc_patch_embed(X, 3, 3, 16, 24, 8, 20, 0);
    bc_patch_embed(X, 5, 3, 64, 48, 4, 20, 1); /* db, dcls, dpos over several row chunks */
    bc_run_conv(X);
    bc_unpatchify(X);
    /* batch over B (B >= H) and over H (H > B) */
    bc_attention(X, 1, 2, 9, 2, 8, 0);
    bc_attention(X, 0, 2, 9, 2, 8, 0);
    bc_attention(X, 1, 2, 9, 3, 8, 0);
    bc_attention(X, 0, 2, 9, 3, 8, 0);
    bc_attention(X, 1, 1, 9, 2, 8, 0);
    bc_attention(X, 0, 1, 9, 2, 8, 0);
    bc_attention(X, 1, 2, 40, 2, 8, 0); /* rows longer than a warp */
    bc_attention(X, 0, 2, 40, 2, 8, 0);
    bc_attention(X, 0, 2, 9, 2, 8, BC_NO_DQ);
    bc_attention(X, 0, 2, 9, 2, 8, BC_NO_DV);
    bc_losses(X, 0);
    bc_losses(X, 1);
    bc_adam(X, 5000);
    bc_adam(X, 70001);
    bc_layout(X);
    bc_elementwise(X, 1000);
    bc_elementwise(X, 100003);
    bc_elementwise(X, (size_t)1 << 20); /* dot over 2^20 values */
    bc_rowvec(X, 13, 37);
    bc_rowvec(X, 600, 130);
    bc_visual_error(X, 3, 24 * 32);
    bc_visual_error(X, 1, 24 * 32);
    bc_visual_error(X, 3, 128 * 160);
    bc_run_sffm(X);
    return X->fails;
}

#undef FOR_BE
#undef BE
#endif
