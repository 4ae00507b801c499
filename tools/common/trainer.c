/* trainer.c: the training loop (see trainer.h): clip index with a held-out
 * tail per video, seeded per-epoch permutations, the draw of skip-frame
 * pseudo-anomalies among the clips, Adam steps, progress, JSON
 * lines, atomic checkpoints with the exact position, and the calibration on
 * held-out normal clips at the end. */
#include "trainer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int v, t;                   /* video, target frame */
    int last;                   /* the last frame of the video's training part */
} Clip;

#define PLAN_AFTER 30 /* steps timed before a time-only run plans its schedule */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void sibvad_train_options_init(SibvadTrainOptions *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 8;
    o->seed = 42;
    o->holdout = 0.1;
    o->checkpoint_minutes = 5.0;
    o->log_every = 20;
    o->progress = 1;
    o->use_semantic = TRUE;
    o->cosine = TRUE;
    o->feature_cache_mb = 4096;
}

/* Learning-rate factor at step s of `total` (0: constant): linear warm-up over
 * the first 5 % (at most 500 steps), then half a cosine down to 0. */
static float lr_factor(int s, int total)
{
    if (total <= 0)
        return 1.0f;
    const int warm = MIN(500, MAX(1, total / 20));
    if (s < warm)
        return (float)(s + 1) / warm;
    const double p = MIN(1.0, (double)(s - warm) / MAX(1, total - warm));
    return (float)(0.5 * (1.0 + cos(G_PI * p)));
}

char *sibvad_train_state_to_json(const SibvadTrainState *s)
{
    return g_strdup_printf("{\"epoch\": %d, \"pos\": %d, \"step\": %d, \"elapsed\": %.3f, \"seed\": %" G_GUINT64_FORMAT
                           ", \"last_loss\": %.9g, \"planned\": %d}",
                           s->epoch, s->pos, s->step, s->elapsed, s->seed, s->last_loss, s->planned);
}

gboolean sibvad_train_state_from_json(SibvadTrainState *s, const char *json, GError **error)
{
    memset(s, 0, sizeof *s);
    /* "planned" came later: a state without it (6 fields) is read with 0 */
    int n = json ? sscanf(json, "{\"epoch\": %d, \"pos\": %d, \"step\": %d, \"elapsed\": %lf, \"seed\": %" G_GUINT64_FORMAT
                                ", \"last_loss\": %lf, \"planned\": %d}",
                          &s->epoch, &s->pos, &s->step, &s->elapsed, &s->seed, &s->last_loss, &s->planned)
                 : 0;
    if (n < 6 || s->epoch < 0 || s->pos < 0 || s->step < 0 || s->elapsed < 0 || s->planned < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the checkpoint's training state is not one that sibvad-train wrote: %.80s", json ? json : "(none)");
        return FALSE;
    }
    return TRUE;
}

/* Training clips from the head of each video, held-out clips from its tail
 * (entirely inside the tail, so they share no frame with training). */
static gboolean build_clips(const SibvadVideoSet *set, int T, double holdout, GArray *train, GArray *held,
                            GError **error)
{
    for (int v = 0; v < set->nvideos; v++) {
        const int n = set->videos[v].nframes;
        int tail = (int)floor(n * holdout);
        if (tail < T + 1)
            tail = 0;   /* too short to hold out a whole clip */
        for (int t = T; t < n - tail; t++) {
            Clip c = {v, t, n - tail - 1};
            g_array_append_val(train, c);
        }
        for (int t = n - tail + T; t < n; t++) {
            Clip c = {v, t, n - 1};
            g_array_append_val(held, c);
        }
    }
    if (train->len == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "no training clips: every video needs at least %d frames (%d videos read)", T + 1, set->nvideos);
        return FALSE;
    }
    return TRUE;
}

