/* gstsibvadfilter.c: sibvadfilter, SIB-VAD video anomaly detection on live
 * video (docs/plugin.md). The video passes through unchanged; each frame is
 * converted to the model's input exactly as the dataset reader would read it
 * (sibvad-preprocess.c), pushed into a sibvad_stream (the core keeps the last
 * T frames), scored, smoothed (sibvad-smoothing.c), run through the alarm
 * state machine (sibvad-alarm.c) and described by a GstSibvadMeta, bus
 * messages and optional JSON lines. */

/**
 * SECTION:element-sibvadfilter
 * @title: sibvadfilter
 *
 * Scores every video frame for anomalies with a SIB-VAD model and attaches
 * a #GstSibvadMeta (score, errors, alarm state and error map). Element
 * messages `sibvad` report the score every #GstSibvadFilter:message-interval
 * and `sibvad-alarm` messages the beginning and end of an alarm.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.avi ! decodebin ! videoconvert ! \
 *     sibvadfilter json-location=scores.jsonl ! sibvadoverlay ! autovideosink
 * ]|
 *
 * The first T (= 4) frames of a stream, and the first frames after a flush,
 * a discontinuity (DISCONT flag or a timestamp gap of more than 2 frame
 * durations) or a caps change, are warming up: their meta has
 * `warming_up = TRUE` and no score.
 *
 * With inference-interval=N the model runs on frames 0, N, 2N, ... of a
 * series only and only those frames enter the model's clip (the others are
 * not pushed): the clip then spans T frames N apart, the warm-up lasts
 * T * N frames, and the frames in between carry the last result with
 * `fresh = FALSE`.
 *
 * When the element falls behind its clock (a frame arrives more than two
 * frame durations after its running time, beyond the upstream latency), it
 * holds the late frames and analyses up to #GstSibvadFilter:max-batch of
 * them in one batch (one backbone pass over the new frames, one clip stage
 * over the scored ones: on a GPU far cheaper per frame than one at a time),
 * then lets them go in order. The results are those of one-by-one analysis.
 * A held frame waits at most two frame durations of the pipeline clock for
 * the next one: when the source stalls (a camera that stops sending), the
 * element analyses what it holds and pushes it from a thread of its own.
 * batching=always batches every max-batch frames (files, offline work).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsibvadfilter.h"
#include "sibvad-alarm.h"
#include "sibvad-buffer-check.h"
#include "sibvad-preprocess.h"
#include "sibvad-smoothing.h"
#include "sibvad-threads.h"

#include <gst/sibvad/sibvad-meta.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sibvad.h"
#include "bert.h"

GST_DEBUG_CATEGORY_STATIC (gst_sibvad_filter_debug);
#define GST_CAT_DEFAULT gst_sibvad_filter_debug

#define DEFAULT_DEVICE GST_SIBVAD_DEVICE_AUTO
#define DEFAULT_THREADS 0
#define DEFAULT_THRESHOLD 3.0f
#define DEFAULT_VISUAL_WEIGHT 0.8f
#define DEFAULT_SEMANTIC_WEIGHT 0.2f
#define DEFAULT_SMOOTHING GST_SIBVAD_SMOOTHING_CAUSAL
#define DEFAULT_SIGMA 5.0
#define DEFAULT_ERROR_MAP TRUE
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_SEMANTIC_SOURCE GST_SIBVAD_SEMANTIC_SOURCE_NONE
#define DEFAULT_ALARM_MIN_FRAMES 5
#define DEFAULT_ALARM_GAP 10
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_MESSAGE_INTERVAL GST_SECOND
#define DEFAULT_CUSTOM_META TRUE
#define DEFAULT_JSON_LOCATION NULL
#define DEFAULT_TEXT_ENCODER_LOCATION NULL
#define DEFAULT_PRECISION GST_SIBVAD_PRECISION_FP32
#define DEFAULT_MAX_BATCH 0       /* auto: GPU_MAX_BATCH on a GPU, 1 on the CPU */
#define GPU_MAX_BATCH 8
#define DEFAULT_BATCHING GST_SIBVAD_BATCHING_LATE
#define MAX_MAX_BATCH 64

/* frame duration assumed for message intervals when neither the buffers nor
 * the caps tell it */
#define FALLBACK_FRAME_DURATION (GST_SECOND / 25)

enum
{
  PROP_0,
  PROP_MODEL_LOCATION,
  PROP_DEVICE,
  PROP_THREADS,
  PROP_THRESHOLD,
  PROP_VISUAL_WEIGHT,
  PROP_SEMANTIC_WEIGHT,
  PROP_SMOOTHING,
  PROP_SIGMA,
  PROP_ERROR_MAP,
  PROP_INFERENCE_INTERVAL,
  PROP_SEMANTIC_SOURCE,
  PROP_ALARM_MIN_FRAMES,
  PROP_ALARM_GAP,
  PROP_POST_MESSAGES,
  PROP_MESSAGE_INTERVAL,
  PROP_CUSTOM_META,
  PROP_JSON_LOCATION,
  PROP_TEXT_ENCODER_LOCATION,
  PROP_PRECISION,
  PROP_MAX_BATCH,
  PROP_BATCHING,
};

/* One analysed frame on its way out (held while centred smoothing waits for
 * later frames). */
typedef struct
{
  GstBuffer *buffer;            /* NULL until generate_output hands it over */
  gboolean dropped;             /* the buffer never came back: skip */
  gboolean bare;                /* not analysed: pass without a meta */
  guint64 frame_number;
  gboolean series_start;
  gboolean warming_up;
  gboolean fresh;
  gboolean has_score;           /* the smoothed score is final */
  gboolean awaiting;            /* its result comes with the held batch */
  gboolean analysed;            /* its frame is in the batch (else it carries
                                 * the result before it) */
  gfloat raw_score, score, visual, semantic;
  GstBuffer *error_map;
  guint frame_width, frame_height;
  GstClockTime pts, duration;
} GstSibvadRecord;

struct _GstSibvadFilter
{
  GstVideoFilter videofilter;

  /* properties, under the object lock */
  gchar *model_location;
  GstSibvadDevice device;
  gint threads;
  gfloat threshold;
  gfloat visual_weight;
  gfloat semantic_weight;
  GstSibvadSmoothing smoothing;
  gdouble sigma;
  gboolean error_map;
  guint inference_interval;
  GstSibvadSemanticSource semantic_source;
  guint alarm_min_frames;
  guint alarm_gap;
  gboolean post_messages;
  guint64 message_interval;
  gboolean custom_meta;
  gchar *json_location;
  gchar *text_encoder_location;
  GstSibvadPrecision precision;
  guint max_batch;
  GstSibvadBatching batching;

  /* the text encoder of semantic-source=caption, from NULL->READY to
   * READY->NULL */
  sibvad_text_encoder *encoder;
  gchar *loaded_encoder_location;
  gfloat *caption_vector;       /* sem_dim floats */
  gboolean warned_caption;

  /* the model, from NULL->READY to READY->NULL */
  sibvad_model *model;
  sibvad_stream *stream;
  const sibvad_config *cfg;
  sibvad_calibration calibration;
  gchar *loaded_location;
  GstSibvadDevice loaded_device;
  GstSibvadPrecision loaded_precision;
  guint loaded_max_batch;

  /* frames held for one batched analysis (streaming thread) */
  gfloat *batch_input;          /* (batch_cap, C, H, W) normalised frames */
  gfloat *batch_sem;            /* (batch_cap, sem_dim) */
  sibvad_stream_result *batch_res;
  guint batch_cap;              /* the stream's max batch */
  guint batch_n;                /* frames held */
  gboolean batch_has_sem;       /* the held frames have semantic input */
  GstClockTime upstream_latency;        /* NONE until queried */
  guint64 batches, batched_frames;      /* statistics for the debug log */

  /* the deadline of frames held because the element is late: a thread of
   * the element waits on the pipeline clock until then and, if frames are
   * still held, analyses and pushes them (a stalled live source) */
  GMutex late_lock;
  GCond late_cond;
  GThread *late_thread;         /* started at the first late batch */
  gboolean late_quit;           /* under late_lock */
  GstClock *late_clock;         /* under late_lock; NULL: no deadline */
  GstClockTime late_deadline;   /* under late_lock: clock time */
  GstClockID late_id;           /* under late_lock: the wait in progress */
  GstFlowReturn late_ret;       /* under late_lock: the thread's last push */

  /* the negotiated format (streaming thread) */
  GstVideoInfo info;
  gboolean have_info;
  GstSibvadPreprocess *preprocess;
  GstClockTime frame_duration;  /* from the frame rate, or NONE */

  /* the current series (streaming thread) */
  gboolean need_reset;
  gboolean series_start;
  guint64 frame_number;
  guint interval;
  GstClockTime last_pts, last_frame_duration;
  gboolean have_result;
  gfloat last_visual, last_semantic, last_raw;
  GstBuffer *last_map;
  GstSibvadSmoother *smoother;
  GstSibvadSmoothing smoother_mode;
  gfloat smoother_sigma;
  guint latency_frames;         /* latched delay, under the object lock */
  gboolean latency_latched;     /* under the object lock */
  GstClockTime latency_duration;        /* under the object lock */
  gboolean warned_uncalibrated;
  gboolean warned_semantic;

  /* output side (streaming thread) */
  GQueue pending;               /* GstSibvadRecord, oldest first */
  GstSibvadRecord *current;     /* analysed by transform_frame_ip */
  GstSibvadAlarm alarm;
  GstClockTime alarm_begin_pts;
  gboolean have_out;
  guint64 out_frame;
  GstClockTime out_pts;
  gfloat out_score;

  /* the periodic `sibvad` message */
  gboolean msg_active;
  GstClockTime msg_start, msg_elapsed;
  guint msg_frames;
  gdouble msg_sum, msg_max, msg_score, msg_visual, msg_semantic;
  guint64 msg_frame;

