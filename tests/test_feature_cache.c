/* test_feature_cache.c: frozen-backbone features kept per frame
 * (sibvad_feature_cache, sibvad_model_forward_cached) against the plain
 * forward.
 *
 * Two copies of the tiny preset with a frozen backbone (same seed) train side
 * by side for 12 steps on clips drawn from a generated 20-frame video, batch
 * 3, the clips of one batch overlapping (shared frames) and clips repeating
 * across steps: one with sibvad_model_forward, one with the cached forward.
 * Every step's losses and prediction equal the plain forward's within 1e-5
 * (relative), every parameter after the 12 steps within 1e-4. Misses must
 * equal the distinct frames seen (each frame's backbone runs once, even when
 * two clips of one batch share it) and hits the rest. Again with a cache of
 * exactly one batch's frames (evictions every step): the cached run's
 * parameters and moments are bitwise those of the first cached run (a
 * frame's features do not depend on what the cache held: resumes are exact).
 * The comparison can fail: a cache fed a wrong frame id (two frames swapped)
 * changes the prediction. Errors: a trained backbone, a budget below one frame, a batch
 * larger than the cache, a cache made for another model. */
#include "model-internal.h"
#include "synthetic.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

#define STEPS 12
#define B 3
#define NFRAMES 20

static int bitwise(const float *a, const float *b, size_t n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static sibvad_model *frozen_tiny(int max_batch)
{
    sibvad_config cfg;
    sibvad_error e;
    sibvad_config_preset(&cfg, "tiny", &e);
    cfg.bb_frozen = 1;
    sibvad_model *m = sibvad_model_create(&cfg, 7, &e);
    if (!m || sibvad_model_prepare(m, max_batch, 1, &e) < 0) {
        printf("cannot make the model: %s\n", e.msg);
        exit(2);
    }
    return m;
}

/* the clip starts of step s: overlapping within a batch, repeating across steps */
static int clip_start(int s, int b, int T) { return (s * 5 + b * 2) % (NFRAMES - T); }

/* every parameter and Adam moment of m, in table order (malloc'd) */
static float *snapshot(sibvad_model *m, size_t *n)
{
    size_t tot = 0;
    for (int i = 0; i < sibvad_model_num_tensors(m); i++)
        tot += sibvad_model_tensor(m, i)->numel * 3;
    float *out = malloc(sizeof(float) * tot), *p = out;
    for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        memcpy(p, t->data, sizeof(float) * t->numel);
        p += t->numel;
        for (int which = 0; which < 2; which++) {
            const float *mo = t->grad ? sibvad_model_moment(m, i, which) : NULL;
            if (mo)
                memcpy(p, mo, sizeof(float) * t->numel);
            else
                memset(p, 0, sizeof(float) * t->numel);
            p += t->numel;
        }
    }
    *n = tot;
    return out;
}

