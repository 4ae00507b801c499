/* stress-element.c: stress test of the sibvad elements in real pipelines
 * (`appsrc ! sibvadfilter ! sibvadoverlay ! fakesink`), with a small real
 * model (the core's "tiny" preset, untrained, written to a temporary file at
 * start). Each mode prints one JSON line with its figures; the exit status
 * is non-zero when any mode fails.
 *
 *   stress-element [--quick] [--no-rss-check] [--seed N] [--model FILE]
 *                  [--instance-frames N] [--instance-threads N]
 *                  MODE [COUNT] [MODE [COUNT]]...
 *
 *   frames N     push N frames (100000) from a pool of pre-made frames; the
 *                process RSS (VmRSS) and peak (VmHWM) are sampled every 5000
 *                frames and must stay flat after a 10000-frame warm-up
 *                (growth <= 2 MiB); buffers out == in, a meta on each, frame
 *                numbers in order
 *   caps K       K caps changes (1000) mid-stream: formats and sizes down to
 *                1x1, a few frames each; every frame out with a meta that
 *                describes its size, no error on the bus
 *   states K     K cycles (2000) NULL -> PLAYING -> NULL, a few frames pushed
 *                in most, none in some, some through PAUSED only, a new
 *                configuration set in NULL each time; RSS flat after the
 *                first 100 cycles (growth <= 2 MiB)
 *   props S      stream for S seconds (20) while another thread sets every
 *                writable property of both elements at random as fast as it
 *                can; frames keep flowing, each with a meta
 *   instances N  N pipelines (4) in N threads at once on the same model file;
 *                each one's results equal a single-instance run on the same
 *                frames (bitwise, else within 1e-6 relative)
 *   bad          truncated, zero-size, memory-less and oversized buffers,
 *                broken video metas, odd frame sizes, missing and unusable
 *                caps: each either passes cleanly (every frame out with a
 *                meta) or gives a GST_ELEMENT_ERROR on the bus; prints what
 *                each gave
 *   all          every mode with its default count
 *
 * --quick divides every count (and the RSS warm-up and sampling period) by
 * 20, for CI (but keeps 4 instances, with 1/20 of the frames each, and props
 * for 2 s). --no-rss-check keeps the RSS figures but does not judge them
 * (under valgrind; always so in an AddressSanitizer build). --model runs the modes on another model file (instances
 * on ped2-lite: matrix products large enough for OpenBLAS to use several
 * threads); --instance-frames and --instance-threads (0: 1 and 2
 * alternating) set the frames and threads of each instance.
 *
 * Any GLib/GStreamer critical or warning (g_log) fails the run, and so does
 * a leak report of GST_TRACERS=leaks at gst_deinit. Needs GST_PLUGIN_PATH to
 * hold the plugin (the meson test and scripts/stress-element set it);
 * SIBVAD_FIXTURES (tests/fixtures) gives props mode the tiny BERT for
 * captions. docs/reliability.md, section "Element stress", has the figures. */
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <gst/sibvad/sibvad-meta.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sibvad.h"

#define FRAME_NS (40 * GST_MSECOND)
#define T_IN 4
#define MIB (1024.0 * 1024.0)
#define SEM_DIM 32

/* ---- global state ------------------------------------------------------- */

static gboolean quick;
/* Off under AddressSanitizer: its quarantine keeps freed memory (up to
 * 256 MB) resident, so the RSS grows with the bytes freed, not with leaks
 * (LeakSanitizer checks those at exit instead). */
#if defined(__SANITIZE_ADDRESS__)
static gboolean rss_check = FALSE;
#else
static gboolean rss_check = TRUE;
#endif
static guint64 seed = 20240611;
static gchar *model_path;       /* the tiny model, in tmp_dir */
static gchar *user_model;       /* --model: instead of the tiny one */
static guint instance_frames;   /* --instance-frames: instead of 3000 */
static guint instance_threads;  /* --instance-threads: all with this many
                                 * (0: 1 and 2, alternating) */
static gchar *tmp_dir;

/* g_log criticals and warnings seen (from any thread) */
static gint log_criticals, log_warnings;
static GMutex log_lock;
static GPtrArray *log_messages; /* the first few, for the report */

/* the failures of the mode running now */
static GPtrArray *failures;
static GMutex fail_lock;

static void
fail_msg (const gchar * fmt, ...) G_GNUC_PRINTF (1, 2);

static void
fail_msg (const gchar * fmt, ...)
{
  va_list ap;
  gchar *s;

  va_start (ap, fmt);
  s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_mutex_lock (&fail_lock);
  if (failures->len < 50)
    g_ptr_array_add (failures, s);
  else
    g_free (s);
  g_mutex_unlock (&fail_lock);
}

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField * fields, gsize n,
    gpointer user)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR)) {
    const gchar *msg = NULL, *domain = NULL;
    gsize i;

    for (i = 0; i < n; i++) {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        msg = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
    }
    if (level & G_LOG_LEVEL_WARNING)
      g_atomic_int_inc (&log_warnings);
    else
      g_atomic_int_inc (&log_criticals);
    g_mutex_lock (&log_lock);
    if (log_messages && log_messages->len < 20)
      g_ptr_array_add (log_messages, g_strdup_printf ("%s-%s: %s",
              domain ? domain : "?", (level & G_LOG_LEVEL_WARNING) ?
              "WARNING" : "CRITICAL", msg ? msg : "?"));
    g_mutex_unlock (&log_lock);
  }
  return g_log_writer_default (level, fields, n, user);
}

/* ---- measurements ------------------------------------------------------- */

/* VmRSS and VmHWM of this process in KiB */
static void
read_rss (gint64 * rss, gint64 * hwm)
{
  gchar *text = NULL, *p;

  *rss = *hwm = -1;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return;
  if ((p = strstr (text, "VmRSS:")))
    *rss = g_ascii_strtoll (p + 6, NULL, 10);
  if ((p = strstr (text, "VmHWM:")))
    *hwm = g_ascii_strtoll (p + 6, NULL, 10);
  g_free (text);
}

static gint64
rss_now (void)
{
  gint64 rss, hwm;

  read_rss (&rss, &hwm);
  return rss;
}

static guint
scaled (guint n)
{
  return quick ? MAX (n / 20, 1) : n;
}

/* ---- JSON --------------------------------------------------------------- */

static void
json_str (GString * s, const gchar * v)
{
  const gchar *p;

  if (!v) {
    g_string_append (s, "null");
    return;
  }
  g_string_append_c (s, '"');
  for (p = v; *p; p++) {
    guchar c = *p;

    if (c == '"' || c == '\\')
      g_string_append_printf (s, "\\%c", c);
    else if (c == '\n')
      g_string_append (s, "\\n");
    else if (c < 0x20)
      g_string_append_printf (s, "\\u%04x", c);
    else
      g_string_append_c (s, c);
  }
  g_string_append_c (s, '"');
}

static void
json_key (GString * s, const gchar * k)
{
  if (s->len > 1 && s->str[s->len - 1] != '{' && s->str[s->len - 1] != '[')
    g_string_append_c (s, ',');
  json_str (s, k);
  g_string_append_c (s, ':');
}

static void
json_double (GString * s, const gchar * k, gdouble v)
{
  json_key (s, k);
  if (isfinite (v))
    g_string_append_printf (s, "%.6g", v);
  else
    g_string_append (s, "null");
}

static void
json_int (GString * s, const gchar * k, gint64 v)
{
  json_key (s, k);
  g_string_append_printf (s, "%" G_GINT64_FORMAT, v);
}

static void
json_bool (GString * s, const gchar * k, gboolean v)
{
  json_key (s, k);
  g_string_append (s, v ? "true" : "false");
}

static void
json_string (GString * s, const gchar * k, const gchar * v)
{
  json_key (s, k);
  json_str (s, v);
}

static void
json_int_array (GString * s, const gchar * k, GArray * a)
{
  guint i;

  json_key (s, k);
  g_string_append_c (s, '[');
  for (i = 0; i < a->len; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "",
        g_array_index (a, gint64, i));
  g_string_append_c (s, ']');
}

/* ---- the model and the frames ------------------------------------------- */

static gboolean
make_model (void)
{
  sibvad_config cfg;
  sibvad_error e = { {0} };
  sibvad_model *m;
  GError *err = NULL;

  tmp_dir = g_dir_make_tmp ("sibvad-stress-XXXXXX", &err);
  if (!tmp_dir) {
    g_printerr ("stress-element: %s\n", err->message);
    g_error_free (err);
    return FALSE;
  }
  if (user_model) {
    model_path = g_strdup (user_model);
    return TRUE;
  }
  model_path = g_build_filename (tmp_dir, "tiny.safetensors", NULL);
  if (sibvad_config_preset (&cfg, "tiny", &e) < 0)
    goto fail;
  /* the semantic size of the tiny BERT of tests/fixtures/bert (props mode
   * embeds captions with it) */
  cfg.sem_dim = SEM_DIM;
  /* the tiny preset (32x24 input, patch 8): a real model, thousands of
   * frames per second */
  m = sibvad_model_create (&cfg, 7, &e);
  if (!m)
    goto fail;
  if (sibvad_model_save (m, model_path, &e) < 0) {
    sibvad_model_free (m);
    goto fail;
  }
  sibvad_model_free (m);
  return TRUE;
fail:
  g_printerr ("stress-element: cannot make the tiny model: %s\n", e.msg);
  return FALSE;
}

