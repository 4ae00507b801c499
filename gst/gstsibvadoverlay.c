/* gstsibvadoverlay.c: sibvadoverlay, a GstVideoFilter that draws the
 * GstSibvadMeta of each frame onto the video in place: the error map as an
 * inferno heat map blended with the picture, a score bar with the threshold
 * marked and a curve of the recent scores. docs/plugin.md, section
 * sibvadoverlay, describes what is drawn and how. */
/**
 * SECTION:element-sibvadoverlay
 * @title: sibvadoverlay
 *
 * Draws the result of #sibvadfilter (the #GstSibvadMeta of each buffer) onto
 * the video: the error map, the score and the score history.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.avi ! decodebin ! videoconvert ! \
 *     sibvadfilter ! sibvadoverlay ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsibvadoverlay.h"

#include <gst/sibvad/sibvad-meta.h>
#include <math.h>
#include <string.h>
#include "sibvad-overlay-layout.h"
#include "sibvad-buffer-check.h"

GST_DEBUG_CATEGORY_STATIC (gst_sibvad_overlay_debug);
#define GST_CAT_DEFAULT gst_sibvad_overlay_debug

#define DEFAULT_ALPHA 0.5
#define DEFAULT_MAP_MAX 0.0f
#define DEFAULT_SHOW_MAP TRUE
#define DEFAULT_SHOW_SCORE TRUE
#define DEFAULT_SHOW_HISTORY TRUE
#define DEFAULT_HISTORY 120

/* at most this many map values go into the percentile of map-max=0 */
#define PERCENTILE_SAMPLES 4096
#define MAP_PERCENTILE 0.99

enum
{
  PROP_0,
  PROP_ALPHA,
  PROP_MAP_MAX,
  PROP_SHOW_MAP,
  PROP_SHOW_SCORE,
  PROP_SHOW_HISTORY,
  PROP_HISTORY,
};

#define VIDEO_CAPS GST_VIDEO_CAPS_MAKE \
    ("{ GRAY8, RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }")

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));

