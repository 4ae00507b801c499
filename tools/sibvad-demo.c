/* sibvad-demo: the core end to end on generated surveillance video.
 *
 *   sibvad-demo [--seconds 60] [--threads 2] [--seed 42] [--out DIR]
 *
 * Generates normal footage of one synthetic camera (walkers in lanes), trains
 * a small SIB-VAD model on it for a time budget, then scores test videos that
 * hold a fast object, a wrong-way walker and an object of an unknown shape,
 * and prints the frame-level AUC beside a score that learns nothing
 * (frame-difference energy). Frames go through 8 bits and
 * sibvad_normalise_u8, as live video does in sibvadfilter. After training the
 * model is calibrated on held-out normal videos. With --out it saves the
 * calibrated model (demo-model.safetensors), each test video as raw GRAY8
 * (test-<name>.gray, 64x48, for a GStreamer pipeline: scripts/demo) and, for
 * one abnormal frame, the frame, the prediction and the error map as PGM. */
#include "metrics.h"
#include "sibvad.h"
#include "synthetic.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define H 48
#define W 64
#define TRAIN_VIDEOS 12
#define TRAIN_FRAMES 90
#define TEST_FRAMES 120

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Generated frames (F, C, H, W) in [0, 1] to 8-bit grey (F, H, W), as a
 * camera or a file would deliver them. */