static guint32
hash32 (guint32 x)
{
  x ^= x >> 16;
  x *= 0x7feb352d;
  x ^= x >> 15;
  x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

/* frame @idx of a scene (textured background, a bright square moving) in
 * any format and size; every component of every plane is written */
static GstBuffer *
make_frame (GstVideoFormat fmt, gint w, gint h, guint idx)
{
  GstVideoInfo info;
  GstVideoFrame f;
  GstBuffer *b;
  guint c;

  gst_video_info_set_format (&info, fmt, w, h);
  b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_memset (b, 0, 0, GST_VIDEO_INFO_SIZE (&info));
  if (!gst_video_frame_map (&f, &info, b, GST_MAP_WRITE)) {
    fail_msg ("cannot map a %s %dx%d frame", gst_video_format_to_string (fmt),
        w, h);
    return b;
  }
  for (c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS (&f); c++) {
    gint cw = GST_VIDEO_FRAME_COMP_WIDTH (&f, c);
    gint ch = GST_VIDEO_FRAME_COMP_HEIGHT (&f, c);
    gint stride = GST_VIDEO_FRAME_COMP_STRIDE (&f, c);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c);
    guint8 *data = GST_VIDEO_FRAME_COMP_DATA (&f, c);
    gboolean chroma = GST_VIDEO_FORMAT_INFO_IS_YUV (info.finfo) && c > 0;
    /* the square: a quarter of the frame, moving 1/16 of it per frame */
    gint sx = (gint) ((idx * (guint) cw / 16) % (guint) MAX (cw, 1));
    gint sy = (gint) ((idx * (guint) ch / 24) % (guint) MAX (ch, 1));
    gint x, y;

    for (y = 0; y < ch; y++) {
      guint8 *p = data + (gsize) y * stride;

      for (x = 0; x < cw; x++, p += ps) {
        gboolean in = x >= sx && x < sx + MAX (cw / 4, 1) && y >= sy
            && y < sy + MAX (ch / 4, 1);
        guint v;

        if (chroma)
          v = in ? 90 + 60 * c : 128 + (hash32 (x * 31 + y * 17 + c) & 7);
        else
          v = in ? 230 : 40 + ((x * 3 + y * 5) & 63) +
              (hash32 (x + 977 * y + 131 * c) & 31);
        *p = (guint8) v;
      }
    }
  }
  gst_video_frame_unmap (&f);
  return b;
}

static GstCaps *
video_caps (GstVideoFormat fmt, gint w, gint h)
{
  return gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, gst_video_format_to_string (fmt),
      "width", G_TYPE_INT, w, "height", G_TYPE_INT, h,
      "framerate", GST_TYPE_FRACTION, 25, 1, NULL);
}

/* ---- a pipeline --------------------------------------------------------- */

typedef struct
{
  guint64 frame;
  gboolean warming_up;
  gfloat visual, raw, score;
  gdouble map_sum;
} Rec;

typedef struct
{
  GstElement *pipe, *src, *filter, *overlay, *sink;
  GstBus *bus;
  /* written by the streaming thread (probe) */
  gint out, with_meta, scored, multi_meta, seq_errors, size_errors;
  guint64 next_frame;
  gboolean check_seq, check_size, record;
  GArray *recs;                 /* Rec, with record */
  /* bus (the thread that owns the pipeline) */
  guint errors, warnings, element_msgs;
  gchar *first_error;           /* "element: message (debug)" */
  gchar *first_warning;
  gboolean eos;
  GstClockTime next_pts;
  gint no_meta_index;           /* the first buffer out without a meta */
  GstClockTime no_meta_pts;
} Pipe;

static GstPadProbeReturn
sink_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user)
{
  Pipe *p = user;
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  GstSibvadMeta *m = gst_buffer_get_sibvad_meta (b);
  gpointer state = NULL;
  /* one streaming thread writes the counters; `out` is counted last, so a
   * reader that sees a buffer out also sees what the other counters say
   * about it */
  gint index = g_atomic_int_get (&p->out);
  guint n = 0;

  while (gst_buffer_iterate_meta_filtered (b, &state, GST_SIBVAD_META_API_TYPE))
    n++;
  if (n > 1)
    g_atomic_int_inc (&p->multi_meta);
  if (!m) {
    if (p->no_meta_index < 0) {
      p->no_meta_index = index;
      p->no_meta_pts = GST_BUFFER_PTS (b);
    }
    g_atomic_int_inc (&p->out);
    return GST_PAD_PROBE_OK;
  }
  g_atomic_int_inc (&p->with_meta);
  if (!m->warming_up)
    g_atomic_int_inc (&p->scored);
  if (p->check_seq) {
    if (m->frame_number != p->next_frame)
      g_atomic_int_inc (&p->seq_errors);
    p->next_frame = m->frame_number + 1;
  }
  if (p->check_size) {
    GstCaps *caps = gst_pad_get_current_caps (pad);
    GstVideoInfo vi;

    if (!caps || !gst_video_info_from_caps (&vi, caps)
        || (guint) GST_VIDEO_INFO_WIDTH (&vi) != m->frame_width
        || (guint) GST_VIDEO_INFO_HEIGHT (&vi) != m->frame_height)
      g_atomic_int_inc (&p->size_errors);
    gst_clear_caps (&caps);
  }
  if (p->record) {
    Rec r = { m->frame_number, m->warming_up, m->visual_error, m->raw_score,
      m->score, 0.0
    };

    if (m->error_map) {
      GstMapInfo mi;

      if (gst_buffer_map (m->error_map, &mi, GST_MAP_READ)) {
        const gfloat *v = (const gfloat *) mi.data;
        gsize i;

        for (i = 0; i < mi.size / sizeof (gfloat); i++)
          r.map_sum += v[i] * (1.0 + (i % 7));
        gst_buffer_unmap (m->error_map, &mi);
      }
    }
    g_array_append_val (p->recs, r);
  }
  g_atomic_int_inc (&p->out);
  return GST_PAD_PROBE_OK;
}

/* appsrc ! sibvadfilter ! sibvadoverlay ! fakesink; @caps may be NULL;
 * @filter_props: "name=value" pairs, NULL-terminated (after the tiny model,
 * device=cpu and threads=1) */
static Pipe *
pipe_new_full (GstCaps * caps, gboolean filter, gboolean overlay,
    const gchar * const *filter_props)
{
  Pipe *p = g_new0 (Pipe, 1);
  GstPad *pad;

  p->pipe = gst_pipeline_new (NULL);
  p->src = gst_element_factory_make ("appsrc", NULL);
  p->filter = gst_element_factory_make (filter ? "sibvadfilter" :
      "identity", NULL);
  p->overlay = overlay ? gst_element_factory_make ("sibvadoverlay", NULL) :
      NULL;
  p->sink = gst_element_factory_make ("fakesink", NULL);
  if (!p->src || !p->filter || (overlay && !p->overlay) || !p->sink) {
    g_printerr ("stress-element: sibvadfilter, sibvadoverlay, appsrc or "
        "fakesink not found (GST_PLUGIN_PATH?)\n");
    exit (2);
  }
  g_object_set (p->src, "format", GST_FORMAT_TIME, "block", TRUE,
      "max-bytes", (guint64) 1 << 20, NULL);
  if (caps)
    g_object_set (p->src, "caps", caps, NULL);
  if (filter)
    g_object_set (p->filter, "model-location", model_path,
        "device", 1 /* cpu */ , "threads", 1, NULL);
  for (; filter && filter_props && *filter_props; filter_props++) {
    gchar **kv = g_strsplit (*filter_props, "=", 2);

    gst_util_set_object_arg (G_OBJECT (p->filter), kv[0], kv[1]);
    g_strfreev (kv);
  }
  g_object_set (p->sink, "sync", FALSE, NULL);
  gst_bin_add_many (GST_BIN (p->pipe), p->src, p->filter, p->sink, NULL);
  if (p->overlay) {
    gst_bin_add (GST_BIN (p->pipe), p->overlay);
    gst_element_link_many (p->src, p->filter, p->overlay, p->sink, NULL);
  } else {
    gst_element_link_many (p->src, p->filter, p->sink, NULL);
  }
  pad = gst_element_get_static_pad (p->sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sink_probe, p, NULL);
  gst_object_unref (pad);
  p->bus = gst_element_get_bus (p->pipe);
  p->recs = g_array_new (FALSE, FALSE, sizeof (Rec));
  p->next_pts = 0;
  p->no_meta_index = -1;
  return p;
}

static Pipe *
pipe_new (GstCaps * caps, gboolean overlay, const gchar * const *filter_props)
{
  return pipe_new_full (caps, TRUE, overlay, filter_props);
}

static void
pipe_reset_counts (Pipe * p)
{
  g_atomic_int_set (&p->out, 0);
  g_atomic_int_set (&p->with_meta, 0);
  g_atomic_int_set (&p->scored, 0);
  p->next_frame = 0;
  p->eos = FALSE;
  p->no_meta_index = -1;
}

static void
pipe_handle (Pipe * p, GstMessage * m)
{
  switch (GST_MESSAGE_TYPE (m)) {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING:{
      GError *err = NULL;
      gchar *dbg = NULL, *s;

      if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
        gst_message_parse_error (m, &err, &dbg);
      else
        gst_message_parse_warning (m, &err, &dbg);
      s = g_strdup_printf ("%s: %s: %s (%s)", GST_MESSAGE_TYPE (m) ==
          GST_MESSAGE_ERROR ? "error" : "warning",
          GST_MESSAGE_SRC_NAME (m), err->message, dbg ? dbg : "");
      if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
        p->errors++;
        if (!p->first_error)
          p->first_error = s;
        else
          g_free (s);
      } else {
        p->warnings++;
        if (!p->first_warning)
          p->first_warning = s;
        else
          g_free (s);
      }
      g_clear_error (&err);
      g_free (dbg);
      break;
    }
    case GST_MESSAGE_EOS:
      p->eos = TRUE;
      break;
    case GST_MESSAGE_ELEMENT:
      p->element_msgs++;
      break;
    default:
      break;
  }
}

/* handle what is on the bus now */
static void
pipe_poll (Pipe * p)
{
  GstMessage *m;

  while ((m = gst_bus_pop (p->bus))) {
    pipe_handle (p, m);
    gst_message_unref (m);
  }
}

/* until EOS or an error, at most @timeout; TRUE on EOS */
static gboolean
pipe_wait_eos (Pipe * p, GstClockTime timeout)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout / 1000);

  while (!p->eos && !p->errors) {
    gint64 left = end - g_get_monotonic_time ();
    GstMessage *m;

    if (left <= 0)
      break;
    m = gst_bus_timed_pop (p->bus, (GstClockTime) left * 1000);
    if (!m)
      break;
    pipe_handle (p, m);
    gst_message_unref (m);
  }
  return p->eos;
}