#define gst_sibvad_overlay_parent_class parent_class
G_DEFINE_TYPE (GstSibvadOverlay, gst_sibvad_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (sibvadoverlay, "sibvadoverlay", GST_RANK_NONE,
    GST_TYPE_SIBVAD_OVERLAY);

/* matplotlib's inferno, 256 entries, 8-bit sRGB */
static const guint8 inferno[256][3] = {
  {0, 0, 4}, {1, 0, 5}, {1, 1, 6}, {1, 1, 8},
  {2, 1, 10}, {2, 2, 12}, {2, 2, 14}, {3, 2, 16},
  {4, 3, 18}, {4, 3, 20}, {5, 4, 23}, {6, 4, 25},
  {7, 5, 27}, {8, 5, 29}, {9, 6, 31}, {10, 7, 34},
  {11, 7, 36}, {12, 8, 38}, {13, 8, 41}, {14, 9, 43},
  {16, 9, 45}, {17, 10, 48}, {18, 10, 50}, {20, 11, 52},
  {21, 11, 55}, {22, 11, 57}, {24, 12, 60}, {25, 12, 62},
  {27, 12, 65}, {28, 12, 67}, {30, 12, 69}, {31, 12, 72},
  {33, 12, 74}, {35, 12, 76}, {36, 12, 79}, {38, 12, 81},
  {40, 11, 83}, {41, 11, 85}, {43, 11, 87}, {45, 11, 89},
  {47, 10, 91}, {49, 10, 92}, {50, 10, 94}, {52, 10, 95},
  {54, 9, 97}, {56, 9, 98}, {57, 9, 99}, {59, 9, 100},
  {61, 9, 101}, {62, 9, 102}, {64, 10, 103}, {66, 10, 104},
  {68, 10, 104}, {69, 10, 105}, {71, 11, 106}, {73, 11, 106},
  {74, 12, 107}, {76, 12, 107}, {77, 13, 108}, {79, 13, 108},
  {81, 14, 108}, {82, 14, 109}, {84, 15, 109}, {85, 15, 109},
  {87, 16, 110}, {89, 16, 110}, {90, 17, 110}, {92, 18, 110},
  {93, 18, 110}, {95, 19, 110}, {97, 19, 110}, {98, 20, 110},
  {100, 21, 110}, {101, 21, 110}, {103, 22, 110}, {105, 22, 110},
  {106, 23, 110}, {108, 24, 110}, {109, 24, 110}, {111, 25, 110},
  {113, 25, 110}, {114, 26, 110}, {116, 26, 110}, {117, 27, 110},
  {119, 28, 109}, {120, 28, 109}, {122, 29, 109}, {124, 29, 109},
  {125, 30, 109}, {127, 30, 108}, {128, 31, 108}, {130, 32, 108},
  {132, 32, 107}, {133, 33, 107}, {135, 33, 107}, {136, 34, 106},
  {138, 34, 106}, {140, 35, 105}, {141, 35, 105}, {143, 36, 105},
  {144, 37, 104}, {146, 37, 104}, {147, 38, 103}, {149, 38, 103},
  {151, 39, 102}, {152, 39, 102}, {154, 40, 101}, {155, 41, 100},
  {157, 41, 100}, {159, 42, 99}, {160, 42, 99}, {162, 43, 98},
  {163, 44, 97}, {165, 44, 96}, {166, 45, 96}, {168, 46, 95},
  {169, 46, 94}, {171, 47, 94}, {173, 48, 93}, {174, 48, 92},
  {176, 49, 91}, {177, 50, 90}, {179, 50, 90}, {180, 51, 89},
  {182, 52, 88}, {183, 53, 87}, {185, 53, 86}, {186, 54, 85},
  {188, 55, 84}, {189, 56, 83}, {191, 57, 82}, {192, 58, 81},
  {193, 58, 80}, {195, 59, 79}, {196, 60, 78}, {198, 61, 77},
  {199, 62, 76}, {200, 63, 75}, {202, 64, 74}, {203, 65, 73},
  {204, 66, 72}, {206, 67, 71}, {207, 68, 70}, {208, 69, 69},
  {210, 70, 68}, {211, 71, 67}, {212, 72, 66}, {213, 74, 65},
  {215, 75, 63}, {216, 76, 62}, {217, 77, 61}, {218, 78, 60},
  {219, 80, 59}, {221, 81, 58}, {222, 82, 56}, {223, 83, 55},
  {224, 85, 54}, {225, 86, 53}, {226, 87, 52}, {227, 89, 51},
  {228, 90, 49}, {229, 92, 48}, {230, 93, 47}, {231, 94, 46},
  {232, 96, 45}, {233, 97, 43}, {234, 99, 42}, {235, 100, 41},
  {235, 102, 40}, {236, 103, 38}, {237, 105, 37}, {238, 106, 36},
  {239, 108, 35}, {239, 110, 33}, {240, 111, 32}, {241, 113, 31},
  {241, 115, 29}, {242, 116, 28}, {243, 118, 27}, {243, 120, 25},
  {244, 121, 24}, {245, 123, 23}, {245, 125, 21}, {246, 126, 20},
  {246, 128, 19}, {247, 130, 18}, {247, 132, 16}, {248, 133, 15},
  {248, 135, 14}, {248, 137, 12}, {249, 139, 11}, {249, 140, 10},
  {249, 142, 9}, {250, 144, 8}, {250, 146, 7}, {250, 148, 7},
  {251, 150, 6}, {251, 151, 6}, {251, 153, 6}, {251, 155, 6},
  {251, 157, 7}, {252, 159, 7}, {252, 161, 8}, {252, 163, 9},
  {252, 165, 10}, {252, 166, 12}, {252, 168, 13}, {252, 170, 15},
  {252, 172, 17}, {252, 174, 18}, {252, 176, 20}, {252, 178, 22},
  {252, 180, 24}, {251, 182, 26}, {251, 184, 29}, {251, 186, 31},
  {251, 188, 33}, {251, 190, 35}, {250, 192, 38}, {250, 194, 40},
  {250, 196, 42}, {250, 198, 45}, {249, 199, 47}, {249, 201, 50},
  {249, 203, 53}, {248, 205, 55}, {248, 207, 58}, {247, 209, 61},
  {247, 211, 64}, {246, 213, 67}, {246, 215, 70}, {245, 217, 73},
  {245, 219, 76}, {244, 221, 79}, {244, 223, 83}, {244, 225, 86},
  {243, 227, 90}, {243, 229, 93}, {242, 230, 97}, {242, 232, 101},
  {242, 234, 105}, {241, 236, 109}, {241, 237, 113}, {241, 239, 117},
  {241, 241, 121}, {242, 242, 125}, {242, 244, 130}, {243, 245, 134},
  {243, 246, 138}, {244, 248, 142}, {245, 249, 146}, {246, 250, 150},
  {248, 251, 154}, {249, 252, 157}, {250, 253, 161}, {252, 255, 164},
};

/* the colours of the bar and the curve (sRGB) */
static const guint8 colour_normal[3] = { 40, 200, 80 };        /* green */
/* amber: over the threshold, no alarm yet */
static const guint8 colour_over[3] = { 250, 170, 0 };
static const guint8 colour_alarm[3] = { 230, 30, 30 };  /* red: alarm */
static const guint8 colour_curve[3] = { 90, 200, 255 }; /* light blue */
static const guint8 colour_white[3] = { 255, 255, 255 };
static const guint8 colour_black[3] = { 0, 0, 0 };

/* ---- colours in the frame's components ---- */

/* sRGB to the components of the negotiated format: RGB as is, GRAY8 the
 * BT.601 luma (full range), YUV BT.601 at the caps' range (limited unless
 * the colorimetry says 0-255) */
static void
gst_sibvad_overlay_colour (GstSibvadOverlay * self, const guint8 rgb[3],
    guint8 out[3])
{
  gdouble r = rgb[0], g = rgb[1], b = rgb[2], ey, pb, pr;

  if (self->is_rgb) {
    out[0] = rgb[0];
    out[1] = rgb[1];
    out[2] = rgb[2];
    return;
  }
  ey = 0.299 * r + 0.587 * g + 0.114 * b;
  if (self->is_gray) {
    out[0] = out[1] = out[2] = (guint8) CLAMP (lrint (ey), 0, 255);
    return;
  }
  pb = (b - ey) / 1.772;
  pr = (r - ey) / 1.402;
  if (self->full_range) {
    out[0] = (guint8) CLAMP (lrint (ey), 0, 255);
    out[1] = (guint8) CLAMP (lrint (128.0 + pb), 0, 255);
    out[2] = (guint8) CLAMP (lrint (128.0 + pr), 0, 255);
  } else {
    out[0] = (guint8) CLAMP (lrint (16.0 + ey * 219.0 / 255.0), 0, 255);
    out[1] = (guint8) CLAMP (lrint (128.0 + pb * 224.0 / 255.0), 0, 255);
    out[2] = (guint8) CLAMP (lrint (128.0 + pr * 224.0 / 255.0), 0, 255);
  }
}

/* ---- drawing primitives (any of the formats, 8-bit components) ---- */

static inline guint8
blend8 (guint8 dst, guint8 src, guint w256)
{
  return (guint8) ((dst * (256 - w256) + src * w256 + 128) >> 8);
}

/* blend @rgb with opacity @w256 (0..256) over the frame rectangle
 * [x0, x1) x [y0, y1), clipped; the chroma of subsampled formats covers the
 * samples the rectangle touches */
static void
gst_sibvad_overlay_fill_rect (GstSibvadOverlay * self, GstVideoFrame * frame,
    const guint8 rgb[3], guint w256, gint x0, gint y0, gint x1, gint y1)
{
  guint8 val[3];
  guint g, k;

  x0 = MAX (x0, 0);
  y0 = MAX (y0, 0);
  x1 = MIN (x1, (gint) GST_VIDEO_FRAME_WIDTH (frame));
  y1 = MIN (y1, (gint) GST_VIDEO_FRAME_HEIGHT (frame));
  if (x0 >= x1 || y0 >= y1 || w256 == 0)
    return;
  gst_sibvad_overlay_colour (self, rgb, val);

  for (g = 0; g < self->n_groups; g++) {
    const GstSibvadOverlayGroup *grp = &self->groups[g];
    gint ws = grp->w_sub, hs = grp->h_sub;
    gint cx0 = x0 >> ws, cy0 = y0 >> hs;
    gint cx1 = MIN ((x1 + (1 << ws) - 1) >> ws, (gint) grp->width);
    gint cy1 = MIN ((y1 + (1 << hs) - 1) >> hs, (gint) grp->height);
    gint x, y;

    for (k = 0; k < grp->n_comps; k++) {
      guint c = grp->comps[k];
      gint stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
      gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
      guint8 *data = GST_VIDEO_FRAME_COMP_DATA (frame, c);
      guint8 v = val[c];

      for (y = cy0; y < cy1; y++) {
        guint8 *p = data + (gsize) y * stride + (gsize) cx0 * ps;

        if (w256 >= 256) {
          for (x = cx0; x < cx1; x++, p += ps)
            *p = v;
        } else {
          for (x = cx0; x < cx1; x++, p += ps)
            *p = blend8 (*p, v, w256);
        }
      }
    }
  }
}

/* ---- the error map ---- */

static inline gfloat
map_value (gfloat v)
{
  /* negative, NaN and infinite values count as no error */
  return (v > 0.0f && v <= G_MAXFLOAT) ? v : 0.0f;
}

/* the k-th smallest of @a (n values, reordered), Wirth's selection */
static gfloat
select_kth (gfloat * a, guint n, guint k)
{
  gint l = 0, m = (gint) n - 1;

  while (l < m) {
    gfloat x = a[k];
    gint i = l, j = m;

    do {
      while (a[i] < x)
        i++;
      while (x < a[j])
        j--;
      if (i <= j) {
        gfloat t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < (gint) k)
      l = i;
    if ((gint) k < i)
      m = j;
  }
  return a[k];
}

/* the value shown at the top of the colour map: map-max, or the 99th
 * percentile of (a subsample of at most 4096 values of) the map; the map's
 * maximum when that percentile is 0 (a small hot spot); 0: nothing to draw */
static gfloat
gst_sibvad_overlay_map_top (GstSibvadOverlay * self, const gfloat * map,
    guint n, gfloat map_max)
{
  guint step, i, m = 0;
  gfloat top;

  if (map_max > 0.0f)
    return map_max;

  step = (n + PERCENTILE_SAMPLES - 1) / PERCENTILE_SAMPLES;
  if (self->sample_size < PERCENTILE_SAMPLES) {
    self->sample = g_renew (gfloat, self->sample, PERCENTILE_SAMPLES);
    self->sample_size = PERCENTILE_SAMPLES;
  }
  for (i = 0; i < n && m < PERCENTILE_SAMPLES; i += step)
    self->sample[m++] = map_value (map[i]);
  top = select_kth (self->sample, m, (guint) (MAP_PERCENTILE * (m - 1)));
  if (top <= 0.0f) {
    for (i = 0; i < n; i++)
      top = MAX (top, map_value (map[i]));
  }
  return top;
}

/* bilinear table from @n samples (each covering 2^@sub frame pixels of a
 * frame @frame_n pixels wide) to a map @map_n wide: sample centres are
 * aligned with map cell centres, clamped at the borders */
static void
make_table (guint32 * i0, gfloat * f, guint n, guint sub, guint frame_n,
    guint map_n)
{
  guint i;

  for (i = 0; i < n; i++) {
    gdouble centre = MIN ((i + 0.5) * (1 << sub), (gdouble) frame_n);
    gdouble u = centre * map_n / frame_n - 0.5;
    gint j = (gint) floor (u);

    if (u <= 0.0) {
      i0[i] = 0;
      f[i] = 0.0f;
    } else if (j >= (gint) map_n - 1) {
      i0[i] = map_n - 1;
      f[i] = 0.0f;
    } else {
      i0[i] = j;
      f[i] = (gfloat) (u - j);
    }
  }
}

static void
gst_sibvad_overlay_make_tables (GstSibvadOverlay * self, guint map_w,
    guint map_h)
{
  GstVideoInfo *info = &GST_VIDEO_FILTER (self)->in_info;
  guint g;

  for (g = 0; g < self->n_groups; g++) {
    GstSibvadOverlayGroup *grp = &self->groups[g];

    grp->x0 = g_renew (guint32, grp->x0, grp->width);
    grp->fx = g_renew (gfloat, grp->fx, grp->width);
    grp->y0 = g_renew (guint32, grp->y0, grp->height);
    grp->fy = g_renew (gfloat, grp->fy, grp->height);
    make_table (grp->x0, grp->fx, grp->width, grp->w_sub,
        GST_VIDEO_INFO_WIDTH (info), map_w);
    make_table (grp->y0, grp->fy, grp->height, grp->h_sub,
        GST_VIDEO_INFO_HEIGHT (info), map_h);
  }
  for (g = 0; g < self->n_groups; g++) {
    if (self->idx_size < self->groups[g].width) {
      self->idx = g_renew (guint8, self->idx, self->groups[g].width);
      self->idx_size = self->groups[g].width;
    }
  }
  if (self->row_size < map_w + 1) {
    self->row = g_renew (gfloat, self->row, map_w + 1);
    self->row_size = map_w + 1;
  }
  self->tab_map_width = map_w;
  self->tab_map_height = map_h;
  GST_DEBUG_OBJECT (self, "tables for %ux%u -> map %ux%u",
      GST_VIDEO_INFO_WIDTH (info), GST_VIDEO_INFO_HEIGHT (info), map_w, map_h);
}

/* blend the heat map: at a frame sample whose bilinearly scaled map value is
 * e, n = clamp (e / top, 0, 1) quantised to 1/255, and the sample becomes
 * in + alpha * n * (inferno (n) - in): no error leaves the picture as is */
static void
gst_sibvad_overlay_draw_map (GstSibvadOverlay * self, GstVideoFrame * frame,
    const gfloat * map, guint map_w, guint map_h, gdouble alpha,
    gfloat map_max)
{
  guint n = map_w * map_h, i, g, k;
  /* per colour-map index: 256 - weight, and colour * weight + 128 per
   * component, so a blend is (in * keep + add) >> 8 */
  guint16 keep[256], add[3][256];
  gfloat top, scale;

  top = gst_sibvad_overlay_map_top (self, map, n, map_max);
  if (!(top > 0.0f))
    return;

  if (self->norm_map_size < n) {
    self->norm_map = g_renew (gfloat, self->norm_map, n);
    self->norm_map_size = n;
  }
  scale = 255.0f / top;
  for (i = 0; i < n; i++)
    self->norm_map[i] = MIN (map_value (map[i]) * scale, 255.0f);

  if (self->tab_map_width != map_w || self->tab_map_height != map_h)
    gst_sibvad_overlay_make_tables (self, map_w, map_h);

  for (i = 0; i < 256; i++) {
    guint w = (guint) lrint (alpha * i / 255.0 * 256.0);

    keep[i] = 256 - w;
    for (k = 0; k < 3; k++)
      add[k][i] = self->heat[i][k] * w + 128;
  }

  for (g = 0; g < self->n_groups; g++) {
    const GstSibvadOverlayGroup *grp = &self->groups[g];
    guint8 *data[3];
    guint8 *restrict idx = self->idx;
    gfloat *restrict row = self->row;
    const guint width = grp->width, height = grp->height, nc = grp->n_comps;
    gint stride[3], ps[3];
    guint x, y;

    for (k = 0; k < nc; k++) {
      data[k] = GST_VIDEO_FRAME_COMP_DATA (frame, grp->comps[k]);
      stride[k] = GST_VIDEO_FRAME_COMP_STRIDE (frame, grp->comps[k]);
      ps[k] = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, grp->comps[k]);
    }

    for (y = 0; y < height; y++) {
      const gfloat *r0 = self->norm_map + (gsize) grp->y0[y] * map_w;
      const gfloat *r1 = grp->y0[y] + 1 < map_h ? r0 + map_w : r0;
      const gfloat fy = grp->fy[y];
      const guint32 *restrict x0 = grp->x0;
      const gfloat *restrict fx = grp->fx;
      guint any = 0;

      for (i = 0; i < map_w; i++)
        row[i] = r0[i] + fy * (r1[i] - r0[i]);
      row[map_w] = row[map_w - 1];
      /* the colour-map index of each sample of the row */
      for (x = 0; x < width; x++) {
        const gfloat a = row[x0[x]], b = row[x0[x] + 1];

        idx[x] = (guint8) (a + fx[x] * (b - a) + 0.5f);
        any |= idx[x];
      }
      if (!any)
        continue;
      for (k = 0; k < nc; k++) {
        guint8 *restrict p = data[k] + (gsize) y * stride[k];
        const guint16 *ak = add[grp->comps[k]];
        const gint step = ps[k];

        /* index 0 keeps the sample: (in * 256 + 128) >> 8 = in */
        if (step == 1) {
          for (x = 0; x < width; x++)
            p[x] = (guint8) ((p[x] * keep[idx[x]] + ak[idx[x]]) >> 8);
        } else {
          for (x = 0; x < width; x++, p += step)
            *p = (guint8) ((*p * keep[idx[x]] + ak[idx[x]]) >> 8);
        }
      }
    }
  }
}

/* ---- the score bar and the history ---- */

static inline GstSibvadOverlaySample *
history_at (GstSibvadOverlay * self, guint j)
{
  /* j = 0: the oldest sample kept */
  return &self->ring[(self->ring_head + self->ring_size - self->ring_len +
          j) % self->ring_size];
}

/* the score axis of the bar and the curve: [lo, hi] with
 * lo = min (0, lowest score kept),
 * hi = max (2 * threshold, highest score kept) */
static void
gst_sibvad_overlay_score_axis (GstSibvadOverlay * self, gfloat threshold,
    gfloat * lo, gfloat * hi)
{
  gfloat l = 0.0f, h = isfinite (threshold) ? 2.0f * threshold : 0.0f;
  guint j;

  for (j = 0; j < self->ring_len; j++) {
    gfloat s = history_at (self, j)->score;

    if (!isfinite (s))
      continue;
    l = MIN (l, s);
    h = MAX (h, s);
  }
  if (!(h - l > 1e-6f) || !isfinite (h - l))
    h = l + 1.0f;
  *lo = l;
  *hi = h;
}

/* @s on the axis, 0..1 (0 for NaN) */
static inline gdouble
axis_frac (gfloat s, gfloat lo, gfloat hi)
{
  gdouble f = (s - (gdouble) lo) / ((gdouble) hi - lo);

  if (!(f > 0.0))
    return 0.0;
  return MIN (f, 1.0);
}

static void
gst_sibvad_overlay_draw_bar (GstSibvadOverlay * self, GstVideoFrame * frame,
    const GstSibvadOverlayLayout * l, const GstSibvadMeta * meta, gfloat lo, gfloat hi)
{
  const guint8 *colour;
  gint fill, tx;

  if (l->bar_w < 2)
    return;
  colour = meta->anomaly ? colour_alarm :
      (meta->score >= meta->threshold ? colour_over : colour_normal);
  gst_sibvad_overlay_fill_rect (self, frame, colour_black, 128, l->bar_x,
      l->bar_y, l->bar_x + l->bar_w, l->bar_y + l->bar_h);
  fill = (gint) lrint (axis_frac (meta->score, lo, hi) * l->bar_w);
  gst_sibvad_overlay_fill_rect (self, frame, colour, 230, l->bar_x, l->bar_y,
      l->bar_x + fill, l->bar_y + l->bar_h);
  /* the threshold: a white tick through the bar, 2 lines above and below */
  tx = l->bar_x + (gint) lrint (axis_frac (meta->threshold, lo, hi) *
      (l->bar_w - 1));
  gst_sibvad_overlay_fill_rect (self, frame, colour_white, 256,
      tx - l->line / 2, l->bar_y - 2 * l->line, tx - l->line / 2 + l->line,
      l->bar_y + l->bar_h + 2 * l->line);
}

static gfloat
history_interp (GstSibvadOverlay * self, gdouble pos, guint first)
{
  gdouble j = pos - first;
  guint j0 = (guint) floor (j), j1 = MIN (j0 + 1, self->ring_len - 1);
  gfloat s0 = history_at (self, j0)->score, s1 = history_at (self, j1)->score;

  return s0 + (gfloat) (j - j0) * (s1 - s0);
}

/* the curve of the kept scores, the newest at the right edge; the box holds
 * `history` samples, so a short history fills it from the right. Each
 * column draws the span of the scores it covers (and its edges, interpolated)
 * so nothing is lost when there are more samples than columns */
static void
gst_sibvad_overlay_draw_history (GstSibvadOverlay * self,
    GstVideoFrame * frame, const GstSibvadOverlayLayout * l, gfloat threshold, gfloat lo,
    gfloat hi)
{
  gint px, py, pw, ph, c, ty, dash;
  guint cap = self->ring_size, first;
  gdouble per_col;

  if (l->box_w < 4 || l->box_h < 4 || self->ring_len == 0)
    return;
  gst_sibvad_overlay_fill_rect (self, frame, colour_black, 128, l->box_x,
      l->box_y, l->box_x + l->box_w, l->box_y + l->box_h);
  px = l->box_x + 1;
  py = l->box_y + 1;
  pw = l->box_w - 2;
  ph = l->box_h - 2;

  /* threshold: dashed white line */
  ty = py + (ph - 1) - (gint) lrint (axis_frac (threshold, lo, hi) * (ph - 1));
  dash = MAX (2, 2 * l->line);
  for (c = 0; c < pw; c += 2 * dash)
    gst_sibvad_overlay_fill_rect (self, frame, colour_white, 256, px + c, ty,
        px + MIN (c + dash, pw), ty + l->line);

  first = cap - self->ring_len;
  per_col = (gdouble) (cap - 1) / MAX (pw - 1, 1);
  for (c = 0; c < pw; c++) {
    gdouble pl = (c - 0.5) * per_col, pr = (c + 0.5) * per_col;
    gfloat smin, smax, s;
    gboolean alarm = FALSE;
    gint j, j0, j1, ytop, ybot;

    if (pr < first)
      continue;
    pl = CLAMP (pl, (gdouble) first, (gdouble) cap - 1);
    pr = CLAMP (pr, (gdouble) first, (gdouble) cap - 1);
    smin = smax = history_interp (self, pl, first);
    s = history_interp (self, pr, first);
    smin = MIN (smin, s);
    smax = MAX (smax, s);
    j0 = (gint) floor (pl) - (gint) first;
    j1 = (gint) ceil (pr) - (gint) first;
    for (j = MAX (j0, 0); j <= j1 && j < (gint) self->ring_len; j++) {
      const GstSibvadOverlaySample *h = history_at (self, j);

      if (j + (gint) first > pl && j + (gint) first < pr
          && isfinite (h->score)) {
        smin = MIN (smin, h->score);
        smax = MAX (smax, h->score);
      }
      alarm |= h->anomaly;
    }
    ytop = py + (ph - 1) - (gint) lrint (axis_frac (smax, lo, hi) * (ph - 1));
    ybot = py + (ph - 1) - (gint) lrint (axis_frac (smin, lo, hi) * (ph - 1));
    gst_sibvad_overlay_fill_rect (self, frame,
        alarm ? colour_alarm : colour_curve, 256, px + c,
        ytop - (l->line - 1) / 2, px + c + 1, ybot + l->line / 2 + 1);
  }
}

/* ---- history ring ---- */

static void
gst_sibvad_overlay_reset_history (GstSibvadOverlay * self)
{
  self->ring_len = 0;
  self->ring_head = 0;
}

/* keep the newest min (kept, size) samples in a ring of @size */
static void
gst_sibvad_overlay_resize_history (GstSibvadOverlay * self, guint size)
{
  GstSibvadOverlaySample *ring;
  guint keep, j;

  if (size == self->ring_size && self->ring)
    return;
  ring = g_new0 (GstSibvadOverlaySample, size);
  keep = MIN (self->ring_len, size);
  for (j = 0; j < keep; j++)
    ring[j] = *history_at (self, self->ring_len - keep + j);
  g_free (self->ring);
  self->ring = ring;
  self->ring_size = size;
  self->ring_len = keep;
  self->ring_head = keep % size;
}

static void
gst_sibvad_overlay_push_history (GstSibvadOverlay * self, gfloat score,
    gboolean anomaly)
{
  self->ring[self->ring_head].score = score;
  self->ring[self->ring_head].anomaly = anomaly;
  self->ring_head = (self->ring_head + 1) % self->ring_size;
  self->ring_len = MIN (self->ring_len + 1, self->ring_size);
}

/* ---- GstBaseTransform / GstVideoFilter ---- */

static gboolean
gst_sibvad_overlay_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (filter);
  const GstVideoFormatInfo *finfo = in_info->finfo;
  guint n = MIN (GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo), 3), c, i;

  self->is_rgb = GST_VIDEO_FORMAT_INFO_IS_RGB (finfo);
  self->is_gray = GST_VIDEO_FORMAT_INFO_IS_GRAY (finfo);
  self->full_range =
      GST_VIDEO_INFO_COLORIMETRY (in_info).range == GST_VIDEO_COLOR_RANGE_0_255;

  /* group the components by resolution: full size, subsampled chroma */
  memset (self->groups[0].comps, 0, sizeof (self->groups[0].comps));
  self->groups[0].n_comps = self->groups[1].n_comps = 0;
  self->n_groups = 0;
  for (c = 0; c < n; c++) {
    guint ws = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, c);
    guint hs = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, c);
    GstSibvadOverlayGroup *grp = NULL;

    for (i = 0; i < self->n_groups; i++)
      if (self->groups[i].w_sub == ws && self->groups[i].h_sub == hs)
        grp = &self->groups[i];
    if (!grp) {
      g_assert (self->n_groups < G_N_ELEMENTS (self->groups));
      grp = &self->groups[self->n_groups++];
      grp->w_sub = ws;
      grp->h_sub = hs;
      grp->n_comps = 0;
      grp->width = GST_VIDEO_INFO_COMP_WIDTH (in_info, c);
      grp->height = GST_VIDEO_INFO_COMP_HEIGHT (in_info, c);
    }
    grp->comps[grp->n_comps++] = c;
  }
  for (i = 0; i < 256; i++)
    gst_sibvad_overlay_colour (self, inferno[i], self->heat[i]);
  self->tab_map_width = self->tab_map_height = 0;

  GST_DEBUG_OBJECT (self, "%s %dx%d, %u component groups",
      GST_VIDEO_INFO_NAME (in_info), GST_VIDEO_INFO_WIDTH (in_info),
      GST_VIDEO_INFO_HEIGHT (in_info), self->n_groups);
  return TRUE;
}

