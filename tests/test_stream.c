/* test_stream.c: streaming inference (sibvad_stream_*) against the batch forward.
 *
 * For the tiny and the lite preset (random init, fixed seed, fusion gates and
 * lite's residual head conv set non-zero so that every stream is live), a
 * sequence of smooth moving frames is pushed into a stream, with a semantic
 * vector on some pushes. Every scored frame's visual and semantic error, error
 * map and prediction are compared with sibvad_model_forward +
 * sibvad_model_scores on the same clip, alone (B = 1) and in batches of three
 * (B = 3): relative error <= 1e-5. Also: the warm-up (first T pushes unscored,
 * warmup_left counting down), a reset mid-sequence (the next T pushes unscored,
 * then equal again, so nothing from before the reset leaks), two streams on one
 * model interleaved and in two threads at once (bitwise the same as each
 * alone), bad arguments and a changed model (-1 with a message), and that the
 * comparison can fail: a clip with two frames swapped, and the clip stage
 * reading its rings one entry off, both change the result far beyond the
 * tolerance. Batched streams: 24 frames pushed with push_batch in chunks of
 * 1..5 (one spanning the warm-up, semantic input on every other chunk, and
 * again with a reset in the middle) equal one-at-a-time pushes (1e-5); n = 0
 * and n > max_batch fail with a message. Exit status 1 on any failure. */
#include "model-internal.h"
#include "ops/ops.h"
#include "test-util.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define TOL 1e-5

/* max |x - ref| / max(max |ref|, 1e-6) */
static double rel_err(const float *x, const float *ref, size_t n)
{
    return test_rel_err(x, ref, n, 1e-6);
}

/* A clip's reference results. */
typedef struct {
    float visual, semantic;
    float *emap, *pred;
} result;

typedef struct {
    const char *preset;
    sibvad_config cfg;
    sibvad_model *m;
    int T, n;                 /* frames in, frames in the sequence */
    size_t img, hw;
    float *frames, *frames2;  /* (n, C, H, W): the sequence, and a second one */
    float *sem;               /* (n, S): the semantic vector of push k (used when has_sem(k)) */
    result *ref;              /* [n]: clip k-T..k-1 -> k, B = 1 (k >= T) */
    double worst_b1, worst_b3;
} fixture;

/* Semantic input on scored frames T..T+2, T+6..T+8, ...: groups of three, so
 * that batches of three share it. */
static int has_sem(const fixture *f, int k)
{
    return k >= f->T && ((k - f->T) / 3) % 2 == 0;
}

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 9;
}

/* Smooth frames: a few moving sinusoidal blobs per channel, plus faint noise. */
static void make_frames(float *out, const sibvad_config *c, int n, float phase, unsigned seed)
{
    const int C = c->channels, H = c->img_h, W = c->img_w;
    for (int k = 0; k < n; k++)
        for (int ch = 0; ch < C; ch++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float u = (float)x / W, v = (float)y / H, t = 0.15f * k + phase;
                    float val = 1.2f * sinf(6.0f * u + 2.0f * t + ch) * cosf(4.0f * v - t) +
                                0.6f * sinf(9.0f * (u + v) - 3.0f * t + 0.5f * ch) +
                                0.8f * expf(-40.0f * ((u - 0.3f - 0.05f * t) * (u - 0.3f - 0.05f * t) +
                                                      (v - 0.5f) * (v - 0.5f)));
                    val += 0.05f * ((float)lcg(&seed) / 8388608.0f - 1.0f);
                    out[(((size_t)k * C + ch) * H + y) * W + x] = val;
                }
}