static void permutation(int *perm, int n, guint64 seed, int epoch)
{
    GRand *r = g_rand_new_with_seed_array((const guint32[]){(guint32)seed, (guint32)(seed >> 32), (guint32)epoch}, 3);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = g_rand_int_range(r, 0, i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    g_rand_free(r);
}

int sibvad_train_clip_frames(const sibvad_config *cfg, guint64 seed, int step, int slot, int t, int last,
                             int *in, int *target)
{
    const int T = cfg->frames_in;
    for (int j = 0; j < T; j++)
        in[j] = t - T + j;
    *target = t;
    if (!(cfg->pseudo_skip > 0))
        return 1;
    /* a 32-bit mix of (seed, step, slot): cheap, and the same after a resume */
    guint32 h = (guint32)seed * 2654435761u ^ ((guint32)step * 40503u + (guint32)slot * 977u + 12345u);
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    if (!((double)(h % 10000u) < cfg->pseudo_skip * 10000.0))
        return 1;
    const int s = cfg->pseudo_skip_min + (int)((h >> 16) % (guint32)(cfg->pseudo_skip_max - cfg->pseudo_skip_min + 1));
    const int e = MAX(t - 1, (T - 1) * s);
    if (e > last)
        return 1;
    for (int j = 0; j < T; j++)
        in[j] = e - (T - 1 - j) * s;
    *target = e;
    return s;
}

/* Normalised input frames, target and semantic vector of clip c into slot b,
 * and its frame ids (video << 32 | frame, for the feature cache). With a
 * config, the clip is the one drawn for (seed, step, b) (a pseudo-anomaly now
 * and then, sibvad_train_clip_frames); without, the plain clip (held-out
 * scoring). */
static void fill_clip(const SibvadVideoSet *set, const Clip *c, const sibvad_config *cfg, guint64 seed, int step,
                      int T, int C, size_t img, int b, float *frames, float *target, float *sem, long long *ids)
{
    const SibvadVideo *v = &set->videos[c->v];
    int *in = g_newa(int, T), tg;
    if (!cfg || sibvad_train_clip_frames(cfg, seed, step, b, c->t, c->last, in, &tg) == 1 ||
        (sem && !v->semantic_ok[in[T - 1]])) {
        for (int j = 0; j < T; j++)
            in[j] = c->t - T + j;   /* the plain clip (a pseudo one without a semantic vector too) */
        tg = c->t;
    }
    for (int j = 0; j < T; j++) {
        sibvad_video_frame_normalised(set, v, in[j], C, frames + ((size_t)b * T + j) * img);
        ids[b * T + j] = ((long long)c->v << 32) | (long long)in[j];
    }
    sibvad_video_frame_normalised(set, v, tg, C, target + (size_t)b * img);
    if (sem)
        memcpy(sem + (size_t)b * set->sem_dim, v->semantic + (size_t)in[T - 1] * set->sem_dim,
               sizeof(float) * set->sem_dim);
}

static int set_frames(const SibvadVideoSet *set)
{
    int n = 0;
    for (int v = 0; v < set->nvideos; v++)
        n += set->videos[v].nframes;
    return n;
}

/* a forward through the feature cache when there is one */
static int forward(sibvad_model *m, sibvad_feature_cache *fc, const long long *ids, const float *frames,
                   const float *target, const float *sem, int B, sibvad_error *e)
{
    return fc ? sibvad_model_forward_cached(m, fc, ids, frames, target, sem, B, e)
              : sibvad_model_forward(m, frames, target, sem, B, e);
}

/* SIBVAD_TRAIN_FAULT=nan@N (tests only): the loss of step N reads as NaN, to
 * check what a diverging run does without making one diverge. */
static int fault_nan_step(void)
{
    const char *f = g_getenv("SIBVAD_TRAIN_FAULT");
    return f && g_str_has_prefix(f, "nan@") ? atoi(f + 4) : -1;
}

/* what the user keeps when a run stops: the last checkpoint written */
static void describe_kept(GString *s, const char *path, int step)
{
    if (path && step >= 0)
        g_string_append_printf(s, "; the last checkpoint, %s (step %d), is intact: continue with --resume %s", path,
                               step, path);
    else if (path)
        g_string_append_printf(s, "; no checkpoint had been written yet (%s)", path);
}

static gboolean checkpoint(sibvad_model *m, const char *path, const SibvadTrainState *s, GError **error)
{
    char *js = sibvad_train_state_to_json(s);
    sibvad_error e;
    int rc = sibvad_model_save_checkpoint(m, path, js, &e);
    g_free(js);
    if (rc < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "writing the checkpoint: %s", e.msg);
        return FALSE;
    }
    return TRUE;
}

