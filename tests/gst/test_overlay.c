/* test_overlay.c: sibvadoverlay under GstHarness: frames without a meta pass
 * unchanged, the heat map lands where the map is hot and nowhere else, the
 * score bar and history are drawn, every format and odd sizes work, caps
 * renegotiate, properties round-trip; the per-frame time at 360x240. With
 * SIBVAD_OVERLAY_PNG=FILE it also writes an example frame as PNG. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gst/sibvad/sibvad-meta.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include "sibvad-overlay-layout.h"

static const gchar *all_formats[] = {
  "GRAY8", "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "I420", "NV12"
};

static const gchar *rgb_formats[] = {
  "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"
};

/* the colours the element draws (sRGB) */
static const guint8 inferno_top[3] = { 252, 255, 164 };
static const guint8 inferno_mid[3] = { 188, 55, 84 };   /* inferno[128] */
static const guint8 curve_blue[3] = { 90, 200, 255 };
static const guint8 alarm_red[3] = { 230, 30, 30 };

static gchar *
caps_str (const gchar * format, gint w, gint h)
{
  return g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=25/1", format, w, h);
}

static GstHarness *
new_overlay (const gchar * format, gint w, gint h, GstVideoInfo * info)
{
  GstHarness *hr = gst_harness_new ("sibvadoverlay");
  gchar *s = caps_str (format, w, h);
  GstCaps *caps = gst_caps_from_string (s);

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_harness_set_src_caps (hr, caps);
  g_free (s);
  return hr;
}

static void
set_caps (GstHarness * hr, const gchar * format, gint w, gint h,
    GstVideoInfo * info)
{
  gchar *s = caps_str (format, w, h);
  GstCaps *caps = gst_caps_from_string (s);

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_harness_set_src_caps (hr, caps);
  g_free (s);
}

/* a frame of mid-range bytes (64..191) with a fine texture */
static GstBuffer *
make_frame (const GstVideoInfo * info, guint seed)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstMapInfo mi;
  gsize i;

  fail_unless (gst_buffer_map (buf, &mi, GST_MAP_WRITE));
  for (i = 0; i < mi.size; i++)
    mi.data[i] = 64 + (guint8) ((i * 37 + (i / 7) * 3 + seed * 11) % 128);
  gst_buffer_unmap (buf, &mi);
  GST_BUFFER_PTS (buf) = seed * GST_SECOND / 25;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 25;
  return buf;
}

typedef enum
{
  MAP_NONE,                     /* no error map */
  MAP_HOT_TOP_LEFT,             /* 1.0 in the top-left quadrant, 0 elsewhere */
  MAP_FLAT,                     /* every value 1.0 */
  MAP_SPOT,                     /* 0.5, one cell of 10.0 at the bottom right */
} MapKind;

static GstBuffer *
make_map (MapKind kind, guint mw, guint mh)
{
  GstBuffer *map = gst_buffer_new_allocate (NULL, mw * mh * sizeof (gfloat),
      NULL);
  GstMapInfo mi;
  guint x, y;

  fail_unless (gst_buffer_map (map, &mi, GST_MAP_WRITE));
  for (y = 0; y < mh; y++)
    for (x = 0; x < mw; x++) {
      gfloat v = 0.0f;

      if (kind == MAP_HOT_TOP_LEFT)
        v = (x < mw / 2 && y < mh / 2) ? 1.0f : 0.0f;
      else if (kind == MAP_FLAT)
        v = 1.0f;
      else if (kind == MAP_SPOT)
        v = (x == mw - 1 && y == mh - 1) ? 10.0f : 0.5f;
      ((gfloat *) mi.data)[y * mw + x] = v;
    }
  gst_buffer_unmap (map, &mi);
  return map;
}

static GstSibvadMeta *
add_meta (GstBuffer * buf, const GstVideoInfo * info, MapKind kind, guint mw,
    guint mh, gfloat score, gfloat threshold, gboolean anomaly)
{
  GstSibvadMeta *m = gst_buffer_add_sibvad_meta (buf);

  fail_unless (m != NULL);
  m->warming_up = FALSE;
  m->fresh = TRUE;
  m->score = m->raw_score = score;
  m->threshold = threshold;
  m->anomaly = anomaly;
  m->frame_width = GST_VIDEO_INFO_WIDTH (info);
  m->frame_height = GST_VIDEO_INFO_HEIGHT (info);
  if (kind != MAP_NONE) {
    m->error_map = make_map (kind, mw, mh);
    m->map_width = mw;
    m->map_height = mh;
  }
  return m;
}

/* push @in (the harness takes it), return the output */
static GstBuffer *
run (GstHarness * hr, GstBuffer * in)
{
  fail_unless_equals_int (gst_harness_push (hr, in), GST_FLOW_OK);
  return gst_harness_pull (hr);
}

static gboolean
bytes_equal (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo ma, mb;
  gboolean eq;

  fail_unless (gst_buffer_map (a, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b, &mb, GST_MAP_READ));
  eq = ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  return eq;
}

/* colour samples (no alpha, no padding) of the frame rectangle
 * [x0, x1) x [y0, y1) that differ between @a and @b; @total: samples seen */
