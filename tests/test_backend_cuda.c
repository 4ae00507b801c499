/* test_backend_cuda.c: the CUDA backend against the CPU backend. Exits 77
 * (skipped) when sibvad_backend_open("cuda:fp32") fails (no module, driver or
 * GPU) and says why. The parity checks name the fp32 precision, so
 * SIBVAD_CUDA_TF32 in the environment cannot loosen them. Else: every op on
 * random inputs (backend-check.h; relative error 1e-4 for matrix-product and
 * reduction ops, 1e-5 for elementwise and layout ops), while a second context
 * runs the same op checks on its own thread (two contexts at once); the
 * convolutions again on a context opened with SIBVAD_CUDA_CONV=direct (with
 * cuDNN the first never runs the direct kernels); the SFFM op on "cuda:tf32"
 * and "cuda:bf16" (router probabilities within 1e-5 and the same top-K picks:
 * the router stays fp32; the rest within 2e-2 / 3e-2); then whole models
 * moved with sibvad_model_use_backend against the same models on the CPU:
 * the tiny preset (and its frozen-backbone form) through forward, backward
 * and 10 Adam steps, inference scores, a stream, model files and checkpoints
 * written from the backend, and the move back. Whole-model results are
 * compared by ||got - ref|| / ||ref|| <= 1e-3. With SIBVAD_BACKEND_EXACT=1
 * every comparison is bitwise: the test suite runs it so on a stand-in module
 * (backend-fake.c, CPU arithmetic behind memory the host cannot touch) to
 * check the model's own code for other backends. */
#include <pthread.h>
#include <unistd.h>

#include "backend-check.h"
#include "model-internal.h"
#include "test-util.h"

static int exact;

static double tol_model(void) { return exact ? 0.0 : 1e-3; }

/* ||got - ref|| / ||ref|| (or bitwise when exact) */
static void cmp_model(const char *what, const float *ref, const float *got, size_t n)
{
    if (exact) {
        size_t i = 0;
        while (i < n && memcmp(ref + i, got + i, sizeof(float)) == 0)
            i++;
        CHECK(i == n, "%s: bitwise equal (%zu values%s)", what, n, i == n ? "" : ", NOT at the first difference");
        if (i < n)
            printf("       first difference at %zu: %.9g vs %.9g\n", i, got[i], ref[i]);
        return;
    }
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)got[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    const double err = sqrt(num) / fmax(sqrt(den), 1e-30);
    CHECK(isfinite(err) && err <= tol_model(), "%s: rel err %.3g (tol %.0e, %zu values)", what, err, tol_model(), n);
}

static void cmp_losses(const char *what, const sibvad_losses *ref, const sibvad_losses *got)
{
    const float r[5] = {ref->total, ref->pred, ref->sem, ref->motion, ref->balance};
    const float g[5] = {got->total, got->pred, got->sem, got->motion, got->balance};
    cmp_model(what, r, g, 5);
}

/* every tensor's values (grad = 0), gradients (1) or Adam moments (2, 3), in table order */
static float *gather(sibvad_model *m, int what, size_t *n)
{
    size_t tot = 0;
    for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        if (what == 0 || t->grad)
            tot += t->numel;
    }
    float *out = malloc(sizeof(float) * (tot ? tot : 1)), *o = out;
    for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        const float *src = what == 0 ? t->data : what == 1 ? t->grad : sibvad_model_moment(m, i, what - 2);
        if (what == 0 || t->grad) {
            memcpy(o, src, sizeof(float) * t->numel);
            o += t->numel;
        }
    }
    *n = tot;
    return out;
}

static void cmp_tensors(const char *what, sibvad_model *ref, sibvad_model *got, int kind)
{
    size_t n0, n1;
    float *a = gather(ref, kind, &n0), *b = gather(got, kind, &n1);
    if (n0 != n1)
        CHECK(0, "%s: %zu values vs %zu", what, n1, n0);
    else
        cmp_model(what, a, b, n0);
    free(a);
    free(b);
}

static float *frand(sibvad_rng *r, size_t n)
{
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        p[i] = sibvad_rng_normal(r);
    return p;
}

