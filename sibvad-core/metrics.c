/* metrics.c: ROC AUC (rank statistic) and curve, min-max normalisation, Gaussian smoothing. */
#include "metrics.h"
#include "sibvad.h"

#include <math.h>
#include <stdlib.h>

typedef struct scored {
    float s;
    unsigned char l;
} scored;

static int by_score(const void *a, const void *b)
{
    const float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? -1 : x > y;
}

/* The (score, label) pairs sorted by ascending score, and the positive count. */
static scored *sorted_pairs(const float *scores, const unsigned char *labels, size_t n, size_t *pos)
{
    scored *v = malloc(sizeof *v * (n ? n : 1));
    if (!v)
        return NULL;
    *pos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].l = labels[i] ? 1 : 0;
        *pos += v[i].l;
    }
    qsort(v, n, sizeof *v, by_score);
    return v;
}

double sibvad_roc_auc(const float *scores, const unsigned char *labels, size_t n)
{
    size_t pos = 0;
    scored *v = sorted_pairs(scores, labels, n, &pos);
    if (!v)
        return NAN;
    const size_t neg = n - pos;
    if (pos == 0 || neg == 0) {
        free(v);
        return NAN;
    }
    /* Mann-Whitney U: sum of the (average) ranks of the positives */
    double rank_sum = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            j++;
        const double avg = (double)(i + 1 + j) / 2.0;
        for (size_t k = i; k < j; k++)
            if (v[k].l)
                rank_sum += avg;
        i = j;
    }
    free(v);
    return (rank_sum - (double)pos * (pos + 1) / 2.0) / ((double)pos * neg);
}

long sibvad_roc_curve(const float *scores, const unsigned char *labels, size_t n, double **fpr, double **tpr,
                      sibvad_error *err)
{
    if (!scores || !labels || !fpr || !tpr)
        return sibvad_fail(err, "roc: bad arguments");
    *fpr = *tpr = NULL;
    size_t pos = 0;
    scored *v = sorted_pairs(scores, labels, n, &pos);
    if (!v)
        return sibvad_fail(err, "roc: out of memory");
    const size_t neg = n - pos;
    double *f = pos && neg ? malloc(sizeof(double) * (n + 1)) : NULL;
    double *t = pos && neg ? malloc(sizeof(double) * (n + 1)) : NULL;
    if (!f || !t) {
        free(v);
        free(f);
        free(t);
        return sibvad_fail(err, pos && neg ? "roc: out of memory" : "roc: the labels hold one class only");
    }
    /* thresholds from the highest score down; tied scores form one point */
    long k = 0;
    f[k] = t[k] = 0.0;
    k++;
    size_t tp = 0, fp = 0;
    for (size_t i = n; i > 0;) {
        size_t j = i;
        while (j > 0 && v[j - 1].s == v[i - 1].s) {
            tp += v[j - 1].l;
            fp += !v[j - 1].l;
            j--;
        }
        f[k] = (double)fp / neg;
        t[k] = (double)tp / pos;
        k++;
        i = j;
    }
    free(v);
    *fpr = f;
    *tpr = t;
    return k;
}

void sibvad_minmax(float *x, size_t n)
{
    if (n == 0)
        return;
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    const float r = hi - lo;
    for (size_t i = 0; i < n; i++)
        x[i] = r > 0.0f ? (x[i] - lo) / r : 0.0f;
}

size_t sibvad_reflect_index(long i, size_t n)
{
    const long m = (long)n;
    for (;;) {
        if (i < 0)
            i = -i - 1;
        else if (i >= m)
            i = 2 * m - i - 1;
        else
            return (size_t)i;
    }
}

int sibvad_gaussian_radius(float sigma)
{
    return (int)(4.0f * sigma + 0.5f);
}

double sibvad_gaussian_kernel(double *k, float sigma, int causal)
{
    const int r = sibvad_gaussian_radius(sigma);
    double sum = 0.0;
    for (int j = -r; j <= r; j++) {
        k[j + r] = (causal && j < 0) ? 0.0 : exp(-0.5 * (double)j * j / ((double)sigma * sigma));
        sum += k[j + r];
    }
    return sum;
}

int sibvad_gaussian_smooth(float *out, const float *x, size_t n, float sigma, int causal)
{
    if (n == 0)
        return 0;
    if (!(sigma > 0.0f)) {
        for (size_t i = 0; i < n; i++)
            out[i] = x[i];
        return 0;
    }
    const int r = sibvad_gaussian_radius(sigma);
    double *k = malloc(sizeof(double) * (2 * r + 1));
    float *tmp = malloc(sizeof(float) * n);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return -1;
    }
    const double sum = sibvad_gaussian_kernel(k, sigma, causal);
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = -r; j <= r; j++)
            acc += k[j + r] * x[sibvad_reflect_index((long)i - j, n)];
        tmp[i] = (float)(acc / sum);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[i];
    free(k);
    free(tmp);
    return 0;
}