static guint
count_diff (const GstVideoInfo * info, GstBuffer * a, GstBuffer * b,
    gint x0, gint y0, gint x1, gint y1, guint * total)
{
  GstVideoFrame fa, fb;
  guint n = MIN (GST_VIDEO_INFO_N_COMPONENTS (info), 3), c, diff = 0, all = 0;

  fail_unless (gst_video_frame_map (&fa, info, a, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fb, info, b, GST_MAP_READ));
  for (c = 0; c < n; c++) {
    gint ws = GST_VIDEO_FORMAT_INFO_W_SUB (info->finfo, c);
    gint hs = GST_VIDEO_FORMAT_INFO_H_SUB (info->finfo, c);
    gint stride = GST_VIDEO_FRAME_COMP_STRIDE (&fa, c);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&fa, c);
    const guint8 *da = GST_VIDEO_FRAME_COMP_DATA (&fa, c);
    const guint8 *db = GST_VIDEO_FRAME_COMP_DATA (&fb, c);
    gint x, y;

    for (y = y0 >> hs; y < (y1 >> hs); y++)
      for (x = x0 >> ws; x < (x1 >> ws); x++) {
        gsize o = (gsize) y * stride + (gsize) x * ps;

        all++;
        diff += da[o] != db[o];
      }
  }
  gst_video_frame_unmap (&fa);
  gst_video_frame_unmap (&fb);
  if (total)
    *total = all;
  return diff;
}

/* the R, G, B of pixel (x, y) of an RGB-family frame */
static void
get_rgb (const GstVideoInfo * info, GstBuffer * buf, gint x, gint y,
    guint8 rgb[3])
{
  GstVideoFrame f;
  guint c;

  fail_unless (gst_video_frame_map (&f, info, buf, GST_MAP_READ));
  for (c = 0; c < 3; c++)
    rgb[c] = GST_VIDEO_FRAME_COMP_DATA (&f, c)[(gsize) y *
        GST_VIDEO_FRAME_COMP_STRIDE (&f, c) + (gsize) x *
        GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)];
  gst_video_frame_unmap (&f);
}

/* component @c of sample (x, y) of that component's plane */
static guint8
get_comp (const GstVideoInfo * info, GstBuffer * buf, guint c, gint x, gint y)
{
  GstVideoFrame f;
  guint8 v;

  fail_unless (gst_video_frame_map (&f, info, buf, GST_MAP_READ));
  v = GST_VIDEO_FRAME_COMP_DATA (&f, c)[(gsize) y *
      GST_VIDEO_FRAME_COMP_STRIDE (&f, c) + (gsize) x *
      GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)];
  gst_video_frame_unmap (&f);
  return v;
}

static inline guint8
blend8 (guint8 dst, guint8 src, guint w256)
{
  return (guint8) ((dst * (256 - w256) + src * w256 + 128) >> 8);
}

/* pixels of the rectangle whose colour is exactly @rgb */
static guint
count_colour (const GstVideoInfo * info, GstBuffer * buf, gint x0, gint y0,
    gint x1, gint y1, const guint8 rgb[3])
{
  guint n = 0;
  gint x, y;

  for (y = y0; y < y1; y++)
    for (x = x0; x < x1; x++) {
      guint8 p[3];

      get_rgb (info, buf, x, y, p);
      n += p[0] == rgb[0] && p[1] == rgb[1] && p[2] == rgb[2];
    }
  return n;
}

/* ---- tests ---- */

GST_START_TEST (test_no_meta_passthrough)
{
  static const gint sizes[][2] = { {64, 48}, {321, 241} };
  guint f, s;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++)
    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstVideoInfo info;
      GstHarness *hr = new_overlay (all_formats[f], sizes[s][0], sizes[s][1],
          &info);
      GstBuffer *in, *ref, *out;

      /* a buffer without the meta: same buffer (no copy), same bytes; the
       * harness does not own the only reference, so a writable transform
       * would have copied it */
      in = make_frame (&info, 1);
      ref = gst_buffer_copy_deep (in);
      out = run (hr, gst_buffer_ref (in));
      fail_unless (out == in, "%s: the buffer was copied", all_formats[f]);
      fail_unless (bytes_equal (out, ref), "%s %dx%d changed",
          all_formats[f], sizes[s][0], sizes[s][1]);
      gst_buffer_unref (out);
      gst_buffer_unref (in);
      gst_buffer_unref (ref);

      /* a frame with a meta is drawn on, the next one without passes again */
      in = make_frame (&info, 2);
      add_meta (in, &info, MAP_HOT_TOP_LEFT, 16, 12, 1.0f, 3.0f, FALSE);
      ref = gst_buffer_copy_deep (in);
      out = run (hr, in);
      fail_if (bytes_equal (out, ref), "%s: nothing drawn", all_formats[f]);
      gst_buffer_unref (out);
      gst_buffer_unref (ref);

      in = make_frame (&info, 3);
      ref = gst_buffer_copy_deep (in);
      out = run (hr, gst_buffer_ref (in));
      fail_unless (out == in);
      fail_unless (bytes_equal (out, ref));
      gst_buffer_unref (out);
      gst_buffer_unref (in);
      gst_buffer_unref (ref);
      gst_harness_teardown (hr);
    }
}

GST_END_TEST;

