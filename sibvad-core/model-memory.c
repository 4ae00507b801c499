/* model-memory.c: the activation memory of a model, carved at prepare time,
 * and the inference activations of a stream (sibvad_acts_create).
 *
 * One layout function walks every buffer of the forward pass (and, when
 * training, of the backward pass) twice: first counting floats, then handing
 * out slices of one allocation. When the model is not trained (or a stack is
 * frozen), the layers of a stack share one cache, since nothing reads it back.
 * The arenas are memory of the model's backend (be->alloc); on a backend other
 * than the CPU, prepare also allocates the staging buffers and host mirrors
 * through which inputs and results cross (see model-internal.h). */
#include "model-internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct arena {
    float *base;
    size_t used;
} arena;

static float *take(arena *a, size_t n)
{
    float *p = a->base ? a->base + a->used : NULL;
    a->used += (n + 15) & ~(size_t)15; /* 64-byte aligned slices */
    return p;
}

static void take_vit_cache(arena *A, sibvad_vit_cache *c, size_t Bi, size_t N, size_t D, size_t H, size_t F)
{
    const size_t R = Bi * N;
    c->ln1 = take(A, R * D);
    c->ln1_mean = take(A, R);
    c->ln1_rstd = take(A, R);
    c->qkv = take(A, R * 3 * D);
    c->probs = take(A, Bi * H * N * N);
    c->att = take(A, R * D);
    c->attp = take(A, R * D);
    c->x1 = take(A, R * D);
    c->ln2 = take(A, R * D);
    c->ln2_mean = take(A, R);
    c->ln2_rstd = take(A, R);
    c->h = take(A, R * F);
    c->a = take(A, R * F);
    c->m = take(A, R * D);
}

static void take_vit_scratch(arena *G, sibvad_vit_scratch *s, size_t Bi, size_t N, size_t D, size_t H, size_t F)
{
    const size_t R = Bi * N;
    s->dx1 = take(G, R * D);
    s->dbranch = take(G, R * D);
    s->dln = take(G, R * D);
    s->datt = take(G, R * D);
    s->dqkv = take(G, R * 3 * D);
    s->dh = take(G, R * F);
    s->da = take(G, R * F);
    s->dprobs = take(G, Bi * H * N * N);
}

static void take_fusion_cache(arena *A, sibvad_fusion_cache *c, size_t B, size_t N, size_t D, size_t H, size_t F)
{
    const size_t R = B * N;
    c->xn = take(A, R * D);
    c->xn_mean = take(A, R);
    c->xn_rstd = take(A, R);
    c->yn = take(A, B * D);
    c->yn_mean = take(A, B);
    c->yn_rstd = take(A, B);
    c->zn = take(A, R * D);
    c->zn_mean = take(A, R);
    c->zn_rstd = take(A, R);
    c->q = take(A, R * D);
    c->ky = take(A, B * D);
    c->vy = take(A, B * D);
    c->kz = take(A, R * D);
    c->vz = take(A, R * D);
    c->kcat = take(A, B * (N + 1) * D);
    c->vcat = take(A, B * (N + 1) * D);
    c->probs = take(A, B * H * N * (N + 1));
    c->att = take(A, R * D);
    c->attp = take(A, R * D);
    c->x1 = take(A, R * D);
    c->fn = take(A, R * D);
    c->fn_mean = take(A, R);
    c->fn_rstd = take(A, R);
    c->h = take(A, R * F);
    c->a = take(A, R * F);
    c->f = take(A, R * D);
}

static void take_fusion_scratch(arena *G, sibvad_fusion_scratch *s, size_t B, size_t N, size_t D, size_t H, size_t F)
{
    const size_t R = B * N;
    s->dx1 = take(G, R * D);
    s->dbranch = take(G, R * D);
    s->dln = take(G, R * D);
    s->datt = take(G, R * D);
    s->dq = take(G, R * D);
    s->dkcat = take(G, B * (N + 1) * D);
    s->dvcat = take(G, B * (N + 1) * D);
    s->dky = take(G, B * D);
    s->dvy = take(G, B * D);
    s->dyn = take(G, B * D);
    s->dkz = take(G, R * D);
    s->dvz = take(G, R * D);
    s->dzn = take(G, R * D);
    s->dh = take(G, R * F);
    s->da = take(G, R * F);
    s->dprobs = take(G, B * H * N * (N + 1));
}