static void quantise(unsigned char *dst, const float *f, int frames, int C)
{
    for (int t = 0; t < frames; t++)
        for (int i = 0; i < H * W; i++) {
            float v = f[(size_t)t * C * H * W + i] * 255.0f + 0.5f;
            dst[(size_t)t * H * W + i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

/* 8-bit grey frames to the model's input, exactly as sibvadfilter does. */
static void normalise(float *f, const unsigned char *grey, int frames, const sibvad_config *cfg)
{
    for (int t = 0; t < frames; t++)
        sibvad_normalise_u8(cfg, grey + (size_t)t * H * W, 1, W, f + (size_t)t * cfg->channels * H * W, NULL);
}

/* Generate a video, quantise it (grey kept in *grey when not NULL) and normalise it. */
static int make_video(const sibvad_synth_params *p, const sibvad_config *cfg, float *vid, unsigned char *grey,
                      unsigned char *labels, sibvad_error *err)
{
    unsigned char *g = grey ? grey : malloc((size_t)p->frames * H * W);
    if (!g)
        return sibvad_fail(err, "out of memory");
    int rc = sibvad_synth_video(p, vid, labels, err);
    if (rc == 0) {
        quantise(g, vid, p->frames, cfg->channels);
        normalise(vid, g, p->frames, cfg);
    }
    if (!grey)
        free(g);
    return rc;
}

static int write_pgm(const char *dir, const char *name, const float *x, float lo, float hi)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P5\n%d %d\n255\n", W, H);
    for (int i = 0; i < H * W; i++) {
        float v = (x[i] - lo) / (hi - lo);
        fputc((int)(255.0f * (v < 0 ? 0 : v > 1 ? 1 : v)), f);
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    double seconds = 60;
    int threads = 2;
    uint64_t seed = 42;
    const char *out = NULL;
    for (int i = 1; i + 1 < argc || (i < argc && argv[i][0] == '-'); i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "sibvad-demo: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else {
            fprintf(stderr, "usage: sibvad-demo [--seconds S] [--threads N] [--seed N] [--out DIR]\n");
            return 2;
        }
    }
    sibvad_set_threads(threads);
    sibvad_error err = {{0}};

    /* the tiny architecture at 64x48 */
    sibvad_config cfg;
    sibvad_config_preset(&cfg, "tiny", NULL);
    cfg.img_h = H;
    cfg.img_w = W;
    cfg.sffm_alpha = 0.001f;
    cfg.lr = 1e-3f;
    snprintf(cfg.preset, sizeof cfg.preset, "tiny-demo");
    const int C = cfg.channels, T = cfg.frames_in, B = 8;
    const size_t img = (size_t)C * H * W;

    /* normal training footage of one camera */
    printf("sibvad-demo: generating %d normal videos of %d frames (%dx%d)\n", TRAIN_VIDEOS, TRAIN_FRAMES, W, H);
    float *train = malloc(sizeof(float) * TRAIN_VIDEOS * TRAIN_FRAMES * img);
    if (!train)
        return 1;
    for (int v = 0; v < TRAIN_VIDEOS; v++) {
        sibvad_synth_params p = {W, H, C, TRAIN_FRAMES, 1, 100 + v, 6, SIBVAD_SYNTH_NORMAL, 0, 0.01f};
        if (make_video(&p, &cfg, train + (size_t)v * TRAIN_FRAMES * img, NULL, NULL, &err) < 0) {
            fprintf(stderr, "sibvad-demo: %s\n", err.msg);
            return 1;
        }
    }

    sibvad_model *m = sibvad_model_create(&cfg, seed, &err);
    if (!m || sibvad_model_prepare(m, B, 1, &err) < 0) {
        fprintf(stderr, "sibvad-demo: %s\n", err.msg);
        return 1;
    }
    printf("sibvad-demo: training %zu parameters for %.0f s on %d threads (batch %d)\n",
           sibvad_model_num_params(m, 1), seconds, threads, B);
    float *frames = malloc(sizeof(float) * B * T * img), *target = malloc(sizeof(float) * B * img);
    sibvad_rng rng;
    sibvad_rng_seed(&rng, seed);
    const double t0 = now();
    double last = t0;
    int step = 0;
    sibvad_losses L = {0};
    while (now() - t0 < seconds) {
        for (int b = 0; b < B; b++) {
            int v = (int)(sibvad_rng_uniform(&rng) * TRAIN_VIDEOS) % TRAIN_VIDEOS;
            int t = T + (int)(sibvad_rng_uniform(&rng) * (TRAIN_FRAMES - T)) % (TRAIN_FRAMES - T);
            const float *vid = train + (size_t)v * TRAIN_FRAMES * img;
            memcpy(frames + (size_t)b * T * img, vid + (size_t)(t - T) * img, sizeof(float) * T * img);
            memcpy(target + (size_t)b * img, vid + (size_t)t * img, sizeof(float) * img);
        }
        sibvad_model_zero_grad(m);
        if (sibvad_model_forward(m, frames, target, NULL, B, &err) < 0 || sibvad_model_backward(m, &err) < 0 ||
            sibvad_model_step(m, &err) < 0) {
            fprintf(stderr, "sibvad-demo: %s\n", err.msg);
            return 1;
        }
        sibvad_model_losses(m, &L);
        step++;
        if (now() - last > 5.0 || step == 1) {
            last = now();
            printf("  step %5d  %5.1f s  loss %.4f (pred %.4f motion %.4f balance %.5f)  %.1f clips/s\n", step,
                   last - t0, L.total, L.pred, L.motion, L.balance, step * B / (last - t0));
            fflush(stdout);
        }
    }
    printf("sibvad-demo: %d steps, final loss %.4f\n", step, L.total);
    if (sibvad_model_prepare(m, 1, 0, &err) < 0) {
        fprintf(stderr, "sibvad-demo: %s\n", err.msg);
        return 1;
    }

    /* calibration: the distribution of errors on two held-out normal videos,
     * so that live scores (sibvadfilter) are z-scores of normal error */
    {
        const int nc = 2 * (TRAIN_FRAMES - T);
        float *cv = malloc(sizeof(float) * TRAIN_FRAMES * img), *errs = malloc(sizeof(float) * nc);
        int k = 0;
        for (int v = 0; v < 2 && cv && errs; v++) {
            sibvad_synth_params p = {W, H, C, TRAIN_FRAMES, 1, 700 + v, 6, SIBVAD_SYNTH_NORMAL, 0, 0.01f};
            if (make_video(&p, &cfg, cv, NULL, NULL, &err) < 0)
                break;
            for (int t = T; t < TRAIN_FRAMES; t++)
                if (sibvad_model_forward(m, cv + (size_t)(t - T) * img, cv + (size_t)t * img, NULL, 1, &err) == 0)
                    sibvad_model_scores(m, &errs[k++], NULL, NULL, &err);
        }
        sibvad_calibration cal;
        if (k == nc && sibvad_calibration_fit(&cal, errs, NULL, k, &err) == 0) {
            sibvad_model_set_calibration(m, &cal);
            printf("sibvad-demo: calibrated on %d held-out normal clips (median error %.5f)\n", k,
                   cal.vis_quantiles[0]);
        } else {
            fprintf(stderr, "sibvad-demo: calibration failed: %s\n", err.msg);
        }
        free(cv);
        free(errs);
    }

    /* score test videos: each anomaly type, plus a normal one */
    static const char *names[] = {"normal", "fast object", "wrong-way walker", "unknown shape"};
    const int nv = 4, nscored = TEST_FRAMES - T;
    float *scores = malloc(sizeof(float) * nv * nscored), *base = malloc(sizeof(float) * nv * nscored);
    unsigned char *labels = malloc(nv * nscored), *lab = malloc(TEST_FRAMES);
    float *vid = malloc(sizeof(float) * TEST_FRAMES * img), *raw = malloc(sizeof(float) * TEST_FRAMES * img);
    float *emap = malloc(sizeof(float) * H * W);
    unsigned char *grey = malloc((size_t)TEST_FRAMES * H * W);
    static const char *files[] = {"normal", "fast-object", "wrong-way", "unknown-shape"};
    int saved = 0;
    if (out)
        mkdir(out, 0755);
    for (int v = 0; v < nv; v++) {
        sibvad_synth_params p = {W, H, C, TEST_FRAMES, 1, 900 + v, 6, (sibvad_synth_anomaly)v, 30, 0.01f};
        if (make_video(&p, &cfg, vid, grey, lab, &err) < 0) {
            fprintf(stderr, "sibvad-demo: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < (size_t)TEST_FRAMES * H * W; i++)
            for (int c = 0; c < C; c++) /* for the PGM images */
                raw[(i / (H * W)) * img + (size_t)c * H * W + i % (H * W)] = grey[i] / 255.0f;
        if (out) {
            char path[1024];
            snprintf(path, sizeof path, "%s/test-%s.gray", out, files[v]);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(grey, (size_t)H * W, TEST_FRAMES, f) != TEST_FRAMES || fclose(f) != 0) {
                fprintf(stderr, "sibvad-demo: cannot write %s: %s\n", path, strerror(errno));
                return 1;
            }
        }
        float *sv = scores + v * nscored, *bv = base + v * nscored;
        for (int t = T; t < TEST_FRAMES; t++) {
            sibvad_model_forward(m, vid + (size_t)(t - T) * img, vid + (size_t)t * img, NULL, 1, &err);
            sibvad_model_scores(m, &sv[t - T], NULL, emap, &err);
            double e = 0;
            for (size_t i = 0; i < img; i++) {
                double d = vid[t * img + i] - vid[(t - 1) * img + i];
                e += d * d;
            }
            bv[t - T] = (float)(e / img);
            labels[v * nscored + t - T] = lab[t];
            if (out && !saved && lab[t] && v == 1 && t > 50) {
                write_pgm(out, "frame.pgm", raw + (size_t)t * img, 0, 1);
                float pr[H * W];
                for (int i = 0; i < H * W; i++)
                    pr[i] = sibvad_model_prediction(m)[i] * SIBVAD_PIXEL_STD[0] + SIBVAD_PIXEL_MEAN[0];
                write_pgm(out, "prediction.pgm", pr, 0, 1);
                float hi = 1e-6f;
                for (int i = 0; i < H * W; i++)
                    hi = emap[i] > hi ? emap[i] : hi;
                write_pgm(out, "error-map.pgm", emap, 0, hi);
                saved = 1;
            }
        }
        /* per-video min-max normalisation and Gaussian smoothing (sigma 3) */
        sibvad_minmax(sv, nscored);
        sibvad_gaussian_smooth(sv, sv, nscored, 3.0f, 0);
        sibvad_minmax(bv, nscored);
        sibvad_gaussian_smooth(bv, bv, nscored, 3.0f, 0);
        int na = 0;
        for (int i = 0; i < nscored; i++)
            na += labels[v * nscored + i];
        printf("  test video %-17s %3d abnormal of %d frames\n", names[v], na, nscored);
    }
    double auc = sibvad_roc_auc(scores, labels, (size_t)nv * nscored);
    double floor_auc = sibvad_roc_auc(base, labels, (size_t)nv * nscored);
    printf("sibvad-demo: frame-level AUC %.3f (frame-difference energy, which learns nothing: %.3f)\n", auc, floor_auc);
    printf("             protocol: MSE per frame, per-video min-max, Gaussian sigma 3, micro AUC over 4 videos\n");
    if (out) {
        char path[1024];
        snprintf(path, sizeof path, "%s/demo-model.safetensors", out);
        mkdir(out, 0755);
        if (sibvad_model_save(m, path, &err) < 0)
            fprintf(stderr, "sibvad-demo: %s\n", err.msg);
        else
            printf("sibvad-demo: model saved to %s; test videos in %s/test-*.gray (GRAY8 %dx%d, 25 fps); "
                   "images in %s/*.pgm\n", path, out, W, H, out);
    }
    sibvad_model_free(m);
    free(train);
    free(frames);
    free(target);
    free(scores);
    free(base);
    free(labels);
    free(lab);
    free(vid);
    free(raw);
    free(emap);
    free(grey);
    return 0;
}