GST_START_TEST (test_warming_up_unchanged)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++) {
    GstVideoInfo info;
    GstHarness *hr = new_overlay (all_formats[f], 160, 120, &info);
    GstBuffer *in = make_frame (&info, 4), *ref, *out;
    GstSibvadMeta *m = add_meta (in, &info, MAP_HOT_TOP_LEFT, 16, 12, 0.0f,
        3.0f, FALSE);

    m->warming_up = TRUE;
    ref = gst_buffer_copy_deep (in);
    out = run (hr, in);
    fail_unless (bytes_equal (out, ref), "%s: warming-up frame changed",
        all_formats[f]);
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
    gst_harness_teardown (hr);
  }
}

GST_END_TEST;

GST_START_TEST (test_hot_quadrant)
{
  const gint W = 320, H = 240;
  guint f;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++) {
    GstVideoInfo info;
    GstHarness *hr = new_overlay (all_formats[f], W, H, &info);
    GstBuffer *in = make_frame (&info, 5), *ref, *out;
    guint diff, total;

    add_meta (in, &info, MAP_HOT_TOP_LEFT, 16, 12, 1.0f, 3.0f, FALSE);
    ref = gst_buffer_copy_deep (in);
    out = run (hr, in);

    /* inside the hot quadrant (less a border of a map cell): changed */
    diff = count_diff (&info, ref, out, W / 16, H / 16, 7 * W / 16,
        7 * H / 16, &total);
    fail_unless (diff >= total * 95 / 100, "%s: %u of %u changed in the hot "
        "quadrant", all_formats[f], diff, total);
    /* far from it (top right, away from the bar and the history box): as is */
    diff = count_diff (&info, ref, out, 3 * W / 4, 0, W, H / 4, &total);
    fail_unless_equals_int (diff, 0);
    fail_unless (total > 0);

    /* RGB: the blend is exact, in + 0.5 * (inferno (1) - in) */
    if (GST_VIDEO_INFO_IS_RGB (&info)) {
      guint8 a[3], b[3], c;

      get_rgb (&info, ref, W / 4, H / 4, a);
      get_rgb (&info, out, W / 4, H / 4, b);
      for (c = 0; c < 3; c++)
        fail_unless_equals_int (b[c], blend8 (a[c], inferno_top[c], 128));
    }
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
    gst_harness_teardown (hr);
  }
}

GST_END_TEST;

GST_START_TEST (test_alpha_zero)
{
  const gint W = 320, H = 240;
  guint f;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++) {
    GstVideoInfo info;
    GstHarness *hr = new_overlay (all_formats[f], W, H, &info);
    GstBuffer *in, *ref, *out;
    guint diff;
    GstSibvadOverlayLayout l;

    gst_sibvad_overlay_layout (W, H, &l);
    /* alpha 0, bar and history on: only the bottom strip changes */
    g_object_set (hr->element, "alpha", 0.0, NULL);
    in = make_frame (&info, 6);
    add_meta (in, &info, MAP_FLAT, 16, 12, 1.0f, 3.0f, FALSE);
    ref = gst_buffer_copy_deep (in);
    out = run (hr, in);
    diff = count_diff (&info, ref, out, 0, 0, W, l.box_y - 2, NULL);
    fail_unless_equals_int (diff, 0);
    fail_unless (count_diff (&info, ref, out, 0, l.box_y, W, H, NULL) > 0);
    gst_buffer_unref (out);
    gst_buffer_unref (ref);

    /* and without them: the very same buffer */
    g_object_set (hr->element, "show-score", FALSE, "show-history", FALSE,
        NULL);
    in = make_frame (&info, 7);
    add_meta (in, &info, MAP_FLAT, 16, 12, 1.0f, 3.0f, TRUE);
    ref = gst_buffer_copy_deep (in);
    out = run (hr, gst_buffer_ref (in));
    fail_unless (out == in);
    fail_unless (bytes_equal (out, ref), "%s: alpha=0 changed the image",
        all_formats[f]);
    gst_buffer_unref (out);
    gst_buffer_unref (in);
    gst_buffer_unref (ref);

    /* show-map=false with alpha 1 is the same */
    g_object_set (hr->element, "alpha", 1.0, "show-map", FALSE, NULL);
    in = make_frame (&info, 8);
    add_meta (in, &info, MAP_FLAT, 16, 12, 1.0f, 3.0f, TRUE);
    ref = gst_buffer_copy_deep (in);
    out = run (hr, in);
    fail_unless (bytes_equal (out, ref));
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
    gst_harness_teardown (hr);
  }
}

GST_END_TEST;

/* one frame with @score / @anomaly and no map through a fresh element */
static GstBuffer *
bar_frame (const gchar * format, gint W, gint H, gfloat score,
    gboolean anomaly, GstVideoInfo * info, GstBuffer ** ref)
{
  GstHarness *hr = new_overlay (format, W, H, info);
  GstBuffer *in = make_frame (info, 9), *out;

  add_meta (in, info, MAP_NONE, 0, 0, score, 3.0f, anomaly);
  *ref = gst_buffer_copy_deep (in);
  out = run (hr, in);
  gst_harness_teardown (hr);
  return out;
}

