/* gstsibvadoverlay.h: sibvadoverlay, draws the GstSibvadMeta of each frame
 * (error map heat map, score bar, score history) onto the video in place.
 * docs/plugin.md, section sibvadoverlay, describes it. */
#ifndef __GST_SIBVAD_OVERLAY_H__
#define __GST_SIBVAD_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_SIBVAD_OVERLAY (gst_sibvad_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstSibvadOverlay, gst_sibvad_overlay, GST, SIBVAD_OVERLAY,
    GstVideoFilter)

/* one plane group of the frame at one resolution: the full-size components
 * (RGB, GRAY, Y) or the subsampled chroma (U and V) */
typedef struct
{
  guint width, height;          /* samples in this group */
  guint w_sub, h_sub;           /* log2 subsampling of this group */
  guint n_comps;
  guint comps[3];               /* GstVideoFrame component indices */
  /* bilinear tables from this group's samples to the map */
  guint32 *x0;                  /* left map column */
  gfloat *fx;                   /* weight of the right column, 0..1 */
  guint32 *y0;                  /* upper map row */
  gfloat *fy;                   /* weight of the lower row, 0..1 */
} GstSibvadOverlayGroup;

/* one score of the history ring */
typedef struct
{
  gfloat score;
  gboolean anomaly;
} GstSibvadOverlaySample;

struct _GstSibvadOverlay
{
  GstVideoFilter parent;

  /* properties (object lock) */
  gdouble alpha;
  gfloat map_max;
  gboolean show_map;
  gboolean show_score;
  gboolean show_history;
  guint history;

  /* streaming thread state */
  GstSibvadOverlaySample *ring;  /* ring of ring_size samples */
  guint ring_size;
  guint ring_len;               /* valid samples */
  guint ring_head;              /* next write position */
  gfloat last_threshold;

  /* scaled-map tables, rebuilt when the frame or the map size changes */
  GstSibvadOverlayGroup groups[2];
  guint n_groups;
  guint tab_map_width, tab_map_height;  /* 0: tables to rebuild */
  guint8 heat[256][3];          /* inferno in the frame's components */
  gboolean is_rgb, is_gray, full_range;
  gfloat *norm_map;             /* the map scaled to 0..255 */
  gfloat *row;                  /* a vertically interpolated map row, +1 */
  gfloat *sample;               /* subsample for the percentile */
  guint8 *idx;                  /* colour-map indices of one row */
  gsize norm_map_size, row_size, sample_size, idx_size;
};

GST_ELEMENT_REGISTER_DECLARE (sibvadoverlay);

G_END_DECLS

#endif /* __GST_SIBVAD_OVERLAY_H__ */
