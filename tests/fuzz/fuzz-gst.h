/* fuzz-gst.h: GStreamer set up for the fuzz targets of the elements
 * (fuzz_gst_caps, fuzz_gst_filter): no plugin scanning (the plugin is
 * linked in and registered statically), the registry in the target's
 * temporary folder, one OpenMP thread. */
#ifndef SIBVAD_FUZZ_GST_H
#define SIBVAD_FUZZ_GST_H

#include "fuzz-util.h"

#include <gst/gst.h>
#include <stdlib.h>

GST_PLUGIN_STATIC_DECLARE (sibvad);

static inline void
fuzz_gst_init (void)
{
  char reg[4400];

  setenv ("GST_REGISTRY", fuzz_path (reg, sizeof reg, "registry.bin"), 1);
  setenv ("GST_REGISTRY_FORK", "no", 1);
  setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", 1);
  setenv ("GST_PLUGIN_SYSTEM_PATH", "", 1);
  setenv ("GST_PLUGIN_PATH_1_0", "", 1);
  setenv ("GST_PLUGIN_PATH", "", 1);
  setenv ("OMP_NUM_THREADS", "1", 1);
  gst_init (NULL, NULL);
  GST_PLUGIN_STATIC_REGISTER (sibvad);
}

#endif
