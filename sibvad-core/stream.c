/* stream.c: streaming inference, one frame at a time (sibvad_stream_*).
 *
 * FIRST VERSION: keeps the last T normalised frames in a ring and runs the
 * whole batch forward (B = 1) on each clip, using the model's own activation
 * buffers (prepared on demand). To be replaced by per-frame feature reuse with
 * the stream's own buffers. */
#include "model-internal.h"

#include <stdlib.h>
#include <string.h>

struct sibvad_stream {
    sibvad_model *m;
    int T;
    size_t img;
    float *ring;        /* T frames, (C,H,W) each */
    float *clip;        /* (T,C,H,W) assembled clip */
    float *emap;        /* (H,W) */
    long long frames;   /* pushed since reset */
};

sibvad_stream *sibvad_stream_new(const sibvad_model *cm, sibvad_error *err)
{
    if (!cm) {
        sibvad_fail(err, "stream: NULL model");
        return NULL;
    }
    sibvad_model *m = (sibvad_model *)cm;
    if (!m->act_mem && sibvad_model_prepare(m, 1, 0, err) < 0)
        return NULL;
    sibvad_stream *s = calloc(1, sizeof *s);
    if (!s) {
        sibvad_fail(err, "stream: out of memory");
        return NULL;
    }
    const sibvad_config *c = &m->cfg;
    s->m = m;
    s->T = c->frames_in;
    s->img = (size_t)c->channels * c->img_h * c->img_w;
    s->ring = malloc(sizeof(float) * s->img * s->T);
    s->clip = malloc(sizeof(float) * s->img * s->T);
    s->emap = malloc(sizeof(float) * (size_t)c->img_h * c->img_w);
    if (!s->ring || !s->clip || !s->emap) {
        sibvad_stream_free(s);
        sibvad_fail(err, "stream: out of memory");
        return NULL;
    }
    return s;
}

void sibvad_stream_free(sibvad_stream *s)
{
    if (!s)
        return;
    free(s->ring);
    free(s->clip);
    free(s->emap);
    free(s);
}

void sibvad_stream_reset(sibvad_stream *s)
{
    if (s)
        s->frames = 0;
}

long long sibvad_stream_frames(const sibvad_stream *s)
{
    return s ? s->frames : 0;
}

int sibvad_stream_push(sibvad_stream *s, const float *frame, const float *semantic, sibvad_stream_result *res,
                       sibvad_error *err)
{
    if (!s || !frame || !res)
        return sibvad_fail(err, "stream: NULL argument");
    memset(res, 0, sizeof *res);
    const int T = s->T;
    if (s->frames >= T) {
        for (int t = 0; t < T; t++) {
            long long idx = (s->frames - T + t) % T;
            memcpy(s->clip + (size_t)t * s->img, s->ring + (size_t)idx * s->img, sizeof(float) * s->img);
        }
        if (sibvad_model_forward(s->m, s->clip, frame, semantic, 1, err) < 0 ||
            sibvad_model_scores(s->m, &res->visual, &res->semantic, s->emap, err) < 0)
            return -1;
        res->scored = 1;
        res->error_map = s->emap;
        res->prediction = sibvad_model_prediction(s->m);
    }
    memcpy(s->ring + (size_t)(s->frames % T) * s->img, frame, sizeof(float) * s->img);
    s->frames++;
    res->warmup_left = s->frames >= T ? 0 : (int)(T - s->frames);
    if (res->scored)
        res->warmup_left = 0;
    return 0;
}
