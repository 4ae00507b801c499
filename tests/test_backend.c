/* test_backend.c: the CPU backend (backend-cpu.c) against the plain functions
 * of ops.h / blocks.h and plain C loops, bitwise, op by op on random inputs
 * (backend-check.h), plus the backend loader and the model's backend API on
 * the CPU. The comparison of another backend (the CUDA module) against the CPU
 * is test_backend_cuda.c. */
#include "backend-check.h"
#include "model-internal.h"
#include "test-util.h"

/* ---- the reference: every member a plain ops.h call or a plain C loop ---- */

static void *p_alloc(sibvad_be be, size_t bytes) { (void)be; return malloc(bytes ? bytes : 1); }
static void p_free(sibvad_be be, void *p) { (void)be; free(p); }
static void p_copy(sibvad_be be, void *d, const void *s, size_t n) { (void)be; memmove(d, s, n); }
static void p_zero(sibvad_be be, void *d, size_t n) { (void)be; memset(d, 0, n); }
static int p_sync(sibvad_be be, sibvad_error *e) { (void)be, (void)e; return 0; }

#define WRAP(ret, name, params, args) \
    static ret p_##name params { (void)be; return sibvad_##name args; }
#define WRAPV(name, params, args) \
    static void p_##name params { (void)be; sibvad_##name args; }

WRAPV(linear_forward, (sibvad_be be, float *out, const float *in, const float *W, const float *b, int R, int I,
     int O), (out, in, W, b, R, I, O))
WRAPV(linear_backward, (sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
     const float *W, int R, int I, int O), (din, dW, db, dout, in, W, R, I, O))
WRAPV(layernorm_forward, (sibvad_be be, float *out, float *mean, float *rstd, const float *in, const float *w,
     const float *b, int R, int C, float eps), (out, mean, rstd, in, w, b, R, C, eps))
WRAPV(layernorm_backward, (sibvad_be be, float *din, float *dw, float *db, const float *dout, const float *in,
     const float *w, const float *mean, const float *rstd, int R, int C), (din, dw, db, dout, in, w, mean, rstd, R, C))
WRAPV(gelu_forward, (sibvad_be be, float *out, const float *in, size_t n), (out, in, n))
WRAPV(gelu_backward, (sibvad_be be, float *din, const float *dout, const float *in, size_t n), (din, dout, in, n))
WRAPV(silu_forward, (sibvad_be be, float *out, const float *in, size_t n), (out, in, n))
WRAPV(silu_backward, (sibvad_be be, float *din, const float *dout, const float *in, size_t n), (din, dout, in, n))
WRAPV(leakyrelu_forward, (sibvad_be be, float *out, const float *in, size_t n, float s), (out, in, n, s))
WRAPV(leakyrelu_backward, (sibvad_be be, float *din, const float *dout, const float *in, size_t n, float s),
     (din, dout, in, n, s))
WRAPV(patch_embed_forward, (sibvad_be be, float *tok, float *cols, const float *img, const float *W,
     const float *b, const float *cls, const float *pos, int Bi, int C, int Hh, int Ww, int p, int D),
     (tok, cols, img, W, b, cls, pos, Bi, C, Hh, Ww, p, D))
WRAPV(patch_embed_backward, (sibvad_be be, float *dW, float *db, float *dcls, float *dpos, const float *dtok,
     const float *cols, int Bi, int C, int Hh, int Ww, int p, int D), (dW, db, dcls, dpos, dtok, cols, Bi, C, Hh, Ww,
     p, D))
WRAPV(conv2d_forward, (sibvad_be be, float *out, const float *in, const float *W, const float *b, int B, int Ci,
     int Co, int Hh, int Ww, int k), (out, in, W, b, B, Ci, Co, Hh, Ww, k))
WRAPV(conv2d_backward, (sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
     const float *W, int B, int Ci, int Co, int Hh, int Ww, int k), (din, dW, db, dout, in, W, B, Ci, Co, Hh, Ww, k))