  FILE *json;
  gchar *json_path;
  gboolean json_failed;
};

#define gst_sibvad_filter_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSibvadFilter, gst_sibvad_filter,
    GST_TYPE_VIDEO_FILTER,
    GST_DEBUG_CATEGORY_INIT (gst_sibvad_filter_debug, "sibvadfilter", 0,
        "SIB-VAD video anomaly detection"));
GST_ELEMENT_REGISTER_DEFINE (sibvadfilter, "sibvadfilter", GST_RANK_NONE,
    GST_TYPE_SIBVAD_FILTER);

#define VIDEO_CAPS GST_VIDEO_CAPS_MAKE \
    ("{ GRAY8, RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }")

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));

GType
gst_sibvad_device_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SIBVAD_DEVICE_AUTO, "CUDA when available, else the CPU", "auto"},
    {GST_SIBVAD_DEVICE_CPU, "CPU", "cpu"},
    {GST_SIBVAD_DEVICE_CUDA, "CUDA GPU (fails when not available)", "cuda"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSibvadDevice", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_sibvad_precision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SIBVAD_PRECISION_FP32, "fp32 everywhere (matches the CPU)", "fp32"},
    {GST_SIBVAD_PRECISION_TF32, "TF32 tensor cores on the GPU", "tf32"},
    {GST_SIBVAD_PRECISION_BF16,
        "bf16 tensor-core matrix products with fp32 accumulation on the GPU",
        "bf16"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSibvadPrecision", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_sibvad_batching_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SIBVAD_BATCHING_LATE,
        "Batch frames only while the element is behind its clock", "late"},
    {GST_SIBVAD_BATCHING_ALWAYS,
          "Always analyse max-batch frames at once (adds max-batch - 1 frames "
          "of latency)", "always"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSibvadBatching", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_sibvad_smoothing_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SIBVAD_SMOOTHING_NONE, "No smoothing", "none"},
    {GST_SIBVAD_SMOOTHING_CAUSAL,
        "Causal Gaussian (past frames only, no delay)", "causal"},
    {GST_SIBVAD_SMOOTHING_CENTRED,
        "Centred Gaussian (as offline; delays the video by 4 sigma frames)",
        "centred"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSibvadSmoothing", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_sibvad_semantic_source_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SIBVAD_SEMANTIC_SOURCE_NONE, "No semantic input", "none"},
    {GST_SIBVAD_SEMANTIC_SOURCE_META,
        "GstSibvadSemanticMeta on the input buffers", "meta"},
    {GST_SIBVAD_SEMANTIC_SOURCE_CAPTION,
          "GstSibvadCaptionMeta on the input buffers, embedded with "
          "text-encoder-location", "caption"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSibvadSemanticSource", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_sibvad_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_sibvad_filter_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_sibvad_filter_finalize (GObject * object);
static GstStateChangeReturn gst_sibvad_filter_change_state (GstElement *
    element, GstStateChange transition);
static gboolean gst_sibvad_filter_start (GstBaseTransform * trans);
static gboolean gst_sibvad_filter_stop (GstBaseTransform * trans);
static gboolean gst_sibvad_filter_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_sibvad_filter_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);
static GstFlowReturn gst_sibvad_filter_prepare_output_buffer (GstBaseTransform
    * trans, GstBuffer * input, GstBuffer ** outbuf);
static GstFlowReturn gst_sibvad_filter_generate_output (GstBaseTransform *
    trans, GstBuffer ** outbuf);
static GstFlowReturn gst_sibvad_filter_transform_ip (GstBaseTransform * trans,
    GstBuffer * buf);
static gboolean gst_sibvad_filter_set_info (GstVideoFilter * filter,
    GstCaps * incaps, GstVideoInfo * in_info, GstCaps * outcaps,
    GstVideoInfo * out_info);
static GstFlowReturn gst_sibvad_filter_transform_frame_ip (GstVideoFilter *
    filter, GstVideoFrame * frame);
static GstFlowReturn gst_sibvad_filter_run_batch (GstSibvadFilter * self);
static void gst_sibvad_filter_late_stop (GstSibvadFilter * self);
static void gst_sibvad_filter_late_cancel (GstSibvadFilter * self);

static void
gst_sibvad_filter_class_init (GstSibvadFilterClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_sibvad_filter_set_property;
  gobject_class->get_property = gst_sibvad_filter_get_property;
  gobject_class->finalize = gst_sibvad_filter_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL_LOCATION,
      g_param_spec_string ("model-location", "Model location",
          "SIB-VAD model file (.safetensors); default: the installed "
          "ped2-lite model", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_enum ("device", "Device",
          "Where the model runs (cuda fails the state change when no CUDA "
          "backend is built or no GPU is present; auto falls back to the CPU)",
          GST_TYPE_SIBVAD_DEVICE, DEFAULT_DEVICE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "CPU threads for the model (0: all cores, or OMP_NUM_THREADS when "
          "set)", 0, 64, DEFAULT_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_float ("threshold", "Threshold",
          "Alarm threshold on the (smoothed) calibrated score",
          -G_MAXFLOAT, G_MAXFLOAT, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_VISUAL_WEIGHT,
      g_param_spec_float ("visual-weight", "Visual weight",
          "Weight w_v of the visual error in the calibrated score",
          0.0f, G_MAXFLOAT, DEFAULT_VISUAL_WEIGHT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEMANTIC_WEIGHT,
      g_param_spec_float ("semantic-weight", "Semantic weight",
          "Weight w_s of the semantic error in the calibrated score (counts "
          "only with semantic input and a model calibrated with it)",
          0.0f, G_MAXFLOAT, DEFAULT_SEMANTIC_WEIGHT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SMOOTHING,
      g_param_spec_enum ("smoothing", "Smoothing",
          "Gaussian smoothing of the score (takes effect at the next warm-up)",
          GST_TYPE_SIBVAD_SMOOTHING, DEFAULT_SMOOTHING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SIGMA,
      g_param_spec_double ("sigma", "Sigma",
          "Smoothing sigma in frames (takes effect at the next warm-up)",
          0.1, 50.0, DEFAULT_SIGMA,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ERROR_MAP,
      g_param_spec_boolean ("error-map", "Error map",
          "Attach the per-pixel error map to the meta", DEFAULT_ERROR_MAP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the model on every Nth frame only (those frames form the "
          "model's clips); the others carry the last result (fresh = FALSE). "
          "Takes effect at the next warm-up", 1, 1000,
          DEFAULT_INFERENCE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEMANTIC_SOURCE,
      g_param_spec_enum ("semantic-source", "Semantic source",
          "Where the semantic (caption embedding) input comes from",
          GST_TYPE_SIBVAD_SEMANTIC_SOURCE, DEFAULT_SEMANTIC_SOURCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ALARM_MIN_FRAMES,
      g_param_spec_uint ("alarm-min-frames", "Alarm minimum frames",
          "Consecutive frames at or above the threshold before an alarm "
          "begins", 1, G_MAXUINT, DEFAULT_ALARM_MIN_FRAMES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ALARM_GAP,
      g_param_spec_uint ("alarm-gap", "Alarm gap",
          "Consecutive frames below the threshold before an alarm ends",
          1, G_MAXUINT, DEFAULT_ALARM_GAP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post 'sibvad' element messages every message-interval",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MESSAGE_INTERVAL,
      g_param_spec_uint64 ("message-interval", "Message interval",
          "Interval of the 'sibvad' messages in nanoseconds of stream time "
          "(0: every frame)", 0, G_MAXUINT64, DEFAULT_MESSAGE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CUSTOM_META,
      g_param_spec_boolean ("custom-meta", "Custom meta",
          "Also attach the GstSibvadCustomMeta mirror of the meta (for "
          "Python and other bindings)", DEFAULT_CUSTOM_META,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_JSON_LOCATION,
      g_param_spec_string ("json-location", "JSON location",
          "Write one JSON line per frame to this file (NULL: none)",
          DEFAULT_JSON_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TEXT_ENCODER_LOCATION,
      g_param_spec_string ("text-encoder-location", "Text encoder location",
          "Directory of the BERT sentence encoder (config.json, vocab.txt, "
          "model.safetensors) that embeds the captions of "
          "semantic-source=caption; its hidden size must be the model's "
          "semantic dimension", DEFAULT_TEXT_ENCODER_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "Arithmetic of the model on a GPU (fp32 matches the CPU; tf32 and "
          "bf16 use tensor cores for speed; the CPU always computes in fp32)",
          GST_TYPE_SIBVAD_PRECISION, DEFAULT_PRECISION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_BATCH,
      g_param_spec_uint ("max-batch", "Maximum batch",
          "Most frames analysed in one batch when the element falls behind "
          "its clock (or always, with batching=always); 1 analyses every "
          "frame on its own; 0: 8 on a GPU, 1 on the CPU (where a batch is "
          "no cheaper per frame)", 0, MAX_MAX_BATCH, DEFAULT_MAX_BATCH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BATCHING,
      g_param_spec_enum ("batching", "Batching",
          "When frames are held and analysed max-batch at a time",
          GST_TYPE_SIBVAD_BATCHING, DEFAULT_BATCHING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class,
      "SIB-VAD anomaly detector", "Filter/Analyzer/Video",
      "Scores video frames for anomalies with a SIB-VAD model and attaches "
      "the score, alarm state and error map as GstSibvadMeta",
      "sibvad <https://example.invalid/sibvad>");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sibvad_filter_change_state);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_sibvad_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sibvad_filter_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_sibvad_filter_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_sibvad_filter_query);
  trans_class->prepare_output_buffer =
      GST_DEBUG_FUNCPTR (gst_sibvad_filter_prepare_output_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_sibvad_filter_generate_output);
  /* checks the buffer, then GstVideoFilter maps it for transform_frame_ip */
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_sibvad_filter_transform_ip);
  /* the video is never written: passthrough, with transform_ip still
   * looking at every buffer */
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = TRUE;

  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_sibvad_filter_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_sibvad_filter_transform_frame_ip);

  gst_type_mark_as_plugin_api (GST_TYPE_SIBVAD_DEVICE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SIBVAD_PRECISION, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SIBVAD_BATCHING, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SIBVAD_SMOOTHING, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SIBVAD_SEMANTIC_SOURCE, 0);
}

static gchar *
default_model_location (void)
{
  if (g_file_test (SIBVAD_MODEL_INSTALLED, G_FILE_TEST_IS_REGULAR))
    return g_strdup (SIBVAD_MODEL_INSTALLED);
  return g_strdup (SIBVAD_MODEL_SOURCE);
}

static void
gst_sibvad_filter_init (GstSibvadFilter * self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);

  self->model_location = default_model_location ();
  self->device = DEFAULT_DEVICE;
  self->threads = DEFAULT_THREADS;
  self->threshold = DEFAULT_THRESHOLD;
  self->visual_weight = DEFAULT_VISUAL_WEIGHT;
  self->semantic_weight = DEFAULT_SEMANTIC_WEIGHT;
  self->smoothing = DEFAULT_SMOOTHING;
  self->sigma = DEFAULT_SIGMA;
  self->error_map = DEFAULT_ERROR_MAP;
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->semantic_source = DEFAULT_SEMANTIC_SOURCE;
  self->alarm_min_frames = DEFAULT_ALARM_MIN_FRAMES;
  self->alarm_gap = DEFAULT_ALARM_GAP;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->message_interval = DEFAULT_MESSAGE_INTERVAL;
  self->custom_meta = DEFAULT_CUSTOM_META;
  self->json_location = g_strdup (DEFAULT_JSON_LOCATION);
  self->text_encoder_location = g_strdup (DEFAULT_TEXT_ENCODER_LOCATION);
  self->precision = DEFAULT_PRECISION;
  self->max_batch = DEFAULT_MAX_BATCH;
  self->batching = DEFAULT_BATCHING;
  self->upstream_latency = GST_CLOCK_TIME_NONE;

  self->frame_duration = GST_CLOCK_TIME_NONE;
  self->latency_duration = GST_CLOCK_TIME_NONE;
  g_mutex_init (&self->late_lock);
  g_cond_init (&self->late_cond);
  self->late_deadline = GST_CLOCK_TIME_NONE;
  self->late_ret = GST_FLOW_OK;
  g_queue_init (&self->pending);
  gst_sibvad_alarm_init (&self->alarm, DEFAULT_ALARM_MIN_FRAMES,
      DEFAULT_ALARM_GAP);

  gst_base_transform_set_passthrough (trans, TRUE);
  /* an analyser must see every frame: a frame dropped for QoS would break
   * the model's clip (downstream may still drop late frames) */
  gst_base_transform_set_qos_enabled (trans, FALSE);
}

static void
record_free (GstSibvadRecord * r)
{
  gst_clear_buffer (&r->buffer);
  gst_clear_buffer (&r->error_map);
  g_free (r);
}

static void
gst_sibvad_filter_finalize (GObject * object)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (object);

  gst_sibvad_filter_late_stop (self);
  g_mutex_clear (&self->late_lock);
  g_cond_clear (&self->late_cond);
  g_queue_clear_full (&self->pending, (GDestroyNotify) record_free);
  gst_sibvad_preprocess_free (self->preprocess);
  gst_sibvad_smoother_free (self->smoother);
  gst_clear_buffer (&self->last_map);
  sibvad_stream_free (self->stream);
  sibvad_model_free (self->model);
  sibvad_text_encoder_free (self->encoder);
  g_free (self->caption_vector);
  g_free (self->loaded_encoder_location);
  g_free (self->text_encoder_location);
  g_free (self->batch_input);
  g_free (self->batch_sem);
  g_free (self->batch_res);
  g_free (self->loaded_location);
  g_free (self->model_location);
  g_free (self->json_location);
  g_free (self->json_path);
  if (self->json)
    fclose (self->json);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* model-location, device, precision, max-batch, json-location and
 * text-encoder-location only change in NULL or READY */
static gboolean
settable_in_state (GstSibvadFilter * self, GParamSpec * pspec)
{
  GstState state = GST_STATE (self);

  if (state <= GST_STATE_READY)
    return TRUE;
  GST_WARNING_OBJECT (self, "%s can only be changed in the NULL or READY "
      "state; ignored", g_param_spec_get_name (pspec));
  return FALSE;
}

static void
gst_sibvad_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_LOCATION:
      if (settable_in_state (self, pspec)) {
        g_free (self->model_location);
        self->model_location = g_value_dup_string (value);
        if (!self->model_location)
          self->model_location = default_model_location ();
      }
      break;
    case PROP_DEVICE:
      if (settable_in_state (self, pspec))
        self->device = g_value_get_enum (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_float (value);
      break;
    case PROP_VISUAL_WEIGHT:
      self->visual_weight = g_value_get_float (value);
      break;
    case PROP_SEMANTIC_WEIGHT:
      self->semantic_weight = g_value_get_float (value);
      break;
    case PROP_SMOOTHING:
      self->smoothing = g_value_get_enum (value);
      break;
    case PROP_SIGMA:
      self->sigma = g_value_get_double (value);
      break;
    case PROP_ERROR_MAP:
      self->error_map = g_value_get_boolean (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint (value);
      break;
    case PROP_SEMANTIC_SOURCE:
      self->semantic_source = g_value_get_enum (value);
      break;
    case PROP_ALARM_MIN_FRAMES:
      self->alarm_min_frames = g_value_get_uint (value);
      break;
    case PROP_ALARM_GAP:
      self->alarm_gap = g_value_get_uint (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_MESSAGE_INTERVAL:
      self->message_interval = g_value_get_uint64 (value);
      break;
    case PROP_CUSTOM_META:
      self->custom_meta = g_value_get_boolean (value);
      break;
    case PROP_JSON_LOCATION:
      if (settable_in_state (self, pspec)) {
        g_free (self->json_location);
        self->json_location = g_value_dup_string (value);
      }
      break;
    case PROP_TEXT_ENCODER_LOCATION:
      if (settable_in_state (self, pspec)) {
        g_free (self->text_encoder_location);
        self->text_encoder_location = g_value_dup_string (value);
      }
      break;
    case PROP_PRECISION:
      if (settable_in_state (self, pspec))
        self->precision = g_value_get_enum (value);
      break;
    case PROP_MAX_BATCH:
      if (settable_in_state (self, pspec))
        self->max_batch = g_value_get_uint (value);
      break;
    case PROP_BATCHING:
      self->batching = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sibvad_filter_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_LOCATION:
      g_value_set_string (value, self->model_location);
      break;
    case PROP_DEVICE:
      g_value_set_enum (value, self->device);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_THRESHOLD:
      g_value_set_float (value, self->threshold);
      break;
    case PROP_VISUAL_WEIGHT:
      g_value_set_float (value, self->visual_weight);
      break;
    case PROP_SEMANTIC_WEIGHT:
      g_value_set_float (value, self->semantic_weight);
      break;
    case PROP_SMOOTHING:
      g_value_set_enum (value, self->smoothing);
      break;
    case PROP_SIGMA:
      g_value_set_double (value, self->sigma);
      break;
    case PROP_ERROR_MAP:
      g_value_set_boolean (value, self->error_map);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->inference_interval);
      break;
    case PROP_SEMANTIC_SOURCE:
      g_value_set_enum (value, self->semantic_source);
      break;
    case PROP_ALARM_MIN_FRAMES:
      g_value_set_uint (value, self->alarm_min_frames);
      break;
    case PROP_ALARM_GAP:
      g_value_set_uint (value, self->alarm_gap);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_MESSAGE_INTERVAL:
      g_value_set_uint64 (value, self->message_interval);
      break;
    case PROP_CUSTOM_META:
      g_value_set_boolean (value, self->custom_meta);
      break;
    case PROP_JSON_LOCATION:
      g_value_set_string (value, self->json_location);
      break;
    case PROP_TEXT_ENCODER_LOCATION:
      g_value_set_string (value, self->text_encoder_location);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    case PROP_MAX_BATCH:
      g_value_set_uint (value, self->max_batch);
      break;
    case PROP_BATCHING:
      g_value_set_enum (value, self->batching);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- the model ---------------------------------------------------------- */

static void
gst_sibvad_filter_close_model (GstSibvadFilter * self)
{
  sibvad_stream_free (self->stream);
  self->stream = NULL;
  sibvad_model_free (self->model);
  self->model = NULL;
  self->cfg = NULL;
  g_clear_pointer (&self->batch_input, g_free);
  g_clear_pointer (&self->batch_sem, g_free);
  g_clear_pointer (&self->batch_res, g_free);
  self->batch_cap = self->batch_n = 0;
  g_clear_pointer (&self->loaded_location, g_free);
  gst_sibvad_preprocess_free (self->preprocess);
  self->preprocess = NULL;
  self->have_info = FALSE;
}

static gboolean
gst_sibvad_filter_open_model (GstSibvadFilter * self)
{
  gchar *location, *backend;
  GstSibvadDevice device;
  GstSibvadPrecision precision;
  guint max_batch;
  sibvad_error err = { {0} };
  const sibvad_calibration *calib;
  gsize img;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->model_location);
  device = self->device;
  precision = self->precision;
  max_batch = self->max_batch;
  GST_OBJECT_UNLOCK (self);

  if (self->model && g_strcmp0 (location, self->loaded_location) == 0
      && device == self->loaded_device && precision == self->loaded_precision
      && max_batch == self->loaded_max_batch) {
    g_free (location);
    return TRUE;
  }
  gst_sibvad_filter_close_model (self);

  if (!location || !*location) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model file: model-location is empty"), (NULL));
    g_free (location);
    return FALSE;
  }

  GST_DEBUG_OBJECT (self, "loading model %s", location);
  self->model = sibvad_model_load (location, &err);
  if (!self->model) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the model \"%s\": %s", location, err.msg),
        ("sibvad_model_load failed"));
    g_free (location);
    return FALSE;
  }
  /* cpu: the model stays where it loaded; cuda: the CUDA backend module
   * (loaded at run time) or an error that says what is missing; auto: CUDA
   * when it works, else the CPU */
  backend = g_strdup_printf ("%s:%s",
      device == GST_SIBVAD_DEVICE_CUDA ? "cuda" : "auto",
      precision == GST_SIBVAD_PRECISION_BF16 ? "bf16" :
      precision == GST_SIBVAD_PRECISION_TF32 ? "tf32" : "fp32");
  if (device != GST_SIBVAD_DEVICE_CPU &&
      sibvad_model_use_backend (self->model, backend, &err) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("device=cuda is not available: %s", err.msg),
        ("use device=cpu or device=auto"));
    sibvad_model_free (self->model);
    self->model = NULL;
    g_free (backend);
    g_free (location);
    return FALSE;
  }
  g_free (backend);
  GST_INFO_OBJECT (self, "model runs on %s",
      sibvad_model_backend_name (self->model));
  self->stream = sibvad_stream_new_batched (self->model, max_batch > 0 ?
      (int) max_batch : strcmp (sibvad_model_backend_name (self->model),
          "cpu") ? GPU_MAX_BATCH : 1, &err);
  if (!self->stream) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not prepare the model \"%s\": %s", location, err.msg),
        ("sibvad_stream_new failed"));
    sibvad_model_free (self->model);
    self->model = NULL;
    g_free (location);
    return FALSE;
  }
  self->cfg = sibvad_model_config (self->model);
  calib = sibvad_model_calibration (self->model);
  if (calib)
    self->calibration = *calib;
  else
    memset (&self->calibration, 0, sizeof (self->calibration));
  img = (gsize) self->cfg->channels * self->cfg->img_h * self->cfg->img_w;
  self->batch_cap = (guint) sibvad_stream_max_batch (self->stream);
  self->batch_input = g_new (gfloat, img * self->batch_cap);
  self->batch_sem = g_new0 (gfloat, (gsize) MAX (self->cfg->sem_dim, 1) *
      self->batch_cap);
  self->batch_res = g_new0 (sibvad_stream_result, self->batch_cap);
  self->batch_n = 0;
  self->loaded_location = location;
  self->loaded_device = device;
  self->loaded_precision = precision;
  self->loaded_max_batch = max_batch;
  GST_INFO_OBJECT (self, "model %s: %dx%d, %d channel(s), T = %d, "
      "calibrated on %d clips", location, self->cfg->img_w, self->cfg->img_h,
      self->cfg->channels, self->cfg->frames_in, self->calibration.count);
  return TRUE;
}

/* ---- the text encoder (semantic-source=caption) ------------------------ */

static void
gst_sibvad_filter_close_encoder (GstSibvadFilter * self)
{
  sibvad_text_encoder_free (self->encoder);
  self->encoder = NULL;
  g_clear_pointer (&self->loaded_encoder_location, g_free);
  g_clear_pointer (&self->caption_vector, g_free);
}

/* After the model: load text-encoder-location when semantic-source=caption
 * and check that its embeddings have the model's sem_dim. */
static gboolean
gst_sibvad_filter_open_encoder (GstSibvadFilter * self)
{
  GstSibvadSemanticSource source;
  gchar *location;
  sibvad_error err = { {0} };
  gint dim;

  GST_OBJECT_LOCK (self);
  source = self->semantic_source;
  location = g_strdup (self->text_encoder_location);
  GST_OBJECT_UNLOCK (self);

  if (source != GST_SIBVAD_SEMANTIC_SOURCE_CAPTION) {
    g_free (location);
    return TRUE;
  }
  if (!location || !*location) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No text encoder: semantic-source=caption needs "
            "text-encoder-location"), (NULL));
    g_free (location);
    return FALSE;
  }
  if (self->encoder && g_strcmp0 (location, self->loaded_encoder_location) == 0
      && sibvad_text_encoder_dim (self->encoder) == self->cfg->sem_dim) {
    g_free (location);
    return TRUE;
  }
  gst_sibvad_filter_close_encoder (self);

  GST_DEBUG_OBJECT (self, "loading text encoder %s", location);
  self->encoder = sibvad_text_encoder_load (location, &err);
  if (!self->encoder) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the text encoder \"%s\": %s", location, err.msg),
        ("sibvad_text_encoder_load failed"));
    g_free (location);
    return FALSE;
  }
  dim = sibvad_text_encoder_dim (self->encoder);
  if (dim != self->cfg->sem_dim) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The text encoder \"%s\" embeds in %d dimensions but the model "
            "\"%s\" expects semantic vectors of %d", location, dim,
            self->loaded_location, self->cfg->sem_dim), (NULL));
    gst_sibvad_filter_close_encoder (self);
    g_free (location);
    return FALSE;
  }
  self->caption_vector = g_new (gfloat, dim);
  self->loaded_encoder_location = location;
  GST_INFO_OBJECT (self, "text encoder %s: %d dimensions", location, dim);
  return TRUE;
}

