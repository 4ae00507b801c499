/* sibvad-preprocess.h: any raw video frame to the model's input, exactly as
 * the dataset reader (tools/common/video-reader.c) gets the same frame from
 * `videoconvert ! videoscale method=catrom add-borders=false !
 * video/x-raw,format=RGB|GRAY8,width=W,height=H`. */
#ifndef __GST_SIBVAD_PREPROCESS_H__
#define __GST_SIBVAD_PREPROCESS_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef struct _GstSibvadPreprocess GstSibvadPreprocess;

/* A converter from frames of @in_info (read from caps @in_caps, which tell
 * whether the stream states its colorimetry) to @width x @height RGB
 * (@channels 3) or GRAY8 (@channels 1). NULL when GStreamer cannot convert,
 * or the frame is too large to convert (an RGB copy past 4 GiB, or memory
 * that cannot be had). */
GstSibvadPreprocess *gst_sibvad_preprocess_new (const GstCaps * in_caps,
    const GstVideoInfo * in_info, gint width, gint height, gint channels);
void gst_sibvad_preprocess_free (GstSibvadPreprocess * pp);

/* Convert @frame; on success *pixels points to the packed 8-bit result (rows
 * of *stride bytes, valid until the next call) and TRUE is returned. */
gboolean gst_sibvad_preprocess_frame (GstSibvadPreprocess * pp,
    const GstVideoFrame * frame, const guint8 ** pixels, gsize * stride);

/* The video info of the intermediate frame (the frame's own size, RGB or
 * GRAY8) and of the result, for tests. */
const GstVideoInfo *gst_sibvad_preprocess_mid_info (const GstSibvadPreprocess *
    pp);
const GstVideoInfo *gst_sibvad_preprocess_out_info (const GstSibvadPreprocess *
    pp);

G_END_DECLS

#endif