WRAPV(unpatchify, (sibvad_be be, float *img, const float *patches, int B, int C, int gh, int gw, int p),
     (img, patches, B, C, gh, gw, p))
WRAPV(unpatchify_backward, (sibvad_be be, float *dp, const float *dimg, int B, int C, int gh, int gw, int p),
     (dp, dimg, B, C, gh, gw, p))
WRAPV(attention_forward, (sibvad_be be, float *out, float *probs, const float *q, int ldq, const float *k,
     int ldk, const float *v, int ldv, int B, int N, int M, int H, int dh), (out, probs, q, ldq, k, ldk, v, ldv, B, N,
     M, H, dh))
WRAPV(attention_backward, (sibvad_be be, float *dq, float *dk, float *dv, float *scratch, const float *dout,
     const float *probs, const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int B, int N,
     int M, int H, int dh), (dq, dk, dv, scratch, dout, probs, q, ldq, k, ldk, v, ldv, B, N, M, H, dh))
WRAP(float, mse_forward, (sibvad_be be, const float *a, const float *b, size_t n), (a, b, n))
WRAPV(mse_backward, (sibvad_be be, float *da, const float *a, const float *b, size_t n, float s), (da, a, b, n, s))
WRAP(float, motion_loss_forward, (sibvad_be be, const float *p, const float *t, const float *q, size_t n),
     (p, t, q, n))
WRAPV(motion_loss_backward, (sibvad_be be, float *dp, const float *p, const float *t, const float *q, size_t n,
     float s), (dp, p, t, q, n, s))
WRAP(float, cosine_loss_forward, (sibvad_be be, const float *a, const float *t, int B, int S), (a, t, B, S))
WRAPV(cosine_loss_backward, (sibvad_be be, float *da, const float *a, const float *t, int B, int S, float s),
     (da, a, t, B, S, s))
WRAPV(cosine_distance, (sibvad_be be, float *out, const float *a, const float *t, int B, int S),
     (out, a, t, B, S))
WRAPV(adam_update, (sibvad_be be, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
     float b2, float eps, float wd, int t), (p, g, m, v, n, lr, b1, b2, eps, wd, t))
WRAPV(interleave_frames, (sibvad_be be, float *out, const float *in, int B, int T, int N, int C),
     (out, in, B, T, N, C))
WRAPV(interleave_frames_backward, (sibvad_be be, float *din, const float *dout, int B, int T, int N, int C),
     (din, dout, B, T, N, C))
WRAPV(gather_frames, (sibvad_be be, float *out, const float *in, int B, int T, int N, int C, int first),
     (out, in, B, T, N, C, first))
WRAPV(concat_channels, (sibvad_be be, float *out, const float *a, int Ca, const float *b, int Cb, int R),
     (out, a, Ca, b, Cb, R))
WRAPV(concat_channels_backward, (sibvad_be be, float *da, float *db, const float *dout, int Ca, int Cb, int R),
     (da, db, dout, Ca, Cb, R))
WRAPV(sub, (sibvad_be be, float *out, const float *a, const float *b, size_t n), (out, a, b, n))
WRAPV(axpy, (sibvad_be be, float *y, const float *x, float alpha, size_t n), (y, x, alpha, n))
WRAP(double, dot, (sibvad_be be, const float *x, const float *y, size_t n), (x, y, n))
WRAPV(sffm_forward, (sibvad_be be, float *out, sibvad_sffm_cache *c, const float *x,
     const sibvad_sffm_weights *w, const sibvad_sffm_dims *d), (out, c, x, w, d))
WRAPV(sffm_backward, (sibvad_be be, float *dx, const sibvad_sffm_weights *g, sibvad_sffm_scratch *s,
     const float *dout, float bs, sibvad_sffm_cache *c, const float *x, const sibvad_sffm_weights *w,
     const sibvad_sffm_dims *d), (dx, g, s, dout, bs, c, x, w, d))

