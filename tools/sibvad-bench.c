/* sibvad-bench: times the model on this CPU.
 *
 *   sibvad-bench [--preset lite|tiny|paper] [--config FILE.json] [--batch 8]
 *                [--threads 2] [--warmup 2] [--iters 5] [--mode both|forward|train] [--json]
 *   sibvad-bench [--preset NAME] --dump-config     (print the config as JSON and exit)
 *
 * Measures inference (forward only, inference memory layout) and a training
 * step (zero_grad + forward + backward + Adam step) on random clips with a
 * semantic input, and the machine's sgemm rate as a yardstick. Prints clips/s
 * and achieved GFLOP/s; with --json, one final JSON line for scripts. */
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
                    "       sibvad-bench [--preset NAME | --config FILE] --dump-config\n");
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

int main(int argc, char **argv)
{
    const char *preset = "lite", *config_path = NULL, *mode = "both";
    int batch = 8, threads = 2, warmup = 2, iters = 5, json = 0, dump = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json") || !strcmp(a, "--dump-config")) {
            *(a[2] == 'j' ? &json : &dump) = 1;
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
            batch = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(v);
        else if (!strcmp(a, "--iters"))
            iters = atoi(v);
        else if (!strcmp(a, "--mode"))
            mode = v;
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
    double fwd_cps = 0, train_cps = 0;

    sibvad_model *m = sibvad_model_create(&cfg, 42, &err);
    if (!m) {
        fprintf(stderr, "sibvad-bench: %s\n", err.msg);
        return 1;
    }
    if (!json)
        printf("sibvad-bench: preset %s, %dx%d, %zu parameters (%zu trainable), batch %d, %d threads\n",
               cfg.preset, cfg.img_w, cfg.img_h, sibvad_model_num_params(m, 0), sibvad_model_num_params(m, 1),
               batch, threads);
    if (do_fwd) {
        if (sibvad_model_prepare(m, batch, 0, &err) < 0) {
            fprintf(stderr, "sibvad-bench: %s\n", err.msg);
            return 1;
        }
        for (int i = 0; i < warmup; i++)
            sibvad_model_forward(m, frames, target, sem, batch, &err);
        double t0 = now();
        for (int i = 0; i < iters; i++)
            sibvad_model_forward(m, frames, target, sem, batch, &err);
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
            if (i == warmup)
                t0 = now();
            sibvad_model_zero_grad(m);
            if (sibvad_model_forward(m, frames, target, sem, batch, &err) < 0 ||
                sibvad_model_backward(m, &err) < 0 || sibvad_model_step(m, &err) < 0) {
                fprintf(stderr, "sibvad-bench: %s\n", err.msg);
                return 1;
            }
            if (i == warmup + iters - 1) {
                double t = (now() - t0) / iters;
                train_cps = batch / t;
                if (!json)
                    printf("train step: %8.2f clips/s  %7.1f ms/batch  %6.1f GFLOP/s\n", train_cps, t * 1e3,
                           flops_train / t * 1e-9);
            }
        }
    }
    if (!json)
        printf("sgemm 1024: %6.1f GFLOP/s (this machine, %d threads)\n", peak, threads);
    else
        printf("{\"impl\":\"sibvad\",\"preset\":\"%s\",\"batch\":%d,\"threads\":%d,"
               "\"forward_clips_per_s\":%.4f,\"train_clips_per_s\":%.4f,"
               "\"forward_gflops\":%.2f,\"train_gflops\":%.2f,\"sgemm_gflops\":%.2f}\n",
               cfg.preset, batch, threads, fwd_cps, train_cps, flops_fwd * fwd_cps / batch * 1e-9,
               flops_train * train_cps / batch * 1e-9, peak);
    sibvad_model_free(m);
    free(frames);
    free(target);
    free(sem);
    return 0;
}