static void take_sffm_cache(arena *A, sibvad_sffm_cache *c, size_t B, size_t Ts, size_t D,
                            size_t Nr, size_t K, size_t bn, size_t bs)
{
    const size_t T = B * Ts;
    c->xhat = take(A, T * D);
    c->mean = take(A, T);
    c->rstd = take(A, T);
    c->s = take(A, T * Nr);
    c->topk = (int *)take(A, T * K);
    c->gw = take(A, T * K);
    c->order = (int *)take(A, T * K);
    c->offsets = (int *)take(A, Nr + 1);
    c->h = take(A, T * K * bn);
    c->a = take(A, T * K * bn);
    c->hs = take(A, T * (bs ? bs : 1));
    c->as = take(A, T * (bs ? bs : 1));
    c->f = take(A, B * Nr);
    c->slot = take(A, T * K * D);
    c->lns = take(A, T * D);
}

static void take_sffm_scratch(arena *G, sibvad_sffm_scratch *s, size_t B, size_t Ts, size_t D,
                              size_t Nr, size_t K, size_t bs)
{
    const size_t T = B * Ts;
    s->dxhat = take(G, T * D);
    s->dgw = take(G, T * K);
    s->ds = take(G, T * Nr);
    s->das = take(G, T * (bs ? bs : 1));
    s->dhs = take(G, T * (bs ? bs : 1));
    s->dlns = take(G, T * D);
}

/* Lay out the forward activations of B clips whose stage 1 (model-forward.c)
 * runs on Bi frames and Bm differences. train: every layer keeps its cache
 * (the backward pass reads them), train_bb likewise for the backbone; else the
 * layers of a stack share one cache and the backbone ping-pongs between two
 * state buffers (bb_x[0], the patch_embed tap, always has its own). */
