/* test_train_backbone.c: training on a pretrained frozen backbone from a
 * Hugging Face checkpoint (the tiny InternViT fixture, tests/fixtures/hf).
 *
 *  1. Library: the paper preset with the checkpoint's backbone sizes
 *     (sibvad_hf_vision_config), the backbone loaded, 5 training steps on
 *     generated RGB footage: every backbone tensor is bit-identical afterwards
 *     while the trainable tensors have moved; the saved model file holds the
 *     backbone.
 *  2. Command line (argv[1]: the sibvad-train binary): --backbone on two BMP
 *     frame folders made here trains one epoch and writes a model whose
 *     config is the checkpoint's backbone and whose backbone tensors are the
 *     checkpoint's; --backbone with --resume is refused. With argv[2] (the
 *     stand-in GPU module, tests/backend-fake.c), --device cuda and
 *     --device auto:bf16 train there and write the CPU's model bit for bit,
 *     and an unknown device is refused. */
#include "hf-checkpoint.h"
#include "synthetic.h"
#include "test-util.h"
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *fixtures(void)
{
    const char *f = getenv("SIBVAD_FIXTURES");
    return f ? f : "tests/fixtures";
}

/* Generated RGB footage at W x H. */
static SibvadVideoSet *make_set(int W, int H, int nvideos, int frames)
{
    SibvadVideoSet *set = g_new0(SibvadVideoSet, 1);
    set->nvideos = nvideos;
    set->videos = g_new0(SibvadVideo, nvideos);
    set->channels = 3;
    set->height = H;
    set->width = W;
    const size_t n = (size_t)frames * 3 * H * W;
    float *buf = g_new(float, n);
    for (int v = 0; v < nvideos; v++) {
        SibvadVideo *vid = &set->videos[v];
        sibvad_synth_params p = {W, H, 3, frames, 1, (uint64_t)(50 + v), 2, SIBVAD_SYNTH_NORMAL, frames, 0.01f};
        vid->name = g_strdup_printf("%02d", v + 1);
        vid->source = g_strdup("generated");
        vid->nframes = frames;
        vid->pixels = g_new(uint8_t, n);
        vid->labels = g_new0(uint8_t, frames);
        sibvad_error e;
        if (sibvad_synth_video(&p, buf, vid->labels, &e) < 0) {
            fprintf(stderr, "synthetic video: %s\n", e.msg);
            exit(2);
        }
        for (size_t i = 0; i < n; i++)
            vid->pixels[i] = (uint8_t)lrintf(buf[i] * 255.0f);
    }
    g_free(buf);
    return set;
}

/* Frozen tensors of a and b equal bit for bit (b's looked up by name). */
static int same_frozen(sibvad_model *a, sibvad_model *b, int *count)
{
    int same = 1;
    *count = 0;
    for (int i = 0; i < sibvad_model_num_tensors(a); i++) {
        sibvad_tensor *t = sibvad_model_tensor(a, i);
        if (t->kind != SIBVAD_TENSOR_FROZEN)
            continue;
        (*count)++;
        sibvad_tensor *u = sibvad_model_find_tensor(b, t->name);
        if (!u || u->numel != t->numel || memcmp(u->data, t->data, t->numel * sizeof(float))) {
            printf("     differs: %s\n", t->name);
            same = 0;
        }
    }
    return same;
}

static sibvad_model *model_from_checkpoint(const char *dir, sibvad_hf_load_info *info)
{
    sibvad_config cfg;
    sibvad_error e;
    if (sibvad_config_preset(&cfg, "paper", &e) < 0 || sibvad_hf_vision_config(dir, &cfg, &e) < 0) {
        fprintf(stderr, "config: %s\n", e.msg);
        exit(2);
    }
    sibvad_model *m = sibvad_model_create(&cfg, 5, &e);
    if (!m || sibvad_hf_load_backbone_info(m, dir, info, &e) < 0) {
        fprintf(stderr, "model: %s\n", e.msg);
        exit(2);
    }
    return m;
}

static sibvad_model *reference = NULL; /* the untrained model with the checkpoint's backbone */

