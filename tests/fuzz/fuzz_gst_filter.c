/* fuzz_gst_filter.c: feeds upstream input to the sibvadfilter element
 * (gst/gstsibvadfilter.c, gst/sibvad-preprocess.c, the metas of
 * gst/libs/gst/sibvad): the fuzz bytes are read as a little program that
 * chooses
 *   - the element's settings: a tiny RGB or grey model (made at start, sem_dim
 *     32 like the tiny BERT of tests/fixtures/bert), semantic-source none /
 *     meta / caption, smoothing, inference interval, error map, custom meta,
 *     messages, JSON lines (to a temporary file);
 *   - the caps: one of the 9 formats of the pad template, width and height
 *     from 1x1 up to 300x300 (odd sizes included), a frame rate (0/1 too);
 *   - up to 12 buffers, each full size, truncated, empty or too large, with
 *     timestamps in order, with gaps, backwards or none, DISCONT, and a
 *     GstSibvadSemanticMeta of any length (values from the input: NaN and
 *     infinities too) and/or a GstSibvadCaptionMeta (any bytes up to a NUL);
 *   - caps changes, flushes and an EOS in between.
 * The element runs in a GstHarness; the plugin is linked in and registered
 * statically, and GStreamer scans no plugins and keeps its registry in the
 * temporary folder. */
#include "fuzz-gst.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/sibvad/sibvad-meta.h>
#include <gst/video/video.h>

#include "sibvad.h"


#define SEM_DIM 32
#define MAX_SIDE 300
#define MAX_BUFFERS 12

static const GstVideoFormat formats[9] = {
  GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
};

static char model_path[2][4400], json_path[4400], bert_dir[4400];

/* the fuzz input, read byte by byte (zeros once it is used up) */
typedef struct
{
  const uint8_t *p;
  size_t n;
} Reader;

