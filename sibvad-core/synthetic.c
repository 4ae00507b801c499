/* synthetic.c: deterministic surveillance-like grey video (see synthetic.h).
 * Scene: a textured background and three horizontal lanes, each with a fixed
 * walking direction. Walkers are soft ellipses moving at about W/110 pixels per
 * frame with +-20 % jitter. Anomalies enter at anomaly_start and are labelled
 * on every frame where they are visible. */
#include "synthetic.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 3

typedef struct object {
    float x0, y, speed, rx, ry, value; /* start x, centre y, signed px/frame, radii, grey */
    int start, box;                    /* first frame; box: rectangle instead of ellipse */
} object;

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void draw(float *img, int W, int H, const object *o, float x)
{
    const int x0 = (int)floorf(x - o->rx - 1), x1 = (int)ceilf(x + o->rx + 1);
    const int y0 = (int)floorf(o->y - o->ry - 1), y1 = (int)ceilf(o->y + o->ry + 1);
    for (int yy = y0 > 0 ? y0 : 0; yy <= y1 && yy < H; yy++)
        for (int xx = x0 > 0 ? x0 : 0; xx <= x1 && xx < W; xx++) {
            const float dx = (xx + 0.5f - x) / o->rx, dy = (yy + 0.5f - o->y) / o->ry;
            float a;
            if (o->box)
                a = clampf((1.0f - fmaxf(fabsf(dx), fabsf(dy))) * o->ry, 0.0f, 1.0f);
            else
                a = clampf((1.0f - sqrtf(dx * dx + dy * dy)) * o->ry * 0.5f + 0.5f, 0.0f, 1.0f);
            img[(size_t)yy * W + xx] = img[(size_t)yy * W + xx] * (1.0f - a) + o->value * a;
        }
}

static int visible(const object *o, int W, int t, float *x)
{
    if (t < o->start)
        return 0;
    *x = o->x0 + o->speed * (float)(t - o->start);
    return *x + o->rx > 0.0f && *x - o->rx < (float)W;
}

int sibvad_synth_video(const sibvad_synth_params *p, float *frames, unsigned char *labels, sibvad_error *err)
{
    if (!p || !frames)
        return sibvad_fail(err, "synthetic video: NULL argument");
    if (p->width < 16 || p->height < 16 || p->frames < 1 || (p->channels != 1 && p->channels != 3))
        return sibvad_fail(err, "synthetic video: needs at least 16x16 pixels, 1 frame, 1 or 3 channels "
                                "(got %dx%d, %d frames, %d channels)", p->width, p->height, p->frames, p->channels);
    const int W = p->width, H = p->height, F = p->frames, C = p->channels;
    const size_t HW = (size_t)W * H;
    sibvad_rng scene, rng;
    sibvad_rng_seed(&scene, p->scene_seed * 2654435761u + 17);
    sibvad_rng_seed(&rng, p->video_seed * 40503u + 99991);

    /* background of this camera */
    float *bg = malloc(sizeof(float) * HW * 2);
    if (!bg)
        return sibvad_fail(err, "synthetic video: out of memory");
    float *cur = bg + HW;
    float f1 = 0.05f + 0.2f * sibvad_rng_uniform(&scene), f2 = 0.05f + 0.2f * sibvad_rng_uniform(&scene);
    float g1 = 0.05f + 0.2f * sibvad_rng_uniform(&scene), g2 = 0.05f + 0.2f * sibvad_rng_uniform(&scene);
    float ph1 = 6.28f * sibvad_rng_uniform(&scene), ph2 = 6.28f * sibvad_rng_uniform(&scene);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            bg[(size_t)y * W + x] = 0.45f + 0.10f * sinf(f1 * x * 64.0f / W + g1 * y * 64.0f / H + ph1) +
                                    0.07f * sinf(f2 * x * 64.0f / W - g2 * y * 64.0f / H + ph2) +
                                    0.05f * (sibvad_rng_uniform(&scene) - 0.5f);
    float lane_y[LANES];
    int lane_dir[LANES];
    for (int k = 0; k < LANES; k++) {
        lane_y[k] = H * (0.35f + 0.25f * k);
        lane_dir[k] = sibvad_rng_uniform(&scene) < 0.5f ? -1 : 1;
    }
    const float ry = fmaxf(3.0f, H / 9.0f), rx = fmaxf(1.5f, ry * 0.4f), v = W / 110.0f;

    /* walkers, spread so that some are in view from the first frame */
    const int n = p->walkers > 0 ? p->walkers : 0;
    object *obj = malloc(sizeof(object) * (n + 1));
    if (!obj) {
        free(bg);
        return sibvad_fail(err, "synthetic video: out of memory");
    }
    const int cross = (int)((W + 2 * rx) / (0.8f * v)) + 1;
    for (int i = 0; i < n; i++) {
        object *o = &obj[i];
        int lane = (int)(sibvad_rng_uniform(&rng) * LANES) % LANES;
        o->speed = lane_dir[lane] * v * (0.8f + 0.4f * sibvad_rng_uniform(&rng));
        o->rx = rx;
        o->ry = ry;
        o->y = lane_y[lane] + ry * 0.5f * (sibvad_rng_uniform(&rng) - 0.5f);
        o->value = sibvad_rng_uniform(&rng) < 0.5f ? 0.1f + 0.15f * sibvad_rng_uniform(&rng)
                                                    : 0.75f + 0.15f * sibvad_rng_uniform(&rng);
        o->start = (int)(sibvad_rng_uniform(&rng) * (F + cross)) - cross;
        o->x0 = o->speed > 0 ? -rx : W + rx;
        o->box = 0;
    }
    /* the anomaly */
    object *an = NULL;
    if (p->anomaly != SIBVAD_SYNTH_NORMAL) {
        an = &obj[n];
        int lane = (int)(sibvad_rng_uniform(&rng) * LANES) % LANES;
        int dir = lane_dir[lane];
        an->start = p->anomaly_start;
        an->y = lane_y[lane];
        an->value = 0.95f;
        an->box = 0;
        an->rx = rx;
        an->ry = ry;
        an->speed = dir * v;
        if (p->anomaly == SIBVAD_SYNTH_FAST_OBJECT) {
            an->rx = an->ry = ry * 0.5f;
            an->box = 1;
            an->speed = dir * v * 5.0f;
        } else if (p->anomaly == SIBVAD_SYNTH_WRONG_WAY) {
            an->speed = -dir * v;
            an->value = 0.15f;
        } else {
            an->rx = ry * 1.6f;
            an->ry = ry * 0.6f;
            an->box = 1;
            an->value = 0.85f;
        }
        an->x0 = an->speed > 0 ? -an->rx : W + an->rx;
    }
    for (int t = 0; t < F; t++) {
        memcpy(cur, bg, sizeof(float) * HW);
        float x;
        for (int i = 0; i < n; i++)
            if (visible(&obj[i], W, t, &x))
                draw(cur, W, H, &obj[i], x);
        int lab = 0;
        if (an && visible(an, W, t, &x)) {
            draw(cur, W, H, an, x);
            lab = 1;
        }
        if (labels)
            labels[t] = (unsigned char)lab;
        float *dst = frames + (size_t)t * C * HW;
        for (size_t i = 0; i < HW; i++)
            dst[i] = clampf(cur[i] + p->noise * sibvad_rng_normal(&rng), 0.0f, 1.0f);
        for (int ch = 1; ch < C; ch++)
            memcpy(dst + ch * HW, dst, sizeof(float) * HW);
    }
    free(obj);
    free(bg);
    return 0;
}
