/* test_gradcheck.c: finite-difference gradient checks of every layer of
 * ops.h / blocks.h and of the whole model.
 *
 * For each layer: random inputs and weights (fixed seed), a random weighting r
 * of the outputs and L = sum(r * out) (plus, for the SFFM, its balance loss).
 * Analytic gradients come from the backward pass with dout = r, run twice into
 * zeroed buffers and halved (so a backward that overwrites instead of adding
 * fails). Numeric gradients are central differences (L(x+h) - L(x-h)) / 2h,
 * computed in double from float forward passes, for every input and parameter
 * tensor: all elements when small, else a fixed random sample. A tensor passes
 * when every checked element has |a - n| <= floor + atol * max|g| + rtol *
 * max(|a|, |n|) (max|g|: the largest gradient of the tensor) AND the check is
 * sensitive: the analytic gradient scaled by 1.1 would have failed.
 * Top-K routing (SFFM, whole model) is piecewise constant: when a perturbation
 * changes any token's set of routed filters, the element is retried with a
 * 10x smaller h and, if it still flips, skipped and counted.
 * The whole model (tiny preset, B = 2; again with pred_residual, whose
 * prediction must also equal the plain head's plus the last input frame) is
 * checked on the total loss, recomputed
 * in double from the activations (and compared with losses.total), on three
 * elements of each of ~50 tensors; its floor is the measured rounding noise of
 * the loss, and the error that crossed LeakyReLU / motion-hinge kinks can
 * explain (bounded from the backward pass) is added to the tolerance.
 * Also: unpatchify against its layout and its adjoint, the sin-cos embedding
 * against its closed formula, the losses, and Adam against a double-precision
 * re-implementation of torch.optim.Adam. Ends with "N passed, M failed";
 * exit status 1 on any failure. */
#include "model-internal.h"
#include "ops/blocks.h"
#include "rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int n_pass, n_fail;
static sibvad_rng rng;

static void report(int ok, const char *fmt, ...)
{
    va_list ap;
    if (ok)
        n_pass++;
    else
        n_fail++;
    printf("%-4s ", ok ? "ok" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---------------- memory: everything of one check, freed together ---------------- */

static void *allocs[1024];
static int nallocs;

static void *tcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p || nallocs == (int)(sizeof allocs / sizeof *allocs)) {
        fprintf(stderr, "test_gradcheck: out of memory\n");
        exit(2);
    }
    allocs[nallocs++] = p;
    return p;
}

static float *fbuf(size_t n) { return tcalloc(n, sizeof(float)); }
static int *ibuf(size_t n) { return tcalloc(n, sizeof(int)); }

static void free_all(void)
{
    while (nallocs > 0)
        free(allocs[--nallocs]);
}

static float *frand(size_t n, float mean, float std)
{
    float *x = fbuf(n);
    for (size_t i = 0; i < n; i++)
        x[i] = mean + std * sibvad_rng_normal(&rng);
    return x;
}

static double wsum(const float *r, const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i] * x[i];
    return s;
}

static size_t rand_index(size_t n)
{
    return (size_t)(sibvad_rng_next(&rng) % n);
}

/* ---------------- the finite-difference checker ---------------- */

typedef struct fd_tol {
    double h;       /* step */
    double rtol;    /* relative to max(|a|, |n|) */
    double atol;    /* times the tensor's largest |gradient| */
    double floor;   /* absolute (rounding of the loss) */
} fd_tol;

typedef struct fd_problem {
    double (*loss)(void *ctx);      /* runs the forward pass, returns L */
    /* optional, called after each perturbed forward pass: */
    int (*flipped)(void *ctx);      /* 1 when the routing differs from the base point's */
    double (*kink)(void *ctx);      /* bound on |L - L_smooth|, L_smooth continuing every
                                     * piecewise-linear kink from the base point's side */
    void *ctx;
    int skipped, retried;           /* routing-boundary counts, over all tensors */
} fd_problem;

enum { ALL_MAX = 256, NSAMPLE = 24, MAX_CHECK = 256 };

/* (L(x+h) - L(x-h)) / 2h with the step actually taken in float; *slack: the
 * error that crossed kinks can explain */
static double central(fd_problem *P, float *x, size_t i, double h, int *flip, double *slack)
{
    const float x0 = x[i];
    x[i] = (float)(x0 + h);
    const double hp = (double)x[i] - x0;
    const double lp = P->loss(P->ctx);
    int f = P->flipped ? P->flipped(P->ctx) : 0;
    double k = P->kink ? P->kink(P->ctx) : 0.0;
    x[i] = (float)(x0 - h);
    const double hm = (double)x0 - x[i];
    const double lm = P->loss(P->ctx);
    f |= P->flipped ? P->flipped(P->ctx) : 0;
    k += P->kink ? P->kink(P->ctx) : 0.0;
    x[i] = x0;
    *flip = f;
    *slack = k / (hp + hm);
    return (lp - lm) / (hp + hm);
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Which elements to check: all when nsample == 0 and n <= ALL_MAX; else
 * nsample distinct random ones, of which (biased) two thirds among the
 * largest tenth of |g| (so small samples still see a real gradient). */
static int pick(size_t *idx, size_t n, int nsample, int biased, const float *g)
{
    if (nsample == 0 && n <= ALL_MAX) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return (int)n;
    }
    if (nsample == 0)
        nsample = NSAMPLE;
    if ((size_t)nsample >= n) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return (int)n;
    }
    float thr = 0.0f;
    if (biased) {
        float *s = malloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++)
            s[i] = fabsf(g[i]);
        qsort(s, n, sizeof(float), cmp_desc);
        size_t top = n / 10 > (size_t)nsample ? n / 10 : (size_t)nsample; /* < n here */
        thr = s[top - 1];
        free(s);
    }
    int m = 0;
    while (m < nsample) {
        size_t i = rand_index(n);
        int dup = 0;
        for (int k = 0; k < m; k++)
            dup |= idx[k] == i;
        if (dup)
            continue;
        if (biased && m < (2 * nsample) / 3 && !(fabsf(g[i]) >= thr))
            continue;
        idx[m++] = i;
    }
    return m;
}

static void check_tensor(const char *layer, const char *name, fd_problem *P, float *x,
                         const float *g, size_t n, int nsample, int biased, const fd_tol *t)
{
    size_t idx[MAX_CHECK];
    double num[MAX_CHECK], slack[MAX_CHECK];
    int valid[MAX_CHECK];
    const int m = pick(idx, n, nsample, biased, g);
    int skipped = 0, retried = 0, nvalid = 0;
    double gmax = 0.0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        nonfinite += !isfinite(g[i]);
        gmax = fmax(gmax, fabs(g[i]));
    }
    for (int k = 0; k < m; k++) {
        int flip;
        num[k] = central(P, x, idx[k], t->h, &flip, &slack[k]);
        valid[k] = 1;
        if (flip) {
            retried++;
            num[k] = central(P, x, idx[k], t->h / 10.0, &flip, &slack[k]);
            if (flip) {
                skipped++;
                valid[k] = 0;
            }
        }
        nvalid += valid[k];
    }
    P->skipped += skipped;
    P->retried += retried;
    double scale = gmax, maxerr = 0.0, worst = 0.0;
    for (int k = 0; k < m; k++)
        if (valid[k])
            scale = fmax(scale, fabs(num[k]));
    int sensitive = 0;
    for (int k = 0; k < m; k++) {
        if (!valid[k])
            continue;
        const double a = g[idx[k]], nn = num[k];
        const double err = fabs(a - nn);
        const double allowed = t->floor + slack[k] + t->atol * scale + t->rtol * fmax(fabs(a), fabs(nn));
        const double ratio = err / allowed;
        if (!(err <= maxerr))
            maxerr = isnan(err) ? INFINITY : err;
        if (!(ratio <= worst))
            worst = isnan(ratio) ? INFINITY : ratio;
        /* would a 10% wrong gradient have been caught? */
        const double a2 = 1.1 * a;
        if (fabs(a2 - nn) >
            t->floor + slack[k] + t->atol * fmax(scale, fabs(a2)) + t->rtol * fmax(fabs(a2), fabs(nn)))
            sensitive = 1;
    }
    const int ok = nvalid > 0 && worst <= 1.0 && sensitive && !nonfinite;
    char extra[160] = "";
    if (retried)
        snprintf(extra, sizeof extra, "  (retried %d with h/10, skipped %d: routing boundary)", retried,
                 skipped);
    if (!sensitive && nvalid > 0)
        strncat(extra, "  INSENSITIVE: a 10% error would pass", sizeof extra - strlen(extra) - 1);
    if (nonfinite)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "  %zu non-finite gradients", nonfinite);
    if (nvalid == 0)
        strncat(extra, "  no element could be checked", sizeof extra - strlen(extra) - 1);
    report(ok, "%-14s %-44s %3d/%-5zu max|a-n| %.2e  max|g| %.2e  worst %.3f of tol%s", layer, name, m,
           n, maxerr, gmax, worst, extra);
    if (!ok) /* the failing elements */
        for (int k = 0, shown = 0; k < m && shown < 6; k++) {
            if (!valid[k])
                continue;
            const double a = g[idx[k]], nn = num[k];
            const double allowed = t->floor + slack[k] + t->atol * scale + t->rtol * fmax(fabs(a), fabs(nn));
            if (!(fabs(a - nn) <= allowed)) {
                printf("       [%zu] analytic %.6e numeric %.6e (allowed diff %.1e, of it kinks %.1e)\n",
                       idx[k], a, nn, allowed, slack[k]);
                shown++;
            }
        }
}