static GstStateChangeReturn
gst_sibvad_filter_change_state (GstElement * element,
    GstStateChange transition)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!gst_sibvad_filter_open_model (self)
          || !gst_sibvad_filter_open_encoder (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      /* model-location, device, semantic-source or text-encoder-location
       * may have changed in READY */
      if (!gst_sibvad_filter_open_model (self)
          || !gst_sibvad_filter_open_encoder (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_NULL:
      gst_sibvad_filter_close_encoder (self);
      gst_sibvad_filter_close_model (self);
      break;
    default:
      break;
  }
  return ret;
}

/* ---- series, smoothing and output ------------------------------------- */

static gboolean
record_needs_score (const GstSibvadRecord * r)
{
  return !r->bare && !r->warming_up && !r->has_score;
}

/* Hand the final smoothed values to the held frames, in order. */
static void
gst_sibvad_filter_collect (GstSibvadFilter * self)
{
  GList *l = self->pending.head;
  gfloat v;

  if (!self->smoother)
    return;
  while (gst_sibvad_smoother_pop (self->smoother, &v)) {
    while (l && !record_needs_score (l->data))
      l = l->next;
    if (!l) {
      GST_WARNING_OBJECT (self, "smoothed score without a frame");
      break;
    }
    ((GstSibvadRecord *) l->data)->score = v;
    ((GstSibvadRecord *) l->data)->has_score = TRUE;
    l = l->next;
  }
}

static guint
smoothing_delay (GstSibvadSmoothing mode, gfloat sigma)
{
  return mode == GST_SIBVAD_SMOOTHING_CENTRED && sigma > 0.0f ?
      (guint) (gint) (4.0f * sigma + 0.5f) : 0;
}

/* Start a new series: the held frames of the old one get their final scores
 * (reflected at its end), the model's clip restarts (warm-up) and the
 * latched settings (inference-interval, smoothing, sigma) are read again. */
static void
gst_sibvad_filter_reset_series (GstSibvadFilter * self)
{
  GstSibvadSmoothing mode;
  gfloat sigma;
  guint interval, old_delay, new_delay;

  if (self->smoother) {
    gst_sibvad_smoother_finish (self->smoother);
    gst_sibvad_filter_collect (self);
  }
  if (self->stream)
    sibvad_stream_reset (self->stream);
  self->frame_number = 0;
  self->have_result = FALSE;
  gst_clear_buffer (&self->last_map);
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->last_frame_duration = GST_CLOCK_TIME_NONE;
  self->series_start = TRUE;

  GST_OBJECT_LOCK (self);
  mode = self->smoothing;
  sigma = (gfloat) self->sigma;
  interval = self->inference_interval;
  GST_OBJECT_UNLOCK (self);

  self->interval = MAX (interval, 1);
  if (!self->smoother || mode != self->smoother_mode
      || sigma != self->smoother_sigma) {
    gst_sibvad_smoother_free (self->smoother);
    self->smoother = gst_sibvad_smoother_new (mode, sigma);
    self->smoother_mode = mode;
    self->smoother_sigma = sigma;
  } else {
    gst_sibvad_smoother_reset (self->smoother);
  }

  new_delay = gst_sibvad_smoother_delay (self->smoother);
  GST_OBJECT_LOCK (self);
  old_delay = self->latency_latched ? self->latency_frames :
      smoothing_delay (self->smoothing, (gfloat) self->sigma);
  self->latency_frames = new_delay;
  self->latency_latched = TRUE;
  GST_OBJECT_UNLOCK (self);
  if (old_delay != new_delay) {
    GST_DEBUG_OBJECT (self, "smoothing delay now %u frames", new_delay);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
}

static GstClockTime
to_stream_time (GstSibvadFilter * self, GstClockTime ts)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;

  if (!GST_CLOCK_TIME_IS_VALID (ts) || seg->format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_stream_time (seg, GST_FORMAT_TIME, ts);
}

static GstClockTime
to_running_time (GstSibvadFilter * self, GstClockTime ts)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;

  if (!GST_CLOCK_TIME_IS_VALID (ts) || seg->format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time (seg, GST_FORMAT_TIME, ts);
}

static void
gst_sibvad_filter_post_alarm (GstSibvadFilter * self, gboolean begin,
    guint64 frame, GstClockTime pts, gfloat score)
{
  GstStructure *s;

  s = gst_structure_new ("sibvad-alarm",
      "state", G_TYPE_STRING, begin ? "begin" : "end",
      "timestamp", G_TYPE_UINT64, pts,
      "stream-time", G_TYPE_UINT64, to_stream_time (self, pts),
      "running-time", G_TYPE_UINT64, to_running_time (self, pts),
      "frame", G_TYPE_UINT64, frame,
      "score", G_TYPE_DOUBLE, (gdouble) score,
      "peak-score", G_TYPE_DOUBLE, (gdouble) self->alarm.peak, NULL);
  if (begin) {
    self->alarm_begin_pts = pts;
  } else {
    GstClockTime d = GST_CLOCK_TIME_NONE;

    if (GST_CLOCK_TIME_IS_VALID (pts)
        && GST_CLOCK_TIME_IS_VALID (self->alarm_begin_pts)
        && pts >= self->alarm_begin_pts)
      d = pts - self->alarm_begin_pts;
    gst_structure_set (s, "duration", G_TYPE_UINT64, d, NULL);
  }
  GST_INFO_OBJECT (self, "alarm %s at frame %" G_GUINT64_FORMAT " (%"
      GST_TIME_FORMAT "), score %f", begin ? "begins" : "ends", frame,
      GST_TIME_ARGS (pts), score);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* An open alarm ends at the last frame that went out (EOS, flush, reset). */
static void
gst_sibvad_filter_end_alarm (GstSibvadFilter * self)
{
  if (gst_sibvad_alarm_finish (&self->alarm) == GST_SIBVAD_ALARM_END)
    gst_sibvad_filter_post_alarm (self, FALSE, self->out_frame, self->out_pts,
        self->out_score);
}

static void
gst_sibvad_filter_post_sibvad (GstSibvadFilter * self)
{
  GstStructure *s;

  s = gst_structure_new ("sibvad",
      "timestamp", G_TYPE_UINT64, self->msg_start,
      "stream-time", G_TYPE_UINT64, to_stream_time (self, self->msg_start),
      "running-time", G_TYPE_UINT64, to_running_time (self, self->msg_start),
      "duration", G_TYPE_UINT64, self->msg_elapsed,
      "frames", G_TYPE_UINT, self->msg_frames,
      "score", G_TYPE_DOUBLE, self->msg_score,
      "max-score", G_TYPE_DOUBLE, self->msg_frames ? self->msg_max : 0.0,
      "mean-score", G_TYPE_DOUBLE,
      self->msg_frames ? self->msg_sum / self->msg_frames : 0.0,
      "visual-error", G_TYPE_DOUBLE, self->msg_visual,
      "semantic-error", G_TYPE_DOUBLE, self->msg_semantic,
      "anomaly", G_TYPE_BOOLEAN, self->alarm.active,
      "frame", G_TYPE_UINT64, self->msg_frame, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Count a frame into the interval of the `sibvad` message and post the
 * message when the interval is full (like level's interval). */
static void
gst_sibvad_filter_account (GstSibvadFilter * self, const GstSibvadRecord * r,
    gboolean post, guint64 interval)
{
  GstClockTime dur = r->duration;

  if (!GST_CLOCK_TIME_IS_VALID (dur))
    dur = GST_CLOCK_TIME_IS_VALID (self->frame_duration) ?
        self->frame_duration : FALLBACK_FRAME_DURATION;

  if (!self->msg_active) {
    self->msg_active = TRUE;
    self->msg_start = r->pts;
    self->msg_elapsed = 0;
    self->msg_frames = 0;
    self->msg_sum = self->msg_max = self->msg_score = 0.0;
  }
  if (!r->warming_up) {
    self->msg_max = self->msg_frames ? MAX (self->msg_max, r->score) : r->score;
    self->msg_frames++;
    self->msg_sum += r->score;
    self->msg_score = r->score;
  }
  self->msg_visual = r->visual;
  self->msg_semantic = r->semantic;
  self->msg_frame = r->frame_number;
  if (GST_CLOCK_TIME_IS_VALID (r->pts)
      && GST_CLOCK_TIME_IS_VALID (self->msg_start) && r->pts >= self->msg_start)
    self->msg_elapsed = r->pts + dur - self->msg_start;
  else
    self->msg_elapsed += dur;

  if (interval == 0 || self->msg_elapsed >= interval) {
    if (post)
      gst_sibvad_filter_post_sibvad (self);
    self->msg_active = FALSE;
  }
}

static void
json_number (GString * s, gfloat v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (v))
    g_string_append (s, "null");
  else
    g_string_append (s, g_ascii_formatd (buf, sizeof (buf), "%.9g", v));
}

static void
gst_sibvad_filter_write_json (GstSibvadFilter * self, const GstSibvadMeta * m,
    GstClockTime pts)
{
  GString *s;

  if (!self->json || self->json_failed)
    return;
  s = g_string_sized_new (256);
  g_string_append_printf (s, "{\"frame\":%" G_GUINT64_FORMAT ",\"pts\":",
      m->frame_number);
  if (GST_CLOCK_TIME_IS_VALID (pts))
    g_string_append_printf (s, "%" G_GUINT64_FORMAT, (guint64) pts);
  else
    g_string_append (s, "null");
  g_string_append_printf (s, ",\"warming_up\":%s,\"fresh\":%s,\"score\":",
      m->warming_up ? "true" : "false", m->fresh ? "true" : "false");
  json_number (s, m->score);
  g_string_append (s, ",\"raw_score\":");
  json_number (s, m->raw_score);
  g_string_append (s, ",\"visual_error\":");
  json_number (s, m->visual_error);
  g_string_append (s, ",\"semantic_error\":");
  json_number (s, m->semantic_error);
  g_string_append_printf (s, ",\"anomaly\":%s}\n",
      m->anomaly ? "true" : "false");
  if (fputs (s->str, self->json) == EOF) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not write to \"%s\": %s", self->json_path,
            g_strerror (errno)), ("no more JSON lines are written"));
    self->json_failed = TRUE;
  }
  g_string_free (s, TRUE);
}

/* A frame leaves: alarm, meta, custom meta, JSON line, message interval. */
static GstBuffer *
gst_sibvad_filter_finish_record (GstSibvadFilter * self, GstSibvadRecord * r)
{
  GstBuffer *buf = r->buffer;
  GstSibvadMeta *meta;
  gfloat threshold;
  guint min_frames, gap;
  gboolean custom, post;
  guint64 interval;

  r->buffer = NULL;
  if (r->bare) {
    record_free (r);
    return buf;
  }

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  min_frames = self->alarm_min_frames;
  gap = self->alarm_gap;
  custom = self->custom_meta;
  post = self->post_messages;
  interval = self->message_interval;
  GST_OBJECT_UNLOCK (self);

  if (r->warming_up)
    r->score = r->raw_score = r->visual = r->semantic = 0.0f;

  /* the alarm: a new series closes the old one's alarm */
  if (r->series_start)
    gst_sibvad_filter_end_alarm (self);
  gst_sibvad_alarm_set_params (&self->alarm, min_frames, gap);
  if (!r->warming_up) {
    switch (gst_sibvad_alarm_push (&self->alarm, r->score, threshold)) {
      case GST_SIBVAD_ALARM_BEGIN:
        gst_sibvad_filter_post_alarm (self, TRUE, r->frame_number, r->pts,
            r->score);
        break;
      case GST_SIBVAD_ALARM_END:
        gst_sibvad_filter_post_alarm (self, FALSE, r->frame_number, r->pts,
            r->score);
        break;
      default:
        break;
    }
  }

  /* we hold the only reference (prepare_output_buffer); the check is for
   * safety: a copy shares the memory */
  if (!gst_buffer_is_writable (buf))
    buf = gst_buffer_make_writable (buf);
  /* a second analyser downstream of a first one updates its meta */
  meta = gst_buffer_get_sibvad_meta (buf);
  if (!meta)
    meta = gst_buffer_add_sibvad_meta (buf);
  meta->frame_number = r->frame_number;
  meta->warming_up = r->warming_up;
  meta->fresh = r->fresh;
  meta->score = r->score;
  meta->raw_score = r->raw_score;
  meta->visual_error = r->visual;
  meta->semantic_error = r->semantic;
  meta->anomaly = self->alarm.active;
  meta->threshold = threshold;
  gst_buffer_replace (&meta->error_map, r->error_map);
  meta->map_width = self->cfg ? self->cfg->img_w : 0;
  meta->map_height = self->cfg ? self->cfg->img_h : 0;
  meta->frame_width = r->frame_width;
  meta->frame_height = r->frame_height;
  if (custom)
    gst_buffer_add_sibvad_custom_meta (buf, meta);

  gst_sibvad_filter_write_json (self, meta, r->pts);
  gst_sibvad_filter_account (self, r, post, interval);

  self->have_out = TRUE;
  self->out_frame = r->frame_number;
  self->out_pts = r->pts;
  self->out_score = r->score;

  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT " %" GST_TIME_FORMAT
      ": %s score %f raw %f e_v %g", r->frame_number, GST_TIME_ARGS (r->pts),
      r->warming_up ? "warming up," : r->fresh ? "fresh," : "carried,",
      r->score, r->raw_score, r->visual);
  record_free (r);
  return buf;
}

/* The oldest held frame if its score is final, finished; else NULL. */
static GstBuffer *
gst_sibvad_filter_pop_ready (GstSibvadFilter * self)
{
  GstSibvadRecord *r;

  while ((r = g_queue_peek_head (&self->pending))) {
    if (r->dropped) {
      record_free (g_queue_pop_head (&self->pending));
      continue;
    }
    if (!r->buffer || record_needs_score (r))
      return NULL;
    return gst_sibvad_filter_finish_record (self,
        g_queue_pop_head (&self->pending));
  }
  return NULL;
}

/* Push every held frame (the series ends here: centred smoothing reflects
 * at its end). For serialized events that must not overtake them. */
static void
gst_sibvad_filter_drain (GstSibvadFilter * self)
{
  GstBuffer *buf;

  if (g_queue_is_empty (&self->pending))
    return;
  gst_sibvad_filter_run_batch (self);
  if (self->smoother) {
    gst_sibvad_smoother_finish (self->smoother);
    gst_sibvad_filter_collect (self);
  }
  GST_DEBUG_OBJECT (self, "draining %u held frames",
      g_queue_get_length (&self->pending));
  while ((buf = gst_sibvad_filter_pop_ready (self))) {
    GstFlowReturn ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);

    if (ret != GST_FLOW_OK)
      GST_DEBUG_OBJECT (self, "push while draining: %s",
          gst_flow_get_name (ret));
  }
}