static gboolean
gst_sibvad_overlay_start (GstBaseTransform * trans)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (trans);

  gst_sibvad_overlay_reset_history (self);
  return TRUE;
}

static gboolean
gst_sibvad_overlay_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    gst_sibvad_overlay_reset_history (GST_SIBVAD_OVERLAY (trans));
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* every buffer: keep the history (also when nothing is drawn) and go
 * passthrough (no copy, no map) when there is nothing to draw */
static void
gst_sibvad_overlay_before_transform (GstBaseTransform * trans,
    GstBuffer * buffer)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (trans);
  GstSibvadMeta *meta = gst_buffer_get_sibvad_meta (buffer);
  gboolean draw = FALSE, show_map, show_score, show_history;
  GstClockTime stream_time;
  gdouble alpha;
  guint history;

  stream_time = gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME,
      GST_BUFFER_TIMESTAMP (buffer));
  if (GST_CLOCK_TIME_IS_VALID (stream_time))
    gst_object_sync_values (GST_OBJECT (self), stream_time);

  GST_OBJECT_LOCK (self);
  alpha = self->alpha;
  show_map = self->show_map;
  show_score = self->show_score;
  show_history = self->show_history;
  history = self->history;
  GST_OBJECT_UNLOCK (self);

  gst_sibvad_overlay_resize_history (self, history);
  if (meta && meta->warming_up) {
    /* the score series starts again (start, flush, gap, caps change) */
    gst_sibvad_overlay_reset_history (self);
  } else if (meta) {
    gst_sibvad_overlay_push_history (self, meta->score, meta->anomaly);
    draw = show_score || show_history || (show_map && alpha > 0.0
        && meta->error_map != NULL && meta->map_width > 0
        && meta->map_height > 0);
  }
  if (draw == gst_base_transform_is_passthrough (trans))
    gst_base_transform_set_passthrough (trans, !draw);
}