/* train two models side by side; returns the cached model's snapshot */
static float *run_pair(size_t budget, const char *label, long long *misses_out, long long *hits_out, int *evictions,
                       size_t *snap_n)
{
    sibvad_error e = {{0}};
    sibvad_model *plain = frozen_tiny(B), *cached = frozen_tiny(B);
    const sibvad_config *c = sibvad_model_config(plain);
    const int T = c->frames_in;
    const size_t img = (size_t)c->channels * c->img_h * c->img_w;
    sibvad_synth_params sp = {c->img_w, c->img_h, c->channels, NFRAMES, 1, 3, 4, SIBVAD_SYNTH_NORMAL, 0, 0.01f};
    float *video = malloc(sizeof(float) * NFRAMES * img);
    unsigned char *labels = malloc(NFRAMES);
    if (sibvad_synth_video(&sp, video, labels, &e) < 0) {
        printf("synth: %s\n", e.msg);
        exit(2);
    }
    sibvad_feature_cache *fc = sibvad_feature_cache_new(cached, budget, &e);
    CHECK(fc != NULL, "%s: cache of %zu bytes: %s", label, budget, fc ? "ok" : e.msg);
    if (!fc)
        exit(1);
    float *frames = malloc(sizeof(float) * B * T * img), *target = malloc(sizeof(float) * B * img);
    long long ids[B * 8];
    int bad = 0, seen[NFRAMES] = {0}, distinct = 0, positions = 0;
    for (int s = 0; s < STEPS; s++) {
        for (int b = 0; b < B; b++) {
            const int t0 = clip_start(s, b, T);
            memcpy(frames + (size_t)b * T * img, video + (size_t)t0 * img, sizeof(float) * T * img);
            memcpy(target + (size_t)b * img, video + (size_t)(t0 + T) * img, sizeof(float) * img);
            for (int j = 0; j < T; j++) {
                ids[b * T + j] = t0 + j;
                positions++;
                if (!seen[t0 + j]++)
                    distinct++;
            }
        }
        sibvad_model_zero_grad(plain);
        sibvad_model_zero_grad(cached);
        if (sibvad_model_forward(plain, frames, target, NULL, B, &e) < 0 ||
            sibvad_model_forward_cached(cached, fc, ids, frames, target, NULL, B, &e) < 0) {
            CHECK(0, "%s: step %d forward: %s", label, s, e.msg);
            bad++;
            break;
        }
        sibvad_losses lp, lc;
        sibvad_model_losses(plain, &lp);
        sibvad_model_losses(cached, &lc);
        const float rl[4] = {lp.total, lp.pred, lp.motion, lp.balance}, cl[4] = {lc.total, lc.pred, lc.motion,
                                                                                 lc.balance};
        if (test_rel_err(cl, rl, 4, 1e-6) > 1e-5 ||
            test_rel_err(sibvad_model_prediction(cached), sibvad_model_prediction(plain), (size_t)B * img, 1e-6) >
                1e-5) {
            printf("     step %d: loss %.9g vs %.9g, prediction rel. err %.3g\n", s, lc.total, lp.total,
                   test_rel_err(sibvad_model_prediction(cached), sibvad_model_prediction(plain), (size_t)B * img,
                                1e-6));
            bad++;
        }
        if (sibvad_model_backward(plain, &e) < 0 || sibvad_model_backward(cached, &e) < 0 ||
            sibvad_model_step(plain, &e) < 0 || sibvad_model_step(cached, &e) < 0) {
            CHECK(0, "%s: step %d backward: %s", label, s, e.msg);
            bad++;
            break;
        }
    }
    CHECK(bad == 0, "%s: %d steps: losses and predictions equal the plain forward's (1e-5)", label, STEPS);
    /* Adam moves near-zero gradients by a full step whatever their size, so
     * rounding shows element by element: compare the whole parameter vector */
    double num = 0, den = 0;
    for (int i = 0; i < sibvad_model_num_tensors(plain); i++) {
        sibvad_tensor *tp = sibvad_model_tensor(plain, i), *tc = sibvad_model_tensor(cached, i);
        for (size_t k = 0; k < tp->numel; k++) {
            num += ((double)tc->data[k] - tp->data[k]) * ((double)tc->data[k] - tp->data[k]);
            den += (double)tp->data[k] * tp->data[k];
        }
    }
    const double perr = sqrt(num / den);
    CHECK(perr <= 1e-4, "%s: the parameters after %d steps equal the plain run's (||diff|| / ||ref|| = %.2g, "
          "tol 1e-4)", label, STEPS, perr);
    sibvad_feature_cache_stats st;
    sibvad_feature_cache_get_stats(fc, &st);
    *misses_out = st.misses;
    *hits_out = st.hits;
    *evictions = (int)st.evictions;
    printf("     %s: %d positions, %d distinct frames; misses %lld, hits %lld, evictions %lld, %d of %d entries\n",
           label, positions, distinct, st.misses, st.hits, st.evictions, st.entries, st.capacity);
    if (budget >= (size_t)NFRAMES * sibvad_feature_cache_entry_bytes(cached))
        CHECK(st.misses == distinct && st.evictions == 0,
              "%s: each distinct frame's backbone ran once (%lld misses for %d frames)", label, st.misses, distinct);

    /* the comparison can fail: two ids swapped in one clip */
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++)
            ids[b * T + j] = clip_start(0, b, T) + j;
    const long long keep = ids[1];
    ids[1] = ids[2];
    ids[2] = keep;
    for (int b = 0; b < B; b++) {
        const int t0 = clip_start(0, b, T);
        memcpy(frames + (size_t)b * T * img, video + (size_t)t0 * img, sizeof(float) * T * img);
        memcpy(target + (size_t)b * img, video + (size_t)(t0 + T) * img, sizeof(float) * img);
    }
    if (sibvad_model_forward(plain, frames, target, NULL, B, &e) == 0 &&
        sibvad_model_forward_cached(cached, fc, ids, frames, target, NULL, B, &e) == 0) {
        /* both models have trained identically: only the swap differs */
        const double err = test_rel_err(sibvad_model_prediction(cached), sibvad_model_prediction(plain),
                                        (size_t)B * img, 1e-6);
        CHECK(err > 1e-4, "%s: a wrong frame id changes the prediction (rel. err %.3g)", label, err);
    }
    sibvad_feature_cache_free(fc);
    float *snap = snapshot(cached, snap_n);
    sibvad_model_free(plain);
    sibvad_model_free(cached);
    free(frames);
    free(target);
    free(video);
    free(labels);
    (void)bad;
    return snap;
}