/* a CPU model and its twin on the backend under test, trained side by side */
static void check_model(const char *label, sibvad_config cfg)
{
    sibvad_error e = {{0}};
    char w[160];
    const int B = 2, T = cfg.frames_in, S = cfg.sem_dim;
    const size_t img = (size_t)cfg.channels * cfg.img_h * cfg.img_w, HW = (size_t)cfg.img_h * cfg.img_w;
    sibvad_rng r;
    sibvad_rng_seed(&r, 99);
    float *frames = frand(&r, (size_t)B * T * img), *target = frand(&r, (size_t)B * img);
    float *sem = frand(&r, (size_t)B * S);
    sibvad_model *mc = sibvad_model_create(&cfg, 11, &e), *mb = sibvad_model_create(&cfg, 11, &e);
    if (!mc || !mb) {
        CHECK(0, "%s: create: %s", label, e.msg);
        return;
    }
    /* move before prepare (the twin) */
    int rc = sibvad_model_use_backend(mb, "cuda:fp32", &e);
    CHECK(rc == 0, "%s: use_backend(\"cuda:fp32\") before prepare: %s (%s)", label, rc ? e.msg : "ok",
          sibvad_model_backend_name(mb));
    if (rc < 0)
        goto out;
    CHECK(sibvad_model_prepare(mc, B, 1, &e) == 0 && sibvad_model_prepare(mb, B, 1, &e) == 0, "%s: prepare: %s",
          label, e.msg);
    cmp_tensors("initial parameters on the backend", mc, mb, 0);

    /* 10 steps of training; the fourth without captions */
    for (int step = 0; step < 10; step++) {
        const float *s = step == 3 ? NULL : sem;
        sibvad_model_zero_grad(mc);
        sibvad_model_zero_grad(mb);
        if (sibvad_model_forward(mc, frames, target, s, B, &e) < 0 ||
            sibvad_model_forward(mb, frames, target, s, B, &e) < 0) {
            CHECK(0, "%s: forward: %s", label, e.msg);
            goto out;
        }
        sibvad_losses lc, lb;
        sibvad_model_losses(mc, &lc);
        sibvad_model_losses(mb, &lb);
        snprintf(w, sizeof w, "%s step %d: losses (total %.6g vs %.6g)", label, step, lb.total, lc.total);
        cmp_losses(w, &lc, &lb);
        if (step == 0 || step == 3) {
            snprintf(w, sizeof w, "%s step %d: prediction", label, step);
            cmp_model(w, sibvad_model_prediction(mc), sibvad_model_prediction(mb), B * img);
            if (s) {
                snprintf(w, sizeof w, "%s step %d: semantic prediction", label, step);
                cmp_model(w, sibvad_model_semantic_prediction(mc), sibvad_model_semantic_prediction(mb), (size_t)B * S);
            } else {
                CHECK(sibvad_model_semantic_prediction(mb) == NULL, "%s: no semantic prediction without captions",
                      label);
            }
            float v[2][2], sm[2][2], *em[2] = {malloc(sizeof(float) * B * HW), malloc(sizeof(float) * B * HW)};
            sibvad_model_scores(mc, v[0], sm[0], em[0], &e);
            sibvad_model_scores(mb, v[1], sm[1], em[1], &e);
            snprintf(w, sizeof w, "%s step %d: scores (visual, semantic, error map)", label, step);
            cmp_model(w, v[0], v[1], B);
            cmp_model(w, sm[0], sm[1], B);
            cmp_model(w, em[0], em[1], B * HW);
            sibvad_model_scores(mb, NULL, NULL, em[1], &e); /* any output may be NULL */
            cmp_model(w, em[0], em[1], B * HW);
            free(em[0]);
            free(em[1]);
        }
        if (sibvad_model_backward(mc, &e) < 0 || sibvad_model_backward(mb, &e) < 0) {
            CHECK(0, "%s: backward: %s", label, e.msg);
            goto out;
        }
        if (step == 0 || step == 3) {
            snprintf(w, sizeof w, "%s step %d: every parameter gradient", label, step);
            cmp_tensors(w, mc, mb, 1);
        }
        sibvad_model_step(mc, &e);
        sibvad_model_step(mb, &e);
    }
    cmp_tensors("parameters after 10 Adam steps", mc, mb, 0);
    cmp_tensors("Adam first moments after 10 steps", mc, mb, 2);
    cmp_tensors("Adam second moments after 10 steps", mc, mb, 3);
    CHECK(sibvad_model_adam_step(mb) == 10, "%s: Adam step count 10", label);

    /* model files written from the backend: what they hold is what the backend holds */
    const char *path = tpath("backend.safetensors"), *ck = tpath("backend-ckpt.safetensors");
    CHECK(sibvad_model_save(mb, path, &e) == 0 && sibvad_model_save_checkpoint(mb, ck, "{\"k\": 1}", &e) == 0,
          "%s: save and save_checkpoint from the backend: %s", label, e.msg[0] ? e.msg : "ok");
    sibvad_model *ml = sibvad_model_load(path, &e);
    char *state = NULL;
    sibvad_model *mk = sibvad_model_load_checkpoint(ck, &state, &e);
    if (ml && mk) {
        const int ex = exact;
        exact = 1; /* downloads are exact */
        cmp_tensors("a saved model holds the backend's parameters", mb, ml, 0);
        cmp_tensors("a checkpoint holds the backend's first moments", mb, mk, 2);
        cmp_tensors("a checkpoint holds the backend's second moments", mb, mk, 3);
        exact = ex;
        CHECK(sibvad_model_adam_step(mk) == 10 && state && !strcmp(state, "{\"k\": 1}"),
              "%s: the checkpoint's step count and state", label);
    } else {
        CHECK(0, "%s: load: %s", label, e.msg);
    }
    free(state);
    sibvad_model_free(ml);
    sibvad_model_free(mk);

    /* inference: prepared again (in place), then a stream on each model */
    CHECK(sibvad_model_prepare(mc, B, 0, &e) == 0 && sibvad_model_prepare(mb, B, 0, &e) == 0,
          "%s: prepare for inference: %s", label, e.msg[0] ? e.msg : "ok");
    sibvad_model_forward(mc, frames, target, sem, B, &e);
    sibvad_model_forward(mb, frames, target, sem, B, &e);
    snprintf(w, sizeof w, "%s inference: prediction", label);
    cmp_model(w, sibvad_model_prediction(mc), sibvad_model_prediction(mb), B * img);
    sibvad_stream *sc = sibvad_stream_new(mc, &e), *sb = sibvad_stream_new(mb, &e);
    CHECK(sc && sb, "%s: streams: %s", label, e.msg[0] ? e.msg : "ok");
    int scored = 0;
    for (int k = 0; sc && sb && k < 2 * T + 2; k++) {
        sibvad_stream_result rc_, rb;
        const float *f = frames + (size_t)(k % (B * T)) * img, *s = k % 3 ? sem : NULL;
        if (sibvad_stream_push(sc, f, s, &rc_, &e) < 0 || sibvad_stream_push(sb, f, s, &rb, &e) < 0) {
            CHECK(0, "%s: stream push: %s", label, e.msg);
            break;
        }
        if (rc_.scored != rb.scored || rc_.warmup_left != rb.warmup_left) {
            CHECK(0, "%s: stream frame %d: scored %d/%d, warm-up %d/%d", label, k, rb.scored, rc_.scored,
                  rb.warmup_left, rc_.warmup_left);
            continue;
        }
        if (!rb.scored)
            continue;
        scored++;
        float a[2] = {rc_.visual, rc_.semantic}, b[2] = {rb.visual, rb.semantic};
        snprintf(w, sizeof w, "%s stream frame %d: scores, error map, prediction", label, k);
        cmp_model(w, a, b, 2);
        cmp_model(w, rc_.error_map, rb.error_map, HW);
        cmp_model(w, rc_.prediction, rb.prediction, img);
    }
    CHECK(scored == T + 2, "%s: the streams scored %d frames (want %d)", label, scored, T + 2);
    sibvad_stream_free(sc);
    sibvad_stream_free(sb);

    /* batched streams: the B*T frames in chunks of 3, 2 (with semantic input: B = 2 vectors), 3 */
    sc = sibvad_stream_new_batched(mc, 3, &e);
    sb = sibvad_stream_new_batched(mb, 3, &e);
    CHECK(sc && sb, "%s: batched streams: %s", label, e.msg[0] ? e.msg : "ok");
    scored = 0;
    for (int k0 = 0, n = 3; sc && sb && k0 + n <= B * T; k0 += n, n = n == 3 ? 2 : 3) {
        sibvad_stream_result rc_[3], rb[3];
        const float *f = frames + (size_t)k0 * img, *s = n == 2 ? sem : NULL;
        if (sibvad_stream_push_batch(sc, f, s, n, rc_, &e) < 0 || sibvad_stream_push_batch(sb, f, s, n, rb, &e) < 0) {
            CHECK(0, "%s: stream push_batch: %s", label, e.msg);
            break;
        }
        for (int i = 0; i < n; i++) {
            if (rc_[i].scored != rb[i].scored || rc_[i].warmup_left != rb[i].warmup_left) {
                CHECK(0, "%s: batched stream frame %d: scored %d/%d", label, k0 + i, rb[i].scored, rc_[i].scored);
                continue;
            }
            if (!rb[i].scored)
                continue;
            scored++;
            float a[2] = {rc_[i].visual, rc_[i].semantic}, b[2] = {rb[i].visual, rb[i].semantic};
            snprintf(w, sizeof w, "%s batched stream frame %d: scores, error map, prediction", label, k0 + i);
            cmp_model(w, a, b, 2);
            cmp_model(w, rc_[i].error_map, rb[i].error_map, HW);
            cmp_model(w, rc_[i].prediction, rb[i].prediction, img);
        }
    }
    CHECK(scored == B * T - T, "%s: the batched streams scored %d frames (want %d)", label, scored, B * T - T);
    sibvad_stream_free(sc);
    sibvad_stream_free(sb);

    /* back to the CPU: the parameters are the backend's, the activations prepared again */
    size_t n0, n1;
    float *before = gather(mb, 0, &n0);
    CHECK(sibvad_model_use_backend(mb, "cpu", &e) == 0 && !strcmp(sibvad_model_backend_name(mb), "cpu"),
          "%s: use_backend(\"cpu\") after training: %s", label, e.msg[0] ? e.msg : "ok");
    float *after = gather(mb, 0, &n1);
    CHECK(n0 == n1 && memcmp(before, after, sizeof(float) * n0) == 0,
          "%s: the parameters come back to the CPU exactly", label);
    free(before);
    free(after);
    CHECK(sibvad_model_forward(mb, frames, target, sem, B, &e) == 0, "%s: forward on the CPU after the move back: %s",
          label, e.msg[0] ? e.msg : "ok");
    snprintf(w, sizeof w, "%s: prediction after the move back", label);
    cmp_model(w, sibvad_model_prediction(mc), sibvad_model_prediction(mb), B * img);
    /* and to the backend once more, after prepare (activations follow) */
    CHECK(sibvad_model_use_backend(mb, "cuda:fp32", &e) == 0 &&
              sibvad_model_forward(mb, frames, target, sem, B, &e) == 0,
          "%s: moved to the backend again, prepared activations follow: %s", label, e.msg[0] ? e.msg : "ok");
    snprintf(w, sizeof w, "%s: prediction after the second move", label);
    cmp_model(w, sibvad_model_prediction(mc), sibvad_model_prediction(mb), B * img);
out:
    sibvad_model_free(mc);
    sibvad_model_free(mb);
    free(frames);
    free(target);
    free(sem);
}

