/* sibvad-bench: times the model on this CPU.
 *
 *   sibvad-bench [--preset lite|tiny|paper] [--config FILE.json] [--batch 8]
 *                [--threads 2] [--warmup 2] [--iters 5] [--mode both|forward|train] [--json]
 *                [--backend cpu|cuda|auto] [--feature-cache]
 *   sibvad-bench [--preset NAME] --dump-config     (print the config as JSON and exit)
 *   sibvad-bench [--preset NAME] --stream [--batch N] [--threads 2] [--iters N] [--json]
 *
 * Measures inference (forward only, inference memory layout) and a training
 * step (zero_grad + forward + backward + Adam step) on random clips with a
 * semantic input, and the machine's sgemm rate as a yardstick. Prints clips/s
 * and achieved GFLOP/s; with --json, one final JSON line for scripts.
 * With --stream: live scoring, at 1 thread and at --threads, frames/s of
 * sibvad_stream_push (each push: the backbone on one frame, the motion encoder
 * on one difference, the clip stage) next to the batch-1 forward (every clip
 * from scratch), which is what per-frame reuse gains; with --batch N > 1 also
 * frames/s of sibvad_stream_push_batch, N frames a call; each figure is timed
 * over at least --iters calls and one second. --backend runs the model on
 * the CPU (default) or the CUDA backend module; timings wait for the device.
 * With --feature-cache the backbone is frozen (as with a pretrained one) and a
 * third figure times training steps whose backbone features come from a
 * sibvad_feature_cache that holds every frame (the state after one epoch). */
#include "sibvad.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: sibvad-bench [--preset NAME | --config FILE] [--batch N] [--threads N]\n"
                    "                    [--warmup N] [--iters N] [--mode both|forward|train] [--json]\n"
                    "       sibvad-bench [--preset NAME | --config FILE] --stream [--batch N] [--threads N]\n"
                    "                    [--warmup N] [--iters N] [--json]\n"
                    "       sibvad-bench [--preset NAME | --config FILE] --dump-config\n"
                    "       (all: [--backend cpu|cuda|auto]; training: [--feature-cache])\n");
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s) {
        s[n] = 0;
        *len = (size_t)n;
    }
    return s;
}

/* GFLOP/s of a square sgemm, the machine's practical peak for our products. */
static double sgemm_rate(int n)
{
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    int reps = 0;
    double t0 = now(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        reps++;
        t = now() - t0;
    } while (t < 0.5);
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * (double)n * reps / t * 1e-9;
}

/* Live scoring at `threads` threads: frames/s of sibvad_stream_push against
 * clips/s of the batch-1 forward (+ scores) on the same clips. `pool` holds
 * npool frames, pushed in a cycle; each measurement runs at least `iters`
 * calls and one second after `warmup` untimed ones. */
