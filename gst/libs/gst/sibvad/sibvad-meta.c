/* sibvad-meta.c: registration, init, free and transforms of GstSibvadMeta,
 * GstSibvadSemanticMeta, GstSibvadCaptionMeta and the GstCustomMeta mirror. */
#include "sibvad-meta.h"

#include <gst/video/video.h>
#include <string.h>

/* ---- GstSibvadMeta ---- */

GType
gst_sibvad_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstSibvadMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_sibvad_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstSibvadMeta *m = (GstSibvadMeta *) meta;

  m->frame_number = 0;
  m->warming_up = TRUE;
  m->fresh = FALSE;
  m->score = m->raw_score = 0.0f;
  m->visual_error = m->semantic_error = 0.0f;
  m->anomaly = FALSE;
  m->threshold = 0.0f;
  m->error_map = NULL;
  m->map_width = m->map_height = 0;
  m->frame_width = m->frame_height = 0;
  return TRUE;
}

static void
gst_sibvad_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstSibvadMeta *m = (GstSibvadMeta *) meta;

  gst_clear_buffer (&m->error_map);
}

static void
copy_fields (GstSibvadMeta * dst, const GstSibvadMeta * src)
{
  GstBuffer *old = dst->error_map;

  dst->frame_number = src->frame_number;
  dst->warming_up = src->warming_up;
  dst->fresh = src->fresh;
  dst->score = src->score;
  dst->raw_score = src->raw_score;
  dst->visual_error = src->visual_error;
  dst->semantic_error = src->semantic_error;
  dst->anomaly = src->anomaly;
  dst->threshold = src->threshold;
  dst->error_map = src->error_map ? gst_buffer_ref (src->error_map) : NULL;
  if (old)
    gst_buffer_unref (old);
  dst->map_width = src->map_width;
  dst->map_height = src->map_height;
  dst->frame_width = src->frame_width;
  dst->frame_height = src->frame_height;
}

static gboolean
gst_sibvad_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer, GQuark type, gpointer data)
{
  GstSibvadMeta *src = (GstSibvadMeta *) meta, *dst;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    dst = gst_buffer_add_sibvad_meta (dest);
    if (!dst)
      return FALSE;
    copy_fields (dst, src);
    return TRUE;
  }
  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    GstVideoMetaTransform *trans = data;

    dst = gst_buffer_add_sibvad_meta (dest);
    if (!dst)
      return FALSE;
    copy_fields (dst, src);
    /* the map covers the whole frame at the model's resolution: only the
     * frame it describes changes size */
    dst->frame_width = GST_VIDEO_INFO_WIDTH (trans->out_info);
    dst->frame_height = GST_VIDEO_INFO_HEIGHT (trans->out_info);
    return TRUE;
  }
  return FALSE;
}

const GstMetaInfo *
gst_sibvad_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_SIBVAD_META_API_TYPE, "GstSibvadMeta",
        sizeof (GstSibvadMeta), gst_sibvad_meta_init, gst_sibvad_meta_free, gst_sibvad_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstSibvadMeta *
gst_buffer_add_sibvad_meta (GstBuffer * buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  return (GstSibvadMeta *) gst_buffer_add_meta (buffer, GST_SIBVAD_META_INFO, NULL);
}

/* ---- GstSibvadSemanticMeta ---- */

GType
gst_sibvad_semantic_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstSibvadSemanticMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_sibvad_semantic_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstSibvadSemanticMeta *m = (GstSibvadSemanticMeta *) meta;

  m->vector = NULL;
  m->length = 0;
  return TRUE;
}

static void
gst_sibvad_semantic_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstSibvadSemanticMeta *m = (GstSibvadSemanticMeta *) meta;

  g_free (m->vector);
  m->vector = NULL;
  m->length = 0;
}

static gboolean
gst_sibvad_semantic_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer, GQuark type,
    gpointer data)
{
  GstSibvadSemanticMeta *src = (GstSibvadSemanticMeta *) meta;

  /* a caption vector describes the whole frame: keep it through copies and
   * any video transform */
  return gst_buffer_add_sibvad_semantic_meta (dest, src->vector, src->length) != NULL;
}