GST_START_TEST (test_score_bar)
{
  const gint W = 320, H = 240;
  GstSibvadOverlayLayout l;
  guint f;

  gst_sibvad_overlay_layout (W, H, &l);
  for (f = 0; f < G_N_ELEMENTS (rgb_formats); f++) {
    GstVideoInfo info;
    GstBuffer *ref, *out;
    guint8 p[3];
    gint x, tx, whites = 0;

    /* alarm: red; the axis is 0 .. max (2 * 3, 5) = 6 */
    out = bar_frame (rgb_formats[f], W, H, 5.0f, TRUE, &info, &ref);
    get_rgb (&info, out, l.bar_x + 3, l.bar_y + l.bar_h / 2, p);
    fail_unless (p[0] > 180 && p[1] < 80 && p[2] < 80,
        "%s: bar not red: %u %u %u", rgb_formats[f], p[0], p[1], p[2]);
    /* the fill ends at 5/6 of the bar: past it only the dark background */
    get_rgb (&info, out, l.bar_x + l.bar_w - 3, l.bar_y + l.bar_h / 2, p);
    fail_unless (p[0] < 100, "%s: bar filled past the score", rgb_formats[f]);
    /* the threshold tick (3 of 6: the middle) sticks out above the bar */
    tx = l.bar_x + (gint) lrint (0.5 * (l.bar_w - 1));
    for (x = 0; x < l.box_x; x++) {
      get_rgb (&info, out, x, l.bar_y - 1, p);
      if (p[0] == 255 && p[1] == 255 && p[2] == 255) {
        whites++;
        fail_unless (ABS (x - tx) <= 1, "%s: tick at %d, not %d",
            rgb_formats[f], x, tx);
      }
    }
    fail_unless (whites >= 1, "%s: no threshold tick", rgb_formats[f]);
    /* nothing above the bar and the box */
    fail_unless_equals_int (count_diff (&info, ref, out, 0, 0, W,
            l.box_y - 2, NULL), 0);
    gst_buffer_unref (out);
    gst_buffer_unref (ref);

    /* below the threshold, no alarm: green */
    out = bar_frame (rgb_formats[f], W, H, 1.0f, FALSE, &info, &ref);
    get_rgb (&info, out, l.bar_x + 3, l.bar_y + l.bar_h / 2, p);
    fail_unless (p[1] > 150 && p[0] < 100, "%s: bar not green: %u %u %u",
        rgb_formats[f], p[0], p[1], p[2]);
    gst_buffer_unref (out);
    gst_buffer_unref (ref);

    /* over the threshold, no alarm yet: amber */
    out = bar_frame (rgb_formats[f], W, H, 4.0f, FALSE, &info, &ref);
    get_rgb (&info, out, l.bar_x + 3, l.bar_y + l.bar_h / 2, p);
    fail_unless (p[0] > 200 && p[1] > 120 && p[2] < 60,
        "%s: bar not amber: %u %u %u", rgb_formats[f], p[0], p[1], p[2]);
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
  }

  /* YUV: red is a high V; GRAY8: the bar is there */
  {
    static const gchar *others[] = { "I420", "NV12", "GRAY8" };

    for (f = 0; f < G_N_ELEMENTS (others); f++) {
      GstVideoInfo info;
      GstBuffer *ref, *out;

      out = bar_frame (others[f], W, H, 5.0f, TRUE, &info, &ref);
      fail_unless (count_diff (&info, ref, out, l.bar_x, l.bar_y,
              l.bar_x + l.bar_w, l.bar_y + l.bar_h, NULL) > 0);
      if (GST_VIDEO_INFO_IS_YUV (&info))
        fail_unless (get_comp (&info, out, 2, (l.bar_x + 4) / 2,
                (l.bar_y + l.bar_h / 2) / 2) > 190);
      fail_unless_equals_int (count_diff (&info, ref, out, 0, 0, W,
              l.box_y - 2, NULL), 0);
      gst_buffer_unref (out);
      gst_buffer_unref (ref);
    }
  }
}

GST_END_TEST;