/* wait until @n buffers have left (or an error, or @timeout) */
static gboolean
pipe_wait_out (Pipe * p, gint n, GstClockTime timeout)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout / 1000);

  while (g_atomic_int_get (&p->out) < n) {
    pipe_poll (p);
    if (p->errors || g_get_monotonic_time () > end)
      return FALSE;
    g_usleep (200);
  }
  return TRUE;
}

static GstFlowReturn
pipe_push (Pipe * p, GstBuffer * b)
{
  if (!GST_BUFFER_PTS_IS_VALID (b)) {
    GST_BUFFER_PTS (b) = p->next_pts;
    GST_BUFFER_DURATION (b) = FRAME_NS;
  }
  p->next_pts = GST_BUFFER_PTS (b) + FRAME_NS;
  return gst_app_src_push_buffer (GST_APP_SRC (p->src), b);
}

static gboolean
set_state_wait (Pipe * p, GstState s)
{
  GstStateChangeReturn r = gst_element_set_state (p->pipe, s);

  if (r == GST_STATE_CHANGE_ASYNC)
    r = gst_element_get_state (p->pipe, NULL, NULL, 30 * GST_SECOND);
  return r != GST_STATE_CHANGE_FAILURE && r != GST_STATE_CHANGE_ASYNC;
}

static void
pipe_free (Pipe * p)
{
  gst_element_set_state (p->pipe, GST_STATE_NULL);
  pipe_poll (p);
  gst_bus_set_flushing (p->bus, TRUE);
  gst_object_unref (p->bus);
  gst_object_unref (p->pipe);
  g_array_unref (p->recs);
  g_free (p->first_error);
  g_free (p->first_warning);
  g_free (p);
}

/* a pipeline error is a failure of the mode */
static void
check_no_error (Pipe * p, const gchar * what)
{
  pipe_poll (p);
  if (p->errors)
    fail_msg ("%s: %s", what, p->first_error);
}

/* ---- mode: frames ------------------------------------------------------- */

#define POOL 48

static void
mode_frames (GString * js, guint n)
{
  const gint w = 160, h = 120;
  const GstVideoFormat fmt = GST_VIDEO_FORMAT_I420;
  guint every = scaled (5000), warm = scaled (10000), i, pushed = 0;
  GstBuffer *pool[POOL];
  GstCaps *caps = video_caps (fmt, w, h);
  GArray *at = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *rss = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *hwm = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 r, hw, base = -1, growth = 0, t0, t1;
  gdouble secs;
  Pipe *p;

  for (i = 0; i < POOL; i++)
    pool[i] = make_frame (fmt, w, h, i);
  p = pipe_new (caps, TRUE, NULL);
  p->check_seq = TRUE;
  gst_caps_unref (caps);
  /* PLAYING at once: the sink prerolls on the first frame */
  if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    fail_msg ("frames: cannot start the pipeline");

  t0 = g_get_monotonic_time ();
  for (i = 0; i < n; i++) {
    GstBuffer *b;

    if (i % every == 0) {
      read_rss (&r, &hw);
      { gint64 ii = i; g_array_append_val (at, ii); }
      g_array_append_val (rss, r);
      g_array_append_val (hwm, hw);
      if (i == warm)
        base = r;
    }
    /* a new buffer sharing the pool's memory (the overlay, which draws in
     * place, copies it on write) */
    b = gst_buffer_copy (pool[i % POOL]);
    if (pipe_push (p, b) != GST_FLOW_OK) {
      fail_msg ("frames: push %u refused", i);
      break;
    }
    pushed++;
    if (i % 500 == 0) {
      pipe_poll (p);
      if (p->errors)
        break;
    }
  }
  gst_app_src_end_of_stream (GST_APP_SRC (p->src));
  if (!pipe_wait_eos (p, 120 * GST_SECOND))
    fail_msg ("frames: no EOS%s%s", p->errors ? ": " : "",
        p->errors ? p->first_error : "");
  t1 = g_get_monotonic_time ();
  read_rss (&r, &hw);
  { gint64 ii = pushed; g_array_append_val (at, ii); }
  g_array_append_val (rss, r);
  g_array_append_val (hwm, hw);
  if (base < 0)
    base = g_array_index (rss, gint64, 0);
  growth = r - base;
  check_no_error (p, "frames");

  if ((guint) p->out != pushed)
    fail_msg ("frames: %u in, %d out", pushed, p->out);
  if (p->with_meta != p->out)
    fail_msg ("frames: %d of %d buffers without a meta", p->out - p->with_meta,
        p->out);
  if (p->seq_errors)
    fail_msg ("frames: %d frame numbers out of order", p->seq_errors);
  if (p->multi_meta)
    fail_msg ("frames: %d buffers with several metas", p->multi_meta);
  if (pushed > T_IN && p->scored != (gint) pushed - T_IN)
    fail_msg ("frames: %d scored, expected %u", p->scored, pushed - T_IN);
  if (rss_check && n >= warm && growth > 2 * 1024)
    fail_msg ("frames: RSS grew by %" G_GINT64_FORMAT " KiB after the "
        "%u-frame warm-up (limit 2048)", growth, warm);

  secs = (t1 - t0) / 1e6;
  json_string (js, "input", "I420 160x120 -> tiny model 32x24");
  json_int (js, "frames_in", pushed);
  json_int (js, "frames_out", p->out);
  json_int (js, "with_meta", p->with_meta);
  json_int (js, "scored", p->scored);
  json_int (js, "bus_element_messages", p->element_msgs);
  json_double (js, "seconds", secs);
  json_double (js, "fps", pushed / MAX (secs, 1e-9));
  json_int (js, "warmup_frames", warm);
  json_int_array (js, "rss_at_frames", at);
  json_int_array (js, "rss_kib", rss);
  json_int_array (js, "hwm_kib", hwm);
  json_int (js, "rss_growth_kib", growth);
  json_int (js, "peak_kib", hw);

  pipe_free (p);
  for (i = 0; i < POOL; i++)
    gst_buffer_unref (pool[i]);
  g_array_unref (at);
  g_array_unref (rss);
  g_array_unref (hwm);
}

/* ---- mode: caps --------------------------------------------------------- */

static const GstVideoFormat all_formats[] = {
  GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
};

static const gint sizes[][2] = {
  {1, 1}, {2, 2}, {3, 3}, {17, 9}, {9, 17}, {1, 7}, {7, 1}, {32, 24},
  {33, 25}, {64, 48}, {160, 120}, {641, 479}, {5, 3}, {31, 23},
};