/* The speed precisions (tf32, bf16): the same tiny model on "cuda:<p>" stays
 * close to the CPU (relative tolerance tol on the losses and the prediction
 * of one forward) and 10 Adam steps lower its loss as on the CPU. Bitwise on
 * the stand-in module, whose arithmetic is the CPU's whatever the precision. */
static void check_precision(const char *precision, double tol)
{
    sibvad_error e = {{0}};
    char name[32], w[160];
    snprintf(name, sizeof name, "cuda:%s", precision);
    sibvad_config cfg;
    sibvad_config_preset(&cfg, "tiny", &e);
    const int B = 2, T = cfg.frames_in;
    const size_t img = (size_t)cfg.channels * cfg.img_h * cfg.img_w;
    sibvad_rng r;
    sibvad_rng_seed(&r, 5);
    float *frames = frand(&r, (size_t)B * T * img), *target = frand(&r, (size_t)B * img);
    float *sem = frand(&r, (size_t)B * cfg.sem_dim);
    sibvad_model *mc = sibvad_model_create(&cfg, 3, &e), *mb = sibvad_model_create(&cfg, 3, &e);
    if (!mc || !mb) {
        CHECK(0, "%s: create: %s", name, e.msg);
        goto out;
    }
    int rc = sibvad_model_use_backend(mb, name, &e);
    CHECK(rc == 0, "use_backend(\"%s\"): %s (%s)", name, rc ? e.msg : "ok", sibvad_model_backend_name(mb));
    if (rc < 0)
        goto out;
    CHECK(strchr(sibvad_model_backend_name(mb), ':') && strstr(sibvad_model_backend_name(mb), precision),
          "the backend's name says the precision: %s", sibvad_model_backend_name(mb));
    CHECK(sibvad_model_prepare(mc, B, 1, &e) == 0 && sibvad_model_prepare(mb, B, 1, &e) == 0, "%s: prepare: %s",
          name, e.msg);
    sibvad_losses first_c = {0}, first_b = {0}, lc = {0}, lb = {0};
    for (int step = 0; step < 10; step++) {
        sibvad_model_zero_grad(mc);
        sibvad_model_zero_grad(mb);
        if (sibvad_model_forward(mc, frames, target, sem, B, &e) < 0 ||
            sibvad_model_forward(mb, frames, target, sem, B, &e) < 0 || sibvad_model_backward(mc, &e) < 0 ||
            sibvad_model_backward(mb, &e) < 0 || sibvad_model_step(mc, &e) < 0 || sibvad_model_step(mb, &e) < 0) {
            CHECK(0, "%s: training step %d: %s", name, step, e.msg);
            goto out;
        }
        sibvad_model_losses(mc, &lc);
        sibvad_model_losses(mb, &lb);
        if (step == 0) {
            first_c = lc;
            first_b = lb;
            const float rl[2] = {lc.total, lc.pred}, gl[2] = {lb.total, lb.pred};
            double num = 0, den = 0;
            for (int i = 0; i < 2; i++)
                num += ((double)gl[i] - rl[i]) * ((double)gl[i] - rl[i]), den += (double)rl[i] * rl[i];
            CHECK(sqrt(num) <= tol * sqrt(den), "%s: first losses %.6g/%.6g vs CPU %.6g/%.6g (tol %.0e)", name,
                  lb.total, lb.pred, lc.total, lc.pred, tol);
            const float *pc = sibvad_model_prediction(mc), *pb = sibvad_model_prediction(mb);
            num = den = 0;
            for (size_t i = 0; i < (size_t)B * img; i++)
                num += ((double)pb[i] - pc[i]) * ((double)pb[i] - pc[i]), den += (double)pc[i] * pc[i];
            snprintf(w, sizeof w, "%s: first prediction", name);
            CHECK(sqrt(num) <= tol * sqrt(den), "%s: rel err %.3g (tol %.0e)", w, sqrt(num) / sqrt(den), tol);
        }
    }
    CHECK(lb.total < first_b.total && fabs((double)lb.total - lc.total) <= 2 * tol * lc.total,
          "%s: 10 Adam steps lower the loss as on the CPU: %.5g -> %.5g (CPU %.5g -> %.5g, tol %.0e)", name,
          first_b.total, lb.total, first_c.total, lc.total, 2 * tol);
out:
    sibvad_model_free(mc);
    sibvad_model_free(mb);
    free(frames);
    free(target);
    free(sem);
}

