/* metrics.h: frame-level evaluation helpers: ROC AUC, per-video min-max
 * normalisation and 1-D Gaussian smoothing (spec section 8). */
#ifndef SIBVAD_METRICS_H
#define SIBVAD_METRICS_H

#include "sibvad.h"

#include <stddef.h>

/* Area under the ROC curve of scores against 0/1 labels (ties get half
 * credit). Returns NaN when one class is absent or on allocation failure. */
double sibvad_roc_auc(const float *scores, const unsigned char *labels, size_t n);
/* ROC curve points from the highest threshold down (starting at (0, 0), tied
 * scores forming one point): *fpr and *tpr are malloc'd arrays; returns their
 * length, or -1 with a message (one class only, out of memory). */
long sibvad_roc_curve(const float *scores, const unsigned char *labels, size_t n, double **fpr, double **tpr,
                      sibvad_error *err);
/* x = (x - min) / (max - min); a constant series becomes 0. */
void sibvad_minmax(float *x, size_t n);
/* Gaussian smoothing, reflect at the ends ("reflect" = scipy's mode: d c b a | a b c d),
 * kernel truncated at 4 sigma; causal = 1 uses only the past half of the kernel. */
int sibvad_gaussian_smooth(float *out, const float *x, size_t n, float sigma, int causal);
/* The pieces of that smoothing, for a live series (the plugin): its radius
 * r = (int)(4 sigma + 0.5); the kernel k[0..2r] (k[r + j] for offset j, zero
 * for j < 0 when causal), returning the sum of its weights; and the index a
 * position i of a series of n values reads ("reflect" at both ends). */
int sibvad_gaussian_radius(float sigma);
double sibvad_gaussian_kernel(double *k, float sigma, int causal);
size_t sibvad_reflect_index(long i, size_t n);

#endif
