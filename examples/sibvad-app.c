/* sibvad-app.c: a small application embedding sibvadfilter in its own
 * pipeline. It reads GstSibvadMeta in a pad probe (per-frame score, error
 * map) and reacts to the element's alarm messages on the bus.
 *
 *   sibvad-app [--model FILE] [--threshold X] [--frames N] [--overlay OUT.avi] [VIDEO]
 *
 * VIDEO: a file or a frame pattern such as 'frames/%03d.jpg'; without it a
 * generated test pattern is analysed. Build against an installed sibvad:
 *   cc sibvad-app.c $(pkg-config --cflags --libs gstreamer-sibvad-1.0) -o sibvad-app
 * At the end it prints one line: frames, scored frames, alarms, peak score. */
#include <gst/gst.h>
#include <gst/sibvad/sibvad-meta.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  GMainLoop *loop;
  guint64 frames, scored, with_map;
  guint alarms;
  gdouble peak;
  gboolean in_alarm;
  int status;
} App;

/* Every buffer leaving sibvadfilter carries a GstSibvadMeta. */
static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  App *app = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstSibvadMeta *meta = gst_buffer_get_sibvad_meta (buf);

  if (!meta) {
    g_printerr ("frame %" G_GUINT64_FORMAT " has no GstSibvadMeta\n", app->frames);
    app->status = 1;
    return GST_PAD_PROBE_OK;
  }
  app->frames++;
  if (meta->warming_up)
    return GST_PAD_PROBE_OK;
  app->scored++;
  if (meta->score > app->peak)
    app->peak = meta->score;
  if (meta->error_map) {
    /* the map is float32 at the model's resolution: find its hottest pixel */
    GstMapInfo map;
    if (gst_buffer_map (meta->error_map, &map, GST_MAP_READ)) {
      const gfloat *e = (const gfloat *) map.data;
      gsize n = map.size / sizeof (gfloat), best = 0;
      for (gsize i = 1; i < n; i++)
        if (e[i] > e[best])
          best = i;
      if (n == (gsize) meta->map_width * meta->map_height)
        app->with_map++;
      if (meta->anomaly && meta->map_width)
        g_print ("frame %" G_GUINT64_FORMAT ": score %.2f, hottest at (%u, %u) of the %ux%u frame\n",
            meta->frame_number, meta->score,
            (guint) ((best % meta->map_width) * meta->frame_width / meta->map_width),
            (guint) ((best / meta->map_width) * meta->frame_height / meta->map_height),
            meta->frame_width, meta->frame_height);
      gst_buffer_unmap (meta->error_map, &map);
    }
  }
  return GST_PAD_PROBE_OK;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  App *app = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "sibvad-alarm")) {
        const gchar *state = gst_structure_get_string (s, "state");
        GstClockTime ts = GST_CLOCK_TIME_NONE;
        gdouble score = 0;
        gst_structure_get_clock_time (s, "timestamp", &ts);
        gst_structure_get_double (s, "score", &score);
        g_print ("ALARM %s at %" GST_TIME_FORMAT " (score %.2f)\n", state, GST_TIME_ARGS (ts), score);
        if (g_strcmp0 (state, "begin") == 0) {
          app->alarms++;
          app->in_alarm = TRUE;
        } else {
          app->in_alarm = FALSE;
        }
      }
      break;
    }
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("error from %s: %s\n", GST_OBJECT_NAME (msg->src), err->message);
      g_clear_error (&err);
      g_free (dbg);
      app->status = 1;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  gchar *model = NULL, *overlay = NULL;
  gdouble threshold = 3.0;
  gint frames = 100;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the installed ped2-lite)", "FILE"},
    {"threshold", 't', 0, G_OPTION_ARG_DOUBLE, &threshold, "Alarm threshold on the calibrated score", "X"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &frames, "Frames of the generated pattern (no VIDEO)", "N"},
    {"overlay", 'o', 0, G_OPTION_ARG_FILENAME, &overlay, "Also write the video with the error map drawn", "OUT.avi"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("[VIDEO] - score a video with sibvadfilter");
  GError *error = NULL;
  App app = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);

  GString *desc = g_string_new (NULL);
  if (argc > 1) {
    gchar *loc = g_strescape (argv[1], NULL);
    if (strchr (argv[1], '%'))
      g_string_append_printf (desc, "multifilesrc location=\"%s\" caps=image/jpeg,framerate=25/1 ! decodebin", loc);
    else
      g_string_append_printf (desc, "filesrc location=\"%s\" ! decodebin", loc);
    g_free (loc);
  } else {
    g_string_append_printf (desc, "videotestsrc pattern=ball num-buffers=%d ! "
        "video/x-raw,width=360,height=240,framerate=25/1", frames);
  }
  g_string_append (desc, " ! videoconvert ! sibvadfilter name=vad");
  if (overlay) {
    gchar *loc = g_strescape (overlay, NULL);
    g_string_append_printf (desc, " ! sibvadoverlay ! videoconvert ! jpegenc ! avimux ! filesink location=\"%s\"", loc);
    g_free (loc);
  } else {
    g_string_append (desc, " ! fakesink sync=false");
  }

  GstElement *pipeline = gst_parse_launch (desc->str, &error);
  g_string_free (desc, TRUE);
  if (!pipeline) {
    g_printerr ("could not build the pipeline: %s\n", error->message);
    return 1;
  }
  GstElement *vad = gst_bin_get_by_name (GST_BIN (pipeline), "vad");
  if (model)
    g_object_set (vad, "model-location", model, NULL);
  g_object_set (vad, "threshold", (gfloat) threshold, NULL);
  GstPad *src = gst_element_get_static_pad (vad, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &app, NULL);
  gst_object_unref (src);
  gst_object_unref (vad);

  app.loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_message, &app);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* the error message on the bus says why (a bad model file, for one) */
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg) {
      on_message (bus, msg, &app);
      gst_message_unref (msg);
    }
    app.status = 1;
  } else {
    g_main_loop_run (app.loop);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_main_loop_unref (app.loop);

  g_print ("frames %" G_GUINT64_FORMAT " scored %" G_GUINT64_FORMAT " maps %" G_GUINT64_FORMAT
      " alarms %u peak %.3f\n", app.frames, app.scored, app.with_map, app.alarms, app.peak);
  g_free (model);
  g_free (overlay);
  return app.status;
}
