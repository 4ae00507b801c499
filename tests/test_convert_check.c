/* test_convert_check.c: the C side of tests/test_convert_pth.sh.
 *
 *   test_convert_check MODEL [INPUTS [BACKBONE_DIR]]
 *
 * Loads MODEL (a file written by tools/convert-pth.py) with sibvad_model_load and prints
 * "config <json>" (sibvad_config_to_json of the loaded model) and "tensors <n>". With INPUTS (a
 * safetensors file holding in.frames (B, T, C, H, W), in.semantic (B, S) and expect.pred
 * (B, C, H, W), all F32) it runs the forward and fails when the prediction differs from
 * expect.pred by more than 1e-4 + 1e-4 |expected|. With BACKBONE_DIR it also loads that HF
 * checkpoint's vision tensors into a second model of the same config (sibvad_hf_load_backbone)
 * and fails unless every vision_model.* tensor equals the converted file's bit for bit. INPUTS "-":
 * no forward (only the backbone check). */
#include "hf-checkpoint.h"
#include "safetensors.h"
#include "sibvad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const sibvad_error *err)
{
    fprintf(stderr, "test_convert_check: %s: %s\n", what, err ? err->msg : "");
    return 1;
}

static float *tensor_f32(const sibvad_st_file *f, const char *name, size_t *n)
{
    const sibvad_st_tensor *t = sibvad_st_find(f, name);
    sibvad_error err;
    if (!t) {
        fprintf(stderr, "test_convert_check: inputs have no %s\n", name);
        return NULL;
    }
    float *d = malloc(t->numel * sizeof *d + 1);
    if (!d || sibvad_st_to_f32(t, d, t->numel, &err) != 0) {
        free(d);
        return NULL;
    }
    *n = t->numel;
    return d;
}

static int check_forward(sibvad_model *m, const char *inputs)
{
    sibvad_error err;
    sibvad_st_file *f = NULL;
    if (sibvad_st_open(&f, inputs, &err) != 0)
        return fail(inputs, &err);
    const sibvad_config *c = sibvad_model_config(m);
    size_t nf = 0, ns = 0, np = 0;
    float *frames = tensor_f32(f, "in.frames", &nf), *sem = tensor_f32(f, "in.semantic", &ns);
    float *want = tensor_f32(f, "expect.pred", &np);
    size_t clip = (size_t)c->frames_in * c->channels * c->img_h * c->img_w;
    int B = clip ? (int)(nf / clip) : 0, rc = 1;
    if (frames && sem && want && B > 0 && nf == clip * B && ns == (size_t)B * c->sem_dim &&
        np == (size_t)B * c->channels * c->img_h * c->img_w &&
        sibvad_model_prepare(m, B, 0, &err) == 0 &&
        sibvad_model_forward(m, frames, NULL, sem, B, &err) == 0) {
        const float *pred = sibvad_model_prediction(m);
        double worst = 0.0;
        size_t bad = 0;
        for (size_t i = 0; i < np; i++) {
            double d = fabs((double)pred[i] - want[i]);
            worst = d > worst ? d : worst;
            bad += !(d <= 1e-4 + 1e-4 * fabs(want[i]));
        }
        printf("forward B=%d pred[0..2] %.6f %.6f %.6f  max |C - twin| %.3g\n", B, pred[0], pred[1],
               pred[2], worst);
        rc = bad != 0;
        if (bad)
            fprintf(stderr, "test_convert_check: %zu of %zu prediction values differ\n", bad, np);
    } else {
        fail("forward", &err);
    }
    free(frames);
    free(sem);
    free(want);
    sibvad_st_close(f);
    return rc;
}

static int check_backbone(sibvad_model *m, const char *dir)
{
    sibvad_error err;
    sibvad_model *ref = sibvad_model_create(sibvad_model_config(m), 1, &err);
    if (!ref || sibvad_hf_load_backbone(ref, dir, &err) != 0) {
        sibvad_model_free(ref);
        return fail(dir, &err);
    }
    int rc = 0, n = 0;
    for (int i = 0; i < sibvad_model_num_tensors(ref); i++) {
        sibvad_tensor *r = sibvad_model_tensor(ref, i);
        if (strncmp(r->name, "vision_model.", 13) != 0)
            continue;
        sibvad_tensor *t = sibvad_model_find_tensor(m, r->name);
        n++;
        if (!t || t->numel != r->numel || memcmp(t->data, r->data, r->numel * sizeof(float)) != 0) {
            fprintf(stderr, "test_convert_check: %s differs from %s\n", r->name, dir);
            rc = 1;
        }
    }
    printf("backbone %d vision tensors %s %s\n", n, rc ? "differ from" : "equal", dir);
    sibvad_model_free(ref);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: test_convert_check MODEL [INPUTS [BACKBONE_DIR]]\n");
        return 2;
    }
    sibvad_error err;
    sibvad_model *m = sibvad_model_load(argv[1], &err);
    if (!m)
        return fail("load", &err);
    char *json = sibvad_config_to_json(sibvad_model_config(m));
    printf("config %s\ntensors %d\n", json ? json : "?", sibvad_model_num_tensors(m));
    free(json);
    int rc = 0;
    if (argc >= 4)
        rc |= check_backbone(m, argv[3]);
    if (argc >= 3 && strcmp(argv[2], "-") != 0)
        rc |= check_forward(m, argv[2]);
    sibvad_model_free(m);
    return rc;
}