static sibvad_model *make_model(const char *preset, sibvad_config *cfg)
{
    sibvad_error err = {{0}};
    if (sibvad_config_preset(cfg, preset, &err) < 0)
        return NULL;
    sibvad_model *m = sibvad_model_create(cfg, 1234, &err);
    if (!m) {
        printf("FAIL model: %s\n", err.msg);
        exit(1);
    }
    /* the fusion gates start at 0 (fusion = identity): open them */
    for (int l = 0; l < cfg->fu_depth; l++) {
        char name[96];
        snprintf(name, sizeof name, "joint_cross_attn.attn_gammas.%d", l);
        sibvad_tensor *t = sibvad_model_find_tensor(m, name);
        snprintf(name, sizeof name, "joint_cross_attn.ff_gammas.%d", l);
        sibvad_tensor *t2 = sibvad_model_find_tensor(m, name);
        if (!t || !t2) {
            printf("FAIL no fusion gate tensors\n");
            exit(1);
        }
        t->data[0] = 0.7f;
        t2->data[0] = 0.4f;
    }
    /* lite's residual head starts at the copy of the last frame (its last conv
     * at zero): give that conv weights too, or the prediction would be the
     * last frame whatever the streams computed */
    sibvad_tensor *conv = sibvad_model_find_tensor(m, "decoder.final_conv.2.weight");
    if (cfg->pred_residual && conv) {
        unsigned s = 77;
        for (size_t i = 0; i < conv->numel; i++)
            conv->data[i] = 0.5f * ((float)lcg(&s) / 8388608.0f - 1.0f);
    }
    return m;
}

/* The batch forward on B consecutive clips ending at targets k0..k0+B-1. */
static int batch_forward(fixture *f, const float *seq, int k0, int B, int sem, float *visual, float *semantic,
                         float *emap)
{
    const int T = f->T, S = f->cfg.sem_dim;
    float *clips = malloc(sizeof(float) * B * T * f->img), *targets = malloc(sizeof(float) * B * f->img);
    float *sv = malloc(sizeof(float) * B * S);
    for (int b = 0; b < B; b++) {
        int k = k0 + b;
        memcpy(clips + (size_t)b * T * f->img, seq + (size_t)(k - T) * f->img, sizeof(float) * T * f->img);
        memcpy(targets + (size_t)b * f->img, seq + (size_t)k * f->img, sizeof(float) * f->img);
        memcpy(sv + (size_t)b * S, f->sem + (size_t)k * S, sizeof(float) * S);
    }
    sibvad_error err = {{0}};
    int rc = sibvad_model_forward(f->m, clips, targets, sem ? sv : NULL, B, &err);
    if (rc == 0)
        rc = sibvad_model_scores(f->m, visual, semantic, emap, &err);
    if (rc < 0)
        printf("FAIL batch forward: %s\n", err.msg);
    free(clips);
    free(targets);
    free(sv);
    return rc;
}

static double scalar_err(float x, float ref)
{
    double d = fabs((double)x - ref);
    return d / (fabs(ref) > 1e-6 ? fabs(ref) : 1e-6);
}

/* Worst relative error of a stream result against a reference. */
static double compare_result(const fixture *f, const result *ref, const sibvad_stream_result *r)
{
    if (!ref->pred || !r->error_map || !r->prediction)
        return INFINITY; /* scored where no clip exists, or no output */
    double e = scalar_err(r->visual, ref->visual);
    double es = scalar_err(r->semantic, ref->semantic);
    double em = rel_err(r->error_map, ref->emap, f->hw);
    double ep = rel_err(r->prediction, ref->pred, f->img);
    e = es > e ? es : e;
    e = em > e ? em : e;
    return ep > e ? ep : e;
}

/* A copy of a stream result (its pointers live until the next push). */
typedef struct {
    int scored, warmup_left;
    float visual, semantic;
    float *emap, *pred;
} saved;

static void save(const fixture *f, saved *s, const sibvad_stream_result *r)
{
    s->scored = r->scored;
    s->warmup_left = r->warmup_left;
    s->visual = r->visual;
    s->semantic = r->semantic;
    s->emap = s->pred = NULL;
    if (r->scored) {
        s->emap = malloc(sizeof(float) * f->hw);
        s->pred = malloc(sizeof(float) * f->img);
        memcpy(s->emap, r->error_map, sizeof(float) * f->hw);
        memcpy(s->pred, r->prediction, sizeof(float) * f->img);
    }
}

