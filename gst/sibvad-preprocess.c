/* sibvad-preprocess.c: any raw video frame to the model's input, exactly as
 * the dataset reader gets it. The reader (tools/common/video-reader.c) runs
 * `videoconvert ! videoscale method=catrom add-borders=false !
 * video/x-raw,format=RGB|GRAY8,width=W,height=H`: videoconvert changes the
 * format at the frame's own size and videoscale (which cannot change formats)
 * scales the result. Both are GstVideoConvertScale elements that drive a
 * GstVideoConverter; here two converters get the same video infos and the
 * same configuration as those two elements with their default properties
 * (and videoscale's method=catrom), so the bytes are the same. */
#include "sibvad-preprocess.h"

#include <string.h>

struct _GstSibvadPreprocess
{
  GstVideoInfo in_info, mid_info, out_info;
  GstVideoConverter *convert;   /* in -> mid (videoconvert); NULL: no change */
  GstVideoConverter *scale;     /* mid -> out (videoscale), NULL: same size */
  guint8 *mid_data, *out_data;
  GstBuffer *mid_buf, *out_buf;
};

/* The GstVideoConverter configuration GstVideoConvertScale builds in its
 * set_info from its default properties; @catrom: videoscale method=catrom,
 * else videoconvert's default method (bilinear). add-borders=false: the
 * destination rectangle is the whole output. */
static GstStructure *
converter_config (gboolean catrom, const GstVideoInfo * out_info)
{
  GstStructure *s = gst_structure_new_empty ("GstSibvadPreprocess");

  if (catrom)
    gst_structure_set (s,
        GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD,
        GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_CUBIC,
        GST_VIDEO_RESAMPLER_OPT_CUBIC_B, G_TYPE_DOUBLE, (gdouble) 0.0,
        GST_VIDEO_RESAMPLER_OPT_CUBIC_C, G_TYPE_DOUBLE, (gdouble) 0.5, NULL);
  else
    gst_structure_set (s,
        GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD,
        GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_LINEAR,
        GST_VIDEO_RESAMPLER_OPT_MAX_TAPS, G_TYPE_INT, 2, NULL);

  gst_structure_set (s,
      GST_VIDEO_RESAMPLER_OPT_ENVELOPE, G_TYPE_DOUBLE, (gdouble) 2.0,
      GST_VIDEO_RESAMPLER_OPT_SHARPNESS, G_TYPE_DOUBLE, (gdouble) 1.0,
      GST_VIDEO_RESAMPLER_OPT_SHARPEN, G_TYPE_DOUBLE, (gdouble) 0.0,
      GST_VIDEO_CONVERTER_OPT_DEST_X, G_TYPE_INT, 0,
      GST_VIDEO_CONVERTER_OPT_DEST_Y, G_TYPE_INT, 0,
      GST_VIDEO_CONVERTER_OPT_DEST_WIDTH, G_TYPE_INT,
      GST_VIDEO_INFO_WIDTH (out_info),
      GST_VIDEO_CONVERTER_OPT_DEST_HEIGHT, G_TYPE_INT,
      GST_VIDEO_INFO_HEIGHT (out_info),
      GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
      GST_VIDEO_DITHER_BAYER,
      GST_VIDEO_CONVERTER_OPT_DITHER_QUANTIZATION, G_TYPE_UINT, 1u,
      GST_VIDEO_CONVERTER_OPT_CHROMA_RESAMPLER_METHOD,
      GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_LINEAR,
      GST_VIDEO_CONVERTER_OPT_ALPHA_MODE, GST_TYPE_VIDEO_ALPHA_MODE,
      GST_VIDEO_ALPHA_MODE_COPY,
      GST_VIDEO_CONVERTER_OPT_ALPHA_VALUE, G_TYPE_DOUBLE, (gdouble) 1.0,
      GST_VIDEO_CONVERTER_OPT_CHROMA_MODE, GST_TYPE_VIDEO_CHROMA_MODE,
      GST_VIDEO_CHROMA_MODE_FULL,
      GST_VIDEO_CONVERTER_OPT_MATRIX_MODE, GST_TYPE_VIDEO_MATRIX_MODE,
      GST_VIDEO_MATRIX_MODE_FULL,
      GST_VIDEO_CONVERTER_OPT_GAMMA_MODE, GST_TYPE_VIDEO_GAMMA_MODE,
      GST_VIDEO_GAMMA_MODE_NONE,
      GST_VIDEO_CONVERTER_OPT_PRIMARIES_MODE, GST_TYPE_VIDEO_PRIMARIES_MODE,
      GST_VIDEO_PRIMARIES_MODE_NONE,
      GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1u, NULL);
  return s;
}

