/* test_parity.c: the C model against its PyTorch twin (tools/reference).
 *
 * Loads tests/fixtures/tiny-parity.safetensors and, with the pixel head that
 * predicts the change from the last frame (pred_residual), tiny-residual-
 * parity.safetensors (both made by tools/reference/make_fixture.py), runs the same batch and compares every
 * stream and activation, the routing decisions, each loss term, every
 * parameter gradient, the losses of 10 Adam steps and the weights after them,
 * and the no-semantic path. Then it changes one weight and checks that the
 * comparison notices (a test that cannot fail proves nothing).
 * Exit status: 0 all equal within tolerance, 1 any mismatch. */
#include "model-internal.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_ACT 2e-4   /* max |c - ref| / max(|ref|, 1e-3) over a tensor: activations */
#define TOL_GRAD 2e-3  /* gradients (longer chains of float32 rounding) */
#define TOL_LOSS 1e-4

static int failures, checks, quiet;

static double rel_err(const float *x, const float *ref, size_t n)
{
    double md = 0.0, mr = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - ref[i]);
        if (!(d <= md)) /* NaN-safe */
            md = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > mr)
            mr = fabs(ref[i]);
    }
    return md / (mr > 1e-3 ? mr : 1e-3);
}

static double worst_grad;

static void report(const char *what, double err, double tol)
{
    checks++;
    if (strncmp(what, "grad.", 5) == 0 && err > worst_grad)
        worst_grad = err;
    int ok = err <= tol;
    if (!ok)
        failures++;
    if (!quiet || !ok)
        printf("%-4s %-58s rel err %.3g (tol %.0e)\n", ok ? "ok" : "FAIL", what, err, tol);
}

static float *fixture_f32(sibvad_st_file *f, const char *name, size_t expect)
{
    const sibvad_st_tensor *t = sibvad_st_find(f, name);
    if (!t) {
        printf("FAIL fixture has no tensor '%s' (regenerate it: tools/reference/make_fixture.py)\n", name);
        failures++;
        return NULL;
    }
    if (expect && t->numel != expect) {
        printf("FAIL fixture tensor '%s' has %zu elements, the model %zu\n", name, t->numel, expect);
        failures++;
        return NULL;
    }
    float *buf = malloc(sizeof(float) * (t->numel ? t->numel : 1));
    sibvad_error err;
    if (!buf || sibvad_st_to_f32(t, buf, t->numel, &err) < 0) {
        printf("FAIL reading '%s': %s\n", name, buf ? err.msg : "out of memory");
        failures++;
        free(buf);
        return NULL;
    }
    return buf;
}

static void compare(sibvad_st_file *f, const char *name, const float *x, size_t n, double tol)
{
    float *ref = fixture_f32(f, name, n);
    if (!ref)
        return;
    report(name, rel_err(x, ref, n), tol);
    free(ref);
}

/* Load every non-fixed tensor from the fixture; fixed ones are compared. */
static void load_weights(sibvad_model *m, sibvad_st_file *f, int check_fixed)
{
    for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        if (t->kind == SIBVAD_TENSOR_FIXED) {
            if (check_fixed)
                compare(f, t->name, t->data, t->numel, 1e-5);
            continue;
        }
        float *ref = fixture_f32(f, t->name, t->numel);
        if (ref) {
            memcpy(t->data, ref, sizeof(float) * t->numel);
            free(ref);
        }
    }
}