static int same(const fixture *f, const saved *a, const saved *b)
{
    if (a->scored != b->scored || a->warmup_left != b->warmup_left || a->visual != b->visual ||
        a->semantic != b->semantic)
        return 0;
    return !a->scored ||
           (memcmp(a->emap, b->emap, sizeof(float) * f->hw) == 0 &&
            memcmp(a->pred, b->pred, sizeof(float) * f->img) == 0);
}

/* Worst relative difference of two saved results; INFINITY when not both scored alike. */
static double diff(const fixture *f, const saved *a, const saved *b)
{
    if (a->scored != b->scored || a->warmup_left != b->warmup_left)
        return INFINITY;
    if (!a->scored)
        return 0.0;
    double e = scalar_err(a->visual, b->visual), e2 = scalar_err(a->semantic, b->semantic);
    double e3 = rel_err(a->emap, b->emap, f->hw), e4 = rel_err(a->pred, b->pred, f->img);
    e = e2 > e ? e2 : e;
    e = e3 > e ? e3 : e;
    return e4 > e ? e4 : e;
}

static void free_saved(saved *s, int n)
{
    for (int i = 0; i < n; i++) {
        free(s[i].emap);
        free(s[i].pred);
    }
    free(s);
}

/* Push a whole sequence into a fresh stream; results saved per push. */
static saved *run_solo(fixture *f, const float *seq)
{
    sibvad_error err = {{0}};
    sibvad_stream *s = sibvad_stream_new(f->m, &err);
    saved *out = calloc((size_t)f->n, sizeof *out);
    for (int k = 0; k < f->n && s; k++) {
        sibvad_stream_result r;
        if (sibvad_stream_push(s, seq + (size_t)k * f->img, has_sem(f, k) ? f->sem + (size_t)k * f->cfg.sem_dim : NULL,
                               &r, &err) < 0) {
            printf("FAIL push: %s\n", err.msg);
            exit(1);
        }
        save(f, &out[k], &r);
    }
    sibvad_stream_free(s);
    return out;
}

typedef struct {
    fixture *f;
    const float *seq;
    saved *out;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    a->out = run_solo(a->f, a->seq);
    return NULL;
}

/* Push seq[0..nb) in chunks (sizes chunks[], summing to nb) with push_batch
 * (or push when the chunk is 1 and batched is 0), semantic on the frames with
 * semflag[k]; reset before frame reset_at (a chunk start; -1: never). Each
 * chunk's results are saved after the whole chunk (each has its own buffers). */
static saved *run_chunked(fixture *f, sibvad_stream *s, const float *seq, const float *sem, int nb,
                          const int *chunks, const int *semflag, int reset_at, int batched)
{
    sibvad_error err = {{0}};
    sibvad_stream_result r[8];
    saved *out = calloc((size_t)nb, sizeof *out);
    const int S = f->cfg.sem_dim;
    for (int k0 = 0, c = 0; k0 < nb; k0 += chunks[c++]) {
        const int n = chunks[c];
        if (k0 == reset_at)
            sibvad_stream_reset(s);
        const float *sk = semflag[k0] ? sem + (size_t)k0 * S : NULL;
        int rc = batched ? sibvad_stream_push_batch(s, seq + (size_t)k0 * f->img, sk, n, r, &err)
                         : sibvad_stream_push(s, seq + (size_t)k0 * f->img, sk, r, &err);
        if (rc < 0 || (!batched && n != 1)) {
            printf("FAIL push_batch at %d (%d frames): %s\n", k0, n, err.msg);
            exit(1);
        }
        for (int i = 0; i < n; i++)
            save(f, &out[k0 + i], &r[i]);
    }
    return out;
}