static guint
u8 (Reader * r)
{
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

static guint
u16 (Reader * r)
{
  guint a = u8 (r);
  return a | u8 (r) << 8;
}

/* A float from the input: any bit pattern, NaN and infinities included
 * (sibvadfilter ignores semantic vectors holding them, with a warning). */
static gfloat
f32 (Reader * r)
{
  guint32 b = u16 (r);
  gfloat f;

  b |= (guint32) u16 (r) << 16;
  memcpy (&f, &b, 4);
  return f;
}

static void
make_model (int channels, const char *path)
{
  sibvad_config c;
  sibvad_error e;
  sibvad_model *m;

  if (sibvad_config_preset (&c, "tiny", &e) < 0)
    fuzz_die ("no tiny preset", e.msg);
  c.channels = channels;
  c.img_h = 16;
  c.img_w = 24;
  c.bb_depth = 1;
  c.de_depth = 1;
  c.fu_depth = 1;
  c.sem_dim = SEM_DIM;
  m = sibvad_model_create (&c, 3, &e);
  if (!m || sibvad_model_save (m, path, &e) < 0)
    fuzz_die ("cannot make the tiny model", e.msg);
  sibvad_model_free (m);
}

static GstCaps *
make_caps (Reader * r, GstVideoInfo * info)
{
  static const gint rates[][2] = { {25, 1}, {30000, 1001}, {0, 1}, {1, 1},
  {1000, 1}, {1, 1000}, {60, 1}
  };
  GstVideoFormat fmt = formats[u8 (r) % 9];
  guint w = 1 + u16 (r) % MAX_SIDE, h = 1 + u16 (r) % MAX_SIDE, k = u8 (r);
  gint fn, fd;

  if (k < 7 * 32) {
    fn = rates[k % 7][0];
    fd = rates[k % 7][1];
  } else {
    fn = u16 (r);
    fd = 1 + u16 (r);
  }
  gst_video_info_set_format (info, fmt, w, h);
  GST_VIDEO_INFO_FPS_N (info) = fn;
  GST_VIDEO_INFO_FPS_D (info) = fd;
  return gst_video_info_to_caps (info);
}

static GstBuffer *
make_buffer (Reader * r, const GstVideoInfo * info, GstClockTime * pts,
    gboolean * discont)
{
  guint how = u8 (r), i, seed, step;
  gsize size = GST_VIDEO_INFO_SIZE (info);
  GstBuffer *b;
  GstMapInfo map;
  GstClockTime dur = 40 * GST_MSECOND;

  switch (how & 7) {
    case 0:                    /* truncated */
      size = size ? (gsize) u16 (r) % size : 0;
      break;
    case 1:                    /* empty */
      size = 0;
      break;
    case 2:                    /* too large */
      size += 1 + u8 (r);
      break;
    default:                   /* the frame's size */
      break;
  }
  b = gst_buffer_new_allocate (NULL, size, NULL);
  /* pixels: a pattern seeded from the input */
  seed = u8 (r);
  step = 1 + u8 (r);
  if (size && gst_buffer_map (b, &map, GST_MAP_WRITE)) {
    for (i = 0; i < size; i++)
      map.data[i] = (guint8) (seed + i * step + (i / 7) * seed);
    gst_buffer_unmap (b, &map);
  }
  switch ((how >> 3) & 3) {
    case 0:                    /* in order */
      *pts += dur;
      break;
    case 1:                    /* a gap */
      *pts += (1 + u8 (r)) * dur;
      break;
    case 2:                    /* backwards */
      *pts = *pts > dur ? *pts - dur : 0;
      break;
    default:                   /* none */
      break;
  }
  if (((how >> 3) & 3) != 3) {
    GST_BUFFER_PTS (b) = *pts;
    GST_BUFFER_DURATION (b) = (how & 0x20) ? dur : GST_CLOCK_TIME_NONE;
  }
  if (how & 0x40 || *discont) {
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    *discont = FALSE;
  }
  /* metas */
  i = u8 (r);
  if (i & 1) {
    guint len = (i & 2) ? SEM_DIM : u8 (r) % 80, j;
    gfloat *v = g_new (gfloat, len ? len : 1);

    for (j = 0; j < len; j++)
      v[j] = (i & 4) ? f32 (r) : (gfloat) ((gint) u8 (r) - 128) / 64.0f;
    gst_buffer_add_sibvad_semantic_meta (b, len ? v : NULL, len);
    g_free (v);
  }
  if (i & 8) {
    gchar s[64] = { 0 };
    gsize len = u8 (r) & 63;

    len = MIN (len, r->n);

    memcpy (s, r->p, len);      /* up to 63 bytes; cut at a NUL */
    r->p += len;
    r->n -= len;
    gst_buffer_add_sibvad_caption_meta (b, s);
  }
  if (getenv ("FUZZ_VERBOSE")) {
    gchar *note = g_strdup_printf ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
        " bytes, how 0x%02x, metas 0x%02x", size, GST_VIDEO_INFO_SIZE (info),
        how, i);

    fuzz_note ("buffer", note);
    g_free (note);
  }
  return b;
}

static guint n_out, n_meta;

static void
drain (GstHarness * h)
{
  GstBuffer *b;
  GstEvent *ev;

  while ((b = gst_harness_try_pull (h))) {
    n_out++;
    n_meta += gst_buffer_get_sibvad_meta (b) != NULL;
    gst_buffer_unref (b);
  }
  while ((ev = gst_harness_try_pull_event (h)))
    gst_event_unref (ev);
  while ((ev = gst_harness_try_pull_upstream_event (h)))
    gst_event_unref (ev);
}