static void test_library(const char *dir)
{
    sibvad_hf_load_info info;
    sibvad_model *m = model_from_checkpoint(dir, &info);
    reference = model_from_checkpoint(dir, &info);
    const sibvad_config *c = sibvad_model_config(m);
    CHECK(c->bb_frozen == 1 && c->img_w == 28 && c->img_h == 28 && c->bb_width == 48,
          "paper preset with the checkpoint's backbone: %dx%d, width %d, frozen %d", c->img_w, c->img_h,
          c->bb_width, c->bb_frozen);

    /* copies of every tensor before training */
    const int nt = sibvad_model_num_tensors(m);
    float **before = g_new0(float *, nt);
    for (int i = 0; i < nt; i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        before[i] = g_memdup2(t->data, t->numel * sizeof(float));
    }
    SibvadVideoSet *set = make_set(c->img_w, c->img_h, 2, 12);
    SibvadTrainOptions o;
    sibvad_train_options_init(&o);
    o.progress = 0;
    o.batch = 2;
    o.holdout = 0.0;
    o.max_steps = 5;
    GError *err = NULL;
    gboolean ok = sibvad_train(m, set, &o, NULL, NULL, NULL, &err);
    CHECK(ok, "5 steps on the checkpoint's backbone%s%s", ok ? "" : ": ", ok ? "" : err->message);

    int frozen = 0, frozen_same = 0, trainable = 0, moved = 0;
    for (int i = 0; i < nt; i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        int same = memcmp(before[i], t->data, t->numel * sizeof(float)) == 0;
        if (t->kind == SIBVAD_TENSOR_FROZEN) {
            frozen++;
            frozen_same += same;
            if (strncmp(t->name, "vision_model.", 13) != 0)
                printf("     frozen outside the backbone: %s\n", t->name);
        } else if (t->kind == SIBVAD_TENSOR_TRAINABLE && !strstr(t->name, ".experts.") &&
                   !strstr(t->name, "text_recon.")) {
            /* (experts the SFFM did not route to and the semantic head, without
             * semantic input, get no gradient) */
            trainable++;
            moved += !same;
            if (same && getenv("SIBVAD_VERBOSE"))
                printf("     unchanged: %s\n", t->name);
        }
        g_free(before[i]);
    }
    g_free(before);
    CHECK(frozen > 0 && frozen == info.tensors_read + info.tensors_zeroed,
          "the backbone's %d tensors are frozen (%d read from the checkpoint)", frozen, info.tensors_read);
    CHECK(frozen_same == frozen, "every backbone tensor is unchanged by training (%d of %d)", frozen_same, frozen);
    CHECK(trainable > 0 && moved == trainable, "the trainable tensors moved (%d of %d, routed experts and the semantic head aside)", moved, trainable);

    sibvad_error e;
    const char *path = tpath("lib.safetensors");
    CHECK(sibvad_model_save(m, path, &e) == 0, "model saved");
    sibvad_model *l = sibvad_model_load(path, &e);
    int n = 0;
    CHECK(l && same_frozen(reference, l, &n) && n == frozen, "the model file holds the backbone (%d tensors)", n);
    if (l)
        sibvad_model_free(l);
    sibvad_videoset_free(set);
    sibvad_model_free(m);
}

/* 24-bit BMP (bottom-up rows padded to 4 bytes) of a square moving right. */
static void write_frame(const char *path, int w, int h, int t, int v)
{
    uint8_t *rgb = g_malloc((gsize)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            int in = x >= 2 + t && x < 10 + t && y >= 8 + 4 * v && y < 16 + 4 * v;
            p[0] = (uint8_t)(in ? 90 : 140);
            p[1] = (uint8_t)(in ? 200 : 100 + y);
            p[2] = (uint8_t)(in ? 40 : 120 + x);
        }
    write_bmp24(path, w, h, rgb);
    g_free(rgb);
}

static int run_env(char **argv, char **envp, char **err_out)
{
    gint status = 0;
    GError *e = NULL;
    if (!g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, NULL, err_out, &status, &e)) {
        printf("     cannot run %s: %s\n", argv[0], e->message);
        return -1;
    }
    return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

static int run(char **argv, char **err_out) { return run_env(argv, NULL, err_out); }

/* every tensor bitwise equal */
static int same_model(const char *a_path, const char *b_path)
{
    sibvad_error e;
    sibvad_model *a = sibvad_model_load(a_path, &e), *b = a ? sibvad_model_load(b_path, &e) : NULL;
    int same = a && b && sibvad_model_num_tensors(a) == sibvad_model_num_tensors(b);
    for (int i = 0; same && i < sibvad_model_num_tensors(a); i++) {
        sibvad_tensor *t = sibvad_model_tensor(a, i), *u = sibvad_model_find_tensor(b, t->name);
        if (!u || u->numel != t->numel || memcmp(u->data, t->data, t->numel * sizeof(float))) {
            printf("     differs: %s\n", t->name);
            same = 0;
        }
    }
    if (!a || !b)
        printf("     cannot load: %s\n", e.msg);
    sibvad_model_free(a);
    sibvad_model_free(b);
    return same;
}

/* --device: the same training on the stand-in GPU module (CPU arithmetic
 * behind memory the host cannot read) writes the same model, bit for bit */