GST_START_TEST (test_history)
{
  const gint W = 320, H = 240;
  GstVideoInfo info;
  GstHarness *hr;
  GstBuffer *in, *ref = NULL, *out = NULL;
  GstSibvadMeta *m;
  GstSibvadOverlayLayout l;
  gint i;

  gst_sibvad_overlay_layout (W, H, &l);
  hr = new_overlay ("RGB", W, H, &info);
  g_object_set (hr->element, "show-map", FALSE, "history", 60, NULL);
  /* a ramp 0 .. 5.9 with an alarm over 4 */
  for (i = 0; i < 60; i++) {
    gst_clear_buffer (&out);
    gst_clear_buffer (&ref);
    in = make_frame (&info, 10 + i);
    add_meta (in, &info, MAP_NONE, 0, 0, i / 10.0f, 3.0f, i / 10.0f > 4.0f);
    ref = gst_buffer_copy_deep (in);
    out = run (hr, in);
  }
  /* the box is drawn (dark background: most pixels change) */
  {
    guint total, diff = count_diff (&info, ref, out, l.box_x, l.box_y,
        l.box_x + l.box_w, l.box_y + l.box_h, &total);

    fail_unless (diff > total * 8 / 10, "%u of %u", diff, total);
  }
  /* the curve: blue before the alarm, red during it, a dashed threshold */
  fail_unless (count_colour (&info, out, l.box_x, l.box_y, l.box_x + l.box_w,
          l.box_y + l.box_h, curve_blue) > 40);
  fail_unless (count_colour (&info, out, l.box_x, l.box_y, l.box_x + l.box_w,
          l.box_y + l.box_h, alarm_red) > 10);
  {
    static const guint8 white[3] = { 255, 255, 255 };

    fail_unless (count_colour (&info, out, l.box_x, l.box_y,
            l.box_x + l.box_w, l.box_y + l.box_h, white) > 10);
  }
  gst_clear_buffer (&out);
  gst_clear_buffer (&ref);

  /* a warming-up frame starts the series again: the alarm is gone */
  in = make_frame (&info, 80);
  m = add_meta (in, &info, MAP_NONE, 0, 0, 0.0f, 3.0f, FALSE);
  m->warming_up = TRUE;
  gst_buffer_unref (run (hr, in));
  in = make_frame (&info, 81);
  add_meta (in, &info, MAP_NONE, 0, 0, 1.0f, 3.0f, FALSE);
  out = run (hr, in);
  fail_unless_equals_int (count_colour (&info, out, l.box_x, l.box_y,
          l.box_x + l.box_w, l.box_y + l.box_h, alarm_red), 0);
  fail_unless (count_colour (&info, out, l.box_x, l.box_y, l.box_x + l.box_w,
          l.box_y + l.box_h, curve_blue) >= 1);
  gst_buffer_unref (out);

  /* show-history=false: the box region stays as it was */
  g_object_set (hr->element, "show-history", FALSE, NULL);
  in = make_frame (&info, 82);
  add_meta (in, &info, MAP_NONE, 0, 0, 5.0f, 3.0f, TRUE);
  ref = gst_buffer_copy_deep (in);
  out = run (hr, in);
  fail_unless_equals_int (count_diff (&info, ref, out, l.box_x, l.box_y,
          l.box_x + l.box_w, l.box_y + l.box_h, NULL), 0);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);

  /* history shorter and much longer than the box is wide, changed on the fly */
  g_object_set (hr->element, "show-history", TRUE, "history", 2, NULL);
  for (i = 0; i < 5; i++) {
    in = make_frame (&info, 90 + i);
    add_meta (in, &info, MAP_NONE, 0, 0, (gfloat) i, 3.0f, FALSE);
    gst_buffer_unref (run (hr, in));
  }
  g_object_set (hr->element, "history", 10000, NULL);
  for (i = 0; i < 300; i++) {
    in = make_frame (&info, 100 + i);
    add_meta (in, &info, MAP_NONE, 0, 0, (gfloat) sin (i * 0.3) * 4.0f, 3.0f,
        i % 50 == 0);
    gst_buffer_unref (run (hr, in));
  }
  gst_harness_teardown (hr);
}

GST_END_TEST;

GST_START_TEST (test_odd_sizes)
{
  static const gint sizes[][2] = {
    {1, 1}, {2, 2}, {3, 5}, {7, 3}, {33, 17}, {321, 241}
  };
  static const guint maps[][2] = { {1, 1}, {16, 12}, {400, 300} };
  guint f, s, m;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++)
    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstVideoInfo info;
      GstHarness *hr = new_overlay (all_formats[f], sizes[s][0], sizes[s][1],
          &info);

      for (m = 0; m < G_N_ELEMENTS (maps); m++) {
        GstBuffer *in = make_frame (&info, 200 + m), *out;

        add_meta (in, &info, MAP_HOT_TOP_LEFT, maps[m][0], maps[m][1],
            4.0f, 3.0f, TRUE);
        out = run (hr, in);
        fail_unless_equals_int (gst_buffer_get_size (out), info.size);
        gst_buffer_unref (out);
      }
      /* a map buffer smaller than its size says: ignored, no crash */
      {
        GstBuffer *in = make_frame (&info, 210), *ref, *out;
        GstSibvadMeta *meta = add_meta (in, &info, MAP_HOT_TOP_LEFT, 4, 4,
            1.0f, 3.0f, FALSE);

        meta->map_width = 400;
        g_object_set (hr->element, "show-score", FALSE, "show-history", FALSE,
            NULL);
        ref = gst_buffer_copy_deep (in);
        out = run (hr, in);
        fail_unless (bytes_equal (out, ref));
        g_object_set (hr->element, "show-score", TRUE, "show-history", TRUE,
            NULL);
        gst_buffer_unref (out);
        gst_buffer_unref (ref);
      }
      gst_harness_teardown (hr);
    }
}

GST_END_TEST;

/* NaN, infinite and negative values in the map and the meta: no crash, and
 * such map values count as no error */
GST_START_TEST (test_bad_values)
{
  static const gchar *formats[] = { "RGB", "I420", "GRAY8" };
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info;
    GstHarness *hr = new_overlay (formats[f], 64, 48, &info);
    gint i;

    for (i = 0; i < 4; i++) {
      GstBuffer *in = make_frame (&info, 600 + i), *ref, *out;
      GstSibvadMeta *m = add_meta (in, &info, MAP_HOT_TOP_LEFT, 4, 4,
          i == 0 ? NAN : (i == 1 ? INFINITY : -1.0f),
          i == 2 ? NAN : (i == 3 ? INFINITY : 3.0f), i & 1);
      GstMapInfo mi;

      fail_unless (gst_buffer_map (m->error_map, &mi, GST_MAP_WRITE));
      /* top right: NaN, +inf, -inf, negative; stays as it is */
      ((gfloat *) mi.data)[2] = NAN;
      ((gfloat *) mi.data)[3] = INFINITY;
      ((gfloat *) mi.data)[6] = -INFINITY;
      ((gfloat *) mi.data)[7] = -5.0f;
      gst_buffer_unmap (m->error_map, &mi);
      ref = gst_buffer_copy_deep (in);
      out = run (hr, in);
      fail_unless_equals_int (count_diff (&info, ref, out, 40, 0, 64, 20,
              NULL), 0);
      gst_buffer_unref (out);
      gst_buffer_unref (ref);
    }
    gst_harness_teardown (hr);
  }
}

