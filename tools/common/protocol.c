/* protocol.c: per-frame errors (MSE, max over patch windows, PSNR, frame-
 * difference energy), evaluation protocols (presets, streaming and floor
 * variants, descriptions), per-video normalisation / smoothing / weighting,
 * micro and macro ROC AUC and ROC curves. See protocol.h. */
#include "protocol.h"

#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* ---- per-frame errors ------------------------------------------------- */

float sibvad_frame_maxwin(const float *map, int H, int W, int patch)
{
    if (!map || H <= 0 || W <= 0)
        return NAN;
    if (patch <= 0 || (patch > H && patch > W)) {
        double s = 0.0;
        for (long i = 0; i < (long)H * W; i++)
            s += map[i];
        return (float)(s / ((double)H * W));
    }
    double best = -INFINITY;
    for (int y0 = 0; y0 < H; y0 += patch) {
        const int y1 = y0 + patch < H ? y0 + patch : H;
        for (int x0 = 0; x0 < W; x0 += patch) {
            const int x1 = x0 + patch < W ? x0 + patch : W;
            double s = 0.0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    s += map[(long)y * W + x];
            s /= (double)(y1 - y0) * (x1 - x0);
            if (s > best)
                best = s;
        }
    }
    return (float)best;
}

double sibvad_pixel_mse(const double *mse_c, const float *std, int C)
{
    if (!mse_c || C <= 0)
        return NAN;
    double s = 0.0;
    for (int c = 0; c < C; c++) {
        const double sd = std ? std[c] : SIBVAD_PIXEL_STD[c < 3 ? c : 2];
        s += sd * sd * mse_c[c];
    }
    return s / C;
}

double sibvad_frame_psnr(double mse_pixels)
{
    if (isnan(mse_pixels) || mse_pixels < 0.0)
        return NAN;
    if (mse_pixels <= 1e-10)
        return SIBVAD_PSNR_MAX;
    const double p = 10.0 * log10(1.0 / mse_pixels);
    return p < SIBVAD_PSNR_MAX ? p : SIBVAD_PSNR_MAX;
}

float sibvad_framediff_energy(const float *cur, const float *prev, int C, int H, int W, int patch,
                              float *map_scratch)
{
    if (!cur || !prev || C <= 0 || H <= 0 || W <= 0)
        return NAN;
    const long HW = (long)H * W;
    float *map = map_scratch ? map_scratch : malloc(sizeof(float) * HW);
    if (!map)
        return NAN;
    for (long i = 0; i < HW; i++) {
        float e = 0.0f;
        for (int c = 0; c < C; c++) {
            const float d = cur[c * HW + i] - prev[c * HW + i];
            e += d * d;
        }
        map[i] = e / C;
    }
    const float r = sibvad_frame_maxwin(map, H, W, patch);
    if (!map_scratch)
        free(map);
    return r;
}

void sibvad_moving_error_add(const float *err_map, const float *fd_map, int H, int W, int block, float threshold,
                             double *sum_err, double *sum_fd, long *nblocks)
{
    if (!err_map || !fd_map || block <= 0 || H < block || W < block)
        return;
    const double inv = 1.0 / ((double)block * block);
    for (int by = 0; by + block <= H; by += block)
        for (int bx = 0; bx + block <= W; bx += block) {
            double e = 0.0, d = 0.0;
            for (int y = by; y < by + block; y++)
                for (int x = bx; x < bx + block; x++) {
                    e += err_map[(size_t)y * W + x];
                    d += fd_map[(size_t)y * W + x];
                }
            if (d * inv > threshold) {
                *sum_err += e * inv;
                *sum_fd += d * inv;
                (*nblocks)++;
            }
        }
}