static int bench_stream(sibvad_model *m, const float *pool, int npool, const float *sem, int threads, int warmup,
                        int iters, int sbatch, double *push_fps, double *batch_fps, double *fwd_cps,
                        sibvad_error *err)
{
    const sibvad_config *cfg = sibvad_model_config(m);
    const int T = cfg->frames_in;
    const size_t img = (size_t)cfg->channels * cfg->img_h * cfg->img_w;
    sibvad_set_threads(threads);

    sibvad_stream *st = sibvad_stream_new(m, err);
    if (!st)
        return -1;
    sibvad_stream_result res;
    int k = 0, n = 0;
    for (; k < T + warmup; k++) /* warm-up: the first T pushes are unscored */
        if (sibvad_stream_push(st, pool + (size_t)(k % npool) * img, sem, &res, err) < 0)
            goto fail;
    double t0 = now(), t;
    do {
        if (sibvad_stream_push(st, pool + (size_t)(k++ % npool) * img, sem, &res, err) < 0)
            goto fail;
        if (!res.scored) {
            sibvad_fail(err, "stream: a push after the warm-up was not scored");
            goto fail;
        }
        n++;
        t = now() - t0;
    } while (n < iters || t < 1.0);
    *push_fps = n / t;
    sibvad_stream_free(st);

    /* push_batch, sbatch frames a call (pool: npool >= sbatch frames; sem: sbatch copies) */
    if (sbatch > 1) {
        sibvad_stream_result *rb = malloc(sizeof *rb * sbatch);
        st = rb ? sibvad_stream_new_batched(m, sbatch, err) : NULL;
        if (!st) {
            free(rb);
            return rb ? -1 : sibvad_fail(err, "out of memory");
        }
        const int nstart = npool - sbatch + 1;
        int calls = 0, ok = 1;
        n = 0;
        for (int i = -warmup - (T + sbatch - 1) / sbatch; ok && (i < 0 || calls < iters || t < 1.0); i++) {
            if (i == 0)
                t0 = now();
            ok = sibvad_stream_push_batch(st, pool + (size_t)((k++ % nstart) * img), sem, sbatch, rb, err) == 0;
            if (ok && i >= 0) {
                ok = rb[0].scored;
                if (!ok)
                    sibvad_fail(err, "stream: a batch after the warm-up was not scored");
                calls++;
                n += sbatch;
                t = now() - t0;
            }
        }
        sibvad_stream_free(st);
        free(rb);
        if (!ok)
            return -1;
        *batch_fps = n / t;
    }

    /* the batch-1 forward on clips of the same pool: T + 1 frames in a row */
    float *clip = malloc(sizeof(float) * (T + 1) * img), v, sv;
    if (!clip)
        return sibvad_fail(err, "out of memory");
    if (sibvad_model_prepare(m, 1, 0, err) < 0) {
        free(clip);
        return -1;
    }
    n = 0;
    for (int i = -warmup; i < 0 || n < iters || t < 1.0; i++) {
        if (i == 0)
            t0 = now();
        for (int j = 0; j <= T; j++)
            memcpy(clip + (size_t)j * img, pool + (size_t)((k + j) % npool) * img, sizeof(float) * img);
        k++;
        if (sibvad_model_forward(m, clip, clip + (size_t)T * img, sem, 1, err) < 0 ||
            sibvad_model_scores(m, &v, &sv, NULL, err) < 0) {
            free(clip);
            return -1;
        }
        if (i >= 0) {
            n++;
            t = now() - t0;
        }
    }
    *fwd_cps = n / t;
    free(clip);
    return 0;
fail:
    sibvad_stream_free(st);
    return -1;
}

