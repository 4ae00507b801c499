/* calibration.c: normal-error statistics for score calibration. Errors of a
 * model on normal video are positive and right-skewed, so they are modelled
 * in log space: z = (log e - mean(log e)) / std(log e). Quantiles of the raw
 * errors are kept too, for reports and thresholds. */
#include "sibvad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double QUANT[SIBVAD_CALIB_QUANTILES] = {0.5, 0.9, 0.95, 0.99, 0.999};

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int fit_one(const float *e, int n, float *log_mean, float *log_std, float *q, sibvad_error *err)
{
    float *s = malloc(sizeof(float) * n);
    if (!s)
        return sibvad_fail(err, "calibration: out of memory");
    double m = 0.0, v = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(e[i])) {
            free(s);
            return sibvad_fail(err, "calibration: the error of normal clip %d is not finite (%g): "
                               "the model diverged or its input holds bad values", i, (double)e[i]);
        }
        s[i] = e[i];
        m += log(fmax(e[i], 1e-12));
    }
    m /= n;
    for (int i = 0; i < n; i++) {
        double d = log(fmax(e[i], 1e-12)) - m;
        v += d * d;
    }
    qsort(s, n, sizeof(float), cmp_float);
    for (int k = 0; k < SIBVAD_CALIB_QUANTILES; k++) {
        double pos = QUANT[k] * (n - 1);
        int i = (int)pos;
        double f = pos - i;
        q[k] = (float)(i + 1 < n ? s[i] * (1 - f) + s[i + 1] * f : s[n - 1]);
    }
    free(s);
    *log_mean = (float)m;
    *log_std = (float)fmax(sqrt(v / (n > 1 ? n - 1 : 1)), 1e-6);
    return 0;
}

int sibvad_calibration_fit(sibvad_calibration *c, const float *visual, const float *semantic, int n,
                           sibvad_error *err)
{
    if (!c || !visual || n < 2)
        return sibvad_fail(err, "calibration: needs at least 2 normal clips (got %d)", n);
    sibvad_calibration r;
    memset(&r, 0, sizeof r);
    r.count = n;
    if (fit_one(visual, n, &r.vis_log_mean, &r.vis_log_std, r.vis_quantiles, err) < 0)
        return -1;
    if (semantic && fit_one(semantic, n, &r.sem_log_mean, &r.sem_log_std, r.sem_quantiles, err) < 0)
        return -1;
    *c = r;
    return 0;
}

float sibvad_calibrated_score(const sibvad_calibration *c, float visual, float semantic, float w_visual,
                              float w_semantic)
{
    if (!c || c->count == 0)
        return w_visual * visual + w_semantic * semantic;
    float z = w_visual * (float)((log(fmax(visual, 1e-12)) - c->vis_log_mean) / c->vis_log_std);
    if (c->sem_log_std > 0.0f && semantic >= 0.0f)
        z += w_semantic * (float)((log(fmax(semantic, 1e-12)) - c->sem_log_mean) / c->sem_log_std);
    return z;
}