static void p_add(sibvad_be be, float *out, const float *a, const float *b, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

static void p_scale(sibvad_be be, float *x, float alpha, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] * alpha;
}

static void p_add_rowvec(sibvad_be be, float *x, const float *v, int R, int C)
{
    (void)be;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            x[(size_t)r * C + c] = x[(size_t)r * C + c] + v[c];
}

static void p_mul_rowvec(sibvad_be be, float *out, const float *in, const float *v, int R, int C)
{
    (void)be;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            out[(size_t)r * C + c] = in[(size_t)r * C + c] * v[c];
}

static void p_mul_rowvec_backward(sibvad_be be, float *din, float *dv, const float *dout, const float *in,
                                  const float *v, int R, int C)
{
    (void)be;
    for (int c = 0; c < C; c++) {
        float acc = 0.0f; /* rows in order, in float */
        for (int r = 0; r < R; r++) {
            if (din)
                din[(size_t)r * C + c] = din[(size_t)r * C + c] + dout[(size_t)r * C + c] * v[c];
            acc = acc + dout[(size_t)r * C + c] * in[(size_t)r * C + c];
        }
        if (dv)
            dv[c] = dv[c] + acc;
    }
}

/* spec section 8: per pixel the channel sum in float, per clip the pixel sum in double */
static void p_visual_error(sibvad_be be, float *visual, float *map, const float *pred, const float *target, int B,
                           int C, size_t HW)
{
    (void)be;
    for (int b = 0; b < B; b++) {
        double s = 0.0;
        for (size_t i = 0; i < HW; i++) {
            float e = 0.0f;
            for (int c = 0; c < C; c++) {
                const float d = pred[((size_t)b * C + c) * HW + i] - target[((size_t)b * C + c) * HW + i];
                e = e + d * d;
            }
            s = s + e;
            if (map)
                map[(size_t)b * HW + i] = e / C;
        }
        if (visual)
            visual[b] = (float)(s / ((double)C * HW));
    }
}

#define M(name) .name = p_##name
static const sibvad_backend plain = {
    .name = "plain ops.h", .alloc = p_alloc, .free = p_free, .upload = p_copy, .download = p_copy, .copy = p_copy,
    .zero = p_zero, .synchronize = p_sync,
    M(linear_forward), M(linear_backward), M(layernorm_forward), M(layernorm_backward), M(gelu_forward),
    M(gelu_backward), M(silu_forward), M(silu_backward), M(leakyrelu_forward), M(leakyrelu_backward),
    M(patch_embed_forward), M(patch_embed_backward), M(conv2d_forward), M(conv2d_backward), M(unpatchify),
    M(unpatchify_backward), M(attention_forward), M(attention_backward), M(mse_forward), M(mse_backward),
    M(motion_loss_forward), M(motion_loss_backward), M(cosine_loss_forward), M(cosine_loss_backward),
    M(cosine_distance), M(adam_update), M(interleave_frames), M(interleave_frames_backward), M(gather_frames),
    M(concat_channels), M(concat_channels_backward), M(sub), M(axpy), M(dot), M(add), M(scale), M(add_rowvec),
    M(mul_rowvec), M(mul_rowvec_backward), M(visual_error), M(sffm_forward), M(sffm_backward),
};
#undef M

/* every member of a backend is set */
static int complete(const sibvad_backend *be)
{
    const size_t first = offsetof(sibvad_backend, alloc), end = sizeof(sibvad_backend);
    for (size_t o = first; o < end; o += sizeof(void (*)(void))) {
        void (*fn)(void);
        memcpy(&fn, (const char *)be + o, sizeof fn);
        if (!fn)
            return 0;
    }
    return 1;
}