GST_END_TEST;

static void
check_hot_cold (const GstVideoInfo * info, GstHarness * hr, guint seed)
{
  gint W = GST_VIDEO_INFO_WIDTH (info), H = GST_VIDEO_INFO_HEIGHT (info);
  GstBuffer *in = make_frame (info, seed), *ref, *out;
  guint diff, total;

  add_meta (in, info, MAP_HOT_TOP_LEFT, 16, 12, 1.0f, 3.0f, FALSE);
  ref = gst_buffer_copy_deep (in);
  out = run (hr, in);
  fail_unless_equals_int (gst_buffer_get_size (out), info->size);
  diff = count_diff (info, ref, out, W / 16, H / 16, 7 * W / 16, 7 * H / 16,
      &total);
  fail_unless (diff >= total * 95 / 100, "%s %dx%d: %u of %u",
      GST_VIDEO_INFO_NAME (info), W, H, diff, total);
  fail_unless_equals_int (count_diff (info, ref, out, 3 * W / 4, 0, W, H / 4,
          NULL), 0);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
}

GST_START_TEST (test_renegotiate)
{
  GstVideoInfo info;
  GstHarness *hr = new_overlay ("RGB", 320, 240, &info);

  check_hot_cold (&info, hr, 300);
  set_caps (hr, "RGB", 160, 120, &info);
  check_hot_cold (&info, hr, 301);
  set_caps (hr, "I420", 641, 481, &info);
  check_hot_cold (&info, hr, 302);
  set_caps (hr, "NV12", 320, 240, &info);
  check_hot_cold (&info, hr, 303);
  set_caps (hr, "BGRx", 64, 64, &info);
  check_hot_cold (&info, hr, 304);
  gst_harness_teardown (hr);
}

GST_END_TEST;

GST_START_TEST (test_map_max)
{
  const gint W = 160, H = 120;
  GstVideoInfo info;
  GstHarness *hr = new_overlay ("RGB", W, H, &info);
  GstBuffer *in, *ref, *out;
  guint8 a[3], b[3], c;

  /* fixed map-max 2: a value of 1 is n = 128/255 on the colour map and the
   * blend weight is alpha * n */
  g_object_set (hr->element, "map-max", 2.0f, NULL);
  in = make_frame (&info, 400);
  add_meta (in, &info, MAP_FLAT, 16, 12, 1.0f, 3.0f, FALSE);
  ref = gst_buffer_copy_deep (in);
  out = run (hr, in);
  get_rgb (&info, ref, W / 2, H / 3, a);
  get_rgb (&info, out, W / 2, H / 3, b);
  for (c = 0; c < 3; c++)
    fail_unless_equals_int (b[c], blend8 (a[c], inferno_mid[c],
            (guint) lrint (0.5 * 128 / 255.0 * 256)));
  gst_buffer_unref (out);
  gst_buffer_unref (ref);

  /* auto: the 99th percentile ignores one hot cell of 192, so 0.5 is the top
   * and the rest of the frame gets the full colour */
  g_object_set (hr->element, "map-max", 0.0f, NULL);
  in = make_frame (&info, 401);
  add_meta (in, &info, MAP_SPOT, 16, 12, 1.0f, 3.0f, FALSE);
  ref = gst_buffer_copy_deep (in);
  out = run (hr, in);
  get_rgb (&info, ref, W / 4, H / 4, a);
  get_rgb (&info, out, W / 4, H / 4, b);
  for (c = 0; c < 3; c++)
    fail_unless_equals_int (b[c], blend8 (a[c], inferno_top[c], 128));
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_harness_teardown (hr);
}

GST_END_TEST;

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("sibvadoverlay", NULL);
  gdouble alpha;
  gfloat map_max;
  gboolean show_map, show_score, show_history;
  guint history;

  fail_unless (e != NULL);
  g_object_get (e, "alpha", &alpha, "map-max", &map_max, "show-map",
      &show_map, "show-score", &show_score, "show-history", &show_history,
      "history", &history, NULL);
  fail_unless_equals_float (alpha, 0.5);
  fail_unless_equals_float (map_max, 0.0f);
  fail_unless (show_map && show_score && show_history);
  fail_unless_equals_int (history, 120);

  g_object_set (e, "alpha", 0.25, "map-max", 0.125f, "show-map", FALSE,
      "show-score", FALSE, "show-history", FALSE, "history", 10000, NULL);
  g_object_get (e, "alpha", &alpha, "map-max", &map_max, "show-map",
      &show_map, "show-score", &show_score, "show-history", &show_history,
      "history", &history, NULL);
  fail_unless_equals_float (alpha, 0.25);
  fail_unless_equals_float (map_max, 0.125f);
  fail_if (show_map || show_score || show_history);
  fail_unless_equals_int (history, 10000);
  g_object_set (e, "history", 2, NULL);
  g_object_get (e, "history", &history, NULL);
  fail_unless_equals_int (history, 2);

  {
    GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
        "history");
    GParamSpecUInt *pu = G_PARAM_SPEC_UINT (p);

    fail_unless_equals_int (pu->minimum, 2);
    fail_unless_equals_int (pu->maximum, 10000);
    fail_unless (g_param_spec_get_blurb (p) != NULL);
  }
  {
    GstElementFactory *factory = gst_element_get_factory (e);

    fail_unless_equals_string (gst_element_factory_get_metadata (factory,
            GST_ELEMENT_METADATA_KLASS), "Filter/Effect/Video");
  }
  gst_object_unref (e);
}