static void fmt_time(char *buf, size_t n, double s)
{
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%d:%02d", t / 60, t % 60);
}

static void progress_line(const SibvadTrainOptions *o, const SibvadTrainState *s, const sibvad_losses *l,
                          double rate, int tty, int nclips)
{
    char el[32], eta[32] = "?";
    fmt_time(el, sizeof el, s->elapsed);
    double frac = 0.0;
    if (o->minutes > 0)
        frac = s->elapsed / (o->minutes * 60.0);
    if (o->epochs > 0)
        frac = fmax(frac, (s->epoch + (double)s->pos / nclips) / o->epochs);
    if (o->max_steps > 0)
        frac = fmax(frac, (double)s->step / o->max_steps);
    if (frac > 0.0)
        fmt_time(eta, sizeof eta, s->elapsed / frac - s->elapsed);
    char bar[21];
    int fill = (int)(fmin(frac, 1.0) * 20);
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    fprintf(stderr, "%s[%s] epoch %d step %d %s ETA %s | loss %.4f (pred %.4f motion %.4f sem %.4f bal %.4f) %.1f clips/s%s",
            tty ? "\r" : "", bar, s->epoch + 1, s->step, el, eta, l->total, l->pred, l->motion, l->sem, l->balance,
            rate, tty ? "  " : "\n");
    fflush(stderr);
}

static gboolean calibrate(sibvad_model *m, const SibvadVideoSet *set, GArray *held, int B, int T, int C,
                          size_t img, float *frames, float *target, float *sem, sibvad_feature_cache *fc,
                          long long *ids, FILE *log, int progress, GError **error)
{
    sibvad_error e;
    const int n = (int)held->len;
    if (n < 2) {
        if (progress)
            fprintf(stderr, "sibvad-train: too few held-out clips (%d) to calibrate; the model stays uncalibrated\n", n);
        return TRUE;
    }
    if (sibvad_model_prepare(m, B, 0, &e) < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "%s", e.msg);
        return FALSE;
    }
    float *vis = g_new(float, n), *sv = sem ? g_new(float, n) : NULL;
    for (int i = 0; i < n; i += B) {
        const int bb = MIN(B, n - i);
        for (int b = 0; b < bb; b++) {
            fill_clip(set, &g_array_index(held, Clip, i + b), NULL, 0, 0, T, C, img, b, frames, target, sem, ids);
        }
        if (forward(m, fc, ids, frames, target, sem, bb, &e) < 0 ||
            sibvad_model_scores(m, vis + i, sv ? sv + i : NULL, NULL, &e) < 0) {
            g_free(vis);
            g_free(sv);
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "calibration: %s", e.msg);
            return FALSE;
        }
    }
    sibvad_calibration c;
    int rc = sibvad_calibration_fit(&c, vis, sv, n, &e);
    g_free(vis);
    g_free(sv);
    if (rc < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", e.msg);
        return FALSE;
    }
    sibvad_model_set_calibration(m, &c);
    if (progress)
        fprintf(stderr, "sibvad-train: calibrated on %d held-out normal clips: visual error median %.4g, p99 %.4g\n", n,
                c.vis_quantiles[0], c.vis_quantiles[3]);
    if (log)
        fprintf(log, "{\"event\": \"calibration\", \"clips\": %d, \"vis_log_mean\": %.6g, \"vis_log_std\": %.6g, "
                     "\"vis_p50\": %.6g, \"vis_p99\": %.6g}\n",
                n, c.vis_log_mean, c.vis_log_std, c.vis_quantiles[0], c.vis_quantiles[3]);
    return TRUE;
}