int main(void)
{
    sibvad_set_threads(2);
    sibvad_error e = {{0}};
    long long misses, hits;
    int evictions;
    sibvad_model *m = frozen_tiny(B);
    const size_t eb = sibvad_feature_cache_entry_bytes(m);
    const int T = sibvad_model_config(m)->frames_in;

    size_t na, nb;
    float *a = run_pair(64 * eb, "cache of 64 frames", &misses, &hits, &evictions, &na);
    CHECK(hits > 0, "frames shared by clips are hits (%lld)", hits);
    float *b = run_pair((size_t)B * T * eb, "cache of one batch", &misses, &hits, &evictions, &nb);
    CHECK(evictions > 0, "a cache of one batch evicts (%d)", evictions);
    CHECK(na == nb && bitwise(a, b, na),
          "the two cached runs end with bitwise the same parameters and moments: a frame's features do not "
          "depend on what the cache held");
    free(a);
    free(b);

    /* errors */
    sibvad_feature_cache *fc = sibvad_feature_cache_new(m, eb - 1, &e);
    CHECK(!fc && strstr(e.msg, "holds no frame"), "a budget below one frame fails: %s", e.msg);
    fc = sibvad_feature_cache_new(m, (size_t)(B * T - 1) * eb, &e);
    CHECK(fc != NULL, "a cache smaller than a batch can be made");
    if (fc) {
        long long ids[64];
        for (int i = 0; i < B * T; i++)
            ids[i] = i;
        const size_t img = (size_t)sibvad_model_config(m)->channels * sibvad_model_config(m)->img_h *
                           sibvad_model_config(m)->img_w;
        float *frames = calloc((size_t)B * T * img, sizeof(float)), *target = calloc((size_t)B * img, sizeof(float));
        CHECK(sibvad_model_forward_cached(m, fc, ids, frames, target, NULL, B, &e) < 0 &&
                  strstr(e.msg, "fewer than"),
              "but a batch larger than the cache fails: %s", e.msg);
        sibvad_config other;
        sibvad_config_preset(&other, "tiny", &e);
        other.bb_frozen = 1;
        other.bb_depth += 1;
        sibvad_model *m2 = sibvad_model_create(&other, 1, &e);
        sibvad_model_prepare(m2, B, 1, &e);
        sibvad_feature_cache *big = sibvad_feature_cache_new(m, 64 * eb, &e);
        CHECK(sibvad_model_forward_cached(m2, big, ids, frames, target, NULL, B, &e) < 0 &&
                  strstr(e.msg, "another model"),
              "a cache made for another model is refused: %s", e.msg);
        sibvad_feature_cache_free(big);
        sibvad_model_free(m2);
        free(frames);
        free(target);
        sibvad_feature_cache_free(fc);
    }
    sibvad_config cfg;
    sibvad_config_preset(&cfg, "tiny", &e);
    sibvad_model *trained = sibvad_model_create(&cfg, 1, &e);
    fc = sibvad_feature_cache_new(trained, 1 << 24, &e);
    CHECK(!fc && strstr(e.msg, "bb_frozen"), "a trained backbone has no cache: %s", e.msg);
    sibvad_model_free(trained);
    sibvad_model_free(m);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
