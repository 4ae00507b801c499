/* test_preprocess.c: gst/sibvad-preprocess.c gives the same bytes as the
 * dataset reader's conversion, a real `appsrc ! videoconvert ! videoscale
 * method=catrom add-borders=false ! video/x-raw,format=RGB|GRAY8,width=W,
 * height=H ! appsink` pipeline (tools/common/video-reader.c), for every
 * format sibvadfilter accepts, several frame sizes (odd ones, the Ped2 size
 * 360x240 -> 240x160, upscaling, no scaling), both output formats (RGB for
 * 3-channel models, GRAY8 for 1-channel ones) and caps with and without a
 * stated colorimetry. */
#include <gst/check/gstcheck.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

/* the code under test, built into this program */
#include "sibvad-preprocess.c"

static const gchar *formats[] = {
  "GRAY8", "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "I420", "NV12"
};

typedef struct
{
  gint in_w, in_h, out_w, out_h;
} Size;

static const Size sizes[] = {
  {360, 240, 240, 160},         /* Ped2 to the ped2-lite model */
  {361, 241, 240, 160},         /* odd sizes */
  {240, 160, 240, 160},         /* no scaling */
  {97, 61, 240, 160},           /* upscaling, odd */
  {640, 480, 32, 24},           /* strong downscaling (the tiny preset) */
};

#define FRAMES 3

/* Frames with smooth content, edges and noise, so that every tap of the
 * filters matters: random bytes over a moving gradient, per plane. */
static GstBuffer *
make_frame (const GstVideoInfo * info, guint idx, GRand * rand)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info),
      NULL);
  GstVideoFrame f;
  guint p, x, y;

  fail_unless (gst_video_frame_map (&f, (GstVideoInfo *) info, buf,
          GST_MAP_WRITE));
  for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (&f); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (&f, p);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (&f, p);
    guint rows = GST_VIDEO_FRAME_COMP_HEIGHT (&f, p == 0 ? 0 : 1);
    guint bytes = (guint) ABS (stride);

    for (y = 0; y < rows; y++)
      for (x = 0; x < bytes; x++) {
        guint v = (x * 3 + y * 2 + idx * 17 + p * 50) % 256;

        if (g_rand_int_range (rand, 0, 4) == 0)
          v = g_rand_int_range (rand, 0, 256);
        else if ((x / 16 + y / 16) % 2)
          v = 255 - v;
        d[(gsize) y * stride + x] = (guint8) v;
      }
  }
  gst_video_frame_unmap (&f);
  GST_BUFFER_PTS (buf) = idx * 40 * GST_MSECOND;
  GST_BUFFER_DURATION (buf) = 40 * GST_MSECOND;
  return buf;
}

/* The reference: the dataset reader's elements, in a real pipeline. */
static GList *
reference_frames (GstCaps * in_caps, GstBuffer ** in, guint n, gint out_w,
    gint out_h, const gchar * out_fmt)
{
  GError *err = NULL;
  GstElement *pipe, *src, *scale, *filter, *sink;
  GstCaps *out_caps;
  GList *samples = NULL;
  guint i;

  pipe = gst_parse_launch ("appsrc name=src format=time ! videoconvert ! "
      "videoscale name=scale ! capsfilter name=filter ! "
      "appsink name=sink sync=false", &err);
  fail_unless (pipe != NULL, "pipeline: %s", err ? err->message : "?");
  src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  scale = gst_bin_get_by_name (GST_BIN (pipe), "scale");
  filter = gst_bin_get_by_name (GST_BIN (pipe), "filter");
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  /* as tools/common/video-reader.c sets them */
  g_object_set (scale, "method", 8 /* catrom */ , "add-borders", FALSE, NULL);
  out_caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      out_fmt, "width", G_TYPE_INT, out_w, "height", G_TYPE_INT, out_h, NULL);
  g_object_set (filter, "caps", out_caps, NULL);
  gst_caps_unref (out_caps);
  g_object_set (src, "caps", in_caps, NULL);

  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  for (i = 0; i < n; i++)
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (src),
            gst_buffer_ref (in[i])), GST_FLOW_OK);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  for (i = 0; i < n; i++) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        30 * GST_SECOND);

    if (!s) {
      GstBus *bus = gst_element_get_bus (pipe);
      GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      if (m) {
        gst_message_parse_error (m, &err, NULL);
        fail ("reference pipeline: %s", err->message);
      }
      fail ("reference pipeline gave %u of %u frames", i, n);
    }
    samples = g_list_append (samples, s);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (scale);
  gst_object_unref (filter);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  return samples;
}