/* A buffer over memory we own, so that the converted pixels stay readable
 * after the frame is unmapped; NULL when @size is 0 or cannot be allocated
 * (a frame size no conversion can hold). */
static GstBuffer *
wrap (guint8 ** data, gsize size)
{
  *data = size ? g_try_malloc0 (size) : NULL;
  if (!*data)
    return NULL;
  return gst_buffer_new_wrapped_full (0, *data, size, 0, size, NULL, NULL);
}

GstSibvadPreprocess *
gst_sibvad_preprocess_new (const GstCaps * in_caps,
    const GstVideoInfo * in_info, gint width, gint height, gint channels)
{
  GstSibvadPreprocess *pp;
  const GstStructure *st;
  GstVideoFormat fmt = channels == 1 ? GST_VIDEO_FORMAT_GRAY8 :
      GST_VIDEO_FORMAT_RGB;

  g_return_val_if_fail (in_info != NULL, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (channels == 1 || channels == 3, NULL);

  pp = g_new0 (GstSibvadPreprocess, 1);
  pp->in_info = *in_info;

  /* videoconvert's output: the target format at the input's size, pixel
   * aspect ratio, frame rate and interlacing. Colorimetry as videoconvert
   * negotiates it: stated colorimetry passes intact between formats of one
   * colour model; across models only primaries and transfer carry over
   * (which the converter ignores: gamma-mode and primaries-mode are none);
   * otherwise the format's default. */
  /* (fails when the frame is too large for an RGB copy: sizes past 4 GiB) */
  if (!gst_video_info_set_interlaced_format (&pp->mid_info, fmt,
          GST_VIDEO_INFO_INTERLACE_MODE (in_info),
          GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info)))
    goto fail;
  pp->mid_info.par_n = in_info->par_n;
  pp->mid_info.par_d = in_info->par_d;
  pp->mid_info.fps_n = in_info->fps_n;
  pp->mid_info.fps_d = in_info->fps_d;
  st = in_caps && gst_caps_get_size (in_caps) ?
      gst_caps_get_structure (in_caps, 0) : NULL;
  if (st && gst_structure_has_field (st, "colorimetry")) {
    if ((GST_VIDEO_INFO_IS_RGB (in_info)
            && GST_VIDEO_INFO_IS_RGB (&pp->mid_info))
        || (GST_VIDEO_INFO_IS_GRAY (in_info)
            && GST_VIDEO_INFO_IS_GRAY (&pp->mid_info))) {
      pp->mid_info.colorimetry = in_info->colorimetry;
    } else {
      pp->mid_info.colorimetry.primaries = in_info->colorimetry.primaries;
      pp->mid_info.colorimetry.transfer = in_info->colorimetry.transfer;
    }
  }

  /* videoscale's output: the same format and colorimetry at the model's size */
  if (!gst_video_info_set_interlaced_format (&pp->out_info, fmt,
          GST_VIDEO_INFO_INTERLACE_MODE (in_info), width, height))
    goto fail;
  pp->out_info.fps_n = in_info->fps_n;
  pp->out_info.fps_d = in_info->fps_d;
  pp->out_info.colorimetry = pp->mid_info.colorimetry;
  pp->out_info.chroma_site = pp->mid_info.chroma_site;

  /* videoconvert is in passthrough when the format is already right;
   * videoscale when the size is */
  if (GST_VIDEO_INFO_FORMAT (in_info) != fmt) {
    pp->convert = gst_video_converter_new ((GstVideoInfo *) in_info,
        &pp->mid_info, converter_config (FALSE, &pp->mid_info));
    if (!pp->convert)
      goto fail;
    pp->mid_buf = wrap (&pp->mid_data, GST_VIDEO_INFO_SIZE (&pp->mid_info));
    if (!pp->mid_buf)
      goto fail;
  }
  if (GST_VIDEO_INFO_WIDTH (in_info) != width
      || GST_VIDEO_INFO_HEIGHT (in_info) != height) {
    GstVideoInfo *from = pp->convert ? &pp->mid_info : &pp->in_info;

    pp->scale = gst_video_converter_new (from, &pp->out_info,
        converter_config (TRUE, &pp->out_info));
    if (!pp->scale)
      goto fail;
    pp->out_buf = wrap (&pp->out_data, GST_VIDEO_INFO_SIZE (&pp->out_info));
    if (!pp->out_buf)
      goto fail;
  }
  return pp;

fail:
  gst_sibvad_preprocess_free (pp);
  return NULL;
}