/* A set of tensors of one layer: values and their analytic gradients. */
typedef struct tref {
    char name[48];
    float *x, *g;
    size_t n;
} tref;

typedef struct tset {
    int n;
    tref t[64];
} tset;

static float *tadd(tset *s, const char *name, float *x, size_t n, float **grad)
{
    if (s->n == (int)(sizeof s->t / sizeof *s->t)) {
        fprintf(stderr, "test_gradcheck: tset full\n");
        exit(2);
    }
    tref *r = &s->t[s->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->x = x;
    r->g = fbuf(n);
    r->n = n;
    if (grad)
        *grad = r->g;
    return x;
}

static float *tnew(tset *s, const char *name, size_t n, float mean, float std, float **grad)
{
    return tadd(s, name, frand(n, mean, std), n, grad);
}

/* Halve the gradients (backward ran twice) and check every tensor. */
static void tset_check(tset *s, const char *layer, fd_problem *P, const fd_tol *t)
{
    for (int i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->t[i].n; j++)
            s->t[i].g[j] *= 0.5f;
    }
    for (int i = 0; i < s->n; i++)
        check_tensor(layer, s->t[i].name, P, s->t[i].x, s->t[i].g, s->t[i].n, 0, 0, t);
}

static const fd_tol TOL_LINEAR = {1e-2, 2e-2, 1e-3, 1e-6};  /* exact in h: rounding only */
static const fd_tol TOL_SMOOTH = {3e-3, 2e-2, 1e-3, 1e-6};

/* ---------------- linear ---------------- */

typedef struct lin_ctx {
    float *out, *in, *W, *b, *r;
    int R, I, O;
} lin_ctx;

static double lin_loss(void *p)
{
    lin_ctx *c = p;
    sibvad_linear_forward(c->out, c->in, c->W, c->b, c->R, c->I, c->O);
    return wsum(c->r, c->out, (size_t)c->R * c->O);
}

static void check_linear(int bias)
{
    tset s = {0};
    lin_ctx c = {.R = 5, .I = 7, .O = 6};
    float *gin, *gW, *gb = NULL;
    c.in = tnew(&s, "in", (size_t)c.R * c.I, 0.0f, 1.0f, &gin);
    c.W = tnew(&s, "W", (size_t)c.O * c.I, 0.0f, 0.5f, &gW);
    c.b = bias ? tnew(&s, "b", c.O, 0.0f, 0.5f, &gb) : NULL;
    c.out = fbuf((size_t)c.R * c.O);
    c.r = frand((size_t)c.R * c.O, 0.0f, 1.0f);
    lin_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_linear_backward(gin, gW, gb, c.r, c.in, c.W, c.R, c.I, c.O);
    fd_problem P = {.loss = lin_loss, .ctx = &c};
    tset_check(&s, bias ? "linear+bias" : "linear", &P, &TOL_LINEAR);
    free_all();
}

/* ---------------- layernorm ---------------- */

typedef struct ln_ctx {
    float *out, *mean, *rstd, *in, *w, *b, *r;
    int R, C;
    float eps;
} ln_ctx;

static double ln_loss(void *p)
{
    ln_ctx *c = p;
    sibvad_layernorm_forward(c->out, c->mean, c->rstd, c->in, c->w, c->b, c->R, c->C, c->eps);
    return wsum(c->r, c->out, (size_t)c->R * c->C);
}

static void check_layernorm(void)
{
    tset s = {0};
    ln_ctx c = {.R = 6, .C = 12, .eps = 1e-5f};
    const size_t n = (size_t)c.R * c.C;
    float *gin, *gw, *gb;
    c.in = tnew(&s, "in", n, 0.5f, 1.5f, &gin);
    c.w = tnew(&s, "w", c.C, 1.0f, 0.3f, &gw);
    c.b = tnew(&s, "b", c.C, 0.0f, 0.3f, &gb);
    c.out = fbuf(n);
    c.mean = fbuf(c.R);
    c.rstd = fbuf(c.R);
    c.r = frand(n, 0.0f, 1.0f);
    ln_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_layernorm_backward(gin, gw, gb, c.r, c.in, c.w, c.mean, c.rstd, c.R, c.C);
    fd_problem P = {.loss = ln_loss, .ctx = &c};
    tset_check(&s, "layernorm", &P, &TOL_SMOOTH);

    /* NULL affine (and NULL statistics): the normalised input itself, equal to
     * w = 1, b = 0; each row has mean 0 and variance v / (v + eps) */
    float *ones = fbuf(c.C), *zero = fbuf(c.C), *o1 = fbuf(n), *o2 = fbuf(n);
    for (int i = 0; i < c.C; i++)
        ones[i] = 1.0f;
    sibvad_layernorm_forward(o1, NULL, NULL, c.in, NULL, NULL, c.R, c.C, c.eps);
    sibvad_layernorm_forward(o2, c.mean, c.rstd, c.in, ones, zero, c.R, c.C, c.eps);
    double d = 0.0, stat = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)o1[i] - o2[i]));
    for (int r = 0; r < c.R; r++) {
        const float *x = c.in + (size_t)r * c.C, *o = o1 + (size_t)r * c.C;
        double mu = 0.0, v = 0.0, om = 0.0, ov = 0.0;
        for (int j = 0; j < c.C; j++)
            mu += x[j];
        mu /= c.C;
        for (int j = 0; j < c.C; j++) {
            v += (x[j] - mu) * (x[j] - mu);
            om += o[j];
            ov += (double)o[j] * o[j];
        }
        v /= c.C;
        stat = fmax(stat, fabs(om / c.C));
        stat = fmax(stat, fabs(ov / c.C - v / (v + c.eps)));
        for (int j = 0; j < c.C; j++)
            stat = fmax(stat, fabs(o[j] - (x[j] - mu) / sqrt(v + c.eps)));
    }
    report(d <= 1e-6 && stat <= 1e-5, "layernorm      NULL-affine forward: vs w=1,b=0 %.1e, vs formula %.1e",
           d, stat);
    free_all();
}

/* ---------------- activations ---------------- */

enum { ACT_GELU, ACT_SILU, ACT_LEAKY };

typedef struct act_ctx {
    int kind;
    float slope;
    float *out, *in, *r;
    size_t n;
} act_ctx;

static double act_loss(void *p)
{
    act_ctx *c = p;
    if (c->kind == ACT_GELU)
        sibvad_gelu_forward(c->out, c->in, c->n);
    else if (c->kind == ACT_SILU)
        sibvad_silu_forward(c->out, c->in, c->n);
    else
        sibvad_leakyrelu_forward(c->out, c->in, c->n, c->slope);
    return wsum(c->r, c->out, c->n);
}

static void check_activation(int kind)
{
    static const char *names[] = {"gelu", "silu", "leakyrelu"};
    tset s = {0};
    act_ctx c = {.kind = kind, .slope = 0.1f, .n = 48};
    float *gin;
    c.in = tnew(&s, "in", c.n, 0.0f, 0.0f, &gin);
    for (size_t i = 0; i < c.n; i++) {
        float x = 8.0f * sibvad_rng_uniform(&rng) - 4.0f;
        if (kind == ACT_LEAKY && fabsf(x) < 0.1f) /* keep away from the kink */
            x = copysignf(0.1f + fabsf(x), x);
        c.in[i] = x;
    }
    c.out = fbuf(c.n);
    c.r = frand(c.n, 0.0f, 1.0f);
    act_loss(&c);
    for (int rep = 0; rep < 2; rep++) {
        if (kind == ACT_GELU)
            sibvad_gelu_backward(gin, c.r, c.in, c.n);
        else if (kind == ACT_SILU)
            sibvad_silu_backward(gin, c.r, c.in, c.n);
        else
            sibvad_leakyrelu_backward(gin, c.r, c.in, c.n, c.slope);
    }
    fd_problem P = {.loss = act_loss, .ctx = &c};
    fd_tol t = TOL_SMOOTH;
    t.h = 1e-3;
    tset_check(&s, names[kind], &P, &t);
    free_all();
}

/* ---------------- patch embedding ---------------- */

typedef struct pe_ctx {
    float *tok, *cols, *img, *W, *b, *cls, *pos, *r;
    int Bi, C, Hh, Ww, p, D;
} pe_ctx;

static double pe_loss(void *p)
{
    pe_ctx *c = p;
    sibvad_patch_embed_forward(c->tok, c->cols, c->img, c->W, c->b, c->cls, c->pos, c->Bi, c->C, c->Hh,
                               c->Ww, c->p, c->D);
    const size_t Np = (size_t)(c->Hh / c->p) * (c->Ww / c->p);
    return wsum(c->r, c->tok, (size_t)c->Bi * (Np + 1) * c->D);
}