int sibvad_frame_errors(const float *target, const float *pred, int C, int H, int W, int patch,
                        const float *std, float *map_scratch, SibvadFrameErrors *out, sibvad_error *err)
{
    if (!target || !pred || !out || C <= 0 || C > 3 || H <= 0 || W <= 0)
        return sibvad_fail(err, "frame errors: bad arguments (C=%d, H=%d, W=%d)", C, H, W);
    const long HW = (long)H * W;
    float *map = map_scratch ? map_scratch : malloc(sizeof(float) * 2 * HW);
    if (!map)
        return sibvad_fail(err, "frame errors: out of memory");
    float *pix = map + HW;
    float sd2[3];
    for (int c = 0; c < C; c++) {
        const float s = std ? std[c] : SIBVAD_PIXEL_STD[c];
        sd2[c] = s * s;
    }
    double mse_c[3] = {0.0, 0.0, 0.0};
    for (long i = 0; i < HW; i++) {
        float e = 0.0f, ep = 0.0f;
        for (int c = 0; c < C; c++) {
            const float d = target[c * HW + i] - pred[c * HW + i];
            mse_c[c] += (double)d * d;
            e += d * d;
            ep += sd2[c] * d * d;
        }
        map[i] = e / C;
        pix[i] = ep / C;
    }
    double total = 0.0;
    for (int c = 0; c < C; c++) {
        total += mse_c[c];
        mse_c[c] /= (double)HW;
    }
    out->mse = (float)(total / ((double)C * HW));
    out->maxwin = sibvad_frame_maxwin(map, H, W, patch);
    out->psnr = (float)sibvad_frame_psnr(sibvad_pixel_mse(mse_c, std, C));
    out->psnr_maxwin = (float)sibvad_frame_psnr(sibvad_frame_maxwin(pix, H, W, patch));
    if (!map_scratch)
        free(map);
    return 0;
}

/* ---- protocols --------------------------------------------------------- */

int sibvad_protocol_preset(SibvadProtocol *p, const char *name, int patch, int frames_in, sibvad_error *err)
{
    if (!p || !name)
        return sibvad_fail(err, "protocol: no preset name");
    SibvadProtocol r;
    memset(&r, 0, sizeof r);
    r.source = SIBVAD_SOURCE_MODEL;
    r.error = SIBVAD_ERR_MSE;
    r.reduce = SIBVAD_REDUCE_MEAN;
    r.smoothing = SIBVAD_SMOOTH_CENTRED;
    r.patch = patch;
    r.drop = frames_in > 0 ? frames_in : 4;
    if (!strcasecmp(name, "ped2")) {
        snprintf(r.name, sizeof r.name, "ped2");
        r.sigma = 5.0f;
        r.minmax = 1;
        r.w_visual = 0.8f;
        r.w_semantic = 0.2f;
    } else if (!strcasecmp(name, "avenue")) {
        snprintf(r.name, sizeof r.name, "avenue");
        r.sigma = 4.0f;
        r.minmax = 0;
        r.w_visual = 0.9f;
        r.w_semantic = 0.1f;
    } else if (!strcasecmp(name, "shanghaitech") || !strcasecmp(name, "shanghai") || !strcasecmp(name, "sht")) {
        snprintf(r.name, sizeof r.name, "shanghaitech");
        r.sigma = 13.0f;
        r.minmax = 1;
        r.w_visual = 0.2f;
        r.w_semantic = 0.8f;
    } else {
        return sibvad_fail(err, "unknown protocol '%s' (known: ped2, avenue, shanghaitech)", name);
    }
    *p = r;
    return 0;
}

void sibvad_protocol_streaming(SibvadProtocol *out, const SibvadProtocol *chosen, const sibvad_calibration *cal)
{
    SibvadProtocol r = *chosen;
    snprintf(r.name, sizeof r.name, "streaming");
    r.streaming = 1;
    r.source = SIBVAD_SOURCE_MODEL;
    r.minmax = 0;
    if (r.smoothing != SIBVAD_SMOOTH_NONE)
        r.smoothing = SIBVAD_SMOOTH_CAUSAL;
    memset(&r.calibration, 0, sizeof r.calibration);
    r.calibrated = 0;
    if (cal && cal->count > 0) {
        r.calibrated = 1;
        r.calibration = *cal;
        /* the calibration was measured on e_v, the mean MSE */
        r.error = SIBVAD_ERR_MSE;
        r.reduce = SIBVAD_REDUCE_MEAN;
    }
    *out = r;
}

