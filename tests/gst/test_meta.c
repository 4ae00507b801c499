/* test_meta.c: the meta library (gst/libs/gst/sibvad/sibvad-meta.c):
 * GstSibvadMeta add/get and its defaults, copies that share the error map
 * by reference, videoscale in a real pipeline keeping the meta and updating
 * frame_width/frame_height (the map stays at model resolution), the
 * semantic-input meta, and the GstCustomMeta mirror. No model is needed. */
#include <gst/check/gstcheck.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <gst/sibvad/sibvad-meta.h>

#define MAP_W 24
#define MAP_H 16

static GstBuffer *
make_map (gfloat base)
{
  GstBuffer *map = gst_buffer_new_allocate (NULL,
      sizeof (gfloat) * MAP_W * MAP_H, NULL);
  GstMapInfo mi;
  guint i;

  fail_unless (gst_buffer_map (map, &mi, GST_MAP_WRITE));
  for (i = 0; i < MAP_W * MAP_H; i++)
    ((gfloat *) mi.data)[i] = base + i;
  gst_buffer_unmap (map, &mi);
  return map;
}

static GstSibvadMeta *
add_filled_meta (GstBuffer * buf, guint w, guint h)
{
  GstSibvadMeta *m = gst_buffer_add_sibvad_meta (buf);
  GstBuffer *map = make_map (1.0f);

  fail_unless (m != NULL);
  m->frame_number = 42;
  m->warming_up = FALSE;
  m->fresh = TRUE;
  m->score = 2.5f;
  m->raw_score = 3.25f;
  m->visual_error = 0.0125f;
  m->semantic_error = 0.5f;
  m->anomaly = TRUE;
  m->threshold = 3.0f;
  m->error_map = map;           /* the meta holds this reference */
  m->map_width = MAP_W;
  m->map_height = MAP_H;
  m->frame_width = w;
  m->frame_height = h;
  return m;
}

static void
check_fields (const GstSibvadMeta * m, guint w, guint h)
{
  fail_unless_equals_uint64 (m->frame_number, 42);
  fail_unless (!m->warming_up);
  fail_unless (m->fresh);
  fail_unless_equals_float (m->score, 2.5f);
  fail_unless_equals_float (m->raw_score, 3.25f);
  fail_unless_equals_float (m->visual_error, 0.0125f);
  fail_unless_equals_float (m->semantic_error, 0.5f);
  fail_unless (m->anomaly);
  fail_unless_equals_float (m->threshold, 3.0f);
  fail_unless_equals_int (m->map_width, MAP_W);
  fail_unless_equals_int (m->map_height, MAP_H);
  fail_unless_equals_int (m->frame_width, w);
  fail_unless_equals_int (m->frame_height, h);
  fail_unless (m->error_map != NULL);
  fail_unless_equals_int (gst_buffer_get_size (m->error_map),
      sizeof (gfloat) * MAP_W * MAP_H);
}

GST_START_TEST (test_add_get)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL);
  GstSibvadMeta *m;
  const gchar *const *tags;

  fail_unless (gst_buffer_get_sibvad_meta (buf) == NULL);
  m = gst_buffer_add_sibvad_meta (buf);
  fail_unless (m != NULL);
  /* defaults: warming up, no score, no map */
  fail_unless (m->warming_up);
  fail_unless (!m->fresh);
  fail_unless (!m->anomaly);
  fail_unless (m->error_map == NULL);
  fail_unless_equals_float (m->score, 0.0f);
  fail_unless (gst_buffer_get_sibvad_meta (buf) == m);
  fail_unless (gst_meta_api_type_has_tag (GST_SIBVAD_META_API_TYPE,
          g_quark_from_string (GST_META_TAG_VIDEO_STR)));
  fail_unless (gst_meta_api_type_has_tag (GST_SIBVAD_META_API_TYPE,
          g_quark_from_string (GST_META_TAG_VIDEO_SIZE_STR)));
  tags = gst_meta_api_type_get_tags (GST_SIBVAD_META_API_TYPE);
  fail_unless (tags != NULL && g_strv_length ((gchar **) tags) == 2);
  gst_buffer_remove_meta (buf, (GstMeta *) m);
  fail_unless (gst_buffer_get_sibvad_meta (buf) == NULL);

  add_filled_meta (buf, 360, 240);
  check_fields (gst_buffer_get_sibvad_meta (buf), 360, 240);
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* A copy has the same fields and the same map buffer (one more reference);
 * freeing either buffer releases its reference only. */
GST_START_TEST (test_copy_keeps_map)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL), *copy;
  GstSibvadMeta *m, *mc;
  GstBuffer *map;

  m = add_filled_meta (buf, 360, 240);
  map = gst_buffer_ref (m->error_map);  /* ours, to watch the count */
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (map), 2);

  copy = gst_buffer_copy (buf);
  mc = gst_buffer_get_sibvad_meta (copy);
  fail_unless (mc != NULL && mc != m);
  check_fields (mc, 360, 240);
  fail_unless (mc->error_map == map, "the copy shares the map by reference");
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (map), 3);

  gst_buffer_unref (buf);
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (map), 2);
  check_fields (gst_buffer_get_sibvad_meta (copy), 360, 240);
  /* a deep copy too keeps the map by reference */
  buf = gst_buffer_copy_deep (copy);
  fail_unless (gst_buffer_get_sibvad_meta (buf)->error_map == map);
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (map), 3);
  gst_buffer_unref (buf);
  gst_buffer_unref (copy);
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (map), 1);
  gst_buffer_unref (map);
}