static void
mode_caps (GString * js, guint k)
{
  guint nf = G_N_ELEMENTS (all_formats), ns = G_N_ELEMENTS (sizes);
  GstBuffer **frames = g_new0 (GstBuffer *, nf * ns);
  GRand *rnd = g_rand_new_with_seed ((guint32) seed);
  guint i, j, changes = 0, pushed = 0, prev = G_MAXUINT;
  gint64 t0;
  Pipe *p;

  for (i = 0; i < nf; i++)
    for (j = 0; j < ns; j++)
      frames[i * ns + j] = make_frame (all_formats[i], sizes[j][0],
          sizes[j][1], i + j);
  p = pipe_new (NULL, TRUE, NULL);
  p->check_size = TRUE;
  if (!set_state_wait (p, GST_STATE_READY)
      || gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    fail_msg ("caps: cannot start the pipeline");
  t0 = g_get_monotonic_time ();
  for (i = 0; i <= k && !p->errors; i++) {
    /* the first caps, then k changes: every format and size comes round
     * (the format cycles, the size at random), never the same twice */
    guint fi = i % nf, si, c, per = 3 + i % 3;
    GstCaps *caps;

    do
      si = g_rand_int_range (rnd, 0, ns);
    while (fi * ns + si == prev);
    prev = fi * ns + si;
    caps = video_caps (all_formats[fi], sizes[si][0], sizes[si][1]);
    gst_app_src_set_caps (GST_APP_SRC (p->src), caps);
    gst_caps_unref (caps);
    if (i > 0)
      changes++;
    for (c = 0; c < per; c++) {
      if (pipe_push (p, gst_buffer_copy (frames[prev])) != GST_FLOW_OK) {
        fail_msg ("caps: push refused after %u changes (%s %dx%d)", changes,
            gst_video_format_to_string (all_formats[fi]), sizes[si][0],
            sizes[si][1]);
        goto done;
      }
      pushed++;
    }
    if (i % 50 == 0)
      pipe_poll (p);
  }
done:
  gst_app_src_end_of_stream (GST_APP_SRC (p->src));
  if (!pipe_wait_eos (p, 120 * GST_SECOND))
    fail_msg ("caps: no EOS");
  check_no_error (p, "caps");
  if ((guint) p->out != pushed)
    fail_msg ("caps: %u in, %d out", pushed, p->out);
  if (p->with_meta != p->out)
    fail_msg ("caps: %d buffers without a meta", p->out - p->with_meta);
  if (p->size_errors)
    fail_msg ("caps: %d metas describe another frame size", p->size_errors);
  if (p->multi_meta)
    fail_msg ("caps: %d buffers with several metas", p->multi_meta);
  json_int (js, "caps_changes", changes);
  json_int (js, "formats", nf);
  json_int (js, "sizes", ns);
  json_string (js, "frames_per_caps", "3 to 5");
  json_int (js, "frames_in", pushed);
  json_int (js, "frames_out", p->out);
  json_int (js, "with_meta", p->with_meta);
  json_int (js, "scored", p->scored);
  json_int (js, "bus_errors", p->errors);
  json_int (js, "bus_warnings", p->warnings);
  json_double (js, "seconds", (g_get_monotonic_time () - t0) / 1e6);
  pipe_free (p);
  for (i = 0; i < nf * ns; i++)
    gst_buffer_unref (frames[i]);
  g_free (frames);
  g_rand_free (rnd);
}

/* ---- mode: states ------------------------------------------------------- */

static void
mode_states (GString * js, guint k)
{
  const gint w = 64, h = 48;
  GstCaps *caps = video_caps (GST_VIDEO_FORMAT_NV12, w, h);
  GstBuffer *pool[8];
  GArray *at = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *rss = g_array_new (FALSE, FALSE, sizeof (gint64));
  /* (quick: half of its 100 cycles; memory pools are still growing after
   * 5: glibc's per-thread arenas, GStreamer's task threads) */
  guint warm = quick ? 50 : 100, every = MAX (k / 20, 1), i;
  guint with_frames = 0, empty = 0, paused_only = 0, to_eos = 0, frames = 0;
  gint64 base = -1, r, hw, t0 = g_get_monotonic_time ();
  Pipe *p;

  for (i = 0; i < G_N_ELEMENTS (pool); i++)
    pool[i] = make_frame (GST_VIDEO_FORMAT_NV12, w, h, i);
  p = pipe_new (caps, TRUE, NULL);

  for (i = 0; i < k; i++) {
    guint kind = i % 5, f, nfr = 2 + i % 11, interval = 1 + (i / 5) % 3;
    guint expect_scored;

    if (i % every == 0 || i == warm) {
      r = rss_now ();
      { gint64 ii = i; g_array_append_val (at, ii); }
      g_array_append_val (rss, r);
      if (i == warm)
        base = r;
    }
    pipe_reset_counts (p);
    p->next_pts = 0;
    /* in NULL: a new configuration now and then (held frames: centred
     * smoothing, batching=always; max-batch is READY-only) */
    g_object_set (p->filter, "inference-interval", interval,
        "max-batch", kind == 2 ? 1 : 1 + (i / 3) % 6, NULL);
    gst_util_set_object_arg (G_OBJECT (p->filter), "smoothing",
        (i / 7) % 3 == 0 ? "centred" : (i / 7) % 3 == 1 ? "causal" : "none");
    gst_util_set_object_arg (G_OBJECT (p->filter), "batching",
        (i / 4) % 2 ? "always" : "late");
    expect_scored = nfr > T_IN * interval ? nfr - T_IN * interval : 0;
    switch (kind) {
      case 0:                  /* PLAYING with no data (never prerolls) */
        gst_element_set_state (p->pipe, GST_STATE_PLAYING);
        empty++;
        break;
      case 1:                  /* PAUSED only: READY, PAUSED, no data */
        if (gst_element_set_state (p->pipe, GST_STATE_PAUSED) ==
            GST_STATE_CHANGE_FAILURE)
          fail_msg ("states: cycle %u: PAUSED failed", i);
        paused_only++;
        break;
      case 4:                  /* frames and EOS */
        if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
            GST_STATE_CHANGE_FAILURE)
          fail_msg ("states: cycle %u: PLAYING failed", i);
        for (f = 0; f < nfr; f++)
          pipe_push (p, gst_buffer_copy (pool[(i + f) % 8]));
        gst_app_src_end_of_stream (GST_APP_SRC (p->src));
        if (!pipe_wait_eos (p, 30 * GST_SECOND))
          fail_msg ("states: cycle %u: no EOS%s%s", i, p->errors ? ": " : "",
              p->errors ? p->first_error : "");
        else if (p->out != (gint) nfr || p->with_meta != (gint) nfr
            || p->scored != (gint) expect_scored)
          fail_msg ("states: cycle %u: %u in, %d out, %d with a meta, %d "
              "scored", i, nfr, p->out, p->with_meta, p->scored);
        frames += nfr;
        to_eos++;
        break;
      default:                 /* a few frames, then straight to NULL */
        if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
            GST_STATE_CHANGE_FAILURE)
          fail_msg ("states: cycle %u: PLAYING failed", i);
        for (f = 0; f < nfr; f++)
          pipe_push (p, gst_buffer_copy (pool[(i + f) % 8]));
        /* half of them wait for their frames, the others go down with
         * frames in flight (frames held by centred smoothing or in a batch
         * are dropped: the ones that wait have max-batch=1, and only with
         * smoothing none or causal do all their frames come out before
         * EOS; with batching=late and max-batch > 1, frames that came late
         * wait for the next frame) */
        if (kind == 2 && (i / 7) % 3 != 0) {
          if (!pipe_wait_out (p, nfr, 30 * GST_SECOND))
            fail_msg ("states: cycle %u: %d of %u frames out%s%s", i,
                p->out, nfr, p->errors ? ": " : "",
                p->errors ? p->first_error : "");
          else if (p->with_meta != (gint) nfr)
            fail_msg ("states: cycle %u: %d of %u with a meta (the first "
                "without: buffer %d out, pts %" GST_TIME_FORMAT "; bus: %s)",
                i, p->with_meta, nfr, p->no_meta_index,
                GST_TIME_ARGS (p->no_meta_pts),
                p->first_warning ? p->first_warning : "no warning");
        }
        frames += nfr;
        with_frames++;
        break;
    }
    if (gst_element_set_state (p->pipe, GST_STATE_NULL) !=
        GST_STATE_CHANGE_SUCCESS)
      fail_msg ("states: cycle %u: NULL failed", i);
    pipe_poll (p);
    if (p->errors) {
      fail_msg ("states: cycle %u: %s", i, p->first_error);
      break;
    }
  }
  r = rss_now ();
  { gint64 ii = i; g_array_append_val (at, ii); }
  g_array_append_val (rss, r);
  read_rss (&r, &hw);
  if (base < 0)
    base = g_array_index (rss, gint64, 0);
  if (rss_check && k > warm && r - base > 2 * 1024)
    fail_msg ("states: RSS grew by %" G_GINT64_FORMAT " KiB after %u cycles "
        "(limit 2048)", r - base, warm);
  json_int (js, "cycles", i);
  json_int (js, "cycles_playing_no_data", empty);
  json_int (js, "cycles_paused_only", paused_only);
  json_int (js, "cycles_frames_then_null", with_frames);
  json_int (js, "cycles_frames_to_eos", to_eos);
  json_int (js, "frames_pushed", frames);
  json_double (js, "seconds", (g_get_monotonic_time () - t0) / 1e6);
  json_int (js, "warmup_cycles", warm);
  json_int_array (js, "rss_at_cycles", at);
  json_int_array (js, "rss_kib", rss);
  json_int (js, "rss_growth_kib", r - base);
  json_int (js, "peak_kib", hw);
  pipe_free (p);
  gst_caps_unref (caps);
  for (i = 0; i < G_N_ELEMENTS (pool); i++)
    gst_buffer_unref (pool[i]);
  g_array_unref (at);
  g_array_unref (rss);
}

/* ---- mode: props -------------------------------------------------------- */

typedef struct
{
  GstElement *filter, *overlay;
  gint stop;
  guint64 sets;
  GHashTable *per_prop;         /* name -> count */
  guint32 seed;
} PropsCtx;

/* a random valid value for @ps */
static gboolean
random_value (GRand * r, GParamSpec * ps, GValue * v)
{
  const gchar *name = g_param_spec_get_name (ps);
  GType t = G_PARAM_SPEC_VALUE_TYPE (ps);

  g_value_init (v, t);
  if (G_IS_PARAM_SPEC_BOOLEAN (ps)) {
    g_value_set_boolean (v, g_rand_boolean (r));
  } else if (G_IS_PARAM_SPEC_ENUM (ps)) {
    GEnumClass *ec = G_PARAM_SPEC_ENUM (ps)->enum_class;

    g_value_set_enum (v, ec->values[g_rand_int_range (r, 0,
                ec->n_values)].value);
  } else if (G_IS_PARAM_SPEC_INT (ps)) {
    GParamSpecInt *p = G_PARAM_SPEC_INT (ps);
    /* threads: up to 4 (the machine has few cores) */
    gint hi = strcmp (name, "threads") == 0 ? MIN (p->maximum, 4) : p->maximum;

    g_value_set_int (v, g_rand_int_range (r, p->minimum, hi) +
        (g_rand_boolean (r) ? 1 : 0));
  } else if (G_IS_PARAM_SPEC_UINT (ps)) {
    GParamSpecUInt *p = G_PARAM_SPEC_UINT (ps);
    guint span = MIN (p->maximum - p->minimum, 40u), x;

    /* small values mostly, the extremes sometimes */
    switch (g_rand_int_range (r, 0, 10)) {
      case 0:
        x = p->maximum;
        break;
      case 1:
        x = p->minimum;
        break;
      default:
        x = p->minimum + (guint) g_rand_int_range (r, 0, (gint) span + 1);
        break;
    }
    g_value_set_uint (v, x);
  } else if (G_IS_PARAM_SPEC_UINT64 (ps)) {
    static const guint64 vals[] = { 0, 1, GST_MSECOND, 40 * GST_MSECOND,
      GST_SECOND, 10 * GST_SECOND, G_MAXUINT64
    };
    g_value_set_uint64 (v, vals[g_rand_int_range (r, 0, G_N_ELEMENTS (vals))]);
  } else if (G_IS_PARAM_SPEC_FLOAT (ps)) {
    GParamSpecFloat *p = G_PARAM_SPEC_FLOAT (ps);
    gdouble x;

    switch (g_rand_int_range (r, 0, 12)) {
      case 0:
        x = p->maximum;
        break;
      case 1:
        x = p->minimum;
        break;
      case 2:
        x = 0.0;
        break;
      default:
        x = g_rand_double_range (r, MAX (p->minimum, -10.0), MIN (p->maximum,
                10.0));
        break;
    }
    g_value_set_float (v, (gfloat) CLAMP (x, p->minimum, p->maximum));
  } else if (G_IS_PARAM_SPEC_DOUBLE (ps)) {
    GParamSpecDouble *p = G_PARAM_SPEC_DOUBLE (ps);

    g_value_set_double (v, g_rand_boolean (r) ? g_rand_double_range (r,
            p->minimum, MIN (p->maximum, p->minimum + 10.0)) :
        g_rand_double_range (r, p->minimum, p->maximum));
  } else {
    g_value_unset (v);
    return FALSE;
  }
  return TRUE;
}

/* the properties to change while PLAYING: writable, not construct-only,
 * not GST_PARAM_MUTABLE_READY (those are ignored in PLAYING: they are set
 * to their own value now and then, to go through that path too) */
static GPtrArray *
playing_props (GstElement * e, GPtrArray * ready_only)
{
  guint n, i;
  GParamSpec **all = g_object_class_list_properties (G_OBJECT_GET_CLASS (e),
      &n);
  GPtrArray *out = g_ptr_array_new ();

  for (i = 0; i < n; i++) {
    GParamSpec *ps = all[i];

    if (ps->owner_type != G_OBJECT_TYPE (e))
      continue;                 /* name, parent, qos: not ours */
    if (!(ps->flags & G_PARAM_WRITABLE) || (ps->flags &
            (G_PARAM_CONSTRUCT_ONLY)))
      continue;
    if (ps->flags & GST_PARAM_MUTABLE_READY)
      g_ptr_array_add (ready_only, ps);
    else
      g_ptr_array_add (out, ps);
  }
  g_free (all);
  return out;
}