static void compare_activations(sibvad_model *m, sibvad_st_file *f)
{
    const sibvad_config *c = &m->cfg;
    const size_t B = (size_t)m->B, T = (size_t)c->frames_in, N1 = (size_t)m->N1, N2 = (size_t)m->N2;
    const size_t D = (size_t)c->d_model, img = (size_t)c->channels * c->img_h * c->img_w;
    const sibvad_acts *a = &m->a;
    char name[64];
    compare(f, "act.bb_embed", a->bb_x[0], B * T * N1 * c->bb_width, TOL_ACT);
    compare(f, "act.bb_out", a->bb_x[c->bb_depth], B * T * N1 * c->bb_width, TOL_ACT);
    compare(f, "act.visual", a->visual, B * N1 * D, TOL_ACT);
    compare(f, "act.skip", a->skip, B * N1 * D, TOL_ACT);
    compare(f, "act.motion_enc", a->mo_x[c->mo_depth], B * (T - 1) * N1 * c->mo_width, TOL_ACT);
    compare(f, "act.motion", a->motion, B * N1 * D, TOL_ACT);
    compare(f, "act.semantic", a->semantic, B * D, TOL_ACT);
    compare(f, "act.fused", a->fu_x[c->fu_depth], B * N1 * D, TOL_ACT);
    compare(f, "act.dec_in", a->de_x[0], B * N2 * D, TOL_ACT);
    for (int l = 0; l < c->de_depth; l++) {
        snprintf(name, sizeof name, "act.dec_block.%d", l);
        compare(f, name, a->de_blk[l], B * N2 * D, TOL_ACT);
        snprintf(name, sizeof name, "act.sffm.%d", l);
        compare(f, name, a->de_x[l + 1], B * N2 * D, TOL_ACT);
        /* routing decisions must be identical */
        snprintf(name, sizeof name, "act.sffm_topk.%d", l);
        const size_t nk = B * N2 * c->sffm_k;
        float *ref = fixture_f32(f, name, nk);
        if (ref) {
            size_t diff = 0;
            for (size_t i = 0; i < nk; i++)
                diff += (int)ref[i] != a->sffm_cache[l].topk[i];
            report(name, (double)diff, 0.0);
            free(ref);
        }
    }
    compare(f, "act.dec_norm", a->de_norm, B * N2 * D, TOL_ACT);
    compare(f, "act.sem_pred", a->sem_pred, B * c->sem_dim, TOL_ACT);
    compare(f, "act.pred_patches", a->pred_patches, B * m->Np * c->patch * c->patch * c->channels, TOL_ACT);
    compare(f, "act.pred", a->pred, B * img, TOL_ACT);
}

/* Every trainable tensor's gradient (grad = 1) or value against "<prefix>.<name>";
 * only failures are printed. Returns how many were compared. */
static int compare_trainable(sibvad_model *m, sibvad_st_file *f, const char *prefix, int grad, double tol)
{
    int n = 0;
    quiet = 1;
    for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        if (!t->grad)
            continue;
        char name[300];
        snprintf(name, sizeof name, "%s.%s", prefix, t->name);
        compare(f, name, grad ? t->grad : t->data, t->numel, tol);
        n++;
    }
    quiet = 0;
    return n;
}

static void compare_loss(sibvad_st_file *f, const char *name, float value)
{
    float *ref = fixture_f32(f, name, 1);
    if (ref) {
        report(name, fabs(value - ref[0]) / fmax(fabs(ref[0]), 1e-6), TOL_LOSS);
        free(ref);
    }
}

/* One fixture: the tiny preset, with the spec's pixel head or (residual) the
 * one that predicts the change from the last input frame. */
