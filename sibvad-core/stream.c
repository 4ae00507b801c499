/* stream.c: streaming inference, one frame or a batch at a time (sibvad_stream_*).
 *
 * A stream runs the two stages of model-forward.c on its own activations
 * (allocated once, for max_batch frames and clips, in sibvad_stream_new_batched).
 * push_batch(frames t0..t0+n-1): stage 1 on the n new frames at once (the
 * backbone, their visual projections into the visual ring) and on their n
 * differences (the first one against the previous frame) into the motion
 * ring; then stage 2 once on every clip of the batch that has T frames before
 * its target (frame t: the clip t-T..t-1). A push is a batch of one.
 *
 * Rings: frame k's visual projection at entry k % R (R = T + max_batch: the
 * batch's new frames and the T before them), difference k (frame k - frame
 * k-1) at entry k % Rm (Rm = T - 1 + max_batch). Each ring is stored twice in
 * a row (entry e also at e + R), so that every clip's T (T-1) entries are
 * contiguous and consecutive clips' rings are one entry apart (the stride of
 * sibvad_clip_in). The frames and the patch_embed taps sit in buffers of
 * max_batch + 1 slots: slot 0 the previous batch's last frame, slots 1..n the
 * batch's (the activations' bb_x[0] points at taps slot 1), so clip j's last
 * input frame and its tap are slot j. Stage 2 computes the batch forward's
 * rows: a stream's results equal sibvad_model_forward + sibvad_model_scores on
 * the same clips up to the rounding of batch size dependent matrix products.
 * The model is only read: several streams may share it, in different threads.
 *
 * A stream's buffers live on the model's backend (as it was at creation), but
 * for the results' host buffers: on a backend other than the CPU the error
 * maps and predictions are downloaded into them. */
#include "model-internal.h"

#include <stdlib.h>
#include <string.h>