/* The op checks' results into the totals */
static void add_op_results(const char *what, const bcheck *X)
{
    printf("%s: %d of %d op comparisons failed\n", what, X->fails, X->checks);
    failures += X->fails;
    checks += X->checks;
}

static double tol_gemm(void) { return exact ? 0.0 : 1e-4; }
static double tol_elem(void) { return exact ? 0.0 : 1e-5; }

static void *op_checks_thread(void *arg)
{
    bc_run_all((bcheck *)arg);
    return NULL;
}

/* Every op on be, while a second fp32 context runs the same checks on its own
 * thread: contexts share nothing (no globals), so both pass. */
static void check_ops_two_contexts(sibvad_be be)
{
    sibvad_error e = {{0}};
    bcheck *X = malloc(sizeof *X), *X2 = malloc(sizeof *X2);
    if (!X || !X2) {
        CHECK(0, "op checks: out of memory");
        free(X);
        free(X2);
        return;
    }
    sibvad_backend *be2 = sibvad_backend_open("cuda:fp32", &e);
    CHECK(be2 != NULL, "a second \"cuda:fp32\" context: %s", be2 ? be2->name : e.msg);
    pthread_t th;
    int threaded = 0;
    if (be2) {
        bc_init(X2, sibvad_backend_cpu(), be2, tol_gemm(), tol_elem());
        X2->tag = "[second context, own thread]";
        X2->quiet = 1; /* its failures only: the lines of both would interleave */
        threaded = pthread_create(&th, NULL, op_checks_thread, X2) == 0;
        CHECK(threaded, "a thread for the second context");
    }
    bc_init(X, sibvad_backend_cpu(), be, tol_gemm(), tol_elem());
    bc_run_all(X);
    add_op_results("ops", X);
    if (threaded) {
        pthread_join(th, NULL);
        add_op_results("ops on a second context, on its own thread, at the same time", X2);
    }
    sibvad_backend_release(be2);
    free(X);
    free(X2);
}