/* Drop every held frame (flush, stop). */
static void
gst_sibvad_filter_drop (GstSibvadFilter * self)
{
  gst_sibvad_filter_late_cancel (self);
  g_queue_clear_full (&self->pending, (GDestroyNotify) record_free);
  g_queue_init (&self->pending);
  self->current = NULL;
  self->batch_n = 0;
  if (self->smoother)
    gst_sibvad_smoother_reset (self->smoother);
}

static void
gst_sibvad_filter_reset_output (GstSibvadFilter * self)
{
  gst_sibvad_alarm_reset (&self->alarm);
  self->alarm_begin_pts = GST_CLOCK_TIME_NONE;
  self->have_out = FALSE;
  self->out_frame = 0;
  self->out_pts = GST_CLOCK_TIME_NONE;
  self->out_score = 0.0f;
  self->msg_active = FALSE;
}

/* ---- GstBaseTransform -------------------------------------------------- */

static gboolean
gst_sibvad_filter_start (GstBaseTransform * trans)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (trans);
  gchar *path;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->json_location);
  GST_OBJECT_UNLOCK (self);

  if (path && *path) {
    self->json = g_fopen (path, "w");
    if (!self->json) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open \"%s\" for writing: %s", path, g_strerror (errno)),
          (NULL));
      g_free (path);
      return FALSE;
    }
  }
  g_free (self->json_path);
  self->json_path = path;
  self->json_failed = FALSE;

  gst_sibvad_filter_drop (self);
  gst_sibvad_filter_reset_output (self);
  self->need_reset = TRUE;
  /* asked again in this run (the element may be in another pipeline now) */
  self->upstream_latency = GST_CLOCK_TIME_NONE;
  g_mutex_lock (&self->late_lock);
  self->late_ret = GST_FLOW_OK;
  g_mutex_unlock (&self->late_lock);
  self->warned_uncalibrated = FALSE;
  self->warned_semantic = FALSE;
  self->warned_caption = FALSE;
  if (self->calibration.count == 0) {
    GST_WARNING_OBJECT (self, "the model %s has no calibration: the score is "
        "the raw visual error", self->loaded_location);
    self->warned_uncalibrated = TRUE;
  }
  return TRUE;
}