static int run_fixture(const char *file, int residual)
{
    const char *dir = getenv("SIBVAD_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", file);
    printf("== %s\n", file);
    sibvad_error err = {{0}};
    sibvad_st_file *f = NULL;
    if (sibvad_st_open(&f, path, &err) < 0) {
        printf("FAIL cannot open the fixture: %s\n", err.msg);
        return 1;
    }
    const char *cj = sibvad_st_metadata(f, "sibvad_config");
    sibvad_config cfg, tiny;
    if (!cj || sibvad_config_from_json(&cfg, cj, strlen(cj), &err) < 0) {
        printf("FAIL fixture config: %s\n", cj ? err.msg : "no sibvad_config metadata");
        return 1;
    }
    sibvad_config_preset(&tiny, "tiny", NULL);
    tiny.pred_residual = residual;
    if (memcmp(&cfg, &tiny, sizeof cfg) != 0) {
        printf("FAIL the fixture's config differs from the tiny preset%s: regenerate the fixture\n",
               residual ? " with pred_residual 1" : "");
        return 1;
    }
    sibvad_model *m = sibvad_model_create(&cfg, 0, &err);
    if (!m || sibvad_model_prepare(m, 2, 1, &err) < 0) {
        printf("FAIL model: %s\n", err.msg);
        return 1;
    }
    const int B = 2;
    const size_t img = (size_t)cfg.channels * cfg.img_h * cfg.img_w;
    float *frames = fixture_f32(f, "in.frames", B * cfg.frames_in * img);
    float *target = fixture_f32(f, "in.target", B * img);
    float *sem = fixture_f32(f, "in.semantic", (size_t)B * cfg.sem_dim);
    if (!frames || !target || !sem)
        return 1;

    /* 1. forward: every stream and activation, each loss */
    load_weights(m, f, 1);
    if (sibvad_model_forward(m, frames, target, sem, B, &err) < 0) {
        printf("FAIL forward: %s\n", err.msg);
        return 1;
    }
    compare_activations(m, f);
    sibvad_losses L;
    sibvad_model_losses(m, &L);
    compare_loss(f, "loss.total", L.total);
    compare_loss(f, "loss.pred", L.pred);
    compare_loss(f, "loss.sem", L.sem);
    compare_loss(f, "loss.motion", L.motion);
    compare_loss(f, "loss.balance", L.balance);

    /* 2. backward: every parameter gradient */
    sibvad_model_zero_grad(m);
    if (sibvad_model_backward(m, &err) < 0) {
        printf("FAIL backward: %s\n", err.msg);
        return 1;
    }
    int ngrad = compare_trainable(m, f, "grad", 1, TOL_GRAD);
    printf("ok   %d parameter gradients compared, worst rel err %.3g (failures listed above)\n", ngrad,
           worst_grad);

    /* 3. ten Adam steps on the same batch */
    float *ref_losses = fixture_f32(f, "adam.losses", 10);
    double worst = 0.0;
    for (int s = 0; s < 10 && ref_losses; s++) {
        sibvad_model_zero_grad(m);
        if (sibvad_model_forward(m, frames, target, sem, B, &err) < 0 || sibvad_model_backward(m, &err) < 0 ||
            sibvad_model_step(m, &err) < 0) {
            printf("FAIL Adam step %d: %s\n", s, err.msg);
            return 1;
        }
        sibvad_model_losses(m, &L);
        double e = fabs(L.total - ref_losses[s]) / fmax(fabs(ref_losses[s]), 1e-6);
        printf("     Adam step %d: loss %.7f, PyTorch %.7f\n", s, L.total, ref_losses[s]);
        worst = e > worst ? e : worst;
    }
    report("adam.losses (10 steps)", worst, TOL_LOSS);
    free(ref_losses);
    compare_trainable(m, f, "after", 0, TOL_ACT);
    printf("ok   weights after 10 steps compared (failures listed above)\n");

    /* 4. no semantic input, original weights */
    load_weights(m, f, 0);
    if (sibvad_model_forward(m, frames, target, NULL, B, &err) < 0) {
        printf("FAIL forward without semantics: %s\n", err.msg);
        return 1;
    }
    compare(f, "nosem.pred", m->a.pred, B * img, TOL_ACT);
    sibvad_model_losses(m, &L);
    compare_loss(f, "nosem.loss.total", L.total);

    /* 5. the comparison must notice a single changed weight */
    int before = failures;
    sibvad_tensor *t = sibvad_model_find_tensor(m, "decoder.decoder_blocks.1.mlp.fc2.weight");
    t->data[3] += 0.05f;
    sibvad_model_forward(m, frames, target, sem, B, &err);
    float *ref_pred = fixture_f32(f, "act.pred", B * img);
    int noticed = ref_pred && rel_err(m->a.pred, ref_pred, B * img) > TOL_ACT;
    free(ref_pred);
    failures = before;
    report("a changed weight (decoder.decoder_blocks.1.mlp.fc2) is detected", noticed ? 0.0 : 1.0, 0.0);

    free(frames);
    free(target);
    free(sem);
    sibvad_model_free(m);
    sibvad_st_close(f);
    return 0;
}

int main(void)
{
    int rc = run_fixture("tiny-parity.safetensors", 0);
    rc |= run_fixture("tiny-residual-parity.safetensors", 1);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return rc || failures ? 1 : 0;
}