/* The convolutions on the direct kernels: a context opened with
 * SIBVAD_CUDA_CONV=direct (the variable as it was afterwards). */
static void check_direct_conv(void)
{
    sibvad_error e = {{0}};
    const char *old = getenv("SIBVAD_CUDA_CONV");
    char *saved = old ? strdup(old) : NULL;
    setenv("SIBVAD_CUDA_CONV", "direct", 1);
    sibvad_backend *be = sibvad_backend_open("cuda:fp32", &e);
    if (saved)
        setenv("SIBVAD_CUDA_CONV", saved, 1);
    else
        unsetenv("SIBVAD_CUDA_CONV");
    free(saved);
    CHECK(be != NULL, "a context with SIBVAD_CUDA_CONV=direct: %s", be ? be->name : e.msg);
    if (!be)
        return;
    bcheck *X = malloc(sizeof *X);
    if (X) {
        bc_init(X, sibvad_backend_cpu(), be, tol_gemm(), tol_elem());
        X->tag = "[SIBVAD_CUDA_CONV=direct]";
        bc_run_conv(X);
        add_op_results("convolutions on the direct kernels", X);
    }
    free(X);
    sibvad_backend_release(be);
}

/* The SFFM op at a speed precision: the router is kept fp32 (cu_gemm_fp32),
 * so its probabilities stay within 1e-5 of the CPU's and the top-K picks and
 * the grouping are the same; the other outputs within tol. Bitwise on the
 * stand-in module. */