static gboolean
gst_sibvad_filter_stop (GstBaseTransform * trans)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (trans);

  gst_sibvad_filter_late_stop (self);
  gst_sibvad_filter_drop (self);
  gst_sibvad_filter_reset_output (self);
  gst_clear_buffer (&self->last_map);
  gst_sibvad_smoother_free (self->smoother);
  self->smoother = NULL;
  if (self->json) {
    if (fclose (self->json) != 0 && !self->json_failed)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Could not write to \"%s\": %s", self->json_path,
              g_strerror (errno)), (NULL));
    self->json = NULL;
  }
  GST_OBJECT_LOCK (self);
  self->latency_frames = 0;
  self->latency_latched = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_sibvad_filter_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&self->late_lock);
      self->late_ret = GST_FLOW_OK;
      g_mutex_unlock (&self->late_lock);
      gst_sibvad_filter_drop (self);
      gst_sibvad_filter_end_alarm (self);
      gst_sibvad_filter_reset_output (self);
      self->need_reset = TRUE;
      break;
    case GST_EVENT_EOS:{
      gboolean post;

      gst_sibvad_filter_drain (self);
      gst_sibvad_filter_end_alarm (self);
      GST_OBJECT_LOCK (self);
      post = self->post_messages;
      GST_OBJECT_UNLOCK (self);
      if (self->msg_active && post)
        gst_sibvad_filter_post_sibvad (self);
      self->msg_active = FALSE;
      if (self->json && fflush (self->json) != 0 && !self->json_failed) {
        GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
            ("Could not write to \"%s\": %s", self->json_path,
                g_strerror (errno)), (NULL));
        self->json_failed = TRUE;
      }
      break;
    }
    case GST_EVENT_CAPS:{
      GstCaps *caps, *current;

      gst_event_parse_caps (event, &caps);
      current = gst_pad_get_current_caps (GST_BASE_TRANSFORM_SINK_PAD (trans));
      if (current && !gst_caps_is_equal (current, caps))
        gst_sibvad_filter_drain (self);
      gst_clear_caps (&current);
      break;
    }
    case GST_EVENT_STREAM_START:
      /* a new stream: held frames go out, the model's clip starts again */
      gst_sibvad_filter_drain (self);
      self->need_reset = TRUE;
      break;
    case GST_EVENT_SEGMENT:
    case GST_EVENT_GAP:
    case GST_EVENT_SEGMENT_DONE:
      /* held frames go out before these */
      gst_sibvad_filter_drain (self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_sibvad_filter_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (trans);
  gboolean ret;

  ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
      query);
  if (ret && direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime min, max, dur;
    gboolean live;
    guint frames;

    GST_OBJECT_LOCK (self);
    frames = self->latency_latched ? self->latency_frames :
        smoothing_delay (self->smoothing, (gfloat) self->sigma);
    /* batching=always holds up to max-batch - 1 frames */
    if (self->batching == GST_SIBVAD_BATCHING_ALWAYS)
      frames += (self->model ? self->batch_cap : MAX (self->max_batch, 1)) - 1;
    dur = self->latency_duration;
    GST_OBJECT_UNLOCK (self);

    if (frames > 0 && GST_CLOCK_TIME_IS_VALID (dur)) {
      GstClockTime extra = frames * dur;

      gst_query_parse_latency (query, &live, &min, &max);
      GST_DEBUG_OBJECT (self, "smoothing and batching hold %u frames: %"
          GST_TIME_FORMAT " more latency", frames, GST_TIME_ARGS (extra));
      min += extra;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += extra;
      gst_query_set_latency (query, live, min, max);
    }
  }
  return ret;
}

