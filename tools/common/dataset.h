/* dataset.h: videos for training and evaluation, decoded once.
 *
 * A dataset is a list of videos: video files (anything GStreamer decodes:
 * mp4, avi, mkv, ...) or folders of frames (jpg, png, tif, bmp; sorted by
 * name). The common layout <root>/{training,testing}/frames/<video>/<frame> is
 * found directly. Frames are decoded through GStreamer, converted to grey or
 * RGB and resized (bicubic) to the model's input size, and kept as 8-bit
 * pixels; a disk cache (keyed by the source paths, their sizes and mtimes and
 * the output size) spares later runs the decoding. Labels and semantic
 * vectors attach to the videos. Errors come back as GError with a message
 * that names the file or video at fault. */
#ifndef SIBVAD_DATASET_H
#define SIBVAD_DATASET_H

#include <glib.h>
#include <stdint.h>

#include "bert.h"

G_BEGIN_DECLS

typedef struct {
    char *name;             /* video name: folder or file name without extension, e.g. "01" */
    char *source;           /* the folder or file it was read from */
    int nframes;
    uint8_t *pixels;        /* (nframes, channels, height, width), 0..255, planar */
    uint8_t *labels;        /* (nframes) 0 normal / 1 abnormal, or NULL when unlabelled */
    float *semantic;        /* (nframes, sem_dim) or NULL; row t = vector of the clip whose last input frame is t */
    uint8_t *semantic_ok;   /* (nframes) 1 where row t was found */
} SibvadVideo;

typedef struct {
    int nvideos;
    SibvadVideo *videos;
    int channels, height, width;
    int sem_dim;            /* 0 when no semantic vectors are attached */
} SibvadVideoSet;

typedef struct {
    int width, height, channels;    /* output size and 1 (grey) or 3 (RGB) */
    const char *cache_dir;          /* NULL: $XDG_CACHE_HOME/sibvad (or ~/.cache/sibvad); "" disables */
    gboolean quiet;                 /* no progress lines on stderr */
} SibvadReadOptions;

/* Read <root>/<split>/frames/<video>/... ("training" or "testing"). */
SibvadVideoSet *sibvad_videoset_read_split(const char *root, const char *split,
                                           const SibvadReadOptions *opt, GError **error);
/* Read a list of video files and/or frame folders. */
SibvadVideoSet *sibvad_videoset_read_paths(const char *const *paths, int n,
                                           const SibvadReadOptions *opt, GError **error);
void sibvad_videoset_free(SibvadVideoSet *set);

/* Find and attach frame labels for a test split of root (see labels.h for the
 * formats and where they are looked for). Fails, naming the video, when a
 * label count does not match a frame count. */
gboolean sibvad_videoset_load_labels(SibvadVideoSet *set, const char *root, GError **error);

/* Attach semantic vectors from <dir>/<video>/<frame name>.npy (float32 [1,1,S]
 * or [S]), keyed by the name of the clip's last input frame. */
gboolean sibvad_videoset_load_semantic(SibvadVideoSet *set, const char *dir, GError **error);
/* The same from captions, <dir>/<video>/<frame name>.txt (one caption per
 * clip, trailing white space dropped), embedded by a SimCSE text encoder
 * (sibvad-core/bert.h). */
gboolean sibvad_videoset_load_captions(SibvadVideoSet *set, const char *dir, sibvad_text_encoder *encoder,
                                       GError **error);

/* Normalise frame t of a video into the model's space: x/255, then
 * (x - mean_c) / std_c with ImageNet statistics; grey frames are replicated
 * to out_channels. dst: (out_channels, height, width). */
void sibvad_video_frame_normalised(const SibvadVideoSet *set, const SibvadVideo *v, int t,
                                   int out_channels, float *dst);

/* ---- additions (dataset.c) ---- */

/* Attach labels from a given file or folder instead of searching the root:
 * a folder of <video>.npy, one .npy for the whole set, a .mat with gt or a
 * labels .txt (labels.h). */
gboolean sibvad_videoset_load_labels_path(SibvadVideoSet *set, const char *path, GError **error);

/* The frame names of a video (the frame files' names without extension, or
 * "000", "001", ... for a video file), as semantic vectors are named
 * (g_strfreev). */
char **sibvad_video_frame_names(const SibvadVideo *v, GError **error);

/* The cache file a video (file or frame folder) is kept in for these
 * options, or NULL when caching is disabled (g_free). */
char *sibvad_video_cache_path(const char *source, const SibvadReadOptions *opt);

/* What the readers of this process have done so far (tests, reports). */
typedef struct {
    int decoded;            /* videos decoded through GStreamer */
    int cache_hits;         /* videos read from the cache */
    int cache_written;      /* cache files written */
    int cache_stale;        /* cache files of changed sources or another reader version, rewritten */
    int cache_corrupt;      /* cache files found corrupt (ignored and rewritten) */
} SibvadDatasetStats;
void sibvad_dataset_get_stats(SibvadDatasetStats *stats);

G_END_DECLS

#endif