static void test_cli_device(const char *tool, const char *dir, const char *fake_module, char **v, const char *cpu_out)
{
    char *out = g_strdup(tpath("cli/model-device.safetensors"));
    char **envp = g_environ_setenv(g_get_environ(), "SIBVAD_CUDA_MODULE", fake_module, TRUE);
    const char *devices[] = {"cuda", "auto:bf16"};
    for (int k = 0; k < 2; k++) {
        char *argv[] = {(char *)tool, "--backbone", (char *)dir, "--out", out, "--epochs", "1", "--batch", "2",
                        "--holdout", "0", "--threads", "1", "--cache", "", "--device", (char *)devices[k], v[0], v[1],
                        NULL};
        char *err = NULL;
        int rc = run_env(argv, envp, &err);
        CHECK(rc == 0 && err && strstr(err, " on fake"), "--device %s trains on the stand-in module%s%s", devices[k],
              rc ? ": " : "", rc && err ? err : "");
        g_free(err);
        CHECK(rc == 0 && same_model(cpu_out, out), "--device %s: the model equals the CPU's, bit for bit", devices[k]);
    }
    char *argv[] = {(char *)tool, "--backbone", (char *)dir, "--out", out, "--epochs", "1", "--device", "gpu", v[0],
                    NULL};
    char *err = NULL;
    int rc = run(argv, &err);
    CHECK(rc == 1 && err && strstr(err, "unknown backend \"gpu\""), "--device gpu is refused: %s", err ? err : "");
    g_free(err);
    g_strfreev(envp);
    g_free(out);
}

static void test_cli(const char *tool, const char *dir, const char *fake_module)
{
    char *v[2];
    for (int k = 0; k < 2; k++) {
        v[k] = g_strdup(tpath(k ? "frames/02" : "frames/01"));
        g_mkdir_with_parents(v[k], 0755);
        for (int t = 0; t < 9; t++) {
            char *f = g_strdup_printf("%s/%03d.bmp", v[k], t);
            write_frame(f, 40, 36, t, k);
            g_free(f);
        }
    }
    char *out = g_strdup(tpath("cli/model.safetensors"));
    char *argv[] = {(char *)tool, "--backbone", (char *)dir, "--out", out, "--epochs", "1", "--batch", "2",
                    "--holdout", "0", "--threads", "1", "--cache", "", v[0], v[1], NULL};
    char *err = NULL;
    int rc = run(argv, &err);
    CHECK(rc == 0, "sibvad-train --backbone trains one epoch on two frame folders%s%s", rc ? ": " : "",
          rc && err ? err : "");
    g_free(err);
    sibvad_error e;
    sibvad_model *m = sibvad_model_load(out, &e);
    CHECK(m != NULL, "the model file loads%s%s", m ? "" : ": ", m ? "" : e.msg);
    if (m) {
        const sibvad_config *c = sibvad_model_config(m);
        CHECK(c->bb_width == 48 && c->bb_depth == 2 && c->bb_heads == 3 && c->bb_mlp == 96 && c->patch == 14 &&
                  c->img_w == 28 && c->img_h == 28 && c->bb_frozen == 1 && c->d_model == 256,
              "its config: the paper preset with the checkpoint's backbone (width %d, depth %d, %dx%d, d_model %d)",
              c->bb_width, c->bb_depth, c->img_w, c->img_h, c->d_model);
        int n = 0;
        CHECK(same_frozen(reference, m, &n) && n > 0, "its backbone tensors are the checkpoint's (%d)", n);
        sibvad_model_free(m);
    }
    if (fake_module)
        test_cli_device(tool, dir, fake_module, v, out);
    char *argv2[] = {(char *)tool, "--backbone", (char *)dir, "--resume", out, "--out", out, v[0], NULL};
    err = NULL;
    rc = run(argv2, &err);
    CHECK(rc == 1 && err && strstr(err, "--resume"), "--backbone with --resume is refused: %s", err ? err : "");
    g_free(err);
    char *argv3[] = {(char *)tool, "--backbone", (char *)tpath("frames"), "--out", out, v[0], NULL};
    err = NULL;
    rc = run(argv3, &err);
    CHECK(rc == 1 && err && strstr(err, "config.json"), "a folder without a checkpoint is refused: %s",
          err ? err : "");
    g_free(err);
    g_free(v[0]);
    g_free(v[1]);
    g_free(out);
}

int main(int argc, char **argv)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sibvad-test-train-backbone-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    sibvad_set_threads(1);
    char *dir = g_build_filename(fixtures(), "hf", "internvit", NULL);
    test_library(dir);
    if (argc > 1)
        test_cli(argv[1], dir, argc > 2 ? argv[2] : NULL);
    else
        printf("     (no sibvad-train given: command line not tested)\n");
    sibvad_model_free(reference);
    g_free(dir);
    rm_rf(tmpdir);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
