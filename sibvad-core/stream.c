/* stream.c: streaming inference, one frame at a time (sibvad_stream_*).
 *
 * A stream runs the two stages of model-forward.c on its own activations
 * (allocated once, in sibvad_stream_new). Stage 1 runs once per frame: the
 * backbone on the new frame, its visual projection into a ring of T entries
 * (frame k at entry k % T), and the motion encoder on the new difference
 * (frame k - frame k-1) into a ring of T-1 entries (entry k % (T-1)). The
 * newest frame's patch_embed tap stays in the activations' bb_x[0], which
 * stage 2 does not write. Stage 2 runs once per scored frame, on the rings, as
 * the batch forward runs it on its rows: so a stream's results equal
 * sibvad_model_forward + sibvad_model_scores on the same clip up to the
 * rounding of batch size dependent matrix products.
 *
 * push(frame t): if T frames precede it, stage 2 on frames t-T..t-1 with t as
 * the target (scores); then stage 1 on frame t (and on t - (t-1)). The model
 * is only read: several streams may share it, in different threads.
 *
 * A stream's buffers live on the model's backend (as it was at creation). On a
 * backend other than the CPU each pushed frame is uploaded first, and the
 * error map and prediction handed back are downloaded into host buffers. */
#include "model-internal.h"

#include <stdlib.h>
#include <string.h>

struct sibvad_stream {
    const sibvad_model *m;
    sibvad_config cfg;      /* the model's config at creation (a changed model is refused) */
    const float *params;    /* the model's parameters at creation */
    sibvad_be be;           /* the model's backend at creation: every buffer below but emap and pred */
    int T;
    size_t img, hw, vis_entry, mo_entry;
    sibvad_acts a;          /* stage 1 for one frame / one difference, stage 2 for one clip */
    float *mem;             /* the activations' memory */
    float *vis_ring;        /* (T, N1, D) visual_project of frame k at entry k % T */
    float *mo_ring;         /* (T-1, N1, Dm) motion encoder output of difference k at entry k % (T-1) */
    float *prev;            /* (C, H, W) the last pushed frame */
    float *emap;            /* host (H, W) error map of the last scored frame */
    /* backends other than the CPU only */
    float *cur;             /* (C, H, W) the pushed frame, uploaded */
    float *scratch;         /* (H*W + 1) scores on their way to the host */
    float *pred;            /* host (C, H, W) the last prediction */
    long long frames;       /* pushed since creation or reset */
};

static void *be_alloc(sibvad_be be, size_t n)
{
    return be->alloc(be, sizeof(float) * n);
}

static void be_free(sibvad_be be, void *p)
{
    if (p)
        be->free(be, p);
}

sibvad_stream *sibvad_stream_new(const sibvad_model *m, sibvad_error *err)
{
    if (!m) {
        sibvad_fail(err, "stream: NULL model");
        return NULL;
    }
    if (!m->params || sibvad_config_validate(&m->cfg, err) < 0) {
        if (!m->params)
            sibvad_fail(err, "stream: the model has no parameters");
        return NULL;
    }
    sibvad_stream *s = calloc(1, sizeof *s);
    if (!s) {
        sibvad_fail(err, "stream: out of memory");
        return NULL;
    }
    const sibvad_config *c = &m->cfg;
    s->m = m;
    s->cfg = *c;
    s->params = m->params;
    s->be = m->be;
    s->T = c->frames_in;
    s->hw = (size_t)c->img_h * c->img_w;
    s->img = (size_t)c->channels * s->hw;
    s->vis_entry = (size_t)m->N1 * c->d_model;
    s->mo_entry = (size_t)m->N1 * c->mo_width;
    if (sibvad_acts_create(m, &s->a, &s->mem, 1, 1, 1, err) < 0) {
        free(s);
        return NULL;
    }
    sibvad_be be = s->be;
    s->vis_ring = be_alloc(be, s->vis_entry * s->T);
    s->mo_ring = be_alloc(be, s->mo_entry * (s->T - 1));
    s->prev = be_alloc(be, s->img);
    s->emap = malloc(sizeof(float) * s->hw);
    int ok = s->vis_ring && s->mo_ring && s->prev && s->emap;
    if (ok && !sibvad_be_is_host(be)) {
        s->cur = be_alloc(be, s->img);
        s->scratch = be_alloc(be, s->hw + 1);
        s->pred = malloc(sizeof(float) * s->img);
        ok = s->cur && s->scratch && s->pred;
    }
    if (!ok) {
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
    sibvad_be be = s->be;
    sibvad_acts_destroy(be, &s->a, s->mem);
    be_free(be, s->vis_ring);
    be_free(be, s->mo_ring);
    be_free(be, s->prev);
    be_free(be, s->cur);
    be_free(be, s->scratch);
    free(s->emap);
    free(s->pred);
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
    if (!s)
        return sibvad_fail(err, "stream push: NULL stream");
    if (!frame || !res)
        return sibvad_fail(err, "stream push: NULL %s", frame ? "result" : "frame");
    const sibvad_model *m = s->m;
    if (m->params != s->params || m->be != s->be || memcmp(&m->cfg, &s->cfg, sizeof s->cfg) != 0)
        return sibvad_fail(err, "stream push: the model changed since sibvad_stream_new (config, parameter "
                                "buffer or backend); make a new stream for it");
    memset(res, 0, sizeof *res);
    sibvad_be be = s->be;
    const int T = s->T;
    const long long t = s->frames;
    /* the frame in backend memory (on the CPU: the caller's) */
    const float *cur = frame;
    if (s->cur) {
        be->upload(be, s->cur, frame, sizeof(float) * s->img);
        cur = s->cur;
    }

    /* stage 2: the clip t-T..t-1 from the rings, frame t as its target */
    if (t >= T) {
        const sibvad_clip_in in = {
            .vis = s->vis_ring, .vis_first = (int)(t % T),
            .mo = s->mo_ring, .mo_first = (int)(t % (T - 1)),
            .tap = s->a.bb_x[0], .tap_stride = 0,   /* frame t-1's, from its stage 1 */
            .last = s->prev, .last_stride = 0,
            .target = frame, .semantic = semantic,
        };
        sibvad_losses losses;
        sibvad_forward_clips(m, &s->a, &in, 1, &losses);
        sibvad_acts_scores(be, &m->cfg, &s->a, 1, semantic != NULL, &res->visual, &res->semantic, s->emap,
                           s->scratch);
        res->scored = 1;
        res->error_map = s->emap;
        if (s->pred) {
            be->download(be, s->pred, s->a.pred, sizeof(float) * s->img);
            res->prediction = s->pred;
        } else {
            res->prediction = s->a.pred;
        }
    }

    /* stage 1: frame t into entry t % T, difference t - (t-1) into entry t % (T-1) */
    sibvad_forward_frames(m, &s->a, s->vis_ring + (size_t)(t % T) * s->vis_entry, cur, 1);
    if (t >= 1) {
        be->sub(be, s->a.diffs, cur, s->prev, s->img);
        sibvad_forward_diffs(m, &s->a, s->a.diffs, 1);
        be->copy(be, s->mo_ring + (size_t)(t % (T - 1)) * s->mo_entry, s->a.mo_x[m->cfg.mo_depth],
                 sizeof(float) * s->mo_entry);
    }
    be->copy(be, s->prev, cur, sizeof(float) * s->img);
    s->frames++;
    res->warmup_left = s->frames >= T ? 0 : (int)(T - s->frames);
    return 0;
}
