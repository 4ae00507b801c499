/* sibvad-overlay-layout.h: where sibvadoverlay draws its score bar and its
 * history box on a frame (docs/plugin.md), shared by the element and its
 * test so that both locate them the same way. */
#ifndef SIBVAD_OVERLAY_LAYOUT_H
#define SIBVAD_OVERLAY_LAYOUT_H

#include <glib.h>

typedef struct
{
  gint margin, line;
  gint bar_x, bar_y, bar_w, bar_h;
  gint box_x, box_y, box_w, box_h;
} GstSibvadOverlayLayout;

/* bottom-left bar (2/5 of the width), bottom-right history box (1/3 of the
 * width, 1/5 of the height) */
static inline void
gst_sibvad_overlay_layout (gint width, gint height, GstSibvadOverlayLayout * l)
{
  l->margin = MAX (2, height / 48);
  l->line = MAX (1, height / 240);
  l->bar_h = CLAMP (height / 24, 4, 24);
  l->bar_w = width * 2 / 5;
  l->bar_x = l->margin;
  l->bar_y = height - l->margin - l->bar_h;
  l->box_w = width / 3;
  l->box_h = MAX (height / 5, 8);
  l->box_x = width - l->margin - l->box_w;
  l->box_y = height - l->margin - l->box_h;
}

#endif