gboolean sibvad_train(sibvad_model *m, const SibvadVideoSet *set, const SibvadTrainOptions *o,
                      SibvadTrainState *state, SibvadStepCallback cb, void *user, GError **error)
{
    const sibvad_config *cfg = sibvad_model_config(m);
    const int T = cfg->frames_in, C = cfg->channels, B = o->batch;
    const size_t img = (size_t)C * cfg->img_h * cfg->img_w;
    sibvad_error e;
    gboolean ok = FALSE;

    if (set->height != cfg->img_h || set->width != cfg->img_w) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "the videos were read at %dx%d but the model takes %dx%d",
                    set->width, set->height, cfg->img_w, cfg->img_h);
        return FALSE;
    }
    if (o->minutes <= 0 && o->epochs <= 0 && o->max_steps <= 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "no budget: give minutes, epochs or steps");
        return FALSE;
    }
    if (B < 1) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "batch must be at least 1");
        return FALSE;
    }
    const gboolean use_sem = o->use_semantic && set->sem_dim > 0;
    if (use_sem && set->sem_dim != cfg->sem_dim) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "semantic vectors have %d values, the model takes %d",
                    set->sem_dim, cfg->sem_dim);
        return FALSE;
    }
    GArray *train = g_array_new(FALSE, FALSE, sizeof(Clip)), *held = g_array_new(FALSE, FALSE, sizeof(Clip));
    float *frames = NULL, *target = NULL, *sem = NULL;
    int *perm = NULL;
    FILE *log = NULL;
    sibvad_feature_cache *fc = NULL;
    long long *ids = NULL;
    if (!build_clips(set, T, o->holdout, train, held, error))
        goto out;
    if (use_sem) {
        GArray *lists[2] = {train, held};
        for (int k = 0; k < 2; k++)
            for (guint i = 0; i < lists[k]->len; i++) {
                const Clip *c = &g_array_index(lists[k], Clip, i);
                if (!set->videos[c->v].semantic_ok || !set->videos[c->v].semantic_ok[c->t - 1]) {
                    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                                "video %s: no semantic vector for the clip ending at frame %d",
                                set->videos[c->v].name, c->t - 1);
                    goto out;
                }
            }
    }
    const int nclips = (int)train->len;
    if (B > nclips) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "batch %d is larger than the %d training clips", B, nclips);
        goto out;
    }
    if (sibvad_model_prepare(m, B, 1, &e) < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "%s", e.msg);
        goto out;
    }
    frames = g_new(float, (size_t)B * T * img);
    target = g_new(float, (size_t)B * img);
    sem = use_sem ? g_new(float, (size_t)B * set->sem_dim) : NULL;
    perm = g_new(int, nclips);
    ids = g_new(long long, (size_t)B * T);
    if (cfg->bb_frozen && o->feature_cache_mb > 0) {
        /* at least one batch; each frame's backbone then runs once while it stays cached */
        const size_t eb = sibvad_feature_cache_entry_bytes(m);
        const size_t want = (size_t)(o->feature_cache_mb * 1048576.0), batch_bytes = (size_t)B * T * eb;
        if (!(fc = sibvad_feature_cache_new(m, MAX(want, batch_bytes), &e))) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "%s", e.msg);
            goto out;
        }
        if (o->progress) {
            sibvad_feature_cache_stats st;
            sibvad_feature_cache_get_stats(fc, &st);
            fprintf(stderr, "sibvad-train: frozen backbone: features of up to %d frames kept (%.1f MiB each, "
                            "%d frames in the training videos)\n",
                    st.capacity, eb / 1048576.0, set_frames(set));
        }
    }
    if (o->log_path && !(log = fopen(o->log_path, state && state->step > 0 ? "a" : "w"))) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot write the log %s: %s", o->log_path,
                    g_strerror(errno));
        goto out;
    }
    SibvadTrainState s = {0};
    s.seed = o->seed;
    if (state && state->step > 0)
        s = *state;
    if (s.pos + B > nclips) {
        s.epoch++;
        s.pos = 0;
    }
    permutation(perm, nclips, s.seed, s.epoch);
    /* planned steps for the schedule: the smaller of the epoch and step budgets;
     * with a time budget alone, planned from the speed of the first steps and
     * kept in the state, so that a resumed run follows the same schedule */
    int total = 0;
    const gboolean time_only = o->cosine && o->epochs <= 0 && o->max_steps <= 0;
    if (o->cosine) {
        if (o->epochs > 0)
            total = o->epochs * (nclips / B);
        if (o->max_steps > 0)
            total = total > 0 ? MIN(total, o->max_steps) : o->max_steps;
        if (time_only)
            total = s.planned;
    }
    if (o->progress)
        fprintf(stderr, "sibvad-train: %d training clips, %d held out, batch %d, learning rate %g%s%s\n", nclips,
                held->len, B, sibvad_model_config(m)->lr,
                total > 0 || time_only ? " with warm-up and cosine decay" : " (constant)",
                s.step ? " (resumed)" : "");
    const int tty = isatty(fileno(stderr));
    const double t0 = now_s() - s.elapsed;
    double last_ckpt = now_s(), last_progress = 0.0;
    int steps_here = 0;
    gboolean interrupted = FALSE;
    const double here0 = now_s();
    sibvad_losses l = {0};
    const int nan_step = fault_nan_step();
    int ckpt_step = s.step > 0 && o->checkpoint ? s.step : -1; /* the last checkpoint written */
    for (;;) {
        if ((o->minutes > 0 && s.elapsed >= o->minutes * 60.0) || (o->epochs > 0 && s.epoch >= o->epochs) ||
            (o->max_steps > 0 && s.step >= o->max_steps) || (time_only && total > 0 && s.step >= total))
            break;
        for (int b = 0; b < B; b++)
            fill_clip(set, &g_array_index(train, Clip, perm[s.pos + b]), cfg, s.seed, s.step, T, C, img, b, frames,
                      target, sem, ids);
        /* before a time-only run is planned: the warm-up of a long run */
        sibvad_model_set_lr_scale(m, time_only && total == 0 ? MIN(1.0f, (s.step + 1) / 500.0f)
                                                             : lr_factor(s.step, total));
        sibvad_model_zero_grad(m);
        if (forward(m, fc, ids, frames, target, sem, B, &e) < 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "step %d: %s", s.step, e.msg);
            goto out;
        }
        sibvad_model_losses(m, &l);
        if (s.step == nan_step)
            l.total = NAN;
        /* a diverging run stops before the bad step reaches the weights: the
         * loss, then the gradients, are checked first */
        double gsq = 0.0;
        if (isfinite(l.total)) {
            if (sibvad_model_backward(m, &e) < 0) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "step %d: %s", s.step, e.msg);
                goto out;
            }
            gsq = sibvad_model_grad_sumsq(m);
        }
        if (!isfinite(l.total) || !isfinite(gsq)) {
            GString *msg = g_string_new(NULL);
            g_string_printf(msg, "step %d: the %s not finite (loss %g: pred %g, motion %g, sem %g, balance %g); "
                                 "training stopped before the step reached the weights",
                            s.step, isfinite(l.total) ? "gradients are" : "loss is", l.total, l.pred, l.motion,
                            l.sem, l.balance);
            describe_kept(msg, o->checkpoint, ckpt_step);
            g_string_append(msg, " (lower the learning rate with --lr, or check the input for bad frames or "
                                 "semantic vectors)");
            g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, msg->str);
            g_string_free(msg, TRUE);
            goto out;
        }
        if (sibvad_model_step(m, &e) < 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "step %d: %s", s.step, e.msg);
            goto out;
        }
        s.last_loss = l.total;
        s.step++;
        steps_here++;
        s.pos += B;
        if (s.pos + B > nclips) {
            s.epoch++;
            s.pos = 0;
            permutation(perm, nclips, s.seed, s.epoch);
        }
        const double t = now_s();
        s.elapsed = t - t0;
        const double rate = steps_here * B / fmax(t - here0, 1e-9);
        if (time_only && total == 0 && steps_here >= PLAN_AFTER) {
            total = s.planned = s.step + (int)((o->minutes * 60.0 - s.elapsed) * rate / B);
            if (o->progress)
                fprintf(stderr, "%ssibvad-train: at %.1f clips/s the %.0f-minute budget holds about %d steps; "
                                "the learning rate decays to 0 over them\n", tty ? "\n" : "", rate, o->minutes, total);
        }
        const gboolean go_on = cb ? cb(&s, &l, user) : TRUE;
        if (log && s.step % o->log_every == 0)
            fprintf(log, "{\"step\": %d, \"epoch\": %d, \"elapsed_s\": %.1f, \"loss\": %.6g, \"pred\": %.6g, "
                         "\"motion\": %.6g, \"sem\": %.6g, \"balance\": %.6g, \"lr\": %.6g, \"clips_per_s\": %.2f}\n",
                    s.step, s.epoch, s.elapsed, l.total, l.pred, l.motion, l.sem, l.balance,
                    sibvad_model_config(m)->lr * lr_factor(s.step - 1, total), rate);
        if (o->progress && (t - last_progress >= (tty ? 0.5 : 30.0))) {
            progress_line(o, &s, &l, rate, tty, nclips);
            last_progress = t;
        }
        if (o->checkpoint && t - last_ckpt >= o->checkpoint_minutes * 60.0) {
            /* a failed checkpoint (disk full...) leaves the previous one whole:
             * say so and go on; the next interval tries again */
            GError *ce = NULL;
            if (checkpoint(m, o->checkpoint, &s, &ce)) {
                ckpt_step = s.step;
            } else {
                GString *msg = g_string_new(NULL);
                g_string_printf(msg, "sibvad-train: WARNING: step %d: %s", s.step, ce->message);
                describe_kept(msg, o->checkpoint, ckpt_step);
                fprintf(stderr, "%s%s; training goes on and tries again in %g minutes\n", tty ? "\n" : "", msg->str,
                        o->checkpoint_minutes);
                if (log)
                    fprintf(log, "{\"event\": \"checkpoint_failed\", \"step\": %d, \"kept_step\": %d}\n", s.step,
                            ckpt_step);
                g_string_free(msg, TRUE);
                g_error_free(ce);
            }
            last_ckpt = t;
            if (log)
                fflush(log);
        }
        if (!go_on) {
            interrupted = TRUE;
            break;
        }
    }
    if (o->progress) {
        progress_line(o, &s, &l, steps_here * B / fmax(now_s() - here0, 1e-9), tty, nclips);
        if (tty)
            fputc('\n', stderr);
    }
    if (o->checkpoint) {
        GError *ce = NULL;
        if (!checkpoint(m, o->checkpoint, &s, &ce)) {
            GString *msg = g_string_new(NULL);
            g_string_printf(msg, "step %d: %s", s.step, ce->message);
            describe_kept(msg, o->checkpoint, ckpt_step);
            g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, msg->str);
            g_string_free(msg, TRUE);
            g_error_free(ce);
            goto out;
        }
    }
    if (state)
        *state = s;
    if (interrupted) {
        ok = TRUE;
        goto out;
    }
    ok = calibrate(m, set, held, B, T, C, img, frames, target, sem, fc, ids, log, o->progress, error);
    if (fc && o->progress) {
        sibvad_feature_cache_stats st;
        sibvad_feature_cache_get_stats(fc, &st);
        fprintf(stderr, "sibvad-train: feature cache: the backbone ran on %lld frames, %lld reused (%lld evicted)\n",
                st.misses, st.hits, st.evictions);
    }
out:
    sibvad_feature_cache_free(fc);
    g_free(ids);
    if (log)
        fclose(log);
    g_array_free(train, TRUE);
    g_array_free(held, TRUE);
    g_free(frames);
    g_free(target);
    g_free(sem);
    g_free(perm);
    return ok;
}