void sibvad_protocol_floor(SibvadProtocol *out, const SibvadProtocol *p)
{
    SibvadProtocol r = *p;
    snprintf(r.name, sizeof r.name, "floor");
    r.source = SIBVAD_SOURCE_FRAMEDIFF;
    r.error = SIBVAD_ERR_MSE;
    r.reduce = SIBVAD_REDUCE_MAXWIN;
    r.visual_only = 1;
    r.streaming = 0;
    r.calibrated = 0;
    memset(&r.calibration, 0, sizeof r.calibration);
    *out = r;
}

/* appends printf-style text at *len, never past size */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    const int k = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = *len + (size_t)k < size ? *len + (size_t)k : size - 1;
}

static void window_words(char *buf, size_t size, size_t *len, int patch)
{
    if (patch > 0)
        append(buf, size, len, "max over %dx%d windows", patch, patch);
    else
        append(buf, size, len, "max over patch windows");
}

char *sibvad_protocol_describe(const SibvadProtocol *p, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    if (!p)
        return buf;
    size_t n = 0;
    if (p->source == SIBVAD_SOURCE_FRAMEDIFF) {
        append(buf, size, &n, "frame-difference energy, ");
        window_words(buf, size, &n, p->patch);
    } else {
        append(buf, size, &n, "%s, ", p->error == SIBVAD_ERR_PSNR ? "-PSNR" : "mse");
        if (p->reduce == SIBVAD_REDUCE_MAXWIN)
            window_words(buf, size, &n, p->patch);
        else
            append(buf, size, &n, "mean over frame");
    }
    append(buf, size, &n, ", %s", p->minmax ? "per-video min-max" : "no per-video normalisation");
    if (p->smoothing == SIBVAD_SMOOTH_NONE || !(p->sigma > 0.0f))
        append(buf, size, &n, ", no smoothing");
    else
        append(buf, size, &n, ", %s Gaussian sigma %g", p->smoothing == SIBVAD_SMOOTH_CAUSAL ? "causal" : "centred",
               (double)p->sigma);
    if (p->source == SIBVAD_SOURCE_MODEL) {
        if (p->calibrated)
            append(buf, size, &n, ", calibrated score (normal-error statistics of the model file)");
        else if (p->streaming)
            append(buf, size, &n, ", raw errors (the model file has no calibration)");
        if (p->visual_only)
            append(buf, size, &n, ", visual only (no semantic vectors)");
        else
            append(buf, size, &n, ", weights %g/%g", (double)p->w_visual, (double)p->w_semantic);
    } else {
        append(buf, size, &n, ", no semantic term");
    }
    append(buf, size, &n, ", first %d frames dropped", p->drop);
    return buf;
}

float sibvad_protocol_visual(const SibvadProtocol *p, const SibvadFrameErrors *e)
{
    if (p->source == SIBVAD_SOURCE_FRAMEDIFF)
        return e->framediff;
    if (p->error == SIBVAD_ERR_PSNR)
        return p->reduce == SIBVAD_REDUCE_MAXWIN ? -e->psnr_maxwin : -e->psnr;
    return p->reduce == SIBVAD_REDUCE_MAXWIN ? e->maxwin : e->mse;
}

long sibvad_protocol_scored_frames(const SibvadProtocol *p, const SibvadVideoSeries *v)
{
    const int d = p->drop > 0 ? p->drop : 0;
    return v->nframes > d ? (long)v->nframes - d : 0;
}

/* min-max (if set) and smoothing of one series, in place */
static int normalise_series(const SibvadProtocol *p, float *x, size_t n)
{
    if (p->minmax)
        sibvad_minmax(x, n);
    if (p->smoothing != SIBVAD_SMOOTH_NONE && p->sigma > 0.0f)
        return sibvad_gaussian_smooth(x, x, n, p->sigma, p->smoothing == SIBVAD_SMOOTH_CAUSAL);
    return 0;
}

