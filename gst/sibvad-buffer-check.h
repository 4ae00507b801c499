/* sibvad-buffer-check.h: does a buffer hold the whole video frame its caps
 * describe? gst_video_frame_map checks the size of a buffer without a
 * GstVideoMeta (and GstVideoFilter then only warns and lets the buffer
 * through unprocessed), but it trusts the offsets and strides of a
 * GstVideoMeta: a meta whose planes reach past the memory makes every
 * reader of the frame read (and an in-place writer write) out of bounds,
 * and a meta of another format or plane count is a g_return_if_fail. Both
 * elements call this before mapping a frame and fail with a clear
 * GST_ELEMENT_ERROR instead. */
#ifndef __GST_SIBVAD_BUFFER_CHECK_H__
#define __GST_SIBVAD_BUFFER_CHECK_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* TRUE when @buf holds a whole frame of @info: without a GstVideoMeta, at
 * least the caps' frame size in bytes; with one, a meta of the caps' format,
 * plane count and (at least) size whose every plane (offset, stride, rows)
 * lies inside the memory that holds its first byte (that is all
 * gst_video_meta_map maps). Else FALSE and a reason in *why (g_free it). */
static inline gboolean
gst_sibvad_buffer_check (const GstVideoInfo * info, GstBuffer * buf,
    gchar ** why)
{
  gsize size = gst_buffer_get_size (buf);
  GstVideoMeta *vm = gst_buffer_get_video_meta (buf);
  const GstVideoFormatInfo *finfo = info->finfo;
  guint p;

  if (!vm) {
    if (size < GST_VIDEO_INFO_SIZE (info)) {
      *why = g_strdup_printf ("the buffer holds %" G_GSIZE_FORMAT " bytes "
          "but a %s %dx%d frame needs %" G_GSIZE_FORMAT,
          size, GST_VIDEO_INFO_NAME (info), GST_VIDEO_INFO_WIDTH (info),
          GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_SIZE (info));
      return FALSE;
    }
    return TRUE;
  }

  if (vm->format != GST_VIDEO_INFO_FORMAT (info)
      || vm->n_planes != GST_VIDEO_INFO_N_PLANES (info)
      || vm->width < (guint) GST_VIDEO_INFO_WIDTH (info)
      || vm->height < (guint) GST_VIDEO_INFO_HEIGHT (info)) {
    *why = g_strdup_printf ("its video meta (%s %ux%u, %u planes) does not "
        "match the caps (%s %dx%d, %u planes)",
        gst_video_format_to_string (vm->format), vm->width, vm->height,
        vm->n_planes, GST_VIDEO_INFO_NAME (info), GST_VIDEO_INFO_WIDTH (info),
        GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_N_PLANES (info));
    return FALSE;
  }
  for (p = 0; p < vm->n_planes; p++) {
    gint comp[GST_VIDEO_MAX_COMPONENTS];
    guint idx, len;
    gsize skip, avail = 0;
    guint64 row_bytes, rows, need;
    guint m;

    gst_video_format_info_component (finfo, p, comp);
    if (comp[0] < 0)
      continue;
    row_bytes = (guint64) GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, comp[0],
        vm->width) * GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, comp[0]);
    rows = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, comp[0], vm->height);
    if (vm->stride[p] < 0 || (guint64) vm->stride[p] < row_bytes) {
      *why = g_strdup_printf ("plane %u of its video meta has a stride of %d "
          "bytes, less than a row (%" G_GUINT64_FORMAT ")", p, vm->stride[p],
          row_bytes);
      return FALSE;
    }
    need = (guint64) vm->stride[p] * (rows - 1) + row_bytes;
    if (vm->offset[p] >= size
        || !gst_buffer_find_memory (buf, vm->offset[p], 1, &idx, &len, &skip)) {
      *why = g_strdup_printf ("plane %u of its video meta starts at byte %"
          G_GSIZE_FORMAT ", outside the buffer's %" G_GSIZE_FORMAT " bytes", p,
          vm->offset[p], size);
      return FALSE;
    }
    for (m = idx; m < idx + len; m++)
      avail += gst_memory_get_sizes (gst_buffer_peek_memory (buf, m), NULL,
          NULL);
    if (skip + need > avail) {
      *why = g_strdup_printf ("plane %u of its video meta (offset %"
          G_GSIZE_FORMAT ", stride %d, %" G_GUINT64_FORMAT " rows) needs %"
          G_GUINT64_FORMAT " bytes but its memory holds %" G_GSIZE_FORMAT
          " from there", p, vm->offset[p], vm->stride[p], rows, need,
          avail - skip);
      return FALSE;
    }
  }
  return TRUE;
}

/* What both elements do with an input buffer before GstVideoFilter maps it:
 * GST_FLOW_OK when @buf holds a whole frame of the negotiated format, else
 * a GST_ELEMENT_ERROR posted by @filter and the flow to return (no caps yet:
 * not-negotiated; a buffer that fails gst_sibvad_buffer_check: error). */
static inline GstFlowReturn
gst_sibvad_buffer_check_input (GstVideoFilter * filter, GstBuffer * buf)
{
  gchar *why = NULL;

  if (!filter->negotiated) {
    GST_ELEMENT_ERROR (filter, CORE, NEGOTIATION,
        ("No video format: a buffer arrived before any caps"),
        ("buffer %" GST_PTR_FORMAT, buf));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!gst_sibvad_buffer_check (&filter->in_info, buf, &why)) {
    GST_ELEMENT_ERROR (filter, STREAM, FORMAT,
        ("Invalid video buffer: %s", why), ("buffer %" GST_PTR_FORMAT, buf));
    g_free (why);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

G_END_DECLS

#endif
