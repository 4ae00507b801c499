/* plugin.c: the sibvad plugin: registers sibvadfilter and sibvadoverlay and
 * the GstCustomMeta mirror of GstSibvadMeta. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <gst/gst.h>
#include <gst/sibvad/sibvad-meta.h>

#ifdef HAVE_SIBVADFILTER
GST_ELEMENT_REGISTER_DECLARE (sibvadfilter);
#endif
#ifdef HAVE_SIBVADOVERLAY
GST_ELEMENT_REGISTER_DECLARE (sibvadoverlay);
#endif

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  gst_sibvad_custom_meta_register ();
#ifdef HAVE_SIBVADFILTER
  ret |= GST_ELEMENT_REGISTER (sibvadfilter, plugin);
#endif
#ifdef HAVE_SIBVADOVERLAY
  ret |= GST_ELEMENT_REGISTER (sibvadoverlay, plugin);
#endif
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, sibvad,
    "Video anomaly detection (SIB-VAD): scores, error maps, overlay and alarms",
    plugin_init, VERSION, "MIT/X11", "sibvad", "https://example.invalid/sibvad")