/* 7. push_batch in chunks of mixed sizes equals one-at-a-time pushes */
static void test_batched(fixture *f)
{
    enum { NB = 24, MAXB = 5 };
    /* chunk 2 spans the warm-up (T = 4: frames 2, 3 warm, 4 scored); the reset is before frame 12 */
    static const int chunks[] = {2, 3, 1, 4, 2, 5, 1, 3, 1, 2};
    static const int chunks2[] = {3, 2, 5, 1, 1, 4, 1, 2, 5}; /* a chunk starts at 12 */
    const char *preset = f->preset;
    const int S = f->cfg.sem_dim, T = f->T;
    sibvad_error err = {{0}};
    float *seq = malloc(sizeof(float) * NB * f->img), *sem = malloc(sizeof(float) * NB * S);
    make_frames(seq, &f->cfg, NB, 0.4f, 11);
    unsigned seed = 17;
    for (size_t i = 0; i < (size_t)NB * S; i++)
        sem[i] = (float)lcg(&seed) / 8388608.0f - 1.0f;
    int semflag[NB], ones[NB];
    for (int k = 0; k < NB; k++)
        ones[k] = 1;

    sibvad_stream *solo = sibvad_stream_new(f->m, &err);
    sibvad_stream *bs = sibvad_stream_new_batched(f->m, MAXB, &err);
    CHECK(solo && bs && sibvad_stream_max_batch(solo) == 1 && sibvad_stream_max_batch(bs) == MAXB,
          "%s: batched stream created, max_batch 1 and %d", preset, MAXB);
    if (!solo || !bs)
        exit(1);
    double worst = 0.0;
    int scored = 0;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: a fresh stream; pass 1: the same streams go on (rings wrap), reset before frame 12 */
        const int reset_at = pass ? 12 : 0;
        const int *ch = pass ? chunks2 : chunks;
        for (int k0 = 0, c = 0; k0 < NB; k0 += ch[c++])
            for (int i = 0; i < ch[c]; i++)
                semflag[k0 + i] = c % 2; /* semantic input on every other chunk */
        saved *ref = run_chunked(f, solo, seq, sem, NB, ones, semflag, reset_at, 0);
        saved *got = run_chunked(f, bs, seq, sem, NB, ch, semflag, reset_at, 1);
        int ok = sibvad_stream_frames(bs) == sibvad_stream_frames(solo);
        for (int k = 0; k < NB; k++) {
            double e = diff(f, &got[k], &ref[k]);
            worst = e > worst ? e : worst;
            scored += got[k].scored;
            /* pass 1 continues pass 0's stream (all scored) up to the reset */
            ok &= ref[k].scored == (pass ? k < reset_at || k - reset_at >= T : k >= T);
        }
        CHECK(ok && worst <= TOL, "%s: push_batch in chunks (pass %d%s) equals one-at-a-time pushes: "
              "scored flags and warm-up identical, max rel err %.3g", preset, pass, pass ? ", reset at 12" : "",
              worst);
        free_saved(ref, NB);
        free_saved(got, NB);
    }
    printf("# %s: push_batch (max_batch %d) vs push: %d scored, max rel err %.3g\n", preset, MAXB, scored, worst);

    /* bad batch sizes: -1 with a message, the stream unchanged */
    {
        sibvad_stream_result r[MAXB + 1];
        long long before = sibvad_stream_frames(bs);
        int ok = 1;
        char m0[256] = "", m1[256] = "";
        err.msg[0] = 0;
        ok &= sibvad_stream_push_batch(bs, seq, NULL, 0, r, &err) == -1 && err.msg[0];
        snprintf(m0, sizeof m0, "%s", err.msg);
        err.msg[0] = 0;
        ok &= sibvad_stream_push_batch(bs, seq, NULL, MAXB + 1, r, &err) == -1 && err.msg[0];
        snprintf(m1, sizeof m1, "%s", err.msg);
        err.msg[0] = 0;
        ok &= sibvad_stream_push_batch(solo, seq, NULL, 2, r, &err) == -1 && err.msg[0];
        ok &= sibvad_stream_push_batch(bs, NULL, NULL, 2, r, &err) == -1;
        ok &= sibvad_stream_push_batch(bs, seq, NULL, 2, NULL, &err) == -1;
        ok &= sibvad_stream_frames(bs) == before;
        err.msg[0] = 0;
        ok &= sibvad_stream_new_batched(f->m, 0, &err) == NULL && err.msg[0];
        CHECK(ok, "%s: push_batch with n = 0 (\"%s\") or n > max_batch (\"%s\"): -1 with a message", preset, m0,
              m1);
    }
    sibvad_stream_free(solo);
    sibvad_stream_free(bs);
    free(seq);
    free(sem);
}