/* The video passes unchanged (passthrough) but the meta needs a writable
 * buffer: a shared buffer gets a shallow copy, whose memory is the same
 * (not copied) and which is only mapped for reading. */
static GstFlowReturn
gst_sibvad_filter_prepare_output_buffer (GstBaseTransform * trans,
    GstBuffer * input, GstBuffer ** outbuf)
{
  if (gst_buffer_is_writable (input)) {
    *outbuf = input;
  } else {
    GST_LOG_OBJECT (trans, "shared buffer: copying the metadata only");
    *outbuf = gst_buffer_copy (input);
  }
  return *outbuf ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static GstFlowReturn
gst_sibvad_filter_generate_output (GstBaseTransform * trans,
    GstBuffer ** outbuf)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (trans);
  GstBuffer *buf = NULL;
  GstFlowReturn ret;

  ret = GST_BASE_TRANSFORM_CLASS (parent_class)->generate_output (trans,
      &buf);
  if (ret == GST_FLOW_OK) {
    /* downstream's answer to frames the deadline thread pushed (not-linked,
     * EOS, an error) goes upstream with the next frame */
    g_mutex_lock (&self->late_lock);
    ret = self->late_ret;
    self->late_ret = GST_FLOW_OK;
    g_mutex_unlock (&self->late_lock);
    if (ret != GST_FLOW_OK) {
      GST_DEBUG_OBJECT (self, "held frames pushed on the deadline got %s",
          gst_flow_get_name (ret));
      if (self->current)
        self->current->dropped = TRUE;
      self->current = NULL;
      gst_clear_buffer (&buf);
      *outbuf = NULL;
      return ret;
    }
  }
  if (ret != GST_FLOW_OK) {
    if (self->current)
      self->current->dropped = TRUE;
    self->current = NULL;
    *outbuf = buf;
    return ret;
  }
  if (self->current) {
    if (buf)
      self->current->buffer = buf;
    else
      self->current->dropped = TRUE;
    self->current = NULL;
  } else if (buf) {
    GstSibvadRecord *r = g_new0 (GstSibvadRecord, 1);

    GST_DEBUG_OBJECT (self, "buffer %" GST_PTR_FORMAT " was not analysed", buf);
    r->buffer = buf;
    r->bare = TRUE;
    g_queue_push_tail (&self->pending, r);
  }

  gst_sibvad_filter_collect (self);
  *outbuf = gst_sibvad_filter_pop_ready (self);
  return GST_FLOW_OK;
}

/* A buffer that does not hold the frame its caps describe (truncated, no
 * memory, a video meta whose planes reach past the memory) is an error: the
 * frame cannot be analysed, and GstVideoFilter would only warn and let it
 * through without a meta (or, for a bad video meta, read out of bounds). */
static GstFlowReturn
gst_sibvad_filter_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstFlowReturn ret = gst_sibvad_buffer_check_input (GST_VIDEO_FILTER (trans),
      buf);

  if (ret != GST_FLOW_OK)
    return ret;
  return GST_BASE_TRANSFORM_CLASS (parent_class)->transform_ip (trans, buf);
}

/* ---- GstVideoFilter ---------------------------------------------------- */