static gpointer
props_thread (gpointer data)
{
  PropsCtx *c = data;
  GRand *r = g_rand_new_with_seed (c->seed);
  GPtrArray *fro = g_ptr_array_new (), *oro = g_ptr_array_new ();
  GPtrArray *fp = playing_props (c->filter, fro);
  GPtrArray *op = playing_props (c->overlay, oro);

  while (!g_atomic_int_get (&c->stop)) {
    gboolean on_filter = g_rand_int_range (r, 0, 4) != 0;
    GstElement *e = on_filter ? c->filter : c->overlay;
    GPtrArray *props = on_filter ? fp : op, *ro = on_filter ? fro : oro;
    GValue v = G_VALUE_INIT;
    GParamSpec *ps;
    gchar *key;

    if (ro->len && g_rand_int_range (r, 0, 50) == 0) {
      /* a READY-only property, to its current value (ignored) */
      ps = g_ptr_array_index (ro, g_rand_int_range (r, 0, ro->len));
      g_value_init (&v, G_PARAM_SPEC_VALUE_TYPE (ps));
      g_object_get_property (G_OBJECT (e), ps->name, &v);
    } else {
      ps = g_ptr_array_index (props, g_rand_int_range (r, 0, props->len));
      if (!random_value (r, ps, &v))
        continue;
    }
    g_object_set_property (G_OBJECT (e), ps->name, &v);
    g_value_unset (&v);
    key = g_strdup_printf ("%s.%s", on_filter ? "filter" : "overlay",
        ps->name);
    g_hash_table_replace (c->per_prop, key,
        GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (c->per_prop,
                    key)) + 1));
    c->sets++;
  }
  g_ptr_array_unref (fp);
  g_ptr_array_unref (op);
  g_ptr_array_unref (fro);
  g_ptr_array_unref (oro);
  g_rand_free (r);
  return NULL;
}

static void
mode_props (GString * js, guint seconds)
{
  const gint w = 96, h = 72;
  GstCaps *caps = video_caps (GST_VIDEO_FORMAT_RGBx, w, h);
  const gchar *props[] = { "max-batch=4", NULL };
  const gchar *fx = g_getenv ("SIBVAD_FIXTURES");
  gchar *bert = fx ? g_build_filename (fx, "bert", NULL) : NULL;
  GstBuffer *pool[16];
  PropsCtx c = { 0 };
  GThread *th;
  gint64 t0, now, next_check;
  guint i, pushed = 0, stalls = 0, windows = 0;
  gint last_out = 0;
  GHashTableIter it;
  gpointer k, v;
  Pipe *p;

  for (i = 0; i < G_N_ELEMENTS (pool); i++) {
    pool[i] = make_frame (GST_VIDEO_FORMAT_RGBx, w, h, i);
    /* semantic input for semantic-source=meta (the model's sem_dim; a
     * wrong length now and then) and captions for semantic-source=caption
     * (embedded by the tiny BERT of the fixtures when they are there) */
    if (i % 4 != 3) {
      gfloat v[SEM_DIM];
      guint k, len = i % 8 == 5 ? 7 : SEM_DIM;

      for (k = 0; k < len; k++)
        v[k] = sinf (0.3f * (i + 1) * (k + 1));
      gst_buffer_add_sibvad_semantic_meta (pool[i], v, len);
    }
    if (i % 3 == 0)
      gst_buffer_add_sibvad_caption_meta (pool[i], "a person walks past");
  }
  p = pipe_new (caps, TRUE, props);
  gst_caps_unref (caps);
  if (bert && g_file_test (bert, G_FILE_TEST_IS_DIR)) {
    /* the encoder loads at NULL->READY with semantic-source=caption */
    g_object_set (p->filter, "text-encoder-location", bert, NULL);
    gst_util_set_object_arg (G_OBJECT (p->filter), "semantic-source",
        "caption");
    json_string (js, "text_encoder", bert);
  } else {
    json_string (js, "text_encoder", NULL);
  }
  if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    fail_msg ("props: cannot start the pipeline");
  c.filter = p->filter;
  c.overlay = p->overlay;
  c.per_prop = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c.seed = (guint32) seed + 1;
  th = g_thread_new ("props", props_thread, &c);

  t0 = g_get_monotonic_time ();
  next_check = t0 + G_USEC_PER_SEC;
  while ((now = g_get_monotonic_time ()) < t0 + (gint64) seconds *
      G_USEC_PER_SEC) {
    GstBuffer *b = gst_buffer_copy (pool[pushed % G_N_ELEMENTS (pool)]);

    /* now and then a discontinuity: a new series takes the latched
     * settings (smoothing, sigma, inference-interval) */
    if (pushed % 97 == 96)
      GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    if (pipe_push (p, b) != GST_FLOW_OK) {
      fail_msg ("props: push refused after %u frames", pushed);
      break;
    }
    pushed++;
    if (now >= next_check) {
      gint out = g_atomic_int_get (&p->out);

      windows++;
      if (out == last_out)
        stalls++;
      last_out = out;
      next_check += G_USEC_PER_SEC;
      pipe_poll (p);
      if (p->errors)
        break;
    }
  }
  g_atomic_int_set (&c.stop, 1);
  g_thread_join (th);
  gst_app_src_end_of_stream (GST_APP_SRC (p->src));
  if (!pipe_wait_eos (p, 120 * GST_SECOND))
    fail_msg ("props: no EOS");
  check_no_error (p, "props");
  if (stalls)
    fail_msg ("props: no frame out in %u of %u one-second windows", stalls,
        windows);
  if ((guint) p->out != pushed)
    fail_msg ("props: %u in, %d out", pushed, p->out);
  if (p->with_meta != p->out)
    fail_msg ("props: %d buffers without a meta", p->out - p->with_meta);

  json_double (js, "seconds", (g_get_monotonic_time () - t0) / 1e6);
  json_int (js, "property_changes", c.sets);
  json_double (js, "changes_per_s", c.sets / (gdouble) MAX (seconds, 1));
  json_int (js, "frames_in", pushed);
  json_int (js, "frames_out", p->out);
  json_int (js, "with_meta", p->with_meta);
  json_int (js, "bus_warnings", p->warnings);
  json_string (js, "first_bus_warning", p->first_warning);
  json_key (js, "per_property");
  g_string_append_c (js, '{');
  g_hash_table_iter_init (&it, c.per_prop);
  while (g_hash_table_iter_next (&it, &k, &v))
    json_int (js, k, GPOINTER_TO_UINT (v));
  g_string_append_c (js, '}');
  g_hash_table_unref (c.per_prop);
  g_free (bert);
  pipe_free (p);
  for (i = 0; i < G_N_ELEMENTS (pool); i++)
    gst_buffer_unref (pool[i]);
}

/* ---- mode: instances ---------------------------------------------------- */

typedef struct
{
  guint index, frames, threads;
  GstBuffer **pool;
  guint pool_n;
  GArray *recs;                 /* out: Rec */
  gchar *error;
  gint out, with_meta;
} Inst;

static gpointer
run_instance (gpointer data)
{
  Inst *in = data;
  GstCaps *caps = video_caps (GST_VIDEO_FORMAT_I420, 80, 60);
  gchar *tp = g_strdup_printf ("threads=%u", in->threads);
  const gchar *props[] = { tp, NULL };
  Pipe *p = pipe_new (caps, TRUE, props);
  guint i;

  gst_caps_unref (caps);
  g_free (tp);
  p->record = TRUE;
  if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    in->error = g_strdup ("cannot start");
  for (i = 0; i < in->frames && !in->error; i++) {
    GstBuffer *b = gst_buffer_copy (in->pool[i % in->pool_n]);

    /* a discontinuity every 97 frames: the series restarts */
    if (i % 97 == 96)
      GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    if (pipe_push (p, b) != GST_FLOW_OK) {
      in->error = g_strdup_printf ("push %u refused", i);
      break;
    }
  }
  gst_app_src_end_of_stream (GST_APP_SRC (p->src));
  if (!pipe_wait_eos (p, 300 * GST_SECOND) && !in->error)
    in->error = g_strdup (p->errors ? p->first_error : "no EOS");
  pipe_poll (p);
  if (p->errors && !in->error)
    in->error = g_strdup (p->first_error);
  in->out = p->out;
  in->with_meta = p->with_meta;
  in->recs = g_array_ref (p->recs);
  pipe_free (p);
  return NULL;
}

