/* fuzz_gst_caps.c: feeds caps strings, as upstream can send them in a caps
 * event, to the sink pad of sibvadfilter (gst/gstsibvadfilter.c and
 * gst/sibvad-preprocess.c: caps queries, accept-caps, set_info with any
 * fields: formats, sizes, framerates, pixel aspect ratios, colorimetry,
 * chroma-site, interlace-mode, multiview, ...). The input up to the first
 * NUL is parsed with gst_caps_from_string; its first structure is used for
 * a caps query and an accept-caps query on the sink pad, then (fixated)
 * pushed as the caps event of a GstHarness; when the element accepts it, two
 * frames of that size are pushed (frames of more than 8 MB are not allocated:
 * a small buffer is pushed instead, which must be refused cleanly). Caps of
 * frames whose RGB copy exceeds 512 MB are not sent (see below).
 * The plugin is linked in and registered statically; GStreamer scans no
 * plugins and keeps its registry in the temporary folder. */
#include "fuzz-gst.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "sibvad.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif


#ifdef __SANITIZE_ADDRESS__
/* GLib's quark table: its first block is allocated by libglib's constructor
 * and never freed when new field names outgrow it (GLib leaks outgrown
 * blocks on purpose, for lock-free lookups). Those constructor allocations
 * are one-time state, not leaks of the code under test; matching them needs
 * the full allocation stacks (libglib has no frame pointers), kept short. */
const char *__lsan_default_suppressions (void);
const char *__asan_default_options (void);

const char *
__lsan_default_suppressions (void)
{
  return "leak:_dl_init\n";
}

const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0:malloc_context_size=12";
}
#endif

#define MAX_FRAME_BYTES (8u << 20)

static char model_path[4400];

static void
drain (GstHarness * h)
{
  GstBuffer *b;
  GstEvent *ev;

  while ((b = gst_harness_try_pull (h)))
    gst_buffer_unref (b);
  while ((ev = gst_harness_try_pull_event (h)))
    gst_event_unref (ev);
  while ((ev = gst_harness_try_pull_upstream_event (h)))
    gst_event_unref (ev);
}

/* GStreamer 1.22's caps parser leaks on some malformed lists (e.g. a
 * format list holding invalid UTF-8): not the code under test, so its
 * allocations are left out of the leak checks */
static GstCaps *
parse_caps (const char *str)
{
  GstCaps *caps;

#ifdef __SANITIZE_ADDRESS__
  __lsan_disable ();
#endif
  caps = gst_caps_from_string (str);
#ifdef __SANITIZE_ADDRESS__
  __lsan_enable ();
#endif
  return caps;
}

/* GStreamer 1.22's caps parser also accepts lists and arrays whose values
 * have different types ("format={RGBA,2}": a string, then an int), which
 * the documentation rules out and on which GStreamer's own comparisons crash
 * (gst_caps_is_subset reads the int as a string: a caps query to
 * videoconvert, videoflip or identity segfaults too). No working pipeline
 * can carry them, so such caps are skipped. */
static gboolean
value_types_uniform (const GValue * v)
{
  guint i, n;
  GType first = G_TYPE_INVALID;

  if (!GST_VALUE_HOLDS_LIST (v) && !GST_VALUE_HOLDS_ARRAY (v))
    return TRUE;
  n = GST_VALUE_HOLDS_LIST (v) ? gst_value_list_get_size (v) :
      gst_value_array_get_size (v);
  for (i = 0; i < n; i++) {
    const GValue *x = GST_VALUE_HOLDS_LIST (v) ?
        gst_value_list_get_value (v, i) : gst_value_array_get_value (v, i);

    if (i == 0)
      first = G_VALUE_TYPE (x);
    else if (G_VALUE_TYPE (x) != first)
      return FALSE;
    if (!value_types_uniform (x))
      return FALSE;
  }
  return TRUE;
}

static gboolean
field_uniform (GQuark field, const GValue * value, gpointer user_data)
{
  return value_types_uniform (value);
}

static gboolean
caps_types_uniform (const GstCaps * caps)
{
  guint i;

  for (i = 0; i < gst_caps_get_size (caps); i++)
    if (!gst_structure_foreach (gst_caps_get_structure (caps, i),
            field_uniform, NULL))
      return FALSE;
  return TRUE;
}