/* A frame to draw on must be whole: a truncated buffer, or a video meta
 * whose planes reach past the memory, is an error (GstVideoFilter would warn
 * and pass it unchanged, or write out of bounds). */
static GstFlowReturn
gst_sibvad_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstFlowReturn ret = gst_sibvad_buffer_check_input (GST_VIDEO_FILTER (trans),
      buf);

  if (ret != GST_FLOW_OK)
    return ret;
  return GST_BASE_TRANSFORM_CLASS (parent_class)->transform_ip (trans, buf);
}

static GstFlowReturn
gst_sibvad_overlay_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (filter);
  GstSibvadMeta *meta = gst_buffer_get_sibvad_meta (frame->buffer);
  gboolean show_map, show_score, show_history;
  gdouble alpha;
  gfloat map_max, lo, hi;
  GstSibvadOverlayLayout l;

  if (!meta || meta->warming_up)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  alpha = self->alpha;
  map_max = self->map_max;
  show_map = self->show_map;
  show_score = self->show_score;
  show_history = self->show_history;
  GST_OBJECT_UNLOCK (self);

  if (show_map && alpha > 0.0 && meta->error_map && meta->map_width > 0
      && meta->map_height > 0) {
    GstMapInfo mi;
    /* (a model's input is at most 4096 pixels a side: larger map sizes
     * are garbage, and their product could overflow) */
    gsize need = meta->map_width <= 16384 && meta->map_height <= 16384 ?
        (gsize) meta->map_width * meta->map_height * sizeof (gfloat) :
        G_MAXSIZE;

    if (gst_buffer_map (meta->error_map, &mi, GST_MAP_READ)) {
      if (mi.size >= need)
        gst_sibvad_overlay_draw_map (self, frame, (const gfloat *) mi.data,
            meta->map_width, meta->map_height, alpha, map_max);
      else
        GST_WARNING_OBJECT (self, "error map of %" G_GSIZE_FORMAT
            " bytes, %ux%u floats need %" G_GSIZE_FORMAT, mi.size,
            meta->map_width, meta->map_height, need);
      gst_buffer_unmap (meta->error_map, &mi);
    } else {
      GST_WARNING_OBJECT (self, "cannot map the error map");
    }
  }

  if (!show_score && !show_history)
    return GST_FLOW_OK;
  gst_sibvad_overlay_layout (GST_VIDEO_FRAME_WIDTH (frame), GST_VIDEO_FRAME_HEIGHT (frame),
      &l);
  gst_sibvad_overlay_score_axis (self, meta->threshold, &lo, &hi);
  if (show_history)
    gst_sibvad_overlay_draw_history (self, frame, &l, meta->threshold, lo, hi);
  if (show_score)
    gst_sibvad_overlay_draw_bar (self, frame, &l, meta, lo, hi);
  return GST_FLOW_OK;
}