static void
mode_instances (GString * js, guint n)
{
  guint frames = instance_frames ? instance_frames : scaled (3000), i, j;
  guint pool_n = 40, variants = instance_threads ? 1 : 2;
  GstBuffer **pool = g_new (GstBuffer *, pool_n);
  Inst ref[2], *inst = g_new0 (Inst, n);
  GThread **th = g_new (GThread *, n);
  guint bitwise = 0, close = 0, differ = 0;
  gdouble worst = 0.0, secs_ref, secs;
  gint64 t0;

  for (i = 0; i < pool_n; i++)
    pool[i] = make_frame (GST_VIDEO_FORMAT_I420, 80, 60, i * 5);
  /* the single-instance references: 1 and 2 threads */
  t0 = g_get_monotonic_time ();
  for (j = 0; j < variants; j++) {
    memset (&ref[j], 0, sizeof (Inst));
    ref[j].frames = frames;
    ref[j].threads = instance_threads ? instance_threads : j + 1;
    ref[j].pool = pool;
    ref[j].pool_n = pool_n;
    run_instance (&ref[j]);
    if (ref[j].error)
      fail_msg ("instances: the reference run failed: %s", ref[j].error);
  }
  secs_ref = (g_get_monotonic_time () - t0) / 1e6;
  /* do 1 and 2 threads give the same bits? (then a difference between an
   * instance and its reference cannot come from the thread count) */
  if (variants == 2 && ref[0].recs && ref[1].recs) {
    guint same = 0;

    for (j = 0; j < MIN (ref[0].recs->len, ref[1].recs->len); j++) {
      Rec *x = &g_array_index (ref[0].recs, Rec, j);
      Rec *y = &g_array_index (ref[1].recs, Rec, j);

      same += x->visual == y->visual && x->raw == y->raw
          && x->score == y->score && x->map_sum == y->map_sum;
    }
    json_int (js, "reference_frames_equal_1_vs_2_threads", same);
  }

  t0 = g_get_monotonic_time ();
  for (i = 0; i < n; i++) {
    inst[i].index = i;
    inst[i].frames = frames;
    inst[i].threads = ref[i % variants].threads;
    inst[i].pool = pool;
    inst[i].pool_n = pool_n;
    th[i] = g_thread_new ("instance", run_instance, &inst[i]);
  }
  for (i = 0; i < n; i++)
    g_thread_join (th[i]);
  secs = (g_get_monotonic_time () - t0) / 1e6;

  for (i = 0; i < n; i++) {
    Inst *a = &ref[i % variants], *b = &inst[i];

    if (b->error) {
      fail_msg ("instances: instance %u: %s", i, b->error);
      continue;
    }
    if (b->out != (gint) frames || b->with_meta != (gint) frames
        || !a->recs || b->recs->len != a->recs->len) {
      fail_msg ("instances: instance %u: %d out, %d with a meta, %u "
          "recorded (reference %u)", i, b->out, b->with_meta, b->recs->len,
          a->recs ? a->recs->len : 0);
      continue;
    }
    for (j = 0; j < a->recs->len; j++) {
      Rec *x = &g_array_index (a->recs, Rec, j), *y =
          &g_array_index (b->recs, Rec, j);
      gdouble d = 0.0;

      if (x->frame != y->frame || x->warming_up != y->warming_up) {
        differ++;
        continue;
      }
      if (memcmp (&x->visual, &y->visual, sizeof (gfloat)) == 0
          && memcmp (&x->raw, &y->raw, sizeof (gfloat)) == 0
          && memcmp (&x->score, &y->score, sizeof (gfloat)) == 0
          && x->map_sum == y->map_sum) {
        bitwise++;
        continue;
      }
#define REL(u, v) (fabs ((gdouble) (u) - (v)) / MAX (fabs ((gdouble) (u)), 1e-12))
      d = MAX (MAX (REL (x->visual, y->visual), REL (x->raw, y->raw)),
          MAX (REL (x->score, y->score), REL (x->map_sum, y->map_sum)));
#undef REL
      worst = MAX (worst, d);
      if (d <= 1e-6)
        close++;
      else
        differ++;
    }
  }
  if (differ)
    fail_msg ("instances: %u frames differ from the single-instance run by "
        "more than 1e-6 (worst relative %g)", differ, worst);

  json_int (js, "instances", n);
  json_int (js, "frames_each", frames);
  json_string (js, "input", "I420 80x60, a discontinuity every 97 frames");
  if (instance_threads)
    json_int (js, "threads", instance_threads);
  else
    json_string (js, "threads", "1 and 2 (alternating), each compared with "
        "a single run at its thread count");
  json_double (js, "seconds_single_runs", secs_ref);
  json_double (js, "seconds_concurrent", secs);
  json_int (js, "frames_bitwise_equal", bitwise);
  json_int (js, "frames_within_1e-6", close);
  json_int (js, "frames_differing", differ);
  json_double (js, "worst_relative_difference", worst);

  for (j = 0; j < variants; j++) {
    if (ref[j].recs)
      g_array_unref (ref[j].recs);
    g_free (ref[j].error);
  }
  for (i = 0; i < n; i++) {
    if (inst[i].recs)
      g_array_unref (inst[i].recs);
    g_free (inst[i].error);
  }
  for (i = 0; i < pool_n; i++)
    gst_buffer_unref (pool[i]);
  g_free (pool);
  g_free (inst);
  g_free (th);
}

/* ---- mode: bad ---------------------------------------------------------- */

typedef enum
{
  EXPECT_PASS,                  /* every frame out with a meta, EOS */
  EXPECT_ERROR,                 /* an ERROR message on the bus */
} Expect;

typedef enum
{
  BAD_NONE,
  BAD_TRUNCATED_HALF,
  BAD_TRUNCATED_ONE,
  BAD_ZERO_SIZE,
  BAD_NO_MEMORY,
  BAD_OVERSIZED,
  BAD_VMETA_OFFSET,             /* a video meta whose planes lie outside */
  BAD_VMETA_STRIDE,             /* a video meta with a huge stride */
  BAD_NO_PTS,
  BAD_PTS_BACKWARDS,
  BAD_PTS_JUMP,
  BAD_META_MAP_SIZE,            /* a GstSibvadMeta claiming a 2^31 x 2^31 map */
  BAD_META_MAP_SHORT,           /* a GstSibvadMeta whose map is too small */
} BadBuffer;

typedef struct
{
  const gchar *name;
  const gchar *caps;            /* NULL: no caps at all */
  GstVideoFormat fmt;           /* of the frames (UNKNOWN: from caps) */
  gint w, h;
  BadBuffer bad;
  Expect expect;
  const gchar *props;           /* extra filter property, or NULL */
  gboolean overlay_only;        /* appsrc ! sibvadoverlay, frames with a
                                 * GstSibvadMeta and an error map */
} BadCase;

#define RAW(f, w, h) "video/x-raw,format=" f ",width=" #w ",height=" #h ",framerate=25/1"

