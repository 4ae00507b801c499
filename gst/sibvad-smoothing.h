/* sibvad-smoothing.h: causal / centred Gaussian smoothing of a live score
 * series (one value per frame), with the kernel of sibvad_gaussian_smooth
 * (sibvad-core/metrics.c), which tools/common/protocol.c applies offline. */
#ifndef __GST_SIBVAD_SMOOTHING_H__
#define __GST_SIBVAD_SMOOTHING_H__

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GST_SIBVAD_SMOOTHING_NONE = 0,
  GST_SIBVAD_SMOOTHING_CAUSAL = 1,
  GST_SIBVAD_SMOOTHING_CENTRED = 2,
} GstSibvadSmoothing;

typedef struct _GstSibvadSmoother GstSibvadSmoother;

/* sigma in frames; the kernel radius is r = (int) (4 sigma + 0.5), as
 * offline. A sigma that is not > 0 means no smoothing. */
GstSibvadSmoother *gst_sibvad_smoother_new (GstSibvadSmoothing mode,
    gfloat sigma);
void gst_sibvad_smoother_free (GstSibvadSmoother * s);

GstSibvadSmoothing gst_sibvad_smoother_mode (const GstSibvadSmoother * s);
/* The kernel radius r (0 without smoothing). */
guint gst_sibvad_smoother_radius (const GstSibvadSmoother * s);
/* Values the smoother holds back before a result is final: r when centred,
 * 0 otherwise. */
guint gst_sibvad_smoother_delay (const GstSibvadSmoother * s);

/* Start a new series. */
void gst_sibvad_smoother_reset (GstSibvadSmoother * s);
/* Append the next value of the series. */
void gst_sibvad_smoother_push (GstSibvadSmoother * s, gfloat x);
/* The series ends: the values still held become final (reflected at the
 * end). The next push starts a new series. */
void gst_sibvad_smoother_finish (GstSibvadSmoother * s);
/* The next smoothed value, in order, once it is final; FALSE when none is. */
gboolean gst_sibvad_smoother_pop (GstSibvadSmoother * s, gfloat * out);

G_END_DECLS

#endif