GST_END_TEST;

/* A meta without a map copies as such. */
GST_START_TEST (test_copy_without_map)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL), *copy;
  GstSibvadMeta *m = gst_buffer_add_sibvad_meta (buf);

  m->frame_number = 3;
  copy = gst_buffer_copy (buf);
  fail_unless (gst_buffer_get_sibvad_meta (copy) != NULL);
  fail_unless (gst_buffer_get_sibvad_meta (copy)->error_map == NULL);
  fail_unless_equals_uint64 (gst_buffer_get_sibvad_meta (copy)->frame_number,
      3);
  gst_buffer_unref (copy);
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* Run buffers through `appsrc ! <middle> ! appsink` and return them. */
static GList *
run_pipeline (const gchar * middle, const gchar * in_caps, GstBuffer ** in,
    guint n)
{
  GError *err = NULL;
  gchar *desc = g_strdup_printf ("appsrc name=src format=time caps=\"%s\" ! "
      "%s ! appsink name=sink sync=false", in_caps, middle);
  GstElement *pipe = gst_parse_launch (desc, &err);
  GstElement *src, *sink;
  GList *out = NULL;
  guint i;

  fail_unless (pipe != NULL, "%s: %s", desc, err ? err->message : "?");
  src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  for (i = 0; i < n; i++)
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (src), in[i]),
        GST_FLOW_OK);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  for (i = 0; i < n; i++) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        30 * GST_SECOND);

    fail_unless (s != NULL, "%s: frame %u missing", desc, i);
    out = g_list_append (out, gst_buffer_ref (gst_sample_get_buffer (s)));
    gst_sample_unref (s);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  g_free (desc);
  return out;
}

/* videoscale (a GstVideoConvertScale) transforms metas tagged video-size:
 * the meta survives with the new frame size, the map and every score stay. */
GST_START_TEST (test_videoscale_keeps_meta)
{
  const gchar *caps = "video/x-raw,format=RGB,width=360,height=240,"
      "framerate=25/1";
  GstBuffer *in[3];
  GstBuffer *maps[3];
  GList *out, *l;
  guint i;

  for (i = 0; i < 3; i++) {
    in[i] = gst_buffer_new_allocate (NULL, 360 * 240 * 3, NULL);
    gst_buffer_memset (in[i], 0, 100 + i, 360 * 240 * 3);
    GST_BUFFER_PTS (in[i]) = i * 40 * GST_MSECOND;
    maps[i] = gst_buffer_ref (add_filled_meta (in[i], 360, 240)->error_map);
  }
  out = run_pipeline ("videoscale ! video/x-raw,width=180,height=120", caps,
      in, 3);
  for (i = 0, l = out; l; l = l->next, i++) {
    GstSibvadMeta *m = gst_buffer_get_sibvad_meta (GST_BUFFER (l->data));

    fail_unless (m != NULL, "frame %u lost its meta in videoscale", i);
    check_fields (m, 180, 120);
    fail_unless (m->error_map == maps[i]);
  }
  g_list_free_full (out, (GDestroyNotify) gst_buffer_unref);

  /* and through videoconvert ! videoscale to another format and size */
  for (i = 0; i < 3; i++) {
    in[i] = gst_buffer_new_allocate (NULL, 360 * 240 * 3, NULL);
    gst_buffer_memset (in[i], 0, 50, 360 * 240 * 3);
    GST_BUFFER_PTS (in[i]) = i * 40 * GST_MSECOND;
    add_filled_meta (in[i], 360, 240);
  }
  out = run_pipeline ("videoconvert ! videoscale ! "
      "video/x-raw,format=I420,width=720,height=480", caps, in, 3);
  for (l = out; l; l = l->next)
    check_fields (gst_buffer_get_sibvad_meta (GST_BUFFER (l->data)), 720, 480);
  g_list_free_full (out, (GDestroyNotify) gst_buffer_unref);
  for (i = 0; i < 3; i++)
    gst_buffer_unref (maps[i]);
}

GST_END_TEST;