/* Compare one configuration; returns the number of differing bytes. */
static guint64
compare (const gchar * caps_str, gint out_w, gint out_h, gint channels,
    GRand * rand)
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstVideoInfo info;
  GstBuffer *in[FRAMES];
  GList *ref, *l;
  GstSibvadPreprocess *pp;
  guint i;
  guint64 diff = 0;
  gint maxdiff = 0;
  const gsize row = (gsize) out_w * channels;

  fail_unless (caps != NULL);
  fail_unless (gst_video_info_from_caps (&info, caps));
  for (i = 0; i < FRAMES; i++)
    in[i] = make_frame (&info, i, rand);
  ref = reference_frames (caps, in, FRAMES, out_w, out_h,
      channels == 1 ? "GRAY8" : "RGB");

  pp = gst_sibvad_preprocess_new (caps, &info, out_w, out_h, channels);
  fail_unless (pp != NULL, "no converter for %s", caps_str);
  for (i = 0, l = ref; i < FRAMES; i++, l = l->next) {
    GstSample *s = l->data;
    GstVideoInfo rinfo;
    GstVideoFrame rf, f;
    const guint8 *pixels;
    gsize stride;
    gint y;
    gsize x;

    fail_unless (gst_video_info_from_caps (&rinfo, gst_sample_get_caps (s)));
    fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&rinfo), out_w);
    fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&rinfo), out_h);
    fail_unless (gst_video_frame_map (&rf, &rinfo, gst_sample_get_buffer (s),
            GST_MAP_READ));
    fail_unless (gst_video_frame_map (&f, &info, in[i], GST_MAP_READ));
    fail_unless (gst_sibvad_preprocess_frame (pp, &f, &pixels, &stride));
    fail_unless (stride >= row);
    for (y = 0; y < out_h; y++) {
      const guint8 *a = pixels + (gsize) y * stride;
      const guint8 *b = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&rf, 0) +
          (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&rf, 0);

      if (memcmp (a, b, row) == 0)
        continue;
      for (x = 0; x < row; x++)
        if (a[x] != b[x]) {
          diff++;
          maxdiff = MAX (maxdiff, ABS ((gint) a[x] - (gint) b[x]));
        }
    }
    gst_video_frame_unmap (&f);
    gst_video_frame_unmap (&rf);
  }
  GST_INFO ("%s -> %dx%d %s: %" G_GUINT64_FORMAT " bytes differ (max %d)",
      caps_str, out_w, out_h, channels == 1 ? "GRAY8" : "RGB", diff, maxdiff);
  if (diff)
    g_printerr ("%s -> %dx%d %s: %" G_GUINT64_FORMAT " bytes differ (max %d)\n",
        caps_str, out_w, out_h, channels == 1 ? "GRAY8" : "RGB", diff,
        maxdiff);

  gst_sibvad_preprocess_free (pp);
  g_list_free_full (ref, (GDestroyNotify) gst_sample_unref);
  for (i = 0; i < FRAMES; i++)
    gst_buffer_unref (in[i]);
  gst_caps_unref (caps);
  return diff;
}