GST_END_TEST;

/* a smooth test map: a low noisy floor and Gaussian blobs {cx, cy, r, peak}
 * in frame fractions */
static GstBuffer *
blob_map (guint mw, guint mh, const gdouble (*blobs)[4], guint n_blobs,
    gdouble floor_, guint seed)
{
  GstBuffer *map = gst_buffer_new_allocate (NULL, mw * mh * sizeof (gfloat),
      NULL);
  GstMapInfo mi;
  guint x, y, b;

  fail_unless (gst_buffer_map (map, &mi, GST_MAP_WRITE));
  for (y = 0; y < mh; y++)
    for (x = 0; x < mw; x++) {
      gdouble noise = ((x * 7919 + y * 104729 + seed * 31) % 1000) / 1000.0;
      gdouble v = floor_ * (0.5 + noise);

      for (b = 0; b < n_blobs; b++) {
        gdouble dx = (x + 0.5) / mw - blobs[b][0];
        gdouble dy = (y + 0.5) / mh - blobs[b][1];

        v += blobs[b][3] * exp (-(dx * dx + dy * dy) /
            (2 * blobs[b][2] * blobs[b][2]));
      }
      ((gfloat *) mi.data)[y * mw + x] = (gfloat) v;
    }
  gst_buffer_unmap (map, &mi);
  return map;
}

/* CPU time of the calling thread, in microseconds */
static gdouble
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

GST_START_TEST (test_speed)
{
  static const gchar *formats[] = { "RGB", "BGRx", "I420", "NV12", "GRAY8" };
  const gint W = 360, H = 240, N = 400;
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info;
    GstHarness *hr = new_overlay (formats[f], W, H, &info);
    GstBuffer *buf = make_frame (&info, 500);
    GstSibvadMeta *m = add_meta (buf, &info, MAP_NONE, 0, 0, 2.0f, 3.0f,
        FALSE);
    static const gdouble blob[1][4] = { {0.6, 0.5, 0.1, 0.2} };
    GstBuffer *plain = make_frame (&info, 501);
    gdouble t0, c0, us, cpu_us, floor_us;
    gint i;

    /* the harness alone: a frame without a meta goes through untouched */
    for (i = 0; i < 20; i++)
      plain = run (hr, plain);
    c0 = thread_cpu_us ();
    for (i = 0; i < N; i++)
      plain = run (hr, plain);
    floor_us = (thread_cpu_us () - c0) / N;
    gst_buffer_unref (plain);

    m->error_map = blob_map (90, 60, blob, 1, 0.01, 1);
    m->map_width = 90;
    m->map_height = 60;
    /* the same buffer goes round: the element's cost plus the harness's,
     * all on this thread (the harness pushes synchronously) */
    for (i = 0; i < 20; i++)
      buf = run (hr, buf);
    t0 = g_get_monotonic_time ();
    c0 = thread_cpu_us ();
    for (i = 0; i < N; i++)
      buf = run (hr, buf);
    cpu_us = (thread_cpu_us () - c0) / N;
    us = (g_get_monotonic_time () - t0) / N;
    g_print ("sibvadoverlay %s %dx%d (map 90x60, bar, history): %.1f us/frame"
        " CPU (%.0f fps), %.1f us wall; the harness alone %.1f us\n",
        formats[f], W, H, cpu_us, 1e6 / cpu_us, us, floor_us);
    /* several hundred fps on one core, with a wide margin for a busy host */
    fail_unless (cpu_us < 10000.0, "%s: %.0f us per frame", formats[f],
        cpu_us);
    gst_buffer_unref (buf);
    gst_harness_teardown (hr);
  }
}

GST_END_TEST;

/* ---- the docs' example (SIBVAD_OVERLAY_PNG=FILE) ---- */

/* a synthetic scene: sky, a walkway, people {x, y, w, h} and one cart */
static const gint scene_people[4][4] = {
  {60, 120, 12, 34}, {110, 150, 14, 40}, {160, 105, 10, 28}, {290, 130, 12, 36}
};

