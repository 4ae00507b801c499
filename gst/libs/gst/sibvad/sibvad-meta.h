/* sibvad-meta.h: the metadata sibvadfilter attaches to each video buffer
 * (GstSibvadMeta: anomaly score, errors, alarm state and the error map), the
 * semantic-input metas it can read (GstSibvadSemanticMeta, GstSibvadCaptionMeta) and the
 * GstCustomMeta mirror for bindings. Library libgstsibvadmeta-1.0,
 * pkg-config gstreamer-sibvad-1.0, installed as <gst/sibvad/sibvad-meta.h>.
 * docs/plugin.md describes every field. */
#ifndef GST_SIBVAD_META_H
#define GST_SIBVAD_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_SIBVAD_META_API_TYPE (gst_sibvad_meta_api_get_type ())
#define GST_SIBVAD_META_INFO (gst_sibvad_meta_get_info ())

typedef struct _GstSibvadMeta GstSibvadMeta;

/**
 * GstSibvadMeta:
 * @meta: parent
 * @frame_number: frames seen since the start, a flush or a gap
 * @warming_up: %TRUE while fewer than the model's input frames precede this one (no score)
 * @fresh: %FALSE when the result is carried from the last inferred frame
 * @score: calibrated anomaly score after smoothing
 * @raw_score: calibrated score of this frame, unsmoothed
 * @visual_error: e_v, the MSE of the predicted frame in the model's normalised space
 * @semantic_error: e_s = 1 - cos of the semantic reconstruction, 0 without semantic input
 * @anomaly: alarm state (threshold and hysteresis)
 * @threshold: the threshold in force
 * @error_map: float32 map of @map_width x @map_height, row-major, or %NULL
 * @map_width: width of the map (the model's input width)
 * @map_height: height of the map
 * @frame_width: width of the video frame this meta describes
 * @frame_height: height of that frame
 */
struct _GstSibvadMeta {
  GstMeta meta;
  guint64 frame_number;
  gboolean warming_up;
  gboolean fresh;
  gfloat score;
  gfloat raw_score;
  gfloat visual_error;
  gfloat semantic_error;
  gboolean anomaly;
  gfloat threshold;
  GstBuffer *error_map;
  guint map_width, map_height;
  guint frame_width, frame_height;
};

GType gst_sibvad_meta_api_get_type (void);
const GstMetaInfo *gst_sibvad_meta_get_info (void);
GstSibvadMeta *gst_buffer_add_sibvad_meta (GstBuffer * buffer);
#define gst_buffer_get_sibvad_meta(b) \
  ((GstSibvadMeta *) gst_buffer_get_meta ((b), GST_SIBVAD_META_API_TYPE))

/* Semantic input: the caption embedding of the clip that ends with the
 * previous frame, attached upstream of sibvadfilter semantic-source=meta. */
#define GST_SIBVAD_SEMANTIC_META_API_TYPE (gst_sibvad_semantic_meta_api_get_type ())
#define GST_SIBVAD_SEMANTIC_META_INFO (gst_sibvad_semantic_meta_get_info ())

typedef struct _GstSibvadSemanticMeta {
  GstMeta meta;
  gfloat *vector;
  guint length;
} GstSibvadSemanticMeta;

GType gst_sibvad_semantic_meta_api_get_type (void);
const GstMetaInfo *gst_sibvad_semantic_meta_get_info (void);
GstSibvadSemanticMeta *gst_buffer_add_sibvad_semantic_meta (GstBuffer * buffer,
    const gfloat * vector, guint length);
#define gst_buffer_get_sibvad_semantic_meta(b) \
  ((GstSibvadSemanticMeta *) gst_buffer_get_meta ((b), GST_SIBVAD_SEMANTIC_META_API_TYPE))

/* Caption input: the caption of the clip that ends with the previous frame,
 * attached upstream of sibvadfilter semantic-source=caption, which embeds it
 * with its text-encoder-location. */
#define GST_SIBVAD_CAPTION_META_API_TYPE (gst_sibvad_caption_meta_api_get_type ())
#define GST_SIBVAD_CAPTION_META_INFO (gst_sibvad_caption_meta_get_info ())

typedef struct _GstSibvadCaptionMeta {
  GstMeta meta;
  gchar *caption;
} GstSibvadCaptionMeta;

GType gst_sibvad_caption_meta_api_get_type (void);
const GstMetaInfo *gst_sibvad_caption_meta_get_info (void);
GstSibvadCaptionMeta *gst_buffer_add_sibvad_caption_meta (GstBuffer * buffer,
    const gchar * caption);
#define gst_buffer_get_sibvad_caption_meta(b) \
  ((GstSibvadCaptionMeta *) gst_buffer_get_meta ((b), GST_SIBVAD_CAPTION_META_API_TYPE))

/* The GstCustomMeta mirror: a structure named "sibvad" with frame (guint64),
 * warming-up, fresh, anomaly (gboolean), score, raw-score, visual-error,
 * semantic-error, threshold (gdouble). */
#define GST_SIBVAD_CUSTOM_META_NAME "GstSibvadCustomMeta"
void gst_sibvad_custom_meta_register (void);
/* Attach (or update) the mirror of @meta on @buffer. */
gboolean gst_buffer_add_sibvad_custom_meta (GstBuffer * buffer, const GstSibvadMeta * meta);

G_END_DECLS

#endif