static void test_preset(const char *preset, int n)
{
    fixture F = {0}, *f = &F;
    sibvad_error err = {{0}};
    f->preset = preset;
    f->m = make_model(preset, &f->cfg);
    f->T = f->cfg.frames_in;
    f->n = n;
    f->hw = (size_t)f->cfg.img_h * f->cfg.img_w;
    f->img = (size_t)f->cfg.channels * f->hw;
    const int T = f->T, S = f->cfg.sem_dim;
    printf("# %s: %dx%d, T = %d, %d frames\n", preset, f->cfg.img_w, f->cfg.img_h, T, n);
    f->frames = malloc(sizeof(float) * n * f->img);
    f->frames2 = malloc(sizeof(float) * n * f->img);
    f->sem = malloc(sizeof(float) * n * S);
    make_frames(f->frames, &f->cfg, n, 0.0f, 7);
    make_frames(f->frames2, &f->cfg, n, 1.3f, 99);
    unsigned seed = 5;
    for (size_t i = 0; i < (size_t)n * S; i++)
        f->sem[i] = (float)lcg(&seed) / 8388608.0f - 1.0f;
    if (sibvad_model_prepare(f->m, 3, 0, &err) < 0) {
        printf("FAIL prepare: %s\n", err.msg);
        exit(1);
    }

    /* references: the batch forward, B = 1, every clip */
    f->ref = calloc((size_t)n, sizeof *f->ref);
    for (int k = T; k < n; k++) {
        result *r = &f->ref[k];
        r->emap = malloc(sizeof(float) * f->hw);
        r->pred = malloc(sizeof(float) * f->img);
        if (batch_forward(f, f->frames, k, 1, has_sem(f, k), &r->visual, &r->semantic, r->emap) < 0)
            exit(1);
        memcpy(r->pred, sibvad_model_prediction(f->m), sizeof(float) * f->img);
    }

    /* 1. one stream over the sequence: warm-up, then every frame against B = 1 */
    sibvad_stream *s = sibvad_stream_new(f->m, &err);
    CHECK(s != NULL, "%s: stream created%s%s", preset, s ? "" : ": ", s ? "" : err.msg);
    if (!s)
        exit(1);
    int warm_ok = 1, scored = 0;
    double worst = 0.0;
    saved *solo = calloc((size_t)n, sizeof *solo);
    for (int k = 0; k < n; k++) {
        sibvad_stream_result r;
        int rc = sibvad_stream_push(s, f->frames + (size_t)k * f->img, has_sem(f, k) ? f->sem + (size_t)k * S : NULL,
                                    &r, &err);
        if (rc < 0) {
            printf("FAIL push %d: %s\n", k, err.msg);
            exit(1);
        }
        save(f, &solo[k], &r);
        if (k < T)
            warm_ok &= !r.scored && r.warmup_left == T - 1 - k && !r.error_map && !r.prediction;
        else {
            warm_ok &= r.scored && r.warmup_left == 0 && r.error_map && r.prediction;
            if (r.scored) {
                double e = compare_result(f, &f->ref[k], &r);
                worst = e > worst ? e : worst;
                scored++;
            }
        }
        warm_ok &= sibvad_stream_frames(s) == k + 1;
    }
    f->worst_b1 = worst;
    CHECK(warm_ok, "%s: first %d pushes unscored, warmup_left %d..0, then every push scored", preset, T, T - 1);
    CHECK(scored == n - T && worst <= TOL, "%s: %d scored frames equal the batch forward (B = 1): max rel err %.3g",
          preset, scored, worst);

    /* 2. the same clips in batches of three */
    worst = 0.0;
    int compared = 0;
    float v3[3], s3[3], *em3 = malloc(sizeof(float) * 3 * f->hw);
    for (int k0 = T; k0 + 3 <= n; k0 += 3) {
        if (has_sem(f, k0) != has_sem(f, k0 + 2))
            continue;
        if (batch_forward(f, f->frames, k0, 3, has_sem(f, k0), v3, s3, em3) < 0)
            exit(1);
        const float *p3 = sibvad_model_prediction(f->m);
        for (int b = 0; b < 3; b++) {
            sibvad_stream_result r = {1, 0, solo[k0 + b].visual, solo[k0 + b].semantic, solo[k0 + b].emap,
                                      solo[k0 + b].pred};
            result ref = {v3[b], s3[b], em3 + b * f->hw, (float *)p3 + b * f->img};
            double e = compare_result(f, &ref, &r);
            worst = e > worst ? e : worst;
            compared++;
        }
    }
    free(em3);
    f->worst_b3 = worst;
    CHECK(compared >= 3 && worst <= TOL, "%s: %d stream results equal the batch forward in batches of 3: max rel err %.3g",
          preset, compared, worst);

    /* 3. reset mid-sequence: the next T pushes warm up again, then equal again */
    sibvad_stream_reset(s);
    int R = T + 2 < n - T - 1 ? T + 2 : n - T - 1;
    CHECK(sibvad_stream_frames(s) == 0, "%s: reset forgets the frame count", preset);
    {
        sibvad_stream_result r;
        /* the stream's rings hold the end of the sequence: a reset must forget them */
        int ok = 1;
        worst = 0.0;
        for (int k = R; k < n; k++) {
            if (sibvad_stream_push(s, f->frames + (size_t)k * f->img, has_sem(f, k) ? f->sem + (size_t)k * S : NULL,
                                   &r, &err) < 0) {
                printf("FAIL push: %s\n", err.msg);
                exit(1);
            }
            if (k - R < T)
                ok &= !r.scored && r.warmup_left == T - 1 - (k - R);
            else if (!r.scored)
                ok = 0;
            else {
                double e = compare_result(f, &f->ref[k], &r);
                worst = e > worst ? e : worst;
            }
        }
        /* and a reset in the middle of a scored run */
        sibvad_stream_reset(s);
        for (int k = 0; k < n; k++) {
            if (k == R)
                sibvad_stream_reset(s);
            if (sibvad_stream_push(s, f->frames + (size_t)k * f->img, has_sem(f, k) ? f->sem + (size_t)k * S : NULL,
                                   &r, &err) < 0) {
                printf("FAIL push: %s\n", err.msg);
                exit(1);
            }
            int expect = k < R ? k >= T : k - R >= T;
            ok &= r.scored == expect && r.warmup_left == (k < R ? (k < T ? T - 1 - k : 0)
                                                                : (k - R < T ? T - 1 - (k - R) : 0));
            if (r.scored) {
                double e = compare_result(f, &f->ref[k], &r);
                worst = e > worst ? e : worst;
            }
        }
        CHECK(ok && worst <= TOL,
              "%s: after a reset the next %d pushes are unscored, then equal again (max rel err %.3g)", preset, T,
              worst);
    }

    /* 4. two streams on one model, interleaved: each as if alone (bitwise) */
    {
        saved *solo2 = run_solo(f, f->frames2);
        sibvad_stream *a = sibvad_stream_new(f->m, &err), *b = sibvad_stream_new(f->m, &err);
        int ok = a && b, differ = 0;
        for (int k = 0; k < n && ok; k++) {
            sibvad_stream_result ra, rb;
            saved sa, sb;
            const float *sk = has_sem(f, k) ? f->sem + (size_t)k * S : NULL;
            ok &= sibvad_stream_push(a, f->frames + (size_t)k * f->img, sk, &ra, &err) == 0;
            save(f, &sa, &ra);
            ok &= sibvad_stream_push(b, f->frames2 + (size_t)k * f->img, sk, &rb, &err) == 0;
            save(f, &sb, &rb);
            ok &= same(f, &sa, &solo[k]) && same(f, &sb, &solo2[k]);
            differ |= sa.scored && memcmp(sa.pred, sb.pred, sizeof(float) * f->img) != 0;
            free(sa.emap), free(sa.pred), free(sb.emap), free(sb.pred);
        }
        CHECK(ok && differ, "%s: two streams interleaved on one model give each one's results alone (bitwise)",
              preset);
        sibvad_stream_free(a);
        sibvad_stream_free(b);

        /* the same in two threads at once */
        thread_arg ta = {f, f->frames, NULL}, tb = {f, f->frames2, NULL};
        pthread_t th[2];
        ok = pthread_create(&th[0], NULL, thread_main, &ta) == 0;
        ok &= pthread_create(&th[1], NULL, thread_main, &tb) == 0;
        pthread_join(th[0], NULL);
        pthread_join(th[1], NULL);
        /* BLAS may split its work differently when two calls run at once: equal within the
         * tolerance (a race between the streams would be far off), and say whether bitwise */
        double worst_t = 0.0;
        int bitwise = ok;
        for (int k = 0; k < n && ok; k++) {
            double e1 = diff(f, &ta.out[k], &solo[k]), e2 = diff(f, &tb.out[k], &solo2[k]);
            worst_t = e1 > worst_t ? e1 : worst_t;
            worst_t = e2 > worst_t ? e2 : worst_t;
            bitwise &= same(f, &ta.out[k], &solo[k]) && same(f, &tb.out[k], &solo2[k]);
        }
        CHECK(ok && worst_t <= TOL, "%s: two streams in two threads on one model give each one's results alone "
              "(max rel err %.3g, %s)", preset, worst_t, bitwise ? "bitwise" : "not bitwise");
        free_saved(ta.out, n);
        free_saved(tb.out, n);
        free_saved(solo2, n);
    }

    /* 5. the comparison can fail: frame order matters, and so does the ring order */
    {
        const int k = T + 1;
        float *seq = malloc(sizeof(float) * n * f->img), v, sm;
        float *em = malloc(sizeof(float) * f->hw);
        memcpy(seq, f->frames, sizeof(float) * n * f->img);
        /* swap the clip's first two input frames */
        memcpy(seq + (size_t)(k - T) * f->img, f->frames + (size_t)(k - T + 1) * f->img, sizeof(float) * f->img);
        memcpy(seq + (size_t)(k - T + 1) * f->img, f->frames + (size_t)(k - T) * f->img, sizeof(float) * f->img);
        batch_forward(f, seq, k, 1, has_sem(f, k), &v, &sm, em);
        double e_swap = rel_err(sibvad_model_prediction(f->m), f->ref[k].pred, f->img);
        CHECK(e_swap > 1000 * TOL, "%s: swapping two input frames changes the prediction (rel %.3g)", preset,
              e_swap);
        /* the clip stage reading the visual ring, or the motion ring, one entry off */
        batch_forward(f, f->frames, k, 1, has_sem(f, k), &v, &sm, em);
        sibvad_model *m = f->m;
        const size_t tap = (size_t)m->N1 * f->cfg.bb_width;
        sibvad_clip_in in = {
            .vis = m->a.vis_proj, .vis_first = 1, .mo = m->a.mo_x[f->cfg.mo_depth], .mo_first = 0,
            .tap = m->a.bb_x[0] + (T - 1) * tap, .tap_stride = T * tap,
            .last = f->frames + (size_t)(k - 1) * f->img, .last_stride = T * f->img,
            .target = f->frames + (size_t)k * f->img, .semantic = has_sem(f, k) ? f->sem + (size_t)k * S : NULL,
        };
        sibvad_losses L;
        sibvad_forward_clips(m, &m->a, &in, 1, &L);
        double e_vis = rel_err(m->a.pred, f->ref[k].pred, f->img);
        in.vis_first = 0;
        in.mo_first = T > 2 ? 1 : 0;
        sibvad_forward_clips(m, &m->a, &in, 1, &L);
        double e_mo = rel_err(m->a.pred, f->ref[k].pred, f->img);
        in.mo_first = 0;
        sibvad_forward_clips(m, &m->a, &in, 1, &L);
        double e_ok = rel_err(m->a.pred, f->ref[k].pred, f->img);
        CHECK(e_vis > 1000 * TOL && e_mo > 1000 * TOL && e_ok <= TOL,
              "%s: a ring read one entry off is detected (visual ring rel %.3g, motion ring rel %.3g; "
              "in order %.3g)", preset, e_vis, e_mo, e_ok);
        free(seq);
        free(em);
    }

    /* 6. bad arguments: -1 with a message, the stream unchanged */
    {
        sibvad_stream_result r;
        long long before = sibvad_stream_frames(s);
        const float *fr = f->frames;
        int ok = 1;
        err.msg[0] = 0;
        ok &= sibvad_stream_push(NULL, fr, NULL, &r, &err) == -1 && err.msg[0];
        err.msg[0] = 0;
        ok &= sibvad_stream_push(s, NULL, NULL, &r, &err) == -1 && err.msg[0];
        err.msg[0] = 0;
        ok &= sibvad_stream_push(s, fr, NULL, NULL, &err) == -1 && err.msg[0];
        ok &= sibvad_stream_push(s, NULL, NULL, &r, NULL) == -1; /* no error struct: still no crash */
        err.msg[0] = 0;
        ok &= sibvad_stream_new(NULL, &err) == NULL && err.msg[0];
        ok &= sibvad_stream_frames(s) == before;
        CHECK(ok, "%s: NULL stream, frame, result or model: -1 / NULL with a message (\"%s\")", preset, err.msg);
        /* a model whose config changed under the stream is refused */
        f->m->cfg.img_w += f->cfg.patch;
        err.msg[0] = 0;
        int rc = sibvad_stream_push(s, fr, NULL, &r, &err);
        f->m->cfg.img_w -= f->cfg.patch;
        CHECK(rc == -1 && err.msg[0] && sibvad_stream_frames(s) == before,
              "%s: a changed model is refused (\"%s\")", preset, err.msg);
        sibvad_stream_free(NULL);
        sibvad_stream_reset(NULL);
        CHECK(sibvad_stream_frames(NULL) == 0, "%s: free/reset/frames accept NULL", preset);
    }

    test_batched(f);
    printf("# %s: max rel err B=1 %.3g, B=3 %.3g\n", preset, f->worst_b1, f->worst_b3);
    sibvad_stream_free(s);
    free_saved(solo, n);
    for (int k = 0; k < n; k++) {
        free(f->ref[k].emap);
        free(f->ref[k].pred);
    }
    free(f->ref);
    free(f->frames);
    free(f->frames2);
    free(f->sem);
    sibvad_model_free(f->m);
}

int main(void)
{
    test_preset("tiny", 16);
    test_preset("lite", 10);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