static GstBuffer *
scene_frame (const GstVideoInfo * info, guint t)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  gint W = GST_VIDEO_INFO_WIDTH (info), H = GST_VIDEO_INFO_HEIGHT (info);
  gint stride = GST_VIDEO_INFO_PLANE_STRIDE (info, 0), x, y, k;
  const gint (*people)[4] = scene_people;
  GstMapInfo mi;

  fail_unless (gst_buffer_map (buf, &mi, GST_MAP_WRITE));
  for (y = 0; y < H; y++)
    for (x = 0; x < W; x++) {
      guint8 *p = mi.data + (gsize) y * stride + (gsize) x * 3;
      gint r, g, b;

      if (y < 80) {             /* sky and a far wall */
        r = 150 + y / 2;
        g = 170 + y / 3;
        b = 200 + y / 4;
        if (y > 55 && (x / 24) % 3 != 0) {
          r = 120;
          g = 110;
          b = 100;
        }
      } else {                  /* paving with perspective joints */
        gint v = 140 + ((x * 3 + y * 5) % 17) - 8;
        gint u = (x - W / 2) * 80 / (y + 1);

        if (y % 20 == 0 || ABS (u) % 40 < 2)
          v -= 30;
        r = v;
        g = v - 4;
        b = v - 10;
      }
      p[0] = (guint8) CLAMP (r, 0, 255);
      p[1] = (guint8) CLAMP (g, 0, 255);
      p[2] = (guint8) CLAMP (b, 0, 255);
    }
  /* people (dark) and the cart (an anomaly, red and large) */
  for (k = 0; k < (gint) G_N_ELEMENTS (scene_people); k++)
    for (y = people[k][1]; y < people[k][1] + people[k][3]; y++)
      for (x = people[k][0] + (gint) t / 8; x < people[k][0] + (gint) t / 8 +
          people[k][2]; x++) {
        guint8 *p = mi.data + (gsize) y * stride + (gsize) x * 3;

        if (x < W) {
          p[0] = y < people[k][1] + 8 ? 200 : 40 + k * 20;
          p[1] = y < people[k][1] + 8 ? 160 : 50;
          p[2] = y < people[k][1] + 8 ? 130 : 70 + k * 10;
        }
      }
  for (y = 120; y < 165; y++)
    for (x = 205; x < 250; x++) {
      guint8 *p = mi.data + (gsize) y * stride + (gsize) x * 3;

      p[0] = 170;
      p[1] = 40;
      p[2] = 30;
      if (y > 158 && (x < 212 || x > 242))
        p[0] = p[1] = p[2] = 20;
    }
  gst_buffer_unmap (buf, &mi);
  return buf;
}

GST_START_TEST (test_png_example)
{
  const gchar *path = g_getenv ("SIBVAD_OVERLAY_PNG");
  const gint W = 360, H = 240, N = 120;
  GstVideoInfo info;
  GstHarness *hr, *enc;
  GstBuffer *out = NULL, *png;
  GstMapInfo mi;
  GError *err = NULL;
  gint i;

  if (!path || !*path)
    return;
  hr = new_overlay ("RGB", W, H, &info);
  for (i = 0; i < N; i++) {
    GstBuffer *in = scene_frame (&info, i);
    /* a quiet series, then the cart comes in: over 3 from frame 88, the
     * alarm from frame 93 (5 frames over) */
    gfloat score = 0.9f + 0.35f * (gfloat) sin (i * 0.37) +
        (i > 70 ? 4.2f / (1.0f + expf (-(i - 86) * 0.35f)) : 0.0f);
    GstSibvadMeta *m = add_meta (in, &info, MAP_NONE, 0, 0, score, 3.0f,
        i >= 93);
    gdouble blobs[5][4] = {
      {0.63, 0.59, 0.07, 0.25},         /* the cart */
      {0.0, 0.0, 0.03, 0.08}, {0.0, 0.0, 0.03, 0.08},
      {0.0, 0.0, 0.03, 0.08}, {0.0, 0.0, 0.03, 0.08},
    };
    guint k;

    /* the people: small errors around their (moving) outlines */
    for (k = 0; k < 4; k++) {
      blobs[k + 1][0] = (scene_people[k][0] + i / 8 + scene_people[k][2] / 2.0)
          / W;
      blobs[k + 1][1] = (scene_people[k][1] + scene_people[k][3] / 2.0) / H;
    }
    m->error_map = blob_map (90, 60, (const gdouble (*)[4]) blobs, 5, 0.012,
        i);
    m->map_width = 90;
    m->map_height = 60;
    gst_clear_buffer (&out);
    out = run (hr, in);
  }
  gst_harness_teardown (hr);

  enc = gst_harness_new_parse ("videoconvert ! pngenc");
  gst_harness_set_src_caps_str (enc,
      "video/x-raw,format=RGB,width=360,height=240,framerate=25/1");
  png = run (enc, out);
  fail_unless (gst_buffer_map (png, &mi, GST_MAP_READ));
  fail_unless (g_file_set_contents (path, (const gchar *) mi.data, mi.size,
          &err), "%s", err ? err->message : "");
  gst_buffer_unmap (png, &mi);
  gst_buffer_unref (png);
  gst_harness_teardown (enc);
  g_print ("wrote %s\n", path);
}

GST_END_TEST;

static Suite *
sibvadoverlay_suite (void)
{
  Suite *s = suite_create ("sibvadoverlay");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_no_meta_passthrough);
  tcase_add_test (tc, test_warming_up_unchanged);
  tcase_add_test (tc, test_hot_quadrant);
  tcase_add_test (tc, test_alpha_zero);
  tcase_add_test (tc, test_score_bar);
  tcase_add_test (tc, test_history);
  tcase_add_test (tc, test_map_max);
  tcase_add_test (tc, test_odd_sizes);
  tcase_add_test (tc, test_bad_values);
  tcase_add_test (tc, test_renegotiate);
  tcase_add_test (tc, test_speed);
  tcase_add_test (tc, test_png_example);
  return s;
}

GST_CHECK_MAIN (sibvadoverlay);