static void
run (const uint8_t * data, size_t size)
{
  static const char *sources[3] = { "none", "meta", "caption" };
  static const char *smoothing[3] = { "none", "causal", "centred" };
  Reader r = { data, size };
  guint flags = u8 (&r), flags2 = u8 (&r), nbuf, i;
  GstElement *e = gst_element_factory_make ("sibvadfilter", NULL);
  GstBus *bus;
  GstHarness *h;
  GstVideoInfo info;
  GstClockTime pts = 0;
  gboolean discont = FALSE, use_json = (flags2 & 0x10) != 0;
  GstFlowReturn last = GST_FLOW_OK;

  if (!e)
    fuzz_die ("sibvadfilter not registered", NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  g_object_set (e, "model-location", model_path[flags & 1], "threads", 1,
      "error-map", (flags & 2) != 0, "custom-meta", (flags & 4) != 0,
      "post-messages", (flags & 8) != 0, "message-interval",
      (guint64) ((flags >> 4) & 3) * 20 * GST_MSECOND,
      "inference-interval", 1 + (flags2 & 3), "alarm-min-frames",
      1 + ((flags2 >> 5) & 3), "alarm-gap", 1 + (flags2 >> 7), NULL);
  gst_util_set_object_arg (G_OBJECT (e), "semantic-source",
      sources[((flags >> 6) & 3) % 3]);
  gst_util_set_object_arg (G_OBJECT (e), "smoothing",
      smoothing[((flags2 >> 2) & 3) % 3]);
  g_object_set (e, "sigma", 0.1 + (u8 (&r) % 40) / 4.0, "threshold",
      (gfloat) ((gint) u8 (&r) - 128) / 16.0f, NULL);
  if (((flags >> 6) & 3) == 2)
    g_object_set (e, "text-encoder-location", bert_dir, NULL);
  if (use_json)
    g_object_set (e, "json-location", json_path, NULL);

  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);         /* the harness holds it */
  gst_harness_set_src_caps (h, make_caps (&r, &info));
  nbuf = 1 + u8 (&r) % MAX_BUFFERS;
  for (i = 0; i < nbuf; i++) {
    guint ev = u8 (&r);
    GstFlowReturn ret;

    if (ev < 16) {              /* new caps */
      GstVideoInfo ni;
      GstCaps *caps = make_caps (&r, &ni);

      if (gst_harness_push_event (h, gst_event_new_caps (caps)))
        info = ni;
      gst_caps_unref (caps);
    } else if (ev < 24) {       /* a flush */
      gst_harness_push_event (h, gst_event_new_flush_start ());
      gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
      {
        GstSegment seg;

        gst_segment_init (&seg, GST_FORMAT_TIME);
        gst_harness_push_event (h, gst_event_new_segment (&seg));
      }
      discont = TRUE;
    } else if (ev < 28) {       /* a gap event */
      gst_harness_push_event (h, gst_event_new_gap (pts, 40 * GST_MSECOND));
    }
    ret = last = gst_harness_push (h, make_buffer (&r, &info, &pts,
            &discont));
    drain (h);
    if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING)
      break;
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  drain (h);
  {
    gchar *note = g_strdup_printf ("%u buffers pushed, %u out, %u with a "
        "GstSibvadMeta, last flow %s", i, n_out, n_meta,
        gst_flow_get_name (last));

    fuzz_note ("ran", note);
    g_free (note);
    n_out = n_meta = 0;
  }
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  if (use_json)
    unlink (json_path);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char dir[4400];
  GDir *d;
  const gchar *name;

  (void) argc;
  (void) argv;
  /* no plugin scanning, the registry in the temporary folder, one thread */
  fuzz_gst_init ();
  make_model (3, fuzz_path (model_path[0], sizeof model_path[0],
          "tiny-rgb.safetensors"));
  make_model (1, fuzz_path (model_path[1], sizeof model_path[1],
          "tiny-gray.safetensors"));
  fuzz_path (json_path, sizeof json_path, "scores.jsonl");
  snprintf (bert_dir, sizeof bert_dir, "%s/tests/fixtures/bert",
      FUZZ_SOURCE_ROOT);
  /* one-time initialisations (types, converters, debug categories) happen
   * here, outside the leak checks of the inputs: the seed corpus (every
   * format, both models, every semantic source) is run once */
  snprintf (dir, sizeof dir, "%s/tests/fuzz/corpus/gst_filter",
      FUZZ_SOURCE_ROOT);
  d = g_dir_open (dir, 0, NULL);
  while (d && (name = g_dir_read_name (d))) {
    gchar *path = g_build_filename (dir, name, NULL), *contents = NULL;
    gsize len = 0;

    if (g_file_get_contents (path, &contents, &len, NULL))
      run ((const uint8_t *) contents, len);
    g_free (contents);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  run (data, size);
  return 0;
}