GST_START_TEST (test_semantic_meta)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL), *copy;
  gfloat v[5] = { 0.1f, -0.2f, 0.3f, 0.4f, 0.5f };
  GstSibvadSemanticMeta *m;
  guint i;

  fail_unless (gst_buffer_get_sibvad_semantic_meta (buf) == NULL);
  m = gst_buffer_add_sibvad_semantic_meta (buf, v, 5);
  fail_unless (m != NULL);
  fail_unless (m->vector != v, "the meta keeps its own copy");
  v[0] = 9.0f;
  fail_unless_equals_int (m->length, 5);
  fail_unless_equals_float (m->vector[0], 0.1f);
  fail_unless (gst_buffer_get_sibvad_semantic_meta (buf) == m);

  copy = gst_buffer_copy (buf);
  m = gst_buffer_get_sibvad_semantic_meta (copy);
  fail_unless (m != NULL);
  fail_unless_equals_int (m->length, 5);
  for (i = 1; i < 5; i++)
    fail_unless_equals_float (m->vector[i], v[i]);
  gst_buffer_unref (buf);
  gst_buffer_unref (copy);

  /* an empty vector is allowed */
  buf = gst_buffer_new ();
  m = gst_buffer_add_sibvad_semantic_meta (buf, NULL, 0);
  fail_unless (m != NULL && m->length == 0 && m->vector == NULL);
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* The semantic meta describes the whole frame: it survives videoscale. */
GST_START_TEST (test_semantic_meta_videoscale)
{
  const gchar *caps = "video/x-raw,format=GRAY8,width=64,height=48,"
      "framerate=25/1";
  gfloat v[3] = { 1.0f, 2.0f, 3.0f };
  GstBuffer *in[1];
  GList *out;
  GstSibvadSemanticMeta *m;

  in[0] = gst_buffer_new_allocate (NULL, 64 * 48, NULL);
  gst_buffer_memset (in[0], 0, 7, 64 * 48);
  GST_BUFFER_PTS (in[0]) = 0;
  gst_buffer_add_sibvad_semantic_meta (in[0], v, 3);
  out = run_pipeline ("videoscale ! video/x-raw,width=32,height=24", caps,
      in, 1);
  m = gst_buffer_get_sibvad_semantic_meta (GST_BUFFER (out->data));
  fail_unless (m != NULL);
  fail_unless_equals_int (m->length, 3);
  fail_unless_equals_float (m->vector[2], 3.0f);
  g_list_free_full (out, (GDestroyNotify) gst_buffer_unref);
}

GST_END_TEST;

GST_START_TEST (test_custom_meta_mirror)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL), *copy;
  GstSibvadMeta *m = add_filled_meta (buf, 360, 240);
  GstCustomMeta *cm;
  GstStructure *s;
  guint64 frame;
  gboolean b;
  gdouble d;

  fail_unless (gst_buffer_get_custom_meta (buf,
          GST_SIBVAD_CUSTOM_META_NAME) == NULL);
  fail_unless (gst_buffer_add_sibvad_custom_meta (buf, m));
  cm = gst_buffer_get_custom_meta (buf, GST_SIBVAD_CUSTOM_META_NAME);
  fail_unless (cm != NULL);
  s = gst_custom_meta_get_structure (cm);
  fail_unless (gst_structure_has_name (s, "sibvad"));
  fail_unless (gst_structure_get_uint64 (s, "frame", &frame));
  fail_unless_equals_uint64 (frame, 42);
  fail_unless (gst_structure_get_boolean (s, "warming-up", &b) && !b);
  fail_unless (gst_structure_get_boolean (s, "fresh", &b) && b);
  fail_unless (gst_structure_get_boolean (s, "anomaly", &b) && b);
  fail_unless (gst_structure_get_double (s, "score", &d));
  fail_unless_equals_float (d, 2.5);
  fail_unless (gst_structure_get_double (s, "raw-score", &d));
  fail_unless_equals_float (d, 3.25);
  fail_unless (gst_structure_get_double (s, "visual-error", &d));
  fail_unless_equals_float (d, (gdouble) 0.0125f);
  fail_unless (gst_structure_get_double (s, "semantic-error", &d));
  fail_unless_equals_float (d, 0.5);
  fail_unless (gst_structure_get_double (s, "threshold", &d));
  fail_unless_equals_float (d, 3.0);

  /* updating rewrites the one mirror */
  m->score = 7.0f;
  fail_unless (gst_buffer_add_sibvad_custom_meta (buf, m));
  fail_unless (gst_buffer_get_custom_meta (buf,
          GST_SIBVAD_CUSTOM_META_NAME) == cm);
  fail_unless (gst_structure_get_double (gst_custom_meta_get_structure (cm),
          "score", &d));
  fail_unless_equals_float (d, 7.0);

  /* the mirror is copied with the buffer */
  copy = gst_buffer_copy (buf);
  cm = gst_buffer_get_custom_meta (copy, GST_SIBVAD_CUSTOM_META_NAME);
  fail_unless (cm != NULL);
  fail_unless (gst_structure_get_double (gst_custom_meta_get_structure (cm),
          "score", &d));
  fail_unless_equals_float (d, 7.0);
  gst_buffer_unref (copy);
  gst_buffer_unref (buf);
}

GST_END_TEST;

static Suite *
meta_suite (void)
{
  Suite *s = suite_create ("sibvad-meta");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_add_get);
  tcase_add_test (tc, test_copy_keeps_map);
  tcase_add_test (tc, test_copy_without_map);
  tcase_add_test (tc, test_videoscale_keeps_meta);
  tcase_add_test (tc, test_semantic_meta);
  tcase_add_test (tc, test_semantic_meta_videoscale);
  tcase_add_test (tc, test_custom_meta_mirror);
  return s;
}

GST_CHECK_MAIN (meta);