static void check_patch_embed(void)
{
    tset s = {0};
    pe_ctx c = {.Bi = 2, .C = 3, .Hh = 8, .Ww = 12, .p = 4, .D = 6};
    const size_t Np = (size_t)(c.Hh / c.p) * (c.Ww / c.p), K = (size_t)c.C * c.p * c.p;
    float *gW, *gb, *gcls, *gpos;
    c.img = frand((size_t)c.Bi * c.C * c.Hh * c.Ww, 0.0f, 1.0f);
    c.W = tnew(&s, "W", (size_t)c.D * K, 0.0f, 0.3f, &gW);
    c.b = tnew(&s, "b", c.D, 0.0f, 0.5f, &gb);
    c.cls = tnew(&s, "cls", c.D, 0.0f, 0.5f, &gcls);
    c.pos = tnew(&s, "pos", (Np + 1) * c.D, 0.0f, 0.5f, &gpos);
    c.tok = fbuf((size_t)c.Bi * (Np + 1) * c.D);
    c.cols = fbuf((size_t)c.Bi * Np * K);
    c.r = frand((size_t)c.Bi * (Np + 1) * c.D, 0.0f, 1.0f);
    pe_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_patch_embed_backward(gW, gb, gcls, gpos, c.r, c.cols, c.Bi, c.C, c.Hh, c.Ww, c.p, c.D);
    fd_problem P = {.loss = pe_loss, .ctx = &c};
    tset_check(&s, "patch_embed", &P, &TOL_LINEAR);
    free_all();
}

/* ---------------- conv2d ---------------- */

typedef struct conv_ctx {
    float *out, *in, *W, *b, *r;
    int B, Ci, Co, Hh, Ww, k;
} conv_ctx;

static double conv_loss(void *p)
{
    conv_ctx *c = p;
    sibvad_conv2d_forward(c->out, c->in, c->W, c->b, c->B, c->Ci, c->Co, c->Hh, c->Ww, c->k);
    return wsum(c->r, c->out, (size_t)c->B * c->Co * c->Hh * c->Ww);
}

static void check_conv2d(int k)
{
    tset s = {0};
    conv_ctx c = {.B = 2, .Ci = 3, .Co = 4, .Hh = 5, .Ww = 7, .k = k};
    const size_t hw = (size_t)c.Hh * c.Ww;
    float *gin, *gW, *gb;
    c.in = tnew(&s, "in", (size_t)c.B * c.Ci * hw, 0.0f, 1.0f, &gin);
    c.W = tnew(&s, "W", (size_t)c.Co * c.Ci * k * k, 0.0f, 0.4f, &gW);
    c.b = tnew(&s, "b", c.Co, 0.0f, 0.5f, &gb);
    c.out = fbuf((size_t)c.B * c.Co * hw);
    c.r = frand((size_t)c.B * c.Co * hw, 0.0f, 1.0f);
    conv_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_conv2d_backward(gin, gW, gb, c.r, c.in, c.W, c.B, c.Ci, c.Co, c.Hh, c.Ww, k);
    fd_problem P = {.loss = conv_loss, .ctx = &c};
    tset_check(&s, k == 3 ? "conv2d k=3" : "conv2d k=1", &P, &TOL_LINEAR);
    free_all();
}

/* ---------------- unpatchify ---------------- */

static void check_unpatchify(void)
{
    const int B = 2, C = 3, gh = 2, gw = 3, p = 4, Hh = gh * p, Ww = gw * p, P = p * p * C;
    const size_t n = (size_t)B * C * Hh * Ww;
    /* layout: patch (n, gy*gw+gx) element (py*p+px)*C + c -> img[n, c, gy*p+py, gx*p+px] */
    float *patches = fbuf(n), *img = fbuf(n);
    for (size_t i = 0; i < n; i++)
        patches[i] = (float)i;
    sibvad_unpatchify(img, patches, B, C, gh, gw, p);
    size_t bad = 0;
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < gh; gy++)
            for (int gx = 0; gx < gw; gx++)
                for (int py = 0; py < p; py++)
                    for (int px = 0; px < p; px++)
                        for (int ch = 0; ch < C; ch++) {
                            size_t src = ((size_t)b * gh * gw + gy * gw + gx) * P + (py * p + px) * C + ch;
                            size_t dst = (((size_t)b * C + ch) * Hh + gy * p + py) * Ww + gx * p + px;
                            bad += img[dst] != (float)src;
                        }
    report(bad == 0, "unpatchify     layout (p_row, p_col, c): %zu of %zu elements misplaced", bad, n);

    /* adjoint: <unpatchify(x), y> == <x, unpatchify_backward(y)> (backward adds: run twice) */
    float *x = frand(n, 0.0f, 1.0f), *y = frand(n, 0.0f, 1.0f), *ux = fbuf(n), *aty = fbuf(n);
    sibvad_unpatchify(ux, x, B, C, gh, gw, p);
    sibvad_unpatchify_backward(aty, y, B, C, gh, gw, p);
    sibvad_unpatchify_backward(aty, y, B, C, gh, gw, p);
    const double lhs = wsum(ux, y, n), rhs = 0.5 * wsum(x, aty, n);
    const double tol = 1e-6 * sqrt(wsum(x, x, n) * wsum(y, y, n));
    report(fabs(lhs - rhs) <= tol, "unpatchify     adjoint: <U x, y> %.9g  <x, U^T y> %.9g  diff %.1e (tol %.1e)",
           lhs, rhs, fabs(lhs - rhs), tol);
    free_all();
}

/* ---------------- attention ---------------- */

typedef struct att_ctx {
    float *out, *probs, *q, *k, *v, *r;
    int ldq, ldk, ldv, B, N, M, H, dh;
} att_ctx;

static double att_loss(void *p)
{
    att_ctx *c = p;
    sibvad_attention_forward(c->out, c->probs, c->q, c->ldq, c->k, c->ldk, c->v, c->ldv, c->B, c->N, c->M,
                             c->H, c->dh);
    return wsum(c->r, c->out, (size_t)c->B * c->N * c->H * c->dh);
}

static void check_attention(int self)
{
    tset s = {0};
    att_ctx c = {0};
    float *gq, *gk, *gv;
    c.B = 2;
    c.H = 2;
    if (self) {
        /* q, k, v as column blocks of one fused (R, 3D) buffer */
        c.N = c.M = 5;
        c.dh = 4;
        const int D = c.H * c.dh;
        float *gqkv;
        float *qkv = tnew(&s, "qkv (fused q|k|v)", (size_t)c.B * c.N * 3 * D, 0.0f, 1.0f, &gqkv);
        c.q = qkv;
        c.k = qkv + D;
        c.v = qkv + 2 * D;
        c.ldq = c.ldk = c.ldv = 3 * D;
        gq = gqkv;
        gk = gqkv + D;
        gv = gqkv + 2 * D;
    } else {
        /* cross attention, M != N, separate k and v (v rows padded) */
        c.N = 3;
        c.M = 5;
        c.dh = 3;
        const int D = c.H * c.dh;
        c.ldq = D;
        c.ldk = D;
        c.ldv = D + 2;
        c.q = tnew(&s, "q", (size_t)c.B * c.N * c.ldq, 0.0f, 1.0f, &gq);
        c.k = tnew(&s, "k", (size_t)c.B * c.M * c.ldk, 0.0f, 1.0f, &gk);
        c.v = tnew(&s, "v (ld D+2)", (size_t)c.B * c.M * c.ldv, 0.0f, 1.0f, &gv);
    }
    const size_t no = (size_t)c.B * c.N * c.H * c.dh, np = (size_t)c.B * c.H * c.N * c.M;
    c.out = fbuf(no);
    c.probs = fbuf(np);
    c.r = frand(no, 0.0f, 1.0f);
    float *scratch = fbuf(np);
    att_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_attention_backward(gq, gk, gv, scratch, c.r, c.probs, c.q, c.ldq, c.k, c.ldk, c.v, c.ldv, c.B,
                                  c.N, c.M, c.H, c.dh);
    fd_problem P = {.loss = att_loss, .ctx = &c};
    tset_check(&s, self ? "attn self" : "attn cross", &P, &TOL_SMOOTH);
    free_all();
}

/* ---------------- ViT block ---------------- */

static void vit_cache_alloc(sibvad_vit_cache *c, size_t Bi, size_t N, size_t D, size_t H, size_t F)
{
    const size_t R = Bi * N;
    c->ln1 = fbuf(R * D);
    c->ln1_mean = fbuf(R);
    c->ln1_rstd = fbuf(R);
    c->qkv = fbuf(R * 3 * D);
    c->probs = fbuf(Bi * H * N * N);
    c->att = fbuf(R * D);
    c->attp = fbuf(R * D);
    c->x1 = fbuf(R * D);
    c->ln2 = fbuf(R * D);
    c->ln2_mean = fbuf(R);
    c->ln2_rstd = fbuf(R);
    c->h = fbuf(R * F);
    c->a = fbuf(R * F);
    c->m = fbuf(R * D);
}