static const BadCase bad_cases[] = {
  {"truncated buffer (half the size)", RAW ("I420", 64, 48),
      GST_VIDEO_FORMAT_I420, 64, 48, BAD_TRUNCATED_HALF, EXPECT_ERROR, NULL},
  {"truncated buffer (one byte short)", RAW ("RGB", 33, 25),
      GST_VIDEO_FORMAT_RGB, 33, 25, BAD_TRUNCATED_ONE, EXPECT_ERROR, NULL},
  {"zero-size buffer", RAW ("GRAY8", 64, 48), GST_VIDEO_FORMAT_GRAY8, 64, 48,
      BAD_ZERO_SIZE, EXPECT_ERROR, NULL},
  {"buffer with no memory", RAW ("NV12", 64, 48), GST_VIDEO_FORMAT_NV12, 64,
      48, BAD_NO_MEMORY, EXPECT_ERROR, NULL},
  {"truncated buffer, centred smoothing holding frames", RAW ("I420", 64, 48),
      GST_VIDEO_FORMAT_I420, 64, 48, BAD_TRUNCATED_HALF, EXPECT_ERROR,
      "smoothing=centred"},
  {"truncated buffer, batching=always holding frames", RAW ("I420", 64, 48),
      GST_VIDEO_FORMAT_I420, 64, 48, BAD_TRUNCATED_HALF, EXPECT_ERROR,
      "batching=always"},
  {"video meta with planes beyond the memory", RAW ("I420", 64, 48),
      GST_VIDEO_FORMAT_I420, 64, 48, BAD_VMETA_OFFSET, EXPECT_ERROR, NULL},
  {"video meta with a stride beyond the memory", RAW ("GRAY8", 64, 48),
      GST_VIDEO_FORMAT_GRAY8, 64, 48, BAD_VMETA_STRIDE, EXPECT_ERROR, NULL},
  {"oversized buffer (extra bytes)", RAW ("BGRx", 64, 48),
      GST_VIDEO_FORMAT_BGRx, 64, 48, BAD_OVERSIZED, EXPECT_PASS, NULL},
  {"no timestamps", RAW ("GRAY8", 64, 48), GST_VIDEO_FORMAT_GRAY8, 64, 48,
      BAD_NO_PTS, EXPECT_PASS, NULL},
  {"timestamps going backwards", RAW ("GRAY8", 64, 48),
      GST_VIDEO_FORMAT_GRAY8, 64, 48, BAD_PTS_BACKWARDS, EXPECT_PASS, NULL},
  {"timestamp jump of an hour", RAW ("GRAY8", 64, 48),
      GST_VIDEO_FORMAT_GRAY8, 64, 48, BAD_PTS_JUMP, EXPECT_PASS, NULL},
  {"1x1 GRAY8", RAW ("GRAY8", 1, 1), GST_VIDEO_FORMAT_GRAY8, 1, 1, BAD_NONE,
      EXPECT_PASS, NULL},
  {"1x1 I420", RAW ("I420", 1, 1), GST_VIDEO_FORMAT_I420, 1, 1, BAD_NONE,
      EXPECT_PASS, NULL},
  {"1x1 NV12", RAW ("NV12", 1, 1), GST_VIDEO_FORMAT_NV12, 1, 1, BAD_NONE,
      EXPECT_PASS, NULL},
  {"1x240 RGB", RAW ("RGB", 1, 240), GST_VIDEO_FORMAT_RGB, 1, 240, BAD_NONE,
      EXPECT_PASS, NULL},
  {"320x1 BGRA", RAW ("BGRA", 320, 1), GST_VIDEO_FORMAT_BGRA, 320, 1,
      BAD_NONE, EXPECT_PASS, NULL},
  {"1x9 I420", RAW ("I420", 1, 9), GST_VIDEO_FORMAT_I420, 1, 9, BAD_NONE,
      EXPECT_PASS, NULL},
  {"9x1 NV12", RAW ("NV12", 9, 1), GST_VIDEO_FORMAT_NV12, 9, 1, BAD_NONE,
      EXPECT_PASS, NULL},
  {"17x9 I420", RAW ("I420", 17, 9), GST_VIDEO_FORMAT_I420, 17, 9, BAD_NONE,
      EXPECT_PASS, NULL},
  {"641x479 NV12", RAW ("NV12", 641, 479), GST_VIDEO_FORMAT_NV12, 641, 479,
      BAD_NONE, EXPECT_PASS, NULL},
  {"3x3 RGBx", RAW ("RGBx", 3, 3), GST_VIDEO_FORMAT_RGBx, 3, 3, BAD_NONE,
      EXPECT_PASS, NULL},
  {"4095x2 GRAY8", RAW ("GRAY8", 4095, 2), GST_VIDEO_FORMAT_GRAY8, 4095, 2,
      BAD_NONE, EXPECT_PASS, NULL},
  {"interlaced I420 (interleaved)", RAW ("I420", 64, 48)
        ",interlace-mode=interleaved", GST_VIDEO_FORMAT_I420, 64, 48, BAD_NONE,
      EXPECT_PASS, NULL},
  {"full-range BT.709 NV12", RAW ("NV12", 64, 48) ",colorimetry=bt709",
      GST_VIDEO_FORMAT_NV12, 64, 48, BAD_NONE, EXPECT_PASS, NULL},
  {"no caps", NULL, GST_VIDEO_FORMAT_GRAY8, 64, 48, BAD_NONE, EXPECT_ERROR, NULL},
  {"unsupported format (YUY2)", RAW ("YUY2", 64, 48), GST_VIDEO_FORMAT_YUY2,
      64, 48, BAD_NONE, EXPECT_ERROR, NULL},
  {"not video (audio caps)", "audio/x-raw,format=S16LE,rate=48000,channels=1,"
        "layout=interleaved", GST_VIDEO_FORMAT_GRAY8, 64, 48, BAD_NONE,
      EXPECT_ERROR, NULL},
  {"width 0", RAW ("GRAY8", 0, 48), GST_VIDEO_FORMAT_UNKNOWN, 0, 0, BAD_NONE,
      EXPECT_ERROR, NULL},
  {"caps without a size", "video/x-raw,format=GRAY8,framerate=25/1",
      GST_VIDEO_FORMAT_UNKNOWN, 0, 0, BAD_NONE, EXPECT_ERROR, NULL},
  {"size overflowing (100000x100000 RGBA)", RAW ("RGBA", 100000, 100000),
      GST_VIDEO_FORMAT_UNKNOWN, 0, 0, BAD_NONE, EXPECT_ERROR, NULL},
  {"I420 40000x40000 (GStreamer's video info refuses it)",
        RAW ("I420", 40000, 40000), GST_VIDEO_FORMAT_UNKNOWN, 0, 0, BAD_NONE,
      EXPECT_ERROR, NULL},
  {"GRAY8 65535x65535 caps (its RGB copy would pass 4 GiB), small buffers",
        RAW ("GRAY8", 65535, 65535),
      GST_VIDEO_FORMAT_UNKNOWN, 0, 0, BAD_NONE, EXPECT_ERROR, NULL},
  {"interlace-mode=alternate (without the format:Interlaced feature)",
        RAW ("I420", 64, 48) ",interlace-mode=alternate",
        GST_VIDEO_FORMAT_I420, 64, 24, BAD_NONE,
      EXPECT_ERROR, NULL},
  {"colorimetry that does not parse (GStreamer uses the default)",
        RAW ("NV12", 64, 48) ",colorimetry=bogus", GST_VIDEO_FORMAT_NV12, 64,
        48, BAD_NONE,
      EXPECT_PASS, NULL},
  {"overlay alone: truncated buffer with a meta", RAW ("I420", 64, 48),
        GST_VIDEO_FORMAT_I420, 64, 48, BAD_TRUNCATED_HALF, EXPECT_ERROR, NULL,
      TRUE},
  {"overlay alone: video meta with a stride beyond the memory",
        RAW ("GRAY8", 64, 48), GST_VIDEO_FORMAT_GRAY8, 64, 48,
        BAD_VMETA_STRIDE, EXPECT_ERROR, NULL,
      TRUE},
  {"overlay alone: video meta with planes beyond the memory",
        RAW ("I420", 64, 48), GST_VIDEO_FORMAT_I420, 64, 48,
        BAD_VMETA_OFFSET, EXPECT_ERROR, NULL,
      TRUE},
  {"overlay alone: meta claiming a 2^31 x 2^31 error map",
        RAW ("RGB", 64, 48), GST_VIDEO_FORMAT_RGB, 64, 48, BAD_META_MAP_SIZE,
      EXPECT_PASS, NULL, TRUE},
  {"overlay alone: meta whose error map is smaller than its size says",
        RAW ("RGB", 64, 48), GST_VIDEO_FORMAT_RGB, 64, 48, BAD_META_MAP_SHORT,
      EXPECT_PASS, NULL, TRUE},
  {"overlay alone: no caps", NULL, GST_VIDEO_FORMAT_GRAY8, 64, 48, BAD_NONE,
      EXPECT_ERROR, NULL, TRUE},
  {"overlay alone: 1x1 I420", RAW ("I420", 1, 1), GST_VIDEO_FORMAT_I420, 1,
      1, BAD_NONE, EXPECT_PASS, NULL, TRUE},
  {"overlay alone: 1x7 NV12", RAW ("NV12", 1, 7), GST_VIDEO_FORMAT_NV12, 1,
      7, BAD_NONE, EXPECT_PASS, NULL, TRUE},
  {"overlay alone: 641x479 NV12", RAW ("NV12", 641, 479),
        GST_VIDEO_FORMAT_NV12, 641, 479, BAD_NONE, EXPECT_PASS, NULL,
      TRUE},
  {"overlay alone: 3x3 BGR", RAW ("BGR", 3, 3), GST_VIDEO_FORMAT_BGR, 3, 3,
      BAD_NONE, EXPECT_PASS, NULL, TRUE},
  {"pixel-aspect-ratio 0/1", RAW ("RGB", 64, 48) ",pixel-aspect-ratio=0/1",
      GST_VIDEO_FORMAT_RGB, 64, 48, BAD_NONE, EXPECT_PASS, NULL},
  {"framerate 0/1 (variable)", "video/x-raw,format=BGR,width=64,height=48,"
        "framerate=0/1", GST_VIDEO_FORMAT_BGR, 64, 48, BAD_NONE, EXPECT_PASS,
      NULL},
};

/* the bad buffer of @c, replacing a good frame */
static GstBuffer *
bad_buffer (const BadCase * c, GstBuffer * good, guint i)
{
  GstBuffer *b;
  gsize size = gst_buffer_get_size (good);

  switch (c->bad) {
    case BAD_TRUNCATED_HALF:
      return gst_buffer_copy_region (good, GST_BUFFER_COPY_ALL, 0, size / 2);
    case BAD_TRUNCATED_ONE:
      return gst_buffer_copy_region (good, GST_BUFFER_COPY_ALL, 0, size - 1);
    case BAD_ZERO_SIZE:
      return gst_buffer_new_allocate (NULL, 0, NULL);
    case BAD_NO_MEMORY:
      return gst_buffer_new ();
    case BAD_OVERSIZED:
      b = gst_buffer_copy_deep (good);
      gst_buffer_append_memory (b, gst_allocator_alloc (NULL, 4096, NULL));
      return b;
    case BAD_VMETA_OFFSET:{
      gsize offset[4] = { 0, size * 4, size * 8, 0 };
      gint stride[4] = { c->w, c->w / 2, c->w / 2, 0 };

      b = gst_buffer_copy (good);
      gst_buffer_add_video_meta_full (b, GST_VIDEO_FRAME_FLAG_NONE, c->fmt,
          c->w, c->h, 3, offset, stride);
      return b;
    }
    case BAD_VMETA_STRIDE:{
      gsize offset[4] = { 0 };
      gint stride[4] = { 1 << 20 };

      b = gst_buffer_copy (good);
      gst_buffer_add_video_meta_full (b, GST_VIDEO_FRAME_FLAG_NONE, c->fmt,
          c->w, c->h, 1, offset, stride);
      return b;
    }
    case BAD_META_MAP_SIZE:
    case BAD_META_MAP_SHORT:{
      GstSibvadMeta *m;

      b = gst_buffer_copy_deep (good);
      m = gst_buffer_get_sibvad_meta (b);
      if (m && c->bad == BAD_META_MAP_SIZE)
        m->map_width = m->map_height = 1u << 31;
      else if (m)
        m->map_height = 100;
      return b;
    }
    case BAD_NO_PTS:
      b = gst_buffer_copy (good);
      GST_BUFFER_PTS (b) = GST_BUFFER_DURATION (b) = GST_CLOCK_TIME_NONE;
      return b;
    default:
      return gst_buffer_copy (good);
  }
}

