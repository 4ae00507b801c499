/* sibvad-alarm.c: threshold + hysteresis state machine for the anomaly
 * alarm of sibvadfilter (see sibvad-alarm.h). */
#include "sibvad-alarm.h"

void
gst_sibvad_alarm_init (GstSibvadAlarm * a, guint min_frames, guint gap)
{
  gst_sibvad_alarm_set_params (a, min_frames, gap);
  gst_sibvad_alarm_reset (a);
}

void
gst_sibvad_alarm_set_params (GstSibvadAlarm * a, guint min_frames, guint gap)
{
  a->min_frames = MAX (min_frames, 1);
  a->gap = MAX (gap, 1);
}

void
gst_sibvad_alarm_reset (GstSibvadAlarm * a)
{
  a->active = FALSE;
  a->above = a->below = 0;
  a->run_peak = a->peak = 0.0f;
}

GstSibvadAlarmEvent
gst_sibvad_alarm_push (GstSibvadAlarm * a, gfloat score, gfloat threshold)
{
  const gboolean high = score >= threshold;     /* FALSE for NaN */

  if (!a->active) {
    if (!high) {
      a->above = 0;
      return GST_SIBVAD_ALARM_NONE;
    }
    a->run_peak = a->above == 0 ? score : MAX (a->run_peak, score);
    a->above++;
    if (a->above < a->min_frames)
      return GST_SIBVAD_ALARM_NONE;
    a->active = TRUE;
    a->above = a->below = 0;
    a->peak = a->run_peak;
    return GST_SIBVAD_ALARM_BEGIN;
  }

  if (high) {
    a->below = 0;
    a->peak = MAX (a->peak, score);
    return GST_SIBVAD_ALARM_NONE;
  }
  a->below++;
  if (a->below < a->gap)
    return GST_SIBVAD_ALARM_NONE;
  a->active = FALSE;
  a->above = a->below = 0;
  return GST_SIBVAD_ALARM_END;
}

GstSibvadAlarmEvent
gst_sibvad_alarm_finish (GstSibvadAlarm * a)
{
  const gboolean was_active = a->active;

  a->active = FALSE;
  a->above = a->below = 0;
  return was_active ? GST_SIBVAD_ALARM_END : GST_SIBVAD_ALARM_NONE;
}