static void vit_scratch_alloc(sibvad_vit_scratch *s, size_t Bi, size_t N, size_t D, size_t H, size_t F)
{
    const size_t R = Bi * N;
    s->dx1 = fbuf(R * D);
    s->dbranch = fbuf(R * D);
    s->dln = fbuf(R * D);
    s->datt = fbuf(R * D);
    s->dqkv = fbuf(R * 3 * D);
    s->dh = fbuf(R * F);
    s->da = fbuf(R * F);
    s->dprobs = fbuf(Bi * H * N * N);
}

typedef struct vit_ctx {
    float *out, *x, *r;
    sibvad_vit_cache c;
    sibvad_vit_weights w;
    sibvad_vit_dims d;
} vit_ctx;

static double vit_loss(void *p)
{
    vit_ctx *c = p;
    sibvad_vit_block_forward(c->out, &c->c, c->x, &c->w, &c->d);
    return wsum(c->r, c->out, (size_t)c->d.Bi * c->d.N * c->d.D);
}

static void check_vit(int layerscale, float eps)
{
    tset s = {0};
    vit_ctx c = {0};
    sibvad_vit_weights g = {0};
    sibvad_vit_scratch sc;
    c.d = (sibvad_vit_dims){.Bi = 2, .N = 5, .D = 8, .H = 2, .F = 16, .eps = eps};
    const size_t D = 8, F = 16, R = (size_t)c.d.Bi * c.d.N;
    const float sd = 1.0f / sqrtf((float)D), sf = 1.0f / sqrtf((float)F);
    float *gx;
    c.x = tnew(&s, "x", R * D, 0.0f, 1.0f, &gx);
    c.w.ln1_w = tnew(&s, "ln1_w", D, 1.0f, 0.2f, &g.ln1_w);
    c.w.ln1_b = tnew(&s, "ln1_b", D, 0.0f, 0.2f, &g.ln1_b);
    c.w.qkv_w = tnew(&s, "qkv_w", 3 * D * D, 0.0f, sd, &g.qkv_w);
    c.w.qkv_b = tnew(&s, "qkv_b", 3 * D, 0.0f, 0.2f, &g.qkv_b);
    c.w.proj_w = tnew(&s, "proj_w", D * D, 0.0f, sd, &g.proj_w);
    c.w.proj_b = tnew(&s, "proj_b", D, 0.0f, 0.2f, &g.proj_b);
    if (layerscale) {
        c.w.ls1 = tnew(&s, "ls1", D, 0.5f, 0.2f, &g.ls1);
        c.w.ls2 = tnew(&s, "ls2", D, 0.5f, 0.2f, &g.ls2);
    }
    c.w.ln2_w = tnew(&s, "ln2_w", D, 1.0f, 0.2f, &g.ln2_w);
    c.w.ln2_b = tnew(&s, "ln2_b", D, 0.0f, 0.2f, &g.ln2_b);
    c.w.fc1_w = tnew(&s, "fc1_w", F * D, 0.0f, sd, &g.fc1_w);
    c.w.fc1_b = tnew(&s, "fc1_b", F, 0.0f, 0.2f, &g.fc1_b);
    c.w.fc2_w = tnew(&s, "fc2_w", D * F, 0.0f, sf, &g.fc2_w);
    c.w.fc2_b = tnew(&s, "fc2_b", D, 0.0f, 0.2f, &g.fc2_b);
    vit_cache_alloc(&c.c, c.d.Bi, c.d.N, D, c.d.H, F);
    vit_scratch_alloc(&sc, c.d.Bi, c.d.N, D, c.d.H, F);
    c.out = fbuf(R * D);
    c.r = frand(R * D, 0.0f, 1.0f);
    vit_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_vit_block_backward(gx, &g, &sc, c.r, &c.c, c.x, &c.w, &c.d);
    fd_problem P = {.loss = vit_loss, .ctx = &c};
    tset_check(&s, layerscale ? "vit ls,1e-6" : "vit nols,1e-5", &P, &TOL_SMOOTH);
    free_all();
}

/* ---------------- fusion block ---------------- */

typedef struct fu_ctx {
    float *out, *x, *y, *z, *r;
    sibvad_fusion_cache c;
    sibvad_fusion_weights w;
    sibvad_fusion_dims d;
} fu_ctx;

static double fu_loss(void *p)
{
    fu_ctx *c = p;
    sibvad_fusion_block_forward(c->out, &c->c, c->x, c->y, c->z, &c->w, &c->d);
    return wsum(c->r, c->out, (size_t)c->d.B * c->d.N * c->d.D);
}

static void check_fusion(void)
{
    tset s = {0};
    fu_ctx c = {0};
    sibvad_fusion_weights g = {0};
    sibvad_fusion_scratch sc;
    c.d = (sibvad_fusion_dims){.B = 2, .N = 4, .D = 8, .H = 2, .F = 16};
    const size_t B = 2, N = 4, D = 8, F = 16, H = 2, R = B * N, KD = B * (N + 1) * D;
    const float sd = 1.0f / sqrtf((float)D), sf = 1.0f / sqrtf((float)F);
    float *gx, *gy, *gz;
    c.x = tnew(&s, "x", R * D, 0.0f, 1.0f, &gx);
    c.y = tnew(&s, "y", B * D, 0.0f, 1.0f, &gy);
    c.z = tnew(&s, "z", R * D, 0.0f, 1.0f, &gz);
#define LNP(f, nm) c.w.f##_w = tnew(&s, nm "_w", D, 1.0f, 0.2f, &g.f##_w); \
    c.w.f##_b = tnew(&s, nm "_b", D, 0.0f, 0.2f, &g.f##_b)
#define LINP(f, nm, o, i, sc_) c.w.f##_w = tnew(&s, nm "_w", (o) * (i), 0.0f, sc_, &g.f##_w); \
    c.w.f##_b = tnew(&s, nm "_b", o, 0.0f, 0.2f, &g.f##_b)
    LNP(ln_attn, "ln_attn");
    LNP(ln_y, "ln_y");
    LNP(ln_z, "ln_z");
    LINP(q, "q", D, D, sd);
    LINP(ky, "ky", D, D, sd);
    LINP(vy, "vy", D, D, sd);
    LINP(kz, "kz", D, D, sd);
    LINP(vz, "vz", D, D, sd);
    LINP(o, "o", D, D, sd);
    LNP(ln_ff, "ln_ff");
    LINP(ff0, "ff0", F, D, sd);
    LINP(ff3, "ff3", D, F, sf);
#undef LNP
#undef LINP
    c.w.g_attn = tnew(&s, "g_attn", 1, 0.7f, 0.0f, &g.g_attn);
    c.w.g_ff = tnew(&s, "g_ff", 1, -0.6f, 0.0f, &g.g_ff);
    sibvad_fusion_cache *k = &c.c;
    k->xn = fbuf(R * D); k->xn_mean = fbuf(R); k->xn_rstd = fbuf(R);
    k->yn = fbuf(B * D); k->yn_mean = fbuf(B); k->yn_rstd = fbuf(B);
    k->zn = fbuf(R * D); k->zn_mean = fbuf(R); k->zn_rstd = fbuf(R);
    k->q = fbuf(R * D);
    k->ky = fbuf(B * D); k->vy = fbuf(B * D);
    k->kz = fbuf(R * D); k->vz = fbuf(R * D);
    k->kcat = fbuf(KD); k->vcat = fbuf(KD);
    k->probs = fbuf(B * H * N * (N + 1));
    k->att = fbuf(R * D); k->attp = fbuf(R * D); k->x1 = fbuf(R * D);
    k->fn = fbuf(R * D); k->fn_mean = fbuf(R); k->fn_rstd = fbuf(R);
    k->h = fbuf(R * F); k->a = fbuf(R * F); k->f = fbuf(R * D);
    sc.dx1 = fbuf(R * D); sc.dbranch = fbuf(R * D); sc.dln = fbuf(R * D);
    sc.datt = fbuf(R * D); sc.dq = fbuf(R * D);
    sc.dkcat = fbuf(KD); sc.dvcat = fbuf(KD);
    sc.dky = fbuf(B * D); sc.dvy = fbuf(B * D); sc.dyn = fbuf(B * D);
    sc.dkz = fbuf(R * D); sc.dvz = fbuf(R * D); sc.dzn = fbuf(R * D);
    sc.dh = fbuf(R * F); sc.da = fbuf(R * F);
    sc.dprobs = fbuf(B * H * N * (N + 1));
    c.out = fbuf(R * D);
    c.r = frand(R * D, 0.0f, 1.0f);
    fu_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_fusion_block_backward(gx, gy, gz, &g, &sc, c.r, &c.c, c.x, c.y, c.z, &c.w, &c.d);
    fd_problem P = {.loss = fu_loss, .ctx = &c};
    tset_check(&s, "fusion", &P, &TOL_SMOOTH);
    free_all();
}

/* ---------------- SFFM ---------------- */

/* The balance loss from its definition, in double, from the cached router
 * probabilities and routing: alpha * mean_b sum_i f_i P_i with
 * f_i = Nr / (K Ts) * #(tokens of b routed to i), P_i = mean_t s_ti. */