static void
mode_bad (GString * js)
{
  guint ci, passes = 0, errors = 0;

  json_key (js, "cases");
  g_string_append_c (js, '[');
  for (ci = 0; ci < G_N_ELEMENTS (bad_cases); ci++) {
    const BadCase *c = &bad_cases[ci];
    const gchar *props[] = { c->props, NULL };
    GstCaps *caps = c->caps ? gst_caps_from_string (c->caps) : NULL;
    GstBuffer *good = NULL;
    guint i, pushed = 0, nframes = 12, refused = 0;
    gboolean eos, passed;
    GstFlowReturn last = GST_FLOW_OK;
    GString *res = g_string_new (NULL);
    Pipe *p;

    if (c->fmt != GST_VIDEO_FORMAT_UNKNOWN)
      good = make_frame (c->fmt, c->w, c->h, 0);
    else
      good = gst_buffer_new_allocate (NULL, 64 * 48, NULL);
    if (c->overlay_only) {
      /* what sibvadfilter would attach: a score and a 32x24 error map */
      GstSibvadMeta *m = gst_buffer_add_sibvad_meta (good);
      gfloat map[32 * 24];

      for (i = 0; i < G_N_ELEMENTS (map); i++)
        map[i] = (gfloat) (i % 37) / 37.0f;
      m->warming_up = FALSE;
      m->fresh = TRUE;
      m->score = 2.5f;
      m->threshold = 3.0f;
      m->map_width = 32;
      m->map_height = 24;
      m->frame_width = c->w;
      m->frame_height = c->h;
      m->error_map = gst_buffer_new_allocate (NULL, sizeof (map), NULL);
      gst_buffer_fill (m->error_map, 0, map, sizeof (map));
    }
    p = pipe_new_full (caps, !c->overlay_only, TRUE, props);
    if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE)
      g_string_append (res, "PLAYING failed; ");
    for (i = 0; i < nframes; i++) {
      GstBuffer *b;
      GstFlowReturn fr;

      /* the bad buffer comes 7th: after the warm-up, some frames held */
      if (i == 6 && c->bad != BAD_NONE)
        b = bad_buffer (c, good, i);
      else
        b = gst_buffer_copy (good);
      if (c->bad == BAD_NO_PTS) {
        GST_BUFFER_PTS (b) = GST_BUFFER_DURATION (b) = GST_CLOCK_TIME_NONE;
        fr = gst_app_src_push_buffer (GST_APP_SRC (p->src), b);
      } else {
        if (c->bad == BAD_PTS_BACKWARDS && i == 6)
          p->next_pts = FRAME_NS;
        if (c->bad == BAD_PTS_JUMP && i == 6)
          p->next_pts += 3600 * GST_SECOND;
        fr = pipe_push (p, b);
      }
      if (fr != GST_FLOW_OK) {
        refused++;
        last = fr;
        break;
      }
      pushed++;
    }
    gst_app_src_end_of_stream (GST_APP_SRC (p->src));
    eos = pipe_wait_eos (p, 30 * GST_SECOND);
    g_usleep (20000);
    pipe_poll (p);

    passed = eos && !p->errors && p->out == (gint) pushed
        && p->with_meta == p->out && pushed == nframes;
    if (passed)
      passes++;
    if (p->errors)
      errors++;
    if (c->expect == EXPECT_PASS && !passed)
      fail_msg ("bad: %s: expected a clean pass: eos %d, %u pushed, %d out, "
          "%d with a meta%s%s", c->name, eos, pushed, p->out, p->with_meta,
          p->errors ? ", " : "", p->errors ? p->first_error : "");
    if (c->expect == EXPECT_ERROR && !p->errors)
      fail_msg ("bad: %s: expected an error on the bus: eos %d, %u pushed, "
          "%d out, %d with a meta", c->name, eos, pushed, p->out,
          p->with_meta);
    if (c->expect == EXPECT_ERROR && p->errors && p->with_meta != p->out)
      fail_msg ("bad: %s: %d buffers went out without a meta before the "
          "error", c->name, p->out - p->with_meta);
    if (!eos && !p->errors)
      fail_msg ("bad: %s: neither EOS nor an error (stuck?)", c->name);

    if (ci)
      g_string_append_c (js, ',');
    g_string_append_c (js, '{');
    json_string (js, "case", c->name);
    json_string (js, "pipeline", c->overlay_only ? "appsrc ! sibvadoverlay" :
        "appsrc ! sibvadfilter ! sibvadoverlay");
    json_string (js, "expected", c->expect == EXPECT_PASS ? "pass" : "error");
    json_string (js, "result", passed ? "pass" : p->errors ? "error" :
        "neither");
    json_int (js, "pushed", pushed);
    json_int (js, "out", p->out);
    json_int (js, "with_meta", p->with_meta);
    if (refused)
      json_string (js, "push_returned", gst_flow_get_name (last));
    json_string (js, "error", p->first_error);
    if (p->first_warning)
      json_string (js, "warning", p->first_warning);
    g_string_append_c (js, '}');

    g_string_free (res, TRUE);
    pipe_free (p);
    gst_clear_caps (&caps);
    gst_buffer_unref (good);
  }
  g_string_append_c (js, ']');
  json_int (js, "cases_total", G_N_ELEMENTS (bad_cases));
  json_int (js, "clean_passes", passes);
  json_int (js, "bus_errors", errors);
}

/* ---- main --------------------------------------------------------------- */

typedef struct
{
  const gchar *name;
  guint def;
} ModeInfo;

static const ModeInfo modes[] = {
  {"frames", 100000}, {"caps", 1000}, {"states", 2000}, {"props", 20},
  {"instances", 4}, {"bad", 0},
};

/* one mode: a JSON line on stdout; TRUE when it passed */
static gboolean
run_mode (const gchar * name, guint count)
{
  GString *js = g_string_new ("{");
  gint crit0 = g_atomic_int_get (&log_criticals);
  gint warn0 = g_atomic_int_get (&log_warnings);
  gint64 t0 = g_get_monotonic_time ();
  gint crit, warn;
  gboolean ok;
  guint i;

  failures = g_ptr_array_new_with_free_func (g_free);
  json_string (js, "mode", name);
  json_bool (js, "quick", quick);
  json_bool (js, "rss_checked", rss_check);
  json_string (js, "model", user_model ? user_model :
      "tiny preset, 32x24, untrained (generated at start)");
  if (strcmp (name, "frames") == 0) {
    json_int (js, "count", count);
    mode_frames (js, count);
  } else if (strcmp (name, "caps") == 0) {
    json_int (js, "count", count);
    mode_caps (js, count);
  } else if (strcmp (name, "states") == 0) {
    json_int (js, "count", count);
    mode_states (js, count);
  } else if (strcmp (name, "props") == 0) {
    json_int (js, "count", count);
    mode_props (js, count);
  } else if (strcmp (name, "instances") == 0) {
    json_int (js, "count", count);
    mode_instances (js, count);
  } else {
    mode_bad (js);
  }
  crit = g_atomic_int_get (&log_criticals) - crit0;
  warn = g_atomic_int_get (&log_warnings) - warn0;
  if (crit || warn)
    fail_msg ("%d critical and %d warning messages from GLib/GStreamer", crit,
        warn);
  json_int (js, "log_criticals", crit);
  json_int (js, "log_warnings", warn);
  json_double (js, "wall_seconds", (g_get_monotonic_time () - t0) / 1e6);
  ok = failures->len == 0;
  json_bool (js, "ok", ok);
  json_key (js, "failures");
  g_string_append_c (js, '[');
  for (i = 0; i < failures->len; i++) {
    if (i)
      g_string_append_c (js, ',');
    json_str (js, g_ptr_array_index (failures, i));
  }
  g_string_append (js, "]}");
  g_print ("%s\n", js->str);
  fflush (stdout);
  g_string_free (js, TRUE);
  g_ptr_array_unref (failures);
  failures = NULL;
  return ok;
}

static void
usage (void)
{
  g_printerr ("usage: stress-element [--quick] [--no-rss-check] [--seed N] "
      "[--model FILE] [--instance-frames N] [--instance-threads N] MODE [COUNT] [MODE [COUNT]...]\n"
      "  MODE: frames [N=100000] | caps [K=1000] | states [K=2000] | "
      "props [S=20] | instances [N=4] | bad | all\n");
}

int
main (int argc, char **argv)
{
  GPtrArray *todo = g_ptr_array_new ();
  GArray *counts = g_array_new (FALSE, FALSE, sizeof (guint));
  gboolean ok = TRUE;
  gint i, leaks;
  guint m;

  g_log_set_writer_func (log_writer, NULL, NULL);
  log_messages = g_ptr_array_new_with_free_func (g_free);
  for (i = 1; i < argc; i++) {
    const gchar *a = argv[i];
    guint count = 0;
    gboolean known = FALSE;

    if (strcmp (a, "--quick") == 0) {
      quick = TRUE;
      continue;
    }
    if (strcmp (a, "--no-rss-check") == 0) {
      rss_check = FALSE;
      continue;
    }
    if (strcmp (a, "--model") == 0 && i + 1 < argc) {
      user_model = argv[++i];
      continue;
    }
    if (strcmp (a, "--instance-threads") == 0 && i + 1 < argc) {
      instance_threads = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      continue;
    }
    if (strcmp (a, "--instance-frames") == 0 && i + 1 < argc) {
      instance_frames = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      continue;
    }
    if (strcmp (a, "--seed") == 0 && i + 1 < argc) {
      seed = g_ascii_strtoull (argv[++i], NULL, 10);
      continue;
    }
    if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0) {
      usage ();
      return 0;
    }
    if (i + 1 < argc && g_ascii_isdigit (argv[i + 1][0]))
      count = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
    if (strcmp (a, "all") == 0) {
      for (m = 0; m < G_N_ELEMENTS (modes); m++) {
        guint c = 0;

        g_ptr_array_add (todo, (gpointer) modes[m].name);
        g_array_append_val (counts, c);
      }
      known = TRUE;
    }
    for (m = 0; m < G_N_ELEMENTS (modes); m++) {
      if (strcmp (a, modes[m].name) == 0) {
        g_ptr_array_add (todo, (gpointer) modes[m].name);
        g_array_append_val (counts, count);
        known = TRUE;
      }
    }
    if (!known) {
      g_printerr ("stress-element: unknown mode or option '%s'\n", a);
      usage ();
      return 2;
    }
  }
  if (todo->len == 0) {
    usage ();
    return 2;
  }

  gst_init (&argc, &argv);
  if (!make_model ())
    return 2;

  for (i = 0; i < (gint) todo->len; i++) {
    const gchar *name = g_ptr_array_index (todo, i);
    guint count = g_array_index (counts, guint, i);

    /* --quick: 1/20 of each default, but as many instances (each runs
     * 1/20 of the frames) and props for 2 s */
    for (m = 0; m < G_N_ELEMENTS (modes); m++)
      if (count == 0 && strcmp (name, modes[m].name) == 0)
        count = strcmp (name, "instances") == 0 ? modes[m].def :
            strcmp (name, "props") == 0 ? MAX (scaled (modes[m].def), 2) :
            scaled (modes[m].def);
    if (!run_mode (name, count))
      ok = FALSE;
  }

  if (!user_model)
    g_unlink (model_path);
  g_rmdir (tmp_dir);
  g_free (model_path);
  g_free (tmp_dir);
  g_ptr_array_unref (todo);
  g_array_unref (counts);

  /* the leaks tracer (GST_TRACERS=leaks) warns here about every GstObject
   * and GstMiniObject still alive */
  leaks = g_atomic_int_get (&log_warnings) + g_atomic_int_get (&log_criticals);
  gst_deinit ();
  leaks = g_atomic_int_get (&log_warnings) + g_atomic_int_get (&log_criticals)
      - leaks;
  if (leaks) {
    g_print ("{\"mode\":\"exit\",\"ok\":false,\"failures\":[\"%d warnings at "
        "gst_deinit (the leaks tracer found objects still alive)\"]}\n", leaks);
    ok = FALSE;
  }
  for (i = 0; i < (gint) log_messages->len; i++)
    g_printerr ("stress-element: logged: %s\n",
        (gchar *) g_ptr_array_index (log_messages, i));
  g_ptr_array_unref (log_messages);
  return ok ? 0 : 1;
}
