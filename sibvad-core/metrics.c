/* metrics.c: ROC AUC (rank statistic), min-max normalisation, Gaussian smoothing. */
#include "metrics.h"

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

double sibvad_roc_auc(const float *scores, const unsigned char *labels, size_t n)
{
    scored *v = malloc(sizeof *v * (n ? n : 1));
    if (!v)
        return NAN;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].l = labels[i] ? 1 : 0;
        pos += v[i].l;
    }
    const size_t neg = n - pos;
    if (pos == 0 || neg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, by_score);
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

static size_t reflect(long i, size_t n)
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

int sibvad_gaussian_smooth(float *out, const float *x, size_t n, float sigma, int causal)
{
    if (n == 0)
        return 0;
    if (!(sigma > 0.0f)) {
        for (size_t i = 0; i < n; i++)
            out[i] = x[i];
        return 0;
    }
    const int r = (int)(4.0f * sigma + 0.5f);
    double *k = malloc(sizeof(double) * (2 * r + 1));
    float *tmp = malloc(sizeof(float) * n);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return -1;
    }
    double sum = 0.0;
    for (int j = -r; j <= r; j++) {
        k[j + r] = (causal && j < 0) ? 0.0 : exp(-0.5 * (double)j * j / ((double)sigma * sigma));
        sum += k[j + r];
    }
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = -r; j <= r; j++)
            acc += k[j + r] * x[reflect((long)i - j, n)];
        tmp[i] = (float)(acc / sum);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[i];
    free(k);
    free(tmp);
    return 0;
}
