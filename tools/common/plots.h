/* plots.h: PNG figures of an evaluation, drawn with cairo: anomaly score
 * curves over a video with the ground-truth abnormal frames shaded, ROC
 * curves, and frame / prediction / error-map panels side by side. Plain C
 * (no GLib); errors come back in a sibvad_error naming the file. */
#ifndef SIBVAD_PLOTS_H
#define SIBVAD_PLOTS_H

#include "sibvad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One curve of a score plot. */
typedef struct {
    const float *y;         /* n values */
    const char *label;      /* legend text */
    double r, g, b;         /* colour, 0..1 */
    int dashed;
} SibvadPlotLine;

/* Score curves of one video. x = first_frame .. first_frame + n - 1 (frame
 * numbers); labels (n entries, or NULL) shade the abnormal frames. With
 * scale_each, each curve is min-max scaled to 0..1 for display (the y label
 * says so); otherwise all share one axis from their joint range. */
int sibvad_plot_scores(const char *path, const char *title, int first_frame, int n, const SibvadPlotLine *lines,
                       int nlines, const unsigned char *labels, int scale_each, sibvad_error *err);

/* One ROC curve: points from sibvad_roc_curve. */
typedef struct {
    const double *fpr, *tpr;
    long n;
    const char *label;      /* legend text, e.g. "SIB-VAD (AUC 97.31)" */
    double r, g, b;
    int dashed;
} SibvadPlotRoc;

int sibvad_plot_roc(const char *path, const char *title, const SibvadPlotRoc *curves, int ncurves,
                    sibvad_error *err);

/* A perceptually ordered dark-to-bright ramp (an approximation of
 * matplotlib's inferno): t in [0,1] (clamped) to 8-bit RGB. */
void sibvad_colormap_inferno(float t, unsigned char rgb[3]);

/* Three panels side by side: the frame and the prediction (both C,H,W
 * planar on the [0,1] pixel scale, C = 1 or 3, clipped for display) and the
 * error map (H,W) colour-mapped from 0 to its maximum, with a colour bar.
 * Small frames are enlarged (nearest neighbour). */
int sibvad_plot_errormap(const char *path, const char *title, int C, int H, int W, const float *frame,
                         const float *pred, const float *error_map, sibvad_error *err);

#ifdef __cplusplus
}
#endif
#endif