static void
run (const char *str)
{
  GstCaps *caps = parse_caps (str), *one, *q;
  GstElement *e;
  GstHarness *h;
  GstPad *sink;
  GstQuery *query;
  GstVideoInfo info;
  gboolean accepted = FALSE;
  guint i;

  if (!caps)
    return;
  if (gst_caps_is_empty (caps) || gst_caps_is_any (caps)
      || !caps_types_uniform (caps)) {
    gst_caps_unref (caps);
    return;
  }
  one = gst_caps_copy_nth (caps, 0);
  gst_caps_unref (caps);

  e = gst_element_factory_make ("sibvadfilter", NULL);
  if (!e)
    fuzz_die ("sibvadfilter not registered", NULL);
  g_object_set (e, "model-location", model_path, "threads", 1, NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  sink = gst_element_get_static_pad (h->element, "sink");

  /* the caps query upstream makes before it decides */
  q = gst_pad_query_caps (sink, one);
  gst_caps_unref (q);

  /* fixated as a source would; an accept-caps query, then the events a
   * source sends: stream-start, caps, segment (by hand: the harness's
   * set_src_caps asserts that the caps are accepted) */
  one = gst_caps_fixate (one);
  if (!gst_caps_is_fixed (one)) {     /* e.g. an empty list: no caps event */
    gst_caps_unref (one);
    gst_object_unref (sink);
    gst_harness_teardown (h);
    return;
  }
  /* the element converts each frame to RGB at its own size: caps whose RGB
   * frame exceeds 512 MB are not sent (the element would need that much, and
   * the fuzzer's allocation limit is 2 GB; when the memory is not there the
   * element fails the negotiation, see sibvad-preprocess.c) */
  if (gst_video_info_from_caps (&info, one)
      && (guint64) GST_VIDEO_INFO_WIDTH (&info) *
      (guint64) GST_VIDEO_INFO_HEIGHT (&info) * 3 > (512u << 20)) {
    gst_caps_unref (one);
    gst_object_unref (sink);
    gst_harness_teardown (h);
    return;
  }
  query = gst_query_new_accept_caps (one);
  if (gst_pad_query (sink, query))
    gst_query_parse_accept_caps_result (query, &accepted);
  gst_query_unref (query);
  gst_harness_push_event (h, gst_event_new_stream_start ("fuzz"));
  gst_harness_push_event (h, gst_event_new_caps (one));
  {
    GstSegment seg;

    gst_segment_init (&seg, GST_FORMAT_TIME);
    gst_harness_push_event (h, gst_event_new_segment (&seg));
  }
  if (gst_video_info_from_caps (&info, one)) {
    for (i = 0; i < 2; i++) {
      gsize size = GST_VIDEO_INFO_SIZE (&info);
      GstBuffer *b = gst_buffer_new_allocate (NULL,
          size <= MAX_FRAME_BYTES ? size : 64, NULL);

      if (size <= MAX_FRAME_BYTES && size)
        gst_buffer_memset (b, 0, (guint8) (0x35 * (i + 1)), size);
      GST_BUFFER_PTS (b) = i * 40 * GST_MSECOND;
      gst_harness_push (h, b);
      drain (h);
    }
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  drain (h);
  gst_caps_unref (one);
  gst_object_unref (sink);
  gst_harness_teardown (h);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sibvad_config c;
  sibvad_error err;
  sibvad_model *m;
  char dir[4400];
  GDir *d;
  const gchar *name;

  (void) argc;
  (void) argv;
  /* GLib never frees the quark table it outgrows (other threads may read it):
   * the tables allocated here, where gst_init makes some 2000 quarks, would
   * show as leaks when new field names outgrow them during a run, so the
   * allocations of the start are left out of the leak checks, as the caps
   * parser's are (parse_caps) */
#ifdef __SANITIZE_ADDRESS__
  __lsan_disable ();
#endif
  fuzz_gst_init ();

  /* a tiny model: 24x16 RGB */
  if (sibvad_config_preset (&c, "tiny", &err) < 0)
    fuzz_die ("no tiny preset", err.msg);
  c.img_h = 16;
  c.img_w = 24;
  c.bb_depth = 1;
  c.de_depth = 1;
  c.fu_depth = 1;
  m = sibvad_model_create (&c, 5, &err);
  if (!m || sibvad_model_save (m, fuzz_path (model_path, sizeof model_path,
              "tiny.safetensors"), &err) < 0)
    fuzz_die ("cannot make the tiny model", err.msg);
  sibvad_model_free (m);
  /* one-time initialisations (types, converters, debug categories) happen
   * here, outside the leak checks of the inputs: the seed corpus is run once */
  snprintf (dir, sizeof dir, "%s/tests/fuzz/corpus/gst_caps", FUZZ_SOURCE_ROOT);
  d = g_dir_open (dir, 0, NULL);
  while (d && (name = g_dir_read_name (d))) {
    gchar *path = g_build_filename (dir, name, NULL), *contents = NULL;

    if (g_file_get_contents (path, &contents, NULL, NULL))
      run (contents);
    g_free (contents);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
#ifdef __SANITIZE_ADDRESS__
  __lsan_enable ();
#endif
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  char *s = fuzz_strndup (data, size);

  run (s);
  free (s);
  return 0;
}