/* ---- GObject ---- */

static void
gst_sibvad_overlay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ALPHA:
      self->alpha = g_value_get_double (value);
      break;
    case PROP_MAP_MAX:
      self->map_max = g_value_get_float (value);
      break;
    case PROP_SHOW_MAP:
      self->show_map = g_value_get_boolean (value);
      break;
    case PROP_SHOW_SCORE:
      self->show_score = g_value_get_boolean (value);
      break;
    case PROP_SHOW_HISTORY:
      self->show_history = g_value_get_boolean (value);
      break;
    case PROP_HISTORY:
      self->history = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sibvad_overlay_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ALPHA:
      g_value_set_double (value, self->alpha);
      break;
    case PROP_MAP_MAX:
      g_value_set_float (value, self->map_max);
      break;
    case PROP_SHOW_MAP:
      g_value_set_boolean (value, self->show_map);
      break;
    case PROP_SHOW_SCORE:
      g_value_set_boolean (value, self->show_score);
      break;
    case PROP_SHOW_HISTORY:
      g_value_set_boolean (value, self->show_history);
      break;
    case PROP_HISTORY:
      g_value_set_uint (value, self->history);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sibvad_overlay_finalize (GObject * object)
{
  GstSibvadOverlay *self = GST_SIBVAD_OVERLAY (object);
  guint g;

  for (g = 0; g < G_N_ELEMENTS (self->groups); g++) {
    g_free (self->groups[g].x0);
    g_free (self->groups[g].fx);
    g_free (self->groups[g].y0);
    g_free (self->groups[g].fy);
  }
  g_free (self->norm_map);
  g_free (self->row);
  g_free (self->idx);
  g_free (self->sample);
  g_free (self->ring);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sibvad_overlay_class_init (GstSibvadOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_sibvad_overlay_debug, "sibvadoverlay", 0,
      "SIB-VAD overlay");

  gobject_class->set_property = gst_sibvad_overlay_set_property;
  gobject_class->get_property = gst_sibvad_overlay_get_property;
  gobject_class->finalize = gst_sibvad_overlay_finalize;

  g_object_class_install_property (gobject_class, PROP_ALPHA,
      g_param_spec_double ("alpha", "Alpha",
          "Opacity of the error map where the error reaches map-max (each "
          "pixel is blended with alpha times its normalised error)",
          0.0, 1.0, DEFAULT_ALPHA,
          G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE |
          G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_MAP_MAX,
      g_param_spec_float ("map-max", "Map maximum",
          "Error shown at the top of the colour map (0 = auto: the map's "
          "99th percentile, per frame)", 0.0f, G_MAXFLOAT, DEFAULT_MAP_MAX,
          G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE |
          G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_MAP,
      g_param_spec_boolean ("show-map", "Show map",
          "Draw the error map as an inferno heat map", DEFAULT_SHOW_MAP,
          G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE |
          G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_SCORE,
      g_param_spec_boolean ("show-score", "Show score",
          "Draw the score bar (bottom left, red during an alarm) with the "
          "threshold marked", DEFAULT_SHOW_SCORE,
          G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE |
          G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_HISTORY,
      g_param_spec_boolean ("show-history", "Show history",
          "Draw the curve of the last 'history' scores with the threshold "
          "line (bottom right)", DEFAULT_SHOW_HISTORY,
          G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE |
          G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_HISTORY,
      g_param_spec_uint ("history", "History",
          "Number of frames the score history curve spans", 2, 10000,
          DEFAULT_HISTORY,
          G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE |
          G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class, "SIB-VAD overlay",
      "Filter/Effect/Video",
      "Draws the SIB-VAD error map, anomaly score and score history onto "
      "the video", "sibvad");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_sibvad_overlay_start);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_sibvad_overlay_sink_event);
  trans_class->before_transform =
      GST_DEBUG_FUNCPTR (gst_sibvad_overlay_before_transform);
  /* nothing to do on a frame that has nothing to draw */
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_sibvad_overlay_transform_ip);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_sibvad_overlay_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_sibvad_overlay_transform_frame_ip);
}

static void
gst_sibvad_overlay_init (GstSibvadOverlay * self)
{
  self->alpha = DEFAULT_ALPHA;
  self->map_max = DEFAULT_MAP_MAX;
  self->show_map = DEFAULT_SHOW_MAP;
  self->show_score = DEFAULT_SHOW_SCORE;
  self->show_history = DEFAULT_SHOW_HISTORY;
  self->history = DEFAULT_HISTORY;
  gst_sibvad_overlay_resize_history (self, DEFAULT_HISTORY);
}
