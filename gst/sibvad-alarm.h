/* sibvad-alarm.h: the alarm state machine of sibvadfilter: threshold with
 * hysteresis in frames. Plain C (GLib types only), unit-tested. */
#ifndef __GST_SIBVAD_ALARM_H__
#define __GST_SIBVAD_ALARM_H__

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GST_SIBVAD_ALARM_NONE = 0,    /* no change */
  GST_SIBVAD_ALARM_BEGIN,       /* an alarm begins at this frame */
  GST_SIBVAD_ALARM_END,         /* the alarm ends at this frame */
} GstSibvadAlarmEvent;

/* An alarm begins at the min_frames-th consecutive frame whose score is at
 * or above the threshold, and ends at the gap-th consecutive frame below it.
 * peak is the highest score of the alarm so far, counting the frames whose
 * run began it. */
typedef struct {
  guint min_frames;
  guint gap;
  gboolean active;
  guint above;                  /* consecutive frames >= threshold (idle) */
  guint below;                  /* consecutive frames below (while active) */
  gfloat run_peak;              /* highest score of the current run (idle) */
  gfloat peak;                  /* highest score of the alarm (active) */
} GstSibvadAlarm;

void gst_sibvad_alarm_init (GstSibvadAlarm * a, guint min_frames, guint gap);
/* Change the hysteresis; the current counts are kept. 0 counts as 1. */
void gst_sibvad_alarm_set_params (GstSibvadAlarm * a, guint min_frames,
    guint gap);
/* Forget the state (no alarm, no run). */
void gst_sibvad_alarm_reset (GstSibvadAlarm * a);
/* One frame's score; a NaN score counts as below. */
GstSibvadAlarmEvent gst_sibvad_alarm_push (GstSibvadAlarm * a, gfloat score,
    gfloat threshold);
/* The stream ends: GST_SIBVAD_ALARM_END if an alarm was open; resets. */
GstSibvadAlarmEvent gst_sibvad_alarm_finish (GstSibvadAlarm * a);

G_END_DECLS

#endif