long sibvad_protocol_score_videos(const SibvadProtocol *p, const SibvadVideoSeries *videos, int nvideos,
                                  float *out, sibvad_error *err)
{
    if (!p || (nvideos > 0 && (!videos || !out)) || nvideos < 0)
        return sibvad_fail(err, "protocol: bad arguments");
    if (p->drop < 0)
        return sibvad_fail(err, "protocol: drop must be >= 0 (got %d)", p->drop);
    long maxn = 0;
    for (int v = 0; v < nvideos; v++) {
        if (videos[v].nframes < 0 || (videos[v].nframes > 0 && !videos[v].visual))
            return sibvad_fail(err, "protocol: video %s has no visual series",
                               videos[v].name ? videos[v].name : "?");
        const long k = sibvad_protocol_scored_frames(p, &videos[v]);
        maxn = k > maxn ? k : maxn;
    }
    float *sem = malloc(sizeof(float) * (maxn ? maxn : 1));
    if (!sem)
        return sibvad_fail(err, "protocol: out of memory");
    long pos = 0;
    for (int v = 0; v < nvideos; v++) {
        const SibvadVideoSeries *s = &videos[v];
        const long n = sibvad_protocol_scored_frames(p, s);
        if (n == 0)
            continue;
        float *o = out + pos;
        const float *vis = s->visual + p->drop;
        const float *se = s->semantic && !p->visual_only ? s->semantic + p->drop : NULL;
        int rc;
        if (p->calibrated) {
            const float wv = se ? p->w_visual : 1.0f, ws = se ? p->w_semantic : 0.0f;
            for (long i = 0; i < n; i++)
                o[i] = sibvad_calibrated_score(&p->calibration, vis[i], se ? se[i] : -1.0f, wv, ws);
            rc = normalise_series(p, o, (size_t)n);
        } else {
            memcpy(o, vis, sizeof(float) * n);
            rc = normalise_series(p, o, (size_t)n);
            if (rc == 0 && se) {
                memcpy(sem, se, sizeof(float) * n);
                rc = normalise_series(p, sem, (size_t)n);
                for (long i = 0; i < n; i++)
                    o[i] = p->w_visual * o[i] + p->w_semantic * sem[i];
            }
        }
        if (rc < 0) {
            free(sem);
            return sibvad_fail(err, "protocol: out of memory while smoothing video %s", s->name ? s->name : "?");
        }
        pos += n;
    }
    free(sem);
    return pos;
}

int sibvad_protocol_auc(const SibvadProtocol *p, const SibvadVideoSeries *videos, int nvideos,
                        const float *scores, SibvadAuc *out, double *per_video, sibvad_error *err)
{
    if (!p || !out || nvideos < 0 || (nvideos > 0 && (!videos || !scores)))
        return sibvad_fail(err, "auc: bad arguments");
    SibvadAuc r = {NAN, NAN, 0, 0, 0, 0, 0};
    long total = 0;
    for (int v = 0; v < nvideos; v++)
        total += sibvad_protocol_scored_frames(p, &videos[v]);
    unsigned char *lab = malloc(total ? (size_t)total : 1);
    if (!lab)
        return sibvad_fail(err, "auc: out of memory");
    long pos = 0;
    double sum = 0.0;
    for (int v = 0; v < nvideos; v++) {
        const long n = sibvad_protocol_scored_frames(p, &videos[v]);
        if (per_video)
            per_video[v] = NAN;
        if (n == 0) {
            r.videos_empty++;
            continue;
        }
        if (!videos[v].labels) {
            free(lab);
            return sibvad_fail(err, "auc: video %s has no labels", videos[v].name ? videos[v].name : "?");
        }
        long pos_v = 0;
        for (long i = 0; i < n; i++) {
            lab[pos + i] = videos[v].labels[p->drop + i] ? 1 : 0;
            pos_v += lab[pos + i];
        }
        r.abnormal += pos_v;
        if (pos_v == 0 || pos_v == n) {
            r.videos_skipped++;
        } else {
            const double a = sibvad_roc_auc(scores + pos, lab + pos, (size_t)n);
            if (isnan(a)) {
                free(lab);
                return sibvad_fail(err, "auc: out of memory");
            }
            if (per_video)
                per_video[v] = a;
            sum += a;
            r.videos_used++;
        }
        pos += n;
    }
    r.frames = total;
    if (r.abnormal > 0 && r.abnormal < total)
        r.micro = sibvad_roc_auc(scores, lab, (size_t)total);
    if (r.videos_used > 0)
        r.macro = sum / r.videos_used;
    free(lab);
    *out = r;
    return 0;
}