void
gst_sibvad_preprocess_free (GstSibvadPreprocess * pp)
{
  if (!pp)
    return;
  if (pp->convert)
    gst_video_converter_free (pp->convert);
  if (pp->scale)
    gst_video_converter_free (pp->scale);
  gst_clear_buffer (&pp->mid_buf);
  gst_clear_buffer (&pp->out_buf);
  g_free (pp->mid_data);
  g_free (pp->out_data);
  g_free (pp);
}

gboolean
gst_sibvad_preprocess_frame (GstSibvadPreprocess * pp,
    const GstVideoFrame * frame, const guint8 ** pixels, gsize * stride)
{
  GstVideoFrame mid, out;
  const GstVideoFrame *src = frame;
  gboolean mid_mapped = FALSE;

  g_return_val_if_fail (pp != NULL && frame != NULL, FALSE);
  g_return_val_if_fail (pixels != NULL && stride != NULL, FALSE);

  if (GST_VIDEO_FRAME_FORMAT (frame) != GST_VIDEO_INFO_FORMAT (&pp->in_info)
      || GST_VIDEO_FRAME_WIDTH (frame) != GST_VIDEO_INFO_WIDTH (&pp->in_info)
      || GST_VIDEO_FRAME_HEIGHT (frame) != GST_VIDEO_INFO_HEIGHT (&pp->in_info))
    return FALSE;

  if (pp->convert) {
    if (!gst_video_frame_map (&mid, &pp->mid_info, pp->mid_buf,
            GST_MAP_READWRITE))
      return FALSE;
    gst_video_converter_frame (pp->convert, frame, &mid);
    src = &mid;
    mid_mapped = TRUE;
  }

  if (pp->scale) {
    if (!gst_video_frame_map (&out, &pp->out_info, pp->out_buf,
            GST_MAP_WRITE)) {
      if (mid_mapped)
        gst_video_frame_unmap (&mid);
      return FALSE;
    }
    gst_video_converter_frame (pp->scale, src, &out);
    gst_video_frame_unmap (&out);
    *pixels = pp->out_data + GST_VIDEO_INFO_PLANE_OFFSET (&pp->out_info, 0);
    *stride = GST_VIDEO_INFO_PLANE_STRIDE (&pp->out_info, 0);
  } else if (pp->convert) {
    *pixels = pp->mid_data + GST_VIDEO_INFO_PLANE_OFFSET (&pp->mid_info, 0);
    *stride = GST_VIDEO_INFO_PLANE_STRIDE (&pp->mid_info, 0);
  } else {
    /* the frame is already the model input: read it in place */
    *pixels = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    *stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  }
  if (mid_mapped)
    gst_video_frame_unmap (&mid);
  return TRUE;
}

const GstVideoInfo *
gst_sibvad_preprocess_mid_info (const GstSibvadPreprocess * pp)
{
  return &pp->mid_info;
}

const GstVideoInfo *
gst_sibvad_preprocess_out_info (const GstSibvadPreprocess * pp)
{
  return &pp->out_info;
}