static void layout_acts(const sibvad_model *m, sibvad_acts *a, arena *A, size_t B, size_t Bi, size_t Bm, int train,
                        int train_bb)
{
    const sibvad_config *c = &m->cfg;
    const size_t T = (size_t)c->frames_in, C = (size_t)c->channels;
    const size_t HW = (size_t)c->img_h * c->img_w, Np = (size_t)m->Np, N1 = (size_t)m->N1,
                 N2 = (size_t)m->N2, P = (size_t)c->patch;
    const size_t W = (size_t)c->bb_width, D = (size_t)c->d_model, Dm = (size_t)c->mo_width;
    const size_t S = (size_t)c->sem_dim, Hs = (size_t)c->sem_hidden, R = (size_t)c->rgb_hidden;

    a->target = take(A, B * C * HW);
    a->prev = take(A, B * C * HW);
    a->sem_in = take(A, B * S);
    a->diffs = take(A, Bm * C * HW);
    /* backbone: all states when trained; else the embedding tap and two ping-pong buffers */
    a->bb_cols = take(A, Bi * Np * C * P * P);
    for (int l = 0; l <= c->bb_depth; l++)
        a->bb_x[l] = (train_bb || l < 3) ? take(A, Bi * N1 * W) : a->bb_x[1 + (l - 1) % 2];
    for (int l = 0; l < c->bb_depth; l++) {
        if (l == 0 || train_bb)
            take_vit_cache(A, &a->bb_cache[l], Bi, N1, W, c->bb_heads, c->bb_mlp);
        else
            a->bb_cache[l] = a->bb_cache[0];
    }
    a->vis_proj = take(A, Bi * N1 * D);
    a->vis_cat = take(A, B * N1 * T * D);
    a->visual = take(A, B * N1 * D);
    a->skip_in = take(A, B * N1 * W);
    a->skip = take(A, B * N1 * D);
    a->mo_cols = take(A, Bm * Np * C * P * P);
    for (int l = 0; l <= c->mo_depth; l++)
        a->mo_x[l] = take(A, Bm * N1 * Dm);
    for (int l = 0; l < c->mo_depth; l++) {
        if (l == 0 || train)
            take_vit_cache(A, &a->mo_cache[l], Bm, N1, Dm, c->mo_heads, Dm * c->mo_mlp_ratio);
        else
            a->mo_cache[l] = a->mo_cache[0];
    }
    a->mo_cat = take(A, B * N1 * (T - 1) * Dm);
    a->motion = take(A, B * N1 * D);
    a->semantic = take(A, B * D);
    for (int l = 0; l <= c->fu_depth; l++)
        a->fu_x[l] = take(A, B * N1 * D);
    for (int l = 0; l < c->fu_depth; l++) {
        if (l == 0 || train)
            take_fusion_cache(A, &a->fu_cache[l], B, N1, D, c->fu_heads, D * c->fu_ffn_ratio);
        else
            a->fu_cache[l] = a->fu_cache[0];
    }
    a->dec_cat = take(A, B * N1 * 2 * D);
    a->rgb_h = take(A, B * N1 * R);
    a->rgb_a = take(A, B * N1 * R);
    a->rgb_out = take(A, B * N1 * D);
    for (int l = 0; l <= c->de_depth; l++)
        a->de_x[l] = take(A, B * N2 * D);
    for (int l = 0; l < c->de_depth; l++)
        a->de_blk[l] = take(A, B * N2 * D);
    const size_t bs = (size_t)c->sffm_b * c->sffm_ns;
    for (int l = 0; l < c->de_depth; l++) {
        if (l == 0 || train) {
            take_vit_cache(A, &a->de_cache[l], B, N2, D, c->de_heads, D * c->de_mlp_ratio);
            take_sffm_cache(A, &a->sffm_cache[l], B, N2, D, c->sffm_nr, c->sffm_k, c->sffm_b, bs);
        } else {
            a->de_cache[l] = a->de_cache[0];
            a->sffm_cache[l] = a->sffm_cache[0];
        }
    }
    a->de_norm = take(A, B * N2 * D);
    a->de_norm_mean = take(A, B * N2);
    a->de_norm_rstd = take(A, B * N2);
    a->sem_tok = take(A, B * D);
    a->sem_h = take(A, B * Hs);
    a->sem_a = take(A, B * Hs);
    a->sem_pred = take(A, B * S);
    a->pix_in = take(A, B * Np * 2 * D);
    a->pred_patches = take(A, B * Np * P * P * C);
    a->img = take(A, B * C * HW);
    a->conv1 = take(A, B * C * HW);
    a->act1 = take(A, B * C * HW);
    a->pred = take(A, B * C * HW);
}