struct sibvad_stream {
    const sibvad_model *m;
    sibvad_config cfg;      /* the model's config at creation (a changed model is refused) */
    const float *params;    /* the model's parameters at creation */
    sibvad_be be;           /* the model's backend at creation: every buffer below but the host ones */
    int T, max_batch, R, Rm;
    size_t img, hw, vis_entry, mo_entry, tap_entry;
    sibvad_acts a;          /* stage 1 for max_batch frames / differences, stage 2 for max_batch clips */
    float *mem;             /* the activations' memory */
    float *vis_ring;        /* (2R, N1, D) visual_project of frame k at entries k % R and k % R + R */
    float *mo_ring;         /* (2Rm, N1, Dm) motion encoder output of difference k at k % Rm and k % Rm + Rm */
    float *fb;              /* (max_batch + 1, C, H, W) slot 0: the last pushed frame; 1..n: the batch */
    float *taps;            /* (max_batch + 1, N1, W) their patch_embed taps (a.bb_x[0] = slot 1) */
    float *emap;            /* host (max_batch, H, W) error maps of the batch's scored frames */
    float *vis, *sem;       /* host (max_batch) their scores */
    /* backends other than the CPU only */
    float *scratch;         /* (max_batch * (H*W + 1)) scores on their way to the host */
    float *pred;            /* host (max_batch, C, H, W) the predictions */
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

/* Copy ring entries [w, w + cnt) (w < R, cnt <= R) to their twins. */
static void ring_mirror(sibvad_be be, float *ring, int R, size_t entry, int w, int cnt)
{
    const int lo = w + cnt < R ? cnt : R - w; /* entries below R: twins at +R */
    be->copy(be, ring + (size_t)(w + R) * entry, ring + (size_t)w * entry, sizeof(float) * lo * entry);
    if (cnt > lo) /* entries from R on: twins at -R */
        be->copy(be, ring, ring + (size_t)R * entry, sizeof(float) * (cnt - lo) * entry);
}

sibvad_stream *sibvad_stream_new_batched(const sibvad_model *m, int max_batch, sibvad_error *err)
{
    if (!m) {
        sibvad_fail(err, "stream: NULL model");
        return NULL;
    }
    if (max_batch < 1 || max_batch > 1024) {
        sibvad_fail(err, "stream: max_batch %d outside 1..1024", max_batch);
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
    const int B = max_batch;
    s->m = m;
    s->cfg = *c;
    s->params = m->params;
    s->be = m->be;
    s->T = c->frames_in;
    s->max_batch = B;
    s->R = s->T + B;
    s->Rm = s->T - 1 + B;
    s->hw = (size_t)c->img_h * c->img_w;
    s->img = (size_t)c->channels * s->hw;
    s->vis_entry = (size_t)m->N1 * c->d_model;
    s->mo_entry = (size_t)m->N1 * c->mo_width;
    s->tap_entry = (size_t)m->N1 * c->bb_width;
    if (sibvad_acts_create(m, &s->a, &s->mem, B, B, B, err) < 0) {
        free(s);
        return NULL;
    }
    sibvad_be be = s->be;
    s->vis_ring = be_alloc(be, s->vis_entry * 2 * s->R);
    s->mo_ring = be_alloc(be, s->mo_entry * 2 * s->Rm);
    s->fb = be_alloc(be, s->img * (B + 1));
    s->taps = be_alloc(be, s->tap_entry * (B + 1));
    s->emap = malloc(sizeof(float) * s->hw * B);
    s->vis = malloc(sizeof(float) * B);
    s->sem = malloc(sizeof(float) * B);
    int ok = s->vis_ring && s->mo_ring && s->fb && s->taps && s->emap && s->vis && s->sem;
    if (ok && !sibvad_be_is_host(be)) {
        s->scratch = be_alloc(be, (s->hw + 1) * B);
        s->pred = malloc(sizeof(float) * s->img * B);
        ok = s->scratch && s->pred;
    }
    if (!ok) {
        sibvad_stream_free(s);
        sibvad_fail(err, "stream: out of memory");
        return NULL;
    }
    /* stage 1's patch_embed taps land in slots 1..n (the activations' own bb_x[0] goes unused) */
    s->a.bb_x[0] = s->taps + s->tap_entry;
    return s;
}

sibvad_stream *sibvad_stream_new(const sibvad_model *m, sibvad_error *err)
{
    return sibvad_stream_new_batched(m, 1, err);
}

int sibvad_stream_max_batch(const sibvad_stream *s)
{
    return s ? s->max_batch : 0;
}

void sibvad_stream_free(sibvad_stream *s)
{
    if (!s)
        return;
    sibvad_be be = s->be;
    sibvad_acts_destroy(be, &s->a, s->mem);
    be_free(be, s->vis_ring);
    be_free(be, s->mo_ring);
    be_free(be, s->fb);
    be_free(be, s->taps);
    be_free(be, s->scratch);
    free(s->emap);
    free(s->vis);
    free(s->sem);
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
    return sibvad_stream_push_batch(s, frame, semantic, 1, res, err);
}

int sibvad_stream_push_batch(sibvad_stream *s, const float *frames, const float *semantic, int n,
                             sibvad_stream_result *res, sibvad_error *err)
{
    if (!s)
        return sibvad_fail(err, "stream push: NULL stream");
    if (!frames || !res)
        return sibvad_fail(err, "stream push: NULL %s", frames ? "result" : "frame");
    if (n < 1 || n > s->max_batch)
        return sibvad_fail(err, "stream push: %d frames outside 1..%d (the stream's max_batch)", n, s->max_batch);
    const sibvad_model *m = s->m;
    if (m->params != s->params || m->be != s->be || memcmp(&m->cfg, &s->cfg, sizeof s->cfg) != 0)
        return sibvad_fail(err, "stream push: the model changed since sibvad_stream_new (config, parameter "
                                "buffer or backend); make a new stream for it");
    memset(res, 0, sizeof *res * n);
    sibvad_be be = s->be;
    sibvad_acts *a = &s->a;
    const int T = s->T, R = s->R, Rm = s->Rm;
    const size_t img = s->img;
    const long long t0 = s->frames;

    /* the batch into frame slots 1..n (slot 0: frame t0-1) */
    be->upload(be, s->fb + img, frames, sizeof(float) * n * img);

    /* stage 1: frames t0..t0+n-1 into the visual ring, their taps into tap slots 1..n */
    const int vw = (int)(t0 % R);
    sibvad_forward_frames(m, a, s->vis_ring + (size_t)vw * s->vis_entry, s->fb + img, n);
    ring_mirror(be, s->vis_ring, R, s->vis_entry, vw, n);
    /* stage 1: differences t0+d0..t0+n-1 (none for a stream's first frame) into the motion ring */
    const int d0 = t0 == 0, nd = n - d0;
    if (nd > 0) {
        be->sub(be, a->diffs, s->fb + (size_t)(1 + d0) * img, s->fb + (size_t)d0 * img, (size_t)nd * img);
        sibvad_forward_diffs(m, a, a->diffs, nd);
        const int mw = (int)((t0 + d0) % Rm);
        be->copy(be, s->mo_ring + (size_t)mw * s->mo_entry, a->mo_x[m->cfg.mo_depth],
                 sizeof(float) * nd * s->mo_entry);
        ring_mirror(be, s->mo_ring, Rm, s->mo_entry, mw, nd);
    }

    /* stage 2: the clips of frames t0+js..t0+n-1 (those with T frames before them) */
    const int js = t0 >= T ? 0 : (int)(T - t0);
    if (js < n) {
        const int nc = n - js;
        const long long t = t0 + js; /* the first clip's target */
        const sibvad_clip_in in = {
            .vis = s->vis_ring + (size_t)((t - T) % R) * s->vis_entry, .vis_stride = s->vis_entry,
            .mo = s->mo_ring + (size_t)((t - T + 1) % Rm) * s->mo_entry, .mo_stride = s->mo_entry,
            .tap = s->taps + (size_t)js * s->tap_entry, .tap_stride = s->tap_entry,
            .last = s->fb + (size_t)js * img, .last_stride = img,
            .target = frames + (size_t)js * img,
            .semantic = semantic ? semantic + (size_t)js * m->cfg.sem_dim : NULL,
        };
        sibvad_losses losses;
        sibvad_forward_clips(m, a, &in, nc, &losses);
        sibvad_acts_scores(be, &m->cfg, a, nc, semantic != NULL, s->vis, s->sem, s->emap, s->scratch);
        const float *pred = a->pred;
        if (s->pred) {
            be->download(be, s->pred, a->pred, sizeof(float) * nc * img);
            pred = s->pred;
        }
        for (int i = 0; i < nc; i++) {
            sibvad_stream_result *r = &res[js + i];
            r->scored = 1;
            r->visual = s->vis[i];
            r->semantic = s->sem[i];
            r->error_map = s->emap + (size_t)i * s->hw;
            r->prediction = pred + (size_t)i * img;
        }
    }

    /* the batch's last frame and tap into slot 0 for the next batch */
    be->copy(be, s->fb, s->fb + (size_t)n * img, sizeof(float) * img);
    be->copy(be, s->taps, s->taps + (size_t)n * s->tap_entry, sizeof(float) * s->tap_entry);
    for (int i = 0; i < n; i++) {
        const long long k = t0 + i + 1; /* frames pushed after res[i] */
        res[i].warmup_left = k >= T ? 0 : (int)(T - k);
    }
    s->frames += n;
    return 0;
}