int main(int argc, char **argv)
{
    const char *preset = "lite", *config_path = NULL, *mode = "both", *backend = "cpu";
    int batch = 8, threads = 2, warmup = 2, iters = 5, json = 0, dump = 0, stream = 0, batch_given = 0;
    int feature_cache = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--feature-cache")) {
            feature_cache = 1;
            continue;
        }
        if (!strcmp(a, "--json") || !strcmp(a, "--dump-config") || !strcmp(a, "--stream")) {
            *(a[2] == 'j' ? &json : a[2] == 'd' ? &dump : &stream) = 1;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(a, "--preset"))
            preset = v;
        else if (!strcmp(a, "--config"))
            config_path = v;
        else if (!strcmp(a, "--batch"))
            batch = atoi(v), batch_given = 1;
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(v);
        else if (!strcmp(a, "--iters"))
            iters = atoi(v);
        else if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--backend"))
            backend = v;
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (batch < 1 || threads < 1 || iters < 1 || warmup < 0) {
        fprintf(stderr, "sibvad-bench: batch, threads and iters must be positive\n");
        return 2;
    }
    sibvad_set_threads(threads);

    sibvad_error err = {{0}};
    sibvad_config cfg;
    if (config_path) {
        size_t len = 0;
        char *s = read_file(config_path, &len);
        if (!s || sibvad_config_from_json(&cfg, s, len, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s: %s\n", config_path, s ? err.msg : "cannot read");
            return 1;
        }
        free(s);
    } else if (sibvad_config_preset(&cfg, preset, &err) < 0) {
        fprintf(stderr, "sibvad-bench: %s\n", err.msg);
        return 1;
    }
    if (feature_cache)
        cfg.bb_frozen = 1;
    if (dump) {
        char *js = sibvad_config_to_json(&cfg);
        if (!js) {
            fprintf(stderr, "sibvad-bench: out of memory\n");
            return 1;
        }
        printf("%s\n", js);
        free(js);
        return 0;
    }
    if (stream) {
        /* a pool of distinct frames pushed in a cycle, one semantic vector */
        const size_t img = (size_t)cfg.channels * cfg.img_h * cfg.img_w;
        const int sbatch = batch_given ? batch : 1; /* push_batch frames per call (1: not timed) */
        const int npool = cfg.frames_in + 4 + sbatch;
        float *pool = malloc(sizeof(float) * npool * img), *sem = malloc(sizeof(float) * cfg.sem_dim * sbatch);
        if (!pool || !sem) {
            fprintf(stderr, "sibvad-bench: out of memory\n");
            return 1;
        }
        unsigned s = 12345;
        for (size_t i = 0; i < (size_t)npool * img; i++)
            pool[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 1.0f;
        for (int i = 0; i < cfg.sem_dim; i++)
            sem[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 1.0f;
        for (int b = 1; b < sbatch; b++)
            memcpy(sem + (size_t)b * cfg.sem_dim, sem, sizeof(float) * cfg.sem_dim);
        sibvad_model *m = sibvad_model_create(&cfg, 42, &err);
        if (!m || sibvad_model_use_backend(m, backend, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s\n", err.msg);
            return 1;
        }
        if (!json)
            printf("sibvad-bench --stream: preset %s, %dx%d, %zu parameters, T = %d, backend %s\n"
                   "threads  stream push frames/s (ms)   batch-1 forward clips/s (ms)   reuse gain%s\n",
                   cfg.preset, cfg.img_w, cfg.img_h, sibvad_model_num_params(m, 0), cfg.frames_in,
                   sibvad_model_backend_name(m), sbatch > 1 ? "   push_batch frames/s (ms/frame)" : "");
        else
            printf("{\"impl\":\"sibvad\",\"preset\":\"%s\",\"backend\":\"%s\",\"stream\":[", cfg.preset,
                   sibvad_model_backend_name(m));
        int tcounts[2] = {1, threads}, nt = threads > 1 ? 2 : 1;
        for (int i = 0; i < nt; i++) {
            double fps = 0, bfps = 0, cps = 0;
            if (bench_stream(m, pool, npool, sem, tcounts[i], warmup, iters, sbatch, &fps, &bfps, &cps, &err) < 0) {
                fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                return 1;
            }
            if (!json) {
                printf("%7d  %12.2f (%7.2f)        %12.2f (%7.2f)         %5.2fx", tcounts[i], fps, 1e3 / fps,
                       cps, 1e3 / cps, fps / cps);
                if (sbatch > 1)
                    printf("   %12.2f (%7.2f) at %d", bfps, 1e3 / bfps, sbatch);
                printf("\n");
            } else {
                printf("%s{\"threads\":%d,\"stream_push_fps\":%.4f,\"forward_b1_clips_per_s\":%.4f", i ? "," : "",
                       tcounts[i], fps, cps);
                if (sbatch > 1)
                    printf(",\"stream_batch\":%d,\"stream_push_batch_fps\":%.4f", sbatch, bfps);
                printf("}");
            }
        }
        if (json)
            printf("]}\n");
        sibvad_model_free(m);
        free(pool);
        free(sem);
        return 0;
    }
    const int do_fwd = strcmp(mode, "train") != 0, do_train = strcmp(mode, "forward") != 0;
    const size_t img = (size_t)cfg.channels * cfg.img_h * cfg.img_w;
    float *frames = malloc(sizeof(float) * batch * cfg.frames_in * img);
    float *target = malloc(sizeof(float) * batch * img);
    float *sem = malloc(sizeof(float) * batch * cfg.sem_dim);
    if (!frames || !target || !sem) {
        fprintf(stderr, "sibvad-bench: out of memory\n");
        return 1;
    }
    unsigned s = 12345;
    for (size_t i = 0; i < (size_t)batch * cfg.frames_in * img; i++)
        frames[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 1.0f;
    memcpy(target, frames, sizeof(float) * batch * img);
    for (int i = 0; i < batch * cfg.sem_dim; i++)
        sem[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 1.0f;

    double flops_fwd, flops_train;
    sibvad_config_flops(&cfg, batch, &flops_fwd, &flops_train);
    const double peak = sgemm_rate(1024);
    double fwd_cps = 0, train_cps = 0, cached_cps = 0;

    sibvad_model *m = sibvad_model_create(&cfg, 42, &err);
    if (!m || sibvad_model_use_backend(m, backend, &err) < 0) {
        fprintf(stderr, "sibvad-bench: %s\n", err.msg);
        return 1;
    }
    if (!json)
        printf("sibvad-bench: preset %s, %dx%d, %zu parameters (%zu trainable), batch %d, %d threads, backend %s\n",
               cfg.preset, cfg.img_w, cfg.img_h, sibvad_model_num_params(m, 0), sibvad_model_num_params(m, 1),
               batch, threads, sibvad_model_backend_name(m));
    if (do_fwd) {
        if (sibvad_model_prepare(m, batch, 0, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s\n", err.msg);
            return 1;
        }
        for (int i = 0; i < warmup; i++)
            sibvad_model_forward(m, frames, target, sem, batch, &err);
        if (sibvad_model_synchronize(m, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s\n", err.msg);
            return 1;
        }
        double t0 = now();
        for (int i = 0; i < iters; i++)
            sibvad_model_forward(m, frames, target, sem, batch, &err);
        if (sibvad_model_synchronize(m, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s\n", err.msg);
            return 1;
        }
        double t = (now() - t0) / iters;
        fwd_cps = batch / t;
        if (!json)
            printf("forward:    %8.2f clips/s  %7.1f ms/batch  %6.1f GFLOP/s\n", fwd_cps, t * 1e3,
                   flops_fwd / t * 1e-9);
    }
    if (do_train) {
        if (sibvad_model_prepare(m, batch, 1, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s\n", err.msg);
            return 1;
        }
        for (int i = 0; i < warmup + iters; i++) {
            static double t0;
            if (i == warmup) {
                if (sibvad_model_synchronize(m, &err) < 0) {
                    fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                    return 1;
                }
                t0 = now();
            }
            sibvad_model_zero_grad(m);
            if (sibvad_model_forward(m, frames, target, sem, batch, &err) < 0 ||
                sibvad_model_backward(m, &err) < 0 || sibvad_model_step(m, &err) < 0) {
                fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                return 1;
            }
            if (i == warmup + iters - 1) {
                if (sibvad_model_synchronize(m, &err) < 0) {
                    fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                    return 1;
                }
                double t = (now() - t0) / iters;
                train_cps = batch / t;
                if (!json)
                    printf("train step: %8.2f clips/s  %7.1f ms/batch  %6.1f GFLOP/s\n", train_cps, t * 1e3,
                           flops_train / t * 1e-9);
            }
        }
    }
    if (do_train && feature_cache) {
        /* every frame of the batch cached (the warm-up pass fills the cache) */
        const int n = batch * cfg.frames_in;
        long long *ids = malloc(sizeof(long long) * n);
        sibvad_feature_cache *fc = ids ? sibvad_feature_cache_new(m, (size_t)n * sibvad_feature_cache_entry_bytes(m),
                                                                  &err)
                                       : NULL;
        if (!fc) {
            fprintf(stderr, "sibvad-bench: %s\n", ids ? err.msg : "out of memory");
            return 1;
        }
        for (int i = 0; i < n; i++)
            ids[i] = i;
        double t0 = 0;
        for (int i = 0; i < 1 + iters; i++) {
            if (i == 1) {
                if (sibvad_model_synchronize(m, &err) < 0) {
                    fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                    return 1;
                }
                t0 = now();
            }
            sibvad_model_zero_grad(m);
            if (sibvad_model_forward_cached(m, fc, ids, frames, target, sem, batch, &err) < 0 ||
                sibvad_model_backward(m, &err) < 0 || sibvad_model_step(m, &err) < 0 ||
                (i == iters && sibvad_model_synchronize(m, &err) < 0)) {
                fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                return 1;
            }
        }
        const double t = (now() - t0) / iters;
        cached_cps = batch / t;
        if (!json)
            printf("train step, backbone features cached: %8.2f clips/s  %7.1f ms/batch (%.1fx)\n", cached_cps,
                   t * 1e3, train_cps > 0 ? cached_cps / train_cps : 0.0);
        sibvad_feature_cache_free(fc);
        free(ids);
    }
    if (!json)
        printf("sgemm 1024: %6.1f GFLOP/s (this machine, %d threads)\n", peak, threads);
    else
        printf("{\"impl\":\"sibvad\",\"preset\":\"%s\",\"backend\":\"%s\",\"batch\":%d,\"threads\":%d,"
               "\"forward_clips_per_s\":%.4f,\"train_clips_per_s\":%.4f,"
               "\"forward_gflops\":%.2f,\"train_gflops\":%.2f,\"sgemm_gflops\":%.2f,"
               "\"frozen_backbone\":%s,\"train_cached_clips_per_s\":%.4f}\n",
               cfg.preset, sibvad_model_backend_name(m), batch, threads, fwd_cps, train_cps, flops_fwd * fwd_cps / batch * 1e-9,
               flops_train * train_cps / batch * 1e-9, peak, cfg.bb_frozen ? "true" : "false", cached_cps);
    sibvad_model_free(m);
    free(frames);
    free(target);
    free(sem);
    return 0;
}