static double balance_ref(const sibvad_sffm_cache *c, const sibvad_sffm_dims *d)
{
    double bal = 0.0;
    for (int b = 0; b < d->B; b++)
        for (int i = 0; i < d->Nr; i++) {
            int cnt = 0;
            double P = 0.0;
            for (int t = b * d->Ts; t < (b + 1) * d->Ts; t++) {
                for (int k = 0; k < d->K; k++)
                    cnt += c->topk[(size_t)t * d->K + k] == i;
                P += c->s[(size_t)t * d->Nr + i];
            }
            bal += (double)d->Nr / ((double)d->K * d->Ts) * cnt * (P / d->Ts);
        }
    return d->alpha * bal / d->B;
}

/* 1 when some token's set of routed filters differs from base */
static int routing_differs(const int *topk, const int *base, int T, int K)
{
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            int found = 0;
            for (int j = 0; j < K; j++)
                found |= topk[t * K + k] == base[t * K + j];
            if (!found)
                return 1;
        }
    return 0;
}

static void sffm_cache_alloc(sibvad_sffm_cache *c, const sibvad_sffm_dims *d)
{
    const size_t T = (size_t)d->B * d->Ts, D = d->D, Nr = d->Nr, K = d->K, bn = d->b;
    const size_t bs = (size_t)d->b * d->Ns;
    c->xhat = fbuf(T * D);
    c->mean = fbuf(T);
    c->rstd = fbuf(T);
    c->s = fbuf(T * Nr);
    c->topk = ibuf(T * K);
    c->gw = fbuf(T * K);
    c->order = ibuf(T * K);
    c->offsets = ibuf(Nr + 1);
    c->h = fbuf(T * K * bn);
    c->a = fbuf(T * K * bn);
    c->hs = fbuf(T * (bs ? bs : 1));
    c->as = fbuf(T * (bs ? bs : 1));
    c->f = fbuf((size_t)d->B * Nr);
    c->slot = fbuf(T * K * D);
    c->lns = fbuf(T * D);
}

typedef struct sffm_ctx {
    float *out, *x, *r;
    float bal_scale;
    sibvad_sffm_cache c;
    sibvad_sffm_weights w;
    sibvad_sffm_dims d;
    int *base_topk;
    double bal_mismatch;            /* max |balance_ref - cache.balance| seen */
} sffm_ctx;

static double sffm_loss(void *p)
{
    sffm_ctx *c = p;
    const size_t T = (size_t)c->d.B * c->d.Ts;
    sibvad_sffm_forward(c->out, &c->c, c->x, &c->w, &c->d);
    const double bal = balance_ref(&c->c, &c->d);
    c->bal_mismatch = fmax(c->bal_mismatch, fabs(bal - c->c.balance));
    return wsum(c->r, c->out, T * c->d.D) + c->bal_scale * bal;
}

static int sffm_flipped(void *p)
{
    sffm_ctx *c = p;
    return routing_differs(c->c.topk, c->base_topk, c->d.B * c->d.Ts, c->d.K);
}

/* smallest gap, over tokens, between the K-th and (K+1)-th router logit */
static double sffm_margin(const sibvad_sffm_cache *c, const sibvad_sffm_dims *d)
{
    double m = INFINITY;
    const int T = d->B * d->Ts;
    for (int t = 0; t < T; t++) {
        const float *s = c->s + (size_t)t * d->Nr;
        double kth = INFINITY, next = 0.0;
        for (int k = 0; k < d->K; k++)
            kth = fmin(kth, s[c->topk[(size_t)t * d->K + k]]);
        for (int i = 0; i < d->Nr; i++) {
            int in = 0;
            for (int k = 0; k < d->K; k++)
                in |= c->topk[(size_t)t * d->K + k] == i;
            if (!in)
                next = fmax(next, s[i]);
        }
        m = fmin(m, log(kth) - log(next));
    }
    return m;
}

static void check_sffm(void)
{
    tset s = {0};
    sffm_ctx c = {0};
    float *gptr[6][8];                  /* gradient pointer arrays (Nr + 1 = 8) */
    float *wptr[6][8];
    sibvad_sffm_weights g = {0};
    sibvad_sffm_scratch sc;
    c.d = (sibvad_sffm_dims){.B = 2, .Ts = 5, .D = 8, .Nr = 7, .K = 2, .Ns = 1, .b = 4,
                             .scale = 2.0f, .alpha = 0.5f};
    c.bal_scale = 1.0f;
    const int Nr = 7, D = 8, bn = 4, T = 10;
    float *gx;
    c.x = tnew(&s, "x", (size_t)T * D, 0.0f, 1.0f, &gx);
    c.w.gate = tnew(&s, "gate", (size_t)Nr * D, 0.0f, 0.6f, &g.gate);
    static const char *sub[6] = {"pn_w", "pn_b", "down_w", "down_b", "up_w", "up_b"};
    for (int i = 0; i <= Nr; i++) {
        const int bw = i == Nr ? bn * c.d.Ns : bn;
        const size_t sizes[6] = {D, D, (size_t)bw * D, bw, (size_t)D * bw, D};
        const float mean[6] = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        const float std[6] = {0.3f, 0.3f, 1.0f / sqrtf(D), 0.3f, 1.0f / sqrtf(bw), 0.3f};
        for (int a = 0; a < 6; a++) {
            char nm[48];
            if (i == Nr)
                snprintf(nm, sizeof nm, "shared.%s", sub[a]);
            else
                snprintf(nm, sizeof nm, "filter%d.%s", i, sub[a]);
            wptr[a][i] = tnew(&s, nm, sizes[a], mean[a], std[a], &gptr[a][i]);
        }
    }
    c.w.pn_w = wptr[0]; c.w.pn_b = wptr[1]; c.w.down_w = wptr[2];
    c.w.down_b = wptr[3]; c.w.up_w = wptr[4]; c.w.up_b = wptr[5];
    g.pn_w = gptr[0]; g.pn_b = gptr[1]; g.down_w = gptr[2];
    g.down_b = gptr[3]; g.up_w = gptr[4]; g.up_b = gptr[5];
    sffm_cache_alloc(&c.c, &c.d);
    const size_t bs = (size_t)bn * c.d.Ns;
    sc.dxhat = fbuf((size_t)T * D);
    sc.dgw = fbuf((size_t)T * c.d.K);
    sc.ds = fbuf((size_t)T * Nr);
    sc.das = fbuf(T * bs);
    sc.dhs = fbuf(T * bs);
    sc.dlns = fbuf((size_t)T * D);
    c.out = fbuf((size_t)T * D);
    c.r = frand((size_t)T * D, 0.0f, 1.0f);
    c.base_topk = ibuf((size_t)T * c.d.K);

    /* design the inputs: every filter routed at least once, and every token's
     * K-th router logit at least 0.15 above the next one, so that steps of
     * h = 1.5e-2 cannot change the routing (|dlogit| <= h max(|x|, |gate|)) */
    int attempt;
    double margin = 0.0;
    for (attempt = 0; attempt < 10000; attempt++) {
        for (int i = 0; i < T * D; i++)
            c.x[i] = sibvad_rng_normal(&rng);
        for (int i = 0; i < Nr * D; i++)
            c.w.gate[i] = 0.6f * sibvad_rng_normal(&rng);
        sibvad_sffm_forward(c.out, &c.c, c.x, &c.w, &c.d);
        int used = 1;
        for (int i = 0; i < Nr; i++)
            used &= c.c.offsets[i + 1] > c.c.offsets[i];
        margin = sffm_margin(&c.c, &c.d);
        if (used && margin >= 0.15)
            break;
    }
    report(attempt < 10000, "sffm           input design: %d draws, min router margin %.3f, every filter routed",
           attempt + 1, margin);

    sffm_loss(&c);
    memcpy(c.base_topk, c.c.topk, sizeof(int) * T * c.d.K);
    for (int rep = 0; rep < 2; rep++)
        sibvad_sffm_backward(gx, &g, &sc, c.r, c.bal_scale, &c.c, c.x, &c.w, &c.d);
    fd_problem P = {.loss = sffm_loss, .flipped = sffm_flipped, .ctx = &c};
    /* h: the output of a weakly weighted filter carries the float rounding
     * of its token's whole output row, so use a large step */
    fd_tol t = TOL_SMOOTH;
    t.h = 1.5e-2;
    tset_check(&s, "sffm", &P, &t);

    /* the flip detector must see a forced change: raise the router logit of
     * token 0's best unrouted filter by 5 sum|x_0| */
    {
        int j = -1;
        sffm_loss(&c);
        for (int i = 0; i < Nr; i++) {
            int in = 0;
            for (int k = 0; k < c.d.K; k++)
                in |= c.base_topk[k] == i;
            if (!in && (j < 0 || c.c.s[i] > c.c.s[j]))
                j = i;
        }
        float saved[8];
        memcpy(saved, c.w.gate + (size_t)j * D, sizeof saved);
        for (int q = 0; q < D; q++)
            c.w.gate[(size_t)j * D + q] += c.x[q] >= 0.0f ? 5.0f : -5.0f;
        sffm_loss(&c);
        const int seen = sffm_flipped(&c);
        memcpy(c.w.gate + (size_t)j * D, saved, sizeof saved);
        sffm_loss(&c);
        const int clean = !sffm_flipped(&c);
        report(seen && clean, "sffm           routing-flip detector: forced flip seen %d, base clean %d", seen, clean);
    }

    /* the balance loss alone (dout = 0): its gradient reaches x and the gate
     * through the router softmax only; the filters get exactly nothing */
    tset s2 = {0};
    float *gx2, *ggate2;
    tadd(&s2, "x (balance only)", c.x, (size_t)T * D, &gx2);
    tadd(&s2, "gate (balance only)", c.w.gate, (size_t)Nr * D, &ggate2);
    sibvad_sffm_weights g2 = g;
    float *gptr2[6][8];
    for (int a = 0; a < 6; a++)
        for (int i = 0; i <= Nr; i++)
            gptr2[a][i] = fbuf(s.t[2 + i * 6 + a].n);
    g2.gate = ggate2;
    g2.pn_w = gptr2[0]; g2.pn_b = gptr2[1]; g2.down_w = gptr2[2];
    g2.down_b = gptr2[3]; g2.up_w = gptr2[4]; g2.up_b = gptr2[5];
    memset(c.r, 0, sizeof(float) * T * D);
    sffm_loss(&c);
    for (int rep = 0; rep < 2; rep++)
        sibvad_sffm_backward(gx2, &g2, &sc, c.r, c.bal_scale, &c.c, c.x, &c.w, &c.d);
    tset_check(&s2, "sffm", &P, &t);
    double leak = 0.0;
    for (int a = 0; a < 6; a++)
        for (int i = 0; i <= Nr; i++)
            for (size_t j = 0; j < s.t[2 + i * 6 + a].n; j++)
                leak = fmax(leak, fabs(gptr2[a][i][j]));
    report(leak == 0.0, "sffm           balance-only backward leaves filter gradients at zero (max %.1e)", leak);
    report(c.bal_mismatch <= 1e-6, "sffm           cache.balance vs its definition (double): max diff %.1e",
           c.bal_mismatch);
    printf("     sffm           routing boundary: %d retried with h/10, %d skipped\n", P.retried, P.skipped);
    free_all();
}