/* Lay out every buffer of the model; G is NULL when not training. */
static void layout(sibvad_model *m, arena *A, arena *G)
{
    const sibvad_config *c = &m->cfg;
    const size_t B = (size_t)m->max_batch, T = (size_t)c->frames_in, C = (size_t)c->channels;
    const size_t HW = (size_t)c->img_h * c->img_w, Np = (size_t)m->Np, N1 = (size_t)m->N1,
                 N2 = (size_t)m->N2, P = (size_t)c->patch;
    const size_t W = (size_t)c->bb_width, D = (size_t)c->d_model, Dm = (size_t)c->mo_width;
    const size_t S = (size_t)c->sem_dim, Hs = (size_t)c->sem_hidden, R = (size_t)c->rgb_hidden;
    const size_t Bi = B * T, Bm = B * (T - 1);
    sibvad_acts *d = &m->d;
    const size_t bs = (size_t)c->sffm_b * c->sffm_ns;
    const int train_bb = m->training && !c->bb_frozen;

    layout_acts(m, &m->a, A, B, Bi, Bm, m->training, train_bb);
    if (!G)
        return;
    /* gradients of activations (only those the backward pass reads or writes) */
    for (int l = 0; l <= c->bb_depth; l++)
        d->bb_x[l] = train_bb ? take(G, Bi * N1 * W) : NULL;
    d->vis_proj = take(G, Bi * N1 * D);
    d->vis_cat = take(G, B * N1 * T * D);
    d->visual = NULL; /* = d->fu_x[0] */
    d->skip_in = take(G, B * N1 * W);
    d->skip = take(G, B * N1 * D);
    for (int l = 0; l <= c->mo_depth; l++)
        d->mo_x[l] = take(G, Bm * N1 * Dm);
    d->mo_cat = take(G, B * N1 * (T - 1) * Dm);
    d->motion = take(G, B * N1 * D);
    d->semantic = take(G, B * D);
    for (int l = 0; l <= c->fu_depth; l++)
        d->fu_x[l] = take(G, B * N1 * D);
    d->dec_cat = take(G, B * N1 * 2 * D);
    d->rgb_h = take(G, B * N1 * R);
    d->rgb_a = take(G, B * N1 * R);
    d->rgb_out = take(G, B * N1 * D);
    for (int l = 0; l <= c->de_depth; l++)
        d->de_x[l] = take(G, B * N2 * D);
    for (int l = 0; l < c->de_depth; l++)
        d->de_blk[l] = take(G, B * N2 * D);
    d->de_norm = take(G, B * N2 * D);
    d->sem_tok = take(G, B * D);
    d->sem_h = take(G, B * Hs);
    d->sem_a = take(G, B * Hs);
    d->sem_pred = take(G, B * S);
    d->pix_in = take(G, B * Np * 2 * D);
    d->pred_patches = take(G, B * Np * P * P * C);
    d->img = take(G, B * C * HW);
    d->conv1 = take(G, B * C * HW);
    d->act1 = take(G, B * C * HW);
    d->pred = take(G, B * C * HW);
    if (train_bb)
        take_vit_scratch(G, &m->s.bb, Bi, N1, W, c->bb_heads, c->bb_mlp);
    take_vit_scratch(G, &m->s.mo, Bm, N1, Dm, c->mo_heads, Dm * c->mo_mlp_ratio);
    take_vit_scratch(G, &m->s.de, B, N2, D, c->de_heads, D * c->de_mlp_ratio);
    take_fusion_scratch(G, &m->s.fu, B, N1, D, c->fu_heads, D * c->fu_ffn_ratio);
    take_sffm_scratch(G, &m->s.sffm, B, N2, D, c->sffm_nr, c->sffm_k, bs);
}

/* backend memory, NULL allowed */
static void be_free(sibvad_be be, void *p)
{
    if (p)
        be->free(be, p);
}

static void free_lists(sibvad_acts *a)
{
    free(a->bb_x);
    free(a->bb_cache);
    free(a->mo_x);
    free(a->mo_cache);
    free(a->fu_x);
    free(a->fu_cache);
    free(a->de_x);
    free(a->de_blk);
    free(a->de_cache);
    free(a->sffm_cache);
    memset(a, 0, sizeof *a);
}

void sibvad_model_free_activations(sibvad_model *m)
{
    sibvad_be be = m->be;
    be_free(be, m->act_mem);
    be_free(be, m->dact_mem);
    be_free(be, m->in_frames);
    be_free(be, m->score_buf);
    free(m->host_pred);
    free(m->host_sem_pred);
    m->in_frames = m->score_buf = m->host_pred = m->host_sem_pred = NULL;
    free_lists(&m->a);
    free_lists(&m->d);
    memset(&m->s, 0, sizeof m->s);
    m->act_mem = m->dact_mem = NULL;
    m->act_size = m->dact_size = 0;
    m->max_batch = 0;
}

static int alloc_lists(sibvad_acts *a, const sibvad_config *c)
{
    a->bb_x = calloc((size_t)c->bb_depth + 1, sizeof(float *));
    a->bb_cache = calloc((size_t)c->bb_depth + 1, sizeof *a->bb_cache);
    a->mo_x = calloc((size_t)c->mo_depth + 1, sizeof(float *));
    a->mo_cache = calloc((size_t)c->mo_depth + 1, sizeof *a->mo_cache);
    a->fu_x = calloc((size_t)c->fu_depth + 1, sizeof(float *));
    a->fu_cache = calloc((size_t)c->fu_depth + 1, sizeof *a->fu_cache);
    a->de_x = calloc((size_t)c->de_depth + 1, sizeof(float *));
    a->de_blk = calloc((size_t)c->de_depth + 1, sizeof(float *));
    a->de_cache = calloc((size_t)c->de_depth + 1, sizeof *a->de_cache);
    a->sffm_cache = calloc((size_t)c->de_depth + 1, sizeof *a->sffm_cache);
    return a->bb_x && a->bb_cache && a->mo_x && a->mo_cache && a->fu_x && a->fu_cache && a->de_x &&
                   a->de_blk && a->de_cache && a->sffm_cache
               ? 0
               : -1;
}