static void check_loader_and_api(void)
{
    sibvad_error e = {{0}};
    const sibvad_backend *cpu = sibvad_backend_cpu();
    CHECK(cpu && !strcmp(cpu->name, "cpu") && complete(cpu), "the CPU backend is named cpu and has every member");
    CHECK(sibvad_backend_open("cpu", &e) == cpu && sibvad_backend_open(NULL, &e) == cpu,
          "sibvad_backend_open(\"cpu\") is the CPU backend");
    e.msg[0] = '\0';
    CHECK(sibvad_backend_open("tpu", &e) == NULL && strstr(e.msg, "tpu"), "an unknown backend fails: %s", e.msg);
    CHECK(sibvad_backend_open("cpu:bf16", &e) == NULL && strstr(e.msg, "takes no precision"),
          "the CPU backend takes no precision: %s", e.msg);
    CHECK(sibvad_backend_open("cuda:fp64", &e) == NULL && strstr(e.msg, "\"fp64\"") && strstr(e.msg, "bf16"),
          "an unknown GPU precision is named: %s", e.msg);
    CHECK(sibvad_backend_open("auto:", &e) == NULL && strstr(e.msg, "unknown precision"),
          "an empty precision fails: %s", e.msg);
    CHECK(sibvad_backend_open("cudax", &e) == NULL && strstr(e.msg, "unknown backend"),
          "a name that only starts like cuda fails: %s", e.msg);
    e.msg[0] = '\0';
    sibvad_backend *cuda = sibvad_backend_open("cuda", &e);
    if (cuda) {
        CHECK(complete(cuda), "the CUDA backend (%s) has every member", cuda->name);
        sibvad_backend_release(cuda);
    } else {
        CHECK(e.msg[0] != '\0', "no CUDA backend here, and the loader says why: %s", e.msg);
        CHECK(sibvad_backend_open("auto", &e) == cpu, "\"auto\" without CUDA is the CPU backend");
    }
    sibvad_backend_release((sibvad_backend *)cpu); /* a no-op */

    sibvad_config cfg;
    sibvad_config_preset(&cfg, "tiny", &e);
    sibvad_model *m = sibvad_model_create(&cfg, 3, &e);
    CHECK(m && !strcmp(sibvad_model_backend_name(m), "cpu"), "a new model is on the CPU");
    if (!m)
        return;
    sibvad_model_prepare(m, 1, 0, &e);
    const float *params = m->params, *pred = sibvad_model_prediction(m);
    CHECK(sibvad_model_use_backend(m, "cpu", &e) == 0 && m->params == params && sibvad_model_prediction(m) == pred,
          "use_backend(\"cpu\") on a CPU model changes nothing");
    e.msg[0] = '\0';
    CHECK(sibvad_model_use_backend(m, "opencl", &e) < 0 && e.msg[0] && m->params == params &&
              !strcmp(sibvad_model_backend_name(m), "cpu") && m->act_mem,
          "use_backend of an unknown backend fails and leaves the model as it was: %s", e.msg);
    e.msg[0] = '\0';
    int rc = sibvad_model_use_backend(m, "cuda", &e);
    if (rc < 0)
        CHECK(m->params == params && !strcmp(sibvad_model_backend_name(m), "cpu") && m->act_mem,
              "use_backend(\"cuda\") without CUDA fails and leaves the model on the CPU: %s", e.msg);
    else
        /* "cuda", or "cuda:tf32" with SIBVAD_CUDA_TF32=1 in the environment */
        CHECK(!strncmp(sibvad_model_backend_name(m), "cuda", 4), "use_backend(\"cuda\") moved the model (%s)",
              sibvad_model_backend_name(m));
    sibvad_model_free(m);
}

int main(void)
{
    check_loader_and_api();
    bcheck X;
    bc_init(&X, &plain, sibvad_backend_cpu(), 0.0, 0.0);
    int f = bc_run_all(&X);
    printf("%d of %d op comparisons failed (CPU backend vs plain ops.h, bitwise)\n", f, X.checks);
    failures += f;
    checks += X.checks;
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