static gboolean
gst_sibvad_filter_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (filter);
  GstSibvadPreprocess *pp;
  GstClockTime dur = GST_CLOCK_TIME_NONE;

  if (!self->cfg) {
    GST_ERROR_OBJECT (self, "no model loaded");
    return FALSE;
  }
  if (self->have_info && self->preprocess
      && gst_video_info_is_equal (&self->info, in_info))
    return TRUE;

  pp = gst_sibvad_preprocess_new (incaps, in_info, self->cfg->img_w,
      self->cfg->img_h, self->cfg->channels);
  if (!pp) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Cannot convert %s %dx%d video to the model's %dx%d input",
            GST_VIDEO_INFO_NAME (in_info), GST_VIDEO_INFO_WIDTH (in_info),
            GST_VIDEO_INFO_HEIGHT (in_info), self->cfg->img_w,
            self->cfg->img_h), ("caps %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  gst_sibvad_preprocess_free (self->preprocess);
  self->preprocess = pp;
  self->info = *in_info;
  self->have_info = TRUE;

  if (GST_VIDEO_INFO_FPS_N (in_info) > 0 && GST_VIDEO_INFO_FPS_D (in_info) > 0)
    dur = gst_util_uint64_scale_int (GST_SECOND,
        GST_VIDEO_INFO_FPS_D (in_info), GST_VIDEO_INFO_FPS_N (in_info));
  self->frame_duration = dur;
  GST_OBJECT_LOCK (self);
  self->latency_duration = dur;
  GST_OBJECT_UNLOCK (self);

  /* new caps: the model's clip starts again */
  self->need_reset = TRUE;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (filter), TRUE);
  GST_DEBUG_OBJECT (self, "%dx%d %s -> model input %dx%d",
      GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info),
      GST_VIDEO_INFO_NAME (in_info), self->cfg->img_w, self->cfg->img_h);
  return TRUE;
}

static GstBuffer *
make_error_map (const sibvad_config * cfg, const gfloat * map)
{
  gsize size = sizeof (gfloat) * (gsize) cfg->img_w * cfg->img_h;
  GstBuffer *b = gst_buffer_new_allocate (NULL, size, NULL);

  if (b)
    gst_buffer_fill (b, 0, map, size);
  return b;
}

/* The result of an analysed frame goes into its record. */
static void
gst_sibvad_filter_fill (GstSibvadFilter * self, GstSibvadRecord * r,
    const sibvad_stream_result * res, gfloat wv, gfloat ws, gboolean want_map)
{
  if (!res->scored) {
    r->warming_up = TRUE;
    return;
  }
  r->visual = res->visual;
  r->semantic = res->semantic;
  if (self->calibration.count > 0) {
    r->raw_score = sibvad_calibrated_score (&self->calibration,
        res->visual, res->semantic, wv, ws);
  } else {
    if (!self->warned_uncalibrated) {
      GST_WARNING_OBJECT (self, "the model has no calibration: the "
          "score is the raw visual error");
      self->warned_uncalibrated = TRUE;
    }
    r->raw_score = res->visual;
  }
  if (want_map && res->error_map)
    r->error_map = make_error_map (self->cfg, res->error_map);
  r->fresh = TRUE;
  self->have_result = TRUE;
  self->last_visual = r->visual;
  self->last_semantic = r->semantic;
  self->last_raw = r->raw_score;
  gst_buffer_replace (&self->last_map, r->error_map);
}

/* A frame that is not analysed (inference-interval) carries the last
 * result. */
static void
gst_sibvad_filter_carry (GstSibvadFilter * self, GstSibvadRecord * r,
    gboolean want_map)
{
  if (!self->have_result) {
    r->warming_up = TRUE;
    return;
  }
  r->fresh = FALSE;
  r->visual = self->last_visual;
  r->semantic = self->last_semantic;
  r->raw_score = self->last_raw;
  if (want_map && self->last_map)
    r->error_map = gst_buffer_ref (self->last_map);
}

/* Analyse the held frames in one batch and hand every waiting record its
 * result, in order (the smoother sees them as if one by one). */
/* ---- the deadline of frames held while late ---------------------------- */

/* Analyse and push what is held, from the deadline thread: under the sink
 * pad's stream lock, as if a buffer had arrived, so nothing else runs on the
 * element's streaming state meanwhile. */
static void
gst_sibvad_filter_late_flush (GstSibvadFilter * self)
{
  GstPad *sinkpad = GST_BASE_TRANSFORM_SINK_PAD (self);
  GstFlowReturn ret = GST_FLOW_OK;
  GstBuffer *buf;
  guint pushed = 0;
  gboolean flushing;

  GST_PAD_STREAM_LOCK (sinkpad);
  GST_OBJECT_LOCK (sinkpad);
  flushing = GST_PAD_IS_FLUSHING (sinkpad);
  GST_OBJECT_UNLOCK (sinkpad);
  if (self->batch_n > 0 && !flushing) {
    GST_DEBUG_OBJECT (self, "no frame for two frame durations: analysing "
        "the %u held ones", self->batch_n);
    ret = gst_sibvad_filter_run_batch (self);
    gst_sibvad_filter_collect (self);
    while (ret == GST_FLOW_OK && (buf = gst_sibvad_filter_pop_ready (self))) {
      ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
      pushed++;
    }
    GST_LOG_OBJECT (self, "pushed %u frames on the deadline: %s", pushed,
        gst_flow_get_name (ret));
  }
  GST_PAD_STREAM_UNLOCK (sinkpad);
  if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING) {
    g_mutex_lock (&self->late_lock);
    self->late_ret = ret;
    g_mutex_unlock (&self->late_lock);
  }
}

static gpointer
gst_sibvad_filter_late_loop (gpointer data)
{
  GstSibvadFilter *self = data;

  g_mutex_lock (&self->late_lock);
  while (!self->late_quit) {
    GstClockTime deadline = self->late_deadline;
    GstClockID id;
    GstClockReturn res;

    if (!self->late_clock || !GST_CLOCK_TIME_IS_VALID (deadline)) {
      g_cond_wait (&self->late_cond, &self->late_lock);
      continue;
    }
    id = gst_clock_new_single_shot_id (self->late_clock, deadline);
    self->late_id = id;
    g_mutex_unlock (&self->late_lock);
    res = gst_clock_id_wait (id, NULL);
    g_mutex_lock (&self->late_lock);
    self->late_id = NULL;
    gst_clock_id_unref (id);
    /* moved, cancelled or quitting meanwhile: look again */
    if (res == GST_CLOCK_UNSCHEDULED || self->late_quit
        || self->late_deadline != deadline)
      continue;
    self->late_deadline = GST_CLOCK_TIME_NONE;
    g_mutex_unlock (&self->late_lock);
    gst_sibvad_filter_late_flush (self);
    g_mutex_lock (&self->late_lock);
  }
  g_mutex_unlock (&self->late_lock);
  return NULL;
}

/* A frame was held late: the held frames are due two frame durations from
 * now on the pipeline clock (streaming thread). */
static void
gst_sibvad_filter_late_arm (GstSibvadFilter * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now, dur;

  if (!clock)
    return;                     /* without a clock nothing is late */
  now = gst_clock_get_time (clock);
  dur = GST_CLOCK_TIME_IS_VALID (self->frame_duration) ?
      self->frame_duration : FALLBACK_FRAME_DURATION;
  g_mutex_lock (&self->late_lock);
  if (!self->late_thread && !self->late_quit) {
    GError *e = NULL;

    self->late_thread = g_thread_try_new ("sibvad-deadline",
        gst_sibvad_filter_late_loop, self, &e);
    if (!self->late_thread) {
      GST_WARNING_OBJECT (self, "no deadline thread (%s): held frames wait "
          "for the next frame", e->message);
      g_error_free (e);
    }
  }
  gst_object_replace ((GstObject **) & self->late_clock, GST_OBJECT (clock));
  self->late_deadline = now + 2 * dur;
  if (self->late_id)
    gst_clock_id_unschedule (self->late_id);
  g_cond_signal (&self->late_cond);
  g_mutex_unlock (&self->late_lock);
  gst_object_unref (clock);
}

/* Nothing held any more: no deadline. */
static void
gst_sibvad_filter_late_cancel (GstSibvadFilter * self)
{
  g_mutex_lock (&self->late_lock);
  if (GST_CLOCK_TIME_IS_VALID (self->late_deadline)) {
    self->late_deadline = GST_CLOCK_TIME_NONE;
    if (self->late_id)
      gst_clock_id_unschedule (self->late_id);
  }
  g_mutex_unlock (&self->late_lock);
}

/* End the deadline thread (stop, finalize); the streaming thread has
 * stopped by then. */
static void
gst_sibvad_filter_late_stop (GstSibvadFilter * self)
{
  GThread *thread;

  g_mutex_lock (&self->late_lock);
  thread = self->late_thread;
  self->late_thread = NULL;
  self->late_quit = TRUE;
  self->late_deadline = GST_CLOCK_TIME_NONE;
  if (self->late_id)
    gst_clock_id_unschedule (self->late_id);
  g_cond_signal (&self->late_cond);
  g_mutex_unlock (&self->late_lock);
  if (thread)
    g_thread_join (thread);
  g_mutex_lock (&self->late_lock);
  self->late_quit = FALSE;
  gst_clear_object (&self->late_clock);
  g_mutex_unlock (&self->late_lock);
}

static GstFlowReturn
gst_sibvad_filter_run_batch (GstSibvadFilter * self)
{
  sibvad_error err = { {0} };
  gboolean want_map, ok;
  gfloat wv, ws;
  gint threads;
  guint i = 0, n = self->batch_n;
  GList *l;

  if (n == 0)
    return GST_FLOW_OK;
  gst_sibvad_filter_late_cancel (self);
  GST_OBJECT_LOCK (self);
  want_map = self->error_map;
  wv = self->visual_weight;
  ws = self->semantic_weight;
  threads = self->threads;
  GST_OBJECT_UNLOCK (self);

  self->batch_n = 0;
  /* every sibvadfilter of the process shares OpenBLAS's thread count */
  gst_sibvad_threads_enter (threads);
  ok = sibvad_stream_push_batch (self->stream, self->batch_input,
      self->batch_has_sem ? self->batch_sem : NULL, (int) n, self->batch_res,
      &err) == 0;
  gst_sibvad_threads_leave ();
  if (!ok)
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("Inference failed: %s",
            err.msg), (NULL));
  if (n > 1) {
    self->batches++;
    self->batched_frames += n;
    GST_LOG_OBJECT (self, "analysed %u held frames in one batch (%"
        G_GUINT64_FORMAT " batches, %" G_GUINT64_FORMAT " frames so far)", n,
        self->batches, self->batched_frames);
  }

  for (l = self->pending.head; l; l = l->next) {
    GstSibvadRecord *r = l->data;

    if (!r->awaiting)
      continue;
    r->awaiting = FALSE;
    if (!ok)
      r->warming_up = TRUE;     /* let it go: the pipeline stops on the error */
    else if (r->analysed && i < n)
      gst_sibvad_filter_fill (self, r, &self->batch_res[i++], wv, ws,
          want_map);
    else
      gst_sibvad_filter_carry (self, r, want_map);
    if (!r->warming_up)
      gst_sibvad_smoother_push (self->smoother, r->raw_score);
  }
  return ok ? GST_FLOW_OK : GST_FLOW_ERROR;
}

