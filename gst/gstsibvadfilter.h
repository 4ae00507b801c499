/* gstsibvadfilter.h: sibvadfilter, the SIB-VAD video anomaly analyser
 * (docs/plugin.md). */
#ifndef __GST_SIBVAD_FILTER_H__
#define __GST_SIBVAD_FILTER_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

typedef enum {
  GST_SIBVAD_DEVICE_AUTO = 0,
  GST_SIBVAD_DEVICE_CPU = 1,
  GST_SIBVAD_DEVICE_CUDA = 2,
} GstSibvadDevice;

typedef enum {
  GST_SIBVAD_SEMANTIC_SOURCE_NONE = 0,
  GST_SIBVAD_SEMANTIC_SOURCE_META = 1,
  GST_SIBVAD_SEMANTIC_SOURCE_CAPTION = 2,
} GstSibvadSemanticSource;

typedef enum {
  GST_SIBVAD_PRECISION_FP32 = 0,
  GST_SIBVAD_PRECISION_TF32 = 1,
  GST_SIBVAD_PRECISION_BF16 = 2,
} GstSibvadPrecision;

typedef enum {
  GST_SIBVAD_BATCHING_LATE = 0,
  GST_SIBVAD_BATCHING_ALWAYS = 1,
} GstSibvadBatching;

#define GST_TYPE_SIBVAD_PRECISION (gst_sibvad_precision_get_type ())
GType gst_sibvad_precision_get_type (void);
#define GST_TYPE_SIBVAD_BATCHING (gst_sibvad_batching_get_type ())
GType gst_sibvad_batching_get_type (void);
#define GST_TYPE_SIBVAD_DEVICE (gst_sibvad_device_get_type ())
GType gst_sibvad_device_get_type (void);
#define GST_TYPE_SIBVAD_SMOOTHING (gst_sibvad_smoothing_get_type ())
GType gst_sibvad_smoothing_get_type (void);
#define GST_TYPE_SIBVAD_SEMANTIC_SOURCE (gst_sibvad_semantic_source_get_type ())
GType gst_sibvad_semantic_source_get_type (void);

#define GST_TYPE_SIBVAD_FILTER (gst_sibvad_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstSibvadFilter, gst_sibvad_filter, GST, SIBVAD_FILTER,
    GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE (sibvadfilter);

G_END_DECLS

#endif
