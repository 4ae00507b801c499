/* video-reader.h: decoding one video (a video file, or a folder of image
 * frames) through GStreamer into planar 8-bit frames of a chosen size and
 * channel count, plus the frame-folder listing (natural order) that the
 * dataset, its cache and the semantic vectors share. */
#ifndef SIBVAD_VIDEO_READER_H
#define SIBVAD_VIDEO_READER_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* gst_init once per process; fails when GStreamer cannot start. */
gboolean sibvad_gst_init(GError **error);

/* By extension, case-insensitive: jpg jpeg png tif tiff bmp. */
gboolean sibvad_is_image_file(const char *name);
/* By extension: mp4 avi mkv mov webm m4v mpg mpeg wmv flv ogv ts mts y4m. */
gboolean sibvad_is_video_file(const char *name);

/* Natural order: runs of digits compare by value ("img2" < "img10"). */
int sibvad_natural_compare(const char *a, const char *b);

/* The image files directly in dir (not hidden), in natural order, as a
 * NULL-terminated array of base names (g_strfreev). Fails when dir cannot be
 * read or holds no image. */
char **sibvad_frame_files(const char *dir, GError **error);

/* A frame file's name without its extension ("017.jpg" -> "017"). */
char *sibvad_frame_stem(const char *file);

/* Decode path (a video file or a folder of frames) to (nframes, channels,
 * height, width) 8-bit planar pixels, channels 1 (GRAY8) or 3 (RGB),
 * resized with bicubic (Catmull-Rom) interpolation. *pixels is g_malloc'd.
 * Errors name the video or the frame file at fault. */
gboolean sibvad_video_decode(const char *path, int width, int height, int channels, int *nframes,
                             uint8_t **pixels, GError **error);

G_END_DECLS

#endif