static void
run_all (gint channels)
{
  GRand *rand = g_rand_new_with_seed (1234);
  guint f, s, cases = 0, bad = 0;

  for (f = 0; f < G_N_ELEMENTS (formats); f++)
    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,"
          "height=%d,framerate=25/1", formats[f], sizes[s].in_w,
          sizes[s].in_h);

      if (compare (caps, sizes[s].out_w, sizes[s].out_h, channels, rand))
        bad++;
      cases++;
      g_free (caps);
    }
  g_print ("%u of %u format/size cases byte-identical to videoconvert ! "
      "videoscale method=catrom (%s output)\n", cases - bad, cases,
      channels == 1 ? "GRAY8" : "RGB");
  fail_unless_equals_int (bad, 0);
  g_rand_free (rand);
}

GST_START_TEST (test_rgb_all_formats_and_sizes)
{
  run_all (3);
}

GST_END_TEST;

GST_START_TEST (test_gray_all_formats_and_sizes)
{
  run_all (1);
}

GST_END_TEST;

/* Streams that state their colorimetry (as decoders do): it passes to the
 * converter like videoconvert passes it on. */
GST_START_TEST (test_stated_colorimetry)
{
  static const gchar *caps[] = {
    "video/x-raw,format=I420,width=360,height=240,framerate=25/1,"
        "colorimetry=bt709,chroma-site=mpeg2",
    "video/x-raw,format=I420,width=361,height=241,framerate=25/1,"
        "colorimetry=bt601",
    "video/x-raw,format=NV12,width=360,height=240,framerate=25/1,"
        "colorimetry=1:4:0:0",
    "video/x-raw,format=NV12,width=1280,height=720,framerate=25/1,"
        "colorimetry=bt709,chroma-site=jpeg",
    "video/x-raw,format=RGBA,width=360,height=240,framerate=25/1,"
        "colorimetry=sRGB",
    "video/x-raw,format=BGRx,width=361,height=241,framerate=25/1,"
        "colorimetry=1:1:5:4",
    "video/x-raw,format=GRAY8,width=360,height=240,framerate=25/1,"
        "colorimetry=1:4:0:0",
    "video/x-raw,format=I420,width=360,height=240,framerate=25/1,"
        "pixel-aspect-ratio=16/15",
  };
  GRand *rand = g_rand_new_with_seed (99);
  guint i, bad = 0;

  for (i = 0; i < G_N_ELEMENTS (caps); i++) {
    if (compare (caps[i], 240, 160, 3, rand))
      bad++;
    if (compare (caps[i], 240, 160, 1, rand))
      bad++;
  }
  fail_unless_equals_int (bad, 0);
  g_rand_free (rand);
}

GST_END_TEST;

/* An input already at the model's size and format is read in place. */
GST_START_TEST (test_in_place)
{
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=RGB,width=240,"
      "height=160,framerate=25/1");
  GstVideoInfo info;
  GstSibvadPreprocess *pp;
  GRand *rand = g_rand_new_with_seed (5);
  GstBuffer *b;
  GstVideoFrame f;
  const guint8 *pixels;
  gsize stride;

  fail_unless (gst_video_info_from_caps (&info, caps));
  pp = gst_sibvad_preprocess_new (caps, &info, 240, 160, 3);
  fail_unless (pp != NULL);
  b = make_frame (&info, 0, rand);
  fail_unless (gst_video_frame_map (&f, &info, b, GST_MAP_READ));
  fail_unless (gst_sibvad_preprocess_frame (pp, &f, &pixels, &stride));
  fail_unless (pixels == GST_VIDEO_FRAME_PLANE_DATA (&f, 0));
  fail_unless_equals_int (stride, GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0));
  gst_video_frame_unmap (&f);
  gst_buffer_unref (b);
  gst_sibvad_preprocess_free (pp);
  gst_caps_unref (caps);
  g_rand_free (rand);
}

GST_END_TEST;

static Suite *
preprocess_suite (void)
{
  Suite *s = suite_create ("sibvad-preprocess");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_rgb_all_formats_and_sizes);
  tcase_add_test (tc, test_gray_all_formats_and_sizes);
  tcase_add_test (tc, test_stated_colorimetry);
  tcase_add_test (tc, test_in_place);
  return s;
}

GST_CHECK_MAIN (preprocess);