/* ---------------- losses ---------------- */

typedef struct loss_ctx {
    int kind;
    float *a, *b, *prev;
    size_t n;
    int B, S;
    float scale;
} loss_ctx;

enum { LOSS_MSE, LOSS_MOTION, LOSS_COS };

static double loss_loss(void *p)
{
    loss_ctx *c = p;
    if (c->kind == LOSS_MSE)
        return c->scale * (double)sibvad_mse_forward(c->a, c->b, c->n);
    if (c->kind == LOSS_MOTION)
        return c->scale * (double)sibvad_motion_loss_forward(c->a, c->b, c->prev, c->n);
    return c->scale * (double)sibvad_cosine_loss_forward(c->a, c->b, c->B, c->S);
}

static void check_losses(void)
{
    /* mse: quadratic, central differences exact for any h */
    {
        tset s = {0};
        loss_ctx c = {.kind = LOSS_MSE, .n = 30, .scale = 0.7f};
        float *ga;
        c.a = tnew(&s, "a", c.n, 0.0f, 1.0f, &ga);
        c.b = frand(c.n, 0.0f, 1.0f);
        for (int rep = 0; rep < 2; rep++)
            sibvad_mse_backward(ga, c.a, c.b, c.n, c.scale);
        fd_problem P = {.loss = loss_loss, .ctx = &c};
        const fd_tol t = {0.1, 2e-2, 1e-3, 1e-7};
        tset_check(&s, "mse*0.7", &P, &t);
        free_all();
    }
    /* motion hinge: linear in pred on each side of the hinge at pred =
     * (target + prev) / 2; keep every element at least 0.3 away from it and
     * take both sides */
    {
        tset s = {0};
        loss_ctx c = {.kind = LOSS_MOTION, .n = 40, .scale = 1.3f};
        float *ga;
        c.a = tnew(&s, "pred", c.n, 0.0f, 0.0f, &ga);
        c.b = frand(c.n, 0.0f, 1.0f);
        c.prev = frand(c.n, 0.0f, 1.0f);
        int active = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (fabsf(c.b[i] - c.prev[i]) < 0.2f)
                c.prev[i] = c.b[i] + (c.prev[i] >= c.b[i] ? 0.2f : -0.2f);
            const float mid = 0.5f * (c.b[i] + c.prev[i]);
            const float side = (i % 2 ? 1.0f : -1.0f), off = 0.3f + sibvad_rng_uniform(&rng);
            c.a[i] = mid + side * off;
            const float e1 = c.a[i] - c.b[i], e2 = c.a[i] - c.prev[i];
            active += e1 * e1 - e2 * e2 > 0.0f;
        }
        for (int rep = 0; rep < 2; rep++)
            sibvad_motion_loss_backward(ga, c.a, c.b, c.prev, c.n, c.scale);
        fd_problem P = {.loss = loss_loss, .ctx = &c};
        const fd_tol t = {0.05, 2e-2, 1e-3, 1e-7};
        report(active > 0 && active < (int)c.n, "motion         hinge inputs: %d of %zu elements active", active, c.n);
        tset_check(&s, "motion*1.3", &P, &t);
        free_all();
    }
    /* cosine loss with its scale, and the per-row distance it averages */
    {
        tset s = {0};
        loss_ctx c = {.kind = LOSS_COS, .B = 3, .S = 16, .scale = 1.3f};
        float *ga;
        c.a = tnew(&s, "a", (size_t)c.B * c.S, 0.2f, 1.0f, &ga);
        c.b = frand((size_t)c.B * c.S, 0.2f, 1.0f);
        for (int rep = 0; rep < 2; rep++)
            sibvad_cosine_loss_backward(ga, c.a, c.b, c.B, c.S, c.scale);
        fd_problem P = {.loss = loss_loss, .ctx = &c};
        const fd_tol t = {1e-2, 2e-2, 1e-3, 1e-6};
        tset_check(&s, "cosine*1.3", &P, &t);
        float dist[3];
        sibvad_cosine_distance(dist, c.a, c.b, c.B, c.S);
        double mean = 0.0, ref = 0.0;
        for (int b = 0; b < c.B; b++) {
            const float *x = c.a + (size_t)b * c.S, *y = c.b + (size_t)b * c.S;
            double xy = wsum(x, y, c.S), xx = wsum(x, x, c.S), yy = wsum(y, y, c.S);
            double d = 1.0 - xy / sqrt(xx * yy);
            ref = fmax(ref, fabs(d - dist[b]));
            mean += dist[b] / c.B;
        }
        const double lf = sibvad_cosine_loss_forward(c.a, c.b, c.B, c.S);
        report(ref <= 1e-6 && fabs(mean - lf) <= 1e-6,
               "cosine         distance vs 1 - a.t/(|a||t|): %.1e; loss = mean distance: %.1e", ref,
               fabs(mean - lf));
        free_all();
    }
}

/* ---------------- sin-cos position embedding ---------------- */

static void check_posembed(void)
{
    const int gh = 3, gw = 4, D = 16, Z = 2, e = D / 2;
    const size_t rows = (size_t)Z + gh * gw;
    float *out = fbuf(rows * D);
    for (size_t i = 0; i < rows * D; i++)
        out[i] = 7.0f;                  /* must all be overwritten */
    sibvad_sincos_posembed(out, gh, gw, D, Z);
    int zeros_ok = 1;
    for (size_t i = 0; i < (size_t)Z * D; i++)
        zeros_ok &= out[i] == 0.0f;
    report(zeros_ok, "posembed       the first %d rows are zero", Z);
    /* token r*gw + c: [sin(c w_k), cos(c w_k)] (k < e/2) then the same of r,
     * w_k = 10000^(-k / (e/2)) */
    double err = 0.0;
    for (int r = 0; r < gh; r++)
        for (int c = 0; c < gw; c++) {
            const float *row = out + ((size_t)Z + r * gw + c) * D;
            for (int k = 0; k < e / 2; k++) {
                const double w = pow(10000.0, -(double)k / (e / 2));
                err = fmax(err, fabs(row[k] - sin(c * w)));
                err = fmax(err, fabs(row[e / 2 + k] - cos(c * w)));
                err = fmax(err, fabs(row[e + k] - sin(r * w)));
                err = fmax(err, fabs(row[e + e / 2 + k] - cos(r * w)));
            }
        }
    /* a few literal values: token (r=1, c=2) */
    const float *t12 = out + ((size_t)Z + 1 * gw + 2) * D;
    const double lit[][2] = {{0, 0.9092974268}, {4, -0.4161468365}, {1, 0.1986693308},
                             {8, 0.8414709848}, {12, 0.5403023059}, {9, 0.0998334166}};
    for (size_t i = 0; i < sizeof lit / sizeof *lit; i++)
        err = fmax(err, fabs(t12[(int)lit[i][0]] - lit[i][1]));
    report(err <= 1e-6, "posembed       %dx%d grid, D=%d vs closed formula: max err %.1e", gh, gw, D, err);
    free_all();
}

/* ---------------- Adam ---------------- */