int sibvad_model_prepare(sibvad_model *m, int max_batch, int training, sibvad_error *err)
{
    if (!m)
        return sibvad_fail(err, "prepare: NULL model");
    if (max_batch < 1 || max_batch > 4096)
        return sibvad_fail(err, "prepare: batch size %d out of range 1..4096", max_batch);
    arena A = {0}, G = {0};
    sibvad_be be = m->be;
    sibvad_model_free_activations(m);
    m->max_batch = max_batch;
    m->training = training ? 1 : 0;
    if (alloc_lists(&m->a, &m->cfg) < 0 || alloc_lists(&m->d, &m->cfg) < 0)
        goto oom;
    layout(m, &A, m->training ? &G : NULL);
    m->act_size = A.used;
    m->dact_size = G.used;
    m->act_mem = be->alloc(be, sizeof(float) * (A.used ? A.used : 16));
    m->dact_mem = m->training ? be->alloc(be, sizeof(float) * (G.used ? G.used : 16)) : NULL;
    if (!m->act_mem || (m->training && !m->dact_mem))
        goto oom;
    if (!sibvad_be_is_host(be)) {
        const sibvad_config *c = &m->cfg;
        const size_t img = (size_t)c->channels * c->img_h * c->img_w, HW = (size_t)c->img_h * c->img_w;
        m->in_frames = be->alloc(be, sizeof(float) * max_batch * c->frames_in * img);
        m->score_buf = be->alloc(be, sizeof(float) * max_batch * (HW + 1));
        m->host_pred = malloc(sizeof(float) * max_batch * img);
        m->host_sem_pred = malloc(sizeof(float) * max_batch * c->sem_dim);
        if (!m->in_frames || !m->score_buf || !m->host_pred || !m->host_sem_pred)
            goto oom;
    }
    be->zero(be, m->act_mem, sizeof(float) * A.used);
    arena A2 = {m->act_mem, 0}, G2 = {m->dact_mem, 0};
    layout(m, &A2, m->training ? &G2 : NULL);
    m->max_batch = max_batch;
    return 0;
oom: {
    size_t mib = (A.used + G.used) * sizeof(float) >> 20;
    sibvad_model_free_activations(m);
    return sibvad_fail(err, "prepare: cannot allocate %zu MiB of activations for batch %d (%s); "
                       "use a smaller batch", mib, max_batch, training ? "training" : "inference");
}
}

int sibvad_acts_create(const sibvad_model *m, sibvad_acts *a, float **mem, int clips, int frames, int diffs,
                       sibvad_error *err)
{
    memset(a, 0, sizeof *a);
    *mem = NULL;
    if (clips < 1 || frames < 1 || diffs < 1)
        return sibvad_fail(err, "activations: %d clips, %d frames, %d differences: each must be at least 1",
                           clips, frames, diffs);
    if (alloc_lists(a, &m->cfg) < 0) {
        free_lists(a);
        return sibvad_fail(err, "activations: out of memory");
    }
    arena A = {0};
    sibvad_be be = m->be;
    layout_acts(m, a, &A, (size_t)clips, (size_t)frames, (size_t)diffs, 0, 0);
    *mem = be->alloc(be, sizeof(float) * (A.used ? A.used : 16));
    if (!*mem) {
        free_lists(a);
        return sibvad_fail(err, "activations: cannot allocate %zu MiB", A.used * sizeof(float) >> 20);
    }
    be->zero(be, *mem, sizeof(float) * A.used);
    arena A2 = {*mem, 0};
    layout_acts(m, a, &A2, (size_t)clips, (size_t)frames, (size_t)diffs, 0, 0);
    return 0;
}

void sibvad_acts_destroy(sibvad_be be, sibvad_acts *a, float *mem)
{
    be_free(be, mem);
    if (a)
        free_lists(a);
}