static void check_sffm_precision(const char *precision, double tol)
{
    sibvad_error e = {{0}};
    char name[32];
    snprintf(name, sizeof name, "cuda:%s", precision);
    sibvad_backend *be = sibvad_backend_open(name, &e);
    CHECK(be != NULL, "open \"%s\": %s", name, be ? be->name : e.msg);
    if (!be)
        return;
    bcheck *X = malloc(sizeof *X);
    if (X) {
        bc_init(X, sibvad_backend_cpu(), be, exact ? 0.0 : tol, exact ? 0.0 : tol);
        X->tol_router = exact ? 0.0 : 1e-5;
        bc_run_sffm(X);
        snprintf(name, sizeof name, "the SFFM at %s", precision);
        add_op_results(name, X);
    }
    free(X);
    sibvad_backend_release(be);
}

int main(void)
{
    sibvad_error e = {{0}};
    /* fp32 by name: SIBVAD_CUDA_TF32=1 in the environment would otherwise make
     * "cuda" TF32, and the parity checks fail for no fault of the code */
    sibvad_backend *be = sibvad_backend_open("cuda:fp32", &e);
    if (!be) {
        printf("SKIP: no CUDA backend: %s\n", e.msg);
        return 77;
    }
    exact = getenv("SIBVAD_BACKEND_EXACT") && atoi(getenv("SIBVAD_BACKEND_EXACT")) > 0;
    printf("backend \"%s\" against the CPU backend, %s\n", be->name, exact ? "bitwise" : "with tolerances");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sibvad-test-backend-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }

    check_ops_two_contexts(be);
    sibvad_backend_release(be);
    check_direct_conv();
    check_sffm_precision("tf32", 2e-2);
    check_sffm_precision("bf16", 3e-2);

    sibvad_config cfg;
    sibvad_config_preset(&cfg, "tiny", &e);
    check_model("tiny", cfg);
    cfg.bb_frozen = 1;
    check_model("tiny, frozen backbone", cfg);
    check_precision("tf32", exact ? 0.0 : 5e-3);
    check_precision("bf16", exact ? 0.0 : 3e-2);

    rm_rf(tmpdir);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