/* torch.optim.Adam (weight_decay as L2 on the gradient, no amsgrad), in double */
static void adam_ref(double *p, const double *g, double *m, double *v, size_t n, double lr, double b1,
                     double b2, double eps, double wd, int t)
{
    const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        const double gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + (1.0 - b1) * gi;
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
        const double denom = sqrt(v[i]) / sqrt(bc2) + eps;
        p[i] -= lr / bc1 * m[i] / denom;
    }
}

static void check_adam(void)
{
    const size_t n = 50;
    const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.1f;
    /* cases: one step at t = 1 from zero moments; one step at t = 5 from
     * random moments; five steps t = 1..5 with fresh gradients */
    for (int cs = 0; cs < 3; cs++) {
        float *p = frand(n, 0.0f, 1.0f), *m = fbuf(n), *v = fbuf(n), *g = fbuf(n);
        double *pd = tcalloc(n, sizeof(double)), *md = tcalloc(n, sizeof(double));
        double *vd = tcalloc(n, sizeof(double)), *gd = tcalloc(n, sizeof(double));
        float *p0 = fbuf(n);
        if (cs == 1)
            for (size_t i = 0; i < n; i++) {
                m[i] = 0.1f * sibvad_rng_normal(&rng);
                v[i] = 0.01f * sibvad_rng_uniform(&rng) + 1e-4f;
            }
        for (size_t i = 0; i < n; i++) {
            pd[i] = p[i];
            md[i] = m[i];
            vd[i] = v[i];
        }
        memcpy(p0, p, sizeof(float) * n);
        const int t0 = cs == 1 ? 5 : 1, t1 = cs == 0 ? 1 : 5;
        for (int t = t0; t <= t1; t++) {
            for (size_t i = 0; i < n; i++) {
                g[i] = (i % 7 == 0 ? 1e-3f : 1.0f) * sibvad_rng_normal(&rng);
                gd[i] = g[i];
            }
            sibvad_adam_update(p, g, m, v, n, lr, b1, b2, eps, wd, t);
            adam_ref(pd, gd, md, vd, n, lr, b1, b2, eps, wd, t);
        }
        double ep = 0.0, em = 0.0, ev = 0.0;
        for (size_t i = 0; i < n; i++) {
            ep = fmax(ep, fabs(p[i] - pd[i]) / (1e-6 * fabs(pd[i]) + 1e-4 * fabs(pd[i] - p0[i]) + 1e-9));
            em = fmax(em, fabs(m[i] - md[i]) / (1e-5 * fabs(md[i]) + 1e-9));
            ev = fmax(ev, fabs(v[i] - vd[i]) / (1e-5 * fabs(vd[i]) + 1e-12));
        }
        static const char *what[] = {"1 step, t=1", "1 step, t=5 (from random moments)", "5 steps, t=1..5"};
        report(ep <= 1.0 && em <= 1.0 && ev <= 1.0,
               "adam           %-34s vs torch.optim.Adam (double): p %.3f, m %.3f, v %.3f of tol",
               what[cs], ep, em, ev);
        free_all();
    }
}

/* ---------------- the whole model ---------------- */

typedef struct model_ctx {
    sibvad_model *m;
    float *frames, *target, *sem;
    int B;
    int *base_topk;                 /* de_depth x (B*N2*K) */
    unsigned char *base_neg;        /* final LeakyReLU input < 0 at the base point */
    unsigned char *base_hinge;      /* motion hinge active at the base point */
    long kinks, hinges;             /* crossings seen during the FD */
    int fail;
} model_ctx;

/* The total loss, in double, from the float activations of the last forward. */
static double model_loss_ref(const sibvad_model *m)
{
    const sibvad_config *c = &m->cfg;
    const sibvad_acts *a = &m->a;
    const size_t n = (size_t)m->B * c->channels * c->img_h * c->img_w;
    double mse = 0.0, mot = 0.0, cs = 0.0, bal = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e1 = (double)a->pred[i] - a->target[i], e2 = (double)a->pred[i] - a->prev[i];
        mse += e1 * e1;
        if (e1 * e1 - e2 * e2 > 0.0)
            mot += e1 * e1 - e2 * e2;
    }
    const int S = c->sem_dim;
    for (int b = 0; b < m->B; b++) {
        const float *x = a->sem_pred + (size_t)b * S, *y = a->sem_in + (size_t)b * S;
        cs += 1.0 - wsum(x, y, S) / (fmax(sqrt(wsum(x, x, S)), 1e-8) * fmax(sqrt(wsum(y, y, S)), 1e-8));
    }
    sibvad_sffm_dims sd = {m->B, m->N2, c->d_model, c->sffm_nr, c->sffm_k, c->sffm_ns, c->sffm_b,
                           c->sffm_scale, c->sffm_alpha};
    for (int l = 0; l < c->de_depth; l++)
        bal += balance_ref(&a->sffm_cache[l], &sd);
    return c->w_pred * mse / n + c->w_sem * cs / m->B + c->w_motion * mot / n + bal;
}

static double model_loss(void *p)
{
    model_ctx *c = p;
    sibvad_error err;
    if (sibvad_model_forward(c->m, c->frames, c->target, c->sem, c->B, &err) < 0) {
        printf("FAIL model forward: %s\n", err.msg);
        c->fail = 1;
        return NAN;
    }
    return model_loss_ref(c->m);
}

/* The loss has two piecewise-linear kinks per pixel: the final LeakyReLU
 * (slope 0.01) and the motion hinge. An element that crossed its kink moves L
 * away from the smooth continuation of the base point's side by at most
 * (1 - 0.01) |dL/dact1| |conv1| resp. w_motion / n |(p-t)^2 - (p-prev)^2|
 * (to first order; dL/dact1 from the backward pass at the base point). */
static double model_kink(void *p)
{
    model_ctx *c = p;
    const sibvad_model *m = c->m;
    const sibvad_config *cf = &m->cfg;
    const size_t n = (size_t)c->B * cf->channels * cf->img_h * cf->img_w;
    double bound = 0.0;
    for (size_t i = 0; i < n; i++) {
        if ((m->a.conv1[i] < 0.0f) != c->base_neg[i]) {
            c->kinks++;
            bound += 0.99 * fabs(m->d.act1[i]) * fabs(m->a.conv1[i]);
        }
        const double e1 = (double)m->a.pred[i] - m->a.target[i], e2 = (double)m->a.pred[i] - m->a.prev[i];
        if ((e1 * e1 - e2 * e2 > 0.0) != c->base_hinge[i]) {
            c->hinges++;
            bound += cf->w_motion / (double)n * fabs(e1 * e1 - e2 * e2);
        }
    }
    return bound;
}

static int model_flipped(void *p)
{
    model_ctx *c = p;
    const sibvad_config *cf = &c->m->cfg;
    const int T = c->B * c->m->N2, K = cf->sffm_k;
    for (int l = 0; l < cf->de_depth; l++)
        if (routing_differs(c->m->a.sffm_cache[l].topk, c->base_topk + (size_t)l * T * K, T, K))
            return 1;
    return 0;
}