const GstMetaInfo *
gst_sibvad_semantic_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_SIBVAD_SEMANTIC_META_API_TYPE, "GstSibvadSemanticMeta",
        sizeof (GstSibvadSemanticMeta), gst_sibvad_semantic_meta_init, gst_sibvad_semantic_meta_free,
        gst_sibvad_semantic_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstSibvadSemanticMeta *
gst_buffer_add_sibvad_semantic_meta (GstBuffer * buffer, const gfloat * vector, guint length)
{
  GstSibvadSemanticMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (vector != NULL || length == 0, NULL);
  m = (GstSibvadSemanticMeta *) gst_buffer_add_meta (buffer, GST_SIBVAD_SEMANTIC_META_INFO, NULL);
  if (!m)
    return NULL;
  m->vector = length ? g_memdup2 (vector, sizeof (gfloat) * length) : NULL;
  m->length = length;
  return m;
}

/* ---- GstSibvadCaptionMeta ---- */

GType
gst_sibvad_caption_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstSibvadCaptionMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_sibvad_caption_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstSibvadCaptionMeta *m = (GstSibvadCaptionMeta *) meta;

  m->caption = NULL;
  return TRUE;
}

static void
gst_sibvad_caption_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstSibvadCaptionMeta *m = (GstSibvadCaptionMeta *) meta;

  g_clear_pointer (&m->caption, g_free);
}

static gboolean
gst_sibvad_caption_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer, GQuark type,
    gpointer data)
{
  GstSibvadCaptionMeta *src = (GstSibvadCaptionMeta *) meta;

  /* a caption describes the whole frame: keep it (a copy of the string)
   * through copies and any video transform */
  return gst_buffer_add_sibvad_caption_meta (dest, src->caption) != NULL;
}

const GstMetaInfo *
gst_sibvad_caption_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_SIBVAD_CAPTION_META_API_TYPE, "GstSibvadCaptionMeta",
        sizeof (GstSibvadCaptionMeta), gst_sibvad_caption_meta_init, gst_sibvad_caption_meta_free,
        gst_sibvad_caption_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstSibvadCaptionMeta *
gst_buffer_add_sibvad_caption_meta (GstBuffer * buffer, const gchar * caption)
{
  GstSibvadCaptionMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  m = (GstSibvadCaptionMeta *) gst_buffer_add_meta (buffer, GST_SIBVAD_CAPTION_META_INFO, NULL);
  if (!m)
    return NULL;
  m->caption = g_strdup (caption);
  return m;
}

/* ---- the GstCustomMeta mirror ---- */

void
gst_sibvad_custom_meta_register (void)
{
  static gsize done = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR, NULL };

  if (g_once_init_enter (&done)) {
    gst_meta_register_custom (GST_SIBVAD_CUSTOM_META_NAME, tags, NULL, NULL, NULL);
    g_once_init_leave (&done, 1);
  }
}

gboolean
gst_buffer_add_sibvad_custom_meta (GstBuffer * buffer, const GstSibvadMeta * meta)
{
  GstCustomMeta *cm;
  GstStructure *s;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), FALSE);
  g_return_val_if_fail (meta != NULL, FALSE);
  gst_sibvad_custom_meta_register ();
  cm = gst_buffer_get_custom_meta (buffer, GST_SIBVAD_CUSTOM_META_NAME);
  if (!cm)
    cm = gst_buffer_add_custom_meta (buffer, GST_SIBVAD_CUSTOM_META_NAME);
  if (!cm)
    return FALSE;
  s = gst_custom_meta_get_structure (cm);
  gst_structure_set_name (s, "sibvad");
  gst_structure_set (s,
      "frame", G_TYPE_UINT64, meta->frame_number,
      "warming-up", G_TYPE_BOOLEAN, meta->warming_up,
      "fresh", G_TYPE_BOOLEAN, meta->fresh,
      "anomaly", G_TYPE_BOOLEAN, meta->anomaly,
      "score", G_TYPE_DOUBLE, (gdouble) meta->score,
      "raw-score", G_TYPE_DOUBLE, (gdouble) meta->raw_score,
      "visual-error", G_TYPE_DOUBLE, (gdouble) meta->visual_error,
      "semantic-error", G_TYPE_DOUBLE, (gdouble) meta->semantic_error,
      "threshold", G_TYPE_DOUBLE, (gdouble) meta->threshold, NULL);
  return TRUE;
}