/* Behind the clock: the frame's running time is more than two frame
 * durations (and the upstream latency) in the past. */
static gboolean
gst_sibvad_filter_is_late (GstSibvadFilter * self, GstClockTime pts)
{
  GstClock *clock;
  GstClockTime running, now, base, slack;

  running = to_running_time (self, pts);
  if (!GST_CLOCK_TIME_IS_VALID (running))
    return FALSE;
  clock = gst_element_get_clock (GST_ELEMENT (self));
  if (!clock)
    return FALSE;
  now = gst_clock_get_time (clock);
  gst_object_unref (clock);
  base = gst_element_get_base_time (GST_ELEMENT (self));
  if (!GST_CLOCK_TIME_IS_VALID (now) || !GST_CLOCK_TIME_IS_VALID (base)
      || now < base)
    return FALSE;
  now -= base;

  if (!GST_CLOCK_TIME_IS_VALID (self->upstream_latency)) {
    GstQuery *q = gst_query_new_latency ();
    GstClockTime min = 0;

    if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
      gst_query_parse_latency (q, NULL, &min, NULL);
    gst_query_unref (q);
    self->upstream_latency = GST_CLOCK_TIME_IS_VALID (min) ? min : 0;
  }
  slack = 2 * (GST_CLOCK_TIME_IS_VALID (self->frame_duration) ?
      self->frame_duration : FALLBACK_FRAME_DURATION);
  return now > running + self->upstream_latency + slack;
}

static GstFlowReturn
gst_sibvad_filter_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstSibvadFilter *self = GST_SIBVAD_FILTER (filter);
  GstBuffer *buf = frame->buffer;
  GstClockTime pts = GST_BUFFER_PTS (buf), dur = GST_BUFFER_DURATION (buf);
  GstSibvadRecord *r;
  gboolean want_map;
  GstSibvadSemanticSource source;
  GstSibvadBatching batching;
  GstFlowReturn ret;
  gint threads;

  if (!self->stream || !self->preprocess) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("no model or no negotiated format"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GST_OBJECT_LOCK (self);
  want_map = self->error_map;
  source = self->semantic_source;
  batching = self->batching;
  threads = self->threads;
  GST_OBJECT_UNLOCK (self);

  /* warm-up again after a discontinuity: the DISCONT flag, or a timestamp
   * gap of more than 2 frame durations (or going backwards) */
  if (!self->need_reset && GST_BUFFER_IS_DISCONT (buf)) {
    GST_DEBUG_OBJECT (self, "discontinuity: warming up again");
    self->need_reset = TRUE;
  }
  if (!self->need_reset && GST_CLOCK_TIME_IS_VALID (pts)
      && GST_CLOCK_TIME_IS_VALID (self->last_pts)
      && GST_CLOCK_TIME_IS_VALID (self->last_frame_duration)
      && (pts < self->last_pts
          || pts - self->last_pts > 2 * self->last_frame_duration)) {
    GST_DEBUG_OBJECT (self, "timestamp gap %" GST_TIME_FORMAT " -> %"
        GST_TIME_FORMAT ": warming up again", GST_TIME_ARGS (self->last_pts),
        GST_TIME_ARGS (pts));
    self->need_reset = TRUE;
  }
  if (self->need_reset) {
    /* the held frames belong to the old series */
    ret = gst_sibvad_filter_run_batch (self);
    if (ret != GST_FLOW_OK)
      return ret;
    gst_sibvad_filter_reset_series (self);
    self->need_reset = FALSE;
  }
  self->last_pts = pts;
  self->last_frame_duration = GST_CLOCK_TIME_IS_VALID (dur) ? dur :
      self->frame_duration;
  if (GST_CLOCK_TIME_IS_VALID (dur) &&
      !GST_CLOCK_TIME_IS_VALID (self->frame_duration)) {
    GST_OBJECT_LOCK (self);
    self->latency_duration = dur;
    GST_OBJECT_UNLOCK (self);
  }

  r = g_new0 (GstSibvadRecord, 1);
  r->frame_number = self->frame_number++;
  r->series_start = self->series_start;
  self->series_start = FALSE;
  r->pts = pts;
  r->duration = dur;
  r->frame_width = GST_VIDEO_FRAME_WIDTH (frame);
  r->frame_height = GST_VIDEO_FRAME_HEIGHT (frame);

  if (r->frame_number % self->interval == 0) {
    const guint8 *pixels;
    gsize stride;
    const gfloat *semantic = NULL;
    sibvad_error err = { {0} };
    gsize img = (gsize) self->cfg->channels * self->cfg->img_h *
        self->cfg->img_w;
    gboolean run;

    if (!gst_sibvad_preprocess_frame (self->preprocess, frame, &pixels,
            &stride)) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
          ("could not convert the frame to the model's input"));
      g_free (r);
      return GST_FLOW_ERROR;
    }
    if (source == GST_SIBVAD_SEMANTIC_SOURCE_META) {
      GstSibvadSemanticMeta *sm = gst_buffer_get_sibvad_semantic_meta (buf);

      gboolean usable = sm && sm->length == (guint) self->cfg->sem_dim
          && sm->vector;
      guint k;

      /* an embedding is finite and small: NaN, infinities or huge values
       * would turn the frame's scores (and the smoothing after them) to NaN */
      for (k = 0; usable && k < sm->length; k++)
        usable = isfinite (sm->vector[k]) && fabsf (sm->vector[k]) <= 1e6f;
      if (usable) {
        semantic = sm->vector;
      } else if (sm && sm->length == (guint) self->cfg->sem_dim
          && sm->vector) {
        if (!self->warned_semantic) {
          GST_ELEMENT_WARNING (self, STREAM, FORMAT,
              ("Semantic vector ignored: value %u is %g, not a finite "
                  "embedding value", k - 1, sm->vector[k - 1]), (NULL));
          self->warned_semantic = TRUE;
        }
      } else if (sm && !self->warned_semantic) {
        GST_ELEMENT_WARNING (self, STREAM, FORMAT,
            ("Semantic vectors of length %u ignored: the model expects %d",
                sm->length, self->cfg->sem_dim), (NULL));
        self->warned_semantic = TRUE;
      }
    } else if (source == GST_SIBVAD_SEMANTIC_SOURCE_CAPTION) {
      GstSibvadCaptionMeta *cm = gst_buffer_get_sibvad_caption_meta (buf);

      if (cm && cm->caption && !self->encoder) {
        /* semantic-source changed to caption after READY */
        if (!self->warned_caption) {
          GST_ELEMENT_WARNING (self, STREAM, FORMAT,
              ("Captions ignored: no text encoder loaded (set "
                  "semantic-source=caption before READY)"), (NULL));
          self->warned_caption = TRUE;
        }
      } else if (cm && cm->caption) {
        gint rc;

        gst_sibvad_threads_enter (threads);
        rc = sibvad_text_encoder_embed (self->encoder, cm->caption,
            self->caption_vector, &err);
        gst_sibvad_threads_leave ();
        if (rc == 0) {
          semantic = self->caption_vector;
        } else if (!self->warned_caption) {
          GST_ELEMENT_WARNING (self, STREAM, FORMAT,
              ("Could not embed the caption \"%s\": %s", cm->caption,
                  err.msg), (NULL));
          self->warned_caption = TRUE;
        }
      }
    }
    /* one batch has semantic input for all its frames or for none */
    if (self->batch_n > 0 && self->batch_has_sem != (semantic != NULL)) {
      ret = gst_sibvad_filter_run_batch (self);
      if (ret != GST_FLOW_OK) {
        g_free (r);
        return ret;
      }
    }
    if (sibvad_normalise_u8 (self->cfg, pixels, self->cfg->channels, stride,
            self->batch_input + img * self->batch_n, &err) < 0) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL), ("%s", err.msg));
      g_free (r);
      return GST_FLOW_ERROR;
    }
    self->batch_has_sem = semantic != NULL;
    if (semantic)
      memcpy (self->batch_sem + (gsize) self->cfg->sem_dim * self->batch_n,
          semantic, sizeof (gfloat) * self->cfg->sem_dim);
    self->batch_n++;
    r->analysed = TRUE;
    r->awaiting = TRUE;
    g_queue_push_tail (&self->pending, r);
    self->current = r;

    /* analyse now unless the frame may wait for more: the batch is not
     * full and the element is behind its clock (or batches always) */
    run = self->batch_n >= self->batch_cap;
    if (!run)
      run = batching == GST_SIBVAD_BATCHING_ALWAYS ? FALSE :
          !gst_sibvad_filter_is_late (self, pts);
    if (run)
      return gst_sibvad_filter_run_batch (self);
    GST_LOG_OBJECT (self, "behind the clock: frame %" G_GUINT64_FORMAT
        " waits in a batch of %u", r->frame_number, self->batch_n);
    if (batching == GST_SIBVAD_BATCHING_LATE)
      gst_sibvad_filter_late_arm (self);
    return GST_FLOW_OK;
  } else if (self->batch_n > 0) {
    r->awaiting = TRUE;         /* carries a result still to come */
  } else {
    gst_sibvad_filter_carry (self, r, want_map);
  }

  if (!r->warming_up && !r->awaiting)
    gst_sibvad_smoother_push (self->smoother, r->raw_score);
  g_queue_push_tail (&self->pending, r);
  self->current = r;
  return GST_FLOW_OK;
}