/* residual: the pixel head predicts the change from the last input frame */
static void check_model(int residual)
{
    static const char *names[] = {
        "vision_model.embeddings.class_embedding",
        "vision_model.embeddings.patch_embedding.weight",
        "vision_model.embeddings.patch_embedding.bias",
        "vision_model.embeddings.position_embedding",
        "vision_model.encoder.layers.0.norm1.weight",
        "vision_model.encoder.layers.0.attn.qkv.weight",
        "vision_model.encoder.layers.0.ls2",
        "vision_model.encoder.layers.1.ls1",
        "vision_model.encoder.layers.1.mlp.fc2.weight",
        "visual_project.weight",
        "temporal_project.bias",
        "patch_emb_project.weight",
        "text_project.weight",
        "frame_diff_project.weight",
        "motion_encoder.patch_emb.proj.weight",
        "motion_encoder.patch_emb.proj.bias",
        "motion_encoder.cls_token",
        "motion_encoder.encoder_blocks.0.attn.proj.weight",
        "motion_encoder.encoder_blocks.0.norm2.bias",
        "joint_cross_attn.blocks.0.attn.to_q.weight",
        "joint_cross_attn.blocks.0.ln_z.weight",
        "joint_cross_attn.blocks.0.ff.net.0.bias",
        "joint_cross_attn.blocks.1.attn.to_k_y.weight",
        "joint_cross_attn.blocks.1.attn.to_v_z.bias",
        "joint_cross_attn.blocks.1.ln_y.bias",
        "joint_cross_attn.blocks.1.ff.net.3.weight",
        "joint_cross_attn.attn_gammas.0",
        "joint_cross_attn.attn_gammas.1",
        "joint_cross_attn.ff_gammas.0",
        "joint_cross_attn.ff_gammas.1",
        "decoder.rgb_project.0.weight",
        "decoder.rgb_project.2.bias",
        "decoder.decoder_blocks.0.attn.qkv.bias",
        "decoder.decoder_blocks.0.norm1.weight",
        "decoder.decoder_blocks.1.mlp.fc1.weight",
        "decoder.moes.0.gate.weight",
        "decoder.moes.1.gate.weight",
        "decoder.moes.0.shared_experts.down_proj.weight",
        "decoder.moes.1.shared_experts.pre_norm.bias",
        "decoder.decoder_norm.weight",
        "decoder.decoder_pred.weight",
        "decoder.final_conv.0.weight",
        "decoder.final_conv.0.bias",
        "decoder.final_conv.2.weight",
        "decoder.final_conv.2.bias",
        "decoder.text_recon.0.weight",
        "decoder.text_recon.2.bias",
    };
    sibvad_config cfg;
    sibvad_error err;
    if (sibvad_config_preset(&cfg, "tiny", &err) < 0) {
        report(0, "model          preset tiny: %s", err.msg);
        return;
    }
    cfg.pred_residual = residual;
    const char *tag = residual ? "model+residual" : "model         ";
    sibvad_model *m = sibvad_model_create(&cfg, 1234, &err);
    if (!m || sibvad_model_prepare(m, 2, 1, &err) < 0) {
        report(0, "%s create/prepare: %s", tag, err.msg);
        sibvad_model_free(m);
        return;
    }
    model_ctx c = {.m = m, .B = 2};
    const size_t img = (size_t)cfg.channels * cfg.img_h * cfg.img_w;
    c.frames = frand((size_t)c.B * cfg.frames_in * img, 0.0f, 1.0f);
    c.target = frand((size_t)c.B * img, 0.0f, 1.0f);
    c.sem = frand((size_t)c.B * cfg.sem_dim, 0.0f, 1.0f);
    /* move every trainable tensor off its initial value (zero biases, unit
     * LayerNorm weights) and open the fusion gates */
    for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        if (t->kind != SIBVAD_TENSOR_TRAINABLE)
            continue;
        const double rms = sqrt(wsum(t->data, t->data, t->numel) / t->numel);
        /* the residual head's last conv starts at zero (model.c): give it
         * weights of the spec head's init size, or every gradient behind it
         * would be checked at 0.02 of its size */
        const int zero_head = rms == 0.0 && strncmp(t->name, "decoder.final_conv.2.", 21) == 0;
        const float sc = zero_head ? 0.5f : 0.2f * (float)fmax(rms, 0.1);
        for (size_t j = 0; j < t->numel; j++)
            t->data[j] += sc * sibvad_rng_normal(&rng);
    }
    for (int l = 0; l < cfg.fu_depth; l++) {
        m->w.fu[l].g_attn[0] = l ? -0.5f : 0.7f;
        m->w.fu[l].g_ff[0] = l ? 0.6f : -0.4f;
    }

    const int T = c.B * m->N2, K = cfg.sffm_k;
    c.base_topk = ibuf((size_t)cfg.de_depth * T * K);
    c.base_neg = tcalloc((size_t)c.B * img, 1);
    c.base_hinge = tcalloc((size_t)c.B * img, 1);
    /* the motion hinge max(0, (p-t)^2 - (p-prev)^2) bends at p = (t+prev)/2;
     * the prediction does not depend on the target, so draw each target
     * element such that the bend is at least 0.25 away from the prediction */
    model_loss(&c);
    if (residual) {
        /* the same weights without the residual: the prediction must differ by the last frame exactly */
        float *p1 = malloc(sizeof(float) * c.B * img);
        memcpy(p1, m->a.pred, sizeof(float) * c.B * img);
        m->cfg.pred_residual = 0;
        model_loss(&c);
        double worst = 0.0;
        for (size_t i = 0; i < (size_t)c.B * img; i++)
            worst = fmax(worst, fabs((double)p1[i] - m->a.pred[i] - m->a.prev[i]));
        report(worst <= 1e-6, "%s prediction = head output + last frame (max deviation %.2g)", tag, worst);
        m->cfg.pred_residual = 1;
        free(p1);
        model_loss(&c);
    }
    int active = 0;
    for (size_t i = 0; i < (size_t)c.B * img; i++) {
        const float p = m->a.pred[i], prev = m->a.prev[i];
        while (fabsf(2.0f * p - prev - c.target[i]) < 0.5f)
            c.target[i] = sibvad_rng_normal(&rng);
    }
    const double L0 = model_loss(&c);
    for (size_t i = 0; i < (size_t)c.B * img; i++) {
        const double e1 = (double)m->a.pred[i] - c.target[i], e2 = (double)m->a.pred[i] - m->a.prev[i];
        c.base_hinge[i] = e1 * e1 - e2 * e2 > 0.0;
        c.base_neg[i] = m->a.conv1[i] < 0.0f;
        active += c.base_hinge[i];
    }
    sibvad_losses ls;
    sibvad_model_losses(m, &ls);
    report(fabs(L0 - ls.total) <= 1e-5 * fabs(L0) + 1e-6,
           "%s loss in double %.7f vs losses.total %.7f (pred %.4f sem %.4f motion %.4f "
           "[%d of %zu active] balance %.4f)", tag, L0, ls.total, ls.pred, ls.sem, ls.motion, active,
           (size_t)c.B * img, ls.balance);
    for (int l = 0; l < cfg.de_depth; l++)
        memcpy(c.base_topk + (size_t)l * T * K, m->a.sffm_cache[l].topk, sizeof(int) * T * K);
    sibvad_model_zero_grad(m);
    for (int rep = 0; rep < 2; rep++)
        if (sibvad_model_backward(m, &err) < 0) {
            report(0, "%s backward: %s", tag, err.msg);
            sibvad_model_free(m);
            free_all();
            return;
        }
    for (size_t i = 0; i < m->ngrads; i++)
        m->grads[i] *= 0.5f;

    /* the tensors: the list, plus per decoder layer its busiest and its least
     * busy (but routed) filter */
    char dyn[8][96];
    int ndyn = 0;
    for (int l = 0; l < cfg.de_depth && ndyn + 2 <= 8; l++) {
        const int *off = m->a.sffm_cache[l].offsets;
        int most = -1, least = -1;
        for (int i = 0; i < cfg.sffm_nr; i++) {
            const int cnt = off[i + 1] - off[i];
            if (cnt > 0 && (most < 0 || cnt > off[most + 1] - off[most]))
                most = i;
            if (cnt > 0 && (least < 0 || cnt < off[least + 1] - off[least]))
                least = i;
        }
        snprintf(dyn[ndyn++], sizeof dyn[0], "decoder.moes.%d.experts.%d.up_proj.weight", l, most);
        snprintf(dyn[ndyn++], sizeof dyn[0], "decoder.moes.%d.experts.%d.%s", l, least,
                 l ? "down_proj.bias" : "pre_norm.weight");
    }
    fd_problem P = {.loss = model_loss, .flipped = model_flipped, .kink = model_kink, .ctx = &c};
    /* floor: the float rounding of the forward pass. Measure it: move single
     * parameters by a few ulp (the first-order change, from the analytic
     * gradient, is subtracted; what is left is rounding) */
    fd_tol t = {1e-2, 2e-2, 1e-3, 0.0};
    double noise = 0.0;
    for (int probe = 0; probe < 24; probe++) {
        sibvad_tensor *tt = sibvad_model_find_tensor(m, names[rand_index(sizeof names / sizeof *names)]);
        const size_t i = rand_index(tt->numel);
        const float x0 = tt->data[i];
        tt->data[i] = x0 + 8.0f * (nextafterf(fabsf(x0), INFINITY) - fabsf(x0));
        const double dl = model_loss(&c) - L0 - ((double)tt->data[i] - x0) * tt->grad[i];
        tt->data[i] = x0;
        noise = fmax(noise, fabs(dl));
    }
    model_loss(&c);
    t.floor = noise / t.h; /* noise is already a difference of two roundings */
    printf("     model          loss rounding noise: max %.1e over 24 probes -> FD floor %.1e\n", noise,
           t.floor);
    const int nnames = (int)(sizeof names / sizeof *names);
    for (int k = 0; k < nnames + ndyn; k++) {
        const char *nm = k < nnames ? names[k] : dyn[k - nnames];
        sibvad_tensor *tt = sibvad_model_find_tensor(m, nm);
        if (!tt || !tt->grad) {
            report(0, "%s %s: %s", tag, nm, tt ? "has no gradient" : "no such tensor");
            continue;
        }
        check_tensor(tag, nm, &P, tt->data, tt->grad, tt->numel, 3, 1, &t);
    }
    report(!c.fail, "%s every forward pass ran", tag);
    printf("     %s routing boundary: %d retried with h/10, %d skipped\n", tag, P.retried, P.skipped);
    printf("     %s kink crossings during the FD: LeakyReLU %ld, motion hinge %ld "
           "(allowed for by their bound)\n", tag, c.kinks, c.hinges);
    sibvad_model_free(m);
    free_all();
}

int main(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sibvad_rng_seed(&rng, 20240601);

    check_linear(1);
    check_linear(0);
    check_layernorm();
    check_activation(ACT_GELU);
    check_activation(ACT_SILU);
    check_activation(ACT_LEAKY);
    check_patch_embed();
    check_conv2d(3);
    check_conv2d(1);
    check_unpatchify();
    check_attention(1);
    check_attention(0);
    check_vit(1, 1e-6f);
    check_vit(0, 1e-5f);
    check_fusion();
    check_sffm();
    check_losses();
    check_posembed();
    check_adam();
    check_model(0);
    check_model(1);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("time %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
